/* test_pl031.c — the PL031 RTC reads the host's wall-clock time, can be
 * set, and raises its match interrupt. Bounds come from time() read before
 * and after, so no duration is assumed. Single-threaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <time.h>

#include "devices/pl031.h"
#include "fake_irq.h"

#define DR 0x00
#define MR 0x04
#define LR 0x08
#define CR 0x0C
#define IMSC 0x10
#define RIS 0x14
#define MIS 0x18
#define ICR 0x1C

static uint32_t rd(struct vmk_pl031 *r, uint64_t off) {
  return (uint32_t)vmk_pl031_ops.read(r, off, 4);
}
static void wr(struct vmk_pl031 *r, uint64_t off, uint32_t v) {
  vmk_pl031_ops.write(r, off, 4, v);
}

static void test_reads_host_time(void **state) {
  (void)state;
  struct fake_irq irq = {0};
  struct vmk_pl031 *r;
  vmk_error err = {0};
  assert_int_equal(vmk_pl031_create(fake_irq_line(&irq, 2), &r, &err), 0);
  uint32_t before = (uint32_t)time(NULL);
  uint32_t dr = rd(r, DR);
  uint32_t after = (uint32_t)time(NULL);
  assert_true(dr >= before && dr <= after);
  assert_true(dr > 1700000000u); /* a sane, recent date */
  assert_int_equal(rd(r, CR), 1);
  static const uint8_t id[8] = {0x31, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
  for (int i = 0; i < 8; i++)
    assert_int_equal(rd(r, 0xFE0 + 4 * i), id[i]);
  wr(r, DR, 5); /* read-only */
  assert_true(rd(r, DR) >= before);
  vmk_pl031_destroy(r);
}

static void test_set_time_and_match(void **state) {
  (void)state;
  struct fake_irq irq = {0};
  struct vmk_pl031 *r;
  vmk_error err = {0};
  assert_int_equal(vmk_pl031_create(fake_irq_line(&irq, 2), &r, &err), 0);

  time_t t0 = time(NULL);
  wr(r, LR, 1000000);
  uint32_t dr = rd(r, DR);
  time_t t1 = time(NULL);
  assert_true(dr >= 1000000 && dr <= 1000000 + (uint32_t)(t1 - t0) + 1);

  /* a match far in the future does not fire */
  wr(r, IMSC, 1);
  wr(r, MR, 2000000);
  assert_int_equal(rd(r, RIS), 0);
  assert_false(irq.level[2]);

  /* a match already reached fires at once; ICR clears it */
  wr(r, MR, 999000);
  assert_int_equal(rd(r, RIS), 1);
  assert_int_equal(rd(r, MIS), 1);
  assert_true(irq.level[2]);
  wr(r, ICR, 1);
  assert_int_equal(rd(r, RIS), 0);
  assert_false(irq.level[2]);
  /* one match per MR write */
  assert_int_equal(rd(r, RIS), 0);

  /* masked: RIS set, no interrupt */
  wr(r, IMSC, 0);
  wr(r, MR, 999000);
  assert_int_equal(rd(r, RIS), 1);
  assert_int_equal(rd(r, MIS), 0);
  assert_false(irq.level[2]);
  vmk_pl031_destroy(r);
}

/* With an I/O loop attached the alarm raises the interrupt by itself: no
 * register is touched between arming it and checking the line. */
static void test_alarm_timer(void **state) {
  (void)state;
  struct fake_irq irq = {0};
  struct vmk_pl031 *r;
  struct vmk_io_loop loop;
  vmk_error err = {0};
  assert_int_equal(vmk_io_loop_init(&loop, &err), 0);
  assert_int_equal(vmk_pl031_create(fake_irq_line(&irq, 2), &r, &err), 0);
  assert_int_equal(vmk_pl031_attach_loop(r, &loop, &err), 0);
  wr(r, IMSC, 1);

  /* a match already due: the timer fires at once */
  wr(r, MR, rd(r, DR) - 10);
  /* (the write itself may have seen the match; clear and re-arm quietly) */
  wr(r, ICR, 1);
  assert_false(irq.level[2]);
  wr(r, MR, rd(r, DR) - 10);
  wr(r, ICR, 1);

  /* a match one second ahead: the loop wakes for it, and only for it */
  wr(r, MR, rd(r, DR) + 1);
  assert_false(irq.level[2]);
  int rounds = 0;
  while (!irq.level[2] && rounds++ < 10)
    vmk_io_loop_run_once(&loop, 1000);
  assert_true(irq.level[2]);
  assert_int_equal(rd(r, MIS), 1);
  wr(r, ICR, 1);
  assert_false(irq.level[2]);

  /* a match far ahead leaves the loop idle */
  wr(r, MR, rd(r, DR) + 3600);
  assert_int_equal(vmk_io_loop_run_once(&loop, 0), 0);
  vmk_pl031_destroy(r);
  vmk_io_loop_destroy(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reads_host_time),
      cmocka_unit_test(test_set_time_and_match),
      cmocka_unit_test(test_alarm_timer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
