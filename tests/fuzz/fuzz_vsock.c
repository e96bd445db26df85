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

#include "fuzz_driver.h"
#include "fuzz_input.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x20000u
#define DATA_OFF 0x9000u
#define MAX_OPS 2048
#define NQ 3
#define HOSTS 8

struct fz {
  struct fzd d;
  int host[HOSTS]; /* host-side sockets */
};

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
  uint64_t gpa = fzd_chain1(&f->d, 1, off, chain, false, NULL);
  uint64_t room = RAM_BASE + RAM_SIZE - gpa;
  if (room >= VMK_VSOCK_HDR_LEN)
    vmk_vsock_hdr_encode(&h, f->d.ram + (gpa - RAM_BASE));
  fzd_wr(&f->d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 1);
  fzd_run(&f->d);
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
  fzd_run(&f->d);
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
  struct fz f = {.d = {.ram_base = RAM_BASE,
                       .ram_size = RAM_SIZE,
                       .data_off = DATA_OFF,
                       .ring_stride = 0x3000,
                       .used_off = 0x2000,
                       .nq = NQ,
                       .rounds = 16,
                       .size_mod = 6,
                       .size_shift = 2,
                       .features = fzd_features_v1}};
  for (int i = 0; i < HOSTS; i++)
    f.host[i] = -1;
  fzd_start(&f.d);
  vmk_error err;
  struct vmk_virtio_device *dev;
  snprintf(path, sizeof(path), "%s/v.sock", dir);
  if (vmk_virtio_vsock_create(path, 3, &dev, &err)) {
    fprintf(stderr, "fuzz: %s\n", err.msg);
    abort();
  }
  fzd_attach(&f.d, dev);
  fzd_driver_init(&f.d, &in);
  for (int op = 0; op < MAX_OPS && in.n; op++) {
    switch (u8(&in) % 12) {
    case 0: /* raw register write (status resets, queue registers) */
      fzd_wr(&f.d, (uint64_t)(u8(&in) % 0x40) * 4, u32(&in));
      break;
    case 1: { /* receive buffers */
      unsigned n = u8(&in) % 8 + 1;
      uint8_t small = u8(&in);
      for (unsigned i = 0; i < n; i++)
        fzd_chain1(&f.d, 0, u16(&in),
                   small % 8 == 0 ? small % 64
                                  : VMK_VSOCK_HDR_LEN + 1u + u16(&in) % 4096,
                   small % 32 != 1, NULL);
      fzd_wr(&f.d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
      fzd_run(&f.d);
      break;
    }
    case 2: /* a raw descriptor */
      fzd_op_desc(&f.d, &in, 0x4000);
      break;
    case 3: /* an avail entry, and a kick */
      fzd_op_avail_kick(&f.d, &in);
      break;
    case 4:
      fzd_driver_init(&f.d, &in);
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
      fzd_run(&f.d);
      break;
    }
    case 8: { /* the host reads */
      int s = f.host[u8(&in) % HOSTS];
      static uint8_t sink[65536];
      if (s >= 0 && recv(s, sink, u8(&in) * 256u + 1, MSG_DONTWAIT) < 0)
        (void)0;
      fzd_run(&f.d);
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
      fzd_run(&f.d);
      break;
    }
    case 10:
      host_accept(&f, u8(&in) & 1 ? l1001 : l1000);
      fzd_run(&f.d);
      break;
    }
  }
  fzd_run(&f.d);
  fzd_stop(&f.d);
  free(f.d.ram);
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
