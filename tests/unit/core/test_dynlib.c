/* test_dynlib.c — optional libraries opened at first use (base/dynlib.h):
 * a library that is there fills every slot; a missing library and a
 * missing function are errors whose sentence names the feature, the
 * library (or function) and the fix, with every slot left NULL. libz is
 * the library at hand (vmkit links it, so it is always installed). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/dynlib.h"

static void opens_and_finds(void **state) {
  (void)state;
  void *crc = NULL, *ver = NULL, *h = NULL;
  const struct vmk_dynsym syms[] = {{"crc32", &crc}, {"zlibVersion", &ver}};
  vmk_error err;
  assert_int_equal(
      vmk_dynlib_open("libz.so.1", syms, 2, "compression", "fix", &h, &err), 0);
  assert_non_null(h);
  assert_non_null(crc);
  const char *(*version)(void) = (const char *(*)(void))ver;
  assert_non_null(strchr(version(), '.'));
  vmk_dynlib_close(h);
  vmk_dynlib_close(NULL);
}

static void missing_library(void **state) {
  (void)state;
  void *f = (void *)1, *h = (void *)1;
  const struct vmk_dynsym syms[] = {{"f", &f}};
  vmk_error err;
  assert_int_equal(vmk_dynlib_open("libvmkit-no-such-lib.so.9", syms, 1,
                                   "NAT networking", "install it", &h, &err),
                   -ENOENT);
  assert_null(h);
  assert_null(f);
  assert_non_null(strstr(err.msg, "NAT networking needs "
                                  "libvmkit-no-such-lib.so.9, which cannot be "
                                  "loaded ("));
  assert_non_null(strstr(err.msg, "); install it"));
}

static void missing_function(void **state) {
  (void)state;
  void *a = (void *)1, *b = (void *)1, *h = (void *)1;
  const struct vmk_dynsym syms[] = {{"crc32", &a},
                                    {"vmkit_no_such_function", &b}};
  vmk_error err;
  assert_int_equal(
      vmk_dynlib_open("libz.so.1", syms, 2, "the API", "upgrade", &h, &err),
      -ENOSYS);
  assert_null(h);
  assert_null(a);
  assert_null(b);
  assert_non_null(strstr(err.msg, "vmkit_no_such_function"));
  assert_non_null(strstr(err.msg, "; upgrade"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(opens_and_finds),
      cmocka_unit_test(missing_library),
      cmocka_unit_test(missing_function),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
