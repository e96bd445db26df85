/* debug.h — AArch64 self-hosted debug of the emulated core (Arm ARM D2,
 * ARMv8.0, EL0/EL1 only): hardware breakpoints (DBGBCR/DBGBVR<n>_EL1),
 * watchpoints (DBGWCR/DBGWVR<n>_EL1), software step (MDSCR_EL1.SS with
 * PSTATE.SS) and the rules for when debug exceptions are enabled (OS lock,
 * OS double lock, MDSCR_EL1.MDE/KDE, PSTATE.D).
 *
 * How it reaches the core (cpu.h): cpu->dbg_bp makes the block builder
 * put a check before instructions a breakpoint may match; watched pages
 * get soft TLB entries that send their accesses to watch_check;
 * cpu->dbg_step runs one instruction at a time. Nothing is armed in the
 * common case, so the core's fast paths stay as they are.
 *
 * Threads: the vCPU thread owning the emu_sys.
 */
#ifndef VMK_EMU_SYS_DEBUG_H
#define VMK_EMU_SYS_DEBUG_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/sys/sys.h"

/* What ID_AA64DFR0_EL1 announces: 6 breakpoints (the last 2 context-aware)
 * and 4 watchpoints. */
#define EMU_DBG_NBP 6
#define EMU_DBG_NWP 4
#define EMU_DBG_NCTX 2

/* MDSCR_EL1 bits. */
#define EMU_MDSCR_SS (1ull << 0)
#define EMU_MDSCR_TDCC (1ull << 12)
#define EMU_MDSCR_KDE (1ull << 13)
#define EMU_MDSCR_MDE (1ull << 15)

/* True when debug exceptions (breakpoint, watchpoint, software step) may
 * be generated at the current EL (AArch64.GenerateDebugExceptions with
 * ELd = EL1). */
bool emu_dbg_enabled(const struct emu_sys *sys);

/* Recomputes what is armed after anything it depends on changed (a debug
 * register, MDSCR_EL1, the OS lock, PSTATE.D, the EL): sets
 * cpu->dbg_step and cpu->dbg_bp, drops decoded code (ops->ic_inval, local)
 * when the armed breakpoints changed and the soft TLB when the armed
 * watchpoints changed. Cheap when nothing changed. */
void emu_dbg_update(struct emu_sys *sys);
/* Only cpu->dbg_step (after an EL, PSTATE.D or PSTATE.SS change). */
void emu_dbg_update_step(struct emu_sys *sys);

/* emu_env_ops.bp_at / bp_check / watch_check / step_before / step_done
 * (see cpu.h); the non-zero results are ESR_EL1 values. */
bool emu_dbg_bp_at(const struct emu_sys *sys, uint64_t pc);
uint32_t emu_dbg_bp_check(const struct emu_sys *sys, uint64_t pc);
uint32_t emu_dbg_watch_check(const struct emu_sys *sys, uint64_t va,
                             unsigned size, bool write);
uint32_t emu_dbg_step_before(struct emu_sys *sys);
void emu_dbg_step_done(struct emu_sys *sys, uint32_t raw);

/* For the soft TLB fill: true when an armed watchpoint may match a load
 * (*r) or a store (*w) somewhere in the 4 KiB page at va. */
bool emu_dbg_page_watched(const struct emu_sys *sys, uint64_t va, bool *r,
                          bool *w);

#endif
