/* test_exception.c — exception entry/return register effects checked
 * against the Arm ARM (AArch64.TakeException / ExceptionReturn): SPSR,
 * ELR, ESR, FAR, vector offsets, SP banking, DAIF, illegal returns, ESR
 * syndrome layouts. Single-threaded test program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emu/sys/exception.h"

struct fixture {
  struct emu_cpu cpu;
  struct emu_sys sys;
  unsigned regime_changes;
};

static void regime_changed(void *opaque, enum emu_regime_change why) {
  assert_int_equal(why, EMU_REGIME_EL);
  struct fixture *f = opaque;
  f->regime_changes++;
}

static const struct emu_sys_ops ops = {.regime_changed = regime_changed};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  emu_sys_reset(&f->sys, &f->cpu, 0, &ops, f);
  f->sys.regs.vbar = 0xffff000010000800ull;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  free(*state);
  return 0;
}

static void test_reset_state(void **state) {
  struct fixture *f = *state;
  assert_int_equal(f->sys.el, 1);
  assert_int_equal(f->sys.spsel, 1);
  assert_int_equal(emu_sys_pstate(&f->sys), 0x3c5); /* EL1h, DAIF set */
  assert_int_equal(f->sys.regs.sctlr, 0x30d00800);
  assert_int_equal(f->sys.regs.sctlr & 1, 0);
}

static void test_sync_from_el1h(void **state) {
  struct fixture *f = *state;
  struct emu_sys *s = &f->sys;
  f->cpu.nzcv = EMU_N | EMU_C;
  s->daif = EMU_PSTATE_F; /* only FIQ masked */
  f->cpu.r[EMU_SP] = 0x1000;
  f->cpu.excl_size = 8;
  s->regs.far = 0x1111;
  uint32_t esr = emu_esr_svc(0x42);
  emu_exc_sync(s, esr, 0xffff000000001004ull, false, 0);
  assert_int_equal(s->regs.spsr, EMU_N | EMU_C | EMU_PSTATE_F | 0x5);
  assert_int_equal(s->regs.elr, 0xffff000000001004ull);
  assert_int_equal(s->regs.esr, 0x15u << 26 | 1u << 25 | 0x42);
  assert_int_equal(s->regs.far, 0x1111); /* untouched */
  assert_int_equal(f->cpu.pc, 0xffff000010000800ull + 0x200);
  assert_int_equal(s->daif, EMU_PSTATE_DAIF);
  assert_int_equal(s->el, 1);
  assert_int_equal(s->spsel, 1);
  assert_int_equal(f->cpu.r[EMU_SP], 0x1000); /* same stack */
  assert_int_equal(f->cpu.excl_size, 0);
  assert_int_equal(f->regime_changes, 0);
}

static void test_sync_from_el1t(void **state) {
  struct fixture *f = *state;
  struct emu_sys *s = &f->sys;
  f->cpu.r[EMU_SP] = 0x8000;  /* SP_EL1 in use */
  emu_sys_set_el_sp(s, 1, 0); /* MSR SPSel, #0 */
  assert_int_equal(s->sp_el1, 0x8000);
  f->cpu.r[EMU_SP] = 0x4000; /* this is SP_EL0 now */
  s->daif = 0;
  emu_exc_sync(s, emu_esr_data_abort(s, 0x07, true, false), 0x2000, true,
               0xdead0000);
  assert_int_equal(f->cpu.pc, 0xffff000010000800ull + 0x000);
  assert_int_equal(s->regs.spsr & 0x1f, 0x4); /* EL1t */
  assert_int_equal(f->cpu.r[EMU_SP], 0x8000);
  assert_int_equal(s->sp_el0, 0x4000);
  assert_int_equal(s->regs.far, 0xdead0000);
  assert_int_equal(s->regs.esr, 0x25u << 26 | 1u << 25 | 1u << 6 | 0x07);
}

static void test_sync_from_el0(void **state) {
  struct fixture *f = *state;
  struct emu_sys *s = &f->sys;
  /* Drop to EL0 through ERET, as the kernel does. */
  s->sp_el0 = 0x7ffff000;
  f->cpu.r[EMU_SP] = 0xffff000000c00000ull; /* kernel SP_EL1 */
  s->regs.spsr = EMU_Z | 0x0;               /* EL0t, DAIF clear */
  s->regs.elr = 0x400000;
  assert_true(emu_exc_eret(s));
  assert_int_equal(s->el, 0);
  assert_int_equal(f->cpu.pc, 0x400000);
  assert_int_equal(f->cpu.r[EMU_SP], 0x7ffff000);
  assert_int_equal(f->cpu.nzcv, EMU_Z);
  assert_int_equal(s->daif, 0);
  assert_int_equal(f->regime_changes, 1);
  /* The user program runs, moves its stack, and faults on a fetch. */
  f->cpu.r[EMU_SP] = 0x7fffe000;
  f->cpu.pc = 0x400010;
  emu_exc_sync(s, emu_esr_inst_abort(s, 0x0f), 0x400010, true, 0x400010);
  assert_int_equal(f->cpu.pc, 0xffff000010000800ull + 0x400);
  assert_int_equal(s->regs.spsr, EMU_Z);
  assert_int_equal(s->regs.esr, 0x20u << 26 | 1u << 25 | 0x0f);
  assert_int_equal(f->cpu.r[EMU_SP], 0xffff000000c00000ull);
  assert_int_equal(s->sp_el0, 0x7fffe000);
  assert_int_equal(f->regime_changes, 2);
  /* And returns. */
  assert_true(emu_exc_eret(s));
  assert_int_equal(f->cpu.r[EMU_SP], 0x7fffe000);
  assert_int_equal(f->cpu.pc, 0x400010);
}

static void test_async(void **state) {
  struct fixture *f = *state;
  struct emu_sys *s = &f->sys;
  s->regs.spsr = 0;
  s->regs.elr = 0x1000;
  emu_exc_eret(s);
  s->regs.esr = 0x12345;
  f->cpu.pc = 0x1234;
  assert_true(emu_exc_unmasked(s, EMU_EXC_IRQ));
  emu_exc_async(s, EMU_EXC_IRQ, 0);
  assert_int_equal(f->cpu.pc, 0xffff000010000800ull + 0x480);
  assert_int_equal(s->regs.elr, 0x1234);
  assert_int_equal(s->regs.esr, 0x12345); /* IRQs do not write ESR */
  assert_false(emu_exc_unmasked(s, EMU_EXC_IRQ));
  assert_false(emu_exc_unmasked(s, EMU_EXC_FIQ));
  assert_false(emu_exc_unmasked(s, EMU_EXC_SERROR));
  /* FIQ and SError from EL1h. */
  emu_exc_async(s, EMU_EXC_FIQ, 0);
  assert_int_equal(f->cpu.pc, 0xffff000010000800ull + 0x300);
  emu_exc_async(s, EMU_EXC_SERROR, 0xbe000000u);
  assert_int_equal(f->cpu.pc, 0xffff000010000800ull + 0x380);
  assert_int_equal(s->regs.esr, 0xbe000000u);
  /* Masks one at a time. */
  s->daif = EMU_PSTATE_I;
  assert_false(emu_exc_unmasked(s, EMU_EXC_IRQ));
  assert_true(emu_exc_unmasked(s, EMU_EXC_FIQ));
  assert_true(emu_exc_unmasked(s, EMU_EXC_SERROR));
  s->daif = EMU_PSTATE_A;
  assert_false(emu_exc_unmasked(s, EMU_EXC_SERROR));
  assert_true(emu_exc_unmasked(s, EMU_EXC_IRQ));
}

static void test_eret_el1(void **state) {
  struct fixture *f = *state;
  struct emu_sys *s = &f->sys;
  /* Linux's init_kernel_el: ERET from EL1h to EL1h with DAIF masked. */
  f->cpu.r[EMU_SP] = 0x5000;
  s->regs.spsr = 0x3c5;
  s->regs.elr = 0x40200000;
  f->cpu.excl_size = 4;
  assert_true(emu_exc_eret(s));
  assert_int_equal(f->cpu.pc, 0x40200000);
  assert_int_equal(s->el, 1);
  assert_int_equal(s->spsel, 1);
  assert_int_equal(s->daif, EMU_PSTATE_DAIF);
  assert_int_equal(f->cpu.r[EMU_SP], 0x5000);
  assert_int_equal(f->cpu.excl_size, 0);
  assert_false(s->il);
  assert_false(emu_exc_check_il(s));
  /* ERET to EL1t switches to SP_EL0. */
  s->sp_el0 = 0x9000;
  s->regs.spsr = 0x4;
  assert_true(emu_exc_eret(s));
  assert_int_equal(f->cpu.r[EMU_SP], 0x9000);
  assert_int_equal(s->sp_el1, 0x5000);
  assert_int_equal(emu_sys_pstate(s), 0x4);
}

static void test_eret_illegal(void **state) {
  struct fixture *f = *state;
  struct emu_sys *s = &f->sys;
  static const uint64_t bad[] = {
      0x01, /* EL0 with SP_EL1 */
      0x10, /* AArch32 user */
      0x08, /* EL2t: not implemented */
      0x09, /* EL2h */
      0x0d, /* EL3h */
      0x06, /* M[1] set */
  };
  for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    f->cpu.r[EMU_SP] = 0x5000;
    emu_sys_set_el_sp(s, 1, 1);
    s->regs.spsr = bad[i] | EMU_N | EMU_PSTATE_I;
    s->regs.elr = 0x3000;
    assert_false(emu_exc_eret(s));
    assert_true(s->il);
    assert_int_equal(s->el, 1); /* EL and SP unchanged */
    assert_int_equal(s->spsel, 1);
    assert_int_equal(f->cpu.r[EMU_SP], 0x5000);
    assert_int_equal(f->cpu.pc, 0x3000);
    assert_int_equal(f->cpu.nzcv, EMU_N); /* the rest comes from SPSR */
    assert_int_equal(s->daif, EMU_PSTATE_I);
    /* The next instruction takes an Illegal Execution State exception. */
    assert_true(emu_exc_check_il(s));
    assert_int_equal(s->regs.esr, 0x0eu << 26 | 1u << 25);
    assert_int_equal(s->regs.elr, 0x3000);
    assert_int_equal(s->regs.spsr & EMU_PSTATE_IL, EMU_PSTATE_IL);
    assert_false(s->il);
    assert_int_equal(f->cpu.pc, 0xffff000010000800ull + 0x200);
  }
  /* SPSR.IL set on a legal return also leaves PSTATE.IL set. */
  s->regs.spsr = 0x5 | EMU_PSTATE_IL;
  assert_true(emu_exc_eret(s));
  assert_true(s->il);
}

static void test_syndromes(void **state) {
  struct fixture *f = *state;
  struct emu_sys *s = &f->sys;
  assert_int_equal(emu_esr_undef(), 0x02000000);
  assert_int_equal(emu_esr_hvc(0), 0x5a000000);
  assert_int_equal(emu_esr_brk(0x3e8), 0xf20003e8);
  assert_int_equal(emu_esr_fp_access(), 0x1fe00000);
  assert_int_equal(emu_esr_wfx(false), 0x07e00000);
  assert_int_equal(emu_esr_wfx(true), 0x07e00001);
  /* MRS x3, CTR_EL0 trapped from EL0 (Linux's ESR_ELx_SYS64_ISS_*). */
  uint32_t enc = EMU_SYSREG(3, 3, 0, 0, 1);
  assert_int_equal(emu_esr_sysreg(enc, 3, true),
                   0x62000000u | 3u << 20 | 1u << 17 | 3u << 14 | 3u << 5 | 1);
  /* DC ZVA, x5 (a write, CRn=7 CRm=4). */
  enc = EMU_SYSREG(1, 3, 7, 4, 1);
  assert_int_equal(emu_esr_sysreg(enc, 5, false),
                   0x62000000u | 1u << 20 | 1u << 17 | 3u << 14 | 7u << 10 |
                       5u << 5 | 4u << 1);
  /* Aborts: lower vs same EL. */
  assert_int_equal(emu_esr_data_abort(s, 0x21, false, false) >> 26, 0x25);
  assert_int_equal(emu_esr_data_abort(s, 0x0b, false, true),
                   0x96000000u | 1u << 8 | 1u << 6 | 0xb);
  s->el = 0;
  assert_int_equal(emu_esr_data_abort(s, 0x07, false, false), 0x92000007u);
  assert_int_equal(emu_esr_inst_abort(s, 0x0f), 0x8200000fu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sync_from_el1h, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sync_from_el1t, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sync_from_el0, setup, teardown),
      cmocka_unit_test_setup_teardown(test_async, setup, teardown),
      cmocka_unit_test_setup_teardown(test_eret_el1, setup, teardown),
      cmocka_unit_test_setup_teardown(test_eret_illegal, setup, teardown),
      cmocka_unit_test_setup_teardown(test_syndromes, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
