/* test_timer.c — the generic timer against a fake clock: counter rate,
 * CVAL/TVAL semantics, ENABLE/IMASK/ISTATUS, output edges to the GIC
 * PPIs, and the WFI deadline. No real time is involved.
 * Single-threaded test program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emu/sys/sys.h"
#include "emu/sys/timer.h"

#define CNTFRQ EMU_SYSREG(3, 3, 14, 0, 0)
#define CNTPCT EMU_SYSREG(3, 3, 14, 0, 1)
#define CNTVCT EMU_SYSREG(3, 3, 14, 0, 2)
#define CNTP_TVAL EMU_SYSREG(3, 3, 14, 2, 0)
#define CNTP_CTL EMU_SYSREG(3, 3, 14, 2, 1)
#define CNTP_CVAL EMU_SYSREG(3, 3, 14, 2, 2)
#define CNTV_TVAL EMU_SYSREG(3, 3, 14, 3, 0)
#define CNTV_CTL EMU_SYSREG(3, 3, 14, 3, 1)
#define CNTV_CVAL EMU_SYSREG(3, 3, 14, 3, 2)

#define BASE 1000000ull

struct fixture {
  uint64_t now;
  struct emu_timer t;
  bool level[32];
  unsigned edges;
};

static uint64_t fake_now(void *opaque) {
  return ((struct fixture *)opaque)->now;
}

static void output(void *opaque, unsigned intid, bool level) {
  struct fixture *f = opaque;
  assert_true(intid == 27 || intid == 30);
  assert_true(f->level[intid] != level); /* only real changes reported */
  f->level[intid] = level;
  f->edges++;
}

static void at_count(struct fixture *f, uint64_t count) {
  f->now = BASE + count * 16;
}

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  f->now = BASE;
  emu_timer_init(&f->t, fake_now, f, BASE, output, f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  free(*state);
  return 0;
}

static uint64_t rd(struct fixture *f, uint32_t enc) {
  uint64_t v = 0xdeadbeef;
  assert_true(emu_timer_read(&f->t, enc, &v));
  return v;
}

static void test_counter(void **state) {
  struct fixture *f = *state;
  assert_int_equal(rd(f, CNTFRQ), 62500000);
  assert_int_equal(rd(f, CNTPCT), 0);
  f->now = BASE + 1000000000ull; /* one second later */
  assert_int_equal(rd(f, CNTPCT), 62500000);
  assert_int_equal(rd(f, CNTVCT), 62500000);
  f->now = BASE + 15;
  assert_int_equal(rd(f, CNTPCT), 0);
  f->now = BASE + 16;
  assert_int_equal(rd(f, CNTPCT), 1);
  /* The counter and CTL.ISTATUS are read-only. */
  assert_false(emu_timer_write(&f->t, CNTPCT, 5));
  assert_false(emu_timer_write(&f->t, CNTVCT, 5));
  assert_false(
      emu_timer_read(&f->t, EMU_SYSREG(3, 0, 1, 0, 0), &(uint64_t){0}));
}

static void test_cval_fires(void **state) {
  struct fixture *f = *state;
  at_count(f, 100);
  assert_true(emu_timer_write(&f->t, CNTV_CVAL, 200));
  assert_int_equal(emu_timer_deadline_ns(&f->t), UINT64_MAX); /* disabled */
  assert_true(emu_timer_write(&f->t, CNTV_CTL, 1));
  assert_int_equal(emu_timer_deadline_ns(&f->t), BASE + 200 * 16);
  assert_int_equal(rd(f, CNTV_CTL), 1);
  at_count(f, 199);
  emu_timer_poll(&f->t);
  assert_false(f->level[27]);
  assert_int_equal(rd(f, CNTV_CTL), 1);
  at_count(f, 200);
  emu_timer_poll(&f->t);
  assert_true(f->level[27]);
  assert_false(f->level[30]);
  assert_int_equal(rd(f, CNTV_CTL), 5); /* ISTATUS */
  assert_int_equal(emu_timer_deadline_ns(&f->t), UINT64_MAX);
  /* IMASK lowers the output, ISTATUS stays. */
  assert_true(emu_timer_write(&f->t, CNTV_CTL, 3));
  assert_false(f->level[27]);
  assert_int_equal(rd(f, CNTV_CTL), 7);
  assert_true(emu_timer_write(&f->t, CNTV_CTL, 1));
  assert_true(f->level[27]);
  /* Moving CVAL to the future (what Linux's handler does) lowers it. */
  assert_true(emu_timer_write(&f->t, CNTV_CVAL, 1000));
  assert_false(f->level[27]);
  assert_int_equal(emu_timer_deadline_ns(&f->t), BASE + 1000 * 16);
  /* Disabling: low, no deadline. */
  assert_true(emu_timer_write(&f->t, CNTV_CTL, 0));
  assert_int_equal(emu_timer_deadline_ns(&f->t), UINT64_MAX);
  assert_int_equal(f->edges, 4);
}

static void test_tval(void **state) {
  struct fixture *f = *state;
  at_count(f, 100);
  assert_true(emu_timer_write(&f->t, CNTP_CTL, 1));
  assert_true(emu_timer_write(&f->t, CNTP_TVAL, 50));
  assert_int_equal(rd(f, CNTP_CVAL), 150);
  at_count(f, 120);
  assert_int_equal(rd(f, CNTP_TVAL), 30);
  at_count(f, 160);
  emu_timer_poll(&f->t);
  assert_true(f->level[30]);
  assert_false(f->level[27]);
  /* After the deadline TVAL counts down below zero (32-bit view). */
  assert_int_equal(rd(f, CNTP_TVAL), 0xfffffff6u);
  /* A negative TVAL puts CVAL in the past: fires at once. */
  assert_true(emu_timer_write(&f->t, CNTP_TVAL, 1000));
  assert_false(f->level[30]);
  assert_true(emu_timer_write(&f->t, CNTP_TVAL, 0xfffffff0u));
  assert_int_equal(rd(f, CNTP_CVAL), 144);
  assert_true(f->level[30]);
}

static void test_two_timers_deadline(void **state) {
  struct fixture *f = *state;
  at_count(f, 10);
  emu_timer_write(&f->t, CNTP_CVAL, 500);
  emu_timer_write(&f->t, CNTV_CVAL, 300);
  emu_timer_write(&f->t, CNTP_CTL, 1);
  emu_timer_write(&f->t, CNTV_CTL, 1);
  assert_int_equal(emu_timer_deadline_ns(&f->t), BASE + 300 * 16);
  /* A masked timer does not wake WFI. */
  emu_timer_write(&f->t, CNTV_CTL, 3);
  assert_int_equal(emu_timer_deadline_ns(&f->t), BASE + 500 * 16);
  emu_timer_write(&f->t, CNTV_CTL, 1);
  at_count(f, 300);
  emu_timer_poll(&f->t);
  assert_true(f->level[27]);
  assert_false(f->level[30]);
  assert_int_equal(emu_timer_deadline_ns(&f->t), BASE + 500 * 16);
  at_count(f, 501);
  emu_timer_poll(&f->t);
  assert_true(f->level[30]);
  /* A CVAL far in the future never overflows into a past deadline. */
  emu_timer_write(&f->t, CNTP_CVAL, UINT64_MAX);
  emu_timer_write(&f->t, CNTV_CVAL, UINT64_MAX / 8);
  assert_int_equal(emu_timer_deadline_ns(&f->t), UINT64_MAX);
  assert_false(f->level[30]);
  assert_false(f->level[27]);
}

static void test_host_clock(void **state) {
  (void)state;
  /* The default clock is monotonic (never goes back). */
  uint64_t a = emu_timer_host_ns(NULL), b = emu_timer_host_ns(NULL);
  assert_true(b >= a);
  struct emu_timer t;
  emu_timer_init(&t, NULL, NULL, a, NULL, NULL);
  uint64_t c1 = emu_timer_count(&t), c2 = emu_timer_count(&t);
  assert_true(c2 >= c1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_counter, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cval_fires, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tval, setup, teardown),
      cmocka_unit_test_setup_teardown(test_two_timers_deadline, setup,
                                      teardown),
      cmocka_unit_test(test_host_clock),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
