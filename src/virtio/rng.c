/* rng.c — virtio-rng: fills each device-writable buffer with host random
 * bytes (at most 64 KiB per request, which the used length reports).
 * Runs on the I/O thread with the transport lock held; no other state. */
#include "virtio/rng.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/entropy.h"
#include "virtio/virtqueue.h"

#define MAX_PER_REQUEST 65536
#define BATCH (4 * VMK_VIRTIO_QUEUE_MAX)

struct rng {
  struct vmk_virtio_device dev;
  struct vmk_vq_chain chain;
};

static void rng_notify(struct vmk_virtio_device *dev, unsigned q) {
  struct rng *r = (struct rng *)dev;
  struct vmk_vq_chain *c = &r->chain;
  for (unsigned n = 0; n < BATCH; n++) {
    if (vmk_virtio_pop(dev, q, c) <= 0)
      return;
    size_t done = 0;
    for (unsigned i = c->n_out; i < c->n_out + c->n_in; i++) {
      size_t k = c->iov[i].iov_len;
      if (k > MAX_PER_REQUEST - done)
        k = MAX_PER_REQUEST - done;
      if (vmk_entropy_fill(c->iov[i].iov_base, k) < 0)
        break; /* report what was filled; the guest asks again */
      done += k;
      if (done == MAX_PER_REQUEST)
        break;
    }
    vmk_virtio_push(dev, q, c->head, (uint32_t)done);
  }
  vmk_virtio_kick(dev, q);
}

static void rng_free(struct vmk_virtio_device *dev) { free(dev); }

static const struct vmk_virtio_device_ops rng_ops = {
    .name = "virtio-rng",
    .device_id = VMK_VIRTIO_ID_RNG,
    .queue_notify = rng_notify,
    .free = rng_free,
    .save = vmk_virtio_save_none, /* requests complete under the lock */
    .load = vmk_virtio_load_none,
};

int vmk_virtio_rng_create(struct vmk_virtio_device **out, vmk_error *err) {
  struct rng *r = calloc(1, sizeof(*r));
  if (!r) {
    *out = NULL;
    return vmk_err(err, -ENOMEM, "out of memory creating virtio-rng");
  }
  r->dev.ops = &rng_ops;
  r->dev.num_queues = 1;
  r->dev.features = VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1) |
                    VMK_VIRTIO_BIT(VMK_VIRTIO_F_INDIRECT_DESC);
  *out = &r->dev;
  return 0;
}
