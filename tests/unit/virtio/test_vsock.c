/* test_vsock.c — virtio-vsock against real host Unix sockets, driven by the
 * fake driver (vdrv): connections both ways with Firecracker's handshake,
 * data and credit both ways, refusals, malformed packets (RST or
 * NEEDS_RESET), and the memory bound against a guest that floods a
 * connection whose host peer never reads or lies about its credit, or opens
 * more connections than allowed. Test thread only. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/vsock_unix.h"
#include "base/le.h"
#include "vdrv.h"
#include "virtio/vsock.h"

#define RXQ 0
#define TXQ 1
#define QS 16
#define RXBUF (VMK_VSOCK_HDR_LEN + 4096)
#define TXBUF (VMK_VSOCK_HDR_LEN + 65536)
#define CID 7
#define HOST 2

struct fx {
  struct vdrv d;
  struct vmk_virtio_device *dev;
  char dir[64], path[96];
  uint64_t rxbuf[QS], txbuf;
  unsigned rx_posted;
  int listeners[4];
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/vmk-vsock-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path, sizeof(f->path), "%s/v.sock", f->dir);
  vmk_error err;
  int r = vmk_virtio_vsock_create(f->path, CID, &f->dev, &err);
  if (r)
    fail_msg("create: %s", err.msg);
  vdrv_open(&f->d, f->dev);
  assert_true(vdrv_setup(&f->d, ~0ull, QS) & VMK_VIRTIO_S_DRIVER_OK);
  for (unsigned i = 0; i < QS; i++)
    f->rxbuf[i] = vdrv_alloc(&f->d, RXBUF);
  f->txbuf = vdrv_alloc(&f->d, TXBUF);
  for (int i = 0; i < 4; i++)
    f->listeners[i] = -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  vdrv_close(&f->d);
  char p[128];
  for (int i = 0; i < 4; i++)
    if (f->listeners[i] >= 0)
      close(f->listeners[i]);
  for (unsigned port = 1000; port < 1004; port++) {
    snprintf(p, sizeof(p), "%s_%u", f->path, port);
    unlink(p);
  }
  /* The device removed its own socket; the folder must now be empty. */
  assert_int_equal(rmdir(f->dir), 0);
  free(f);
  return 0;
}

static struct vmk_vsock_hdr hdr(uint32_t src_port, uint32_t dst_port,
                                uint16_t op) {
  return (struct vmk_vsock_hdr){.src_cid = CID,
                                .dst_cid = HOST,
                                .src_port = src_port,
                                .dst_port = dst_port,
                                .type = VMK_VSOCK_TYPE_STREAM,
                                .op = op,
                                .buf_alloc = 1u << 20};
}

/* Posts n receive buffers. */
static void post_rx(struct fx *f, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    struct vdrv_seg s = {f->rxbuf[f->rx_posted++ % QS], RXBUF, true};
    vdrv_chain(&f->d, RXQ, &s, 1);
  }
  vdrv_kick(&f->d, RXQ);
}

/* The next packet the device delivered, or false. */
static bool take_rx(struct fx *f, struct vmk_vsock_hdr *h, void *data,
                    size_t cap) {
  uint16_t id;
  uint32_t len;
  if (!vdrv_used(&f->d, RXQ, &id, &len))
    return false;
  uint64_t gpa = vmk_le64(vdrv_ptr(&f->d, VDRV_RING(RXQ) + 16ull * id));
  const uint8_t *p = vdrv_ptr(&f->d, gpa);
  vmk_vsock_hdr_decode(p, h);
  assert_int_equal(len, VMK_VSOCK_HDR_LEN + h->len);
  assert_true(h->len <= cap);
  if (data)
    memcpy(data, p + VMK_VSOCK_HDR_LEN, h->len);
  assert_int_equal(h->src_cid, HOST);
  assert_int_equal(h->dst_cid, CID);
  assert_int_equal(h->type, VMK_VSOCK_TYPE_STREAM);
  return true;
}

/* Sends one packet on the transmit queue (raw header bytes, chain length
 * chain_len) and runs the device. */
static void send_raw(struct fx *f, const uint8_t *bytes, uint32_t chain_len) {
  memcpy(vdrv_ptr(&f->d, f->txbuf), bytes, chain_len);
  struct vdrv_seg s = {f->txbuf, chain_len, false};
  vdrv_chain(&f->d, TXQ, &s, 1);
  vdrv_kick(&f->d, TXQ);
}

static void send_pkt(struct fx *f, struct vmk_vsock_hdr h, const void *data) {
  uint8_t *p = vdrv_ptr(&f->d, f->txbuf);
  vmk_vsock_hdr_encode(&h, p);
  if (h.len && data)
    memcpy(p + VMK_VSOCK_HDR_LEN, data, h.len);
  struct vdrv_seg s = {f->txbuf, VMK_VSOCK_HDR_LEN + h.len, false};
  vdrv_chain(&f->d, TXQ, &s, 1);
  vdrv_kick(&f->d, TXQ);
}

static int host_listen(struct fx *f, unsigned port) {
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", f->path, port);
  assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(l, 512), 0);
  f->listeners[port - 1000] = l;
  return l;
}

static int host_connect(struct fx *f) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
  assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
  return s;
}

static void expect_op(struct fx *f, uint16_t op, uint32_t host_port,
                      uint32_t guest_port) {
  struct vmk_vsock_hdr h;
  assert_true(take_rx(f, &h, NULL, 0));
  assert_int_equal(h.op, op);
  assert_int_equal(h.src_port, host_port);
  assert_int_equal(h.dst_port, guest_port);
}

/* Guest connects to host port 1000; returns the accepted host socket. */
static int guest_connect(struct fx *f, int l, uint32_t guest_port) {
  post_rx(f, 1);
  send_pkt(f, hdr(guest_port, 1000, VMK_VSOCK_OP_REQUEST), NULL);
  struct vmk_vsock_hdr h;
  assert_true(take_rx(f, &h, NULL, 0));
  assert_int_equal(h.op, VMK_VSOCK_OP_RESPONSE);
  assert_int_equal(h.src_port, 1000);
  assert_int_equal(h.dst_port, guest_port);
  assert_int_equal(h.buf_alloc, VMK_VSOCK_CONN_BUF);
  int s = accept(l, NULL, NULL);
  assert_true(s >= 0);
  return s;
}

/* Driver reset and bring-up again, with fresh rings. */
static void resetup(struct fx *f) {
  vdrv_write(&f->d, VMK_VIRTIO_MMIO_STATUS, 0);
  for (unsigned q = 0; q < 3; q++)
    memset(vdrv_ptr(&f->d, VDRV_RING(q)), 0, 0x3000);
  f->rx_posted = 0;
  assert_true(vdrv_setup(&f->d, ~0ull, QS) & VMK_VIRTIO_S_DRIVER_OK);
}

static void test_config(void **state) {
  struct fx *f = *state;
  assert_int_equal(vdrv_read(&f->d, VMK_VIRTIO_MMIO_DEVICE_ID), 19);
  assert_int_equal(vdrv_read(&f->d, VMK_VIRTIO_MMIO_CONFIG), CID);
  assert_int_equal(vdrv_read(&f->d, VMK_VIRTIO_MMIO_CONFIG + 4), 0);
  assert_int_equal(vmk_virtio_mmio_num_queues(f->d.t), 3);
}

static void test_guest_to_host(void **state) {
  struct fx *f = *state;
  int l = host_listen(f, 1000);
  int s = guest_connect(f, l, 5555);
  send_pkt(f, ({
             struct vmk_vsock_hdr h = hdr(5555, 1000, VMK_VSOCK_OP_RW);
             h.len = 5;
             h;
           }),
           "hello");
  char buf[64];
  assert_int_equal(read(s, buf, sizeof(buf)), 5);
  assert_memory_equal(buf, "hello", 5);
  /* Host -> guest, within the guest's credit (1 MiB). */
  assert_int_equal(write(s, "world!", 6), 6);
  post_rx(f, 1);
  struct vmk_vsock_hdr h;
  assert_true(take_rx(f, &h, buf, sizeof(buf)));
  assert_int_equal(h.op, VMK_VSOCK_OP_RW);
  assert_int_equal(h.len, 6);
  assert_memory_equal(buf, "world!", 6);
  assert_int_equal(h.fwd_cnt, 5); /* the 5 bytes reached the host */
  /* Host half-close: the guest is told the host will send no more. */
  shutdown(s, SHUT_WR);
  post_rx(f, 1);
  assert_true(take_rx(f, &h, NULL, 0));
  assert_int_equal(h.op, VMK_VSOCK_OP_SHUTDOWN);
  assert_int_equal(h.flags, VMK_VSOCK_SHUTDOWN_SEND);
  /* Guest closes: SHUTDOWN both ways -> host EOF, RST to the guest. */
  struct vmk_vsock_hdr sd = hdr(5555, 1000, VMK_VSOCK_OP_SHUTDOWN);
  sd.flags = 3;
  send_pkt(f, sd, NULL);
  assert_int_equal(read(s, buf, sizeof(buf)), 0);
  post_rx(f, 1);
  expect_op(f, VMK_VSOCK_OP_RST, 1000, 5555);
  struct vmk_vsock_stats st;
  vmk_virtio_vsock_stats(f->dev, &st);
  assert_int_equal(st.conns, 0);
  close(s);
}

static void test_guest_rst_closes_host(void **state) {
  struct fx *f = *state;
  int l = host_listen(f, 1000);
  int s = guest_connect(f, l, 77);
  send_pkt(f, hdr(77, 1000, VMK_VSOCK_OP_RST), NULL);
  char c;
  assert_int_equal(read(s, &c, 1), 0);
  close(s);
}

static void test_refused(void **state) {
  struct fx *f = *state;
  post_rx(f, 1);
  send_pkt(f, hdr(4000, 1001, VMK_VSOCK_OP_REQUEST), NULL); /* no listener */
  expect_op(f, VMK_VSOCK_OP_RST, 1001, 4000);
  assert_false(vdrv_needs_reset(&f->d));
}

static void test_host_to_guest(void **state) {
  struct fx *f = *state;
  int s = host_connect(f);
  assert_int_equal(write(s, "CONNECT 52\n", 11), 11);
  post_rx(f, 1);
  vdrv_run(&f->d);
  struct vmk_vsock_hdr h;
  assert_true(take_rx(f, &h, NULL, 0));
  assert_int_equal(h.op, VMK_VSOCK_OP_REQUEST);
  assert_int_equal(h.dst_port, 52);
  uint32_t hp = h.src_port;
  struct vmk_vsock_hdr rsp = hdr(52, hp, VMK_VSOCK_OP_RESPONSE);
  rsp.buf_alloc = 10; /* a small credit: host data must respect it */
  send_pkt(f, rsp, NULL);
  char buf[64] = {0}, want[32];
  snprintf(want, sizeof(want), "OK %u\n", hp);
  assert_int_equal(read(s, buf, strlen(want)), (ssize_t)strlen(want));
  assert_string_equal(buf, want);
  assert_int_equal(write(s, "0123456789abcdef", 16), 16);
  post_rx(f, 2);
  vdrv_run(&f->d);
  assert_true(take_rx(f, &h, buf, sizeof(buf)));
  assert_int_equal(h.op, VMK_VSOCK_OP_RW);
  assert_int_equal(h.len, 10);
  assert_memory_equal(buf, "0123456789", 10);
  /* Out of credit: the device asks for more, and sends nothing else. */
  assert_true(take_rx(f, &h, NULL, 0));
  assert_int_equal(h.op, VMK_VSOCK_OP_CREDIT_REQUEST);
  assert_false(take_rx(f, &h, NULL, 0));
  struct vmk_vsock_hdr cu = hdr(52, hp, VMK_VSOCK_OP_CREDIT_UPDATE);
  cu.buf_alloc = 10;
  cu.fwd_cnt = 10;
  send_pkt(f, cu, NULL);
  post_rx(f, 1);
  assert_true(take_rx(f, &h, buf, sizeof(buf)));
  assert_int_equal(h.op, VMK_VSOCK_OP_RW);
  assert_int_equal(h.len, 6);
  assert_memory_equal(buf, "abcdef", 6);
  close(s); /* the guest hears the host will send no more */
  post_rx(f, 1);
  assert_true(take_rx(f, &h, NULL, 0));
  assert_int_equal(h.op, VMK_VSOCK_OP_SHUTDOWN);
  assert_int_equal(h.src_port, hp);
  /* A second host connection that the guest refuses: closed, no OK. */
  s = host_connect(f);
  assert_int_equal(write(s, "CONNECT 53\n", 11), 11);
  post_rx(f, 1);
  vdrv_run(&f->d);
  assert_true(take_rx(f, &h, NULL, 0));
  assert_int_equal(h.op, VMK_VSOCK_OP_REQUEST);
  send_pkt(f, hdr(53, h.src_port, VMK_VSOCK_OP_RST), NULL);
  assert_int_equal(read(s, buf, sizeof(buf)), 0);
  close(s);
  /* A bad handshake line: closed, nothing sent to the guest. */
  s = host_connect(f);
  assert_int_equal(write(s, "CONNECT x\n", 10), 10);
  post_rx(f, 1);
  vdrv_run(&f->d);
  ssize_t n = read(s, buf, sizeof(buf));
  assert_true(n <= 0);
  assert_false(take_rx(f, &h, NULL, 0));
  close(s);
}

static void test_parse_connect(void **state) {
  (void)state;
  uint32_t port = 0;
  assert_int_equal(vmk_vsock_unix_parse_connect("CONNECT 1234\n", 13, &port),
                   13);
  assert_int_equal(port, 1234);
  assert_int_equal(
      vmk_vsock_unix_parse_connect("CONNECT 4294967295\r\n", 20, &port), 20);
  assert_int_equal(port, 4294967295u);
  assert_int_equal(vmk_vsock_unix_parse_connect("CONN", 4, &port), 0);
  assert_int_equal(vmk_vsock_unix_parse_connect("CONNECT 12", 10, &port), 0);
  assert_int_equal(
      vmk_vsock_unix_parse_connect("CONNECT 4294967296\n", 19, &port), -EINVAL);
  assert_int_equal(vmk_vsock_unix_parse_connect("CONNECT \n", 9, &port),
                   -EINVAL);
  assert_int_equal(vmk_vsock_unix_parse_connect("connect 1\n", 10, &port),
                   -EINVAL);
  assert_int_equal(vmk_vsock_unix_parse_connect("CONNECT -1\n", 11, &port),
                   -EINVAL);
}

/* Each malformed packet: the verdict the spec allows. */
static void test_malformed_rst(void **state) {
  struct fx *f = *state;
  struct vmk_vsock_hdr h;
  post_rx(f, 8);
  h = hdr(1, 1000, VMK_VSOCK_OP_REQUEST);
  h.dst_cid = 9; /* not the host */
  send_pkt(f, h, NULL);
  expect_op(f, VMK_VSOCK_OP_RST, 1000, 1);
  h = hdr(2, 1000, VMK_VSOCK_OP_REQUEST);
  h.src_cid = 3; /* not the guest's CID */
  send_pkt(f, h, NULL);
  expect_op(f, VMK_VSOCK_OP_RST, 1000, 2);
  h = hdr(3, 1000, VMK_VSOCK_OP_REQUEST);
  h.type = 2; /* SEQPACKET was not offered */
  send_pkt(f, h, NULL);
  expect_op(f, VMK_VSOCK_OP_RST, 1000, 3);
  send_pkt(f, hdr(4, 1000, 99), NULL); /* unknown op */
  expect_op(f, VMK_VSOCK_OP_RST, 1000, 4);
  send_pkt(f, hdr(5, 1000, VMK_VSOCK_OP_INVALID), NULL);
  expect_op(f, VMK_VSOCK_OP_RST, 1000, 5);
  h = hdr(6, 1000, VMK_VSOCK_OP_CREDIT_REQUEST);
  h.len = 4; /* data on a control packet */
  send_pkt(f, h, "abcd");
  expect_op(f, VMK_VSOCK_OP_RST, 1000, 6);
  h = hdr(7, 1000, VMK_VSOCK_OP_RW); /* data for no connection */
  h.len = 1;
  send_pkt(f, h, "x");
  expect_op(f, VMK_VSOCK_OP_RST, 1000, 7);
  h = hdr(8, 1000, VMK_VSOCK_OP_SHUTDOWN);
  h.flags = 4; /* reserved flag */
  send_pkt(f, h, NULL);
  expect_op(f, VMK_VSOCK_OP_RST, 1000, 8);
  /* A RST is never answered, even a bad one. */
  send_pkt(f, hdr(9, 1000, VMK_VSOCK_OP_RST), NULL);
  h = hdr(10, 1000, VMK_VSOCK_OP_RST);
  h.dst_cid = 77;
  send_pkt(f, h, NULL);
  assert_false(take_rx(f, &h, NULL, 0));
  assert_false(vdrv_needs_reset(&f->d));
  /* Every transmit chain was returned. */
  assert_int_equal(vdrv_used_idx(&f->d, TXQ), 10);
}

static void test_short_header_needs_reset(void **state) {
  struct fx *f = *state;
  uint8_t b[VMK_VSOCK_HDR_LEN] = {0};
  send_raw(f, b, VMK_VSOCK_HDR_LEN - 1);
  assert_true(vdrv_needs_reset(&f->d));
}

static void test_len_beyond_buffer_needs_reset(void **state) {
  struct fx *f = *state;
  struct vmk_vsock_hdr h = hdr(1, 1000, VMK_VSOCK_OP_RW);
  h.len = 100; /* the chain holds only the header */
  uint8_t b[VMK_VSOCK_HDR_LEN];
  vmk_vsock_hdr_encode(&h, b);
  send_raw(f, b, sizeof(b));
  assert_true(vdrv_needs_reset(&f->d));
  /* A reset brings the device back. */
  resetup(f);
  assert_false(vdrv_needs_reset(&f->d));
  post_rx(f, 1);
  send_pkt(f, hdr(1, 1001, VMK_VSOCK_OP_REQUEST), NULL);
  expect_op(f, VMK_VSOCK_OP_RST, 1001, 1);
}

static void test_small_rx_buffer_needs_reset(void **state) {
  struct fx *f = *state;
  struct vdrv_seg s = {f->rxbuf[0], VMK_VSOCK_HDR_LEN - 4, true};
  vdrv_chain(&f->d, RXQ, &s, 1);
  send_pkt(f, hdr(1, 1001, VMK_VSOCK_OP_REQUEST), NULL); /* owes a RST */
  vdrv_kick(&f->d, RXQ);
  assert_true(vdrv_needs_reset(&f->d));
}

/* A host peer that never reads: an honest guest fills exactly the credit
 * it was given (the bytes are held, up to VMK_VSOCK_CONN_BUF); one byte
 * more and the connection is reset and its memory dropped. */
static void test_flood_bounded(void **state) {
  struct fx *f = *state;
  int l = host_listen(f, 1000);
  int s = guest_connect(f, l, 9);
  int small = 4096;
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  static uint8_t chunk[65536];
  memset(chunk, 'z', sizeof(chunk));
  /* The device says how much it took (fwd_cnt) in credit updates; follow
   * the credit rules exactly as a driver does. */
  uint32_t sent = 0, fwd = 0;
  struct vmk_vsock_hdr h;
  for (int round = 0; round < 200; round++) {
    uint32_t credit = VMK_VSOCK_CONN_BUF - (sent - fwd);
    if (credit == 0)
      break;
    h = hdr(9, 1000, VMK_VSOCK_OP_RW);
    h.len = credit < sizeof(chunk) ? credit : sizeof(chunk);
    post_rx(f, 1);
    send_pkt(f, h, chunk);
    sent += h.len;
    while (take_rx(f, &h, NULL, 0)) {
      assert_int_equal(h.op, VMK_VSOCK_OP_CREDIT_UPDATE);
      fwd = h.fwd_cnt;
    }
  }
  struct vmk_vsock_stats st;
  vmk_virtio_vsock_stats(f->dev, &st);
  assert_int_equal(st.conns, 1);
  assert_int_equal(sent - fwd, VMK_VSOCK_CONN_BUF); /* credit used up */
  assert_true(st.buffered > 0); /* the host peer took only part */
  assert_true(st.buffered <= VMK_VSOCK_CONN_BUF);
  assert_true(st.buffered_max <= VMK_VSOCK_CONN_BUF);
  assert_true(st.mem_cap <= VMK_VSOCK_CONN_BUF);
  /* The stalled peer blocks nobody: a second connection still works. */
  int s2 = guest_connect(f, l, 10);
  struct vmk_vsock_hdr h2 = hdr(10, 1000, VMK_VSOCK_OP_RW);
  h2.len = 3;
  send_pkt(f, h2, "abc");
  char got[3];
  assert_int_equal(read(s2, got, 3), 3);
  assert_memory_equal(got, "abc", 3);
  close(s2);
  post_rx(f, 1);
  expect_op(f, VMK_VSOCK_OP_SHUTDOWN, 1000, 10);
  /* The lie: one byte more than the room the device has left (the guest
   * had no credit at all). */
  h = hdr(9, 1000, VMK_VSOCK_OP_RW);
  h.len = (uint32_t)(VMK_VSOCK_CONN_BUF - st.buffered) + 1;
  assert_true(h.len <= sizeof(chunk));
  post_rx(f, 1);
  send_pkt(f, h, chunk);
  expect_op(f, VMK_VSOCK_OP_RST, 1000, 9);
  vmk_virtio_vsock_stats(f->dev, &st);
  assert_int_equal(st.conns, 1); /* only the second one is left */
  assert_int_equal(st.buffered, 0);
  assert_true(st.buffered_max <= VMK_VSOCK_CONN_BUF);
  assert_false(vdrv_needs_reset(&f->d));
  /* The host peer sees what was delivered, then the end. */
  close(s);
}

/* More connections than VMK_VSOCK_MAX_CONNS: the extra ones are refused
 * with a RST and no host socket is made for them. */
static void test_max_conns(void **state) {
  struct fx *f = *state;
  int l = host_listen(f, 1000);
  static int hs[VMK_VSOCK_MAX_CONNS];
  for (uint32_t i = 0; i < VMK_VSOCK_MAX_CONNS; i++) {
    post_rx(f, 1);
    send_pkt(f, hdr(20000 + i, 1000, VMK_VSOCK_OP_REQUEST), NULL);
    expect_op(f, VMK_VSOCK_OP_RESPONSE, 1000, 20000 + i);
    hs[i] = accept(l, NULL, NULL);
    assert_true(hs[i] >= 0);
  }
  struct vmk_vsock_stats st;
  vmk_virtio_vsock_stats(f->dev, &st);
  assert_int_equal(st.conns, VMK_VSOCK_MAX_CONNS);
  post_rx(f, 1);
  send_pkt(f, hdr(30000, 1000, VMK_VSOCK_OP_REQUEST), NULL);
  expect_op(f, VMK_VSOCK_OP_RST, 1000, 30000);
  assert_true(accept(l, NULL, NULL) < 0); /* nothing reached the host */
  vmk_virtio_vsock_stats(f->dev, &st);
  assert_int_equal(st.conns, VMK_VSOCK_MAX_CONNS);
  /* A device reset closes them all: every host peer sees EOF. */
  resetup(f);
  vmk_virtio_vsock_stats(f->dev, &st);
  assert_int_equal(st.conns, 0);
  for (unsigned i = 0; i < VMK_VSOCK_MAX_CONNS; i++) {
    char c;
    assert_int_equal(read(hs[i], &c, 1), 0);
    close(hs[i]);
  }
}

static void test_bad_cid(void **state) {
  (void)state;
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(vmk_virtio_vsock_create("/tmp/x.sock", 2, &dev, &err),
                   -EINVAL);
  assert_int_equal(
      vmk_virtio_vsock_create("/tmp/x.sock", 0xffffffffull, &dev, &err),
      -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_config, setup, teardown),
      cmocka_unit_test_setup_teardown(test_guest_to_host, setup, teardown),
      cmocka_unit_test_setup_teardown(test_guest_rst_closes_host, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_host_to_guest, setup, teardown),
      cmocka_unit_test(test_parse_connect),
      cmocka_unit_test_setup_teardown(test_malformed_rst, setup, teardown),
      cmocka_unit_test_setup_teardown(test_short_header_needs_reset, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_len_beyond_buffer_needs_reset, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_small_rx_buffer_needs_reset, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flood_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_max_conns, setup, teardown),
      cmocka_unit_test(test_bad_cid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
