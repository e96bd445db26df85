/* emit.h — internal to the translator (src/emu/jit): what the
 * per-instruction emitters (emit_ldst.c: loads/stores with the soft-TLB
 * hit path inline; emit_dp.c: integer data processing; emit_fp.c and
 * emit_simd.c, emit_simd_perm.c: scalar FP and vector ops on SSE) share
 * with the block emitter in translate.c. FP/SIMD code uses xmm0-xmm6 as
 * scratch within one instruction (V registers live in *cpu only).
 *
 * Host register use is translate.c's: rbx = cpu; r15 = icount (chain.h);
 * rbp, r12-r14 and r8-r11 hold guest X registers within a block (regcache.c:
 * the cache) and belong to it alone: an emitter never writes them;
 * rax/rcx/rdx/rsi/rdi are scratch within one guest instruction and dead between
 * instructions. Guest registers move only through jit_gpr_load/
 * jit_gpr_store, and every call out of translated code goes through
 * jit_call_helper or jit_cold_jcc, which write the cached registers back
 * first, so a helper or a longjmp from it finds *cpu exact.
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

/* Host registers that hold guest X registers within a block (rbp, r12-r14:
 * the entry saves them once; r8-r11) */
#define JIT_NCACHE 8
/* cpu->icount while a chain of translations runs (chain.h): in a host
 * register, not in memory, so that one block's count and the next one's
 * entry check are no chain of stores and reloads through *cpu */
#define JIT_ICOUNT XE_R15

/* A call out of line (a slow path), emitted after the block's code so the
 * hot path stays straight: the hot path jumps (from `from`) to a stub that
 * calls `fn(cpu, &insn[idx])` and jumps back to `resume`. */
struct jit_cold {
  struct xe_fixup from;
  size_t resume;
  unsigned idx;
  uint64_t fn;
  unsigned dirty; /* cache slots to write back before the call (at the jcc) */
  unsigned valid; /* cache slots to reload after it (at the resume) */
  size_t stub;    /* (jit_emit_cold) where the stub starts */
};

struct jit_ctx {
  struct xe_buf *b;
  const struct emu_insn *insn; /* the block's insns (rbp at run time) */
  bool near;                   /* helpers are within rel32 */
  /* the register cache (regcache.c): slot[r] = the cache slot of guest
   * register r (JIT_NO_SLOT: none); valid: slots whose host register
   * holds the guest value; dirty: valid slots *cpu does not have yet;
   * own: the insn being emitted writes its destinations unconditionally
   * (this file's emitters), so a store may make a slot valid */
  uint8_t slot[EMU_NREGS];
  uint8_t guest[JIT_NCACHE];
  unsigned valid, dirty;
  bool own;
  /* a block whose last insn branches back to its start: the branch
   * jumps to loop_head (after the entry's loads) with every slot valid
   * and the loop_dirty ones dirty, as at the head */
  bool loop;
  size_t loop_head;
  unsigned loop_dirty;
  /* a superblock's inner branches (chain.h: emu_jit_chain.mid), and
   * their exits, emitted after the body (chain.c) */
  uint64_t mid;
  unsigned nside;
  struct {
    struct xe_fixup from;
    uint64_t target;
    unsigned valid, dirty, cur, n;
  } side[EMU_BLOCK_MAX + 2];
  /* NZCV (flags.c): the insn being emitted, and per insn what its
   * setter does with the host flags / how its reader finds them */
  unsigned cur;
  uint8_t fmode[EMU_BLOCK_MAX + 2];
  bool nzcv_head_live; /* NZCV is read in the block before it is set */
  unsigned ncold;
  struct jit_cold cold[EMU_BLOCK_MAX + 2];
  /* the MSUB that takes its remainder from the UDIV/SDIV being emitted
   * (jit_div_rem_pair), or 0 */
  unsigned rem_idx;
  /* Loads straight from the guest region (translate.h: emu_jit.direct),
   * and the host loads that may fault there: offset and the cold path
   * (index in cold[]) a fault there continues in (jit_fault_site). */
  bool direct;
  int32_t tlb_view; /* chain.h's emu_jit_chain.tlb_view */
  unsigned nsites;
  struct {
    size_t at;
    unsigned cold;
  } site[2 * (EMU_BLOCK_MAX + 2)];
};

#define JIT_NO_SLOT 0xff

static inline struct xe_mem jit_reg_m(unsigned r) {
  return xe_m(JIT_CPU, (int32_t)(offsetof(struct emu_cpu, r) + 8 * r));
}
static inline struct xe_mem jit_nzcv_m(void) {
  return xe_m(JIT_CPU, (int32_t)offsetof(struct emu_cpu, nzcv));
}

/* Guest X register r (the decoders' numbering: 31 reads as zero, 32 is
 * the sink for writes to XZR) to/from host register h, 64 bits. Emitters
 * move guest registers only through these (not jit_reg_m operands), so
 * that the block may hold them in host registers (regcache.c). Neither
 * changes the host flags. */
void jit_gpr_load(struct jit_ctx *c, enum xe_reg h, unsigned r);
void jit_gpr_store(struct jit_ctx *c, unsigned r, enum xe_reg h);
/* The host register holding guest register r, or scratch loaded with it:
 * read it, never write it. */
enum xe_reg jit_gpr_src(struct jit_ctx *c, unsigned r, enum xe_reg scratch);
/* Where to compute a value for guest register r in one host instruction
 * that may read its sources too (then jit_gpr_store(c, r, that)): r's own
 * host register when the cache may hold it, else scratch. */
enum xe_reg jit_gpr_dst(struct jit_ctx *c, unsigned r, enum xe_reg scratch);
/* dst op= guest register r; dst = r if cc; dst = r's low ssz bits (8,
 * 16, 32, 64) zero- or sign-extended to 64: register forms when the
 * cache holds r, else memory operands on *cpu. */
void jit_gpr_alu(struct jit_ctx *c, enum xe_alu op, unsigned sz,
                 enum xe_reg dst, unsigned r);
void jit_gpr_cmov(struct jit_ctx *c, enum xe_cc cc, unsigned sz,
                  enum xe_reg dst, unsigned r);
void jit_gpr_load_ext(struct jit_ctx *c, enum xe_reg dst, unsigned r,
                      unsigned ssz, bool sx);

/* The cache over one block (translate.c): jit_cache_plan picks which
 * guest registers get a host register; jit_cache_begin before each insn
 * (own: one of this file's emitters, which may fill slots; those load
 * the registers the insn reads); jit_cache_sync writes back every dirty
 * one (an exit, a helper call); jit_cache_forget after a helper call
 * (it may have written any register). */
void jit_cache_plan(struct jit_ctx *c, unsigned count);
void jit_cache_begin(struct jit_ctx *c, unsigned idx, bool own);
void jit_cache_sync(struct jit_ctx *c);
/* A self-loop (translate.c, chain.c): jit_cache_loop_head loads every
 * slot at the body's start and sets the state the back branch restores
 * (jit_cache_loop_back). */
void jit_cache_loop_head(struct jit_ctx *c, unsigned count);
void jit_cache_loop_back(struct jit_ctx *c);
void jit_cache_forget(struct jit_ctx *c);
/* The slots in mask written back / reloaded (no flag changes). */
void jit_cache_store(struct jit_ctx *c, unsigned mask);
void jit_cache_load(struct jit_ctx *c, unsigned mask);
/* mov rdi, cpu; rsi = &insn[idx]; call fn: nothing more (the cache's
 * writeback and reload are the caller's). */
void jit_call_raw(struct jit_ctx *c, unsigned idx, uint64_t fn);
/* The guest registers (bit r: cpu->r[r]) insn in reads and writes when
 * one of this translator's own emitters emits it (translate.c, emit_dp.c,
 * emit_ldst.c, emit_sys.c, emit_excl.c, chain.c, and the plain FP/SIMD
 * ones below); false for any other insn. */
bool jit_insn_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr);
bool jit_ldst_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr);
/* True for an inline store (it may write a page holding code). */
bool jit_ldst_store(const struct emu_insn *in);
bool jit_dp_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr);
bool jit_sys_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr);
bool jit_excl_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr);

/* Host CPU features an emitter may need beyond x86-64's baseline (SSE2):
 * without them the insn stays a helper call. */
bool jit_host_sse42(void);
bool jit_host_fma3(void);
bool jit_host_bmi2(void);

/* A call to fn(cpu, &insn[idx]), through rax when fn is out of reach;
 * dirty cached registers are written back before it and the cached ones
 * reloaded after it (so it may sit on a conditional path). */
void jit_call_helper(struct jit_ctx *c, unsigned idx, uint64_t fn);
/* The branch to a slow path: jcc cc to a cold stub calling fn(cpu,
 * &insn[idx]) that comes back to where the caller binds with
 * jit_cold_resume (after the instruction's inline code). */
void jit_cold_jcc(struct jit_ctx *c, enum xe_cc cc, unsigned idx, uint64_t fn);
void jit_cold_resume(struct jit_ctx *c);
/* The host instruction emitted next is a direct load that may fault
 * (emit_ldst.c): a host fault there continues in the last jit_cold_jcc's
 * stub, which must find the state it finds through its jcc (nothing
 * guest-visible written between the two; scratch registers aside). */
void jit_fault_site(struct jit_ctx *c);
/* Emits the stubs (after the block's last exit). */
void jit_emit_cold(struct jit_ctx *c);

/* cpu->nzcv from the host flags of the last ALU op: N = SF, Z = ZF,
 * C = carry (XE_B: CF, for additions; XE_AE: !CF, for subtractions,
 * where Arm's carry is "no borrow"), V = OF. Clobbers rax only. */
void jit_flags_to_nzcv(struct xe_buf *b, enum xe_cc carry);
/* The same in two halves: the raw flags into eax (lahf; seto al: the
 * host flags stay), then cpu->nzcv from eax (clobbers the flags). */
void jit_flags_grab(struct xe_buf *b);
void jit_flags_finish(struct xe_buf *b, enum xe_cc carry);
/* Sets the host flags from cpu->nzcv so that the returned x86 condition
 * is "the Arm condition cond holds". Clobbers rcx, rdx. */
enum xe_cc jit_cond_test(struct xe_buf *b, unsigned cond);

/* NZCV over one block (flags.c), for this translator's own emitters:
 * jit_flags_plan before the block; jit_flags_set instead of
 * jit_flags_to_nzcv after a flag-setting ALU op (stores NZCV, or not when
 * dead or passed to the next insn in the host flags; clobbers rax and the
 * flags, or nothing); jit_flags_live: false when the insn's NZCV is never
 * read (CCMP may then emit nothing); jit_cond instead of jit_cond_test
 * (the host flags themselves when the insn before left them; else
 * clobbers rcx, rdx); jit_cond_in_host: jit_cond emits nothing;
 * jit_flags_settle after the last use of the host flags (on each path
 * out) when the setter left cpu->nzcv to finish from eax. */
void jit_flags_plan(struct jit_ctx *c, unsigned count);
void jit_flags_set(struct jit_ctx *c, enum xe_cc carry);
bool jit_flags_live(const struct jit_ctx *c);
enum xe_cc jit_cond(struct jit_ctx *c, unsigned cond);
bool jit_cond_in_host(const struct jit_ctx *c);
/* ADC/SBC: when the insn before left the carry in the host flags, sets
 * CF to C (borrow: to !C, as SBB wants) and returns true; else emits
 * nothing and returns false (take C from cpu->nzcv). */
bool jit_carry_in(struct jit_ctx *c, bool borrow);
void jit_flags_settle(struct jit_ctx *c);
/* The same on the way a superblock's inner branch goes on, only when
 * NZCV is read (or leaves) there before it is set again. */
void jit_flags_settle_on(struct jit_ctx *c);
/* The x86 condition for Arm condition cond after an x86 op that set the
 * flags as an addition (sub false: CF = C) or a subtraction (CF = !C);
 * false when no single one says it (HI/LS after an addition, AL/NV). */
bool jit_cc_of_host(unsigned cond, bool sub, enum xe_cc *out);

/* Loads/stores (emit_ldst.c): true when in's op is emitted inline. */
bool jit_ldst_inline(const struct emu_insn *in);
void jit_emit_ldst(struct jit_ctx *c, unsigned idx);
/* Data processing (emit_dp.c). */
bool jit_dp_inline(const struct emu_insn *in);
void jit_emit_dp(struct jit_ctx *c, unsigned idx);
/* For a UDIV/SDIV at insn i: the index j of an MSUB computing its
 * remainder (rd = n - q * m, same width, the division's three registers
 * unchanged in between), with at most a few plain register insns between
 * that neither read q nor write n, m or q, so they may run before the
 * division; 0: none. The translator then emits those, then the division
 * with ctx.rem_idx = j (the host divide's remainder is the MSUB's result),
 * and skips the MSUB. */
unsigned jit_div_rem_pair(const struct emu_insn *insn, unsigned count,
                          unsigned i);
/* System instructions (emit_sys.c): hints, barriers, CLREX, ISB, the
 * MRS/MSR of registers read and written with no side effect, DC ZVA. */
bool jit_sys_inline(const struct emu_insn *in);
void jit_emit_sys(struct jit_ctx *c, unsigned idx);
/* ... and has a slow path that calls out (flags.c: NZCV must be exact) */
bool jit_sys_calls_out(const struct emu_insn *in);
/* Exclusives and acquire/release (emit_excl.c). */
bool jit_excl_inline(const struct emu_insn *in);
void jit_emit_excl(struct jit_ctx *c, unsigned idx);
/* The soft-TLB hit test for an access of len bytes (a power of two, at
 * most a page) at rax that must be aligned to len (emit_excl.c): a miss,
 * a misaligned rax or, when traps is not 0, cpu->insn_traps & traps goes
 * to fn(cpu, &insn[idx]) out of line (the caller binds the way back with
 * jit_cold_resume). On a hit rdx = the entry's addend ([rax + rdx] is
 * the host address). Clobbers rcx, rsi. */
void jit_tlb_hit_aligned(struct jit_ctx *c, unsigned idx, unsigned len,
                         bool store, uint32_t traps, uint64_t fn);
/* The TLB entry of the address in rax: rdx = its index * 32 (plus
 * cpu->tlb when the translation's view is not known: tlb_view), and
 * field `off` of the entry as a memory operand. Clobbers the flags. */
void jit_tlb_index(struct jit_ctx *c);
struct xe_mem jit_tlb_field(const struct jit_ctx *c, size_t off);

/* FP/SIMD data processing (emit_fp.c: scalar; emit_simd.c: vector). */
bool jit_fp_inline(const struct emu_insn *in);
void jit_emit_fp(struct jit_ctx *c, unsigned idx);
bool jit_simd_inline(const struct emu_insn *in);
void jit_emit_simd(struct jit_ctx *c, unsigned idx);
/* Moves, permutes and reductions (emit_simd_perm.c). */
bool jit_simd_perm_inline(const struct emu_insn *in);
void jit_emit_simd_perm(struct jit_ctx *c, unsigned idx);
/* The FP/SIMD insns with no slow path and no NZCV use (bit moves, the
 * integer vector ops, moves and permutes): translate.c counts them as
 * own emitters (the register cache may fill and keep their GPRs; a
 * block of them can loop in its translation). */
bool jit_fp_plain(const struct emu_insn *in);
bool jit_simd_plain(const struct emu_insn *in);
bool jit_fp_plain_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr);
bool jit_simd_perm_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr);
/* xmm x = V register r; V register r = xmm x (q = 0: the upper half
 * zeroed first, as a 64-bit form writes it) (emit_simd.c). */
void jit_vload(struct xe_buf *b, enum xe_xmm x, unsigned r);
void jit_vstore(struct xe_buf *b, unsigned r, enum xe_xmm x, unsigned q);
/* Byte `byte` of V register r in *cpu. */
struct xe_mem jit_vreg_m(unsigned r, unsigned byte);
/* The fast-environment check of the FP fast path (emit_fp.c): jumps to
 * the returned fixup when it fails. Clobbers rax. jit_fp_slow binds it
 * and emits the instruction's one slow-path jcc (to its interpreter
 * handler) on condition fail, which must be AE, A or NE (what a failed
 * check leaves). env.at == SIZE_MAX: no check to bind. */
struct xe_fixup jit_fp_env_check(struct jit_ctx *c);
void jit_fp_slow(struct jit_ctx *c, struct xe_fixup env, enum xe_cc fail,
                 unsigned idx);

#endif
