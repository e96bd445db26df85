/* emu_snapshot.h — one emu vCPU's state to and from the engine-neutral form
 * (engine/arch_state.h), for save/restore. Owner thread, vCPU parked or
 * not started; no locks.
 */
#ifndef VMK_EMU_SNAPSHOT_H
#define VMK_EMU_SNAPSHOT_H

#include "base/error.h"
#include "emu/cpu.h"
#include "emu/sys/sys.h"
#include "emu/sys/timer.h"
#include "engine/arch_state.h"

void emu_vcpu_state_save(struct emu_sys *sys, struct emu_cpu *cpu,
                         const struct emu_timer *t, struct vmk_vcpu_state *out);
/* Resets the vCPU and loads in (untrusted): -EINVAL with err for a mode
 * or a system register this engine does not implement. */
int emu_vcpu_state_load(struct emu_sys *sys, struct emu_cpu *cpu,
                        struct emu_timer *t, unsigned idx,
                        const struct vmk_vcpu_state *in, vmk_error *err);

#endif
