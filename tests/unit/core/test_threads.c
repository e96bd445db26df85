/* test_threads.c — vmkit's own threads run on small stacks (base/thread.h:
 * a stack of 2 MiB or more can get a transparent huge page, 2 MiB of RSS
 * for nothing). Checks a vmk_thread_create thread and the I/O loop's. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/io_loop.h"
#include "base/thread.h"

static size_t my_stack_size(void) {
  pthread_attr_t a;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &a) == 0) {
    pthread_attr_getstacksize(&a, &size);
    pthread_attr_destroy(&a);
  }
  return size;
}

static void *report_stack(void *arg) {
  *(size_t *)arg = my_stack_size();
  return NULL;
}

static void thread_stack_is_small(void **state) {
  (void)state;
  size_t size = 0;
  pthread_t t;
  assert_int_equal(vmk_thread_create(&t, report_stack, &size), 0);
  pthread_join(t, NULL);
  assert_true(size > 0);
  assert_true(size <= VMK_THREAD_STACK);
  assert_true(size < (2u << 20));
}

struct seen {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  size_t size;
  int done;
};

static void on_loop(void *arg) {
  struct seen *s = arg;
  pthread_mutex_lock(&s->lock);
  s->size = my_stack_size();
  s->done = 1;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->lock);
}

static void io_loop_stack_is_small(void **state) {
  (void)state;
  struct vmk_io_loop loop;
  vmk_error err;
  struct seen s = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
  assert_int_equal(vmk_io_loop_init(&loop, &err), 0);
  assert_int_equal(vmk_io_loop_start(&loop, &err), 0);
  assert_int_equal(vmk_io_loop_call(&loop, on_loop, &s), 0);
  pthread_mutex_lock(&s.lock);
  while (!s.done)
    pthread_cond_wait(&s.cond, &s.lock);
  pthread_mutex_unlock(&s.lock);
  vmk_io_loop_stop(&loop);
  vmk_io_loop_destroy(&loop);
  assert_true(s.size > 0);
  assert_true(s.size < (2u << 20));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(thread_stack_is_small),
      cmocka_unit_test(io_loop_stack_is_small),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
