/* translate.h — the AArch64 → x86-64 block translator (--emu-mode jit).
 *
 * A decoded block (struct emu_insn array from block.c, ending with an
 * instruction that sets cpu->pc) becomes one host function
 * void f(struct emu_cpu *cpu). Integer data processing, loads/stores (the
 * soft-TLB hit path; emit_ldst.c) and branches are emitted inline on
 * cpu->r[] in memory (emit.h); every other instruction is a call to its
 * semantics (emu_exec_helper[op], or the interpreter handler of an
 * FP/SIMD insn, which returns in + 1 and never chains). Faults leave
 * through emu_raise's longjmp: the translated frame holds nothing that
 * needs unwinding (only callee-saved registers, restored by longjmp), and
 * every inline instruction writes state only after its last check, so
 * cpu->pc and the registers are those of the faulting instruction.
 *
 * Runs on the CPU's thread; a struct emu_jit belongs to one emu_cpu.
 */
#ifndef VMK_EMU_JIT_TRANSLATE_H
#define VMK_EMU_JIT_TRANSLATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "emu/cpu.h"
#include "emu/jit/code_buf.h"
#include "emu/jit/x86_emit.h"
#include "vmkit/vmkit.h"

/* Returns how the block left (jit/chain.h: 0, or what the dispatcher
 * needs to link the exit it took). */
typedef uintptr_t (*emu_jit_fn)(struct emu_cpu *cpu);

struct emu_jit_chain;
struct emu_jit_jc_entry;

struct emu_jit {
  struct emu_code_buf cb;
  uint64_t blocks;     /* translations made */
  uint64_t refused;    /* blocks left to the interpreter (debug checks) */
  uint64_t failed;     /* blocks that should have translated and did not:
                          a translator bug, reported (see emu_jit_translate) */
  uint64_t inline_ops; /* guest insns emitted inline */
  uint64_t helper_ops; /* guest insns emitted as helper calls */
  /* Chaining (jit/chain.c): the jump cache per code context (allocated
   * on first use), the block cache generation it was filled in, and
   * counters: exits patched to a successor, dropped blocks cut off,
   * jump cache fills. */
  struct emu_jit_jc_entry *jc[4];
  uint64_t block_gen;
  uint64_t links, unlinked, jc_fills;
  uint64_t dispatches; /* translations called by the dispatcher */
  /* Superblocks (chain.c: emu_jit_block): translations that go on into
   * the blocks after their own on the same guest page, and how many
   * blocks they hold in all. no_super: each block on its own (tests,
   * VMK_JIT_SUPER=0 in vmkit exec). */
  uint64_t supers, super_blocks;
  bool no_super;
  /* BL/BLR/RET use the return address stack (jit/chain.h): the host
   * allows it (emu_jit_ras_usable, asked once). */
  bool ras;
  /* Loads take the guest address space as one host region (user mode:
   * guest VA va at host cpu->jit_direct_base + va for va below
   * 2^EMU_JIT_DIRECT_BITS, every page the guest may not read kept
   * inaccessible on the host, and a host SIGSEGV at a load sent to its
   * slow path: emu_jit_fault_stub) instead of the soft TLB. Set by the
   * user-mode runner; system mode never. Stores keep the TLB (its
   * missing write tag is what catches a store to a page holding code). */
  bool direct;
  /* When set (VMK_JIT_PERFMAP in vmkit exec): each translation gets a
   * "start size jit:GUESTPC" line, perf's map of JIT code; closed by
   * emu_jit_free. */
  FILE *perfmap;
  /* Tests only (tests/unit/emusys/test_jit_strict.c): every translation
   * fails as a translator bug would, so VMK_JIT_STRICT's handling can be
   * seen. Nothing sets it but a test holding this struct: no flag,
   * environment variable or guest action reaches it. */
  bool test_fail;
};

/* Direct loads' guest address bound (2^38: user mode's space) and the
 * inaccessible host bytes its region must have after it (an access that
 * starts below the bound may end past it). */
#define EMU_JIT_DIRECT_BITS 38
#define EMU_JIT_DIRECT_TAIL (64u << 10)

/* For a host fault at rip: the execution address of the slow path of the
 * direct load there (set the faulting context's rip to it and return: it
 * redoes the guest insn, faulting the guest's way), or 0 when rip is not
 * such a load. Async-signal-safe. */
uint64_t emu_jit_fault_stub(const struct emu_jit *j, uint64_t rip);

/* flags: EMU_CODE_BUF_* (user mode passes EMU_CODE_BUF_SINGLE_MAP so a
 * forked child gets a private copy of the code region). */
int emu_jit_new(struct emu_jit **out, size_t size, unsigned flags,
                vmk_error *err);
void emu_jit_free(struct emu_jit *j);

/* Emits the translation of insn[0..count) into b. near: helpers are
 * within rel32 of b. Returns 0, or -EOPNOTSUPP for a block the
 * translator does not take (a debug breakpoint check in it). inl/hlp (may
 * be NULL) get the numbers of insns emitted inline and as calls. */
int emu_jit_emit(struct xe_buf *b, const struct emu_insn *insn, unsigned count,
                 bool near, unsigned *inl, unsigned *hlp);

/* emu_jit_emit for a block the dispatcher chains: c says where the block
 * is (pc, host address, jump cache) and gets its entries (jit/chain.h). */
int emu_jit_emit_chained(struct xe_buf *b, const struct emu_insn *insn,
                         unsigned count, bool near, struct emu_jit_chain *c,
                         unsigned *inl, unsigned *hlp);

/* Translates into the code region; flushes the region and tries again
 * when it is full (*flushed set: every earlier translation is gone).
 * NULL: not translatable (run it interpreted). */
emu_jit_fn emu_jit_translate(struct emu_jit *j, const struct emu_insn *insn,
                             unsigned count, bool *flushed);

/* emu_jit_translate for a block the dispatcher chains (see above). */
emu_jit_fn emu_jit_translate_chained(struct emu_jit *j,
                                     const struct emu_insn *insn,
                                     unsigned count, struct emu_jit_chain *c,
                                     bool *flushed);

/* cpu->jit_fp_mask for the host's current MXCSR (jit/emit_fp.c); emu_run
 * calls it before running translated code. */
void emu_jit_fp_sync(struct emu_cpu *cpu);

/* True when op is emitted inline (not as a helper call). */
bool emu_jit_inline_op(const struct emu_insn *in);

#endif
