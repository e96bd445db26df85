/* mmio.h — the virtio-mmio transport, version 2 (modern only; virtio 1.2
 * §4.2): one 0x200-byte register window per device.
 *
 * Threads: register accesses come from vCPU threads through the bus;
 * queues are served only on the I/O thread, woken by one eventfd per queue
 * (written on QueueNotify, or directly by KVM as an ioeventfd with
 * datamatch = queue index). A mutex per transport protects the status,
 * feature and queue state; a second small lock orders interrupt status
 * updates with the level given to the irq line.
 */
#ifndef VMK_VIRTIO_MMIO_H
#define VMK_VIRTIO_MMIO_H

#include "base/error.h"
#include "base/guest_mem.h"
#include "base/io_loop.h"
#include "devices/bus.h"
#include "devices/irq.h"
#include "virtio/virtio.h"

#define VMK_VIRTIO_MMIO_SIZE 0x200

/* Register offsets (§4.2.2). */
#define VMK_VIRTIO_MMIO_MAGIC 0x000
#define VMK_VIRTIO_MMIO_VERSION 0x004
#define VMK_VIRTIO_MMIO_DEVICE_ID 0x008
#define VMK_VIRTIO_MMIO_VENDOR_ID 0x00c
#define VMK_VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VMK_VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VMK_VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VMK_VIRTIO_MMIO_QUEUE_SEL 0x030
#define VMK_VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VMK_VIRTIO_MMIO_QUEUE_NUM 0x038
#define VMK_VIRTIO_MMIO_QUEUE_READY 0x044
#define VMK_VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VMK_VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VMK_VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VMK_VIRTIO_MMIO_STATUS 0x070
#define VMK_VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VMK_VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VMK_VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VMK_VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VMK_VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VMK_VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VMK_VIRTIO_MMIO_SHM_SEL 0x0ac
#define VMK_VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VMK_VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VMK_VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VMK_VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define VMK_VIRTIO_MMIO_QUEUE_RESET 0x0c0
#define VMK_VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VMK_VIRTIO_MMIO_CONFIG 0x100

#define VMK_VIRTIO_MMIO_MAGIC_VALUE 0x74726976u /* "virt" */
#define VMK_VIRTIO_MMIO_VENDOR 0x4b4d56u        /* "VMK" */

#define VMK_VIRTIO_MMIO_INT_VRING 1u
#define VMK_VIRTIO_MMIO_INT_CONFIG 2u

struct vmk_virtio_mmio; /* one transport instance (one 0x200 slot) */

/* Creates the transport for dev (taking ownership of it, also on failure),
 * one eventfd per queue registered with loop. gm and loop must outlive it. */
int vmk_virtio_mmio_create(struct vmk_virtio_device *dev,
                           const struct vmk_guest_mem *gm,
                           struct vmk_irq_line irq, struct vmk_io_loop *loop,
                           struct vmk_virtio_mmio **out, vmk_error *err);
/* Bus callbacks; opaque = struct vmk_virtio_mmio *. */
extern const struct vmk_mmio_ops vmk_virtio_mmio_ops;
unsigned vmk_virtio_mmio_num_queues(const struct vmk_virtio_mmio *t);
/* The eventfd that wakes the I/O thread for queue q, or -1. */
int vmk_virtio_mmio_queue_notify_fd(const struct vmk_virtio_mmio *t,
                                    unsigned q);
/* Per-device statistics, counted by the transport for the control API. */
struct vmk_virtio_counters {
  uint64_t notifies;   /* queue notifications served (I/O thread wakeups) */
  uint64_t interrupts; /* interrupts raised (used buffers, config changes) */
  uint64_t requests;   /* descriptor chains taken from the driver */
  uint64_t bytes_out;  /* bytes in those chains' driver-written buffers */
  uint64_t bytes_in;   /* bytes the device wrote back (used lengths) */
  uint64_t errors;     /* bad requests that put the device in NEEDS_RESET */
};
/* A snapshot of t's counters; any thread. */
void vmk_virtio_mmio_counters(const struct vmk_virtio_mmio *t,
                              struct vmk_virtio_counters *out);
/* The device behind the transport (e.g. for test hooks). */
struct vmk_virtio_device *vmk_virtio_mmio_device(struct vmk_virtio_mmio *t);
/* Snapshots. freeze takes the transport's lock and holds it until thaw,
 * so no queue is served while the VM's state is written (the VM is
 * paused; the I/O thread waits). save (frozen) appends the transport's
 * and the device's state; load (before the VM starts) takes it back from
 * an untrusted snapshot, checking it against this device. */
void vmk_virtio_mmio_freeze(struct vmk_virtio_mmio *t);
void vmk_virtio_mmio_thaw(struct vmk_virtio_mmio *t);
int vmk_virtio_mmio_save(struct vmk_virtio_mmio *t, struct vmk_sbuf *out,
                         vmk_error *err);
int vmk_virtio_mmio_load(struct vmk_virtio_mmio *t, const void *data,
                         size_t len, vmk_error *err);

/* Destroys the transport and its device. Call after vmk_io_loop_stop and
 * before vmk_io_loop_destroy (it unregisters its fds from the loop). */
void vmk_virtio_mmio_destroy(struct vmk_virtio_mmio *t);

#endif
