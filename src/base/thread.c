/* thread.c — vmk_thread_create: pthread_create with a small stack (see
 * thread.h for why). Called from whichever thread starts another. */
#include "base/thread.h"

int vmk_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg) {
  pthread_attr_t attr;
  int r = pthread_attr_init(&attr);
  if (r)
    return r;
  r = pthread_attr_setstacksize(&attr, VMK_THREAD_STACK);
  if (r == 0)
    r = pthread_create(thread, &attr, fn, arg);
  pthread_attr_destroy(&attr);
  return r;
}
