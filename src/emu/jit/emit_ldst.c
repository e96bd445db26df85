/* emit_ldst.c — integer loads and stores translated inline: the address,
 * the soft-TLB lookup (mem.h's hit rule: the tag of the access kind
 * equals (va & EMU_PAGE_MASK) | cpu->tlb_key, and the access does not
 * cross the page), the host access and the register writes. Anything
 * else — a miss, a page-crossing access, MMIO, a fault, a watched page, a
 * store to a page holding code (no write tag) — goes to an out-of-line
 * call of the insn's exec helper, which is the interpreter's own slow
 * semantics and does the whole instruction (faults with the insn's pc,
 * ESR bits and FAR), then comes back after the inline code. Registers
 * are written only after the hit is known, so a faulting access leaves
 * them as they were.
 *
 * In user mode (emu_jit.direct) loads skip the TLB: a bound test on the
 * guest address, then the host access at the region's base + address;
 * the host keeps unreadable guest pages inaccessible and its fault there
 * comes back (vmkit exec's SIGSEGV handler, the code buffer's fault
 * sites) to the same out-of-line call. Stores keep the TLB test: the
 * missing write tag of a page holding code is what sends a store to it
 * to the helper, which drops the translations it overwrites.
 *
 * Operands as ldst.c decodes them: rd = Rt, ra = Rt2, rn = base, rm =
 * offset register (a = extend option, b = shift), imm = byte offset
 * (literal: the address); c = the load kind (K_* of ldst.c) / log2 of a
 * store's size / a pair's addressing mode.
 *
 * Runs on the translating CPU's thread; no shared state.
 */
#include "emu/decode.h"
#include "emu/jit/emit.h"
#include "emu/jit/translate.h"

_Static_assert(sizeof(struct emu_tlb_entry) == 32,
               "the inline TLB index scales by 32");

/* ldst.c's load kinds (in->c of a load) and pair modes (in->c of a pair) */
enum { K_U8, K_U16, K_U32, K_U64, K_S8W, K_S8X, K_S16W, K_S16X, K_S32X };
enum { M_OFF, M_PRE, M_POST };

enum mode { OFF, PRE, POST, REG };

struct ldst {
  bool store;
  enum mode mode;
  unsigned size; /* bytes of one access */
  unsigned kind; /* loads: K_* */
};

static bool classify(const struct emu_insn *in, struct ldst *o) {
  switch (in->op) {
  case EMU_OP_STR_UIMM:
  case EMU_OP_STUR:
    *o = (struct ldst){true, OFF, 1u << (in->c & 3), 0};
    return true;
  case EMU_OP_STR_PRE:
    *o = (struct ldst){true, PRE, 1u << (in->c & 3), 0};
    return true;
  case EMU_OP_STR_POST:
    *o = (struct ldst){true, POST, 1u << (in->c & 3), 0};
    return true;
  case EMU_OP_STR_REG:
    *o = (struct ldst){true, REG, 1u << (in->c & 3), 0};
    return true;
  case EMU_OP_LDR_UIMM:
  case EMU_OP_LDUR:
  case EMU_OP_LDRS_UIMM:
  case EMU_OP_LDURS:
  case EMU_OP_LDR_LIT:
  case EMU_OP_LDRSW_LIT:
    o->mode = OFF;
    break;
  case EMU_OP_LDR_PRE:
  case EMU_OP_LDRS_PRE:
    o->mode = PRE;
    break;
  case EMU_OP_LDR_POST:
  case EMU_OP_LDRS_POST:
    o->mode = POST;
    break;
  case EMU_OP_LDR_REG:
  case EMU_OP_LDRS_REG:
    o->mode = REG;
    break;
  default:
    return false;
  }
  static const uint8_t size[9] = {1, 2, 4, 8, 1, 1, 2, 2, 4};
  if (in->c > K_S32X)
    return false;
  o->store = false;
  o->kind = in->c;
  o->size = size[in->c];
  return true;
}

static bool is_pair(const struct emu_insn *in) {
  return in->op == EMU_OP_STP || in->op == EMU_OP_LDP || in->op == EMU_OP_LDPSW;
}
static bool is_prfm(const struct emu_insn *in) {
  return in->op == EMU_OP_PRFM_UIMM || in->op == EMU_OP_PRFUM ||
         in->op == EMU_OP_PRFM_REG || in->op == EMU_OP_PRFM_LIT;
}

/* The host register with index register rm extended by option opt
 * (UXTW 2, SXTW 6, else the whole register): rm's own or rcx. */
static enum xe_reg index_reg(struct jit_ctx *c, unsigned rm, unsigned opt) {
  if (opt != 2 && opt != 6)
    return jit_gpr_src(c, rm, XE_RCX);
  jit_gpr_load_ext(c, XE_RCX, rm, 32, opt == 6);
  return XE_RCX;
}

/* rax = the access address (for POST the base; the caller adds imm for
 * the writeback). */
static void address(struct jit_ctx *c, const struct emu_insn *in,
                    enum mode mode) {
  struct xe_buf *b = c->b;
  if (in->rn == EMU_XZR && mode == OFF) { /* literal: imm is the address */
    xe_mov_ri(b, XE_RAX, in->imm);
    return;
  }
  enum xe_reg n = jit_gpr_src(c, in->rn, XE_RAX);
  if (mode == REG) {
    /* extend option a: UXTW 2, SXTW 6, LSL/SXTX 3/7; shift b <= 3 */
    enum xe_reg m = index_reg(c, in->rm, in->a);
    xe_lea(b, 64, XE_RAX, xe_mi(n, m, 1u << (in->b & 3), 0));
  } else if (mode != POST && in->imm) {
    xe_lea(b, 64, XE_RAX, xe_m(n, (int32_t)in->imm));
  } else if (n != XE_RAX) {
    xe_mov_rr(b, 64, XE_RAX, n);
  }
}

/* The soft-TLB hit test for an access of len bytes at rax: a miss (or a
 * page crossing: the last byte's page is compared, which the entry at
 * the first byte's index can never hold) goes to the insn's helper. On a
 * hit rdx = the entry's addend, so [rax + rdx] is the host address. */
static void tlb_hit(struct jit_ctx *c, unsigned idx, unsigned len, bool store,
                    uint64_t slow) {
  struct xe_buf *b = c->b;
  jit_tlb_index(c);
  xe_lea(b, 64, XE_RCX, xe_m(XE_RAX, (int32_t)(len - 1)));
  xe_alu_ri(b, XE_AND, 64, XE_RCX, (int32_t)EMU_PAGE_MASK);
  xe_alu_rm(b, XE_OR, 64, XE_RCX,
            xe_m(JIT_CPU, (int32_t)offsetof(struct emu_cpu, tlb_key)));
  xe_alu_rm(b, XE_CMP, 64, XE_RCX,
            jit_tlb_field(c, store ? offsetof(struct emu_tlb_entry, tag_write)
                                   : offsetof(struct emu_tlb_entry, tag_read)));
  jit_cold_jcc(c, XE_NE, idx, slow);
  xe_load(b, 64, XE_RDX,
          jit_tlb_field(c, offsetof(struct emu_tlb_entry, addend)));
}

/* A load's host address the direct way (user mode, emu_jit.direct): a
 * guest address at or above 2^EMU_JIT_DIRECT_BITS goes to the insn's
 * slow path, else rdx = the region's base, so [rax + rdx] is the host
 * address. No TLB: the host keeps every page the guest may not read
 * inaccessible, and its fault at the load (jit_fault_site) continues in
 * the same slow path, whose state is the jcc's: between the two only rdx
 * changes, and the loads themselves write scratch registers (or rd's,
 * which a faulting load leaves as it was) before anything else. */
static void direct_hit(struct jit_ctx *c, unsigned idx, uint64_t slow) {
  struct xe_buf *b = c->b;
  xe_mov_rr(b, 64, XE_RDX, XE_RAX);
  xe_shift_ri(b, XE_SHR, 64, XE_RDX, EMU_JIT_DIRECT_BITS);
  jit_cold_jcc(c, XE_NE, idx, slow);
  xe_load(b, 64, XE_RDX,
          xe_m(JIT_CPU, (int32_t)offsetof(struct emu_cpu, jit_direct_base)));
}

/* The host address of an access: the direct form for a load when the
 * translation is user mode's, else the soft TLB's. */
static void host_addr(struct jit_ctx *c, unsigned idx, unsigned len, bool store,
                      uint64_t slow) {
  if (c->direct && !store)
    direct_hit(c, idx, slow);
  else
    tlb_hit(c, idx, len, store, slow);
}

/* Marks the next host instruction as a load that may fault (direct). */
static void site(struct jit_ctx *c, bool store) {
  if (c->direct && !store)
    jit_fault_site(c);
}

/* dst = the value of a load of kind k at host address m */
static void load_kind(struct xe_buf *b, enum xe_reg dst, unsigned k,
                      struct xe_mem m) {
  switch (k) {
  case K_U8:
    xe_load(b, 8, dst, m);
    break;
  case K_U16:
    xe_load(b, 16, dst, m);
    break;
  case K_U32:
    xe_load(b, 32, dst, m);
    break;
  case K_U64:
    xe_load(b, 64, dst, m);
    break;
  case K_S8W:
    xe_load_sx(b, 32, dst, 8, m);
    break;
  case K_S8X:
    xe_load_sx(b, 64, dst, 8, m);
    break;
  case K_S16W:
    xe_load_sx(b, 32, dst, 16, m);
    break;
  case K_S16X:
    xe_load_sx(b, 64, dst, 16, m);
    break;
  default: /* K_S32X */
    xe_load_sx(b, 64, dst, 32, m);
    break;
  }
}

/* The base register's writeback (rax = the access address). */
static void writeback(struct jit_ctx *c, const struct emu_insn *in,
                      enum mode mode) {
  if (mode == PRE) {
    jit_gpr_store(c, in->rn, XE_RAX);
  } else if (mode == POST) {
    if (in->imm)
      xe_lea(c->b, 64, XE_RAX, xe_m(XE_RAX, (int32_t)in->imm));
    jit_gpr_store(c, in->rn, XE_RAX);
  }
}

static void emit_single(struct jit_ctx *c, unsigned idx, const struct ldst *l) {
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  struct xe_mem host = xe_mi(XE_RAX, XE_RDX, 1, 0);
  address(c, in, l->mode);
  host_addr(c, idx, l->size, l->store,
            (uint64_t)(uintptr_t)emu_exec_helper[in->op]);
  if (l->store) {
    /* the value is read before the writeback (STR x1, [x1], #8) */
    xe_store(b, 8 * l->size, host, jit_gpr_src(c, in->rd, XE_RCX));
    writeback(c, in, l->mode);
  } else if (l->mode == OFF || l->mode == REG) {
    enum xe_reg d = jit_gpr_dst(c, in->rd, XE_RCX);
    site(c, false);
    load_kind(b, d, l->kind, host);
    jit_gpr_store(c, in->rd, d);
  } else {
    site(c, false);
    load_kind(b, XE_RCX, l->kind, host);
    /* the base first, so that a load into the base register wins */
    writeback(c, in, l->mode);
    jit_gpr_store(c, in->rd, XE_RCX);
  }
  jit_cold_resume(c);
}

static void emit_pair(struct jit_ctx *c, unsigned idx) {
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  static const enum mode modes[3] = {OFF, PRE, POST};
  enum mode mode = modes[in->c];
  unsigned sz = in->sf ? 64 : 32, bytes = sz / 8;
  struct xe_mem h1 = xe_mi(XE_RAX, XE_RDX, 1, 0);
  struct xe_mem h2 = xe_mi(XE_RAX, XE_RDX, 1, (int32_t)bytes);
  address(c, in, mode);
  host_addr(c, idx, 2 * bytes, in->op == EMU_OP_STP,
            (uint64_t)(uintptr_t)emu_exec_helper[in->op]);
  if (in->op == EMU_OP_STP) {
    xe_store(b, sz, h1, jit_gpr_src(c, in->rd, XE_RCX));
    xe_store(b, sz, h2, jit_gpr_src(c, in->ra, XE_RSI));
    writeback(c, in, mode);
  } else {
    unsigned k = in->op == EMU_OP_LDPSW ? K_S32X : in->sf ? K_U64 : K_U32;
    site(c, false);
    load_kind(b, XE_RCX, k, h1);
    site(c, false); /* the second half may be on the next page */
    load_kind(b, XE_RSI, k, h2);
    writeback(c, in, mode);
    jit_gpr_store(c, in->rd, XE_RCX);
    jit_gpr_store(c, in->ra, XE_RSI);
  }
  jit_cold_resume(c);
}

/* ---- SIMD&FP LDR/STR (B/H/S/D/Q) and LDP/STP (S/D/Q) ----
 * Operands as fpsimd/simd_ldst.c decodes them: rd = Vt, ra = Vt2, rn =
 * base, rm = offset register (b = extend option, imm2 = shift), imm =
 * offset (literal: from pc), c = access size in bytes, a = AM_*. Their
 * slow path is the insn's handler (FP/SIMD insns have no exec helper; the
 * handler returns in + 1 and never chains). LD1/ST1 of one register
 * (multiple structures, no post-index or by its size: glibc's string
 * functions start with them) is the LDR/STR of that register (fpsimd's
 * fields: rd = Vt, rn = base, c = Q, sf: bit 2 load, bits 1:0 the
 * writeback, imm = its size); other structure loads/stores (LD1-4/ST1-4)
 * stay handler calls. */
enum { AM_OFF, AM_PRE, AM_POST, AM_REG, AM_LIT };

struct fpl {
  bool pair, load;
  unsigned size, mode;
};

static bool fp_classify(const struct emu_insn *in, struct fpl *o) {
  uint32_t raw = in->raw;
  if (!emu_op_is_simd_ldst(in->op))
    return false;
  if ((raw & 0xbe000000u) == 0x0c000000u) { /* structures */
    if ((raw & 0xbf00f000u) != 0x0c007000u || (in->sf & 3) > 1 || !in->fn)
      return false; /* only LD1/ST1 {Vt} [, #size] */
    *o = (struct fpl){false, in->sf & 4, in->c ? 16 : 8,
                      in->sf & 3 ? AM_POST : AM_OFF};
    return true;
  }
  unsigned op0 = (raw >> 27) & 7;
  if (op0 == 3)
    *o = (struct fpl){false, true, in->c, AM_LIT};
  else if (op0 == 5)
    *o = (struct fpl){true, (raw >> 22) & 1, in->c, in->a};
  else if (op0 == 7)
    *o = (struct fpl){false, (raw >> 22) & 1, in->c, in->a};
  else
    return false;
  unsigned sz = o->size;
  return (sz == 1 || sz == 2 || sz == 4 || sz == 8 || sz == 16) &&
         o->mode <= AM_LIT && !(o->pair && (sz < 4 || o->mode > AM_POST)) &&
         in->fn;
}

static struct xe_mem vreg_m(unsigned v, int32_t off) {
  return xe_m(JIT_CPU,
              (int32_t)(offsetof(struct emu_cpu, v) + 16 * (v & 31)) + off);
}

/* rax = the access address of a SIMD&FP load/store (POST: the base). */
static void fp_address(struct jit_ctx *c, const struct emu_insn *in,
                       unsigned mode) {
  struct xe_buf *b = c->b;
  if (mode == AM_LIT) {
    xe_mov_ri(b, XE_RAX, in->pc + in->imm);
    return;
  }
  jit_gpr_load(c, XE_RAX, in->rn);
  if (mode == AM_REG) {
    enum xe_reg m = index_reg(c, in->rm, in->b);
    if (in->imm2 <= 3) {
      xe_lea(b, 64, XE_RAX, xe_mi(XE_RAX, m, 1u << in->imm2, 0));
    } else { /* Q: shift 4 */
      if (m != XE_RCX)
        xe_mov_rr(b, 64, XE_RCX, m);
      xe_shift_ri(b, XE_SHL, 64, XE_RCX, (uint8_t)in->imm2);
      xe_alu_rr(b, XE_ADD, 64, XE_RAX, XE_RCX);
    }
  } else if (mode != AM_POST && in->imm) {
    xe_lea(b, 64, XE_RAX, xe_m(XE_RAX, (int32_t)in->imm));
  }
}

/* V register v = the size bytes at m, zero-extended to 128 bits;
 * through xmm (Q) or gpr (else). */
static void fp_load(struct xe_buf *b, unsigned size, struct xe_mem m,
                    enum xe_reg gpr, enum xe_xmm xmm) {
  if (size == 16)
    xe_sse_rm(b, XE_MOVDQU, xmm, m);
  else
    xe_load(b, 8 * size, gpr, m);
}
static void fp_set(struct xe_buf *b, unsigned size, unsigned v, enum xe_reg gpr,
                   enum xe_xmm xmm) {
  if (size == 16) {
    xe_sse_store(b, XE_MOVDQU, vreg_m(v, 0), xmm);
  } else {
    xe_store(b, 64, vreg_m(v, 0), gpr);
    xe_store_imm(b, 64, vreg_m(v, 8), 0);
  }
}
static void fp_store(struct xe_buf *b, unsigned size, unsigned v,
                     struct xe_mem m, enum xe_reg gpr, enum xe_xmm xmm) {
  if (size == 16) {
    xe_sse_rm(b, XE_MOVDQU, xmm, vreg_m(v, 0));
    xe_sse_store(b, XE_MOVDQU, m, xmm);
  } else {
    xe_load(b, 8 * size, gpr, vreg_m(v, 0));
    xe_store(b, 8 * size, m, gpr);
  }
}

static void emit_fp(struct jit_ctx *c, unsigned idx, const struct fpl *l) {
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  struct xe_mem h1 = xe_mi(XE_RAX, XE_RDX, 1, 0);
  struct xe_mem h2 = xe_mi(XE_RAX, XE_RDX, 1, (int32_t)l->size);
  fp_address(c, in, l->mode);
  host_addr(c, idx, l->pair ? 2 * l->size : l->size, !l->load,
            (uint64_t)(uintptr_t)in->fn);
  if (l->load) { /* every load before any register write */
    site(c, false);
    fp_load(b, l->size, h1, XE_RCX, XE_XMM0);
    if (l->pair) {
      site(c, false);
      fp_load(b, l->size, h2, XE_RSI, XE_XMM1);
    }
    fp_set(b, l->size, in->rd, XE_RCX, XE_XMM0);
    if (l->pair)
      fp_set(b, l->size, in->ra, XE_RSI, XE_XMM1);
  } else {
    fp_store(b, l->size, in->rd, h1, XE_RCX, XE_XMM0);
    if (l->pair)
      fp_store(b, l->size, in->ra, h2, XE_RSI, XE_XMM1);
  }
  if (l->mode == AM_PRE || l->mode == AM_POST)
    writeback(c, in, l->mode == AM_PRE ? PRE : POST);
  jit_cold_resume(c);
}

bool jit_ldst_inline(const struct emu_insn *in) {
  struct ldst l;
  struct fpl f;
  if (fp_classify(in, &f))
    return true;
  if (is_prfm(in))
    return true;
  if (is_pair(in))
    return in->c <= M_POST;
  return classify(in, &l);
}

void jit_emit_ldst(struct jit_ctx *c, unsigned idx) {
  const struct emu_insn *in = &c->insn[idx];
  struct ldst l;
  struct fpl f;
  if (fp_classify(in, &f)) {
    emit_fp(c, idx, &f);
    return;
  }
  if (is_prfm(in))
    return; /* a hint: nothing to do, as the interpreter */
  if (is_pair(in) && in->c <= M_POST)
    emit_pair(c, idx);
  else if (classify(in, &l))
    emit_single(c, idx, &l);
  else
    xe_fail(c->b, "jit_emit_ldst: not an inline load/store");
}

#define BIT(r) (1ull << (r))

bool jit_ldst_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr) {
  struct ldst l;
  struct fpl f;
  *rd = *wr = 0;
  if (fp_classify(in, &f)) { /* Vt is not an X register */
    if (f.mode == AM_LIT)
      return true;
    *rd = BIT(in->rn) | (f.mode == AM_REG ? BIT(in->rm) : 0);
    *wr = f.mode == AM_PRE || f.mode == AM_POST ? BIT(in->rn) : 0;
    return true;
  }
  if (is_prfm(in))
    return true;
  if (is_pair(in) && in->c <= M_POST) {
    *rd = BIT(in->rn);
    if (in->op == EMU_OP_STP)
      *rd |= BIT(in->rd) | BIT(in->ra);
    else
      *wr = BIT(in->rd) | BIT(in->ra);
    *wr |= in->c != M_OFF ? BIT(in->rn) : 0;
    return true;
  }
  if (!classify(in, &l))
    return false;
  if (!(in->rn == EMU_XZR && l.mode == OFF))
    *rd = BIT(in->rn);
  *rd |= l.mode == REG ? BIT(in->rm) : 0;
  *wr = l.mode == PRE || l.mode == POST ? BIT(in->rn) : 0;
  if (l.store)
    *rd |= BIT(in->rd);
  else
    *wr |= BIT(in->rd);
  return true;
}

bool jit_ldst_store(const struct emu_insn *in) {
  struct ldst l;
  struct fpl f;
  if (fp_classify(in, &f))
    return !f.load;
  if (is_prfm(in))
    return false;
  if (is_pair(in))
    return in->op == EMU_OP_STP;
  return classify(in, &l) && l.store;
}
