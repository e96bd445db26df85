/* emu_test_env.h — a fake environment for running hand-assembled A64
 * code through emu_run in unit tests: guest VA [TV_BASE, TV_BASE+TV_SIZE)
 * is one host buffer (code at TV_BASE, data at TV_DATA); the page at
 * TV_NOACCESS faults. Single-threaded test code.
 */
#ifndef VMK_TEST_EMU_ENV_H
#define VMK_TEST_EMU_ENV_H

#include <stdint.h>
#include <string.h>

#include "emu/cpu.h"
#include "emu/mem.h"

#define TV_BASE 0x10000ull
#define TV_SIZE 0x10000ull
#define TV_DATA 0x18000ull
#define TV_NOACCESS 0x1f000ull

struct tv {
  struct emu_cpu cpu;
  _Alignas(4096) uint8_t mem[TV_SIZE];
};

static int tv_fill(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                   unsigned size) {
  (void)acc, (void)size;
  struct tv *t = cpu->env_opaque;
  if (va < TV_BASE || va >= TV_BASE + TV_SIZE ||
      (va & EMU_PAGE_MASK) == TV_NOACCESS)
    return -1;
  struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
  e->tag_read = e->tag_write = e->tag_exec = va & EMU_PAGE_MASK;
  e->addend = (uintptr_t)t->mem - TV_BASE;
  return 0;
}
static uint64_t tv_mmio_read(struct emu_cpu *c, uint64_t va, unsigned s) {
  (void)c, (void)va, (void)s;
  return 0;
}
static void tv_mmio_write(struct emu_cpu *c, uint64_t va, unsigned s,
                          uint64_t v) {
  (void)c, (void)va, (void)s, (void)v;
}
static const struct emu_env_ops tv_ops = {
    .tlb_fill = tv_fill,
    .mmio_read = tv_mmio_read,
    .mmio_write = tv_mmio_write,
};

/* Loads code at TV_BASE and points pc there. */
static inline void tv_load(struct tv *t, const uint32_t *code, size_t n) {
  memcpy(t->mem, code, n * 4);
  t->cpu.pc = TV_BASE;
  emu_flush_code(&t->cpu);
}

#endif
