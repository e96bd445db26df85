/* vsock_unix.c — Unix-socket host side of virtio-vsock (Firecracker's
 * convention; see vsock_unix.h). Runs on whichever thread calls it (the I/O
 * thread, or the creating thread for listen); no shared state. */
#include "backends/vsock_unix.h"

#include <errno.h>
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

/* 0 when something accepts connections at path, else -errno. */
static int probe(const char *path) {
  struct sockaddr_un sa;
  int r = make_addr(&sa, path);
  if (r)
    return r;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -errno;
  r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
  close(fd);
  /* A full backlog still means a live listener. */
  return r == -EAGAIN ? 0 : r;
}

int vmk_vsock_unix_check_path(const char *path, vmk_error *err) {
  size_t n = strlen(path);
  if (n == 0)
    return vmk_err(err, -EINVAL,
                   "--vsock needs a socket path, as in --vsock /tmp/vm.sock");
  if (n > VMK_VSOCK_UNIX_PATH_MAX)
    return vmk_err(err, -ENAMETOOLONG,
                   "the vsock socket path '%s' is %zu bytes; at most %d fit "
                   "(Unix socket paths are short, and _PORT is appended for "
                   "guest connections): use a shorter path",
                   path, n, VMK_VSOCK_UNIX_PATH_MAX);
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return vmk_err(err, -EEXIST,
                     "the vsock socket path '%s' is an existing file that is "
                     "not a socket; remove it or pick another path",
                     path);
    if (probe(path) == 0)
      return vmk_err(err, -EADDRINUSE,
                     "the vsock socket '%s' is in use by another program; "
                     "pick another path",
                     path);
    return 0;
  }
  char dir[VMK_VSOCK_UNIX_PATH_MAX + 1];
  snprintf(dir, sizeof(dir), "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) {
    if (slash == dir)
      slash[1] = '\0';
    else
      *slash = '\0';
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
      return vmk_err(err, -ENOENT,
                     "the folder of the vsock socket path '%s' does not "
                     "exist; create it first",
                     path);
  }
  return 0;
}

int vmk_vsock_unix_listen(const char *path, int *out, vmk_error *err) {
  *out = -1;
  int r = vmk_vsock_unix_check_path(path, err);
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
    unlink(path); /* stale: check_path found no listener behind it */
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
    int e = errno;
    close(fd);
    return vmk_err(err, -e, "cannot listen on the vsock socket '%s': %s", path,
                   strerror(e));
  }
  *out = fd;
  return 0;
}

int vmk_vsock_unix_accept(int listen_fd) {
  int fd;
  do
    fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  return fd;
}

int vmk_vsock_unix_connect(const char *path, uint32_t port) {
  char full[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
  snprintf(full, sizeof(full), "%s_%u", path, port);
  struct sockaddr_un sa;
  int r = make_addr(&sa, full);
  if (r)
    return r;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -errno;
  do
    r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    /* A Unix connect completes at once or not at all (EAGAIN: the
     * listener's backlog is full, which the guest sees as a refusal). */
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

int vmk_vsock_unix_parse_connect(const char *buf, size_t len, uint32_t *port) {
  static const char prefix[] = "CONNECT ";
  size_t plen = sizeof(prefix) - 1;
  size_t k = len < plen ? len : plen;
  if (memcmp(buf, prefix, k) != 0)
    return -EINVAL;
  uint64_t v = 0;
  size_t digits = 0;
  for (size_t i = plen; i < len; i++) {
    char ch = buf[i];
    if (ch == '\n' || (ch == '\r' && i + 1 < len && buf[i + 1] == '\n')) {
      if (digits == 0)
        return -EINVAL;
      *port = (uint32_t)v;
      return (int)(i + (ch == '\r' ? 2 : 1));
    }
    if (ch == '\r' && i + 1 == len)
      return 0;
    if (ch < '0' || ch > '9' || ++digits > 10)
      return -EINVAL;
    v = v * 10 + (uint64_t)(ch - '0');
    if (v > UINT32_MAX)
      return -EINVAL;
  }
  return len >= VMK_VSOCK_UNIX_LINE_MAX ? -EINVAL : 0;
}

int vmk_vsock_unix_read_connect(int fd, uint32_t *port) {
  char buf[VMK_VSOCK_UNIX_LINE_MAX];
  ssize_t n;
  /* Peek, so bytes the host sends after the line stay in the socket for
   * the guest. */
  do
    n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  if (n == 0)
    return -EPIPE;
  int r = vmk_vsock_unix_parse_connect(buf, (size_t)n, port);
  if (r <= 0)
    return r;
  n = recv(fd, buf, (size_t)r, MSG_DONTWAIT);
  return n == r ? 1 : -EIO;
}

int vmk_vsock_unix_send_ok(int fd, uint32_t hostport) {
  char line[24];
  int n = snprintf(line, sizeof(line), "OK %u\n", hostport);
  ssize_t w = send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (w < 0)
    return -errno;
  return w == n ? 0 : -EAGAIN;
}
