/* io_loop.c — epoll event loop run by the VM's I/O thread.
 * loop->lock protects the handler list and the call queue; callbacks run
 * without it held, on the loop thread only. */
#include "io_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "thread.h"

struct vmk_io_handler {
  int fd;
  vmk_io_cb cb;
  void *opaque;
  struct vmk_io_handler *next;
};

struct vmk_io_call {
  void (*fn)(void *);
  void *arg;
  struct vmk_io_call *next;
};

int vmk_io_loop_init(struct vmk_io_loop *loop, vmk_error *err) {
  memset(loop, 0, sizeof(*loop));
  loop->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (loop->epfd < 0)
    return vmk_err(err, -errno, "cannot create the I/O event loop: %s",
                   strerror(errno));
  loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (loop->wake_fd < 0) {
    int e = errno;
    close(loop->epfd);
    return vmk_err(err, -e, "cannot create an eventfd: %s", strerror(e));
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev);
  pthread_mutex_init(&loop->lock, NULL);
  return 0;
}

int vmk_io_loop_add(struct vmk_io_loop *loop, int fd, uint32_t events,
                    vmk_io_cb cb, void *opaque) {
  struct vmk_io_handler *h = calloc(1, sizeof(*h));
  if (!h)
    return -ENOMEM;
  h->fd = fd;
  h->cb = cb;
  h->opaque = opaque;
  pthread_mutex_lock(&loop->lock);
  h->next = loop->handlers;
  loop->handlers = h;
  pthread_mutex_unlock(&loop->lock);
  struct epoll_event ev = {.events = events, .data.ptr = h};
  if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    int e = errno;
    vmk_io_loop_del(loop, fd);
    return -e;
  }
  return 0;
}

int vmk_io_loop_del(struct vmk_io_loop *loop, int fd) {
  epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
  pthread_mutex_lock(&loop->lock);
  struct vmk_io_handler **pp = &loop->handlers;
  while (*pp && (*pp)->fd != fd)
    pp = &(*pp)->next;
  struct vmk_io_handler *h = *pp;
  if (h)
    *pp = h->next;
  pthread_mutex_unlock(&loop->lock);
  /* Deleting from inside a callback of the same round is safe only for the
   * handler being served; the loop re-reads nothing from h after cb. */
  free(h);
  return h ? 0 : -ENOENT;
}

static void wake(struct vmk_io_loop *loop) {
  uint64_t one = 1;
  ssize_t r = write(loop->wake_fd, &one, sizeof(one));
  (void)r; /* a full counter still wakes the loop */
}

int vmk_io_loop_call(struct vmk_io_loop *loop, void (*fn)(void *), void *arg) {
  struct vmk_io_call *c = malloc(sizeof(*c));
  if (!c)
    return -ENOMEM;
  c->fn = fn;
  c->arg = arg;
  pthread_mutex_lock(&loop->lock);
  struct vmk_io_call **pp = &loop->calls;
  while (*pp)
    pp = &(*pp)->next;
  c->next = NULL;
  *pp = c;
  pthread_mutex_unlock(&loop->lock);
  wake(loop);
  return 0;
}

static void run_calls(struct vmk_io_loop *loop) {
  pthread_mutex_lock(&loop->lock);
  struct vmk_io_call *c = loop->calls;
  loop->calls = NULL;
  pthread_mutex_unlock(&loop->lock);
  while (c) {
    struct vmk_io_call *next = c->next;
    c->fn(c->arg);
    free(c);
    c = next;
  }
}

int vmk_io_loop_run_once(struct vmk_io_loop *loop, int timeout_ms) {
  struct epoll_event evs[32];
  int n = epoll_wait(loop->epfd, evs, 32, timeout_ms);
  if (n < 0)
    return errno == EINTR ? 0 : -errno;
  for (int i = 0; i < n; i++) {
    struct vmk_io_handler *h = evs[i].data.ptr;
    if (!h) {
      uint64_t v;
      ssize_t r = read(loop->wake_fd, &v, sizeof(v));
      (void)r;
      run_calls(loop);
      continue;
    }
    h->cb(h->opaque, evs[i].events);
  }
  return n;
}

static void *loop_main(void *arg) {
  struct vmk_io_loop *loop = arg;
  while (!__atomic_load_n(&loop->stop, __ATOMIC_ACQUIRE))
    vmk_io_loop_run_once(loop, -1);
  run_calls(loop);
  return NULL;
}

int vmk_io_loop_start(struct vmk_io_loop *loop, vmk_error *err) {
  __atomic_store_n(&loop->stop, false, __ATOMIC_RELEASE);
  int r = vmk_thread_create(&loop->thread, loop_main, loop);
  if (r)
    return vmk_err(err, -r, "cannot start the I/O thread: %s", strerror(r));
  loop->running = true;
  return 0;
}

void vmk_io_loop_stop(struct vmk_io_loop *loop) {
  if (!loop->running)
    return;
  __atomic_store_n(&loop->stop, true, __ATOMIC_RELEASE);
  wake(loop);
  pthread_join(loop->thread, NULL);
  loop->running = false;
}

void vmk_io_loop_destroy(struct vmk_io_loop *loop) {
  vmk_io_loop_stop(loop);
  run_calls(loop);
  while (loop->handlers) {
    struct vmk_io_handler *h = loop->handlers;
    loop->handlers = h->next;
    free(h);
  }
  if (loop->epfd >= 0)
    close(loop->epfd);
  if (loop->wake_fd >= 0)
    close(loop->wake_fd);
  pthread_mutex_destroy(&loop->lock);
}
