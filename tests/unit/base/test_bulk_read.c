/* test_bulk_read.c — vmk_bulk_read (base/bulk_read.h): many pieces of two
 * files, of uneven sizes and in no order, land byte for byte where they
 * belong, through io_uring (its workers and the calling thread sharing
 * them) and on the calling thread alone; more pieces
 * than the ring holds at once; a piece past the end of its file and a bad
 * file descriptor are errors that name the piece; the calling thread
 * reads every piece the ring has not taken while the ring's pieces wait
 * (pipes nobody has written yet); ranges cut into pieces
 * (vmk_read_pieces). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/bulk_read.h"

#include "../offset_words.h"

#define NPIECES 77 /* more than the ring's 32 entries */

struct fx {
  char dir[64], path[2][96];
  int fd[2];
  uint8_t *data[2];
  size_t size[2];
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  strcpy(f->dir, "/tmp/vmk-bulk-XXXXXX");
  if (!f || !mkdtemp(f->dir))
    return -1;
  const size_t sizes[2] = {9 * 1024 * 1024 + 13, 3 * 1024 * 1024 + 5};
  for (int i = 0; i < 2; i++) {
    snprintf(f->path[i], sizeof(f->path[i]), "%s/f%d", f->dir, i);
    f->size[i] = sizes[i];
    f->data[i] = offset_words(sizes[i], (uint64_t)(i + 1) << 56);
    if (!f->data[i])
      return -1;
    FILE *w = fopen(f->path[i], "wb");
    if (!w || fwrite(f->data[i], 1, sizes[i], w) != sizes[i])
      return -1;
    fclose(w);
    f->fd[i] = open(f->path[i], O_RDONLY);
    if (f->fd[i] < 0)
      return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  for (int i = 0; i < 2; i++) {
    close(f->fd[i]);
    unlink(f->path[i]);
    free(f->data[i]);
  }
  rmdir(f->dir);
  free(f);
  return 0;
}

/* Cuts both files into NPIECES pieces of pseudo-random sizes, listed in
 * a shuffled order, into one destination buffer per file. */
static void make_pieces(struct fx *f, uint8_t *dst[2],
                        struct vmk_read_piece *p) {
  unsigned n = 0;
  uint32_t seed = 12345;
  for (int i = 0; i < 2; i++) {
    unsigned parts = i == 0 ? 50 : NPIECES - 50;
    size_t off = 0;
    for (unsigned k = 0; k < parts; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t left = f->size[i] - off;
      size_t len =
          k + 1 == parts ? left : 1 + (seed >> 8) % (2 * left / (parts - k));
      if (len > left - (parts - k - 1))
        len = left - (parts - k - 1);
      p[n++] = (struct vmk_read_piece){
          .fd = f->fd[i], .dst = dst[i] + off, .len = len, .off = off};
      off += len;
    }
    assert_int_equal(off, f->size[i]);
  }
  assert_int_equal(n, NPIECES);
  for (unsigned k = NPIECES - 1; k > 0; k--) {
    seed = seed * 1103515245u + 12345u;
    unsigned j = (seed >> 8) % (k + 1);
    struct vmk_read_piece t = p[k];
    p[k] = p[j];
    p[j] = t;
  }
}

static bool host_has_io_uring(void) {
  long r = syscall(__NR_io_uring_setup, 0, NULL);
  return !(r < 0 && (errno == ENOSYS || errno == EPERM));
}

static void read_all(struct fx *f, bool ring) {
  uint8_t *dst[2];
  struct vmk_read_piece p[NPIECES];
  for (int i = 0; i < 2; i++) {
    dst[i] = malloc(f->size[i]);
    assert_non_null(dst[i]);
    memset(dst[i], 0xAA, f->size[i]);
  }
  make_pieces(f, dst, p);
  unsigned bad = 999, by_ring = 999;
  assert_int_equal(vmk_bulk_read(p, NPIECES, ring, &bad, &by_ring), 0);
  for (int i = 0; i < 2; i++) {
    assert_memory_equal(dst[i], f->data[i], f->size[i]);
    free(dst[i]);
  }
  cpu_set_t set;
  bool many =
      sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 1;
  if (!ring)
    assert_int_equal(by_ring, 0);
  else if (host_has_io_uring() && many)
    /* the ring's workers read some pieces, this thread at least one */
    assert_true(by_ring >= 1 && by_ring < NPIECES);
  else
    print_message("one CPU or no io_uring here: pieces read one by one\n");
}

static void test_ring(void **state) { read_all(*state, true); }
static void test_one_by_one(void **state) { read_all(*state, false); }

static void test_errors(void **state) {
  struct fx *f = *state;
  for (int ring = 0; ring < 2; ring++) {
    uint8_t buf[3][4096];
    struct vmk_read_piece p[3] = {
        {.fd = f->fd[0], .dst = buf[0], .len = 4096, .off = 0},
        /* runs 10 bytes past the end of the second file */
        {.fd = f->fd[1],
         .dst = buf[1],
         .len = 4096,
         .off = f->size[1] + 10 - 4096},
        {.fd = f->fd[0], .dst = buf[2], .len = 4096, .off = 8192},
    };
    unsigned bad = 999;
    assert_int_equal(vmk_bulk_read(p, 3, ring, &bad, NULL), -EIO);
    assert_int_equal(bad, 1);
    /* the part before the end was read */
    assert_memory_equal(buf[1], f->data[1] + p[1].off, 4096 - 10);

    p[1] = (struct vmk_read_piece){.fd = 1000, .dst = buf[1], .len = 16};
    bad = 999;
    assert_int_equal(vmk_bulk_read(p, 3, ring, &bad, NULL), -EBADF);
    assert_int_equal(bad, 1);
  }
}

/* The ring takes pieces from the back (two per worker at once, the
 * workers being the CPUs but this one); here those are pipes that get
 * their data only once every other piece has landed, which the calling
 * thread must have read meanwhile instead of waiting for the ring. */
#define SLOW_FILE_PIECES 24
#define SLOW_MAX 32 /* the ring's entries: it never holds more */

struct slow {
  const struct fx *f;
  uint8_t *dst;
  int wfd[SLOW_MAX];
  unsigned pipes;
  bool others_first; /* every file piece landed before a pipe got data */
  bool write_failed; /* (cmocka's asserts belong to the test's thread) */
};

static void *feed_pipes(void *arg) {
  struct slow *s = arg;
  size_t len = SLOW_FILE_PIECES * 65536;
  for (int i = 0; i < 4000 && !s->others_first; i++) { /* 20 s at most */
    s->others_first = memcmp(s->dst, s->f->data[0], len) == 0;
    if (!s->others_first)
      nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
  }
  uint8_t page[4096];
  for (unsigned i = 0; i < s->pipes; i++) {
    memset(page, 0x40 + (int)i, sizeof(page));
    /* one write of PIPE_BUF bytes: the ring's read gets all of it */
    if (write(s->wfd[i], page, sizeof(page)) != (ssize_t)sizeof(page))
      s->write_failed = true;
  }
  return NULL;
}

static void test_slow_ring(void **state) {
  struct fx *f = *state;
  cpu_set_t set;
  if (!host_has_io_uring() || sched_getaffinity(0, sizeof(set), &set) ||
      CPU_COUNT(&set) < 2) {
    print_message("one CPU or no io_uring here: no ring to wait for\n");
    return;
  }
  unsigned pipes = 2 * (unsigned)(CPU_COUNT(&set) - 1);
  if (pipes > SLOW_MAX)
    pipes = SLOW_MAX;
  struct slow s = {.f = f, .pipes = pipes};
  s.dst = calloc(SLOW_FILE_PIECES, 65536);
  uint8_t(*pipe_dst)[4096] = calloc(pipes, 4096);
  struct vmk_read_piece p[SLOW_FILE_PIECES + SLOW_MAX];
  assert_non_null(s.dst);
  assert_non_null(pipe_dst);
  unsigned n = 0;
  for (; n < SLOW_FILE_PIECES; n++)
    p[n] = (struct vmk_read_piece){.fd = f->fd[0],
                                   .dst = s.dst + n * 65536,
                                   .len = 65536,
                                   .off = n * 65536};
  int rfd[SLOW_MAX];
  for (unsigned i = 0; i < pipes; i++) {
    int pf[2];
    assert_int_equal(pipe(pf), 0);
    rfd[i] = pf[0];
    s.wfd[i] = pf[1];
    p[n++] =
        (struct vmk_read_piece){.fd = pf[0], .dst = pipe_dst[i], .len = 4096};
  }
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, feed_pipes, &s), 0);
  unsigned bad = 999, by_ring = 999;
  int rc = vmk_bulk_read(p, n, true, &bad, &by_ring);
  pthread_join(t, NULL);
  assert_false(s.write_failed);
  assert_int_equal(rc, 0);
  assert_true(s.others_first);
  assert_int_equal(by_ring, pipes);
  for (unsigned i = 0; i < pipes; i++) {
    for (unsigned b = 0; b < 4096; b++)
      assert_int_equal(pipe_dst[i][b], 0x40 + i);
    close(rfd[i]);
    close(s.wfd[i]);
  }
  free(pipe_dst);
  free(s.dst);
}

/* vmk_read_pieces cuts a range that starts mid-file into whole pieces and
 * a short last one, each with its own file offset and destination, after
 * the pieces already there. */
static void test_cut_pieces(void **state) {
  (void)state;
  struct vmk_read_piece p[8];
  memset(p, 0, sizeof(p));
  const uint64_t len = 2 * VMK_READ_PIECE + 7, off = 5;
  uint8_t *dst = malloc(len); /* never touched: only its addresses count */
  assert_non_null(dst);
  assert_int_equal(vmk_read_piece_count(len), 3);
  assert_int_equal(vmk_read_piece_count(VMK_READ_PIECE), 1);
  assert_int_equal(vmk_read_piece_count(0), 0);
  unsigned n = vmk_read_pieces(p, 1, 9, dst, len, off);
  assert_int_equal(n, 4);
  assert_int_equal(p[0].len, 0); /* untouched */
  uint64_t at = 0;
  for (unsigned i = 1; i < 4; i++) {
    assert_int_equal(p[i].fd, 9);
    assert_ptr_equal(p[i].dst, dst + at);
    assert_int_equal(p[i].off, off + at);
    assert_int_equal(p[i].len, i < 3 ? VMK_READ_PIECE : 7);
    at += p[i].len;
  }
  assert_int_equal(at, len);
  assert_int_equal(vmk_read_pieces(p, 4, 9, dst, 0, off), 4);
  free(dst);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ring, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_by_one, setup, teardown),
      cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slow_ring, setup, teardown),
      cmocka_unit_test(test_cut_pieces),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
