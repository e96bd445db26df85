/* cpu.c — the CPU-bound benchmark program of bench/cpu.sh: five kernels,
 * each timed on its own (CLOCK_MONOTONIC, inside the program, so the
 * emulator's start-up is not counted) and each printing a checksum of its
 * results, so a wrong emulation shows as a differing checksum:
 *   int      integer arithmetic: multiply/xor/shift hashing, division, gcd
 *   chase    pointer chasing: a random cycle through an 8 MiB array
 *   branch   branchy code: a small bytecode interpreter and a quicksort
 *   fp       double precision: the n-body simulation
 *   simd     vectors: NEON intrinsics on arm64 (integer, and float on
 *            exact integer values), the same sums in plain C elsewhere
 * Built for arm64 (static) and natively with -ffp-contract=off, so every
 * build computes bit-identical results. Single-threaded.
 *
 * usage: cpu [-s SCALE] [-k KERNEL,...] [-w] [-m]
 *   -s  work multiplier (1)      -w  wall-clock time instead of CPU time
 *   -m  print "@begin <name>" before each kernel (for a host-side timer)
 * Output: one line per kernel: "<name> <seconds> <checksum hex>".
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __aarch64__
#include <arm_neon.h>
#endif

/* CPU time by default: the bench shares its host with other work, and a
 * kernel's CPU time is what an emulator's speed changes */
static clockid_t clock_id = CLOCK_PROCESS_CPUTIME_ID;

static double now(void) {
  struct timespec ts;
  clock_gettime(clock_id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: the one source of pseudo-random data */
static uint64_t rng_state;
static uint64_t rnd(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* ---- int ---- */

static uint64_t gcd(uint64_t a, uint64_t b) {
  while (b) {
    uint64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

static uint64_t k_int(unsigned scale) {
  uint64_t h = 0x12345678abcdefull, acc = 0;
  uint32_t w = 0x9abcdef1u;
  for (unsigned rep = 0; rep < 12 * scale; rep++) {
    for (uint32_t i = 0; i < 4000000; i++) {
      h ^= h >> 33;
      h *= 0xff51afd7ed558ccdull;
      h ^= h >> 29;
      h += i;
      w = w * 1664525u + 1013904223u;
      w ^= w << 7 | w >> 25;
      acc += (h >> (i & 31)) + (uint64_t)(w / ((i & 0xff) + 1));
      acc ^= (uint64_t)(int64_t)(int32_t)w % 1000003;
    }
    for (uint64_t i = 1; i < 200000; i++)
      acc += gcd(i * 2654435761u, (acc | 1) & 0xffffff);
  }
  return acc ^ h;
}

/* ---- chase ---- */

static uint64_t k_chase(unsigned scale) {
  const uint32_t n = 1u << 21; /* 2 Mi entries, 8 MiB */
  uint32_t *next = malloc((size_t)n * sizeof(*next));
  if (!next)
    return 0;
  for (uint32_t i = 0; i < n; i++)
    next[i] = i;
  /* Sattolo: one cycle through every entry */
  for (uint32_t i = n - 1; i > 0; i--) {
    uint32_t j = (uint32_t)(rnd() % i);
    uint32_t t = next[i];
    next[i] = next[j];
    next[j] = t;
  }
  uint64_t sum = 0;
  uint32_t p = 0;
  for (unsigned rep = 0; rep < scale; rep++)
    for (uint32_t i = 0; i < 3000000; i++) {
      p = next[p];
      sum += p ^ i;
    }
  free(next);
  return sum;
}

/* ---- branch ---- */

enum {
  OP_PUSH,
  OP_ADD,
  OP_SUB,
  OP_MUL,
  OP_DUP,
  OP_SWAP,
  OP_JNZ,
  OP_DEC,
  OP_XOR,
  OP_AND,
  OP_SHR,
  OP_OVER,
  OP_DROP,
  OP_HALT
};

/* a stack machine; the program runs a counted loop of mixed ops */
static uint64_t interp(const uint8_t *code, uint64_t n) {
  uint64_t st[16], *sp = st;
  const uint8_t *pc = code;
  *sp++ = 0; /* accumulator */
  *sp++ = n; /* counter */
  for (;;) {
    switch (*pc++) {
    case OP_PUSH:
      *sp++ = *pc++;
      break;
    case OP_ADD:
      sp--, sp[-1] += sp[0];
      break;
    case OP_SUB:
      sp--, sp[-1] -= sp[0];
      break;
    case OP_MUL:
      sp--, sp[-1] *= sp[0];
      break;
    case OP_XOR:
      sp--, sp[-1] ^= sp[0];
      break;
    case OP_AND:
      sp--, sp[-1] &= sp[0];
      break;
    case OP_SHR:
      sp--, sp[-1] >>= sp[0] & 63;
      break;
    case OP_DUP:
      sp[0] = sp[-1], sp++;
      break;
    case OP_OVER:
      sp[0] = sp[-2], sp++;
      break;
    case OP_DROP:
      sp--;
      break;
    case OP_SWAP: {
      uint64_t t = sp[-1];
      sp[-1] = sp[-2], sp[-2] = t;
      break;
    }
    case OP_DEC:
      sp[-1]--;
      break;
    case OP_JNZ: {
      int8_t off = (int8_t)*pc++;
      if (sp[-1])
        pc += off;
      break;
    }
    case OP_HALT:
    default:
      return sp[-2];
    }
  }
}

static void quicksort(uint32_t *a, long lo, long hi) {
  while (lo < hi) {
    uint32_t pivot = a[(lo + hi) / 2];
    long i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot)
        i++;
      while (a[j] > pivot)
        j--;
      if (i <= j) {
        uint32_t t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (j - lo < hi - i) {
      quicksort(a, lo, j);
      lo = i;
    } else {
      quicksort(a, i, hi);
      hi = j;
    }
  }
}

static uint64_t k_branch(unsigned scale) {
  /* stack: acc counter. loop: acc = ((acc ^ counter) * 3 + (counter&7)) ...*/
  static const uint8_t prog[] = {/* 0 */ OP_SWAP, /* counter acc */
                                 OP_OVER,         /* counter acc counter */
                                 OP_XOR,          /* counter acc^counter */
                                 OP_PUSH,
                                 3,
                                 OP_MUL, /* counter (acc^c)*3 */
                                 OP_OVER,
                                 OP_PUSH,
                                 7,
                                 OP_AND,
                                 OP_ADD, /* + (c & 7) */
                                 OP_DUP,
                                 OP_PUSH,
                                 5,
                                 OP_SHR,
                                 OP_XOR,  /* x ^= x >> 5 */
                                 OP_SWAP, /* acc counter */
                                 OP_DEC,  /* acc counter-1 */
                                 OP_JNZ,
                                 (uint8_t)-20, /* back to 0 */
                                 OP_HALT};
  uint64_t sum = 0;
  const long n = 200000;
  uint32_t *a = malloc(n * sizeof(*a));
  if (!a)
    return 0;
  for (unsigned rep = 0; rep < scale; rep++) {
    sum += interp(prog, 1500000 + rep);
    for (long i = 0; i < n; i++)
      a[i] = (uint32_t)rnd();
    quicksort(a, 0, n - 1);
    for (long i = 0; i < n; i += 97)
      sum = sum * 31 + a[i];
    for (long i = 1; i < n; i++)
      if (a[i - 1] > a[i])
        sum = 0; /* not sorted: a checksum that cannot match */
  }
  free(a);
  return sum;
}

/* ---- fp ---- */

struct body {
  double x, y, z, vx, vy, vz, m;
};

static double energy(const struct body *b, int n) {
  double e = 0;
  for (int i = 0; i < n; i++) {
    e += 0.5 * b[i].m *
         (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
    for (int j = i + 1; j < n; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      e -= b[i].m * b[j].m / sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

static uint64_t k_fp(unsigned scale) {
  const double pi = 3.141592653589793, sm = 4 * pi * pi, dpy = 365.24;
  struct body b[5] = {
      {0, 0, 0, 0, 0, 0, sm},
      {4.84143144246472090e+00, -1.16032004402742839e+00,
       -1.03622044471123109e-01, 1.66007664274403694e-03 * dpy,
       7.69901118419740425e-03 * dpy, -6.90460016972063023e-05 * dpy,
       9.54791938424326609e-04 * sm},
      {8.34336671824457987e+00, 4.12479856412430479e+00,
       -4.03523417114321381e-01, -2.76742510726862411e-03 * dpy,
       4.99852801234917238e-03 * dpy, 2.30417297573763929e-05 * dpy,
       2.85885980666130812e-04 * sm},
      {1.28943695621391310e+01, -1.51111514016986312e+01,
       -2.23307578892655734e-01, 2.96460137564761618e-03 * dpy,
       2.37847173959480950e-03 * dpy, -2.96589568540237556e-05 * dpy,
       4.36624404335156298e-05 * sm},
      {1.53796971148509165e+01, -2.59193146099879641e+01,
       1.79258772950371181e-01, 2.68067772490389322e-03 * dpy,
       1.62824170038242295e-03 * dpy, -9.51592254519715870e-05 * dpy,
       5.15138902046611451e-05 * sm}};
  double px = 0, py = 0, pz = 0;
  for (int i = 0; i < 5; i++)
    px += b[i].vx * b[i].m, py += b[i].vy * b[i].m, pz += b[i].vz * b[i].m;
  b[0].vx = -px / sm, b[0].vy = -py / sm, b[0].vz = -pz / sm;
  const double dt = 0.01;
  for (unsigned step = 0; step < 300000 * scale; step++) {
    for (int i = 0; i < 5; i++)
      for (int j = i + 1; j < 5; j++) {
        double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
        double d2 = dx * dx + dy * dy + dz * dz;
        double mag = dt / (d2 * sqrt(d2));
        b[i].vx -= dx * b[j].m * mag, b[i].vy -= dy * b[j].m * mag,
            b[i].vz -= dz * b[j].m * mag;
        b[j].vx += dx * b[i].m * mag, b[j].vy += dy * b[i].m * mag,
            b[j].vz += dz * b[i].m * mag;
      }
    for (int i = 0; i < 5; i++)
      b[i].x += dt * b[i].vx, b[i].y += dt * b[i].vy, b[i].z += dt * b[i].vz;
  }
  double e = energy(b, 5);
  uint64_t bits;
  memcpy(&bits, &e, sizeof(bits));
  return bits;
}

/* ---- simd ---- */

#define VN 4096 /* elements per array */

static uint64_t k_simd(unsigned scale) {
  static uint8_t p8[VN], q8[VN];
  static uint32_t a32[VN], b32[VN];
  static float f[VN], g[VN];
  for (int i = 0; i < VN; i++) {
    uint64_t r = rnd();
    p8[i] = (uint8_t)r, q8[i] = (uint8_t)(r >> 8);
    a32[i] = (uint32_t)(r >> 16), b32[i] = (uint32_t)(r >> 40) | 1;
    f[i] = (float)(int)((r >> 20) & 255), g[i] = (float)(int)((r >> 30) & 63);
  }
  uint64_t sum = 0;
  for (unsigned rep = 0; rep < 20000 * scale; rep++) {
    uint32_t sad = 0, mix = 0;
    float dot = 0;
#ifdef __aarch64__
    /* sum of absolute differences of bytes */
    uint32x4_t vs = vdupq_n_u32(0);
    for (int i = 0; i < VN; i += 16) {
      uint8x16_t d = vabdq_u8(vld1q_u8(p8 + i), vld1q_u8(q8 + i));
      vs = vpadalq_u16(vs, vpaddlq_u8(d));
    }
    sad = vaddvq_u32(vs);
    /* a = a * b + (a >> 3), wrapping; then xor-reduce */
    uint32x4_t vx = vdupq_n_u32(0);
    for (int i = 0; i < VN; i += 4) {
      uint32x4_t va = vld1q_u32(a32 + i), vb = vld1q_u32(b32 + i);
      va = vmlaq_u32(vshrq_n_u32(va, 3), va, vb);
      vst1q_u32(a32 + i, va);
      vx = veorq_u32(vx, va);
    }
    mix = vgetq_lane_u32(vx, 0) ^ vgetq_lane_u32(vx, 1) ^
          vgetq_lane_u32(vx, 2) ^ vgetq_lane_u32(vx, 3);
    /* dot product of small integers in float: exact in any order */
    float32x4_t vf = vdupq_n_f32(0);
    for (int i = 0; i < 512; i += 4)
      vf = vmlaq_f32(vf, vld1q_f32(f + i), vld1q_f32(g + i));
    dot = vaddvq_f32(vf);
#else
    for (int i = 0; i < VN; i++)
      sad += (uint32_t)abs((int)p8[i] - (int)q8[i]);
    uint32_t x4[4] = {0, 0, 0, 0};
    for (int i = 0; i < VN; i++) {
      a32[i] = (a32[i] >> 3) + a32[i] * b32[i];
      x4[i & 3] ^= a32[i];
    }
    mix = x4[0] ^ x4[1] ^ x4[2] ^ x4[3];
    for (int i = 0; i < 512; i++)
      dot += f[i] * g[i];
#endif
    sum = sum * 1000003 + sad + mix + (uint64_t)dot;
    p8[rep % VN] ^= (uint8_t)sum;
  }
  return sum;
}

static const struct {
  const char *name;
  uint64_t (*fn)(unsigned);
} kernels[] = {{"int", k_int},
               {"chase", k_chase},
               {"branch", k_branch},
               {"fp", k_fp},
               {"simd", k_simd}};

int main(int argc, char **argv) {
  unsigned scale = 1;
  const char *only = NULL;
  int marks = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-w") == 0)
      clock_id = CLOCK_MONOTONIC;
    else if (strcmp(argv[i], "-m") == 0)
      marks = 1;
    else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
      scale = (unsigned)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc)
      only = argv[++i];
    else {
      fprintf(stderr, "usage: cpu [-s SCALE] [-k KERNEL,...] [-w] [-m]\n");
      return 2;
    }
  }
  if (scale == 0 || scale > 1000) {
    fprintf(stderr, "cpu: the scale must be 1 to 1000\n");
    return 2;
  }
  for (size_t k = 0; k < sizeof(kernels) / sizeof(kernels[0]); k++) {
    if (only) {
      char want[64];
      snprintf(want, sizeof(want), ",%s,", kernels[k].name);
      char list[256];
      snprintf(list, sizeof(list), ",%s,", only);
      if (!strstr(list, want))
        continue;
    }
    rng_state = 42 + k; /* each kernel's data independent of the others */
    if (marks) {
      printf("@begin %s\n", kernels[k].name);
      fflush(stdout);
    }
    double t0 = now();
    uint64_t sum = kernels[k].fn(scale);
    double t1 = now();
    printf("%s %.4f %016llx\n", kernels[k].name, t1 - t0,
           (unsigned long long)sum);
    fflush(stdout);
  }
  return 0;
}
