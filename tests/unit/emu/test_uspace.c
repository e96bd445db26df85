/* test_uspace.c — the user-mode runner's guest address space: pointer
 * checks honour page permissions and bounds (the guest is the attacker),
 * strings must be terminated inside readable pages, mmap/munmap/mprotect
 * and brk update permissions, and lengths near 2^64 cannot wrap; host
 * protections follow the guest's readability.
 * Single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "emu/user/uspace.h"

static int setup(void **state) {
  static struct uspace us;
  if (emu_us_init(&us) != 0)
    return -1;
  *state = &us;
  return 0;
}
static int teardown(void **state) {
  emu_us_destroy(*state);
  return 0;
}

static void test_ptr_checks(void **state) {
  struct uspace *us = *state;
  const uint64_t va = 0x400000;
  assert_int_equal(emu_us_map_anon(us, va, 2 * US_PAGE, PROT_READ), 0);
  assert_non_null(emu_us_ptr(us, va, 2 * US_PAGE, US_R));
  assert_null(emu_us_ptr(us, va, 2 * US_PAGE, US_W));     /* read-only */
  assert_null(emu_us_ptr(us, va, 2 * US_PAGE + 1, US_R)); /* runs off the end */
  assert_null(emu_us_ptr(us, va - 1, 2, US_R));           /* starts before */
  assert_null(emu_us_ptr(us, US_SPACE - 1, 2, US_R));     /* leaves the space */
  assert_null(emu_us_ptr(us, ~0ull - 3, 8, US_R));        /* wraps */
  assert_null(emu_us_ptr(us, 0, 1, US_R));                /* NULL page */
  assert_int_equal(emu_us_mprotect(us, va, US_PAGE, PROT_READ | PROT_WRITE), 0);
  assert_non_null(emu_us_ptr(us, va, US_PAGE, US_W));
  assert_null(emu_us_ptr(us, va, US_PAGE + 1, US_W));
  assert_int_equal(emu_us_munmap(us, va, 2 * US_PAGE), 0);
  assert_null(emu_us_ptr(us, va, 1, US_R));
}

static void test_strings(void **state) {
  struct uspace *us = *state;
  const uint64_t va = 0x500000;
  assert_int_equal(emu_us_map_anon(us, va, US_PAGE, PROT_READ | PROT_WRITE), 0);
  char *p = emu_us_ptr(us, va, US_PAGE, US_W);
  memset(p, 'x', US_PAGE);
  /* no NUL before the end of the mapping: rejected */
  assert_null(emu_us_str(us, va, 1 << 20));
  p[US_PAGE - 1] = 0;
  assert_non_null(emu_us_str(us, va, 1 << 20));
  assert_null(emu_us_str(us, va, 100)); /* longer than allowed */
  assert_int_equal(emu_us_munmap(us, va, US_PAGE), 0);
}

static void test_mmap_brk(void **state) {
  struct uspace *us = *state;
  long a = emu_us_mmap(us, 0, 3 * US_PAGE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(a > 0 && (uint64_t)a < US_SPACE);
  assert_non_null(emu_us_ptr(us, (uint64_t)a, 3 * US_PAGE, US_W));
  long b = emu_us_mmap(us, 0, US_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
  assert_true(b > 0 && (b + (long)US_PAGE <= a || b >= a + 3 * (long)US_PAGE));
  /* lengths that would wrap when rounded up */
  assert_true(emu_us_mmap(us, 0, ~0ull, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0) < 0);
  assert_true(emu_us_munmap(us, (uint64_t)a, ~0ull - 10) < 0);
  assert_true(emu_us_mprotect(us, (uint64_t)a, ~0ull - 10, PROT_READ) < 0);
  assert_true(emu_us_mmap(us, US_SPACE, US_PAGE, PROT_READ,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) < 0);
  /* brk grows and shrinks only from its start */
  us->brk_start = us->brk_cur = 0x800000;
  assert_int_equal(emu_us_brk(us, 0x800000 + 10000), 0x800000 + 10000);
  assert_non_null(emu_us_ptr(us, 0x800000, 10000, US_W));
  assert_int_equal(emu_us_brk(us, 0x100), 0x800000 + 10000); /* refused */
  assert_int_equal(emu_us_brk(us, 0x800000), 0x800000);
  assert_null(emu_us_ptr(us, 0x800000, 1, US_R));
}

/* Freed address space is found again: a hole between live mappings, and
 * one above the allocation cursor. Before, the cursor only moved down and
 * mmap ran out of space with nothing mapped. */
static void test_mmap_reuse(void **state) {
  struct uspace *us = *state;
  const uint64_t big = 16ull << 30;
  const int fl = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  long m[32];
  int n = 0;
  for (;;) { /* fill the mmap area */
    long a = emu_us_mmap(us, 0, big, PROT_READ | PROT_WRITE, fl, -1, 0);
    if (a < 0) {
      assert_int_equal(a, -ENOMEM);
      break;
    }
    assert_true(n < 32);
    m[n++] = a;
  }
  assert_true(n >= 8);
  assert_int_equal(emu_us_munmap(us, (uint64_t)m[3], big), 0);
  assert_int_equal(emu_us_mmap(us, 0, big, PROT_READ, fl, -1, 0), m[3]);
  assert_int_equal(emu_us_mmap(us, 0, big, PROT_READ, fl, -1, 0), -ENOMEM);
  /* a hole above the cursor (which mmap moved far below it) */
  assert_int_equal(emu_us_munmap(us, (uint64_t)m[1], big), 0);
  us->mmap_next = (1ull << 32) + big;
  assert_int_equal(emu_us_mmap(us, 0, big, PROT_READ, fl, -1, 0), m[1]);
  for (int i = 0; i < n; i++)
    assert_int_equal(emu_us_munmap(us, (uint64_t)m[i], big), 0);
  /* with everything unmapped, a map/unmap loop runs in one place */
  long first = emu_us_mmap(us, 0, 1 << 20, PROT_READ, fl, -1, 0);
  for (int i = 0; i < 1000; i++) {
    assert_int_equal(emu_us_munmap(us, (uint64_t)first, 1 << 20), 0);
    assert_int_equal(emu_us_mmap(us, 0, 1 << 20, PROT_READ, fl, -1, 0), first);
  }
}

/* The host's protection of host address a ("rw", "r-", "--"), from
 * /proc/self/maps; "" when nothing is mapped there. */
static const char *host_prot_at(const void *a) {
  static char out[3];
  FILE *f = fopen("/proc/self/maps", "r");
  assert_non_null(f);
  char line[512];
  out[0] = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 &&
        (uintptr_t)a >= lo && (uintptr_t)a < hi) {
      out[0] = perms[0], out[1] = perms[1], out[2] = 0;
      break;
    }
  }
  fclose(f);
  return out;
}

/* Host protections follow guest readability (uspace.h): every page the
 * guest may not read is inaccessible on the host (translated loads read
 * base + va with no check of their own), every readable one readable;
 * exec-only pages stay host-readable and are reported (xonly). */
static void test_host_prot(void **state) {
  struct uspace *us = *state;
  const uint64_t va = 0x400000;
  uint8_t *h = us->base + va;
  assert_string_equal(host_prot_at(h), "--");
  assert_string_equal(host_prot_at(us->base + US_SPACE), "--"); /* tail */
  assert_string_equal(host_prot_at(us->base + US_SPACE + US_TAIL - 1), "--");
  assert_int_equal(emu_us_map_anon(us, va, 4 * US_PAGE, PROT_READ), 0);
  assert_string_equal(host_prot_at(h), "rw");
  assert_int_equal(emu_us_mprotect(us, va, US_PAGE, PROT_NONE), 0);
  assert_string_equal(host_prot_at(h), "--");
  assert_string_equal(host_prot_at(h + US_PAGE), "rw");
  assert_int_equal(emu_us_mprotect(us, va, 2 * US_PAGE, PROT_WRITE), 0);
  assert_string_equal(host_prot_at(h), "rw"); /* writable implies readable */
  assert_int_equal(emu_us_mprotect(us, va, 2 * US_PAGE, PROT_NONE), 0);
  assert_string_equal(host_prot_at(h + US_PAGE), "--");
  assert_int_equal(emu_us_mprotect(us, va, US_PAGE, PROT_READ), 0);
  assert_string_equal(host_prot_at(h), "rw");
  assert_string_equal(host_prot_at(h + US_PAGE), "--");
  assert_int_equal(emu_us_munmap(us, va + 2 * US_PAGE, US_PAGE), 0);
  assert_string_equal(host_prot_at(h + 2 * US_PAGE), "--");
  assert_int_equal(emu_us_map_anon(us, va + 2 * US_PAGE, US_PAGE, PROT_NONE),
                   0);
  assert_string_equal(host_prot_at(h + 2 * US_PAGE), "--");
  assert_int_equal(emu_us_mmap(us, va + 2 * US_PAGE, US_PAGE, PROT_NONE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
                   (long)(va + 2 * US_PAGE));
  assert_string_equal(host_prot_at(h + 2 * US_PAGE), "--");
  assert_false(us->xonly);
  assert_int_equal(emu_us_mprotect(us, va + 3 * US_PAGE, US_PAGE, PROT_EXEC),
                   0);
  assert_string_equal(host_prot_at(h + 3 * US_PAGE), "rw"); /* fetched */
  assert_true(us->xonly);
  /* a shared mapping of a file opened read-only */
  char path[] = "/tmp/vmk-uspace-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, US_PAGE), 0);
  int ro = open(path, O_RDONLY);
  unlink(path);
  close(fd);
  assert_true(ro >= 0);
  const uint64_t fva = 0x800000;
  assert_int_equal(
      emu_us_mmap(us, fva, US_PAGE, PROT_NONE, MAP_SHARED | MAP_FIXED, ro, 0),
      (long)fva);
  assert_string_equal(host_prot_at(us->base + fva), "--");
  assert_int_equal(emu_us_mprotect(us, fva, US_PAGE, PROT_READ), 0);
  assert_string_equal(host_prot_at(us->base + fva), "r-");
  assert_int_equal(emu_us_mprotect(us, fva, US_PAGE, PROT_NONE), 0);
  assert_string_equal(host_prot_at(us->base + fva), "--");
  assert_int_equal(emu_us_mprotect(us, fva, US_PAGE, PROT_WRITE), -EACCES);
  assert_string_equal(host_prot_at(us->base + fva), "--");
  close(ro);
  /* execve: everything inaccessible again, the exec-only note gone */
  assert_int_equal(emu_us_reset(us), 0);
  assert_string_equal(host_prot_at(h), "--");
  assert_string_equal(host_prot_at(h + 3 * US_PAGE), "--");
  assert_string_equal(host_prot_at(us->base + fva), "--");
  assert_false(us->xonly);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ptr_checks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mmap_brk, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mmap_reuse, setup, teardown),
      cmocka_unit_test_setup_teardown(test_host_prot, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
