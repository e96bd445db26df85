/* snapshot.h — save/restore internals (snapshot.c), exposed for the unit
 * tests and the fuzz harness: a parsed state file decoded into a config,
 * a boot layout and the engine-neutral machine state. The caller's thread;
 * no shared state.
 */
#ifndef VMK_CORE_SNAPSHOT_H
#define VMK_CORE_SNAPSHOT_H

#include "core/snapshot_file.h"
#include "engine/arch_state.h"
#include "machine/loader.h"
#include "vmkit/vmkit.h"

/* What identifies a disk's content at the save. */
struct vmk_snap_disk_id {
  uint64_t size, mtime_ns;
  uint32_t crc[2]; /* CRC-32 of the first and the last MiB */
};

int vmk_snap_disk_identify(const char *path, struct vmk_snap_disk_id *id,
                           vmk_error *err);

struct vmk_snap_state {
  const struct vmk_snap_file *file; /* devices' sections are read from it */
  vmk_config *cfg;                  /* as saved (console: none) */
  struct vmk_snap_disk_id disk_ids[VMK_MAX_DISKS];
  struct vmk_boot_layout layout;
  struct vmk_arch_state arch;
  uint64_t mem_size;
};

/* Decodes and checks every section but the devices' (they are checked as
 * they are loaded): 0, or -EINVAL with err saying what is wrong. */
int vmk_snap_decode(const struct vmk_snap_file *f, struct vmk_snap_state *st,
                    vmk_error *err);
void vmk_snap_state_free(struct vmk_snap_state *st);

/* Builds a VM from a decoded snapshot and its directory (memory.raw) with
 * cfg (which must describe the same machine), started and paused. */
int vmk_snap_restore_state(const char *dir, const struct vmk_snap_state *st,
                           const vmk_config *cfg, vmk_vm **out, vmk_error *err);

#endif
