/* sysregs.c — table-driven system registers of the emulated core (see
 * sysregs.h). Each entry maps an encoding to a field of struct
 * emu_sys_regs (with a writable-bits mask) or to handler functions, plus
 * its EL0 access rule. The table is sorted by encoding and bisected.
 *
 * The CPU model (what the ID registers promise):
 *   MIDR_EL1 0x000f0000: implementer 0x00 ("reserved for software use"),
 *     architecture 0xf, part 0, r0p0 — matches no real core, so Linux
 *     applies no errata workarounds.
 *   MPIDR_EL1: bit 31 RES1, U = 0, MT = 0, Aff0 = n % 16, Aff1 = n / 16
 *     (KVM's numbering: the device tree's cpu@ reg values are the same).
 *   ID_AA64PFR0_EL1: EL0/EL1 AArch64 only, no EL2/EL3, FP and AdvSIMD
 *     (field value 0), GIC system registers (1), CSV2 = CSV3 = 1 (true of
 *     an interpreter that never speculates; it spares the guest KPTI and
 *     branch-predictor hardening), nothing else.
 *   ID_AA64ISAR0_EL1: CRC32 only (no AES/SHA/LSE atomics/RDM/...).
 *   ID_AA64MMFR0_EL1: 48-bit PA, 16-bit ASIDs, 4K granule only.
 *   ID_AA64DFR0_EL1: debug v8.0, 6 breakpoints (the last 2 with context
 *     ID matching), 4 watchpoints (debug.c makes them fire), no PMU.
 *   MMFR1/2, ISAR1/2, PFR1, DFR1 and every AArch32 ID register: 0.
 *   CTR_EL0: 64-byte lines, PIPT I-cache, IDC = DIC = 0; DCZID_EL0 64 bytes.
 *
 * Threads: the vCPU thread owning the emu_sys. Values written by the guest
 * are masked to the bits we implement before they are stored.
 */
#include "emu/sys/sysregs.h"

#include <stddef.h>

#include "base/le.h"

#include "emu/sys/debug.h"
#include "emu/sys/exception.h"
#include "emu/sys/gicv3.h"
#include "emu/sys/timer.h"

/* EL0 access rules. */
enum el0 {
  EL0_NO,   /* UNDEFINED at EL0 */
  EL0_YES,  /* always */
  EL0_READ, /* reads only (writes UNDEFINED at EL0) */
  EL0_UMA,  /* SCTLR_EL1.UMA, else trap */
  EL0_UCT,  /* SCTLR_EL1.UCT, else trap */
  EL0_UCI,  /* SCTLR_EL1.UCI, else trap */
  EL0_DZE,  /* SCTLR_EL1.DZE, else trap */
  EL0_FRQ,  /* CNTKCTL_EL1.EL0PCTEN or EL0VCTEN, else trap */
  EL0_PCT,  /* CNTKCTL_EL1.EL0PCTEN, else trap */
  EL0_VCT,  /* CNTKCTL_EL1.EL0VCTEN, else trap */
  EL0_PT,   /* CNTKCTL_EL1.EL0PTEN, else trap */
  EL0_VT,   /* CNTKCTL_EL1.EL0VTEN, else trap */
  EL0_DCC,  /* MDSCR_EL1.TDCC clear, else trap */
};

#define F_RO 1u     /* writes UNDEFINED */
#define F_WO 2u     /* reads UNDEFINED */
#define F_FP 4u     /* subject to CPACR_EL1.FPEN */
#define F_REGIME 8u /* a write changes translation: tell the engine */
#define F_ASID 16u  /* a write changes the ASID / TTBR0 tables */

struct sysreg;
typedef bool (*rd_fn)(struct emu_sys *sys, const struct sysreg *r,
                      uint64_t *val);
typedef bool (*wr_fn)(struct emu_sys *sys, const struct sysreg *r,
                      uint64_t val);

struct sysreg {
  uint32_t enc;
  const char *name;
  uint8_t el0, flags;
  int16_t field;  /* offsetof(struct emu_sys_regs, x), -1: none */
  uint64_t value; /* field: writable mask; no field and no rd: constant */
  rd_fn rd;
  wr_fn wr;
};

static uint64_t *field_of(struct emu_sys *sys, const struct sysreg *r) {
  return (uint64_t *)((char *)&sys->regs + r->field);
}

/* ---- handlers ---- */

static bool rd_mpidr(struct emu_sys *sys, const struct sysreg *r, uint64_t *v) {
  (void)r;
  /* RES1 bit 31; U = 0 (multiprocessor), MT = 0; Aff1.Aff0 as the GIC. */
  *v = 1ull << 31 | emu_gicv3_affinity(sys->cpu_index);
  return true;
}

static bool rd_ccsidr(struct emu_sys *sys, const struct sysreg *r,
                      uint64_t *v) {
  (void)r;
  /* CSSELR 0 (L1 D) and 1 (L1 I): 32 KiB, 4-way, 64-byte lines. */
  if (sys->regs.csselr <= 1)
    *v = 127ull << 13 | 3ull << 3 | 2;
  else
    *v = 0;
  return true;
}

static bool rd_dczid(struct emu_sys *sys, const struct sysreg *r, uint64_t *v) {
  (void)r;
  bool prohibited = sys->el == 0 && !(sys->regs.sctlr & EMU_SCTLR_DZE);
  *v = EMU_DCZID_BS | (prohibited ? 1u << 4 : 0);
  return true;
}

static bool rd_nzcv(struct emu_sys *sys, const struct sysreg *r, uint64_t *v) {
  (void)r;
  *v = sys->cpu->nzcv & EMU_PSTATE_NZCV;
  return true;
}
static bool wr_nzcv(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  (void)r;
  sys->cpu->nzcv = (uint32_t)v & EMU_PSTATE_NZCV;
  return true;
}

static bool rd_daif(struct emu_sys *sys, const struct sysreg *r, uint64_t *v) {
  (void)r;
  *v = sys->daif;
  return true;
}
static bool wr_daif(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  (void)r;
  sys->daif = (uint32_t)v & EMU_PSTATE_DAIF;
  return true;
}

/* FPCR: AHP, DN, FZ, RMode (no FP exception trapping: enables RAZ/WI). */
static bool rd_fpcr(struct emu_sys *sys, const struct sysreg *r, uint64_t *v) {
  (void)r;
  *v = sys->cpu->fpcr;
  return true;
}
static bool wr_fpcr(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  (void)r;
  sys->cpu->fpcr = (uint32_t)v & 0x07c00000u;
  return true;
}
static bool rd_fpsr(struct emu_sys *sys, const struct sysreg *r, uint64_t *v) {
  (void)r;
  *v = sys->cpu->fpsr;
  return true;
}
static bool wr_fpsr(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  (void)r;
  sys->cpu->fpsr = (uint32_t)v & 0x0800009fu; /* QC, IDC, IXC..IOC */
  return true;
}

static bool rd_tpidr0(struct emu_sys *sys, const struct sysreg *r,
                      uint64_t *v) {
  (void)r;
  *v = sys->cpu->tpidr_el0;
  return true;
}
static bool wr_tpidr0(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  (void)r;
  sys->cpu->tpidr_el0 = v;
  return true;
}
static bool rd_tpidrro0(struct emu_sys *sys, const struct sysreg *r,
                        uint64_t *v) {
  (void)r;
  *v = sys->cpu->tpidrro_el0;
  return true;
}
static bool wr_tpidrro0(struct emu_sys *sys, const struct sysreg *r,
                        uint64_t v) {
  (void)r;
  sys->cpu->tpidrro_el0 = v;
  return true;
}

/* SP_EL0 is UNDEFINED while it is the stack pointer in use. */
static bool rd_sp_el0(struct emu_sys *sys, const struct sysreg *r,
                      uint64_t *v) {
  (void)r;
  if (!sys->spsel)
    return false;
  *v = sys->sp_el0;
  return true;
}
static bool wr_sp_el0(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  (void)r;
  if (!sys->spsel)
    return false;
  sys->sp_el0 = v;
  return true;
}

static bool rd_spsel(struct emu_sys *sys, const struct sysreg *r, uint64_t *v) {
  (void)r;
  *v = sys->spsel;
  return true;
}
static bool wr_spsel(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  (void)r;
  emu_sys_set_el_sp(sys, sys->el, v & 1);
  return true;
}

static bool rd_currentel(struct emu_sys *sys, const struct sysreg *r,
                         uint64_t *v) {
  (void)r;
  *v = (uint64_t)sys->el << 2;
  return true;
}

static bool rd_isr(struct emu_sys *sys, const struct sysreg *r, uint64_t *v) {
  (void)r;
  *v = 0;
  if (sys->gic) {
    if (emu_gicv3_irq_line(sys->gic, sys->cpu_index))
      *v |= 1u << 7;
    if (emu_gicv3_fiq_line(sys->gic, sys->cpu_index))
      *v |= 1u << 6;
  }
  return true;
}

static bool wr_oslar(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  (void)r;
  sys->regs.oslsr = (sys->regs.oslsr & ~2ull) | ((v & 1) << 1);
  return true;
}

static bool wr_claimset(struct emu_sys *sys, const struct sysreg *r,
                        uint64_t v) {
  (void)r;
  sys->regs.dbgclaim |= v & 0xff;
  return true;
}
static bool wr_claimclr(struct emu_sys *sys, const struct sysreg *r,
                        uint64_t v) {
  (void)r;
  sys->regs.dbgclaim &= ~(v & 0xff);
  return true;
}
static bool rd_claim(struct emu_sys *sys, const struct sysreg *r, uint64_t *v) {
  (void)r;
  *v = sys->regs.dbgclaim;
  return true;
}

static bool rd_gic(struct emu_sys *sys, const struct sysreg *r, uint64_t *v) {
  return sys->gic && emu_gicv3_icc_read(sys->gic, sys->cpu_index, r->enc, v);
}
static bool wr_gic(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  return sys->gic && emu_gicv3_icc_write(sys->gic, sys->cpu_index, r->enc, v);
}

static bool rd_timer(struct emu_sys *sys, const struct sysreg *r, uint64_t *v) {
  return sys->timer && emu_timer_read(sys->timer, r->enc, v);
}
static bool wr_timer(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  return sys->timer && emu_timer_write(sys->timer, r->enc, v);
}

/* System instructions (write-only). */
static bool wr_nop(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  (void)sys, (void)r, (void)v;
  return true;
}

static bool wr_ic(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  /* IC IALLU is local; IALLUIS and IVAU reach every PE. */
  bool broadcast = r->enc != EMU_SYSREG(1, 0, 7, 5, 0);
  bool all = r->enc != EMU_SYSREG(1, 3, 7, 5, 1); /* not IVAU */
  if (sys->ops && sys->ops->ic_inval)
    sys->ops->ic_inval(sys->opaque, broadcast, all, v);
  return true;
}

static bool wr_at(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  struct emu_mmu_regs m;
  struct emu_mmu_walker w = emu_sys_walker(sys);
  struct emu_mmu_result res;
  unsigned op2 = r->enc & 7; /* 0 S1E1R, 1 S1E1W, 2 S1E0R, 3 S1E0W */
  emu_sys_mmu_regs(sys, &m);
  emu_mmu_translate(&m, &w, v, (op2 & 1) ? EMU_WRITE : EMU_READ,
                    op2 >= 2 ? 0 : 1, 0, &res);
  sys->regs.par = emu_mmu_par(&res);
  return true;
}

static bool wr_tlbi(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  struct emu_tlbi op = {0};
  unsigned op2 = r->enc & 7;
  op.broadcast = ((r->enc >> 3) & 15) == 3; /* CRm 3: Inner Shareable */
  op.last_level = op2 == 5 || op2 == 7;
  op.asid = (uint16_t)(v >> 48);
  if (!(sys->regs.tcr & (1ull << 36)))
    op.asid &= 0xff;
  /* Xt[43:0] = VA[55:12], sign-extended from VA bit 55. */
  op.va = (uint64_t)((int64_t)((v & 0xfffffffffffull) << 20) >> 8);
  switch (op2) {
  case 0:
    op.kind = EMU_TLBI_ALL;
    break;
  case 1:
  case 5:
    op.kind = EMU_TLBI_VA;
    break;
  case 2:
    op.kind = EMU_TLBI_ASID;
    break;
  default: /* 3, 7 */
    op.kind = EMU_TLBI_VA_ALLASID;
    break;
  }
  if (sys->ops && sys->ops->tlbi)
    sys->ops->tlbi(sys->opaque, &op);
  return true;
}

/* ---- the table (sorted by encoding) ---- */

#define R(n) EMU_SYSREG n
#define F(x) (int16_t) offsetof(struct emu_sys_regs, x)
#define CONST(op, name, val)                                                   \
  { R(op), name, EL0_NO, F_RO, -1, val, NULL, NULL }
#define FIELD(op, name, el0, flags, fld, mask)                                 \
  { R(op), name, el0, flags, F(fld), mask, NULL, NULL }
#define FUNC(op, name, el0, flags, rd, wr)                                     \
  { R(op), name, el0, flags, -1, 0, rd, wr }
#define GIC(op, name, flags) FUNC(op, name, EL0_NO, flags, rd_gic, wr_gic)
#define TIMER(op, name, el0, flags)                                            \
  FUNC(op, name, el0, flags, rd_timer, wr_timer)
#define SYSI(op, name, el0, wr) FUNC(op, name, el0, F_WO, NULL, wr)
/* Breakpoint n: DBGBVR (VA[63:2], or CONTEXTIDR in [31:0]) and DBGBCR (BT,
 * LBN, SSC, HMC, BAS, PMC, E); watchpoint n: DBGWVR (VA[63:2]) and DBGWCR
 * (MASK, WT, LBN, SSC, HMC, BAS, LSC, PAC, E). Other bits are RES0. */
#define BP(n)                                                                  \
  FIELD((2, 0, 0, n, 4), "DBGBVR" #n "_EL1", EL0_NO, 0, dbgbvr[n],             \
        n >= 4 ? ~0ull : ~3ull), /* 4, 5: [1:0] of a context ID too */         \
      FIELD((2, 0, 0, n, 5), "DBGBCR" #n "_EL1", EL0_NO, 0, dbgbcr[n],         \
            0x00ffe1e7)
#define WP(n)                                                                  \
  FIELD((2, 0, 0, n, 6), "DBGWVR" #n "_EL1", EL0_NO, 0, dbgwvr[n], ~3ull),     \
      FIELD((2, 0, 0, n, 7), "DBGWCR" #n "_EL1", EL0_NO, 0, dbgwcr[n],         \
            0x1f1fffff)

/* SCTLR_EL1 bits we store: M A C SA SA0 CP15BEN ITD SED UMA I DZE UCT nTWI
 * nTWE WXN UCI (EE/E0E RES0: little-endian only) + the RES1 bits. */
#define SCTLR_RW 0x040dd3bfull
#define SCTLR_RES1 0x30d00800ull

static bool wr_sctlr(struct emu_sys *sys, const struct sysreg *r, uint64_t v) {
  (void)r;
  sys->regs.sctlr = (v & SCTLR_RW) | SCTLR_RES1;
  emu_sys_sync_core(sys); /* DZE, UCI */
  return true;
}
static bool rd_sctlr(struct emu_sys *sys, const struct sysreg *r, uint64_t *v) {
  (void)r;
  *v = sys->regs.sctlr;
  return true;
}

/* TCR_EL1 fields of ARMv8.0: bits 0..38 without RES0 bits 6 and 35. */
#define TCR_RW (((1ull << 39) - 1) & ~(1ull << 6) & ~(1ull << 35))

static const struct sysreg table[] = {
    /* op0 = 0: MSR (immediate) is handled before the lookup. */
    /* op0 = 1: system instructions */
    SYSI((1, 0, 7, 1, 0), "IC IALLUIS", EL0_NO, wr_ic),
    SYSI((1, 0, 7, 5, 0), "IC IALLU", EL0_NO, wr_ic),
    SYSI((1, 0, 7, 6, 1), "DC IVAC", EL0_NO, wr_nop),
    SYSI((1, 0, 7, 6, 2), "DC ISW", EL0_NO, wr_nop),
    SYSI((1, 0, 7, 8, 0), "AT S1E1R", EL0_NO, wr_at),
    SYSI((1, 0, 7, 8, 1), "AT S1E1W", EL0_NO, wr_at),
    SYSI((1, 0, 7, 8, 2), "AT S1E0R", EL0_NO, wr_at),
    SYSI((1, 0, 7, 8, 3), "AT S1E0W", EL0_NO, wr_at),
    SYSI((1, 0, 7, 10, 2), "DC CSW", EL0_NO, wr_nop),
    SYSI((1, 0, 7, 14, 2), "DC CISW", EL0_NO, wr_nop),
    SYSI((1, 0, 8, 3, 0), "TLBI VMALLE1IS", EL0_NO, wr_tlbi),
    SYSI((1, 0, 8, 3, 1), "TLBI VAE1IS", EL0_NO, wr_tlbi),
    SYSI((1, 0, 8, 3, 2), "TLBI ASIDE1IS", EL0_NO, wr_tlbi),
    SYSI((1, 0, 8, 3, 3), "TLBI VAAE1IS", EL0_NO, wr_tlbi),
    SYSI((1, 0, 8, 3, 5), "TLBI VALE1IS", EL0_NO, wr_tlbi),
    SYSI((1, 0, 8, 3, 7), "TLBI VAALE1IS", EL0_NO, wr_tlbi),
    SYSI((1, 0, 8, 7, 0), "TLBI VMALLE1", EL0_NO, wr_tlbi),
    SYSI((1, 0, 8, 7, 1), "TLBI VAE1", EL0_NO, wr_tlbi),
    SYSI((1, 0, 8, 7, 2), "TLBI ASIDE1", EL0_NO, wr_tlbi),
    SYSI((1, 0, 8, 7, 3), "TLBI VAAE1", EL0_NO, wr_tlbi),
    SYSI((1, 0, 8, 7, 5), "TLBI VALE1", EL0_NO, wr_tlbi),
    SYSI((1, 0, 8, 7, 7), "TLBI VAALE1", EL0_NO, wr_tlbi),
    SYSI((1, 3, 7, 4, 1), "DC ZVA", EL0_DZE, wr_nop),
    SYSI((1, 3, 7, 5, 1), "IC IVAU", EL0_UCI, wr_ic),
    SYSI((1, 3, 7, 10, 1), "DC CVAC", EL0_UCI, wr_nop),
    SYSI((1, 3, 7, 11, 1), "DC CVAU", EL0_UCI, wr_nop),
    SYSI((1, 3, 7, 14, 1), "DC CIVAC", EL0_UCI, wr_nop),
    /* op0 = 2: debug */
    FUNC((2, 0, 0, 0, 2), "OSDTRRX_EL1", EL0_NO, 0, NULL, NULL),
    BP(0),
    WP(0),
    BP(1),
    WP(1),
    FIELD((2, 0, 0, 2, 0), "MDCCINT_EL1", EL0_NO, 0, mdccint,
          1ull << 29 | 1ull << 30),
    /* SS, ERR, TDCC, KDE, HDE, MDE, INTdis */
    FIELD((2, 0, 0, 2, 2), "MDSCR_EL1", EL0_NO, 0, mdscr, 0x00c0f041ull),
    BP(2),
    WP(2),
    FUNC((2, 0, 0, 3, 2), "OSDTRTX_EL1", EL0_NO, 0, NULL, NULL),
    BP(3),
    WP(3),
    BP(4),
    BP(5),
    FUNC((2, 0, 0, 6, 2), "OSECCR_EL1", EL0_NO, 0, NULL, NULL),
    CONST((2, 0, 1, 0, 0), "MDRAR_EL1", 0),
    FUNC((2, 0, 1, 0, 4), "OSLAR_EL1", EL0_NO, F_WO, NULL, wr_oslar),
    FIELD((2, 0, 1, 1, 4), "OSLSR_EL1", EL0_NO, F_RO, oslsr, 0),
    FIELD((2, 0, 1, 3, 4), "OSDLR_EL1", EL0_NO, 0, osdlr, 1),
    FIELD((2, 0, 1, 4, 4), "DBGPRCR_EL1", EL0_NO, 0, dbgprcr, 1),
    FUNC((2, 0, 7, 8, 6), "DBGCLAIMSET_EL1", EL0_NO, 0, rd_claim, wr_claimset),
    FUNC((2, 0, 7, 9, 6), "DBGCLAIMCLR_EL1", EL0_NO, 0, rd_claim, wr_claimclr),
    CONST((2, 0, 7, 14, 6), "DBGAUTHSTATUS_EL1", 0),
    FUNC((2, 3, 0, 1, 0), "MDCCSR_EL0", EL0_DCC, F_RO, NULL, NULL),
    FUNC((2, 3, 0, 4, 0), "DBGDTR_EL0", EL0_DCC, 0, NULL, NULL),
    FUNC((2, 3, 0, 5, 0), "DBGDTRRX_EL0", EL0_DCC, 0, NULL, NULL),
    /* op0 = 3 */
    CONST((3, 0, 0, 0, 0), "MIDR_EL1", EMU_MIDR_EL1),
    FUNC((3, 0, 0, 0, 5), "MPIDR_EL1", EL0_NO, F_RO, rd_mpidr, NULL),
    CONST((3, 0, 0, 0, 6), "REVIDR_EL1", 0),
    CONST((3, 0, 0, 4, 0), "ID_AA64PFR0_EL1", EMU_ID_AA64PFR0_EL1),
    CONST((3, 0, 0, 5, 0), "ID_AA64DFR0_EL1", EMU_ID_AA64DFR0_EL1),
    CONST((3, 0, 0, 6, 0), "ID_AA64ISAR0_EL1", EMU_ID_AA64ISAR0_EL1),
    CONST((3, 0, 0, 7, 0), "ID_AA64MMFR0_EL1", EMU_ID_AA64MMFR0_EL1),
    FUNC((3, 0, 1, 0, 0), "SCTLR_EL1", EL0_NO, F_REGIME, rd_sctlr, wr_sctlr),
    FIELD((3, 0, 1, 0, 1), "ACTLR_EL1", EL0_NO, 0, actlr, 0),
    FIELD((3, 0, 1, 0, 2), "CPACR_EL1", EL0_NO, 0, cpacr, 3ull << 20),
    FIELD((3, 0, 2, 0, 0), "TTBR0_EL1", EL0_NO, F_ASID, ttbr0, ~0ull),
    FIELD((3, 0, 2, 0, 1), "TTBR1_EL1", EL0_NO, F_ASID, ttbr1, ~0ull),
    FIELD((3, 0, 2, 0, 2), "TCR_EL1", EL0_NO, F_REGIME, tcr, TCR_RW),
    FIELD((3, 0, 4, 0, 0), "SPSR_EL1", EL0_NO, 0, spsr, 0xf03003dfull),
    FIELD((3, 0, 4, 0, 1), "ELR_EL1", EL0_NO, 0, elr, ~0ull),
    FUNC((3, 0, 4, 1, 0), "SP_EL0", EL0_NO, 0, rd_sp_el0, wr_sp_el0),
    FUNC((3, 0, 4, 2, 0), "SPSel", EL0_NO, 0, rd_spsel, wr_spsel),
    FUNC((3, 0, 4, 2, 2), "CurrentEL", EL0_NO, F_RO, rd_currentel, NULL),
    GIC((3, 0, 4, 6, 0), "ICC_PMR_EL1", 0),
    FIELD((3, 0, 5, 1, 0), "AFSR0_EL1", EL0_NO, 0, afsr0, 0),
    FIELD((3, 0, 5, 1, 1), "AFSR1_EL1", EL0_NO, 0, afsr1, 0),
    FIELD((3, 0, 5, 2, 0), "ESR_EL1", EL0_NO, 0, esr, 0xffffffffull),
    FIELD((3, 0, 6, 0, 0), "FAR_EL1", EL0_NO, 0, far, ~0ull),
    FIELD((3, 0, 7, 4, 0), "PAR_EL1", EL0_NO, 0, par, ~0ull),
    FIELD((3, 0, 10, 2, 0), "MAIR_EL1", EL0_NO, F_REGIME, mair, ~0ull),
    FIELD((3, 0, 10, 3, 0), "AMAIR_EL1", EL0_NO, 0, amair, ~0ull),
    FIELD((3, 0, 12, 0, 0), "VBAR_EL1", EL0_NO, 0, vbar, ~0x7ffull),
    FUNC((3, 0, 12, 1, 0), "ISR_EL1", EL0_NO, F_RO, rd_isr, NULL),
    GIC((3, 0, 12, 8, 0), "ICC_IAR0_EL1", F_RO),
    GIC((3, 0, 12, 8, 1), "ICC_EOIR0_EL1", F_WO),
    GIC((3, 0, 12, 8, 2), "ICC_HPPIR0_EL1", F_RO),
    GIC((3, 0, 12, 8, 3), "ICC_BPR0_EL1", 0),
    GIC((3, 0, 12, 8, 4), "ICC_AP0R0_EL1", 0),
    GIC((3, 0, 12, 8, 5), "ICC_AP0R1_EL1", 0),
    GIC((3, 0, 12, 8, 6), "ICC_AP0R2_EL1", 0),
    GIC((3, 0, 12, 8, 7), "ICC_AP0R3_EL1", 0),
    GIC((3, 0, 12, 9, 0), "ICC_AP1R0_EL1", 0),
    GIC((3, 0, 12, 9, 1), "ICC_AP1R1_EL1", 0),
    GIC((3, 0, 12, 9, 2), "ICC_AP1R2_EL1", 0),
    GIC((3, 0, 12, 9, 3), "ICC_AP1R3_EL1", 0),
    GIC((3, 0, 12, 11, 1), "ICC_DIR_EL1", F_WO),
    GIC((3, 0, 12, 11, 3), "ICC_RPR_EL1", F_RO),
    GIC((3, 0, 12, 11, 5), "ICC_SGI1R_EL1", F_WO),
    GIC((3, 0, 12, 11, 6), "ICC_ASGI1R_EL1", F_WO),
    GIC((3, 0, 12, 11, 7), "ICC_SGI0R_EL1", F_WO),
    GIC((3, 0, 12, 12, 0), "ICC_IAR1_EL1", F_RO),
    GIC((3, 0, 12, 12, 1), "ICC_EOIR1_EL1", F_WO),
    GIC((3, 0, 12, 12, 2), "ICC_HPPIR1_EL1", F_RO),
    GIC((3, 0, 12, 12, 3), "ICC_BPR1_EL1", 0),
    GIC((3, 0, 12, 12, 4), "ICC_CTLR_EL1", 0),
    GIC((3, 0, 12, 12, 5), "ICC_SRE_EL1", 0),
    GIC((3, 0, 12, 12, 6), "ICC_IGRPEN0_EL1", 0),
    GIC((3, 0, 12, 12, 7), "ICC_IGRPEN1_EL1", 0),
    FIELD((3, 0, 13, 0, 1), "CONTEXTIDR_EL1", EL0_NO, 0, contextidr,
          0xffffffffull),
    FIELD((3, 0, 13, 0, 4), "TPIDR_EL1", EL0_NO, 0, tpidr_el1, ~0ull),
    FIELD((3, 0, 14, 1, 0), "CNTKCTL_EL1", EL0_NO, 0, cntkctl, 0x3ff),
    FUNC((3, 1, 0, 0, 0), "CCSIDR_EL1", EL0_NO, F_RO, rd_ccsidr, NULL),
    CONST((3, 1, 0, 0, 1), "CLIDR_EL1", 0x09200003ull),
    CONST((3, 1, 0, 0, 7), "AIDR_EL1", 0),
    FIELD((3, 2, 0, 0, 0), "CSSELR_EL1", EL0_NO, 0, csselr, 0xf),
    {R((3, 3, 0, 0, 1)), "CTR_EL0", EL0_UCT, F_RO, -1, EMU_CTR_EL0, NULL, NULL},
    FUNC((3, 3, 0, 0, 7), "DCZID_EL0", EL0_READ, F_RO, rd_dczid, NULL),
    FUNC((3, 3, 4, 2, 0), "NZCV", EL0_YES, 0, rd_nzcv, wr_nzcv),
    FUNC((3, 3, 4, 2, 1), "DAIF", EL0_UMA, 0, rd_daif, wr_daif),
    FUNC((3, 3, 4, 4, 0), "FPCR", EL0_YES, F_FP, rd_fpcr, wr_fpcr),
    FUNC((3, 3, 4, 4, 1), "FPSR", EL0_YES, F_FP, rd_fpsr, wr_fpsr),
    FUNC((3, 3, 13, 0, 2), "TPIDR_EL0", EL0_YES, 0, rd_tpidr0, wr_tpidr0),
    FUNC((3, 3, 13, 0, 3), "TPIDRRO_EL0", EL0_READ, 0, rd_tpidrro0,
         wr_tpidrro0),
    TIMER((3, 3, 14, 0, 0), "CNTFRQ_EL0", EL0_FRQ, 0),
    TIMER((3, 3, 14, 0, 1), "CNTPCT_EL0", EL0_PCT, F_RO),
    TIMER((3, 3, 14, 0, 2), "CNTVCT_EL0", EL0_VCT, F_RO),
    TIMER((3, 3, 14, 2, 0), "CNTP_TVAL_EL0", EL0_PT, 0),
    TIMER((3, 3, 14, 2, 1), "CNTP_CTL_EL0", EL0_PT, 0),
    TIMER((3, 3, 14, 2, 2), "CNTP_CVAL_EL0", EL0_PT, 0),
    TIMER((3, 3, 14, 3, 0), "CNTV_TVAL_EL0", EL0_VT, 0),
    TIMER((3, 3, 14, 3, 1), "CNTV_CTL_EL0", EL0_VT, 0),
    TIMER((3, 3, 14, 3, 2), "CNTV_CVAL_EL0", EL0_VT, 0),
};

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))

bool emu_sysreg_table_sorted(void) {
  for (size_t i = 1; i < TABLE_LEN; i++)
    if (table[i - 1].enc >= table[i].enc)
      return false;
  return true;
}

static const struct sysreg *lookup(uint32_t enc) {
  size_t lo = 0, hi = TABLE_LEN;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (table[mid].enc == enc)
      return &table[mid];
    if (table[mid].enc < enc)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* The rest of the ID register space (op0 3, op1 0, CRn 0, CRm 1..7):
 * AArch32 ID registers and unallocated IDs read as zero at EL1. */
static bool is_id_space(uint32_t enc) {
  unsigned crm = (enc >> 3) & 15;
  return (enc & ~0x7fu) == EMU_SYSREG(3, 0, 0, 0, 0) && crm >= 1 && crm <= 7;
}

const char *emu_sysreg_name(uint32_t enc) {
  const struct sysreg *r = lookup(enc);
  return r ? r->name : NULL;
}

void emu_sys_mmu_regs(const struct emu_sys *sys, struct emu_mmu_regs *out) {
  out->sctlr = sys->regs.sctlr;
  out->tcr = sys->regs.tcr;
  out->ttbr0 = sys->regs.ttbr0;
  out->ttbr1 = sys->regs.ttbr1;
  out->mair = sys->regs.mair;
}

/* Table walks read guest RAM directly when the engine gives no reader. */
static bool ram_read64(void *opaque, uint64_t pa, uint64_t *val) {
  const struct vmk_guest_mem *ram = opaque;
  const void *p = ram ? vmk_gm_ptr(ram, pa, 8) : NULL;
  if (!p)
    return false;
  *val = vmk_le64(p);
  return true;
}

struct emu_mmu_walker emu_sys_walker(const struct emu_sys *sys) {
  struct emu_mmu_walker w = {ram_read64, (void *)sys->ram};
  if (sys->ops && sys->ops->phys_read64) {
    w.read64 = sys->ops->phys_read64;
    w.opaque = sys->opaque;
  }
  return w;
}

/* EL0 access decision for r: OK, UNDEF or TRAP. */
static enum emu_sysreg_result el0_check(const struct emu_sys *sys,
                                        const struct sysreg *r, bool write) {
  uint64_t sctlr = sys->regs.sctlr, k = sys->regs.cntkctl;
  bool ok;
  switch (r->el0) {
  case EL0_NO:
    return EMU_SYSREG_UNDEF;
  case EL0_YES:
    return EMU_SYSREG_OK;
  case EL0_READ:
    return write ? EMU_SYSREG_UNDEF : EMU_SYSREG_OK;
  case EL0_UMA:
    ok = sctlr & EMU_SCTLR_UMA;
    break;
  case EL0_UCT:
    ok = sctlr & EMU_SCTLR_UCT;
    break;
  case EL0_UCI:
    ok = sctlr & EMU_SCTLR_UCI;
    break;
  case EL0_DZE:
    ok = sctlr & EMU_SCTLR_DZE;
    break;
  case EL0_FRQ:
    if (write)
      return EMU_SYSREG_UNDEF; /* only the highest EL may write CNTFRQ */
    ok = k & 3;
    break;
  case EL0_PCT:
    ok = k & 1;
    break;
  case EL0_VCT:
    ok = k & 2;
    break;
  case EL0_VT:
    ok = k & (1u << 8);
    break;
  case EL0_PT:
    ok = k & (1u << 9);
    break;
  case EL0_DCC:
    ok = !(sys->regs.mdscr & (1u << 12));
    break;
  default:
    return EMU_SYSREG_UNDEF;
  }
  return ok ? EMU_SYSREG_OK : EMU_SYSREG_TRAP;
}

enum emu_sysreg_result emu_sysreg_read(struct emu_sys *sys, uint32_t enc,
                                       uint64_t *val) {
  const struct sysreg *r = lookup(enc);
  if (!r) {
    if (is_id_space(enc) && sys->el >= 1) {
      *val = 0;
      return EMU_SYSREG_OK;
    }
    return EMU_SYSREG_UNDEF;
  }
  if (r->flags & F_WO || (enc >> 14) == 1)
    return EMU_SYSREG_UNDEF;
  if (sys->el == 0) {
    enum emu_sysreg_result e = el0_check(sys, r, false);
    if (e != EMU_SYSREG_OK)
      return e;
  }
  if ((r->flags & F_FP) && emu_sys_fp_trapped(sys))
    return EMU_SYSREG_FP_TRAP;
  if (r->rd)
    return r->rd(sys, r, val) ? EMU_SYSREG_OK : EMU_SYSREG_UNDEF;
  if (r->field >= 0)
    *val = *field_of(sys, r);
  else
    *val = r->value; /* constant, or RAZ */
  return EMU_SYSREG_OK;
}

/* MSR DAIFSet/DAIFClr/SPSel (immediate). */
static enum emu_sysreg_result msr_imm(struct emu_sys *sys, uint32_t enc) {
  unsigned op1 = (enc >> 11) & 7, crm = (enc >> 3) & 15, op2 = enc & 7;
  if (((enc >> 7) & 15) != 4)
    return EMU_SYSREG_UNDEF;
  if (op1 == 3 && (op2 == 6 || op2 == 7)) {
    if (sys->el == 0 && !(sys->regs.sctlr & EMU_SCTLR_UMA))
      return EMU_SYSREG_TRAP;
    if (op2 == 6)
      sys->daif |= crm << 6;
    else
      sys->daif &= ~(crm << 6);
    emu_dbg_update_step(sys); /* PSTATE.D */
    return EMU_SYSREG_OK;
  }
  if (op1 == 0 && op2 == 5 && sys->el) {
    emu_sys_set_el_sp(sys, sys->el, crm & 1);
    return EMU_SYSREG_OK;
  }
  /* PAN, UAO, DIT, SSBS, ...: not implemented. */
  return EMU_SYSREG_UNDEF;
}

enum emu_sysreg_result emu_sysreg_write(struct emu_sys *sys, uint32_t enc,
                                        uint64_t val) {
  if ((enc >> 14) == 0)
    return msr_imm(sys, enc);
  const struct sysreg *r = lookup(enc);
  if (!r || (r->flags & F_RO))
    return EMU_SYSREG_UNDEF;
  if (sys->el == 0) {
    enum emu_sysreg_result e = el0_check(sys, r, true);
    if (e != EMU_SYSREG_OK)
      return e;
  }
  if ((r->flags & F_FP) && emu_sys_fp_trapped(sys))
    return EMU_SYSREG_FP_TRAP;
  if (r->wr) {
    if (!r->wr(sys, r, val))
      return EMU_SYSREG_UNDEF;
  } else if (r->field >= 0) {
    uint64_t *f = field_of(sys, r);
    *f = val & r->value;
  } /* else: write-ignored (RAZ/WI register) */
  if ((r->flags & (F_REGIME | F_ASID)) && sys->ops && sys->ops->regime_changed)
    sys->ops->regime_changed(sys->opaque, (r->flags & F_ASID)
                                              ? EMU_REGIME_ASID
                                              : EMU_REGIME_TRANSLATION);
  /* Debug registers (op0 = 2) may arm or disarm breakpoints, watchpoints
   * and step; DAIF (PSTATE.D) only step. */
  if ((enc >> 14) == 2)
    emu_dbg_update(sys);
  else
    emu_dbg_update_step(sys);
  return EMU_SYSREG_OK;
}
