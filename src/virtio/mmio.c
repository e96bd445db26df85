/* mmio.c — virtio-mmio transport, version 2 (virtio 1.2 §4.2).
 *
 * Threads: vmk_virtio_mmio_ops run on vCPU threads; queue eventfd callbacks
 * run on the I/O thread. t->lock protects status, features, queue registers
 * and the queues themselves, and is held while the device serves a queue, so
 * a reset from a vCPU waits for an in-progress request and no ring is
 * touched after the reset returns. t->irq_lock protects int_status and the
 * line level; it is taken after t->lock, never before. QueueNotify takes no
 * lock: it only writes the queue's eventfd.
 */
#include "virtio/mmio.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/virtqueue.h"

struct notify_ctx {
  struct vmk_virtio_mmio *t;
  unsigned q;
};

struct vmk_virtio_mmio {
  pthread_mutex_t lock;
  pthread_mutex_t irq_lock;
  struct vmk_virtio_device *dev;
  const struct vmk_guest_mem *gm;
  struct vmk_irq_line irq;
  struct vmk_io_loop *loop;
  /* under lock */
  uint32_t status;
  uint32_t dev_features_sel, drv_features_sel;
  uint64_t driver_features;
  uint32_t queue_sel;
  uint32_t shm_sel;
  uint32_t config_gen; /* bumped by vmk_virtio_config_changed */
  struct vmk_vq vq[VMK_VIRTIO_MAX_QUEUES];
  /* under irq_lock */
  uint32_t int_status;
  /* fixed after create */
  int notify_fd[VMK_VIRTIO_MAX_QUEUES];
  struct notify_ctx nctx[VMK_VIRTIO_MAX_QUEUES];
  bool attached;
  /* Statistics for the control API: written under lock (or irq_lock for
   * interrupts), read by any thread with relaxed atomics (a snapshot, not
   * a consistent set). */
  struct vmk_virtio_counters counters;
};

static void count(uint64_t *c, uint64_t n) {
  __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* The line is edge-triggered in the device tree: with a chip that signals
 * edges (kvm's irqfd) each interrupt is one edge and acks never touch the
 * line; otherwise the level follows int_status. */
static void raise_int(struct vmk_virtio_mmio *t, uint32_t bits) {
  pthread_mutex_lock(&t->irq_lock);
  count(&t->counters.interrupts, 1);
  t->int_status |= bits;
  if (vmk_irq_has_edge(&t->irq))
    vmk_irq_edge(&t->irq);
  else
    vmk_irq_set(&t->irq, t->int_status != 0);
  pthread_mutex_unlock(&t->irq_lock);
}

static void ack_int(struct vmk_virtio_mmio *t, uint32_t bits) {
  pthread_mutex_lock(&t->irq_lock);
  t->int_status &= ~bits;
  if (!vmk_irq_has_edge(&t->irq))
    vmk_irq_set(&t->irq, t->int_status != 0);
  pthread_mutex_unlock(&t->irq_lock);
}

static bool running(const struct vmk_virtio_mmio *t) {
  return (t->status & VMK_VIRTIO_S_DRIVER_OK) &&
         !(t->status & (VMK_VIRTIO_S_NEEDS_RESET | VMK_VIRTIO_S_FAILED));
}

/* Raises the used-buffer interrupt for queues that returned buffers. */
static void flush_used(struct vmk_virtio_mmio *t) {
  bool want = false;
  for (unsigned q = 0; q < t->dev->num_queues; q++) {
    struct vmk_vq *vq = &t->vq[q];
    if (vq->ready && vq->pushed) {
      vq->pushed = false;
      if (vmk_vq_interrupt_wanted(vq))
        want = true;
    }
  }
  if (want)
    raise_int(t, VMK_VIRTIO_MMIO_INT_VRING);
}

static void kick(struct vmk_virtio_mmio *t, unsigned q);

/* --- services for devices */

bool vmk_virtio_running(struct vmk_virtio_device *dev) {
  return running(dev->transport);
}

int vmk_virtio_pop(struct vmk_virtio_device *dev, unsigned q,
                   struct vmk_vq_chain *c) {
  struct vmk_virtio_mmio *t = dev->transport;
  if (q >= dev->num_queues || !running(t))
    return 0;
  struct vmk_vq *vq = &t->vq[q];
  int r = vmk_vq_pop(vq, t->gm, c);
  if (r < 0)
    vmk_virtio_device_error(dev, "queue %u: %s", q, vq->errmsg);
  if (r > 0) {
    count(&t->counters.requests, 1);
    count(&t->counters.bytes_out, c->out_len);
  }
  return r;
}

void vmk_virtio_push(struct vmk_virtio_device *dev, unsigned q, uint16_t head,
                     uint32_t len) {
  struct vmk_virtio_mmio *t = dev->transport;
  if (q < dev->num_queues && t->vq[q].ready) {
    vmk_vq_push(&t->vq[q], head, len);
    count(&t->counters.bytes_in, len);
  }
}

void vmk_virtio_device_error(struct vmk_virtio_device *dev, const char *fmt,
                             ...) {
  struct vmk_virtio_mmio *t = dev->transport;
  if (t->status & VMK_VIRTIO_S_NEEDS_RESET)
    return; /* one line per incident, not one per kick */
  t->status |= VMK_VIRTIO_S_NEEDS_RESET;
  count(&t->counters.errors, 1);
  char msg[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  fprintf(stderr,
          "vmkit: %s: bad request from the guest (%s); the device "
          "stops until the guest driver resets it\n",
          dev->label[0] ? dev->label : dev->ops->name, msg);
  /* §2.1.2: a driver that is running learns of it by a config change. */
  if (t->status & VMK_VIRTIO_S_DRIVER_OK)
    raise_int(t, VMK_VIRTIO_MMIO_INT_CONFIG);
}

void vmk_virtio_config_changed(struct vmk_virtio_device *dev) {
  struct vmk_virtio_mmio *t = dev->transport;
  t->config_gen++;
  if (t->status & VMK_VIRTIO_S_DRIVER_OK)
    raise_int(t, VMK_VIRTIO_MMIO_INT_CONFIG);
}

void vmk_virtio_lock(struct vmk_virtio_device *dev) {
  pthread_mutex_lock(&dev->transport->lock);
}

void vmk_virtio_unlock(struct vmk_virtio_device *dev) {
  struct vmk_virtio_mmio *t = dev->transport;
  flush_used(t);
  pthread_mutex_unlock(&t->lock);
}

/* --- I/O thread: queue notifications */

static void on_notify(void *opaque, uint32_t events) {
  (void)events;
  struct notify_ctx *n = opaque;
  struct vmk_virtio_mmio *t = n->t;
  uint64_t v;
  if (read(t->notify_fd[n->q], &v, sizeof(v)) < 0 && errno == EAGAIN)
    return;
  pthread_mutex_lock(&t->lock);
  count(&t->counters.notifies, 1);
  if (running(t) && t->vq[n->q].ready && t->dev->ops->queue_notify)
    t->dev->ops->queue_notify(t->dev, n->q);
  flush_used(t);
  pthread_mutex_unlock(&t->lock);
}

static void kick(struct vmk_virtio_mmio *t, unsigned q) {
  uint64_t one = 1;
  ssize_t r = write(t->notify_fd[q], &one, sizeof(one));
  (void)r; /* a saturated counter still wakes the I/O thread */
}

void vmk_virtio_kick(struct vmk_virtio_device *dev, unsigned q) {
  if (q < dev->num_queues)
    kick(dev->transport, q);
}

/* --- vCPU threads: registers */

static void reset(struct vmk_virtio_mmio *t) {
  if (t->dev->ops->reset)
    t->dev->ops->reset(t->dev);
  for (unsigned q = 0; q < VMK_VIRTIO_MAX_QUEUES; q++)
    vmk_vq_reset(&t->vq[q]);
  t->status = 0;
  t->dev_features_sel = t->drv_features_sel = 0;
  t->driver_features = 0;
  t->dev->driver_features = 0;
  t->queue_sel = 0;
  t->shm_sel = 0;
  pthread_mutex_lock(&t->irq_lock);
  t->int_status = 0;
  if (!vmk_irq_has_edge(&t->irq))
    vmk_irq_set(&t->irq, false);
  pthread_mutex_unlock(&t->irq_lock);
}

static void write_status(struct vmk_virtio_mmio *t, uint32_t val) {
  if (val == 0) {
    reset(t);
    return;
  }
  uint32_t old = t->status;
  uint32_t s = (val & 0xffu & ~VMK_VIRTIO_S_NEEDS_RESET) |
               (old & VMK_VIRTIO_S_NEEDS_RESET);
  if ((s & VMK_VIRTIO_S_FEATURES_OK) && !(old & VMK_VIRTIO_S_FEATURES_OK)) {
    /* Refuse (leave FEATURES_OK clear) features we never offered and
     * legacy drivers that do not accept VERSION_1. */
    uint64_t f = t->driver_features;
    if ((f & ~t->dev->features) ||
        !(f & VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1)))
      s &= ~VMK_VIRTIO_S_FEATURES_OK;
    else
      t->dev->driver_features = f;
  }
  t->status = s;
  if ((s & VMK_VIRTIO_S_DRIVER_OK) && !(old & VMK_VIRTIO_S_DRIVER_OK)) {
    if (!(s & VMK_VIRTIO_S_FEATURES_OK)) {
      vmk_virtio_device_error(t->dev, "DRIVER_OK set before FEATURES_OK");
      return;
    }
    /* Buffers may have been posted before DRIVER_OK: look at every queue. */
    for (unsigned q = 0; q < t->dev->num_queues; q++)
      kick(t, q);
  }
}

static void write_queue_ready(struct vmk_virtio_mmio *t, struct vmk_vq *vq,
                              uint32_t val) {
  if (!val) {
    vq->ready = false;
    return;
  }
  if (vq->ready)
    return;
  uint64_t f = t->dev->driver_features;
  bool indirect = f & VMK_VIRTIO_BIT(VMK_VIRTIO_F_INDIRECT_DESC);
  bool event_idx = f & VMK_VIRTIO_BIT(VMK_VIRTIO_F_EVENT_IDX);
  if (vmk_vq_enable(vq, t->gm, VMK_VIRTIO_QUEUE_MAX, indirect, event_idx) < 0)
    vmk_virtio_device_error(t->dev, "queue %u: %s", t->queue_sel, vq->errmsg);
}

/* Under the lock: a device may change its config space meanwhile. */
static uint64_t config_read(struct vmk_virtio_mmio *t, uint64_t off,
                            unsigned size) {
  const struct vmk_virtio_device *d = t->dev;
  if (off >= d->config_len || size > d->config_len - off)
    return 0;
  uint64_t v = 0;
  pthread_mutex_lock(&t->lock);
  for (unsigned i = 0; i < size; i++)
    v |= (uint64_t)d->config[off + i] << (8 * i);
  pthread_mutex_unlock(&t->lock);
  return v;
}

static void config_write(struct vmk_virtio_mmio *t, uint64_t off, unsigned size,
                         uint64_t val) {
  struct vmk_virtio_device *d = t->dev;
  if (!d->ops->config_write || (size != 1 && size != 2 && size != 4) ||
      off >= d->config_len || size > d->config_len - off)
    return;
  pthread_mutex_lock(&t->lock);
  d->ops->config_write(d, (uint32_t)off, size, (uint32_t)val);
  flush_used(t);
  pthread_mutex_unlock(&t->lock);
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size) {
  struct vmk_virtio_mmio *t = opaque;
  if (off >= VMK_VIRTIO_MMIO_CONFIG)
    return config_read(t, off - VMK_VIRTIO_MMIO_CONFIG, size);
  if (size != 4 || (off & 3))
    return 0; /* registers are 32-bit only (§4.2.2.2) */
  uint64_t v = 0;
  pthread_mutex_lock(&t->lock);
  struct vmk_vq *vq =
      t->queue_sel < t->dev->num_queues ? &t->vq[t->queue_sel] : NULL;
  switch (off) {
  case VMK_VIRTIO_MMIO_MAGIC:
    v = VMK_VIRTIO_MMIO_MAGIC_VALUE;
    break;
  case VMK_VIRTIO_MMIO_VERSION:
    v = 2;
    break;
  case VMK_VIRTIO_MMIO_DEVICE_ID:
    v = t->dev->ops->device_id;
    break;
  case VMK_VIRTIO_MMIO_VENDOR_ID:
    v = VMK_VIRTIO_MMIO_VENDOR;
    break;
  case VMK_VIRTIO_MMIO_DEVICE_FEATURES:
    v = t->dev_features_sel < 2
            ? (uint32_t)(t->dev->features >> (32 * t->dev_features_sel))
            : 0;
    break;
  case VMK_VIRTIO_MMIO_QUEUE_NUM_MAX:
    v = vq ? VMK_VIRTIO_QUEUE_MAX : 0;
    break;
  case VMK_VIRTIO_MMIO_QUEUE_NUM:
    v = vq ? vq->num : 0;
    break;
  case VMK_VIRTIO_MMIO_QUEUE_READY:
    v = vq ? vq->ready : 0;
    break;
  case VMK_VIRTIO_MMIO_INTERRUPT_STATUS:
    pthread_mutex_lock(&t->irq_lock);
    v = t->int_status;
    pthread_mutex_unlock(&t->irq_lock);
    break;
  case VMK_VIRTIO_MMIO_STATUS:
    v = t->status;
    break;
  case VMK_VIRTIO_MMIO_QUEUE_DESC_LOW:
    v = vq ? (uint32_t)vq->desc_gpa : 0;
    break;
  case VMK_VIRTIO_MMIO_QUEUE_DESC_HIGH:
    v = vq ? vq->desc_gpa >> 32 : 0;
    break;
  case VMK_VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    v = vq ? (uint32_t)vq->avail_gpa : 0;
    break;
  case VMK_VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    v = vq ? vq->avail_gpa >> 32 : 0;
    break;
  case VMK_VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    v = vq ? (uint32_t)vq->used_gpa : 0;
    break;
  case VMK_VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
    v = vq ? vq->used_gpa >> 32 : 0;
    break;
  case VMK_VIRTIO_MMIO_SHM_LEN_LOW:
  case VMK_VIRTIO_MMIO_SHM_LEN_HIGH:
  case VMK_VIRTIO_MMIO_SHM_BASE_LOW:
  case VMK_VIRTIO_MMIO_SHM_BASE_HIGH:
    v = 0xffffffffu; /* no shared memory regions (§4.2.2) */
    break;
  case VMK_VIRTIO_MMIO_CONFIG_GENERATION:
    v = t->config_gen;
    break;
  default:
    v = 0;
  }
  pthread_mutex_unlock(&t->lock);
  return v;
}

static void set_lo(uint64_t *r, uint32_t v) {
  *r = (*r & 0xffffffff00000000ull) | v;
}
static void set_hi(uint64_t *r, uint32_t v) {
  *r = (*r & 0xffffffffull) | (uint64_t)v << 32;
}

static void mmio_write(void *opaque, uint64_t off, unsigned size,
                       uint64_t val64) {
  struct vmk_virtio_mmio *t = opaque;
  if (off >= VMK_VIRTIO_MMIO_CONFIG) {
    config_write(t, off - VMK_VIRTIO_MMIO_CONFIG, size, val64);
    return;
  }
  if (size != 4 || (off & 3))
    return;
  uint32_t val = (uint32_t)val64;
  if (off == VMK_VIRTIO_MMIO_QUEUE_NOTIFY) {
    if (val < t->dev->num_queues)
      kick(t, val);
    return;
  }
  if (off == VMK_VIRTIO_MMIO_INTERRUPT_ACK) {
    ack_int(t, val);
    return;
  }
  pthread_mutex_lock(&t->lock);
  struct vmk_vq *vq =
      t->queue_sel < t->dev->num_queues ? &t->vq[t->queue_sel] : NULL;
  /* Queue layout registers are ignored while the queue is live. */
  struct vmk_vq *cfg = vq && !vq->ready ? vq : NULL;
  bool feat_open = !(t->status & VMK_VIRTIO_S_FEATURES_OK);
  switch (off) {
  case VMK_VIRTIO_MMIO_DEVICE_FEATURES_SEL:
    t->dev_features_sel = val;
    break;
  case VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL:
    t->drv_features_sel = val;
    break;
  case VMK_VIRTIO_MMIO_DRIVER_FEATURES:
    if (feat_open && t->drv_features_sel == 0)
      set_lo(&t->driver_features, val);
    else if (feat_open && t->drv_features_sel == 1)
      set_hi(&t->driver_features, val);
    break;
  case VMK_VIRTIO_MMIO_QUEUE_SEL:
    t->queue_sel = val;
    break;
  case VMK_VIRTIO_MMIO_QUEUE_NUM:
    if (cfg)
      cfg->num = val > 0xffff ? 0 : (uint16_t)val; /* checked on ready */
    break;
  case VMK_VIRTIO_MMIO_QUEUE_READY:
    if (vq)
      write_queue_ready(t, vq, val);
    break;
  case VMK_VIRTIO_MMIO_STATUS:
    write_status(t, val);
    break;
  case VMK_VIRTIO_MMIO_QUEUE_DESC_LOW:
    if (cfg)
      set_lo(&cfg->desc_gpa, val);
    break;
  case VMK_VIRTIO_MMIO_QUEUE_DESC_HIGH:
    if (cfg)
      set_hi(&cfg->desc_gpa, val);
    break;
  case VMK_VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    if (cfg)
      set_lo(&cfg->avail_gpa, val);
    break;
  case VMK_VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    if (cfg)
      set_hi(&cfg->avail_gpa, val);
    break;
  case VMK_VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    if (cfg)
      set_lo(&cfg->used_gpa, val);
    break;
  case VMK_VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
    if (cfg)
      set_hi(&cfg->used_gpa, val);
    break;
  case VMK_VIRTIO_MMIO_SHM_SEL:
    t->shm_sel = val;
    break;
  default:
    break; /* read-only or unknown: ignored */
  }
  pthread_mutex_unlock(&t->lock);
}

const struct vmk_mmio_ops vmk_virtio_mmio_ops = {.read = mmio_read,
                                                 .write = mmio_write};

/* --- lifecycle */

void vmk_virtio_device_free(struct vmk_virtio_device *dev) {
  if (dev && dev->ops->free)
    dev->ops->free(dev);
}

int vmk_virtio_mmio_create(struct vmk_virtio_device *dev,
                           const struct vmk_guest_mem *gm,
                           struct vmk_irq_line irq, struct vmk_io_loop *loop,
                           struct vmk_virtio_mmio **out, vmk_error *err) {
  *out = NULL;
  if (dev->num_queues == 0 || dev->num_queues > VMK_VIRTIO_MAX_QUEUES) {
    vmk_virtio_device_free(dev);
    return vmk_err(err, -EINVAL, "virtio device has an invalid queue count");
  }
  struct vmk_virtio_mmio *t = calloc(1, sizeof(*t));
  if (!t) {
    vmk_virtio_device_free(dev);
    return vmk_err(err, -ENOMEM, "out of memory creating a virtio device");
  }
  pthread_mutex_init(&t->lock, NULL);
  pthread_mutex_init(&t->irq_lock, NULL);
  t->dev = dev;
  t->gm = gm;
  t->irq = irq;
  t->loop = loop;
  /* Every device gets notification and interrupt suppression: it lives
   * wholly in the rings (virtqueue.c), so devices need not know of it. */
  dev->features |= VMK_VIRTIO_BIT(VMK_VIRTIO_F_EVENT_IDX);
  for (unsigned q = 0; q < VMK_VIRTIO_MAX_QUEUES; q++)
    t->notify_fd[q] = -1;
  dev->transport = t;
  dev->gm = gm;
  dev->loop = loop;
  int r;
  for (unsigned q = 0; q < dev->num_queues; q++) {
    t->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (t->notify_fd[q] < 0) {
      r = vmk_err(err, -errno, "cannot create an eventfd for %s: %s",
                  dev->ops->name, strerror(errno));
      goto fail;
    }
    t->nctx[q] = (struct notify_ctx){.t = t, .q = q};
    r = vmk_io_loop_add(loop, t->notify_fd[q], EPOLLIN, on_notify, &t->nctx[q]);
    if (r < 0) {
      close(t->notify_fd[q]);
      t->notify_fd[q] = -1;
      vmk_err(err, r, "cannot watch the %s queue eventfd: %s", dev->ops->name,
              strerror(-r));
      goto fail;
    }
  }
  if (dev->ops->attach) {
    r = dev->ops->attach(dev, err);
    if (r < 0)
      goto fail;
  }
  t->attached = true;
  *out = t;
  return 0;
fail:
  vmk_virtio_mmio_destroy(t);
  return r;
}

unsigned vmk_virtio_mmio_num_queues(const struct vmk_virtio_mmio *t) {
  return t->dev->num_queues;
}

int vmk_virtio_mmio_queue_notify_fd(const struct vmk_virtio_mmio *t,
                                    unsigned q) {
  return q < t->dev->num_queues ? t->notify_fd[q] : -1;
}

void vmk_virtio_mmio_counters(const struct vmk_virtio_mmio *t,
                              struct vmk_virtio_counters *out) {
  const struct vmk_virtio_counters *c = &t->counters;
  out->notifies = __atomic_load_n(&c->notifies, __ATOMIC_RELAXED);
  out->interrupts = __atomic_load_n(&c->interrupts, __ATOMIC_RELAXED);
  out->requests = __atomic_load_n(&c->requests, __ATOMIC_RELAXED);
  out->bytes_out = __atomic_load_n(&c->bytes_out, __ATOMIC_RELAXED);
  out->bytes_in = __atomic_load_n(&c->bytes_in, __ATOMIC_RELAXED);
  out->errors = __atomic_load_n(&c->errors, __ATOMIC_RELAXED);
}

struct vmk_virtio_device *vmk_virtio_mmio_device(struct vmk_virtio_mmio *t) {
  return t->dev;
}

void vmk_virtio_mmio_destroy(struct vmk_virtio_mmio *t) {
  if (!t)
    return;
  if (t->attached && t->dev->ops->detach)
    t->dev->ops->detach(t->dev);
  for (unsigned q = 0; q < VMK_VIRTIO_MAX_QUEUES; q++) {
    if (t->notify_fd[q] >= 0) {
      vmk_io_loop_del(t->loop, t->notify_fd[q]);
      close(t->notify_fd[q]);
    }
  }
  vmk_virtio_device_free(t->dev);
  pthread_mutex_destroy(&t->lock);
  pthread_mutex_destroy(&t->irq_lock);
  free(t);
}

/* --- snapshots (owner thread, VM paused) */

#define SAVE_VERSION 1

void vmk_virtio_mmio_freeze(struct vmk_virtio_mmio *t) {
  pthread_mutex_lock(&t->lock);
}

void vmk_virtio_mmio_thaw(struct vmk_virtio_mmio *t) {
  pthread_mutex_unlock(&t->lock);
}

static const char *dev_name(const struct vmk_virtio_device *d) {
  return d->label[0] ? d->label : d->ops->name;
}

int vmk_virtio_mmio_save(struct vmk_virtio_mmio *t, struct vmk_sbuf *out,
                         vmk_error *err) {
  struct vmk_virtio_device *d = t->dev;
  if (!d->ops->save)
    return vmk_err(err, -ENOTSUP,
                   "the VM cannot be saved: its %s device does not support "
                   "snapshots yet",
                   d->ops->name);
  unsigned rewind[VMK_VIRTIO_MAX_QUEUES] = {0};
  struct vmk_sbuf dev_state = {0};
  int r = d->ops->save(d, &dev_state, rewind, err);
  if (r) {
    vmk_sbuf_free(&dev_state);
    return r;
  }
  vmk_sbuf_u32(out, SAVE_VERSION);
  vmk_sbuf_u32(out, d->ops->device_id);
  vmk_sbuf_u32(out, d->num_queues);
  vmk_sbuf_u32(out, t->status);
  vmk_sbuf_u32(out, t->dev_features_sel);
  vmk_sbuf_u32(out, t->drv_features_sel);
  vmk_sbuf_u64(out, t->driver_features);
  vmk_sbuf_u64(out, d->driver_features);
  vmk_sbuf_u32(out, t->queue_sel);
  pthread_mutex_lock(&t->irq_lock);
  vmk_sbuf_u32(out, t->int_status);
  pthread_mutex_unlock(&t->irq_lock);
  for (unsigned q = 0; q < d->num_queues; q++) {
    const struct vmk_vq *vq = &t->vq[q];
    vmk_sbuf_u16(out, vq->num);
    vmk_sbuf_u64(out, vq->desc_gpa);
    vmk_sbuf_u64(out, vq->avail_gpa);
    vmk_sbuf_u64(out, vq->used_gpa);
    vmk_sbuf_u8(out, vq->ready);
    /* Chains the device holds are taken again after a restore. */
    vmk_sbuf_u16(out, (uint16_t)(vq->last_avail - rewind[q]));
    vmk_sbuf_u16(out, vq->used_idx);
  }
  vmk_sbuf_u32(out, (uint32_t)dev_state.len);
  vmk_sbuf_bytes(out, dev_state.p, dev_state.len);
  bool oom = dev_state.oom;
  vmk_sbuf_free(&dev_state);
  if (oom || out->oom)
    return vmk_err(err, -ENOMEM, "out of memory saving %s", dev_name(d));
  return 0;
}

int vmk_virtio_mmio_load(struct vmk_virtio_mmio *t, const void *data,
                         size_t len, vmk_error *err) {
  struct vmk_virtio_device *d = t->dev;
  struct vmk_sreader r = vmk_sreader_of(data, len);
  uint32_t version = vmk_sr_u32(&r);
  uint32_t id = vmk_sr_u32(&r);
  uint32_t nq = vmk_sr_u32(&r);
  if (r.bad || version != SAVE_VERSION)
    return vmk_err(err, -EINVAL,
                   "the snapshot's state of %s has version %u; this vmkit "
                   "reads version %u",
                   dev_name(d), version, SAVE_VERSION);
  if (id != d->ops->device_id || nq != d->num_queues)
    return vmk_err(err, -EINVAL,
                   "the snapshot has a different device where this VM has "
                   "%s (virtio device %u with %u queues, not %u with %u)",
                   dev_name(d), id, nq, d->ops->device_id, d->num_queues);
  if (!d->ops->load)
    return vmk_err(err, -ENOTSUP, "%s cannot be restored from a snapshot",
                   dev_name(d));
  pthread_mutex_lock(&t->lock);
  reset(t);
  int rc = 0;
  uint32_t status = vmk_sr_u32(&r) & 0xffu;
  t->dev_features_sel = vmk_sr_u32(&r);
  t->drv_features_sel = vmk_sr_u32(&r);
  t->driver_features = vmk_sr_u64(&r);
  uint64_t accepted = vmk_sr_u64(&r);
  t->queue_sel = vmk_sr_u32(&r);
  uint32_t int_status =
      vmk_sr_u32(&r) & (VMK_VIRTIO_MMIO_INT_VRING | VMK_VIRTIO_MMIO_INT_CONFIG);
  if (accepted & ~d->features) {
    rc = vmk_err(err, -EINVAL,
                 "the snapshot's %s accepted features this device does not "
                 "offer (0x%llx)",
                 dev_name(d), (unsigned long long)(accepted & ~d->features));
    goto out;
  }
  d->driver_features = accepted;
  t->status = status;
  bool indirect = accepted & VMK_VIRTIO_BIT(VMK_VIRTIO_F_INDIRECT_DESC);
  bool event_idx = accepted & VMK_VIRTIO_BIT(VMK_VIRTIO_F_EVENT_IDX);
  for (unsigned q = 0; q < nq && !r.bad; q++) {
    struct vmk_vq *vq = &t->vq[q];
    vq->num = vmk_sr_u16(&r);
    vq->desc_gpa = vmk_sr_u64(&r);
    vq->avail_gpa = vmk_sr_u64(&r);
    vq->used_gpa = vmk_sr_u64(&r);
    bool ready = vmk_sr_bool(&r);
    uint16_t last_avail = vmk_sr_u16(&r), used_idx = vmk_sr_u16(&r);
    if (ready && !r.bad) {
      if (vmk_vq_enable(vq, t->gm, VMK_VIRTIO_QUEUE_MAX, indirect, event_idx) <
          0) {
        rc = vmk_err(err, -EINVAL, "the snapshot's %s queue %u is bad: %s",
                     dev_name(d), q, vq->errmsg);
        goto out;
      }
      vq->last_avail = last_avail;
      vq->used_idx = used_idx;
    }
  }
  uint32_t dlen = vmk_sr_u32(&r);
  if (r.bad || dlen != r.len - r.off) {
    rc = vmk_err(err, -EINVAL, "the snapshot's state of %s is truncated",
                 dev_name(d));
    goto out;
  }
  struct vmk_sreader dr = vmk_sreader_of(r.p + r.off, dlen);
  if ((rc = d->ops->load(d, &dr, err)))
    goto out;
  if (!vmk_sr_done(&dr)) {
    rc = vmk_err(err, -EINVAL, "the snapshot's state of %s is malformed",
                 dev_name(d));
    goto out;
  }
  pthread_mutex_lock(&t->irq_lock);
  t->int_status |= int_status;
  vmk_irq_set(&t->irq, t->int_status != 0);
  pthread_mutex_unlock(&t->irq_lock);
  /* Buffers the guest posted before the save are looked at again. */
  if (running(t))
    for (unsigned q = 0; q < nq; q++)
      kick(t, q);
out:
  if (rc)
    reset(t);
  flush_used(t);
  pthread_mutex_unlock(&t->lock);
  return rc;
}

int vmk_virtio_save_none(struct vmk_virtio_device *dev, struct vmk_sbuf *out,
                         unsigned rewind[VMK_VIRTIO_MAX_QUEUES],
                         vmk_error *err) {
  (void)dev;
  (void)out;
  (void)rewind;
  (void)err;
  return 0;
}

int vmk_virtio_load_none(struct vmk_virtio_device *dev, struct vmk_sreader *in,
                         vmk_error *err) {
  (void)dev;
  (void)in;
  (void)err;
  return 0;
}
