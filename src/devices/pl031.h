/* pl031.h — ARM PrimeCell PL031 real-time clock: the guest reads the host's
 * wall-clock time (seconds since the epoch) and may set its own offset.
 *
 * Threads: vCPU threads call the MMIO ops; a mutex inside the device
 * protects its state. */
#ifndef VMK_DEVICES_PL031_H
#define VMK_DEVICES_PL031_H

#include "base/error.h"
#include "devices/bus.h"
#include "devices/irq.h"

struct vmk_pl031;

int vmk_pl031_create(struct vmk_irq_line irq, struct vmk_pl031 **out,
                     vmk_error *err);
extern const struct vmk_mmio_ops vmk_pl031_ops;
void vmk_pl031_destroy(struct vmk_pl031 *rtc);

#endif
