/* system.c — A64 system instructions: hints (NOP, YIELD, WFE, WFI, SEV,
 * SEVL and the rest of the hint space as NOP), barriers (CLREX, DSB, DMB,
 * ISB), MSR (immediate), SYS (DC ZVA, IC IVAU, DC C* as no-ops; the rest to
 * the environment, and these too when cpu->insn_traps says so), MRS/MSR
 * (register) for the EL0-visible registers; everything else goes to
 * env->sysreg_read/sysreg_write (system mode) or is undefined.
 *
 * Memory ordering: the host (x86-64) keeps loads and stores in order except
 * store->load, so DMB/DSB that order stores before loads need a full fence;
 * the LD/ST-only variants need only a compiler barrier.
 *
 * Runs on the CPU's thread; no shared state.
 */
#include <time.h>

#include "emu/decode.h"
#include "emu/mem.h"

/* System register encodings: op0:op1:CRn:CRm:op2 = bits [20:5]. */
#define SR(op0, op1, crn, crm, op2)                                            \
  ((op0) << 14 | (op1) << 11 | (crn) << 7 | (crm) << 3 | (op2))
#define SR_NZCV SR(3, 3, 4, 2, 0)
#define SR_FPCR SR(3, 3, 4, 4, 0)
#define SR_FPSR SR(3, 3, 4, 4, 1)
#define SR_TPIDR_EL0 SR(3, 3, 13, 0, 2)
#define SR_TPIDRRO_EL0 SR(3, 3, 13, 0, 3)
#define SR_CNTFRQ_EL0 SR(3, 3, 14, 0, 0)
#define SR_CNTPCT_EL0 SR(3, 3, 14, 0, 1)
#define SR_CNTVCT_EL0 SR(3, 3, 14, 0, 2)
#define SR_CTR_EL0 SR(3, 3, 0, 0, 1)
#define SR_DCZID_EL0 SR(3, 3, 0, 0, 7)
#define SR_MIDR_EL1 SR(3, 0, 0, 0, 0)
#define SYS_DC_ZVA SR(1, 3, 7, 4, 1)
#define SYS_IC_IVAU SR(1, 3, 7, 5, 1)
#define SYS_DC_CVAC SR(1, 3, 7, 10, 1)
#define SYS_DC_CVAU SR(1, 3, 7, 11, 1)
#define SYS_DC_CVAP SR(1, 3, 7, 12, 1)
#define SYS_DC_CIVAC SR(1, 3, 7, 14, 1)

#define EMU_CNTFRQ 62500000ull /* 62.5 MHz, as QEMU's virt machine */
#define EMU_CTR 0x8444c004ull  /* 64-byte lines, PIPT I-cache */
#define EMU_DCZID 4ull         /* DC ZVA block: 2^4 words = 64 bytes */
#define EMU_DCZ_BYTES 64u
#define EMU_MIDR 0x410fd034ull /* Cortex-A53 r0p4-like: plain v8.0 */
#define FPCR_MASK 0x07c00000u  /* AHP, DN, FZ, RMode (no traps, no FP16) */
#define FPSR_MASK 0x0800009fu  /* QC, IDC, IXC, UFC, OFC, DZC, IOC */

static uint64_t host_counter(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  /* ticks at 62.5 MHz = ns / 16 */
  return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) / 16;
}

static EMU_HANDLER(h_dmb_full) {
  (void)cpu;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return EMU_NEXT;
}
static EMU_HANDLER(h_barrier_compiler) {
  (void)cpu;
  __asm__ volatile("" ::: "memory");
  return EMU_NEXT;
}
static EMU_HANDLER(h_clrex) {
  cpu->excl_size = 0;
  return EMU_NEXT;
}
/* ISB: ends the block so later instructions are fetched anew. */
static EMU_HANDLER(h_isb) { return emu_chain(cpu, in, in->pc + 4); }
static EMU_HANDLER(h_wfi) {
  cpu->pc = in->pc + 4;
  emu_raise(cpu, NULL, EMU_EXIT_WFI, 0, 0);
}

static EMU_HANDLER(h_mrs_nzcv) {
  cpu->r[in->rd] = cpu->nzcv;
  return EMU_NEXT;
}
static EMU_HANDLER(h_msr_nzcv) {
  cpu->nzcv = (uint32_t)cpu->r[in->rd] & 0xf0000000u;
  return EMU_NEXT;
}
static EMU_HANDLER(h_mrs_fpcr) {
  cpu->r[in->rd] = cpu->fpcr;
  return EMU_NEXT;
}
static EMU_HANDLER(h_msr_fpcr) {
  cpu->fpcr = (uint32_t)cpu->r[in->rd] & FPCR_MASK;
  return EMU_NEXT;
}
static EMU_HANDLER(h_mrs_fpsr) {
  cpu->r[in->rd] = cpu->fpsr;
  return EMU_NEXT;
}
static EMU_HANDLER(h_msr_fpsr) {
  cpu->fpsr = (uint32_t)cpu->r[in->rd] & FPSR_MASK;
  return EMU_NEXT;
}
static EMU_HANDLER(h_mrs_tpidr) {
  cpu->r[in->rd] = cpu->tpidr_el0;
  return EMU_NEXT;
}
static EMU_HANDLER(h_msr_tpidr) {
  cpu->tpidr_el0 = cpu->r[in->rd];
  return EMU_NEXT;
}
static EMU_HANDLER(h_mrs_tpidrro) {
  cpu->r[in->rd] = cpu->tpidrro_el0;
  return EMU_NEXT;
}
/* Other registers: the environment first (system mode: counters with
 * offsets, EL1 registers), then the built-in EL0 set. imm = encoding. */
static EMU_HANDLER(h_mrs_other) {
  uint64_t v;
  uint32_t enc = (uint32_t)in->imm;
  if (cpu->env->sysreg_read) {
    /* System mode: the environment is the only authority (EL0 access
     * rules, traps); its "no" is an UNDEFINED or trapped access. */
    if (!cpu->env->sysreg_read(cpu, enc, &v))
      emu_raise(cpu, in, EMU_EXIT_UNDEF, in->raw, 0);
    cpu->r[in->rd] = v;
    return EMU_NEXT;
  }
  switch (enc) {
  case SR_CNTVCT_EL0:
  case SR_CNTPCT_EL0:
    v = host_counter();
    break;
  case SR_CNTFRQ_EL0:
    v = EMU_CNTFRQ;
    break;
  case SR_CTR_EL0:
    v = EMU_CTR;
    break;
  case SR_DCZID_EL0:
    v = EMU_DCZID;
    break;
  case SR_MIDR_EL1:
    v = EMU_MIDR;
    break;
  default:
    emu_raise(cpu, in, EMU_EXIT_UNDEF, in->raw, 0);
  }
  cpu->r[in->rd] = v;
  return EMU_NEXT;
}
/* MSR (register) to an environment register, MSR (immediate) and SYS
 * other than the cache maintenance handled here: ends the block, since
 * they may change translation or interrupt state. */
static EMU_HANDLER(h_msr_other) {
  uint32_t enc = (uint32_t)in->imm;
  uint64_t v = in->a ? in->imm2 : cpu->r[in->rd];
  if (!cpu->env->sysreg_write || !cpu->env->sysreg_write(cpu, enc, v))
    emu_raise(cpu, in, EMU_EXIT_UNDEF, in->raw, 0);
  return emu_chain(cpu, in, in->pc + 4);
}
/* SYS instructions that run inline unless cpu->insn_traps says the
 * current level may not use them: then the environment decides (system
 * mode: EL0 with SCTLR_EL1.DZE/UCI clear traps to EL1, EC 0x18). */
static void sys_insn_check(struct emu_cpu *cpu, const struct emu_insn *in) {
  if (cpu->env->sysreg_write &&
      !cpu->env->sysreg_write(cpu, (uint32_t)in->imm, cpu->r[in->rd]))
    emu_raise(cpu, in, EMU_EXIT_UNDEF, in->raw, 0);
}

static EMU_HANDLER(h_dc_zva) {
  if (EMU_UNLIKELY(cpu->insn_traps & EMU_TRAP_DC_ZVA))
    sys_insn_check(cpu, in);
  uint64_t va = cpu->r[in->rd] & ~(uint64_t)(EMU_DCZ_BYTES - 1);
  void *p = emu_host_range(cpu, in, va, EMU_DCZ_BYTES, EMU_WRITE);
  if (p) {
    memset(p, 0, EMU_DCZ_BYTES);
  } else {
    for (unsigned i = 0; i < EMU_DCZ_BYTES; i += 8)
      emu_st64(cpu, in, va + i, 0);
  }
  return EMU_NEXT;
}
/* DC CVAC/CVAU/CIVAC: memory is coherent, so only the EL0 access
 * check (SCTLR_EL1.UCI) remains; otherwise a compiler barrier. */
static EMU_HANDLER(h_dc_cmo) {
  if (EMU_UNLIKELY(cpu->insn_traps & EMU_TRAP_DC_CMO))
    sys_insn_check(cpu, in);
  __asm__ volatile("" ::: "memory");
  return EMU_NEXT;
}
/* DC CVAP (ARMv8.2 DPB): a no-op in user mode, as on the qemu-aarch64
 * CPU the differential tests compare with; in system mode the
 * environment decides (UNDEFINED there: the ID registers promise no DPB). */
static EMU_HANDLER(h_dc_cvap) {
  sys_insn_check(cpu, in);
  return EMU_NEXT;
}
/* IC IVAU: code at that address may have changed; drop translations (the
 * flush is deferred to the next block lookup) and end this block. */
static EMU_HANDLER(h_ic_ivau) {
  /* System mode: the environment checks EL0 access (SCTLR_EL1.UCI) and
   * broadcasts the invalidation to every vCPU, as IC IVAU does. */
  if (cpu->env->sysreg_write) {
    if (!cpu->env->sysreg_write(cpu, (uint32_t)in->imm, cpu->r[in->rd]))
      emu_raise(cpu, in, EMU_EXIT_UNDEF, in->raw, 0);
  } else { /* user mode: that page's code, when it is mapped */
    uint64_t va = cpu->r[in->rd];
    const struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
    if (e->tag_read == emu_tlb_tag(cpu, va))
      emu_code_invalidate_host(
          cpu, (const void *)(uintptr_t)((va & EMU_PAGE_MASK) + e->addend));
    else
      emu_flush_code(cpu);
  }
  return emu_chain(cpu, in, in->pc + 4);
}

int emu_dec_system(struct emu_insn *o, uint32_t raw) {
  unsigned l = bit(raw, 21), op0 = bits(raw, 20, 19), op1 = bits(raw, 18, 16);
  unsigned crn = bits(raw, 15, 12), crm = bits(raw, 11, 8);
  unsigned op2 = bits(raw, 7, 5), rt = bits(raw, 4, 0);
  uint32_t enc = bits(raw, 20, 5);
  o->imm = enc;
  if (op0 == 0) {
    if (l)
      return DEC_UNDEF;
    if (crn == 2 && rt == 31) { /* hints */
      unsigned h = crm << 3 | op2;
      if (h == 3) {
        o->fn = h_wfi;
        return DEC_END;
      }
      o->fn = emu_h_nop; /* NOP, YIELD, WFE, SEV, SEVL, others: NOP */
      return DEC_OK;
    }
    if (crn == 3 && rt == 31) { /* barriers */
      switch (op2) {
      case 2:
        o->fn = h_clrex;
        return DEC_OK;
      case 4:                     /* DSB */
      case 5: {                   /* DMB */
        unsigned types = crm & 3; /* 1: loads, 2: stores, 3: all */
        o->fn = types == 3 ? h_dmb_full : h_barrier_compiler;
        return DEC_OK;
      }
      case 6:
        o->fn = h_isb;
        return DEC_END;
      default:
        return DEC_UNDEF;
      }
    }
    if (crn == 4 && rt == 31) { /* MSR (immediate): PSTATE fields */
      o->a = 1;
      o->imm2 = crm;
      o->fn = h_msr_other;
      return DEC_END;
    }
    return DEC_UNDEF;
  }
  o->rd = l ? reg_dzr(rt) : reg_zr(rt);
  if (op0 == 1) { /* SYS / SYSL */
    if (l)
      return DEC_UNDEF;
    switch (enc) {
    case SYS_DC_ZVA:
      o->fn = h_dc_zva;
      return DEC_OK;
    case SYS_IC_IVAU:
      o->fn = h_ic_ivau;
      return DEC_END;
    case SYS_DC_CVAP:
      o->fn = h_dc_cvap;
      return DEC_OK;
    case SYS_DC_CVAC:
    case SYS_DC_CVAU:
    case SYS_DC_CIVAC:
      o->fn = h_dc_cmo;
      return DEC_OK;
    default:
      o->fn = h_msr_other;
      return DEC_END;
    }
  }
  (void)op1;
  (void)crn;
  (void)crm;
  if (l) { /* MRS */
    switch (enc) {
    case SR_NZCV:
      o->fn = h_mrs_nzcv;
      break;
    case SR_FPCR:
      o->fn = h_mrs_fpcr;
      break;
    case SR_FPSR:
      o->fn = h_mrs_fpsr;
      break;
    case SR_TPIDR_EL0:
      o->fn = h_mrs_tpidr;
      break;
    case SR_TPIDRRO_EL0:
      o->fn = h_mrs_tpidrro;
      break;
    default:
      o->fn = h_mrs_other;
      break;
    }
    return DEC_OK;
  }
  switch (enc) { /* MSR */
  case SR_NZCV:
    o->fn = h_msr_nzcv;
    return DEC_OK;
  case SR_FPCR:
    o->fn = h_msr_fpcr;
    return DEC_OK;
  case SR_FPSR:
    o->fn = h_msr_fpsr;
    return DEC_OK;
  case SR_TPIDR_EL0:
    o->fn = h_msr_tpidr;
    return DEC_OK;
  default:
    o->fn = h_msr_other;
    return DEC_END;
  }
}
