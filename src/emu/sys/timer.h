/* timer.h — the ARM generic timer of one vCPU: the system counter
 * (CNTPCT/CNTVCT at 62.5 MHz, i.e. one tick per 16 ns of host
 * CLOCK_MONOTONIC, counting from the VM's start), and the EL1 physical and
 * virtual timers (CTL, CVAL, TVAL). Their outputs are level signals to the
 * GIC's PPIs 30 (physical) and 27 (virtual).
 *
 * Threads: a struct emu_timer belongs to its vCPU thread. Time moves on
 * without it: the engine calls emu_timer_poll() between blocks when
 * emu_timer_deadline_ns() has passed, and sleeps in WFI no longer than that
 * deadline; a register read or write past the deadline raises the output
 * at once. The output callback runs on the same thread.
 */
#ifndef VMK_EMU_SYS_TIMER_H
#define VMK_EMU_SYS_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define EMU_TIMER_FREQ 62500000ull /* CNTFRQ_EL0 */
#define EMU_TIMER_NS_PER_TICK 16ull

#define EMU_TIMER_CTL_ENABLE 1u
#define EMU_TIMER_CTL_IMASK 2u
#define EMU_TIMER_CTL_ISTATUS 4u

enum { EMU_TIMER_PHYS = 0, EMU_TIMER_VIRT = 1 };

struct emu_timer {
  uint64_t (*now_ns)(void *opaque); /* monotonic nanoseconds */
  void *clock_opaque;
  uint64_t base_ns; /* host time of counter value `offset` (shared) */
  /* The count at base_ns: 0 for a booted VM, the saved count for a
   * restored one (a snapshot's counter need not fit the host's clock). */
  uint64_t offset;
  /* Output level change: intid 30 (phys) or 27 (virt). */
  void (*output)(void *opaque, unsigned intid, bool level);
  void *output_opaque;
  uint64_t frq; /* CNTFRQ_EL0 as the guest last wrote it (EL1 may) */
  struct {
    uint32_t ctl; /* ENABLE, IMASK (ISTATUS computed) */
    uint64_t cval;
    bool out;
  } t[2];
  uint64_t deadline_ns; /* when an output next rises; UINT64_MAX: never */
};

/* The default clock: CLOCK_MONOTONIC in ns (opaque unused). */
uint64_t emu_timer_host_ns(void *opaque);

void emu_timer_init(struct emu_timer *t, uint64_t (*now_ns)(void *opaque),
                    void *clock_opaque, uint64_t base_ns,
                    void (*output)(void *opaque, unsigned intid, bool level),
                    void *output_opaque);

/* The system counter now (CNTPCT_EL0; CNTVCT_EL0 is the same: CNTVOFF 0). */
uint64_t emu_timer_count(const struct emu_timer *t);

/* CNTFRQ, CNTPCT, CNTVCT, CNTP_xxx, CNTV_xxx (enc as EMU_SYSREG). false: not a
 * timer register, or a write to a read-only one. No EL0 checks here.
 * Both re-evaluate the outputs when a deadline has passed, so the output
 * callback may run inside them. */
bool emu_timer_read(struct emu_timer *t, uint32_t enc, uint64_t *val);
bool emu_timer_write(struct emu_timer *t, uint32_t enc, uint64_t val);

/* Re-evaluates both outputs at the current time (calls output on change). */
void emu_timer_poll(struct emu_timer *t);

/* emu_timer_poll, but only reads the clock when an output is armed to
 * rise and only re-evaluates when that time has come. */
void emu_timer_poll_due(struct emu_timer *t);

/* Absolute host time (emu_timer.now_ns units) at which an output will
 * next rise, UINT64_MAX if none is armed. */
static inline uint64_t emu_timer_deadline_ns(const struct emu_timer *t) {
  return t->deadline_ns;
}

#endif
