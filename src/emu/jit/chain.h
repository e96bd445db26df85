/* chain.h — how translated blocks end and continue into each other
 * (--emu-mode jit): direct successors through patched jumps, indirect
 * branches through a per-vCPU jump cache, and the dispatcher's side that
 * makes the links (run.c).
 *
 * Layout of one translation (offsets kept in struct emu_jit_chain):
 *   call:   push rbx/rbp/r12-r15; rbx = cpu; r15 = cpu->icount (emit.h's
 *           JIT_ICOUNT: the chain counts in r15, and the epilogue and
 *           every call out store it back to *cpu); the base frame of the
 *           return address stack (below); jmp body (the dispatcher's
 *           entry: it has done every check itself; chained entries keep
 *           what it saved)
 *   base:   rdx = 0; out: rax = rdx; epi: cpu->icount = r15; rsp = the
 *           base frame's; pop; ret                    (back to run.c)
 *   cross:  exec-TLB check of the block's page for the current level and
 *           address space, and its host address (as emu_chain's link
 *           check); failing: out
 *   same:   a patchable jmp, to checks while the block lives, to out once
 *           it was dropped (emu_jit_chain_dropped)
 *   checks: r15 (icount) >= cpu->jit_end: out (a request to stop,
 *           emu_cpu_request_exit, sets jit_end to 0: one check for both)
 *   body:   the instructions, then the exits (the block's cached guest
 *           registers written back first: emit.h).
 * A direct exit (B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, the end of a block
 * without a branch) stores the successor's pc, adds the block's insns to
 * icount, puts its own patch site in rdx and takes a patchable jmp, first
 * to out; the dispatcher then patches it to the successor's cross entry
 * (or same entry when both are on one guest page: the mapping checked on
 * entry to this block holds for the page's other blocks). An indirect
 * exit (BR, BLR, RET) looks the target up in the jump cache of the
 * block's code context and jumps to its cross entry (rdx = 2), or
 * returns 2 and the dispatcher fills the entry. Any other block end
 * returns 0.
 *
 * Return address stack (when the host allows it: emu_jit_ras_usable).
 * A chain keeps guest calls on the host stack so that the host's own
 * return prediction follows guest returns: BL and BLR push a frame
 * {host: a landing pad in the caller's translation, VA: the return
 * address} (push VA; call), and RET compares its target with the top
 * frame's VA: equal, `ret 8` to the landing pad, which is a direct exit
 * to that VA (a patchable jmp, linked like any other, always to the
 * cross entry: the mapping may have changed since the call), so every
 * entry check is made as for any link; different (X30 changed, longjmp,
 * a call made before this chain), every frame is dropped and the jump
 * cache is tried. The stack lives as long as the chain: every way out to
 * the dispatcher resets rsp to the base frame (VA 1, never a target the
 * compare can take to a pad: its host slot is `base`), so a flush of the
 * code region (only in the dispatcher), an EL change or an address space
 * switch (both end chains) never meets an old frame, and a dropped
 * translation's pad still only jumps to a checked entry. At most
 * EMU_JIT_RAS_DEPTH frames: a deeper call drops them all first, so the
 * host stack a chain uses is bounded whatever the guest does.
 *
 * What a translation returns (rax): 0, EMU_JIT_RET_INDIRECT, or the
 * address of a patch site's rel32 field (4-aligned) | EMU_JIT_RET_CROSS.
 *
 * Runs on the CPU's thread; the jump cache and patched code belong to
 * that CPU's struct emu_jit (no locks).
 */
#ifndef VMK_EMU_JIT_CHAIN_H
#define VMK_EMU_JIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/cpu.h"
#include "emu/jit/translate.h"
#include "emu/jit/x86_emit.h"

/* Jump cache: entries per code context, and how many contexts (system
 * mode's ELs; user mode uses 0) have one. */
#define EMU_JIT_JC_BITS 12
#define EMU_JIT_JC_SIZE (1u << EMU_JIT_JC_BITS)
#define EMU_JIT_JC_CTX 4
/* Frames (16 bytes each) the return address stack holds at most. */
#define EMU_JIT_RAS_DEPTH 128u
/* Instructions a chain runs before it goes back to the dispatcher. */
#define EMU_JIT_CHAIN_INSNS 65536u

#define EMU_JIT_RET_CROSS 1u
#define EMU_JIT_RET_INDIRECT 2u

struct emu_jit_jc_entry {
  uint64_t pc;    /* guest pc (1: empty; never an aligned pc) */
  uint64_t entry; /* the cross entry of its translation */
};

/* What the block emitter knows about the block, and (out) where its
 * entries ended up (buffer offsets; SIZE_MAX: none). */
struct emu_jit_chain {
  uint64_t pc;                       /* the block's first guest pc */
  uintptr_t host;                    /* host address of its code (0:
                                        unknown: no cross entry) */
  const struct emu_jit_jc_entry *jc; /* jump cache of its context, or NULL */
  unsigned n;                        /* guest insns it retires */
  bool ras;                          /* BL/BLR/RET use the return
                                        address stack */
  bool direct;                       /* loads: emu_jit.direct's form */
  /* Where in struct emu_cpu the soft TLB view that cpu->tlb is whenever
   * this translation runs lies (its code context's: the level, set with
   * code_ctx and changed only between chains), so the inline lookups
   * index it from rbx without loading cpu->tlb; 0: unknown (load it). */
  int32_t tlb_view;
  /* A superblock (emu_jit_block): bit i set when insn i is a branch
   * (B, B.cond, CBZ/CBNZ, TBZ/TBNZ) inside the array, which goes on at
   * insn i + 1, the block it continues into on the same guest page; its
   * other way is a side exit, and reaching insn i + 1 makes the entry
   * check of that block (icount against jit_end). 0: one block. */
  uint64_t mid;
  size_t out, epi, cross, same, body; /* (out) */
  /* (out) the direct loads' fault sites: {host load, its stub}, offsets
   * in the translation (at most two loads per insn) */
  unsigned nsites;
  uint32_t sites[2 * (EMU_BLOCK_MAX + 2)][2];
  struct xe_fixup to_body;
};

/* Whether translated code may keep a return address stack on this
 * thread's host stack: not when the host enforces a shadow stack (CET),
 * which would fault on the reset of rsp. */
bool emu_jit_ras_usable(void);

/* Emits call/out/cross/same/checks; emu_jit_chain_body then binds the
 * body's start. */
void emu_jit_chain_head(struct xe_buf *b, struct emu_jit_chain *c);
void emu_jit_chain_body(struct xe_buf *b, struct emu_jit_chain *c);
/* The block's last insn when it is a branch (see the header): emits the
 * branch and its exits and returns true; else false (emit the insn, then
 * emu_jit_chain_plain_exit). */
struct jit_ctx;
bool emu_jit_chain_exit(struct jit_ctx *x, struct emu_jit_chain *c,
                        const struct emu_insn *last);
/* A superblock's inner branch (c->mid): the side exit, then the entry
 * check of the block that follows (n: the insns retired since the last
 * one). Side exits are emitted by emu_jit_chain_sides, after the body. */
void emu_jit_chain_mid(struct jit_ctx *x, const struct emu_insn *in,
                       unsigned n);
void emu_jit_chain_sides(struct jit_ctx *x, struct emu_jit_chain *c);
/* The end of a block whose last insn set cpu->pc itself. */
void emu_jit_chain_plain_exit(struct xe_buf *b, struct emu_jit_chain *c);
/* Whether insns [0, count) may run before a superblock's next block or a
 * self-loop's back branch: this translator's own emitters, no store, no
 * helper call, no branch but the inner ones of mid (so nothing in them
 * can drop the block that holds them: translate.c). */
bool emu_jit_loop_safe(const struct emu_insn *insn, unsigned count,
                       uint64_t mid);
/* True for the ops emu_jit_chain_exit emits inline. */
bool emu_jit_chain_exit_op(const struct emu_insn *in);

/* ---- the dispatcher's side (run.c) ---- */

/* The translation of b, made on first use (NULL: the interpreter runs
 * it); empties the jump cache when the code region or the block cache
 * was flushed since it was filled. */
emu_jit_fn emu_jit_block(struct emu_cpu *cpu, struct emu_block *b);
/* A translation returned ret (its code region had made `flushes` flushes
 * and the block cache had generation `gen` when it was called); b is the
 * block at cpu->pc now, translated: patches the exit that returned to
 * enter b next time, or fills b into the jump cache. */
void emu_jit_link(struct emu_cpu *cpu, uintptr_t ret, uint64_t flushes,
                  uint64_t gen, struct emu_block *b);
/* b (translated) was dropped: its same entry now leads out, so no link
 * or jump cache entry enters it again. */
void emu_jit_chain_dropped(struct emu_cpu *cpu, struct emu_block *b);

#endif
