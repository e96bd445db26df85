/* bus.c — the MMIO bus. vCPU threads call read/write; registration happens
 * on the creating thread before start, so lookups need no lock. */
#include "bus.h"

#include <errno.h>
#include <string.h>

void vmk_bus_init(struct vmk_bus *bus) { memset(bus, 0, sizeof(*bus)); }

int vmk_bus_add(struct vmk_bus *bus, const char *name, uint64_t base,
                uint64_t size, const struct vmk_mmio_ops *ops, void *opaque,
                vmk_error *err) {
  if (size == 0 || base + size < base)
    return vmk_err(err, -EINVAL, "MMIO region %s has an invalid range", name);
  for (unsigned i = 0; i < bus->count; i++) {
    const struct vmk_bus_region *r = &bus->regions[i];
    if (base < r->base + r->size && r->base < base + size)
      return vmk_err(err, -EEXIST, "MMIO region %s overlaps %s", name, r->name);
  }
  if (bus->count == VMK_BUS_MAX_REGIONS)
    return vmk_err(err, -ENOSPC, "too many MMIO regions (at most %d)",
                   VMK_BUS_MAX_REGIONS);
  bus->regions[bus->count++] = (struct vmk_bus_region){
      .base = base, .size = size, .ops = ops, .opaque = opaque, .name = name};
  return 0;
}

static const struct vmk_bus_region *find(const struct vmk_bus *bus,
                                         uint64_t addr, unsigned size) {
  for (unsigned i = 0; i < bus->count; i++) {
    const struct vmk_bus_region *r = &bus->regions[i];
    if (addr >= r->base && addr - r->base < r->size &&
        size <= r->size - (addr - r->base))
      return r;
  }
  return NULL;
}

int vmk_bus_read(struct vmk_bus *bus, uint64_t addr, unsigned size,
                 uint64_t *val) {
  const struct vmk_bus_region *r = find(bus, addr, size);
  if (!r) {
    *val = 0;
    return -ENOENT;
  }
  *val = r->ops->read ? r->ops->read(r->opaque, addr - r->base, size) : 0;
  return 0;
}

int vmk_bus_write(struct vmk_bus *bus, uint64_t addr, unsigned size,
                  uint64_t val) {
  const struct vmk_bus_region *r = find(bus, addr, size);
  if (!r)
    return -ENOENT;
  if (r->ops->write)
    r->ops->write(r->opaque, addr - r->base, size, val);
  return 0;
}
