/* entropy.c — host randomness from getrandom(2) (the urandom pool, which
 * never blocks once the host booted). Any thread; no state. */
#include "backends/entropy.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

int vmk_entropy_fill(void *buf, size_t len) {
  uint8_t *p = buf;
  while (len) {
    ssize_t r = getrandom(p, len, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += r;
    len -= (size_t)r;
  }
  return 0;
}
