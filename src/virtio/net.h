/* net.h — virtio-net over a host network backend (virtio 1.2 §5.1).
 * Served on the I/O thread under the transport lock (see net.c). */
#ifndef VMK_VIRTIO_NET_H
#define VMK_VIRTIO_NET_H

#include <stddef.h>
#include <stdint.h>

#include "backends/net.h"
#include "base/error.h"
#include "virtio/virtio.h"

#define VMK_VIRTIO_ID_NET 1

/* Feature bits (§5.1.3). */
#define VMK_VIRTIO_NET_F_MTU 3
#define VMK_VIRTIO_NET_F_MAC 5
#define VMK_VIRTIO_NET_F_STATUS 16
#define VMK_VIRTIO_NET_S_LINK_UP 1

/* struct virtio_net_hdr_v1: flags, gso_type, hdr_len, gso_size,
 * csum_start, csum_offset, num_buffers (VERSION_1 always has it). */
#define VMK_VIRTIO_NET_HDR_LEN 12
#define VMK_VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VMK_VIRTIO_NET_HDR_GSO_NONE 0

#define VMK_NET_MIN_MTU 68
#define VMK_NET_MAX_MTU 65500 /* 12 + 18 + MTU fits VMK_NET_MAX_FRAME */
#define VMK_NET_DEFAULT_MTU 1500

/* Creates the device around be (taking ownership of it, also on failure). */
int vmk_virtio_net_create(struct vmk_net_backend *be, const uint8_t mac[6],
                          unsigned mtu, struct vmk_virtio_device **out,
                          vmk_error *err);

/* Checks a transmit header against what the device offered (no offloads):
 * 0, or -EINVAL with why filled. Exposed for the fuzzer and unit tests. */
int vmk_virtio_net_parse_tx_hdr(const uint8_t *hdr, char *why, size_t whylen);

#endif
