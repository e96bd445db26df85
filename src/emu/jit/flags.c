/* flags.c — NZCV within one translated block (emit.h: jit_flags_*,
 * jit_cond).
 *
 * A pre-pass over the block (jit_flags_plan) decides, for each insn that
 * sets NZCV with one of this translator's own emitters, what becomes of
 * the host flags its ALU op leaves:
 *   STORE  cpu->nzcv from them, as always;
 *   SKIP   nothing: a later insn of the block sets all of NZCV before
 *          anything reads it, calls out (a helper may read it or fault:
 *          an exception saves PSTATE) or leaves the block;
 *   PASS   the next insn (B.cond ending the block, CSEL/CSINC/CSINV,
 *          CCMP/CCMN; ADC/SBC/ADCS/SBCS, which take the carry from the
 *          host CF) tests the host flags directly and NZCV is dead
 *          after it;
 *   GRAB   the same, but NZCV is live after the reader: the setter keeps
 *          the raw flags in eax (lahf; seto al: no flag changes), the
 *          reader tests the host flags and then finishes cpu->nzcv from
 *          eax (jit_flags_settle), on every path before it leaves.
 * Whatever is not one of the own emitters counts as reading NZCV and
 * stores it itself when it sets it, so other emitters are unaffected.
 *
 * Runs on the translating CPU's thread; the state is the jit_ctx's.
 */
#include "emu/decode.h"
#include "emu/jit/emit.h"

enum { F_STORE, F_SKIP, F_PASS, F_GRAB, F_MODE = 3 };
#define F_IN_HOST 4u /* the reader: host flags from the insn before */
#define F_IN_SUB 8u  /* ... a subtraction's (x86 CF = !C) */
#define F_IN_GRAB 16u
#define F_MID_LIVE                                                             \
  32u /* a superblock's inner branch: NZCV is read (or                         \
         leaves) on the way it goes on */

/* 1: sets NZCV like an addition or a logical op (x86 CF = C), 2: like a
 * subtraction (CF = !C), 3: sets all of it otherwise (CCMP), 0: not. */
static unsigned setter(const struct emu_insn *in) {
  switch (in->op) {
  case EMU_OP_ADDS_IMM:
  case EMU_OP_SUBS_IMM:
    return in->imm2 ? 2 : 1;
  case EMU_OP_SUBS_SH:
  case EMU_OP_SUBS_EXT:
  case EMU_OP_SBCS:
    return 2;
  case EMU_OP_ADDS_SH:
  case EMU_OP_ANDS_SH:
  case EMU_OP_ANDS_IMM:
  case EMU_OP_BICS_SH:
  case EMU_OP_ADDS_EXT:
  case EMU_OP_ADCS:
    return 1;
  case EMU_OP_CCMP_REG:
  case EMU_OP_CCMP_IMM:
  case EMU_OP_CCMN_REG:
  case EMU_OP_CCMN_IMM:
    return 3;
  default:
    return 0;
  }
}

/* A superblock's inner branch (chain.h): its side exit and the next
 * block's entry check both leave with NZCV as it is. */
static bool mid(const struct jit_ctx *c, unsigned i) {
  return i < 64 && ((c->mid >> i) & 1);
}

/* Whether insn i needs cpu->nzcv exact before it runs. */
static bool reads(const struct jit_ctx *c, unsigned i, unsigned count) {
  const struct emu_insn *in = &c->insn[i];
  uint64_t rd, wr;
  if (i == count - 1 || mid(c, i) || !jit_insn_regs(in, &rd, &wr))
    return true; /* the block's end, an exit, or not an own emitter's */
  switch (in->op) {
  case EMU_OP_B_COND:
  case EMU_OP_CSEL:
  case EMU_OP_CSINC:
  case EMU_OP_CSINV:
  case EMU_OP_CSNEG:
  case EMU_OP_CCMP_REG:
  case EMU_OP_CCMP_IMM:
  case EMU_OP_CCMN_REG:
  case EMU_OP_CCMN_IMM:
  case EMU_OP_ADC:
  case EMU_OP_ADCS:
  case EMU_OP_SBC:
  case EMU_OP_SBCS:
    return true;
  default: /* the slow paths of loads/stores, exclusives, MRS, DC ZVA
              call out */
    return (jit_ldst_inline(in) &&
            !(in->op == EMU_OP_PRFM_UIMM || in->op == EMU_OP_PRFUM ||
              in->op == EMU_OP_PRFM_REG || in->op == EMU_OP_PRFM_LIT)) ||
           jit_excl_inline(in) || jit_sys_calls_out(in);
  }
}

bool jit_cc_of_host(unsigned cond, bool sub, enum xe_cc *out) {
  static const int8_t add_cc[14] = {XE_E,  XE_NE, XE_B,  XE_AE, XE_S,
                                    XE_NS, XE_O,  XE_NO, -1,    -1,
                                    XE_GE, XE_L,  XE_G,  XE_LE};
  static const int8_t sub_cc[14] = {XE_E,  XE_NE, XE_AE, XE_B, XE_S,
                                    XE_NS, XE_O,  XE_NO, XE_A, XE_BE,
                                    XE_GE, XE_L,  XE_G,  XE_LE};
  cond &= 15;
  if (cond >= 14 || (sub ? sub_cc : add_cc)[cond] < 0)
    return false;
  *out = (enum xe_cc)(sub ? sub_cc : add_cc)[cond];
  return true;
}

/* Whether insn in (at i) can test host flags left by a setter of the
 * given kind instead of cpu->nzcv. */
static bool consumer(const struct jit_ctx *c, unsigned i, unsigned count,
                     bool sub) {
  const struct emu_insn *in = &c->insn[i];
  enum xe_cc cc;
  switch (in->op) {
  case EMU_OP_B_COND:
    if (i != count - 1 && !mid(c, i))
      return false;
    break;
  case EMU_OP_CSEL:
  case EMU_OP_CSINC:
  case EMU_OP_CSINV: /* not CSNEG: its NEG sets the flags */
  case EMU_OP_CCMP_REG:
  case EMU_OP_CCMP_IMM:
  case EMU_OP_CCMN_REG:
  case EMU_OP_CCMN_IMM:
    break;
  case EMU_OP_ADC:
  case EMU_OP_ADCS:
  case EMU_OP_SBC:
  case EMU_OP_SBCS: /* the carry is CF after either kind (jit_carry_in) */
    return true;
  default:
    return false;
  }
  return jit_cc_of_host(in->b, sub, &cc);
}

void jit_flags_plan(struct jit_ctx *c, unsigned count) {
  unsigned n = sizeof c->fmode / sizeof *c->fmode;
  for (unsigned i = 0; i < n; i++)
    c->fmode[i] = F_STORE;
  c->nzcv_head_live = true;
  if (count > n)
    return;
  bool live_out[sizeof c->fmode / sizeof *c->fmode];
  bool live = true; /* at the block's end */
  for (unsigned i = count; i-- > 0;) {
    live_out[i] = live;
    live = reads(c, i, count) || (live && !setter(&c->insn[i]));
  }
  c->nzcv_head_live = live;
  for (unsigned i = 0; i < count; i++)
    if (mid(c, i) && live_out[i])
      c->fmode[i] |= F_MID_LIVE;
  for (unsigned i = 0; i < count; i++) {
    unsigned k = setter(&c->insn[i]);
    if (!k)
      continue;
    c->fmode[i] = (uint8_t)(c->fmode[i] & ~F_MODE);
    bool sub = k == 2;
    if (k != 3 && i + 1 < count && consumer(c, i + 1, count, sub)) {
      bool after =
          mid(c, i + 1) || (live_out[i + 1] && !setter(&c->insn[i + 1]));
      c->fmode[i] |= after ? F_GRAB : F_PASS;
      c->fmode[i + 1] |=
          (uint8_t)(F_IN_HOST | (sub ? F_IN_SUB : 0) | (after ? F_IN_GRAB : 0));
    } else {
      c->fmode[i] |= live_out[i] ? F_STORE : F_SKIP;
    }
  }
}

static unsigned mode(const struct jit_ctx *c) {
  return c->cur < sizeof c->fmode / sizeof *c->fmode ? c->fmode[c->cur]
                                                     : F_STORE;
}

bool jit_flags_live(const struct jit_ctx *c) {
  return (mode(c) & F_MODE) != F_SKIP;
}

void jit_flags_set(struct jit_ctx *c, enum xe_cc carry) {
  switch (mode(c) & F_MODE) {
  case F_STORE:
    jit_flags_to_nzcv(c->b, carry);
    break;
  case F_GRAB:
    jit_flags_grab(c->b);
    break;
  default: /* SKIP, PASS */
    break;
  }
}

enum xe_cc jit_cond(struct jit_ctx *c, unsigned cond) {
  enum xe_cc cc;
  unsigned m = mode(c);
  if ((m & F_IN_HOST) && jit_cc_of_host(cond, (m & F_IN_SUB) != 0, &cc))
    return cc;
  if (m & F_IN_HOST)
    xe_fail(c->b, "jit: host flags planned for a condition they lack");
  return jit_cond_test(c->b, cond);
}

bool jit_carry_in(struct jit_ctx *c, bool borrow) {
  static const uint8_t cmc = 0xf5;
  unsigned m = mode(c);
  if (!(m & F_IN_HOST))
    return false;
  /* after a subtraction CF = !C, after the others CF = C */
  if (borrow != ((m & F_IN_SUB) != 0))
    xe_bytes(c->b, &cmc, 1);
  return true;
}

bool jit_cond_in_host(const struct jit_ctx *c) {
  return (mode(c) & F_IN_HOST) != 0;
}

void jit_flags_settle(struct jit_ctx *c) {
  unsigned m = mode(c);
  if (m & F_IN_GRAB)
    jit_flags_finish(c->b, m & F_IN_SUB ? XE_AE : XE_B);
}

void jit_flags_settle_on(struct jit_ctx *c) {
  if (mode(c) & F_MID_LIVE)
    jit_flags_settle(c);
}
