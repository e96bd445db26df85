/* emit_simd_perm.c — AdvSIMD moves, permutes and reductions inline on
 * SSE (issue 10), the ones glibc's string functions and compilers'
 * vectorised loops run: DUP (element, general, scalar), INS (element,
 * general), UMOV/SMOV, MOVI/MVNI/ORR/BIC (vector immediate), EXT, TBL/TBX,
 * XTN/SHRN, ADDP/UMAXP/UMINP/SMAXP/SMINP (vector) and ADDV/UMAXV/UMINV/
 * SMAXV/SMINV. Each is exactly the interpreter's handler (simd_perm.c,
 * simd_int.c) and has no slow path: none of them depends on FPCR or
 * raises anything. Forms needing SSSE3/SSE4.1 (pshufb, palignr, pinsrq,
 * pmaxud...) are taken only when the host has SSE4.2 (which implies
 * them); otherwise the handler is called.
 *
 * Recognised from in->raw with the interpreter's own masks (in->op =
 * SIMD says the interpreter accepted the encoding); the operands are the
 * decoder's (lane indices, the expanded immediate, the GPR numbers with
 * XZR and the sink resolved).
 *
 * Runs on the translating CPU's thread (emission) and on that CPU's
 * thread (the emitted code); no shared state.
 */
#include "emu/decode.h"
#include "emu/jit/emit.h"

enum permk {
  PK_DUP_ELEM,
  PK_DUP_GEN,
  PK_DUP_SCALAR,
  PK_INS_GEN,
  PK_INS_ELEM,
  PK_UMOV,
  PK_SMOV,
  PK_MOVI, /* sub: 0 set, 1 or, 2 and */
  PK_EXT,
  PK_TBL,
  PK_NARROW, /* sub: the right shift (0: XTN) */
  PK_PAIR,   /* sub: enum redop */
  PK_ACROSS, /* sub: enum redop */
};

enum redop { R_ADD, R_UMAX, R_UMIN, R_SMAX, R_SMIN };

struct pd {
  enum permk k;
  unsigned q, s, sub;
};

static bool classify(const struct emu_insn *in, struct pd *d) {
  if (!emu_op_is_simd(in->op))
    return false;
  uint32_t raw = in->raw;
  unsigned u = (raw >> 29) & 1;
  d->q = (raw >> 30) & 1;
  d->s = in->b;
  d->sub = 0;
  if ((raw & 0x9fe08400u) == 0x0e000400u) { /* AdvSIMD copy */
    unsigned imm4 = (raw >> 11) & 15;
    if (u) {
      d->k = PK_INS_ELEM;
      return true;
    }
    switch (imm4) {
    case 0:
      d->k = PK_DUP_ELEM;
      return d->s == 0 ? jit_host_sse42() : true;
    case 1:
      d->k = PK_DUP_GEN;
      return d->s == 0 ? jit_host_sse42() : true;
    case 3:
      d->k = PK_INS_GEN;
      return true;
    case 5:
      d->k = PK_SMOV;
      return true;
    case 7:
      d->k = PK_UMOV;
      return true;
    }
    return false;
  }
  if ((raw & 0xdfe08400u) == 0x5e000400u) { /* scalar copy: DUP (MOV) */
    d->k = PK_DUP_SCALAR;
    return !u && !((raw >> 11) & 15);
  }
  if ((raw & 0x9ff80400u) == 0x0f000400u) { /* modified immediate */
    unsigned cmode = (raw >> 12) & 15;
    d->k = PK_MOVI;
    if (cmode < 12 && (cmode & 1))
      d->sub = u ? 2 : 1; /* BIC (the decoder inverted imm) : ORR */
    return true;
  }
  if (!jit_host_sse42())
    return false;
  if ((raw & 0xbfe08400u) == 0x2e000000u) { /* EXT */
    d->k = PK_EXT;
    return true;
  }
  if ((raw & 0xbfe08c00u) == 0x0e000000u) { /* TBL / TBX */
    d->k = PK_TBL;
    return true;
  }
  if ((raw & 0xbf3ffc00u) == 0x0e212800u) { /* XTN, XTN2 */
    d->k = PK_NARROW;
    return true;
  }
  if ((raw & 0xbf80fc00u) == 0x0f008400u) { /* SHRN, SHRN2 */
    d->k = PK_NARROW;
    d->sub = (unsigned)in->imm;
    return true;
  }
  if ((raw & 0x9f200400u) == 0x0e200400u) { /* three same: pairwise */
    unsigned opc = (raw >> 11) & 31;
    d->k = PK_PAIR;
    if (opc == 0x17 && !u)
      d->sub = R_ADD;
    else if (opc == 0x14)
      d->sub = u ? R_UMAX : R_SMAX;
    else if (opc == 0x15)
      d->sub = u ? R_UMIN : R_SMIN;
    else
      return false;
    return true;
  }
  if ((raw & 0x9f3e0c00u) == 0x0e300800u) { /* across lanes */
    unsigned opc = (raw >> 12) & 31;
    d->k = PK_ACROSS;
    if (opc == 0x1b && !u)
      d->sub = R_ADD;
    else if (opc == 0x0a)
      d->sub = u ? R_UMAX : R_SMAX;
    else if (opc == 0x1a)
      d->sub = u ? R_UMIN : R_SMIN;
    else
      return false;
    return true;
  }
  return false;
}

bool jit_simd_perm_inline(const struct emu_insn *in) {
  struct pd d;
  return classify(in, &d);
}

bool jit_simd_perm_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr) {
  struct pd d;
  *rd = *wr = 0;
  if (!classify(in, &d))
    return false;
  if (d.k == PK_DUP_GEN || d.k == PK_INS_GEN)
    *rd = 1ull << in->rn;
  else if (d.k == PK_UMOV || d.k == PK_SMOV)
    *wr = 1ull << in->rd;
  return true;
}

/* The lane-wise op of a reduction, per lane size (64-bit: ADDP only). */
static const enum xe_sse redops[5][4] = {
    [R_ADD] = {XE_PADDB, XE_PADDW, XE_PADDD, XE_PADDQ},
    [R_UMAX] = {XE_PMAXUB, XE_PMAXUW, XE_PMAXUD, XE_SSE_NOPS},
    [R_UMIN] = {XE_PMINUB, XE_PMINUW, XE_PMINUD, XE_SSE_NOPS},
    [R_SMAX] = {XE_PMAXSB, XE_PMAXSW, XE_PMAXSD, XE_SSE_NOPS},
    [R_SMIN] = {XE_PMINSB, XE_PMINSW, XE_PMINSD, XE_SSE_NOPS},
};

/* xmm x = rax's low 8 << s bits in every lane. Clobbers xmm1. */
static void broadcast(struct xe_buf *b, enum xe_xmm x, unsigned s) {
  xe_movd_xr(b, 64, x, XE_RAX);
  switch (s) {
  case 0:
    xe_sse_rr(b, XE_PXOR, XE_XMM1, XE_XMM1);
    xe_sse_rr(b, XE_PSHUFB, x, XE_XMM1);
    break;
  case 1:
    xe_pshuflw(b, x, x, 0);
    xe_pshufd(b, x, x, 0);
    break;
  case 2:
    xe_pshufd(b, x, x, 0);
    break;
  default:
    xe_pshufd(b, x, x, 0x44);
    break;
  }
}

/* xmm x = the byte k in every lane. Clobbers rax. */
static void splat8(struct xe_buf *b, enum xe_xmm x, uint8_t k) {
  xe_mov_ri(b, XE_RAX, k * 0x01010101u);
  xe_movd_xr(b, 32, x, XE_RAX);
  xe_pshufd(b, x, x, 0);
}

/* xmm x = hi:lo. Clobbers rax. */
static void const128(struct xe_buf *b, enum xe_xmm x, uint64_t lo,
                     uint64_t hi) {
  xe_mov_ri(b, XE_RAX, lo);
  xe_movd_xr(b, 64, x, XE_RAX);
  xe_mov_ri(b, XE_RAX, hi);
  xe_pinsr(b, 64, x, XE_RAX, 1);
}

/* pshufb controls: the even lanes of 8 << s bits to the low 8 bytes, the
 * odd ones to the high 8 (s = 0, 1) */
static const uint64_t even_lo[2] = {0x0e0c0a0806040200ull,
                                    0x0d0c090805040100ull};
static const uint64_t odd_hi[2] = {0x0f0d0b0907050301ull,
                                   0x0f0e0b0a07060302ull};

/* xmm x: even lanes in the low half, odd ones in the high half. */
static void split_even_odd(struct xe_buf *b, enum xe_xmm x, unsigned s,
                           enum xe_xmm ctl) {
  if (s == 2)
    xe_pshufd(b, x, x, 0xd8);
  else
    xe_sse_rr(b, XE_PSHUFB, x, ctl);
}

/* ADDP and friends: element i of the result = op(pair i of m:n) */
static void emit_pair(struct xe_buf *b, const struct emu_insn *in,
                      const struct pd *d) {
  enum xe_sse op = redops[d->sub][d->s];
  if (d->s < 2)
    const128(b, XE_XMM3, even_lo[d->s], odd_hi[d->s]);
  if (d->q) {
    jit_vload(b, XE_XMM0, in->rn);
    jit_vload(b, XE_XMM1, in->rm);
    if (d->s < 3) {
      split_even_odd(b, XE_XMM0, d->s, XE_XMM3);
      split_even_odd(b, XE_XMM1, d->s, XE_XMM3);
    }
    xe_sse_rr(b, XE_MOVAPS, XE_XMM2, XE_XMM0);
    xe_sse_rr(b, XE_PUNPCKLQDQ, XE_XMM0, XE_XMM1); /* evens of n, of m */
    xe_sse_rr(b, XE_PUNPCKHQDQ, XE_XMM2, XE_XMM1); /* odds */
  } else {
    xe_sse_rm(b, XE_MOVQ, XE_XMM0, jit_vreg_m(in->rn, 0));
    xe_sse_rm(b, XE_MOVQ, XE_XMM1, jit_vreg_m(in->rm, 0));
    xe_sse_rr(b, XE_PUNPCKLQDQ, XE_XMM0, XE_XMM1);
    split_even_odd(b, XE_XMM0, d->s, XE_XMM3);
    xe_pshufd(b, XE_XMM2, XE_XMM0, 0xee);
  }
  xe_sse_rr(b, op, XE_XMM0, XE_XMM2);
  jit_vstore(b, in->rd, XE_XMM0, d->q);
}

/* ADDV and friends: halve the vector log2(lanes) times; lane 0 is the
 * result, zero-extended into the scalar register. */
static void emit_across(struct xe_buf *b, const struct emu_insn *in,
                        const struct pd *d) {
  enum xe_sse op = redops[d->sub][d->s];
  if (d->q)
    jit_vload(b, XE_XMM0, in->rn);
  else
    xe_sse_rm(b, XE_MOVQ, XE_XMM0, jit_vreg_m(in->rn, 0));
  for (unsigned w = d->q ? 8 : 4; w >= 1u << d->s; w /= 2) {
    xe_sse_rr(b, XE_MOVAPS, XE_XMM1, XE_XMM0);
    xe_pbsh_ri(b, XE_SHR, XE_XMM1, (uint8_t)w);
    xe_sse_rr(b, op, XE_XMM0, XE_XMM1);
  }
  xe_movd_rx(b, 32, XE_RAX, XE_XMM0);
  if (d->s < 2)
    xe_movzx_rr(b, XE_RAX, 8u << d->s, XE_RAX);
  xe_store(b, 64, jit_vreg_m(in->rd, 0), XE_RAX);
  xe_store_imm(b, 64, jit_vreg_m(in->rd, 8), 0);
}

/* XTN / SHRN: each 2E-bit lane (shifted right) truncated to E bits, into
 * the low half (the high half zeroed) or, for the "2" forms, the high
 * half (the low half kept). */
static void emit_narrow(struct xe_buf *b, const struct emu_insn *in,
                        const struct pd *d) {
  jit_vload(b, XE_XMM0, in->rn);
  if (d->sub)
    xe_psh_ri(b, XE_SHR, 16u << d->s, XE_XMM0, (uint8_t)d->sub);
  if (d->s < 2) {
    xe_mov_ri(b, XE_RAX, even_lo[d->s]);
    xe_movd_xr(b, 64, XE_XMM1, XE_RAX);
    xe_sse_rr(b, XE_PSHUFB, XE_XMM0, XE_XMM1);
  } else {
    xe_pshufd(b, XE_XMM0, XE_XMM0, 0x08);
  }
  if (!d->q) {
    jit_vstore(b, in->rd, XE_XMM0, 0);
    return;
  }
  xe_sse_rm(b, XE_MOVQ, XE_XMM1, jit_vreg_m(in->rd, 0));
  xe_sse_rr(b, XE_PUNPCKLQDQ, XE_XMM1, XE_XMM0);
  jit_vstore(b, in->rd, XE_XMM1, 1);
}

/* EXT: bytes pos.. of m:n */
static void emit_ext(struct xe_buf *b, const struct emu_insn *in,
                     const struct pd *d) {
  uint8_t pos = (uint8_t)in->imm;
  if (d->q) {
    jit_vload(b, XE_XMM0, in->rn);
    jit_vload(b, XE_XMM1, in->rm);
    xe_palignr(b, XE_XMM1, XE_XMM0, pos);
    jit_vstore(b, in->rd, XE_XMM1, 1);
    return;
  }
  xe_sse_rm(b, XE_MOVQ, XE_XMM0, jit_vreg_m(in->rn, 0));
  xe_sse_rm(b, XE_MOVQ, XE_XMM1, jit_vreg_m(in->rm, 0));
  xe_sse_rr(b, XE_PUNPCKLQDQ, XE_XMM0, XE_XMM1);
  if (pos)
    xe_pbsh_ri(b, XE_SHR, XE_XMM0, pos);
  jit_vstore(b, in->rd, XE_XMM0, 0);
}

/* TBL/TBX: one pshufb per table register on the indices minus 16k, with
 * 0x70 added unsigned-saturating: an index of that register lands in
 * 0x70..0x7f (pshufb takes its low nibble), any other at 0x80 or above
 * (pshufb gives 0). TBX then keeps Vd where the index is beyond the
 * table. */
static void emit_tbl(struct xe_buf *b, const struct emu_insn *in,
                     const struct pd *d) {
  unsigned regs = in->a;
  jit_vload(b, XE_XMM1, in->rm);
  if (in->imm)
    xe_sse_rr(b, XE_MOVAPS, XE_XMM6, XE_XMM1);
  splat8(b, XE_XMM5, 0x70);
  if (regs > 1)
    splat8(b, XE_XMM4, 0x10);
  for (unsigned k = 0; k < regs; k++) {
    enum xe_xmm t = k ? XE_XMM3 : XE_XMM0;
    xe_sse_rr(b, XE_MOVAPS, XE_XMM2, XE_XMM1);
    xe_sse_rr(b, XE_PADDUSB, XE_XMM2, XE_XMM5);
    jit_vload(b, t, (in->rn + k) & 31);
    xe_sse_rr(b, XE_PSHUFB, t, XE_XMM2);
    if (k)
      xe_sse_rr(b, XE_POR, XE_XMM0, XE_XMM3);
    if (k + 1 < regs)
      xe_sse_rr(b, XE_PSUBB, XE_XMM1, XE_XMM4);
  }
  if (in->imm) { /* in range: idx -sat (16 * regs - 1) == 0 */
    splat8(b, XE_XMM2, (uint8_t)(16 * regs - 1));
    xe_sse_rr(b, XE_PSUBUSB, XE_XMM6, XE_XMM2);
    xe_sse_rr(b, XE_PXOR, XE_XMM2, XE_XMM2);
    xe_sse_rr(b, XE_PCMPEQB, XE_XMM6, XE_XMM2);
    jit_vload(b, XE_XMM3, in->rd);
    xe_sse_rr(b, XE_PANDN, XE_XMM6, XE_XMM3);
    xe_sse_rr(b, XE_POR, XE_XMM0, XE_XMM6);
  }
  jit_vstore(b, in->rd, XE_XMM0, d->q);
}

void jit_emit_simd_perm(struct jit_ctx *c, unsigned idx) {
  struct pd d;
  const struct emu_insn *in = &c->insn[idx];
  struct xe_buf *b = c->b;
  if (!classify(in, &d)) {
    xe_fail(b, "jit_emit_simd_perm: not an inline SIMD insn");
    return;
  }
  unsigned esz = 8u << d.s, at = (unsigned)in->imm << d.s;
  switch (d.k) {
  case PK_DUP_ELEM:
    xe_load(b, esz, XE_RAX, jit_vreg_m(in->rn, at));
    broadcast(b, XE_XMM0, d.s);
    jit_vstore(b, in->rd, XE_XMM0, d.q);
    break;
  case PK_DUP_GEN:
    jit_gpr_load(c, XE_RAX, in->rn);
    broadcast(b, XE_XMM0, d.s);
    jit_vstore(b, in->rd, XE_XMM0, d.q);
    break;
  case PK_DUP_SCALAR:
    xe_load(b, esz, XE_RAX, jit_vreg_m(in->rn, at));
    xe_store(b, 64, jit_vreg_m(in->rd, 0), XE_RAX);
    xe_store_imm(b, 64, jit_vreg_m(in->rd, 8), 0);
    break;
  case PK_INS_GEN:
    jit_gpr_load(c, XE_RAX, in->rn);
    xe_store(b, esz, jit_vreg_m(in->rd, at), XE_RAX);
    break;
  case PK_INS_ELEM:
    xe_load(b, esz, XE_RAX, jit_vreg_m(in->rn, (unsigned)in->imm2 << d.s));
    xe_store(b, esz, jit_vreg_m(in->rd, at), XE_RAX);
    break;
  case PK_UMOV:
    xe_load(b, esz, XE_RAX, jit_vreg_m(in->rn, at));
    jit_gpr_store(c, in->rd, XE_RAX);
    break;
  case PK_SMOV:
    xe_load_sx(b, 64, XE_RAX, esz, jit_vreg_m(in->rn, at));
    if (!in->c)
      xe_mov_rr(b, 32, XE_RAX, XE_RAX);
    jit_gpr_store(c, in->rd, XE_RAX);
    break;
  case PK_MOVI:
    xe_mov_ri(b, XE_RAX, in->imm);
    for (unsigned h = 0; h < 2; h++) {
      struct xe_mem m = jit_vreg_m(in->rd, 8 * h);
      if (h && !d.q)
        xe_store_imm(b, 64, m, 0);
      else if (d.sub)
        xe_alu_mr(b, d.sub == 1 ? XE_OR : XE_AND, 64, m, XE_RAX);
      else
        xe_store(b, 64, m, XE_RAX);
    }
    break;
  case PK_EXT:
    emit_ext(b, in, &d);
    break;
  case PK_TBL:
    emit_tbl(b, in, &d);
    break;
  case PK_NARROW:
    emit_narrow(b, in, &d);
    break;
  case PK_PAIR:
    emit_pair(b, in, &d);
    break;
  case PK_ACROSS:
    emit_across(b, in, &d);
    break;
  }
}
