/* threads.c — a threaded static program under `vmkit exec`: while threads
 * are not emulated, pthread_create must fail cleanly (an error, no crash)
 * and vmkit must say so once on stderr however often it is tried. The
 * program then does its work on the main thread and exits 0.
 * Main thread; the created threads, where they exist, only add numbers. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void *work(void *arg) {
  long *n = arg;
  for (int i = 0; i < 1000; i++)
    *n += i;
  return NULL;
}

int main(void) {
  long sums[3] = {0};
  pthread_t t[3];
  int made[3];
  for (int i = 0; i < 3; i++) {
    made[i] = pthread_create(&t[i], NULL, work, &sums[i]) == 0;
    if (!made[i]) {
      printf("pthread_create %d failed: running on the main thread\n", i);
      work(&sums[i]);
    }
  }
  for (int i = 0; i < 3; i++)
    if (made[i])
      pthread_join(t[i], NULL);
  long total = sums[0] + sums[1] + sums[2];
  printf("%s total %ld\n", total == 3 * 499500 ? "ok  " : "FAIL", total);
  return 0;
}
