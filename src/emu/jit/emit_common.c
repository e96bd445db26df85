/* emit_common.c — pieces the translator's per-instruction emitters share
 * (emit.h): helper calls, out-of-line slow paths (both with the register
 * cache's writeback and reload around the call), NZCV from host flags,
 * Arm conditions as host flags.
 *
 * Runs on the translating CPU's thread; no shared state.
 */
#include "emu/decode.h"
#include "emu/jit/emit.h"

void jit_call_raw(struct jit_ctx *c, unsigned idx, uint64_t fn) {
  struct xe_buf *b = c->b;
  /* icount lives in JIT_ICOUNT (chain.h): *cpu exact for the helper, and
   * for the dispatcher when the helper longjmps out */
  struct xe_mem ic = xe_m(JIT_CPU, (int32_t)offsetof(struct emu_cpu, icount));
  xe_store(b, 64, ic, JIT_ICOUNT);
  xe_mov_rr(b, 64, XE_RDI, JIT_CPU);
  xe_mov_ri(b, XE_RSI, (uint64_t)(uintptr_t)&c->insn[idx]);
  if (c->near)
    xe_call_abs(b, fn);
  else
    xe_call_far(b, fn, XE_RAX);
  xe_load(b, 64, JIT_ICOUNT, ic); /* as a helper may have left it */
}

void jit_call_helper(struct jit_ctx *c, unsigned idx, uint64_t fn) {
  /* the helper may read or write any register, or longjmp out */
  jit_cache_store(c, c->dirty);
  jit_call_raw(c, idx, fn);
  jit_cache_load(c, c->valid);
}

void jit_cold_jcc(struct jit_ctx *c, enum xe_cc cc, unsigned idx, uint64_t fn) {
  if (c->ncold >= sizeof c->cold / sizeof *c->cold) {
    xe_fail(c->b, "jit: too many slow paths in one block");
    return;
  }
  struct jit_cold *k = &c->cold[c->ncold++];
  k->from = xe_jcc_fwd(c->b, cc, false);
  k->resume = SIZE_MAX;
  k->idx = idx;
  k->fn = fn;
  k->dirty = c->dirty;
  k->valid = 0;
}

void jit_cold_resume(struct jit_ctx *c) {
  if (c->ncold && c->cold[c->ncold - 1].resume == SIZE_MAX) {
    c->cold[c->ncold - 1].resume = xe_here(c->b);
    c->cold[c->ncold - 1].valid = c->valid;
  }
}

void jit_fault_site(struct jit_ctx *c) {
  if (!c->ncold || c->nsites >= sizeof c->site / sizeof *c->site) {
    xe_fail(c->b, "jit: a fault site without its slow path");
    return;
  }
  c->site[c->nsites].at = xe_here(c->b);
  c->site[c->nsites].cold = c->ncold - 1;
  c->nsites++;
}

/* A stub: the registers as of its jcc written back, the helper (the
 * whole insn), the registers the hot path holds at the resume reloaded. */
void jit_emit_cold(struct jit_ctx *c) {
  for (unsigned i = 0; i < c->ncold; i++) {
    struct jit_cold *k = &c->cold[i];
    if (k->resume == SIZE_MAX) {
      xe_fail(c->b, "jit: a slow path without its way back");
      return;
    }
    xe_bind(c->b, k->from);
    k->stub = xe_here(c->b);
    jit_cache_store(c, k->dirty);
    jit_call_raw(c, k->idx, k->fn);
    jit_cache_load(c, k->valid);
    xe_jmp_to(c->b, k->resume);
  }
}

/* lahf puts SF, ZF and CF in bits 15, 14 and 8 of eax, seto OF in bit 0;
 * one multiply moves the four to bits 31..28 (the other products land on
 * bits that the mask drops, none of them carries into 28..31). */
void jit_flags_grab(struct xe_buf *b) {
  static const uint8_t lahf = 0x9f;
  xe_bytes(b, &lahf, 1);
  xe_setcc(b, XE_O, XE_RAX);
}

void jit_flags_finish(struct xe_buf *b, enum xe_cc carry) {
  xe_alu_ri(b, XE_AND, 32, XE_RAX, 0xc101);
  xe_imul_rri(b, 32, XE_RAX, XE_RAX, (1 << 16) | (1 << 21) | (1 << 28));
  xe_alu_ri(b, XE_AND, 32, XE_RAX, (int32_t)0xf0000000u);
  if (carry == XE_AE) /* subtraction: Arm's C is x86's !CF */
    xe_alu_ri(b, XE_XOR, 32, XE_RAX, (int32_t)EMU_C);
  xe_store(b, 32, jit_nzcv_m(), XE_RAX);
}

void jit_flags_to_nzcv(struct xe_buf *b, enum xe_cc carry) {
  jit_flags_grab(b);
  jit_flags_finish(b, carry);
}

enum xe_cc jit_cond_test(struct xe_buf *b, unsigned cond) {
  static const uint32_t flag[4] = {EMU_Z, EMU_C, EMU_N, EMU_V};
  cond &= 15;
  if (cond < 8) { /* EQ/NE, CS/CC, MI/PL, VS/VC: one flag */
    xe_load(b, 32, XE_RCX, jit_nzcv_m());
    xe_test_ri(b, 32, XE_RCX, (int32_t)flag[cond >> 1]);
    return cond & 1 ? XE_E : XE_NE;
  }
  /* the rest: bit (nzcv >> 28) of emu_cond_table[cond] */
  xe_load(b, 32, XE_RCX, jit_nzcv_m());
  xe_shift_ri(b, XE_SHR, 32, XE_RCX, 28);
  xe_mov_ri(b, XE_RDX, emu_cond_table[cond]);
  xe_shift_rcl(b, XE_SHR, 32, XE_RDX);
  xe_test_ri(b, 32, XE_RDX, 1);
  return XE_NE;
}

/* __builtin_cpu_supports reads what the compiler's start-up code found in
 * CPUID once: cheap enough to ask at each translation. */
bool jit_host_sse42(void) {
#if defined(__x86_64__)
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

bool jit_host_fma3(void) {
#if defined(__x86_64__)
  return __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool jit_host_bmi2(void) {
#if defined(__x86_64__)
  return __builtin_cpu_supports("bmi2");
#else
  return false;
#endif
}
