/* io_loop.h — the per-VM I/O thread's event loop (epoll).
 *
 * Virtio queue notifications (eventfds), console input and backend
 * completions are served here, one callback at a time, on the VM's I/O
 * thread. vmk_io_loop_add/del may be called from any thread; callbacks run
 * only on the loop's thread. vmk_io_loop_call runs a function on the loop
 * thread soon (used to hand work over from vCPU threads).
 */
#ifndef VMK_BASE_IO_LOOP_H
#define VMK_BASE_IO_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

typedef void (*vmk_io_cb)(void *opaque, uint32_t events);

struct vmk_io_handler;

struct vmk_io_loop {
  int epfd;
  int wake_fd; /* eventfd: stop / call requests */
  pthread_t thread;
  bool running;
  bool stop; /* set and read with __atomic: other threads stop the loop */
  pthread_mutex_t lock; /* protects handlers list and calls queue */
  struct vmk_io_handler *handlers;
  struct vmk_io_call *calls;
};

int vmk_io_loop_init(struct vmk_io_loop *loop, vmk_error *err);
/* events: EPOLLIN / EPOLLOUT bits. */
int vmk_io_loop_add(struct vmk_io_loop *loop, int fd, uint32_t events,
                    vmk_io_cb cb, void *opaque);
int vmk_io_loop_del(struct vmk_io_loop *loop, int fd);
int vmk_io_loop_call(struct vmk_io_loop *loop, void (*fn)(void *), void *arg);
int vmk_io_loop_start(struct vmk_io_loop *loop, vmk_error *err);
/* Stops and joins the thread (call from any other thread). */
void vmk_io_loop_stop(struct vmk_io_loop *loop);
void vmk_io_loop_destroy(struct vmk_io_loop *loop);
/* Runs one round of the loop on the caller's thread, waiting up to
 * timeout_ms; for tests that drive the loop by hand. */
int vmk_io_loop_run_once(struct vmk_io_loop *loop, int timeout_ms);

#endif
