/* jit_test_map.h — what the translator's tests share: a new emu_jit for a
 * cmocka setup, and a small guest memory map with one page of each kind
 * translated code must treat differently.
 *
 * JTM_PAGES pages from JTM_BASE are read-write data, except page JTM_RO
 * (read-only), JTM_NONE (no access), JTM_MMIO (device: reads return a
 * function of the address, writes are logged) and JTM_CODE (free for a
 * test to put a decoded block in: its TLB entries then lose the write
 * tag and a store drops the block). Every address outside faults.
 *
 * A CPU using jtm_ops has as env_opaque a struct whose first member is a
 * struct jtm_map (so a test's own callbacks can cast the same pointer to
 * their struct). Runs on the thread of the CPU that calls it; the tests
 * are single-threaded but for CPUs sharing one jtm_map's memory.
 */
#ifndef VMK_TEST_JIT_TEST_MAP_H
#define VMK_TEST_JIT_TEST_MAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "emu/cpu.h"
#include "emu/jit/translate.h"
#include "emu/mem.h"
#include "vmkit/vmkit.h"

#define JTM_BASE 0x200000ull
#define JTM_PAGES 12u
#define JTM_RO 3u
#define JTM_NONE 5u
#define JTM_MMIO 7u
#define JTM_CODE 9u
#define JTM_MMIO_LOG 64u

struct jtm_map {
  uint8_t *mem;                       /* JTM_PAGES pages, 4 KiB aligned */
  uint64_t mmio_log[JTM_MMIO_LOG][3]; /* address, size, value */
  unsigned nmmio;                     /* writes, also past the log */
};

/* The page index of va in the map, or ~0u outside it. */
static inline unsigned jtm_page(uint64_t va) {
  return va < JTM_BASE || va - JTM_BASE >= JTM_PAGES * 4096ull
             ? ~0u
             : (unsigned)((va - JTM_BASE) >> 12);
}

static inline int jtm_fill(struct emu_cpu *cpu, uint64_t va,
                           enum emu_access acc, unsigned size) {
  (void)size;
  struct jtm_map *m = cpu->env_opaque;
  unsigned pg = jtm_page(va);
  if (pg >= JTM_PAGES || pg == JTM_NONE || (pg == JTM_RO && acc == EMU_WRITE))
    return -1;
  if (pg == JTM_MMIO)
    return acc == EMU_EXEC ? -1 : 1;
  struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
  uint64_t tag = emu_tlb_tag(cpu, va);
  e->tag_read = e->tag_exec = tag;
  e->tag_write = pg == JTM_RO ? EMU_TLB_INVALID : tag;
  e->addend = (uintptr_t)m->mem - JTM_BASE;
  return 0;
}

static inline uint64_t jtm_mmio_read(struct emu_cpu *cpu, uint64_t va,
                                     unsigned s) {
  (void)cpu;
  return (va * 0x9e3779b97f4a7c15ull) >> (64 - 8 * s);
}

static inline void jtm_mmio_write(struct emu_cpu *cpu, uint64_t va, unsigned s,
                                  uint64_t v) {
  struct jtm_map *m = cpu->env_opaque;
  if (m->nmmio < JTM_MMIO_LOG) {
    m->mmio_log[m->nmmio][0] = va;
    m->mmio_log[m->nmmio][1] = s;
    m->mmio_log[m->nmmio][2] = v;
  }
  m->nmmio++;
}

static inline void jtm_mmio_clear(struct jtm_map *m) {
  m->nmmio = 0;
  memset(m->mmio_log, 0, sizeof m->mmio_log);
}

/* Both maps saw the same MMIO writes (memory is compared by the caller,
 * who knows whether the two maps share it). */
static inline bool jtm_mmio_same(const struct jtm_map *a,
                                 const struct jtm_map *b) {
  return a->nmmio == b->nmmio &&
         memcmp(a->mmio_log, b->mmio_log, sizeof a->mmio_log) == 0;
}

/* A translator for the tests' CPUs (no code bound beyond the default);
 * says why on stderr when it cannot be made. */
static inline int jtm_jit_new(struct emu_jit **jit) {
  vmk_error err;
  int r = emu_jit_new(jit, 0, 0, &err);
  if (r < 0)
    fprintf(stderr, "%s\n", err.msg);
  return r;
}

#endif
