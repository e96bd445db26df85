/* nested_peer.c — the host-side peers of the nested KVM test (run.sh), a
 * static arm64 program run in the nested host, whose busybox has no Unix
 * socket client or listener and whose nc cannot half-close. One process,
 * one thread, no shared state.
 *
 *   nested_peer tcp ADDR PORT MSG       connects to ADDR:PORT (a vmkit
 *                                       --forward), sends MSG and a
 *                                       newline, half-closes, prints the
 *                                       reply: "nested-peer: tcp reply 'R'".
 *   nested_peer listen PATH             listens on the Unix socket PATH (a
 *                                       vsock PATH_PORT for guest -> host
 *                                       connections), accepts one
 *                                       connection, echoes it to EOF:
 *                                       "nested-peer: listen echoed 'R'".
 *   nested_peer vsock PATH PORT CMD [MSG]
 *                                       Firecracker's host -> guest
 *                                       handshake on the Unix socket PATH
 *                                       ("CONNECT PORT\n", "OK N\n"), then
 *                                       sends CMD, a newline and MSG,
 *                                       half-closes, prints the reply:
 *                                       "nested-peer: vsock CMD reply 'R'".
 * Exit 0 when a reply came, 3 when the peer was not there yet (refused,
 * reset, no OK, an empty reply through the forward), so the caller can
 * retry; 1 otherwise (or killed by SIGALRM after 120 s).
 * The replies are checked by run.sh on the outer side.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { RETRY = 3 };

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads to EOF; a reset ends the stream too. Keeps at most cap-1 bytes,
 * NUL-terminated, with a trailing newline dropped. */
static size_t read_reply(int fd, char *buf, size_t cap) {
  size_t got = 0;
  for (;;) {
    ssize_t r = read(fd, buf + got, cap - 1 - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0 || (got += (size_t)r) == cap - 1)
      break;
  }
  if (got && buf[got - 1] == '\n')
    got--;
  buf[got] = '\0';
  return got;
}

static int unix_socket(const char *path, struct sockaddr_un *a) {
  if (strlen(path) >= sizeof(a->sun_path)) {
    fprintf(stderr, "nested-peer: socket path too long: %s\n", path);
    return -1;
  }
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  strcpy(a->sun_path, path);
  return socket(AF_UNIX, SOCK_STREAM, 0);
}

/* Sends "head\nbody" (body may be NULL), half-closes, reads the reply. */
static int exchange(int fd, const char *head, const char *body, char *reply,
                    size_t cap) {
  if (write_all(fd, head, strlen(head)) < 0 || write_all(fd, "\n", 1) < 0 ||
      (body && write_all(fd, body, strlen(body)) < 0) ||
      shutdown(fd, SHUT_WR) < 0)
    return -1;
  read_reply(fd, reply, cap);
  return 0;
}

static int tcp(const char *addr, const char *port, const char *msg) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)atoi(port))};
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
    fprintf(stderr, "nested-peer: bad IPv4 address %s\n", addr);
    return 1;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
    fprintf(stderr, "nested-peer: connect %s:%s: %s\n", addr, port,
            strerror(errno));
    return RETRY;
  }
  char reply[512];
  int rc = exchange(fd, msg, NULL, reply, sizeof(reply));
  close(fd);
  if (rc < 0)
    return RETRY;
  /* An empty reply: vmkit's NAT accepted, the guest had no listener yet. */
  if (!reply[0])
    return RETRY;
  printf("nested-peer: tcp reply '%s'\n", reply);
  return 0;
}

static int listen_echo(const char *path) {
  struct sockaddr_un a;
  int l = unix_socket(path, &a);
  unlink(path);
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
      listen(l, 4) < 0) {
    fprintf(stderr, "nested-peer: listen %s: %s\n", path, strerror(errno));
    return 1;
  }
  printf("nested-peer: listening on %s\n", path);
  fflush(stdout);
  int fd = accept(l, NULL, NULL);
  if (fd < 0) {
    fprintf(stderr, "nested-peer: accept: %s\n", strerror(errno));
    return 1;
  }
  char buf[512];
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    if (write_all(fd, buf + n, (size_t)r) < 0)
      break;
    n += (size_t)r;
    if (n == sizeof(buf) - 1)
      break;
  }
  buf[n] = '\0';
  close(fd);
  close(l);
  printf("nested-peer: listen echoed '%s'\n", buf);
  return 0;
}

static int vsock(const char *path, const char *port, const char *cmd,
                 const char *msg) {
  struct sockaddr_un a;
  int fd = unix_socket(path, &a);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
    fprintf(stderr, "nested-peer: connect %s: %s\n", path, strerror(errno));
    return RETRY;
  }
  char line[64];
  int k = snprintf(line, sizeof(line), "CONNECT %s\n", port);
  if (k < 0 || (size_t)k >= sizeof(line) || write_all(fd, line, (size_t)k) < 0)
    return 1;
  /* The answer line, byte by byte so nothing after it is consumed. */
  size_t n = 0;
  while (n + 1 < sizeof(line)) {
    ssize_t r = read(fd, line + n, 1);
    if (r <= 0 || line[n] == '\n')
      break;
    n++;
  }
  line[n] = '\0';
  if (strncmp(line, "OK ", 3)) {
    /* Nothing listens on the guest port yet: vmkit closes without OK. */
    close(fd);
    return RETRY;
  }
  char reply[512];
  int rc = exchange(fd, cmd, msg, reply, sizeof(reply));
  close(fd);
  if (rc < 0)
    return 1;
  printf("nested-peer: vsock %s reply '%s'\n", cmd, reply);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* A client whose peer never answers must not stall the scenario:
   * SIGALRM ends it, which the caller sees as a failure, not a retry. (The
   * listener waits as long as the guest takes to boot; the scenario ends
   * it.) */
  if (argc >= 2 && strcmp(argv[1], "listen"))
    alarm(120);
  if (argc == 5 && !strcmp(argv[1], "tcp"))
    return tcp(argv[2], argv[3], argv[4]);
  if (argc == 3 && !strcmp(argv[1], "listen"))
    return listen_echo(argv[2]);
  if ((argc == 5 || argc == 6) && !strcmp(argv[1], "vsock"))
    return vsock(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
  fprintf(stderr, "usage: nested_peer tcp ADDR PORT MSG | listen PATH | "
                  "vsock PATH PORT CMD [MSG]\n");
  return 2;
}
