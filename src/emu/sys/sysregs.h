/* sysregs.h — the EL0/EL1 system registers and system instructions (MRS,
 * MSR register and immediate, SYS: DC/IC/AT/TLBI) of the emulated
 * ARMv8.0-A core in system mode, with the EL0 access rules (UNDEFINED for
 * EL1-only registers; SCTLR_EL1/CNTKCTL_EL1/MDSCR_EL1-controlled traps to
 * EL1 with EC 0x18; CPACR_EL1 FP traps with EC 0x07).
 *
 * The ID registers describe exactly what vmkit's emulator implements (see
 * sysregs.c). The GIC CPU interface (ICC_*) and timer (CNT*) registers are
 * forwarded to sys->gic and sys->timer.
 *
 * Threads: the vCPU thread owning the emu_sys.
 */
#ifndef VMK_EMU_SYS_SYSREGS_H
#define VMK_EMU_SYS_SYSREGS_H

#include <stdint.h>

#include "emu/sys/mmu.h"
#include "emu/sys/sys.h"

enum emu_sysreg_result {
  EMU_SYSREG_OK = 0,
  /* UNDEFINED: raise EC 0x00 (emu_esr_undef()). */
  EMU_SYSREG_UNDEF,
  /* Trapped to EL1: raise emu_esr_sysreg(enc, rt, read). */
  EMU_SYSREG_TRAP,
  /* FP/AdvSIMD disabled by CPACR_EL1: raise emu_esr_fp_access(). */
  EMU_SYSREG_FP_TRAP,
};

/* MRS (and SYSL). enc = instruction bits [20:5] (see EMU_SYSREG). */
enum emu_sysreg_result emu_sysreg_read(struct emu_sys *sys, uint32_t enc,
                                       uint64_t *val);

/* MSR (register), MSR (immediate: op0 = 0, CRn = 4, CRm = imm, val
 * ignored) and SYS (op0 = 1: DC, IC, AT, TLBI with val = Xt).
 * DC ZVA: only the access check is done here; on EMU_SYSREG_OK the core
 * zeroes the 64-byte block at val through its normal store path. The other
 * DC operations are no-ops (memory is coherent). After OK the engine must
 * treat PSTATE (DAIF, SPSel) and the translation regime as possibly
 * changed (the core ends the block after any MSR/SYS). */
enum emu_sysreg_result emu_sysreg_write(struct emu_sys *sys, uint32_t enc,
                                        uint64_t val);

/* Name of a known register/instruction ("SCTLR_EL1"), or NULL. */
const char *emu_sysreg_name(uint32_t enc);

/* Copies the registers translation depends on. */
void emu_sys_mmu_regs(const struct emu_sys *sys, struct emu_mmu_regs *out);

/* A table walker reading through sys->ops->phys_read64. */
struct emu_mmu_walker emu_sys_walker(const struct emu_sys *sys);

/* ID register values (also used by tests and the device tree code). */
#define EMU_MIDR_EL1 0x000f0000ull /* implementer 0: software use */
#define EMU_ID_AA64PFR0_EL1 0x1100000001000011ull
#define EMU_ID_AA64ISAR0_EL1 0x00010000ull /* CRC32 only */
#define EMU_ID_AA64MMFR0_EL1 0x0f000025ull
/* DebugVer v8.0, BRPs 6, WRPs 4, CTX_CMPs 2 (each field is count - 1). */
#define EMU_ID_AA64DFR0_EL1 0x10305006ull
#define EMU_CTR_EL0 0x8444c004ull
#define EMU_DCZID_BS 4 /* log2 words: 64-byte DC ZVA blocks */

/* For tests: true when the register table is sorted (lookup bisects). */
bool emu_sysreg_table_sorted(void);

#endif
