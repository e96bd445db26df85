/* fuzz_virtio.c — fuzz target for the virtio-mmio transport, split
 * virtqueues and the blk / console / rng devices.
 *
 * The input is a little program: its first byte picks the device, then
 * each op byte picks an action — raw register reads/writes of any size and
 * offset, guest RAM writes, a well-behaved driver initialisation (so the
 * fuzzer reaches the queues quickly), descriptor and avail-ring writes,
 * blk requests with arbitrary types/sectors/lengths, notifications, running
 * the I/O loop and interrupt acks. Everything the guest controls is thus
 * fuzzed; the harness only checks that nothing crashes, hangs or trips a
 * sanitizer. The disk image is a memfd, reset per input.
 * Single-threaded: the caller's thread plays vCPU and I/O thread.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/io_loop.h"
#include "base/le.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"

#include "fuzz_input.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x10000u
#define IMG_SIZE 0x10000
#define DATA_OFF 0x6000u
#define MAX_OPS 4096

struct fz {
  uint8_t *ram;
  struct vmk_guest_mem gm;
  struct vmk_io_loop loop;
  struct vmk_virtio_mmio *t;
  unsigned nq;
  uint16_t qsize[2];
  uint16_t avail_idx[2];
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
static uint32_t rd(struct fz *f, uint64_t off) {
  return (uint32_t)vmk_virtio_mmio_ops.read(f->t, off, 4);
}

static void run(struct fz *f) {
  for (int i = 0; i < 8; i++)
    if (vmk_io_loop_run_once(&f->loop, 0) <= 0)
      return;
}

/* A correct driver bring-up, with fuzzed features and queue sizes. */
static void driver_init(struct fz *f, struct input *in) {
  wr(f, VMK_VIRTIO_MMIO_STATUS, 0);
  wr(f, VMK_VIRTIO_MMIO_STATUS, 3);
  uint64_t feat = 0;
  for (uint32_t s = 0; s < 2; s++) {
    wr(f, VMK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, s);
    feat |= (uint64_t)rd(f, VMK_VIRTIO_MMIO_DEVICE_FEATURES) << (32 * s);
  }
  feat &= ~(uint64_t)u8(in) | (1ull << 32); /* drop some low features */
  for (uint32_t s = 0; s < 2; s++) {
    wr(f, VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, s);
    wr(f, VMK_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> (32 * s)));
  }
  wr(f, VMK_VIRTIO_MMIO_STATUS, 0xb);
  for (unsigned q = 0; q < f->nq; q++) {
    uint16_t size = (uint16_t)(1u << (u8(in) % 9));
    f->qsize[q] = size;
    f->avail_idx[q] = 0;
    uint64_t r = ring(q);
    memset(f->ram + (r - RAM_BASE), 0, 0x3000);
    wr(f, VMK_VIRTIO_MMIO_QUEUE_SEL, q);
    wr(f, VMK_VIRTIO_MMIO_QUEUE_NUM, size);
    wr(f, VMK_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r);
    wr(f, VMK_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(r + 0x1000));
    wr(f, VMK_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(r + 0x1400));
    wr(f, VMK_VIRTIO_MMIO_QUEUE_READY, 1);
  }
  wr(f, VMK_VIRTIO_MMIO_STATUS, 0xf);
}

static void put_desc(struct fz *f, unsigned q, uint16_t i, uint64_t addr,
                     uint32_t len, uint16_t flags, uint16_t next) {
  uint64_t off = ring(q) - RAM_BASE + 16ull * (i & 0xff);
  uint8_t *p = f->ram + off;
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

static uint64_t data_addr(struct input *in) {
  return RAM_BASE + DATA_OFF + u16(in) % (RAM_SIZE - DATA_OFF);
}

/* A blk-shaped request: header, optional data, status. */
static void blk_request(struct fz *f, struct input *in) {
  static const uint32_t types[] = {0, 1, 4, 8, 11, 13, 2, 0xffffffffu};
  uint16_t base = (uint16_t)(u8(in) & 0xfc);
  uint64_t hdr = data_addr(in) & ~7ull;
  if (hdr + 16 > RAM_BASE + RAM_SIZE)
    hdr = RAM_BASE + DATA_OFF;
  uint8_t *h = f->ram + (hdr - RAM_BASE);
  vmk_put_le32(h, types[u8(in) % 8]);
  uint8_t sel = u8(in);
  vmk_put_le64(h + 8, sel & 0x80 ? ((uint64_t)u32(in) << 32 | u32(in))
                                 : (uint64_t)(sel & 0x7f));
  uint8_t mode = u8(in);
  uint16_t dlen = (uint16_t)(u16(in) & 0x1fff);
  uint16_t wflag = mode & 1 ? 2 : 0;
  put_desc(f, 0, base, hdr, 16, 1, (uint16_t)(base + 1));
  put_desc(f, 0, (uint16_t)(base + 1), data_addr(in), dlen, 1 | wflag,
           (uint16_t)(base + 2));
  put_desc(f, 0, (uint16_t)(base + 2), data_addr(in), 1, 2, 0);
  put_avail(f, 0, base);
  wr(f, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
  run(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int img_fd = -1, null_fd = -1;
  static char img_path[64];
  if (img_fd < 0) {
    img_fd = memfd_create("vmk-fuzz-disk", MFD_CLOEXEC);
    null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (img_fd < 0 || null_fd < 0)
      abort();
    snprintf(img_path, sizeof(img_path), "/proc/self/fd/%d", img_fd);
  }
  struct input in = {data, size};
  struct fz f = {0};
  f.ram = aligned_alloc(4096, RAM_SIZE);
  memset(f.ram, 0, RAM_SIZE);
  f.gm =
      (struct vmk_guest_mem){.base = RAM_BASE, .size = RAM_SIZE, .host = f.ram};
  vmk_error err;
  if (vmk_io_loop_init(&f.loop, &err))
    abort();
  if (ftruncate(img_fd, 0) || ftruncate(img_fd, IMG_SIZE))
    abort();
  struct vmk_virtio_device *dev = NULL;
  uint8_t kind = u8(&in) % 4;
  /* Console: host input and output through small pipes, so input
   * buffering and output backpressure are reached too. */
  int cin[2] = {-1, -1}, cout[2] = {-1, -1};
  if (kind == 2) {
    if (pipe2(cin, O_CLOEXEC | O_NONBLOCK) || pipe2(cout, O_CLOEXEC))
      abort();
    fcntl(cout[0], F_SETFL, O_NONBLOCK);
    fcntl(cout[1], F_SETPIPE_SZ, 4096);
  }
  int r;
  switch (kind) {
  case 0:
  case 1:
    r = vmk_virtio_blk_create(img_path, kind == 1, &dev, &err);
    break;
  case 2:
    r = vmk_virtio_console_create(cin[0], u8(&in) & 1 ? null_fd : cout[1], &dev,
                                  &err);
    break;
  default:
    r = vmk_virtio_rng_create(&dev, &err);
  }
  if (r) {
    fprintf(stderr, "fuzz: %s\n", err.msg);
    abort();
  }
  struct vmk_irq_line line = {.chip = &chip, .spi = 0};
  if (vmk_virtio_mmio_create(dev, &f.gm, line, &f.loop, &f.t, &err)) {
    fprintf(stderr, "fuzz: %s\n", err.msg);
    abort();
  }
  f.nq = vmk_virtio_mmio_num_queues(f.t);
  if (f.nq > 2)
    f.nq = 2;
  for (int op = 0; op < MAX_OPS && in.n; op++) {
    switch (u8(&in) % 14) {
    case 0: /* any register, 32-bit */
      wr(&f, (uint64_t)(u8(&in) % 0x40) * 4, u32(&in));
      break;
    case 1: { /* a queue address register with an address near RAM */
      static const uint16_t regs[] = {0x80, 0x84, 0x90, 0x94, 0xa0, 0xa4};
      uint16_t reg = regs[u8(&in) % 6];
      wr(&f, reg, reg & 4 ? u8(&in) % 2 : (uint32_t)(RAM_BASE + u16(&in)));
      break;
    }
    case 2: { /* read of any size anywhere */
      uint16_t off = u16(&in) & 0x1ff;
      (void)vmk_virtio_mmio_ops.read(f.t, off, 1u << (u8(&in) % 4));
      break;
    }
    case 3: { /* write of any size anywhere */
      uint16_t off = u16(&in) & 0x1ff;
      unsigned sz = 1u << (u8(&in) % 4);
      vmk_virtio_mmio_ops.write(f.t, off, sz, u32(&in));
      break;
    }
    case 4: { /* guest RAM bytes */
      uint16_t off = u16(&in);
      size_t len = u8(&in);
      if (len > in.n)
        len = in.n;
      if (off + len > RAM_SIZE)
        len = RAM_SIZE - off;
      memcpy(f.ram + off, in.p, len);
      in.p += len;
      in.n -= len;
      break;
    }
    case 5:
      driver_init(&f, &in);
      break;
    case 6: { /* a descriptor */
      unsigned q = u8(&in) % f.nq;
      uint16_t i = u8(&in);
      uint8_t fl = u8(&in);
      uint64_t addr =
          fl & 0x80 ? (uint64_t)u32(&in) << 32 | u32(&in) : data_addr(&in);
      uint32_t len = fl & 0x40 ? u32(&in) : (uint32_t)(u16(&in) & 0xfff);
      put_desc(&f, q, i, addr, len, fl & 7, u16(&in) & 0x1ff);
      break;
    }
    case 7: { /* make a head available */
      unsigned q = u8(&in) % f.nq;
      put_avail(&f, q, u16(&in) & 0x1ff);
      break;
    }
    case 8:
      wr(&f, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, u8(&in) % 3);
      run(&f);
      break;
    case 9:
      run(&f);
      break;
    case 10:
      wr(&f, VMK_VIRTIO_MMIO_INTERRUPT_ACK,
         rd(&f, VMK_VIRTIO_MMIO_INTERRUPT_STATUS));
      break;
    case 11:
      blk_request(&f, &in);
      break;
    case 12: { /* host console input */
      size_t len = u8(&in);
      if (len > in.n)
        len = in.n;
      if (cin[1] >= 0 && write(cin[1], in.p, len) < 0)
        (void)0; /* a full pipe is fine */
      in.p += len;
      in.n -= len;
      run(&f);
      break;
    }
    case 13: { /* the host reads console output */
      static uint8_t sink[8192];
      if (cout[0] >= 0 && read(cout[0], sink, u8(&in) * 32u) < 0)
        (void)0;
      run(&f);
      break;
    }
    }
  }
  run(&f);
  vmk_virtio_mmio_destroy(f.t);
  vmk_io_loop_destroy(&f.loop);
  free(f.ram);
  for (int i = 0; i < 2; i++) {
    if (cin[i] >= 0)
      close(cin[i]);
    if (cout[i] >= 0)
      close(cout[i]);
  }
  return 0;
}
