/* irq.h — interrupt lines from devices to the interrupt controller.
 *
 * A device holds a vmk_irq_line and sets its level; the engine behind the
 * chip (in-kernel vGIC for kvm, emulated GICv3 for emu) turns that into a
 * guest interrupt. Lines are level-triggered SPIs numbered from 0 (GIC INTID
 * 32 + spi). set_level may be called from any thread.
 */
#ifndef VMK_DEVICES_IRQ_H
#define VMK_DEVICES_IRQ_H

#include <stdbool.h>

struct vmk_irq_chip {
  void (*set_level)(void *opaque, unsigned spi, bool level);
  void *opaque;
};

struct vmk_irq_line {
  const struct vmk_irq_chip *chip;
  unsigned spi;
};

static inline void vmk_irq_set(const struct vmk_irq_line *line, bool level) {
  if (line->chip)
    line->chip->set_level(line->chip->opaque, line->spi, level);
}

#endif
