/* test_pl061.c — the PL061 GPIO programmed the way Linux's gpio-pl061 and
 * gpio-keys drivers do, and the power key seen as press then release.
 * Single-threaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <stdlib.h>

#include "devices/pl061.h"
#include "fake_irq.h"

#define DIR 0x400
#define IS 0x404
#define IBE 0x408
#define IEV 0x40C
#define IE 0x410
#define RIS 0x414
#define MIS 0x418
#define IC 0x41C
#define KEY (1u << 3)
#define DATA_KEY (KEY << 2) /* data address with only line 3 unmasked */

struct fx {
  struct fake_irq irq;
  struct vmk_pl061 *g;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  vmk_error err = {0};
  if (vmk_pl061_create(fake_irq_line(&f->irq, 7), &f->g, &err))
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  vmk_pl061_destroy(f->g);
  free(f);
  return 0;
}

static uint32_t rd(struct fx *f, uint64_t off) {
  return (uint32_t)vmk_pl061_ops.read(f->g, off, 4);
}
static void wr(struct fx *f, uint64_t off, uint32_t v) {
  vmk_pl061_ops.write(f->g, off, 4, v);
}

static void test_ids_and_data_mask(void **state) {
  struct fx *f = *state;
  static const uint8_t id[8] = {0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
  for (int i = 0; i < 8; i++)
    assert_int_equal(rd(f, 0xFE0 + 4 * i), id[i]);
  /* outputs drive the data lines; the address masks which bits change */
  wr(f, DIR, 0x03);
  assert_int_equal(rd(f, DIR), 0x03);
  wr(f, 0x3FC, 0xff);                   /* all bits unmasked */
  assert_int_equal(rd(f, 0x3FC), 0x03); /* inputs read 0 */
  wr(f, 0x1 << 2, 0x00);                /* only bit 0 */
  assert_int_equal(rd(f, 0x3FC), 0x02);
  assert_int_equal(rd(f, 0x2 << 2), 0x02);
  assert_int_equal(rd(f, 0x1 << 2), 0x00);
  assert_false(f->irq.level[7]);
}

/* gpio-keys asks for both edges: IS=0, IBE=1, IE=1 on line 3 */
static void test_power_key_both_edges(void **state) {
  struct fx *f = *state;
  wr(f, IS, 0);
  wr(f, IBE, KEY);
  wr(f, IE, KEY);
  assert_false(f->irq.level[7]);

  vmk_pl061_press_power(f->g);
  assert_true(f->irq.level[7]);
  assert_int_equal(rd(f, MIS), KEY);
  wr(f, IC, KEY); /* the pl061 irq handler acks */
  assert_false(f->irq.level[7]);
  /* gpio-keys reads the line: pressed... */
  assert_int_equal(rd(f, DATA_KEY), KEY);
  /* ...which releases it: a second edge */
  assert_true(f->irq.level[7]);
  wr(f, IC, KEY);
  assert_false(f->irq.level[7]);
  assert_int_equal(rd(f, DATA_KEY), 0);
  assert_false(f->irq.level[7]);

  /* reading other lines does not release the key */
  vmk_pl061_press_power(f->g);
  wr(f, IC, KEY);
  assert_int_equal(rd(f, 0x1 << 2), 0);
  assert_int_equal(rd(f, DATA_KEY), KEY);
  wr(f, IC, KEY);
}

static void test_power_key_rising_only(void **state) {
  struct fx *f = *state;
  wr(f, IEV, KEY);
  wr(f, IE, KEY);
  vmk_pl061_press_power(f->g);
  assert_true(f->irq.level[7]);
  wr(f, IC, KEY);
  assert_int_equal(rd(f, DATA_KEY), KEY); /* release: falling, ignored */
  assert_false(f->irq.level[7]);
  assert_int_equal(rd(f, RIS), 0);

  /* pressing twice before the guest looks still makes a new edge */
  vmk_pl061_press_power(f->g);
  wr(f, IC, KEY);
  vmk_pl061_press_power(f->g);
  assert_true(f->irq.level[7]);
}

static void test_level_and_mask(void **state) {
  struct fx *f = *state;
  /* level, high: raw interrupt follows the line */
  wr(f, IS, KEY);
  wr(f, IEV, KEY);
  vmk_pl061_press_power(f->g);
  assert_int_equal(rd(f, RIS), KEY);
  assert_false(f->irq.level[7]); /* masked */
  wr(f, IE, KEY);
  assert_true(f->irq.level[7]);
  wr(f, IC, KEY); /* IC does not clear a level interrupt */
  assert_true(f->irq.level[7]);
  assert_int_equal(rd(f, DATA_KEY), KEY); /* released */
  assert_int_equal(rd(f, RIS), 0);
  assert_false(f->irq.level[7]);
}

/* Linux's gpio-pl061 uses byte accesses (readb/writeb) throughout. */
static void test_byte_access_like_linux(void **state) {
  struct fx *f = *state;
  vmk_pl061_ops.write(f->g, IS, 1, 0);
  vmk_pl061_ops.write(f->g, IBE, 1, KEY);
  vmk_pl061_ops.write(f->g, IE, 1, KEY);
  vmk_pl061_press_power(f->g);
  assert_true(f->irq.level[7]);
  assert_int_equal(vmk_pl061_ops.read(f->g, MIS, 1), KEY);
  vmk_pl061_ops.write(f->g, IC, 1, KEY);
  assert_false(f->irq.level[7]);
  assert_int_equal(vmk_pl061_ops.read(f->g, DATA_KEY, 1), KEY);
  assert_true(f->irq.level[7]); /* release edge */
  vmk_pl061_ops.write(f->g, IC, 1, KEY);
  assert_int_equal(vmk_pl061_ops.read(f->g, DATA_KEY, 1), 0);
  assert_int_equal(vmk_pl061_ops.read(f->g, 0xFE0, 1), 0x61);
  vmk_pl061_press_power(NULL); /* no power key: a no-op */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_ids_and_data_mask),      T(test_power_key_both_edges),
      T(test_power_key_rising_only),  T(test_level_and_mask),
      T(test_byte_access_like_linux),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
