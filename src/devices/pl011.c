/* pl011.c — ARM PrimeCell PL011 UART (console). Transmit never blocks the
 * vCPU: each byte the guest writes goes straight to a private non-blocking
 * handle on out_fd when it can take it; while it cannot (a reader that
 * stopped draining), bytes wait in a bounded buffer that the I/O thread
 * flushes on EPOLLOUT, and once that is full further output is dropped and
 * counted. A closed output (EPIPE) discards everything after it. Receive
 * reads in_fd on the I/O thread into a 32-byte FIFO; when the FIFO is full
 * the fd is taken off the loop (no busy polling) and put back once the
 * guest has drained half.
 *
 * Threads: vCPU threads call the MMIO ops, the I/O thread calls rx_ready
 * and tx_ready. u->lock protects every field below it. Lock order: u->lock,
 * then the I/O loop's lock (taken inside vmk_io_loop_add/del); the loop
 * never calls us with its lock held. */
#include "pl011.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "backends/char_fd.h"

enum {
  REG_DR = 0x000,
  REG_RSR = 0x004, /* also ECR on write */
  REG_FR = 0x018,
  REG_ILPR = 0x020,
  REG_IBRD = 0x024,
  REG_FBRD = 0x028,
  REG_LCR_H = 0x02C,
  REG_CR = 0x030,
  REG_IFLS = 0x034,
  REG_IMSC = 0x038,
  REG_RIS = 0x03C,
  REG_MIS = 0x040,
  REG_ICR = 0x044,
  REG_DMACR = 0x048,
  REG_ID0 = 0xFE0,
};

#define FR_BUSY (1u << 3)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define FR_RXFF (1u << 6)
#define FR_TXFE (1u << 7)

#define LCR_H_FEN (1u << 4)
#define CR_LBE (1u << 7)

#define INT_RX (1u << 4)
#define INT_TX (1u << 5)
#define INT_RT (1u << 6)
#define INT_ALL 0x7FFu

/* PeriphID0..3 (part 0x011, ARM, rev 1) then PrimeCell ID0..3. */
static const uint8_t pl011_id[8] = {0x11, 0x10, 0x14, 0x00,
                                    0x0d, 0xf0, 0x05, 0xb1};

struct vmk_pl011 {
  int in_fd, out_fd;
  struct vmk_io_loop *loop;
  struct vmk_irq_line irq;

  pthread_mutex_t lock;
  uint8_t fifo[VMK_PL011_FIFO];
  unsigned head, count;
  bool watching; /* in_fd is on the I/O loop */
  bool rx_eof;   /* in_fd ended or failed: never watched again */
  bool irq_level;
  uint8_t txbuf[VMK_PL011_TXBUF]; /* output out_fd could not take yet */
  unsigned tx_head, tx_len;
  bool tx_watching; /* out_fd is on the I/O loop for EPOLLOUT */
  bool tx_closed;   /* out_fd failed (reader gone): output is discarded */
  uint64_t tx_dropped;
  uint32_t latched; /* edge-style RIS bits (TX), cleared by ICR */
  uint32_t ilpr, ibrd, fbrd, lcr_h, cr, ifls, imsc, dmacr;
};

/* Without FIFOs enabled the PL011 has a one-character holding register. */
static unsigned fifo_cap(const struct vmk_pl011 *u) {
  return (u->lcr_h & LCR_H_FEN) ? VMK_PL011_FIFO : 1;
}

static unsigned rx_trigger(const struct vmk_pl011 *u) {
  static const unsigned lvl[8] = {4, 8, 16, 24, 28, 28, 28, 28};
  return (u->lcr_h & LCR_H_FEN) ? lvl[(u->ifls >> 3) & 7] : 1;
}

/* RX is asserted while the FIFO is at or above its trigger level; the
 * receive timeout (RT) fires for a few waiting bytes below it. We have no
 * bit clock, so RT is raised at once rather than 32 bit-times later. */
static uint32_t ris(const struct vmk_pl011 *u) {
  uint32_t r = u->latched;
  if (u->count >= rx_trigger(u))
    r |= INT_RX;
  else if (u->count)
    r |= INT_RT;
  return r;
}

static void update_irq(struct vmk_pl011 *u) {
  bool level = (ris(u) & u->imsc) != 0;
  if (level != u->irq_level) {
    u->irq_level = level;
    vmk_irq_set(&u->irq, level);
  }
}

static void rx_push(struct vmk_pl011 *u, const uint8_t *b, unsigned n) {
  unsigned cap = fifo_cap(u);
  for (unsigned i = 0; i < n && u->count < cap; i++) {
    u->fifo[(u->head + u->count) % VMK_PL011_FIFO] = b[i];
    u->count++;
  }
}

/* I/O thread only (or after the loop stopped): the loop may still hold an
 * event for the handler, so no other thread may remove it. */
static void stop_watching(struct vmk_pl011 *u) {
  if (u->watching) {
    vmk_io_loop_del(u->loop, u->in_fd);
    u->watching = false;
  }
}

static void rx_ready(void *opaque, uint32_t events);

static void start_watching(struct vmk_pl011 *u) {
  if (u->watching || u->rx_eof || u->in_fd < 0)
    return;
  /* If this fails, input stays paused and the next DR read retries. */
  if (vmk_io_loop_add(u->loop, u->in_fd, EPOLLIN, rx_ready, u) == 0)
    u->watching = true;
}

/* I/O thread: in_fd is readable (or hung up). */
static void rx_ready(void *opaque, uint32_t events) {
  struct vmk_pl011 *u = opaque;
  (void)events;
  pthread_mutex_lock(&u->lock);
  unsigned cap = fifo_cap(u);
  if (u->watching && u->count < cap) {
    /* in_fd may be a shared blocking fd (a terminal): only read when poll
     * says a read cannot block, and never change its flags. */
    struct pollfd pfd = {.fd = u->in_fd, .events = POLLIN};
    if (poll(&pfd, 1, 0) > 0) {
      uint8_t buf[VMK_PL011_FIFO];
      ssize_t n = read(u->in_fd, buf, cap - u->count);
      if (n > 0) {
        rx_push(u, buf, (unsigned)n);
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        stop_watching(u);
        u->rx_eof = true;
      }
    }
  }
  if (u->count >= cap)
    stop_watching(u); /* resumed by dr_read when the guest drains */
  update_irq(u);
  pthread_mutex_unlock(&u->lock);
}

static uint32_t dr_read(struct vmk_pl011 *u) {
  if (!u->count)
    return 0;
  uint32_t c = u->fifo[u->head];
  u->head = (u->head + 1) % VMK_PL011_FIFO;
  u->count--;
  if (u->count <= fifo_cap(u) / 2)
    start_watching(u);
  return c;
}

/* Writes buffered output while out_fd takes it; never waits. */
static void tx_flush(struct vmk_pl011 *u) {
  while (u->tx_len && !u->tx_closed) {
    unsigned chunk = VMK_PL011_TXBUF - u->tx_head;
    if (chunk > u->tx_len)
      chunk = u->tx_len;
    ssize_t n = vmk_char_write(u->out_fd, u->txbuf + u->tx_head, chunk);
    if (n == 0)
      return;
    if (n < 0) {
      u->tx_closed = true;
      u->tx_len = 0;
      return;
    }
    u->tx_head = (u->tx_head + (unsigned)n) % VMK_PL011_TXBUF;
    u->tx_len -= (unsigned)n;
  }
}

static void tx_ready(void *opaque, uint32_t events);

/* If this fails (no loop, or an fd epoll refuses), the buffer is flushed by
 * the next byte the guest writes instead. */
static void tx_start_watching(struct vmk_pl011 *u) {
  if (u->tx_watching || !u->loop)
    return;
  if (vmk_io_loop_add(u->loop, u->out_fd, EPOLLOUT, tx_ready, u) == 0)
    u->tx_watching = true;
}

/* I/O thread only (or after the loop stopped), as for stop_watching. */
static void tx_stop_watching(struct vmk_pl011 *u) {
  if (u->tx_watching) {
    vmk_io_loop_del(u->loop, u->out_fd);
    u->tx_watching = false;
  }
}

/* I/O thread: out_fd can take more (or failed). */
static void tx_ready(void *opaque, uint32_t events) {
  struct vmk_pl011 *u = opaque;
  (void)events;
  pthread_mutex_lock(&u->lock);
  tx_flush(u);
  if (!u->tx_len)
    tx_stop_watching(u);
  pthread_mutex_unlock(&u->lock);
}

static void tx_byte(struct vmk_pl011 *u, uint8_t c) {
  if (u->cr & CR_LBE) { /* loopback: the byte comes back as input */
    rx_push(u, &c, 1);
    return;
  }
  if (u->out_fd < 0 || u->tx_closed)
    return;
  tx_flush(u); /* older bytes first */
  if (!u->tx_len) {
    ssize_t n = vmk_char_write(u->out_fd, &c, 1);
    if (n == 1)
      return;
    if (n < 0) {
      u->tx_closed = true;
      return;
    }
  }
  if (u->tx_len == VMK_PL011_TXBUF) {
    u->tx_dropped++;
    return;
  }
  u->txbuf[(u->tx_head + u->tx_len) % VMK_PL011_TXBUF] = c;
  u->tx_len++;
  tx_start_watching(u);
}

static uint32_t reg_read(struct vmk_pl011 *u, uint64_t reg) {
  switch (reg) {
  case REG_DR:
    return dr_read(u);
  case REG_RSR:
    return 0; /* no framing/parity/overrun errors ever happen here */
  case REG_FR: {
    uint32_t fr = FR_TXFE;
    if (!u->count)
      fr |= FR_RXFE;
    if (u->count >= fifo_cap(u))
      fr |= FR_RXFF;
    return fr;
  }
  case REG_ILPR:
    return u->ilpr;
  case REG_IBRD:
    return u->ibrd;
  case REG_FBRD:
    return u->fbrd;
  case REG_LCR_H:
    return u->lcr_h;
  case REG_CR:
    return u->cr;
  case REG_IFLS:
    return u->ifls;
  case REG_IMSC:
    return u->imsc;
  case REG_RIS:
    return ris(u);
  case REG_MIS:
    return ris(u) & u->imsc;
  case REG_DMACR:
    return u->dmacr;
  default:
    if (reg >= REG_ID0 && reg < REG_ID0 + 32)
      return pl011_id[(reg - REG_ID0) / 4];
    return 0;
  }
}

static void reg_write(struct vmk_pl011 *u, uint64_t reg, uint32_t v) {
  switch (reg) {
  case REG_DR:
    tx_byte(u, (uint8_t)v);
    u->latched |= INT_TX; /* the FIFO empties at once: below trigger */
    break;
  case REG_RSR:
    break; /* ECR: clears errors, of which there are none */
  case REG_ILPR:
    u->ilpr = v & 0xff;
    break;
  case REG_IBRD:
    u->ibrd = v & 0xffff;
    break;
  case REG_FBRD:
    u->fbrd = v & 0x3f;
    break;
  case REG_LCR_H:
    u->lcr_h = v & 0xff;
    /* A larger FIFO may have room now; a smaller one is noticed by
     * rx_ready, since only the I/O thread takes in_fd off the loop. */
    if (u->count <= fifo_cap(u) / 2)
      start_watching(u);
    break;
  case REG_CR:
    u->cr = v & 0xffff;
    break;
  case REG_IFLS:
    u->ifls = v & 0x3f;
    break;
  case REG_IMSC:
    u->imsc = v & INT_ALL;
    break;
  case REG_ICR:
    u->latched &= ~v;
    break;
  case REG_DMACR:
    u->dmacr = v & 0x7;
    break;
  default:
    break; /* read-only or unimplemented: ignored */
  }
}

/* vCPU threads. Registers are 32-bit at 4-byte offsets; narrower accesses
 * see the matching bytes, unaligned writes are ignored. */
static uint64_t pl011_read(void *opaque, uint64_t off, unsigned size) {
  struct vmk_pl011 *u = opaque;
  if (off >= 0x1000 || size > 4)
    return 0;
  pthread_mutex_lock(&u->lock);
  uint32_t v = reg_read(u, off & ~3ull);
  update_irq(u);
  pthread_mutex_unlock(&u->lock);
  v >>= (off & 3) * 8;
  return size == 4 ? v : v & ((1u << (size * 8)) - 1);
}

static void pl011_write(void *opaque, uint64_t off, unsigned size,
                        uint64_t val) {
  struct vmk_pl011 *u = opaque;
  if (off >= 0x1000 || (off & 3) || size > 4)
    return;
  pthread_mutex_lock(&u->lock);
  reg_write(u, off, (uint32_t)val);
  update_irq(u);
  pthread_mutex_unlock(&u->lock);
}

const struct vmk_mmio_ops vmk_pl011_ops = {
    .read = pl011_read,
    .write = pl011_write,
};

int vmk_pl011_create(int in_fd, int out_fd, struct vmk_irq_line irq,
                     struct vmk_io_loop *loop, struct vmk_pl011 **out,
                     vmk_error *err) {
  *out = NULL;
  if (in_fd >= 0 && !loop)
    return vmk_err(err, -EINVAL,
                   "the PL011 console needs an I/O loop to read its input; "
                   "this is a vmkit bug");
  struct vmk_pl011 *u = calloc(1, sizeof(*u));
  if (!u)
    return vmk_err(err, -ENOMEM, "out of memory creating the PL011 console");
  u->in_fd = in_fd;
  u->out_fd = -1;
  u->loop = loop;
  u->irq = irq;
  u->cr = 0x300; /* reset: TXE | RXE */
  u->ifls = 0x12;
  if (out_fd >= 0 && (u->out_fd = vmk_char_dup_output(out_fd)) < 0) {
    int rc = u->out_fd;
    free(u);
    return vmk_err(err, rc, "cannot use fd %d as the PL011 console output: %s",
                   out_fd, strerror(-rc));
  }
  pthread_mutex_init(&u->lock, NULL);
  if (in_fd >= 0) {
    int rc = vmk_io_loop_add(loop, in_fd, EPOLLIN, rx_ready, u);
    /* epoll refuses regular files and /dev/null: no live input, which is
     * what a user running vmkit with stdin redirected means. */
    if (rc == -EPERM) {
      u->in_fd = -1;
      rc = 0;
    } else if (rc) {
      pthread_mutex_destroy(&u->lock);
      if (u->out_fd >= 0)
        close(u->out_fd);
      free(u);
      return vmk_err(err, rc, "cannot watch the console input: %s",
                     strerror(-rc));
    }
    u->watching = u->in_fd >= 0;
  }
  *out = u;
  return 0;
}

void vmk_pl011_destroy(struct vmk_pl011 *u) {
  if (!u)
    return;
  stop_watching(u);
  tx_stop_watching(u);
  if (u->out_fd >= 0)
    close(u->out_fd);
  pthread_mutex_destroy(&u->lock);
  free(u);
}

uint64_t vmk_pl011_tx_dropped(struct vmk_pl011 *u) {
  pthread_mutex_lock(&u->lock);
  uint64_t n = u->tx_dropped;
  pthread_mutex_unlock(&u->lock);
  return n;
}

/* ---- snapshots ---- */

#define SAVE_VERSION 1

void vmk_pl011_save(struct vmk_pl011 *u, struct vmk_sbuf *out) {
  pthread_mutex_lock(&u->lock);
  vmk_sbuf_u32(out, SAVE_VERSION);
  uint32_t regs[] = {u->latched, u->ilpr, u->ibrd, u->fbrd, u->lcr_h,
                     u->cr,      u->ifls, u->imsc, u->dmacr};
  for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++)
    vmk_sbuf_u32(out, regs[i]);
  vmk_sbuf_u32(out, u->count);
  for (unsigned i = 0; i < u->count; i++)
    vmk_sbuf_u8(out, u->fifo[(u->head + i) % VMK_PL011_FIFO]);
  pthread_mutex_unlock(&u->lock);
}

int vmk_pl011_load(struct vmk_pl011 *u, const void *data, size_t len,
                   vmk_error *err) {
  struct vmk_sreader r = vmk_sreader_of(data, len);
  uint32_t version = vmk_sr_u32(&r);
  uint32_t regs[9];
  for (size_t i = 0; i < 9; i++)
    regs[i] = vmk_sr_u32(&r);
  uint32_t count = vmk_sr_u32(&r);
  uint8_t fifo[VMK_PL011_FIFO];
  if (version != SAVE_VERSION || count > VMK_PL011_FIFO)
    r.bad = true;
  else
    vmk_sr_bytes(&r, fifo, count);
  if (!vmk_sr_done(&r))
    return vmk_err(err, -EINVAL, "the snapshot's PL011 state is malformed");
  pthread_mutex_lock(&u->lock);
  u->latched = regs[0];
  u->ilpr = regs[1];
  u->ibrd = regs[2];
  u->fbrd = regs[3];
  u->lcr_h = regs[4];
  u->cr = regs[5];
  u->ifls = regs[6];
  u->imsc = regs[7];
  u->dmacr = regs[8];
  memcpy(u->fifo, fifo, count);
  u->head = 0;
  u->count = count;
  u->irq_level = false;
  vmk_irq_set(&u->irq, false);
  update_irq(u);
  pthread_mutex_unlock(&u->lock);
  return 0;
}
