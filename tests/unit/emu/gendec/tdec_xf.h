/* tdec_xf.h — what the decoder generated from good.decode needs: the
 * test's struct emu_insn (what its decode functions saw, for the checks
 * in test_gendec.c) and the plus1 transform. */
#pragma once
#include "tdec.h"
static inline uint32_t tdec_xf_plus1(uint32_t v) { return v + 1; }
struct emu_insn {
  unsigned op;
  uint32_t rd, rn, rm, k;
  int32_t simm;
};
