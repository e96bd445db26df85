/* runtime.h — the per-user runtime folder and named VMs' entries in it.
 *
 * Layout: RUNTIME/NAME/{pid,api.sock,console.sock,console.log,config.json}
 * for each named VM, RUNTIME/slots/ for the host-wide VM slots. RUNTIME is
 * $XDG_RUNTIME_DIR/vmkit, else /run/user/UID/vmkit when that folder is
 * ours, else /tmp/vmkit-UID; every folder is 0700 and owned by the user.
 *
 * A running VM holds an flock on its pid file for its whole life (the
 * kernel drops it when the process dies, even by SIGKILL), so a dead VM's
 * leftover folder never blocks a new VM of the same name.
 *
 * Any thread; no shared state (a claimed entry belongs to its caller).
 */
#ifndef VMK_CORE_RUNTIME_H
#define VMK_CORE_RUNTIME_H

#include <stddef.h>
#include <sys/types.h>

#include "vmkit/vmkit.h"

#define VMK_NAME_MAX 40          /* bytes of a VM name */
#define VMK_RUNTIME_PATH_MAX 108 /* what fits a Unix socket address */

/* The runtime folder, created (0700) when missing and checked: a real
 * folder owned by this user and reachable by no one else. buf gets its
 * path (no trailing slash). */
int vmk_runtime_dir(char *buf, size_t len, vmk_error *err);
/* RUNTIME/sub, created 0700 when missing (e.g. "slots"). */
int vmk_runtime_subdir(const char *sub, char *buf, size_t len, vmk_error *err);

/* 0 when name can name a VM: 1..VMK_NAME_MAX of [A-Za-z0-9_.-], starting
 * with a letter or digit, and not a name the runtime folder uses itself. */
int vmk_name_check(const char *name, vmk_error *err);
/* A random adjective-noun name (e.g. "brisk-otter"); not checked for use. */
void vmk_name_generate(char *buf, size_t len);

/* A named VM's claimed entry: its folder and the locked pid file. */
struct vmk_instance {
  char name[VMK_NAME_MAX + 1];
  char dir[VMK_RUNTIME_PATH_MAX];
  int lock_fd;
};

/* Claims NAME for this process: creates RUNTIME/NAME, locks its pid file
 * and writes the pid, clearing what a dead VM of that name left. -EEXIST
 * with a sentence when a live process holds the name. */
int vmk_instance_claim(const char *name, struct vmk_instance *inst,
                       vmk_error *err);
/* Rewrites the pid (after a fork that detached the VM). */
int vmk_instance_set_pid(struct vmk_instance *inst, pid_t pid);
/* dir/file into buf; -ENAMETOOLONG when it does not fit. */
int vmk_instance_path(const char *dir, const char *file, char *buf, size_t len);
/* Removes the entry's files and folder and drops the lock. */
void vmk_instance_release(struct vmk_instance *inst);

/* Looks up a running VM: dir gets its folder, *pid its process. -ENOENT
 * with a sentence when no live VM has that name. */
int vmk_instance_find(const char *name, char *dir, size_t len, pid_t *pid,
                      vmk_error *err);
/* The names of the running VMs, sorted; returns how many (up to max). */
unsigned vmk_instance_list(char (*names)[VMK_NAME_MAX + 1], unsigned max);

#endif
