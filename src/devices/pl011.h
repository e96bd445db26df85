/* pl011.h — ARM PrimeCell PL011 UART, enough for Linux's amba-pl011 driver
 * and earlycon: console output to a file descriptor, input from another.
 * Output never blocks the guest: what a stalled reader cannot take waits in
 * a bounded buffer, then is dropped (and counted).
 *
 * Threads: register accesses come from vCPU threads (vmk_pl011_ops), input
 * is read on the VM's I/O thread; one mutex inside the device protects its
 * state. Create before the VM runs; destroy after the vCPUs and the I/O loop
 * have stopped, and before the loop is destroyed (destroy takes in_fd off
 * it). */
#ifndef VMK_DEVICES_PL011_H
#define VMK_DEVICES_PL011_H

#include "base/error.h"
#include "base/io_loop.h"
#include "base/sbuf.h"
#include "devices/bus.h"
#include "devices/irq.h"

struct vmk_pl011;

/* Receive FIFO depth (the PL011's is 32 when FIFOs are enabled). */
#define VMK_PL011_FIFO 32
/* Output held back while the reader does not drain out_fd. */
#define VMK_PL011_TXBUF 16384

/* in_fd -1: no input; out_fd -1: output is discarded. The fds stay the
 * caller's (not closed by destroy). loop may be NULL when in_fd is -1. */
int vmk_pl011_create(int in_fd, int out_fd, struct vmk_irq_line irq,
                     struct vmk_io_loop *loop, struct vmk_pl011 **out,
                     vmk_error *err);
extern const struct vmk_mmio_ops vmk_pl011_ops;
void vmk_pl011_destroy(struct vmk_pl011 *u);
/* Bytes of guest output dropped because the reader stalled. Any thread. */
uint64_t vmk_pl011_tx_dropped(struct vmk_pl011 *u);

/* Snapshots (VM paused): the registers and the guest-visible state;
 * load takes them from an untrusted snapshot (checked) before the VM runs
 * and sets the interrupt line to match. */
void vmk_pl011_save(struct vmk_pl011 *d, struct vmk_sbuf *out);
int vmk_pl011_load(struct vmk_pl011 *d, const void *data, size_t len,
                   vmk_error *err);

#endif
