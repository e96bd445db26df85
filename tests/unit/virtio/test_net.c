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

static int setup_mtu(void **state, unsigned mtu) {
  struct fx *f = calloc(1, sizeof(*f));
  f->fake.be.ops = &fake_ops;
  struct vmk_virtio_device *dev;
  vmk_error err;
  if (vmk_virtio_net_create(&f->fake.be, MAC, mtu, &dev, &err))
    fail_msg("%s", err.msg);
  vdrv_open(&f->d, dev);
  assert_int_equal(f->fake.started, 1);
  assert_true(vdrv_setup(&f->d, F_ALL, VDRV_QSIZE) & VMK_VIRTIO_S_DRIVER_OK);
  *state = f;
  return 0;
}
static int setup(void **state) { return setup_mtu(state, 1500); }

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
  /* No offload the backends cannot honour: CSUM, GUEST_CSUM, the GSO
   * bits 6..14, MRG_RXBUF (15), CTRL_VQ (17). */
  assert_int_equal(offered & 0x2ffffull & ~want, 0);
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

static void test_tx_csum_flag(void **state) {
  struct fx *f = *state;
  uint8_t hdr[HDR] = {VMK_VIRTIO_NET_HDR_F_NEEDS_CSUM};
  tx_chain(f, hdr, 60);
  expect_tx_reset(f);
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
  uint8_t h[HDR] = {0};
  assert_int_equal(vmk_virtio_net_parse_tx_hdr(h, why, sizeof(why)), 0);
  /* Fields that mean nothing without offloads are ignored. */
  memset(h + 2, 0xff, HDR - 2);
  assert_int_equal(vmk_virtio_net_parse_tx_hdr(h, why, sizeof(why)), 0);
  h[1] = 0x80; /* GSO_ECN */
  assert_int_equal(vmk_virtio_net_parse_tx_hdr(h, why, sizeof(why)), -EINVAL);
  assert_non_null(strstr(why, "segmentation"));
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_features_and_config),
      T(test_tx),
      T(test_tx_full_mtu_frame),
      T(test_tx_runt_dropped),
      T(test_tx_csum_flag),
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
