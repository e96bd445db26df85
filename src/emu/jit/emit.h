/* emit.h — internal to the translator (src/emu/jit): what the
 * per-instruction emitters (emit_ldst.c: loads/stores with the soft-TLB
 * hit path inline; emit_dp.c: integer data processing) share with the
 * block emitter in translate.c.
 *
 * Host register use is translate.c's: rbx = cpu, rbp = the block's insn
 * array; rax/rcx/rdx/rsi/rdi/r8-r11 are scratch within one guest
 * instruction and dead between instructions (guest state lives in *cpu
 * only, so a helper call or a longjmp never finds it stale).
 *
 * Runs on the translating CPU's thread; a struct jit_ctx lives on its
 * stack for one block.
 */
#ifndef VMK_EMU_JIT_EMIT_H
#define VMK_EMU_JIT_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/cpu.h"
#include "emu/jit/x86_emit.h"

#define JIT_CPU XE_RBX
#define JIT_INSNS XE_RBP

/* A call out of line (a slow path), emitted after the block's code so the
 * hot path stays straight: the hot path jumps (from `from`) to a stub that
 * calls `fn(cpu, &insn[idx])` and jumps back to `resume`. */
struct jit_cold {
  struct xe_fixup from;
  size_t resume;
  unsigned idx;
  uint64_t fn;
};

struct jit_ctx {
  struct xe_buf *b;
  const struct emu_insn *insn; /* the block's insns (rbp at run time) */
  bool near;                   /* helpers are within rel32 */
  unsigned ncold;
  struct jit_cold cold[EMU_BLOCK_MAX + 2];
};

static inline struct xe_mem jit_reg_m(unsigned r) {
  return xe_m(JIT_CPU, (int32_t)(offsetof(struct emu_cpu, r) + 8 * r));
}
static inline struct xe_mem jit_nzcv_m(void) {
  return xe_m(JIT_CPU, (int32_t)offsetof(struct emu_cpu, nzcv));
}

/* Guest X register r (the decoders' numbering: 31 reads as zero, 32 is
 * the sink for writes to XZR) to/from host register h, 64 bits. Emitters
 * move guest registers only through these two (not jit_reg_m operands),
 * so that how a block holds guest registers can change in one place. */
static inline void jit_gpr_load(struct jit_ctx *c, enum xe_reg h, unsigned r) {
  xe_load(c->b, 64, h, jit_reg_m(r));
}
static inline void jit_gpr_store(struct jit_ctx *c, unsigned r, enum xe_reg h) {
  xe_store(c->b, 64, jit_reg_m(r), h);
}

/* A call to fn(cpu, &insn[idx]), through rax when fn is out of reach. */
void jit_call_helper(struct jit_ctx *c, unsigned idx, uint64_t fn);
/* The branch to a slow path: jcc cc to a cold stub calling fn(cpu,
 * &insn[idx]) that comes back to where the caller binds with
 * jit_cold_resume (after the instruction's inline code). */
void jit_cold_jcc(struct jit_ctx *c, enum xe_cc cc, unsigned idx, uint64_t fn);
void jit_cold_resume(struct jit_ctx *c);
/* Emits the stubs (after the block's last exit). */
void jit_emit_cold(struct jit_ctx *c);

/* cpu->nzcv from the host flags of the last ALU op: N = SF, Z = ZF,
 * C = carry (XE_B: CF, for additions; XE_AE: !CF, for subtractions,
 * where Arm's carry is "no borrow"), V = OF. Clobbers rax only. */
void jit_flags_to_nzcv(struct xe_buf *b, enum xe_cc carry);
/* Sets the host flags from cpu->nzcv so that the returned x86 condition
 * is "the Arm condition cond holds". Clobbers rcx, rdx. */
enum xe_cc jit_cond_test(struct xe_buf *b, unsigned cond);

/* Loads/stores (emit_ldst.c): true when in's op is emitted inline. */
bool jit_ldst_inline(const struct emu_insn *in);
void jit_emit_ldst(struct jit_ctx *c, unsigned idx);
/* Data processing (emit_dp.c). */
bool jit_dp_inline(const struct emu_insn *in);
void jit_emit_dp(struct jit_ctx *c, unsigned idx);

#endif
