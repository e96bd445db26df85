/* fuzz_balloon.c — fuzz target for virtio-balloon: the statistics parser
 * on raw bytes, then the device behind the virtio-mmio transport driven by
 * a little program read from the input: PFN buffers on the inflate and
 * deflate queues (PFNs near, inside and outside RAM), reporting ranges,
 * statistics buffers of any length and content, raw descriptors and avail
 * entries, register and config-space writes (resets included), target
 * changes and statistics requests. RAM is an anonymous mapping, as in a VM,
 * so inflating and reporting really madvise it. Only crashes, hangs, leaks
 * and sanitizer reports count as failures.
 * Single-threaded: the caller's thread plays vCPU, I/O thread and host.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/io_loop.h"
#include "base/le.h"
#include "virtio/balloon.h"
#include "virtio/mmio.h"

#include "fuzz_input.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x40000u
#define DATA_OFF 0x10000u
#define MAX_OPS 1024
#define NQ 4

struct fz {
  uint8_t *ram;
  struct vmk_guest_mem gm;
  struct vmk_io_loop loop;
  struct vmk_virtio_mmio *t;
  struct vmk_virtio_device *dev;
  uint16_t qsize[NQ], avail_idx[NQ], next_desc[NQ];
};

static void irq_set(void *opaque, unsigned spi, bool level) {
  (void)opaque;
  (void)spi;
  (void)level;
}
static const struct vmk_irq_chip chip = {.set_level = irq_set};

static uint64_t ring(unsigned q) { return RAM_BASE + 0x3000ull * q; }

static void wr(struct fz *f, uint64_t off, uint32_t v) {
  vmk_virtio_mmio_ops.write(f->t, off, 4, v);
}

static void run(struct fz *f) {
  for (int i = 0; i < 16; i++)
    if (vmk_io_loop_run_once(&f->loop, 0) <= 0)
      return;
}

/* Negotiates VERSION_1 plus the balloon feature bits the input picks
 * (which renumbers the stats and reporting queues). */
static void driver_init(struct fz *f, struct input *in) {
  wr(f, VMK_VIRTIO_MMIO_STATUS, 0);
  wr(f, VMK_VIRTIO_MMIO_STATUS, 3);
  wr(f, VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
  wr(f, VMK_VIRTIO_MMIO_DRIVER_FEATURES, u8(in) & 0x27u);
  wr(f, VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
  wr(f, VMK_VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
  wr(f, VMK_VIRTIO_MMIO_STATUS, 0xb);
  for (unsigned q = 0; q < NQ; q++) {
    uint16_t size = (uint16_t)(1u << (u8(in) % 6 + 2));
    f->qsize[q] = size;
    f->avail_idx[q] = f->next_desc[q] = 0;
    uint64_t r = ring(q);
    memset(f->ram + (r - RAM_BASE), 0, 0x3000);
    wr(f, VMK_VIRTIO_MMIO_QUEUE_SEL, q);
    wr(f, VMK_VIRTIO_MMIO_QUEUE_NUM, size);
    wr(f, VMK_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r);
    wr(f, VMK_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(r + 0x1000));
    wr(f, VMK_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(r + 0x2000));
    wr(f, VMK_VIRTIO_MMIO_QUEUE_READY, 1);
  }
  wr(f, VMK_VIRTIO_MMIO_STATUS, 0xf);
}

static void put_desc(struct fz *f, unsigned q, uint16_t i, uint64_t addr,
                     uint32_t len, uint16_t flags, uint16_t next) {
  uint8_t *p = f->ram + (ring(q) - RAM_BASE) + 16u * (i & 0xff);
  vmk_put_le64(p, addr);
  vmk_put_le32(p + 8, len);
  vmk_put_le16(p + 12, flags);
  vmk_put_le16(p + 14, next);
}

static void put_avail(struct fz *f, unsigned q, uint16_t head) {
  uint8_t *a = f->ram + (ring(q) - RAM_BASE + 0x1000);
  uint16_t size = f->qsize[q] ? f->qsize[q] : 1;
  vmk_put_le16(a + 4 + 2 * (f->avail_idx[q] % size), head);
  f->avail_idx[q]++;
  vmk_put_le16(a + 2, f->avail_idx[q]);
}

/* A one-descriptor chain at a data offset, clipped to RAM; returns its
 * host pointer and (through len) its length. */
static uint8_t *chain1(struct fz *f, unsigned q, uint32_t off, uint32_t *len,
                       bool writable) {
  off %= RAM_SIZE - DATA_OFF;
  if (*len > RAM_SIZE - DATA_OFF - off)
    *len = RAM_SIZE - DATA_OFF - off;
  uint64_t gpa = RAM_BASE + DATA_OFF + off;
  uint16_t size = f->qsize[q] ? f->qsize[q] : 1;
  uint16_t d = f->next_desc[q]++ % size;
  put_desc(f, q, d, gpa, *len, writable ? 2 : 0, 0);
  put_avail(f, q, d);
  return f->ram + DATA_OFF + off;
}

/* PFNs mostly in RAM, some just outside it and some anywhere. */
static void pfn_buffer(struct fz *f, struct input *in, unsigned q) {
  uint32_t n = u8(in) % 64 + 1;
  uint32_t len = 4 * n + (u8(in) % 16 == 0 ? u8(in) % 4 : 0);
  uint8_t *p = chain1(f, q, u16(in) & ~3u, &len, u8(in) % 32 == 0);
  uint32_t first = (uint32_t)(RAM_BASE / VMK_BALLOON_PAGE);
  uint32_t pages = RAM_SIZE / VMK_BALLOON_PAGE;
  for (uint32_t i = 0; i + 4 <= len; i += 4) {
    uint8_t k = u8(in);
    uint32_t pfn = k < 200 ? first + (DATA_OFF / VMK_BALLOON_PAGE) +
                                 k % (pages - DATA_OFF / VMK_BALLOON_PAGE)
                   : k < 230 ? first + pages + k % 3 - 1
                             : u32(in);
    vmk_put_le32(p + i, pfn);
  }
  wr(f, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, q);
  run(f);
}

static void stats_buffer(struct fz *f, struct input *in, unsigned q) {
  uint32_t n = u8(in) % 20;
  uint32_t len = n * VMK_BALLOON_STAT_LEN;
  if (u8(in) % 8 == 0)
    len = u16(in) % 1024;
  uint8_t *p = chain1(f, q, u16(in), &len, u8(in) % 32 == 0);
  for (uint32_t i = 0; i < len; i++)
    p[i] = u8(in);
  wr(f, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, q);
  run(f);
}

static void report_buffer(struct fz *f, struct input *in, unsigned q) {
  unsigned n = u8(in) % 4 + 1;
  uint16_t size = f->qsize[q] ? f->qsize[q] : 1;
  uint16_t head = f->next_desc[q] % size;
  for (unsigned i = 0; i < n; i++) {
    uint16_t d = f->next_desc[q]++ % size;
    uint8_t k = u8(in);
    uint64_t gpa = RAM_BASE + DATA_OFF + u16(in) * 4ull;
    uint32_t len = (u8(in) + 1u) * 256;
    if (k % 16 == 0) /* anywhere at all */
      gpa = (uint64_t)u32(in) << (u8(in) % 16), len = u32(in);
    put_desc(f, q, d, gpa, len, k & 1 ? 2 : 0,
             i + 1 < n ? (uint16_t)(f->next_desc[q] % size) : 0);
    if (i + 1 < n)
      vmk_put_le16(f->ram + (ring(q) - RAM_BASE) + 16u * (d & 0xff) + 12,
                   (uint16_t)((k & 1 ? 2 : 0) | 1));
  }
  put_avail(f, q, head);
  wr(f, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, q);
  run(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct vmk_balloon_stat_set s;
  (void)vmk_balloon_stats_parse(data, size, RAM_SIZE, &s);
  struct input in = {data, size};
  struct fz f = {0};
  f.ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (f.ram == MAP_FAILED)
    abort();
  f.gm =
      (struct vmk_guest_mem){.base = RAM_BASE, .size = RAM_SIZE, .host = f.ram};
  vmk_error err;
  if (vmk_io_loop_init(&f.loop, &err))
    abort();
  if (vmk_virtio_balloon_create(u16(&in), &f.dev, &err)) {
    fprintf(stderr, "fuzz: %s\n", err.msg);
    abort();
  }
  struct vmk_irq_line line = {.chip = &chip, .spi = 0};
  if (vmk_virtio_mmio_create(f.dev, &f.gm, line, &f.loop, &f.t, &err)) {
    fprintf(stderr, "fuzz: %s\n", err.msg);
    abort();
  }
  driver_init(&f, &in);
  for (int op = 0; op < MAX_OPS && in.n; op++) {
    switch (u8(&in) % 11) {
    case 0: /* raw register write (status resets, queue registers) */
      wr(&f, (uint64_t)(u8(&in) % 0x40) * 4, u32(&in));
      break;
    case 1: { /* config space access of any size */
      static const unsigned sizes[] = {1, 2, 4, 8};
      unsigned sz = sizes[u8(&in) % 4];
      uint64_t off = VMK_VIRTIO_MMIO_CONFIG + u8(&in) % 24;
      if (u8(&in) & 1)
        vmk_virtio_mmio_ops.write(f.t, off, sz, u32(&in));
      else
        (void)vmk_virtio_mmio_ops.read(f.t, off, sz);
      break;
    }
    case 2: { /* a raw descriptor */
      unsigned q = u8(&in) % NQ;
      uint16_t i = u8(&in);
      uint8_t fl = u8(&in);
      put_desc(&f, q, i, RAM_BASE + DATA_OFF + u16(&in) % 0x8000,
               fl & 0x40 ? u32(&in) : u16(&in) & 0xfff, fl & 7,
               u16(&in) & 0x1ff);
      break;
    }
    case 3: { /* an avail entry, and a kick */
      unsigned q = u8(&in) % NQ;
      put_avail(&f, q, u16(&in) & 0x1ff);
      wr(&f, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, q);
      run(&f);
      break;
    }
    case 4:
      driver_init(&f, &in);
      break;
    case 5:
    case 6:
      pfn_buffer(&f, &in, u8(&in) % NQ);
      break;
    case 7:
      stats_buffer(&f, &in, u8(&in) % NQ);
      break;
    case 8:
      report_buffer(&f, &in, u8(&in) % NQ);
      break;
    case 9:
      vmk_virtio_balloon_set_target(f.dev, u32(&in));
      run(&f);
      break;
    case 10: {
      struct vmk_balloon_info bi;
      vmk_virtio_balloon_info(f.dev, u8(&in) & 1, &bi);
      run(&f);
      break;
    }
    }
  }
  run(&f);
  vmk_virtio_mmio_destroy(f.t);
  vmk_io_loop_destroy(&f.loop);
  munmap(f.ram, RAM_SIZE);
  return 0;
}
