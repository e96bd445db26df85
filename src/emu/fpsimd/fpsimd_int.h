/* fpsimd_int.h — shared declarations of the FP/AdvSIMD part of the
 * emulator: the Arm floating-point semantics (fp_core.c), the per-class
 * decoders and small register-access helpers.
 *
 * All functions run on the vCPU thread that owns the struct emu_cpu they
 * are given; there is no shared state.
 */
#ifndef VMK_EMU_FPSIMD_INT_H
#define VMK_EMU_FPSIMD_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "emu/cpu.h"

/* FPCR / FPSR bits (Arm ARM, AArch64 FPCR/FPSR). */
#define FPCR_AHP (1u << 26)
#define FPCR_DN (1u << 25)
#define FPCR_FZ (1u << 24)
#define FPCR_RMODE_SHIFT 22
#define FPSR_IOC (1u << 0)
#define FPSR_DZC (1u << 1)
#define FPSR_OFC (1u << 2)
#define FPSR_UFC (1u << 3)
#define FPSR_IXC (1u << 4)
#define FPSR_IDC (1u << 7)
#define FPSR_QC (1u << 27)

/* Rounding modes, numbered as FPCR.RMode; FPR_TIEAWAY and FPR_ODD only come
 * from instructions that name their own mode (FCVTA*, FRINTA). */
enum fp_rmode {
  FPR_TIEEVEN = 0,
  FPR_POSINF = 1,
  FPR_NEGINF = 2,
  FPR_ZERO = 3,
  FPR_TIEAWAY = 4,
  FPR_FPCR = 5,
  FPR_ODD = 6
};

static inline int fp_fpcr_rmode(const struct emu_cpu *cpu) {
  return (cpu->fpcr >> FPCR_RMODE_SHIFT) & 3;
}

/* Arithmetic operations of fp_arith. */
enum fp_op { FOP_ADD, FOP_SUB, FOP_MUL, FOP_DIV, FOP_SQRT, FOP_FMA };

/* Scalar semantics. Operands and results are raw bit patterns; every
 * function follows the Arm ARM pseudocode (FPUnpack with FZ and IDC,
 * FPProcessNaNs, FPRound with tininess before rounding) and ORs the
 * exceptions it raises into cpu->fpsr. N is the width: 16, 32 or 64. */
uint64_t fp_arith(struct emu_cpu *cpu, int N, enum fp_op op, uint64_t a,
                  uint64_t b);
/* FPMulAdd(addend, op1, op2) = addend + op1 * op2, one rounding. */
uint64_t fp_muladd(struct emu_cpu *cpu, int N, uint64_t addend, uint64_t op1,
                   uint64_t op2);
/* FPMax/FPMin (nm=false) and FPMaxNum/FPMinNum (nm=true). */
uint64_t fp_minmax(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b, bool max,
                   bool nm);
/* FPCompare: returns NZCV (as EMU_N..EMU_V bits). signal: FCMPE. */
uint32_t fp_compare(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b,
                    bool signal);
/* Vector compares: FPCompareEQ/GE/GT → true/false (sets IOC as the ARM
 * says: EQ on SNaN only, GE/GT on any NaN). */
bool fp_cmp_eq(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b);
bool fp_cmp_ge(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b);
bool fp_cmp_gt(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b);
/* FPRoundInt; rmode FPR_*; exact: FRINTX (raise IXC). */
uint64_t fp_round_int(struct emu_cpu *cpu, int N, uint64_t a, int rmode,
                      bool exact);
/* FPToFixed: to an M-bit (32/64) integer, fbits fraction bits. */
uint64_t fp_to_fixed(struct emu_cpu *cpu, int N, uint64_t a, int fbits,
                     bool is_unsigned, int M, int rmode);
/* FixedToFP: from an M-bit integer (bits of val above M ignored). */
uint64_t fp_from_fixed(struct emu_cpu *cpu, int N, uint64_t val, int M,
                       int fbits, bool is_unsigned, int rmode);
/* FPConvert between widths 16/32/64. */
uint64_t fp_convert(struct emu_cpu *cpu, int to, int from, uint64_t a,
                    int rmode);
/* FPRecipEstimate / FPRSqrtEstimate / FPRecipStepFused / FPRSqrtStepFused,
 * FPRecpX. */
uint64_t fp_recip_estimate(struct emu_cpu *cpu, int N, uint64_t a);
uint64_t fp_rsqrt_estimate(struct emu_cpu *cpu, int N, uint64_t a);
uint64_t fp_recip_step(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b);
uint64_t fp_rsqrt_step(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b);
uint64_t fp_recpx(struct emu_cpu *cpu, int N, uint64_t a);
/* FMULX: FPMul but Inf * 0 = +-2.0. */
uint64_t fp_mulx(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b);
/* URECPE / URSQRTE on one 32-bit element. */
uint32_t fp_urecpe(uint32_t a);
uint32_t fp_ursqrte(uint32_t a);
/* VFPExpandImm for FMOV (immediate). */
uint64_t fp_expand_imm(int N, uint8_t imm8);

/* Fast-path test shared by the FP handlers: with FZ = 0, round to
 * nearest and FPSR.IXC already set, a host result that is a normal number
 * above the smallest normal raised no exception that still needs
 * recording (invalid gives NaN, overflow and divide-by-zero infinity,
 * underflow a tiny result, all of which take the exact path), and host
 * arithmetic on non-NaN operands gives the Arm result. NaN operands give
 * a NaN result, so they never pass the result test. */
static inline bool fp_host_env_default(void) {
#if defined(__x86_64__)
  /* the host must round to nearest without FTZ/DAZ (a program linking
   * libvmkit may have changed that, e.g. -ffast-math start-up code) */
  unsigned m;
  __asm__ volatile("stmxcsr %0" : "=m"(m));
  return (m & 0xe040u) == 0;
#else
  return true;
#endif
}
static inline bool fp_fast_env(const struct emu_cpu *cpu) {
  return (cpu->fpcr & (FPCR_FZ | (3u << FPCR_RMODE_SHIFT))) == 0 &&
         (cpu->fpsr & FPSR_IXC) && fp_host_env_default();
}
static inline bool fp_fast_res32(uint32_t r) {
  return (r & 0x7fffffffu) - 0x00800001u < 0x7f000000u - 1u;
}
static inline bool fp_fast_res64(uint64_t r) {
  return (r & 0x7fffffffffffffffull) - 0x0010000000000001ull <
         0x7fe0000000000000ull - 1ull;
}

static inline uint64_t fp_neg(int N, uint64_t a) {
  return a ^ (1ull << (N - 1));
}
static inline uint64_t fp_abs(int N, uint64_t a) {
  return a & ~(1ull << (N - 1));
}

/* Condition codes (ConditionHolds). */
static inline bool fp_cond_holds(uint32_t nzcv, unsigned cond) {
  bool n = nzcv & EMU_N, z = nzcv & EMU_Z, c = nzcv & EMU_C, v = nzcv & EMU_V;
  bool r;
  switch (cond >> 1) {
  case 0:
    r = z;
    break;
  case 1:
    r = c;
    break;
  case 2:
    r = n;
    break;
  case 3:
    r = v;
    break;
  case 4:
    r = c && !z;
    break;
  case 5:
    r = n == v;
    break;
  case 6:
    r = n == v && !z;
    break;
  default:
    r = true;
    break;
  }
  if ((cond & 1) && cond != 15)
    r = !r;
  return r;
}

/* Resolves a GPR field for reading (31 = XZR) or writing (31 = sink),
 * or as a base register (31 = SP). */
static inline uint8_t fps_xr(unsigned r) { return (uint8_t)r; }
static inline uint8_t fps_xw(unsigned r) {
  return r == 31 ? EMU_XSINK : (uint8_t)r;
}
static inline uint8_t fps_xsp(unsigned r) {
  return r == 31 ? EMU_SP : (uint8_t)r;
}

/* Scalar write: the whole vector register is replaced (upper bits 0). */
static inline void fps_set_scalar(struct emu_cpu *cpu, unsigned d, int N,
                                  uint64_t v) {
  emu_vreg *r = &cpu->v[d];
  r->d[1] = 0;
  r->d[0] = N == 64   ? v
            : N == 32 ? (uint32_t)v
            : N == 16 ? (uint16_t)v
                      : (uint8_t)v;
}
static inline uint64_t fps_get_scalar(const struct emu_cpu *cpu, unsigned n,
                                      int N) {
  uint64_t v = cpu->v[n].d[0];
  return N == 64   ? v
         : N == 32 ? (uint32_t)v
         : N == 16 ? (uint16_t)v
                   : (uint8_t)v;
}

#define FPS_HANDLER(name)                                                      \
  const struct emu_insn *name(struct emu_cpu *cpu, const struct emu_insn *in)

/* Operands the AdvSIMD decode functions set before their class's own
 * (isa/simd.decode): V registers rd/rn/rm, c = Q, b = size (bits 23:22). */
static inline void simd_prep(struct emu_insn *out) {
  uint32_t raw = out->raw;
  out->rd = (uint8_t)(raw & 31);
  out->rn = (uint8_t)((raw >> 5) & 31);
  out->rm = (uint8_t)((raw >> 16) & 31);
  out->c = (uint8_t)((raw >> 30) & 1);
  out->b = (uint8_t)((raw >> 22) & 3);
}
/* Scalar form of an AdvSIMD class (bit 28 set; vector forms have it 0). */
static inline bool simd_scalar(const struct emu_insn *in) {
  return (in->raw >> 28) & 1;
}

/* Lane s (0: 8-bit .. 3: 64-bit) number i of a vector register. */
static inline uint64_t lane_get(const emu_vreg *v, unsigned s, unsigned i) {
  switch (s) {
  case 0:
    return v->b[i];
  case 1:
    return v->h[i];
  case 2:
    return v->s[i];
  default:
    return v->d[i];
  }
}
static inline void lane_set(emu_vreg *v, unsigned s, unsigned i, uint64_t x) {
  switch (s) {
  case 0:
    v->b[i] = (uint8_t)x;
    break;
  case 1:
    v->h[i] = (uint16_t)x;
    break;
  case 2:
    v->s[i] = (uint32_t)x;
    break;
  default:
    v->d[i] = x;
    break;
  }
}

#endif
