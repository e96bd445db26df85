/* slots.c — host-wide VM slots: a cap on how many VMs a user runs at once,
 * kept with flock()ed files in the user's runtime folder (see slots.h for
 * the layout and why locks, not counters). Runs on the caller's thread;
 * the only shared state is on disk, guarded by SLOTS/.lock and each slot
 * file's lock.
 */
#include "core/slots.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "core/runtime.h"

#define LABEL_MAX 64
#define NAMES_SHOWN 8

struct vmk_slot {
  int fd; /* the locked slot file */
};

/* A whole number from 1 to VMK_SLOTS_MAX, surrounding blanks allowed. */
static bool parse_limit(const char *s, unsigned *out) {
  while (*s == ' ' || *s == '\t')
    s++;
  if (*s < '0' || *s > '9')
    return false;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
    end++;
  if (errno || *end || v < 1 || v > VMK_SLOTS_MAX)
    return false;
  *out = (unsigned)v;
  return true;
}

int vmk_slots_limit(const char *env, const char *file, unsigned *max,
                    vmk_error *err) {
  *max = 0;
  unsigned v;
  if (env && *env) {
    if (!parse_limit(env, &v))
      return vmk_err(err, -EINVAL,
                     "VMKIT_MAX_VMS is '%.32s'; set it to a whole number of "
                     "VMs from 1 to %d, or unset it",
                     env, VMK_SLOTS_MAX);
    *max = v;
  }
  FILE *f = file ? fopen(file, "re") : NULL;
  if (!f)
    return 0; /* no operator limit (or none readable): the env's, if any */
  char line[64] = "";
  bool ok = fgets(line, sizeof(line), f) && parse_limit(line, &v);
  fclose(f);
  if (!ok)
    return vmk_err(err, -EINVAL,
                   "%s does not hold a whole number of VMs from 1 to %d; fix "
                   "or remove it",
                   file, VMK_SLOTS_MAX);
  if (!*max || v < *max)
    *max = v; /* a user may lower the operator's limit, never raise it */
  return 0;
}

/* Slot number of a file name "slot-N", or -1. */
static long slot_index(const char *name) {
  if (strncmp(name, "slot-", 5) || name[5] < '0' || name[5] > '9')
    return -1;
  char *end;
  long v = strtol(name + 5, &end, 10);
  return *end || v > INT_MAX ? -1 : v;
}

int vmk_slots_acquire_in(const char *dir, unsigned max, const char *label,
                         vmk_slot **out, vmk_error *err) {
  *out = NULL;
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/.lock", dir);
  int lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock < 0)
    return vmk_err(err, -errno, "cannot open the VM slot lock '%s': %s", path,
                   strerror(errno));
  int r;
  while ((r = flock(lock, LOCK_EX)) < 0 && errno == EINTR)
    ;
  DIR *d = opendir(dir);
  if (r < 0 || !d) {
    r = vmk_err(err, -errno, "cannot read the VM slot folder '%s': %s", dir,
                strerror(errno));
    goto out;
  }
  /* Which slots are held, by whom, and the lowest one free. */
  unsigned busy = 0;
  char names[NAMES_SHOWN * (LABEL_MAX + 2) + 8] = "";
  unsigned char held[VMK_SLOTS_MAX] = {0};
  for (struct dirent *e; (e = readdir(d));) {
    long i = slot_index(e->d_name);
    if (i < 0)
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
      continue;
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
      close(fd); /* nobody holds it (its VM ended): free */
      continue;
    }
    if (i < VMK_SLOTS_MAX)
      held[i] = 1;
    char who[LABEL_MAX + 1];
    ssize_t n = read(fd, who, LABEL_MAX);
    close(fd);
    who[n > 0 ? n : 0] = '\0';
    who[strcspn(who, "\n")] = '\0';
    if (busy < NAMES_SHOWN) {
      size_t k = strlen(names);
      snprintf(names + k, sizeof(names) - k, "%s%s", busy ? ", " : "",
               who[0] ? who : "?");
    } else if (busy == NAMES_SHOWN) {
      strcat(names, ", ...");
    }
    busy++;
  }
  if (busy >= max) {
    r = vmk_err(err, -EUSERS,
                "%u of %u VM slots are in use (%s); stop one or raise the "
                "limit (VMKIT_MAX_VMS, %s)",
                busy, max, names, VMK_SLOTS_FILE);
    goto out;
  }
  unsigned i = 0;
  while (i < VMK_SLOTS_MAX - 1 && held[i])
    i++;
  snprintf(path, sizeof(path), "%s/slot-%u", dir, i);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
    r = vmk_err(err, -errno, "cannot take the VM slot '%s': %s", path,
                strerror(errno));
    if (fd >= 0)
      close(fd);
    goto out;
  }
  char line[LABEL_MAX + 2];
  int n = snprintf(line, sizeof(line), "%.*s\n", LABEL_MAX, label ? label : "");
  if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n) {
    /* The slot is held all the same; only its name is missing. */
  }
  struct vmk_slot *s = malloc(sizeof(*s));
  if (!s) {
    close(fd);
    r = vmk_err(err, -ENOMEM, "out of memory taking a VM slot");
    goto out;
  }
  s->fd = fd;
  *out = s;
  r = 0;
out:
  if (d)
    closedir(d);
  close(lock); /* drops the folder lock */
  return r;
}

int vmk_slot_acquire(const char *label, vmk_slot **out, vmk_error *err) {
  vmk_err_clear(err);
  *out = NULL;
  unsigned max;
  int r = vmk_slots_limit(getenv("VMKIT_MAX_VMS"), VMK_SLOTS_FILE, &max, err);
  if (r || max == 0)
    return r;
  char dir[VMK_RUNTIME_PATH_MAX];
  if ((r = vmk_runtime_subdir("slots", dir, sizeof(dir), err)))
    return r;
  char own[32];
  if (!label || !*label) {
    snprintf(own, sizeof(own), "pid %d", (int)getpid());
    label = own;
  }
  return vmk_slots_acquire_in(dir, max, label, out, err);
}

void vmk_slot_release(vmk_slot *slot) {
  if (!slot)
    return;
  if (ftruncate(slot->fd, 0) < 0) {
    /* a stale name in an unlocked file is never read */
  }
  close(slot->fd);
  free(slot);
}
