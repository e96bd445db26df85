/* vsock_unix.h — the host side of virtio-vsock in Firecracker's convention:
 * Unix stream sockets on the host stand for vsock ports.
 *
 *  - host -> guest: a host program connects to the listening socket PATH and
 *    writes "CONNECT <port>\n"; once the guest accepts, it reads
 *    "OK <hostport>\n" and the stream is joined to guest port <port>.
 *  - guest -> host: the guest connects to CID 2 port P; vmkit connects to the
 *    Unix socket "PATH_P"; nothing listening there means a reset.
 *
 * This file knows nothing of virtio: it makes sockets, reads the handshake
 * line and moves bytes without blocking. Every fd it returns is
 * non-blocking and close-on-exec. Any thread; no shared state (a handshake
 * belongs to its caller).
 */
#ifndef VMK_BACKENDS_VSOCK_UNIX_H
#define VMK_BACKENDS_VSOCK_UNIX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

/* sun_path holds 107 bytes; "_4294967295" (11) is appended for guest
 * connections, so PATH itself may be at most this long. */
#define VMK_VSOCK_UNIX_PATH_MAX 96
/* "CONNECT 4294967295\n" is 19 bytes; a longer line is not a handshake. */
#define VMK_VSOCK_UNIX_LINE_MAX 32

/* Checks PATH can be used (length, folder exists, not a live socket or some
 * other file); the sentence names the problem. No side effects. */
int vmk_vsock_unix_check_path(const char *path, vmk_error *err);
/* Binds and listens on PATH (a stale socket file there is replaced). */
int vmk_vsock_unix_listen(const char *path, int *fd, vmk_error *err);
/* Accepts one connection: a fd, -EAGAIN when none is waiting, or -errno. */
int vmk_vsock_unix_accept(int listen_fd);
/* Connects to "PATH_port": a fd, or -errno (-ECONNREFUSED / -ENOENT when
 * nothing listens there). Never blocks. */
int vmk_vsock_unix_connect(const char *path, uint32_t port);

/* Parses a handshake line: >0 (the line's length, newline included) with
 * *port set when buf starts with a whole valid "CONNECT <port>\n"; 0 when
 * more bytes are needed; -EINVAL when it can never become valid. */
int vmk_vsock_unix_parse_connect(const char *buf, size_t len, uint32_t *port);
/* Reads the handshake from fd without consuming bytes beyond the newline:
 * 1 done (*port set), 0 incomplete (wait for more input), -errno when the
 * peer went away or sent something else. */
int vmk_vsock_unix_read_connect(int fd, uint32_t *port);
/* Writes "OK <hostport>\n" (small enough to go out whole on a fresh socket):
 * 0 or -errno. */
int vmk_vsock_unix_send_ok(int fd, uint32_t hostport);

/* Data moves with vmk_unix_readv/vmk_unix_writev (unix_listen.h). */

#endif
