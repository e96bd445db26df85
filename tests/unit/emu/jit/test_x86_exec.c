/* test_x86_exec.c — code from the x86-64 encoder run for real, from the
 * executable region (src/emu/jit/code_buf.c), in both of its modes (memfd
 * with RW and RX views; one mapping switched by mprotect): small functions
 * called from C with checked results (arithmetic, loops, loads through
 * r12/r13 bases, RIP-relative data, division, cmpxchg of every size and
 * cmpxchg16b, SSE, BMI where the CPU has it), a jmp retargeted while
 * another thread keeps running it, and the region's bound (full → flush).
 * x86-64 hosts only (skipped elsewhere). Threads: the cmocka thread, plus
 * one runner thread in the patch test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <pthread.h>

#include "emu/jit/code_buf.h"
#include "emu/jit/x86_emit.h"

#if defined(__x86_64__)
#include <cpuid.h>

struct mode {
  unsigned flags;
  struct emu_code_buf cb;
};

static int setup(void **state) {
  struct mode *m = *state;
  vmk_error err;
  int rc = emu_code_buf_init(&m->cb, 0, m->flags, &err);
  if (rc < 0)
    fprintf(stderr, "%s\n", err.msg);
  return rc;
}

static int teardown(void **state) {
  struct mode *m = *state;
  emu_code_buf_destroy(&m->cb);
  return 0;
}

/* emits one function with the statements in ..., returns its address */
#define FN(cb, ...)                                                            \
  ({                                                                           \
    struct xe_buf bb_;                                                         \
    struct xe_buf *b = &bb_;                                                   \
    emu_code_buf_begin((cb), b);                                               \
    __VA_ARGS__;                                                               \
    void *fn_ = NULL;                                                          \
    int rc_ = emu_code_buf_commit((cb), b, &fn_);                              \
    if (rc_ != 0)                                                              \
      fprintf(stderr, "emit failed (%d): %s\n", rc_, b->err);                  \
    assert_int_equal(rc_, 0);                                                  \
    fn_;                                                                       \
  })

typedef uint64_t (*fn2)(uint64_t, uint64_t);
typedef uint64_t (*fn3)(uint64_t, uint64_t, uint64_t);

static void test_arith_and_loops(void **state) {
  struct emu_code_buf *cb = &((struct mode *)*state)->cb;
  fn2 add = FN(cb, xe_mov_rr(b, 64, XE_RAX, XE_RDI);
               xe_alu_rr(b, XE_ADD, 64, XE_RAX, XE_RSI); xe_ret(b));
  assert_int_equal(add(40, 2), 42);
  assert_int_equal(add(UINT64_MAX, 2), 1);
  /* 32-bit forms zero the upper half (Arm W registers) */
  fn2 add32 = FN(cb, xe_mov_rr(b, 64, XE_RAX, XE_RDI);
                 xe_alu_rr(b, XE_ADD, 32, XE_RAX, XE_RSI); xe_ret(b));
  assert_int_equal(add32(0xffffffff00000001ull, 0xffffffffull), 0);
  /* sum 1..n: a forward exit and a backward loop */
  fn2 sum = FN(cb, xe_alu_rr(b, XE_XOR, 32, XE_RAX, XE_RAX);
               size_t top = xe_here(b); xe_test_rr(b, 64, XE_RDI, XE_RDI);
               struct xe_fixup out = xe_jcc_fwd(b, XE_E, true);
               xe_alu_rr(b, XE_ADD, 64, XE_RAX, XE_RDI);
               xe_alu_ri(b, XE_SUB, 64, XE_RDI, 1); xe_jmp_to(b, top);
               xe_bind(b, out); xe_ret(b));
  assert_int_equal(sum(0, 0), 0);
  assert_int_equal(sum(100000, 0), 5000050000ull);
  /* loads through r12/r13 (SIB and disp8 forms) */
  fn2 ld =
      FN(cb, xe_push(b, XE_R12); xe_push(b, XE_R13);
         xe_mov_rr(b, 64, XE_R12, XE_RDI); xe_mov_rr(b, 64, XE_R13, XE_RSI);
         xe_load(b, 64, XE_RAX, xe_mi(XE_R12, XE_R13, 8, 8));
         xe_mov_rr(b, 64, XE_R13, XE_R12);
         xe_alu_rm(b, XE_ADD, 64, XE_RAX, xe_m(XE_R13, 0));
         xe_alu_rm(b, XE_ADD, 64, XE_RAX, xe_m(XE_R12, 8)); xe_pop(b, XE_R13);
         xe_pop(b, XE_R12); xe_ret(b));
  uint64_t arr[4] = {1, 2, 3, 4};
  assert_int_equal(ld((uint64_t)(uintptr_t)arr, 2), 4 + 1 + 2);
  /* a constant after the code, loaded RIP-relative */
  uint64_t here;
  fn2 konst =
      FN(cb, struct xe_fixup f = xe_jmp_fwd(b, true); xe_align(b, 8);
         here = xe_addr(b, xe_here(b)); uint64_t k = 0x1122334455667788ull;
         xe_bytes(b, &k, 8); xe_bind(b, f);
         xe_load(b, 64, XE_RAX, xe_mrip(here)); xe_ret(b));
  assert_int_equal(konst(0, 0), 0x1122334455667788ull);
  /* unsigned and signed division (Arm's x/0 and overflow are the
   * translator's job; here the plain cases) */
  fn2 udiv = FN(cb, xe_mov_rr(b, 64, XE_RAX, XE_RDI);
                xe_alu_rr(b, XE_XOR, 32, XE_RDX, XE_RDX);
                xe_unary(b, XE_DIV, 64, XE_RSI); xe_ret(b));
  assert_int_equal(udiv(1000, 7), 142);
  fn2 sdiv = FN(cb, xe_mov_rr(b, 64, XE_RAX, XE_RDI); xe_sext_acc(b, 64);
                xe_unary(b, XE_IDIV, 64, XE_RSI); xe_ret(b));
  assert_int_equal((int64_t)sdiv((uint64_t)-1000, 7), -142);
  /* cmov/setcc: (a < b signed) ? a : b, and the flag itself */
  fn2 smin = FN(cb, xe_mov_rr(b, 64, XE_RAX, XE_RSI);
                xe_alu_rr(b, XE_CMP, 64, XE_RDI, XE_RSI);
                xe_cmov(b, XE_L, 64, XE_RAX, XE_RDI); xe_ret(b));
  assert_int_equal((int64_t)smin((uint64_t)-5, 3), -5);
  assert_int_equal(smin(7, 3), 3);
  fn2 ltu = FN(cb, xe_alu_rr(b, XE_XOR, 32, XE_RAX, XE_RAX);
               xe_alu_rr(b, XE_CMP, 64, XE_RDI, XE_RSI);
               xe_setcc(b, XE_B, XE_RAX); xe_ret(b));
  assert_int_equal(ltu(1, 2), 1);
  assert_int_equal(ltu(2, 1), 0);
  /* a helper called through call rel32 or movabs+call */
  fn2 viacall = FN(
      cb, xe_push(b, XE_RBX); xe_call_far(b, (uint64_t)(uintptr_t)add, XE_R11);
      xe_alu_ri(b, XE_ADD, 64, XE_RAX, 1000); xe_pop(b, XE_RBX); xe_ret(b));
  assert_int_equal(viacall(1, 2), 1003);
}

/* cmpxchg of each size: returns ZF; the value left in the accumulator is
 * stored at rcx */
static void test_cmpxchg(void **state) {
  struct emu_code_buf *cb = &((struct mode *)*state)->cb;
  static const unsigned sizes[4] = {8, 16, 32, 64};
  for (int i = 0; i < 4; i++) {
    unsigned sz = sizes[i];
    uint64_t mask = sz == 64 ? UINT64_MAX : (1ull << sz) - 1;
    typedef uint64_t (*cas_fn)(void *, uint64_t, uint64_t, uint64_t *);
    cas_fn cas =
        FN(cb, xe_mov_rr(b, 64, XE_RAX, XE_RSI);
           xe_lock_cmpxchg(b, sz, xe_m(XE_RDI, 0), XE_RDX);
           xe_store(b, 64, xe_m(XE_RCX, 0), XE_RAX); xe_setcc(b, XE_E, XE_RAX);
           xe_movzx_rr(b, XE_RAX, 8, XE_RAX); xe_ret(b));
    uint64_t cell = 0x8877665544332211ull, seen = 0;
    uint64_t want_old = cell & mask;
    /* mismatch: memory unchanged, accumulator = memory */
    assert_int_equal(cas(&cell, 5, 0x1234, &seen), 0);
    assert_int_equal(seen & mask, want_old);
    assert_int_equal(cell, 0x8877665544332211ull);
    /* match: memory's low sz bits replaced */
    assert_int_equal(cas(&cell, want_old, 0xa5a5a5a5a5a5a5a5ull, &seen), 1);
    assert_int_equal(cell, (0x8877665544332211ull & ~mask) |
                               (0xa5a5a5a5a5a5a5a5ull & mask));
  }
  /* cmpxchg16b: rdi = 16-byte cell, rsi = {expected lo, hi, new lo, hi};
   * the current value goes back to rsi[0..1] */
  typedef uint64_t (*cas16_fn)(void *, uint64_t *);
  cas16_fn cas16 =
      FN(cb, xe_push(b, XE_RBX); xe_load(b, 64, XE_RAX, xe_m(XE_RSI, 0));
         xe_load(b, 64, XE_RDX, xe_m(XE_RSI, 8));
         xe_load(b, 64, XE_RBX, xe_m(XE_RSI, 16));
         xe_load(b, 64, XE_RCX, xe_m(XE_RSI, 24));
         xe_lock_cmpxchg16b(b, xe_m(XE_RDI, 0));
         xe_store(b, 64, xe_m(XE_RSI, 0), XE_RAX);
         xe_store(b, 64, xe_m(XE_RSI, 8), XE_RDX); xe_setcc(b, XE_E, XE_RAX);
         xe_movzx_rr(b, XE_RAX, 8, XE_RAX); xe_pop(b, XE_RBX); xe_ret(b));
  _Alignas(16) uint64_t cell[2] = {1, 2};
  uint64_t args[4] = {1, 3, 7, 8};
  assert_int_equal(cas16(cell, args), 0);
  assert_int_equal(args[0], 1);
  assert_int_equal(args[1], 2);
  assert_int_equal(cell[1], 2);
  args[2] = 7, args[3] = 8;
  assert_int_equal(cas16(cell, args), 1);
  assert_int_equal(cell[0], 7);
  assert_int_equal(cell[1], 8);
  /* lock xadd returns the old value */
  fn2 xadd = FN(cb, xe_mov_rr(b, 64, XE_RAX, XE_RSI);
                xe_lock_xadd(b, 64, xe_m(XE_RDI, 0), XE_RAX); xe_ret(b));
  uint64_t ctr = 10;
  assert_int_equal(xadd((uint64_t)(uintptr_t)&ctr, 5), 10);
  assert_int_equal(ctr, 15);
}

static void test_sse_bmi(void **state) {
  struct emu_code_buf *cb = &((struct mode *)*state)->cb;
  typedef double (*dfn)(double, double);
  dfn hyp = FN(cb, xe_sse_rr(b, XE_MULSD, XE_XMM0, XE_XMM0);
               xe_sse_rr(b, XE_MULSD, XE_XMM1, XE_XMM1);
               xe_sse_rr(b, XE_ADDSD, XE_XMM0, XE_XMM1);
               xe_sse_rr(b, XE_SQRTSD, XE_XMM0, XE_XMM0); xe_ret(b));
  assert_true(hyp(3.0, 4.0) == 5.0);
  /* int -> double -> bits in a general register */
  fn2 i2d = FN(cb, xe_cvtsi2sd(b, 64, XE_XMM9, XE_RDI);
               xe_movd_rx(b, 64, XE_RAX, XE_XMM9); xe_ret(b));
  double d = -3.0;
  uint64_t bits;
  memcpy(&bits, &d, 8);
  assert_int_equal(i2d((uint64_t)-3, 0), bits);
  /* 128-bit: two lanes added with paddq through movdqu */
  typedef void (*vfn)(uint64_t *, const uint64_t *);
  vfn vadd =
      FN(cb, xe_sse_rm(b, XE_MOVDQU, XE_XMM12, xe_m(XE_RDI, 0));
         xe_sse_rm(b, XE_MOVDQU, XE_XMM3, xe_m(XE_RSI, 0));
         xe_sse_rr(b, XE_PADDQ, XE_XMM12, XE_XMM3);
         xe_sse_store(b, XE_MOVDQU, xe_m(XE_RDI, 0), XE_XMM12); xe_ret(b));
  uint64_t x[2] = {1, UINT64_MAX}, y[2] = {2, 2};
  vadd(x, y);
  assert_int_equal(x[0], 3);
  assert_int_equal(x[1], 1);
  unsigned a, b_, c, d_;
  /* bswap, and the BMI/LZCNT/POPCNT forms where this CPU has them */
  fn2 rev = FN(cb, xe_mov_rr(b, 64, XE_RAX, XE_RDI); xe_bswap(b, 64, XE_RAX);
               xe_ret(b));
  assert_int_equal(rev(0x0102030405060708ull, 0), 0x0807060504030201ull);
  bool bmi2 = __get_cpuid_count(7, 0, &a, &b_, &c, &d_) && (b_ & (1u << 8));
  if (bmi2) {
    fn2 shl = FN(cb, xe_shlx(b, 64, XE_RAX, XE_RDI, XE_RSI); xe_ret(b));
    assert_int_equal(shl(3, 64 + 4), 48); /* count masked, as Arm LSLV */
    fn2 ror = FN(cb, xe_rorx(b, 32, XE_RAX, XE_RDI, 8); xe_ret(b));
    assert_int_equal(ror(0x11223344, 0), 0x44112233);
  }
  bool lzcnt = __get_cpuid(0x80000001, &a, &b_, &c, &d_) && (c & (1u << 5));
  if (lzcnt) {
    fn2 clz = FN(cb, xe_lzcnt(b, 64, XE_RAX, XE_RDI); xe_ret(b));
    assert_int_equal(clz(1, 0), 63);
    assert_int_equal(clz(0, 0), 64);
  }
  bool popcnt = __get_cpuid(1, &a, &b_, &c, &d_) && (c & (1u << 23));
  if (popcnt) {
    fn2 pc = FN(cb, xe_popcnt(b, 64, XE_RAX, XE_RDI); xe_ret(b));
    assert_int_equal(pc(0xf0f0, 0), 8);
  }
}

/* A patchable jmp in one translation, retargeted between two others,
 * once while no one runs it and once while a thread keeps calling it. */
typedef uint64_t (*fn0)(void);

struct runner {
  fn0 f;
  int started;
  uint64_t seen_two;
};

static void *run_until_two(void *arg) {
  struct runner *r = arg;
  __atomic_store_n(&r->started, 1, __ATOMIC_RELEASE);
  /* a bound, not a timeout: far more calls than a patch needs to show */
  for (uint64_t i = 0; i < 2000000000ull; i++)
    if (r->f() == 2) {
      r->seen_two = i + 1;
      break;
    }
  return NULL;
}

static void test_patched_jump(void **state) {
  struct emu_code_buf *cb = &((struct mode *)*state)->cb;
  fn0 one = FN(cb, xe_mov_ri(b, XE_RAX, 1); xe_ret(b));
  fn0 two = FN(cb, xe_mov_ri(b, XE_RAX, 2); xe_ret(b));
  size_t at = 0;
  uint64_t entry = 0;
  fn0 f = FN(cb, entry = xe_addr(b, 0); xe_nop(b, 1);
             at = xe_jmp_patchable(b, (uint64_t)(uintptr_t)one));
  assert_int_equal((uint64_t)(uintptr_t)f, entry);
  uint64_t jmp = entry + at;
  assert_int_equal(f(), 1);
  assert_int_equal(emu_code_buf_patch_jmp(cb, jmp, (uint64_t)(uintptr_t)two),
                   0);
  assert_int_equal(f(), 2);
  assert_int_equal(emu_code_buf_patch_jmp(cb, jmp, (uint64_t)(uintptr_t)one),
                   0);
  assert_int_equal(f(), 1);
  /* not a patchable jmp, or outside the region */
  assert_int_equal(emu_code_buf_patch_jmp(cb, jmp + 1, jmp), -EINVAL);
  assert_int_equal(emu_code_buf_patch_jmp(cb, 16, jmp), -EINVAL);
  assert_int_equal(emu_code_buf_patch_jmp(cb, jmp, jmp + (3ull << 30)),
                   -ERANGE);

  struct runner r = {f, 0, 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, run_until_two, &r), 0);
  while (!__atomic_load_n(&r.started, __ATOMIC_ACQUIRE))
    ;
  assert_int_equal(emu_code_buf_patch_jmp(cb, jmp, (uint64_t)(uintptr_t)two),
                   0);
  pthread_join(t, NULL);
  assert_true(r.seen_two > 0);
}

static uint64_t helper(uint64_t x) { return x * 3 + 1; }

/* The region sits within rel32 reach of vmkit's code (this test links
 * libvmkit statically, as vmkit does), so a 5-byte call reaches a C
 * helper. */
static void test_call_helper_rel32(void **state) {
  struct emu_code_buf *cb = &((struct mode *)*state)->cb;
  struct emu_code_buf_stats st;
  emu_code_buf_stats(cb, &st);
  if (!st.near_text) {
    fprintf(stderr, "note: no room below vmkit's code; helpers need "
                    "xe_call_far here\n");
    skip();
  }
  fn2 f = FN(cb, xe_push(b, XE_RBX); /* 16-byte stack alignment at the call */
             xe_call_abs(b, (uint64_t)(uintptr_t)helper); xe_pop(b, XE_RBX);
             xe_ret(b));
  assert_int_equal(f(14, 0), 43);
}

/* The bound: a region fills, commit says -ENOSPC and keeps nothing,
 * flush empties it, and the stats follow. */
static void test_bound_and_flush(void **state) {
  struct mode *m = *state;
  struct emu_code_buf cb;
  vmk_error err;
  assert_int_equal(emu_code_buf_init(&cb, 1000, m->flags, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "between"));
  assert_int_equal(emu_code_buf_init(&cb, EMU_CODE_BUF_MIN, m->flags, &err), 0);
  struct emu_code_buf_stats st;
  emu_code_buf_stats(&cb, &st);
  assert_int_equal(st.size, EMU_CODE_BUF_MIN);
  assert_int_equal(st.used, 0);
  if (m->flags & EMU_CODE_BUF_SINGLE_MAP)
    assert_false(st.dual);
  else if (!st.dual) /* a host that refuses an exec mapping of a memfd */
    fprintf(stderr, "note: RW+RX views refused here; the fallback is used\n");
  /* an encoder failure other than room: -EINVAL, nothing kept */
  {
    struct xe_buf b;
    emu_code_buf_begin(&cb, &b);
    xe_lea(&b, 8, XE_RAX, xe_m(XE_RAX, 0));
    assert_int_equal(emu_code_buf_commit(&cb, &b, NULL), -EINVAL);
    emu_code_buf_stats(&cb, &st);
    assert_int_equal(st.used, 0);
    assert_int_equal(st.commits, 0);
  }
  int n = 0, rc = 0;
  void *first = NULL;
  while (rc == 0) {
    struct xe_buf b;
    emu_code_buf_begin(&cb, &b);
    xe_mov_ri(&b, XE_RAX, (uint64_t)n);
    xe_nop(&b, 1000);
    xe_ret(&b);
    void *fn = NULL;
    rc = emu_code_buf_commit(&cb, &b, &fn);
    if (rc == 0 && !first)
      first = fn;
    n += rc == 0;
  }
  assert_int_equal(rc, -ENOSPC);
  /* 1006 bytes each, 16-byte aligned: 1008 */
  assert_int_equal(n, EMU_CODE_BUF_MIN / 1008);
  emu_code_buf_stats(&cb, &st);
  assert_int_equal(st.commits, (uint64_t)n);
  assert_true(st.used <= st.size && st.used > st.size - 1008);
  assert_int_equal(((fn0)first)(), 0);
  size_t used = st.used;
  emu_code_buf_flush(&cb);
  emu_code_buf_stats(&cb, &st);
  assert_int_equal(st.used, 0);
  assert_int_equal(st.flushes, 1);
  assert_true(st.peak >= used);
  fn0 again = FN(&cb, xe_mov_ri(b, XE_RAX, 77); xe_ret(b));
  assert_ptr_equal((void *)again, first);
  assert_int_equal(again(), 77);
  emu_code_buf_destroy(&cb);
}

int main(void) {
  static struct mode dual = {0, {0}}, single = {EMU_CODE_BUF_SINGLE_MAP, {0}};
  const struct CMUnitTest tests[] = {
#define BOTH(t)                                                                \
  cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, &dual),         \
      cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, &single)
      BOTH(test_arith_and_loops),
      BOTH(test_cmpxchg),
      BOTH(test_sse_bmi),
      BOTH(test_patched_jump),
      BOTH(test_call_helper_rel32),
      cmocka_unit_test_prestate(test_bound_and_flush, &dual),
      cmocka_unit_test_prestate(test_bound_and_flush, &single),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

#else
int main(void) {
  printf("x86-64 hosts only\n");
  return 77;
}
#endif
