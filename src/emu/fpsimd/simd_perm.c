/* simd_perm.c — AdvSIMD moves and permutes: DUP/INS/UMOV/SMOV (vector and
 * scalar copy), MOVI/MVNI/ORR/BIC/FMOV (modified immediate), ZIP1/2,
 * UZP1/2, TRN1/2, EXT, TBL/TBX.
 *
 * Operand fields: rd/rn/rm = V registers (or resolved GPR for the
 * general-register side), b = log2 element size, c = Q, imm / imm2 =
 * lane indices or the expanded immediate, a = permute kind / table length.
 *
 * Runs on the vCPU thread; no shared state.
 */
#include "emu/decode.h"
#include "fpsimd_int.h"

static inline uint64_t rep64(uint64_t x, unsigned s) {
  switch (s) {
  case 0:
    return (x & 0xff) * 0x0101010101010101ull;
  case 1:
    return (x & 0xffff) * 0x0001000100010001ull;
  case 2:
    return (x & 0xffffffffull) * 0x0000000100000001ull;
  default:
    return x;
  }
}

/* ---- copy ------------------------------------------------------------- */

static FPS_HANDLER(h_dup_elem) {
  uint64_t x =
      rep64(lane_get(&cpu->v[in->rn], in->b, (unsigned)in->imm), in->b);
  cpu->v[in->rd].d[0] = x;
  cpu->v[in->rd].d[1] = in->c ? x : 0;
  return in + 1;
}
static FPS_HANDLER(h_dup_scalar) {
  uint64_t x = lane_get(&cpu->v[in->rn], in->b, (unsigned)in->imm);
  fps_set_scalar(cpu, in->rd, 8 << in->b, x);
  return in + 1;
}
static FPS_HANDLER(h_dup_gen) {
  uint64_t x = rep64(cpu->r[in->rn], in->b);
  cpu->v[in->rd].d[0] = x;
  cpu->v[in->rd].d[1] = in->c ? x : 0;
  return in + 1;
}
static FPS_HANDLER(h_ins_gen) {
  lane_set(&cpu->v[in->rd], in->b, (unsigned)in->imm, cpu->r[in->rn]);
  return in + 1;
}
static FPS_HANDLER(h_ins_elem) {
  uint64_t x = lane_get(&cpu->v[in->rn], in->b, (unsigned)in->imm2);
  lane_set(&cpu->v[in->rd], in->b, (unsigned)in->imm, x);
  return in + 1;
}
static FPS_HANDLER(h_umov) {
  cpu->r[in->rd] = lane_get(&cpu->v[in->rn], in->b, (unsigned)in->imm);
  return in + 1;
}
static FPS_HANDLER(h_smov) {
  uint64_t x = lane_get(&cpu->v[in->rn], in->b, (unsigned)in->imm);
  unsigned sh = 64 - (8u << in->b);
  int64_t v = (int64_t)(x << sh) >> sh;
  cpu->r[in->rd] = in->c ? (uint64_t)v : (uint32_t)v;
  return in + 1;
}

static bool decode_copy(struct emu_insn *out, uint32_t raw, bool scalar) {
  unsigned Q = (raw >> 30) & 1, op = (raw >> 29) & 1;
  unsigned imm5 = (raw >> 16) & 31, imm4 = (raw >> 11) & 15;
  unsigned rd = raw & 31, rn = (raw >> 5) & 31;
  if ((imm5 & 15) == 0)
    return false;
  unsigned s = (unsigned)__builtin_ctz(imm5);
  out->b = (uint8_t)s;
  out->c = (uint8_t)Q;
  out->imm = imm5 >> (s + 1);
  out->rd = (uint8_t)rd;
  out->rn = (uint8_t)rn;
  if (scalar) {
    if (op || imm4)
      return false;
    out->fn = h_dup_scalar;
    return true;
  }
  if (op) {
    if (!Q)
      return false;
    out->imm2 = imm4 >> s;
    out->fn = h_ins_elem;
    return true;
  }
  switch (imm4) {
  case 0:
    if (s == 3 && !Q)
      return false;
    out->fn = h_dup_elem;
    return true;
  case 1:
    if (s == 3 && !Q)
      return false;
    out->rn = fps_xr(rn);
    out->fn = h_dup_gen;
    return true;
  case 3:
    if (!Q)
      return false;
    out->rn = fps_xr(rn);
    out->fn = h_ins_gen;
    return true;
  case 5:
    if (s >= 2 + Q)
      return false;
    out->rd = fps_xw(rd);
    out->fn = h_smov;
    return true;
  case 7:
    if (Q ? s != 3 : s == 3)
      return false;
    out->rd = fps_xw(rd);
    out->fn = h_umov;
    return true;
  }
  return false;
}

/* ---- modified immediate ----------------------------------------------------
 */

static FPS_HANDLER(h_movi) {
  cpu->v[in->rd].d[0] = in->imm;
  cpu->v[in->rd].d[1] = in->c ? in->imm : 0;
  return in + 1;
}
static FPS_HANDLER(h_orr_imm) {
  cpu->v[in->rd].d[0] |= in->imm;
  cpu->v[in->rd].d[1] = in->c ? cpu->v[in->rd].d[1] | in->imm : 0;
  return in + 1;
}
static FPS_HANDLER(h_and_imm) {
  cpu->v[in->rd].d[0] &= in->imm;
  cpu->v[in->rd].d[1] = in->c ? cpu->v[in->rd].d[1] & in->imm : 0;
  return in + 1;
}

static bool decode_modimm(struct emu_insn *out, uint32_t raw) {
  unsigned Q = (raw >> 30) & 1, op = (raw >> 29) & 1;
  unsigned cmode = (raw >> 12) & 15;
  uint64_t imm8 = ((raw >> 11) & 0xe0) | ((raw >> 5) & 0x1f);
  if ((raw >> 11) & 1) /* o2: FMOV half (FEAT_FP16) */
    return false;
  uint64_t imm;
  enum { SET, ORR, BIC } kind = SET;
  bool invert = false;
  switch (cmode >> 1) {
  case 0:
  case 1:
  case 2:
  case 3:
    imm = rep64(imm8 << (8 * (cmode >> 1)), 2);
    if (cmode & 1)
      kind = op ? BIC : ORR;
    else
      invert = op;
    break;
  case 4:
  case 5:
    imm = rep64(imm8 << (8 * ((cmode >> 1) & 1)), 1);
    if (cmode & 1)
      kind = op ? BIC : ORR;
    else
      invert = op;
    break;
  case 6:
    imm = (cmode & 1) ? (imm8 << 16) | 0xffff : (imm8 << 8) | 0xff;
    imm = rep64(imm, 2);
    invert = op;
    break;
  default:
    if (!(cmode & 1)) {
      if (!op) {
        imm = rep64(imm8, 0);
      } else {
        imm = 0;
        for (int i = 0; i < 8; i++)
          if ((imm8 >> i) & 1)
            imm |= 0xffull << (8 * i);
      }
    } else if (!op) {
      imm = rep64(fp_expand_imm(32, (uint8_t)imm8), 2);
    } else {
      if (!Q)
        return false;
      imm = fp_expand_imm(64, (uint8_t)imm8);
    }
    break;
  }
  out->rd = raw & 31;
  out->c = (uint8_t)Q;
  switch (kind) {
  case SET:
    out->imm = invert ? ~imm : imm;
    out->fn = h_movi;
    break;
  case ORR:
    out->imm = imm;
    out->fn = h_orr_imm;
    break;
  case BIC:
    out->imm = ~imm;
    out->fn = h_and_imm;
    break;
  }
  return true;
}

/* ---- permutes ------------------------------------------------------------ */

enum { P_UZP1 = 1, P_TRN1 = 2, P_ZIP1 = 3, P_UZP2 = 5, P_TRN2 = 6, P_ZIP2 = 7 };

static FPS_HANDLER(h_perm) {
  const emu_vreg n = cpu->v[in->rn], m = cpu->v[in->rm];
  emu_vreg r;
  unsigned s = in->b, elems = (in->c ? 16u : 8u) >> s, half = elems / 2;
  memset(&r, 0, sizeof r);
  unsigned part = in->a >> 2; /* 0: ...1, 1: ...2 */
  switch (in->a & 3) {
  case 1: /* UZP */
    for (unsigned i = 0; i < elems; i++) {
      unsigned k = 2 * i + part;
      lane_set(&r, s, i,
               k < elems ? lane_get(&n, s, k) : lane_get(&m, s, k - elems));
    }
    break;
  case 2: /* TRN */
    for (unsigned p = 0; p < half; p++) {
      lane_set(&r, s, 2 * p, lane_get(&n, s, 2 * p + part));
      lane_set(&r, s, 2 * p + 1, lane_get(&m, s, 2 * p + part));
    }
    break;
  case 3: /* ZIP */
    for (unsigned p = 0; p < half; p++) {
      lane_set(&r, s, 2 * p, lane_get(&n, s, p + part * half));
      lane_set(&r, s, 2 * p + 1, lane_get(&m, s, p + part * half));
    }
    break;
  }
  cpu->v[in->rd] = r;
  return in + 1;
}

static FPS_HANDLER(h_ext) {
  const emu_vreg n = cpu->v[in->rn], m = cpu->v[in->rm];
  emu_vreg r;
  unsigned bytes = in->c ? 16 : 8, pos = (unsigned)in->imm;
  memset(&r, 0, sizeof r);
  for (unsigned i = 0; i < bytes; i++)
    r.b[i] = i + pos < bytes ? n.b[i + pos] : m.b[i + pos - bytes];
  cpu->v[in->rd] = r;
  return in + 1;
}

static FPS_HANDLER(h_tbl) {
  uint8_t table[64];
  unsigned regs = in->a, bytes = in->c ? 16 : 8;
  for (unsigned i = 0; i < regs; i++)
    memcpy(table + 16 * i, &cpu->v[(in->rn + i) & 31], 16);
  const emu_vreg m = cpu->v[in->rm];
  emu_vreg r;
  if (in->imm) /* TBX keeps out-of-range lanes */
    r = cpu->v[in->rd];
  else
    memset(&r, 0, sizeof r);
  for (unsigned i = 0; i < bytes; i++)
    if (m.b[i] < 16 * regs)
      r.b[i] = table[m.b[i]];
  if (!in->c)
    r.d[1] = 0;
  cpu->v[in->rd] = r;
  return in + 1;
}

/* ---- decode functions (isa/simd.decode: copy, modified immediate,
 * permute, extract, table lookup) ----------------------------------------- */

int emu_dec_simd_copy(struct emu_insn *out, const struct emu_args_simd_cp *a) {
  (void)a;
  return decode_copy(out, out->raw, simd_scalar(out)) ? DEC_OK : DEC_UNDEF;
}

int emu_dec_simd_modimm(struct emu_insn *out,
                        const struct emu_args_simd_imm *a) {
  (void)a;
  return decode_modimm(out, out->raw) ? DEC_OK : DEC_UNDEF;
}

int emu_dec_simd_perm(struct emu_insn *out, const struct emu_args_simd *a) {
  simd_prep(out);
  switch (out->op) {
  case EMU_OP_EXT:
    if (!a->q && (out->raw & (1u << 14))) /* imm4 >= 8 with 64 bits */
      return DEC_UNDEF;
    out->imm = (out->raw >> 11) & 15;
    out->fn = h_ext;
    return DEC_OK;
  case EMU_OP_TBL:
  case EMU_OP_TBX:
    out->a = (uint8_t)(((out->raw >> 13) & 3) + 1); /* registers */
    out->imm = out->op == EMU_OP_TBX;
    out->fn = h_tbl;
    return DEC_OK;
  default: /* UZP1/2, TRN1/2, ZIP1/2: a = opcode */
    if (a->size == 3 && !a->q)
      return DEC_UNDEF;
    out->a = (uint8_t)((out->raw >> 12) & 7);
    out->fn = h_perm;
    return DEC_OK;
  }
}
