/* env.c — system-mode glue between the emulator core and the system
 * blocks (see env.h): soft TLB fills from stage-1 translations, MMIO
 * address recovery, core exits turned into guest exceptions (including
 * ERET, which the core leaves undecoded), system register traps, TLB
 * maintenance and interrupt delivery.
 *
 * The soft TLB (cpu.h) is tagged by VA only — no ASID — so a side
 * array (emu_sys.tlb_user) remembers which slots hold non-global or
 * TTBR0-half translations: an ASID/TTBR change or TLBI by ASID drops just
 * those; SCTLR/TCR/MAIR writes drop everything. Exec tags carry the EL
 * they were filled at (emu_sys_exec_key), so they survive EL changes;
 * load/store tags do not: a return to EL0 drops them (EL1's are
 * broader), an entry to EL1 keeps EL0's (a subset of EL1's, no PAN).
 * TLBI by VA drops the single 4 KiB entry unless a block mapping of that
 * VA half is cached, in which case everything goes (a block's other
 * pages sit in other slots).
 *
 * Threads: the vCPU thread owning the emu_sys; no shared state besides the
 * GIC (own lock) and the exit_request flag (atomic store).
 */
#include "emu/sys/env.h"

#include <string.h>

#include "emu/mem.h"
#include "emu/sys/exception.h"
#include "emu/sys/gicv3.h"
#include "emu/sys/mmu.h"
#include "emu/sys/sysregs.h"
#include "emu/sys/timer.h"

#define ERET_INSN 0xd69f03e0u
#define FSC_SYNC_EXT_ABORT 0x10

static void record_fault(struct emu_sys *sys, uint64_t va, uint8_t fsc) {
  sys->fault.valid = true;
  sys->fault.va = va;
  sys->fault.fsc = fsc;
}

int emu_sys_tlb_fill(struct emu_sys *sys, uint64_t va, enum emu_access acc,
                     unsigned size) {
  struct emu_mmu_regs regs;
  struct emu_mmu_walker w = emu_sys_walker(sys);
  struct emu_mmu_result res;
  emu_sys_mmu_regs(sys, &regs);
  /* Alignment is the core's business on RAM (its fast path never checks
   * it): translate without, so fast and slow paths agree. */
  if (emu_mmu_translate(&regs, &w, va, acc, sys->el, 0, &res)) {
    record_fault(sys, va, res.fsc);
    return -1;
  }
  uint64_t pa_page = res.pa & ~(EMU_PAGE_SIZE - 1);
  void *host = sys->ram ? vmk_gm_ptr(sys->ram, pa_page, EMU_PAGE_SIZE) : NULL;
  if (!host) {
    if (acc == EMU_EXEC) {
      record_fault(sys, va, FSC_SYNC_EXT_ABORT);
      return -1;
    }
    /* MMIO: every access comes through here, so Device alignment holds. */
    if (res.device && size > 1 && (va & (size - 1))) {
      record_fault(sys, va, EMU_FSC_ALIGNMENT);
      return -1;
    }
    sys->mmio_valid = true;
    sys->mmio_va_page = va & EMU_PAGE_MASK;
    sys->mmio_pa_page = pa_page;
    return 1;
  }
  uint64_t page = va & EMU_PAGE_MASK;
  struct emu_tlb_entry *e =
      &sys->cpu->tlb[(va >> EMU_PAGE_BITS) & (EMU_TLB_SIZE - 1)];
  uint8_t prot = res.prot[sys->el ? 1 : 0];
  e->tag_read = (prot & EMU_PROT_R) ? page : EMU_TLB_INVALID;
  e->tag_write = (prot & EMU_PROT_W) ? page : EMU_TLB_INVALID;
  e->tag_exec =
      (prot & EMU_PROT_X) ? page | emu_sys_exec_key(sys->el) : EMU_TLB_INVALID;
  e->addend = (uintptr_t)host - (uintptr_t)page;
  if (res.page_bits > EMU_PAGE_BITS)
    sys->tlb_blocks[(va >> 55) & 1] = true;
  sys->tlb_user[(va >> EMU_PAGE_BITS) & (EMU_TLB_SIZE - 1)] =
      !res.global || !((va >> 55) & 1);
  return 0;
}

bool emu_sys_mmio_pa(const struct emu_sys *sys, uint64_t va, uint64_t *pa) {
  if (!sys->mmio_valid || (va & EMU_PAGE_MASK) != sys->mmio_va_page)
    return false;
  *pa = sys->mmio_pa_page | (va & (EMU_PAGE_SIZE - 1));
  return true;
}

/* Finishes a delivered exception: execution goes on at the vector. */
static bool delivered(struct emu_sys *sys) {
  sys->cpu->exit_kind = EMU_EXIT_NONE;
  sys->fault.valid = false;
  sys->trap_kind = 0;
  return true;
}

static uint32_t undef_or_trap(struct emu_sys *sys, uint32_t raw) {
  uint32_t enc = (raw >> 5) & 0xffff;
  /* Only MRS/MSR/SYS (0xd5xxxxxx, op0 != 0) can have trapped. */
  if (sys->trap_kind && (raw & 0xffc00000u) == 0xd5000000u &&
      enc == sys->trap_enc) {
    if (sys->trap_kind == EMU_SYSREG_FP_TRAP)
      return emu_esr_fp_access();
    return emu_esr_sysreg(enc, raw & 31, (raw >> 21) & 1);
  }
  return emu_esr_undef();
}

bool emu_sys_exception(struct emu_sys *sys, enum emu_exit kind,
                       uint32_t syndrome, uint64_t addr) {
  struct emu_cpu *cpu = sys->cpu;
  uint64_t pc = cpu->pc;
  switch (kind) {
  case EMU_EXIT_UNDEF:
    if (syndrome == ERET_INSN && sys->el == 1) {
      emu_exc_eret(sys);
      /* An illegal return traps at the target; else a pending interrupt
       * is taken before the first instruction there. */
      if (!emu_exc_check_il(sys))
        emu_sys_poll_interrupts(sys);
      return delivered(sys);
    }
    emu_exc_sync(sys, undef_or_trap(sys, syndrome), pc, false, 0);
    return delivered(sys);
  case EMU_EXIT_SVC:
    emu_exc_sync(sys, emu_esr_svc((uint16_t)syndrome), pc, false, 0);
    return delivered(sys);
  case EMU_EXIT_HVC:
    if (sys->el == 1)
      return false; /* PSCI: the machine's business */
    /* HVC is UNDEFINED at EL0; the exception returns to the HVC itself. */
    emu_exc_sync(sys, emu_esr_undef(), pc - 4, false, 0);
    return delivered(sys);
  case EMU_EXIT_BRK:
    if ((syndrome >> 26) == EMU_EC_BRK64)
      emu_exc_sync(sys, emu_esr_brk((uint16_t)syndrome), pc, false, 0);
    else /* HLT without halting debug */
      emu_exc_sync(sys, emu_esr_undef(), pc, false, 0);
    return delivered(sys);
  case EMU_EXIT_WFI:
    if (sys->el == 0 && !(sys->regs.sctlr & EMU_SCTLR_NTWI)) {
      emu_exc_sync(sys, emu_esr_wfx(false), pc - 4, false, 0);
      return delivered(sys);
    }
    return false;
  case EMU_EXIT_FAULT: {
    bool fetch = syndrome & EMU_FAULT_FETCH;
    uint8_t fsc = (uint8_t)(syndrome & 0x3f);
    if (sys->fault.valid && sys->fault.va == addr)
      fsc = sys->fault.fsc;
    uint32_t esr;
    if (fetch && fsc == EMU_FSC_ALIGNMENT)
      esr = emu_esr(EMU_EC_PC_ALIGN, 0);
    else if (fetch)
      esr = emu_esr_inst_abort(sys, fsc);
    else
      esr = emu_esr_data_abort(sys, fsc, syndrome & EMU_FAULT_WNR, false);
    emu_exc_sync(sys, esr, pc, true, addr);
    return delivered(sys);
  }
  default:
    return false;
  }
}

/* Gets the core out of its block chain at the next block boundary when
 * an interrupt can be taken now (the engine's loop then delivers it):
 * without this a guest would only see it at WFI or at the end of its
 * time slice. */
static void request_if_deliverable(struct emu_sys *sys) {
  if (sys->gic && ((emu_gicv3_irq_line(sys->gic, sys->cpu_index) &&
                    emu_exc_unmasked(sys, EMU_EXC_IRQ)) ||
                   (emu_gicv3_fiq_line(sys->gic, sys->cpu_index) &&
                    emu_exc_unmasked(sys, EMU_EXC_FIQ))))
    __atomic_store_n(&sys->cpu->exit_request, 1, __ATOMIC_RELAXED);
}

static void note_trap(struct emu_sys *sys, uint32_t enc,
                      enum emu_sysreg_result r) {
  if (r == EMU_SYSREG_TRAP || r == EMU_SYSREG_FP_TRAP) {
    sys->trap_kind = (uint8_t)r;
    sys->trap_enc = enc;
  } else {
    sys->trap_kind = 0;
  }
}

bool emu_sys_sysreg_read(struct emu_sys *sys, uint32_t enc, uint64_t *val) {
  enum emu_sysreg_result r = emu_sysreg_read(sys, enc, val);
  note_trap(sys, enc, r);
  return r == EMU_SYSREG_OK;
}

bool emu_sys_sysreg_write(struct emu_sys *sys, uint32_t enc, uint64_t val) {
  enum emu_sysreg_result r = emu_sysreg_write(sys, enc, val);
  note_trap(sys, enc, r);
  if (r != EMU_SYSREG_OK)
    return false;
  /* DAIF, ICC_PMR, ICC_IGRPEN, EOI...: an interrupt may be deliverable
   * now, a timer one too if its deadline passed since the last poll. */
  if (sys->timer && (emu_exc_unmasked(sys, EMU_EXC_IRQ) ||
                     emu_exc_unmasked(sys, EMU_EXC_FIQ)))
    emu_timer_poll_due(sys->timer);
  request_if_deliverable(sys);
  return true;
}

bool emu_sys_poll_interrupts(struct emu_sys *sys) {
  if (!sys->gic)
    return false;
  if (emu_gicv3_fiq_line(sys->gic, sys->cpu_index) &&
      emu_exc_unmasked(sys, EMU_EXC_FIQ)) {
    emu_exc_async(sys, EMU_EXC_FIQ, 0);
    return true;
  }
  if (emu_gicv3_irq_line(sys->gic, sys->cpu_index) &&
      emu_exc_unmasked(sys, EMU_EXC_IRQ)) {
    emu_exc_async(sys, EMU_EXC_IRQ, 0);
    return true;
  }
  return false;
}

bool emu_sys_wfi_wakeup(const struct emu_sys *sys) {
  return sys->gic && (emu_gicv3_irq_line(sys->gic, sys->cpu_index) ||
                      emu_gicv3_fiq_line(sys->gic, sys->cpu_index));
}

void emu_sys_timer_output(void *opaque, unsigned intid, bool level) {
  struct emu_sys *sys = opaque;
  if (!sys->gic)
    return;
  emu_gicv3_set_ppi(sys->gic, sys->cpu_index, intid, level);
  /* Risen inside a timer register access: take it right after. */
  if (level && sys->cpu)
    request_if_deliverable(sys);
}

void emu_sys_tlb_flush(struct emu_sys *sys) {
  for (unsigned i = 0; i < EMU_TLB_SIZE; i++) {
    struct emu_tlb_entry *e = &sys->cpu->tlb[i];
    e->tag_read = e->tag_write = e->tag_exec = EMU_TLB_INVALID;
    e->addend = 0;
  }
  sys->tlb_blocks[0] = sys->tlb_blocks[1] = false;
  memset(sys->tlb_user, 0, sizeof(sys->tlb_user));
  sys->mmio_valid = false;
}

void emu_sys_tlb_flush_asid(struct emu_sys *sys) {
  for (unsigned i = 0; i < EMU_TLB_SIZE; i++) {
    if (sys->tlb_user[i]) {
      struct emu_tlb_entry *e = &sys->cpu->tlb[i];
      e->tag_read = e->tag_write = e->tag_exec = EMU_TLB_INVALID;
      sys->tlb_user[i] = 0;
    }
  }
  sys->tlb_blocks[0] = false;
  sys->mmio_valid = false;
}

void emu_sys_tlb_drop_data(struct emu_sys *sys) {
  for (unsigned i = 0; i < EMU_TLB_SIZE; i++)
    sys->cpu->tlb[i].tag_read = sys->cpu->tlb[i].tag_write = EMU_TLB_INVALID;
  sys->mmio_valid = false;
}

void emu_sys_tlb_drop_exec(struct emu_sys *sys) {
  for (unsigned i = 0; i < EMU_TLB_SIZE; i++)
    sys->cpu->tlb[i].tag_exec = EMU_TLB_INVALID;
}

void emu_sys_tlb_invalidate(struct emu_sys *sys, const struct emu_tlbi *op) {
  bool half = (op->va >> 55) & 1;
  if (op->kind == EMU_TLBI_ASID) { /* the non-global entries */
    emu_sys_tlb_flush_asid(sys);
    return;
  }
  if (op->kind == EMU_TLBI_ALL || sys->tlb_blocks[half]) {
    emu_sys_tlb_flush(sys);
    return;
  }
  /* The slot of that page, whatever its tag: covers tagged (TBI) entries. */
  struct emu_tlb_entry *e =
      &sys->cpu->tlb[(op->va >> EMU_PAGE_BITS) & (EMU_TLB_SIZE - 1)];
  e->tag_read = e->tag_write = e->tag_exec = EMU_TLB_INVALID;
  sys->mmio_valid = false;
}
