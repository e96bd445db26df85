/* test_event_idx.c — VIRTIO_F_EVENT_IDX (virtio 1.2 §2.7.7, §2.7.10): the
 * wrap-safe index comparison, interrupts that follow the driver's used_event
 * across the 16-bit wrap, avail_event published when the device finds the
 * ring empty, the NO_INTERRUPT flag honoured only without the feature, and
 * through the transport: every device offers the feature, a console with no
 * input asks for one notification for a whole ring of receive buffers, and
 * rng interrupts only where used_event says. Test thread only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/le.h"
#include "vdrv.h"
#include "virtio/console.h"
#include "virtio/rng.h"
#include "virtio/virtqueue.h"

#define F_V1 VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1)
#define F_EVENT_IDX VMK_VIRTIO_BIT(VMK_VIRTIO_F_EVENT_IDX)

/* --- the comparison ------------------------------------------------------ */

static void test_need_event_table(void **state) {
  (void)state;
  static const struct {
    uint16_t event, new_idx, old;
    bool want;
  } c[] = {
      {0, 1, 0, true},  /* the entry the driver waits for */
      {1, 1, 0, false}, /* not reached yet */
      {0, 5, 1, false}, /* passed before old: already told */
      {3, 5, 1, true},  /* inside (old, new] */
      {4, 5, 1, true},  /* the last one of the batch */
      {5, 5, 1, false}, /* one beyond */
      {1, 5, 1, true},  /* the first one of the batch */
      {7, 7, 7, false}, /* nothing moved */
      /* Across the wrap: old 0xfffe, new 0x0001 (3 entries). */
      {0xfffe, 0x0001, 0xfffe, true},
      {0xffff, 0x0001, 0xfffe, true},
      {0x0000, 0x0001, 0xfffe, true},
      {0x0001, 0x0001, 0xfffe, false},
      {0xfffd, 0x0001, 0xfffe, false},
      {0x8000, 0x0001, 0xfffe, false},
      /* A whole lap minus one: every event but new itself is passed. */
      {0x1234, 0x0000, 0x0001, true},
      {0x0000, 0x0000, 0x0001, false},
  };
  for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
    bool got = vmk_vq_need_event(c[i].event, c[i].new_idx, c[i].old);
    if (got != c[i].want)
      fail_msg("need_event(event %#x, new %#x, old %#x) = %d, want %d",
               c[i].event, c[i].new_idx, c[i].old, got, c[i].want);
  }
}

/* --- one queue, driven directly ------------------------------------------ */

#define QN 16
#define RAM_BASE 0x40000000ull
#define DESC_OFF 0x0
#define AVAIL_OFF 0x1000
#define USED_OFF 0x2000

struct rawq {
  uint8_t ram[0x4000] __attribute__((aligned(16)));
  struct vmk_guest_mem gm;
  struct vmk_vq vq;
};

static void rawq_init(struct rawq *r, bool event_idx) {
  memset(r, 0, sizeof(*r));
  r->gm = (struct vmk_guest_mem){
      .base = RAM_BASE, .size = sizeof(r->ram), .host = r->ram};
  r->vq.num = QN;
  r->vq.desc_gpa = RAM_BASE + DESC_OFF;
  r->vq.avail_gpa = RAM_BASE + AVAIL_OFF;
  r->vq.used_gpa = RAM_BASE + USED_OFF;
  assert_int_equal(vmk_vq_enable(&r->vq, &r->gm, 256, false, event_idx), 0);
}

static void set_used_event(struct rawq *r, uint16_t v) {
  vmk_put_le16(r->ram + AVAIL_OFF + 4 + 2 * QN, v);
}

static uint16_t avail_event(struct rawq *r) {
  return vmk_le16(r->ram + USED_OFF + 4 + 8 * QN);
}

/* The driver makes descriptor 0 (a 4-byte writable buffer) available at
 * its next avail index. */
static void add_avail(struct rawq *r) {
  uint8_t *d = r->ram + DESC_OFF;
  vmk_put_le64(d, RAM_BASE + 0x3000);
  vmk_put_le32(d + 8, 4);
  vmk_put_le16(d + 12, VMK_VRING_DESC_F_WRITE);
  uint16_t idx = vmk_le16(r->ram + AVAIL_OFF + 2);
  vmk_put_le16(r->ram + AVAIL_OFF + 4 + 2 * (idx % QN), 0);
  vmk_put_le16(r->ram + AVAIL_OFF + 2, (uint16_t)(idx + 1));
}

/* Pushes n buffers and asks whether the driver wants an interrupt. */
static bool push_and_ask(struct rawq *r, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    vmk_vq_push(&r->vq, 0, 4);
  return vmk_vq_interrupt_wanted(&r->vq);
}

static void test_used_event_across_wrap(void **state) {
  (void)state;
  struct rawq *r = calloc(1, sizeof(*r));
  rawq_init(r, true);
  /* The first look after enable always interrupts (nothing to compare). */
  set_used_event(r, 0x7777);
  assert_true(push_and_ask(r, 1));
  /* A queue that has run a long time: used index just below the wrap. */
  r->vq.used_idx = 0xfffd;
  r->vq.signalled_used = 0xfffd;
  set_used_event(r, 0xffff);        /* interrupt once entry 0xffff is used */
  assert_false(push_and_ask(r, 1)); /* used 0xfffe */
  assert_false(push_and_ask(r, 1)); /* used 0xffff: entry 0xffff not yet */
  assert_true(push_and_ask(r, 1));  /* used 0x0000: passed 0xffff */
  assert_int_equal(vmk_le16(r->ram + USED_OFF + 2), 0);
  set_used_event(r, 0x0001);
  assert_true(push_and_ask(r, 2)); /* 0 -> 2 passes 1 */
  set_used_event(r, 0x0005);
  assert_false(push_and_ask(r, 1)); /* 2 -> 3 */
  assert_false(push_and_ask(r, 2)); /* 3 -> 5: entry 5 not yet used */
  assert_true(push_and_ask(r, 1));  /* 5 -> 6 */
  /* A used_event left behind (the driver stopped asking): silence. */
  assert_false(push_and_ask(r, 3));
  free(r);
}

static void test_no_interrupt_flag(void **state) {
  (void)state;
  struct rawq *r = calloc(1, sizeof(*r));
  /* Without EVENT_IDX the flag decides. */
  rawq_init(r, false);
  vmk_put_le16(r->ram + AVAIL_OFF, VMK_VRING_AVAIL_F_NO_INTERRUPT);
  assert_false(push_and_ask(r, 1));
  vmk_put_le16(r->ram + AVAIL_OFF, 0);
  assert_true(push_and_ask(r, 1));
  /* With it the flag is ignored (§2.7.10): used_event decides. */
  rawq_init(r, true);
  assert_true(push_and_ask(r, 1)); /* the first look */
  vmk_put_le16(r->ram + AVAIL_OFF, VMK_VRING_AVAIL_F_NO_INTERRUPT);
  set_used_event(r, 1);
  assert_true(push_and_ask(r, 1)); /* 1 -> 2 passes 1, flag or not */
  vmk_put_le16(r->ram + AVAIL_OFF, 0);
  set_used_event(r, 9);
  assert_false(push_and_ask(r, 1)); /* 2 -> 3, no flag, still no */
  free(r);
}

static void test_avail_event_across_wrap(void **state) {
  (void)state;
  struct rawq *r = calloc(1, sizeof(*r));
  rawq_init(r, true);
  /* Both sides just below the wrap, ring empty. */
  r->vq.last_avail = 0xffff;
  vmk_put_le16(r->ram + AVAIL_OFF + 2, 0xffff);
  vmk_put_le16(r->ram + USED_OFF + 4 + 8 * QN, 0x1234);
  struct vmk_vq_chain c;
  assert_int_equal(vmk_vq_pop(&r->vq, &r->gm, &c), 0);
  assert_int_equal(avail_event(r), 0xffff); /* notify me for entry 0xffff */
  /* The driver's rule: it notifies for this entry, and only this one. */
  assert_true(vmk_vq_need_event(avail_event(r), 0x0000, 0xffff));
  assert_false(vmk_vq_need_event(avail_event(r), 0x0001, 0x0000));
  add_avail(r); /* avail index 0xffff -> 0x0000 */
  add_avail(r); /* -> 0x0001 */
  assert_int_equal(vmk_vq_pop(&r->vq, &r->gm, &c), 1);
  assert_int_equal(c.in_len, 4);
  /* Not empty yet: the device is still working, no notification wanted
   * (avail_event is left where it was). */
  assert_int_equal(avail_event(r), 0xffff);
  assert_int_equal(vmk_vq_pop(&r->vq, &r->gm, &c), 1);
  assert_int_equal(vmk_vq_pop(&r->vq, &r->gm, &c), 0);
  assert_int_equal(avail_event(r), 0x0001);
  /* Guest-controlled indices are still checked with the feature on. */
  vmk_put_le16(r->ram + AVAIL_OFF + 2, 0x0001 + QN + 1);
  assert_int_equal(vmk_vq_pop(&r->vq, &r->gm, &c), -22);
  free(r);
}

static void test_no_avail_event_without_feature(void **state) {
  (void)state;
  struct rawq *r = calloc(1, sizeof(*r));
  rawq_init(r, false);
  vmk_put_le16(r->ram + USED_OFF + 4 + 8 * QN, 0x1234);
  struct vmk_vq_chain c;
  assert_int_equal(vmk_vq_pop(&r->vq, &r->gm, &c), 0);
  assert_int_equal(avail_event(r), 0x1234); /* not the device's to write */
  free(r);
}

/* --- through the transport ----------------------------------------------- */

static uint64_t offered(struct vdrv *d) {
  uint64_t f = 0;
  for (uint32_t sel = 0; sel < 2; sel++) {
    vdrv_write(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
    f |= (uint64_t)vdrv_read(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES) << (32 * sel);
  }
  return f;
}

static void test_offered_by_devices(void **state) {
  (void)state;
  struct vmk_virtio_device *dev;
  vmk_error err;
  struct vdrv *d = calloc(1, sizeof(*d));
  assert_int_equal(vmk_virtio_rng_create(&dev, &err), 0);
  vdrv_open(d, dev);
  assert_true(offered(d) & F_EVENT_IDX);
  vdrv_close(d);
  int p[2];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(vmk_virtio_console_create(p[0], p[1], &dev, &err), 0);
  vdrv_open(d, dev);
  assert_true(offered(d) & F_EVENT_IDX);
  vdrv_close(d);
  close(p[0]);
  close(p[1]);
  free(d);
}

/* The driver side of the rule, as Linux's virtqueue_kick_prepare applies
 * it: after making entries [old, new) available, notify only when the
 * device's avail_event lies among them. */
static bool driver_would_notify(struct vdrv *d, unsigned q, uint16_t old,
                                uint16_t new_idx) {
  uint16_t ev =
      vmk_le16(vdrv_ptr(d, VDRV_RING(q) + 0x2000 + 4 + 8u * d->q[q].size));
  return vmk_vq_need_event(ev, new_idx, old);
}

/* What the kvm bench counted: a console with no input gets a whole ring of
 * receive buffers, one add and kick at a time (Linux's fill_queue). With
 * EVENT_IDX only the first asks for a notification. */
static void test_console_rx_fill_one_notification(void **state) {
  (void)state;
  int in[2], out[2];
  assert_int_equal(pipe(in), 0);
  assert_int_equal(pipe(out), 0);
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(vmk_virtio_console_create(in[0], out[1], &dev, &err), 0);
  struct vdrv *d = calloc(1, sizeof(*d));
  vdrv_open(d, dev);
  assert_true(vdrv_setup(d, F_V1 | F_EVENT_IDX, 16) & VMK_VIRTIO_S_DRIVER_OK);
  unsigned notifies = 0;
  for (unsigned i = 0; i < 16; i++) {
    uint16_t old = d->q[0].avail_idx;
    struct vdrv_seg s = {vdrv_alloc(d, 64), 64, true};
    vdrv_chain(d, 0, &s, 1);
    if (driver_would_notify(d, 0, old, d->q[0].avail_idx)) {
      notifies++;
      vdrv_kick(d, 0);
    }
  }
  assert_int_equal(notifies, 1);
  /* Input now reaches the buffers already there, and once the device has
   * used them all (the ring is empty) the next buffer is notified again. */
  assert_int_equal(write(in[1], "x", 1), 1);
  vdrv_run(d);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, 0, &id, &len));
  assert_int_equal(len, 1);
  vdrv_close(d);
  for (int i = 0; i < 2; i++) {
    close(in[i]);
    close(out[i]);
  }
  free(d);
}

/* rng with the feature: interrupts follow used_event, and after serving a
 * kick the device asks to be notified for the next entry. */
static void test_rng_interrupts_follow_used_event(void **state) {
  (void)state;
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(vmk_virtio_rng_create(&dev, &err), 0);
  struct vdrv *d = calloc(1, sizeof(*d));
  vdrv_open(d, dev);
  assert_true(vdrv_setup(d, F_V1 | F_EVENT_IDX, VDRV_QSIZE) &
              VMK_VIRTIO_S_DRIVER_OK);
  uint8_t *used_event = vdrv_ptr(d, VDRV_RING(0) + 0x1000 + 4 + 2 * VDRV_QSIZE);
  vmk_put_le16(used_event, 2); /* interrupt once entry 2 is used */
  unsigned raises[4];
  for (unsigned i = 0; i < 4; i++) {
    uint16_t old = d->q[0].avail_idx;
    struct vdrv_seg s = {vdrv_alloc(d, 8), 8, true};
    vdrv_chain(d, 0, &s, 1);
    assert_true(driver_would_notify(d, 0, old, d->q[0].avail_idx));
    vdrv_kick(d, 0);
    raises[i] = d->irq.raises;
    vdrv_write(d, VMK_VIRTIO_MMIO_INTERRUPT_ACK, VMK_VIRTIO_MMIO_INT_VRING);
  }
  assert_int_equal(vdrv_used_idx(d, 0), 4);
  /* used 0->1: the first look; 1->2: entry 2 not used; 2->3: passed. */
  assert_int_equal(raises[0], 1);
  assert_int_equal(raises[1], 1);
  assert_int_equal(raises[2], 2);
  assert_int_equal(raises[3], 2);
  vdrv_close(d);
  free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_need_event_table),
      cmocka_unit_test(test_used_event_across_wrap),
      cmocka_unit_test(test_no_interrupt_flag),
      cmocka_unit_test(test_avail_event_across_wrap),
      cmocka_unit_test(test_no_avail_event_without_feature),
      cmocka_unit_test(test_offered_by_devices),
      cmocka_unit_test(test_console_rx_fill_one_notification),
      cmocka_unit_test(test_rng_interrupts_follow_used_event),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
