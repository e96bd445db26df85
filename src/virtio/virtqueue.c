/* virtqueue.c — split virtqueue walking with every guest value checked.
 * Runs on whichever thread holds the owning transport's lock (the I/O thread
 * when serving queues, a vCPU thread when the driver enables a queue).
 * Ring indices in guest RAM are read and written with atomics because the
 * guest's vCPUs update them concurrently. */
#include "virtio/virtqueue.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/le.h"

static int vq_fail(struct vmk_vq *vq, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int vq_fail(struct vmk_vq *vq, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(vq->errmsg, sizeof(vq->errmsg), fmt, ap);
  va_end(ap);
  return -EINVAL;
}

void vmk_vq_reset(struct vmk_vq *vq) { memset(vq, 0, sizeof(*vq)); }

int vmk_vq_enable(struct vmk_vq *vq, const struct vmk_guest_mem *gm,
                  uint16_t max, bool indirect, bool event_idx) {
  uint16_t n = vq->num;
  if (n == 0 || n > max || (n & (n - 1)))
    return vq_fail(vq, "queue size %u is not a power of two in 1..%u", n, max);
  /* Alignments from §2.7: descriptors 16, avail 2, used 4. */
  if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
    return vq_fail(vq, "ring addresses are misaligned");
  /* Sizes include used_event (avail ring) and avail_event (used ring). */
  vq->desc = vmk_gm_ptr(gm, vq->desc_gpa, 16ull * n);
  vq->avail = vmk_gm_ptr(gm, vq->avail_gpa, 6ull + 2ull * n);
  vq->used = vmk_gm_ptr(gm, vq->used_gpa, 6ull + 8ull * n);
  if (!vq->desc || !vq->avail || !vq->used) {
    vq->desc = vq->avail = vq->used = NULL;
    return vq_fail(vq, "a ring lies outside guest RAM");
  }
  vq->last_avail = 0;
  vq->used_idx = 0;
  vq->indirect = indirect;
  vq->event_idx = event_idx;
  vq->pushed = false;
  vq->signalled_valid = false;
  vq->ready = true;
  return 0;
}

static uint16_t load16_acquire(const uint8_t *p) {
  uint16_t v = __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
  return vmk_le16(&v);
}

static void store16_release(uint8_t *p, uint16_t v) {
  uint16_t le;
  vmk_put_le16(&le, v);
  __atomic_store_n((uint16_t *)p, le, __ATOMIC_RELEASE);
}

/* The ring is empty: with EVENT_IDX, ask for a notification when the driver
 * makes entry last_avail available, then look again, since the driver may
 * have added it before it could see our avail_event (it stores its index,
 * then reads avail_event; we store avail_event, then read its index: with a
 * full barrier on both sides one of us sees the other). Returns the avail
 * index seen after that. */
static uint16_t arm_avail_event(struct vmk_vq *vq, uint16_t avail_idx) {
  if (!vq->event_idx)
    return avail_idx;
  store16_release(vq->used + 4 + 8u * vq->num, vq->last_avail);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return load16_acquire(vq->avail + 2);
}

struct desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags, next;
};

static struct desc read_desc(const uint8_t *table, uint16_t i) {
  const uint8_t *p = table + 16u * i;
  return (struct desc){.addr = vmk_le64(p),
                       .len = vmk_le32(p + 8),
                       .flags = vmk_le16(p + 12),
                       .next = vmk_le16(p + 14)};
}

int vmk_vq_pop(struct vmk_vq *vq, const struct vmk_guest_mem *gm,
               struct vmk_vq_chain *c) {
  if (!vq->ready)
    return 0;
  uint16_t avail_idx = load16_acquire(vq->avail + 2);
  if (avail_idx == vq->last_avail)
    avail_idx = arm_avail_event(vq, avail_idx);
  uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
  if (pending == 0)
    return 0;
  if (pending > vq->num)
    return vq_fail(vq, "avail index moved by %u on a queue of %u", pending,
                   vq->num);
  uint16_t head =
      vmk_le16(vq->avail + 4 + 2u * (vq->last_avail & (vq->num - 1)));
  if (head >= vq->num)
    return vq_fail(vq, "head descriptor %u is out of range (size %u)", head,
                   vq->num);
  vq->last_avail++;

  c->head = head;
  c->n_out = c->n_in = 0;
  c->out_len = c->in_len = 0;
  const uint8_t *table = vq->desc;
  uint32_t table_size = vq->num;
  uint16_t i = head;
  bool in_indirect = false;
  /* A chain holds at most num descriptors (§2.7.5.3.1), indirect ones
   * included; this bound also ends chains that loop. */
  for (unsigned count = 0;;) {
    struct desc d = read_desc(table, i);
    if (d.flags & VMK_VRING_DESC_F_INDIRECT) {
      if (!vq->indirect)
        return vq_fail(vq, "indirect descriptor without the feature");
      if (in_indirect || count != 0)
        return vq_fail(vq, "indirect descriptor inside a chain");
      if (d.flags & VMK_VRING_DESC_F_NEXT)
        return vq_fail(vq, "indirect descriptor with NEXT set");
      if (d.len == 0 || d.len % 16 || d.len / 16 > vq->num)
        return vq_fail(vq, "indirect table length %u is invalid", d.len);
      table = vmk_gm_ptr(gm, d.addr, d.len);
      if (!table)
        return vq_fail(vq, "indirect table at 0x%llx lies outside RAM",
                       (unsigned long long)d.addr);
      table_size = d.len / 16;
      in_indirect = true;
      i = 0;
      continue;
    }
    if (++count > vq->num)
      return vq_fail(vq, "descriptor chain longer than %u (a loop?)", vq->num);
    if (d.len) {
      void *host = vmk_gm_ptr(gm, d.addr, d.len);
      if (!host)
        return vq_fail(vq, "buffer 0x%llx+%u lies outside RAM",
                       (unsigned long long)d.addr, d.len);
      struct iovec *io = &c->iov[c->n_out + c->n_in];
      io->iov_base = host;
      io->iov_len = d.len;
      if (d.flags & VMK_VRING_DESC_F_WRITE) {
        c->n_in++;
        c->in_len += d.len;
      } else {
        if (c->n_in)
          return vq_fail(vq, "readable descriptor after a writable one");
        c->n_out++;
        c->out_len += d.len;
      }
    }
    if (!(d.flags & VMK_VRING_DESC_F_NEXT))
      break;
    if (d.next >= table_size)
      return vq_fail(vq, "next descriptor %u is out of range (size %u)", d.next,
                     table_size);
    i = d.next;
  }
  return 1;
}

void vmk_vq_push(struct vmk_vq *vq, uint16_t head, uint32_t len) {
  uint8_t *e = vq->used + 4 + 8u * (vq->used_idx & (vq->num - 1));
  vmk_put_le32(e, head);
  vmk_put_le32(e + 4, len);
  vq->used_idx++;
  /* The element must be visible before the index that publishes it. */
  store16_release(vq->used + 2, vq->used_idx);
  vq->pushed = true;
}

bool vmk_vq_interrupt_wanted(struct vmk_vq *vq) {
  /* Order our used-index store before reading the driver's flag or
   * used_event (the driver writes those, then reads our index). */
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (!vq->event_idx)
    return !(load16_acquire(vq->avail) & VMK_VRING_AVAIL_F_NO_INTERRUPT);
  /* §2.7.10: the flag is ignored; used_event says where to interrupt. */
  uint16_t old = vq->signalled_used;
  bool valid = vq->signalled_valid;
  vq->signalled_used = vq->used_idx;
  vq->signalled_valid = true;
  if (!valid)
    return true;
  uint16_t used_event = load16_acquire(vq->avail + 4 + 2u * vq->num);
  return vmk_vq_need_event(used_event, vq->used_idx, old);
}

size_t vmk_iov_to_buf(const struct iovec *iov, unsigned n, size_t off,
                      void *buf, size_t len) {
  size_t done = 0;
  for (unsigned i = 0; i < n && done < len; i++) {
    if (off >= iov[i].iov_len) {
      off -= iov[i].iov_len;
      continue;
    }
    size_t k = iov[i].iov_len - off;
    if (k > len - done)
      k = len - done;
    memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off, k);
    done += k;
    off = 0;
  }
  return done;
}

size_t vmk_iov_from_buf(const struct iovec *iov, unsigned n, size_t off,
                        const void *buf, size_t len) {
  size_t done = 0;
  for (unsigned i = 0; i < n && done < len; i++) {
    if (off >= iov[i].iov_len) {
      off -= iov[i].iov_len;
      continue;
    }
    size_t k = iov[i].iov_len - off;
    if (k > len - done)
      k = len - done;
    memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)buf + done, k);
    done += k;
    off = 0;
  }
  return done;
}

int vmk_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
                  struct iovec *out, unsigned max) {
  unsigned cnt = 0;
  for (unsigned i = 0; i < n && len; i++) {
    if (off >= iov[i].iov_len) {
      off -= iov[i].iov_len;
      continue;
    }
    size_t k = iov[i].iov_len - off;
    if (k > len)
      k = len;
    if (cnt == max)
      return -1;
    out[cnt].iov_base = (uint8_t *)iov[i].iov_base + off;
    out[cnt].iov_len = k;
    cnt++;
    len -= k;
    off = 0;
  }
  return len ? -1 : (int)cnt;
}
