/* unix_listen.h — a Unix stream socket vmkit listens on for one host client
 * at a time (the host side of console ports): path checks, listen, accept,
 * and non-blocking scatter I/O on the accepted connection.
 *
 * Knows nothing of virtio. Every fd it returns is non-blocking and
 * close-on-exec; no call blocks and none raises SIGPIPE. Any thread; no
 * shared state.
 */
#ifndef VMK_BACKENDS_UNIX_LISTEN_H
#define VMK_BACKENDS_UNIX_LISTEN_H

#include <sys/types.h>
#include <sys/uio.h>

#include "base/error.h"

/* sun_path holds 108 bytes, the terminating NUL included. */
#define VMK_UNIX_PATH_MAX 107

/* Checks that path can be listened on: not empty, short enough, its folder
 * exists, and nothing but a stale socket is there (a live listener or
 * another kind of file is refused). what names the path in the sentence,
 * e.g. "the socket of port 'agent'". No side effects. */
int vmk_unix_listen_check(const char *what, const char *path, vmk_error *err);
/* Checks path, replaces a stale socket file and listens on it. */
int vmk_unix_listen(const char *what, const char *path, int *fd,
                    vmk_error *err);
/* One waiting connection: a fd, -EAGAIN when none waits, or -errno. */
int vmk_unix_accept(int listen_fd);
/* Bytes moved, 0 when the call would block, -EPIPE at end of input (read),
 * or another negative errno. */
ssize_t vmk_unix_readv(int fd, const struct iovec *iov, int n);
ssize_t vmk_unix_writev(int fd, const struct iovec *iov, int n);

#endif
