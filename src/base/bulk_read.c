/* bulk_read.c — many file pieces read at once by the calling thread and
 * io_uring's kernel workers (bulk_read.h), with raw system calls: liburing
 * would add a shared library, mapped and relocated at every start, for
 * four calls.
 *
 * Threads: any caller; the ring and its workers' work live only for the
 * call. */
#include "base/bulk_read.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Pieces in flight at once: enough to keep every CPU of a large host busy,
 * few enough that the ring is a few KiB. */
#define RING_ENTRIES 32u

unsigned vmk_read_pieces(struct vmk_read_piece *pieces, unsigned n, int fd,
                         void *dst, uint64_t len, uint64_t off) {
  for (uint64_t at = 0; at < len; at += VMK_READ_PIECE)
    pieces[n++] = (struct vmk_read_piece){
        .fd = fd,
        .dst = (uint8_t *)dst + at,
        .off = off + at,
        .len = len - at < VMK_READ_PIECE ? len - at : VMK_READ_PIECE};
  return n;
}

int vmk_read_full(int fd, void *dst, uint64_t len, uint64_t off) {
  uint8_t *p = dst;
  while (len) {
    size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
    ssize_t n = pread(fd, p, chunk, (off_t)off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (n == 0)
      return -EIO;
    p += n;
    off += (uint64_t)n;
    len -= (uint64_t)n;
  }
  return 0;
}

struct ring {
  int fd;
  void *sq_map, *cq_map; /* cq_map == sq_map with IORING_FEAT_SINGLE_MMAP */
  size_t sq_len, cq_len;
  struct io_uring_sqe *sqes;
  size_t sqes_len;
  unsigned *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_cqe *cqes;
};

static void ring_close(struct ring *r) {
  if (r->sqes && r->sqes != MAP_FAILED)
    munmap(r->sqes, r->sqes_len);
  if (r->cq_map && r->cq_map != MAP_FAILED && r->cq_map != r->sq_map)
    munmap(r->cq_map, r->cq_len);
  if (r->sq_map && r->sq_map != MAP_FAILED)
    munmap(r->sq_map, r->sq_len);
  if (r->fd >= 0)
    close(r->fd);
}

/* Sets up a ring; false when the host has no usable io_uring. */
static bool ring_open(struct ring *r, unsigned workers) {
  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  memset(r, 0, sizeof(*r));
  r->fd = (int)syscall(__NR_io_uring_setup, RING_ENTRIES, &p);
  if (r->fd < 0)
    return false;
  r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP) {
    if (r->cq_len > r->sq_len)
      r->sq_len = r->cq_len;
    r->cq_len = r->sq_len;
  }
  r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
  if (r->sq_map == MAP_FAILED)
    goto fail;
  r->cq_map = (p.features & IORING_FEAT_SINGLE_MMAP)
                  ? r->sq_map
                  : mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
  if (r->cq_map == MAP_FAILED)
    goto fail;
  r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
  r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED)
    goto fail;
  /* As many workers as the CPUs the caller leaves free: more only add the
   * cost of creating them (dear on a small or emulated host). Kernels
   * before 5.15 refuse the call and keep their own bound. */
  unsigned max_workers[2] = {workers, workers};
  (void)syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_IOWQ_MAX_WORKERS,
                max_workers, 2);
  uint8_t *sq = r->sq_map, *cq = r->cq_map;
  r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  r->sq_array = (unsigned *)(sq + p.sq_off.array);
  r->cq_head = (unsigned *)(cq + p.cq_off.head);
  r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  return true;
fail:
  ring_close(r);
  return false;
}

/* Hands pieces[first, first + k) to the ring's workers (k <= RING_ENTRIES)
 * without waiting. got[i] is set to -EAGAIN, the result of a piece the ring
 * does not finish. Returns how many it took. */
static unsigned ring_submit(struct ring *r, const struct vmk_read_piece *pieces,
                            unsigned first, unsigned k, int64_t *got) {
  unsigned tail = *r->sq_tail; /* only this thread moves it */
  unsigned mask = *r->sq_mask;
  for (unsigned i = 0; i < k; i++) {
    const struct vmk_read_piece *pc = &pieces[first + i];
    unsigned slot = (tail + i) & mask;
    struct io_uring_sqe *sqe = &r->sqes[slot];
    memset(sqe, 0, sizeof(*sqe));
    sqe->opcode = IORING_OP_READ;
    sqe->fd = pc->fd;
    sqe->addr = (uint64_t)(uintptr_t)pc->dst;
    sqe->len = (uint32_t)pc->len;
    sqe->off = pc->off;
    /* Straight to a kernel worker: a read of cached data would otherwise
     * be done inline, on this thread, at submission. */
    sqe->flags = IOSQE_ASYNC;
    sqe->user_data = i;
    r->sq_array[slot] = slot;
    got[i] = -EAGAIN;
  }
  __atomic_store_n(r->sq_tail, tail + k, __ATOMIC_RELEASE);
  unsigned taken = 0;
  while (taken < k) {
    long e = syscall(__NR_io_uring_enter, r->fd, k - taken, 0, 0, NULL, 0);
    if (e < 0 && (errno == EINTR || errno == EAGAIN || errno == EBUSY))
      continue;
    if (e <= 0)
      break;
    taken += (unsigned)e;
  }
  return taken;
}

/* Waits for the k pieces ring_submit took; got[i] becomes bytes read or a
 * negative errno. A wait that fails leaves the rest at -EAGAIN. */
static void ring_wait(struct ring *r, unsigned k, int64_t *got) {
  unsigned done = 0;
  while (done < k) {
    long e = syscall(__NR_io_uring_enter, r->fd, 0, k - done,
                     IORING_ENTER_GETEVENTS, NULL, 0);
    if (e < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY)
      break;
    unsigned head = *r->cq_head;
    unsigned ctail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
    for (; head != ctail; head++) {
      const struct io_uring_cqe *c = &r->cqes[head & *r->cq_mask];
      if (c->user_data < k) {
        got[c->user_data] = c->res;
        done++;
      }
    }
    __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
  }
}

/* Finishes pieces[first + i] for i in [from, to) on this thread, from what
 * got[i] says was read already. */
static int finish(const struct vmk_read_piece *pieces, unsigned first,
                  unsigned from, unsigned to, const int64_t *got,
                  unsigned *whole, unsigned *bad) {
  for (unsigned i = from; i < to; i++) {
    const struct vmk_read_piece *pc = &pieces[first + i];
    uint64_t have = got[i] > 0 ? (uint64_t)got[i] : 0;
    if (have >= pc->len) {
      (*whole)++;
      continue;
    }
    int rc = vmk_read_full(pc->fd, (uint8_t *)pc->dst + have, pc->len - have,
                           pc->off + have);
    if (rc) {
      *bad = first + i;
      return rc;
    }
  }
  return 0;
}

int vmk_bulk_read(const struct vmk_read_piece *pieces, unsigned n,
                  bool use_ring, unsigned *bad, unsigned *by_ring) {
  cpu_set_t set;
  unsigned cpus = sched_getaffinity(0, sizeof(set), &set) == 0
                      ? (unsigned)CPU_COUNT(&set)
                      : 1;
  struct ring r;
  bool ring = use_ring && cpus > 1 && n > 1 && ring_open(&r, cpus - 1);
  unsigned whole = 0;
  int rc = 0;
  for (unsigned first = 0; first < n && !rc; first += RING_ENTRIES) {
    unsigned k = n - first < RING_ENTRIES ? n - first : RING_ENTRIES;
    int64_t got[RING_ENTRIES];
    for (unsigned i = 0; i < k; i++)
      got[i] = -EAGAIN;
    /* The ring's workers take all but this thread's share, which it reads
     * meanwhile; pieces over 4 GiB (the ring's length is 32 bits) stay
     * here. Whatever the ring did not finish (no io_uring, a kernel without
     * IORING_OP_READ or IOSQE_ASYNC, a short or failed read) is read here
     * afterwards, so a real I/O error shows again. */
    unsigned share = ring ? k - k / cpus : 0, taken = 0;
    for (unsigned i = 0; i < share; i++)
      if (pieces[first + i].len > UINT32_MAX)
        share = i;
    if (share)
      taken = ring_submit(&r, pieces, first, share, got);
    unsigned here = 0;
    rc = finish(pieces, first, share, k, got, &here, bad);
    if (taken)
      ring_wait(&r, taken, got);
    if (taken < share) { /* the ring refused some: leave it */
      ring_close(&r);
      ring = false;
    }
    if (!rc)
      rc = finish(pieces, first, 0, share, got, &whole, bad);
  }
  if (ring)
    ring_close(&r);
  if (by_ring)
    *by_ring = whole;
  return rc;
}
