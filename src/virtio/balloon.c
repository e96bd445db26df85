/* balloon.c — virtio-balloon: the guest gives pages back and vmkit returns
 * them to the host.
 *
 * Queues (numbered as the driver numbers them: absent ones take no index,
 * §5.5.2): 0 inflate, 1 deflate, then stats if VIRTIO_BALLOON_F_STATS_VQ was
 * negotiated, then reporting if VIRTIO_BALLOON_F_REPORTING was. Inflate and
 * reporting discard the host pages behind the guest's pages (MADV_REMOVE
 * for shared memory, MADV_DONTNEED for private anonymous RAM), so vmkit's
 * RSS drops; a page the guest touches again comes back zeroed. Every PFN is
 * checked to lie in guest RAM; a bad one puts the device in NEEDS_RESET.
 * Only whole host pages inside a guest range are discarded, so a host with
 * pages larger than 4 KiB never loses a byte the guest still owns.
 * The statistics buffer is kept until the device wants fresh statistics
 * (every VMK_BALLOON_STATS_INTERVAL_MS, or on request), then handed back.
 *
 * Threads: queue callbacks, the stats timer and reset run under the
 * transport lock (I/O thread; vCPU thread for reset and config writes);
 * set_target and info take that lock from any thread. All device state
 * below is protected by it.
 */
#include "virtio/balloon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/le.h"
#include "virtio/virtqueue.h"

#define CONFIG_LEN 16 /* num_pages, actual, cmd id, poison value */
#define OFF_NUM_PAGES 0
#define OFF_ACTUAL 4
#define BATCH 64      /* chains per notify before yielding (kick again) */
#define PFN_CHUNK 256 /* PFNs copied out of the guest at a time */

enum role { ROLE_INFLATE, ROLE_DEFLATE, ROLE_STATS, ROLE_REPORT, ROLE_NONE };

struct balloon {
  struct vmk_virtio_device dev;
  uint8_t config[CONFIG_LEN];
  uint32_t target_pages;
  uint32_t actual_pages;
  uint64_t inflated_pages, deflated_pages, reported_bytes, discard_failures;
  /* The guest's statistics buffer, held until statistics are wanted. */
  bool stats_held;
  uint16_t stats_head;
  unsigned stats_q;
  struct vmk_balloon_stat_set stats;
  uint64_t stats_updates;
  struct timespec stats_at;
  bool private_ram; /* MADV_REMOVE refused: RAM is private anonymous */
  size_t host_page;
  int timer_fd;
  struct vmk_vq_chain chain;
};

/* --- statistics */

/* Tags whose value is a memory size in bytes (§5.5.6.3). */
static bool is_memory_tag(unsigned tag) {
  return tag == 4 || tag == 5 || tag == 6 || tag == 7;
}

int vmk_balloon_stats_parse(const uint8_t *buf, size_t len, uint64_t ram_bytes,
                            struct vmk_balloon_stat_set *out) {
  memset(out, 0, sizeof(*out));
  if (len % VMK_BALLOON_STAT_LEN ||
      len > VMK_BALLOON_STATS_MAX * VMK_BALLOON_STAT_LEN)
    return -EINVAL;
  for (size_t off = 0; off < len; off += VMK_BALLOON_STAT_LEN) {
    unsigned tag = vmk_le16(buf + off);
    uint64_t val = vmk_le64(buf + off + 2);
    if (tag >= VMK_BALLOON_NSTATS)
      continue;
    if (is_memory_tag(tag) && val > ram_bytes) {
      out->rejected++;
      out->valid &= ~(1u << tag);
      continue;
    }
    out->val[tag] = val;
    out->valid |= 1u << tag;
  }
  return 0;
}

/* --- discarding guest pages */

/* Gives the host pages wholly inside [p, p+len) back to the host. */
static void discard(struct balloon *b, uint8_t *p, size_t len) {
  uintptr_t start = ((uintptr_t)p + b->host_page - 1) & ~(b->host_page - 1);
  uintptr_t end = ((uintptr_t)p + len) & ~(b->host_page - 1);
  if (end <= start)
    return;
  void *a = (void *)start;
  size_t n = end - start;
  if (!b->private_ram) {
    if (madvise(a, n, MADV_REMOVE) == 0)
      return;
    /* EINVAL: anonymous private memory; EACCES: a private file mapping;
     * both are given back by MADV_DONTNEED. */
    if (errno != EINVAL && errno != EACCES && errno != EOPNOTSUPP) {
      b->discard_failures++;
      return;
    }
    b->private_ram = true;
  }
  if (madvise(a, n, MADV_DONTNEED) < 0)
    b->discard_failures++;
}

/* A host range, from a chain the virtqueue code already checked, once more
 * against RAM: discarding is the one place a bad pointer would cost the
 * host, so it is not left to another file's invariant. */
static bool host_in_ram(const struct vmk_guest_mem *gm, const void *p,
                        size_t len) {
  uintptr_t a = (uintptr_t)p, lo = (uintptr_t)gm->host;
  return a >= lo && a - lo <= gm->size && len <= gm->size - (a - lo);
}

/* --- queues */

static enum role role_of(const struct balloon *b, unsigned q) {
  if (q == 0)
    return ROLE_INFLATE;
  if (q == 1)
    return ROLE_DEFLATE;
  unsigned next = 2;
  uint64_t f = b->dev.driver_features;
  if (f & VMK_VIRTIO_BIT(VMK_BALLOON_F_STATS_VQ)) {
    if (q == next)
      return ROLE_STATS;
    next++;
  }
  if ((f & VMK_VIRTIO_BIT(VMK_BALLOON_F_REPORTING)) && q == next)
    return ROLE_REPORT;
  return ROLE_NONE;
}

/* One inflate/deflate buffer: an array of le32 PFNs. Returns false after a
 * guest error (the device then needs a reset). */
static bool pfn_chain(struct balloon *b, unsigned q, bool inflate) {
  struct vmk_vq_chain *c = &b->chain;
  const struct vmk_guest_mem *gm = b->dev.gm;
  if (c->n_in || c->out_len % 4) {
    vmk_virtio_device_error(&b->dev,
                            "queue %u: a PFN buffer must be device-readable "
                            "and a whole number of 4-byte PFNs (%zu bytes)",
                            q, c->out_len);
    return false;
  }
  /* Copied out before they are checked, so the guest cannot change a PFN
   * between the check and the madvise. */
  uint8_t raw[PFN_CHUNK * 4];
  size_t total = c->out_len / 4;
  for (size_t done = 0; done < total;) {
    size_t n = total - done < PFN_CHUNK ? total - done : PFN_CHUNK;
    vmk_iov_to_buf(c->iov, c->n_out, done * 4, raw, n * 4);
    uint64_t run_gpa = 0, run_len = 0;
    for (size_t i = 0; i < n; i++) {
      uint64_t gpa = (uint64_t)vmk_le32(raw + 4 * i) * VMK_BALLOON_PAGE;
      if (!vmk_gm_range_ok(gm, gpa, VMK_BALLOON_PAGE)) {
        vmk_virtio_device_error(&b->dev,
                                "queue %u: PFN 0x%llx is outside guest RAM", q,
                                (unsigned long long)(gpa / VMK_BALLOON_PAGE));
        return false;
      }
      if (!inflate)
        continue;
      if (run_len && gpa == run_gpa + run_len) {
        run_len += VMK_BALLOON_PAGE;
        continue;
      }
      if (run_len)
        discard(b, vmk_gm_ptr(gm, run_gpa, run_len), run_len);
      run_gpa = gpa;
      run_len = VMK_BALLOON_PAGE;
    }
    if (run_len)
      discard(b, vmk_gm_ptr(gm, run_gpa, run_len), run_len);
    done += n;
  }
  if (inflate)
    b->inflated_pages += total;
  else
    b->deflated_pages += total;
  return true;
}

/* One reporting buffer: each segment is a run of free guest memory. */
static void report_chain(struct balloon *b) {
  struct vmk_vq_chain *c = &b->chain;
  for (unsigned i = 0; i < c->n_out + c->n_in; i++) {
    struct iovec *io = &c->iov[i];
    if (!host_in_ram(b->dev.gm, io->iov_base, io->iov_len))
      continue; /* cannot happen: virtqueue.c checked it */
    discard(b, io->iov_base, io->iov_len);
    b->reported_bytes += io->iov_len;
  }
}

static bool stats_chain(struct balloon *b, unsigned q) {
  struct vmk_vq_chain *c = &b->chain;
  uint8_t raw[VMK_BALLOON_STATS_MAX * VMK_BALLOON_STAT_LEN];
  struct vmk_balloon_stat_set s;
  if (c->n_in || c->out_len > sizeof(raw) ||
      vmk_balloon_stats_parse(
          raw, vmk_iov_to_buf(c->iov, c->n_out, 0, raw, c->out_len),
          b->dev.gm->size, &s) < 0) {
    vmk_virtio_device_error(&b->dev,
                            "queue %u: a statistics buffer must be "
                            "device-readable 10-byte entries, at most %u "
                            "(%zu bytes)",
                            q, VMK_BALLOON_STATS_MAX, c->out_len);
    return false;
  }
  /* The driver queues its buffer again only after the device returned it;
   * one arriving while another is held is returned at once. */
  if (b->stats_held)
    vmk_virtio_push(&b->dev, b->stats_q, b->stats_head, 0);
  b->stats = s;
  b->stats_updates++;
  clock_gettime(CLOCK_MONOTONIC, &b->stats_at);
  b->stats_held = true;
  b->stats_head = c->head;
  b->stats_q = q;
  return true;
}

/* Hands the statistics buffer back: the driver refills and requeues it. */
static void request_stats(struct balloon *b) {
  if (!b->stats_held || !vmk_virtio_running(&b->dev))
    return;
  b->stats_held = false;
  vmk_virtio_push(&b->dev, b->stats_q, b->stats_head, 0);
}

static void balloon_notify(struct vmk_virtio_device *dev, unsigned q) {
  struct balloon *b = (struct balloon *)dev;
  enum role role = role_of(b, q);
  if (role == ROLE_NONE)
    return;
  for (unsigned n = 0; n < BATCH; n++) {
    if (vmk_virtio_pop(dev, q, &b->chain) <= 0)
      return;
    switch (role) {
    case ROLE_INFLATE:
    case ROLE_DEFLATE:
      if (!pfn_chain(b, q, role == ROLE_INFLATE))
        return;
      break;
    case ROLE_REPORT:
      report_chain(b);
      break;
    case ROLE_STATS:
      if (!stats_chain(b, q))
        return;
      continue; /* held, not returned */
    case ROLE_NONE:
      return;
    }
    vmk_virtio_push(dev, q, b->chain.head, 0);
  }
  vmk_virtio_kick(dev, q);
}

static void balloon_reset(struct vmk_virtio_device *dev) {
  struct balloon *b = (struct balloon *)dev;
  /* A reset driver starts with an empty balloon and no buffers. */
  b->stats_held = false;
  b->actual_pages = 0;
  vmk_put_le32(b->config + OFF_ACTUAL, 0);
}

static void balloon_config_write(struct vmk_virtio_device *dev, uint32_t off,
                                 unsigned size, uint32_t val) {
  struct balloon *b = (struct balloon *)dev;
  /* Only `actual` is the driver's to write. */
  if (off < OFF_ACTUAL || off + size > OFF_ACTUAL + 4)
    return;
  uint8_t v[4];
  memcpy(v, b->config + OFF_ACTUAL, 4);
  for (unsigned i = 0; i < size; i++)
    v[off - OFF_ACTUAL + i] = (uint8_t)(val >> (8 * i));
  uint32_t actual = vmk_le32(v);
  /* A balloon larger than RAM is a lie; keep the last believable value. */
  if ((uint64_t)actual * VMK_BALLOON_PAGE > dev->gm->size)
    return;
  memcpy(b->config + OFF_ACTUAL, v, 4);
  b->actual_pages = actual;
}

/* Stats timer (I/O thread). */
static void on_timer(void *opaque, uint32_t events) {
  (void)events;
  struct balloon *b = opaque;
  uint64_t ticks;
  if (read(b->timer_fd, &ticks, sizeof(ticks)) < 0)
    return;
  vmk_virtio_lock(&b->dev);
  request_stats(b);
  vmk_virtio_unlock(&b->dev);
}

static int balloon_attach(struct vmk_virtio_device *dev, vmk_error *err) {
  struct balloon *b = (struct balloon *)dev;
  b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (b->timer_fd < 0)
    return vmk_err(err, -errno, "cannot create the balloon's timer: %s",
                   strerror(errno));
  struct itimerspec its = {
      .it_interval = {.tv_sec = VMK_BALLOON_STATS_INTERVAL_MS / 1000,
                      .tv_nsec =
                          (VMK_BALLOON_STATS_INTERVAL_MS % 1000) * 1000000L},
  };
  its.it_value = its.it_interval;
  int r;
  if (timerfd_settime(b->timer_fd, 0, &its, NULL) < 0) {
    r = vmk_err(err, -errno, "cannot start the balloon's timer: %s",
                strerror(errno));
    goto fail;
  }
  r = vmk_io_loop_add(dev->loop, b->timer_fd, EPOLLIN, on_timer, b);
  if (r < 0) {
    vmk_err(err, r, "cannot watch the balloon's timer: %s", strerror(-r));
    goto fail;
  }
  return 0;
fail:
  close(b->timer_fd);
  b->timer_fd = -1;
  return r;
}

static void balloon_detach(struct vmk_virtio_device *dev) {
  struct balloon *b = (struct balloon *)dev;
  if (b->timer_fd >= 0) {
    vmk_io_loop_del(dev->loop, b->timer_fd);
    close(b->timer_fd);
    b->timer_fd = -1;
  }
}

static void balloon_free(struct vmk_virtio_device *dev) {
  struct balloon *b = (struct balloon *)dev;
  if (b->timer_fd >= 0)
    close(b->timer_fd);
  free(b);
}

/* Snapshots. The target is the host's setting and comes from the restored
 * VM's config; what the driver told (actual) goes along, and a statistics
 * buffer the device holds is taken again by the restored device. */
static int balloon_save(struct vmk_virtio_device *dev, struct vmk_sbuf *out,
                        unsigned rewind[VMK_VIRTIO_MAX_QUEUES],
                        vmk_error *err) {
  struct balloon *b = (struct balloon *)dev;
  (void)err;
  if (b->stats_held)
    rewind[b->stats_q] = 1;
  vmk_sbuf_u32(out, b->actual_pages);
  return 0;
}

static int balloon_load(struct vmk_virtio_device *dev, struct vmk_sreader *in,
                        vmk_error *err) {
  struct balloon *b = (struct balloon *)dev;
  uint32_t actual = vmk_sr_u32(in);
  if (in->bad || (uint64_t)actual * VMK_BALLOON_PAGE > dev->gm->size)
    return vmk_err(err, -EINVAL,
                   "the snapshot's virtio-balloon state is malformed");
  b->actual_pages = actual;
  vmk_put_le32(b->config + OFF_ACTUAL, actual);
  b->stats_held = false;
  return 0;
}

static const struct vmk_virtio_device_ops balloon_ops = {
    .name = "virtio-balloon",
    .device_id = VMK_VIRTIO_ID_BALLOON,
    .attach = balloon_attach,
    .detach = balloon_detach,
    .queue_notify = balloon_notify,
    .reset = balloon_reset,
    .free = balloon_free,
    .config_write = balloon_config_write,
    .save = balloon_save,
    .load = balloon_load,
};

int vmk_virtio_balloon_create(uint32_t target_pages,
                              struct vmk_virtio_device **out, vmk_error *err) {
  struct balloon *b = calloc(1, sizeof(*b));
  if (!b) {
    *out = NULL;
    return vmk_err(err, -ENOMEM, "out of memory creating virtio-balloon");
  }
  long ps = sysconf(_SC_PAGESIZE);
  b->host_page = ps > 0 ? (size_t)ps : 4096;
  b->timer_fd = -1;
  b->target_pages = target_pages;
  vmk_put_le32(b->config + OFF_NUM_PAGES, target_pages);
  b->dev.ops = &balloon_ops;
  b->dev.num_queues = 4;
  b->dev.config = b->config;
  b->dev.config_len = CONFIG_LEN;
  /* Deflate-on-OOM: a target never costs the guest an OOM kill. No
   * PAGE_POISON: reported pages read back as zeros, which a guest that
   * poisons free pages would take for corruption, so Linux then turns
   * reporting off by itself. */
  b->dev.features = VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1) |
                    VMK_VIRTIO_BIT(VMK_VIRTIO_F_INDIRECT_DESC) |
                    VMK_VIRTIO_BIT(VMK_BALLOON_F_STATS_VQ) |
                    VMK_VIRTIO_BIT(VMK_BALLOON_F_DEFLATE_ON_OOM) |
                    VMK_VIRTIO_BIT(VMK_BALLOON_F_REPORTING);
  *out = &b->dev;
  return 0;
}

void vmk_virtio_balloon_set_target(struct vmk_virtio_device *dev,
                                   uint32_t target_pages) {
  struct balloon *b = (struct balloon *)dev;
  vmk_virtio_lock(dev);
  if (b->target_pages != target_pages) {
    b->target_pages = target_pages;
    vmk_put_le32(b->config + OFF_NUM_PAGES, target_pages);
    vmk_virtio_config_changed(dev);
  }
  vmk_virtio_unlock(dev);
}

void vmk_virtio_balloon_info(struct vmk_virtio_device *dev, bool want_stats,
                             struct vmk_balloon_info *out) {
  struct balloon *b = (struct balloon *)dev;
  vmk_virtio_lock(dev);
  if (want_stats)
    request_stats(b);
  *out = (struct vmk_balloon_info){
      .target_pages = b->target_pages,
      .actual_pages = b->actual_pages,
      .inflated_pages = b->inflated_pages,
      .deflated_pages = b->deflated_pages,
      .reported_bytes = b->reported_bytes,
      .discard_failures = b->discard_failures,
      .stats = b->stats,
      .stats_updates = b->stats_updates,
      .stats_age_ms = UINT64_MAX,
  };
  if (b->stats_updates) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ns = (int64_t)(now.tv_sec - b->stats_at.tv_sec) * 1000000000 +
                 (now.tv_nsec - b->stats_at.tv_nsec);
    out->stats_age_ms = ns > 0 ? (uint64_t)ns / 1000000u : 0;
  }
  vmk_virtio_unlock(dev);
}
