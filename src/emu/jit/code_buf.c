/* code_buf.c — the executable region for translated code (code_buf.h).
 *
 * Runs on the translator's owner thread; no locks (one owner, see the
 * header). emu_code_buf_patch_jmp is the only call meant to touch code
 * other threads may be running.
 */
#include "emu/jit/code_buf.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/error.h"

static size_t page_size(void) {
  long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? (size_t)p : 4096;
}

static size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Where vmkit's own code is: translations call its helpers, and a call
 * rel32 (5 bytes) reaches only ±2 GiB. */
static uintptr_t text_anchor(void) {
  return (uintptr_t)(void *)&emu_code_buf_init;
}

/* Maps the executable view below vmkit's code, within rel32 reach of it,
 * when the address space has room there (never over an existing
 * mapping: MAP_FIXED_NOREPLACE); else anywhere. */
static void *map_exec(size_t size, int prot, int flags, int fd) {
  uintptr_t anchor = text_anchor();
  /* 12 steps: room for one region per vCPU of an 8-vCPU VM (the emu
   * engine's) while every slot stays within within_reach's bound */
  for (uintptr_t i = 1; i <= 12; i++) {
    uintptr_t gap = i << 27; /* 128 MiB steps below the code */
    if (anchor < gap + size + ((uintptr_t)1 << 32))
      break; /* keep low memory alone */
    uintptr_t hint = (anchor - gap - size) & ~(uintptr_t)0x1fffff;
    void *p =
        mmap((void *)hint, size, prot, flags | MAP_FIXED_NOREPLACE, fd, 0);
    if (p == MAP_FAILED)
      continue;
    if (p == (void *)hint)
      return p;
    munmap(p, size); /* a kernel that ignores the flag put it elsewhere */
  }
  return mmap(NULL, size, prot, flags, fd, 0);
}

static bool within_reach(const struct emu_code_buf *cb) {
  uintptr_t a = text_anchor(), lo = (uintptr_t)cb->rx, hi = lo + cb->size;
  uintptr_t d1 = a > lo ? a - lo : lo - a, d2 = a > hi ? a - hi : hi - a;
  uintptr_t far = d1 > d2 ? d1 : d2;
  /* a margin for helpers elsewhere in vmkit's text */
  return far < ((uintptr_t)1 << 31) - ((uintptr_t)256 << 20);
}

/* The memfd with a writable and an executable view; false if refused. */
static bool map_dual(struct emu_code_buf *cb) {
  int fd = memfd_create("vmkit-jit", MFD_CLOEXEC);
  if (fd < 0)
    return false;
  if (ftruncate(fd, (off_t)cb->size) < 0) {
    close(fd);
    return false;
  }
  void *rw = mmap(NULL, cb->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (rw == MAP_FAILED) {
    close(fd);
    return false;
  }
  void *rx = map_exec(cb->size, PROT_READ | PROT_EXEC, MAP_SHARED, fd);
  if (rx == MAP_FAILED) {
    munmap(rw, cb->size);
    close(fd);
    return false;
  }
  cb->fd = fd;
  cb->rw = rw;
  cb->rx = rx;
  cb->dual = true;
  return true;
}

int emu_code_buf_init(struct emu_code_buf *cb, size_t size, unsigned flags,
                      vmk_error *err) {
  memset(cb, 0, sizeof(*cb));
  cb->fd = -1;
  if (size == 0)
    size = EMU_CODE_BUF_DEFAULT;
  if (size < EMU_CODE_BUF_MIN || size > EMU_CODE_BUF_MAX)
    return vmk_err(err, -EINVAL,
                   "the translated-code cache must be between %zu KiB and "
                   "%zu MiB, not %zu bytes",
                   EMU_CODE_BUF_MIN >> 10, EMU_CODE_BUF_MAX >> 20, size);
  cb->size = round_up(size, page_size());
  if (!(flags & EMU_CODE_BUF_SINGLE_MAP) && map_dual(cb)) {
    cb->near_text = within_reach(cb);
    return 0;
  }
  void *p = map_exec(cb->size, PROT_READ | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
  if (p == MAP_FAILED) {
    int e = errno;
    cb->size = 0;
    return vmk_err(err, -e,
                   "cannot map %zu MiB of executable memory for translated "
                   "code (%s); use the interpreter (--emu-mode interp)",
                   size >> 20, strerror(e));
  }
  cb->rw = cb->rx = p;
  cb->near_text = within_reach(cb);
  return 0;
}

void emu_code_buf_destroy(struct emu_code_buf *cb) {
  if (cb->sites)
    munmap(cb->sites, cb->cap_sites * sizeof *cb->sites);
  if (cb->rx)
    munmap(cb->rx, cb->size);
  if (cb->dual && cb->rw)
    munmap(cb->rw, cb->size);
  if (cb->fd >= 0)
    close(cb->fd);
  memset(cb, 0, sizeof(*cb));
  cb->fd = -1;
}

void emu_code_buf_begin(struct emu_code_buf *cb, struct xe_buf *b) {
  size_t start = round_up(cb->used, EMU_CODE_BUF_ALIGN);
  if (!cb->rw || start >= cb->size) {
    xe_init(b, NULL, 0, 0);
    xe_fail(b, "code buffer full");
    b->full = true;
    return;
  }
  if (!cb->dual) {
    /* the page holding the end of the last translation may be running:
     * it must stay executable while it is written */
    size_t lo = start / page_size() * page_size();
    if (mprotect(cb->rw + lo, cb->size - lo,
                 PROT_READ | PROT_WRITE | PROT_EXEC) < 0) {
      xe_init(b, NULL, 0, 0);
      xe_fail(b, "cannot make the code buffer writable");
      return;
    }
    cb->open_lo = lo;
    cb->open_hi = cb->size;
  }
  xe_init(b, cb->rw + start, cb->size - start,
          (uint64_t)(uintptr_t)(cb->rx + start));
}

static void close_single(struct emu_code_buf *cb) {
  if (!cb->dual && cb->open_hi) {
    /* cannot fail for a range of our own mapping with fewer rights */
    (void)mprotect(cb->rw + cb->open_lo, cb->open_hi - cb->open_lo,
                   PROT_READ | PROT_EXEC);
    cb->open_lo = cb->open_hi = 0;
  }
}

int emu_code_buf_commit(struct emu_code_buf *cb, struct xe_buf *b,
                        void **exec) {
  int rc = 0;
  uint8_t *start = b->p;
  if (!xe_ok(b))
    rc = b->full ? -ENOSPC : -EINVAL;
  else if (!start || start < cb->rw || start + b->len > cb->rw + cb->size)
    rc = -EINVAL;
  if (rc == 0) {
    size_t off = (size_t)(start - cb->rw);
    cb->used = off + b->len;
    if (cb->used > cb->peak)
      cb->peak = cb->used;
    cb->commits++;
    __builtin___clear_cache((char *)cb->rx + off,
                            (char *)cb->rx + off + b->len);
    if (exec)
      *exec = cb->rx + off;
  }
  close_single(cb);
  return rc;
}

void emu_code_buf_flush(struct emu_code_buf *cb) {
  if (!cb->rw)
    return;
  /* give the pages back to the host: the next translations start over */
  if (cb->dual)
    (void)fallocate(cb->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                    (off_t)cb->size);
  else
    (void)madvise(cb->rw, cb->size, MADV_DONTNEED);
  cb->used = 0;
  cb->nsites = 0;
  cb->flushes++;
}

bool emu_code_buf_sites_room(struct emu_code_buf *cb, size_t n) {
  if (!cb->sites && cb->size) {
    size_t cap = cb->size / 16;
    void *p = mmap(NULL, cap * sizeof *cb->sites, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      return false;
    cb->sites = p;
    cb->cap_sites = cap;
  }
  return cb->sites && n <= cb->cap_sites - cb->nsites;
}

int emu_code_buf_add_sites(struct emu_code_buf *cb, uint64_t exec,
                           const uint32_t (*sites)[2], size_t n) {
  uint64_t rx = (uint64_t)(uintptr_t)cb->rx;
  if (!n)
    return 0;
  if (!emu_code_buf_sites_room(cb, n) || exec < rx || exec - rx > cb->size)
    return -EINVAL;
  uint64_t off = exec - rx;
  uint64_t last = cb->nsites ? cb->sites[cb->nsites - 1][0] : 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t site = off + sites[i][0], stub = off + sites[i][1];
    if ((cb->nsites || i) && site <= last)
      return -EINVAL;
    if (site >= cb->size || stub >= cb->size)
      return -EINVAL;
    last = site;
  }
  for (size_t i = 0; i < n; i++) {
    cb->sites[cb->nsites + i][0] = (uint32_t)(off + sites[i][0]);
    cb->sites[cb->nsites + i][1] = (uint32_t)(off + sites[i][1]);
  }
  cb->nsites += n;
  return 0;
}

uint64_t emu_code_buf_site_stub(const struct emu_code_buf *cb, uint64_t rip) {
  uint64_t rx = (uint64_t)(uintptr_t)cb->rx;
  if (!cb->rx || rip < rx || rip - rx >= cb->used)
    return 0;
  uint32_t off = (uint32_t)(rip - rx);
  size_t lo = 0, hi = cb->nsites; /* the site is in [lo, hi) if anywhere */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cb->sites[mid][0] < off)
      lo = mid + 1;
    else if (cb->sites[mid][0] > off)
      hi = mid;
    else
      return rx + cb->sites[mid][1];
  }
  return 0;
}

bool emu_code_buf_contains(const struct emu_code_buf *cb, uint64_t addr) {
  uint64_t rx = (uint64_t)(uintptr_t)cb->rx;
  return cb->rx && addr >= rx && addr < rx + cb->used;
}

int emu_code_buf_patch_jmp(struct emu_code_buf *cb, uint64_t jmp,
                           uint64_t target) {
  if (!emu_code_buf_contains(cb, jmp) || !emu_code_buf_contains(cb, jmp + 4))
    return -EINVAL;
  size_t off = (size_t)(jmp - (uint64_t)(uintptr_t)cb->rx);
  if (cb->dual)
    return xe_patch_jmp(cb->rw + off, jmp, target);
  size_t ps = page_size();
  size_t lo = off / ps * ps, hi = round_up(off + 5, ps);
  if (mprotect(cb->rw + lo, hi - lo, PROT_READ | PROT_WRITE | PROT_EXEC) < 0)
    return -errno;
  int rc = xe_patch_jmp(cb->rw + off, jmp, target);
  (void)mprotect(cb->rw + lo, hi - lo, PROT_READ | PROT_EXEC);
  return rc;
}

void emu_code_buf_stats(const struct emu_code_buf *cb,
                        struct emu_code_buf_stats *st) {
  st->size = cb->size;
  st->used = cb->used;
  st->peak = cb->peak;
  st->flushes = cb->flushes;
  st->commits = cb->commits;
  st->dual = cb->dual;
  st->near_text = cb->near_text;
}
