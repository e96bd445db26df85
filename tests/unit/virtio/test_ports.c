/* test_ports.c — console ports (virtio-console, multiport) through the fake
 * driver, against real Unix-socket clients: the control handshake
 * (DEVICE_READY, DEVICE_ADD, PORT_READY, PORT_NAME, PORT_OPEN both ways),
 * data both ways on port 0 and port 1 (queues 0/1 and 4/5), a client that
 * leaves and the next one, output without a client, input held until a
 * guest program opens the port, a full socket that leaves the chain in
 * flight, reset, and malformed control messages (ignored, or NEEDS_RESET
 * for one shorter than its header). Test thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/le.h"
#include "base/sbuf.h"
#include "vdrv.h"
#include "virtio/ports.h"

#define CRXQ 2
#define CTXQ 3
#define QS 16
#define CBUF 128

struct fx {
  struct vdrv d;
  char dir[64], path[2][96];
  struct vmk_virtio_device *dev;
  uint64_t gpa[VMK_VIRTIO_MAX_QUEUES][QS]; /* buffer of each head */
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/vmk-ports-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path[0], sizeof(f->path[0]), "%s/agent.sock", f->dir);
  snprintf(f->path[1], sizeof(f->path[1]), "%s/log.sock", f->dir);
  struct vmk_port_spec specs[2] = {{"org.example.agent", f->path[0]},
                                   {"log", f->path[1]}};
  vmk_error err;
  int r = vmk_virtio_ports_create(specs, 2, &f->dev, &err);
  if (r)
    fail_msg("create: %s", err.msg);
  vdrv_open(&f->d, f->dev);
  assert_true(vdrv_setup(&f->d, ~0ull, QS) & VMK_VIRTIO_S_DRIVER_OK);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  vdrv_close(&f->d);
  /* The device removes its socket files. */
  struct stat st;
  assert_int_equal(lstat(f->path[0], &st), -1);
  assert_int_equal(lstat(f->path[1], &st), -1);
  rmdir(f->dir);
  free(f);
  return 0;
}

static uint16_t post(struct fx *f, unsigned q, uint32_t len, bool write) {
  uint64_t a = vdrv_alloc(&f->d, len);
  struct vdrv_seg seg = {a, len, write};
  uint16_t head = vdrv_chain(&f->d, q, &seg, 1);
  f->gpa[q][head] = a;
  return head;
}

static void send_ctrl(struct fx *f, uint32_t id, uint16_t event,
                      uint16_t value) {
  uint16_t head = post(f, CTXQ, 8, false);
  uint8_t *p = vdrv_ptr(&f->d, f->gpa[CTXQ][head]);
  vmk_put_le32(p, id);
  vmk_put_le16(p + 4, event);
  vmk_put_le16(p + 6, value);
  vdrv_kick(&f->d, CTXQ);
}

static void post_ctrl_bufs(struct fx *f, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    post(f, CRXQ, CBUF, true);
  vdrv_kick(&f->d, CRXQ);
}

/* The next control message the device sent; false when none. */
static bool take_ctrl(struct fx *f, struct vmk_ports_ctrl *m, char *name) {
  uint16_t id;
  uint32_t len;
  vdrv_run(&f->d);
  if (!vdrv_used(&f->d, CRXQ, &id, &len))
    return false;
  assert_true(len >= 8 && len <= CBUF);
  const uint8_t *p = vdrv_ptr(&f->d, f->gpa[CRXQ][id]);
  m->id = vmk_le32(p);
  m->event = vmk_le16(p + 4);
  m->value = vmk_le16(p + 6);
  if (name) {
    memcpy(name, p + 8, len - 8);
    name[len - 8] = '\0';
  }
  return true;
}

static void expect_ctrl(struct fx *f, uint32_t id, uint16_t event,
                        uint16_t value) {
  struct vmk_ports_ctrl m;
  assert_true(take_ctrl(f, &m, NULL));
  assert_int_equal(m.id, id);
  assert_int_equal(m.event, event);
  assert_int_equal(m.value, value);
}

static void expect_name(struct fx *f, uint32_t id, const char *name) {
  struct vmk_ports_ctrl m;
  char got[CBUF];
  assert_true(take_ctrl(f, &m, got));
  assert_int_equal(m.id, id);
  assert_int_equal(m.event, VMK_PORTS_PORT_NAME);
  assert_string_equal(got, name);
}

static int client(struct fx *f, unsigned port) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path[port]);
  assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
  vdrv_run(&f->d);
  return s;
}

static struct vmk_port_state state_of(struct fx *f, unsigned i) {
  struct vmk_port_state s;
  vmk_virtio_ports_state(f->dev, i, &s);
  return s;
}

/* The Linux driver's bring-up: DEVICE_READY, PORT_READY for each port
 * added, and the names back. */
static void handshake(struct fx *f) {
  post_ctrl_bufs(f, 8);
  send_ctrl(f, 0xffffffffu, VMK_PORTS_DEVICE_READY, 1);
  expect_ctrl(f, 0, VMK_PORTS_DEVICE_ADD, 1);
  expect_ctrl(f, 1, VMK_PORTS_DEVICE_ADD, 1);
  send_ctrl(f, 0, VMK_PORTS_PORT_READY, 1);
  send_ctrl(f, 1, VMK_PORTS_PORT_READY, 1);
  expect_name(f, 0, "org.example.agent");
  expect_name(f, 1, "log");
}

static void test_config(void **state) {
  struct fx *f = *state;
  assert_int_equal(vdrv_read(&f->d, VMK_VIRTIO_MMIO_DEVICE_ID), 3);
  assert_int_equal(vdrv_read(&f->d, VMK_VIRTIO_MMIO_CONFIG + 4), 2);
  assert_int_equal(vmk_virtio_mmio_num_queues(f->d.t), 6);
  vdrv_write(&f->d, VMK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
  assert_true(vdrv_read(&f->d, VMK_VIRTIO_MMIO_DEVICE_FEATURES) &
              (1u << VMK_VIRTIO_CONSOLE_F_MULTIPORT));
}

static void test_handshake_and_open(void **state) {
  struct fx *f = *state;
  handshake(f);
  struct vmk_ports_ctrl m;
  assert_false(take_ctrl(f, &m, NULL)); /* no client: no PORT_OPEN */
  assert_true(state_of(f, 0).ready);
  assert_false(state_of(f, 0).host_connected);
  int s = client(f, 0);
  expect_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);
  assert_true(state_of(f, 0).host_connected);
  assert_false(state_of(f, 1).host_connected);
  close(s);
  vdrv_run(&f->d);
  expect_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 0);
  assert_false(state_of(f, 0).host_connected);
  assert_int_equal(vmk_virtio_ports_ignored(f->dev), 0);
  assert_false(vdrv_needs_reset(&f->d));
}

/* A client connected before the driver is ready is announced after
 * PORT_READY. */
static void test_client_before_driver(void **state) {
  struct fx *f = *state;
  int s = client(f, 1);
  assert_true(state_of(f, 1).host_connected);
  handshake(f);
  expect_ctrl(f, 1, VMK_PORTS_PORT_OPEN, 1);
  close(s);
}

static void test_data_both_ways(void **state) {
  struct fx *f = *state;
  handshake(f);
  for (unsigned port = 0; port < 2; port++) {
    unsigned rq = port == 0 ? 0 : 4, tq = rq + 1;
    int s = client(f, port);
    expect_ctrl(f, port, VMK_PORTS_PORT_OPEN, 1);
    send_ctrl(f, port, VMK_PORTS_PORT_OPEN, 1); /* a guest program opens */
    assert_true(state_of(f, port).guest_open);
    uint16_t rx = post(f, rq, 64, true);
    vdrv_kick(&f->d, rq);
    char msg[32];
    int n = snprintf(msg, sizeof(msg), "to guest port %u", port);
    assert_int_equal(write(s, msg, (size_t)n), n);
    vdrv_run(&f->d);
    uint16_t id;
    uint32_t len;
    assert_true(vdrv_used(&f->d, rq, &id, &len));
    assert_int_equal(id, rx);
    assert_int_equal(len, n);
    assert_memory_equal(vdrv_ptr(&f->d, f->gpa[rq][rx]), msg, (size_t)n);
    /* Guest output, in two segments. */
    uint64_t a = vdrv_alloc(&f->d, 16);
    memcpy(vdrv_ptr(&f->d, a), "hello, host!", 12);
    struct vdrv_seg segs[2] = {{a, 5, false}, {a + 5, 7, false}};
    vdrv_chain(&f->d, tq, segs, 2);
    vdrv_kick(&f->d, tq);
    char buf[32] = {0};
    assert_int_equal(read(s, buf, sizeof(buf)), 12);
    assert_string_equal(buf, "hello, host!");
    assert_true(vdrv_used(&f->d, tq, &id, &len));
    close(s);
  }
}

static void test_reconnect(void **state) {
  struct fx *f = *state;
  handshake(f);
  send_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);
  uint16_t rx = post(f, 0, 16, true);
  vdrv_kick(&f->d, 0);
  for (int round = 0; round < 3; round++) {
    post_ctrl_bufs(f, 2);
    int s = client(f, 0);
    expect_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);
    char msg[8];
    snprintf(msg, sizeof(msg), "round%d", round);
    assert_int_equal(write(s, msg, 6), 6);
    vdrv_run(&f->d);
    uint16_t id;
    uint32_t len;
    assert_true(vdrv_used(&f->d, 0, &id, &len));
    assert_int_equal(id, rx);
    assert_int_equal(len, 6);
    assert_memory_equal(vdrv_ptr(&f->d, f->gpa[0][rx]), msg, 6);
    /* The client leaves while a receive buffer is posted: end of input,
     * the client is dropped and the guest told; the buffer stays for the
     * next client. */
    rx = post(f, 0, 16, true);
    vdrv_kick(&f->d, 0);
    close(s);
    vdrv_run(&f->d);
    expect_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 0);
    assert_false(state_of(f, 0).host_connected);
    assert_int_equal(vdrv_used_idx(&f->d, 0), round + 1);
  }
}

/* A second client waits in the backlog until the first leaves. */
static void test_one_client_at_a_time(void **state) {
  struct fx *f = *state;
  handshake(f);
  send_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);
  int a = client(f, 0);
  expect_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);
  int b = client(f, 0); /* connects (backlog), not served */
  assert_int_equal(write(b, "second", 6), 6);
  uint16_t rx = post(f, 0, 16, true);
  vdrv_kick(&f->d, 0);
  assert_int_equal(vdrv_used_idx(&f->d, 0), 0);
  close(a);
  vdrv_run(&f->d);
  expect_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 0);
  expect_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(&f->d, 0, &id, &len));
  assert_int_equal(id, rx);
  assert_int_equal(len, 6);
  assert_memory_equal(vdrv_ptr(&f->d, f->gpa[0][rx]), "second", 6);
  close(b);
}

static void test_output_without_client(void **state) {
  struct fx *f = *state;
  handshake(f);
  post(f, 1, 100, false);
  post(f, 5, 100, false);
  vdrv_kick(&f->d, 1);
  vdrv_kick(&f->d, 5);
  assert_int_equal(vdrv_used_idx(&f->d, 1), 1); /* discarded */
  assert_int_equal(vdrv_used_idx(&f->d, 5), 1);
}

/* Host input waits in the socket until a guest program opens the port
 * (the driver drops data for a closed port). */
static void test_input_waits_for_open(void **state) {
  struct fx *f = *state;
  handshake(f);
  int s = client(f, 0);
  expect_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);
  post(f, 0, 16, true);
  vdrv_kick(&f->d, 0);
  assert_int_equal(write(s, "early", 5), 5);
  vdrv_run(&f->d);
  assert_int_equal(vdrv_used_idx(&f->d, 0), 0);
  send_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);
  assert_int_equal(vdrv_used_idx(&f->d, 0), 1);
  /* The guest closes: a client that hangs up now is let go at once. */
  send_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 0);
  close(s);
  vdrv_run(&f->d);
  expect_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 0);
  assert_false(state_of(f, 0).host_connected);
}

/* A client that does not read: the chain stays in flight (the vCPU and the
 * I/O thread never block), and completes once the client drains. */
static void test_output_backpressure(void **state) {
  struct fx *f = *state;
  handshake(f);
  int s = client(f, 0);
  int small = 4096;
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  const uint32_t total = 1u << 20;
  uint64_t a = vdrv_alloc(&f->d, total);
  uint8_t *g = vdrv_ptr(&f->d, a);
  for (uint32_t i = 0; i < total; i++)
    g[i] = (uint8_t)(i % 251);
  struct vdrv_seg seg = {a, total, false};
  vdrv_chain(&f->d, 1, &seg, 1);
  vdrv_kick(&f->d, 1); /* returns although the socket is full */
  assert_int_equal(vdrv_used_idx(&f->d, 1), 0);
  uint8_t *got = malloc(total);
  size_t have = 0;
  fcntl(s, F_SETFL, O_NONBLOCK);
  for (int i = 0; i < 100000 && have < total; i++) {
    ssize_t r = read(s, got + have, total - have);
    if (r > 0)
      have += (size_t)r;
    vdrv_run(&f->d);
  }
  assert_int_equal(have, total);
  assert_memory_equal(got, g, total);
  assert_int_equal(vdrv_used_idx(&f->d, 1), 1);
  free(got);
  close(s);
}

/* After a driver reset the ports are announced again, and a client still
 * connected is reported open. */
static void test_reset(void **state) {
  struct fx *f = *state;
  handshake(f);
  int s = client(f, 0);
  expect_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);
  vdrv_write(&f->d, VMK_VIRTIO_MMIO_STATUS, 0);
  assert_false(state_of(f, 0).ready);
  assert_true(state_of(f, 0).host_connected);
  memset(vdrv_ptr(&f->d, VDRV_RING(0)), 0, 6 * 0x4000);
  assert_true(vdrv_setup(&f->d, ~0ull, QS) & VMK_VIRTIO_S_DRIVER_OK);
  post_ctrl_bufs(f, 8);
  send_ctrl(f, 0xffffffffu, VMK_PORTS_DEVICE_READY, 1);
  expect_ctrl(f, 0, VMK_PORTS_DEVICE_ADD, 1);
  expect_ctrl(f, 1, VMK_PORTS_DEVICE_ADD, 1);
  send_ctrl(f, 0, VMK_PORTS_PORT_READY, 1);
  expect_name(f, 0, "org.example.agent");
  expect_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);
  close(s);
}

/* Malformed control messages from the driver: dropped and counted, the
 * device keeps working. */
static void test_ctrl_ignored(void **state) {
  struct fx *f = *state;
  post_ctrl_bufs(f, 8);
  send_ctrl(f, 0, VMK_PORTS_PORT_READY, 1); /* before DEVICE_READY */
  send_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);  /* port not ready */
  assert_int_equal(vmk_virtio_ports_ignored(f->dev), 2);
  assert_false(state_of(f, 0).ready);
  send_ctrl(f, 0, VMK_PORTS_DEVICE_READY, 1);
  expect_ctrl(f, 0, VMK_PORTS_DEVICE_ADD, 1);
  expect_ctrl(f, 1, VMK_PORTS_DEVICE_ADD, 1);
  send_ctrl(f, 2, VMK_PORTS_PORT_READY, 1);          /* id out of range */
  send_ctrl(f, 0xffffffffu, VMK_PORTS_PORT_OPEN, 1); /* id out of range */
  send_ctrl(f, 0, VMK_PORTS_PORT_READY, 2);          /* value not 0/1 */
  send_ctrl(f, 0, VMK_PORTS_DEVICE_ADD, 1);          /* a device event */
  send_ctrl(f, 0, VMK_PORTS_PORT_NAME, 1);
  send_ctrl(f, 0, VMK_PORTS_CONSOLE_PORT, 1); /* never a console here */
  send_ctrl(f, 0, 0xffff, 1);                 /* unknown */
  assert_int_equal(vmk_virtio_ports_ignored(f->dev), 9);
  assert_false(state_of(f, 0).ready);
  assert_false(vdrv_needs_reset(&f->d));
  struct vmk_ports_ctrl m;
  assert_false(take_ctrl(f, &m, NULL)); /* no answers to any of them */
  /* Still working. */
  send_ctrl(f, 0, VMK_PORTS_PORT_READY, 1);
  expect_name(f, 0, "org.example.agent");
  /* PORT_READY 0 (the driver failed to add the port): not ready. */
  send_ctrl(f, 1, VMK_PORTS_PORT_READY, 0);
  assert_false(state_of(f, 1).ready);
  assert_false(take_ctrl(f, &m, NULL));
}

static void test_ctrl_short(void **state) {
  struct fx *f = *state;
  uint16_t head = post(f, CTXQ, 6, false);
  memset(vdrv_ptr(&f->d, f->gpa[CTXQ][head]), 0, 6);
  vdrv_kick(&f->d, CTXQ);
  assert_true(vdrv_needs_reset(&f->d));
}

static void test_ctrl_rx_too_small(void **state) {
  struct fx *f = *state;
  post(f, CRXQ, 4, true);
  vdrv_kick(&f->d, CRXQ);
  send_ctrl(f, 0, VMK_PORTS_DEVICE_READY, 1);
  assert_true(vdrv_needs_reset(&f->d));
}

static void test_rx_not_writable(void **state) {
  struct fx *f = *state;
  handshake(f);
  send_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);
  int s = client(f, 0);
  post(f, 0, 16, false); /* a receive buffer the device cannot write */
  vdrv_kick(&f->d, 0);
  assert_true(vdrv_needs_reset(&f->d));
  close(s);
}

/* accept(2) failing for want of fds: the port stops taking clients rather
 * than spinning the I/O loop on a listener that stays readable (vdrv_run
 * fails when the loop never goes idle). */
static void test_accept_fails(void **state) {
  struct fx *f = *state;
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path[0]);
  assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
  struct rlimit old, low;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
  int probe = dup(0); /* the lowest free fd: none may be left above it */
  assert_true(probe >= 0);
  close(probe);
  low = old;
  low.rlim_cur = (rlim_t)probe;
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
  vdrv_run(&f->d);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
  assert_false(state_of(f, 0).host_connected);
  vdrv_run(&f->d);
  close(s);
}

/* Snapshot: the guest's view of the ports is saved; the restored device
 * tells the guest its client is gone, takes the held receive chain again,
 * and serves a new client. A state that lies is refused. */
static void test_snapshot(void **state) {
  struct fx *f = *state;
  handshake(f);
  send_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);
  int s = client(f, 0);
  expect_ctrl(f, 0, VMK_PORTS_PORT_OPEN, 1);
  uint16_t rx = post(f, 0, 16, true);
  vdrv_kick(&f->d, 0); /* taken and held: no input yet */
  vmk_virtio_mmio_freeze(f->d.t);
  struct vmk_sbuf sb = {0};
  vmk_error err;
  assert_int_equal(vmk_virtio_mmio_save(f->d.t, &sb, &err), 0);
  vmk_virtio_mmio_thaw(f->d.t);

  void *gs;
  setup(&gs);
  struct fx *g = gs;
  memcpy(g->d.ram, f->d.ram, VDRV_RAM_SIZE);
  memcpy(g->d.q, f->d.q, sizeof(g->d.q));
  memcpy(g->gpa, f->gpa, sizeof(g->gpa));
  g->d.data_next = f->d.data_next;
  assert_int_equal(vmk_virtio_mmio_load(g->d.t, sb.p, sb.len, &err), 0);
  vdrv_run(&g->d);
  expect_ctrl(g, 0, VMK_PORTS_PORT_OPEN, 0);
  assert_true(state_of(g, 0).ready);
  assert_true(state_of(g, 0).guest_open);
  assert_true(state_of(g, 1).ready);
  int s2 = client(g, 0);
  expect_ctrl(g, 0, VMK_PORTS_PORT_OPEN, 1);
  assert_int_equal(write(s2, "after", 5), 5);
  vdrv_run(&g->d);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(&g->d, 0, &id, &len));
  assert_int_equal(id, rx);
  assert_int_equal(len, 5);
  assert_memory_equal(vdrv_ptr(&g->d, g->gpa[0][rx]), "after", 5);
  close(s2);

  /* A state whose port count or flags lie is refused. */
  size_t dev_off = sb.len - (4 + 2 * 5); /* the device's part comes last */
  uint8_t *dp = sb.p + dev_off;
  assert_int_equal(vmk_le32(dp), 2);
  dp[4 + 4] = 8; /* pend of port 0: a bit that does not exist */
  assert_int_equal(vmk_virtio_mmio_load(g->d.t, sb.p, sb.len, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "console ports state is malformed"));
  dp[4 + 4] = 0;
  vmk_put_le32(dp, 3);
  assert_int_equal(vmk_virtio_mmio_load(g->d.t, sb.p, sb.len, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "has 3 ports; this VM has 2"));
  vmk_sbuf_free(&sb);
  teardown(&gs);
  close(s);
}

static void test_parse(void **state) {
  (void)state;
  uint8_t b[8];
  struct vmk_ports_ctrl m;
  vmk_put_le32(b, 3);
  vmk_put_le16(b + 4, VMK_PORTS_PORT_OPEN);
  vmk_put_le16(b + 6, 1);
  assert_int_equal(vmk_ports_ctrl_parse(b, 8, 4, &m), VMK_PORTS_CTRL_OK);
  assert_int_equal(m.id, 3);
  assert_int_equal(vmk_ports_ctrl_parse(b, 8, 3, &m), VMK_PORTS_CTRL_IGNORE);
  assert_int_equal(vmk_ports_ctrl_parse(b, 7, 4, &m), VMK_PORTS_CTRL_BAD);
  assert_int_equal(vmk_ports_ctrl_parse(b, 0, 4, &m), VMK_PORTS_CTRL_BAD);
  vmk_put_le16(b + 4, VMK_PORTS_DEVICE_READY);
  vmk_put_le32(b, 0xffffffffu);
  assert_int_equal(vmk_ports_ctrl_parse(b, 8, 4, &m), VMK_PORTS_CTRL_OK);
  vmk_put_le16(b + 6, 7);
  assert_int_equal(vmk_ports_ctrl_parse(b, 8, 4, &m), VMK_PORTS_CTRL_IGNORE);
  for (uint16_t e = 0; e < 16; e++) {
    vmk_put_le32(b, 0);
    vmk_put_le16(b + 4, e);
    vmk_put_le16(b + 6, 1);
    bool ok = e == VMK_PORTS_DEVICE_READY || e == VMK_PORTS_PORT_READY ||
              e == VMK_PORTS_PORT_OPEN;
    assert_int_equal(vmk_ports_ctrl_parse(b, 8, 1, &m),
                     ok ? VMK_PORTS_CTRL_OK : VMK_PORTS_CTRL_IGNORE);
  }
}

/* Creation errors are sentences: a socket path too long, a live socket. */
static void test_create_errors(void **state) {
  (void)state;
  struct vmk_virtio_device *dev;
  vmk_error err;
  char longp[200];
  memset(longp, 'x', sizeof(longp) - 1);
  longp[0] = '/';
  longp[sizeof(longp) - 1] = '\0';
  struct vmk_port_spec s = {"a", longp};
  assert_int_equal(vmk_virtio_ports_create(&s, 1, &dev, &err), -ENAMETOOLONG);
  assert_non_null(strstr(err.msg, "at most 107 fit"));
  assert_int_equal(vmk_virtio_ports_create(&s, 0, &dev, &err), -EINVAL);
  char dir[] = "/tmp/vmk-ports-XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/p.sock", dir);
  struct vmk_port_spec ok = {"a", path};
  struct vmk_virtio_device *first;
  assert_int_equal(vmk_virtio_ports_create(&ok, 1, &first, &err), 0);
  assert_int_equal(vmk_virtio_ports_create(&ok, 1, &dev, &err), -EADDRINUSE);
  assert_non_null(strstr(err.msg, "in use by another program"));
  vmk_virtio_device_free(first);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_config, setup, teardown),
      cmocka_unit_test_setup_teardown(test_handshake_and_open, setup, teardown),
      cmocka_unit_test_setup_teardown(test_client_before_driver, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_data_both_ways, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_client_at_a_time, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_output_without_client, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_input_waits_for_open, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_output_backpressure, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ctrl_ignored, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ctrl_short, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ctrl_rx_too_small, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rx_not_writable, setup, teardown),
      cmocka_unit_test_setup_teardown(test_accept_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_create_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
