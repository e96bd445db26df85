/* virt.h — one-call assembly of the arm64 "virt" machine's platform side:
 * the non-virtio devices on the bus at their memmap.h addresses, and the
 * boot payload (kernel, initrd, device tree) in guest RAM.
 *
 * Called on the VM-building thread before the vCPUs start; the devices
 * then run on vCPU and I/O threads with their own locks (see their
 * headers). */
#ifndef VMK_MACHINE_VIRT_H
#define VMK_MACHINE_VIRT_H

#include <stdbool.h>

#include "base/error.h"
#include "base/guest_mem.h"
#include "base/io_loop.h"
#include "devices/boot_timer.h"
#include "devices/bus.h"
#include "devices/irq.h"
#include "devices/pl011.h"
#include "devices/pl031.h"
#include "devices/pl061.h"
#include "devices/pvpanic.h"
#include "machine/loader.h"

struct vmk_virt_platform_cfg {
  int console_in_fd, console_out_fd; /* -1: no console input / output */
  bool gpio_power_key;               /* PL061 with the power button */
  bool boot_timer;                   /* the opt-in boot-timer byte */
  void (*boot_timer_cb)(void *opaque);
  void *boot_timer_opaque;
  bool pvpanic; /* the pvpanic-mmio device */
  void (*pvpanic_cb)(void *opaque);
  void *pvpanic_opaque;
};

struct vmk_virt_platform {
  struct vmk_pl011 *uart;
  struct vmk_pl031 *rtc;
  struct vmk_pl061 *gpio;            /* NULL unless gpio_power_key */
  struct vmk_boot_timer *boot_timer; /* NULL unless boot_timer */
  struct vmk_pvpanic *pvpanic;       /* NULL unless pvpanic */
};

/* Creates the PL011, PL031 and the optional PL061 and boot timer, wired to
 * chip's SPIs from memmap.h, and adds them to bus. loop serves console
 * input and the RTC alarm timer (may be NULL when console_in_fd is -1; the
 * RTC alarm then only fires when the guest reads the RTC). On failure
 * nothing stays registered or allocated. */
int vmk_virt_platform_create(const struct vmk_virt_platform_cfg *cfg,
                             struct vmk_bus *bus,
                             const struct vmk_irq_chip *chip,
                             struct vmk_io_loop *loop,
                             struct vmk_virt_platform *out, vmk_error *err);
/* After the vCPUs and the I/O loop have stopped (not yet destroyed). The
 * bus regions must not be used afterwards. */
void vmk_virt_platform_destroy(struct vmk_virt_platform *p);

struct vmk_virt_boot_cfg {
  const char *kernel; /* uncompressed arm64 Image */
  const char *initrd; /* NULL: none */
  const char *cmdline;
  unsigned cpus;
  unsigned virtio_slots; /* virtio-mmio nodes for slots 0..n-1 */
  bool gpio_power_key, boot_timer, psci_smc; /* must match the platform */
  bool pvpanic;                              /* likewise */
};

/* Loads the kernel and initrd into gm and writes the device tree at
 * out->fdt_gpa. The boot CPU then starts at out->entry with x0 = fdt_gpa,
 * x1 = x2 = x3 = 0, MMU and D-cache off, as booting.rst asks. */
int vmk_virt_boot_prepare(const struct vmk_guest_mem *gm,
                          const struct vmk_virt_boot_cfg *cfg,
                          struct vmk_boot_layout *out, vmk_error *err);

#endif
