/* gen_int.c — random encodings for the A64 integer groups: data processing
 * (immediate, register), bitfield/extract/shifts, conditional select and
 * compare, multiply/divide, CRC32, bit/byte reversal and counting, and
 * branches. Field values that the Arm ARM marks UNDEFINED, reserved or
 * CONSTRAINED UNPREDICTABLE are never produced.
 *
 * Threads: tester's single thread; no shared state.
 */
#include "emudiff.h"

typedef uint32_t (*one_fn)(struct rng *r);

/* 1..3 instructions from the same group per case (70% single), so flag
 * producers also feed flag consumers now and then. */
static int seq(struct gen *g, one_fn f) {
  int n = rnd(g->r, 10) < 7 ? 1 : 2 + rnd(g->r, 2);
  g->c->n = n;
  for (int i = 0; i < n; i++)
    g->c->insn[i] = f(g->r);
  return 0;
}

static unsigned reg(struct rng *r) { return rnd(r, 32); }

/* DecodeBitMasks() would succeed for this N:imms (logical immediates). */
static bool bitmask_ok(unsigned sf, unsigned n, unsigned imms) {
  if (!sf && n)
    return false;
  unsigned v = n << 6 | (~imms & 0x3f);
  int len = -1;
  for (int i = 6; i >= 0; i--)
    if (v & (1u << i)) {
      len = i;
      break;
    }
  if (len < 1)
    return false;
  unsigned levels = (1u << len) - 1;
  return (imms & levels) != levels;
}

static uint32_t one_int_imm(struct rng *r) {
  unsigned sf = bits(r, 1), rd = reg(r), rn = reg(r);
  switch (rnd(r, 4)) {
  case 0: /* ADD/ADDS/SUB/SUBS (immediate) */
    return sf << 31 | bits(r, 2) << 29 | 0x11000000u | bits(r, 1) << 22 |
           bits(r, 12) << 10 | rn << 5 | rd;
  case 1: { /* AND/ORR/EOR/ANDS (immediate) */
    unsigned n, immr, imms;
    do {
      n = sf ? bits(r, 1) : 0;
      immr = bits(r, 6);
      imms = bits(r, 6);
    } while (!bitmask_ok(sf, n, imms));
    if (!sf)
      immr &= 31;
    return sf << 31 | bits(r, 2) << 29 | 0x12000000u | n << 22 | immr << 16 |
           imms << 10 | rn << 5 | rd;
  }
  case 2: { /* MOVN/MOVZ/MOVK */
    unsigned opc;
    do
      opc = bits(r, 2);
    while (opc == 1);
    unsigned hw = sf ? bits(r, 2) : bits(r, 1);
    return sf << 31 | opc << 29 | 0x12800000u | hw << 21 | bits(r, 16) << 5 |
           rd;
  }
  default: /* ADR/ADRP */
    return bits(r, 1) << 31 | bits(r, 2) << 29 | 0x10000000u |
           bits(r, 19) << 5 | rd;
  }
}

static uint32_t one_int_reg(struct rng *r) {
  unsigned sf = bits(r, 1), rd = reg(r), rn = reg(r), rm = reg(r);
  switch (rnd(r, 4)) {
  case 0: /* logical (shifted register), incl. BIC/ORN/EON/BICS */
    return sf << 31 | bits(r, 2) << 29 | 0x0A000000u | bits(r, 2) << 22 |
           bits(r, 1) << 21 | rm << 16 | (sf ? bits(r, 6) : bits(r, 5)) << 10 |
           rn << 5 | rd;
  case 1: /* ADD/SUB (shifted register); shift 11 is reserved */
    return sf << 31 | bits(r, 2) << 29 | 0x0B000000u | rnd(r, 3) << 22 |
           rm << 16 | (sf ? bits(r, 6) : bits(r, 5)) << 10 | rn << 5 | rd;
  case 2: /* ADD/SUB (extended register); imm3 <= 4 */
    return sf << 31 | bits(r, 2) << 29 | 0x0B200000u | rm << 16 |
           bits(r, 3) << 13 | rnd(r, 5) << 10 | rn << 5 | rd;
  default: /* ADC/ADCS/SBC/SBCS */
    return sf << 31 | bits(r, 2) << 29 | 0x1A000000u | rm << 16 | rn << 5 | rd;
  }
}

static uint32_t one_bitfield(struct rng *r) {
  unsigned sf = bits(r, 1), rd = reg(r), rn = reg(r), rm = reg(r);
  unsigned w = sf ? 6 : 5;
  switch (rnd(r, 3)) {
  case 0: /* SBFM/BFM/UBFM (ASR, LSL, LSR, SXTx, UXTx, BFI, BFXIL aliases) */
    return sf << 31 | rnd(r, 3) << 29 | 0x13000000u | sf << 22 |
           bits(r, w) << 16 | bits(r, w) << 10 | rn << 5 | rd;
  case 1: /* EXTR (ROR immediate alias when rn == rm) */
    if (rnd(r, 4) == 0)
      rm = rn;
    return sf << 31 | 0x13800000u | sf << 22 | rm << 16 | bits(r, w) << 10 |
           rn << 5 | rd;
  default: /* LSLV/LSRV/ASRV/RORV */
    return sf << 31 | 0x1AC00000u | rm << 16 | (8 + bits(r, 2)) << 10 |
           rn << 5 | rd;
  }
}

static uint32_t one_condsel(struct rng *r) {
  unsigned sf = bits(r, 1), rd = reg(r), rn = reg(r), rm = reg(r);
  unsigned cond = bits(r, 4);
  switch (rnd(r, 3)) {
  case 0: /* CSEL/CSINC/CSINV/CSNEG (CSET/CINC/... aliases) */
    if (rnd(r, 4) == 0)
      rm = rn;
    return sf << 31 | bits(r, 1) << 30 | 0x1A800000u | rm << 16 | cond << 12 |
           bits(r, 1) << 10 | rn << 5 | rd;
  case 1: /* CCMN/CCMP (register) */
    return sf << 31 | bits(r, 1) << 30 | 0x3A400000u | rm << 16 | cond << 12 |
           rn << 5 | bits(r, 4);
  default: /* CCMN/CCMP (immediate) */
    return sf << 31 | bits(r, 1) << 30 | 0x3A400800u | bits(r, 5) << 16 |
           cond << 12 | rn << 5 | bits(r, 4);
  }
}

static uint32_t one_muldiv(struct rng *r) {
  unsigned sf = bits(r, 1), rd = reg(r), rn = reg(r), rm = reg(r), ra = reg(r);
  switch (rnd(r, 4)) {
  case 0: /* MADD/MSUB (MUL/MNEG) */
    if (rnd(r, 3) == 0)
      ra = 31;
    return sf << 31 | 0x1B000000u | rm << 16 | bits(r, 1) << 15 | ra << 10 |
           rn << 5 | rd;
  case 1: { /* SMADDL/SMSUBL/UMADDL/UMSUBL */
    unsigned u = bits(r, 1);
    return 1u << 31 | 0x1B000000u | (u ? 5u : 1u) << 21 | rm << 16 |
           bits(r, 1) << 15 | ra << 10 | rn << 5 | rd;
  }
  case 2: /* SMULH/UMULH (Ra must be 31) */
    return 1u << 31 | 0x1B000000u | (bits(r, 1) ? 6u : 2u) << 21 | rm << 16 |
           31u << 10 | rn << 5 | rd;
  default: /* UDIV/SDIV */
    return sf << 31 | 0x1AC00000u | rm << 16 | (2 + bits(r, 1)) << 10 |
           rn << 5 | rd;
  }
}

static uint32_t one_crc32(struct rng *r) {
  unsigned sz = bits(r, 2), c = bits(r, 1);
  unsigned sf = sz == 3;
  return sf << 31 | 0x1AC00000u | reg(r) << 16 | (0x10 | c << 2 | sz) << 10 |
         reg(r) << 5 | reg(r);
}

static uint32_t one_bitops(struct rng *r) {
  /* RBIT, REV16, REV (32)/REV32 (64), REV (64), CLZ, CLS */
  static const unsigned op[] = {0, 1, 2, 3, 4, 5};
  unsigned sf = bits(r, 1), o;
  do
    o = op[rnd(r, 6)];
  while (o == 3 && !sf);
  return sf << 31 | 0x5AC00000u | o << 10 | reg(r) << 5 | reg(r);
}

int gen_int_imm(struct gen *g) { return seq(g, one_int_imm); }
int gen_int_reg(struct gen *g) { return seq(g, one_int_reg); }
int gen_bitfield(struct gen *g) { return seq(g, one_bitfield); }
int gen_condsel(struct gen *g) { return seq(g, one_condsel); }
int gen_muldiv(struct gen *g) { return seq(g, one_muldiv); }
int gen_crc32(struct gen *g) { return seq(g, one_crc32); }
int gen_bitops(struct gen *g) { return seq(g, one_bitops); }

/* Branches. The code layout (elf.c, emit_branch) around the branch at L0:
 *   L0 - 4 - 8*K: b L0; then K back pads of {add x28,x28,#16; b Lend}
 *   L0: branch; then K forward pads {add x28,x28,#1}; Lend.
 * A target is either a back pad's first instruction, a forward pad, or
 * Lend, so X28 tells which way the branch went. */
int gen_branch(struct gen *g) {
  struct rng *r = g->r;
  struct tcase *c = g->c;
  uint64_t l0 = case_test_va(c->idx) + 4 + BR_PADS * 8;
  int64_t off;
  if (rnd(r, 4) == 0) /* backward: to back pad i */
    off = -(int64_t)(BR_PADS * 8) + 8 * (int64_t)rnd(r, BR_PADS);
  else /* forward: 1..K+1 instructions */
    off = 4 * (1 + (int64_t)rnd(r, BR_PADS + 1));
  uint64_t target = l0 + (uint64_t)off;
  const uint32_t mark = 1u << BR_MARK;
  unsigned rt = pick_reg(r, mark, true);
  c->kind = KIND_BRANCH;
  c->n = 1;
  switch (rnd(r, 6)) {
  case 0: /* B.cond */
    c->insn[0] =
        0x54000000u | ((uint32_t)(off / 4) & 0x7ffff) << 5 | bits(r, 4);
    break;
  case 1: /* CBZ/CBNZ: zero operands often */
    if (rt != 31 && rnd(r, 2))
      c->in.x[rt] = rnd(r, 2) ? 0 : (uint64_t)bits(r, 1) << 32;
    c->insn[0] = bits(r, 1) << 31 | 0x34000000u | bits(r, 1) << 24 |
                 ((uint32_t)(off / 4) & 0x7ffff) << 5 | rt;
    break;
  case 2: { /* TBZ/TBNZ */
    unsigned b = bits(r, 6);
    c->insn[0] = (b >> 5) << 31 | 0x36000000u | bits(r, 1) << 24 |
                 (b & 31) << 19 | ((uint32_t)(off / 4) & 0x3fff) << 5 | rt;
    break;
  }
  case 3: /* B/BL */
    c->insn[0] =
        bits(r, 1) << 31 | 0x14000000u | ((uint32_t)(off / 4) & 0x3ffffff);
    break;
  default: { /* BR/BLR/RET to a register holding the target */
    unsigned rn = pick_reg(r, mark, false);
    static const uint32_t op[] = {0xD61F0000u, 0xD63F0000u, 0xD65F0000u};
    c->in.x[rn] = target;
    c->insn[0] = op[rnd(r, 3)] | rn << 5;
    break;
  }
  }
  return 0;
}

/* System instructions an EL0 program uses: barriers, hints (allocated or
 * not: unallocated hints execute as NOP), CLREX, and MRS/MSR of NZCV, FPCR,
 * FPSR and TPIDR_EL0 (registers whose values are deterministic). */
static uint32_t one_system(struct rng *r) {
  static const uint32_t sysreg[] = {0x4200u, 0x4400u, 0x4420u, 0xD040u};
  switch (rnd(r, 6)) {
  case 0: /* DSB/DMB with any option, ISB */
    return 0xD503309Fu | bits(r, 4) << 8 | (4 + rnd(r, 3)) << 5;
  case 1: /* HINT #0..#127 minus pointer-auth/BTI/ESB/PSB/TSB space that
             is not a plain NOP on every core */
    for (;;) {
      unsigned h = bits(r, 7);
      if (h >= 6 && h < 40)
        continue;
      return 0xD503201Fu | h << 5;
    }
  case 2:
    return 0xD503305Fu | bits(r, 4) << 8; /* CLREX #imm */
  case 3:                                 /* MSR */
  {
    unsigned i = rnd(r, 4);
    return 0xD51B0000u | sysreg[i] | bits(r, 5);
  }
  default: /* MRS */
    return 0xD53B0000u | sysreg[rnd(r, 4)] | bits(r, 5);
  }
}

int gen_system(struct gen *g) {
  /* MSR FPCR/FPSR only as a case's single instruction, with a value that
   * has no RES0 bits set: FPSR[31:28] (AArch32 NZCV) exist only on cores
   * with AArch32, so an AArch64-only emulator rightly reads them as zero. */
  int rc = seq(g, one_system);
  for (int i = 0; i < g->c->n; i++) {
    uint32_t w = g->c->insn[i] & 0xFFFFFFE0u;
    if (w != 0xD51B4400u && w != 0xD51B4420u)
      continue;
    unsigned rt = g->c->insn[i] & 31;
    g->c->insn[0] = g->c->insn[i];
    g->c->n = 1;
    if (rt < 31)
      g->c->in.x[rt] &= w == 0xD51B4400u ? 0x07C00000u : 0x0800009Fu;
    break;
  }
  return rc;
}

/* 2..4 instructions drawn from all the integer data-processing groups, so
 * flags, carries and partial results flow between different classes. */
static uint32_t one_int_mix(struct rng *r) {
  static const one_fn f[] = {one_int_imm, one_int_reg, one_bitfield,
                             one_condsel, one_muldiv,  one_bitops};
  return f[rnd(r, 6)](r);
}

int gen_int_mix(struct gen *g) {
  int n = 2 + rnd(g->r, 3);
  g->c->n = n;
  for (int i = 0; i < n; i++)
    g->c->insn[i] = one_int_mix(g->r);
  return 0;
}
