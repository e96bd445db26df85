/* vdrv.h — a tiny virtio driver for unit tests: fake guest RAM, a hand-driven
 * I/O loop, a fake interrupt line, and helpers that program a virtio-mmio
 * transport through its registers the way a guest driver does.
 * Single-threaded: the test thread plays both vCPU and I/O thread. */
#ifndef VMK_TESTS_VDRV_H
#define VMK_TESTS_VDRV_H

#include <stdbool.h>
#include <stdint.h>

#include "base/guest_mem.h"
#include "base/io_loop.h"
#include "devices/irq.h"
#include "virtio/mmio.h"
#include "virtio/virtio.h"

#define VDRV_RAM_BASE 0x40000000ull
#define VDRV_RAM_SIZE (4u << 20)
#define VDRV_QSIZE 16
/* Per-queue ring area: desc +0, avail +0x1000, used +0x2000 (64 queues
 * fit below VDRV_DATA). */
#define VDRV_RING(q) (VDRV_RAM_BASE + 0x4000ull * (q))
#define VDRV_DATA (VDRV_RAM_BASE + 0x100000ull)

struct vdrv_irq {
  struct vmk_irq_chip chip;
  bool level;
  unsigned raises; /* low-to-high transitions */
  unsigned edges;  /* chip.edge calls, when a test sets chip.edge */
};

struct vdrv_queue {
  uint16_t size;
  uint16_t next_desc; /* free-running */
  uint16_t avail_idx;
  uint16_t used_seen;
};

struct vdrv {
  uint8_t *ram;
  struct vmk_guest_mem gm;
  struct vmk_io_loop loop;
  struct vdrv_irq irq;
  struct vmk_virtio_mmio *t;
  struct vdrv_queue q[VMK_VIRTIO_MAX_QUEUES];
  uint64_t data_next; /* bump allocator for buffers */
};

struct vdrv_seg {
  uint64_t gpa;
  uint32_t len;
  bool write; /* device-writable */
};

/* Creates RAM, loop and transport around dev (asserts on failure). */
void vdrv_open(struct vdrv *d, struct vmk_virtio_device *dev);
void vdrv_close(struct vdrv *d);

uint32_t vdrv_read(struct vdrv *d, uint64_t off);
void vdrv_write(struct vdrv *d, uint64_t off, uint32_t val);
uint32_t vdrv_status(struct vdrv *d);
bool vdrv_needs_reset(struct vdrv *d);

/* Feature negotiation (accepting `features`), queue setup with `qsize`
 * entries for every queue, DRIVER_OK. Returns the final status. */
uint32_t vdrv_setup(struct vdrv *d, uint64_t features, uint16_t qsize);
/* Same but stops after FEATURES_OK (no queues, no DRIVER_OK). */
uint32_t vdrv_negotiate(struct vdrv *d, uint64_t features);
/* Programs queue q's registers; returns QueueReady read back. */
uint32_t vdrv_queue(struct vdrv *d, unsigned q, uint16_t size, uint64_t desc,
                    uint64_t avail, uint64_t used);

/* Guest RAM access. */
void *vdrv_ptr(struct vdrv *d, uint64_t gpa);
uint64_t vdrv_alloc(struct vdrv *d, uint32_t len);

/* Raw ring writes for building malformed chains. */
void vdrv_desc(struct vdrv *d, unsigned q, uint16_t i, uint64_t addr,
               uint32_t len, uint16_t flags, uint16_t next);
void vdrv_avail(struct vdrv *d, unsigned q, uint16_t head);
void vdrv_set_avail_idx(struct vdrv *d, unsigned q, uint16_t idx);
/* Builds a well-formed chain from segs and makes it available. */
uint16_t vdrv_chain(struct vdrv *d, unsigned q, const struct vdrv_seg *segs,
                    unsigned n);
/* QueueNotify, then runs the I/O loop until idle. */
void vdrv_kick(struct vdrv *d, unsigned q);
/* Runs the I/O loop until it has nothing more to do. */
void vdrv_run(struct vdrv *d);
/* Used ring: index, and element i's id/len. */
uint16_t vdrv_used_idx(struct vdrv *d, unsigned q);
/* Next used element not yet seen: returns false when none. */
bool vdrv_used(struct vdrv *d, unsigned q, uint16_t *id, uint32_t *len);

#endif
