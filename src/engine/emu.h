/* emu.h — internals of the emu engine (emu.c) shared with its PSCI
 * service (emu_psci.c): the per-vCPU state and the engine object.
 *
 * Threads: each struct emu_vcpu is run by its own host thread; fields
 * marked "under e->lock" are shared with other vCPU threads (PSCI CPU_ON,
 * cross-vCPU requests, wake-ups) and the VM's owner thread (pause/stop).
 */
#ifndef VMK_EMU_ENGINE_H
#define VMK_EMU_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"
#include "emu/sys/gicv3.h"
#include "emu/sys/sys.h"
#include "emu/sys/timer.h"
#include "engine/engine.h"

/* PSCI power state of a vCPU (AFFINITY_INFO numbering). */
enum emu_power { EMU_POWER_ON = 0, EMU_POWER_OFF = 1, EMU_POWER_PENDING = 2 };

/* Cross-vCPU requests (emu_vcpu.req bits), honoured at the next block
 * boundary of the target. */
#define EMU_VREQ_TLB_FLUSH 1u  /* broadcast TLBI: drop the whole soft TLB */
#define EMU_VREQ_CODE_FLUSH 2u /* IC IALLUIS: drop decoded blocks */
#define EMU_VREQ_CODE_PAGE 4u  /* IC IVAU: drop the blocks of code_pages */
#define EMU_VREQ_TLBI 8u       /* broadcast TLBI: perform the queued tlbis */

#define EMU_UNPRIV_CACHE 64u
#define EMU_CODE_PAGE_QUEUE 8u
#define EMU_TLBI_QUEUE 8u

/* --emu-mode jit: each vCPU's translated-code region (its own; translations
 * are per vCPU, as decoded blocks are). The bound: 32 MiB. A boot of the
 * default guest filled 15.5 MiB of it before the register cache and host
 * flags, 26.7 MiB after (bench/emu_boot.sh, 1 vCPU); at the 8-vCPU maximum
 * that is 256 MiB of address space, resident only as far as code is
 * written. Full: every translation is dropped (the pages go back to the
 * host) and blocks are translated again as they run. */
#define EMU_ENGINE_JIT_CODE ((size_t)32 << 20)
/* the same with VMK_JIT_PERFMAP (see emu.c) */
#define EMU_ENGINE_JIT_CODE_PERF ((size_t)512 << 20)

struct emu_engine;

struct emu_vcpu {
  struct emu_cpu cpu; /* first: env callbacks get &cpu */
  struct emu_sys sys;
  struct emu_timer timer;
  struct emu_engine *e;
  unsigned idx;
  pthread_t thread;
  bool joinable;     /* owner thread only */
  pthread_cond_t cv; /* with e->lock: WFI sleep, powered-off wait */

  /* under e->lock */
  enum emu_power power;
  uint64_t on_pc, on_ctx; /* CPU_ON arguments while PENDING */
  bool sleeping;
  bool kicked;

  uint32_t req; /* EMU_VREQ_* bits, atomic */
  /* under e->lock: host pages whose decoded code other vCPUs' IC IVAU
   * invalidated (EMU_VREQ_CODE_PAGE); a full queue becomes CODE_FLUSH. */
  void *code_pages[EMU_CODE_PAGE_QUEUE];
  unsigned ncode_pages;
  /* under e->lock: other vCPUs' broadcast TLBIs to perform here
   * (EMU_VREQ_TLBI); a full queue becomes TLB_FLUSH. */
  struct emu_tlbi tlbis[EMU_TLBI_QUEUE];
  unsigned ntlbis;

  /* EL0 permissions of recently checked pages for LDTR/STTR at EL1
   * (direct-mapped; dropped with the soft TLB). vCPU thread only. */
  uint64_t up_page[EMU_UNPRIV_CACHE];
  uint8_t up_prot[EMU_UNPRIV_CACHE];
  /* VMK_EMU_TRACE=N: the start PCs of the last N blocks (ring), printed
   * when the vCPU stops on an error. NULL when tracing is off. */
  uint64_t *trace;
  unsigned trace_pos;
  /* Unmapped MMIO accesses already reported (log once). */
  bool unmapped_logged;
};

struct emu_engine {
  struct vmk_engine base;
  struct vmk_engine_config cfg;
  struct emu_gicv3 gic;
  bool gic_ready;
  uint64_t base_ns; /* system counter zero, shared by every vCPU */
  /* Host time the last pause completed (under lock): resume moves the
   * counter's zero forward by the time paused, so the guest's clocks do
   * not jump (as a laptop's suspend would not). */
  uint64_t paused_at_ns;
  pthread_mutex_t lock;
  pthread_cond_t cond;   /* pause acknowledgements */
  unsigned req;          /* ENGINE_REQ_* bits, atomic */
  unsigned live, parked; /* under lock */
  bool started;
  bool restored;          /* load_state ran: start keeps the vCPUs' state */
  bool exit_reported;     /* atomic */
  int trace;              /* VMK_EMU_TRACE: PCs of the last blocks on errors */
  bool stats;             /* VMK_EMU_STATS: print per-vCPU counters at exit */
  bool perfmap;           /* VMK_JIT_PERFMAP: /tmp/perf-PID.map for perf */
  bool jit_strict;        /* VMK_JIT_STRICT: a block the translator should take
                             and cannot ends the VM (a vmkit bug, never hidden) */
  struct emu_vcpu *vcpus; /* cfg.cpus entries */
};

/* Ends the machine (report once, stop every vCPU). Any vCPU thread. */
void emu_engine_end(struct emu_engine *e, vmk_exit_reason why,
                    const vmk_error *err);

/* Serves a PSCI call (HVC) of v: function id in x0, args in x1..x3,
 * result in x0. Returns false when v must stop running (CPU_OFF,
 * SYSTEM_OFF/RESET). */
bool emu_psci_call(struct emu_vcpu *v);

#endif
