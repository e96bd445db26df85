/* vm_internal.h — what the snapshot code (snapshot.c) needs from a VM
 * beyond the public API: its parts, a VM built for a restore, starting it
 * paused, and holding it paused while it is saved. Threads and locks as
 * in vm.c: begin_save takes the VM's ops_lock (no pause/resume/start
 * meanwhile) until end_save.
 */
#ifndef VMK_CORE_VM_INTERNAL_H
#define VMK_CORE_VM_INTERNAL_H

#include "base/guest_mem.h"
#include "engine/engine.h"
#include "machine/loader.h"
#include "machine/virt.h"
#include "virtio/mmio.h"
#include "vmkit/vmkit.h"

struct vmk_vm_parts {
  struct vmk_config *cfg;
  struct vmk_guest_mem *ram;
  struct vmk_engine *engine;
  struct vmk_virt_platform *platform;
  struct vmk_virtio_mmio **virtio; /* by slot */
  unsigned nvirtio;
  const struct vmk_boot_layout *layout;
};

void vmk_vm_get_parts(vmk_vm *vm, struct vmk_vm_parts *p);
/* A VM whose guest memory and layout the caller fills (no boot payload). */
int vmk_vm_create_restoring(const vmk_config *cfg,
                            const struct vmk_boot_layout *layout, vmk_vm **out,
                            vmk_error *err);
/* A VM being restored: created -> restoring, and restoring -> error
 * (with why) when the restore fails, before it is freed. */
void vmk_vm_begin_restore(vmk_vm *vm);
void vmk_vm_restore_failed(vmk_vm *vm, const vmk_error *why);
/* Starts the VM (created or restoring) with its vCPUs parked: state
 * paused. */
int vmk_vm_start_paused(vmk_vm *vm, vmk_error *err);
/* 0 with the VM held paused, or -EINVAL when it is not paused. */
int vmk_vm_begin_save(vmk_vm *vm, vmk_error *err);
void vmk_vm_end_save(vmk_vm *vm);

#endif
