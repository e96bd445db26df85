/* fs.c — virtio-fs device (virtio 1.2 §5.11): queue 0 is the high-priority
 * queue (FORGETs), queue 1 the one request queue. Each chain carries one
 * FUSE request in its device-readable part and room for the reply in its
 * device-writable part; the request is copied out of guest RAM once (so
 * the guest cannot change it while it is parsed), served synchronously by
 * the FUSE server and the reply copied back.
 *
 * Threads: everything runs on the VM's I/O thread with the transport lock
 * held (queue_notify, reset); create/free on the creating thread. A chain
 * that cannot carry a FUSE request (shorter than its header, larger than
 * VMK_FS_REQ_MAX, or a reply due with no room for an error) puts the
 * device into NEEDS_RESET; anything wrong inside a well-framed request is
 * answered with an errno by the server.
 */
#include "virtio/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/le.h"
#include "virtio/virtqueue.h"

#define CFG_TAG 0
#define CFG_NUM_REQUEST_QUEUES 36
#define CFG_LEN 40
#define BATCH 64 /* requests per turn, so one queue cannot starve the loop */

struct fsdev {
  struct vmk_virtio_device dev;
  struct vmk_fs *fs;
  uint8_t config[CFG_LEN];
  struct vmk_vq_chain chain; /* scratch, too big for the stack */
  uint8_t *req, *rep;        /* VMK_FS_REQ_MAX / VMK_FS_REP_MAX bytes */
};

/* Serves one chain; false when it was malformed (device needs a reset). */
static bool handle(struct fsdev *f, unsigned q, struct vmk_vq_chain *c) {
  if (c->out_len < sizeof(uint32_t) * 10 || c->out_len > VMK_FS_REQ_MAX) {
    vmk_virtio_device_error(&f->dev,
                            "request of %zu bytes is not a FUSE "
                            "request",
                            c->out_len);
    return false;
  }
  vmk_iov_to_buf(c->iov, c->n_out, 0, f->req, c->out_len);
  size_t cap = c->in_len < VMK_FS_REP_MAX ? c->in_len : VMK_FS_REP_MAX;
  ssize_t n = vmk_fs_serve(f->fs, f->req, c->out_len, f->rep, cap);
  if (n < 0) {
    vmk_virtio_device_error(&f->dev, "request with no room for its reply");
    return false;
  }
  vmk_iov_from_buf(c->iov + c->n_out, c->n_in, 0, f->rep, (size_t)n);
  vmk_virtio_push(&f->dev, q, c->head, (uint32_t)n);
  return true;
}

static void fs_notify(struct vmk_virtio_device *dev, unsigned q) {
  struct fsdev *f = (struct fsdev *)dev;
  for (unsigned i = 0; i < BATCH; i++) {
    if (vmk_virtio_pop(dev, q, &f->chain) <= 0 || !handle(f, q, &f->chain))
      return;
  }
  vmk_virtio_kick(dev, q);
}

/* The driver is gone: every inode and open file it held is forgotten. */
static void fs_reset(struct vmk_virtio_device *dev) {
  vmk_fs_reset(((struct fsdev *)dev)->fs);
}

static void fs_free(struct vmk_virtio_device *dev) {
  struct fsdev *f = (struct fsdev *)dev;
  vmk_fs_close(f->fs);
  free(f->req);
  free(f->rep);
  free(f);
}

/* Snapshots: every request is served and returned under the transport
 * lock, so nothing is in flight; the FUSE server's nodes and open files
 * are the state (vmk_fs_save). */
static int fs_save(struct vmk_virtio_device *dev, struct vmk_sbuf *out,
                   unsigned rewind[VMK_VIRTIO_MAX_QUEUES], vmk_error *err) {
  (void)rewind;
  (void)err;
  vmk_fs_save(((struct fsdev *)dev)->fs, out);
  return 0;
}

static int fs_load(struct vmk_virtio_device *dev, struct vmk_sreader *in,
                   vmk_error *err) {
  return vmk_fs_load(((struct fsdev *)dev)->fs, in, err);
}

static const struct vmk_virtio_device_ops fs_ops = {
    .name = "virtio-fs",
    .device_id = VMK_VIRTIO_ID_FS,
    .queue_notify = fs_notify,
    .reset = fs_reset,
    .free = fs_free,
    .save = fs_save,
    .load = fs_load,
};

int vmk_virtio_fs_create(const char *dir, const char *tag, bool read_only,
                         const struct vmk_fs_limits *limits,
                         struct vmk_virtio_device **out, vmk_error *err) {
  *out = NULL;
  size_t tlen = strlen(tag);
  if (tlen == 0 || tlen > VMK_VIRTIO_FS_TAG_MAX)
    return vmk_err(err, -EINVAL, "share tag '%s' must be 1 to %d bytes long",
                   tag, VMK_VIRTIO_FS_TAG_MAX);
  struct fsdev *f = calloc(1, sizeof(*f));
  if (f) {
    f->req = malloc(VMK_FS_REQ_MAX);
    f->rep = malloc(VMK_FS_REP_MAX);
  }
  if (!f || !f->req || !f->rep) {
    if (f) {
      free(f->req);
      free(f->rep);
    }
    free(f);
    return vmk_err(err, -ENOMEM, "out of memory creating virtio-fs");
  }
  int r = vmk_fs_open(dir, read_only, limits, &f->fs, err);
  if (r < 0) {
    fs_free(&f->dev);
    return r;
  }
  snprintf(f->dev.label, sizeof(f->dev.label), "virtio-fs %s", tag);
  f->dev.ops = &fs_ops;
  f->dev.num_queues = 2;
  f->dev.features = VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1) |
                    VMK_VIRTIO_BIT(VMK_VIRTIO_F_INDIRECT_DESC);
  memcpy(f->config + CFG_TAG, tag, tlen);
  vmk_put_le32(f->config + CFG_NUM_REQUEST_QUEUES, 1);
  f->dev.config = f->config;
  f->dev.config_len = CFG_LEN;
  *out = &f->dev;
  return 0;
}
