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
  static EMU_HANDLER(h_##OP##_##SH##W) {                                       \
    T a = (T)cpu->r[in->rn];                                                   \
    T b = (T)SH_##SH##W(cpu->r[in->rm], in->a);                                \
    T r = (T)(EXPR);                                                           \
    if (SETF)                                                                  \
      cpu->nzcv = logic_flags##W(r);                                           \
    cpu->r[in->rd] = r;                                                        \
    return EMU_NEXT;                                                           \
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
#define LOGIC_ROW(OP)                                                          \
  {                                                                            \
    {h_##OP##_lsl32, h_##OP##_lsl64}, {h_##OP##_lsr32, h_##OP##_lsr64},        \
        {h_##OP##_asr32, h_##OP##_asr64}, {                                    \
      h_##OP##_ror32, h_##OP##_ror64                                           \
    }                                                                          \
  }
/* [opc:N][shift][sf] */
static const emu_fn logic_fns[8][4][2] = {
    LOGIC_ROW(and), LOGIC_ROW(bic), LOGIC_ROW(orr),  LOGIC_ROW(orn),
    LOGIC_ROW(eor), LOGIC_ROW(eon), LOGIC_ROW(ands), LOGIC_ROW(bics)};

static EMU_HANDLER(h_mov64) {
  cpu->r[in->rd] = cpu->r[in->rm];
  return EMU_NEXT;
}
static EMU_HANDLER(h_mov32) {
  cpu->r[in->rd] = (uint32_t)cpu->r[in->rm];
  return EMU_NEXT;
}

/* ---- add/sub (shifted register) ---- */
#define DEF_ADD64(OP, SUB, SETF, SH)                                           \
  static EMU_HANDLER(h_##OP##_##SH##64) {                                      \
    uint64_t a = cpu->r[in->rn], b = SH_##SH##64(cpu->r[in->rm], in->a);       \
    if (SETF)                                                                  \
      cpu->r[in->rd] = add_flags64(a, SUB ? ~b : b, SUB, &cpu->nzcv);          \
    else                                                                       \
      cpu->r[in->rd] = SUB ? a - b : a + b;                                    \
    return EMU_NEXT;                                                           \
  }                                                                            \
  static EMU_HANDLER(h_##OP##_##SH##32) {                                      \
    uint32_t a = (uint32_t)cpu->r[in->rn];                                     \
    uint32_t b = SH_##SH##32(cpu->r[in->rm], in->a);                           \
    if (SETF)                                                                  \
      cpu->r[in->rd] = add_flags32(a, SUB ? ~b : b, SUB, &cpu->nzcv);          \
    else                                                                       \
      cpu->r[in->rd] = (uint32_t)(SUB ? a - b : a + b);                        \
    return EMU_NEXT;                                                           \
  }
#define DEF_ADD(OP, SUB, SETF)                                                 \
  DEF_ADD64(OP, SUB, SETF, lsl)                                                \
  DEF_ADD64(OP, SUB, SETF, lsr)                                                \
  DEF_ADD64(OP, SUB, SETF, asr)
DEF_ADD(add, 0, 0)
DEF_ADD(adds, 0, 1)
DEF_ADD(sub, 1, 0)
DEF_ADD(subs, 1, 1)
#define ADD_ROW(OP)                                                            \
  {                                                                            \
    {h_##OP##_lsl32, h_##OP##_lsl64}, {h_##OP##_lsr32, h_##OP##_lsr64}, {      \
      h_##OP##_asr32, h_##OP##_asr64                                           \
    }                                                                          \
  }
/* [op:S][shift][sf] */
static const emu_fn addsub_fns[4][3][2] = {ADD_ROW(add), ADD_ROW(adds),
                                           ADD_ROW(sub), ADD_ROW(subs)};

/* SUBS/ADDS (shifted register, LSL) fused with the B.cond at in + 1. */
#define DEF_ADDS_BCOND(OP, SUB)                                                \
  static EMU_HANDLER(h_##OP##_bcond64) {                                       \
    uint64_t a = cpu->r[in->rn], b = cpu->r[in->rm] << in->a;                  \
    cpu->r[in->rd] = add_flags64(a, SUB ? ~b : b, SUB, &cpu->nzcv);            \
    const struct emu_insn *br = in + 1;                                        \
    return emu_chain(cpu, br,                                                  \
                     cond_holds(cpu->nzcv, br->b) ? br->imm : br->pc + 4);     \
  }                                                                            \
  static EMU_HANDLER(h_##OP##_bcond32) {                                       \
    uint32_t a = (uint32_t)cpu->r[in->rn];                                     \
    uint32_t b = (uint32_t)cpu->r[in->rm] << in->a;                            \
    cpu->r[in->rd] = add_flags32(a, SUB ? ~b : b, SUB, &cpu->nzcv);            \
    const struct emu_insn *br = in + 1;                                        \
    return emu_chain(cpu, br,                                                  \
                     cond_holds(cpu->nzcv, br->b) ? br->imm : br->pc + 4);     \
  }
DEF_ADDS_BCOND(adds, 0)
DEF_ADDS_BCOND(subs, 1)

bool emu_fuse_dp_reg(struct emu_insn *cmp) {
  static const struct {
    emu_fn from, to;
  } f[] = {{h_subs_lsl64, h_subs_bcond64},
           {h_subs_lsl32, h_subs_bcond32},
           {h_adds_lsl64, h_adds_bcond64},
           {h_adds_lsl32, h_adds_bcond32}};
  for (unsigned i = 0; i < sizeof f / sizeof f[0]; i++)
    if (cmp->fn == f[i].from) {
      cmp->fn = f[i].to;
      return true;
    }
  return false;
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
  static EMU_HANDLER(h_##OP##_ext64) {                                         \
    uint64_t a = cpu->r[in->rn];                                               \
    uint64_t b = extend_reg(cpu->r[in->rm], in->a, in->b);                     \
    if (SETF)                                                                  \
      cpu->r[in->rd] = add_flags64(a, SUB ? ~b : b, SUB, &cpu->nzcv);          \
    else                                                                       \
      cpu->r[in->rd] = SUB ? a - b : a + b;                                    \
    return EMU_NEXT;                                                           \
  }                                                                            \
  static EMU_HANDLER(h_##OP##_ext32) {                                         \
    uint32_t a = (uint32_t)cpu->r[in->rn];                                     \
    uint32_t b = (uint32_t)extend_reg(cpu->r[in->rm], in->a, in->b);           \
    if (SETF)                                                                  \
      cpu->r[in->rd] = add_flags32(a, SUB ? ~b : b, SUB, &cpu->nzcv);          \
    else                                                                       \
      cpu->r[in->rd] = (uint32_t)(SUB ? a - b : a + b);                        \
    return EMU_NEXT;                                                           \
  }
DEF_ADDX(add, 0, 0)
DEF_ADDX(adds, 0, 1)
DEF_ADDX(sub, 1, 0)
DEF_ADDX(subs, 1, 1)
static const emu_fn addext_fns[4][2] = {{h_add_ext32, h_add_ext64},
                                        {h_adds_ext32, h_adds_ext64},
                                        {h_sub_ext32, h_sub_ext64},
                                        {h_subs_ext32, h_subs_ext64}};

/* ---- add/sub with carry ---- */
#define DEF_ADC(OP, SUB, SETF)                                                 \
  static EMU_HANDLER(h_##OP##64) {                                             \
    uint64_t a = cpu->r[in->rn], b = cpu->r[in->rm];                           \
    uint64_t c = (cpu->nzcv >> 29) & 1;                                        \
    if (SUB)                                                                   \
      b = ~b;                                                                  \
    if (SETF)                                                                  \
      cpu->r[in->rd] = add_flags64(a, b, c, &cpu->nzcv);                       \
    else                                                                       \
      cpu->r[in->rd] = a + b + c;                                              \
    return EMU_NEXT;                                                           \
  }                                                                            \
  static EMU_HANDLER(h_##OP##32) {                                             \
    uint32_t a = (uint32_t)cpu->r[in->rn], b = (uint32_t)cpu->r[in->rm];       \
    uint32_t c = (cpu->nzcv >> 29) & 1;                                        \
    if (SUB)                                                                   \
      b = ~b;                                                                  \
    if (SETF)                                                                  \
      cpu->r[in->rd] = add_flags32(a, b, c, &cpu->nzcv);                       \
    else                                                                       \
      cpu->r[in->rd] = (uint32_t)(a + b + c);                                  \
    return EMU_NEXT;                                                           \
  }
DEF_ADC(adc, 0, 0)
DEF_ADC(adcs, 0, 1)
DEF_ADC(sbc, 1, 0)
DEF_ADC(sbcs, 1, 1)
static const emu_fn adc_fns[4][2] = {{h_adc32, h_adc64},
                                     {h_adcs32, h_adcs64},
                                     {h_sbc32, h_sbc64},
                                     {h_sbcs32, h_sbcs64}};

/* ---- conditional compare: b = cond, c = nzcv if false, a = 1 for CCMP;
 * imm = immediate operand (imm2 = 1 when the immediate form) ---- */
static EMU_HANDLER(h_ccmp64) {
  if (!cond_holds(cpu->nzcv, in->b)) {
    cpu->nzcv = (uint32_t)in->c << 28;
    return EMU_NEXT;
  }
  uint64_t b = in->imm2 ? in->imm : cpu->r[in->rm];
  if (in->a)
    add_flags64(cpu->r[in->rn], ~b, 1, &cpu->nzcv);
  else
    add_flags64(cpu->r[in->rn], b, 0, &cpu->nzcv);
  return EMU_NEXT;
}
static EMU_HANDLER(h_ccmp32) {
  if (!cond_holds(cpu->nzcv, in->b)) {
    cpu->nzcv = (uint32_t)in->c << 28;
    return EMU_NEXT;
  }
  uint32_t b = (uint32_t)(in->imm2 ? in->imm : cpu->r[in->rm]);
  if (in->a)
    add_flags32((uint32_t)cpu->r[in->rn], ~b, 1, &cpu->nzcv);
  else
    add_flags32((uint32_t)cpu->r[in->rn], b, 0, &cpu->nzcv);
  return EMU_NEXT;
}

/* ---- conditional select: b = cond ---- */
#define DEF_CSEL(OP, EXPR)                                                     \
  static EMU_HANDLER(h_##OP##64) {                                             \
    uint64_t v = cpu->r[in->rm];                                               \
    cpu->r[in->rd] = cond_holds(cpu->nzcv, in->b) ? cpu->r[in->rn] : (EXPR);   \
    return EMU_NEXT;                                                           \
  }                                                                            \
  static EMU_HANDLER(h_##OP##32) {                                             \
    uint64_t v = cpu->r[in->rm];                                               \
    cpu->r[in->rd] =                                                           \
        (uint32_t)(cond_holds(cpu->nzcv, in->b) ? cpu->r[in->rn] : (EXPR));    \
    return EMU_NEXT;                                                           \
  }
DEF_CSEL(csel, v)
DEF_CSEL(csinc, v + 1)
DEF_CSEL(csinv, ~v)
DEF_CSEL(csneg, -v)
static const emu_fn csel_fns[4][2] = {{h_csel32, h_csel64},
                                      {h_csinc32, h_csinc64},
                                      {h_csinv32, h_csinv64},
                                      {h_csneg32, h_csneg64}};

/* ---- 3-source ---- */
static EMU_HANDLER(h_madd64) {
  cpu->r[in->rd] = cpu->r[in->ra] + cpu->r[in->rn] * cpu->r[in->rm];
  return EMU_NEXT;
}
static EMU_HANDLER(h_madd32) {
  cpu->r[in->rd] = (uint32_t)(cpu->r[in->ra] + cpu->r[in->rn] * cpu->r[in->rm]);
  return EMU_NEXT;
}
static EMU_HANDLER(h_msub64) {
  cpu->r[in->rd] = cpu->r[in->ra] - cpu->r[in->rn] * cpu->r[in->rm];
  return EMU_NEXT;
}
static EMU_HANDLER(h_msub32) {
  cpu->r[in->rd] = (uint32_t)(cpu->r[in->ra] - cpu->r[in->rn] * cpu->r[in->rm]);
  return EMU_NEXT;
}
static EMU_HANDLER(h_smaddl) {
  cpu->r[in->rd] =
      cpu->r[in->ra] +
      (uint64_t)((int64_t)(int32_t)cpu->r[in->rn] * (int32_t)cpu->r[in->rm]);
  return EMU_NEXT;
}
static EMU_HANDLER(h_smsubl) {
  cpu->r[in->rd] =
      cpu->r[in->ra] -
      (uint64_t)((int64_t)(int32_t)cpu->r[in->rn] * (int32_t)cpu->r[in->rm]);
  return EMU_NEXT;
}
static EMU_HANDLER(h_umaddl) {
  cpu->r[in->rd] = cpu->r[in->ra] + (uint64_t)(uint32_t)cpu->r[in->rn] *
                                        (uint32_t)cpu->r[in->rm];
  return EMU_NEXT;
}
static EMU_HANDLER(h_umsubl) {
  cpu->r[in->rd] = cpu->r[in->ra] - (uint64_t)(uint32_t)cpu->r[in->rn] *
                                        (uint32_t)cpu->r[in->rm];
  return EMU_NEXT;
}
static EMU_HANDLER(h_smulh) {
  __int128 p = (__int128)(int64_t)cpu->r[in->rn] * (int64_t)cpu->r[in->rm];
  cpu->r[in->rd] = (uint64_t)(p >> 64);
  return EMU_NEXT;
}
static EMU_HANDLER(h_umulh) {
  unsigned __int128 p =
      (unsigned __int128)cpu->r[in->rn] * (unsigned __int128)cpu->r[in->rm];
  cpu->r[in->rd] = (uint64_t)(p >> 64);
  return EMU_NEXT;
}

/* ---- 2-source ---- */
static EMU_HANDLER(h_udiv64) {
  uint64_t d = cpu->r[in->rm];
  cpu->r[in->rd] = d ? cpu->r[in->rn] / d : 0;
  return EMU_NEXT;
}
static EMU_HANDLER(h_udiv32) {
  uint32_t d = (uint32_t)cpu->r[in->rm];
  cpu->r[in->rd] = d ? (uint32_t)cpu->r[in->rn] / d : 0;
  return EMU_NEXT;
}
static EMU_HANDLER(h_sdiv64) {
  int64_t n = (int64_t)cpu->r[in->rn], d = (int64_t)cpu->r[in->rm];
  cpu->r[in->rd] = d == 0                        ? 0
                   : (d == -1 && n == INT64_MIN) ? (uint64_t)n
                                                 : (uint64_t)(n / d);
  return EMU_NEXT;
}
static EMU_HANDLER(h_sdiv32) {
  int32_t n = (int32_t)cpu->r[in->rn], d = (int32_t)cpu->r[in->rm];
  cpu->r[in->rd] = (uint32_t)(d == 0                        ? 0
                              : (d == -1 && n == INT32_MIN) ? n
                                                            : n / d);
  return EMU_NEXT;
}
static EMU_HANDLER(h_lslv64) {
  cpu->r[in->rd] = cpu->r[in->rn] << (cpu->r[in->rm] & 63);
  return EMU_NEXT;
}
static EMU_HANDLER(h_lslv32) {
  cpu->r[in->rd] =
      (uint32_t)((uint32_t)cpu->r[in->rn] << (cpu->r[in->rm] & 31));
  return EMU_NEXT;
}
static EMU_HANDLER(h_lsrv64) {
  cpu->r[in->rd] = cpu->r[in->rn] >> (cpu->r[in->rm] & 63);
  return EMU_NEXT;
}
static EMU_HANDLER(h_lsrv32) {
  cpu->r[in->rd] = (uint32_t)cpu->r[in->rn] >> (cpu->r[in->rm] & 31);
  return EMU_NEXT;
}
static EMU_HANDLER(h_asrv64) {
  cpu->r[in->rd] = (uint64_t)((int64_t)cpu->r[in->rn] >> (cpu->r[in->rm] & 63));
  return EMU_NEXT;
}
static EMU_HANDLER(h_asrv32) {
  cpu->r[in->rd] =
      (uint32_t)((int32_t)(uint32_t)cpu->r[in->rn] >> (cpu->r[in->rm] & 31));
  return EMU_NEXT;
}
static EMU_HANDLER(h_rorv64) {
  cpu->r[in->rd] = ror64(cpu->r[in->rn], cpu->r[in->rm] & 63);
  return EMU_NEXT;
}
static EMU_HANDLER(h_rorv32) {
  cpu->r[in->rd] = ror32((uint32_t)cpu->r[in->rn], cpu->r[in->rm] & 31);
  return EMU_NEXT;
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
static EMU_HANDLER(h_crc32) {
  cpu->r[in->rd] = crc_update((uint32_t)cpu->r[in->rn], cpu->r[in->rm],
                              1u << in->a, in->b ? 0x82F63B78u : 0xEDB88320u);
  return EMU_NEXT;
}

/* ---- 1-source ---- */
static EMU_HANDLER(h_rbit64) {
  uint64_t v = cpu->r[in->rn];
  v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
  v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
  v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
  cpu->r[in->rd] = __builtin_bswap64(v);
  return EMU_NEXT;
}
static EMU_HANDLER(h_rbit32) {
  uint32_t v = (uint32_t)cpu->r[in->rn];
  v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
  v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
  v = ((v >> 4) & 0x0f0f0f0fu) | ((v & 0x0f0f0f0fu) << 4);
  cpu->r[in->rd] = __builtin_bswap32(v);
  return EMU_NEXT;
}
static EMU_HANDLER(h_rev16_64) {
  uint64_t v = cpu->r[in->rn];
  cpu->r[in->rd] =
      ((v >> 8) & 0x00ff00ff00ff00ffull) | ((v & 0x00ff00ff00ff00ffull) << 8);
  return EMU_NEXT;
}
static EMU_HANDLER(h_rev16_32) {
  uint32_t v = (uint32_t)cpu->r[in->rn];
  cpu->r[in->rd] = ((v >> 8) & 0x00ff00ffu) | ((v & 0x00ff00ffu) << 8);
  return EMU_NEXT;
}
static EMU_HANDLER(h_rev32_64) {
  uint64_t v = cpu->r[in->rn];
  cpu->r[in->rd] = (uint64_t)__builtin_bswap32((uint32_t)(v >> 32)) << 32 |
                   __builtin_bswap32((uint32_t)v);
  return EMU_NEXT;
}
static EMU_HANDLER(h_rev32) {
  cpu->r[in->rd] = __builtin_bswap32((uint32_t)cpu->r[in->rn]);
  return EMU_NEXT;
}
static EMU_HANDLER(h_rev64) {
  cpu->r[in->rd] = __builtin_bswap64(cpu->r[in->rn]);
  return EMU_NEXT;
}
static EMU_HANDLER(h_clz64) {
  uint64_t v = cpu->r[in->rn];
  cpu->r[in->rd] = v ? (uint64_t)__builtin_clzll(v) : 64;
  return EMU_NEXT;
}
static EMU_HANDLER(h_clz32) {
  uint32_t v = (uint32_t)cpu->r[in->rn];
  cpu->r[in->rd] = v ? (uint64_t)__builtin_clz(v) : 32;
  return EMU_NEXT;
}
static EMU_HANDLER(h_cls64) {
  uint64_t v = cpu->r[in->rn];
  uint64_t x = (v ^ (v << 1)) | 1; /* leading sign bits beyond the first */
  cpu->r[in->rd] = (uint64_t)__builtin_clzll(x);
  return EMU_NEXT;
}
static EMU_HANDLER(h_cls32) {
  uint32_t v = (uint32_t)cpu->r[in->rn];
  uint32_t x = (v ^ (v << 1)) | 1;
  cpu->r[in->rd] = (uint64_t)__builtin_clz(x);
  return EMU_NEXT;
}

/* ---- decoder ---- */

int emu_dec_dp_reg(struct emu_insn *o, uint32_t raw) {
  unsigned sf = bit(raw, 31), rd = bits(raw, 4, 0), rn = bits(raw, 9, 5);
  unsigned rm = bits(raw, 20, 16);
  o->sf = (uint8_t)sf;
  o->rd = reg_dzr(rd);
  o->rn = reg_zr(rn);
  o->rm = reg_zr(rm);
  if (!bit(raw, 28)) {
    unsigned shift = bits(raw, 23, 22), imm6 = bits(raw, 15, 10);
    /* shifted forms: a 32-bit shift amount >= 32 is unallocated (the
     * extended form has option:imm3 in these bits instead) */
    if (!sf && imm6 >= 32 && !(bit(raw, 24) && bit(raw, 21)))
      return DEC_UNDEF;
    if (!bit(raw, 24)) { /* logical (shifted register) */
      unsigned opn = (bits(raw, 30, 29) << 1) | bit(raw, 21);
      o->a = (uint8_t)imm6;
      if (opn == 2 && rn == 31 && imm6 == 0)
        o->fn = sf ? h_mov64 : h_mov32;
      else
        o->fn = logic_fns[opn][shift][sf];
      return DEC_OK;
    }
    unsigned ops = bits(raw, 30, 29);
    if (!bit(raw, 21)) { /* add/sub (shifted register) */
      if (shift == 3)
        return DEC_UNDEF;
      o->a = (uint8_t)imm6;
      o->fn = addsub_fns[ops][shift][sf];
      return DEC_OK;
    }
    /* add/sub (extended register) */
    unsigned imm3 = bits(raw, 12, 10);
    if (shift != 0 || imm3 > 4)
      return DEC_UNDEF;
    o->rn = reg_sp(rn);
    if (!(ops & 1))
      o->rd = reg_sp(rd);
    o->a = (uint8_t)bits(raw, 15, 13);
    o->b = (uint8_t)imm3;
    o->fn = addext_fns[ops][sf];
    return DEC_OK;
  }
  unsigned op2 = bits(raw, 24, 21);
  if (op2 == 0) { /* add/sub with carry (RMIF/SETF are v8.4: undefined) */
    if (bits(raw, 15, 10) != 0)
      return DEC_UNDEF;
    o->fn = adc_fns[bits(raw, 30, 29)][sf];
    return DEC_OK;
  }
  if (op2 == 2) { /* conditional compare */
    if (bit(raw, 29) == 0 || bit(raw, 10) || bit(raw, 4))
      return DEC_UNDEF;
    o->a = (uint8_t)bit(raw, 30);
    o->b = (uint8_t)bits(raw, 15, 12);
    o->c = (uint8_t)bits(raw, 3, 0);
    o->imm = rm;
    o->imm2 = bit(raw, 11);
    o->fn = sf ? h_ccmp64 : h_ccmp32;
    return DEC_OK;
  }
  if (op2 == 4) { /* conditional select */
    unsigned op = bit(raw, 30), op2b = bits(raw, 11, 10);
    if (bit(raw, 29) || op2b > 1)
      return DEC_UNDEF;
    o->b = (uint8_t)bits(raw, 15, 12);
    o->fn = csel_fns[op * 2 + op2b][sf];
    return DEC_OK;
  }
  if (op2 == 6) {
    unsigned opcode = bits(raw, 15, 10);
    if (bit(raw, 29))
      return DEC_UNDEF;
    if (!bit(raw, 30)) { /* 2-source */
      switch (opcode) {
      case 2:
        o->fn = sf ? h_udiv64 : h_udiv32;
        return DEC_OK;
      case 3:
        o->fn = sf ? h_sdiv64 : h_sdiv32;
        return DEC_OK;
      case 8:
        o->fn = sf ? h_lslv64 : h_lslv32;
        return DEC_OK;
      case 9:
        o->fn = sf ? h_lsrv64 : h_lsrv32;
        return DEC_OK;
      case 10:
        o->fn = sf ? h_asrv64 : h_asrv32;
        return DEC_OK;
      case 11:
        o->fn = sf ? h_rorv64 : h_rorv32;
        return DEC_OK;
      default:
        if (opcode >= 16 && opcode <= 23) {
          unsigned sz = opcode & 3;
          if ((sz == 3) != (sf == 1))
            return DEC_UNDEF;
          o->a = (uint8_t)sz;
          o->b = (uint8_t)((opcode >> 2) & 1);
          o->fn = h_crc32;
          return DEC_OK;
        }
        return DEC_UNDEF;
      }
    }
    /* 1-source */
    if (rm != 0)
      return DEC_UNDEF;
    switch (opcode) {
    case 0:
      o->fn = sf ? h_rbit64 : h_rbit32;
      return DEC_OK;
    case 1:
      o->fn = sf ? h_rev16_64 : h_rev16_32;
      return DEC_OK;
    case 2:
      o->fn = sf ? h_rev32_64 : h_rev32;
      return DEC_OK;
    case 3:
      if (!sf)
        return DEC_UNDEF;
      o->fn = h_rev64;
      return DEC_OK;
    case 4:
      o->fn = sf ? h_clz64 : h_clz32;
      return DEC_OK;
    case 5:
      o->fn = sf ? h_cls64 : h_cls32;
      return DEC_OK;
    default:
      return DEC_UNDEF; /* PAC etc.: not v8.0 */
    }
  }
  if (op2 & 8) { /* 3-source */
    unsigned op54 = bits(raw, 30, 29), op31 = bits(raw, 23, 21);
    unsigned o0 = bit(raw, 15);
    o->ra = reg_zr(bits(raw, 14, 10));
    if (op54)
      return DEC_UNDEF;
    switch (op31 << 1 | o0) {
    case 0:
      o->fn = sf ? h_madd64 : h_madd32;
      return DEC_OK;
    case 1:
      o->fn = sf ? h_msub64 : h_msub32;
      return DEC_OK;
    }
    if (!sf)
      return DEC_UNDEF;
    switch (op31 << 1 | o0) {
    case 2:
      o->fn = h_smaddl;
      return DEC_OK;
    case 3:
      o->fn = h_smsubl;
      return DEC_OK;
    case 4:
      o->fn = h_smulh;
      return DEC_OK;
    case 10:
      o->fn = h_umaddl;
      return DEC_OK;
    case 11:
      o->fn = h_umsubl;
      return DEC_OK;
    case 12:
      o->fn = h_umulh;
      return DEC_OK;
    default:
      return DEC_UNDEF;
    }
  }
  return DEC_UNDEF;
}
