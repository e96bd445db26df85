/* fake_irq.h — an interrupt chip for device tests that records each line's
 * level and how often it changed. Any thread (the counters are only read
 * after the writers are done). */
#ifndef VMK_TESTS_FAKE_IRQ_H
#define VMK_TESTS_FAKE_IRQ_H

#include <stdbool.h>

#include "devices/irq.h"

struct fake_irq {
  struct vmk_irq_chip chip;
  bool level[64];
  unsigned changes[64];
};

static inline void fake_irq_set(void *opaque, unsigned spi, bool level) {
  struct fake_irq *f = opaque;
  if (spi < 64) {
    if (f->level[spi] != level)
      f->changes[spi]++;
    f->level[spi] = level;
  }
}

static inline struct vmk_irq_line fake_irq_line(struct fake_irq *f,
                                                unsigned spi) {
  f->chip.set_level = fake_irq_set;
  f->chip.opaque = f;
  struct vmk_irq_line l = {.chip = &f->chip, .spi = spi};
  return l;
}

#endif
