/* console.h — virtio-console, a single port (hvc0 in the guest; virtio 1.2
 * §5.3, no MULTIPORT). Guest output goes to out_fd, in_fd feeds its input.
 * Served on the I/O thread under the transport lock. */
#ifndef VMK_VIRTIO_CONSOLE_H
#define VMK_VIRTIO_CONSOLE_H

#include "base/error.h"
#include "virtio/virtio.h"

/* in_fd: host input, or -1 for none; out_fd: where guest output goes, or -1
 * to discard it. Both are duplicated (the caller keeps and closes its own)
 * and their flags are left alone: the device polls before every read and
 * writes at most PIPE_BUF bytes to a writable fd, so blocking pipes, ttys
 * and sockets never stall the I/O thread. An in_fd that epoll cannot watch
 * (a regular file, /dev/null) is treated as empty input. Input that arrives
 * before the guest posts buffers is kept, up to 64 KiB; beyond that the
 * device stops reading in_fd until the guest catches up. */
int vmk_virtio_console_create(int in_fd, int out_fd,
                              struct vmk_virtio_device **out, vmk_error *err);

#endif
