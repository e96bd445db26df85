/* vsock.h — virtio-vsock (virtio 1.2 §5.10), stream sockets only, joined to
 * host Unix sockets in Firecracker's convention (backends/vsock_unix.h).
 * Served on the I/O thread under the transport lock. */
#ifndef VMK_VIRTIO_VSOCK_H
#define VMK_VIRTIO_VSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "virtio/virtio.h"

#define VMK_VIRTIO_ID_VSOCK 19
#define VMK_VSOCK_HOST_CID 2
#define VMK_VSOCK_HDR_LEN 44

/* Memory bounds (see vsock.c): what one connection may have buffered on the
 * way to a slow host peer (this is the buf_alloc the guest is given, so an
 * honest guest never exceeds it and a guest that does is reset), and how
 * many connections may exist. vmkit's vsock memory is thus at most
 * VMK_VSOCK_MAX_CONNS * VMK_VSOCK_CONN_BUF bytes of data (64 MiB) plus
 * fixed-size bookkeeping, whatever the guest sends. */
#define VMK_VSOCK_CONN_BUF (256u * 1024)
#define VMK_VSOCK_MAX_CONNS 256

enum vmk_vsock_op {
  VMK_VSOCK_OP_INVALID = 0,
  VMK_VSOCK_OP_REQUEST = 1,
  VMK_VSOCK_OP_RESPONSE = 2,
  VMK_VSOCK_OP_RST = 3,
  VMK_VSOCK_OP_SHUTDOWN = 4,
  VMK_VSOCK_OP_RW = 5,
  VMK_VSOCK_OP_CREDIT_UPDATE = 6,
  VMK_VSOCK_OP_CREDIT_REQUEST = 7,
};
#define VMK_VSOCK_TYPE_STREAM 1
#define VMK_VSOCK_SHUTDOWN_RCV 1u
#define VMK_VSOCK_SHUTDOWN_SEND 2u

/* struct virtio_vsock_hdr, decoded. */
struct vmk_vsock_hdr {
  uint64_t src_cid, dst_cid;
  uint32_t src_port, dst_port, len;
  uint16_t type, op;
  uint32_t flags, buf_alloc, fwd_cnt;
};

/* What to do with a packet the guest put on the transmit queue. */
enum vmk_vsock_verdict {
  VMK_VSOCK_OK,        /* well-formed: act on it */
  VMK_VSOCK_RESET,     /* answer with a RST (bad address, type or op) */
  VMK_VSOCK_DROP,      /* a bad RST: never answer a RST with a RST */
  VMK_VSOCK_BAD_DRIVER /* the chain contradicts itself: NEEDS_RESET */
};

void vmk_vsock_hdr_decode(const uint8_t b[VMK_VSOCK_HDR_LEN],
                          struct vmk_vsock_hdr *h);
void vmk_vsock_hdr_encode(const struct vmk_vsock_hdr *h,
                          uint8_t b[VMK_VSOCK_HDR_LEN]);
/* Checks a transmit-queue packet: chain_len is the device-readable length
 * of its chain (header included). Pure; the fuzzer drives it directly. */
enum vmk_vsock_verdict vmk_vsock_check(const struct vmk_vsock_hdr *h,
                                       size_t chain_len, uint64_t guest_cid);

/* Creates the device for guest CID cid (3 .. 0xfffffffe) with its listening
 * socket at path. */
int vmk_virtio_vsock_create(const char *path, uint64_t cid,
                            struct vmk_virtio_device **out, vmk_error *err);

/* For tests: live connections, and bytes held for host peers (all
 * connections together). Transport lock held or device idle. */
struct vmk_vsock_stats {
  unsigned conns;
  size_t buffered, buffered_max, mem_cap;
};
void vmk_virtio_vsock_stats(struct vmk_virtio_device *dev,
                            struct vmk_vsock_stats *s);

#endif
