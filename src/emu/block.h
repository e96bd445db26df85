/* block.h — the per-CPU cache of decoded blocks (block.c), used by the
 * dispatcher (run.c). A block is the decoded form of guest code from pc up
 * to and including the first instruction that ends a block (branch,
 * exception, system-state change), at most EMU_BLOCK_MAX instructions and
 * never crossing a page; blocks without a final branch get a synthetic
 * end-of-block insn. This insn array is also what a JIT would compile.
 * Blocks are keyed by (pc, host address of the code, cpu->code_ctx): see
 * block.c for why, and for how code pages are invalidated.
 *
 * Owned by one CPU thread; no locks.
 */
#ifndef VMK_EMU_BLOCK_H
#define VMK_EMU_BLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"

struct emu_block {
  /* What emu_chain reads first (one cache line): */
  struct emu_block *link[2]; /* successor cache (same generation only) */
  uint64_t link_pc[2];
  uintptr_t link_host[2]; /* the successors' host addresses when linked */
  uint32_t n;             /* guest instructions in the block */
  uint32_t link_next;     /* which link slot to replace next */
  uint32_t ninsn;         /* entries of insn[] (with checks, end insn) */
  void *jit;              /* translation (emu_jit_fn), or NULL */
  uint64_t jit_gen;       /* code region flushes when jit was made */
  uint64_t jit_cross, jit_same, jit_out; /* its entries (jit/chain.h) */
  uint32_t ctx;                          /* cpu->code_ctx it was decoded for */
  uint64_t pc;
  uintptr_t host;          /* host address of the code at pc (1: dropped) */
  struct emu_block *hnext; /* hash chain */
  struct emu_block *pnext; /* next block of the same code page */
  struct emu_insn insn[];  /* n insns (+ 1 synthetic end insn) */
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
/* size bytes (16-aligned) that live as long as the cache's blocks: until
 * every block is dropped (the generation changes); NULL when out of
 * memory. For the translator's superblocks (jit/chain.c). */
void *emu_block_extra(struct emu_cpu *cpu, size_t size);
/* The translation of b (--emu-mode jit), made on first use; NULL when
 * the translator does not take this block (the interpreter runs it). */
void *emu_block_jit(struct emu_cpu *cpu, struct emu_block *b);
/* b is being dropped: nothing may enter its translation any more. */
void emu_block_jit_dropped(struct emu_cpu *cpu, struct emu_block *b);
/* After env->tlb_fill filled e for va (RAM): when the page holds decoded
 * code, a store (acc EMU_WRITE) drops that code now; any other access
 * leaves the entry without a write tag, so the first store comes here. */
void emu_code_tlb_filled(struct emu_cpu *cpu, struct emu_tlb_entry *e,
                         uint64_t va, enum emu_access acc);
int emu_block_cache_new(struct emu_cpu *cpu);
void emu_block_cache_free(struct emu_cpu *cpu);

#endif
