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

#include "fuzz_driver.h"
#include "fuzz_input.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x10000u
#define IMG_SIZE 0x10000
#define DATA_OFF 0x6000u
#define MAX_OPS 4096

struct fz {
  struct fzd d;
};

/* A blk-shaped request: header, optional data, status. */
static void blk_request(struct fz *f, struct input *in) {
  static const uint32_t types[] = {0, 1, 4, 8, 11, 13, 2, 0xffffffffu};
  uint16_t base = (uint16_t)(u8(in) & 0xfc);
  uint64_t hdr = fzd_data_addr(&f->d, in) & ~7ull;
  if (hdr + 16 > RAM_BASE + RAM_SIZE)
    hdr = RAM_BASE + DATA_OFF;
  uint8_t *h = f->d.ram + (hdr - RAM_BASE);
  vmk_put_le32(h, types[u8(in) % 8]);
  uint8_t sel = u8(in);
  vmk_put_le64(h + 8, sel & 0x80 ? ((uint64_t)u32(in) << 32 | u32(in))
                                 : (uint64_t)(sel & 0x7f));
  uint8_t mode = u8(in);
  uint16_t dlen = (uint16_t)(u16(in) & 0x1fff);
  uint16_t wflag = mode & 1 ? 2 : 0;
  fzd_put_desc(&f->d, 0, base, hdr, 16, 1, (uint16_t)(base + 1));
  fzd_put_desc(&f->d, 0, (uint16_t)(base + 1), fzd_data_addr(&f->d, in), dlen,
               1 | wflag, (uint16_t)(base + 2));
  fzd_put_desc(&f->d, 0, (uint16_t)(base + 2), fzd_data_addr(&f->d, in), 1, 2,
               0);
  fzd_put_avail(&f->d, 0, base);
  fzd_wr(&f->d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
  fzd_run(&f->d);
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
  struct fz f = {.d = {.ram_base = RAM_BASE,
                       .ram_size = RAM_SIZE,
                       .data_off = DATA_OFF,
                       .ring_stride = 0x3000,
                       .used_off = 0x1400,
                       .nq = 0,
                       .rounds = 8,
                       .size_mod = 9,
                       .size_shift = 0,
                       .features = fzd_features_offered}};
  fzd_start(&f.d);
  vmk_error err;
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
  fzd_attach(&f.d, dev);
  f.d.nq = vmk_virtio_mmio_num_queues(f.d.t);
  if (f.d.nq > 2)
    f.d.nq = 2;
  for (int op = 0; op < MAX_OPS && in.n; op++) {
    switch (u8(&in) % 14) {
    case 0: /* any register, 32-bit */
      fzd_wr(&f.d, (uint64_t)(u8(&in) % 0x40) * 4, u32(&in));
      break;
    case 1: { /* a queue address register with an address near RAM */
      static const uint16_t regs[] = {0x80, 0x84, 0x90, 0x94, 0xa0, 0xa4};
      uint16_t reg = regs[u8(&in) % 6];
      fzd_wr(&f.d, reg,
             reg & 4 ? u8(&in) % 2 : (uint32_t)(RAM_BASE + u16(&in)));
      break;
    }
    case 2: { /* read of any size anywhere */
      uint16_t off = u16(&in) & 0x1ff;
      (void)vmk_virtio_mmio_ops.read(f.d.t, off, 1u << (u8(&in) % 4));
      break;
    }
    case 3: { /* write of any size anywhere */
      uint16_t off = u16(&in) & 0x1ff;
      unsigned sz = 1u << (u8(&in) % 4);
      vmk_virtio_mmio_ops.write(f.d.t, off, sz, u32(&in));
      break;
    }
    case 4: { /* guest RAM bytes */
      uint16_t off = u16(&in);
      size_t len = u8(&in);
      if (len > in.n)
        len = in.n;
      if (off + len > RAM_SIZE)
        len = RAM_SIZE - off;
      memcpy(f.d.ram + off, in.p, len);
      in.p += len;
      in.n -= len;
      break;
    }
    case 5:
      fzd_driver_init(&f.d, &in);
      break;
    case 6: { /* a descriptor */
      unsigned q = u8(&in) % f.d.nq;
      uint16_t i = u8(&in);
      uint8_t fl = u8(&in);
      uint64_t addr = fl & 0x80 ? (uint64_t)u32(&in) << 32 | u32(&in)
                                : fzd_data_addr(&f.d, &in);
      uint32_t len = fl & 0x40 ? u32(&in) : (uint32_t)(u16(&in) & 0xfff);
      fzd_put_desc(&f.d, q, i, addr, len, fl & 7, u16(&in) & 0x1ff);
      break;
    }
    case 7: { /* make a head available */
      unsigned q = u8(&in) % f.d.nq;
      fzd_put_avail(&f.d, q, u16(&in) & 0x1ff);
      break;
    }
    case 8:
      fzd_wr(&f.d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, u8(&in) % 3);
      fzd_run(&f.d);
      break;
    case 9:
      fzd_run(&f.d);
      break;
    case 10:
      fzd_wr(&f.d, VMK_VIRTIO_MMIO_INTERRUPT_ACK,
             fzd_rd(&f.d, VMK_VIRTIO_MMIO_INTERRUPT_STATUS));
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
      fzd_run(&f.d);
      break;
    }
    case 13: { /* the host reads console output */
      static uint8_t sink[8192];
      if (cout[0] >= 0 && read(cout[0], sink, u8(&in) * 32u) < 0)
        (void)0;
      fzd_run(&f.d);
      break;
    }
    }
  }
  fzd_run(&f.d);
  fzd_stop(&f.d);
  free(f.d.ram);
  for (int i = 0; i < 2; i++) {
    if (cin[i] >= 0)
      close(cin[i]);
    if (cout[i] >= 0)
      close(cout[i]);
  }
  return 0;
}
