/* gicv3.h — an emulated GICv3 with a single (Non-secure) security state
 * (GICD_CTLR.DS = 1), affinity routing only, no LPIs/ITS: distributor,
 * one redistributor per vCPU, and the system-register CPU interface.
 * Priorities have 5 bits (32 levels, one ICC_AP{0,1}R0 word).
 *
 * Threads: MMIO (vCPU threads), ICC_* accesses (their own vCPU thread),
 * emu_gicv3_set_spi (any thread: devices, I/O thread) and PPI inputs (the
 * owning vCPU thread) all take gic->lock. emu_gicv3_irq_line /
 * emu_gicv3_fiq_line read an atomic and take no lock, so the vCPU loop can
 * poll them between blocks. The wake callback is called with the lock held
 * and must not call back into the GIC.
 */
#ifndef VMK_EMU_SYS_GICV3_H
#define VMK_EMU_SYS_GICV3_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "devices/bus.h"
#include "devices/irq.h"

#define EMU_GIC_MAX_CPUS 123 /* redistributor frames in the virt map */
#define EMU_GIC_MAX_SPIS 988 /* INTIDs 32..1019 */
#define EMU_GIC_SPURIOUS 1023
#define EMU_GIC_RD_STRIDE 0x20000ull /* RD_base + SGI_base, 64 KiB each */

/* INTIDs of the architected timer PPIs (as on the virt machine). */
#define EMU_GIC_INTID_VTIMER 27
#define EMU_GIC_INTID_PTIMER 30

/* One interrupt's state. level: the input line; pending: the latch (edge,
 * software set pending). A level interrupt is pending while its line is
 * high or its latch is set. */
struct emu_gic_irq {
  uint8_t priority;
  uint8_t group; /* 1: Group 1 (IRQ), 0: Group 0 (FIQ with DS=1) */
  bool enabled, pending, active, level, edge;
};

struct emu_gic_cpu {
  struct emu_gic_irq priv[32]; /* SGIs 0..15, PPIs 16..31 */
  uint32_t waker;              /* GICR_WAKER: ProcessorSleep/ChildrenAsleep */
  /* CPU interface */
  uint8_t pmr;
  uint8_t bpr0, bpr1;
  uint32_t ap0r, ap1r; /* active priorities, bit n = group priority n<<3 */
  uint32_t ctlr;       /* ICC_CTLR_EL1: CBPR, EOImode */
  bool igrpen0, igrpen1;
  int irq_line, fiq_line; /* signalled to the PE */
};

struct emu_gicv3 {
  pthread_mutex_t lock;
  unsigned ncpus, nr_spis;
  uint32_t ctlr;           /* GICD_CTLR: EnableGrp0, EnableGrp1 */
  struct emu_gic_irq *spi; /* nr_spis entries, INTID 32 + n */
  uint64_t *irouter;       /* nr_spis entries */
  struct emu_gic_cpu *cpu; /* ncpus entries */
  /* Called when cpu's IRQ or FIQ line rises (wake a vCPU in WFI). */
  void (*wake)(void *opaque, unsigned cpu);
  void *wake_opaque;
  struct vmk_irq_chip chip; /* set_level for devices: SPI n -> INTID 32+n */
};

/* nr_spis is rounded up to a multiple of 32. */
int emu_gicv3_init(struct emu_gicv3 *gic, unsigned ncpus, unsigned nr_spis,
                   void (*wake)(void *opaque, unsigned cpu), void *wake_opaque,
                   vmk_error *err);
void emu_gicv3_destroy(struct emu_gicv3 *gic);

/* MMIO frames: register ops with opaque = gic at the GICD base (64 KiB)
 * and at the GICR base (EMU_GIC_RD_STRIDE per CPU). */
extern const struct vmk_mmio_ops emu_gicv3_dist_ops;
extern const struct vmk_mmio_ops emu_gicv3_redist_ops;

/* Device input: SPI spi (0-based, INTID 32 + spi) line level. Any thread. */
void emu_gicv3_set_spi(struct emu_gicv3 *gic, unsigned spi, bool level);
/* Private peripheral input (INTID 16..31) of cpu, e.g. the timers. */
void emu_gicv3_set_ppi(struct emu_gicv3 *gic, unsigned cpu, unsigned intid,
                       bool level);

/* Whether the CPU interface of cpu signals IRQ (Group 1) / FIQ (Group 0):
 * an enabled, pending, inactive interrupt routed to it whose priority is
 * above both ICC_PMR_EL1 and the running priority. PSTATE masks are not
 * applied (WFI wakes on these too). Lock-free. */
static inline bool emu_gicv3_irq_line(struct emu_gicv3 *gic, unsigned cpu) {
  return __atomic_load_n(&gic->cpu[cpu].irq_line, __ATOMIC_ACQUIRE);
}
static inline bool emu_gicv3_fiq_line(struct emu_gicv3 *gic, unsigned cpu) {
  return __atomic_load_n(&gic->cpu[cpu].fiq_line, __ATOMIC_ACQUIRE);
}

/* ICC_*_EL1 system registers of cpu. enc = op0:op1:CRn:CRm:op2 (16 bits).
 * false: not a CPU interface register (or write to a read-only one). */
bool emu_gicv3_icc_read(struct emu_gicv3 *gic, unsigned cpu, uint32_t enc,
                        uint64_t *val);
bool emu_gicv3_icc_write(struct emu_gicv3 *gic, unsigned cpu, uint32_t enc,
                         uint64_t val);

struct vmk_gic_state;
struct vmk_gic_cpu_state;
/* The whole GIC in the engine-neutral form of engine/arch_state.h
 * (gicr: ncpus entries). The VM is paused: the vCPUs touch no ICC_*. */
void emu_gicv3_save(struct emu_gicv3 *gic, struct vmk_gic_state *gicd,
                    struct vmk_gic_cpu_state *gicr);
/* Takes that state (from an untrusted snapshot: values are masked to
 * what this GIC implements); -EINVAL with err when it has more SPIs. */
int emu_gicv3_load(struct emu_gicv3 *gic, const struct vmk_gic_state *gicd,
                   const struct vmk_gic_cpu_state *gicr, vmk_error *err);

/* MPIDR_EL1 affinity of vCPU n, the same numbering KVM gives its vCPUs
 * (so both engines share one device tree): Aff0 = n % 16, Aff1 = n / 16.
 * Returns Aff3 << 32 | Aff2 << 16 | Aff1 << 8 | Aff0. */
static inline uint64_t emu_gicv3_affinity(unsigned cpu) {
  return (cpu & 15) | (uint64_t)((cpu >> 4) & 0xff) << 8;
}

/* The vCPU with that affinity (same layout), or -1. */
static inline int emu_gicv3_cpu_of(uint64_t aff, unsigned ncpus) {
  if ((aff & 0xff) > 15 || (aff & 0xffffffffff0000ull))
    return -1;
  unsigned n = (unsigned)((aff >> 8) & 0xff) * 16 + (unsigned)(aff & 0xff);
  return n < ncpus ? (int)n : -1;
}

#endif
