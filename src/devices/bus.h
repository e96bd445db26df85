/* bus.h — the MMIO bus: which device answers a guest-physical address.
 *
 * Devices register a region with read/write callbacks. Engines deliver every
 * MMIO access that is not RAM to vmk_bus_read/vmk_bus_write (vCPU threads).
 * Regions are registered before the VM starts and never change after, so
 * lookups take no lock; each device protects its own state.
 */
#ifndef VMK_DEVICES_BUS_H
#define VMK_DEVICES_BUS_H

#include <stdint.h>

#include "base/error.h"

struct vmk_mmio_ops {
  /* size is 1, 2, 4 or 8; off is relative to the region base. Return the
   * value (zero-extended). Unimplemented registers read as 0. */
  uint64_t (*read)(void *opaque, uint64_t off, unsigned size);
  void (*write)(void *opaque, uint64_t off, unsigned size, uint64_t val);
};

#define VMK_BUS_MAX_REGIONS 64

struct vmk_bus_region {
  uint64_t base, size;
  const struct vmk_mmio_ops *ops;
  void *opaque;
  const char *name;
};

struct vmk_bus {
  struct vmk_bus_region regions[VMK_BUS_MAX_REGIONS];
  unsigned count;
};

void vmk_bus_init(struct vmk_bus *bus);
/* Fails with -EEXIST on overlap, -ENOSPC when full. */
int vmk_bus_add(struct vmk_bus *bus, const char *name, uint64_t base,
                uint64_t size, const struct vmk_mmio_ops *ops, void *opaque,
                vmk_error *err);
/* Return 0, or -ENOENT when no device is at addr (the engine then injects
 * an external abort or ignores the access, as the machine wants). */
int vmk_bus_read(struct vmk_bus *bus, uint64_t addr, unsigned size,
                 uint64_t *val);
int vmk_bus_write(struct vmk_bus *bus, uint64_t addr, unsigned size,
                  uint64_t val);

#endif
