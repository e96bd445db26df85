/* fs_passthrough.h — an in-process FUSE server that exports one host
 * directory (the "share") to a guest, confined beneath it.
 *
 * It knows nothing of virtio: it takes one FUSE request as bytes and writes
 * one reply as bytes (the virtio-fs device, src/virtio/fs.c, moves them in
 * and out of the queues). Each request is first parsed into a typed value
 * (or a typed error, answered with that errno) and only then executed.
 *
 * Confinement: inodes are held as O_PATH fds; every name the guest sends is
 * one checked path component resolved with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS) and O_NOFOLLOW relative to
 * its parent inode's fd; no host path string is ever built from guest input.
 * Files are (re)opened through /proc/self/fd of the inode's own fd, so a
 * rename between lookup and open cannot swap what is opened.
 *
 * Threads: one thread at a time (the VM's I/O thread, under the virtio
 * transport's lock); no internal locking.
 */
#ifndef VMK_BACKENDS_FS_PASSTHROUGH_H
#define VMK_BACKENDS_FS_PASSTHROUGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

/* Largest READ/WRITE payload offered in FUSE_INIT (max_write; reads are
 * clamped to it): 32 pages, the guest kernel's default per request. */
#define VMK_FS_MAX_RW (128u * 1024u)
/* Room for a request: header, the largest fixed argument, two names and a
 * write payload. */
#define VMK_FS_REQ_MAX (VMK_FS_MAX_RW + 8192u)
/* Room for a reply: header plus a read payload or a directory listing. */
#define VMK_FS_REP_MAX (VMK_FS_MAX_RW + 4096u)
/* Default bounds of the inode table (each live inode holds one O_PATH fd)
 * and of the open-file table. */
#define VMK_FS_DEFAULT_MAX_INODES 16384u
#define VMK_FS_DEFAULT_MAX_HANDLES 4096u

struct vmk_fs;

struct vmk_fs_limits {
  uint32_t max_inodes;  /* live inodes, the root included (>= 2) */
  uint32_t max_handles; /* open files and directories (>= 1) */
};

/* Opens the share rooted at the directory `root`. read_only: every mutating
 * request fails with EROFS and files are opened read-only. limits may be
 * NULL for the defaults. */
int vmk_fs_open(const char *root, bool read_only,
                const struct vmk_fs_limits *limits, struct vmk_fs **out,
                vmk_error *err);
void vmk_fs_close(struct vmk_fs *fs);
/* Forgets every inode but the root and closes every open file, as after
 * the guest's driver went away (device reset, FUSE_DESTROY). */
void vmk_fs_reset(struct vmk_fs *fs);

/* Serves one request of in_len bytes, writing the reply into out (room for
 * out_cap bytes). Returns the reply's length, 0 when the request takes no
 * reply (FORGET, BATCH_FORGET, INTERRUPT), or -EINVAL when the request is
 * too malformed to answer at all (shorter than a FUSE header, or a reply
 * is due and out_cap cannot hold even an error). */
ssize_t vmk_fs_serve(struct vmk_fs *fs, const uint8_t *in, size_t in_len,
                     uint8_t *out, size_t out_cap);

/* Live inodes (the root included) and open handles, for tests. */
uint32_t vmk_fs_inode_count(const struct vmk_fs *fs);
uint32_t vmk_fs_handle_count(const struct vmk_fs *fs);

/* Snapshots (docs/snapshot.md, "virtio-fs"): save writes every node the
 * guest holds (its id, lookup count, path beneath the root and identity)
 * and every open file (its number, node, flags, directory position). load
 * (into a share just opened or reset) checks every field of that untrusted
 * input first (-EINVAL and one sentence, the share left reset), then finds
 * each file again beneath the root: one that is gone or was replaced
 * becomes stale (the guest gets ESTALE using it), never a path outside
 * the share. */
struct vmk_sbuf;
struct vmk_sreader;
void vmk_fs_save(const struct vmk_fs *fs, struct vmk_sbuf *out);
int vmk_fs_load(struct vmk_fs *fs, struct vmk_sreader *in, vmk_error *err);
/* Nodes and open files a restore could not find again, for tests. */
uint32_t vmk_fs_stale_count(const struct vmk_fs *fs);

#endif
