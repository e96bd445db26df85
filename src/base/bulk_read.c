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
/* Pieces each of the ring's workers holds: the one it reads and the next,
 * so that it does not wait for this thread to hand it more. */
#define PER_WORKER 2u

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

/* Queues pieces[idx] for the ring's workers (no system call yet). */
static void ring_push(struct ring *r, const struct vmk_read_piece *pieces,
                      unsigned idx, unsigned at) {
  const struct vmk_read_piece *pc = &pieces[idx];
  unsigned slot = (*r->sq_tail + at) & *r->sq_mask; /* only this thread */
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
  sqe->user_data = idx;
  r->sq_array[slot] = slot;
}

/* Submits the k pieces ring_push queued; returns how many the kernel took
 * (they are the first ones queued). */
static unsigned ring_flush(struct ring *r, unsigned k) {
  __atomic_store_n(r->sq_tail, *r->sq_tail + k, __ATOMIC_RELEASE);
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

/* Moves finished pieces from the completion queue to idx[] (the piece)
 * and res[] (bytes read or a negative errno), waiting for one first if
 * wait. Returns how many it moved (at most room; 0 after waiting: the
 * ring cannot be waited for). */
static unsigned ring_reap(struct ring *r, bool wait, unsigned room,
                          unsigned *idx, int32_t *res) {
  for (;;) {
    long e = syscall(__NR_io_uring_enter, r->fd, 0, wait ? 1 : 0,
                     IORING_ENTER_GETEVENTS, NULL, 0);
    unsigned head = *r->cq_head, got = 0;
    unsigned ctail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
    for (; head != ctail && got < room; head++, got++) {
      const struct io_uring_cqe *c = &r->cqes[head & *r->cq_mask];
      idx[got] = (unsigned)c->user_data;
      res[got] = c->res;
    }
    __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
    if (got || !wait ||
        (e < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY))
      return got;
  }
}

/* Reads what is left of *pc on this thread after the ring read res bytes
 * of it (res < 0: it failed there, so it is read again whole and a real
 * I/O error shows); counts it in *whole if the ring read it all. */
static int read_rest(const struct vmk_read_piece *pc, int32_t res,
                     unsigned *whole) {
  uint64_t have = res > 0 ? (uint64_t)res : 0;
  if (have >= pc->len) {
    (*whole)++;
    return 0;
  }
  return vmk_read_full(pc->fd, (uint8_t *)pc->dst + have, pc->len - have,
                       pc->off + have);
}

int vmk_bulk_read(const struct vmk_read_piece *pieces, unsigned n,
                  bool use_ring, unsigned *bad, unsigned *by_ring) {
  cpu_set_t set;
  unsigned cpus = sched_getaffinity(0, sizeof(set), &set) == 0
                      ? (unsigned)CPU_COUNT(&set)
                      : 1;
  struct ring r;
  bool ring = use_ring && cpus > 1 && n > 1 && ring_open(&r, cpus - 1);
  /* No split fixed in advance: this thread reads pieces from the front,
   * the ring's workers from the back, PER_WORKER pieces each in flight,
   * topped up whenever one finishes, until the two meet. A worker slower
   * than this thread (a busy CPU, a slow device) then costs at most the
   * pieces it holds, not half of the reading. */
  unsigned depth = ring ? (cpus - 1) * PER_WORKER : 0;
  if (depth > RING_ENTRIES)
    depth = RING_ENTRIES;
  unsigned front = 0, back = n, inflight = 0, whole = 0;
  int rc = 0;
  while (!rc) {
    if (inflight) {
      unsigned idx[RING_ENTRIES];
      int32_t res[RING_ENTRIES];
      bool wait = front == back;
      unsigned got = ring_reap(&r, wait, RING_ENTRIES, idx, res);
      if (wait && !got) { /* the ring cannot be waited for */
        rc = -EIO;
        *bad = back;
        break;
      }
      inflight -= got;
      for (unsigned i = 0; i < got && !rc; i++)
        if ((rc = read_rest(&pieces[idx[i]], res[i], &whole)))
          *bad = idx[i];
    }
    /* The ring is topped up from the back, leaving this thread at least
     * the piece at the front; pieces over 4 GiB (a ring read's length is
     * 32 bits) stay here. */
    unsigned k = 0;
    while (!rc && inflight + k < depth && back - k > front + 1 &&
           pieces[back - 1 - k].len <= UINT32_MAX) {
      ring_push(&r, pieces, back - 1 - k, k);
      k++;
    }
    if (k) {
      unsigned taken = ring_flush(&r, k);
      back -= taken;
      inflight += taken;
      if (taken < k) /* the ring refused some: the rest are read here */
        depth = 0;
    }
    if (rc)
      break;
    if (front < back) {
      const struct vmk_read_piece *pc = &pieces[front];
      if ((rc = vmk_read_full(pc->fd, pc->dst, pc->len, pc->off)))
        *bad = front;
      front++;
    } else if (!inflight) {
      break;
    }
  }
  /* After an error, what the ring still holds is waited for: its workers
   * write into the caller's buffers. */
  while (ring && inflight) {
    unsigned idx[RING_ENTRIES];
    int32_t res[RING_ENTRIES];
    unsigned got = ring_reap(&r, true, RING_ENTRIES, idx, res);
    if (!got)
      break;
    inflight -= got;
  }
  if (ring)
    ring_close(&r);
  if (by_ring)
    *by_ring = whole;
  return rc;
}
