/* boot_timer.h — the opt-in boot-timer device: one MMIO byte the guest's
 * /init writes when it starts work, so vmkit can report boot time (the
 * method Firecracker uses). Only the first write counts.
 *
 * Threads: vCPU threads write; the callback runs on the writing vCPU's
 * thread, once. An atomic flag is the only shared state. */
#ifndef VMK_DEVICES_BOOT_TIMER_H
#define VMK_DEVICES_BOOT_TIMER_H

#include "base/error.h"
#include "devices/bus.h"

struct vmk_boot_timer;

int vmk_boot_timer_create(void (*cb)(void *opaque), void *opaque,
                          struct vmk_boot_timer **out, vmk_error *err);
extern const struct vmk_mmio_ops vmk_boot_timer_ops;
void vmk_boot_timer_destroy(struct vmk_boot_timer *t);

#endif
