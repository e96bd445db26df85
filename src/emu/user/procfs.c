/* procfs.c — the emulated program's own /proc/self: the host's procfs
 * files of this process describe vmkit, not the program, and mem would
 * read and write vmkit's memory. Files are classified after the host
 * resolved the path (so symlinks, "..", a /proc/self directory fd,
 * /dev/fd/N, any procfs mount and /proc/PID or task/TID spellings all
 * land on the same answer): mem and pagemap (of any process: the others
 * are vmkit processes too) and the host-layout files smaps, smaps_rollup
 * and numa_maps are refused with EACCES; maps and auxv of this process
 * are synthesized from the guest's mappings and auxiliary vector; the exe
 * link names the program.
 *
 * Single-threaded (the runner's thread).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "emu/user/user.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

enum pf { PF_NONE, PF_DENY, PF_MAPS, PF_AUXV, PF_EXE };

/* Parses a decimal pid component; -1 if it is not one. */
static long pid_of(const char *s, size_t n) {
  if (n == 0 || n > 10)
    return -1;
  long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* What the host file open at fd is to the guest. */
static enum pf classify(int fd) {
  struct statfs sf;
  if (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
    return PF_NONE;
  char link[64], t[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, t, sizeof t - 1);
  if (n <= 0 || n >= (ssize_t)sizeof t - 1)
    return PF_DENY; /* a procfs file we cannot name: be safe */
  t[n] = 0;
  /* .../PID/NAME or .../PID/task/TID/NAME, whatever the mount point */
  char *name = strrchr(t, '/');
  if (!name)
    return PF_NONE;
  *name++ = 0;
  char *c = strrchr(t, '/');
  if (!c)
    return PF_NONE;
  long pid = pid_of(c + 1, strlen(c + 1));
  if (pid < 0)
    return PF_NONE;
  *c = 0;
  char *tk = strrchr(t, '/');
  if (tk && !strcmp(tk + 1, "task")) {
    *tk = 0;
    char *p = strrchr(t, '/');
    long tgid = p ? pid_of(p + 1, strlen(p + 1)) : -1;
    if (tgid >= 0)
      pid = tgid;
  }
  if (!strcmp(name, "mem") || !strcmp(name, "pagemap"))
    return PF_DENY;
  if (pid != (long)getpid())
    return PF_NONE;
  if (!strcmp(name, "smaps") || !strcmp(name, "smaps_rollup") ||
      !strcmp(name, "numa_maps"))
    return PF_DENY;
  if (!strcmp(name, "maps"))
    return PF_MAPS;
  if (!strcmp(name, "auxv"))
    return PF_AUXV;
  if (!strcmp(name, "exe"))
    return PF_EXE;
  return PF_NONE;
}

/* True if (dirfd, path) names this process's exe link itself (its last
 * component is the magic link, which the host would follow to vmkit). */
static bool names_exe(int dirfd, const char *path) {
  const char *b = strrchr(path, '/');
  if (strcmp(b ? b + 1 : path, "exe") != 0)
    return false;
  int fd = openat(dirfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool r = classify(fd) == PF_EXE;
  close(fd);
  return r;
}

const char *emu_ur_fix_path(struct urun *u, int dirfd, const char *path) {
  return names_exe(dirfd, path) ? u->exe_path : path;
}

/* Appends to a growing buffer; false when out of memory. */
struct buf {
  char *p;
  size_t len, cap;
};
static bool put(struct buf *b, const char *s, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n)
      cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np)
      return false;
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  return true;
}

static const char *range_name(struct urun *u, uint64_t va) {
  const struct uspace *us = &u->us;
  if (va >= u->image_lo && va < us->brk_start)
    return u->exe_path;
  if (va >= us->brk_start &&
      va < ((us->brk_cur + US_PAGE - 1) & ~(US_PAGE - 1)))
    return "[heap]";
  if (va >= US_STACK_TOP - US_STACK_SIZE && va < US_STACK_TOP)
    return "[stack]";
  return "";
}

/* The maps file: one line per run of pages with the same permissions and
 * the same name, in the kernel's format. */
static bool make_maps(struct urun *u, struct buf *b) {
  const uint8_t *perm = u->us.perm;
  const uint64_t n = US_SPACE / US_PAGE;
  const uint8_t keep = US_R | US_W | US_X | US_MAPPED | US_SHARED_FILE;
  uint64_t p = 0;
  while (p < n) {
    if (p % 8 == 0 && p + 8 <= n) { /* skip unmapped space 8 pages a step */
      uint64_t w;
      memcpy(&w, perm + p, 8);
      if (!w) {
        p += 8;
        continue;
      }
    }
    uint8_t v = perm[p] & keep;
    if (!(v & US_MAPPED)) {
      p++;
      continue;
    }
    const char *name = range_name(u, p * US_PAGE);
    uint64_t e = p + 1;
    while (e < n && (perm[e] & keep) == v && range_name(u, e * US_PAGE) == name)
      e++;
    char line[128];
    int k = snprintf(
        line, sizeof line, "%08llx-%08llx %c%c%c%c 00000000 00:00 0",
        (unsigned long long)(p * US_PAGE), (unsigned long long)(e * US_PAGE),
        v & US_R ? 'r' : '-', v & US_W ? 'w' : '-', v & US_X ? 'x' : '-',
        v & US_SHARED_FILE ? 's' : 'p');
    if (*name)
      k += snprintf(line + k, sizeof line - (size_t)k, "%*s",
                    k < 72 ? 73 - k : 1, ""); /* the kernel's column */
    if (!put(b, line, (size_t)k) || !put(b, name, strlen(name)) ||
        !put(b, "\n", 1))
      return false;
    p = e;
  }
  return true;
}

/* A read-only host descriptor holding data, as the guest's open file. */
static int data_fd(const char *what, const void *data, size_t len,
                   bool cloexec) {
  int m = memfd_create(what, MFD_CLOEXEC);
  if (m < 0)
    return -errno;
  const char *p = data;
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(m, p + off, len - off);
    if (w < 0) {
      int e = -errno;
      close(m);
      return e;
    }
    off += (size_t)w;
  }
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", m);
  int fd = open(link, O_RDONLY | (cloexec ? O_CLOEXEC : 0));
  int e = -errno;
  close(m);
  return fd < 0 ? e : fd;
}

int emu_ur_open(struct urun *u, int dirfd, const char *path, int hflags,
                mode_t mode) {
  if (names_exe(dirfd, path))
    path = u->exe_path;
  int fd = openat(dirfd, path, hflags, mode);
  if (fd < 0)
    return -errno;
  enum pf k = classify(fd);
  if (k == PF_NONE || k == PF_EXE)
    return fd;
  close(fd);
  bool cloexec = hflags & O_CLOEXEC;
  switch (k) {
  case PF_MAPS: {
    struct buf b = {0};
    int r =
        make_maps(u, &b) ? data_fd("vmkit-maps", b.p, b.len, cloexec) : -ENOMEM;
    free(b.p);
    return r;
  }
  case PF_AUXV:
    return data_fd("vmkit-auxv", u->auxv, u->auxv_len, cloexec);
  default:
    return -EACCES;
  }
}

long emu_ur_readlink(struct urun *u, int dirfd, const char *path, char *buf,
                     size_t len) {
  if (names_exe(dirfd, path)) {
    size_t n = strlen(u->exe_path);
    if (n > len)
      n = len;
    memcpy(buf, u->exe_path, n);
    return (long)n;
  }
  long r = readlinkat(dirfd, path, buf, len);
  return r < 0 ? -errno : r;
}
