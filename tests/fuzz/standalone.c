/* standalone.c — runs a fuzz target without libFuzzer: every file given
 * (or every file in a given folder), then -runs=N pseudo-random inputs from
 * -seed=S (xorshift; deterministic). Used for the 'fuzz' test suite's smoke
 * run and to replay crashes with any compiler. Single-threaded. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long files_run;

static void run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(1);
  }
  static uint8_t buf[1 << 20];
  size_t n = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  LLVMFuzzerTestOneInput(buf, n);
  files_run++;
}

static void run_path(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) {
    perror(path);
    exit(1);
  }
  if (!S_ISDIR(st.st_mode)) {
    run_file(path);
    return;
  }
  DIR *d = opendir(path);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
    run_file(p);
  }
  if (d)
    closedir(d);
}

int main(int argc, char **argv) {
  unsigned long runs = 0, seed = 1;
  for (int i = 1; i < argc; i++) {
    if (!strncmp(argv[i], "-runs=", 6))
      runs = strtoul(argv[i] + 6, NULL, 0);
    else if (!strncmp(argv[i], "-seed=", 6))
      seed = strtoul(argv[i] + 6, NULL, 0);
    else {
      run_path(argv[i]);
    }
  }
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  static uint8_t buf[8192];
  for (unsigned long r = 0; r < runs; r++) {
    size_t n = 0;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t len = (size_t)(x % sizeof(buf));
    while (n < len) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      buf[n++] = (uint8_t)(x >> 24);
    }
    /* Make "driver init" and "blk request" ops common enough that random
     * programs reach the queues. */
    for (size_t i = 1; i + 8 < n; i += 9) {
      if ((buf[i] & 3) == 0)
        buf[i] = 5;
      else if ((buf[i] & 3) == 1)
        buf[i] = 11;
    }
    LLVMFuzzerTestOneInput(buf, n);
  }
  printf("fuzz smoke: %lu inputs from files, %lu generated, no crash\n",
         files_run, runs);
  return 0;
}
