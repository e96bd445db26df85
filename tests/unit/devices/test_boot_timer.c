/* test_boot_timer.c — the boot timer calls back on the first write only,
 * even with several threads writing at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "devices/boot_timer.h"

static void count_cb(void *opaque) {
  atomic_fetch_add((atomic_int *)opaque, 1);
}

static void test_fires_once(void **state) {
  (void)state;
  atomic_int n = 0;
  struct vmk_boot_timer *t;
  vmk_error err = {0};
  assert_int_equal(vmk_boot_timer_create(count_cb, &n, &t, &err), 0);
  assert_int_equal(vmk_boot_timer_ops.read(t, 0, 1), 0);
  assert_int_equal(atomic_load(&n), 0); /* reads do not fire */
  vmk_boot_timer_ops.write(t, 0, 1, 123);
  assert_int_equal(atomic_load(&n), 1);
  vmk_boot_timer_ops.write(t, 0, 1, 123);
  vmk_boot_timer_ops.write(t, 0, 4, 0);
  assert_int_equal(atomic_load(&n), 1);
  vmk_boot_timer_destroy(t);
}

struct race {
  struct vmk_boot_timer *t;
  pthread_barrier_t *go;
};

static void *writer(void *arg) {
  struct race *r = arg;
  pthread_barrier_wait(r->go);
  vmk_boot_timer_ops.write(r->t, 0, 1, 1);
  return NULL;
}

static void test_fires_once_concurrently(void **state) {
  (void)state;
  atomic_int n = 0;
  struct vmk_boot_timer *t;
  vmk_error err = {0};
  assert_int_equal(vmk_boot_timer_create(count_cb, &n, &t, &err), 0);
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, 4);
  struct race r = {t, &go};
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, writer, &r);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  pthread_barrier_destroy(&go);
  assert_int_equal(atomic_load(&n), 1);
  vmk_boot_timer_destroy(t);
}

static void test_null_callback(void **state) {
  (void)state;
  struct vmk_boot_timer *t;
  assert_int_equal(vmk_boot_timer_create(NULL, NULL, &t, NULL), 0);
  vmk_boot_timer_ops.write(t, 0, 1, 1);
  vmk_boot_timer_destroy(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fires_once),
      cmocka_unit_test(test_fires_once_concurrently),
      cmocka_unit_test(test_null_callback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
