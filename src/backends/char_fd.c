/* char_fd.c — non-blocking byte I/O on host fds without touching their
 * flags. Any thread; no state (SIGPIPE is masked only in the calling thread
 * and only around one write). */
#include "backends/char_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static bool ready(int fd, short ev) {
  struct pollfd p = {.fd = fd, .events = ev};
  int r;
  do
    r = poll(&p, 1, 0);
  while (r < 0 && errno == EINTR);
  /* Errors and hang-ups count as ready: the read/write reports them. */
  return r > 0;
}

ssize_t vmk_char_read(int fd, void *buf, size_t len) {
  if (!ready(fd, POLLIN))
    return 0;
  ssize_t r;
  do
    r = read(fd, buf, len);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return -EPIPE;
  if (r < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  return r;
}

/* write(2) with SIGPIPE blocked in this thread; a SIGPIPE it raises is
 * consumed so the process (which may not ignore SIGPIPE) survives. */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len) {
  sigset_t pipe_set, old, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  ssize_t r;
  do
    r = write(fd, buf, len);
  while (r < 0 && errno == EINTR);
  int e = errno;
  if (r < 0 && e == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
      ;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = e;
  return r;
}

ssize_t vmk_char_write(int fd, const void *buf, size_t len) {
  if (len == 0 || !ready(fd, POLLOUT))
    return 0;
  if (len > PIPE_BUF)
    len = PIPE_BUF;
  ssize_t r = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (r < 0 && errno == ENOTSOCK)
    r = write_nosigpipe(fd, buf, len);
  if (r < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  return r;
}

int vmk_char_dup_output(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0)
    return -errno;
  if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
    char path[32];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int nfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (nfd >= 0)
      return nfd;
    /* ENXIO: a pipe without a reader, where every write fails with EPIPE
     * anyway; other failures (no /proc, a device that refuses a second
     * open) fall back to the shared description, polled before writing. */
  }
  int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  return nfd < 0 ? -errno : nfd;
}
