/* ports.h — named console ports: a second virtio-console device with
 * VIRTIO_CONSOLE_F_MULTIPORT (virtio 1.2 §5.3.6), each port joined to a
 * Unix socket vmkit listens on (the guest sees /dev/vportNpM, named
 * /dev/virtio-ports/NAME by udev or the default guest's init).
 * Served on the I/O thread under the transport lock; see ports.c.
 */
#ifndef VMK_VIRTIO_PORTS_H
#define VMK_VIRTIO_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "virtio/virtio.h"

#define VMK_VIRTIO_CONSOLE_F_MULTIPORT 1

/* Control messages (§5.3.6.2): struct virtio_console_control. */
#define VMK_PORTS_CTRL_LEN 8
enum vmk_ports_event {
  VMK_PORTS_DEVICE_READY = 0, /* driver -> device */
  VMK_PORTS_DEVICE_ADD = 1,   /* device -> driver */
  VMK_PORTS_DEVICE_REMOVE = 2,
  VMK_PORTS_PORT_READY = 3, /* driver -> device */
  VMK_PORTS_CONSOLE_PORT = 4,
  VMK_PORTS_RESIZE = 5,
  VMK_PORTS_PORT_OPEN = 6, /* both ways */
  VMK_PORTS_PORT_NAME = 7,
};

struct vmk_ports_ctrl {
  uint32_t id;
  uint16_t event, value;
};

/* What to do with a control message the driver sent. */
enum vmk_ports_verdict {
  VMK_PORTS_CTRL_OK,     /* act on it */
  VMK_PORTS_CTRL_IGNORE, /* well framed but meaningless: a port id out of
                            range, an event only the device sends, a value
                            other than 0 or 1; dropped */
  VMK_PORTS_CTRL_BAD,    /* shorter than a control message: NEEDS_RESET */
};

/* Decodes and checks a control message of len bytes for a device with
 * nports ports. Pure; the fuzzer drives it directly. */
enum vmk_ports_verdict vmk_ports_ctrl_parse(const uint8_t *buf, size_t len,
                                            unsigned nports,
                                            struct vmk_ports_ctrl *out);

/* Limits (vmkit.h): VMK_MAX_PORTS ports, names of VMK_PORT_NAME_MAX bytes
 * (a port name becomes a file name in the guest). */
#define VMK_PORTS_MAX VMK_MAX_PORTS

struct vmk_port_spec {
  const char *name; /* 1..VMK_PORT_NAME_MAX of [A-Za-z0-9._-] */
  const char *path; /* the Unix socket vmkit listens on */
};

/* Creates the device with n (1..VMK_PORTS_MAX) ports, port i named
 * specs[i].name, listening on specs[i].path (a stale socket file there is
 * replaced; the file is removed when the device is freed). */
int vmk_virtio_ports_create(const struct vmk_port_spec *specs, unsigned n,
                            struct vmk_virtio_device **out, vmk_error *err);

/* For tests: port i's state as the device sees it. Lock held or idle. */
struct vmk_port_state {
  bool added;          /* DEVICE_ADD sent */
  bool ready;          /* the driver answered PORT_READY 1 */
  bool guest_open;     /* the driver said PORT_OPEN 1 (a guest program) */
  bool host_connected; /* a host client is connected */
};
void vmk_virtio_ports_state(struct vmk_virtio_device *dev, unsigned i,
                            struct vmk_port_state *s);
/* Control messages dropped as meaningless since creation. */
unsigned vmk_virtio_ports_ignored(struct vmk_virtio_device *dev);

#endif
