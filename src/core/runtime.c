/* runtime.c — the per-user runtime folder and named VMs' entries in it
 * (see runtime.h for the layout and the locking rule). Runs on the
 * caller's thread; the only shared state is on disk, guarded by flock on
 * each VM's pid file.
 */
#include "core/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"

/* Files a VM keeps in its folder; a claim clears a dead VM's. */
static const char *const entry_files[] = {"api.sock", "console.sock",
                                          "console.log", "config.json", NULL};

/* path must be a folder of ours that only we can reach; creates it. */
static int ensure_private_dir(const char *path, vmk_error *err) {
  if (mkdir(path, 0700) < 0 && errno != EEXIST)
    return vmk_err(err, -errno, "cannot create the folder '%s': %s", path,
                   strerror(errno));
  struct stat st;
  if (lstat(path, &st) < 0)
    return vmk_err(err, -errno, "cannot use the folder '%s': %s", path,
                   strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return vmk_err(err, -ENOTDIR,
                   "'%s' is not a folder (a symlink or file is in the way); "
                   "remove it",
                   path);
  if (st.st_uid != getuid())
    return vmk_err(err, -EPERM,
                   "the folder '%s' belongs to another user; remove it or set "
                   "XDG_RUNTIME_DIR to a folder of yours",
                   path);
  if ((st.st_mode & 077) && chmod(path, 0700) < 0)
    return vmk_err(err, -errno, "cannot make '%s' private (chmod 0700): %s",
                   path, strerror(errno));
  return 0;
}

int vmk_runtime_dir(char *buf, size_t len, vmk_error *err) {
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  int n;
  struct stat st;
  char run_user[64];
  snprintf(run_user, sizeof(run_user), "/run/user/%u", (unsigned)getuid());
  if (xdg && xdg[0] == '/')
    n = snprintf(buf, len, "%s/vmkit", xdg);
  else if (stat(run_user, &st) == 0 && S_ISDIR(st.st_mode) &&
           st.st_uid == getuid())
    n = snprintf(buf, len, "%s/vmkit", run_user);
  else
    n = snprintf(buf, len, "/tmp/vmkit-%u", (unsigned)getuid());
  if (n < 0 || (size_t)n >= len)
    return vmk_err(err, -ENAMETOOLONG,
                   "the runtime folder path is too long; set XDG_RUNTIME_DIR "
                   "to a shorter path");
  return ensure_private_dir(buf, err);
}

int vmk_runtime_subdir(const char *sub, char *buf, size_t len, vmk_error *err) {
  char base[VMK_RUNTIME_PATH_MAX];
  int r = vmk_runtime_dir(base, sizeof(base), err);
  if (r)
    return r;
  if (vmk_instance_path(base, sub, buf, len))
    return vmk_err(err, -ENAMETOOLONG,
                   "the runtime folder path '%s/%s' is too long; set "
                   "XDG_RUNTIME_DIR to a shorter path",
                   base, sub);
  return ensure_private_dir(buf, err);
}

int vmk_name_check(const char *name, vmk_error *err) {
  size_t n = strlen(name);
  if (n == 0 || n > VMK_NAME_MAX)
    return vmk_err(err, -EINVAL,
                   "VM name '%.64s' is %zu bytes; give 1 to %d letters, "
                   "digits, '-', '_' or '.'",
                   name, n, VMK_NAME_MAX);
  bool ok = (name[0] >= 'a' && name[0] <= 'z') ||
            (name[0] >= 'A' && name[0] <= 'Z') ||
            (name[0] >= '0' && name[0] <= '9');
  for (const char *p = name; *p && ok; p++)
    ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
         (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.';
  if (!ok)
    return vmk_err(err, -EINVAL,
                   "VM name '%.64s' may hold only letters, digits, '-', '_' "
                   "and '.', and must start with a letter or digit",
                   name);
  if (!strcmp(name, "slots"))
    return vmk_err(err, -EINVAL,
                   "VM name 'slots' is reserved for vmkit's own use; choose "
                   "another");
  return 0;
}

void vmk_name_generate(char *buf, size_t len) {
  static const char *const adj[] = {"brisk",  "calm",   "eager",  "fuzzy",
                                    "gentle", "happy",  "jolly",  "keen",
                                    "lucid",  "mellow", "nimble", "proud",
                                    "quiet",  "rapid",  "sunny",  "witty"};
  static const char *const noun[] = {
      "otter", "falcon", "badger", "heron", "lynx",  "marten", "newt",   "owl",
      "panda", "quokka", "raven",  "seal",  "tapir", "vole",   "walrus", "yak"};
  uint8_t r[3] = {0};
  if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r[0] = (uint8_t)ts.tv_nsec;
    r[1] = (uint8_t)(ts.tv_nsec >> 8);
    r[2] = (uint8_t)getpid();
  }
  snprintf(buf, len, "%s-%s-%02x", adj[r[0] & 15], noun[r[1] & 15], r[2]);
}

int vmk_instance_path(const char *dir, const char *file, char *buf,
                      size_t len) {
  int n = snprintf(buf, len, "%s/%s", dir, file);
  return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static pid_t read_pid(int fd) {
  char b[32];
  ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
  if (n <= 0)
    return 0;
  b[n] = '\0';
  long v = strtol(b, NULL, 10);
  return v > 0 ? (pid_t)v : 0;
}

int vmk_instance_set_pid(struct vmk_instance *inst, pid_t pid) {
  char b[32];
  int n = snprintf(b, sizeof(b), "%ld\n", (long)pid);
  if (ftruncate(inst->lock_fd, 0) < 0 || pwrite(inst->lock_fd, b, n, 0) != n)
    return -errno;
  return 0;
}

int vmk_instance_claim(const char *name, struct vmk_instance *inst,
                       vmk_error *err) {
  memset(inst, 0, sizeof(*inst));
  inst->lock_fd = -1;
  int r = vmk_name_check(name, err);
  if (r)
    return r;
  char base[VMK_RUNTIME_PATH_MAX], pidpath[VMK_RUNTIME_PATH_MAX],
      longest[VMK_RUNTIME_PATH_MAX];
  if ((r = vmk_runtime_dir(base, sizeof(base), err)))
    return r;
  if (vmk_instance_path(base, name, inst->dir, sizeof(inst->dir)) ||
      vmk_instance_path(inst->dir, "console.sock", longest, sizeof(longest)))
    return vmk_err(err, -ENAMETOOLONG,
                   "the runtime folder '%s' is too deep for the VM's sockets; "
                   "set XDG_RUNTIME_DIR to a shorter path or use a shorter "
                   "name",
                   base);
  snprintf(inst->name, sizeof(inst->name), "%s", name);
  vmk_instance_path(inst->dir, "pid", pidpath, sizeof(pidpath));
  /* A releaser may unlink the pid file between our open and our lock:
   * then the lock is on a dead file, so check and go again. */
  for (int attempt = 0; attempt < 50; attempt++) {
    if ((r = ensure_private_dir(inst->dir, err)))
      return r;
    int fd = open(pidpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      if (errno == ENOENT)
        continue; /* the folder went away under us */
      return vmk_err(err, -errno, "cannot open '%s': %s", pidpath,
                     strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
      pid_t pid = read_pid(fd);
      close(fd);
      /* A client's brief shared lock (vmkit list) on a dead VM's entry:
       * wait it out; a live holder is a running VM. */
      if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH) {
        usleep(20000);
        continue;
      }
      return vmk_err(err, -EEXIST,
                     "a VM named '%s' is already running (pid %ld); choose "
                     "another --name, or stop it with: vmkit stop %s",
                     name, (long)pid, name);
    }
    struct stat a, b;
    if (fstat(fd, &a) < 0 || stat(pidpath, &b) < 0 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev) {
      close(fd);
      continue;
    }
    inst->lock_fd = fd;
    for (const char *const *f = entry_files; *f; f++) {
      char p[VMK_RUNTIME_PATH_MAX];
      if (!vmk_instance_path(inst->dir, *f, p, sizeof(p)))
        unlink(p);
    }
    if ((r = vmk_instance_set_pid(inst, getpid()))) {
      vmk_instance_release(inst);
      return vmk_err(err, r, "cannot write '%s': %s", pidpath, strerror(-r));
    }
    return 0;
  }
  return vmk_err(err, -EAGAIN,
                 "the runtime entry of '%s' keeps changing; try again", name);
}

void vmk_instance_release(struct vmk_instance *inst) {
  if (inst->lock_fd < 0)
    return;
  char p[VMK_RUNTIME_PATH_MAX];
  for (const char *const *f = entry_files; *f; f++)
    if (!vmk_instance_path(inst->dir, *f, p, sizeof(p)))
      unlink(p);
  /* The pid file goes while still locked, so no one locks it again. */
  if (!vmk_instance_path(inst->dir, "pid", p, sizeof(p)))
    unlink(p);
  rmdir(inst->dir);
  close(inst->lock_fd);
  inst->lock_fd = -1;
}

/* Whether RUNTIME/name holds a live VM: 1 and its pid, else 0. */
static int probe(const char *dir, pid_t *pid) {
  char p[VMK_RUNTIME_PATH_MAX];
  if (vmk_instance_path(dir, "pid", p, sizeof(p)))
    return 0;
  int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return 0;
  int live = 0;
  if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
    live = errno == EWOULDBLOCK;
    *pid = read_pid(fd);
  }
  close(fd); /* also drops a shared lock taken on a dead entry */
  return live;
}

int vmk_instance_find(const char *name, char *dir, size_t len, pid_t *pid,
                      vmk_error *err) {
  int r = vmk_name_check(name, err);
  if (r)
    return r;
  char base[VMK_RUNTIME_PATH_MAX];
  if ((r = vmk_runtime_dir(base, sizeof(base), err)))
    return r;
  if (vmk_instance_path(base, name, dir, len) || !probe(dir, pid))
    return vmk_err(err, -ENOENT,
                   "no VM named '%s' is running; vmkit list shows the ones "
                   "that are",
                   name);
  return 0;
}

static int cmp_names(const void *a, const void *b) { return strcmp(a, b); }

unsigned vmk_instance_list(char (*names)[VMK_NAME_MAX + 1], unsigned max) {
  char base[VMK_RUNTIME_PATH_MAX];
  if (vmk_runtime_dir(base, sizeof(base), NULL))
    return 0;
  DIR *d = opendir(base);
  if (!d)
    return 0;
  unsigned n = 0;
  for (struct dirent *e; n < max && (e = readdir(d));) {
    char dir[VMK_RUNTIME_PATH_MAX];
    pid_t pid;
    if (vmk_name_check(e->d_name, NULL) ||
        vmk_instance_path(base, e->d_name, dir, sizeof(dir)) ||
        !probe(dir, &pid))
      continue;
    /* vmk_name_check bounded the length. */
    memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
  }
  closedir(d);
  qsort(names, n, sizeof(names[0]), cmp_names);
  return n;
}
