/* simd_ldst.c — SIMD&FP loads and stores: LDR/STR (B/H/S/D/Q; unsigned
 * offset, pre/post-index, unscaled LDUR/STUR, register offset with extend,
 * literal), LDP/STP/LDNP/STNP of S/D/Q, and the AdvSIMD structure
 * accesses LD1-LD4/ST1-ST4 (multiple structures, single structure,
 * LD1R-LD4R, with and without post-index).
 *
 * Operand fields: rd = Vt, ra = Vt2 (pairs), rn = base (31 = SP), rm =
 * offset or post-index register (31 = XZR), imm = byte offset / post
 * increment, c = access size in bytes, a = addressing mode (AM_*), b =
 * extend option, imm2 = register-offset shift; structures: see below.
 *
 * Every load completes before any register is written and multi-element
 * stores probe the whole range first, so a faulting instruction leaves no
 * partial effect on registers (emu_raise longjmps out).
 *
 * Runs on the vCPU thread; no shared state.
 */
#include "emu/decode.h"
#include "emu/mem.h"
#include "fpsimd_int.h"

enum { AM_OFF = 0, AM_PRE = 1, AM_POST = 2, AM_REG = 3, AM_LIT = 4 };

static inline uint64_t extend_reg(uint64_t v, unsigned option) {
  switch (option) {
  case 2:
    return (uint32_t)v; /* UXTW */
  case 6:
    return (uint64_t)(int64_t)(int32_t)v; /* SXTW */
  default:
    return v; /* LSL / SXTX */
  }
}

static inline uint64_t ea_of(struct emu_cpu *cpu, const struct emu_insn *in) {
  switch (in->a) {
  case AM_POST:
    return cpu->r[in->rn];
  case AM_REG:
    return cpu->r[in->rn] + (extend_reg(cpu->r[in->rm], in->b) << in->imm2);
  case AM_LIT:
    return in->pc + in->imm;
  default:
    return cpu->r[in->rn] + in->imm;
  }
}
static inline void writeback(struct emu_cpu *cpu, const struct emu_insn *in,
                             uint64_t va) {
  if (in->a == AM_PRE)
    cpu->r[in->rn] = va;
  else if (in->a == AM_POST)
    cpu->r[in->rn] = va + in->imm;
}

static inline __attribute__((always_inline)) uint64_t
ea_mode(struct emu_cpu *cpu, const struct emu_insn *in, int mode) {
  switch (mode) {
  case AM_POST:
    return cpu->r[in->rn];
  case AM_REG:
    return cpu->r[in->rn] + (extend_reg(cpu->r[in->rm], in->b) << in->imm2);
  case AM_LIT:
    return in->pc + in->imm;
  default:
    return cpu->r[in->rn] + in->imm;
  }
}
static inline __attribute__((always_inline)) void
wb_mode(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t va, int mode) {
  if (mode == AM_PRE)
    cpu->r[in->rn] = va;
  else if (mode == AM_POST)
    cpu->r[in->rn] = va + in->imm;
}

static inline void set_v(struct emu_cpu *cpu, unsigned t, unsigned size,
                         unsigned __int128 v) {
  emu_vreg *r = &cpu->v[t];
  switch (size) {
  case 1:
    r->q = (uint8_t)v;
    break;
  case 2:
    r->q = (uint16_t)v;
    break;
  case 4:
    r->q = (uint32_t)v;
    break;
  case 8:
    r->q = (uint64_t)v;
    break;
  default:
    r->q = v;
    break;
  }
}

static inline __attribute__((always_inline)) unsigned __int128
ld_sz(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t va,
      unsigned size) {
  switch (size) {
  case 1:
    return emu_ld8(cpu, in, va);
  case 2:
    return emu_ld16(cpu, in, va);
  case 4:
    return emu_ld32(cpu, in, va);
  case 8:
    return emu_ld64(cpu, in, va);
  default:
    return emu_ld128(cpu, in, va);
  }
}
static inline __attribute__((always_inline)) void
st_sz(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t va,
      unsigned size, unsigned __int128 v) {
  switch (size) {
  case 1:
    emu_st8(cpu, in, va, (uint8_t)v);
    break;
  case 2:
    emu_st16(cpu, in, va, (uint16_t)v);
    break;
  case 4:
    emu_st32(cpu, in, va, (uint32_t)v);
    break;
  case 8:
    emu_st64(cpu, in, va, (uint64_t)v);
    break;
  default:
    emu_st128(cpu, in, va, v);
    break;
  }
}

/* ---- single register ------------------------------------------------------
 */

/* One handler per access size and addressing mode, so that the size and
 * mode switches fold away (ea_of with a constant mode). */
#define LDR_STR_MODE(sz, mode, AM)                                             \
  static FPS_HANDLER(h_ldr_##sz##_##mode) {                                    \
    uint64_t va = ea_mode(cpu, in, AM);                                        \
    unsigned __int128 v = ld_sz(cpu, in, va, sz);                              \
    set_v(cpu, in->rd, sz, v);                                                 \
    wb_mode(cpu, in, va, AM);                                                  \
    return in + 1;                                                             \
  }                                                                            \
  static FPS_HANDLER(h_str_##sz##_##mode) {                                    \
    uint64_t va = ea_mode(cpu, in, AM);                                        \
    st_sz(cpu, in, va, sz, cpu->v[in->rd].q);                                  \
    wb_mode(cpu, in, va, AM);                                                  \
    return in + 1;                                                             \
  }
#define LDR_STR(sz)                                                            \
  LDR_STR_MODE(sz, off, AM_OFF)                                                \
  LDR_STR_MODE(sz, pre, AM_PRE)                                                \
  LDR_STR_MODE(sz, post, AM_POST)                                              \
  LDR_STR_MODE(sz, reg, AM_REG)                                                \
  LDR_STR_MODE(sz, lit, AM_LIT)
LDR_STR(1)
LDR_STR(2)
LDR_STR(4)
LDR_STR(8)
LDR_STR(16)

#define FN_ROW(sz)                                                             \
  {                                                                            \
    {h_str_##sz##_off, h_str_##sz##_pre, h_str_##sz##_post, h_str_##sz##_reg,  \
     h_str_##sz##_lit},                                                        \
    {                                                                          \
      h_ldr_##sz##_off, h_ldr_##sz##_pre, h_ldr_##sz##_post, h_ldr_##sz##_reg, \
          h_ldr_##sz##_lit                                                     \
    }                                                                          \
  }
static const emu_fn ldr_str_tab[5][2][5] = {FN_ROW(1), FN_ROW(2), FN_ROW(4),
                                            FN_ROW(8), FN_ROW(16)};

static emu_fn ldr_str_fn(unsigned size, bool load, unsigned mode) {
  return ldr_str_tab[__builtin_ctz(size)][load][mode];
}

/* ---- pairs ------------------------------------------------------------- */

#define LDP_STP(sz)                                                            \
  static FPS_HANDLER(h_ldp_##sz) {                                             \
    uint64_t va = ea_of(cpu, in);                                              \
    unsigned __int128 v1 = ld_sz(cpu, in, va, sz);                             \
    unsigned __int128 v2 = ld_sz(cpu, in, va + sz, sz);                        \
    set_v(cpu, in->rd, sz, v1);                                                \
    set_v(cpu, in->ra, sz, v2);                                                \
    writeback(cpu, in, va);                                                    \
    return in + 1;                                                             \
  }                                                                            \
  static FPS_HANDLER(h_stp_##sz) {                                             \
    uint64_t va = ea_of(cpu, in);                                              \
    /* both halves or neither */                                               \
    if (!emu_in_page(va, 2 * sz))                                              \
      emu_probe(cpu, in, va, 2 * sz, EMU_WRITE);                               \
    st_sz(cpu, in, va, sz, cpu->v[in->rd].q);                                  \
    st_sz(cpu, in, va + sz, sz, cpu->v[in->ra].q);                             \
    writeback(cpu, in, va);                                                    \
    return in + 1;                                                             \
  }
LDP_STP(4)
LDP_STP(8)
LDP_STP(16)

/* ---- structures ------------------------------------------------------------
 * Fields: rd = Vt, rn = base, ra = post-index register (resolved, 31 = XZR
 * never occurs: that form uses imm), sf = 0 none / 1 imm / 2 register,
 * imm = post increment for sf = 1, a = number of registers (multiple) or
 * selem (single), b = log2 element size, c = Q (multiple) or lane index
 * (single), imm2 = 1 for the interleaved LDn/STn forms (multiple).
 */

static inline void struct_wb(struct emu_cpu *cpu, const struct emu_insn *in,
                             uint64_t base) {
  if ((in->sf & 3) == 1)
    cpu->r[in->rn] = base + in->imm;
  else if ((in->sf & 3) == 2)
    cpu->r[in->rn] = base + cpu->r[in->ra];
}

static void mem_read(struct emu_cpu *cpu, const struct emu_insn *in,
                     uint64_t va, uint8_t *buf, unsigned len) {
  const void *p = emu_host_range(cpu, in, va, len, EMU_READ);
  if (p) {
    memcpy(buf, p, len);
    return;
  }
  for (unsigned i = 0; i < len; i++)
    buf[i] = emu_ld8(cpu, in, va + i);
}
static void mem_write(struct emu_cpu *cpu, const struct emu_insn *in,
                      uint64_t va, const uint8_t *buf, unsigned len) {
  void *p = emu_host_range(cpu, in, va, len, EMU_WRITE);
  if (p) {
    memcpy(p, buf, len);
    return;
  }
  emu_probe(cpu, in, va, len, EMU_WRITE);
  for (unsigned i = 0; i < len; i++)
    emu_st8(cpu, in, va + i, buf[i]);
}

static FPS_HANDLER(h_ldst_multi) {
  uint64_t base = cpu->r[in->rn];
  unsigned regs = in->a, esize = 1u << in->b;
  unsigned vbytes = in->c ? 16 : 8;
  unsigned len = regs * vbytes;
  bool load = in->sf & 4;
  uint8_t buf[64];
  emu_vreg tmp[4];
  if (load) {
    mem_read(cpu, in, base, buf, len);
    if (!in->imm2) { /* LD1: consecutive registers */
      for (unsigned r = 0; r < regs; r++) {
        memset(&tmp[r], 0, 16);
        memcpy(&tmp[r], buf + r * vbytes, vbytes);
      }
    } else {
      unsigned elems = vbytes / esize;
      for (unsigned r = 0; r < regs; r++)
        memset(&tmp[r], 0, 16);
      for (unsigned e = 0; e < elems; e++)
        for (unsigned r = 0; r < regs; r++)
          memcpy(&tmp[r].b[e * esize], buf + (e * regs + r) * esize, esize);
    }
    for (unsigned r = 0; r < regs; r++)
      cpu->v[(in->rd + r) & 31] = tmp[r];
  } else {
    if (!in->imm2) {
      for (unsigned r = 0; r < regs; r++)
        memcpy(buf + r * vbytes, &cpu->v[(in->rd + r) & 31], vbytes);
    } else {
      unsigned elems = vbytes / esize;
      for (unsigned e = 0; e < elems; e++)
        for (unsigned r = 0; r < regs; r++)
          memcpy(buf + (e * regs + r) * esize,
                 &cpu->v[(in->rd + r) & 31].b[e * esize], esize);
    }
    mem_write(cpu, in, base, buf, len);
  }
  struct_wb(cpu, in, base);
  return in + 1;
}

static FPS_HANDLER(h_ldst_single) {
  uint64_t base = cpu->r[in->rn];
  unsigned selem = in->a, esize = 1u << in->b, idx = in->c;
  unsigned len = selem * esize;
  uint8_t buf[32];
  if (in->sf & 4) {
    mem_read(cpu, in, base, buf, len);
    for (unsigned r = 0; r < selem; r++)
      memcpy(&cpu->v[(in->rd + r) & 31].b[idx * esize], buf + r * esize, esize);
  } else {
    for (unsigned r = 0; r < selem; r++)
      memcpy(buf + r * esize, &cpu->v[(in->rd + r) & 31].b[idx * esize], esize);
    mem_write(cpu, in, base, buf, len);
  }
  struct_wb(cpu, in, base);
  return in + 1;
}

static FPS_HANDLER(h_ld_rep) {
  uint64_t base = cpu->r[in->rn];
  unsigned selem = in->a, esize = 1u << in->b;
  unsigned vbytes = in->c ? 16 : 8;
  uint8_t buf[32];
  mem_read(cpu, in, base, buf, selem * esize);
  for (unsigned r = 0; r < selem; r++) {
    emu_vreg v;
    memset(&v, 0, sizeof v);
    for (unsigned o = 0; o < vbytes; o += esize)
      memcpy(&v.b[o], buf + r * esize, esize);
    cpu->v[(in->rd + r) & 31] = v;
  }
  struct_wb(cpu, in, base);
  return in + 1;
}

static bool decode_struct(struct emu_insn *out, uint32_t raw) {
  unsigned Q = (raw >> 30) & 1, L = (raw >> 22) & 1;
  bool post = (raw >> 23) & 1;
  unsigned rm = (raw >> 16) & 31, opcode = (raw >> 12) & 15;
  unsigned size = (raw >> 10) & 3, rn = (raw >> 5) & 31, rt = raw & 31;
  bool single = (raw >> 24) & 1;
  if (!post && rm != 0)
    return false;
  out->rd = (uint8_t)rt;
  out->rn = fps_xsp(rn);
  out->sf = 0;
  unsigned total;
  if (!single) {
    if ((raw >> 21) & 1)
      return false;
    unsigned regs, inter;
    switch (opcode) {
    case 0:
      regs = 4, inter = 1;
      break;
    case 2:
      regs = 4, inter = 0;
      break;
    case 4:
      regs = 3, inter = 1;
      break;
    case 6:
      regs = 3, inter = 0;
      break;
    case 7:
      regs = 1, inter = 0;
      break;
    case 8:
      regs = 2, inter = 1;
      break;
    case 10:
      regs = 2, inter = 0;
      break;
    default:
      return false;
    }
    if (inter && size == 3 && !Q)
      return false;
    out->a = (uint8_t)regs;
    out->b = (uint8_t)size;
    out->c = (uint8_t)Q;
    out->imm2 = inter;
    out->fn = h_ldst_multi;
    total = regs * (Q ? 16 : 8);
  } else {
    unsigned R = (raw >> 21) & 1, S = (raw >> 12) & 1;
    unsigned op3 = (opcode >> 1) & 7; /* opcode bits 15:13 */
    unsigned selem = (((op3 & 1) << 1) | R) + 1;
    unsigned scale = op3 >> 1, index = 0;
    switch (scale) {
    case 0:
      index = (Q << 3) | (S << 2) | size;
      break;
    case 1:
      if (size & 1)
        return false;
      index = (Q << 2) | (S << 1) | (size >> 1);
      break;
    case 2:
      if (size & 2)
        return false;
      if (size & 1) {
        if (S)
          return false;
        index = Q;
        scale = 3;
      } else {
        index = (Q << 1) | S;
      }
      break;
    case 3:
      if (!L || S)
        return false;
      scale = size;
      break;
    }
    out->a = (uint8_t)selem;
    out->b = (uint8_t)scale;
    if (op3 >= 6) {
      out->c = (uint8_t)Q;
      out->fn = h_ld_rep;
    } else {
      out->c = (uint8_t)index;
      out->fn = h_ldst_single;
    }
    total = selem << scale;
  }
  if (post) {
    if (rm == 31) {
      out->sf = 1;
      out->imm = total;
    } else {
      out->sf = 2;
      out->ra = (uint8_t)rm;
    }
  }
  if (L)
    out->sf |= 4;
  return true;
}

/* ---- decode functions (isa/simd_ldst.decode) ------------------------------
 * The generator has matched the instruction's pattern and set out->op;
 * these check what the fields cannot (reserved sizes, arrangements and
 * addressing) and pick the handler. */

int emu_dec_simd_ldst_struct(struct emu_insn *out,
                             const struct emu_args_simd_ls *a) {
  (void)a;
  return decode_struct(out, out->raw) ? DEC_OK : DEC_UNDEF;
}

/* The SIMD&FP register forms: literal, pairs and single registers. */
int emu_dec_simd_ldst(struct emu_insn *out, const struct emu_args_simd_lsr *a) {
  uint32_t raw = out->raw;
  out->rd = (uint8_t)a->rt;
  out->rn = fps_xsp((raw >> 5) & 31); /* the literal's too, as before */
  if (out->op == EMU_OP_LDR_F_LIT) {
    unsigned opc = a->size; /* 32, 64, 128 bits */
    if (opc == 3)
      return DEC_UNDEF;
    out->c = (uint8_t)(4u << opc);
    out->a = AM_LIT;
    out->imm =
        (uint64_t)((int64_t)((uint64_t)((raw >> 5) & 0x7ffff) << 45) >> 43);
    out->fn = ldr_str_fn(out->c, true, AM_LIT);
    return DEC_OK;
  }
  if (out->op >= EMU_OP_STNP_F && out->op <= EMU_OP_LDP_F_PRE) {
    unsigned opc = a->size, mode = (raw >> 23) & 3, L = (raw >> 22) & 1;
    if (opc == 3)
      return DEC_UNDEF;
    unsigned size = 4u << opc;
    out->c = (uint8_t)size;
    out->ra = (raw >> 10) & 31;
    int64_t imm7 = (int64_t)((uint64_t)((raw >> 15) & 0x7f) << 57) >> 57;
    out->imm = (uint64_t)(imm7 * (int64_t)size);
    /* mode 00 (LDNP/STNP: the hint changes nothing here) and 10: offset */
    out->a = mode == 1 ? AM_POST : mode == 3 ? AM_PRE : AM_OFF;
    out->fn = size == 4   ? (L ? h_ldp_4 : h_stp_4)
              : size == 8 ? (L ? h_ldp_8 : h_stp_8)
                          : (L ? h_ldp_16 : h_stp_16);
    return DEC_OK;
  }
  /* single register: size 31:30, opc 23:22 */
  unsigned sz = a->size, opc = (raw >> 22) & 3;
  unsigned size;
  bool load = opc & 1;
  if (opc & 2) {
    if (sz != 0)
      return DEC_UNDEF;
    size = 16;
  } else {
    size = 1u << sz;
  }
  out->c = (uint8_t)size;
  switch (out->op) {
  case EMU_OP_STR_F_UIMM:
  case EMU_OP_LDR_F_UIMM:
    out->a = AM_OFF;
    out->imm = (uint64_t)((raw >> 10) & 0xfff) * size;
    break;
  case EMU_OP_STR_F_REG:
  case EMU_OP_LDR_F_REG: {
    unsigned option = (raw >> 13) & 7;
    if (!(option & 2))
      return DEC_UNDEF;
    out->a = AM_REG;
    out->b = (uint8_t)option;
    out->rm = (uint8_t)a->rm;
    unsigned shift = size == 1 ? 0 : (unsigned)__builtin_ctz(size);
    out->imm2 = ((raw >> 12) & 1) ? shift : 0;
    break;
  }
  default: { /* unscaled, post- and pre-index: imm9 */
    int64_t imm9 = (int64_t)((uint64_t)((raw >> 12) & 0x1ff) << 55) >> 55;
    out->imm = (uint64_t)imm9;
    unsigned mode = (raw >> 10) & 3;
    out->a = mode == 1 ? AM_POST : mode == 3 ? AM_PRE : AM_OFF;
    break;
  }
  }
  out->fn = ldr_str_fn(size, load, out->a);
  return DEC_OK;
}
