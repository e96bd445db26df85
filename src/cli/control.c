/* control.c — named VMs from the command line: the API socket, a small
 * HTTP client for the verbs (list, pause, resume, stop, request-stop,
 * inspect, save, restore, console, serve), and the detached console relay.
 *
 * Threads: everything runs on the main thread except the console relay of
 * a named VM (detached or in the foreground), which has its own thread and
 * owns its fds (no shared state with the main thread but the stop pipe;
 * the main thread may write keys into the same guest input pipe).
 */
#include "cli/control.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "backends/char_fd.h"
#include "base/error.h"
#include "base/thread.h"
#include "core/api.h"
#include "core/runtime.h"

#define EXIT_USAGE 2

/* One sentence on stderr; returns status. */
static int say(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int say(int status, const char *fmt, ...) {
  va_list ap;
  fputs("vmkit: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return status;
}

static int unix_addr(const char *path, struct sockaddr_un *a, vmk_error *err) {
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(a->sun_path))
    return vmk_err(err, -ENAMETOOLONG,
                   "socket path '%s' is too long for a Unix socket", path);
  memcpy(a->sun_path, path, strlen(path) + 1);
  return 0;
}

int vmk_cli_listen(const char *path, vmk_error *err) {
  struct sockaddr_un a;
  int r = unix_addr(path, &a, err);
  if (r)
    return r;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return vmk_err(err, -errno, "cannot create a socket: %s", strerror(errno));
  unlink(path);
  /* 0600 from the start: no window in which others could connect. */
  mode_t old = umask(0177);
  r = bind(fd, (struct sockaddr *)&a, sizeof(a));
  umask(old);
  if (r < 0 || listen(fd, 16) < 0) {
    r = -errno;
    close(fd);
    return vmk_err(err, r, "cannot listen on '%s': %s", path, strerror(-r));
  }
  return fd;
}

static int connect_unix(const char *path, vmk_error *err) {
  struct sockaddr_un a;
  int r = unix_addr(path, &a, err);
  if (r)
    return r;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return vmk_err(err, -errno, "cannot create a socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
    r = -errno;
    close(fd);
    return vmk_err(err, r, "cannot reach '%s': %s", path, strerror(-r));
  }
  return fd;
}

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

/* Decodes a chunked body in place; returns its length. */
static size_t unchunk(char *b, size_t n) {
  size_t in = 0, out = 0;
  while (in < n) {
    char *end;
    unsigned long len = strtoul(b + in, &end, 16);
    char *nl = memchr(b + in, '\n', n - in);
    if (!nl || len == 0)
      break;
    in = (size_t)(nl - b) + 1;
    if (len > n - in)
      len = n - in;
    memmove(b + out, b + in, len);
    out += len;
    in += len + 2; /* CRLF after the data */
  }
  b[out] = '\0';
  return out;
}

int vmk_cli_http(const char *sock_path, const char *method, const char *path,
                 const char *body, char **resp, vmk_error *err) {
  *resp = NULL;
  int fd = connect_unix(sock_path, err);
  if (fd < 0)
    return fd;
  char head[512];
  size_t blen = body ? strlen(body) : 0;
  int hn = snprintf(head, sizeof(head),
                    "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                    "\r\n",
                    method, path, blen);
  if (write_all(fd, head, (size_t)hn) || (blen && write_all(fd, body, blen))) {
    close(fd);
    return vmk_err(err, -EIO, "the VM's API socket '%s' closed the request",
                   sock_path);
  }
  /* Answers are small; 1 MiB bounds a misbehaving peer. */
  size_t cap = 8192, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (!buf)
      break;
    if (n + 1 == cap) {
      if (cap >= (1u << 20))
        break;
      char *b = realloc(buf, cap *= 2);
      if (!b) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = b;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 30000) <= 0)
      break;
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r <= 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  if (!buf)
    return vmk_err(err, -ENOMEM, "out of memory");
  buf[n] = '\0';
  int status = 0;
  char *sep = strstr(buf, "\r\n\r\n");
  if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || !sep) {
    free(buf);
    return vmk_err(err, -EPROTO, "the VM's API socket '%s' gave no answer",
                   sock_path);
  }
  *sep = '\0';
  bool chunked = strcasestr(buf, "transfer-encoding: chunked") != NULL;
  char *b = sep + 4;
  size_t len = n - (size_t)(b - buf);
  if (chunked)
    len = unchunk(b, len);
  memmove(buf, b, len + 1);
  *resp = buf;
  return status;
}

/* ---- the console relay --------------------------------------------- */

#define TAIL_SIZE 16384
#define TERM_PENDING (64u << 10) /* output held for a slow terminal */

struct vmk_console_relay {
  int out_fd, in_fd, log_fd, listen_fd, client_fd;
  int term_out, term_in; /* a foreground VM's terminal, or -1 */
  char *log_path;
  uint64_t log_max;
  int stop[2];
  pthread_t thread;
  char tail[TAIL_SIZE]; /* the last output, replayed to a new client */
  size_t tail_len;
  char *pending; /* output the terminal could not take yet */
  size_t pending_len;
};

static void tail_add(struct vmk_console_relay *r, const char *p, size_t n) {
  if (n >= TAIL_SIZE) {
    memcpy(r->tail, p + n - TAIL_SIZE, TAIL_SIZE);
    r->tail_len = TAIL_SIZE;
    return;
  }
  if (r->tail_len + n > TAIL_SIZE) {
    size_t drop = r->tail_len + n - TAIL_SIZE;
    memmove(r->tail, r->tail + drop, r->tail_len - drop);
    r->tail_len -= drop;
  }
  memcpy(r->tail + r->tail_len, p, n);
  r->tail_len += n;
}

/* Appends to console.log, which never grows past log_max: beyond it the
 * log becomes console.log.1 (replacing the previous one) and a new one
 * starts, so the two hold at most 2 x log_max. fstat, not a count, so
 * vmkit's own messages (a -d VM's stderr) are counted too. */
static void log_write(struct vmk_console_relay *r, const char *p, size_t n) {
  if (r->log_fd < 0)
    return;
  if (n > r->log_max) {
    p += n - r->log_max;
    n = (size_t)r->log_max;
  }
  struct stat st;
  if (fstat(r->log_fd, &st) == 0 && st.st_size > 0 &&
      (uint64_t)st.st_size + n > r->log_max) {
    char old[PATH_MAX];
    snprintf(old, sizeof(old), "%s.1", r->log_path);
    int fd = -1;
    if (rename(r->log_path, old) == 0)
      fd = open(r->log_path,
                O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
      close(r->log_fd);
      r->log_fd = fd;
    } else if (ftruncate(r->log_fd, 0) < 0) {
      return; /* cannot bound it: stop writing rather than fill the disk */
    }
  }
  if (write_all(r->log_fd, p, n)) {
    /* a full disk must not stop the console */
  }
}

/* Writes what the terminal takes now without blocking (vmk_char_write
 * leaves the shell's fd flags alone); a terminal that stalls holds up to
 * TERM_PENDING bytes and loses output beyond, and one that went away
 * (`vmkit run | head`) becomes a sink. */
static void term_flush(struct vmk_console_relay *r) {
  size_t done = 0;
  while (r->term_out >= 0 && done < r->pending_len) {
    ssize_t w =
        vmk_char_write(r->term_out, r->pending + done, r->pending_len - done);
    if (w < 0)
      r->term_out = -1;
    if (w <= 0)
      break;
    done += (size_t)w;
  }
  if (r->term_out < 0)
    done = r->pending_len;
  memmove(r->pending, r->pending + done, r->pending_len - done);
  r->pending_len -= done;
}

static void term_write(struct vmk_console_relay *r, const char *p, size_t n) {
  if (r->term_out < 0)
    return;
  size_t room = TERM_PENDING - r->pending_len;
  if (n > room)
    n = room; /* the newest output is lost, as a stalled reader's */
  memcpy(r->pending + r->pending_len, p, n);
  r->pending_len += n;
  term_flush(r);
}

static void output(struct vmk_console_relay *r, const char *buf, size_t n) {
  log_write(r, buf, n);
  tail_add(r, buf, n);
  term_write(r, buf, n);
  /* A client that does not keep up loses output, as a console reader
   * does; it never stalls the guest. */
  if (r->client_fd >= 0 &&
      send(r->client_fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
      errno != EAGAIN) {
    close(r->client_fd);
    r->client_fd = -1;
  }
}

/* At the end: what the guest wrote last still reaches the log, the client
 * and (within a second) the terminal. */
static void relay_drain(struct vmk_console_relay *r) {
  char buf[4096];
  ssize_t n;
  while (r->out_fd >= 0 && (n = read(r->out_fd, buf, sizeof(buf))) > 0)
    output(r, buf, (size_t)n);
  for (int i = 0; i < 100 && r->term_out >= 0 && r->pending_len; i++) {
    struct pollfd p = {.fd = r->term_out, .events = POLLOUT};
    if (poll(&p, 1, 10) > 0)
      term_flush(r);
  }
}

static void *relay_main(void *arg) {
  struct vmk_console_relay *r = arg;
  char buf[4096];
  for (;;) {
    struct pollfd p[6] = {
        {.fd = r->stop[0], .events = POLLIN},
        {.fd = r->out_fd, .events = POLLIN},
        {.fd = r->listen_fd, .events = POLLIN},
        {.fd = r->client_fd, .events = POLLIN},
        {.fd = r->term_in, .events = POLLIN},
        {.fd = r->pending_len ? r->term_out : -1, .events = POLLOUT}};
    if (poll(p, 6, -1) < 0 && errno != EINTR)
      break;
    if (p[0].revents) {
      relay_drain(r);
      break;
    }
    if (p[1].revents) {
      ssize_t n = read(r->out_fd, buf, sizeof(buf));
      if (n > 0)
        output(r, buf, (size_t)n);
      else if (n == 0 || errno != EAGAIN)
        r->out_fd = -1; /* poll ignores negative fds */
    }
    if (p[5].revents)
      term_flush(r);
    if (p[2].revents & POLLIN) {
      int c = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c >= 0) {
        if (r->client_fd >= 0)
          close(r->client_fd); /* the newest client wins */
        r->client_fd = c;
        if (send(c, r->tail, r->tail_len, MSG_NOSIGNAL) < 0) {
          /* the client sees the live output from here */
        }
      }
    }
    /* Keys from the client and from the terminal both go to the guest,
     * as they come (two keyboards on one machine). */
    for (int k = 3; k <= 4; k++) {
      int *fd = k == 3 ? &r->client_fd : &r->term_in;
      if (*fd < 0 || !p[k].revents)
        continue;
      ssize_t n = read(*fd, buf, sizeof(buf));
      if (n > 0) {
        if (write(r->in_fd, buf, (size_t)n) < 0) {
          /* keys typed while the guest does not read are dropped */
        }
      } else if (n == 0 || errno != EAGAIN) {
        if (k == 3)
          close(*fd); /* the terminal is not ours to close */
        *fd = -1;
      }
    }
  }
  return NULL;
}

int vmk_console_relay_start_opts(const struct vmk_console_relay_opts *o,
                                 struct vmk_console_relay **out,
                                 vmk_error *err) {
  struct vmk_console_relay *r = calloc(1, sizeof(*r));
  if (!r)
    return vmk_err(err, -ENOMEM, "out of memory");
  r->out_fd = o->out_fd;
  r->in_fd = o->in_fd;
  r->term_out = o->term_out;
  r->term_in = o->term_in;
  r->log_max = o->log_max ? o->log_max : VMK_CONSOLE_LOG_MAX;
  r->client_fd = -1;
  r->listen_fd = -1;
  r->stop[0] = r->stop[1] = -1;
  r->log_path = strdup(o->log_path);
  r->pending = malloc(TERM_PENDING);
  r->log_fd =
      open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int e = 0;
  if (!r->log_path || !r->pending)
    e = vmk_err(err, -ENOMEM, "out of memory");
  else if (r->log_fd < 0)
    e = vmk_err(err, -errno, "cannot open '%s': %s", o->log_path,
                strerror(errno));
  else if ((r->listen_fd = vmk_cli_listen(o->sock_path, err)) < 0)
    e = r->listen_fd;
  else if (pipe2(r->stop, O_CLOEXEC) < 0)
    e = vmk_err(err, -errno, "cannot create a pipe: %s", strerror(errno));
  else if ((e = -vmk_thread_create(&r->thread, relay_main, r)))
    vmk_err(err, e, "cannot start the console thread");
  if (e) {
    if (r->log_fd >= 0)
      close(r->log_fd);
    if (r->listen_fd >= 0)
      close(r->listen_fd);
    if (r->stop[0] >= 0) {
      close(r->stop[0]);
      close(r->stop[1]);
    }
    free(r->log_path);
    free(r->pending);
    free(r);
    return e;
  }
  fcntl(o->out_fd, F_SETFL, O_NONBLOCK);
  fcntl(o->in_fd, F_SETFL, O_NONBLOCK);
  *out = r;
  return 0;
}

int vmk_console_relay_start(int out_fd, int in_fd, const char *log_path,
                            const char *sock_path,
                            struct vmk_console_relay **out, vmk_error *err) {
  struct vmk_console_relay_opts o = {.out_fd = out_fd,
                                     .in_fd = in_fd,
                                     .log_path = log_path,
                                     .sock_path = sock_path,
                                     .term_out = -1,
                                     .term_in = -1};
  return vmk_console_relay_start_opts(&o, out, err);
}

void vmk_console_relay_stop(struct vmk_console_relay *r) {
  if (!r)
    return;
  if (write(r->stop[1], "x", 1) < 0) {
    /* the thread also ends when the pipe closes */
  }
  pthread_join(r->thread, NULL);
  close(r->stop[0]);
  close(r->stop[1]);
  if (r->log_fd >= 0)
    close(r->log_fd);
  close(r->listen_fd);
  if (r->client_fd >= 0)
    close(r->client_fd);
  free(r->log_path);
  free(r->pending);
  free(r);
}

/* ---- verbs ------------------------------------------------------------ */

/* The API socket of the running VM name, or exit status 2 and a sentence. */
static int api_socket_of(const char *name, char *sock, size_t len) {
  char dir[VMK_RUNTIME_PATH_MAX];
  pid_t pid;
  vmk_error err;
  if (vmk_instance_find(name, dir, sizeof(dir), &pid, &err))
    return say(EXIT_USAGE, "%s", err.msg);
  if (vmk_instance_path(dir, "api.sock", sock, len))
    return say(EXIT_USAGE, "the runtime path of '%s' is too long", name);
  return 0;
}

/* The error sentence of an API answer, or the body itself. */
static void print_api_error(const char *resp, int status) {
  json_t *o = resp ? json_loads(resp, 0, NULL) : NULL;
  json_t *e = o ? json_object_get(o, "error") : NULL;
  say(1, "%s",
      json_is_string(e) ? json_string_value(e)
      : resp && *resp   ? resp
                        : (status == 404 ? "not found" : "failed"));
  json_decref(o);
}

/* Calls the API of the VM name; 0 and *out (parsed), else an exit status. */
static int call(const char *name, const char *method, const char *path,
                const char *body, json_t **out) {
  char sock[VMK_RUNTIME_PATH_MAX];
  int r = api_socket_of(name, sock, sizeof(sock));
  if (r)
    return r;
  char *resp;
  vmk_error err;
  int st = vmk_cli_http(sock, method, path, body, &resp, &err);
  if (st < 0)
    return say(1, "VM '%s' does not answer on its API socket: %s", name,
               err.msg);
  if (st != 200) {
    print_api_error(resp, st);
    free(resp);
    return 1;
  }
  if (out && !(*out = json_loads(resp, 0, NULL))) {
    free(resp);
    return say(1, "VM '%s' answered something that is not JSON", name);
  }
  free(resp);
  return 0;
}

static json_t *memory_of(json_t *cfg) {
  json_t *m = json_object_get(cfg, "memory");
  return m ? json_incref(m) : json_null();
}

static void format_uptime(double s, char *b, size_t n) {
  unsigned long t = (unsigned long)s;
  if (t < 60)
    snprintf(b, n, "%lus", t);
  else if (t < 3600)
    snprintf(b, n, "%lum%02lus", t / 60, t % 60);
  else
    snprintf(b, n, "%luh%02lum", t / 3600, (t / 60) % 60);
}

int vmk_cmd_list(int argc, char **argv) {
  bool as_json = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json"))
      as_json = true;
    else if (!strcmp(argv[i], "--help")) {
      puts("usage: vmkit list [--json]\n\nThe running named VMs: name, "
           "state, engine, CPUs, memory, uptime, pid.");
      return 0;
    } else
      return say(EXIT_USAGE, "list takes only --json, not '%s'", argv[i]);
  }
  static char names[256][VMK_NAME_MAX + 1];
  unsigned n = vmk_instance_list(names, 256);
  json_t *all = json_array();
  for (unsigned i = 0; i < n; i++) {
    char dir[VMK_RUNTIME_PATH_MAX], sock[VMK_RUNTIME_PATH_MAX];
    pid_t pid = 0;
    char *resp = NULL;
    json_t *vm = NULL;
    if (!vmk_instance_find(names[i], dir, sizeof(dir), &pid, NULL) &&
        !vmk_instance_path(dir, "api.sock", sock, sizeof(sock)) &&
        vmk_cli_http(sock, "GET", "/v1/vm", NULL, &resp, NULL) == 200)
      vm = json_loads(resp, 0, NULL);
    free(resp);
    json_t *cfg = json_object_get(vm, "config");
    json_t *cpus = json_object_get(cfg, "cpus");
    json_t *row = json_pack(
        "{s:s,s:s,s:s,s:o,s:o,s:f,s:i}", "name", names[i], "state",
        json_string_value(json_object_get(vm, "state"))
            ? json_string_value(json_object_get(vm, "state"))
            : "unknown",
        "engine",
        json_string_value(json_object_get(vm, "engine"))
            ? json_string_value(json_object_get(vm, "engine"))
            : "?",
        "cpus", cpus ? json_incref(cpus) : json_null(), "memory",
        memory_of(cfg), "uptime_s",
        json_real_value(json_object_get(vm, "uptime_s")), "pid", (int)pid);
    json_decref(vm);
    if (row)
      json_array_append_new(all, row);
  }
  if (as_json) {
    char *s = json_dumps(all, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                  JSON_REAL_PRECISION(9));
    puts(s ? s : "[]");
    free(s);
  } else {
    printf("%-24s %-10s %-6s %4s %7s %8s %8s\n", "NAME", "STATE", "ENGINE",
           "CPUS", "MEMORY", "UPTIME", "PID");
    size_t i;
    json_t *row;
    json_array_foreach(all, i, row) {
      char mem[32] = "?", up[32];
      json_t *m = json_object_get(row, "memory");
      if (json_is_string(m))
        snprintf(mem, sizeof(mem), "%s", json_string_value(m));
      else if (json_is_integer(m))
        snprintf(mem, sizeof(mem), "%" JSON_INTEGER_FORMAT "M",
                 json_integer_value(m) >> 20);
      format_uptime(json_real_value(json_object_get(row, "uptime_s")), up,
                    sizeof(up));
      printf("%-24s %-10s %-6s %4" JSON_INTEGER_FORMAT " %7s %8s %8d\n",
             json_string_value(json_object_get(row, "name")),
             json_string_value(json_object_get(row, "state")),
             json_string_value(json_object_get(row, "engine")),
             json_integer_value(json_object_get(row, "cpus")), mem, up,
             (int)json_integer_value(json_object_get(row, "pid")));
    }
  }
  json_decref(all);
  return 0;
}

/* pause|resume|stop|request-stop NAME */
int vmk_cmd_vm_verb(const char *verb, int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--help")) {
    printf("usage: vmkit %s NAME\n", verb);
    return 0;
  }
  if (argc != 2)
    return say(EXIT_USAGE, "%s takes one VM name, as in vmkit %s web", verb,
               verb);
  const char *name = argv[1];
  if (!strcmp(verb, "request-stop"))
    return call(name, "PUT", "/v1/vm/request-stop", NULL, NULL);
  const char *state = !strcmp(verb, "pause")    ? "paused"
                      : !strcmp(verb, "resume") ? "running"
                                                : "stopped";
  char body[64];
  snprintf(body, sizeof(body), "{\"state\":\"%s\"}", state);
  int r = call(name, "PUT", "/v1/vm/state", body, NULL);
  if (r || strcmp(verb, "stop"))
    return r;
  /* stop returns once the VM process has let go of the name, so the name
   * can be used again at once. */
  char dir[VMK_RUNTIME_PATH_MAX];
  pid_t pid;
  for (int i = 0; i < 300; i++) {
    if (vmk_instance_find(name, dir, sizeof(dir), &pid, NULL))
      return 0;
    usleep(20000);
  }
  return say(1, "VM '%s' stopped but its process (pid %ld) has not exited",
             name, (long)pid);
}

int vmk_cmd_inspect(int argc, char **argv) {
  if (argc != 2 || !strcmp(argv[1], "--help")) {
    if (argc == 2)
      return puts("usage: vmkit inspect NAME\n\nThe VM's state, config, "
                  "devices with their counters and balloon, as JSON.") < 0;
    return say(EXIT_USAGE,
               "inspect takes one VM name, as in vmkit inspect web");
  }
  json_t *vm, *counters;
  int r = call(argv[1], "GET", "/v1/vm", NULL, &vm);
  if (r)
    return r;
  if ((r = call(argv[1], "GET", "/v1/vm/counters", NULL, &counters))) {
    json_decref(vm);
    return r;
  }
  json_object_set(vm, "devices", json_object_get(counters, "devices"));
  /* The balloon's numbers when the VM has one (quietly absent if not). */
  char sock[VMK_RUNTIME_PATH_MAX], *resp = NULL;
  if (!api_socket_of(argv[1], sock, sizeof(sock)) &&
      vmk_cli_http(sock, "GET", "/v1/vm/balloon", NULL, &resp, NULL) == 200) {
    json_t *b = json_loads(resp, 0, NULL);
    if (b)
      json_object_set_new(vm, "balloon", b);
  }
  free(resp);
  char *s = json_dumps(vm, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                               JSON_REAL_PRECISION(9));
  puts(s ? s : "{}");
  free(s);
  json_decref(vm);
  json_decref(counters);
  return 0;
}

int vmk_cmd_save(int argc, char **argv) {
  if (argc != 3)
    return say(EXIT_USAGE,
               "save takes a VM name and a folder, as in vmkit save web "
               "/srv/snap");
  char abs[PATH_MAX];
  if (argv[2][0] != '/') {
    if (!getcwd(abs, sizeof(abs)) ||
        strlen(abs) + strlen(argv[2]) + 2 > sizeof(abs))
      return say(EXIT_USAGE, "the folder '%s' cannot be resolved", argv[2]);
    strcat(abs, "/");
    strcat(abs, argv[2]);
  } else {
    snprintf(abs, sizeof(abs), "%s", argv[2]);
  }
  json_t *b = json_pack("{s:s}", "path", abs);
  char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
  json_decref(b);
  int r = body ? call(argv[1], "PUT", "/v1/vm/save", body, NULL)
               : say(1, "out of memory");
  free(body);
  return r;
}

/* ---- vmkit console NAME ----------------------------------------------- */

static struct termios console_saved;
static bool console_raw;

static void console_restore(void) {
  if (console_raw)
    tcsetattr(STDIN_FILENO, TCSANOW, &console_saved);
  console_raw = false;
}

int vmk_cmd_console(int argc, char **argv) {
  if (argc != 2 || !strcmp(argv[1], "--help")) {
    if (argc == 2)
      return puts("usage: vmkit console NAME\n\nAttaches to the console of "
                  "a running VM: the recent output (up to 16 KiB),\nthen the "
                  "live console. Ctrl-a d detaches (the VM runs on).\n\n"
                  "Any VM with a console works: one started with vmkit run -d, "
                  "and one in the\nforeground on a terminal, which keeps "
                  "showing the console there too: both\nsee the output, and "
                  "keys typed on either reach the guest as they come (as\ntwo "
                  "keyboards on one machine). One client at a time: a new one "
                  "takes over.\nThe console is also kept in console.log in "
                  "the VM's runtime folder, at most\n4 MiB (older output moves "
                  "to console.log.1: 8 MiB in all).") < 0;
    return say(EXIT_USAGE,
               "console takes one VM name, as in vmkit console web");
  }
  char dir[VMK_RUNTIME_PATH_MAX], sock[VMK_RUNTIME_PATH_MAX];
  pid_t pid;
  vmk_error err;
  if (vmk_instance_find(argv[1], dir, sizeof(dir), &pid, &err))
    return say(EXIT_USAGE, "%s", err.msg);
  vmk_instance_path(dir, "console.sock", sock, sizeof(sock));
  if (access(sock, F_OK) < 0)
    return say(EXIT_USAGE,
               "VM '%s' has no console to attach to (it runs with "
               "--console none or a file, or with a vmkit older than "
               "this one); see its console where it goes",
               argv[1]);
  int fd = connect_unix(sock, &err);
  if (fd < 0)
    return say(1, "%s", err.msg);
  if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &console_saved) == 0) {
    struct termios raw = console_saved;
    cfmakeraw(&raw);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
      console_raw = true;
      atexit(console_restore);
    }
  }
  signal(SIGPIPE, SIG_IGN);
  bool in_open = true, escape = false;
  char buf[4096];
  for (;;) {
    struct pollfd p[2] = {
        {.fd = fd, .events = POLLIN},
        {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0 && errno != EINTR)
      break;
    if (p[0].revents) {
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n <= 0)
        break; /* the VM ended */
      if (write_all(STDOUT_FILENO, buf, (size_t)n))
        break;
    }
    if (p[1].revents) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
      if (n <= 0) {
        in_open = false; /* keep showing output */
        continue;
      }
      size_t m = 0;
      bool detach = false;
      for (ssize_t i = 0; i < n && !detach; i++) {
        if (console_raw && !escape && buf[i] == 0x01) {
          escape = true;
          continue;
        }
        if (escape) {
          escape = false;
          if (buf[i] == 'd' || buf[i] == 'D') {
            detach = true;
            continue;
          }
        }
        buf[m++] = buf[i];
      }
      if (m && write_all(fd, buf, m))
        break;
      if (detach)
        break;
    }
  }
  close(fd);
  console_restore();
  return 0;
}

/* ---- vmkit serve --api-socket PATH ------------------------------------ */

int vmk_cmd_serve(int argc, char **argv) {
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--api-socket") && i + 1 < argc)
      path = argv[++i];
    else if (!strncmp(argv[i], "--api-socket=", 13))
      path = argv[i] + 13;
    else if (!strcmp(argv[i], "--help")) {
      puts("usage: vmkit serve --api-socket PATH\n\nAn empty VMM driven "
           "through the REST API on PATH (docs/api.md):\nPUT /v1/vm/config "
           "with the JSON of docs/config.md, then PUT /v1/vm/state\n"
           "{\"state\": \"running\"}. vmkit exits when the VM ends.");
      return 0;
    } else
      return say(EXIT_USAGE, "serve takes --api-socket PATH, not '%s'",
                 argv[i]);
  }
  if (!path)
    return say(EXIT_USAGE, "serve needs --api-socket PATH");
  /* SIGINT/SIGTERM are taken by sigtimedwait below: blocked before any
   * thread starts, so every thread (the API's, the VM's) inherits it. */
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  vmk_error err;
  int fd = vmk_cli_listen(path, &err);
  if (fd < 0)
    return say(EXIT_USAGE, "%s", err.msg);
  struct vmk_api_opts o = {.listen_fd = fd, .name = "serve", .serve = true};
  struct vmk_api *api;
  if (vmk_api_start(&o, &api, &err)) {
    close(fd);
    unlink(path);
    return say(1, "%s", err.msg);
  }
  vmk_vm *vm = NULL;
  struct timespec zero = {0, 0};
  int status = 0;
  while (!vm) {
    vm = vmk_api_wait_started(api, 200);
    if (!vm && sigtimedwait(&set, NULL, &zero) > 0) {
      status = say(1, "a signal ended vmkit serve before a VM was started");
      break;
    }
  }
  bool asked = false;
  while (vm && vmk_vm_wait(vm, 200) == -ETIMEDOUT) {
    if (sigtimedwait(&set, NULL, &zero) > 0) {
      if (!asked && vmk_vm_can_request_stop(vm))
        vmk_vm_request_stop(vm, NULL);
      else
        vmk_vm_stop(vm, NULL);
      asked = true;
    }
  }
  if (vm) {
    vmk_exit_reason why = vmk_vm_exit(vm, &err);
    if (why != VMK_EXIT_POWEROFF && why != VMK_EXIT_RESET) {
      status = 1;
      say(1, "%s", err.msg[0] ? err.msg : "the VM was stopped");
    }
  }
  vmk_api_stop(api); /* frees the VM it made */
  unlink(path);
  return status;
}
