/* pl031.h — ARM PrimeCell PL031 real-time clock: the guest reads the host's
 * wall-clock time (seconds since the epoch) and may set its own offset.
 *
 * Threads: vCPU threads call the MMIO ops; with an I/O loop attached, the
 * alarm's timer fires on the I/O thread. A mutex inside the device protects
 * its state. */
#ifndef VMK_DEVICES_PL031_H
#define VMK_DEVICES_PL031_H

#include "base/error.h"
#include "base/io_loop.h"
#include "base/sbuf.h"
#include "devices/bus.h"
#include "devices/irq.h"

struct vmk_pl031;

int vmk_pl031_create(struct vmk_irq_line irq, struct vmk_pl031 **out,
                     vmk_error *err);
extern const struct vmk_mmio_ops vmk_pl031_ops;
/* Optional: a host timer on loop raises the match interrupt when the
 * counter reaches the match register, so a guest waiting for its RTC alarm
 * wakes. Without it the match is only noticed when the guest touches the
 * RTC. Call before the VM runs. */
int vmk_pl031_attach_loop(struct vmk_pl031 *rtc, struct vmk_io_loop *loop,
                          vmk_error *err);
/* After the vCPUs and the I/O loop have stopped, before the loop is
 * destroyed. */
void vmk_pl031_destroy(struct vmk_pl031 *rtc);

/* Snapshots (VM paused): the registers and the guest-visible state;
 * load takes them from an untrusted snapshot (checked) before the VM runs
 * and sets the interrupt line to match. */
void vmk_pl031_save(struct vmk_pl031 *d, struct vmk_sbuf *out);
int vmk_pl031_load(struct vmk_pl031 *d, const void *data, size_t len,
                   vmk_error *err);

#endif
