/* emit_simd.c — AdvSIMD lane-wise vector instructions inline on SSE
 * (issue 10): integer ADD/SUB/NEG, AND/BIC/ORR/ORN/EOR/NOT/BSL/BIT/BIF,
 * MUL/MLA/MLS (8/16/32-bit lanes), UABD, UADDLP/UADALP, [SU]MAX/[SU]MIN,
 * the compares CMEQ/CMGT/CMGE/CMHI/CMHS/CMTST and their forms against
 * zero, USHR/SSHR/SHL by immediate, and FADD/FSUB/FMUL/FDIV/FMLA/FMLS
 * (host FMA3) on 4S/2S/2D with the interpreter's whole-vector fast path
 * (simd_fp.c: the fast environment of emit_fp.c and every used lane a
 * normal result above the smallest normal, tested at once with a
 * compare and movmsk; otherwise the interpreter's handler runs on the
 * untouched registers; FMLS, which the interpreter runs lane by lane,
 * has the same answer there: one rounding of d - n * m). 64-bit (Q = 0)
 * forms zero the upper half. Forms needing SSE4.1/4.2 (pcmpeqq,
 * pcmpgtq, pmaxud...) are taken only when the host has SSE4.2.
 * Moves, permutes and reductions: emit_simd_perm.c.
 * Instructions are recognised from in->raw (in->op = SIMD says the
 * interpreter accepted the encoding).
 *
 * Runs on the translating CPU's thread (emission) and on that CPU's
 * thread (the emitted code); no shared state.
 */
#include "emu/decode.h"
#include "emu/jit/emit.h"

enum simdk {
  SK_BIN,   /* one SSE op per lane size: ADD, SUB, AND, ORR, EOR */
  SK_BIC,   /* n & ~m */
  SK_MUL,   /* sub: 0 MUL, 1 MLA, 2 MLS */
  SK_UABD,  /* |n - m| unsigned */
  SK_ADDLP, /* sub: 1 accumulate (UADALP) */
  SK_SHIFT, /* sub: enum xe_shift, imm: the amount */
  SK_FP,    /* sub: 0 add, 1 sub, 2 mul, 3 div, 4 FMLA, 5 FMLS; size 2, 3 */
  SK_CMP,   /* sub: enum cmpk */
  SK_SEL,   /* sub: 0 ORN, 1 BSL, 2 BIT, 3 BIF */
  SK_NOT,
  SK_NEG,
  SK_MUL8, /* byte lanes; sub as SK_MUL */
};

/* the compares: register forms, then those against zero */
enum cmpk {
  C_EQ,
  C_GT,
  C_GE,
  C_HI,
  C_HS,
  C_TST,
  C_EQ0,
  C_GT0,
  C_GE0,
  C_LE0,
  C_LT0
};

struct sd {
  enum simdk k;
  unsigned q;    /* 1: 128 bits, 0: 64 (upper half zeroed) */
  unsigned size; /* lane: 8 << size bits */
  unsigned sub, imm;
  enum xe_sse op; /* SK_BIN */
};

static bool classify(const struct emu_insn *in, struct sd *d) {
  if (!emu_op_is_simd(in->op))
    return false;
  uint32_t raw = in->raw;
  unsigned u = (raw >> 29) & 1;
  d->q = (raw >> 30) & 1;
  d->size = (raw >> 22) & 3;
  d->sub = d->imm = 0;
  if ((raw & 0x9f200400u) == 0x0e200400u) { /* three same */
    unsigned opc = (raw >> 11) & 31;
    static const enum xe_sse add[4] = {XE_PADDB, XE_PADDW, XE_PADDD, XE_PADDQ};
    static const enum xe_sse sub[4] = {XE_PSUBB, XE_PSUBW, XE_PSUBD, XE_PSUBQ};
    static const enum xe_sse maxmin[2][2][3] = {
        {{XE_PMAXSB, XE_PMAXSW, XE_PMAXSD}, {XE_PMAXUB, XE_PMAXUW, XE_PMAXUD}},
        {{XE_PMINSB, XE_PMINSW, XE_PMINSD}, {XE_PMINUB, XE_PMINUW, XE_PMINUD}}};
    switch (opc) {
    case 0x03: /* logical */
      d->k = SK_BIN;
      if (!u && d->size == 0)
        d->op = XE_PAND;
      else if (!u && d->size == 2)
        d->op = XE_POR;
      else if (u && d->size == 0)
        d->op = XE_PXOR;
      else if (!u && d->size == 1)
        d->k = SK_BIC;
      else
        d->k = SK_SEL, d->sub = u ? d->size : 0;
      return true;
    case 0x06: /* CMGT, CMHI */
    case 0x07: /* CMGE, CMHS */
    case 0x11: /* CMTST, CMEQ */
      d->k = SK_CMP;
      d->sub = opc == 0x11   ? (u ? C_EQ : C_TST)
               : opc == 0x06 ? (u ? C_HI : C_GT)
                             : (u ? C_HS : C_GE);
      return d->size < 3 || jit_host_sse42();
    case 0x0c: /* SMAX, UMAX */
    case 0x0d: /* SMIN, UMIN */
      if (d->size == 3)
        return false;
      d->k = SK_BIN;
      d->op = maxmin[opc & 1][u][d->size];
      return (u && d->size == 0) || (!u && d->size == 1) || jit_host_sse42();
    case 0x10:
      d->k = SK_BIN;
      d->op = u ? sub[d->size] : add[d->size];
      return true;
    case 0x12:                                /* MLA, MLS */
    case 0x13:                                /* MUL */
      if (d->size == 3 || (opc == 0x13 && u)) /* PMUL */
        return false;
      d->k = d->size == 0 ? SK_MUL8 : SK_MUL;
      d->sub = opc == 0x13 ? 0 : u ? 2 : 1;
      return d->size != 2 || jit_host_sse42();
    case 0x0e: /* UABD */
      if (!u || d->size == 3)
        return false;
      d->k = SK_UABD;
      return d->size != 2 || jit_host_sse42();
    case 0x1a: /* FADD (U=0), FSUB (U=0, bit 23) */
    case 0x1b: /* FMUL (U=1) */
    case 0x1f: /* FDIV (U=1) */
      if ((opc == 0x1a) == (bool)u || (opc != 0x1a && (d->size & 2)))
        return false;
      if (!jit_host_sse42())
        return false;
      d->k = SK_FP;
      d->sub = opc == 0x1a ? (d->size >> 1) : opc == 0x1b ? 2 : 3;
      d->size = 2 + (d->size & 1);
      return true;
    case 0x19: /* FMLA, FMLS (bit 23) */
      if (u || !jit_host_fma3() || !jit_host_sse42())
        return false;
      d->k = SK_FP;
      d->sub = d->size & 2 ? 5 : 4;
      d->size = 2 + (d->size & 1);
      return true;
    default:
      return false;
    }
  }
  if ((raw & 0x9f3fbc00u) == 0x0e202800u) { /* [SU]ADDLP / [SU]ADALP */
    if (!u || d->size == 3)
      return false;
    d->k = SK_ADDLP;
    d->sub = (raw >> 14) & 1;
    return true;
  }
  if ((raw & 0x9f3e0c00u) == 0x0e200800u) { /* two-register misc */
    unsigned opc = (raw >> 12) & 31;
    switch (opc) {
    case 0x05: /* NOT (U, size 0); RBIT (U, size 1); CNT */
      if (!u || d->size != 0)
        return false;
      d->k = SK_NOT;
      return true;
    case 0x08: /* CMGT #0, CMGE #0 */
    case 0x09: /* CMEQ #0, CMLE #0 */
    case 0x0a: /* CMLT #0 */
      d->k = SK_CMP;
      d->sub = opc == 0x08   ? (u ? C_GE0 : C_GT0)
               : opc == 0x09 ? (u ? C_LE0 : C_EQ0)
                             : C_LT0;
      return d->size < 3 || jit_host_sse42();
    case 0x0b: /* NEG (U); ABS */
      if (!u)
        return false;
      d->k = SK_NEG;
      return true;
    default:
      return false;
    }
  }
  if ((raw & 0x9f800400u) == 0x0f000400u && ((raw >> 19) & 15)) {
    unsigned immh = (raw >> 19) & 15, ib = (raw >> 16) & 127;
    unsigned opc = (raw >> 11) & 31;
    unsigned s = 31 - (unsigned)__builtin_clz(immh); /* lane 8 << s */
    unsigned esize = 8u << s;
    if (s == 0 || (s == 3 && !d->q))
      return false; /* no byte shifts on SSE; 1D is reserved */
    d->size = s;
    d->k = SK_SHIFT;
    if (opc == 0x00) { /* SSHR / USHR */
      if (!u && s == 3)
        return false; /* no psraq */
      d->sub = u ? XE_SHR : XE_SAR;
      d->imm = 2 * esize - ((immh << 3) | (ib & 7));
      return true;
    }
    if (opc == 0x0a && !u) { /* SHL */
      d->sub = XE_SHL;
      d->imm = ((immh << 3) | (ib & 7)) - esize;
      return true;
    }
  }
  return false;
}

bool jit_simd_inline(const struct emu_insn *in) {
  struct sd d;
  return classify(in, &d);
}

bool jit_simd_plain(const struct emu_insn *in) {
  struct sd d;
  return classify(in, &d) && d.k != SK_FP;
}

void jit_vload(struct xe_buf *b, enum xe_xmm x, unsigned r) {
  xe_sse_rm(b, XE_MOVDQU, x, jit_vreg_m(r, 0));
}

void jit_vstore(struct xe_buf *b, unsigned r, enum xe_xmm x, unsigned q) {
  if (!q)
    xe_sse_rr(b, XE_MOVQ, x, x);
  xe_sse_store(b, XE_MOVDQU, jit_vreg_m(r, 0), x);
}

/* xmm x = the 32- or 64-bit constant k in every lane. Clobbers rax. */
static void splat(struct xe_buf *b, enum xe_xmm x, unsigned size, uint64_t k) {
  xe_mov_ri(b, XE_RAX, k);
  xe_movd_xr(b, size == 3 ? 64 : 32, x, XE_RAX);
  xe_pshufd(b, x, x, size == 3 ? 0x44 : 0x00);
}

/* Every used lane of xmm0 a normal number above the smallest normal
 * (fp_fast_res32/64): with |r| + (INT_MIN - that smallest) the range is
 * one signed compare. Leaves ZF = 0 (NE) when a lane fails. Clobbers
 * rax, xmm1, xmm2. */
static void lanes_test(struct xe_buf *b, unsigned size, unsigned q) {
  unsigned lane = 8u << size;
  xe_sse_rr(b, XE_MOVAPS, XE_XMM1, XE_XMM0);
  xe_psh_ri(b, XE_SHL, lane, XE_XMM1, 1);
  xe_psh_ri(b, XE_SHR, lane, XE_XMM1, 1);
  if (size == 2) {
    splat(b, XE_XMM2, 2, 0x7f7fffffu); /* INT32_MIN - 0x00800001 */
    xe_sse_rr(b, XE_PADDD, XE_XMM1, XE_XMM2);
    splat(b, XE_XMM2, 2, 0xfeffffffu); /* where +inf lands */
    xe_sse_rr(b, XE_PCMPGTD, XE_XMM2, XE_XMM1);
    xe_movmsk(b, false, XE_RAX, XE_XMM2);
  } else {
    splat(b, XE_XMM2, 3, 0x7fefffffffffffffull);
    xe_sse_rr(b, XE_PADDQ, XE_XMM1, XE_XMM2);
    splat(b, XE_XMM2, 3, 0xffdfffffffffffffull);
    xe_sse_rr(b, XE_PCMPGTQ, XE_XMM2, XE_XMM1);
    xe_movmsk(b, true, XE_RAX, XE_XMM2);
  }
  unsigned all = size == 2 && q ? 0xf : 0x3;
  if (size == 2 && !q) /* 2S: the upper lanes are not the result's */
    xe_alu_ri(b, XE_AND, 32, XE_RAX, 3);
  xe_alu_ri(b, XE_XOR, 32, XE_RAX, (int32_t)all);
}

static void emit_fp(struct jit_ctx *c, unsigned idx, const struct sd *d) {
  static const enum xe_sse ops[2][4] = {
      {XE_ADDPS, XE_SUBPS, XE_MULPS, XE_DIVPS},
      {XE_ADDPD, XE_SUBPD, XE_MULPD, XE_DIVPD}};
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  uint32_t raw = in->raw;
  struct xe_fixup env = jit_fp_env_check(c);
  if (d->sub >= 4) { /* FMLA, FMLS: d +- n * m, one rounding per lane */
    static const enum xe_avx fma[2][2] = {{XE_VFMADD231PS, XE_VFMADD231PD},
                                          {XE_VFNMADD231PS, XE_VFNMADD231PD}};
    jit_vload(b, XE_XMM0, raw & 31);
    jit_vload(b, XE_XMM1, (raw >> 5) & 31);
    jit_vload(b, XE_XMM2, (raw >> 16) & 31);
    xe_avx_rrr(b, fma[d->sub - 4][d->size == 3], 128, XE_XMM0, XE_XMM1,
               XE_XMM2);
  } else {
    jit_vload(b, XE_XMM0, (raw >> 5) & 31);
    jit_vload(b, XE_XMM1, (raw >> 16) & 31);
    xe_sse_rr(b, ops[d->size == 3][d->sub], XE_XMM0, XE_XMM1);
  }
  lanes_test(b, d->size, d->q);
  jit_fp_slow(c, env, XE_NE, idx);
  jit_vstore(b, raw & 31, XE_XMM0, d->q);
  jit_cold_resume(c);
}

/* xmm x = ~xmm x. Clobbers xmm3. */
static void vnot(struct xe_buf *b, enum xe_xmm x) {
  xe_sse_rr(b, XE_PCMPEQD, XE_XMM3, XE_XMM3);
  xe_sse_rr(b, XE_PXOR, x, XE_XMM3);
}

/* CMEQ and friends into xmm0: signed greater-than is pcmpgt; unsigned
 * compares flip the sign bits first; >= is the negated > with the
 * operands swapped. */
static void emit_cmp(struct xe_buf *b, const struct sd *d, unsigned rn,
                     unsigned rm) {
  static const enum xe_sse eq[4] = {XE_PCMPEQB, XE_PCMPEQW, XE_PCMPEQD,
                                    XE_PCMPEQQ};
  static const enum xe_sse gt[4] = {XE_PCMPGTB, XE_PCMPGTW, XE_PCMPGTD,
                                    XE_PCMPGTQ};
  unsigned s = d->size;
  bool swap = d->sub == C_GE || d->sub == C_HS;
  switch (d->sub) {
  case C_EQ:
  case C_GT:
  case C_GE:
  case C_TST:
    jit_vload(b, XE_XMM0, swap ? rm : rn);
    jit_vload(b, XE_XMM1, swap ? rn : rm);
    if (d->sub == C_TST) {
      xe_sse_rr(b, XE_PAND, XE_XMM0, XE_XMM1);
      xe_sse_rr(b, XE_PXOR, XE_XMM1, XE_XMM1);
    }
    xe_sse_rr(b, d->sub == C_EQ || d->sub == C_TST ? eq[s] : gt[s], XE_XMM0,
              XE_XMM1);
    if (d->sub == C_GE || d->sub == C_TST)
      vnot(b, XE_XMM0);
    break;
  case C_HI:
  case C_HS:
    jit_vload(b, XE_XMM0, swap ? rm : rn);
    jit_vload(b, XE_XMM1, swap ? rn : rm);
    if (s == 0) {
      splat(b, XE_XMM2, 2, 0x80808080u);
    } else {
      xe_sse_rr(b, XE_PCMPEQD, XE_XMM2, XE_XMM2);
      xe_psh_ri(b, XE_SHL, 8u << s, XE_XMM2, (uint8_t)((8u << s) - 1));
    }
    xe_sse_rr(b, XE_PXOR, XE_XMM0, XE_XMM2);
    xe_sse_rr(b, XE_PXOR, XE_XMM1, XE_XMM2);
    xe_sse_rr(b, gt[s], XE_XMM0, XE_XMM1);
    if (swap)
      vnot(b, XE_XMM0);
    break;
  case C_EQ0:
  case C_GT0:
  case C_LE0:
    jit_vload(b, XE_XMM0, rn);
    xe_sse_rr(b, XE_PXOR, XE_XMM1, XE_XMM1);
    xe_sse_rr(b, d->sub == C_EQ0 ? eq[s] : gt[s], XE_XMM0, XE_XMM1);
    if (d->sub == C_LE0)
      vnot(b, XE_XMM0);
    break;
  default: /* C_LT0, C_GE0: 0 > n */
    jit_vload(b, XE_XMM1, rn);
    xe_sse_rr(b, XE_PXOR, XE_XMM0, XE_XMM0);
    xe_sse_rr(b, gt[s], XE_XMM0, XE_XMM1);
    if (d->sub == C_GE0)
      vnot(b, XE_XMM0);
    break;
  }
}

/* ORN, BSL, BIT, BIF into xmm0: a bitwise select x ^ ((x ^ y) & mask). */
static void emit_sel(struct xe_buf *b, const struct sd *d, unsigned rd,
                     unsigned rn, unsigned rm) {
  if (d->sub == 0) { /* ORN: n | ~m */
    jit_vload(b, XE_XMM0, rm);
    vnot(b, XE_XMM0);
    jit_vload(b, XE_XMM1, rn);
    xe_sse_rr(b, XE_POR, XE_XMM0, XE_XMM1);
    return;
  }
  /* BSL: m ^ ((m ^ n) & d); BIT: d ^ ((d ^ n) & m); BIF: with ~m */
  unsigned x = d->sub == 1 ? rm : rd, mask = d->sub == 1 ? rd : rm;
  jit_vload(b, XE_XMM1, x);
  jit_vload(b, XE_XMM0, rn);
  jit_vload(b, XE_XMM2, mask);
  xe_sse_rr(b, XE_PXOR, XE_XMM0, XE_XMM1);
  if (d->sub == 3) { /* pandn: dst = ~dst & src */
    xe_sse_rr(b, XE_PANDN, XE_XMM2, XE_XMM0);
    xe_sse_rr(b, XE_MOVAPS, XE_XMM0, XE_XMM2);
  } else {
    xe_sse_rr(b, XE_PAND, XE_XMM0, XE_XMM2);
  }
  xe_sse_rr(b, XE_PXOR, XE_XMM0, XE_XMM1);
}

/* Byte MUL into xmm0 (no pmullb): the even and the odd bytes multiplied
 * as words, each product's low byte kept. */
static void emit_mul8(struct xe_buf *b, unsigned rn, unsigned rm) {
  jit_vload(b, XE_XMM0, rn);
  jit_vload(b, XE_XMM1, rm);
  xe_sse_rr(b, XE_MOVAPS, XE_XMM2, XE_XMM0);
  xe_sse_rr(b, XE_MOVAPS, XE_XMM3, XE_XMM1);
  xe_psh_ri(b, XE_SHR, 16, XE_XMM2, 8);
  xe_psh_ri(b, XE_SHR, 16, XE_XMM3, 8);
  xe_sse_rr(b, XE_PMULLW, XE_XMM2, XE_XMM3);
  xe_psh_ri(b, XE_SHL, 16, XE_XMM2, 8);
  xe_sse_rr(b, XE_PMULLW, XE_XMM0, XE_XMM1);
  xe_sse_rr(b, XE_PCMPEQW, XE_XMM3, XE_XMM3);
  xe_psh_ri(b, XE_SHR, 16, XE_XMM3, 8);
  xe_sse_rr(b, XE_PAND, XE_XMM0, XE_XMM3);
  xe_sse_rr(b, XE_POR, XE_XMM0, XE_XMM2);
}

void jit_emit_simd(struct jit_ctx *c, unsigned idx) {
  struct sd d;
  const struct emu_insn *in = &c->insn[idx];
  struct xe_buf *b = c->b;
  if (!classify(in, &d)) {
    xe_fail(b, "jit_emit_simd: not an inline SIMD insn");
    return;
  }
  unsigned rd = in->raw & 31, rn = (in->raw >> 5) & 31,
           rm = (in->raw >> 16) & 31;
  unsigned lane = 8u << d.size;
  switch (d.k) {
  case SK_BIN:
    jit_vload(b, XE_XMM0, rn);
    jit_vload(b, XE_XMM1, rm);
    xe_sse_rr(b, d.op, XE_XMM0, XE_XMM1);
    break;
  case SK_BIC: /* pandn: dst = ~dst & src */
    jit_vload(b, XE_XMM0, rm);
    jit_vload(b, XE_XMM1, rn);
    xe_sse_rr(b, XE_PANDN, XE_XMM0, XE_XMM1);
    break;
  case SK_MUL:
  case SK_MUL8: {
    static const enum xe_sse add[3] = {XE_PADDB, XE_PADDW, XE_PADDD};
    static const enum xe_sse sub[3] = {XE_PSUBB, XE_PSUBW, XE_PSUBD};
    if (d.k == SK_MUL8) {
      emit_mul8(b, rn, rm);
    } else {
      jit_vload(b, XE_XMM0, rn);
      jit_vload(b, XE_XMM1, rm);
      xe_sse_rr(b, d.size == 1 ? XE_PMULLW : XE_PMULLD, XE_XMM0, XE_XMM1);
    }
    if (d.sub) {
      jit_vload(b, XE_XMM1, rd);
      if (d.sub == 1) {
        xe_sse_rr(b, add[d.size], XE_XMM0, XE_XMM1);
      } else {
        xe_sse_rr(b, sub[d.size], XE_XMM1, XE_XMM0);
        xe_sse_rr(b, XE_MOVAPS, XE_XMM0, XE_XMM1);
      }
    }
    break;
  }
  case SK_CMP:
    emit_cmp(b, &d, rn, rm);
    break;
  case SK_SEL:
    emit_sel(b, &d, rd, rn, rm);
    break;
  case SK_NOT:
    jit_vload(b, XE_XMM0, rn);
    vnot(b, XE_XMM0);
    break;
  case SK_NEG: {
    static const enum xe_sse sub[4] = {XE_PSUBB, XE_PSUBW, XE_PSUBD, XE_PSUBQ};
    jit_vload(b, XE_XMM1, rn);
    xe_sse_rr(b, XE_PXOR, XE_XMM0, XE_XMM0);
    xe_sse_rr(b, sub[d.size], XE_XMM0, XE_XMM1);
    break;
  }
  case SK_UABD:
    jit_vload(b, XE_XMM0, rn);
    jit_vload(b, XE_XMM1, rm);
    if (d.size == 2) { /* max - min */
      xe_sse_rr(b, XE_MOVAPS, XE_XMM2, XE_XMM0);
      xe_sse_rr(b, XE_PMAXUD, XE_XMM0, XE_XMM1);
      xe_sse_rr(b, XE_PMINUD, XE_XMM1, XE_XMM2);
      xe_sse_rr(b, XE_PSUBD, XE_XMM0, XE_XMM1);
    } else { /* (n -sat m) | (m -sat n): one of them is 0 */
      enum xe_sse op = d.size == 0 ? XE_PSUBUSB : XE_PSUBUSW;
      xe_sse_rr(b, XE_MOVAPS, XE_XMM2, XE_XMM0);
      xe_sse_rr(b, op, XE_XMM0, XE_XMM1);
      xe_sse_rr(b, op, XE_XMM1, XE_XMM2);
      xe_sse_rr(b, XE_POR, XE_XMM0, XE_XMM1);
    }
    break;
  case SK_ADDLP: {
    /* each 2e-bit lane: its high half (shifted down) plus its low half */
    static const enum xe_sse add2[3] = {XE_PADDW, XE_PADDD, XE_PADDQ};
    jit_vload(b, XE_XMM0, rn);
    xe_sse_rr(b, XE_PCMPEQD, XE_XMM2, XE_XMM2);
    xe_psh_ri(b, XE_SHR, 2 * lane, XE_XMM2, (uint8_t)lane);
    xe_sse_rr(b, XE_MOVAPS, XE_XMM1, XE_XMM0);
    xe_sse_rr(b, XE_PAND, XE_XMM1, XE_XMM2);
    xe_psh_ri(b, XE_SHR, 2 * lane, XE_XMM0, (uint8_t)lane);
    xe_sse_rr(b, add2[d.size], XE_XMM0, XE_XMM1);
    if (d.sub) {
      jit_vload(b, XE_XMM1, rd);
      xe_sse_rr(b, add2[d.size], XE_XMM0, XE_XMM1);
    }
    break;
  }
  case SK_SHIFT:
    jit_vload(b, XE_XMM0, rn);
    xe_psh_ri(b, (enum xe_shift)d.sub, lane, XE_XMM0, (uint8_t)d.imm);
    break;
  case SK_FP:
    emit_fp(c, idx, &d);
    return;
  }
  jit_vstore(b, rd, XE_XMM0, d.q);
}
