/* pl061.h — ARM PrimeCell PL061 GPIO controller with a power button on
 * line 3, as QEMU's virt board wires it (the device tree's gpio-keys node
 * maps that line to KEY_POWER), so a host request can ask the guest to shut
 * down cleanly.
 *
 * Threads: vCPU threads call the MMIO ops, any thread may press the button;
 * a mutex inside the device protects its state. */
#ifndef VMK_DEVICES_PL061_H
#define VMK_DEVICES_PL061_H

#include "base/error.h"
#include "base/sbuf.h"
#include "devices/bus.h"
#include "devices/irq.h"

struct vmk_pl061;

#define VMK_PL061_POWER_LINE 3

int vmk_pl061_create(struct vmk_irq_line irq, struct vmk_pl061 **out,
                     vmk_error *err);
extern const struct vmk_mmio_ops vmk_pl061_ops;
/* Any thread: press the power key. The line goes high (an edge the guest's
 * gpio-keys driver sees) and is released once the guest has read it high,
 * which gives it a second edge to report the key's release. g may be NULL
 * (no power key): nothing happens. */
void vmk_pl061_press_power(struct vmk_pl061 *g);
void vmk_pl061_destroy(struct vmk_pl061 *g);

/* Snapshots (VM paused): the registers and the guest-visible state;
 * load takes them from an untrusted snapshot (checked) before the VM runs
 * and sets the interrupt line to match. */
void vmk_pl061_save(struct vmk_pl061 *d, struct vmk_sbuf *out);
int vmk_pl061_load(struct vmk_pl061 *d, const void *data, size_t len,
                   vmk_error *err);

#endif
