/* test_virtqueue.c — split virtqueue walking against malformed guest input:
 * loops, out-of-RAM addresses, oversize lengths, too many descriptors, bad
 * indices, bad indirect tables, bad queue layouts. Each must leave the
 * device in NEEDS_RESET with a config interrupt and no used entry, never
 * crash or hang, and a reset must bring it back. Uses virtio-rng as the
 * simplest device. Test thread only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vdrv.h"
#include "virtio/rng.h"
#include "virtio/virtqueue.h"

#define F_V1 VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1)
#define F_INDIRECT VMK_VIRTIO_BIT(VMK_VIRTIO_F_INDIRECT_DESC)
#define NEXT VMK_VRING_DESC_F_NEXT
#define WRITE VMK_VRING_DESC_F_WRITE
#define INDIRECT VMK_VRING_DESC_F_INDIRECT

static int setup(void **state) {
  static struct vdrv d;
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(vmk_virtio_rng_create(&dev, &err), 0);
  vdrv_open(&d, dev);
  uint32_t s = vdrv_setup(&d, F_V1 | F_INDIRECT, VDRV_QSIZE);
  assert_true(s & VMK_VIRTIO_S_DRIVER_OK);
  *state = &d;
  return 0;
}

static int teardown(void **state) {
  vdrv_close(*state);
  return 0;
}

/* The device refused the chain the way the spec wants. */
static void assert_broken(struct vdrv *d) {
  assert_true(vdrv_needs_reset(d));
  assert_int_equal(vdrv_used_idx(d, 0), 0);
  assert_true(vdrv_read(d, VMK_VIRTIO_MMIO_INTERRUPT_STATUS) &
              VMK_VIRTIO_MMIO_INT_CONFIG);
  assert_true(d->irq.level);
}

/* After a reset and a fresh setup, a good request works again. */
static void assert_recovers(struct vdrv *d) {
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 0);
  assert_int_equal(vdrv_status(d), 0);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_INTERRUPT_STATUS), 0);
  assert_false(d->irq.level);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_SEL, 0);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_QUEUE_READY), 0);
  memset(d->ram, 0, 0x10000); /* the driver reinitialises its rings */
  uint32_t s = vdrv_setup(d, F_V1 | F_INDIRECT, VDRV_QSIZE);
  assert_true(s & VMK_VIRTIO_S_DRIVER_OK);
  assert_false(s & VMK_VIRTIO_S_NEEDS_RESET);
  uint64_t buf = vdrv_alloc(d, 32);
  struct vdrv_seg seg = {buf, 32, true};
  uint16_t head = vdrv_chain(d, 0, &seg, 1);
  vdrv_kick(d, 0);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, 0, &id, &len));
  assert_int_equal(id, head);
  assert_int_equal(len, 32);
}

static void kick_bad(struct vdrv *d) {
  vdrv_kick(d, 0);
  assert_broken(d);
  assert_recovers(d);
}

static void test_good_chain(void **state) {
  struct vdrv *d = *state;
  uint64_t a = vdrv_alloc(d, 64), b = vdrv_alloc(d, 64);
  struct vdrv_seg segs[2] = {{a, 64, true}, {b, 16, true}};
  uint16_t head = vdrv_chain(d, 0, segs, 2);
  unsigned raises = d->irq.raises;
  vdrv_kick(d, 0);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, 0, &id, &len));
  assert_int_equal(id, head);
  assert_int_equal(len, 80);
  assert_int_equal(d->irq.raises, raises + 1);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_INTERRUPT_STATUS),
                   VMK_VIRTIO_MMIO_INT_VRING);
  vdrv_write(d, VMK_VIRTIO_MMIO_INTERRUPT_ACK, VMK_VIRTIO_MMIO_INT_VRING);
  assert_false(d->irq.level);
  assert_false(vdrv_needs_reset(d));
}

static void test_loop_two(void **state) {
  struct vdrv *d = *state;
  uint64_t a = vdrv_alloc(d, 8);
  vdrv_desc(d, 0, 0, a, 8, WRITE | NEXT, 1);
  vdrv_desc(d, 0, 1, a, 8, WRITE | NEXT, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_loop_self(void **state) {
  struct vdrv *d = *state;
  uint64_t a = vdrv_alloc(d, 8);
  vdrv_desc(d, 0, 3, a, 8, WRITE | NEXT, 3);
  vdrv_avail(d, 0, 3);
  kick_bad(d);
}

static void test_chain_of_queue_size_ok(void **state) {
  struct vdrv *d = *state;
  struct vdrv_seg segs[VDRV_QSIZE];
  for (unsigned i = 0; i < VDRV_QSIZE; i++)
    segs[i] = (struct vdrv_seg){vdrv_alloc(d, 4), 4, true};
  vdrv_chain(d, 0, segs, VDRV_QSIZE);
  vdrv_kick(d, 0);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, 0, &id, &len));
  assert_int_equal(len, 4 * VDRV_QSIZE);
  assert_false(vdrv_needs_reset(d));
}

static void test_addr_below_ram(void **state) {
  struct vdrv *d = *state;
  vdrv_desc(d, 0, 0, 0x1000, 8, WRITE, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_addr_straddles_end(void **state) {
  struct vdrv *d = *state;
  vdrv_desc(d, 0, 0, VDRV_RAM_BASE + VDRV_RAM_SIZE - 4, 8, WRITE, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_addr_wraps(void **state) {
  struct vdrv *d = *state;
  vdrv_desc(d, 0, 0, 0xfffffffffffffff0ull, 0x20, WRITE, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_oversize_length(void **state) {
  struct vdrv *d = *state;
  vdrv_desc(d, 0, 0, VDRV_DATA, 0xffffffffu, WRITE, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_bad_head(void **state) {
  struct vdrv *d = *state;
  vdrv_avail(d, 0, VDRV_QSIZE);
  kick_bad(d);
}

static void test_bad_next(void **state) {
  struct vdrv *d = *state;
  vdrv_desc(d, 0, 0, VDRV_DATA, 8, WRITE | NEXT, 200);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_avail_jump(void **state) {
  struct vdrv *d = *state;
  vdrv_desc(d, 0, 0, VDRV_DATA, 8, WRITE, 0);
  vdrv_set_avail_idx(d, 0, VDRV_QSIZE + 1);
  kick_bad(d);
}

static void test_readable_after_writable(void **state) {
  struct vdrv *d = *state;
  vdrv_desc(d, 0, 0, VDRV_DATA, 8, WRITE | NEXT, 1);
  vdrv_desc(d, 0, 1, VDRV_DATA, 8, 0, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

/* Indirect table of n entries at `table`, each 8 writable bytes. */
static void indirect_table(struct vdrv *d, uint64_t table, unsigned n,
                           uint16_t extra_flags_on_first) {
  for (unsigned i = 0; i < n; i++) {
    uint8_t *p = vdrv_ptr(d, table + 16 * i);
    memset(p, 0, 16);
    uint64_t a = VDRV_DATA + 0x1000 + 8 * i;
    memcpy(p, &a, 8);
    uint32_t len = 8;
    memcpy(p + 8, &len, 4);
    uint16_t fl =
        WRITE | (i + 1 < n ? NEXT : 0) | (i == 0 ? extra_flags_on_first : 0);
    memcpy(p + 12, &fl, 2);
    uint16_t next = (uint16_t)(i + 1);
    memcpy(p + 14, &next, 2);
  }
}

static void test_indirect_ok(void **state) {
  struct vdrv *d = *state;
  uint64_t table = vdrv_alloc(d, 16 * 4);
  indirect_table(d, table, 4, 0);
  vdrv_desc(d, 0, 0, table, 16 * 4, INDIRECT, 0);
  vdrv_avail(d, 0, 0);
  vdrv_kick(d, 0);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, 0, &id, &len));
  assert_int_equal(id, 0);
  assert_int_equal(len, 32);
  assert_false(vdrv_needs_reset(d));
}

static void test_indirect_too_many(void **state) {
  struct vdrv *d = *state;
  uint64_t table = vdrv_alloc(d, 16 * (VDRV_QSIZE + 1));
  indirect_table(d, table, VDRV_QSIZE + 1, 0);
  vdrv_desc(d, 0, 0, table, 16 * (VDRV_QSIZE + 1), INDIRECT, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_indirect_nested(void **state) {
  struct vdrv *d = *state;
  uint64_t table = vdrv_alloc(d, 16 * 2);
  indirect_table(d, table, 2, INDIRECT);
  vdrv_desc(d, 0, 0, table, 32, INDIRECT, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_indirect_with_next(void **state) {
  struct vdrv *d = *state;
  uint64_t table = vdrv_alloc(d, 32);
  indirect_table(d, table, 2, 0);
  vdrv_desc(d, 0, 0, table, 32, INDIRECT | NEXT, 1);
  vdrv_desc(d, 0, 1, VDRV_DATA, 8, WRITE, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_indirect_bad_len(void **state) {
  struct vdrv *d = *state;
  uint64_t table = vdrv_alloc(d, 32);
  indirect_table(d, table, 2, 0);
  vdrv_desc(d, 0, 0, table, 31, INDIRECT, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_indirect_zero_len(void **state) {
  struct vdrv *d = *state;
  vdrv_desc(d, 0, 0, VDRV_DATA, 0, INDIRECT, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_indirect_outside_ram(void **state) {
  struct vdrv *d = *state;
  vdrv_desc(d, 0, 0, VDRV_RAM_BASE + VDRV_RAM_SIZE - 16, 32, INDIRECT, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_indirect_loop(void **state) {
  struct vdrv *d = *state;
  uint64_t table = vdrv_alloc(d, 32);
  indirect_table(d, table, 2, 0);
  uint16_t fl = WRITE | NEXT, zero = 0;
  memcpy(vdrv_ptr(d, table + 16 + 12), &fl, 2);
  memcpy(vdrv_ptr(d, table + 16 + 14), &zero, 2); /* 1 -> 0 -> 1 ... */
  vdrv_desc(d, 0, 0, table, 32, INDIRECT, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_indirect_not_negotiated(void **state) {
  struct vdrv *d = *state;
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 0);
  memset(d->ram, 0, 0x10000);
  assert_true(vdrv_setup(d, F_V1, VDRV_QSIZE) & VMK_VIRTIO_S_DRIVER_OK);
  uint64_t table = vdrv_alloc(d, 32);
  indirect_table(d, table, 2, 0);
  vdrv_desc(d, 0, 0, table, 32, INDIRECT, 0);
  vdrv_avail(d, 0, 0);
  kick_bad(d);
}

static void test_no_service_while_broken(void **state) {
  struct vdrv *d = *state;
  vdrv_avail(d, 0, VDRV_QSIZE); /* bad head */
  vdrv_kick(d, 0);
  assert_true(vdrv_needs_reset(d));
  /* A good chain after the bad one is not served until a reset. */
  struct vdrv_seg seg = {VDRV_DATA, 8, true};
  d->q[0].next_desc = 1;
  vdrv_chain(d, 0, &seg, 1);
  vdrv_kick(d, 0);
  assert_int_equal(vdrv_used_idx(d, 0), 0);
  assert_recovers(d);
}

/* Queue layouts a driver may not use; the queue must not become ready. */
static void bad_queue(struct vdrv *d, uint16_t size, uint64_t desc,
                      uint64_t avail, uint64_t used) {
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 0);
  uint32_t s = vdrv_negotiate(d, F_V1);
  assert_true(s & VMK_VIRTIO_S_FEATURES_OK);
  assert_int_equal(vdrv_queue(d, 0, size, desc, avail, used), 0);
  assert_true(vdrv_needs_reset(d));
  assert_recovers(d);
}

static void test_queue_size_zero(void **state) {
  uint64_t r = VDRV_RING(0);
  bad_queue(*state, 0, r, r + 0x1000, r + 0x2000);
}

static void test_queue_size_not_pow2(void **state) {
  uint64_t r = VDRV_RING(0);
  bad_queue(*state, 24, r, r + 0x1000, r + 0x2000);
}

static void test_queue_size_too_big(void **state) {
  uint64_t r = VDRV_RING(0);
  bad_queue(*state, 512, r, r + 0x1000, r + 0x2000);
}

static void test_used_ring_outside_ram(void **state) {
  uint64_t r = VDRV_RING(0);
  bad_queue(*state, 16, r, r + 0x1000, VDRV_RAM_BASE + VDRV_RAM_SIZE - 64);
}

static void test_desc_ring_below_ram(void **state) {
  uint64_t r = VDRV_RING(0);
  bad_queue(*state, 16, 0x1000, r + 0x1000, r + 0x2000);
}

static void test_ring_misaligned(void **state) {
  uint64_t r = VDRV_RING(0);
  bad_queue(*state, 16, r + 8, r + 0x1000, r + 0x2000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_good_chain),
      T(test_loop_two),
      T(test_loop_self),
      T(test_chain_of_queue_size_ok),
      T(test_addr_below_ram),
      T(test_addr_straddles_end),
      T(test_addr_wraps),
      T(test_oversize_length),
      T(test_bad_head),
      T(test_bad_next),
      T(test_avail_jump),
      T(test_readable_after_writable),
      T(test_indirect_ok),
      T(test_indirect_too_many),
      T(test_indirect_nested),
      T(test_indirect_with_next),
      T(test_indirect_bad_len),
      T(test_indirect_zero_len),
      T(test_indirect_outside_ram),
      T(test_indirect_loop),
      T(test_indirect_not_negotiated),
      T(test_no_service_while_broken),
      T(test_queue_size_zero),
      T(test_queue_size_not_pow2),
      T(test_queue_size_too_big),
      T(test_used_ring_outside_ram),
      T(test_desc_ring_below_ram),
      T(test_ring_misaligned),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
