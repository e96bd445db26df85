/* gen_simd.c — random encodings for AdvSIMD: integer three-same /
 * three-different / two-register-misc / by-element (vector and scalar),
 * modified immediates and element copies (simd-int); permutes, EXT,
 * TBL/TBX, REV*, DUP/INS (simd-perm); across-lanes (simd-across); shifts by
 * immediate incl. narrowing, widening and saturating (simd-shift); vector
 * FP arithmetic, compares, conversions and by-element (simd-fp).
 *
 * Fields are drawn inside each encoding class; unallocated combinations and
 * post-v8.0 instructions are dropped by insn_acceptable() (capstone plus an
 * extension filter) before a case is kept, and qemu, run as a Cortex-A53,
 * rejects anything else.
 *
 * Threads: tester's single thread; no shared state.
 */
#include "emudiff.h"

static unsigned v(struct rng *r) { return bits(r, 5); }

/* vector (bit 28 = 0) or, with prob 1/4, the scalar form (bit 28 = 1,
 * Q = 1) of the same class */
static uint32_t vec_or_scalar(struct rng *r, uint32_t insn) {
  if (rnd(r, 4) == 0)
    insn |= 1u << 28 | 1u << 30;
  return insn;
}

static uint32_t three_same_int(struct rng *r) {
  unsigned op;
  do
    op = bits(r, 5);
  while (op >= 0x18); /* 11xxx is FP */
  return vec_or_scalar(r, bits(r, 1) << 30 | bits(r, 1) << 29 | 0x0E200400u |
                              bits(r, 2) << 22 | v(r) << 16 | op << 11 |
                              v(r) << 5 | v(r));
}

static uint32_t three_diff(struct rng *r) {
  return vec_or_scalar(r, bits(r, 1) << 30 | bits(r, 1) << 29 | 0x0E200000u |
                              bits(r, 2) << 22 | v(r) << 16 | rnd(r, 15) << 12 |
                              v(r) << 5 | v(r));
}

static uint32_t two_misc_int(struct rng *r) {
  static const unsigned op[] = {0, 1, 2,  3,  4,  5,  6, 7,
                                8, 9, 10, 11, 18, 19, 20};
  return vec_or_scalar(r, bits(r, 1) << 30 | bits(r, 1) << 29 | 0x0E200800u |
                              bits(r, 2) << 22 | op[rnd(r, 15)] << 12 |
                              v(r) << 5 | v(r));
}

static uint32_t by_elem_int(struct rng *r) {
  static const unsigned op[] = {0, 2, 3, 4, 6, 7, 8, 10, 11, 12, 13};
  unsigned size = 1 + bits(r, 1);
  return vec_or_scalar(r, bits(r, 1) << 30 | bits(r, 1) << 29 | 0x0F000000u |
                              size << 22 | bits(r, 1) << 21 | bits(r, 1) << 20 |
                              bits(r, 4) << 16 | op[rnd(r, 11)] << 12 |
                              bits(r, 1) << 11 | v(r) << 5 | v(r));
}

static uint32_t mod_imm(struct rng *r) {
  return bits(r, 1) << 30 | bits(r, 1) << 29 | 0x0F000400u | bits(r, 3) << 16 |
         bits(r, 4) << 12 | bits(r, 5) << 5 | v(r);
}

static uint32_t copy(struct rng *r) {
  /* DUP (element/general), SMOV, UMOV, INS (general/element) */
  static const unsigned imm4[] = {0, 1, 5, 7, 3};
  unsigned imm5;
  do
    imm5 = bits(r, 5);
  while (!(imm5 & 15));
  if (rnd(r, 5) == 0) /* INS (element) */
    return 0x6E000400u | imm5 << 16 | bits(r, 4) << 11 | v(r) << 5 | v(r);
  return vec_or_scalar(r, bits(r, 1) << 30 | 0x0E000400u | imm5 << 16 |
                              imm4[rnd(r, 5)] << 11 | v(r) << 5 | v(r)) &
         (rnd(r, 2) ? ~0u : ~(1u << 28)); /* scalar only for DUP element */
}

int gen_simd_int(struct gen *g) {
  uint32_t i;
  switch (rnd(g->r, 8)) {
  case 0:
  case 1:
  case 2:
    i = three_same_int(g->r);
    break;
  case 3:
    i = three_diff(g->r);
    break;
  case 4:
    i = two_misc_int(g->r);
    break;
  case 5:
    i = by_elem_int(g->r);
    break;
  case 6:
    i = mod_imm(g->r);
    break;
  default:
    i = copy(g->r);
  }
  g->c->n = 1;
  g->c->insn[0] = i;
  return 0;
}

int gen_simd_perm(struct gen *g) {
  struct rng *r = g->r;
  struct tcase *c = g->c;
  unsigned q = bits(r, 1), rm = v(r), rn = v(r), rd = v(r);
  uint32_t i;
  switch (rnd(r, 5)) {
  case 0:
  case 1: { /* UZP1 TRN1 ZIP1 UZP2 TRN2 ZIP2 */
    static const unsigned op[] = {1, 2, 3, 5, 6, 7};
    i = q << 30 | 0x0E000800u | bits(r, 2) << 22 | rm << 16 |
        op[rnd(r, 6)] << 12 | rn << 5 | rd;
    break;
  }
  case 2: /* EXT */
    i = q << 30 | 0x2E000000u | rm << 16 | (q ? bits(r, 4) : bits(r, 3)) << 11 |
        rn << 5 | rd;
    break;
  case 3: { /* TBL/TBX with 1-4 table registers; indices near the range */
    unsigned len = bits(r, 2);
    i = q << 30 | 0x0E000000u | rm << 16 | len << 13 | bits(r, 1) << 12 |
        rn << 5 | rd;
    for (int b = 0; b < 16; b++)
      c->in.v[rm][b] = (uint8_t)rnd(r, 16 * (len + 1) + 24);
    break;
  }
  default: /* REV64/REV32/REV16 */
    i = q << 30 | bits(r, 1) << 29 | 0x0E200800u | bits(r, 2) << 22 |
        bits(r, 1) << 12 | rn << 5 | rd;
    break;
  }
  c->n = 1;
  c->insn[0] = i;
  return 0;
}

int gen_simd_across(struct gen *g) {
  struct rng *r = g->r;
  static const unsigned op[] = {3, 10, 26, 27, 12, 15};
  unsigned o = op[rnd(r, 6)];
  g->c->n = 1;
  g->c->insn[0] = bits(r, 1) << 30 | bits(r, 1) << 29 | 0x0E300800u |
                  bits(r, 2) << 22 | o << 12 | v(r) << 5 | v(r);
  return 0;
}

int gen_simd_shift(struct gen *g) {
  struct rng *r = g->r;
  static const unsigned op[] = {0,  2,  4,  6,  8,  10, 12, 14,
                                16, 17, 18, 19, 20, 28, 31};
  unsigned immh;
  do
    immh = bits(r, 4);
  while (!immh);
  uint32_t i;
  if (rnd(r, 8) == 0) { /* SHL/USHL variable-by-register forms */
    i = bits(r, 1) << 30 | bits(r, 1) << 29 | 0x0E200400u | bits(r, 2) << 22 |
        v(r) << 16 | (8 + bits(r, 2)) << 11 | v(r) << 5 | v(r);
  } else {
    i = bits(r, 1) << 30 | bits(r, 1) << 29 | 0x0F000400u | immh << 19 |
        bits(r, 3) << 16 | op[rnd(r, 15)] << 11 | v(r) << 5 | v(r);
  }
  g->c->n = 1;
  g->c->insn[0] = vec_or_scalar(r, i);
  return 0;
}

int gen_simd_fp(struct gen *g) {
  struct rng *r = g->r;
  unsigned q = bits(r, 1), u = bits(r, 1), sz = bits(r, 1);
  uint32_t i;
  switch (rnd(r, 5)) {
  case 0:
  case 1: /* three same FP (opcode 11xxx, bit 23 selects the variant) */
    i = q << 30 | u << 29 | 0x0E200400u | bits(r, 1) << 23 | sz << 22 |
        v(r) << 16 | (0x18 | bits(r, 3)) << 11 | v(r) << 5 | v(r);
    break;
  case 2: { /* two-reg misc FP: compares with zero, abs/neg, frint, cvt,
               recpe/rsqrte, sqrt, fcvtl/fcvtn/fcvtxn */
    static const unsigned op[] = {12, 13, 14, 15, 22, 23, 24,
                                  25, 26, 27, 28, 29, 31};
    i = q << 30 | u << 29 | 0x0E200800u | bits(r, 1) << 23 | sz << 22 |
        op[rnd(r, 13)] << 12 | v(r) << 5 | v(r);
    break;
  }
  case 3: { /* by element: FMLA FMLS FMUL FMULX */
    static const unsigned op[] = {1, 5, 9};
    unsigned o = op[rnd(r, 3)];
    unsigned uu = o == 9 ? u : 0;
    unsigned l = sz ? 0 : bits(r, 1);
    i = q << 30 | uu << 29 | 0x0F800000u | sz << 22 | l << 21 |
        bits(r, 5) << 16 | o << 12 | bits(r, 1) << 11 | v(r) << 5 | v(r);
    break;
  }
  default: /* fixed-point conversions by immediate */
    i = q << 30 | u << 29 | 0x0F000400u |
        (sz ? 8 | bits(r, 3) : 4 | bits(r, 2)) << 19 | bits(r, 3) << 16 |
        (rnd(r, 2) ? 28u : 31u) << 11 | v(r) << 5 | v(r);
    break;
  }
  g->c->n = 1;
  g->c->insn[0] = vec_or_scalar(r, i);
  return 0;
}
