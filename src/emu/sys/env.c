/* env.c — system-mode glue between the emulator core and the system
 * blocks (see env.h): soft TLB fills from stage-1 translations, MMIO
 * address recovery, core exits turned into guest exceptions (including
 * ERET, which the core leaves undecoded), system register traps, TLB
 * maintenance and interrupt delivery.
 *
 * The soft TLB (cpu.h) has one view per EL (each filled with that EL's
 * permissions, so an EL change switches views and drops nothing), and
 * every tag carries the key of the ASID it was filled under (cpu.h:
 * tlb_key; 256 keys, slot = ASID & 0xff, a new ASID in a used slot
 * evicts the old one's entries). So a TTBR write that changes the ASID
 * costs nothing, and switching back finds the old entries. A global
 * entry matches every ASID: when its tag carries another ASID's key, the
 * miss refills it from emu_sys.tlb_meta without a walk (retag). The
 * emulator has no EL2, hence no stage 2 and no VMID to tag with.
 * SCTLR/TCR/MAIR writes drop everything. TLBI drops what the
 * architecture names: by ASID the non-global entries of that ASID; by VA
 * the entries of that page that are global or of that ASID (VAA: any);
 * when the VA lies in a span of block mappings cached in a view
 * (tlb_blocks), that view is searched for the block's other pages.
 *
 * Threads: the vCPU thread owning the emu_sys; no shared state besides the
 * GIC (own lock) and the exit_request flag (atomic store).
 */
#include "emu/sys/env.h"

#include <string.h>

#include "emu/mem.h"
#include "emu/sys/debug.h"
#include "emu/sys/exception.h"
#include "emu/sys/gicv3.h"
#include "emu/sys/mmu.h"
#include "emu/sys/sysregs.h"
#include "emu/sys/timer.h"

#define ERET_INSN 0xd69f03e0u
#define FSC_SYNC_EXT_ABORT 0x10
/* The VA bits a TLBI by VA names (55..12; 63..56 are the tag byte or
 * the sign) */
#define TLBI_VA_BITS 0x00fffffffffff000ull

static void record_fault(struct emu_sys *sys, uint64_t va, uint8_t fsc) {
  sys->fault.valid = true;
  sys->fault.va = va;
  sys->fault.fsc = fsc;
}

static inline unsigned tlb_index(uint64_t va) {
  return (unsigned)(va >> EMU_PAGE_BITS) & (EMU_TLB_SIZE - 1);
}

static void set_tags(const struct emu_sys *sys, struct emu_tlb_entry *e,
                     uint64_t page, uint8_t prot) {
  uint64_t tag = page | sys->tlb_key;
  e->tag_read = (prot & EMU_PROT_R) ? tag : EMU_TLB_INVALID;
  e->tag_write = (prot & EMU_PROT_W) ? tag : EMU_TLB_INVALID;
  e->tag_exec = (prot & EMU_PROT_X) ? tag : EMU_TLB_INVALID;
}

static void invalidate(struct emu_sys *sys, unsigned view, unsigned i) {
  struct emu_tlb_entry *e = &sys->cpu->tlb_views[view][i];
  e->tag_read = e->tag_write = e->tag_exec = EMU_TLB_INVALID;
  sys->tlb_meta[view][i].valid = false;
}

/* A global entry for va filled under another ASID's key: the same
 * translation holds, so only its tags change. */
static bool retag(struct emu_sys *sys, uint64_t va, enum emu_access acc) {
  static const uint8_t need[] = {EMU_PROT_R, EMU_PROT_W, EMU_PROT_X};
  unsigned view = sys->el ? 1 : 0, i = tlb_index(va);
  const struct emu_tlb_meta *m = &sys->tlb_meta[view][i];
  if (!m->valid || !m->global || m->vpage != (va & EMU_PAGE_MASK) ||
      !(m->prot & need[acc]) || sys->dbg.wp_armed)
    return false;
  set_tags(sys, &sys->cpu->tlb_views[view][i], m->vpage, m->prot);
  return true;
}

/* Makes the spans s cover [lo, hi): the span it overlaps or touches
 * grows, else a free one takes it, else the one that grows least. */
static void add_span(struct emu_tlb_span *s, uint64_t lo, uint64_t hi) {
  unsigned best = 0;
  uint64_t best_cost = UINT64_MAX;
  for (unsigned k = 0; k < EMU_TLB_SPANS; k++) {
    uint64_t cost;
    if (!s[k].hi)
      cost = hi - lo; /* as much as a new span would cover */
    else if (lo <= s[k].hi && hi >= s[k].lo)
      cost = 0;
    else
      cost = hi < s[k].lo ? s[k].lo - hi : lo - s[k].hi;
    if (cost < best_cost) {
      best_cost = cost;
      best = k;
    }
  }
  struct emu_tlb_span *b = &s[best];
  if (!b->hi) {
    *b = (struct emu_tlb_span){lo, hi};
    return;
  }
  if (lo < b->lo)
    b->lo = lo;
  if (hi > b->hi)
    b->hi = hi;
}

/* Whether a mapping larger than a page cached in view may cover key. */
static bool in_span(const struct emu_sys *sys, unsigned view, uint64_t key) {
  const struct emu_tlb_span *s = sys->tlb_blocks[view];
  for (unsigned k = 0; k < EMU_TLB_SPANS; k++)
    if (key >= s[k].lo && key < s[k].hi)
      return true;
  return false;
}

int emu_sys_tlb_fill(struct emu_sys *sys, uint64_t va, enum emu_access acc,
                     unsigned size) {
  if (retag(sys, va, acc))
    return 0;
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
  unsigned view = sys->el ? 1 : 0, i = tlb_index(va);
  struct emu_tlb_entry *e = &sys->cpu->tlb_views[view][i];
  uint8_t prot = res.prot[view];
  set_tags(sys, e, page, prot);
  e->addend = (uintptr_t)host - (uintptr_t)page;
  sys->tlb_meta[view][i] = (struct emu_tlb_meta){
      .vpage = page,
      .asid = res.asid,
      .prot = prot,
      .page_bits = (uint8_t)res.page_bits,
      .global = res.global,
      .valid = true,
  };
  if (res.page_bits > EMU_PAGE_BITS) {
    uint64_t lo = va & TLBI_VA_BITS & ~((1ull << res.page_bits) - 1);
    add_span(sys->tlb_blocks[view], lo, lo + (1ull << res.page_bits));
  }
  bool wr, ww;
  if (__builtin_expect(sys->dbg.wp_armed, 0) &&
      emu_dbg_page_watched(sys, va, &wr, &ww)) {
    /* Accesses of a watched kind must take the slow path to be checked. */
    if (wr)
      e->tag_read = EMU_TLB_INVALID;
    if (ww)
      e->tag_write = EMU_TLB_INVALID;
    if ((acc == EMU_READ && wr) || (acc == EMU_WRITE && ww))
      return EMU_FILL_WATCH;
  }
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
    /* A stepped SVC completed: the step is pending after the return. */
    if (cpu->dbg_step)
      emu_dbg_step_done(sys, 0);
    emu_exc_sync(sys, emu_esr_svc((uint16_t)syndrome), pc, false, 0);
    return delivered(sys);
  case EMU_EXIT_HVC:
    if (sys->el == 1) {
      if (cpu->dbg_step)
        emu_dbg_step_done(sys, 0);
      return false; /* PSCI: the machine's business */
    }
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
    if (cpu->dbg_step)
      emu_dbg_step_done(sys, 0);
    return false;
  case EMU_EXIT_DEBUG: {
    unsigned ec = syndrome >> 26;
    emu_exc_sync(sys, syndrome, pc,
                 ec == EMU_EC_WPT_LOWER || ec == EMU_EC_WPT_SAME, addr);
    return delivered(sys);
  }
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
    emu_cpu_request_exit(sys->cpu);
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
  emu_tlb_flush(sys->cpu);
  memset(sys->tlb_meta, 0, sizeof sys->tlb_meta);
  memset(sys->tlb_blocks, 0, sizeof sys->tlb_blocks);
  sys->mmio_valid = false;
}

void emu_sys_asid_changed(struct emu_sys *sys) {
  struct emu_mmu_regs regs;
  emu_sys_mmu_regs(sys, &regs);
  uint16_t asid = emu_mmu_asid(&regs);
  unsigned slot = asid & 0xff;
  uint64_t key = (uint64_t)slot << EMU_TLB_KEY_SHIFT;
  if (sys->asid_slot[slot] != asid + 1u) {
    /* The slot's previous ASID leaves the TLB: its entries would
     * otherwise pass for the new one's. */
    if (sys->asid_slot[slot])
      for (unsigned v = 0; v < 2; v++)
        for (unsigned i = 0; i < EMU_TLB_SIZE; i++) {
          const struct emu_tlb_meta *m = &sys->tlb_meta[v][i];
          if (m->valid && !m->global && (m->asid & 0xff) == slot)
            invalidate(sys, v, i);
        }
    sys->asid_slot[slot] = asid + 1u;
  }
  sys->tlb_key = key;
  sys->cpu->tlb_key = key;
  sys->mmio_valid = false;
}

/* Whether a TLBI of op's kind drops an entry whose meta is m. */
static bool tlbi_asid_match(const struct emu_tlbi *op,
                            const struct emu_tlb_meta *m) {
  return op->kind == EMU_TLBI_VA_ALLASID || m->global || m->asid == op->asid;
}

/* VA bits [55:12] (TBI-tagged VAs and the TLBI's sign extension differ
 * above), down to the mapping's own size. */
static bool tlbi_va_match(uint64_t va, const struct emu_tlb_meta *m) {
  uint64_t mask = TLBI_VA_BITS & ~((1ull << m->page_bits) - 1);
  return ((va ^ m->vpage) & mask) == 0;
}

void emu_sys_tlb_invalidate(struct emu_sys *sys, const struct emu_tlbi *op) {
  sys->mmio_valid = false;
  if (op->kind == EMU_TLBI_ALL) {
    emu_sys_tlb_flush(sys);
    return;
  }
  if (op->kind == EMU_TLBI_ASID) { /* the non-global entries of op->asid */
    for (unsigned v = 0; v < 2; v++)
      for (unsigned i = 0; i < EMU_TLB_SIZE; i++) {
        const struct emu_tlb_meta *m = &sys->tlb_meta[v][i];
        if (m->valid && !m->global && m->asid == op->asid)
          invalidate(sys, v, i);
      }
    return;
  }
  for (unsigned v = 0; v < 2; v++) {
    if (in_span(sys, v, op->va & TLBI_VA_BITS)) { /* in a block: any slot */
      for (unsigned i = 0; i < EMU_TLB_SIZE; i++) {
        const struct emu_tlb_meta *m = &sys->tlb_meta[v][i];
        if (m->valid && tlbi_va_match(op->va, m) && tlbi_asid_match(op, m))
          invalidate(sys, v, i);
      }
      continue;
    }
    unsigned i = tlb_index(op->va);
    const struct emu_tlb_meta *m = &sys->tlb_meta[v][i];
    if (m->valid && tlbi_va_match(op->va, m) && tlbi_asid_match(op, m))
      invalidate(sys, v, i);
  }
}

void emu_sys_regime_changed(struct emu_sys *sys, enum emu_regime_change why) {
  if (why == EMU_REGIME_ASID) {
    emu_sys_asid_changed(sys);
  } else if (why == EMU_REGIME_TRANSLATION) {
    emu_sys_tlb_flush(sys);
    emu_sys_asid_changed(sys); /* TCR_EL1.A1/AS pick the ASID */
  }
}

void *emu_sys_ic_local(struct emu_sys *sys, bool all, uint64_t va) {
  struct emu_cpu *cpu = sys->cpu;
  if (all) {
    emu_flush_code(cpu);
    return NULL;
  }
  /* IC IVAU names a VA of the current regime; the I-cache is PIPT
   * (CTR_EL0.L1Ip), so the code of that physical page goes, under every
   * VA. A VA without a translation names no code. */
  struct emu_mmu_regs regs;
  struct emu_mmu_walker w = emu_sys_walker(sys);
  struct emu_mmu_result res;
  emu_sys_mmu_regs(sys, &regs);
  if (emu_mmu_translate(&regs, &w, va, EMU_READ, sys->el, 0, &res) || !sys->ram)
    return NULL;
  void *host =
      vmk_gm_ptr(sys->ram, res.pa & ~(EMU_PAGE_SIZE - 1), EMU_PAGE_SIZE);
  if (host)
    emu_code_invalidate_host(cpu, host);
  return host;
}
