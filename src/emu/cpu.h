/* cpu.h — the AArch64 CPU state of vmkit's emulator and the contract between
 * its decoder, its instruction semantics and its memory system.
 *
 * How the emulator runs code (designed so a JIT can replace step 2 later
 * without touching semantics):
 *   1. The decoder turns each guest instruction once into a struct emu_insn
 *      (handler pointer + pre-extracted operands), a block at a time: a block
 *      runs from its first instruction up to and including the first one that
 *      may change control flow or system state, at most EMU_BLOCK_MAX insns,
 *      never crossing a 4 KiB page. Blocks are cached by address; every
 *      entry into one (dispatch or chaining) re-checks the exec TLB, so
 *      execute permission (EL, UXN/PXN) is that of the current level.
 *   2. The dispatcher runs a block by calling handlers in turn: each handler
 *      returns the next insn to run (in + 1 for straight-line code), or NULL
 *      after it has set cpu->pc to leave the block (branches, exceptions,
 *      the synthetic end-of-block insn). Faster equivalent used by the
 *      integer handlers (decode.h): EMU_NEXT tail-calls the next handler
 *      (threaded code), and block-ending handlers return emu_chain(),
 *      which continues straight into the cached successor block. Both
 *      conventions mix freely: the dispatcher keeps calling while it gets
 *      a non-NULL insn back.
 *   3. Handlers are small functions, one per instruction (group), in the
 *      files of their instruction class (int_*.c, ldst*.c, branch.c,
 *      system.c; fp_*.c and simd_*.c in fpsimd/).
 *
 * Register operands are resolved at decode time so handlers never test for
 * register 31: an operand index is one of
 *   0..30       X0..X30
 *   EMU_XZR     reads as zero (r[31] is kept 0)
 *   EMU_XSINK   where writes to XZR go (r[32], never read)
 *   EMU_SP      the current stack pointer (r[33])
 * so `cpu->r[in->rd] = value` is always right.
 *
 * Faults: a memory access that faults, an undefined encoding, SVC/HVC/BRK
 * etc. call emu_raise(), which never returns: it longjmps to the
 * dispatcher's entry (cpu->jmp). Handlers therefore perform every load (and
 * every check that may fault) before they write any register, so a faulting
 * instruction leaves the state as it was before it.
 *
 * Threads: one emu_cpu belongs to one vCPU thread; nothing here is shared
 * except guest memory (exclusives use host atomics on it).
 */
#ifndef VMK_EMU_CPU_H
#define VMK_EMU_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define EMU_XZR 31
#define EMU_XSINK 32
#define EMU_SP 33
#define EMU_NREGS 34

#define EMU_BLOCK_MAX 64

/* PSTATE.NZCV bits, as in the NZCV system register. */
#define EMU_N (1u << 31)
#define EMU_Z (1u << 30)
#define EMU_C (1u << 29)
#define EMU_V (1u << 28)

typedef union emu_vreg {
  uint8_t b[16];
  uint16_t h[8];
  uint32_t s[4];
  uint64_t d[2];
  int8_t sb[16];
  int16_t sh[8];
  int32_t ss[4];
  int64_t sd[2];
  float f[4];
  double df[2];
  unsigned __int128 q;
} __attribute__((aligned(16))) emu_vreg;

struct emu_cpu;
struct emu_insn;

typedef const struct emu_insn *(*emu_fn)(struct emu_cpu *cpu,
                                         const struct emu_insn *in);

/* One decoded instruction. op is its identity (enum emu_op, generated
 * from src/emu/isa/ (*.decode): one op per encoding pattern, EMU_OP_UNDEF
 * for unallocated encodings, ops for the synthetic insns); fn is how the
 * interpreter runs it (a handler the decoder chose for op and operands,
 * possibly specialised). Fields other than fn/op/raw/pc mean what the op's
 * decode function put there; each instruction class documents its use. */
struct emu_insn {
  emu_fn fn;
  uint64_t pc;   /* guest address of this instruction */
  uint64_t imm;  /* main immediate (sign-extended / decoded bitmask / offset) */
  uint64_t imm2; /* second immediate where one is needed */
  uint32_t raw;  /* the encoding, for diagnostics and rare slow paths */
  uint8_t rd, rn, rm, ra; /* resolved operand indices (see above) */
  uint8_t sf;             /* 1: 64-bit operation, 0: 32-bit */
  uint8_t a, b, c;        /* small per-class fields (shift type, cond, ...) */
  uint16_t op;            /* enum emu_op */
};

/* Soft TLB: one entry per guest page, direct-mapped by VA, in two views
 * (EL0's and EL1's permissions; cpu->tlb is the current level's). A hit
 * costs a shift, a mask, an or, a compare and an add. tag_* hold the
 * page-aligned VA or-ed with the tag key (cpu->tlb_key: system mode's
 * ASID slot, bits 4..11) when the access kind is allowed, or
 * EMU_TLB_INVALID. addend turns a VA into a host pointer. MMIO and
 * faulting pages never hit: they go to the slow path; neither do stores
 * to pages holding decoded code (block.c).
 * 4,096 entries (16 MiB of 4K pages, 128 KiB a view): at 1,024 a program
 * walking 8 MiB at random (bench/cpu.sh's chase) missed on every other
 * load. What grows with the size are the full sweeps: emu_tlb_flush,
 * block.c's protect_page, system mode's TLBI by ASID (counted: a few
 * thousand per boot, against ~200,000 fills saved).
 */
#define EMU_TLB_BITS 12
#define EMU_TLB_SIZE (1u << EMU_TLB_BITS)
#define EMU_PAGE_BITS 12
#define EMU_PAGE_SIZE (1ull << EMU_PAGE_BITS)
#define EMU_PAGE_MASK (~(EMU_PAGE_SIZE - 1))
#define EMU_TLB_INVALID 1ull /* never equals a page-aligned VA | key */
#define EMU_TLB_KEY_SHIFT 4
#define EMU_TLB_KEY_MASK (0xffull << EMU_TLB_KEY_SHIFT)

/* emu_cpu.fast_sysreg: the system registers that translated MRS reads
 * straight from memory, and their encodings (op0:op1:CRn:CRm:op2). */
enum {
  EMU_FAST_SP_EL0,    /* S3_0_C4_C1_0 */
  EMU_FAST_TPIDR_EL1, /* S3_0_C13_C0_4 */
  EMU_FAST_DAIF,      /* S3_3_C4_C2_1 */
  EMU_FAST_SYSREGS
};
#define EMU_FAST_ENC_SP_EL0 (3u << 14 | 0u << 11 | 4u << 7 | 1u << 3 | 0u)
#define EMU_FAST_ENC_TPIDR_EL1 (3u << 14 | 0u << 11 | 13u << 7 | 0u << 3 | 4u)
#define EMU_FAST_ENC_DAIF (3u << 14 | 3u << 11 | 4u << 7 | 2u << 3 | 1u)

/* emu_cpu.insn_traps */
#define EMU_TRAP_DC_ZVA 1u /* DC ZVA */
#define EMU_TRAP_DC_CMO 2u /* DC CVAC/CVAU/CIVAC */

struct emu_tlb_entry {
  uint64_t tag_read;
  uint64_t tag_write;
  uint64_t tag_exec;
  uintptr_t addend; /* host = va + addend */
};

enum emu_access { EMU_READ = 0, EMU_WRITE = 1, EMU_EXEC = 2 };

/* Why emu_run returned. */
enum emu_exit {
  EMU_EXIT_NONE = 0,
  EMU_EXIT_SVC,     /* user mode: a system call (imm in cpu->exit_imm) */
  EMU_EXIT_HVC,     /* system mode: PSCI/hypercall for the machine */
  EMU_EXIT_UNDEF,   /* user mode: undefined instruction at cpu->pc */
  EMU_EXIT_FAULT,   /* user mode: memory fault at cpu->exit_addr */
  EMU_EXIT_BRK,     /* BRK / HLT */
  EMU_EXIT_WFI,     /* system mode: WFI, the engine decides to sleep */
  EMU_EXIT_REQUEST, /* cpu->exit_request was set by another thread */
  EMU_EXIT_BUDGET,  /* the instruction budget ran out */
  EMU_EXIT_DEBUG,   /* system mode: a self-hosted debug exception (syndrome:
                       its ESR; addr: FAR for a watchpoint) */
};

/* tlb_fill's result for an access to a watched page (see watch_check). */
#define EMU_FILL_WATCH 2

/* The environment the CPU runs in: user-mode runner or system engine.
 * Called on the CPU's own thread. */
struct emu_env_ops {
  /* Fill the TLB for va (a miss). Return 0 on success (entry filled, so the
   * access can be retried via the fast path), 1 when the page is MMIO (the
   * caller then performs the access through mmio_read/mmio_write; never for
   * EMU_EXEC), or -1 for a fault: the caller (mem.c) then raises
   * EMU_EXIT_FAULT with the faulting va and EMU_FAULT_* syndrome bits (see
   * mem.h). tlb_fill must not call emu_raise itself (it does not know the
   * instruction). */
  int (*tlb_fill)(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                  unsigned size);
  uint64_t (*mmio_read)(struct emu_cpu *cpu, uint64_t va, unsigned size);
  void (*mmio_write)(struct emu_cpu *cpu, uint64_t va, unsigned size,
                     uint64_t val);
  /* Take an exception that the environment handles (system mode enters the
   * guest's vector; user mode exits). Called by emu_raise with cpu->pc,
   * exit_kind, exit_imm, exit_addr, exit_syndrome already set. To continue
   * running (exception taken to guest vectors), set cpu->pc and set
   * cpu->exit_kind = EMU_EXIT_NONE; otherwise emu_run returns exit_kind.
   * May be NULL (always exit). */
  void (*exception)(struct emu_cpu *cpu, enum emu_exit kind, uint32_t syndrome,
                    uint64_t addr);
  /* System registers beyond the EL0 set (MRS/MSR/SYS with op1/CRn/...);
   * NULL in user mode. Return false for an undefined register. */
  bool (*sysreg_read)(struct emu_cpu *cpu, uint32_t enc, uint64_t *val);
  bool (*sysreg_write)(struct emu_cpu *cpu, uint32_t enc, uint64_t val);
  /* LDTR/STTR and the other unprivileged loads/stores, executed at EL1:
   * true when an EL0 access of kind acc to [va, va+size) is allowed;
   * false when it is not: the environment has recorded the fault and
   * stored the faulting address (va, or the first byte of the next page
   * when the access crosses one) in *fault_va; the core raises
   * EMU_EXIT_FAULT there. The access itself then goes through the normal
   * paths. May be NULL (user mode: every access is EL0's). */
  bool (*unpriv_check)(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                       unsigned size, uint64_t *fault_va);

  /* Self-hosted debug (system mode; NULL in user mode, where cpu->dbg_bp
   * and cpu->dbg_step stay 0). A non-zero uint32_t result is the ESR of a
   * debug exception: the core raises EMU_EXIT_DEBUG with it.
   *
   * bp_at: while cpu->dbg_bp is set, the block builder asks it for every
   * instruction; where it says true, a check insn calling bp_check (with
   * every condition: EL, PSTATE.D, context) runs before the instruction.
   * The environment flushes decoded code when its answers change. */
  bool (*bp_at)(struct emu_cpu *cpu, uint64_t pc);
  uint32_t (*bp_check)(struct emu_cpu *cpu, uint64_t pc);
  /* tlb_fill returned EMU_FILL_WATCH for a data access: the entry's
   * addend is valid but the tag of that access kind is not (so every
   * access to the page comes here); called before the access is done.
   * The exception's FAR is va. */
  uint32_t (*watch_check)(struct emu_cpu *cpu, uint64_t va, unsigned size,
                          enum emu_access acc);
  /* While cpu->dbg_step is set (software step active at the current EL),
   * the core runs one instruction at a time: step_before first (non-zero:
   * the step is pending, take the Software Step exception at cpu->pc),
   * then the instruction, then step_done with its encoding when it
   * completed without an exception. */
  uint32_t (*step_before)(struct emu_cpu *cpu);
  void (*step_done)(struct emu_cpu *cpu, uint32_t raw);
};

struct emu_block;
struct emu_block_cache;

struct emu_cpu {
  uint64_t r[EMU_NREGS]; /* see register operand indices above */
  uint64_t pc;
  uint32_t nzcv; /* EMU_N|EMU_Z|EMU_C|EMU_V */
  uint32_t fpcr, fpsr;
  emu_vreg v[32];
  uint64_t tpidr_el0, tpidrro_el0;

  /* Exclusive monitor: address and value seen by the last load-exclusive. */
  uint64_t excl_addr;
  uint64_t excl_val[2];
  unsigned excl_size; /* 0: monitor open (no reservation) */

  /* The current view: tlb_views[0] (EL0, user mode) or [1] (EL1). */
  struct emu_tlb_entry *tlb;
  /* Or-ed into the page address of every tag (EMU_TLB_KEY_MASK bits):
   * system mode keeps one key per recently used ASID, so translations of
   * several address spaces live side by side and a switch costs nothing.
   * Decoded blocks are re-checked against the exec tag each time they
   * are entered, so cached code runs only where the current level and
   * address space may execute it. 0 in user mode. */
  uint64_t tlb_key;
  /* What decoded blocks are keyed by besides their address (block.c):
   * system mode's EL; 0 in user mode. */
  uint32_t code_ctx;
  /* EMU_TRAP_* bits: instructions that usually run inline but must ask
   * env->sysreg_write first because the current level may not use them
   * (system mode: EL0 with SCTLR_EL1.DZE/UCI clear). 0 in user mode. */
  uint32_t insn_traps;
  /* System mode: where MRS finds the register EMU_FAST_* when the
   * current state lets it read it with no check (EL1; SP_EL0 while it
   * is not the stack pointer in use), else NULL: env->sysreg_read
   * decides. The value is the register's, exactly what sysreg_read
   * would return. Kept by the environment; NULL in user mode. */
  const uint64_t *fast_sysreg[EMU_FAST_SYSREGS];

  /* Run control. exit_request is set by other threads (atomic). */
  volatile int exit_request;
  enum emu_exit exit_kind;
  uint64_t exit_imm;  /* SVC/HVC/BRK immediate */
  uint64_t exit_addr; /* faulting address */
  uint32_t exit_syndrome;
  uint64_t icount;      /* instructions retired (approximate: per block) */
  uint64_t run_end;     /* emu_run returns EMU_EXIT_BUDGET at this icount */
  uint32_t chain_depth; /* blocks chained without returning to emu_run */
  /* Translated code (--emu-mode jit) returns to the dispatcher at a
   * chained block's entry once icount reaches this (<= run_end; 0 stops
   * it at once: emu_flush_code, emu_cpu_request_exit). Its only check:
   * translated code does not read exit_request. */
  uint64_t jit_end;
  /* The host stack pointer of the running chain's base frame (set by the
   * translation the dispatcher called; every exit to the dispatcher goes
   * back to it) and the lowest the return address stack of the chain may
   * take it (jit/chain.h). */
  uint64_t jit_sp, jit_sp_lim;
  /* Translated FP code takes its inline fast path (jit/emit_fp.c) when
   * the 32 bits at &fpcr + 2 (FPCR[31:16], FPSR[15:0]) and-ed with this
   * equal FPSR.IXC << 16: round to nearest, no FZ, IXC already set.
   * emu_run sets it to those bits when the host's MXCSR is at its
   * default, else 0 (never equal: every FP insn takes its slow path). */
  uint32_t jit_fp_mask;
  /* User mode with the translator's direct loads (jit/emit_ldst.c):
   * the host address of guest VA 0, which translated loads add to a
   * guest address below 2^EMU_JIT_DIRECT_BITS. 0 elsewhere. */
  uint64_t jit_direct_base;
  /* Self-hosted debug armed (see emu_env_ops.bp_at/step_before); set by
   * the environment, 0 in the common case. */
  uint8_t dbg_bp, dbg_step;

  const struct emu_env_ops *env;
  void *env_opaque;
  struct emu_block_cache *blocks;
  /* The translator (--emu-mode jit; src/emu/jit/translate.h), NULL: the
   * interpreter runs every block. Set with emu_cpu_enable_jit. */
  struct emu_jit *jit;
  sigjmp_buf jmp; /* emu_raise lands here */

  /* Counters for VMK_EMU_STATS / tests (this CPU's thread only). */
  struct {
    uint64_t blocks_built;    /* blocks decoded into the cache */
    uint64_t code_page_drops; /* code pages invalidated (store, IC IVAU) */
    uint64_t code_flushes;    /* drops of every block */
    uint64_t tlb_fills;       /* env->tlb_fill calls */
    uint64_t tlb_flushes;     /* emu_tlb_flush calls (every entry) */
  } stats;

  struct emu_tlb_entry tlb_views[2][EMU_TLB_SIZE];
};

/* Create/destroy the per-CPU block cache and TLB state. */
int emu_cpu_init(struct emu_cpu *cpu, const struct emu_env_ops *env,
                 void *env_opaque);
void emu_cpu_destroy(struct emu_cpu *cpu);
/* Runs blocks translated to x86-64 from now on (after emu_cpu_init).
 * flags: EMU_CODE_BUF_* (jit/code_buf.h). Returns 0 or a negative errno
 * with err filled. */
struct vmk_error;
int emu_cpu_enable_jit(struct emu_cpu *cpu, unsigned flags,
                       struct vmk_error *err);

/* Runs from cpu->pc until an exit (see enum emu_exit) or until budget
 * instructions have run (0: no budget). */
enum emu_exit emu_run(struct emu_cpu *cpu, uint64_t budget);

/* Never returns: ends the current instruction with the given exit, via
 * env->exception; state must be as before the instruction. cpu->pc is set
 * to in->pc, except for SVC/HVC where it is in->pc + 4 (the preferred
 * return address, as ELR_ELx). in may be NULL (pc left as is). */
_Noreturn void emu_raise(struct emu_cpu *cpu, const struct emu_insn *in,
                         enum emu_exit kind, uint32_t syndrome, uint64_t addr);

/* Drops every cached translation (after code was modified, IC IALLU,
 * munmap/mprotect in user mode). Only on the CPU's own thread; safe inside
 * a handler (the flush happens before the next block is looked up). */
void emu_flush_code(struct emu_cpu *cpu);
/* Drops the decoded code of the guest page whose first byte is at host
 * address hpage (IC IVAU, a store the soft TLB did not see). Safe inside
 * a handler: the running block finishes, then nothing enters it again. */
void emu_code_invalidate_host(struct emu_cpu *cpu, const void *hpage);
/* Both TLB views: every entry, or the entries of va's page. */
void emu_tlb_flush(struct emu_cpu *cpu);
void emu_tlb_flush_page(struct emu_cpu *cpu, uint64_t va);

/* Decodes one instruction (used by the block builder; exposed for tests
 * and for the JIT later). Returns true if the instruction ends a block.
 * An unimplemented encoding yields a handler raising EMU_EXIT_UNDEF. */
bool emu_decode(struct emu_insn *out, uint32_t raw, uint64_t pc);

/* Implemented-vs-classes table (decode.c), one line per encoding class:
 * "class: implemented/total" for `--emu-stats`. */
void emu_print_stats(FILE *f);

/* Asks the CPU to leave emu_run at its next block boundary (any thread,
 * or a signal handler: two atomic stores). exit_request for the
 * dispatcher and the interpreter, jit_end = 0 for translated code, which
 * checks only that; the dispatcher sets jit_end before a chain and reads
 * exit_request after it (run.c), so one of them sees the request. */
static inline void emu_cpu_request_exit(struct emu_cpu *cpu) {
  __atomic_store_n(&cpu->exit_request, 1, __ATOMIC_SEQ_CST);
  __atomic_store_n(&cpu->jit_end, 0, __ATOMIC_SEQ_CST);
}

#endif
