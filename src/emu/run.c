/* run.c — the dispatcher and CPU lifetime: emu_cpu_init/destroy, emu_run
 * (one sigsetjmp per entry, then blocks run handler by handler, with a
 * per-block successor cache and the budget / exit_request checks between
 * blocks) and emu_raise (longjmp back to emu_run).
 *
 * With cpu->jit set (--emu-mode jit) a block runs as its x86-64
 * translation (jit/translate.h), which continues into its successors'
 * translations through patched jumps and the jump cache (jit/chain.h);
 * it comes back here to have an exit linked, at exit_request or every
 * EMU_JIT_CHAIN_INSNS instructions. Blocks the translator does not take
 * run interpreted, one at a time.
 *
 * Runs on the CPU's thread. exit_request is the only field other threads
 * touch (atomically).
 */
#include <errno.h>
#include <string.h>

#include "emu/block.h"
#include "emu/decode.h"
#include "emu/jit/chain.h"
#include "emu/jit/translate.h"
#include "emu/mem.h"

int emu_cpu_init(struct emu_cpu *cpu, const struct emu_env_ops *env,
                 void *env_opaque) {
  memset(cpu, 0, sizeof *cpu);
  cpu->env = env;
  cpu->env_opaque = env_opaque;
  cpu->tlb = cpu->tlb_views[0];
  emu_tlb_flush(cpu);
  return emu_block_cache_new(cpu);
}

void emu_cpu_destroy(struct emu_cpu *cpu) {
  emu_block_cache_free(cpu);
  emu_jit_free(cpu->jit);
  cpu->jit = NULL;
}

int emu_cpu_enable_jit(struct emu_cpu *cpu, unsigned flags, vmk_error *err) {
  if (cpu->jit)
    return 0;
  return emu_jit_new(&cpu->jit, 0, flags, err);
}

void *emu_block_jit(struct emu_cpu *cpu, struct emu_block *b) {
  return (void *)emu_jit_block(cpu, b);
}

void emu_block_jit_dropped(struct emu_cpu *cpu, struct emu_block *b) {
  emu_jit_chain_dropped(cpu, b);
}

_Noreturn void emu_raise(struct emu_cpu *cpu, const struct emu_insn *in,
                         enum emu_exit kind, uint32_t syndrome, uint64_t addr) {
  if (in)
    cpu->pc =
        (kind == EMU_EXIT_SVC || kind == EMU_EXIT_HVC) ? in->pc + 4 : in->pc;
  cpu->exit_kind = kind;
  cpu->exit_syndrome = syndrome;
  cpu->exit_addr = addr;
  if (cpu->env->exception)
    cpu->env->exception(cpu, kind, syndrome, addr);
  siglongjmp(cpu->jmp, 1);
}

/* The loop proper lives in its own frame so that no local variable of
 * emu_run is live across the longjmp. Blocks usually continue into each
 * other through emu_chain; control comes back here when a successor is
 * not cached yet, after CHAIN_MAX chained blocks, or to stop. */
static enum emu_exit run_blocks(struct emu_cpu *cpu) {
  /* what the last translation returned, and the code region's flushes
   * and the block cache's generation when it ran */
  uintptr_t ret = 0;
  uint64_t ret_flushes = 0, ret_gen = 0;
  for (;;) {
    if (EMU_UNLIKELY(cpu->exit_request)) {
      __atomic_store_n(&cpu->exit_request, 0, __ATOMIC_RELAXED);
      return EMU_EXIT_REQUEST;
    }
    if (EMU_UNLIKELY(cpu->icount >= cpu->run_end))
      return EMU_EXIT_BUDGET;
    cpu->chain_depth = 0;
    if (EMU_UNLIKELY(cpu->dbg_step)) {
      ret = 0;
      emu_block_step(cpu);
      continue;
    }
    if (cpu->jit) {
      struct emu_block *b = emu_block_get(cpu, cpu->pc);
      emu_jit_fn f = emu_jit_block(cpu, b);
      if (EMU_LIKELY(f != NULL)) {
        /* link the exit that came back here, then run a chain of
         * translations (jit/chain.h) until an exit not linked yet, an
         * indirect branch missing the jump cache, exit_request or
         * jit_end */
        if (ret)
          emu_jit_link(cpu, ret, ret_flushes, ret_gen, b);
        /* exit_request read after jit_end is set (both seq_cst): a
         * request made since the check above either shows here or set
         * jit_end to 0 after this store (emu_cpu_request_exit) */
        __atomic_store_n(&cpu->jit_end,
                         cpu->run_end - cpu->icount > EMU_JIT_CHAIN_INSNS
                             ? cpu->icount + EMU_JIT_CHAIN_INSNS
                             : cpu->run_end,
                         __ATOMIC_SEQ_CST);
        if (EMU_UNLIKELY(__atomic_load_n(&cpu->exit_request, __ATOMIC_SEQ_CST)))
          continue;
        ret_flushes = cpu->jit->cb.flushes;
        ret_gen = emu_block_gen(cpu);
        cpu->jit->dispatches++;
        ret = f(cpu);
        continue;
      }
      ret = 0;
      /* interpreted: emu_chain stops at the end of this block (it counts
       * the block's instructions) */
      cpu->chain_depth = UINT32_MAX / 2;
      const struct emu_insn *in = b->insn;
      do
        in = in->fn(cpu, in);
      while (in);
      continue;
    }
    struct emu_block *b = emu_block_get(cpu, cpu->pc);
    const struct emu_insn *in = b->insn;
    do
      in = in->fn(cpu, in);
    while (in);
  }
}

enum emu_exit emu_run(struct emu_cpu *cpu, uint64_t budget) {
  cpu->run_end = budget ? cpu->icount + budget : UINT64_MAX;
  cpu->exit_kind = EMU_EXIT_NONE;
  if (cpu->jit)
    emu_jit_fp_sync(cpu);
  if (sigsetjmp(cpu->jmp, 0)) {
    /* emu_raise landed here: exit unless the environment took the
     * exception and wants execution to continue at cpu->pc. */
    if (cpu->exit_kind != EMU_EXIT_NONE)
      return cpu->exit_kind;
  }
  return run_blocks(cpu);
}
