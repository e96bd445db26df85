/* vsock.c — virtio-vsock (virtio 1.2 §5.10): stream connections between the
 * guest and host Unix sockets (Firecracker's convention, implemented by
 * backends/vsock_unix.c). Queues: 0 receive (device -> guest), 1 transmit
 * (guest -> device), 2 events (unused: vmkit never migrates).
 *
 * Threads: everything runs on the I/O thread with the transport lock held:
 * queue kicks come through the transport; host socket events come through
 * one private epoll fd (registered once with the I/O loop), whose handler
 * takes the lock with vmk_virtio_lock. Device reset (a vCPU thread, lock
 * held) closes every connection. Epoll entries carry a slot index and a
 * generation, never a pointer, so an event for a connection closed earlier
 * in the same round is recognised and ignored.
 *
 * Flow control (§5.10.6.3): guest -> host bytes are written to the host
 * socket at once when it takes them; the rest is kept in a per-connection
 * buffer of VMK_VSOCK_CONN_BUF bytes, which is the buf_alloc the guest is
 * told, and fwd_cnt counts bytes handed to the host socket. An honest guest
 * can therefore never overfill the buffer; a guest that sends beyond its
 * credit gets its connection reset, so memory stays bounded (vsock.h:
 * VMK_VSOCK_MAX_CONNS * VMK_VSOCK_CONN_BUF). Host -> guest bytes are read
 * from the host socket straight into the guest's receive buffers, never
 * more than the guest's credit (buf_alloc - (tx_cnt - fwd_cnt)) allows, so
 * that direction holds no host memory at all; a guest that lies about its
 * credit only gets more data sooner.
 */
#include "virtio/vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/unix_listen.h"
#include "backends/vsock_unix.h"
#include "base/le.h"
#include "virtio/virtqueue.h"

#define RXQ 0
#define TXQ 1
#define EVQ 2
#define BATCH 256
#define RST_RING 64           /* answers to stray packets waiting for rx room */
#define MAX_PENDING 32        /* host connections still sending CONNECT */
#define MAX_PKT 65536         /* payload per packet to the guest */
#define HOST_PORT0 (1u << 30) /* host-side ports of host-made connections */
#define CREDIT_STEP (VMK_VSOCK_CONN_BUF / 4)

enum cstate {
  C_FREE,
  C_CONNECTING, /* host-initiated: waiting for the guest's RESPONSE */
  C_ESTABLISHED,
  C_CLOSING, /* guest shut both ways: flushing to the host, then RST */
  C_DEAD,    /* host side gone: a RST to the guest is pending */
};

/* Control packets owed to the guest, most urgent first. */
enum {
  P_RST = 1,
  P_RESPONSE = 2,
  P_REQUEST = 4,
  P_SHUTDOWN = 8,
  P_CREDIT_UPDATE = 16,
  P_CREDIT_REQUEST = 32,
};

enum { K_LISTEN = 1, K_PENDING, K_CONN };

struct conn {
  enum cstate state;
  int fd;
  uint32_t gen;
  uint32_t host_port, guest_port;
  unsigned pend;
  /* guest -> host */
  uint8_t *buf; /* VMK_VSOCK_CONN_BUF bytes, allocated when first needed */
  uint32_t head, len;
  uint32_t fwd_cnt, fwd_reported;
  bool guest_shut_send, guest_shut_rcv, host_wr_shut;
  bool writable;
  /* host -> guest */
  uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt;
  bool readable, host_eof, credit_asked;
};

struct vsock {
  struct vmk_virtio_device dev;
  uint8_t config[8];
  uint64_t cid;
  char path[VMK_VSOCK_UNIX_PATH_MAX + 1];
  int lfd, ep;
  bool ep_watched;
  struct conn conns[VMK_VSOCK_MAX_CONNS];
  unsigned nconns;
  struct {
    int fd;
    uint32_t gen;
  } pend[MAX_PENDING];
  struct {
    uint32_t host_port, guest_port;
  } rst[RST_RING];
  unsigned rst_head, rst_len;
  bool tx_paused;
  uint32_t next_host_port;
  unsigned rr;
  size_t buffered, buffered_max;
  unsigned nbufs;
  bool rx_have;
  struct vmk_vq_chain rx, tx;
};

/* --- packet format ------------------------------------------------------ */

void vmk_vsock_hdr_decode(const uint8_t b[VMK_VSOCK_HDR_LEN],
                          struct vmk_vsock_hdr *h) {
  h->src_cid = vmk_le64(b);
  h->dst_cid = vmk_le64(b + 8);
  h->src_port = vmk_le32(b + 16);
  h->dst_port = vmk_le32(b + 20);
  h->len = vmk_le32(b + 24);
  h->type = vmk_le16(b + 28);
  h->op = vmk_le16(b + 30);
  h->flags = vmk_le32(b + 32);
  h->buf_alloc = vmk_le32(b + 36);
  h->fwd_cnt = vmk_le32(b + 40);
}

void vmk_vsock_hdr_encode(const struct vmk_vsock_hdr *h,
                          uint8_t b[VMK_VSOCK_HDR_LEN]) {
  vmk_put_le64(b, h->src_cid);
  vmk_put_le64(b + 8, h->dst_cid);
  vmk_put_le32(b + 16, h->src_port);
  vmk_put_le32(b + 20, h->dst_port);
  vmk_put_le32(b + 24, h->len);
  vmk_put_le16(b + 28, h->type);
  vmk_put_le16(b + 30, h->op);
  vmk_put_le32(b + 32, h->flags);
  vmk_put_le32(b + 36, h->buf_alloc);
  vmk_put_le32(b + 40, h->fwd_cnt);
}

enum vmk_vsock_verdict vmk_vsock_check(const struct vmk_vsock_hdr *h,
                                       size_t chain_len, uint64_t guest_cid) {
  if (chain_len < VMK_VSOCK_HDR_LEN || h->len > chain_len - VMK_VSOCK_HDR_LEN)
    return VMK_VSOCK_BAD_DRIVER;
  bool addressed = h->src_cid == guest_cid &&
                   h->dst_cid == VMK_VSOCK_HOST_CID &&
                   h->type == VMK_VSOCK_TYPE_STREAM;
  if (h->op == VMK_VSOCK_OP_RST)
    return addressed && h->len == 0 ? VMK_VSOCK_OK : VMK_VSOCK_DROP;
  if (!addressed || h->op == VMK_VSOCK_OP_INVALID ||
      h->op > VMK_VSOCK_OP_CREDIT_REQUEST)
    return VMK_VSOCK_RESET;
  if (h->op != VMK_VSOCK_OP_RW && h->len != 0)
    return VMK_VSOCK_RESET; /* only RW carries data */
  if (h->op == VMK_VSOCK_OP_SHUTDOWN &&
      (h->flags & ~(VMK_VSOCK_SHUTDOWN_RCV | VMK_VSOCK_SHUTDOWN_SEND)))
    return VMK_VSOCK_RESET;
  return VMK_VSOCK_OK;
}

/* --- epoll plumbing ------------------------------------------------------ */

static uint64_t tag(unsigned kind, unsigned slot, uint32_t gen) {
  return (uint64_t)kind << 56 | (uint64_t)slot << 32 | gen;
}

static int ep_set(struct vsock *v, int op, int fd, uint64_t data,
                  uint32_t events) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return epoll_ctl(v->ep, op, fd, &ev) < 0 ? -errno : 0;
}

/* --- connections ---------------------------------------------------------- */

static struct conn *conn_find(struct vsock *v, uint32_t host_port,
                              uint32_t guest_port) {
  for (unsigned i = 0; i < VMK_VSOCK_MAX_CONNS; i++) {
    struct conn *c = &v->conns[i];
    if (c->state != C_FREE && c->host_port == host_port &&
        c->guest_port == guest_port)
      return c;
  }
  return NULL;
}

static struct conn *conn_new(struct vsock *v, int fd, uint32_t host_port,
                             uint32_t guest_port, enum cstate state) {
  for (unsigned i = 0; i < VMK_VSOCK_MAX_CONNS; i++) {
    struct conn *c = &v->conns[i];
    if (c->state != C_FREE)
      continue;
    uint32_t gen = c->gen + 1;
    uint8_t *buf = c->buf; /* kept from an earlier connection in this slot */
    *c = (struct conn){.state = state,
                       .fd = fd,
                       .gen = gen,
                       .host_port = host_port,
                       .guest_port = guest_port,
                       .buf = buf};
    int r = ep_set(v, EPOLL_CTL_MOD, fd, tag(K_CONN, i, gen),
                   EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
    if (r == -ENOENT)
      r = ep_set(v, EPOLL_CTL_ADD, fd, tag(K_CONN, i, gen),
                 EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
    if (r < 0) {
      c->state = C_FREE;
      return NULL;
    }
    v->nconns++;
    return c;
  }
  return NULL;
}

static void conn_close_fd(struct vsock *v, struct conn *c) {
  if (c->fd >= 0)
    close(c->fd); /* also leaves the epoll set */
  c->fd = -1;
  v->buffered -= c->len;
  c->len = c->head = 0;
  c->readable = c->writable = false;
}

static void conn_release(struct vsock *v, struct conn *c) {
  conn_close_fd(v, c);
  c->state = C_FREE;
  c->pend = 0;
  v->nconns--;
}

/* The host side is gone or the guest broke the protocol: close the host
 * socket and owe the guest a RST (the slot is freed once it is sent). */
static void conn_kill(struct vsock *v, struct conn *c) {
  conn_close_fd(v, c);
  c->state = C_DEAD;
  c->pend = P_RST;
}

static void rst_reply(struct vsock *v, uint32_t host_port,
                      uint32_t guest_port) {
  if (v->rst_len == RST_RING)
    return; /* pump_tx stops before this can happen */
  unsigned i = (v->rst_head + v->rst_len++) % RST_RING;
  v->rst[i].host_port = host_port;
  v->rst[i].guest_port = guest_port;
}

static uint32_t peer_credit(const struct conn *c) {
  uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
  return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static void after_progress(struct vsock *v, struct conn *c);

/* Moves buffered guest bytes to the host socket. */
static void flush(struct vsock *v, struct conn *c) {
  while (c->len && c->writable && c->fd >= 0) {
    struct iovec io[2];
    int n = 1;
    uint32_t first = VMK_VSOCK_CONN_BUF - c->head;
    io[0].iov_base = c->buf + c->head;
    io[0].iov_len = first < c->len ? first : c->len;
    if (first < c->len) {
      io[1].iov_base = c->buf;
      io[1].iov_len = c->len - first;
      n = 2;
    }
    ssize_t w = vmk_unix_writev(c->fd, io, n);
    if (w == 0) {
      c->writable = false;
      break;
    }
    if (w < 0) {
      conn_kill(v, c);
      return;
    }
    c->head = (uint32_t)((c->head + (size_t)w) % VMK_VSOCK_CONN_BUF);
    c->len -= (uint32_t)w;
    c->fwd_cnt += (uint32_t)w;
    v->buffered -= (size_t)w;
  }
  after_progress(v, c);
}

/* Credit updates, half-closes and the end of a closing connection, once
 * bytes have moved. */
static void after_progress(struct vsock *v, struct conn *c) {
  if (c->state == C_DEAD || c->state == C_FREE)
    return;
  if (c->fwd_cnt - c->fwd_reported >= CREDIT_STEP)
    c->pend |= P_CREDIT_UPDATE;
  if (c->len)
    return;
  if (c->state == C_CLOSING) {
    conn_kill(v, c); /* all delivered: close, and the RST ends it */
    return;
  }
  if (c->guest_shut_send && !c->host_wr_shut && c->fd >= 0) {
    shutdown(c->fd, SHUT_WR);
    c->host_wr_shut = true;
  }
}

/* Guest data for c: bytes [off, off+len) of the transmit chain. */
static void conn_data(struct vsock *v, struct conn *c, size_t off,
                      uint32_t len) {
  if (len > VMK_VSOCK_CONN_BUF - c->len) {
    /* Beyond the credit vmkit gave: a lying guest. */
    fprintf(stderr,
            "vmkit: virtio-vsock: the guest sent %u bytes on port %u beyond "
            "its credit; the connection is reset\n",
            len, c->host_port);
    conn_kill(v, c);
    return;
  }
  if (c->len == 0 && c->writable) {
    struct iovec io[VMK_VIRTIO_QUEUE_MAX];
    int n = vmk_iov_slice(v->tx.iov, v->tx.n_out, off, len, io,
                          VMK_VIRTIO_QUEUE_MAX);
    ssize_t w = n > 0 ? vmk_unix_writev(c->fd, io, n) : 0;
    if (w < 0) {
      conn_kill(v, c);
      return;
    }
    if ((size_t)w < len)
      c->writable = false;
    c->fwd_cnt += (uint32_t)w;
    off += (size_t)w;
    len -= (uint32_t)w;
  }
  if (len) {
    if (!c->buf) {
      c->buf = malloc(VMK_VSOCK_CONN_BUF);
      if (!c->buf) {
        conn_kill(v, c);
        return;
      }
      v->nbufs++;
    }
    uint32_t tail = (c->head + c->len) % VMK_VSOCK_CONN_BUF;
    uint32_t first = VMK_VSOCK_CONN_BUF - tail;
    if (first > len)
      first = len;
    vmk_iov_to_buf(v->tx.iov, v->tx.n_out, off, c->buf + tail, first);
    vmk_iov_to_buf(v->tx.iov, v->tx.n_out, off + first, c->buf, len - first);
    c->len += len;
    v->buffered += len;
    if (v->buffered > v->buffered_max)
      v->buffered_max = v->buffered;
  }
  after_progress(v, c);
}

static uint32_t new_host_port(struct vsock *v) {
  for (;;) {
    uint32_t p = v->next_host_port++;
    if (v->next_host_port == 0)
      v->next_host_port = HOST_PORT0;
    bool used = false;
    for (unsigned i = 0; i < VMK_VSOCK_MAX_CONNS && !used; i++)
      used = v->conns[i].state != C_FREE && v->conns[i].host_port == p;
    if (!used)
      return p; /* at most MAX_CONNS ports are ever in use */
  }
}

/* --- transmit queue: packets from the guest ------------------------------ */

static void guest_request(struct vsock *v, const struct vmk_vsock_hdr *h) {
  if (v->nconns == VMK_VSOCK_MAX_CONNS) {
    rst_reply(v, h->dst_port, h->src_port);
    return;
  }
  int fd = vmk_vsock_unix_connect(v->path, h->dst_port);
  if (fd < 0) {
    rst_reply(v, h->dst_port, h->src_port); /* nothing listens: refused */
    return;
  }
  struct conn *c = conn_new(v, fd, h->dst_port, h->src_port, C_ESTABLISHED);
  if (!c) {
    close(fd);
    rst_reply(v, h->dst_port, h->src_port);
    return;
  }
  c->peer_buf_alloc = h->buf_alloc;
  c->peer_fwd_cnt = h->fwd_cnt;
  c->pend = P_RESPONSE;
}

/* One transmit chain; false when the guest broke the rules (NEEDS_RESET). */
static bool handle_tx(struct vsock *v) {
  struct vmk_vq_chain *t = &v->tx;
  if (t->out_len < VMK_VSOCK_HDR_LEN) {
    vmk_virtio_device_error(&v->dev,
                            "transmit packet of %zu bytes is shorter than "
                            "the 44-byte header",
                            t->out_len);
    return false;
  }
  uint8_t b[VMK_VSOCK_HDR_LEN];
  vmk_iov_to_buf(t->iov, t->n_out, 0, b, sizeof(b));
  struct vmk_vsock_hdr h;
  vmk_vsock_hdr_decode(b, &h);
  switch (vmk_vsock_check(&h, t->out_len, v->cid)) {
  case VMK_VSOCK_BAD_DRIVER:
    vmk_virtio_device_error(&v->dev,
                            "packet length %u exceeds its %zu-byte buffer",
                            h.len, t->out_len - VMK_VSOCK_HDR_LEN);
    return false;
  case VMK_VSOCK_DROP:
    return true;
  case VMK_VSOCK_RESET:
    rst_reply(v, h.dst_port, h.src_port);
    return true;
  case VMK_VSOCK_OK:
    break;
  }
  struct conn *c = conn_find(v, h.dst_port, h.src_port);
  if (c && c->state == C_DEAD) {
    if (h.op == VMK_VSOCK_OP_RST)
      conn_release(v, c); /* both sides agree it is over */
    return true;          /* our RST is on its way */
  }
  if (c) {
    c->peer_buf_alloc = h.buf_alloc;
    c->peer_fwd_cnt = h.fwd_cnt;
    c->credit_asked = false;
  }
  if (!c && h.op != VMK_VSOCK_OP_REQUEST) {
    if (h.op != VMK_VSOCK_OP_RST)
      rst_reply(v, h.dst_port, h.src_port);
    return true;
  }
  switch (h.op) {
  case VMK_VSOCK_OP_REQUEST:
    if (c)
      conn_kill(v, c); /* a second REQUEST for a live connection */
    else
      guest_request(v, &h);
    break;
  case VMK_VSOCK_OP_RESPONSE:
    if (c->state != C_CONNECTING ||
        vmk_vsock_unix_send_ok(c->fd, c->host_port) < 0)
      conn_kill(v, c);
    else
      c->state = C_ESTABLISHED;
    break;
  case VMK_VSOCK_OP_RST:
    conn_release(v, c); /* the host peer sees the socket close */
    break;
  case VMK_VSOCK_OP_SHUTDOWN:
    if (h.flags & VMK_VSOCK_SHUTDOWN_RCV)
      c->guest_shut_rcv = true;
    if (h.flags & VMK_VSOCK_SHUTDOWN_SEND)
      c->guest_shut_send = true;
    if (c->guest_shut_rcv && c->guest_shut_send)
      c->state = C_CLOSING;
    after_progress(v, c);
    break;
  case VMK_VSOCK_OP_RW:
    if (c->state != C_ESTABLISHED || c->guest_shut_send)
      conn_kill(v, c);
    else if (h.len)
      conn_data(v, c, VMK_VSOCK_HDR_LEN, h.len);
    break;
  case VMK_VSOCK_OP_CREDIT_UPDATE:
    break; /* the new credit is taken above */
  case VMK_VSOCK_OP_CREDIT_REQUEST:
    c->pend |= P_CREDIT_UPDATE;
    break;
  }
  return true;
}

static void pump_rx(struct vsock *v);

static void pump_tx(struct vsock *v) {
  for (unsigned n = 0; n < BATCH; n++) {
    if (v->rst_len == RST_RING) {
      v->tx_paused = true; /* pump_rx resumes us once RSTs went out */
      return;
    }
    if (vmk_virtio_pop(&v->dev, TXQ, &v->tx) <= 0)
      return;
    if (!handle_tx(v))
      return;
    vmk_virtio_push(&v->dev, TXQ, v->tx.head, 0);
  }
  vmk_virtio_kick(&v->dev, TXQ);
}

/* --- receive queue: packets to the guest --------------------------------- */

static bool get_rx(struct vsock *v) {
  if (v->rx_have)
    return true;
  if (vmk_virtio_pop(&v->dev, RXQ, &v->rx) <= 0)
    return false;
  if (v->rx.in_len < VMK_VSOCK_HDR_LEN) {
    vmk_virtio_device_error(&v->dev,
                            "receive buffer of %zu bytes cannot hold the "
                            "44-byte header",
                            v->rx.in_len);
    return false;
  }
  v->rx_have = true;
  return true;
}

static void put_rx(struct vsock *v, const struct vmk_vsock_hdr *h) {
  uint8_t b[VMK_VSOCK_HDR_LEN];
  vmk_vsock_hdr_encode(h, b);
  vmk_iov_from_buf(v->rx.iov + v->rx.n_out, v->rx.n_in, 0, b, sizeof(b));
  vmk_virtio_push(&v->dev, RXQ, v->rx.head, VMK_VSOCK_HDR_LEN + h->len);
  v->rx_have = false;
}

static struct vmk_vsock_hdr hdr_to_guest(struct vsock *v, uint32_t host_port,
                                         uint32_t guest_port, uint16_t op) {
  return (struct vmk_vsock_hdr){.src_cid = VMK_VSOCK_HOST_CID,
                                .dst_cid = v->cid,
                                .src_port = host_port,
                                .dst_port = guest_port,
                                .type = VMK_VSOCK_TYPE_STREAM,
                                .op = op,
                                .buf_alloc = VMK_VSOCK_CONN_BUF};
}

static struct vmk_vsock_hdr conn_hdr(struct vsock *v, struct conn *c,
                                     uint16_t op) {
  struct vmk_vsock_hdr h = hdr_to_guest(v, c->host_port, c->guest_port, op);
  h.fwd_cnt = c->fwd_cnt;
  c->fwd_reported = c->fwd_cnt;
  return h;
}

static void send_ctl(struct vsock *v, struct conn *c) {
  unsigned p = c->pend & -c->pend; /* most urgent first */
  c->pend &= ~p;
  static const uint16_t ops[] = {
      [0] = VMK_VSOCK_OP_RST,           [1] = VMK_VSOCK_OP_RESPONSE,
      [2] = VMK_VSOCK_OP_REQUEST,       [3] = VMK_VSOCK_OP_SHUTDOWN,
      [4] = VMK_VSOCK_OP_CREDIT_UPDATE, [5] = VMK_VSOCK_OP_CREDIT_REQUEST};
  struct vmk_vsock_hdr h = conn_hdr(v, c, ops[__builtin_ctz(p)]);
  if (p == P_SHUTDOWN)
    h.flags = VMK_VSOCK_SHUTDOWN_SEND;
  put_rx(v, &h);
  if (p == P_RST)
    conn_release(v, c);
}

/* Host bytes for c into the held receive buffer; false when nothing was
 * sent (the buffer stays held for the next candidate). */
static bool send_data(struct vsock *v, struct conn *c) {
  size_t room = v->rx.in_len - VMK_VSOCK_HDR_LEN;
  uint32_t max = peer_credit(c);
  if (max > room)
    max = (uint32_t)room;
  if (max > MAX_PKT)
    max = MAX_PKT;
  struct iovec io[VMK_VIRTIO_QUEUE_MAX];
  int n = max ? vmk_iov_slice(v->rx.iov + v->rx.n_out, v->rx.n_in,
                              VMK_VSOCK_HDR_LEN, max, io, VMK_VIRTIO_QUEUE_MAX)
              : -1;
  if (n <= 0) {
    c->readable = false; /* a buffer with no room: wait for the next one */
    return false;
  }
  ssize_t r = vmk_unix_readv(c->fd, io, n);
  if (r == 0) {
    c->readable = false;
    return false;
  }
  if (r == -EPIPE) { /* the host peer will send no more */
    c->readable = false;
    c->host_eof = true;
    c->pend |= P_SHUTDOWN;
    return false;
  }
  if (r < 0) {
    conn_kill(v, c);
    return false;
  }
  struct vmk_vsock_hdr h = conn_hdr(v, c, VMK_VSOCK_OP_RW);
  h.len = (uint32_t)r;
  c->tx_cnt += (uint32_t)r;
  put_rx(v, &h);
  return true;
}

static bool wants_to_send(const struct conn *c) {
  return c->state == C_ESTABLISHED && c->readable && !c->host_eof &&
         !c->guest_shut_rcv;
}

static void pump_rx(struct vsock *v) {
  for (unsigned n = 0; n < BATCH; n++) {
    if (!vmk_virtio_running(&v->dev))
      return;
    if (v->rst_len) {
      if (!get_rx(v))
        return;
      struct vmk_vsock_hdr h =
          hdr_to_guest(v, v->rst[v->rst_head].host_port,
                       v->rst[v->rst_head].guest_port, VMK_VSOCK_OP_RST);
      v->rst_head = (v->rst_head + 1) % RST_RING;
      v->rst_len--;
      put_rx(v, &h);
      if (v->tx_paused) {
        v->tx_paused = false;
        vmk_virtio_kick(&v->dev, TXQ);
      }
      continue;
    }
    struct conn *ctl = NULL;
    for (unsigned i = 0; i < VMK_VSOCK_MAX_CONNS && !ctl; i++)
      if (v->conns[i].state != C_FREE && v->conns[i].pend)
        ctl = &v->conns[i];
    if (ctl) {
      if (!get_rx(v))
        return;
      send_ctl(v, ctl);
      continue;
    }
    bool sent = false;
    for (unsigned k = 0; k < VMK_VSOCK_MAX_CONNS && !sent; k++) {
      struct conn *c = &v->conns[(v->rr + k) % VMK_VSOCK_MAX_CONNS];
      if (!wants_to_send(c))
        continue;
      if (peer_credit(c) == 0) {
        if (!c->credit_asked) {
          c->credit_asked = true;
          c->pend |= P_CREDIT_REQUEST;
          sent = true; /* go round again to send it */
        }
        continue;
      }
      if (!get_rx(v))
        return;
      v->rr = (v->rr + k + 1) % VMK_VSOCK_MAX_CONNS;
      send_data(v, c);
      sent = true; /* progress of some kind: look again */
    }
    if (!sent)
      return;
  }
  vmk_virtio_kick(&v->dev, RXQ);
}

/* --- host socket events --------------------------------------------------- */

static void host_connected(struct vsock *v, int fd, uint32_t port) {
  if (!vmk_virtio_running(&v->dev) || v->nconns == VMK_VSOCK_MAX_CONNS) {
    close(fd); /* no driver, or too many: the host peer sees EOF */
    return;
  }
  struct conn *c = conn_new(v, fd, new_host_port(v), port, C_CONNECTING);
  if (!c) {
    close(fd);
    return;
  }
  c->pend = P_REQUEST;
}

static void on_listen(struct vsock *v) {
  for (unsigned n = 0; n < MAX_PENDING; n++) {
    int fd = vmk_vsock_unix_accept(v->lfd);
    if (fd < 0)
      return;
    unsigned i = 0;
    while (i < MAX_PENDING && v->pend[i].fd >= 0)
      i++;
    if (i == MAX_PENDING ||
        ep_set(v, EPOLL_CTL_ADD, fd, tag(K_PENDING, i, ++v->pend[i].gen),
               EPOLLIN | EPOLLRDHUP | EPOLLET) < 0) {
      close(fd); /* too many half-open handshakes */
      continue;
    }
    v->pend[i].fd = fd;
  }
}

static void on_pending(struct vsock *v, unsigned i) {
  int fd = v->pend[i].fd;
  uint32_t port;
  int r = vmk_vsock_unix_read_connect(fd, &port);
  if (r == 0)
    return;
  v->pend[i].fd = -1;
  if (r < 0) {
    close(fd);
    return;
  }
  host_connected(v, fd, port);
}

static void on_conn(struct vsock *v, struct conn *c, uint32_t events) {
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
    c->writable = true;
    flush(v, c);
  }
  if (c->state != C_DEAD &&
      (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
    c->readable = true;
}

static void on_events(void *opaque, uint32_t events) {
  (void)events;
  struct vsock *v = opaque;
  struct epoll_event evs[64];
  vmk_virtio_lock(&v->dev);
  int n = epoll_wait(v->ep, evs, 64, 0);
  for (int i = 0; i < n; i++) {
    uint64_t d = evs[i].data.u64;
    unsigned kind = (unsigned)(d >> 56), slot = (unsigned)(d >> 32) & 0xffff;
    uint32_t gen = (uint32_t)d;
    if (kind == K_LISTEN) {
      on_listen(v);
    } else if (kind == K_PENDING && slot < MAX_PENDING &&
               v->pend[slot].fd >= 0 && v->pend[slot].gen == gen) {
      on_pending(v, slot);
    } else if (kind == K_CONN && slot < VMK_VSOCK_MAX_CONNS &&
               v->conns[slot].state != C_FREE && v->conns[slot].gen == gen &&
               v->conns[slot].fd >= 0) {
      on_conn(v, &v->conns[slot], evs[i].events);
    }
  }
  pump_rx(v);
  vmk_virtio_unlock(&v->dev);
}

/* --- device ops ----------------------------------------------------------- */

static void vsock_notify(struct vmk_virtio_device *dev, unsigned q) {
  struct vsock *v = (struct vsock *)dev;
  if (q == TXQ)
    pump_tx(v);
  /* New receive buffers, or the transmit queue freed some credit or queued
   * answers: either way try to send. Event buffers are just kept. */
  pump_rx(v);
}

static void close_all(struct vsock *v) {
  for (unsigned i = 0; i < VMK_VSOCK_MAX_CONNS; i++)
    if (v->conns[i].state != C_FREE)
      conn_release(v, &v->conns[i]);
  v->rst_head = v->rst_len = 0;
  v->tx_paused = false;
  v->rx_have = false;
}

static void vsock_reset(struct vmk_virtio_device *dev) {
  close_all((struct vsock *)dev); /* the guest forgot its sockets */
}

static int vsock_attach(struct vmk_virtio_device *dev, vmk_error *err) {
  struct vsock *v = (struct vsock *)dev;
  int r = vmk_io_loop_add(dev->loop, v->ep, EPOLLIN, on_events, v);
  if (r < 0)
    return vmk_err(err, r, "cannot watch the vsock sockets: %s", strerror(-r));
  v->ep_watched = true;
  return 0;
}

static void vsock_detach(struct vmk_virtio_device *dev) {
  struct vsock *v = (struct vsock *)dev;
  if (v->ep_watched)
    vmk_io_loop_del(dev->loop, v->ep);
  v->ep_watched = false;
}

static void vsock_free(struct vmk_virtio_device *dev) {
  struct vsock *v = (struct vsock *)dev;
  close_all(v);
  for (unsigned i = 0; i < VMK_VSOCK_MAX_CONNS; i++)
    free(v->conns[i].buf);
  for (unsigned i = 0; i < MAX_PENDING; i++)
    if (v->pend[i].fd >= 0)
      close(v->pend[i].fd);
  if (v->lfd >= 0) {
    close(v->lfd);
    unlink(v->path); /* vmkit made it; leave no stale socket behind */
  }
  if (v->ep >= 0)
    close(v->ep);
  free(v);
}

/* Connections are not saved: their host ends belong to this process. As
 * Firecracker does, the restored device tells the guest its transport was
 * reset, and the guest drops every socket as after a power loss. */
static int vsock_save(struct vmk_virtio_device *dev, struct vmk_sbuf *out,
                      unsigned rewind[VMK_VIRTIO_MAX_QUEUES], vmk_error *err) {
  struct vsock *v = (struct vsock *)dev;
  (void)out;
  (void)err;
  rewind[RXQ] = v->rx_have ? 1 : 0; /* nothing was written into it yet */
  return 0;
}

#define VSOCK_EVENT_TRANSPORT_RESET 0

static int vsock_load(struct vmk_virtio_device *dev, struct vmk_sreader *in,
                      vmk_error *err) {
  struct vsock *v = (struct vsock *)dev;
  (void)in;
  (void)err;
  struct vmk_vq_chain *c = &v->tx; /* scratch: nothing is in flight yet */
  if (vmk_virtio_pop(dev, EVQ, c) > 0) {
    uint8_t ev[4];
    vmk_put_le32(ev, VSOCK_EVENT_TRANSPORT_RESET);
    size_t n = vmk_iov_from_buf(c->iov + c->n_out, c->n_in, 0, ev, sizeof ev);
    vmk_virtio_push(dev, EVQ, c->head, (uint32_t)n);
  }
  return 0;
}

static const struct vmk_virtio_device_ops vsock_ops = {
    .name = "virtio-vsock",
    .device_id = VMK_VIRTIO_ID_VSOCK,
    .attach = vsock_attach,
    .detach = vsock_detach,
    .queue_notify = vsock_notify,
    .reset = vsock_reset,
    .free = vsock_free,
    .save = vsock_save,
    .load = vsock_load,
};

int vmk_virtio_vsock_create(const char *path, uint64_t cid,
                            struct vmk_virtio_device **out, vmk_error *err) {
  *out = NULL;
  if (cid < 3 || cid > 0xfffffffeu)
    return vmk_err(err, -EINVAL,
                   "vsock guest CID %llu is invalid; use 3 to 4294967294",
                   (unsigned long long)cid);
  struct vsock *v = calloc(1, sizeof(*v));
  if (!v)
    return vmk_err(err, -ENOMEM, "out of memory creating virtio-vsock");
  v->lfd = v->ep = -1;
  for (unsigned i = 0; i < MAX_PENDING; i++)
    v->pend[i].fd = -1;
  for (unsigned i = 0; i < VMK_VSOCK_MAX_CONNS; i++)
    v->conns[i].fd = -1;
  v->dev.ops = &vsock_ops;
  v->cid = cid;
  v->next_host_port = HOST_PORT0;
  snprintf(v->path, sizeof(v->path), "%s", path);
  int r;
  if (strlen(path) > VMK_VSOCK_UNIX_PATH_MAX) {
    r = vmk_vsock_unix_check_path(path, err);
    goto fail;
  }
  v->ep = epoll_create1(EPOLL_CLOEXEC);
  if (v->ep < 0) {
    r = vmk_err(err, -errno, "cannot create an epoll set: %s", strerror(errno));
    goto fail;
  }
  if ((r = vmk_vsock_unix_listen(path, &v->lfd, err)))
    goto fail;
  if ((r = ep_set(v, EPOLL_CTL_ADD, v->lfd, tag(K_LISTEN, 0, 0), EPOLLIN))) {
    r = vmk_err(err, r, "cannot watch the vsock socket: %s", strerror(-r));
    goto fail;
  }
  vmk_put_le64(v->config, cid);
  v->dev.num_queues = 3;
  v->dev.features = VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1) |
                    VMK_VIRTIO_BIT(VMK_VIRTIO_F_INDIRECT_DESC);
  v->dev.config = v->config;
  v->dev.config_len = sizeof(v->config);
  snprintf(v->dev.label, sizeof(v->dev.label), "%s", path);
  *out = &v->dev;
  return 0;
fail:
  vsock_free(&v->dev);
  return r;
}

void vmk_virtio_vsock_stats(struct vmk_virtio_device *dev,
                            struct vmk_vsock_stats *s) {
  struct vsock *v = (struct vsock *)dev;
  s->conns = v->nconns;
  s->buffered = v->buffered;
  s->buffered_max = v->buffered_max;
  s->mem_cap = (size_t)v->nbufs * VMK_VSOCK_CONN_BUF;
}
