/* boot_timer.c — one MMIO byte; the guest's first write (any value, any
 * size, any offset in the region) calls the callback, later writes do
 * nothing. Reads return 0.
 *
 * Threads: vCPU threads; `fired` is atomic so two vCPUs writing at once
 * still call the callback exactly once. */
#include "boot_timer.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

struct vmk_boot_timer {
  void (*cb)(void *opaque);
  void *opaque;
  atomic_bool fired;
};

static uint64_t bt_read(void *opaque, uint64_t off, unsigned size) {
  (void)opaque;
  (void)off;
  (void)size;
  return 0;
}

static void bt_write(void *opaque, uint64_t off, unsigned size, uint64_t val) {
  struct vmk_boot_timer *t = opaque;
  (void)off;
  (void)size;
  (void)val;
  if (!atomic_exchange(&t->fired, true) && t->cb)
    t->cb(t->opaque);
}

const struct vmk_mmio_ops vmk_boot_timer_ops = {
    .read = bt_read,
    .write = bt_write,
};

int vmk_boot_timer_create(void (*cb)(void *opaque), void *opaque,
                          struct vmk_boot_timer **out, vmk_error *err) {
  struct vmk_boot_timer *t = calloc(1, sizeof(*t));
  *out = NULL;
  if (!t)
    return vmk_err(err, -ENOMEM, "out of memory creating the boot timer");
  t->cb = cb;
  t->opaque = opaque;
  atomic_init(&t->fired, false);
  *out = t;
  return 0;
}

void vmk_boot_timer_destroy(struct vmk_boot_timer *t) { free(t); }
