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

#include "fuzz_driver.h"
#include "fuzz_input.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x40000u
#define DATA_OFF 0x10000u
#define MAX_OPS 1024
#define NQ 4

struct fz {
  struct fzd d;
  struct vmk_virtio_device *dev;
};

/* PFNs mostly in RAM, some just outside it and some anywhere. */
static void pfn_buffer(struct fz *f, struct input *in, unsigned q) {
  uint32_t n = u8(in) % 64 + 1;
  uint32_t len = 4 * n + (u8(in) % 16 == 0 ? u8(in) % 4 : 0);
  uint8_t *p = f->d.ram + (fzd_chain1(&f->d, q, u16(in) & ~3u, len,
                                      u8(in) % 32 == 0, &len) -
                           RAM_BASE);
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
  fzd_wr(&f->d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, q);
  fzd_run(&f->d);
}

static void stats_buffer(struct fz *f, struct input *in, unsigned q) {
  uint32_t n = u8(in) % 20;
  uint32_t len = n * VMK_BALLOON_STAT_LEN;
  if (u8(in) % 8 == 0)
    len = u16(in) % 1024;
  uint8_t *p =
      f->d.ram +
      (fzd_chain1(&f->d, q, u16(in), len, u8(in) % 32 == 0, &len) - RAM_BASE);
  for (uint32_t i = 0; i < len; i++)
    p[i] = u8(in);
  fzd_wr(&f->d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, q);
  fzd_run(&f->d);
}

static void report_buffer(struct fz *f, struct input *in, unsigned q) {
  unsigned n = u8(in) % 4 + 1;
  uint16_t size = f->d.qsize[q] ? f->d.qsize[q] : 1;
  uint16_t head = f->d.next_desc[q] % size;
  for (unsigned i = 0; i < n; i++) {
    uint16_t d = f->d.next_desc[q]++ % size;
    uint8_t k = u8(in);
    uint64_t gpa = RAM_BASE + DATA_OFF + u16(in) * 4ull;
    uint32_t len = (u8(in) + 1u) * 256;
    if (k % 16 == 0) /* anywhere at all */
      gpa = (uint64_t)u32(in) << (u8(in) % 16), len = u32(in);
    fzd_put_desc(&f->d, q, d, gpa, len, k & 1 ? 2 : 0,
                 i + 1 < n ? (uint16_t)(f->d.next_desc[q] % size) : 0);
    if (i + 1 < n)
      vmk_put_le16(f->d.ram + (fzd_ring(&f->d, q) - RAM_BASE) +
                       16u * (d & 0xff) + 12,
                   (uint16_t)((k & 1 ? 2 : 0) | 1));
  }
  fzd_put_avail(&f->d, q, head);
  fzd_wr(&f->d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, q);
  fzd_run(&f->d);
}

/* Features: VERSION_1 plus the balloon feature bits the input picks
 * (which renumbers the stats and reporting queues). */
static void features(struct fzd *d, struct input *in) {
  fzd_features_low(d, u8(in) & 0x27u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct vmk_balloon_stat_set s;
  (void)vmk_balloon_stats_parse(data, size, RAM_SIZE, &s);
  struct input in = {data, size};
  struct fz f = {.d = {.ram_base = RAM_BASE,
                       .ram_size = RAM_SIZE,
                       .data_off = DATA_OFF,
                       .ring_stride = 0x3000,
                       .used_off = 0x2000,
                       .nq = NQ,
                       .rounds = 16,
                       .size_mod = 6,
                       .size_shift = 2,
                       .features = features}};
  f.d.ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (f.d.ram == MAP_FAILED)
    abort();
  fzd_start(&f.d);
  vmk_error err;
  if (vmk_virtio_balloon_create(u16(&in), &f.dev, &err)) {
    fprintf(stderr, "fuzz: %s\n", err.msg);
    abort();
  }
  fzd_attach(&f.d, f.dev);
  fzd_driver_init(&f.d, &in);
  for (int op = 0; op < MAX_OPS && in.n; op++) {
    switch (u8(&in) % 11) {
    case 0: /* raw register write (status resets, queue registers) */
      fzd_wr(&f.d, (uint64_t)(u8(&in) % 0x40) * 4, u32(&in));
      break;
    case 1: { /* config space access of any size */
      static const unsigned sizes[] = {1, 2, 4, 8};
      unsigned sz = sizes[u8(&in) % 4];
      uint64_t off = VMK_VIRTIO_MMIO_CONFIG + u8(&in) % 24;
      if (u8(&in) & 1)
        vmk_virtio_mmio_ops.write(f.d.t, off, sz, u32(&in));
      else
        (void)vmk_virtio_mmio_ops.read(f.d.t, off, sz);
      break;
    }
    case 2: /* a raw descriptor */
      fzd_op_desc(&f.d, &in, 0x8000);
      break;
    case 3: /* an avail entry, and a kick */
      fzd_op_avail_kick(&f.d, &in);
      break;
    case 4:
      fzd_driver_init(&f.d, &in);
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
      fzd_run(&f.d);
      break;
    case 10: {
      struct vmk_balloon_info bi;
      vmk_virtio_balloon_info(f.dev, u8(&in) & 1, &bi);
      fzd_run(&f.d);
      break;
    }
    }
  }
  fzd_run(&f.d);
  fzd_stop(&f.d);
  munmap(f.d.ram, RAM_SIZE);
  return 0;
}
