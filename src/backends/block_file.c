/* block_file.c — raw image backend: synchronous positioned I/O on a file or
 * block device, fdatasync for flush, fallocate for discard/write-zeroes.
 * Runs on the VM's I/O thread (open/close on the creating thread); the
 * struct is owned by one device, so there is no lock. */
#include "backends/block_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_IOV 1024

static void make_serial(struct vmk_block_file *bf, const char *path,
                        ino_t ino) {
  char copy[4096];
  snprintf(copy, sizeof(copy), "%s", path);
  char id[64];
  /* Name and inode: readable in /dev/disk/by-id, and distinct for two
   * images of the same name in different folders. */
  snprintf(id, sizeof(id), "%.11s-%08llx", basename(copy),
           (unsigned long long)ino & 0xffffffffull);
  memset(bf->serial, 0, sizeof(bf->serial));
  size_t n = strlen(id);
  memcpy(bf->serial, id, n < sizeof(bf->serial) ? n : sizeof(bf->serial));
}

int vmk_block_file_open(struct vmk_block_file *bf, const char *path,
                        bool read_only, vmk_error *err) {
  memset(bf, 0, sizeof(*bf));
  bf->fd = -1;
  bf->read_only = read_only;
  /* O_NONBLOCK: a FIFO must not block the open; it is refused below and
   * the flag is cleared once the file is known to be a file or device. */
  int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == EROFS || (e == EACCES && !read_only))
      return vmk_err(err, -e,
                     "cannot open disk image %s for writing (%s); attach it "
                     "read-only with %s,ro",
                     path, strerror(e), path);
    return vmk_err(err, -e, "cannot open disk image %s: %s", path, strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = errno;
    close(fd);
    return vmk_err(err, -e, "cannot stat disk image %s: %s", path, strerror(e));
  }
  uint64_t size;
  if (S_ISREG(st.st_mode)) {
    size = (uint64_t)st.st_size;
  } else if (S_ISBLK(st.st_mode)) {
    if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
      int e = errno;
      close(fd);
      return vmk_err(err, -e, "cannot get the size of block device %s: %s",
                     path, strerror(e));
    }
  } else {
    close(fd);
    return vmk_err(err, -EINVAL,
                   "disk image %s is not a regular file or block device", path);
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  if (flock(fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK)
      return vmk_err(err, -EBUSY,
                     "disk image %s is locked by another process (is another "
                     "VM using it?); stop it, or attach the image read-only "
                     "everywhere with ,ro",
                     path);
    return vmk_err(err, -e, "cannot lock disk image %s: %s", path, strerror(e));
  }
  bf->fd = fd;
  bf->size = size;
  make_serial(bf, path, st.st_ino);
  return 0;
}

void vmk_block_file_close(struct vmk_block_file *bf) {
  if (bf->fd >= 0)
    close(bf->fd); /* drops the lock */
  bf->fd = -1;
}

/* Drops `done` bytes from the front of iov (a local copy). */
static int advance(struct iovec **iov, int *n, size_t done) {
  while (*n > 0 && done >= (*iov)->iov_len) {
    done -= (*iov)->iov_len;
    (*iov)++;
    (*n)--;
  }
  if (*n > 0) {
    (*iov)->iov_base = (char *)(*iov)->iov_base + done;
    (*iov)->iov_len -= done;
  }
  return *n;
}

int vmk_block_file_readv(struct vmk_block_file *bf, const struct iovec *in,
                         int n, uint64_t off) {
  if (n < 0 || n > MAX_IOV)
    return -EINVAL;
  struct iovec local[MAX_IOV];
  memcpy(local, in, sizeof(*in) * (size_t)n);
  struct iovec *iov = local;
  while (n > 0) {
    ssize_t r = preadv(bf->fd, iov, n, (off_t)off);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (r == 0) { /* past the end of a file that shrank: zeroes */
      for (int i = 0; i < n; i++)
        memset(iov[i].iov_base, 0, iov[i].iov_len);
      return 0;
    }
    off += (uint64_t)r;
    advance(&iov, &n, (size_t)r);
  }
  return 0;
}

int vmk_block_file_writev(struct vmk_block_file *bf, const struct iovec *in,
                          int n, uint64_t off) {
  if (bf->read_only)
    return -EROFS;
  if (n < 0 || n > MAX_IOV)
    return -EINVAL;
  struct iovec local[MAX_IOV];
  memcpy(local, in, sizeof(*in) * (size_t)n);
  struct iovec *iov = local;
  while (n > 0) {
    ssize_t r = pwritev(bf->fd, iov, n, (off_t)off);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (r == 0)
      return -EIO;
    off += (uint64_t)r;
    advance(&iov, &n, (size_t)r);
  }
  return 0;
}

int vmk_block_file_flush(struct vmk_block_file *bf) {
  while (fdatasync(bf->fd) < 0) {
    if (errno != EINTR)
      return -errno;
  }
  if (bf->synced)
    bf->synced(bf->synced_opaque);
  return 0;
}

static bool unsupported(int e) {
  return e == EOPNOTSUPP || e == ENOSYS || e == EINVAL || e == ENOTTY;
}

int vmk_block_file_discard(struct vmk_block_file *bf, uint64_t off,
                           uint64_t len) {
  if (bf->read_only)
    return -EROFS;
  if (len == 0)
    return 0;
  if (fallocate(bf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                (off_t)len) < 0 &&
      !unsupported(errno))
    return -errno;
  return 0; /* discard is a hint: keeping the data is allowed */
}

int vmk_block_file_write_zeroes(struct vmk_block_file *bf, uint64_t off,
                                uint64_t len, bool may_unmap) {
  if (bf->read_only)
    return -EROFS;
  if (len == 0)
    return 0;
  if (may_unmap && fallocate(bf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                             (off_t)off, (off_t)len) == 0)
    return 0;
  if (fallocate(bf->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                (off_t)len) == 0)
    return 0;
  if (!unsupported(errno))
    return -errno;
  /* The file system has neither: write zeroes. */
  static const uint8_t zeroes[65536];
  while (len) {
    size_t k = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
    struct iovec v = {.iov_base = (void *)zeroes, .iov_len = k};
    int r = vmk_block_file_writev(bf, &v, 1, off);
    if (r < 0)
      return r;
    off += k;
    len -= k;
  }
  return 0;
}
