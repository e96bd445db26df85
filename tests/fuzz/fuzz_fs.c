/* fuzz_fs.c — fuzz target for the virtio-fs FUSE server's request parsing
 * and execution (backends/fs_passthrough.c).
 *
 * Each input is a series of requests against a fresh share (a temporary
 * folder with a file, a folder, a symlink pointing out and a fifo, beside
 * an "outside" folder). A request is: u8 flags, u8 opcode selector,
 * u8 nodeid, u16 body length, body. The harness writes the FUSE header
 * (opcode from a table of the known ones unless flags say raw, header
 * length right unless flags say take it from the body) so most inputs get
 * past framing into the opcodes. An INIT comes first unless the first
 * flags byte says not. After each input the harness checks that nothing
 * outside the share changed and that the server's tables are consistent,
 * and aborts if not. With flag 0x20 in the first byte the server's state
 * is then saved and loaded into a new server (same counts), and the input
 * itself is loaded as a saved state (refused or loaded, never a crash or
 * a path outside the share). Single-threaded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/fs_passthrough.h"
#include "base/sbuf.h"

static const uint32_t opcodes[] = {
    FUSE_LOOKUP,       FUSE_FORGET,      FUSE_GETATTR,    FUSE_SETATTR,
    FUSE_READLINK,     FUSE_SYMLINK,     FUSE_MKNOD,      FUSE_MKDIR,
    FUSE_UNLINK,       FUSE_RMDIR,       FUSE_RENAME,     FUSE_LINK,
    FUSE_OPEN,         FUSE_READ,        FUSE_WRITE,      FUSE_STATFS,
    FUSE_RELEASE,      FUSE_FSYNC,       FUSE_FLUSH,      FUSE_INIT,
    FUSE_OPENDIR,      FUSE_READDIR,     FUSE_RELEASEDIR, FUSE_FSYNCDIR,
    FUSE_ACCESS,       FUSE_CREATE,      FUSE_INTERRUPT,  FUSE_DESTROY,
    FUSE_BATCH_FORGET, FUSE_READDIRPLUS, FUSE_RENAME2,    FUSE_GETXATTR,
};

static char base[64];
static char share[96], outside[96];
static uint8_t req[VMK_FS_REQ_MAX], rep[VMK_FS_REP_MAX];

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *f) {
  (void)st, (void)flag, (void)f;
  chmod(p, 0700);
  return remove(p);
}

static void put_file(const char *dir, const char *name, const char *text) {
  char p[256];
  if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
    abort(); /* the harness's own folder names are short */
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    if (write(fd, text, strlen(text)) < 0)
      abort();
    close(fd);
  }
}

static void remove_base(void) { nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static void make_tree(void) {
  if (!base[0]) {
    atexit(remove_base);
    /* tmpfs when there is one: FSYNC and the per-input tree cost less. */
    struct stat st;
    const char *tmp = stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp";
    snprintf(base, sizeof(base), "%s/vmk-fuzz-fs-XXXXXX", tmp);
    if (!mkdtemp(base))
      abort();
    snprintf(share, sizeof(share), "%s/share", base);
    snprintf(outside, sizeof(outside), "%s/outside", base);
  }
  nftw(share, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  nftw(outside, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  mkdir(share, 0755);
  mkdir(outside, 0755);
  put_file(outside, "secret", "outside");
  put_file(share, "hello", "hello, fuzzer");
  char p[256];
  snprintf(p, sizeof(p), "%s/dir", share);
  mkdir(p, 0755);
  put_file(p, "inner", "inner");
  snprintf(p, sizeof(p), "%s/out", share);
  symlink("../outside/secret", p);
  snprintf(p, sizeof(p), "%s/outdir", share);
  symlink(outside, p);
  snprintf(p, sizeof(p), "%s/fifo", share);
  mkfifo(p, 0644);
}

/* The outside folder still holds exactly one file with its content. */
static void check_outside(void) {
  DIR *d = opendir(outside);
  if (!d)
    abort();
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      n++;
  closedir(d);
  char p[256], buf[16] = {0};
  snprintf(p, sizeof(p), "%s/secret", outside);
  int fd = open(p, O_RDONLY);
  if (n != 1 || fd < 0 || read(fd, buf, sizeof(buf)) != 7 ||
      memcmp(buf, "outside", 7))
    abort();
  close(fd);
  d = opendir(base);
  n = 0;
  while ((e = readdir(d)))
    n++;
  closedir(d);
  if (n != 4) /* ., .., share, outside */
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  make_tree();
  struct vmk_fs *fs;
  vmk_error err;
  struct vmk_fs_limits lim = {16, 4};
  if (vmk_fs_open(share, size && (data[0] & 0x80), &lim, &fs, &err))
    abort();
  uint64_t unique = 0;
  if (!size || !(data[0] & 0x40)) {
    struct {
      struct fuse_in_header h;
      struct fuse_init_in i;
    } init = {{.len = sizeof(init), .opcode = FUSE_INIT},
              {.major = 7, .minor = 37, .flags = FUSE_DO_READDIRPLUS}};
    memcpy(req, &init, sizeof(init));
    vmk_fs_serve(fs, req, sizeof(init), rep, sizeof(rep));
  }
  size_t pos = 0;
  while (pos + 5 <= size) {
    uint8_t flags = data[pos], sel = data[pos + 1], node = data[pos + 2];
    size_t blen = (size_t)data[pos + 3] | (size_t)data[pos + 4] << 8;
    pos += 5;
    if (blen > size - pos)
      blen = size - pos;
    if (blen > sizeof(req) - sizeof(struct fuse_in_header))
      blen = sizeof(req) - sizeof(struct fuse_in_header);
    struct fuse_in_header h = {
        .len = (uint32_t)(sizeof(h) + blen),
        .opcode = flags & 2
                      ? sel
                      : opcodes[sel % (sizeof(opcodes) / sizeof(opcodes[0]))],
        .unique = ++unique,
        .nodeid = flags & 4 ? (uint64_t)node << 32 | node : node,
    };
    if ((flags & 1) && blen >= 4)
      memcpy(&h.len, data + pos, 4);
    memcpy(req, &h, sizeof(h));
    memcpy(req + sizeof(h), data + pos, blen);
    pos += blen;
    size_t cap = flags & 8 ? (size_t)(sel & 63) : sizeof(rep);
    size_t len = flags & 16 && blen ? sizeof(h) + blen - 1 : sizeof(h) + blen;
    ssize_t n = vmk_fs_serve(fs, req, len, rep, cap);
    if (n > 0 &&
        ((size_t)n > cap || (size_t)n < sizeof(struct fuse_out_header)))
      abort();
    if (vmk_fs_inode_count(fs) > lim.max_inodes ||
        vmk_fs_handle_count(fs) > lim.max_handles)
      abort();
  }
  if (size && (data[0] & 0x20)) {
    /* Snapshots: what the server saves loads into a new server with the
     * same nodes and open files; then the input itself, read as a saved
     * state, is refused (leaving the share empty) or loaded, and in
     * neither case is anything outside the share touched. */
    bool ro = data[0] & 0x80;
    struct vmk_sbuf b = {0};
    vmk_fs_save(fs, &b);
    uint32_t inodes = vmk_fs_inode_count(fs), handles = vmk_fs_handle_count(fs);
    vmk_fs_close(fs);
    if (b.oom || vmk_fs_open(share, ro, &lim, &fs, &err))
      abort();
    struct vmk_sreader r = vmk_sreader_of(b.p, b.len);
    if (vmk_fs_load(fs, &r, &err) || vmk_fs_inode_count(fs) != inodes ||
        vmk_fs_handle_count(fs) != handles)
      abort();
    vmk_sbuf_free(&b);
    r = vmk_sreader_of(data + 1, size - 1);
    int lr = vmk_fs_load(fs, &r, &err);
    if (lr != 0 && (lr != -EINVAL || vmk_fs_inode_count(fs) != 1 ||
                    vmk_fs_handle_count(fs) != 0))
      abort();
  }
  vmk_fs_close(fs);
  check_outside();
  return 0;
}
