/* test_jit_tlb.c — the soft TLB's reach (cpu.h: EMU_TLB_SIZE) as the
 * interpreter and translated code use it: two data pages 4 MiB apart (a
 * program walking 8 MiB, as bench/cpu.sh's chase) both stay in the TLB
 * through a loop of loads and stores, and a third page EMU_TLB_SIZE
 * pages on, which shares the first one's slot, evicts it: the next load
 * there refills it and reads the right memory. Counted with
 * cpu->stats.tlb_fills, in three modes: interpreter, JIT with the W^X
 * code region, JIT with the single mapping (user mode's). And the same
 * at code context 1 with view 1 (system mode's EL1), the other view's
 * entries of the data pages valid but leading elsewhere: translated code
 * indexes its context's view (chain.h: tlb_view) and none other.
 * Single-threaded test program.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emu/cpu.h"
#include "emu/jit/code_buf.h"
#include "emu/mem.h"
#include "vmkit/vmkit.h"

#if defined(__x86_64__)

#define CODE_VA 0x10000ull
#define D0 0x1000000ull
#define D1 (D0 + (4ull << 20))
#define D2 (D0 + (uint64_t)EMU_TLB_SIZE * EMU_PAGE_SIZE)
#define LOOPS 100

struct env {
  struct emu_cpu cpu;
  _Alignas(4096) uint8_t page[4][4096]; /* code, D0, D1, D2 */
  _Alignas(4096) uint8_t poison[4096];  /* the other view's data pages */
};

static int fill(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                unsigned size) {
  (void)acc, (void)size;
  static const uint64_t at[4] = {CODE_VA, D0, D1, D2};
  struct env *t = cpu->env_opaque;
  for (unsigned i = 0; i < 4; i++)
    if ((va & EMU_PAGE_MASK) == at[i]) {
      struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
      e->tag_read = e->tag_write = e->tag_exec = at[i];
      e->addend = (uintptr_t)t->page[i] - at[i];
      return 0;
    }
  return -1;
}
static uint64_t mmio_read(struct emu_cpu *c, uint64_t va, unsigned s) {
  (void)c, (void)va, (void)s;
  return 0;
}
static void mmio_write(struct emu_cpu *c, uint64_t va, unsigned s, uint64_t v) {
  (void)c, (void)va, (void)s, (void)v;
}
static const struct emu_env_ops ops = {
    .tlb_fill = fill, .mmio_read = mmio_read, .mmio_write = mmio_write};

static const uint32_t code[] = {
    0xf9400026, /* loop: ldr x6, [x1] */
    0xf9400047, /* ldr x7, [x2] */
    0x8b060000, /* add x0, x0, x6 */
    0x8b070000, /* add x0, x0, x7 */
    0xf9000440, /* str x0, [x2, #8] */
    0xf10004a5, /* subs x5, x5, #0x1 */
    0x54ffff41, /* b.ne loop */
    0xf9400068, /* ldr x8, [x3]   (D2: D0's slot) */
    0xf9400029, /* ldr x9, [x1]   (D0 again) */
    0x8b080000, /* add x0, x0, x8 */
    0x8b090000, /* add x0, x0, x9 */
    0xd4000001, /* svc #0x0 */
};

static void run_mode(int mode, unsigned view) {
  struct env *t = aligned_alloc(4096, sizeof *t);
  assert_non_null(t);
  memset(t, 0, sizeof *t);
  assert_int_equal(emu_cpu_init(&t->cpu, &ops, t), 0);
  if (mode) {
    vmk_error err = {0};
    assert_int_equal(emu_cpu_enable_jit(&t->cpu,
                                        mode == 2 ? EMU_CODE_BUF_SINGLE_MAP : 0,
                                        &err),
                     0);
  }
  memcpy(t->page[0], code, sizeof code);
  const uint64_t v0 = 0x1111, v1 = 0x20000, v2 = 0x3000000;
  memcpy(t->page[1], &v0, 8);
  memcpy(t->page[2], &v1, 8);
  memcpy(t->page[3], &v2, 8);
  struct emu_cpu *cpu = &t->cpu;
  cpu->tlb = cpu->tlb_views[view];
  cpu->code_ctx = view;
  emu_tlb_flush(cpu);
  memset(t->poison, 0x55, sizeof t->poison);
  static const uint64_t data[3] = {D0, D1, D2};
  for (unsigned i = 0; i < 3; i++) {
    struct emu_tlb_entry *e =
        &cpu->tlb_views[view ^ 1]
                       [(data[i] >> EMU_PAGE_BITS) & (EMU_TLB_SIZE - 1)];
    e->tag_read = e->tag_write = data[i];
    e->addend = (uintptr_t)t->poison - data[i];
  }
  cpu->pc = CODE_VA;
  cpu->r[1] = D0;
  cpu->r[2] = D1;
  cpu->r[3] = D2;
  cpu->r[5] = LOOPS;
  assert_int_equal(emu_run(cpu, 0), EMU_EXIT_SVC);
  uint64_t sum = LOOPS * (v0 + v1), stored;
  memcpy(&stored, t->page[2] + 8, 8);
  assert_int_equal(stored, sum);
  assert_int_equal(cpu->r[0], sum + v2 + v0);
  assert_int_equal(cpu->r[9], v0);
  /* the code page, D0 and D1 once each; then D2, and D0 after it */
  assert_int_equal(cpu->stats.tlb_fills, 5);
  emu_cpu_destroy(cpu);
  free(t);
}

static void test_reach_and_eviction(void **state) {
  (void)state;
  for (int mode = 0; mode < 3; mode++)
    for (unsigned view = 0; view < 2; view++)
      run_mode(mode, view);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reach_and_eviction),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

#else
int main(void) { return 0; }
#endif
