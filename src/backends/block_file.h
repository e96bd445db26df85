/* block_file.h — a raw disk image (regular file or block device) as a
 * block backend: positioned reads and writes, flush, discard, write-zeroes.
 * Knows nothing of virtio. Synchronous I/O for now (io_uring later).
 * Threads: one thread at a time (the VM's I/O thread); no shared state.
 */
#ifndef VMK_BACKENDS_BLOCK_FILE_H
#define VMK_BACKENDS_BLOCK_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "base/error.h"

#define VMK_BLOCK_SERIAL_LEN 20

struct vmk_block_file {
  int fd;
  bool read_only;
  uint64_t size; /* bytes, at open time */
  /* A stable identifier for the image: file name and inode. Not
   * NUL-terminated when it is exactly VMK_BLOCK_SERIAL_LEN long. */
  char serial[VMK_BLOCK_SERIAL_LEN];
  /* Test hook, called after each fdatasync() returned successfully. */
  void (*synced)(void *opaque);
  void *synced_opaque;
};

/* Opens path (O_CLOEXEC, read-write or read-only) and takes an advisory
 * lock on it (exclusive for read-write, shared for read-only) so that two
 * VMs cannot write one image; a locked image is a clear error. */
int vmk_block_file_open(struct vmk_block_file *bf, const char *path,
                        bool read_only, vmk_error *err);
void vmk_block_file_close(struct vmk_block_file *bf);
/* All return 0 or a negative errno. Reads past the end of the file read
 * zeroes; offsets are not checked against size (the caller does). */
int vmk_block_file_readv(struct vmk_block_file *bf, const struct iovec *iov,
                         int n, uint64_t off);
int vmk_block_file_writev(struct vmk_block_file *bf, const struct iovec *iov,
                          int n, uint64_t off);
/* fdatasync(): on return 0 the data written before is on stable storage. */
int vmk_block_file_flush(struct vmk_block_file *bf);
/* Deallocates a range (a hint: success when the file system cannot). */
int vmk_block_file_discard(struct vmk_block_file *bf, uint64_t off,
                           uint64_t len);
/* Makes a range read as zeroes; with may_unmap it may deallocate it. */
int vmk_block_file_write_zeroes(struct vmk_block_file *bf, uint64_t off,
                                uint64_t len, bool may_unmap);

#endif
