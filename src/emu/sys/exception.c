/* exception.c — exception entry to EL1, ERET, syndromes, and PSTATE /
 * stack-pointer banking (Arm ARM AArch64.TakeException,
 * AArch64.ExceptionReturn) for a core with EL0 and EL1 only.
 *
 * Threads: the vCPU thread owning the emu_sys; no shared state.
 * SPSR_EL1 and ELR_EL1 are guest-controlled: ERET checks the mode field
 * and turns anything we do not implement into an illegal return.
 */
#include "emu/sys/exception.h"

#include <string.h>

#include "emu/sys/debug.h"

/* SCTLR_EL1 RES1 bits in ARMv8.0 (29, 28, 23, 22, 20, 11). */
#define SCTLR_RES1 0x30d00800ull

void emu_sys_reset(struct emu_sys *sys, struct emu_cpu *cpu, unsigned cpu_index,
                   const struct emu_sys_ops *ops, void *opaque) {
  struct emu_gicv3 *gic = sys->gic;
  struct emu_timer *timer = sys->timer;
  const struct vmk_guest_mem *ram = sys->ram;
  memset(sys, 0, sizeof(*sys));
  sys->ram = ram;
  sys->gic = gic;
  sys->timer = timer;
  sys->cpu = cpu;
  sys->cpu_index = cpu_index;
  sys->ops = ops;
  sys->opaque = opaque;
  sys->el = 1;
  sys->spsel = 1;
  sys->daif = EMU_PSTATE_DAIF;
  sys->regs.sctlr = SCTLR_RES1;
  /* OS lock is set at cold reset (OSLSR_EL1.OSLK = 1, OSLM = 0b10). */
  sys->regs.oslsr = 0xa;
  emu_sys_sync_core(sys);
  emu_dbg_update(sys);
}

void emu_sys_set_el_sp(struct emu_sys *sys, unsigned el, unsigned spsel) {
  bool el_changed = sys->el != el;
  uint8_t old_spsel = sys->spsel;
  emu_sys_sp_save(sys);
  sys->el = (uint8_t)el;
  sys->spsel = el ? (uint8_t)(spsel & 1) : 0;
  sys->cpu->r[EMU_SP] = *emu_sys_sp_bank(sys, sys->el, sys->spsel);
  if (el_changed || sys->spsel != old_spsel) /* fast_sysreg[SP_EL0] */
    emu_sys_sync_core(sys);
  if (el_changed && sys->ops && sys->ops->regime_changed)
    sys->ops->regime_changed(sys->opaque, EMU_REGIME_EL);
}

uint64_t emu_sys_pstate(const struct emu_sys *sys) {
  return (uint64_t)(sys->cpu->nzcv & EMU_PSTATE_NZCV) |
         (sys->ss ? EMU_PSTATE_SS : 0) | (sys->il ? EMU_PSTATE_IL : 0) |
         (sys->daif & EMU_PSTATE_DAIF) | (uint64_t)sys->el << 2 |
         (sys->el ? sys->spsel : 0);
}

uint32_t emu_esr_undef(void) { return emu_esr(EMU_EC_UNKNOWN, 0); }
uint32_t emu_esr_svc(uint16_t imm) { return emu_esr(EMU_EC_SVC64, imm); }
uint32_t emu_esr_hvc(uint16_t imm) { return emu_esr(EMU_EC_HVC64, imm); }
uint32_t emu_esr_brk(uint16_t imm) { return emu_esr(EMU_EC_BRK64, imm); }

uint32_t emu_esr_wfx(bool wfe) {
  /* CV=1, COND=0b1110 (AL) for exceptions from AArch64; TI = 1 for WFE. */
  return emu_esr(EMU_EC_WFX, 1u << 24 | 0xeu << 20 | (wfe ? 1 : 0));
}

uint32_t emu_esr_fp_access(void) {
  return emu_esr(EMU_EC_FP_ACCESS, 1u << 24 | 0xeu << 20);
}

uint32_t emu_esr_data_abort(const struct emu_sys *sys, uint8_t fsc, bool wnr,
                            bool cm) {
  /* ISV=0: the guest kernel never needs the instruction syndrome from a
   * stage-1 abort. A cache maintenance abort reports WnR=1. */
  uint32_t iss = (fsc & 0x3fu) | (wnr || cm ? 1u << 6 : 0) | (cm ? 1u << 8 : 0);
  return emu_esr(sys->el ? EMU_EC_DABT_SAME : EMU_EC_DABT_LOWER, iss);
}

uint32_t emu_esr_inst_abort(const struct emu_sys *sys, uint8_t fsc) {
  return emu_esr(sys->el ? EMU_EC_IABT_SAME : EMU_EC_IABT_LOWER, fsc & 0x3fu);
}

uint32_t emu_esr_sysreg(uint32_t enc, unsigned rt, bool read) {
  unsigned op0 = (enc >> 14) & 3, op1 = (enc >> 11) & 7, crn = (enc >> 7) & 15,
           crm = (enc >> 3) & 15, op2 = enc & 7;
  uint32_t iss = op0 << 20 | op2 << 17 | op1 << 14 | crn << 10 |
                 (rt & 31) << 5 | crm << 1 | (read ? 1u : 0);
  return emu_esr(EMU_EC_SYSREG, iss);
}

static void enter(struct emu_sys *sys, enum emu_exc_type type, uint64_t elr) {
  uint64_t vec = sys->el ? (sys->spsel ? 0x200 : 0x000) : 0x400;
  sys->regs.spsr = emu_sys_pstate(sys);
  sys->regs.elr = elr;
  emu_sys_set_el_sp(sys, 1, 1);
  sys->daif = EMU_PSTATE_DAIF;
  sys->ss = false;
  sys->il = false;
  /* The local exclusive monitor does not survive an exception. */
  sys->cpu->excl_size = 0;
  sys->cpu->pc = (sys->regs.vbar & ~0x7ffull) + vec + (uint64_t)type;
  emu_dbg_update_step(sys); /* PSTATE.D is set: no step at EL1 */
}

void emu_exc_sync(struct emu_sys *sys, uint32_t esr, uint64_t elr,
                  bool far_valid, uint64_t far) {
  sys->regs.esr = esr;
  if (far_valid)
    sys->regs.far = far;
  enter(sys, EMU_EXC_SYNC, elr);
}

void emu_exc_async(struct emu_sys *sys, enum emu_exc_type type, uint32_t esr) {
  if (type == EMU_EXC_SERROR)
    sys->regs.esr = esr;
  enter(sys, type, sys->cpu->pc);
}

bool emu_exc_unmasked(const struct emu_sys *sys, enum emu_exc_type type) {
  switch (type) {
  case EMU_EXC_IRQ:
    return !(sys->daif & EMU_PSTATE_I);
  case EMU_EXC_FIQ:
    return !(sys->daif & EMU_PSTATE_F);
  case EMU_EXC_SERROR:
    return !(sys->daif & EMU_PSTATE_A);
  default:
    return true;
  }
}

bool emu_exc_eret(struct emu_sys *sys) {
  uint64_t spsr = sys->regs.spsr;
  unsigned m = (unsigned)spsr & 0x1f;
  unsigned el = (m >> 2) & 3, sp = m & 1;
  /* Legal targets: EL0t (0b00000), EL1t (0b00100), EL1h (0b00101). */
  bool illegal = (m & 0x10) || (m & 2) || el > 1 || (el == 0 && sp);

  sys->cpu->nzcv = (uint32_t)spsr & EMU_PSTATE_NZCV;
  sys->daif = (uint32_t)spsr & EMU_PSTATE_DAIF;
  sys->ss = (spsr & EMU_PSTATE_SS) != 0;
  /* A step made pending by ERET (SPSR.SS = 0) has stepped nothing. */
  sys->dbg.step_isv = sys->dbg.step_ex = false;
  sys->il = illegal || (spsr & EMU_PSTATE_IL);
  if (!illegal)
    emu_sys_set_el_sp(sys, el, sp);
  emu_dbg_update_step(sys);
  sys->cpu->excl_size = 0;
  uint64_t pc = sys->regs.elr;
  if (sys->il)
    pc &= ~3ull;
  sys->cpu->pc = pc;
  return !illegal;
}

bool emu_exc_check_il(struct emu_sys *sys) {
  if (!sys->il)
    return false;
  emu_exc_sync(sys, emu_esr(EMU_EC_ILLEGAL_STATE, 0), sys->cpu->pc, false, 0);
  return true;
}
