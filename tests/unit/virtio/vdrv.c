/* vdrv.c — test-side virtio driver (see vdrv.h). Test thread only. */
#include "vdrv.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "base/le.h"
#include "virtio/virtqueue.h"

static void irq_set(void *opaque, unsigned spi, bool level) {
  (void)spi;
  struct vdrv_irq *i = opaque;
  if (level && !i->level)
    i->raises++;
  i->level = level;
}

void vdrv_open(struct vdrv *d, struct vmk_virtio_device *dev) {
  memset(d, 0, sizeof(*d));
  /* Mapped as vmkit maps guest RAM, so that devices may madvise it. */
  d->ram = mmap(NULL, VDRV_RAM_SIZE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(d->ram != MAP_FAILED);
  d->gm = (struct vmk_guest_mem){
      .base = VDRV_RAM_BASE, .size = VDRV_RAM_SIZE, .host = d->ram};
  vmk_error err;
  assert_int_equal(vmk_io_loop_init(&d->loop, &err), 0);
  d->irq.chip.set_level = irq_set;
  d->irq.chip.opaque = &d->irq;
  struct vmk_irq_line line = {.chip = &d->irq.chip, .spi = 3};
  int r = vmk_virtio_mmio_create(dev, &d->gm, line, &d->loop, &d->t, &err);
  if (r)
    fail_msg("vmk_virtio_mmio_create: %s", err.msg);
  d->data_next = VDRV_DATA;
}

void vdrv_close(struct vdrv *d) {
  vmk_virtio_mmio_destroy(d->t);
  vmk_io_loop_destroy(&d->loop);
  munmap(d->ram, VDRV_RAM_SIZE);
}

uint32_t vdrv_read(struct vdrv *d, uint64_t off) {
  return (uint32_t)vmk_virtio_mmio_ops.read(d->t, off, 4);
}

void vdrv_write(struct vdrv *d, uint64_t off, uint32_t val) {
  vmk_virtio_mmio_ops.write(d->t, off, 4, val);
}

uint32_t vdrv_status(struct vdrv *d) {
  return vdrv_read(d, VMK_VIRTIO_MMIO_STATUS);
}

bool vdrv_needs_reset(struct vdrv *d) {
  return vdrv_status(d) & VMK_VIRTIO_S_NEEDS_RESET;
}

uint32_t vdrv_negotiate(struct vdrv *d, uint64_t features) {
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 0);
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, VMK_VIRTIO_S_ACKNOWLEDGE);
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS,
             VMK_VIRTIO_S_ACKNOWLEDGE | VMK_VIRTIO_S_DRIVER);
  uint64_t offered = 0;
  for (uint32_t sel = 0; sel < 2; sel++) {
    vdrv_write(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
    offered |= (uint64_t)vdrv_read(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES)
               << (32 * sel);
  }
  uint64_t f = features & offered;
  for (uint32_t sel = 0; sel < 2; sel++) {
    vdrv_write(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
    vdrv_write(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> (32 * sel)));
  }
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS,
             VMK_VIRTIO_S_ACKNOWLEDGE | VMK_VIRTIO_S_DRIVER |
                 VMK_VIRTIO_S_FEATURES_OK);
  return vdrv_status(d);
}

uint32_t vdrv_queue(struct vdrv *d, unsigned q, uint16_t size, uint64_t desc,
                    uint64_t avail, uint64_t used) {
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_SEL, q);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_NUM, size);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_READY, 1);
  d->q[q] = (struct vdrv_queue){.size = size};
  return vdrv_read(d, VMK_VIRTIO_MMIO_QUEUE_READY);
}

uint32_t vdrv_setup(struct vdrv *d, uint64_t features, uint16_t qsize) {
  uint32_t s = vdrv_negotiate(d, features);
  if (!(s & VMK_VIRTIO_S_FEATURES_OK))
    return s;
  unsigned n = vmk_virtio_mmio_num_queues(d->t);
  for (unsigned q = 0; q < n; q++) {
    uint64_t r = VDRV_RING(q);
    vdrv_queue(d, q, qsize, r, r + 0x1000, r + 0x2000);
  }
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, s | VMK_VIRTIO_S_DRIVER_OK);
  vdrv_run(d);
  return vdrv_status(d);
}

void *vdrv_ptr(struct vdrv *d, uint64_t gpa) {
  assert_true(gpa >= VDRV_RAM_BASE && gpa < VDRV_RAM_BASE + VDRV_RAM_SIZE);
  return d->ram + (gpa - VDRV_RAM_BASE);
}

uint64_t vdrv_alloc(struct vdrv *d, uint32_t len) {
  uint64_t a = d->data_next;
  d->data_next = (a + len + 15) & ~15ull;
  assert_true(d->data_next <= VDRV_RAM_BASE + VDRV_RAM_SIZE);
  return a;
}

void vdrv_desc(struct vdrv *d, unsigned q, uint16_t i, uint64_t addr,
               uint32_t len, uint16_t flags, uint16_t next) {
  uint8_t *p = vdrv_ptr(d, VDRV_RING(q) + 16ull * i);
  vmk_put_le64(p, addr);
  vmk_put_le32(p + 8, len);
  vmk_put_le16(p + 12, flags);
  vmk_put_le16(p + 14, next);
}

void vdrv_set_avail_idx(struct vdrv *d, unsigned q, uint16_t idx) {
  d->q[q].avail_idx = idx;
  uint16_t le;
  vmk_put_le16(&le, idx);
  /* Publishes the ring entry and descriptors written before (a real
   * driver's write barrier). */
  __atomic_store_n((uint16_t *)vdrv_ptr(d, VDRV_RING(q) + 0x1000 + 2), le,
                   __ATOMIC_RELEASE);
}

void vdrv_avail(struct vdrv *d, unsigned q, uint16_t head) {
  struct vdrv_queue *vq = &d->q[q];
  uint64_t a = VDRV_RING(q) + 0x1000;
  vmk_put_le16(vdrv_ptr(d, a + 4 + 2u * (vq->avail_idx % vq->size)), head);
  vdrv_set_avail_idx(d, q, (uint16_t)(vq->avail_idx + 1));
}

uint16_t vdrv_chain(struct vdrv *d, unsigned q, const struct vdrv_seg *segs,
                    unsigned n) {
  struct vdrv_queue *vq = &d->q[q];
  uint16_t head = vq->next_desc % vq->size;
  for (unsigned i = 0; i < n; i++) {
    uint16_t idx = (uint16_t)((vq->next_desc + i) % vq->size);
    uint16_t next = (uint16_t)((vq->next_desc + i + 1) % vq->size);
    uint16_t flags = (segs[i].write ? VMK_VRING_DESC_F_WRITE : 0) |
                     (i + 1 < n ? VMK_VRING_DESC_F_NEXT : 0);
    vdrv_desc(d, q, idx, segs[i].gpa, segs[i].len, flags, next);
  }
  vq->next_desc = (uint16_t)(vq->next_desc + n);
  vdrv_avail(d, q, head);
  return head;
}

void vdrv_run(struct vdrv *d) {
  for (int i = 0; i < 1000; i++)
    if (vmk_io_loop_run_once(&d->loop, 0) <= 0)
      return;
  fail_msg("the I/O loop never went idle");
}

void vdrv_kick(struct vdrv *d, unsigned q) {
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, q);
  vdrv_run(d);
}

uint16_t vdrv_used_idx(struct vdrv *d, unsigned q) {
  return vmk_le16(vdrv_ptr(d, VDRV_RING(q) + 0x2000 + 2));
}

bool vdrv_used(struct vdrv *d, unsigned q, uint16_t *id, uint32_t *len) {
  struct vdrv_queue *vq = &d->q[q];
  if (vdrv_used_idx(d, q) == vq->used_seen)
    return false;
  uint8_t *e =
      vdrv_ptr(d, VDRV_RING(q) + 0x2000 + 4 + 8u * (vq->used_seen % vq->size));
  *id = (uint16_t)vmk_le32(e);
  *len = vmk_le32(e + 4);
  vq->used_seen++;
  return true;
}
