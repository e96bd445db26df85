/* emit_excl.c — load/store exclusive and load-acquire/store-release
 * translated inline (LDXR/LDAXR, STXR/STLXR, LDAR, STLR; B/H/W/X), with
 * the exclusive monitor of ldst_excl.c: a load-exclusive records the
 * address, size and value it read in cpu->excl_*; a store-exclusive
 * succeeds only when the monitor is armed for the same address and size
 * and memory still holds that value, checked and written by one host
 * lock cmpxchg, so a store by another vCPU between the two breaks the
 * pair exactly as it does in the interpreter (which uses the same CAS on
 * the same memory). Pairs (LDXP/STXP) stay helper calls.
 *
 * The fast path runs only on a soft-TLB hit of a naturally aligned
 * address; a miss, a misaligned address (alignment fault), MMIO (no
 * exclusives there) or a page holding code goes out of line to the
 * insn's exec helper, the interpreter's own semantics, which does the
 * whole instruction. Registers and the monitor are written only after
 * the hit is known.
 *
 * Ordering on x86-64 (TSO: loads are not reordered with loads, stores
 * not with stores, a load not with a later store; only a store may pass
 * a later load): a load-acquire is a plain load, a store-release a plain
 * store as far as earlier accesses go. But Arm also orders an STLR
 * before a later LDAR (RCsc), which is the store->load order x86 does
 * not keep: STLR is an xchg, whose implied lock drains the store buffer
 * (a full barrier, cheaper than mov + mfence). The store-exclusive's lock
 * cmpxchg is a full barrier as well.
 *
 * Runs on the translating CPU's thread; the code it emits runs on that
 * vCPU's thread and shares guest memory with the other vCPUs (host
 * atomics only).
 */
#include "emu/decode.h"
#include "emu/jit/emit.h"

/* What the hit test forces rcx to when the access must take the slow
 * path: no tag ever holds it (valid tags have the low 4 bits clear). */
#define NEVER_TAG 2u
_Static_assert(EMU_TLB_INVALID != NEVER_TAG && (EMU_TLB_KEY_MASK & 0xf) == 0 &&
                   EMU_PAGE_BITS >= 4,
               "NEVER_TAG must not equal any soft-TLB tag");
_Static_assert(sizeof(struct emu_tlb_entry) == 32,
               "the inline TLB index scales by 32");
_Static_assert(sizeof(((struct emu_cpu *)0)->excl_size) == 4,
               "excl_size is compared as 32 bits");

static struct xe_mem cpu_m(size_t off) { return xe_m(JIT_CPU, (int32_t)off); }

void jit_tlb_index(struct jit_ctx *c) {
  struct xe_buf *b = c->b;
  xe_mov_rr(b, 64, XE_RDX, XE_RAX);
  xe_shift_ri(b, XE_SHR, 64, XE_RDX, EMU_PAGE_BITS - 5);
  xe_alu_ri(b, XE_AND, 32, XE_RDX, (int32_t)((EMU_TLB_SIZE - 1) << 5));
  if (!c->tlb_view)
    xe_alu_rm(b, XE_ADD, 64, XE_RDX, cpu_m(offsetof(struct emu_cpu, tlb)));
}

struct xe_mem jit_tlb_field(const struct jit_ctx *c, size_t off) {
  if (c->tlb_view)
    return xe_mi(JIT_CPU, XE_RDX, 1, c->tlb_view + (int32_t)off);
  return xe_m(XE_RDX, (int32_t)off);
}

void jit_tlb_hit_aligned(struct jit_ctx *c, unsigned idx, unsigned len,
                         bool store, uint32_t traps, uint64_t fn) {
  struct xe_buf *b = c->b;
  jit_tlb_index(c);
  xe_mov_rr(b, 64, XE_RCX, XE_RAX);
  xe_alu_ri(b, XE_AND, 64, XE_RCX, (int32_t)EMU_PAGE_MASK);
  xe_alu_rm(b, XE_OR, 64, XE_RCX, cpu_m(offsetof(struct emu_cpu, tlb_key)));
  /* one compare decides: a misaligned or trapped access compares
   * NEVER_TAG (xe_mov_ri leaves the flags alone) */
  if (len > 1) {
    xe_mov_ri(b, XE_RSI, NEVER_TAG);
    xe_test_ri(b, 32, XE_RAX, (int32_t)(len - 1));
    xe_cmov(b, XE_NE, 64, XE_RCX, XE_RSI);
  }
  if (traps) {
    xe_load(b, 32, XE_RSI, cpu_m(offsetof(struct emu_cpu, insn_traps)));
    xe_alu_ri(b, XE_AND, 32, XE_RSI, (int32_t)traps);
    xe_mov_ri(b, XE_RSI, NEVER_TAG);
    xe_cmov(b, XE_NE, 64, XE_RCX, XE_RSI);
  }
  xe_alu_rm(b, XE_CMP, 64, XE_RCX,
            jit_tlb_field(c, store ? offsetof(struct emu_tlb_entry, tag_write)
                                   : offsetof(struct emu_tlb_entry, tag_read)));
  jit_cold_jcc(c, XE_NE, idx, fn);
  xe_load(b, 64, XE_RDX,
          jit_tlb_field(c, offsetof(struct emu_tlb_entry, addend)));
}

bool jit_excl_inline(const struct emu_insn *in) {
  switch (in->op) {
  case EMU_OP_LDXR:
  case EMU_OP_STXR:
  case EMU_OP_LDAR:
  case EMU_OP_STLR:
    return in->a == 1 || in->a == 2 || in->a == 4 || in->a == 8;
  default:
    return false;
  }
}

bool jit_excl_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr) {
  *rd = 1ull << in->rn;
  *wr = 0;
  switch (in->op) {
  case EMU_OP_LDXR:
  case EMU_OP_LDAR:
    *wr = 1ull << in->rd;
    return true;
  case EMU_OP_STXR:
    *rd |= 1ull << in->rd;
    *wr = 1ull << in->rm;
    return true;
  case EMU_OP_STLR:
    *rd |= 1ull << in->rd;
    return true;
  default:
    return false;
  }
}

void jit_emit_excl(struct jit_ctx *c, unsigned idx) {
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  unsigned size = in->a, bits = 8 * size;
  bool store = in->op == EMU_OP_STXR || in->op == EMU_OP_STLR;
  struct xe_mem host = xe_mi(XE_RAX, XE_RDX, 1, 0);
  struct xe_mem excl_addr = cpu_m(offsetof(struct emu_cpu, excl_addr));
  struct xe_mem excl_val = cpu_m(offsetof(struct emu_cpu, excl_val));
  struct xe_mem excl_size = cpu_m(offsetof(struct emu_cpu, excl_size));
  if (!jit_excl_inline(in)) {
    xe_fail(b, "jit_emit_excl: not an inline exclusive");
    return;
  }
  jit_gpr_load(c, XE_RAX, in->rn);
  jit_tlb_hit_aligned(c, idx, size, store, 0,
                      (uint64_t)(uintptr_t)emu_exec_helper[in->op]);
  switch (in->op) {
  case EMU_OP_LDXR: /* zero-extended, as atomic_load_sz */
    xe_load(b, bits, XE_RCX, host);
    xe_store(b, 64, excl_addr, XE_RAX);
    xe_store_imm(b, 32, excl_size, (int32_t)size);
    xe_store(b, 64, excl_val, XE_RCX);
    jit_gpr_store(c, in->rd, XE_RCX);
    break;
  case EMU_OP_LDAR:
    xe_load(b, bits, XE_RCX, host);
    jit_gpr_store(c, in->rd, XE_RCX);
    break;
  case EMU_OP_STLR: /* xchg: see the header (STLR then LDAR) */
    jit_gpr_load(c, XE_RCX, in->rd);
    xe_xchg_rm(b, bits, XE_RCX, host);
    break;
  default: { /* STXR: status 0 on success, 1 on failure */
    xe_alu_mi(b, XE_CMP, 32, excl_size, (int32_t)size);
    struct xe_fixup f1 = xe_jcc_fwd(b, XE_NE, true);
    xe_alu_mr(b, XE_CMP, 64, excl_addr, XE_RAX);
    struct xe_fixup f2 = xe_jcc_fwd(b, XE_NE, true);
    xe_lea(b, 64, XE_RSI, host);
    jit_gpr_load(c, XE_RCX, in->rd);
    xe_load(b, 64, XE_RAX, excl_val); /* the value LDXR saw */
    xe_lock_cmpxchg(b, bits, xe_m(XE_RSI, 0), XE_RCX);
    xe_bind(b, f1); /* from the jumps: ZF clear, the store fails */
    xe_bind(b, f2);
    xe_setcc(b, XE_NE, XE_RCX);
    xe_movzx_rr(b, XE_RCX, 8, XE_RCX);
    xe_store_imm(b, 32, excl_size, 0); /* the monitor is open again */
    jit_gpr_store(c, in->rm, XE_RCX);
    break;
  }
  }
  jit_cold_resume(c);
}
