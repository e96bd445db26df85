/* startup_trace.c — start-up stage timestamps (startup_trace.h).
 *
 * Threads: any; reads only the process's own /proc entries and clocks, no
 * shared state.
 */
#include "base/startup_trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

bool vmk_startup_trace_on(void) {
  const char *v = getenv("VMKIT_TRACE_START");
  return v && strcmp(v, "1") == 0;
}

/* Seconds since boot at which this process was created (field 22 of
 * /proc/self/stat, in clock ticks), or -1. */
static double process_start_s(void) {
  FILE *f = fopen("/proc/self/stat", "re");
  if (!f)
    return -1;
  char buf[1024];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = 0;
  /* The command name may hold spaces and parentheses: fields count from
   * the last ')'. */
  char *p = strrchr(buf, ')');
  if (!p)
    return -1;
  unsigned long long start = 0;
  /* After ')': state is field 3, starttime field 22. */
  if (sscanf(p + 1,
             " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
             "%*d %*d %*d %*d %llu",
             &start) != 1)
    return -1;
  long hz = sysconf(_SC_CLK_TCK);
  return hz > 0 ? (double)start / (double)hz : -1;
}

void vmk_startup_mark(bool on, const char *stage) {
  if (!on)
    return;
  struct timespec now;
  clock_gettime(CLOCK_BOOTTIME, &now);
  double since = -1, start = process_start_s();
  if (start >= 0)
    since = (double)now.tv_sec + now.tv_nsec / 1e9 - start;
  struct rusage ru;
  double u = 0, s = 0;
  if (getrusage(RUSAGE_THREAD, &ru) == 0) {
    u = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    s = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  }
  fprintf(stderr, "vmkit-start: %8.3f s  thread user %.3f sys %.3f  %s\n",
          since, u, s, stage);
}
