/* fuzz_net.c — fuzz target for virtio-net: the guest-facing transmit
 * header and chain parsing, receive-buffer checks, and the stream-socket
 * backend's length-prefixed framing (what a peer sends).
 *
 * The input is a little program: the first byte picks the backend (a fake
 * one that echoes every frame back at once, as slirp answers ARP inside
 * slirp_input, and also injects host frames; or the real socket backend in
 * listen mode with this harness as its peer). The fake backend has the
 * offload capabilities (TSO4, CSUM_VALID), so checksum completion and TSO
 * frames beyond the MTU are fuzzed too. Then each op byte picks an
 * action: raw register writes, guest RAM bytes, a driver bring-up,
 * descriptors and avail entries, a transmit with a fuzzed header and
 * length, receive buffers of fuzzed sizes, a host frame, raw peer bytes,
 * notifications and loop runs. Only crashes, hangs and sanitizer reports
 * count. Single-threaded: the caller's thread plays vCPU and I/O thread.
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

#include "backends/net.h"
#include "base/io_loop.h"
#include "base/le.h"
#include "virtio/mmio.h"
#include "virtio/net.h"

#include "fuzz_driver.h"
#include "fuzz_input.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x20000u
#define DATA_OFF 0x8000u
#define MAX_OPS 4096

/* The fake backend: echoes frames, holds one host frame under
 * back-pressure. */
struct fake {
  struct vmk_net_backend be;
  uint8_t pending[2048];
  size_t pending_len;
};
static int fake_start(struct vmk_net_backend *be, struct vmk_io_loop *loop,
                      vmk_error *err) {
  (void)err;
  be->loop = loop;
  return 0;
}
static void fake_stop(struct vmk_net_backend *be) { (void)be; }
static void fake_offer(struct fake *f) {
  if (f->pending_len &&
      f->be.rx(f->be.rx_opaque, f->pending, f->pending_len) == 0)
    f->pending_len = 0;
}
static int fake_send(struct vmk_net_backend *be, const uint8_t *frame,
                     size_t len) {
  struct fake *f = (struct fake *)be;
  if (len > sizeof(f->pending))
    len = sizeof(f->pending);
  memcpy(f->pending, frame, len);
  f->pending_len = len;
  fake_offer(f);
  return 0;
}
static void fake_rx_ready(struct vmk_net_backend *be) {
  fake_offer((struct fake *)be);
}
static void fake_free(struct vmk_net_backend *be) { (void)be; }
static const struct vmk_net_backend_ops fake_ops = {
    .name = "fake",
    .start = fake_start,
    .stop = fake_stop,
    .send = fake_send,
    .rx_ready = fake_rx_ready,
    .free = fake_free,
};

struct fz {
  struct fzd d;
  struct fake fake;
  bool use_fake;
  int peer; /* the harness's end of the socket backend, or -1 */
};

/* A chain of 1-3 segments at consecutive descriptors; returns the head. */
static uint16_t chain(struct fz *f, unsigned q, const uint64_t *addr,
                      const uint32_t *len, unsigned n, bool write) {
  uint16_t size = f->d.qsize[q] ? f->d.qsize[q] : 1;
  uint16_t head = f->d.next_desc[q] % size;
  for (unsigned i = 0; i < n; i++) {
    uint16_t idx = (uint16_t)((f->d.next_desc[q] + i) % size);
    uint16_t next = (uint16_t)((f->d.next_desc[q] + i + 1) % size);
    fzd_put_desc(&f->d, q, idx, addr[i], len[i],
                 (uint16_t)((i + 1 < n ? 1 : 0) | (write ? 2 : 0)), next);
  }
  f->d.next_desc[q] = (uint16_t)(f->d.next_desc[q] + n);
  fzd_put_avail(&f->d, q, head);
  return head;
}

/* A transmit: a 12-byte header (valid unless the input says otherwise)
 * then a frame of fuzzed length, over 1-3 segments. */
static void tx(struct fz *f, struct input *in) {
  uint8_t mode = u8(in);
  uint64_t a = fzd_data_addr(&f->d, in) & ~3ull;
  /* Beyond the MTU sometimes, for TSO frames. */
  uint32_t total = u16(in) % (mode & 0x40 ? 0x10000 : 2200);
  if (a + total + 16 > RAM_BASE + RAM_SIZE)
    a = RAM_BASE + DATA_OFF;
  uint8_t *p = f->d.ram + (a - RAM_BASE);
  memset(p, 0, 12 < total ? 12 : total);
  if (mode & 1 && total >= 2) {
    p[0] = u8(in);
    p[1] = u8(in);
  }
  if (mode & 0x20 && total >= 10) { /* checksum start and offset */
    vmk_put_le16(p + 6, u16(in));
    vmk_put_le16(p + 8, u16(in));
  }
  if (mode & 0x80 && total >= 12 + 34) { /* an IPv4 TCP frame, as TSO needs */
    p[12 + 12] = 0x08;
    p[12 + 13] = 0;
    p[12 + 14] = 0x45;
    p[12 + 23] = 6;
  }
  unsigned n = 1 + (mode >> 1) % 3;
  uint64_t addr[3];
  uint32_t len[3];
  uint32_t left = total, off = 0;
  for (unsigned i = 0; i < n; i++) {
    uint32_t k = i + 1 == n ? left : (u8(in) % (left + 1));
    addr[i] = a + off;
    len[i] = k;
    off += k;
    left -= k;
  }
  chain(f, 1, addr, len, n, mode & 0x10);
  fzd_wr(&f->d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 1);
  fzd_run(&f->d);
}

static void rx_buffers(struct fz *f, struct input *in) {
  unsigned count = 1 + u8(in) % 4;
  for (unsigned c = 0; c < count; c++) {
    uint8_t mode = u8(in);
    uint64_t addr[2] = {fzd_data_addr(&f->d, in), fzd_data_addr(&f->d, in)};
    uint32_t len[2] = {u16(in) % 4000, u16(in) % 4000};
    chain(f, 0, addr, len, 1 + (mode & 1), !(mode & 2));
  }
  fzd_wr(&f->d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
  fzd_run(&f->d);
}

static void host_frame(struct fz *f, struct input *in) {
  size_t len = u16(in) % 2100;
  if (f->use_fake) {
    if (len > sizeof(f->fake.pending))
      len = sizeof(f->fake.pending);
    size_t k = len < in->n ? len : in->n;
    memset(f->fake.pending, 0x5a, len);
    memcpy(f->fake.pending, in->p, k);
    in->p += k;
    in->n -= k;
    f->fake.pending_len = len;
    fake_offer(&f->fake);
  } else if (f->peer >= 0) {
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
                      (uint8_t)(len >> 8), (uint8_t)len};
    static uint8_t body[2100];
    memset(body, 0x5a, len);
    if (send(f->peer, hdr, 4, MSG_DONTWAIT | MSG_NOSIGNAL) == 4)
      (void)!send(f->peer, body, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  fzd_run(&f->d);
}

/* Raw bytes from the peer: any length prefix, any split. */
static void peer_bytes(struct fz *f, struct input *in) {
  size_t len = u8(in);
  if (len > in->n)
    len = in->n;
  if (f->peer >= 0)
    (void)!send(f->peer, in->p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  in->p += len;
  in->n -= len;
  fzd_run(&f->d);
}

static void drain_peer(struct fz *f) {
  static uint8_t sink[65536];
  if (f->peer >= 0)
    while (recv(f->peer, sink, sizeof(sink), MSG_DONTWAIT) > 0)
      ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char path[108];
  if (!path[0])
    snprintf(path, sizeof(path), "/tmp/vmk-fuzz-net-%d.sock", (int)getpid());
  struct input in = {data, size};
  struct fz f = {.peer = -1,
                 .d = {.ram_base = RAM_BASE,
                       .ram_size = RAM_SIZE,
                       .data_off = DATA_OFF,
                       .ring_stride = 0x3000,
                       .used_off = 0x1400,
                       .nq = 2,
                       .rounds = 8,
                       .size_mod = 9,
                       .size_shift = 0,
                       .features = fzd_features_offered}};
  fzd_start(&f.d);
  vmk_error err;
  struct vmk_net_backend *be;
  f.use_fake = !(u8(&in) & 1);
  if (f.use_fake) {
    f.fake.be.ops = &fake_ops;
    /* Offloads on (as NAT has them); the socket backend has none. */
    f.fake.be.caps = VMK_NET_CAP_TSO4 | VMK_NET_CAP_CSUM_VALID;
    be = &f.fake.be;
  } else if (vmk_net_socket_create(path, true, &be, &err)) {
    fprintf(stderr, "fuzz: %s\n", err.msg);
    abort();
  }
  static const uint8_t mac[6] = {0x52, 0x54, 0, 1, 2, 3};
  unsigned mtu = 68 + u16(&in) % 1500;
  struct vmk_virtio_device *dev;
  if (vmk_virtio_net_create(be, mac, mtu, &dev, &err)) {
    fprintf(stderr, "fuzz: %s\n", err.msg);
    abort();
  }
  fzd_attach(&f.d, dev);
  if (!f.use_fake) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    f.peer = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f.peer < 0 || connect(f.peer, (struct sockaddr *)&sa, sizeof(sa)))
      abort();
    fzd_run(&f.d); /* the backend accepts */
  }
  for (int op = 0; op < MAX_OPS && in.n; op++) {
    switch (u8(&in) % 12) {
    case 0:
      fzd_wr(&f.d, (uint64_t)(u8(&in) % 0x40) * 4, u32(&in));
      break;
    case 1: {
      uint16_t off = u16(&in) & 0x1ff;
      (void)vmk_virtio_mmio_ops.read(f.d.t, off, 1u << (u8(&in) % 4));
      break;
    }
    case 2: {
      uint32_t off = u16(&in) % RAM_SIZE;
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
    case 3:
      fzd_driver_init(&f.d, &in);
      break;
    case 4: {
      unsigned q = u8(&in) & 1;
      uint16_t i = u8(&in);
      uint8_t fl = u8(&in);
      uint64_t addr = fl & 0x80 ? (uint64_t)u32(&in) << 32 | u32(&in)
                                : fzd_data_addr(&f.d, &in);
      uint32_t len = fl & 0x40 ? u32(&in) : (uint32_t)(u16(&in) & 0xfff);
      fzd_put_desc(&f.d, q, i, addr, len, fl & 7, u16(&in) & 0x1ff);
      break;
    }
    case 5:
      fzd_put_avail(&f.d, u8(&in) & 1, u16(&in) & 0x1ff);
      break;
    case 6:
      fzd_wr(&f.d, VMK_VIRTIO_MMIO_QUEUE_NOTIFY, u8(&in) % 3);
      fzd_run(&f.d);
      break;
    case 7:
      tx(&f, &in);
      drain_peer(&f);
      break;
    case 8:
      rx_buffers(&f, &in);
      break;
    case 9:
      host_frame(&f, &in);
      break;
    case 10:
      peer_bytes(&f, &in);
      break;
    case 11:
      fzd_wr(&f.d, VMK_VIRTIO_MMIO_INTERRUPT_ACK,
             fzd_rd(&f.d, VMK_VIRTIO_MMIO_INTERRUPT_STATUS));
      fzd_run(&f.d);
      break;
    }
  }
  fzd_run(&f.d);
  if (f.peer >= 0)
    close(f.peer);
  fzd_stop(&f.d);
  free(f.d.ram);
  return 0;
}
