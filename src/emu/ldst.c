/* ldst.c — A64 integer loads and stores: load/store register (unsigned
 * offset, unscaled, pre/post-index, unprivileged, register offset with
 * extend), load literal, load/store pair (incl. non-temporal, LDPSW), and
 * PRFM (a no-op). Exclusives and acquire/release are in ldst_excl.c;
 * SIMD&FP loads/stores (V = 1): isa/simd_ldst.decode, fpsimd/simd_ldst.c.
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
  EMU_SEM(e_ld_##K##_##M) {                                                    \
    ADDR_##M;                                                                  \
    uint64_t v = LD_K(K, a);                                                   \
    WB_##M;                                                                    \
    cpu->r[in->rd] = v;                                                        \
  }                                                                            \
  static __attribute__((noinline, cold)) EMU_HANDLER(h_ld_##K##_##M##_slow) {  \
    e_ld_##K##_##M(cpu, in);                                                   \
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
  EMU_SEM(e_st##B##_##M) {                                                     \
    ADDR_##M;                                                                  \
    emu_st##B(cpu, in, a, (uint##B##_t)cpu->r[in->rd]);                        \
    WB_##M;                                                                    \
  }                                                                            \
  static __attribute__((noinline, cold)) EMU_HANDLER(h_st##B##_##M##_slow) {   \
    e_st##B##_##M(cpu, in);                                                    \
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
/* The semantics of the same: what the slow twins do (any TLB state). */
#define LD_SEM_ROW(K)                                                          \
  { e_ld_##K##_off, e_ld_##K##_pre, e_ld_##K##_post, e_ld_##K##_reg }
#define ST_SEM_ROW(B)                                                          \
  { e_st##B##_off, e_st##B##_pre, e_st##B##_post, e_st##B##_reg }
static const emu_exec_fn ld_sems[9][4] = {
    LD_SEM_ROW(u8),   LD_SEM_ROW(u16),  LD_SEM_ROW(u32),
    LD_SEM_ROW(u64),  LD_SEM_ROW(s8w),  LD_SEM_ROW(s8x),
    LD_SEM_ROW(s16w), LD_SEM_ROW(s16x), LD_SEM_ROW(s32x)};
static const emu_exec_fn st_sems[4][4] = {ST_SEM_ROW(8), ST_SEM_ROW(16),
                                          ST_SEM_ROW(32), ST_SEM_ROW(64)};

/* ---- pairs: rd = Rt, ra = Rt2; fast handler + cold twin as above ---- */
#define PX_U(v) (uint64_t)(v)
#define PX_S32(v) (uint64_t)(int64_t)(int32_t)(v)
#define DEF_LDP_M(N, B, LDX, M)                                                \
  EMU_SEM(e_ldp##N##_##M) {                                                    \
    ADDR_##M;                                                                  \
    uint64_t v1 = LDX(emu_ld##B(cpu, in, a));                                  \
    uint64_t v2 = LDX(emu_ld##B(cpu, in, a + B / 8));                          \
    WB_##M;                                                                    \
    cpu->r[in->rd] = v1;                                                       \
    cpu->r[in->ra] = v2;                                                       \
  }                                                                            \
  static __attribute__((noinline, cold)) EMU_HANDLER(h_ldp##N##_##M##_slow) {  \
    e_ldp##N##_##M(cpu, in);                                                   \
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
  EMU_SEM(e_stp##B##_##M) {                                                    \
    ADDR_##M;                                                                  \
    if (!emu_in_page(a, 2 * B / 8))                                            \
      emu_probe(cpu, in, a, 2 * B / 8, EMU_WRITE);                             \
    emu_st##B(cpu, in, a, (uint##B##_t)cpu->r[in->rd]);                        \
    emu_st##B(cpu, in, a + B / 8, (uint##B##_t)cpu->r[in->ra]);                \
    WB_##M;                                                                    \
  }                                                                            \
  static __attribute__((noinline, cold)) EMU_HANDLER(h_stp##B##_##M##_slow) {  \
    e_stp##B##_##M(cpu, in);                                                   \
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

/* Unprivileged forms (LDTR/STTR...): the EL0 permission check of the
 * environment, then the plain offset form of the same access. */
static const emu_fn ld_off_fns[9] = {
    h_ld_u8_off,  h_ld_u16_off,  h_ld_u32_off,  h_ld_u64_off, h_ld_s8w_off,
    h_ld_s8x_off, h_ld_s16w_off, h_ld_s16x_off, h_ld_s32x_off};
static const emu_fn st_off_fns[4] = {h_st8_off, h_st16_off, h_st32_off,
                                     h_st64_off};
static void unpriv_check(struct emu_cpu *cpu, const struct emu_insn *in,
                         bool store) {
  uint64_t a = cpu->r[in->rn] + in->imm;
  enum emu_access acc = store ? EMU_WRITE : EMU_READ;
  uint64_t fva = a;
  if (cpu->env->unpriv_check &&
      !cpu->env->unpriv_check(cpu, a, acc, in->b, &fva))
    emu_raise(cpu, in, EMU_EXIT_FAULT,
              (store ? EMU_FAULT_WNR : 0) | EMU_FAULT_PERM, fva);
}
static EMU_HANDLER(h_unpriv) {
  bool store = in->op == EMU_OP_STTR;
  unpriv_check(cpu, in, store);
  return (store ? st_off_fns[in->c] : ld_off_fns[in->c])(cpu, in);
}

/* ---- decode functions (patterns: isa/ldst.decode) ---- */

/* The addressing mode of each load/store register op. */
static int ldst_mode(unsigned op) {
  switch (op) {
  case EMU_OP_STR_POST:
  case EMU_OP_LDR_POST:
  case EMU_OP_LDRS_POST:
    return M_POST;
  case EMU_OP_STR_PRE:
  case EMU_OP_LDR_PRE:
  case EMU_OP_LDRS_PRE:
    return M_PRE;
  case EMU_OP_STR_REG:
  case EMU_OP_LDR_REG:
  case EMU_OP_LDRS_REG:
    return M_REG;
  default:
    return M_OFF;
  }
}

/* Load/store register, every addressing mode: opc 0 store, 1 load, 2/3
 * signed load (to X / to W). c = the access kind: K_* for loads, log2 of
 * the size for stores; b = the size in bytes for unprivileged forms. */
static int ldst_common(struct emu_insn *o, unsigned size, unsigned opc,
                       unsigned rt, uint64_t imm) {
  int mode = ldst_mode(o->op);
  o->imm = imm;
  o->sf = size == 3;
  if (opc == 0) { /* store */
    o->rd = reg_zr(rt);
    o->c = (uint8_t)size;
    o->fn = st_fns[size][mode];
  } else {
    int k;
    o->rd = reg_dzr(rt);
    if (opc == 1) {
      k = (int)size; /* K_U8..K_U64 */
    } else if (size == 3 || (size == 2 && opc == 3)) {
      return DEC_UNDEF; /* (PRFM has patterns of its own) */
    } else {
      static const int sk[3][2] = {
          {K_S8X, K_S8W}, {K_S16X, K_S16W}, {K_S32X, -1}};
      k = sk[size][opc - 2];
    }
    o->c = (uint8_t)k;
    o->fn = ld_fns[k][mode];
  }
  if (o->op == EMU_OP_STTR || o->op == EMU_OP_LDTR || o->op == EMU_OP_LDTRS) {
    o->b = (uint8_t)(1u << size);
    o->fn = h_unpriv;
  }
  return DEC_OK;
}

/* The signed loads' patterns hold opc<0> only (opc<1> is fixed). */
static unsigned ldst_opc(unsigned op, unsigned opc) {
  switch (op) {
  case EMU_OP_LDRS_UIMM:
  case EMU_OP_LDURS:
  case EMU_OP_LDRS_POST:
  case EMU_OP_LDTRS:
  case EMU_OP_LDRS_PRE:
  case EMU_OP_LDRS_REG:
    return 2 | opc;
  default:
    return opc;
  }
}

/* imm = byte offset (unsigned offset forms: scaled by the size) */
int emu_dec_ldst(struct emu_insn *o, const struct emu_args_ldst *a) {
  bool uimm = o->op == EMU_OP_STR_UIMM || o->op == EMU_OP_LDR_UIMM ||
              o->op == EMU_OP_LDRS_UIMM;
  o->rn = reg_sp(a->rn);
  return ldst_common(o, a->size, ldst_opc(o->op, a->opc), a->rt,
                     uimm ? (uint64_t)a->imm << a->size
                          : (uint64_t)(int64_t)(int32_t)a->imm);
}

/* rm = offset register, a = extend option, b = its left shift */
int emu_dec_ldst_reg(struct emu_insn *o, const struct emu_args_ldst_r *a) {
  if (!(a->option & 2))
    return DEC_UNDEF;
  o->rn = reg_sp(a->rn);
  o->rm = reg_zr(a->rm);
  o->a = (uint8_t)a->option;
  o->b = (uint8_t)(a->s ? a->size : 0);
  return ldst_common(o, a->size, ldst_opc(o->op, a->opc), a->rt, 0);
}

/* PRFM: a NOP (operands kept for a tracer) */
int emu_dec_prfm(struct emu_insn *o, const struct emu_args_ldst *a) {
  o->rn = reg_sp(a->rn);
  o->rd = reg_dzr(a->rt);
  o->sf = 1;
  o->imm = o->op == EMU_OP_PRFM_UIMM ? (uint64_t)a->imm << 3
                                     : (uint64_t)(int64_t)(int32_t)a->imm;
  o->fn = emu_h_nop;
  return DEC_OK;
}

int emu_dec_prfm_reg(struct emu_insn *o, const struct emu_args_ldst_r *a) {
  if (!(a->option & 2))
    return DEC_UNDEF;
  o->rn = reg_sp(a->rn);
  o->rd = reg_dzr(a->rt);
  o->rm = reg_zr(a->rm);
  o->sf = 1;
  o->a = (uint8_t)a->option;
  o->b = (uint8_t)(a->s ? 3 : 0);
  o->fn = emu_h_nop;
  return DEC_OK;
}

/* imm = the address (pc-relative, resolved here), rn = XZR */
int emu_dec_lit(struct emu_insn *o, const struct emu_args_lit *a) {
  o->rn = EMU_XZR;
  o->rd = reg_dzr(a->rt);
  o->imm = o->pc + ((uint64_t)(int64_t)a->imm << 2);
  switch (o->op) {
  case EMU_OP_LDR_LIT:
    o->c = (uint8_t)(a->sf ? K_U64 : K_U32);
    o->fn = a->sf ? h_ld_u64_off : h_ld_u32_off;
    break;
  case EMU_OP_LDRSW_LIT:
    o->c = K_S32X;
    o->fn = h_ld_s32x_off;
    break;
  default: /* PRFM */
    o->fn = emu_h_nop;
    break;
  }
  return DEC_OK;
}

/* rd = Rt, ra = Rt2, imm = byte offset, c = M_OFF/M_PRE/M_POST */
int emu_dec_pair(struct emu_insn *o, const struct emu_args_pair *a) {
  bool load = o->op != EMU_OP_STP;
  if (o->op == EMU_OP_LDPSW && a->mode == 0)
    return DEC_UNDEF; /* LDNPSW doesn't exist */
  int m = a->mode == 1 ? M_POST : a->mode == 3 ? M_PRE : M_OFF;
  o->imm = (uint64_t)(int64_t)a->imm << (a->sf ? 3 : 2);
  o->rn = reg_sp(a->rn);
  o->sf = (uint8_t)a->sf;
  o->c = (uint8_t)m;
  if (load) {
    o->rd = reg_dzr(a->rt);
    o->ra = reg_dzr(a->rt2);
    static const emu_fn f[3][3] = {{h_ldp32_off, h_ldp32_pre, h_ldp32_post},
                                   {h_ldpsw_off, h_ldpsw_pre, h_ldpsw_post},
                                   {h_ldp64_off, h_ldp64_pre, h_ldp64_post}};
    o->fn = f[o->op == EMU_OP_LDPSW ? 1 : a->sf ? 2 : 0][m];
  } else {
    o->rd = reg_zr(a->rt);
    o->ra = reg_zr(a->rt2);
    static const emu_fn f[2][3] = {{h_stp32_off, h_stp32_pre, h_stp32_post},
                                   {h_stp64_off, h_stp64_pre, h_stp64_post}};
    o->fn = f[a->sf][m];
  }
  return DEC_OK;
}

/* ---- exec helpers (emu_exec_helper[op]) ---- */

void emu_exec_ldst(struct emu_cpu *cpu, const struct emu_insn *in) {
  bool store = in->op == EMU_OP_STR_UIMM || in->op == EMU_OP_STUR ||
               in->op == EMU_OP_STR_POST || in->op == EMU_OP_STTR ||
               in->op == EMU_OP_STR_PRE || in->op == EMU_OP_STR_REG;
  bool unpriv =
      in->op == EMU_OP_STTR || in->op == EMU_OP_LDTR || in->op == EMU_OP_LDTRS;
  if (unpriv)
    unpriv_check(cpu, in, store);
  if (store)
    st_sems[in->c][ldst_mode(in->op)](cpu, in);
  else
    ld_sems[in->c][ldst_mode(in->op)](cpu, in);
}
void emu_exec_ldst_reg(struct emu_cpu *cpu, const struct emu_insn *in) {
  emu_exec_ldst(cpu, in);
}
void emu_exec_prfm(struct emu_cpu *cpu, const struct emu_insn *in) {
  (void)cpu;
  (void)in;
}
void emu_exec_prfm_reg(struct emu_cpu *cpu, const struct emu_insn *in) {
  (void)cpu;
  (void)in;
}
void emu_exec_lit(struct emu_cpu *cpu, const struct emu_insn *in) {
  if (in->op != EMU_OP_PRFM_LIT)
    ld_sems[in->c][M_OFF](cpu, in);
}
void emu_exec_pair(struct emu_cpu *cpu, const struct emu_insn *in) {
  static const emu_exec_fn ldp[3][3] = {
      {e_ldp32_off, e_ldp32_pre, e_ldp32_post},
      {e_ldpsw_off, e_ldpsw_pre, e_ldpsw_post},
      {e_ldp64_off, e_ldp64_pre, e_ldp64_post}};
  static const emu_exec_fn stp[2][3] = {
      {e_stp32_off, e_stp32_pre, e_stp32_post},
      {e_stp64_off, e_stp64_pre, e_stp64_post}};
  if (in->op == EMU_OP_STP)
    stp[in->sf][in->c](cpu, in);
  else
    ldp[in->op == EMU_OP_LDPSW ? 1 : in->sf ? 2 : 0][in->c](cpu, in);
}
