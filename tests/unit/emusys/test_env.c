/* test_env.c — the system-mode glue: TLB fills over a guest RAM mapping
 * (MMU off and on), MMIO detection and PA recovery, core exits turned
 * into guest exceptions (UNDEF, ERET, SVC, HVC, BRK/HLT, WFI traps, data
 * and instruction aborts with the walk's real fault codes), trapped system
 * registers, interrupt delivery and TLB invalidation.
 * Single-threaded test program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/le.h"
#include "emu/mem.h"
#include "emu/sys/env.h"
#include "emu/sys/exception.h"
#include "emu/sys/gicv3.h"
#include "emu/sys/sysregs.h"

#define S EMU_SYSREG
#define RAM_BASE 0x40000000ull
#define RAM_SIZE (4u << 20)
#define VBAR 0xffff000010000000ull

struct fixture {
  struct emu_cpu cpu;
  struct emu_sys sys;
  struct vmk_guest_mem ram;
  struct emu_gicv3 gic;
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  f->ram.base = RAM_BASE;
  f->ram.size = RAM_SIZE;
  f->ram.host = calloc(1, RAM_SIZE);
  f->sys.ram = &f->ram;
  emu_sys_reset(&f->sys, &f->cpu, 0, NULL, NULL);
  emu_sys_tlb_flush(&f->sys);
  f->sys.regs.vbar = VBAR;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  if (f->gic.cpu)
    emu_gicv3_destroy(&f->gic);
  free(f->ram.host);
  free(f);
  return 0;
}

/* The entry of va in the view of the current EL (what tlb_fill fills). */
static struct emu_tlb_entry *slot(struct fixture *f, uint64_t va) {
  return &f->cpu.tlb_views[f->sys.el ? 1 : 0][(va >> 12) & (EMU_TLB_SIZE - 1)];
}

static void put(struct fixture *f, uint64_t pa, uint64_t v) {
  vmk_put_le64(f->ram.host + (pa - RAM_BASE), v);
}

/* Kernel-style mapping: TTBR1 39-bit, VA 0xffffff8000000000 + x -> RAM. */
#define KVA 0xffffff8000000000ull
static void map_kernel(struct fixture *f) {
  uint64_t l1 = RAM_BASE + 0x1000, l2 = RAM_BASE + 0x2000,
           l3 = RAM_BASE + 0x3000;
  put(f, l1 + 0 * 8, l2 | 3);
  put(f, l2 + 0 * 8, l3 | 3);
  /* page 0: kernel RW (AP=00), page 1: user RW (AP=01),
   * page 2: kernel RO+X, page 3: MMIO window at the UART. */
  put(f, l3 + 0 * 8, (RAM_BASE + 0x100000) | 3 | 1 << 10 | 1 << 2 | 1ull << 54);
  put(f, l3 + 1 * 8,
      (RAM_BASE + 0x101000) | 3 | 1 << 10 | 1 << 2 | 1 << 6 | 1ull << 53);
  put(f, l3 + 2 * 8, (RAM_BASE + 0x102000) | 3 | 1 << 10 | 1 << 2 | 2 << 6);
  put(f, l3 + 3 * 8, 0x09000000ull | 3 | 1 << 10 | 0 << 2 | 1ull << 54);
  /* 2 MiB block at index 1 of L2 */
  put(f, l2 + 1 * 8, (RAM_BASE + 0x200000) | 1 | 1 << 10 | 1 << 2);
  f->sys.regs.mair = 0xff00;
  f->sys.regs.tcr = 25ull << 16 | 5ull << 32 | 1ull << 7; /* EPD0 */
  f->sys.regs.ttbr1 = l1;
  f->sys.regs.sctlr |= 1;
}

static void test_fill_mmu_off(void **state) {
  struct fixture *f = *state;
  uint64_t va = RAM_BASE + 0x5008;
  assert_int_equal(emu_sys_tlb_fill(&f->sys, va, EMU_READ, 8), 0);
  struct emu_tlb_entry *e = slot(f, va);
  assert_int_equal(e->tag_read, RAM_BASE + 0x5000);
  assert_int_equal(e->tag_write, RAM_BASE + 0x5000);
  assert_int_equal(e->tag_exec, RAM_BASE + 0x5000);
  assert_ptr_equal((void *)(uintptr_t)(va + e->addend), f->ram.host + 0x5008);
  /* Device-typed RAM (MMU off) still takes the fast path, unaligned too. */
  assert_int_equal(emu_sys_tlb_fill(&f->sys, va + 3, EMU_WRITE, 4), 0);
  /* The UART: MMIO. */
  uint64_t pa;
  assert_int_equal(emu_sys_tlb_fill(&f->sys, 0x09000018, EMU_WRITE, 4), 1);
  assert_true(emu_sys_mmio_pa(&f->sys, 0x09000018, &pa));
  assert_int_equal(pa, 0x09000018);
  assert_false(emu_sys_mmio_pa(&f->sys, 0x09001018, &pa));
  assert_int_equal(slot(f, 0x09000018)->tag_write, EMU_TLB_INVALID);
  /* Unaligned Device MMIO: alignment fault, reported as a data abort. */
  assert_int_equal(emu_sys_tlb_fill(&f->sys, 0x09000019, EMU_READ, 4), -1);
  f->cpu.pc = 0x40080000;
  assert_true(
      emu_sys_exception(&f->sys, EMU_EXIT_FAULT, EMU_FAULT_PERM, 0x09000019));
  assert_int_equal(f->sys.regs.esr, 0x96000021u);
  assert_int_equal(f->sys.regs.far, 0x09000019);
  assert_int_equal(f->sys.regs.elr, 0x40080000);
  assert_int_equal(f->cpu.pc, VBAR + 0x200);
  assert_int_equal(f->cpu.exit_kind, EMU_EXIT_NONE);
  /* Fetching from MMIO: instruction abort, synchronous external abort. */
  assert_int_equal(emu_sys_tlb_fill(&f->sys, 0x09000000, EMU_EXEC, 4), -1);
  f->cpu.pc = 0x09000000;
  assert_true(emu_sys_exception(&f->sys, EMU_EXIT_FAULT,
                                EMU_FAULT_FETCH | EMU_FAULT_PERM, 0x09000000));
  assert_int_equal(f->sys.regs.esr, 0x86000010u);
}

static void test_fill_mmu_on(void **state) {
  struct fixture *f = *state;
  map_kernel(f);
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x10, EMU_READ, 8), 0);
  struct emu_tlb_entry *e = slot(f, KVA);
  assert_int_equal(e->tag_read, KVA);
  assert_int_equal(e->tag_write, KVA);
  assert_int_equal(e->tag_exec, KVA); /* UXN only: EL1 may execute */
  assert_ptr_equal((void *)(uintptr_t)(KVA + 0x10 + slot(f, KVA)->addend),
                   f->ram.host + 0x100010);
  /* Read-only kernel page: no write tag. */
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x2000, EMU_READ, 4), 0);
  assert_int_equal(slot(f, KVA + 0x2000)->tag_write, EMU_TLB_INVALID);
  assert_int_equal(slot(f, KVA + 0x2000)->tag_exec, KVA + 0x2000);
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x2000, EMU_WRITE, 4), -1);
  f->cpu.pc = KVA + 0x2000;
  assert_true(emu_sys_exception(&f->sys, EMU_EXIT_FAULT,
                                EMU_FAULT_WNR | EMU_FAULT_PERM, KVA + 0x2008));
  /* Not the recorded va: the core's generic code is used. */
  assert_int_equal(f->sys.regs.esr, 0x9600004fu);
  /* Unmapped page: translation fault level 3, the real code. */
  emu_sys_reset(&f->sys, &f->cpu, 0, NULL, NULL);
  map_kernel(f);
  f->sys.regs.vbar = VBAR;
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x5000, EMU_WRITE, 4), -1);
  f->cpu.pc = KVA;
  assert_true(emu_sys_exception(&f->sys, EMU_EXIT_FAULT,
                                EMU_FAULT_WNR | EMU_FAULT_PERM, KVA + 0x5000));
  assert_int_equal(f->sys.regs.esr, 0x96000047u);
  assert_int_equal(f->sys.regs.far, KVA + 0x5000);
  /* MMIO through a mapping: PA recovered. */
  uint64_t pa;
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x3004, EMU_READ, 4), 1);
  assert_true(emu_sys_mmio_pa(&f->sys, KVA + 0x3004, &pa));
  assert_int_equal(pa, 0x09000004);
  /* The 2 MiB block. */
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x234000, EMU_READ, 4), 0);
  assert_ptr_equal(
      (void *)(uintptr_t)(KVA + 0x234000 + slot(f, KVA + 0x234000)->addend),
      f->ram.host + 0x234000);
  assert_true(f->sys.tlb_blocks[1][0].hi > 0);
}

static void test_fill_el0(void **state) {
  struct fixture *f = *state;
  map_kernel(f);
  f->sys.el = 0;
  f->sys.spsel = 0;
  /* EL0 on a kernel-only page: permission fault level 3, from EL0. */
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA, EMU_READ, 8), -1);
  f->cpu.pc = 0x400000;
  assert_true(emu_sys_exception(&f->sys, EMU_EXIT_FAULT, EMU_FAULT_PERM, KVA));
  assert_int_equal(f->sys.regs.esr, 0x9200000fu);
  assert_int_equal(f->cpu.pc, VBAR + 0x400);
  assert_int_equal(f->sys.el, 1);
  /* User page: EL0 RW, and the EL1 copy has no exec (EL0-writable). */
  f->sys.el = 0;
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x1000, EMU_WRITE, 8), 0);
  assert_int_equal(slot(f, KVA + 0x1000)->tag_write, KVA + 0x1000);
  /* EL0 may run it (UXN clear). */
  assert_int_equal(slot(f, KVA + 0x1000)->tag_exec, KVA + 0x1000);
  /* EL1 has a view of its own: the EL0 entry is not what it sees, and
   * its own entry has no exec (EL0-writable). The EL0 entry stays. */
  f->sys.el = 1;
  assert_int_equal(slot(f, KVA + 0x1000)->tag_exec, EMU_TLB_INVALID);
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x1000, EMU_READ, 8), 0);
  assert_int_equal(slot(f, KVA + 0x1000)->tag_exec, EMU_TLB_INVALID);
  assert_int_equal(slot(f, KVA + 0x1000)->tag_write, KVA + 0x1000);
  assert_int_equal(f->cpu.tlb_views[0][1].tag_exec, KVA + 0x1000);
  emu_sys_tlb_flush(&f->sys);
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x1000, EMU_READ, 8), 0);
  assert_int_equal(slot(f, KVA + 0x1000)->tag_write, KVA + 0x1000);
  assert_int_equal(slot(f, KVA + 0x1000)->tag_exec, EMU_TLB_INVALID);
  /* Instruction abort from EL0 with the walk's fault code. */
  f->sys.el = 0;
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x6000, EMU_EXEC, 4), -1);
  f->cpu.pc = KVA + 0x6000;
  assert_true(emu_sys_exception(
      &f->sys, EMU_EXIT_FAULT, EMU_FAULT_FETCH | EMU_FAULT_PERM, KVA + 0x6000));
  assert_int_equal(f->sys.regs.esr, 0x82000007u);
  assert_int_equal(f->sys.regs.elr, KVA + 0x6000);
}

static void test_exits(void **state) {
  struct fixture *f = *state;
  struct emu_sys *s = &f->sys;
  /* UNDEF */
  f->cpu.pc = 0x1000;
  assert_true(emu_sys_exception(s, EMU_EXIT_UNDEF, 0x00000000, 0x1000));
  assert_int_equal(s->regs.esr, 0x02000000u);
  assert_int_equal(s->regs.elr, 0x1000);
  /* ERET back to EL0 */
  s->regs.spsr = 0;
  s->regs.elr = 0x2000;
  f->cpu.pc = VBAR + 0x200;
  assert_true(emu_sys_exception(s, EMU_EXIT_UNDEF, 0xd69f03e0u, 0));
  assert_int_equal(s->el, 0);
  assert_int_equal(f->cpu.pc, 0x2000);
  /* ERET at EL0 is UNDEFINED */
  assert_true(emu_sys_exception(s, EMU_EXIT_UNDEF, 0xd69f03e0u, 0));
  assert_int_equal(s->regs.esr, 0x02000000u);
  assert_int_equal(f->cpu.pc, VBAR + 0x400);
  /* SVC from EL0: ELR after the SVC (the core set pc = in->pc + 4). */
  s->regs.elr = 0x2000;
  emu_exc_eret(s);
  f->cpu.pc = 0x2004;
  assert_true(emu_sys_exception(s, EMU_EXIT_SVC, 0x56000000u | 0x7, 0));
  assert_int_equal(s->regs.esr, 0x56000007u);
  assert_int_equal(s->regs.elr, 0x2004);
  assert_int_equal(f->cpu.pc, VBAR + 0x400);
  /* HVC at EL1 is for the machine (PSCI); at EL0 UNDEFINED. */
  f->cpu.pc = 0x3004;
  f->cpu.exit_kind = EMU_EXIT_HVC;
  assert_false(emu_sys_exception(s, EMU_EXIT_HVC, 0x5a000000u, 0));
  assert_int_equal(f->cpu.exit_kind, EMU_EXIT_HVC);
  emu_exc_eret(s); /* back to EL0 */
  f->cpu.pc = 0x2008;
  assert_true(emu_sys_exception(s, EMU_EXIT_HVC, 0x5a000000u, 0));
  assert_int_equal(s->regs.esr, 0x02000000u);
  assert_int_equal(s->regs.elr, 0x2004);
  /* BRK and HLT */
  f->cpu.pc = 0x3000;
  assert_true(emu_sys_exception(s, EMU_EXIT_BRK, 0xf2000000u | 0x800, 0));
  assert_int_equal(s->regs.esr, 0xf2000800u);
  assert_int_equal(s->regs.elr, 0x3000);
  assert_true(emu_sys_exception(s, EMU_EXIT_BRK, 0x02000000u | 0x1, 0));
  assert_int_equal(s->regs.esr, 0x02000000u);
  /* WFI: engine's, unless trapped from EL0 by SCTLR.nTWI = 0. */
  assert_false(emu_sys_exception(s, EMU_EXIT_WFI, 0, 0));
  s->regs.spsr = 0;
  s->regs.elr = 0x2000;
  emu_exc_eret(s);
  f->cpu.pc = 0x2004;
  assert_true(emu_sys_exception(s, EMU_EXIT_WFI, 0, 0));
  assert_int_equal(s->regs.esr, 0x07e00000u);
  assert_int_equal(s->regs.elr, 0x2000);
  s->regs.sctlr |= EMU_SCTLR_NTWI;
  emu_exc_eret(s);
  assert_false(emu_sys_exception(s, EMU_EXIT_WFI, 0, 0));
  /* PC alignment fault. */
  f->cpu.pc = 0x2002;
  assert_true(emu_sys_exception(s, EMU_EXIT_FAULT,
                                EMU_FAULT_FETCH | EMU_FAULT_ALIGN, 0x2002));
  assert_int_equal(s->regs.esr, 0x8a000000u);
  assert_int_equal(s->regs.far, 0x2002);
  /* REQUEST / BUDGET are the engine's. */
  assert_false(emu_sys_exception(s, EMU_EXIT_REQUEST, 0, 0));
  assert_false(emu_sys_exception(s, EMU_EXIT_BUDGET, 0, 0));
}

static uint32_t mrs(uint32_t enc, unsigned rt) {
  return 0xd5200000u | enc << 5 | rt;
}
static uint32_t msr(uint32_t enc, unsigned rt) {
  return 0xd5000000u | enc << 5 | rt;
}

static void test_sysreg_traps(void **state) {
  struct fixture *f = *state;
  struct emu_sys *s = &f->sys;
  uint64_t v;
  s->el = 0;
  s->spsel = 0;
  /* CTR_EL0 with SCTLR.UCT = 0: EC 0x18 with Rt and direction. */
  uint32_t ctr = S(3, 3, 0, 0, 1);
  assert_false(emu_sys_sysreg_read(s, ctr, &v));
  f->cpu.pc = 0x1000;
  assert_true(emu_sys_exception(s, EMU_EXIT_UNDEF, mrs(ctr, 5), 0x1000));
  assert_int_equal(s->regs.esr, emu_esr_sysreg(ctr, 5, true));
  assert_int_equal(s->regs.esr >> 26, 0x18);
  /* A trap remembered for another register is not reused. */
  s->regs.elr = 0x1000;
  emu_exc_eret(s);
  assert_false(emu_sys_sysreg_read(s, ctr, &v));
  assert_true(
      emu_sys_exception(s, EMU_EXIT_UNDEF, mrs(S(3, 3, 0, 0, 7), 1), 0x1000));
  assert_int_equal(s->regs.esr, 0x02000000u);
  /* EL1 register from EL0: plain UNDEF. */
  emu_exc_eret(s);
  assert_false(emu_sys_sysreg_read(s, S(3, 0, 1, 0, 0), &v));
  assert_true(
      emu_sys_exception(s, EMU_EXIT_UNDEF, mrs(S(3, 0, 1, 0, 0), 1), 0x1000));
  assert_int_equal(s->regs.esr, 0x02000000u);
  /* FPCR with CPACR.FPEN = 0: FP access trap. */
  assert_false(emu_sys_sysreg_write(s, S(3, 3, 4, 4, 0), 0));
  assert_true(
      emu_sys_exception(s, EMU_EXIT_UNDEF, msr(S(3, 3, 4, 4, 0), 2), 0x1000));
  assert_int_equal(s->regs.esr, 0x1fe00000u);
}

static void test_interrupts(void **state) {
  struct fixture *f = *state;
  struct emu_sys *s = &f->sys;
  vmk_error err;
  assert_int_equal(emu_gicv3_init(&f->gic, 1, 64, NULL, NULL, &err), 0);
  s->gic = &f->gic;
  emu_gicv3_dist_ops.write(&f->gic, 0, 4, 2);
  emu_gicv3_dist_ops.write(&f->gic, 0x84, 4, ~0u);
  emu_gicv3_dist_ops.write(&f->gic, 0x104, 4, 1);
  assert_true(emu_sys_sysreg_write(s, S(3, 0, 4, 6, 0), 0xf0));
  assert_true(emu_sys_sysreg_write(s, S(3, 0, 12, 12, 7), 1));
  assert_false(emu_sys_wfi_wakeup(s));
  emu_gicv3_set_spi(&f->gic, 0, true);
  /* DAIF masked (reset): WFI wakes, but nothing is taken. */
  assert_true(emu_sys_wfi_wakeup(s));
  f->cpu.pc = 0x4000;
  assert_false(emu_sys_poll_interrupts(s));
  assert_int_equal(f->cpu.exit_request, 0);
  /* MSR DAIFClr, #2 unmasks it: the engine is asked to come back. */
  assert_true(emu_sys_sysreg_write(s, S(0, 3, 4, 2, 7), 0));
  assert_int_equal(f->cpu.exit_request, 1);
  assert_true(emu_sys_poll_interrupts(s));
  assert_int_equal(f->cpu.pc, VBAR + 0x280);
  assert_int_equal(s->regs.elr, 0x4000);
  assert_int_equal(s->daif, EMU_PSTATE_DAIF);
  uint64_t id;
  assert_true(emu_sys_sysreg_read(s, S(3, 0, 12, 12, 0), &id));
  assert_int_equal(id, 32);
  /* ERET with the line still pending and unmasked in SPSR: the IRQ is
   * taken again right at the return address (level still high after
   * EOI). */
  assert_true(emu_sys_sysreg_write(s, S(3, 0, 12, 12, 1), 32));
  s->regs.spsr = 0x5;
  s->regs.elr = 0x4000;
  assert_true(emu_sys_exception(s, EMU_EXIT_UNDEF, 0xd69f03e0u, 0));
  assert_int_equal(f->cpu.pc, VBAR + 0x280);
  assert_int_equal(s->regs.elr, 0x4000);
}

static void set_asid(struct fixture *f, uint16_t asid) {
  f->sys.regs.ttbr0 = (uint64_t)asid << 48; /* TCR_EL1.A1 = 0 */
  emu_sys_asid_changed(&f->sys);
}

/* TLBI invalidates what the architecture names and nothing else; ASIDs
 * tag entries, so a switch drops nothing and global entries serve every
 * ASID. */
static void test_tlb_invalidate(void **state) {
  struct fixture *f = *state;
  map_kernel(f);
  f->sys.regs.tcr |= 1ull << 36; /* 16-bit ASIDs */
  set_asid(f, 0);
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA, EMU_READ, 8), 0);
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x2000, EMU_READ, 8), 0);
  struct emu_tlbi op = {.kind = EMU_TLBI_VA, .va = KVA};
  emu_sys_tlb_invalidate(&f->sys, &op);
  assert_int_equal(slot(f, KVA)->tag_read, EMU_TLB_INVALID);
  assert_int_equal(slot(f, KVA + 0x2000)->tag_read, KVA + 0x2000);
  /* A 2 MiB block's pages sit in many slots: TLBI of one of its VAs
   * drops them all, and nothing outside the block. */
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x200000, EMU_READ, 8), 0);
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x3ff000, EMU_READ, 8), 0);
  op.va = KVA + 0x201000;
  emu_sys_tlb_invalidate(&f->sys, &op);
  assert_int_equal(slot(f, KVA + 0x200000)->tag_read, EMU_TLB_INVALID);
  assert_int_equal(slot(f, KVA + 0x3ff000)->tag_read, EMU_TLB_INVALID);
  assert_int_equal(slot(f, KVA + 0x2000)->tag_read, KVA + 0x2000);
  /* With the block cached again, a 4K page outside it goes by its own
   * slot (tlb_blocks' span), and every page of the block, the last one
   * included, by a TLBI of any of its VAs. */
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x3ff000, EMU_READ, 8), 0);
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x200000, EMU_READ, 8), 0);
  op.va = KVA + 0x2000;
  emu_sys_tlb_invalidate(&f->sys, &op);
  assert_int_equal(slot(f, KVA + 0x2000)->tag_read, EMU_TLB_INVALID);
  assert_int_equal(slot(f, KVA + 0x3ff000)->tag_read, KVA + 0x3ff000);
  op.va = KVA + 0x3ff000;
  emu_sys_tlb_invalidate(&f->sys, &op);
  assert_int_equal(slot(f, KVA + 0x200000)->tag_read, EMU_TLB_INVALID);
  assert_int_equal(slot(f, KVA + 0x3ff000)->tag_read, EMU_TLB_INVALID);
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x2000, EMU_READ, 8), 0);

  /* Page 5 non-global, filled under ASID 0x101 (key slot 1). */
  uint8_t *l3 = f->ram.host + 0x3000;
  vmk_put_le64(l3 + 5 * 8, vmk_le64(l3) | 1 << 11);
  set_asid(f, 0x101);
  uint64_t k1 = 1ull << EMU_TLB_KEY_SHIFT, k2 = 2ull << EMU_TLB_KEY_SHIFT;
  assert_int_equal(f->cpu.tlb_key, k1);
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x5000, EMU_READ, 8), 0);
  assert_int_equal(slot(f, KVA + 0x5000)->tag_read, (KVA + 0x5000) | k1);
  /* Another ASID: nothing dropped; the global page is retagged on its
   * next miss without a walk (its descriptor is gone: still served). */
  set_asid(f, 2);
  assert_int_equal(f->cpu.tlb_key, k2);
  assert_int_equal(slot(f, KVA + 0x5000)->tag_read, (KVA + 0x5000) | k1);
  vmk_put_le64(l3 + 2 * 8, 0);
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x2000, EMU_READ, 8), 0);
  assert_int_equal(slot(f, KVA + 0x2000)->tag_read, (KVA + 0x2000) | k2);
  /* TLBI by VA of ASID 2 or by ASID 2 spares ASID 0x101's entry. */
  op = (struct emu_tlbi){.kind = EMU_TLBI_VA, .va = KVA + 0x5000, .asid = 2};
  emu_sys_tlb_invalidate(&f->sys, &op);
  op = (struct emu_tlbi){.kind = EMU_TLBI_ASID, .asid = 2};
  emu_sys_tlb_invalidate(&f->sys, &op);
  assert_int_equal(slot(f, KVA + 0x5000)->tag_read, (KVA + 0x5000) | k1);
  /* ...which ASID 0x101's TLBI drops, leaving global entries. */
  op.asid = 0x101;
  emu_sys_tlb_invalidate(&f->sys, &op);
  assert_int_equal(slot(f, KVA + 0x5000)->tag_read, EMU_TLB_INVALID);
  assert_int_equal(slot(f, KVA + 0x2000)->tag_read, (KVA + 0x2000) | k2);
  /* VAA: any ASID, global too. */
  set_asid(f, 0x101);
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x5000, EMU_READ, 8), 0);
  op = (struct emu_tlbi){.kind = EMU_TLBI_VA_ALLASID, .va = KVA + 0x5000};
  emu_sys_tlb_invalidate(&f->sys, &op);
  assert_int_equal(slot(f, KVA + 0x5000)->tag_read, EMU_TLB_INVALID);
  /* A new ASID in slot 1 evicts 0x101's entries, not the global ones. */
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA + 0x5000, EMU_READ, 8), 0);
  set_asid(f, 0x201);
  assert_int_equal(f->cpu.tlb_key, k1);
  assert_int_equal(slot(f, KVA + 0x5000)->tag_read, EMU_TLB_INVALID);
  assert_int_equal(slot(f, KVA + 0x2000)->tag_read, (KVA + 0x2000) | k2);
  emu_sys_tlb_flush(&f->sys);
  assert_int_equal(slot(f, KVA + 0x2000)->tag_read, EMU_TLB_INVALID);
}

/* More separate 2 MiB blocks cached than the env keeps spans of
 * (EMU_TLB_SPANS), filled in a scattered order: a TLBI by VA of any page
 * of any of them still drops the entry of the block's page that is
 * cached (another page, in another slot), and a 4K page below them all
 * keeps its entry. */
static void test_tlbi_many_blocks(void **state) {
  struct fixture *f = *state;
  map_kernel(f);
  enum { NB = 3 * EMU_TLB_SPANS / 2 };
  uint64_t l2 = RAM_BASE + 0x2000;
  /* blocks at L2 indices 2, 4, ... (gaps between them), all mapping the
   * RAM block at 2 MiB: aliases are allowed */
  for (unsigned i = 0; i < NB; i++)
    put(f, l2 + (2 + 2 * i) * 8, (RAM_BASE + 0x200000) | 1 | 1 << 10 | 1 << 2);
  assert_int_equal(emu_sys_tlb_fill(&f->sys, KVA, EMU_READ, 8), 0);
  for (unsigned k = 0; k < NB; k++) {
    unsigned i = (k * 7) % NB; /* 7 is prime to NB: each block once */
    uint64_t va = KVA + (2 + 2ull * i) * 0x200000 + 0x10000 + i * 0x1000;
    assert_int_equal(emu_sys_tlb_fill(&f->sys, va, EMU_READ, 8), 0);
  }
  for (unsigned i = 0; i < NB; i++) {
    uint64_t block = KVA + (2 + 2ull * i) * 0x200000;
    uint64_t va = block + 0x10000 + i * 0x1000;
    assert_int_equal(slot(f, va)->tag_read, va);
    struct emu_tlbi op = {.kind = EMU_TLBI_VA, .va = block + 0x1ff000};
    emu_sys_tlb_invalidate(&f->sys, &op);
    assert_int_equal(slot(f, va)->tag_read, EMU_TLB_INVALID);
  }
  assert_int_equal(slot(f, KVA)->tag_read, KVA);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_fill_mmu_off, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fill_mmu_on, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fill_el0, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sysreg_traps, setup, teardown),
      cmocka_unit_test_setup_teardown(test_interrupts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tlb_invalidate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tlbi_many_blocks, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
