/* sys.h — the per-vCPU system state of the emu engine's system mode: the
 * parts of PSTATE that struct emu_cpu does not hold (EL, SPSel, DAIF, SS,
 * IL), the banked stack pointers, the EL1 system register file, and the
 * little state env.c keeps between a TLB fill and the exception it causes.
 * The building blocks in this folder (mmu, sysregs, exception, gicv3,
 * timer, env) operate on it; the emu engine hangs one per vCPU off
 * cpu->env_opaque.
 *
 * Threads: a struct emu_sys belongs to its vCPU thread and is only touched
 * there (the GIC it points to is shared and has its own lock).
 */
#ifndef VMK_EMU_SYS_SYS_H
#define VMK_EMU_SYS_SYS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/guest_mem.h"
#include "emu/cpu.h"

struct emu_gicv3;
struct emu_timer;

/* A system register / system instruction encoding as the core passes it:
 * instruction bits [20:5] of MRS/MSR/SYS/SYSL, i.e. op0:op1:CRn:CRm:op2
 * (op0 in bits 15:14). MSR (immediate) uses op0 = 0, CRn = 4, CRm = imm. */
#define EMU_SYSREG(op0, op1, crn, crm, op2)                                    \
  ((uint32_t)(op0) << 14 | (uint32_t)(op1) << 11 | (uint32_t)(crn) << 7 |      \
   (uint32_t)(crm) << 3 | (uint32_t)(op2))

/* PSTATE.{D,A,I,F} as laid out in the DAIF register and in SPSR. */
#define EMU_PSTATE_F (1u << 6)
#define EMU_PSTATE_I (1u << 7)
#define EMU_PSTATE_A (1u << 8)
#define EMU_PSTATE_D (1u << 9)
#define EMU_PSTATE_DAIF (0xfu << 6)
#define EMU_PSTATE_IL (1u << 20)
#define EMU_PSTATE_SS (1u << 21)
#define EMU_PSTATE_NZCV (0xfu << 28)

/* TLB maintenance requested by a TLBI instruction. */
enum emu_tlbi_kind {
  EMU_TLBI_ALL,       /* VMALLE1(IS): every entry */
  EMU_TLBI_ASID,      /* ASIDE1(IS): non-global entries of asid */
  EMU_TLBI_VA,        /* VAE1/VALE1(IS): va, global or matching asid */
  EMU_TLBI_VA_ALLASID /* VAAE1/VAALE1(IS): va, any asid */
};

struct emu_tlbi {
  enum emu_tlbi_kind kind;
  uint64_t va; /* page-aligned, sign-extended from bit 55 */
  uint16_t asid;
  bool last_level; /* VALE1/VAALE1: only leaf entries need to go */
  bool broadcast;  /* the IS (inner shareable) form: every vCPU */
};

enum emu_regime_change {
  EMU_REGIME_EL,
  EMU_REGIME_ASID,
  EMU_REGIME_TRANSLATION
};

/* What the engine provides to the system blocks. All called on this vCPU's
 * thread with opaque = emu_sys.opaque. */
struct emu_sys_ops {
  /* Reads the 8-byte little-endian word at guest-physical pa (8-aligned)
   * for a table walk. false when pa is not RAM (the walk then reports a
   * synchronous external abort on translation table walk). May be NULL:
   * walks then read emu_sys.ram. */
  bool (*phys_read64)(void *opaque, uint64_t pa, uint64_t *val);
  /* A TLBI instruction. broadcast ones must reach every vCPU before the
   * issuing CPU's next DSB completes. */
  void (*tlbi)(void *opaque, const struct emu_tlbi *op);
  /* IC IALLU / IC IALLUIS (all) / IC IVAU (the code of va's page):
   * decoded code must be dropped (broadcast: on every vCPU; see
   * emu_sys_ic_local). */
  void (*ic_inval)(void *opaque, bool broadcast, bool all, uint64_t va);
  /* Cached translations are stale:
   *  EMU_REGIME_EL: the exception level changed (the core already uses
   *    the new EL's TLB view; nothing is stale);
   *  EMU_REGIME_ASID: TTBR0_EL1 or TTBR1_EL1 was written: the ASID may
   *    have changed (entries are tagged by ASID, so nothing is dropped;
   *    Linux rewrites both TTBRs on every kernel entry/exit when the CPU
   *    has no PAN, so this must stay cheap);
   *  EMU_REGIME_TRANSLATION: SCTLR_EL1, TCR_EL1 or MAIR_EL1 was written
   *    (every cached translation is stale; decoded blocks are not, being
   *    keyed by physical page).
   * emu_sys_regime_changed (env.h) does what each needs. May be NULL. */
  void (*regime_changed)(void *opaque, enum emu_regime_change why);
};

/* The EL1 system register file (the registers that are plain storage or
 * whose value other blocks read directly). */
struct emu_sys_regs {
  uint64_t sctlr, actlr, cpacr;
  uint64_t ttbr0, ttbr1, tcr, mair, amair;
  uint64_t vbar, esr, far, elr, spsr, par;
  uint64_t contextidr, tpidr_el1;
  uint64_t cntkctl;
  uint64_t afsr0, afsr1;
  uint64_t csselr;
  /* debug */
  uint64_t mdscr, mdccint, oslsr, osdlr, dbgprcr, dbgclaim;
  uint64_t dbgbvr[6], dbgbcr[6], dbgwvr[4], dbgwcr[4];
};

#define EMU_TLB_SPANS 8

struct emu_sys {
  struct emu_cpu *cpu;
  unsigned cpu_index; /* vCPU number: GIC redistributor, MPIDR (gicv3.h) */
  const struct emu_sys_ops *ops;
  void *opaque;
  const struct vmk_guest_mem *ram; /* guest RAM: walks, TLB fills */
  struct emu_gicv3 *gic;           /* shared, may be NULL in tests */
  struct emu_timer *timer;         /* this CPU's timers, may be NULL */

  /* PSTATE beyond cpu->nzcv. */
  uint8_t el;    /* 0 or 1 (no EL2/EL3) */
  uint8_t spsel; /* at EL1: 1 = SP_EL1 in use, 0 = SP_EL0 */
  uint64_t daif; /* EMU_PSTATE_DAIF bits (64: MRS DAIF reads it whole,
                    cpu->fast_sysreg) */
  bool ss, il;

  /* Banked stack pointers. cpu->r[EMU_SP] is the one in use; the bank of
   * the stack pointer in use is stale until emu_sys_sp_save(). */
  uint64_t sp_el0, sp_el1;

  struct emu_sys_regs regs;

  /* State of the env.c glue between a failing/MMIO TLB fill or a trapped
   * system register access and the exception/MMIO callback that follows
   * it on the same instruction. */
  struct {
    bool valid;
    uint64_t va;
    uint8_t fsc;
  } fault;
  bool mmio_valid;
  uint64_t mmio_va_page, mmio_pa_page;
  uint8_t trap_kind; /* 0, or enum emu_sysreg_result TRAP / FP_TRAP */
  uint32_t trap_enc;
  /* What env.c knows of each soft TLB entry (per view, per slot): the
   * translation behind it, for exact TLBI and for refilling a global
   * entry under another ASID's key without a walk. */
  struct emu_tlb_meta {
    uint64_t vpage;     /* the VA page the entry was filled for */
    uint16_t asid;      /* its ASID when not global */
    uint8_t prot;       /* EMU_PROT_* at the view's EL */
    uint8_t page_bits;  /* size of the mapping it came from */
    bool global, valid; /* valid: filled since the last invalidation */
  } tlb_meta[2][EMU_TLB_SIZE];
  /* Where entries from >4K mappings may be cached, per view: up to
   * EMU_TLB_SPANS spans [lo, hi) of VA bits 55..12 (bit 55 keeps the VA
   * halves apart) that cover every such mapping filled since the last
   * flush (hi 0: a free span). A TLBI by VA inside one must look at
   * every slot (a block's pages sit in many); outside, only at its own
   * slot. Several spans, not one from the lowest to the highest block:
   * Linux maps its image, its linear map and the FDT (a fixmap slot)
   * with blocks, and one span over all three would take in the 4K
   * fixmap and vmalloc pages it keeps invalidating (text patching). */
  struct emu_tlb_span {
    uint64_t lo, hi;
  } tlb_blocks[2][EMU_TLB_SPANS];
  /* ASID -> tag key (cpu->tlb_key): slot asid & 0xff holds asid + 1, or 0
   * when free; a new ASID in a used slot evicts the old one's entries. */
  uint32_t asid_slot[256];
  uint64_t tlb_key; /* the current ASID's key */

  /* Self-hosted debug (debug.c): the breakpoints and watchpoints armed
   * (DBGxCR, DBGxVR; zero when not), and the syndrome of a pending
   * software step. */
  struct {
    uint64_t bp[6][2], wp[4][2];
    bool wp_armed;
    bool step_isv, step_ex;
  } dbg;
};

/* SCTLR_EL1 bits the blocks look at. */
#define EMU_SCTLR_M (1ull << 0)
#define EMU_SCTLR_A (1ull << 1)
#define EMU_SCTLR_C (1ull << 2)
#define EMU_SCTLR_SA (1ull << 3)
#define EMU_SCTLR_SA0 (1ull << 4)
#define EMU_SCTLR_UMA (1ull << 9)
#define EMU_SCTLR_I (1ull << 12)
#define EMU_SCTLR_DZE (1ull << 14)
#define EMU_SCTLR_UCT (1ull << 15)
#define EMU_SCTLR_NTWI (1ull << 16)
#define EMU_SCTLR_NTWE (1ull << 18)
#define EMU_SCTLR_WXN (1ull << 19)
#define EMU_SCTLR_E0E (1ull << 24)
#define EMU_SCTLR_EE (1ull << 25)
#define EMU_SCTLR_UCI (1ull << 26)

/* Copies into struct emu_cpu what its inline paths need from PSTATE.EL,
 * SPSel, the ASID and SCTLR_EL1: the TLB view of the EL, the ASID's tag
 * key, the block context (the EL), which EL0 cache maintenance
 * instructions must ask sysreg_write first (DZE, UCI clear) and the
 * registers MRS may read directly (at EL1, where none of them has an
 * access rule; SP_EL0 only while SPSel selects SP_EL1, as rd_sp_el0).
 * Called whenever the EL, SPSel, the ASID or SCTLR_EL1 changes. */
static inline void emu_sys_sync_core(struct emu_sys *sys) {
  struct emu_cpu *cpu = sys->cpu;
  bool el0 = sys->el == 0;
  uint64_t sctlr = sys->regs.sctlr;
  if (!cpu)
    return;
  cpu->tlb = cpu->tlb_views[el0 ? 0 : 1];
  cpu->tlb_key = sys->tlb_key;
  cpu->code_ctx = sys->el;
  cpu->insn_traps = (el0 && !(sctlr & EMU_SCTLR_DZE) ? EMU_TRAP_DC_ZVA : 0) |
                    (el0 && !(sctlr & EMU_SCTLR_UCI) ? EMU_TRAP_DC_CMO : 0);
  cpu->fast_sysreg[EMU_FAST_SP_EL0] = !el0 && sys->spsel ? &sys->sp_el0 : NULL;
  cpu->fast_sysreg[EMU_FAST_TPIDR_EL1] = el0 ? NULL : &sys->regs.tpidr_el1;
  cpu->fast_sysreg[EMU_FAST_DAIF] = el0 ? NULL : &sys->daif;
}

/* Sets up a CPU in its reset state: EL1h, DAIF masked, MMU off,
 * SCTLR_EL1 at its architectural reset value (RES1 bits set). Keeps the
 * ram, gic and timer pointers already in *sys. */
void emu_sys_reset(struct emu_sys *sys, struct emu_cpu *cpu, unsigned cpu_index,
                   const struct emu_sys_ops *ops, void *opaque);

/* The stack pointer selected by (el, spsel): &sys->sp_el0 or &sys->sp_el1. */
static inline uint64_t *emu_sys_sp_bank(struct emu_sys *sys, unsigned el,
                                        unsigned spsel) {
  return (el && spsel) ? &sys->sp_el1 : &sys->sp_el0;
}

/* Copies cpu->r[EMU_SP] into the bank of the current stack pointer. */
static inline void emu_sys_sp_save(struct emu_sys *sys) {
  *emu_sys_sp_bank(sys, sys->el, sys->spsel) = sys->cpu->r[EMU_SP];
}

/* Switches PSTATE.EL/SPSel, moving the stack pointers between cpu->r and
 * the banks. Calls ops->regime_changed when the EL changes. */
void emu_sys_set_el_sp(struct emu_sys *sys, unsigned el, unsigned spsel);

/* PSTATE as SPSR_EL1 records it (M[3:0], DAIF, IL, SS, NZCV). */
uint64_t emu_sys_pstate(const struct emu_sys *sys);

/* true when FP/AdvSIMD instructions at the current EL trap to EL1
 * (CPACR_EL1.FPEN), i.e. must raise EC 0x07. */
static inline bool emu_sys_fp_trapped(const struct emu_sys *sys) {
  unsigned fpen = (sys->regs.cpacr >> 20) & 3;
  return fpen == 0 || fpen == 2 || (fpen == 1 && sys->el == 0);
}

#endif
