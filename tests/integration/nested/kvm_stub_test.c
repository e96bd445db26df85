/* kvm_stub_test.c — on hosts that are not arm64 Linux the kvm engine is a
 * stub: its probe and create must fail with one sentence that says what the
 * kvm engine needs and where it is tested (tests/integration/nested).
 * Single-threaded cmocka test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.h"

static void probe_explains(void **state) {
  (void)state;
  vmk_error err = {0, ""};
  int r = vmk_engine_kvm_ops.probe(&err);
  assert_int_equal(r, -ENODEV);
  assert_int_equal(err.code, -ENODEV);
  assert_non_null(strstr(err.msg, "arm64 Linux host"));
  assert_non_null(strstr(err.msg, "/dev/kvm"));
  assert_non_null(strstr(err.msg, "tests/integration/nested"));
  /* One sentence: a single full stop, at the end. */
  size_t n = strlen(err.msg);
  assert_true(n > 0 && err.msg[n - 1] == '.');
  assert_null(strchr(err.msg, '\n'));
}

static void create_fails_cleanly(void **state) {
  (void)state;
  vmk_error err = {0, ""};
  struct vmk_engine *e = (struct vmk_engine *)&err; /* must be reset */
  struct vmk_engine_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.cpus = 1;
  assert_int_equal(vmk_engine_kvm_ops.create(&cfg, &e, &err), -ENODEV);
  assert_null(e);
  assert_string_equal(vmk_engine_kvm_ops.name, "kvm");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(probe_explains),
      cmocka_unit_test(create_fails_cleanly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
