/* gen_mem.c — random encodings for the A64 load/store groups: immediate
 * offsets (unsigned scaled, unscaled, pre/post-index, unprivileged),
 * register offsets with extend, pairs, PC-relative literals, exclusives and
 * acquire/release, and AdvSIMD structure loads/stores (LD1-4/ST1-4, single
 * lane, LDnR).
 *
 * The fields are random; the base (and index) register values are then
 * chosen so that every byte accessed lies inside the case's 256-byte memory
 * buffer (dumped with the record), with SP 16-byte aligned when it is the
 * base. Writeback forms never name the base as a transfer register
 * (CONSTRAINED UNPREDICTABLE), and pair loads never load one register twice.
 *
 * Threads: tester's single thread; no shared state.
 */
#include "emudiff.h"

/* Set the base register so that base + off .. + size-1 lies inside the
 * buffer, aligned to align. Returns <0 if no placement was found. */
static int place(struct gen *g, unsigned rn, int64_t off, unsigned size,
                 unsigned align) {
  uint64_t mem = case_mem_va(g->c->idx);
  if (size > MEM_SIZE)
    return -1;
  for (int tries = 0; tries < 64; tries++) {
    uint64_t pos = rnd(g->r, MEM_SIZE - size + 1);
    pos &= ~(uint64_t)(align - 1);
    uint64_t base = mem + pos - (uint64_t)off;
    if (rn == 31) {
      if (base & 15)
        continue;
      g->c->in.sp = base;
    } else {
      g->c->in.x[rn] = base;
    }
    return 0;
  }
  return -1;
}

/* (size, opc) of LDR/STR (immediate and register forms). */
struct ls_kind {
  unsigned v, size, opc;
  unsigned bytes; /* access size */
  bool load, prfm;
};

static struct ls_kind pick_ls(struct rng *r, bool allow_prfm) {
  struct ls_kind k = {0};
  if (rnd(r, 4) == 0) { /* SIMD&FP registers B/H/S/D/Q */
    k.v = 1;
    unsigned s = rnd(r, 5);
    k.load = bits(r, 1);
    if (s == 4) {
      k.size = 0;
      k.opc = 2 | k.load;
      k.bytes = 16;
    } else {
      k.size = s;
      k.opc = k.load;
      k.bytes = 1u << s;
    }
    return k;
  }
  for (;;) {
    k.size = bits(r, 2);
    k.opc = bits(r, 2);
    if (k.size == 3 && k.opc == 3)
      continue;
    if (k.size == 2 && k.opc == 3)
      continue;
    if (k.size == 3 && k.opc == 2 && (!allow_prfm || rnd(r, 4)))
      continue;
    break;
  }
  k.prfm = k.size == 3 && k.opc == 2;
  k.load = k.opc != 0;
  k.bytes = 1u << k.size;
  return k;
}

static unsigned log2u(unsigned x) {
  unsigned n = 0;
  while (x > 1)
    x >>= 1, n++;
  return n;
}

int gen_ldst_imm(struct gen *g) {
  struct rng *r = g->r;
  struct tcase *c = g->c;
  unsigned form = rnd(r, 5); /* uoff, unscaled, post, pre, unpriv */
  struct ls_kind k = pick_ls(r, form <= 1);
  if (form == 4 && k.v)
    form = 1;
  unsigned rn = pick_reg(r, 0, true);
  unsigned rt = rnd(r, 32);
  bool wb = form == 2 || form == 3;
  if (wb && !k.v && rn != 31)
    rt = pick_reg(r, 1u << rn, rnd(r, 8) == 0);
  c->n = 1;
  if (form == 0) {
    unsigned scale = log2u(k.bytes);
    unsigned imm =
        rnd(r, 2) ? rnd(r, (MEM_SIZE - k.bytes) / k.bytes + 1) : bits(r, 12);
    c->insn[0] = k.size << 30 | 0x39000000u | k.v << 26 | k.opc << 22 |
                 imm << 10 | rn << 5 | rt;
    return place(g, rn, (int64_t)imm << scale, k.bytes, 1);
  }
  static const unsigned op2[] = {0, 0, 1, 3, 2}; /* by form */
  int imm = (int)bits(r, 9) - 256;
  c->insn[0] = k.size << 30 | 0x38000000u | k.v << 26 | k.opc << 22 |
               ((unsigned)imm & 0x1ff) << 12 | op2[form] << 10 | rn << 5 | rt;
  return place(g, rn, form == 2 ? 0 : imm, k.bytes, 1);
}

int gen_ldst_reg(struct gen *g) {
  struct rng *r = g->r;
  struct tcase *c = g->c;
  struct ls_kind k = pick_ls(r, true);
  static const unsigned opts[] = {2, 3, 6, 7};
  unsigned option = opts[rnd(r, 4)];
  unsigned s = bits(r, 1);
  unsigned rn = pick_reg(r, 0, true);
  unsigned rm = pick_reg(r, rn == 31 ? 0 : 1u << rn, true);
  unsigned rt = rnd(r, 32);
  int64_t idx = (int64_t)rnd(r, 65) - (option & 4 ? 32 : 0);
  uint64_t xval;
  if (rm == 31) {
    idx = 0;
    xval = 0;
  } else if ((option & 3) == 2) { /* UXTW/SXTW: junk in the high half */
    if (option == 2 && idx < 0)
      idx = -idx;
    xval = (rng_next(r) & ~0xffffffffull) | ((uint64_t)idx & 0xffffffffu);
  } else {
    xval = (uint64_t)idx;
  }
  if (rm != 31)
    c->in.x[rm] = xval;
  unsigned shift = s ? log2u(k.bytes) : 0;
  c->n = 1;
  c->insn[0] = k.size << 30 | 0x38200800u | k.v << 26 | k.opc << 22 | rm << 16 |
               option << 13 | s << 12 | rn << 5 | rt;
  return place(g, rn, idx * (1 << shift), k.bytes, 1);
}

int gen_ldst_pair(struct gen *g) {
  struct rng *r = g->r;
  struct tcase *c = g->c;
  unsigned v = rnd(r, 3) == 0, opc, l = bits(r, 1), mode = bits(r, 2);
  if (v) {
    opc = rnd(r, 3);
  } else {
    static const unsigned o[] = {0, 2, 1};
    opc = o[rnd(r, 3)];
    if (opc == 1 && (!l || mode == 0))
      opc = 2;
  }
  unsigned esize = v ? 4u << opc : (opc == 2 ? 8 : 4);
  unsigned rn = pick_reg(r, 0, true);
  bool wb = mode == 1 || mode == 3;
  uint32_t avoid = (!v && wb && rn != 31) ? 1u << rn : 0;
  unsigned rt = pick_reg(r, avoid, rnd(r, 8) == 0);
  if (l)
    avoid |= rt < 31 ? 1u << rt : 0;
  unsigned rt2 = pick_reg(r, avoid, !l && rnd(r, 8) == 0);
  if (l && rt == 31 && rt2 == 31)
    rt2 = 0;
  int imm = (int)bits(r, 7) - 64;
  if (rnd(r, 2)) /* mostly offsets that stay near the buffer */
    imm = (int)rnd(r, 2 * (MEM_SIZE / esize) / 2) - (int)(MEM_SIZE / esize) / 4;
  c->n = 1;
  c->insn[0] = opc << 30 | 0x28000000u | v << 26 | mode << 23 | l << 22 |
               ((unsigned)imm & 0x7f) << 15 | rt2 << 10 | rn << 5 | rt;
  return place(g, rn, mode == 1 ? 0 : (int64_t)imm * esize, 2 * esize, 1);
}

int gen_ldst_lit(struct gen *g) {
  struct rng *r = g->r;
  struct tcase *c = g->c;
  unsigned v = rnd(r, 3) == 0, opc;
  unsigned bytes;
  if (v) {
    opc = rnd(r, 3);
    bytes = 4u << opc;
  } else {
    opc = rnd(r, 8) == 0 ? 3 : rnd(r, 3); /* 3 = PRFM */
    bytes = opc == 1 ? 8 : 4;
  }
  uint64_t pc = case_test_va(c->idx);
  uint64_t target = case_lit_va(c->idx) + (rnd(r, LIT_SIZE - bytes + 1) & ~3u);
  int64_t off = (int64_t)(target - pc);
  c->n = 1;
  c->insn[0] = opc << 30 | 0x18000000u | v << 26 |
               ((uint32_t)(off / 4) & 0x7ffff) << 5 | rnd(r, 32);
  return 0;
}

static uint32_t excl(unsigned size, unsigned o2, unsigned l, unsigned o1,
                     unsigned rs, unsigned o0, unsigned rt2, unsigned rn,
                     unsigned rt) {
  return size << 30 | 0x08000000u | o2 << 23 | l << 22 | o1 << 21 | rs << 16 |
         o0 << 15 | rt2 << 10 | rn << 5 | rt;
}

int gen_exclusive(struct gen *g) {
  struct rng *r = g->r;
  struct tcase *c = g->c;
  unsigned rn = pick_reg(r, 0, true);
  uint32_t nmask = rn == 31 ? 0 : 1u << rn;
  unsigned size = bits(r, 2), bytes = 1u << size;
  const uint32_t clrex = 0xD503305Fu;
  switch (rnd(r, 5)) {
  case 0:
  case 1: { /* LD(A)XR then ST(L)XR of the same size and address */
    unsigned rt = pick_reg(r, nmask, false);
    unsigned rt2 = pick_reg(r, nmask, true);
    unsigned rs = pick_reg(r, nmask | 1u << rt2, false);
    c->n = 3;
    c->insn[0] = clrex;
    c->insn[1] = excl(size, 0, 1, 0, 31, bits(r, 1), 31, rn, rt);
    c->insn[2] = excl(size, 0, 0, 0, rs, bits(r, 1), 31, rn, rt2);
    return place(g, rn, 0, bytes, bytes);
  }
  case 2: { /* LD(A)XP then ST(L)XP */
    size = 2 + bits(r, 1);
    bytes = 2u << size;
    unsigned rt = pick_reg(r, nmask, false);
    unsigned rt2 = pick_reg(r, nmask | 1u << rt, false);
    unsigned s1 = pick_reg(r, nmask, true), s2 = pick_reg(r, nmask, true);
    unsigned rs = pick_reg(r, nmask | 1u << s1 | 1u << s2, false);
    c->n = 3;
    c->insn[0] = clrex;
    c->insn[1] = excl(size, 0, 1, 1, 31, bits(r, 1), rt2, rn, rt);
    c->insn[2] = excl(size, 0, 0, 1, rs, bits(r, 1), s2, rn, s1);
    return place(g, rn, 0, bytes, bytes);
  }
  case 3: { /* ST(L)XR without a reservation: must fail, store nothing */
    unsigned rt = pick_reg(r, nmask, true);
    unsigned rs = pick_reg(r, nmask | (rt < 31 ? 1u << rt : 0), false);
    c->n = 2;
    c->insn[0] = clrex;
    c->insn[1] = excl(size, 0, 0, 0, rs, bits(r, 1), 31, rn, rt);
    return place(g, rn, 0, bytes, bytes);
  }
  default: { /* LDAR/STLR */
    unsigned l = bits(r, 1);
    unsigned rt = rnd(r, 32);
    c->n = 1;
    c->insn[0] = excl(size, 1, l, 0, 31, 1, 31, rn, rt);
    return place(g, rn, 0, bytes, bytes);
  }
  }
}

int gen_simd_ldst(struct gen *g) {
  struct rng *r = g->r;
  struct tcase *c = g->c;
  unsigned q = bits(r, 1), l = bits(r, 1), rt = bits(r, 5);
  unsigned rn = pick_reg(r, 0, true);
  bool post = bits(r, 1);
  unsigned rm = post ? pick_reg(r, rn == 31 ? 0 : 1u << rn, true) : 0;
  unsigned bytes;
  uint32_t insn;
  if (rnd(r, 2)) { /* multiple structures */
    static const unsigned opc[] = {0, 2, 4, 6, 7, 8, 10};
    static const unsigned nreg[] = {4, 4, 3, 3, 1, 2, 2};
    static const unsigned selem[] = {4, 1, 3, 1, 1, 2, 1};
    unsigned i = rnd(r, 7), size = bits(r, 2);
    if (selem[i] > 1 && size == 3 && !q)
      size = bits(r, 1) ? 2 : 1;
    bytes = nreg[i] * (q ? 16 : 8);
    insn = q << 30 | 0x0C000000u | l << 22 | opc[i] << 12 | size << 10 |
           rn << 5 | rt;
  } else { /* single structure / replicate */
    unsigned kind = bits(r, 2), rbit = bits(r, 1), op0 = bits(r, 1);
    unsigned selem = (op0 << 1 | rbit) + 1, s = bits(r, 1), size = bits(r, 2);
    unsigned esize;
    if (kind == 3) {
      l = 1;
      s = 0;
      esize = 1u << size;
    } else if (kind == 0) {
      esize = 1;
    } else if (kind == 1) {
      size &= 2;
      esize = 2;
    } else if (bits(r, 1)) {
      size = 0;
      esize = 4;
    } else {
      size = 1;
      s = 0;
      esize = 8;
    }
    bytes = selem * esize;
    insn = q << 30 | 0x0D000000u | l << 22 | rbit << 21 |
           (kind << 1 | op0) << 13 | s << 12 | size << 10 | rn << 5 | rt;
  }
  if (post) {
    insn |= 0x00800000u | rm << 16;
    if (rm != 31)
      c->in.x[rm] = rnd_xval(r);
  }
  c->n = 1;
  c->insn[0] = insn;
  return place(g, rn, 0, bytes, 1);
}
