/* mmaploop.c — `vmkit exec` must reuse address space that munmap freed:
 * maps and unmaps 16 MiB 20,000 times (312 GiB in all: more than the
 * emulated address space holds without reuse; the same defect showed as
 * ENOMEM after ~257,000 cycles of 1 MiB), then checks that a hole left
 * between two live mappings is found again by a mapping of its size.
 * Prints "ok" lines and exits 0; a failure prints FAIL and exits 1.
 * Single-threaded. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define MiB (1ul << 20)

int main(void) {
  for (long i = 0; i < 20000; i++) {
    char *p = mmap(NULL, 16 * MiB, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      printf("FAIL mmap cycle %ld: %s\n", i, strerror(errno));
      return 1;
    }
    p[i * 4096 % (16 * MiB)] = 1; /* the mapping is usable */
    if (munmap(p, 16 * MiB) != 0) {
      printf("FAIL munmap cycle %ld: %s\n", i, strerror(errno));
      return 1;
    }
  }
  printf("ok 20000 mmap/munmap cycles of 16 MiB\n");

  /* a, b, c side by side; freeing b leaves a hole that fits exactly */
  char *m[3];
  for (int i = 0; i < 3; i++) {
    m[i] = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m[i] == MAP_FAILED) {
      printf("FAIL mmap %d\n", i);
      return 1;
    }
    memset(m[i], 'a' + i, 4 * MiB);
  }
  if (munmap(m[1], 4 * MiB) != 0) {
    printf("FAIL munmap hole\n");
    return 1;
  }
  char *h = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (h == MAP_FAILED) {
    printf("FAIL mmap into hole\n");
    return 1;
  }
  /* Linux allocates top-down and reuses the freed range first. */
  if (h != m[1]) {
    printf("FAIL the freed hole was not reused (%p, hole at %p)\n", (void *)h,
           (void *)m[1]);
    return 1;
  }
  if (m[0][0] != 'a' || m[2][4 * MiB - 1] != 'c' || h[0] != 0) {
    printf("FAIL neighbours changed\n");
    return 1;
  }
  printf("ok a freed hole is reused\n");
  return 0;
}
