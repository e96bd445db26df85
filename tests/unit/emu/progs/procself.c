/* procself.c — under `vmkit exec` a program's /proc/self is its own, never
 * the emulator's: /proc/self/mem (by every path that reaches it) must not
 * read or write host memory, /proc/self/maps lists the program's own
 * mappings, /proc/self/auxv is its auxiliary vector, /proc/self/exe is the
 * program. Prints "ok" lines and exits 0, or FAIL lines and exits 1.
 * Single-threaded (one forked child). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
static void check(int ok, const char *what) {
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok)
    failures++;
}

static volatile uint64_t secret = 0x5ec7e75ec7e7ull;

struct range {
  uint64_t lo, hi;
  char perm[5];
  char name[256];
};
static struct range ranges[512];
static int nranges;

static void read_maps(const char *path) {
  nranges = 0;
  FILE *f = fopen(path, "r");
  if (!f)
    return;
  char line[512];
  while (fgets(line, sizeof line, f) && nranges < 512) {
    struct range *r = &ranges[nranges];
    r->name[0] = 0;
    if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %255s", &r->lo, &r->hi, r->perm,
               r->name) >= 3)
      nranges++;
  }
  fclose(f);
}
static struct range *find(uint64_t a) {
  for (int i = 0; i < nranges; i++)
    if (ranges[i].lo <= a && a < ranges[i].hi)
      return &ranges[i];
  return NULL;
}

/* Every way of reaching a mem file: none may read or write anything but
 * the program's own memory. Reads host ELF headers from every range the
 * maps list (the emulator's own image, if the maps are the host's). */
static void try_mem(int dfd, const char *path) {
  char what[PATH_MAX + 128];
  int fd = openat(dfd, path, O_RDWR);
  if (fd < 0)
    fd = openat(dfd, path, O_RDONLY);
  if (fd < 0) {
    snprintf(what, sizeof what, "%s refused (%s)", path, strerror(errno));
    check(errno == EACCES, what);
    return;
  }
  /* opened: it must be a view of this program's memory only */
  uint64_t v = 0;
  ssize_t n = pread(fd, &v, 8, (off_t)(uintptr_t)&secret);
  snprintf(what, sizeof what, "%s reads the program's own memory", path);
  check(n == 8 && v == secret, what);
  int leaks = 0;
  for (int i = 0; i < nranges; i++) {
    unsigned char h[20];
    if (pread(fd, h, sizeof h, (off_t)ranges[i].lo) == (ssize_t)sizeof h &&
        !memcmp(h, ELFMAG, SELFMAG) && h[18] != EM_AARCH64)
      leaks++;
  }
  snprintf(what, sizeof what, "%s shows no host ELF image", path);
  check(leaks == 0, what);
  uint64_t host = 0x7f0000000000ull;
  snprintf(what, sizeof what, "%s cannot write outside the program", path);
  check(pwrite(fd, &v, 8, (off_t)host) < 0, what);
  close(fd);
}

int main(int argc, char **argv) {
  (void)argc;
  char self[PATH_MAX], buf[PATH_MAX], path[PATH_MAX + 64];
  if (!realpath(argv[0], self))
    return 2;
  pid_t pid = getpid();

  /* maps: the program's own image, heap and stack, nothing else */
  read_maps("/proc/self/maps");
  check(nranges > 0, "/proc/self/maps lists something");
  struct range *r = find((uintptr_t)&secret);
  check(r && r->perm[0] == 'r' && r->perm[1] == 'w',
        "maps: a writable data range holds a global variable");
  r = find((uintptr_t)&main);
  check(r && r->perm[0] == 'r' && r->perm[2] == 'x',
        "maps: an executable range holds main");
  int local = 0;
  r = find((uintptr_t)&local);
  check(r && !strcmp(r->name, "[stack]"), "maps: [stack] holds a local");
  int foreign = 0;
  for (int i = 0; i < nranges; i++)
    if (ranges[i].name[0] == '/' && strcmp(ranges[i].name, self))
      foreign++;
  check(foreign == 0, "maps names no file but the program");

  /* auxv: the vector the program started with */
  int fd = open("/proc/self/auxv", O_RDONLY);
  uint64_t aux[128];
  ssize_t n = fd >= 0 ? read(fd, aux, sizeof aux) : -1;
  if (fd >= 0)
    close(fd);
  int seen = 0;
  for (ssize_t i = 0; i + 1 < n / 8 && aux[i] != AT_NULL; i += 2)
    if ((aux[i] == AT_ENTRY || aux[i] == AT_HWCAP || aux[i] == AT_RANDOM ||
         aux[i] == AT_PHDR) &&
        aux[i + 1] == getauxval(aux[i]))
      seen++;
  check(seen == 4,
        "/proc/self/auxv is the program's (entry, hwcap, random, phdr)");

  /* exe, by several names */
  const char *exes[] = {"/proc/self/exe", "/proc/self/../self/exe",
                        "/proc/thread-self/exe", "/proc/self/task/%d/exe",
                        "/proc/%d/exe"};
  for (size_t i = 0; i < sizeof exes / sizeof exes[0]; i++) {
    snprintf(path, sizeof path, exes[i], (int)pid);
    ssize_t k = readlink(path, buf, sizeof buf - 1);
    buf[k > 0 ? k : 0] = 0;
    char what[PATH_MAX + 128];
    snprintf(what, sizeof what, "readlink %s is the program", path);
    check(!strcmp(buf, self), what);
    unsigned char h[20] = {0};
    fd = open(path, O_RDONLY);
    if (fd >= 0) {
      n = read(fd, h, sizeof h);
      close(fd);
    }
    snprintf(what, sizeof what, "open %s reads an arm64 ELF", path);
    check(fd >= 0 && h[18] == EM_AARCH64, what);
  }
  struct stat s1, s2;
  check(stat("/proc/self/exe", &s1) == 0 && stat(self, &s2) == 0 &&
            s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev,
        "stat /proc/self/exe is the program");

  /* mem, by every path we can think of */
  const char *mems[] = {"/proc/self/mem",         "/proc/%d/mem",
                        "/proc/self/../self/mem", "/proc/thread-self/mem",
                        "/proc/self/task/%d/mem", "/proc/./self//mem"};
  for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++) {
    snprintf(path, sizeof path, mems[i], (int)pid);
    try_mem(AT_FDCWD, path);
  }
  /* through a symlink, relative to a /proc/self directory fd, /dev/fd */
  char link[64];
  snprintf(link, sizeof link, "/tmp/vmk-procself-%d", (int)pid);
  unlink(link);
  if (symlink("/proc/self/mem", link) == 0) {
    try_mem(AT_FDCWD, link);
    unlink(link);
  }
  int dfd = open("/proc/self", O_RDONLY | O_DIRECTORY);
  if (dfd >= 0)
    try_mem(dfd, "mem");
  snprintf(path, sizeof path, "/dev/fd/%d/mem", dfd);
  try_mem(AT_FDCWD, path);
  if (dfd >= 0)
    close(dfd);
  if (chdir("/proc/self") == 0) {
    try_mem(AT_FDCWD, "mem");
    fd = open("maps", O_RDONLY);
    check(fd >= 0, "maps relative to cwd /proc/self opens");
    if (fd >= 0)
      close(fd);
    chdir("/");
  }

  /* a forked child cannot open its parent's mem (no view of another
   * process is emulated: it must be refused) */
  pid_t c = fork();
  if (c == 0) {
    snprintf(path, sizeof path, "/proc/%d/mem", (int)getppid());
    fd = open(path, O_RDONLY);
    _exit(fd < 0 && errno == EACCES ? 0 : 1);
  }
  int st = -1;
  waitpid(c, &st, 0);
  check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "a child cannot open its parent's /proc/PID/mem");

  printf("%d failures\n", failures);
  return failures ? 1 : 0;
}
