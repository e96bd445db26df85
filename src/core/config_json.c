/* config_json.c — a VM configuration as one JSON document, both ways
 * (the format is documented in docs/config.md). The parser checks every
 * field's type and range and refuses unknown keys, naming the field, so a
 * typo is never silently ignored; files are checked by vmk_config_validate.
 * JSON text comes from users and from API clients: it is untrusted input
 * (fuzzed by tests/fuzz/fuzz_api.c). Uses jansson.
 *
 * Runs on the caller's thread; no shared state (the config belongs to the
 * caller).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "core/config.h"

/* ---- config -> JSON --------------------------------------------------- */

static const char *net_kind_name(vmk_net_kind k) {
  switch (k) {
  case VMK_NET_NAT:
    return "nat";
  case VMK_NET_SOCKET:
    return "socket";
  case VMK_NET_SOCKET_LISTEN:
    return "socket-listen";
  case VMK_NET_TAP:
    return "tap";
  }
  return "?";
}

/* "512M" / "2G" when exact, else a byte count: what a person would write. */
static json_t *memory_json(uint64_t bytes) {
  char buf[32];
  if (bytes % (1ull << 30) == 0)
    snprintf(buf, sizeof(buf), "%" PRIu64 "G", bytes >> 30);
  else if (bytes % (1ull << 20) == 0)
    snprintf(buf, sizeof(buf), "%" PRIu64 "M", bytes >> 20);
  else
    return json_integer((json_int_t)bytes);
  return json_string(buf);
}

/* json_object_set_new that remembers an allocation failure. */
static void put(json_t *obj, const char *key, json_t *v, bool *oom) {
  if (!v || json_object_set_new(obj, key, v))
    *oom = true;
}

static json_t *str_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

int vmk_config_to_json(const vmk_config *cfg, char **out, vmk_error *err) {
  vmk_err_clear(err);
  *out = NULL;
  bool oom = false;
  json_t *o = json_object();
  if (!o)
    return vmk_err(err, -ENOMEM, "out of memory writing the config as JSON");
  put(o, "engine", json_string(vmk_engine_name(cfg->engine)), &oom);
  put(o, "emu_mode", json_string(vmk_emu_mode_name(cfg->emu_mode)), &oom);
  put(o, "cpus", json_integer(cfg->cpus), &oom);
  put(o, "memory", memory_json(cfg->memory), &oom);
  put(o, "kernel", str_or_null(cfg->kernel), &oom);
  put(o, "initrd", str_or_null(cfg->initrd), &oom);
  put(o, "cmdline", str_or_null(cfg->cmdline), &oom);
  json_t *a = json_array();
  for (unsigned i = 0; a && i < cfg->ndisks; i++) {
    json_t *d = json_object();
    if (d) {
      put(d, "path", json_string(cfg->disks[i].path), &oom);
      put(d, "read_only", json_boolean(cfg->disks[i].read_only), &oom);
    }
    if (!d || json_array_append_new(a, d))
      oom = true;
  }
  put(o, "disks", a, &oom);
  put(o, "entropy", json_boolean(cfg->entropy), &oom);
  put(o, "balloon", json_boolean(cfg->balloon), &oom);
  put(o, "balloon_target",
      cfg->balloon_target ? memory_json(cfg->balloon_target) : json_null(),
      &oom);
  if (cfg->console == VMK_CONSOLE_FILE) {
    json_t *c = json_object();
    if (c)
      put(c, "file", json_string(cfg->console_file), &oom);
    put(o, "console", c, &oom);
  } else {
    put(o, "console",
        json_string(cfg->console == VMK_CONSOLE_FDS ? "stdio" : "none"), &oom);
  }
  a = json_array();
  for (unsigned i = 0; a && i < cfg->nshares; i++) {
    json_t *s = json_object();
    if (s) {
      put(s, "dir", json_string(cfg->shares[i].dir), &oom);
      put(s, "tag", json_string(cfg->shares[i].tag), &oom);
      put(s, "read_only", json_boolean(cfg->shares[i].read_only), &oom);
    }
    if (!s || json_array_append_new(a, s))
      oom = true;
  }
  put(o, "shares", a, &oom);
  a = json_array();
  for (unsigned i = 0; a && i < cfg->nports; i++) {
    json_t *p = json_object();
    if (p) {
      put(p, "name", json_string(cfg->ports[i].name), &oom);
      put(p, "path", json_string(cfg->ports[i].path), &oom);
    }
    if (!p || json_array_append_new(a, p))
      oom = true;
  }
  put(o, "ports", a, &oom);
  if (cfg->vsock_path) {
    json_t *v = json_object();
    if (v) {
      put(v, "path", json_string(cfg->vsock_path), &oom);
      put(v, "cid", json_integer((json_int_t)cfg->vsock_cid), &oom);
    }
    put(o, "vsock", v, &oom);
  } else {
    put(o, "vsock", json_null(), &oom);
  }
  a = json_array();
  for (unsigned i = 0; a && i < cfg->nnets; i++) {
    const struct vmk_net_config *n = &cfg->nets[i];
    json_t *j = json_object();
    if (j) {
      put(j, "kind", json_string(net_kind_name(n->kind)), &oom);
      if (n->target)
        put(j, "target", json_string(n->target), &oom);
      if (n->mac_set) {
        char mac[18];
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0],
                 n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
        put(j, "mac", json_string(mac), &oom);
      }
      if (n->mtu)
        put(j, "mtu", json_integer(n->mtu), &oom);
    }
    if (!j || json_array_append_new(a, j))
      oom = true;
  }
  put(o, "nets", a, &oom);
  a = json_array();
  for (unsigned i = 0; a && i < cfg->nforwards; i++) {
    const struct vmk_forward_config *f = &cfg->forwards[i];
    json_t *j = json_object();
    if (j) {
      char addr[INET_ADDRSTRLEN];
      struct in_addr in = {.s_addr = htonl(f->host_addr)};
      inet_ntop(AF_INET, &in, addr, sizeof(addr));
      put(j, "proto", json_string(f->udp ? "udp" : "tcp"), &oom);
      put(j, "host_addr", json_string(addr), &oom);
      put(j, "host_port", json_integer(f->host_port), &oom);
      put(j, "guest_port", json_integer(f->guest_port), &oom);
    }
    if (!j || json_array_append_new(a, j))
      oom = true;
  }
  put(o, "forwards", a, &oom);
  put(o, "boot_timer", json_boolean(cfg->boot_timer), &oom);
  char *s = oom ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (!s)
    return vmk_err(err, -ENOMEM, "out of memory writing the config as JSON");
  *out = s;
  return 0;
}

/* ---- JSON -> config --------------------------------------------------- */

/* Refuses any key of obj not in allowed (NULL-terminated); where names the
 * object ("the config", "disks[2]"). */
static int check_keys(json_t *obj, const char *const *allowed,
                      const char *where, vmk_error *err) {
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    bool ok = false;
    for (const char *const *a = allowed; *a && !ok; a++)
      ok = !strcmp(*a, key);
    if (!ok) {
      char list[512] = "";
      size_t n = 0;
      for (const char *const *a = allowed; *a; a++)
        n += (size_t)snprintf(list + n, n < sizeof(list) ? sizeof(list) - n : 0,
                              "%s%s", a == allowed ? "" : ", ", *a);
      return vmk_err(err, -EINVAL,
                     "unknown key '%.64s' in %s; the keys are: %s", key, where,
                     list);
    }
  }
  return 0;
}

static const char *type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "an array";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a boolean";
  case JSON_NULL:
    return "null";
  }
  return "?";
}

static int want(json_t *v, json_type t, const char *field, const char *what,
                vmk_error *err) {
  if (json_typeof(v) == t || (t == JSON_TRUE && json_typeof(v) == JSON_FALSE))
    return 0;
  return vmk_err(err, -EINVAL, "config field '%s' must be %s, not %s", field,
                 what, type_name(v));
}

/* A non-empty string without NUL bytes (paths, names). */
static int get_str(json_t *v, const char *field, const char **out,
                   vmk_error *err) {
  int r = want(v, JSON_STRING, field, "a string", err);
  if (r)
    return r;
  if (json_string_length(v) == 0 ||
      strlen(json_string_value(v)) != json_string_length(v))
    return vmk_err(err, -EINVAL,
                   "config field '%s' must be a non-empty string without NUL "
                   "characters",
                   field);
  *out = json_string_value(v);
  return 0;
}

static int get_uint(json_t *v, const char *field, uint64_t lo, uint64_t hi,
                    uint64_t *out, vmk_error *err) {
  int r = want(v, JSON_INTEGER, field, "a whole number", err);
  if (r)
    return r;
  json_int_t n = json_integer_value(v);
  if (n < 0 || (uint64_t)n < lo || (uint64_t)n > hi)
    return vmk_err(err, -ERANGE,
                   "config field '%s' is %" JSON_INTEGER_FORMAT
                   "; it must be from %" PRIu64 " to %" PRIu64,
                   field, n, lo, hi);
  *out = (uint64_t)n;
  return 0;
}

static int get_bool(json_t *v, const char *field, bool *out, vmk_error *err) {
  int r = want(v, JSON_TRUE, field, "true or false", err);
  if (!r)
    *out = json_is_true(v);
  return r;
}

/* A memory size (field "memory" or "balloon_target"): bytes, or a string
 * "512M", "2G", "65536K". */
static int get_size(json_t *v, const char *field, uint64_t *out,
                    vmk_error *err) {
  if (json_is_integer(v))
    return get_uint(v, field, VMK_MIN_MEMORY, VMK_MAX_MEMORY, out, err);
  if (!json_is_string(v))
    return vmk_err(err, -EINVAL,
                   "config field '%s' must be a byte count or a size such "
                   "as \"512M\", not %s",
                   field, type_name(v));
  const char *s = json_string_value(v);
  char *end;
  errno = 0;
  unsigned long long n = strtoull(s, &end, 10);
  unsigned shift = 0;
  if (*end == 'K' || *end == 'k')
    shift = 10;
  else if (*end == 'M' || *end == 'm')
    shift = 20;
  else if (*end == 'G' || *end == 'g')
    shift = 30;
  if (shift)
    end++;
  if (errno || end == s || *end || s[0] == '-' || s[0] == '+' ||
      n > (VMK_MAX_MEMORY >> shift) || (n << shift) < VMK_MIN_MEMORY)
    return vmk_err(err, -EINVAL,
                   "config field '%s' is '%.32s'; give a size from %lluM "
                   "to %lluG such as \"512M\"",
                   field, s, VMK_MIN_MEMORY >> 20, VMK_MAX_MEMORY >> 30);
  *out = (uint64_t)n << shift;
  return 0;
}

static int get_array(json_t *v, const char *field, size_t max, vmk_error *err) {
  int r = want(v, JSON_ARRAY, field, "an array", err);
  if (r)
    return r;
  if (json_array_size(v) > max)
    return vmk_err(err, -E2BIG,
                   "config field '%s' has %zu entries; at most %zu", field,
                   json_array_size(v), max);
  return 0;
}

static int parse_disks(json_t *a, vmk_config *cfg, vmk_error *err) {
  static const char *const keys[] = {"path", "read_only", NULL};
  int r = get_array(a, "disks", VMK_MAX_DISKS, err);
  size_t i;
  json_t *d;
  json_array_foreach(a, i, d) {
    char where[32];
    snprintf(where, sizeof(where), "disks[%zu]", i);
    if (r || (r = want(d, JSON_OBJECT, where, "an object", err)) ||
        (r = check_keys(d, keys, where, err)))
      return r;
    const char *path;
    bool ro = false;
    json_t *p = json_object_get(d, "path"),
           *o = json_object_get(d, "read_only");
    if (!p)
      return vmk_err(err, -EINVAL, "config field '%s' needs a \"path\"", where);
    if ((r = get_str(p, "disks[].path", &path, err)) ||
        (o && (r = get_bool(o, "disks[].read_only", &ro, err))))
      return r;
    if ((r = vmk_config_add_disk(cfg, path, ro)))
      return vmk_err(err, r, "cannot add disk '%s'", path);
  }
  return r;
}

static int parse_shares(json_t *a, vmk_config *cfg, vmk_error *err) {
  static const char *const keys[] = {"dir", "tag", "read_only", NULL};
  int r = get_array(a, "shares", VMK_MAX_SHARES, err);
  size_t i;
  json_t *s;
  json_array_foreach(a, i, s) {
    char where[32];
    snprintf(where, sizeof(where), "shares[%zu]", i);
    if (r || (r = want(s, JSON_OBJECT, where, "an object", err)) ||
        (r = check_keys(s, keys, where, err)))
      return r;
    const char *dir, *tag = NULL;
    bool ro = false;
    json_t *d = json_object_get(s, "dir"), *t = json_object_get(s, "tag"),
           *o = json_object_get(s, "read_only");
    if (!d)
      return vmk_err(err, -EINVAL, "config field '%s' needs a \"dir\"", where);
    if ((r = get_str(d, "shares[].dir", &dir, err)) ||
        (t && (r = get_str(t, "shares[].tag", &tag, err))) ||
        (o && (r = get_bool(o, "shares[].read_only", &ro, err))))
      return r;
    if ((r = vmk_config_add_share(cfg, dir, tag, ro)))
      return vmk_err(err, r, "cannot add share '%s'", dir);
  }
  return r;
}

static int parse_ports(json_t *a, vmk_config *cfg, vmk_error *err) {
  static const char *const keys[] = {"name", "path", NULL};
  int r = get_array(a, "ports", VMK_MAX_PORTS, err);
  size_t i;
  json_t *p;
  json_array_foreach(a, i, p) {
    char where[32];
    snprintf(where, sizeof(where), "ports[%zu]", i);
    if (r || (r = want(p, JSON_OBJECT, where, "an object", err)) ||
        (r = check_keys(p, keys, where, err)))
      return r;
    json_t *n = json_object_get(p, "name"), *s = json_object_get(p, "path");
    if (!n || !s)
      return vmk_err(err, -EINVAL,
                     "config field '%s' needs a \"name\" and a \"path\"",
                     where);
    const char *name, *path;
    if ((r = get_str(n, "ports[].name", &name, err)) ||
        (r = get_str(s, "ports[].path", &path, err)))
      return r;
    if ((r = vmk_config_add_port(cfg, name, path)))
      return vmk_err(err, r, "cannot add console port '%s'", name);
  }
  return r;
}

static int parse_mac(const char *s, uint8_t mac[6], vmk_error *err) {
  unsigned v[6];
  char end;
  if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1],
                                &v[2], &v[3], &v[4], &v[5], &end) != 6)
    return vmk_err(err, -EINVAL,
                   "config field 'nets[].mac' is '%.32s'; give six hex bytes "
                   "such as \"52:54:00:12:34:56\"",
                   s);
  for (int i = 0; i < 6; i++)
    mac[i] = (uint8_t)v[i];
  return 0;
}

static int parse_nets(json_t *a, vmk_config *cfg, vmk_error *err) {
  static const char *const keys[] = {"kind", "target", "mac", "mtu", NULL};
  int r = get_array(a, "nets", VMK_MAX_NETS, err);
  size_t i;
  json_t *n;
  json_array_foreach(a, i, n) {
    char where[32];
    snprintf(where, sizeof(where), "nets[%zu]", i);
    if (r || (r = want(n, JSON_OBJECT, where, "an object", err)) ||
        (r = check_keys(n, keys, where, err)))
      return r;
    json_t *k = json_object_get(n, "kind"), *t = json_object_get(n, "target"),
           *m = json_object_get(n, "mac"), *u = json_object_get(n, "mtu");
    const char *kind, *target = NULL, *macs;
    if (!k)
      return vmk_err(err, -EINVAL, "config field '%s' needs a \"kind\"", where);
    if ((r = get_str(k, "nets[].kind", &kind, err)))
      return r;
    vmk_net_kind nk;
    if (!strcmp(kind, "nat"))
      nk = VMK_NET_NAT;
    else if (!strcmp(kind, "socket"))
      nk = VMK_NET_SOCKET;
    else if (!strcmp(kind, "socket-listen"))
      nk = VMK_NET_SOCKET_LISTEN;
    else if (!strcmp(kind, "tap"))
      nk = VMK_NET_TAP;
    else
      return vmk_err(err, -EINVAL,
                     "config field 'nets[].kind' is '%.32s'; use nat, socket, "
                     "socket-listen or tap",
                     kind);
    if (t && (r = get_str(t, "nets[].target", &target, err)))
      return r;
    if ((nk == VMK_NET_NAT) != !target)
      return vmk_err(err, -EINVAL,
                     nk == VMK_NET_NAT
                         ? "config field '%s': a nat network takes no target"
                         : "config field '%s' needs a \"target\" (the socket "
                           "path or tap name)",
                     where);
    uint8_t mac[6];
    uint64_t mtu = 0;
    if (m && ((r = get_str(m, "nets[].mac", &macs, err)) ||
              (r = parse_mac(macs, mac, err))))
      return r;
    if (u && (r = get_uint(u, "nets[].mtu", 68, 65500, &mtu, err)))
      return r;
    if ((r = vmk_config_add_net(cfg, nk, target, m ? mac : NULL,
                                (unsigned)mtu)))
      return vmk_err(err, r, "cannot add network %s", where);
  }
  return r;
}

static int parse_forwards(json_t *a, vmk_config *cfg, vmk_error *err) {
  static const char *const keys[] = {"proto", "host_addr", "host_port",
                                     "guest_port", NULL};
  int r = get_array(a, "forwards", VMK_MAX_FORWARDS, err);
  size_t i;
  json_t *f;
  json_array_foreach(a, i, f) {
    char where[32];
    snprintf(where, sizeof(where), "forwards[%zu]", i);
    if (r || (r = want(f, JSON_OBJECT, where, "an object", err)) ||
        (r = check_keys(f, keys, where, err)))
      return r;
    json_t *p = json_object_get(f, "proto"),
           *h = json_object_get(f, "host_addr"),
           *hp = json_object_get(f, "host_port"),
           *gp = json_object_get(f, "guest_port");
    const char *proto = "tcp", *addr = NULL;
    uint64_t hport = 0, gport = 0;
    if (!hp || !gp)
      return vmk_err(err, -EINVAL,
                     "config field '%s' needs \"host_port\" and \"guest_port\"",
                     where);
    if ((p && (r = get_str(p, "forwards[].proto", &proto, err))) ||
        (h && (r = get_str(h, "forwards[].host_addr", &addr, err))) ||
        (r = get_uint(hp, "forwards[].host_port", 1, 65535, &hport, err)) ||
        (r = get_uint(gp, "forwards[].guest_port", 1, 65535, &gport, err)))
      return r;
    if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
      return vmk_err(err, -EINVAL,
                     "config field 'forwards[].proto' is '%.32s'; use tcp or "
                     "udp",
                     proto);
    r = vmk_config_add_forward(cfg, !strcmp(proto, "udp"), addr,
                               (unsigned)hport, (unsigned)gport);
    if (r)
      return vmk_err(err, r,
                     "config field 'forwards[].host_addr' is '%.32s'; give an "
                     "IPv4 address such as \"127.0.0.1\"",
                     addr ? addr : "");
  }
  return r;
}

static int parse_console(json_t *v, vmk_config *cfg, vmk_error *err) {
  static const char *const keys[] = {"file", NULL};
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    if (!strcmp(s, "none"))
      return vmk_config_set_console(cfg, VMK_CONSOLE_NONE, -1, -1);
    if (!strcmp(s, "stdio"))
      return vmk_config_set_console(cfg, VMK_CONSOLE_FDS, 0, 1);
  } else if (json_is_object(v)) {
    int r = check_keys(v, keys, "console", err);
    json_t *f = json_object_get(v, "file");
    const char *path;
    if (r || !f)
      return r ? r
               : vmk_err(err, -EINVAL,
                         "config field 'console' needs a \"file\"");
    if ((r = get_str(f, "console.file", &path, err)))
      return r;
    return vmk_config_set_console_file(cfg, path);
  }
  return vmk_err(err, -EINVAL,
                 "config field 'console' must be \"stdio\", \"none\" or "
                 "{\"file\": PATH}");
}

static int parse_vsock(json_t *v, vmk_config *cfg, vmk_error *err) {
  static const char *const keys[] = {"path", "cid", NULL};
  if (json_is_null(v))
    return vmk_config_set_vsock(cfg, NULL, 0);
  int r = want(v, JSON_OBJECT, "vsock", "an object or null", err);
  if (r || (r = check_keys(v, keys, "vsock", err)))
    return r;
  json_t *p = json_object_get(v, "path"), *c = json_object_get(v, "cid");
  const char *path;
  uint64_t cid = VMK_VSOCK_DEFAULT_CID;
  if (!p)
    return vmk_err(err, -EINVAL, "config field 'vsock' needs a \"path\"");
  if ((r = get_str(p, "vsock.path", &path, err)) ||
      (c && (r = get_uint(c, "vsock.cid", 3, 0xfffffffeu, &cid, err))))
    return r;
  return vmk_config_set_vsock(cfg, path, cid);
}

static int parse_config(json_t *o, vmk_config *cfg, vmk_error *err) {
  static const char *const keys[] = {
      "engine",         "cpus",  "memory",   "kernel",     "initrd",
      "cmdline",        "disks", "entropy",  "console",    "shares",
      "vsock",          "nets",  "forwards", "boot_timer", "balloon",
      "balloon_target", "ports", "emu_mode", NULL};
  int r = want(o, JSON_OBJECT, "(top level)", "an object", err);
  if (r || (r = check_keys(o, keys, "the config", err)))
    return r;
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    const char *s;
    uint64_t n;
    bool b;
    if (!strcmp(key, "engine")) {
      if ((r = get_str(v, key, &s, err)))
        return r;
      if (!strcmp(s, "auto"))
        vmk_config_set_engine(cfg, VMK_ENGINE_AUTO);
      else if (!strcmp(s, "kvm"))
        vmk_config_set_engine(cfg, VMK_ENGINE_KVM);
      else if (!strcmp(s, "emu"))
        vmk_config_set_engine(cfg, VMK_ENGINE_EMU);
      else
        return vmk_err(err, -EINVAL,
                       "config field 'engine' is '%.32s'; use auto, kvm or emu",
                       s);
    } else if (!strcmp(key, "emu_mode")) {
      if ((r = get_str(v, key, &s, err)))
        return r;
      if (!strcmp(s, "interp"))
        vmk_config_set_emu_mode(cfg, VMK_EMU_MODE_INTERP);
      else if (!strcmp(s, "jit"))
        vmk_config_set_emu_mode(cfg, VMK_EMU_MODE_JIT);
      else
        return vmk_err(err, -EINVAL,
                       "config field 'emu_mode' is '%.32s'; use interp or jit",
                       s);
    } else if (!strcmp(key, "cpus")) {
      if ((r = get_uint(v, key, 1, VMK_MAX_CPUS, &n, err)))
        return r;
      vmk_config_set_cpus(cfg, (unsigned)n);
    } else if (!strcmp(key, "memory")) {
      if ((r = get_size(v, "memory", &n, err)))
        return r;
      vmk_config_set_memory(cfg, n);
    } else if (!strcmp(key, "kernel") || !strcmp(key, "initrd") ||
               !strcmp(key, "cmdline")) {
      s = NULL;
      if (!json_is_null(v)) {
        if (!strcmp(key, "cmdline")) {
          /* An empty command line is a valid one. */
          if ((r = want(v, JSON_STRING, key, "a string or null", err)))
            return r;
          s = json_string_value(v);
          if (strlen(s) != json_string_length(v))
            return vmk_err(err, -EINVAL,
                           "config field 'cmdline' has a NUL character");
        } else if ((r = get_str(v, key, &s, err))) {
          return r;
        }
      }
      r = !strcmp(key, "kernel")   ? vmk_config_set_kernel(cfg, s)
          : !strcmp(key, "initrd") ? vmk_config_set_initrd(cfg, s)
                                   : vmk_config_set_cmdline(cfg, s);
      if (r)
        return vmk_err(err, r, "out of memory reading the config");
    } else if (!strcmp(key, "entropy") || !strcmp(key, "boot_timer") ||
               !strcmp(key, "balloon")) {
      if ((r = get_bool(v, key, &b, err)))
        return r;
      if (!strcmp(key, "entropy"))
        vmk_config_set_entropy(cfg, b);
      else if (!strcmp(key, "balloon"))
        vmk_config_set_balloon(cfg, b);
      else
        vmk_config_set_boot_timer(cfg, b);
    } else if (!strcmp(key, "balloon_target")) {
      n = 0;
      /* null or 0: no target (the guest keeps all of its memory) */
      bool none =
          json_is_null(v) || (json_is_integer(v) && json_integer_value(v) == 0);
      if (!none && (r = get_size(v, key, &n, err)))
        return r;
      vmk_config_set_balloon_target(cfg, n);
    } else if (!strcmp(key, "disks")) {
      if ((r = parse_disks(v, cfg, err)))
        return r;
    } else if (!strcmp(key, "shares")) {
      if ((r = parse_shares(v, cfg, err)))
        return r;
    } else if (!strcmp(key, "ports")) {
      if ((r = parse_ports(v, cfg, err)))
        return r;
    } else if (!strcmp(key, "nets")) {
      if ((r = parse_nets(v, cfg, err)))
        return r;
    } else if (!strcmp(key, "forwards")) {
      if ((r = parse_forwards(v, cfg, err)))
        return r;
    } else if (!strcmp(key, "console")) {
      if ((r = parse_console(v, cfg, err)))
        return r;
    } else if (!strcmp(key, "vsock")) {
      if ((r = parse_vsock(v, cfg, err)))
        return r;
    }
  }
  return 0;
}

int vmk_config_from_json(const char *json, size_t len, vmk_config **out,
                         vmk_error *err) {
  vmk_err_clear(err);
  *out = NULL;
  if (len > VMK_CONFIG_JSON_MAX)
    return vmk_err(err, -E2BIG, "the config is %zu bytes; at most %u", len,
                   VMK_CONFIG_JSON_MAX);
  json_error_t jerr;
  json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!o)
    return vmk_err(err, -EINVAL,
                   "the config is not valid JSON: %s (line %d, column %d)",
                   jerr.text, jerr.line, jerr.column);
  vmk_config *cfg = vmk_config_new();
  int r = cfg ? parse_config(o, cfg, err)
              : vmk_err(err, -ENOMEM, "out of memory reading the config");
  json_decref(o);
  if (r) {
    if (err && !err->msg[0])
      vmk_err(err, r, "the config is not valid");
    vmk_config_free(cfg);
    return r;
  }
  *out = cfg;
  return 0;
}

int vmk_config_load_json(const char *path, vmk_config **out, vmk_error *err) {
  vmk_err_clear(err);
  *out = NULL;
  /* O_NONBLOCK: a FIFO must not hang the open; only regular files pass. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return vmk_err(err, -errno, "cannot read config file '%s': %s", path,
                   strerror(errno));
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return vmk_err(err, -EINVAL, "config file '%s' is not a regular file",
                   path);
  }
  if ((uint64_t)st.st_size > VMK_CONFIG_JSON_MAX) {
    close(fd);
    return vmk_err(err, -E2BIG, "config file '%s' is %lld bytes; at most %u",
                   path, (long long)st.st_size, VMK_CONFIG_JSON_MAX);
  }
  size_t size = (size_t)st.st_size, got = 0;
  char *buf = malloc(size + 1);
  if (!buf) {
    close(fd);
    return vmk_err(err, -ENOMEM, "out of memory reading '%s'", path);
  }
  while (got < size) {
    ssize_t n = read(fd, buf + got, size - got);
    if (n <= 0) {
      if (n < 0 && errno == EINTR)
        continue;
      break;
    }
    got += (size_t)n;
  }
  close(fd);
  int r = vmk_config_from_json(buf, got, out, err);
  free(buf);
  if (r && err) {
    char msg[VMK_ERROR_MSG_MAX];
    snprintf(msg, sizeof(msg), "%s", err->msg);
    vmk_err(err, r, "%s: %s", path, msg);
  }
  return r;
}
