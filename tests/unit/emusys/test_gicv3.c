/* test_gicv3.c — the emulated GICv3 through its MMIO frames and ICC_*
 * registers, as Linux's irq-gic-v3 driver drives it: identification,
 * redistributor discovery and wake-up, enable/pend/active bits, priority,
 * PMR and running priority, acknowledge/EOI/deactivate, level and edge
 * SPIs, SGI routing by target list, RS and IRM, PPIs, Group 0 as FIQ,
 * guest-supplied out-of-range values. Also a multi-threaded set_level
 * smoke test for the lock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "emu/sys/gicv3.h"
#include "emu/sys/sys.h"

#define ICC_PMR EMU_SYSREG(3, 0, 4, 6, 0)
#define ICC_IAR0 EMU_SYSREG(3, 0, 12, 8, 0)
#define ICC_EOIR0 EMU_SYSREG(3, 0, 12, 8, 1)
#define ICC_AP1R0 EMU_SYSREG(3, 0, 12, 9, 0)
#define ICC_AP1R1 EMU_SYSREG(3, 0, 12, 9, 1)
#define ICC_DIR EMU_SYSREG(3, 0, 12, 11, 1)
#define ICC_RPR EMU_SYSREG(3, 0, 12, 11, 3)
#define ICC_SGI1R EMU_SYSREG(3, 0, 12, 11, 5)
#define ICC_IAR1 EMU_SYSREG(3, 0, 12, 12, 0)
#define ICC_EOIR1 EMU_SYSREG(3, 0, 12, 12, 1)
#define ICC_HPPIR1 EMU_SYSREG(3, 0, 12, 12, 2)
#define ICC_BPR1 EMU_SYSREG(3, 0, 12, 12, 3)
#define ICC_CTLR EMU_SYSREG(3, 0, 12, 12, 4)
#define ICC_SRE EMU_SYSREG(3, 0, 12, 12, 5)
#define ICC_IGRPEN0 EMU_SYSREG(3, 0, 12, 12, 6)
#define ICC_IGRPEN1 EMU_SYSREG(3, 0, 12, 12, 7)

#define NCPUS 4

struct fixture {
  struct emu_gicv3 gic;
  unsigned wakes[EMU_GIC_MAX_CPUS];
};

static void wake(void *opaque, unsigned cpu) {
  struct fixture *f = opaque;
  f->wakes[cpu]++;
}

static struct fixture *make(unsigned ncpus) {
  struct fixture *f = calloc(1, sizeof(*f));
  vmk_error err;
  assert_int_equal(emu_gicv3_init(&f->gic, ncpus, 64, wake, f, &err), 0);
  return f;
}

static int setup(void **state) {
  *state = make(NCPUS);
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  emu_gicv3_destroy(&f->gic);
  free(f);
  return 0;
}

static uint32_t gicd_r(struct fixture *f, uint64_t off) {
  return (uint32_t)emu_gicv3_dist_ops.read(&f->gic, off, 4);
}
static void gicd_w(struct fixture *f, uint64_t off, uint32_t v) {
  emu_gicv3_dist_ops.write(&f->gic, off, 4, v);
}
static uint64_t gicr_r(struct fixture *f, unsigned cpu, uint64_t off,
                       unsigned size) {
  return emu_gicv3_redist_ops.read(&f->gic, cpu * EMU_GIC_RD_STRIDE + off,
                                   size);
}
static void gicr_w(struct fixture *f, unsigned cpu, uint64_t off, uint32_t v) {
  emu_gicv3_redist_ops.write(&f->gic, cpu * EMU_GIC_RD_STRIDE + off, 4, v);
}
static uint64_t icc_r(struct fixture *f, unsigned cpu, uint32_t enc) {
  uint64_t v = 0xdead;
  assert_true(emu_gicv3_icc_read(&f->gic, cpu, enc, &v));
  return v;
}
static void icc_w(struct fixture *f, unsigned cpu, uint32_t enc, uint64_t v) {
  assert_true(emu_gicv3_icc_write(&f->gic, cpu, enc, v));
}

/* What Linux's gic_dist_init + gic_cpu_init + gic_cpu_sys_reg_init do. */
static void linux_init(struct fixture *f) {
  gicd_w(f, 0x0, 0);
  for (unsigned i = 32; i < 96; i += 32)
    gicd_w(f, 0x80 + i / 8, 0xffffffff); /* IGROUPR: Group 1 */
  for (unsigned i = 32; i < 96; i += 4)
    gicd_w(f, 0x400 + i, 0xa0a0a0a0);
  gicd_w(f, 0x0, 2 | 1u << 4); /* EnableGrp1NS, ARE */
  for (unsigned c = 0; c < f->gic.ncpus; c++) {
    gicr_w(f, c, 0x14, 0); /* WAKER.ProcessorSleep = 0 */
    gicr_w(f, c, 0x10000 + 0x80, 0xffffffff);
    for (unsigned i = 0; i < 32; i += 4)
      gicr_w(f, c, 0x10000 + 0x400 + i, 0xa0a0a0a0);
    gicr_w(f, c, 0x10000 + 0x100, 0xffff); /* enable SGIs */
    icc_w(f, c, ICC_SRE, 7);
    icc_w(f, c, ICC_PMR, 0xf0);
    icc_w(f, c, ICC_BPR1, 0);
    icc_w(f, c, ICC_CTLR, 2); /* EOImode 1: split drop / deactivate */
    icc_w(f, c, ICC_IGRPEN1, 1);
  }
}

static void test_init_errors(void **state) {
  (void)state;
  struct emu_gicv3 gic;
  vmk_error err;
  assert_int_equal(emu_gicv3_init(&gic, 0, 64, NULL, NULL, &err), -22);
  assert_true(strlen(err.msg) > 10);
  assert_int_equal(emu_gicv3_init(&gic, 200, 64, NULL, NULL, &err), -22);
  assert_int_equal(emu_gicv3_init(&gic, 1, 5000, NULL, NULL, &err), -22);
  assert_int_equal(emu_gicv3_init(&gic, 1, 40, NULL, NULL, &err), 0);
  assert_int_equal(gic.nr_spis, 64);
  emu_gicv3_destroy(&gic);
}

static void test_identification(void **state) {
  struct fixture *f = *state;
  assert_int_equal(gicd_r(f, 0x4) & 0x1f, 2);       /* (32 + 64) / 32 - 1 */
  assert_int_equal(gicd_r(f, 0x4) & (1u << 17), 0); /* no LPIs */
  assert_int_equal(gicd_r(f, 0xffe8) & 0xf0, 0x30);
  assert_int_equal(gicd_r(f, 0x0) & (1u << 4 | 1u << 6), 1u << 4 | 1u << 6);
  for (unsigned c = 0; c < NCPUS; c++) {
    assert_int_equal(gicr_r(f, c, 0xffe8, 4) & 0xf0, 0x30);
    uint64_t typer = gicr_r(f, c, 0x8, 8);
    assert_int_equal(typer >> 32, c); /* Aff0 */
    assert_int_equal((typer >> 8) & 0xffff, c);
    assert_int_equal((typer >> 4) & 1, c == NCPUS - 1); /* Last */
    /* 32-bit halves agree with the 64-bit read. */
    assert_int_equal(gicr_r(f, c, 0xc, 4), typer >> 32);
  }
  /* Beyond the last redistributor: RAZ/WI. */
  assert_int_equal(gicr_r(f, NCPUS, 0x8, 8), 0);
  gicr_w(f, NCPUS + 3, 0x14, 0);
  assert_int_equal(icc_r(f, 0, ICC_SRE), 7);
  assert_int_equal((icc_r(f, 0, ICC_CTLR) >> 8) & 7, 4); /* 5 prio bits */
}

static void test_waker(void **state) {
  struct fixture *f = *state;
  assert_int_equal(gicr_r(f, 1, 0x14, 4), 6);
  gicr_w(f, 1, 0x14, 0);
  assert_int_equal(gicr_r(f, 1, 0x14, 4), 0);
  gicr_w(f, 1, 0x14, 2);
  assert_int_equal(gicr_r(f, 1, 0x14, 4), 6);
  assert_int_equal(gicr_r(f, 0, 0x14, 4), 6);
}

static void test_level_spi(void **state) {
  struct fixture *f = *state;
  linux_init(f);
  unsigned spi = 5, intid = 37;
  emu_gicv3_dist_ops.write(&f->gic, 0x6000 + intid * 8, 8, 1); /* to CPU 1 */
  assert_int_equal(emu_gicv3_dist_ops.read(&f->gic, 0x6000 + intid * 8, 8), 1);
  gicd_w(f, 0x100 + 4, 1u << (intid - 32)); /* ISENABLER1 */
  assert_int_equal(gicd_r(f, 0x100 + 4), 1u << 5);
  emu_gicv3_set_spi(&f->gic, spi, true);
  assert_true(emu_gicv3_irq_line(&f->gic, 1));
  assert_false(emu_gicv3_irq_line(&f->gic, 0));
  assert_int_equal(f->wakes[1], 1);
  assert_int_equal(f->wakes[0], 0);
  assert_int_equal(gicd_r(f, 0x200 + 4), 1u << 5); /* ISPENDR shows it */
  assert_int_equal(icc_r(f, 1, ICC_HPPIR1), intid);
  assert_int_equal(icc_r(f, 0, ICC_IAR1), EMU_GIC_SPURIOUS);
  assert_int_equal(icc_r(f, 1, ICC_IAR1), intid);
  /* Active (and still pending: the line is high): not signalled. */
  assert_false(emu_gicv3_irq_line(&f->gic, 1));
  assert_int_equal(gicd_r(f, 0x300 + 4), 1u << 5);
  assert_int_equal(icc_r(f, 1, ICC_RPR), 0xa0);
  assert_int_equal(icc_r(f, 1, ICC_AP1R0), 1u << (0xa0 >> 3));
  icc_w(f, 1, ICC_EOIR1, intid); /* priority drop only (EOImode 1) */
  assert_int_equal(icc_r(f, 1, ICC_RPR), 0xff);
  assert_false(emu_gicv3_irq_line(&f->gic, 1));
  assert_int_equal(gicd_r(f, 0x300 + 4), 1u << 5);
  /* The device still holds the line: deactivation re-signals it. */
  icc_w(f, 1, ICC_DIR, intid);
  assert_int_equal(gicd_r(f, 0x300 + 4), 0);
  assert_true(emu_gicv3_irq_line(&f->gic, 1));
  emu_gicv3_set_spi(&f->gic, spi, false);
  assert_false(emu_gicv3_irq_line(&f->gic, 1));
  assert_int_equal(icc_r(f, 1, ICC_IAR1), EMU_GIC_SPURIOUS);
  /* Through the vmk_irq_chip devices use. */
  struct vmk_irq_line line = {&f->gic.chip, spi};
  vmk_irq_set(&line, true);
  assert_true(emu_gicv3_irq_line(&f->gic, 1));
  vmk_irq_set(&line, false);
  assert_false(emu_gicv3_irq_line(&f->gic, 1));
  /* Disabled: pending but not signalled. */
  vmk_irq_set(&line, true);
  gicd_w(f, 0x180 + 4, 1u << 5); /* ICENABLER1 */
  assert_false(emu_gicv3_irq_line(&f->gic, 1));
  assert_int_equal(gicd_r(f, 0x200 + 4), 1u << 5);
  /* Routed to a CPU that does not exist: never signalled. */
  gicd_w(f, 0x100 + 4, 1u << 5);
  gicd_w(f, 0x6000 + intid * 8, 77);
  for (unsigned c = 0; c < NCPUS; c++)
    assert_false(emu_gicv3_irq_line(&f->gic, c));
}

static void test_edge_and_sw_pending(void **state) {
  struct fixture *f = *state;
  linux_init(f);
  icc_w(f, 0, ICC_CTLR, 0); /* EOImode 0: EOI also deactivates */
  unsigned intid = 40;
  gicd_w(f, 0xc00 + (intid / 16) * 4, 2u << ((intid % 16) * 2)); /* edge */
  assert_int_equal(gicd_r(f, 0xc00 + 8), 2u << 16);
  gicd_w(f, 0x100 + 4, 1u << (intid - 32));
  emu_gicv3_set_spi(&f->gic, intid - 32, true);
  emu_gicv3_set_spi(&f->gic, intid - 32, false);
  assert_true(emu_gicv3_irq_line(&f->gic, 0)); /* latched */
  assert_int_equal(icc_r(f, 0, ICC_IAR1), intid);
  icc_w(f, 0, ICC_EOIR1, intid);
  assert_false(emu_gicv3_irq_line(&f->gic, 0));
  assert_int_equal(gicd_r(f, 0x300 + 4), 0);
  /* A level SPI pended by software stays pending until acknowledged or
   * cleared, whatever its line does. */
  unsigned lvl = 41;
  gicd_w(f, 0x100 + 4, 1u << (lvl - 32));
  gicd_w(f, 0x200 + 4, 1u << (lvl - 32)); /* ISPENDR */
  assert_true(emu_gicv3_irq_line(&f->gic, 0));
  gicd_w(f, 0x280 + 4, 1u << (lvl - 32)); /* ICPENDR */
  assert_false(emu_gicv3_irq_line(&f->gic, 0));
  /* ISACTIVER blocks signalling, ICACTIVER releases it. */
  gicd_w(f, 0x200 + 4, 1u << (lvl - 32));
  gicd_w(f, 0x300 + 4, 1u << (lvl - 32));
  assert_false(emu_gicv3_irq_line(&f->gic, 0));
  gicd_w(f, 0x380 + 4, 1u << (lvl - 32));
  assert_true(emu_gicv3_irq_line(&f->gic, 0));
  /* The first register (INTIDs 0..31) is RAZ/WI in the distributor. */
  gicd_w(f, 0x200, 0xffffffff);
  assert_int_equal(gicd_r(f, 0x200), 0);
  assert_int_equal(gicd_r(f, 0x100), 0);
}

static void test_priority_and_preemption(void **state) {
  struct fixture *f = *state;
  linux_init(f);
  icc_w(f, 0, ICC_CTLR, 0);
  gicd_w(f, 0x100 + 4, 0x7); /* INTIDs 32, 33, 34 */
  /* Byte accesses to IPRIORITYR, 5 implemented bits. */
  emu_gicv3_dist_ops.write(&f->gic, 0x400 + 32, 1, 0x80);
  emu_gicv3_dist_ops.write(&f->gic, 0x400 + 33, 1, 0x47); /* reads 0x40 */
  emu_gicv3_dist_ops.write(&f->gic, 0x400 + 34, 1, 0xff);
  assert_int_equal(emu_gicv3_dist_ops.read(&f->gic, 0x400 + 33, 1), 0x40);
  assert_int_equal(gicd_r(f, 0x400 + 32) & 0xffffff, 0xf84080);
  emu_gicv3_set_spi(&f->gic, 0, true);
  emu_gicv3_set_spi(&f->gic, 2, true);
  /* 0xf8 is not below PMR 0xf0: never signalled. */
  assert_true(emu_gicv3_irq_line(&f->gic, 0));
  assert_int_equal(icc_r(f, 0, ICC_IAR1), 32);
  assert_false(emu_gicv3_irq_line(&f->gic, 0));
  /* A higher-priority interrupt preempts the active 0x80. */
  emu_gicv3_set_spi(&f->gic, 1, true);
  assert_true(emu_gicv3_irq_line(&f->gic, 0));
  assert_int_equal(icc_r(f, 0, ICC_IAR1), 33);
  assert_int_equal(icc_r(f, 0, ICC_RPR), 0x40);
  assert_int_equal(icc_r(f, 0, ICC_AP1R0), (1u << 8) | (1u << 16));
  /* EOI drops the highest active priority first. */
  icc_w(f, 0, ICC_EOIR1, 33);
  assert_int_equal(icc_r(f, 0, ICC_RPR), 0x80);
  icc_w(f, 0, ICC_EOIR1, 32);
  assert_int_equal(icc_r(f, 0, ICC_RPR), 0xff);
  /* Both level lines still high: 33 (0x40) first. */
  assert_int_equal(icc_r(f, 0, ICC_HPPIR1), 33);
  /* PMR masks: with PMR 0x40 nothing at 0x40 or below is signalled. */
  icc_w(f, 0, ICC_PMR, 0x40);
  assert_false(emu_gicv3_irq_line(&f->gic, 0));
  assert_int_equal(icc_r(f, 0, ICC_IAR1), EMU_GIC_SPURIOUS);
  icc_w(f, 0, ICC_PMR, 0x48);
  assert_true(emu_gicv3_irq_line(&f->gic, 0));
  /* Group 1 disabled at the CPU interface or at the distributor. */
  icc_w(f, 0, ICC_IGRPEN1, 0);
  assert_false(emu_gicv3_irq_line(&f->gic, 0));
  icc_w(f, 0, ICC_IGRPEN1, 1);
  assert_true(emu_gicv3_irq_line(&f->gic, 0));
  gicd_w(f, 0, 0);
  assert_false(emu_gicv3_irq_line(&f->gic, 0));
  /* Same priority does not preempt (binary point at its minimum). */
  gicd_w(f, 0, 2);
  icc_w(f, 0, ICC_PMR, 0xf0);
  emu_gicv3_dist_ops.write(&f->gic, 0x400 + 32, 1, 0x40);
  assert_int_equal(icc_r(f, 0, ICC_IAR1), 32);
  assert_false(emu_gicv3_irq_line(&f->gic, 0)); /* 33 is 0x40 too */
  assert_int_equal(icc_r(f, 0, ICC_BPR1), 3);
  assert_int_equal(icc_r(f, 0, ICC_AP1R1), 0);
}

static void test_sgi_routing(void **state) {
  struct fixture *f = *state;
  linux_init(f);
  /* SGI 3 to CPUs 2 and 3 (target list bits 2, 3; Aff1..3 = 0). */
  icc_w(f, 0, ICC_SGI1R, 3ull << 24 | 0xc);
  assert_false(emu_gicv3_irq_line(&f->gic, 0));
  assert_false(emu_gicv3_irq_line(&f->gic, 1));
  assert_true(emu_gicv3_irq_line(&f->gic, 2));
  assert_true(emu_gicv3_irq_line(&f->gic, 3));
  assert_int_equal(f->wakes[2], 1);
  assert_int_equal(gicr_r(f, 2, 0x10000 + 0x200, 4), 1u << 3);
  assert_int_equal(icc_r(f, 2, ICC_IAR1), 3);
  icc_w(f, 2, ICC_EOIR1, 3);
  icc_w(f, 2, ICC_DIR, 3);
  assert_false(emu_gicv3_irq_line(&f->gic, 2));
  /* Edge: acknowledging consumed it. */
  assert_int_equal(icc_r(f, 2, ICC_IAR1), EMU_GIC_SPURIOUS);
  /* IRM: everyone but the sender. */
  icc_w(f, 1, ICC_SGI1R, 1ull << 40 | 5ull << 24);
  assert_true(emu_gicv3_irq_line(&f->gic, 0));
  assert_false(emu_gicv3_irq_line(&f->gic, 1));
  assert_true(emu_gicv3_irq_line(&f->gic, 2));
  /* Aff1 != 0 matches nobody here. */
  icc_w(f, 0, ICC_SGI1R, 7ull << 24 | 1ull << 16 | 2);
  assert_int_equal(gicr_r(f, 1, 0x10000 + 0x200, 4), 0);
  /* A disabled SGI is pending but not signalled; SGI config is RO. */
  gicr_w(f, 1, 0x10000 + 0x180, 1u << 9);
  icc_w(f, 0, ICC_SGI1R, 9ull << 24 | 2);
  assert_int_equal(gicr_r(f, 1, 0x10000 + 0x200, 4), 1u << 9);
  assert_false(emu_gicv3_irq_line(&f->gic, 1));
  gicr_w(f, 1, 0x10000 + 0xc00, 0);
  assert_int_equal(gicr_r(f, 1, 0x10000 + 0xc00, 4), 0xaaaaaaaa);
}

static void test_sgi_affinity_clusters(void **state) {
  (void)state;
  struct fixture *f = make(20);
  linux_init(f);
  /* CPU 17 is Aff1 = 1, Aff0 = 1 (KVM's numbering). */
  assert_int_equal(emu_gicv3_affinity(17), 0x101);
  assert_int_equal(gicr_r(f, 17, 0x8, 8) >> 32, 0x101);
  assert_int_equal(emu_gicv3_cpu_of(0x101, 20), 17);
  assert_int_equal(emu_gicv3_cpu_of(0x104, 20), -1);
  assert_int_equal(emu_gicv3_cpu_of(0x10, 20), -1);
  icc_w(f, 0, ICC_SGI1R, 1ull << 16 | 2ull << 24 | 2);
  for (unsigned c = 0; c < 20; c++)
    assert_int_equal(emu_gicv3_irq_line(&f->gic, c), c == 17);
  /* RS = 1 would mean Aff0 16..31: nobody. */
  icc_w(f, 0, ICC_SGI1R, 1ull << 44 | 3ull << 24 | 0xffff);
  assert_int_equal(gicr_r(f, 1, 0x10000 + 0x200, 4), 0);
  /* An SPI routed to Aff1.Aff0 = 1.3 lands on CPU 19. */
  gicd_w(f, 0x100 + 4, 1);
  emu_gicv3_dist_ops.write(&f->gic, 0x6000 + 32 * 8, 8, 0x103);
  emu_gicv3_set_spi(&f->gic, 0, true);
  assert_true(emu_gicv3_irq_line(&f->gic, 19));
  assert_false(emu_gicv3_irq_line(&f->gic, 3));
  emu_gicv3_destroy(&f->gic);
  free(f);
}

static void test_ppi_and_fiq(void **state) {
  struct fixture *f = *state;
  linux_init(f);
  /* Virtual timer PPI 27 on CPU 2: level, enabled in its redistributor. */
  gicr_w(f, 2, 0x10000 + 0x100, 1u << 27);
  emu_gicv3_set_ppi(&f->gic, 2, EMU_GIC_INTID_VTIMER, true);
  assert_true(emu_gicv3_irq_line(&f->gic, 2));
  assert_false(emu_gicv3_irq_line(&f->gic, 0));
  assert_int_equal(icc_r(f, 2, ICC_IAR1), 27);
  emu_gicv3_set_ppi(&f->gic, 2, EMU_GIC_INTID_VTIMER, false);
  icc_w(f, 2, ICC_EOIR1, 27);
  icc_w(f, 2, ICC_DIR, 27);
  assert_false(emu_gicv3_irq_line(&f->gic, 2));
  /* Out-of-range PPI inputs are ignored. */
  emu_gicv3_set_ppi(&f->gic, 2, 5, true);
  emu_gicv3_set_ppi(&f->gic, 99, 27, true);
  emu_gicv3_set_spi(&f->gic, 1000, true);
  /* Group 0 interrupts are FIQs (GICD_CTLR.DS = 1). */
  gicr_w(f, 0, 0x10000 + 0x80, 0xffffffff & ~(1u << 30)); /* 30 in Grp0 */
  gicr_w(f, 0, 0x10000 + 0x100, 1u << 30);
  emu_gicv3_set_ppi(&f->gic, 0, EMU_GIC_INTID_PTIMER, true);
  assert_false(emu_gicv3_fiq_line(&f->gic, 0)); /* Grp0 disabled */
  gicd_w(f, 0, 3);
  icc_w(f, 0, ICC_IGRPEN0, 1);
  assert_true(emu_gicv3_fiq_line(&f->gic, 0));
  assert_false(emu_gicv3_irq_line(&f->gic, 0));
  assert_int_equal(icc_r(f, 0, ICC_IAR1), EMU_GIC_SPURIOUS);
  assert_int_equal(icc_r(f, 0, ICC_IAR0), 30);
  icc_w(f, 0, ICC_EOIR0, 30);
  icc_w(f, 0, ICC_DIR, 30);
  assert_true(emu_gicv3_fiq_line(&f->gic, 0)); /* line still high */
}

static void test_guest_garbage(void **state) {
  struct fixture *f = *state;
  linux_init(f);
  /* Nothing here may crash or corrupt: odd sizes, offsets, INTIDs. */
  for (uint64_t off = 0; off < 0x10000; off += 4) {
    emu_gicv3_dist_ops.read(&f->gic, off, 4);
    emu_gicv3_dist_ops.read(&f->gic, off + 1, 2);
  }
  for (uint64_t off = 0; off < 2 * EMU_GIC_RD_STRIDE * NCPUS; off += 0x1004)
    emu_gicv3_redist_ops.write(&f->gic, off, 4, 0);
  emu_gicv3_redist_ops.write(&f->gic, 0xf5ffff8ull, 8, ~0ull);
  emu_gicv3_dist_ops.write(&f->gic, 0xfffc, 4, ~0u);
  emu_gicv3_dist_ops.write(&f->gic, 0x6000 + 1019 * 8, 8, ~0ull);
  icc_w(f, 0, ICC_EOIR1, 0xffffff);
  icc_w(f, 0, ICC_DIR, 5000);
  icc_w(f, 0, ICC_SGI1R, ~0ull);
  uint64_t v;
  assert_false(emu_gicv3_icc_read(&f->gic, 0, EMU_SYSREG(3, 0, 12, 13, 0), &v));
  assert_false(emu_gicv3_icc_read(&f->gic, NCPUS, ICC_IAR1, &v));
  assert_false(emu_gicv3_icc_write(&f->gic, 0, EMU_SYSREG(3, 0, 1, 0, 0), 0));
}

static void test_irm_and_binary_point(void **state) {
  struct fixture *f = *state;
  linux_init(f);
  icc_w(f, 0, ICC_CTLR, 0);
  /* IRM = 1: 1-of-N; with only CPU 2 participating it goes there. */
  for (unsigned c = 0; c < NCPUS; c++)
    icc_w(f, c, ICC_IGRPEN1, c == 2);
  gicd_w(f, 0x100 + 4, 1);
  emu_gicv3_dist_ops.write(&f->gic, 0x6000 + 32 * 8, 8, 1ull << 31);
  assert_int_equal(gicd_r(f, 0x6000 + 32 * 8), 1u << 31);
  emu_gicv3_set_spi(&f->gic, 0, true);
  for (unsigned c = 0; c < NCPUS; c++)
    assert_int_equal(emu_gicv3_irq_line(&f->gic, c), c == 2);
  emu_gicv3_set_spi(&f->gic, 0, false);
  for (unsigned c = 0; c < NCPUS; c++)
    icc_w(f, c, ICC_IGRPEN1, 1);
  /* Binary point: with BPR1 = 5 the group priority is bits [7:5], so
   * 0x40 does not preempt an active 0x50 (same group priority 0x40). */
  gicd_w(f, 0x100 + 4, 0x6);
  emu_gicv3_dist_ops.write(&f->gic, 0x400 + 33, 1, 0x50);
  emu_gicv3_dist_ops.write(&f->gic, 0x400 + 34, 1, 0x40);
  icc_w(f, 0, ICC_BPR1, 5);
  assert_int_equal(icc_r(f, 0, ICC_BPR1), 5);
  emu_gicv3_set_spi(&f->gic, 1, true);
  assert_int_equal(icc_r(f, 0, ICC_IAR1), 33);
  assert_int_equal(icc_r(f, 0, ICC_RPR), 0x40); /* the group priority */
  emu_gicv3_set_spi(&f->gic, 2, true);
  assert_false(emu_gicv3_irq_line(&f->gic, 0));
  icc_w(f, 0, ICC_BPR1, 3);
  icc_w(f, 0, ICC_EOIR1, 33);
  assert_true(emu_gicv3_irq_line(&f->gic, 0));
  assert_int_equal(icc_r(f, 0, ICC_IAR1), 34);
  /* CBPR: BPR1 reads BPR0 + 1 and ignores writes. */
  icc_w(f, 0, ICC_CTLR, 1);
  icc_w(f, 0, EMU_SYSREG(3, 0, 12, 8, 3), 4); /* BPR0 */
  icc_w(f, 0, ICC_BPR1, 7);
  assert_int_equal(icc_r(f, 0, ICC_BPR1), 5);
  assert_int_equal(icc_r(f, 0, ICC_CTLR) & 3, 1);
}

static void test_sgi0_and_ppi_config(void **state) {
  struct fixture *f = *state;
  linux_init(f);
  gicd_w(f, 0, 3);
  icc_w(f, 1, ICC_IGRPEN0, 1);
  /* SGI 4 of CPU 1 in Group 0: only ICC_SGI0R reaches it (as FIQ). */
  gicr_w(f, 1, 0x10000 + 0x80, 0xffffffff & ~(1u << 4));
  icc_w(f, 0, ICC_SGI1R, 4ull << 24 | 2);
  assert_false(emu_gicv3_fiq_line(&f->gic, 1));
  assert_false(emu_gicv3_irq_line(&f->gic, 1));
  icc_w(f, 0, EMU_SYSREG(3, 0, 12, 11, 7), 4ull << 24 | 2); /* SGI0R */
  assert_true(emu_gicv3_fiq_line(&f->gic, 1));
  assert_int_equal(icc_r(f, 1, EMU_SYSREG(3, 0, 12, 8, 2)), 4); /* HPPIR0 */
  assert_int_equal(icc_r(f, 1, ICC_HPPIR1), EMU_GIC_SPURIOUS);
  assert_int_equal(icc_r(f, 1, ICC_IAR0), 4);
  assert_int_equal(icc_r(f, 1, EMU_SYSREG(3, 0, 12, 8, 4)), 1u << 20);
  /* PPI configuration lives in GICR_ICFGR1: make PPI 20 edge. */
  gicr_w(f, 1, 0x10000 + 0xc04, 2u << 8);
  assert_int_equal(gicr_r(f, 1, 0x10000 + 0xc04, 4), 2u << 8);
  gicr_w(f, 1, 0x10000 + 0x100, 1u << 20);
  emu_gicv3_set_ppi(&f->gic, 1, 20, true);
  emu_gicv3_set_ppi(&f->gic, 1, 20, false);
  assert_int_equal(gicr_r(f, 1, 0x10000 + 0x200, 4) & (1u << 20), 1u << 20);
  /* Byte access to a redistributor priority. */
  emu_gicv3_redist_ops.write(&f->gic, EMU_GIC_RD_STRIDE + 0x10000 + 0x400 + 20,
                             1, 0x10);
  assert_int_equal(gicr_r(f, 1, 0x10000 + 0x400 + 20, 4) & 0xff, 0x10);
}

struct toggler {
  struct emu_gicv3 *gic;
  unsigned spi;
};

static void *toggle(void *arg) {
  struct toggler *t = arg;
  for (unsigned i = 0; i < 20000; i++)
    emu_gicv3_set_spi(t->gic, t->spi, i & 1);
  emu_gicv3_set_spi(t->gic, t->spi, false);
  return NULL;
}

/* Devices raise lines from their own threads while the vCPU acknowledges:
 * the state must stay consistent (checked under ASan/TSan-free runs by the
 * final, quiescent expectations). */
static void test_threads(void **state) {
  struct fixture *f = *state;
  linux_init(f);
  icc_w(f, 0, ICC_CTLR, 0);
  gicd_w(f, 0x100 + 4, 0x3);
  pthread_t th[2];
  struct toggler t[2] = {{&f->gic, 0}, {&f->gic, 1}};
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&th[i], NULL, toggle, &t[i]), 0);
  unsigned acked = 0;
  for (unsigned i = 0; i < 20000; i++) {
    uint64_t id = icc_r(f, 0, ICC_IAR1);
    if (id != EMU_GIC_SPURIOUS) {
      assert_true(id == 32 || id == 33);
      icc_w(f, 0, ICC_EOIR1, id);
      acked++;
    }
  }
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  /* Lines are low now; anything still active is finished. */
  for (;;) {
    uint64_t id = icc_r(f, 0, ICC_IAR1);
    if (id == EMU_GIC_SPURIOUS)
      break;
    icc_w(f, 0, ICC_EOIR1, id);
  }
  assert_false(emu_gicv3_irq_line(&f->gic, 0));
  assert_int_equal(icc_r(f, 0, ICC_RPR), 0xff);
  assert_int_equal(gicd_r(f, 0x300 + 4), 0);
  (void)acked;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_errors),
      cmocka_unit_test_setup_teardown(test_identification, setup, teardown),
      cmocka_unit_test_setup_teardown(test_waker, setup, teardown),
      cmocka_unit_test_setup_teardown(test_level_spi, setup, teardown),
      cmocka_unit_test_setup_teardown(test_edge_and_sw_pending, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_priority_and_preemption, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sgi_routing, setup, teardown),
      cmocka_unit_test(test_sgi_affinity_clusters),
      cmocka_unit_test_setup_teardown(test_ppi_and_fiq, setup, teardown),
      cmocka_unit_test_setup_teardown(test_guest_garbage, setup, teardown),
      cmocka_unit_test_setup_teardown(test_irm_and_binary_point, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sgi0_and_ppi_config, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
