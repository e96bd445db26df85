/* test_mmio_random.c — the guest is the attacker: a long, seeded stream of
 * random register accesses (any offset in the page, any size, any value)
 * to every platform device must neither crash (ASan/UBSan builds) nor
 * leave a device unusable. Single-threaded; fixed seeds, so a failure
 * reproduces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "devices/boot_timer.h"
#include "devices/pl011.h"
#include "devices/pl031.h"
#include "devices/pl061.h"
#include "fake_irq.h"

static uint64_t rng(uint64_t *s) { /* xorshift64* */
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1Dull;
}

static void hammer(const struct vmk_mmio_ops *ops, void *dev, uint64_t seed,
                   int rounds) {
  static const unsigned sizes[4] = {1, 2, 4, 8};
  uint64_t s = seed;
  for (int i = 0; i < rounds; i++) {
    uint64_t r = rng(&s);
    uint64_t off = (r >> 8) % 0x1000;
    if ((r & 7) == 0)
      off &= 0x7C; /* favour the low registers where the logic lives */
    unsigned size = sizes[(r >> 4) & 3];
    if (off + size > 0x1000)
      off = 0x1000 - size;
    if (r & 1)
      ops->write(dev, off, size, rng(&s));
    else
      (void)ops->read(dev, off, size);
  }
}

static void test_pl011_random(void **state) {
  (void)state;
  int in[2], out[2];
  assert_int_equal(pipe(in), 0);
  assert_int_equal(pipe(out), 0);
  /* a full non-blocking pipe must not stall the guest */
  fcntl(out[1], F_SETFL, O_NONBLOCK);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  struct vmk_io_loop loop;
  vmk_error err = {0};
  assert_int_equal(vmk_io_loop_init(&loop, &err), 0);
  struct fake_irq irq = {0};
  struct vmk_pl011 *u;
  assert_int_equal(
      vmk_pl011_create(in[0], out[1], fake_irq_line(&irq, 1), &loop, &u, &err),
      0);
  char junk[64];
  for (int round = 0; round < 50; round++) {
    assert_int_equal(write(in[1], "0123456789abcdefghijklmnopqrstuv", 32), 32);
    vmk_io_loop_run_once(&loop, 0);
    hammer(&vmk_pl011_ops, u, 0x1234 + (uint64_t)round, 2000);
    if (round % 2) /* every other round: let the output pipe fill up */
      while (read(out[0], junk, sizeof(junk)) == (ssize_t)sizeof(junk))
        ;
  }
  /* still a working UART: FIFOs on, drain, read a fresh byte */
  vmk_pl011_ops.write(u, 0x30, 4, 0x301); /* CR: no loopback */
  vmk_pl011_ops.write(u, 0x2C, 4, 0x70);
  while (!(vmk_pl011_ops.read(u, 0x18, 4) & 0x10)) {
    (void)vmk_pl011_ops.read(u, 0x00, 4);
    vmk_io_loop_run_once(&loop, 0);
  }
  vmk_pl011_destroy(u);
  vmk_io_loop_destroy(&loop);
  close(in[0]);
  close(in[1]);
  close(out[0]);
  close(out[1]);
}

static void test_pl031_pl061_boot_timer_random(void **state) {
  (void)state;
  struct fake_irq irq = {0};
  vmk_error err = {0};
  struct vmk_pl031 *rtc;
  struct vmk_pl061 *gpio;
  struct vmk_boot_timer *bt;
  assert_int_equal(vmk_pl031_create(fake_irq_line(&irq, 2), &rtc, &err), 0);
  assert_int_equal(vmk_pl061_create(fake_irq_line(&irq, 7), &gpio, &err), 0);
  assert_int_equal(vmk_boot_timer_create(NULL, NULL, &bt, &err), 0);
  for (int round = 0; round < 20; round++) {
    hammer(&vmk_pl031_ops, rtc, 0x99 + (uint64_t)round, 5000);
    hammer(&vmk_pl061_ops, gpio, 0x77 + (uint64_t)round, 5000);
    vmk_pl061_press_power(gpio);
    hammer(&vmk_boot_timer_ops, bt, 0x55 + (uint64_t)round, 100);
  }
  /* the RTC still reads back an offset it was given */
  vmk_pl031_ops.write(rtc, 0x08, 4, 42);
  assert_true(vmk_pl031_ops.read(rtc, 0x00, 4) >= 42);
  /* the GPIO's interrupt line follows its registers after the storm */
  vmk_pl061_ops.write(gpio, 0x410, 4, 0); /* IE: all masked */
  assert_false(irq.level[7]);
  vmk_pl031_ops.write(rtc, 0x10, 4, 0); /* IMSC: masked */
  assert_false(irq.level[2]);
  vmk_pl031_destroy(rtc);
  vmk_pl061_destroy(gpio);
  vmk_boot_timer_destroy(bt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pl011_random),
      cmocka_unit_test(test_pl031_pl061_boot_timer_random),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
