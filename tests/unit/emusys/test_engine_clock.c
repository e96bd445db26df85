/* test_engine_clock.c — the emu engine's system counter across a pause
 * and its state across save/load: a guest loop stores CNTVCT_EL0 to RAM
 * without end; the counter it sees after a resume must not include the
 * time the VM spent paused, and a second engine loaded from the first's
 * saved state goes on from the saved count with the same registers.
 * VMK_TEST_EMU_JIT set (emusys_engine_clock-jit): the guest runs
 * translated. Test thread + the engines' vCPU threads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "emu/sys/timer.h"
#include "engine_fixture.h"

/* At RAM_BASE, MMU off, EL1:
 *   movz x2, #0x4000, lsl #16 ; x2 = 0x40000000
 *   add  x2, x2, #1, lsl #12  ; x2 = the slot
 * 1:mrs  x1, cntvct_el0
 *   str  x1, [x2]
 *   b    1b */
static const uint32_t code[] = {0xd2a80002, 0x91400442, 0xd53be041, 0xf9000041,
                                0x17fffffe};

/* Waits (bounded) until the guest stores a value other than old. */
static uint64_t wait_change(struct engine_fixture *f, uint64_t old) {
  for (int i = 0; i < 30000; i++) {
    uint64_t v = ef_slot(f);
    if (v != old)
      return v;
    usleep(1000);
  }
  fail_msg("the guest loop did not run");
  return 0;
}

static void on_exit_cb(void *opaque, vmk_exit_reason r, const vmk_error *err) {
  (void)opaque;
  (void)r;
  (void)err;
}

static void make_engine(struct engine_fixture *f) {
  ef_engine(f, getenv("VMK_TEST_EMU_JIT") != NULL, /* the -jit variant */
            on_exit_cb, NULL);
}

static int setup(void **state) {
  struct engine_fixture *f = calloc(1, sizeof *f);
  ef_ram(f, code, sizeof code);
  make_engine(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct engine_fixture *f = *state;
  ef_free(f);
  free(f);
  return 0;
}

static void test_pause_does_not_advance_counter(void **state) {
  struct engine_fixture *f = *state;
  vmk_error err;
  struct vmk_boot_regs boot = {.pc = VMK_RAM_BASE};
  assert_int_equal(f->e->ops->start(f->e, &boot, &err), 0);
  wait_change(f, 0);
  assert_int_equal(f->e->ops->pause(f->e, &err), 0);
  uint64_t before = ef_slot(f);
  const unsigned pause_s = 2;
  sleep(pause_s);
  assert_int_equal(ef_slot(f), before); /* paused: the loop does not run */
  assert_int_equal(f->e->ops->resume(f->e, &err), 0);
  uint64_t after = wait_change(f, before);
  assert_int_equal(f->e->ops->pause(f->e, &err), 0);
  after = ef_slot(f);
  assert_true(after > before);
  /* Without the fix the counter jumps by at least the whole pause. The
   * guest ran only briefly between the two pauses; the margin is the
   * whole pause, so a slow host cannot make this fail. */
  uint64_t pause_ticks = pause_s * EMU_TIMER_FREQ;
  assert_true(after - before < pause_ticks);
  f->e->ops->stop(f->e);
}

/* Engine A runs the loop a while and is saved; engine B, on a copy of A's
 * RAM, loads that state: it goes on from A's count (a fresh engine's
 * counter would start near 0) and saves back the same registers. */
static void test_save_load(void **state) {
  struct engine_fixture *a = *state;
  vmk_error err;
  struct vmk_boot_regs boot = {.pc = VMK_RAM_BASE};
  assert_int_equal(a->e->ops->start(a->e, &boot, &err), 0);
  wait_change(a, 0);
  usleep(500 * 1000);
  assert_int_equal(a->e->ops->pause(a->e, &err), 0);
  struct vmk_arch_state st;
  assert_true(vmk_arch_state_alloc(&st, 1));
  assert_int_equal(a->e->ops->save_state(a->e, &st, &err), 0);
  uint64_t saved_slot = ef_slot(a);
  assert_true(st.counter >= saved_slot);
  assert_int_equal(st.vcpu[0].x[2], VMK_RAM_BASE + EF_SLOT_OFF);
  assert_int_equal(st.vcpu[0].pstate & 0xf, 5); /* EL1h */
  a->e->ops->stop(a->e);

  struct engine_fixture b = {0};
  ef_ram(&b, a->ram.host, EF_RAM_SIZE);
  make_engine(&b);
  assert_int_equal(b.e->ops->load_state(b.e, &st, &err), 0);
  struct vmk_arch_state back;
  assert_true(vmk_arch_state_alloc(&back, 1));
  assert_int_equal(b.e->ops->save_state(b.e, &back, &err), 0);
  assert_memory_equal(back.vcpu[0].x, st.vcpu[0].x, sizeof st.vcpu[0].x);
  assert_int_equal(back.vcpu[0].pc, st.vcpu[0].pc);
  assert_int_equal(back.vcpu[0].pstate, st.vcpu[0].pstate);
  assert_int_equal(back.vcpu[0].sp_el1, st.vcpu[0].sp_el1);
  assert_int_equal(back.vcpu[0].nsys, st.vcpu[0].nsys);
  assert_memory_equal(back.vcpu[0].sys, st.vcpu[0].sys,
                      st.vcpu[0].nsys * sizeof st.vcpu[0].sys[0]);
  assert_memory_equal(&back.gicd, &st.gicd, sizeof st.gicd);
  assert_true(back.counter >= st.counter);

  /* Start paused, as a restore does, then resume. */
  assert_int_equal(b.e->ops->pause(b.e, &err), 0);
  assert_int_equal(b.e->ops->start(b.e, &boot, &err), 0);
  assert_int_equal(b.e->ops->resume(b.e, &err), 0);
  uint64_t v = wait_change(&b, saved_slot);
  assert_true(v >= st.counter);
  b.e->ops->stop(b.e);
  b.e->ops->destroy(b.e);

  /* A state this engine cannot run is refused with a sentence. */
  make_engine(&b);
  st.vcpu[0].pstate = (st.vcpu[0].pstate & ~0x1full) | 9; /* EL2h */
  assert_int_equal(b.e->ops->load_state(b.e, &st, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "mode"));
  st.vcpu[0].pstate = 5;
  assert_true(vmk_vcpu_set_sysreg(&st.vcpu[0], VMK_SYSREG(3, 4, 1, 1, 0), 1));
  assert_int_equal(b.e->ops->load_state(b.e, &st, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "S3_4_C1_C1_0"));
  ef_free(&b);
  vmk_arch_state_free(&st);
  vmk_arch_state_free(&back);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pause_does_not_advance_counter,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
