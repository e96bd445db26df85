/* rng.h — virtio-rng (entropy device, virtio 1.2 §5.4) fed by the host's
 * getrandom(). Served on the I/O thread under the transport lock. */
#ifndef VMK_VIRTIO_RNG_H
#define VMK_VIRTIO_RNG_H

#include "base/error.h"
#include "virtio/virtio.h"

int vmk_virtio_rng_create(struct vmk_virtio_device **out, vmk_error *err);

#endif
