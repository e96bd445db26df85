/* emit_dp.c — integer data processing translated inline (the ops
 * translate.c's own switch does not cover): logical immediate, MOVK,
 * bitfield (UBFM/SBFM/BFM and their LSL/LSR/ASR/UXT/SXT aliases), EXTR,
 * logical shifted register with inverted operand (BIC/ORN/EON/BICS),
 * add/sub extended register, add/sub with carry, conditional select and
 * compare, shifts by register, multiplies, divides (Arm's x/0 = 0 and
 * INT_MIN/-1 = INT_MIN checked before the host divide, which would trap),
 * CLZ/CLS/RBIT/REV*.
 *
 * Operands as the decoders (int_dp_imm.c, int_dp_reg.c) leave them. Every
 * sequence reads all its operands before it writes a register (rd may
 * equal rn/rm/ra) and, as x86's 32-bit operations do, a W-form result
 * has its upper 32 bits zero.
 *
 * Runs on the translating CPU's thread; no shared state.
 */
#include "emu/decode.h"
#include "emu/jit/emit.h"

static bool fits32(uint64_t v) { return (int64_t)v == (int32_t)v; }

/* r (sz bits) op= imm, through scratch when imm does not fit an imm32. */
static void alu_imm(struct xe_buf *b, enum xe_alu op, unsigned sz,
                    enum xe_reg r, uint64_t imm, enum xe_reg scratch) {
  if (sz == 32)
    imm = (uint32_t)imm;
  if (sz == 32 || fits32(imm)) {
    xe_alu_ri(b, op, sz, r, (int32_t)(uint32_t)imm);
  } else {
    xe_mov_ri(b, scratch, imm);
    xe_alu_rr(b, op, sz, r, scratch);
  }
}

/* dst = the number of leading zero bits of src (sz bits); src != 0 may be
 * assumed when nonzero is set; clobbers t. Through BSR, which every x86-64 has
 * (LZCNT would save three instructions, but a host without it decodes it as
 * BSR, silently wrong, so it would need a CPU check and a second path). */
static void clz(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src,
                bool nonzero, enum xe_reg t) {
  /* bsr dst, src (0F BD /r); zero: dst = -1, so sz - 1 - dst = sz */
  uint8_t rex = (uint8_t)(0x40 | (sz == 64 ? 8 : 0) | ((dst & 8) ? 4 : 0) |
                          ((src & 8) ? 1 : 0));
  uint8_t bsr[4] = {rex, 0x0f, 0xbd,
                    (uint8_t)(0xc0 | ((dst & 7) << 3) | (src & 7))};
  xe_bytes(b, bsr, 4);
  if (!nonzero) {
    xe_mov_ri(b, t, ~0ull);
    xe_cmov(b, XE_E, 64, dst, t);
  }
  xe_mov_ri(b, t, sz - 1);
  xe_alu_rr(b, XE_SUB, 64, t, dst);
  xe_mov_rr(b, 64, dst, t);
}

/* r (sz bits) = its bits reversed within each byte (RBIT before a byte
 * swap); clobbers s and t. */
static void bits_in_bytes(struct xe_buf *b, unsigned sz, enum xe_reg r,
                          enum xe_reg s, enum xe_reg t) {
  static const uint64_t m[3] = {0x5555555555555555ull, 0x3333333333333333ull,
                                0x0f0f0f0f0f0f0f0full};
  for (unsigned i = 0; i < 3; i++) {
    uint64_t mask = sz == 64 ? m[i] : (uint32_t)m[i];
    /* r = ((r >> n) & m) | ((r & m) << n) */
    xe_mov_rr(b, sz, s, r);
    xe_shift_ri(b, XE_SHR, sz, s, (uint8_t)(1u << i));
    xe_mov_ri(b, t, mask);
    xe_alu_rr(b, XE_AND, sz, s, t);
    xe_alu_rr(b, XE_AND, sz, r, t);
    xe_shift_ri(b, XE_SHL, sz, r, (uint8_t)(1u << i));
    xe_alu_rr(b, XE_OR, sz, r, s);
  }
}

bool jit_dp_inline(const struct emu_insn *in) {
  switch (in->op) {
  case EMU_OP_AND_IMM:
  case EMU_OP_ORR_IMM:
  case EMU_OP_EOR_IMM:
  case EMU_OP_ANDS_IMM:
  case EMU_OP_MOVK:
  case EMU_OP_UBFM:
  case EMU_OP_SBFM:
  case EMU_OP_BFM:
  case EMU_OP_EXTR:
  case EMU_OP_BIC_SH:
  case EMU_OP_ORN_SH:
  case EMU_OP_EON_SH:
  case EMU_OP_BICS_SH:
  case EMU_OP_ADD_EXT:
  case EMU_OP_ADDS_EXT:
  case EMU_OP_SUB_EXT:
  case EMU_OP_SUBS_EXT:
  case EMU_OP_ADC:
  case EMU_OP_ADCS:
  case EMU_OP_SBC:
  case EMU_OP_SBCS:
  case EMU_OP_CSEL:
  case EMU_OP_CSINC:
  case EMU_OP_CSINV:
  case EMU_OP_CSNEG:
  case EMU_OP_CCMP_REG:
  case EMU_OP_CCMP_IMM:
  case EMU_OP_CCMN_REG:
  case EMU_OP_CCMN_IMM:
  case EMU_OP_LSLV:
  case EMU_OP_LSRV:
  case EMU_OP_ASRV:
  case EMU_OP_RORV:
  case EMU_OP_MADD:
  case EMU_OP_MSUB:
  case EMU_OP_SMADDL:
  case EMU_OP_SMSUBL:
  case EMU_OP_UMADDL:
  case EMU_OP_UMSUBL:
  case EMU_OP_SMULH:
  case EMU_OP_UMULH:
  case EMU_OP_UDIV:
  case EMU_OP_SDIV:
  case EMU_OP_CLZ:
  case EMU_OP_CLS:
  case EMU_OP_RBIT:
  case EMU_OP_REV:
  case EMU_OP_REV16:
  case EMU_OP_REV32:
    return true;
  default:
    return false;
  }
}

static void emit_logic_imm(struct jit_ctx *c, const struct emu_insn *in,
                           unsigned sz) {
  struct xe_buf *b = c->b;
  enum xe_alu op = in->op == EMU_OP_ORR_IMM   ? XE_OR
                   : in->op == EMU_OP_EOR_IMM ? XE_XOR
                                              : XE_AND;
  /* in rd's host register when it has one: rn is the only source */
  enum xe_reg d = jit_gpr_dst(c, in->rd, XE_RAX);
  jit_gpr_load(c, d, in->rn);
  alu_imm(b, op, sz, d, in->imm, XE_RCX);
  jit_gpr_store(c, in->rd, d);
  if (in->op == EMU_OP_ANDS_IMM) /* x86 AND clears CF and OF: C = V = 0 */
    jit_flags_set(c, XE_B);
}

/* BFM family: a = immr, b = imms, imm = wmask (UBFM: wmask & tmask),
 * imm2 = tmask */
static void emit_bitfield(struct jit_ctx *c, const struct emu_insn *in,
                          unsigned sz) {
  struct xe_buf *b = c->b;
  unsigned w = sz, r = in->a, s = in->b;
  if (in->op == EMU_OP_UBFM && r != 0 && (s == w - 1 || s + 1 == r)) {
    /* LSR, LSL by 1..w-1: one shift, in rd's host register when it has
     * one (rn is the only source; a W-form shift by a nonzero count
     * zero-extends) */
    enum xe_reg d = jit_gpr_dst(c, in->rd, XE_RAX);
    jit_gpr_load(c, d, in->rn);
    if (s == w - 1)
      xe_shift_ri(b, XE_SHR, sz, d, (uint8_t)r);
    else
      xe_shift_ri(b, XE_SHL, sz, d, (uint8_t)(w - r));
    jit_gpr_store(c, in->rd, d);
    return;
  }
  if (in->op == EMU_OP_SBFM && r == 0 &&
      (s == 7 || s == 15 || (s == 31 && sz == 64))) {
    /* SXTB/H/W: one movsx from rn's host register into rd's when the
     * cache holds them (a W-form movsx zero-extends) */
    enum xe_reg n = jit_gpr_src(c, in->rn, XE_RCX);
    enum xe_reg d = jit_gpr_dst(c, in->rd, XE_RAX);
    xe_movsx_rr(b, sz, d, s + 1, n);
    jit_gpr_store(c, in->rd, d);
    return;
  }
  jit_gpr_load(c, XE_RAX, in->rn);
  if (in->op == EMU_OP_UBFM) {
    if (s == w - 1) { /* LSR */
      xe_shift_ri(b, XE_SHR, sz, XE_RAX, (uint8_t)r);
    } else if (s + 1 == r) { /* LSL */
      xe_shift_ri(b, XE_SHL, sz, XE_RAX, (uint8_t)(w - r));
    } else if (r == 0 && (s == 7 || s == 15 || s == 31)) { /* UXTB/H/W */
      if (s == 31)
        xe_mov_rr(b, 32, XE_RAX, XE_RAX);
      else
        xe_movzx_rr(b, XE_RAX, s + 1, XE_RAX);
    } else {
      if (r)
        xe_shift_ri(b, XE_ROR, sz, XE_RAX, (uint8_t)r);
      alu_imm(b, XE_AND, sz, XE_RAX, in->imm, XE_RCX);
    }
    if (sz == 32)
      xe_mov_rr(b, 32, XE_RAX, XE_RAX);
    jit_gpr_store(c, in->rd, XE_RAX);
    return;
  }
  if (in->op == EMU_OP_SBFM) {
    if (s == w - 1) { /* ASR */
      xe_shift_ri(b, XE_SAR, sz, XE_RAX, (uint8_t)r);
    } else {
      /* (top & ~tmask) | (ror(src, r) & wmask & tmask), top = src<s>
       * copied into every bit */
      xe_mov_rr(b, 64, XE_RCX, XE_RAX);
      if (r)
        xe_shift_ri(b, XE_ROR, sz, XE_RCX, (uint8_t)r);
      alu_imm(b, XE_AND, sz, XE_RCX, in->imm & in->imm2, XE_RDX);
      xe_shift_ri(b, XE_SHL, sz, XE_RAX, (uint8_t)(w - 1 - s));
      xe_shift_ri(b, XE_SAR, sz, XE_RAX, (uint8_t)(w - 1));
      alu_imm(b, XE_AND, sz, XE_RAX, ~in->imm2, XE_RDX);
      xe_alu_rr(b, XE_OR, sz, XE_RAX, XE_RCX);
    }
    if (sz == 32)
      xe_mov_rr(b, 32, XE_RAX, XE_RAX);
    jit_gpr_store(c, in->rd, XE_RAX);
    return;
  }
  /* BFM: bot = (dst & ~wmask) | (ror(src, r) & wmask);
   * result = (dst & ~tmask) | (bot & tmask) */
  uint64_t wm = in->imm, tm = in->imm2;
  jit_gpr_load(c, XE_RDX, in->rd);
  if (r)
    xe_shift_ri(b, XE_ROR, sz, XE_RAX, (uint8_t)r);
  alu_imm(b, XE_AND, sz, XE_RAX, wm & tm, XE_RCX);
  alu_imm(b, XE_AND, sz, XE_RDX, ~(wm & tm), XE_RCX);
  xe_alu_rr(b, XE_OR, sz, XE_RAX, XE_RDX);
  if (sz == 32)
    xe_mov_rr(b, 32, XE_RAX, XE_RAX);
  jit_gpr_store(c, in->rd, XE_RAX);
}

/* rcx = r[rm] extended by option a and shifted left by b */
static void extended_rm(struct jit_ctx *c, const struct emu_insn *in) {
  static const uint8_t bits[4] = {8, 16, 32, 64};
  jit_gpr_load_ext(c, XE_RCX, in->rm, bits[in->a & 3], (in->a & 4) != 0);
  if (in->b)
    xe_shift_ri(c->b, XE_SHL, 64, XE_RCX, in->b);
}

/* Insns that may move before a division they do not depend on: no
 * flags read or set, no memory, no exit, no helper. */
static bool plain_reg_op(const struct emu_insn *in) {
  switch (in->op) {
  case EMU_OP_ADD_IMM:
  case EMU_OP_SUB_IMM:
  case EMU_OP_MOVZ:
  case EMU_OP_MOVN:
  case EMU_OP_MOVK:
  case EMU_OP_AND_SH:
  case EMU_OP_ORR_SH:
  case EMU_OP_EOR_SH:
  case EMU_OP_ADD_SH:
  case EMU_OP_SUB_SH:
  case EMU_OP_AND_IMM:
  case EMU_OP_ORR_IMM:
  case EMU_OP_EOR_IMM:
  case EMU_OP_UBFM:
  case EMU_OP_SBFM:
    return true;
  default:
    return false;
  }
}

#define JIT_REM_WINDOW 3 /* plain insns allowed between DIV and MSUB */

unsigned jit_div_rem_pair(const struct emu_insn *insn, unsigned count,
                          unsigned i) {
  const struct emu_insn *d = &insn[i];
  if (d->op != EMU_OP_UDIV && d->op != EMU_OP_SDIV)
    return 0;
  unsigned q = d->rd, n = d->rn, m = d->rm;
  /* real registers, q apart from the inputs (else the MSUB would not
   * see the dividend and divisor the division used) */
  if (q >= EMU_XZR || n >= EMU_XZR || m >= EMU_XZR || q == n || q == m)
    return 0;
  uint64_t keep = 1ull << q | 1ull << n | 1ull << m;
  for (unsigned j = i + 1; j < count && j <= i + 1 + JIT_REM_WINDOW; j++) {
    const struct emu_insn *s = &insn[j];
    if (s->op == EMU_OP_MSUB && s->sf == d->sf && s->ra == n &&
        ((s->rn == q && s->rm == m) || (s->rn == m && s->rm == q)))
      return j;
    uint64_t rd, wr;
    if (!plain_reg_op(s) || !jit_insn_regs(s, &rd, &wr) || (wr & keep) ||
        (rd & 1ull << q))
      return 0;
  }
  return 0;
}

/* UDIV/SDIV; with c->rem_idx, also that MSUB's rd = the remainder (rdx
 * after the host divide; n when m = 0, 0 for INT_MIN / -1). */
static void emit_div(struct jit_ctx *c, const struct emu_insn *in,
                     unsigned sz) {
  struct xe_buf *b = c->b;
  bool sdiv = in->op == EMU_OP_SDIV;
  unsigned rem = c->rem_idx;
  c->rem_idx = 0;
  jit_gpr_load(c, XE_RCX, in->rm);
  jit_gpr_load(c, XE_RAX, in->rn);
  xe_test_rr(b, sz, XE_RCX, XE_RCX);
  struct xe_fixup zero = xe_jcc_fwd(b, XE_E, true), minus1 = {SIZE_MAX, 0};
  if (sdiv) {
    /* n / -1 = -n, wrapping (INT_MIN / -1 = INT_MIN): never idiv it */
    xe_alu_ri(b, XE_CMP, sz, XE_RCX, -1);
    minus1 = xe_jcc_fwd(b, XE_E, true);
    xe_sext_acc(b, sz);
    xe_unary(b, XE_IDIV, sz, XE_RCX);
  } else {
    xe_alu_rr(b, XE_XOR, 32, XE_RDX, XE_RDX);
    xe_unary(b, XE_DIV, sz, XE_RCX);
  }
  struct xe_fixup done = xe_jmp_fwd(b, true), done2 = {SIZE_MAX, 0};
  if (sdiv) {
    xe_bind(b, minus1);
    xe_unary(b, XE_NEG, sz, XE_RAX);
    if (rem)
      xe_alu_rr(b, XE_XOR, 32, XE_RDX, XE_RDX);
    done2 = xe_jmp_fwd(b, true);
  }
  xe_bind(b, zero);
  if (rem)
    xe_mov_rr(b, sz, XE_RDX, XE_RAX);
  xe_alu_rr(b, XE_XOR, 32, XE_RAX, XE_RAX);
  xe_bind(b, done);
  if (sdiv)
    xe_bind(b, done2);
  jit_gpr_store(c, in->rd, XE_RAX);
  if (rem)
    jit_gpr_store(c, c->insn[rem].rd, XE_RDX);
}

static void emit_dp1(struct jit_ctx *c, const struct emu_insn *in,
                     unsigned sz) {
  struct xe_buf *b = c->b;
  jit_gpr_load(c, XE_RAX, in->rn);
  if (sz == 32)
    xe_mov_rr(b, 32, XE_RAX, XE_RAX);
  switch (in->op) {
  case EMU_OP_CLZ:
    clz(b, sz, XE_RCX, XE_RAX, false, XE_RDX);
    jit_gpr_store(c, in->rd, XE_RCX);
    return;
  case EMU_OP_CLS: /* clz((v ^ (v << 1)) | 1) */
    xe_mov_rr(b, sz, XE_RCX, XE_RAX);
    xe_shift_ri(b, XE_SHL, sz, XE_RCX, 1);
    xe_alu_rr(b, XE_XOR, sz, XE_RCX, XE_RAX);
    xe_alu_ri(b, XE_OR, sz, XE_RCX, 1);
    clz(b, sz, XE_RDX, XE_RCX, true, XE_RSI);
    jit_gpr_store(c, in->rd, XE_RDX);
    return;
  case EMU_OP_RBIT:
    bits_in_bytes(b, sz, XE_RAX, XE_RCX, XE_RDX);
    xe_bswap(b, sz, XE_RAX);
    break;
  case EMU_OP_REV: /* REV Xd (REV Wd is REV32 with sf = 0) */
    xe_bswap(b, 64, XE_RAX);
    break;
  case EMU_OP_REV32:
    xe_bswap(b, sz, XE_RAX);
    if (sz == 64) /* each word on its own */
      xe_shift_ri(b, XE_ROR, 64, XE_RAX, 32);
    break;
  default: /* REV16: the bytes of each half-word swapped */
    if (sz == 32) {
      xe_bswap(b, 32, XE_RAX);
      xe_shift_ri(b, XE_ROR, 32, XE_RAX, 16);
    } else {
      xe_mov_ri(b, XE_RDX, 0x00ff00ff00ff00ffull);
      xe_mov_rr(b, 64, XE_RCX, XE_RAX);
      xe_shift_ri(b, XE_SHR, 64, XE_RCX, 8);
      xe_alu_rr(b, XE_AND, 64, XE_RCX, XE_RDX);
      xe_alu_rr(b, XE_AND, 64, XE_RAX, XE_RDX);
      xe_shift_ri(b, XE_SHL, 64, XE_RAX, 8);
      xe_alu_rr(b, XE_OR, 64, XE_RAX, XE_RCX);
    }
    break;
  }
  jit_gpr_store(c, in->rd, XE_RAX);
}

static void emit_mul(struct jit_ctx *c, const struct emu_insn *in,
                     unsigned sz) {
  struct xe_buf *b = c->b;
  switch (in->op) {
  case EMU_OP_SMULH:
  case EMU_OP_UMULH:
    jit_gpr_load(c, XE_RAX, in->rn);
    jit_gpr_load(c, XE_RCX, in->rm);
    xe_unary(b, in->op == EMU_OP_SMULH ? XE_IMUL1 : XE_MUL, 64, XE_RCX);
    jit_gpr_store(c, in->rd, XE_RDX);
    return;
  case EMU_OP_SMADDL:
  case EMU_OP_SMSUBL:
    jit_gpr_load_ext(c, XE_RAX, in->rn, 32, true);
    jit_gpr_load_ext(c, XE_RCX, in->rm, 32, true);
    sz = 64;
    break;
  case EMU_OP_UMADDL:
  case EMU_OP_UMSUBL:
    jit_gpr_load_ext(c, XE_RAX, in->rn, 32, false);
    jit_gpr_load_ext(c, XE_RCX, in->rm, 32, false);
    sz = 64;
    break;
  default: /* MADD, MSUB */
    if (in->op == EMU_OP_MADD && in->rd != in->ra) {
      /* in rd's host register when it has one and that is not rm's
       * (rd = rn is fine: d *= rm; rd = ra is not: d is written before
       * ra is read) */
      enum xe_reg d = jit_gpr_dst(c, in->rd, XE_RAX);
      enum xe_reg m = jit_gpr_src(c, in->rm, XE_RCX);
      if (m != d) {
        jit_gpr_load(c, d, in->rn);
        xe_imul_rr(b, sz, d, m);
        if (in->ra != EMU_XZR)
          jit_gpr_alu(c, XE_ADD, sz, d, in->ra);
        jit_gpr_store(c, in->rd, d);
        return;
      }
    }
    if (in->op == EMU_OP_MSUB) {
      /* the product in rax, then rd = ra - rax in rd's host register */
      jit_gpr_load(c, XE_RAX, in->rn);
      xe_imul_rr(b, sz, XE_RAX, jit_gpr_src(c, in->rm, XE_RCX));
      enum xe_reg d = jit_gpr_dst(c, in->rd, XE_RCX);
      jit_gpr_load(c, d, in->ra);
      xe_alu_rr(b, XE_SUB, sz, d, XE_RAX);
      jit_gpr_store(c, in->rd, d);
      return;
    }
    jit_gpr_load(c, XE_RAX, in->rn);
    jit_gpr_load(c, XE_RCX, in->rm);
    break;
  }
  xe_imul_rr(b, sz, XE_RAX, XE_RCX);
  bool sub = in->op == EMU_OP_SMSUBL || in->op == EMU_OP_UMSUBL;
  if (sub) {
    jit_gpr_load(c, XE_RCX, in->ra);
    xe_alu_rr(b, XE_SUB, sz, XE_RCX, XE_RAX);
    jit_gpr_store(c, in->rd, XE_RCX);
  } else {
    if (in->ra != EMU_XZR)
      jit_gpr_alu(c, XE_ADD, sz, XE_RAX, in->ra);
    jit_gpr_store(c, in->rd, XE_RAX);
  }
}

void jit_emit_dp(struct jit_ctx *c, unsigned idx) {
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  unsigned sz = in->sf ? 64 : 32;
  static const enum xe_shift shift_of[4] = {XE_SHL, XE_SHR, XE_SAR, XE_ROR};
  switch (in->op) {
  case EMU_OP_AND_IMM:
  case EMU_OP_ORR_IMM:
  case EMU_OP_EOR_IMM:
  case EMU_OP_ANDS_IMM:
    emit_logic_imm(c, in, sz);
    return;
  case EMU_OP_MOVK: { /* a 16-bit store of the half-word in place (imm2 =
                         its mask); a W form clears bits 63:32 */
    /* a 16-bit move into the half-word (imm2 = its mask), rotated to
     * the bottom of rd's host register; in *cpu when not cached, a
     * 16-bit store in place. A W form clears bits 63:32. */
    unsigned hw = (unsigned)__builtin_ctzll(in->imm2) / 16;
    uint16_t v = (uint16_t)(in->imm >> (16 * hw));
    enum xe_reg d = jit_gpr_dst(c, in->rd, XE_RAX);
    if (d == XE_RAX) {
      struct xe_mem m = jit_reg_m(in->rd);
      m.disp += (int32_t)(2 * hw);
      xe_mov_ri(b, XE_RAX, v);
      xe_store(b, 16, m, XE_RAX);
      if (sz == 32)
        xe_store_imm(b, 32, xe_m(JIT_CPU, jit_reg_m(in->rd).disp + 4), 0);
      return;
    }
    /* mov r16, imm16: 66 [REX.B] B8+r iw */
    uint8_t mov16[5] = {0x66, 0x41, (uint8_t)(0xb8 + (d & 7)), (uint8_t)v,
                        (uint8_t)(v >> 8)};
    if (hw)
      xe_shift_ri(b, XE_ROR, 64, d, (uint8_t)(16 * hw));
    if (d & 8)
      xe_bytes(b, mov16, 5);
    else {
      mov16[1] = 0x66;
      xe_bytes(b, mov16 + 1, 4);
    }
    if (hw)
      xe_shift_ri(b, XE_ROR, 64, d, (uint8_t)(64 - 16 * hw));
    if (sz == 32)
      xe_mov_rr(b, 32, d, d);
    jit_gpr_store(c, in->rd, d);
    return;
  }
  case EMU_OP_UBFM:
  case EMU_OP_SBFM:
  case EMU_OP_BFM:
    emit_bitfield(c, in, sz);
    return;
  case EMU_OP_EXTR: /* a = lsb */
    if (sz == 64) {
      jit_gpr_load(c, XE_RAX, in->rm);
      if (in->a) {
        jit_gpr_load(c, XE_RCX, in->rn);
        xe_shift_ri(b, XE_SHR, 64, XE_RAX, in->a);
        xe_shift_ri(b, XE_SHL, 64, XE_RCX, (uint8_t)(64 - in->a));
        xe_alu_rr(b, XE_OR, 64, XE_RAX, XE_RCX);
      }
    } else { /* (rn:rm) >> lsb, low word */
      jit_gpr_load_ext(c, XE_RAX, in->rm, 32, false);
      jit_gpr_load(c, XE_RCX, in->rn);
      xe_shift_ri(b, XE_SHL, 64, XE_RCX, 32);
      xe_alu_rr(b, XE_OR, 64, XE_RAX, XE_RCX);
      if (in->a)
        xe_shift_ri(b, XE_SHR, 64, XE_RAX, in->a);
      xe_mov_rr(b, 32, XE_RAX, XE_RAX);
    }
    jit_gpr_store(c, in->rd, XE_RAX);
    return;
  case EMU_OP_BIC_SH:
  case EMU_OP_ORN_SH:
  case EMU_OP_EON_SH:
  case EMU_OP_BICS_SH: { /* a = amount, c = shift type; rm inverted */
    enum xe_alu op = in->op == EMU_OP_ORN_SH   ? XE_OR
                     : in->op == EMU_OP_EON_SH ? XE_XOR
                                               : XE_AND;
    jit_gpr_load(c, XE_RCX, in->rm);
    if (in->a)
      xe_shift_ri(b, shift_of[in->c & 3], sz, XE_RCX, in->a);
    xe_unary(b, XE_NOT, sz, XE_RCX);
    jit_gpr_load(c, XE_RAX, in->rn);
    xe_alu_rr(b, op, sz, XE_RAX, XE_RCX);
    jit_gpr_store(c, in->rd, XE_RAX);
    if (in->op == EMU_OP_BICS_SH)
      jit_flags_set(c, XE_B);
    return;
  }
  case EMU_OP_ADD_EXT:
  case EMU_OP_ADDS_EXT:
  case EMU_OP_SUB_EXT:
  case EMU_OP_SUBS_EXT: {
    bool sub = in->op == EMU_OP_SUB_EXT || in->op == EMU_OP_SUBS_EXT;
    if (in->op == EMU_OP_ADD_EXT && in->b <= 3) {
      /* one lea into rd's host register (a jump table's
       * `add x2, x4, w2, sxtb #2`); 32 bits: the W result zero-extended */
      static const uint8_t bits[4] = {8, 16, 32, 64};
      jit_gpr_load_ext(c, XE_RCX, in->rm, bits[in->a & 3], (in->a & 4) != 0);
      enum xe_reg n = jit_gpr_src(c, in->rn, XE_RAX);
      enum xe_reg d = jit_gpr_dst(c, in->rd, XE_RAX);
      xe_lea(b, sz, d, xe_mi(n, XE_RCX, (uint8_t)(1u << in->b), 0));
      jit_gpr_store(c, in->rd, d);
      return;
    }
    extended_rm(c, in);
    jit_gpr_load(c, XE_RAX, in->rn);
    xe_alu_rr(b, sub ? XE_SUB : XE_ADD, sz, XE_RAX, XE_RCX);
    jit_gpr_store(c, in->rd, XE_RAX);
    if (in->op == EMU_OP_ADDS_EXT || in->op == EMU_OP_SUBS_EXT)
      jit_flags_set(c, sub ? XE_AE : XE_B);
    return;
  }
  case EMU_OP_ADC:
  case EMU_OP_ADCS:
  case EMU_OP_SBC:
  case EMU_OP_SBCS: {
    /* x86's CF = Arm's C (ADC) or !C (SBB: a - b - borrow); from the
     * host flags of the setter before when it left them (flags.c), and
     * then in rsi: eax may hold those flags to finish NZCV from */
    static const uint8_t cmc = 0xf5;
    bool sub = in->op == EMU_OP_SBC || in->op == EMU_OP_SBCS;
    enum xe_reg d = jit_cond_in_host(c) ? XE_RSI : XE_RAX;
    jit_gpr_load(c, d, in->rn);
    jit_gpr_load(c, XE_RDX, in->rm);
    if (!jit_carry_in(c, sub)) {
      xe_load(b, 32, XE_RCX, jit_nzcv_m());
      xe_shift_ri(b, XE_SHR, 32, XE_RCX, 30); /* CF = bit 29 */
      if (sub)
        xe_bytes(b, &cmc, 1);
    }
    xe_alu_rr(b, sub ? XE_SBB : XE_ADC, sz, d, XE_RDX);
    jit_gpr_store(c, in->rd, d);
    if (in->op == EMU_OP_ADCS || in->op == EMU_OP_SBCS)
      jit_flags_set(c, sub ? XE_AE : XE_B);
    else
      jit_flags_settle(c);
    return;
  }
  case EMU_OP_CSEL:
  case EMU_OP_CSINC:
  case EMU_OP_CSINV:
  case EMU_OP_CSNEG: { /* b = cond; rsi: eax may hold the flags of the
                          insn before (flags.c), lea and not keep them */
    jit_gpr_load(c, XE_RSI, in->rm);
    if (in->op == EMU_OP_CSINC)
      xe_lea(b, 64, XE_RSI, xe_m(XE_RSI, 1));
    else if (in->op == EMU_OP_CSINV)
      xe_unary(b, XE_NOT, 64, XE_RSI);
    else if (in->op == EMU_OP_CSNEG)
      xe_unary(b, XE_NEG, 64, XE_RSI);
    enum xe_cc holds = jit_cond(c, in->b);
    /* a W-form cmov zero-extends whichever it keeps */
    jit_gpr_cmov(c, holds, sz, XE_RSI, in->rn);
    jit_gpr_store(c, in->rd, XE_RSI);
    jit_flags_settle(c);
    return;
  }
  case EMU_OP_CCMP_REG:
  case EMU_OP_CCMP_IMM:
  case EMU_OP_CCMN_REG:
  case EMU_OP_CCMN_IMM: { /* b = cond, c = NZCV if not, a = CCMP, imm2:
                             immediate form with imm */
    if (!jit_flags_live(c))
      return; /* it sets only NZCV, which nothing reads */
    enum xe_cc holds = jit_cond(c, in->b);
    struct xe_fixup no = xe_jcc_fwd(b, (enum xe_cc)(holds ^ 1), true);
    jit_gpr_load(c, XE_RAX, in->rn);
    if (in->imm2)
      xe_alu_ri(b, in->a ? XE_CMP : XE_ADD, sz, XE_RAX, (int32_t)in->imm);
    else
      jit_gpr_alu(c, in->a ? XE_CMP : XE_ADD, sz, XE_RAX, in->rm);
    jit_flags_to_nzcv(b, in->a ? XE_AE : XE_B);
    struct xe_fixup done = xe_jmp_fwd(b, true);
    xe_bind(b, no);
    xe_store_imm(b, 32, jit_nzcv_m(), (int32_t)((uint32_t)in->c << 28));
    xe_bind(b, done);
    return;
  }
  case EMU_OP_LSLV:
  case EMU_OP_LSRV:
  case EMU_OP_ASRV:
  case EMU_OP_RORV: { /* x86 masks the count as Arm does (& 31, & 63) */
    static const enum xe_shift sh[4] = {XE_SHL, XE_SHR, XE_SAR, XE_ROR};
    if (in->op != EMU_OP_RORV && jit_host_bmi2()) {
      /* SHLX/SHRX/SARX: any registers, rd's host register included,
       * instead of the count through cl */
      enum xe_reg n = jit_gpr_src(c, in->rn, XE_RAX);
      enum xe_reg m = jit_gpr_src(c, in->rm, XE_RCX);
      enum xe_reg d = jit_gpr_dst(c, in->rd, XE_RAX);
      if (in->op == EMU_OP_LSLV)
        xe_shlx(b, sz, d, n, m);
      else if (in->op == EMU_OP_LSRV)
        xe_shrx(b, sz, d, n, m);
      else
        xe_sarx(b, sz, d, n, m);
      jit_gpr_store(c, in->rd, d);
      return;
    }
    jit_gpr_load(c, XE_RAX, in->rn);
    jit_gpr_load(c, XE_RCX, in->rm);
    xe_shift_rcl(b, sh[in->op - EMU_OP_LSLV], sz, XE_RAX);
    jit_gpr_store(c, in->rd, XE_RAX);
    return;
  }
  case EMU_OP_MADD:
  case EMU_OP_MSUB:
  case EMU_OP_SMADDL:
  case EMU_OP_SMSUBL:
  case EMU_OP_UMADDL:
  case EMU_OP_UMSUBL:
  case EMU_OP_SMULH:
  case EMU_OP_UMULH:
    emit_mul(c, in, sz);
    return;
  case EMU_OP_UDIV:
  case EMU_OP_SDIV:
    emit_div(c, in, sz);
    return;
  case EMU_OP_CLZ:
  case EMU_OP_CLS:
  case EMU_OP_RBIT:
  case EMU_OP_REV:
  case EMU_OP_REV16:
  case EMU_OP_REV32:
    emit_dp1(c, in, sz);
    return;
  default:
    xe_fail(b, "jit_emit_dp: not an inline op");
  }
}

#define BIT(r) (1ull << (r))

bool jit_dp_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr) {
  *rd = *wr = 0;
  if (!jit_dp_inline(in))
    return false;
  switch (in->op) {
  case EMU_OP_CCMP_REG:
  case EMU_OP_CCMP_IMM:
  case EMU_OP_CCMN_REG:
  case EMU_OP_CCMN_IMM: /* flags only */
    *rd = BIT(in->rn) | (in->imm2 ? 0 : BIT(in->rm));
    return true;
  case EMU_OP_AND_IMM:
  case EMU_OP_ORR_IMM:
  case EMU_OP_EOR_IMM:
  case EMU_OP_ANDS_IMM:
  case EMU_OP_UBFM:
  case EMU_OP_SBFM:
  case EMU_OP_CLZ:
  case EMU_OP_CLS:
  case EMU_OP_RBIT:
  case EMU_OP_REV:
  case EMU_OP_REV16:
  case EMU_OP_REV32:
    *rd = BIT(in->rn);
    break;
  case EMU_OP_MOVK:
    *rd = BIT(in->rd);
    break;
  case EMU_OP_BFM:
    *rd = BIT(in->rn) | BIT(in->rd);
    break;
  case EMU_OP_MADD:
  case EMU_OP_MSUB:
  case EMU_OP_SMADDL:
  case EMU_OP_SMSUBL:
  case EMU_OP_UMADDL:
  case EMU_OP_UMSUBL:
    *rd = BIT(in->rn) | BIT(in->rm) | BIT(in->ra);
    break;
  default: /* two sources */
    *rd = BIT(in->rn) | BIT(in->rm);
    break;
  }
  *wr = BIT(in->rd);
  return true;
}
