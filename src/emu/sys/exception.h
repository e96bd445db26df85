/* exception.h — taking exceptions to EL1 and returning from them (ERET),
 * ESR_EL1 syndrome construction, and the PSTATE/stack-pointer banking of
 * struct emu_sys.
 *
 * Threads: the vCPU thread that owns the emu_sys.
 */
#ifndef VMK_EMU_SYS_EXCEPTION_H
#define VMK_EMU_SYS_EXCEPTION_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/sys/sys.h"

/* Exception classes (ESR_ELx.EC). */
#define EMU_EC_UNKNOWN 0x00
#define EMU_EC_WFX 0x01
#define EMU_EC_FP_ACCESS 0x07
#define EMU_EC_ILLEGAL_STATE 0x0e
#define EMU_EC_SVC64 0x15
#define EMU_EC_HVC64 0x16
#define EMU_EC_SMC64 0x17
#define EMU_EC_SYSREG 0x18
#define EMU_EC_IABT_LOWER 0x20
#define EMU_EC_IABT_SAME 0x21
#define EMU_EC_PC_ALIGN 0x22
#define EMU_EC_DABT_LOWER 0x24
#define EMU_EC_DABT_SAME 0x25
#define EMU_EC_SP_ALIGN 0x26
#define EMU_EC_FP_EXC64 0x2c
#define EMU_EC_SERROR 0x2f
#define EMU_EC_BKPT_LOWER 0x30
#define EMU_EC_BKPT_SAME 0x31
#define EMU_EC_SSTEP_LOWER 0x32
#define EMU_EC_SSTEP_SAME 0x33
#define EMU_EC_WPT_LOWER 0x34
#define EMU_EC_WPT_SAME 0x35
#define EMU_EC_BRK64 0x3c

#define EMU_ESR_IL (1u << 25)

/* Vector offsets from VBAR_EL1. */
enum emu_exc_type {
  EMU_EXC_SYNC = 0x000,
  EMU_EXC_IRQ = 0x080,
  EMU_EXC_FIQ = 0x100,
  EMU_EXC_SERROR = 0x180,
};

static inline uint32_t emu_esr(unsigned ec, uint32_t iss) {
  /* Every AArch64 instruction is 32 bits: IL is always 1 for synchronous
   * exceptions caused by an instruction. */
  return (uint32_t)ec << 26 | EMU_ESR_IL | (iss & 0x1ffffff);
}

/* Syndromes for the common synchronous exceptions; "same" vs "lower" EL
 * variants are picked from sys->el. */
uint32_t emu_esr_undef(void);
uint32_t emu_esr_svc(uint16_t imm);
uint32_t emu_esr_hvc(uint16_t imm);
uint32_t emu_esr_brk(uint16_t imm);
/* WFI (wfe=false) or WFE trapped by SCTLR_EL1.nTWI/nTWE at EL0. */
uint32_t emu_esr_wfx(bool wfe);
/* FP/AdvSIMD access trapped by CPACR_EL1.FPEN. */
uint32_t emu_esr_fp_access(void);
/* Data abort: fsc from the MMU (or EMU_FSC_ALIGNMENT), wnr = write,
 * cm = caused by a cache maintenance / DC instruction. */
uint32_t emu_esr_data_abort(const struct emu_sys *sys, uint8_t fsc, bool wnr,
                            bool cm);
uint32_t emu_esr_inst_abort(const struct emu_sys *sys, uint8_t fsc);
/* MSR/MRS/SYS trapped (EC 0x18): enc is the 16-bit op0:op1:CRn:CRm:op2
 * (instruction bits [20:5]), rt the register, read = MRS / SYSL. */
uint32_t emu_esr_sysreg(uint32_t enc, unsigned rt, bool read);

/* Takes a synchronous exception to EL1: SPSR_EL1 = PSTATE, ELR_EL1 = elr
 * (the preferred return address: the faulting instruction, or the next
 * one for SVC/HVC), ESR_EL1 = esr, FAR_EL1 = far when far_valid; PSTATE
 * becomes EL1h with DAIF masked, IL/SS clear; the exclusive monitor is
 * cleared; cpu->pc = the vector. */
void emu_exc_sync(struct emu_sys *sys, uint32_t esr, uint64_t elr,
                  bool far_valid, uint64_t far);

/* Takes an asynchronous exception (IRQ, FIQ, SError) at the instruction
 * boundary cpu->pc (ELR_EL1 = cpu->pc). ESR_EL1 is written only for SError
 * (esr), as the architecture says. Does not check PSTATE masks. */
void emu_exc_async(struct emu_sys *sys, enum emu_exc_type type, uint32_t esr);

/* true when PSTATE lets an interrupt of that type be taken now (at EL0 or
 * EL1 with no EL2/EL3, the PSTATE.I/F/A masks always apply). */
bool emu_exc_unmasked(const struct emu_sys *sys, enum emu_exc_type type);

/* ERET at EL1: restores PSTATE from SPSR_EL1 and jumps to ELR_EL1. An
 * illegal return (AArch32, EL2/EL3, EL0 with SP_EL1) keeps EL and SP, sets
 * PSTATE.IL and still jumps: the next instruction then must take an
 * Illegal Execution State exception (see emu_exc_check_il). Returns false
 * when the return was illegal. */
bool emu_exc_eret(struct emu_sys *sys);

/* When PSTATE.IL is set, takes the Illegal Execution State exception for
 * the instruction at cpu->pc and returns true. The engine calls it before
 * running code after an ERET (or any PSTATE write). */
bool emu_exc_check_il(struct emu_sys *sys);

#endif
