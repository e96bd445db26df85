/* net_tap.c — a Linux tap interface: one read() or write() on the
 * /dev/net/tun fd is one Ethernet frame (IFF_TAP | IFF_NO_PI), for bridged
 * set-ups the user prepares (ip tuntap add dev IF mode tap user $USER).
 *
 * Back-pressure: a frame the guest has no buffer for is kept and the fd is
 * not read until rx_ready. A frame the kernel's queue refuses (EAGAIN) is
 * dropped, as on a busy wire.
 *
 * Threads: created on the VM's creating thread; from start on, the I/O
 * thread only (no lock).
 */
#include "backends/net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct tap_be {
  struct vmk_net_backend be;
  char ifname[IFNAMSIZ];
  int fd;
  bool watched, started;
  size_t pending; /* length of a frame in buf the guest has not taken */
  uint8_t buf[VMK_NET_MAX_FRAME];
};

static void on_readable(void *opaque, uint32_t events);

static void set_watch(struct tap_be *t, bool on) {
  if (on == t->watched || !t->started)
    return;
  if (on)
    t->watched =
        vmk_io_loop_add(t->be.loop, t->fd, EPOLLIN, on_readable, t) == 0;
  else {
    vmk_io_loop_del(t->be.loop, t->fd);
    t->watched = false;
  }
}

/* Reads and delivers frames; false when the guest ran out of buffers. */
static bool pump(struct tap_be *t) {
  for (int n = 0; n < 64; n++) {
    if (!t->pending) {
      ssize_t r = read(t->fd, t->buf, sizeof(t->buf));
      if (r <= 0)
        return true; /* EAGAIN, or a fault already shown by the kernel */
      t->pending = (size_t)r;
    }
    if (t->be.rx(t->be.rx_opaque, t->buf, t->pending) == -EAGAIN)
      return false;
    t->pending = 0;
  }
  return true;
}

static void on_readable(void *opaque, uint32_t events) {
  (void)events;
  struct tap_be *t = opaque;
  if (!pump(t))
    set_watch(t, false);
}

static int tap_start(struct vmk_net_backend *be, struct vmk_io_loop *loop,
                     vmk_error *err) {
  struct tap_be *t = (struct tap_be *)be;
  be->loop = loop;
  t->started = true;
  set_watch(t, true);
  if (!t->watched) {
    t->started = false;
    return vmk_err(err, -EIO, "cannot watch tap interface %s", t->ifname);
  }
  return 0;
}

static void tap_stop(struct vmk_net_backend *be) {
  struct tap_be *t = (struct tap_be *)be;
  set_watch(t, false);
  t->started = false;
}

static int tap_send(struct vmk_net_backend *be, const uint8_t *frame,
                    size_t len) {
  struct tap_be *t = (struct tap_be *)be;
  ssize_t w = write(t->fd, frame, len);
  (void)w; /* EAGAIN (queue full) or EIO (link down): dropped */
  return 0;
}

static void tap_rx_ready(struct vmk_net_backend *be) {
  struct tap_be *t = (struct tap_be *)be;
  if (pump(t))
    set_watch(t, true);
}

static void tap_free(struct vmk_net_backend *be) {
  struct tap_be *t = (struct tap_be *)be;
  if (t->fd >= 0)
    close(t->fd);
  free(t);
}

static const struct vmk_net_backend_ops tap_ops = {
    .name = "tap",
    .start = tap_start,
    .stop = tap_stop,
    .send = tap_send,
    .rx_ready = tap_rx_ready,
    .free = tap_free,
};

int vmk_net_tap_create(const char *ifname, struct vmk_net_backend **out,
                       vmk_error *err) {
  *out = NULL;
  if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
    return vmk_err(err, -EINVAL,
                   "tap interface name '%s' must be 1 to %d characters",
                   ifname ? ifname : "", IFNAMSIZ - 1);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return vmk_err(
        err, -e, "cannot open /dev/net/tun for tap interface %s: %s%s", ifname,
        strerror(e), e == ENOENT ? " (load the tun module: modprobe tun)" : "");
  }
  struct ifreq ifr = {0};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    if (e == EPERM || e == EACCES)
      return vmk_err(err, -EPERM,
                     "not allowed to use tap interface %s; create it for "
                     "your user first (ip tuntap add dev %s mode tap user "
                     "$USER) or run as root",
                     ifname, ifname);
    if (e == EBUSY)
      return vmk_err(err, -EBUSY,
                     "tap interface %s is in use by another program or is "
                     "not a tap (tun?) device; pick another name",
                     ifname);
    return vmk_err(err, -e, "cannot attach to tap interface %s: %s", ifname,
                   strerror(e));
  }
  struct tap_be *t = calloc(1, sizeof(*t));
  if (!t) {
    close(fd);
    return vmk_err(err, -ENOMEM, "out of memory creating a tap network");
  }
  t->be.ops = &tap_ops;
  t->fd = fd;
  snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
  *out = &t->be;
  return 0;
}
