/* test_size.c — vmk_parse_size accepts sizes users type and rejects the
 * rest. Single-threaded. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/size.h"

static void accepts(void **state) {
  (void)state;
  uint64_t v;
  assert_int_equal(vmk_parse_size("512M", &v), 0);
  assert_int_equal(v, 512ull << 20);
  assert_int_equal(vmk_parse_size("2G", &v), 0);
  assert_int_equal(v, 2ull << 30);
  assert_int_equal(vmk_parse_size("2GiB", &v), 0);
  assert_int_equal(v, 2ull << 30);
  assert_int_equal(vmk_parse_size("64k", &v), 0);
  assert_int_equal(v, 64ull << 10);
  assert_int_equal(vmk_parse_size("1048576", &v), 0);
  assert_int_equal(v, 1048576);
  assert_int_equal(vmk_parse_size("1T", &v), 0);
  assert_int_equal(v, 1ull << 40);
}

static void rejects(void **state) {
  (void)state;
  uint64_t v = 7;
  const char *bad[] = {"",
                       "M",
                       "-1G",
                       "1.5G",
                       "12X",
                       "1GG",
                       " 1",
                       "1 G",
                       "99999999999999999999",
                       "17179869184G"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(vmk_parse_size(bad[i], &v), -EINVAL);
    assert_int_equal(v, 7);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(accepts),
                                     cmocka_unit_test(rejects)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
