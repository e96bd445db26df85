/* fpdec_compare.c — transition check (session 21): decodes every encoding
 * of the FP/AdvSIMD space (SIMD&FP loads/stores: op0 = x1x0 with V set;
 * data processing: op0 = x111) with the old hand-written decoder
 * (emu_decode_fpsimd, as decode.c ran it) and with emu_decode (the
 * generated one), and reports every encoding whose struct emu_insn differs
 * in any field but op, or whose op is UNDEF on one side only. Single
 * threaded, run by hand: fpdec_compare [first_hi16 [last_hi16]].
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/decode.h"
#include "emu/fpsimd/fpsimd.h"

static void old_decode(struct emu_insn *o, uint32_t raw, uint64_t pc) {
  *o = (struct emu_insn){.pc = pc, .raw = raw};
  if (!emu_decode_fpsimd(o, raw) || !o->fn)
    *o = (struct emu_insn){
        .pc = pc, .raw = raw, .fn = emu_h_undef, .op = EMU_OP_UNDEF};
}

static bool same(const struct emu_insn *a, const struct emu_insn *b) {
  return a->fn == b->fn && a->pc == b->pc && a->imm == b->imm &&
         a->imm2 == b->imm2 && a->raw == b->raw && a->rd == b->rd &&
         a->rn == b->rn && a->rm == b->rm && a->ra == b->ra && a->sf == b->sf &&
         a->a == b->a && a->b == b->b && a->c == b->c;
}

/* --samples: up to 6 encodings of each FP/AdvSIMD op that decode to it
 * (random fillings of its pattern), "raw op" a line, for a disassembler. */
static int samples(void) {
  uint64_t x = 88172645463325252ull;
  for (unsigned op = EMU_OPS_FP_FIRST; op < EMU_OP_COUNT; op++) {
    if (!emu_op_is_fp_scalar(op) && !emu_op_is_simd(op) &&
        !emu_op_is_simd_ldst(op))
      continue;
    unsigned found = 0;
    for (unsigned k = 0; k < 1000000 && found < 6; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      uint32_t raw =
          ((uint32_t)x & ~emu_op_pattern[op].mask) | emu_op_pattern[op].value;
      struct emu_insn in;
      emu_decode(&in, raw, 0x400000);
      if (in.op == op) {
        printf("%08" PRIx32 " %s\n", raw, emu_op_name[op]);
        found++;
      }
    }
    if (!found)
      printf("none %s\n", emu_op_name[op]);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--samples"))
    return samples();
  unsigned lo = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 0;
  unsigned hi = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 0xffff;
  uint64_t n = 0, bad = 0, undef = 0;
  const uint64_t pc = 0x400000;
  for (uint64_t top = lo; top <= hi; top++) {
    uint32_t op0 = (uint32_t)(top >> 9) & 15; /* bits 28:25 */
    bool ls = (op0 & 5) == 4 && ((top >> 10) & 1);
    if (!ls && (op0 & 7) != 7)
      continue;
    for (uint32_t low = 0; low < 0x10000; low++) {
      uint32_t raw = (uint32_t)top << 16 | low;
      struct emu_insn a, b;
      old_decode(&a, raw, pc);
      bool end = emu_decode(&b, raw, pc);
      n++;
      bool ua = a.fn == emu_h_undef, ub = b.op == EMU_OP_UNDEF;
      undef += ua;
      if (end != ua || ua != ub || !same(&a, &b)) {
        static unsigned per_op[EMU_OP_COUNT];
        bad++;
        if (per_op[b.op]++ < 2)
          printf("%08" PRIx32 ": old %s fn %p a%u b%u c%u rd%u rn%u rm%u "
                 "ra%u sf%u imm %" PRIx64 " imm2 %" PRIx64
                 " / new %s fn %p a%u b%u c%u rd%u rn%u rm%u ra%u sf%u "
                 "imm %" PRIx64 " imm2 %" PRIx64 "%s\n",
                 raw, ua ? "UNDEF" : "ok", (void *)a.fn, a.a, a.b, a.c, a.rd,
                 a.rn, a.rm, a.ra, a.sf, a.imm, a.imm2, emu_op_name[b.op],
                 (void *)b.fn, b.a, b.b, b.c, b.rd, b.rn, b.rm, b.ra, b.sf,
                 b.imm, b.imm2, end != ua ? " END" : "");
      }
    }
  }
  printf("compared %" PRIu64 " encodings (%" PRIu64 " UNDEFINED): %" PRIu64
         " differ\n",
         n, undef, bad);
  return bad != 0;
}
