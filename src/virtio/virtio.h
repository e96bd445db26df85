/* virtio.h — what a virtio device model is, and the services its transport
 * gives it.
 *
 * A device (blk, console, rng) describes itself with vmk_virtio_device_ops
 * and a static config space; the transport (mmio.c) owns the queues, the
 * status register and interrupts. Threads: device callbacks run with the
 * transport's lock held — queue_notify and reset on the I/O thread or a vCPU
 * thread (reset), never concurrently. Device-originated events (console
 * input) take the same lock with vmk_virtio_lock/unlock.
 * Constants follow the virtio 1.2 specification.
 */
#ifndef VMK_VIRTIO_VIRTIO_H
#define VMK_VIRTIO_VIRTIO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/guest_mem.h"
#include "base/io_loop.h"
#include "base/sbuf.h"

/* Device IDs (virtio 1.2 §5). */
#define VMK_VIRTIO_ID_BLOCK 2
#define VMK_VIRTIO_ID_CONSOLE 3
#define VMK_VIRTIO_ID_RNG 4

/* Device status bits (§2.1). */
#define VMK_VIRTIO_S_ACKNOWLEDGE 1u
#define VMK_VIRTIO_S_DRIVER 2u
#define VMK_VIRTIO_S_DRIVER_OK 4u
#define VMK_VIRTIO_S_FEATURES_OK 8u
#define VMK_VIRTIO_S_NEEDS_RESET 0x40u
#define VMK_VIRTIO_S_FAILED 0x80u

/* Transport-independent feature bits (§6). */
#define VMK_VIRTIO_F_INDIRECT_DESC 28
#define VMK_VIRTIO_F_EVENT_IDX 29
#define VMK_VIRTIO_F_VERSION_1 32

#define VMK_VIRTIO_BIT(b) (1ull << (b))

/* Every device offers at most this many queues and this queue size (34:
 * console ports, 2 per port for 16 ports and 2 control queues). */
#define VMK_VIRTIO_MAX_QUEUES 34
#define VMK_VIRTIO_QUEUE_MAX 256

struct vmk_virtio_device;
struct vmk_virtio_mmio;
struct vmk_vq;

struct vmk_virtio_device_ops {
  const char *name; /* "virtio-blk": used in log lines */
  uint32_t device_id;
  /* Called once when the device is attached to a transport (creating
   * thread, before the VM runs): register backend fds with the loop. */
  int (*attach)(struct vmk_virtio_device *dev, vmk_error *err);
  /* Undo attach; the I/O loop is stopped but not yet destroyed. */
  void (*detach)(struct vmk_virtio_device *dev);
  /* The driver kicked queue q (I/O thread, lock held, device running). */
  void (*queue_notify)(struct vmk_virtio_device *dev, unsigned q);
  /* Forget all in-flight state (lock held; vCPU or I/O thread). */
  void (*reset)(struct vmk_virtio_device *dev);
  void (*free)(struct vmk_virtio_device *dev);
  /* Snapshots (transport lock held, vCPUs paused). save: the device's
   * state beyond its queues into out, and in rewind[q] how many chains of
   * queue q it has taken and not returned (the restored device takes them
   * again); 0, or -errno with err saying why it cannot be saved now. A
   * device without save cannot be saved (a snapshot of its VM is refused
   * with its name), so a new device is never saved half. load: takes
   * what save wrote (untrusted input: check it) after the transport's
   * state was restored. */
  int (*save)(struct vmk_virtio_device *dev, struct vmk_sbuf *out,
              unsigned rewind[VMK_VIRTIO_MAX_QUEUES], vmk_error *err);
  int (*load)(struct vmk_virtio_device *dev, struct vmk_sreader *in,
              vmk_error *err);
  /* Optional: the driver wrote size bytes (1, 2 or 4) at offset off of the
   * config space (vCPU thread, lock held). Without it writes are ignored.
   * Devices whose config changes keep `config` up to date under the lock. */
  void (*config_write)(struct vmk_virtio_device *dev, uint32_t off,
                       unsigned size, uint32_t val);
};

/* Embedded at the start of each device's private struct. */
struct vmk_virtio_device {
  const struct vmk_virtio_device_ops *ops;
  uint64_t features;        /* offered to the driver */
  uint64_t driver_features; /* accepted by the driver (valid once running) */
  unsigned num_queues;      /* <= VMK_VIRTIO_MAX_QUEUES */
  const uint8_t *config;    /* device config space, little-endian, static */
  uint32_t config_len;
  char label[64]; /* names the device in log lines, e.g. the image file */
  /* Set by the transport on attach. */
  struct vmk_virtio_mmio *transport;
  const struct vmk_guest_mem *gm;
  struct vmk_io_loop *loop;
};

/* save/load for devices whose whole state is in their queues (every
 * request is served and returned before the transport lock is let go). */
int vmk_virtio_save_none(struct vmk_virtio_device *dev, struct vmk_sbuf *out,
                         unsigned rewind[VMK_VIRTIO_MAX_QUEUES],
                         vmk_error *err);
int vmk_virtio_load_none(struct vmk_virtio_device *dev, struct vmk_sreader *in,
                         vmk_error *err);

/* Frees a device that was never attached to a transport. */
void vmk_virtio_device_free(struct vmk_virtio_device *dev);

/* --- Services of the transport, for device code (implemented in mmio.c) */

struct vmk_vq_chain;
/* Takes the next chain of queue q: 1 taken, 0 none (or queue not ready),
 * <0 the guest wrote garbage and the device now needs a reset. Lock held. */
int vmk_virtio_pop(struct vmk_virtio_device *dev, unsigned q,
                   struct vmk_vq_chain *c);
/* Returns a chain to the driver; the used-buffer interrupt is raised when
 * the current event ends (queue_notify returns, or vmk_virtio_unlock). */
void vmk_virtio_push(struct vmk_virtio_device *dev, unsigned q, uint16_t head,
                     uint32_t len);
/* True when DRIVER_OK is set and the device does not need a reset. */
bool vmk_virtio_running(struct vmk_virtio_device *dev);
/* A guest error: set DEVICE_NEEDS_RESET, raise a config-change interrupt,
 * stop serving the device until the driver resets it, and log one line to
 * stderr. Lock held. */
/* Asks for queue_notify(q) again later (for devices that stop after a
 * batch so one busy queue cannot starve the I/O thread). Any thread. */
void vmk_virtio_kick(struct vmk_virtio_device *dev, unsigned q);
void vmk_virtio_device_error(struct vmk_virtio_device *dev, const char *fmt,
                             ...) __attribute__((format(printf, 2, 3)));
/* The device changed its config space: bump the config generation and
 * raise the configuration-change interrupt (§2.5.1). Lock held. */
void vmk_virtio_config_changed(struct vmk_virtio_device *dev);
/* For events a device receives itself (I/O thread): take the transport lock;
 * unlock raises the used-buffer interrupt if buffers were returned. */
void vmk_virtio_lock(struct vmk_virtio_device *dev);
void vmk_virtio_unlock(struct vmk_virtio_device *dev);

#endif
