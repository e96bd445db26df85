/* net.c — virtio-net (virtio 1.2 §5.1): queue 0 receives, queue 1
 * transmits; every buffer starts with the 12-byte virtio_net_hdr_v1.
 *
 * Offers MAC, MTU, STATUS (link always up) and CSUM: a transmitted frame
 * may leave its TCP/UDP checksum to the device, which completes it in its
 * own copy of the frame before the backend sees it (host CPU instead of
 * emulated guest CPU; every backend gets whole, checksummed frames).
 * HOST_TSO4 only over a backend that takes whole IPv4 TCP packets up to
 * 64 KiB (VMK_NET_CAP_TSO4: the NAT's TCP/IP stack), and GUEST_CSUM
 * (DATA_VALID on received frames) only when the backend made those frames
 * itself (VMK_NET_CAP_CSUM_VALID): the guest's TCP then sends 64 KiB per
 * frame and checks no checksum, which under the emulator is most of its
 * per-byte cost. No mergeable receive buffers: every received frame fits
 * one buffer. A header that asks for an offload not negotiated, a checksum
 * range outside the frame, a frame larger than the MTU (or a "TSO" frame
 * that is not IPv4 TCP), or a receive buffer too small for a frame is a
 * guest error: the device goes to NEEDS_RESET.
 *
 * Threads: the I/O thread only. Queue kicks come through the transport with
 * its lock held; frames from the backend arrive from the backend's own fd
 * callbacks (lock not held: taken here) or synchronously while we are
 * sending (lock already held: `locked` says which). The transport lock
 * protects everything here.
 */
#include "virtio/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/le.h"
#include "virtio/virtqueue.h"

#define RXQ 0
#define TXQ 1
#define BATCH (4 * VMK_VIRTIO_QUEUE_MAX)
#define ETH_HDR 14
#define VLAN_HDR 4
#define CFG_LEN 12 /* mac[6], status, max_virtqueue_pairs, mtu */

struct net {
  struct vmk_virtio_device dev;
  struct vmk_net_backend *be;
  bool started;
  bool locked; /* the I/O thread holds the transport lock in this device */
  unsigned mtu;
  /* Separate: a frame sent can bring a reply synchronously, received
   * while the transmit chain is still being handled. */
  struct vmk_vq_chain tx, rx;
  uint8_t config[CFG_LEN];
  uint8_t frame[VMK_NET_MAX_FRAME];
};

int vmk_virtio_net_parse_tx_hdr(const uint8_t *hdr, uint64_t features,
                                struct vmk_virtio_net_tx_hdr *out, char *why,
                                size_t whylen) {
  uint8_t flags = hdr[0], gso = hdr[1];
  *out = (struct vmk_virtio_net_tx_hdr){0};
  if (flags & ~(unsigned)VMK_VIRTIO_NET_HDR_F_NEEDS_CSUM) {
    snprintf(why, whylen, "transmit header has unknown flags 0x%x", flags);
    return -EINVAL;
  }
  if (flags & VMK_VIRTIO_NET_HDR_F_NEEDS_CSUM) {
    if (!(features & VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_CSUM))) {
      snprintf(why, whylen,
               "transmit header asks for a checksum (flags 0x%x) "
               "that was not negotiated",
               flags);
      return -EINVAL;
    }
    out->needs_csum = true;
    out->csum_start = vmk_le16(hdr + 6);
    out->csum_offset = vmk_le16(hdr + 8);
  }
  if (gso == VMK_VIRTIO_NET_HDR_GSO_NONE)
    return 0;
  if (gso != VMK_VIRTIO_NET_HDR_GSO_TCPV4 ||
      !(features & VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_HOST_TSO4))) {
    snprintf(why, whylen,
             "transmit header asks for segmentation (gso_type "
             "%u) that was not negotiated",
             gso);
    return -EINVAL;
  }
  /* §5.1.6.2: a GSO packet always leaves its checksum to the device. */
  if (!out->needs_csum) {
    snprintf(why, whylen,
             "transmit header asks for segmentation without "
             "NEEDS_CSUM");
    return -EINVAL;
  }
  out->tso4 = true;
  return 0;
}

/* The Internet checksum (RFC 1071) of p[0..len), folded, not inverted. */
static uint16_t inet_sum(const uint8_t *p, size_t len) {
  uint64_t sum = 0;
  size_t i = 0;
  for (; i + 4 <= len; i += 4)
    sum += (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 |
           (uint32_t)p[i + 2] << 8 | p[i + 3];
  for (; i + 2 <= len; i += 2)
    sum += (uint32_t)p[i] << 8 | p[i + 1];
  if (i < len)
    sum += (uint32_t)p[i] << 8;
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

int vmk_virtio_net_prepare_tx(uint8_t *frame, size_t len, unsigned mtu,
                              const struct vmk_virtio_net_tx_hdr *h, char *why,
                              size_t whylen) {
  if (h->tso4) {
    /* Only a TCP/IP stack in the backend takes it (VMK_NET_CAP_TSO4); it
     * still must be what the header says it is. */
    size_t ip = ETH_HDR;
    unsigned type = len >= ETH_HDR ? (unsigned)frame[12] << 8 | frame[13] : 0;
    if (type == 0x8100 && len >= ETH_HDR + VLAN_HDR) {
      ip += VLAN_HDR;
      type = (unsigned)frame[16] << 8 | frame[17];
    }
    if (len > VMK_NET_MAX_FRAME || len < ip + 20 || type != 0x0800 ||
        frame[ip] >> 4 != 4 || frame[ip + 9] != 6) {
      snprintf(why, whylen,
               "segmentation asked for a %zu-byte frame that is not "
               "IPv4 TCP",
               len);
      return -EINVAL;
    }
  } else if (len > ETH_HDR + VLAN_HDR + mtu) {
    snprintf(why, whylen,
             "transmitted frame of %zu bytes exceeds the MTU of %u", len, mtu);
    return -EINVAL;
  }
  if (h->needs_csum) {
    size_t start = h->csum_start, at = start + h->csum_offset;
    if (start >= len || at + 2 > len) {
      snprintf(why, whylen,
               "checksum range (start %u, offset %u) lies outside the "
               "%zu-byte frame",
               h->csum_start, h->csum_offset, len);
      return -EINVAL;
    }
    /* The field holds the pseudo-header sum the guest put there; 0 is
     * sent as 0xffff (the same in one's complement, and UDP's "none"). */
    uint16_t c = (uint16_t)~inet_sum(frame + start, len - start);
    if (c == 0)
      c = 0xffff;
    frame[at] = (uint8_t)(c >> 8);
    frame[at + 1] = (uint8_t)c;
  }
  return 0;
}

static void transmit(struct net *n) {
  struct vmk_vq_chain *c = &n->tx;
  for (unsigned k = 0; k < BATCH; k++) {
    if (vmk_virtio_pop(&n->dev, TXQ, c) <= 0)
      return;
    uint8_t hdr[VMK_VIRTIO_NET_HDR_LEN];
    struct vmk_virtio_net_tx_hdr h;
    char why[128];
    if (c->n_in) {
      vmk_virtio_device_error(&n->dev, "transmit chain has device-writable "
                                       "buffers");
      return;
    }
    if (c->out_len < VMK_VIRTIO_NET_HDR_LEN) {
      vmk_virtio_device_error(&n->dev,
                              "transmit chain of %zu bytes is shorter "
                              "than the %d-byte header",
                              c->out_len, VMK_VIRTIO_NET_HDR_LEN);
      return;
    }
    vmk_iov_to_buf(c->iov, c->n_out, 0, hdr, sizeof(hdr));
    if (vmk_virtio_net_parse_tx_hdr(hdr, n->dev.driver_features, &h, why,
                                    sizeof(why)) < 0) {
      vmk_virtio_device_error(&n->dev, "%s", why);
      return;
    }
    size_t len = c->out_len - VMK_VIRTIO_NET_HDR_LEN;
    if (len > sizeof(n->frame)) {
      vmk_virtio_device_error(&n->dev,
                              "transmitted frame of %zu bytes exceeds the "
                              "MTU of %u",
                              len, n->mtu);
      return;
    }
    /* Checked and completed in our copy: the guest cannot change it. */
    vmk_iov_to_buf(c->iov, c->n_out, VMK_VIRTIO_NET_HDR_LEN, n->frame, len);
    if (vmk_virtio_net_prepare_tx(n->frame, len, n->mtu, &h, why, sizeof(why)) <
        0) {
      vmk_virtio_device_error(&n->dev, "%s", why);
      return;
    }
    /* Runt frames are dropped as a switch would; the guest is told it
     * went out, so it never waits on them. */
    if (len >= ETH_HDR && n->started)
      n->be->ops->send(n->be, n->frame, len);
    vmk_virtio_push(&n->dev, TXQ, c->head, 0);
  }
  vmk_virtio_kick(&n->dev, TXQ);
}

/* With the lock held: one frame into one receive chain. */
static int deliver(struct net *n, const uint8_t *frame, size_t len) {
  if (len < ETH_HDR || len > ETH_HDR + VLAN_HDR + n->mtu)
    return 0; /* not a frame this link carries: dropped */
  if (!vmk_virtio_running(&n->dev))
    return -EAGAIN;
  struct vmk_vq_chain *c = &n->rx;
  int r = vmk_virtio_pop(&n->dev, RXQ, c);
  if (r <= 0)
    return -EAGAIN; /* no buffer, or the guest broke the queue */
  if (c->n_out) {
    vmk_virtio_device_error(&n->dev, "receive chain has device-readable "
                                     "buffers");
    return -EAGAIN;
  }
  if (c->in_len < VMK_VIRTIO_NET_HDR_LEN + len) {
    vmk_virtio_device_error(&n->dev,
                            "receive buffer of %zu bytes is too small for a "
                            "%zu-byte frame (post at least MTU + 30 bytes)",
                            c->in_len, len);
    return -EAGAIN;
  }
  uint8_t hdr[VMK_VIRTIO_NET_HDR_LEN] = {0};
  if ((n->be->caps & VMK_NET_CAP_CSUM_VALID) &&
      (n->dev.driver_features & VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_GUEST_CSUM)))
    hdr[0] = VMK_VIRTIO_NET_HDR_F_DATA_VALID;
  vmk_put_le16(hdr + 10, 1); /* num_buffers: always one buffer */
  vmk_iov_from_buf(c->iov, c->n_in, 0, hdr, sizeof(hdr));
  vmk_iov_from_buf(c->iov, c->n_in, sizeof(hdr), frame, len);
  vmk_virtio_push(&n->dev, RXQ, c->head,
                  (uint32_t)(VMK_VIRTIO_NET_HDR_LEN + len));
  return 0;
}

static int net_receive(void *opaque, const uint8_t *frame, size_t len) {
  struct net *n = opaque;
  if (n->locked)
    return deliver(n, frame, len);
  vmk_virtio_lock(&n->dev);
  n->locked = true;
  int r = deliver(n, frame, len);
  n->locked = false;
  vmk_virtio_unlock(&n->dev);
  return r;
}

static void net_notify(struct vmk_virtio_device *dev, unsigned q) {
  struct net *n = (struct net *)dev;
  n->locked = true;
  if (q == TXQ)
    transmit(n);
  else if (q == RXQ && n->started && n->be->ops->rx_ready)
    n->be->ops->rx_ready(n->be);
  n->locked = false;
}

static int net_attach(struct vmk_virtio_device *dev, vmk_error *err) {
  struct net *n = (struct net *)dev;
  int r = n->be->ops->start(n->be, dev->loop, err);
  if (r == 0)
    n->started = true;
  return r;
}

static void net_detach(struct vmk_virtio_device *dev) {
  struct net *n = (struct net *)dev;
  if (n->started)
    n->be->ops->stop(n->be);
  n->started = false;
}

static void net_free(struct vmk_virtio_device *dev) {
  struct net *n = (struct net *)dev;
  vmk_net_backend_free(n->be);
  free(n);
}

static const struct vmk_virtio_device_ops net_ops = {
    .name = "virtio-net",
    .device_id = VMK_VIRTIO_ID_NET,
    .attach = net_attach,
    .detach = net_detach,
    .queue_notify = net_notify,
    .free = net_free,
    /* Frames are handled whole under the lock; the backend's own state (NAT
     * connections) is not saved: a restored guest sees them reset. */
    .save = vmk_virtio_save_none,
    .load = vmk_virtio_load_none,
};

int vmk_virtio_net_create(struct vmk_net_backend *be, const uint8_t mac[6],
                          unsigned mtu, struct vmk_virtio_device **out,
                          vmk_error *err) {
  *out = NULL;
  if (mtu < VMK_NET_MIN_MTU || mtu > VMK_NET_MAX_MTU) {
    vmk_net_backend_free(be);
    return vmk_err(err, -EINVAL, "MTU %u is out of range; use %d to %d", mtu,
                   VMK_NET_MIN_MTU, VMK_NET_MAX_MTU);
  }
  struct net *n = calloc(1, sizeof(*n));
  if (!n) {
    vmk_net_backend_free(be);
    return vmk_err(err, -ENOMEM, "out of memory creating virtio-net");
  }
  n->be = be;
  be->rx = net_receive;
  be->rx_opaque = n;
  n->mtu = mtu;
  memcpy(n->config, mac, 6);
  vmk_put_le16(n->config + 6, VMK_VIRTIO_NET_S_LINK_UP);
  vmk_put_le16(n->config + 8, 1);
  vmk_put_le16(n->config + 10, (uint16_t)mtu);
  n->dev.ops = &net_ops;
  n->dev.num_queues = 2;
  n->dev.features = VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1) |
                    VMK_VIRTIO_BIT(VMK_VIRTIO_F_INDIRECT_DESC) |
                    VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_MTU) |
                    VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_MAC) |
                    VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_STATUS) |
                    VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_CSUM);
  if (be->caps & VMK_NET_CAP_TSO4)
    n->dev.features |= VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_HOST_TSO4);
  if (be->caps & VMK_NET_CAP_CSUM_VALID)
    n->dev.features |= VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_GUEST_CSUM);
  n->dev.config = n->config;
  n->dev.config_len = CFG_LEN;
  snprintf(n->dev.label, sizeof(n->dev.label),
           "virtio-net %02x:%02x:%02x:%02x:%02x:%02x (%s)", mac[0], mac[1],
           mac[2], mac[3], mac[4], mac[5], be->ops->name);
  *out = &n->dev;
  return 0;
}
