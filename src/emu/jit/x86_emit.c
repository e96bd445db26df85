/* x86_emit.c — the x86-64 encoder (see x86_emit.h for the conventions).
 * Two generic encoders do the work: enc() for legacy/REX instructions and
 * vex() for VEX ones; every emitter maps its operands onto one of them.
 *
 * Runs on the thread that owns the struct xe_buf; no shared state.
 * xe_patch_jmp writes code other threads may run: one aligned atomic store.
 */
#include "emu/jit/x86_emit.h"

#include <errno.h>
#include <string.h>

/* enc() flags */
#define F_W 0x01u    /* REX.W */
#define F_66 0x02u   /* operand-size (or SSE mandatory) prefix */
#define F_F2 0x04u   /* mandatory prefix F2 */
#define F_F3 0x08u   /* mandatory prefix F3 */
#define F_LOCK 0x10u /* F0 */
#define F_BREG 0x20u /* ModRM.reg names an 8-bit register */
#define F_BRM 0x40u  /* ModRM.rm register names an 8-bit register */

/* opcode maps */
#define MAP_1 0 /* one-byte opcodes */
#define MAP_0F 1
#define MAP_0F38 2
#define MAP_0F3A 3

void xe_init(struct xe_buf *b, void *mem, size_t cap, uint64_t exec) {
  b->p = mem;
  b->cap = mem ? cap : 0;
  b->len = 0;
  b->exec = exec;
  b->err = NULL;
  b->full = false;
}

void xe_fail(struct xe_buf *b, const char *reason) {
  if (!b->err)
    b->err = reason;
}

static void put8(struct xe_buf *b, uint8_t v) {
  if (b->err)
    return;
  if (b->len >= b->cap) {
    xe_fail(b, "code buffer full");
    b->full = true;
    return;
  }
  b->p[b->len++] = v;
}

static void put_le(struct xe_buf *b, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    put8(b, (uint8_t)(v >> (8 * i)));
}

void xe_bytes(struct xe_buf *b, const void *data, size_t n) {
  const uint8_t *d = data;
  for (size_t i = 0; i < n; i++)
    put8(b, d[i]);
}

static bool fits8(int64_t v) { return v >= -128 && v <= 127; }
static bool fits32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

static bool gpr_ok(struct xe_buf *b, int r) {
  if (r < 0 || r > 15) {
    xe_fail(b, "invalid register operand");
    return false;
  }
  return true;
}

/* Operand-size flags for sz, for the "8-bit opcode / full opcode" pairs;
 * returns false (and fails) for a size the caller does not allow. */
static bool size_flags(struct xe_buf *b, unsigned sz, unsigned allowed,
                       unsigned *flags) {
  if (!(sz == 8 || sz == 16 || sz == 32 || sz == 64) || !(allowed & sz)) {
    xe_fail(b, "invalid operand size");
    return false;
  }
  *flags = sz == 16 ? F_66 : sz == 64 ? F_W : 0;
  return true;
}
#define SZ_ALL (8u | 16u | 32u | 64u)
#define SZ_W (16u | 32u | 64u)
#define SZ_DQ (32u | 64u)

static bool mem_ok(struct xe_buf *b, const struct xe_mem *m) {
  if (m->base < XE_RIP || m->base > 15 || m->index < XE_NOREG ||
      m->index > 15) {
    xe_fail(b, "invalid register in memory operand");
    return false;
  }
  if (m->index == XE_RSP) {
    xe_fail(b, "rsp cannot be an index register");
    return false;
  }
  if (m->scale != 1 && m->scale != 2 && m->scale != 4 && m->scale != 8) {
    xe_fail(b, "memory operand scale must be 1, 2, 4 or 8");
    return false;
  }
  if (m->base == XE_RIP && m->index != XE_NOREG) {
    xe_fail(b, "a RIP-relative operand cannot have an index");
    return false;
  }
  return true;
}

static unsigned scale_bits(unsigned s) {
  return s == 1 ? 0 : s == 2 ? 1 : s == 4 ? 2 : 3;
}

/* ModRM (+SIB, +displacement) for a memory operand; imm_len is the number
 * of immediate bytes that will follow (RIP-relative displacements count
 * from the end of the instruction). */
static void modrm_mem(struct xe_buf *b, unsigned reg, const struct xe_mem *m,
                      unsigned imm_len) {
  unsigned r = (reg & 7) << 3;
  if (m->base == XE_RIP) {
    put8(b, (uint8_t)(0x05 | r));
    int64_t rel = (int64_t)(m->target - (b->exec + b->len + 4 + imm_len));
    if (!fits32(rel)) {
      xe_fail(b, "RIP-relative target out of reach (beyond 2 GiB)");
      return;
    }
    put_le(b, (uint32_t)rel, 4);
    return;
  }
  unsigned idx = m->index == XE_NOREG ? 4 : (unsigned)m->index & 7;
  uint8_t sib = (uint8_t)(scale_bits(m->scale) << 6 | idx << 3);
  if (m->base == XE_NOREG) {
    /* mod 00, rm 100, SIB base 101: [index*scale + disp32] or [disp32] */
    put8(b, (uint8_t)(0x04 | r));
    put8(b, (uint8_t)(sib | 5));
    put_le(b, (uint32_t)m->disp, 4);
    return;
  }
  unsigned base = (unsigned)m->base & 7;
  bool need_sib = m->index != XE_NOREG || base == 4; /* rsp, r12 */
  unsigned mod;
  if (m->disp == 0 && base != 5) /* rbp, r13 with mod 00 mean disp32 */
    mod = 0;
  else if (fits8(m->disp))
    mod = 1;
  else
    mod = 2;
  put8(b, (uint8_t)(mod << 6 | r | (need_sib ? 4 : base)));
  if (need_sib)
    put8(b, (uint8_t)(sib | base));
  if (mod == 1)
    put8(b, (uint8_t)m->disp);
  else if (mod == 2)
    put_le(b, (uint32_t)m->disp, 4);
}

static void opcode(struct xe_buf *b, unsigned map, uint8_t opc) {
  if (map == MAP_0F)
    put8(b, 0x0F);
  else if (map == MAP_0F38) {
    put8(b, 0x0F);
    put8(b, 0x38);
  } else if (map == MAP_0F3A) {
    put8(b, 0x0F);
    put8(b, 0x3A);
  }
  put8(b, opc);
}

/* A legacy-encoded instruction with a ModRM byte: reg is the ModRM.reg
 * register number or /digit (0..15); the r/m operand is register rm (m
 * NULL) or *m. imm_len: bytes of immediate the caller appends. */
static void enc(struct xe_buf *b, unsigned flags, unsigned map, uint8_t opc,
                unsigned reg, int rm, const struct xe_mem *m,
                unsigned imm_len) {
  if (b->err)
    return;
  if (reg > 15) {
    xe_fail(b, "invalid register operand");
    return;
  }
  if (m ? !mem_ok(b, m) : !gpr_ok(b, rm))
    return;
  uint8_t rex = 0;
  if (flags & F_W)
    rex |= 0x08;
  if (reg & 8)
    rex |= 0x04;
  if (m) {
    if (m->index >= 0 && (m->index & 8))
      rex |= 0x02;
    if (m->base >= 0 && (m->base & 8))
      rex |= 0x01;
  } else if (rm & 8) {
    rex |= 0x01;
  }
  bool need_rex = rex != 0 || ((flags & F_BREG) && reg >= 4 && reg <= 7) ||
                  ((flags & F_BRM) && !m && rm >= 4 && rm <= 7);
  if (flags & F_LOCK)
    put8(b, 0xF0);
  if (flags & F_66)
    put8(b, 0x66);
  if (flags & F_F2)
    put8(b, 0xF2);
  if (flags & F_F3)
    put8(b, 0xF3);
  if (need_rex)
    put8(b, 0x40 | rex);
  opcode(b, map, opc);
  if (m)
    modrm_mem(b, reg, m, imm_len);
  else
    put8(b, (uint8_t)(0xC0 | (reg & 7) << 3 | (rm & 7)));
}

/* A VEX-encoded instruction: pp 0 none, 1 66, 2 F3, 3 F2; vvvv the extra
 * source register (0 when unused). */
static void vex(struct xe_buf *b, unsigned pp, unsigned map, bool w, bool l,
                uint8_t opc, unsigned reg, unsigned vvvv, int rm,
                const struct xe_mem *m, unsigned imm_len) {
  if (b->err)
    return;
  if (reg > 15 || vvvv > 15) {
    xe_fail(b, "invalid register operand");
    return;
  }
  if (m ? !mem_ok(b, m) : !gpr_ok(b, rm))
    return;
  bool R = reg & 8, X = false, B = false;
  if (m) {
    X = m->index >= 0 && (m->index & 8);
    B = m->base >= 0 && (m->base & 8);
  } else {
    B = rm & 8;
  }
  uint8_t tail = (uint8_t)((~vvvv & 15) << 3 | (l ? 4 : 0) | pp);
  if (!X && !B && !w && map == MAP_0F) {
    put8(b, 0xC5);
    put8(b, (uint8_t)((R ? 0 : 0x80) | tail));
  } else {
    put8(b, 0xC4);
    put8(b, (uint8_t)((R ? 0 : 0x80) | (X ? 0 : 0x40) | (B ? 0 : 0x20) | map));
    put8(b, (uint8_t)((w ? 0x80 : 0) | tail));
  }
  put8(b, opc);
  if (m)
    modrm_mem(b, reg, m, imm_len);
  else
    put8(b, (uint8_t)(0xC0 | (reg & 7) << 3 | (rm & 7)));
}

/* An instruction with the register in the opcode (push, pop, bswap,
 * mov r, imm). */
static void enc_oreg(struct xe_buf *b, bool w, unsigned map, uint8_t opc,
                     int r) {
  if (b->err || !gpr_ok(b, r))
    return;
  uint8_t rex = (uint8_t)((w ? 0x08 : 0) | (r & 8 ? 0x01 : 0));
  if (rex)
    put8(b, 0x40 | rex);
  opcode(b, map, (uint8_t)(opc + (r & 7)));
}

/* ---- NOPs ---- */

static const uint8_t nops[9][9] = {
    {0x90},
    {0x66, 0x90},
    {0x0F, 0x1F, 0x00},
    {0x0F, 0x1F, 0x40, 0x00},
    {0x0F, 0x1F, 0x44, 0x00, 0x00},
    {0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00},
    {0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00},
    {0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
    {0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
};

void xe_nop(struct xe_buf *b, size_t n) {
  while (n > 0 && !b->err) {
    size_t k = n > 9 ? 9 : n;
    xe_bytes(b, nops[k - 1], k);
    n -= k;
  }
}

void xe_align(struct xe_buf *b, size_t align) {
  if (align == 0 || align > 64 || (align & (align - 1))) {
    xe_fail(b, "alignment must be a power of two up to 64");
    return;
  }
  xe_nop(b, (align - (xe_addr(b, b->len) & (align - 1))) & (align - 1));
}

/* ---- moves ---- */

void xe_mov_rr(struct xe_buf *b, unsigned sz, enum xe_reg dst,
               enum xe_reg src) {
  unsigned f;
  if (!size_flags(b, sz, SZ_ALL, &f))
    return;
  if (sz == 8)
    enc(b, F_BREG | F_BRM, MAP_1, 0x88, (unsigned)src, dst, NULL, 0);
  else
    enc(b, f, MAP_1, 0x89, (unsigned)src, dst, NULL, 0);
}

void xe_mov_ri_sz(struct xe_buf *b, unsigned sz, enum xe_reg dst,
                  uint64_t imm) {
  if (sz == 32) {
    enc_oreg(b, false, MAP_1, 0xB8, dst);
    put_le(b, (uint32_t)imm, 4);
  } else if (sz == 64) {
    enc_oreg(b, true, MAP_1, 0xB8, dst);
    put_le(b, imm, 8);
  } else {
    xe_fail(b, "invalid operand size");
  }
}

void xe_mov_ri(struct xe_buf *b, enum xe_reg dst, uint64_t imm) {
  if (imm <= UINT32_MAX) {
    xe_mov_ri_sz(b, 32, dst, imm);
  } else if (fits32((int64_t)imm)) {
    enc(b, F_W, MAP_1, 0xC7, 0, dst, NULL, 4);
    put_le(b, imm, 4);
  } else {
    xe_mov_ri_sz(b, 64, dst, imm);
  }
}

void xe_movzx_rr(struct xe_buf *b, enum xe_reg dst, unsigned ssz,
                 enum xe_reg src) {
  if (ssz == 8)
    enc(b, F_BRM, MAP_0F, 0xB6, (unsigned)dst, src, NULL, 0);
  else if (ssz == 16)
    enc(b, 0, MAP_0F, 0xB7, (unsigned)dst, src, NULL, 0);
  else if (ssz == 32)
    xe_mov_rr(b, 32, dst, src);
  else
    xe_fail(b, "invalid operand size");
}

void xe_movsx_rr(struct xe_buf *b, unsigned dsz, enum xe_reg dst, unsigned ssz,
                 enum xe_reg src) {
  unsigned w = dsz == 64 ? F_W : 0;
  if ((dsz != 32 && dsz != 64) || (ssz == 32 && dsz != 64))
    xe_fail(b, "invalid operand size");
  else if (ssz == 8)
    enc(b, w | F_BRM, MAP_0F, 0xBE, (unsigned)dst, src, NULL, 0);
  else if (ssz == 16)
    enc(b, w, MAP_0F, 0xBF, (unsigned)dst, src, NULL, 0);
  else if (ssz == 32)
    enc(b, F_W, MAP_1, 0x63, (unsigned)dst, src, NULL, 0);
  else
    xe_fail(b, "invalid operand size");
}

void xe_load(struct xe_buf *b, unsigned sz, enum xe_reg dst, struct xe_mem m) {
  if (sz == 8)
    enc(b, 0, MAP_0F, 0xB6, (unsigned)dst, 0, &m, 0);
  else if (sz == 16)
    enc(b, 0, MAP_0F, 0xB7, (unsigned)dst, 0, &m, 0);
  else if (sz == 32 || sz == 64)
    enc(b, sz == 64 ? F_W : 0, MAP_1, 0x8B, (unsigned)dst, 0, &m, 0);
  else
    xe_fail(b, "invalid operand size");
}

void xe_load_sx(struct xe_buf *b, unsigned dsz, enum xe_reg dst, unsigned ssz,
                struct xe_mem m) {
  unsigned w = dsz == 64 ? F_W : 0;
  if ((dsz != 32 && dsz != 64) || (ssz == 32 && dsz != 64))
    xe_fail(b, "invalid operand size");
  else if (ssz == 8)
    enc(b, w, MAP_0F, 0xBE, (unsigned)dst, 0, &m, 0);
  else if (ssz == 16)
    enc(b, w, MAP_0F, 0xBF, (unsigned)dst, 0, &m, 0);
  else if (ssz == 32)
    enc(b, F_W, MAP_1, 0x63, (unsigned)dst, 0, &m, 0);
  else
    xe_fail(b, "invalid operand size");
}

void xe_store(struct xe_buf *b, unsigned sz, struct xe_mem m, enum xe_reg src) {
  unsigned f;
  if (!size_flags(b, sz, SZ_ALL, &f))
    return;
  if (sz == 8)
    enc(b, F_BREG, MAP_1, 0x88, (unsigned)src, 0, &m, 0);
  else
    enc(b, f, MAP_1, 0x89, (unsigned)src, 0, &m, 0);
}

static unsigned imm_bytes(unsigned sz) {
  return sz == 8 ? 1 : sz == 16 ? 2 : 4;
}

void xe_store_imm(struct xe_buf *b, unsigned sz, struct xe_mem m, int32_t imm) {
  unsigned f;
  if (!size_flags(b, sz, SZ_ALL, &f))
    return;
  enc(b, f, MAP_1, sz == 8 ? 0xC6 : 0xC7, 0, 0, &m, imm_bytes(sz));
  put_le(b, (uint32_t)imm, imm_bytes(sz));
}

void xe_lea(struct xe_buf *b, unsigned sz, enum xe_reg dst, struct xe_mem m) {
  unsigned f;
  if (size_flags(b, sz, SZ_DQ, &f))
    enc(b, f, MAP_1, 0x8D, (unsigned)dst, 0, &m, 0);
}

void xe_xchg_rr(struct xe_buf *b, unsigned sz, enum xe_reg a, enum xe_reg c) {
  unsigned f;
  if (!size_flags(b, sz, SZ_ALL, &f))
    return;
  if (sz == 8)
    enc(b, F_BREG | F_BRM, MAP_1, 0x86, (unsigned)c, a, NULL, 0);
  else
    enc(b, f, MAP_1, 0x87, (unsigned)c, a, NULL, 0);
}

void xe_xchg_rm(struct xe_buf *b, unsigned sz, enum xe_reg r, struct xe_mem m) {
  unsigned f;
  if (!size_flags(b, sz, SZ_ALL, &f))
    return;
  enc(b, f | (sz == 8 ? F_BREG : 0), MAP_1, sz == 8 ? 0x86 : 0x87, (unsigned)r,
      0, &m, 0);
}

void xe_push(struct xe_buf *b, enum xe_reg r) {
  enc_oreg(b, false, MAP_1, 0x50, r);
}

void xe_pop(struct xe_buf *b, enum xe_reg r) {
  enc_oreg(b, false, MAP_1, 0x58, r);
}

static bool cc_ok(struct xe_buf *b, enum xe_cc cc) {
  if ((unsigned)cc > 15) {
    xe_fail(b, "invalid condition code");
    return false;
  }
  return true;
}

void xe_cmov(struct xe_buf *b, enum xe_cc cc, unsigned sz, enum xe_reg dst,
             enum xe_reg src) {
  unsigned f;
  if (cc_ok(b, cc) && size_flags(b, sz, SZ_W, &f))
    enc(b, f, MAP_0F, (uint8_t)(0x40 + cc), (unsigned)dst, src, NULL, 0);
}

void xe_cmov_rm(struct xe_buf *b, enum xe_cc cc, unsigned sz, enum xe_reg dst,
                struct xe_mem m) {
  unsigned f;
  if (cc_ok(b, cc) && size_flags(b, sz, SZ_W, &f))
    enc(b, f, MAP_0F, (uint8_t)(0x40 + cc), (unsigned)dst, 0, &m, 0);
}

void xe_setcc(struct xe_buf *b, enum xe_cc cc, enum xe_reg dst) {
  if (cc_ok(b, cc))
    enc(b, F_BRM, MAP_0F, (uint8_t)(0x90 + cc), 0, dst, NULL, 0);
}

/* ---- integer arithmetic ---- */

static bool alu_ok(struct xe_buf *b, enum xe_alu op) {
  if ((unsigned)op > 7) {
    xe_fail(b, "invalid ALU operation");
    return false;
  }
  return true;
}

void xe_alu_rr(struct xe_buf *b, enum xe_alu op, unsigned sz, enum xe_reg dst,
               enum xe_reg src) {
  unsigned f;
  if (!alu_ok(b, op) || !size_flags(b, sz, SZ_ALL, &f))
    return;
  uint8_t opc = (uint8_t)(op << 3 | (sz == 8 ? 0 : 1));
  enc(b, f | (sz == 8 ? F_BREG | F_BRM : 0), MAP_1, opc, (unsigned)src, dst,
      NULL, 0);
}

void xe_alu_rm(struct xe_buf *b, enum xe_alu op, unsigned sz, enum xe_reg dst,
               struct xe_mem m) {
  unsigned f;
  if (!alu_ok(b, op) || !size_flags(b, sz, SZ_ALL, &f))
    return;
  uint8_t opc = (uint8_t)(op << 3 | (sz == 8 ? 2 : 3));
  enc(b, f | (sz == 8 ? F_BREG : 0), MAP_1, opc, (unsigned)dst, 0, &m, 0);
}

void xe_alu_mr(struct xe_buf *b, enum xe_alu op, unsigned sz, struct xe_mem m,
               enum xe_reg src) {
  unsigned f;
  if (!alu_ok(b, op) || !size_flags(b, sz, SZ_ALL, &f))
    return;
  uint8_t opc = (uint8_t)(op << 3 | (sz == 8 ? 0 : 1));
  enc(b, f | (sz == 8 ? F_BREG : 0), MAP_1, opc, (unsigned)src, 0, &m, 0);
}

/* The 0x80/0x81/0x83 group on a register (m NULL) or memory. */
static void alu_imm(struct xe_buf *b, enum xe_alu op, unsigned sz, int r,
                    const struct xe_mem *m, int32_t imm) {
  unsigned f;
  if (!alu_ok(b, op) || !size_flags(b, sz, SZ_ALL, &f))
    return;
  if (sz == 8) {
    enc(b, F_BRM, MAP_1, 0x80, (unsigned)op, r, m, 1);
    put8(b, (uint8_t)imm);
  } else if (fits8(imm)) {
    enc(b, f, MAP_1, 0x83, (unsigned)op, r, m, 1);
    put8(b, (uint8_t)imm);
  } else {
    enc(b, f, MAP_1, 0x81, (unsigned)op, r, m, imm_bytes(sz));
    put_le(b, (uint32_t)imm, imm_bytes(sz));
  }
}

void xe_alu_ri(struct xe_buf *b, enum xe_alu op, unsigned sz, enum xe_reg dst,
               int32_t imm) {
  alu_imm(b, op, sz, dst, NULL, imm);
}

void xe_alu_mi(struct xe_buf *b, enum xe_alu op, unsigned sz, struct xe_mem m,
               int32_t imm) {
  alu_imm(b, op, sz, 0, &m, imm);
}

void xe_test_rr(struct xe_buf *b, unsigned sz, enum xe_reg a, enum xe_reg c) {
  unsigned f;
  if (size_flags(b, sz, SZ_ALL, &f))
    enc(b, f | (sz == 8 ? F_BREG | F_BRM : 0), MAP_1, sz == 8 ? 0x84 : 0x85,
        (unsigned)c, a, NULL, 0);
}

void xe_test_mr(struct xe_buf *b, unsigned sz, struct xe_mem m, enum xe_reg r) {
  unsigned f;
  if (size_flags(b, sz, SZ_ALL, &f))
    enc(b, f | (sz == 8 ? F_BREG : 0), MAP_1, sz == 8 ? 0x84 : 0x85,
        (unsigned)r, 0, &m, 0);
}

void xe_test_ri(struct xe_buf *b, unsigned sz, enum xe_reg r, int32_t imm) {
  unsigned f;
  if (!size_flags(b, sz, SZ_ALL, &f))
    return;
  enc(b, f | (sz == 8 ? F_BRM : 0), MAP_1, sz == 8 ? 0xF6 : 0xF7, 0, r, NULL,
      imm_bytes(sz));
  put_le(b, (uint32_t)imm, imm_bytes(sz));
}

void xe_unary(struct xe_buf *b, enum xe_unary op, unsigned sz, enum xe_reg r) {
  unsigned f;
  if (op < XE_NOT || op > XE_IDIV) {
    xe_fail(b, "invalid unary operation");
    return;
  }
  if (size_flags(b, sz, SZ_ALL, &f))
    enc(b, f | (sz == 8 ? F_BRM : 0), MAP_1, sz == 8 ? 0xF6 : 0xF7,
        (unsigned)op, r, NULL, 0);
}

void xe_sext_acc(struct xe_buf *b, unsigned sz) {
  if (sz == 16)
    put8(b, 0x66);
  else if (sz == 64)
    put8(b, 0x48);
  else if (sz != 32) {
    xe_fail(b, "invalid operand size");
    return;
  }
  put8(b, 0x99);
}

void xe_imul_rr(struct xe_buf *b, unsigned sz, enum xe_reg dst,
                enum xe_reg src) {
  unsigned f;
  if (size_flags(b, sz, SZ_W, &f))
    enc(b, f, MAP_0F, 0xAF, (unsigned)dst, src, NULL, 0);
}

void xe_imul_rri(struct xe_buf *b, unsigned sz, enum xe_reg dst,
                 enum xe_reg src, int32_t imm) {
  unsigned f;
  if (!size_flags(b, sz, SZ_W, &f))
    return;
  if (fits8(imm)) {
    enc(b, f, MAP_1, 0x6B, (unsigned)dst, src, NULL, 1);
    put8(b, (uint8_t)imm);
  } else {
    enc(b, f, MAP_1, 0x69, (unsigned)dst, src, NULL, imm_bytes(sz));
    put_le(b, (uint32_t)imm, imm_bytes(sz));
  }
}

static bool shift_ok(struct xe_buf *b, enum xe_shift op) {
  if (op != XE_ROL && op != XE_ROR && op != XE_SHL && op != XE_SHR &&
      op != XE_SAR) {
    xe_fail(b, "invalid shift operation");
    return false;
  }
  return true;
}

void xe_shift_ri(struct xe_buf *b, enum xe_shift op, unsigned sz, enum xe_reg r,
                 uint8_t imm) {
  unsigned f;
  if (!shift_ok(b, op) || !size_flags(b, sz, SZ_ALL, &f))
    return;
  f |= sz == 8 ? F_BRM : 0;
  if (imm == 1) {
    enc(b, f, MAP_1, sz == 8 ? 0xD0 : 0xD1, (unsigned)op, r, NULL, 0);
  } else {
    enc(b, f, MAP_1, sz == 8 ? 0xC0 : 0xC1, (unsigned)op, r, NULL, 1);
    put8(b, imm);
  }
}

void xe_shift_rcl(struct xe_buf *b, enum xe_shift op, unsigned sz,
                  enum xe_reg r) {
  unsigned f;
  if (shift_ok(b, op) && size_flags(b, sz, SZ_ALL, &f))
    enc(b, f | (sz == 8 ? F_BRM : 0), MAP_1, sz == 8 ? 0xD2 : 0xD3,
        (unsigned)op, r, NULL, 0);
}

/* BMI: VEX.LZ with the given pp/map/opcode; reg, vvvv, rm registers. */
static void bmi(struct xe_buf *b, unsigned sz, unsigned pp, unsigned map,
                uint8_t opc, enum xe_reg reg, enum xe_reg vvvv,
                enum xe_reg rm) {
  unsigned f;
  if (!size_flags(b, sz, SZ_DQ, &f) || !gpr_ok(b, reg) || !gpr_ok(b, vvvv))
    return;
  vex(b, pp, map, sz == 64, false, opc, (unsigned)reg, (unsigned)vvvv, rm, NULL,
      0);
}

void xe_shlx(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src,
             enum xe_reg cnt) {
  bmi(b, sz, 1, MAP_0F38, 0xF7, dst, cnt, src);
}

void xe_shrx(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src,
             enum xe_reg cnt) {
  bmi(b, sz, 3, MAP_0F38, 0xF7, dst, cnt, src);
}

void xe_sarx(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src,
             enum xe_reg cnt) {
  bmi(b, sz, 2, MAP_0F38, 0xF7, dst, cnt, src);
}

void xe_rorx(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src,
             uint8_t imm) {
  bmi(b, sz, 3, MAP_0F3A, 0xF0, dst, XE_RAX, src);
  put8(b, imm);
}

void xe_andn(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg a,
             enum xe_reg c) {
  bmi(b, sz, 0, MAP_0F38, 0xF2, dst, a, c);
}

static void f3_count(struct xe_buf *b, uint8_t opc, unsigned sz,
                     enum xe_reg dst, enum xe_reg src) {
  unsigned f;
  if (size_flags(b, sz, SZ_W, &f))
    enc(b, f | F_F3, MAP_0F, opc, (unsigned)dst, src, NULL, 0);
}

void xe_lzcnt(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src) {
  f3_count(b, 0xBD, sz, dst, src);
}

void xe_tzcnt(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src) {
  f3_count(b, 0xBC, sz, dst, src);
}

void xe_popcnt(struct xe_buf *b, unsigned sz, enum xe_reg dst,
               enum xe_reg src) {
  f3_count(b, 0xB8, sz, dst, src);
}

void xe_bswap(struct xe_buf *b, unsigned sz, enum xe_reg r) {
  unsigned f;
  if (size_flags(b, sz, SZ_DQ, &f))
    enc_oreg(b, sz == 64, MAP_0F, 0xC8, r);
}

/* ---- atomics and barriers ---- */

void xe_lock_cmpxchg(struct xe_buf *b, unsigned sz, struct xe_mem m,
                     enum xe_reg src) {
  unsigned f;
  if (size_flags(b, sz, SZ_ALL, &f))
    enc(b, f | F_LOCK | (sz == 8 ? F_BREG : 0), MAP_0F, sz == 8 ? 0xB0 : 0xB1,
        (unsigned)src, 0, &m, 0);
}

void xe_lock_cmpxchg16b(struct xe_buf *b, struct xe_mem m) {
  enc(b, F_W | F_LOCK, MAP_0F, 0xC7, 1, 0, &m, 0);
}

void xe_lock_xadd(struct xe_buf *b, unsigned sz, struct xe_mem m,
                  enum xe_reg r) {
  unsigned f;
  if (size_flags(b, sz, SZ_ALL, &f))
    enc(b, f | F_LOCK | (sz == 8 ? F_BREG : 0), MAP_0F, sz == 8 ? 0xC0 : 0xC1,
        (unsigned)r, 0, &m, 0);
}

void xe_mfence(struct xe_buf *b) { xe_bytes(b, "\x0F\xAE\xF0", 3); }

void xe_pause(struct xe_buf *b) { xe_bytes(b, "\xF3\x90", 2); }

/* ---- control flow ---- */

static void jump_rel(struct xe_buf *b, int cc, int64_t target) {
  /* cc < 0: jmp. Displacements count from the end of the instruction. */
  int64_t here = (int64_t)b->len;
  if (fits8(target - (here + 2))) {
    put8(b, cc < 0 ? 0xEB : (uint8_t)(0x70 + cc));
    put8(b, (uint8_t)(target - (here + 2)));
    return;
  }
  int64_t rel = target - (here + (cc < 0 ? 5 : 6));
  if (!fits32(rel)) {
    xe_fail(b, "jump target out of reach");
    return;
  }
  if (cc < 0) {
    put8(b, 0xE9);
  } else {
    put8(b, 0x0F);
    put8(b, (uint8_t)(0x80 + cc));
  }
  put_le(b, (uint32_t)rel, 4);
}

void xe_jmp_to(struct xe_buf *b, size_t target) {
  if (!b->err)
    jump_rel(b, -1, (int64_t)target);
}

void xe_jcc_to(struct xe_buf *b, enum xe_cc cc, size_t target) {
  if (!b->err && cc_ok(b, cc))
    jump_rel(b, (int)cc, (int64_t)target);
}

static struct xe_fixup fwd(struct xe_buf *b, int cc, bool short_jump) {
  struct xe_fixup f = {SIZE_MAX, short_jump ? 1 : 4};
  if (b->err || (cc >= 0 && !cc_ok(b, (enum xe_cc)cc)))
    return f;
  if (short_jump) {
    put8(b, cc < 0 ? 0xEB : (uint8_t)(0x70 + cc));
  } else if (cc < 0) {
    put8(b, 0xE9);
  } else {
    put8(b, 0x0F);
    put8(b, (uint8_t)(0x80 + cc));
  }
  size_t at = b->len;
  put_le(b, 0, f.len);
  if (!b->err)
    f.at = at;
  return f;
}

struct xe_fixup xe_jmp_fwd(struct xe_buf *b, bool short_jump) {
  return fwd(b, -1, short_jump);
}

struct xe_fixup xe_call_fwd(struct xe_buf *b) {
  struct xe_fixup f = {SIZE_MAX, 4};
  if (b->err)
    return f;
  put8(b, 0xE8);
  size_t at = b->len;
  put_le(b, 0, 4);
  if (!b->err)
    f.at = at;
  return f;
}

struct xe_fixup xe_jcc_fwd(struct xe_buf *b, enum xe_cc cc, bool short_jump) {
  return fwd(b, (int)cc, short_jump);
}

void xe_bind_to(struct xe_buf *b, struct xe_fixup f, size_t target) {
  if (b->err)
    return;
  if (f.at == SIZE_MAX || f.at + f.len > b->len || (f.len != 1 && f.len != 4)) {
    xe_fail(b, "binding a jump that was not emitted");
    return;
  }
  int64_t rel = (int64_t)target - (int64_t)(f.at + f.len);
  if (f.len == 1 ? !fits8(rel) : !fits32(rel)) {
    xe_fail(b, f.len == 1 ? "short jump target out of reach (beyond 127 bytes)"
                          : "jump target out of reach");
    return;
  }
  for (unsigned i = 0; i < f.len; i++)
    b->p[f.at + i] = (uint8_t)((uint64_t)rel >> (8 * i));
}

void xe_bind(struct xe_buf *b, struct xe_fixup f) { xe_bind_to(b, f, b->len); }

/* opc bytes then rel32 to an absolute address */
static void abs_rel32(struct xe_buf *b, const uint8_t *opc, unsigned n,
                      uint64_t target) {
  if (b->err)
    return;
  int64_t rel = (int64_t)(target - (b->exec + b->len + n + 4));
  if (!fits32(rel)) {
    xe_fail(b, "jump or call target out of reach (beyond 2 GiB)");
    return;
  }
  xe_bytes(b, opc, n);
  put_le(b, (uint32_t)rel, 4);
}

void xe_jmp_abs(struct xe_buf *b, uint64_t target) {
  abs_rel32(b, (const uint8_t *)"\xE9", 1, target);
}

void xe_jcc_abs(struct xe_buf *b, enum xe_cc cc, uint64_t target) {
  if (!cc_ok(b, cc))
    return;
  uint8_t opc[2] = {0x0F, (uint8_t)(0x80 + cc)};
  abs_rel32(b, opc, 2, target);
}

void xe_ret_imm(struct xe_buf *b, uint16_t n) {
  put8(b, 0xC2);
  put_le(b, n, 2);
}

void xe_call_abs(struct xe_buf *b, uint64_t target) {
  abs_rel32(b, (const uint8_t *)"\xE8", 1, target);
}

void xe_call_far(struct xe_buf *b, uint64_t target, enum xe_reg scratch) {
  if (fits32((int64_t)(target - (b->exec + b->len + 5)))) {
    xe_call_abs(b, target);
  } else {
    xe_mov_ri(b, scratch, target);
    xe_call_r(b, scratch);
  }
}

void xe_call_r(struct xe_buf *b, enum xe_reg r) {
  enc(b, 0, MAP_1, 0xFF, 2, r, NULL, 0);
}

void xe_call_m(struct xe_buf *b, struct xe_mem m) {
  enc(b, 0, MAP_1, 0xFF, 2, 0, &m, 0);
}

void xe_jmp_r(struct xe_buf *b, enum xe_reg r) {
  enc(b, 0, MAP_1, 0xFF, 4, r, NULL, 0);
}

void xe_jmp_m(struct xe_buf *b, struct xe_mem m) {
  enc(b, 0, MAP_1, 0xFF, 4, 0, &m, 0);
}

void xe_ret(struct xe_buf *b) { put8(b, 0xC3); }

void xe_ud2(struct xe_buf *b) { xe_bytes(b, "\x0F\x0B", 2); }

void xe_int3(struct xe_buf *b) { put8(b, 0xCC); }

size_t xe_jmp_patchable(struct xe_buf *b, uint64_t target) {
  /* the rel32 (after the 1-byte opcode) on a 4-byte boundary, so one
   * aligned 32-bit store replaces it atomically for every CPU */
  xe_nop(b, (size_t)(3 - (xe_addr(b, b->len) & 3)));
  size_t at = b->len;
  xe_jmp_abs(b, target);
  return b->err ? SIZE_MAX : at;
}

int xe_patch_jmp(void *rw, uint64_t exec, uint64_t target) {
  uint8_t *p = rw;
  if (p[0] != 0xE9 || ((uintptr_t)(p + 1) & 3) || ((exec + 1) & 3))
    return -EINVAL;
  int64_t rel = (int64_t)(target - (exec + 5));
  if (!fits32(rel))
    return -ERANGE;
  __atomic_store_n((uint32_t *)(void *)(p + 1), (uint32_t)rel,
                   __ATOMIC_RELEASE);
  return 0;
}

/* ---- SSE / AVX ---- */

struct sse_op {
  uint8_t pfx; /* F_66 / F_F2 / F_F3 or 0 */
  uint8_t map;
  uint8_t opc;
  uint8_t store; /* store opcode (same prefix unless store_pfx), 0: none */
  uint8_t store_pfx;
  bool no_rr; /* only a memory source */
};

static const struct sse_op sse_ops[XE_SSE_NOPS] = {
    [XE_MOVSD] = {F_F2, MAP_0F, 0x10, 0x11, F_F2, false},
    [XE_MOVSS] = {F_F3, MAP_0F, 0x10, 0x11, F_F3, false},
    [XE_MOVQ] = {F_F3, MAP_0F, 0x7E, 0xD6, F_66, false},
    [XE_MOVD] = {F_66, MAP_0F, 0x6E, 0x7E, F_66, true},
    [XE_MOVDQU] = {F_F3, MAP_0F, 0x6F, 0x7F, F_F3, false},
    [XE_MOVDQA] = {F_66, MAP_0F, 0x6F, 0x7F, F_66, false},
    [XE_MOVAPS] = {0, MAP_0F, 0x28, 0x29, 0, false},
    [XE_ADDSD] = {F_F2, MAP_0F, 0x58, 0, 0, false},
    [XE_SUBSD] = {F_F2, MAP_0F, 0x5C, 0, 0, false},
    [XE_MULSD] = {F_F2, MAP_0F, 0x59, 0, 0, false},
    [XE_DIVSD] = {F_F2, MAP_0F, 0x5E, 0, 0, false},
    [XE_SQRTSD] = {F_F2, MAP_0F, 0x51, 0, 0, false},
    [XE_MINSD] = {F_F2, MAP_0F, 0x5D, 0, 0, false},
    [XE_MAXSD] = {F_F2, MAP_0F, 0x5F, 0, 0, false},
    [XE_ADDSS] = {F_F3, MAP_0F, 0x58, 0, 0, false},
    [XE_SUBSS] = {F_F3, MAP_0F, 0x5C, 0, 0, false},
    [XE_MULSS] = {F_F3, MAP_0F, 0x59, 0, 0, false},
    [XE_DIVSS] = {F_F3, MAP_0F, 0x5E, 0, 0, false},
    [XE_SQRTSS] = {F_F3, MAP_0F, 0x51, 0, 0, false},
    [XE_MINSS] = {F_F3, MAP_0F, 0x5D, 0, 0, false},
    [XE_MAXSS] = {F_F3, MAP_0F, 0x5F, 0, 0, false},
    [XE_UCOMISD] = {F_66, MAP_0F, 0x2E, 0, 0, false},
    [XE_UCOMISS] = {0, MAP_0F, 0x2E, 0, 0, false},
    [XE_COMISD] = {F_66, MAP_0F, 0x2F, 0, 0, false},
    [XE_COMISS] = {0, MAP_0F, 0x2F, 0, 0, false},
    [XE_CVTSD2SS] = {F_F2, MAP_0F, 0x5A, 0, 0, false},
    [XE_CVTSS2SD] = {F_F3, MAP_0F, 0x5A, 0, 0, false},
    [XE_ADDPD] = {F_66, MAP_0F, 0x58, 0, 0, false},
    [XE_ADDPS] = {0, MAP_0F, 0x58, 0, 0, false},
    [XE_MULPD] = {F_66, MAP_0F, 0x59, 0, 0, false},
    [XE_MULPS] = {0, MAP_0F, 0x59, 0, 0, false},
    [XE_PXOR] = {F_66, MAP_0F, 0xEF, 0, 0, false},
    [XE_PAND] = {F_66, MAP_0F, 0xDB, 0, 0, false},
    [XE_PANDN] = {F_66, MAP_0F, 0xDF, 0, 0, false},
    [XE_POR] = {F_66, MAP_0F, 0xEB, 0, 0, false},
    [XE_PADDB] = {F_66, MAP_0F, 0xFC, 0, 0, false},
    [XE_PADDW] = {F_66, MAP_0F, 0xFD, 0, 0, false},
    [XE_PADDD] = {F_66, MAP_0F, 0xFE, 0, 0, false},
    [XE_PADDQ] = {F_66, MAP_0F, 0xD4, 0, 0, false},
    [XE_PSUBB] = {F_66, MAP_0F, 0xF8, 0, 0, false},
    [XE_PSUBW] = {F_66, MAP_0F, 0xF9, 0, 0, false},
    [XE_PSUBD] = {F_66, MAP_0F, 0xFA, 0, 0, false},
    [XE_PSUBQ] = {F_66, MAP_0F, 0xFB, 0, 0, false},
    [XE_PCMPEQB] = {F_66, MAP_0F, 0x74, 0, 0, false},
    [XE_PCMPEQD] = {F_66, MAP_0F, 0x76, 0, 0, false},
    [XE_PSHUFB] = {F_66, MAP_0F38, 0x00, 0, 0, false},
    [XE_PMULLD] = {F_66, MAP_0F38, 0x40, 0, 0, false},
    [XE_PMINUD] = {F_66, MAP_0F38, 0x3B, 0, 0, false},
    [XE_PMAXUD] = {F_66, MAP_0F38, 0x3F, 0, 0, false},
    [XE_PTEST] = {F_66, MAP_0F38, 0x17, 0, 0, false},
    [XE_SUBPS] = {0, MAP_0F, 0x5C, 0, 0, false},
    [XE_SUBPD] = {F_66, MAP_0F, 0x5C, 0, 0, false},
    [XE_DIVPS] = {0, MAP_0F, 0x5E, 0, 0, false},
    [XE_DIVPD] = {F_66, MAP_0F, 0x5E, 0, 0, false},
    [XE_PSUBUSB] = {F_66, MAP_0F, 0xD8, 0, 0, false},
    [XE_PSUBUSW] = {F_66, MAP_0F, 0xD9, 0, 0, false},
    [XE_PMULLW] = {F_66, MAP_0F, 0xD5, 0, 0, false},
    [XE_PCMPGTD] = {F_66, MAP_0F, 0x66, 0, 0, false},
    [XE_PCMPGTQ] = {F_66, MAP_0F38, 0x37, 0, 0, false},
    [XE_PCMPEQW] = {F_66, MAP_0F, 0x75, 0, 0, false},
    [XE_PCMPEQQ] = {F_66, MAP_0F38, 0x29, 0, 0, false},
    [XE_PCMPGTB] = {F_66, MAP_0F, 0x64, 0, 0, false},
    [XE_PCMPGTW] = {F_66, MAP_0F, 0x65, 0, 0, false},
    [XE_PMAXUB] = {F_66, MAP_0F, 0xDE, 0, 0, false},
    [XE_PMINUB] = {F_66, MAP_0F, 0xDA, 0, 0, false},
    [XE_PMAXSW] = {F_66, MAP_0F, 0xEE, 0, 0, false},
    [XE_PMINSW] = {F_66, MAP_0F, 0xEA, 0, 0, false},
    [XE_PMAXUW] = {F_66, MAP_0F38, 0x3E, 0, 0, false},
    [XE_PMINUW] = {F_66, MAP_0F38, 0x3A, 0, 0, false},
    [XE_PMAXSB] = {F_66, MAP_0F38, 0x3C, 0, 0, false},
    [XE_PMINSB] = {F_66, MAP_0F38, 0x38, 0, 0, false},
    [XE_PMAXSD] = {F_66, MAP_0F38, 0x3D, 0, 0, false},
    [XE_PMINSD] = {F_66, MAP_0F38, 0x39, 0, 0, false},
    [XE_PUNPCKLQDQ] = {F_66, MAP_0F, 0x6C, 0, 0, false},
    [XE_PUNPCKHQDQ] = {F_66, MAP_0F, 0x6D, 0, 0, false},
    [XE_PADDUSB] = {F_66, MAP_0F, 0xDC, 0, 0, false},
};

static const struct sse_op *sse_get(struct xe_buf *b, enum xe_sse op) {
  if ((unsigned)op >= XE_SSE_NOPS) {
    xe_fail(b, "invalid SSE operation");
    return NULL;
  }
  return &sse_ops[op];
}

void xe_sse_rr(struct xe_buf *b, enum xe_sse op, enum xe_xmm dst,
               enum xe_xmm src) {
  const struct sse_op *o = sse_get(b, op);
  if (!o)
    return;
  if (o->no_rr) {
    xe_fail(b, "this SSE move has no register-to-register form");
    return;
  }
  enc(b, o->pfx, o->map, o->opc, (unsigned)dst, src, NULL, 0);
}

void xe_sse_rm(struct xe_buf *b, enum xe_sse op, enum xe_xmm dst,
               struct xe_mem m) {
  const struct sse_op *o = sse_get(b, op);
  if (o)
    enc(b, o->pfx, o->map, o->opc, (unsigned)dst, 0, &m, 0);
}

void xe_sse_store(struct xe_buf *b, enum xe_sse op, struct xe_mem m,
                  enum xe_xmm src) {
  const struct sse_op *o = sse_get(b, op);
  if (!o)
    return;
  if (!o->store) {
    xe_fail(b, "this SSE operation has no store form");
    return;
  }
  enc(b, o->store_pfx, MAP_0F, o->store, (unsigned)src, 0, &m, 0);
}

/* 66/F2/F3 [REX.W] 0F opc with an xmm and a general register */
static void sse_gpr(struct xe_buf *b, unsigned pfx, uint8_t opc, unsigned sz,
                    unsigned reg, int rm) {
  if (sz != 32 && sz != 64) {
    xe_fail(b, "invalid operand size");
    return;
  }
  enc(b, pfx | (sz == 64 ? F_W : 0), MAP_0F, opc, reg, rm, NULL, 0);
}

void xe_movd_xr(struct xe_buf *b, unsigned sz, enum xe_xmm dst,
                enum xe_reg src) {
  sse_gpr(b, F_66, 0x6E, sz, (unsigned)dst, src);
}

void xe_movd_rx(struct xe_buf *b, unsigned sz, enum xe_reg dst,
                enum xe_xmm src) {
  sse_gpr(b, F_66, 0x7E, sz, (unsigned)src, dst);
}

void xe_cvtsi2sd(struct xe_buf *b, unsigned sz, enum xe_xmm dst,
                 enum xe_reg src) {
  sse_gpr(b, F_F2, 0x2A, sz, (unsigned)dst, src);
}

void xe_cvtsi2ss(struct xe_buf *b, unsigned sz, enum xe_xmm dst,
                 enum xe_reg src) {
  sse_gpr(b, F_F3, 0x2A, sz, (unsigned)dst, src);
}

void xe_cvttsd2si(struct xe_buf *b, unsigned sz, enum xe_reg dst,
                  enum xe_xmm src) {
  sse_gpr(b, F_F2, 0x2C, sz, (unsigned)dst, src);
}

void xe_cvttss2si(struct xe_buf *b, unsigned sz, enum xe_reg dst,
                  enum xe_xmm src) {
  sse_gpr(b, F_F3, 0x2C, sz, (unsigned)dst, src);
}

void xe_cvtsd2si(struct xe_buf *b, unsigned sz, enum xe_reg dst,
                 enum xe_xmm src) {
  sse_gpr(b, F_F2, 0x2D, sz, (unsigned)dst, src);
}

void xe_roundsd(struct xe_buf *b, enum xe_xmm dst, enum xe_xmm src,
                uint8_t mode) {
  enc(b, F_66, MAP_0F3A, 0x0B, (unsigned)dst, src, NULL, 1);
  put8(b, mode);
}

void xe_roundss(struct xe_buf *b, enum xe_xmm dst, enum xe_xmm src,
                uint8_t mode) {
  enc(b, F_66, MAP_0F3A, 0x0A, (unsigned)dst, src, NULL, 1);
  put8(b, mode);
}

void xe_pinsr(struct xe_buf *b, unsigned sz, enum xe_xmm dst, enum xe_reg src,
              uint8_t lane) {
  if (sz != 32 && sz != 64) {
    xe_fail(b, "invalid operand size");
    return;
  }
  enc(b, F_66 | (sz == 64 ? F_W : 0), MAP_0F3A, 0x22, (unsigned)dst, src, NULL,
      1);
  put8(b, lane);
}

void xe_pextr(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_xmm src,
              uint8_t lane) {
  if (sz != 32 && sz != 64) {
    xe_fail(b, "invalid operand size");
    return;
  }
  enc(b, F_66 | (sz == 64 ? F_W : 0), MAP_0F3A, 0x16, (unsigned)src, dst, NULL,
      1);
  put8(b, lane);
}

void xe_movmsk(struct xe_buf *b, bool pd, enum xe_reg dst, enum xe_xmm src) {
  if (gpr_ok(b, dst))
    enc(b, pd ? F_66 : 0, MAP_0F, 0x50, (unsigned)dst, src, NULL, 0);
}

void xe_pshufd(struct xe_buf *b, enum xe_xmm dst, enum xe_xmm src,
               uint8_t imm) {
  enc(b, F_66, MAP_0F, 0x70, (unsigned)dst, src, NULL, 1);
  put8(b, imm);
}

void xe_pshuflw(struct xe_buf *b, enum xe_xmm dst, enum xe_xmm src,
                uint8_t imm) {
  enc(b, F_F2, MAP_0F, 0x70, (unsigned)dst, src, NULL, 1);
  put8(b, imm);
}

void xe_palignr(struct xe_buf *b, enum xe_xmm dst, enum xe_xmm src,
                uint8_t imm) {
  enc(b, F_66, MAP_0F3A, 0x0F, (unsigned)dst, src, NULL, 1);
  put8(b, imm);
}

void xe_pbsh_ri(struct xe_buf *b, enum xe_shift op, enum xe_xmm r,
                uint8_t imm) {
  /* 66 0F 73 /3 ib (psrldq), /7 ib (pslldq) */
  if (op != XE_SHR && op != XE_SHL) {
    xe_fail(b, "invalid byte shift");
    return;
  }
  enc(b, F_66, MAP_0F, 0x73, op == XE_SHR ? 3 : 7, r, NULL, 1);
  put8(b, imm);
}

void xe_psh_ri(struct xe_buf *b, enum xe_shift op, unsigned lane, enum xe_xmm r,
               uint8_t imm) {
  /* 66 0F 71/72/73 /digit ib: the digit is 2 (srl), 4 (sra), 6 (sll) */
  unsigned digit = op == XE_SHR ? 2 : op == XE_SAR ? 4 : op == XE_SHL ? 6 : 0;
  uint8_t opc = lane == 16 ? 0x71 : lane == 32 ? 0x72 : lane == 64 ? 0x73 : 0;
  if (!digit || !opc || (op == XE_SAR && lane == 64)) {
    xe_fail(b, "invalid vector shift");
    return;
  }
  enc(b, F_66, MAP_0F, opc, digit, r, NULL, 1);
  put8(b, imm);
}

struct avx_op {
  uint8_t pp, map, opc;
  bool w, scalar;
};

static const struct avx_op avx_ops[XE_AVX_NOPS] = {
    [XE_VPXOR] = {1, MAP_0F, 0xEF, false, false},
    [XE_VPAND] = {1, MAP_0F, 0xDB, false, false},
    [XE_VPOR] = {1, MAP_0F, 0xEB, false, false},
    [XE_VPADDB] = {1, MAP_0F, 0xFC, false, false},
    [XE_VPADDD] = {1, MAP_0F, 0xFE, false, false},
    [XE_VPADDQ] = {1, MAP_0F, 0xD4, false, false},
    [XE_VPSUBD] = {1, MAP_0F, 0xFA, false, false},
    [XE_VPCMPEQB] = {1, MAP_0F, 0x74, false, false},
    [XE_VPSHUFB] = {1, MAP_0F38, 0x00, false, false},
    [XE_VPMULLD] = {1, MAP_0F38, 0x40, false, false},
    [XE_VADDPD] = {1, MAP_0F, 0x58, false, false},
    [XE_VADDPS] = {0, MAP_0F, 0x58, false, false},
    [XE_VMULPD] = {1, MAP_0F, 0x59, false, false},
    [XE_VMULPS] = {0, MAP_0F, 0x59, false, false},
    [XE_VFMADD231SD] = {1, MAP_0F38, 0xB9, true, true},
    [XE_VFMADD231SS] = {1, MAP_0F38, 0xB9, false, true},
    [XE_VFMADD231PS] = {1, MAP_0F38, 0xB8, false, false},
    [XE_VFMADD231PD] = {1, MAP_0F38, 0xB8, true, false},
    [XE_VFNMADD231PS] = {1, MAP_0F38, 0xBC, false, false},
    [XE_VFNMADD231PD] = {1, MAP_0F38, 0xBC, true, false},
};

static void avx(struct xe_buf *b, enum xe_avx op, unsigned bits,
                enum xe_xmm dst, enum xe_xmm src1, int rm,
                const struct xe_mem *m) {
  if ((unsigned)op >= XE_AVX_NOPS) {
    xe_fail(b, "invalid AVX operation");
    return;
  }
  const struct avx_op *o = &avx_ops[op];
  if ((bits != 128 && bits != 256) || (o->scalar && bits != 128)) {
    xe_fail(b, "invalid vector size");
    return;
  }
  vex(b, o->pp, o->map, o->w, bits == 256, o->opc, (unsigned)dst,
      (unsigned)src1, rm, m, 0);
}

void xe_avx_rrr(struct xe_buf *b, enum xe_avx op, unsigned bits,
                enum xe_xmm dst, enum xe_xmm src1, enum xe_xmm src2) {
  avx(b, op, bits, dst, src1, src2, NULL);
}

void xe_avx_rrm(struct xe_buf *b, enum xe_avx op, unsigned bits,
                enum xe_xmm dst, enum xe_xmm src1, struct xe_mem m) {
  avx(b, op, bits, dst, src1, 0, &m);
}
