/* gicv3.c — emulated GICv3: distributor and redistributor MMIO frames, the
 * ICC_* system-register CPU interface, SGI routing and the IRQ/FIQ lines
 * each vCPU polls.
 *
 * Model: one security state (GICD_CTLR.DS = 1, so Group 0 is signalled as
 * FIQ and Group 1 as IRQ), affinity routing always on (ARE RAO/WI), no
 * LPIs, 5 priority bits. After every state change the affected CPUs' lines
 * are recomputed under the lock (a scan over 32 + nr_spis interrupts), so
 * the vCPU's per-block check is one atomic load.
 *
 * Threads: every entry point takes gic->lock (see gicv3.h). MMIO offsets,
 * INTIDs and register values all come from the guest and are range-checked.
 */
#include "emu/sys/gicv3.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu/sys/sys.h"
#include "engine/arch_state.h"

#define PRIO_MASK 0xf8 /* 5 implemented priority bits */
#define IDLE_PRIO 0x100u
#define GICD_CTLR_GRP0 1u
#define GICD_CTLR_GRP1 2u
#define GICD_CTLR_ARE (1u << 4)
#define GICD_CTLR_DS (1u << 6)
#define WAKER_SLEEP 2u
#define WAKER_CHILDREN 4u
#define ICC_CTLR_CBPR 1u
#define ICC_CTLR_EOIMODE 2u

static void lock(struct emu_gicv3 *gic) { pthread_mutex_lock(&gic->lock); }
static void unlock(struct emu_gicv3 *gic) { pthread_mutex_unlock(&gic->lock); }

static struct emu_gic_irq *irq_of(struct emu_gicv3 *gic, unsigned cpu,
                                  unsigned intid) {
  if (intid < 32)
    return cpu < gic->ncpus ? &gic->cpu[cpu].priv[intid] : NULL;
  if (intid - 32 < gic->nr_spis)
    return &gic->spi[intid - 32];
  return NULL;
}

static bool is_pending(const struct emu_gic_irq *i) {
  return i->pending || (!i->edge && i->level);
}

/* The CPU an SPI is routed to, or -1. */
static int spi_target(const struct emu_gicv3 *gic, unsigned n) {
  uint64_t r = gic->irouter[n];
  if (r & (1ull << 31)) { /* IRM: any participating PE; pick the first */
    for (unsigned c = 0; c < gic->ncpus; c++)
      if (gic->cpu[c].igrpen1 || gic->cpu[c].igrpen0)
        return (int)c;
    return 0;
  }
  /* IROUTER: Aff3 in bits 39:32, Aff2..Aff0 in 23:0. */
  return emu_gicv3_cpu_of((r & 0xffffff) | ((r >> 32) & 0xff) << 32,
                          gic->ncpus);
}

static unsigned bpr_eff(const struct emu_gic_cpu *c, unsigned group) {
  if (group == 0 || (c->ctlr & ICC_CTLR_CBPR))
    return group == 0 ? c->bpr0 : (c->bpr0 + 1u > 7 ? 7 : c->bpr0 + 1u);
  return c->bpr1;
}

static unsigned group_prio(const struct emu_gic_cpu *c, unsigned group,
                           unsigned prio) {
  unsigned b = bpr_eff(c, group);
  unsigned shift = group == 0 || (c->ctlr & ICC_CTLR_CBPR) ? b + 1 : b;
  return prio & (0xffu << shift) & 0xff;
}

static unsigned running_prio(const struct emu_gic_cpu *c) {
  uint32_t ap = c->ap0r | c->ap1r;
  return ap ? (unsigned)__builtin_ctz(ap) << 3 : IDLE_PRIO;
}

static bool group_enabled(const struct emu_gicv3 *gic,
                          const struct emu_gic_cpu *c, unsigned group) {
  if (group)
    return (gic->ctlr & GICD_CTLR_GRP1) && c->igrpen1;
  return (gic->ctlr & GICD_CTLR_GRP0) && c->igrpen0;
}

/* Whether q is a candidate for signalling: pending, enabled, inactive, of
 * an enabled group. Cheapest (and most often failing) test first. */
static inline bool candidate(const struct emu_gic_irq *q, const bool grp[2]) {
  return is_pending(q) && q->enabled && !q->active && grp[q->group & 1];
}

/* Highest-priority enabled, pending, inactive interrupt for cpu whose group
 * is enabled; EMU_GIC_SPURIOUS when none. Lowest INTID wins ties. This scan
 * runs after every state change, so it is kept branch-light. */
static unsigned hppi(struct emu_gicv3 *gic, unsigned cpu) {
  struct emu_gic_cpu *c = &gic->cpu[cpu];
  const bool grp[2] = {group_enabled(gic, c, 0), group_enabled(gic, c, 1)};
  unsigned best = EMU_GIC_SPURIOUS, best_prio = IDLE_PRIO;
  if (!grp[0] && !grp[1])
    return best;
  for (unsigned i = 0; i < 32; i++) {
    const struct emu_gic_irq *q = &c->priv[i];
    if (candidate(q, grp) && q->priority < best_prio) {
      best = i;
      best_prio = q->priority;
    }
  }
  for (unsigned n = 0; n < gic->nr_spis; n++) {
    const struct emu_gic_irq *q = &gic->spi[n];
    if (candidate(q, grp) && q->priority < best_prio &&
        spi_target(gic, n) == (int)cpu) {
      best = 32 + n;
      best_prio = q->priority;
    }
  }
  return best;
}

/* Whether the interrupt can be signalled: above PMR and able to preempt. */
static bool can_signal(struct emu_gicv3 *gic, unsigned cpu, unsigned intid) {
  struct emu_gic_cpu *c = &gic->cpu[cpu];
  struct emu_gic_irq *q = irq_of(gic, cpu, intid);
  if (!q)
    return false;
  return q->priority < c->pmr &&
         group_prio(c, q->group, q->priority) < running_prio(c);
}

static void update_cpu(struct emu_gicv3 *gic, unsigned cpu) {
  struct emu_gic_cpu *c = &gic->cpu[cpu];
  unsigned id = hppi(gic, cpu);
  int irq = 0, fiq = 0;
  if (id != EMU_GIC_SPURIOUS && can_signal(gic, cpu, id)) {
    if (irq_of(gic, cpu, id)->group)
      irq = 1;
    else
      fiq = 1;
  }
  int old_irq = __atomic_exchange_n(&c->irq_line, irq, __ATOMIC_ACQ_REL);
  int old_fiq = __atomic_exchange_n(&c->fiq_line, fiq, __ATOMIC_ACQ_REL);
  if (((irq && !old_irq) || (fiq && !old_fiq)) && gic->wake)
    gic->wake(gic->wake_opaque, cpu);
}

static void update_all(struct emu_gicv3 *gic) {
  for (unsigned c = 0; c < gic->ncpus; c++)
    update_cpu(gic, c);
}

static void chip_set_level(void *opaque, unsigned spi, bool level) {
  emu_gicv3_set_spi(opaque, spi, level);
}

int emu_gicv3_init(struct emu_gicv3 *gic, unsigned ncpus, unsigned nr_spis,
                   void (*wake)(void *opaque, unsigned cpu), void *wake_opaque,
                   vmk_error *err) {
  memset(gic, 0, sizeof(*gic));
  if (ncpus == 0 || ncpus > EMU_GIC_MAX_CPUS)
    return vmk_err(err, -EINVAL,
                   "the emulated GICv3 supports 1 to %u vCPUs, not %u",
                   EMU_GIC_MAX_CPUS, ncpus);
  nr_spis = (nr_spis + 31) & ~31u;
  if (nr_spis == 0 || nr_spis > 960)
    return vmk_err(err, -EINVAL,
                   "the emulated GICv3 supports 32 to 960 SPIs, not %u",
                   nr_spis);
  gic->ncpus = ncpus;
  gic->nr_spis = nr_spis;
  gic->spi = calloc(nr_spis, sizeof(*gic->spi));
  gic->irouter = calloc(nr_spis, sizeof(*gic->irouter));
  gic->cpu = calloc(ncpus, sizeof(*gic->cpu));
  if (!gic->spi || !gic->irouter || !gic->cpu) {
    emu_gicv3_destroy(gic);
    return vmk_err(err, -ENOMEM, "out of memory for the emulated GICv3");
  }
  pthread_mutex_init(&gic->lock, NULL);
  for (unsigned c = 0; c < ncpus; c++) {
    struct emu_gic_cpu *cc = &gic->cpu[c];
    cc->waker = WAKER_SLEEP | WAKER_CHILDREN;
    cc->bpr0 = 2;
    cc->bpr1 = 3;
    for (unsigned i = 0; i < 16; i++)
      cc->priv[i].edge = true; /* SGIs are always edge-triggered */
  }
  gic->wake = wake;
  gic->wake_opaque = wake_opaque;
  gic->chip.set_level = chip_set_level;
  gic->chip.opaque = gic;
  return 0;
}

void emu_gicv3_destroy(struct emu_gicv3 *gic) {
  if (gic->spi || gic->cpu)
    pthread_mutex_destroy(&gic->lock);
  free(gic->spi);
  free(gic->irouter);
  free(gic->cpu);
  gic->spi = NULL;
  gic->irouter = NULL;
  gic->cpu = NULL;
}

static void set_line(struct emu_gic_irq *q, bool level) {
  if (q->edge && level && !q->level)
    q->pending = true;
  q->level = level;
}

void emu_gicv3_set_spi(struct emu_gicv3 *gic, unsigned spi, bool level) {
  if (spi >= gic->nr_spis)
    return;
  lock(gic);
  struct emu_gic_irq *q = &gic->spi[spi];
  bool was = is_pending(q);
  set_line(q, level);
  if (was != is_pending(q)) {
    int t = spi_target(gic, spi);
    if (t >= 0)
      update_cpu(gic, (unsigned)t);
  }
  unlock(gic);
}

void emu_gicv3_set_ppi(struct emu_gicv3 *gic, unsigned cpu, unsigned intid,
                       bool level) {
  if (cpu >= gic->ncpus || intid < 16 || intid >= 32)
    return;
  lock(gic);
  struct emu_gic_irq *q = &gic->cpu[cpu].priv[intid];
  bool was = is_pending(q);
  set_line(q, level);
  if (was != is_pending(q))
    update_cpu(gic, cpu);
  unlock(gic);
}

/* ---- register banks shared by GICD and GICR_SGI_base ---- */

/* 1-bit-per-interrupt registers: offset bases within the frame. */
enum {
  R_IGROUPR = 0x080,
  R_ISENABLER = 0x100,
  R_ICENABLER = 0x180,
  R_ISPENDR = 0x200,
  R_ICPENDR = 0x280,
  R_ISACTIVER = 0x300,
  R_ICACTIVER = 0x380,
  R_IPRIORITYR = 0x400,
  R_ICFGR = 0xc00,
  R_PIDR2 = 0xffe8,
};

/* Reads the 32 bits of a 1-bit-per-IRQ register for INTIDs first..+31. */
static uint32_t bits_read(struct emu_gicv3 *gic, unsigned cpu, unsigned base,
                          unsigned first) {
  uint32_t v = 0;
  for (unsigned b = 0; b < 32; b++) {
    struct emu_gic_irq *q = irq_of(gic, cpu, first + b);
    if (!q)
      continue;
    bool bit;
    switch (base) {
    case R_IGROUPR:
      bit = q->group;
      break;
    case R_ISENABLER:
    case R_ICENABLER:
      bit = q->enabled;
      break;
    case R_ISPENDR:
    case R_ICPENDR:
      bit = is_pending(q);
      break;
    default:
      bit = q->active;
      break;
    }
    v |= (uint32_t)bit << b;
  }
  return v;
}

static void bits_write(struct emu_gicv3 *gic, unsigned cpu, unsigned base,
                       unsigned first, uint32_t v) {
  for (unsigned b = 0; b < 32; b++) {
    struct emu_gic_irq *q = irq_of(gic, cpu, first + b);
    bool bit = (v >> b) & 1;
    if (!q)
      continue;
    switch (base) {
    case R_IGROUPR:
      q->group = bit;
      break;
    case R_ISENABLER:
      if (bit)
        q->enabled = true;
      break;
    case R_ICENABLER:
      if (bit)
        q->enabled = false;
      break;
    case R_ISPENDR:
      if (bit)
        q->pending = true;
      break;
    case R_ICPENDR:
      if (bit)
        q->pending = false;
      break;
    case R_ISACTIVER:
      if (bit)
        q->active = true;
      break;
    case R_ICACTIVER:
      if (bit)
        q->active = false;
      break;
    }
  }
}

/* ICFGR word: 2 bits per interrupt, bit 1 of each = edge. */
static uint32_t cfg_read(struct emu_gicv3 *gic, unsigned cpu, unsigned first) {
  uint32_t v = 0;
  for (unsigned i = 0; i < 16; i++) {
    struct emu_gic_irq *q = irq_of(gic, cpu, first + i);
    if (q && q->edge)
      v |= 2u << (2 * i);
  }
  return v;
}

static void cfg_write(struct emu_gicv3 *gic, unsigned cpu, unsigned first,
                      uint32_t v) {
  for (unsigned i = 0; i < 16; i++) {
    struct emu_gic_irq *q = irq_of(gic, cpu, first + i);
    if (q && first + i >= 16) /* SGI configuration is read-only */
      q->edge = (v >> (2 * i + 1)) & 1;
  }
}

/* Accesses to the banked interrupt registers of a frame covering INTIDs
 * [lo, hi). Returns false if off is not one of them. */
static bool bank_read(struct emu_gicv3 *gic, unsigned cpu, uint64_t off,
                      unsigned size, unsigned lo, unsigned hi, uint64_t *val) {
  if (off >= R_IPRIORITYR && off < R_IPRIORITYR + 1020) {
    unsigned intid = (unsigned)(off - R_IPRIORITYR);
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 4; i++) {
      struct emu_gic_irq *q = irq_of(gic, cpu, intid + i);
      if (q && intid + i >= lo && intid + i < hi)
        v |= (uint64_t)q->priority << (8 * i);
    }
    *val = v;
    return true;
  }
  if (size != 4)
    return false;
  if (off >= R_IGROUPR && off < R_IPRIORITYR) {
    unsigned base = (unsigned)off & ~0x7fu, first = ((unsigned)off & 0x7f) * 8;
    *val = (first >= lo && first < hi) ? bits_read(gic, cpu, base, first) : 0;
    return true;
  }
  if (off >= R_ICFGR && off < R_ICFGR + 0x100) {
    unsigned first = (unsigned)(off - R_ICFGR) * 4;
    *val = (first >= lo && first < hi) ? cfg_read(gic, cpu, first) : 0;
    return true;
  }
  return false;
}

static bool bank_write(struct emu_gicv3 *gic, unsigned cpu, uint64_t off,
                       unsigned size, unsigned lo, unsigned hi, uint64_t val) {
  if (off >= R_IPRIORITYR && off < R_IPRIORITYR + 1020) {
    unsigned intid = (unsigned)(off - R_IPRIORITYR);
    for (unsigned i = 0; i < size && i < 4; i++) {
      struct emu_gic_irq *q = irq_of(gic, cpu, intid + i);
      if (q && intid + i >= lo && intid + i < hi)
        q->priority = (uint8_t)(val >> (8 * i)) & PRIO_MASK;
    }
    return true;
  }
  if (size != 4)
    return false;
  if (off >= R_IGROUPR && off < R_IPRIORITYR) {
    unsigned base = (unsigned)off & ~0x7fu, first = ((unsigned)off & 0x7f) * 8;
    if (first >= lo && first < hi)
      bits_write(gic, cpu, base, first, (uint32_t)val);
    return true;
  }
  if (off >= R_ICFGR && off < R_ICFGR + 0x100) {
    unsigned first = (unsigned)(off - R_ICFGR) * 4;
    if (first >= lo && first < hi)
      cfg_write(gic, cpu, first, (uint32_t)val);
    return true;
  }
  return false;
}

/* ---- distributor ---- */

#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_IIDR 0x0008
#define GICD_IROUTER 0x6000

static uint32_t dist_read32(struct emu_gicv3 *gic, uint64_t off) {
  switch (off) {
  case GICD_CTLR:
    return gic->ctlr | GICD_CTLR_ARE | GICD_CTLR_DS;
  case GICD_TYPER:
    /* ITLinesNumber, IDbits = 9 (INTIDs < 1024); RSS = 0: Aff0 < 16. */
    return ((32 + gic->nr_spis) / 32 - 1) | 9u << 19;
  case GICD_IIDR:
    return 0;
  case R_PIDR2:
    return 0x30; /* ArchRev = 3: GICv3 */
  }
  if (off >= GICD_IROUTER + 32 * 8 && off < GICD_IROUTER + 1020 * 8) {
    unsigned n = (unsigned)((off - GICD_IROUTER) / 8) - 32;
    if (n >= gic->nr_spis)
      return 0;
    return (uint32_t)(gic->irouter[n] >> ((off & 4) ? 32 : 0));
  }
  return 0;
}

static void dist_write32(struct emu_gicv3 *gic, uint64_t off, uint32_t val) {
  if (off == GICD_CTLR) {
    gic->ctlr = val & (GICD_CTLR_GRP0 | GICD_CTLR_GRP1);
    return;
  }
  if (off >= GICD_IROUTER + 32 * 8 && off < GICD_IROUTER + 1020 * 8) {
    unsigned n = (unsigned)((off - GICD_IROUTER) / 8) - 32;
    if (n >= gic->nr_spis)
      return;
    uint64_t r = gic->irouter[n];
    if (off & 4)
      r = (r & 0xffffffffull) | (uint64_t)(val & 0xff) << 32;
    else
      r = (r & ~0xffffffffull) | (val & 0x80ffffffu);
    gic->irouter[n] = r;
  }
}

static uint64_t dist_read(void *opaque, uint64_t off, unsigned size) {
  struct emu_gicv3 *gic = opaque;
  uint64_t v = 0;
  lock(gic);
  /* INTIDs 0..31 live in the redistributors: the GICD copies are RAZ/WI. */
  if (!bank_read(gic, 0, off, size, 32, 32 + gic->nr_spis, &v)) {
    if (size == 8 && !(off & 7))
      v = dist_read32(gic, off) | (uint64_t)dist_read32(gic, off + 4) << 32;
    else if (size == 4 && !(off & 3))
      v = dist_read32(gic, off);
  }
  unlock(gic);
  return v;
}

static void dist_write(void *opaque, uint64_t off, unsigned size,
                       uint64_t val) {
  struct emu_gicv3 *gic = opaque;
  lock(gic);
  if (!bank_write(gic, 0, off, size, 32, 32 + gic->nr_spis, val)) {
    if (size == 8 && !(off & 7)) {
      dist_write32(gic, off, (uint32_t)val);
      dist_write32(gic, off + 4, (uint32_t)(val >> 32));
    } else if (size == 4 && !(off & 3)) {
      dist_write32(gic, off, (uint32_t)val);
    }
  }
  update_all(gic);
  unlock(gic);
}

const struct vmk_mmio_ops emu_gicv3_dist_ops = {.read = dist_read,
                                                .write = dist_write};

/* ---- redistributors ---- */

#define GICR_CTLR 0x0000
#define GICR_IIDR 0x0004
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_SGI 0x10000

static uint32_t redist_read32(struct emu_gicv3 *gic, unsigned cpu,
                              uint64_t off) {
  switch (off) {
  case GICR_TYPER:
    return (uint32_t)(cpu << 8) | (cpu == gic->ncpus - 1 ? 1u << 4 : 0);
  case GICR_TYPER + 4:
    return (uint32_t)emu_gicv3_affinity(cpu);
  case GICR_WAKER:
    return gic->cpu[cpu].waker;
  case R_PIDR2:
    return 0x30;
  }
  return 0;
}

static uint64_t redist_read(void *opaque, uint64_t off, unsigned size) {
  struct emu_gicv3 *gic = opaque;
  uint64_t cpu = off / EMU_GIC_RD_STRIDE, v = 0;
  off %= EMU_GIC_RD_STRIDE;
  if (cpu >= gic->ncpus)
    return 0;
  lock(gic);
  if (off >= GICR_SGI) {
    bank_read(gic, (unsigned)cpu, off - GICR_SGI, size, 0, 32, &v);
  } else if (size == 8 && !(off & 7)) {
    v = redist_read32(gic, (unsigned)cpu, off) |
        (uint64_t)redist_read32(gic, (unsigned)cpu, off + 4) << 32;
  } else if (size == 4 && !(off & 3)) {
    v = redist_read32(gic, (unsigned)cpu, off);
  }
  unlock(gic);
  return v;
}

static void redist_write(void *opaque, uint64_t off, unsigned size,
                         uint64_t val) {
  struct emu_gicv3 *gic = opaque;
  uint64_t cpu = off / EMU_GIC_RD_STRIDE;
  off %= EMU_GIC_RD_STRIDE;
  if (cpu >= gic->ncpus)
    return;
  lock(gic);
  if (off >= GICR_SGI) {
    bank_write(gic, (unsigned)cpu, off - GICR_SGI, size, 0, 32, val);
  } else if (off == GICR_WAKER && size == 4) {
    /* ChildrenAsleep follows ProcessorSleep at once: nothing to quiesce. */
    gic->cpu[cpu].waker =
        (val & WAKER_SLEEP) ? WAKER_SLEEP | WAKER_CHILDREN : 0;
  }
  update_cpu(gic, (unsigned)cpu);
  unlock(gic);
}

const struct vmk_mmio_ops emu_gicv3_redist_ops = {.read = redist_read,
                                                  .write = redist_write};

/* ---- CPU interface ---- */

#define ICC_PMR EMU_SYSREG(3, 0, 4, 6, 0)
#define ICC_IAR0 EMU_SYSREG(3, 0, 12, 8, 0)
#define ICC_EOIR0 EMU_SYSREG(3, 0, 12, 8, 1)
#define ICC_HPPIR0 EMU_SYSREG(3, 0, 12, 8, 2)
#define ICC_BPR0 EMU_SYSREG(3, 0, 12, 8, 3)
#define ICC_AP0R0 EMU_SYSREG(3, 0, 12, 8, 4)
#define ICC_AP0R3 EMU_SYSREG(3, 0, 12, 8, 7)
#define ICC_AP1R0 EMU_SYSREG(3, 0, 12, 9, 0)
#define ICC_AP1R3 EMU_SYSREG(3, 0, 12, 9, 3)
#define ICC_DIR EMU_SYSREG(3, 0, 12, 11, 1)
#define ICC_RPR EMU_SYSREG(3, 0, 12, 11, 3)
#define ICC_SGI1R EMU_SYSREG(3, 0, 12, 11, 5)
#define ICC_ASGI1R EMU_SYSREG(3, 0, 12, 11, 6)
#define ICC_SGI0R EMU_SYSREG(3, 0, 12, 11, 7)
#define ICC_IAR1 EMU_SYSREG(3, 0, 12, 12, 0)
#define ICC_EOIR1 EMU_SYSREG(3, 0, 12, 12, 1)
#define ICC_HPPIR1 EMU_SYSREG(3, 0, 12, 12, 2)
#define ICC_BPR1 EMU_SYSREG(3, 0, 12, 12, 3)
#define ICC_CTLR EMU_SYSREG(3, 0, 12, 12, 4)
#define ICC_SRE EMU_SYSREG(3, 0, 12, 12, 5)
#define ICC_IGRPEN0 EMU_SYSREG(3, 0, 12, 12, 6)
#define ICC_IGRPEN1 EMU_SYSREG(3, 0, 12, 12, 7)

static unsigned ack(struct emu_gicv3 *gic, unsigned cpu, unsigned group) {
  struct emu_gic_cpu *c = &gic->cpu[cpu];
  unsigned id = hppi(gic, cpu);
  if (id == EMU_GIC_SPURIOUS || !can_signal(gic, cpu, id))
    return EMU_GIC_SPURIOUS;
  struct emu_gic_irq *q = irq_of(gic, cpu, id);
  if (q->group != group)
    return EMU_GIC_SPURIOUS;
  q->pending = false; /* edge latch / software pend is consumed */
  q->active = true;
  unsigned bit = group_prio(c, group, q->priority) >> 3;
  if (group)
    c->ap1r |= 1u << bit;
  else
    c->ap0r |= 1u << bit;
  update_cpu(gic, cpu);
  return id;
}

static void deactivate(struct emu_gicv3 *gic, unsigned cpu, unsigned intid) {
  struct emu_gic_irq *q = irq_of(gic, cpu, intid);
  if (q)
    q->active = false;
}

static void eoi(struct emu_gicv3 *gic, unsigned cpu, unsigned group,
                unsigned intid) {
  struct emu_gic_cpu *c = &gic->cpu[cpu];
  if (intid >= 1020)
    return;
  /* Priority drop: the highest active priority (lowest set bit). */
  uint32_t ap = c->ap0r | c->ap1r;
  if (ap) {
    uint32_t low = ap & -ap;
    uint32_t *mine = group ? &c->ap1r : &c->ap0r;
    uint32_t *other = group ? &c->ap0r : &c->ap1r;
    if (*mine & low)
      *mine &= ~low;
    else
      *other &= ~low;
  }
  if (!(c->ctlr & ICC_CTLR_EOIMODE))
    deactivate(gic, cpu, intid);
  /* emu_gicv3_icc_write recomputes this CPU's lines. */
}

static void send_sgi(struct emu_gicv3 *gic, unsigned self, uint64_t v,
                     unsigned group) {
  unsigned intid = (unsigned)(v >> 24) & 15;
  bool irm = (v >> 40) & 1;
  unsigned aff1 = (unsigned)(v >> 16) & 0xff, aff2 = (unsigned)(v >> 32) & 0xff,
           aff3 = (unsigned)(v >> 48) & 0xff, rs = (unsigned)(v >> 44) & 15;
  for (unsigned c = 0; c < gic->ncpus; c++) {
    if (irm) {
      if (c == self)
        continue;
    } else {
      uint64_t aff = emu_gicv3_affinity(c);
      unsigned a0 = aff & 0xff;
      if (aff1 != ((aff >> 8) & 0xff) || aff2 != ((aff >> 16) & 0xff) ||
          aff3 != ((aff >> 32) & 0xff) || (a0 >> 4) != rs ||
          !((v >> (a0 & 15)) & 1))
        continue;
    }
    struct emu_gic_irq *q = &gic->cpu[c].priv[intid];
    /* With DS=1 an SGI is only forwarded to a PE where it has the group
     * of the generating register. */
    if (q->group != group)
      continue;
    q->pending = true;
    if (c != self) /* emu_gicv3_icc_write updates the sender itself */
      update_cpu(gic, c);
  }
}

bool emu_gicv3_icc_read(struct emu_gicv3 *gic, unsigned cpu, uint32_t enc,
                        uint64_t *val) {
  if (cpu >= gic->ncpus)
    return false;
  struct emu_gic_cpu *c = &gic->cpu[cpu];
  bool ok = true;
  unsigned id;
  lock(gic);
  switch (enc) {
  case ICC_PMR:
    *val = c->pmr;
    break;
  case ICC_IAR0:
  case ICC_IAR1:
    *val = ack(gic, cpu, enc == ICC_IAR1);
    break;
  case ICC_HPPIR0:
  case ICC_HPPIR1:
    id = hppi(gic, cpu);
    *val = (id != EMU_GIC_SPURIOUS &&
            irq_of(gic, cpu, id)->group == (enc == ICC_HPPIR1))
               ? id
               : EMU_GIC_SPURIOUS;
    break;
  case ICC_BPR0:
    *val = c->bpr0;
    break;
  case ICC_BPR1:
    *val = bpr_eff(c, 1);
    break;
  case ICC_AP0R0:
    *val = c->ap0r;
    break;
  case ICC_AP1R0:
    *val = c->ap1r;
    break;
  case ICC_RPR:
    *val = running_prio(c) == IDLE_PRIO ? 0xff : running_prio(c);
    break;
  case ICC_CTLR:
    /* PRIbits = 4 (5 bits), IDbits = 0 (16 bits), RSS = 0 (Aff0 < 16). */
    *val = c->ctlr | 4u << 8;
    break;
  case ICC_SRE:
    *val = 7; /* SRE, DFB, DIB: system registers only */
    break;
  case ICC_IGRPEN0:
    *val = c->igrpen0;
    break;
  case ICC_IGRPEN1:
    *val = c->igrpen1;
    break;
  default:
    /* AP{0,1}R1..3 are RAZ: 32 priority levels fit in R0. */
    if ((enc > ICC_AP0R0 && enc <= ICC_AP0R3) ||
        (enc > ICC_AP1R0 && enc <= ICC_AP1R3))
      *val = 0;
    else
      ok = false;
  }
  unlock(gic);
  return ok;
}

bool emu_gicv3_icc_write(struct emu_gicv3 *gic, unsigned cpu, uint32_t enc,
                         uint64_t val) {
  if (cpu >= gic->ncpus)
    return false;
  struct emu_gic_cpu *c = &gic->cpu[cpu];
  bool ok = true;
  lock(gic);
  switch (enc) {
  case ICC_PMR:
    c->pmr = (uint8_t)val & PRIO_MASK;
    break;
  case ICC_EOIR0:
  case ICC_EOIR1:
    eoi(gic, cpu, enc == ICC_EOIR1, (unsigned)val & 0xffffff);
    break;
  case ICC_DIR:
    if ((val & 0xffffff) < 1020)
      deactivate(gic, cpu, (unsigned)val & 0xffffff);
    break;
  case ICC_BPR0:
    c->bpr0 = (uint8_t)((val & 7) < 2 ? 2 : (val & 7));
    break;
  case ICC_BPR1:
    if (!(c->ctlr & ICC_CTLR_CBPR))
      c->bpr1 = (uint8_t)((val & 7) < 3 ? 3 : (val & 7));
    break;
  case ICC_AP0R0:
    c->ap0r = (uint32_t)val;
    break;
  case ICC_AP1R0:
    c->ap1r = (uint32_t)val;
    break;
  case ICC_SGI1R:
    send_sgi(gic, cpu, val, 1);
    break;
  case ICC_SGI0R:
    send_sgi(gic, cpu, val, 0);
    break;
  case ICC_ASGI1R:
    break; /* no other security state to target */
  case ICC_CTLR:
    c->ctlr = (uint32_t)val & (ICC_CTLR_CBPR | ICC_CTLR_EOIMODE);
    break;
  case ICC_SRE:
    break; /* fixed at 7 */
  case ICC_IGRPEN0:
    c->igrpen0 = val & 1;
    break;
  case ICC_IGRPEN1:
    c->igrpen1 = val & 1;
    break;
  default:
    if (!((enc > ICC_AP0R0 && enc <= ICC_AP0R3) ||
          (enc > ICC_AP1R0 && enc <= ICC_AP1R3)))
      ok = false;
  }
  if (ok && (enc == ICC_IGRPEN0 || enc == ICC_IGRPEN1))
    update_all(gic); /* 1-of-N SPI routing depends on who participates */
  else if (ok)
    update_cpu(gic, cpu);
  unlock(gic);
  return ok;
}

/* ---- snapshot state ---- */

static void irq_save(const struct emu_gic_irq *q, struct vmk_gic_irq_state *o) {
  *o = (struct vmk_gic_irq_state){.priority = q->priority,
                                  .group = q->group,
                                  .enabled = q->enabled,
                                  .pending = q->pending,
                                  .active = q->active,
                                  .edge = q->edge,
                                  .level = q->level};
}

static void irq_load(struct emu_gic_irq *q, const struct vmk_gic_irq_state *o) {
  q->priority = o->priority & PRIO_MASK;
  q->group = o->group ? 1 : 0;
  q->enabled = o->enabled;
  q->pending = o->pending;
  q->active = o->active;
  q->edge = o->edge;
  q->level = o->level;
}

void emu_gicv3_save(struct emu_gicv3 *gic, struct vmk_gic_state *gicd,
                    struct vmk_gic_cpu_state *gicr) {
  lock(gic);
  memset(gicd, 0, sizeof *gicd);
  gicd->ctlr = gic->ctlr & (GICD_CTLR_GRP0 | GICD_CTLR_GRP1);
  gicd->nr_spis =
      gic->nr_spis < VMK_ARCH_MAX_SPIS ? gic->nr_spis : VMK_ARCH_MAX_SPIS;
  for (unsigned n = 0; n < gicd->nr_spis; n++) {
    irq_save(&gic->spi[n], &gicd->spi[n]);
    gicd->irouter[n] = gic->irouter[n];
  }
  for (unsigned c = 0; c < gic->ncpus; c++) {
    const struct emu_gic_cpu *cc = &gic->cpu[c];
    struct vmk_gic_cpu_state *o = &gicr[c];
    memset(o, 0, sizeof *o);
    for (unsigned i = 0; i < 32; i++)
      irq_save(&cc->priv[i], &o->irq[i]);
    o->waker = cc->waker;
    o->pmr = cc->pmr;
    o->bpr0 = cc->bpr0;
    o->bpr1 = cc->bpr1;
    o->ap0r = cc->ap0r;
    o->ap1r = cc->ap1r;
    o->ctlr = cc->ctlr;
    o->igrpen0 = cc->igrpen0;
    o->igrpen1 = cc->igrpen1;
  }
  unlock(gic);
}

int emu_gicv3_load(struct emu_gicv3 *gic, const struct vmk_gic_state *gicd,
                   const struct vmk_gic_cpu_state *gicr, vmk_error *err) {
  if (gicd->nr_spis > gic->nr_spis || gicd->nr_spis > VMK_ARCH_MAX_SPIS)
    return vmk_err(err, -EINVAL,
                   "the snapshot's GIC has %u SPIs; this machine's has %u",
                   gicd->nr_spis, gic->nr_spis);
  lock(gic);
  gic->ctlr = (gicd->ctlr & (GICD_CTLR_GRP0 | GICD_CTLR_GRP1)) |
              (gic->ctlr & ~(GICD_CTLR_GRP0 | GICD_CTLR_GRP1));
  for (unsigned n = 0; n < gic->nr_spis; n++) {
    if (n < gicd->nr_spis) {
      irq_load(&gic->spi[n], &gicd->spi[n]);
      /* IRM and Aff3..Aff0, as IROUTER keeps them. */
      gic->irouter[n] = gicd->irouter[n] & ((1ull << 31) | 0xff00ffffffull);
    } else {
      gic->spi[n] = (struct emu_gic_irq){0};
      gic->irouter[n] = 0;
    }
  }
  for (unsigned c = 0; c < gic->ncpus; c++) {
    struct emu_gic_cpu *cc = &gic->cpu[c];
    const struct vmk_gic_cpu_state *o = &gicr[c];
    for (unsigned i = 0; i < 32; i++) {
      irq_load(&cc->priv[i], &o->irq[i]);
      if (i < 16)
        cc->priv[i].edge = true; /* SGIs are always edge-triggered */
    }
    cc->waker = o->waker & (WAKER_SLEEP | WAKER_CHILDREN);
    cc->pmr = o->pmr & PRIO_MASK;
    /* The minimum binary points this GIC implements (as a write gives). */
    cc->bpr0 = (uint8_t)((o->bpr0 & 7) < 2 ? 2 : (o->bpr0 & 7));
    cc->bpr1 = (uint8_t)((o->bpr1 & 7) < 3 ? 3 : (o->bpr1 & 7));
    cc->ap0r = o->ap0r;
    cc->ap1r = o->ap1r;
    cc->ctlr = o->ctlr & (ICC_CTLR_CBPR | ICC_CTLR_EOIMODE);
    cc->igrpen0 = o->igrpen0;
    cc->igrpen1 = o->igrpen1;
  }
  update_all(gic);
  unlock(gic);
  return 0;
}
