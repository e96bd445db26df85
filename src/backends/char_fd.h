/* char_fd.h — byte streams on host file descriptors (pipes, ttys, sockets,
 * files) for console-like devices. Knows nothing of virtio.
 *
 * Neither call blocks on a pipe, tty or socket even when the fd is in
 * blocking mode: both poll first, and writes are at most PIPE_BUF bytes
 * (which a writable pipe accepts whole). The callers' fd flags are left
 * alone, so a shared stdin/stdout is not switched to non-blocking mode
 * behind the user's shell. Writes never raise SIGPIPE.
 * Any thread; no state.
 */
#ifndef VMK_BACKENDS_CHAR_FD_H
#define VMK_BACKENDS_CHAR_FD_H

#include <stddef.h>
#include <sys/types.h>

/* Bytes read (> 0), 0 when nothing is available now, or a negative errno;
 * -EPIPE means end of input. */
ssize_t vmk_char_read(int fd, void *buf, size_t len);
/* Bytes written (> 0), 0 when the fd cannot take more now, or a negative
 * errno (-EPIPE: the reader went away). */
ssize_t vmk_char_write(int fd, const void *buf, size_t len);

/* A private output handle on fd whose writes never block: pipes, FIFOs and
 * ttys are reopened through /proc/self/fd with O_NONBLOCK, which gives this
 * process its own open file description (the shell's stdout keeps its
 * flags); regular files, sockets and anything that cannot be reopened get
 * a plain duplicate (files do not block, sockets are written with
 * MSG_DONTWAIT). Without this a second writer on the same pipe (another
 * console device) could fill it between our poll and our write. Returns
 * the new fd (close-on-exec, the caller closes it) or a negative errno. */
int vmk_char_dup_output(int fd);

#endif
