/* fs_passthrough.c — the in-process FUSE server behind virtio-fs: parses
 * each request into a typed value (parse_request) or an errno, then runs it
 * (execute) against the share with *at() calls on O_PATH fds.
 *
 * Threads: one thread at a time (the VM's I/O thread, holding the virtio
 * transport's lock); the struct vmk_fs is owned by its device, no locks.
 *
 * Bounds: at most limits.max_inodes live inodes (each one O_PATH fd; a
 * lookup beyond it fails with ENFILE until the guest FORGETs some) and
 * limits.max_handles open files; requests and replies fit VMK_FS_REQ_MAX /
 * VMK_FS_REP_MAX. Wire structures are <linux/fuse.h>'s, in host byte order:
 * the guest (arm64) and every supported host are little-endian.
 *
 * Snapshots (vmk_fs_save/vmk_fs_load, docs/snapshot.md): nodes are saved
 * by path beneath the root and identity, and found again at a restore; one
 * whose file is gone or replaced is kept as a stale slot (ESTALE on use)
 * until the guest forgets it, as is an open file that cannot be reopened.
 */
#include "backends/fs_passthrough.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/sbuf.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "FUSE structs are used in host order; the guest is LE");

/* Oldest protocol accepted: 7.27 (Linux 4.17); virtio-fs guests send 7.31+ */
#define MIN_MINOR 27
#define NO_INODE UINT32_MAX
#define DENTS_BUF 8192

struct inode {
  int fd;     /* O_PATH | O_NOFOLLOW; -1 when the slot is free or stale */
  bool stale; /* restored from a snapshot, its file gone: ESTALE on use */
  dev_t dev;
  ino_t ino;
  mode_t type; /* S_IFMT bits, which never change for an inode */
  uint64_t nlookup;
  uint32_t hnext; /* next in the (dev, ino) hash chain */
};

struct handle {
  int fd;     /* -1 when free or stale */
  bool stale; /* restored from a snapshot, its file gone: ESTALE on use */
  bool dir;
  uint32_t node; /* index of the inode it was opened on */
};

struct vmk_fs {
  bool ro;
  bool initialized;
  uint32_t minor;       /* negotiated protocol minor */
  int proc_fd;          /* /proc/self/fd, to reopen an O_PATH fd by number */
  struct inode *inodes; /* index i is nodeid i + 1; 0 is the root */
  uint32_t max_inodes, ninodes;
  uint32_t *free_inodes, nfree_inodes;
  uint32_t *hash, hash_size;
  struct handle *handles;
  uint32_t max_handles, nhandles;
  uint8_t *dents; /* getdents64 scratch */
};

/* ---- parsing --------------------------------------------------------- */

/* A request after parsing: the header, the opcode's fixed argument, and
 * its checked names or payload. */
struct req {
  struct fuse_in_header h;
  union {
    struct fuse_init_in init;
    struct fuse_forget_in forget;
    struct fuse_batch_forget_in bforget;
    struct fuse_getattr_in getattr;
    struct fuse_setattr_in setattr;
    struct fuse_open_in open;
    struct fuse_create_in create;
    struct fuse_read_in read;
    struct fuse_write_in write;
    struct fuse_release_in release;
    struct fuse_flush_in flush;
    struct fuse_fsync_in fsync;
    struct fuse_mkdir_in mkdir;
    struct fuse_mknod_in mknod;
    struct fuse_rename2_in rename;
    struct fuse_link_in link;
    struct fuse_access_in access;
  } a;
  const char *name;    /* a checked path component */
  const char *name2;   /* RENAME's new name; SYMLINK's target */
  const uint8_t *data; /* WRITE payload; BATCH_FORGET entries */
  size_t data_len;
};

/* What each opcode carries after the header. */
enum tail {
  T_NONE,      /* nothing (more) */
  T_NAME,      /* one path component */
  T_NAME_NAME, /* two path components (rename) */
  T_NAME_LINK, /* a component, then a symlink target (symlink) */
  T_DATA,      /* a payload (write, batch forget) */
  T_ANY,       /* ignored (init's later fields, interrupt) */
};

struct op {
  bool known;
  uint32_t arg; /* size of the fixed argument */
  enum tail tail;
  bool mutates; /* refused with EROFS on a read-only share */
  bool no_reply;
};

static const struct op *op_of(uint32_t opcode) {
  static const struct op ops[] = {
      [FUSE_LOOKUP] = {true, 0, T_NAME, false, false},
      [FUSE_FORGET] = {true, sizeof(struct fuse_forget_in), T_NONE, false,
                       true},
      [FUSE_GETATTR] = {true, sizeof(struct fuse_getattr_in), T_NONE, false,
                        false},
      [FUSE_SETATTR] = {true, sizeof(struct fuse_setattr_in), T_NONE, true,
                        false},
      [FUSE_READLINK] = {true, 0, T_NONE, false, false},
      [FUSE_SYMLINK] = {true, 0, T_NAME_LINK, true, false},
      [FUSE_MKNOD] = {true, sizeof(struct fuse_mknod_in), T_NAME, true, false},
      [FUSE_MKDIR] = {true, sizeof(struct fuse_mkdir_in), T_NAME, true, false},
      [FUSE_UNLINK] = {true, 0, T_NAME, true, false},
      [FUSE_RMDIR] = {true, 0, T_NAME, true, false},
      [FUSE_RENAME] = {true, sizeof(struct fuse_rename_in), T_NAME_NAME, true,
                       false},
      [FUSE_LINK] = {true, sizeof(struct fuse_link_in), T_NAME, true, false},
      [FUSE_OPEN] = {true, sizeof(struct fuse_open_in), T_NONE, false, false},
      [FUSE_READ] = {true, sizeof(struct fuse_read_in), T_NONE, false, false},
      [FUSE_WRITE] = {true, sizeof(struct fuse_write_in), T_DATA, true, false},
      [FUSE_STATFS] = {true, 0, T_NONE, false, false},
      [FUSE_RELEASE] = {true, sizeof(struct fuse_release_in), T_NONE, false,
                        false},
      [FUSE_FSYNC] = {true, sizeof(struct fuse_fsync_in), T_NONE, false, false},
      [FUSE_FLUSH] = {true, sizeof(struct fuse_flush_in), T_NONE, false, false},
      [FUSE_INIT] = {true, 8, T_ANY, false, false}, /* major, minor at least */
      [FUSE_OPENDIR] = {true, sizeof(struct fuse_open_in), T_NONE, false,
                        false},
      [FUSE_READDIR] = {true, sizeof(struct fuse_read_in), T_NONE, false,
                        false},
      [FUSE_RELEASEDIR] = {true, sizeof(struct fuse_release_in), T_NONE, false,
                           false},
      [FUSE_FSYNCDIR] = {true, sizeof(struct fuse_fsync_in), T_NONE, false,
                         false},
      [FUSE_ACCESS] = {true, sizeof(struct fuse_access_in), T_NONE, false,
                       false},
      [FUSE_CREATE] = {true, sizeof(struct fuse_create_in), T_NAME, true,
                       false},
      [FUSE_INTERRUPT] = {true, 0, T_ANY, false, true},
      [FUSE_DESTROY] = {true, 0, T_ANY, false, false},
      [FUSE_BATCH_FORGET] = {true, sizeof(struct fuse_batch_forget_in), T_DATA,
                             false, true},
      [FUSE_READDIRPLUS] = {true, sizeof(struct fuse_read_in), T_NONE, false,
                            false},
      [FUSE_RENAME2] = {true, sizeof(struct fuse_rename2_in), T_NAME_NAME, true,
                        false},
  };
  if (opcode >= sizeof(ops) / sizeof(ops[0]) || !ops[opcode].known)
    return NULL;
  return &ops[opcode];
}

/* A string that ends with NUL inside [p, end): returns its length + 1, or
 * 0 when there is no NUL. */
static size_t cstr_span(const uint8_t *p, const uint8_t *end) {
  const uint8_t *z = memchr(p, 0, (size_t)(end - p));
  return z ? (size_t)(z - p) + 1 : 0;
}

/* One path component: 1..NAME_MAX bytes, no '/', not "." or "..". */
static bool valid_name(const char *s, size_t len) {
  if (len == 0 || len > NAME_MAX || memchr(s, '/', len))
    return false;
  return strcmp(s, ".") && strcmp(s, "..");
}

/* Parses in[0..len) into r. Returns 0, or a negative errno that is the
 * reply (-EINVAL malformed, -ENOSYS unknown opcode). The header must have
 * been checked (len >= its size) by the caller. */
static int parse_request(const uint8_t *in, size_t len, struct req *r) {
  memset(r, 0, sizeof(*r));
  memcpy(&r->h, in, sizeof(r->h));
  if (r->h.len != len)
    return -EINVAL;
  const struct op *op = op_of(r->h.opcode);
  if (!op)
    return -ENOSYS;
  const uint8_t *p = in + sizeof(r->h), *end = in + len;
  size_t arg = op->arg;
  if ((size_t)(end - p) < arg)
    return -EINVAL;
  size_t copy = arg;
  if (r->h.opcode == FUSE_INIT) /* later fields are optional */
    copy = (size_t)(end - p) < sizeof(r->a.init) ? (size_t)(end - p)
                                                 : sizeof(r->a.init);
  memcpy(&r->a, p, copy);
  p += arg;
  switch (op->tail) {
  case T_NONE:
    if (p != end)
      return -EINVAL;
    break;
  case T_ANY:
    break;
  case T_NAME:
  case T_NAME_NAME:
  case T_NAME_LINK: {
    size_t n = cstr_span(p, end);
    if (!n || !valid_name((const char *)p, n - 1))
      return -EINVAL;
    r->name = (const char *)p;
    p += n;
    if (op->tail == T_NAME) {
      if (p != end)
        return -EINVAL;
      break;
    }
    n = p < end ? cstr_span(p, end) : 0;
    if (!n || p + n != end)
      return -EINVAL;
    if (op->tail == T_NAME_NAME && !valid_name((const char *)p, n - 1))
      return -EINVAL;
    if (op->tail == T_NAME_LINK && (n == 1 || n > PATH_MAX))
      return -EINVAL;
    r->name2 = (const char *)p;
    break;
  }
  case T_DATA:
    r->data = p;
    r->data_len = (size_t)(end - p);
    break;
  }
  if (r->h.opcode == FUSE_WRITE &&
      (r->a.write.size != r->data_len || r->a.write.size > VMK_FS_MAX_RW ||
       r->a.write.offset > (uint64_t)INT64_MAX))
    return -EINVAL;
  if (r->h.opcode == FUSE_BATCH_FORGET &&
      (uint64_t)r->a.bforget.count * sizeof(struct fuse_forget_one) !=
          r->data_len)
    return -EINVAL;
  if ((r->h.opcode == FUSE_READ || r->h.opcode == FUSE_READDIR ||
       r->h.opcode == FUSE_READDIRPLUS) &&
      r->a.read.offset > (uint64_t)INT64_MAX)
    return -EINVAL;
  return 0;
}

/* ---- inodes and handles ----------------------------------------------- */

static uint32_t hash_of(const struct vmk_fs *fs, dev_t dev, ino_t ino) {
  uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;
  return (uint32_t)(h >> 17) % fs->hash_size;
}

static struct inode *inode_get(struct vmk_fs *fs, uint64_t nodeid) {
  if (nodeid == 0 || nodeid > fs->max_inodes)
    return NULL;
  struct inode *in = &fs->inodes[nodeid - 1];
  return in->fd >= 0 ? in : NULL;
}

/* A live or stale inode: what FORGET may count down. */
static struct inode *inode_slot(struct vmk_fs *fs, uint64_t nodeid) {
  if (nodeid == 0 || nodeid > fs->max_inodes)
    return NULL;
  struct inode *in = &fs->inodes[nodeid - 1];
  return in->fd >= 0 || in->stale ? in : NULL;
}

/* The reply for a node id that names no live inode. */
static int bad_inode(struct vmk_fs *fs, uint64_t nodeid) {
  struct inode *in = inode_slot(fs, nodeid);
  return in && in->stale ? -ESTALE : -EBADF;
}

static uint64_t nodeid_of(const struct vmk_fs *fs, const struct inode *in) {
  return (uint64_t)(in - fs->inodes) + 1;
}

static struct inode *inode_find(struct vmk_fs *fs, dev_t dev, ino_t ino) {
  for (uint32_t i = fs->hash[hash_of(fs, dev, ino)]; i != NO_INODE;
       i = fs->inodes[i].hnext)
    if (fs->inodes[i].dev == dev && fs->inodes[i].ino == ino)
      return &fs->inodes[i];
  return NULL;
}

/* Takes ownership of fd. */
static struct inode *inode_insert(struct vmk_fs *fs, int fd,
                                  const struct stat *st) {
  if (!fs->nfree_inodes) {
    close(fd);
    return NULL;
  }
  uint32_t i = fs->free_inodes[--fs->nfree_inodes];
  uint32_t b = hash_of(fs, st->st_dev, st->st_ino);
  fs->inodes[i] = (struct inode){.fd = fd,
                                 .dev = st->st_dev,
                                 .ino = st->st_ino,
                                 .type = st->st_mode & S_IFMT,
                                 .nlookup = 0,
                                 .hnext = fs->hash[b]};
  fs->hash[b] = i;
  fs->ninodes++;
  return &fs->inodes[i];
}

static void inode_drop(struct vmk_fs *fs, struct inode *in) {
  uint32_t i = (uint32_t)(in - fs->inodes);
  if (i == 0)
    return;         /* the root lives as long as the share */
  if (!in->stale) { /* a stale inode is in no hash chain and has no fd */
    uint32_t *link = &fs->hash[hash_of(fs, in->dev, in->ino)];
    while (*link != i)
      link = &fs->inodes[*link].hnext;
    *link = in->hnext;
    close(in->fd);
  }
  in->fd = -1;
  in->stale = false;
  in->nlookup = 0;
  fs->free_inodes[fs->nfree_inodes++] = i;
  fs->ninodes--;
}

static void inode_forget(struct vmk_fs *fs, uint64_t nodeid, uint64_t n) {
  struct inode *in = inode_slot(fs, nodeid);
  if (!in || nodeid == FUSE_ROOT_ID)
    return;
  in->nlookup = n >= in->nlookup ? 0 : in->nlookup - n;
  if (in->nlookup == 0)
    inode_drop(fs, in);
}

static int handle_new(struct vmk_fs *fs, int fd, bool dir, uint32_t node,
                      uint64_t *fh) {
  for (uint32_t i = 0; i < fs->max_handles; i++) {
    if (fs->handles[i].fd < 0 && !fs->handles[i].stale) {
      fs->handles[i] = (struct handle){.fd = fd, .dir = dir, .node = node};
      fs->nhandles++;
      *fh = i;
      return 0;
    }
  }
  close(fd);
  return -ENFILE;
}

static struct handle *handle_get(struct vmk_fs *fs, uint64_t fh, bool dir) {
  if (fh >= fs->max_handles || fs->handles[fh].fd < 0 ||
      fs->handles[fh].dir != dir)
    return NULL;
  return &fs->handles[fh];
}

/* The reply for a handle that is not open as asked. */
static int bad_handle(struct vmk_fs *fs, uint64_t fh, bool dir) {
  return fh < fs->max_handles && fs->handles[fh].stale &&
                 fs->handles[fh].dir == dir
             ? -ESTALE
             : -EBADF;
}

static void handle_close(struct vmk_fs *fs, struct handle *h) {
  if (h->fd >= 0)
    close(h->fd);
  h->fd = -1;
  h->stale = false;
  fs->nhandles--;
}

/* ---- host calls ------------------------------------------------------- */

/* Opens one component beneath dirfd; never follows a symlink, never leaves
 * the directory. */
static int open_beneath(int dirfd, const char *name, uint64_t flags,
                        uint64_t mode) {
  struct open_how how = {
      .flags = flags | O_NOFOLLOW | O_CLOEXEC,
      .mode = mode,
      .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
  };
  long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
  return fd < 0 ? -errno : (int)fd;
}

/* Reopens an inode's O_PATH fd as a real open file: the same inode, whatever
 * happened to its name since. */
static int reopen(struct vmk_fs *fs, const struct inode *in, int flags) {
  char num[16];
  snprintf(num, sizeof(num), "%d", in->fd);
  int fd = openat(fs->proc_fd, num, flags | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

static int stat_fd(int fd, struct stat *st) {
  return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno
                                                                      : 0;
}

static void fill_attr(struct fuse_attr *a, const struct stat *st) {
  *a = (struct fuse_attr){
      .ino = st->st_ino,
      .size = (uint64_t)st->st_size,
      .blocks = (uint64_t)st->st_blocks,
      .atime = (uint64_t)st->st_atim.tv_sec,
      .mtime = (uint64_t)st->st_mtim.tv_sec,
      .ctime = (uint64_t)st->st_ctim.tv_sec,
      .atimensec = (uint32_t)st->st_atim.tv_nsec,
      .mtimensec = (uint32_t)st->st_mtim.tv_nsec,
      .ctimensec = (uint32_t)st->st_ctim.tv_nsec,
      .mode = st->st_mode,
      .nlink = (uint32_t)st->st_nlink,
      .uid = st->st_uid,
      .gid = st->st_gid,
      .rdev = (uint32_t)st->st_rdev,
      .blksize = (uint32_t)st->st_blksize,
  };
}

/* Counts one more guest reference to the inode pathfd (an O_PATH fd, taken
 * over) names, and describes it in e. Entries are not cached by the guest
 * (timeouts 0), so changes made on the host show at once. */
static int ref_inode(struct vmk_fs *fs, int pathfd, struct fuse_entry_out *e) {
  struct stat st;
  int r = stat_fd(pathfd, &st);
  if (r < 0) {
    close(pathfd);
    return r;
  }
  struct inode *in = inode_find(fs, st.st_dev, st.st_ino);
  if (in) {
    close(pathfd);
  } else if (!(in = inode_insert(fs, pathfd, &st))) {
    return -ENFILE;
  }
  in->nlookup++;
  memset(e, 0, sizeof(*e));
  e->nodeid = nodeid_of(fs, in);
  fill_attr(&e->attr, &st);
  return 0;
}

/* Looks `name` up beneath parent (see ref_inode). */
static int do_lookup(struct vmk_fs *fs, struct inode *parent, const char *name,
                     struct fuse_entry_out *e) {
  if (parent->type != S_IFDIR)
    return -ENOTDIR;
  int fd = open_beneath(parent->fd, name, O_PATH, 0);
  return fd < 0 ? fd : ref_inode(fs, fd, e);
}

/* ---- execution -------------------------------------------------------- */

struct reply {
  uint8_t *body; /* after the out header */
  size_t cap;    /* room in body */
  size_t len;    /* bytes of body written */
};

static int put(struct reply *rp, const void *p, size_t n) {
  if (n > rp->cap - rp->len)
    return -EINVAL; /* the guest gave too little room for the reply */
  memcpy(rp->body + rp->len, p, n);
  rp->len += n;
  return 0;
}

static int x_init(struct vmk_fs *fs, const struct req *r, struct reply *rp) {
  const struct fuse_init_in *a = &r->a.init;
  struct fuse_init_out o = {.major = FUSE_KERNEL_VERSION,
                            .minor = FUSE_KERNEL_MINOR_VERSION};
  if (a->major > FUSE_KERNEL_VERSION) /* the guest retries with ours */
    return put(rp, &o, 8);
  if (a->major < FUSE_KERNEL_VERSION || a->minor < MIN_MINOR)
    return -EPROTO;
  if (a->minor < o.minor)
    o.minor = a->minor;
  size_t in_len = r->h.len - sizeof(r->h);
  uint32_t flags = in_len >= 16 ? a->flags : 0;
  o.max_readahead = in_len >= 12 ? a->max_readahead : 0;
  o.flags = flags & (FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
                     FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO |
                     FUSE_PARALLEL_DIROPS);
  o.max_background = 64;
  o.congestion_threshold = 48;
  o.max_write = VMK_FS_MAX_RW;
  o.time_gran = 1;
  vmk_fs_reset(fs);
  fs->initialized = true;
  fs->minor = o.minor;
  return put(rp, &o, sizeof(o));
}

/* A new inode gets exactly the permission bits the guest asked for (its
 * kernel applied the guest's umask already), not those vmkit's own umask
 * leaves. */
static void set_mode(struct vmk_fs *fs, struct fuse_entry_out *e,
                     uint32_t want) {
  struct inode *in = inode_get(fs, e->nodeid);
  want &= 07777;
  if (!in || in->type == S_IFLNK || (e->attr.mode & 07777) == want)
    return;
  char num[16];
  snprintf(num, sizeof(num), "%d", in->fd);
  if (fchmodat(fs->proc_fd, num, want, 0) == 0)
    e->attr.mode = (e->attr.mode & ~07777u) | want;
}

/* Replies with the entry of `name` beneath parent; want_mode >= 0: the
 * permission bits it was just created with. */
static int x_entry(struct vmk_fs *fs, struct inode *parent, const char *name,
                   int64_t want_mode, struct reply *rp) {
  struct fuse_entry_out e;
  int r = do_lookup(fs, parent, name, &e);
  if (r < 0)
    return r;
  if (want_mode >= 0)
    set_mode(fs, &e, (uint32_t)want_mode);
  if ((r = put(rp, &e, sizeof(e))) < 0)
    inode_forget(fs, e.nodeid, 1);
  return r;
}

static int x_attr(struct inode *in, struct reply *rp) {
  struct stat st;
  int r = stat_fd(in->fd, &st);
  if (r < 0)
    return r;
  struct fuse_attr_out o = {0};
  fill_attr(&o.attr, &st);
  return put(rp, &o, sizeof(o));
}

static int x_setattr(struct vmk_fs *fs, const struct req *r, struct inode *in,
                     struct reply *rp) {
  const struct fuse_setattr_in *a = &r->a.setattr;
  uint32_t v = a->valid;
  if (v & FATTR_MODE) {
    if (in->type == S_IFLNK)
      return -EOPNOTSUPP;
    char num[16];
    snprintf(num, sizeof(num), "%d", in->fd);
    if (fchmodat(fs->proc_fd, num, a->mode & 07777, 0) < 0)
      return -errno;
  }
  if (v & (FATTR_UID | FATTR_GID)) {
    uid_t uid = v & FATTR_UID ? a->uid : (uid_t)-1;
    gid_t gid = v & FATTR_GID ? a->gid : (gid_t)-1;
    if (fchownat(in->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
      return -errno;
  }
  if (v & FATTR_SIZE) {
    if (a->size > (uint64_t)INT64_MAX)
      return -EINVAL;
    if (in->type != S_IFREG)
      return in->type == S_IFDIR ? -EISDIR : -EINVAL;
    struct handle *h = v & FATTR_FH ? handle_get(fs, a->fh, false) : NULL;
    int fd = h ? h->fd : reopen(fs, in, O_WRONLY);
    if (fd < 0)
      return fd;
    int res = ftruncate(fd, (off_t)a->size) < 0 ? -errno : 0;
    if (!h)
      close(fd);
    if (res < 0)
      return res;
  }
  if (v & (FATTR_ATIME | FATTR_MTIME)) {
    struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};
    if (v & FATTR_ATIME)
      ts[0] = v & FATTR_ATIME_NOW
                  ? (struct timespec){.tv_nsec = UTIME_NOW}
                  : (struct timespec){.tv_sec = (time_t)a->atime,
                                      .tv_nsec = a->atimensec};
    if (v & FATTR_MTIME)
      ts[1] = v & FATTR_MTIME_NOW
                  ? (struct timespec){.tv_nsec = UTIME_NOW}
                  : (struct timespec){.tv_sec = (time_t)a->mtime,
                                      .tv_nsec = a->mtimensec};
    for (int i = 0; i < 2; i++)
      if (ts[i].tv_nsec != UTIME_NOW && ts[i].tv_nsec != UTIME_OMIT &&
          (uint64_t)ts[i].tv_nsec >= 1000000000u)
        return -EINVAL;
    if (utimensat(in->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
      return -errno;
  }
  return x_attr(in, rp);
}

/* The open flags a guest may ask for; the rest (O_CREAT, O_NOCTTY,
 * O_DIRECTORY, O_PATH, O_TMPFILE, ...) are dropped or refused. */
#define OPEN_FLAGS (O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC)

static int check_open_flags(const struct vmk_fs *fs, uint32_t flags) {
  if ((flags & O_ACCMODE) == O_ACCMODE)
    return -EINVAL;
  if (fs->ro && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)))
    return -EROFS;
  return 0;
}

static int x_open(struct vmk_fs *fs, const struct req *r, struct inode *in,
                  bool dir, struct reply *rp) {
  int fd;
  if (dir) {
    if (in->type != S_IFDIR)
      return -ENOTDIR;
    fd = reopen(fs, in, O_RDONLY | O_DIRECTORY);
  } else {
    /* Special files are opened by the guest kernel itself; only regular
     * files reach here (so a fifo can never block this thread). */
    if (in->type != S_IFREG)
      return in->type == S_IFDIR ? -EISDIR : -EINVAL;
    int res = check_open_flags(fs, r->a.open.flags);
    if (res < 0)
      return res;
    int flags = (int)(r->a.open.flags & OPEN_FLAGS);
    /* A read-only share leaves even access times alone where the host
     * lets us (O_NOATIME needs the file's owner). */
    fd = fs->ro ? reopen(fs, in, flags | O_NOATIME) : -EPERM;
    if (fd == -EPERM)
      fd = reopen(fs, in, flags);
  }
  if (fd < 0)
    return fd;
  struct fuse_open_out o = {0};
  int res = handle_new(fs, fd, dir, (uint32_t)(in - fs->inodes), &o.fh);
  if (res < 0)
    return res;
  if ((res = put(rp, &o, sizeof(o))) < 0)
    handle_close(fs, &fs->handles[o.fh]);
  return res;
}

static int x_create(struct vmk_fs *fs, const struct req *r,
                    struct inode *parent, struct reply *rp) {
  const struct fuse_create_in *a = &r->a.create;
  if (parent->type != S_IFDIR)
    return -ENOTDIR;
  int res = check_open_flags(fs, a->flags);
  if (res < 0)
    return res;
  /* Exclusive first, so we know whether this request made the file (only
   * then does it get the guest's mode). */
  bool made = true;
  int fd =
      open_beneath(parent->fd, r->name,
                   O_CREAT | O_EXCL | (a->flags & OPEN_FLAGS), a->mode & 07777);
  if (fd == -EEXIST && !(a->flags & O_EXCL)) {
    made = false;
    fd = open_beneath(parent->fd, r->name, a->flags & OPEN_FLAGS, 0);
  }
  if (fd < 0)
    return fd;
  /* The inode is the one just opened, not whatever the name means now. */
  char num[16];
  snprintf(num, sizeof(num), "%d", fd);
  int pathfd = openat(fs->proc_fd, num, O_PATH | O_CLOEXEC);
  struct fuse_entry_out e;
  uint64_t fh;
  if (pathfd < 0 || (res = ref_inode(fs, pathfd, &e)) < 0) {
    res = pathfd < 0 ? -errno : res;
    close(fd);
    return res;
  }
  if (made)
    set_mode(fs, &e, a->mode);
  if ((res = handle_new(fs, fd, false, (uint32_t)(e.nodeid - 1), &fh)) < 0) {
    inode_forget(fs, e.nodeid, 1);
    return res;
  }
  struct fuse_open_out o = {.fh = fh};
  if ((res = put(rp, &e, sizeof(e))) < 0 ||
      (res = put(rp, &o, sizeof(o))) < 0) {
    handle_close(fs, &fs->handles[fh]);
    inode_forget(fs, e.nodeid, 1);
  }
  return res;
}

static int x_read(struct vmk_fs *fs, const struct req *r, struct reply *rp) {
  struct handle *h = handle_get(fs, r->a.read.fh, false);
  if (!h)
    return bad_handle(fs, r->a.read.fh, false);
  size_t n = r->a.read.size;
  if (n > rp->cap - rp->len)
    n = rp->cap - rp->len;
  if (n > VMK_FS_MAX_RW)
    n = VMK_FS_MAX_RW;
  ssize_t got = pread(h->fd, rp->body + rp->len, n, (off_t)r->a.read.offset);
  if (got < 0)
    return -errno;
  rp->len += (size_t)got;
  return 0;
}

static int x_write(struct vmk_fs *fs, const struct req *r, struct reply *rp) {
  struct handle *h = handle_get(fs, r->a.write.fh, false);
  if (!h)
    return bad_handle(fs, r->a.write.fh, false);
  ssize_t n = pwrite(h->fd, r->data, r->data_len, (off_t)r->a.write.offset);
  if (n < 0)
    return -errno;
  struct fuse_write_out o = {.size = (uint32_t)n};
  return put(rp, &o, sizeof(o));
}

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static int x_readdir(struct vmk_fs *fs, const struct req *r, struct inode *dir,
                     bool plus, struct reply *rp) {
  struct handle *h = handle_get(fs, r->a.read.fh, true);
  if (!h)
    return bad_handle(fs, r->a.read.fh, true);
  size_t limit = r->a.read.size < rp->cap ? r->a.read.size : rp->cap;
  if (lseek(h->fd, (off_t)r->a.read.offset, SEEK_SET) < 0)
    return -errno;
  for (;;) {
    long n = syscall(SYS_getdents64, h->fd, fs->dents, DENTS_BUF);
    if (n < 0)
      return rp->len ? 0 : -errno;
    if (n == 0)
      return 0;
    for (long pos = 0; pos < n;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(fs->dents + pos);
      pos += d->d_reclen;
      size_t namelen = strlen(d->d_name);
      size_t sz = plus
                      ? FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + namelen)
                      : FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + namelen);
      if (sz > limit - rp->len)
        return 0; /* full: the guest asks again from the last offset */
      uint8_t *out = rp->body + rp->len;
      memset(out, 0, sz);
      struct fuse_dirent *fd = (struct fuse_dirent *)out;
      if (plus) {
        struct fuse_direntplus *dp = (struct fuse_direntplus *)out;
        fd = &dp->dirent;
        bool dot = !strcmp(d->d_name, ".") || !strcmp(d->d_name, "..");
        /* nodeid 0 tells the guest "no entry for this one": for . and ..,
         * and for a name that vanished meanwhile. */
        if (!dot && do_lookup(fs, dir, d->d_name, &dp->entry_out) < 0)
          memset(&dp->entry_out, 0, sizeof(dp->entry_out));
      }
      fd->ino = d->d_ino;
      fd->off = (uint64_t)d->d_off;
      fd->namelen = (uint32_t)namelen;
      fd->type = d->d_type;
      memcpy(fd->name, d->d_name, namelen);
      rp->len += sz;
    }
  }
}

static int x_statfs(struct inode *in, struct reply *rp) {
  struct statvfs sv;
  if (fstatvfs(in->fd, &sv) < 0)
    return -errno;
  struct fuse_statfs_out o = {.st = {.blocks = sv.f_blocks,
                                     .bfree = sv.f_bfree,
                                     .bavail = sv.f_bavail,
                                     .files = sv.f_files,
                                     .ffree = sv.f_ffree,
                                     .bsize = (uint32_t)sv.f_bsize,
                                     .namelen = (uint32_t)sv.f_namemax,
                                     .frsize = (uint32_t)sv.f_frsize}};
  return put(rp, &o, sizeof(o));
}

static int x_readlink(struct inode *in, struct reply *rp) {
  if (in->type != S_IFLNK)
    return -EINVAL;
  char buf[PATH_MAX];
  ssize_t n = readlinkat(in->fd, "", buf, sizeof(buf));
  if (n < 0)
    return -errno;
  return put(rp, buf, (size_t)n);
}

static int x_link(struct vmk_fs *fs, const struct req *r, struct inode *parent,
                  struct reply *rp) {
  struct inode *old = inode_get(fs, r->a.link.oldnodeid);
  if (!old)
    return bad_inode(fs, r->a.link.oldnodeid);
  if (old->type == S_IFDIR)
    return -EPERM;
  if (parent->type != S_IFDIR)
    return -ENOTDIR;
  /* Through /proc: links the inode itself (no name is resolved again), and
   * needs no CAP_DAC_READ_SEARCH as AT_EMPTY_PATH would. */
  char num[16];
  snprintf(num, sizeof(num), "%d", old->fd);
  if (linkat(fs->proc_fd, num, parent->fd, r->name, AT_SYMLINK_FOLLOW) < 0)
    return -errno;
  return x_entry(fs, parent, r->name, -1, rp);
}

static int x_mknod(struct vmk_fs *fs, const struct req *r, struct inode *parent,
                   struct reply *rp) {
  mode_t type = r->a.mknod.mode & S_IFMT;
  if (type != S_IFIFO && type != S_IFREG)
    return -EPERM; /* no device nodes or sockets on the host */
  if (parent->type != S_IFDIR)
    return -ENOTDIR;
  if (mknodat(parent->fd, r->name, type | (r->a.mknod.mode & 07777), 0) < 0)
    return -errno;
  return x_entry(fs, parent, r->name, r->a.mknod.mode & 07777, rp);
}

static int x_rename(struct vmk_fs *fs, const struct req *r,
                    struct inode *parent) {
  /* fuse_rename_in is fuse_rename2_in's first field; flags stay 0. */
  uint64_t newdir = r->a.rename.newdir;
  uint32_t flags = r->a.rename.flags;
  if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
    return -EINVAL;
  struct inode *np = inode_get(fs, newdir);
  if (!np)
    return bad_inode(fs, newdir);
  if (parent->type != S_IFDIR || np->type != S_IFDIR)
    return -ENOTDIR;
  if (renameat2(parent->fd, r->name, np->fd, r->name2, flags) < 0)
    return -errno;
  return 0;
}

static int x_fsync(struct vmk_fs *fs, const struct req *r, bool dir) {
  struct handle *h = handle_get(fs, r->a.fsync.fh, dir);
  if (!h)
    return bad_handle(fs, r->a.fsync.fh, dir);
  int res = r->a.fsync.fsync_flags & 1 ? fdatasync(h->fd) : fsync(h->fd);
  return res < 0 ? -errno : 0;
}

static int x_access(struct vmk_fs *fs, const struct req *r, struct inode *in) {
  uint32_t mask = r->a.access.mask;
  if (mask & ~(uint32_t)(R_OK | W_OK | X_OK))
    return -EINVAL;
  if (fs->ro && (mask & W_OK))
    return -EROFS;
  if (in->type == S_IFLNK)
    return 0;
  char num[16];
  snprintf(num, sizeof(num), "%d", in->fd);
  return faccessat(fs->proc_fd, num, (int)mask, 0) < 0 ? -errno : 0;
}

/* Runs a parsed request; returns 0 (reply body in rp) or a negative errno
 * to send instead. */
static int execute(struct vmk_fs *fs, const struct req *r, struct reply *rp) {
  uint32_t op = r->h.opcode;
  if (op == FUSE_INIT)
    return x_init(fs, r, rp);
  if (!fs->initialized)
    return -EIO;
  switch (op) {
  case FUSE_FORGET:
    inode_forget(fs, r->h.nodeid, r->a.forget.nlookup);
    return 0;
  case FUSE_BATCH_FORGET:
    for (uint32_t i = 0; i < r->a.bforget.count; i++) {
      struct fuse_forget_one f;
      memcpy(&f, r->data + i * sizeof(f), sizeof(f));
      inode_forget(fs, f.nodeid, f.nlookup);
    }
    return 0;
  case FUSE_INTERRUPT:
    return 0;
  case FUSE_DESTROY:
    vmk_fs_reset(fs);
    fs->initialized = false;
    return 0;
  /* Needs no inode: a handle whose node went stale is let go too. */
  case FUSE_RELEASE:
  case FUSE_RELEASEDIR: {
    uint64_t fh = r->a.release.fh;
    bool dir = op == FUSE_RELEASEDIR;
    struct handle *h = handle_get(fs, fh, dir);
    if (!h && bad_handle(fs, fh, dir) == -ESTALE)
      h = &fs->handles[fh]; /* a stale handle is let go as any other */
    if (!h)
      return -EBADF;
    handle_close(fs, h);
    return 0;
  }
  }
  if (fs->ro && op_of(op)->mutates)
    return -EROFS;
  /* Everything else acts on the header's inode. */
  struct inode *in = inode_get(fs, r->h.nodeid);
  if (!in)
    return bad_inode(fs, r->h.nodeid);
  switch (op) {
  case FUSE_LOOKUP:
    return x_entry(fs, in, r->name, -1, rp);
  case FUSE_GETATTR:
    return x_attr(in, rp);
  case FUSE_SETATTR:
    return x_setattr(fs, r, in, rp);
  case FUSE_READLINK:
    return x_readlink(in, rp);
  case FUSE_SYMLINK:
    if (in->type != S_IFDIR)
      return -ENOTDIR;
    if (symlinkat(r->name2, in->fd, r->name) < 0)
      return -errno;
    return x_entry(fs, in, r->name, -1, rp);
  case FUSE_MKNOD:
    return x_mknod(fs, r, in, rp);
  case FUSE_MKDIR:
    if (in->type != S_IFDIR)
      return -ENOTDIR;
    if (mkdirat(in->fd, r->name, r->a.mkdir.mode & 07777) < 0)
      return -errno;
    return x_entry(fs, in, r->name, r->a.mkdir.mode & 07777, rp);
  case FUSE_UNLINK:
  case FUSE_RMDIR:
    if (in->type != S_IFDIR)
      return -ENOTDIR;
    if (unlinkat(in->fd, r->name, op == FUSE_RMDIR ? AT_REMOVEDIR : 0) < 0)
      return -errno;
    return 0;
  case FUSE_RENAME:
  case FUSE_RENAME2:
    return x_rename(fs, r, in);
  case FUSE_LINK:
    return x_link(fs, r, in, rp);
  case FUSE_OPEN:
    return x_open(fs, r, in, false, rp);
  case FUSE_OPENDIR:
    return x_open(fs, r, in, true, rp);
  case FUSE_CREATE:
    return x_create(fs, r, in, rp);
  case FUSE_READ:
    return x_read(fs, r, rp);
  case FUSE_WRITE:
    return x_write(fs, r, rp);
  case FUSE_READDIR:
  case FUSE_READDIRPLUS:
    return x_readdir(fs, r, in, op == FUSE_READDIRPLUS, rp);
  case FUSE_FLUSH: {
    struct handle *h = handle_get(fs, r->a.flush.fh, false);
    if (!h)
      return bad_handle(fs, r->a.flush.fh, false);
    /* Closing a duplicate gives the host file system its close-time
     * write-back (NFS) without losing the handle. */
    int d = dup(h->fd);
    if (d < 0)
      return -errno;
    return close(d) < 0 ? -errno : 0;
  }
  case FUSE_FSYNC:
  case FUSE_FSYNCDIR:
    return x_fsync(fs, r, op == FUSE_FSYNCDIR);
  case FUSE_STATFS:
    return x_statfs(in, rp);
  case FUSE_ACCESS:
    return x_access(fs, r, in);
  }
  return -ENOSYS;
}

ssize_t vmk_fs_serve(struct vmk_fs *fs, const uint8_t *in, size_t in_len,
                     uint8_t *out, size_t out_cap) {
  struct fuse_in_header h;
  if (in_len < sizeof(h))
    return -EINVAL;
  memcpy(&h, in, sizeof(h));
  struct req r;
  int err = parse_request(in, in_len, &r);
  const struct op *op = op_of(h.opcode);
  if (op && op->no_reply) {
    if (!err)
      execute(fs, &r, &(struct reply){0});
    return 0;
  }
  struct fuse_out_header oh = {.unique = h.unique};
  if (out_cap < sizeof(oh))
    return -EINVAL;
  struct reply rp = {.body = out + sizeof(oh), .cap = out_cap - sizeof(oh)};
  if (!err)
    err = execute(fs, &r, &rp);
  if (err) {
    oh.error = err;
    rp.len = 0;
  }
  oh.len = (uint32_t)(sizeof(oh) + rp.len);
  memcpy(out, &oh, sizeof(oh));
  return (ssize_t)oh.len;
}

/* ---- lifetime --------------------------------------------------------- */

void vmk_fs_reset(struct vmk_fs *fs) {
  for (uint32_t i = 1; i < fs->max_inodes; i++)
    if (fs->inodes[i].fd >= 0 || fs->inodes[i].stale)
      inode_drop(fs, &fs->inodes[i]);
  for (uint32_t i = 0; i < fs->max_handles; i++)
    if (fs->handles[i].fd >= 0 || fs->handles[i].stale)
      handle_close(fs, &fs->handles[i]);
  fs->inodes[0].nlookup = 1;
  fs->initialized = false;
}

void vmk_fs_close(struct vmk_fs *fs) {
  if (!fs)
    return;
  if (fs->inodes) {
    vmk_fs_reset(fs);
    if (fs->inodes[0].fd >= 0)
      close(fs->inodes[0].fd);
  }
  if (fs->proc_fd >= 0)
    close(fs->proc_fd);
  free(fs->inodes);
  free(fs->free_inodes);
  free(fs->hash);
  free(fs->handles);
  free(fs->dents);
  free(fs);
}

int vmk_fs_open(const char *root, bool read_only,
                const struct vmk_fs_limits *limits, struct vmk_fs **out,
                vmk_error *err) {
  *out = NULL;
  struct vmk_fs_limits lim = {VMK_FS_DEFAULT_MAX_INODES,
                              VMK_FS_DEFAULT_MAX_HANDLES};
  if (limits)
    lim = *limits;
  if (lim.max_inodes < 2 || lim.max_handles < 1)
    return vmk_err(err, -EINVAL, "a share needs room for 2 inodes and 1 file");
  struct vmk_fs *fs = calloc(1, sizeof(*fs));
  if (!fs)
    return vmk_err(err, -ENOMEM, "out of memory opening share '%s'", root);
  fs->ro = read_only;
  fs->proc_fd = -1;
  fs->max_inodes = lim.max_inodes;
  fs->max_handles = lim.max_handles;
  fs->hash_size = lim.max_inodes;
  fs->inodes = calloc(lim.max_inodes, sizeof(*fs->inodes));
  fs->free_inodes = calloc(lim.max_inodes, sizeof(*fs->free_inodes));
  fs->hash = malloc(fs->hash_size * sizeof(*fs->hash));
  fs->handles = calloc(lim.max_handles, sizeof(*fs->handles));
  fs->dents = malloc(DENTS_BUF);
  if (!fs->inodes || !fs->free_inodes || !fs->hash || !fs->handles ||
      !fs->dents) {
    vmk_fs_close(fs);
    return vmk_err(err, -ENOMEM, "out of memory opening share '%s'", root);
  }
  for (uint32_t i = 0; i < lim.max_inodes; i++) {
    fs->inodes[i].fd = -1;
    fs->hash[i] = NO_INODE;
  }
  for (uint32_t i = lim.max_inodes; i-- > 1;)
    fs->free_inodes[fs->nfree_inodes++] = i;
  for (uint32_t i = 0; i < lim.max_handles; i++)
    fs->handles[i].fd = -1;

  int r;
  fs->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fs->proc_fd < 0) {
    r = vmk_err(err, -errno,
                "cannot open /proc/self/fd (%s); shares need /proc mounted",
                strerror(errno));
    goto fail;
  }
  int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    r = vmk_err(err, -errno, "cannot share '%s': %s", root, strerror(errno));
    goto fail;
  }
  struct stat st;
  if ((r = stat_fd(fd, &st)) < 0) {
    close(fd);
    r = vmk_err(err, r, "cannot share '%s': %s", root, strerror(-r));
    goto fail;
  }
  /* Probe openat2 (Linux 5.6) once, so a guest never meets ENOSYS. */
  int probe = open_beneath(fd, "probe-name-that-does-not-matter", O_PATH, 0);
  if (probe == -ENOSYS) {
    close(fd);
    r = vmk_err(err, -ENOSYS,
                "shares need openat2() (Linux 5.6 or later) on the host");
    goto fail;
  }
  if (probe >= 0)
    close(probe);
  fs->inodes[0] = (struct inode){.fd = fd,
                                 .dev = st.st_dev,
                                 .ino = st.st_ino,
                                 .type = S_IFDIR,
                                 .nlookup = 1,
                                 .hnext = NO_INODE};
  fs->hash[hash_of(fs, st.st_dev, st.st_ino)] = 0;
  fs->ninodes = 1;
  *out = fs;
  return 0;
fail:
  vmk_fs_close(fs);
  return r;
}

uint32_t vmk_fs_inode_count(const struct vmk_fs *fs) { return fs->ninodes; }
uint32_t vmk_fs_handle_count(const struct vmk_fs *fs) { return fs->nhandles; }

/* ---- snapshots -------------------------------------------------------- */

/* A node is saved as what finds its file again: the path beneath the
 * share's root (as the kernel names the O_PATH fd now, so renames since the
 * lookup are followed), and what tells the same file from a replacement:
 * its type, inode number, whether it lives on the root's file system, and
 * its file handle (name_to_handle_at: the inode and its generation, so a
 * number reused by a new file is told apart) where the file system has
 * one. A file that was deleted, moved out of the share or whose path does
 * not fit PATH_MAX is saved with no path and comes back stale. */
#define FS_SNAP_VERSION 1
#define SNAP_HANDLE_MAX 128 /* MAX_HANDLE_SZ */

union snap_fh {
  struct file_handle h;
  unsigned char room[sizeof(struct file_handle) + SNAP_HANDLE_MAX];
};

static bool fd_handle(int fd, union snap_fh *f) {
  int mnt;
  f->h.handle_bytes = SNAP_HANDLE_MAX;
  return name_to_handle_at(fd, "", &f->h, &mnt, AT_EMPTY_PATH) == 0 &&
         f->h.handle_bytes <= SNAP_HANDLE_MAX;
}

/* The fd's path, as the kernel names it now; false when there is none. */
static bool fd_path(const struct vmk_fs *fs, int fd, char *buf, size_t cap) {
  char num[16];
  snprintf(num, sizeof(num), "%d", fd);
  ssize_t n = readlinkat(fs->proc_fd, num, buf, cap - 1);
  if (n <= 0 || (size_t)n >= cap - 1)
    return false;
  buf[n] = 0;
  return buf[0] == '/';
}

/* The path of fd relative to the root whose path is root (no leading
 * slash), or NULL when the file is deleted or outside the share. */
static const char *rel_path(const struct vmk_fs *fs, int fd, const char *root,
                            char *buf, size_t cap) {
  struct stat st;
  if (stat_fd(fd, &st) < 0 || st.st_nlink == 0 || !fd_path(fs, fd, buf, cap))
    return NULL;
  size_t rl = strlen(root);
  if (rl == 1) /* the root is / */
    rl = 0;
  if (strncmp(buf, root, rl) || buf[rl] != '/' || !buf[rl + 1])
    return NULL;
  return buf + rl + 1;
}

void vmk_fs_save(const struct vmk_fs *fs, struct vmk_sbuf *out) {
  char root[PATH_MAX], path[PATH_MAX];
  bool have_root = fd_path(fs, fs->inodes[0].fd, root, sizeof(root));
  vmk_sbuf_u32(out, FS_SNAP_VERSION);
  vmk_sbuf_u8(out, fs->initialized);
  vmk_sbuf_u32(out, fs->minor);
  vmk_sbuf_u32(out, fs->ninodes - 1);
  for (uint32_t i = 1; i < fs->max_inodes; i++) {
    const struct inode *in = &fs->inodes[i];
    if (in->fd < 0 && !in->stale)
      continue;
    union snap_fh fh;
    bool have_fh = !in->stale && fd_handle(in->fd, &fh);
    const char *rel = in->stale || !have_root
                          ? NULL
                          : rel_path(fs, in->fd, root, path, sizeof(path));
    vmk_sbuf_u32(out, i + 1);
    vmk_sbuf_u64(out, in->nlookup);
    vmk_sbuf_u32(out, (uint32_t)in->type);
    vmk_sbuf_u64(out, (uint64_t)in->ino);
    vmk_sbuf_u8(out, in->dev == fs->inodes[0].dev);
    vmk_sbuf_str(out, rel);
    vmk_sbuf_u32(out, have_fh ? (uint32_t)fh.h.handle_type : 0);
    vmk_sbuf_u32(out, have_fh ? fh.h.handle_bytes : 0);
    if (have_fh)
      vmk_sbuf_bytes(out, fh.h.f_handle, fh.h.handle_bytes);
  }
  vmk_sbuf_u32(out, fs->nhandles);
  for (uint32_t i = 0; i < fs->max_handles; i++) {
    const struct handle *h = &fs->handles[i];
    if (h->fd < 0 && !h->stale)
      continue;
    /* The node it was opened on, if that still names the handle's file
     * (a guest that FORGOT it early loses the handle at a restore). */
    uint32_t node = 0;
    const struct inode *in = &fs->inodes[h->node];
    struct stat st;
    if (!h->stale && in->fd >= 0 && stat_fd(h->fd, &st) == 0 &&
        st.st_dev == in->dev && st.st_ino == in->ino)
      node = h->node + 1;
    int flags = h->stale ? 0 : fcntl(h->fd, F_GETFL);
    off_t pos = h->stale || !h->dir ? 0 : lseek(h->fd, 0, SEEK_CUR);
    vmk_sbuf_u32(out, i);
    vmk_sbuf_u8(out, h->dir);
    vmk_sbuf_u32(out, node);
    vmk_sbuf_u32(out, flags < 0 ? 0 : (uint32_t)flags & OPEN_FLAGS);
    vmk_sbuf_u64(out, pos < 0 ? 0 : (uint64_t)pos);
  }
}

struct snap_node {
  uint32_t id;
  uint64_t nlookup;
  uint32_t type;
  uint64_t ino;
  bool root_dev;
  char *path;
  uint32_t fh_type, fh_len;
  unsigned char fh[SNAP_HANDLE_MAX];
};

struct snap_handle {
  uint32_t fh, node, flags;
  bool dir;
  uint64_t pos;
};

/* A saved path: components as a guest's names must be (no "." or "..",
 * no empty one), so it can only lead beneath the root. */
static bool valid_rel_path(const char *p) {
  if (!*p || strlen(p) >= PATH_MAX)
    return false;
  for (const char *s = p;;) {
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    char name[NAME_MAX + 1];
    if (n == 0 || n > NAME_MAX)
      return false;
    memcpy(name, s, n);
    name[n] = 0;
    if (!valid_name(name, n))
      return false;
    if (!e)
      return true;
    s = e + 1;
  }
}

static bool valid_type(uint32_t t) {
  return t == S_IFREG || t == S_IFDIR || t == S_IFLNK || t == S_IFIFO ||
         t == S_IFSOCK || t == S_IFCHR || t == S_IFBLK;
}

/* Finds the saved node's file again beneath the root; -1 when it is gone
 * or is not the same file (it becomes stale). Never leaves the share: the
 * path is resolved with RESOLVE_BENEATH and no symlinks. */
static int snap_reopen(struct vmk_fs *fs, const struct snap_node *n,
                       struct stat *st) {
  if (!n->path)
    return -1;
  int fd = open_beneath(fs->inodes[0].fd, n->path, O_PATH, 0);
  if (fd < 0)
    return -1;
  union snap_fh fh;
  bool same = stat_fd(fd, st) == 0 && (st->st_mode & S_IFMT) == n->type &&
              (uint64_t)st->st_ino == n->ino &&
              (st->st_dev == fs->inodes[0].dev) == n->root_dev &&
              !inode_find(fs, st->st_dev, st->st_ino);
  if (same && n->fh_len && fd_handle(fd, &fh))
    same = (uint32_t)fh.h.handle_type == n->fh_type &&
           fh.h.handle_bytes == n->fh_len &&
           !memcmp(fh.h.f_handle, n->fh, n->fh_len);
  if (!same) {
    close(fd);
    return -1;
  }
  return fd;
}

static void snap_free(struct snap_node *nodes, uint32_t n,
                      struct snap_handle *hs) {
  for (uint32_t i = 0; nodes && i < n; i++)
    free(nodes[i].path);
  free(nodes);
  free(hs);
}

int vmk_fs_load(struct vmk_fs *fs, struct vmk_sreader *in, vmk_error *err) {
  vmk_fs_reset(fs);
  uint32_t version = vmk_sr_u32(in);
  if (in->bad || version != FS_SNAP_VERSION)
    return vmk_err(err, -EINVAL,
                   "the snapshot's shared-folder state has version %u; this "
                   "vmkit reads version %u",
                   version, FS_SNAP_VERSION);
  bool initialized = vmk_sr_bool(in);
  uint32_t minor = vmk_sr_u32(in);
  uint32_t nn = vmk_sr_u32(in);
  const char *why = NULL;
  struct snap_node *nodes = NULL;
  struct snap_handle *hs = NULL;
  uint32_t got = 0, nh = 0;
  if (in->bad)
    why = "truncated";
  else if (initialized &&
           (minor < MIN_MINOR || minor > FUSE_KERNEL_MINOR_VERSION))
    why = "a FUSE protocol version vmkit does not speak";
  else if (nn > fs->max_inodes - 1 || (!initialized && nn))
    why = "more nodes than a share holds";
  else if (!(nodes = calloc(nn ? nn : 1, sizeof(*nodes))))
    return vmk_err(err, -ENOMEM, "out of memory restoring a shared folder");
  for (; !why && got < nn; got++) {
    struct snap_node *n = &nodes[got];
    bool ok;
    n->id = vmk_sr_u32(in);
    n->nlookup = vmk_sr_u64(in);
    n->type = vmk_sr_u32(in);
    n->ino = vmk_sr_u64(in);
    n->root_dev = vmk_sr_bool(in);
    n->path = vmk_sr_str(in, PATH_MAX - 1, &ok);
    n->fh_type = vmk_sr_u32(in);
    n->fh_len = vmk_sr_u32(in);
    if (in->bad || !ok)
      why = "truncated";
    else if (n->id < 2 || n->id > fs->max_inodes ||
             (got && n->id <= nodes[got - 1].id))
      why = "a node id out of range or twice";
    else if (n->nlookup == 0)
      why = "a node nobody holds";
    else if (!valid_type(n->type))
      why = "a node of no file type";
    else if (n->path && !valid_rel_path(n->path))
      why = "a path that does not stay beneath the share";
    else if (n->fh_len > SNAP_HANDLE_MAX || !vmk_sr_bytes(in, n->fh, n->fh_len))
      why = "a malformed file handle";
  }
  if (!why) {
    nh = vmk_sr_u32(in);
    if (in->bad)
      why = "truncated";
    else if (nh > fs->max_handles || (!initialized && nh))
      why = "more open files than a share holds";
    else if (!(hs = calloc(nh ? nh : 1, sizeof(*hs)))) {
      snap_free(nodes, got, hs);
      return vmk_err(err, -ENOMEM, "out of memory restoring a shared folder");
    }
  }
  for (uint32_t i = 0; !why && i < nh; i++) {
    struct snap_handle *h = &hs[i];
    h->fh = vmk_sr_u32(in);
    h->dir = vmk_sr_bool(in);
    h->node = vmk_sr_u32(in);
    h->flags = vmk_sr_u32(in);
    h->pos = vmk_sr_u64(in);
    const struct snap_node *n = NULL;
    for (uint32_t k = 0; h->node && k < nn; k++)
      if (nodes[k].id == h->node)
        n = &nodes[k];
    if (in->bad)
      why = "truncated";
    else if (h->fh >= fs->max_handles || (i && h->fh <= hs[i - 1].fh))
      why = "an open file number out of range or twice";
    else if (h->node && !n && h->node != FUSE_ROOT_ID)
      why = "an open file of no node";
    else if (n && n->type != (h->dir ? S_IFDIR : S_IFREG))
      why = "an open file of the wrong type";
    else if (h->node == FUSE_ROOT_ID && !h->dir)
      why = "the root opened as a file";
    else if ((h->flags & ~(uint32_t)OPEN_FLAGS) ||
             (h->flags & O_ACCMODE) == O_ACCMODE ||
             (h->dir && h->flags != O_RDONLY) ||
             check_open_flags(fs, h->flags) < 0)
      why = "an open file with flags it cannot have";
    else if (h->pos > (uint64_t)INT64_MAX || (!h->dir && h->pos))
      why = "a directory position out of range";
  }
  if (!why && in->off != in->len)
    why = "followed by stray bytes";
  if (why) {
    snap_free(nodes, got, hs);
    return vmk_err(err, -EINVAL,
                   "the snapshot's shared-folder state is malformed (%s); "
                   "take the snapshot again",
                   why);
  }

  /* Checked: now find every file again. The free list is rebuilt from the
   * slots left over, highest first, as at open. */
  for (uint32_t i = 0; i < nn; i++) {
    const struct snap_node *n = &nodes[i];
    struct inode *ino = &fs->inodes[n->id - 1];
    struct stat st;
    int fd = snap_reopen(fs, n, &st);
    if (fd >= 0) {
      uint32_t b = hash_of(fs, st.st_dev, st.st_ino);
      *ino = (struct inode){.fd = fd,
                            .dev = st.st_dev,
                            .ino = st.st_ino,
                            .type = st.st_mode & S_IFMT,
                            .hnext = fs->hash[b]};
      fs->hash[b] = n->id - 1;
    } else {
      *ino = (struct inode){.fd = -1, .stale = true, .type = n->type};
    }
    ino->nlookup = n->nlookup;
    fs->ninodes++;
  }
  fs->nfree_inodes = 0;
  for (uint32_t i = fs->max_inodes; i-- > 1;)
    if (fs->inodes[i].fd < 0 && !fs->inodes[i].stale)
      fs->free_inodes[fs->nfree_inodes++] = i;
  for (uint32_t i = 0; i < nh; i++) {
    const struct snap_handle *h = &hs[i];
    struct handle *d = &fs->handles[h->fh];
    const struct inode *ino = h->node ? &fs->inodes[h->node - 1] : NULL;
    int fd = -1;
    if (ino && ino->fd >= 0) {
      int flags = (int)h->flags | (h->dir ? O_DIRECTORY : 0);
      fd = fs->ro ? reopen(fs, ino, flags | O_NOATIME) : -EPERM;
      if (fd == -EPERM)
        fd = reopen(fs, ino, flags);
      if (fd >= 0 && h->dir && lseek(fd, (off_t)h->pos, SEEK_SET) < 0) {
        close(fd);
        fd = -1;
      }
    }
    *d = (struct handle){.fd = fd < 0 ? -1 : fd,
                         .stale = fd < 0,
                         .dir = h->dir,
                         .node = h->node ? h->node - 1 : 0};
    fs->nhandles++;
  }
  fs->initialized = initialized;
  fs->minor = initialized ? minor : 0;
  snap_free(nodes, nn, hs);
  return 0;
}

uint32_t vmk_fs_stale_count(const struct vmk_fs *fs) {
  uint32_t n = 0;
  for (uint32_t i = 1; i < fs->max_inodes; i++)
    n += fs->inodes[i].stale;
  for (uint32_t i = 0; i < fs->max_handles; i++)
    n += fs->handles[i].stale;
  return n;
}
