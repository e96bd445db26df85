/* test_net.c — virtio-net against a fake backend that records what the
 * guest sends and hands frames to it: features and config space, transmit
 * (header stripped, scattered frames joined), receive (header written,
 * back-pressure and rx_ready), a reply delivered while a transmit is being
 * handled, and every malformed header, chain and size the device refuses
 * with NEEDS_RESET. Test thread only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/le.h"
#include "vdrv.h"
#include "virtio/net.h"
#include "virtio/virtqueue.h"

#define RXQ 0
#define TXQ 1
#define F_ALL (~0ull)
#define HDR VMK_VIRTIO_NET_HDR_LEN

struct fake {
  struct vmk_net_backend be;
  unsigned started, stopped, rx_ready_calls, sent;
  uint8_t last[VMK_NET_MAX_FRAME];
  size_t last_len;
  /* A frame waiting for the guest (back-pressure), if pending_len. */
  uint8_t pending[2048];
  size_t pending_len;
  bool echo; /* send() answers at once, as slirp answers an ARP */
};

static int fake_start(struct vmk_net_backend *be, struct vmk_io_loop *loop,
                      vmk_error *err) {
  (void)err;
  be->loop = loop;
  ((struct fake *)be)->started++;
  return 0;
}
static void fake_stop(struct vmk_net_backend *be) {
  ((struct fake *)be)->stopped++;
}
static int fake_offer(struct fake *f) {
  int r = f->be.rx(f->be.rx_opaque, f->pending, f->pending_len);
  if (r == 0)
    f->pending_len = 0;
  return r;
}
static int fake_send(struct vmk_net_backend *be, const uint8_t *frame,
                     size_t len) {
  struct fake *f = (struct fake *)be;
  memcpy(f->last, frame, len);
  f->last_len = len;
  f->sent++;
  if (f->echo) {
    memcpy(f->pending, frame, len);
    f->pending[0] ^= 0xff; /* a reply that differs from the request */
    f->pending_len = len;
    fake_offer(f);
  }
  return 0;
}
static void fake_rx_ready(struct vmk_net_backend *be) {
  struct fake *f = (struct fake *)be;
  f->rx_ready_calls++;
  if (f->pending_len)
    fake_offer(f);
}
static void fake_free(struct vmk_net_backend *be) { (void)be; }

static const struct vmk_net_backend_ops fake_ops = {
    .name = "fake",
    .start = fake_start,
    .stop = fake_stop,
    .send = fake_send,
    .rx_ready = fake_rx_ready,
    .free = fake_free,
};

struct fx {
  struct vdrv d;
  struct fake fake;
};

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};

/* A device over the fake backend with capabilities caps, MTU mtu, the
 * driver accepting every offered feature in `accept`. */
static int setup_full(void **state, unsigned mtu, unsigned caps,
                      uint64_t accept) {
  struct fx *f = calloc(1, sizeof(*f));
  f->fake.be.ops = &fake_ops;
  f->fake.be.caps = caps;
  struct vmk_virtio_device *dev;
  vmk_error err;
  if (vmk_virtio_net_create(&f->fake.be, MAC, mtu, &dev, &err))
    fail_msg("%s", err.msg);
  vdrv_open(&f->d, dev);
  assert_int_equal(f->fake.started, 1);
  assert_true(vdrv_setup(&f->d, accept, VDRV_QSIZE) & VMK_VIRTIO_S_DRIVER_OK);
  *state = f;
  return 0;
}
static int setup_mtu(void **state, unsigned mtu) {
  return setup_full(state, mtu, 0, F_ALL);
}
static int setup(void **state) { return setup_mtu(state, 1500); }
/* A backend that takes TSO frames and makes its own checksums (as NAT). */
static int setup_offload(void **state) {
  return setup_full(state, 1500, VMK_NET_CAP_TSO4 | VMK_NET_CAP_CSUM_VALID,
                    F_ALL);
}
/* A driver that does not accept CSUM. */
static int setup_no_csum(void **state) {
  return setup_full(state, 1500, VMK_NET_CAP_TSO4,
                    ~VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_CSUM) &
                        ~VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_HOST_TSO4));
}

static int teardown(void **state) {
  struct fx *f = *state;
  vdrv_close(&f->d);
  assert_int_equal(f->fake.stopped, 1);
  free(f);
  return 0;
}

static uint8_t frame_byte(size_t i) { return (uint8_t)(i * 13 + 5); }

/* Makes a transmit chain: the header (hdr or zeros), then len frame bytes
 * split in two segments; returns the head. */
static uint16_t tx_chain(struct fx *f, const uint8_t *hdr, size_t len) {
  struct vdrv *d = &f->d;
  uint64_t h = vdrv_alloc(d, HDR);
  memset(vdrv_ptr(d, h), 0, HDR);
  if (hdr)
    memcpy(vdrv_ptr(d, h), hdr, HDR);
  size_t a = len / 3, b = len - a;
  uint64_t p = vdrv_alloc(d, (uint32_t)(a ? a : 1));
  uint64_t q = vdrv_alloc(d, (uint32_t)(b ? b : 1));
  for (size_t i = 0; i < a; i++)
    ((uint8_t *)vdrv_ptr(d, p))[i] = frame_byte(i);
  for (size_t i = 0; i < b; i++)
    ((uint8_t *)vdrv_ptr(d, q))[i] = frame_byte(a + i);
  struct vdrv_seg segs[3];
  unsigned n = 0;
  segs[n++] = (struct vdrv_seg){h, HDR, false};
  if (a)
    segs[n++] = (struct vdrv_seg){p, (uint32_t)a, false};
  if (b)
    segs[n++] = (struct vdrv_seg){q, (uint32_t)b, false};
  return vdrv_chain(d, TXQ, segs, n);
}

static uint64_t rx_buffer(struct fx *f, uint32_t size, uint16_t *head) {
  uint64_t b = vdrv_alloc(&f->d, size);
  memset(vdrv_ptr(&f->d, b), 0xee, size);
  struct vdrv_seg s = {b, size, true};
  *head = vdrv_chain(&f->d, RXQ, &s, 1);
  return b;
}

static void test_features_and_config(void **state) {
  struct fx *f = *state;
  struct vdrv *d = &f->d;
  uint64_t offered = 0;
  for (unsigned sel = 0; sel < 2; sel++) {
    vdrv_write(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
    offered |= (uint64_t)vdrv_read(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES)
               << (32 * sel);
  }
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_DEVICE_ID), 1);
  uint64_t want = VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1) |
                  VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_MAC) |
                  VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_MTU) |
                  VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_STATUS);
  assert_int_equal(offered & want, want);
  /* CSUM (the device completes checksums itself, for any backend), and
   * no offload this backend cannot honour: GUEST_CSUM, the GSO bits
   * 6..14, MRG_RXBUF (15), CTRL_VQ (17). */
  assert_int_equal(offered & 0x2ffffull & ~want,
                   VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_CSUM));
  for (int i = 0; i < 6; i++)
    assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_CONFIG + i) & 0xff, MAC[i]);
  uint32_t w = vdrv_read(d, VMK_VIRTIO_MMIO_CONFIG + 4);
  assert_int_equal(w >> 16, VMK_VIRTIO_NET_S_LINK_UP);
  w = vdrv_read(d, VMK_VIRTIO_MMIO_CONFIG + 8);
  assert_int_equal(w & 0xffff, 1); /* max_virtqueue_pairs */
  assert_int_equal(w >> 16, 1500); /* mtu */
}

static void test_tx(void **state) {
  struct fx *f = *state;
  uint16_t head = tx_chain(f, NULL, 60);
  vdrv_kick(&f->d, TXQ);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(&f->d, TXQ, &id, &len));
  assert_int_equal(id, head);
  assert_int_equal(len, 0);
  assert_int_equal(f->fake.sent, 1);
  assert_int_equal(f->fake.last_len, 60);
  for (size_t i = 0; i < 60; i++)
    assert_int_equal(f->fake.last[i], frame_byte(i));
  assert_false(vdrv_needs_reset(&f->d));
}

static void test_tx_full_mtu_frame(void **state) {
  struct fx *f = *state;
  tx_chain(f, NULL, 1500 + 18); /* MTU + Ethernet + VLAN header */
  vdrv_kick(&f->d, TXQ);
  assert_int_equal(f->fake.sent, 1);
  assert_false(vdrv_needs_reset(&f->d));
}

static void test_tx_runt_dropped(void **state) {
  struct fx *f = *state;
  uint16_t head = tx_chain(f, NULL, 10);
  vdrv_kick(&f->d, TXQ);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(&f->d, TXQ, &id, &len));
  assert_int_equal(id, head);
  assert_int_equal(f->fake.sent, 0);
  assert_false(vdrv_needs_reset(&f->d));
}

static void expect_tx_reset(struct fx *f) {
  vdrv_kick(&f->d, TXQ);
  assert_true(vdrv_needs_reset(&f->d));
  assert_int_equal(f->fake.sent, 0);
  uint16_t id;
  uint32_t len;
  assert_false(vdrv_used(&f->d, TXQ, &id, &len));
}

/* Makes a transmit chain from hdr and the frame bytes in buf, split in
 * two segments; returns the head. */
static uint16_t tx_frame(struct fx *f, const uint8_t *hdr, const uint8_t *buf,
                         size_t len) {
  struct vdrv *d = &f->d;
  uint64_t h = vdrv_alloc(d, HDR);
  memcpy(vdrv_ptr(d, h), hdr, HDR);
  size_t a = len / 3, b = len - a;
  uint64_t p = vdrv_alloc(d, (uint32_t)a), q = vdrv_alloc(d, (uint32_t)b);
  memcpy(vdrv_ptr(d, p), buf, a);
  memcpy(vdrv_ptr(d, q), buf + a, b);
  struct vdrv_seg segs[3] = {
      {h, HDR, false}, {p, (uint32_t)a, false}, {q, (uint32_t)b, false}};
  return vdrv_chain(d, TXQ, segs, 3);
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum) {
  for (size_t i = 0; i + 1 < len; i += 2)
    sum += (uint32_t)p[i] << 8 | p[i + 1];
  if (len & 1)
    sum += (uint32_t)p[len - 1] << 8;
  return sum;
}
static uint16_t fold(uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

/* An Ethernet + IPv4 + TCP frame of len bytes with a payload pattern, its
 * TCP checksum field holding the pseudo-header sum as Linux leaves it for
 * the device (CHECKSUM_PARTIAL); the header asks the device to finish it. */
static size_t tcp_frame(uint8_t *fr, size_t len, uint8_t *hdr, bool tso) {
  memset(fr, 0, len);
  memset(hdr, 0, HDR);
  fr[12] = 0x08; /* IPv4 */
  uint8_t *ip = fr + 14, *tcp = ip + 20;
  size_t iplen = len - 14, tcplen = iplen - 20;
  ip[0] = 0x45;
  ip[2] = (uint8_t)(iplen >> 8);
  ip[3] = (uint8_t)iplen;
  ip[8] = 64;
  ip[9] = 6;
  memcpy(ip + 12, (uint8_t[]){10, 0, 2, 15, 10, 0, 2, 2}, 8);
  tcp[12] = 5 << 4;
  for (size_t i = 20; i < tcplen; i++)
    tcp[i] = frame_byte(i);
  uint32_t ps = sum16(ip + 12, 8, 6 + (uint32_t)tcplen);
  uint16_t p = fold(ps);
  tcp[16] = (uint8_t)(p >> 8);
  tcp[17] = (uint8_t)p;
  hdr[0] = VMK_VIRTIO_NET_HDR_F_NEEDS_CSUM;
  if (tso) {
    hdr[1] = VMK_VIRTIO_NET_HDR_GSO_TCPV4;
    vmk_put_le16(hdr + 2, 14 + 20 + 20); /* hdr_len */
    vmk_put_le16(hdr + 4, 1448);         /* gso_size */
  }
  vmk_put_le16(hdr + 6, 34); /* csum_start: the TCP header */
  vmk_put_le16(hdr + 8, 16); /* csum_offset: its checksum field */
  return len;
}

/* The receiver's check: pseudo-header plus segment sums to 0xffff. */
static bool tcp_csum_ok(const uint8_t *fr, size_t len) {
  const uint8_t *ip = fr + 14;
  size_t tcplen = len - 34;
  uint32_t s = sum16(ip + 12, 8, 6 + (uint32_t)tcplen);
  return fold(sum16(ip + 20, tcplen, s)) == 0xffff;
}

static void test_tx_csum_completed(void **state) {
  struct fx *f = *state;
  static uint8_t fr[301];
  uint8_t hdr[HDR];
  tcp_frame(fr, sizeof(fr), hdr, false);
  assert_false(tcp_csum_ok(fr, sizeof(fr)));
  tx_frame(f, hdr, fr, sizeof(fr));
  vdrv_kick(&f->d, TXQ);
  assert_false(vdrv_needs_reset(&f->d));
  assert_int_equal(f->fake.sent, 1);
  assert_int_equal(f->fake.last_len, sizeof(fr));
  assert_true(tcp_csum_ok(f->fake.last, f->fake.last_len));
  /* Only the checksum field changed. */
  assert_memory_equal(f->fake.last, fr, 34 + 16);
  assert_memory_equal(f->fake.last + 52, fr + 52, sizeof(fr) - 52);
}

static void test_tx_csum_outside_frame(void **state) {
  struct fx *f = *state;
  uint8_t hdr[HDR] = {VMK_VIRTIO_NET_HDR_F_NEEDS_CSUM};
  vmk_put_le16(hdr + 6, 50);
  vmk_put_le16(hdr + 8, 9); /* 50 + 9 + 2 > 60 */
  tx_chain(f, hdr, 60);
  expect_tx_reset(f);
}

static void test_tx_csum_not_negotiated(void **state) {
  struct fx *f = *state;
  uint8_t hdr[HDR] = {VMK_VIRTIO_NET_HDR_F_NEEDS_CSUM};
  tx_chain(f, hdr, 60);
  expect_tx_reset(f);
}

/* Over a backend with VMK_NET_CAP_TSO4 a 64 KiB-class TCP packet goes
 * out whole, its checksum completed. */
static void test_tx_tso4_whole(void **state) {
  struct fx *f = *state;
  static uint8_t fr[40000];
  uint8_t hdr[HDR];
  tcp_frame(fr, sizeof(fr), hdr, true);
  tx_frame(f, hdr, fr, sizeof(fr));
  vdrv_kick(&f->d, TXQ);
  assert_false(vdrv_needs_reset(&f->d));
  assert_int_equal(f->fake.sent, 1);
  assert_int_equal(f->fake.last_len, sizeof(fr));
  assert_true(tcp_csum_ok(f->fake.last, f->fake.last_len));
}

static void test_tx_tso4_not_tcp(void **state) {
  struct fx *f = *state;
  static uint8_t fr[3000];
  uint8_t hdr[HDR];
  tcp_frame(fr, sizeof(fr), hdr, true);
  fr[14 + 9] = 17; /* UDP */
  tx_frame(f, hdr, fr, sizeof(fr));
  expect_tx_reset(f);
}

static void test_tx_tso4_without_csum(void **state) {
  struct fx *f = *state;
  static uint8_t fr[3000];
  uint8_t hdr[HDR];
  tcp_frame(fr, sizeof(fr), hdr, true);
  hdr[0] = 0;
  tx_frame(f, hdr, fr, sizeof(fr));
  expect_tx_reset(f);
}

/* The backend made the frame: the guest is told its checksum is good. */
static void test_rx_data_valid(void **state) {
  struct fx *f = *state;
  uint16_t head;
  uint64_t buf = rx_buffer(f, 1526, &head);
  vdrv_kick(&f->d, RXQ);
  f->fake.pending_len = 100;
  assert_int_equal(fake_offer(&f->fake), 0);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(&f->d, RXQ, &id, &len));
  assert_int_equal(((uint8_t *)vdrv_ptr(&f->d, buf))[0],
                   VMK_VIRTIO_NET_HDR_F_DATA_VALID);
}

static void test_offload_features(void **state) {
  struct fx *f = *state;
  uint64_t offered = 0;
  for (unsigned sel = 0; sel < 2; sel++) {
    vdrv_write(&f->d, VMK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
    offered |= (uint64_t)vdrv_read(&f->d, VMK_VIRTIO_MMIO_DEVICE_FEATURES)
               << (32 * sel);
  }
  uint64_t off = VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_CSUM) |
                 VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_GUEST_CSUM) |
                 VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_HOST_TSO4);
  assert_int_equal(offered & off, off);
  /* Never the offloads that would need segmenting or merging here. */
  assert_int_equal(offered & 0x2f7fcull & ~off, 0x28ull); /* MTU, MAC */
}

static void test_tx_unknown_flag(void **state) {
  struct fx *f = *state;
  uint8_t hdr[HDR] = {0x80};
  tx_chain(f, hdr, 60);
  expect_tx_reset(f);
}

static void test_tx_gso(void **state) {
  struct fx *f = *state;
  uint8_t hdr[HDR] = {0, 1 /* TCPV4 */};
  tx_chain(f, hdr, 60);
  expect_tx_reset(f);
}

static void test_tx_short_header(void **state) {
  struct fx *f = *state;
  uint64_t h = vdrv_alloc(&f->d, 8);
  struct vdrv_seg s = {h, 8, false};
  vdrv_chain(&f->d, TXQ, &s, 1);
  expect_tx_reset(f);
}

static void test_tx_oversize(void **state) {
  struct fx *f = *state;
  tx_chain(f, NULL, 1500 + 18 + 1);
  expect_tx_reset(f);
}

static void test_tx_writable_segment(void **state) {
  struct fx *f = *state;
  uint64_t h = vdrv_alloc(&f->d, HDR + 60);
  memset(vdrv_ptr(&f->d, h), 0, HDR + 60);
  uint64_t w = vdrv_alloc(&f->d, 16);
  struct vdrv_seg s[2] = {{h, HDR + 60, false}, {w, 16, true}};
  vdrv_chain(&f->d, TXQ, s, 2);
  expect_tx_reset(f);
}

static void test_tx_bad_head(void **state) {
  struct fx *f = *state;
  vdrv_avail(&f->d, TXQ, VDRV_QSIZE + 3); /* head index out of range */
  expect_tx_reset(f);
}

static void check_rx(struct fx *f, uint64_t buf, uint16_t head, size_t flen,
                     uint8_t first) {
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(&f->d, RXQ, &id, &len));
  assert_int_equal(id, head);
  assert_int_equal(len, HDR + flen);
  const uint8_t *p = vdrv_ptr(&f->d, buf);
  for (int i = 0; i < 10; i++)
    assert_int_equal(p[i], 0);           /* no offload fields */
  assert_int_equal(vmk_le16(p + 10), 1); /* num_buffers */
  assert_int_equal(p[HDR], first);
  for (size_t i = 1; i < flen; i++)
    assert_int_equal(p[HDR + i], frame_byte(i));
}

static void test_rx_backpressure(void **state) {
  struct fx *f = *state;
  /* A frame arrives before the guest posts buffers: refused, kept. */
  for (size_t i = 0; i < 100; i++)
    f->fake.pending[i] = frame_byte(i);
  f->fake.pending_len = 100;
  assert_int_equal(fake_offer(&f->fake), -EAGAIN);
  assert_int_equal(f->fake.pending_len, 100);
  /* Posting a buffer (with a kick) asks the backend again. */
  unsigned calls = f->fake.rx_ready_calls;
  uint16_t head;
  uint64_t buf = rx_buffer(f, 1526, &head);
  vdrv_kick(&f->d, RXQ);
  assert_int_equal(f->fake.rx_ready_calls, calls + 1);
  assert_int_equal(f->fake.pending_len, 0);
  check_rx(f, buf, head, 100, frame_byte(0));
  assert_true(f->d.irq.raises >= 1);
  assert_false(vdrv_needs_reset(&f->d));
}

static void test_rx_too_big_for_mtu_dropped(void **state) {
  struct fx *f = *state;
  uint16_t head;
  rx_buffer(f, 4096, &head);
  vdrv_kick(&f->d, RXQ);
  uint8_t big[1600] = {0};
  /* Dropped, not refused: the backend must not wait for room. */
  assert_int_equal(f->fake.be.rx(f->fake.be.rx_opaque, big, sizeof(big)), 0);
  uint16_t id;
  uint32_t len;
  assert_false(vdrv_used(&f->d, RXQ, &id, &len));
  assert_false(vdrv_needs_reset(&f->d));
}

static void test_rx_small_buffer(void **state) {
  struct fx *f = *state;
  uint16_t head;
  rx_buffer(f, HDR + 50, &head);
  vdrv_kick(&f->d, RXQ);
  f->fake.pending_len = 100;
  assert_int_equal(fake_offer(&f->fake), -EAGAIN);
  assert_true(vdrv_needs_reset(&f->d));
}

static void test_rx_readable_segment(void **state) {
  struct fx *f = *state;
  uint64_t r = vdrv_alloc(&f->d, 16), w = vdrv_alloc(&f->d, 2048);
  struct vdrv_seg s[2] = {{r, 16, false}, {w, 2048, true}};
  vdrv_chain(&f->d, RXQ, s, 2);
  vdrv_kick(&f->d, RXQ);
  f->fake.pending_len = 100;
  assert_int_equal(fake_offer(&f->fake), -EAGAIN);
  assert_true(vdrv_needs_reset(&f->d));
}

/* slirp answers some frames (ARP, DHCP) inside slirp_input: the reply
 * lands in a receive chain while the transmit chain is in hand. Both must
 * come back with their own heads. */
static void test_reply_during_tx(void **state) {
  struct fx *f = *state;
  uint16_t id;
  uint32_t len;
  /* One plain transmit first, so the two queues' heads differ. */
  tx_chain(f, NULL, 60);
  vdrv_kick(&f->d, TXQ);
  assert_true(vdrv_used(&f->d, TXQ, &id, &len));
  f->fake.echo = true;
  uint16_t rxhead;
  uint64_t buf = rx_buffer(f, 1526, &rxhead);
  vdrv_kick(&f->d, RXQ);
  uint16_t txhead = tx_chain(f, NULL, 64);
  assert_int_not_equal(txhead, rxhead);
  vdrv_kick(&f->d, TXQ);
  assert_true(vdrv_used(&f->d, TXQ, &id, &len));
  assert_int_equal(id, txhead);
  assert_false(vdrv_used(&f->d, TXQ, &id, &len));
  check_rx(f, buf, rxhead, 64, frame_byte(0) ^ 0xff);
  assert_false(vdrv_needs_reset(&f->d));
}

static void test_bad_mtu(void **state) {
  (void)state;
  struct fake fk = {.be.ops = &fake_ops};
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(vmk_virtio_net_create(&fk.be, MAC, 20, &dev, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "MTU"));
}

static void test_parse_tx_hdr(void **state) {
  (void)state;
  char why[128];
  struct vmk_virtio_net_tx_hdr h;
  uint64_t csum = VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_CSUM),
           tso = csum | VMK_VIRTIO_BIT(VMK_VIRTIO_NET_F_HOST_TSO4);
  uint8_t b[HDR] = {0};
  assert_int_equal(vmk_virtio_net_parse_tx_hdr(b, 0, &h, why, sizeof(why)), 0);
  /* Fields that mean nothing without offloads are ignored. */
  memset(b + 2, 0xff, HDR - 2);
  assert_int_equal(vmk_virtio_net_parse_tx_hdr(b, 0, &h, why, sizeof(why)), 0);
  assert_false(h.needs_csum);
  b[1] = 0x80; /* GSO_ECN */
  assert_int_equal(vmk_virtio_net_parse_tx_hdr(b, tso, &h, why, sizeof(why)),
                   -EINVAL);
  assert_non_null(strstr(why, "segmentation"));
  b[0] = VMK_VIRTIO_NET_HDR_F_NEEDS_CSUM;
  b[1] = VMK_VIRTIO_NET_HDR_GSO_TCPV4;
  assert_int_equal(vmk_virtio_net_parse_tx_hdr(b, csum, &h, why, sizeof(why)),
                   -EINVAL);
  assert_int_equal(vmk_virtio_net_parse_tx_hdr(b, tso, &h, why, sizeof(why)),
                   0);
  assert_true(h.needs_csum && h.tso4);
  assert_int_equal(h.csum_start, 0xffff);
  b[0] = VMK_VIRTIO_NET_HDR_F_DATA_VALID; /* only for received frames */
  assert_int_equal(vmk_virtio_net_parse_tx_hdr(b, tso, &h, why, sizeof(why)),
                   -EINVAL);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_features_and_config),
      T(test_tx),
      T(test_tx_full_mtu_frame),
      T(test_tx_runt_dropped),
      T(test_tx_csum_completed),
      T(test_tx_csum_outside_frame),
      cmocka_unit_test_setup_teardown(test_tx_csum_not_negotiated,
                                      setup_no_csum, teardown),
      cmocka_unit_test_setup_teardown(test_tx_tso4_whole, setup_offload,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_tx_tso4_not_tcp, setup_offload,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_tx_tso4_without_csum, setup_offload,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rx_data_valid, setup_offload,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_offload_features, setup_offload,
                                      teardown),
      T(test_tx_unknown_flag),
      T(test_tx_gso),
      T(test_tx_short_header),
      T(test_tx_oversize),
      T(test_tx_writable_segment),
      T(test_tx_bad_head),
      T(test_rx_backpressure),
      T(test_rx_too_big_for_mtu_dropped),
      T(test_rx_small_buffer),
      T(test_rx_readable_segment),
      T(test_reply_during_tx),
      cmocka_unit_test(test_bad_mtu),
      cmocka_unit_test(test_parse_tx_hdr),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
