/* test_run.c — runs small hand-assembled A64 programs through emu_run in
 * a fake environment (emu_test_env.h) and checks registers, flags and
 * memory against values computed here in C; also exits (SVC, BRK, UNDEF,
 * budget), exclusives, and that a faulting instruction leaves the state
 * as it was. Encodings come from GNU as (aarch64-linux-gnu-as); the
 * disassembly is beside each word. With VMK_TEST_EMU_JIT=1 (test_run-jit)
 * every program runs translated instead. Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emu/decode.h"
#include "emu_test_env.h"
#include "vmkit/vmkit.h"

static int setup(void **state) {
  struct tv *t = aligned_alloc(4096, sizeof *t);
  if (!t || emu_cpu_init(&t->cpu, &tv_ops, t) != 0)
    return -1;
  /* test_run-jit: the same programs through the translator */
  const char *jit = getenv("VMK_TEST_EMU_JIT");
  vmk_error err;
  if (jit && strcmp(jit, "0") && emu_cpu_enable_jit(&t->cpu, 0, &err) != 0)
    return -1;
  memset(t->mem, 0, sizeof t->mem);
  *state = t;
  return 0;
}
static int teardown(void **state) {
  struct tv *t = *state;
  emu_cpu_destroy(&t->cpu);
  free(t);
  return 0;
}

static void test_loop_and_flags(void **state) {
  struct tv *t = *state;
  static const uint32_t code[] = {
      0xd2800000, /* mov x0, #0x0 */
      0xd2800c81, /* mov x1, #0x64 */
      0x8b010000, /* add x0, x0, x1 */
      0xf1000421, /* subs x1, x1, #0x1 */
      0x54ffffc1, /* b.ne 8 */
      0xb1000002, /* adds x2, x0, #0x0 */
      0x92800003, /* mov x3, #-1 */
      0xb1000464, /* adds x4, x3, #0x1 */
      0xd53b4205, /* mrs x5, nzcv */
      0xd4000841, /* svc #0x42 */
  };
  tv_load(t, code, sizeof code / 4);
  assert_int_equal(emu_run(&t->cpu, 0), EMU_EXIT_SVC);
  uint64_t sum = 0;
  for (int i = 1; i <= 100; i++)
    sum += (uint64_t)i;
  assert_int_equal(t->cpu.r[0], sum);
  assert_int_equal(t->cpu.r[1], 0);
  assert_int_equal(t->cpu.r[4], 0);
  assert_int_equal(t->cpu.r[5], EMU_Z | EMU_C); /* -1 + 1: carry, zero */
  assert_int_equal(t->cpu.exit_imm, 0x42);
  assert_int_equal(t->cpu.pc, TV_BASE + 4 * 10); /* after the SVC */
  assert_int_equal(t->cpu.r[EMU_XZR], 0);
}

static void test_budget(void **state) {
  struct tv *t = *state;
  static const uint32_t code[] = {
      0x91000400, /* add x0, x0, #1 */
      0x17ffffff, /* b .-4 */
  };
  tv_load(t, code, 2);
  t->cpu.r[0] = 0;
  assert_int_equal(emu_run(&t->cpu, 1000), EMU_EXIT_BUDGET);
  assert_true(t->cpu.r[0] >= 400 && t->cpu.r[0] <= 600);
  emu_cpu_request_exit(&t->cpu);
  assert_int_equal(emu_run(&t->cpu, 0), EMU_EXIT_REQUEST);
}

static void test_exclusives(void **state) {
  struct tv *t = *state;
  static const uint32_t code[] = {
      0xc85f7d41, /* ldxr x1, [x10] */
      0x91001421, /* add x1, x1, #0x5 */
      0xc8027d41, /* stxr w2, x1, [x10] */
      0xc8037d41, /* stxr w3, x1, [x10] (monitor clear: fails) */
      0xc87f9544, /* ldaxp x4, x5, [x10] */
      0xc8269145, /* stlxp w6, x5, x4, [x10] */
      0xd5033f5f, /* clrex */
      0xd4200020, /* brk #0x1 */
  };
  tv_load(t, code, sizeof code / 4);
  uint64_t *d = (uint64_t *)(t->mem + (TV_DATA - TV_BASE));
  d[0] = 37;
  d[1] = 0xabcdef;
  t->cpu.r[10] = TV_DATA;
  t->cpu.r[3] = 99;
  assert_int_equal(emu_run(&t->cpu, 0), EMU_EXIT_BRK);
  assert_int_equal(t->cpu.r[2], 0); /* success */
  assert_int_equal(t->cpu.r[3], 1); /* failure */
  assert_int_equal(t->cpu.r[4], 42);
  assert_int_equal(t->cpu.r[5], 0xabcdef);
  assert_int_equal(t->cpu.r[6], 0);
  assert_int_equal(d[0], 0xabcdef); /* swapped by stlxp */
  assert_int_equal(d[1], 42);
  assert_int_equal(t->cpu.pc, TV_BASE + 7 * 4); /* BRK: pc of the BRK */

  /* misaligned exclusive: alignment fault, nothing changed */
  tv_load(t, code, 1);
  t->cpu.r[10] = TV_DATA + 4;
  t->cpu.r[1] = 1234;
  assert_int_equal(emu_run(&t->cpu, 0), EMU_EXIT_FAULT);
  assert_int_equal(t->cpu.exit_syndrome & 0x3f, EMU_FAULT_ALIGN);
  assert_int_equal(t->cpu.r[1], 1234);
  assert_int_equal(t->cpu.pc, TV_BASE);
}

static void test_fault_leaves_state(void **state) {
  struct tv *t = *state;
  static const uint32_t code[] = {
      0xd28000e0, /* mov x0, #0x7 */
      0xa8c10820, /* ldp x0, x2, [x1], #16 */
      0xd4000001, /* svc #0x0 */
  };
  tv_load(t, code, 3);
  t->cpu.r[1] = TV_NOACCESS + 8;
  t->cpu.r[2] = 55;
  t->cpu.nzcv = EMU_N;
  assert_int_equal(emu_run(&t->cpu, 0), EMU_EXIT_FAULT);
  assert_int_equal(t->cpu.pc, TV_BASE + 4);
  assert_int_equal(t->cpu.exit_addr, TV_NOACCESS + 8);
  assert_int_equal(t->cpu.r[0], 7); /* mov retired, ldp did not */
  assert_int_equal(t->cpu.r[1], TV_NOACCESS + 8);
  assert_int_equal(t->cpu.r[2], 55);
  assert_int_equal(t->cpu.nzcv, EMU_N);

  /* a pair store whose second half faults writes nothing */
  static const uint32_t st[] = {
      0xa9bf0c20, /* stp x0, x3, [x1, #-16]! */
      0xd4000001, /* svc #0 */
  };
  tv_load(t, st, 2);
  uint64_t *before = (uint64_t *)(t->mem + (TV_NOACCESS - 8 - TV_BASE));
  *before = 0x1111;
  t->cpu.r[1] = TV_NOACCESS + 8; /* stores to NOACCESS-8 .. NOACCESS+8 */
  t->cpu.r[0] = 0x2222;
  assert_int_equal(emu_run(&t->cpu, 0), EMU_EXIT_FAULT);
  assert_int_equal(*before, 0x1111);
  assert_int_equal(t->cpu.r[1], TV_NOACCESS + 8);
}

static void test_undefined(void **state) {
  struct tv *t = *state;
  static const uint32_t code[] = {
      0xd2800020, /* mov x0, #0x1 */
      0x00000000, /* udf #0 */
  };
  tv_load(t, code, 2);
  assert_int_equal(emu_run(&t->cpu, 0), EMU_EXIT_UNDEF);
  assert_int_equal(t->cpu.pc, TV_BASE + 4);
  assert_int_equal(t->cpu.exit_syndrome, 0);
  assert_int_equal(t->cpu.r[0], 1);
}

static uint64_t ror64(uint64_t v, unsigned r) {
  return r ? v >> r | v << (64 - r) : v;
}
static uint32_t crc32c_ref(uint32_t crc, uint64_t v) {
  for (int i = 0; i < 64; i++) {
    unsigned b = (crc ^ (unsigned)(v >> i)) & 1;
    crc = (crc >> 1) ^ (b ? 0x82F63B78u : 0);
  }
  return crc;
}

static void test_bitfield_misc(void **state) {
  struct tv *t = *state;
  static const uint32_t code[] = {
      0xd2801e01, /* mov x1, #0xf0 */
      0xd3441c22, /* ubfx x2, x1, #4, #4 */
      0x93441c23, /* sbfx x3, x1, #4, #4 */
      0xb3781c24, /* bfi x4, x1, #8, #8 */
      0xd3481c25, /* lsl x5, x1, #56 */
      0x9344fca6, /* asr x6, x5, #4 */
      0x93c52027, /* extr x7, x1, x5, #8 */
      0x9a820428, /* csinc x8, x1, x2, eq */
      0xf103c03f, /* cmp x1, #0xf0 */
      0x9a9f17e9, /* cset x9, eq */
      0xfa411824, /* ccmp x1, #0x1, #0x4, ne */
      0x9a9f17eb, /* cset x11, eq */
      0x5ac0002c, /* rbit w12, w1 */
      0xdac0102d, /* clz x13, x1 */
      0x5ac014ce, /* cls w14, w6 */
      0x9b01082f, /* madd x15, x1, x1, x2 */
      0x9bc57cb0, /* umulh x16, x5, x5 */
      0x9ac10cd1, /* sdiv x17, x6, x1 */
      0x9ac55c32, /* crc32cx w18, w1, x5 */
      0xd4000001, /* svc #0x0 */
  };
  tv_load(t, code, sizeof code / 4);
  t->cpu.r[4] = 0x1234567890abcdefull;
  t->cpu.nzcv = 0; /* eq false for the csinc */
  assert_int_equal(emu_run(&t->cpu, 0), EMU_EXIT_SVC);
  uint64_t x1 = 0xf0, x5 = x1 << 56, x6 = (uint64_t)((int64_t)x5 >> 4);
  assert_int_equal(t->cpu.r[2], (x1 >> 4) & 0xf);
  assert_int_equal(t->cpu.r[3], (uint64_t)-1);
  assert_int_equal(t->cpu.r[4],
                   (0x1234567890abcdefull & ~0xff00ull) | ((x1 & 0xff) << 8));
  assert_int_equal(t->cpu.r[5], x5);
  assert_int_equal(t->cpu.r[6], x6);
  assert_int_equal(t->cpu.r[7], (x5 >> 8) | (x1 << 56));
  assert_int_equal(t->cpu.r[8], ((x1 >> 4) & 0xf) + 1);
  assert_int_equal(t->cpu.r[9], 1);
  assert_int_equal(t->cpu.r[11], 1); /* ne false → nzcv = 0b0100 → eq */
  uint32_t rb = 0;
  for (int i = 0; i < 32; i++)
    rb |= (uint32_t)((x1 >> i) & 1) << (31 - i);
  assert_int_equal(t->cpu.r[12], rb);
  assert_int_equal(t->cpu.r[13], (uint64_t)__builtin_clzll(x1));
  uint32_t w6 = (uint32_t)x6;
  int cls = 0;
  for (int i = 30; i >= 0 && ((w6 >> i) & 1) == (w6 >> 31); i--)
    cls++;
  assert_int_equal(t->cpu.r[14], (uint64_t)cls);
  assert_int_equal(t->cpu.r[15], x1 * x1 + ((x1 >> 4) & 0xf));
  assert_int_equal(t->cpu.r[16],
                   (uint64_t)(((unsigned __int128)x5 * x5) >> 64));
  assert_int_equal(t->cpu.r[17], (uint64_t)((int64_t)x6 / (int64_t)x1));
  assert_int_equal(t->cpu.r[18], crc32c_ref((uint32_t)x1, x5));
  (void)ror64;
}

static void test_loads_stores_branches(void **state) {
  struct tv *t = *state;
  static const uint32_t code[] = {
      0xf8408c20,             /* ldr x0, [x1, #8]! */
      0xf81f8c20,             /* str x0, [x1, #-8]! */
      0xb862d823,             /* ldr w3, [x1, w2, sxtw #2] */
      0x38226823,             /* strb w3, [x1, x2] */
      0x39800424,             /* ldrsb x4, [x1, #1] */
      0x79c00425,             /* ldrsh w5, [x1, #2] */
      0x29409c26,             /* ldp w6, w7, [x1, #4] */
      0xa9bf0c20,             /* stp x0, x3, [x1, #-16]! */
      0x58000048,             /* ldr x8, lit */
      0x14000003,             /* b over */
      0x55667788,             /* lit: .quad 0x1122334455667788 */
      0x11223344, 0x37180048, /* over: tbnz w8, #3, 1f */
      0xd2800029,             /* mov x9, #0x1 */
      0xb4000049,             /* 1: cbz x9, 2f */
      0xd280004a,             /* mov x10, #0x2 */
      0x94000002,             /* 2: bl 3f */
      0xd280006b,             /* mov x11, #0x3 */
      0xd4000001,             /* 3: svc #0x0 */
  };
  tv_load(t, code, sizeof code / 4);
  uint8_t *d = t->mem + (TV_DATA - TV_BASE);
  for (int i = 0; i < 64; i++)
    d[i] = (uint8_t)(0x80 + i * 3);
  uint8_t ref[64];
  memcpy(ref, d, 64);
  t->cpu.r[1] = TV_DATA + 16;
  t->cpu.r[2] = (uint64_t)-2; /* sxtw(-2) << 2 = -8 */
  t->cpu.r[9] = 0;
  t->cpu.r[10] = 77;
  assert_int_equal(emu_run(&t->cpu, 0), EMU_EXIT_SVC);
  uint64_t x0;
  memcpy(&x0, ref + 24, 8);
  assert_int_equal(t->cpu.r[0], x0);
  /* str x0, [x1,#-8]! : x1 = DATA+16, stored at DATA+16 */
  memcpy(ref + 16, &x0, 8);
  uint32_t w3;
  memcpy(&w3, ref + 16 - 8, 4);
  assert_int_equal(t->cpu.r[3], w3);
  ref[16 - 2] = (uint8_t)w3;
  assert_int_equal(t->cpu.r[4], (uint64_t)(int64_t)(int8_t)ref[17]);
  int16_t h;
  memcpy(&h, ref + 18, 2);
  assert_int_equal(t->cpu.r[5], (uint32_t)(int32_t)h);
  uint32_t w6, w7;
  memcpy(&w6, ref + 20, 4);
  memcpy(&w7, ref + 24, 4);
  assert_int_equal(t->cpu.r[6], w6);
  assert_int_equal(t->cpu.r[7], w7);
  memcpy(ref + 0, &x0, 8);
  uint64_t x3 = w3;
  memcpy(ref + 8, &x3, 8);
  assert_memory_equal(d, ref, 64);
  assert_int_equal(t->cpu.r[1], TV_DATA);
  assert_int_equal(t->cpu.r[8], 0x1122334455667788ull);
  assert_int_equal(t->cpu.r[9], 0);   /* tbnz taken: skipped */
  assert_int_equal(t->cpu.r[10], 77); /* cbz taken: skipped */
  assert_int_equal(t->cpu.r[11], 0);  /* bl skipped the mov */
  assert_int_equal(t->cpu.r[30], TV_BASE + 17 * 4);
}

/* An upper-half page (bit 55 set: a kernel's TTBR1 half) beside the
 * fake environment's lower-half one; it maps one of two host pages
 * (t->remap), as a guest page table can map a VA to either. */
#define HI_BASE 0xffff800000010000ull
struct tv2 {
  struct tv tv; /* first: tv_fill sees a struct tv */
  _Alignas(4096) uint8_t hi[4096];
  _Alignas(4096) uint8_t hi2[4096];
  int remap;
};
static int tv2_fill(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                    unsigned size) {
  struct tv2 *t = cpu->env_opaque;
  if ((va & EMU_PAGE_MASK) != HI_BASE)
    return tv_fill(cpu, va, acc, size);
  struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
  e->tag_read = e->tag_write = e->tag_exec = va & EMU_PAGE_MASK;
  e->addend = (uintptr_t)(t->remap ? t->hi2 : t->hi) - HI_BASE;
  return 0;
}
static const struct emu_env_ops tv2_ops = {
    .tlb_fill = tv2_fill,
    .mmio_read = tv_mmio_read,
    .mmio_write = tv_mmio_write,
};

static uint64_t run_at(struct emu_cpu *cpu, uint64_t pc) {
  cpu->pc = pc;
  cpu->r[0] = 0;
  assert_int_equal(emu_run(cpu, 0), EMU_EXIT_SVC);
  return cpu->r[0];
}

static void put_mov_svc(uint8_t *page, unsigned imm) {
  const uint32_t code[] = {
      0xd2800000u | imm << 5, /* mov x0, #imm */
      0xd4000001,             /* svc #0x0 */
  };
  memcpy(page, code, sizeof code);
}

/* Decoded code is keyed by the physical (host) page behind the VA: a
 * remap runs the other page's code with no code flush, and mapping the
 * first page back finds its blocks again without decoding. Host writes
 * the soft TLB does not see (a device's DMA) need emu_code_invalidate_host
 * (IC IVAU), which drops that page's code only; a guest store to a code
 * page drops its code by itself. */
static void test_code_keyed_by_physical_page(void **state) {
  (void)state;
  struct tv2 *t = aligned_alloc(4096, sizeof *t);
  assert_non_null(t);
  memset(t, 0, sizeof *t);
  assert_int_equal(emu_cpu_init(&t->tv.cpu, &tv2_ops, t), 0);
  struct emu_cpu *cpu = &t->tv.cpu;
  put_mov_svc(t->tv.mem, 1);
  put_mov_svc(t->hi, 1);
  put_mov_svc(t->hi2, 2);
  assert_int_equal(run_at(cpu, TV_BASE), 1);
  assert_int_equal(run_at(cpu, HI_BASE), 1);

  t->remap = 1; /* HI_BASE -> hi2, as after a TLBI */
  emu_tlb_flush_page(cpu, HI_BASE);
  assert_int_equal(run_at(cpu, HI_BASE), 2);
  t->remap = 0;
  emu_tlb_flush_page(cpu, HI_BASE);
  uint64_t built = cpu->stats.blocks_built;
  assert_int_equal(run_at(cpu, HI_BASE), 1);
  assert_int_equal(cpu->stats.blocks_built, built); /* found, not decoded */

  /* Behind the TLB's back: still the cached code until IC IVAU. */
  put_mov_svc(t->hi, 3);
  put_mov_svc(t->tv.mem, 3);
  assert_int_equal(run_at(cpu, HI_BASE), 1);
  emu_code_invalidate_host(cpu, t->hi);
  assert_int_equal(run_at(cpu, HI_BASE), 3);
  assert_int_equal(run_at(cpu, TV_BASE), 1); /* another page: kept */
  emu_flush_code(cpu);
  assert_int_equal(run_at(cpu, TV_BASE), 3);

  /* A guest store into the code page HI_BASE: str w1, [x2]; svc #0 at
   * TV_BASE + 0x100, then the rewritten code runs. */
  static const uint32_t store[] = {0xb9000041, 0xd4000001};
  memcpy(t->tv.mem + 0x100, store, sizeof store);
  cpu->r[1] = 0xd2800000u | 4 << 5; /* mov x0, #4 */
  cpu->r[2] = HI_BASE;
  cpu->pc = TV_BASE + 0x100;
  assert_int_equal(emu_run(cpu, 0), EMU_EXIT_SVC);
  assert_int_equal(run_at(cpu, HI_BASE), 4);
  /* The same through the other mapping of that code's page: a store at
   * TV_BASE (its own page, which holds the store's block too). */
  cpu->r[1] = 0xd2800000u | 5 << 5; /* mov x0, #5 */
  cpu->r[2] = TV_BASE;
  cpu->pc = TV_BASE + 0x100;
  assert_int_equal(emu_run(cpu, 0), EMU_EXIT_SVC);
  assert_int_equal(run_at(cpu, TV_BASE), 5);
  emu_cpu_destroy(cpu);
  free(t);
}

/* The exec helpers of the loads and stores (emu_exec_helper[op]) do what
 * the interpreter's handlers do: random encodings of every integer
 * load/store op, random registers (half of them pointing into the data
 * area), the same memory; the same registers, memory, exclusive monitor
 * and faults must come out. */
static const struct emu_insn *stop_insn(struct emu_cpu *cpu,
                                        const struct emu_insn *in) {
  (void)cpu, (void)in;
  return NULL;
}
static uint64_t xs = 0x9e3779b97f4a7c15ull;
static uint64_t xrnd(void) {
  xs ^= xs << 13;
  xs ^= xs >> 7;
  xs ^= xs << 17;
  return xs;
}
/* 1 when the insn raised (a fault: state as before it) */
static int run_one(struct tv *t, const struct emu_insn *in, int helper) {
  struct emu_insn arr[2] = {*in, {.fn = stop_insn}};
  if (sigsetjmp(t->cpu.jmp, 0))
    return 1;
  if (helper)
    emu_exec_helper[in->op](&t->cpu, &arr[0]);
  else
    arr[0].fn(&t->cpu, &arr[0]);
  return 0;
}
static void test_exec_helpers_memory(void **state) {
  (void)state;
  struct tv *a = aligned_alloc(4096, sizeof *a);
  struct tv *b = aligned_alloc(4096, sizeof *b);
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(emu_cpu_init(&a->cpu, &tv_ops, a), 0);
  assert_int_equal(emu_cpu_init(&b->cpu, &tv_ops, b), 0);
  unsigned tested = 0, faulted = 0;
  for (unsigned i = 0; i < 1000000 && tested < 20000; i++) {
    uint32_t raw = (uint32_t)xrnd();
    struct emu_insn in;
    emu_decode(&in, raw, TV_BASE + 0x100);
    if (in.op < EMU_OP_PRFM_UIMM || in.op > EMU_OP_STLR)
      continue;
    for (unsigned r = 0; r < EMU_NREGS; r++)
      a->cpu.r[r] =
          xrnd() & 1 ? TV_DATA + 0x1000 + (xrnd() & 0xff0) : xrnd() & 0xff;
    a->cpu.r[EMU_XZR] = 0;
    a->cpu.nzcv = (uint32_t)xrnd() & 0xf0000000u;
    /* a monitor armed at the place a store-exclusive may aim at */
    a->cpu.excl_addr = a->cpu.r[xrnd() % 31];
    a->cpu.excl_size = xrnd() & 1 ? 8 : 4;
    memcpy(a->cpu.excl_val, &a->mem[a->cpu.excl_addr & 0xfff0 & 0xffff],
           sizeof a->cpu.excl_val);
    for (unsigned k = 0; k < TV_SIZE; k += 8) {
      uint64_t v = xrnd();
      memcpy(&a->mem[k], &v, 8);
    }
    memcpy(b->mem, a->mem, TV_SIZE);
    memcpy(b->cpu.r, a->cpu.r, sizeof a->cpu.r);
    b->cpu.nzcv = a->cpu.nzcv;
    b->cpu.excl_addr = a->cpu.excl_addr;
    b->cpu.excl_size = a->cpu.excl_size;
    memcpy(b->cpu.excl_val, a->cpu.excl_val, sizeof a->cpu.excl_val);
    int fa = run_one(a, &in, 0), fb = run_one(b, &in, 1);
    if (fa != fb || memcmp(a->cpu.r, b->cpu.r, sizeof a->cpu.r) ||
        memcmp(a->mem, b->mem, TV_SIZE) ||
        a->cpu.excl_size != b->cpu.excl_size ||
        (fa && (a->cpu.exit_kind != b->cpu.exit_kind ||
                a->cpu.exit_addr != b->cpu.exit_addr)))
      fail_msg("%08x (%s): helper and handler differ (raised %d/%d)", raw,
               emu_op_name[in.op], fa, fb);
    tested++;
    faulted += (unsigned)fa;
  }
  assert_int_equal(tested, 20000);
  assert_true(faulted > 100 && faulted < tested - 5000);
  emu_cpu_destroy(&a->cpu);
  emu_cpu_destroy(&b->cpu);
  free(a);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_loop_and_flags, setup, teardown),
      cmocka_unit_test(test_code_keyed_by_physical_page),
      cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exclusives, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fault_leaves_state, setup, teardown),
      cmocka_unit_test_setup_teardown(test_undefined, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bitfield_misc, setup, teardown),
      cmocka_unit_test_setup_teardown(test_loads_stores_branches, setup,
                                      teardown),
      cmocka_unit_test(test_exec_helpers_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
