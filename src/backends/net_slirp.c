/* net_slirp.c — NAT networking on libslirp, an in-process user-mode TCP/IP
 * stack (the one QEMU's -netdev user uses), driven by vmkit's I/O loop.
 *
 * libslirp wants a poll() round: fill (it names the fds and events it
 * cares about and a timeout), poll, then tell it what became ready. The
 * I/O loop is epoll, so the fds slirp names are mirrored into an inner
 * epoll set whose fd the loop watches, and a timerfd carries slirp's
 * timeout and timers. Each wake-up runs one round: poll(…, 0) for the exact
 * revents, slirp_pollfds_poll, then fill again and update the inner set.
 * Frames from the guest go to slirp_input; a round follows once the
 * transmit batch is done (a new connection opens a socket to watch).
 *
 * Frames slirp sends while the guest has no receive buffer wait in a small
 * queue (RXQ_MAX frames); beyond that they are dropped and TCP resends.
 *
 * libslirp (and the glib it loads) is opened when a NAT interface is
 * created (base/dynlib.h), not linked: a VM without NAT never maps them,
 * about 0.8 MiB of the VMM's resident memory. Each backend holds its own
 * handle and function pointers.
 *
 * Threads: created on the VM's creating thread; from start on, everything
 * runs on the I/O thread (slirp is not thread-safe and needs no lock here).
 */
#include "backends/net.h"
#include "base/dynlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RXQ_MAX 64

struct stimer {
  SlirpTimerId id;
  void *cb_opaque;
  int64_t expire_ms; /* -1: not armed */
  struct stimer *next;
};

struct watched {
  int fd;
  uint32_t events;
};

struct rxframe {
  size_t len;
  uint8_t *data;
};

/* The libslirp functions vmkit calls, found by dlsym. */
struct slirp_fns {
  __typeof__(slirp_new) *new_;
  __typeof__(slirp_cleanup) *cleanup;
  __typeof__(slirp_input) *input;
  __typeof__(slirp_pollfds_fill) *pollfds_fill;
  __typeof__(slirp_pollfds_poll) *pollfds_poll;
  __typeof__(slirp_handle_timer) *handle_timer;
  __typeof__(slirp_add_hostfwd) *add_hostfwd;
};

struct slirp_be {
  struct vmk_net_backend be;
  void *lib; /* libslirp's dlopen handle */
  struct slirp_fns fn;
  Slirp *slirp;
  int epfd, tfd;
  bool started;
  struct pollfd *pfds; /* the last fill */
  unsigned npfds, cap;
  struct watched *w; /* what the inner epoll set holds */
  unsigned nw, wcap;
  struct stimer *timers;
  bool round_soon; /* the timerfd is armed to run a round at once */
  unsigned guest_errors;
  struct rxframe rxq[RXQ_MAX];
  unsigned rxq_head, rxq_len;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- slirp callbacks (I/O thread) ---------------------------------------- */

static void rxq_flush(struct slirp_be *s) {
  while (s->rxq_len) {
    struct rxframe *f = &s->rxq[s->rxq_head];
    if (s->be.rx(s->be.rx_opaque, f->data, f->len) == -EAGAIN)
      return;
    free(f->data);
    f->data = NULL;
    s->rxq_head = (s->rxq_head + 1) % RXQ_MAX;
    s->rxq_len--;
  }
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque) {
  struct slirp_be *s = opaque;
  if (!s->started)
    return (ssize_t)len;
  rxq_flush(s); /* keep frames in order */
  if (s->rxq_len == 0 && s->be.rx(s->be.rx_opaque, buf, len) != -EAGAIN)
    return (ssize_t)len;
  if (s->rxq_len == RXQ_MAX)
    return (ssize_t)len; /* dropped: TCP resends, UDP may lose */
  uint8_t *copy = malloc(len);
  if (!copy)
    return (ssize_t)len;
  memcpy(copy, buf, len);
  s->rxq[(s->rxq_head + s->rxq_len) % RXQ_MAX] =
      (struct rxframe){.len = len, .data = copy};
  s->rxq_len++;
  return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque) {
  struct slirp_be *s = opaque;
  /* A few lines, not one per packet: the guest must not flood stderr. */
  if (s->guest_errors < 5 && ++s->guest_errors)
    fprintf(stderr,
            "vmkit: virtio-net (nat): the guest sent a bad packet: %s%s\n", msg,
            s->guest_errors == 5 ? " (further ones are not shown)" : "");
}

static int64_t cb_clock_get_ns(void *opaque) {
  (void)opaque;
  return now_ns();
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque,
                                 void *opaque) {
  struct slirp_be *s = opaque;
  struct stimer *t = calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  t->id = id;
  t->cb_opaque = cb_opaque;
  t->expire_ms = -1;
  t->next = s->timers;
  s->timers = t;
  return t;
}

static void cb_timer_free(void *timer, void *opaque) {
  struct slirp_be *s = opaque;
  for (struct stimer **pp = &s->timers; *pp; pp = &(*pp)->next)
    if (*pp == timer) {
      *pp = (*pp)->next;
      free(timer);
      return;
    }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque) {
  (void)opaque;
  if (timer)
    ((struct stimer *)timer)->expire_ms = expire_ms;
}

static void cb_register_poll_fd(int fd, void *opaque) {
  (void)fd;
  (void)opaque;
}
static void cb_unregister_poll_fd(int fd, void *opaque) {
  (void)fd;
  (void)opaque;
}
static void cb_notify(void *opaque) { (void)opaque; }

static const SlirpCb callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* --- the poll round ------------------------------------------------------ */

static int add_poll(int fd, int events, void *opaque) {
  struct slirp_be *s = opaque;
  if (s->npfds == s->cap) {
    unsigned cap = s->cap ? 2 * s->cap : 32;
    struct pollfd *p = realloc(s->pfds, cap * sizeof(*p));
    if (!p)
      return -1;
    s->pfds = p;
    s->cap = cap;
  }
  short ev = 0;
  if (events & SLIRP_POLL_IN)
    ev |= POLLIN;
  if (events & SLIRP_POLL_OUT)
    ev |= POLLOUT;
  if (events & SLIRP_POLL_PRI)
    ev |= POLLPRI;
  s->pfds[s->npfds] = (struct pollfd){.fd = fd, .events = ev};
  return (int)s->npfds++;
}

static int get_revents(int idx, void *opaque) {
  struct slirp_be *s = opaque;
  if (idx < 0 || (unsigned)idx >= s->npfds)
    return 0;
  short r = s->pfds[idx].revents;
  int ev = 0;
  if (r & POLLIN)
    ev |= SLIRP_POLL_IN;
  if (r & POLLOUT)
    ev |= SLIRP_POLL_OUT;
  if (r & POLLPRI)
    ev |= SLIRP_POLL_PRI;
  if (r & POLLERR)
    ev |= SLIRP_POLL_ERR;
  if (r & POLLHUP)
    ev |= SLIRP_POLL_HUP;
  return ev;
}

static uint32_t to_epoll(short ev) {
  uint32_t e = 0;
  if (ev & POLLIN)
    e |= EPOLLIN;
  if (ev & POLLOUT)
    e |= EPOLLOUT;
  if (ev & POLLPRI)
    e |= EPOLLPRI;
  return e;
}

/* Makes the inner epoll set hold exactly the fds of the last fill. */
static void sync_watch(struct slirp_be *s) {
  /* Gone fds first (a closed fd already left the set by itself). */
  for (unsigned i = 0; i < s->nw; i++) {
    bool keep = false;
    for (unsigned j = 0; j < s->npfds && !keep; j++)
      keep = s->pfds[j].fd == s->w[i].fd;
    if (!keep)
      epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->w[i].fd, NULL);
  }
  struct watched *nw = malloc((s->npfds ? s->npfds : 1) * sizeof(*nw));
  if (!nw)
    return; /* keep the old set; the next round retries */
  unsigned n = 0;
  for (unsigned j = 0; j < s->npfds; j++) {
    int fd = s->pfds[j].fd;
    uint32_t ev = to_epoll(s->pfds[j].events);
    bool dup = false;
    for (unsigned k = 0; k < n && !dup; k++)
      if (nw[k].fd == fd) {
        nw[k].events |= ev; /* one fd named twice: watch the union */
        dup = true;
      }
    if (dup)
      continue;
    nw[n++] = (struct watched){.fd = fd, .events = ev};
  }
  for (unsigned k = 0; k < n; k++) {
    const struct watched *old = NULL;
    for (unsigned i = 0; i < s->nw && !old; i++)
      if (s->w[i].fd == nw[k].fd)
        old = &s->w[i];
    struct epoll_event e = {.events = nw[k].events, .data.fd = nw[k].fd};
    if (old && old->events == nw[k].events)
      continue;
    int op = old ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(s->epfd, op, nw[k].fd, &e) < 0) {
      /* The fd was closed and its number reused, or never added. */
      op = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
      epoll_ctl(s->epfd, op, nw[k].fd, &e);
    }
  }
  free(s->w);
  s->w = nw;
  s->nw = n;
}

static void run_timers(struct slirp_be *s) {
  int64_t now = now_ns() / 1000000;
  for (bool again = true; again;) {
    again = false;
    for (struct stimer *t = s->timers; t; t = t->next)
      if (t->expire_ms >= 0 && t->expire_ms <= now) {
        t->expire_ms = -1;
        s->fn.handle_timer(s->slirp, t->id, t->cb_opaque);
        again = true; /* the handler may have changed the list */
        break;
      }
  }
}

static void round_once(struct slirp_be *s) {
  s->round_soon = false;
  if (s->npfds) {
    int r = poll(s->pfds, s->npfds, 0);
    s->fn.pollfds_poll(s->slirp, r < 0, get_revents, s);
  } else {
    s->fn.pollfds_poll(s->slirp, 0, get_revents, s);
  }
  run_timers(s);
  s->npfds = 0;
  uint32_t timeout = UINT32_MAX;
  s->fn.pollfds_fill(s->slirp, &timeout, add_poll, s);
  sync_watch(s);
  int64_t now = now_ns() / 1000000;
  int64_t wait = timeout == UINT32_MAX ? -1 : (int64_t)timeout;
  for (struct stimer *t = s->timers; t; t = t->next)
    if (t->expire_ms >= 0) {
      int64_t d = t->expire_ms > now ? t->expire_ms - now : 0;
      if (wait < 0 || d < wait)
        wait = d;
    }
  struct itimerspec its = {0};
  if (wait >= 0) {
    if (wait == 0)
      wait = 1; /* zero would disarm the timerfd */
    its.it_value.tv_sec = wait / 1000;
    its.it_value.tv_nsec = (wait % 1000) * 1000000;
  }
  timerfd_settime(s->tfd, 0, &its, NULL);
}

static void on_event(void *opaque, uint32_t events) {
  (void)events;
  struct slirp_be *s = opaque;
  uint64_t v;
  if (read(s->tfd, &v, sizeof(v)) < 0) {
    /* not the timer; fine */
  }
  round_once(s);
}

/* --- backend ops --------------------------------------------------------- */

static int slirp_start(struct vmk_net_backend *be, struct vmk_io_loop *loop,
                       vmk_error *err) {
  struct slirp_be *s = (struct slirp_be *)be;
  be->loop = loop;
  int r = vmk_io_loop_add(loop, s->epfd, EPOLLIN, on_event, s);
  if (r == 0 && (r = vmk_io_loop_add(loop, s->tfd, EPOLLIN, on_event, s)))
    vmk_io_loop_del(loop, s->epfd);
  if (r)
    return vmk_err(err, r, "cannot watch the NAT network's sockets: %s",
                   strerror(-r));
  s->started = true;
  /* The first round runs on the I/O thread once it starts. */
  struct itimerspec its = {.it_value.tv_nsec = 1000000};
  timerfd_settime(s->tfd, 0, &its, NULL);
  return 0;
}

static void slirp_stop(struct vmk_net_backend *be) {
  struct slirp_be *s = (struct slirp_be *)be;
  if (!s->started)
    return;
  vmk_io_loop_del(be->loop, s->epfd);
  vmk_io_loop_del(be->loop, s->tfd);
  s->started = false;
}

static int slirp_send(struct vmk_net_backend *be, const uint8_t *frame,
                      size_t len) {
  struct slirp_be *s = (struct slirp_be *)be;
  s->fn.input(s->slirp, frame, (int)len);
  /* A SYN may have opened a socket to watch: a poll round must follow.
   * Not here but once the transmit batch is done, through the timerfd
   * (one syscall per frame instead of a whole round). */
  if (!s->round_soon) {
    struct itimerspec its = {.it_value.tv_nsec = 1};
    timerfd_settime(s->tfd, 0, &its, NULL);
    s->round_soon = true;
  }
  return 0;
}

static void slirp_rx_ready(struct vmk_net_backend *be) {
  rxq_flush((struct slirp_be *)be);
}

static void slirp_free(struct vmk_net_backend *be) {
  struct slirp_be *s = (struct slirp_be *)be;
  if (s->slirp)
    s->fn.cleanup(s->slirp);
  while (s->timers)
    cb_timer_free(s->timers, s);
  for (unsigned i = 0; i < s->rxq_len; i++)
    free(s->rxq[(s->rxq_head + i) % RXQ_MAX].data);
  if (s->epfd >= 0)
    close(s->epfd);
  if (s->tfd >= 0)
    close(s->tfd);
  free(s->pfds);
  free(s->w);
  vmk_dynlib_close(s->lib);
  free(s);
}

static const struct vmk_net_backend_ops slirp_ops = {
    .name = "nat",
    .start = slirp_start,
    .stop = slirp_stop,
    .send = slirp_send,
    .rx_ready = slirp_rx_ready,
    .free = slirp_free,
};

/* Binds the forward's host address ourselves first, because libslirp
 * reports only "failed": the errno names the reason. */
static int probe_forward(const struct vmk_net_forward *f, vmk_error *err) {
  char addr[INET_ADDRSTRLEN];
  struct in_addr a = {.s_addr = htonl(f->host_addr)};
  inet_ntop(AF_INET, &a, addr, sizeof(addr));
  const char *proto = f->udp ? "udp" : "tcp";
  int fd =
      socket(AF_INET, (f->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return vmk_err(err, -errno, "cannot create a socket for --forward: %s",
                   strerror(errno));
  int one = 1;
  if (!f->udp)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in sa = {
      .sin_family = AF_INET, .sin_port = htons(f->host_port), .sin_addr = a};
  int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
  int e = errno;
  close(fd);
  if (r == 0)
    return 0;
  if (e == EADDRINUSE)
    return vmk_err(err, -EADDRINUSE,
                   "host port %s:%u (%s) of --forward is already in use; "
                   "pick another port",
                   addr, f->host_port, proto);
  return vmk_err(err, -e,
                 "cannot listen on host port %s:%u (%s) for "
                 "--forward: %s",
                 addr, f->host_port, proto, strerror(e));
}

int vmk_net_slirp_create(const struct vmk_net_forward *fwd, unsigned nfwd,
                         unsigned mtu, struct vmk_net_backend **out,
                         vmk_error *err) {
  *out = NULL;
  for (unsigned i = 0; i < nfwd; i++) {
    int r = probe_forward(&fwd[i], err);
    if (r)
      return r;
  }
  struct slirp_be *s = calloc(1, sizeof(*s));
  if (!s)
    return vmk_err(err, -ENOMEM, "out of memory creating the NAT network");
  s->be.ops = &slirp_ops;
  s->tfd = s->epfd = -1;
  const struct vmk_dynsym syms[] = {
      {"slirp_new", (void **)&s->fn.new_},
      {"slirp_cleanup", (void **)&s->fn.cleanup},
      {"slirp_input", (void **)&s->fn.input},
      {"slirp_pollfds_fill", (void **)&s->fn.pollfds_fill},
      {"slirp_pollfds_poll", (void **)&s->fn.pollfds_poll},
      {"slirp_handle_timer", (void **)&s->fn.handle_timer},
      {"slirp_add_hostfwd", (void **)&s->fn.add_hostfwd},
  };
  int r = vmk_dynlib_open("libslirp.so.0", syms, sizeof(syms) / sizeof(syms[0]),
                          "NAT networking (--net nat, the default, and "
                          "--forward)",
                          "install the libslirp0 package, or use --net none, "
                          "--net socket=PATH or --net tap=IFNAME",
                          &s->lib, err);
  if (r) {
    slirp_free(&s->be);
    return r;
  }
  /* slirp_input takes an IP packet of any length and checks its checksums
   * itself; every frame it sends it built. */
  s->be.caps = VMK_NET_CAP_TSO4 | VMK_NET_CAP_CSUM_VALID;
  s->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (s->epfd < 0 || (s->tfd = timerfd_create(
                          CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
    int e = errno;
    slirp_free(&s->be);
    return vmk_err(err, -e, "cannot create the NAT network's event fds: %s",
                   strerror(e));
  }
  SlirpConfig cfg = {
      .version = 4,
      .restricted = 0,
      .in_enabled = true,
      .vnetwork.s_addr = htonl(0x0a000200),    /* 10.0.2.0 */
      .vnetmask.s_addr = htonl(0xffffff00),    /* /24 */
      .vhost.s_addr = htonl(0x0a000202),       /* 10.0.2.2 */
      .vdhcp_start.s_addr = htonl(0x0a00020f), /* 10.0.2.15 */
      .vnameserver.s_addr = htonl(0x0a000203), /* 10.0.2.3 */
      .in6_enabled = false,
      .vhostname = "vmkit",
      .if_mtu = mtu,
      .if_mru = mtu,
  };
  s->slirp = s->fn.new_(&cfg, &callbacks, s);
  if (!s->slirp) {
    slirp_free(&s->be);
    return vmk_err(err, -ENOMEM, "libslirp could not create the NAT network");
  }
  struct in_addr guest = {.s_addr = htonl(0x0a00020f)};
  for (unsigned i = 0; i < nfwd; i++) {
    struct in_addr host = {.s_addr = htonl(fwd[i].host_addr)};
    if (s->fn.add_hostfwd(s->slirp, fwd[i].udp, host, fwd[i].host_port, guest,
                          fwd[i].guest_port) < 0) {
      char addr[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &host, addr, sizeof(addr));
      slirp_free(&s->be);
      return vmk_err(err, -EADDRINUSE,
                     "cannot forward host port %s:%u (%s); it is in use or "
                     "not an address of this host",
                     addr, fwd[i].host_port, fwd[i].udp ? "udp" : "tcp");
    }
  }
  *out = &s->be;
  return 0;
}
