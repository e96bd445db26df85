/* gen_fp.c — random encodings for scalar floating point: arithmetic,
 * fused multiply-add, min/max(NM), compares (FCMP/FCMPE/FCCMP/FCCMPE),
 * FCSEL, FMOV (register, immediate, general), FABS/FNEG/FSQRT, FRINT*, and
 * every conversion (precision, integer and fixed-point in every rounding
 * mode). Single and double precision; half only as a conversion source or
 * destination (FP16 arithmetic is ARMv8.2). FPCR rounding, DN and FZ are
 * randomized by the common state generator.
 *
 * Threads: tester's single thread; no shared state.
 */
#include "emudiff.h"

static unsigned v(struct rng *r) { return bits(r, 5); }

static uint32_t one_fp_scalar(struct rng *r) {
  unsigned ft = bits(r, 1); /* 0 single, 1 double */
  switch (rnd(r, 9)) {
  case 0:
  case 1: /* FMUL FDIV FADD FSUB FMAX FMIN FMAXNM FMINNM FNMUL */
    return 0x1E200800u | ft << 22 | v(r) << 16 | rnd(r, 9) << 12 | v(r) << 5 |
           v(r);
  case 2: /* FMADD FMSUB FNMADD FNMSUB */
    return 0x1F000000u | ft << 22 | bits(r, 1) << 21 | v(r) << 16 |
           bits(r, 1) << 15 | v(r) << 10 | v(r) << 5 | v(r);
  case 3: { /* FMOV FABS FNEG FSQRT FRINTN/P/M/Z/A/X/I */
    static const unsigned op[] = {0, 1, 2, 3, 8, 9, 10, 11, 12, 14, 15};
    return 0x1E204000u | ft << 22 | op[rnd(r, 11)] << 15 | v(r) << 5 | v(r);
  }
  case 4: { /* FCMP/FCMPE, with register or #0.0 */
    unsigned opc2 = bits(r, 1) << 4 | bits(r, 1) << 3;
    unsigned rm = (opc2 & 8) ? 0 : v(r);
    return 0x1E202000u | ft << 22 | rm << 16 | v(r) << 5 | opc2;
  }
  case 5: /* FCCMP/FCCMPE */
    return 0x1E200400u | ft << 22 | v(r) << 16 | bits(r, 4) << 12 | v(r) << 5 |
           bits(r, 1) << 4 | bits(r, 4);
  case 6: /* FCSEL */
    return 0x1E200C00u | ft << 22 | v(r) << 16 | bits(r, 4) << 12 | v(r) << 5 |
           v(r);
  case 7: /* FMOV (immediate) */
    return 0x1E201000u | ft << 22 | bits(r, 8) << 13 | v(r);
  default: /* FMAX/FMIN/NM again: the NaN rules are the subtle part */
    return 0x1E200800u | ft << 22 | v(r) << 16 | (4 + bits(r, 2)) << 12 |
           v(r) << 5 | v(r);
  }
}

static uint32_t one_fp_cvt(struct rng *r) {
  unsigned sf = bits(r, 1), ft = bits(r, 1);
  unsigned rn = bits(r, 5), rd = bits(r, 5);
  switch (rnd(r, 6)) {
  case 0: { /* FCVT between S, D and H */
    static const unsigned t[] = {0, 1, 3};
    unsigned from = t[rnd(r, 3)], to;
    do
      to = t[rnd(r, 3)];
    while (to == from);
    return 0x1E204000u | from << 22 | (4 | to) << 15 | rn << 5 | rd;
  }
  case 1:
  case 2: { /* FP -> integer, every rounding mode */
    static const unsigned rm_op[][2] = {{0, 0}, {0, 1}, {0, 4}, {0, 5}, {1, 0},
                                        {1, 1}, {2, 0}, {2, 1}, {3, 0}, {3, 1}};
    unsigned i = rnd(r, 10);
    return sf << 31 | 0x1E200000u | ft << 22 | rm_op[i][0] << 19 |
           rm_op[i][1] << 16 | rn << 5 | rd;
  }
  case 3: /* SCVTF/UCVTF (integer) */
    return sf << 31 | 0x1E200000u | ft << 22 | (2 + bits(r, 1)) << 16 |
           rn << 5 | rd;
  case 4: { /* fixed point: SCVTF/UCVTF/FCVTZS/FCVTZU */
    unsigned scale = sf ? bits(r, 6) : 32 + bits(r, 5);
    bool tofp = bits(r, 1);
    unsigned rmode = tofp ? 0 : 3, opc = tofp ? 2 + bits(r, 1) : bits(r, 1);
    return sf << 31 | 0x1E000000u | ft << 22 | rmode << 19 | opc << 16 |
           scale << 10 | rn << 5 | rd;
  }
  default: { /* FMOV general <-> FP, incl. the top half of a vector */
    unsigned k = rnd(r, 3), dir = bits(r, 1);
    if (k == 0) /* W <-> S */
      return 0x1E260000u | dir << 16 | rn << 5 | rd;
    if (k == 1) /* X <-> D */
      return 0x9E660000u | dir << 16 | rn << 5 | rd;
    return 0x9EAE0000u | dir << 16 | rn << 5 | rd; /* X <-> V.D[1] */
  }
  }
}

int gen_fp_scalar(struct gen *g) {
  int n = rnd(g->r, 10) < 7 ? 1 : 2;
  g->c->n = n;
  for (int i = 0; i < n; i++)
    g->c->insn[i] = one_fp_scalar(g->r);
  return 0;
}

int gen_fp_cvt(struct gen *g) {
  g->c->n = 1;
  g->c->insn[0] = one_fp_cvt(g->r);
  /* integer sources: values near the representable limits */
  if (rnd(g->r, 2)) {
    unsigned rn = (g->c->insn[0] >> 5) & 31;
    if (rn < 31)
      g->c->in.x[rn] = rnd_xval(g->r);
  }
  return 0;
}

/* 2..4 scalar FP instructions and conversions in a row: FPSR flags
 * accumulate, results feed later operations and compares set NZCV. */
int gen_fp_mix(struct gen *g) {
  int n = 2 + rnd(g->r, 3);
  g->c->n = n;
  for (int i = 0; i < n; i++)
    g->c->insn[i] = rnd(g->r, 3) ? one_fp_scalar(g->r) : one_fp_cvt(g->r);
  return 0;
}
