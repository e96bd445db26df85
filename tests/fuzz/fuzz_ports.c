/* fuzz_ports.c — fuzz target for console ports (virtio/ports.c): the
 * control-message parser, the control protocol's state machine, and the
 * data paths with real host Unix-socket clients.
 *
 * The parser is first called directly on the input's leading bytes. Then
 * each input is a little program run against a fresh device with 3 ports
 * (sockets in a private folder made once per process) behind the
 * virtio-mmio transport. The driver is brought up first (queue sizes from
 * the input), then each op byte picks an action: a control message whose
 * fields are drawn from the input (mostly near-valid events and ids, so
 * ports really get added, named, opened and closed; sometimes any bytes of
 * any length), control receive buffers of any size, data buffers on the
 * ports' queues (receive and transmit, writable or not), raw descriptors
 * and avail entries, register writes (resets included), running the I/O
 * loop, host clients that connect, write, read and close, and a snapshot
 * of the device saved, damaged a little and loaded back (the load's checks
 * of untrusted state). Only
 * crashes, hangs, leaks and sanitizer reports count as failures.
 * Single-threaded: the caller's thread plays vCPU, I/O thread and host.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/io_loop.h"
#include "base/le.h"
#include "base/sbuf.h"
#include "virtio/mmio.h"
#include "virtio/ports.h"

#include "fuzz_input.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x40000u
#define NPORTS 3
#define NQ (2 * NPORTS + 2)
#define RING_STRIDE 0x3000u
#define DATA_OFF (RING_STRIDE * NQ)
#define MAX_OPS 2048
#define HOSTS 6

struct fz {
  uint8_t *ram;
  struct vmk_guest_mem gm;
  struct vmk_io_loop loop;
  struct vmk_virtio_mmio *t;
  uint16_t qsize[NQ], avail_idx[NQ], next_desc[NQ];
  int host[HOSTS]; /* host clients; host[i] talks to port i % NPORTS */
};

static void irq_set(void *opaque, unsigned spi, bool level) {
  (void)opaque;
  (void)spi;
  (void)level;
}
static const struct vmk_irq_chip chip = {.set_level = irq_set};

static uint64_t ring(unsigned q) { return RAM_BASE + RING_STRIDE * q; }

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
  wr(f, VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
  wr(f, VMK_VIRTIO_MMIO_DRIVER_FEATURES,
     u8(in) % 8 ? 1u << VMK_VIRTIO_CONSOLE_F_MULTIPORT : 0);
  wr(f, VMK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
  wr(f, VMK_VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
  wr(f, VMK_VIRTIO_MMIO_STATUS, 0xb);
  for (unsigned q = 0; q < NQ; q++) {
    uint16_t size = (uint16_t)(1u << (u8(in) % 5 + 2));
    f->qsize[q] = size;
    f->avail_idx[q] = f->next_desc[q] = 0;
    uint64_t r = ring(q);
    memset(f->ram + (r - RAM_BASE), 0, RING_STRIDE);
    wr(f, VMK_VIRTIO_MMIO_QUEUE_SEL, q);
    wr(f, VMK_VIRTIO_MMIO_QUEUE_NUM, size);
    wr(f, VMK_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r);
    wr(f, VMK_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(r + 0x1000));
    wr(f, VMK_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(r + 0x2000));
    wr(f, VMK_VIRTIO_MMIO_QUEUE_READY, 1);
  }
  wr(f, VMK_VIRTIO_MMIO_STATUS, 0xf);
  run(f);
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

/* A control message from the driver, mostly plausible. */
static void ctrl_msg(struct fz *f, struct input *in) {
  uint8_t sel = u8(in);
  uint8_t msg[VMK_PORTS_CTRL_LEN];
  static const uint16_t events[] = {VMK_PORTS_DEVICE_READY,
                                    VMK_PORTS_PORT_READY, VMK_PORTS_PORT_OPEN,
                                    VMK_PORTS_PORT_OPEN, VMK_PORTS_PORT_READY};
  vmk_put_le32(msg, sel & 1 ? u32(in) : u8(in) % (NPORTS + 1));
  vmk_put_le16(msg + 4, sel & 2 ? u16(in) : events[u8(in) % 5]);
  vmk_put_le16(msg + 6, sel & 4 ? u16(in) : u8(in) % 2);
  uint32_t len = sel & 8 ? u8(in) % 16 : VMK_PORTS_CTRL_LEN;
  uint64_t gpa = chain1(f, 3, u16(in), len, sel % 32 == 16);
  uint64_t room = RAM_BASE + RAM_SIZE - gpa;
  memcpy(f->ram + (gpa - RAM_BASE), msg, room < 8 ? room : 8);
  wr(f, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 3);
  run(f);
}

static char dir[64];

static void host_connect(struct fz *f, unsigned i) {
  if (f->host[i] >= 0)
    return;
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/p%u.sock", dir, i % NPORTS);
  if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    close(s);
    return;
  }
  f->host[i] = s;
  run(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    snprintf(dir, sizeof(dir), "/tmp/vmk-fuzz-ports-XXXXXX");
    if (!mkdtemp(dir))
      abort();
  }
  struct vmk_ports_ctrl m;
  (void)vmk_ports_ctrl_parse(data, size < 16 ? size : 16,
                             size ? data[0] % (NPORTS + 2) : 0, &m);
  struct input in = {data, size};
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
  char paths[NPORTS][96];
  struct vmk_port_spec specs[NPORTS];
  static const char *const names[NPORTS] = {"agent", "log", "x.y_z-0"};
  for (unsigned i = 0; i < NPORTS; i++) {
    snprintf(paths[i], sizeof(paths[i]), "%s/p%u.sock", dir, i);
    specs[i] = (struct vmk_port_spec){names[i], paths[i]};
  }
  struct vmk_virtio_device *dev;
  if (vmk_virtio_ports_create(specs, NPORTS, &dev, &err)) {
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
    switch (u8(&in) % 13) {
    case 0: /* raw register write (status resets, queue registers) */
      wr(&f, (uint64_t)(u8(&in) % 0x40) * 4, u32(&in));
      break;
    case 1: /* control receive buffers */
    {
      unsigned n = u8(&in) % 8 + 1;
      uint8_t small = u8(&in);
      for (unsigned i = 0; i < n; i++)
        chain1(&f, 2, u16(&in), small % 8 == 0 ? small % 16 : 128,
               small % 32 != 1);
      wr(&f, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 2);
      run(&f);
      break;
    }
    case 2:
    case 3:
      ctrl_msg(&f, &in);
      break;
    case 4: { /* data buffers on a port's queue */
      unsigned q = u8(&in) % NQ;
      if (q == 2 || q == 3)
        q = 0;
      bool rx = q % 2 == 0;
      uint8_t k = u8(&in);
      chain1(&f, q, u16(&in), k & 0x80 ? u16(&in) : (uint32_t)(k % 64 + 1),
             rx ? k % 16 != 3 : k % 16 == 3);
      wr(&f, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, q);
      run(&f);
      break;
    }
    case 5: { /* a raw descriptor */
      unsigned q = u8(&in) % NQ;
      uint16_t i = u8(&in);
      uint8_t fl = u8(&in);
      put_desc(&f, q, i, RAM_BASE + DATA_OFF + u16(&in) % 0x4000,
               fl & 0x40 ? u32(&in) : u16(&in) & 0xfff, fl & 7,
               u16(&in) & 0x1ff);
      break;
    }
    case 6: { /* an avail entry, and a kick */
      unsigned q = u8(&in) % NQ;
      put_avail(&f, q, u16(&in) & 0x1ff);
      wr(&f, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, q);
      run(&f);
      break;
    }
    case 7:
      driver_init(&f, &in);
      break;
    case 8:
      host_connect(&f, u8(&in) % HOSTS);
      break;
    case 9: { /* a host client writes */
      int s = f.host[u8(&in) % HOSTS];
      size_t len = u8(&in) * 16u;
      static uint8_t junk[4096];
      if (s >= 0 && send(s, junk, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        (void)0;
      run(&f);
      break;
    }
    case 10: { /* a host client reads */
      int s = f.host[u8(&in) % HOSTS];
      static uint8_t sink[65536];
      if (s >= 0 && recv(s, sink, u8(&in) * 256u + 1, MSG_DONTWAIT) < 0)
        (void)0;
      run(&f);
      break;
    }
    case 11: { /* a host client closes or half-closes */
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
    case 12: { /* a snapshot of the device, damaged a little, loaded back */
      struct vmk_sbuf sb = {0};
      vmk_virtio_mmio_freeze(f.t);
      int r = vmk_virtio_mmio_save(f.t, &sb, &err);
      vmk_virtio_mmio_thaw(f.t);
      if (!r && sb.len) {
        unsigned flips = u8(&in) % 3;
        for (unsigned k = 0; k < flips; k++) {
          /* mostly in the device's own part, at the end */
          size_t at = sb.len - 1 - u8(&in) % (sb.len < 24 ? sb.len : 24);
          sb.p[at] ^= u8(&in);
        }
        vmk_virtio_mmio_load(f.t, sb.p, sb.len, &err);
      }
      vmk_sbuf_free(&sb);
      run(&f);
      break;
    }
    }
  }
  run(&f);
  vmk_virtio_mmio_destroy(f.t);
  vmk_io_loop_destroy(&f.loop);
  free(f.ram);
  for (int i = 0; i < HOSTS; i++)
    if (f.host[i] >= 0)
      close(f.host[i]);
  return 0;
}
