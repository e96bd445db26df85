/* engine.h — the interface every CPU engine (kvm, emu, later hvf) offers.
 *
 * An engine runs the guest's vCPUs on threads of its own. It knows guest RAM
 * (one mapping), the MMIO bus (every non-RAM access goes there), and offers
 * an interrupt chip (GICv3: in-kernel for kvm, emulated for emu) whose SPIs
 * devices raise. It knows no specific device.
 *
 * Threads: create/start/pause/resume/stop/destroy are serialized by the VM
 * (stop may also come from its monitor thread) and are never called with a
 * lock a vCPU thread takes: pause waits for every vCPU to park, and a vCPU
 * may meanwhile be in on_exit (which takes the VM lock) or in a device.
 * on_exit is called on a vCPU thread (at most once per start).
 * irq_chip.set_level may be called from any thread.
 */
#ifndef VMK_ENGINE_ENGINE_H
#define VMK_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/guest_mem.h"
#include "devices/bus.h"
#include "devices/irq.h"
#include "engine/arch_state.h"
#include "vmkit/vmkit.h"

/* The emu engine's translator emits x86-64 code, so only an x86-64 host
 * can run it: there jit is the emu engine's default mode, elsewhere the
 * interpreter is, and jit is refused. */
#if defined(__x86_64__)
#define VMK_EMU_JIT_HOST 1
#else
#define VMK_EMU_JIT_HOST 0
#endif

struct vmk_engine_config {
  unsigned cpus;
  const struct vmk_guest_mem *ram;
  struct vmk_bus *bus;
  /* GICv3 frames, from the machine's memory map. */
  uint64_t gicd_base, gicd_size;
  uint64_t gicr_base, gicr_size;
  unsigned nr_spis; /* SPIs wired (INTIDs 32 .. 32 + nr_spis - 1) */
  /* emu only: run guest code translated to x86-64 (--emu-mode jit, the
   * default where VMK_EMU_JIT_HOST); other engines ignore it. */
  bool emu_jit;
  /* The guest ended the machine (PSCI SYSTEM_OFF / SYSTEM_RESET), or the
   * engine failed (err set). Called once, on a vCPU thread. */
  void (*on_exit)(void *opaque, vmk_exit_reason reason, const vmk_error *err);
  void *opaque;
};

/* Where the boot CPU starts (Linux arm64 boot protocol: x0 = FDT address,
 * x1..x3 = 0, MMU off, EL1h with DAIF masked). Secondary CPUs start off and
 * come up through PSCI CPU_ON. */
struct vmk_boot_regs {
  uint64_t pc;
  uint64_t x0;
};

struct vmk_engine {
  const struct vmk_engine_ops *ops;
  struct vmk_irq_chip irq_chip;
};

struct vmk_engine_ops {
  const char *name;
  /* 0 when the engine can run on this host; else -errno and one sentence. */
  int (*probe)(vmk_error *err);
  int (*create)(const struct vmk_engine_config *cfg, struct vmk_engine **out,
                vmk_error *err);
  /* Optional: have a guest write of datamatch to gpa (len bytes) signal fd
   * without leaving the guest. Engines without it leave it NULL and the
   * write reaches the bus as usual. */
  int (*add_ioeventfd)(struct vmk_engine *e, uint64_t gpa, unsigned len,
                       uint64_t datamatch, int fd, vmk_error *err);
  int (*start)(struct vmk_engine *e, const struct vmk_boot_regs *boot,
               vmk_error *err);
  /* Returns once every vCPU is parked outside guest code, or has left
   * because the machine ended meanwhile (on_exit was called). */
  int (*pause)(struct vmk_engine *e, vmk_error *err);
  int (*resume)(struct vmk_engine *e, vmk_error *err);
  /* Optional (NULL: the engine cannot save). With the engine paused,
   * fills st (allocated by the caller for cfg.cpus vCPUs) with every
   * vCPU's, the GIC's and the counter's state. */
  int (*save_state)(struct vmk_engine *e, struct vmk_arch_state *st,
                    vmk_error *err);
  /* Optional. Before start: takes st (untrusted: checked); start then
   * runs the vCPUs from it and ignores its boot registers. */
  int (*load_state)(struct vmk_engine *e, const struct vmk_arch_state *st,
                    vmk_error *err);
  /* Stops every vCPU and joins the threads. Safe to call twice. */
  void (*stop)(struct vmk_engine *e);
  void (*destroy)(struct vmk_engine *e);
};

extern const struct vmk_engine_ops vmk_engine_kvm_ops;
extern const struct vmk_engine_ops vmk_engine_emu_ops;

#endif
