/* fs.h — virtio-fs (virtio 1.2 §5.11): a host directory shared with the
 * guest, served by the in-process FUSE server (backends/fs_passthrough.h).
 * Requests are served on the I/O thread under the transport lock. */
#ifndef VMK_VIRTIO_FS_H
#define VMK_VIRTIO_FS_H

#include <stdbool.h>

#include "backends/fs_passthrough.h"
#include "base/error.h"
#include "virtio/virtio.h"

#define VMK_VIRTIO_ID_FS 26
/* The config space's tag field: the name the guest mounts, not
 * NUL-terminated when it fills all 36 bytes. */
#define VMK_VIRTIO_FS_TAG_MAX 36

/* Shares the directory `dir` under `tag` (1..36 bytes). limits may be
 * NULL for the defaults. */
int vmk_virtio_fs_create(const char *dir, const char *tag, bool read_only,
                         const struct vmk_fs_limits *limits,
                         struct vmk_virtio_device **out, vmk_error *err);

#endif
