/* arch_state.h — a paused machine's CPU-side state in an engine-neutral,
 * architectural form: what every engine can produce and consume, so a
 * snapshot taken on one engine resumes on another (docs/snapshot.md).
 *
 * vCPU: the general registers, PC, PSTATE (in SPSR_EL1's layout), both
 * stack pointers, FP/SIMD, and the EL1/EL0 system registers as (encoding,
 * value) pairs with the encodings MRS uses (op0:op1:CRn:CRm:op2, the same
 * numbers KVM's KVM_REG_ARM64_SYSREG ids carry). The generic timer's
 * CNTV/CNTP CTL and CVAL are such registers; the counter itself is one
 * value for the VM. GICv3: distributor and redistributor state per INTID
 * and the ICC_* CPU interface per vCPU, as the registers present them.
 *
 * Plain data: filled and read on the VM's owner thread while the engine is
 * paused (or created and not started).
 */
#ifndef VMK_ENGINE_ARCH_STATE_H
#define VMK_ENGINE_ARCH_STATE_H

#include <stdbool.h>
#include <stdint.h>

#define VMK_ARCH_MAX_SYSREGS 96
#define VMK_ARCH_MAX_SPIS 256

/* MRS encoding of a system register (bits 15:0 = op0:op1:CRn:CRm:op2). */
#define VMK_SYSREG(op0, op1, crn, crm, op2)                                    \
  ((uint32_t)(op0) << 14 | (uint32_t)(op1) << 11 | (uint32_t)(crn) << 7 |      \
   (uint32_t)(crm) << 3 | (uint32_t)(op2))

/* PSCI power state of a vCPU (AFFINITY_INFO numbering). */
enum vmk_vcpu_power {
  VMK_VCPU_ON = 0,
  VMK_VCPU_OFF = 1,
  VMK_VCPU_ON_PENDING = 2, /* CPU_ON accepted, entry point in on_pc/on_ctx */
};

struct vmk_sysreg_val {
  uint32_t enc;
  uint64_t val;
};

struct vmk_vcpu_state {
  uint64_t x[31];
  uint64_t sp_el0, sp_el1, pc;
  uint64_t pstate;   /* NZCV, DAIF, IL, SS, M[3:0] as in SPSR_EL1 */
  uint64_t v[32][2]; /* V0..V31, low half first */
  uint32_t fpcr, fpsr;
  unsigned nsys;
  struct vmk_sysreg_val sys[VMK_ARCH_MAX_SYSREGS];
  uint32_t power; /* enum vmk_vcpu_power */
  uint64_t on_pc, on_ctx;
};

struct vmk_gic_irq_state {
  uint8_t priority; /* as GICx_IPRIORITYR shows it */
  uint8_t group;    /* 1: Group 1 */
  bool enabled, pending, active;
  bool edge;  /* GICx_ICFGR: edge-triggered */
  bool level; /* the input line */
};

struct vmk_gic_cpu_state {
  struct vmk_gic_irq_state irq[32]; /* SGIs and PPIs (redistributor) */
  uint32_t waker;                   /* GICR_WAKER */
  uint8_t pmr, bpr0, bpr1;          /* ICC_PMR/BPR0/BPR1_EL1 */
  uint32_t ap0r, ap1r;              /* ICC_AP0R0/AP1R0_EL1 */
  uint32_t ctlr;                    /* ICC_CTLR_EL1 (CBPR, EOImode) */
  bool igrpen0, igrpen1;
};

struct vmk_gic_state {
  uint32_t ctlr; /* GICD_CTLR: EnableGrp0/EnableGrp1 */
  unsigned nr_spis;
  struct vmk_gic_irq_state spi[VMK_ARCH_MAX_SPIS];
  uint64_t irouter[VMK_ARCH_MAX_SPIS]; /* GICD_IROUTER<n> */
};

struct vmk_arch_state {
  unsigned ncpus;
  struct vmk_vcpu_state *vcpu;    /* ncpus entries */
  struct vmk_gic_cpu_state *gicr; /* ncpus entries */
  struct vmk_gic_state gicd;
  uint64_t counter; /* CNTVCT_EL0 when the VM was paused */
  uint64_t cntfrq;
};

/* Allocates the per-vCPU arrays (zeroed); false when out of memory. */
bool vmk_arch_state_alloc(struct vmk_arch_state *st, unsigned ncpus);
void vmk_arch_state_free(struct vmk_arch_state *st);

/* Adds or replaces one system register of a vCPU; false when full. */
bool vmk_vcpu_set_sysreg(struct vmk_vcpu_state *v, uint32_t enc, uint64_t val);
/* The value of a register, or false when the state does not hold it. */
bool vmk_vcpu_get_sysreg(const struct vmk_vcpu_state *v, uint32_t enc,
                         uint64_t *val);

#endif
