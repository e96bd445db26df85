/* test_rng.c — virtio-rng fills device-writable buffers with host random
 * bytes and reports how many it wrote. Test thread only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vdrv.h"
#include "virtio/rng.h"

static int setup(void **state) {
  static struct vdrv d;
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(vmk_virtio_rng_create(&dev, &err), 0);
  vdrv_open(&d, dev);
  assert_true(vdrv_setup(&d, ~0ull, 16) & VMK_VIRTIO_S_DRIVER_OK);
  *state = &d;
  return 0;
}

static int teardown(void **state) {
  vdrv_close(*state);
  return 0;
}

static unsigned zero_bytes(const uint8_t *p, size_t n) {
  unsigned z = 0;
  for (size_t i = 0; i < n; i++)
    z += p[i] == 0;
  return z;
}

static void test_fills(void **state) {
  struct vdrv *d = *state;
  uint64_t a = vdrv_alloc(d, 256), b = vdrv_alloc(d, 256);
  struct vdrv_seg segs[] = {{a, 256, true}, {b, 256, true}};
  uint16_t head = vdrv_chain(d, 0, segs, 2);
  vdrv_kick(d, 0);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, 0, &id, &len));
  assert_int_equal(id, head);
  assert_int_equal(len, 512);
  /* 256 random bytes hold about one zero; 64 zeros would be absurd. */
  assert_true(zero_bytes(vdrv_ptr(d, a), 256) < 64);
  assert_true(zero_bytes(vdrv_ptr(d, b), 256) < 64);
  assert_memory_not_equal(vdrv_ptr(d, a), vdrv_ptr(d, b), 256);
  assert_true(d->irq.level);
}

static void test_readable_only(void **state) {
  struct vdrv *d = *state;
  uint64_t a = vdrv_alloc(d, 64);
  struct vdrv_seg seg = {a, 64, false};
  vdrv_chain(d, 0, &seg, 1);
  vdrv_kick(d, 0);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, 0, &id, &len));
  assert_int_equal(len, 0);
  assert_int_equal(zero_bytes(vdrv_ptr(d, a), 64), 64); /* untouched */
}

static void test_large_request_capped(void **state) {
  struct vdrv *d = *state;
  uint64_t a = vdrv_alloc(d, 200000);
  struct vdrv_seg seg = {a, 200000, true};
  vdrv_chain(d, 0, &seg, 1);
  vdrv_kick(d, 0);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, 0, &id, &len));
  assert_int_equal(len, 65536);
  uint8_t *p = vdrv_ptr(d, a);
  assert_int_equal(zero_bytes(p + 65536, 200000 - 65536), 200000 - 65536);
}

static void test_many_requests(void **state) {
  struct vdrv *d = *state;
  for (int round = 0; round < 5; round++) {
    for (int i = 0; i < 16; i++) {
      struct vdrv_seg seg = {vdrv_alloc(d, 16), 16, true};
      vdrv_chain(d, 0, &seg, 1);
    }
    vdrv_kick(d, 0);
  }
  assert_int_equal(vdrv_used_idx(d, 0), 80);
}

/* The transport counts what the control API reports per device. */
static void test_counters(void **state) {
  struct vdrv *d = *state;
  struct vmk_virtio_counters c;
  vmk_virtio_mmio_counters(d->t, &c);
  assert_int_equal(c.requests, 0);
  assert_int_equal(c.bytes_in, 0);
  struct vdrv_seg w = {vdrv_alloc(d, 256), 256, true};
  struct vdrv_seg r = {vdrv_alloc(d, 64), 64, false};
  vdrv_chain(d, 0, &w, 1);
  vdrv_chain(d, 0, &r, 1);
  vdrv_kick(d, 0);
  assert_int_equal(vdrv_used_idx(d, 0), 2);
  vmk_virtio_mmio_counters(d->t, &c);
  assert_int_equal(c.requests, 2);
  assert_int_equal(c.bytes_out, 64);
  assert_int_equal(c.bytes_in, 256);
  assert_true(c.notifies >= 1);
  assert_true(c.interrupts >= 1);
  assert_int_equal(c.errors, 0);
  /* a chain pointing outside RAM: one error, the device needs a reset */
  struct vdrv_seg bad = {1ull << 40, 16, true};
  vdrv_chain(d, 0, &bad, 1);
  vdrv_kick(d, 0);
  assert_true(vdrv_needs_reset(d));
  vmk_virtio_mmio_counters(d->t, &c);
  assert_int_equal(c.errors, 1);
  assert_int_equal(c.requests, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_fills),
      T(test_readable_only),
      T(test_large_request_capped),
      T(test_many_requests),
      T(test_counters),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
