/* timer.c — generic timer of one vCPU (see timer.h).
 *
 * The counter is derived from host time on every read, so it keeps running
 * while the vCPU sleeps; CVAL comparisons are unsigned 64-bit as the
 * architecture defines them, TVAL is the signed 32-bit view of CVAL - count.
 *
 * Threads: the owning vCPU thread only; no lock.
 */
#include "emu/sys/timer.h"

#include <time.h>

#include "emu/sys/sys.h"

#define CNTFRQ EMU_SYSREG(3, 3, 14, 0, 0)
#define CNTPCT EMU_SYSREG(3, 3, 14, 0, 1)
#define CNTVCT EMU_SYSREG(3, 3, 14, 0, 2)
#define CNTP_TVAL EMU_SYSREG(3, 3, 14, 2, 0)
#define CNTP_CTL EMU_SYSREG(3, 3, 14, 2, 1)
#define CNTP_CVAL EMU_SYSREG(3, 3, 14, 2, 2)
#define CNTV_TVAL EMU_SYSREG(3, 3, 14, 3, 0)
#define CNTV_CTL EMU_SYSREG(3, 3, 14, 3, 1)
#define CNTV_CVAL EMU_SYSREG(3, 3, 14, 3, 2)

static const unsigned intid_of[2] = {30, 27};

uint64_t emu_timer_host_ns(void *opaque) {
  (void)opaque;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void emu_timer_init(struct emu_timer *t, uint64_t (*now_ns)(void *opaque),
                    void *clock_opaque, uint64_t base_ns,
                    void (*output)(void *opaque, unsigned intid, bool level),
                    void *output_opaque) {
  *t = (struct emu_timer){0};
  t->now_ns = now_ns ? now_ns : emu_timer_host_ns;
  t->clock_opaque = clock_opaque;
  t->base_ns = base_ns;
  t->output = output;
  t->output_opaque = output_opaque;
  t->frq = EMU_TIMER_FREQ;
  t->deadline_ns = UINT64_MAX;
}

static uint64_t count_at(const struct emu_timer *t, uint64_t ns) {
  return (ns > t->base_ns ? (ns - t->base_ns) / EMU_TIMER_NS_PER_TICK : 0) +
         t->offset;
}

uint64_t emu_timer_count(const struct emu_timer *t) {
  return count_at(t, t->now_ns(t->clock_opaque));
}

/* Host time at which the counter reaches cval (saturating). */
static uint64_t ns_of(const struct emu_timer *t, uint64_t cval) {
  if (cval <= t->offset)
    return t->base_ns; /* reached before the counter's base: due now */
  cval -= t->offset;
  if (cval > (UINT64_MAX - t->base_ns) / EMU_TIMER_NS_PER_TICK)
    return UINT64_MAX;
  return t->base_ns + cval * EMU_TIMER_NS_PER_TICK;
}

static void evaluate(struct emu_timer *t, uint64_t now) {
  uint64_t count = count_at(t, now);
  t->deadline_ns = UINT64_MAX;
  for (int i = 0; i < 2; i++) {
    bool enabled = t->t[i].ctl & EMU_TIMER_CTL_ENABLE;
    bool masked = t->t[i].ctl & EMU_TIMER_CTL_IMASK;
    bool fired = enabled && count >= t->t[i].cval;
    bool out = fired && !masked;
    if (enabled && !masked && !fired) {
      uint64_t d = ns_of(t, t->t[i].cval);
      if (d < t->deadline_ns)
        t->deadline_ns = d;
    }
    if (out != t->t[i].out) {
      t->t[i].out = out;
      if (t->output)
        t->output(t->output_opaque, intid_of[i], out);
    }
  }
}

void emu_timer_poll(struct emu_timer *t) {
  evaluate(t, t->now_ns(t->clock_opaque));
}

static int which(uint32_t enc) {
  switch (enc) {
  case CNTP_TVAL:
  case CNTP_CTL:
  case CNTP_CVAL:
    return EMU_TIMER_PHYS;
  case CNTV_TVAL:
  case CNTV_CTL:
  case CNTV_CVAL:
    return EMU_TIMER_VIRT;
  }
  return -1;
}

void emu_timer_poll_due(struct emu_timer *t) {
  if (t->deadline_ns == UINT64_MAX)
    return;
  uint64_t now = t->now_ns(t->clock_opaque);
  if (now >= t->deadline_ns)
    evaluate(t, now);
}

bool emu_timer_read(struct emu_timer *t, uint32_t enc, uint64_t *val) {
  uint64_t now = t->now_ns(t->clock_opaque);
  uint64_t count = count_at(t, now);
  int i = which(enc);
  /* A read that can show the condition met (ISTATUS, TVAL <= 0, the
   * count past CVAL) raises the output now rather than at the next poll:
   * a guest spinning on it must take the interrupt as soon as it sees it. */
  if (now >= t->deadline_ns)
    evaluate(t, now);
  switch (enc) {
  case CNTFRQ:
    *val = t->frq;
    return true;
  case CNTPCT:
  case CNTVCT:
    *val = count;
    return true;
  case CNTP_CTL:
  case CNTV_CTL: {
    uint32_t ctl = t->t[i].ctl;
    if ((ctl & EMU_TIMER_CTL_ENABLE) && count >= t->t[i].cval)
      ctl |= EMU_TIMER_CTL_ISTATUS;
    *val = ctl;
    return true;
  }
  case CNTP_CVAL:
  case CNTV_CVAL:
    *val = t->t[i].cval;
    return true;
  case CNTP_TVAL:
  case CNTV_TVAL:
    *val = (uint32_t)(t->t[i].cval - count);
    return true;
  }
  return false;
}

bool emu_timer_write(struct emu_timer *t, uint32_t enc, uint64_t val) {
  uint64_t now = t->now_ns(t->clock_opaque);
  int i = which(enc);
  switch (enc) {
  case CNTFRQ:
    t->frq = (uint32_t)val;
    return true;
  case CNTP_CTL:
  case CNTV_CTL:
    t->t[i].ctl = (uint32_t)val & (EMU_TIMER_CTL_ENABLE | EMU_TIMER_CTL_IMASK);
    break;
  case CNTP_CVAL:
  case CNTV_CVAL:
    t->t[i].cval = val;
    break;
  case CNTP_TVAL:
  case CNTV_TVAL:
    t->t[i].cval = count_at(t, now) + (uint64_t)(int64_t)(int32_t)val;
    break;
  default:
    return false;
  }
  evaluate(t, now);
  return true;
}
