/* fp_core.c — Arm floating-point semantics for the emulator: arithmetic,
 * fused multiply-add, min/max, compares, rounding to integral, conversions
 * and the reciprocal estimates, for half (conversions only), single and
 * double precision, bit-exact with the Arm ARM pseudocode (FPUnpack,
 * FPProcessNaNs, FPRoundBase with AArch64 rules, FPToFixed, FixedToFP ...)
 * including FPCR.RMode/DN/FZ and the FPSR cumulative flags.
 *
 * Speed: add/sub/mul/div/sqrt/fma run on the host's SSE unit in the guest's
 * rounding mode (MXCSR), and its exception flags give IOC/DZC/OFC/IXC.
 * What differs between x86 and Arm is fixed up around the host operation:
 * NaN operands never reach the host (Arm propagation and default NaN are
 * done here), FZ flushes inputs here (IDC), and results in the tiny range
 * go through a slow path because Arm detects tininess before rounding and
 * its flush-to-zero of outputs raises UFC without IXC. Everything else
 * (conversions, rounding to integral, min/max, compares) is exact integer
 * code.
 *
 * Threads: functions run on the vCPU thread owning the emu_cpu passed in;
 * the host MXCSR is changed only for the duration of one operation and
 * restored before returning. No shared state, no locks.
 */
#include <math.h>

#include "fpsimd_int.h"

#if defined(__x86_64__)
#define FP_HOST_SSE 1
#else
#include <fenv.h>
#endif

/* ---- format helpers ---------------------------------------------------- */

static inline int fmt_F(int N) { return N == 16 ? 10 : N == 32 ? 23 : 52; }
static inline int fmt_E(int N) { return N == 16 ? 5 : N == 32 ? 8 : 11; }
static inline uint64_t fmt_sign(int N) { return 1ull << (N - 1); }
static inline uint64_t fmt_fracmask(int N) { return (1ull << fmt_F(N)) - 1; }
static inline uint64_t fmt_expmask(int N) {
  return ((1ull << fmt_E(N)) - 1) << fmt_F(N);
}

static inline bool f_isnan(int N, uint64_t a) {
  return (a & fmt_expmask(N)) == fmt_expmask(N) && (a & fmt_fracmask(N));
}
static inline bool f_issnan(int N, uint64_t a) {
  return f_isnan(N, a) && !(a & (1ull << (fmt_F(N) - 1)));
}
static inline bool f_isqnan(int N, uint64_t a) {
  return f_isnan(N, a) && (a & (1ull << (fmt_F(N) - 1)));
}
static inline bool f_isinf(int N, uint64_t a) {
  return (a & ~fmt_sign(N)) == fmt_expmask(N);
}
static inline bool f_iszero(int N, uint64_t a) {
  return (a & ~fmt_sign(N)) == 0;
}
static inline bool f_isdenorm(int N, uint64_t a) {
  return (a & fmt_expmask(N)) == 0 && (a & fmt_fracmask(N));
}
static inline uint64_t f_default_nan(int N) {
  return fmt_expmask(N) | (1ull << (fmt_F(N) - 1));
}
static inline uint64_t f_inf(int N, bool sign) {
  return fmt_expmask(N) | (sign ? fmt_sign(N) : 0);
}
static inline uint64_t f_zero(int N, bool sign) {
  return sign ? fmt_sign(N) : 0;
}
static inline uint64_t f_maxnormal(int N, bool sign) {
  return (fmt_expmask(N) - (1ull << fmt_F(N))) | fmt_fracmask(N) |
         (sign ? fmt_sign(N) : 0);
}

/* FPUnpack's flush-to-zero of denormal inputs (FZ does not apply to half
 * precision in ARMv8.0: FZ16 does not exist). */
static inline uint64_t f_flush(struct emu_cpu *cpu, int N, uint64_t a) {
  if (N != 16 && (cpu->fpcr & FPCR_FZ) && f_isdenorm(N, a)) {
    cpu->fpsr |= FPSR_IDC;
    return a & fmt_sign(N);
  }
  return a;
}

/* FPProcessNaN. */
static uint64_t f_proc_nan(struct emu_cpu *cpu, int N, uint64_t a) {
  if (f_issnan(N, a)) {
    cpu->fpsr |= FPSR_IOC;
    a |= 1ull << (fmt_F(N) - 1);
  }
  if (cpu->fpcr & FPCR_DN)
    return f_default_nan(N);
  return a;
}

/* FPProcessNaNs: a signalling NaN wins, then the first quiet NaN. Only
 * called when at least one operand is a NaN. */
static uint64_t f_pick_nan2(struct emu_cpu *cpu, int N, uint64_t a,
                            uint64_t b) {
  if (f_issnan(N, a))
    return f_proc_nan(cpu, N, a);
  if (f_issnan(N, b))
    return f_proc_nan(cpu, N, b);
  if (f_isnan(N, a))
    return f_proc_nan(cpu, N, a);
  return f_proc_nan(cpu, N, b);
}

static uint64_t f_pick_nan3(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b,
                            uint64_t c) {
  if (f_issnan(N, a))
    return f_proc_nan(cpu, N, a);
  if (f_issnan(N, b))
    return f_proc_nan(cpu, N, b);
  if (f_issnan(N, c))
    return f_proc_nan(cpu, N, c);
  if (f_isnan(N, a))
    return f_proc_nan(cpu, N, a);
  if (f_isnan(N, b))
    return f_proc_nan(cpu, N, b);
  return f_proc_nan(cpu, N, c);
}

/* Exact decomposition of a finite nonzero value: |a| = mant * 2^exp. */
static inline void f_decompose(int N, uint64_t a, uint64_t *mant, int *exp) {
  int F = fmt_F(N);
  int bias = (1 << (fmt_E(N) - 1)) - 1;
  uint64_t e = (a & fmt_expmask(N)) >> F;
  uint64_t m = a & fmt_fracmask(N);
  if (e == 0) {
    *mant = m;
    *exp = 1 - bias - F;
  } else {
    *mant = m | (1ull << F);
    *exp = (int)e - bias - F;
  }
}

/* Value of a non-NaN as a host double (exact for every format). */
static double f_value(int N, uint64_t a) {
  if (N == 64) {
    double d;
    memcpy(&d, &a, 8);
    return d;
  }
  if (N == 32) {
    uint32_t u = (uint32_t)a;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  bool s = a & 0x8000;
  if (f_isinf(16, a))
    return s ? -INFINITY : INFINITY;
  if (f_iszero(16, a))
    return s ? -0.0 : 0.0;
  uint64_t m;
  int e;
  f_decompose(16, a, &m, &e);
  double v = ldexp((double)m, e);
  return s ? -v : v;
}

/* FPRoundBase for AArch64 with FPCR.AH == 0: rounds sign * mant * 2^exp
 * (mant != 0) to an N-bit format. Tininess is detected before rounding;
 * fz: flush tiny results to zero (UFC only). */
static uint64_t f_round_ex(struct emu_cpu *cpu, int N, bool sign, uint64_t mant,
                           int exp, int rmode, bool fz, bool ahp) {
  int F = fmt_F(N), E = fmt_E(N);
  int min_exp = 2 - (1 << (E - 1));
  int msb = 63 - __builtin_clzll(mant);
  int e = exp + msb; /* exponent of the value normalised to [1,2) */

  if (fz && e < min_exp) {
    cpu->fpsr |= FPSR_UFC;
    return f_zero(N, sign);
  }
  int biased_exp = e - min_exp + 1;
  if (biased_exp < 0)
    biased_exp = 0;
  int unit = (biased_exp == 0 ? min_exp : e) - F; /* weight of the LSB */
  int sh = unit - exp;
  uint64_t int_mant;
  int cat; /* 0 exact, 1 below half, 2 half, 3 above half */
  if (sh <= 0) {
    int_mant = mant << -sh;
    cat = 0;
  } else if (sh > 64) {
    int_mant = 0;
    cat = 1; /* mant < 2^64 <= 2^(sh-1) */
  } else {
    uint64_t rem = sh == 64 ? mant : mant & ((1ull << sh) - 1);
    uint64_t half = 1ull << (sh - 1);
    int_mant = sh == 64 ? 0 : mant >> sh;
    cat = rem == 0 ? 0 : rem < half ? 1 : rem == half ? 2 : 3;
  }
  if (biased_exp == 0 && cat != 0)
    cpu->fpsr |= FPSR_UFC;

  bool round_up = false, overflow_to_inf = false;
  switch (rmode) {
  case FPR_TIEEVEN:
    round_up = cat == 3 || (cat == 2 && (int_mant & 1));
    overflow_to_inf = true;
    break;
  case FPR_POSINF:
    round_up = cat != 0 && !sign;
    overflow_to_inf = !sign;
    break;
  case FPR_NEGINF:
    round_up = cat != 0 && sign;
    overflow_to_inf = sign;
    break;
  case FPR_ZERO:
    break;
  case FPR_TIEAWAY:
    round_up = cat >= 2;
    overflow_to_inf = true;
    break;
  case FPR_ODD: /* FCVTXN: keep the lost bits visible in the LSB */
    if (cat != 0)
      int_mant |= 1;
    break;
  }
  if (round_up) {
    int_mant++;
    if (int_mant == (1ull << F))
      biased_exp = 1;
    if (int_mant == (1ull << (F + 1))) {
      biased_exp++;
      int_mant >>= 1;
    }
  }
  if (ahp) {
    /* alternative half precision: exponent 31 is a normal number; what is
     * beyond saturates with Invalid Operation (and no Inexact) */
    if (biased_exp >= (1 << E)) {
      cpu->fpsr |= FPSR_IOC;
      return (sign ? fmt_sign(N) : 0) | 0x7fff;
    }
  } else if (biased_exp >= (1 << E) - 1) {
    cpu->fpsr |= FPSR_OFC | FPSR_IXC;
    return overflow_to_inf ? f_inf(N, sign) : f_maxnormal(N, sign);
  }
  if (cat != 0)
    cpu->fpsr |= FPSR_IXC;
  return (sign ? fmt_sign(N) : 0) | ((uint64_t)biased_exp << F) |
         (int_mant & fmt_fracmask(N));
}

static uint64_t f_round(struct emu_cpu *cpu, int N, bool sign, uint64_t mant,
                        int exp, int rmode, bool fz) {
  return f_round_ex(cpu, N, sign, mant, exp, rmode, fz, false);
}

static inline int f_rmode(const struct emu_cpu *cpu, int rmode) {
  return rmode == FPR_FPCR ? fp_fpcr_rmode(cpu) : rmode;
}

/* ---- host arithmetic --------------------------------------------------- */

enum { HF_IOC = 1, HF_DZC = 2, HF_OFC = 4, HF_IXC = 16 };

#ifdef FP_HOST_SSE
static inline unsigned mx_get(void) {
  unsigned m;
  __asm__ volatile("stmxcsr %0" : "=m"(m)::"memory");
  return m;
}
static inline void mx_set(unsigned m) {
  __asm__ volatile("ldmxcsr %0" ::"m"(m) : "memory");
}
/* Arm RMode (RN, RP, RM, RZ) -> MXCSR.RC (RN=0, RM=1, RP=2, RZ=3). */
static const unsigned mx_rc[4] = {0u << 13, 2u << 13, 1u << 13, 3u << 13};

static inline unsigned mx_enter(int rmode) {
  unsigned saved = mx_get();
  /* all exceptions masked, flags clear, no FTZ/DAZ, guest rounding */
  mx_set(0x1F80 | mx_rc[rmode & 3]);
  return saved;
}
static inline unsigned mx_leave(unsigned saved) {
  unsigned m = mx_get();
  mx_set(saved);
  return ((m & 0x01) ? HF_IOC : 0) | ((m & 0x04) ? HF_DZC : 0) |
         ((m & 0x08) ? HF_OFC : 0) | ((m & 0x20) ? HF_IXC : 0);
}
#define BARRIER(x) __asm__ volatile("" : "+x"(x))

static float host_f32(enum fp_op op, float a, float b, float c, int rmode,
                      unsigned *fl) {
  unsigned saved = mx_enter(rmode);
  float r = a;
  switch (op) {
  case FOP_ADD:
    __asm__ volatile("addss %1, %0" : "+x"(r) : "x"(b));
    break;
  case FOP_SUB:
    __asm__ volatile("subss %1, %0" : "+x"(r) : "x"(b));
    break;
  case FOP_MUL:
    __asm__ volatile("mulss %1, %0" : "+x"(r) : "x"(b));
    break;
  case FOP_DIV:
    __asm__ volatile("divss %1, %0" : "+x"(r) : "x"(b));
    break;
  case FOP_SQRT:
    __asm__ volatile("sqrtss %1, %0" : "+x"(r) : "x"(a));
    break;
  case FOP_FMA:
    BARRIER(a);
    BARRIER(b);
    BARRIER(c);
    r = fmaf(b, c, a);
    BARRIER(r);
    break;
  }
  *fl = mx_leave(saved);
  return r;
}

static double host_f64(enum fp_op op, double a, double b, double c, int rmode,
                       unsigned *fl) {
  unsigned saved = mx_enter(rmode);
  double r = a;
  switch (op) {
  case FOP_ADD:
    __asm__ volatile("addsd %1, %0" : "+x"(r) : "x"(b));
    break;
  case FOP_SUB:
    __asm__ volatile("subsd %1, %0" : "+x"(r) : "x"(b));
    break;
  case FOP_MUL:
    __asm__ volatile("mulsd %1, %0" : "+x"(r) : "x"(b));
    break;
  case FOP_DIV:
    __asm__ volatile("divsd %1, %0" : "+x"(r) : "x"(b));
    break;
  case FOP_SQRT:
    __asm__ volatile("sqrtsd %1, %0" : "+x"(r) : "x"(a));
    break;
  case FOP_FMA:
    BARRIER(a);
    BARRIER(b);
    BARRIER(c);
    r = fma(b, c, a);
    BARRIER(r);
    break;
  }
  *fl = mx_leave(saved);
  return r;
}
#else
/* Portable version through <fenv.h> (arm64 and other hosts). */
static const int fe_rc[4] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD,
                             FE_TOWARDZERO};
static unsigned fe_flags(void) {
  int e = fetestexcept(FE_ALL_EXCEPT);
  return ((e & FE_INVALID) ? HF_IOC : 0) | ((e & FE_DIVBYZERO) ? HF_DZC : 0) |
         ((e & FE_OVERFLOW) ? HF_OFC : 0) | ((e & FE_INEXACT) ? HF_IXC : 0);
}
static float host_f32(enum fp_op op, float a, float b, float c, int rmode,
                      unsigned *fl) {
  fenv_t env;
  fegetenv(&env);
  fesetround(fe_rc[rmode & 3]);
  feclearexcept(FE_ALL_EXCEPT);
  volatile float va = a, vb = b, vc = c, r = 0;
  switch (op) {
  case FOP_ADD:
    r = va + vb;
    break;
  case FOP_SUB:
    r = va - vb;
    break;
  case FOP_MUL:
    r = va * vb;
    break;
  case FOP_DIV:
    r = va / vb;
    break;
  case FOP_SQRT:
    r = sqrtf(va);
    break;
  case FOP_FMA:
    r = fmaf(vb, vc, va);
    break;
  }
  *fl = fe_flags();
  fesetenv(&env);
  return r;
}
static double host_f64(enum fp_op op, double a, double b, double c, int rmode,
                       unsigned *fl) {
  fenv_t env;
  fegetenv(&env);
  fesetround(fe_rc[rmode & 3]);
  feclearexcept(FE_ALL_EXCEPT);
  volatile double va = a, vb = b, vc = c, r = 0;
  switch (op) {
  case FOP_ADD:
    r = va + vb;
    break;
  case FOP_SUB:
    r = va - vb;
    break;
  case FOP_MUL:
    r = va * vb;
    break;
  case FOP_DIV:
    r = va / vb;
    break;
  case FOP_SQRT:
    r = sqrt(va);
    break;
  case FOP_FMA:
    r = fma(vb, vc, va);
    break;
  }
  *fl = fe_flags();
  fesetenv(&env);
  return r;
}
#endif

static uint64_t host_op(int N, enum fp_op op, uint64_t a, uint64_t b,
                        uint64_t c, int rmode, unsigned *fl) {
  if (N == 32) {
    float fa, fb, fc, r;
    uint32_t ua = (uint32_t)a, ub = (uint32_t)b, uc = (uint32_t)c, ur;
    memcpy(&fa, &ua, 4);
    memcpy(&fb, &ub, 4);
    memcpy(&fc, &uc, 4);
    r = host_f32(op, fa, fb, fc, rmode, fl);
    memcpy(&ur, &r, 4);
    return ur;
  }
  double da, db, dc, r;
  uint64_t ur;
  memcpy(&da, &a, 8);
  memcpy(&db, &b, 8);
  memcpy(&dc, &c, 8);
  r = host_f64(op, da, db, dc, rmode, fl);
  memcpy(&ur, &r, 8);
  return ur;
}

/* Runs a NaN-free, already flushed operation on the host and applies the
 * Arm rules to its result and flags. For FOP_FMA the value is a + b * c. */
/* Plain host arithmetic in the host's default environment (round to
 * nearest, flags ignored): the fast path of arith_host. */
static uint64_t plain_op(int N, enum fp_op op, uint64_t a, uint64_t b,
                         uint64_t c) {
  if (N == 32) {
    float fa, fb, fc, r;
    uint32_t ua = (uint32_t)a, ub = (uint32_t)b, uc = (uint32_t)c, ur;
    memcpy(&fa, &ua, 4);
    memcpy(&fb, &ub, 4);
    memcpy(&fc, &uc, 4);
    switch (op) {
    case FOP_ADD:
      r = fa + fb;
      break;
    case FOP_SUB:
      r = fa - fb;
      break;
    case FOP_MUL:
      r = fa * fb;
      break;
    case FOP_DIV:
      r = fa / fb;
      break;
    case FOP_SQRT:
      r = sqrtf(fa);
      break;
    default:
      r = fmaf(fb, fc, fa);
      break;
    }
    memcpy(&ur, &r, 4);
    return ur;
  }
  double da, db, dc, r;
  uint64_t ur;
  memcpy(&da, &a, 8);
  memcpy(&db, &b, 8);
  memcpy(&dc, &c, 8);
  switch (op) {
  case FOP_ADD:
    r = da + db;
    break;
  case FOP_SUB:
    r = da - db;
    break;
  case FOP_MUL:
    r = da * db;
    break;
  case FOP_DIV:
    r = da / db;
    break;
  case FOP_SQRT:
    r = sqrt(da);
    break;
  default:
    r = fma(db, dc, da);
    break;
  }
  memcpy(&ur, &r, 8);
  return ur;
}

static uint64_t arith_host(struct emu_cpu *cpu, int N, enum fp_op op,
                           uint64_t a, uint64_t b, uint64_t c) {
  int rmode = fp_fpcr_rmode(cpu);
  unsigned fl;
  uint64_t r = host_op(N, op, a, b, c, rmode, &fl);
  uint64_t e = r & fmt_expmask(N);
  uint64_t mag = r & ~fmt_sign(N);
  uint32_t flags =
      ((fl & HF_IOC) ? FPSR_IOC : 0) | ((fl & HF_DZC) ? FPSR_DZC : 0) |
      ((fl & HF_OFC) ? FPSR_OFC : 0) | ((fl & HF_IXC) ? FPSR_IXC : 0);

  if (e == fmt_expmask(N) && (r & fmt_fracmask(N))) {
    /* Only an invalid operation makes a NaN from non-NaN operands. */
    r = f_default_nan(N);
  } else if (e == 0 || mag == (1ull << fmt_F(N))) {
    /* Zero, subnormal or the smallest normal: decide tininess the Arm way
     * (before rounding) and apply FZ to the output. */
    bool inexact = fl & HF_IXC;
    bool tiny;
    if (mag == 0) {
      tiny = inexact; /* an exact zero is not an underflow */
    } else if (e == 0) {
      tiny = true;
    } else if (!inexact) {
      tiny = false;
    } else {
      unsigned fl2;
      uint64_t rz = host_op(N, op, a, b, c, FPR_ZERO, &fl2);
      tiny = (rz & fmt_expmask(N)) == 0;
    }
    if (tiny) {
      if (cpu->fpcr & FPCR_FZ) {
        r &= fmt_sign(N);
        flags = (flags & ~FPSR_IXC) | FPSR_UFC;
      } else if (inexact) {
        flags |= FPSR_UFC;
      }
    }
  }
  cpu->fpsr |= flags;
  return r;
}

/* ---- public operations --------------------------------------------------- */

static inline bool fast_res(int N, uint64_t r) {
  return N == 32 ? fp_fast_res32((uint32_t)r) : fp_fast_res64(r);
}

uint64_t fp_arith(struct emu_cpu *cpu, int N, enum fp_op op, uint64_t a,
                  uint64_t b) {
  if (fp_fast_env(cpu) && N != 16) {
    uint64_t r = plain_op(N, op, a, b, 0);
    if (fast_res(N, r))
      return r;
  }
  a = f_flush(cpu, N, a);
  if (op == FOP_SQRT) {
    if (f_isnan(N, a))
      return f_proc_nan(cpu, N, a);
    return arith_host(cpu, N, op, a, a, 0);
  }
  b = f_flush(cpu, N, b);
  if (f_isnan(N, a) || f_isnan(N, b))
    return f_pick_nan2(cpu, N, a, b);
  return arith_host(cpu, N, op, a, b, 0);
}

uint64_t fp_muladd(struct emu_cpu *cpu, int N, uint64_t addend, uint64_t op1,
                   uint64_t op2) {
  if (fp_fast_env(cpu)) {
    uint64_t r = plain_op(N, FOP_FMA, addend, op1, op2);
    if (fast_res(N, r))
      return r;
  }
  addend = f_flush(cpu, N, addend);
  op1 = f_flush(cpu, N, op1);
  op2 = f_flush(cpu, N, op2);
  bool n1 = f_isnan(N, op1), n2 = f_isnan(N, op2), na = f_isnan(N, addend);
  if (na || n1 || n2) {
    uint64_t r = f_pick_nan3(cpu, N, addend, op1, op2);
    if (f_isqnan(N, addend) && ((f_isinf(N, op1) && f_iszero(N, op2)) ||
                                (f_iszero(N, op1) && f_isinf(N, op2)))) {
      cpu->fpsr |= FPSR_IOC;
      r = f_default_nan(N);
    }
    return r;
  }
  return arith_host(cpu, N, FOP_FMA, addend, op1, op2);
}

uint64_t fp_minmax(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b, bool max,
                   bool nm) {
  a = f_flush(cpu, N, a);
  b = f_flush(cpu, N, b);
  if (nm) {
    bool an = f_isnan(N, a), bn = f_isnan(N, b);
    if (f_isqnan(N, a) && !bn)
      a = f_inf(N, max);
    else if (!an && f_isqnan(N, b))
      b = f_inf(N, max); /* max: a lone quiet NaN is -Inf; min: +Inf */
  }
  if (f_isnan(N, a) || f_isnan(N, b))
    return f_pick_nan2(cpu, N, a, b);
  if (f_iszero(N, a) && f_iszero(N, b)) {
    bool sa = a & fmt_sign(N), sb = b & fmt_sign(N);
    return f_zero(N, max ? (sa && sb) : (sa || sb));
  }
  double va = f_value(N, a), vb = f_value(N, b);
  if (max)
    return va > vb ? a : b;
  return va < vb ? a : b;
}

uint32_t fp_compare(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b,
                    bool signal) {
  a = f_flush(cpu, N, a);
  b = f_flush(cpu, N, b);
  if (f_isnan(N, a) || f_isnan(N, b)) {
    if (signal || f_issnan(N, a) || f_issnan(N, b))
      cpu->fpsr |= FPSR_IOC;
    return EMU_C | EMU_V;
  }
  double va = f_value(N, a), vb = f_value(N, b);
  if (va == vb)
    return EMU_Z | EMU_C;
  if (va < vb)
    return EMU_N;
  return EMU_C;
}

bool fp_cmp_eq(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b) {
  a = f_flush(cpu, N, a);
  b = f_flush(cpu, N, b);
  if (f_isnan(N, a) || f_isnan(N, b)) {
    if (f_issnan(N, a) || f_issnan(N, b))
      cpu->fpsr |= FPSR_IOC;
    return false;
  }
  return f_value(N, a) == f_value(N, b);
}

bool fp_cmp_ge(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b) {
  a = f_flush(cpu, N, a);
  b = f_flush(cpu, N, b);
  if (f_isnan(N, a) || f_isnan(N, b)) {
    cpu->fpsr |= FPSR_IOC;
    return false;
  }
  return f_value(N, a) >= f_value(N, b);
}

bool fp_cmp_gt(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b) {
  a = f_flush(cpu, N, a);
  b = f_flush(cpu, N, b);
  if (f_isnan(N, a) || f_isnan(N, b)) {
    cpu->fpsr |= FPSR_IOC;
    return false;
  }
  return f_value(N, a) > f_value(N, b);
}

/* Rounds the magnitude mant * 2^exp (exp < 0) to an integer under rmode for
 * a value of the given sign; *inexact tells whether bits were dropped. */
static unsigned __int128 round_mag(uint64_t mant, int exp, bool sign, int rmode,
                                   bool *inexact) {
  if (exp >= 0) {
    *inexact = false;
    return (unsigned __int128)mant << exp;
  }
  int sh = -exp;
  uint64_t ip, rem, half;
  int cat;
  if (sh >= 64) {
    ip = 0;
    cat = sh > 64 ? 1
                  : (mant < (1ull << 63)    ? 1
                     : mant == (1ull << 63) ? 2
                                            : 3);
    if (mant == 0)
      cat = 0;
  } else {
    ip = mant >> sh;
    rem = mant & ((1ull << sh) - 1);
    half = 1ull << (sh - 1);
    cat = rem == 0 ? 0 : rem < half ? 1 : rem == half ? 2 : 3;
  }
  bool up = false;
  switch (rmode) {
  case FPR_TIEEVEN:
    up = cat == 3 || (cat == 2 && (ip & 1));
    break;
  case FPR_POSINF:
    up = cat != 0 && !sign;
    break;
  case FPR_NEGINF:
    up = cat != 0 && sign;
    break;
  case FPR_ZERO:
    break;
  case FPR_TIEAWAY:
    up = cat >= 2;
    break;
  }
  *inexact = cat != 0;
  return (unsigned __int128)ip + up;
}

uint64_t fp_round_int(struct emu_cpu *cpu, int N, uint64_t a, int rmode,
                      bool exact) {
  rmode = f_rmode(cpu, rmode);
  a = f_flush(cpu, N, a);
  if (f_isnan(N, a))
    return f_proc_nan(cpu, N, a);
  if (f_isinf(N, a) || f_iszero(N, a))
    return a;
  uint64_t mant;
  int exp;
  f_decompose(N, a, &mant, &exp);
  if (exp >= 0)
    return a; /* already integral */
  bool sign = a & fmt_sign(N), inexact;
  uint64_t m = (uint64_t)round_mag(mant, exp, sign, rmode, &inexact);
  if (inexact && exact)
    cpu->fpsr |= FPSR_IXC;
  if (m == 0)
    return f_zero(N, sign);
  /* exact (m has at most F+1 significant bits): raises nothing */
  return f_round(cpu, N, sign, m, 0, FPR_ZERO, false);
}

uint64_t fp_to_fixed(struct emu_cpu *cpu, int N, uint64_t a, int fbits,
                     bool is_unsigned, int M, int rmode) {
  rmode = f_rmode(cpu, rmode);
  a = f_flush(cpu, N, a);
  uint64_t umax = M == 64 ? ~0ull : (1ull << M) - 1;
  uint64_t smax = umax >> 1;
  if (f_isnan(N, a)) {
    cpu->fpsr |= FPSR_IOC;
    return 0;
  }
  bool sign = a & fmt_sign(N);
  if (f_iszero(N, a))
    return 0;
  unsigned __int128 mag;
  bool inexact = false, ovf = false;
  if (f_isinf(N, a)) {
    ovf = true;
    mag = 0;
  } else {
    uint64_t mant;
    int exp;
    f_decompose(N, a, &mant, &exp);
    exp += fbits;
    if (exp >= 0 && exp + (64 - __builtin_clzll(mant)) > 65)
      ovf = true, mag = 0;
    else
      mag = round_mag(mant, exp, sign, rmode, &inexact);
  }
  uint64_t res;
  if (!ovf) {
    if (is_unsigned) {
      if (sign && mag != 0)
        ovf = true;
      else if (mag > umax)
        ovf = true;
      else
        res = (uint64_t)mag;
    } else {
      if (!sign && mag > smax)
        ovf = true;
      else if (sign && mag > (unsigned __int128)smax + 1)
        ovf = true;
      else
        res = sign ? (uint64_t)(-(uint64_t)mag) & umax : (uint64_t)mag;
    }
  }
  if (ovf) {
    cpu->fpsr |= FPSR_IOC;
    if (is_unsigned)
      return sign ? 0 : umax;
    return sign ? (smax + 1) & umax : smax;
  }
  if (inexact)
    cpu->fpsr |= FPSR_IXC;
  return res;
}

uint64_t fp_from_fixed(struct emu_cpu *cpu, int N, uint64_t val, int M,
                       int fbits, bool is_unsigned, int rmode) {
  rmode = f_rmode(cpu, rmode);
  uint64_t umask = M == 64 ? ~0ull : (1ull << M) - 1;
  val &= umask;
  bool sign = false;
  if (!is_unsigned && (val >> (M - 1)) & 1) {
    sign = true;
    val = (-val) & umask;
  }
  if (val == 0)
    return 0;
  return f_round(cpu, N, sign, val, -fbits, rmode,
                 N != 16 && (cpu->fpcr & FPCR_FZ));
}

uint64_t fp_convert(struct emu_cpu *cpu, int to, int from, uint64_t a,
                    int rmode) {
  rmode = f_rmode(cpu, rmode);
  a = f_flush(cpu, from, a);
  bool sign = a & fmt_sign(from);
  bool ahp = cpu->fpcr & FPCR_AHP;
  if (ahp && from == 16) {
    /* alternative half precision input: no infinities or NaNs */
    if (f_iszero(16, a))
      return f_zero(to, sign);
    uint64_t mant;
    int exp;
    f_decompose(16, a, &mant, &exp);
    return f_round(cpu, to, sign, mant, exp, rmode, cpu->fpcr & FPCR_FZ);
  }
  if (ahp && to == 16) {
    if (f_isnan(from, a)) {
      cpu->fpsr |= FPSR_IOC;
      return f_zero(16, sign);
    }
    if (f_isinf(from, a)) {
      cpu->fpsr |= FPSR_IOC;
      return (sign ? 0x8000u : 0) | 0x7fffu;
    }
    if (f_iszero(from, a))
      return f_zero(16, sign);
    uint64_t mant;
    int exp;
    f_decompose(from, a, &mant, &exp);
    return f_round_ex(cpu, 16, sign, mant, exp, rmode, false, true);
  }
  if (f_isnan(from, a)) {
    if (f_issnan(from, a))
      cpu->fpsr |= FPSR_IOC;
    if (cpu->fpcr & FPCR_DN)
      return f_default_nan(to);
    /* FPConvertNaN: keep the sign and the top of the payload, quiet it */
    uint64_t frac = a & fmt_fracmask(from);
    int d = fmt_F(to) - fmt_F(from);
    frac = d >= 0 ? frac << d : frac >> -d;
    return (sign ? fmt_sign(to) : 0) | fmt_expmask(to) |
           (1ull << (fmt_F(to) - 1)) | (frac & fmt_fracmask(to));
  }
  if (f_isinf(from, a))
    return f_inf(to, sign);
  if (f_iszero(from, a))
    return f_zero(to, sign);
  uint64_t mant;
  int exp;
  f_decompose(from, a, &mant, &exp);
  return f_round(cpu, to, sign, mant, exp, rmode,
                 to != 16 && (cpu->fpcr & FPCR_FZ));
}

/* ---- reciprocal estimates and steps ---------------------------------------
 */

static unsigned recip_estimate(unsigned a) {
  a = a * 2 + 1;
  unsigned b = (1u << 19) / a;
  return (b + 1) / 2;
}

static unsigned rsqrt_estimate(unsigned a) {
  if (a < 256)
    a = a * 2 + 1;
  else {
    a = (a >> 1) << 1;
    a = (a + 1) * 2;
  }
  unsigned b = 512;
  while ((uint64_t)a * (b + 1) * (b + 1) < (1ull << 28))
    b++;
  return (b + 1) / 2;
}

uint64_t fp_recip_estimate(struct emu_cpu *cpu, int N, uint64_t a) {
  a = f_flush(cpu, N, a);
  bool sign = a & fmt_sign(N);
  if (f_isnan(N, a))
    return f_proc_nan(cpu, N, a);
  if (f_isinf(N, a))
    return f_zero(N, sign);
  if (f_iszero(N, a)) {
    cpu->fpsr |= FPSR_DZC;
    return f_inf(N, sign);
  }
  int F = fmt_F(N), E = fmt_E(N);
  double av = fabs(f_value(N, a));
  if ((N == 32 && av < ldexp(1.0, -128)) ||
      (N == 64 && av < ldexp(1.0, -1024))) {
    bool to_inf;
    switch (fp_fpcr_rmode(cpu)) {
    case FPR_TIEEVEN:
      to_inf = true;
      break;
    case FPR_POSINF:
      to_inf = !sign;
      break;
    case FPR_NEGINF:
      to_inf = sign;
      break;
    default:
      to_inf = false;
      break;
    }
    cpu->fpsr |= FPSR_OFC | FPSR_IXC;
    return to_inf ? f_inf(N, sign) : f_maxnormal(N, sign);
  }
  if ((cpu->fpcr & FPCR_FZ) && ((N == 32 && av >= ldexp(1.0, 126)) ||
                                (N == 64 && av >= ldexp(1.0, 1022)))) {
    cpu->fpsr |= FPSR_UFC;
    return f_zero(N, sign);
  }
  int exp = (int)((a & fmt_expmask(N)) >> F);
  uint64_t fraction = (a & fmt_fracmask(N)) << (52 - F);
  if (exp == 0) {
    if (!((fraction >> 51) & 1)) {
      exp = -1;
      fraction = (fraction << 2) & ((1ull << 52) - 1);
    } else {
      fraction = (fraction << 1) & ((1ull << 52) - 1);
    }
  }
  unsigned scaled = 256 | (unsigned)((fraction >> 44) & 0xff);
  int result_exp = (N == 32 ? 253 : 2045) - exp;
  unsigned est = recip_estimate(scaled);
  fraction = (uint64_t)(est & 0xff) << 44;
  if (result_exp == 0) {
    fraction = (1ull << 51) | (fraction >> 1);
  } else if (result_exp == -1) {
    fraction = (1ull << 50) | (fraction >> 2);
    result_exp = 0;
  }
  return (sign ? fmt_sign(N) : 0) |
         (((uint64_t)result_exp & ((1ull << E) - 1)) << F) |
         (fraction >> (52 - F));
}

uint64_t fp_rsqrt_estimate(struct emu_cpu *cpu, int N, uint64_t a) {
  a = f_flush(cpu, N, a);
  bool sign = a & fmt_sign(N);
  if (f_isnan(N, a))
    return f_proc_nan(cpu, N, a);
  if (f_iszero(N, a)) {
    cpu->fpsr |= FPSR_DZC;
    return f_inf(N, sign);
  }
  if (sign) {
    cpu->fpsr |= FPSR_IOC;
    return f_default_nan(N);
  }
  if (f_isinf(N, a))
    return 0;
  int F = fmt_F(N), E = fmt_E(N);
  int exp = (int)((a & fmt_expmask(N)) >> F);
  uint64_t fraction = (a & fmt_fracmask(N)) << (52 - F);
  const uint64_t m52 = (1ull << 52) - 1;
  if (exp == 0) {
    while (!((fraction >> 51) & 1)) {
      fraction = (fraction << 1) & m52;
      exp--;
    }
    fraction = (fraction << 1) & m52;
  }
  unsigned scaled;
  if (!(exp & 1))
    scaled = 256 | (unsigned)((fraction >> 44) & 0xff);
  else
    scaled = 128 | (unsigned)((fraction >> 45) & 0x7f);
  int result_exp = ((N == 32 ? 380 : 3068) - exp) / 2;
  unsigned est = rsqrt_estimate(scaled);
  return (((uint64_t)result_exp & ((1ull << E) - 1)) << F) |
         ((uint64_t)(est & 0xff) << (F - 8));
}

static uint64_t f_const(int N, double v) {
  if (N == 64) {
    uint64_t u;
    memcpy(&u, &v, 8);
    return u;
  }
  float f = (float)v;
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

uint64_t fp_recip_step(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b) {
  a = fp_neg(N, a);
  a = f_flush(cpu, N, a);
  b = f_flush(cpu, N, b);
  if (f_isnan(N, a) || f_isnan(N, b))
    return f_pick_nan2(cpu, N, a, b);
  bool ia = f_isinf(N, a), ib = f_isinf(N, b);
  bool za = f_iszero(N, a), zb = f_iszero(N, b);
  if ((ia && zb) || (za && ib))
    return f_const(N, 2.0);
  if (ia || ib)
    return f_inf(N, ((a ^ b) & fmt_sign(N)) != 0);
  return arith_host(cpu, N, FOP_FMA, f_const(N, 2.0), a, b);
}

uint64_t fp_rsqrt_step(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b) {
  a = fp_neg(N, a);
  a = f_flush(cpu, N, a);
  b = f_flush(cpu, N, b);
  if (f_isnan(N, a) || f_isnan(N, b))
    return f_pick_nan2(cpu, N, a, b);
  bool ia = f_isinf(N, a), ib = f_isinf(N, b);
  bool za = f_iszero(N, a), zb = f_iszero(N, b);
  if ((ia && zb) || (za && ib))
    return f_const(N, 1.5);
  if (ia || ib)
    return f_inf(N, ((a ^ b) & fmt_sign(N)) != 0);
  /* (3 + a*b) / 2 with one rounding: halve a exactly when it is normal
   * with room in the exponent, else halve the fused result. */
  uint64_t ea = (a & fmt_expmask(N)) >> fmt_F(N);
  if (ea > 1)
    return arith_host(cpu, N, FOP_FMA, f_const(N, 1.5), a - (1ull << fmt_F(N)),
                      b);
  uint64_t r = arith_host(cpu, N, FOP_FMA, f_const(N, 3.0), a, b);
  return arith_host(cpu, N, FOP_MUL, r, f_const(N, 0.5), 0);
}

uint32_t fp_urecpe(uint32_t a) {
  if (!(a >> 31))
    return 0xffffffffu;
  return (uint32_t)recip_estimate(a >> 23) << 23;
}

uint32_t fp_ursqrte(uint32_t a) {
  if (!(a >> 30))
    return 0xffffffffu;
  return (uint32_t)rsqrt_estimate(a >> 23) << 23;
}

uint64_t fp_mulx(struct emu_cpu *cpu, int N, uint64_t a, uint64_t b) {
  a = f_flush(cpu, N, a);
  b = f_flush(cpu, N, b);
  if (f_isnan(N, a) || f_isnan(N, b))
    return f_pick_nan2(cpu, N, a, b);
  if ((f_isinf(N, a) && f_iszero(N, b)) || (f_iszero(N, a) && f_isinf(N, b)))
    return f_const(N, 2.0) | ((a ^ b) & fmt_sign(N));
  return arith_host(cpu, N, FOP_MUL, a, b, 0);
}

uint64_t fp_recpx(struct emu_cpu *cpu, int N, uint64_t a) {
  a = f_flush(cpu, N, a);
  if (f_isnan(N, a))
    return f_proc_nan(cpu, N, a);
  int F = fmt_F(N);
  uint64_t expf = (a & fmt_expmask(N)) >> F;
  uint64_t emax = (1ull << fmt_E(N)) - 1;
  uint64_t e = expf == 0 ? emax - 1 : (~expf & emax);
  return (a & fmt_sign(N)) | (e << F);
}

uint64_t fp_expand_imm(int N, uint8_t imm8) {
  int E = fmt_E(N), F = fmt_F(N);
  uint64_t sign = imm8 >> 7;
  uint64_t b6 = (imm8 >> 6) & 1;
  uint64_t exp = ((b6 ^ 1) << (E - 1)) |
                 ((b6 ? (1ull << (E - 3)) - 1 : 0) << 2) | ((imm8 >> 4) & 3);
  uint64_t frac = (uint64_t)(imm8 & 15) << (F - 4);
  return (sign << (N - 1)) | (exp << F) | frac;
}
