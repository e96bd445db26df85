/* net.h — virtio-net over a host network backend (virtio 1.2 §5.1).
 * Served on the I/O thread under the transport lock (see net.c). */
#ifndef VMK_VIRTIO_NET_H
#define VMK_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/net.h"
#include "base/error.h"
#include "virtio/virtio.h"

#define VMK_VIRTIO_ID_NET 1

/* Feature bits (§5.1.3). */
#define VMK_VIRTIO_NET_F_CSUM 0
#define VMK_VIRTIO_NET_F_GUEST_CSUM 1
#define VMK_VIRTIO_NET_F_MTU 3
#define VMK_VIRTIO_NET_F_MAC 5
#define VMK_VIRTIO_NET_F_HOST_TSO4 11
#define VMK_VIRTIO_NET_F_STATUS 16
#define VMK_VIRTIO_NET_S_LINK_UP 1

/* struct virtio_net_hdr_v1: flags, gso_type, hdr_len, gso_size,
 * csum_start, csum_offset, num_buffers (VERSION_1 always has it). */
#define VMK_VIRTIO_NET_HDR_LEN 12
#define VMK_VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VMK_VIRTIO_NET_HDR_F_DATA_VALID 2
#define VMK_VIRTIO_NET_HDR_GSO_NONE 0
#define VMK_VIRTIO_NET_HDR_GSO_TCPV4 1

#define VMK_NET_MIN_MTU 68
#define VMK_NET_MAX_MTU 65500 /* 12 + 18 + MTU fits VMK_NET_MAX_FRAME */
#define VMK_NET_DEFAULT_MTU 1500

/* Creates the device around be (taking ownership of it, also on failure). */
int vmk_virtio_net_create(struct vmk_net_backend *be, const uint8_t mac[6],
                          unsigned mtu, struct vmk_virtio_device **out,
                          vmk_error *err);

/* A transmit header, parsed. */
struct vmk_virtio_net_tx_hdr {
  bool needs_csum;                  /* the device completes the checksum ... */
  uint16_t csum_start, csum_offset; /* ... from csum_start to the end */
  bool tso4;                        /* an IPv4 TCP packet beyond the MTU */
};

/* Checks a transmit header against the features the driver accepted
 * (`features`): 0 with out filled, or -EINVAL with why filled. Exposed for
 * the fuzzer and unit tests. */
int vmk_virtio_net_parse_tx_hdr(const uint8_t *hdr, uint64_t features,
                                struct vmk_virtio_net_tx_hdr *out, char *why,
                                size_t whylen);
/* Checks a transmitted frame of len bytes against its parsed header and
 * the MTU, and completes its checksum in place: 0, or -EINVAL with why
 * filled. */
int vmk_virtio_net_prepare_tx(uint8_t *frame, size_t len, unsigned mtu,
                              const struct vmk_virtio_net_tx_hdr *h, char *why,
                              size_t whylen);

#endif
