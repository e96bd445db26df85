/* intmix.c — a freestanding integer workload for the emulator tests: the
 * same source is built natively and for arm64 (no libc, no FP/SIMD), and
 * both must print the same lines. Covers arithmetic with flags via
 * compiler-generated code, 32/64-bit ops, division, multiply-high,
 * bitfields, CLZ, byte reversal, loads/stores of every size, pairs,
 * switch tables, recursion, a sha256 and a sieve. Single-threaded. */
#include <stddef.h>
#include <stdint.h>

#if defined(__aarch64__)
static long sys3(long n, long a, long b, long c) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}
#define NR_WRITE 64
#define NR_EXIT 93
#else
static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(n), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  return r;
}
#define NR_WRITE 1
#define NR_EXIT 60
#endif

static char obuf[8192];
static size_t olen;
static void flush(void) {
  sys3(NR_WRITE, 1, (long)obuf, (long)olen);
  olen = 0;
}
static void putc_(char c) {
  if (olen == sizeof obuf)
    flush();
  obuf[olen++] = c;
}
static void puts_(const char *s) {
  while (*s)
    putc_(*s++);
}
static void putx(uint64_t v) {
  char b[17];
  for (int i = 15; i >= 0; i--, v >>= 4)
    b[i] = "0123456789abcdef"[v & 15];
  b[16] = 0;
  puts_(b);
}
static void line(const char *name, uint64_t v) {
  puts_(name);
  putc_('=');
  putx(v);
  putc_('\n');
}

void *memset(void *d, int c, size_t n) {
  unsigned char *p = d;
  while (n--)
    *p++ = (unsigned char)c;
  return d;
}
void *memcpy(void *d, const void *s, size_t n) {
  unsigned char *p = d;
  const unsigned char *q = s;
  while (n--)
    *p++ = *q++;
  return d;
}

static volatile uint64_t seed = 0x123456789abcdef1ull;
static uint64_t rnd(void) {
  uint64_t x = seed;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  seed = x;
  return x;
}

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
static void sha256(const uint8_t *m, size_t len, uint32_t h[8]) {
  static const uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
      0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
      0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
      0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
      0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
      0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
      0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
      0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                 0xa54ff53a, 0x510e527f, 0x9b05688c,
                                 0x1f83d9ab, 0x5be0cd19};
  for (int i = 0; i < 8; i++)
    h[i] = h0[i];
  size_t nblk = (len + 9 + 63) / 64;
  for (size_t b = 0; b < nblk; b++) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
      uint32_t v = 0;
      for (int j = 0; j < 4; j++) {
        size_t idx = b * 64 + (size_t)i * 4 + (size_t)j;
        uint8_t c = idx < len ? m[idx] : idx == len ? 0x80 : 0;
        if (b == nblk - 1 && i >= 14) {
          uint64_t bitlen = (uint64_t)len * 8;
          c = (uint8_t)(bitlen >> (8 * (7 - ((i - 14) * 4 + j))));
        }
        v = v << 8 | c;
      }
      w[i] = v;
    }
    for (int i = 16; i < 64; i++) {
      uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5],
             g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
      uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
                    ((e & f) ^ (~e & g)) + k[i] + w[i];
      uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) +
                    ((a & bb) ^ (a & c) ^ (bb & c));
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = bb;
      bb = a;
      a = t1 + t2;
    }
    h[0] += a, h[1] += bb, h[2] += c, h[3] += d;
    h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
  }
}

static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

__attribute__((noinline)) static uint64_t sw(int k, uint64_t v) {
  switch (k) {
  case 0:
    return v + 1;
  case 1:
    return v * 3;
  case 2:
    return v ^ 0x5555;
  case 3:
    return v >> 3;
  case 4:
    return (uint64_t)((int64_t)v >> 5);
  case 5:
    return v << 7;
  case 6:
    return ~v;
  default:
    return v - 1;
  }
}

/* REPS > 1 turns this into a CPU-bound benchmark (see the report). */
#ifndef REPS
#define REPS 1
#endif
static uint8_t big[1 << 16];

void _start_c(void) {
  uint64_t acc = 0;
  for (int i = 0; i < 2000; i++) {
    uint64_t a = rnd(), b = rnd();
    int64_t sa = (int64_t)a, sb = (int64_t)(b | 1);
    uint32_t a32 = (uint32_t)a, b32 = (uint32_t)b | 1;
    acc += a + b;
    acc ^= a - b;
    acc += (a < b) + (sa < sb) * 2 + (a32 < b32) * 4 + ((int32_t)a32 > 0) * 8;
    acc += a / (b | 1) + (uint64_t)(sa / sb) + (uint64_t)(sa % sb);
    acc += a32 / b32 + (uint32_t)((int32_t)a32 / (int32_t)b32);
    acc += (uint64_t)(((unsigned __int128)a * b) >> 64);
    acc += (uint64_t)(((__int128)sa * sb) >> 64);
    acc += (uint64_t)__builtin_clzll(a | 1) +
           (uint64_t)__builtin_ctzll(b | 1 << 20);
    acc += __builtin_bswap64(a) ^ __builtin_bswap32(b32);
    acc += (a & 0xf0f0) * 3;
    acc += ((a >> 13) & 0x3ff) | ((b & 0xff) << 40);
    acc += (uint64_t)(int64_t)(int16_t)a + (uint64_t)(int64_t)(int8_t)b;
    acc = (acc << 7) | (acc >> 57);
    acc += a > b ? a : b;
    acc += sw((int)(b & 7), a);
    acc += (uint64_t)(a32 * b32) + (uint64_t)a32 * b32;
    acc -= (uint64_t)((int64_t)(int32_t)a32 * (int32_t)b32);
    uint8_t *p = &big[(a & 0xfff0) % (sizeof big - 32)];
    *(uint64_t *)p = b;
    *(uint32_t *)(p + 9) = a32; /* unaligned */
    *(uint16_t *)(p + 15) = (uint16_t)a;
    acc += *(uint64_t *)(p + 1) + *(int32_t *)(p + 8) + *(int16_t *)(p + 3) +
           *(int8_t *)(p + 5);
  }
  line("acc", acc);
  uint32_t h[8];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (uint8_t)(i * 7 + (i >> 8));
  for (int r = 0; r < REPS; r++) {
    sha256(big, sizeof big, h);
    big[r % sizeof big] ^= (uint8_t)h[0];
  }
  for (int i = 0; i < 8; i++)
    line("sha", h[i]);
  sha256((const uint8_t *)"abc", 3, h);
  line("sha_abc0", h[0]);
  line("fib", (uint64_t)fib(24));
  static uint8_t sieve[100000];
  uint64_t primes = 0;
  for (int i = 2; i < 100000; i++) {
    if (sieve[i])
      continue;
    primes++;
    for (int j = 2 * i; j < 100000; j += i)
      sieve[j] = 1;
  }
  line("primes", primes);
  flush();
  sys3(NR_EXIT, (long)(acc & 0x3f), 0, 0);
  for (;;)
    ;
}

#if defined(__aarch64__)
__asm__(".globl _start\n_start:\n mov x29, #0\n bl _start_c\n");
#else
__asm__(".globl _start\n_start:\n and $-16, %rsp\n call _start_c\n");
#endif
