/* blk.c — virtio-blk device (virtio 1.2 §5.2) over a raw image backend.
 *
 * One request queue. Requests run synchronously (pread/pwrite/fdatasync)
 * on the I/O thread with the transport lock held; io_uring comes later.
 * A flush completes its fdatasync() before its used-ring entry is written,
 * so an acknowledged flush means the data is on stable storage.
 * Malformed requests (no header, no status byte) put the device into
 * NEEDS_RESET; well-formed requests with bad contents (out of range,
 * misaligned length, unknown flags) fail with IOERR/UNSUPP.
 */
#include "virtio/blk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/block_file.h"
#include "base/le.h"
#include "virtio/virtqueue.h"

#define BLK_F_SEG_MAX 2
#define BLK_F_RO 5
#define BLK_F_BLK_SIZE 6
#define BLK_F_FLUSH 9
#define BLK_F_DISCARD 13
#define BLK_F_WRITE_ZEROES 14

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8
#define BLK_T_DISCARD 11
#define BLK_T_WRITE_ZEROES 13

#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2

#define WZ_F_UNMAP 1u

#define SECTOR 512u
#define HDR_LEN 16u
#define MAX_SEGS 16u                     /* discard / write-zeroes ranges */
#define MAX_RANGE_SECTORS 0x400000u      /* 2 GiB per range */
#define BATCH (4 * VMK_VIRTIO_QUEUE_MAX) /* requests per turn */

/* Config space layout (§5.2.4), little-endian. */
#define CFG_CAPACITY 0
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_DISCARD_SEG 40
#define CFG_DISCARD_ALIGN 44
#define CFG_MAX_WZ_SECTORS 48
#define CFG_MAX_WZ_SEG 52
#define CFG_WZ_MAY_UNMAP 56
#define CFG_LEN 60

struct blk {
  struct vmk_virtio_device dev;
  struct vmk_block_file file;
  uint64_t capacity; /* sectors */
  uint8_t config[CFG_LEN];
  struct vmk_vq_chain chain;               /* scratch, too big for stack */
  struct iovec data[VMK_VIRTIO_QUEUE_MAX]; /* scratch */
};

static bool negotiated(const struct blk *b, unsigned bit) {
  return b->dev.driver_features & VMK_VIRTIO_BIT(bit);
}

static bool in_range(const struct blk *b, uint64_t sector, uint64_t n) {
  return sector <= b->capacity && n <= b->capacity - sector;
}

static uint8_t do_rw(struct blk *b, bool write, uint64_t sector,
                     const struct iovec *iov, unsigned n, size_t off,
                     size_t len) {
  if (len % SECTOR || !in_range(b, sector, len / SECTOR))
    return BLK_S_IOERR;
  if (write && b->file.read_only)
    return BLK_S_IOERR;
  int cnt = vmk_iov_slice(iov, n, off, len, b->data, VMK_VIRTIO_QUEUE_MAX);
  if (cnt < 0)
    return BLK_S_IOERR;
  uint64_t pos = sector * SECTOR;
  int r = write ? vmk_block_file_writev(&b->file, b->data, cnt, pos)
                : vmk_block_file_readv(&b->file, b->data, cnt, pos);
  return r < 0 ? BLK_S_IOERR : BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: a list of 16-byte ranges (§5.2.6). All are
 * checked before any is applied. */
static uint8_t do_ranges(struct blk *b, uint32_t type,
                         const struct vmk_vq_chain *c, size_t len) {
  unsigned feature = type == BLK_T_DISCARD ? BLK_F_DISCARD : BLK_F_WRITE_ZEROES;
  if (!negotiated(b, feature))
    return BLK_S_UNSUPP;
  if (b->file.read_only)
    return BLK_S_IOERR;
  if (len == 0 || len % 16 || len / 16 > MAX_SEGS)
    return BLK_S_IOERR;
  uint8_t segs[MAX_SEGS * 16];
  size_t nseg = len / 16;
  vmk_iov_to_buf(c->iov, c->n_out, HDR_LEN, segs, len);
  uint32_t allowed = type == BLK_T_DISCARD ? 0 : WZ_F_UNMAP;
  for (size_t i = 0; i < nseg; i++) {
    uint64_t sector = vmk_le64(segs + 16 * i);
    uint32_t num = vmk_le32(segs + 16 * i + 8);
    uint32_t flags = vmk_le32(segs + 16 * i + 12);
    if (flags & ~allowed)
      return BLK_S_UNSUPP;
    if (num > MAX_RANGE_SECTORS || !in_range(b, sector, num))
      return BLK_S_IOERR;
  }
  for (size_t i = 0; i < nseg; i++) {
    uint64_t off = vmk_le64(segs + 16 * i) * SECTOR;
    uint64_t n = (uint64_t)vmk_le32(segs + 16 * i + 8) * SECTOR;
    bool unmap = vmk_le32(segs + 16 * i + 12) & WZ_F_UNMAP;
    int r = type == BLK_T_DISCARD
                ? vmk_block_file_discard(&b->file, off, n)
                : vmk_block_file_write_zeroes(&b->file, off, n, unmap);
    if (r < 0)
      return BLK_S_IOERR;
  }
  return BLK_S_OK;
}

/* Serves one chain; false when it was malformed (device now needs reset). */
static bool handle(struct blk *b, struct vmk_vq_chain *c) {
  if (c->out_len < HDR_LEN || c->in_len < 1) {
    vmk_virtio_device_error(&b->dev, "request without a header or status byte");
    return false;
  }
  const struct iovec *in = c->iov + c->n_out;
  uint8_t hdr[HDR_LEN];
  vmk_iov_to_buf(c->iov, c->n_out, 0, hdr, HDR_LEN);
  uint32_t type = vmk_le32(hdr);
  uint64_t sector = vmk_le64(hdr + 8);
  size_t dout = c->out_len - HDR_LEN; /* data from the driver */
  size_t din = c->in_len - 1;         /* room for data to the driver */
  size_t written = 0;
  uint8_t status;
  switch (type) {
  case BLK_T_IN:
    status = do_rw(b, false, sector, in, c->n_in, 0, din);
    written = status == BLK_S_OK ? din : 0;
    break;
  case BLK_T_OUT:
    status = do_rw(b, true, sector, c->iov, c->n_out, HDR_LEN, dout);
    /* A driver without FLUSH expects a write-through device (§5.2.6.2). */
    if (status == BLK_S_OK && !negotiated(b, BLK_F_FLUSH) &&
        vmk_block_file_flush(&b->file) < 0)
      status = BLK_S_IOERR;
    break;
  case BLK_T_FLUSH:
    /* fdatasync first; the used entry below is written only after it. */
    status = vmk_block_file_flush(&b->file) == 0 ? BLK_S_OK : BLK_S_IOERR;
    break;
  case BLK_T_GET_ID: {
    size_t k = din < VMK_BLOCK_SERIAL_LEN ? din : VMK_BLOCK_SERIAL_LEN;
    written = vmk_iov_from_buf(in, c->n_in, 0, b->file.serial, k);
    status = BLK_S_OK;
    break;
  }
  case BLK_T_DISCARD:
  case BLK_T_WRITE_ZEROES:
    status = do_ranges(b, type, c, dout);
    break;
  default:
    status = BLK_S_UNSUPP;
  }
  vmk_iov_from_buf(in, c->n_in, din, &status, 1);
  vmk_virtio_push(&b->dev, 0, c->head, (uint32_t)(written + 1));
  return true;
}

static void blk_notify(struct vmk_virtio_device *dev, unsigned q) {
  struct blk *b = (struct blk *)dev;
  for (unsigned i = 0; i < BATCH; i++) {
    if (vmk_virtio_pop(dev, q, &b->chain) <= 0 || !handle(b, &b->chain))
      return;
  }
  vmk_virtio_kick(dev, q); /* more may be waiting: come back later */
}

static void blk_free(struct vmk_virtio_device *dev) {
  struct blk *b = (struct blk *)dev;
  vmk_block_file_close(&b->file);
  free(b);
}

static const struct vmk_virtio_device_ops blk_ops = {
    .name = "virtio-blk",
    .device_id = VMK_VIRTIO_ID_BLOCK,
    .queue_notify = blk_notify,
    .free = blk_free,
    .save = vmk_virtio_save_none, /* requests complete under the lock */
    .load = vmk_virtio_load_none,
};

int vmk_virtio_blk_create(const char *path, bool read_only,
                          struct vmk_virtio_device **out, vmk_error *err) {
  *out = NULL;
  struct blk *b = calloc(1, sizeof(*b));
  if (!b)
    return vmk_err(err, -ENOMEM, "out of memory creating virtio-blk");
  int r = vmk_block_file_open(&b->file, path, read_only, err);
  if (r < 0) {
    free(b);
    return r;
  }
  b->capacity = b->file.size / SECTOR;
  snprintf(b->dev.label, sizeof(b->dev.label), "virtio-blk %s", path);
  b->dev.ops = &blk_ops;
  b->dev.num_queues = 1;
  b->dev.features = VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1) |
                    VMK_VIRTIO_BIT(VMK_VIRTIO_F_INDIRECT_DESC) |
                    VMK_VIRTIO_BIT(BLK_F_SEG_MAX) |
                    VMK_VIRTIO_BIT(BLK_F_BLK_SIZE) |
                    VMK_VIRTIO_BIT(BLK_F_FLUSH);
  if (read_only)
    b->dev.features |= VMK_VIRTIO_BIT(BLK_F_RO);
  else
    b->dev.features |=
        VMK_VIRTIO_BIT(BLK_F_DISCARD) | VMK_VIRTIO_BIT(BLK_F_WRITE_ZEROES);
  uint8_t *cfg = b->config;
  vmk_put_le64(cfg + CFG_CAPACITY, b->capacity);
  /* Header and status take two of a chain's descriptors. */
  vmk_put_le32(cfg + CFG_SEG_MAX, VMK_VIRTIO_QUEUE_MAX - 2);
  vmk_put_le32(cfg + CFG_BLK_SIZE, SECTOR);
  vmk_put_le32(cfg + CFG_MAX_DISCARD_SECTORS, MAX_RANGE_SECTORS);
  vmk_put_le32(cfg + CFG_MAX_DISCARD_SEG, MAX_SEGS);
  vmk_put_le32(cfg + CFG_DISCARD_ALIGN, 8); /* 4 KiB: hole granularity */
  vmk_put_le32(cfg + CFG_MAX_WZ_SECTORS, MAX_RANGE_SECTORS);
  vmk_put_le32(cfg + CFG_MAX_WZ_SEG, MAX_SEGS);
  cfg[CFG_WZ_MAY_UNMAP] = 1;
  b->dev.config = b->config;
  b->dev.config_len = CFG_LEN;
  *out = &b->dev;
  return 0;
}

void vmk_virtio_blk_set_sync_hook(struct vmk_virtio_device *dev,
                                  void (*fn)(void *), void *opaque) {
  struct blk *b = (struct blk *)dev;
  b->file.synced = fn;
  b->file.synced_opaque = opaque;
}
