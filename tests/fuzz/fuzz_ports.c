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

#include "fuzz_driver.h"
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
  struct fzd d;
  int host[HOSTS]; /* host clients; host[i] talks to port i % NPORTS */
};

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
  uint64_t gpa = fzd_chain1(&f->d, 3, u16(in), len, sel % 32 == 16, NULL);
  uint64_t room = RAM_BASE + RAM_SIZE - gpa;
  memcpy(f->d.ram + (gpa - RAM_BASE), msg, room < 8 ? room : 8);
  fzd_wr(&f->d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 3);
  fzd_run(&f->d);
}

/* Features: MULTIPORT mostly, and VERSION_1. */
static void features(struct fzd *d, struct input *in) {
  fzd_features_low(d, u8(in) % 8 ? 1u << VMK_VIRTIO_CONSOLE_F_MULTIPORT : 0);
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
  fzd_run(&f->d);
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
  struct fz f = {.d = {.ram_base = RAM_BASE,
                       .ram_size = RAM_SIZE,
                       .data_off = DATA_OFF,
                       .ring_stride = RING_STRIDE,
                       .used_off = 0x2000,
                       .nq = NQ,
                       .rounds = 16,
                       .size_mod = 5,
                       .size_shift = 2,
                       .features = features}};
  for (int i = 0; i < HOSTS; i++)
    f.host[i] = -1;
  fzd_start(&f.d);
  vmk_error err;
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
  fzd_attach(&f.d, dev);
  fzd_driver_init(&f.d, &in);
  fzd_run(&f.d);
  for (int op = 0; op < MAX_OPS && in.n; op++) {
    switch (u8(&in) % 13) {
    case 0: /* raw register write (status resets, queue registers) */
      fzd_wr(&f.d, (uint64_t)(u8(&in) % 0x40) * 4, u32(&in));
      break;
    case 1: /* control receive buffers */
    {
      unsigned n = u8(&in) % 8 + 1;
      uint8_t small = u8(&in);
      for (unsigned i = 0; i < n; i++)
        fzd_chain1(&f.d, 2, u16(&in), small % 8 == 0 ? small % 16 : 128,
                   small % 32 != 1, NULL);
      fzd_wr(&f.d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 2);
      fzd_run(&f.d);
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
      fzd_chain1(&f.d, q, u16(&in),
                 k & 0x80 ? u16(&in) : (uint32_t)(k % 64 + 1),
                 rx ? k % 16 != 3 : k % 16 == 3, NULL);
      fzd_wr(&f.d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, q);
      fzd_run(&f.d);
      break;
    }
    case 5: /* a raw descriptor */
      fzd_op_desc(&f.d, &in, 0x4000);
      break;
    case 6: /* an avail entry, and a kick */
      fzd_op_avail_kick(&f.d, &in);
      break;
    case 7:
      fzd_driver_init(&f.d, &in);
      fzd_run(&f.d);
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
      fzd_run(&f.d);
      break;
    }
    case 10: { /* a host client reads */
      int s = f.host[u8(&in) % HOSTS];
      static uint8_t sink[65536];
      if (s >= 0 && recv(s, sink, u8(&in) * 256u + 1, MSG_DONTWAIT) < 0)
        (void)0;
      fzd_run(&f.d);
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
      fzd_run(&f.d);
      break;
    }
    case 12: { /* a snapshot of the device, damaged a little, loaded back */
      struct vmk_sbuf sb = {0};
      vmk_virtio_mmio_freeze(f.d.t);
      int r = vmk_virtio_mmio_save(f.d.t, &sb, &err);
      vmk_virtio_mmio_thaw(f.d.t);
      if (!r && sb.len) {
        unsigned flips = u8(&in) % 3;
        for (unsigned k = 0; k < flips; k++) {
          /* mostly in the device's own part, at the end */
          size_t at = sb.len - 1 - u8(&in) % (sb.len < 24 ? sb.len : 24);
          sb.p[at] ^= u8(&in);
        }
        vmk_virtio_mmio_load(f.d.t, sb.p, sb.len, &err);
      }
      vmk_sbuf_free(&sb);
      fzd_run(&f.d);
      break;
    }
    }
  }
  fzd_run(&f.d);
  fzd_stop(&f.d);
  free(f.d.ram);
  for (int i = 0; i < HOSTS; i++)
    if (f.host[i] >= 0)
      close(f.host[i]);
  return 0;
}
