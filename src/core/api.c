/* api.c — the REST API of one VM (api.h; endpoints in docs/api.md) on
 * libmicrohttpd, JSON by jansson.
 *
 * libmicrohttpd (and gnutls, which Debian's build of it loads: about 2 MiB
 * resident in all) is opened only when the first client connects
 * (base/dynlib.h): until then a small thread of the API's own (lazy_main)
 * waits on the socket, so a VM nobody drives never maps them. If the
 * library cannot be loaded, that thread says why once on stderr and answers
 * every client 503 with the same sentence.
 *
 * Threads and locks: libmicrohttpd's listening thread accepts, one thread
 * per connection parses and answers (at most max_connections; a client
 * silent for idle_timeout_s is dropped). Requests are routed by route(),
 * which takes api->vm_lock for the VM operation. The VM's state callback
 * (any VM thread, the VM's lock held) takes only api->ev_lock to append to
 * the event ring; /v1/events streams wait on api->ev_cond. Lock order:
 * vm_lock, then the VM's own lock, then ev_lock.
 *
 * Requests are untrusted: bodies are capped (413 beyond), JSON is parsed
 * with every field checked, unknown paths get 404 and wrong methods 405.
 */
#include "core/api.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/thread.h"

#if VMK_HAVE_API
#include <microhttpd.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "base/dynlib.h"

/* The libmicrohttpd functions vmkit calls, found by dlsym. */
struct mhd_fns {
  __typeof__(MHD_start_daemon) *start_daemon;
  __typeof__(MHD_quiesce_daemon) *quiesce_daemon;
  __typeof__(MHD_stop_daemon) *stop_daemon;
  __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
  __typeof__(MHD_create_response_from_callback) *create_response_from_callback;
  __typeof__(MHD_add_response_header) *add_response_header;
  __typeof__(MHD_queue_response) *queue_response;
  __typeof__(MHD_destroy_response) *destroy_response;
  __typeof__(MHD_lookup_connection_value) *lookup_connection_value;
};
#endif

#define EVENT_RING 128
#define EVENT_LINE 1024

struct vmk_api {
  struct vmk_api_opts opts;
  char name[64];
#if VMK_HAVE_API
  /* Set by the lazy thread when the first client comes; read by
   * vmk_api_stop only after joining it. */
  struct MHD_Daemon *mhd;
  void *mhd_lib; /* libmicrohttpd's dlopen handle */
  struct mhd_fns fn;
  pthread_t lazy;
  int wake_fd; /* eventfd: the lazy thread must end */
#endif

  pthread_mutex_t vm_lock;
  pthread_cond_t vm_cond; /* a VM started (serve mode) */
  vmk_vm *vm;
  bool own_vm;           /* serve mode: created here, freed at stop */
  vmk_slot *slot;        /* serve mode: the VM slot it holds (or NULL) */
  char *config_json;     /* the VM's config as JSON (compact), or NULL */
  vmk_config *serve_cfg; /* serve mode: PUT /v1/vm/config, before start */
  struct timespec started;
  bool has_started;
  bool stop_asked; /* run mode: stopped while there was no VM */
  bool restoring;  /* vmk_api_restore is making the VM */

  pthread_mutex_t ev_lock;
  pthread_cond_t ev_cond;
  uint64_t ev_next; /* sequence number of the next event */
  char events[EVENT_RING][EVENT_LINE];
  bool stopping;
  /* Requests libmicrohttpd has begun and not completed (under ev_lock,
   * changes broadcast on ev_cond): the API waits for them before it
   * closes connections, so the answer to the request that ended the VM
   * (PUT state stopped) is sent, not cut off. */
  unsigned inflight;
};

/* ---- events --------------------------------------------------------- */

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ev_lock held. line has no newline; one is added. */
static void post_locked(struct vmk_api *api, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void post_locked(struct vmk_api *api, const char *fmt, ...) {
  char *slot = api->events[api->ev_next % EVENT_RING];
  int n = snprintf(slot, EVENT_LINE,
                   "{\"seq\":%" PRIu64 ",\"time_ms\":%" PRIu64 ",",
                   api->ev_next, now_ms());
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && n < EVENT_LINE)
    vsnprintf(slot + n, (size_t)(EVENT_LINE - n), fmt, ap);
  va_end(ap);
  size_t len = strnlen(slot, EVENT_LINE - 2);
  slot[len] = '\n';
  slot[len + 1] = '\0';
  api->ev_next++;
  pthread_cond_broadcast(&api->ev_cond);
}

/* The VM's state callback: any VM thread, the VM's lock held. */
static void on_state(void *opaque, vmk_vm *vm, vmk_state from, vmk_state to) {
  (void)vm;
  struct vmk_api *api = opaque;
  pthread_mutex_lock(&api->ev_lock);
  post_locked(api, "\"event\":\"state\",\"from\":\"%s\",\"to\":\"%s\"}",
              vmk_state_name(from), vmk_state_name(to));
  pthread_mutex_unlock(&api->ev_lock);
}

/* ---- helpers -------------------------------------------------------- */

static char *error_json(const char *msg) {
  json_t *o = json_pack("{s:s}", "error", msg);
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return s;
}

/* Sets *resp to {"error": msg} and returns status. */
static int fail(char **resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char **resp, int status, const char *fmt, ...) {
  char msg[VMK_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  *resp = error_json(msg);
  return status;
}

/* Consumes o. */
static int reply(char **resp, int status, json_t *o) {
  *resp = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                JSON_REAL_PRECISION(9))
            : NULL;
  json_decref(o);
  if (!*resp)
    return fail(resp, 500, "out of memory");
  return status;
}

/* A request body that must be one JSON object, or none at all. */
static int parse_body(const char *body, size_t len, json_t **out, char **resp) {
  json_error_t jerr;
  *out = NULL;
  if (len == 0)
    return fail(resp, 400, "the request needs a JSON object as its body");
  json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!o)
    return fail(resp, 400, "the body is not valid JSON: %s (column %d)",
                jerr.text, jerr.column);
  if (!json_is_object(o)) {
    json_decref(o);
    return fail(resp, 400, "the body must be a JSON object");
  }
  *out = o;
  return 0;
}

/* The only key of o must be key, a string; *val points into o. */
static int one_string(json_t *o, const char *key, const char **val,
                      char **resp) {
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    if (strcmp(k, key))
      return fail(resp, 400, "unknown key '%.64s'; the body takes only \"%s\"",
                  k, key);
  }
  v = json_object_get(o, key);
  if (!v || !json_is_string(v) || !json_string_length(v))
    return fail(resp, 400, "the body needs \"%s\" as a non-empty string", key);
  *val = json_string_value(v);
  return 0;
}

static double uptime_s(const struct vmk_api *api) {
  if (!api->has_started)
    return 0;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - api->started.tv_sec) +
         (double)(now.tv_nsec - api->started.tv_nsec) / 1e9;
}

static json_t *devices_json(vmk_vm *vm, bool counters) {
  vmk_device_info d[32];
  json_t *a = json_array();
  unsigned n = vm ? vmk_vm_devices(vm, d, 32) : 0;
  for (unsigned i = 0; a && i < n && i < 32; i++) {
    json_t *o = json_pack("{s:s,s:s,s:I,s:i}", "type", d[i].type, "label",
                          d[i].label, "mmio_base", (json_int_t)d[i].mmio_base,
                          "spi", (int)d[i].spi);
    if (o && counters) {
      json_t *c = json_pack(
          "{s:I,s:I,s:I,s:I,s:I,s:I}", "notifies", (json_int_t)d[i].notifies,
          "interrupts", (json_int_t)d[i].interrupts, "requests",
          (json_int_t)d[i].requests, "bytes_out", (json_int_t)d[i].bytes_out,
          "bytes_in", (json_int_t)d[i].bytes_in, "errors",
          (json_int_t)d[i].errors);
      if (!c || json_object_set_new(o, "counters", c))
        json_decref(o), o = NULL;
    }
    if (!o || json_array_append_new(a, o)) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

/* vm_lock held. */
static const char *state_name(struct vmk_api *api) {
  if (api->vm)
    return vmk_state_name(vmk_vm_state(api->vm));
  if (api->restoring)
    return vmk_state_name(VMK_STATE_RESTORING);
  if (!api->opts.serve)
    return "starting"; /* the vmkit command is making (or remaking) it */
  return api->serve_cfg ? "configured" : "unconfigured";
}

static int get_vm(struct vmk_api *api, char **resp) {
  json_t *cfg = NULL;
  if (api->config_json)
    cfg = json_loads(api->config_json, 0, NULL);
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:i,s:f,s:o,s:o}", "name", api->name, "state",
      state_name(api), "engine",
      api->vm ? vmk_engine_name(vmk_vm_engine(api->vm)) : "none", "pid",
      (int)getpid(), "uptime_s", uptime_s(api), "config",
      cfg ? cfg : json_null(), "devices", devices_json(api->vm, false));
  if (o && api->vm) {
    vmk_exit_reason why = vmk_vm_exit(api->vm, NULL);
    if (why != VMK_EXIT_NONE)
      json_object_set_new(o, "exit_reason",
                          json_string(vmk_exit_reason_name(why)));
  }
  return reply(resp, 200, o);
}

/* serve mode, vm_lock held: make and start the configured VM. */
static int start_served(struct vmk_api *api, char **resp) {
  if (!api->serve_cfg)
    return fail(resp, 409, "the VM has no config yet; PUT /v1/vm/config first");
  vmk_error err;
  vmk_vm *vm;
  /* A served VM counts against the host-wide VM slots as vmkit run's do. */
  int r = api->slot ? 0 : vmk_slot_acquire(api->name, &api->slot, &err);
  if (r)
    return fail(resp, r == -EUSERS ? 409 : 400, "%s", err.msg);
  if (vmk_vm_create(api->serve_cfg, &vm, &err)) {
    vmk_slot_release(api->slot);
    api->slot = NULL;
    return fail(resp, 400, "%s", err.msg);
  }
  api->vm = vm;
  api->own_vm = true;
  vmk_vm_set_state_callback(vm, on_state, api);
  clock_gettime(CLOCK_MONOTONIC, &api->started);
  api->has_started = true;
  if (vmk_vm_start(vm, &err))
    return fail(resp, 500, "%s", err.msg);
  pthread_cond_broadcast(&api->vm_cond);
  return reply(resp, 200,
               json_pack("{s:s}", "state", vmk_state_name(vmk_vm_state(vm))));
}

static int put_state(struct vmk_api *api, const char *body, size_t len,
                     char **resp) {
  json_t *o;
  const char *want;
  int st = parse_body(body, len, &o, resp);
  if (st)
    return st;
  if ((st = one_string(o, "state", &want, resp))) {
    json_decref(o);
    return st;
  }
  vmk_error err = {0};
  int r;
  vmk_vm *vm = api->vm;
  if (!strcmp(want, "running")) {
    if (!vm && api->opts.serve) {
      json_decref(o);
      return start_served(api, resp);
    }
    if (!vm)
      r = vmk_err(&err, -EINVAL, "there is no VM to resume");
    else if (vmk_vm_can_start(vm))
      r = vmk_vm_start(vm, &err);
    else
      r = vmk_vm_resume(vm, &err);
  } else if (!strcmp(want, "paused")) {
    r = vm ? vmk_vm_pause(vm, &err)
           : vmk_err(&err, -EINVAL, "there is no VM to pause");
  } else if (!strcmp(want, "stopped")) {
    if (!vm && !api->opts.serve) {
      /* Between two VMs of a reboot: the owner stops the next one. */
      api->stop_asked = true;
      json_decref(o);
      return reply(resp, 200, json_pack("{s:s}", "state", "stopping"));
    }
    if (vm && !vmk_vm_can_stop(vm))
      r = vmk_err(&err, -EINVAL, "the VM is %s already",
                  vmk_state_name(vmk_vm_state(vm)));
    else
      r = vm ? vmk_vm_stop(vm, &err)
             : vmk_err(&err, -EINVAL, "there is no VM to stop");
  } else {
    st = fail(resp, 400,
              "\"state\" is '%.32s'; use \"running\", \"paused\" or "
              "\"stopped\"",
              want);
    json_decref(o);
    return st;
  }
  json_decref(o);
  if (r)
    return fail(resp, r == -EINVAL || r == -EBUSY ? 409 : 500, "%s", err.msg);
  return reply(resp, 200,
               json_pack("{s:s}", "state", vmk_state_name(vmk_vm_state(vm))));
}

static int put_config(struct vmk_api *api, const char *body, size_t len,
                      char **resp) {
  if (!api->opts.serve)
    return fail(resp, 409,
                "this VM was started with its config; only vmkit serve takes "
                "one through the API");
  if (api->vm)
    return fail(resp, 409, "the VM has started; its config cannot change");
  vmk_config *cfg;
  vmk_error err;
  if (vmk_config_from_json(body, len, &cfg, &err))
    return fail(resp, 400, "%s", err.msg);
  if (vmk_config_validate(cfg, &err)) {
    vmk_config_free(cfg);
    return fail(resp, 400, "%s", err.msg);
  }
  char *json;
  if (vmk_config_to_json(cfg, &json, &err)) {
    vmk_config_free(cfg);
    return fail(resp, 500, "%s", err.msg);
  }
  vmk_config_free(api->serve_cfg);
  free(api->config_json);
  api->serve_cfg = cfg;
  api->config_json = json;
  return reply(resp, 200, json_pack("{s:s}", "state", "configured"));
}

static int put_save(struct vmk_api *api, const char *body, size_t len,
                    char **resp) {
  json_t *o;
  const char *path;
  int st = parse_body(body, len, &o, resp);
  if (st)
    return st;
  if ((st = one_string(o, "path", &path, resp))) {
    json_decref(o);
    return st;
  }
  if (!api->vm || !vmk_vm_can_save(api->vm)) {
    json_decref(o);
    return fail(resp, 409, "the VM is %s; pause it before saving it",
                state_name(api));
  }
  vmk_error err;
  int r = vmk_vm_save(api->vm, path, &err);
  if (r) {
    json_decref(o);
    return fail(resp,
                r == -ENOTSUP  ? 501
                : r == -EINVAL ? 409
                               : 400,
                "%s", err.msg);
  }
  st = reply(resp, 200,
             json_pack("{s:s,s:s}", "state",
                       vmk_state_name(vmk_vm_state(api->vm)), "path", path));
  json_decref(o);
  return st;
}

static const char *const stat_names[VMK_BALLOON_STAT_COUNT] = {
    "swap_in",          "swap_out",     "major_faults",
    "minor_faults",     "free",         "total",
    "available",        "caches",       "hugetlb_allocs",
    "hugetlb_failures", "oom_kills",    "alloc_stalls",
    "async_scans",      "direct_scans", "async_reclaims",
    "direct_reclaims"};

static int get_balloon(struct vmk_api *api, char **resp) {
  vmk_balloon_stats b;
  vmk_error err;
  if (!api->vm)
    return fail(resp, 409, "there is no VM yet");
  if (vmk_vm_balloon_stats(api->vm, &b, &err))
    return fail(resp, 409, "%s", err.msg);
  json_t *stats = json_object();
  for (unsigned i = 0; stats && i < VMK_BALLOON_STAT_COUNT; i++)
    if (b.valid & (1u << i))
      json_object_set_new(stats, stat_names[i],
                          json_integer((json_int_t)b.stat[i]));
  return reply(resp, 200,
               json_pack("{s:I,s:I,s:I,s:I,s:o,s:o}", "target_bytes",
                         (json_int_t)b.target_bytes, "balloon_bytes",
                         (json_int_t)b.balloon_bytes, "reported_bytes",
                         (json_int_t)b.reported_bytes, "stats_updates",
                         (json_int_t)b.stats_updates, "stats_age_ms",
                         b.stats_age_ms == UINT64_MAX
                             ? json_null()
                             : json_integer((json_int_t)b.stats_age_ms),
                         "stats", stats ? stats : json_object()));
}

/* {"target": bytes | "256M"}: guest memory to keep. */
static int put_balloon(struct vmk_api *api, const char *body, size_t len,
                       char **resp) {
  json_t *o;
  int st = parse_body(body, len, &o, resp);
  if (st)
    return st;
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    if (strcmp(k, "target")) {
      st = fail(resp, 400,
                "unknown key '%.64s'; the body takes only "
                "\"target\"",
                k);
      json_decref(o);
      return st;
    }
  }
  v = json_object_get(o, "target");
  uint64_t bytes = 0;
  char *end = NULL;
  if (json_is_integer(v) && json_integer_value(v) > 0) {
    bytes = (uint64_t)json_integer_value(v);
  } else if (json_is_string(v)) {
    const char *s = json_string_value(v);
    unsigned long long n = strtoull(s, &end, 10);
    unsigned shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
    if (shift)
      end++;
    if (end != s && !*end && s[0] != '-' && n <= (VMK_MAX_MEMORY >> shift))
      bytes = (uint64_t)n << shift;
  }
  json_decref(o);
  if (!bytes)
    return fail(resp, 400,
                "the body needs \"target\": guest memory to keep, in bytes "
                "or as a size such as \"256M\"");
  if (!api->vm)
    return fail(resp, 409, "there is no VM yet");
  vmk_error err;
  int r = vmk_vm_set_balloon_target(api->vm, bytes, &err);
  if (r)
    return fail(resp, r == -EINVAL ? 400 : 409, "%s", err.msg);
  return reply(resp, 200,
               json_pack("{s:I}", "target_bytes", (json_int_t)bytes));
}

enum route_id {
  R_NONE,
  R_VM,
  R_STATE,
  R_REQUEST_STOP,
  R_SAVE,
  R_CONFIG,
  R_COUNTERS,
  R_EVENTS,
  R_BALLOON_GET,
  R_BALLOON_PUT
};

static const struct {
  const char *path, *method;
  enum route_id id;
} routes[] = {
    {"/v1/vm", "GET", R_VM},
    {"/v1/vm/state", "PUT", R_STATE},
    {"/v1/vm/request-stop", "PUT", R_REQUEST_STOP},
    {"/v1/vm/save", "PUT", R_SAVE},
    {"/v1/vm/config", "PUT", R_CONFIG},
    {"/v1/vm/counters", "GET", R_COUNTERS},
    {"/v1/events", "GET", R_EVENTS},
    {"/v1/vm/balloon", "GET", R_BALLOON_GET},
    {"/v1/vm/balloon", "PUT", R_BALLOON_PUT},
};

/* The route for url and method; *allow gets the path's methods when only
 * the method is wrong (405), else NULL (404). */
static enum route_id find_route(const char *method, const char *url,
                                const char **allow) {
  *allow = NULL;
  bool get = false, put = false;
  for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
    if (!strcmp(url, routes[i].path)) {
      if (!strcmp(method, routes[i].method))
        return routes[i].id;
      get |= !strcmp(routes[i].method, "GET");
      put |= !strcmp(routes[i].method, "PUT");
    }
  if (get || put)
    *allow = get && put ? "GET, PUT" : get ? "GET" : "PUT";
  return R_NONE;
}

static int route(struct vmk_api *api, const char *method, const char *url,
                 const char *body, size_t len, char **resp) {
  const char *allow;
  enum route_id id = find_route(method, url, &allow);
  if (id == R_NONE && allow)
    return fail(resp, 405, "%.16s is not allowed on %.64s; use %s", method, url,
                allow);
  if (id == R_NONE || id == R_EVENTS)
    return id == R_EVENTS
               ? fail(resp, 400, "GET /v1/events needs an HTTP connection")
               : fail(resp, 404,
                      "no such endpoint '%.64s'; see docs/api.md (GET "
                      "/v1/vm, PUT /v1/vm/state, ...)",
                      url);
  if ((id == R_VM || id == R_COUNTERS || id == R_REQUEST_STOP ||
       id == R_BALLOON_GET) &&
      len)
    return fail(resp, 400, "%s %.64s takes no body", method, url);
  pthread_mutex_lock(&api->vm_lock);
  int st;
  vmk_error err;
  switch (id) {
  case R_VM:
    st = get_vm(api, resp);
    break;
  case R_STATE:
    st = put_state(api, body, len, resp);
    break;
  case R_REQUEST_STOP:
    if (!api->vm)
      st = fail(resp, 409, "there is no VM to stop");
    else if (vmk_vm_request_stop(api->vm, &err))
      st = fail(resp, 409, "%s", err.msg);
    else
      st = reply(
          resp, 200,
          json_pack("{s:s}", "state", vmk_state_name(vmk_vm_state(api->vm))));
    break;
  case R_SAVE:
    st = put_save(api, body, len, resp);
    break;
  case R_CONFIG:
    st = put_config(api, body, len, resp);
    break;
  case R_BALLOON_GET:
    st = get_balloon(api, resp);
    break;
  case R_BALLOON_PUT:
    st = put_balloon(api, body, len, resp);
    break;
  case R_COUNTERS:
    st = reply(resp, 200,
               json_pack("{s:o}", "devices", devices_json(api->vm, true)));
    break;
  default:
    st = fail(resp, 500, "unhandled route");
  }
  pthread_mutex_unlock(&api->vm_lock);
  return st;
}

int vmk_api_handle(struct vmk_api *api, const char *method, const char *url,
                   const char *body, size_t len, char **resp) {
  *resp = NULL;
  if (len > api->opts.max_body)
    return fail(resp, 413, "the request body is %zu bytes; at most %zu", len,
                api->opts.max_body);
  return route(api, method, url, body, len, resp);
}

/* ---- lifecycle of the API -------------------------------------------- */

static struct vmk_api *api_new(const struct vmk_api_opts *opts) {
  struct vmk_api *api = calloc(1, sizeof(*api));
  if (!api)
    return NULL;
  api->opts = *opts;
  if (!api->opts.idle_timeout_s)
    api->opts.idle_timeout_s = VMK_API_DEFAULT_IDLE_S;
  if (!api->opts.max_connections)
    api->opts.max_connections = VMK_API_DEFAULT_CONNECTIONS;
  if (!api->opts.max_body)
    api->opts.max_body = VMK_API_DEFAULT_MAX_BODY;
  snprintf(api->name, sizeof(api->name), "%s", opts->name ? opts->name : "");
  api->opts.name = api->name;
  pthread_mutex_init(&api->vm_lock, NULL);
  pthread_cond_init(&api->vm_cond, NULL);
  pthread_mutex_init(&api->ev_lock, NULL);
  pthread_cond_init(&api->ev_cond, NULL);
  api->ev_next = 1;
  return api;
}

void vmk_api_set_vm(struct vmk_api *api, vmk_vm *vm, const vmk_config *cfg) {
  pthread_mutex_lock(&api->vm_lock);
  vmk_vm *old = api->vm;
  if (old && old != vm) {
    vmk_error err;
    vmk_exit_reason why = vmk_vm_exit(old, &err);
    vmk_vm_set_state_callback(old, NULL, NULL);
    if (why != VMK_EXIT_NONE) {
      /* Cut before encoding, so the line stays whole JSON: 140 bytes
       * escape to at most 840, within EVENT_LINE with the other fields
       * (a cut inside a UTF-8 sequence makes json_string fail: ""). */
      err.msg[140] = '\0';
      json_t *m = json_string(err.msg[0] ? err.msg : "");
      char *msg = m ? json_dumps(m, JSON_ENCODE_ANY) : NULL;
      pthread_mutex_lock(&api->ev_lock);
      post_locked(api, "\"event\":\"exit\",\"reason\":\"%s\",\"error\":%s}",
                  vmk_exit_reason_name(why), msg ? msg : "\"\"");
      pthread_mutex_unlock(&api->ev_lock);
      free(msg);
      json_decref(m);
    }
    if (api->own_vm)
      vmk_vm_free(old);
    api->own_vm = false;
    vmk_slot_release(api->slot);
    api->slot = NULL;
  }
  api->vm = vm;
  if (vm) {
    vmk_vm_set_state_callback(vm, on_state, api);
    if (!api->has_started) {
      clock_gettime(CLOCK_MONOTONIC, &api->started);
      api->has_started = true;
    }
  }
  if (cfg) {
    char *json;
    if (!vmk_config_to_json(cfg, &json, NULL)) {
      free(api->config_json);
      api->config_json = json;
    }
  }
  pthread_cond_broadcast(&api->vm_cond);
  pthread_mutex_unlock(&api->vm_lock);
}

int vmk_api_restore(struct vmk_api *api, const char *dir, const vmk_config *cfg,
                    vmk_vm **out, vmk_error *err) {
  pthread_mutex_lock(&api->vm_lock);
  api->restoring = true;
  pthread_mutex_unlock(&api->vm_lock);
  /* Not under vm_lock: GET /v1/vm answers "restoring" meanwhile. */
  int r = vmk_vm_restore_watched(dir, cfg, on_state, api, out, err);
  pthread_mutex_lock(&api->vm_lock);
  api->restoring = false;
  pthread_mutex_unlock(&api->vm_lock);
  return r;
}

bool vmk_api_take_stop(struct vmk_api *api) {
  pthread_mutex_lock(&api->vm_lock);
  bool asked = api->stop_asked;
  api->stop_asked = false;
  pthread_mutex_unlock(&api->vm_lock);
  return asked;
}

vmk_vm *vmk_api_wait_started(struct vmk_api *api, int timeout_ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  if (timeout_ms > 0) {
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000;
    }
  }
  pthread_mutex_lock(&api->vm_lock);
  while (!api->vm && timeout_ms != 0)
    if (timeout_ms < 0)
      pthread_cond_wait(&api->vm_cond, &api->vm_lock);
    else if (pthread_cond_timedwait(&api->vm_cond, &api->vm_lock, &deadline) ==
             ETIMEDOUT)
      break;
  vmk_vm *vm = api->vm;
  pthread_mutex_unlock(&api->vm_lock);
  return vm;
}

static void api_free(struct vmk_api *api) {
  vmk_api_set_vm(api, NULL, NULL);
  vmk_slot_release(api->slot);
  vmk_config_free(api->serve_cfg);
  free(api->config_json);
  pthread_mutex_destroy(&api->vm_lock);
  pthread_cond_destroy(&api->vm_cond);
  pthread_mutex_destroy(&api->ev_lock);
  pthread_cond_destroy(&api->ev_cond);
  free(api);
}

#if VMK_HAVE_API

/* ---- HTTP (libmicrohttpd) ------------------------------------------- */

struct request {
  struct vmk_api *api;
  char *body;
  size_t len;
  bool too_big;
  uint64_t next_event; /* /v1/events: the next sequence number to send */
  bool ev_flushed;     /* /v1/events: the headers went out */
};

static enum MHD_Result send_json(const struct vmk_api *api,
                                 struct MHD_Connection *c, int status,
                                 char *json, const char *allow) {
  const struct mhd_fns *fn = &api->fn;
  const char *s = json ? json : "{\"error\":\"out of memory\"}";
  struct MHD_Response *r = fn->create_response_from_buffer(
      strlen(s), (void *)s, MHD_RESPMEM_MUST_COPY);
  free(json);
  if (!r)
    return MHD_NO;
  fn->add_response_header(r, "Content-Type", "application/json");
  if (allow)
    fn->add_response_header(r, "Allow", allow);
  enum MHD_Result ret = fn->queue_response(c, (unsigned)status, r);
  fn->destroy_response(r);
  return ret;
}

/* /v1/events: a connection thread blocks here for the next events; a
 * blank line every 5 s tells an idle client the stream is alive (and
 * keeps the idle timeout from closing it). */
static ssize_t events_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  struct request *req = cls;
  struct vmk_api *api = req->api;
  pthread_mutex_lock(&api->ev_lock);
  if (req->next_event > api->ev_next)
    req->next_event = api->ev_next;
  /* The first call never waits, so the headers leave at once: a client
   * that has them knows every later change reaches it. */
  bool first = !req->ev_flushed;
  req->ev_flushed = true;
  if (req->next_event == api->ev_next && !api->stopping && !first) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += 5;
    pthread_cond_timedwait(&api->ev_cond, &api->ev_lock, &t);
  }
  ssize_t n = 0;
  if (api->ev_next - req->next_event > EVENT_RING)
    req->next_event = api->ev_next - EVENT_RING; /* a slow reader skips */
  while (req->next_event < api->ev_next) {
    const char *line = api->events[req->next_event % EVENT_RING];
    size_t l = strlen(line);
    if ((size_t)n + l > max)
      break;
    memcpy(buf + n, line, l);
    n += (ssize_t)l;
    req->next_event++;
  }
  bool stopping = api->stopping;
  pthread_mutex_unlock(&api->ev_lock);
  if (n)
    return n;
  if (stopping)
    return MHD_CONTENT_READER_END_OF_STREAM;
  buf[0] = '\n';
  return 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  (void)version;
  struct vmk_api *api = cls;
  struct request *req = *con_cls;
  if (!req) {
    req = calloc(1, sizeof(*req));
    if (!req)
      return MHD_NO;
    req->api = api;
    *con_cls = req;
    pthread_mutex_lock(&api->ev_lock);
    api->inflight++;
    pthread_mutex_unlock(&api->ev_lock);
    return MHD_YES;
  }
  if (*upload_size) {
    if (!req->too_big && req->len + *upload_size > api->opts.max_body) {
      req->too_big = true;
      free(req->body);
      req->body = NULL;
    }
    if (!req->too_big) {
      char *b = realloc(req->body, req->len + *upload_size + 1);
      if (!b)
        return MHD_NO;
      memcpy(b + req->len, upload, *upload_size);
      req->body = b;
      req->len += *upload_size;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (req->too_big) {
    char *resp;
    int st = fail(&resp, 413, "the request body is larger than %zu bytes",
                  api->opts.max_body);
    return send_json(api, c, st, resp, NULL);
  }
  const char *allow;
  if (find_route(method, url, &allow) == R_EVENTS) {
    /* ?since=N: first the events from sequence number N the ring still
     * holds (1: all of them), so a client that connects late, e.g. to a
     * VM just restored, still sees its restoring -> paused. */
    const char *since =
        api->fn.lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
    if (since) {
      char *end;
      errno = 0;
      unsigned long long v = strtoull(since, &end, 10);
      if (!*since || *end || errno || *since == '-') {
        char *resp;
        int st = fail(&resp, 400,
                      "since=%.32s is not a sequence number; give since=1 "
                      "for every event still held",
                      since);
        return send_json(api, c, st, resp, NULL);
      }
      req->next_event = v ? v : 1;
    } else {
      /* Live from the request on, not from when the body starts. */
      pthread_mutex_lock(&api->ev_lock);
      req->next_event = api->ev_next;
      pthread_mutex_unlock(&api->ev_lock);
    }
    struct MHD_Response *r = api->fn.create_response_from_callback(
        MHD_SIZE_UNKNOWN, 4096, events_read, req, NULL);
    if (!r)
      return MHD_NO;
    api->fn.add_response_header(r, "Content-Type", "application/x-ndjson");
    enum MHD_Result ret = api->fn.queue_response(c, MHD_HTTP_OK, r);
    api->fn.destroy_response(r);
    return ret;
  }
  char *resp;
  int st = route(api, method, url, req->body ? req->body : "", req->len, &resp);
  find_route(method, url, &allow);
  return send_json(api, c, st, resp, st == 405 ? allow : NULL);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)c;
  (void)toe;
  struct vmk_api *api = cls;
  struct request *req = *con_cls;
  if (req) {
    free(req->body);
    free(req);
    *con_cls = NULL;
    pthread_mutex_lock(&api->ev_lock);
    api->inflight--;
    pthread_cond_broadcast(&api->ev_cond);
    pthread_mutex_unlock(&api->ev_lock);
  }
}

/* Loads libmicrohttpd and starts its daemon on the socket (lazy thread). */
static int start_mhd(struct vmk_api *api, vmk_error *err) {
  const struct vmk_dynsym syms[] = {
      {"MHD_start_daemon", (void **)&api->fn.start_daemon},
      {"MHD_quiesce_daemon", (void **)&api->fn.quiesce_daemon},
      {"MHD_stop_daemon", (void **)&api->fn.stop_daemon},
      {"MHD_create_response_from_buffer",
       (void **)&api->fn.create_response_from_buffer},
      {"MHD_create_response_from_callback",
       (void **)&api->fn.create_response_from_callback},
      {"MHD_add_response_header", (void **)&api->fn.add_response_header},
      {"MHD_queue_response", (void **)&api->fn.queue_response},
      {"MHD_destroy_response", (void **)&api->fn.destroy_response},
      {"MHD_lookup_connection_value",
       (void **)&api->fn.lookup_connection_value},
  };
  int r = vmk_dynlib_open(
      "libmicrohttpd.so.12", syms, sizeof(syms) / sizeof(syms[0]),
      "the REST API (vmkit list, pause, stop, ...)",
      "install the libmicrohttpd12 package", &api->mhd_lib, err);
  if (r)
    return r;
  api->mhd = api->fn.start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
          MHD_USE_ITC,
      0, NULL, NULL, on_request, api, MHD_OPTION_LISTEN_SOCKET,
      (MHD_socket)api->opts.listen_fd, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned)api->opts.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)api->opts.idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      (size_t)(32u << 10), MHD_OPTION_THREAD_STACK_SIZE,
      (size_t)VMK_THREAD_STACK, MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
      MHD_OPTION_END);
  if (!api->mhd) {
    vmk_dynlib_close(api->mhd_lib);
    api->mhd_lib = NULL;
    return vmk_err(err, -EIO, "cannot start the API server on its socket");
  }
  return 0;
}

/* Waits until the socket is readable (a client) or wake_fd is (stop): 1,
 * 0. */
static int wait_client(const struct vmk_api *api) {
  struct pollfd p[2] = {{.fd = api->opts.listen_fd, .events = POLLIN},
                        {.fd = api->wake_fd, .events = POLLIN}};
  for (;;) {
    if (poll(p, 2, -1) < 0)
      continue; /* EINTR */
    if (p[1].revents)
      return 0;
    if (p[0].revents)
      return 1;
  }
}

/* The lazy thread: waits for the first client, then hands the socket to
 * libmicrohttpd and ends. If it cannot, answers each client 503 with the
 * reason, until stop. */
static void *lazy_main(void *arg) {
  struct vmk_api *api = arg;
  if (!wait_client(api))
    return NULL;
  vmk_error err;
  if (start_mhd(api, &err) == 0)
    return NULL;
  fprintf(stderr, "vmkit: %s\n", err.msg);
  char *json = error_json(err.msg);
  char head[160];
  int hl = snprintf(head, sizeof(head),
                    "HTTP/1.1 503 Service Unavailable\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                    json ? strlen(json) : 0);
  while (wait_client(api)) {
    int c =
        accept4(api->opts.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0)
      continue;
    /* Best effort: a client that does not read gets cut short. */
    if (send(c, head, (size_t)hl, MSG_NOSIGNAL) == hl && json)
      (void)send(c, json, strlen(json), MSG_NOSIGNAL);
    close(c);
  }
  free(json);
  return NULL;
}

int vmk_api_start(const struct vmk_api_opts *opts, struct vmk_api **out,
                  vmk_error *err) {
  vmk_err_clear(err);
  *out = NULL;
  struct vmk_api *api = api_new(opts);
  if (!api)
    return vmk_err(err, -ENOMEM, "out of memory starting the API");
  api->wake_fd = eventfd(0, EFD_CLOEXEC);
  if (api->wake_fd < 0) {
    int e = errno;
    api_free(api);
    return vmk_err(err, -e, "cannot start the API server: %s", strerror(e));
  }
  int r = vmk_thread_create(&api->lazy, lazy_main, api);
  if (r) {
    close(api->wake_fd);
    api_free(api);
    return vmk_err(err, -r, "cannot start the API server's thread: %s",
                   strerror(r));
  }
  *out = api;
  return 0;
}

void vmk_api_stop(struct vmk_api *api) {
  if (!api)
    return;
  pthread_mutex_lock(&api->ev_lock);
  api->stopping = true;
  pthread_cond_broadcast(&api->ev_cond);
  pthread_mutex_unlock(&api->ev_lock);
  uint64_t one = 1;
  if (write(api->wake_fd, &one, sizeof(one)) < 0) {
    /* an eventfd write only fails at its maximum count */
  }
  pthread_join(api->lazy, NULL);
  close(api->wake_fd);
  int fd = api->opts.listen_fd;
  if (api->mhd) {
    fd = api->fn.quiesce_daemon(api->mhd);
    /* Answers being sent go out first (at most 2 s: a client that does
     * not read its answer is cut off). Event streams end at stopping. */
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += 2;
    pthread_mutex_lock(&api->ev_lock);
    while (api->inflight &&
           pthread_cond_timedwait(&api->ev_cond, &api->ev_lock, &t) == 0) {
    }
    pthread_mutex_unlock(&api->ev_lock);
    api->fn.stop_daemon(api->mhd);
  }
  if (fd != MHD_INVALID_SOCKET)
    close(fd);
  void *lib = api->mhd_lib;
  api_free(api);
  vmk_dynlib_close(lib); /* after the daemon's threads are gone */
}

#else /* !VMK_HAVE_API */

int vmk_api_start(const struct vmk_api_opts *opts, struct vmk_api **out,
                  vmk_error *err) {
  (void)opts;
  *out = NULL;
  return vmk_err(err, -ENOTSUP,
                 "this vmkit was built without the REST API (libmicrohttpd)");
}

void vmk_api_stop(struct vmk_api *api) {
  if (api)
    api_free(api);
}

#endif

struct vmk_api *vmk_api_new_detached(const struct vmk_api_opts *opts) {
  return api_new(opts);
}
void vmk_api_free_detached(struct vmk_api *api) { api_free(api); }
