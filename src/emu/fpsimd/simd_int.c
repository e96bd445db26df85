/* simd_int.c — AdvSIMD integer instructions, vector and scalar forms:
 * three same (arithmetic, halving, saturating, compares, shifts by
 * register, min/max, absolute difference, multiply, logic, pairwise), three
 * different (widening, narrowing-high, long multiply), two-register misc
 * (REV*, CLS/CLZ/CNT/NOT/RBIT, pairwise long adds, abs/neg, compares with
 * zero, XTN/SQXTN/UQXTN/SQXTUN, SHLL, SUQADD/USQADD), across lanes, shifts
 * by immediate (incl. narrowing, widening, saturating, inserting) and
 * multiply by element.
 *
 * Operand fields: rd/rn/rm = V registers; b = log2 element size (of the
 * source for widening ops, of the destination for narrowing ones); c = 0
 * for a 64-bit vector, 1 for 128-bit (for "2" forms: the upper half), 2
 * for the scalar forms; imm = shift amount or element index.
 * Saturation sets FPSR.QC.
 *
 * Runs on the vCPU thread; no shared state.
 */
#include "emu/decode.h"
#include "fpsimd_int.h"

typedef __int128 i128;

static inline int64_t sx(uint64_t x, unsigned s) {
  unsigned sh = 64 - (8u << s);
  return (int64_t)(x << sh) >> sh;
}
static inline uint64_t emask(unsigned s) {
  return s >= 3 ? ~0ull : (1ull << (8u << s)) - 1;
}
static inline uint64_t ssat(i128 v, unsigned E, bool *qc) {
  i128 max = ((i128)1 << (E - 1)) - 1, min = -((i128)1 << (E - 1));
  if (v > max) {
    *qc = true;
    v = max;
  } else if (v < min) {
    *qc = true;
    v = min;
  }
  return (uint64_t)v & (E == 64 ? ~0ull : (1ull << E) - 1);
}
static inline uint64_t usat(i128 v, unsigned E, bool *qc) {
  i128 max = ((i128)1 << E) - 1;
  if (v > max) {
    *qc = true;
    v = max;
  } else if (v < 0) {
    *qc = true;
    v = 0;
  }
  return (uint64_t)v;
}
static inline unsigned vbytes(const struct emu_insn *in) {
  return in->c == 2 ? (1u << in->b) : in->c ? 16u : 8u;
}
static inline i128 ashr128(i128 v, unsigned sh) {
  if (sh > 126)
    sh = 126;
  return v >> sh;
}

/* Shift by a signed amount (SSHL family / shifts by immediate): val is
 * the element (sign- or zero-extended), E its width. */
static uint64_t shift_op(i128 val, int shift, unsigned E, bool uns, bool rnd,
                         bool sat, bool *qc) {
  i128 r;
  if (shift >= 0) {
    if (shift >= (int)E) /* everything shifted out (val * 2^64 would
                            overflow the 128-bit intermediate) */
      r = val == 0 ? 0 : (val < 0 ? -((i128)1 << 100) : ((i128)1 << 100));
    else
      r = val * ((i128)1 << shift);
  } else {
    unsigned sh = (unsigned)-shift;
    if (sh > 70)
      sh = 70;
    if (rnd)
      r = ashr128(val + ((i128)1 << (sh - 1)), sh);
    else
      r = ashr128(val, sh);
  }
  if (sat)
    return uns ? usat(r, E, qc) : ssat(r, E, qc);
  return (uint64_t)r & (E == 64 ? ~0ull : (1ull << E) - 1);
}

/* ---- three same ---------------------------------------------------------- */

#define V3_LOOP(S, EXPR)                                                       \
  for (unsigned i = 0; i < (bytes >> S); i++) {                                \
    const unsigned E = 8u << S;                                                \
    uint64_t a = lane_get(&n, S, i), b = lane_get(&m, S, i),                   \
             dd = lane_get(&d, S, i);                                          \
    int64_t sa = sx(a, S), sb = sx(b, S);                                      \
    (void)a, (void)b, (void)dd, (void)sa, (void)sb, (void)E;                   \
    lane_set(&r, S, i, (uint64_t)(EXPR));                                      \
  }

#define V3(name, EXPR)                                                         \
  static FPS_HANDLER(name) {                                                   \
    const emu_vreg n = cpu->v[in->rn], m = cpu->v[in->rm], d = cpu->v[in->rd]; \
    emu_vreg r;                                                                \
    unsigned bytes = vbytes(in);                                               \
    bool qc = false;                                                           \
    memset(&r, 0, sizeof r);                                                   \
    switch (in->b) {                                                           \
    case 0:                                                                    \
      V3_LOOP(0, EXPR) break;                                                  \
    case 1:                                                                    \
      V3_LOOP(1, EXPR) break;                                                  \
    case 2:                                                                    \
      V3_LOOP(2, EXPR) break;                                                  \
    default:                                                                   \
      V3_LOOP(3, EXPR) break;                                                  \
    }                                                                          \
    if (qc)                                                                    \
      cpu->fpsr |= FPSR_QC;                                                    \
    cpu->v[in->rd] = r;                                                        \
    return in + 1;                                                             \
  }

#define ONES(c) ((c) ? ~0ull : 0)
#define ABSD(x, y) ((x) > (y) ? (x) - (y) : (y) - (x))

V3(h_shadd, ((i128)sa + sb) >> 1)
V3(h_uhadd, ((i128)a + b) >> 1)
V3(h_srhadd, ((i128)sa + sb + 1) >> 1)
V3(h_urhadd, ((i128)a + b + 1) >> 1)
V3(h_shsub, ((i128)sa - sb) >> 1)
V3(h_uhsub, ((i128)a - b) >> 1)
V3(h_sqadd, ssat((i128)sa + sb, E, &qc))
V3(h_uqadd, usat((i128)a + b, E, &qc))
V3(h_sqsub, ssat((i128)sa - sb, E, &qc))
V3(h_uqsub, usat((i128)a - b, E, &qc))
V3(h_cmgt, ONES(sa > sb))
V3(h_cmge, ONES(sa >= sb))
V3(h_cmhi, ONES(a > b))
V3(h_cmhs, ONES(a >= b))
V3(h_cmtst, ONES((a & b) != 0))
V3(h_cmeq, ONES(a == b))
V3(h_sshl, shift_op(sa, (int8_t)b, E, false, false, false, &qc))
V3(h_ushl, shift_op(a, (int8_t)b, E, true, false, false, &qc))
V3(h_srshl, shift_op(sa, (int8_t)b, E, false, true, false, &qc))
V3(h_urshl, shift_op(a, (int8_t)b, E, true, true, false, &qc))
V3(h_sqshl, shift_op(sa, (int8_t)b, E, false, false, true, &qc))
V3(h_uqshl, shift_op(a, (int8_t)b, E, true, false, true, &qc))
V3(h_sqrshl, shift_op(sa, (int8_t)b, E, false, true, true, &qc))
V3(h_uqrshl, shift_op(a, (int8_t)b, E, true, true, true, &qc))
V3(h_smax, sa > sb ? a : b)
V3(h_smin, sa < sb ? a : b)
V3(h_umax, a > b ? a : b)
V3(h_umin, a < b ? a : b)
V3(h_sabd, ABSD(sa, sb))
V3(h_uabd, ABSD(a, b))
V3(h_saba, dd + ABSD(sa, sb))
V3(h_uaba, dd + ABSD(a, b))
V3(h_add, a + b)
V3(h_sub, a - b)
V3(h_mla, dd + a * b)
V3(h_mls, dd - a * b)
V3(h_mul, a *b)
V3(h_sqdmulh, ssat(((i128)2 * sa * sb) >> E, E, &qc))
V3(h_sqrdmulh, ssat(((i128)2 * sa * sb + ((i128)1 << (E - 1))) >> E, E, &qc))

static inline uint64_t pmul8(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  for (int i = 0; i < 8; i++)
    if ((b >> i) & 1)
      r ^= a << i;
  return r;
}
V3(h_pmul, pmul8(a, b))

/* Bitwise ops on whole 64-bit halves. */
#define VLOGIC(name, EXPR)                                                     \
  static FPS_HANDLER(name) {                                                   \
    emu_vreg *dv = &cpu->v[in->rd];                                            \
    const emu_vreg *nv = &cpu->v[in->rn], *mv = &cpu->v[in->rm];               \
    unsigned k = in->c ? 2 : 1;                                                \
    uint64_t r[2] = {0, 0};                                                    \
    for (unsigned i = 0; i < k; i++) {                                         \
      uint64_t n = nv->d[i], m = mv->d[i], d = dv->d[i];                       \
      (void)d;                                                                 \
      r[i] = (EXPR);                                                           \
    }                                                                          \
    dv->d[0] = r[0];                                                           \
    dv->d[1] = r[1];                                                           \
    return in + 1;                                                             \
  }
VLOGIC(h_and, n &m)
VLOGIC(h_bic, n & ~m)
VLOGIC(h_orr, n | m)
VLOGIC(h_orn, n | ~m)
VLOGIC(h_eor, n ^ m)
VLOGIC(h_bsl, (d & n) | (~d & m))
VLOGIC(h_bit, (n & m) | (d & ~m))
VLOGIC(h_bif, (d & m) | (n & ~m))

/* Pairwise: element i of concat(m:n) pairs. */
#define VP_LOOP(S, EXPR)                                                       \
  for (unsigned i = 0; i < (bytes >> S); i++) {                                \
    unsigned el = bytes >> S, k = 2 * i;                                       \
    uint64_t a = k < el ? lane_get(&n, S, k) : lane_get(&m, S, k - el);        \
    uint64_t b =                                                               \
        k + 1 < el ? lane_get(&n, S, k + 1) : lane_get(&m, S, k + 1 - el);     \
    int64_t sa = sx(a, S), sb = sx(b, S);                                      \
    (void)sa, (void)sb;                                                        \
    lane_set(&r, S, i, (uint64_t)(EXPR));                                      \
  }
#define VP(name, EXPR)                                                         \
  static FPS_HANDLER(name) {                                                   \
    const emu_vreg n = cpu->v[in->rn], m = cpu->v[in->rm];                     \
    emu_vreg r;                                                                \
    unsigned bytes = vbytes(in);                                               \
    memset(&r, 0, sizeof r);                                                   \
    switch (in->b) {                                                           \
    case 0:                                                                    \
      VP_LOOP(0, EXPR) break;                                                  \
    case 1:                                                                    \
      VP_LOOP(1, EXPR) break;                                                  \
    case 2:                                                                    \
      VP_LOOP(2, EXPR) break;                                                  \
    default:                                                                   \
      VP_LOOP(3, EXPR) break;                                                  \
    }                                                                          \
    cpu->v[in->rd] = r;                                                        \
    return in + 1;                                                             \
  }
VP(h_addp, a + b)
VP(h_smaxp, sa > sb ? a : b)
VP(h_sminp, sa < sb ? a : b)
VP(h_umaxp, a > b ? a : b)
VP(h_uminp, a < b ? a : b)

static FPS_HANDLER(h_addp_scalar) {
  fps_set_scalar(cpu, in->rd, 64, cpu->v[in->rn].d[0] + cpu->v[in->rn].d[1]);
  return in + 1;
}

/* ---- fast whole-vector forms (GCC vector extensions) ---------------------
 * The common lane-wise ops on vector registers, done 16 bytes at a time;
 * a 64-bit vector (Q = 0, c = 0) computes garbage in the upper half that
 * is then cleared. Selected by the decoders for the vector forms only. */
typedef uint8_t u8v __attribute__((vector_size(16)));
typedef int8_t s8v __attribute__((vector_size(16)));
typedef uint16_t u16v __attribute__((vector_size(16)));
typedef int16_t s16v __attribute__((vector_size(16)));
typedef uint32_t u32v __attribute__((vector_size(16)));
typedef int32_t s32v __attribute__((vector_size(16)));
typedef uint64_t u64v __attribute__((vector_size(16)));
typedef int64_t s64v __attribute__((vector_size(16)));

#define VSEL(c, x, y) (((x) & (c)) | ((y) & ~(c)))

#define FASTV(name, VT, EXPR)                                                  \
  static FPS_HANDLER(name) {                                                   \
    VT n, m, r;                                                                \
    memcpy(&n, &cpu->v[in->rn], 16);                                           \
    memcpy(&m, &cpu->v[in->rm], 16);                                           \
    (void)m;                                                                   \
    r = (VT)(EXPR);                                                            \
    memcpy(&cpu->v[in->rd], &r, 16);                                           \
    if (!in->c)                                                                \
      cpu->v[in->rd].d[1] = 0;                                                 \
    return in + 1;                                                             \
  }
#define FASTU4(name, EXPR)                                                     \
  FASTV(name##_0, u8v, EXPR)                                                   \
  FASTV(name##_1, u16v, EXPR)                                                  \
  FASTV(name##_2, u32v, EXPR)                                                  \
  FASTV(name##_3, u64v, EXPR)
#define FASTS4(name, EXPR)                                                     \
  FASTV(name##_0, s8v, EXPR)                                                   \
  FASTV(name##_1, s16v, EXPR)                                                  \
  FASTV(name##_2, s32v, EXPR)                                                  \
  FASTV(name##_3, s64v, EXPR)

FASTU4(hv_add, n + m)
FASTU4(hv_sub, n - m)
FASTU4(hv_mul, n *m)
FASTU4(hv_cmeq, n == m)
FASTU4(hv_cmhi, n > m)
FASTU4(hv_cmhs, n >= m)
FASTU4(hv_cmtst, (n & m) != 0)
FASTU4(hv_umax, VSEL((__typeof__(n))(n > m), n, m))
FASTU4(hv_umin, VSEL((__typeof__(n))(n < m), n, m))
FASTU4(hv_cmeq0, n == 0)
FASTS4(hv_cmgt, n > m)
FASTS4(hv_cmge, n >= m)
FASTS4(hv_smax, VSEL((__typeof__(n))(n > m), n, m))
FASTS4(hv_smin, VSEL((__typeof__(n))(n < m), n, m))
FASTS4(hv_cmgt0, n > 0)
FASTS4(hv_cmlt0, n < 0)
FASTU4(hv_neg, -n)

#define TAB4(name)                                                             \
  { name##_0, name##_1, name##_2, name##_3 }
static const emu_fn fast_three_same[2][0x18][4] = {
    [0][0x06] = TAB4(hv_cmgt), [0][0x07] = TAB4(hv_cmge),
    [0][0x0c] = TAB4(hv_smax), [0][0x0d] = TAB4(hv_smin),
    [0][0x10] = TAB4(hv_add),  [0][0x11] = TAB4(hv_cmtst),
    [0][0x13] = TAB4(hv_mul),  [1][0x06] = TAB4(hv_cmhi),
    [1][0x07] = TAB4(hv_cmhs), [1][0x0c] = TAB4(hv_umax),
    [1][0x0d] = TAB4(hv_umin), [1][0x10] = TAB4(hv_sub),
    [1][0x11] = TAB4(hv_cmeq),
};

/* Pairwise: even and odd elements of concat(m:n), or of lo(m):lo(n) for a
 * 64-bit vector. */
#define FASTP(name, VT, EVEN, ODD, EXPR)                                       \
  static FPS_HANDLER(name) {                                                   \
    VT a, b, r;                                                                \
    if (in->c) {                                                               \
      memcpy(&a, &cpu->v[in->rn], 16);                                         \
      memcpy(&b, &cpu->v[in->rm], 16);                                         \
    } else {                                                                   \
      uint64_t t[2] = {cpu->v[in->rn].d[0], cpu->v[in->rm].d[0]};              \
      memcpy(&a, t, 16);                                                       \
      memset(&b, 0, 16);                                                       \
    }                                                                          \
    VT n = __builtin_shuffle(a, b, EVEN), m = __builtin_shuffle(a, b, ODD);    \
    r = (VT)(EXPR);                                                            \
    memcpy(&cpu->v[in->rd], &r, 16);                                           \
    if (!in->c)                                                                \
      cpu->v[in->rd].d[1] = 0;                                                 \
    return in + 1;                                                             \
  }
#define E8 ((u8v){0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30})
#define O8 ((u8v){1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31})
#define E16 ((u16v){0, 2, 4, 6, 8, 10, 12, 14})
#define O16 ((u16v){1, 3, 5, 7, 9, 11, 13, 15})
#define E32 ((u32v){0, 2, 4, 6})
#define O32 ((u32v){1, 3, 5, 7})
#define E64 ((u64v){0, 2})
#define O64 ((u64v){1, 3})
#define FASTP4(name, EXPR)                                                     \
  FASTP(name##_0, u8v, E8, O8, EXPR)                                           \
  FASTP(name##_1, u16v, E16, O16, EXPR)                                        \
  FASTP(name##_2, u32v, E32, O32, EXPR)                                        \
  FASTP(name##_3, u64v, E64, O64, EXPR)
FASTP4(hp_addp, n + m)
FASTP4(hp_umaxp, VSEL((__typeof__(n))(n > m), n, m))
FASTP4(hp_uminp, VSEL((__typeof__(n))(n < m), n, m))
static const emu_fn fast_pairwise[3][4] = {TAB4(hp_addp), TAB4(hp_umaxp),
                                           TAB4(hp_uminp)};

/* [U][opcode] for opcodes 0..0x17 (logic 3 handled apart). */
static const emu_fn three_same[2][0x18] = {
    {h_shadd, h_sqadd, h_srhadd, NULL,     h_shsub, h_sqsub, h_cmgt,    h_cmge,
     h_sshl,  h_sqshl, h_srshl,  h_sqrshl, h_smax,  h_smin,  h_sabd,    h_saba,
     h_add,   h_cmtst, h_mla,    h_mul,    h_smaxp, h_sminp, h_sqdmulh, h_addp},
    {h_uhadd, h_uqadd, h_urhadd, NULL,     h_uhsub, h_uqsub, h_cmhi,     h_cmhs,
     h_ushl,  h_uqshl, h_urshl,  h_uqrshl, h_umax,  h_umin,  h_uabd,     h_uaba,
     h_sub,   h_cmeq,  h_mls,    h_pmul,   h_umaxp, h_uminp, h_sqrdmulh, NULL},
};

static bool decode_three_same(struct emu_insn *out, uint32_t raw, bool scalar) {
  unsigned U = (raw >> 29) & 1, size = (raw >> 22) & 3, Q = (raw >> 30) & 1;
  unsigned op = (raw >> 11) & 31;
  if (op >= 0x18)
    return false;
  out->b = (uint8_t)size;
  out->c = scalar ? 2 : (uint8_t)Q;
  if (op == 3) {
    if (scalar)
      return false;
    static const emu_fn logic[2][4] = {{h_and, h_bic, h_orr, h_orn},
                                       {h_eor, h_bsl, h_bit, h_bif}};
    out->fn = logic[U][size];
    return true;
  }
  emu_fn fn = three_same[U][op];
  if (!fn)
    return false;
  if (scalar) {
    switch (op) {
    case 1:
    case 5:
    case 9:
    case 11: /* saturating: any size */
      break;
    case 0x16: /* SQDMULH / SQRDMULH */
      if (size != 1 && size != 2)
        return false;
      break;
    case 6:
    case 7:
    case 8:
    case 10:
    case 0x10:
    case 0x11:
      if (size != 3)
        return false;
      break;
    default:
      return false;
    }
  } else {
    if (size == 3 && !Q)
      return false;
    switch (op) {
    case 0:
    case 2:
    case 4:
    case 0xc:
    case 0xd:
    case 0xe:
    case 0xf:
    case 0x12:
    case 0x14:
    case 0x15:
      if (size == 3)
        return false;
      break;
    case 0x13:
      if (size == 3 || (U && size != 0))
        return false;
      break;
    case 0x16:
      if (size == 0 || size == 3)
        return false;
      break;
    }
  }
  out->fn = fn;
  if (!scalar) {
    if (fast_three_same[U][op][size])
      out->fn = fast_three_same[U][op][size];
    else if (op == 0x17 && !U)
      out->fn = fast_pairwise[0][size];
    else if (op == 0x14 && U)
      out->fn = fast_pairwise[1][size];
    else if (op == 0x15 && U)
      out->fn = fast_pairwise[2][size];
  }
  return true;
}

/* ---- three different --------------------------------------------------- */

/* Fields: b = source size S, c = part (Q). imm: op. */
enum {
  W_ADDL,
  W_ADDW,
  W_SUBL,
  W_SUBW,
  W_ADDHN,
  W_ABAL,
  W_SUBHN,
  W_ABDL,
  W_MLAL,
  W_QDMLAL,
  W_MLSL,
  W_QDMLSL,
  W_MULL,
  W_QDMULL,
  W_PMULL
};

static const struct emu_insn *three_diff_do(struct emu_cpu *cpu,
                                            const struct emu_insn *in,
                                            const emu_vreg m) {
  const emu_vreg n = cpu->v[in->rn], d = cpu->v[in->rd];
  emu_vreg r;
  unsigned S = in->b, part = in->c & 1, elems = 8u >> S;
  unsigned E = 8u << S;
  bool uns = in->a, qc = false;
  unsigned op = (unsigned)in->imm;
  bool scalar = in->c == 2;
  if (scalar)
    elems = 1, part = 0;
  memset(&r, 0, sizeof r);
  if (op == W_ADDHN || op == W_SUBHN) {
    bool rnd = in->imm2;
    for (unsigned i = 0; i < elems; i++) {
      uint64_t a = lane_get(&n, S + 1, i), b = lane_get(&m, S + 1, i);
      uint64_t s = op == W_ADDHN ? a + b : a - b;
      unsigned __int128 t = (unsigned __int128)(s & emask(S + 1));
      if (rnd)
        t += (unsigned __int128)1 << (E - 1);
      lane_set(&r, S, i + part * elems, (uint64_t)(t >> E));
    }
    if (part)
      r.d[0] = d.d[0];
    cpu->v[in->rd] = r;
    return in + 1;
  }
  if (op == W_PMULL) {
    if (S == 3) {
      uint64_t a = n.d[part], b = m.d[part];
      unsigned __int128 p = 0;
      for (int i = 0; i < 64; i++)
        if ((b >> i) & 1)
          p ^= (unsigned __int128)a << i;
      r.q = p;
    } else {
      for (unsigned i = 0; i < 8; i++)
        r.h[i] = (uint16_t)pmul8(n.b[i + 8 * part], m.b[i + 8 * part]);
    }
    cpu->v[in->rd] = r;
    return in + 1;
  }
  for (unsigned i = 0; i < elems; i++) {
    uint64_t ua = lane_get(&n, S, i + part * elems);
    uint64_t ub = lane_get(&m, S, i + part * elems);
    i128 a = uns ? (i128)ua : (i128)sx(ua, S);
    i128 b = uns ? (i128)ub : (i128)sx(ub, S);
    uint64_t wdd = lane_get(&d, S + 1, i);
    i128 res;
    switch (op) {
    case W_ADDW:
    case W_SUBW: {
      uint64_t wn = lane_get(&n, S + 1, i);
      i128 w = uns ? (i128)wn : (i128)sx(wn, S + 1);
      res = op == W_ADDW ? w + b : w - b;
      break;
    }
    case W_ADDL:
      res = a + b;
      break;
    case W_SUBL:
      res = a - b;
      break;
    case W_ABAL:
      res = (i128)wdd + (a > b ? a - b : b - a);
      break;
    case W_ABDL:
      res = a > b ? a - b : b - a;
      break;
    case W_MLAL:
      res = (i128)wdd + a * b;
      break;
    case W_MLSL:
      res = (i128)wdd - a * b;
      break;
    case W_MULL:
      res = a * b;
      break;
    default: { /* saturating doubling */
      uint64_t prod = ssat(2 * a * b, 2 * E, &qc);
      i128 p = sx(prod, S + 1), acc = sx(wdd, S + 1);
      if (op == W_QDMULL)
        res = p;
      else
        res = (i128)ssat(op == W_QDMLAL ? acc + p : acc - p, 2 * E, &qc);
      break;
    }
    }
    lane_set(&r, S + 1, i, (uint64_t)res & emask(S + 1));
  }
  if (qc)
    cpu->fpsr |= FPSR_QC;
  cpu->v[in->rd] = r;
  return in + 1;
}

static FPS_HANDLER(h_three_diff) {
  return three_diff_do(cpu, in, cpu->v[in->rm]);
}

static bool decode_three_diff(struct emu_insn *out, uint32_t raw, bool scalar) {
  unsigned U = (raw >> 29) & 1, size = (raw >> 22) & 3, Q = (raw >> 30) & 1;
  unsigned op = (raw >> 12) & 15;
  out->b = (uint8_t)size;
  out->c = scalar ? 2 : (uint8_t)Q;
  out->a = (uint8_t)U;
  out->imm2 = 0;
  if (scalar) {
    if (U || (size != 1 && size != 2))
      return false;
    if (op != W_QDMLAL && op != W_QDMLSL && op != W_QDMULL)
      return false;
  } else if (op == W_PMULL) {
    if (U || (size != 0 && size != 3))
      return false;
  } else {
    if (op == 15 || size == 3)
      return false;
    if (op == W_QDMLAL || op == W_QDMLSL || op == W_QDMULL) {
      if (U || size == 0)
        return false;
    }
    if (op == W_ADDHN || op == W_SUBHN)
      out->imm2 = U; /* RADDHN / RSUBHN */
  }
  out->imm = op;
  out->fn = h_three_diff;
  return true;
}

/* ---- two-register misc (integer) -------------------------------------------
 */

#define V2_LOOP(S, EXPR)                                                       \
  for (unsigned i = 0; i < (bytes >> S); i++) {                                \
    const unsigned E = 8u << S;                                                \
    uint64_t a = lane_get(&n, S, i), dd = lane_get(&d, S, i);                  \
    int64_t sa = sx(a, S), sd = sx(dd, S);                                     \
    (void)a, (void)sa, (void)E, (void)dd, (void)sd;                            \
    lane_set(&r, S, i, (uint64_t)(EXPR));                                      \
  }
#define V2(name, EXPR)                                                         \
  static FPS_HANDLER(name) {                                                   \
    const emu_vreg n = cpu->v[in->rn], d = cpu->v[in->rd];                     \
    emu_vreg r;                                                                \
    unsigned bytes = vbytes(in);                                               \
    bool qc = false;                                                           \
    memset(&r, 0, sizeof r);                                                   \
    switch (in->b) {                                                           \
    case 0:                                                                    \
      V2_LOOP(0, EXPR) break;                                                  \
    case 1:                                                                    \
      V2_LOOP(1, EXPR) break;                                                  \
    case 2:                                                                    \
      V2_LOOP(2, EXPR) break;                                                  \
    default:                                                                   \
      V2_LOOP(3, EXPR) break;                                                  \
    }                                                                          \
    if (qc)                                                                    \
      cpu->fpsr |= FPSR_QC;                                                    \
    cpu->v[in->rd] = r;                                                        \
    return in + 1;                                                             \
  }

static inline uint64_t cls_e(int64_t v, unsigned E) {
  uint64_t u = (uint64_t)(v < 0 ? ~v : v) & (E == 64 ? ~0ull : (1ull << E) - 1);
  if (!u)
    return E - 1;
  return (uint64_t)(__builtin_clzll(u) - (64 - (int)E) - 1);
}
static inline uint64_t clz_e(uint64_t v, unsigned E) {
  return v ? (uint64_t)(__builtin_clzll(v) - (64 - (int)E)) : E;
}
static inline uint8_t rbit8(uint8_t x) {
  x = (uint8_t)(((x & 0xf0) >> 4) | ((x & 0x0f) << 4));
  x = (uint8_t)(((x & 0xcc) >> 2) | ((x & 0x33) << 2));
  x = (uint8_t)(((x & 0xaa) >> 1) | ((x & 0x55) << 1));
  return x;
}

V2(h_cls, cls_e(sa, E))
V2(h_clz, clz_e(a, E))
V2(h_cnt, __builtin_popcountll(a))
V2(h_not, ~a)
V2(h_rbit, rbit8((uint8_t)a))
V2(h_sqabs, ssat(sa < 0 ? -(i128)sa : (i128)sa, E, &qc))
V2(h_sqneg, ssat(-(i128)sa, E, &qc))
V2(h_abs, sa < 0 ? -(uint64_t)sa : (uint64_t)sa)
V2(h_neg, -a)
V2(h_cmgt0, ONES(sa > 0))
V2(h_cmeq0, ONES(a == 0))
V2(h_cmlt0, ONES(sa < 0))
V2(h_cmge0, ONES(sa >= 0))
V2(h_cmle0, ONES(sa <= 0))
V2(h_suqadd, ssat((i128)sd + (i128)a, E, &qc))
V2(h_usqadd, usat((i128)dd + (i128)sa, E, &qc))

/* REV16/32/64: imm = container size in bytes. */
static FPS_HANDLER(h_rev) {
  const emu_vreg n = cpu->v[in->rn];
  emu_vreg r;
  unsigned bytes = vbytes(in), es = 1u << in->b, cs = (unsigned)in->imm;
  memset(&r, 0, sizeof r);
  for (unsigned c = 0; c < bytes; c += cs)
    for (unsigned e = 0; e < cs; e += es)
      memcpy(&r.b[c + e], &n.b[c + cs - es - e], es);
  cpu->v[in->rd] = r;
  return in + 1;
}

/* SADDLP/UADDLP/SADALP/UADALP: a = unsigned, imm = accumulate. */
static FPS_HANDLER(h_addlp) {
  const emu_vreg n = cpu->v[in->rn], d = cpu->v[in->rd];
  emu_vreg r;
  unsigned S = in->b, bytes = vbytes(in), pairs = (bytes >> S) / 2;
  memset(&r, 0, sizeof r);
  for (unsigned i = 0; i < pairs; i++) {
    uint64_t x = lane_get(&n, S, 2 * i), y = lane_get(&n, S, 2 * i + 1);
    uint64_t s = in->a ? x + y : (uint64_t)(sx(x, S) + sx(y, S));
    if (in->imm)
      s += lane_get(&d, S + 1, i);
    lane_set(&r, S + 1, i, s & emask(S + 1));
  }
  cpu->v[in->rd] = r;
  return in + 1;
}

/* Narrowing: XTN, SQXTN, UQXTN, SQXTUN. b = destination size, c = part
 * (or 2 = scalar), a = kind. */
enum { N_XTN, N_SQXTN, N_UQXTN, N_SQXTUN };
static FPS_HANDLER(h_xtn) {
  const emu_vreg n = cpu->v[in->rn];
  emu_vreg r = cpu->v[in->rd];
  unsigned S = in->b, E = 8u << S, elems = 8u >> S, part = in->c & 1;
  bool qc = false;
  if (in->c == 2)
    elems = 1, part = 0, memset(&r, 0, sizeof r);
  else if (!part)
    memset(&r, 0, sizeof r);
  else
    r.d[1] = 0;
  for (unsigned i = 0; i < elems; i++) {
    uint64_t a = lane_get(&n, S + 1, i);
    uint64_t v;
    switch (in->a) {
    case N_XTN:
      v = a & emask(S);
      break;
    case N_SQXTN:
      v = ssat(sx(a, S + 1), E, &qc);
      break;
    case N_UQXTN:
      v = usat(a, E, &qc);
      break;
    default:
      v = usat(sx(a, S + 1), E, &qc);
      break;
    }
    lane_set(&r, S, i + part * elems, v);
  }
  if (qc)
    cpu->fpsr |= FPSR_QC;
  cpu->v[in->rd] = r;
  return in + 1;
}

/* SHLL: widen by shifting left by the element size. */
static FPS_HANDLER(h_shll) {
  const emu_vreg n = cpu->v[in->rn];
  emu_vreg r;
  unsigned S = in->b, elems = 8u >> S, part = in->c;
  memset(&r, 0, sizeof r);
  for (unsigned i = 0; i < elems; i++)
    lane_set(&r, S + 1, i, lane_get(&n, S, i + part * elems) << (8u << S));
  cpu->v[in->rd] = r;
  return in + 1;
}

static bool decode_two_misc(struct emu_insn *out, uint32_t raw, bool scalar) {
  unsigned U = (raw >> 29) & 1, size = (raw >> 22) & 3, Q = (raw >> 30) & 1;
  unsigned op = (raw >> 12) & 31;
  out->b = (uint8_t)size;
  out->c = scalar ? 2 : (uint8_t)Q;
  bool v64ok = scalar || Q;       /* size 3 needs a 128-bit vector */
  if (op == 0x12 || op == 0x14) { /* XTN/SQXTN/SQXTUN/UQXTN, SHLL */
    if (size == 3)
      return false;
    if (op == 0x12 && !U && scalar)
      return false; /* no scalar XTN */
    out->a = op == 0x12 ? (U ? N_SQXTUN : N_XTN) : (U ? N_UQXTN : N_SQXTN);
    out->fn = h_xtn;
    return true;
  }
  if (op == 0x13) {
    if (!U || scalar || size == 3)
      return false;
    out->fn = h_shll;
    return true;
  }
  if (scalar) {
    switch (op) {
    case 3:
      out->fn = U ? h_usqadd : h_suqadd;
      return true;
    case 7:
      out->fn = U ? h_sqneg : h_sqabs;
      return true;
    case 8:
    case 9:
    case 10:
    case 11:
      if (size != 3 || (U && op == 10))
        return false;
      break;
    default:
      return false;
    }
  }
  switch (op) {
  case 0:
  case 1: /* REV64, REV16 / REV32 */
    if (op == 1 && U)
      return false;
    {
      unsigned cont = op == 1 ? 2 : U ? 4 : 8;
      if ((1u << size) >= cont)
        return false;
      out->imm = cont;
      out->fn = h_rev;
      return true;
    }
  case 2:
  case 6: /* [SU]ADDLP, [SU]ADALP */
    if (size == 3)
      return false;
    out->a = (uint8_t)U;
    out->imm = op == 6;
    out->fn = h_addlp;
    return true;
  case 3:
    if (size == 3 && !v64ok)
      return false;
    out->fn = U ? h_usqadd : h_suqadd;
    return true;
  case 4:
    if (size == 3)
      return false;
    out->fn = U ? h_clz : h_cls;
    return true;
  case 5:
    if (!U) {
      if (size)
        return false;
      out->fn = h_cnt;
    } else {
      if (size > 1)
        return false;
      out->fn = size ? h_rbit : h_not;
      out->b = 0;
    }
    return true;
  case 7:
    if (size == 3 && !v64ok)
      return false;
    out->fn = U ? h_sqneg : h_sqabs;
    return true;
  case 8:
    out->fn = U ? h_cmge0 : h_cmgt0;
    break;
  case 9:
    out->fn = U ? h_cmle0 : h_cmeq0;
    break;
  case 10:
    if (U)
      return false;
    out->fn = h_cmlt0;
    break;
  case 11:
    out->fn = U ? h_neg : h_abs;
    break;
  default:
    return false;
  }
  if (size == 3 && !v64ok)
    return false;
  if (!scalar) {
    static const emu_fn f_cmeq0[4] = TAB4(hv_cmeq0);
    static const emu_fn f_cmgt0[4] = TAB4(hv_cmgt0);
    static const emu_fn f_cmlt0[4] = TAB4(hv_cmlt0);
    static const emu_fn f_neg[4] = TAB4(hv_neg);
    if (op == 9 && !U)
      out->fn = f_cmeq0[size];
    else if (op == 8 && !U)
      out->fn = f_cmgt0[size];
    else if (op == 10)
      out->fn = f_cmlt0[size];
    else if (op == 11 && U)
      out->fn = f_neg[size];
  }
  return true;
}

/* ---- across lanes ------------------------------------------------------- */

enum { AX_ADDV, AX_SADDLV, AX_UADDLV, AX_SMAXV, AX_SMINV, AX_UMAXV, AX_UMINV };
static FPS_HANDLER(h_across) {
  const emu_vreg n = cpu->v[in->rn];
  unsigned S = in->b, elems = (in->c ? 16u : 8u) >> S;
  uint64_t acc = lane_get(&n, S, 0);
  int64_t sacc = sx(acc, S);
  for (unsigned i = 1; i < elems; i++) {
    uint64_t x = lane_get(&n, S, i);
    int64_t sxv = sx(x, S);
    switch (in->a) {
    case AX_ADDV:
    case AX_UADDLV:
      acc += x;
      break;
    case AX_SADDLV:
      sacc += sxv;
      break;
    case AX_SMAXV:
      if (sxv > sacc)
        sacc = sxv;
      break;
    case AX_SMINV:
      if (sxv < sacc)
        sacc = sxv;
      break;
    case AX_UMAXV:
      if (x > acc)
        acc = x;
      break;
    case AX_UMINV:
      if (x < acc)
        acc = x;
      break;
    }
  }
  unsigned outS = S;
  uint64_t res;
  switch (in->a) {
  case AX_SADDLV:
    res = (uint64_t)sacc;
    outS = S + 1;
    break;
  case AX_UADDLV:
    res = acc;
    outS = S + 1;
    break;
  case AX_SMAXV:
  case AX_SMINV:
    res = (uint64_t)sacc;
    break;
  default:
    res = acc;
    break;
  }
  fps_set_scalar(cpu, in->rd, 8 << outS, res & emask(outS));
  return in + 1;
}

static bool decode_across(struct emu_insn *out, uint32_t raw) {
  unsigned U = (raw >> 29) & 1, size = (raw >> 22) & 3, Q = (raw >> 30) & 1;
  unsigned op = (raw >> 12) & 31;
  out->b = (uint8_t)size;
  out->c = (uint8_t)Q;
  switch (op) {
  case 3:
    out->a = U ? AX_UADDLV : AX_SADDLV;
    break;
  case 10:
    out->a = U ? AX_UMAXV : AX_SMAXV;
    break;
  case 26:
    out->a = U ? AX_UMINV : AX_SMINV;
    break;
  case 27:
    if (U)
      return false;
    out->a = AX_ADDV;
    break;
  default:
    return false;
  }
  if (size == 3 || (size == 2 && !Q))
    return false;
  out->fn = h_across;
  return true;
}

/* ---- shift by immediate ------------------------------------------------ */

/* imm = shift amount; for right shifts it is stored negative in imm2 kind.
 * a = kind, b = element size (destination for narrowing, source for
 * widening). */
enum {
  SH_SSHR,
  SH_USHR,
  SH_SSRA,
  SH_USRA,
  SH_SRSHR,
  SH_URSHR,
  SH_SRSRA,
  SH_URSRA,
  SH_SHL,
  SH_SLI,
  SH_SRI,
  SH_SQSHL,
  SH_UQSHL,
  SH_SQSHLU
};

static FPS_HANDLER(h_shift_imm) {
  const emu_vreg n = cpu->v[in->rn], d = cpu->v[in->rd];
  emu_vreg r;
  unsigned S = in->b, E = 8u << S, bytes = vbytes(in);
  int sh = (int)in->imm;
  bool qc = false;
  memset(&r, 0, sizeof r);
  for (unsigned i = 0; i < (bytes >> S); i++) {
    uint64_t a = lane_get(&n, S, i), dd = lane_get(&d, S, i);
    int64_t sa = sx(a, S);
    uint64_t v;
    switch (in->a) {
    case SH_SSHR:
      v = shift_op(sa, -sh, E, false, false, false, &qc);
      break;
    case SH_USHR:
      v = shift_op(a, -sh, E, true, false, false, &qc);
      break;
    case SH_SSRA:
      v = dd + shift_op(sa, -sh, E, false, false, false, &qc);
      break;
    case SH_USRA:
      v = dd + shift_op(a, -sh, E, true, false, false, &qc);
      break;
    case SH_SRSHR:
      v = shift_op(sa, -sh, E, false, true, false, &qc);
      break;
    case SH_URSHR:
      v = shift_op(a, -sh, E, true, true, false, &qc);
      break;
    case SH_SRSRA:
      v = dd + shift_op(sa, -sh, E, false, true, false, &qc);
      break;
    case SH_URSRA:
      v = dd + shift_op(a, -sh, E, true, true, false, &qc);
      break;
    case SH_SHL:
      v = a << sh;
      break;
    case SH_SLI: {
      uint64_t mk = (emask(S) << sh) & emask(S);
      v = (dd & ~mk) | ((a << sh) & mk);
      break;
    }
    case SH_SRI: {
      uint64_t mk = sh >= 64 ? 0 : emask(S) >> sh;
      v = (dd & ~mk) | ((sh >= 64 ? 0 : a >> sh) & mk);
      break;
    }
    case SH_SQSHL:
      v = shift_op(sa, sh, E, false, false, true, &qc);
      break;
    case SH_UQSHL:
      v = shift_op(a, sh, E, true, false, true, &qc);
      break;
    default:
      v = shift_op(sa, sh, E, true, false, true, &qc);
      break;
    }
    lane_set(&r, S, i, v & emask(S));
  }
  if (qc)
    cpu->fpsr |= FPSR_QC;
  cpu->v[in->rd] = r;
  return in + 1;
}

/* Narrowing right shifts: a = kind, imm = shift, b = destination size. */
enum {
  NS_SHRN,
  NS_RSHRN,
  NS_SQSHRN,
  NS_SQRSHRN,
  NS_UQSHRN,
  NS_UQRSHRN,
  NS_SQSHRUN,
  NS_SQRSHRUN
};
static FPS_HANDLER(h_shrn) {
  const emu_vreg n = cpu->v[in->rn];
  emu_vreg r = cpu->v[in->rd];
  unsigned S = in->b, E = 8u << S, elems = 8u >> S, part = in->c & 1;
  int sh = (int)in->imm;
  bool qc = false;
  if (in->c == 2)
    elems = 1, part = 0, memset(&r, 0, sizeof r);
  else if (!part)
    memset(&r, 0, sizeof r);
  else
    r.d[1] = 0;
  for (unsigned i = 0; i < elems; i++) {
    uint64_t a = lane_get(&n, S + 1, i);
    int64_t sa = sx(a, S + 1);
    bool rnd = in->a & 1;
    uint64_t v;
    switch (in->a) {
    case NS_SHRN:
    case NS_RSHRN:
      v = shift_op(a, -sh, 2 * E, true, rnd, false, &qc) & emask(S);
      break;
    case NS_SQSHRN:
    case NS_SQRSHRN:
      v = ssat(sx(shift_op(sa, -sh, 2 * E, false, rnd, false, &qc), S + 1), E,
               &qc);
      /* the 2E-bit intermediate cannot overflow: shift >= 1 */
      break;
    case NS_UQSHRN:
    case NS_UQRSHRN:
      v = usat(shift_op(a, -sh, 2 * E, true, rnd, false, &qc), E, &qc);
      break;
    default:
      v = usat(sx(shift_op(sa, -sh, 2 * E, false, rnd, false, &qc), S + 1), E,
               &qc);
      break;
    }
    lane_set(&r, S, i + part * elems, v);
  }
  if (qc)
    cpu->fpsr |= FPSR_QC;
  cpu->v[in->rd] = r;
  return in + 1;
}

/* SSHLL/USHLL: b = source size, c = part, imm = shift, a = unsigned. */
static FPS_HANDLER(h_shll_imm) {
  const emu_vreg n = cpu->v[in->rn];
  emu_vreg r;
  unsigned S = in->b, elems = 8u >> S, part = in->c;
  memset(&r, 0, sizeof r);
  for (unsigned i = 0; i < elems; i++) {
    uint64_t a = lane_get(&n, S, i + part * elems);
    uint64_t v = in->a ? a : (uint64_t)sx(a, S);
    lane_set(&r, S + 1, i, (v << in->imm) & emask(S + 1));
  }
  cpu->v[in->rd] = r;
  return in + 1;
}

/* Fast vector SHL / USHR / SSHR by an immediate below the element size. */
#define FASTSH(name, VT, OP)                                                   \
  static FPS_HANDLER(name) {                                                   \
    VT n, r;                                                                   \
    memcpy(&n, &cpu->v[in->rn], 16);                                           \
    r = n OP(int) in->imm;                                                     \
    memcpy(&cpu->v[in->rd], &r, 16);                                           \
    if (!in->c)                                                                \
      cpu->v[in->rd].d[1] = 0;                                                 \
    return in + 1;                                                             \
  }
FASTSH(hs_shl_0, u8v, <<)
FASTSH(hs_shl_1, u16v, <<)
FASTSH(hs_shl_2, u32v, <<)
FASTSH(hs_shl_3, u64v, <<)
FASTSH(hs_ushr_0, u8v, >>)
FASTSH(hs_ushr_1, u16v, >>)
FASTSH(hs_ushr_2, u32v, >>)
FASTSH(hs_ushr_3, u64v, >>)
FASTSH(hs_sshr_0, s8v, >>)
FASTSH(hs_sshr_1, s16v, >>)
FASTSH(hs_sshr_2, s32v, >>)
FASTSH(hs_sshr_3, s64v, >>)

static bool decode_shift_imm(struct emu_insn *out, uint32_t raw, bool scalar) {
  unsigned U = (raw >> 29) & 1, Q = (raw >> 30) & 1;
  unsigned immh = (raw >> 19) & 15, immb = (raw >> 16) & 7;
  unsigned op = (raw >> 11) & 31;
  if (!immh)
    return false;
  unsigned S = 31 - (unsigned)__builtin_clz(immh);
  unsigned E = 8u << S, imm = (immh << 3) | immb;
  unsigned rshift = 2 * E - imm, lshift = imm - E;
  out->c = scalar ? 2 : (uint8_t)Q;
  out->b = (uint8_t)S;
  if (op >= 0x10 && op <= 0x14) {
    /* narrowing / widening: element size from immh is the narrow one */
    if (S == 3)
      return false;
    if (op == 0x14) { /* SSHLL/USHLL */
      if (scalar)
        return false;
      out->a = (uint8_t)U;
      out->imm = lshift;
      out->fn = h_shll_imm;
      return true;
    }
    static const uint8_t kinds[2][4] = {
        {NS_SHRN, NS_RSHRN, NS_SQSHRN, NS_SQRSHRN},
        {NS_SQSHRUN, NS_SQRSHRUN, NS_UQSHRN, NS_UQRSHRN}};
    out->a = kinds[U][op - 0x10];
    if (scalar && !U && op < 0x12)
      return false; /* no scalar SHRN / RSHRN */
    out->imm = rshift;
    out->fn = h_shrn;
    return true;
  }
  if (!scalar && S == 3 && !Q)
    return false;
  bool right = true;
  switch (op) {
  case 0x00:
    out->a = U ? SH_USHR : SH_SSHR;
    break;
  case 0x02:
    out->a = U ? SH_USRA : SH_SSRA;
    break;
  case 0x04:
    out->a = U ? SH_URSHR : SH_SRSHR;
    break;
  case 0x06:
    out->a = U ? SH_URSRA : SH_SRSRA;
    break;
  case 0x08:
    if (!U)
      return false;
    out->a = SH_SRI;
    break;
  case 0x0a:
    out->a = U ? SH_SLI : SH_SHL, right = false;
    break;
  case 0x0c:
    if (!U)
      return false;
    out->a = SH_SQSHLU, right = false;
    break;
  case 0x0e:
    out->a = U ? SH_UQSHL : SH_SQSHL, right = false;
    break;
  default:
    return false;
  }
  if (scalar && S != 3 && out->a != SH_SQSHLU && out->a != SH_UQSHL &&
      out->a != SH_SQSHL)
    return false;
  out->imm = right ? rshift : lshift;
  out->fn = h_shift_imm;
  if (!scalar && out->imm < E) {
    static const emu_fn shl[4] = TAB4(hs_shl), ushr[4] = TAB4(hs_ushr),
                        sshr[4] = TAB4(hs_sshr);
    if (out->a == SH_SHL)
      out->fn = shl[S];
    else if (out->a == SH_USHR)
      out->fn = ushr[S];
    else if (out->a == SH_SSHR)
      out->fn = sshr[S];
  }
  return true;
}

/* ---- multiply by element (integer) --------------------------------------- */

/* imm = element index; rm = register; b = size; a = op; c = Q / part;
 * sf = 1 for the scalar forms. */
enum { X_MUL, X_MLA, X_MLS, X_SQDMULH, X_SQRDMULH, X_LONG };
static FPS_HANDLER(h_mul_elem) {
  const emu_vreg n = cpu->v[in->rn], d = cpu->v[in->rd];
  unsigned S = in->b, E = 8u << S, bytes = vbytes(in);
  uint64_t b = lane_get(&cpu->v[in->rm], S, (unsigned)in->imm);
  int64_t sb = sx(b, S);
  bool qc = false;
  emu_vreg r;
  memset(&r, 0, sizeof r);
  for (unsigned i = 0; i < (bytes >> S); i++) {
    uint64_t a = lane_get(&n, S, i), dd = lane_get(&d, S, i);
    int64_t sa = sx(a, S);
    uint64_t v;
    switch (in->a) {
    case X_MUL:
      v = a * b;
      break;
    case X_MLA:
      v = dd + a * b;
      break;
    case X_MLS:
      v = dd - a * b;
      break;
    case X_SQDMULH:
      v = ssat(((i128)2 * sa * sb) >> E, E, &qc);
      break;
    default:
      v = ssat(((i128)2 * sa * sb + ((i128)1 << (E - 1))) >> E, E, &qc);
      break;
    }
    lane_set(&r, S, i, v & emask(S));
  }
  if (qc)
    cpu->fpsr |= FPSR_QC;
  cpu->v[in->rd] = r;
  return in + 1;
}

/* Long forms by element: the three-different arithmetic with Vm replaced
 * by a broadcast of the element. imm2 = element index, imm = W_* op. */
static FPS_HANDLER(h_long_elem) {
  unsigned S = in->b;
  uint64_t b = lane_get(&cpu->v[in->rm], S, (unsigned)in->imm2);
  emu_vreg bc;
  for (unsigned i = 0; i < (16u >> S); i++)
    lane_set(&bc, S, i, b);
  return three_diff_do(cpu, in, bc);
}

static bool decode_elem_int(struct emu_insn *out, uint32_t raw, bool scalar) {
  unsigned U = (raw >> 29) & 1, Q = (raw >> 30) & 1, size = (raw >> 22) & 3;
  unsigned L = (raw >> 21) & 1, M = (raw >> 20) & 1, H = (raw >> 11) & 1;
  unsigned op = (raw >> 12) & 15, rm = (raw >> 16) & 15;
  unsigned index;
  if (size == 1) {
    index = (H << 2) | (L << 1) | M;
  } else if (size == 2) {
    index = (H << 1) | L;
    rm |= M << 4;
  } else {
    return false;
  }
  out->rm = (uint8_t)rm;
  out->b = (uint8_t)size;
  out->c = scalar ? 2 : (uint8_t)Q;
  out->a = (uint8_t)U;
  switch (op) {
  case 0x8: /* MUL */
    if (U || scalar)
      return false;
    out->a = X_MUL;
    break;
  case 0x0:
  case 0x4: /* MLA / MLS */
    if (!U || scalar)
      return false;
    out->a = op ? X_MLS : X_MLA;
    break;
  case 0xc:
  case 0xd:
    if (U)
      return false;
    out->a = op == 0xc ? X_SQDMULH : X_SQRDMULH;
    break;
  case 0x2:
  case 0x6:
  case 0xa: /* [SU]MLAL, [SU]MLSL, [SU]MULL */
    if (scalar)
      return false;
    out->imm2 = index;
    out->imm = op == 2 ? W_MLAL : op == 6 ? W_MLSL : W_MULL;
    out->fn = h_long_elem;
    return true;
  case 0x3:
  case 0x7:
  case 0xb: /* SQDMLAL, SQDMLSL, SQDMULL */
    if (U)
      return false;
    out->a = 0;
    out->imm2 = index;
    out->imm = op == 3 ? W_QDMLAL : op == 7 ? W_QDMLSL : W_QDMULL;
    out->fn = h_long_elem;
    return true;
  default:
    return false;
  }
  out->imm = index;
  out->fn = h_mul_elem;
  return true;
}

/* ---- decode functions (isa/simd.decode, integer classes) ------------------
 * The generator has matched the instruction's pattern and set out->op;
 * the class decoders above resolve size/q (reserved combinations are
 * UNDEFINED) and pick the handler. */

int emu_dec_simd_3same(struct emu_insn *out, const struct emu_args_simd *a) {
  (void)a;
  simd_prep(out);
  return decode_three_same(out, out->raw, simd_scalar(out)) ? DEC_OK
                                                            : DEC_UNDEF;
}

int emu_dec_simd_3diff(struct emu_insn *out, const struct emu_args_simd *a) {
  (void)a;
  simd_prep(out);
  return decode_three_diff(out, out->raw, simd_scalar(out)) ? DEC_OK
                                                            : DEC_UNDEF;
}

int emu_dec_simd_2misc(struct emu_insn *out, const struct emu_args_simd *a) {
  (void)a;
  simd_prep(out);
  /* imm/imm2 as the hand-written decoder this replaced left them (its FP
   * two-register class, tried first, set them before refusing): the
   * exhaustive old-vs-new check compared every field */
  out->imm = 0;
  out->imm2 = FPR_FPCR;
  return decode_two_misc(out, out->raw, simd_scalar(out)) ? DEC_OK : DEC_UNDEF;
}

int emu_dec_simd_across(struct emu_insn *out, const struct emu_args_simd *a) {
  (void)a;
  simd_prep(out);
  return decode_across(out, out->raw) ? DEC_OK : DEC_UNDEF;
}

/* ADDP (scalar): the 64-bit pair only. */
int emu_dec_simd_pair(struct emu_insn *out, const struct emu_args_simd *a) {
  simd_prep(out);
  if (a->size != 3)
    return DEC_UNDEF;
  out->fn = h_addp_scalar;
  return DEC_OK;
}

int emu_dec_simd_shift(struct emu_insn *out, const struct emu_args_simd_sh *a) {
  simd_prep(out);
  if (a->immh == 0) /* vector: modified immediate (above it in the group) */
    return DEC_UNDEF;
  return decode_shift_imm(out, out->raw, simd_scalar(out)) ? DEC_OK : DEC_UNDEF;
}

int emu_dec_simd_elem(struct emu_insn *out, const struct emu_args_simd_el *a) {
  (void)a;
  simd_prep(out);
  return decode_elem_int(out, out->raw, simd_scalar(out)) ? DEC_OK : DEC_UNDEF;
}
