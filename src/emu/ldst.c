/* ldst.c — A64 integer loads and stores: load/store register (unsigned
 * offset, unscaled, pre/post-index, unprivileged, register offset with
 * extend), load literal, load/store pair (incl. non-temporal, LDPSW), and
 * PRFM (a no-op). Exclusives and acquire/release are in ldst_excl.c;
 * SIMD&FP loads/stores (V = 1) are decoded by emu_decode_fpsimd.
 *
 * Operands: rd = Rt (loads: XSINK for XZR; stores: XZR reads 0), ra = Rt2
 * for pairs, rn = base (SP for 31), rm = offset register; imm = signed
 * byte offset (literal: the absolute address, with rn = XZR); a/b = extend
 * option and shift for register offsets.
 *
 * Handlers load everything before writing any register (a fault leaves
 * state unchanged); for writeback forms the base is written before Rt so
 * that a load into the base register wins (constrained unpredictable
 * case, as most hardware does).
 *
 * Runs on the CPU's thread; no shared state.
 */
#include "emu/decode.h"
#include "emu/mem.h"

int emu_dec_ldst_excl(struct emu_insn *o, uint32_t raw);

static inline uint64_t extend_off(uint64_t v, unsigned option, unsigned shift) {
  switch (option) {
  case 2:
    v = (uint32_t)v;
    break; /* UXTW */
  case 6:
    v = (uint64_t)(int64_t)(int32_t)v;
    break; /* SXTW */
  default:
    break; /* LSL, SXTX */
  }
  return v << shift;
}

/* Each load/store has a fast handler (TLB hit: no calls, so no stack
 * frame) and a cold twin that goes through mem.h's slow paths; the fast
 * one tail-calls the twin on a miss. K: load kind; SZ_K: access size;
 * HX_K(p): value from host pointer p; LD_K(a): value via emu_ldN. */
#define SZ_u8 1
#define SZ_u16 2
#define SZ_u32 4
#define SZ_u64 8
#define SZ_s8w 1
#define SZ_s8x 1
#define SZ_s16w 2
#define SZ_s16x 2
#define SZ_s32x 4
#define T_u8 uint8_t
#define T_u16 uint16_t
#define T_u32 uint32_t
#define T_u64 uint64_t
#define T_s8w int8_t
#define T_s8x int8_t
#define T_s16w int16_t
#define T_s16x int16_t
#define T_s32x int32_t
/* extension of the raw value v (of type T_K) to the register value */
#define EXT_u8(v) (uint64_t)(v)
#define EXT_u16(v) (uint64_t)(v)
#define EXT_u32(v) (uint64_t)(v)
#define EXT_u64(v) (uint64_t)(v)
#define EXT_s8w(v) (uint64_t)(uint32_t)(int32_t)(v)
#define EXT_s8x(v) (uint64_t)(int64_t)(v)
#define EXT_s16w(v) (uint64_t)(uint32_t)(int32_t)(v)
#define EXT_s16x(v) (uint64_t)(int64_t)(v)
#define EXT_s32x(v) (uint64_t)(int64_t)(v)
#define RAWLD_1(a) emu_ld8(cpu, in, (a))
#define RAWLD_2(a) emu_ld16(cpu, in, (a))
#define RAWLD_4(a) emu_ld32(cpu, in, (a))
#define RAWLD_8(a) emu_ld64(cpu, in, (a))
#define RAWLD(n, a) RAWLD_##n(a)
#define RAWLDX(n, a) RAWLD(n, a)
#define LD_K(K, a) EXT_##K((T_##K)RAWLDX(SZ_##K, a))

/* Host pointer for a TLB hit of an access of size bytes, else NULL. */
static inline void *tlb_fast(struct emu_cpu *cpu, uint64_t va, unsigned size,
                             enum emu_access acc) {
  struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
  uint64_t tag = acc == EMU_WRITE ? e->tag_write : e->tag_read;
  if (EMU_LIKELY(tag == emu_tlb_tag(cpu, va) && emu_in_page(va, size)))
    return (void *)(uintptr_t)(va + e->addend);
  return NULL;
}

/* ADDR computes `a`; WB writes the base back (or nothing). */
#define ADDR_off uint64_t a = cpu->r[in->rn] + in->imm
#define ADDR_pre uint64_t a = cpu->r[in->rn] + in->imm
#define ADDR_post uint64_t a = cpu->r[in->rn]
#define ADDR_reg                                                               \
  uint64_t a = cpu->r[in->rn] + extend_off(cpu->r[in->rm], in->a, in->b)
#define WB_off
#define WB_reg
#define WB_pre cpu->r[in->rn] = a
#define WB_post cpu->r[in->rn] = a + in->imm

#define DEF_LD_M(K, M)                                                         \
  static __attribute__((noinline, cold)) EMU_HANDLER(h_ld_##K##_##M##_slow) {  \
    ADDR_##M;                                                                  \
    uint64_t v = LD_K(K, a);                                                   \
    WB_##M;                                                                    \
    cpu->r[in->rd] = v;                                                        \
    return EMU_NEXT;                                                           \
  }                                                                            \
  static EMU_HANDLER(h_ld_##K##_##M) {                                         \
    ADDR_##M;                                                                  \
    void *p = tlb_fast(cpu, a, SZ_##K, EMU_READ);                              \
    if (EMU_UNLIKELY(!p))                                                      \
      return h_ld_##K##_##M##_slow(cpu, in);                                   \
    T_##K raw;                                                                 \
    memcpy(&raw, p, sizeof raw);                                               \
    WB_##M;                                                                    \
    cpu->r[in->rd] = EXT_##K(raw);                                             \
    return EMU_NEXT;                                                           \
  }
#define DEF_LD(K)                                                              \
  DEF_LD_M(K, off) DEF_LD_M(K, pre) DEF_LD_M(K, post) DEF_LD_M(K, reg)
DEF_LD(u8)
DEF_LD(u16)
DEF_LD(u32)
DEF_LD(u64)
DEF_LD(s8w)
DEF_LD(s8x)
DEF_LD(s16w)
DEF_LD(s16x)
DEF_LD(s32x)

#define DEF_ST_M(B, M)                                                         \
  static __attribute__((noinline, cold)) EMU_HANDLER(h_st##B##_##M##_slow) {   \
    ADDR_##M;                                                                  \
    emu_st##B(cpu, in, a, (uint##B##_t)cpu->r[in->rd]);                        \
    WB_##M;                                                                    \
    return EMU_NEXT;                                                           \
  }                                                                            \
  static EMU_HANDLER(h_st##B##_##M) {                                          \
    ADDR_##M;                                                                  \
    void *p = tlb_fast(cpu, a, B / 8, EMU_WRITE);                              \
    if (EMU_UNLIKELY(!p))                                                      \
      return h_st##B##_##M##_slow(cpu, in);                                    \
    uint##B##_t v = (uint##B##_t)cpu->r[in->rd];                               \
    memcpy(p, &v, sizeof v);                                                   \
    WB_##M;                                                                    \
    return EMU_NEXT;                                                           \
  }
#define DEF_ST(B)                                                              \
  DEF_ST_M(B, off) DEF_ST_M(B, pre) DEF_ST_M(B, post) DEF_ST_M(B, reg)
DEF_ST(8)
DEF_ST(16)
DEF_ST(32)
DEF_ST(64)

enum { M_OFF, M_PRE, M_POST, M_REG };
#define LD_ROW(K)                                                              \
  { h_ld_##K##_off, h_ld_##K##_pre, h_ld_##K##_post, h_ld_##K##_reg }
#define ST_ROW(B)                                                              \
  { h_st##B##_off, h_st##B##_pre, h_st##B##_post, h_st##B##_reg }
enum { K_U8, K_U16, K_U32, K_U64, K_S8W, K_S8X, K_S16W, K_S16X, K_S32X };
static const emu_fn ld_fns[9][4] = {LD_ROW(u8),   LD_ROW(u16),  LD_ROW(u32),
                                    LD_ROW(u64),  LD_ROW(s8w),  LD_ROW(s8x),
                                    LD_ROW(s16w), LD_ROW(s16x), LD_ROW(s32x)};
static const emu_fn st_fns[4][4] = {ST_ROW(8), ST_ROW(16), ST_ROW(32),
                                    ST_ROW(64)};

/* ---- pairs: rd = Rt, ra = Rt2; fast handler + cold twin as above ---- */
#define PX_U(v) (uint64_t)(v)
#define PX_S32(v) (uint64_t)(int64_t)(int32_t)(v)
#define DEF_LDP_M(N, B, LDX, M)                                                \
  static __attribute__((noinline, cold)) EMU_HANDLER(h_ldp##N##_##M##_slow) {  \
    ADDR_##M;                                                                  \
    uint64_t v1 = LDX(emu_ld##B(cpu, in, a));                                  \
    uint64_t v2 = LDX(emu_ld##B(cpu, in, a + B / 8));                          \
    WB_##M;                                                                    \
    cpu->r[in->rd] = v1;                                                       \
    cpu->r[in->ra] = v2;                                                       \
    return EMU_NEXT;                                                           \
  }                                                                            \
  static EMU_HANDLER(h_ldp##N##_##M) {                                         \
    ADDR_##M;                                                                  \
    const uint8_t *p = tlb_fast(cpu, a, 2 * B / 8, EMU_READ);                  \
    if (EMU_UNLIKELY(!p))                                                      \
      return h_ldp##N##_##M##_slow(cpu, in);                                   \
    uint##B##_t r1, r2;                                                        \
    memcpy(&r1, p, sizeof r1);                                                 \
    memcpy(&r2, p + B / 8, sizeof r2);                                         \
    WB_##M;                                                                    \
    cpu->r[in->rd] = LDX(r1);                                                  \
    cpu->r[in->ra] = LDX(r2);                                                  \
    return EMU_NEXT;                                                           \
  }
#define DEF_PAIR(N, B, LDX)                                                    \
  DEF_LDP_M(N, B, LDX, off) DEF_LDP_M(N, B, LDX, pre) DEF_LDP_M(N, B, LDX, post)
DEF_PAIR(32, 32, PX_U)
DEF_PAIR(64, 64, PX_U)
DEF_PAIR(sw, 32, PX_S32)

/* Stores of a pair: the slow twin probes the whole range first when it
 * crosses a page, so a fault on the second half does not leave the first
 * half written. */
#define DEF_STP_M(B, M)                                                        \
  static __attribute__((noinline, cold)) EMU_HANDLER(h_stp##B##_##M##_slow) {  \
    ADDR_##M;                                                                  \
    if (!emu_in_page(a, 2 * B / 8))                                            \
      emu_probe(cpu, in, a, 2 * B / 8, EMU_WRITE);                             \
    emu_st##B(cpu, in, a, (uint##B##_t)cpu->r[in->rd]);                        \
    emu_st##B(cpu, in, a + B / 8, (uint##B##_t)cpu->r[in->ra]);                \
    WB_##M;                                                                    \
    return EMU_NEXT;                                                           \
  }                                                                            \
  static EMU_HANDLER(h_stp##B##_##M) {                                         \
    ADDR_##M;                                                                  \
    uint8_t *p = tlb_fast(cpu, a, 2 * B / 8, EMU_WRITE);                       \
    if (EMU_UNLIKELY(!p))                                                      \
      return h_stp##B##_##M##_slow(cpu, in);                                   \
    uint##B##_t v1 = (uint##B##_t)cpu->r[in->rd];                              \
    uint##B##_t v2 = (uint##B##_t)cpu->r[in->ra];                              \
    memcpy(p, &v1, sizeof v1);                                                 \
    memcpy(p + B / 8, &v2, sizeof v2);                                         \
    WB_##M;                                                                    \
    return EMU_NEXT;                                                           \
  }
#define DEF_STP(B) DEF_STP_M(B, off) DEF_STP_M(B, pre) DEF_STP_M(B, post)
DEF_STP(32)
DEF_STP(64)

/* ---- decoder ---- */

/* Load/store register, all addressing modes. mode: M_*; imm: byte offset */
/* Unprivileged forms (LDTR/STTR...): the EL0 permission check of the
 * environment, then the plain offset handler, kept in imm2. a = 1 for
 * stores, b = access size in bytes. */
static EMU_HANDLER(h_unpriv) {
  uint64_t a = cpu->r[in->rn] + in->imm;
  enum emu_access acc = in->a ? EMU_WRITE : EMU_READ;
  uint64_t fva = a;
  if (cpu->env->unpriv_check &&
      !cpu->env->unpriv_check(cpu, a, acc, in->b, &fva))
    emu_raise(cpu, in, EMU_EXIT_FAULT,
              (in->a ? EMU_FAULT_WNR : 0) | EMU_FAULT_PERM, fva);
  emu_fn f;
  memcpy(&f, &in->imm2, sizeof f);
  return f(cpu, in);
}

static int dec_ldst_reg(struct emu_insn *o, uint32_t raw, int mode,
                        uint64_t imm) {
  unsigned size = bits(raw, 31, 30), opc = bits(raw, 23, 22);
  unsigned rt = bits(raw, 4, 0);
  o->imm = imm;
  o->sf = size == 3;
  if (opc == 0) { /* store */
    o->rd = reg_zr(rt);
    o->fn = st_fns[size][mode];
    return DEC_OK;
  }
  o->rd = reg_dzr(rt);
  int k;
  if (opc == 1) {
    k = (int)size; /* K_U8..K_U64 */
  } else if (size == 3 || (size == 2 && opc == 3)) {
    /* PRFM (size 3, opc 2) only for offset forms; the rest unallocated */
    if (size == 3 && opc == 2 && (mode == M_OFF || mode == M_REG)) {
      o->fn = emu_h_nop;
      return DEC_OK;
    }
    return DEC_UNDEF;
  } else {
    static const int sk[3][2] = {
        {K_S8X, K_S8W}, {K_S16X, K_S16W}, {K_S32X, -1}};
    k = sk[size][opc - 2];
  }
  o->fn = ld_fns[k][mode];
  return DEC_OK;
}

static int dec_pair(struct emu_insn *o, uint32_t raw) {
  unsigned opc = bits(raw, 31, 30), l = bit(raw, 22), mode = bits(raw, 24, 23);
  if (opc == 3 || (opc == 1 && (!l || mode == 0)))
    return DEC_UNDEF; /* STGP (v8.5) and LDNPSW don't exist in v8.0 */
  unsigned scale = opc == 2 ? 3 : 2;
  o->imm = ((uint64_t)sext(bits(raw, 21, 15), 7) << scale);
  o->rn = reg_sp(bits(raw, 9, 5));
  o->sf = opc == 2;
  int m = mode == 1 ? M_POST : mode == 3 ? M_PRE : M_OFF;
  if (l) {
    o->rd = reg_dzr(bits(raw, 4, 0));
    o->ra = reg_dzr(bits(raw, 14, 10));
    static const emu_fn f[3][3] = {{h_ldp32_off, h_ldp32_pre, h_ldp32_post},
                                   {h_ldpsw_off, h_ldpsw_pre, h_ldpsw_post},
                                   {h_ldp64_off, h_ldp64_pre, h_ldp64_post}};
    o->fn = f[opc][m];
  } else {
    o->rd = reg_zr(bits(raw, 4, 0));
    o->ra = reg_zr(bits(raw, 14, 10));
    static const emu_fn f[2][3] = {{h_stp32_off, h_stp32_pre, h_stp32_post},
                                   {h_stp64_off, h_stp64_pre, h_stp64_post}};
    o->fn = f[opc >> 1][m];
  }
  return DEC_OK;
}

int emu_dec_ldst(struct emu_insn *o, uint32_t raw) {
  unsigned op_hi = bits(raw, 29, 27);
  o->rn = reg_sp(bits(raw, 9, 5));
  if (bits(raw, 29, 24) == 8) /* load/store exclusive, acquire/release */
    return emu_dec_ldst_excl(o, raw);
  if (op_hi == 3 && bits(raw, 25, 24) == 0) { /* load literal */
    unsigned opc = bits(raw, 31, 30);
    uint64_t addr = o->pc + ((uint64_t)sext(bits(raw, 23, 5), 19) << 2);
    o->rn = EMU_XZR; /* address = 0 + imm */
    o->rd = reg_dzr(bits(raw, 4, 0));
    o->imm = addr;
    static const emu_fn f[3] = {h_ld_u32_off, h_ld_u64_off, h_ld_s32x_off};
    o->fn = opc == 3 ? emu_h_nop : f[opc];
    return DEC_OK;
  }
  if (op_hi == 5) /* load/store pair */
    return dec_pair(o, raw);
  if (op_hi != 7 || bit(raw, 25))
    return DEC_UNDEF;
  unsigned size = bits(raw, 31, 30);
  if (bit(raw, 24)) /* unsigned immediate */
    return dec_ldst_reg(o, raw, M_OFF, (uint64_t)bits(raw, 21, 10) << size);
  uint64_t imm9 = (uint64_t)sext(bits(raw, 20, 12), 9);
  if (!bit(raw, 21)) {
    switch (bits(raw, 11, 10)) {
    case 0: /* unscaled (LDUR/STUR/PRFUM) */
    case 2: /* unprivileged: as EL0 accesses (user mode: the same) */
      if (bits(raw, 11, 10) == 2) {
        if (size == 3 && bits(raw, 23, 22) == 2)
          return DEC_UNDEF;
        int r = dec_ldst_reg(o, raw, M_OFF, imm9);
        if (r == DEC_OK) {
          memcpy(&o->imm2, &o->fn, sizeof o->fn);
          _Static_assert(sizeof o->fn <= sizeof o->imm2, "fn fits in imm2");
          o->a = bits(raw, 23, 22) == 0; /* opc 0: store */
          o->b = (uint8_t)(1u << size);
          o->fn = h_unpriv;
        }
        return r;
      }
      return dec_ldst_reg(o, raw, M_OFF, imm9);
    case 1:
      return dec_ldst_reg(o, raw, M_POST, imm9);
    default:
      return dec_ldst_reg(o, raw, M_PRE, imm9);
    }
  }
  if (bits(raw, 11, 10) != 2)
    return DEC_UNDEF; /* atomics (v8.1), LDRAA/LDRAB (v8.3) */
  unsigned option = bits(raw, 15, 13);
  if (!(option & 2))
    return DEC_UNDEF;
  o->rm = reg_zr(bits(raw, 20, 16));
  o->a = (uint8_t)option;
  o->b = (uint8_t)(bit(raw, 12) ? size : 0);
  return dec_ldst_reg(o, raw, M_REG, 0);
}
