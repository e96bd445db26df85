/* test_console.c — virtio-console through pipes: guest output reaches
 * out_fd in order, also when the pipe is full for a while; host input
 * reaches the guest's receive buffers, also when it arrives before them;
 * a vanished reader or writer does not hurt. Test thread only. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vdrv.h"
#include "virtio/console.h"

#define RXQ 0
#define TXQ 1

struct fx {
  struct vdrv d;
  int in[2], out[2]; /* pipes: we write in[1], read out[0] */
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  assert_int_equal(pipe(f->in), 0);
  assert_int_equal(pipe(f->out), 0);
  fcntl(f->out[0], F_SETFL, O_NONBLOCK); /* our reads must not hang */
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(vmk_virtio_console_create(f->in[0], f->out[1], &dev, &err),
                   0);
  vdrv_open(&f->d, dev);
  assert_true(vdrv_setup(&f->d, ~0ull, 16) & VMK_VIRTIO_S_DRIVER_OK);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  vdrv_close(&f->d);
  for (int i = 0; i < 2; i++) {
    if (f->in[i] >= 0)
      close(f->in[i]);
    if (f->out[i] >= 0)
      close(f->out[i]);
  }
  free(f);
  return 0;
}

static uint16_t send_out(struct fx *f, const char *s) {
  size_t n = strlen(s), half = n / 2;
  uint64_t a = vdrv_alloc(&f->d, (uint32_t)n);
  memcpy(vdrv_ptr(&f->d, a), s, n);
  struct vdrv_seg segs[] = {{a, (uint32_t)half, false},
                            {a + half, (uint32_t)(n - half), false}};
  return vdrv_chain(&f->d, TXQ, segs, 2);
}

static void test_output(void **state) {
  struct fx *f = *state;
  uint16_t head = send_out(f, "hello, ");
  send_out(f, "world\n");
  vdrv_kick(&f->d, TXQ);
  char buf[64] = {0};
  assert_int_equal(read(f->out[0], buf, sizeof(buf)), 13);
  assert_string_equal(buf, "hello, world\n");
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(&f->d, TXQ, &id, &len));
  assert_int_equal(id, head);
  assert_int_equal(len, 0);
  assert_true(vdrv_used(&f->d, TXQ, &id, &len));
  assert_true(f->d.irq.level);
}

static void test_output_backpressure(void **state) {
  struct fx *f = *state;
  assert_true(fcntl(f->out[1], F_SETPIPE_SZ, 4096) >= 4096);
  int cap = fcntl(f->out[1], F_GETPIPE_SZ);
  /* Fill the pipe completely from the host side. */
  char *junk = malloc((size_t)cap);
  memset(junk, 'j', (size_t)cap);
  fcntl(f->out[1], F_SETFL, O_NONBLOCK);
  assert_int_equal(write(f->out[1], junk, (size_t)cap), cap);
  fcntl(f->out[1], F_SETFL, 0); /* the device sees a blocking fd */
  /* Guest output of 3 * cap bytes with a recognisable pattern. */
  size_t total = 3 * (size_t)cap;
  uint64_t a = vdrv_alloc(&f->d, (uint32_t)total);
  uint8_t *g = vdrv_ptr(&f->d, a);
  for (size_t i = 0; i < total; i++)
    g[i] = (uint8_t)(i % 251);
  struct vdrv_seg seg = {a, (uint32_t)total, false};
  vdrv_chain(&f->d, TXQ, &seg, 1);
  vdrv_kick(&f->d, TXQ); /* must return although the pipe is full */
  assert_int_equal(vdrv_used_idx(&f->d, TXQ), 0); /* still in flight */
  /* Drain while running the loop until everything arrived. */
  uint8_t *got = malloc(total + (size_t)cap);
  size_t have = 0;
  for (int i = 0; i < 1000 && have < total + (size_t)cap; i++) {
    ssize_t r = read(f->out[0], got + have, total + (size_t)cap - have);
    if (r > 0)
      have += (size_t)r;
    vdrv_run(&f->d);
  }
  assert_int_equal(have, total + (size_t)cap);
  assert_memory_equal(got, junk, (size_t)cap);
  for (size_t i = 0; i < total; i++)
    assert_int_equal(got[cap + i], (uint8_t)(i % 251));
  assert_int_equal(vdrv_used_idx(&f->d, TXQ), 1);
  free(junk);
  free(got);
}

static void test_output_reader_gone(void **state) {
  struct fx *f = *state;
  close(f->out[0]);
  f->out[0] = -1;
  send_out(f, "nobody listens");
  vdrv_kick(&f->d, TXQ); /* EPIPE, no SIGPIPE death */
  assert_int_equal(vdrv_used_idx(&f->d, TXQ), 1);
  send_out(f, "still nobody");
  vdrv_kick(&f->d, TXQ);
  assert_int_equal(vdrv_used_idx(&f->d, TXQ), 2);
}

static uint64_t post_rx(struct fx *f, uint32_t len) {
  uint64_t a = vdrv_alloc(&f->d, len);
  struct vdrv_seg seg = {a, len, true};
  vdrv_chain(&f->d, RXQ, &seg, 1);
  return a;
}

static void test_input(void **state) {
  struct fx *f = *state;
  uint64_t a = post_rx(f, 2), b = post_rx(f, 8);
  vdrv_kick(&f->d, RXQ);
  assert_int_equal(vdrv_used_idx(&f->d, RXQ), 0); /* no input yet */
  assert_int_equal(write(f->in[1], "abc", 3), 3);
  vdrv_run(&f->d);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(&f->d, RXQ, &id, &len));
  assert_int_equal(len, 2);
  assert_memory_equal(vdrv_ptr(&f->d, a), "ab", 2);
  assert_true(vdrv_used(&f->d, RXQ, &id, &len));
  assert_int_equal(len, 1);
  assert_memory_equal(vdrv_ptr(&f->d, b), "c", 1);
  assert_true(f->d.irq.level);
}

static void test_input_before_buffers(void **state) {
  struct fx *f = *state;
  assert_int_equal(write(f->in[1], "early", 5), 5);
  vdrv_run(&f->d); /* read and kept: the guest has no buffers */
  uint64_t a = post_rx(f, 16);
  vdrv_kick(&f->d, RXQ);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(&f->d, RXQ, &id, &len));
  assert_int_equal(len, 5);
  assert_memory_equal(vdrv_ptr(&f->d, a), "early", 5);
}

static void test_input_more_than_buffer(void **state) {
  struct fx *f = *state;
  /* 100 KiB of input, more than the device keeps (64 KiB): it must stop
   * reading, then resume when the guest posts buffers, losing nothing. */
  size_t total = 100 * 1024;
  uint8_t *src = malloc(total);
  for (size_t i = 0; i < total; i++)
    src[i] = (uint8_t)(i % 253);
  fcntl(f->in[1], F_SETPIPE_SZ, 1 << 20);
  fcntl(f->in[1], F_SETFL, O_NONBLOCK);
  size_t put = 0;
  uint8_t *dst = malloc(total);
  size_t got = 0;
  for (int round = 0; round < 2000 && got < total; round++) {
    if (put < total) {
      ssize_t w = write(f->in[1], src + put, total - put);
      if (w > 0)
        put += (size_t)w;
    }
    vdrv_run(&f->d);
    if (round < 3)
      continue; /* let the device hit its limit first */
    uint64_t a = post_rx(f, 4096);
    vdrv_kick(&f->d, RXQ);
    uint16_t id;
    uint32_t len;
    while (vdrv_used(&f->d, RXQ, &id, &len)) {
      assert_true(got + len <= total);
      memcpy(dst + got, vdrv_ptr(&f->d, a), len);
      got += len;
    }
  }
  assert_int_equal(got, total);
  assert_memory_equal(dst, src, total);
  free(src);
  free(dst);
}

static void test_input_eof(void **state) {
  struct fx *f = *state;
  close(f->in[1]);
  f->in[1] = -1;
  vdrv_run(&f->d);
  post_rx(f, 8);
  vdrv_kick(&f->d, RXQ);
  assert_int_equal(vdrv_used_idx(&f->d, RXQ), 0);
  assert_false(vdrv_needs_reset(&f->d));
}

static void test_no_fds(void **state) {
  (void)state;
  struct vdrv d;
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(vmk_virtio_console_create(-1, -1, &dev, &err), 0);
  vdrv_open(&d, dev);
  assert_true(vdrv_setup(&d, ~0ull, 16) & VMK_VIRTIO_S_DRIVER_OK);
  uint64_t a = vdrv_alloc(&d, 4);
  struct vdrv_seg seg = {a, 4, false};
  vdrv_chain(&d, TXQ, &seg, 1);
  vdrv_kick(&d, TXQ);
  assert_int_equal(vdrv_used_idx(&d, TXQ), 1); /* discarded, returned */
  vdrv_close(&d);
}

static void test_unpollable_input(void **state) {
  (void)state;
  int fd = open("/dev/null", O_RDONLY);
  struct vdrv d;
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(vmk_virtio_console_create(fd, -1, &dev, &err), 0);
  close(fd);
  vdrv_open(&d, dev); /* /dev/null cannot be polled: no input, no error */
  vdrv_close(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_output),
      T(test_output_backpressure),
      T(test_output_reader_gone),
      T(test_input),
      T(test_input_before_buffers),
      T(test_input_more_than_buffer),
      T(test_input_eof),
      cmocka_unit_test(test_no_fds),
      cmocka_unit_test(test_unpollable_input),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
