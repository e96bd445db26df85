/* test_net_socket.c — the stream-socket network backend against a real
 * Unix socket peer (this test): frames both ways with their 4-byte
 * big-endian lengths, frames split across writes, back-pressure (a refused
 * frame is kept and re-offered on rx_ready), a peer that sends a bad
 * length is dropped and a new peer accepted, and two backends wired to each
 * other (listen + connect). Test thread only; the I/O loop is run by hand.
 */
#include <errno.h>
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

#include "backends/net.h"

struct sink {
  unsigned frames;
  uint8_t last[4096];
  size_t last_len;
  bool refuse;
};

static int on_rx(void *opaque, const uint8_t *frame, size_t len) {
  struct sink *s = opaque;
  if (s->refuse)
    return -EAGAIN;
  s->frames++;
  memcpy(s->last, frame, len < sizeof(s->last) ? len : sizeof(s->last));
  s->last_len = len;
  return 0;
}

struct fx {
  char dir[64], path[96];
  struct vmk_io_loop loop;
  struct vmk_net_backend *be;
  struct sink sink;
};

static void run(struct fx *f) {
  for (int i = 0; i < 100; i++)
    if (vmk_io_loop_run_once(&f->loop, 20) <= 0)
      return;
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/vmk-netsock-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path, sizeof(f->path), "%s/s", f->dir);
  vmk_error err;
  assert_int_equal(vmk_io_loop_init(&f->loop, &err), 0);
  if (vmk_net_socket_create(f->path, true, &f->be, &err))
    fail_msg("%s", err.msg);
  f->be->rx = on_rx;
  f->be->rx_opaque = &f->sink;
  assert_int_equal(f->be->ops->start(f->be, &f->loop, &err), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  f->be->ops->stop(f->be);
  vmk_net_backend_free(f->be);
  vmk_io_loop_destroy(&f->loop);
  unlink(f->path);
  rmdir(f->dir);
  free(f);
  return 0;
}

static int peer(struct fx *f) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  run(f); /* accept */
  return fd;
}

static void put_frame(int fd, const uint8_t *p, uint32_t len) {
  uint8_t h[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
                  (uint8_t)(len >> 8), (uint8_t)len};
  assert_int_equal(write(fd, h, 4), 4);
  assert_int_equal(write(fd, p, len), (ssize_t)len);
}

static void test_both_ways(void **state) {
  struct fx *f = *state;
  int fd = peer(f);
  uint8_t frame[60];
  for (int i = 0; i < 60; i++)
    frame[i] = (uint8_t)(i + 1);
  put_frame(fd, frame, 60);
  run(f);
  assert_int_equal(f->sink.frames, 1);
  assert_int_equal(f->sink.last_len, 60);
  assert_memory_equal(f->sink.last, frame, 60);

  assert_int_equal(f->be->ops->send(f->be, frame, 42), 0);
  uint8_t got[46];
  assert_int_equal(recv(fd, got, sizeof(got), MSG_WAITALL), 46);
  assert_int_equal(got[0] | got[1] | got[2], 0);
  assert_int_equal(got[3], 42);
  assert_memory_equal(got + 4, frame, 42);
  close(fd);
}

static void test_split_and_backpressure(void **state) {
  struct fx *f = *state;
  int fd = peer(f);
  uint8_t frame[100];
  memset(frame, 0xab, sizeof(frame));
  f->sink.refuse = true;
  /* Length in two pieces, then the body, then a second frame. */
  uint8_t h[4] = {0, 0, 0, 100};
  assert_int_equal(write(fd, h, 2), 2);
  run(f);
  assert_int_equal(write(fd, h + 2, 2), 2);
  assert_int_equal(write(fd, frame, 100), 100);
  put_frame(fd, frame, 50);
  run(f);
  assert_int_equal(f->sink.frames, 0);
  f->sink.refuse = false;
  f->be->ops->rx_ready(f->be);
  run(f);
  assert_int_equal(f->sink.frames, 2);
  assert_int_equal(f->sink.last_len, 50);
  close(fd);
}

static void test_bad_length_drops_peer(void **state) {
  struct fx *f = *state;
  int fd = peer(f);
  uint8_t bad[4] = {0xff, 0xff, 0xff, 0xff};
  assert_int_equal(write(fd, bad, 4), 4);
  run(f);
  char c;
  assert_int_equal(recv(fd, &c, 1, 0), 0); /* disconnected */
  close(fd);
  /* A new peer is accepted and works. */
  fd = peer(f);
  uint8_t frame[20] = {7};
  put_frame(fd, frame, 20);
  run(f);
  assert_int_equal(f->sink.frames, 1);
  close(fd);
}

static void test_two_backends_wired(void **state) {
  struct fx *f = *state;
  vmk_error err;
  struct vmk_net_backend *b;
  if (vmk_net_socket_create(f->path, false, &b, &err))
    fail_msg("%s", err.msg);
  struct sink other = {0};
  b->rx = on_rx;
  b->rx_opaque = &other;
  assert_int_equal(b->ops->start(b, &f->loop, &err), 0);
  run(f); /* the listener accepts */
  uint8_t frame[64];
  for (int i = 0; i < 64; i++)
    frame[i] = (uint8_t)(0x80 + i);
  b->ops->send(b, frame, 64);
  run(f);
  assert_int_equal(f->sink.frames, 1);
  assert_memory_equal(f->sink.last, frame, 64);
  f->be->ops->send(f->be, frame + 1, 63);
  run(f);
  assert_int_equal(other.frames, 1);
  assert_int_equal(other.last_len, 63);
  b->ops->stop(b);
  vmk_net_backend_free(b);
}

static void test_connect_refused(void **state) {
  (void)state;
  struct vmk_net_backend *b;
  vmk_error err;
  assert_true(vmk_net_socket_create("/nonexistent/vmk.sock", false, &b, &err) <
              0);
  assert_non_null(strstr(err.msg, "cannot connect to socket"));
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_both_ways),
      T(test_split_and_backpressure),
      T(test_bad_length_drops_peer),
      T(test_two_backends_wired),
      cmocka_unit_test(test_connect_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
