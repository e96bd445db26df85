/* fuzz_driver.h — the tiny virtio-mmio "driver" the virtio fuzz harnesses
 * share: register access through vmk_virtio_mmio_ops, running the I/O
 * loop, a well-behaved bring-up (status dance, features, queue sizes from
 * the input, ring addresses, QUEUE_READY), and descriptor / avail-ring
 * writes into guest RAM. Each harness embeds a struct fzd in its own state
 * and fills in its RAM, ring layout, queue count and how it negotiates
 * features; the input is read in the same order as the harnesses' own
 * copies did, so their corpora keep reaching the same paths.
 * Single-threaded: the caller's thread plays vCPU and I/O thread.
 */
#ifndef VMK_TESTS_FUZZ_DRIVER_H
#define VMK_TESTS_FUZZ_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/io_loop.h"
#include "base/le.h"
#include "virtio/mmio.h"

#include "fuzz_input.h"

#define FZD_MAX_QUEUES 8

struct fzd;

/* Writes the driver features, between FEATURES_OK's status steps. */
typedef void fzd_features_fn(struct fzd *d, struct input *in);

struct fzd {
  uint8_t *ram; /* guest RAM at ram_base, ram_size bytes */
  uint64_t ram_base;
  uint32_t ram_size;
  uint32_t data_off;    /* buffers live in [data_off, ram_size) */
  uint32_t ring_stride; /* queue q's rings at ram_base + q * ring_stride */
  uint32_t used_off;    /* the used ring's offset in a queue's rings */
  unsigned nq;          /* queues brought up (at most FZD_MAX_QUEUES) */
  unsigned rounds;      /* I/O loop rounds per fzd_run */
  unsigned size_mod, size_shift; /* queue size 1 << (u8 % mod + shift) */
  fzd_features_fn *features;
  struct vmk_guest_mem gm;
  struct vmk_io_loop loop;
  struct vmk_virtio_mmio *t;
  uint16_t qsize[FZD_MAX_QUEUES];
  uint16_t avail_idx[FZD_MAX_QUEUES];
  uint16_t next_desc[FZD_MAX_QUEUES];
};

static inline void fzd_irq_set(void *opaque, unsigned spi, bool level) {
  (void)opaque;
  (void)spi;
  (void)level;
}
static const struct vmk_irq_chip fzd_chip = {.set_level = fzd_irq_set};

/* Guest RAM (zeroed, unless the harness set d->ram itself) and the I/O
 * loop. */
static inline void fzd_start(struct fzd *d) {
  if (!d->ram) {
    d->ram = aligned_alloc(4096, d->ram_size);
    memset(d->ram, 0, d->ram_size);
  }
  d->gm = (struct vmk_guest_mem){
      .base = d->ram_base, .size = d->ram_size, .host = d->ram};
  vmk_error err;
  if (vmk_io_loop_init(&d->loop, &err))
    abort();
}

/* dev behind the virtio-mmio transport, on that RAM and loop. */
static inline void fzd_attach(struct fzd *d, struct vmk_virtio_device *dev) {
  vmk_error err;
  struct vmk_irq_line line = {.chip = &fzd_chip, .spi = 0};
  if (vmk_virtio_mmio_create(dev, &d->gm, line, &d->loop, &d->t, &err)) {
    fprintf(stderr, "fuzz: %s\n", err.msg);
    abort();
  }
}

/* The transport (and with it the device) and the loop; not the RAM. */
static inline void fzd_stop(struct fzd *d) {
  vmk_virtio_mmio_destroy(d->t);
  vmk_io_loop_destroy(&d->loop);
}

static inline uint64_t fzd_ring(const struct fzd *d, unsigned q) {
  return d->ram_base + (uint64_t)d->ring_stride * q;
}

static inline void fzd_wr(struct fzd *d, uint64_t off, uint32_t v) {
  vmk_virtio_mmio_ops.write(d->t, off, 4, v);
}
static inline uint32_t fzd_rd(struct fzd *d, uint64_t off) {
  return (uint32_t)vmk_virtio_mmio_ops.read(d->t, off, 4);
}

static inline void fzd_run(struct fzd *d) {
  for (unsigned i = 0; i < d->rounds; i++)
    if (vmk_io_loop_run_once(&d->loop, 0) <= 0)
      return;
}

/* Features: what the device offers, minus some low bits the input picks
 * (VERSION_1 always kept). */
static inline void fzd_features_offered(struct fzd *d, struct input *in) {
  uint64_t feat = 0;
  for (uint32_t s = 0; s < 2; s++) {
    fzd_wr(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, s);
    feat |= (uint64_t)fzd_rd(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES) << (32 * s);
  }
  feat &= ~(uint64_t)u8(in) | (1ull << 32); /* drop some low features */
  for (uint32_t s = 0; s < 2; s++) {
    fzd_wr(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, s);
    fzd_wr(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> (32 * s)));
  }
}

/* Features: the given low word plus VERSION_1. */
static inline void fzd_features_low(struct fzd *d, uint32_t low) {
  fzd_wr(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
  fzd_wr(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES, low);
  fzd_wr(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
  fzd_wr(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
}

/* Features: VERSION_1 only. */
static inline void fzd_features_v1(struct fzd *d, struct input *in) {
  (void)in;
  fzd_wr(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
  fzd_wr(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
}

/* A correct driver bring-up, with the features d->features picks and
 * queue sizes from the input. */
static inline void fzd_driver_init(struct fzd *d, struct input *in) {
  fzd_wr(d, VMK_VIRTIO_MMIO_STATUS, 0);
  fzd_wr(d, VMK_VIRTIO_MMIO_STATUS, 3);
  d->features(d, in);
  fzd_wr(d, VMK_VIRTIO_MMIO_STATUS, 0xb);
  for (unsigned q = 0; q < d->nq; q++) {
    uint16_t size = (uint16_t)(1u << (u8(in) % d->size_mod + d->size_shift));
    d->qsize[q] = size;
    d->avail_idx[q] = d->next_desc[q] = 0;
    uint64_t r = fzd_ring(d, q);
    memset(d->ram + (r - d->ram_base), 0, d->ring_stride);
    fzd_wr(d, VMK_VIRTIO_MMIO_QUEUE_SEL, q);
    fzd_wr(d, VMK_VIRTIO_MMIO_QUEUE_NUM, size);
    fzd_wr(d, VMK_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r);
    fzd_wr(d, VMK_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(r + 0x1000));
    fzd_wr(d, VMK_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(r + d->used_off));
    fzd_wr(d, VMK_VIRTIO_MMIO_QUEUE_READY, 1);
  }
  fzd_wr(d, VMK_VIRTIO_MMIO_STATUS, 0xf);
}

/* Descriptor i (mod 256) of queue q. */
static inline void fzd_put_desc(struct fzd *d, unsigned q, uint16_t i,
                                uint64_t addr, uint32_t len, uint16_t flags,
                                uint16_t next) {
  uint8_t *p = d->ram + (fzd_ring(d, q) - d->ram_base) + 16u * (i & 0xff);
  vmk_put_le64(p, addr);
  vmk_put_le32(p + 8, len);
  vmk_put_le16(p + 12, flags);
  vmk_put_le16(p + 14, next);
}

/* Makes head available on queue q. */
static inline void fzd_put_avail(struct fzd *d, unsigned q, uint16_t head) {
  uint8_t *a = d->ram + (fzd_ring(d, q) - d->ram_base + 0x1000);
  uint16_t size = d->qsize[q] ? d->qsize[q] : 1;
  vmk_put_le16(a + 4 + 2 * (d->avail_idx[q] % size), head);
  d->avail_idx[q]++;
  vmk_put_le16(a + 2, d->avail_idx[q]);
}

/* A guest address in the data area, from the input. */
static inline uint64_t fzd_data_addr(struct fzd *d, struct input *in) {
  return d->ram_base + d->data_off + u16(in) % (d->ram_size - d->data_off);
}

/* A one-descriptor chain of len bytes at a data-area offset, clipped to
 * RAM, made available on queue q; returns its guest address and, if
 * clipped is not NULL, its length. */
static inline uint64_t fzd_chain1(struct fzd *d, unsigned q, uint32_t off,
                                  uint32_t len, bool writable,
                                  uint32_t *clipped) {
  uint32_t room = d->ram_size - d->data_off;
  off %= room;
  if (len > room - off)
    len = room - off;
  uint64_t gpa = d->ram_base + d->data_off + off;
  uint16_t size = d->qsize[q] ? d->qsize[q] : 1;
  uint16_t i = d->next_desc[q]++ % size;
  fzd_put_desc(d, q, i, gpa, len, writable ? 2 : 0, 0);
  fzd_put_avail(d, q, i);
  if (clipped)
    *clipped = len;
  return gpa;
}

/* Ops the harnesses share. A raw descriptor on any queue, its address
 * within span bytes of the data area. */
static inline void fzd_op_desc(struct fzd *d, struct input *in, uint32_t span) {
  unsigned q = u8(in) % d->nq;
  uint16_t i = u8(in);
  uint8_t fl = u8(in);
  fzd_put_desc(d, q, i, d->ram_base + d->data_off + u16(in) % span,
               fl & 0x40 ? u32(in) : u16(in) & 0xfff, fl & 7, u16(in) & 0x1ff);
}

/* An avail entry on any queue, and a kick. */
static inline void fzd_op_avail_kick(struct fzd *d, struct input *in) {
  unsigned q = u8(in) % d->nq;
  fzd_put_avail(d, q, u16(in) & 0x1ff);
  fzd_wr(d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, q);
  fzd_run(d);
}

#endif
