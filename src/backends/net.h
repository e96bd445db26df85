/* net.h — the host side of a network interface: something that takes
 * Ethernet frames from the guest and hands frames to it. Backends know
 * nothing of virtio: the device registers a receive callback.
 *
 * Backends: NAT (libslirp, net_slirp.c), a Unix stream socket speaking the
 * 4-byte-length protocol of passt and QEMU's -netdev stream
 * (net_socket.c), and a tap interface (net_tap.c).
 *
 * Threads: create/free on the VM's creating thread; everything between
 * start and stop (send, rx_ready, the receive callback) runs on the VM's
 * I/O thread only, so backend state needs no lock.
 */
#ifndef VMK_BACKENDS_NET_H
#define VMK_BACKENDS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/io_loop.h"

/* The largest frame any backend carries (Ethernet header included). */
#define VMK_NET_MAX_FRAME 65550

/* Called by the backend with one frame for the guest. Returns 0 when the
 * frame was taken (delivered or deliberately dropped), -EAGAIN when the
 * guest has no receive buffer now: the backend keeps the frame (or drops
 * it, for NAT) and waits for rx_ready. */
typedef int (*vmk_net_receive_fn)(void *opaque, const uint8_t *frame,
                                  size_t len);

struct vmk_net_backend;

struct vmk_net_backend_ops {
  const char *name; /* "nat", "socket", "tap" */
  /* Registers fds with loop and starts delivering frames to rx. */
  int (*start)(struct vmk_net_backend *be, struct vmk_io_loop *loop,
               vmk_error *err);
  /* Unregisters from the loop (the loop is stopped). */
  void (*stop)(struct vmk_net_backend *be);
  /* One frame from the guest. 0 sent or dropped (a full host queue drops,
   * as a busy wire would); <0 a failure already logged. */
  int (*send)(struct vmk_net_backend *be, const uint8_t *frame, size_t len);
  /* The guest posted receive buffers: deliver what waits. */
  void (*rx_ready)(struct vmk_net_backend *be);
  void (*free)(struct vmk_net_backend *be);
};

/* What a backend can take beyond plain, checksummed, MTU-sized frames
 * (struct vmk_net_backend.caps); the device offers the guest the matching
 * virtio-net offloads only when the backend sets them. */
/* send() takes an IPv4 TCP packet of up to 64 KiB in one frame (its
 * checksums complete), as a TCP/IP stack in the backend does: the guest may
 * then skip segmenting (HOST_TSO4). */
#define VMK_NET_CAP_TSO4 1u
/* Every frame handed to rx carries correct checksums made by the backend
 * itself (not relayed from a wire): the guest may skip checking them
 * (GUEST_CSUM, DATA_VALID). */
#define VMK_NET_CAP_CSUM_VALID 2u

/* Embedded at the start of each backend's private struct. */
struct vmk_net_backend {
  const struct vmk_net_backend_ops *ops;
  unsigned caps; /* VMK_NET_CAP_*, fixed by create */
  vmk_net_receive_fn rx;
  void *rx_opaque;
  struct vmk_io_loop *loop; /* set by start */
};

/* One host port forward of the NAT backend. */
struct vmk_net_forward {
  bool udp;
  uint32_t host_addr; /* IPv4, host byte order */
  uint16_t host_port, guest_port;
};

/* NAT on libslirp: network 10.0.2.0/24, gateway 10.0.2.2 (the host's
 * loopback), DNS 10.0.2.3, DHCP from 10.0.2.15. Forwards are bound now, so
 * a port in use fails here with -EADDRINUSE and a sentence naming it. */
int vmk_net_slirp_create(const struct vmk_net_forward *fwd, unsigned nfwd,
                         unsigned mtu, struct vmk_net_backend **out,
                         vmk_error *err);
/* Stream socket: connect to path, or (listen) create it and accept peers
 * one at a time; frames before a peer connects are dropped. */
int vmk_net_socket_create(const char *path, bool listen,
                          struct vmk_net_backend **out, vmk_error *err);
/* tap: opens /dev/net/tun and attaches to (or creates) ifname. */
int vmk_net_tap_create(const char *ifname, struct vmk_net_backend **out,
                       vmk_error *err);

static inline void vmk_net_backend_free(struct vmk_net_backend *be) {
  if (be)
    be->ops->free(be);
}

#endif
