/* pvpanic.h — QEMU's pvpanic device on MMIO ("qemu,pvpanic-mmio"): one byte
 * register the guest kernel writes from its panic notifier, so the host
 * learns of a guest kernel panic at once instead of seeing a hung guest.
 *
 * Threads: vCPU threads read and write; the callback runs on the writing
 * vCPU's thread, at most once. An atomic flag is the only shared state. */
#ifndef VMK_DEVICES_PVPANIC_H
#define VMK_DEVICES_PVPANIC_H

#include <stdint.h>

#include "base/error.h"
#include "devices/bus.h"

/* Event bits of the register (QEMU docs/specs/pvpanic.rst). */
#define VMK_PVPANIC_PANICKED (1u << 0)     /* the guest kernel panicked */
#define VMK_PVPANIC_CRASH_LOADED (1u << 1) /* ...and runs its crash kernel */
/* What this device offers; a read of the register returns it. */
#define VMK_PVPANIC_EVENTS (VMK_PVPANIC_PANICKED | VMK_PVPANIC_CRASH_LOADED)

struct vmk_pvpanic;

/* cb(opaque) runs once, on the first write with the PANICKED bit. A write
 * of CRASH_LOADED alone calls nothing: the guest goes on into its crash
 * kernel (kdump), as under QEMU; offering the bit is what lets Linux say
 * so instead of reporting PANICKED. */
int vmk_pvpanic_create(void (*cb)(void *opaque), void *opaque,
                       struct vmk_pvpanic **out, vmk_error *err);
extern const struct vmk_mmio_ops vmk_pvpanic_ops;
void vmk_pvpanic_destroy(struct vmk_pvpanic *p);

#endif
