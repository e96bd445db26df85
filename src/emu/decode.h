/* decode.h — internal helpers shared by the decoder and the integer
 * instruction handlers: bit extraction, operand resolution, flags and
 * condition evaluation, and the per-class decoder entry points.
 *
 * Everything here runs on the CPU's own thread; no shared state.
 */
#ifndef VMK_EMU_DECODE_H
#define VMK_EMU_DECODE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "emu/cpu.h"
/* Generated at build time from isa/ (*.decode) by tools/emu/gen_decoder.py:
 * enum emu_op, emu_op_name[], the argument sets, the emu_dec_* decode
 * functions (defined in the class files) and emu_decode_gen(). */
#include "emu/emu_isa.h"

#define EMU_LIKELY(x) __builtin_expect(!!(x), 1)
#define EMU_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Handler definition: every handler has this signature. */
#define EMU_HANDLER(name)                                                      \
  const struct emu_insn *name(struct emu_cpu *cpu, const struct emu_insn *in)
/* Semantics apart from dispatch. An instruction's semantics is an
 * EMU_SEM function: it performs the instruction on cpu (a block-ending
 * one sets cpu->pc to where execution goes on; the others leave cpu->pc
 * alone) and returns, or raises. The interpreter's handlers are thin
 * wrappers made from them by EMU_THREADED (straight-line: continue with
 * the next insn) or EMU_THREADED_END (end of block: chain to cpu->pc);
 * emu_exec_helper[op] (generated table, emu_exec_* functions in the class
 * files) calls the right one for any decoded integer insn, for a
 * translator's fallback. always_inline: the handler keeps the semantics
 * inlined even when its address is also taken for a helper table. */
#define EMU_SEM(name)                                                          \
  static inline __attribute__((always_inline)) void name(                      \
      struct emu_cpu *cpu, const struct emu_insn *in)
#define EMU_THREADED(h, sem)                                                   \
  static EMU_HANDLER(h) {                                                      \
    sem(cpu, in);                                                              \
    return EMU_NEXT;                                                           \
  }
#define EMU_THREADED_END(h, sem)                                               \
  static EMU_HANDLER(h) {                                                      \
    sem(cpu, in);                                                              \
    return emu_chain(cpu, in, cpu->pc);                                        \
  }
/* Both at once, for semantics used by one handler. */
#define EMU_SEM_NEXT(name)                                                     \
  EMU_SEM(e_##name);                                                           \
  EMU_THREADED(h_##name, e_##name)                                             \
  EMU_SEM(e_##name)
#define EMU_SEM_END(name)                                                      \
  EMU_SEM(e_##name);                                                           \
  EMU_THREADED_END(h_##name, e_##name)                                         \
  EMU_SEM(e_##name)

/* Straight-line continuation: tail-calls the next handler (threaded
 * dispatch: one indirect jump per instruction, predicted per handler).
 * Safe without tail-call optimisation too, since a block has at most
 * EMU_BLOCK_MAX + 1 insns: the recursion depth is bounded. Handlers that
 * return `in + 1` instead (the plain contract in cpu.h) also work: the
 * dispatcher loop continues from whatever non-NULL insn comes back. */
#define EMU_NEXT (in[1].fn(cpu, in + 1))

/* Bits [hi:lo] of x. */
static inline uint32_t bits(uint32_t x, unsigned hi, unsigned lo) {
  return (x >> lo) & ((2u << (hi - lo)) - 1);
}
static inline uint32_t bit(uint32_t x, unsigned n) { return (x >> n) & 1; }
static inline int64_t sext(uint64_t x, unsigned width) {
  return (int64_t)(x << (64 - width)) >> (64 - width);
}

/* Operand resolution at decode time (see cpu.h). */
static inline uint8_t reg_zr(uint32_t n) { return (uint8_t)n; }
static inline uint8_t reg_dzr(uint32_t n) {
  return n == 31 ? EMU_XSINK : (uint8_t)n;
}
static inline uint8_t reg_sp(uint32_t n) {
  return n == 31 ? EMU_SP : (uint8_t)n;
}

/* Condition evaluation: bit (nzcv >> 28) of emu_cond_table[cond]. */
extern const uint16_t emu_cond_table[16];
static inline bool cond_holds(uint32_t nzcv, unsigned cond) {
  return (emu_cond_table[cond] >> (nzcv >> 28)) & 1;
}

/* Flag computation for a + b + carry. */
static inline uint64_t add_flags64(uint64_t a, uint64_t b, uint64_t c,
                                   uint32_t *nzcv) {
  unsigned __int128 s = (unsigned __int128)a + b + c;
  uint64_t r = (uint64_t)s;
  *nzcv = (uint32_t)(r >> 63) << 31 | (uint32_t)(r == 0) << 30 |
          (uint32_t)(s >> 64) << 29 |
          (uint32_t)(((a ^ r) & (b ^ r)) >> 63) << 28;
  return r;
}
static inline uint64_t add_flags32(uint32_t a, uint32_t b, uint32_t c,
                                   uint32_t *nzcv) {
  uint64_t s = (uint64_t)a + b + c;
  uint32_t r = (uint32_t)s;
  *nzcv = (r >> 31) << 31 | (uint32_t)(r == 0) << 30 |
          (uint32_t)(s >> 32) << 29 | (((a ^ r) & (b ^ r)) >> 31) << 28;
  return r;
}
static inline uint32_t logic_flags64(uint64_t r) {
  return (uint32_t)(r >> 63) << 31 | (uint32_t)(r == 0) << 30;
}
static inline uint32_t logic_flags32(uint32_t r) {
  return (r >> 31) << 31 | (uint32_t)(r == 0) << 30;
}

/* Arm ARM DecodeBitMasks(): returns false for a reserved encoding. Fills
 * wmask and tmask for width 32 or 64. */
bool emu_decode_bitmasks(unsigned n, unsigned imms, unsigned immr,
                         bool immediate, unsigned width, uint64_t *wmask,
                         uint64_t *tmask);

/* Results of the decode functions (emu_dec_*, called by the generated
 * emu_decode_gen with out->op, pc and raw already set): they fill out->fn
 * and the operands (each op documents its use of the emu_insn fields
 * where it is decoded) and say whether the insn ends a block. */
enum { DEC_UNDEF = 0, DEC_OK = 1, DEC_END = 2 };

/* Ends a block: sets cpu->pc = pc, accounts the block's instructions and
 * continues directly into the next block when it is cached (block
 * chaining, bounded depth), or returns NULL to the dispatcher. Only the
 * last insn of a block (one whose decode returned DEC_END, or the
 * synthetic end insn) may call it: it finds its block right after itself.
 */
const struct emu_insn *emu_chain(struct emu_cpu *cpu, const struct emu_insn *in,
                                 uint64_t pc);

/* Compare-and-branch fusion (block.c): when a block ends with B.cond right
 * after a flag-setting ADDS/SUBS, the pair runs as one handler. Each
 * returns true if it replaced cmp->fn by its fused form; cmp->op stays
 * what it was (fusion is the interpreter's business, not the insn's). */
bool emu_is_bcond(const struct emu_insn *in);
bool emu_fuse_dp_imm(struct emu_insn *cmp);
bool emu_fuse_dp_reg(struct emu_insn *cmp);

/* The FP/AdvSIMD op families, one per pattern file (the ops of a file are
 * consecutive): scalar FP data processing, AdvSIMD data processing, and
 * SIMD&FP loads/stores. */
static inline bool emu_op_is_fp_scalar(unsigned op) {
  return op >= EMU_OPS_FP_FIRST && op <= EMU_OPS_FP_LAST;
}
static inline bool emu_op_is_simd(unsigned op) {
  return op >= EMU_OPS_SIMD_FIRST && op <= EMU_OPS_SIMD_LAST;
}
static inline bool emu_op_is_simd_ldst(unsigned op) {
  return op >= EMU_OPS_SIMD_LDST_FIRST && op <= EMU_OPS_SIMD_LDST_LAST;
}

/* Handlers used across files. */
EMU_HANDLER(emu_h_undef);
EMU_HANDLER(emu_h_nop);
EMU_HANDLER(emu_h_end_block);

/* Stats per encoding class (decode.c), bumped at decode time. */
enum emu_class {
  EMU_CLS_DP_IMM,
  EMU_CLS_DP_REG,
  EMU_CLS_BRANCH_SYS,
  EMU_CLS_LDST,
  EMU_CLS_FPSIMD,
  EMU_CLS_COUNT
};

#endif
