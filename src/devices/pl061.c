/* pl061.c — ARM PrimeCell PL061 GPIO: eight lines, edge or level interrupts
 * as Linux's gpio-pl061 driver programs them, and an input on line 3 driven
 * by the host's power button.
 *
 * The button releases itself when the guest reads the line high instead of
 * after a host timer: gpio-keys reads the line once per interrupt, so it sees
 * "pressed" and then gets a falling edge and sees "released", with no timer
 * thread to manage. A second press before that read re-pulses the line.
 *
 * Threads: vCPU threads (MMIO ops) and any thread (press_power); g->lock
 * protects all state. */
#include "pl061.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

enum {
  REG_DATA_END = 0x400, /* 0x000-0x3FC: address bits [9:2] mask the data */
  REG_DIR = 0x400,
  REG_IS = 0x404,
  REG_IBE = 0x408,
  REG_IEV = 0x40C,
  REG_IE = 0x410,
  REG_RIS = 0x414,
  REG_MIS = 0x418,
  REG_IC = 0x41C,
  REG_AFSEL = 0x420,
  REG_ID0 = 0xFE0,
};

/* PeriphID0..3 (part 0x061, ARM, rev 0) then PrimeCell ID0..3. */
static const uint8_t pl061_id[8] = {0x61, 0x10, 0x04, 0x00,
                                    0x0d, 0xf0, 0x05, 0xb1};

#define POWER_BIT (1u << VMK_PL061_POWER_LINE)

struct vmk_pl061 {
  struct vmk_irq_line irq;
  pthread_mutex_t lock;
  uint8_t in;    /* levels driven from outside (the button) */
  uint8_t out;   /* levels the guest drives on output lines */
  uint8_t dir;   /* 1 = output */
  uint8_t is;    /* 1 = level-sensitive */
  uint8_t ibe;   /* 1 = both edges */
  uint8_t iev;   /* 1 = rising edge / high level */
  uint8_t ie;    /* interrupt mask: 1 = enabled */
  uint8_t edges; /* latched edge interrupts, cleared by IC */
  uint8_t afsel;
  bool irq_level;
};

static uint8_t pins(const struct vmk_pl061 *g) {
  return (uint8_t)((g->out & g->dir) | (g->in & ~g->dir));
}

static uint8_t ris(const struct vmk_pl061 *g) {
  uint8_t p = pins(g);
  uint8_t level = (uint8_t)(g->is & ((p & g->iev) | (~p & ~g->iev)));
  return (uint8_t)((g->edges & ~g->is) | level);
}

static void update_irq(struct vmk_pl061 *g) {
  bool level = (ris(g) & g->ie) != 0;
  if (level != g->irq_level) {
    g->irq_level = level;
    vmk_irq_set(&g->irq, level);
  }
}

/* Latches the edge interrupts of a change of the lines from old. */
static void lines_changed(struct vmk_pl061 *g, uint8_t old) {
  uint8_t now = pins(g), ch = (uint8_t)(old ^ now);
  uint8_t hit =
      (uint8_t)(ch & ~g->is & (g->ibe | (g->iev & now) | (~g->iev & ~now)));
  g->edges |= hit;
}

static uint32_t reg_read(struct vmk_pl061 *g, uint64_t reg) {
  if (reg < REG_DATA_END) {
    uint8_t mask = (uint8_t)(reg >> 2);
    uint8_t v = pins(g) & mask;
    if ((mask & POWER_BIT) && (g->in & POWER_BIT)) {
      uint8_t old = pins(g);
      g->in &= (uint8_t)~POWER_BIT; /* seen pressed: release */
      lines_changed(g, old);
    }
    return v;
  }
  switch (reg) {
  case REG_DIR:
    return g->dir;
  case REG_IS:
    return g->is;
  case REG_IBE:
    return g->ibe;
  case REG_IEV:
    return g->iev;
  case REG_IE:
    return g->ie;
  case REG_RIS:
    return ris(g);
  case REG_MIS:
    return ris(g) & g->ie;
  case REG_AFSEL:
    return g->afsel;
  default:
    if (reg >= REG_ID0 && reg < REG_ID0 + 32)
      return pl061_id[(reg - REG_ID0) / 4];
    return 0;
  }
}

static void reg_write(struct vmk_pl061 *g, uint64_t reg, uint8_t v) {
  uint8_t old = pins(g);
  if (reg < REG_DATA_END) {
    uint8_t mask = (uint8_t)(reg >> 2);
    g->out = (uint8_t)((g->out & ~mask) | (v & mask));
  } else {
    switch (reg) {
    case REG_DIR:
      g->dir = v;
      break;
    case REG_IS:
      g->is = v;
      break;
    case REG_IBE:
      g->ibe = v;
      break;
    case REG_IEV:
      g->iev = v;
      break;
    case REG_IE:
      g->ie = v;
      break;
    case REG_IC:
      g->edges &= (uint8_t)~v;
      break;
    case REG_AFSEL:
      g->afsel = v;
      break;
    default:
      return; /* read-only or unimplemented */
    }
  }
  lines_changed(g, old);
}

static uint64_t pl061_read(void *opaque, uint64_t off, unsigned size) {
  struct vmk_pl061 *g = opaque;
  if (off >= 0x1000 || size > 4)
    return 0;
  pthread_mutex_lock(&g->lock);
  uint32_t v = reg_read(g, off & ~3ull);
  update_irq(g);
  pthread_mutex_unlock(&g->lock);
  v >>= (off & 3) * 8;
  return size == 4 ? v : v & ((1u << (size * 8)) - 1);
}

static void pl061_write(void *opaque, uint64_t off, unsigned size,
                        uint64_t val) {
  struct vmk_pl061 *g = opaque;
  if (off >= 0x1000 || (off & 3) || size > 4)
    return;
  pthread_mutex_lock(&g->lock);
  reg_write(g, off, (uint8_t)val);
  update_irq(g);
  pthread_mutex_unlock(&g->lock);
}

const struct vmk_mmio_ops vmk_pl061_ops = {
    .read = pl061_read,
    .write = pl061_write,
};

void vmk_pl061_press_power(struct vmk_pl061 *g) {
  if (!g)
    return; /* a machine built without the power key */
  pthread_mutex_lock(&g->lock);
  uint8_t old = pins(g);
  if (g->in & POWER_BIT) { /* still unseen: make a fresh edge */
    g->in &= (uint8_t)~POWER_BIT;
    lines_changed(g, old);
    old = pins(g);
  }
  g->in |= POWER_BIT;
  lines_changed(g, old);
  update_irq(g);
  pthread_mutex_unlock(&g->lock);
}

int vmk_pl061_create(struct vmk_irq_line irq, struct vmk_pl061 **out,
                     vmk_error *err) {
  struct vmk_pl061 *g = calloc(1, sizeof(*g));
  *out = NULL;
  if (!g)
    return vmk_err(err, -ENOMEM, "out of memory creating the PL061 GPIO");
  g->irq = irq;
  pthread_mutex_init(&g->lock, NULL);
  *out = g;
  return 0;
}

void vmk_pl061_destroy(struct vmk_pl061 *g) {
  if (!g)
    return;
  pthread_mutex_destroy(&g->lock);
  free(g);
}

/* ---- snapshots ---- */

#define SAVE_VERSION 1

void vmk_pl061_save(struct vmk_pl061 *g, struct vmk_sbuf *out) {
  pthread_mutex_lock(&g->lock);
  vmk_sbuf_u32(out, SAVE_VERSION);
  uint8_t regs[] = {g->in,  g->out, g->dir,   g->is,   g->ibe,
                    g->iev, g->ie,  g->edges, g->afsel};
  vmk_sbuf_bytes(out, regs, sizeof regs);
  pthread_mutex_unlock(&g->lock);
}

int vmk_pl061_load(struct vmk_pl061 *g, const void *data, size_t len,
                   vmk_error *err) {
  struct vmk_sreader r = vmk_sreader_of(data, len);
  uint32_t version = vmk_sr_u32(&r);
  uint8_t regs[9];
  vmk_sr_bytes(&r, regs, sizeof regs);
  if (version != SAVE_VERSION || !vmk_sr_done(&r))
    return vmk_err(err, -EINVAL, "the snapshot's PL061 state is malformed");
  pthread_mutex_lock(&g->lock);
  g->in = regs[0];
  g->out = regs[1];
  g->dir = regs[2];
  g->is = regs[3];
  g->ibe = regs[4];
  g->iev = regs[5];
  g->ie = regs[6];
  g->edges = regs[7];
  g->afsel = regs[8];
  g->irq_level = false;
  vmk_irq_set(&g->irq, false);
  update_irq(g);
  pthread_mutex_unlock(&g->lock);
  return 0;
}
