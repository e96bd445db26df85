/* test_pl011.c — the PL011 UART through pipes: transmit, receive through
 * the I/O loop (driven by hand), FIFO flow control, interrupts and register
 * semantics. Single-threaded: the test thread plays both vCPU and I/O
 * thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/pl011.h"
#include "fake_irq.h"

#define DR 0x00
#define FR 0x18
#define IBRD 0x24
#define FBRD 0x28
#define LCR_H 0x2C
#define CR 0x30
#define IFLS 0x34
#define IMSC 0x38
#define RIS 0x3C
#define MIS 0x40
#define ICR 0x44
#define DMACR 0x48

#define FR_RXFE 0x10
#define FR_RXFF 0x40
#define FR_TXFE 0x80
#define INT_RX 0x10
#define INT_TX 0x20
#define INT_RT 0x40
#define FEN 0x10

struct fx {
  int in[2], out[2];
  struct vmk_io_loop loop;
  struct fake_irq irq;
  struct vmk_pl011 *u;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  vmk_error err = {0};
  if (pipe(f->in) || pipe(f->out))
    return -1;
  /* the test reads output without blocking */
  fcntl(f->out[0], F_SETFL, O_NONBLOCK);
  if (vmk_io_loop_init(&f->loop, &err))
    return -1;
  if (vmk_pl011_create(f->in[0], f->out[1], fake_irq_line(&f->irq, 1), &f->loop,
                       &f->u, &err))
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  vmk_pl011_destroy(f->u);
  vmk_io_loop_destroy(&f->loop);
  for (int i = 0; i < 2; i++) {
    if (f->in[i] >= 0)
      close(f->in[i]);
    if (f->out[i] >= 0)
      close(f->out[i]);
  }
  free(f);
  return 0;
}

static uint32_t rd(struct fx *f, uint64_t off) {
  return (uint32_t)vmk_pl011_ops.read(f->u, off, 4);
}
static void wr(struct fx *f, uint64_t off, uint32_t v) {
  vmk_pl011_ops.write(f->u, off, 4, v);
}

static void test_ids_and_reset(void **state) {
  struct fx *f = *state;
  static const uint8_t id[8] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
  for (int i = 0; i < 8; i++)
    assert_int_equal(rd(f, 0xFE0 + 4 * i), id[i]);
  assert_int_equal(rd(f, FR) & (FR_RXFE | FR_TXFE), FR_RXFE | FR_TXFE);
  assert_int_equal(rd(f, CR), 0x300);
  assert_int_equal(rd(f, IFLS), 0x12);
  assert_int_equal(rd(f, IMSC), 0);
  assert_false(f->irq.level[1]);
}

static void test_register_semantics(void **state) {
  struct fx *f = *state;
  wr(f, IBRD, 0x12345);
  assert_int_equal(rd(f, IBRD), 0x2345); /* 16 bits */
  wr(f, FBRD, 0xff);
  assert_int_equal(rd(f, FBRD), 0x3f); /* 6 bits */
  wr(f, LCR_H, 0x170);
  assert_int_equal(rd(f, LCR_H), 0x70);
  wr(f, CR, 0x10301);
  assert_int_equal(rd(f, CR), 0x301);
  wr(f, IFLS, 0xff);
  assert_int_equal(rd(f, IFLS), 0x3f);
  wr(f, IMSC, 0xffff);
  assert_int_equal(rd(f, IMSC), 0x7ff);
  wr(f, IMSC, 0);
  wr(f, DMACR, 0xff);
  assert_int_equal(rd(f, DMACR), 7);
  /* byte access to a register's low byte, unaligned writes ignored */
  assert_int_equal(vmk_pl011_ops.read(f->u, 0xFE0, 1), 0x11);
  assert_int_equal(vmk_pl011_ops.read(f->u, CR + 1, 1), 0x3);
  vmk_pl011_ops.write(f->u, IBRD + 1, 1, 0x55);
  assert_int_equal(rd(f, IBRD), 0x2345);
  /* offsets past the region and unknown registers read 0 */
  assert_int_equal(rd(f, 0x800), 0);
  assert_int_equal(vmk_pl011_ops.read(f->u, 0x5000, 4), 0);
  vmk_pl011_ops.write(f->u, 0x5000, 4, 1);
}

/* Linux's amba-pl011 uses 16-bit accesses (readw/writew) on ARM's PL011. */
static void test_16bit_access_like_linux(void **state) {
  struct fx *f = *state;
  vmk_pl011_ops.write(f->u, IMSC, 2, INT_RX | INT_RT);
  assert_int_equal(vmk_pl011_ops.read(f->u, IMSC, 2), INT_RX | INT_RT);
  vmk_pl011_ops.write(f->u, LCR_H, 2, FEN | 0x60);
  assert_int_equal(write(f->in[1], "w", 1), 1);
  assert_true(vmk_io_loop_run_once(&f->loop, 1000) >= 1);
  assert_true(f->irq.level[1]);
  assert_int_equal(vmk_pl011_ops.read(f->u, MIS, 2), INT_RT);
  assert_int_equal(vmk_pl011_ops.read(f->u, FR, 2) & FR_RXFE, 0);
  assert_int_equal(vmk_pl011_ops.read(f->u, DR, 2), 'w');
  assert_false(f->irq.level[1]);
  vmk_pl011_ops.write(f->u, DR, 2, 'o');
  char c = 0;
  assert_int_equal(read(f->out[0], &c, 1), 1);
  assert_int_equal(c, 'o');
}

static void test_tx(void **state) {
  struct fx *f = *state;
  const char *msg = "hello, vmkit\n";
  for (const char *p = msg; *p; p++)
    vmk_pl011_ops.write(f->u, DR, 1, (uint8_t)*p);
  char buf[64] = {0};
  ssize_t n = read(f->out[0], buf, sizeof(buf));
  assert_int_equal(n, (ssize_t)strlen(msg));
  assert_string_equal(buf, msg);
  assert_true(rd(f, FR) & FR_TXFE);

  /* TX interrupt: raised by a write, cleared by ICR, masked by IMSC */
  assert_true(rd(f, RIS) & INT_TX);
  assert_false(f->irq.level[1]);
  wr(f, IMSC, INT_TX);
  assert_true(f->irq.level[1]);
  assert_int_equal(rd(f, MIS), INT_TX);
  wr(f, ICR, INT_TX);
  assert_false(f->irq.level[1]);
  assert_int_equal(rd(f, RIS) & INT_TX, 0);
}

/* Fills the pipe behind fd without touching fd's own flags. */
static void fill_pipe(int fd) {
  char path[32];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  int nb = open(path, O_WRONLY | O_NONBLOCK);
  assert_true(nb >= 0);
  char junk[4096];
  memset(junk, '.', sizeof(junk));
  while (write(nb, junk, sizeof(junk)) > 0)
    ;
  close(nb);
}

/* A console reader that stops reading (`vmkit run | sleep 20`) must not
 * block the vCPU even though the pipe is in blocking mode: output waits in
 * a bounded buffer, the rest is dropped and counted, and the I/O thread
 * flushes the buffer once the reader drains. Before, write(2) blocked
 * forever here (the alarm ends the test). */
static void test_tx_stalled_reader(void **state) {
  struct fx *f = *state;
  assert_false(fcntl(f->out[1], F_GETFL) & O_NONBLOCK);
  fill_pipe(f->out[1]);
  alarm(30);
  enum { N = VMK_PL011_TXBUF + 5000 };
  for (int i = 0; i < N; i++)
    wr(f, DR, 'L');
  alarm(0);
  assert_int_equal(vmk_pl011_tx_dropped(f->u), N - VMK_PL011_TXBUF);
  /* the shell's description of the pipe is left blocking */
  assert_false(fcntl(f->out[1], F_GETFL) & O_NONBLOCK);
  char junk[4096];
  while (read(f->out[0], junk, sizeof(junk)) == (ssize_t)sizeof(junk) &&
         junk[sizeof(junk) - 1] == '.')
    ;
  /* The reader drained: the I/O thread (driven by hand) flushes. */
  for (int i = 0; i < 10; i++)
    vmk_io_loop_run_once(&f->loop, 100);
  size_t ls = 0;
  ssize_t n;
  while ((n = read(f->out[0], junk, sizeof(junk))) > 0)
    for (ssize_t k = 0; k < n; k++)
      ls += junk[k] == 'L';
  assert_int_equal(ls, VMK_PL011_TXBUF);
  /* and output flows straight through again */
  wr(f, DR, '!');
  char c = 0;
  assert_int_equal(read(f->out[0], &c, 1), 1);
  assert_int_equal(c, '!');
  assert_int_equal(vmk_pl011_tx_dropped(f->u), N - VMK_PL011_TXBUF);
}

/* A reader that went away (`vmkit run | head -c 10`) makes the output a
 * sink: no SIGPIPE (which used to kill the process), no error, no block. */
static void test_tx_reader_gone(void **state) {
  struct fx *f = *state;
  wr(f, DR, 'a');
  char c = 0;
  assert_int_equal(read(f->out[0], &c, 1), 1);
  close(f->out[0]);
  f->out[0] = -1;
  for (int i = 0; i < 100000; i++)
    wr(f, DR, 'x');
  assert_int_equal(vmk_pl011_tx_dropped(f->u), 0);
  assert_true(rd(f, FR) & FR_TXFE);
}

static void test_loopback(void **state) {
  struct fx *f = *state;
  wr(f, CR, 0x381); /* UARTEN | LBE | TXE | RXE */
  wr(f, DR, 'Z');
  char c;
  assert_int_equal(read(f->out[0], &c, 1), -1); /* nothing left the UART */
  assert_int_equal(rd(f, FR) & FR_RXFE, 0);
  assert_int_equal(rd(f, DR), 'Z');
}

static void test_rx_and_interrupts(void **state) {
  struct fx *f = *state;
  wr(f, LCR_H, FEN | 0x60);
  wr(f, IMSC, INT_RX | INT_RT);
  assert_int_equal(write(f->in[1], "abc", 3), 3);
  assert_true(vmk_io_loop_run_once(&f->loop, 1000) >= 1);
  assert_int_equal(rd(f, FR) & FR_RXFE, 0);
  /* 3 bytes are below the 1/2 trigger (16): receive timeout, not RX */
  assert_int_equal(rd(f, RIS) & (INT_RX | INT_RT), INT_RT);
  assert_true(f->irq.level[1]);
  assert_int_equal(rd(f, DR), 'a');
  assert_int_equal(rd(f, DR), 'b');
  assert_true(f->irq.level[1]);
  assert_int_equal(rd(f, DR), 'c');
  assert_true(rd(f, FR) & FR_RXFE);
  assert_false(f->irq.level[1]);
  assert_int_equal(rd(f, RIS) & (INT_RX | INT_RT), 0);

  /* at the trigger level RX is raised, below it again it drops */
  char many[20];
  memset(many, 'x', sizeof(many));
  assert_int_equal(write(f->in[1], many, 20), 20);
  assert_true(vmk_io_loop_run_once(&f->loop, 1000) >= 1);
  assert_int_equal(rd(f, MIS) & INT_RX, INT_RX);
  for (int i = 0; i < 5; i++)
    rd(f, DR);
  assert_int_equal(rd(f, RIS) & (INT_RX | INT_RT), INT_RT);
  while (!(rd(f, FR) & FR_RXFE))
    rd(f, DR);
  assert_false(f->irq.level[1]);
}

static void test_rx_flow_control(void **state) {
  struct fx *f = *state;
  wr(f, LCR_H, FEN | 0x60);
  char in[100];
  for (int i = 0; i < 100; i++)
    in[i] = (char)('0' + i % 64);
  assert_int_equal(write(f->in[1], in, sizeof(in)), (ssize_t)sizeof(in));

  char got[100];
  int n = 0;
  while (n < 100) {
    assert_true(vmk_io_loop_run_once(&f->loop, 1000) >= 1);
    if (n + VMK_PL011_FIFO <= 100) {
      /* the FIFO is full: the fd is off the loop, so the loop stays idle
       * although the pipe still has data (no busy loop) */
      assert_true(rd(f, FR) & FR_RXFF);
      assert_int_equal(vmk_io_loop_run_once(&f->loop, 0), 0);
    }
    while (!(rd(f, FR) & FR_RXFE))
      got[n++] = (char)rd(f, DR);
  }
  assert_int_equal(n, 100);
  assert_memory_equal(got, in, 100);
}

static void test_rx_without_fifo(void **state) {
  struct fx *f = *state;
  /* reset LCR_H: FIFOs off, a one-byte holding register */
  assert_int_equal(write(f->in[1], "pq", 2), 2);
  assert_true(vmk_io_loop_run_once(&f->loop, 1000) >= 1);
  assert_true(rd(f, FR) & FR_RXFF);
  assert_int_equal(vmk_io_loop_run_once(&f->loop, 0), 0);
  assert_int_equal(rd(f, DR), 'p');
  assert_true(vmk_io_loop_run_once(&f->loop, 1000) >= 1);
  assert_int_equal(rd(f, DR), 'q');
}

static void test_rx_eof(void **state) {
  struct fx *f = *state;
  assert_int_equal(write(f->in[1], "e", 1), 1);
  close(f->in[1]);
  f->in[1] = -1;
  wr(f, LCR_H, FEN);
  assert_true(vmk_io_loop_run_once(&f->loop, 1000) >= 1);
  assert_int_equal(rd(f, DR), 'e');
  /* the hang-up is seen once, then the fd is off the loop for good */
  assert_true(vmk_io_loop_run_once(&f->loop, 1000) >= 1);
  assert_int_equal(vmk_io_loop_run_once(&f->loop, 0), 0);
  assert_int_equal(vmk_io_loop_run_once(&f->loop, 0), 0);
  assert_true(rd(f, FR) & FR_RXFE);
}

struct feeder {
  int fd;
  const char *buf;
  size_t len;
};

static void *feed(void *arg) {
  struct feeder *fd = arg;
  size_t off = 0;
  while (off < fd->len) {
    ssize_t n = write(fd->fd, fd->buf + off, fd->len - off);
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  return NULL;
}

/* The I/O loop on its own thread fills the FIFO while this thread, as a
 * vCPU, drains it: every byte arrives once and in order, through many
 * pause/resume cycles of the flow control. */
static void test_rx_threaded(void **state) {
  struct fx *f = *state;
  enum { LEN = 20000 };
  static char in[LEN], got[LEN];
  for (int i = 0; i < LEN; i++)
    in[i] = (char)(i * 31 + i / 256);
  wr(f, LCR_H, FEN | 0x60);
  vmk_error err = {0};
  assert_int_equal(vmk_io_loop_start(&f->loop, &err), 0);
  struct feeder fd = {f->in[1], in, LEN};
  pthread_t th;
  pthread_create(&th, NULL, feed, &fd);
  size_t n = 0;
  while (n < LEN) {
    if (rd(f, FR) & FR_RXFE) {
      sched_yield();
      continue;
    }
    got[n++] = (char)rd(f, DR);
  }
  pthread_join(th, NULL);
  vmk_io_loop_stop(&f->loop);
  assert_memory_equal(got, in, LEN);
  assert_true(rd(f, FR) & FR_RXFE);
}

static void test_no_input_no_output(void **state) {
  (void)state;
  struct vmk_pl011 *u;
  vmk_error err = {0};
  struct vmk_irq_line none = {0};
  assert_int_equal(vmk_pl011_create(-1, -1, none, NULL, &u, &err), 0);
  vmk_pl011_ops.write(u, DR, 4, 'x'); /* discarded */
  assert_true(vmk_pl011_ops.read(u, FR, 4) & FR_RXFE);
  vmk_pl011_destroy(u);
  /* input without a loop is a programming error, reported */
  assert_int_not_equal(vmk_pl011_create(0, -1, none, NULL, &u, &err), 0);
  assert_null(u);
  assert_true(err.msg[0] != '\0');
}

/* stdin redirected from /dev/null (epoll refuses it) is no input, not an
 * error: `vmkit run </dev/null` must work. */
static void test_unpollable_input(void **state) {
  (void)state;
  struct vmk_io_loop loop;
  vmk_error err = {0};
  assert_int_equal(vmk_io_loop_init(&loop, &err), 0);
  int devnull = open("/dev/null", O_RDONLY);
  assert_true(devnull >= 0);
  struct vmk_pl011 *u;
  struct vmk_irq_line none = {0};
  assert_int_equal(vmk_pl011_create(devnull, -1, none, &loop, &u, &err), 0);
  assert_true(vmk_pl011_ops.read(u, FR, 4) & FR_RXFE);
  vmk_pl011_destroy(u);
  close(devnull);
  vmk_io_loop_destroy(&loop);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_ids_and_reset),
      T(test_register_semantics),
      T(test_16bit_access_like_linux),
      T(test_tx),
      T(test_tx_stalled_reader),
      T(test_tx_reader_gone),
      T(test_loopback),
      T(test_rx_and_interrupts),
      T(test_rx_flow_control),
      T(test_rx_without_fifo),
      T(test_rx_eof),
      T(test_rx_threaded),
      cmocka_unit_test(test_no_input_no_output),
      cmocka_unit_test(test_unpollable_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
