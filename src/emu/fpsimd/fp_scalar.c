/* fp_scalar.c — decoder and handlers of the scalar floating-point
 * data-processing classes of A64: 1/2/3-source arithmetic, compares
 * (FCMP/FCMPE/FCCMP/FCCMPE), FCSEL, FMOV (register, immediate, general,
 * top half), FCVT between widths, FRINT*, and conversions between FP and
 * integer / fixed-point with every rounding mode.
 *
 * Operand fields of the decoded insn: rd/rn/rm/ra are V register numbers,
 * or resolved GPR indices (see cpu.h) for the general-register side of
 * conversions and FMOV; c = width N (16/32/64) of the FP operand; a = cond
 * or to-width; b = rounding mode or signedness; imm = fbits / immediate /
 * nzcv. Semantics live in fp_core.c.
 *
 * Runs on the vCPU thread; no shared state.
 */
#include "emu/decode.h"
#include "fpsimd_int.h"

#define GET(r, N) fps_get_scalar(cpu, (r), (N))
#define SET(r, N, v) fps_set_scalar(cpu, (r), (N), (v))

/* Two-source handlers, one per operation and width. */
#define BIN2(name, expr)                                                       \
  static FPS_HANDLER(name##_32) {                                              \
    const int N = 32;                                                          \
    uint64_t a = GET(in->rn, N), b = GET(in->rm, N);                           \
    SET(in->rd, N, expr);                                                      \
    return in + 1;                                                             \
  }                                                                            \
  static FPS_HANDLER(name##_64) {                                              \
    const int N = 64;                                                          \
    uint64_t a = GET(in->rn, N), b = GET(in->rm, N);                           \
    SET(in->rd, N, expr);                                                      \
    return in + 1;                                                             \
  }

/* Arithmetic with the inline host fast path (see fp_fast_env). */
#define ARITH2(name, OP, fop)                                                  \
  static FPS_HANDLER(name##_32) {                                              \
    emu_vreg *d = &cpu->v[in->rd];                                             \
    float r = cpu->v[in->rn].f[0] OP cpu->v[in->rm].f[0];                      \
    uint32_t rb;                                                               \
    memcpy(&rb, &r, 4);                                                        \
    if (!(fp_fast_env(cpu) && fp_fast_res32(rb)))                              \
      rb = (uint32_t)fp_arith(cpu, 32, fop, cpu->v[in->rn].s[0],               \
                              cpu->v[in->rm].s[0]);                            \
    d->d[1] = 0;                                                               \
    d->d[0] = rb;                                                              \
    return in + 1;                                                             \
  }                                                                            \
  static FPS_HANDLER(name##_64) {                                              \
    emu_vreg *d = &cpu->v[in->rd];                                             \
    double r = cpu->v[in->rn].df[0] OP cpu->v[in->rm].df[0];                   \
    uint64_t rb;                                                               \
    memcpy(&rb, &r, 8);                                                        \
    if (!(fp_fast_env(cpu) && fp_fast_res64(rb)))                              \
      rb = fp_arith(cpu, 64, fop, cpu->v[in->rn].d[0], cpu->v[in->rm].d[0]);   \
    d->d[1] = 0;                                                               \
    d->d[0] = rb;                                                              \
    return in + 1;                                                             \
  }

ARITH2(h_fmul, *, FOP_MUL)
ARITH2(h_fdiv, /, FOP_DIV)
ARITH2(h_fadd, +, FOP_ADD)
ARITH2(h_fsub, -, FOP_SUB)
BIN2(h_fmax, fp_minmax(cpu, N, a, b, true, false))
BIN2(h_fmin, fp_minmax(cpu, N, a, b, false, false))
BIN2(h_fmaxnm, fp_minmax(cpu, N, a, b, true, true))
BIN2(h_fminnm, fp_minmax(cpu, N, a, b, false, true))
BIN2(h_fnmul, fp_neg(N, fp_arith(cpu, N, FOP_MUL, a, b)))

static const emu_fn bin2_tab[9][2] = {
    {h_fmul_32, h_fmul_64},     {h_fdiv_32, h_fdiv_64},
    {h_fadd_32, h_fadd_64},     {h_fsub_32, h_fsub_64},
    {h_fmax_32, h_fmax_64},     {h_fmin_32, h_fmin_64},
    {h_fmaxnm_32, h_fmaxnm_64}, {h_fminnm_32, h_fminnm_64},
    {h_fnmul_32, h_fnmul_64},
};

/* Three-source: FMADD, FMSUB, FNMADD, FNMSUB (negations apply to NaN
 * operands too, as FPNeg does). */
static FPS_HANDLER(h_fmadd3) {
  const int N = in->c;
  uint64_t n = GET(in->rn, N), m = GET(in->rm, N), a = GET(in->ra, N);
  if (in->b & 2)
    a = fp_neg(N, a);
  if ((in->b & 1) ^ ((in->b >> 1) & 1))
    n = fp_neg(N, n);
  SET(in->rd, N, fp_muladd(cpu, N, a, n, m));
  return in + 1;
}

/* One-source. */
static FPS_HANDLER(h_fmov_reg) {
  SET(in->rd, in->c, GET(in->rn, in->c));
  return in + 1;
}
static FPS_HANDLER(h_fabs) {
  SET(in->rd, in->c, fp_abs(in->c, GET(in->rn, in->c)));
  return in + 1;
}
static FPS_HANDLER(h_fneg) {
  SET(in->rd, in->c, fp_neg(in->c, GET(in->rn, in->c)));
  return in + 1;
}
static FPS_HANDLER(h_fsqrt) {
  SET(in->rd, in->c, fp_arith(cpu, in->c, FOP_SQRT, GET(in->rn, in->c), 0));
  return in + 1;
}
static FPS_HANDLER(h_fcvt) {
  SET(in->rd, in->a,
      fp_convert(cpu, in->a, in->c, GET(in->rn, in->c), FPR_FPCR));
  return in + 1;
}
static FPS_HANDLER(h_frint) {
  SET(in->rd, in->c,
      fp_round_int(cpu, in->c, GET(in->rn, in->c), in->b, in->a));
  return in + 1;
}

/* Compares. a: 1 = FCMPE/FCCMPE; b: 1 = compare with #0.0. */
static FPS_HANDLER(h_fcmp) {
  const int N = in->c;
  uint64_t m = in->b ? 0 : GET(in->rm, N);
  cpu->nzcv = fp_compare(cpu, N, GET(in->rn, N), m, in->a);
  return in + 1;
}
static FPS_HANDLER(h_fccmp) {
  const int N = in->c;
  if (fp_cond_holds(cpu->nzcv, in->b))
    cpu->nzcv = fp_compare(cpu, N, GET(in->rn, N), GET(in->rm, N), in->a);
  else
    cpu->nzcv = (uint32_t)in->imm << 28;
  return in + 1;
}
static FPS_HANDLER(h_fcsel) {
  const int N = in->c;
  SET(in->rd, N,
      fp_cond_holds(cpu->nzcv, in->b) ? GET(in->rn, N) : GET(in->rm, N));
  return in + 1;
}
static FPS_HANDLER(h_fmov_imm) {
  SET(in->rd, in->c, in->imm);
  return in + 1;
}

/* FP -> integer: a = M (32/64), b = rounding mode, sf... imm = fbits,
 * ra = 1 for unsigned. */
static FPS_HANDLER(h_fcvt_to_int) {
  uint64_t r = fp_to_fixed(cpu, in->c, GET(in->rn, in->c), (int)in->imm, in->ra,
                           in->a, in->b);
  cpu->r[in->rd] = r;
  return in + 1;
}
/* integer -> FP: a = M, ra = unsigned, imm = fbits. */
static FPS_HANDLER(h_cvtf) {
  SET(in->rd, in->c,
      fp_from_fixed(cpu, in->c, cpu->r[in->rn], in->a, (int)in->imm, in->ra,
                    FPR_FPCR));
  return in + 1;
}
/* Fast forms of the conversions compilers emit for C casts: FCVTZS (no
 * fraction bits) and SCVTF/UCVTF of values the target format holds
 * exactly; anything else takes the general path above. */
static FPS_HANDLER(h_fcvtzs_fast) {
  double x = in->c == 64 ? cpu->v[in->rn].df[0] : (double)cpu->v[in->rn].f[0];
  double lim = in->a == 64 ? 9223372036854775808.0 : 2147483648.0;
  if (!(cpu->fpcr & FPCR_FZ) && x > -lim && x < lim) {
    int64_t r = (int64_t)x;
    if ((double)r != x)
      cpu->fpsr |= FPSR_IXC;
    cpu->r[in->rd] = in->a == 64 ? (uint64_t)r : (uint32_t)r;
    return in + 1;
  }
  return h_fcvt_to_int(cpu, in);
}
static FPS_HANDLER(h_scvtf_fast) {
  int64_t v =
      in->a == 64 ? (int64_t)cpu->r[in->rn] : (int64_t)(int32_t)cpu->r[in->rn];
  int64_t lim = in->c == 64 ? (1ll << 53) : (1ll << 24);
  if (v >= -lim && v <= lim) {
    if (in->c == 64) {
      double d = (double)v;
      uint64_t b;
      memcpy(&b, &d, 8);
      SET(in->rd, 64, b);
    } else {
      float f = (float)v;
      uint32_t b;
      memcpy(&b, &f, 4);
      SET(in->rd, 32, b);
    }
    return in + 1;
  }
  return h_cvtf(cpu, in);
}
static FPS_HANDLER(h_ucvtf_fast) {
  uint64_t v = in->a == 64 ? cpu->r[in->rn] : (uint32_t)cpu->r[in->rn];
  if (v <= (in->c == 64 ? (1ull << 53) : (1ull << 24))) {
    if (in->c == 64) {
      double d = (double)v;
      uint64_t b;
      memcpy(&b, &d, 8);
      SET(in->rd, 64, b);
    } else {
      float f = (float)v;
      uint32_t b;
      memcpy(&b, &f, 4);
      SET(in->rd, 32, b);
    }
    return in + 1;
  }
  return h_cvtf(cpu, in);
}

static FPS_HANDLER(h_fmov_to_gen) {
  cpu->r[in->rd] = GET(in->rn, in->c);
  return in + 1;
}
static FPS_HANDLER(h_fmov_from_gen) {
  SET(in->rd, in->c, cpu->r[in->rn]);
  return in + 1;
}
static FPS_HANDLER(h_fmov_to_top) {
  cpu->r[in->rd] = cpu->v[in->rn].d[1];
  return in + 1;
}
static FPS_HANDLER(h_fmov_from_top) {
  cpu->v[in->rd].d[1] = cpu->r[in->rn];
  return in + 1;
}

static int type_width(unsigned type) {
  switch (type) {
  case 0:
    return 32;
  case 1:
    return 64;
  case 3:
    return 16;
  default:
    return 0;
  }
}

static bool decode_conv_int(struct emu_insn *out, uint32_t raw, int N) {
  unsigned sf = raw >> 31, type = (raw >> 22) & 3;
  unsigned rmode = (raw >> 19) & 3, opcode = (raw >> 16) & 7;
  unsigned rd = raw & 31, rn = (raw >> 5) & 31;
  int M = sf ? 64 : 32;
  out->c = (uint8_t)N;
  out->a = (uint8_t)M;
  out->imm = 0;
  if (opcode >= 6) {
    /* FMOV general */
    bool to_gen = opcode == 6;
    if (rmode == 1) {
      if (!(sf && type == 2))
        return false;
      out->fn = to_gen ? h_fmov_to_top : h_fmov_from_top;
    } else if (rmode == 0) {
      if (N == 0 || N == 16 || (N == 32 && sf) || (N == 64 && !sf))
        return false;
      out->fn = to_gen ? h_fmov_to_gen : h_fmov_from_gen;
    } else {
      return false;
    }
    out->rd = to_gen ? fps_xw(rd) : (uint8_t)rd;
    out->rn = to_gen ? (uint8_t)rn : fps_xr(rn);
    return true;
  }
  if (N == 0 || N == 16)
    return false; /* half-precision arithmetic forms need FEAT_FP16 */
  if (opcode == 2 || opcode == 3) {
    if (rmode != 0)
      return false;
    out->fn = opcode == 3 ? h_ucvtf_fast : h_scvtf_fast;
    out->ra = opcode == 3;
    out->rd = (uint8_t)rd;
    out->rn = fps_xr(rn);
    return true;
  }
  static const uint8_t rm_of[4] = {FPR_TIEEVEN, FPR_POSINF, FPR_NEGINF,
                                   FPR_ZERO};
  if (opcode >= 4) { /* FCVTAS / FCVTAU */
    if (rmode != 0)
      return false;
    out->b = FPR_TIEAWAY;
  } else {
    out->b = rm_of[rmode];
  }
  out->fn = h_fcvt_to_int;
  out->ra = opcode & 1;
  if (out->b == FPR_ZERO && !out->ra)
    out->fn = h_fcvtzs_fast;
  out->rd = fps_xw(rd);
  out->rn = (uint8_t)rn;
  return true;
}

static bool decode_conv_fixed(struct emu_insn *out, uint32_t raw, int N) {
  unsigned sf = raw >> 31, rmode = (raw >> 19) & 3, opcode = (raw >> 16) & 7;
  unsigned scale = (raw >> 10) & 63;
  unsigned rd = raw & 31, rn = (raw >> 5) & 31;
  if (N == 0 || N == 16 || (!sf && scale < 32))
    return false;
  out->c = (uint8_t)N;
  out->a = sf ? 64 : 32;
  out->imm = 64 - scale;
  if (rmode == 3 && opcode < 2) {
    out->fn = h_fcvt_to_int;
    out->b = FPR_ZERO;
    out->ra = opcode & 1;
    out->rd = fps_xw(rd);
    out->rn = (uint8_t)rn;
    return true;
  }
  if (rmode == 0 && (opcode == 2 || opcode == 3)) {
    out->fn = h_cvtf;
    out->ra = opcode & 1;
    out->rd = (uint8_t)rd;
    out->rn = fps_xr(rn);
    return true;
  }
  return false;
}

/* ---- decode functions (isa/fp.decode) --------------------------------------
 * The generator has matched the instruction's pattern (M = S = 0 there) and
 * set out->op; these resolve the type (reserved and half-precision
 * arithmetic types are UNDEFINED) and pick the handler. */

/* Register operands every class sets first; returns the type's width N. */
static int fp_prep(struct emu_insn *out) {
  uint32_t raw = out->raw;
  out->rd = (uint8_t)(raw & 31);
  out->rn = (uint8_t)((raw >> 5) & 31);
  out->rm = (uint8_t)((raw >> 16) & 31);
  return type_width((raw >> 22) & 3);
}

int emu_dec_fp_dp3(struct emu_insn *out, const struct emu_args_fp_rrrr *a) {
  int N = fp_prep(out);
  if (N != 32 && N != 64)
    return DEC_UNDEF;
  out->ra = (uint8_t)a->ra;
  out->c = (uint8_t)N;
  /* b = o1:o0: FMADD, FMSUB, FNMADD, FNMSUB */
  out->b = (uint8_t)((((out->raw >> 21) & 1) << 1) | ((out->raw >> 15) & 1));
  out->fn = h_fmadd3;
  return DEC_OK;
}

int emu_dec_fp_fixed(struct emu_insn *out, const struct emu_args_fp_cvt *a) {
  (void)a;
  int N = fp_prep(out);
  return decode_conv_fixed(out, out->raw, N) ? DEC_OK : DEC_UNDEF;
}

int emu_dec_fp_int(struct emu_insn *out, const struct emu_args_fp_cvt *a) {
  (void)a;
  int N = fp_prep(out);
  return decode_conv_int(out, out->raw, N) ? DEC_OK : DEC_UNDEF;
}

int emu_dec_fp_dp1(struct emu_insn *out, const struct emu_args_fp_rrr *a) {
  (void)a;
  int N = fp_prep(out);
  unsigned op = (out->raw >> 15) & 63;
  if (N == 0)
    return DEC_UNDEF;
  out->c = (uint8_t)N;
  if (out->op == EMU_OP_FCVT) { /* the only one with half precision */
    int to = type_width(op & 3);
    if (to == 0 || to == N)
      return DEC_UNDEF;
    out->a = (uint8_t)to;
    out->fn = h_fcvt;
    return DEC_OK;
  }
  if (N == 16)
    return DEC_UNDEF;
  switch (out->op) {
  case EMU_OP_FMOV_REG:
    out->fn = h_fmov_reg;
    return DEC_OK;
  case EMU_OP_FABS_S:
    out->fn = h_fabs;
    return DEC_OK;
  case EMU_OP_FNEG_S:
    out->fn = h_fneg;
    return DEC_OK;
  case EMU_OP_FSQRT_S:
    out->fn = h_fsqrt;
    return DEC_OK;
  default: { /* FRINT*: opcode 0b001xxx */
    static const uint8_t rmode[8] = {FPR_TIEEVEN, FPR_POSINF,  FPR_NEGINF,
                                     FPR_ZERO,    FPR_TIEAWAY, 0,
                                     FPR_FPCR,    FPR_FPCR};
    out->b = rmode[op - 8];
    out->a = out->op == EMU_OP_FRINTX_S; /* FRINTX raises Inexact */
    out->fn = h_frint;
    return DEC_OK;
  }
  }
}

/* The classes below have no half-precision forms in ARMv8.0 (FEAT_FP16). */
static int fp_prep_sd(struct emu_insn *out) {
  int N = fp_prep(out);
  if (N == 0 || N == 16)
    return 0;
  out->c = (uint8_t)N;
  return N;
}

int emu_dec_fp_cmp(struct emu_insn *out, const struct emu_args_fp_rrr *a) {
  (void)a;
  if (!fp_prep_sd(out))
    return DEC_UNDEF;
  unsigned opc2 = out->raw & 31;
  out->a = (opc2 >> 4) & 1; /* FCMPE: signalling */
  out->b = (opc2 >> 3) & 1; /* against zero */
  out->fn = h_fcmp;
  return DEC_OK;
}

int emu_dec_fp_imm(struct emu_insn *out, const struct emu_args_fp_rrr *a) {
  (void)a;
  int N = fp_prep_sd(out);
  if (!N)
    return DEC_UNDEF;
  out->imm = fp_expand_imm(N, (out->raw >> 13) & 0xff);
  out->fn = h_fmov_imm;
  return DEC_OK;
}

int emu_dec_fp_ccmp(struct emu_insn *out, const struct emu_args_fp_rrr *a) {
  (void)a;
  if (!fp_prep_sd(out))
    return DEC_UNDEF;
  out->a = (out->raw >> 4) & 1; /* FCCMPE */
  out->b = (out->raw >> 12) & 15;
  out->imm = out->raw & 15;
  out->fn = h_fccmp;
  return DEC_OK;
}

int emu_dec_fp_dp2(struct emu_insn *out, const struct emu_args_fp_rrr *a) {
  (void)a;
  int N = fp_prep_sd(out);
  if (!N)
    return DEC_UNDEF;
  out->fn = bin2_tab[(out->raw >> 12) & 15][N == 64];
  return DEC_OK;
}

int emu_dec_fp_csel(struct emu_insn *out, const struct emu_args_fp_rrr *a) {
  (void)a;
  if (!fp_prep_sd(out))
    return DEC_UNDEF;
  out->b = (out->raw >> 12) & 15;
  out->fn = h_fcsel;
  return DEC_OK;
}
