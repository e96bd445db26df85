/* uspace.c — guest address space of the user-mode runner (see uspace.h).
 * Host protections of guest pages follow the guest's readability (see
 * struct uspace): readable pages are host read/write (the emulator
 * enforces write permission through its TLB), except shared file mappings,
 * which follow the guest's protection since the host cannot map them
 * writable when the file is read-only; unreadable pages are PROT_NONE, so
 * translated loads (which skip the TLB) fault on the host for them.
 *
 * Single-threaded (the runner's thread).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "emu/user/uspace.h"

static uint64_t npages(void) { return US_SPACE / US_PAGE; }

int emu_us_init(struct uspace *us) {
  memset(us, 0, sizeof *us);
  void *b = mmap(NULL, US_SPACE + US_TAIL, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (b == MAP_FAILED)
    return -errno;
  void *p = mmap(NULL, npages(), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    int e = -errno;
    munmap(b, US_SPACE + US_TAIL);
    return e;
  }
  us->base = b;
  us->perm = p;
  us->mmap_next = US_MMAP_TOP;
  return 0;
}

void emu_us_destroy(struct uspace *us) {
  if (us->base)
    munmap(us->base, US_SPACE + US_TAIL);
  if (us->perm)
    munmap(us->perm, npages());
  us->base = us->perm = NULL;
}

int emu_us_reset(struct uspace *us) {
  if (mmap(us->base, US_SPACE, PROT_NONE,
           MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
           0) == MAP_FAILED)
    return -errno;
  madvise(us->perm, npages(), MADV_DONTNEED); /* reads back as zero */
  us->brk_start = us->brk_cur = 0;
  us->mmap_next = US_MMAP_TOP;
  us->xonly = false;
  return 0;
}

static bool range_ok(uint64_t va, uint64_t len) {
  return va < US_SPACE && len <= US_SPACE - va;
}

void *emu_us_ptr(struct uspace *us, uint64_t va, uint64_t len, unsigned need) {
  if (!range_ok(va, len))
    return NULL;
  if (len) {
    for (uint64_t p = va / US_PAGE; p <= (va + len - 1) / US_PAGE; p++)
      if ((us->perm[p] & need) != need || !(us->perm[p] & US_MAPPED))
        return NULL;
  }
  return us->base + va;
}

const char *emu_us_str(struct uspace *us, uint64_t va, size_t max) {
  for (size_t i = 0; i < max; i++) {
    uint64_t a = va + i;
    if (i == 0 || (a % US_PAGE) == 0)
      if (!emu_us_ptr(us, a, 1, US_R))
        return NULL;
    if (us->base[a] == 0)
      return (const char *)us->base + va;
  }
  return NULL;
}

static void set_perm(struct uspace *us, uint64_t va, uint64_t len, uint8_t v) {
  memset(us->perm + va / US_PAGE, v, len / US_PAGE);
}

static uint8_t prot_bits(int prot) {
  uint8_t v = US_MAPPED;
  if (prot & PROT_READ)
    v |= US_R;
  if (prot & PROT_WRITE)
    v |= US_W | US_R; /* arm64 Linux: writable implies readable */
  if (prot & PROT_EXEC)
    v |= US_X;
  return v;
}

/* The host protection of a page with guest bits v (see struct uspace). */
static int host_prot(uint8_t v) {
  if (!(v & US_MAPPED) || !(v & (US_R | US_X)))
    return PROT_NONE;
  if (v & US_SHARED_FILE)
    return PROT_READ | ((v & US_W) ? PROT_WRITE : 0);
  return PROT_READ | PROT_WRITE;
}

static void note_xonly(struct uspace *us, uint8_t v) {
  if ((v & US_X) && !(v & US_R))
    us->xonly = true;
}

int emu_us_map_anon(struct uspace *us, uint64_t va, uint64_t len,
                    unsigned prot) {
  if (!range_ok(va, len) || (va | len) % US_PAGE)
    return -EINVAL;
  const uint8_t v = prot_bits((int)prot);
  if (mmap(us->base + va, len, host_prot(v),
           MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
    return -errno;
  set_perm(us, va, len, v);
  note_xonly(us, v);
  return 0;
}

static bool range_free(struct uspace *us, uint64_t va, uint64_t len) {
  for (uint64_t p = va / US_PAGE; p < (va + len) / US_PAGE; p++)
    if (us->perm[p])
      return false;
  return true;
}

/* Highest free range of len bytes below top and above the image's 4 GiB. */
static uint64_t find_below(struct uspace *us, uint64_t top, uint64_t len) {
  const uint64_t floor = 1ull << 32; /* the low 4 GiB stay for the image */
  while (top >= floor + len) {       /* candidate: [top - len, top) */
    uint64_t va = top - len;
    const uint64_t lo = va / US_PAGE;
    uint64_t p = top / US_PAGE; /* find the highest used page in range */
    while (p > lo) {
      uint64_t w;
      if (p % 8 == 0 && p - lo >= 8) { /* 8 free pages a step */
        memcpy(&w, us->perm + p - 8, 8);
        if (!w) {
          p -= 8;
          continue;
        }
      }
      if (us->perm[p - 1])
        break;
      p--;
    }
    if (p == lo)
      return va;
    top = (p - 1) * US_PAGE; /* continue below the used page */
  }
  return 0;
}

/* Top-down, like Linux: from the cursor, which munmap raises again over
 * the space it frees (so a map/unmap loop reuses the same range), then,
 * when that fails, once more from the top for holes the cursor passed. */
uint64_t emu_us_find_free(struct uspace *us, uint64_t len) {
  uint64_t va = find_below(us, us->mmap_next, len);
  if (!va && us->mmap_next < US_MMAP_TOP)
    va = find_below(us, US_MMAP_TOP, len);
  if (va)
    us->mmap_next = va;
  return va;
}

long emu_us_mmap(struct uspace *us, uint64_t addr, uint64_t len, int prot,
                 int flags, int fd, uint64_t off) {
  if (len == 0 || off % US_PAGE)
    return -EINVAL;
  if (len > US_SPACE) /* before rounding, which could wrap */
    return -ENOMEM;
  len = (len + US_PAGE - 1) & ~(US_PAGE - 1);
  uint64_t va;
  if (flags & MAP_FIXED) {
    if (addr % US_PAGE || !range_ok(addr, len))
      return -EINVAL;
    va = addr;
  } else if (addr && addr % US_PAGE == 0 && range_ok(addr, len) &&
             range_free(us, addr, len)) {
    va = addr;
  } else {
    va = emu_us_find_free(us, len);
    if (!va)
      return -ENOMEM;
  }
  int hflags = MAP_FIXED | (flags & (MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS |
                                     MAP_NORESERVE | MAP_POPULATE));
  uint8_t v = prot_bits(prot);
  if ((flags & MAP_SHARED) && !(flags & MAP_ANONYMOUS))
    v |= US_SHARED_FILE;
  void *p = mmap(us->base + va, len, host_prot(v), hflags,
                 (flags & MAP_ANONYMOUS) ? -1 : fd, (off_t)off);
  if (p == MAP_FAILED) {
    int e = -errno;
    if (flags & MAP_FIXED) /* the old mapping may be gone: reserve again */
      emu_us_munmap(us, va, len);
    return e;
  }
  set_perm(us, va, len, v);
  note_xonly(us, v);
  return (long)va;
}

int emu_us_munmap(struct uspace *us, uint64_t va, uint64_t len) {
  if (va % US_PAGE || len == 0 || len > US_SPACE)
    return -EINVAL;
  len = (len + US_PAGE - 1) & ~(US_PAGE - 1);
  if (!range_ok(va, len))
    return -EINVAL;
  if (mmap(us->base + va, len, PROT_NONE,
           MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
           0) == MAP_FAILED)
    return -errno;
  set_perm(us, va, len, 0);
  uint64_t end = va + len < US_MMAP_TOP ? va + len : US_MMAP_TOP;
  if (end > us->mmap_next) /* freed space above the cursor: reuse it */
    us->mmap_next = end;
  return 0;
}

int emu_us_mprotect(struct uspace *us, uint64_t va, uint64_t len, int prot) {
  if (va % US_PAGE)
    return -EINVAL;
  if (len > US_SPACE)
    return -ENOMEM;
  len = (len + US_PAGE - 1) & ~(US_PAGE - 1);
  if (!range_ok(va, len))
    return -ENOMEM;
  const uint64_t first = va / US_PAGE, end = (va + len) / US_PAGE;
  for (uint64_t p = first; p < end; p++)
    if (!(us->perm[p] & US_MAPPED))
      return -ENOMEM;
  /* The host protection follows (struct uspace): shared file pages must
   * allow what the guest may do, or a guest store the emulator lets
   * through faults in vmkit (the host refuses PROT_WRITE for a file
   * opened read-only: EACCES, which Linux gives the guest too); every
   * page the guest may no longer read becomes inaccessible, or a
   * translated load would still read it. Runs of pages with the same
   * kind and host protection are changed in address order, skipping
   * those whose host protection stays; after a failure the pages before
   * it keep their new permissions, consistent between host and guest
   * (Linux's mprotect may also stop half way). */
  const uint8_t v = prot_bits(prot);
  for (uint64_t p = first; p < end;) {
    const uint8_t shared = us->perm[p] & US_SHARED_FILE;
    const int old = host_prot(us->perm[p]), hprot = host_prot(v | shared);
    uint64_t e = p + 1;
    while (e < end && (us->perm[e] & US_SHARED_FILE) == shared &&
           host_prot(us->perm[e]) == old)
      e++;
    if (hprot != old &&
        mprotect(us->base + p * US_PAGE, (e - p) * US_PAGE, hprot) < 0)
      return -errno;
    memset(us->perm + p, v | shared, e - p);
    p = e;
  }
  note_xonly(us, v);
  return 0;
}

uint64_t emu_us_brk(struct uspace *us, uint64_t newbrk) {
  if (newbrk < us->brk_start || newbrk >= us->brk_start + (1ull << 32))
    return us->brk_cur;
  uint64_t oldtop = (us->brk_cur + US_PAGE - 1) & ~(US_PAGE - 1);
  uint64_t newtop = (newbrk + US_PAGE - 1) & ~(US_PAGE - 1);
  if (newtop > oldtop) {
    if (!range_free(us, oldtop, newtop - oldtop) ||
        emu_us_map_anon(us, oldtop, newtop - oldtop, PROT_READ | PROT_WRITE))
      return us->brk_cur;
  } else if (newtop < oldtop) {
    emu_us_munmap(us, newtop, oldtop - newtop);
  }
  us->brk_cur = newbrk;
  return newbrk;
}
