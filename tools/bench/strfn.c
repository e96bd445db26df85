/* strfn.c — the string-function benchmark program of bench/strings.sh:
 * the C library's strlen, memchr, strchr, strcmp, memcmp, memcpy and
 * memset (on arm64 glibc's AdvSIMD versions: CMEQ, UMAXP, SHRN, FMOV,
 * DUP, BIT, ADDP...) on buffers of several sizes, each function timed on
 * its own (CPU time, inside the program) and printing a checksum of its
 * results, so a wrong emulation shows as a differing checksum.
 * Single-threaded.
 *
 * usage: strfn [-s SCALE] [-k NAME,...]
 * Output: one line per function: "<name> <seconds> <checksum hex>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* the calls go through volatile pointers: the compiler neither inlines
 * nor folds them, so the library's code is what runs */
static size_t (*volatile p_strlen)(const char *) = strlen;
static void *(*volatile p_memchr)(const void *, int, size_t) = memchr;
static char *(*volatile p_strchr)(const char *, int) = strchr;
static int (*volatile p_strcmp)(const char *, const char *) = strcmp;
static int (*volatile p_memcmp)(const void *, const void *, size_t) = memcmp;
static void *(*volatile p_memcpy)(void *, const void *, size_t) = memcpy;
static void *(*volatile p_memset)(void *, int, size_t) = memset;

/* lengths from a few bytes to beyond the L1 cache's reach of one call */
static const size_t sizes[] = {5, 15, 31, 64, 100, 250, 1000, 4000, 16000};
#define NSIZES (sizeof sizes / sizeof *sizes)
#define BUF 16384

static char *buf_a, *buf_b;

/* iterations for length n: about the same bytes for every size */
static unsigned iters(size_t n, unsigned scale) {
  return (unsigned)(scale * 50000000u / (n + 32));
}

static uint64_t mix(uint64_t h, uint64_t v) {
  return (h ^ v) * 0x100000001b3ull;
}

/* buf_a/buf_b: printable text, NUL at n, starting at offset off (so the
 * functions see every alignment) */
static void fill(size_t n, size_t off) {
  for (size_t i = 0; i < n + off + 64 && i < BUF + 64; i++)
    buf_a[i] = buf_b[i] = (char)('a' + (i * 7 + n) % 26);
  buf_a[off + n] = buf_b[off + n] = 0;
}

static uint64_t k_strlen(unsigned scale) {
  uint64_t h = 0;
  for (size_t s = 0; s < NSIZES; s++)
    for (size_t off = 0; off < 4; off++) {
      fill(sizes[s], off * 5);
      for (unsigned i = iters(sizes[s], scale) / 4; i; i--)
        h = mix(h, p_strlen(buf_a + off * 5));
    }
  return h;
}

static uint64_t k_memchr(unsigned scale) {
  uint64_t h = 0;
  for (size_t s = 0; s < NSIZES; s++)
    for (size_t off = 0; off < 4; off++) {
      size_t n = sizes[s];
      fill(n, off * 3);
      buf_a[off * 3 + n - 1] = '#';
      for (unsigned i = iters(n, scale) / 4; i; i--) {
        const char *p = p_memchr(buf_a + off * 3, '#', n);
        h = mix(h, p ? (uint64_t)(p - buf_a) : 0);
        h = mix(h, p_memchr(buf_a + off * 3, '!', n) != NULL);
      }
    }
  return h;
}

static uint64_t k_strchr(unsigned scale) {
  uint64_t h = 0;
  for (size_t s = 0; s < NSIZES; s++)
    for (size_t off = 0; off < 4; off++) {
      size_t n = sizes[s];
      fill(n, off * 3);
      buf_a[off * 3 + n - 1] = '#';
      for (unsigned i = iters(n, scale) / 4; i; i--) {
        const char *p = p_strchr(buf_a + off * 3, '#');
        h = mix(h, p ? (uint64_t)(p - buf_a) : 0);
        h = mix(h, p_strchr(buf_a + off * 3, '!') != NULL);
      }
    }
  return h;
}

static uint64_t k_strcmp(unsigned scale) {
  uint64_t h = 0;
  for (size_t s = 0; s < NSIZES; s++)
    for (size_t off = 0; off < 4; off++) {
      size_t n = sizes[s];
      fill(n, 0);
      memmove(buf_b + off, buf_b, n + 1);
      for (unsigned i = iters(n, scale) / 4; i; i--) {
        int r = p_strcmp(buf_a, buf_b + off);
        h = mix(h, (uint64_t)((r > 0) - (r < 0) + 2));
        buf_b[off + n / 2] ^= 1; /* differ in the middle every other time */
      }
    }
  return h;
}

static uint64_t k_memcmp(unsigned scale) {
  uint64_t h = 0;
  for (size_t s = 0; s < NSIZES; s++)
    for (size_t off = 0; off < 4; off++) {
      size_t n = sizes[s];
      fill(n, 0);
      memmove(buf_b + off, buf_b, n);
      for (unsigned i = iters(n, scale) / 4; i; i--) {
        int r = p_memcmp(buf_a, buf_b + off, n);
        h = mix(h, (uint64_t)((r > 0) - (r < 0) + 2));
        buf_b[off + n - 1 - (i & 3) % n] ^= 2;
      }
    }
  return h;
}

static uint64_t k_memcpy(unsigned scale) {
  uint64_t h = 0;
  for (size_t s = 0; s < NSIZES; s++)
    for (size_t off = 0; off < 4; off++) {
      size_t n = sizes[s];
      fill(n, 0);
      for (unsigned i = iters(n, scale) / 4; i; i--) {
        p_memcpy(buf_b + off, buf_a + (i & 7), n);
        h = mix(h, (uint8_t)buf_b[off + n - 1 - (i % n)]);
      }
    }
  return h;
}

static uint64_t k_memset(unsigned scale) {
  uint64_t h = 0;
  for (size_t s = 0; s < NSIZES; s++)
    for (size_t off = 0; off < 4; off++) {
      size_t n = sizes[s];
      for (unsigned i = iters(n, scale) / 4; i; i--) {
        p_memset(buf_b + off + (i & 7), (int)(i & 0xff), n);
        h = mix(h, (uint8_t)buf_b[off + (i & 7) + (i % n)]);
      }
    }
  return h;
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    uint64_t (*fn)(unsigned);
  } ks[] = {{"strlen", k_strlen}, {"memchr", k_memchr}, {"strchr", k_strchr},
            {"strcmp", k_strcmp}, {"memcmp", k_memcmp}, {"memcpy", k_memcpy},
            {"memset", k_memset}};
  unsigned scale = 1;
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-s") && i + 1 < argc) {
      scale = (unsigned)atoi(argv[++i]);
    } else if (!strcmp(argv[i], "-k") && i + 1 < argc) {
      only = argv[++i];
    } else {
      fprintf(stderr, "usage: strfn [-s SCALE] [-k NAME,...]\n");
      return 2;
    }
  }
  if (scale < 1 || scale > 1000) {
    fprintf(stderr, "strfn: the scale must be 1 to 1000\n");
    return 2;
  }
  buf_a = calloc(1, BUF + 128);
  buf_b = calloc(1, BUF + 128);
  if (!buf_a || !buf_b)
    return 1;
  for (size_t k = 0; k < sizeof ks / sizeof *ks; k++) {
    if (only && !strstr(only, ks[k].name))
      continue;
    double t = now();
    uint64_t h = ks[k].fn(scale);
    printf("%s %.3f %016llx\n", ks[k].name, now() - t, (unsigned long long)h);
    fflush(stdout);
  }
  return 0;
}
