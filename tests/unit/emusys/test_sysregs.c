/* test_sysregs.c — system register file: ID register values, storage and
 * write masks, UNDEFINED encodings, EL0 access rules and configurable traps,
 * CPACR FP traps, SP_EL0/SPSel/DAIF/CurrentEL, OS lock, AT into PAR_EL1,
 * TLBI/IC decoding, forwarding to the GIC and the timer.
 * Single-threaded test program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emu/sys/exception.h"
#include "emu/sys/gicv3.h"
#include "emu/sys/sysregs.h"
#include "emu/sys/timer.h"

#define S EMU_SYSREG
#define OK EMU_SYSREG_OK
#define UNDEF EMU_SYSREG_UNDEF
#define TRAP EMU_SYSREG_TRAP
#define FPTRAP EMU_SYSREG_FP_TRAP

#define SCTLR S(3, 0, 1, 0, 0)
#define TCR S(3, 0, 2, 0, 2)
#define TTBR0 S(3, 0, 2, 0, 0)
#define MAIR S(3, 0, 10, 2, 0)
#define VBAR S(3, 0, 12, 0, 0)
#define PAR S(3, 0, 7, 4, 0)
#define CPACR S(3, 0, 1, 0, 2)
#define CNTKCTL S(3, 0, 14, 1, 0)
#define FPCR S(3, 3, 4, 4, 0)
#define DAIF S(3, 3, 4, 2, 1)

#define RAM_SIZE (1u << 18)

struct fixture {
  struct emu_cpu cpu;
  struct emu_sys sys;
  uint64_t ram[RAM_SIZE / 8];
  unsigned regime_changes, asid_changes;
  struct emu_tlbi last_tlbi;
  unsigned tlbis, ic_local, ic_bcast;
  struct emu_gicv3 gic;
  struct emu_timer timer;
  uint64_t now;
};

static bool phys_read64(void *opaque, uint64_t pa, uint64_t *val) {
  struct fixture *f = opaque;
  if (pa >= RAM_SIZE)
    return false;
  *val = f->ram[pa / 8];
  return true;
}
static void tlbi(void *opaque, const struct emu_tlbi *op) {
  struct fixture *f = opaque;
  f->last_tlbi = *op;
  f->tlbis++;
}
static void ic_inval(void *opaque, bool broadcast, bool all, uint64_t va) {
  struct fixture *f = opaque;
  (void)all, (void)va;
  if (broadcast)
    f->ic_bcast++;
  else
    f->ic_local++;
}
static void regime_changed(void *opaque, enum emu_regime_change why) {
  struct fixture *f = opaque;
  assert_true(why == EMU_REGIME_TRANSLATION || why == EMU_REGIME_ASID);
  f->regime_changes++;
  if (why == EMU_REGIME_ASID)
    f->asid_changes++;
}
static uint64_t now_ns(void *opaque) { return ((struct fixture *)opaque)->now; }

static const struct emu_sys_ops ops = {phys_read64, tlbi, ic_inval,
                                       regime_changed};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  emu_sys_reset(&f->sys, &f->cpu, 3, &ops, f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  if (f->gic.cpu)
    emu_gicv3_destroy(&f->gic);
  free(f);
  return 0;
}

static uint64_t rd(struct fixture *f, uint32_t enc) {
  uint64_t v = 0xbad;
  assert_int_equal(emu_sysreg_read(&f->sys, enc, &v), OK);
  return v;
}
static void wr(struct fixture *f, uint32_t enc, uint64_t v) {
  assert_int_equal(emu_sysreg_write(&f->sys, enc, v), OK);
}
static enum emu_sysreg_result try_rd(struct fixture *f, uint32_t enc) {
  uint64_t v;
  return emu_sysreg_read(&f->sys, enc, &v);
}
static enum emu_sysreg_result try_wr(struct fixture *f, uint32_t enc,
                                     uint64_t v) {
  return emu_sysreg_write(&f->sys, enc, v);
}

static void test_table(void **state) {
  (void)state;
  assert_true(emu_sysreg_table_sorted());
  assert_string_equal(emu_sysreg_name(SCTLR), "SCTLR_EL1");
  assert_string_equal(emu_sysreg_name(S(3, 0, 12, 12, 0)), "ICC_IAR1_EL1");
  assert_null(emu_sysreg_name(S(3, 0, 15, 0, 0)));
}

static void test_id_registers(void **state) {
  struct fixture *f = *state;
  assert_int_equal(rd(f, S(3, 0, 0, 0, 0)), 0x000f0000);
  assert_int_equal(rd(f, S(3, 0, 0, 0, 5)), 0x80000003); /* MPIDR cpu 3 */
  assert_int_equal(rd(f, S(3, 0, 0, 0, 6)), 0);
  uint64_t pfr0 = rd(f, S(3, 0, 0, 4, 0));
  assert_int_equal(pfr0 & 0xf, 1);              /* EL0 AArch64 only */
  assert_int_equal((pfr0 >> 4) & 0xf, 1);       /* EL1 AArch64 only */
  assert_int_equal((pfr0 >> 8) & 0xff, 0);      /* no EL2, EL3 */
  assert_int_equal((pfr0 >> 16) & 0xff, 0);     /* FP, AdvSIMD implemented */
  assert_int_equal((pfr0 >> 24) & 0xf, 1);      /* GIC system registers */
  assert_int_equal((pfr0 >> 28) & 0xf, 0);      /* no RAS */
  assert_int_equal((pfr0 >> 32) & 0xffffff, 0); /* no SVE/SEL2/MPAM/AMU/DIT */
  assert_int_equal(pfr0 >> 56, 0x11);           /* CSV2, CSV3 */
  uint64_t isar0 = rd(f, S(3, 0, 0, 6, 0));
  assert_int_equal((isar0 >> 16) & 0xf, 1); /* CRC32 */
  assert_int_equal(isar0 & ~0xf0000ull, 0); /* no AES/SHA/LSE/RDM */
  uint64_t mmfr0 = rd(f, S(3, 0, 0, 7, 0));
  assert_int_equal(mmfr0 & 0xf, 5);           /* 48-bit PA */
  assert_int_equal((mmfr0 >> 4) & 0xf, 2);    /* 16-bit ASID */
  assert_int_equal((mmfr0 >> 28) & 0xf, 0);   /* 4K supported */
  assert_int_equal((mmfr0 >> 24) & 0xf, 0xf); /* no 64K */
  assert_int_equal((mmfr0 >> 20) & 0xf, 0);   /* no 16K */
  uint64_t dfr0 = rd(f, S(3, 0, 0, 5, 0));
  assert_int_equal(dfr0 & 0xf, 6);        /* debug v8.0 */
  assert_int_equal((dfr0 >> 8) & 0xf, 0); /* no PMU */
  /* Everything else in the ID space reads as zero. */
  static const uint32_t raz[] = {
      S(3, 0, 0, 1, 0), S(3, 0, 0, 2, 5), S(3, 0, 0, 3, 0), S(3, 0, 0, 4, 1),
      S(3, 0, 0, 4, 4), S(3, 0, 0, 5, 1), S(3, 0, 0, 6, 1), S(3, 0, 0, 6, 2),
      S(3, 0, 0, 7, 1), S(3, 0, 0, 7, 2), S(3, 0, 0, 7, 7)};
  for (unsigned i = 0; i < sizeof(raz) / sizeof(raz[0]); i++)
    assert_int_equal(rd(f, raz[i]), 0);
  assert_int_equal(rd(f, S(3, 3, 0, 0, 1)), 0x8444c004); /* CTR_EL0 */
  assert_int_equal(rd(f, S(3, 3, 0, 0, 7)), 4);          /* DCZID */
  assert_int_equal(rd(f, S(3, 1, 0, 0, 1)), 0x09200003); /* CLIDR */
  wr(f, S(3, 2, 0, 0, 0), 0);                            /* CSSELR L1D */
  uint64_t ccsidr = rd(f, S(3, 1, 0, 0, 0));
  assert_int_equal(16u << (ccsidr & 7), 64); /* line size */
  wr(f, S(3, 2, 0, 0, 0), 4);                /* level 3 D: not implemented */
  assert_int_equal(rd(f, S(3, 1, 0, 0, 0)), 0);
  /* ID registers are read-only. */
  assert_int_equal(try_wr(f, S(3, 0, 0, 0, 0), 1), UNDEF);
  assert_int_equal(try_wr(f, S(3, 0, 0, 4, 0), 1), UNDEF);
  assert_int_equal(try_wr(f, S(3, 0, 0, 1, 0), 1), UNDEF);
}

static void test_undefined(void **state) {
  struct fixture *f = *state;
  static const uint32_t undef[] = {
      S(3, 0, 15, 0, 0), S(3, 4, 4, 1, 0), /* SP_EL1: EL2 only */
      S(3, 0, 4, 2, 3),                    /* PAN: not implemented */
      S(3, 4, 1, 0, 0),                    /* SCTLR_EL2 */
      S(3, 3, 9, 12, 0),                   /* PMCR_EL0: no PMU */
      S(3, 0, 12, 1, 1),                   /* DISR_EL1: no RAS */
      S(3, 0, 2, 1, 0),                    /* APIAKeyLo: no PAuth */
      S(1, 3, 7, 12, 1),                   /* DC CVAP: no DPB */
  };
  for (unsigned i = 0; i < sizeof(undef) / sizeof(undef[0]); i++) {
    assert_int_equal(try_rd(f, undef[i]), UNDEF);
    assert_int_equal(try_wr(f, undef[i], 0), UNDEF);
  }
  /* Write-only and read-only registers. */
  assert_int_equal(try_rd(f, S(3, 0, 12, 12, 1)), UNDEF);  /* ICC_EOIR1 */
  assert_int_equal(try_wr(f, S(3, 0, 4, 2, 2), 0), UNDEF); /* CurrentEL */
  assert_int_equal(try_rd(f, S(2, 0, 1, 0, 4)), UNDEF);    /* OSLAR */
  assert_int_equal(try_wr(f, S(2, 0, 1, 1, 4), 0), UNDEF); /* OSLSR */
  assert_int_equal(try_rd(f, S(1, 0, 8, 7, 0)), UNDEF);    /* SYSL TLBI */
  /* MSR (immediate) fields we do not implement. */
  assert_int_equal(try_wr(f, S(0, 0, 4, 1, 4), 0), UNDEF); /* PAN */
  assert_int_equal(try_wr(f, S(0, 0, 4, 1, 3), 0), UNDEF); /* UAO */
  assert_int_equal(try_wr(f, S(0, 3, 4, 0, 1), 0), UNDEF); /* SSBS */
}

static void test_storage_and_masks(void **state) {
  struct fixture *f = *state;
  wr(f, SCTLR, 0);
  assert_int_equal(rd(f, SCTLR), 0x30d00800); /* RES1 */
  wr(f, SCTLR, ~0ull);
  uint64_t s = rd(f, SCTLR);
  assert_int_equal(s & (3ull << 24), 0); /* EE/E0E: little-endian only */
  assert_int_equal(s >> 32, 0);
  assert_int_equal(s & 1, 1);
  wr(f, TCR, ~0ull);
  assert_int_equal(rd(f, TCR), ((1ull << 39) - 1) & ~(1ull << 6 | 1ull << 35));
  wr(f, VBAR, 0xffff800008010fffull);
  assert_int_equal(rd(f, VBAR), 0xffff800008010800ull);
  wr(f, S(3, 0, 5, 2, 0), ~0ull); /* ESR_EL1: 32 bits in ARMv8.0 */
  assert_int_equal(rd(f, S(3, 0, 5, 2, 0)), 0xffffffffull);
  wr(f, S(3, 0, 6, 0, 0), 0x123456789abcdef0ull);
  assert_int_equal(f->sys.regs.far, 0x123456789abcdef0ull);
  wr(f, S(3, 0, 4, 0, 0), ~0ull); /* SPSR_EL1 */
  assert_int_equal(rd(f, S(3, 0, 4, 0, 0)), 0xf03003dfull);
  wr(f, S(3, 0, 13, 0, 4), 42); /* TPIDR_EL1 */
  assert_int_equal(f->sys.regs.tpidr_el1, 42);
  wr(f, CPACR, ~0ull);
  assert_int_equal(rd(f, CPACR), 3ull << 20);
  wr(f, S(3, 0, 1, 0, 1), ~0ull); /* ACTLR: RAZ/WI */
  assert_int_equal(rd(f, S(3, 0, 1, 0, 1)), 0);
  wr(f, S(2, 0, 0, 2, 2), ~0ull); /* MDSCR_EL1 */
  assert_int_equal(rd(f, S(2, 0, 0, 2, 2)) & (1u << 12), 1u << 12);
  /* Breakpoint/watchpoint registers exist for exactly the BRPs/WRPs that
   * ID_AA64DFR0_EL1 announces (fields hold count - 1). */
  uint64_t dfr0 = rd(f, S(3, 0, 0, 5, 0));
  unsigned brps = (unsigned)((dfr0 >> 12) & 15) + 1;
  unsigned wrps = (unsigned)((dfr0 >> 20) & 15) + 1;
  assert_int_equal(dfr0 & 15, 6); /* DebugVer: v8.0 */
  assert_int_equal(brps, 6);
  assert_int_equal(wrps, 4);
  assert_int_equal(((dfr0 >> 28) & 15) + 1, 2); /* CTX_CMPs */
  for (unsigned n = 0; n < 16; n++) {
    bool bp = n < brps, wp = n < wrps;
    assert_int_equal(try_rd(f, S(2, 0, 0, n, 4)) == UNDEF, !bp);
    assert_int_equal(try_rd(f, S(2, 0, 0, n, 5)) == UNDEF, !bp);
    assert_int_equal(try_rd(f, S(2, 0, 0, n, 6)) == UNDEF, !wp);
    assert_int_equal(try_rd(f, S(2, 0, 0, n, 7)) == UNDEF, !wp);
  }
  wr(f, S(2, 0, 0, 3, 4), 0x1003); /* DBGBVR3: bits [1:0] RES0 */
  assert_int_equal(rd(f, S(2, 0, 0, 3, 4)), 0x1000);
  wr(f, S(2, 0, 0, 5, 4), 0x1003); /* DBGBVR5 may hold a context ID */
  assert_int_equal(rd(f, S(2, 0, 0, 5, 4)), 0x1003);
  wr(f, S(2, 0, 0, 3, 7), ~0ull); /* DBGWCR3: RES0 bits 31:29, 23:21 */
  assert_int_equal(rd(f, S(2, 0, 0, 3, 7)), 0x1f1fffff);
  wr(f, S(2, 0, 0, 3, 7), 0);
  /* Only translation-related writes tell the engine. */
  f->regime_changes = 0;
  wr(f, VBAR, 0);
  wr(f, S(3, 0, 13, 0, 1), 5);
  assert_int_equal(f->regime_changes, 0);
  wr(f, SCTLR, 0x30d00801);
  wr(f, TCR, 0);
  wr(f, TTBR0, 0x1000);
  wr(f, S(3, 0, 2, 0, 1), 0x2000);
  wr(f, MAIR, 0xff);
  assert_int_equal(f->regime_changes, 5);
  assert_int_equal(f->asid_changes, 2); /* the TTBRs */
}

static void test_pstate_registers(void **state) {
  struct fixture *f = *state;
  assert_int_equal(rd(f, S(3, 0, 4, 2, 2)), 4); /* CurrentEL = EL1 */
  assert_int_equal(rd(f, S(3, 0, 4, 2, 0)), 1); /* SPSel */
  /* SP_EL0 from EL1h goes to the bank. */
  f->cpu.r[EMU_SP] = 0x1000;
  wr(f, S(3, 0, 4, 1, 0), 0x2000);
  assert_int_equal(rd(f, S(3, 0, 4, 1, 0)), 0x2000);
  assert_int_equal(f->cpu.r[EMU_SP], 0x1000);
  /* MSR SPSel, #0: now SP is SP_EL0, and SP_EL0 is UNDEFINED. */
  wr(f, S(0, 0, 4, 0, 5), 0);
  assert_int_equal(f->cpu.r[EMU_SP], 0x2000);
  assert_int_equal(try_rd(f, S(3, 0, 4, 1, 0)), UNDEF);
  assert_int_equal(try_wr(f, S(3, 0, 4, 1, 0), 0), UNDEF);
  wr(f, S(3, 0, 4, 2, 0), 1); /* MSR SPSel, x */
  assert_int_equal(f->cpu.r[EMU_SP], 0x1000);
  /* DAIF and its immediate forms. */
  wr(f, DAIF, 0);
  assert_int_equal(f->sys.daif, 0);
  wr(f, S(0, 3, 4, 2, 6), 0); /* DAIFSet #2 (I) */
  assert_int_equal(rd(f, DAIF), EMU_PSTATE_I);
  wr(f, S(0, 3, 4, 0xf, 6), 0); /* DAIFSet #0xf */
  assert_int_equal(rd(f, DAIF), 0x3c0);
  wr(f, S(0, 3, 4, 3, 7), 0); /* DAIFClr #3 (I, F) */
  assert_int_equal(rd(f, DAIF), EMU_PSTATE_D | EMU_PSTATE_A);
  wr(f, DAIF, ~0ull);
  assert_int_equal(rd(f, DAIF), 0x3c0);
  /* NZCV, FPCR, FPSR, TPIDR_EL0 live in struct emu_cpu. */
  wr(f, S(3, 3, 4, 2, 0), ~0ull);
  assert_int_equal(f->cpu.nzcv, 0xf0000000u);
  wr(f, CPACR, 3ull << 20);
  wr(f, FPCR, ~0ull);
  assert_int_equal(f->cpu.fpcr, 0x07c00000u);
  wr(f, S(3, 3, 4, 4, 1), ~0ull);
  assert_int_equal(f->cpu.fpsr, 0x0800009fu);
  wr(f, S(3, 3, 13, 0, 2), 7);
  assert_int_equal(f->cpu.tpidr_el0, 7);
  wr(f, S(3, 3, 13, 0, 3), 9); /* TPIDRRO_EL0 writable at EL1 */
  assert_int_equal(f->cpu.tpidrro_el0, 9);
}

static void test_fp_trap(void **state) {
  struct fixture *f = *state;
  wr(f, CPACR, 0); /* FPEN 00: trap EL0 and EL1 */
  assert_int_equal(try_rd(f, FPCR), FPTRAP);
  assert_int_equal(try_wr(f, FPCR, 0), FPTRAP);
  assert_true(emu_sys_fp_trapped(&f->sys));
  wr(f, CPACR, 1ull << 20); /* FPEN 01: trap EL0 only */
  assert_int_equal(try_rd(f, FPCR), OK);
  f->sys.el = 0;
  assert_int_equal(try_rd(f, FPCR), FPTRAP);
  assert_true(emu_sys_fp_trapped(&f->sys));
  f->sys.el = 1;
  wr(f, CPACR, 2ull << 20); /* FPEN 10: trap both */
  assert_int_equal(try_rd(f, FPCR), FPTRAP);
  wr(f, CPACR, 3ull << 20);
  f->sys.el = 0;
  assert_int_equal(try_rd(f, FPCR), OK);
  assert_false(emu_sys_fp_trapped(&f->sys));
}

static void test_el0_access(void **state) {
  struct fixture *f = *state;
  f->sys.el = 0;
  f->sys.spsel = 0;
  f->sys.daif = 0;
  /* EL1 registers are UNDEFINED at EL0 (not trapped). */
  static const uint32_t el1[] = {SCTLR,
                                 S(3, 0, 0, 0, 0),
                                 VBAR,
                                 S(3, 0, 12, 12, 0),
                                 S(3, 0, 4, 2, 2),
                                 S(3, 0, 4, 2, 0),
                                 S(3, 0, 4, 1, 0),
                                 S(3, 0, 0, 1, 0),
                                 CNTKCTL,
                                 S(3, 0, 13, 0, 4)};
  for (unsigned i = 0; i < sizeof(el1) / sizeof(el1[0]); i++) {
    assert_int_equal(try_rd(f, el1[i]), UNDEF);
    assert_int_equal(try_wr(f, el1[i], 0), UNDEF);
  }
  /* System instructions that are EL1-only. */
  assert_int_equal(try_wr(f, S(1, 0, 8, 7, 0), 0), UNDEF); /* TLBI */
  assert_int_equal(try_wr(f, S(1, 0, 7, 8, 0), 0), UNDEF); /* AT */
  assert_int_equal(try_wr(f, S(1, 0, 7, 6, 1), 0), UNDEF); /* DC IVAC */
  assert_int_equal(try_wr(f, S(1, 0, 7, 5, 0), 0), UNDEF); /* IC IALLU */
  assert_int_equal(try_wr(f, S(0, 0, 4, 0, 5), 0), UNDEF); /* SPSel imm */
  /* Always allowed. */
  assert_int_equal(try_wr(f, S(3, 3, 13, 0, 2), 5), OK);
  assert_int_equal(rd(f, S(3, 3, 13, 0, 2)), 5);
  assert_int_equal(try_rd(f, S(3, 3, 4, 2, 0)), OK);
  assert_int_equal(try_rd(f, S(3, 3, 13, 0, 3)), OK);       /* TPIDRRO */
  assert_int_equal(try_wr(f, S(3, 3, 13, 0, 3), 0), UNDEF); /* ... RO */
  /* SCTLR_EL1-controlled traps, reported as EC 0x18. */
  f->sys.regs.sctlr = 0x30d00801;
  assert_int_equal(try_rd(f, S(3, 3, 0, 0, 1)), TRAP); /* CTR: UCT */
  assert_int_equal(try_rd(f, DAIF), TRAP);             /* UMA */
  assert_int_equal(try_wr(f, S(0, 3, 4, 2, 6), 0), TRAP);
  assert_int_equal(try_wr(f, S(1, 3, 7, 4, 1), 0), TRAP);  /* DC ZVA */
  assert_int_equal(try_wr(f, S(1, 3, 7, 14, 1), 0), TRAP); /* DC CIVAC */
  assert_int_equal(try_wr(f, S(1, 3, 7, 5, 1), 0), TRAP);  /* IC IVAU */
  assert_int_equal(rd(f, S(3, 3, 0, 0, 7)), 0x14);         /* DCZID.DZP */
  f->sys.regs.sctlr |=
      EMU_SCTLR_UCT | EMU_SCTLR_UMA | EMU_SCTLR_DZE | EMU_SCTLR_UCI;
  assert_int_equal(rd(f, S(3, 3, 0, 0, 1)), 0x8444c004);
  assert_int_equal(try_wr(f, S(0, 3, 4, 2, 6), 0), OK);
  assert_int_equal(f->sys.daif, EMU_PSTATE_I);
  assert_int_equal(try_wr(f, S(1, 3, 7, 4, 1), 0), OK);
  assert_int_equal(try_wr(f, S(1, 3, 7, 14, 1), 0), OK);
  assert_int_equal(try_wr(f, S(1, 3, 7, 5, 1), 0), OK);
  assert_int_equal(rd(f, S(3, 3, 0, 0, 7)), 4);
  /* Timer registers by CNTKCTL_EL1 (a timer is attached). */
  emu_timer_init(&f->timer, now_ns, f, 0, NULL, NULL);
  f->sys.timer = &f->timer;
  f->now = 1600;
  static const uint32_t cnt[] = {S(3, 3, 14, 0, 0), S(3, 3, 14, 0, 1),
                                 S(3, 3, 14, 0, 2), S(3, 3, 14, 2, 1),
                                 S(3, 3, 14, 3, 1)};
  for (unsigned i = 0; i < 5; i++)
    assert_int_equal(try_rd(f, cnt[i]), TRAP);
  f->sys.regs.cntkctl = 2; /* EL0VCTEN: what Linux sets for the vDSO */
  assert_int_equal(rd(f, S(3, 3, 14, 0, 2)), 100);
  assert_int_equal(rd(f, S(3, 3, 14, 0, 0)), 62500000);
  assert_int_equal(try_wr(f, S(3, 3, 14, 0, 0), 1), UNDEF);
  assert_int_equal(try_rd(f, S(3, 3, 14, 0, 1)), TRAP);
  assert_int_equal(try_rd(f, S(3, 3, 14, 3, 1)), TRAP);
  f->sys.regs.cntkctl = 1 | 1u << 8 | 1u << 9;
  assert_int_equal(rd(f, S(3, 3, 14, 0, 1)), 100);
  assert_int_equal(try_wr(f, S(3, 3, 14, 3, 1), 1), OK);
  assert_int_equal(try_wr(f, S(3, 3, 14, 2, 1), 1), OK);
  /* Debug communications channel: MDSCR_EL1.TDCC. */
  assert_int_equal(try_rd(f, S(2, 3, 0, 1, 0)), OK);
  f->sys.regs.mdscr = 1u << 12;
  assert_int_equal(try_rd(f, S(2, 3, 0, 1, 0)), TRAP);
}

static void test_os_lock(void **state) {
  struct fixture *f = *state;
  assert_int_equal(rd(f, S(2, 0, 1, 1, 4)), 0xa); /* locked at reset */
  wr(f, S(2, 0, 1, 0, 4), 0);                     /* Linux clear_os_lock */
  assert_int_equal(rd(f, S(2, 0, 1, 1, 4)), 0x8);
  wr(f, S(2, 0, 1, 0, 4), 1);
  assert_int_equal(rd(f, S(2, 0, 1, 1, 4)), 0xa);
  wr(f, S(2, 0, 7, 8, 6), 0x5); /* claim tags */
  wr(f, S(2, 0, 7, 9, 6), 0x1);
  assert_int_equal(rd(f, S(2, 0, 7, 9, 6)), 0x4);
}

static void test_at(void **state) {
  struct fixture *f = *state;
  /* 39-bit VA, one 4K page at VA 0x40201000 -> PA 0x30000. */
  f->ram[0x1000 / 8 + 1] = 0x2000 | 3;
  f->ram[0x2000 / 8 + 1] = 0x3000 | 3;
  f->ram[0x3000 / 8 + 1] = 0x30000 | 3 | 1u << 10 | 1u << 2 | 2u << 6;
  wr(f, MAIR, 0xff00);
  wr(f, TCR, 25 | 25ull << 16 | 5ull << 32);
  wr(f, TTBR0, 0x1000);
  wr(f, SCTLR, 0x30d00801);
  uint64_t va = 1ull << 30 | 1ull << 21 | 1ull << 12 | 0x234;
  wr(f, S(1, 0, 7, 8, 0), va); /* AT S1E1R */
  uint64_t par = rd(f, PAR);
  assert_int_equal(par & 1, 0);
  assert_int_equal(par & 0xfffffffff000ull, 0x30000);
  assert_int_equal(par >> 56, 0xff);
  wr(f, S(1, 0, 7, 8, 1), va); /* S1E1W: AP=10 is read-only */
  assert_int_equal(rd(f, PAR), 1 | 0xf << 1 | 1 << 11);
  wr(f, S(1, 0, 7, 8, 2), va); /* S1E0R: no EL0 access */
  assert_int_equal(rd(f, PAR), 1 | 0xf << 1 | 1 << 11);
  wr(f, S(1, 0, 7, 8, 0), va + (1ull << 12)); /* unmapped: level 3 */
  assert_int_equal(rd(f, PAR), 1 | 0x7 << 1 | 1 << 11);
  f->ram[0x1000 / 8 + 1] = 0x7000000 | 3; /* table outside RAM */
  wr(f, S(1, 0, 7, 8, 0), va);
  assert_int_equal(rd(f, PAR), 1 | 0x16 << 1 | 1 << 11); /* L2 */
}

static void test_tlbi_ic(void **state) {
  struct fixture *f = *state;
  uint64_t va = 0xffff800008123000ull;
  uint64_t xt = 0xab12ull << 48 | ((va >> 12) & 0xfffffffffffull);
  wr(f, S(1, 0, 8, 3, 1), xt); /* TLBI VAE1IS */
  assert_int_equal(f->tlbis, 1);
  assert_int_equal(f->last_tlbi.kind, EMU_TLBI_VA);
  assert_true(f->last_tlbi.broadcast);
  assert_false(f->last_tlbi.last_level);
  assert_int_equal(f->last_tlbi.va, va);
  assert_int_equal(f->last_tlbi.asid, 0x12); /* TCR.AS = 0 */
  wr(f, TCR, 1ull << 36);
  wr(f, S(1, 0, 8, 7, 5), xt); /* TLBI VALE1 */
  assert_false(f->last_tlbi.broadcast);
  assert_true(f->last_tlbi.last_level);
  assert_int_equal(f->last_tlbi.asid, 0xab12);
  wr(f, S(1, 0, 8, 7, 0), 0); /* VMALLE1 */
  assert_int_equal(f->last_tlbi.kind, EMU_TLBI_ALL);
  wr(f, S(1, 0, 8, 3, 2), xt); /* ASIDE1IS */
  assert_int_equal(f->last_tlbi.kind, EMU_TLBI_ASID);
  wr(f, S(1, 0, 8, 3, 7), 0x400ull); /* VAALE1IS: user address */
  assert_int_equal(f->last_tlbi.kind, EMU_TLBI_VA_ALLASID);
  assert_int_equal(f->last_tlbi.va, 0x400000);
  assert_int_equal(f->tlbis, 5);
  wr(f, S(1, 0, 7, 5, 0), 0); /* IC IALLU */
  wr(f, S(1, 0, 7, 1, 0), 0); /* IC IALLUIS */
  wr(f, S(1, 3, 7, 5, 1), 0); /* IC IVAU */
  assert_int_equal(f->ic_local, 1);
  assert_int_equal(f->ic_bcast, 2);
  /* Cache maintenance by set/way and VA: accepted, nothing to do. */
  wr(f, S(1, 0, 7, 14, 2), 0);
  wr(f, S(1, 3, 7, 10, 1), 0);
  wr(f, S(1, 3, 7, 4, 1), 0x1000); /* DC ZVA: access check only */
}

static void test_gic_and_timer_forwarding(void **state) {
  struct fixture *f = *state;
  /* Without a GIC or a timer attached, their registers are UNDEFINED. */
  assert_int_equal(try_rd(f, S(3, 0, 4, 6, 0)), UNDEF);
  assert_int_equal(try_rd(f, S(3, 3, 14, 3, 1)), UNDEF);
  vmk_error err;
  assert_int_equal(emu_gicv3_init(&f->gic, 4, 64, NULL, NULL, &err), 0);
  f->sys.gic = &f->gic;
  wr(f, S(3, 0, 4, 6, 0), 0xf0);
  assert_int_equal(f->gic.cpu[3].pmr, 0xf0);
  assert_int_equal(rd(f, S(3, 0, 12, 12, 5)), 7); /* ICC_SRE */
  assert_int_equal(rd(f, S(3, 0, 12, 12, 0)), EMU_GIC_SPURIOUS);
  /* ISR_EL1 follows the IRQ line of this CPU (3). */
  assert_int_equal(rd(f, S(3, 0, 12, 1, 0)), 0);
  emu_gicv3_dist_ops.write(&f->gic, 0, 4, 2);
  emu_gicv3_redist_ops.write(&f->gic, 3 * EMU_GIC_RD_STRIDE + 0x10080, 4, ~0u);
  emu_gicv3_redist_ops.write(&f->gic, 3 * EMU_GIC_RD_STRIDE + 0x10100, 4,
                             1u << 27);
  wr(f, S(3, 0, 12, 12, 7), 1); /* IGRPEN1 */
  emu_timer_init(&f->timer, now_ns, f, 0, NULL, NULL);
  f->sys.timer = &f->timer;
  f->now = 16 * 1000;
  wr(f, S(3, 3, 14, 3, 0), 10); /* CNTV_TVAL */
  assert_int_equal(rd(f, S(3, 3, 14, 3, 2)), 1010);
  emu_gicv3_set_ppi(&f->gic, 3, 27, true);
  assert_int_equal(rd(f, S(3, 0, 12, 1, 0)), 1u << 7);
  assert_int_equal(rd(f, S(3, 0, 12, 12, 0)), 27);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),
      cmocka_unit_test_setup_teardown(test_id_registers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_undefined, setup, teardown),
      cmocka_unit_test_setup_teardown(test_storage_and_masks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pstate_registers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fp_trap, setup, teardown),
      cmocka_unit_test_setup_teardown(test_el0_access, setup, teardown),
      cmocka_unit_test_setup_teardown(test_os_lock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_at, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tlbi_ic, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gic_and_timer_forwarding, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
