/* fuzz_snapshot.c — a snapshot's state file is untrusted input: the
 * container parser, the section decoder, the emu engine's loading of the
 * decoded vCPU/GIC state, the platform devices' and the virtio transport's
 * loaders (with a virtio-console behind it) take fuzzed bytes.
 *
 * Input: byte 0 even: the rest is a whole state file (reaches the parser;
 * seeds are real files). Byte 0 odd: the rest is a list of records
 * {tag index, instance, version, length (2 bytes LE), data} that the
 * harness wraps into a well-formed container with valid checksums, so the
 * decoders behind the checksums are reached. Single-threaded (the I/O
 * loop is never started).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/io_loop.h"
#include "core/snapshot.h"
#include "core/snapshot_file.h"
#include "devices/pl011.h"
#include "devices/pl031.h"
#include "devices/pl061.h"
#include "engine/engine.h"
#include "virtio/console.h"
#include "virtio/mmio.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x10000u

static const char *const tags[] = {"CONF", "BOOT", "VCPU", "GICD",
                                   "GICR", "TIME", "UART", "RTC ",
                                   "GPIO", "VIRT", "MEM ", "ZZZZ"};

static void irq_set(void *opaque, unsigned spi, bool level) {
  (void)opaque;
  (void)spi;
  (void)level;
}
static const struct vmk_irq_chip chip = {.set_level = irq_set};

static void on_exit_cb(void *opaque, vmk_exit_reason r, const vmk_error *e) {
  (void)opaque;
  (void)r;
  (void)e;
}

/* The decoded machine state into a fresh (never started) emu engine. */
static void load_engine(const struct vmk_snap_state *st) {
  static uint8_t ram[4096];
  struct vmk_guest_mem gm = {.base = RAM_BASE, .size = sizeof ram, .host = ram};
  struct vmk_bus bus;
  vmk_bus_init(&bus);
  struct vmk_engine_config cfg = {.cpus = st->arch.ncpus,
                                  .ram = &gm,
                                  .bus = &bus,
                                  .gicd_base = 0x08000000,
                                  .gicd_size = 0x10000,
                                  .gicr_base = 0x080A0000,
                                  .gicr_size = 0x20000ull * st->arch.ncpus,
                                  .nr_spis = 64,
                                  .on_exit = on_exit_cb};
  struct vmk_engine *e;
  vmk_error err;
  if (vmk_engine_emu_ops.create(&cfg, &e, &err))
    return;
  e->ops->load_state(e, &st->arch, &err);
  e->ops->destroy(e);
}

/* Every device section into a device of its kind. */
static void load_devices(const struct vmk_snap_file *f) {
  struct vmk_irq_line line = {.chip = &chip, .spi = 0};
  vmk_error err;
  for (unsigned i = 0; i < f->n; i++) {
    const struct vmk_snap_section *s = &f->sec[i];
    if (!memcmp(s->tag, "UART", 4)) {
      struct vmk_pl011 *u;
      if (!vmk_pl011_create(-1, -1, line, NULL, &u, &err)) {
        vmk_pl011_load(u, s->data, s->len, &err);
        vmk_pl011_destroy(u);
      }
    } else if (!memcmp(s->tag, "RTC ", 4)) {
      struct vmk_pl031 *r;
      if (!vmk_pl031_create(line, &r, &err)) {
        vmk_pl031_load(r, s->data, s->len, &err);
        vmk_pl031_destroy(r);
      }
    } else if (!memcmp(s->tag, "GPIO", 4)) {
      struct vmk_pl061 *g;
      if (!vmk_pl061_create(line, &g, &err)) {
        vmk_pl061_load(g, s->data, s->len, &err);
        vmk_pl061_destroy(g);
      }
    } else if (!memcmp(s->tag, "VIRT", 4)) {
      static uint8_t *ram;
      if (!ram)
        ram = aligned_alloc(4096, RAM_SIZE);
      memset(ram, 0, RAM_SIZE);
      struct vmk_guest_mem gm = {
          .base = RAM_BASE, .size = RAM_SIZE, .host = ram};
      struct vmk_io_loop loop;
      if (vmk_io_loop_init(&loop, &err))
        abort();
      struct vmk_virtio_device *dev;
      struct vmk_virtio_mmio *t;
      if (!vmk_virtio_console_create(-1, -1, &dev, &err) &&
          !vmk_virtio_mmio_create(dev, &gm, line, &loop, &t, &err)) {
        vmk_virtio_mmio_load(t, s->data, s->len, &err);
        vmk_io_loop_run_once(&loop, 0); /* serve what the load kicked */
        vmk_virtio_mmio_destroy(t);
      }
      vmk_io_loop_destroy(&loop);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  struct vmk_sbuf built = {0};
  const uint8_t *buf = data + 1;
  size_t len = size - 1;
  vmk_error err;
  if (data[0] & 1) {
    struct vmk_snap_writer w = {0};
    size_t off = 1;
    while (size - off >= 5 && w.n < VMK_SNAP_MAX_SECTIONS) {
      const char *tag = tags[data[off] % (sizeof tags / sizeof tags[0])];
      uint32_t inst = data[off + 1] % 4, version = data[off + 2] % 2 ? 1 : 2;
      size_t n = (size_t)data[off + 3] | (size_t)data[off + 4] << 8;
      off += 5;
      if (n > size - off)
        n = size - off;
      vmk_snap_add(&w, tag, inst, version, data + off, n);
      off += n;
    }
    if (vmk_snap_finish(&w, &built, &err))
      return 0;
    buf = built.p;
    len = built.len;
  }
  struct vmk_snap_file *f = malloc(sizeof *f);
  if (!vmk_snap_parse(buf, len, f, &err)) {
    load_devices(f);
    struct vmk_snap_state st;
    if (!vmk_snap_decode(f, &st, &err)) {
      load_engine(&st);
      vmk_snap_state_free(&st);
    }
  }
  free(f);
  vmk_sbuf_free(&built);
  return 0;
}
