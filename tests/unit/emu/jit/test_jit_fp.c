/* test_jit_fp.c — the translator's inline FP and SIMD code
 * (src/emu/jit/emit_fp.c, emit_simd.c, emit_simd_perm.c) against the
 * interpreter's handlers: random encodings of every form emitted inline
 * (the same register as source and destination often), run on random
 * V registers (NaNs with payloads, signalling and quiet, ±0, ±inf,
 * denormals, values near overflow and underflow, small and huge
 * integers; integer lanes at 0, ±1, the signed and unsigned limits, equal
 * lanes, small table indices), GPRs, NZCV, FPCR (RMode, FZ, DN) and FPSR
 * (IXC set or clear), once through in->fn and once as a translated block.
 * V registers, GPRs, NZCV, FPCR and FPSR must be identical bit for bit.
 * Then blocks mixing the SIMD insns that read or write GPRs with integer
 * insns on the same registers (the register cache around them).
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

/* The registers but the sink: r[EMU_XSINK] is not architectural (the
 * translator drops writes to XZR). */
static bool regs_same(const uint64_t *a, const uint64_t *b) {
  return memcmp(a, b, EMU_XSINK * sizeof *a) == 0 &&
         memcmp(a + EMU_XSINK + 1, b + EMU_XSINK + 1,
                (EMU_NREGS - EMU_XSINK - 1) * sizeof *a) == 0;
}

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

/* An integer vector: bytes at the edges of every lane size, small table
 * indices, or random. */
static void int_vector(emu_vreg *v) {
  static const uint8_t edge[] = {0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x81, 0x10};
  unsigned kind = (unsigned)(rnd() % 4);
  for (unsigned i = 0; i < 16; i++) {
    uint64_t r = rnd();
    if (kind == 0)
      v->b[i] = edge[r % 8];
    else if (kind == 1)
      v->b[i] = (uint8_t)(r % 80);
    else if (kind == 2)
      v->b[i] = r % 3 ? edge[r % 8] : (uint8_t)(r >> 8);
    else
      v->b[i] = (uint8_t)(r >> 8);
  }
}

static void random_state(struct emu_cpu *cpu) {
  for (unsigned i = 0; i < EMU_NREGS; i++)
    cpu->r[i] = gpr_value();
  cpu->r[EMU_XZR] = 0;
  for (unsigned i = 0; i < 32; i++) {
    unsigned k = (unsigned)(rnd() % 6);
    if (k < 2)
      for (unsigned l = 0; l < 4; l++)
        cpu->v[i].s[l] = (uint32_t)fp_value(32);
    else if (k < 4)
      for (unsigned l = 0; l < 2; l++)
        cpu->v[i].d[l] = fp_value(64);
    else
      int_vector(&cpu->v[i]);
  }
  /* equal lanes for the compares: some registers copies of others, a
   * few bytes changed */
  for (unsigned n = (unsigned)(rnd() % 12); n; n--) {
    unsigned to = (unsigned)(rnd() % 32), from = (unsigned)(rnd() % 32);
    cpu->v[to] = cpu->v[from];
    for (unsigned j = (unsigned)(rnd() % 4); j; j--)
      cpu->v[to].b[rnd() % 16] ^= (uint8_t)(1u << (rnd() % 8));
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
    {"fmls (vector)", 0xbfa0fc00u, 0x0ea0cc00u, true},
    {"fcvtzu (scalar)", 0x7fbffc00u, 0x1e390000u, false},
    {"cmtst/cmeq", 0x9f20fc00u, 0x0e208c00u, true},
    {"cmgt/cmhi", 0x9f20fc00u, 0x0e203400u, true},
    {"cmge/cmhs", 0x9f20fc00u, 0x0e203c00u, true},
    {"cmgt/cmge #0", 0x9f3ffc00u, 0x0e208800u, true},
    {"cmeq/cmle #0", 0x9f3ffc00u, 0x0e209800u, true},
    {"cmlt #0", 0x9f3ffc00u, 0x0e20a800u, true},
    {"smax/umax", 0x9f20fc00u, 0x0e206400u, true},
    {"smin/umin", 0x9f20fc00u, 0x0e206c00u, true},
    {"not", 0xbf3ffc00u, 0x2e205800u, true},
    {"neg", 0xbf3ffc00u, 0x2e20b800u, true},
    {"dup/ins/umov/smov", 0x9fe08400u, 0x0e000400u, true},
    {"dup (scalar)", 0xffe0fc00u, 0x5e000400u, true},
    {"movi/mvni/orr/bic imm", 0x9ff80400u, 0x0f000400u, true},
    {"ext", 0xbfe08400u, 0x2e000000u, true},
    {"tbl/tbx", 0xbfe08c00u, 0x0e000000u, true},
    {"xtn", 0xbf3ffc00u, 0x0e212800u, true},
    {"shrn", 0xbf80fc00u, 0x0f008400u, true},
    {"addp (vector)", 0xbf20fc00u, 0x0e20bc00u, true},
    {"smaxp/umaxp", 0x9f20fc00u, 0x0e20a400u, true},
    {"sminp/uminp", 0x9f20fc00u, 0x0e20ac00u, true},
    {"addv", 0xbf3ffc00u, 0x0e31b800u, true},
    {"smaxv/umaxv", 0x9f3ffc00u, 0x0e30a800u, true},
    {"sminv/uminv", 0x9f3ffc00u, 0x0e31a800u, true},
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
  if (!(jit_fp_inline(in) || jit_simd_inline(in) || jit_simd_perm_inline(in)) ||
      !emu_jit_inline_op(in))
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
  bool same = memcmp(a.v, b.v, sizeof a.v) == 0 && regs_same(a.r, b.r) &&
              a.nzcv == b.nzcv && a.fpsr == b.fpsr && a.fpcr == b.fpcr &&
              a.pc == b.pc;
  if (!same) {
    b.fpsr = fpsr0;
    report(&a, &b, raw);
  }
  assert_true(same);
  if ((a.fpcr & 0x01c00000u) == 0 && (fpsr0 & FPSR_IXC_BIT))
    (*fast)++;
  return true;
}

/* Often the same register in two operand fields (Rd, Rn, Rm), where a
 * translation that writes its destination early would go wrong. */
static uint32_t alias(uint32_t raw) {
  unsigned rd = raw & 31, rn = (raw >> 5) & 31;
  switch (rnd() % 8) {
  case 0:
    return (raw & ~(31u << 5)) | rd << 5;
  case 1:
    return (raw & ~(31u << 16)) | rd << 16;
  case 2:
    return (raw & ~(31u << 16)) | rn << 16;
  default:
    return raw;
  }
}

static unsigned run_templates(unsigned cases) {
  unsigned total_fast = 0;
  for (unsigned t = 0; t < sizeof tmpls / sizeof *tmpls; t++) {
    unsigned ok = 0, fast = 0;
    for (unsigned k = 0; k < 100 * cases && ok < cases; k++) {
      uint32_t raw = ((uint32_t)rnd() & ~tmpls[t].mask) | tmpls[t].val;
      raw = alias(raw);
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

/* A SIMD insn that reads or writes GPR r: DUP/INS from r, UMOV/SMOV
 * and FCVTZS/FCVTZU/FMOV to r, FMOV from r; false if the random form is
 * not an inline one. */
static bool gpr_simd_insn(struct emu_insn *o, unsigned r, uint64_t pc) {
  uint32_t raw, v = (uint32_t)(rnd() % 32);
  switch (rnd() % 4) {
  case 0: { /* copy: imm4 1 (DUP), 3 (INS) read Rn; 5, 7 write Rd */
    unsigned imm4 = 1 + 2 * (unsigned)(rnd() % 4);
    raw = 0x0e000400u | ((uint32_t)rnd() & 0x401f0000u) | imm4 << 11;
    raw |= imm4 < 5 ? (r << 5 | v) : (v << 5 | r);
    break;
  }
  case 1: /* FCVTZS, FCVTZU to r */
    raw = 0x1e380000u | ((uint32_t)rnd() & 0x80410000u) | v << 5 | r;
    break;
  case 2: /* FMOV to r */
    raw = 0x1e260000u | ((uint32_t)rnd() & 0x80400000u) | v << 5 | r;
    break;
  default: /* FMOV from r */
    raw = 0x1e270000u | ((uint32_t)rnd() & 0x80400000u) | r << 5 | v;
    break;
  }
  if (emu_decode(o, raw, pc))
    return false;
  return (jit_fp_inline(o) || jit_simd_perm_inline(o)) && emu_jit_inline_op(o);
}

/* Blocks of integer ADDs and those SIMD insns on the same few GPRs: the
 * register cache holds them in host registers around the SIMD insns,
 * which must read the current value and leave theirs where the next
 * insn finds it. */
static void test_gpr_cache_around_simd(void **state) {
  (void)state;
  unsigned done = 0;
  for (unsigned iter = 0; iter < 20000; iter++) {
    struct emu_insn blk[8];
    uint64_t pc = 0x400000;
    unsigned n = 0, regs[2] = {(unsigned)(rnd() % 31), (unsigned)(rnd() % 31)};
    bool ok = true;
    for (unsigned k = 0; k < 6 && ok; k++) {
      unsigned r = regs[rnd() % 2], r2 = regs[rnd() % 2];
      if (k % 2 == 0) { /* add xr, xr2, #imm (a W form sometimes) */
        uint32_t raw = 0x11000000u | (uint32_t)(rnd() & 1) << 31 |
                       (uint32_t)(rnd() % 4096) << 10 | r2 << 5 | r;
        ok = !emu_decode(&blk[n], raw, pc + 4 * n);
      } else {
        ok = gpr_simd_insn(&blk[n], r, pc + 4 * n);
      }
      n++;
    }
    if (!ok)
      continue;
    blk[n] = (struct emu_insn){
        .pc = pc + 4 * n, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
    static struct emu_cpu a, b;
    random_state(&a);
    a.fpcr = 0;
    a.fpsr = rnd() % 4 ? FPSR_IXC_BIT : 0;
    a.pc = pc;
    b = a;
    for (unsigned i = 0; i < n; i++) {
      if (emu_exec_helper[blk[i].op])
        emu_exec_helper[blk[i].op](&a, &blk[i]);
      else
        blk[i].fn(&a, &blk[i]);
    }
    a.pc = pc + 4 * n;
    bool flushed;
    emu_jit_fn f = emu_jit_translate(jit, blk, n + 1, &flushed);
    assert_non_null(f);
    emu_jit_fp_sync(&b);
    f(&b);
    bool same = memcmp(a.v, b.v, sizeof a.v) == 0 &&
                memcmp(a.r, b.r, sizeof a.r) == 0 && a.fpsr == b.fpsr &&
                a.pc == b.pc;
    if (!same)
      for (unsigned i = 0; i < n; i++)
        report(&a, &b, blk[i].raw);
    assert_true(same);
    done++;
  }
  printf("%u blocks of integer and GPR-touching SIMD insns\n", done);
  assert_true(done > 5000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_inline_fp_matches_interpreter),
      cmocka_unit_test(test_host_mxcsr_off_default),
      cmocka_unit_test(test_gpr_cache_around_simd),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

#else
int main(void) { return 77; }
#endif
