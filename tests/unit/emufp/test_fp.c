/* test_fp.c — unit tests of the emulator's FP/AdvSIMD half: decodes real
 * encodings (from the GNU assembler) with the generated decoder and runs the
 * handler on a struct emu_cpu; expected results and FPSR flags follow the
 * Arm ARM pseudocode (NaN propagation, default NaN, FZ/IDC, tininess before
 * rounding, saturating conversions, rounding modes). SIMD&FP loads and
 * stores run against a flat 8 KiB guest window mapped in the soft TLB.
 * Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "emu/decode.h"
#include "emu/fpsimd/fpsimd_int.h"
#include "emu/mem.h"

/* ---- guest memory window and the core's slow paths ---------------------- */

#define MEM_VA 0x10000000ull
#define MEM_SIZE 8192
static uint8_t mem[MEM_SIZE];

static uint8_t *mem_at(uint64_t va, unsigned len) {
  if (va < MEM_VA || va + len > MEM_VA + MEM_SIZE)
    fail_msg("guest access outside the test window: %llx",
             (unsigned long long)va);
  return mem + (va - MEM_VA);
}
uint64_t emu_ld_slow(struct emu_cpu *c, const struct emu_insn *i, uint64_t va,
                     unsigned s) {
  (void)c, (void)i;
  uint64_t v = 0;
  memcpy(&v, mem_at(va, s), s);
  return v;
}
void emu_st_slow(struct emu_cpu *c, const struct emu_insn *i, uint64_t va,
                 unsigned s, uint64_t v) {
  (void)c, (void)i;
  memcpy(mem_at(va, s), &v, s);
}
unsigned __int128 emu_ld128_slow(struct emu_cpu *c, const struct emu_insn *i,
                                 uint64_t va) {
  (void)c, (void)i;
  unsigned __int128 v;
  memcpy(&v, mem_at(va, 16), 16);
  return v;
}
void emu_st128_slow(struct emu_cpu *c, const struct emu_insn *i, uint64_t va,
                    unsigned __int128 v) {
  (void)c, (void)i;
  memcpy(mem_at(va, 16), &v, 16);
}
void *emu_host_range_slow(struct emu_cpu *c, const struct emu_insn *i,
                          uint64_t va, unsigned l, enum emu_access a) {
  (void)c, (void)i, (void)a;
  mem_at(va, l);
  return NULL;
}
void emu_probe(struct emu_cpu *c, const struct emu_insn *i, uint64_t va,
               unsigned l, enum emu_access a) {
  (void)c, (void)i, (void)a;
  mem_at(va, l);
}

static struct emu_cpu cpu;

static int setup(void **state) {
  (void)state;
  memset(&cpu, 0, sizeof cpu);
  cpu.tlb = cpu.tlb_views[0];
  for (unsigned k = 0; k < EMU_TLB_SIZE; k++)
    cpu.tlb[k].tag_read = cpu.tlb[k].tag_write = cpu.tlb[k].tag_exec =
        EMU_TLB_INVALID;
  for (uint64_t va = MEM_VA; va < MEM_VA + MEM_SIZE; va += EMU_PAGE_SIZE) {
    struct emu_tlb_entry *e = emu_tlb_lookup(&cpu, va);
    e->tag_read = e->tag_write = va;
    e->addend = (uintptr_t)mem + (va - MEM_VA) - va;
  }
  for (unsigned i = 0; i < MEM_SIZE; i++)
    mem[i] = (uint8_t)(i * 7 + 3);
  return 0;
}

/* emu_decode without the rest of the emulator: the FP/AdvSIMD decoder
 * generated for this test (meson: emu/), UNDEF as emu_decode makes it. */
static bool decode(struct emu_insn *in, uint32_t raw, uint64_t pc) {
  *in = (struct emu_insn){.pc = pc, .raw = raw};
  if (emu_decode_gen(in, raw) > DEC_UNDEF && in->fn)
    return true;
  *in = (struct emu_insn){.pc = pc, .raw = raw, .op = EMU_OP_UNDEF};
  return false;
}

static void run(uint32_t raw) {
  struct emu_insn in;
  assert_true(decode(&in, raw, 0x400000));
  assert_int_not_equal(in.op, EMU_OP_UNDEF);
  assert_ptr_equal(in.fn(&cpu, &in), &in + 1);
}

#define S(n) cpu.v[n].s[0]
#define D(n) cpu.v[n].d[0]
static void sets(unsigned n, uint32_t v) { fps_set_scalar(&cpu, n, 32, v); }
static void setd(unsigned n, uint64_t v) { fps_set_scalar(&cpu, n, 64, v); }

/* encodings */
#define FADD_S 0x1e222820u   /* fadd s0, s1, s2 */
#define FMUL_S 0x1e220820u   /* fmul s0, s1, s2 */
#define FSUB_D 0x1e623820u   /* fsub d0, d1, d2 */
#define FSQRT_S 0x1e21c020u  /* fsqrt s0, s1 */
#define FMADD_S 0x1f020c20u  /* fmadd s0, s1, s2, s3 */
#define FNMSUB_D 0x1f628c20u /* fnmsub d0, d1, d2, d3 */

#define QNAN_S 0x7fc00000u
#define FZ (1u << 24)
#define DN (1u << 25)
#define RMODE(m) ((uint32_t)(m) << 22)

/* ---- NaNs ------------------------------------------------------------------
 */

static void test_nan_propagation(void **state) {
  (void)state;
  /* a signalling NaN wins over an earlier quiet NaN and is quieted */
  sets(1, 0x7fc00001);
  sets(2, 0xff800002);
  run(FADD_S);
  assert_int_equal(S(0), 0xffc00002);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  /* two quiet NaNs: the first operand, no exception */
  cpu.fpsr = 0;
  sets(1, 0xffc00011);
  sets(2, 0x7fc00022);
  run(FADD_S);
  assert_int_equal(S(0), 0xffc00011);
  assert_int_equal(cpu.fpsr, 0);
  /* default NaN mode replaces the propagated NaN */
  cpu.fpcr = DN;
  sets(1, 0xff800002);
  run(FADD_S);
  assert_int_equal(S(0), QNAN_S);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  /* the scalar write clears the rest of the vector register */
  assert_int_equal(cpu.v[0].d[1], 0);
  assert_int_equal(cpu.v[0].s[1], 0);
}

static void test_invalid_gives_positive_default_nan(void **state) {
  (void)state;
  setd(1, 0x7ff0000000000000ull); /* +inf - +inf */
  setd(2, 0x7ff0000000000000ull);
  run(FSUB_D);
  assert_int_equal(D(0), 0x7ff8000000000000ull);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  cpu.fpsr = 0;
  sets(1, 0xbf800000); /* sqrt(-1) */
  run(FSQRT_S);
  assert_int_equal(S(0), QNAN_S);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  /* sqrt(-0) = -0, no exception */
  cpu.fpsr = 0;
  sets(1, 0x80000000);
  run(FSQRT_S);
  assert_int_equal(S(0), 0x80000000);
  assert_int_equal(cpu.fpsr, 0);
}

static void test_fma_nan_rules(void **state) {
  (void)state;
  /* Inf * 0 + quiet NaN: default NaN and Invalid even though a NaN is
   * an operand (FPMulAdd) */
  sets(1, 0x7f800000);
  sets(2, 0x00000000);
  sets(3, 0x7fc12345);
  run(FMADD_S);
  assert_int_equal(S(0), QNAN_S);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  /* addend SNaN comes first in FPProcessNaNs3 order (addend, n, m) */
  cpu.fpsr = 0;
  sets(1, 0x7f800001);
  sets(2, 0x3f800000);
  sets(3, 0x7f800003);
  run(FMADD_S);
  assert_int_equal(S(0), 0x7fc00003);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  /* FNMSUB negates the addend before NaN propagation: -a + n*m */
  cpu.fpsr = 0;
  setd(1, 0x3ff0000000000000ull);
  setd(2, 0x3ff0000000000000ull);
  setd(3, 0x7ff8000000000001ull);
  run(FNMSUB_D);
  assert_int_equal(D(0), 0xfff8000000000001ull);
  /* fused: 1 * 3 - 1 computed exactly */
  setd(3, 0x3ff0000000000000ull);
  setd(2, 0x4008000000000000ull);
  run(FNMSUB_D);
  assert_int_equal(D(0), 0x4000000000000000ull);
}

/* ---- rounding, overflow, underflow, flush-to-zero
 * ---------------------------- */

static void test_rounding_modes(void **state) {
  (void)state;
  static const uint32_t expect[4] = {0x3f800000, 0x3f800001, 0x3f800000,
                                     0x3f800000};
  for (int m = 0; m < 4; m++) {
    cpu.fpcr = RMODE(m);
    cpu.fpsr = 0;
    sets(1, 0x3f800000); /* 1 + 2^-24: exactly half an ulp */
    sets(2, 0x33800000);
    run(FADD_S);
    assert_int_equal(S(0), expect[m]);
    assert_int_equal(cpu.fpsr, FPSR_IXC);
  }
  /* negative operand, RM rounds away from zero */
  cpu.fpcr = RMODE(2);
  sets(1, 0xbf800000);
  sets(2, 0xb3800000);
  run(FADD_S);
  assert_int_equal(S(0), 0xbf800001);
  /* exact x - x is -0 only when rounding towards minus infinity */
  sets(2, 0x3f800000);
  run(FADD_S);
  assert_int_equal(S(0), 0x80000000);
  cpu.fpcr = 0;
  run(FADD_S);
  assert_int_equal(S(0), 0x00000000);
}

static void test_overflow(void **state) {
  (void)state;
  sets(1, 0x7f7fffff);
  sets(2, 0x40000000);
  run(FMUL_S);
  assert_int_equal(S(0), 0x7f800000);
  assert_int_equal(cpu.fpsr, FPSR_OFC | FPSR_IXC);
  cpu.fpcr = RMODE(3); /* towards zero: the largest finite number */
  cpu.fpsr = 0;
  run(FMUL_S);
  assert_int_equal(S(0), 0x7f7fffff);
  assert_int_equal(cpu.fpsr, FPSR_OFC | FPSR_IXC);
}

static void test_underflow_before_rounding(void **state) {
  (void)state;
  /* (1 - 2^-24) * 2^-126 is tiny before rounding and rounds (tie to even)
   * up to the smallest normal: Arm raises Underflow (x86 would not). */
  sets(1, 0x3f7fffff);
  sets(2, 0x00800000);
  run(FMUL_S);
  assert_int_equal(S(0), 0x00800000);
  assert_int_equal(cpu.fpsr, FPSR_UFC | FPSR_IXC);
  /* with FZ the tiny result is flushed: +0, UFC only (no IXC) */
  cpu.fpcr = FZ;
  cpu.fpsr = 0;
  run(FMUL_S);
  assert_int_equal(S(0), 0);
  assert_int_equal(cpu.fpsr, FPSR_UFC);
  /* an exact subnormal result: no UFC without FZ ... */
  cpu.fpcr = 0;
  cpu.fpsr = 0;
  sets(1, 0x3f000000); /* 0.5 * 2^-126 */
  run(FMUL_S);
  assert_int_equal(S(0), 0x00400000);
  assert_int_equal(cpu.fpsr, 0);
  /* ... but flushed (UFC) with FZ */
  cpu.fpcr = FZ;
  run(FMUL_S);
  assert_int_equal(S(0), 0);
  assert_int_equal(cpu.fpsr, FPSR_UFC);
}

static void test_flush_inputs(void **state) {
  (void)state;
  sets(1, 0x00000001); /* smallest subnormal */
  sets(2, 0x3f800000);
  run(FADD_S);
  assert_int_equal(S(0), 0x3f800000);
  assert_int_equal(cpu.fpsr, FPSR_IXC);
  cpu.fpcr = FZ;
  cpu.fpsr = 0;
  run(FADD_S);
  assert_int_equal(S(0), 0x3f800000);
  assert_int_equal(cpu.fpsr, FPSR_IDC);
  /* a flushed negative denormal keeps its sign: -0 + -0 = -0 */
  sets(1, 0x80000005);
  sets(2, 0x80000000);
  run(FADD_S);
  assert_int_equal(S(0), 0x80000000);
}

/* ---- min / max / compare ----------------------------------------------------
 */

static void test_minmax(void **state) {
  (void)state;
  sets(1, 0x7fc00000);
  sets(2, 0x3f800000);
  run(0x1e227820); /* fminnm: a lone quiet NaN loses */
  assert_int_equal(S(0), 0x3f800000);
  run(0x1e225820); /* fmin: the NaN propagates */
  assert_int_equal(S(0), 0x7fc00000);
  assert_int_equal(cpu.fpsr, 0);
  sets(1, 0x7f800001); /* signalling NaN: propagates even for FMAXNM */
  run(0x1e226820);
  assert_int_equal(S(0), 0x7fc00001);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  sets(1, 0x80000000); /* -0 vs +0 */
  sets(2, 0x00000000);
  run(0x1e224820); /* fmax */
  assert_int_equal(S(0), 0x00000000);
  run(0x1e225820); /* fmin */
  assert_int_equal(S(0), 0x80000000);
}

static void test_fcmp(void **state) {
  (void)state;
  sets(1, 0x3f800000);
  sets(2, 0x40000000);
  run(0x1e222020);
  assert_int_equal(cpu.nzcv, EMU_N);
  sets(1, 0x80000000);
  sets(2, 0x00000000);
  run(0x1e222020);
  assert_int_equal(cpu.nzcv, EMU_Z | EMU_C);
  sets(2, 0x7fc00000); /* quiet NaN: unordered, no exception for FCMP */
  run(0x1e222020);
  assert_int_equal(cpu.nzcv, EMU_C | EMU_V);
  assert_int_equal(cpu.fpsr, 0);
  run(0x1e222030); /* FCMPE signals on any NaN */
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  cpu.fpsr = 0;
  sets(2, 0x7f800001); /* FCMP signals on a signalling NaN */
  run(0x1e222020);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
}

/* ---- conversions
 * -------------------------------------------------------------- */

static void test_fp_to_int(void **state) {
  (void)state;
  setd(1, 0x4206fc23ac000000ull); /* 1e10 */
  run(0x1e780020);                /* fcvtzs w0, d1 */
  assert_int_equal(cpu.r[0], 0x7fffffff);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  cpu.fpsr = 0;
  setd(1, 0x7ff8000000000000ull); /* NaN -> 0, Invalid */
  run(0x1e780020);
  assert_int_equal(cpu.r[0], 0);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  cpu.fpsr = 0;
  setd(1, 0xbfe0000000000000ull); /* -0.5 -> 0, Inexact */
  run(0x1e780020);
  assert_int_equal(cpu.r[0], 0);
  assert_int_equal(cpu.fpsr, FPSR_IXC);
  cpu.fpsr = 0;
  setd(1, 0xbff0000000000000ull); /* fcvtzu -1.0 -> 0, Invalid */
  run(0x1e790020);
  assert_int_equal(cpu.r[0], 0);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  cpu.fpsr = 0;
  sets(1, 0xdf000000); /* fcvtzs x0, s1 of -2^63: exact minimum */
  run(0x9e380020);
  assert_int_equal(cpu.r[0], 0x8000000000000000ull);
  assert_int_equal(cpu.fpsr, 0);
  /* rounding-mode variants on 2.5 / -2.5 */
  setd(1, 0x4004000000000000ull);
  run(0x1e600020); /* fcvtns: ties to even */
  assert_int_equal(cpu.r[0], 2);
  run(0x1e640020); /* fcvtas: ties away */
  assert_int_equal(cpu.r[0], 3);
  run(0x1e680020); /* fcvtps */
  assert_int_equal(cpu.r[0], 3);
  setd(1, 0xc004000000000000ull);
  run(0x1e700020); /* fcvtms */
  assert_int_equal(cpu.r[0], (uint32_t)-3);
  run(0x1e640020);
  assert_int_equal(cpu.r[0], (uint32_t)-3);
}

static void test_frint(void **state) {
  (void)state;
  setd(1, 0x4004000000000000ull); /* 2.5 */
  run(0x1e674020);                /* frintx: Inexact */
  assert_int_equal(D(0), 0x4000000000000000ull);
  assert_int_equal(cpu.fpsr, FPSR_IXC);
  cpu.fpsr = 0;
  setd(1, 0xc004000000000000ull);
  run(0x1e664020); /* frinta -2.5 = -3, no Inexact */
  assert_int_equal(D(0), 0xc008000000000000ull);
  assert_int_equal(cpu.fpsr, 0);
  setd(1, 0xbfd3333333333333ull); /* frintn -0.3 = -0 */
  run(0x1e644020);
  assert_int_equal(D(0), 0x8000000000000000ull);
  cpu.fpcr = RMODE(1); /* frintx follows FPCR: +inf */
  setd(1, 0x3fd3333333333333ull);
  run(0x1e674020);
  assert_int_equal(D(0), 0x3ff0000000000000ull);
}

static void test_fcvt_precision(void **state) {
  (void)state;
  setd(1, 0x47f0000000000000ull); /* 2^128 does not fit a single */
  run(0x1e624020);
  assert_int_equal(S(0), 0x7f800000);
  assert_int_equal(cpu.fpsr, FPSR_OFC | FPSR_IXC);
  cpu.fpsr = 0;
  sets(1, 0x477ff000); /* 65520 rounds to +inf in half precision */
  run(0x1e23c020);
  assert_int_equal(cpu.v[0].h[0], 0x7c00);
  assert_int_equal(cpu.fpsr, FPSR_OFC | FPSR_IXC);
  cpu.fpsr = 0;
  sets(1, 0x3f800000); /* 1.0 -> half 0x3c00 */
  run(0x1e23c020);
  assert_int_equal(cpu.v[0].h[0], 0x3c00);
  assert_int_equal(cpu.fpsr, 0);
  fps_set_scalar(&cpu, 1, 16, 0x7d01); /* half SNaN -> quiet single */
  run(0x1ee24020);
  assert_int_equal(S(0), 0x7fe02000);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  cpu.fpsr = 0;
  fps_set_scalar(&cpu, 1, 16, 0x0001); /* smallest half subnormal */
  run(0x1ee24020);
  assert_int_equal(S(0), 0x33800000);
  assert_int_equal(cpu.fpsr, 0);
}

static void test_alternative_half(void **state) {
  (void)state;
  cpu.fpcr = 1u << 26; /* FPCR.AHP */
  sets(1, 0x47800000); /* 65536 is a normal AHP number: exponent 31 */
  run(0x1e23c020);     /* fcvt h0, s1 */
  assert_int_equal(cpu.v[0].h[0], 0x7c00);
  assert_int_equal(cpu.fpsr, 0);
  sets(1, 0x49742400); /* 1e6 saturates with Invalid, no Inexact */
  run(0x1e23c020);
  assert_int_equal(cpu.v[0].h[0], 0x7fff);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  cpu.fpsr = 0;
  sets(1, 0xffc00000); /* a NaN becomes a signed zero, Invalid */
  run(0x1e23c020);
  assert_int_equal(cpu.v[0].h[0], 0x8000);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  fps_set_scalar(&cpu, 1, 16, 0x7c00); /* and back: 65536.0 */
  run(0x1ee24020);
  assert_int_equal(S(0), 0x47800000);
}

static void test_int_to_fp(void **state) {
  (void)state;
  cpu.r[1] = 0x00018000; /* scvtf s0, w1, #16: 1.5 */
  run(0x1e02c020);
  assert_int_equal(S(0), 0x3fc00000);
  cpu.r[1] = 0xffffffffffffffffull; /* ucvtf d0, x1: 2^64 after rounding */
  run(0x9e630020);
  assert_int_equal(D(0), 0x43f0000000000000ull);
  assert_int_equal(cpu.fpsr, FPSR_IXC);
  cpu.fpsr = 0;
  cpu.fpcr = RMODE(3);
  run(0x9e630020);
  assert_int_equal(D(0), 0x43efffffffffffffull);
}

static void test_fmov(void **state) {
  (void)state;
  run(0x1e2f1000); /* fmov s0, #1.5 */
  assert_int_equal(S(0), 0x3fc00000);
  cpu.v[1].d[1] = 0x1122334455667788ull;
  run(0x9eae0020); /* fmov x0, v1.d[1] */
  assert_int_equal(cpu.r[0], 0x1122334455667788ull);
}

/* ---- AdvSIMD ----------------------------------------------------------------
 */

static void test_simd_arith(void **state) {
  (void)state;
  for (int i = 0; i < 4; i++) {
    cpu.v[1].s[i] = 0xfffffff0u + (uint32_t)i;
    cpu.v[2].s[i] = 0x20u * (uint32_t)i;
  }
  run(0x4ea28420); /* add v0.4s */
  assert_int_equal(cpu.v[0].s[0], 0xfffffff0u);
  assert_int_equal(cpu.v[0].s[1], 0x11u);
  assert_int_equal(cpu.v[0].s[3], 0x53u);
  for (int i = 0; i < 16; i++) {
    cpu.v[1].b[i] = (uint8_t)i;
    cpu.v[2].b[i] = (uint8_t)(i & 1 ? i : 0);
  }
  run(0x6e228c20); /* cmeq v0.16b */
  assert_int_equal(cpu.v[0].d[0], 0xff00ff00ff00ffffull);
  for (int i = 0; i < 8; i++) {
    cpu.v[1].h[i] = (uint16_t)i;
    cpu.v[2].h[i] = (uint16_t)(100 + i);
  }
  run(0x4e421820); /* uzp1 v0.8h: even elements of v1 then v2 */
  assert_int_equal(cpu.v[0].h[1], 2);
  assert_int_equal(cpu.v[0].h[4], 100);
  assert_int_equal(cpu.v[0].h[7], 106);
  for (int i = 0; i < 16; i++) {
    cpu.v[1].b[i] = (uint8_t)(0x10 + i);
    cpu.v[2].b[i] = (uint8_t)(0x20 + i);
    cpu.v[3].b[i] = (uint8_t)(i * 3);
  }
  run(0x4e032020); /* tbl v0.16b, {v1,v2}, v3: 32-byte table */
  assert_int_equal(cpu.v[0].b[5], 0x1f);
  assert_int_equal(cpu.v[0].b[10], 0x2e);
  assert_int_equal(cpu.v[0].b[11], 0); /* index 33: out of range */
  for (int i = 0; i < 16; i++)
    cpu.v[1].b[i] = 0xff;
  run(0x6e303820); /* uaddlv h0, v1.16b */
  assert_int_equal(cpu.v[0].d[0], 16 * 255);
  assert_int_equal(cpu.v[0].d[1], 0);
  for (int i = 0; i < 8; i++)
    cpu.v[1].sh[i] = (int16_t)(i * 100 - 300);
  cpu.v[0].d[1] = 0x1234;
  run(0x0e214820); /* sqxtn v0.8b, v1.8h: saturates, sets QC */
  assert_int_equal(cpu.v[0].sb[0], -128);
  assert_int_equal(cpu.v[0].sb[2], -100);
  assert_int_equal(cpu.v[0].sb[4], 100);
  assert_int_equal(cpu.v[0].sb[5], 127);
  assert_int_equal(cpu.v[0].d[1], 0);
  assert_true(cpu.fpsr & FPSR_QC);
  cpu.v[0].d[0] = 0x0102030405060708ull;
  for (int i = 0; i < 8; i++)
    cpu.v[1].h[i] = (uint16_t)(i << 4);
  run(0x4f0d9420); /* sqshrn2 v0.16b, v1.8h, #3: upper half only */
  assert_int_equal(cpu.v[0].d[0], 0x0102030405060708ull);
  assert_int_equal(cpu.v[0].b[8 + 3], 6);
  run(0x6f002640); /* mvni v0.4s, #0x12, lsl #8 */
  assert_int_equal(cpu.v[0].s[2], 0xffffedffu);
  cpu.v[1].b[9] = 0xab;
  run(0x0e133c20); /* umov w0, v1.b[9] */
  assert_int_equal(cpu.r[0], 0xab);
}

static void test_simd_shift_by_register(void **state) {
  (void)state;
  /* a shift count equal to the element size: saturating shifts saturate
   * any nonzero value, plain shifts give 0; negative counts shift right */
  cpu.v[1].d[0] = 0x8000000000000001ull;
  cpu.v[1].d[1] = 0;
  cpu.v[2].d[0] = 64;
  cpu.v[2].d[1] = 64;
  run(0x6ee24c20); /* uqshl v0.2d, v1.2d, v2.2d */
  assert_int_equal(cpu.v[0].d[0], ~0ull);
  assert_int_equal(cpu.v[0].d[1], 0);
  assert_true(cpu.fpsr & FPSR_QC);
  run(0x4ee24420); /* sshl */
  assert_int_equal(cpu.v[0].d[0], 0);
  cpu.v[2].d[0] = (uint64_t)-65; /* arithmetic right shift by 65: -1 */
  run(0x4ee24420);
  assert_int_equal(cpu.v[0].d[0], ~0ull);
}

static void test_simd_fp(void **state) {
  (void)state;
  cpu.v[1].d[0] = 0x3ff0000000000000ull;
  cpu.v[1].d[1] = 0x7ff0000000000001ull; /* SNaN lane */
  cpu.v[2].d[0] = 0x3ff0000000000000ull;
  cpu.v[2].d[1] = 0x3ff0000000000000ull;
  run(0x4e62d420); /* fadd v0.2d */
  assert_int_equal(cpu.v[0].d[0], 0x4000000000000000ull);
  assert_int_equal(cpu.v[0].d[1], 0x7ff8000000000001ull);
  assert_int_equal(cpu.fpsr, FPSR_IOC);
  sets(1, 0x40000000); /* frecpe s0, s1 of 2.0: 511/1024 (8-bit table) */
  run(0x5ea1d820);
  assert_int_equal(S(0), 0x3eff8000);
  setd(1, 0x3ff0000010000000ull); /* fcvtxn: round to odd */
  run(0x7e616820);
  assert_int_equal(S(0), 0x3f800001);
}

static void test_loads_stores(void **state) {
  (void)state;
  uint64_t base = MEM_VA + 0x100;
  for (int i = 0; i < 64; i++)
    mem[0x100 + i] = (uint8_t)i;
  cpu.r[1] = base;
  run(0x4c407820); /* ld1 {v0.4s}, [x1] */
  assert_int_equal(cpu.v[0].s[1], 0x07060504u);
  run(0x4cdf0824); /* ld4 {v4.4s-v7.4s}, [x1], #64: de-interleave */
  assert_int_equal(cpu.v[4].s[1], 0x13121110u);
  assert_int_equal(cpu.v[5].s[0], 0x07060504u);
  assert_int_equal(cpu.v[7].s[3], 0x3f3e3d3cu);
  assert_int_equal(cpu.r[1], base + 64);
  cpu.r[1] = base;
  cpu.r[2] = 0x1000; /* st1 {v0.2d, v1.2d}, [x1], x2 */
  cpu.v[0].d[0] = 0x1111111111111111ull;
  cpu.v[1].d[1] = 0x2222222222222222ull;
  run(0x4c82ac20);
  uint64_t x;
  memcpy(&x, mem + 0x100, 8);
  assert_int_equal(x, 0x1111111111111111ull);
  memcpy(&x, mem + 0x118, 8);
  assert_int_equal(x, 0x2222222222222222ull);
  assert_int_equal(cpu.r[1], base + 0x1000);
  /* ldr q0, [x1, x2, lsl #4] crossing nothing; ldp q0, q1 pre-index
   * across the page boundary (slow path) */
  cpu.r[1] = MEM_VA;
  cpu.r[2] = 0x10;
  run(0x3ce27820);
  assert_int_equal(cpu.v[0].b[0], mem[0x100]);
  cpu.r[1] = MEM_VA + 0x1010;
  run(0xadff0420); /* ldp q0, q1, [x1, #-32]! */
  assert_int_equal(cpu.r[1], MEM_VA + 0xff0);
  assert_int_equal(cpu.v[0].b[0], mem[0xff0]);
  assert_int_equal(cpu.v[1].b[15], mem[0x100f]);
  cpu.r[1] = base;
  run(0x4d40c420); /* ld1r {v0.8h}, [x1] */
  assert_int_equal(cpu.v[0].h[7], 0x1111);
  cpu.v[2].s[3] = 0xdeadbeef;
  run(0x4d009022); /* st1 {v2.s}[3], [x1] */
  uint32_t w;
  memcpy(&w, mem + 0x100, 4);
  assert_int_equal(w, 0xdeadbeef);
}

static void test_literal_load(void **state) {
  (void)state;
  struct emu_insn in;
  /* ldr d0, pc+4 */
  assert_true(decode(&in, 0x5c000020, MEM_VA + 0x200 - 4));
  assert_int_equal(in.op, EMU_OP_LDR_F_LIT);
  memcpy(mem + 0x200, &(uint64_t){0x0123456789abcdefull}, 8);
  in.fn(&cpu, &in);
  assert_int_equal(cpu.v[0].d[0], 0x0123456789abcdefull);
}

static void undef(uint32_t raw) {
  struct emu_insn in;
  assert_false(decode(&in, raw, 0x400000));
  assert_int_equal(in.op, EMU_OP_UNDEF);
}

static void test_unallocated(void **state) {
  (void)state;
  undef(0x1ea22820); /* fadd, type 10 */
  undef(0x1ee22820); /* fadd h: FP16 */
  undef(0x0ee28420); /* add v.1d: Q=0 */
  undef(0x7cc00c20); /* ldr q, size!=0 */
  undef(0x2f9f8c63); /* bit 23 set */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_nan_propagation, setup),
      cmocka_unit_test_setup(test_invalid_gives_positive_default_nan, setup),
      cmocka_unit_test_setup(test_fma_nan_rules, setup),
      cmocka_unit_test_setup(test_rounding_modes, setup),
      cmocka_unit_test_setup(test_overflow, setup),
      cmocka_unit_test_setup(test_underflow_before_rounding, setup),
      cmocka_unit_test_setup(test_flush_inputs, setup),
      cmocka_unit_test_setup(test_minmax, setup),
      cmocka_unit_test_setup(test_fcmp, setup),
      cmocka_unit_test_setup(test_fp_to_int, setup),
      cmocka_unit_test_setup(test_frint, setup),
      cmocka_unit_test_setup(test_fcvt_precision, setup),
      cmocka_unit_test_setup(test_alternative_half, setup),
      cmocka_unit_test_setup(test_int_to_fp, setup),
      cmocka_unit_test_setup(test_fmov, setup),
      cmocka_unit_test_setup(test_simd_arith, setup),
      cmocka_unit_test_setup(test_simd_shift_by_register, setup),
      cmocka_unit_test_setup(test_simd_fp, setup),
      cmocka_unit_test_setup(test_loads_stores, setup),
      cmocka_unit_test_setup(test_literal_load, setup),
      cmocka_unit_test_setup(test_unallocated, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
