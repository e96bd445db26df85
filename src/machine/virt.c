/* virt.c — assembles the "virt" machine's platform devices and boot payload
 * from the pieces in src/devices and src/machine. Runs on the VM-building
 * thread; it keeps no state of its own beyond what it returns. */
#include "virt.h"

#include <errno.h>
#include <string.h>

#include "machine/fdt.h"
#include "machine/memmap.h"

void vmk_virt_platform_destroy(struct vmk_virt_platform *p) {
  vmk_pl011_destroy(p->uart);
  vmk_pl031_destroy(p->rtc);
  vmk_pl061_destroy(p->gpio);
  vmk_boot_timer_destroy(p->boot_timer);
  vmk_pvpanic_destroy(p->pvpanic);
  memset(p, 0, sizeof(*p));
}

static struct vmk_irq_line spi(const struct vmk_irq_chip *chip, unsigned n) {
  struct vmk_irq_line l = {.chip = chip, .spi = n};
  return l;
}

int vmk_virt_platform_create(const struct vmk_virt_platform_cfg *cfg,
                             struct vmk_bus *bus,
                             const struct vmk_irq_chip *chip,
                             struct vmk_io_loop *loop,
                             struct vmk_virt_platform *out, vmk_error *err) {
  memset(out, 0, sizeof(*out));
  /* Regions are appended, so undoing a partial registration is restoring
   * the count (the bus has no remove; nothing runs before start). */
  unsigned saved = bus->count;
  int rc = vmk_pl011_create(cfg->console_in_fd, cfg->console_out_fd,
                            spi(chip, VMK_UART_SPI), loop, &out->uart, err);
  if (!rc)
    rc = vmk_pl031_create(spi(chip, VMK_RTC_SPI), &out->rtc, err);
  if (!rc && loop) /* RTC alarms wake the guest from the I/O thread */
    rc = vmk_pl031_attach_loop(out->rtc, loop, err);
  if (!rc && cfg->gpio_power_key)
    rc = vmk_pl061_create(spi(chip, VMK_GPIO_SPI), &out->gpio, err);
  if (!rc && cfg->boot_timer)
    rc = vmk_boot_timer_create(cfg->boot_timer_cb, cfg->boot_timer_opaque,
                               &out->boot_timer, err);
  if (!rc && cfg->pvpanic)
    rc = vmk_pvpanic_create(cfg->pvpanic_cb, cfg->pvpanic_opaque, &out->pvpanic,
                            err);
  if (!rc)
    rc = vmk_bus_add(bus, "pl011", VMK_UART_BASE, VMK_UART_SIZE, &vmk_pl011_ops,
                     out->uart, err);
  if (!rc)
    rc = vmk_bus_add(bus, "pl031", VMK_RTC_BASE, VMK_RTC_SIZE, &vmk_pl031_ops,
                     out->rtc, err);
  if (!rc && out->gpio)
    rc = vmk_bus_add(bus, "pl061", VMK_GPIO_BASE, VMK_GPIO_SIZE, &vmk_pl061_ops,
                     out->gpio, err);
  if (!rc && out->boot_timer)
    rc =
        vmk_bus_add(bus, "boot-timer", VMK_BOOT_TIMER_BASE, VMK_BOOT_TIMER_SIZE,
                    &vmk_boot_timer_ops, out->boot_timer, err);
  if (!rc && out->pvpanic)
    rc = vmk_bus_add(bus, "pvpanic", VMK_PVPANIC_BASE, VMK_PVPANIC_SIZE,
                     &vmk_pvpanic_ops, out->pvpanic, err);
  if (rc) {
    bus->count = saved;
    vmk_virt_platform_destroy(out);
  }
  return rc;
}

int vmk_virt_boot_prepare(const struct vmk_guest_mem *gm,
                          const struct vmk_virt_boot_cfg *cfg,
                          struct vmk_boot_layout *out, vmk_error *err) {
  int rc = vmk_load_linux(gm, cfg->kernel, cfg->initrd, out, err);
  if (rc)
    return rc;
  struct vmk_fdt_params p = {
      .cpus = cfg->cpus,
      .ram_base = gm->base,
      .ram_size = gm->size,
      .cmdline = cfg->cmdline,
      .initrd_start = out->initrd_gpa,
      .initrd_end = out->initrd_gpa + out->initrd_size,
      .virtio_slots = cfg->virtio_slots,
      .boot_timer = cfg->boot_timer,
      .gpio_power_key = cfg->gpio_power_key,
      .pvpanic = cfg->pvpanic,
      .psci_smc = cfg->psci_smc,
      .ramoops_base = out->ramoops_gpa,
      .ramoops_size = out->ramoops_size,
      .ramoops_record_size = VMK_RAMOOPS_RECORD_SIZE,
  };
  void *dst = vmk_gm_ptr(gm, out->fdt_gpa, out->fdt_max);
  if (!dst) /* the loader placed it inside RAM; a guard, not a path */
    return vmk_err(err, -EINVAL, "the device tree slot is outside RAM");
  return vmk_fdt_build(&p, dst, out->fdt_max, err);
}
