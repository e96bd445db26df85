/* target.c — arm64 side of the emufp QEMU cross-check (a developer tool,
 * built with aarch64-linux-gnu-gcc -static and run under qemu-aarch64).
 * Reads records {insn, fpcr, nzcv, x0-x7, v0-v7} from stdin, runs each
 * instruction once on that state and writes {status, fpsr, nzcv, x0-x7,
 * v0-v7} to stdout. status 1 = SIGILL. Single-threaded.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct st {
  uint64_t fpcr, nzcv, fpsr, code; /* 0, 8, 16, 24 */
  uint64_t x[8];                   /* 32 */
  uint8_t v[8][16];                /* 96 */
};
#define MEM_VA 0x10000000ul
#define MEM_SIZE 8192
struct rec_in {
  uint32_t insn, fpcr, nzcv, memseed;
  uint32_t fpsr, pad;
  uint64_t x[8];
  uint8_t v[8][16];
};
struct rec_out {
  uint32_t status, fpsr, nzcv, memhash;
  uint64_t x[8];
  uint8_t v[8][16];
};

void run_one(struct st *s);
__asm__(".global run_one\n"
        "run_one:\n"
        "stp x29, x30, [sp, #-32]!\n"
        "str x9, [sp, #16]\n"
        "mov x9, x0\n"
        "ldr x10, [x9, #0]\n msr fpcr, x10\n"
        "ldr x10, [x9, #16]\n msr fpsr, x10\n"
        "ldr x10, [x9, #8]\n msr nzcv, x10\n"
        "add x10, x9, #96\n"
        "ld1 {v0.16b-v3.16b}, [x10], #64\n"
        "ld1 {v4.16b-v7.16b}, [x10]\n"
        "ldp x0, x1, [x9, #32]\n ldp x2, x3, [x9, #48]\n"
        "ldp x4, x5, [x9, #64]\n ldp x6, x7, [x9, #80]\n"
        "ldr x10, [x9, #24]\n blr x10\n"
        "stp x0, x1, [x9, #32]\n stp x2, x3, [x9, #48]\n"
        "stp x4, x5, [x9, #64]\n stp x6, x7, [x9, #80]\n"
        "mrs x10, fpsr\n str x10, [x9, #16]\n"
        "mrs x10, nzcv\n str x10, [x9, #8]\n"
        "add x10, x9, #96\n"
        "st1 {v0.16b-v3.16b}, [x10], #64\n"
        "st1 {v4.16b-v7.16b}, [x10]\n"
        "msr fpcr, xzr\n"
        "ldr x9, [sp, #16]\n"
        "ldp x29, x30, [sp], #32\n"
        "ret\n");

/* Same generator and hash as host.c. */
static void mem_fill(uint8_t *m, uint32_t seed) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (unsigned i = 0; i < MEM_SIZE; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    memcpy(m + i, &x, 8);
  }
}
static uint32_t mem_hash(const uint8_t *m) {
  uint32_t h = 2166136261u;
  for (unsigned i = 0; i < MEM_SIZE; i++)
    h = (h ^ m[i]) * 16777619u;
  return h;
}

static sigjmp_buf jb;
static void on_sig(int sig) { siglongjmp(jb, sig); }

static int readall(void *p, size_t n) {
  uint8_t *b = p;
  while (n) {
    ssize_t r = read(0, b, n);
    if (r <= 0)
      return -1;
    b += r, n -= (size_t)r;
  }
  return 0;
}

int main(void) {
  uint32_t *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint8_t *mem = mmap((void *)MEM_VA, MEM_SIZE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  signal(SIGILL, on_sig);
  signal(SIGSEGV, on_sig);
  signal(SIGBUS, on_sig);
  struct rec_in ri;
  unsigned slot = 0;
  while (readall(&ri, sizeof ri) == 0) {
    static struct st s;
    struct rec_out ro;
    memset(&ro, 0, sizeof ro);
    /* a fresh slot each time so no stale translation is reused */
    uint32_t *c = code + (slot++ % 512) * 2;
    c[0] = ri.insn;
    c[1] = 0xd65f03c0; /* ret */
    __builtin___clear_cache((char *)c, (char *)(c + 2));
    s.fpcr = ri.fpcr;
    s.nzcv = ri.nzcv;
    s.fpsr = ri.fpsr;
    s.code = (uint64_t)c;
    memcpy(s.x, ri.x, sizeof s.x);
    memcpy(s.v, ri.v, sizeof s.v);
    mem_fill(mem, ri.memseed);
    int sig = sigsetjmp(jb, 1);
    if (sig == 0) {
      run_one(&s);
      ro.fpsr = (uint32_t)s.fpsr;
      ro.nzcv = (uint32_t)s.nzcv;
      memcpy(ro.x, s.x, sizeof s.x);
      memcpy(ro.v, s.v, sizeof s.v);
      ro.memhash = mem_hash(mem);
    } else {
      ro.status = sig == SIGILL ? 1 : 2;
      __asm__ volatile("msr fpcr, xzr");
    }
    if (write(1, &ro, sizeof ro) != sizeof ro)
      return 1;
  }
  return 0;
}
