/* test_char_fd.c — console output handles (vmk_char_dup_output): a pipe or
 * tty gets a private non-blocking description, so a write larger than the
 * room left returns short instead of blocking, while the caller's fd keeps
 * its flags; files keep their offset and O_APPEND. Test thread only; an
 * alarm ends the process if a write blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/char_fd.h"

/* Fills the pipe behind fd through a non-blocking handle of its own. */
static void fill(int nb) {
  char junk[4096];
  memset(junk, '.', sizeof(junk));
  while (write(nb, junk, sizeof(junk)) > 0)
    ;
}

static void test_pipe_is_private_and_nonblocking(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  int o = vmk_char_dup_output(p[1]);
  assert_true(o >= 0);
  assert_true(fcntl(o, F_GETFL) & O_NONBLOCK);
  assert_false(fcntl(p[1], F_GETFL) & O_NONBLOCK);
  assert_true(fcntl(o, F_GETFD) & FD_CLOEXEC);
  fill(o);
  /* One page of room, and a write of two: with a shared blocking
   * description (another writer won the race for the room after our
   * poll) this write would block until the reader drains. */
  char page[4096];
  assert_int_equal(read(p[0], page, sizeof(page)), (ssize_t)sizeof(page));
  char two[8192];
  memset(two, 'x', sizeof(two));
  alarm(30);
  ssize_t n = write(o, two, sizeof(two));
  alarm(0);
  assert_true(n > 0 && n < (ssize_t)sizeof(two));
  assert_int_equal(vmk_char_write(o, two, 1), 0); /* full: 0, not a block */
  close(o);
  close(p[0]);
  close(p[1]);
}

static void test_tty_is_private_and_nonblocking(void **state) {
  (void)state;
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0)
    skip(); /* no /dev/ptmx in this sandbox */
  assert_int_equal(grantpt(m), 0);
  assert_int_equal(unlockpt(m), 0);
  int s = open(ptsname(m), O_RDWR | O_NOCTTY);
  assert_true(s >= 0);
  int o = vmk_char_dup_output(s);
  assert_true(o >= 0);
  assert_true(fcntl(o, F_GETFL) & O_NONBLOCK);
  assert_false(fcntl(s, F_GETFL) & O_NONBLOCK);
  assert_int_equal(vmk_char_write(o, "hi", 2), 2);
  char buf[2];
  assert_int_equal(read(m, buf, 2), 2);
  assert_memory_equal(buf, "hi", 2);
  close(o);
  close(s);
  close(m);
}

/* A console file opened O_APPEND must not be rewritten from offset 0. */
static void test_file_keeps_offset(void **state) {
  (void)state;
  char path[] = "/tmp/vmkit-test-charfd-XXXXXX";
  int f = mkstemp(path);
  assert_true(f >= 0);
  assert_int_equal(write(f, "abc", 3), 3);
  int o = vmk_char_dup_output(f);
  assert_true(o >= 0);
  assert_int_equal(vmk_char_write(o, "de", 2), 2);
  char buf[8] = {0};
  assert_int_equal(pread(f, buf, sizeof(buf), 0), 5);
  assert_string_equal(buf, "abcde");
  close(o);
  close(f);
  unlink(path);
}

static void test_reader_gone(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  close(p[0]);
  int o = vmk_char_dup_output(p[1]);
  assert_true(o >= 0);
  assert_int_equal(vmk_char_write(o, "x", 1), -EPIPE); /* no SIGPIPE */
  close(o);
  close(p[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pipe_is_private_and_nonblocking),
      cmocka_unit_test(test_tty_is_private_and_nonblocking),
      cmocka_unit_test(test_file_keeps_offset),
      cmocka_unit_test(test_reader_gone),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
