/* codemod.c — code a program writes, runs, changes and maps again under
 * `vmkit exec` (with --emu-mode=jit: translations chained into each
 * other must follow every change, as on Linux): a generated loop calls a
 * generated function 100 times with BL (same page, then another page)
 * and is itself called through a function pointer (BLR) many times;
 * then the function is rewritten in place (store + __builtin___clear_cache,
 * i.e. IC IVAU), its page unmapped and mapped again at the same address
 * with other code, and made writable without execute permission,
 * rewritten, and executable again. Each run must return the current
 * function's value * 100. Prints "ok" lines and exits 0; a failure prints
 * FAIL and exits 1. Single-threaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096

typedef int (*loop_fn)(void);

static int failures;

/* The loop at p (its callee at callee):
 *   mov x9, x30; mov w0, #0; mov w1, #100
 *   1: bl callee; subs w1, w1, #1; b.ne 1b; ret x9 */
static void put_loop(uint32_t *p, const uint32_t *callee) {
  static const uint32_t head[] = {0xaa1e03e9, 0x52800000, 0x52800c81};
  memcpy(p, head, sizeof head);
  int64_t off = (callee - (p + 3)) & 0x3ffffff;
  p[3] = 0x94000000u | (uint32_t)off; /* bl callee */
  p[4] = 0x71000421;                  /* subs w1, w1, #1 */
  p[5] = 0x54ffffc1;                  /* b.ne 1b */
  p[6] = 0xd65f0120;                  /* ret x9 */
}
/* add w0, w0, #k; ret */
static void put_callee(uint32_t *p, unsigned k) {
  p[0] = 0x11000000u | (k & 0xfff) << 10;
  p[1] = 0xd65f03c0;
}

static void sync_code(void *p, size_t len) {
  __builtin___clear_cache((char *)p, (char *)p + len);
}

/* Runs the loop 50 times (the later calls go through linked code). */
static void expect(loop_fn f, int want, const char *what) {
  for (int i = 0; i < 50; i++) {
    int got = f();
    if (got != want) {
      printf("FAIL %s: call %d returned %d, want %d\n", what, i, got, want);
      failures++;
      return;
    }
  }
  printf("ok %s\n", what);
}

static void *map_code(void *at, size_t len) {
  void *p = mmap(at, len, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED : 0), -1, 0);
  if (p == MAP_FAILED) {
    printf("FAIL mmap of %zu bytes of code\n", len);
    return NULL;
  }
  return p;
}

int main(void) {
  /* page 0: the loop, and a callee on the same page; page 1: a callee */
  uint32_t *code = map_code(NULL, 2 * PAGE);
  if (!code)
    return 1;
  uint32_t *near = code + 64, *far = code + PAGE / 4;
  loop_fn f = (loop_fn)(void *)code;

  put_loop(code, near);
  put_callee(near, 3);
  sync_code(code, PAGE);
  expect(f, 300, "same-page callee");
  put_callee(near, 7);
  sync_code(near, 8);
  expect(f, 700, "same-page callee rewritten");

  put_loop(code, far);
  put_callee(far, 4);
  sync_code(code, 2 * PAGE);
  expect(f, 400, "callee on the next page");
  put_callee(far, 9);
  sync_code(far, 8);
  expect(f, 900, "next-page callee rewritten");

  /* the callee's page unmapped, then mapped again with other code */
  if (munmap(far, PAGE) != 0) {
    printf("FAIL munmap\n");
    return 1;
  }
  if (map_code(far, PAGE) != far)
    return 1;
  put_callee(far, 11);
  sync_code(far, 8);
  expect(f, 1100, "callee's page mapped again");

  /* no execute permission while it is rewritten, then back */
  if (mprotect(far, PAGE, PROT_READ | PROT_WRITE) != 0) {
    printf("FAIL mprotect RW\n");
    return 1;
  }
  put_callee(far, 13);
  if (mprotect(far, PAGE, PROT_READ | PROT_EXEC) != 0) {
    printf("FAIL mprotect RX\n");
    return 1;
  }
  sync_code(far, 8);
  expect(f, 1300, "callee rewritten while not executable");

  /* the loop's own page replaced: loop and callee on it */
  if (munmap(code, PAGE) != 0 || map_code(code, PAGE) != code)
    return 1;
  put_loop(code, near);
  put_callee(near, 17);
  sync_code(code, PAGE);
  expect(f, 1700, "loop's page mapped again");
  return failures ? 1 : 0;
}
