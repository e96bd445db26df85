/* console.c — virtio-console, one port: queue 0 receives host input, queue 1
 * carries guest output (virtio 1.2 §5.3).
 *
 * Runs on the I/O thread: queue kicks come through the transport, and the
 * device's own fd events (input readable, output writable again) take the
 * transport lock with vmk_virtio_lock, which protects all state here.
 * A transmit chain that the host fd cannot take yet stays in flight (not
 * returned to the guest) until EPOLLOUT says the fd drained; out_fd is a
 * private non-blocking handle (vmk_char_dup_output), so no write blocks the
 * I/O thread. A reader that went away turns the output into a sink.
 */
#include "virtio/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "backends/char_fd.h"
#include "virtio/virtqueue.h"

#define RXQ 0
#define TXQ 1
#define INBUF 65536
#define BATCH (4 * VMK_VIRTIO_QUEUE_MAX)
#define CFG_LEN 12 /* cols, rows, max_nr_ports, emerg_wr: all unused */

struct console {
  struct vmk_virtio_device dev;
  int in_fd, out_fd; /* owned duplicates, or -1 */
  bool in_watched;   /* in_fd is registered with the loop */
  bool in_eof;       /* no more input will come */
  bool out_armed;    /* waiting for EPOLLOUT on out_fd */
  bool out_broken;   /* out_fd failed: output is discarded */
  uint8_t inbuf[INBUF];
  size_t in_start, in_len;
  bool tx_have; /* tx chain in flight */
  size_t tx_done;
  uint64_t tx_skip; /* restored: bytes of the first chain already written */
  struct vmk_vq_chain tx, rx;
  uint8_t config[CFG_LEN];
};

/* Copies buffered input into the guest's receive buffers; false when it
 * stopped after a batch with input left (a kick brings it back). */
static bool deliver(struct console *c) {
  for (unsigned n = 0; c->in_len > 0; n++) {
    if (n == BATCH) {
      vmk_virtio_kick(&c->dev, RXQ);
      return false;
    }
    if (vmk_virtio_pop(&c->dev, RXQ, &c->rx) <= 0)
      return true;
    size_t k = vmk_iov_from_buf(c->rx.iov + c->rx.n_out, c->rx.n_in, 0,
                                c->inbuf + c->in_start, c->in_len);
    vmk_virtio_push(&c->dev, RXQ, c->rx.head, (uint32_t)k);
    c->in_start += k;
    c->in_len -= k;
  }
  c->in_start = 0;
  return true;
}

/* Moves input from in_fd to the guest until either runs dry or the
 * buffer is full. in_fd is edge-triggered, so whenever this stops with
 * input left on the fd, a later rx kick (new buffers) resumes it. */
static void pump_rx(struct console *c) {
  for (unsigned round = 0;; round++) {
    if (!deliver(c))
      return;
    if (c->in_fd < 0 || c->in_eof)
      return;
    if (round == BATCH) { /* a flood of input: let other work run */
      vmk_virtio_kick(&c->dev, RXQ);
      return;
    }
    if (c->in_start) {
      memmove(c->inbuf, c->inbuf + c->in_start, c->in_len);
      c->in_start = 0;
    }
    size_t space = INBUF - c->in_len;
    if (space == 0)
      return;
    ssize_t n = vmk_char_read(c->in_fd, c->inbuf + c->in_len, space);
    if (n == 0)
      return;
    if (n < 0) {
      c->in_eof = true; /* end of input or a dead fd: stop reading */
      return;
    }
    c->in_len += (size_t)n;
  }
}

static void on_input(void *opaque, uint32_t events) {
  (void)events;
  struct console *c = opaque;
  vmk_virtio_lock(&c->dev);
  pump_rx(c);
  vmk_virtio_unlock(&c->dev);
}

static void pump_tx(struct console *c);

static void on_writable(void *opaque, uint32_t events) {
  (void)events;
  struct console *c = opaque;
  vmk_virtio_lock(&c->dev);
  vmk_io_loop_del(c->dev.loop, c->out_fd);
  c->out_armed = false;
  pump_tx(c);
  vmk_virtio_unlock(&c->dev);
}

static void out_failed(struct console *c, int e) {
  c->out_broken = true;
  if (e == EPIPE)
    return; /* the reader left (`vmkit run | head`): a sink from now on */
  fprintf(stderr,
          "vmkit: virtio-console: cannot write guest output (%s); further "
          "output is discarded\n",
          strerror(e));
}

/* Writes the in-flight chain from tx_done on; false when out_fd is full
 * (EPOLLOUT armed, the chain stays in flight). */
static bool write_chain(struct console *c) {
  while (c->tx_done < c->tx.out_len && c->out_fd >= 0 && !c->out_broken) {
    size_t off = c->tx_done;
    unsigned i = 0;
    while (off >= c->tx.iov[i].iov_len) /* tx_done < out_len: ends */
      off -= c->tx.iov[i++].iov_len;
    const uint8_t *p = (const uint8_t *)c->tx.iov[i].iov_base + off;
    ssize_t w = vmk_char_write(c->out_fd, p, c->tx.iov[i].iov_len - off);
    if (w < 0) {
      out_failed(c, (int)-w);
      break;
    }
    if (w == 0) {
      int r = vmk_io_loop_add(c->dev.loop, c->out_fd, EPOLLOUT, on_writable, c);
      if (r < 0) {
        out_failed(c, -r);
        break;
      }
      c->out_armed = true;
      return false;
    }
    c->tx_done += (size_t)w;
  }
  return true;
}

static void pump_tx(struct console *c) {
  if (c->out_armed)
    return;
  for (unsigned n = 0; n < BATCH; n++) {
    if (!c->tx_have) {
      if (vmk_virtio_pop(&c->dev, TXQ, &c->tx) <= 0)
        return;
      c->tx_have = true;
      c->tx_done = c->tx_skip < c->tx.out_len ? (size_t)c->tx_skip : 0;
      c->tx_skip = 0;
    }
    if (!write_chain(c))
      return;
    vmk_virtio_push(&c->dev, TXQ, c->tx.head, 0);
    c->tx_have = false;
  }
  vmk_virtio_kick(&c->dev, TXQ);
}

static void console_notify(struct vmk_virtio_device *dev, unsigned q) {
  struct console *c = (struct console *)dev;
  if (q == RXQ)
    pump_rx(c);
  else
    pump_tx(c);
}

static void console_reset(struct vmk_virtio_device *dev) {
  struct console *c = (struct console *)dev;
  c->tx_have = false; /* the guest forgot its buffers; so do we */
  c->tx_skip = 0;
  c->tx_done = 0;
}

static int console_attach(struct vmk_virtio_device *dev, vmk_error *err) {
  struct console *c = (struct console *)dev;
  if (c->in_fd < 0)
    return 0;
  int r = vmk_io_loop_add(dev->loop, c->in_fd, EPOLLIN | EPOLLET, on_input, c);
  if (r == -EPERM) {
    c->in_eof = true; /* not pollable: a file or /dev/null, no live input */
    return 0;
  }
  if (r < 0)
    return vmk_err(err, r, "cannot watch the console input: %s", strerror(-r));
  c->in_watched = true;
  return 0;
}

static void console_detach(struct vmk_virtio_device *dev) {
  struct console *c = (struct console *)dev;
  if (c->in_watched)
    vmk_io_loop_del(dev->loop, c->in_fd);
  if (c->out_armed)
    vmk_io_loop_del(dev->loop, c->out_fd);
  c->in_watched = c->out_armed = false;
}

static void console_free(struct vmk_virtio_device *dev) {
  struct console *c = (struct console *)dev;
  if (c->in_fd >= 0)
    close(c->in_fd);
  if (c->out_fd >= 0)
    close(c->out_fd);
  free(c);
}

/* A transmit chain the output fd could not take whole is taken again
 * after a restore, skipping what was written; unread input goes along. */
static int console_save(struct vmk_virtio_device *dev, struct vmk_sbuf *out,
                        unsigned rewind[VMK_VIRTIO_MAX_QUEUES],
                        vmk_error *err) {
  struct console *c = (struct console *)dev;
  (void)err;
  rewind[TXQ] = c->tx_have ? 1 : 0;
  vmk_sbuf_u64(out, c->tx_have ? c->tx_done : 0);
  vmk_sbuf_u32(out, (uint32_t)c->in_len);
  vmk_sbuf_bytes(out, c->inbuf + c->in_start, c->in_len);
  return 0;
}

static int console_load(struct vmk_virtio_device *dev, struct vmk_sreader *in,
                        vmk_error *err) {
  struct console *c = (struct console *)dev;
  uint64_t skip = vmk_sr_u64(in);
  uint32_t n = vmk_sr_u32(in);
  if (in->bad || n > INBUF || n > in->len - in->off)
    return vmk_err(err, -EINVAL,
                   "the snapshot's virtio-console state is malformed");
  vmk_sr_bytes(in, c->inbuf, n);
  c->in_start = 0;
  c->in_len = n;
  c->tx_have = false;
  c->tx_done = 0;
  c->tx_skip = skip;
  return 0;
}

static const struct vmk_virtio_device_ops console_ops = {
    .name = "virtio-console",
    .device_id = VMK_VIRTIO_ID_CONSOLE,
    .attach = console_attach,
    .detach = console_detach,
    .queue_notify = console_notify,
    .reset = console_reset,
    .free = console_free,
    .save = console_save,
    .load = console_load,
};

int vmk_virtio_console_create(int in_fd, int out_fd,
                              struct vmk_virtio_device **out, vmk_error *err) {
  *out = NULL;
  struct console *c = calloc(1, sizeof(*c));
  if (!c)
    return vmk_err(err, -ENOMEM, "out of memory creating virtio-console");
  c->in_fd = c->out_fd = -1;
  /* Our own descriptors: distinct epoll registrations even when the caller
   * passes one fd for both directions, and independent lifetimes. */
  if (in_fd >= 0 && (c->in_fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
    int e = errno;
    free(c);
    return vmk_err(err, -e, "cannot use fd %d as console input: %s", in_fd,
                   strerror(e));
  }
  /* Output gets a non-blocking description of its own, so the I/O thread
   * never blocks in write(2) even when another writer (the PL011) shares
   * the pipe or tty. */
  if (out_fd >= 0 && (c->out_fd = vmk_char_dup_output(out_fd)) < 0) {
    int e = -c->out_fd;
    c->out_fd = -1;
    console_free(&c->dev);
    return vmk_err(err, -e, "cannot use fd %d as console output: %s", out_fd,
                   strerror(e));
  }
  c->dev.ops = &console_ops;
  c->dev.num_queues = 2;
  c->dev.features = VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1) |
                    VMK_VIRTIO_BIT(VMK_VIRTIO_F_INDIRECT_DESC);
  c->dev.config = c->config;
  c->dev.config_len = CFG_LEN;
  *out = &c->dev;
  return 0;
}
