/* emit_simd.c — AdvSIMD vector instructions inline on SSE (issue 10):
 * integer ADD/SUB, AND/BIC/ORR/EOR, MUL/MLA/MLS (16/32-bit lanes),
 * UABD, UADDLP/UADALP, USHR/SSHR/SHL by immediate, and FADD/FSUB/FMUL/
 * FDIV/FMLA (host FMA3) on 4S/2S/2D with the interpreter's whole-vector
 * fast path
 * (simd_fp.c: the fast environment of emit_fp.c and every used lane a
 * normal result above the smallest normal, tested at once with a
 * compare and movmsk; otherwise the interpreter's handler runs on the
 * untouched registers). 64-bit (Q = 0) forms zero the upper half.
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
  SK_FP,    /* sub: 0 add, 1 sub, 2 mul, 3 div, 4 FMLA; size: 2 or 3 */
};

struct sd {
  enum simdk k;
  unsigned q;    /* 1: 128 bits, 0: 64 (upper half zeroed) */
  unsigned size; /* lane: 8 << size bits */
  unsigned sub, imm;
  enum xe_sse op; /* SK_BIN */
};

static bool classify(const struct emu_insn *in, struct sd *d) {
  if (in->op != EMU_OP_SIMD)
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
        return false;
      return true;
    case 0x10:
      d->k = SK_BIN;
      d->op = u ? sub[d->size] : add[d->size];
      return true;
    case 0x12: /* MLA, MLS */
    case 0x13: /* MUL */
      if (d->size != 1 && d->size != 2)
        return false;
      if (opc == 0x13 && u) /* PMUL */
        return false;
      d->k = SK_MUL;
      d->sub = opc == 0x13 ? 0 : u ? 2 : 1;
      return d->size == 1 || jit_host_sse42();
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
    case 0x19: /* FMLA (FMLS, bit 23, has no fast path to copy) */
      if (u || (d->size & 2) || !jit_host_fma3() || !jit_host_sse42())
        return false;
      d->k = SK_FP;
      d->sub = 4;
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

static void load_v(struct xe_buf *b, enum xe_xmm x, unsigned r) {
  xe_sse_rm(b, XE_MOVDQU, x, jit_vreg_m(r, 0));
}

/* V register r = xmm x (the upper half zeroed first for a 64-bit form). */
static void store_v(struct xe_buf *b, unsigned r, enum xe_xmm x, unsigned q) {
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
  if (d->sub == 4) { /* FMLA: d + n * m, one rounding per lane */
    enum xe_avx fma = d->size == 3 ? XE_VFMADD231PD : XE_VFMADD231PS;
    load_v(b, XE_XMM0, raw & 31);
    load_v(b, XE_XMM1, (raw >> 5) & 31);
    load_v(b, XE_XMM2, (raw >> 16) & 31);
    xe_avx_rrr(b, fma, 128, XE_XMM0, XE_XMM1, XE_XMM2);
  } else {
    load_v(b, XE_XMM0, (raw >> 5) & 31);
    load_v(b, XE_XMM1, (raw >> 16) & 31);
    xe_sse_rr(b, ops[d->size == 3][d->sub], XE_XMM0, XE_XMM1);
  }
  lanes_test(b, d->size, d->q);
  jit_fp_slow(c, env, XE_NE, idx);
  store_v(b, raw & 31, XE_XMM0, d->q);
  jit_cold_resume(c);
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
    load_v(b, XE_XMM0, rn);
    load_v(b, XE_XMM1, rm);
    xe_sse_rr(b, d.op, XE_XMM0, XE_XMM1);
    break;
  case SK_BIC: /* pandn: dst = ~dst & src */
    load_v(b, XE_XMM0, rm);
    load_v(b, XE_XMM1, rn);
    xe_sse_rr(b, XE_PANDN, XE_XMM0, XE_XMM1);
    break;
  case SK_MUL:
    load_v(b, XE_XMM0, rn);
    load_v(b, XE_XMM1, rm);
    xe_sse_rr(b, d.size == 1 ? XE_PMULLW : XE_PMULLD, XE_XMM0, XE_XMM1);
    if (d.sub) {
      load_v(b, XE_XMM1, rd);
      if (d.sub == 1) {
        xe_sse_rr(b, d.size == 1 ? XE_PADDW : XE_PADDD, XE_XMM0, XE_XMM1);
      } else {
        xe_sse_rr(b, d.size == 1 ? XE_PSUBW : XE_PSUBD, XE_XMM1, XE_XMM0);
        xe_sse_rr(b, XE_MOVAPS, XE_XMM0, XE_XMM1);
      }
    }
    break;
  case SK_UABD:
    load_v(b, XE_XMM0, rn);
    load_v(b, XE_XMM1, rm);
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
    load_v(b, XE_XMM0, rn);
    xe_sse_rr(b, XE_PCMPEQD, XE_XMM2, XE_XMM2);
    xe_psh_ri(b, XE_SHR, 2 * lane, XE_XMM2, (uint8_t)lane);
    xe_sse_rr(b, XE_MOVAPS, XE_XMM1, XE_XMM0);
    xe_sse_rr(b, XE_PAND, XE_XMM1, XE_XMM2);
    xe_psh_ri(b, XE_SHR, 2 * lane, XE_XMM0, (uint8_t)lane);
    xe_sse_rr(b, add2[d.size], XE_XMM0, XE_XMM1);
    if (d.sub) {
      load_v(b, XE_XMM1, rd);
      xe_sse_rr(b, add2[d.size], XE_XMM0, XE_XMM1);
    }
    break;
  }
  case SK_SHIFT:
    load_v(b, XE_XMM0, rn);
    xe_psh_ri(b, (enum xe_shift)d.sub, lane, XE_XMM0, (uint8_t)d.imm);
    break;
  case SK_FP:
    emit_fp(c, idx, &d);
    return;
  }
  store_v(b, rd, XE_XMM0, d.q);
}
