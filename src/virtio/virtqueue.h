/* virtqueue.h — split virtqueues (virtio 1.2 §2.7) seen from the device.
 *
 * Every guest-controlled value is checked here: ring addresses and sizes when
 * the queue is enabled, and on each pop the avail index, head index, every
 * descriptor's index, address, length and flags, chain length (bounded by the
 * queue size, so loops end), descriptor order and indirect tables. A bad
 * value makes pop return -EINVAL with vq->errmsg set; the caller then puts
 * the device into NEEDS_RESET. Descriptors are copied once out of guest RAM
 * before they are checked, so the guest cannot change them in between.
 * With VIRTIO_F_EVENT_IDX (§2.7.7, §2.7.10) the device publishes avail_event
 * (notify me once you make entry N available) whenever it finds the ring
 * empty, and interrupts only when the used index passes the driver's
 * used_event; both are 16-bit indices compared modulo 2^16, and a driver's
 * used_event is only ever compared, never used to address memory.
 * Threads: one thread at a time, under the owning transport's lock.
 */
#ifndef VMK_VIRTIO_VIRTQUEUE_H
#define VMK_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/guest_mem.h"
#include "virtio/virtio.h"

#define VMK_VRING_DESC_F_NEXT 1
#define VMK_VRING_DESC_F_WRITE 2
#define VMK_VRING_DESC_F_INDIRECT 4
#define VMK_VRING_AVAIL_F_NO_INTERRUPT 1

struct vmk_vq {
  /* Set by the driver through transport registers while not ready. */
  uint16_t num;
  uint64_t desc_gpa, avail_gpa, used_gpa;
  bool ready;
  /* Valid while ready: host views of the rings (checked to lie in RAM). */
  uint8_t *desc, *avail, *used;
  uint16_t last_avail; /* next avail ring slot the device reads */
  uint16_t used_idx;   /* next used ring slot the device writes */
  bool indirect;       /* VIRTIO_F_INDIRECT_DESC negotiated */
  bool pushed;         /* buffers returned since the last interrupt */
  bool event_idx;      /* VIRTIO_F_EVENT_IDX negotiated */
  /* used_idx when interrupt_wanted last looked (EVENT_IDX); invalid until
   * the first look after enable, which always interrupts. */
  uint16_t signalled_used;
  bool signalled_valid;
  char errmsg[112]; /* why the last enable/pop failed */
};

/* One descriptor chain: the device-readable segments come first
 * (iov[0..n_out)), then the device-writable ones (iov[n_out..n_out+n_in)). */
struct vmk_vq_chain {
  uint16_t head;
  unsigned n_out, n_in;
  size_t out_len, in_len;
  struct iovec iov[VMK_VIRTIO_QUEUE_MAX];
};

/* Forget the driver's configuration (device reset). */
void vmk_vq_reset(struct vmk_vq *vq);
/* Validate the configuration the driver wrote (size a power of two no
 * larger than max, rings aligned and wholly inside RAM) and start serving.
 * Returns 0 or -EINVAL with errmsg set. */
int vmk_vq_enable(struct vmk_vq *vq, const struct vmk_guest_mem *gm,
                  uint16_t max, bool indirect, bool event_idx);
/* Takes the next available chain: 1 when one was taken, 0 when the ring is
 * empty, -EINVAL when the guest wrote something invalid (errmsg set).
 * With EVENT_IDX an empty ring also asks the driver to notify on its next
 * entry (so a device must pop until 0 before it relies on a notification). */
int vmk_vq_pop(struct vmk_vq *vq, const struct vmk_guest_mem *gm,
               struct vmk_vq_chain *c);
/* Returns chain `head` to the driver with `len` bytes written. */
void vmk_vq_push(struct vmk_vq *vq, uint16_t head, uint32_t len);
/* Whether the buffers pushed since the last call need an interrupt: the
 * driver's NO_INTERRUPT flag, or with EVENT_IDX its used_event. Call once
 * per batch of pushes: with EVENT_IDX it remembers where it looked. */
bool vmk_vq_interrupt_wanted(struct vmk_vq *vq);

/* §2.7.10's vring_need_event: true when moving an index from old to new_idx
 * passes event, i.e. event lies in [old, new_idx) modulo 2^16. */
static inline bool vmk_vq_need_event(uint16_t event, uint16_t new_idx,
                                     uint16_t old) {
  return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* Copies between an iovec array (starting `off` bytes in) and a buffer;
 * return the bytes copied (short when the iovecs end). */
size_t vmk_iov_to_buf(const struct iovec *iov, unsigned n, size_t off,
                      void *buf, size_t len);
size_t vmk_iov_from_buf(const struct iovec *iov, unsigned n, size_t off,
                        const void *buf, size_t len);
/* Describes bytes [off, off+len) of iov in out (at most max entries);
 * returns the entry count, or -1 when they do not fit or do not exist. */
int vmk_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
                  struct iovec *out, unsigned max);

#endif
