/* syscall.c — Linux arm64 system calls of the user-mode runner, performed
 * with the host's (x86-64 or arm64) Linux system calls. Most calls pass
 * through after their pointer arguments were checked against the guest's
 * page permissions and turned into host pointers (table `pass`); the rest
 * translate layouts or flags that differ between arm64 and the host
 * (struct stat, open flags), or are emulated (memory map, signals, clone
 * as fork, execve loading the new image into this same process).
 *
 * Arm64 syscall numbers come from the kernel's asm-generic/unistd.h.
 * Signals: dispositions are mirrored on the host (SIG_IGN/SIG_DFL pass to
 * children); caught signals are delivered to the guest's handlers by
 * signal.c between blocks.
 *
 * Single-threaded (the runner's thread).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "emu/user/user.h"

/* arm64 (asm-generic) syscall numbers used by name below */
enum {
  A_getcwd = 17,
  A_dup = 23,
  A_dup3 = 24,
  A_fcntl = 25,
  A_ioctl = 29,
  A_openat = 56,
  A_close = 57,
  A_pipe2 = 59,
  A_readv = 65,
  A_writev = 66,
  A_pselect6 = 72,
  A_ppoll = 73,
  A_readlinkat = 78,
  A_newfstatat = 79,
  A_fstat = 80,
  A_exit = 93,
  A_exit_group = 94,
  A_set_tid_address = 96,
  A_futex = 98,
  A_set_robust_list = 99,
  A_kill = 129,
  A_tkill = 130,
  A_tgkill = 131,
  A_sigaltstack = 132,
  A_rt_sigaction = 134,
  A_rt_sigprocmask = 135,
  A_getgroups = 158,
  A_setgroups = 159,
  A_uname = 160,
  A_prctl = 167,
  A_brk = 214,
  A_munmap = 215,
  A_mremap = 216,
  A_clone = 220,
  A_clone3 = 435,
  A_execve = 221,
  A_mmap = 222,
  A_mprotect = 226,
  A_msync = 227,
  A_madvise = 233,
  A_rt_sigreturn = 139,
  A_preadv = 69,
  A_pwritev = 70,
};

/* arm64 open flags that differ from x86-64's */
#define A64_O_DIRECTORY 040000
#define A64_O_NOFOLLOW 0100000
#define A64_O_DIRECT 0200000
#define A64_O_LARGEFILE 0400000

static int open_flags_to_host(uint64_t f) {
  int h = (int)(f & ~(uint64_t)(A64_O_DIRECTORY | A64_O_NOFOLLOW |
                                A64_O_DIRECT | A64_O_LARGEFILE));
  if (f & A64_O_DIRECTORY)
    h |= O_DIRECTORY;
  if (f & A64_O_NOFOLLOW)
    h |= O_NOFOLLOW;
  if (f & A64_O_DIRECT)
    h |= O_DIRECT;
  return h;
}
static uint64_t open_flags_to_guest(int h) {
  uint64_t f = (uint64_t)h &
               ~(uint64_t)(O_DIRECTORY | O_NOFOLLOW | O_DIRECT | O_LARGEFILE);
  if (h & O_DIRECTORY)
    f |= A64_O_DIRECTORY;
  if (h & O_NOFOLLOW)
    f |= A64_O_NOFOLLOW;
  if (h & O_DIRECT)
    f |= A64_O_DIRECT;
  return f;
}

/* struct stat as the arm64 kernel lays it out (asm-generic/stat.h) */
struct a64_stat {
  uint64_t st_dev, st_ino;
  uint32_t st_mode, st_nlink, st_uid, st_gid;
  uint64_t st_rdev, pad1;
  int64_t st_size;
  int32_t st_blksize, pad2;
  int64_t st_blocks;
  int64_t st_atime_, st_atime_nsec, st_mtime_, st_mtime_nsec, st_ctime_,
      st_ctime_nsec;
  uint32_t unused4, unused5;
};
_Static_assert(sizeof(struct a64_stat) == 128, "arm64 struct stat");

static void stat_to_guest(struct a64_stat *g, const struct stat *h) {
  memset(g, 0, sizeof *g);
  g->st_dev = h->st_dev;
  g->st_ino = h->st_ino;
  g->st_mode = h->st_mode;
  g->st_nlink = (uint32_t)h->st_nlink;
  g->st_uid = h->st_uid;
  g->st_gid = h->st_gid;
  g->st_rdev = h->st_rdev;
  g->st_size = h->st_size;
  g->st_blksize = (int32_t)h->st_blksize;
  g->st_blocks = h->st_blocks;
  g->st_atime_ = h->st_atim.tv_sec;
  g->st_atime_nsec = h->st_atim.tv_nsec;
  g->st_mtime_ = h->st_mtim.tv_sec;
  g->st_mtime_nsec = h->st_mtim.tv_nsec;
  g->st_ctime_ = h->st_ctim.tv_sec;
  g->st_ctime_nsec = h->st_ctim.tv_nsec;
}

/* ---- generic pass-through with checked pointers ---- */
enum { I = 0, S, SN, RB, WB, RF, WF };
struct arg {
  uint8_t kind;
  uint16_t n; /* RB/WB: index of the length argument; RF/WF: size */
};
struct pass {
  uint16_t nr;
  long host_nr;
  struct arg a[6];
};
#define _I                                                                     \
  { I, 0 }
#define _S                                                                     \
  { S, 0 }
#define _SN                                                                    \
  { SN, 0 } /* string or NULL */
#define _RB(i)                                                                 \
  { RB, i }
#define _WB(i)                                                                 \
  { WB, i }
#define _RF(sz)                                                                \
  { RF, sz }
#define _WF(sz)                                                                \
  { WF, sz }
static const struct pass pass[] = {
    {32, SYS_flock, {_I, _I}},
    {33, SYS_mknodat, {_I, _S, _I, _I}},
    {34, SYS_mkdirat, {_I, _S, _I}},
    {35, SYS_unlinkat, {_I, _S, _I}},
    {36, SYS_symlinkat, {_S, _I, _S}},
    {37, SYS_linkat, {_I, _S, _I, _S, _I}},
    {38, SYS_renameat, {_I, _S, _I, _S}},
    {43, SYS_statfs, {_S, _WF(120)}},
    {44, SYS_fstatfs, {_I, _WF(120)}},
    {45, SYS_truncate, {_S, _I}},
    {46, SYS_ftruncate, {_I, _I}},
    {47, SYS_fallocate, {_I, _I, _I, _I}},
    {48, SYS_faccessat, {_I, _S, _I}},
    {49, SYS_chdir, {_S}},
    {50, SYS_fchdir, {_I}},
    {52, SYS_fchmod, {_I, _I}},
    {53, SYS_fchmodat, {_I, _S, _I}},
    {54, SYS_fchownat, {_I, _S, _I, _I, _I}},
    {55, SYS_fchown, {_I, _I, _I}},
    {57, SYS_close, {_I}},
    {61, SYS_getdents64, {_I, _WB(2), _I}},
    {62, SYS_lseek, {_I, _I, _I}},
    {63, SYS_read, {_I, _WB(2), _I}},
    {64, SYS_write, {_I, _RB(2), _I}},
    {67, SYS_pread64, {_I, _WB(2), _I, _I}},
    {68, SYS_pwrite64, {_I, _RB(2), _I, _I}},
    {71, SYS_sendfile, {_I, _I, _WF(8), _I}},
    {81, SYS_sync, {}},
    {82, SYS_fsync, {_I}},
    {83, SYS_fdatasync, {_I}},
    {88, SYS_utimensat, {_I, _SN, _RF(32), _I}},
    {95, SYS_waitid, {_I, _I, _WF(128), _I, _WF(144)}},
    {101, SYS_nanosleep, {_RF(16), _WF(16)}},
    {102, SYS_getitimer, {_I, _WF(32)}},
    {103, SYS_setitimer, {_I, _RF(32), _WF(32)}},
    {113, SYS_clock_gettime, {_I, _WF(16)}},
    {114, SYS_clock_getres, {_I, _WF(16)}},
    {115, SYS_clock_nanosleep, {_I, _I, _RF(16), _WF(16)}},
    {123, SYS_sched_getaffinity, {_I, _I, _WB(1)}},
    {124, SYS_sched_yield, {}},
    {129, SYS_kill, {_I, _I}},
    {140, SYS_setpriority, {_I, _I, _I}},
    {141, SYS_getpriority, {_I, _I}},
    {143, SYS_setregid, {_I, _I}},
    {144, SYS_setgid, {_I}},
    {145, SYS_setreuid, {_I, _I}},
    {146, SYS_setuid, {_I}},
    {147, SYS_setresuid, {_I, _I, _I}},
    {148, SYS_getresuid, {_WF(4), _WF(4), _WF(4)}},
    {149, SYS_setresgid, {_I, _I, _I}},
    {150, SYS_getresgid, {_WF(4), _WF(4), _WF(4)}},
    {153, SYS_times, {_WF(32)}},
    {154, SYS_setpgid, {_I, _I}},
    {155, SYS_getpgid, {_I}},
    {156, SYS_getsid, {_I}},
    {157, SYS_setsid, {}},
    {163, SYS_getrlimit, {_I, _WF(16)}},
    {164, SYS_setrlimit, {_I, _RF(16)}},
    {165, SYS_getrusage, {_I, _WF(144)}},
    {166, SYS_umask, {_I}},
    {168, SYS_getcpu, {_WF(4), _WF(4), _I}},
    {169, SYS_gettimeofday, {_WF(16), _WF(8)}},
    {172, SYS_getpid, {}},
    {173, SYS_getppid, {}},
    {174, SYS_getuid, {}},
    {175, SYS_geteuid, {}},
    {176, SYS_getgid, {}},
    {177, SYS_getegid, {}},
    {178, SYS_gettid, {}},
    {179, SYS_sysinfo, {_WF(112)}},
    {260, SYS_wait4, {_I, _WF(4), _I, _WF(144)}},
    {261, SYS_prlimit64, {_I, _I, _RF(16), _WF(16)}},
    {276, SYS_renameat2, {_I, _S, _I, _S, _I}},
    {278, SYS_getrandom, {_WB(1), _I, _I}},
    {279, SYS_memfd_create, {_S, _I}},
    {285, SYS_copy_file_range, {_I, _WF(8), _I, _WF(8), _I, _I}},
    {291, SYS_statx, {_I, _S, _I, _I, _WF(256)}},
    {436, SYS_close_range, {_I, _I, _I}},
    {439, SYS_faccessat2, {_I, _S, _I, _I}},
    {19, SYS_eventfd2, {_I, _I}},
};

#define PATH_MAXLEN 4096

/* Guest pointer → host pointer; NULL stays NULL; bad → *bad = true. */
static void *gptr(struct urun *u, uint64_t va, uint64_t len, unsigned need,
                  bool *bad) {
  if (!va)
    return NULL;
  void *p = emu_us_ptr(&u->us, va, len, need);
  if (!p)
    *bad = true;
  return p;
}

/* Maps an absolute guest path that names this program's exe link to the
 * program (relative ones in the table's calls are left alone: their
 * directory fd is not known here). */
static const char *fix_path(struct urun *u, const char *p) {
  return p && p[0] == '/' ? emu_ur_fix_path(u, AT_FDCWD, p) : p;
}

static long do_pass(struct urun *u, const struct pass *d, const uint64_t *x) {
  long h[6];
  bool bad = false;
  for (int i = 0; i < 6; i++) {
    const struct arg *a = &d->a[i];
    switch (a->kind) {
    case I:
      h[i] = (long)x[i];
      break;
    case S:
    case SN:
      if (!x[i] && a->kind == SN) {
        h[i] = 0;
        break;
      }
      h[i] = (long)emu_us_str(&u->us, x[i], PATH_MAXLEN);
      if (!h[i])
        return -EFAULT;
      h[i] = (long)fix_path(u, (const char *)h[i]);
      break;
    case RB:
      h[i] = (long)gptr(u, x[i], x[a->n], US_R, &bad);
      break;
    case WB:
      h[i] = (long)gptr(u, x[i], x[a->n], US_W, &bad);
      break;
    case RF:
      h[i] = (long)gptr(u, x[i], a->n, US_R, &bad);
      break;
    case WF:
      h[i] = (long)gptr(u, x[i], a->n, US_W, &bad);
      break;
    }
  }
  if (bad)
    return -EFAULT;
  long r = syscall(d->host_nr, h[0], h[1], h[2], h[3], h[4], h[5]);
  return r < 0 ? -errno : r;
}

/* ---- special cases ---- */

static long sys_iov(struct urun *u, const uint64_t *x, bool write_to_guest,
                    bool positional) {
  uint64_t cnt = x[2];
  if (cnt > IOV_MAX)
    return -EINVAL;
  const uint64_t *g = emu_us_ptr(&u->us, x[1], cnt * 16, US_R);
  if (!g && cnt)
    return -EFAULT;
  struct iovec iov[cnt ? cnt : 1];
  for (uint64_t i = 0; i < cnt; i++) {
    iov[i].iov_len = g[2 * i + 1];
    iov[i].iov_base = iov[i].iov_len
                          ? emu_us_ptr(&u->us, g[2 * i], iov[i].iov_len,
                                       write_to_guest ? US_W : US_R)
                          : NULL;
    if (iov[i].iov_len && !iov[i].iov_base)
      return -EFAULT;
  }
  long r;
  if (positional)
    r = write_to_guest ? preadv((int)x[0], iov, (int)cnt, (off_t)x[3])
                       : pwritev((int)x[0], iov, (int)cnt, (off_t)x[3]);
  else
    r = write_to_guest ? readv((int)x[0], iov, (int)cnt)
                       : writev((int)x[0], iov, (int)cnt);
  return r < 0 ? -errno : r;
}

static long sys_ioctl(struct urun *u, const uint64_t *x) {
  unsigned long req = (unsigned long)x[1];
  size_t sz;
  unsigned need;
  switch (req) {
  case TCGETS:
    sz = 36;
    need = US_W;
    break; /* kernel struct termios */
  case TCSETS:
  case TCSETSW:
  case TCSETSF:
    sz = 36;
    need = US_R;
    break;
  case TIOCGWINSZ:
    sz = 8;
    need = US_W;
    break;
  case TIOCSWINSZ:
    sz = 8;
    need = US_R;
    break;
  case TIOCGPGRP:
  case FIONREAD:
    sz = 4;
    need = US_W;
    break;
  case TIOCSPGRP:
  case FIONBIO:
    sz = 4;
    need = US_R;
    break;
  case FIOCLEX:
  case FIONCLEX:
    sz = 0;
    need = 0;
    break;
  default:
    return -ENOTTY;
  }
  void *p = NULL;
  if (sz) {
    p = emu_us_ptr(&u->us, x[2], sz, need);
    if (!p)
      return -EFAULT;
  }
  long r = syscall(SYS_ioctl, (int)x[0], req, p);
  return r < 0 ? -errno : r;
}

static long sys_fcntl(struct urun *u, const uint64_t *x) {
  int fd = (int)x[0], cmd = (int)x[1];
  long r;
  switch (cmd) {
  case F_DUPFD:
  case F_DUPFD_CLOEXEC:
  case F_GETFD:
  case F_SETFD:
    r = fcntl(fd, cmd, (int)x[2]);
    break;
  case F_GETFL:
    r = fcntl(fd, cmd);
    if (r >= 0)
      r = (long)open_flags_to_guest((int)r);
    break;
  case F_SETFL:
    r = fcntl(fd, cmd, open_flags_to_host(x[2]));
    break;
  case F_GETLK:
  case F_SETLK:
  case F_SETLKW: {
    void *p = emu_us_ptr(&u->us, x[2], 32, cmd == F_GETLK ? US_W : US_R);
    if (!p)
      return -EFAULT;
    r = fcntl(fd, cmd, p); /* struct flock: same layout on arm64 */
    break;
  }
  default:
    return -EINVAL;
  }
  return r < 0 ? -errno : r;
}

static long sys_stat(struct urun *u, int dirfd, uint64_t path, uint64_t buf,
                     int flags, bool is_fstat) {
  struct stat st;
  struct a64_stat *g = emu_us_ptr(&u->us, buf, sizeof *g, US_W);
  if (!g)
    return -EFAULT;
  int r;
  if (is_fstat) {
    r = fstat(dirfd, &st);
  } else {
    const char *p = emu_us_str(&u->us, path, PATH_MAXLEN);
    if (!p)
      return -EFAULT;
    if (!(flags & AT_SYMLINK_NOFOLLOW))
      p = emu_ur_fix_path(u, dirfd, p);
    r = fstatat(dirfd, p, &st, flags);
  }
  if (r < 0)
    return -errno;
  stat_to_guest(g, &st);
  return 0;
}

static long sys_rt_sigaction(struct urun *u, const uint64_t *x) {
  int sig = (int)x[0];
  if (sig <= 0 || sig >= UR_NSIG || x[3] != 8)
    return -EINVAL;
  uint64_t *old = x[2] ? emu_us_ptr(&u->us, x[2], 32, US_W) : NULL;
  const uint64_t *act = x[1] ? emu_us_ptr(&u->us, x[1], 32, US_R) : NULL;
  if ((x[2] && !old) || (x[1] && !act))
    return -EFAULT;
  if (act && (sig == SIGKILL || sig == SIGSTOP))
    return -EINVAL;
  uint64_t prev[4];
  memcpy(prev, u->sigact[sig], sizeof prev);
  if (act) {
    memcpy(u->sigact[sig], act, sizeof prev);
    emu_ur_sig_apply(u, sig);
  }
  if (old)
    memcpy(old, prev, sizeof prev);
  return 0;
}

static long sys_rt_sigprocmask(struct urun *u, const uint64_t *x) {
  uint64_t *old = x[2] ? emu_us_ptr(&u->us, x[2], 8, US_W) : NULL;
  const uint64_t *set = x[1] ? emu_us_ptr(&u->us, x[1], 8, US_R) : NULL;
  if ((x[2] && !old) || (x[1] && !set))
    return -EFAULT;
  uint64_t prev = u->sigmask;
  if (set) {
    switch (x[0]) {
    case SIG_BLOCK:
      u->sigmask |= *set;
      break;
    case SIG_UNBLOCK:
      u->sigmask &= ~*set;
      break;
    case SIG_SETMASK:
      u->sigmask = *set;
      break;
    default:
      return -EINVAL;
    }
  }
  if (old)
    *old = prev;
  return 0;
}

static long sys_ppoll(struct urun *u, const uint64_t *x) {
  if (x[1] > 4096)
    return -EINVAL;
  bool bad = false;
  void *fds = gptr(u, x[0], x[1] * 8, US_W, &bad);
  void *tmo = gptr(u, x[2], 16, US_R, &bad);
  if (bad)
    return -EFAULT;
  long r = syscall(SYS_ppoll, fds, x[1], tmo, NULL, 8);
  return r < 0 ? -errno : r;
}

static long sys_pselect6(struct urun *u, const uint64_t *x) {
  bool bad = false;
  if (x[0] > 1024)
    return -EINVAL;
  size_t sz = (x[0] + 63) / 64 * 8;
  void *r = gptr(u, x[1], sz, US_W, &bad), *w = gptr(u, x[2], sz, US_W, &bad);
  void *e = gptr(u, x[3], sz, US_W, &bad), *t = gptr(u, x[4], 16, US_W, &bad);
  if (bad)
    return -EFAULT;
  long ret = syscall(SYS_pselect6, x[0], r, w, e, t, NULL);
  return ret < 0 ? -errno : ret;
}

static long sys_futex(struct urun *u, const uint64_t *x) {
  int op = (int)x[1] & FUTEX_CMD_MASK;
  void *addr = emu_us_ptr(&u->us, x[0], 4, US_R);
  if (!addr)
    return -EFAULT;
  long r;
  switch (op) {
  case FUTEX_WAIT:
  case FUTEX_WAIT_BITSET: {
    bool bad = false;
    void *t = gptr(u, x[3], 16, US_R, &bad);
    if (bad)
      return -EFAULT;
    r = syscall(SYS_futex, addr, (int)x[1], (uint32_t)x[2], t, NULL,
                (uint32_t)x[5]);
    break;
  }
  case FUTEX_WAKE:
  case FUTEX_WAKE_BITSET:
    r = syscall(SYS_futex, addr, (int)x[1], (uint32_t)x[2], NULL, NULL,
                (uint32_t)x[5]);
    break;
  default:
    return -ENOSYS;
  }
  return r < 0 ? -errno : r;
}

static long sys_readlinkat(struct urun *u, const uint64_t *x) {
  const char *p = emu_us_str(&u->us, x[1], PATH_MAXLEN);
  char *buf = emu_us_ptr(&u->us, x[2], x[3], US_W);
  if (!p || (!buf && x[3]))
    return -EFAULT;
  return emu_ur_readlink(u, (int)x[0], p, buf, x[3]);
}

/* A program whose pthread_create fails may go on without its threads and
 * misbehave quietly: say why, once per process. */
static void warn_threads(struct urun *u) {
  if (u->thread_warned)
    return;
  u->thread_warned = true;
  fflush(stdout);
  fprintf(stderr, "vmkit exec: threads (clone with CLONE_THREAD) are not "
                  "supported yet; pthread_create will fail\n");
}

/* clone3: ENOSYS sends libc to clone, which handles a fork; a thread is
 * reported here for a libc that has no fallback. */
static long sys_clone3(struct urun *u, const uint64_t *x) {
  const uint64_t *flags = emu_us_ptr(&u->us, x[0], 8, US_R);
  if (flags && x[1] >= 8 && (*flags & CLONE_THREAD))
    warn_threads(u);
  return -ENOSYS;
}

static long sys_clone(struct urun *u, const uint64_t *x) {
  uint64_t flags = x[0];
  /* Threads cannot be emulated by a fork; report them as unsupported so
   * the guest's libc takes its single-threaded fallback, if any. */
  if (flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_FILES | CLONE_FS)) {
    if (flags & CLONE_THREAD)
      warn_threads(u);
    return -ENOSYS;
  }
  if ((flags & 0xff) != SIGCHLD && (flags & 0xff) != 0)
    return -EINVAL;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    return -errno;
  if (pid == 0) {
    if (x[1])
      u->cpu.r[EMU_SP] = x[1];
    if (flags & CLONE_SETTLS)
      u->cpu.tpidr_el0 = x[3];
    if (flags & CLONE_CHILD_SETTID) {
      uint32_t *p = emu_us_ptr(&u->us, x[4], 4, US_W);
      if (p)
        *p = (uint32_t)getpid();
    }
    return 0;
  }
  if (flags & CLONE_PARENT_SETTID) {
    uint32_t *p = emu_us_ptr(&u->us, x[2], 4, US_W);
    if (p)
      *p = (uint32_t)pid;
  }
  if (flags & CLONE_VFORK) { /* the parent waits until the child execs */
    int st;
    (void)st; /* a forked child cannot tell us when it execs; continuing
                 at once is what a vfork child that execs looks like */
  }
  return pid;
}

/* Copies a NULL-terminated guest string vector (argv/envp). */
static char **copy_vec(struct urun *u, uint64_t va, long *err) {
  size_t n = 0, cap = 16;
  char **v = malloc(cap * sizeof *v);
  if (!v) {
    *err = -ENOMEM;
    return NULL;
  }
  while (va) {
    const uint64_t *p = emu_us_ptr(&u->us, va + 8 * n, 8, US_R);
    if (!p) {
      *err = -EFAULT;
      goto fail;
    }
    if (!*p)
      break;
    const char *s = emu_us_str(&u->us, *p, 1 << 17);
    if (!s || n > 100000) {
      *err = s ? -E2BIG : -EFAULT;
      goto fail;
    }
    if (n + 2 > cap) {
      char **nv = realloc(v, (cap *= 2) * sizeof *v);
      if (!nv) {
        *err = -ENOMEM;
        goto fail;
      }
      v = nv;
    }
    v[n++] = strdup(s);
  }
  v[n] = NULL;
  return v;
fail:
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
  return NULL;
}

static void free_vec(char **v) {
  if (!v)
    return;
  for (size_t i = 0; v[i]; i++)
    free(v[i]);
  free(v);
}

/* Closes the host descriptors marked close-on-exec, as execve would. */
static void close_cloexec(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return;
  int dfd = dirfd(d);
  struct dirent *e;
  int fds[1024], n = 0;
  while ((e = readdir(d)) && n < 1024) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dfd)
      continue;
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && (fl & FD_CLOEXEC))
      fds[n++] = fd;
  }
  closedir(d);
  for (int i = 0; i < n; i++)
    close(fds[i]);
}

static long sys_execve(struct urun *u, const uint64_t *x) {
  const char *gp = emu_us_str(&u->us, x[0], PATH_MAXLEN);
  if (!gp)
    return -EFAULT;
  char path[PATH_MAXLEN + 1];
  snprintf(path, sizeof path, "%s", fix_path(u, gp));
  long err = 0;
  char **argv = copy_vec(u, x[1], &err);
  if (!argv)
    return err;
  char **envp = copy_vec(u, x[2], &err);
  if (!envp) {
    free_vec(argv);
    return err;
  }
  char msg[256];
  bool host_elf = false;
  long r = emu_ur_check(path, &host_elf, msg, sizeof msg);
  if (r == -ENOEXEC && host_elf) {
    /* A native program (the shell running a host command): run it. */
    execve(path, argv, envp);
    r = -errno;
  } else if (r == -ENOEXEC) {
    char hdr[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, hdr, sizeof hdr - 1) : -1;
    if (fd >= 0)
      close(fd);
    if (n > 2 && hdr[0] == '#' && hdr[1] == '!') {
      /* #! interpreter [arg] — run the interpreter with the script */
      hdr[n] = 0;
      char *nl = strchr(hdr, '\n');
      if (nl)
        *nl = 0;
      char *interp = hdr + 2;
      while (*interp == ' ' || *interp == '\t')
        interp++;
      char *arg = interp + strcspn(interp, " \t");
      if (*arg) {
        *arg++ = 0;
        while (*arg == ' ' || *arg == '\t')
          arg++;
      }
      size_t argc = 0;
      while (argv[argc])
        argc++;
      char **nv = calloc(argc + 4, sizeof *nv);
      if (nv) {
        size_t k = 0;
        nv[k++] = strdup(interp);
        if (*arg)
          nv[k++] = strdup(arg);
        nv[k++] = strdup(path);
        for (size_t i = 1; i < argc; i++)
          nv[k++] = argv[i];
        free(argv[0]);
        free(argv);
        argv = nv;
        snprintf(path, sizeof path, "%s", fix_path(u, nv[0]));
        r = emu_ur_check(path, &host_elf, msg, sizeof msg);
        if (r == -ENOEXEC && host_elf) {
          execve(path, argv, envp);
          r = -errno;
        }
      }
    }
  }
  if (r == 0) {
    close_cloexec();
    r = emu_ur_load(u, path, argv, envp, msg, sizeof msg);
    if (r == 0) {
      for (int s = 1; s < UR_NSIG; s++) /* handlers do not survive exec */
        if (u->sigact[s][0] > 1) {
          u->sigact[s][0] = 0;
          emu_ur_sig_apply(u, s);
        }
      r = 1; /* special: do not write x0 */
    } else {
      fprintf(stderr, "vmkit exec: execve: %s\n", msg);
      u->exited = true;
      u->exit_status = 127;
    }
  } else if (u->trace) {
    fprintf(stderr, "vmkit exec: execve %s: %s\n", path, msg);
  }
  free_vec(argv);
  free_vec(envp);
  return r;
}

static void log_unknown(struct urun *u, uint64_t nr) {
  if (!u->trace)
    return;
  if (nr < 512) {
    if (u->logged[nr / 8] & (1u << (nr % 8)))
      return;
    u->logged[nr / 8] |= (uint8_t)(1u << (nr % 8));
  }
  fprintf(stderr, "vmkit exec: unsupported syscall %llu (ENOSYS) at pc=%#llx\n",
          (unsigned long long)nr, (unsigned long long)u->cpu.pc - 4);
}

/* True if any page of [va, va+len) is (still) executable. */
static bool had_exec(struct urun *u, uint64_t va, uint64_t len) {
  if (va >= US_SPACE)
    return false;
  if (len > US_SPACE - va)
    len = US_SPACE - va;
  for (uint64_t p = va / US_PAGE; p < (va + len + US_PAGE - 1) / US_PAGE; p++)
    if (u->us.perm[p] & US_X)
      return true;
  return false;
}

/* After a mapping change of [va, va+len): drop the TLB entries of those
 * pages (all of them for a large range), and the translated code only if
 * executable pages were involved (malloc's mmap/munmap of data must not
 * throw away every decoded block). Every permission reduction must come
 * here, or the next access through a stale entry reaches a host page that
 * is gone (a host SIGSEGV instead of the guest's). */
static void map_changed(struct urun *u, uint64_t va, uint64_t len,
                        uint64_t prot) {
  if (va >= US_SPACE)
    return;
  if (len > US_SPACE - va)
    len = US_SPACE - va;
  uint64_t start = va & ~(US_PAGE - 1);
  uint64_t pages = (va + len - start + US_PAGE - 1) / US_PAGE;
  if (pages > EMU_TLB_SIZE) {
    emu_tlb_flush(&u->cpu);
  } else {
    for (uint64_t i = 0; i < pages; i++)
      emu_tlb_flush_page(&u->cpu, start + i * US_PAGE);
  }
  if (prot & PROT_EXEC)
    emu_flush_code(&u->cpu);
}

static long dispatch(struct urun *u, uint64_t nr, const uint64_t *x) {
  switch (nr) {
  case A_openat: {
    const char *p = emu_us_str(&u->us, x[1], PATH_MAXLEN);
    if (!p)
      return -EFAULT;
    return emu_ur_open(u, (int)x[0], p, open_flags_to_host(x[2]), (mode_t)x[3]);
  }
  case A_getcwd: {
    char *b = emu_us_ptr(&u->us, x[0], x[1], US_W);
    if (!b)
      return -EFAULT;
    long r = syscall(SYS_getcwd, b, x[1]);
    return r < 0 ? -errno : r;
  }
  case A_dup: {
    long r = dup((int)x[0]);
    return r < 0 ? -errno : r;
  }
  case A_dup3: {
    long r = dup3((int)x[0], (int)x[1], (int)x[2]);
    return r < 0 ? -errno : r;
  }
  case A_pipe2: {
    int *p = emu_us_ptr(&u->us, x[0], 8, US_W);
    if (!p)
      return -EFAULT;
    int fl = (int)x[1] & ~A64_O_DIRECT;
    if (x[1] & A64_O_DIRECT)
      fl |= O_DIRECT;
    return pipe2(p, fl) < 0 ? -errno : 0;
  }
  case A_fcntl:
    return sys_fcntl(u, x);
  case A_ioctl:
    return sys_ioctl(u, x);
  case A_readv:
    return sys_iov(u, x, true, false);
  case A_writev:
    return sys_iov(u, x, false, false);
  case A_preadv:
    return sys_iov(u, x, true, true);
  case A_pwritev:
    return sys_iov(u, x, false, true);
  case A_pselect6:
    return sys_pselect6(u, x);
  case A_ppoll:
    return sys_ppoll(u, x);
  case A_readlinkat:
    return sys_readlinkat(u, x);
  case A_newfstatat:
    return sys_stat(u, (int)x[0], x[1], x[2], (int)x[3], false);
  case A_fstat:
    return sys_stat(u, (int)x[0], 0, x[1], 0, true);
  case A_exit:
  case A_exit_group:
    u->exited = true;
    u->exit_status = (int)(x[0] & 0xff);
    return 0;
  case A_set_tid_address:
    return getpid();
  case A_set_robust_list:
    return 0;
  case A_futex:
    return sys_futex(u, x);
  case A_tkill:
  case A_tgkill: {
    /* single-threaded: the thread is the process */
    pid_t target = nr == A_tkill ? (pid_t)x[0] : (pid_t)x[1];
    int sig = (int)(nr == A_tkill ? x[1] : x[2]);
    if (target != getpid())
      return -ESRCH;
    if (emu_ur_sig_kill_self(u, sig, SI_TKILL))
      return 0;
    fflush(NULL);
    return kill(getpid(), sig) < 0 ? -errno : 0;
  }
  case A_kill:
    if ((pid_t)x[0] == getpid() && emu_ur_sig_kill_self(u, (int)x[1], SI_USER))
      return 0;
    if (((pid_t)x[0] == getpid() || (pid_t)x[0] == 0) && x[1])
      fflush(NULL);
    return kill((pid_t)x[0], (int)x[1]) < 0 ? -errno : 0;
  case A_sigaltstack: {
    if (x[1]) {
      uint64_t *o = emu_us_ptr(&u->us, x[1], 24, US_W);
      if (!o)
        return -EFAULT;
      o[0] = 0;
      o[1] = SS_DISABLE;
      o[2] = 0;
    }
    return 0;
  }
  case A_rt_sigaction:
    return sys_rt_sigaction(u, x);
  case A_rt_sigreturn:
    return emu_ur_sigreturn(u);
  case 133: /* rt_sigsuspend */
    return emu_ur_sigsuspend(u, x[0], x[1]);
  case A_rt_sigprocmask:
    return sys_rt_sigprocmask(u, x);
  case A_getgroups: {
    if (x[0] > 65536)
      return -EINVAL;
    void *p = x[0] ? emu_us_ptr(&u->us, x[1], x[0] * 4, US_W) : NULL;
    if (x[0] && !p)
      return -EFAULT;
    long r = getgroups((int)x[0], p);
    return r < 0 ? -errno : r;
  }
  case A_setgroups:
    return -EPERM;
  case A_uname: {
    struct utsname *g = emu_us_ptr(&u->us, x[0], sizeof *g, US_W);
    if (!g)
      return -EFAULT;
    if (uname(g) < 0)
      return -errno;
    snprintf(g->machine, sizeof g->machine, "aarch64");
    return 0;
  }
  case A_prctl:
    if (x[0] == 15 || x[0] == 16) { /* PR_SET_NAME / PR_GET_NAME */
      void *p = emu_us_ptr(&u->us, x[1], 16, x[0] == 16 ? US_W : US_R);
      if (!p)
        return -EFAULT;
      return prctl((int)x[0], p) < 0 ? -errno : 0;
    }
    return -EINVAL;
  case A_brk: {
    uint64_t old = u->us.brk_cur;
    uint64_t r = emu_us_brk(&u->us, x[0]);
    if (r < old) /* the heap shrank: its top pages are gone */
      map_changed(u, r, old - r, 0);
    return (long)r;
  }
  case A_mmap: {
    /* a fixed mapping may replace code */
    bool x_before = (x[3] & MAP_FIXED) &&
                    had_exec(u, x[0], x[1] > US_SPACE ? US_SPACE : x[1]);
    long r =
        emu_us_mmap(&u->us, x[0], x[1], (int)x[2], (int)x[3], (int)x[4], x[5]);
    if (r >= 0)
      map_changed(u, (uint64_t)r, x[1], x[2] | (x_before ? PROT_EXEC : 0));
    else if (x[3] & MAP_FIXED) /* a failed fixed mapping unmaps the range */
      map_changed(u, x[0], x[1], x_before ? PROT_EXEC : 0);
    return r;
  }
  case A_munmap: {
    uint64_t len = x[1] > US_SPACE ? US_SPACE : x[1];
    bool x_before = had_exec(u, x[0], len);
    int r = emu_us_munmap(&u->us, x[0], x[1]);
    if (r == 0)
      map_changed(u, x[0], len, x_before ? PROT_EXEC : 0);
    return r;
  }
  case A_mprotect: {
    uint64_t len = x[1] > US_SPACE ? US_SPACE : x[1];
    bool x_before = had_exec(u, x[0], len);
    int r = emu_us_mprotect(&u->us, x[0], x[1], (int)x[2]);
    /* even a failed mprotect may have changed the pages before the error */
    map_changed(u, x[0], len, x[2] | (x_before ? PROT_EXEC : 0));
    return r;
  }
  case A_msync: {
    if (x[0] % US_PAGE)
      return -EINVAL;
    uint64_t len = (x[1] + US_PAGE - 1) & ~(US_PAGE - 1);
    if (x[1] > US_SPACE || !emu_us_ptr(&u->us, x[0], len, 0))
      return -ENOMEM; /* Linux: part of the range is not mapped */
    return msync(u->us.base + x[0], len, (int)x[2]) < 0 ? -errno : 0;
  }
  case A_mremap:
    return -ENOMEM; /* libc falls back to copy */
  case A_madvise:
    if (x[2] == MADV_DONTNEED) {
      void *p = emu_us_ptr(&u->us, x[0], x[1], US_R);
      if (!p)
        return -EINVAL;
      return madvise(p, x[1], MADV_DONTNEED) < 0 ? -errno : 0;
    }
    return 0;
  case A_clone:
    return sys_clone(u, x);
  case A_clone3:
    return sys_clone3(u, x);
  case A_execve:
    return sys_execve(u, x);
  default:
    break;
  }
  for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++)
    if (pass[i].nr == nr)
      return do_pass(u, &pass[i], x);
  log_unknown(u, nr);
  return -ENOSYS;
}

void emu_ur_syscall(struct urun *u) {
  struct emu_cpu *cpu = &u->cpu;
  uint64_t nr = cpu->r[8];
  uint64_t x[6];
  memcpy(x, cpu->r, sizeof x);
  long r = dispatch(u, nr, x);
  if ((nr == A_execve && r == 1) || (nr == A_rt_sigreturn && r == 0))
    return; /* registers already set (new image / restored context) */
  if (u->trace >= 2)
    fprintf(stderr, "vmkit exec: syscall %llu(%#llx, %#llx, %#llx) = %ld\n",
            (unsigned long long)nr, (unsigned long long)x[0],
            (unsigned long long)x[1], (unsigned long long)x[2], r);
  cpu->r[0] = (uint64_t)r;
}
