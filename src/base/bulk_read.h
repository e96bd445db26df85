/* bulk_read.h — reading many pieces of files at once (the kernel Image and
 * initrd, or a snapshot's memory, into guest RAM).
 *
 * The pieces are read in parallel, by the calling thread and the host
 * kernel's io_uring workers (one per other CPU the process may use),
 * handed out as they go (the caller takes them from the front, the
 * workers from the back), so a slow worker delays only its own pieces:
 * reading a large file into fresh memory is dominated by the host's page
 * faults, page zeroing and copying, which then run on several CPUs, and
 * vmkit itself starts no thread (a thread's start and exit fault in some
 * 100 KiB of libc that stays resident: the VMM's memory overhead). Where
 * io_uring is missing or refused (old kernels, seccomp, a sysctl), the
 * pieces are read one after the other on the calling thread.
 *
 * Any thread may call vmk_bulk_read; it returns when every piece is read.
 */
#ifndef VMK_BASE_BULK_READ_H
#define VMK_BASE_BULK_READ_H

#include <stdbool.h>
#include <stdint.h>

struct vmk_read_piece {
  int fd;
  void *dst;
  uint64_t len, off;
};

/* Large files are cut into pieces of this size: small enough that every
 * CPU gets several of a kernel Image's, large enough that a piece costs
 * far more than its submission. */
#define VMK_READ_PIECE (4ull << 20)

/* How many pieces vmk_read_pieces makes of len bytes. */
static inline uint64_t vmk_read_piece_count(uint64_t len) {
  return (len + VMK_READ_PIECE - 1) / VMK_READ_PIECE;
}

/* Cuts the bytes [off, off + len) of fd, to be read into dst, into
 * pieces[n], pieces[n + 1], ... (vmk_read_piece_count(len) of them).
 * Returns the new piece count. */
unsigned vmk_read_pieces(struct vmk_read_piece *pieces, unsigned n, int fd,
                         void *dst, uint64_t len, uint64_t off);

/* Reads len bytes at offset off into dst, on the calling thread. Returns 0,
 * or a negative errno (-EIO: the file ended first). */
int vmk_read_full(int fd, void *dst, uint64_t len, uint64_t off);

/* Reads every piece fully. Returns 0, or a negative errno (-EIO: the file
 * ended before the piece did) with *bad the index of a piece that failed.
 * use_ring false reads them one after the other; by_ring (may be NULL)
 * gets how many pieces io_uring read whole (tests check it was used). */
int vmk_bulk_read(const struct vmk_read_piece *pieces, unsigned n,
                  bool use_ring, unsigned *bad, unsigned *by_ring);

#endif
