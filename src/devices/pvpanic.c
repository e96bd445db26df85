/* pvpanic.c — the pvpanic MMIO register (QEMU docs/specs/pvpanic.rst): a
 * read of byte 0 returns the events the device supports, a write of byte 0
 * reports events. Linux's pvpanic-mmio driver writes PANICKED (or
 * CRASH_LOADED when a crash kernel takes over) from its panic notifier.
 *
 * The guest controls the offset, the size and the value: only byte 0 is a
 * register (other offsets read 0 and ignore writes), and only the supported
 * bits of the low byte count.
 *
 * Threads: vCPU threads; `fired` is atomic so two vCPUs panicking at once
 * still call the callback exactly once. */
#include "pvpanic.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

struct vmk_pvpanic {
  void (*cb)(void *opaque);
  void *opaque;
  atomic_bool fired;
};

static uint64_t pvp_read(void *opaque, uint64_t off, unsigned size) {
  (void)opaque;
  (void)size;
  return off == 0 ? VMK_PVPANIC_EVENTS : 0;
}

static void pvp_write(void *opaque, uint64_t off, unsigned size, uint64_t val) {
  struct vmk_pvpanic *p = opaque;
  (void)size;
  if (off != 0 || !(val & VMK_PVPANIC_PANICKED))
    return;
  if (!atomic_exchange(&p->fired, true) && p->cb)
    p->cb(p->opaque);
}

const struct vmk_mmio_ops vmk_pvpanic_ops = {
    .read = pvp_read,
    .write = pvp_write,
};

int vmk_pvpanic_create(void (*cb)(void *opaque), void *opaque,
                       struct vmk_pvpanic **out, vmk_error *err) {
  struct vmk_pvpanic *p = calloc(1, sizeof(*p));
  *out = NULL;
  if (!p)
    return vmk_err(err, -ENOMEM, "out of memory creating the pvpanic device");
  p->cb = cb;
  p->opaque = opaque;
  atomic_init(&p->fired, false);
  *out = p;
  return 0;
}

void vmk_pvpanic_destroy(struct vmk_pvpanic *p) { free(p); }
