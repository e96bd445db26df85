/* fuzz_vsock.c — fuzz target for virtio-vsock's packet handling: the
 * header checks, the connection state machine, credit accounting and the
 * receive path, with real host Unix-socket peers.
 *
 * Each input is a little program run against a fresh device (CID 3, its
 * socket in a private folder made once per process) behind the virtio-mmio
 * transport. The driver is brought up first (queue sizes from the input),
 * then each op byte picks an action: a transmit packet whose header fields
 * are drawn from the input (mostly near-valid, so connections really open,
 * carry data and close), receive buffers of any size, raw descriptors and
 * avail entries, register writes (resets included), running the I/O loop,
 * and host-side actions: connect with a CONNECT line (or garbage), write,
 * read, close, accept the guest's connections at PATH_1000/PATH_1001. The
 * header checker is also called directly on the first 44 bytes. Only
 * crashes, hangs, leaks and sanitizer reports count as failures.
 * Single-threaded: the caller's thread plays vCPU, I/O thread and host.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/io_loop.h"
#include "base/le.h"
#include "virtio/mmio.h"
#include "virtio/vsock.h"

#include "fuzz_input.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x20000u
#define DATA_OFF 0x9000u
#define MAX_OPS 2048
#define NQ 3
#define HOSTS 8

struct fz {
  uint8_t *ram;
  struct vmk_guest_mem gm;
  struct vmk_io_loop loop;
  struct vmk_virtio_mmio *t;
  uint16_t qsize[NQ], avail_idx[NQ], next_desc[NQ];
  int host[HOSTS]; /* host-side sockets */
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

static void driver_init(struct fz *f, struct input *in) {
  wr(f, VMK_VIRTIO_MMIO_STATUS, 0);
  wr(f, VMK_VIRTIO_MMIO_STATUS, 3);
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

/* One-descriptor chain of len bytes at a data offset; returns the gpa. */
static uint64_t chain1(struct fz *f, unsigned q, uint32_t off, uint32_t len,
                       bool writable) {
  off %= RAM_SIZE - DATA_OFF;
  if (len > RAM_SIZE - DATA_OFF - off)
    len = RAM_SIZE - DATA_OFF - off;
  uint64_t gpa = RAM_BASE + DATA_OFF + off;
  uint16_t size = f->qsize[q] ? f->qsize[q] : 1;
  uint16_t d = f->next_desc[q]++ % size;
  put_desc(f, q, d, gpa, len, writable ? 2 : 0, 0);
  put_avail(f, q, d);
  return gpa;
}

/* A transmit packet with fuzzed, mostly plausible header fields. */
static void tx_packet(struct fz *f, struct input *in) {
  uint8_t sel = u8(in);
  struct vmk_vsock_hdr h = {
      .src_cid = sel & 1 ? u32(in) : 3,
      .dst_cid = sel & 2 ? u32(in) : VMK_VSOCK_HOST_CID,
      .src_port = 40000u + u8(in) % 4,
      .dst_port = sel & 4 ? u32(in) : 1000u + u8(in) % 3,
      .type = sel & 8 ? u16(in) : VMK_VSOCK_TYPE_STREAM,
      .op = (uint16_t)(u8(in) % 9),
      .flags = sel & 16 ? u32(in) : u8(in) % 4,
      .buf_alloc = sel & 32 ? u32(in) : 65536,
      .fwd_cnt = sel & 64 ? u32(in) : 0,
  };
  uint32_t len = h.op == VMK_VSOCK_OP_RW ? u16(in) % 4096 : 0;
  if (sel & 128)
    len = u32(in);
  h.len = len;
  uint32_t off = u16(in);
  uint32_t chain = VMK_VSOCK_HDR_LEN + (len > 8192 ? u16(in) % 64 : len);
  if (u8(in) % 16 == 0)
    chain = u8(in) % VMK_VSOCK_HDR_LEN; /* short header */
  uint64_t gpa = chain1(f, 1, off, chain, false);
  uint64_t room = RAM_BASE + RAM_SIZE - gpa;
  if (room >= VMK_VSOCK_HDR_LEN)
    vmk_vsock_hdr_encode(&h, f->ram + (gpa - RAM_BASE));
  wr(f, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 1);
  run(f);
}

static int host_slot(struct fz *f) {
  for (int i = 0; i < HOSTS; i++)
    if (f->host[i] < 0)
      return i;
  return -1;
}

static char dir[64];

static void host_connect(struct fz *f, struct input *in) {
  int i = host_slot(f);
  if (i < 0)
    return;
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/v.sock", dir);
  if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    close(s);
    return;
  }
  f->host[i] = s;
  char line[40];
  uint8_t k = u8(in);
  int n = k & 1 ? snprintf(line, sizeof(line), "CONNECT %u\n", u8(in) % 4)
                : snprintf(line, sizeof(line), "%.*s", (int)(k % 39),
                           (const char *)in->p);
  if (!(k & 1)) {
    size_t take = (size_t)n < in->n ? (size_t)n : in->n;
    in->p += take;
    in->n -= take;
  }
  if (send(s, line, (size_t)n, MSG_NOSIGNAL) < 0)
    (void)0;
  run(f);
}

static void host_accept(struct fz *f, int l) {
  int i = host_slot(f);
  if (i < 0)
    return;
  int s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (s >= 0)
    f->host[i] = s;
}

static int listen_at(const char *path) {
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  unlink(path);
  if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
      listen(l, 64) < 0)
    abort();
  return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int l1000 = -1, l1001 = -1;
  char path[128];
  if (l1000 < 0) {
    snprintf(dir, sizeof(dir), "/tmp/vmk-fuzz-vsock-XXXXXX");
    if (!mkdtemp(dir))
      abort();
    snprintf(path, sizeof(path), "%s/v.sock_1000", dir);
    l1000 = listen_at(path);
    snprintf(path, sizeof(path), "%s/v.sock_1001", dir);
    l1001 = listen_at(path);
  }
  struct input in = {data, size};
  if (size >= VMK_VSOCK_HDR_LEN) { /* the pure checker, on raw bytes */
    struct vmk_vsock_hdr h;
    vmk_vsock_hdr_decode(data, &h);
    (void)vmk_vsock_check(&h, size, 3);
  }
  struct fz f = {0};
  for (int i = 0; i < HOSTS; i++)
    f.host[i] = -1;
  f.ram = aligned_alloc(4096, RAM_SIZE);
  memset(f.ram, 0, RAM_SIZE);
  f.gm =
      (struct vmk_guest_mem){.base = RAM_BASE, .size = RAM_SIZE, .host = f.ram};
  vmk_error err;
  if (vmk_io_loop_init(&f.loop, &err))
    abort();
  struct vmk_virtio_device *dev;
  snprintf(path, sizeof(path), "%s/v.sock", dir);
  if (vmk_virtio_vsock_create(path, 3, &dev, &err)) {
    fprintf(stderr, "fuzz: %s\n", err.msg);
    abort();
  }
  struct vmk_irq_line line = {.chip = &chip, .spi = 0};
  if (vmk_virtio_mmio_create(dev, &f.gm, line, &f.loop, &f.t, &err)) {
    fprintf(stderr, "fuzz: %s\n", err.msg);
    abort();
  }
  driver_init(&f, &in);
  for (int op = 0; op < MAX_OPS && in.n; op++) {
    switch (u8(&in) % 12) {
    case 0: /* raw register write (status resets, queue registers) */
      wr(&f, (uint64_t)(u8(&in) % 0x40) * 4, u32(&in));
      break;
    case 1: { /* receive buffers */
      unsigned n = u8(&in) % 8 + 1;
      uint8_t small = u8(&in);
      for (unsigned i = 0; i < n; i++)
        chain1(&f, 0, u16(&in),
               small % 8 == 0 ? small % 64
                              : VMK_VSOCK_HDR_LEN + 1u + u16(&in) % 4096,
               small % 32 != 1);
      wr(&f, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
      run(&f);
      break;
    }
    case 2: { /* a raw descriptor */
      unsigned q = u8(&in) % NQ;
      uint16_t i = u8(&in);
      uint8_t fl = u8(&in);
      put_desc(&f, q, i, RAM_BASE + DATA_OFF + u16(&in) % 0x4000,
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
    case 11:
      tx_packet(&f, &in);
      break;
    case 6:
      host_connect(&f, &in);
      break;
    case 7: { /* the host writes */
      int s = f.host[u8(&in) % HOSTS];
      size_t len = u8(&in) * 16u;
      static uint8_t junk[4096];
      if (s >= 0 && send(s, junk, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        (void)0;
      run(&f);
      break;
    }
    case 8: { /* the host reads */
      int s = f.host[u8(&in) % HOSTS];
      static uint8_t sink[65536];
      if (s >= 0 && recv(s, sink, u8(&in) * 256u + 1, MSG_DONTWAIT) < 0)
        (void)0;
      run(&f);
      break;
    }
    case 9: { /* the host closes or half-closes */
      int i = u8(&in) % HOSTS;
      if (f.host[i] >= 0) {
        if (u8(&in) & 1) {
          shutdown(f.host[i], SHUT_WR);
        } else {
          close(f.host[i]);
          f.host[i] = -1;
        }
      }
      run(&f);
      break;
    }
    case 10:
      host_accept(&f, u8(&in) & 1 ? l1001 : l1000);
      run(&f);
      break;
    }
  }
  run(&f);
  vmk_virtio_mmio_destroy(f.t);
  vmk_io_loop_destroy(&f.loop);
  free(f.ram);
  for (int i = 0; i < HOSTS; i++)
    if (f.host[i] >= 0)
      close(f.host[i]);
  /* Guest connections the harness never accepted: drop them. */
  int s;
  while ((s = accept(l1000, NULL, NULL)) >= 0)
    close(s);
  while ((s = accept(l1001, NULL, NULL)) >= 0)
    close(s);
  return 0;
}
