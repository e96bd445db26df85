/* chain.c — block exits of translated code and the links between
 * translations (see chain.h for the layout and the return protocol).
 *
 * Why a link is only followed when valid (the interpreter's emu_chain
 * rules): a cross entry compares the exec TLB entry of the block's page
 * with the tag the current level and address space need and its addend
 * with the one the block was decoded through, so a link never enters a
 * block whose VA is not executable or maps another page now. A same
 * entry skips that: it is only patched into exits of blocks on the same
 * guest page, and the block that jumps there was itself entered through
 * a check (or the dispatcher's lookup) with the same page mapping, for
 * the same level (the blocks that may change the mapping, the level or
 * the address space end in system instructions, whose exits return to
 * the dispatcher). A dropped block (page store, IC IVAU) has its same
 * entry patched to out, which both kinds of entry pass through; a drop
 * of every block (IC IALLU, munmap/mprotect of code in user mode, a full
 * arena) sets cpu->jit_end to 0 so the running chain stops at the next
 * entry, and the dispatcher only enters translations of live blocks from
 * then on (old ones are left unreachable: nothing links to them but
 * themselves, and the jump cache is emptied). A full code region is
 * flushed only from the dispatcher, with no translation running.
 *
 * Runs on the CPU's thread; no locks (one emu_jit per CPU).
 */
#include "emu/jit/chain.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "emu/block.h"
#include "emu/decode.h"
#include "emu/jit/emit.h"

_Static_assert(sizeof(((struct emu_jit *)0)->jc) /
                       sizeof(((struct emu_jit *)0)->jc[0]) ==
                   EMU_JIT_JC_CTX,
               "one jump cache per code context");

#define CPU XE_RBX

static struct xe_mem cpu_m(size_t off) { return xe_m(CPU, (int32_t)off); }
#define CPU_M(field) cpu_m(offsetof(struct emu_cpu, field))

static bool fits_s32(uint64_t v) { return (int64_t)v == (int32_t)v; }

/* cpu->pc = v */
static void store_pc(struct xe_buf *b, uint64_t v) {
  if (fits_s32(v)) {
    xe_store_imm(b, 64, CPU_M(pc), (int32_t)v);
  } else {
    xe_mov_ri(b, XE_RAX, v);
    xe_store(b, 64, CPU_M(pc), XE_RAX);
  }
}

/* Where xe_jmp_patchable, emitted after `extra` more bytes, will put its
 * rel32 field (execution address): the same rule as xe_jmp_patchable. */
static uint64_t patch_field_at(const struct xe_buf *b, size_t extra) {
  uint64_t a = xe_addr(b, b->len + extra);
  return a + (3 - (a & 3)) + 1;
}

void emu_jit_chain_head(struct xe_buf *b, struct emu_jit_chain *c) {
  /* call: entry rsp = 8 mod 16; six pushes and 8 bytes align the
   * helpers' calls */
  static const enum xe_reg saved[6] = {XE_RBX, XE_RBP, XE_R12,
                                       XE_R13, XE_R14, XE_R15};
  for (unsigned i = 0; i < 6; i++)
    xe_push(b, saved[i]);
  /* 24 bytes: the base frame {host, VA} of the return address stack
   * and 8 of padding; rsp is 16-aligned here and at every frame */
  xe_lea(b, 64, XE_RSP, xe_m(XE_RSP, -24));
  xe_mov_rr(b, 64, CPU, XE_RDI);
  xe_load(b, 64, JIT_ICOUNT, CPU_M(icount));
  struct xe_fixup to_setup = xe_jmp_fwd(b, true);
  size_t base = xe_here(b);
  xe_mov_ri(b, XE_RDX, 0);
  c->out = xe_here(b);
  xe_mov_rr(b, 64, XE_RAX, XE_RDX);
  c->epi = xe_here(b);
  xe_store(b, 64, CPU_M(icount), JIT_ICOUNT);
  xe_load(b, 64, XE_RSP, CPU_M(jit_sp));
  xe_lea(b, 64, XE_RSP, xe_m(XE_RSP, 24));
  for (unsigned i = 6; i-- > 0;)
    xe_pop(b, saved[i]);
  xe_ret(b);
  xe_bind(b, to_setup);
  xe_store(b, 64, CPU_M(jit_sp), XE_RSP);
  xe_lea(b, 64, XE_RAX, xe_m(XE_RSP, -16 * (int32_t)EMU_JIT_RAS_DEPTH));
  xe_store(b, 64, CPU_M(jit_sp_lim), XE_RAX);
  xe_lea(b, 64, XE_RAX, xe_mrip(xe_addr(b, base)));
  xe_store(b, 64, xe_m(XE_RSP, 0), XE_RAX);
  xe_store_imm(b, 64, xe_m(XE_RSP, 8), 1); /* no guest return goes here */
  c->to_body = xe_jmp_fwd(b, false);
  c->cross = SIZE_MAX;
  if (c->host) {
    c->cross = xe_here(b);
    unsigned idx = (unsigned)(c->pc >> EMU_PAGE_BITS) & (EMU_TLB_SIZE - 1);
    int32_t ent = (int32_t)(idx * sizeof(struct emu_tlb_entry));
    uint64_t page = c->pc & EMU_PAGE_MASK;
    /* the entry: [rax + ent], or [rbx + view + ent] when the view is
     * known (chain.h: tlb_view) */
    enum xe_reg t = XE_RAX;
    if (c->tlb_view)
      t = CPU, ent += c->tlb_view;
    else
      xe_load(b, 64, XE_RAX, CPU_M(tlb));
    xe_load(b, 64, XE_RCX, CPU_M(tlb_key));
    if (fits_s32(page)) {
      xe_alu_ri(b, XE_OR, 64, XE_RCX, (int32_t)page);
    } else {
      xe_mov_ri(b, XE_RSI, page);
      xe_alu_rr(b, XE_OR, 64, XE_RCX, XE_RSI);
    }
    xe_alu_rm(b, XE_CMP, 64, XE_RCX,
              xe_m(t, ent + (int32_t)offsetof(struct emu_tlb_entry, tag_exec)));
    xe_jcc_to(b, XE_NE, c->out);
    xe_mov_ri(b, XE_RCX, (uint64_t)c->host - c->pc);
    xe_alu_rm(b, XE_CMP, 64, XE_RCX,
              xe_m(t, ent + (int32_t)offsetof(struct emu_tlb_entry, addend)));
    xe_jcc_to(b, XE_NE, c->out);
  }
  /* same: to the checks right after it (5 bytes on) until dropped */
  uint64_t checks = patch_field_at(b, 0) + 4;
  c->same = xe_jmp_patchable(b, checks);
  if (xe_ok(b) && xe_addr(b, xe_here(b)) != checks)
    xe_fail(b, "chain: the same entry's jmp is not where it was computed");
  xe_alu_rm(b, XE_CMP, 64, JIT_ICOUNT, CPU_M(jit_end));
  xe_jcc_to(b, XE_AE, c->out);
}

void emu_jit_chain_body(struct xe_buf *b, struct emu_jit_chain *c) {
  xe_bind(b, c->to_body);
  c->body = xe_here(b);
}

/* A patch site: rdx = its rel32 field's address | cross, and the
 * patchable jmp, first to out. */
static void patch_site(struct xe_buf *b, struct emu_jit_chain *c, bool cross) {
  /* lea rdx, [rip + d] is 7 bytes; the jmp's rel32 field follows */
  uint64_t field = patch_field_at(b, 7);
  xe_lea(b, 64, XE_RDX, xe_mrip(field | (cross ? EMU_JIT_RET_CROSS : 0)));
  size_t at = xe_jmp_patchable(b, xe_addr(b, c->out));
  if (xe_ok(b) && xe_addr(b, at) + 1 != field)
    xe_fail(b, "chain: a patch site is not where it was computed");
}

/* A direct exit to guest pc target (see chain.h). */
static void exit_to(struct xe_buf *b, struct emu_jit_chain *c,
                    uint64_t target) {
  store_pc(b, target);
  if (c->n) /* 0: a superblock's entry check failed (emu_jit_chain_mid) */
    xe_alu_ri(b, XE_ADD, 64, JIT_ICOUNT, (int32_t)c->n);
  patch_site(b, c, ((target ^ c->pc) & EMU_PAGE_MASK) != 0);
}

/* BL/BLR with the return address in ra: a frame {landing pad, ra} on
 * the return address stack (all of them dropped first when it is full),
 * then on to what follows. The pad, where a matching RET lands with
 * cpu->pc and icount already its own, is a direct exit to ra through
 * the cross entry (see chain.h). */
static void ras_push(struct xe_buf *b, struct emu_jit_chain *c,
                     enum xe_reg ra) {
  xe_alu_rm(b, XE_CMP, 64, XE_RSP, CPU_M(jit_sp_lim));
  struct xe_fixup room = xe_jcc_fwd(b, XE_A, true);
  xe_load(b, 64, XE_RSP, CPU_M(jit_sp));
  xe_bind(b, room);
  xe_push(b, ra);
  struct xe_fixup call = xe_call_fwd(b);
  patch_site(b, c, true);
  xe_bind(b, call);
}

/* RET with its target in rax (cpu->pc and icount done): to the top
 * frame's pad when its VA is the target, else every frame dropped and
 * on to what follows (the jump cache). */
static void ras_pop(struct xe_buf *b) {
  xe_alu_rm(b, XE_CMP, 64, XE_RAX, xe_m(XE_RSP, 8));
  struct xe_fixup miss = xe_jcc_fwd(b, XE_NE, true);
  xe_ret_imm(b, 8);
  xe_bind(b, miss);
  xe_load(b, 64, XE_RSP, CPU_M(jit_sp));
}

/* The back branch of a self-loop (translate.c): the cache as at the
 * loop's head, the insns counted, and the entry's checks
 * (jit_end: the icount budget and requests to stop) made here; passing,
 * straight to the head; failing, the cache written back and out to the
 * dispatcher. */
static void loop_back(struct jit_ctx *x, struct emu_jit_chain *c, bool settle) {
  struct xe_buf *b = x->b;
  jit_cache_loop_back(x);
  xe_alu_ri(b, XE_ADD, 64, JIT_ICOUNT, (int32_t)c->n);
  xe_alu_rm(b, XE_CMP, 64, JIT_ICOUNT, CPU_M(jit_end));
  xe_jcc_to(b, XE_B, x->loop_head);
  if (settle) /* the raw flags the back branch kept in eax */
    jit_flags_settle(x);
  jit_cache_sync(x);
  store_pc(b, c->pc);
  xe_mov_ri(b, XE_RAX, 0);
  xe_jmp_to(b, c->epi);
}

/* A direct exit with the cached registers written back, or a self-loop's
 * back branch. */
static void leave(struct jit_ctx *x, struct emu_jit_chain *c, uint64_t target) {
  if (x->loop && target == c->pc) {
    loop_back(x, c, false);
    return;
  }
  jit_cache_sync(x);
  exit_to(x->b, c, target);
}

/* A conditional exit's path: cpu->nzcv finished first when the insn
 * before left it in eax (flags.c), except on a self-loop's back branch
 * when the loop sets NZCV before reading it: there only if it stops. */
static void leave_cc(struct jit_ctx *x, struct emu_jit_chain *c,
                     uint64_t target) {
  if (x->loop && target == c->pc && !x->nzcv_head_live) {
    loop_back(x, c, true);
    return;
  }
  jit_flags_settle(x);
  leave(x, c, target);
}

/* Two exits: the condition in host flags (cc) taken, else pc + 4. Each
 * path starts from the cache state at the jcc. */
static void exits_cc(struct jit_ctx *x, struct emu_jit_chain *c, enum xe_cc cc,
                     const struct emu_insn *in) {
  struct xe_buf *b = x->b;
  unsigned valid = x->valid, dirty = x->dirty;
  struct xe_fixup taken = xe_jcc_fwd(b, cc, false);
  leave_cc(x, c, in->pc + 4);
  x->valid = valid, x->dirty = dirty;
  xe_bind(b, taken);
  leave_cc(x, c, in->imm);
}

/* CBZ/CBNZ/TBZ/TBNZ: tests the register (or its bit) into the host
 * flags; the condition under which the branch is taken. */
static enum xe_cc test_branch_reg(struct jit_ctx *x,
                                  const struct emu_insn *in) {
  struct xe_buf *b = x->b;
  enum xe_reg r = jit_gpr_src(x, in->rd, XE_RAX);
  if (in->op == EMU_OP_CBZ || in->op == EMU_OP_CBNZ) {
    xe_test_rr(b, in->sf ? 64 : 32, r, r);
  } else if ((in->a & 63) < 32) {
    xe_test_ri(b, 32, r, (int32_t)(1u << (in->a & 63)));
  } else {
    if (r != XE_RAX)
      xe_mov_rr(b, 64, XE_RAX, r);
    xe_shift_ri(b, XE_SHR, 64, XE_RAX, in->a & 63);
    xe_test_ri(b, 32, XE_RAX, 1);
  }
  return in->op == EMU_OP_CBZ || in->op == EMU_OP_TBZ ? XE_E : XE_NE;
}

/* An exit emu_jit_chain_sides emits later: taken through a jcc on cc
 * from here, with the cache state and insn count of this point. */
static void side_exit(struct jit_ctx *x, enum xe_cc cc, uint64_t target,
                      unsigned n) {
  if (x->nside >= sizeof x->side / sizeof *x->side) {
    xe_fail(x->b, "jit: too many side exits in one superblock");
    return;
  }
  x->side[x->nside].from = xe_jcc_fwd(x->b, cc, false);
  x->side[x->nside].target = target;
  x->side[x->nside].valid = x->valid;
  x->side[x->nside].dirty = x->dirty;
  x->side[x->nside].cur = x->cur;
  x->side[x->nside].n = n;
  x->nside++;
}

void emu_jit_chain_mid(struct jit_ctx *x, const struct emu_insn *in,
                       unsigned n) {
  struct xe_buf *b = x->b;
  uint64_t next = in[1].pc;
  enum xe_cc cc = XE_NE;
  switch (in->op) {
  case EMU_OP_B:
    if (in->imm != next)
      xe_fail(b, "jit: a superblock's B does not go on to its next insn");
    break;
  case EMU_OP_B_COND:
    cc = jit_cond(x, in->b);
    break;
  case EMU_OP_CBZ:
  case EMU_OP_CBNZ:
  case EMU_OP_TBZ:
  case EMU_OP_TBNZ: {
    cc = test_branch_reg(x, in);
    break;
  }
  default:
    xe_fail(b, "jit: not a superblock's inner branch");
    return;
  }
  if (in->op != EMU_OP_B && in->imm != in->pc + 4) {
    /* the way the superblock does not go on is the side exit (x86
     * conditions come in pairs: cc ^ 1 is the opposite) */
    if (next == in->imm)
      side_exit(x, (enum xe_cc)(cc ^ 1), in->pc + 4, n);
    else if (next == in->pc + 4)
      side_exit(x, cc, in->imm, n);
    else
      xe_fail(b, "jit: a superblock's branch goes on nowhere it leads");
  }
  /* the next block's entry check, as its own translation makes it (eax
   * keeps the raw flags a GRAB setter left: that exit finishes NZCV
   * from them, as the side exit does) */
  if (n)
    xe_alu_ri(b, XE_ADD, 64, JIT_ICOUNT, (int32_t)n);
  xe_alu_rm(b, XE_CMP, 64, JIT_ICOUNT, CPU_M(jit_end));
  side_exit(x, XE_AE, next, 0);
  jit_flags_settle_on(x); /* for later readers and exits, if any */
}

void emu_jit_chain_sides(struct jit_ctx *x, struct emu_jit_chain *c) {
  unsigned n = c->n;
  for (unsigned i = 0; i < x->nside; i++) {
    xe_bind(x->b, x->side[i].from);
    x->valid = x->side[i].valid;
    x->dirty = x->side[i].dirty;
    x->cur = x->side[i].cur;
    c->n = x->side[i].n;
    leave_cc(x, c, x->side[i].target); /* NZCV finished first */
  }
  c->n = n;
}

bool emu_jit_chain_exit_op(const struct emu_insn *in) {
  switch (in->op) {
  case EMU_OP_B:
  case EMU_OP_BL:
  case EMU_OP_B_COND:
  case EMU_OP_CBZ:
  case EMU_OP_CBNZ:
  case EMU_OP_TBZ:
  case EMU_OP_TBNZ:
  case EMU_OP_BR:
  case EMU_OP_BLR:
  case EMU_OP_RET:
  case EMU_OP_END_BLOCK:
  case EMU_OP_ISB:
    return true;
  default:
    return false;
  }
}

/* Every exit leaves the cached registers written back (no flags change,
 * so the branch's condition survives it). */
bool emu_jit_chain_exit(struct jit_ctx *x, struct emu_jit_chain *c,
                        const struct emu_insn *in) {
  struct xe_buf *b = x->b;
  switch (in->op) {
  case EMU_OP_BL:
    jit_cache_sync(x);
    xe_mov_ri(b, XE_RAX, in->pc + 4);
    xe_store(b, 64, jit_reg_m(30), XE_RAX);
    if (c->ras)
      ras_push(b, c, XE_RAX);
    exit_to(b, c, in->imm);
    return true;
  case EMU_OP_B:
    leave(x, c, in->imm);
    return true;
  case EMU_OP_END_BLOCK:
  case EMU_OP_ISB: /* ends its block, as the interpreter's, which chains
                      on too: a direct exit, no dispatcher round trip */
    jit_cache_sync(x);
    exit_to(b, c, in->op == EMU_OP_ISB ? in->pc + 4 : in->pc);
    return true;
  case EMU_OP_B_COND: {
    exits_cc(x, c, jit_cond(x, in->b), in);
    return true;
  }
  case EMU_OP_CBZ:
  case EMU_OP_CBNZ:
  case EMU_OP_TBZ:
  case EMU_OP_TBNZ: {
    exits_cc(x, c, test_branch_reg(x, in), in);
    return true;
  }
  case EMU_OP_BR:
  case EMU_OP_BLR:
  case EMU_OP_RET:
    jit_gpr_load(x, XE_RAX, in->rn); /* before x30: BLR X30 */
    jit_cache_sync(x);
    if (in->op == EMU_OP_BLR) {
      xe_mov_ri(b, XE_RCX, in->pc + 4);
      xe_store(b, 64, jit_reg_m(30), XE_RCX);
    }
    xe_store(b, 64, CPU_M(pc), XE_RAX);
    xe_alu_ri(b, XE_ADD, 64, JIT_ICOUNT, (int32_t)c->n);
    if (c->ras && in->op == EMU_OP_BLR)
      ras_push(b, c, XE_RCX);
    else if (c->ras && in->op == EMU_OP_RET)
      ras_pop(b);
    if (c->jc) {
      /* rcx = index * 4; entries are 16 bytes: [rsi + rcx * 4] */
      xe_mov_rr(b, 32, XE_RCX, XE_RAX);
      xe_alu_ri(b, XE_AND, 32, XE_RCX, (int32_t)((EMU_JIT_JC_SIZE - 1) << 2));
      xe_mov_ri(b, XE_RSI, (uint64_t)(uintptr_t)c->jc);
      xe_alu_rm(b, XE_CMP, 64, XE_RAX, xe_mi(XE_RSI, XE_RCX, 4, 0));
      struct xe_fixup miss = xe_jcc_fwd(b, XE_NE, true);
      xe_mov_ri(b, XE_RDX, EMU_JIT_RET_INDIRECT);
      xe_jmp_m(b, xe_mi(XE_RSI, XE_RCX, 4, 8));
      xe_bind(b, miss);
      xe_mov_ri(b, XE_RAX, EMU_JIT_RET_INDIRECT);
    } else {
      xe_mov_ri(b, XE_RAX, 0);
    }
    xe_jmp_to(b, c->epi);
    return true;
  default:
    return false;
  }
}

void emu_jit_chain_plain_exit(struct xe_buf *b, struct emu_jit_chain *c) {
  xe_alu_ri(b, XE_ADD, 64, JIT_ICOUNT, (int32_t)c->n);
  xe_mov_ri(b, XE_RAX, 0);
  xe_jmp_to(b, c->epi);
}

bool emu_jit_ras_usable(void) {
#if defined(__x86_64__) && defined(__linux__)
  /* arch_prctl(ARCH_SHSTK_STATUS): a kernel without shadow stacks
   * refuses it, which means none is enforced */
  unsigned long features = 0;
  if (syscall(SYS_arch_prctl, 0x5005 /* ARCH_SHSTK_STATUS */, &features) == 0 &&
      (features & 1 /* ARCH_SHSTK_SHSTK */))
    return false;
  return true;
#else
  return false;
#endif
}

/* ---- the dispatcher's side ---- */

static void jc_clear(struct emu_jit *j) {
  for (unsigned k = 0; k < EMU_JIT_JC_CTX; k++)
    if (j->jc[k])
      for (unsigned i = 0; i < EMU_JIT_JC_SIZE; i++)
        j->jc[k][i] = (struct emu_jit_jc_entry){.pc = 1, .entry = 0};
}

/* The jump cache of code context ctx, allocated on first use (NULL:
 * none: out of memory or a context beyond EMU_JIT_JC_CTX). */
static struct emu_jit_jc_entry *jc_of(struct emu_jit *j, uint32_t ctx) {
  if (ctx >= EMU_JIT_JC_CTX)
    return NULL;
  if (!j->jc[ctx]) {
    struct emu_jit_jc_entry *t = malloc(EMU_JIT_JC_SIZE * sizeof *t);
    if (!t)
      return NULL;
    for (unsigned i = 0; i < EMU_JIT_JC_SIZE; i++)
      t[i] = (struct emu_jit_jc_entry){.pc = 1, .entry = 0};
    j->jc[ctx] = t;
  }
  return j->jc[ctx];
}

/* Superblocks: a block whose insns before its last cannot drop it (no
 * store, no helper call: emu_jit_loop_safe) and that ends in a direct
 * branch may go on, in its own translation, into the block the branch
 * leads to on the same guest page (decoded from the same host page, so
 * a drop of the page drops the superblock with it), and so on for up to
 * SUPER_MAX blocks; the branch's other way is a side exit, and the entry
 * check of the next block is made where it begins (emu_jit_chain_mid).
 * Each block's code is what its own translation would run; the cached
 * registers and NZCV stay in host registers across the branch, and a
 * loop through two or more blocks runs in one translation. */
#define SUPER_MAX 4

static bool super_end(const struct emu_insn *in) {
  switch (in->op) {
  case EMU_OP_B:
  case EMU_OP_B_COND:
  case EMU_OP_CBZ:
  case EMU_OP_CBNZ:
  case EMU_OP_TBZ:
  case EMU_OP_TBNZ:
    return true;
  default:
    return false;
  }
}

/* The block at pc on b's page, decoded into out (at most max insns, a
 * synthetic end insn included, as block.c makes it): its entries, 0 when
 * it does not fit; *n: the guest insns. */
static unsigned super_decode(const struct emu_block *b, uint64_t pc,
                             struct emu_insn *out, unsigned max, unsigned *n) {
  const unsigned char *code =
      (const unsigned char *)(b->host + (uintptr_t)(pc - b->pc));
  unsigned room = (unsigned)((EMU_PAGE_SIZE - (pc & ~EMU_PAGE_MASK)) / 4);
  unsigned k = 0;
  bool ended = false;
  while (!ended && k < room && k < EMU_BLOCK_MAX) {
    if (k >= max)
      return 0;
    uint32_t raw;
    memcpy(&raw, code + 4 * k, 4);
    ended = emu_decode(&out[k], raw, pc + 4ull * k);
    k++;
  }
  *n = k;
  if (!ended) {
    if (k >= max)
      return 0;
    out[k] = (struct emu_insn){
        .fn = emu_h_end_block, .pc = pc + 4ull * k, .op = EMU_OP_END_BLOCK};
    k++;
  }
  return k;
}

/* Whether the last branch of insn[0, count) leads to pc. */
static bool leads_to(const struct emu_insn *last, uint64_t pc) {
  return last->imm == pc || (last->op != EMU_OP_B && last->pc + 4 == pc);
}

/* b's superblock into out (room for EMU_BLOCK_MAX + 1 entries): its
 * entries (0: b on its own), the inner branches in *mid, guest insns in
 * *n. */
static unsigned super_build(struct emu_cpu *cpu, const struct emu_block *b,
                            struct emu_insn *out, uint64_t *mid, unsigned *n) {
  *mid = 0;
  unsigned count = b->ninsn;
  if (cpu->dbg_bp || count != b->n || count == 0 ||
      !super_end(&b->insn[count - 1]) ||
      !emu_jit_loop_safe(b->insn, count - 1, 0))
    return 0;
  memcpy(out, b->insn, count * sizeof *out);
  *n = b->n;
  uint64_t starts[SUPER_MAX] = {b->pc};
  unsigned nblocks = 1;
  struct emu_insn tmp[2][EMU_BLOCK_MAX + 1];
  while (nblocks < SUPER_MAX) {
    const struct emu_insn *last = &out[count - 1];
    uint64_t cand[2] = {last->imm, last->pc + 4};
    unsigned ncand = last->op == EMU_OP_B || last->imm == last->pc + 4 ? 1 : 2;
    unsigned got[2] = {0, 0}, gn[2] = {0, 0};
    for (unsigned k = 0; k < ncand; k++) {
      bool seen = false;
      for (unsigned s = 0; s < nblocks; s++)
        seen |= starts[s] == cand[k];
      if (seen || ((cand[k] ^ b->pc) & EMU_PAGE_MASK))
        continue;
      got[k] = super_decode(b, cand[k], tmp[k], EMU_BLOCK_MAX - count, &gn[k]);
    }
    /* which way: one that loops back to the start; else a backward
     * branch's target (a loop's), else the fall-through */
    int pick = -1;
    for (unsigned k = 0; k < ncand && pick < 0; k++)
      if (got[k] && super_end(&tmp[k][got[k] - 1]) &&
          leads_to(&tmp[k][got[k] - 1], b->pc))
        pick = (int)k;
    if (pick < 0 && got[0] && (ncand == 1 || last->imm < last->pc))
      pick = 0;
    if (pick < 0 && ncand == 2 && got[1])
      pick = 1;
    if (pick < 0)
      break;
    *mid |= 1ull << (count - 1);
    memcpy(&out[count], tmp[pick], got[pick] * sizeof *out);
    count += got[pick];
    *n += gn[pick];
    starts[nblocks++] = cand[pick];
    const struct emu_insn *first = &out[count - got[pick]];
    if (!super_end(&out[count - 1]) ||
        !emu_jit_loop_safe(first, got[pick] - 1, 0) ||
        leads_to(&out[count - 1], b->pc))
      break; /* the last block: its end cannot go on, or loops back */
  }
  return nblocks > 1 ? count : 0;
}

emu_jit_fn emu_jit_block(struct emu_cpu *cpu, struct emu_block *b) {
  struct emu_jit *j = cpu->jit;
  if (EMU_UNLIKELY(j->block_gen != emu_block_gen(cpu))) {
    /* every block was dropped: the jump cache leads to old translations.
     * Nothing can enter those any more and none runs now (only the
     * dispatcher calls this), so their code goes too: a guest kernel's
     * frequent IC IALLU would otherwise fill the region with dead code
     * (system mode, --cpus 8: 1-2 full flushes per vCPU in a boot). */
    if (j->cb.used)
      emu_code_buf_flush(&j->cb);
    jc_clear(j);
    j->block_gen = emu_block_gen(cpu);
  }
  if (EMU_LIKELY(b->jit_gen == j->cb.flushes + 1))
    return (emu_jit_fn)b->jit;
  struct emu_jit_chain c = {.pc = b->pc,
                            .host = b->host,
                            .jc = jc_of(j, b->ctx),
                            .n = b->n,
                            .ras = j->ras,
                            .direct = j->direct};
  /* b is the block at cpu->pc for cpu->code_ctx (the dispatcher's
   * lookup): cpu->tlb is its context's view now and whenever it runs */
  ptrdiff_t view = (const char *)cpu->tlb - (const char *)cpu;
  if (view == (ptrdiff_t)offsetof(struct emu_cpu, tlb_views[0]) ||
      view == (ptrdiff_t)offsetof(struct emu_cpu, tlb_views[1]))
    c.tlb_view = (int32_t)view;
  const struct emu_insn *insn = b->insn;
  unsigned count = b->ninsn;
  struct emu_insn sb[EMU_BLOCK_MAX + 1];
  unsigned sn = 0,
           scount = j->no_super ? 0 : super_build(cpu, b, sb, &c.mid, &sn);
  struct emu_insn *keep =
      scount ? emu_block_extra(cpu, scount * sizeof *keep) : NULL;
  if (keep) {
    /* helpers get pointers into the array: it lives as long as b */
    memcpy(keep, sb, scount * sizeof *keep);
    insn = keep, count = scount, c.n = sn;
    j->supers++;
    j->super_blocks += (unsigned)__builtin_popcountll(c.mid) + 1;
  } else {
    c.mid = 0;
  }
  bool flushed;
  b->jit = (void *)emu_jit_translate_chained(j, insn, count, &c, &flushed);
  if (flushed)
    jc_clear(j);
  b->jit_gen = j->cb.flushes + 1;
  if (b->jit) {
    uint64_t base = (uint64_t)(uintptr_t)b->jit;
    b->jit_cross = c.cross != SIZE_MAX ? base + c.cross : 0;
    b->jit_same = base + c.same;
    b->jit_out = base + c.out;
    if (j->perfmap) /* the translation is the last one committed */
      fprintf(j->perfmap, "%llx %llx jit:%llx\n", (unsigned long long)base,
              (unsigned long long)((uint64_t)(uintptr_t)j->cb.rx + j->cb.used -
                                   base),
              (unsigned long long)b->pc);
  }
  return (emu_jit_fn)b->jit;
}

void emu_jit_link(struct emu_cpu *cpu, uintptr_t ret, uint64_t flushes,
                  uint64_t gen, struct emu_block *b) {
  struct emu_jit *j = cpu->jit;
  /* the translation that returned ret is gone, or belongs to dropped
   * blocks nothing enters any more */
  if (j->cb.flushes != flushes || emu_block_gen(cpu) != gen || !b->jit)
    return;
  if (ret == EMU_JIT_RET_INDIRECT) {
    struct emu_jit_jc_entry *t = jc_of(j, cpu->code_ctx);
    if (t && b->jit_cross) {
      struct emu_jit_jc_entry *e = &t[(b->pc >> 2) & (EMU_JIT_JC_SIZE - 1)];
      e->pc = b->pc;
      e->entry = b->jit_cross;
      j->jc_fills++;
    }
    return;
  }
  uint64_t field = ret & ~(uintptr_t)3;
  uint64_t want = (ret & EMU_JIT_RET_CROSS) ? b->jit_cross : b->jit_same;
  if (!want || !emu_code_buf_contains(&j->cb, field))
    return;
  int32_t rel;
  memcpy(&rel, (const void *)(uintptr_t)field, sizeof rel);
  if (field + 4 + (uint64_t)(int64_t)rel == want)
    return; /* linked already (the successor's checks sent it here) */
  if (emu_code_buf_patch_jmp(&j->cb, field - 1, want) == 0)
    j->links++;
}

void emu_jit_chain_dropped(struct emu_cpu *cpu, struct emu_block *b) {
  struct emu_jit *j = cpu->jit;
  if (!j || !b->jit || b->jit_gen != j->cb.flushes + 1)
    return;
  if (emu_code_buf_patch_jmp(&j->cb, b->jit_same, b->jit_out) == 0)
    j->unlinked++;
  else /* cannot happen for a live translation; never leave it enterable */
    emu_flush_code(cpu);
}
