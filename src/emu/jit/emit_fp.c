/* emit_fp.c — scalar floating point inline (issue 10): FADD/FSUB/FMUL/
 * FDIV/FSQRT, FMADD/FMSUB/FNMADD/FNMSUB (host FMA3 only), FCVT between
 * single and double, FCMP/FCMPE, FCSEL, FMOV/FABS/FNEG, FMOV immediate
 * and to/from a GPR, SCVTF/UCVTF and FCVTZS/FCVTZU from/to a GPR.
 *
 * What runs inline is the interpreter's fast path (fpsimd_int.h,
 * fp_fast_env): with round to nearest, no FZ, FPSR.IXC already set and
 * the host MXCSR at its default (cpu->jit_fp_mask), an SSE operation whose
 * result is a normal number above the smallest normal is the Arm result
 * and raises nothing FPSR does not already hold. Anything else (NaNs,
 * infinities, tiny or huge results, another FPCR) jumps to a cold stub
 * that runs the interpreter's handler (in->fn) on the untouched operands:
 * the inline code writes its destination only after every test passed.
 * The instructions are recognised by their op (isa/fp.decode); the
 * type and the operand fields come from in->raw.
 *
 * Runs on the translating CPU's thread (emission) and on that CPU's
 * thread (the emitted code); no shared state.
 */
#include <stddef.h>
#include <stdint.h>

#include "emu/decode.h"
#include "emu/fpsimd/fpsimd_int.h"
#include "emu/jit/emit.h"
#include "emu/jit/translate.h"

enum fpk {
  FPK_ARITH, /* sub: 0 mul, 1 div, 2 add, 3 sub */
  FPK_SQRT,
  FPK_FMA,  /* sub: o1:o0 */
  FPK_BITS, /* sub: 0 fmov, 1 fabs, 2 fneg */
  FPK_CVT,  /* FCVT to the other width */
  FPK_CMP,  /* sub: 1 compare with zero */
  FPK_CSEL,
  FPK_MOVI,
  FPK_SCVTF, /* sub: M */
  FPK_UCVTF,
  FPK_FCVTZS,
  FPK_FCVTZU,
  FPK_TOGEN,
  FPK_FROMGEN,
};

struct fpd {
  enum fpk k;
  unsigned N;   /* FP width: 32 or 64 */
  unsigned sub; /* per kind */
};

/* What the op and its type say the insn is; false for what is not
 * emitted inline (half precision, FMA without the host's FMA3, the
 * conversions with their own rounding, the top-half moves...). */
static bool classify(const struct emu_insn *in, struct fpd *d) {
  if (!emu_op_is_fp_scalar(in->op))
    return false;
  uint32_t raw = in->raw;
  unsigned type = (raw >> 22) & 3;
  if (type > 1) /* half precision and the reserved type */
    return false;
  d->N = type ? 64 : 32;
  d->sub = 0;
  switch (in->op) {
  case EMU_OP_FMUL_S:
  case EMU_OP_FDIV_S:
  case EMU_OP_FADD_S:
  case EMU_OP_FSUB_S:
    d->k = FPK_ARITH;
    d->sub = (raw >> 12) & 3; /* opcode: 0 mul, 1 div, 2 add, 3 sub */
    return true;
  case EMU_OP_FMOV_REG:
  case EMU_OP_FABS_S:
  case EMU_OP_FNEG_S:
    d->k = FPK_BITS;
    d->sub = (raw >> 15) & 3; /* opcode: 0 fmov, 1 fabs, 2 fneg */
    return true;
  case EMU_OP_FSQRT_S:
    d->k = FPK_SQRT;
    return true;
  case EMU_OP_FCVT: { /* single <-> double only */
    unsigned opc = (raw >> 15) & 3;
    if (!((opc == 0 && type == 1) || (opc == 1 && type == 0)))
      return false;
    d->k = FPK_CVT;
    return true;
  }
  case EMU_OP_FMADD:
  case EMU_OP_FMSUB:
  case EMU_OP_FNMADD:
  case EMU_OP_FNMSUB:
    if (!jit_host_fma3())
      return false;
    d->k = FPK_FMA;
    d->sub = (((raw >> 21) & 1) << 1) | ((raw >> 15) & 1);
    return true;
  case EMU_OP_FCMP:
  case EMU_OP_FCMPE:
    d->k = FPK_CMP;
    d->sub = (raw >> 3) & 1; /* with zero */
    return true;
  case EMU_OP_FCSEL:
    d->k = FPK_CSEL;
    return true;
  case EMU_OP_FMOV_IMM:
    d->k = FPK_MOVI;
    return true;
  case EMU_OP_SCVTF_INT:
  case EMU_OP_UCVTF_INT:
    d->k = in->op == EMU_OP_SCVTF_INT ? FPK_SCVTF : FPK_UCVTF;
    d->sub = raw >> 31 ? 64 : 32;
    return true;
  case EMU_OP_FCVTZS_INT:
  case EMU_OP_FCVTZU_INT:
    d->k = in->op == EMU_OP_FCVTZS_INT ? FPK_FCVTZS : FPK_FCVTZU;
    d->sub = raw >> 31 ? 64 : 32;
    return true;
  case EMU_OP_FMOV_TO_GEN:
  case EMU_OP_FMOV_FROM_GEN:
    d->k = in->op == EMU_OP_FMOV_TO_GEN ? FPK_TOGEN : FPK_FROMGEN;
    d->sub = raw >> 31 ? 64 : 32;
    return true;
  default:
    return false;
  }
}

bool jit_fp_inline(const struct emu_insn *in) {
  struct fpd d;
  return classify(in, &d);
}

/* The bit moves other than FCSEL: no slow path, no NZCV. */
bool jit_fp_plain(const struct emu_insn *in) {
  struct fpd d;
  return classify(in, &d) && (d.k == FPK_BITS || d.k == FPK_MOVI ||
                              d.k == FPK_TOGEN || d.k == FPK_FROMGEN);
}

bool jit_fp_plain_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr) {
  struct fpd d;
  *rd = *wr = 0;
  if (!classify(in, &d))
    return false;
  if (d.k == FPK_TOGEN)
    *wr = 1ull << in->rd;
  else if (d.k == FPK_FROMGEN)
    *rd = 1ull << in->rn;
  return true;
}

void emu_jit_fp_sync(struct emu_cpu *cpu) {
  cpu->jit_fp_mask =
      fp_host_env_default()
          ? ((FPCR_FZ | (3u << FPCR_RMODE_SHIFT)) >> 16) | (FPSR_IXC << 16)
          : 0;
}

/* ---- pieces shared with emit_simd.c ---- */

struct xe_mem jit_vreg_m(unsigned r, unsigned byte) {
  return xe_m(JIT_CPU, (int32_t)(offsetof(struct emu_cpu, v) + 16 * r + byte));
}

struct xe_fixup jit_fp_env_check(struct jit_ctx *c) {
  struct xe_buf *b = c->b;
  /* FPCR[31:16] and FPSR[15:0] in one load (the two are adjacent) */
  _Static_assert(offsetof(struct emu_cpu, fpsr) ==
                     offsetof(struct emu_cpu, fpcr) + 4,
                 "fpcr and fpsr adjacent");
  xe_load(b, 32, XE_RAX,
          xe_m(JIT_CPU, (int32_t)offsetof(struct emu_cpu, fpcr) + 2));
  xe_alu_rm(b, XE_AND, 32, XE_RAX,
            xe_m(JIT_CPU, (int32_t)offsetof(struct emu_cpu, jit_fp_mask)));
  /* xor leaves CF = 0 and, on a failure, ZF = 0: the state in which the
   * slow-path jcc of jit_fp_slow (AE, A or NE) is taken */
  xe_alu_ri(b, XE_XOR, 32, XE_RAX, (int32_t)(FPSR_IXC << 16));
  return xe_jcc_fwd(b, XE_NE, false);
}

void jit_fp_slow(struct jit_ctx *c, struct xe_fixup env, enum xe_cc fail,
                 unsigned idx) {
  if (env.at != SIZE_MAX)
    xe_bind(c->b, env);
  jit_cold_jcc(c, fail, idx, (uint64_t)(uintptr_t)c->insn[idx].fn);
}

static const struct xe_fixup no_env = {SIZE_MAX, 0};

/* The fast-result test of the scalar in rax (fp_fast_res32/64): leaves
 * CF = 0 (AE) when it fails. Clobbers rcx, rdx. */
static void range_test(struct xe_buf *b, unsigned N) {
  if (N == 32) {
    /* 2|r| - 2 * 0x00800001 < 2 * (0x7f000000 - 1), one test */
    xe_lea(b, 32, XE_RCX, xe_mi(XE_RAX, XE_RAX, 1, 0));
    xe_alu_ri(b, XE_SUB, 32, XE_RCX, 0x01000002);
    xe_alu_ri(b, XE_CMP, 32, XE_RCX, (int32_t)0xfdfffffeu);
  } else {
    xe_lea(b, 64, XE_RCX, xe_mi(XE_RAX, XE_RAX, 1, 0));
    xe_mov_ri(b, XE_RDX, 0x0020000000000002ull);
    xe_alu_rr(b, XE_SUB, 64, XE_RCX, XE_RDX);
    xe_mov_ri(b, XE_RDX, 0xffbffffffffffffcull);
    xe_alu_rr(b, XE_CMP, 64, XE_RCX, XE_RDX);
  }
}

/* xmm from the scalar in V register r (the rest of the xmm zero). */
static void load_scalar(struct xe_buf *b, enum xe_xmm x, unsigned r,
                        unsigned N) {
  xe_sse_rm(b, N == 64 ? XE_MOVQ : XE_MOVD, x, jit_vreg_m(r, 0));
}

/* V register r = xmm x, all 128 bits (the scalar forms zero the rest). */
static void store_v(struct xe_buf *b, unsigned r, enum xe_xmm x) {
  xe_sse_store(b, XE_MOVDQU, jit_vreg_m(r, 0), x);
}

/* V register r = rax (N bits, zero-extended: rax holds no more) */
static void store_v_gpr(struct xe_buf *b, unsigned r) {
  xe_store(b, 64, jit_vreg_m(r, 0), XE_RAX);
  xe_store_imm(b, 64, jit_vreg_m(r, 8), 0);
}

static void emit_arith(struct jit_ctx *c, unsigned idx, const struct fpd *d) {
  static const enum xe_sse ops[2][4] = {
      {XE_MULSS, XE_DIVSS, XE_ADDSS, XE_SUBSS},
      {XE_MULSD, XE_DIVSD, XE_ADDSD, XE_SUBSD}};
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  struct xe_fixup env = jit_fp_env_check(c);
  if (d->k == FPK_SQRT) {
    xe_sse_rr(b, XE_PXOR, XE_XMM0, XE_XMM0);
    xe_sse_rm(b, d->N == 64 ? XE_SQRTSD : XE_SQRTSS, XE_XMM0,
              jit_vreg_m(in->rn, 0));
  } else {
    load_scalar(b, XE_XMM0, in->rn, d->N);
    xe_sse_rm(b, ops[d->N == 64][d->sub], XE_XMM0, jit_vreg_m(in->rm, 0));
  }
  xe_movd_rx(b, d->N, XE_RAX, XE_XMM0);
  range_test(b, d->N);
  jit_fp_slow(c, env, XE_AE, idx);
  store_v(b, in->rd, XE_XMM0);
  jit_cold_resume(c);
}

/* rax = the scalar of V register r, its sign flipped when neg. */
static void load_gpr_neg(struct xe_buf *b, unsigned r, unsigned N, bool neg) {
  xe_load(b, N, XE_RAX, jit_vreg_m(r, 0));
  if (!neg)
    return;
  if (N == 32) {
    xe_alu_ri(b, XE_XOR, 32, XE_RAX, (int32_t)0x80000000u);
  } else {
    xe_mov_ri(b, XE_RDX, 1ull << 63);
    xe_alu_rr(b, XE_XOR, 64, XE_RAX, XE_RDX);
  }
}

/* FMADD and friends: addend ra (negated for FNMADD/FNMSUB) plus rn
 * (negated for FMSUB/FNMADD) times rm, one rounding, as h_fmadd3. */
static void emit_fma(struct jit_ctx *c, unsigned idx, const struct fpd *d) {
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  bool neg_a = d->sub & 2, neg_n = (d->sub & 1) ^ ((d->sub >> 1) & 1);
  struct xe_fixup env = jit_fp_env_check(c);
  load_gpr_neg(b, in->ra, d->N, neg_a);
  xe_movd_xr(b, d->N, XE_XMM0, XE_RAX);
  load_gpr_neg(b, in->rn, d->N, neg_n);
  xe_movd_xr(b, d->N, XE_XMM1, XE_RAX);
  load_scalar(b, XE_XMM2, in->rm, d->N);
  xe_avx_rrr(b, d->N == 64 ? XE_VFMADD231SD : XE_VFMADD231SS, 128, XE_XMM0,
             XE_XMM1, XE_XMM2);
  xe_movd_rx(b, d->N, XE_RAX, XE_XMM0);
  range_test(b, d->N);
  jit_fp_slow(c, env, XE_AE, idx);
  store_v(b, in->rd, XE_XMM0);
  jit_cold_resume(c);
}

/* FCVT: single to double is exact for every non-NaN; double to single
 * takes the fast-result test. */
static void emit_cvt(struct jit_ctx *c, unsigned idx, const struct fpd *d) {
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  struct xe_fixup env = jit_fp_env_check(c);
  xe_sse_rr(b, XE_PXOR, XE_XMM0, XE_XMM0);
  if (d->N == 32) {
    xe_load(b, 32, XE_RAX, jit_vreg_m(in->rn, 0));
    xe_sse_rm(b, XE_CVTSS2SD, XE_XMM0, jit_vreg_m(in->rn, 0));
    /* NaN: 2|a| above 2 * 0x7f800000, CF = 0 */
    xe_lea(b, 32, XE_RCX, xe_mi(XE_RAX, XE_RAX, 1, 0));
    xe_alu_ri(b, XE_CMP, 32, XE_RCX, (int32_t)0xff000001u);
  } else {
    xe_sse_rm(b, XE_CVTSD2SS, XE_XMM0, jit_vreg_m(in->rn, 0));
    xe_movd_rx(b, 32, XE_RAX, XE_XMM0);
    range_test(b, 32);
  }
  jit_fp_slow(c, env, XE_AE, idx);
  store_v(b, in->rd, XE_XMM0);
  jit_cold_resume(c);
}

/* FCMP/FCMPE: an ordered result is NZCV from the host flags; unordered
 * (IOC for a signalling NaN, or any NaN with FCMPE) takes the slow path,
 * and so does FZ (denormal inputs). */
static void emit_cmp(struct jit_ctx *c, unsigned idx, const struct fpd *d) {
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  struct xe_fixup env = jit_fp_env_check(c);
  xe_alu_rr(b, XE_XOR, 32, XE_RCX, XE_RCX);
  load_scalar(b, XE_XMM0, in->rn, d->N);
  if (d->sub) {
    xe_sse_rr(b, XE_PXOR, XE_XMM1, XE_XMM1);
    xe_sse_rr(b, d->N == 64 ? XE_UCOMISD : XE_UCOMISS, XE_XMM0, XE_XMM1);
  } else {
    xe_sse_rm(b, d->N == 64 ? XE_UCOMISD : XE_UCOMISS, XE_XMM0,
              jit_vreg_m(in->rm, 0));
  }
  xe_setcc(b, XE_P, XE_RCX);
  /* greater: C; less (CF): N; equal (ZF): Z and C */
  xe_mov_ri(b, XE_RAX, EMU_C);
  xe_mov_ri(b, XE_RDX, EMU_N);
  xe_cmov(b, XE_B, 32, XE_RAX, XE_RDX);
  xe_mov_ri(b, XE_RDX, EMU_Z | EMU_C);
  xe_cmov(b, XE_E, 32, XE_RAX, XE_RDX);
  xe_alu_ri(b, XE_CMP, 32, XE_RCX, 1); /* unordered: CF = 0 */
  jit_fp_slow(c, env, XE_AE, idx);
  xe_store(b, 32, jit_nzcv_m(), XE_RAX);
  jit_cold_resume(c);
}

/* SCVTF/UCVTF of integers the format holds exactly (h_scvtf_fast): no
 * rounding, no exception, whatever FPCR says. */
static void emit_cvtf(struct jit_ctx *c, unsigned idx, const struct fpd *d) {
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  uint64_t lim = d->N == 64 ? 1ull << 53 : 1ull << 24;
  jit_gpr_load(c, XE_RAX, in->rn);
  if (d->sub == 32) {
    if (d->k == FPK_SCVTF)
      xe_movsx_rr(b, 64, XE_RAX, 32, XE_RAX);
    else
      xe_mov_rr(b, 32, XE_RAX, XE_RAX);
  }
  if (d->k == FPK_SCVTF) { /* -lim <= v <= lim */
    xe_mov_ri(b, XE_RCX, lim);
    xe_alu_rr(b, XE_ADD, 64, XE_RCX, XE_RAX);
    xe_mov_ri(b, XE_RDX, 2 * lim);
    xe_alu_rr(b, XE_CMP, 64, XE_RCX, XE_RDX);
  } else {
    xe_mov_ri(b, XE_RDX, lim);
    xe_alu_rr(b, XE_CMP, 64, XE_RAX, XE_RDX);
  }
  jit_fp_slow(c, no_env, XE_A, idx);
  xe_sse_rr(b, XE_PXOR, XE_XMM0, XE_XMM0);
  if (d->N == 64)
    xe_cvtsi2sd(b, 64, XE_XMM0, XE_RAX);
  else
    xe_cvtsi2ss(b, 64, XE_XMM0, XE_RAX);
  store_v(b, in->rd, XE_XMM0);
  jit_cold_resume(c);
}

/* FCVTZS to a GPR: the host truncation; its "integer indefinite" answer
 * (out of range or NaN, and the exact INT_MIN) takes the slow path. With
 * IXC already set an inexact result raises nothing new. */
static void emit_fcvtzs(struct jit_ctx *c, unsigned idx, const struct fpd *d) {
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  unsigned M = d->sub;
  struct xe_fixup env = jit_fp_env_check(c);
  load_scalar(b, XE_XMM0, in->rn, d->N);
  if (d->N == 64)
    xe_cvttsd2si(b, M, XE_RAX, XE_XMM0);
  else
    xe_cvttss2si(b, M, XE_RAX, XE_XMM0);
  /* rol 1 turns INT_MIN into 1; ^1 into 0; neg: CF = 0 only for it */
  xe_mov_rr(b, 64, XE_RCX, XE_RAX);
  xe_shift_ri(b, XE_ROL, M, XE_RCX, 1);
  xe_alu_ri(b, XE_XOR, M, XE_RCX, 1);
  xe_unary(b, XE_NEG, M, XE_RCX);
  jit_fp_slow(c, env, XE_AE, idx);
  jit_gpr_store(c, in->rd, XE_RAX);
  jit_cold_resume(c);
}

/* FCVTZU to a GPR: the host's signed 64-bit truncation; a result the
 * M-bit unsigned range holds (below 2^63 for M = 64) is the answer, any
 * other (negative: at most -1, too large, NaN, the integer indefinite)
 * takes the slow path. With IXC already set an inexact result raises
 * nothing new. */
static void emit_fcvtzu(struct jit_ctx *c, unsigned idx, const struct fpd *d) {
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  struct xe_fixup env = jit_fp_env_check(c);
  load_scalar(b, XE_XMM0, in->rn, d->N);
  if (d->N == 64)
    xe_cvttsd2si(b, 64, XE_RAX, XE_XMM0);
  else
    xe_cvttss2si(b, 64, XE_RAX, XE_XMM0);
  /* beyond the range unsigned (negatives too) */
  xe_mov_ri(b, XE_RCX, d->sub == 64 ? INT64_MAX : UINT32_MAX);
  xe_alu_rr(b, XE_CMP, 64, XE_RAX, XE_RCX);
  jit_fp_slow(c, env, XE_A, idx);
  jit_gpr_store(c, in->rd, XE_RAX);
  jit_cold_resume(c);
}

/* Bit moves: no exception, no FPCR dependence. */
static void emit_bits(struct jit_ctx *c, unsigned idx, const struct fpd *d) {
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  switch (d->k) {
  case FPK_BITS:
    load_gpr_neg(b, in->rn, d->N, d->sub == 2); /* FNEG */
    if (d->sub == 1) {                          /* FABS */
      xe_shift_ri(b, XE_SHL, d->N, XE_RAX, 1);
      xe_shift_ri(b, XE_SHR, d->N, XE_RAX, 1);
    }
    store_v_gpr(b, in->rd);
    break;
  case FPK_MOVI:
    xe_mov_ri(b, XE_RAX, in->imm);
    store_v_gpr(b, in->rd);
    break;
  case FPK_CSEL: {
    enum xe_cc cc = jit_cond_test(b, in->b);
    xe_load(b, d->N, XE_RAX, jit_vreg_m(in->rm, 0));
    xe_load(b, d->N, XE_RDX, jit_vreg_m(in->rn, 0));
    xe_cmov(b, cc, 64, XE_RAX, XE_RDX);
    store_v_gpr(b, in->rd);
    break;
  }
  case FPK_TOGEN:
    xe_load(b, d->N, XE_RAX, jit_vreg_m(in->rn, 0));
    jit_gpr_store(c, in->rd, XE_RAX);
    break;
  case FPK_FROMGEN:
    jit_gpr_load(c, XE_RAX, in->rn);
    if (d->N == 32)
      xe_mov_rr(b, 32, XE_RAX, XE_RAX);
    store_v_gpr(b, in->rd);
    break;
  default:
    xe_fail(b, "emit_fp: not a bit move");
  }
}

void jit_emit_fp(struct jit_ctx *c, unsigned idx) {
  struct fpd d;
  if (!classify(&c->insn[idx], &d)) {
    xe_fail(c->b, "jit_emit_fp: not an inline FP insn");
    return;
  }
  switch (d.k) {
  case FPK_ARITH:
  case FPK_SQRT:
    emit_arith(c, idx, &d);
    break;
  case FPK_FMA:
    emit_fma(c, idx, &d);
    break;
  case FPK_CVT:
    emit_cvt(c, idx, &d);
    break;
  case FPK_CMP:
    emit_cmp(c, idx, &d);
    break;
  case FPK_SCVTF:
  case FPK_UCVTF:
    emit_cvtf(c, idx, &d);
    break;
  case FPK_FCVTZS:
    emit_fcvtzs(c, idx, &d);
    break;
  case FPK_FCVTZU:
    emit_fcvtzu(c, idx, &d);
    break;
  default:
    emit_bits(c, idx, &d);
    break;
  }
}
