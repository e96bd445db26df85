/* test_api.c — the REST API (src/core/api.c) over a real Unix socket, on a
 * VM with a fake engine: routes and their answers, wrong states (409, VM
 * unchanged), malformed requests (400), oversize bodies (413), unknown
 * paths (404), wrong methods (405 + Allow), the event stream, a silent
 * client that neither blocks others nor stays forever, and serve mode's
 * config. Test thread, the API's threads, and the fake engine's none (its
 * vCPU is a no-op).
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <jansson.h>

#include "base/error.h"
#include "core/api.h"
#include "core/config.h"
#include "engine/engine.h"

/* ---- a fake engine whose vCPUs do nothing ---- */

struct fake {
  struct vmk_engine base;
};
static const struct vmk_engine_ops fake_ops;
static void fake_set_level(void *o, unsigned spi, bool level) {
  (void)o, (void)spi, (void)level;
}
static int fake_probe(vmk_error *err) {
  (void)err;
  return 0;
}
static int fake_create(const struct vmk_engine_config *cfg,
                       struct vmk_engine **out, vmk_error *err) {
  (void)cfg, (void)err;
  struct fake *f = calloc(1, sizeof(*f));
  f->base.ops = &fake_ops;
  f->base.irq_chip.set_level = fake_set_level;
  *out = &f->base;
  return 0;
}
static bool fail_start; /* the next start fails with a long sentence */
static int fake_start(struct vmk_engine *e, const struct vmk_boot_regs *b,
                      vmk_error *err) {
  (void)e, (void)b;
  if (fail_start) {
    fail_start = false;
    char q[400];
    memset(q, '"', sizeof(q) - 1);
    q[sizeof(q) - 1] = '\0';
    return vmk_err(err, -EIO, "start failed %s", q);
  }
  return 0;
}
static int fake_pause(struct vmk_engine *e, vmk_error *err) {
  (void)e, (void)err;
  return 0;
}
static void fake_stop(struct vmk_engine *e) { (void)e; }
static void fake_destroy(struct vmk_engine *e) { free(e); }
static const struct vmk_engine_ops fake_ops = {
    .name = "fake",
    .probe = fake_probe,
    .create = fake_create,
    .start = fake_start,
    .pause = fake_pause,
    .resume = fake_pause,
    .stop = fake_stop,
    .destroy = fake_destroy,
};

static char dir[64], sock[100], kernel[100];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/vmkit-api-XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  snprintf(sock, sizeof(sock), "%s/api.sock", dir);
  snprintf(kernel, sizeof(kernel), "%s/Image", dir);
  uint8_t img[4096] = {0};
  uint64_t size = sizeof(img), flags = 0xA;
  memcpy(img + 16, &size, 8);
  memcpy(img + 24, &flags, 8);
  memcpy(img + 56, "ARM\x64", 4);
  FILE *f = fopen(kernel, "wb");
  fwrite(img, 1, sizeof(img), f);
  fclose(f);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unlink(kernel);
  unlink(sock);
  rmdir(dir);
  return 0;
}

static int listen_sock(void) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
  unlink(sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(fd, 16), 0);
  return fd;
}

static int connect_sock(void) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  return fd;
}

/* Reads until EOF or timeout_ms of silence; returns the bytes. */
static char *read_all(int fd, int timeout_ms) {
  size_t cap = 1 << 16, n = 0;
  char *b = malloc(cap);
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
      break;
    ssize_t r = read(fd, b + n, cap - 1 - n);
    if (r <= 0)
      break;
    n += (size_t)r;
    if (n == cap - 1)
      break;
  }
  b[n] = '\0';
  return b;
}

/* Sends raw bytes as a request; returns the status and *body (malloc'd). */
static int raw(const char *req, size_t len, char **body, char **head) {
  int fd = connect_sock();
  assert_int_equal(write(fd, req, len), (ssize_t)len);
  char *resp = read_all(fd, 10000);
  close(fd);
  int status = 0;
  sscanf(resp, "HTTP/1.%*d %d", &status);
  char *sep = strstr(resp, "\r\n\r\n");
  if (body)
    *body = strdup(sep ? sep + 4 : "");
  if (head) {
    if (sep)
      *sep = '\0';
    *head = strdup(resp);
  }
  free(resp);
  return status;
}

#define RAW(lit, body, head) raw(lit, sizeof(lit) - 1, body, head)

static int http(const char *method, const char *path, const char *json,
                char **body) {
  char req[1024];
  int n = snprintf(req, sizeof(req),
                   "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "Content-Length: %zu\r\n\r\n%s",
                   method, path, json ? strlen(json) : 0, json ? json : "");
  return raw(req, (size_t)n, body, NULL);
}

static vmk_vm *fake_vm(void) {
  vmk_config *cfg = vmk_config_new();
  vmk_config_set_kernel(cfg, kernel);
  vmk_config_set_memory(cfg, 64ull << 20);
  vmk_config_set_engine_ops(cfg, &fake_ops);
  vmk_vm *vm;
  vmk_error err;
  if (vmk_vm_create(cfg, &vm, &err))
    fail_msg("create: %s", err.msg);
  vmk_config_free(cfg);
  return vm;
}

#define EXPECT(st, want_status, body, needle)                                  \
  do {                                                                         \
    if ((st) != (want_status) || !strstr((body), (needle)))                    \
      fail_msg("got %d '%s', want %d with '%s'", (st), (body), (want_status),  \
               (needle));                                                      \
    free(body);                                                                \
  } while (0)

/* An API server on a fresh socket (idle_s 0: the default idle timeout). */
static struct vmk_api *start_api(const char *name, unsigned idle_s) {
  struct vmk_api_opts o = {
      .listen_fd = listen_sock(), .name = name, .idle_timeout_s = idle_s};
  struct vmk_api *api;
  vmk_error err;
  if (vmk_api_start(&o, &api, &err))
    fail_msg("api start: %s", err.msg);
  return api;
}

/* Reads into got[cap] until it holds needle (or 10 s without it). */
static void read_until(int fd, char *got, size_t cap, const char *needle) {
  size_t n = strlen(got);
  for (int i = 0; i < 100 && !strstr(got, needle); i++) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 100) > 0) {
      ssize_t r = read(fd, got + n, cap - 1 - n);
      if (r <= 0)
        break;
      n += (size_t)r;
      got[n] = '\0';
    }
  }
}

/* Opens GET /v1/events<query>, reads into got[cap] up to the end of the
 * headers (from then on every change reaches the stream) and leaves the
 * connection open. */
static int open_events(const char *query, char *got, size_t cap) {
  char req[128];
  int n = snprintf(req, sizeof(req),
                   "GET /v1/events%s HTTP/1.1\r\nHost: x\r\n\r\n", query);
  int fd = connect_sock();
  assert_int_equal(write(fd, req, (size_t)n), n);
  got[0] = '\0';
  read_until(fd, got, cap, "\r\n\r\n");
  if (!strstr(got, "\r\n\r\n"))
    fail_msg("no headers on the event stream: %s", got);
  return fd;
}

/* Fails unless got holds every string of want, in that order. */
static void expect_in_order(const char *got, const char *const *want,
                            size_t n) {
  const char *p = got;
  for (size_t i = 0; i < n; i++) {
    const char *q = strstr(p, want[i]);
    if (!q)
      fail_msg("event %zu (%s) missing or out of order in:\n%s", i, want[i],
               got);
    p = q;
  }
}
#define EXPECT_IN_ORDER(got, want)                                             \
  expect_in_order(got, want, sizeof(want) / sizeof(want[0]))

static void test_routes(void **state) {
  (void)state;
  struct vmk_api *api = start_api("t1", 0);
  char *b;
  int st = http("GET", "/v1/vm", NULL, &b);
  EXPECT(st, 200, b, "\"state\":\"starting\"");

  vmk_vm *vm = fake_vm();
  vmk_config *cfg = vmk_config_new();
  vmk_config_set_cpus(cfg, 2);
  vmk_api_set_vm(api, vm, cfg);
  vmk_config_free(cfg);
  st = http("GET", "/v1/vm", NULL, &b);
  EXPECT(st, 200, b, "\"name\":\"t1\",\"state\":\"created\"");
  st = http("GET", "/v1/vm", NULL, &b);
  EXPECT(st, 200, b, "\"cpus\":2");
  /* wrong state: 409, VM unchanged */
  st = http("PUT", "/v1/vm/state", "{\"state\":\"paused\"}", &b);
  EXPECT(st, 409, b, "only a running VM can be paused");
  assert_int_equal(vmk_vm_state(vm), VMK_STATE_CREATED);
  st = http("PUT", "/v1/vm/state", "{\"state\":\"running\"}", &b);
  EXPECT(st, 200, b, "{\"state\":\"running\"}");
  st = http("PUT", "/v1/vm/state", "{\"state\":\"paused\"}", &b);
  EXPECT(st, 200, b, "{\"state\":\"paused\"}");
  assert_int_equal(vmk_vm_state(vm), VMK_STATE_PAUSED);
  st = http("PUT", "/v1/vm/request-stop", NULL, &b);
  EXPECT(st, 409, b, "the VM is paused");
  /* the fake engine cannot be saved: the library says so, 501 */
  st = http("PUT", "/v1/vm/save", "{\"path\":\"/tmp/x\"}", &b);
  EXPECT(st, 501, b, "the fake engine cannot save VMs yet");
  assert_int_equal(vmk_vm_state(vm), VMK_STATE_PAUSED);
  st = http("PUT", "/v1/vm/save", "{\"dir\":\"/tmp/x\"}", &b);
  EXPECT(st, 400, b, "unknown key 'dir'");
  st = http("PUT", "/v1/vm/config", "{}", &b);
  EXPECT(st, 409, b, "only vmkit serve");
  st = http("PUT", "/v1/vm/state", "{\"state\":\"running\"}", &b);
  EXPECT(st, 200, b, "running");
  st = http("PUT", "/v1/vm/save", "{\"path\":\"/tmp/x\"}", &b);
  EXPECT(st, 409, b, "pause it before saving");
  st = http("GET", "/v1/vm/counters", NULL, &b);
  EXPECT(st, 200, b, "\"type\":\"virtio-console\"");
  /* the balloon (on by default; this VM has 64 MiB) */
  st = http("PUT", "/v1/vm/balloon", "{\"target\":\"1G\"}", &b);
  EXPECT(st, 400, b, "error");
  st = http("PUT", "/v1/vm/balloon", "{\"target\":\"lots\"}", &b);
  EXPECT(st, 400, b, "guest memory to keep");
  st = http("PUT", "/v1/vm/balloon", "{\"size\":1}", &b);
  EXPECT(st, 400, b, "unknown key 'size'");
  st = http("PUT", "/v1/vm/balloon", "{\"target\":\"64M\"}", &b);
  EXPECT(st, 200, b, "{\"target_bytes\":67108864}");
  st = http("GET", "/v1/vm/balloon", NULL, &b);
  EXPECT(st, 200, b, "\"target_bytes\":67108864");
  st = http("GET", "/v1/vm/balloon", NULL, &b);
  EXPECT(st, 200, b, "\"stats_age_ms\":null");
  /* bad bodies */
  st = http("PUT", "/v1/vm/state", NULL, &b);
  EXPECT(st, 400, b, "needs a JSON object");
  st = http("PUT", "/v1/vm/state", "{\"state\":", &b);
  EXPECT(st, 400, b, "not valid JSON");
  st = http("PUT", "/v1/vm/state", "[\"paused\"]", &b);
  EXPECT(st, 400, b, "must be a JSON object");
  st = http("PUT", "/v1/vm/state", "{\"state\":\"asleep\"}", &b);
  EXPECT(st, 400, b, "'asleep'");
  st = http("PUT", "/v1/vm/state", "{\"state\":\"paused\",\"now\":1}", &b);
  EXPECT(st, 400, b, "unknown key 'now'");
  st = http("PUT", "/v1/vm/state", "{\"state\":5}", &b);
  EXPECT(st, 400, b, "non-empty string");
  st = http("GET", "/v1/vm", "{}", &b);
  EXPECT(st, 400, b, "takes no body");
  assert_int_equal(vmk_vm_state(vm), VMK_STATE_RUNNING);
  /* unknown paths and methods */
  st = http("GET", "/v1/vms", NULL, &b);
  EXPECT(st, 404, b, "no such endpoint");
  st = http("GET", "/", NULL, &b);
  EXPECT(st, 404, b, "no such endpoint");
  char *head;
  st = RAW("DELETE /v1/vm/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           "\r\n",
           &b, &head);
  EXPECT(st, 405, b, "use PUT");
  assert_non_null(strstr(head, "Allow: PUT"));
  free(head);
  st = RAW("DELETE /v1/vm/balloon HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           "\r\n",
           &b, &head);
  EXPECT(st, 405, b, "use GET, PUT");
  assert_non_null(strstr(head, "Allow: GET, PUT"));
  free(head);
  /* malformed HTTP: 400, or dropped when not even a request line */
  st = RAW("GARBAGE\r\n\r\n", &b, NULL);
  assert_int_equal(st, 0);
  assert_string_equal(b, "");
  free(b);
  st = RAW("GET /v1/vm\r\n\r\n", &b, NULL);
  assert_int_equal(st, 400);
  free(b);
  st = RAW("PUT /v1/vm/state HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n"
           "\r\n",
           &b, NULL);
  assert_int_equal(st, 400);
  free(b);
  st = RAW("GET /v1/vm HTTP/1.1\r\nBad Header Line\r\n\r\n", &b, NULL);
  assert_int_equal(st, 400);
  free(b);
  /* oversize body: 413, whatever follows */
  size_t big = VMK_API_DEFAULT_MAX_BODY + 100;
  char *req = malloc(big + 200);
  int n = snprintf(req, 200,
                   "PUT /v1/vm/state HTTP/1.1\r\nHost: x\r\nConnection: "
                   "close\r\nContent-Length: %zu\r\n\r\n",
                   big);
  memset(req + n, ' ', big);
  st = raw(req, (size_t)n + big, &b, NULL);
  free(req);
  EXPECT(st, 413, b, "larger than");
  st = http("PUT", "/v1/vm/state", "{\"state\":\"stopped\"}", &b);
  EXPECT(st, 200, b, "stopped");
  st = http("PUT", "/v1/vm/state", "{\"state\":\"stopped\"}", &b);
  EXPECT(st, 409, b, "stopped already");
  vmk_api_set_vm(api, NULL, NULL);
  vmk_vm_free(vm);
  vmk_api_stop(api);
}

/* GET /v1/events streams one JSON object a line for each change. */
static void test_events(void **state) {
  (void)state;
  struct vmk_api *api = start_api("ev", 0);
  vmk_error err;
  vmk_vm *vm = fake_vm();
  vmk_api_set_vm(api, vm, NULL);
  char got[8192];
  int fd = open_events("", got, sizeof(got));
  assert_int_equal(vmk_vm_start(vm, &err), 0);
  assert_int_equal(vmk_vm_pause(vm, &err), 0);
  assert_int_equal(vmk_vm_stop(vm, &err), 0);
  vmk_api_set_vm(api, NULL, NULL); /* posts the exit */
  read_until(fd, got, sizeof(got), "\"event\":\"exit\"");
  const char *order[] = {"\"from\":\"created\",\"to\":\"starting\"",
                         "\"from\":\"starting\",\"to\":\"running\"",
                         "\"from\":\"running\",\"to\":\"pausing\"",
                         "\"from\":\"pausing\",\"to\":\"paused\"",
                         "\"from\":\"paused\",\"to\":\"stopping\"",
                         "\"from\":\"stopping\",\"to\":\"stopped\"",
                         "\"event\":\"exit\",\"reason\":\"stopped\""};
  EXPECT_IN_ORDER(got, order);
  assert_non_null(strstr(got, "application/x-ndjson"));
  vmk_vm_free(vm);
  vmk_api_stop(api); /* ends the stream */
  char *rest = read_all(fd, 5000);
  free(rest);
  close(fd);
}

/* GET /v1/events?since=1: first every event the ring still holds, so a
 * client that connects after a change (a VM just restored) sees it; a
 * since that is not a number is a 400. */
static void test_events_since(void **state) {
  (void)state;
  struct vmk_api *api = start_api("ev", 0);
  vmk_error err;
  vmk_vm *vm = fake_vm();
  vmk_api_set_vm(api, vm, NULL);
  assert_int_equal(vmk_vm_start(vm, &err), 0);
  assert_int_equal(vmk_vm_pause(vm, &err), 0);
  char got[8192];
  int fd = open_events("?since=1", got, sizeof(got));
  read_until(fd, got, sizeof(got), "\"to\":\"paused\"");
  const char *order[] = {"\"seq\":1,",
                         "\"from\":\"created\",\"to\":\"starting\"",
                         "\"from\":\"starting\",\"to\":\"running\"",
                         "\"from\":\"running\",\"to\":\"pausing\"",
                         "\"from\":\"pausing\",\"to\":\"paused\""};
  EXPECT_IN_ORDER(got, order);
  close(fd);
  /* since=3: from the third event on. */
  fd = open_events("?since=3", got, sizeof(got));
  read_until(fd, got, sizeof(got), "\"to\":\"paused\"");
  assert_null(strstr(got, "\"to\":\"starting\""));
  assert_non_null(strstr(got, "\"seq\":3,"));
  assert_non_null(strstr(got, "\"to\":\"paused\""));
  close(fd);
  char *body, *head;
  const char bad[] = "GET /v1/events?since=x1 HTTP/1.1\r\nHost: "
                     "x\r\nConnection: close\r\n\r\n";
  assert_int_equal(raw(bad, sizeof(bad) - 1, &body, &head), 400);
  assert_non_null(strstr(body, "since"));
  free(body);
  free(head);
  const char neg[] = "GET /v1/events?since=-1 HTTP/1.1\r\nHost: "
                     "x\r\nConnection: close\r\n\r\n";
  assert_int_equal(raw(neg, sizeof(neg) - 1, &body, &head), 400);
  free(body);
  free(head);
  vmk_vm_stop(vm, &err);
  vmk_api_set_vm(api, NULL, NULL);
  vmk_vm_free(vm);
  vmk_api_stop(api);
}

/* The exit event of a VM that failed, with a long error full of quotes:
 * still one whole JSON line. */
static void test_exit_event(void **state) {
  (void)state;
  struct vmk_api *api = start_api("ex", 0);
  vmk_error err;
  vmk_vm *vm = fake_vm();
  vmk_api_set_vm(api, vm, NULL);
  char got[16384];
  int fd = open_events("", got, sizeof(got));
  fail_start = true;
  assert_int_equal(vmk_vm_start(vm, &err), -EIO);
  assert_int_equal(vmk_vm_wait(vm, -1), 0);
  vmk_api_set_vm(api, NULL, NULL);
  read_until(fd, got, sizeof(got), "\"event\":\"exit\"");
  char *line = strstr(got, "{\"seq\"");
  char *exit_ev = strstr(got, "\"event\":\"exit\"");
  assert_non_null(line);
  assert_non_null(exit_ev);
  while (line && strstr(line + 1, "{\"seq\"") &&
         strstr(line + 1, "{\"seq\"") < exit_ev)
    line = strstr(line + 1, "{\"seq\"");
  char *end = strchr(line, '\n');
  assert_non_null(end);
  *end = '\0';
  json_error_t jerr;
  json_t *ev = json_loads(line, 0, &jerr);
  if (!ev)
    fail_msg("not JSON (%s): %s", jerr.text, line);
  assert_string_equal(json_string_value(json_object_get(ev, "reason")),
                      "error");
  const char *e = json_string_value(json_object_get(ev, "error"));
  assert_non_null(e);
  assert_true(strncmp(e, "start failed \"\"", 15) == 0);
  json_decref(ev);
  assert_int_equal(vmk_vm_state(vm), VMK_STATE_ERROR);
  vmk_vm_free(vm);
  vmk_api_stop(api);
  close(fd);
}

/* A client that sends half a request and then nothing holds only its own
 * connection: others are answered, and it is dropped once idle. */
static void test_slow_client(void **state) {
  (void)state;
  struct vmk_api *api = start_api("slow", 1);
  int slow = connect_sock();
  assert_int_equal(write(slow, "GET /v1/vm HTTP/1.1\r\nHo", 23), 23);
  int silent = connect_sock();
  char *b;
  for (int i = 0; i < 5; i++) {
    int st = http("GET", "/v1/vm", NULL, &b);
    EXPECT(st, 200, b, "\"name\":\"slow\"");
  }
  /* dropped: EOF (bounded wait, not a timing assertion) */
  char *rest = read_all(slow, 30000);
  free(rest);
  char c;
  assert_true(read(slow, &c, 1) <= 0);
  rest = read_all(silent, 30000);
  free(rest);
  assert_true(read(silent, &c, 1) <= 0);
  close(slow);
  close(silent);
  vmk_api_stop(api);
}

/* run mode, no VM (a reboot's gap): a stop is kept for the owner. */
static void test_stop_between_vms(void **state) {
  (void)state;
  struct vmk_api_opts o = {.name = "gap"};
  struct vmk_api *api = vmk_api_new_detached(&o);
  char *b;
  assert_false(vmk_api_take_stop(api));
  int st = vmk_api_handle(api, "PUT", "/v1/vm/state", "{\"state\":\"paused\"}",
                          18, &b);
  EXPECT(st, 409, b, "no VM to pause");
  assert_false(vmk_api_take_stop(api));
  st = vmk_api_handle(api, "PUT", "/v1/vm/state", "{\"state\":\"stopped\"}", 19,
                      &b);
  EXPECT(st, 200, b, "stopping");
  assert_true(vmk_api_take_stop(api));
  assert_false(vmk_api_take_stop(api)); /* taken once */
  vmk_api_free_detached(api);
}

/* serve: PUT /v1/vm/config checks the config; starting needs one. */
static void test_serve_config(void **state) {
  (void)state;
  struct vmk_api_opts o = {.name = "serve", .serve = true};
  struct vmk_api *api = vmk_api_new_detached(&o);
  char *b, doc[512];
  int st = vmk_api_handle(api, "GET", "/v1/vm", "", 0, &b);
  EXPECT(st, 200, b, "\"state\":\"unconfigured\"");
  st = vmk_api_handle(api, "PUT", "/v1/vm/state", "{\"state\":\"running\"}", 19,
                      &b);
  EXPECT(st, 409, b, "PUT /v1/vm/config first");
  st = vmk_api_handle(api, "PUT", "/v1/vm/config", "{\"cpus\":0}", 10, &b);
  EXPECT(st, 400, b, "'cpus' is 0");
  snprintf(doc, sizeof(doc), "{\"kernel\":\"%s/missing\"}", dir);
  st = vmk_api_handle(api, "PUT", "/v1/vm/config", doc, strlen(doc), &b);
  EXPECT(st, 400, b, "cannot use kernel");
  snprintf(doc, sizeof(doc),
           "{\"kernel\":\"%s\",\"cpus\":3,\"engine\":\"emu\"}", kernel);
  st = vmk_api_handle(api, "PUT", "/v1/vm/config", doc, strlen(doc), &b);
  EXPECT(st, 200, b, "configured");
  st = vmk_api_handle(api, "GET", "/v1/vm", "", 0, &b);
  EXPECT(st, 200, b, "\"cpus\":3");
  st = vmk_api_handle(api, "PUT", "/v1/vm/state", "x", 1 << 20, &b);
  EXPECT(st, 413, b, "at most");
  vmk_api_free_detached(api);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_routes),
      cmocka_unit_test(test_events),
      cmocka_unit_test(test_events_since),
      cmocka_unit_test(test_exit_event),
      cmocka_unit_test(test_slow_client),
      cmocka_unit_test(test_stop_between_vms),
      cmocka_unit_test(test_serve_config),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
