/* snapshot.c — save a paused VM to a directory and restore a VM from one
 * (docs/snapshot.md): manifest.json (for people and tools), state.bin
 * (tagged sections: the config with its disks' identities, the boot
 * layout, every vCPU, the GIC, the counter, every device) and memory.raw
 * (guest RAM as a sparse file: pages of zeros are holes), and config.json
 * (the config as docs/config.md writes it, for people; state.bin holds
 * the copy vmkit reads).
 *
 * Everything read back is untrusted: the container checks lengths and
 * checksums (snapshot_file.c), each section's decoder checks its values,
 * and the engines and devices check what they are given as they would a
 * guest's register writes. A snapshot that does not fit this host (a disk
 * missing or changed since the save, another device set, a vCPU state the
 * engine cannot run) is refused with one sentence saying why.
 *
 * Threads: the caller's. Save holds the VM paused (vm_internal.h) and
 * freezes each virtio transport (its lock) while state and memory are
 * written, so the I/O thread serves no queue in between. Restore builds a
 * new VM and starts it paused. No state of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "base/bulk_read.h"
#include "base/error.h"
#include "base/sbuf.h"
#include "core/config.h"
#include "core/snapshot.h"
#include "core/snapshot_file.h"
#include "core/vm_internal.h"

#define PAGE 4096u
#define HASH_SPAN (1u << 20) /* bytes hashed at each end of a disk */

/* ---- disks: what identifies one ---- */

/* Size, mtime and a CRC-32 of the first and last MiB. */
int vmk_snap_disk_identify(const char *path, struct vmk_snap_disk_id *id,
                           vmk_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return vmk_err(err, -e, "cannot read the disk %s: %s", path, strerror(e));
  }
  id->size = (uint64_t)st.st_size;
  id->mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull +
                 (uint64_t)st.st_mtim.tv_nsec;
  if (S_ISBLK(st.st_mode)) {
    /* A block device's st_size is 0 and its node's mtime does not follow
     * writes (the same disk may be a file on the host that saved and a
     * device on the one that restores): its size is its end, and it has
     * no mtime to compare (0). */
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0) {
      int e = errno;
      close(fd);
      return vmk_err(err, -e, "cannot read the disk %s's size: %s", path,
                     strerror(e));
    }
    id->size = (uint64_t)end;
    id->mtime_ns = 0;
  }
  uint8_t *buf = malloc(HASH_SPAN);
  if (!buf) {
    close(fd);
    return vmk_err(err, -ENOMEM, "out of memory hashing the disk %s", path);
  }
  int r = 0;
  for (int end = 0; end < 2 && !r; end++) {
    uint64_t n = id->size < HASH_SPAN ? id->size : HASH_SPAN;
    uint64_t off = end ? id->size - n : 0;
    ssize_t got = pread(fd, buf, (size_t)n, (off_t)off);
    if (got != (ssize_t)n)
      r = vmk_err(err, got < 0 ? -errno : -EIO, "cannot read the disk %s: %s",
                  path, got < 0 ? strerror(errno) : "short read");
    else
      id->crc[end] = (uint32_t)crc32(0, buf, (uInt)n);
  }
  free(buf);
  close(fd);
  return r;
}

/* ---- the config section ---- */

/* The config as the JSON document of docs/config.md (console: none; every
 * NIC's MAC written out, so the guest keeps its MACs whatever paths a
 * restore gives), then each disk's identity. */
#define CONF_VERSION 1

static int put_config(struct vmk_sbuf *b, const struct vmk_config *c,
                      const struct vmk_snap_disk_id *ids, char **json_out,
                      vmk_error *err) {
  struct vmk_config *d = vmk_config_dup(c);
  if (!d)
    return vmk_err(err, -ENOMEM, "out of memory saving the VM");
  d->console = VMK_CONSOLE_NONE;
  d->console_in = d->console_out = -1;
  for (unsigned i = 0; i < d->nnets; i++) {
    vmk_config_net_mac(c, i, d->nets[i].mac);
    d->nets[i].mac_set = true;
  }
  char *json = NULL;
  int r = vmk_config_to_json(d, &json, err);
  vmk_config_free(d);
  if (r)
    return r;
  vmk_sbuf_str(b, json);
  vmk_sbuf_u32(b, c->ndisks);
  for (unsigned i = 0; i < c->ndisks; i++) {
    vmk_sbuf_u64(b, ids[i].size);
    vmk_sbuf_u64(b, ids[i].mtime_ns);
    vmk_sbuf_u32(b, ids[i].crc[0]);
    vmk_sbuf_u32(b, ids[i].crc[1]);
  }
  *json_out = json;
  return 0;
}

/* Decodes the config section (untrusted: the JSON parser checks every
 * field) into a new config and the disks' identities. */
static int get_config(const struct vmk_snap_section *s, vmk_config **out,
                      struct vmk_snap_disk_id ids[VMK_MAX_DISKS],
                      vmk_error *err) {
  *out = NULL;
  if (s->version != CONF_VERSION)
    return vmk_err(err, -EINVAL,
                   "the snapshot's config has version %u; this vmkit reads "
                   "version %u",
                   s->version, CONF_VERSION);
  struct vmk_sreader r = vmk_sreader_of(s->data, s->len);
  bool ok;
  char *json = vmk_sr_str(&r, VMK_CONFIG_JSON_MAX, &ok);
  if (!ok || !json) {
    free(json);
    return vmk_err(err, -EINVAL,
                   "the snapshot's config is damaged; take "
                   "the snapshot again");
  }
  vmk_config *c;
  vmk_error e2;
  int rc = vmk_config_from_json(json, strlen(json), &c, &e2);
  free(json);
  if (rc)
    return vmk_err(err, -EINVAL, "the snapshot's config is damaged (%s)",
                   e2.msg);
  uint32_t n = vmk_sr_u32(&r);
  if (n != c->ndisks)
    r.bad = true;
  for (uint32_t i = 0; i < n && !r.bad; i++) {
    ids[i].size = vmk_sr_u64(&r);
    ids[i].mtime_ns = vmk_sr_u64(&r);
    ids[i].crc[0] = vmk_sr_u32(&r);
    ids[i].crc[1] = vmk_sr_u32(&r);
  }
  if (!vmk_sr_done(&r)) {
    vmk_config_free(c);
    return vmk_err(err, -EINVAL,
                   "the snapshot's config is damaged; take "
                   "the snapshot again");
  }
  *out = c;
  return 0;
}

/* ---- architectural state sections ---- */

#define VCPU_VERSION 1
#define GIC_VERSION 1
#define TIME_VERSION 1
#define BOOT_VERSION 1

static void put_vcpu(struct vmk_sbuf *b, const struct vmk_vcpu_state *v) {
  for (int i = 0; i < 31; i++)
    vmk_sbuf_u64(b, v->x[i]);
  vmk_sbuf_u64(b, v->sp_el0);
  vmk_sbuf_u64(b, v->sp_el1);
  vmk_sbuf_u64(b, v->pc);
  vmk_sbuf_u64(b, v->pstate);
  for (int i = 0; i < 32; i++) {
    vmk_sbuf_u64(b, v->v[i][0]);
    vmk_sbuf_u64(b, v->v[i][1]);
  }
  vmk_sbuf_u32(b, v->fpcr);
  vmk_sbuf_u32(b, v->fpsr);
  vmk_sbuf_u32(b, v->power);
  vmk_sbuf_u64(b, v->on_pc);
  vmk_sbuf_u64(b, v->on_ctx);
  vmk_sbuf_u32(b, v->nsys);
  for (unsigned i = 0; i < v->nsys; i++) {
    vmk_sbuf_u32(b, v->sys[i].enc);
    vmk_sbuf_u64(b, v->sys[i].val);
  }
}

static bool get_vcpu(struct vmk_sreader *r, struct vmk_vcpu_state *v) {
  for (int i = 0; i < 31; i++)
    v->x[i] = vmk_sr_u64(r);
  v->sp_el0 = vmk_sr_u64(r);
  v->sp_el1 = vmk_sr_u64(r);
  v->pc = vmk_sr_u64(r);
  v->pstate = vmk_sr_u64(r);
  for (int i = 0; i < 32; i++) {
    v->v[i][0] = vmk_sr_u64(r);
    v->v[i][1] = vmk_sr_u64(r);
  }
  v->fpcr = vmk_sr_u32(r);
  v->fpsr = vmk_sr_u32(r);
  v->power = vmk_sr_u32(r);
  v->on_pc = vmk_sr_u64(r);
  v->on_ctx = vmk_sr_u64(r);
  v->nsys = vmk_sr_u32(r);
  if (v->nsys > VMK_ARCH_MAX_SYSREGS)
    return false;
  for (unsigned i = 0; i < v->nsys; i++) {
    v->sys[i].enc = vmk_sr_u32(r);
    v->sys[i].val = vmk_sr_u64(r);
  }
  return vmk_sr_done(r);
}

static void put_irq(struct vmk_sbuf *b, const struct vmk_gic_irq_state *q) {
  vmk_sbuf_u8(b, q->priority);
  vmk_sbuf_u8(b, q->group);
  vmk_sbuf_u8(b, (uint8_t)(q->enabled | q->pending << 1 | q->active << 2 |
                           q->edge << 3 | q->level << 4));
}

static void get_irq(struct vmk_sreader *r, struct vmk_gic_irq_state *q) {
  q->priority = vmk_sr_u8(r);
  q->group = vmk_sr_u8(r);
  uint8_t f = vmk_sr_u8(r);
  if (q->group > 1 || f > 0x1f)
    r->bad = true;
  q->enabled = f & 1;
  q->pending = f & 2;
  q->active = f & 4;
  q->edge = f & 8;
  q->level = f & 16;
}

static void put_gicr(struct vmk_sbuf *b, const struct vmk_gic_cpu_state *c) {
  for (int i = 0; i < 32; i++)
    put_irq(b, &c->irq[i]);
  vmk_sbuf_u32(b, c->waker);
  vmk_sbuf_u8(b, c->pmr);
  vmk_sbuf_u8(b, c->bpr0);
  vmk_sbuf_u8(b, c->bpr1);
  vmk_sbuf_u32(b, c->ap0r);
  vmk_sbuf_u32(b, c->ap1r);
  vmk_sbuf_u32(b, c->ctlr);
  vmk_sbuf_u8(b, c->igrpen0);
  vmk_sbuf_u8(b, c->igrpen1);
}

static bool get_gicr(struct vmk_sreader *r, struct vmk_gic_cpu_state *c) {
  for (int i = 0; i < 32; i++)
    get_irq(r, &c->irq[i]);
  c->waker = vmk_sr_u32(r);
  c->pmr = vmk_sr_u8(r);
  c->bpr0 = vmk_sr_u8(r);
  c->bpr1 = vmk_sr_u8(r);
  c->ap0r = vmk_sr_u32(r);
  c->ap1r = vmk_sr_u32(r);
  c->ctlr = vmk_sr_u32(r);
  c->igrpen0 = vmk_sr_bool(r);
  c->igrpen1 = vmk_sr_bool(r);
  return vmk_sr_done(r);
}

static void put_gicd(struct vmk_sbuf *b, const struct vmk_gic_state *g) {
  vmk_sbuf_u32(b, g->ctlr);
  vmk_sbuf_u32(b, g->nr_spis);
  for (unsigned i = 0; i < g->nr_spis; i++) {
    put_irq(b, &g->spi[i]);
    vmk_sbuf_u64(b, g->irouter[i]);
  }
}

static bool get_gicd(struct vmk_sreader *r, struct vmk_gic_state *g) {
  g->ctlr = vmk_sr_u32(r);
  g->nr_spis = vmk_sr_u32(r);
  if (g->nr_spis > VMK_ARCH_MAX_SPIS)
    return false;
  for (unsigned i = 0; i < g->nr_spis; i++) {
    get_irq(r, &g->spi[i]);
    g->irouter[i] = vmk_sr_u64(r);
  }
  return vmk_sr_done(r);
}

static void put_layout(struct vmk_sbuf *b, const struct vmk_boot_layout *l) {
  uint64_t v[] = {l->kernel_gpa,  l->kernel_size,  l->initrd_gpa,
                  l->initrd_size, l->fdt_gpa,      l->fdt_max,
                  l->ramoops_gpa, l->ramoops_size, l->entry};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    vmk_sbuf_u64(b, v[i]);
}

static bool get_layout(struct vmk_sreader *r, struct vmk_boot_layout *l) {
  uint64_t *f[] = {&l->kernel_gpa,  &l->kernel_size,  &l->initrd_gpa,
                   &l->initrd_size, &l->fdt_gpa,      &l->fdt_max,
                   &l->ramoops_gpa, &l->ramoops_size, &l->entry};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    *f[i] = vmk_sr_u64(r);
  return vmk_sr_done(r);
}

/* ---- whole state file ---- */

/* Sections every snapshot of this version may hold. */
static const char *const known_tags[] = {"CONF", "BOOT", "VCPU", "GICD",
                                         "GICR", "TIME", "UART", "RTC ",
                                         "GPIO", "VIRT", "MEM "};

static int damaged(vmk_error *err, const char *what, unsigned inst) {
  return vmk_err(err, -EINVAL,
                 "the snapshot's state file is damaged (section %s %u is "
                 "malformed or missing); take the snapshot again",
                 what, inst);
}

int vmk_snap_decode(const struct vmk_snap_file *f, struct vmk_snap_state *st,
                    vmk_error *err) {
  memset(st, 0, sizeof *st);
  for (unsigned i = 0; i < f->n; i++) {
    bool known = false;
    for (size_t k = 0; k < sizeof known_tags / sizeof known_tags[0]; k++)
      known |= !memcmp(f->sec[i].tag, known_tags[k], 4);
    if (!known)
      return vmk_err(err, -EINVAL,
                     "the snapshot holds state this vmkit does not know "
                     "(section \"%s\"); restore it with the vmkit that saved "
                     "it",
                     f->sec[i].tag);
  }
  const struct vmk_snap_section *s = vmk_snap_find(f, "CONF", 0);
  if (!s)
    return damaged(err, "CONF", 0);
  int r = get_config(s, &st->cfg, st->disk_ids, err);
  if (r)
    return r;
  unsigned ncpus = st->cfg->cpus;
  if (!vmk_arch_state_alloc(&st->arch, ncpus)) {
    vmk_snap_state_free(st);
    return vmk_err(err, -ENOMEM, "out of memory reading the snapshot");
  }
  struct vmk_sreader rd;
  s = vmk_snap_find(f, "BOOT", 0);
  if (!s || s->version != BOOT_VERSION ||
      !get_layout((rd = vmk_sreader_of(s->data, s->len), &rd), &st->layout)) {
    vmk_snap_state_free(st);
    return damaged(err, "BOOT", 0);
  }
  for (unsigned i = 0; i < ncpus; i++) {
    s = vmk_snap_find(f, "VCPU", i);
    if (!s || s->version != VCPU_VERSION ||
        !get_vcpu((rd = vmk_sreader_of(s->data, s->len), &rd),
                  &st->arch.vcpu[i])) {
      vmk_snap_state_free(st);
      return damaged(err, "VCPU", i);
    }
    s = vmk_snap_find(f, "GICR", i);
    if (!s || s->version != GIC_VERSION ||
        !get_gicr((rd = vmk_sreader_of(s->data, s->len), &rd),
                  &st->arch.gicr[i])) {
      vmk_snap_state_free(st);
      return damaged(err, "GICR", i);
    }
  }
  if (vmk_snap_find(f, "VCPU", ncpus) || vmk_snap_find(f, "GICR", ncpus)) {
    vmk_snap_state_free(st);
    return damaged(err, "VCPU", ncpus);
  }
  s = vmk_snap_find(f, "GICD", 0);
  if (!s || s->version != GIC_VERSION ||
      !get_gicd((rd = vmk_sreader_of(s->data, s->len), &rd), &st->arch.gicd)) {
    vmk_snap_state_free(st);
    return damaged(err, "GICD", 0);
  }
  s = vmk_snap_find(f, "TIME", 0);
  if (!s || s->version != TIME_VERSION ||
      ((rd = vmk_sreader_of(s->data, s->len)),
       st->arch.counter = vmk_sr_u64(&rd), st->arch.cntfrq = vmk_sr_u64(&rd),
       !vmk_sr_done(&rd))) {
    vmk_snap_state_free(st);
    return damaged(err, "TIME", 0);
  }
  s = vmk_snap_find(f, "MEM ", 0);
  if (!s ||
      ((rd = vmk_sreader_of(s->data, s->len)), st->mem_size = vmk_sr_u64(&rd),
       !vmk_sr_done(&rd)) ||
      st->mem_size != st->cfg->memory) {
    vmk_snap_state_free(st);
    return damaged(err, "MEM ", 0);
  }
  st->file = f;
  return 0;
}

void vmk_snap_state_free(struct vmk_snap_state *st) {
  vmk_config_free(st->cfg);
  st->cfg = NULL;
  vmk_arch_state_free(&st->arch);
}

/* ---- files ---- */

static int path_in(char *out, size_t cap, const char *dir, const char *name,
                   vmk_error *err) {
  int n = snprintf(out, cap, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= cap)
    return vmk_err(err, -ENAMETOOLONG, "the snapshot path %s is too long", dir);
  return 0;
}

static int write_all(int fd, const void *p, size_t n, off_t off) {
  const uint8_t *b = p;
  while (n) {
    ssize_t w = pwrite(fd, b, n, off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return w < 0 ? -errno : -EIO;
    b += w;
    n -= (size_t)w;
    off += w;
  }
  return 0;
}

/* Files are written to a temporary name and renamed into place once
 * synced, so a crash leaves the old file or the new one, never half of
 * it. open_tmp fills path and tmp (4096 bytes each) and returns the
 * temporary file's descriptor or -errno; commit_tmp syncs, closes and
 * renames it when r is 0, and removes it otherwise. */
static int open_tmp(const char *dir, const char *name, const char *tmpname,
                    char *path, char *tmp, vmk_error *err) {
  int r = path_in(path, 4096, dir, name, err);
  if (r || (r = path_in(tmp, 4096, dir, tmpname, err)))
    return r;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return vmk_err(err, -errno, "cannot write the snapshot file %s: %s", tmp,
                   strerror(errno));
  return fd;
}

static int commit_tmp(int fd, int r, const char *tmp, const char *path,
                      vmk_error *err) {
  if (!r && fsync(fd) < 0)
    r = -errno;
  close(fd);
  if (!r && rename(tmp, path) < 0)
    r = -errno;
  if (r) {
    unlink(tmp);
    return vmk_err(err, r, "cannot write the snapshot file %s: %s", path,
                   strerror(-r));
  }
  return 0;
}

static int write_file(const char *dir, const char *name, const void *data,
                      size_t len, vmk_error *err) {
  char path[4096], tmp[4096];
  int fd = open_tmp(dir, name, ".tmp-state", path, tmp, err);
  if (fd < 0)
    return fd;
  return commit_tmp(fd, write_all(fd, data, len, 0), tmp, path, err);
}

static bool page_is_zero(const uint8_t *p) {
  const uint64_t *w = (const uint64_t *)p;
  for (unsigned i = 0; i < PAGE / 8; i++)
    if (w[i])
      return false;
  return true;
}

/* Guest RAM into dir/memory.raw: pages of zeros become holes. */
static int write_memory(const char *dir, const struct vmk_guest_mem *ram,
                        uint64_t *written, vmk_error *err) {
  char path[4096], tmp[4096];
  int fd = open_tmp(dir, "memory.raw", ".tmp-memory", path, tmp, err);
  if (fd < 0)
    return fd;
  int r = 0;
  *written = 0;
  if (ftruncate(fd, (off_t)ram->size) < 0)
    r = -errno;
  for (uint64_t off = 0; !r && off < ram->size;) {
    if (page_is_zero(ram->host + off)) {
      off += PAGE;
      continue;
    }
    uint64_t end = off + PAGE;
    while (end < ram->size && end - off < (8u << 20) &&
           !page_is_zero(ram->host + end))
      end += PAGE;
    r = write_all(fd, ram->host + off, (size_t)(end - off), (off_t)off);
    *written += end - off;
    off = end;
  }
  return commit_tmp(fd, r, tmp, path, err);
}

/* The data extents of a memory file of size bytes (its holes are pages
 * that stay zero, untouched) as pieces to read into host
 * (base/bulk_read.h), in one walk of the file: *out (to free) gets *n
 * pieces. Returns 0 or -ENOMEM. */
static int memory_pieces(int fd, uint64_t size, uint8_t *host,
                         struct vmk_read_piece **out, unsigned *n) {
  struct vmk_read_piece *pieces = NULL;
  unsigned cap = 0;
  *out = NULL;
  *n = 0;
  off_t off = 0;
  while ((uint64_t)off < size) {
    off_t data = lseek(fd, off, SEEK_DATA);
    if (data < 0 && errno == ENXIO)
      break; /* only a hole is left */
    if (data < 0)
      data = off; /* no SEEK_DATA here: read everything */
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0 || (uint64_t)hole > size)
      hole = (off_t)size;
    if (hole > data) {
      uint64_t len = (uint64_t)(hole - data);
      uint64_t need = *n + vmk_read_piece_count(len);
      if (need > cap) {
        unsigned grown = need > 2ull * cap ? (unsigned)need : 2 * cap;
        struct vmk_read_piece *p = realloc(pieces, grown * sizeof(*p));
        if (!p) {
          free(pieces);
          *n = 0;
          return -ENOMEM;
        }
        pieces = p;
        cap = grown;
      }
      *n = vmk_read_pieces(pieces, *n, fd, host + data, len, (uint64_t)data);
    }
    off = hole;
  }
  *out = pieces;
  return 0;
}

/* dir/memory.raw into guest RAM (which is all zeros): only the file's
 * data regions are read. */
static int read_memory(const char *dir, const struct vmk_guest_mem *ram,
                       vmk_error *err) {
  char path[4096];
  int r = path_in(path, sizeof path, dir, "memory.raw", err);
  if (r)
    return r;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return vmk_err(err, -e, "cannot read the snapshot's memory %s: %s", path,
                   strerror(e));
  }
  if ((uint64_t)st.st_size != ram->size) {
    close(fd);
    return vmk_err(err, -EINVAL,
                   "the snapshot's memory file %s has %llu bytes; the VM has "
                   "%llu (the snapshot is damaged)",
                   path, (unsigned long long)st.st_size,
                   (unsigned long long)ram->size);
  }
  /* Read all at once over the host's CPUs, as the kernel is at boot: the
   * host's page faults, zeroing and copying dominate a large restore. */
  struct vmk_read_piece *pieces;
  unsigned n;
  if (memory_pieces(fd, ram->size, ram->host, &pieces, &n))
    r = vmk_err(err, -ENOMEM, "out of memory restoring the snapshot");
  else if (n) {
    unsigned bad = 0;
    int rc = vmk_bulk_read(pieces, n, true, &bad, NULL);
    if (rc)
      r = vmk_err(err, rc, "cannot read the snapshot's memory %s: %s", path,
                  rc == -EIO ? "it ended early" : strerror(-rc));
  }
  free(pieces);
  close(fd);
  return r;
}

/* state.bin into a new buffer (bounded). */
static int read_state(const char *dir, uint8_t **buf, size_t *len,
                      vmk_error *err) {
  char path[4096];
  int r = path_in(path, sizeof path, dir, "state.bin", err);
  if (r)
    return r;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return vmk_err(err, -e,
                   "cannot read the snapshot %s: %s (is %s a directory "
                   "written by vmkit save?)",
                   path, strerror(e), dir);
  }
  if (!S_ISREG(st.st_mode) || st.st_size > VMK_SNAP_MAX_STATE) {
    close(fd);
    return vmk_err(err, -EINVAL, "%s is not a vmkit snapshot state file", path);
  }
  *len = (size_t)st.st_size;
  *buf = malloc(*len ? *len : 1);
  if (!*buf) {
    close(fd);
    return vmk_err(err, -ENOMEM, "out of memory reading %s", path);
  }
  size_t got = 0;
  while (got < *len) {
    ssize_t n = read(fd, *buf + got, *len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  if (got != *len) {
    free(*buf);
    *buf = NULL;
    return vmk_err(err, -EIO, "cannot read the snapshot %s", path);
  }
  return 0;
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

/* manifest.json: what a person or a tool wants to know without parsing
 * state.bin. vmkit itself reads only state.bin. */
static char *manifest(const struct vmk_config *c, vmk_engine_kind engine,
                      uint64_t mem_written, size_t state_len) {
  char *p = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&p, &n);
  if (!f)
    return NULL;
  time_t now = time(NULL);
  struct tm tm;
  char when[32] = "";
  if (gmtime_r(&now, &tm))
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  fprintf(f,
          "{\n  \"format\": \"vmkit-snapshot\",\n  \"version\": %d,\n"
          "  \"vmkit\": \"%s\",\n  \"saved_at\": \"%s\",\n"
          "  \"engine\": \"%s\",\n  \"cpus\": %u,\n"
          "  \"memory_bytes\": %" PRIu64 ",\n"
          "  \"memory_data_bytes\": %" PRIu64 ",\n"
          "  \"files\": {\"state\": \"state.bin\", \"memory\": "
          "\"memory.raw\"},\n"
          "  \"state_bytes\": %zu,\n  \"disks\": [",
          VMK_SNAP_FORMAT, vmk_version(), when, vmk_engine_name(engine),
          c->cpus, c->memory, mem_written, state_len);
  for (unsigned i = 0; i < c->ndisks; i++) {
    fputs(i ? ", " : "", f);
    json_str(f, c->disks[i].path);
  }
  fputs("]\n}\n", f);
  fclose(f);
  return p;
}

/* ---- save ---- */

static void add_sbuf(struct vmk_snap_writer *w, const char *tag, uint32_t inst,
                     uint32_t version, struct vmk_sbuf *b) {
  vmk_snap_add(w, tag, inst, version, b->p, b->len);
  if (b->oom)
    w->body.oom = true;
  vmk_sbuf_free(b);
}

int vmk_vm_save(vmk_vm *vm, const char *dir, vmk_error *err) {
  vmk_err_clear(err);
  if (!dir || !*dir)
    return vmk_err(err, -EINVAL, "give a directory to save the VM into");
  int r = vmk_vm_begin_save(vm, err);
  if (r)
    return r;
  struct vmk_vm_parts p;
  vmk_vm_get_parts(vm, &p);
  const struct vmk_config *cfg = p.cfg;
  struct vmk_snap_writer w = {0};
  struct vmk_sbuf b = {0}, file = {0};
  struct vmk_arch_state arch = {0};
  struct vmk_snap_disk_id ids[VMK_MAX_DISKS];
  unsigned frozen = 0;
  char *man = NULL;

  if (!p.engine->ops->save_state) {
    r = vmk_err(err, -ENOTSUP, "the %s engine cannot save VMs yet",
                p.engine->ops->name);
    goto out;
  }
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
    r = vmk_err(err, -errno, "cannot create the snapshot directory %s: %s", dir,
                strerror(errno));
    goto out;
  }
  for (unsigned i = 0; i < cfg->ndisks; i++)
    if ((r = vmk_snap_disk_identify(cfg->disks[i].path, &ids[i], err)))
      goto out;
  if (!vmk_arch_state_alloc(&arch, cfg->cpus)) {
    r = vmk_err(err, -ENOMEM, "out of memory saving the VM");
    goto out;
  }
  if ((r = p.engine->ops->save_state(p.engine, &arch, err)))
    goto out;

  char *json = NULL;
  if ((r = put_config(&b, cfg, ids, &json, err)))
    goto out;
  add_sbuf(&w, "CONF", 0, CONF_VERSION, &b);
  r = write_file(dir, "config.json", json, strlen(json), err);
  free(json);
  if (r)
    goto out;
  put_layout(&b, p.layout);
  add_sbuf(&w, "BOOT", 0, BOOT_VERSION, &b);
  for (unsigned i = 0; i < arch.ncpus; i++) {
    put_vcpu(&b, &arch.vcpu[i]);
    add_sbuf(&w, "VCPU", i, VCPU_VERSION, &b);
    put_gicr(&b, &arch.gicr[i]);
    add_sbuf(&w, "GICR", i, GIC_VERSION, &b);
  }
  put_gicd(&b, &arch.gicd);
  add_sbuf(&w, "GICD", 0, GIC_VERSION, &b);
  vmk_sbuf_u64(&b, arch.counter);
  vmk_sbuf_u64(&b, arch.cntfrq);
  add_sbuf(&w, "TIME", 0, TIME_VERSION, &b);
  vmk_sbuf_u64(&b, p.ram->size);
  add_sbuf(&w, "MEM ", 0, 1, &b);

  vmk_pl011_save(p.platform->uart, &b);
  add_sbuf(&w, "UART", 0, 1, &b);
  vmk_pl031_save(p.platform->rtc, &b);
  add_sbuf(&w, "RTC ", 0, 1, &b);
  if (p.platform->gpio) {
    vmk_pl061_save(p.platform->gpio, &b);
    add_sbuf(&w, "GPIO", 0, 1, &b);
  }
  /* Frozen from here until the memory is written: the I/O thread serves
   * no queue, so rings in memory and transport state agree. */
  for (; frozen < p.nvirtio; frozen++)
    vmk_virtio_mmio_freeze(p.virtio[frozen]);
  for (unsigned i = 0; i < p.nvirtio; i++) {
    if ((r = vmk_virtio_mmio_save(p.virtio[i], &b, err))) {
      vmk_sbuf_free(&b);
      goto out;
    }
    add_sbuf(&w, "VIRT", i, 1, &b);
  }
  uint64_t mem_written = 0;
  if ((r = write_memory(dir, p.ram, &mem_written, err)))
    goto out;
  if ((r = vmk_snap_finish(&w, &file, err)))
    goto out;
  if ((r = write_file(dir, "state.bin", file.p, file.len, err)))
    goto out;
  vmk_engine_kind kind =
      p.engine->ops == &vmk_engine_kvm_ops ? VMK_ENGINE_KVM : VMK_ENGINE_EMU;
  man = manifest(cfg, kind, mem_written, file.len);
  if (!man)
    r = vmk_err(err, -ENOMEM, "out of memory saving the VM");
  else
    r = write_file(dir, "manifest.json", man, strlen(man), err);
out:
  while (frozen)
    vmk_virtio_mmio_thaw(p.virtio[--frozen]);
  vmk_vm_end_save(vm);
  free(man);
  vmk_sbuf_free(&file);
  vmk_sbuf_free(&w.body);
  vmk_arch_state_free(&arch);
  return r;
}

/* ---- restore ---- */

int vmk_snapshot_config(const char *dir, vmk_config **out, vmk_error *err) {
  vmk_err_clear(err);
  *out = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  int r = read_state(dir, &buf, &len, err);
  if (r)
    return r;
  struct vmk_snap_file *f = malloc(sizeof *f);
  struct vmk_snap_disk_id ids[VMK_MAX_DISKS];
  if (!f)
    r = vmk_err(err, -ENOMEM, "out of memory reading the snapshot");
  else if (!(r = vmk_snap_parse(buf, len, f, err))) {
    const struct vmk_snap_section *s = vmk_snap_find(f, "CONF", 0);
    r = s ? get_config(s, out, ids, err) : damaged(err, "CONF", 0);
  }
  free(f);
  free(buf);
  return r;
}

/* The configs name the same machine: what the guest saw must not change
 * (host-side things may: console, engine, disk and socket paths). */
static int check_same_machine(const struct vmk_config *a,
                              const struct vmk_config *b, vmk_error *err) {
  const char *what = NULL;
  if (a->cpus != b->cpus)
    what = "vCPUs";
  else if (a->memory != b->memory)
    what = "memory size";
  else if (a->ndisks != b->ndisks)
    what = "number of disks";
  else if (a->entropy != b->entropy)
    what = "entropy device";
  else if (a->nshares != b->nshares)
    what = "shared folders";
  else if (a->nnets != b->nnets)
    what = "network interfaces";
  else if (!a->vsock_path != !b->vsock_path)
    what = "vsock device";
  else if (a->boot_timer != b->boot_timer)
    what = "boot-timer device";
  for (unsigned i = 0; !what && i < a->ndisks; i++)
    if (a->disks[i].read_only != b->disks[i].read_only)
      what = "disks' read-only setting";
  for (unsigned i = 0; !what && i < a->nshares; i++)
    if (strcmp(a->shares[i].tag, b->shares[i].tag) ||
        a->shares[i].read_only != b->shares[i].read_only)
      what = "shared folders' tag or read-only setting";
  for (unsigned i = 0; !what && i < a->nnets; i++) {
    uint8_t ma[6], mb[6];
    vmk_config_net_mac(a, i, ma);
    vmk_config_net_mac(b, i, mb);
    if (memcmp(ma, mb, 6) || a->nets[i].mtu != b->nets[i].mtu)
      what = "network interfaces' MAC or MTU";
  }
  if (what)
    return vmk_err(err, -EINVAL,
                   "the snapshot was saved with another %s than this VM's "
                   "config gives; restore it with the config it was saved "
                   "with",
                   what);
  return 0;
}

static int check_disks(const struct vmk_config *cfg,
                       const struct vmk_snap_disk_id *ids, vmk_error *err) {
  for (unsigned i = 0; i < cfg->ndisks; i++) {
    const char *path = cfg->disks[i].path;
    struct vmk_snap_disk_id now;
    vmk_error e2;
    if (vmk_snap_disk_identify(path, &now, &e2) < 0)
      return vmk_err(err, -ENOENT,
                     "the snapshot's disk %s cannot be read (%s); put it "
                     "back as it was when the VM was saved",
                     path, e2.msg);
    if (now.size != ids[i].size || now.crc[0] != ids[i].crc[0] ||
        now.crc[1] != ids[i].crc[1] ||
        (now.mtime_ns && ids[i].mtime_ns && now.mtime_ns != ids[i].mtime_ns))
      return vmk_err(err, -EINVAL,
                     "the disk %s changed since the snapshot was saved (%s "
                     "differs); restore the disk as it was then (a restored "
                     "VM writes to its disks: keep a copy for each restore)",
                     path,
                     now.size != ids[i].size ? "its size"
                     : now.crc[0] != ids[i].crc[0] ||
                             now.crc[1] != ids[i].crc[1]
                         ? "its content"
                         : "its modification time");
  }
  return 0;
}

static int load_platform(const struct vmk_snap_file *f,
                         struct vmk_virt_platform *pl, vmk_error *err) {
  const struct vmk_snap_section *s = vmk_snap_find(f, "UART", 0);
  if (!s)
    return damaged(err, "UART", 0);
  int r = vmk_pl011_load(pl->uart, s->data, s->len, err);
  if (r)
    return r;
  if (!(s = vmk_snap_find(f, "RTC ", 0)))
    return damaged(err, "RTC ", 0);
  if ((r = vmk_pl031_load(pl->rtc, s->data, s->len, err)))
    return r;
  s = vmk_snap_find(f, "GPIO", 0);
  if (!s != !pl->gpio)
    return vmk_err(err, -EINVAL,
                   "the snapshot's GPIO device does not match "
                   "this VM's");
  return s ? vmk_pl061_load(pl->gpio, s->data, s->len, err) : 0;
}

/* cb (may be NULL) watches the new VM from its first change: created ->
 * restoring -> paused, or restoring -> error before it is freed. */
static int restore_state(const char *dir, const struct vmk_snap_state *st,
                         const vmk_config *cfg, vmk_state_cb cb, void *opaque,
                         vmk_vm **out, vmk_error *err) {
  *out = NULL;
  int r = check_same_machine(st->cfg, cfg, err);
  if (r || (r = check_disks(cfg, st->disk_ids, err)))
    return r;
  vmk_vm *vm;
  if ((r = vmk_vm_create_restoring(cfg, &st->layout, &vm, err)))
    return r;
  if (cb)
    vmk_vm_set_state_callback(vm, cb, opaque);
  vmk_vm_begin_restore(vm);
  struct vmk_vm_parts p;
  vmk_vm_get_parts(vm, &p);
  if (!p.engine->ops->load_state) {
    r = vmk_err(err, -ENOTSUP, "the %s engine cannot restore VMs yet",
                p.engine->ops->name);
    goto fail;
  }
  if ((r = read_memory(dir, p.ram, err)) ||
      (r = p.engine->ops->load_state(p.engine, &st->arch, err)) ||
      (r = load_platform(st->file, p.platform, err)))
    goto fail;
  for (unsigned i = 0; i < p.nvirtio; i++) {
    const struct vmk_snap_section *s = vmk_snap_find(st->file, "VIRT", i);
    if (!s) {
      r = vmk_err(err, -EINVAL,
                  "the snapshot has no state for this VM's virtio device %u; "
                  "restore it with the config it was saved with",
                  i);
      goto fail;
    }
    if ((r = vmk_virtio_mmio_load(p.virtio[i], s->data, s->len, err)))
      goto fail;
  }
  if (vmk_snap_find(st->file, "VIRT", p.nvirtio)) {
    r = vmk_err(err, -EINVAL,
                "the snapshot has more virtio devices than "
                "this VM; restore it with the config it was "
                "saved with");
    goto fail;
  }
  if ((r = vmk_vm_start_paused(vm, err)))
    goto fail;
  *out = vm;
  return 0;
fail:
  vmk_vm_restore_failed(vm, err);
  vmk_vm_free(vm);
  return r;
}

int vmk_snap_restore_state(const char *dir, const struct vmk_snap_state *st,
                           const vmk_config *cfg, vmk_vm **out,
                           vmk_error *err) {
  return restore_state(dir, st, cfg, NULL, NULL, out, err);
}

int vmk_vm_restore(const char *dir, const vmk_config *cfg, vmk_vm **out,
                   vmk_error *err) {
  return vmk_vm_restore_watched(dir, cfg, NULL, NULL, out, err);
}

int vmk_vm_restore_watched(const char *dir, const vmk_config *cfg,
                           vmk_state_cb cb, void *opaque, vmk_vm **out,
                           vmk_error *err) {
  vmk_err_clear(err);
  *out = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  int r = read_state(dir, &buf, &len, err);
  if (r)
    return r;
  struct vmk_snap_file *f = malloc(sizeof *f);
  struct vmk_snap_state st = {0};
  if (!f) {
    free(buf);
    return vmk_err(err, -ENOMEM, "out of memory reading the snapshot");
  }
  if (!(r = vmk_snap_parse(buf, len, f, err)) &&
      !(r = vmk_snap_decode(f, &st, err))) {
    r = restore_state(dir, &st, cfg ? cfg : st.cfg, cb, opaque, out, err);
    vmk_snap_state_free(&st);
  }
  free(f);
  free(buf);
  return r;
}
