/* test_pvpanic.c — the pvpanic register: reads offer PANICKED and
 * CRASH_LOADED; only a write of PANICKED to byte 0 calls back, once, even
 * with several vCPU threads panicking at once; other offsets, other bits
 * and CRASH_LOADED alone call nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "devices/pvpanic.h"

static void count_cb(void *opaque) {
  atomic_fetch_add((atomic_int *)opaque, 1);
}

static void test_reads_offer_events(void **state) {
  (void)state;
  atomic_int n = 0;
  struct vmk_pvpanic *p;
  vmk_error err = {0};
  assert_int_equal(vmk_pvpanic_create(count_cb, &n, &p, &err), 0);
  /* Linux's driver reads byte 0 for the events it may report. */
  assert_int_equal(vmk_pvpanic_ops.read(p, 0, 1), 3);
  assert_int_equal(vmk_pvpanic_ops.read(p, 1, 1), 0);
  assert_int_equal(vmk_pvpanic_ops.read(p, 0xfff, 1), 0);
  assert_int_equal(atomic_load(&n), 0);
  vmk_pvpanic_destroy(p);
}

static void test_ignored_writes(void **state) {
  (void)state;
  atomic_int n = 0;
  struct vmk_pvpanic *p;
  assert_int_equal(vmk_pvpanic_create(count_cb, &n, &p, NULL), 0);
  vmk_pvpanic_ops.write(p, 0, 1, 0);                        /* no event */
  vmk_pvpanic_ops.write(p, 0, 1, VMK_PVPANIC_CRASH_LOADED); /* kdump goes on */
  vmk_pvpanic_ops.write(p, 0, 1, 0xfc);                     /* unknown bits */
  vmk_pvpanic_ops.write(p, 0, 8, 0xffffffffffffff00ull); /* not the low byte */
  vmk_pvpanic_ops.write(p, 1, 1, VMK_PVPANIC_PANICKED);  /* not byte 0 */
  vmk_pvpanic_ops.write(p, 0x800, 4, VMK_PVPANIC_PANICKED);
  assert_int_equal(atomic_load(&n), 0);
  vmk_pvpanic_ops.write(p, 0, 1, VMK_PVPANIC_PANICKED | 0xf0);
  assert_int_equal(atomic_load(&n), 1);
  vmk_pvpanic_ops.write(p, 0, 1, VMK_PVPANIC_PANICKED);
  vmk_pvpanic_ops.write(p, 0, 4, VMK_PVPANIC_PANICKED);
  assert_int_equal(atomic_load(&n), 1);
  vmk_pvpanic_destroy(p);
}

struct race {
  struct vmk_pvpanic *p;
  pthread_barrier_t *go;
};

static void *writer(void *arg) {
  struct race *r = arg;
  pthread_barrier_wait(r->go);
  vmk_pvpanic_ops.write(r->p, 0, 1, VMK_PVPANIC_PANICKED);
  return NULL;
}

static void test_fires_once_concurrently(void **state) {
  (void)state;
  atomic_int n = 0;
  struct vmk_pvpanic *p;
  assert_int_equal(vmk_pvpanic_create(count_cb, &n, &p, NULL), 0);
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, 4);
  struct race r = {p, &go};
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, writer, &r);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  pthread_barrier_destroy(&go);
  assert_int_equal(atomic_load(&n), 1);
  vmk_pvpanic_destroy(p);
}

static void test_null_callback(void **state) {
  (void)state;
  struct vmk_pvpanic *p;
  assert_int_equal(vmk_pvpanic_create(NULL, NULL, &p, NULL), 0);
  vmk_pvpanic_ops.write(p, 0, 1, VMK_PVPANIC_PANICKED);
  vmk_pvpanic_destroy(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reads_offer_events),
      cmocka_unit_test(test_ignored_writes),
      cmocka_unit_test(test_fires_once_concurrently),
      cmocka_unit_test(test_null_callback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
