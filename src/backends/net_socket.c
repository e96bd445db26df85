/* net_socket.c — Ethernet frames over a Unix stream socket, each preceded
 * by its length as 4 bytes big-endian: the protocol of passt and of QEMU's
 * -netdev stream, so vmkit can use passt or be wired to another VM.
 *
 * Connect mode joins an existing socket at creation (an error then is the
 * user's). Listen mode creates the socket file and accepts one peer at a
 * time on the I/O thread; frames sent while no peer is there are dropped,
 * as on an unplugged cable, and a peer that leaves can be replaced.
 *
 * Back-pressure: when the guest has no receive buffer the frame is kept and
 * the socket is no longer read until rx_ready. Output the peer does not
 * take at once waits in a bounded buffer (TXBUF); a frame that does not fit
 * is dropped. A peer that sends a length of 0 or above VMK_NET_MAX_FRAME
 * is disconnected.
 *
 * Threads: created on the VM's creating thread; from start on, the I/O
 * thread only (no lock).
 */
#include "backends/net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define RXBUF (VMK_NET_MAX_FRAME + 4 + 65536)
#define TXBUF (1u << 20)

struct sock_be {
  struct vmk_net_backend be;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  bool listening;
  int lfd;            /* listening socket, or -1 */
  int fd;             /* the peer, or -1 */
  bool fd_watched;    /* fd is in the loop */
  uint32_t fd_events; /* what it is watched for */
  bool paused;        /* the guest had no buffer: stop reading */
  bool started;
  uint8_t *rbuf;
  size_t rstart, rlen;
  uint8_t *tbuf;
  size_t tstart, tlen;
};

static void on_peer(void *opaque, uint32_t events);

static void watch(struct sock_be *s) {
  if (s->fd < 0 || !s->started)
    return;
  uint32_t ev = (s->paused ? 0 : EPOLLIN) | (s->tlen ? EPOLLOUT : 0);
  if (s->fd_watched && ev == s->fd_events)
    return;
  if (s->fd_watched) {
    vmk_io_loop_del(s->be.loop, s->fd);
    s->fd_watched = false;
  }
  if (ev && vmk_io_loop_add(s->be.loop, s->fd, ev, on_peer, s) == 0) {
    s->fd_watched = true;
    s->fd_events = ev;
  }
}

static void drop_peer(struct sock_be *s, const char *why) {
  if (s->fd < 0)
    return;
  if (why)
    fprintf(stderr,
            "vmkit: virtio-net (socket %s): %s; the peer is "
            "disconnected\n",
            s->path, why);
  if (s->fd_watched)
    vmk_io_loop_del(s->be.loop, s->fd);
  close(s->fd);
  s->fd = -1;
  s->fd_watched = false;
  s->rstart = s->rlen = s->tstart = s->tlen = 0;
  s->paused = false;
}

/* Hands complete frames in rbuf to the guest; false when it had no room. */
static bool deliver(struct sock_be *s) {
  while (s->rlen >= 4) {
    const uint8_t *p = s->rbuf + s->rstart;
    uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                   (uint32_t)p[2] << 8 | p[3];
    if (len == 0 || len > VMK_NET_MAX_FRAME) {
      char why[80];
      snprintf(why, sizeof(why), "it sent a frame length of %u", len);
      drop_peer(s, why);
      return true;
    }
    if (s->rlen < 4 + (size_t)len)
      break;
    if (s->be.rx(s->be.rx_opaque, p + 4, len) == -EAGAIN)
      return false;
    s->rstart += 4 + len;
    s->rlen -= 4 + len;
  }
  if (s->rstart) {
    memmove(s->rbuf, s->rbuf + s->rstart, s->rlen);
    s->rstart = 0;
  }
  return true;
}

static void flush_tx(struct sock_be *s) {
  while (s->tlen && s->fd >= 0) {
    ssize_t w =
        send(s->fd, s->tbuf + s->tstart, s->tlen, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR)
        break;
      drop_peer(s, strerror(errno));
      return;
    }
    s->tstart += (size_t)w;
    s->tlen -= (size_t)w;
  }
  if (s->tlen == 0)
    s->tstart = 0;
}

static void read_peer(struct sock_be *s) {
  /* Level-triggered: a bounded amount per call keeps the loop fair. */
  for (int round = 0; round < 8 && s->fd >= 0 && !s->paused; round++) {
    if (!deliver(s)) {
      s->paused = true;
      break;
    }
    if (s->fd < 0)
      return;
    size_t room = RXBUF - s->rlen;
    if (room == 0)
      break;
    ssize_t n = recv(s->fd, s->rbuf + s->rlen, room, MSG_DONTWAIT);
    if (n == 0) {
      drop_peer(s, s->listening ? NULL : "the peer closed the connection");
      return;
    }
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR)
        drop_peer(s, strerror(errno));
      break;
    }
    s->rlen += (size_t)n;
  }
  if (s->fd >= 0 && !s->paused && !deliver(s))
    s->paused = true;
}

static void on_peer(void *opaque, uint32_t events) {
  struct sock_be *s = opaque;
  if (events & EPOLLOUT)
    flush_tx(s);
  if (s->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
    read_peer(s);
  watch(s);
}

static void on_accept(void *opaque, uint32_t events) {
  (void)events;
  struct sock_be *s = opaque;
  int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0)
    return;
  if (s->fd >= 0) {
    close(fd); /* one peer at a time: a second cable does not fit */
    return;
  }
  s->fd = fd;
  watch(s);
}

static int sock_start(struct vmk_net_backend *be, struct vmk_io_loop *loop,
                      vmk_error *err) {
  struct sock_be *s = (struct sock_be *)be;
  be->loop = loop;
  s->started = true;
  if (s->lfd >= 0) {
    int r = vmk_io_loop_add(loop, s->lfd, EPOLLIN, on_accept, s);
    if (r) {
      s->started = false;
      return vmk_err(err, r, "cannot watch socket '%s': %s", s->path,
                     strerror(-r));
    }
  }
  watch(s);
  return 0;
}

static void sock_stop(struct vmk_net_backend *be) {
  struct sock_be *s = (struct sock_be *)be;
  if (!s->started)
    return;
  if (s->lfd >= 0)
    vmk_io_loop_del(be->loop, s->lfd);
  if (s->fd_watched)
    vmk_io_loop_del(be->loop, s->fd);
  s->fd_watched = false;
  s->started = false;
}

static int sock_send(struct vmk_net_backend *be, const uint8_t *frame,
                     size_t len) {
  struct sock_be *s = (struct sock_be *)be;
  if (s->fd < 0 || len > VMK_NET_MAX_FRAME)
    return 0;
  if (TXBUF - s->tlen < 4 + len) {
    flush_tx(s);
    if (TXBUF - s->tlen < 4 + len)
      return 0; /* the peer is not reading: dropped */
  }
  if (s->tstart + s->tlen + 4 + len > TXBUF) {
    memmove(s->tbuf, s->tbuf + s->tstart, s->tlen);
    s->tstart = 0;
  }
  uint8_t *p = s->tbuf + s->tstart + s->tlen;
  p[0] = (uint8_t)(len >> 24);
  p[1] = (uint8_t)(len >> 16);
  p[2] = (uint8_t)(len >> 8);
  p[3] = (uint8_t)len;
  memcpy(p + 4, frame, len);
  s->tlen += 4 + len;
  flush_tx(s);
  watch(s);
  return 0;
}

static void sock_rx_ready(struct vmk_net_backend *be) {
  struct sock_be *s = (struct sock_be *)be;
  if (!s->paused)
    return;
  s->paused = false;
  if (!deliver(s))
    s->paused = true;
  watch(s);
}

static void sock_free(struct vmk_net_backend *be) {
  struct sock_be *s = (struct sock_be *)be;
  if (s->fd >= 0)
    close(s->fd);
  if (s->lfd >= 0) {
    close(s->lfd);
    unlink(s->path);
  }
  free(s->rbuf);
  free(s->tbuf);
  free(s);
}

static const struct vmk_net_backend_ops sock_ops = {
    .name = "socket",
    .start = sock_start,
    .stop = sock_stop,
    .send = sock_send,
    .rx_ready = sock_rx_ready,
    .free = sock_free,
};

int vmk_net_socket_create(const char *path, bool listen_mode,
                          struct vmk_net_backend **out, vmk_error *err) {
  *out = NULL;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
    return vmk_err(err, -ENAMETOOLONG,
                   "socket path '%s' is empty or longer than %zu bytes; use "
                   "a shorter path",
                   path ? path : "", sizeof(sa.sun_path) - 1);
  strcpy(sa.sun_path, path);
  struct sock_be *s = calloc(1, sizeof(*s));
  if (!s || !(s->rbuf = malloc(RXBUF)) || !(s->tbuf = malloc(TXBUF))) {
    if (s) {
      free(s->rbuf);
      free(s);
    }
    return vmk_err(err, -ENOMEM, "out of memory creating a socket network");
  }
  s->be.ops = &sock_ops;
  s->fd = s->lfd = -1;
  s->listening = listen_mode;
  strcpy(s->path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    int e = errno;
    sock_free(&s->be);
    return vmk_err(err, -e, "cannot create a Unix socket: %s", strerror(e));
  }
  if (listen_mode) {
    struct stat st;
    /* A stale socket file from an earlier run is replaced; anything else
     * at the path is the user's and stays. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
      unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
      int e = errno;
      close(fd);
      sock_free(&s->be);
      return vmk_err(err, -e, "cannot listen on socket '%s': %s", path,
                     strerror(e));
    }
    s->lfd = fd;
  } else {
    /* A blocking connect on a Unix socket completes at once or fails. */
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
      int e = errno;
      close(fd);
      sock_free(&s->be);
      return vmk_err(err, -e,
                     "cannot connect to socket '%s': %s; start its listener "
                     "first (another vmkit with ,listen, or passt)",
                     path, strerror(e));
    }
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    s->fd = fd;
  }
  *out = &s->be;
  return 0;
}
