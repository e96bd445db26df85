/* emu_snapshot.c — the emu engine's vCPU state to and from the engine-neutral
 * form of engine/arch_state.h (the GIC's is in sys/gicv3.c).
 *
 * System registers travel as (MRS encoding, value) pairs: the registers
 * below are every EL0/EL1 register the emulator keeps as state. A snapshot
 * naming a register this engine does not implement is refused rather than
 * silently dropped, and every value from it is masked or range-checked as
 * an MSR would be (the file is untrusted).
 *
 * Threads: the VM's owner thread, with every vCPU parked or not yet
 * started (emu.c guarantees it); no locks here.
 */
#include "engine/emu_snapshot.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "emu/sys/debug.h"
#include "emu/sys/env.h"
#include "emu/sys/timer.h"

#define SR VMK_SYSREG

/* Plain storage registers of struct emu_sys_regs. */
static const struct {
  uint32_t enc;
  size_t off;
} plain[] = {
    {SR(3, 0, 1, 0, 0), offsetof(struct emu_sys_regs, sctlr)},
    {SR(3, 0, 1, 0, 1), offsetof(struct emu_sys_regs, actlr)},
    {SR(3, 0, 1, 0, 2), offsetof(struct emu_sys_regs, cpacr)},
    {SR(3, 0, 2, 0, 0), offsetof(struct emu_sys_regs, ttbr0)},
    {SR(3, 0, 2, 0, 1), offsetof(struct emu_sys_regs, ttbr1)},
    {SR(3, 0, 2, 0, 2), offsetof(struct emu_sys_regs, tcr)},
    {SR(3, 0, 10, 2, 0), offsetof(struct emu_sys_regs, mair)},
    {SR(3, 0, 10, 3, 0), offsetof(struct emu_sys_regs, amair)},
    {SR(3, 0, 12, 0, 0), offsetof(struct emu_sys_regs, vbar)},
    {SR(3, 0, 5, 2, 0), offsetof(struct emu_sys_regs, esr)},
    {SR(3, 0, 6, 0, 0), offsetof(struct emu_sys_regs, far)},
    {SR(3, 0, 4, 0, 1), offsetof(struct emu_sys_regs, elr)},
    {SR(3, 0, 4, 0, 0), offsetof(struct emu_sys_regs, spsr)},
    {SR(3, 0, 7, 4, 0), offsetof(struct emu_sys_regs, par)},
    {SR(3, 0, 13, 0, 1), offsetof(struct emu_sys_regs, contextidr)},
    {SR(3, 0, 13, 0, 4), offsetof(struct emu_sys_regs, tpidr_el1)},
    {SR(3, 0, 14, 1, 0), offsetof(struct emu_sys_regs, cntkctl)},
    {SR(3, 0, 5, 1, 0), offsetof(struct emu_sys_regs, afsr0)},
    {SR(3, 0, 5, 1, 1), offsetof(struct emu_sys_regs, afsr1)},
    {SR(3, 2, 0, 0, 0), offsetof(struct emu_sys_regs, csselr)},
    {SR(2, 0, 0, 2, 2), offsetof(struct emu_sys_regs, mdscr)},
    {SR(2, 0, 0, 2, 0), offsetof(struct emu_sys_regs, mdccint)},
    {SR(2, 0, 1, 1, 4), offsetof(struct emu_sys_regs, oslsr)},
    {SR(2, 0, 1, 3, 4), offsetof(struct emu_sys_regs, osdlr)},
    {SR(2, 0, 1, 4, 4), offsetof(struct emu_sys_regs, dbgprcr)},
    {SR(2, 0, 7, 8, 6), offsetof(struct emu_sys_regs, dbgclaim)},
};
#define NPLAIN (sizeof plain / sizeof plain[0])

#define TPIDR_EL0 SR(3, 3, 13, 0, 2)
#define TPIDRRO_EL0 SR(3, 3, 13, 0, 3)
#define CNTP_CTL SR(3, 3, 14, 2, 1)
#define CNTP_CVAL SR(3, 3, 14, 2, 2)
#define CNTV_CTL SR(3, 3, 14, 3, 1)
#define CNTV_CVAL SR(3, 3, 14, 3, 2)
/* DBGBVR<n>_EL1 = 2,0,0,n,4; BCR 5; WVR 6; WCR 7. */
#define DBG_REG(n, op2) SR(2, 0, 0, (n), (op2))

void emu_vcpu_state_save(struct emu_sys *sys, struct emu_cpu *cpu,
                         const struct emu_timer *t,
                         struct vmk_vcpu_state *out) {
  memset(out, 0, sizeof *out);
  emu_sys_sp_save(sys);
  for (int i = 0; i < 31; i++)
    out->x[i] = cpu->r[i];
  out->sp_el0 = sys->sp_el0;
  out->sp_el1 = sys->sp_el1;
  out->pc = cpu->pc;
  out->pstate = emu_sys_pstate(sys);
  for (int i = 0; i < 32; i++) {
    out->v[i][0] = cpu->v[i].d[0];
    out->v[i][1] = cpu->v[i].d[1];
  }
  out->fpcr = cpu->fpcr;
  out->fpsr = cpu->fpsr;
  for (size_t i = 0; i < NPLAIN; i++)
    vmk_vcpu_set_sysreg(
        out, plain[i].enc,
        *(const uint64_t *)((const char *)&sys->regs + plain[i].off));
  for (unsigned n = 0; n < 6; n++) {
    vmk_vcpu_set_sysreg(out, DBG_REG(n, 4), sys->regs.dbgbvr[n]);
    vmk_vcpu_set_sysreg(out, DBG_REG(n, 5), sys->regs.dbgbcr[n]);
  }
  for (unsigned n = 0; n < 4; n++) {
    vmk_vcpu_set_sysreg(out, DBG_REG(n, 6), sys->regs.dbgwvr[n]);
    vmk_vcpu_set_sysreg(out, DBG_REG(n, 7), sys->regs.dbgwcr[n]);
  }
  vmk_vcpu_set_sysreg(out, TPIDR_EL0, cpu->tpidr_el0);
  vmk_vcpu_set_sysreg(out, TPIDRRO_EL0, cpu->tpidrro_el0);
  vmk_vcpu_set_sysreg(out, CNTP_CTL, t->t[EMU_TIMER_PHYS].ctl);
  vmk_vcpu_set_sysreg(out, CNTP_CVAL, t->t[EMU_TIMER_PHYS].cval);
  vmk_vcpu_set_sysreg(out, CNTV_CTL, t->t[EMU_TIMER_VIRT].ctl);
  vmk_vcpu_set_sysreg(out, CNTV_CVAL, t->t[EMU_TIMER_VIRT].cval);
}

static bool set_dbg(struct emu_sys *sys, uint32_t enc, uint64_t val) {
  if ((enc >> 7) != (SR(2, 0, 0, 0, 0) >> 7))
    return false;
  unsigned n = (enc >> 3) & 15, op2 = enc & 7;
  if (op2 == 4 && n < 6)
    sys->regs.dbgbvr[n] = val;
  else if (op2 == 5 && n < 6)
    sys->regs.dbgbcr[n] = val;
  else if (op2 == 6 && n < 4)
    sys->regs.dbgwvr[n] = val;
  else if (op2 == 7 && n < 4)
    sys->regs.dbgwcr[n] = val;
  else
    return false;
  return true;
}

int emu_vcpu_state_load(struct emu_sys *sys, struct emu_cpu *cpu,
                        struct emu_timer *t, unsigned idx,
                        const struct vmk_vcpu_state *in, vmk_error *err) {
  unsigned m = (unsigned)(in->pstate & 0x1f);
  if (m != 0 && m != 4 && m != 5)
    return vmk_err(err, -EINVAL,
                   "vCPU %u of the snapshot is in a mode this engine does not "
                   "run (PSTATE.M 0x%x; only EL0t, EL1t and EL1h are)",
                   idx, m);
  if (in->nsys > VMK_ARCH_MAX_SYSREGS)
    return vmk_err(err, -EINVAL,
                   "vCPU %u of the snapshot has too many "
                   "system registers",
                   idx);
  /* Reset first: every register not in the snapshot takes its reset
   * value, and the engine's pointers stay. */
  emu_sys_reset(sys, cpu, idx, sys->ops, sys->opaque);
  for (unsigned i = 0; i < in->nsys; i++) {
    uint32_t enc = in->sys[i].enc;
    uint64_t val = in->sys[i].val;
    bool done = false;
    for (size_t k = 0; k < NPLAIN && !done; k++)
      if (plain[k].enc == enc) {
        *(uint64_t *)((char *)&sys->regs + plain[k].off) = val;
        done = true;
      }
    if (done || set_dbg(sys, enc, val))
      continue;
    switch (enc) {
    case TPIDR_EL0:
      cpu->tpidr_el0 = val;
      break;
    case TPIDRRO_EL0:
      cpu->tpidrro_el0 = val;
      break;
    case CNTP_CTL:
    case CNTV_CTL:
      t->t[enc == CNTP_CTL ? EMU_TIMER_PHYS : EMU_TIMER_VIRT].ctl =
          (uint32_t)val & (EMU_TIMER_CTL_ENABLE | EMU_TIMER_CTL_IMASK);
      break;
    case CNTP_CVAL:
    case CNTV_CVAL:
      t->t[enc == CNTP_CVAL ? EMU_TIMER_PHYS : EMU_TIMER_VIRT].cval = val;
      break;
    default:
      return vmk_err(err, -EINVAL,
                     "vCPU %u of the snapshot holds system register "
                     "S%u_%u_C%u_C%u_%u, which the emu engine does not "
                     "implement",
                     idx, enc >> 14, (enc >> 11) & 7, (enc >> 7) & 15,
                     (enc >> 3) & 15, enc & 7);
    }
  }
  /* Output levels are recomputed at the vCPU's first poll. */
  t->t[0].out = t->t[1].out = false;
  t->deadline_ns = UINT64_MAX;
  /* Bits an MSR could never set (RES0 of TTBRx' ASID etc. are plain). */
  sys->regs.oslsr &= 0xf;
  for (int i = 0; i < 31; i++)
    cpu->r[i] = in->x[i];
  cpu->r[EMU_XZR] = 0;
  cpu->pc = in->pc;
  cpu->nzcv = (uint32_t)(in->pstate & EMU_PSTATE_NZCV);
  sys->daif = (uint32_t)(in->pstate & EMU_PSTATE_DAIF);
  sys->ss = (in->pstate & EMU_PSTATE_SS) != 0;
  sys->il = (in->pstate & EMU_PSTATE_IL) != 0;
  sys->sp_el0 = in->sp_el0;
  sys->sp_el1 = in->sp_el1;
  sys->el = (uint8_t)(m >> 2);
  sys->spsel = (uint8_t)(m & 1);
  cpu->r[EMU_SP] = *emu_sys_sp_bank(sys, sys->el, sys->spsel);
  for (int i = 0; i < 32; i++) {
    cpu->v[i].d[0] = in->v[i][0];
    cpu->v[i].d[1] = in->v[i][1];
  }
  cpu->fpcr = in->fpcr & 0x07c00000u; /* as MSR FPCR/FPSR keep them */
  cpu->fpsr = in->fpsr & 0x0800009fu;
  cpu->excl_size = 0; /* the monitor may be cleared at any time */
  emu_sys_sync_core(sys);
  emu_dbg_update(sys);
  emu_sys_tlb_flush(sys);
  emu_sys_asid_changed(sys);
  emu_flush_code(cpu);
  return 0;
}
