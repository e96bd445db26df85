/* kvm_state.h — the kvm engine's vCPU and vGICv3 state in the
 * engine-neutral form (arch_state.h), for snapshots (kvm_state.c). The
 * VM's owner thread with the vCPUs out of KVM_RUN; no locks.
 */
#ifndef VMK_ENGINE_KVM_STATE_H
#define VMK_ENGINE_KVM_STATE_H

#include "base/error.h"
#include "engine/arch_state.h"

int vmk_kvm_save_vcpu(int fd, unsigned idx, struct vmk_vcpu_state *v,
                      vmk_error *err);
/* From an untrusted snapshot: a mode or a register KVM refuses is an
 * error naming it. */
int vmk_kvm_load_vcpu(int fd, unsigned idx, const struct vmk_vcpu_state *v,
                      vmk_error *err);
/* The guest's counter (CNTVCT) through vCPU fd; 0 or -errno. */
int vmk_kvm_get_counter(int fd, uint64_t *cnt);
int vmk_kvm_set_counter(int fd, uint64_t cnt);
int vmk_kvm_save_gic(int gic_fd, unsigned ncpus, unsigned nr_spis,
                     struct vmk_arch_state *st, vmk_error *err);
int vmk_kvm_load_gic(int gic_fd, unsigned ncpus, unsigned nr_spis,
                     const struct vmk_arch_state *st, vmk_error *err);

#endif
