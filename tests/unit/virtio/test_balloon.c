/* test_balloon.c — virtio-balloon against the test driver: inflated and
 * reported pages really leave RAM (they read back as zeros, their
 * neighbours keep their bytes), PFNs and ranges outside RAM and malformed
 * buffers reset the device, statistics are kept and requested, the target
 * reaches the config space with a config interrupt. Test thread only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/le.h"
#include "vdrv.h"
#include "virtio/balloon.h"

#define PAGE VMK_BALLOON_PAGE
/* Pattern pages, well above the rings and the bump allocator's buffers. */
#define PAT (VDRV_RAM_BASE + 0x300000ull)
#define PAT_PAGES 16
#define ALL_FEATURES ~0ull
#define Q_INFLATE 0
#define Q_DEFLATE 1
#define Q_STATS 2
#define Q_REPORT 3 /* with the stats queue negotiated */

struct fixture {
  struct vdrv d;
  struct vmk_virtio_device *dev;
};

static struct fixture *open_dev(uint32_t target, uint64_t features) {
  static struct fixture f;
  vmk_error err;
  assert_int_equal(vmk_virtio_balloon_create(target, &f.dev, &err), 0);
  vdrv_open(&f.d, f.dev);
  assert_true(vdrv_setup(&f.d, features, 16) & VMK_VIRTIO_S_DRIVER_OK);
  return &f;
}

static int setup(void **state) {
  *state = open_dev(0, ALL_FEATURES);
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  vdrv_close(&f->d);
  return 0;
}

static void fill_pattern(struct vdrv *d) {
  for (unsigned i = 0; i < PAT_PAGES; i++)
    memset(vdrv_ptr(d, PAT + i * PAGE), 0xa0 + i, PAGE);
}

static bool page_is(struct vdrv *d, uint64_t gpa, uint8_t v) {
  const uint8_t *p = vdrv_ptr(d, gpa);
  for (unsigned i = 0; i < PAGE; i++)
    if (p[i] != v)
      return false;
  return true;
}

static uint32_t pfn(uint64_t gpa) { return (uint32_t)(gpa / PAGE); }

/* Puts a PFN array on queue q and kicks it. */
static uint16_t send_pfns(struct vdrv *d, unsigned q, const uint32_t *pfns,
                          unsigned n) {
  uint64_t a = vdrv_alloc(d, 4 * n);
  for (unsigned i = 0; i < n; i++)
    vmk_put_le32((uint8_t *)vdrv_ptr(d, a) + 4 * i, pfns[i]);
  struct vdrv_seg seg = {a, 4 * n, false};
  uint16_t head = vdrv_chain(d, q, &seg, 1);
  vdrv_kick(d, q);
  return head;
}

static void info(struct fixture *f, bool want, struct vmk_balloon_info *bi) {
  vmk_virtio_balloon_info(f->dev, want, bi);
  vdrv_run(&f->d);
}

static void test_features_and_config(void **state) {
  (void)state;
  struct fixture *f = open_dev(1234, ALL_FEATURES);
  struct vdrv *d = &f->d;
  uint64_t offered = 0;
  for (uint32_t sel = 0; sel < 2; sel++) {
    vdrv_write(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
    offered |= (uint64_t)vdrv_read(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES)
               << (32 * sel);
  }
  assert_true(offered & VMK_VIRTIO_BIT(VMK_BALLOON_F_STATS_VQ));
  assert_true(offered & VMK_VIRTIO_BIT(VMK_BALLOON_F_DEFLATE_ON_OOM));
  assert_true(offered & VMK_VIRTIO_BIT(VMK_BALLOON_F_REPORTING));
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_DEVICE_ID), 5);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_CONFIG + 0), 1234);
  /* The driver's `actual` is kept; a balloon larger than RAM is not. */
  vdrv_write(d, VMK_VIRTIO_MMIO_CONFIG + 4, 100);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_CONFIG + 4), 100);
  vdrv_write(d, VMK_VIRTIO_MMIO_CONFIG + 4, VDRV_RAM_SIZE / PAGE + 1);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_CONFIG + 4), 100);
  /* num_pages is the device's. */
  vdrv_write(d, VMK_VIRTIO_MMIO_CONFIG + 0, 7);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_CONFIG + 0), 1234);
  struct vmk_balloon_info bi;
  info(f, false, &bi);
  assert_int_equal(bi.target_pages, 1234);
  assert_int_equal(bi.actual_pages, 100);
  assert_true(bi.stats_age_ms == UINT64_MAX);
  /* A driver reset empties the balloon. */
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 0);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_CONFIG + 4), 0);
  vdrv_close(d);
}

static void test_set_target_interrupts(void **state) {
  struct fixture *f = *state;
  struct vdrv *d = &f->d;
  uint32_t gen = vdrv_read(d, VMK_VIRTIO_MMIO_CONFIG_GENERATION);
  vdrv_write(d, VMK_VIRTIO_MMIO_INTERRUPT_ACK, 3);
  vmk_virtio_balloon_set_target(f->dev, 512);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_CONFIG + 0), 512);
  assert_true(vdrv_read(d, VMK_VIRTIO_MMIO_INTERRUPT_STATUS) &
              VMK_VIRTIO_MMIO_INT_CONFIG);
  assert_true(d->irq.level);
  assert_int_not_equal(vdrv_read(d, VMK_VIRTIO_MMIO_CONFIG_GENERATION), gen);
}

static void test_inflate_discards(void **state) {
  struct fixture *f = *state;
  struct vdrv *d = &f->d;
  fill_pattern(d);
  /* Pages 2, 3 (one run), 7 and 5 (out of order). */
  uint32_t pfns[] = {pfn(PAT + 2 * PAGE), pfn(PAT + 3 * PAGE),
                     pfn(PAT + 7 * PAGE), pfn(PAT + 5 * PAGE)};
  uint16_t head = send_pfns(d, Q_INFLATE, pfns, 4);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, Q_INFLATE, &id, &len));
  assert_int_equal(id, head);
  assert_int_equal(len, 0);
  for (unsigned i = 0; i < PAT_PAGES; i++) {
    bool gone = i == 2 || i == 3 || i == 5 || i == 7;
    assert_true(page_is(d, PAT + i * PAGE, gone ? 0 : 0xa0 + i));
  }
  struct vmk_balloon_info bi;
  info(f, false, &bi);
  assert_int_equal(bi.inflated_pages, 4);
  assert_int_equal(bi.discard_failures, 0);
  assert_false(vdrv_needs_reset(d));
}

static void test_deflate_keeps_pages(void **state) {
  struct fixture *f = *state;
  struct vdrv *d = &f->d;
  fill_pattern(d);
  uint32_t pfns[] = {pfn(PAT), pfn(PAT + PAGE)};
  send_pfns(d, Q_DEFLATE, pfns, 2);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, Q_DEFLATE, &id, &len));
  assert_true(page_is(d, PAT, 0xa0));
  assert_true(page_is(d, PAT + PAGE, 0xa1));
  struct vmk_balloon_info bi;
  info(f, false, &bi);
  assert_int_equal(bi.deflated_pages, 2);
}

/* Each bad PFN, alone after good ones, resets the device. */
static void test_pfns_outside_ram(void **state) {
  (void)state;
  const uint32_t bad[] = {
      0,
      pfn(VDRV_RAM_BASE) - 1,
      pfn(VDRV_RAM_BASE + VDRV_RAM_SIZE),
      0xffffffffu,
  };
  for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    for (unsigned q = Q_INFLATE; q <= Q_DEFLATE; q++) {
      struct fixture *f = open_dev(0, ALL_FEATURES);
      struct vdrv *d = &f->d;
      uint32_t pfns[] = {pfn(VDRV_RAM_BASE + VDRV_RAM_SIZE - PAGE), bad[i]};
      send_pfns(d, q, pfns, 2);
      assert_true(vdrv_needs_reset(d));
      uint16_t id;
      uint32_t len;
      assert_false(vdrv_used(d, q, &id, &len));
      vdrv_close(d);
    }
  }
}

static void test_malformed_pfn_buffers(void **state) {
  (void)state;
  /* Not a whole number of PFNs. */
  struct fixture *f = open_dev(0, ALL_FEATURES);
  uint64_t a = vdrv_alloc(&f->d, 8);
  struct vdrv_seg seg = {a, 6, false};
  vdrv_chain(&f->d, Q_INFLATE, &seg, 1);
  vdrv_kick(&f->d, Q_INFLATE);
  assert_true(vdrv_needs_reset(&f->d));
  vdrv_close(&f->d);
  /* Device-writable. */
  f = open_dev(0, ALL_FEATURES);
  a = vdrv_alloc(&f->d, 8);
  seg = (struct vdrv_seg){a, 8, true};
  vdrv_chain(&f->d, Q_INFLATE, &seg, 1);
  vdrv_kick(&f->d, Q_INFLATE);
  assert_true(vdrv_needs_reset(&f->d));
  vdrv_close(&f->d);
}

static void test_reporting_discards(void **state) {
  struct fixture *f = *state;
  struct vdrv *d = &f->d;
  fill_pattern(d);
  /* Pages 4-7 whole, and a range from the middle of page 10 to the
   * middle of page 12: only page 11 lies wholly inside it. */
  struct vdrv_seg segs[] = {{PAT + 4 * PAGE, 4 * PAGE, true},
                            {PAT + 10 * PAGE + 100, 2 * PAGE, true}};
  uint16_t head = vdrv_chain(d, Q_REPORT, segs, 2);
  vdrv_kick(d, Q_REPORT);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, Q_REPORT, &id, &len));
  assert_int_equal(id, head);
  assert_int_equal(len, 0);
  for (unsigned i = 0; i < PAT_PAGES; i++) {
    bool gone = (i >= 4 && i <= 7) || i == 11;
    assert_true(page_is(d, PAT + i * PAGE, gone ? 0 : 0xa0 + i));
  }
  struct vmk_balloon_info bi;
  info(f, false, &bi);
  assert_int_equal(bi.reported_bytes, 6 * PAGE);
  assert_false(vdrv_needs_reset(d));
}

/* Without the stats queue the reporting queue is number 2 (§5.5.2). */
static void test_reporting_queue_number(void **state) {
  (void)state;
  struct fixture *f =
      open_dev(0, ALL_FEATURES & ~VMK_VIRTIO_BIT(VMK_BALLOON_F_STATS_VQ));
  struct vdrv *d = &f->d;
  fill_pattern(d);
  struct vdrv_seg seg = {PAT, PAGE, true};
  vdrv_chain(d, 2, &seg, 1);
  vdrv_kick(d, 2);
  assert_true(page_is(d, PAT, 0));
  /* Queue 3 is nobody's now: buffers there are left alone. */
  vdrv_chain(d, 3, &(struct vdrv_seg){PAT + PAGE, PAGE, true}, 1);
  vdrv_kick(d, 3);
  assert_true(page_is(d, PAT + PAGE, 0xa1));
  assert_int_equal(vdrv_used_idx(d, 3), 0);
  vdrv_close(d);
}

static void test_report_outside_ram(void **state) {
  struct fixture *f = *state;
  struct vdrv *d = &f->d;
  fill_pattern(d);
  struct vdrv_seg segs[] = {
      {PAT, PAGE, true},
      {VDRV_RAM_BASE + VDRV_RAM_SIZE - PAGE, 2 * PAGE, true}};
  vdrv_chain(d, Q_REPORT, segs, 2);
  vdrv_kick(d, Q_REPORT);
  assert_true(vdrv_needs_reset(d));
  assert_true(page_is(d, PAT, 0xa0));
  struct vmk_balloon_info bi;
  info(f, false, &bi);
  assert_int_equal(bi.reported_bytes, 0);
}

static uint64_t put_stats(struct vdrv *d, const uint16_t *tags,
                          const uint64_t *vals, unsigned n) {
  uint64_t a = vdrv_alloc(d, 10 * n);
  uint8_t *p = vdrv_ptr(d, a);
  for (unsigned i = 0; i < n; i++) {
    vmk_put_le16(p + 10 * i, tags[i]);
    vmk_put_le64(p + 10 * i + 2, vals[i]);
  }
  return a;
}

static void test_stats_kept_and_requested(void **state) {
  struct fixture *f = *state;
  struct vdrv *d = &f->d;
  const uint16_t tags[] = {VMK_BALLOON_STAT_MEMFREE, VMK_BALLOON_STAT_MEMTOT,
                           VMK_BALLOON_STAT_MINFLT, 99, VMK_BALLOON_STAT_AVAIL};
  /* AVAIL claims more than RAM: dropped. Tag 99 is unknown: ignored. */
  const uint64_t vals[] = {1u << 20, 3u << 20, 4242, 7, 1ull << 40};
  uint64_t a = put_stats(d, tags, vals, 5);
  struct vdrv_seg seg = {a, 50, false};
  uint16_t head = vdrv_chain(d, Q_STATS, &seg, 1);
  vdrv_kick(d, Q_STATS);
  /* Held until statistics are wanted. */
  assert_int_equal(vdrv_used_idx(d, Q_STATS), 0);
  struct vmk_balloon_info bi;
  info(f, false, &bi);
  assert_int_equal(bi.stats_updates, 1);
  assert_true(bi.stats_age_ms < 60000);
  assert_int_equal(bi.stats.val[VMK_BALLOON_STAT_MEMFREE], 1u << 20);
  assert_int_equal(bi.stats.val[VMK_BALLOON_STAT_MEMTOT], 3u << 20);
  assert_int_equal(bi.stats.val[VMK_BALLOON_STAT_MINFLT], 4242);
  assert_int_equal(bi.stats.valid, (1u << VMK_BALLOON_STAT_MEMFREE) |
                                       (1u << VMK_BALLOON_STAT_MEMTOT) |
                                       (1u << VMK_BALLOON_STAT_MINFLT));
  assert_int_equal(bi.stats.rejected, 1);
  assert_int_equal(vdrv_used_idx(d, Q_STATS), 0);
  /* A request hands the buffer back. */
  info(f, true, &bi);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, Q_STATS, &id, &len));
  assert_int_equal(id, head);
  /* Nothing held: a second request returns nothing more. */
  info(f, true, &bi);
  assert_false(vdrv_used(d, Q_STATS, &id, &len));
  /* The driver's next buffer replaces the statistics. */
  const uint16_t t2[] = {VMK_BALLOON_STAT_MEMFREE};
  const uint64_t v2[] = {2u << 20};
  seg = (struct vdrv_seg){put_stats(d, t2, v2, 1), 10, false};
  vdrv_chain(d, Q_STATS, &seg, 1);
  vdrv_kick(d, Q_STATS);
  info(f, false, &bi);
  assert_int_equal(bi.stats_updates, 2);
  assert_int_equal(bi.stats.val[VMK_BALLOON_STAT_MEMFREE], 2u << 20);
  assert_int_equal(bi.stats.valid, 1u << VMK_BALLOON_STAT_MEMFREE);
  assert_false(vdrv_needs_reset(d));
}

static void test_stats_malformed(void **state) {
  (void)state;
  const uint32_t lens[] = {15, 10 * (VMK_BALLOON_STATS_MAX + 1)};
  for (unsigned i = 0; i < 2; i++) {
    struct fixture *f = open_dev(0, ALL_FEATURES);
    struct vdrv *d = &f->d;
    struct vdrv_seg seg = {vdrv_alloc(d, lens[i]), lens[i], false};
    vdrv_chain(d, Q_STATS, &seg, 1);
    vdrv_kick(d, Q_STATS);
    assert_true(vdrv_needs_reset(d));
    struct vmk_balloon_info bi;
    info(f, false, &bi);
    assert_int_equal(bi.stats_updates, 0);
    vdrv_close(d);
  }
}

static void test_stats_parser(void **state) {
  (void)state;
  uint8_t b[30];
  struct vmk_balloon_stat_set s;
  /* A repeated tag keeps the last value, and a rejected repeat clears it. */
  vmk_put_le16(b, VMK_BALLOON_STAT_CACHES);
  vmk_put_le64(b + 2, 100);
  vmk_put_le16(b + 10, VMK_BALLOON_STAT_CACHES);
  vmk_put_le64(b + 12, 200);
  vmk_put_le16(b + 20, VMK_BALLOON_STAT_SWAP_IN);
  vmk_put_le64(b + 22, UINT64_MAX); /* a counter may be anything */
  assert_int_equal(vmk_balloon_stats_parse(b, 30, 1000, &s), 0);
  assert_int_equal(s.val[VMK_BALLOON_STAT_CACHES], 200);
  assert_true(s.val[VMK_BALLOON_STAT_SWAP_IN] == UINT64_MAX);
  vmk_put_le64(b + 12, 1001);
  assert_int_equal(vmk_balloon_stats_parse(b, 30, 1000, &s), 0);
  assert_false(s.valid & (1u << VMK_BALLOON_STAT_CACHES));
  assert_int_equal(s.rejected, 1);
  assert_int_equal(vmk_balloon_stats_parse(b, 0, 1000, &s), 0);
  assert_int_equal(s.valid, 0);
  assert_int_equal(vmk_balloon_stats_parse(b, 29, 1000, &s), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      cmocka_unit_test(test_features_and_config),
      T(test_set_target_interrupts),
      T(test_inflate_discards),
      T(test_deflate_keeps_pages),
      cmocka_unit_test(test_pfns_outside_ram),
      cmocka_unit_test(test_malformed_pfn_buffers),
      T(test_reporting_discards),
      cmocka_unit_test(test_reporting_queue_number),
      T(test_report_outside_ram),
      T(test_stats_kept_and_requested),
      cmocka_unit_test(test_stats_malformed),
      cmocka_unit_test(test_stats_parser),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
