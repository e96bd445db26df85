/* int_dp_imm.c — A64 "data processing (immediate)": PC-relative addressing,
 * add/sub immediate, logical immediate, move wide, bitfield, extract.
 * Decoder and handlers. Operands: rd/rn resolved (see cpu.h); imm holds
 * the decoded immediate (ADR/ADRP/MOVZ/MOVN: the final value).
 *
 * Runs on the CPU's thread; no shared state.
 */
#include "emu/decode.h"

static inline uint64_t ror64(uint64_t x, unsigned r) {
  return r ? (x >> r) | (x << (64 - r)) : x;
}
static inline uint32_t ror32(uint32_t x, unsigned r) {
  return r ? (x >> r) | (x << (32 - r)) : x;
}

bool emu_decode_bitmasks(unsigned n, unsigned imms, unsigned immr,
                         bool immediate, unsigned width, uint64_t *wmask,
                         uint64_t *tmask) {
  unsigned v = (n << 6) | (~imms & 0x3f);
  if (v == 0)
    return false;
  int len = 31 - __builtin_clz(v);
  if (len < 1 || (1u << len) > width)
    return false;
  unsigned levels = (1u << len) - 1;
  if (immediate && (imms & levels) == levels)
    return false;
  unsigned s = imms & levels, r = immr & levels;
  unsigned d = (s - r) & levels;
  unsigned esize = 1u << len;
  uint64_t emask = esize == 64 ? ~0ull : (1ull << esize) - 1;
  uint64_t welem = s + 1 == 64 ? ~0ull : (1ull << (s + 1)) - 1;
  uint64_t telem = d + 1 == 64 ? ~0ull : (1ull << (d + 1)) - 1;
  /* ROR within esize bits. */
  if (r)
    welem = ((welem >> r) | (welem << (esize - r))) & emask;
  uint64_t w = 0, t = 0;
  for (unsigned i = 0; i < width; i += esize) {
    w |= welem << i;
    t |= telem << i;
  }
  if (width == 32) {
    w &= 0xffffffffull;
    t &= 0xffffffffull;
  }
  *wmask = w;
  *tmask = t;
  return true;
}

/* ---- handlers ---- */

EMU_SEM_NEXT(movconst) { cpu->r[in->rd] = in->imm; }
EMU_SEM_NEXT(add_imm64) { cpu->r[in->rd] = cpu->r[in->rn] + in->imm; }
EMU_SEM_NEXT(add_imm32) {
  cpu->r[in->rd] = (uint32_t)(cpu->r[in->rn] + in->imm);
}
/* ADDS/SUBS: imm is the second operand (inverted for SUBS), imm2 carry. */
EMU_SEM_NEXT(adds_imm64) {
  cpu->r[in->rd] = add_flags64(cpu->r[in->rn], in->imm, in->imm2, &cpu->nzcv);
}
EMU_SEM_NEXT(adds_imm32) {
  cpu->r[in->rd] = add_flags32((uint32_t)cpu->r[in->rn], (uint32_t)in->imm,
                               (uint32_t)in->imm2, &cpu->nzcv);
}
/* ADDS/SUBS immediate fused with the B.cond that follows (in + 1). */
static EMU_HANDLER(h_adds_imm64_bcond) {
  e_adds_imm64(cpu, in);
  const struct emu_insn *br = in + 1;
  return emu_chain(cpu, br,
                   cond_holds(cpu->nzcv, br->b) ? br->imm : br->pc + 4);
}
static EMU_HANDLER(h_adds_imm32_bcond) {
  e_adds_imm32(cpu, in);
  const struct emu_insn *br = in + 1;
  return emu_chain(cpu, br,
                   cond_holds(cpu->nzcv, br->b) ? br->imm : br->pc + 4);
}

bool emu_fuse_dp_imm(struct emu_insn *cmp) {
  if (cmp->op != EMU_OP_ADDS_IMM && cmp->op != EMU_OP_SUBS_IMM)
    return false;
  cmp->fn = cmp->sf ? h_adds_imm64_bcond : h_adds_imm32_bcond;
  return true;
}

EMU_SEM_NEXT(and_imm) { cpu->r[in->rd] = cpu->r[in->rn] & in->imm; }
EMU_SEM_NEXT(orr_imm) {
  /* 32-bit: imm has no high bits, but rn's high bits must not leak. */
  uint64_t v = cpu->r[in->rn] | in->imm;
  cpu->r[in->rd] = in->sf ? v : (uint32_t)v;
}
EMU_SEM_NEXT(eor_imm) {
  uint64_t v = cpu->r[in->rn] ^ in->imm;
  cpu->r[in->rd] = in->sf ? v : (uint32_t)v;
}
EMU_SEM_NEXT(ands_imm64) {
  uint64_t v = cpu->r[in->rn] & in->imm;
  cpu->nzcv = logic_flags64(v);
  cpu->r[in->rd] = v;
}
EMU_SEM_NEXT(ands_imm32) {
  uint32_t v = (uint32_t)(cpu->r[in->rn] & in->imm);
  cpu->nzcv = logic_flags32(v);
  cpu->r[in->rd] = v;
}
/* MOVK: imm = value in place, imm2 = mask of the replaced half-word. */
EMU_SEM_NEXT(movk64) {
  cpu->r[in->rd] = (cpu->r[in->rd] & ~in->imm2) | in->imm;
}
EMU_SEM_NEXT(movk32) {
  cpu->r[in->rd] = (uint32_t)((cpu->r[in->rd] & ~in->imm2) | in->imm);
}
/* Bitfield: a = rotate R, b = S, imm = wmask, imm2 = tmask. */
EMU_SEM_NEXT(ubfm64) {
  cpu->r[in->rd] = ror64(cpu->r[in->rn], in->a) & in->imm;
}
EMU_SEM_NEXT(ubfm32) {
  cpu->r[in->rd] = ror32((uint32_t)cpu->r[in->rn], in->a) & in->imm;
}
EMU_SEM_NEXT(lsr_imm) {
  /* UBFM with imms = width-1: imm = shift */
  cpu->r[in->rd] = cpu->r[in->rn] >> in->a;
}
EMU_SEM_NEXT(lsr_imm32) { cpu->r[in->rd] = (uint32_t)cpu->r[in->rn] >> in->a; }
EMU_SEM_NEXT(lsl_imm64) {
  /* UBFM with imms + 1 == immr */
  cpu->r[in->rd] = cpu->r[in->rn] << in->c;
}
EMU_SEM_NEXT(lsl_imm32) {
  cpu->r[in->rd] = (uint32_t)(cpu->r[in->rn] << in->c);
}
EMU_SEM_NEXT(sbfm64) {
  uint64_t src = cpu->r[in->rn];
  uint64_t bot = ror64(src, in->a) & in->imm;
  uint64_t top = -((src >> in->b) & 1);
  cpu->r[in->rd] = (top & ~in->imm2) | (bot & in->imm2);
}
EMU_SEM_NEXT(sbfm32) {
  uint32_t src = (uint32_t)cpu->r[in->rn];
  uint32_t bot = ror32(src, in->a) & (uint32_t)in->imm;
  uint32_t top = -((src >> in->b) & 1);
  cpu->r[in->rd] = (top & ~(uint32_t)in->imm2) | (bot & (uint32_t)in->imm2);
}
EMU_SEM_NEXT(bfm64) {
  uint64_t dst = cpu->r[in->rd], src = cpu->r[in->rn];
  uint64_t bot = (dst & ~in->imm) | (ror64(src, in->a) & in->imm);
  cpu->r[in->rd] = (dst & ~in->imm2) | (bot & in->imm2);
}
EMU_SEM_NEXT(bfm32) {
  uint32_t dst = (uint32_t)cpu->r[in->rd], src = (uint32_t)cpu->r[in->rn];
  uint32_t w = (uint32_t)in->imm, t = (uint32_t)in->imm2;
  uint32_t bot = (dst & ~w) | (ror32(src, in->a) & w);
  cpu->r[in->rd] = (dst & ~t) | (bot & t);
}
EMU_SEM_NEXT(extr64) {
  unsigned lsb = in->a;
  uint64_t hi = cpu->r[in->rn], lo = cpu->r[in->rm];
  cpu->r[in->rd] = lsb ? (lo >> lsb) | (hi << (64 - lsb)) : lo;
}
EMU_SEM_NEXT(extr32) {
  uint64_t v = (cpu->r[in->rn] << 32) | (uint32_t)cpu->r[in->rm];
  cpu->r[in->rd] = (uint32_t)(v >> in->a);
}

/* ---- decode functions (patterns: isa/dp_imm.decode) ---- */

int emu_dec_adr(struct emu_insn *o, const struct emu_args_adr *a) {
  int64_t imm = sext(a->immhi << 2 | a->immlo, 21);
  o->rd = reg_dzr(a->rd);
  o->sf = o->op == EMU_OP_ADRP;
  o->imm = o->sf ? (o->pc & ~0xfffull) + ((uint64_t)imm << 12)
                 : o->pc + (uint64_t)imm;
  o->fn = h_movconst;
  return DEC_OK;
}

/* ADDS/SUBS: imm is the second operand (inverted for SUBS), imm2 the
 * carry in; ADD/SUB: imm is what is added (negated for SUB). */
int emu_dec_addsub_imm(struct emu_insn *o, const struct emu_args_addsub_i *a) {
  bool sub = o->op == EMU_OP_SUB_IMM || o->op == EMU_OP_SUBS_IMM;
  uint64_t imm = (uint64_t)a->imm12 << (a->sh ? 12 : 0);
  o->sf = (uint8_t)a->sf;
  o->rn = reg_sp(a->rn);
  if (o->op == EMU_OP_ADDS_IMM || o->op == EMU_OP_SUBS_IMM) {
    o->rd = reg_dzr(a->rd);
    o->imm = sub ? (a->sf ? ~imm : (uint32_t)~imm) : imm;
    o->imm2 = sub;
    o->fn = a->sf ? h_adds_imm64 : h_adds_imm32;
  } else {
    o->rd = reg_sp(a->rd);
    o->imm = sub ? -imm : imm;
    o->fn = a->sf ? h_add_imm64 : h_add_imm32;
  }
  return DEC_OK;
}

int emu_dec_logic_imm(struct emu_insn *o, const struct emu_args_logic_i *a) {
  uint64_t wmask, tmask;
  if (!a->sf && a->n)
    return DEC_UNDEF;
  if (!emu_decode_bitmasks(a->n, a->imms, a->immr, true, a->sf ? 64 : 32,
                           &wmask, &tmask))
    return DEC_UNDEF;
  o->sf = (uint8_t)a->sf;
  o->imm = wmask;
  o->rn = reg_zr(a->rn);
  switch (o->op) {
  case EMU_OP_AND_IMM:
    o->rd = reg_sp(a->rd);
    o->fn = h_and_imm;
    break;
  case EMU_OP_ORR_IMM:
    o->rd = reg_sp(a->rd);
    o->fn = h_orr_imm;
    break;
  case EMU_OP_EOR_IMM:
    o->rd = reg_sp(a->rd);
    o->fn = h_eor_imm;
    break;
  default: /* ANDS */
    o->rd = reg_dzr(a->rd);
    o->fn = a->sf ? h_ands_imm64 : h_ands_imm32;
    break;
  }
  return DEC_OK;
}

/* MOVZ/MOVN: imm is the final value; MOVK: imm the half-word in place,
 * imm2 the mask of the bits it replaces. */
int emu_dec_movw(struct emu_insn *o, const struct emu_args_movw *a) {
  uint64_t imm = (uint64_t)a->imm16 << (16 * a->hw);
  if (!a->sf && a->hw >= 2)
    return DEC_UNDEF;
  o->sf = (uint8_t)a->sf;
  o->rd = reg_dzr(a->rd);
  if (o->op == EMU_OP_MOVK) {
    o->imm = imm;
    o->imm2 = 0xffffull << (16 * a->hw);
    o->fn = a->sf ? h_movk64 : h_movk32;
  } else {
    o->imm = o->op == EMU_OP_MOVN ? (a->sf ? ~imm : (uint32_t)~imm) : imm;
    o->fn = h_movconst;
  }
  return DEC_OK;
}

/* a = immr (rotation), b = imms, imm = wmask, imm2 = tmask; UBFM: imm =
 * wmask & tmask and c = the left shift of its LSL alias. */
int emu_dec_bitfield(struct emu_insn *o, const struct emu_args_bitfield *a) {
  unsigned width = a->sf ? 64 : 32;
  uint64_t wmask, tmask;
  if (a->n != a->sf || (!a->sf && ((a->immr | a->imms) & 0x20)))
    return DEC_UNDEF;
  if (!emu_decode_bitmasks(a->n, a->imms, a->immr, false, width, &wmask,
                           &tmask))
    return DEC_UNDEF;
  o->sf = (uint8_t)a->sf;
  o->rd = reg_dzr(a->rd);
  o->rn = reg_zr(a->rn);
  o->a = (uint8_t)a->immr;
  o->b = (uint8_t)a->imms;
  o->imm = wmask;
  o->imm2 = tmask;
  if (o->op == EMU_OP_UBFM) { /* common aliases get their own handler */
    o->imm = wmask & tmask;
    o->c = (uint8_t)(width - 1 - a->imms);
    if (a->imms == width - 1)
      o->fn = a->sf ? h_lsr_imm : h_lsr_imm32;
    else if (a->imms + 1 == a->immr)
      o->fn = a->sf ? h_lsl_imm64 : h_lsl_imm32;
    else
      o->fn = a->sf ? h_ubfm64 : h_ubfm32;
  } else if (o->op == EMU_OP_SBFM) {
    o->fn = a->sf ? h_sbfm64 : h_sbfm32;
  } else {
    o->fn = a->sf ? h_bfm64 : h_bfm32;
  }
  return DEC_OK;
}

int emu_dec_extr(struct emu_insn *o, const struct emu_args_extr *a) {
  if (a->n != a->sf || (!a->sf && a->imms >= 32))
    return DEC_UNDEF;
  o->sf = (uint8_t)a->sf;
  o->rd = reg_dzr(a->rd);
  o->rn = reg_zr(a->rn);
  o->rm = reg_zr(a->rm);
  o->a = (uint8_t)a->imms;
  o->fn = a->sf ? h_extr64 : h_extr32;
  return DEC_OK;
}

/* ---- exec helpers (emu_exec_helper[op]): the semantics for any operands
 * (the UBFM aliases are plain UBFMs here) ---- */

void emu_exec_adr(struct emu_cpu *cpu, const struct emu_insn *in) {
  e_movconst(cpu, in);
}
void emu_exec_addsub_imm(struct emu_cpu *cpu, const struct emu_insn *in) {
  if (in->op == EMU_OP_ADDS_IMM || in->op == EMU_OP_SUBS_IMM)
    (in->sf ? e_adds_imm64 : e_adds_imm32)(cpu, in);
  else
    (in->sf ? e_add_imm64 : e_add_imm32)(cpu, in);
}
void emu_exec_logic_imm(struct emu_cpu *cpu, const struct emu_insn *in) {
  switch (in->op) {
  case EMU_OP_AND_IMM:
    e_and_imm(cpu, in);
    break;
  case EMU_OP_ORR_IMM:
    e_orr_imm(cpu, in);
    break;
  case EMU_OP_EOR_IMM:
    e_eor_imm(cpu, in);
    break;
  default:
    (in->sf ? e_ands_imm64 : e_ands_imm32)(cpu, in);
    break;
  }
}
void emu_exec_movw(struct emu_cpu *cpu, const struct emu_insn *in) {
  if (in->op == EMU_OP_MOVK)
    (in->sf ? e_movk64 : e_movk32)(cpu, in);
  else
    e_movconst(cpu, in);
}
void emu_exec_bitfield(struct emu_cpu *cpu, const struct emu_insn *in) {
  if (in->op == EMU_OP_UBFM)
    (in->sf ? e_ubfm64 : e_ubfm32)(cpu, in);
  else if (in->op == EMU_OP_SBFM)
    (in->sf ? e_sbfm64 : e_sbfm32)(cpu, in);
  else
    (in->sf ? e_bfm64 : e_bfm32)(cpu, in);
}
void emu_exec_extr(struct emu_cpu *cpu, const struct emu_insn *in) {
  (in->sf ? e_extr64 : e_extr32)(cpu, in);
}
