/* test_mmio.c — virtio-mmio transport registers: identification, feature
 * negotiation, status and reset, queue registers, interrupts, the
 * notification eventfd (as KVM's ioeventfd would use it) and odd accesses.
 * Test thread only. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vdrv.h"
#include "virtio/console.h"
#include "virtio/rng.h"

#define F_V1 VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1)

static int setup(void **state) {
  static struct vdrv d;
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(vmk_virtio_rng_create(&dev, &err), 0);
  vdrv_open(&d, dev);
  *state = &d;
  return 0;
}

static int teardown(void **state) {
  vdrv_close(*state);
  return 0;
}

static void test_ident(void **state) {
  struct vdrv *d = *state;
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_MAGIC), 0x74726976);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_VERSION), 2);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_DEVICE_ID), 4);
  assert_int_not_equal(vdrv_read(d, VMK_VIRTIO_MMIO_VENDOR_ID), 0);
  vdrv_write(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES) & 1, 1);
  vdrv_write(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_DEVICE_FEATURES), 0);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_SEL, 0);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_SEL, 1);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
  assert_int_equal(vmk_virtio_mmio_num_queues(d->t), 1);
  assert_true(vmk_virtio_mmio_queue_notify_fd(d->t, 0) >= 0);
  assert_int_equal(vmk_virtio_mmio_queue_notify_fd(d->t, 1), -1);
}

static void test_odd_accesses_ignored(void **state) {
  struct vdrv *d = *state;
  /* Registers are 32-bit: narrower, wider and misaligned accesses do
   * nothing and read 0. */
  assert_int_equal(vmk_virtio_mmio_ops.read(d->t, 0, 2), 0);
  assert_int_equal(vmk_virtio_mmio_ops.read(d->t, 1, 4), 0);
  assert_int_equal(vmk_virtio_mmio_ops.read(d->t, 0, 8), 0);
  vmk_virtio_mmio_ops.write(d->t, VMK_VIRTIO_MMIO_STATUS, 1, 1);
  vmk_virtio_mmio_ops.write(d->t, VMK_VIRTIO_MMIO_STATUS + 1, 4, 1);
  assert_int_equal(vdrv_status(d), 0);
  /* rng has no config space: reads 0, writes ignored, no crash. */
  assert_int_equal(vmk_virtio_mmio_ops.read(d->t, 0x100, 4), 0);
  assert_int_equal(vmk_virtio_mmio_ops.read(d->t, 0x1ff, 8), 0);
  vmk_virtio_mmio_ops.write(d->t, 0x100, 4, 0xdead);
  /* QueueNotify for a queue that does not exist. */
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 5);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffffu);
  vdrv_run(d);
  /* Queue registers of a queue that does not exist. */
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_SEL, 9);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_READY, 1);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_QUEUE_READY), 0);
  assert_false(vdrv_needs_reset(d));
}

static void test_features_need_version_1(void **state) {
  struct vdrv *d = *state;
  uint32_t s = vdrv_negotiate(d, 0);
  assert_false(s & VMK_VIRTIO_S_FEATURES_OK);
  s = vdrv_negotiate(d, F_V1);
  assert_true(s & VMK_VIRTIO_S_FEATURES_OK);
}

static void test_features_not_offered_refused(void **state) {
  struct vdrv *d = *state;
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 3);
  vdrv_write(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
  vdrv_write(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES, 1 | 2); /* V1 + bit 33 */
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 3 | VMK_VIRTIO_S_FEATURES_OK);
  assert_false(vdrv_status(d) & VMK_VIRTIO_S_FEATURES_OK);
}

static void test_features_frozen_after_ok(void **state) {
  struct vdrv *d = *state;
  assert_true(vdrv_negotiate(d, F_V1) & VMK_VIRTIO_S_FEATURES_OK);
  vdrv_write(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
  vdrv_write(d, VMK_VIRTIO_MMIO_DRIVER_FEATURES, 0);
  /* Still running fine: VERSION_1 stayed negotiated. */
  uint64_t r = VDRV_RING(0);
  assert_int_equal(vdrv_queue(d, 0, 16, r, r + 0x1000, r + 0x2000), 1);
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 0xf);
  assert_int_equal(vdrv_status(d), 0xf);
}

static void test_driver_ok_without_features_ok(void **state) {
  struct vdrv *d = *state;
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 3);
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 3 | VMK_VIRTIO_S_DRIVER_OK);
  assert_true(vdrv_needs_reset(d));
}

static void test_reset_clears_everything(void **state) {
  struct vdrv *d = *state;
  assert_true(vdrv_setup(d, F_V1, 16) & VMK_VIRTIO_S_DRIVER_OK);
  struct vdrv_seg seg = {VDRV_DATA, 8, true};
  vdrv_chain(d, 0, &seg, 1);
  vdrv_kick(d, 0);
  assert_true(d->irq.level);
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 0);
  assert_int_equal(vdrv_status(d), 0);
  assert_false(d->irq.level);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_INTERRUPT_STATUS), 0);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_SEL, 0);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_QUEUE_READY), 0);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
  /* A kick after reset does nothing. */
  uint16_t before = vdrv_used_idx(d, 0);
  vdrv_chain(d, 0, &seg, 1);
  vdrv_kick(d, 0);
  assert_int_equal(vdrv_used_idx(d, 0), before);
  /* New rings elsewhere start from index 0. */
  uint64_t r = VDRV_RING(3);
  vdrv_negotiate(d, F_V1);
  assert_int_equal(vdrv_queue(d, 0, 8, r, r + 0x1000, r + 0x2000), 1);
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 0xf);
  uint8_t *desc = vdrv_ptr(d, r);
  uint64_t a = VDRV_DATA;
  memcpy(desc, &a, 8);
  uint32_t len = 8;
  memcpy(desc + 8, &len, 4);
  uint16_t fl = 2;
  memcpy(desc + 12, &fl, 2);
  uint16_t one = 1;
  memcpy(vdrv_ptr(d, r + 0x1000 + 2), &one, 2);
  vdrv_kick(d, 0);
  uint16_t used;
  memcpy(&used, vdrv_ptr(d, r + 0x2000 + 2), 2);
  assert_int_equal(used, 1);
}

static void test_queue_regs_locked_while_ready(void **state) {
  struct vdrv *d = *state;
  assert_true(vdrv_setup(d, F_V1, 16) & VMK_VIRTIO_S_DRIVER_OK);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_SEL, 0);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
  vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_NUM, 128);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_QUEUE_DESC_LOW),
                   (uint32_t)VDRV_RING(0));
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_QUEUE_NUM), 16);
}

static void test_interrupt_ack(void **state) {
  struct vdrv *d = *state;
  assert_true(vdrv_setup(d, F_V1, 16) & VMK_VIRTIO_S_DRIVER_OK);
  struct vdrv_seg seg = {VDRV_DATA, 8, true};
  vdrv_chain(d, 0, &seg, 1);
  vdrv_kick(d, 0);
  assert_true(d->irq.level);
  vdrv_write(d, VMK_VIRTIO_MMIO_INTERRUPT_ACK, VMK_VIRTIO_MMIO_INT_CONFIG);
  assert_true(d->irq.level); /* the used-buffer bit is still set */
  vdrv_write(d, VMK_VIRTIO_MMIO_INTERRUPT_ACK, VMK_VIRTIO_MMIO_INT_VRING);
  assert_false(d->irq.level);
}

static void count_edge(void *opaque, unsigned spi) {
  (void)spi;
  struct vdrv_irq *i = opaque;
  i->edges++;
}

/* With a chip that signals edges (kvm's irqfd), every used-buffer interrupt
 * is one edge and neither the ack nor a reset touches the line. */
static void test_interrupt_edges(void **state) {
  struct vdrv *d = *state;
  d->irq.chip.edge = count_edge; /* the transport holds a pointer to chip */
  assert_true(vdrv_setup(d, F_V1, 16) & VMK_VIRTIO_S_DRIVER_OK);
  struct vdrv_seg seg = {VDRV_DATA, 8, true};
  vdrv_chain(d, 0, &seg, 1);
  vdrv_kick(d, 0);
  assert_int_equal(d->irq.edges, 1);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_INTERRUPT_STATUS),
                   VMK_VIRTIO_MMIO_INT_VRING);
  vdrv_write(d, VMK_VIRTIO_MMIO_INTERRUPT_ACK, VMK_VIRTIO_MMIO_INT_VRING);
  assert_int_equal(vdrv_read(d, VMK_VIRTIO_MMIO_INTERRUPT_STATUS), 0);
  vdrv_chain(d, 0, &seg, 1);
  vdrv_kick(d, 0);
  assert_int_equal(d->irq.edges, 2);
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 0);
  assert_int_equal(d->irq.raises, 0);
  assert_false(d->irq.level);
}

static void test_no_interrupt_flag(void **state) {
  struct vdrv *d = *state;
  assert_true(vdrv_setup(d, F_V1, 16) & VMK_VIRTIO_S_DRIVER_OK);
  uint16_t flags = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT */
  memcpy(vdrv_ptr(d, VDRV_RING(0) + 0x1000), &flags, 2);
  struct vdrv_seg seg = {VDRV_DATA, 8, true};
  vdrv_chain(d, 0, &seg, 1);
  vdrv_kick(d, 0);
  assert_int_equal(vdrv_used_idx(d, 0), 1);
  assert_false(d->irq.level);
}

static void test_ioeventfd_path(void **state) {
  struct vdrv *d = *state;
  assert_true(vdrv_setup(d, F_V1, 16) & VMK_VIRTIO_S_DRIVER_OK);
  struct vdrv_seg seg = {VDRV_DATA, 8, true};
  vdrv_chain(d, 0, &seg, 1);
  /* KVM writes the eventfd itself; no MMIO access reaches us. */
  uint64_t one = 1;
  assert_int_equal(write(vmk_virtio_mmio_queue_notify_fd(d->t, 0), &one, 8), 8);
  vdrv_run(d);
  assert_int_equal(vdrv_used_idx(d, 0), 1);
}

static void test_buffers_before_driver_ok(void **state) {
  struct vdrv *d = *state;
  assert_true(vdrv_negotiate(d, F_V1) & VMK_VIRTIO_S_FEATURES_OK);
  uint64_t r = VDRV_RING(0);
  vdrv_queue(d, 0, 16, r, r + 0x1000, r + 0x2000);
  struct vdrv_seg seg = {VDRV_DATA, 8, true};
  vdrv_chain(d, 0, &seg, 1);
  vdrv_kick(d, 0);
  assert_int_equal(vdrv_used_idx(d, 0), 0); /* not running yet */
  vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 0xf);
  vdrv_run(d);
  assert_int_equal(vdrv_used_idx(d, 0), 1);
}

/* A real I/O thread serves the queue while this thread (playing a vCPU)
 * submits requests and resets the device under its feet; the transport
 * lock must keep the rings untouched after each reset returns, which the
 * sanitizer builds check when the rings are wiped right after. */
static void test_threaded_io_and_resets(void **state) {
  struct vdrv *d = *state;
  vmk_error err;
  assert_int_equal(vmk_io_loop_start(&d->loop, &err), 0);
  unsigned done = 0;
  for (int round = 0; round < 20; round++) {
    memset(d->ram, 0, 0x10000); /* device reset: rings are ours again */
    assert_true(vdrv_setup(d, F_V1, 256) & VMK_VIRTIO_S_DRIVER_OK);
    for (int i = 0; i < 100; i++) {
      struct vdrv_seg seg = {VDRV_DATA + 64 * (uint64_t)(i % 16), 64, true};
      vdrv_chain(d, 0, &seg, 1);
      vdrv_write(d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
      if (i % 10 == 9) { /* wait for the I/O thread now and then */
        uint16_t want = d->q[0].avail_idx;
        long spins = 0;
        while (__atomic_load_n((uint16_t *)vdrv_ptr(d, VDRV_RING(0) + 0x2002),
                               __ATOMIC_ACQUIRE) != want) {
          if (++spins > 100000000L)
            fail_msg("the I/O thread never served the queue");
          sched_yield();
        }
        done += 10;
      }
    }
    /* Reset with requests possibly still in flight. */
    vdrv_write(d, VMK_VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(vdrv_status(d), 0);
  }
  vmk_io_loop_stop(&d->loop);
  assert_int_equal(done, 2000);
}

static void test_console_config_and_queues(void **state) {
  (void)state;
  struct vdrv d;
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(vmk_virtio_console_create(-1, -1, &dev, &err), 0);
  vdrv_open(&d, dev);
  assert_int_equal(vdrv_read(&d, VMK_VIRTIO_MMIO_DEVICE_ID), 3);
  assert_int_equal(vmk_virtio_mmio_num_queues(d.t), 2);
  vdrv_close(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_ident),
      T(test_odd_accesses_ignored),
      T(test_features_need_version_1),
      T(test_features_not_offered_refused),
      T(test_features_frozen_after_ok),
      T(test_driver_ok_without_features_ok),
      T(test_reset_clears_everything),
      T(test_queue_regs_locked_while_ready),
      T(test_interrupt_ack),
      T(test_interrupt_edges),
      T(test_no_interrupt_flag),
      T(test_ioeventfd_path),
      T(test_buffers_before_driver_ok),
      T(test_threaded_io_and_resets),
      cmocka_unit_test(test_console_config_and_queues),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
