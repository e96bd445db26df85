/* vsock_guest.c — the guest half of the vsock integration test (vsock.sh):
 * a static arm64 program run inside the default guest. Single-threaded
 * apart from fork(); no shared state.
 *
 *   vsock_guest serve PORT       accept host connections on PORT; each
 *                                (a child process) reads one command line:
 *                                "echo" echoes until EOF; "sink" reads to
 *                                EOF and answers "<crc32> <bytes>\n";
 *                                "quit" makes the server exit 0.
 *   vsock_guest echo PORT MSG    connects to the host (CID 2) PORT, sends
 *                                MSG, half-closes, prints what came back.
 *   vsock_guest source PORT N    sends N pattern bytes to host PORT,
 *                                half-closes, reads the host's
 *                                "<crc32> <bytes>" and compares.
 *   vsock_guest many PORT N      N connections to host PORT open at once,
 *                                each sends its own line, all echoes
 *                                checked.
 *   vsock_guest refused PORT     a connection to a host port with no
 *                                listener must fail with ECONNRESET.
 * Prints "vsock-guest: <what> ok|FAIL ..." lines for the host to check.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* After sys/socket.h, which it needs. */
#include <linux/vm_sockets.h>

static uint32_t crc_table[256];

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

/* zlib-compatible CRC-32 (the host checks with Python's zlib.crc32). */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
  crc = ~crc;
  while (n--)
    crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static int vconnect(unsigned port) {
  int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
  if (fd < 0)
    return -errno;
  struct sockaddr_vm a = {
      .svm_family = AF_VSOCK, .svm_cid = 2, .svm_port = port};
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

static int write_all(int fd, const void *buf, size_t n) {
  const uint8_t *p = buf;
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

/* Reads to EOF (at most cap bytes kept). */
static ssize_t read_all(int fd, char *buf, size_t cap) {
  size_t got = 0;
  for (;;) {
    ssize_t r = read(fd, buf + got, cap - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -1;
    if (r == 0)
      return (ssize_t)got;
    got += (size_t)r;
    if (got == cap)
      return (ssize_t)got;
  }
}

static int read_line(int fd, char *buf, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = read(fd, buf + n, 1);
    if (r <= 0)
      return -1;
    if (buf[n] == '\n')
      break;
    n++;
  }
  buf[n] = '\0';
  return 0;
}

static void serve_one(int fd) {
  char cmd[64];
  static uint8_t buf[65536];
  if (read_line(fd, cmd, sizeof(cmd)) < 0)
    _exit(1);
  if (!strcmp(cmd, "echo")) {
    for (;;) {
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r <= 0)
        break;
      if (write_all(fd, buf, (size_t)r) < 0)
        _exit(1);
    }
  } else if (!strcmp(cmd, "sink")) {
    uint32_t crc = 0;
    unsigned long long total = 0;
    for (;;) {
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r <= 0)
        break;
      crc = crc32_update(crc, buf, (size_t)r);
      total += (unsigned long long)r;
    }
    char line[64];
    int n = snprintf(line, sizeof(line), "%08x %llu\n", crc, total);
    write_all(fd, line, (size_t)n);
    printf("vsock-guest: sink got %llu bytes crc %08x\n", total, crc);
    fflush(stdout);
  } else if (!strcmp(cmd, "quit")) {
    write_all(fd, "bye\n", 4);
    close(fd);
    _exit(42);
  }
  close(fd);
  _exit(0);
}

static void on_child(int sig) { (void)sig; }

static int serve(unsigned port) {
  /* No SA_RESTART: a child's exit interrupts accept, so "quit" is seen. */
  struct sigaction sa = {.sa_handler = on_child};
  sigaction(SIGCHLD, &sa, NULL);
  int l = socket(AF_VSOCK, SOCK_STREAM, 0);
  struct sockaddr_vm a = {
      .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
      listen(l, 128) < 0) {
    printf("vsock-guest: serve FAIL listen: %s\n", strerror(errno));
    return 1;
  }
  printf("vsock-guest: listening on %u\n", port);
  fflush(stdout);
  for (;;) {
    int st;
    pid_t done;
    while ((done = waitpid(-1, &st, WNOHANG)) > 0)
      if (WIFEXITED(st) && WEXITSTATUS(st) == 42) {
        printf("vsock-guest: serve ok (quit)\n");
        return 0;
      }
    int fd = accept(l, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR)
        continue;
      printf("vsock-guest: serve FAIL accept: %s\n", strerror(errno));
      return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
      close(l);
      serve_one(fd);
    }
    close(fd);
  }
}

static int echo(unsigned port, const char *msg) {
  int fd = vconnect(port);
  if (fd < 0) {
    printf("vsock-guest: echo FAIL connect: %s\n", strerror(-fd));
    return 1;
  }
  char buf[256];
  if (write_all(fd, msg, strlen(msg)) < 0 || shutdown(fd, SHUT_WR) < 0) {
    printf("vsock-guest: echo FAIL write\n");
    return 1;
  }
  ssize_t n = read_all(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n < 0) {
    printf("vsock-guest: echo FAIL read\n");
    return 1;
  }
  buf[n] = '\0';
  bool ok = strcmp(buf, msg) == 0;
  printf("vsock-guest: echo %s '%s'\n", ok ? "ok" : "FAIL", buf);
  return !ok;
}

static uint64_t xs = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void) {
  xs ^= xs << 13;
  xs ^= xs >> 7;
  xs ^= xs << 17;
  return xs;
}

static int source(unsigned port, unsigned long long n) {
  int fd = vconnect(port);
  if (fd < 0) {
    printf("vsock-guest: source FAIL connect: %s\n", strerror(-fd));
    return 1;
  }
  static uint8_t buf[65536];
  uint32_t crc = 0;
  unsigned long long left = n;
  while (left) {
    size_t k = left < sizeof(buf) ? (size_t)left : sizeof(buf);
    for (size_t i = 0; i < k; i += 8) {
      uint64_t r = next_rand();
      memcpy(buf + i, &r, k - i < 8 ? k - i : 8);
    }
    crc = crc32_update(crc, buf, k);
    if (write_all(fd, buf, k) < 0) {
      printf("vsock-guest: source FAIL write after %llu bytes\n", n - left);
      return 1;
    }
    left -= k;
  }
  shutdown(fd, SHUT_WR);
  char line[64];
  ssize_t r = read_all(fd, line, sizeof(line) - 1);
  close(fd);
  line[r > 0 ? r : 0] = '\0';
  char want[64];
  snprintf(want, sizeof(want), "%08x %llu\n", crc, n);
  bool ok = strcmp(line, want) == 0;
  printf("vsock-guest: source %s sent %llu bytes crc %08x, host says %s",
         ok ? "ok" : "FAIL", n, crc, r > 0 ? line : "nothing\n");
  return !ok;
}

static int many(unsigned port, int n) {
  int fds[512];
  if (n > 512)
    n = 512;
  for (int i = 0; i < n; i++) {
    fds[i] = vconnect(port);
    if (fds[i] < 0) {
      printf("vsock-guest: many FAIL connect %d: %s\n", i, strerror(-fds[i]));
      return 1;
    }
  }
  for (int i = 0; i < n; i++) {
    char msg[32];
    int k = snprintf(msg, sizeof(msg), "conn %d\n", i);
    if (write_all(fds[i], msg, (size_t)k) < 0 || shutdown(fds[i], SHUT_WR)) {
      printf("vsock-guest: many FAIL write %d\n", i);
      return 1;
    }
  }
  int good = 0;
  for (int i = 0; i < n; i++) {
    char want[32], got[32];
    snprintf(want, sizeof(want), "conn %d\n", i);
    ssize_t r = read_all(fds[i], got, sizeof(got) - 1);
    got[r > 0 ? r : 0] = '\0';
    good += strcmp(got, want) == 0;
    close(fds[i]);
  }
  printf("vsock-guest: many %s %d/%d\n", good == n ? "ok" : "FAIL", good, n);
  return good != n;
}

static int refused(unsigned port) {
  int fd = vconnect(port);
  bool ok = fd == -ECONNRESET || fd == -ECONNREFUSED;
  printf("vsock-guest: refused %s (%s)\n", ok ? "ok" : "FAIL",
         fd < 0 ? strerror(-fd) : "connected");
  if (fd >= 0)
    close(fd);
  return !ok;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  crc_init();
  if (argc >= 3 && !strcmp(argv[1], "serve"))
    return serve((unsigned)atoi(argv[2]));
  if (argc >= 4 && !strcmp(argv[1], "echo"))
    return echo((unsigned)atoi(argv[2]), argv[3]);
  if (argc >= 4 && !strcmp(argv[1], "source"))
    return source((unsigned)atoi(argv[2]), strtoull(argv[3], NULL, 10));
  if (argc >= 4 && !strcmp(argv[1], "many"))
    return many((unsigned)atoi(argv[2]), atoi(argv[3]));
  if (argc >= 3 && !strcmp(argv[1], "refused"))
    return refused((unsigned)atoi(argv[2]));
  fprintf(stderr, "usage: vsock_guest serve|echo|source|many|refused ...\n");
  return 2;
}
