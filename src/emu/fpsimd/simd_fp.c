/* simd_fp.c — AdvSIMD floating-point instructions, vector and scalar
 * forms: three same (arithmetic, FMLA/FMLS, FMULX, compares incl.
 * absolute, min/max(NM), pairwise, FRECPS/FRSQRTS, FABD), two-register
 * misc (FRINT*, FCVT[NPMZA][SU], [SU]CVTF, FCVTN/FCVTL/FCVTXN, FABS, FNEG,
 * FSQRT, compares with zero, FRECPE/FRSQRTE/FRECPX, URECPE/URSQRTE),
 * across lanes (FMAXV/FMINV/FMAXNMV/FMINNMV), scalar pairwise, fixed-point
 * conversions by immediate and multiply by element. Semantics per element
 * come from fp_core.c.
 *
 * Operand fields: rd/rn/rm = V registers, c = N (32/64), b = bytes of the
 * operation (8/16, or the element size for scalar forms), a = operation,
 * imm = element index / fbits, imm2 = rounding mode / flags.
 *
 * Runs on the vCPU thread; no shared state.
 */
#include <math.h>

#include "emu/decode.h"
#include "fpsimd_int.h"

static inline uint64_t eget(const emu_vreg *v, int N, unsigned i) {
  return N == 64 ? v->d[i] : N == 32 ? v->s[i] : v->h[i];
}
static inline void eset(emu_vreg *v, int N, unsigned i, uint64_t x) {
  if (N == 64)
    v->d[i] = x;
  else if (N == 32)
    v->s[i] = (uint32_t)x;
  else
    v->h[i] = (uint16_t)x;
}
static inline uint64_t ones(int N, bool c) {
  return c ? (N == 64 ? ~0ull : (1ull << N) - 1) : 0;
}

/* ---- three same ---------------------------------------------------------- */

enum {
  F_MAXNM,
  F_MLA,
  F_ADD,
  F_MULX,
  F_CMEQ,
  F_X5,
  F_MAX,
  F_RECPS,
  F_MINNM,
  F_MLS,
  F_SUB,
  F_X11,
  F_X12,
  F_X13,
  F_MIN,
  F_RSQRTS,
  F_MAXNMP,
  F_X17,
  F_ADDP,
  F_MUL,
  F_CMGE,
  F_ACGE,
  F_MAXP,
  F_DIV,
  F_MINNMP,
  F_X25,
  F_ABD,
  F_X27,
  F_CMGT,
  F_ACGT,
  F_MINP,
  F_X31
};

static uint64_t f3(struct emu_cpu *cpu, int N, unsigned op, uint64_t a,
                   uint64_t b, uint64_t d) {
  switch (op) {
  case F_MAXNM:
  case F_MAXNMP:
    return fp_minmax(cpu, N, a, b, true, true);
  case F_MINNM:
  case F_MINNMP:
    return fp_minmax(cpu, N, a, b, false, true);
  case F_MAX:
  case F_MAXP:
    return fp_minmax(cpu, N, a, b, true, false);
  case F_MIN:
  case F_MINP:
    return fp_minmax(cpu, N, a, b, false, false);
  case F_MLA:
    return fp_muladd(cpu, N, d, a, b);
  case F_MLS:
    return fp_muladd(cpu, N, d, fp_neg(N, a), b);
  case F_ADD:
  case F_ADDP:
    return fp_arith(cpu, N, FOP_ADD, a, b);
  case F_SUB:
    return fp_arith(cpu, N, FOP_SUB, a, b);
  case F_MUL:
    return fp_arith(cpu, N, FOP_MUL, a, b);
  case F_DIV:
    return fp_arith(cpu, N, FOP_DIV, a, b);
  case F_MULX:
    return fp_mulx(cpu, N, a, b);
  case F_ABD:
    return fp_abs(N, fp_arith(cpu, N, FOP_SUB, a, b));
  case F_CMEQ:
    return ones(N, fp_cmp_eq(cpu, N, a, b));
  case F_CMGE:
    return ones(N, fp_cmp_ge(cpu, N, a, b));
  case F_CMGT:
    return ones(N, fp_cmp_gt(cpu, N, a, b));
  case F_ACGE:
    return ones(N, fp_cmp_ge(cpu, N, fp_abs(N, a), fp_abs(N, b)));
  case F_ACGT:
    return ones(N, fp_cmp_gt(cpu, N, fp_abs(N, a), fp_abs(N, b)));
  case F_RECPS:
    return fp_recip_step(cpu, N, a, b);
  case F_RSQRTS:
    return fp_rsqrt_step(cpu, N, a, b);
  }
  return 0;
}

static FPS_HANDLER(h_f3) {
  const emu_vreg n = cpu->v[in->rn], m = cpu->v[in->rm], d = cpu->v[in->rd];
  emu_vreg r;
  int N = in->c;
  unsigned lanes = in->b / (N / 8);
  memset(&r, 0, sizeof r);
  for (unsigned i = 0; i < lanes; i++)
    eset(&r, N, i,
         f3(cpu, N, in->a, eget(&n, N, i), eget(&m, N, i), eget(&d, N, i)));
  cpu->v[in->rd] = r;
  return in + 1;
}

/* Whole-vector fast path for FADD/FSUB/FMUL/FDIV (see fp_fast_env): the
 * host computes all lanes at once; if any used lane is not a plain
 * normal result the exact per-lane path redoes the instruction. */
typedef float f32v __attribute__((vector_size(16)));
typedef double f64v __attribute__((vector_size(16)));
#define FV(name, VT, N, OP)                                                    \
  static FPS_HANDLER(name) {                                                   \
    if (fp_fast_env(cpu)) {                                                    \
      VT n, m, r;                                                              \
      memcpy(&n, &cpu->v[in->rn], 16);                                         \
      memcpy(&m, &cpu->v[in->rm], 16);                                         \
      r = n OP m;                                                              \
      emu_vreg rv;                                                             \
      memcpy(&rv, &r, 16);                                                     \
      unsigned lanes = in->b / (N / 8);                                        \
      bool ok = true;                                                          \
      for (unsigned i = 0; i < lanes; i++)                                     \
        ok &= N == 32 ? fp_fast_res32(rv.s[i]) : fp_fast_res64(rv.d[i]);       \
      if (ok) {                                                                \
        if (in->b == 8)                                                        \
          rv.d[1] = 0;                                                         \
        cpu->v[in->rd] = rv;                                                   \
        return in + 1;                                                         \
      }                                                                        \
    }                                                                          \
    return h_f3(cpu, in);                                                      \
  }
FV(hf_add32, f32v, 32, +)
FV(hf_sub32, f32v, 32, -)
FV(hf_mul32, f32v, 32, *)
FV(hf_div32, f32v, 32, /)
FV(hf_add64, f64v, 64, +)
FV(hf_sub64, f64v, 64, -)
FV(hf_mul64, f64v, 64, *)
FV(hf_div64, f64v, 64, /)

/* FMLA fast path: one fused host multiply-add per lane. */
static FPS_HANDLER(hf_fmla) {
  if (fp_fast_env(cpu)) {
    const emu_vreg *n = &cpu->v[in->rn], *m = &cpu->v[in->rm];
    emu_vreg rv = cpu->v[in->rd];
    bool ok = true;
    if (in->c == 32) {
      for (unsigned i = 0; i < in->b / 4u; i++) {
        rv.f[i] = fmaf(n->f[i], m->f[i], rv.f[i]);
        ok &= fp_fast_res32(rv.s[i]);
      }
    } else {
      for (unsigned i = 0; i < 2; i++) {
        rv.df[i] = fma(n->df[i], m->df[i], rv.df[i]);
        ok &= fp_fast_res64(rv.d[i]);
      }
    }
    if (ok) {
      if (in->b == 8)
        rv.d[1] = 0;
      cpu->v[in->rd] = rv;
      return in + 1;
    }
  }
  return h_f3(cpu, in);
}

#if defined(__x86_64__)
/* The same with the host's FMA3 unit inlined (chosen at decode time when
 * the CPU has it); the fused result is identical. */
__attribute__((target("fma"))) static FPS_HANDLER(hf_fmla_fma3) {
  if (fp_fast_env(cpu)) {
    const emu_vreg *n = &cpu->v[in->rn], *m = &cpu->v[in->rm];
    emu_vreg rv = cpu->v[in->rd];
    bool ok = true;
    if (in->c == 32) {
      for (unsigned i = 0; i < 4; i++)
        rv.f[i] = __builtin_fmaf(n->f[i], m->f[i], rv.f[i]);
      for (unsigned i = 0; i < in->b / 4u; i++)
        ok &= fp_fast_res32(rv.s[i]);
    } else {
      for (unsigned i = 0; i < 2; i++) {
        rv.df[i] = __builtin_fma(n->df[i], m->df[i], rv.df[i]);
        ok &= fp_fast_res64(rv.d[i]);
      }
    }
    if (ok) {
      if (in->b == 8)
        rv.d[1] = 0;
      cpu->v[in->rd] = rv;
      return in + 1;
    }
  }
  return h_f3(cpu, in);
}
#endif

static FPS_HANDLER(h_f3_pair) {
  const emu_vreg n = cpu->v[in->rn], m = cpu->v[in->rm];
  emu_vreg r;
  int N = in->c;
  unsigned lanes = in->b / (N / 8);
  memset(&r, 0, sizeof r);
  for (unsigned i = 0; i < lanes; i++) {
    unsigned k = 2 * i;
    uint64_t a = k < lanes ? eget(&n, N, k) : eget(&m, N, k - lanes);
    uint64_t b =
        k + 1 < lanes ? eget(&n, N, k + 1) : eget(&m, N, k + 1 - lanes);
    eset(&r, N, i, f3(cpu, N, in->a, a, b, 0));
  }
  cpu->v[in->rd] = r;
  return in + 1;
}

/* Scalar pairwise: op on the two elements of Vn. */
static FPS_HANDLER(h_f_pair_scalar) {
  int N = in->c;
  const emu_vreg *n = &cpu->v[in->rn];
  uint64_t r = f3(cpu, N, in->a, eget(n, N, 0), eget(n, N, 1), 0);
  fps_set_scalar(cpu, in->rd, N, r);
  return in + 1;
}

static bool decode_f3(struct emu_insn *out, uint32_t raw, bool scalar) {
  unsigned U = (raw >> 29) & 1, Q = (raw >> 30) & 1;
  unsigned a = (raw >> 23) & 1, sz = (raw >> 22) & 1;
  unsigned op = (raw >> 11) & 31;
  if (op < 0x18)
    return false;
  unsigned k = (U << 4) | (a << 3) | (op & 7);
  int N = sz ? 64 : 32;
  if (!scalar && sz && !Q)
    return false;
  out->c = (uint8_t)N;
  out->b = scalar ? (uint8_t)(N / 8) : Q ? 16 : 8;
  out->a = (uint8_t)k;
  switch (k) {
  case F_X5:
  case F_X11:
  case F_X12:
  case F_X13:
  case F_X17:
  case F_X25:
  case F_X27:
  case F_X31:
    return false;
  }
  if (scalar) {
    switch (k) {
    case F_MULX:
    case F_CMEQ:
    case F_RECPS:
    case F_RSQRTS:
    case F_CMGE:
    case F_ACGE:
    case F_ABD:
    case F_CMGT:
    case F_ACGT:
      break;
    default:
      return false;
    }
  }
  switch (k) {
  case F_MAXNMP:
  case F_MINNMP:
  case F_ADDP:
  case F_MAXP:
  case F_MINP:
    out->fn = h_f3_pair;
    break;
  default:
    out->fn = h_f3;
  }
  if (!scalar) {
    bool d = N == 64;
    switch (k) {
    case F_ADD:
      out->fn = d ? hf_add64 : hf_add32;
      break;
    case F_SUB:
      out->fn = d ? hf_sub64 : hf_sub32;
      break;
    case F_MUL:
      out->fn = d ? hf_mul64 : hf_mul32;
      break;
    case F_DIV:
      out->fn = d ? hf_div64 : hf_div32;
      break;
    case F_MLA:
      out->fn = hf_fmla;
#if defined(__x86_64__)
      if (__builtin_cpu_supports("fma"))
        out->fn = hf_fmla_fma3;
#endif
      break;
    }
  }
  return true;
}

/* ---- two-register misc -------------------------------------------------- */

enum {
  M_RINT,
  M_CVT_TO_INT,
  M_CVTF,
  M_ABS,
  M_NEG,
  M_SQRT,
  M_CMGT0,
  M_CMEQ0,
  M_CMLT0,
  M_CMGE0,
  M_CMLE0,
  M_RECPE,
  M_RSQRTE,
  M_RECPX,
  M_URECPE,
  M_URSQRTE
};

/* a = kind; imm2 = rounding mode; imm = flags (1: unsigned, 2: exact). */
static FPS_HANDLER(h_f2) {
  const emu_vreg n = cpu->v[in->rn];
  emu_vreg r;
  int N = in->c;
  unsigned lanes = in->b / (N / 8);
  bool uns = in->imm & 1;
  int rm = (int)in->imm2;
  memset(&r, 0, sizeof r);
  for (unsigned i = 0; i < lanes; i++) {
    uint64_t a = eget(&n, N, i), v = 0;
    switch (in->a) {
    case M_RINT:
      v = fp_round_int(cpu, N, a, rm, in->imm & 2);
      break;
    case M_CVT_TO_INT:
      v = fp_to_fixed(cpu, N, a, 0, uns, N, rm);
      break;
    case M_CVTF:
      v = fp_from_fixed(cpu, N, a, N, 0, uns, FPR_FPCR);
      break;
    case M_ABS:
      v = fp_abs(N, a);
      break;
    case M_NEG:
      v = fp_neg(N, a);
      break;
    case M_SQRT:
      v = fp_arith(cpu, N, FOP_SQRT, a, 0);
      break;
    case M_CMGT0:
      v = ones(N, fp_cmp_gt(cpu, N, a, 0));
      break;
    case M_CMEQ0:
      v = ones(N, fp_cmp_eq(cpu, N, a, 0));
      break;
    case M_CMLT0:
      v = ones(N, fp_cmp_gt(cpu, N, 0, a));
      break;
    case M_CMGE0:
      v = ones(N, fp_cmp_ge(cpu, N, a, 0));
      break;
    case M_CMLE0:
      v = ones(N, fp_cmp_ge(cpu, N, 0, a));
      break;
    case M_RECPE:
      v = fp_recip_estimate(cpu, N, a);
      break;
    case M_RSQRTE:
      v = fp_rsqrt_estimate(cpu, N, a);
      break;
    case M_RECPX:
      v = fp_recpx(cpu, N, a);
      break;
    case M_URECPE:
      v = fp_urecpe((uint32_t)a);
      break;
    case M_URSQRTE:
      v = fp_ursqrte((uint32_t)a);
      break;
    }
    eset(&r, N, i, v);
  }
  cpu->v[in->rd] = r;
  return in + 1;
}

/* FCVTN/FCVTXN (narrow; c = destination width, part = imm) and FCVTL
 * (widen; c = source width). */
static FPS_HANDLER(h_fcvtn) {
  const emu_vreg n = cpu->v[in->rn];
  emu_vreg r = cpu->v[in->rd];
  int to = in->c, from = 2 * to;
  unsigned lanes = 64 / to, part = (unsigned)in->imm;
  if (in->b == 0) { /* scalar FCVTXN */
    lanes = 1;
    part = 0;
  }
  if (!part)
    memset(&r, 0, sizeof r);
  else
    r.d[1] = 0;
  for (unsigned i = 0; i < lanes; i++)
    eset(&r, to, i + part * lanes,
         fp_convert(cpu, to, from, eget(&n, from, i), (int)in->imm2));
  cpu->v[in->rd] = r;
  return in + 1;
}
static FPS_HANDLER(h_fcvtl) {
  const emu_vreg n = cpu->v[in->rn];
  emu_vreg r;
  int from = in->c, to = 2 * from;
  unsigned lanes = 64 / from, part = (unsigned)in->imm;
  memset(&r, 0, sizeof r);
  for (unsigned i = 0; i < lanes; i++)
    eset(&r, to, i,
         fp_convert(cpu, to, from, eget(&n, from, i + part * lanes), FPR_FPCR));
  cpu->v[in->rd] = r;
  return in + 1;
}

static bool decode_f2(struct emu_insn *out, uint32_t raw, bool scalar) {
  unsigned U = (raw >> 29) & 1, Q = (raw >> 30) & 1;
  unsigned a = (raw >> 23) & 1, sz = (raw >> 22) & 1;
  unsigned op = (raw >> 12) & 31;
  int N = sz ? 64 : 32;
  out->imm = 0;
  out->imm2 = FPR_FPCR;
  if (op == 0x16 || op == 0x17) { /* FCVTN, FCVTXN, FCVTL */
    if (a)
      return false;
    if (op == 0x16) {
      if (U && !sz)
        return false; /* FCVTXN is from double only */
      if (scalar && !U)
        return false;
      out->c = sz ? 32 : 16;
      out->imm = Q;
      out->b = scalar ? 0 : 1;
      out->imm2 = U ? FPR_ODD : FPR_FPCR;
      out->fn = h_fcvtn;
      return true;
    }
    if (scalar || U)
      return false;
    out->c = sz ? 32 : 16;
    out->imm = Q;
    out->fn = h_fcvtl;
    return true;
  }
  if (!scalar && sz && !Q)
    return false;
  out->c = (uint8_t)N;
  out->b = scalar ? (uint8_t)(N / 8) : Q ? 16 : 8;
  unsigned k = (U << 6) | (a << 5) | op;
  static const uint8_t cvt_rm[4] = {FPR_TIEEVEN, FPR_NEGINF, FPR_POSINF,
                                    FPR_ZERO};
  switch (k) {
  case 0x18:
  case 0x19:
  case 0x38:
  case 0x39:
  case 0x58:
  case 0x59:
  case 0x79: /* FRINTN/M, FRINTP/Z, FRINTA/X, FRINTI */
    if (scalar)
      return false;
    out->a = M_RINT;
    switch (k) {
    case 0x18:
      out->imm2 = FPR_TIEEVEN;
      break;
    case 0x19:
      out->imm2 = FPR_NEGINF;
      break;
    case 0x38:
      out->imm2 = FPR_POSINF;
      break;
    case 0x39:
      out->imm2 = FPR_ZERO;
      break;
    case 0x58:
      out->imm2 = FPR_TIEAWAY;
      break;
    case 0x59:
      out->imm2 = FPR_FPCR, out->imm = 2;
      break;
    default:
      out->imm2 = FPR_FPCR;
      break;
    }
    break;
  case 0x1a:
  case 0x1b:
  case 0x3a:
  case 0x3b:
  case 0x5a:
  case 0x5b:
  case 0x7a:
  case 0x7b:
    /* FCVTNS/MS/PS/ZS and the U forms: a:op<0> selects the mode */
    out->a = M_CVT_TO_INT;
    out->imm = U;
    out->imm2 = cvt_rm[(a << 1) | (op & 1)];
    break;
  case 0x1c:
  case 0x5c: /* FCVTAS / FCVTAU */
    out->a = M_CVT_TO_INT;
    out->imm = U;
    out->imm2 = FPR_TIEAWAY;
    break;
  case 0x1d:
  case 0x5d:
    out->a = M_CVTF;
    out->imm = U;
    break;
  case 0x2c:
    out->a = M_CMGT0;
    break;
  case 0x2d:
    out->a = M_CMEQ0;
    break;
  case 0x2e:
    out->a = M_CMLT0;
    break;
  case 0x6c:
    out->a = M_CMGE0;
    break;
  case 0x6d:
    out->a = M_CMLE0;
    break;
  case 0x2f:
  case 0x6f:
  case 0x7f:
    if (scalar)
      return false;
    out->a = k == 0x2f ? M_ABS : k == 0x6f ? M_NEG : M_SQRT;
    break;
  case 0x3d:
    out->a = M_RECPE;
    break;
  case 0x7d:
    out->a = M_RSQRTE;
    break;
  case 0x3f:
    if (!scalar)
      return false;
    out->a = M_RECPX;
    break;
  case 0x3c:
  case 0x7c:
    if (scalar || sz)
      return false;
    out->a = k == 0x3c ? M_URECPE : M_URSQRTE;
    break;
  default:
    return false;
  }
  out->fn = h_f2;
  return true;
}

/* ---- across lanes ---------------------------------------------------------
 */

static FPS_HANDLER(h_f_across) {
  const emu_vreg *n = &cpu->v[in->rn];
  bool max = in->a & 1, nm = in->a & 2;
  uint64_t x0 = fp_minmax(cpu, 32, n->s[0], n->s[1], max, nm);
  uint64_t x1 = fp_minmax(cpu, 32, n->s[2], n->s[3], max, nm);
  fps_set_scalar(cpu, in->rd, 32, fp_minmax(cpu, 32, x0, x1, max, nm));
  return in + 1;
}

static bool decode_f_across(struct emu_insn *out, uint32_t raw) {
  unsigned U = (raw >> 29) & 1, Q = (raw >> 30) & 1;
  unsigned a = (raw >> 23) & 1, sz = (raw >> 22) & 1;
  unsigned op = (raw >> 12) & 31;
  if (op != 0x0c && op != 0x0f)
    return false;
  if (!U || !Q || sz)
    return false;
  out->a = (uint8_t)((a ? 0 : 1) | (op == 0x0c ? 2 : 0));
  out->fn = h_f_across;
  return true;
}

static bool decode_f_pair_scalar(struct emu_insn *out, uint32_t raw) {
  unsigned U = (raw >> 29) & 1, a = (raw >> 23) & 1, sz = (raw >> 22) & 1;
  unsigned op = (raw >> 12) & 31;
  if (!U)
    return false;
  out->c = sz ? 64 : 32;
  switch (op) {
  case 0x0c:
    out->a = a ? F_MINNMP : F_MAXNMP;
    break;
  case 0x0d:
    if (a)
      return false;
    out->a = F_ADDP;
    break;
  case 0x0f:
    out->a = a ? F_MINP : F_MAXP;
    break;
  default:
    return false;
  }
  out->fn = h_f_pair_scalar;
  return true;
}

/* ---- fixed-point conversions by immediate ------------------------------- */

static FPS_HANDLER(h_fcvt_fixed) {
  const emu_vreg n = cpu->v[in->rn];
  emu_vreg r;
  int N = in->c;
  unsigned lanes = in->b / (N / 8);
  bool uns = in->imm2 & 1, to_int = in->imm2 & 2;
  memset(&r, 0, sizeof r);
  for (unsigned i = 0; i < lanes; i++) {
    uint64_t a = eget(&n, N, i);
    eset(&r, N, i,
         to_int ? fp_to_fixed(cpu, N, a, (int)in->imm, uns, N, FPR_ZERO)
                : fp_from_fixed(cpu, N, a, N, (int)in->imm, uns, FPR_FPCR));
  }
  cpu->v[in->rd] = r;
  return in + 1;
}

static bool decode_f_shift(struct emu_insn *out, uint32_t raw, bool scalar) {
  unsigned U = (raw >> 29) & 1, Q = (raw >> 30) & 1;
  unsigned immh = (raw >> 19) & 15, immb = (raw >> 16) & 7;
  unsigned op = (raw >> 11) & 31;
  if (op != 0x1c && op != 0x1f)
    return false;
  int N;
  if (immh & 8)
    N = 64;
  else if (immh & 4)
    N = 32;
  else
    return false; /* half precision needs FEAT_FP16 */
  if (!scalar && N == 64 && !Q)
    return false;
  out->c = (uint8_t)N;
  out->b = scalar ? (uint8_t)(N / 8) : Q ? 16 : 8;
  out->imm = 2 * (unsigned)N - ((immh << 3) | immb);
  out->imm2 = U | (op == 0x1f ? 2 : 0);
  out->fn = h_fcvt_fixed;
  return true;
}

/* ---- multiply by element ------------------------------------------------- */

static FPS_HANDLER(h_f_elem) {
  const emu_vreg n = cpu->v[in->rn], d = cpu->v[in->rd];
  emu_vreg r;
  int N = in->c;
  unsigned lanes = in->b / (N / 8);
  uint64_t b = eget(&cpu->v[in->rm], N, (unsigned)in->imm);
  memset(&r, 0, sizeof r);
  for (unsigned i = 0; i < lanes; i++)
    eset(&r, N, i, f3(cpu, N, in->a, eget(&n, N, i), b, eget(&d, N, i)));
  cpu->v[in->rd] = r;
  return in + 1;
}

static bool decode_f_elem(struct emu_insn *out, uint32_t raw, bool scalar) {
  unsigned U = (raw >> 29) & 1, Q = (raw >> 30) & 1;
  unsigned size = (raw >> 22) & 3, L = (raw >> 21) & 1, H = (raw >> 11) & 1;
  unsigned op = (raw >> 12) & 15;
  if (!(size & 2))
    return false;
  int N = (size & 1) ? 64 : 32;
  switch (op) {
  case 1:
    if (U)
      return false;
    out->a = F_MLA;
    break;
  case 5:
    if (U)
      return false;
    out->a = F_MLS;
    break;
  case 9:
    out->a = U ? F_MULX : F_MUL;
    break;
  default:
    return false;
  }
  if (N == 64) {
    if (L || (!scalar && !Q))
      return false;
    out->imm = H;
  } else {
    out->imm = (H << 1) | L;
  }
  out->rm = (raw >> 16) & 31;
  out->c = (uint8_t)N;
  out->b = scalar ? (uint8_t)(N / 8) : Q ? 16 : 8;
  out->fn = h_f_elem;
  return true;
}

/* ---- decode functions (isa/simd.decode, floating-point classes) -----------
 * The generator has matched the instruction's pattern and set out->op;
 * the class decoders above resolve sz/q (reserved combinations are
 * UNDEFINED) and pick the handler. */

int emu_dec_simd_f3(struct emu_insn *out, const struct emu_args_simd *a) {
  (void)a;
  simd_prep(out);
  return decode_f3(out, out->raw, simd_scalar(out)) ? DEC_OK : DEC_UNDEF;
}

int emu_dec_simd_f2(struct emu_insn *out, const struct emu_args_simd *a) {
  (void)a;
  simd_prep(out);
  return decode_f2(out, out->raw, simd_scalar(out)) ? DEC_OK : DEC_UNDEF;
}

int emu_dec_simd_f_across(struct emu_insn *out, const struct emu_args_simd *a) {
  (void)a;
  simd_prep(out);
  return decode_f_across(out, out->raw) ? DEC_OK : DEC_UNDEF;
}

int emu_dec_simd_f_pair(struct emu_insn *out, const struct emu_args_simd *a) {
  (void)a;
  simd_prep(out);
  return decode_f_pair_scalar(out, out->raw) ? DEC_OK : DEC_UNDEF;
}

int emu_dec_simd_f_shift(struct emu_insn *out,
                         const struct emu_args_simd_sh *a) {
  simd_prep(out);
  if (a->immh == 0) /* vector: modified immediate (above it in the group) */
    return DEC_UNDEF;
  return decode_f_shift(out, out->raw, simd_scalar(out)) ? DEC_OK : DEC_UNDEF;
}

int emu_dec_simd_f_elem(struct emu_insn *out,
                        const struct emu_args_simd_el *a) {
  (void)a;
  simd_prep(out);
  return decode_f_elem(out, out->raw, simd_scalar(out)) ? DEC_OK : DEC_UNDEF;
}
