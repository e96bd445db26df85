/* unix_listen.c — listening Unix stream sockets for host clients (see
 * unix_listen.h). Runs on the calling thread (the creating thread for
 * listen, the I/O thread for the rest); no shared state. */
#include "backends/unix_listen.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int make_addr(struct sockaddr_un *sa, const char *path) {
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof(sa->sun_path))
    return -ENAMETOOLONG;
  memcpy(sa->sun_path, path, n);
  return 0;
}

/* True when a program accepts connections at path. */
static bool live(const char *path) {
  struct sockaddr_un sa;
  if (make_addr(&sa, path))
    return false;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return false;
  int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
  close(fd);
  return r == 0 || r == -EAGAIN; /* a full backlog is a live listener too */
}

int vmk_unix_listen_check(const char *what, const char *path, vmk_error *err) {
  size_t n = strlen(path);
  if (n == 0)
    return vmk_err(err, -EINVAL, "%s is empty; give a socket path", what);
  if (n > VMK_UNIX_PATH_MAX)
    return vmk_err(err, -ENAMETOOLONG,
                   "%s '%s' is %zu bytes; at most %d fit in a Unix socket "
                   "address, so use a shorter path",
                   what, path, n, VMK_UNIX_PATH_MAX);
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return vmk_err(err, -EEXIST,
                     "%s '%s' is an existing file that is not a socket; "
                     "remove it or pick another path",
                     what, path);
    if (live(path))
      return vmk_err(err, -EADDRINUSE,
                     "%s '%s' is in use by another program; pick another "
                     "path",
                     what, path);
    return 0;
  }
  char dir[VMK_UNIX_PATH_MAX + 1];
  snprintf(dir, sizeof(dir), "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) {
    if (slash == dir)
      slash[1] = '\0';
    else
      *slash = '\0';
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
      return vmk_err(err, -ENOENT,
                     "the folder of %s '%s' does not exist; create it first",
                     what, path);
  }
  return 0;
}

int vmk_unix_listen(const char *what, const char *path, int *out,
                    vmk_error *err) {
  *out = -1;
  int r = vmk_unix_listen_check(what, path, err);
  if (r)
    return r;
  struct sockaddr_un sa;
  make_addr(&sa, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return vmk_err(err, -errno, "cannot create a Unix socket: %s",
                   strerror(errno));
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
    unlink(path); /* stale: the check found no listener behind it */
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
    int e = errno;
    close(fd);
    return vmk_err(err, -e, "cannot listen on %s '%s': %s", what, path,
                   strerror(e));
  }
  *out = fd;
  return 0;
}

int vmk_unix_accept(int listen_fd) {
  int fd;
  do
    fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  return fd;
}

ssize_t vmk_unix_readv(int fd, const struct iovec *iov, int n) {
  struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
  ssize_t r;
  do
    r = recvmsg(fd, &m, MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return -EPIPE;
  if (r < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  return r;
}

ssize_t vmk_unix_writev(int fd, const struct iovec *iov, int n) {
  struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
  ssize_t r;
  do
    r = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  return r;
}
