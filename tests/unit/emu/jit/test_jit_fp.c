/* test_jit_fp.c — the translator's inline FP and SIMD code
 * (src/emu/jit/emit_fp.c, emit_simd.c) against the interpreter's
 * handlers: random encodings of every form emitted inline, run on random
 * V registers (NaNs with payloads, signalling and quiet, ±0, ±inf,
 * denormals, values near overflow and underflow, small and huge
 * integers), GPRs, NZCV, FPCR (RMode, FZ, DN) and FPSR (IXC set or
 * clear), once through in->fn and once as a translated block. V
 * registers, GPRs, NZCV, FPCR and FPSR must be identical bit for bit.
 * Then the same with the host MXCSR off its default (FTZ/DAZ), where the
 * inline fast path must stand aside. x86-64 hosts only. Single-threaded
 * (the cmocka thread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emu/decode.h"
#include "emu/jit/emit.h"
#include "emu/jit/translate.h"
#include "jit_test_map.h"

#if defined(__x86_64__)

#define FPSR_IXC_BIT (1u << 4)

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* A value of an N-bit FP lane (N = 32 or 64), mostly awkward ones. */
static uint64_t fp_value(unsigned N) {
  unsigned F = N == 32 ? 23 : 52, E = N == 32 ? 8 : 11;
  uint64_t sign = (rnd() & 1) << (N - 1);
  uint64_t frac = rnd() & ((1ull << F) - 1);
  uint64_t emax = (1ull << E) - 1, bias = emax >> 1;
  uint64_t e;
  switch (rnd() % 16) {
  case 0: /* ±0 */
    return sign;
  case 1: /* ±inf */
    return sign | emax << F;
  case 2: /* quiet NaN with a payload */
    return sign | emax << F | 1ull << (F - 1) | (frac >> 1);
  case 3: /* signalling NaN with a payload */
    return sign | emax << F | ((frac >> 1) ? frac >> 1 : 1);
  case 4: /* denormal */
    return sign | (frac ? frac : 1);
  case 5: /* the smallest normals, just above */
    return sign | 1ull << F | (rnd() & 3);
  case 6: /* near overflow */
    e = emax - 1 - rnd() % 3;
    return sign | e << F | frac;
  case 7: /* near underflow */
    e = 1 + rnd() % (F + 2);
    return sign | e << F | frac;
  case 8: /* small integer */
  case 9: {
    int64_t v = (int64_t)(rnd() % 601) - 300;
    if (N == 32) {
      float f = (float)v;
      uint32_t u;
      memcpy(&u, &f, 4);
      return u;
    }
    double d = (double)v;
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
  }
  case 10: { /* around the integer limits: 2^24, 2^31, 2^32, 2^53, 2^63 */
    static const unsigned p[] = {23, 24, 31, 32, 52, 53, 63, 64};
    e = bias + p[rnd() % 8];
    return sign | e << F | (rnd() % 3 ? 0 : frac & 0xff);
  }
  case 11: /* random bits */
    return rnd() & (N == 32 ? 0xffffffffull : ~0ull);
  default: /* a normal number of moderate size */
    e = bias - 20 + rnd() % 41;
    return sign | e << F | frac;
  }
}

static uint64_t gpr_value(void) {
  static const uint64_t e[] = {0,
                               1,
                               ~0ull,
                               0x8000000000000000ull,
                               0x7fffffffffffffffull,
                               0x80000000ull,
                               0x7fffffffull,
                               1ull << 24,
                               (1ull << 24) + 1,
                               -(1ull << 24),
                               1ull << 53,
                               (1ull << 53) + 1,
                               -(1ull << 53) - 1};
  unsigned k = (unsigned)(rnd() % 20);
  if (k < 13)
    return e[k];
  if (k < 16)
    return (uint64_t)((int64_t)(rnd() % 2001) - 1000);
  return rnd() >> (rnd() % 64);
}

static void random_state(struct emu_cpu *cpu) {
  for (unsigned i = 0; i < EMU_NREGS; i++)
    cpu->r[i] = gpr_value();
  cpu->r[EMU_XZR] = 0;
  for (unsigned i = 0; i < 32; i++) {
    if (rnd() & 1)
      for (unsigned l = 0; l < 4; l++)
        cpu->v[i].s[l] = (uint32_t)fp_value(32);
    else
      for (unsigned l = 0; l < 2; l++)
        cpu->v[i].d[l] = fp_value(64);
  }
  cpu->nzcv = (uint32_t)(rnd() & 15) << 28;
  /* the fast environment half of the time */
  uint32_t fpcr = 0, fpsr = FPSR_IXC_BIT;
  if (rnd() & 1) {
    fpcr = (uint32_t)(rnd() & 3) << 22;
    fpcr |= rnd() % 3 == 0 ? 1u << 24 : 0; /* FZ */
    fpcr |= rnd() % 3 == 0 ? 1u << 25 : 0; /* DN */
    fpcr |= rnd() % 4 == 0 ? 1u << 26 : 0; /* AHP */
    fpsr = (uint32_t)(rnd() & 0x0800009f);
  } else if (rnd() % 4 == 0) {
    fpsr |= (uint32_t)(rnd() & 0x0800008f);
  }
  cpu->fpcr = fpcr;
  cpu->fpsr = fpsr;
  cpu->pc = 0;
}

struct tmpl {
  const char *name;
  uint32_t mask, val;
  bool simd;
};
static const struct tmpl tmpls[] = {
    {"fmul/fdiv/fadd/fsub", 0xffa0cc00u, 0x1e200800u, false},
    {"fmov/fabs/fneg/fsqrt/fcvt", 0xffbc7c00u, 0x1e204000u, false},
    {"fmadd/fmsub/fnmadd/fnmsub", 0xff800000u, 0x1f000000u, false},
    {"fcmp/fcmpe", 0xffa0fc07u, 0x1e202000u, false},
    {"fcsel", 0xffa00c00u, 0x1e200c00u, false},
    {"fmov imm", 0xffa01fe0u, 0x1e201000u, false},
    {"scvtf/ucvtf/fcvtzs/fmov gen", 0x7fa0fc00u, 0x1e200000u, false},
    {"and/bic/orr/eor", 0x9f20fc00u, 0x0e201c00u, true},
    {"add/sub", 0x9f20fc00u, 0x0e208400u, true},
    {"mul/mla/mls", 0x9f20f400u, 0x0e209400u, true},
    {"uabd", 0x9f20fc00u, 0x0e207400u, true},
    {"fadd/fsub (vector)", 0x9f20fc00u, 0x0e20d400u, true},
    {"fmul (vector)", 0x9f20fc00u, 0x0e20dc00u, true},
    {"fdiv (vector)", 0x9f20fc00u, 0x0e20fc00u, true},
    {"fmla (vector)", 0xbfa0fc00u, 0x0e20cc00u, true},
    {"uaddlp/uadalp", 0x9f3fbc00u, 0x0e202800u, true},
    {"sshr/ushr", 0x9f80fc00u, 0x0f000400u, true},
    {"shl", 0x9f80fc00u, 0x0f005400u, true},
};

static struct emu_jit *jit;

static int setup(void **state) {
  (void)state;
  return jtm_jit_new(&jit);
}
static int teardown(void **state) {
  (void)state;
  emu_jit_free(jit);
  return 0;
}

static void report(const struct emu_cpu *a, const struct emu_cpu *b,
                   uint32_t raw) {
  fprintf(stderr, "mismatch: %08x fpcr %#x fpsr in %#x\n", raw, a->fpcr,
          b->fpsr);
  for (unsigned i = 0; i < 32; i++)
    if (memcmp(&a->v[i], &b->v[i], 16))
      fprintf(
          stderr, "  v%u: interp %016llx:%016llx jit %016llx:%016llx\n", i,
          (unsigned long long)a->v[i].d[1], (unsigned long long)a->v[i].d[0],
          (unsigned long long)b->v[i].d[1], (unsigned long long)b->v[i].d[0]);
  for (unsigned i = 0; i < EMU_NREGS; i++)
    if (a->r[i] != b->r[i])
      fprintf(stderr, "  x%u: interp %#llx jit %#llx\n", i,
              (unsigned long long)a->r[i], (unsigned long long)b->r[i]);
  fprintf(stderr, "  nzcv %#x/%#x fpsr %#x/%#x fpcr %#x/%#x\n", a->nzcv,
          b->nzcv, a->fpsr, b->fpsr, a->fpcr, b->fpcr);
}

/* Runs raw both ways on one random state; false: not an inline form. */
static bool check_one(uint32_t raw, unsigned *fast) {
  struct emu_insn blk[2];
  uint64_t pc = 0x400000 + (rnd() & 0xffffc);
  if (emu_decode(&blk[0], raw, pc))
    return false;
  const struct emu_insn *in = &blk[0];
  if (!(jit_fp_inline(in) || jit_simd_inline(in)) || !emu_jit_inline_op(in))
    return false;
  blk[1] = (struct emu_insn){
      .pc = pc + 4, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
  static struct emu_cpu a, b;
  random_state(&a);
  a.pc = pc;
  b = a;
  uint32_t fpsr0 = a.fpsr;
  in->fn(&a, in);
  a.pc = pc + 4;
  bool flushed;
  emu_jit_fn f = emu_jit_translate(jit, blk, 2, &flushed);
  assert_non_null(f);
  emu_jit_fp_sync(&b);
  f(&b);
  bool same = memcmp(a.v, b.v, sizeof a.v) == 0 &&
              memcmp(a.r, b.r, sizeof a.r) == 0 && a.nzcv == b.nzcv &&
              a.fpsr == b.fpsr && a.fpcr == b.fpcr && a.pc == b.pc;
  if (!same) {
    b.fpsr = fpsr0;
    report(&a, &b, raw);
  }
  assert_true(same);
  if ((a.fpcr & 0x01c00000u) == 0 && (fpsr0 & FPSR_IXC_BIT))
    (*fast)++;
  return true;
}

static unsigned run_templates(unsigned cases) {
  unsigned total_fast = 0;
  for (unsigned t = 0; t < sizeof tmpls / sizeof *tmpls; t++) {
    unsigned ok = 0, fast = 0;
    for (unsigned k = 0; k < 100 * cases && ok < cases; k++) {
      uint32_t raw = ((uint32_t)rnd() & ~tmpls[t].mask) | tmpls[t].val;
      ok += check_one(raw, &fast);
    }
    printf("%-28s %u cases, %u in the fast environment\n", tmpls[t].name, ok,
           fast);
    assert_true(ok >= cases);
    total_fast += fast;
  }
  return total_fast;
}

static void test_inline_fp_matches_interpreter(void **state) {
  (void)state;
  unsigned fast = run_templates(20000);
  assert_true(fast > 0);
}

/* With FTZ and DAZ set in the host MXCSR (a program built with
 * -ffast-math may start so), the host's results differ from Arm's:
 * the fast path must not run, and everything still matches. */
static void test_host_mxcsr_off_default(void **state) {
  (void)state;
  unsigned saved, m;
  __asm__ volatile("stmxcsr %0" : "=m"(saved));
  m = saved | 0x8040u;
  __asm__ volatile("ldmxcsr %0" ::"m"(m));
  struct emu_cpu *probe = calloc(1, sizeof *probe);
  assert_non_null(probe);
  emu_jit_fp_sync(probe);
  unsigned mask = probe->jit_fp_mask;
  free(probe);
  run_templates(2000);
  __asm__ volatile("ldmxcsr %0" ::"m"(saved));
  assert_int_equal(mask, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_inline_fp_matches_interpreter),
      cmocka_unit_test(test_host_mxcsr_off_default),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

#else
int main(void) { return 77; }
#endif
