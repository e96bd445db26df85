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

EMU_SEM_NEXT(dmb_full) {
  (void)cpu;
  (void)in;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
EMU_SEM_NEXT(barrier_compiler) {
  (void)cpu;
  (void)in;
  __asm__ volatile("" ::: "memory");
}
EMU_SEM_NEXT(clrex) {
  (void)in;
  cpu->excl_size = 0;
}
/* ISB: ends the block so later instructions are fetched anew. */
EMU_SEM_END(isb) { cpu->pc = in->pc + 4; }
EMU_SEM_END(wfi) {
  cpu->pc = in->pc + 4;
  emu_raise(cpu, NULL, EMU_EXIT_WFI, 0, 0);
}

EMU_SEM_NEXT(mrs_nzcv) { cpu->r[in->rd] = cpu->nzcv; }
EMU_SEM_NEXT(msr_nzcv) { cpu->nzcv = (uint32_t)cpu->r[in->rd] & 0xf0000000u; }
EMU_SEM_NEXT(mrs_fpcr) { cpu->r[in->rd] = cpu->fpcr; }
EMU_SEM_NEXT(msr_fpcr) { cpu->fpcr = (uint32_t)cpu->r[in->rd] & FPCR_MASK; }
EMU_SEM_NEXT(mrs_fpsr) { cpu->r[in->rd] = cpu->fpsr; }
EMU_SEM_NEXT(msr_fpsr) { cpu->fpsr = (uint32_t)cpu->r[in->rd] & FPSR_MASK; }
EMU_SEM_NEXT(mrs_tpidr) { cpu->r[in->rd] = cpu->tpidr_el0; }
EMU_SEM_NEXT(msr_tpidr) { cpu->tpidr_el0 = cpu->r[in->rd]; }
EMU_SEM_NEXT(mrs_tpidrro) { cpu->r[in->rd] = cpu->tpidrro_el0; }
/* Other registers: the environment first (system mode: counters with
 * offsets, EL1 registers), then the built-in EL0 set. imm = encoding. */
EMU_SEM_NEXT(mrs_other) {
  uint64_t v;
  uint32_t enc = (uint32_t)in->imm;
  if (cpu->env->sysreg_read) {
    /* System mode: the environment is the only authority (EL0 access
     * rules, traps); its "no" is an UNDEFINED or trapped access. */
    if (!cpu->env->sysreg_read(cpu, enc, &v))
      emu_raise(cpu, in, EMU_EXIT_UNDEF, in->raw, 0);
    cpu->r[in->rd] = v;
    return;
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
}
/* MSR (register) to an environment register, MSR (immediate) and SYS
 * other than the cache maintenance handled here: ends the block, since
 * they may change translation or interrupt state. */
EMU_SEM_END(msr_other) {
  uint32_t enc = (uint32_t)in->imm;
  uint64_t v = in->a ? in->imm2 : cpu->r[in->rd];
  if (!cpu->env->sysreg_write || !cpu->env->sysreg_write(cpu, enc, v))
    emu_raise(cpu, in, EMU_EXIT_UNDEF, in->raw, 0);
  cpu->pc = in->pc + 4;
}
/* SYS instructions that run inline unless cpu->insn_traps says the
 * current level may not use them: then the environment decides (system
 * mode: EL0 with SCTLR_EL1.DZE/UCI clear traps to EL1, EC 0x18). */
static void sys_insn_check(struct emu_cpu *cpu, const struct emu_insn *in) {
  if (cpu->env->sysreg_write &&
      !cpu->env->sysreg_write(cpu, (uint32_t)in->imm, cpu->r[in->rd]))
    emu_raise(cpu, in, EMU_EXIT_UNDEF, in->raw, 0);
}

EMU_SEM_NEXT(dc_zva) {
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
}
/* DC CVAC/CVAU/CIVAC: memory is coherent, so only the EL0 access
 * check (SCTLR_EL1.UCI) remains; otherwise a compiler barrier. */
EMU_SEM_NEXT(dc_cmo) {
  if (EMU_UNLIKELY(cpu->insn_traps & EMU_TRAP_DC_CMO))
    sys_insn_check(cpu, in);
  __asm__ volatile("" ::: "memory");
}
/* DC CVAP (ARMv8.2 DPB): a no-op in user mode, as on the qemu-aarch64
 * CPU the differential tests compare with; in system mode the
 * environment decides (UNDEFINED there: the ID registers promise no DPB). */
EMU_SEM_NEXT(dc_cvap) { sys_insn_check(cpu, in); }
/* IC IVAU: code at that address may have changed; drop translations (the
 * flush is deferred to the next block lookup) and end this block. */
EMU_SEM_END(ic_ivau) {
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
  cpu->pc = in->pc + 4;
}

/* ---- decode function (patterns: isa/branch_sys.decode) ----
 * imm = op0:op1:CRn:CRm:op2 (the system register or SYS encoding);
 * rd = Rt (MRS: XSINK for XZR); MSR (immediate): a = 1, imm2 = CRm. */
int emu_dec_sys(struct emu_insn *o, const struct emu_args_sys *a) {
  o->imm = bits(o->raw, 20, 5);
  if (bits(o->raw, 20, 19) != 0)
    o->rd = bit(o->raw, 21) ? reg_dzr(a->rt) : reg_zr(a->rt);
  switch (o->op) {
  case EMU_OP_WFI:
    o->fn = h_wfi;
    return DEC_END;
  case EMU_OP_HINT: /* NOP, YIELD, WFE, SEV, SEVL, others: NOP */
    o->fn = emu_h_nop;
    return DEC_OK;
  case EMU_OP_CLREX:
    o->fn = h_clrex;
    return DEC_OK;
  case EMU_OP_DSB:
  case EMU_OP_DMB: /* CRm<1:0>: 1 loads, 2 stores, 3 all */
    o->fn = (a->crm & 3) == 3 ? h_dmb_full : h_barrier_compiler;
    return DEC_OK;
  case EMU_OP_ISB:
    o->fn = h_isb;
    return DEC_END;
  case EMU_OP_MSR_IMM: /* PSTATE fields */
    o->a = 1;
    o->imm2 = a->crm;
    o->fn = h_msr_other;
    return DEC_END;
  case EMU_OP_DC_ZVA:
    o->fn = h_dc_zva;
    return DEC_OK;
  case EMU_OP_IC_IVAU:
    o->fn = h_ic_ivau;
    return DEC_END;
  case EMU_OP_DC_CVAP:
    o->fn = h_dc_cvap;
    return DEC_OK;
  case EMU_OP_DC_CVAC:
  case EMU_OP_DC_CVAU:
  case EMU_OP_DC_CIVAC:
    o->fn = h_dc_cmo;
    return DEC_OK;
  case EMU_OP_MRS_NZCV:
    o->fn = h_mrs_nzcv;
    return DEC_OK;
  case EMU_OP_MRS_FPCR:
    o->fn = h_mrs_fpcr;
    return DEC_OK;
  case EMU_OP_MRS_FPSR:
    o->fn = h_mrs_fpsr;
    return DEC_OK;
  case EMU_OP_MRS_TPIDR:
    o->fn = h_mrs_tpidr;
    return DEC_OK;
  case EMU_OP_MRS_TPIDRRO:
    o->fn = h_mrs_tpidrro;
    return DEC_OK;
  case EMU_OP_MRS:
    o->fn = h_mrs_other;
    return DEC_OK;
  case EMU_OP_MSR_NZCV:
    o->fn = h_msr_nzcv;
    return DEC_OK;
  case EMU_OP_MSR_FPCR:
    o->fn = h_msr_fpcr;
    return DEC_OK;
  case EMU_OP_MSR_FPSR:
    o->fn = h_msr_fpsr;
    return DEC_OK;
  case EMU_OP_MSR_TPIDR:
    o->fn = h_msr_tpidr;
    return DEC_OK;
  default: /* SYS and MSR to other registers: the environment's */
    o->fn = h_msr_other;
    return DEC_END;
  }
}

/* ---- exec helper (emu_exec_helper[op]) ---- */

void emu_exec_sys(struct emu_cpu *cpu, const struct emu_insn *in) {
  switch (in->op) {
  case EMU_OP_WFI:
    e_wfi(cpu, in);
    break;
  case EMU_OP_HINT:
    break;
  case EMU_OP_CLREX:
    e_clrex(cpu, in);
    break;
  case EMU_OP_DSB:
  case EMU_OP_DMB:
    e_dmb_full(cpu, in); /* the strongest is always right */
    break;
  case EMU_OP_ISB:
    e_isb(cpu, in);
    break;
  case EMU_OP_DC_ZVA:
    e_dc_zva(cpu, in);
    break;
  case EMU_OP_IC_IVAU:
    e_ic_ivau(cpu, in);
    break;
  case EMU_OP_DC_CVAP:
    e_dc_cvap(cpu, in);
    break;
  case EMU_OP_DC_CVAC:
  case EMU_OP_DC_CVAU:
  case EMU_OP_DC_CIVAC:
    e_dc_cmo(cpu, in);
    break;
  case EMU_OP_MRS_NZCV:
    e_mrs_nzcv(cpu, in);
    break;
  case EMU_OP_MRS_FPCR:
    e_mrs_fpcr(cpu, in);
    break;
  case EMU_OP_MRS_FPSR:
    e_mrs_fpsr(cpu, in);
    break;
  case EMU_OP_MRS_TPIDR:
    e_mrs_tpidr(cpu, in);
    break;
  case EMU_OP_MRS_TPIDRRO:
    e_mrs_tpidrro(cpu, in);
    break;
  case EMU_OP_MRS:
    e_mrs_other(cpu, in);
    break;
  case EMU_OP_MSR_NZCV:
    e_msr_nzcv(cpu, in);
    break;
  case EMU_OP_MSR_FPCR:
    e_msr_fpcr(cpu, in);
    break;
  case EMU_OP_MSR_FPSR:
    e_msr_fpsr(cpu, in);
    break;
  case EMU_OP_MSR_TPIDR:
    e_msr_tpidr(cpu, in);
    break;
  default: /* MSR (immediate), SYS, MSR to other registers */
    e_msr_other(cpu, in);
    break;
  }
}
