/* kvm_state.c — the kvm engine's vCPU and vGICv3 state to and from the
 * engine-neutral form of engine/arch_state.h, for snapshots.
 *
 * vCPUs: core registers, FP/SIMD and the system registers through
 * KVM_GET/SET_ONE_REG (the sysreg ids carry the same op0:op1:CRn:CRm:op2
 * encodings as the snapshot; ELR_EL1 and SPSR_EL1 are core registers to
 * KVM; the virtual timer's CVAL/CNT ids are KVM's swapped ones), PSCI power
 * through KVM_GET/SET_MP_STATE. The vGIC: distributor and redistributor
 * registers (KVM_DEV_ARM_VGIC_GRP_DIST_REGS / REDIST_REGS), the CPU
 * interface (CPU_SYSREGS) and the input line levels (LEVEL_INFO), in the
 * order QEMU restores them (configuration and levels before pending,
 * active and enable).
 *
 * Threads: the VM's owner thread with every vCPU thread parked outside
 * KVM_RUN, or before they exist (kvm.c guarantees it); no locks here.
 */
#include "engine/kvm_state.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#define SR VMK_SYSREG
#define CORE(field)                                                            \
  (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |                       \
   (offsetof(struct kvm_regs, field) / sizeof(__u32)))
#define SYSREG_ID(enc)                                                         \
  (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG | (uint64_t)(enc))

static int get_reg(int fd, uint64_t id, void *val) {
  struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};
  return ioctl(fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

static int set_reg(int fd, uint64_t id, const void *val) {
  struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};
  return ioctl(fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

/* The snapshot's system registers, as the emu engine saves them. `soft`:
 * KVM may not keep it (debug/auxiliary registers it treats as RAZ/WI or
 * does not expose): a failure to set it is not an error. */
static const struct {
  uint32_t enc;
  bool soft;
} sysregs[] = {
    {SR(3, 0, 1, 0, 0), false},  /* SCTLR_EL1 */
    {SR(3, 0, 1, 0, 1), true},   /* ACTLR_EL1 */
    {SR(3, 0, 1, 0, 2), false},  /* CPACR_EL1 */
    {SR(3, 0, 2, 0, 0), false},  /* TTBR0_EL1 */
    {SR(3, 0, 2, 0, 1), false},  /* TTBR1_EL1 */
    {SR(3, 0, 2, 0, 2), false},  /* TCR_EL1 */
    {SR(3, 0, 10, 2, 0), false}, /* MAIR_EL1 */
    {SR(3, 0, 10, 3, 0), true},  /* AMAIR_EL1 */
    {SR(3, 0, 12, 0, 0), false}, /* VBAR_EL1 */
    {SR(3, 0, 5, 2, 0), false},  /* ESR_EL1 */
    {SR(3, 0, 6, 0, 0), false},  /* FAR_EL1 */
    {SR(3, 0, 7, 4, 0), false},  /* PAR_EL1 */
    {SR(3, 0, 13, 0, 1), false}, /* CONTEXTIDR_EL1 */
    {SR(3, 0, 13, 0, 4), false}, /* TPIDR_EL1 */
    {SR(3, 0, 14, 1, 0), false}, /* CNTKCTL_EL1 */
    {SR(3, 0, 5, 1, 0), true},   /* AFSR0_EL1 */
    {SR(3, 0, 5, 1, 1), true},   /* AFSR1_EL1 */
    {SR(3, 2, 0, 0, 0), true},   /* CSSELR_EL1 */
    {SR(2, 0, 0, 2, 2), false},  /* MDSCR_EL1 */
    {SR(2, 0, 0, 2, 0), true},   /* MDCCINT_EL1 */
    {SR(2, 0, 1, 1, 4), true},   /* OSLSR_EL1 */
    {SR(2, 0, 1, 3, 4), true},   /* OSDLR_EL1 */
    {SR(2, 0, 1, 4, 4), true},   /* DBGPRCR_EL1 */
    {SR(2, 0, 7, 8, 6), true},   /* DBGCLAIMSET_EL1 */
    {SR(3, 3, 13, 0, 2), false}, /* TPIDR_EL0 */
    {SR(3, 3, 13, 0, 3), false}, /* TPIDRRO_EL0 */
    {SR(3, 3, 14, 2, 1), true},  /* CNTP_CTL_EL0 (newer kernels) */
    {SR(3, 3, 14, 2, 2), true},  /* CNTP_CVAL_EL0 (newer kernels) */
};
#define NSYSREGS (sizeof sysregs / sizeof sysregs[0])

#define ELR_EL1 SR(3, 0, 4, 0, 1)
#define SPSR_EL1 SR(3, 0, 4, 0, 0)
#define CNTV_CTL SR(3, 3, 14, 3, 1)
#define CNTV_CVAL SR(3, 3, 14, 3, 2)

static bool is_dbg(uint32_t enc, unsigned *n, unsigned *op2) {
  if ((enc >> 7) != (SR(2, 0, 0, 0, 0) >> 7) || (enc & 7) < 4)
    return false;
  *n = (enc >> 3) & 15;
  *op2 = enc & 7;
  return *n < ((*op2 <= 5) ? 6u : 4u);
}

/* KVM's id for a snapshot register; 0 for those that are core registers. */
static uint64_t kvm_id(uint32_t enc) {
  if (enc == CNTV_CTL)
    return KVM_REG_ARM_TIMER_CTL;
  if (enc == CNTV_CVAL)
    return KVM_REG_ARM_TIMER_CVAL; /* KVM's id has CNTVCT's encoding */
  if (enc == ELR_EL1 || enc == SPSR_EL1)
    return 0;
  return SYSREG_ID(enc);
}

int vmk_kvm_save_vcpu(int fd, unsigned idx, struct vmk_vcpu_state *v,
                      vmk_error *err) {
  memset(v, 0, sizeof *v);
  int r = 0;
  for (int i = 0; i < 31 && !r; i++)
    r = get_reg(fd, CORE(regs.regs[i]), &v->x[i]);
  if (!r)
    r = get_reg(fd, CORE(regs.sp), &v->sp_el0);
  if (!r)
    r = get_reg(fd, CORE(sp_el1), &v->sp_el1);
  if (!r)
    r = get_reg(fd, CORE(regs.pc), &v->pc);
  if (!r)
    r = get_reg(fd, CORE(regs.pstate), &v->pstate);
  uint64_t elr = 0, spsr = 0;
  if (!r)
    r = get_reg(fd, CORE(elr_el1), &elr);
  if (!r)
    r = get_reg(fd, CORE(spsr[KVM_SPSR_EL1]), &spsr);
  for (int i = 0; i < 32 && !r; i++) {
    __uint128_t q;
    uint64_t id = KVM_REG_ARM64 | KVM_REG_SIZE_U128 | KVM_REG_ARM_CORE |
                  (offsetof(struct kvm_regs, fp_regs.vregs[i]) / 4);
    if (!(r = get_reg(fd, id, &q))) {
      v->v[i][0] = (uint64_t)q;
      v->v[i][1] = (uint64_t)(q >> 64);
    }
  }
  uint32_t fpsr = 0, fpcr = 0;
  if (!r)
    r = get_reg(fd,
                KVM_REG_ARM64 | KVM_REG_SIZE_U32 | KVM_REG_ARM_CORE |
                    (offsetof(struct kvm_regs, fp_regs.fpsr) / 4),
                &fpsr);
  if (!r)
    r = get_reg(fd,
                KVM_REG_ARM64 | KVM_REG_SIZE_U32 | KVM_REG_ARM_CORE |
                    (offsetof(struct kvm_regs, fp_regs.fpcr) / 4),
                &fpcr);
  if (r)
    return vmk_err(err, r, "KVM could not read vCPU %u's registers: %s", idx,
                   strerror(-r));
  v->fpsr = fpsr;
  v->fpcr = fpcr;
  vmk_vcpu_set_sysreg(v, ELR_EL1, elr);
  vmk_vcpu_set_sysreg(v, SPSR_EL1, spsr);
  for (size_t i = 0; i < NSYSREGS; i++) {
    uint64_t val;
    if (!get_reg(fd, SYSREG_ID(sysregs[i].enc), &val))
      vmk_vcpu_set_sysreg(v, sysregs[i].enc, val);
    else if (!sysregs[i].soft)
      return vmk_err(err, -errno,
                     "KVM could not read system register S%u_%u_C%u_C%u_%u "
                     "of vCPU %u",
                     sysregs[i].enc >> 14, (sysregs[i].enc >> 11) & 7,
                     (sysregs[i].enc >> 7) & 15, (sysregs[i].enc >> 3) & 15,
                     sysregs[i].enc & 7, idx);
  }
  for (unsigned n = 0; n < 6; n++)
    for (unsigned op2 = 4; op2 <= 7; op2++) {
      uint64_t val;
      if ((op2 >= 6 && n >= 4) ||
          get_reg(fd, SYSREG_ID(SR(2, 0, 0, n, op2)), &val))
        continue;
      vmk_vcpu_set_sysreg(v, SR(2, 0, 0, n, op2), val);
    }
  uint64_t ctl, cval;
  if (get_reg(fd, KVM_REG_ARM_TIMER_CTL, &ctl) ||
      get_reg(fd, KVM_REG_ARM_TIMER_CVAL, &cval))
    return vmk_err(err, -errno, "KVM could not read vCPU %u's timer", idx);
  vmk_vcpu_set_sysreg(v, CNTV_CTL, ctl & 3); /* ENABLE, IMASK */
  vmk_vcpu_set_sysreg(v, CNTV_CVAL, cval);
  struct kvm_mp_state mp;
  if (ioctl(fd, KVM_GET_MP_STATE, &mp) < 0)
    return vmk_err(err, -errno, "KVM could not read vCPU %u's power state",
                   idx);
  v->power = mp.mp_state == KVM_MP_STATE_STOPPED ? VMK_VCPU_OFF : VMK_VCPU_ON;
  return 0;
}

int vmk_kvm_load_vcpu(int fd, unsigned idx, const struct vmk_vcpu_state *v,
                      vmk_error *err) {
  unsigned m = (unsigned)(v->pstate & 0x1f);
  if (m != 0 && m != 4 && m != 5)
    return vmk_err(err, -EINVAL,
                   "vCPU %u of the snapshot is in a mode this engine does not "
                   "run (PSTATE.M 0x%x)",
                   idx, m);
  if (v->nsys > VMK_ARCH_MAX_SYSREGS)
    return vmk_err(err, -EINVAL, "vCPU %u of the snapshot is malformed", idx);
  uint64_t pc = v->pc, x0 = v->x[0];
  if (v->power == VMK_VCPU_ON_PENDING) {
    pc = v->on_pc; /* CPU_ON was accepted: the vCPU starts there */
    x0 = v->on_ctx;
  }
  int r = 0;
  for (int i = 0; i < 31 && !r; i++)
    r = set_reg(fd, CORE(regs.regs[i]), i ? &v->x[i] : &x0);
  if (!r)
    r = set_reg(fd, CORE(regs.sp), &v->sp_el0);
  if (!r)
    r = set_reg(fd, CORE(sp_el1), &v->sp_el1);
  if (!r)
    r = set_reg(fd, CORE(regs.pc), &pc);
  uint64_t pstate = v->power == VMK_VCPU_ON_PENDING ? 0x3c5 : v->pstate;
  if (!r)
    r = set_reg(fd, CORE(regs.pstate), &pstate);
  for (int i = 0; i < 32 && !r; i++) {
    __uint128_t q = (__uint128_t)v->v[i][1] << 64 | v->v[i][0];
    r = set_reg(fd,
                KVM_REG_ARM64 | KVM_REG_SIZE_U128 | KVM_REG_ARM_CORE |
                    (offsetof(struct kvm_regs, fp_regs.vregs[i]) / 4),
                &q);
  }
  uint32_t fpsr = v->fpsr, fpcr = v->fpcr;
  if (!r)
    r = set_reg(fd,
                KVM_REG_ARM64 | KVM_REG_SIZE_U32 | KVM_REG_ARM_CORE |
                    (offsetof(struct kvm_regs, fp_regs.fpsr) / 4),
                &fpsr);
  if (!r)
    r = set_reg(fd,
                KVM_REG_ARM64 | KVM_REG_SIZE_U32 | KVM_REG_ARM_CORE |
                    (offsetof(struct kvm_regs, fp_regs.fpcr) / 4),
                &fpcr);
  if (r)
    return vmk_err(err, r, "KVM refused vCPU %u's registers: %s", idx,
                   strerror(-r));
  for (unsigned i = 0; i < v->nsys; i++) {
    uint32_t enc = v->sys[i].enc;
    uint64_t val = v->sys[i].val;
    if (enc == ELR_EL1)
      r = set_reg(fd, CORE(elr_el1), &val);
    else if (enc == SPSR_EL1)
      r = set_reg(fd, CORE(spsr[KVM_SPSR_EL1]), &val);
    else
      r = set_reg(fd, kvm_id(enc), &val);
    if (!r)
      continue;
    bool soft = false;
    unsigned n, op2;
    for (size_t k = 0; k < NSYSREGS; k++)
      if (sysregs[k].enc == enc)
        soft = sysregs[k].soft;
    if (soft || (is_dbg(enc, &n, &op2) && val == 0))
      continue;
    return vmk_err(err, r,
                   "KVM refused system register S%u_%u_C%u_C%u_%u of vCPU %u "
                   "(%s)",
                   enc >> 14, (enc >> 11) & 7, (enc >> 7) & 15, (enc >> 3) & 15,
                   enc & 7, idx, strerror(-r));
  }
  struct kvm_mp_state mp = {.mp_state = v->power == VMK_VCPU_OFF
                                            ? KVM_MP_STATE_STOPPED
                                            : KVM_MP_STATE_RUNNABLE};
  if (ioctl(fd, KVM_SET_MP_STATE, &mp) < 0)
    return vmk_err(err, -errno, "KVM refused vCPU %u's power state: %s", idx,
                   strerror(errno));
  return 0;
}

int vmk_kvm_get_counter(int fd, uint64_t *cnt) {
  return get_reg(fd, KVM_REG_ARM_TIMER_CNT, cnt);
}

int vmk_kvm_set_counter(int fd, uint64_t cnt) {
  return set_reg(fd, KVM_REG_ARM_TIMER_CNT, &cnt);
}

/* ---- vGICv3 ---- */

static uint64_t mpidr_of(unsigned cpu) {
  return (uint64_t)((cpu & 15) | ((cpu >> 4) & 0xff) << 8);
}

static int gic_attr(int gic_fd, bool write, uint32_t group, uint64_t attr,
                    void *val) {
  struct kvm_device_attr a = {
      .group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)val};
  return ioctl(gic_fd, write ? KVM_SET_DEVICE_ATTR : KVM_GET_DEVICE_ATTR, &a) <
                 0
             ? -errno
             : 0;
}

/* One 32-bit register of the distributor (cpu < 0) or of cpu's
 * redistributor (offset in its 128 KiB: SGI frame at 0x10000). */
static int gic_reg(int gic_fd, bool write, int cpu, uint32_t off,
                   uint32_t *val) {
  if (cpu < 0)
    return gic_attr(gic_fd, write, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, off, val);
  return gic_attr(gic_fd, write, KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
                  mpidr_of((unsigned)cpu) << 32 | off, val);
}

static int gic_level(int gic_fd, bool write, unsigned cpu, unsigned intid,
                     uint32_t *val) {
  uint64_t attr = mpidr_of(cpu) << 32 |
                  (uint64_t)VGIC_LEVEL_INFO_LINE_LEVEL
                      << KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT |
                  (intid & KVM_DEV_ARM_VGIC_LINE_LEVEL_INTID_MASK);
  return gic_attr(gic_fd, write, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, attr, val);
}

#define GICD_CTLR 0x0
#define R_IGROUPR 0x080
#define R_ISENABLER 0x100
#define R_ICENABLER 0x180
#define R_ISPENDR 0x200
#define R_ICPENDR 0x280
#define R_ISACTIVER 0x300
#define R_ICACTIVER 0x380
#define R_IPRIORITYR 0x400
#define R_ICFGR 0xc00
#define GICD_IROUTER 0x6000
#define SGI_BASE 0x10000

/* The 32 interrupts from `first` (a multiple of 32) of one bank: the
 * distributor's (cpu < 0, first >= 32) or cpu's SGIs and PPIs. */
static int bank_save(int gic_fd, int cpu, unsigned first,
                     struct vmk_gic_irq_state *q) {
  uint32_t base = cpu < 0 ? 0 : SGI_BASE, w = first / 32, v[6];
  const uint32_t regs[] = {R_IGROUPR, R_ISENABLER, R_ISPENDR, R_ISACTIVER};
  int r = 0;
  for (int k = 0; k < 4 && !r; k++)
    r = gic_reg(gic_fd, false, cpu, base + regs[k] + 4 * w, &v[k]);
  for (int k = 0; k < 2 && !r; k++)
    r = gic_reg(gic_fd, false, cpu, base + R_ICFGR + 8 * w + 4 * k, &v[4 + k]);
  uint32_t level = 0;
  if (!r)
    r = gic_level(gic_fd, false, cpu < 0 ? 0 : (unsigned)cpu, first, &level);
  for (unsigned i = 0; i < 32 && !r; i += 4) {
    uint32_t p;
    if ((r = gic_reg(gic_fd, false, cpu, base + R_IPRIORITYR + first + i, &p)))
      break;
    for (unsigned b = 0; b < 4; b++)
      q[i + b].priority = (uint8_t)(p >> (8 * b));
  }
  for (unsigned i = 0; i < 32 && !r; i++) {
    q[i].group = (v[0] >> i) & 1;
    q[i].enabled = (v[1] >> i) & 1;
    q[i].edge = (v[4 + i / 16] >> (2 * (i % 16) + 1)) & 1;
    q[i].level = !q[i].edge && ((level >> i) & 1);
    /* ISPENDR shows a level interrupt pending while its line is high:
     * only what is beyond the line is the latch. */
    q[i].pending = ((v[2] >> i) & 1) && !q[i].level;
    q[i].active = (v[3] >> i) & 1;
  }
  return r;
}

static int bank_load(int gic_fd, int cpu, unsigned first,
                     const struct vmk_gic_irq_state *q) {
  uint32_t base = cpu < 0 ? 0 : SGI_BASE, w = first / 32;
  uint32_t grp = 0, en = 0, pend = 0, act = 0, level = 0, cfg[2] = {0, 0};
  for (unsigned i = 0; i < 32; i++) {
    grp |= (uint32_t)(q[i].group & 1) << i;
    en |= (uint32_t)q[i].enabled << i;
    pend |= (uint32_t)q[i].pending << i;
    act |= (uint32_t)q[i].active << i;
    level |= (uint32_t)(q[i].level && !q[i].edge) << i;
    cfg[i / 16] |= (uint32_t)q[i].edge << (2 * (i % 16) + 1);
  }
  uint32_t ones = ~0u;
  int r = gic_reg(gic_fd, true, cpu, base + R_IGROUPR + 4 * w, &grp);
  /* SGIs' configuration is fixed; writing it is ignored. */
  for (int k = 0; k < 2 && !r; k++)
    r = gic_reg(gic_fd, true, cpu, base + R_ICFGR + 8 * w + 4 * k, &cfg[k]);
  for (unsigned i = 0; i < 32 && !r; i += 4) {
    uint32_t p = 0;
    for (unsigned b = 0; b < 4; b++)
      p |= (uint32_t)q[i + b].priority << (8 * b);
    r = gic_reg(gic_fd, true, cpu, base + R_IPRIORITYR + first + i, &p);
  }
  if (!r)
    r = gic_level(gic_fd, true, cpu < 0 ? 0 : (unsigned)cpu, first, &level);
  if (!r)
    r = gic_reg(gic_fd, true, cpu, base + R_ICPENDR + 4 * w, &ones);
  if (!r)
    r = gic_reg(gic_fd, true, cpu, base + R_ISPENDR + 4 * w, &pend);
  if (!r)
    r = gic_reg(gic_fd, true, cpu, base + R_ICACTIVER + 4 * w, &ones);
  if (!r)
    r = gic_reg(gic_fd, true, cpu, base + R_ISACTIVER + 4 * w, &act);
  if (!r)
    r = gic_reg(gic_fd, true, cpu, base + R_ICENABLER + 4 * w, &ones);
  if (!r)
    r = gic_reg(gic_fd, true, cpu, base + R_ISENABLER + 4 * w, &en);
  return r;
}

#define ICC_PMR SR(3, 0, 4, 6, 0)
#define ICC_BPR0 SR(3, 0, 12, 8, 3)
#define ICC_AP0R0 SR(3, 0, 12, 8, 4)
#define ICC_AP1R0 SR(3, 0, 12, 9, 0)
#define ICC_BPR1 SR(3, 0, 12, 12, 3)
#define ICC_CTLR SR(3, 0, 12, 12, 4)
#define ICC_IGRPEN0 SR(3, 0, 12, 12, 6)
#define ICC_IGRPEN1 SR(3, 0, 12, 12, 7)

static int icc(int gic_fd, bool write, unsigned cpu, uint32_t enc,
               uint64_t *val) {
  return gic_attr(gic_fd, write, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
                  mpidr_of(cpu) << 32 | enc, val);
}

int vmk_kvm_save_gic(int gic_fd, unsigned ncpus, unsigned nr_spis,
                     struct vmk_arch_state *st, vmk_error *err) {
  memset(&st->gicd, 0, sizeof st->gicd);
  if (nr_spis > VMK_ARCH_MAX_SPIS)
    nr_spis = VMK_ARCH_MAX_SPIS;
  st->gicd.nr_spis = nr_spis;
  uint32_t ctlr;
  int r = gic_reg(gic_fd, false, -1, GICD_CTLR, &ctlr);
  st->gicd.ctlr = ctlr & 3;
  for (unsigned f = 32; f < 32 + nr_spis && !r; f += 32)
    r = bank_save(gic_fd, -1, f, &st->gicd.spi[f - 32]);
  for (unsigned n = 0; n < nr_spis && !r; n++) {
    uint32_t lo, hi;
    if (!(r = gic_reg(gic_fd, false, -1, GICD_IROUTER + 8 * (32 + n), &lo)))
      r = gic_reg(gic_fd, false, -1, GICD_IROUTER + 8 * (32 + n) + 4, &hi);
    st->gicd.irouter[n] = (uint64_t)hi << 32 | lo;
  }
  for (unsigned c = 0; c < ncpus && !r; c++) {
    struct vmk_gic_cpu_state *g = &st->gicr[c];
    memset(g, 0, sizeof *g);
    if ((r = bank_save(gic_fd, (int)c, 0, g->irq)))
      break;
    uint64_t v[8];
    const uint32_t regs[8] = {ICC_PMR,   ICC_BPR0, ICC_BPR1,    ICC_AP0R0,
                              ICC_AP1R0, ICC_CTLR, ICC_IGRPEN0, ICC_IGRPEN1};
    for (int k = 0; k < 8 && !r; k++)
      r = icc(gic_fd, false, c, regs[k], &v[k]);
    g->pmr = (uint8_t)v[0];
    g->bpr0 = (uint8_t)v[1];
    g->bpr1 = (uint8_t)v[2];
    g->ap0r = (uint32_t)v[3];
    g->ap1r = (uint32_t)v[4];
    g->ctlr = (uint32_t)v[5] & 3; /* CBPR, EOImode */
    g->igrpen0 = v[6] & 1;
    g->igrpen1 = v[7] & 1;
    g->waker = 0; /* KVM's redistributors are always awake */
  }
  if (r)
    return vmk_err(err, r, "KVM could not read the vGIC's state: %s",
                   strerror(-r));
  return 0;
}

int vmk_kvm_load_gic(int gic_fd, unsigned ncpus, unsigned nr_spis,
                     const struct vmk_arch_state *st, vmk_error *err) {
  if (st->gicd.nr_spis > nr_spis || st->gicd.nr_spis > VMK_ARCH_MAX_SPIS)
    return vmk_err(err, -EINVAL,
                   "the snapshot's GIC has %u SPIs; this machine's has %u",
                   st->gicd.nr_spis, nr_spis);
  uint32_t ctlr;
  int r = gic_reg(gic_fd, false, -1, GICD_CTLR, &ctlr);
  ctlr = (ctlr & ~3u) | (st->gicd.ctlr & 3);
  if (!r)
    r = gic_reg(gic_fd, true, -1, GICD_CTLR, &ctlr);
  for (unsigned c = 0; c < ncpus && !r; c++) {
    const struct vmk_gic_cpu_state *g = &st->gicr[c];
    if ((r = bank_load(gic_fd, (int)c, 0, g->irq)))
      break;
    uint64_t kctlr;
    if ((r = icc(gic_fd, false, c, ICC_CTLR, &kctlr)))
      break;
    uint64_t v[8] = {g->pmr,     g->bpr0,   g->bpr1,
                     g->ap0r,    g->ap1r,   (kctlr & ~3ull) | (g->ctlr & 3),
                     g->igrpen0, g->igrpen1};
    const uint32_t regs[8] = {ICC_PMR,   ICC_BPR0, ICC_BPR1,    ICC_AP0R0,
                              ICC_AP1R0, ICC_CTLR, ICC_IGRPEN0, ICC_IGRPEN1};
    for (int k = 0; k < 8 && !r; k++)
      r = icc(gic_fd, true, c, regs[k], &v[k]);
  }
  for (unsigned n = 0; n < st->gicd.nr_spis && !r; n++) {
    uint64_t ir = st->gicd.irouter[n] & ((1ull << 31) | 0xff00ffffffull);
    uint32_t lo = (uint32_t)ir, hi = (uint32_t)(ir >> 32);
    if (!(r = gic_reg(gic_fd, true, -1, GICD_IROUTER + 8 * (32 + n), &lo)))
      r = gic_reg(gic_fd, true, -1, GICD_IROUTER + 8 * (32 + n) + 4, &hi);
  }
  for (unsigned f = 32; f < 32 + st->gicd.nr_spis && !r; f += 32)
    r = bank_load(gic_fd, -1, f, &st->gicd.spi[f - 32]);
  if (r)
    return vmk_err(err, r, "KVM refused the snapshot's vGIC state: %s",
                   strerror(-r));
  return 0;
}
