/* env.h — system-mode glue between the emulator core (struct emu_env_ops,
 * cpu.h) and the system blocks: what the emu engine's tlb_fill, mmio_*,
 * exception and sysreg_* callbacks call, plus TLB maintenance on the
 * core's soft TLB and interrupt delivery between blocks.
 *
 * Conventions of the core this relies on (src/emu/cpu.h + mem.h):
 *  - tlb_fill returns 0 (entry filled), 1 (MMIO page) or -1 (fault); the
 *    core then raises EMU_EXIT_FAULT with EMU_FAULT_* bits and the va.
 *  - EMU_EXIT_UNDEF carries the raw instruction as syndrome (ERET is not
 *    decoded by the core and arrives this way; so do trapped MRS/MSR).
 *  - SVC/HVC/BRK carry their full ESR as syndrome; cpu->pc is the
 *    preferred return address when env->exception runs.
 *
 * Wiring (tests/unit/emusys/test_sysmode.c does exactly this): cpu->env
 * callbacks forward to emu_sys_tlb_fill / emu_sys_exception /
 * emu_sys_sysreg_read / emu_sys_sysreg_write, mmio_* use emu_sys_mmio_pa
 * and the bus; emu_sys_ops.tlbi / regime_changed use the TLB functions
 * below; the timer's output is emu_sys_timer_output. The vCPU loop:
 *
 *   for (;;) {
 *     switch (emu_run(cpu, budget)) {
 *     case EMU_EXIT_HVC:     PSCI with x0..x3; cpu->pc is past the HVC
 *     case EMU_EXIT_WFI:     unless emu_sys_wfi_wakeup(sys), sleep until
 *                            emu_timer_deadline_ns(timer) or a GIC wake
 *     case EMU_EXIT_REQUEST: (GIC wake, TLBI from another vCPU, pause...)
 *     case EMU_EXIT_BUDGET:  break;
 *     }
 *     emu_timer_poll(timer);          // raises the timer PPIs that are due
 *     emu_sys_poll_interrupts(sys);   // enters the IRQ vector if unmasked
 *   }
 *
 * The GIC's wake callback (any thread) sets the target's exit_request and
 * wakes it if it sleeps in WFI; timers must also be polled while the vCPU
 * runs (budget slices or a host timer setting exit_request at the
 * deadline).
 *
 * Threads: the vCPU thread owning the emu_sys.
 */
#ifndef VMK_EMU_SYS_ENV_H
#define VMK_EMU_SYS_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/sys/sys.h"

/* env->tlb_fill: translates va at the current EL (no alignment checks
 * except for MMIO), fills the soft TLB entry with every access kind the
 * page allows (the exec tag keyed by the EL), and returns 0; returns 1 for a
 * non-RAM page (MMIO; its PA is kept for emu_sys_mmio_pa), or -1 for a fault
 * (kept for emu_sys_exception). An instruction fetch from non-RAM is a fault
 * (synchronous external abort). */
int emu_sys_tlb_fill(struct emu_sys *sys, uint64_t va, enum emu_access acc,
                     unsigned size);

/* The guest-physical address of va for env->mmio_read/mmio_write (right
 * after tlb_fill returned 1 for it). false if va was not on that page. */
bool emu_sys_mmio_pa(const struct emu_sys *sys, uint64_t va, uint64_t *pa);

/* env->exception: turns a core exit into the guest's exception (ESR, FAR,
 * ELR, vector) and performs ERET. Returns true when execution continues
 * at cpu->pc in the guest (cpu->exit_kind is then EMU_EXIT_NONE), false
 * when the engine must handle the exit itself: HVC from EL1 (PSCI), WFI
 * (not trapped), REQUEST, BUDGET. */
bool emu_sys_exception(struct emu_sys *sys, enum emu_exit kind,
                       uint32_t syndrome, uint64_t addr);

/* env->sysreg_read / sysreg_write: false means "raise UNDEF"; a trap to
 * EL1 (EC 0x18) or an FP access trap (EC 0x07) is remembered and turned
 * into the right exception by emu_sys_exception. A write that unmasks a
 * pending interrupt (a timer's too when its deadline passed since the
 * last poll) sets cpu->exit_request so the engine delivers it at the next
 * block boundary; so does a timer register read that finds the timer
 * fired (see emu_sys_timer_output). */
bool emu_sys_sysreg_read(struct emu_sys *sys, uint32_t enc, uint64_t *val);
bool emu_sys_sysreg_write(struct emu_sys *sys, uint32_t enc, uint64_t val);

/* Between blocks / after an exit: takes a pending, unmasked FIQ or IRQ
 * (FIQ first) at cpu->pc. Returns true if one was taken. */
bool emu_sys_poll_interrupts(struct emu_sys *sys);

/* True when an interrupt is pending for this CPU even if PSTATE masks it:
 * WFI must not sleep then. */
bool emu_sys_wfi_wakeup(const struct emu_sys *sys);

/* Output callback for emu_timer_init (opaque = the emu_sys): drives this
 * CPU's timer PPI on sys->gic; when it rises and the interrupt can be
 * taken, sets cpu->exit_request (a guest spinning on ISTATUS takes the
 * interrupt right after the read that showed it). */
void emu_sys_timer_output(void *opaque, unsigned intid, bool level);

/* Soft TLB maintenance on sys->cpu's TLB views. The engine's
 * emu_sys_ops.tlbi calls emu_sys_tlb_invalidate for the local CPU (and,
 * for broadcast operations, has every other vCPU do the same before it
 * runs again); emu_sys_ops.regime_changed calls emu_sys_regime_changed.
 * None of these functions touches the core's block cache: blocks are
 * keyed by physical page, so a changed mapping finds other blocks. */
struct emu_tlbi;
void emu_sys_tlb_invalidate(struct emu_sys *sys, const struct emu_tlbi *op);
/* Every entry of both views. */
void emu_sys_tlb_flush(struct emu_sys *sys);
/* After a TTBR write: makes the current ASID's key the one in use
 * (nothing is dropped unless the ASID takes another's key slot). */
void emu_sys_asid_changed(struct emu_sys *sys);
/* What each enum emu_regime_change needs (sys.h): EL nothing, ASID
 * emu_sys_asid_changed, TRANSLATION emu_sys_tlb_flush. */
void emu_sys_regime_changed(struct emu_sys *sys, enum emu_regime_change why);

/* This CPU's part of an IC instruction: all (IALLU, IALLUIS) drops every
 * decoded block; else (IVAU) those of the physical page va maps to now.
 * Returns that page's host address (for the other vCPUs of an IVAU:
 * emu_code_invalidate_host), or NULL when there is none. */
void *emu_sys_ic_local(struct emu_sys *sys, bool all, uint64_t va);

#endif
