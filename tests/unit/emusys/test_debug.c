/* test_debug.c — self-hosted debug (src/emu/sys/debug.c) run end to end by
 * the real emulator core: small hand-assembled EL1/EL0 programs arm a
 * hardware breakpoint, a watchpoint or software step and a logging
 * exception handler records ESR/ELR/FAR/SPSR of every exception taken.
 * Each kind is checked taken with the right syndrome and addresses, and
 * not taken when the Arm ARM says it is disabled (OS lock, MDSCR_EL1.MDE /
 * KDE, PSTATE.D, PMC/PAC, BAS). Programs run twice on one machine where
 * it matters, so decoded blocks and soft TLB entries made before the
 * debug state was armed are exercised too.
 * Single-threaded test program.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/le.h"
#include "emu/cpu.h"
#include "emu/jit/translate.h"
#include "emu/sys/debug.h"
#include "emu/sys/env.h"
#include "emu/sys/exception.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE (1u << 20)
#define VBAR (RAM_BASE + 0x800)
#define TARGET (RAM_BASE + 0x1000) /* the code under test */
#define DATA (RAM_BASE + 0x2000)
#define HANDLER (RAM_BASE + 0x3000)
#define LOG (RAM_BASE + 0x4000) /* 32 bytes per exception taken */

#define MDE (1ull << 15)
#define KDE (1ull << 13)
#define SS (1ull << 0)
#define SPSR_SS (1ull << 21)
#define SPSR_D (1ull << 9)
#define EL0T 0x0ull
#define EL1H 0x5ull

struct machine {
  struct emu_cpu cpu;
  struct emu_sys sys;
  struct vmk_guest_mem ram;
};

static struct emu_sys *sys_of(struct emu_cpu *cpu) { return cpu->env_opaque; }

static int env_tlb_fill(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                        unsigned size) {
  return emu_sys_tlb_fill(sys_of(cpu), va, acc, size);
}
static uint64_t env_mmio_read(struct emu_cpu *cpu, uint64_t va, unsigned size) {
  (void)cpu, (void)va, (void)size;
  return 0;
}
static void env_mmio_write(struct emu_cpu *cpu, uint64_t va, unsigned size,
                           uint64_t val) {
  (void)cpu, (void)va, (void)size, (void)val;
}
static void env_exception(struct emu_cpu *cpu, enum emu_exit kind,
                          uint32_t syndrome, uint64_t addr) {
  emu_sys_exception(sys_of(cpu), kind, syndrome, addr);
}
static bool env_sysreg_read(struct emu_cpu *cpu, uint32_t enc, uint64_t *v) {
  return emu_sys_sysreg_read(sys_of(cpu), enc, v);
}
static bool env_sysreg_write(struct emu_cpu *cpu, uint32_t enc, uint64_t v) {
  return emu_sys_sysreg_write(sys_of(cpu), enc, v);
}
static bool env_bp_at(struct emu_cpu *cpu, uint64_t pc) {
  return emu_dbg_bp_at(sys_of(cpu), pc);
}
static uint32_t env_bp_check(struct emu_cpu *cpu, uint64_t pc) {
  return emu_dbg_bp_check(sys_of(cpu), pc);
}
static uint32_t env_watch_check(struct emu_cpu *cpu, uint64_t va, unsigned size,
                                enum emu_access acc) {
  return emu_dbg_watch_check(sys_of(cpu), va, size, acc == EMU_WRITE);
}
static uint32_t env_step_before(struct emu_cpu *cpu) {
  return emu_dbg_step_before(sys_of(cpu));
}
static void env_step_done(struct emu_cpu *cpu, uint32_t raw) {
  emu_dbg_step_done(sys_of(cpu), raw);
}

static const struct emu_env_ops env = {
    .tlb_fill = env_tlb_fill,
    .mmio_read = env_mmio_read,
    .mmio_write = env_mmio_write,
    .exception = env_exception,
    .sysreg_read = env_sysreg_read,
    .sysreg_write = env_sysreg_write,
    .bp_at = env_bp_at,
    .bp_check = env_bp_check,
    .watch_check = env_watch_check,
    .step_before = env_step_before,
    .step_done = env_step_done,
};

static void sys_tlbi(void *opaque, const struct emu_tlbi *op) {
  emu_sys_tlb_invalidate(opaque, op);
}
static void sys_ic(void *opaque, bool broadcast, bool all, uint64_t va) {
  (void)broadcast;
  emu_sys_ic_local(opaque, all, va);
}
static void sys_regime(void *opaque, enum emu_regime_change why) {
  emu_sys_regime_changed(opaque, why);
}
static const struct emu_sys_ops sys_ops = {NULL, sys_tlbi, sys_ic, sys_regime};

/* Arms the debug registers from x4..x17 and ERETs to x14 with SPSR x8. */
static const uint32_t main_code[] = {
    0x580001c0, /* 0: ldr x0, =VBAR */
    0xd518c000, /* 4: msr vbar_el1, x0 */
    0xd5101087, /* 8: msr oslar_el1, x7 */
    0xd5100084, /* c: msr dbgbvr0_el1, x4 */
    0xd51000a5, /* 10: msr dbgbcr0_el1, x5 */
    0xd510048f, /* 14: msr dbgbvr4_el1, x15 */
    0xd51004b0, /* 18: msr dbgbcr4_el1, x16 */
    0xd51000cc, /* 1c: msr dbgwvr0_el1, x12 */
    0xd51000ed, /* 20: msr dbgwcr0_el1, x13 */
    0xd518d031, /* 24: msr contextidr_el1, x17 */
    0xd5100246, /* 28: msr mdscr_el1, x6 */
    0xd5184008, /* 2c: msr spsr_el1, x8 */
    0xd518402e, /* 30: msr elr_el1, x14 */
    0xd69f03e0, /* 34: eret */
    0x40000800, /* 38: literal VBAR */
    0x00000000, /* 3c: literal */
};

/* Every synchronous exception (same EL at VBAR+0x200 and lower EL at
 * VBAR+0x400 branch here): logs ESR, ELR, FAR, SPSR at x28 and counts in
 * x27; SVC (or 16 exceptions) ends the run with HVC; a breakpoint or
 * watchpoint disables itself and returns to the instruction; a step sets
 * SPSR.SS again (step the next one); UNDEFINED and BRK skip the insn. */
static const uint32_t handler[] = {
    0xd5385214, /* 0: mrs x20, esr_el1 */
    0xd5384035, /* 4: mrs x21, elr_el1 */
    0xd5386016, /* 8: mrs x22, far_el1 */
    0xd5384017, /* c: mrs x23, spsr_el1 */
    0xa8815794, /* 10: stp x20, x21, [x28], #16 */
    0xa8815f96, /* 14: stp x22, x23, [x28], #16 */
    0x9100077b, /* 18: add x27, x27, #0x1 */
    0xd35afe98, /* 1c: lsr x24, x20, #26 */
    0xf100571f, /* 20: cmp x24, #0x15 */
    0x54000240, /* 24: b.eq 6c */
    0xf100437f, /* 28: cmp x27, #0x10 */
    0x5400020a, /* 2c: b.ge 6c */
    0xf100c31f, /* 30: cmp x24, #0x30 */
    0x540001e0, /* 34: b.eq 70 */
    0xf100c71f, /* 38: cmp x24, #0x31 */
    0x540001a0, /* 3c: b.eq 70 */
    0xf100d31f, /* 40: cmp x24, #0x34 */
    0x540001c0, /* 44: b.eq 7c */
    0xf100d71f, /* 48: cmp x24, #0x35 */
    0x54000180, /* 4c: b.eq 7c */
    0xf100cb1f, /* 50: cmp x24, #0x32 */
    0x54000180, /* 54: b.eq 84 */
    0xf100cf1f, /* 58: cmp x24, #0x33 */
    0x54000140, /* 5c: b.eq 84 */
    0xb4000198, /* 60: cbz x24, 90 */
    0xf100f31f, /* 64: cmp x24, #0x3c */
    0x54000140, /* 68: b.eq 90 */
    0xd4000002, /* 6c: hvc #0x0 */
    0xd51000bf, /* 70: msr dbgbcr0_el1, xzr */
    0xd51004bf, /* 74: msr dbgbcr4_el1, xzr */
    0xd69f03e0, /* 78: eret */
    0xd51000ff, /* 7c: msr dbgwcr0_el1, xzr */
    0xd69f03e0, /* 80: eret */
    0xb26b02f7, /* 84: orr x23, x23, #0x200000 */
    0xd5184017, /* 88: msr spsr_el1, x23 */
    0xd69f03e0, /* 8c: eret */
    0x910012b5, /* 90: add x21, x21, #0x4 */
    0xd5184035, /* 94: msr elr_el1, x21 */
    0xd69f03e0, /* 98: eret */
};
static const uint32_t vec_same[] = {0x14000980};  /* b HANDLER */
static const uint32_t vec_lower[] = {0x14000900}; /* b HANDLER */

static const uint32_t bp_code[] = {
    0xd2800021, /* 0: mov x1, #0x1 */
    0xd2800042, /* 4: mov x2, #0x2 */
    0xd2800063, /* 8: mov x3, #0x3 */
    0xd42000a0, /* c: brk #0x5 */
    0xd4000001, /* 10: svc #0x0 */
};
static const uint32_t wp_code[] = {
    0xf9400121, /* 0: ldr x1, [x9] */
    0xb9000d22, /* 4: str w2, [x9, #12] */
    0xf9000523, /* 8: str x3, [x9, #8] */
    0x39448d24, /* c: ldrb w4, [x9, #291] */
    0xa9411925, /* 10: ldp x5, x6, [x9, #16] */
    0xd4000001, /* 14: svc #0x0 */
};
static const uint32_t step_code[] = {
    0xd2800021, /* 0: mov x1, #0x1 */
    0xc85f7d23, /* 4: ldxr x3, [x9] */
    0xd2800084, /* 8: mov x4, #0x4 */
    0xd538100c, /* c: mrs x12, sctlr_el1 (UNDEFINED at EL0) */
    0xd28000a5, /* 10: mov x5, #0x5 */
    0xd4000001, /* 14: svc #0x0 */
};

static void load(struct machine *m, uint64_t pa, const uint32_t *code,
                 size_t n) {
  for (size_t i = 0; i < n; i++)
    vmk_put_le32(m->ram.host + (pa - RAM_BASE) + 4 * i, code[i]);
  emu_flush_code(&m->cpu); /* as IC IALLU would */
}

static int setup_mode(void **state, bool jit) {
  struct machine *m = calloc(1, sizeof(*m));
  m->ram.base = RAM_BASE;
  m->ram.size = RAM_SIZE;
  m->ram.host = calloc(1, RAM_SIZE);
  m->sys.ram = &m->ram;
  assert_int_equal(emu_cpu_init(&m->cpu, &env, &m->sys), 0);
  emu_sys_reset(&m->sys, &m->cpu, 0, &sys_ops, &m->sys);
  load(m, RAM_BASE, main_code, sizeof main_code / 4);
  load(m, HANDLER, handler, sizeof handler / 4);
  load(m, VBAR + 0x200, vec_same, 1);
  load(m, VBAR + 0x400, vec_lower, 1);
  if (jit) {
    vmk_error err;
    assert_int_equal(emu_jit_new(&m->cpu.jit, 1 << 20, 0, &err), 0);
  }
  *state = m;
  return 0;
}

static int setup(void **state) { return setup_mode(state, false); }
/* --emu-mode jit: blocks with breakpoint checks are left to the
 * interpreter on purpose, software step runs one insn at a time outside
 * the translations; everything else (the handler, the code around the
 * armed instructions, watchpoints through the helpers' slow path) runs
 * translated, and the debug exceptions must come out the same. */
static int setup_jit(void **state) { return setup_mode(state, true); }

static int teardown(void **state) {
  struct machine *m = *state;
  if (m->cpu.jit) {
    assert_true(m->cpu.jit->blocks > 0);
    assert_int_equal(m->cpu.jit->failed, 0);
  }
  emu_cpu_destroy(&m->cpu);
  free(m->ram.host);
  free(m);
  return 0;
}

/* What main_code arms before it ERETs to the code under test. */
struct arm {
  uint64_t bvr, bcr, bvr4, bcr4, ctx, wvr, wcr, mdscr, oslar, spsr;
};

struct logent {
  uint64_t esr, elr, far, spsr;
};

/* Runs main_code with a, then the code at TARGET until its SVC; returns
 * the number of exceptions logged (the last one is the SVC). */
static unsigned run(struct machine *m, const struct arm *a, struct logent *log,
                    unsigned max) {
  struct emu_cpu *c = &m->cpu;
  memset(m->ram.host + (LOG - RAM_BASE), 0, 32 * 16);
  c->pc = RAM_BASE;
  c->r[4] = a->bvr, c->r[5] = a->bcr, c->r[15] = a->bvr4, c->r[16] = a->bcr4;
  c->r[17] = a->ctx, c->r[12] = a->wvr, c->r[13] = a->wcr;
  c->r[6] = a->mdscr, c->r[7] = a->oslar, c->r[8] = a->spsr;
  c->r[14] = TARGET, c->r[9] = DATA;
  c->r[27] = 0, c->r[28] = LOG;
  for (unsigned i = 1; i <= 3; i++)
    c->r[i] = 0x1111111111111111ull * i + 0x100;
  assert_int_equal(emu_run(c, 100000), EMU_EXIT_HVC);
  unsigned n = (unsigned)c->r[27];
  for (unsigned i = 0; i < n && i < max; i++) {
    const uint8_t *p = m->ram.host + (LOG - RAM_BASE) + 32 * i;
    log[i] = (struct logent){vmk_le64(p), vmk_le64(p + 8), vmk_le64(p + 16),
                             vmk_le64(p + 24)};
  }
  return n;
}

#define ESR_SVC 0x56000000u
#define ESR_BRK5 0xf2000005u
#define ESR_UNDEF 0x02000000u
#define BCR_EL0 (1u | 2u << 1 | 0xfu << 5) /* E, PMC EL0, BAS 0b1111 */
#define BCR_EL1 (1u | 1u << 1 | 0xfu << 5) /* E, PMC EL1, BAS 0b1111 */

static void test_breakpoint(void **state) {
  struct machine *m = *state;
  struct logent log[16];
  load(m, TARGET, bp_code, sizeof bp_code / 4);
  /* First without the breakpoint, so the target's blocks are cached. */
  struct arm a = {.bvr = TARGET + 4, .mdscr = MDE, .spsr = EL0T};
  assert_int_equal(run(m, &a, log, 16), 2);
  assert_int_equal(log[0].esr, ESR_BRK5); /* BRK: EC 0x3c, imm */
  assert_int_equal(log[0].elr, TARGET + 12);
  assert_int_equal(log[1].esr, ESR_SVC);

  /* Armed: taken before the instruction, from EL0 (EC 0x30, IFSC 0x22);
   * the handler disables it and the instruction then runs. */
  a.bcr = BCR_EL0;
  assert_int_equal(run(m, &a, log, 16), 3);
  assert_int_equal(log[0].esr, 0xc2000022u);
  assert_int_equal(log[0].elr, TARGET + 4);
  assert_int_equal(log[1].esr, ESR_BRK5);
  assert_int_equal(log[2].esr, ESR_SVC);
  assert_int_equal(m->cpu.r[2], 2);
  assert_int_equal(m->cpu.r[3], 3);

  /* Not taken: OS lock set, MDE clear, PMC EL1 only, BAS 0, other pc. */
  struct arm off[] = {
      {.bvr = TARGET + 4, .bcr = BCR_EL0, .mdscr = MDE, .oslar = 1},
      {.bvr = TARGET + 4, .bcr = BCR_EL0, .mdscr = KDE},
      {.bvr = TARGET + 4, .bcr = BCR_EL1, .mdscr = MDE},
      {.bvr = TARGET + 4, .bcr = BCR_EL0 & ~(0xfu << 5), .mdscr = MDE},
      {.bvr = TARGET + 0x104, .bcr = BCR_EL0, .mdscr = MDE},
  };
  for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
    assert_int_equal(run(m, &off[i], log, 16), 2);
    assert_int_equal(log[0].esr, ESR_BRK5);
  }

  /* At EL1: needs KDE and PSTATE.D clear; then EC 0x31 (same EL). */
  struct arm el1 = {
      .bvr = TARGET + 8, .bcr = BCR_EL1, .mdscr = MDE | KDE, .spsr = EL1H};
  assert_int_equal(run(m, &el1, log, 16), 3);
  assert_int_equal(log[0].esr, 0xc6000022u);
  assert_int_equal(log[0].elr, TARGET + 8);
  assert_int_equal(log[0].spsr & 0xf, EL1H);
  el1.mdscr = MDE;
  assert_int_equal(run(m, &el1, log, 16), 2);
  el1.mdscr = MDE | KDE;
  el1.spsr = EL1H | SPSR_D;
  assert_int_equal(run(m, &el1, log, 16), 2);
}

static void test_context_breakpoint(void **state) {
  struct machine *m = *state;
  struct logent log[16];
  load(m, TARGET, bp_code, sizeof bp_code / 4);
  /* Breakpoint 4 (context-aware), BT 0b0010: CONTEXTIDR_EL1 == DBGBVR4
   * matches at the first EL0 instruction. */
  struct arm a = {.bvr4 = 0x77,
                  .bcr4 = BCR_EL0 | 2u << 20,
                  .ctx = 0x77,
                  .mdscr = MDE,
                  .spsr = EL0T};
  assert_int_equal(run(m, &a, log, 16), 3);
  assert_int_equal(log[0].esr, 0xc2000022u);
  assert_int_equal(log[0].elr, TARGET);
  a.ctx = 0x78;
  assert_int_equal(run(m, &a, log, 16), 2);
  /* Linked: address breakpoint 0 (BT 0b0001, LBN 4) with a linked context
   * breakpoint 4 (BT 0b0011). */
  struct arm l = {.bvr = TARGET + 8,
                  .bcr = BCR_EL0 | 1u << 20 | 4u << 16,
                  .bvr4 = 0x55,
                  .bcr4 = BCR_EL0 | 3u << 20,
                  .ctx = 0x55,
                  .mdscr = MDE,
                  .spsr = EL0T};
  assert_int_equal(run(m, &l, log, 16), 3);
  assert_int_equal(log[0].elr, TARGET + 8);
  l.ctx = 0x56;
  assert_int_equal(run(m, &l, log, 16), 2);
}

/* E, PAC EL0, LSC store, BAS 0b00001111: the 4 bytes at DBGWVR. */
#define WCR_EL0_ST4 (1u | 2u << 1 | 2u << 3 | 0x0fu << 5)

static void test_watchpoint(void **state) {
  struct machine *m = *state;
  struct logent log[16];
  load(m, TARGET, wp_code, sizeof wp_code / 4);
  /* Unarmed first: the data page's soft TLB entry is filled and hit. */
  struct arm a = {.wvr = DATA + 8, .mdscr = MDE, .spsr = EL0T};
  assert_int_equal(run(m, &a, log, 16), 1);
  assert_int_equal(log[0].esr, ESR_SVC);

  /* A store to the watched bytes: EC 0x34, WnR, DFSC 0x22, FAR = the
   * address, ELR = the store, which has not happened yet. The load of
   * other bytes and the store next to them do not match. */
  a.wcr = WCR_EL0_ST4;
  memset(m->ram.host + (DATA - RAM_BASE), 0, 16);
  assert_int_equal(run(m, &a, log, 16), 2);
  assert_int_equal(log[0].esr, 0xd2000062u);
  assert_int_equal(log[0].far, DATA + 8);
  assert_int_equal(log[0].elr, TARGET + 8);
  assert_int_equal(vmk_le64(m->ram.host + (DATA - RAM_BASE) + 8),
                   m->cpu.r[3]); /* done after the handler's return */
  assert_int_equal(log[1].esr, ESR_SVC);

  /* A load-only watchpoint on a 256-byte range (MASK 8): only the LDRB at
   * +0x123 is in it (the STR at +8 is not a load, LDP is below). */
  a.wvr = DATA + 0x100;
  a.wcr = 1u | 3u << 1 | 1u << 3 | 0xffu << 5 | 8u << 24;
  assert_int_equal(run(m, &a, log, 16), 2);
  assert_int_equal(log[0].esr, 0xd2000022u);
  assert_int_equal(log[0].far, DATA + 0x123);
  assert_int_equal(log[0].elr, TARGET + 12);

  /* Not taken: OS lock, MDE clear, PAC EL1 only, MASK 2 (reserved), a
   * watched byte next to the accesses. */
  struct arm off[] = {
      {.wvr = DATA + 8, .wcr = WCR_EL0_ST4, .mdscr = MDE, .oslar = 1},
      {.wvr = DATA + 8, .wcr = WCR_EL0_ST4, .mdscr = KDE},
      {.wvr = DATA + 8, .wcr = WCR_EL0_ST4 ^ (3u << 1), .mdscr = MDE},
      {.wvr = DATA, .wcr = WCR_EL0_ST4 | 2u << 24, .mdscr = MDE},
      {.wvr = DATA + 0x20, .wcr = WCR_EL0_ST4 | 1u << 3, .mdscr = MDE},
  };
  for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
    assert_int_equal(run(m, &off[i], log, 16), 1);

  /* At EL1 (KDE, PSTATE.D clear), PAC EL0 and EL1: EC 0x35. */
  struct arm el1 = {.wvr = DATA + 8,
                    .wcr = WCR_EL0_ST4 | 1u << 1,
                    .mdscr = MDE | KDE,
                    .spsr = EL1H};
  assert_int_equal(run(m, &el1, log, 16), 2);
  assert_int_equal(log[0].esr, 0xd6000062u);
  assert_int_equal(log[0].far, DATA + 8);
  el1.spsr = EL1H | SPSR_D;
  assert_int_equal(run(m, &el1, log, 16), 1);
}

static void test_software_step(void **state) {
  struct machine *m = *state;
  struct logent log[16];
  load(m, TARGET, step_code, sizeof step_code / 4);
  /* ERET with SPSR.SS = 0: active-pending at once, nothing stepped (ISV
   * 0). Then every instruction is stepped (ISV 1), the LDXR with EX 1;
   * the UNDEFINED MRS does not complete (SPSR.SS = 1: stepped again after
   * the return), the SVC completes (SPSR.SS = 0). */
  struct arm a = {.mdscr = SS, .spsr = EL0T};
  static const struct {
    uint32_t esr;
    uint64_t elr, spsr_ss;
  } want[] = {
      {0xca000022u, TARGET, 0},          {0xcb000022u, TARGET + 4, 0},
      {0xcb000062u, TARGET + 8, 0},      {0xcb000022u, TARGET + 12, 0},
      {ESR_UNDEF, TARGET + 12, SPSR_SS}, {0xcb000022u, TARGET + 20, 0},
      {ESR_SVC, TARGET + 24, 0},
  };
  unsigned n = run(m, &a, log, 16);
  assert_int_equal(n, sizeof want / sizeof want[0]);
  for (unsigned i = 0; i < n; i++) {
    assert_int_equal(log[i].esr, want[i].esr);
    assert_int_equal(log[i].elr, want[i].elr);
    assert_int_equal(log[i].spsr & SPSR_SS, want[i].spsr_ss);
  }
  assert_int_equal(m->cpu.r[5], 5);

  /* Not active: OS lock set, MDSCR_EL1.SS clear: the UNDEF and the SVC. */
  struct arm off[] = {{.mdscr = SS, .oslar = 1, .spsr = EL0T | SPSR_SS},
                      {.mdscr = 0, .spsr = EL0T | SPSR_SS}};
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(run(m, &off[i], log, 16), 2);
    assert_int_equal(log[0].esr, ESR_UNDEF);
    assert_int_equal(log[1].esr, ESR_SVC);
  }

  /* At EL1 with KDE and PSTATE.D clear: EC 0x33 after one instruction. */
  load(m, TARGET, bp_code, sizeof bp_code / 4);
  struct arm el1 = {.mdscr = SS | KDE, .spsr = EL1H | SPSR_SS};
  n = run(m, &el1, log, 16);
  assert_int_equal(n, 5); /* 3 steps, BRK, the stepped SVC */
  assert_int_equal(log[0].esr, 0xcf000022u);
  assert_int_equal(log[0].elr, TARGET + 4);
  assert_int_equal(log[2].elr, TARGET + 12);
  assert_int_equal(log[3].esr, ESR_BRK5);
  assert_int_equal(log[3].spsr & SPSR_SS, SPSR_SS); /* BRK did not complete */
  assert_int_equal(log[4].esr, ESR_SVC);
  assert_int_equal(log[4].spsr & SPSR_SS, 0); /* the SVC did */
  /* KDE clear, or PSTATE.D set: no step at EL1. */
  el1.mdscr = SS;
  assert_int_equal(run(m, &el1, log, 16), 2);
  el1.mdscr = SS | KDE;
  el1.spsr = EL1H | SPSR_SS | SPSR_D;
  assert_int_equal(run(m, &el1, log, 16), 2);
}

int main(void) {
  /* each program interpreted, then translated */
#define BOTH(t)                                                                \
  cmocka_unit_test_setup_teardown(t, setup, teardown), {                       \
#t "_jit", t, setup_jit, teardown, NULL                                    \
  }
  const struct CMUnitTest tests[] = {
      BOTH(test_breakpoint),
      BOTH(test_context_breakpoint),
      BOTH(test_watchpoint),
      BOTH(test_software_step),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
