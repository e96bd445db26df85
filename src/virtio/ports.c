/* ports.c — named console ports (--port NAME=PATH): a virtio-console with
 * VIRTIO_CONSOLE_F_MULTIPORT (virtio 1.2 §5.3), each port joined to a Unix
 * socket vmkit listens on, one host client at a time.
 *
 * Why a second virtio-console device rather than more ports on the first:
 * the first one (console.c) stays a plain single-port hvc0 that any guest
 * and early boot code understand, and nothing here can disturb it; this
 * device sends no CONSOLE_PORT, so its ports never become consoles. Port 0
 * of this device is the first named port.
 *
 * Queues: 0/1 port 0 receive/transmit, 2/3 control receive/transmit, then
 * 4+2(p-1) / 5+2(p-1) for port p >= 1. Protocol (§5.3.6.2): the driver
 * sends DEVICE_READY; the device answers DEVICE_ADD for every port; the
 * driver answers PORT_READY; the device then sends PORT_NAME, and
 * PORT_OPEN 1 whenever a host client is connected (0 when it leaves); the
 * driver sends PORT_OPEN when a guest program opens or closes the port.
 * What the device owes the driver is kept as a few bits per port (never a
 * queue that grows), sent as control buffers become available.
 *
 * Data: guest output is written to the host client without blocking; a
 * chain the socket cannot take yet stays in flight until EPOLLOUT, so the
 * only buffer is the guest's own. With no client, output is discarded (as
 * QEMU does). Host input is read straight into the guest's receive
 * buffers, only while a guest program has the port open: the guest driver
 * throws away data for a closed port, so until then it waits in the
 * socket. A client that leaves (end of input, an error) is closed, the
 * guest is told PORT_OPEN 0, and the next client is accepted.
 *
 * Threads: everything runs on the I/O thread with the transport lock held:
 * queue kicks through the transport, socket events through one private
 * epoll fd registered once with the I/O loop (its handler takes the lock
 * with vmk_virtio_lock). Epoll entries carry a port index and a client
 * generation, never a pointer, so a stale event is recognised. Device
 * reset (a vCPU thread, lock held) forgets the guest's side only: host
 * clients stay connected and are announced again once the driver is back.
 */
#include "virtio/ports.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "backends/unix_listen.h"
#include "base/le.h"
#include "base/sbuf.h"
#include "virtio/virtqueue.h"

#define CRXQ 2 /* control: device -> driver */
#define CTXQ 3 /* control: driver -> device */
#define BATCH 64
#define CFG_LEN 12 /* cols, rows, max_nr_ports, emerg_wr */

/* Control messages owed to the driver, per port, sent in this order. */
enum { P_ADD = 1, P_NAME = 2, P_OPEN = 4 };

enum { K_LISTEN = 1, K_CLIENT };

struct port {
  char name[VMK_PORT_NAME_MAX + 1];
  char path[VMK_UNIX_PATH_MAX + 1];
  int lfd, cfd;      /* listening socket; the client or -1 */
  bool lfd_watched;  /* lfd is in the epoll set (no client connected) */
  uint32_t gen;      /* bumped for every client */
  bool out_blocked;  /* the client's socket is full: wait for EPOLLOUT */
  bool hup;          /* the client hung up (its input may still be read) */
  bool added, ready; /* guest side: DEVICE_ADD sent, PORT_READY 1 seen */
  bool guest_open;
  unsigned pend; /* P_* */
  bool rx_have, tx_have;
  size_t tx_done;
  struct vmk_vq_chain rx, tx;
};

struct ports {
  struct vmk_virtio_device dev;
  uint8_t config[CFG_LEN];
  int ep;
  bool ep_watched;
  unsigned n;
  unsigned ignored;
  struct vmk_vq_chain ctl;
  struct port port[VMK_PORTS_MAX];
};

/* --- control messages ---------------------------------------------------- */

enum vmk_ports_verdict vmk_ports_ctrl_parse(const uint8_t *buf, size_t len,
                                            unsigned nports,
                                            struct vmk_ports_ctrl *out) {
  if (len < VMK_PORTS_CTRL_LEN)
    return VMK_PORTS_CTRL_BAD;
  out->id = vmk_le32(buf);
  out->event = vmk_le16(buf + 4);
  out->value = vmk_le16(buf + 6);
  switch (out->event) {
  case VMK_PORTS_DEVICE_READY: /* the id is unused (Linux sends ~0) */
    break;
  case VMK_PORTS_PORT_READY:
  case VMK_PORTS_PORT_OPEN:
    if (out->id >= nports)
      return VMK_PORTS_CTRL_IGNORE;
    break;
  default: /* events only a device sends, or unknown ones */
    return VMK_PORTS_CTRL_IGNORE;
  }
  return out->value <= 1 ? VMK_PORTS_CTRL_OK : VMK_PORTS_CTRL_IGNORE;
}

static unsigned rxq(unsigned p) { return p == 0 ? 0 : 2 + 2 * p; }
static unsigned txq(unsigned p) { return rxq(p) + 1; }

static uint64_t tag(unsigned kind, unsigned p, uint32_t gen) {
  return (uint64_t)kind << 56 | (uint64_t)p << 32 | gen;
}

static int ep_set(struct ports *d, int op, int fd, uint64_t data,
                  uint32_t events) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return epoll_ctl(d->ep, op, fd, &ev) < 0 ? -errno : 0;
}

/* Sends what the driver is owed while it gives control buffers. */
static void pump_ctrl(struct ports *d) {
  for (unsigned i = 0; i < d->n; i++) {
    struct port *p = &d->port[i];
    while (p->pend) {
      uint8_t msg[VMK_PORTS_CTRL_LEN + VMK_PORT_NAME_MAX];
      size_t len = VMK_PORTS_CTRL_LEN;
      unsigned bit;
      uint16_t event, value = 1;
      if (p->pend & P_ADD) {
        bit = P_ADD;
        event = VMK_PORTS_DEVICE_ADD;
      } else if (p->pend & P_NAME) {
        bit = P_NAME;
        event = VMK_PORTS_PORT_NAME;
        size_t k = strlen(p->name);
        memcpy(msg + len, p->name, k);
        len += k;
      } else {
        bit = P_OPEN;
        event = VMK_PORTS_PORT_OPEN;
        value = p->cfd >= 0; /* the state now, however often it changed */
      }
      vmk_put_le32(msg, i);
      vmk_put_le16(msg + 4, event);
      vmk_put_le16(msg + 6, value);
      if (vmk_virtio_pop(&d->dev, CRXQ, &d->ctl) <= 0)
        return; /* no buffer yet: the next control-receive kick resumes */
      if (d->ctl.in_len < len) {
        vmk_virtio_device_error(&d->dev,
                                "a control receive buffer of %zu bytes is "
                                "too small for a %zu-byte message",
                                d->ctl.in_len, len);
        return;
      }
      vmk_iov_from_buf(d->ctl.iov + d->ctl.n_out, d->ctl.n_in, 0, msg, len);
      vmk_virtio_push(&d->dev, CRXQ, d->ctl.head, (uint32_t)len);
      p->pend &= ~bit;
      if (bit == P_ADD)
        p->added = true;
    }
  }
}

/* --- data ---------------------------------------------------------------- */

static void drop_client(struct ports *d, unsigned i);

/* Host input into the guest's receive buffers, while a guest program has
 * the port open. Stops when the socket is empty (the next EPOLLIN edge
 * resumes), when buffers run out (the next receive kick resumes) or after
 * a batch (a kick of our own resumes). */
static void pump_rx(struct ports *d, unsigned i) {
  struct port *p = &d->port[i];
  if (p->cfd < 0)
    return;
  if (!p->ready || !p->guest_open) {
    /* Nobody reads: a client that hung up is let go, so the next one can
     * connect (its unread input would be thrown away by the guest driver,
     * which drops data for a port no program has open). */
    if (p->hup)
      drop_client(d, i);
    return;
  }
  for (unsigned n = 0; n < BATCH; n++) {
    if (!p->rx_have) {
      if (vmk_virtio_pop(&d->dev, rxq(i), &p->rx) <= 0)
        return;
      if (p->rx.in_len == 0) {
        vmk_virtio_device_error(&d->dev,
                                "port %u: a receive buffer with no "
                                "device-writable part",
                                i);
        return;
      }
      p->rx_have = true;
    }
    ssize_t r =
        vmk_unix_readv(p->cfd, p->rx.iov + p->rx.n_out, (int)p->rx.n_in);
    if (r == 0)
      return;
    if (r < 0) {
      drop_client(d, i); /* end of input, or a dead connection */
      return;
    }
    vmk_virtio_push(&d->dev, rxq(i), p->rx.head, (uint32_t)r);
    p->rx_have = false;
  }
  vmk_virtio_kick(&d->dev, rxq(i));
}

/* Writes the in-flight transmit chain from tx_done on: true when done (or
 * discarded), false when the socket is full. */
static bool write_chain(struct ports *d, unsigned i) {
  struct port *p = &d->port[i];
  while (p->cfd >= 0 && p->tx_done < p->tx.out_len) {
    struct iovec iov[VMK_VIRTIO_QUEUE_MAX];
    int k =
        vmk_iov_slice(p->tx.iov, p->tx.n_out, p->tx_done,
                      p->tx.out_len - p->tx_done, iov, VMK_VIRTIO_QUEUE_MAX);
    if (k < 0)
      break;
    ssize_t w = vmk_unix_writev(p->cfd, iov, k);
    if (w == 0) {
      p->out_blocked = true;
      return false;
    }
    if (w < 0) {
      drop_client(d, i); /* the rest of the chain is discarded */
      break;
    }
    p->tx_done += (size_t)w;
  }
  return true;
}

static void pump_tx(struct ports *d, unsigned i) {
  struct port *p = &d->port[i];
  if (p->out_blocked)
    return;
  for (unsigned n = 0; n < BATCH; n++) {
    if (!p->tx_have) {
      if (vmk_virtio_pop(&d->dev, txq(i), &p->tx) <= 0)
        return;
      p->tx_have = true;
      p->tx_done = 0;
    }
    if (!write_chain(d, i))
      return;
    vmk_virtio_push(&d->dev, txq(i), p->tx.head, 0);
    p->tx_have = false;
  }
  vmk_virtio_kick(&d->dev, txq(i));
}

/* --- host clients ------------------------------------------------------ */

static void drop_client(struct ports *d, unsigned i) {
  struct port *p = &d->port[i];
  if (p->cfd < 0)
    return;
  epoll_ctl(d->ep, EPOLL_CTL_DEL, p->cfd, NULL);
  close(p->cfd);
  p->cfd = -1;
  p->out_blocked = p->hup = false;
  if (p->ready)
    p->pend |= P_OPEN;
  if (!p->lfd_watched &&
      ep_set(d, EPOLL_CTL_ADD, p->lfd, tag(K_LISTEN, i, 0), EPOLLIN) == 0)
    p->lfd_watched = true;
  /* Output the guest queued for the client that left is discarded, later
   * (a kick, not a call: this may run inside pump_tx). */
  vmk_virtio_kick(&d->dev, txq(i));
}

static void on_listen(struct ports *d, unsigned i) {
  struct port *p = &d->port[i];
  if (p->cfd >= 0)
    return;
  int fd = vmk_unix_accept(p->lfd);
  if (fd == -EAGAIN)
    return; /* the client gave up before we came */
  if (fd < 0) {
    /* Out of fds or memory: a level-triggered listener that keeps failing
     * would spin the I/O thread, so this port stops taking clients. */
    epoll_ctl(d->ep, EPOLL_CTL_DEL, p->lfd, NULL);
    p->lfd_watched = false;
    fprintf(stderr,
            "vmkit: console port '%s': cannot accept a client (%s); the port "
            "takes no more clients\n",
            p->name, strerror(-fd));
    return;
  }
  p->gen++;
  if (ep_set(d, EPOLL_CTL_ADD, fd, tag(K_CLIENT, i, p->gen),
             EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
    close(fd);
    return;
  }
  p->cfd = fd;
  /* One client at a time: later ones wait in the backlog. */
  epoll_ctl(d->ep, EPOLL_CTL_DEL, p->lfd, NULL);
  p->lfd_watched = false;
  if (p->ready)
    p->pend |= P_OPEN;
}

static void on_client(struct ports *d, unsigned i, uint32_t events) {
  struct port *p = &d->port[i];
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
    p->out_blocked = false;
    pump_tx(d, i);
  }
  if (p->cfd >= 0 && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
    p->hup = true;
  if (p->cfd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
    pump_rx(d, i);
}

static void on_events(void *opaque, uint32_t events) {
  (void)events;
  struct ports *d = opaque;
  struct epoll_event evs[2 * VMK_PORTS_MAX];
  vmk_virtio_lock(&d->dev);
  int n = epoll_wait(d->ep, evs, 2 * VMK_PORTS_MAX, 0);
  for (int k = 0; k < n; k++) {
    uint64_t t = evs[k].data.u64;
    unsigned kind = (unsigned)(t >> 56), i = (unsigned)(t >> 32) & 0xffff;
    uint32_t gen = (uint32_t)t;
    if (i >= d->n)
      continue;
    if (kind == K_LISTEN)
      on_listen(d, i);
    else if (kind == K_CLIENT && d->port[i].cfd >= 0 && d->port[i].gen == gen)
      on_client(d, i, evs[k].events);
  }
  pump_ctrl(d);
  vmk_virtio_unlock(&d->dev);
}

/* --- the driver's control messages ------------------------------------------
 */

static void on_ctrl(struct ports *d, const struct vmk_ports_ctrl *m) {
  struct port *p = m->event == VMK_PORTS_DEVICE_READY ? NULL : &d->port[m->id];
  switch (m->event) {
  case VMK_PORTS_DEVICE_READY:
    if (m->value == 1) /* (again after a driver reload: announce again) */
      for (unsigned i = 0; i < d->n; i++)
        d->port[i].pend |= P_ADD;
    return;
  case VMK_PORTS_PORT_READY:
    if (!p->added) {
      d->ignored++; /* a port the device never offered */
      return;
    }
    p->ready = m->value == 1;
    if (p->ready)
      p->pend |= P_NAME | (p->cfd >= 0 ? P_OPEN : 0);
    return;
  case VMK_PORTS_PORT_OPEN:
    if (!p->ready) {
      d->ignored++;
      return;
    }
    p->guest_open = m->value == 1;
    pump_rx(d, m->id);
    return;
  }
}

static void pump_ctrl_tx(struct ports *d) {
  for (unsigned n = 0; n < BATCH; n++) {
    if (vmk_virtio_pop(&d->dev, CTXQ, &d->ctl) <= 0)
      return;
    uint8_t buf[VMK_PORTS_CTRL_LEN];
    size_t len = vmk_iov_to_buf(d->ctl.iov, d->ctl.n_out, 0, buf, sizeof(buf));
    struct vmk_ports_ctrl m;
    enum vmk_ports_verdict v = vmk_ports_ctrl_parse(buf, len, d->n, &m);
    vmk_virtio_push(&d->dev, CTXQ, d->ctl.head, 0);
    if (v == VMK_PORTS_CTRL_BAD) {
      vmk_virtio_device_error(&d->dev,
                              "a control message of %zu bytes; it has %d",
                              d->ctl.out_len, VMK_PORTS_CTRL_LEN);
      return;
    }
    if (v == VMK_PORTS_CTRL_IGNORE)
      d->ignored++;
    else
      on_ctrl(d, &m);
  }
  vmk_virtio_kick(&d->dev, CTXQ);
}

/* --- device ops ------------------------------------------------------------
 */

static void ports_notify(struct vmk_virtio_device *dev, unsigned q) {
  struct ports *d = (struct ports *)dev;
  if (q == CTXQ)
    pump_ctrl_tx(d);
  if (q == CRXQ || q == CTXQ) {
    pump_ctrl(d);
    return;
  }
  unsigned i = q < 2 ? 0 : q / 2 - 1;
  if (i >= d->n)
    return;
  if (q == rxq(i))
    pump_rx(d, i);
  else
    pump_tx(d, i);
  pump_ctrl(d); /* a dropped client may owe a PORT_OPEN 0 */
}

static void ports_reset(struct vmk_virtio_device *dev) {
  struct ports *d = (struct ports *)dev;
  for (unsigned i = 0; i < d->n; i++) {
    struct port *p = &d->port[i];
    p->added = p->ready = p->guest_open = false;
    p->pend = 0;
    p->rx_have = p->tx_have = false; /* the guest forgot its buffers */
    p->tx_done = 0;
    p->out_blocked = false;
  }
}

static int ports_attach(struct vmk_virtio_device *dev, vmk_error *err) {
  struct ports *d = (struct ports *)dev;
  int r = vmk_io_loop_add(dev->loop, d->ep, EPOLLIN, on_events, d);
  if (r < 0)
    return vmk_err(err, r, "cannot watch the console port sockets: %s",
                   strerror(-r));
  d->ep_watched = true;
  return 0;
}

static void ports_detach(struct vmk_virtio_device *dev) {
  struct ports *d = (struct ports *)dev;
  if (d->ep_watched)
    vmk_io_loop_del(dev->loop, d->ep);
  d->ep_watched = false;
}

static void ports_free(struct vmk_virtio_device *dev) {
  struct ports *d = (struct ports *)dev;
  for (unsigned i = 0; i < VMK_PORTS_MAX; i++) {
    struct port *p = &d->port[i];
    if (p->cfd >= 0)
      close(p->cfd);
    if (p->lfd >= 0) {
      close(p->lfd);
      unlink(p->path); /* vmkit made it; leave no stale socket behind */
    }
  }
  if (d->ep >= 0)
    close(d->ep);
  free(d);
}

/* Snapshots: the guest's view of each port (added, ready, open, what it
 * is owed). Host clients cannot be saved: a port whose client was
 * connected owes the guest a PORT_OPEN 0 after the restore, and clients
 * connect to the restored VM's sockets anew. Chains held for a client are
 * taken again (nothing was written into a receive chain yet; a transmit
 * chain with no client is discarded). */
static int ports_save(struct vmk_virtio_device *dev, struct vmk_sbuf *out,
                      unsigned rewind[VMK_VIRTIO_MAX_QUEUES], vmk_error *err) {
  struct ports *d = (struct ports *)dev;
  (void)err;
  vmk_sbuf_u32(out, d->n);
  for (unsigned i = 0; i < d->n; i++) {
    const struct port *p = &d->port[i];
    rewind[rxq(i)] = p->rx_have ? 1 : 0;
    rewind[txq(i)] = p->tx_have ? 1 : 0;
    vmk_sbuf_u8(out, p->added);
    vmk_sbuf_u8(out, p->ready);
    vmk_sbuf_u8(out, p->guest_open);
    vmk_sbuf_u8(out, p->cfd >= 0);
    vmk_sbuf_u8(out, (uint8_t)p->pend);
  }
  return 0;
}

static int ports_load(struct vmk_virtio_device *dev, struct vmk_sreader *in,
                      vmk_error *err) {
  struct ports *d = (struct ports *)dev;
  uint32_t n = vmk_sr_u32(in);
  if (in->bad || n != d->n)
    return vmk_err(err, -EINVAL,
                   "the snapshot's console ports device has %u ports; this "
                   "VM has %u",
                   n, d->n);
  for (unsigned i = 0; i < n; i++) {
    struct port *p = &d->port[i];
    p->added = vmk_sr_bool(in);
    p->ready = vmk_sr_bool(in);
    p->guest_open = vmk_sr_bool(in);
    bool had_client = vmk_sr_bool(in);
    uint8_t pend = vmk_sr_u8(in);
    if (in->bad || (pend & ~(P_ADD | P_NAME | P_OPEN)) ||
        (p->ready && !p->added))
      return vmk_err(err, -EINVAL,
                     "the snapshot's console ports state is malformed");
    p->pend = pend;
    if (p->ready && had_client != (p->cfd >= 0))
      p->pend |= P_OPEN; /* the guest's view of the client is stale */
    p->rx_have = p->tx_have = false;
    p->tx_done = 0;
  }
  return 0;
}

static const struct vmk_virtio_device_ops ports_ops = {
    .name = "virtio-console ports",
    .device_id = VMK_VIRTIO_ID_CONSOLE,
    .attach = ports_attach,
    .detach = ports_detach,
    .queue_notify = ports_notify,
    .reset = ports_reset,
    .free = ports_free,
    .save = ports_save,
    .load = ports_load,
};

int vmk_virtio_ports_create(const struct vmk_port_spec *specs, unsigned n,
                            struct vmk_virtio_device **out, vmk_error *err) {
  *out = NULL;
  if (n == 0 || n > VMK_PORTS_MAX)
    return vmk_err(err, -EINVAL, "%u console ports asked for; give 1 to %d", n,
                   VMK_PORTS_MAX);
  struct ports *d = calloc(1, sizeof(*d));
  if (!d)
    return vmk_err(err, -ENOMEM, "out of memory creating console ports");
  d->ep = -1;
  for (unsigned i = 0; i < VMK_PORTS_MAX; i++)
    d->port[i].lfd = d->port[i].cfd = -1;
  d->dev.ops = &ports_ops;
  d->n = n;
  int r;
  if ((d->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
    r = vmk_err(err, -errno, "cannot create an epoll set: %s", strerror(errno));
    goto fail;
  }
  for (unsigned i = 0; i < n; i++) {
    struct port *p = &d->port[i];
    size_t k = strlen(specs[i].name);
    if (k == 0 || k > VMK_PORT_NAME_MAX) {
      r = vmk_err(err, -EINVAL,
                  "console port name '%s' is %zu bytes; give 1 "
                  "to %d",
                  specs[i].name, k, VMK_PORT_NAME_MAX);
      goto fail;
    }
    memcpy(p->name, specs[i].name, k + 1);
    snprintf(p->path, sizeof(p->path), "%s", specs[i].path);
    char what[VMK_PORT_NAME_MAX + 32];
    snprintf(what, sizeof(what), "the socket of port '%s'", p->name);
    if ((r = vmk_unix_listen(what, specs[i].path, &p->lfd, err)))
      goto fail;
    if ((r = ep_set(d, EPOLL_CTL_ADD, p->lfd, tag(K_LISTEN, i, 0), EPOLLIN))) {
      r = vmk_err(err, r, "cannot watch %s: %s", what, strerror(-r));
      goto fail;
    }
    p->lfd_watched = true;
  }
  vmk_put_le32(d->config + 4, n); /* max_nr_ports */
  d->dev.num_queues = 2 * n + 2;
  d->dev.features = VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1) |
                    VMK_VIRTIO_BIT(VMK_VIRTIO_F_INDIRECT_DESC) |
                    VMK_VIRTIO_BIT(VMK_VIRTIO_CONSOLE_F_MULTIPORT);
  d->dev.config = d->config;
  d->dev.config_len = CFG_LEN;
  snprintf(d->dev.label, sizeof(d->dev.label), "console port '%.40s'%s",
           d->port[0].name, n > 1 ? " and others" : "");
  *out = &d->dev;
  return 0;
fail:
  ports_free(&d->dev);
  return r;
}

void vmk_virtio_ports_state(struct vmk_virtio_device *dev, unsigned i,
                            struct vmk_port_state *s) {
  struct ports *d = (struct ports *)dev;
  const struct port *p = &d->port[i < VMK_PORTS_MAX ? i : 0];
  *s = (struct vmk_port_state){.added = p->added,
                               .ready = p->ready,
                               .guest_open = p->guest_open,
                               .host_connected = p->cfd >= 0};
}

unsigned vmk_virtio_ports_ignored(struct vmk_virtio_device *dev) {
  return ((struct ports *)dev)->ignored;
}
