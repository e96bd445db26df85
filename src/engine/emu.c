/* emu.c — the emu engine: runs the guest's vCPUs on vmkit's own AArch64
 * emulator (src/emu core + src/emu/sys system blocks), behind the same
 * engine interface as kvm, so the guest sees the same machine.
 *
 * One host thread per vCPU, each owning a struct emu_cpu (core state,
 * soft TLB, decoded blocks), a struct emu_sys (EL1 state) and its generic
 * timer. One emulated GICv3 is shared (own lock); its distributor and
 * redistributor frames sit on the MMIO bus like any device, and its SPI
 * input is the irq_chip devices use. Every other MMIO access goes to the
 * bus; unmapped addresses read as zero and ignore writes (logged once).
 *
 * The vCPU loop (see src/emu/sys/env.h): run a slice of guest code; serve
 * PSCI on HVC; sleep on WFI until an interrupt is pending or the timer
 * deadline passes; between slices poll the timers and deliver interrupts,
 * and honour requests from other threads (pause/stop, broadcast TLBI and
 * IC invalidation), which set cpu.exit_request so the target leaves its
 * slice at the next block boundary.
 *
 * Decoded blocks are keyed by physical page (src/emu/block.c), so
 * process switches and TLBIs keep them; IC IVAU drops one page's code on
 * every vCPU (the others get the host page through their code_pages
 * queue), IC IALLU(IS) all of it.
 *
 * Debugging: VMK_EMU_TRACE=N runs one block at a time and prints the
 * start PCs of the last N blocks (and VBAR/ELR/ESR/FAR) when a vCPU stops
 * on an error. VMK_EMU_STATS=1 prints each vCPU's counters (blocks
 * decoded, code pages invalidated, code flushes, TLB fills) at the end.
 *
 * Threads: create/start/pause/resume/stop/destroy on the VM's owner
 * thread; the vCPU threads; the GIC wake callback and irq_chip from any
 * thread. Locking: e->lock protects power states, sleep/kick flags, the
 * pause/stop handshake counts (live/parked); e->req and vcpu.req are
 * atomics read without the lock on the fast path. Lock order: gic lock ->
 * e->lock (the GIC's wake callback takes e->lock).
 */
#include "engine/emu.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emu/jit/translate.h"
#include "emu/sys/debug.h"
#include "emu/sys/env.h"
#include "emu/sys/mmu.h"
#include "emu/sys/sysregs.h"
#include "engine/emu_snapshot.h"

#define ENGINE_REQ_PAUSE 1u
#define ENGINE_REQ_STOP 2u

/* Guest instructions per slice: bounds how late a timer interrupt is
 * noticed while the vCPU is busy (about a millisecond). */
#define SLICE_INSNS 200000u

static struct emu_vcpu *vcpu_of_cpu(struct emu_cpu *cpu) {
  return (struct emu_vcpu *)cpu; /* cpu is the first member */
}

/* ---- core environment callbacks (vCPU thread) ---------------------------- */

static int env_tlb_fill(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                        unsigned size) {
  return emu_sys_tlb_fill(&vcpu_of_cpu(cpu)->sys, va, acc, size);
}

static void unmapped(struct emu_vcpu *v, bool write, uint64_t pa,
                     unsigned size) {
  if (v->unmapped_logged)
    return;
  v->unmapped_logged = true;
  fprintf(stderr,
          "vmkit: emu: vCPU %u %s %u bytes at unmapped address 0x%" PRIx64
          " (pc 0x%" PRIx64 "; ignored, further ones are not logged)\n",
          v->idx, write ? "wrote" : "read", size, pa, v->cpu.pc);
}

static uint64_t env_mmio_read(struct emu_cpu *cpu, uint64_t va, unsigned size) {
  struct emu_vcpu *v = vcpu_of_cpu(cpu);
  uint64_t pa, val = 0;
  if (!emu_sys_mmio_pa(&v->sys, va, &pa))
    return 0;
  if (vmk_bus_read(v->e->cfg.bus, pa, size, &val) < 0) {
    unmapped(v, false, pa, size);
    return 0;
  }
  return val;
}

static void env_mmio_write(struct emu_cpu *cpu, uint64_t va, unsigned size,
                           uint64_t val) {
  struct emu_vcpu *v = vcpu_of_cpu(cpu);
  uint64_t pa;
  if (!emu_sys_mmio_pa(&v->sys, va, &pa))
    return;
  if (vmk_bus_write(v->e->cfg.bus, pa, size, val) < 0)
    unmapped(v, true, pa, size);
}

static void env_exception(struct emu_cpu *cpu, enum emu_exit kind,
                          uint32_t syndrome, uint64_t addr) {
  emu_sys_exception(&vcpu_of_cpu(cpu)->sys, kind, syndrome, addr);
}

static bool env_sysreg_read(struct emu_cpu *cpu, uint32_t enc, uint64_t *val) {
  return emu_sys_sysreg_read(&vcpu_of_cpu(cpu)->sys, enc, val);
}

static bool env_sysreg_write(struct emu_cpu *cpu, uint32_t enc, uint64_t val) {
  return emu_sys_sysreg_write(&vcpu_of_cpu(cpu)->sys, enc, val);
}

static void unpriv_cache_clear(struct emu_vcpu *v) {
  for (unsigned i = 0; i < EMU_UNPRIV_CACHE; i++)
    v->up_page[i] = EMU_TLB_INVALID;
}

/* EL0's permission for one access within a page: from the cache, else by
 * a table walk as EL0 (which also yields the fault to report). */
static bool unpriv_page(struct emu_vcpu *v, uint64_t va, enum emu_access acc) {
  uint64_t page = va & EMU_PAGE_MASK;
  unsigned i = (unsigned)(va >> EMU_PAGE_BITS) & (EMU_UNPRIV_CACHE - 1);
  uint8_t need = acc == EMU_WRITE ? EMU_PROT_W : EMU_PROT_R;
  if (v->up_page[i] == page && (v->up_prot[i] & need))
    return true;
  struct emu_mmu_regs regs;
  struct emu_mmu_walker w = emu_sys_walker(&v->sys);
  struct emu_mmu_result res;
  emu_sys_mmu_regs(&v->sys, &regs);
  if (emu_mmu_translate(&regs, &w, va, acc, 0, 0, &res)) {
    v->sys.fault.valid = true;
    v->sys.fault.va = va;
    v->sys.fault.fsc = res.fsc;
    return false;
  }
  v->up_page[i] = page;
  v->up_prot[i] = res.prot[0];
  return true;
}

static bool env_unpriv_check(struct emu_cpu *cpu, uint64_t va,
                             enum emu_access acc, unsigned size,
                             uint64_t *fault_va) {
  struct emu_vcpu *v = vcpu_of_cpu(cpu);
  if (v->sys.el == 0)
    return true;
  *fault_va = va;
  if (!unpriv_page(v, va, acc))
    return false;
  /* An access crossing a page faults at the first byte of the second
   * page when only that one is not allowed (FAR must name it, or the
   * guest's fault handler fixes the wrong page forever). */
  uint64_t next = (va & EMU_PAGE_MASK) + EMU_PAGE_SIZE;
  if (size > 1 && va + size - 1 >= next) {
    *fault_va = next;
    if (!unpriv_page(v, next, acc))
      return false;
  }
  return true;
}

static bool env_bp_at(struct emu_cpu *cpu, uint64_t pc) {
  return emu_dbg_bp_at(&vcpu_of_cpu(cpu)->sys, pc);
}
static uint32_t env_bp_check(struct emu_cpu *cpu, uint64_t pc) {
  return emu_dbg_bp_check(&vcpu_of_cpu(cpu)->sys, pc);
}
static uint32_t env_watch_check(struct emu_cpu *cpu, uint64_t va, unsigned size,
                                enum emu_access acc) {
  return emu_dbg_watch_check(&vcpu_of_cpu(cpu)->sys, va, size,
                             acc == EMU_WRITE);
}
static uint32_t env_step_before(struct emu_cpu *cpu) {
  return emu_dbg_step_before(&vcpu_of_cpu(cpu)->sys);
}
static void env_step_done(struct emu_cpu *cpu, uint32_t raw) {
  emu_dbg_step_done(&vcpu_of_cpu(cpu)->sys, raw);
}

static const struct emu_env_ops env_ops = {
    .tlb_fill = env_tlb_fill,
    .mmio_read = env_mmio_read,
    .mmio_write = env_mmio_write,
    .exception = env_exception,
    .sysreg_read = env_sysreg_read,
    .sysreg_write = env_sysreg_write,
    .unpriv_check = env_unpriv_check,
    .bp_at = env_bp_at,
    .bp_check = env_bp_check,
    .watch_check = env_watch_check,
    .step_before = env_step_before,
    .step_done = env_step_done,
};

/* ---- system-block callbacks (vCPU thread) -------------------------------- */

/* Posts req to every vCPU but v and gets them to a block boundary. */
static void post_others(struct emu_vcpu *v, uint32_t req) {
  struct emu_engine *e = v->e;
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    struct emu_vcpu *o = &e->vcpus[i];
    if (o == v)
      continue;
    __atomic_fetch_or(&o->req, req, __ATOMIC_SEQ_CST);
    emu_cpu_request_exit(&o->cpu);
  }
}

static void handle_requests(struct emu_vcpu *v);

/* A broadcast TLBI or IC completes (as the issuer's next DSB requires)
 * only once every other vCPU that runs guest code has honoured it: wait
 * for their acknowledgement (the request bits cleared). A vCPU asleep in
 * WFI, powered off or parked runs no guest code and honours its requests
 * before it does, so it counts as done. The waiter serves its own
 * requests meanwhile, so two vCPUs broadcasting at once do not wait for
 * each other forever. */
static void wait_others(struct emu_vcpu *v, uint32_t mask) {
  struct emu_engine *e = v->e;
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    struct emu_vcpu *o = &e->vcpus[i];
    if (o == v)
      continue;
    while (__atomic_load_n(&o->req, __ATOMIC_SEQ_CST) & mask) {
      if (__atomic_load_n(&e->req, __ATOMIC_SEQ_CST))
        return; /* pause/stop: everyone leaves guest code anyway */
      pthread_mutex_lock(&e->lock);
      bool idle = o->sleeping || o->power != EMU_POWER_ON;
      pthread_mutex_unlock(&e->lock);
      if (idle)
        break;
      if (__atomic_load_n(&v->req, __ATOMIC_SEQ_CST))
        handle_requests(v);
      sched_yield();
    }
  }
}

/* Queues a broadcast TLBI for every other vCPU: each performs exactly
 * that invalidation (a full queue: all of its TLB). */
static void post_tlbi(struct emu_vcpu *v, const struct emu_tlbi *op) {
  struct emu_engine *e = v->e;
  pthread_mutex_lock(&e->lock);
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    struct emu_vcpu *o = &e->vcpus[i];
    if (o == v)
      continue;
    uint32_t req = EMU_VREQ_TLBI;
    if (op->kind != EMU_TLBI_ALL && o->ntlbis < EMU_TLBI_QUEUE)
      o->tlbis[o->ntlbis++] = *op;
    else
      req = EMU_VREQ_TLB_FLUSH;
    __atomic_fetch_or(&o->req, req, __ATOMIC_SEQ_CST);
    emu_cpu_request_exit(&o->cpu);
  }
  pthread_mutex_unlock(&e->lock);
}

static void sys_tlbi(void *opaque, const struct emu_tlbi *op) {
  struct emu_vcpu *v = opaque;
  emu_sys_tlb_invalidate(&v->sys, op);
  unpriv_cache_clear(v);
  if (op->broadcast && v->e->cfg.cpus > 1) {
    post_tlbi(v, op);
    wait_others(v, EMU_VREQ_TLB_FLUSH | EMU_VREQ_TLBI);
  }
}

/* Queues host page hpage for every other vCPU's IC IVAU work. */
static void post_code_page(struct emu_vcpu *v, void *hpage) {
  struct emu_engine *e = v->e;
  pthread_mutex_lock(&e->lock);
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    struct emu_vcpu *o = &e->vcpus[i];
    if (o == v)
      continue;
    unsigned k = 0;
    while (k < o->ncode_pages && o->code_pages[k] != hpage)
      k++;
    uint32_t req = EMU_VREQ_CODE_PAGE;
    if (k == o->ncode_pages) {
      if (k < EMU_CODE_PAGE_QUEUE)
        o->code_pages[o->ncode_pages++] = hpage;
      else
        req = EMU_VREQ_CODE_FLUSH;
    }
    __atomic_fetch_or(&o->req, req, __ATOMIC_SEQ_CST);
    emu_cpu_request_exit(&o->cpu);
  }
  pthread_mutex_unlock(&e->lock);
}

static void sys_ic(void *opaque, bool broadcast, bool all, uint64_t va) {
  struct emu_vcpu *v = opaque;
  void *hpage = emu_sys_ic_local(&v->sys, all, va);
  if (!broadcast || v->e->cfg.cpus < 2)
    return;
  if (all) {
    post_others(v, EMU_VREQ_CODE_FLUSH);
  } else if (hpage) {
    post_code_page(v, hpage);
  } else {
    return; /* no code at that VA */
  }
  wait_others(v, EMU_VREQ_CODE_FLUSH | EMU_VREQ_CODE_PAGE);
}

static void sys_regime(void *opaque, enum emu_regime_change why) {
  struct emu_vcpu *v = opaque;
  if (why != EMU_REGIME_EL)
    unpriv_cache_clear(v);
  emu_sys_regime_changed(&v->sys, why);
}

static const struct emu_sys_ops sys_ops = {
    .phys_read64 = NULL,
    .tlbi = sys_tlbi,
    .ic_inval = sys_ic,
    .regime_changed = sys_regime,
};

/* ---- wake-ups ------------------------------------------------------------ */

/* Gets v out of its slice or its sleep. Caller holds e->lock. */
static void kick_locked(struct emu_vcpu *v) {
  emu_cpu_request_exit(&v->cpu);
  v->kicked = true;
  pthread_cond_signal(&v->cv);
}

/* GIC callback (any thread, GIC lock held): an interrupt line of vCPU cpu
 * rose. */
static void gic_wake(void *opaque, unsigned cpu) {
  struct emu_engine *e = opaque;
  if (cpu >= e->cfg.cpus)
    return;
  pthread_mutex_lock(&e->lock);
  kick_locked(&e->vcpus[cpu]);
  pthread_mutex_unlock(&e->lock);
}

static void kick_all_locked(struct emu_engine *e) {
  for (unsigned i = 0; i < e->cfg.cpus; i++)
    kick_locked(&e->vcpus[i]);
}

/* on_exit runs without e->lock: it takes the VM's lock, which a pause
 * must not need while it waits for this vCPU (engine.h). */
void emu_engine_end(struct emu_engine *e, vmk_exit_reason why,
                    const vmk_error *err) {
  if (!__atomic_exchange_n(&e->exit_reported, true, __ATOMIC_SEQ_CST) &&
      e->cfg.on_exit)
    e->cfg.on_exit(e->cfg.opaque, why, err);
  pthread_mutex_lock(&e->lock);
  __atomic_fetch_or(&e->req, ENGINE_REQ_STOP, __ATOMIC_SEQ_CST);
  pthread_cond_broadcast(&e->cond);
  kick_all_locked(e);
  pthread_mutex_unlock(&e->lock);
}

/* ---- the vCPU loop ---------------------------------------------------------
 */

static uint64_t now_ns(void) { return emu_timer_host_ns(NULL); }

/* Pause/stop requested: park until resumed. false: leave the loop.
 * Caller holds e->lock. */
static bool park_locked(struct emu_engine *e) {
  unsigned req = __atomic_load_n(&e->req, __ATOMIC_SEQ_CST);
  if (req & ENGINE_REQ_PAUSE) {
    e->parked++;
    pthread_cond_broadcast(&e->cond);
    while (__atomic_load_n(&e->req, __ATOMIC_SEQ_CST) == ENGINE_REQ_PAUSE)
      pthread_cond_wait(&e->cond, &e->lock);
    e->parked--;
  }
  return !(__atomic_load_n(&e->req, __ATOMIC_SEQ_CST) & ENGINE_REQ_STOP);
}

static void abs_timespec(uint64_t ns, struct timespec *ts) {
  ts->tv_sec = (time_t)(ns / 1000000000ull);
  ts->tv_nsec = (long)(ns % 1000000000ull);
}

/* WFI: sleeps until an interrupt is pending for v, the timer deadline, a
 * kick or a request. */
static void wfi_sleep(struct emu_vcpu *v) {
  struct emu_engine *e = v->e;
  emu_timer_poll(&v->timer);
  pthread_mutex_lock(&e->lock);
  v->kicked = false;
  while (!v->kicked && !emu_sys_wfi_wakeup(&v->sys) &&
         !__atomic_load_n(&e->req, __ATOMIC_SEQ_CST) &&
         !__atomic_load_n(&v->req, __ATOMIC_SEQ_CST)) {
    uint64_t dl = emu_timer_deadline_ns(&v->timer);
    if (dl == UINT64_MAX) {
      v->sleeping = true;
      pthread_cond_wait(&v->cv, &e->lock);
    } else {
      if (now_ns() >= dl)
        break;
      struct timespec ts;
      abs_timespec(dl, &ts);
      v->sleeping = true;
      pthread_cond_timedwait(&v->cv, &e->lock, &ts);
    }
    v->sleeping = false;
  }
  v->sleeping = false;
  pthread_mutex_unlock(&e->lock);
}

/* Resets v's CPU to the PSCI CPU_ON entry state. */
static void power_on(struct emu_vcpu *v, uint64_t pc, uint64_t x0) {
  emu_sys_reset(&v->sys, &v->cpu, v->idx, &sys_ops, v);
  memset(v->cpu.r, 0, sizeof v->cpu.r);
  v->cpu.r[0] = x0;
  v->cpu.pc = pc;
  v->cpu.nzcv = 0;
  v->cpu.excl_size = 0;
  emu_sys_tlb_flush(&v->sys);
  emu_sys_asid_changed(&v->sys);
  unpriv_cache_clear(v);
  emu_flush_code(&v->cpu);
}

/* Powered off: waits for CPU_ON (or stop). false: leave the loop. */
static bool wait_power_on(struct emu_vcpu *v) {
  struct emu_engine *e = v->e;
  pthread_mutex_lock(&e->lock);
  for (;;) {
    if (__atomic_load_n(&e->req, __ATOMIC_SEQ_CST) && !park_locked(e)) {
      pthread_mutex_unlock(&e->lock);
      return false;
    }
    if (v->power == EMU_POWER_PENDING)
      break;
    pthread_cond_wait(&v->cv, &e->lock);
  }
  uint64_t pc = v->on_pc, x0 = v->on_ctx;
  v->power = EMU_POWER_ON;
  pthread_mutex_unlock(&e->lock);
  power_on(v, pc, x0);
  return true;
}

static void handle_requests(struct emu_vcpu *v) {
  uint32_t req = __atomic_exchange_n(&v->req, 0, __ATOMIC_SEQ_CST);
  if (req & (EMU_VREQ_TLBI | EMU_VREQ_TLB_FLUSH)) {
    struct emu_tlbi ops[EMU_TLBI_QUEUE];
    pthread_mutex_lock(&v->e->lock);
    unsigned n = v->ntlbis;
    memcpy(ops, v->tlbis, n * sizeof *ops);
    v->ntlbis = 0;
    pthread_mutex_unlock(&v->e->lock);
    if (req & EMU_VREQ_TLB_FLUSH)
      emu_sys_tlb_flush(&v->sys);
    else
      for (unsigned i = 0; i < n; i++)
        emu_sys_tlb_invalidate(&v->sys, &ops[i]);
    unpriv_cache_clear(v);
  }
  if (req & EMU_VREQ_CODE_PAGE) {
    void *pages[EMU_CODE_PAGE_QUEUE];
    pthread_mutex_lock(&v->e->lock);
    unsigned n = v->ncode_pages;
    memcpy(pages, v->code_pages, n * sizeof *pages);
    v->ncode_pages = 0;
    pthread_mutex_unlock(&v->e->lock);
    for (unsigned i = 0; i < n; i++)
      emu_code_invalidate_host(&v->cpu, pages[i]);
  }
  if (req & EMU_VREQ_CODE_FLUSH)
    emu_flush_code(&v->cpu);
}

static void print_trace(struct emu_vcpu *v) {
  unsigned n = (unsigned)v->e->trace;
  fprintf(stderr,
          "vmkit: emu: vCPU %u: last %u block start PCs, oldest "
          "first:\n",
          v->idx, n);
  for (unsigned i = 0; i < n; i++) {
    uint64_t pc = v->trace[(v->trace_pos + i) % n];
    if (pc != EMU_TLB_INVALID)
      fprintf(stderr, "  0x%016" PRIx64 "\n", pc);
  }
}

static void fatal(struct emu_vcpu *v, enum emu_exit why) {
  vmk_error err;
  if (v->trace)
    print_trace(v);
  struct emu_sys_regs *r = &v->sys.regs;
  vmk_err(&err, -EIO,
          "vCPU %u stopped: the emulator could not continue (exit %d at pc "
          "0x%" PRIx64 ", EL%u, syndrome 0x%x, address 0x%" PRIx64
          "; VBAR 0x%" PRIx64 " ELR 0x%" PRIx64 " ESR 0x%" PRIx64
          " FAR 0x%" PRIx64 ").",
          v->idx, (int)why, v->cpu.pc, v->sys.el, v->cpu.exit_syndrome,
          v->cpu.exit_addr, r->vbar, r->elr, r->esr, r->far);
  emu_engine_end(v->e, VMK_EXIT_ERROR, &err);
}

/* VMK_JIT_STRICT: a block that should have been translated ran in the
 * interpreter (translate.c said so on stderr): correct, but a translator
 * bug the -jit tests must not pass over. */
static void jit_strict_stop(struct emu_vcpu *v) {
  vmk_error err;
  vmk_err(&err, -EIO,
          "vCPU %u: the translator could not take %" PRIu64
          " blocks and VMK_JIT_STRICT is set (a vmkit bug; unset "
          "VMK_JIT_STRICT or use --emu-mode interp to run on).",
          v->idx, v->cpu.jit->failed);
  emu_engine_end(v->e, VMK_EXIT_ERROR, &err);
}

static void *vcpu_thread(void *arg) {
  struct emu_vcpu *v = arg;
  struct emu_engine *e = v->e;
  bool on;
  pthread_mutex_lock(&e->lock);
  on = v->power == EMU_POWER_ON;
  pthread_mutex_unlock(&e->lock);
  if (!on && !wait_power_on(v))
    goto out;
  for (;;) {
    if (__atomic_load_n(&e->req, __ATOMIC_SEQ_CST)) {
      pthread_mutex_lock(&e->lock);
      bool go = park_locked(e);
      pthread_mutex_unlock(&e->lock);
      if (!go)
        break;
    }
    if (__atomic_load_n(&v->req, __ATOMIC_RELAXED))
      handle_requests(v);
    emu_timer_poll(&v->timer);
    emu_sys_poll_interrupts(&v->sys);
    enum emu_exit x;
    if (__builtin_expect(v->trace != NULL, 0)) {
      /* One block per run (a budget of 1 ends at the first block end), so
       * every block start is seen. Slow: a debugging aid. */
      v->trace[v->trace_pos] = v->cpu.pc;
      v->trace_pos = (v->trace_pos + 1) % (unsigned)e->trace;
      x = emu_run(&v->cpu, 1);
    } else {
      x = emu_run(&v->cpu, SLICE_INSNS);
    }
    if (__builtin_expect(e->jit_strict && v->cpu.jit && v->cpu.jit->failed,
                         0)) {
      jit_strict_stop(v);
      goto out;
    }
    switch (x) {
    case EMU_EXIT_BUDGET:
    case EMU_EXIT_REQUEST:
    case EMU_EXIT_NONE:
      break;
    case EMU_EXIT_WFI:
      wfi_sleep(v);
      break;
    case EMU_EXIT_HVC:
      if (!emu_psci_call(v)) {
        if (__atomic_load_n(&e->req, __ATOMIC_SEQ_CST) & ENGINE_REQ_STOP)
          goto out;
        if (!wait_power_on(v)) /* CPU_OFF */
          goto out;
      }
      break;
    default:
      fatal(v, x);
      goto out;
    }
  }
out:
  pthread_mutex_lock(&e->lock);
  e->live--;
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->lock);
  return NULL;
}

/* ---- lifecycle (owner thread) -------------------------------------------- */

static int emu_probe(vmk_error *err) {
  (void)err;
  return 0; /* runs anywhere */
}

static void emu_destroy(struct vmk_engine *base);

static int emu_create(const struct vmk_engine_config *cfg,
                      struct vmk_engine **out, vmk_error *err) {
  *out = NULL;
  if (cfg->cpus < 1 || cfg->cpus > EMU_GIC_MAX_CPUS)
    return vmk_err(err, -EINVAL,
                   "the emu engine runs 1 to %u vCPUs; %u were asked for",
                   EMU_GIC_MAX_CPUS, cfg->cpus);
  if ((uint64_t)cfg->cpus * EMU_GIC_RD_STRIDE > cfg->gicr_size)
    return vmk_err(err, -EINVAL,
                   "the machine's GIC redistributor region is too small for "
                   "%u vCPUs",
                   cfg->cpus);
  if (cfg->emu_jit && !VMK_EMU_JIT_HOST)
    return vmk_err(err, -EINVAL,
                   "the translator (--emu-mode jit) makes x86-64 code, and "
                   "this host is not x86-64; use --emu-mode interp");
  struct emu_engine *e = calloc(1, sizeof *e);
  if (!e)
    return vmk_err(err, -ENOMEM, "out of memory creating the emu engine");
  e->vcpus = calloc(cfg->cpus, sizeof *e->vcpus);
  if (!e->vcpus) {
    free(e);
    return vmk_err(err, -ENOMEM, "out of memory creating the emu engine");
  }
  e->base.ops = &vmk_engine_emu_ops;
  e->cfg = *cfg;
  pthread_mutex_init(&e->lock, NULL);
  pthread_cond_init(&e->cond, NULL);
  const char *tr = getenv("VMK_EMU_TRACE");
  e->trace = tr && *tr ? atoi(tr) : 0;
  if (e->trace < 0 || e->trace > 1000000)
    e->trace = 0;
  const char *st = getenv("VMK_EMU_STATS");
  e->stats = st && *st && strcmp(st, "0") != 0;
  const char *strict = getenv("VMK_JIT_STRICT");
  e->jit_strict = strict && *strict && strcmp(strict, "0") != 0;
  const char *pm = getenv("VMK_JIT_PERFMAP");
  e->perfmap = pm && *pm && strcmp(pm, "0") != 0;
  int r = emu_gicv3_init(&e->gic, cfg->cpus, cfg->nr_spis, gic_wake, e, err);
  if (r)
    goto fail;
  e->gic_ready = true;
  e->base.irq_chip = e->gic.chip;
  if ((r = vmk_bus_add(cfg->bus, "gicv3-dist", cfg->gicd_base, cfg->gicd_size,
                       &emu_gicv3_dist_ops, &e->gic, err)) ||
      (r = vmk_bus_add(cfg->bus, "gicv3-redist", cfg->gicr_base, cfg->gicr_size,
                       &emu_gicv3_redist_ops, &e->gic, err)))
    goto fail;
  e->base_ns = now_ns();
  for (unsigned i = 0; i < cfg->cpus; i++) {
    struct emu_vcpu *v = &e->vcpus[i];
    v->e = e;
    v->idx = i;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&v->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (e->trace > 0) {
      v->trace = malloc((size_t)e->trace * sizeof *v->trace);
      if (!v->trace) {
        r = vmk_err(err, -ENOMEM, "out of memory for VMK_EMU_TRACE=%d",
                    e->trace);
        goto fail;
      }
      for (int k = 0; k < e->trace; k++)
        v->trace[k] = EMU_TLB_INVALID;
    }
    if ((r = emu_cpu_init(&v->cpu, &env_ops, v))) {
      r = vmk_err(err, r, "out of memory creating vCPU %u of the emu engine",
                  i);
      goto fail;
    }
    /* For perf: it names code from a perf map only in anonymous memory,
     * not in the memfd the code region is by default, and a map cannot
     * say that an address was reused, so the region is made large enough
     * that filling it (a flush) is rare. Both per vCPU. */
    if (cfg->emu_jit &&
        (r = emu_jit_new(&v->cpu.jit,
                         e->perfmap ? EMU_ENGINE_JIT_CODE_PERF
                                    : EMU_ENGINE_JIT_CODE,
                         e->perfmap ? EMU_CODE_BUF_SINGLE_MAP : 0, err)) < 0)
      goto fail;
    if (v->cpu.jit && e->perfmap) { /* for perf: translations by guest pc */
      char mp[64];
      snprintf(mp, sizeof mp, "/tmp/perf-%d.map", (int)getpid());
      v->cpu.jit->perfmap = fopen(mp, "a");
      if (v->cpu.jit->perfmap)
        setvbuf(v->cpu.jit->perfmap, NULL, _IOLBF, 0);
    }
    emu_timer_init(&v->timer, emu_timer_host_ns, NULL, e->base_ns,
                   emu_sys_timer_output, &v->sys);
    v->sys.ram = cfg->ram;
    v->sys.gic = &e->gic;
    v->sys.timer = &v->timer;
    emu_sys_reset(&v->sys, &v->cpu, i, &sys_ops, v);
    v->power = EMU_POWER_OFF;
  }
  *out = &e->base;
  return 0;
fail:
  emu_destroy(&e->base);
  return r;
}

static int emu_start(struct vmk_engine *base, const struct vmk_boot_regs *boot,
                     vmk_error *err) {
  struct emu_engine *e = (struct emu_engine *)base;
  if (e->started)
    return vmk_err(err, -EALREADY, "the emu engine was already started");
  e->started = true;
  if (!e->restored) {
    struct emu_vcpu *b = &e->vcpus[0];
    power_on(b, boot->pc, boot->x0);
    b->power = EMU_POWER_ON;
  }
  int r = 0;
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    struct emu_vcpu *v = &e->vcpus[i];
    pthread_mutex_lock(&e->lock);
    int x = pthread_create(&v->thread, NULL, vcpu_thread, v);
    if (x == 0) {
      e->live++;
      v->joinable = true;
    }
    pthread_mutex_unlock(&e->lock);
    if (x) {
      r = vmk_err(err, -x, "could not start the thread of vCPU %u: %s", i,
                  strerror(x));
      break;
    }
  }
  if (r)
    base->ops->stop(base);
  return r;
}

static int emu_pause(struct vmk_engine *base, vmk_error *err) {
  struct emu_engine *e = (struct emu_engine *)base;
  (void)err;
  pthread_mutex_lock(&e->lock);
  __atomic_fetch_or(&e->req, ENGINE_REQ_PAUSE, __ATOMIC_SEQ_CST);
  kick_all_locked(e);
  while (e->parked < e->live)
    pthread_cond_wait(&e->cond, &e->lock);
  e->paused_at_ns = now_ns();
  pthread_mutex_unlock(&e->lock);
  return 0;
}

/* Every vCPU is parked (e->lock held): the counter's zero, and with it
 * every armed deadline, moves by delta_ns. The timers belong to their
 * vCPU threads, which wait on e->lock and see the change when they wake. */
static void shift_counter_locked(struct emu_engine *e, uint64_t delta_ns) {
  e->base_ns += delta_ns;
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    struct emu_timer *t = &e->vcpus[i].timer;
    t->base_ns += delta_ns;
    if (t->deadline_ns != UINT64_MAX)
      t->deadline_ns = t->deadline_ns > UINT64_MAX - delta_ns
                           ? UINT64_MAX
                           : t->deadline_ns + delta_ns;
  }
}

static int emu_resume(struct vmk_engine *base, vmk_error *err) {
  struct emu_engine *e = (struct emu_engine *)base;
  (void)err;
  pthread_mutex_lock(&e->lock);
  if (__atomic_load_n(&e->req, __ATOMIC_SEQ_CST) & ENGINE_REQ_PAUSE) {
    uint64_t now = now_ns();
    if (now > e->paused_at_ns)
      shift_counter_locked(e, now - e->paused_at_ns);
  }
  __atomic_fetch_and(&e->req, ~ENGINE_REQ_PAUSE, __ATOMIC_SEQ_CST);
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->lock);
  return 0;
}

/* The counter now, or when the VM was paused. Caller holds e->lock. */
static uint64_t counter_locked(struct emu_engine *e) {
  const struct emu_timer *t = &e->vcpus[0].timer;
  uint64_t at = (__atomic_load_n(&e->req, __ATOMIC_SEQ_CST) & ENGINE_REQ_PAUSE)
                    ? e->paused_at_ns
                    : now_ns();
  return (at > t->base_ns ? (at - t->base_ns) / EMU_TIMER_NS_PER_TICK : 0) +
         t->offset;
}

static int emu_save_state(struct vmk_engine *base, struct vmk_arch_state *st,
                          vmk_error *err) {
  struct emu_engine *e = (struct emu_engine *)base;
  if (st->ncpus != e->cfg.cpus)
    return vmk_err(err, -EINVAL, "the state holds %u vCPUs, the engine %u",
                   st->ncpus, e->cfg.cpus);
  pthread_mutex_lock(&e->lock);
  bool paused =
      !e->started ||
      ((__atomic_load_n(&e->req, __ATOMIC_SEQ_CST) & ENGINE_REQ_PAUSE) &&
       e->parked == e->live);
  if (!paused) {
    pthread_mutex_unlock(&e->lock);
    return vmk_err(err, -EBUSY, "the VM must be paused to save its state");
  }
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    struct emu_vcpu *v = &e->vcpus[i];
    emu_vcpu_state_save(&v->sys, &v->cpu, &v->timer, &st->vcpu[i]);
    st->vcpu[i].power = (uint32_t)v->power;
    st->vcpu[i].on_pc = v->on_pc;
    st->vcpu[i].on_ctx = v->on_ctx;
  }
  st->counter = counter_locked(e);
  st->cntfrq = e->vcpus[0].timer.frq;
  pthread_mutex_unlock(&e->lock);
  emu_gicv3_save(&e->gic, &st->gicd, st->gicr);
  return 0;
}

static int emu_load_state(struct vmk_engine *base,
                          const struct vmk_arch_state *st, vmk_error *err) {
  struct emu_engine *e = (struct emu_engine *)base;
  if (e->started)
    return vmk_err(err, -EBUSY, "the emu engine already runs");
  if (st->ncpus != e->cfg.cpus)
    return vmk_err(err, -EINVAL, "the snapshot has %u vCPUs; this VM has %u",
                   st->ncpus, e->cfg.cpus);
  if (st->cntfrq != EMU_TIMER_FREQ)
    return vmk_err(err, -EINVAL,
                   "the snapshot's counter runs at %llu Hz; the emu engine's "
                   "at %llu Hz",
                   (unsigned long long)st->cntfrq,
                   (unsigned long long)EMU_TIMER_FREQ);
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    struct emu_vcpu *v = &e->vcpus[i];
    const struct vmk_vcpu_state *s = &st->vcpu[i];
    if (s->power > EMU_POWER_PENDING)
      return vmk_err(err, -EINVAL,
                     "vCPU %u of the snapshot has an unknown power state %u", i,
                     s->power);
    int r = emu_vcpu_state_load(&v->sys, &v->cpu, &v->timer, i, s, err);
    if (r)
      return r;
    unpriv_cache_clear(v);
    v->power = (enum emu_power)s->power;
    v->on_pc = s->on_pc;
    v->on_ctx = s->on_ctx;
  }
  int r = emu_gicv3_load(&e->gic, &st->gicd, st->gicr, err);
  if (r)
    return r;
  /* The counter goes on from the saved count (not from the host's). */
  e->base_ns = now_ns();
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    e->vcpus[i].timer.base_ns = e->base_ns;
    e->vcpus[i].timer.offset = st->counter;
  }
  e->restored = true;
  return 0;
}

static void emu_stop(struct vmk_engine *base) {
  struct emu_engine *e = (struct emu_engine *)base;
  pthread_mutex_lock(&e->lock);
  __atomic_fetch_or(&e->req, ENGINE_REQ_STOP, __ATOMIC_SEQ_CST);
  pthread_cond_broadcast(&e->cond);
  kick_all_locked(e);
  pthread_mutex_unlock(&e->lock);
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    struct emu_vcpu *v = &e->vcpus[i];
    if (v->joinable) {
      pthread_join(v->thread, NULL);
      v->joinable = false;
    }
  }
}

static void emu_destroy(struct vmk_engine *base) {
  struct emu_engine *e = (struct emu_engine *)base;
  if (!e)
    return;
  emu_stop(base);
  for (unsigned i = 0; i < e->cfg.cpus && e->stats && e->vcpus; i++) {
    const struct emu_cpu *c = &e->vcpus[i].cpu;
    if (e->vcpus[i].e)
      fprintf(stderr,
              "vmkit: emu stats: vCPU %u: %" PRIu64 " blocks decoded, %" PRIu64
              " code pages invalidated, %" PRIu64 " code flushes, %" PRIu64
              " TLB fills, %" PRIu64 " TLB flushes, %" PRIu64 " instructions\n",
              i, c->stats.blocks_built, c->stats.code_page_drops,
              c->stats.code_flushes, c->stats.tlb_fills, c->stats.tlb_flushes,
              c->icount);
    const struct emu_jit *j = c->jit;
    if (e->vcpus[i].e && j) {
      struct emu_code_buf_stats cs;
      emu_code_buf_stats(&j->cb, &cs);
      fprintf(stderr,
              "vmkit: emu stats: vCPU %u jit: %" PRIu64
              " blocks translated (%" PRIu64 " insns inline, %" PRIu64
              " helper calls), %" PRIu64 " left to the interpreter, %" PRIu64
              " failed; code region %zu KiB used, %zu KiB peak of %zu KiB, "
              "%" PRIu64 " flushes, %s; %" PRIu64 " dispatches, %" PRIu64
              " exits linked, %" PRIu64 " jump cache fills\n",
              i, j->blocks, j->inline_ops, j->helper_ops, j->refused, j->failed,
              cs.used >> 10, cs.peak >> 10, cs.size >> 10, cs.flushes,
              cs.near_text ? "near calls" : "far calls", j->dispatches,
              j->links, j->jc_fills);
    }
  }
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    if (e->vcpus[i].e) {
      emu_cpu_destroy(&e->vcpus[i].cpu);
      free(e->vcpus[i].trace);
      pthread_cond_destroy(&e->vcpus[i].cv);
    }
  }
  if (e->gic_ready)
    emu_gicv3_destroy(&e->gic);
  pthread_cond_destroy(&e->cond);
  pthread_mutex_destroy(&e->lock);
  free(e->vcpus);
  free(e);
}

const struct vmk_engine_ops vmk_engine_emu_ops = {
    .name = "emu",
    .probe = emu_probe,
    .create = emu_create,
    .add_ioeventfd = NULL,
    .start = emu_start,
    .pause = emu_pause,
    .resume = emu_resume,
    .save_state = emu_save_state,
    .load_state = emu_load_state,
    .stop = emu_stop,
    .destroy = emu_destroy,
};
