/* config.c — building and validating a VM configuration.
 * Runs on the caller's thread; a config is not shared between threads. */
#include "core/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backends/unix_listen.h"
#include "backends/vsock_unix.h"
#include "base/error.h"
#include "engine/engine.h"

vmk_config *vmk_config_new(void) {
  vmk_config *cfg = calloc(1, sizeof(*cfg));
  if (!cfg)
    return NULL;
  cfg->engine = VMK_ENGINE_AUTO;
  cfg->emu_mode = VMK_EMU_JIT_HOST ? VMK_EMU_MODE_JIT : VMK_EMU_MODE_INTERP;
  cfg->cpus = 1;
  cfg->memory = 512ull << 20;
  cfg->entropy = true;
  cfg->balloon = true;
  cfg->console = VMK_CONSOLE_NONE;
  cfg->console_in = -1;
  cfg->console_out = -1;
  return cfg;
}

void vmk_config_free(vmk_config *cfg) {
  if (!cfg)
    return;
  free(cfg->kernel);
  free(cfg->initrd);
  free(cfg->cmdline);
  free(cfg->vsock_path);
  free(cfg->console_file);
  for (unsigned i = 0; i < cfg->ndisks; i++)
    free(cfg->disks[i].path);
  for (unsigned i = 0; i < cfg->nnets; i++)
    free(cfg->nets[i].target);
  for (unsigned i = 0; i < cfg->nshares; i++) {
    free(cfg->shares[i].dir);
    free(cfg->shares[i].tag);
  }
  for (unsigned i = 0; i < cfg->nports; i++) {
    free(cfg->ports[i].name);
    free(cfg->ports[i].path);
  }
  free(cfg);
}

/* Replaces *slot with a copy of s (NULL clears it). */
static int set_str(char **slot, const char *s) {
  char *copy = NULL;
  if (s && !(copy = strdup(s)))
    return -ENOMEM;
  free(*slot);
  *slot = copy;
  return 0;
}

int vmk_config_set_engine(vmk_config *cfg, vmk_engine_kind kind) {
  if (kind != VMK_ENGINE_AUTO && kind != VMK_ENGINE_KVM &&
      kind != VMK_ENGINE_EMU)
    return -EINVAL;
  cfg->engine = kind;
  return 0;
}

int vmk_config_set_emu_mode(vmk_config *cfg, vmk_emu_mode mode) {
  if (mode != VMK_EMU_MODE_INTERP && mode != VMK_EMU_MODE_JIT)
    return -EINVAL;
  cfg->emu_mode = mode;
  return 0;
}

int vmk_config_set_cpus(vmk_config *cfg, unsigned cpus) {
  if (cpus < 1 || cpus > VMK_MAX_CPUS)
    return -EINVAL;
  cfg->cpus = cpus;
  return 0;
}

int vmk_config_set_memory(vmk_config *cfg, uint64_t bytes) {
  if (bytes < VMK_MIN_MEMORY || bytes > VMK_MAX_MEMORY)
    return -EINVAL;
  cfg->memory = bytes;
  return 0;
}

int vmk_config_set_kernel(vmk_config *cfg, const char *path) {
  return set_str(&cfg->kernel, path);
}
int vmk_config_set_initrd(vmk_config *cfg, const char *path) {
  return set_str(&cfg->initrd, path);
}
int vmk_config_set_cmdline(vmk_config *cfg, const char *cmdline) {
  return set_str(&cfg->cmdline, cmdline);
}

int vmk_config_add_disk(vmk_config *cfg, const char *path, bool read_only) {
  if (!path || !*path)
    return -EINVAL;
  if (cfg->ndisks == VMK_MAX_DISKS)
    return -ENOSPC;
  char *copy = strdup(path);
  if (!copy)
    return -ENOMEM;
  cfg->disks[cfg->ndisks++] =
      (struct vmk_disk_config){.path = copy, .read_only = read_only};
  return 0;
}

int vmk_config_add_share(vmk_config *cfg, const char *dir, const char *tag,
                         bool read_only) {
  if (!dir || !*dir)
    return -EINVAL;
  if (cfg->nshares == VMK_MAX_SHARES)
    return -ENOSPC;
  char *d = strdup(dir), *t = NULL;
  if (d && tag) {
    t = strdup(tag);
  } else if (d) {
    /* The base name, trailing slashes ignored ("/srv/data/" -> "data"). */
    size_t end = strlen(d);
    while (end > 1 && d[end - 1] == '/')
      end--;
    size_t start = end;
    while (start > 0 && d[start - 1] != '/')
      start--;
    t = strndup(d + start, end - start);
  }
  if (!d || !t) {
    free(d);
    free(t);
    return -ENOMEM;
  }
  cfg->shares[cfg->nshares++] =
      (struct vmk_share_config){.dir = d, .tag = t, .read_only = read_only};
  return 0;
}

int vmk_config_add_port(vmk_config *cfg, const char *name, const char *path) {
  if (!name || !*name || !path || !*path)
    return -EINVAL;
  if (cfg->nports == VMK_MAX_PORTS)
    return -ENOSPC;
  char *n = strdup(name), *p = strdup(path);
  if (!n || !p) {
    free(n);
    free(p);
    return -ENOMEM;
  }
  cfg->ports[cfg->nports++] = (struct vmk_port_config){.name = n, .path = p};
  return 0;
}

int vmk_config_set_entropy(vmk_config *cfg, bool enabled) {
  cfg->entropy = enabled;
  return 0;
}

int vmk_config_set_console(vmk_config *cfg, vmk_console_kind kind, int in_fd,
                           int out_fd) {
  if (kind != VMK_CONSOLE_NONE && kind != VMK_CONSOLE_FDS)
    return -EINVAL;
  free(cfg->console_file);
  cfg->console_file = NULL;
  cfg->console = kind;
  cfg->console_in = kind == VMK_CONSOLE_FDS ? in_fd : -1;
  cfg->console_out = kind == VMK_CONSOLE_FDS ? out_fd : -1;
  return 0;
}

int vmk_config_set_console_file(vmk_config *cfg, const char *path) {
  if (!path || !*path)
    return -EINVAL;
  int r = set_str(&cfg->console_file, path);
  if (r)
    return r;
  cfg->console = VMK_CONSOLE_FILE;
  cfg->console_in = cfg->console_out = -1;
  return 0;
}

int vmk_config_set_boot_timer(vmk_config *cfg, bool enabled) {
  cfg->boot_timer = enabled;
  return 0;
}

int vmk_config_set_balloon(vmk_config *cfg, bool enabled) {
  cfg->balloon = enabled;
  return 0;
}

int vmk_config_set_balloon_target(vmk_config *cfg, uint64_t bytes) {
  cfg->balloon_target = bytes;
  return 0;
}

int vmk_config_set_vsock(vmk_config *cfg, const char *path, uint64_t cid) {
  if (path && (cid < 3 || cid > 0xfffffffeu))
    return -EINVAL;
  cfg->vsock_cid = cid;
  return set_str(&cfg->vsock_path, path);
}

int vmk_config_add_net(vmk_config *cfg, vmk_net_kind kind, const char *target,
                       const uint8_t *mac, unsigned mtu) {
  if (kind != VMK_NET_NAT && kind != VMK_NET_SOCKET &&
      kind != VMK_NET_SOCKET_LISTEN && kind != VMK_NET_TAP)
    return -EINVAL;
  if ((kind == VMK_NET_NAT) != (target == NULL) || (target && !*target))
    return -EINVAL;
  if (cfg->nnets == VMK_MAX_NETS)
    return -ENOSPC;
  char *copy = NULL;
  if (target && !(copy = strdup(target)))
    return -ENOMEM;
  struct vmk_net_config *n = &cfg->nets[cfg->nnets++];
  *n = (struct vmk_net_config){.kind = kind, .target = copy, .mtu = mtu};
  if (mac) {
    memcpy(n->mac, mac, 6);
    n->mac_set = true;
  }
  return 0;
}

int vmk_config_add_forward(vmk_config *cfg, bool udp, const char *host_addr,
                           unsigned host_port, unsigned guest_port) {
  struct in_addr a = {.s_addr = htonl(INADDR_LOOPBACK)};
  if (host_addr && inet_pton(AF_INET, host_addr, &a) != 1)
    return -EINVAL;
  if (host_port < 1 || host_port > 65535 || guest_port < 1 ||
      guest_port > 65535)
    return -EINVAL;
  if (cfg->nforwards == VMK_MAX_FORWARDS)
    return -ENOSPC;
  cfg->forwards[cfg->nforwards++] =
      (struct vmk_forward_config){.udp = udp,
                                  .host_addr = ntohl(a.s_addr),
                                  .host_port = (uint16_t)host_port,
                                  .guest_port = (uint16_t)guest_port};
  return 0;
}

void vmk_config_net_mac(const struct vmk_config *cfg, unsigned i,
                        uint8_t mac[6]) {
  const struct vmk_net_config *n = &cfg->nets[i];
  if (n->mac_set) {
    memcpy(mac, n->mac, 6);
    return;
  }
  /* FNV-1a: the same NIC of the same command line keeps its MAC (and so
   * its DHCP lease) from run to run; two NICs differ. */
  uint32_t h = 2166136261u;
  uint8_t head[2] = {(uint8_t)i, (uint8_t)n->kind};
  for (unsigned k = 0; k < sizeof(head); k++)
    h = (h ^ head[k]) * 16777619u;
  for (const char *p = n->target ? n->target : ""; *p; p++)
    h = (h ^ (uint8_t)*p) * 16777619u;
  mac[0] = 0x52;
  mac[1] = 0x54;
  mac[2] = 0x00;
  mac[3] = (uint8_t)(h >> 16);
  mac[4] = (uint8_t)(h >> 8);
  mac[5] = (uint8_t)h;
}

struct vmk_config *vmk_config_dup(const struct vmk_config *cfg) {
  struct vmk_config *c = vmk_config_new();
  if (!c)
    return NULL;
  *c = *cfg;
  c->kernel = c->initrd = c->cmdline = NULL;
  c->ndisks = 0;
  c->nnets = 0;
  c->vsock_path = NULL;
  c->console_file = NULL;
  c->nshares = 0;
  c->nports = 0;
  if (set_str(&c->kernel, cfg->kernel) || set_str(&c->initrd, cfg->initrd) ||
      set_str(&c->console_file, cfg->console_file) ||
      set_str(&c->cmdline, cfg->cmdline) ||
      set_str(&c->vsock_path, cfg->vsock_path))
    goto fail;
  for (unsigned i = 0; i < cfg->ndisks; i++)
    if (vmk_config_add_disk(c, cfg->disks[i].path, cfg->disks[i].read_only))
      goto fail;
  for (unsigned i = 0; i < cfg->nnets; i++) {
    const struct vmk_net_config *n = &cfg->nets[i];
    if (vmk_config_add_net(c, n->kind, n->target, n->mac_set ? n->mac : NULL,
                           n->mtu))
      goto fail;
  }
  for (unsigned i = 0; i < cfg->nshares; i++)
    if (vmk_config_add_share(c, cfg->shares[i].dir, cfg->shares[i].tag,
                             cfg->shares[i].read_only))
      goto fail;
  for (unsigned i = 0; i < cfg->nports; i++)
    if (vmk_config_add_port(c, cfg->ports[i].name, cfg->ports[i].path))
      goto fail;
  return c;
fail:
  vmk_config_free(c);
  return NULL;
}

static const char *file_kind(mode_t m) {
  if (S_ISFIFO(m))
    return "a FIFO";
  if (S_ISSOCK(m))
    return "a socket";
  if (S_ISCHR(m))
    return "a character device";
  if (S_ISBLK(m))
    return "a block device";
  return "not a regular file";
}

/* A regular, readable file (or, where block_ok, a block device), or a
 * sentence saying what is wrong with it. Anything else is refused here,
 * before any open(2): opening a FIFO would wait for a writer forever. */
static int check_file(const char *what, const char *path, bool writable,
                      bool block_ok, vmk_error *err) {
  struct stat st;
  if (stat(path, &st) < 0)
    return vmk_err(err, -errno, "cannot use %s '%s': %s", what, path,
                   strerror(errno));
  if (S_ISDIR(st.st_mode))
    return vmk_err(err, -EISDIR, "%s '%s' is a directory; give a file", what,
                   path);
  if (!S_ISREG(st.st_mode) && !(block_ok && S_ISBLK(st.st_mode)))
    return vmk_err(err, -EINVAL, "%s '%s' is %s; give a regular file%s", what,
                   path, file_kind(st.st_mode),
                   block_ok ? " or a block device" : "");
  if (access(path, writable ? R_OK | W_OK : R_OK) < 0)
    return vmk_err(err, -errno, "cannot %s %s '%s': %s",
                   writable ? "read and write" : "read", what, path,
                   strerror(errno));
  return 0;
}

static int check_nets(const struct vmk_config *cfg, vmk_error *err) {
  bool nat = false;
  for (unsigned i = 0; i < cfg->nnets; i++) {
    const struct vmk_net_config *n = &cfg->nets[i];
    nat |= n->kind == VMK_NET_NAT;
    if (n->mtu && (n->mtu < 68 || n->mtu > 65500))
      return vmk_err(err, -EINVAL,
                     "network MTU %u is out of range; use 68 to 65500", n->mtu);
    if (n->mac_set && (n->mac[0] & 1))
      return vmk_err(err, -EINVAL,
                     "MAC %02x:%02x:%02x:%02x:%02x:%02x is a multicast "
                     "address; the first byte must be even (e.g. 52:54:00:...)",
                     n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4],
                     n->mac[5]);
    if ((n->kind == VMK_NET_SOCKET || n->kind == VMK_NET_SOCKET_LISTEN) &&
        strlen(n->target) >= sizeof(((struct sockaddr_un *)0)->sun_path))
      return vmk_err(err, -ENAMETOOLONG,
                     "socket path '%s' is %zu bytes; at most %zu fit in a "
                     "Unix socket address, so use a shorter path",
                     n->target, strlen(n->target),
                     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    if (n->kind == VMK_NET_TAP && strlen(n->target) >= IFNAMSIZ)
      return vmk_err(err, -EINVAL,
                     "tap interface name '%s' is longer than %d characters",
                     n->target, IFNAMSIZ - 1);
    for (unsigned j = 0; j < i; j++)
      if (n->kind != VMK_NET_NAT && cfg->nets[j].kind != VMK_NET_NAT &&
          strcmp(n->target, cfg->nets[j].target) == 0)
        return vmk_err(err, -EINVAL,
                       "network '%s' is given twice; attach each once",
                       n->target);
  }
  if (cfg->nforwards && !nat)
    return vmk_err(err, -EINVAL,
                   "port forwards need a NAT network; add --net nat");
  for (unsigned i = 0; i < cfg->nforwards; i++)
    for (unsigned j = 0; j < i; j++) {
      const struct vmk_forward_config *a = &cfg->forwards[i],
                                      *b = &cfg->forwards[j];
      if (a->udp == b->udp && a->host_port == b->host_port &&
          (a->host_addr == b->host_addr || !a->host_addr || !b->host_addr))
        return vmk_err(err, -EINVAL,
                       "host port %u (%s) is forwarded twice; forward each "
                       "host port once",
                       a->host_port, a->udp ? "udp" : "tcp");
    }
  return 0;
}

/* A directory to share, with a tag the guest can mount: 1..36 bytes of
 * printable characters without spaces, quotes or commas (the tags travel
 * to the guest's init on the kernel command line), given once. */
static int check_share(const struct vmk_config *cfg, unsigned i,
                       vmk_error *err) {
  const struct vmk_share_config *s = &cfg->shares[i];
  struct stat st;
  if (stat(s->dir, &st) < 0)
    return vmk_err(err, -errno, "cannot share folder '%s': %s", s->dir,
                   strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return vmk_err(err, -ENOTDIR,
                   "cannot share '%s': it is not a directory; give a folder",
                   s->dir);
  size_t n = strlen(s->tag);
  if (n == 0 || n > VMK_SHARE_TAG_MAX)
    return vmk_err(err, -EINVAL,
                   "share tag '%s' is %zu bytes; give tag=NAME of 1 to %d "
                   "bytes",
                   s->tag, n, VMK_SHARE_TAG_MAX);
  for (const char *p = s->tag; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\'' ||
        *p == ',' || *p == '/' || *p == '\\')
      return vmk_err(err, -EINVAL,
                     "share tag '%s' has a space, quote, comma, slash or "
                     "control character; give tag=NAME without them",
                     s->tag);
  for (unsigned j = 0; j < i; j++)
    if (strcmp(cfg->shares[j].tag, s->tag) == 0)
      return vmk_err(err, -EINVAL,
                     "share tag '%s' is given twice; give each share its own "
                     "tag=NAME",
                     s->tag);
  return 0;
}

/* The console file must be appendable, or creatable in its folder; it is
 * not created here (validate changes nothing). */
static int check_console_file(const struct vmk_config *cfg, vmk_error *err) {
  const char *path = cfg->console_file;
  struct stat st;
  if (stat(path, &st) == 0) {
    if (!S_ISREG(st.st_mode))
      return vmk_err(
          err, -EINVAL, "console file '%s' is %s; give a regular file", path,
          S_ISDIR(st.st_mode) ? "a directory" : file_kind(st.st_mode));
    if (access(path, W_OK) < 0)
      return vmk_err(err, -errno, "cannot write console file '%s': %s", path,
                     strerror(errno));
    return 0;
  }
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir)
    dir[1] = '\0';
  else if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof(dir), ".");
  if (access(dir, W_OK | X_OK) < 0)
    return vmk_err(err, -errno,
                   "cannot create console file '%s': its folder '%s': %s", path,
                   dir, strerror(errno));
  return 0;
}

/* A console port: a name the guest can use as a file name (it travels to
 * the default guest's init on the kernel command line too), given once,
 * and a socket path vmkit can listen on, used once. */
static int check_port(const struct vmk_config *cfg, unsigned i,
                      vmk_error *err) {
  const struct vmk_port_config *p = &cfg->ports[i];
  size_t n = strlen(p->name);
  if (n == 0 || n > VMK_PORT_NAME_MAX)
    return vmk_err(err, -EINVAL,
                   "console port name '%s' is %zu bytes; give a NAME of 1 to "
                   "%d bytes",
                   p->name, n, VMK_PORT_NAME_MAX);
  for (const char *c = p->name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
          (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
      return vmk_err(err, -EINVAL,
                     "console port name '%s' may hold only letters, digits, "
                     "'.', '_' and '-'; pick another NAME",
                     p->name);
  if (!strcmp(p->name, ".") || !strcmp(p->name, ".."))
    return vmk_err(err, -EINVAL,
                   "console port name '%s' is not a file name; pick another "
                   "NAME",
                   p->name);
  for (unsigned j = 0; j < i; j++) {
    if (!strcmp(cfg->ports[j].name, p->name))
      return vmk_err(err, -EINVAL,
                     "console port '%s' is given twice; give each port its "
                     "own NAME",
                     p->name);
    if (!strcmp(cfg->ports[j].path, p->path))
      return vmk_err(err, -EINVAL,
                     "socket '%s' is given to console ports '%s' and '%s'; "
                     "give each port its own socket",
                     p->path, cfg->ports[j].name, p->name);
  }
  char what[VMK_PORT_NAME_MAX + 32];
  snprintf(what, sizeof(what), "the socket of console port '%s'", p->name);
  return vmk_unix_listen_check(what, p->path, err);
}

void vmk_config_set_engine_ops(struct vmk_config *cfg,
                               const struct vmk_engine_ops *ops) {
  cfg->engine_ops = ops;
}

int vmk_config_resolve_engine(const struct vmk_config *cfg,
                              vmk_engine_kind *out, vmk_error *err) {
  vmk_error probe_err;
  if (cfg->engine_ops) {
    *out = cfg->engine;
    return cfg->engine_ops->probe(err);
  }
  switch (cfg->engine) {
  case VMK_ENGINE_KVM:
    *out = VMK_ENGINE_KVM;
    return vmk_engine_kvm_ops.probe(err);
  case VMK_ENGINE_EMU:
    *out = VMK_ENGINE_EMU;
    return vmk_engine_emu_ops.probe(err);
  case VMK_ENGINE_AUTO:
    if (vmk_engine_kvm_ops.probe(&probe_err) == 0) {
      *out = VMK_ENGINE_KVM;
      return 0;
    }
    *out = VMK_ENGINE_EMU;
    return vmk_engine_emu_ops.probe(err);
  }
  return vmk_err(err, -EINVAL, "unknown engine");
}

int vmk_config_validate(const vmk_config *cfg, vmk_error *err) {
  vmk_err_clear(err);
  if (!cfg->kernel)
    return vmk_err(err, -EINVAL,
                   "no kernel given; pass --kernel PATH to an arm64 Linux "
                   "Image");
  int r = check_file("kernel", cfg->kernel, false, false, err);
  if (r)
    return r;
  if (cfg->initrd && (r = check_file("initrd", cfg->initrd, false, false, err)))
    return r;
  for (unsigned i = 0; i < cfg->ndisks; i++) {
    if ((r = check_file("disk", cfg->disks[i].path, !cfg->disks[i].read_only,
                        true, err)))
      return r;
    for (unsigned j = 0; j < i; j++)
      if (strcmp(cfg->disks[i].path, cfg->disks[j].path) == 0)
        return vmk_err(err, -EINVAL,
                       "disk '%s' is given twice; attach each file once",
                       cfg->disks[i].path);
  }
  for (unsigned i = 0; i < cfg->nshares; i++)
    if ((r = check_share(cfg, i, err)))
      return r;
  if (cfg->cmdline && strlen(cfg->cmdline) > 2048)
    return vmk_err(err, -E2BIG,
                   "the kernel command line is %zu bytes; at most 2048 fit",
                   strlen(cfg->cmdline));
  if (cfg->console == VMK_CONSOLE_FDS &&
      ((cfg->console_in >= 0 && fcntl(cfg->console_in, F_GETFD) < 0) ||
       (cfg->console_out >= 0 && fcntl(cfg->console_out, F_GETFD) < 0)))
    return vmk_err(err, -EBADF, "the console file descriptors are not open");
  if (cfg->console == VMK_CONSOLE_FILE && (r = check_console_file(cfg, err)))
    return r;
  if (cfg->vsock_path && (r = vmk_vsock_unix_check_path(cfg->vsock_path, err)))
    return r;
  for (unsigned i = 0; i < cfg->nports; i++)
    if ((r = check_port(cfg, i, err)))
      return r;
  if ((r = check_nets(cfg, err)))
    return r;
  if (cfg->balloon_target && !cfg->balloon)
    return vmk_err(err, -EINVAL,
                   "a balloon target needs the balloon; drop --balloon off "
                   "or --balloon-target");
  if (cfg->balloon_target && (cfg->balloon_target > cfg->memory ||
                              cfg->balloon_target < VMK_MIN_MEMORY))
    return vmk_err(err, -EINVAL,
                   "the balloon target (%llu MiB) must be between %llu MiB and "
                   "the guest's memory (%llu MiB); give --balloon-target a "
                   "size within --memory",
                   (unsigned long long)(cfg->balloon_target >> 20),
                   (unsigned long long)(VMK_MIN_MEMORY >> 20),
                   (unsigned long long)(cfg->memory >> 20));
  vmk_engine_kind kind;
  if ((r = vmk_config_resolve_engine(cfg, &kind, err)))
    return r;
  /* Other engines ignore the mode: a config or snapshot moves between
   * engines unchanged. */
  if (cfg->emu_mode == VMK_EMU_MODE_JIT && kind == VMK_ENGINE_EMU &&
      !VMK_EMU_JIT_HOST)
    return vmk_err(err, -EINVAL,
                   "--emu-mode jit (emu_mode in a config) translates guest "
                   "code to x86-64, and this host is not x86-64; use "
                   "--emu-mode interp");
  return 0;
}

const char *vmk_emu_mode_name(vmk_emu_mode mode) {
  return mode == VMK_EMU_MODE_JIT ? "jit" : "interp";
}

const char *vmk_engine_name(vmk_engine_kind kind) {
  switch (kind) {
  case VMK_ENGINE_AUTO:
    return "auto";
  case VMK_ENGINE_KVM:
    return "kvm";
  case VMK_ENGINE_EMU:
    return "emu";
  }
  return "?";
}
