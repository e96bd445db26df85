/* blk.h — virtio-blk on a raw image file (virtio 1.2 §5.2).
 * Requests are served on the I/O thread under the transport lock. */
#ifndef VMK_VIRTIO_BLK_H
#define VMK_VIRTIO_BLK_H

#include <stdbool.h>

#include "base/error.h"
#include "virtio/virtio.h"

/* Opens and locks the image (see block_file.h); read_only attaches it
 * read-only (VIRTIO_BLK_F_RO, writes fail with IOERR). */
int vmk_virtio_blk_create(const char *path, bool read_only,
                          struct vmk_virtio_device **out, vmk_error *err);
/* Test hook: fn runs after each flush's fdatasync() returned, before the
 * request is returned to the driver. */
void vmk_virtio_blk_set_sync_hook(struct vmk_virtio_device *dev,
                                  void (*fn)(void *), void *opaque);

#endif
