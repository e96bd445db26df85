/* int_dp_reg.c — A64 "data processing (register)": logical and add/sub
 * (shifted and extended register), add/sub with carry, conditional compare
 * and select, 1-, 2- and 3-source operations (incl. divide, multiply-high,
 * bit/byte reversal, CLZ/CLS, CRC32). Decoder and handlers.
 *
 * Operands: rd/rn/rm/ra resolved at decode time; a = shift amount or
 * extend option, b = shift (extended) or condition, c = misc. Handlers are
 * generated per operation x shift type x width so that no handler branches
 * on its own decode-time fields.
 *
 * Runs on the CPU's thread; no shared state (the CRC tables are const).
 */
#include "emu/decode.h"

static inline uint64_t ror64(uint64_t x, unsigned r) {
  return r ? (x >> r) | (x << (64 - r)) : x;
}
static inline uint32_t ror32(uint32_t x, unsigned r) {
  return r ? (x >> r) | (x << (32 - r)) : x;
}

#define SH_lsl64(v, n) ((v) << (n))
#define SH_lsr64(v, n) ((v) >> (n))
#define SH_asr64(v, n) ((uint64_t)((int64_t)(v) >> (n)))
#define SH_ror64(v, n) ror64((v), (n))
#define SH_lsl32(v, n) ((uint32_t)(v) << (n))
#define SH_lsr32(v, n) ((uint32_t)(v) >> (n))
#define SH_asr32(v, n) ((uint32_t)((int32_t)(uint32_t)(v) >> (n)))
#define SH_ror32(v, n) ror32((uint32_t)(v), (n))

/* ---- logical (shifted register) ---- */
#define DEF_LOGIC_W(OP, EXPR, SETF, SH, W, T)                                  \
  EMU_SEM_NEXT(OP##_##SH##W) {                                                 \
    T a = (T)cpu->r[in->rn];                                                   \
    T b = (T)SH_##SH##W(cpu->r[in->rm], in->a);                                \
    T r = (T)(EXPR);                                                           \
    if (SETF)                                                                  \
      cpu->nzcv = logic_flags##W(r);                                           \
    cpu->r[in->rd] = r;                                                        \
  }
#define DEF_LOGIC_SH(OP, EXPR, SETF, SH)                                       \
  DEF_LOGIC_W(OP, EXPR, SETF, SH, 64, uint64_t)                                \
  DEF_LOGIC_W(OP, EXPR, SETF, SH, 32, uint32_t)
#define DEF_LOGIC(OP, EXPR, SETF)                                              \
  DEF_LOGIC_SH(OP, EXPR, SETF, lsl)                                            \
  DEF_LOGIC_SH(OP, EXPR, SETF, lsr)                                            \
  DEF_LOGIC_SH(OP, EXPR, SETF, asr)                                            \
  DEF_LOGIC_SH(OP, EXPR, SETF, ror)
DEF_LOGIC(and, a &b, 0)
DEF_LOGIC(bic, a & ~b, 0)
DEF_LOGIC(orr, a | b, 0)
DEF_LOGIC(orn, a | ~b, 0)
DEF_LOGIC(eor, a ^ b, 0)
DEF_LOGIC(eon, a ^ ~b, 0)
DEF_LOGIC(ands, a &b, 1)
DEF_LOGIC(bics, a & ~b, 1)
/* P: h_ (handlers) or e_ (semantics) */
#define LOGIC_ROW(P, OP)                                                       \
  {                                                                            \
    {P##OP##_lsl32, P##OP##_lsl64}, {P##OP##_lsr32, P##OP##_lsr64},            \
        {P##OP##_asr32, P##OP##_asr64}, {                                      \
      P##OP##_ror32, P##OP##_ror64                                             \
    }                                                                          \
  }
#define LOGIC_TABLE(P)                                                         \
  {                                                                            \
    LOGIC_ROW(P, and), LOGIC_ROW(P, bic), LOGIC_ROW(P, orr),                   \
        LOGIC_ROW(P, orn), LOGIC_ROW(P, eor), LOGIC_ROW(P, eon),               \
        LOGIC_ROW(P, ands), LOGIC_ROW(P, bics)                                 \
  }
/* [opc:N][shift][sf] */
static const emu_fn logic_fns[8][4][2] = LOGIC_TABLE(h_);
static const emu_exec_fn logic_sems[8][4][2] = LOGIC_TABLE(e_);

EMU_SEM_NEXT(mov64) { cpu->r[in->rd] = cpu->r[in->rm]; }
EMU_SEM_NEXT(mov32) { cpu->r[in->rd] = (uint32_t)cpu->r[in->rm]; }

/* ---- add/sub (shifted register) ---- */
#define DEF_ADD64(OP, SUB, SETF, SH)                                           \
  EMU_SEM_NEXT(OP##_##SH##64) {                                                \
    uint64_t a = cpu->r[in->rn], b = SH_##SH##64(cpu->r[in->rm], in->a);       \
    if (SETF)                                                                  \
      cpu->r[in->rd] = add_flags64(a, SUB ? ~b : b, SUB, &cpu->nzcv);          \
    else                                                                       \
      cpu->r[in->rd] = SUB ? a - b : a + b;                                    \
  }                                                                            \
  EMU_SEM_NEXT(OP##_##SH##32) {                                                \
    uint32_t a = (uint32_t)cpu->r[in->rn];                                     \
    uint32_t b = SH_##SH##32(cpu->r[in->rm], in->a);                           \
    if (SETF)                                                                  \
      cpu->r[in->rd] = add_flags32(a, SUB ? ~b : b, SUB, &cpu->nzcv);          \
    else                                                                       \
      cpu->r[in->rd] = (uint32_t)(SUB ? a - b : a + b);                        \
  }
#define DEF_ADD(OP, SUB, SETF)                                                 \
  DEF_ADD64(OP, SUB, SETF, lsl)                                                \
  DEF_ADD64(OP, SUB, SETF, lsr)                                                \
  DEF_ADD64(OP, SUB, SETF, asr)
DEF_ADD(add, 0, 0)
DEF_ADD(adds, 0, 1)
DEF_ADD(sub, 1, 0)
DEF_ADD(subs, 1, 1)
#define ADD_ROW(P, OP)                                                         \
  {                                                                            \
    {P##OP##_lsl32, P##OP##_lsl64}, {P##OP##_lsr32, P##OP##_lsr64}, {          \
      P##OP##_asr32, P##OP##_asr64                                             \
    }                                                                          \
  }
#define ADD_TABLE(P)                                                           \
  { ADD_ROW(P, add), ADD_ROW(P, adds), ADD_ROW(P, sub), ADD_ROW(P, subs) }
/* [op:S][shift][sf] */
static const emu_fn addsub_fns[4][3][2] = ADD_TABLE(h_);
static const emu_exec_fn addsub_sems[4][3][2] = ADD_TABLE(e_);

/* SUBS/ADDS (shifted register, LSL) fused with the B.cond at in + 1. */
#define DEF_ADDS_BCOND(OP)                                                     \
  static EMU_HANDLER(h_##OP##_bcond64) {                                       \
    e_##OP##_lsl64(cpu, in);                                                   \
    const struct emu_insn *br = in + 1;                                        \
    return emu_chain(cpu, br,                                                  \
                     cond_holds(cpu->nzcv, br->b) ? br->imm : br->pc + 4);     \
  }                                                                            \
  static EMU_HANDLER(h_##OP##_bcond32) {                                       \
    e_##OP##_lsl32(cpu, in);                                                   \
    const struct emu_insn *br = in + 1;                                        \
    return emu_chain(cpu, br,                                                  \
                     cond_holds(cpu->nzcv, br->b) ? br->imm : br->pc + 4);     \
  }
DEF_ADDS_BCOND(adds)
DEF_ADDS_BCOND(subs)

bool emu_fuse_dp_reg(struct emu_insn *cmp) {
  if (cmp->c != 0) /* LSL only */
    return false;
  if (cmp->op == EMU_OP_SUBS_SH)
    cmp->fn = cmp->sf ? h_subs_bcond64 : h_subs_bcond32;
  else if (cmp->op == EMU_OP_ADDS_SH)
    cmp->fn = cmp->sf ? h_adds_bcond64 : h_adds_bcond32;
  else
    return false;
  return true;
}

/* ---- add/sub (extended register): a = option, b = shift ---- */
static inline uint64_t extend_reg(uint64_t v, unsigned option, unsigned shift) {
  switch (option) {
  case 0:
    v = (uint8_t)v;
    break;
  case 1:
    v = (uint16_t)v;
    break;
  case 2:
    v = (uint32_t)v;
    break;
  case 3:
    break;
  case 4:
    v = (uint64_t)(int64_t)(int8_t)v;
    break;
  case 5:
    v = (uint64_t)(int64_t)(int16_t)v;
    break;
  case 6:
    v = (uint64_t)(int64_t)(int32_t)v;
    break;
  default:
    break;
  }
  return v << shift;
}
#define DEF_ADDX(OP, SUB, SETF)                                                \
  EMU_SEM_NEXT(OP##_ext64) {                                                   \
    uint64_t a = cpu->r[in->rn];                                               \
    uint64_t b = extend_reg(cpu->r[in->rm], in->a, in->b);                     \
    if (SETF)                                                                  \
      cpu->r[in->rd] = add_flags64(a, SUB ? ~b : b, SUB, &cpu->nzcv);          \
    else                                                                       \
      cpu->r[in->rd] = SUB ? a - b : a + b;                                    \
  }                                                                            \
  EMU_SEM_NEXT(OP##_ext32) {                                                   \
    uint32_t a = (uint32_t)cpu->r[in->rn];                                     \
    uint32_t b = (uint32_t)extend_reg(cpu->r[in->rm], in->a, in->b);           \
    if (SETF)                                                                  \
      cpu->r[in->rd] = add_flags32(a, SUB ? ~b : b, SUB, &cpu->nzcv);          \
    else                                                                       \
      cpu->r[in->rd] = (uint32_t)(SUB ? a - b : a + b);                        \
  }
DEF_ADDX(add, 0, 0)
DEF_ADDX(adds, 0, 1)
DEF_ADDX(sub, 1, 0)
DEF_ADDX(subs, 1, 1)
#define ADDX_TABLE(P)                                                          \
  {                                                                            \
    {P##add_ext32, P##add_ext64}, {P##adds_ext32, P##adds_ext64},              \
        {P##sub_ext32, P##sub_ext64}, {                                        \
      P##subs_ext32, P##subs_ext64                                             \
    }                                                                          \
  }
static const emu_fn addext_fns[4][2] = ADDX_TABLE(h_);
static const emu_exec_fn addext_sems[4][2] = ADDX_TABLE(e_);

/* ---- add/sub with carry ---- */
#define DEF_ADC(OP, SUB, SETF)                                                 \
  EMU_SEM_NEXT(OP##64) {                                                       \
    uint64_t a = cpu->r[in->rn], b = cpu->r[in->rm];                           \
    uint64_t c = (cpu->nzcv >> 29) & 1;                                        \
    if (SUB)                                                                   \
      b = ~b;                                                                  \
    if (SETF)                                                                  \
      cpu->r[in->rd] = add_flags64(a, b, c, &cpu->nzcv);                       \
    else                                                                       \
      cpu->r[in->rd] = a + b + c;                                              \
  }                                                                            \
  EMU_SEM_NEXT(OP##32) {                                                       \
    uint32_t a = (uint32_t)cpu->r[in->rn], b = (uint32_t)cpu->r[in->rm];       \
    uint32_t c = (cpu->nzcv >> 29) & 1;                                        \
    if (SUB)                                                                   \
      b = ~b;                                                                  \
    if (SETF)                                                                  \
      cpu->r[in->rd] = add_flags32(a, b, c, &cpu->nzcv);                       \
    else                                                                       \
      cpu->r[in->rd] = (uint32_t)(a + b + c);                                  \
  }
DEF_ADC(adc, 0, 0)
DEF_ADC(adcs, 0, 1)
DEF_ADC(sbc, 1, 0)
DEF_ADC(sbcs, 1, 1)
#define ADC_TABLE(P)                                                           \
  {                                                                            \
    {P##adc32, P##adc64}, {P##adcs32, P##adcs64}, {P##sbc32, P##sbc64}, {      \
      P##sbcs32, P##sbcs64                                                     \
    }                                                                          \
  }
static const emu_fn adc_fns[4][2] = ADC_TABLE(h_);
static const emu_exec_fn adc_sems[4][2] = ADC_TABLE(e_);

/* ---- conditional compare: b = cond, c = nzcv if false, a = 1 for CCMP;
 * imm = immediate operand (imm2 = 1 when the immediate form) ---- */
EMU_SEM_NEXT(ccmp64) {
  if (!cond_holds(cpu->nzcv, in->b)) {
    cpu->nzcv = (uint32_t)in->c << 28;
    return;
  }
  uint64_t b = in->imm2 ? in->imm : cpu->r[in->rm];
  if (in->a)
    add_flags64(cpu->r[in->rn], ~b, 1, &cpu->nzcv);
  else
    add_flags64(cpu->r[in->rn], b, 0, &cpu->nzcv);
}
EMU_SEM_NEXT(ccmp32) {
  if (!cond_holds(cpu->nzcv, in->b)) {
    cpu->nzcv = (uint32_t)in->c << 28;
    return;
  }
  uint32_t b = (uint32_t)(in->imm2 ? in->imm : cpu->r[in->rm]);
  if (in->a)
    add_flags32((uint32_t)cpu->r[in->rn], ~b, 1, &cpu->nzcv);
  else
    add_flags32((uint32_t)cpu->r[in->rn], b, 0, &cpu->nzcv);
}

/* ---- conditional select: b = cond ---- */
#define DEF_CSEL(OP, EXPR)                                                     \
  EMU_SEM_NEXT(OP##64) {                                                       \
    uint64_t v = cpu->r[in->rm];                                               \
    cpu->r[in->rd] = cond_holds(cpu->nzcv, in->b) ? cpu->r[in->rn] : (EXPR);   \
  }                                                                            \
  EMU_SEM_NEXT(OP##32) {                                                       \
    uint64_t v = cpu->r[in->rm];                                               \
    cpu->r[in->rd] =                                                           \
        (uint32_t)(cond_holds(cpu->nzcv, in->b) ? cpu->r[in->rn] : (EXPR));    \
  }
DEF_CSEL(csel, v)
DEF_CSEL(csinc, v + 1)
DEF_CSEL(csinv, ~v)
DEF_CSEL(csneg, -v)
#define CSEL_TABLE(P)                                                          \
  {                                                                            \
    {P##csel32, P##csel64}, {P##csinc32, P##csinc64},                          \
        {P##csinv32, P##csinv64}, {                                            \
      P##csneg32, P##csneg64                                                   \
    }                                                                          \
  }
static const emu_fn csel_fns[4][2] = CSEL_TABLE(h_);
static const emu_exec_fn csel_sems[4][2] = CSEL_TABLE(e_);

/* ---- 3-source ---- */
EMU_SEM_NEXT(madd64) {
  cpu->r[in->rd] = cpu->r[in->ra] + cpu->r[in->rn] * cpu->r[in->rm];
}
EMU_SEM_NEXT(madd32) {
  cpu->r[in->rd] = (uint32_t)(cpu->r[in->ra] + cpu->r[in->rn] * cpu->r[in->rm]);
}
EMU_SEM_NEXT(msub64) {
  cpu->r[in->rd] = cpu->r[in->ra] - cpu->r[in->rn] * cpu->r[in->rm];
}
EMU_SEM_NEXT(msub32) {
  cpu->r[in->rd] = (uint32_t)(cpu->r[in->ra] - cpu->r[in->rn] * cpu->r[in->rm]);
}
EMU_SEM_NEXT(smaddl) {
  cpu->r[in->rd] =
      cpu->r[in->ra] +
      (uint64_t)((int64_t)(int32_t)cpu->r[in->rn] * (int32_t)cpu->r[in->rm]);
}
EMU_SEM_NEXT(smsubl) {
  cpu->r[in->rd] =
      cpu->r[in->ra] -
      (uint64_t)((int64_t)(int32_t)cpu->r[in->rn] * (int32_t)cpu->r[in->rm]);
}
EMU_SEM_NEXT(umaddl) {
  cpu->r[in->rd] = cpu->r[in->ra] + (uint64_t)(uint32_t)cpu->r[in->rn] *
                                        (uint32_t)cpu->r[in->rm];
}
EMU_SEM_NEXT(umsubl) {
  cpu->r[in->rd] = cpu->r[in->ra] - (uint64_t)(uint32_t)cpu->r[in->rn] *
                                        (uint32_t)cpu->r[in->rm];
}
EMU_SEM_NEXT(smulh) {
  __int128 p = (__int128)(int64_t)cpu->r[in->rn] * (int64_t)cpu->r[in->rm];
  cpu->r[in->rd] = (uint64_t)(p >> 64);
}
EMU_SEM_NEXT(umulh) {
  unsigned __int128 p =
      (unsigned __int128)cpu->r[in->rn] * (unsigned __int128)cpu->r[in->rm];
  cpu->r[in->rd] = (uint64_t)(p >> 64);
}

/* ---- 2-source ---- */
EMU_SEM_NEXT(udiv64) {
  uint64_t d = cpu->r[in->rm];
  cpu->r[in->rd] = d ? cpu->r[in->rn] / d : 0;
}
EMU_SEM_NEXT(udiv32) {
  uint32_t d = (uint32_t)cpu->r[in->rm];
  cpu->r[in->rd] = d ? (uint32_t)cpu->r[in->rn] / d : 0;
}
EMU_SEM_NEXT(sdiv64) {
  int64_t n = (int64_t)cpu->r[in->rn], d = (int64_t)cpu->r[in->rm];
  cpu->r[in->rd] = d == 0                        ? 0
                   : (d == -1 && n == INT64_MIN) ? (uint64_t)n
                                                 : (uint64_t)(n / d);
}
EMU_SEM_NEXT(sdiv32) {
  int32_t n = (int32_t)cpu->r[in->rn], d = (int32_t)cpu->r[in->rm];
  cpu->r[in->rd] = (uint32_t)(d == 0                        ? 0
                              : (d == -1 && n == INT32_MIN) ? n
                                                            : n / d);
}
EMU_SEM_NEXT(lslv64) {
  cpu->r[in->rd] = cpu->r[in->rn] << (cpu->r[in->rm] & 63);
}
EMU_SEM_NEXT(lslv32) {
  cpu->r[in->rd] =
      (uint32_t)((uint32_t)cpu->r[in->rn] << (cpu->r[in->rm] & 31));
}
EMU_SEM_NEXT(lsrv64) {
  cpu->r[in->rd] = cpu->r[in->rn] >> (cpu->r[in->rm] & 63);
}
EMU_SEM_NEXT(lsrv32) {
  cpu->r[in->rd] = (uint32_t)cpu->r[in->rn] >> (cpu->r[in->rm] & 31);
}
EMU_SEM_NEXT(asrv64) {
  cpu->r[in->rd] = (uint64_t)((int64_t)cpu->r[in->rn] >> (cpu->r[in->rm] & 63));
}
EMU_SEM_NEXT(asrv32) {
  cpu->r[in->rd] =
      (uint32_t)((int32_t)(uint32_t)cpu->r[in->rn] >> (cpu->r[in->rm] & 31));
}
EMU_SEM_NEXT(rorv64) {
  cpu->r[in->rd] = ror64(cpu->r[in->rn], cpu->r[in->rm] & 63);
}
EMU_SEM_NEXT(rorv32) {
  cpu->r[in->rd] = ror32((uint32_t)cpu->r[in->rn], cpu->r[in->rm] & 31);
}

/* CRC32 (poly 0x04C11DB7) and CRC32C (0x1EDC6F41), bit-reflected, as the
 * Arm ARM's CRC32 pseudocode computes them: tables built at compile time
 * would need a generator, so a nibble-wise loop keeps them small. */
static uint32_t crc_update(uint32_t crc, uint64_t data, unsigned bytes,
                           uint32_t rpoly) {
  for (unsigned i = 0; i < bytes; i++) {
    crc ^= (uint8_t)(data >> (8 * i));
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (rpoly & -(crc & 1));
  }
  return crc;
}
/* a = log2(bytes), b = 1 for CRC32C */
EMU_SEM_NEXT(crc32) {
  cpu->r[in->rd] = crc_update((uint32_t)cpu->r[in->rn], cpu->r[in->rm],
                              1u << in->a, in->b ? 0x82F63B78u : 0xEDB88320u);
}

/* ---- 1-source ---- */
EMU_SEM_NEXT(rbit64) {
  uint64_t v = cpu->r[in->rn];
  v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
  v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
  v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
  cpu->r[in->rd] = __builtin_bswap64(v);
}
EMU_SEM_NEXT(rbit32) {
  uint32_t v = (uint32_t)cpu->r[in->rn];
  v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
  v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
  v = ((v >> 4) & 0x0f0f0f0fu) | ((v & 0x0f0f0f0fu) << 4);
  cpu->r[in->rd] = __builtin_bswap32(v);
}
EMU_SEM_NEXT(rev16_64) {
  uint64_t v = cpu->r[in->rn];
  cpu->r[in->rd] =
      ((v >> 8) & 0x00ff00ff00ff00ffull) | ((v & 0x00ff00ff00ff00ffull) << 8);
}
EMU_SEM_NEXT(rev16_32) {
  uint32_t v = (uint32_t)cpu->r[in->rn];
  cpu->r[in->rd] = ((v >> 8) & 0x00ff00ffu) | ((v & 0x00ff00ffu) << 8);
}
EMU_SEM_NEXT(rev32_64) {
  uint64_t v = cpu->r[in->rn];
  cpu->r[in->rd] = (uint64_t)__builtin_bswap32((uint32_t)(v >> 32)) << 32 |
                   __builtin_bswap32((uint32_t)v);
}
EMU_SEM_NEXT(rev32) {
  cpu->r[in->rd] = __builtin_bswap32((uint32_t)cpu->r[in->rn]);
}
EMU_SEM_NEXT(rev64) { cpu->r[in->rd] = __builtin_bswap64(cpu->r[in->rn]); }
EMU_SEM_NEXT(clz64) {
  uint64_t v = cpu->r[in->rn];
  cpu->r[in->rd] = v ? (uint64_t)__builtin_clzll(v) : 64;
}
EMU_SEM_NEXT(clz32) {
  uint32_t v = (uint32_t)cpu->r[in->rn];
  cpu->r[in->rd] = v ? (uint64_t)__builtin_clz(v) : 32;
}
EMU_SEM_NEXT(cls64) {
  uint64_t v = cpu->r[in->rn];
  uint64_t x = (v ^ (v << 1)) | 1; /* leading sign bits beyond the first */
  cpu->r[in->rd] = (uint64_t)__builtin_clzll(x);
}
EMU_SEM_NEXT(cls32) {
  uint32_t v = (uint32_t)cpu->r[in->rn];
  uint32_t x = (v ^ (v << 1)) | 1;
  cpu->r[in->rd] = (uint64_t)__builtin_clz(x);
}

/* ---- decode functions (patterns: isa/dp_reg.decode) ---- */

static void rrr(struct emu_insn *o, unsigned sf, unsigned rd, unsigned rn,
                unsigned rm) {
  o->sf = (uint8_t)sf;
  o->rd = reg_dzr(rd);
  o->rn = reg_zr(rn);
  o->rm = reg_zr(rm);
}

/* a = shift amount, c = shift type (LSL, LSR, ASR, ROR) */
int emu_dec_logic_sh(struct emu_insn *o, const struct emu_args_logic_r *a) {
  if (!a->sf && a->imm6 >= 32)
    return DEC_UNDEF;
  rrr(o, a->sf, a->rd, a->rn, a->rm);
  o->a = (uint8_t)a->imm6;
  o->c = (uint8_t)a->shift;
  if (o->op == EMU_OP_ORR_SH && a->rn == 31 && a->imm6 == 0)
    o->fn = a->sf ? h_mov64 : h_mov32;
  else
    o->fn = logic_fns[a->opn][a->shift][a->sf];
  return DEC_OK;
}

static unsigned addsub_index(unsigned op) {
  switch (op) {
  case EMU_OP_ADD_SH:
  case EMU_OP_ADD_EXT:
  case EMU_OP_ADC:
    return 0;
  case EMU_OP_ADDS_SH:
  case EMU_OP_ADDS_EXT:
  case EMU_OP_ADCS:
    return 1;
  case EMU_OP_SUB_SH:
  case EMU_OP_SUB_EXT:
  case EMU_OP_SBC:
    return 2;
  default:
    return 3;
  }
}

/* a = shift amount, c = shift type (LSL, LSR, ASR) */
int emu_dec_addsub_sh(struct emu_insn *o, const struct emu_args_addsub_r *a) {
  if (a->shift == 3 || (!a->sf && a->imm6 >= 32))
    return DEC_UNDEF;
  rrr(o, a->sf, a->rd, a->rn, a->rm);
  o->a = (uint8_t)a->imm6;
  o->c = (uint8_t)a->shift;
  o->fn = addsub_fns[addsub_index(o->op)][a->shift][a->sf];
  return DEC_OK;
}

/* a = extend option, b = left shift (0-4) */
int emu_dec_addsub_ext(struct emu_insn *o, const struct emu_args_addsub_x *a) {
  unsigned i = addsub_index(o->op);
  if (a->imm3 > 4)
    return DEC_UNDEF;
  rrr(o, a->sf, a->rd, a->rn, a->rm);
  o->rn = reg_sp(a->rn);
  if (!(i & 1)) /* ADD/SUB, not the flag-setting forms */
    o->rd = reg_sp(a->rd);
  o->a = (uint8_t)a->option;
  o->b = (uint8_t)a->imm3;
  o->fn = addext_fns[i][a->sf];
  return DEC_OK;
}

int emu_dec_adc(struct emu_insn *o, const struct emu_args_rrr *a) {
  rrr(o, a->sf, a->rd, a->rn, a->rm);
  o->fn = adc_fns[addsub_index(o->op)][a->sf];
  return DEC_OK;
}

/* b = cond, c = NZCV when the condition fails, a = 1 for CCMP (0: CCMN);
 * imm = the immediate operand, imm2 = 1 for the immediate forms */
int emu_dec_ccmp(struct emu_insn *o, const struct emu_args_ccmp *a) {
  rrr(o, a->sf, 31, a->rn, a->rm);
  o->a = o->op == EMU_OP_CCMP_REG || o->op == EMU_OP_CCMP_IMM;
  o->b = (uint8_t)a->cond;
  o->c = (uint8_t)a->nzcv;
  o->imm = a->rm;
  o->imm2 = a->imm;
  o->fn = a->sf ? h_ccmp64 : h_ccmp32;
  return DEC_OK;
}

/* b = cond */
int emu_dec_csel(struct emu_insn *o, const struct emu_args_csel *a) {
  static const uint16_t ops[4] = {EMU_OP_CSEL, EMU_OP_CSINC, EMU_OP_CSINV,
                                  EMU_OP_CSNEG};
  rrr(o, a->sf, a->rd, a->rn, a->rm);
  o->b = (uint8_t)a->cond;
  for (unsigned i = 0; i < 4; i++)
    if (o->op == ops[i])
      o->fn = csel_fns[i][a->sf];
  return DEC_OK;
}

int emu_dec_dp2(struct emu_insn *o, const struct emu_args_rrr *a) {
  unsigned sf = a->sf;
  rrr(o, sf, a->rd, a->rn, a->rm);
  switch (o->op) {
  case EMU_OP_UDIV:
    o->fn = sf ? h_udiv64 : h_udiv32;
    break;
  case EMU_OP_SDIV:
    o->fn = sf ? h_sdiv64 : h_sdiv32;
    break;
  case EMU_OP_LSLV:
    o->fn = sf ? h_lslv64 : h_lslv32;
    break;
  case EMU_OP_LSRV:
    o->fn = sf ? h_lsrv64 : h_lsrv32;
    break;
  case EMU_OP_ASRV:
    o->fn = sf ? h_asrv64 : h_asrv32;
    break;
  default: /* RORV */
    o->fn = sf ? h_rorv64 : h_rorv32;
    break;
  }
  return DEC_OK;
}

/* a = log2(bytes), b = 1 for CRC32C */
int emu_dec_crc32(struct emu_insn *o, const struct emu_args_crc *a) {
  if ((a->sz == 3) != (a->sf == 1))
    return DEC_UNDEF;
  rrr(o, a->sf, a->rd, a->rn, a->rm);
  o->a = (uint8_t)a->sz;
  o->b = (uint8_t)a->c;
  o->fn = h_crc32;
  return DEC_OK;
}

int emu_dec_dp1(struct emu_insn *o, const struct emu_args_rr *a) {
  unsigned sf = a->sf;
  rrr(o, sf, a->rd, a->rn, 0);
  switch (o->op) {
  case EMU_OP_RBIT:
    o->fn = sf ? h_rbit64 : h_rbit32;
    break;
  case EMU_OP_REV16:
    o->fn = sf ? h_rev16_64 : h_rev16_32;
    break;
  case EMU_OP_REV32: /* REV Wd for sf = 0 */
    o->fn = sf ? h_rev32_64 : h_rev32;
    break;
  case EMU_OP_REV:
    o->fn = h_rev64;
    break;
  case EMU_OP_CLZ:
    o->fn = sf ? h_clz64 : h_clz32;
    break;
  default: /* CLS */
    o->fn = sf ? h_cls64 : h_cls32;
    break;
  }
  return DEC_OK;
}

int emu_dec_dp3(struct emu_insn *o, const struct emu_args_rrrr *a) {
  unsigned sf = a->sf;
  rrr(o, sf, a->rd, a->rn, a->rm);
  o->ra = reg_zr(a->ra);
  switch (o->op) {
  case EMU_OP_MADD:
    o->fn = sf ? h_madd64 : h_madd32;
    break;
  case EMU_OP_MSUB:
    o->fn = sf ? h_msub64 : h_msub32;
    break;
  case EMU_OP_SMADDL:
    o->fn = h_smaddl;
    break;
  case EMU_OP_SMSUBL:
    o->fn = h_smsubl;
    break;
  case EMU_OP_SMULH:
    o->fn = h_smulh;
    break;
  case EMU_OP_UMADDL:
    o->fn = h_umaddl;
    break;
  case EMU_OP_UMSUBL:
    o->fn = h_umsubl;
    break;
  default: /* UMULH */
    o->fn = h_umulh;
    break;
  }
  return DEC_OK;
}

/* ---- exec helpers (emu_exec_helper[op]): the semantics for any operands,
 * picked as the decode functions above pick handlers ---- */

void emu_exec_logic_sh(struct emu_cpu *cpu, const struct emu_insn *in) {
  logic_sems[in->op - EMU_OP_AND_SH][in->c][in->sf](cpu, in);
}
void emu_exec_addsub_sh(struct emu_cpu *cpu, const struct emu_insn *in) {
  addsub_sems[addsub_index(in->op)][in->c][in->sf](cpu, in);
}
void emu_exec_addsub_ext(struct emu_cpu *cpu, const struct emu_insn *in) {
  addext_sems[addsub_index(in->op)][in->sf](cpu, in);
}
void emu_exec_adc(struct emu_cpu *cpu, const struct emu_insn *in) {
  adc_sems[addsub_index(in->op)][in->sf](cpu, in);
}
void emu_exec_ccmp(struct emu_cpu *cpu, const struct emu_insn *in) {
  (in->sf ? e_ccmp64 : e_ccmp32)(cpu, in);
}
void emu_exec_csel(struct emu_cpu *cpu, const struct emu_insn *in) {
  csel_sems[in->op - EMU_OP_CSEL][in->sf](cpu, in);
}
void emu_exec_dp2(struct emu_cpu *cpu, const struct emu_insn *in) {
  static const emu_exec_fn f[6][2] = {
      {e_udiv32, e_udiv64}, {e_sdiv32, e_sdiv64}, {e_lslv32, e_lslv64},
      {e_lsrv32, e_lsrv64}, {e_asrv32, e_asrv64}, {e_rorv32, e_rorv64}};
  f[in->op - EMU_OP_UDIV][in->sf](cpu, in);
}
void emu_exec_crc32(struct emu_cpu *cpu, const struct emu_insn *in) {
  e_crc32(cpu, in);
}
void emu_exec_dp1(struct emu_cpu *cpu, const struct emu_insn *in) {
  static const emu_exec_fn f[6][2] = {
      {e_rbit32, e_rbit64}, {e_rev16_32, e_rev16_64}, {e_rev32, e_rev32_64},
      {e_rev64, e_rev64},   {e_clz32, e_clz64},       {e_cls32, e_cls64}};
  f[in->op - EMU_OP_RBIT][in->sf](cpu, in);
}
void emu_exec_dp3(struct emu_cpu *cpu, const struct emu_insn *in) {
  static const emu_exec_fn f[8][2] = {
      {e_madd32, e_madd64}, {e_msub32, e_msub64}, {e_smaddl, e_smaddl},
      {e_smsubl, e_smsubl}, {e_smulh, e_smulh},   {e_umaddl, e_umaddl},
      {e_umsubl, e_umsubl}, {e_umulh, e_umulh}};
  f[in->op - EMU_OP_MADD][in->sf](cpu, in);
}
