/* test_fs_passthrough.c — the FUSE server (backends/fs_passthrough.c) fed
 * crafted requests directly, no guest: every operation against a real
 * temporary folder, each malformed-request reason, read-only shares, the
 * inode and handle bounds, and escape attempts (.., names with '/', planted
 * symlinks pointing out, renames and links out, a directory swapped for a
 * symlink between lookup and use). Single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/fs_passthrough.h"
#include "base/sbuf.h"

struct t {
  char base[64]; /* holds share/ and outside/ */
  char share[96];
  char outside[96];
  struct vmk_fs *fs;
  uint64_t unique;
  uint8_t req[VMK_FS_REQ_MAX];
  uint8_t rep[VMK_FS_REP_MAX];
  size_t rep_len;
};

static void path_in(char *buf, size_t n, const char *dir, const char *rel) {
  snprintf(buf, n, "%s/%s", dir, rel);
}

static void write_file(const char *dir, const char *rel, const char *text) {
  char p[256];
  path_in(p, sizeof(p), dir, rel);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static char *read_file(const char *dir, const char *rel) {
  static char buf[4096];
  char p[256];
  path_in(p, sizeof(p), dir, rel);
  FILE *f = fopen(p, "r");
  if (!f)
    return NULL;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

static bool exists(const char *dir, const char *rel) {
  char p[256];
  struct stat st;
  path_in(p, sizeof(p), dir, rel);
  return lstat(p, &st) == 0;
}

static void open_share(struct t *t, bool ro, uint32_t max_inodes,
                       uint32_t max_handles) {
  struct vmk_fs_limits lim = {max_inodes, max_handles};
  vmk_error err;
  assert_int_equal(vmk_fs_open(t->share, ro, &lim, &t->fs, &err), 0);
}

static int setup_common(void **state, bool ro) {
  struct t *t = calloc(1, sizeof(*t));
  snprintf(t->base, sizeof(t->base), "/tmp/vmk-fs-test-XXXXXX");
  assert_non_null(mkdtemp(t->base));
  path_in(t->share, sizeof(t->share), t->base, "share");
  path_in(t->outside, sizeof(t->outside), t->base, "outside");
  assert_int_equal(mkdir(t->share, 0755), 0);
  assert_int_equal(mkdir(t->outside, 0755), 0);
  write_file(t->outside, "secret", "outside-secret\n");
  write_file(t->share, "hello", "hello, guest\n");
  open_share(t, ro, 64, 8);
  *state = t;
  return 0;
}
static int setup(void **state) { return setup_common(state, false); }
static int setup_ro(void **state) { return setup_common(state, true); }

static int teardown(void **state) {
  struct t *t = *state;
  vmk_fs_close(t->fs);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->base);
  assert_int_equal(system(cmd), 0);
  free(t);
  return 0;
}

/* Sends a raw request of len bytes already in t->req (header included);
 * returns the reply's error (0 or -errno) and keeps its body. */
static int send_raw(struct t *t, size_t len) {
  ssize_t n = vmk_fs_serve(t->fs, t->req, len, t->rep, sizeof(t->rep));
  assert_true(n >= 0);
  if (n == 0) {
    t->rep_len = 0;
    return 0;
  }
  struct fuse_out_header oh;
  memcpy(&oh, t->rep, sizeof(oh));
  assert_int_equal(oh.len, (uint32_t)n);
  struct fuse_in_header ih;
  memcpy(&ih, t->req, sizeof(ih));
  assert_int_equal(oh.unique, ih.unique);
  t->rep_len = (size_t)n - sizeof(oh);
  if (oh.error)
    assert_int_equal(t->rep_len, 0);
  return oh.error;
}

/* Builds header + arg + name1\0 + name2\0 + data, sends it. */
static int call(struct t *t, uint32_t op, uint64_t nodeid, const void *arg,
                size_t arglen, const char *n1, const char *n2, const void *data,
                size_t dlen) {
  size_t len = sizeof(struct fuse_in_header);
  if (arglen)
    memcpy(t->req + len, arg, arglen);
  len += arglen;
  if (n1) {
    memcpy(t->req + len, n1, strlen(n1) + 1);
    len += strlen(n1) + 1;
  }
  if (n2) {
    memcpy(t->req + len, n2, strlen(n2) + 1);
    len += strlen(n2) + 1;
  }
  if (dlen) {
    memcpy(t->req + len, data, dlen);
    len += dlen;
  }
  struct fuse_in_header h = {.len = (uint32_t)len,
                             .opcode = op,
                             .unique = ++t->unique,
                             .nodeid = nodeid};
  memcpy(t->req, &h, sizeof(h));
  return send_raw(t, len);
}

static void *body(struct t *t) {
  return t->rep + sizeof(struct fuse_out_header);
}

static void init_fs(struct t *t) {
  struct fuse_init_in in = {.major = 7,
                            .minor = 37,
                            .max_readahead = 65536,
                            .flags = FUSE_DO_READDIRPLUS | FUSE_ASYNC_READ |
                                     FUSE_POSIX_LOCKS};
  assert_int_equal(call(t, FUSE_INIT, 0, &in, sizeof(in), 0, 0, 0, 0), 0);
}

static int lookup(struct t *t, uint64_t parent, const char *name,
                  struct fuse_entry_out *e) {
  int r = call(t, FUSE_LOOKUP, parent, NULL, 0, name, NULL, NULL, 0);
  if (!r) {
    assert_int_equal(t->rep_len, sizeof(*e));
    memcpy(e, body(t), sizeof(*e));
  }
  return r;
}

static uint64_t lookup_ok(struct t *t, uint64_t parent, const char *name) {
  struct fuse_entry_out e;
  assert_int_equal(lookup(t, parent, name, &e), 0);
  return e.nodeid;
}

static int open_file(struct t *t, uint64_t node, uint32_t flags, uint64_t *fh) {
  struct fuse_open_in in = {.flags = flags};
  int r = call(t, FUSE_OPEN, node, &in, sizeof(in), 0, 0, 0, 0);
  if (!r) {
    struct fuse_open_out o;
    memcpy(&o, body(t), sizeof(o));
    *fh = o.fh;
  }
  return r;
}

static int read_fh(struct t *t, uint64_t node, uint64_t fh, uint64_t off,
                   uint32_t size) {
  struct fuse_read_in in = {.fh = fh, .offset = off, .size = size};
  return call(t, FUSE_READ, node, &in, sizeof(in), 0, 0, 0, 0);
}

static int write_fh(struct t *t, uint64_t node, uint64_t fh, uint64_t off,
                    const char *s) {
  struct fuse_write_in in = {
      .fh = fh, .offset = off, .size = (uint32_t)strlen(s)};
  return call(t, FUSE_WRITE, node, &in, sizeof(in), 0, 0, s, strlen(s));
}

static int create(struct t *t, uint64_t parent, const char *name,
                  uint32_t flags, uint64_t *node, uint64_t *fh) {
  struct fuse_create_in in = {.flags = flags, .mode = S_IFREG | 0644};
  int r = call(t, FUSE_CREATE, parent, &in, sizeof(in), name, 0, 0, 0);
  if (!r) {
    struct fuse_entry_out e;
    struct fuse_open_out o;
    assert_int_equal(t->rep_len, sizeof(e) + sizeof(o));
    memcpy(&e, body(t), sizeof(e));
    memcpy(&o, (uint8_t *)body(t) + sizeof(e), sizeof(o));
    *node = e.nodeid;
    *fh = o.fh;
  }
  return r;
}

static int release(struct t *t, uint64_t node, uint64_t fh, bool dir) {
  struct fuse_release_in in = {.fh = fh};
  return call(t, dir ? FUSE_RELEASEDIR : FUSE_RELEASE, node, &in, sizeof(in), 0,
              0, 0, 0);
}

static int mkdir_(struct t *t, uint64_t parent, const char *name) {
  struct fuse_mkdir_in in = {.mode = 0755};
  return call(t, FUSE_MKDIR, parent, &in, sizeof(in), name, 0, 0, 0);
}

static int rename2(struct t *t, uint64_t parent, const char *name,
                   uint64_t newdir, const char *newname, uint32_t flags) {
  struct fuse_rename2_in in = {.newdir = newdir, .flags = flags};
  return call(t, FUSE_RENAME2, parent, &in, sizeof(in), name, newname, 0, 0);
}

static int link_(struct t *t, uint64_t node, uint64_t parent,
                 const char *newname) {
  struct fuse_link_in in = {.oldnodeid = node};
  return call(t, FUSE_LINK, parent, &in, sizeof(in), newname, 0, 0, 0);
}

static int setattr(struct t *t, uint64_t node,
                   const struct fuse_setattr_in *in) {
  return call(t, FUSE_SETATTR, node, in, sizeof(*in), 0, 0, 0, 0);
}

static void forget(struct t *t, uint64_t node, uint64_t n) {
  struct fuse_forget_in in = {.nlookup = n};
  assert_int_equal(call(t, FUSE_FORGET, node, &in, sizeof(in), 0, 0, 0, 0), 0);
  assert_int_equal(t->rep_len, 0); /* no reply */
}

/* ---- INIT ------------------------------------------------------------- */

static void test_init_negotiates(void **state) {
  struct t *t = *state;
  struct fuse_init_in in = {.major = 7,
                            .minor = 31,
                            .max_readahead = 4096,
                            .flags = FUSE_DO_READDIRPLUS | FUSE_POSIX_LOCKS |
                                     FUSE_WRITEBACK_CACHE};
  assert_int_equal(call(t, FUSE_INIT, 0, &in, sizeof(in), 0, 0, 0, 0), 0);
  struct fuse_init_out o;
  assert_int_equal(t->rep_len, sizeof(o));
  memcpy(&o, body(t), sizeof(o));
  assert_int_equal(o.major, 7);
  assert_int_equal(o.minor, 31); /* the lower of the two */
  assert_int_equal(o.max_write, VMK_FS_MAX_RW);
  assert_int_equal(o.max_readahead, 4096);
  /* Only what both sides support; never locks or writeback caching. */
  assert_int_equal(o.flags, FUSE_DO_READDIRPLUS);
}

static void test_init_versions(void **state) {
  struct t *t = *state;
  /* Requests before INIT fail. */
  assert_int_equal(call(t, FUSE_GETATTR, 1, &(struct fuse_getattr_in){0},
                        sizeof(struct fuse_getattr_in), 0, 0, 0, 0),
                   -EIO);
  struct fuse_init_in old = {.major = 7, .minor = 26};
  assert_int_equal(call(t, FUSE_INIT, 0, &old, sizeof(old), 0, 0, 0, 0),
                   -EPROTO);
  struct fuse_init_in v8 = {.major = 8, .minor = 0};
  assert_int_equal(call(t, FUSE_INIT, 0, &v8, sizeof(v8), 0, 0, 0, 0), 0);
  assert_int_equal(t->rep_len, 8); /* major/minor only: the guest retries */
  uint32_t mm[2];
  memcpy(mm, body(t), 8);
  assert_int_equal(mm[0], 7);
  /* An INIT too short for major/minor is malformed. */
  assert_int_equal(call(t, FUSE_INIT, 0, &old, 4, 0, 0, 0, 0), -EINVAL);
}

/* ---- malformed requests ------------------------------------------------ */

static void test_malformed(void **state) {
  struct t *t = *state;
  init_fs(t);
  /* Shorter than a header: no reply possible. */
  assert_int_equal(vmk_fs_serve(t->fs, t->req, 39, t->rep, sizeof(t->rep)),
                   -EINVAL);
  /* No room for even an error reply. */
  struct fuse_in_header h = {
      .len = 40, .opcode = FUSE_STATFS, .unique = 9, .nodeid = 1};
  memcpy(t->req, &h, sizeof(h));
  assert_int_equal(vmk_fs_serve(t->fs, t->req, 40, t->rep, 15), -EINVAL);
  /* Header length disagreeing with the buffer. */
  h.len = 41;
  memcpy(t->req, &h, sizeof(h));
  assert_int_equal(send_raw(t, 40), -EINVAL);
  /* Unknown opcodes. */
  assert_int_equal(call(t, 9999, 1, NULL, 0, 0, 0, 0, 0), -ENOSYS);
  assert_int_equal(call(t, FUSE_GETXATTR, 1, "12345678", 8, 0, 0, 0, 0),
                   -ENOSYS);
  assert_int_equal(call(t, 0, 1, NULL, 0, 0, 0, 0, 0), -ENOSYS);
  /* Fixed argument too short; trailing bytes where none belong. */
  assert_int_equal(call(t, FUSE_GETATTR, 1, "1234", 4, 0, 0, 0, 0), -EINVAL);
  assert_int_equal(call(t, FUSE_STATFS, 1, "x", 1, 0, 0, 0, 0), -EINVAL);
  /* Names: no NUL, empty, '/', . and .., too long, junk after. */
  size_t len = sizeof(h) + 5;
  h = (struct fuse_in_header){
      .len = (uint32_t)len, .opcode = FUSE_LOOKUP, .unique = 10, .nodeid = 1};
  memcpy(t->req, &h, sizeof(h));
  memcpy(t->req + sizeof(h), "hello", 5); /* no NUL */
  assert_int_equal(send_raw(t, len), -EINVAL);
  struct fuse_entry_out e;
  assert_int_equal(lookup(t, 1, "", &e), -EINVAL);
  assert_int_equal(lookup(t, 1, "a/b", &e), -EINVAL);
  assert_int_equal(lookup(t, 1, ".", &e), -EINVAL);
  assert_int_equal(lookup(t, 1, "..", &e), -EINVAL);
  char longname[300];
  memset(longname, 'a', 256);
  longname[256] = 0;
  assert_int_equal(lookup(t, 1, longname, &e), -EINVAL);
  assert_int_equal(call(t, FUSE_LOOKUP, 1, NULL, 0, "hello", "x", 0, 0),
                   -EINVAL);
  /* Rename: second name missing, or with junk after it. */
  struct fuse_rename2_in rn = {.newdir = 1};
  assert_int_equal(
      call(t, FUSE_RENAME2, 1, &rn, sizeof(rn), "hello", NULL, 0, 0), -EINVAL);
  assert_int_equal(
      call(t, FUSE_RENAME2, 1, &rn, sizeof(rn), "hello", "x", "junk", 4),
      -EINVAL);
  /* Write: size disagreeing with the payload, or beyond max_write. */
  struct fuse_write_in w = {.fh = 0, .size = 10};
  assert_int_equal(call(t, FUSE_WRITE, 2, &w, sizeof(w), 0, 0, "abc", 3),
                   -EINVAL);
  w.size = VMK_FS_MAX_RW + 1;
  static char big[VMK_FS_MAX_RW + 1];
  assert_int_equal(
      call(t, FUSE_WRITE, 2, &w, sizeof(w), 0, 0, big, sizeof(big)), -EINVAL);
  /* Offsets beyond what off_t holds. */
  struct fuse_read_in rd = {.offset = UINT64_MAX, .size = 10};
  assert_int_equal(call(t, FUSE_READ, 2, &rd, sizeof(rd), 0, 0, 0, 0), -EINVAL);
  /* Batch forget whose count disagrees with its entries. */
  struct fuse_batch_forget_in bf = {.count = 1000000};
  assert_int_equal(call(t, FUSE_BATCH_FORGET, 0, &bf, sizeof(bf), 0, 0, 0, 0),
                   0);
  assert_int_equal(t->rep_len, 0);
  /* Unknown and stale inodes and handles. */
  assert_int_equal(lookup(t, 0, "hello", &e), -EBADF);
  assert_int_equal(lookup(t, 77, "hello", &e), -EBADF);
  assert_int_equal(lookup(t, UINT64_MAX, "hello", &e), -EBADF);
  assert_int_equal(read_fh(t, 1, 5, 0, 10), -EBADF);
  assert_int_equal(read_fh(t, 1, UINT64_MAX, 0, 10), -EBADF);
  assert_int_equal(release(t, 1, 3, false), -EBADF);
  /* Nothing above left anything behind. */
  assert_int_equal(vmk_fs_inode_count(t->fs), 1);
  assert_int_equal(vmk_fs_handle_count(t->fs), 0);
}

/* ---- operations -------------------------------------------------------- */

static void test_files(void **state) {
  struct t *t = *state;
  init_fs(t);
  /* Read a host file. */
  uint64_t hello = lookup_ok(t, 1, "hello");
  uint64_t fh = 0;
  assert_int_equal(open_file(t, hello, O_RDONLY, &fh), 0);
  assert_int_equal(read_fh(t, hello, fh, 0, 4096), 0);
  assert_int_equal(t->rep_len, 13);
  assert_memory_equal(body(t), "hello, guest\n", 13);
  assert_int_equal(read_fh(t, hello, fh, 7, 4096), 0);
  assert_memory_equal(body(t), "guest\n", 6);
  assert_int_equal(release(t, hello, fh, false), 0);
  assert_int_equal(release(t, hello, fh, false), -EBADF);

  /* Create, write, fsync, flush, read back on the host. */
  uint64_t node = 0;
  assert_int_equal(create(t, 1, "new", O_RDWR | O_EXCL, &node, &fh), 0);
  assert_int_equal(write_fh(t, node, fh, 0, "written by the guest"), 0);
  struct fuse_write_out wo;
  memcpy(&wo, body(t), sizeof(wo));
  assert_int_equal(wo.size, 20);
  struct fuse_fsync_in fs_in = {.fh = fh, .fsync_flags = 1};
  assert_int_equal(call(t, FUSE_FSYNC, node, &fs_in, sizeof(fs_in), 0, 0, 0, 0),
                   0);
  struct fuse_flush_in fl = {.fh = fh};
  assert_int_equal(call(t, FUSE_FLUSH, node, &fl, sizeof(fl), 0, 0, 0, 0), 0);
  assert_string_equal(read_file(t->share, "new"), "written by the guest");
  /* Exclusive create of an existing name. */
  uint64_t n2, fh2;
  assert_int_equal(create(t, 1, "new", O_RDWR | O_EXCL, &n2, &fh2), -EEXIST);

  /* Truncate through the handle and without one; chmod; times. */
  struct fuse_setattr_in sa = {
      .valid = FATTR_SIZE | FATTR_FH, .fh = fh, .size = 7};
  assert_int_equal(setattr(t, node, &sa), 0);
  struct fuse_attr_out ao;
  memcpy(&ao, body(t), sizeof(ao));
  assert_int_equal(ao.attr.size, 7);
  assert_string_equal(read_file(t->share, "new"), "written");
  sa = (struct fuse_setattr_in){.valid = FATTR_SIZE, .size = 3};
  assert_int_equal(setattr(t, node, &sa), 0);
  assert_string_equal(read_file(t->share, "new"), "wri");
  sa = (struct fuse_setattr_in){.valid = FATTR_MODE, .mode = S_IFREG | 0600};
  assert_int_equal(setattr(t, node, &sa), 0);
  sa = (struct fuse_setattr_in){.valid = FATTR_MTIME | FATTR_ATIME,
                                .mtime = 1000000000,
                                .atime = 1000000001};
  assert_int_equal(setattr(t, node, &sa), 0);
  sa.mtimensec = 1000000000; /* out of range */
  assert_int_equal(setattr(t, node, &sa), -EINVAL);
  char p[256];
  struct stat st;
  path_in(p, sizeof(p), t->share, "new");
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(st.st_mtime, 1000000000);
  assert_int_equal(st.st_atime, 1000000001);
  /* GETATTR agrees. */
  struct fuse_getattr_in ga = {0};
  assert_int_equal(call(t, FUSE_GETATTR, node, &ga, sizeof(ga), 0, 0, 0, 0), 0);
  memcpy(&ao, body(t), sizeof(ao));
  assert_int_equal(ao.attr.mtime, 1000000000);
  assert_int_equal(ao.attr.ino, st.st_ino);
  assert_int_equal(release(t, node, fh, false), 0);

  /* O_TRUNC on open (FUSE_ATOMIC_O_TRUNC). */
  assert_int_equal(open_file(t, node, O_WRONLY | O_TRUNC, &fh), 0);
  assert_string_equal(read_file(t->share, "new"), "");
  assert_int_equal(release(t, node, fh, false), 0);
  /* Directories and special files cannot be OPENed as files. */
  assert_int_equal(open_file(t, 1, O_RDONLY, &fh), -EISDIR);
  assert_int_equal(open_file(t, node, O_ACCMODE, &fh), -EINVAL);

  /* ACCESS and STATFS. */
  struct fuse_access_in ac = {.mask = R_OK | W_OK};
  assert_int_equal(call(t, FUSE_ACCESS, node, &ac, sizeof(ac), 0, 0, 0, 0), 0);
  ac.mask = 0x100;
  assert_int_equal(call(t, FUSE_ACCESS, node, &ac, sizeof(ac), 0, 0, 0, 0),
                   -EINVAL);
  assert_int_equal(call(t, FUSE_STATFS, 1, NULL, 0, 0, 0, 0, 0), 0);
  struct fuse_statfs_out so;
  memcpy(&so, body(t), sizeof(so));
  assert_true(so.st.bsize > 0 && so.st.namelen > 0);
}

static void test_namespace(void **state) {
  struct t *t = *state;
  init_fs(t);
  /* mkdir, a file inside, rename (plain, NOREPLACE, EXCHANGE). */
  assert_int_equal(mkdir_(t, 1, "dir"), 0);
  struct fuse_entry_out e;
  memcpy(&e, body(t), sizeof(e));
  uint64_t dir = e.nodeid;
  assert_true(S_ISDIR(e.attr.mode));
  uint64_t node = 0, fh = 0;
  assert_int_equal(create(t, dir, "a", O_WRONLY, &node, &fh), 0);
  assert_int_equal(release(t, node, fh, false), 0);
  assert_int_equal(mkdir_(t, 1, "dir"), -EEXIST);
  assert_int_equal(rename2(t, dir, "a", 1, "b", 0), 0);
  assert_true(exists(t->share, "b") && !exists(t->share, "dir/a"));
  assert_int_equal(rename2(t, 1, "b", 1, "hello", RENAME_NOREPLACE), -EEXIST);
  assert_int_equal(rename2(t, 1, "b", 1, "hello", RENAME_EXCHANGE), 0);
  assert_string_equal(read_file(t->share, "b"), "hello, guest\n");
  assert_int_equal(rename2(t, 1, "b", 1, "c", RENAME_WHITEOUT), -EINVAL);
  assert_int_equal(rename2(t, 1, "b", 1, "c", 0x80), -EINVAL);
  /* Old-style RENAME. */
  struct fuse_rename_in r1 = {.newdir = dir};
  assert_int_equal(call(t, FUSE_RENAME, 1, &r1, sizeof(r1), "b", "moved", 0, 0),
                   0);
  assert_true(exists(t->share, "dir/moved"));
  /* link, symlink, readlink. */
  uint64_t moved = lookup_ok(t, dir, "moved");
  assert_int_equal(link_(t, moved, 1, "hard"), 0);
  memcpy(&e, body(t), sizeof(e));
  assert_int_equal(e.nodeid, moved); /* same inode */
  assert_int_equal(e.attr.nlink, 2);
  assert_int_equal(link_(t, dir, 1, "dirlink"), -EPERM);
  assert_int_equal(call(t, FUSE_SYMLINK, 1, NULL, 0, "sym", "dir/moved", 0, 0),
                   0);
  memcpy(&e, body(t), sizeof(e));
  assert_true(S_ISLNK(e.attr.mode));
  assert_int_equal(call(t, FUSE_READLINK, e.nodeid, NULL, 0, 0, 0, 0, 0), 0);
  assert_int_equal(t->rep_len, 9);
  assert_memory_equal(body(t), "dir/moved", 9);
  assert_int_equal(call(t, FUSE_READLINK, dir, NULL, 0, 0, 0, 0, 0), -EINVAL);
  assert_int_equal(call(t, FUSE_SYMLINK, 1, NULL, 0, "sym2", "", 0, 0),
                   -EINVAL);
  /* mknod: fifos yes, devices no. */
  struct fuse_mknod_in mk = {.mode = S_IFIFO | 0644};
  assert_int_equal(call(t, FUSE_MKNOD, 1, &mk, sizeof(mk), "fifo", 0, 0, 0), 0);
  memcpy(&e, body(t), sizeof(e));
  assert_true(S_ISFIFO(e.attr.mode));
  assert_int_equal(open_file(t, e.nodeid, O_RDONLY, &fh), -EINVAL);
  mk = (struct fuse_mknod_in){.mode = S_IFCHR | 0666, .rdev = 0x0103};
  assert_int_equal(call(t, FUSE_MKNOD, 1, &mk, sizeof(mk), "null", 0, 0, 0),
                   -EPERM);
  assert_false(exists(t->share, "null"));
  /* unlink, rmdir. */
  assert_int_equal(call(t, FUSE_RMDIR, 1, NULL, 0, "dir", 0, 0, 0), -ENOTEMPTY);
  assert_int_equal(call(t, FUSE_UNLINK, dir, NULL, 0, "moved", 0, 0, 0), 0);
  assert_int_equal(call(t, FUSE_RMDIR, 1, NULL, 0, "dir", 0, 0, 0), 0);
  assert_false(exists(t->share, "dir"));
  assert_int_equal(call(t, FUSE_UNLINK, 1, NULL, 0, "nothing", 0, 0, 0),
                   -ENOENT);
  /* Operations on a non-directory parent. */
  uint64_t hello = lookup_ok(t, 1, "hello");
  assert_int_equal(lookup(t, hello, "x", &e), -ENOTDIR);
  assert_int_equal(mkdir_(t, hello, "x"), -ENOTDIR);
}

/* Collects the names of a READDIR(PLUS) listing, `size` bytes per request. */
static int list_dir(struct t *t, uint64_t dir, bool plus, uint32_t size,
                    char names[][64], int max, int *requests) {
  struct fuse_open_in oi = {0};
  assert_int_equal(call(t, FUSE_OPENDIR, dir, &oi, sizeof(oi), 0, 0, 0, 0), 0);
  struct fuse_open_out oo;
  memcpy(&oo, body(t), sizeof(oo));
  uint64_t off = 0;
  int n = 0;
  *requests = 0;
  for (;;) {
    struct fuse_read_in rd = {.fh = oo.fh, .offset = off, .size = size};
    assert_int_equal(call(t, plus ? FUSE_READDIRPLUS : FUSE_READDIR, dir, &rd,
                          sizeof(rd), 0, 0, 0, 0),
                     0);
    (*requests)++;
    if (t->rep_len == 0)
      break;
    assert_true(t->rep_len <= size);
    /* A copy: the FORGETs below reuse the reply buffer. */
    static uint8_t buf[VMK_FS_REP_MAX];
    size_t len = t->rep_len;
    memcpy(buf, body(t), len);
    for (size_t pos = 0; pos < len;) {
      uint8_t *p = buf + pos;
      struct fuse_dirent d;
      if (plus) {
        struct fuse_entry_out e;
        memcpy(&e, p, sizeof(e));
        p += sizeof(e);
        memcpy(&d, p, sizeof(d));
        bool dot = d.namelen <= 2 && !memcmp(p + sizeof(d), "..", d.namelen);
        assert_true(dot ? e.nodeid == 0 : e.nodeid != 0);
        if (!dot) /* the guest would FORGET these later */
          forget(t, e.nodeid, 1);
        pos += FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + d.namelen);
      } else {
        memcpy(&d, p, sizeof(d));
        pos += FUSE_DIRENT_SIZE(&d);
      }
      assert_true(n < max);
      memcpy(names[n], p + sizeof(d), d.namelen);
      names[n++][d.namelen] = 0;
      off = d.off;
    }
  }
  assert_int_equal(release(t, dir, oo.fh, true), 0);
  return n;
}

static mode_t host_mode(struct t *t, const char *rel) {
  char p[256];
  struct stat st;
  path_in(p, sizeof(p), t->share, rel);
  assert_int_equal(lstat(p, &st), 0);
  return st.st_mode & 07777;
}

/* New inodes get the guest's mode, whatever vmkit's own umask. */
static void test_modes(void **state) {
  struct t *t = *state;
  init_fs(t);
  mode_t old = umask(022);
  struct fuse_mkdir_in md = {.mode = 0777};
  assert_int_equal(call(t, FUSE_MKDIR, 1, &md, sizeof(md), "d", 0, 0, 0), 0);
  struct fuse_entry_out e;
  memcpy(&e, body(t), sizeof(e));
  assert_int_equal(e.attr.mode & 07777, 0777);
  assert_int_equal(host_mode(t, "d"), 0777);
  struct fuse_create_in cr = {.flags = O_WRONLY, .mode = S_IFREG | 0666};
  assert_int_equal(call(t, FUSE_CREATE, 1, &cr, sizeof(cr), "f", 0, 0, 0), 0);
  assert_int_equal(host_mode(t, "f"), 0666);
  /* O_CREAT of an existing file opens it and leaves its mode alone. */
  cr.mode = S_IFREG | 0600;
  assert_int_equal(call(t, FUSE_CREATE, 1, &cr, sizeof(cr), "f", 0, 0, 0), 0);
  assert_int_equal(host_mode(t, "f"), 0666);
  struct fuse_mknod_in mk = {.mode = S_IFIFO | 0666};
  assert_int_equal(call(t, FUSE_MKNOD, 1, &mk, sizeof(mk), "p", 0, 0, 0), 0);
  assert_int_equal(host_mode(t, "p"), 0666);
  umask(old);
}

static void test_readdir(void **state) {
  struct t *t = *state;
  init_fs(t);
  char names[64][64];
  for (int i = 0; i < 20; i++) {
    char n[32];
    snprintf(n, sizeof(n), "file-with-a-long-name-%02d", i);
    write_file(t->share, n, "x");
  }
  for (int plus = 0; plus < 2; plus++) {
    int reqs;
    /* Small buffers force many requests that resume at the right offset. */
    int n = list_dir(t, 1, plus, plus ? 400 : 100, names, 64, &reqs);
    assert_int_equal(n, 23); /* ., .., hello, 20 files */
    assert_true(reqs > 5);
    int found = 0;
    for (int i = 0; i < n; i++)
      found += !strncmp(names[i], "file-with-a-long-name-", 22);
    assert_int_equal(found, 20);
  }
  /* READDIRPLUS took references, and the FORGETs gave them back. */
  assert_int_equal(vmk_fs_inode_count(t->fs), 1);
  /* A file handle is not a directory handle and vice versa. */
  uint64_t hello = lookup_ok(t, 1, "hello"), fh = 0;
  assert_int_equal(open_file(t, hello, O_RDONLY, &fh), 0);
  struct fuse_read_in rd = {.fh = fh, .size = 4096};
  assert_int_equal(call(t, FUSE_READDIR, 1, &rd, sizeof(rd), 0, 0, 0, 0),
                   -EBADF);
  struct fuse_open_in oi = {0};
  assert_int_equal(call(t, FUSE_OPENDIR, hello, &oi, sizeof(oi), 0, 0, 0, 0),
                   -ENOTDIR);
}

static void test_forget_and_bounds(void **state) {
  struct t *t = *state;
  vmk_fs_close(t->fs);
  open_share(t, false, 4, 2); /* the root and 3 more inodes; 2 handles */
  init_fs(t);
  write_file(t->share, "b", "b");
  write_file(t->share, "c", "c");
  write_file(t->share, "d", "d");
  uint64_t a = lookup_ok(t, 1, "hello");
  assert_int_equal(lookup_ok(t, 1, "hello"), a); /* same inode, 2 refs */
  uint64_t b = lookup_ok(t, 1, "b");
  lookup_ok(t, 1, "c");
  assert_int_equal(vmk_fs_inode_count(t->fs), 4);
  struct fuse_entry_out e;
  assert_int_equal(lookup(t, 1, "d", &e), -ENFILE);
  forget(t, a, 1);
  assert_int_equal(lookup(t, 1, "d", &e), -ENFILE); /* one ref left */
  forget(t, a, 1);
  assert_int_equal(vmk_fs_inode_count(t->fs), 3);
  assert_int_equal(lookup(t, 1, "d", &e), 0);
  /* A forgotten nodeid is stale. */
  assert_int_equal(lookup(t, a, "x", &e), e.nodeid == a ? -ENOTDIR : -EBADF);
  /* BATCH_FORGET; the root is never forgotten. */
  struct {
    struct fuse_batch_forget_in h;
    struct fuse_forget_one f[3];
  } bf = {{.count = 3}, {{b, 1}, {e.nodeid, 1}, {1, 1000}}};
  assert_int_equal(call(t, FUSE_BATCH_FORGET, 0, &bf.h, sizeof(bf.h), 0, 0,
                        bf.f, sizeof(bf.f)),
                   0);
  assert_int_equal(vmk_fs_inode_count(t->fs), 2);
  assert_int_equal(lookup_ok(t, 1, "b") != 0, 1);
  /* Handles: two at most. */
  uint64_t f1, f2, f3;
  uint64_t node = lookup_ok(t, 1, "hello");
  assert_int_equal(open_file(t, node, O_RDONLY, &f1), 0);
  assert_int_equal(open_file(t, node, O_RDONLY, &f2), 0);
  assert_int_equal(open_file(t, node, O_RDONLY, &f3), -ENFILE);
  assert_int_equal(release(t, node, f1, false), 0);
  assert_int_equal(open_file(t, node, O_RDONLY, &f3), 0);
  /* DESTROY (and a new INIT) forget everything. */
  assert_int_equal(call(t, FUSE_DESTROY, 0, NULL, 0, 0, 0, 0, 0), 0);
  assert_int_equal(vmk_fs_inode_count(t->fs), 1);
  assert_int_equal(vmk_fs_handle_count(t->fs), 0);
  assert_int_equal(lookup(t, 1, "hello", &e), -EIO); /* until INIT again */
  init_fs(t);
  assert_int_equal(lookup(t, 1, "hello", &e), 0);
}

/* ---- confinement ------------------------------------------------------- */

static void test_escape_symlinks(void **state) {
  struct t *t = *state;
  init_fs(t);
  char p[256];
  /* Planted on the host: links out of the share, to a file and a folder. */
  path_in(p, sizeof(p), t->share, "to-secret");
  assert_int_equal(symlink("../outside/secret", p), 0);
  path_in(p, sizeof(p), t->share, "to-outside");
  assert_int_equal(symlink(t->outside, p), 0);
  path_in(p, sizeof(p), t->share, "to-hello");
  assert_int_equal(symlink("hello", p), 0); /* inside, still not followed */

  struct fuse_entry_out e;
  assert_int_equal(lookup(t, 1, "to-secret", &e), 0);
  assert_true(S_ISLNK(e.attr.mode)); /* the link itself, not its target */
  uint64_t fh = 0;
  assert_int_equal(open_file(t, e.nodeid, O_RDONLY, &fh), -EINVAL);
  assert_int_equal(open_file(t, e.nodeid, O_WRONLY | O_TRUNC, &fh), -EINVAL);
  struct fuse_setattr_in sa = {.valid = FATTR_SIZE, .size = 0};
  assert_int_equal(setattr(t, e.nodeid, &sa), -EINVAL);
  sa = (struct fuse_setattr_in){.valid = FATTR_MODE, .mode = 0777};
  assert_int_equal(setattr(t, e.nodeid, &sa), -EOPNOTSUPP);
  assert_int_equal(lookup(t, 1, "to-hello", &e), 0);
  assert_true(S_ISLNK(e.attr.mode));
  assert_int_equal(open_file(t, e.nodeid, O_RDONLY, &fh), -EINVAL);

  /* A symlinked folder is not a folder to look into or create in. */
  assert_int_equal(lookup(t, 1, "to-outside", &e), 0);
  uint64_t lnk = e.nodeid;
  assert_int_equal(lookup(t, lnk, "secret", &e), -ENOTDIR);
  uint64_t n2;
  assert_int_equal(create(t, lnk, "planted", O_WRONLY, &n2, &fh), -ENOTDIR);
  assert_int_equal(mkdir_(t, lnk, "planted"), -ENOTDIR);
  struct fuse_open_in oi = {0};
  assert_int_equal(call(t, FUSE_OPENDIR, lnk, &oi, sizeof(oi), 0, 0, 0, 0),
                   -ENOTDIR);
  /* Creating or truncating through the link's name does not follow it. */
  assert_int_equal(create(t, 1, "to-secret", O_WRONLY | O_TRUNC, &n2, &fh),
                   -ELOOP);
  assert_int_equal(mkdir_(t, 1, "to-outside"), -EEXIST);
  struct fuse_mknod_in mk = {.mode = S_IFREG | 0644};
  assert_int_equal(
      call(t, FUSE_MKNOD, 1, &mk, sizeof(mk), "to-secret", 0, 0, 0), -EEXIST);
  /* Renaming onto the link replaces the link, not the target. */
  assert_int_equal(rename2(t, 1, "hello", 1, "to-secret", 0), 0);
  /* The guest's own symlink pointing out is stored, never followed. */
  assert_int_equal(
      call(t, FUSE_SYMLINK, 1, NULL, 0, "evil", "/etc/passwd", 0, 0), 0);
  memcpy(&e, body(t), sizeof(e));
  assert_int_equal(open_file(t, e.nodeid, O_RDONLY, &fh), -EINVAL);
  /* Linking the link makes a second link, not a link to the target. */
  assert_int_equal(link_(t, e.nodeid, 1, "evil2"), 0);
  path_in(p, sizeof(p), t->share, "evil2");
  struct stat st;
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISLNK(st.st_mode));

  assert_string_equal(read_file(t->outside, "secret"), "outside-secret\n");
  path_in(p, sizeof(p), t->outside, "secret");
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);
  assert_false(exists(t->outside, "planted"));
}

static void test_escape_names(void **state) {
  struct t *t = *state;
  init_fs(t);
  assert_int_equal(mkdir_(t, 1, "sub"), 0);
  struct fuse_entry_out e;
  memcpy(&e, body(t), sizeof(e));
  uint64_t sub = e.nodeid;
  /* .. and paths in every name-taking request. */
  const char *bad[] = {"..",        ".",         "../outside",
                       "../../etc", "a/../../b", "/etc/passwd"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint64_t n = 0, fh = 0;
    assert_int_equal(lookup(t, sub, bad[i], &e), -EINVAL);
    assert_int_equal(create(t, sub, bad[i], O_WRONLY, &n, &fh), -EINVAL);
    assert_int_equal(mkdir_(t, sub, bad[i]), -EINVAL);
    assert_int_equal(call(t, FUSE_UNLINK, sub, NULL, 0, bad[i], 0, 0, 0),
                     -EINVAL);
    assert_int_equal(call(t, FUSE_RMDIR, sub, NULL, 0, bad[i], 0, 0, 0),
                     -EINVAL);
    assert_int_equal(rename2(t, 1, "hello", sub, bad[i], 0), -EINVAL);
    assert_int_equal(rename2(t, sub, bad[i], 1, "x", 0), -EINVAL);
    assert_int_equal(link_(t, lookup_ok(t, 1, "hello"), sub, bad[i]), -EINVAL);
    assert_int_equal(
        call(t, FUSE_SYMLINK, sub, NULL, 0, bad[i], "target", 0, 0), -EINVAL);
  }
  /* Rename or link into a nodeid that is not a directory of the share. */
  assert_int_equal(rename2(t, 1, "hello", 999, "x", 0), -EBADF);
  uint64_t hello = lookup_ok(t, 1, "hello");
  assert_int_equal(rename2(t, 1, "sub", hello, "x", 0), -ENOTDIR);
  assert_int_equal(link_(t, 999, 1, "x"), -EBADF);
  assert_true(exists(t->share, "hello"));
  assert_false(exists(t->base, "x"));
  assert_false(exists(t->outside, "x"));
}

static void test_escape_swap_race(void **state) {
  struct t *t = *state;
  init_fs(t);
  /* The guest looks a folder up; then the host swaps it for a symlink to
   * the outside. The guest's nodeid still means the original folder. */
  char p[256], q[256];
  path_in(p, sizeof(p), t->share, "d");
  assert_int_equal(mkdir(p, 0755), 0);
  write_file(t->share, "d/secret", "inside\n");
  uint64_t d = lookup_ok(t, 1, "d");
  path_in(q, sizeof(q), t->share, "d.old");
  assert_int_equal(rename(p, q), 0);
  assert_int_equal(symlink(t->outside, p), 0);
  uint64_t s = lookup_ok(t, d, "secret");
  uint64_t fh = 0;
  assert_int_equal(open_file(t, s, O_RDONLY, &fh), 0);
  assert_int_equal(read_fh(t, s, fh, 0, 100), 0);
  assert_memory_equal(body(t), "inside\n", 7);
  /* A file looked up, then its name replaced by a link to the outside:
   * OPEN opens the looked-up file, not what the name means now. */
  uint64_t h = lookup_ok(t, 1, "hello");
  path_in(p, sizeof(p), t->share, "hello");
  unlink(p);
  path_in(q, sizeof(q), t->outside, "secret");
  assert_int_equal(symlink(q, p), 0);
  assert_int_equal(open_file(t, h, O_RDWR, &fh), 0);
  assert_int_equal(write_fh(t, h, fh, 0, "XXXX"), 0);
  assert_string_equal(read_file(t->outside, "secret"), "outside-secret\n");
}

/* ---- read-only shares --------------------------------------------------- */

static void test_read_only(void **state) {
  struct t *t = *state;
  init_fs(t);
  char p[256];
  path_in(p, sizeof(p), t->share, "sub");
  assert_int_equal(mkdir(p, 0755), 0);
  uint64_t hello = lookup_ok(t, 1, "hello"), sub = lookup_ok(t, 1, "sub");
  uint64_t fh = 0, n = 0;
  /* Reading works. */
  assert_int_equal(open_file(t, hello, O_RDONLY, &fh), 0);
  assert_int_equal(read_fh(t, hello, fh, 0, 100), 0);
  assert_int_equal(t->rep_len, 13);
  /* Writing through a read-only handle is refused too. */
  assert_int_equal(write_fh(t, hello, fh, 0, "x"), -EROFS);
  assert_int_equal(open_file(t, hello, O_WRONLY, &fh), -EROFS);
  assert_int_equal(open_file(t, hello, O_RDWR, &fh), -EROFS);
  assert_int_equal(open_file(t, hello, O_RDONLY | O_TRUNC, &fh), -EROFS);
  assert_int_equal(create(t, 1, "new", O_WRONLY, &n, &fh), -EROFS);
  assert_int_equal(mkdir_(t, 1, "new"), -EROFS);
  struct fuse_mknod_in mk = {.mode = S_IFIFO | 0644};
  assert_int_equal(call(t, FUSE_MKNOD, 1, &mk, sizeof(mk), "new", 0, 0, 0),
                   -EROFS);
  assert_int_equal(call(t, FUSE_SYMLINK, 1, NULL, 0, "new", "hello", 0, 0),
                   -EROFS);
  assert_int_equal(link_(t, hello, 1, "new"), -EROFS);
  assert_int_equal(call(t, FUSE_UNLINK, 1, NULL, 0, "hello", 0, 0, 0), -EROFS);
  assert_int_equal(call(t, FUSE_RMDIR, 1, NULL, 0, "sub", 0, 0, 0), -EROFS);
  assert_int_equal(rename2(t, 1, "hello", sub, "hello", 0), -EROFS);
  struct fuse_setattr_in sa = {.valid = FATTR_SIZE, .size = 0};
  assert_int_equal(setattr(t, hello, &sa), -EROFS);
  sa = (struct fuse_setattr_in){.valid = FATTR_MODE, .mode = 0777};
  assert_int_equal(setattr(t, hello, &sa), -EROFS);
  struct fuse_access_in ac = {.mask = W_OK};
  assert_int_equal(call(t, FUSE_ACCESS, hello, &ac, sizeof(ac), 0, 0, 0, 0),
                   -EROFS);
  ac.mask = R_OK;
  assert_int_equal(call(t, FUSE_ACCESS, hello, &ac, sizeof(ac), 0, 0, 0, 0), 0);
  assert_string_equal(read_file(t->share, "hello"), "hello, guest\n");
  assert_false(exists(t->share, "new"));
  struct stat st;
  path_in(p, sizeof(p), t->share, "hello");
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);
}

/* ---- snapshots ---------------------------------------------------------- */

static int getattr_(struct t *t, uint64_t node) {
  struct fuse_getattr_in in = {0};
  return call(t, FUSE_GETATTR, node, &in, sizeof(in), 0, 0, 0, 0);
}

static int opendir_(struct t *t, uint64_t node, uint64_t *fh) {
  struct fuse_open_in oi = {0};
  int r = call(t, FUSE_OPENDIR, node, &oi, sizeof(oi), 0, 0, 0, 0);
  if (!r) {
    struct fuse_open_out o;
    memcpy(&o, body(t), sizeof(o));
    *fh = o.fh;
  }
  return r;
}

/* The share is closed and opened again (a new process restoring), then
 * the saved state loaded into it. */
static int reload(struct t *t, const struct vmk_sbuf *b, vmk_error *err) {
  vmk_fs_close(t->fs);
  open_share(t, false, 64, 8);
  struct vmk_sreader r = vmk_sreader_of(b->p, b->len);
  return vmk_fs_load(t->fs, &r, err);
}

static void host_rename(struct t *t, const char *from, const char *to) {
  char a[256], b[256];
  path_in(a, sizeof(a), t->share, from);
  path_in(b, sizeof(b), t->share, to);
  assert_int_equal(rename(a, b), 0);
}

static void host_unlink(struct t *t, const char *rel) {
  char p[256];
  path_in(p, sizeof(p), t->share, rel);
  assert_int_equal(unlink(p), 0);
}

/* Nodes and open files survive a save and a load into a new server: a
 * file renamed on the host before the save is found at its new name, an
 * open file keeps reading and writing, a directory handle keeps listing,
 * new files can be made; a file deleted or replaced while the VM was saved
 * is stale (ESTALE), and a stale node or handle can still be let go. */
static void test_snapshot_roundtrip(void **state) {
  struct t *t = *state;
  init_fs(t);
  char p[256];
  path_in(p, sizeof(p), t->share, "sub");
  assert_int_equal(mkdir(p, 0755), 0);
  write_file(t->share, "gone", "soon deleted\n");
  write_file(t->share, "swap", "the old file\n");
  uint64_t sub = lookup_ok(t, 1, "sub"), hello = lookup_ok(t, 1, "hello");
  uint64_t gone = lookup_ok(t, 1, "gone"), swap = lookup_ok(t, 1, "swap");
  lookup_ok(t, 1, "hello"); /* nlookup 2 */
  uint64_t fh_hello = 0, fh_sub = 0, fh_gone = 0, fh_new = 0, n_new = 0;
  assert_int_equal(open_file(t, hello, O_RDWR, &fh_hello), 0);
  assert_int_equal(opendir_(t, sub, &fh_sub), 0);
  assert_int_equal(open_file(t, gone, O_RDONLY, &fh_gone), 0);
  assert_int_equal(create(t, sub, "made", O_WRONLY, &n_new, &fh_new), 0);
  assert_int_equal(write_fh(t, n_new, fh_new, 0, "before\n"), 0);
  host_rename(t, "hello", "sub/hello-moved"); /* followed by the save */
  uint32_t inodes = vmk_fs_inode_count(t->fs);
  uint32_t handles = vmk_fs_handle_count(t->fs);

  struct vmk_sbuf b = {0};
  vmk_fs_save(t->fs, &b);
  assert_false(b.oom);
  /* While the VM is saved: one file deleted, one replaced by a new one. */
  host_unlink(t, "gone");
  host_unlink(t, "swap");
  write_file(t->share, "swap", "a new file\n");
  vmk_error err;
  assert_int_equal(reload(t, &b, &err), 0);
  assert_int_equal(vmk_fs_inode_count(t->fs), inodes);
  assert_int_equal(vmk_fs_handle_count(t->fs), handles);
  assert_int_equal(vmk_fs_stale_count(t->fs), 3); /* gone, swap, fh_gone */

  /* No INIT again: the guest's session goes on. */
  assert_int_equal(getattr_(t, hello), 0);
  assert_int_equal(read_fh(t, hello, fh_hello, 0, 100), 0);
  assert_int_equal(t->rep_len, 13);
  assert_int_equal(write_fh(t, hello, fh_hello, 0, "HELLO"), 0);
  assert_string_equal(read_file(t->share, "sub/hello-moved"), "HELLO, guest\n");
  assert_int_equal(write_fh(t, n_new, fh_new, 7, "after\n"), 0);
  assert_string_equal(read_file(t->share, "sub/made"), "before\nafter\n");
  struct fuse_read_in rd = {.fh = fh_sub, .size = 4096};
  assert_int_equal(call(t, FUSE_READDIR, sub, &rd, sizeof(rd), 0, 0, 0, 0), 0);
  assert_true(t->rep_len > 0);
  assert_int_equal(lookup_ok(t, sub, "made"), n_new);
  /* New files, and their node ids do not collide with restored ones. */
  uint64_t n2, fh2;
  assert_int_equal(create(t, sub, "after-restore", O_WRONLY, &n2, &fh2), 0);
  assert_true(n2 != hello && n2 != sub && n2 != gone && n2 != swap &&
              n2 != n_new);
  assert_true(fh2 != fh_hello && fh2 != fh_sub && fh2 != fh_gone &&
              fh2 != fh_new);
  assert_true(exists(t->share, "sub/after-restore"));

  /* Stale: ESTALE on use, never the new "swap". */
  assert_int_equal(getattr_(t, gone), -ESTALE);
  assert_int_equal(getattr_(t, swap), -ESTALE);
  assert_int_equal(call(t, FUSE_LOOKUP, swap, NULL, 0, "x", 0, 0, 0), -ESTALE);
  assert_int_equal(read_fh(t, gone, fh_gone, 0, 10), -ESTALE);
  assert_int_equal(release(t, gone, fh_gone, false), 0);
  assert_int_equal(vmk_fs_handle_count(t->fs), handles); /* +fh2, -fh_gone */
  assert_int_equal(read_fh(t, sub, fh_gone, 0, 10), -EBADF);
  assert_true(lookup_ok(t, 1, "swap") != swap); /* the new file: a new node */
  forget(t, swap, 1);
  forget(t, gone, 1);
  assert_int_equal(getattr_(t, gone), -EBADF);
  assert_int_equal(vmk_fs_stale_count(t->fs), 0);
  /* The hello node was held twice: two FORGETs drop it. */
  forget(t, hello, 1);
  assert_int_equal(getattr_(t, hello), 0);
  forget(t, hello, 1);
  assert_int_equal(getattr_(t, hello), -EBADF);

  /* A share restored twice from one save is the same. */
  assert_int_equal(reload(t, &b, &err), 0);
  assert_int_equal(vmk_fs_inode_count(t->fs), inodes);
  vmk_sbuf_free(&b);
}

/* A hand-made fs state: one node and one open file, each field given. */
struct craft {
  uint32_t version, minor, nnodes;
  uint8_t init;
  uint32_t id, type, fh_len;
  uint64_t nlookup, ino;
  uint8_t root_dev;
  const char *path;
  uint32_t nhandles, fh, node, flags;
  uint8_t dir;
  uint64_t pos;
  bool trailing;
};

static void craft_write(const struct craft *c, struct vmk_sbuf *b) {
  vmk_sbuf_u32(b, c->version);
  vmk_sbuf_u8(b, c->init);
  vmk_sbuf_u32(b, c->minor);
  vmk_sbuf_u32(b, c->nnodes);
  for (uint32_t i = 0; i < c->nnodes && i < 1; i++) {
    vmk_sbuf_u32(b, c->id);
    vmk_sbuf_u64(b, c->nlookup);
    vmk_sbuf_u32(b, c->type);
    vmk_sbuf_u64(b, c->ino);
    vmk_sbuf_u8(b, c->root_dev);
    vmk_sbuf_str(b, c->path);
    vmk_sbuf_u32(b, 0);
    vmk_sbuf_u32(b, c->fh_len);
    static const uint8_t zeros[256];
    vmk_sbuf_bytes(b, zeros, c->fh_len < 256 ? c->fh_len : 0);
  }
  vmk_sbuf_u32(b, c->nhandles);
  for (uint32_t i = 0; i < c->nhandles && i < 1; i++) {
    vmk_sbuf_u32(b, c->fh);
    vmk_sbuf_u8(b, c->dir);
    vmk_sbuf_u32(b, c->node);
    vmk_sbuf_u32(b, c->flags);
    vmk_sbuf_u64(b, c->pos);
  }
  if (c->trailing)
    vmk_sbuf_u8(b, 0);
}

static int craft_load(struct t *t, const struct craft *c, vmk_error *err) {
  struct vmk_sbuf b = {0};
  craft_write(c, &b);
  int r = reload(t, &b, err);
  vmk_sbuf_free(&b);
  return r;
}

/* The state is untrusted: every field out of its range is refused with a
 * sentence and leaves the share empty (reset) and serving; a well-formed
 * state naming a file through a symlink or one that is not the same file
 * gives a stale node, never a file outside the share. */
static void test_snapshot_malformed(void **state) {
  struct t *t = *state;
  struct stat st;
  char p[256];
  path_in(p, sizeof(p), t->share, "hello");
  assert_int_equal(stat(p, &st), 0);
  const struct craft good = {.version = 1,
                             .init = 1,
                             .minor = 31,
                             .nnodes = 1,
                             .id = 2,
                             .nlookup = 1,
                             .type = S_IFREG,
                             .ino = st.st_ino,
                             .root_dev = 1,
                             .path = "hello",
                             .nhandles = 1,
                             .fh = 0,
                             .node = 2,
                             .flags = O_RDWR};
  vmk_error err;
  assert_int_equal(craft_load(t, &good, &err), 0);
  assert_int_equal(vmk_fs_stale_count(t->fs), 0);
  assert_int_equal(read_fh(t, 2, 0, 0, 100), 0);
  assert_int_equal(t->rep_len, 13);

  struct craft bad[40];
  int n = 0;
#define BAD(field, value)                                                      \
  do {                                                                         \
    bad[n] = good;                                                             \
    bad[n++].field = value;                                                    \
  } while (0)
  BAD(version, 2);
  BAD(version, 0);
  BAD(init, 2);
  BAD(init, 0); /* nodes without a session */
  BAD(minor, 26);
  BAD(minor, 9999);
  BAD(nnodes, 64); /* more than the share holds (64 with the root) */
  BAD(nnodes, 2);  /* more than there are: truncated */
  BAD(id, 0);
  BAD(id, 1);  /* the root is not saved */
  BAD(id, 65); /* beyond the inode table */
  BAD(nlookup, 0);
  BAD(type, 0);
  BAD(type, S_IFMT);
  BAD(path, "");
  BAD(path, "../outside/secret");
  BAD(path, "sub/../hello");
  BAD(path, "./hello");
  BAD(path, "/etc/passwd");
  BAD(path, "a//b");
  BAD(path, "hello/");
  BAD(fh_len, 129);
  BAD(nhandles, 9); /* more than the share holds */
  BAD(nhandles, 2); /* truncated */
  BAD(fh, 8);
  BAD(node, 3); /* no such node */
  BAD(dir, 1);  /* a directory handle on a file */
  BAD(dir, 7);
  BAD(flags, O_ACCMODE);
  BAD(flags, O_RDWR | O_CREAT);
  BAD(flags, O_RDWR | O_DIRECTORY);
  BAD(pos, 1); /* a file handle has no position */
  BAD(trailing, true);
#undef BAD
  for (int i = 0; i < n; i++) {
    err.msg[0] = 0;
    assert_int_equal(craft_load(t, &bad[i], &err), -EINVAL);
    assert_non_null(strstr(err.msg, "shared-folder state"));
    assert_int_equal(vmk_fs_inode_count(t->fs), 1);
    assert_int_equal(vmk_fs_handle_count(t->fs), 0);
  }
  /* A directory handle with a position beyond a file offset. */
  struct craft c = good;
  c.type = S_IFDIR;
  c.path = "sub";
  c.dir = 1;
  c.flags = O_RDONLY;
  c.pos = (uint64_t)INT64_MAX + 1;
  assert_int_equal(craft_load(t, &c, &err), -EINVAL);
  c.flags = O_WRONLY;
  c.pos = 0;
  assert_int_equal(craft_load(t, &c, &err), -EINVAL);
  /* The root opened as a file. */
  c = good;
  c.node = 1;
  assert_int_equal(craft_load(t, &c, &err), -EINVAL);
  /* Every truncation of a good state. */
  struct vmk_sbuf b = {0};
  craft_write(&good, &b);
  for (size_t len = 0; len < b.len; len++) {
    struct vmk_sbuf cut = {.p = b.p, .len = len};
    assert_int_equal(reload(t, &cut, &err), -EINVAL);
    assert_int_equal(vmk_fs_inode_count(t->fs), 1);
  }
  /* Any flipped byte: refused or loaded, never a crash (ASan watches). */
  for (size_t i = 0; i < b.len; i++) {
    b.p[i] ^= 0xa5;
    int r = reload(t, &b, &err);
    assert_true(r == 0 || r == -EINVAL);
    b.p[i] ^= 0xa5;
  }
  vmk_sbuf_free(&b);

  /* Well-formed, but through a symlink out of the share: stale. The
   * outside file's inode number is given, as an attacker would. */
  path_in(p, sizeof(p), t->outside, "secret");
  assert_int_equal(stat(p, &st), 0);
  char link[256];
  path_in(link, sizeof(link), t->share, "out");
  assert_int_equal(symlink(t->outside, link), 0);
  c = good;
  c.path = "out/secret";
  c.ino = st.st_ino;
  assert_int_equal(craft_load(t, &c, &err), 0);
  assert_int_equal(vmk_fs_stale_count(t->fs), 2);
  assert_int_equal(getattr_(t, 2), -ESTALE);
  assert_int_equal(read_fh(t, 2, 0, 0, 100), -ESTALE);
  /* Another inode number, another type, another file system: stale. */
  c = good;
  c.ino ^= 1;
  assert_int_equal(craft_load(t, &c, &err), 0);
  assert_int_equal(getattr_(t, 2), -ESTALE);
  c = good;
  c.type = S_IFDIR;
  c.nhandles = 0;
  assert_int_equal(craft_load(t, &c, &err), 0);
  assert_int_equal(getattr_(t, 2), -ESTALE);
  c = good;
  c.root_dev = 0;
  assert_int_equal(craft_load(t, &c, &err), 0);
  assert_int_equal(getattr_(t, 2), -ESTALE);
  /* A file handle that does not match (where the host has them). */
  c = good;
  c.fh_len = 8;
  assert_int_equal(craft_load(t, &c, &err), 0);
  int fhr = getattr_(t, 2);
  assert_true(fhr == -ESTALE || fhr == 0);
  /* A session that was never started restores as such. */
  c = good;
  c.init = 0;
  c.nnodes = c.nhandles = 0;
  assert_int_equal(craft_load(t, &c, &err), 0);
  assert_int_equal(getattr_(t, 1), -EIO);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_init_negotiates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_init_versions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_namespace, setup, teardown),
      cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_readdir, setup, teardown),
      cmocka_unit_test_setup_teardown(test_forget_and_bounds, setup, teardown),
      cmocka_unit_test_setup_teardown(test_escape_symlinks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_escape_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_escape_swap_race, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
      cmocka_unit_test_setup_teardown(test_snapshot_roundtrip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_snapshot_malformed, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
