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

static EMU_HANDLER(h_movconst) {
  cpu->r[in->rd] = in->imm;
  return EMU_NEXT;
}
static EMU_HANDLER(h_add_imm64) {
  cpu->r[in->rd] = cpu->r[in->rn] + in->imm;
  return EMU_NEXT;
}
static EMU_HANDLER(h_add_imm32) {
  cpu->r[in->rd] = (uint32_t)(cpu->r[in->rn] + in->imm);
  return EMU_NEXT;
}
/* ADDS/SUBS: imm is the second operand (inverted for SUBS), imm2 carry. */
static EMU_HANDLER(h_adds_imm64) {
  cpu->r[in->rd] = add_flags64(cpu->r[in->rn], in->imm, in->imm2, &cpu->nzcv);
  return EMU_NEXT;
}
static EMU_HANDLER(h_adds_imm32) {
  cpu->r[in->rd] = add_flags32((uint32_t)cpu->r[in->rn], (uint32_t)in->imm,
                               (uint32_t)in->imm2, &cpu->nzcv);
  return EMU_NEXT;
}
/* ADDS/SUBS immediate fused with the B.cond that follows (in + 1). */
static EMU_HANDLER(h_adds_imm64_bcond) {
  cpu->r[in->rd] = add_flags64(cpu->r[in->rn], in->imm, in->imm2, &cpu->nzcv);
  const struct emu_insn *br = in + 1;
  return emu_chain(cpu, br,
                   cond_holds(cpu->nzcv, br->b) ? br->imm : br->pc + 4);
}
static EMU_HANDLER(h_adds_imm32_bcond) {
  cpu->r[in->rd] = add_flags32((uint32_t)cpu->r[in->rn], (uint32_t)in->imm,
                               (uint32_t)in->imm2, &cpu->nzcv);
  const struct emu_insn *br = in + 1;
  return emu_chain(cpu, br,
                   cond_holds(cpu->nzcv, br->b) ? br->imm : br->pc + 4);
}

bool emu_fuse_dp_imm(struct emu_insn *cmp) {
  if (cmp->fn == h_adds_imm64)
    cmp->fn = h_adds_imm64_bcond;
  else if (cmp->fn == h_adds_imm32)
    cmp->fn = h_adds_imm32_bcond;
  else
    return false;
  return true;
}

static EMU_HANDLER(h_and_imm) {
  cpu->r[in->rd] = cpu->r[in->rn] & in->imm;
  return EMU_NEXT;
}
static EMU_HANDLER(h_orr_imm) {
  /* 32-bit: imm has no high bits, but rn's high bits must not leak. */
  uint64_t v = cpu->r[in->rn] | in->imm;
  cpu->r[in->rd] = in->sf ? v : (uint32_t)v;
  return EMU_NEXT;
}
static EMU_HANDLER(h_eor_imm) {
  uint64_t v = cpu->r[in->rn] ^ in->imm;
  cpu->r[in->rd] = in->sf ? v : (uint32_t)v;
  return EMU_NEXT;
}
static EMU_HANDLER(h_ands_imm64) {
  uint64_t v = cpu->r[in->rn] & in->imm;
  cpu->nzcv = logic_flags64(v);
  cpu->r[in->rd] = v;
  return EMU_NEXT;
}
static EMU_HANDLER(h_ands_imm32) {
  uint32_t v = (uint32_t)(cpu->r[in->rn] & in->imm);
  cpu->nzcv = logic_flags32(v);
  cpu->r[in->rd] = v;
  return EMU_NEXT;
}
/* MOVK: imm = value in place, imm2 = mask of the replaced half-word. */
static EMU_HANDLER(h_movk64) {
  cpu->r[in->rd] = (cpu->r[in->rd] & ~in->imm2) | in->imm;
  return EMU_NEXT;
}
static EMU_HANDLER(h_movk32) {
  cpu->r[in->rd] = (uint32_t)((cpu->r[in->rd] & ~in->imm2) | in->imm);
  return EMU_NEXT;
}
/* Bitfield: a = rotate R, b = S, imm = wmask, imm2 = tmask. */
static EMU_HANDLER(h_ubfm64) {
  cpu->r[in->rd] = ror64(cpu->r[in->rn], in->a) & in->imm;
  return EMU_NEXT;
}
static EMU_HANDLER(h_ubfm32) {
  cpu->r[in->rd] = ror32((uint32_t)cpu->r[in->rn], in->a) & in->imm;
  return EMU_NEXT;
}
static EMU_HANDLER(h_lsr_imm) { /* UBFM with imms = width-1: imm = shift */
  cpu->r[in->rd] = cpu->r[in->rn] >> in->a;
  return EMU_NEXT;
}
static EMU_HANDLER(h_lsr_imm32) {
  cpu->r[in->rd] = (uint32_t)cpu->r[in->rn] >> in->a;
  return EMU_NEXT;
}
static EMU_HANDLER(h_lsl_imm64) { /* UBFM with imms + 1 == immr */
  cpu->r[in->rd] = cpu->r[in->rn] << in->b;
  return EMU_NEXT;
}
static EMU_HANDLER(h_lsl_imm32) {
  cpu->r[in->rd] = (uint32_t)(cpu->r[in->rn] << in->b);
  return EMU_NEXT;
}
static EMU_HANDLER(h_sbfm64) {
  uint64_t src = cpu->r[in->rn];
  uint64_t bot = ror64(src, in->a) & in->imm;
  uint64_t top = -((src >> in->b) & 1);
  cpu->r[in->rd] = (top & ~in->imm2) | (bot & in->imm2);
  return EMU_NEXT;
}
static EMU_HANDLER(h_sbfm32) {
  uint32_t src = (uint32_t)cpu->r[in->rn];
  uint32_t bot = ror32(src, in->a) & (uint32_t)in->imm;
  uint32_t top = -((src >> in->b) & 1);
  cpu->r[in->rd] = (top & ~(uint32_t)in->imm2) | (bot & (uint32_t)in->imm2);
  return EMU_NEXT;
}
static EMU_HANDLER(h_bfm64) {
  uint64_t dst = cpu->r[in->rd], src = cpu->r[in->rn];
  uint64_t bot = (dst & ~in->imm) | (ror64(src, in->a) & in->imm);
  cpu->r[in->rd] = (dst & ~in->imm2) | (bot & in->imm2);
  return EMU_NEXT;
}
static EMU_HANDLER(h_bfm32) {
  uint32_t dst = (uint32_t)cpu->r[in->rd], src = (uint32_t)cpu->r[in->rn];
  uint32_t w = (uint32_t)in->imm, t = (uint32_t)in->imm2;
  uint32_t bot = (dst & ~w) | (ror32(src, in->a) & w);
  cpu->r[in->rd] = (dst & ~t) | (bot & t);
  return EMU_NEXT;
}
static EMU_HANDLER(h_extr64) {
  unsigned lsb = in->a;
  uint64_t hi = cpu->r[in->rn], lo = cpu->r[in->rm];
  cpu->r[in->rd] = lsb ? (lo >> lsb) | (hi << (64 - lsb)) : lo;
  return EMU_NEXT;
}
static EMU_HANDLER(h_extr32) {
  uint64_t v = (cpu->r[in->rn] << 32) | (uint32_t)cpu->r[in->rm];
  cpu->r[in->rd] = (uint32_t)(v >> in->a);
  return EMU_NEXT;
}

/* ---- decoder ---- */

int emu_dec_dp_imm(struct emu_insn *o, uint32_t raw) {
  unsigned sf = bit(raw, 31), rd = bits(raw, 4, 0), rn = bits(raw, 9, 5);
  o->sf = (uint8_t)sf;
  switch (bits(raw, 25, 23)) {
  case 0:
  case 1: { /* ADR / ADRP */
    int64_t imm = sext((bits(raw, 23, 5) << 2) | bits(raw, 30, 29), 21);
    o->rd = reg_dzr(rd);
    o->imm = bit(raw, 31) ? (o->pc & ~0xfffull) + ((uint64_t)imm << 12)
                          : o->pc + (uint64_t)imm;
    o->fn = h_movconst;
    return DEC_OK;
  }
  case 2: { /* add/sub immediate */
    unsigned op = bit(raw, 30), s = bit(raw, 29), sh = bit(raw, 22);
    uint64_t imm = (uint64_t)bits(raw, 21, 10) << (sh ? 12 : 0);
    o->rn = reg_sp(rn);
    if (s) {
      o->rd = reg_dzr(rd);
      o->imm = op ? (sf ? ~imm : (uint32_t)~imm) : imm;
      o->imm2 = op;
      o->fn = sf ? h_adds_imm64 : h_adds_imm32;
    } else {
      o->rd = reg_sp(rd);
      o->imm = op ? -imm : imm;
      o->fn = sf ? h_add_imm64 : h_add_imm32;
    }
    return DEC_OK;
  }
  case 4: { /* logical immediate */
    unsigned opc = bits(raw, 30, 29), n = bit(raw, 22);
    uint64_t wmask, tmask;
    if (!sf && n)
      return DEC_UNDEF;
    if (!emu_decode_bitmasks(n, bits(raw, 15, 10), bits(raw, 21, 16), true,
                             sf ? 64 : 32, &wmask, &tmask))
      return DEC_UNDEF;
    o->imm = wmask;
    o->rn = reg_zr(rn);
    o->rd = opc == 3 ? reg_dzr(rd) : reg_sp(rd);
    static const emu_fn fns[4] = {h_and_imm, h_orr_imm, h_eor_imm, NULL};
    o->fn = opc == 3 ? (sf ? h_ands_imm64 : h_ands_imm32) : fns[opc];
    return DEC_OK;
  }
  case 5: { /* move wide */
    unsigned opc = bits(raw, 30, 29), hw = bits(raw, 22, 21);
    uint64_t imm = (uint64_t)bits(raw, 20, 5) << (16 * hw);
    if (opc == 1 || (!sf && hw >= 2))
      return DEC_UNDEF;
    o->rd = reg_dzr(rd);
    if (opc == 3) {
      o->imm = imm;
      o->imm2 = 0xffffull << (16 * hw);
      o->fn = sf ? h_movk64 : h_movk32;
    } else {
      o->imm = opc == 0 ? (sf ? ~imm : (uint32_t)~imm) : imm;
      o->fn = h_movconst;
    }
    return DEC_OK;
  }
  case 6: { /* bitfield */
    unsigned opc = bits(raw, 30, 29), n = bit(raw, 22);
    unsigned immr = bits(raw, 21, 16), imms = bits(raw, 15, 10);
    unsigned width = sf ? 64 : 32;
    uint64_t wmask, tmask;
    if (opc == 3 || n != sf || (!sf && ((immr | imms) & 0x20)))
      return DEC_UNDEF;
    if (!emu_decode_bitmasks(n, imms, immr, false, width, &wmask, &tmask))
      return DEC_UNDEF;
    o->rd = reg_dzr(rd);
    o->rn = reg_zr(rn);
    o->a = (uint8_t)immr;
    o->b = (uint8_t)imms;
    o->imm = wmask;
    o->imm2 = tmask;
    if (opc == 2) { /* UBFM: common aliases get their own handler */
      if (imms == width - 1) {
        o->fn = sf ? h_lsr_imm : h_lsr_imm32;
      } else if (imms + 1 == immr) {
        o->b = (uint8_t)(width - 1 - imms);
        o->fn = sf ? h_lsl_imm64 : h_lsl_imm32;
      } else {
        o->imm = wmask & tmask;
        o->fn = sf ? h_ubfm64 : h_ubfm32;
      }
    } else if (opc == 0) {
      o->fn = sf ? h_sbfm64 : h_sbfm32;
    } else {
      o->fn = sf ? h_bfm64 : h_bfm32;
    }
    return DEC_OK;
  }
  case 7: { /* extract */
    unsigned op21 = bits(raw, 30, 29), n = bit(raw, 22), o0 = bit(raw, 21);
    unsigned imms = bits(raw, 15, 10);
    if (op21 || o0 || n != sf || (!sf && imms >= 32))
      return DEC_UNDEF;
    o->rd = reg_dzr(rd);
    o->rn = reg_zr(rn);
    o->rm = reg_zr(bits(raw, 20, 16));
    o->a = (uint8_t)imms;
    o->fn = sf ? h_extr64 : h_extr32;
    return DEC_OK;
  }
  default: /* 3: add/sub immediate with tags (MTE) — not in v8.0 */
    return DEC_UNDEF;
  }
}
