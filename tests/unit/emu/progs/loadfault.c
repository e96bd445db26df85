/* loadfault.c — guest loads that must fault, and loads that must work,
 * under `vmkit exec` (the translator reads guest memory straight from the
 * host region and relies on the host's protections: a fault there must
 * still be the guest's, at the load's pc and address). Each load kind is
 * first run hot on a good address, so that it runs translated, then:
 *   ok           loads that must work: every kind, a page made PROT_NONE
 *                and readable again, a read-only file mapping (private
 *                and shared), the last bytes below 2^38. Prints "ok"
 *                lines, exits 0.
 *   handler      every KIND at every WHERE below with a SIGSEGV handler,
 *                which must see the load's address (si_addr and the
 *                sigcontext's fault_address; inside the access for a
 *                straddling one), SEGV_ACCERR or SEGV_MAPERR, the load's
 *                pc and its registers unchanged; it siglongjmps back and
 *                the program goes on. Prints "ok N faults ...", exits 0.
 *   raise        raise(SIGSEGV) with no handler: must die of it (vmkit's
 *                host fault handler must not swallow a sent SIGSEGV).
 *   sent         SIGSEGV and SIGBUS sent with raise() and kill() to a
 *                handler, which must see them as sent (SI_TKILL/SI_USER,
 *                this pid), then SIGSEGV ignored: the program goes on.
 *                Prints "ok sent", exits 0.
 *   WHERE KIND   one load of KIND (ldr ldrb ldrsw ldp ldrq ld1 ldpq post
 *                base) at WHERE: unmapped (never mapped), guard (a
 *                PROT_NONE page between two mapped ones), stale (a page
 *                read hot, then mprotect(PROT_NONE)), munmap (read hot,
 *                then unmapped), top (straddling 2^38), beyond (above
 *                2^38), kernel (0xffff...), straddle (across the end of a
 *                page into a guard page). Prints "expect pc=PC addr=ADDR"
 *                (the load's pc and address; "addr=?" for a straddling
 *                access), then loads: the program must die of SIGSEGV
 *                there (run_prog_fault.sh checks vmkit's report).
 * Single-threaded. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define SPACE (1ull << 38) /* vmkit's guest address space */
#define PAGE 4096ul

/* One load each, at a global label KIND_pc (the faulting pc), on fixed
 * registers (x9 the address, x10/x11 the results, both 0 before) so a
 * SIGSEGV handler can check that the faulting insn changed none. */
#define LOADFN(name, body)                                                     \
  extern const char name##_pc[];                                               \
  __attribute__((noinline)) static uint64_t name(const void *addr) {           \
    register uint64_t v __asm__("x10") = 0, w __asm__("x11") = 0;              \
    register const void *p __asm__("x9") = addr;                               \
    __asm__ volatile(".globl " #name "_pc\n" #name "_pc:\n" body               \
                     : "+&r"(v), "+&r"(w), "+r"(p)                             \
                     :                                                         \
                     : "memory", "v0", "v1");                                  \
    return v + w;                                                              \
  }
LOADFN(ldr, "ldr %0, [%2]")
LOADFN(ldrb, "ldrb %w0, [%2]")
LOADFN(ldrsw, "ldrsw %0, [%2]")
LOADFN(ldp, "ldp %0, %1, [%2]")
LOADFN(ldrq, "ldr q0, [%2]\n umov %0, v0.d[0]\n umov %1, v0.d[1]")
LOADFN(ld1, "ld1 {v0.16b}, [%2]\n umov %0, v0.d[0]\n umov %1, v0.d[1]")
LOADFN(ldpq, "ldp q0, q1, [%2]\n umov %0, v0.d[1]\n umov %1, v1.d[1]")
/* post-index writeback, and a load into its own base register */
LOADFN(post, "ldr %0, [%2], #8\n mov %1, %2")
LOADFN(base, "mov %1, %2\n ldr %1, [%1]")

static const struct {
  const char *name;
  uint64_t (*fn)(const void *);
  const char *pc;
  unsigned len; /* bytes it reads */
} kinds[] = {
    {"ldr", ldr, ldr_pc, 8},        {"ldrb", ldrb, ldrb_pc, 1},
    {"ldrsw", ldrsw, ldrsw_pc, 4},  {"ldp", ldp, ldp_pc, 16},
    {"ldrq", ldrq, ldrq_pc, 16},    {"ld1", ld1, ld1_pc, 16},
    {"ldpq", ldpq, ldpq_pc, 32},    {"post", post, post_pc, 8},
    {"base", base, base_pc + 4, 8},
};

static void die(const char *what) {
  printf("FAIL %s\n", what);
  exit(1);
}

static uint8_t *map(size_t len, int prot) {
  void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    die("mmap");
  return p;
}

/* Runs fn hot on good memory so the load is translated. */
static uint64_t warm(uint64_t (*fn)(const void *), const void *good) {
  uint64_t s = 0;
  for (int i = 0; i < 5000; i++)
    s += fn(good);
  return s;
}

/* The value each kind reads from 32 bytes of pattern at p (plain C). */
static uint64_t expect_of(unsigned k, const uint8_t *p) {
  uint64_t a, b, c;
  memcpy(&a, p, 8);
  memcpy(&b, p + 8, 8);
  memcpy(&c, p + 24, 8);
  int32_t sw;
  memcpy(&sw, p, 4);
  switch (k) {
  case 0:
    return a;
  case 1:
    return p[0];
  case 2:
    return (uint64_t)(int64_t)sw;
  case 3:
  case 4:
  case 5:
    return a + b;
  case 6:
    return b + c;
  case 7:
    return a + (uint64_t)(uintptr_t)p + 8;
  default:
    return a + 0; /* base: w = the loaded value, v = 0 */
  }
}

static void check_all(const char *where, const uint8_t *p) {
  for (unsigned k = 0; k < sizeof kinds / sizeof *kinds; k++) {
    uint64_t got = kinds[k].fn(p), want = expect_of(k, p);
    if (got != want) {
      printf("FAIL %s at %s: %#llx, expected %#llx\n", kinds[k].name, where,
             (unsigned long long)got, (unsigned long long)want);
      exit(1);
    }
  }
}

static void fill(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(seed + i * 37 + (i >> 3));
}

static int ok(void) {
  uint8_t *a = map(2 * PAGE, PROT_READ | PROT_WRITE);
  fill(a, 2 * PAGE, 1);
  for (int i = 0; i < 2000; i++)
    check_all("anonymous memory", a + (i % 64) * 61);
  printf("ok every load kind, hot\n");
  /* PROT_NONE and back: readable again, contents kept */
  if (mprotect(a, PAGE, PROT_NONE) || mprotect(a, PAGE, PROT_READ))
    die("mprotect");
  check_all("a page made readable again", a + 100);
  if (mprotect(a, PAGE, PROT_NONE) || mprotect(a, PAGE, PROT_WRITE))
    die("mprotect write-only");
  check_all("a write-only (so readable) page", a + 200);
  printf("ok loads after PROT_NONE then PROT_READ / PROT_WRITE\n");
  /* a file opened read-only, mapped private and shared */
  char path[] = "/tmp/vmk-loadfault-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0)
    die("mkstemp");
  if (write(fd, a + PAGE, PAGE) != (ssize_t)PAGE)
    die("write");
  close(fd);
  fd = open(path, O_RDONLY);
  unlink(path);
  if (fd < 0)
    die("open");
  const int fl[2] = {MAP_PRIVATE, MAP_SHARED};
  for (int i = 0; i < 2; i++) {
    uint8_t *f = mmap(NULL, PAGE, PROT_READ, fl[i], fd, 0);
    if (f == MAP_FAILED)
      die("mmap of the file");
    for (int j = 0; j < 100; j++)
      check_all("a read-only file mapping", f + 8 * j);
    if (memcmp(f, a + PAGE, PAGE))
      die("the file mapping's contents");
    munmap(f, PAGE);
  }
  close(fd);
  printf("ok loads from a read-only file, mapped private and shared\n");
  /* the last bytes below 2^38 */
  uint8_t *t = mmap((void *)(SPACE - PAGE), PAGE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (t != (uint8_t *)(SPACE - PAGE))
    die("mmap below 2^38");
  fill(t, PAGE, 9);
  for (unsigned k = 0; k < sizeof kinds / sizeof *kinds; k++)
    for (int j = 0; j < 100; j++) {
      const uint8_t *p = t + PAGE - 32; /* the last 32 bytes */
      if (kinds[k].fn(p) != expect_of(k, p))
        die("a load of the last bytes below 2^38");
    }
  printf("ok loads of the last bytes below 2^38\n");
  return 0;
}

/* Sets up WHERE for a load of kind k (warmed up first): the address to
 * load from, and whether the access straddles into the faulting page.
 * False for an unknown WHERE or a byte asked to straddle. */
static bool setup(const char *w, unsigned k, uintptr_t *addr, bool *straddles) {
  uint8_t *g = map(3 * PAGE, PROT_READ | PROT_WRITE);
  fill(g, 3 * PAGE, 3);
  warm(kinds[k].fn, g + 64);
  *straddles = false;
  if (strcmp(w, "unmapped") == 0) {
    *addr = 0x100;
  } else if (strcmp(w, "guard") == 0) {
    if (mprotect(g + PAGE, PAGE, PROT_NONE))
      die("mprotect");
    *addr = (uintptr_t)g + PAGE + 40;
  } else if (strcmp(w, "stale") == 0) {
    warm(kinds[k].fn, g + PAGE + 40);
    if (mprotect(g + PAGE, PAGE, PROT_NONE))
      die("mprotect");
    *addr = (uintptr_t)g + PAGE + 40;
  } else if (strcmp(w, "munmap") == 0) {
    warm(kinds[k].fn, g + PAGE + 40);
    if (munmap(g + PAGE, PAGE))
      die("munmap");
    *addr = (uintptr_t)g + PAGE + 40;
  } else if (strcmp(w, "xonly") == 0) {
    warm(kinds[k].fn, g + PAGE + 40);
    if (mprotect(g + PAGE, PAGE, PROT_EXEC))
      die("mprotect");
    *addr = (uintptr_t)g + PAGE + 40;
  } else if (strcmp(w, "straddle") == 0) {
    if (mprotect(g + PAGE, PAGE, PROT_NONE))
      die("mprotect");
    *addr = (uintptr_t)g + PAGE - kinds[k].len / 2;
    *straddles = true;
  } else if (strcmp(w, "top") == 0) {
    uint8_t *t = mmap((void *)(SPACE - PAGE), PAGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (t != (uint8_t *)(SPACE - PAGE))
      die("mmap below 2^38");
    warm(kinds[k].fn, t + PAGE - 32);
    *addr = SPACE - kinds[k].len / 2;
    *straddles = true;
  } else if (strcmp(w, "beyond") == 0) {
    *addr = SPACE + 0x1000;
  } else if (strcmp(w, "kernel") == 0) {
    *addr = 0xffff000000001000ull;
  } else {
    return false;
  }
  return !(*straddles && kinds[k].len == 1); /* a byte cannot straddle */
}

static sigjmp_buf back;
static volatile uint64_t seen_addr, seen_fault, seen_pc, seen_x[3];
static volatile int seen_code;

static void on_segv(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  (void)sig;
  seen_addr = (uint64_t)(uintptr_t)si->si_addr;
  seen_code = si->si_code;
  seen_fault = uc->uc_mcontext.fault_address;
  seen_pc = uc->uc_mcontext.pc;
  for (int i = 0; i < 3; i++)
    seen_x[i] = uc->uc_mcontext.regs[9 + i];
  siglongjmp(back, 1);
}

/* SEGV_ACCERR for a mapped page the guest may not read, else
 * SEGV_MAPERR. */
static int want_code(const char *where) {
  return strcmp(where, "guard") == 0 || strcmp(where, "stale") == 0 ||
                 strcmp(where, "straddle") == 0 || strcmp(where, "xonly") == 0
             ? SEGV_ACCERR
             : SEGV_MAPERR;
}

/* Every kind at every WHERE with a SIGSEGV handler: it must run with
 * si_addr and the sigcontext's fault_address the load's address, pc the
 * load's, x9-x11 as before the load (the base not written back, no
 * result), and the program continues after siglongjmp. */
static int handler(void) {
  static const char *const wheres[] = {
      "unmapped", "guard", "stale", "munmap", "straddle", "top", "beyond",
      "kernel", "xonly" /* last: it turns the direct loads off */};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  unsigned n = 0;
  for (unsigned wi = 0; wi < sizeof wheres / sizeof *wheres; wi++)
    for (unsigned k = 0; k < sizeof kinds / sizeof *kinds; k++) {
      uintptr_t addr;
      bool straddles;
      if (!setup(wheres[wi], k, &addr, &straddles))
        continue;
      if (sigsetjmp(back, 1) == 0) {
        kinds[k].fn((const void *)addr);
        printf("FAIL %s %s: no fault\n", wheres[wi], kinds[k].name);
        continue;
      }
      uint64_t x11 = strcmp(kinds[k].name, "base") == 0 ? addr : 0;
      bool addr_ok = straddles
                         ? seen_addr > addr && seen_addr < addr + kinds[k].len
                         : seen_addr == addr;
      if (!addr_ok || seen_fault != seen_addr ||
          seen_pc != (uint64_t)(uintptr_t)kinds[k].pc || seen_x[0] != addr ||
          seen_x[1] != 0 || seen_x[2] != x11 ||
          seen_code != want_code(wheres[wi]))
        printf("FAIL %s %s: si_addr %#llx fault_address %#llx (load at "
               "%#llx) code %d, pc %#llx (load at %#llx), x9-x11 %#llx "
               "%#llx %#llx\n",
               wheres[wi], kinds[k].name, (unsigned long long)seen_addr,
               (unsigned long long)seen_fault, (unsigned long long)addr,
               seen_code, (unsigned long long)seen_pc,
               (unsigned long long)(uintptr_t)kinds[k].pc,
               (unsigned long long)seen_x[0], (unsigned long long)seen_x[1],
               (unsigned long long)seen_x[2]);
      else
        n++;
    }
  printf("ok %u faults seen by the handler\n", n);
  return 0;
}

static volatile int sent_sig, sent_code, sent_pid;

static void on_sent(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  sent_sig = sig;
  sent_code = si->si_code;
  sent_pid = si->si_pid;
}

static int sent(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sent;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  int bad = 0;
  raise(SIGSEGV);
  if (sent_sig != SIGSEGV || sent_code != SI_TKILL || sent_pid != getpid()) {
    printf("FAIL raise(SIGSEGV): sig %d code %d pid %d\n", sent_sig, sent_code,
           sent_pid);
    bad = 1;
  }
  sent_sig = 0;
  kill(getpid(), SIGBUS);
  if (sent_sig != SIGBUS || sent_code != SI_USER || sent_pid != getpid()) {
    printf("FAIL kill(SIGBUS): sig %d code %d pid %d\n", sent_sig, sent_code,
           sent_pid);
    bad = 1;
  }
  signal(SIGSEGV, SIG_IGN);
  raise(SIGSEGV); /* ignored: a sent signal, unlike a fault, is dropped */
  if (!bad)
    printf("ok sent\n");
  return bad;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "ok") == 0)
    return ok();
  if (argc == 2 && strcmp(argv[1], "handler") == 0)
    return handler();
  if (argc == 2 && strcmp(argv[1], "raise") == 0) {
    raise(SIGSEGV); /* no handler: the program dies of it */
    printf("FAIL survived raise(SIGSEGV)\n");
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "sent") == 0)
    return sent();
  if (argc != 3)
    return 2;
  unsigned k = 0;
  while (k < sizeof kinds / sizeof *kinds && strcmp(kinds[k].name, argv[2]))
    k++;
  if (k == sizeof kinds / sizeof *kinds)
    return 2;
  uintptr_t addr;
  bool straddles;
  if (!setup(argv[1], k, &addr, &straddles))
    return 2;
  if (straddles)
    printf("expect pc=%#lx addr=?\n", (unsigned long)kinds[k].pc);
  else
    printf("expect pc=%#lx addr=%#lx\n", (unsigned long)kinds[k].pc,
           (unsigned long)addr);
  fflush(stdout);
  uint64_t v = kinds[k].fn((const void *)addr);
  printf("FAIL the load at %#lx did not fault (read %#llx)\n",
         (unsigned long)addr, (unsigned long long)v);
  return 1;
}
