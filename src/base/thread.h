/* thread.h — starting vmkit's own threads (I/O loop, VM monitor, KVM vCPUs,
 * console relay) with a small stack.
 *
 * glibc gives each thread an 8 MiB stack. On a host with transparent huge
 * pages set to "always", such a stack holds a 2 MiB-aligned range that the
 * kernel backs with one huge page as soon as the thread touches it: 2 MiB
 * of RSS for a thread that uses a few KiB, which is most of the VMM's own
 * memory overhead. A stack smaller than 2 MiB can never hold a huge page.
 * No vmkit thread keeps more than a few tens of KiB on its stack.
 * Any thread may call these. */
#ifndef VMK_BASE_THREAD_H
#define VMK_BASE_THREAD_H

#include <pthread.h>
#include <stddef.h>

/* The stack of every thread vmkit starts itself. */
#define VMK_THREAD_STACK (1u << 20)

/* pthread_create with a VMK_THREAD_STACK stack: 0 or a positive errno, as
 * pthread_create returns. */
int vmk_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
