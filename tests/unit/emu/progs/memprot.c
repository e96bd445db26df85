/* memprot.c — memory permission changes under `vmkit exec` (each mode is
 * one run; a correct program must never crash the emulator itself):
 *   shared       mmap(PROT_READ, MAP_SHARED) of a read-write file, then
 *                mprotect(PROT_READ|PROT_WRITE) and stores: they must land
 *                in the file; mprotect back to PROT_READ, and a read-only
 *                file refuses PROT_WRITE with EACCES, as on Linux.
 *                Prints "ok" lines, exits 0.
 *   brk          grows the heap, stores, shrinks it, then stores to the
 *                freed page: the program must die of SIGSEGV (emulated).
 *   munmap       maps, stores, unmaps, stores again: SIGSEGV.
 *   mprotect     maps, stores, mprotect(PROT_READ), stores again: SIGSEGV.
 * Single-threaded. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int fail(const char *what) {
  printf("FAIL %s: %s\n", what, strerror(errno));
  return 1;
}

static int shared(void) {
  char path[] = "/tmp/vmk-memprot-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0)
    return fail("mkstemp");
  char buf[8192];
  memset(buf, '.', sizeof buf);
  if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
    return fail("write");
  volatile char *p = mmap(NULL, sizeof buf, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    return fail("mmap");
  if (p[0] != '.')
    return fail("read through the mapping");
  if (mprotect((void *)p, sizeof buf, PROT_READ | PROT_WRITE) != 0)
    return fail("mprotect rw");
  p[0] = 'A';
  p[4096] = 'B';
  if (msync((void *)p, sizeof buf, MS_SYNC) != 0)
    return fail("msync");
  if (pread(fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf || buf[0] != 'A' ||
      buf[4096] != 'B')
    return fail("stores reach the file");
  printf("ok stores after mprotect(PROT_READ|PROT_WRITE) reach the file\n");
  if (mprotect((void *)p, sizeof buf, PROT_READ) != 0 || p[0] != 'A')
    return fail("mprotect back to read-only");
  if (mprotect((void *)p, sizeof buf, PROT_NONE) != 0 ||
      mprotect((void *)p, sizeof buf, PROT_WRITE) != 0)
    return fail("mprotect none, then write-only");
  p[1] = 'C'; /* writable implies readable on arm64 */
  if (p[1] != 'C' || pread(fd, buf, 2, 0) != 2 || buf[1] != 'C')
    return fail("store after PROT_NONE then PROT_WRITE");
  printf("ok PROT_NONE then PROT_WRITE stores reach the file\n");
  munmap((void *)p, sizeof buf);
  close(fd);

  fd = open(path, O_RDONLY);
  unlink(path);
  if (fd < 0)
    return fail("open read-only");
  p = mmap(NULL, sizeof buf, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    return fail("mmap read-only file");
  errno = 0;
  if (mprotect((void *)p, sizeof buf, PROT_READ | PROT_WRITE) == 0 ||
      errno != EACCES)
    return fail("PROT_WRITE on a read-only shared file must give EACCES");
  if (p[4096] != 'B')
    return fail("mapping still readable");
  printf("ok a read-only file refuses PROT_WRITE (EACCES), stays readable\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  if (!strcmp(argv[1], "shared"))
    return shared();
  volatile char *p;
  if (!strcmp(argv[1], "brk")) {
    char *b = sbrk(0);
    if (sbrk(3 * 4096) == (void *)-1)
      return fail("sbrk");
    p = (char *)(((unsigned long)b + 2 * 4096) & ~4095ul);
    p[0] = 1; /* the emulator's TLB now maps this page */
    if (brk(b) != 0)
      return fail("brk shrink");
  } else if (!strcmp(argv[1], "munmap") || !strcmp(argv[1], "mprotect")) {
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    if (p == MAP_FAILED)
      return fail("mmap");
    p[0] = 1;
    if (argv[1][1] == 'u' ? munmap((void *)p, 4096)
                          : mprotect((void *)p, 4096, PROT_READ))
      return fail(argv[1]);
  } else {
    return 2;
  }
  printf("storing to a page that is gone\n");
  fflush(stdout);
  p[0] = 2;
  printf("FAIL the store did not fault\n");
  return 1;
}
