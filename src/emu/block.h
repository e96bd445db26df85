/* block.h — the per-CPU cache of decoded blocks (block.c), used by the
 * dispatcher (run.c). A block is the decoded form of guest code from pc up
 * to and including the first instruction that ends a block (branch,
 * exception, system-state change), at most EMU_BLOCK_MAX instructions and
 * never crossing a page; blocks without a final branch get a synthetic
 * end-of-block insn. This insn array is also what a JIT would compile.
 *
 * Owned by one CPU thread; no locks.
 */
#ifndef VMK_EMU_BLOCK_H
#define VMK_EMU_BLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"

struct emu_block {
  uint64_t pc;
  struct emu_block *hnext;   /* hash chain */
  struct emu_block *link[2]; /* successor cache (same generation only) */
  uint64_t link_pc[2];
  uint32_t n;             /* guest instructions in the block */
  uint32_t link_next;     /* which link slot to replace next */
  uint32_t ninsn;         /* entries of insn[] (with checks, end insn) */
  void *jit;              /* translation (emu_jit_fn), or NULL */
  uint64_t jit_gen;       /* code region flushes when jit was made */
  struct emu_insn insn[]; /* n insns (+ 1 synthetic end insn) */
};

/* Returns the block for pc, decoding it if needed; performs a pending
 * flush first. May raise (instruction fetch fault): also for a cached
 * block, when the exec TLB says the current level may not run pc. */
struct emu_block *emu_block_get(struct emu_cpu *cpu, uint64_t pc);
/* Software step (cpu->dbg_step): runs the one instruction at cpu->pc in a
 * block of its own, between env->step_before and env->step_done (see
 * cpu.h). May raise. */
void emu_block_step(struct emu_cpu *cpu);
/* True when a flush was requested and not yet performed. */
bool emu_block_flush_pending(struct emu_cpu *cpu);
/* Generation of the cache: changes whenever all blocks were dropped, so a
 * caller holding a block pointer knows it is gone. */
uint64_t emu_block_gen(struct emu_cpu *cpu);
/* The translation of b (--emu-mode jit), made on first use; NULL when
 * the translator does not take this block (the interpreter runs it). */
void *emu_block_jit(struct emu_cpu *cpu, struct emu_block *b);
int emu_block_cache_new(struct emu_cpu *cpu);
void emu_block_cache_free(struct emu_cpu *cpu);

#endif
