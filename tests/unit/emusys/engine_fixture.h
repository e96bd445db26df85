/* engine_fixture.h — a whole emu engine (src/engine/emu.c) on 1 MiB of
 * RAM with a 1-vCPU GICv3 machine and an empty bus, for tests that run a
 * few hand-assembled instructions at RAM_BASE (MMU off, EL1) through the
 * engine's real vCPU thread and watch a slot in RAM the code stores to.
 *
 * Test thread; the engine's vCPU thread runs the guest and calls on_exit.
 */
#ifndef VMK_TEST_ENGINE_FIXTURE_H
#define VMK_TEST_ENGINE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "machine/memmap.h"

#define EF_RAM_SIZE (1u << 20)
#define EF_SLOT_OFF 0x1000u /* where the test programs store their value */

/* A counting loop, at RAM_BASE, MMU off, EL1:
 *   movz x2, #0x4000, lsl #16 ; x2 = 0x40000000
 *   add  x2, x2, #1, lsl #12  ; x2 = the slot
 * 1:add  x1, x1, #1
 *   str  x1, [x2]
 *   b    1b */
static const uint32_t ef_count_loop[] = {0xd2a80002, 0x91400442, 0x91000421,
                                         0xf9000041, 0x17fffffe};

struct engine_fixture {
  struct vmk_guest_mem ram;
  struct vmk_bus bus;
  struct vmk_engine *e;
};

/* Fresh RAM holding the program at RAM_BASE (no engine yet). */
static inline void ef_ram(struct engine_fixture *f, const void *code,
                          size_t size) {
  f->ram.base = VMK_RAM_BASE;
  f->ram.size = EF_RAM_SIZE;
  f->ram.host = mmap(NULL, EF_RAM_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_ptr_not_equal(f->ram.host, MAP_FAILED);
  memcpy(f->ram.host, code, size);
}

/* A 1-vCPU emu engine on f's RAM (interpreted, or translated with jit). */
static inline void ef_engine(struct engine_fixture *f, bool jit,
                             void (*on_exit)(void *, vmk_exit_reason,
                                             const vmk_error *),
                             void *opaque) {
  vmk_bus_init(&f->bus);
  struct vmk_engine_config cfg = {
      .cpus = 1,
      .ram = &f->ram,
      .bus = &f->bus,
      .gicd_base = VMK_GICD_BASE,
      .gicd_size = VMK_GICD_SIZE,
      .gicr_base = VMK_GICR_BASE,
      .gicr_size = VMK_GICR_STRIDE,
      .nr_spis = VMK_NR_SPIS,
      .emu_jit = jit,
      .on_exit = on_exit,
      .opaque = opaque,
  };
  vmk_error err;
  assert_int_equal(vmk_engine_emu_ops.create(&cfg, &f->e, &err), 0);
}

/* The engine (if any) destroyed and the RAM unmapped. */
static inline void ef_free(struct engine_fixture *f) {
  if (f->e)
    f->e->ops->destroy(f->e);
  f->e = NULL;
  munmap(f->ram.host, EF_RAM_SIZE);
}

static inline uint64_t ef_slot(const struct engine_fixture *f) {
  return __atomic_load_n((uint64_t *)(f->ram.host + EF_SLOT_OFF),
                         __ATOMIC_SEQ_CST);
}

#endif
