/* irq.h — interrupt lines from devices to the interrupt controller.
 *
 * A device holds a vmk_irq_line and sets its level; the engine behind the
 * chip (in-kernel vGIC for kvm, emulated GICv3 for emu) turns that into a
 * guest interrupt. Lines are level-triggered SPIs numbered from 0 (GIC INTID
 * 32 + spi). set_level and edge may be called from any thread.
 *
 * A device whose line the device tree declares edge-triggered (virtio-mmio)
 * and that keeps its own status register may signal with vmk_irq_edge when
 * the chip has an `edge` op (kvm: one write to an irqfd, with no "lower"
 * call at all), and falls back to holding the level otherwise.
 */
#ifndef VMK_DEVICES_IRQ_H
#define VMK_DEVICES_IRQ_H

#include <stdbool.h>

struct vmk_irq_chip {
  void (*set_level)(void *opaque, unsigned spi, bool level);
  /* Optional: one rising edge on an edge-triggered line. */
  void (*edge)(void *opaque, unsigned spi);
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

/* True when the line's chip signals edges itself (see the header). */
static inline bool vmk_irq_has_edge(const struct vmk_irq_line *line) {
  return line->chip && line->chip->edge;
}

static inline void vmk_irq_edge(const struct vmk_irq_line *line) {
  if (vmk_irq_has_edge(line))
    line->chip->edge(line->chip->opaque, line->spi);
}

#endif
