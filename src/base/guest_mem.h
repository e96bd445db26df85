/* guest_mem.h — the host view of guest RAM, and the only way devices turn a
 * guest-physical address into a host pointer.
 *
 * RAM is one contiguous host mapping for [base, base + size). Lookups are
 * overflow-safe: a range that is not wholly inside RAM yields NULL, which the
 * caller treats as a guest error (device reset / failed request).
 * Any thread: the mapping does not move while the VM exists.
 */
#ifndef VMK_BASE_GUEST_MEM_H
#define VMK_BASE_GUEST_MEM_H

#include <stdbool.h>
#include <stdint.h>

struct vmk_guest_mem {
  uint64_t base; /* guest-physical address of the first byte */
  uint64_t size; /* bytes */
  uint8_t *host; /* host address of the first byte */
};

static inline bool vmk_gm_range_ok(const struct vmk_guest_mem *gm, uint64_t gpa,
                                   uint64_t len) {
  if (gpa < gm->base)
    return false;
  uint64_t off = gpa - gm->base;
  return off <= gm->size && len <= gm->size - off;
}

/* Host pointer for [gpa, gpa+len), or NULL if any byte lies outside RAM. */
static inline void *vmk_gm_ptr(const struct vmk_guest_mem *gm, uint64_t gpa,
                               uint64_t len) {
  if (!vmk_gm_range_ok(gm, gpa, len))
    return (void *)0;
  return gm->host + (gpa - gm->base);
}

#endif
