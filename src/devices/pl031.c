/* pl031.c — ARM PrimeCell PL031 RTC. The counter is the host's
 * CLOCK_REALTIME plus an offset the guest sets through the load register.
 * The match interrupt is evaluated whenever the guest touches the device and,
 * once an I/O loop is attached, by a timerfd armed for the match time, so an
 * alarm also wakes an idle guest.
 *
 * Threads: vCPU threads call the MMIO ops, the I/O thread runs the timer
 * callback; rtc->lock protects the state. Lock order: rtc->lock, then the
 * loop's (the loop never calls us with its lock held). */
#include "pl031.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum {
  REG_DR = 0x00,
  REG_MR = 0x04,
  REG_LR = 0x08,
  REG_CR = 0x0C,
  REG_IMSC = 0x10,
  REG_RIS = 0x14,
  REG_MIS = 0x18,
  REG_ICR = 0x1C,
  REG_ID0 = 0xFE0,
};

/* PeriphID0..3 (part 0x031, ARM, rev 0) then PrimeCell ID0..3. */
static const uint8_t pl031_id[8] = {0x31, 0x10, 0x04, 0x00,
                                    0x0d, 0xf0, 0x05, 0xb1};

struct vmk_pl031 {
  struct vmk_irq_line irq;
  pthread_mutex_t lock;
  int64_t offset; /* guest time - host time, seconds */
  uint32_t mr;    /* match register */
  bool armed;     /* a match at mr is still to come */
  uint32_t imsc;  /* bit 0: interrupt mask */
  uint32_t ris;   /* bit 0: raw interrupt */
  bool irq_level;
  struct vmk_io_loop *loop; /* NULL: no alarm timer */
  int timer_fd;             /* CLOCK_REALTIME timerfd, -1 when none */
};

static uint32_t now(const struct vmk_pl031 *rtc) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  /* The register is 32 bits wide: it wraps in 2106, as the hardware does. */
  return (uint32_t)((int64_t)ts.tv_sec + rtc->offset);
}

static void update(struct vmk_pl031 *rtc) {
  /* A match happens once the counter has reached mr since mr was set;
   * the signed difference keeps this right across the 32-bit wrap. */
  if (rtc->armed && (int32_t)(now(rtc) - rtc->mr) >= 0) {
    rtc->ris |= 1;
    rtc->armed = false;
  }
  bool level = (rtc->ris & rtc->imsc & 1) != 0;
  if (level != rtc->irq_level) {
    rtc->irq_level = level;
    vmk_irq_set(&rtc->irq, level);
  }
}

/* Arms the timerfd for the host time at which the counter reaches mr. A
 * match already due fires at once (update() sees it on the next access or
 * the timer's 1 ns expiry). */
static void arm_timer(struct vmk_pl031 *rtc) {
  if (rtc->timer_fd < 0)
    return;
  struct itimerspec its;
  memset(&its, 0, sizeof(its));
  if (rtc->armed) {
    int32_t left = (int32_t)(rtc->mr - now(rtc));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (left <= 0) {
      its.it_value.tv_nsec = 1;
    } else {
      its.it_value.tv_sec = ts.tv_sec + left;
      its.it_value.tv_nsec = 0;
    }
    timerfd_settime(rtc->timer_fd, left <= 0 ? 0 : TFD_TIMER_ABSTIME, &its,
                    NULL);
    return;
  }
  timerfd_settime(rtc->timer_fd, 0, &its, NULL); /* disarm */
}

/* I/O thread: the alarm time came. */
static void timer_fired(void *opaque, uint32_t events) {
  struct vmk_pl031 *rtc = opaque;
  uint64_t n;
  (void)events;
  if (read(rtc->timer_fd, &n, sizeof(n)) < 0)
    n = 0; /* EAGAIN: already consumed, or the timer was re-armed */
  pthread_mutex_lock(&rtc->lock);
  update(rtc);
  /* A host clock step can make the timer fire early: try again. */
  if (rtc->armed)
    arm_timer(rtc);
  pthread_mutex_unlock(&rtc->lock);
}

static uint32_t reg_read(struct vmk_pl031 *rtc, uint64_t reg) {
  switch (reg) {
  case REG_DR:
    return now(rtc);
  case REG_MR:
    return rtc->mr;
  case REG_LR:
    return now(rtc); /* reads back the counter, as QEMU's model does */
  case REG_CR:
    return 1; /* always started */
  case REG_IMSC:
    return rtc->imsc;
  case REG_RIS:
    return rtc->ris;
  case REG_MIS:
    return rtc->ris & rtc->imsc;
  default:
    if (reg >= REG_ID0 && reg < REG_ID0 + 32)
      return pl031_id[(reg - REG_ID0) / 4];
    return 0;
  }
}

static void reg_write(struct vmk_pl031 *rtc, uint64_t reg, uint32_t v) {
  switch (reg) {
  case REG_MR:
    rtc->mr = v;
    rtc->armed = true;
    arm_timer(rtc);
    break;
  case REG_LR: {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rtc->offset = (int64_t)v - (int64_t)ts.tv_sec;
    arm_timer(rtc); /* the match moved in host time */
    break;
  }
  case REG_IMSC:
    rtc->imsc = v & 1;
    break;
  case REG_ICR:
    rtc->ris &= ~(v & 1);
    break;
  default:
    break; /* DR is read-only; CR cannot stop the clock */
  }
}

static uint64_t pl031_read(void *opaque, uint64_t off, unsigned size) {
  struct vmk_pl031 *rtc = opaque;
  if (off >= 0x1000 || size > 4)
    return 0;
  pthread_mutex_lock(&rtc->lock);
  update(rtc);
  uint32_t v = reg_read(rtc, off & ~3ull);
  pthread_mutex_unlock(&rtc->lock);
  v >>= (off & 3) * 8;
  return size == 4 ? v : v & ((1u << (size * 8)) - 1);
}

static void pl031_write(void *opaque, uint64_t off, unsigned size,
                        uint64_t val) {
  struct vmk_pl031 *rtc = opaque;
  if (off >= 0x1000 || (off & 3) || size > 4)
    return;
  pthread_mutex_lock(&rtc->lock);
  reg_write(rtc, off, (uint32_t)val);
  update(rtc);
  pthread_mutex_unlock(&rtc->lock);
}

const struct vmk_mmio_ops vmk_pl031_ops = {
    .read = pl031_read,
    .write = pl031_write,
};

int vmk_pl031_create(struct vmk_irq_line irq, struct vmk_pl031 **out,
                     vmk_error *err) {
  struct vmk_pl031 *rtc = calloc(1, sizeof(*rtc));
  *out = NULL;
  if (!rtc)
    return vmk_err(err, -ENOMEM, "out of memory creating the PL031 RTC");
  rtc->irq = irq;
  rtc->timer_fd = -1;
  pthread_mutex_init(&rtc->lock, NULL);
  *out = rtc;
  return 0;
}

int vmk_pl031_attach_loop(struct vmk_pl031 *rtc, struct vmk_io_loop *loop,
                          vmk_error *err) {
  int fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
  if (fd < 0)
    return vmk_err(err, -errno, "cannot create the RTC alarm timer: %s",
                   strerror(errno));
  int rc = vmk_io_loop_add(loop, fd, EPOLLIN, timer_fired, rtc);
  if (rc) {
    close(fd);
    return vmk_err(err, rc, "cannot watch the RTC alarm timer: %s",
                   strerror(-rc));
  }
  pthread_mutex_lock(&rtc->lock);
  rtc->loop = loop;
  rtc->timer_fd = fd;
  arm_timer(rtc);
  pthread_mutex_unlock(&rtc->lock);
  return 0;
}

void vmk_pl031_destroy(struct vmk_pl031 *rtc) {
  if (!rtc)
    return;
  if (rtc->timer_fd >= 0) {
    vmk_io_loop_del(rtc->loop, rtc->timer_fd);
    close(rtc->timer_fd);
  }
  pthread_mutex_destroy(&rtc->lock);
  free(rtc);
}

/* ---- snapshots ---- */

#define SAVE_VERSION 1

void vmk_pl031_save(struct vmk_pl031 *rtc, struct vmk_sbuf *out) {
  pthread_mutex_lock(&rtc->lock);
  update(rtc);
  vmk_sbuf_u32(out, SAVE_VERSION);
  vmk_sbuf_u64(out, (uint64_t)rtc->offset);
  vmk_sbuf_u32(out, rtc->mr);
  vmk_sbuf_u8(out, rtc->armed);
  vmk_sbuf_u32(out, rtc->imsc);
  vmk_sbuf_u32(out, rtc->ris);
  pthread_mutex_unlock(&rtc->lock);
}

int vmk_pl031_load(struct vmk_pl031 *rtc, const void *data, size_t len,
                   vmk_error *err) {
  struct vmk_sreader r = vmk_sreader_of(data, len);
  uint32_t version = vmk_sr_u32(&r);
  int64_t offset = (int64_t)vmk_sr_u64(&r);
  uint32_t mr = vmk_sr_u32(&r);
  bool armed = vmk_sr_bool(&r);
  uint32_t imsc = vmk_sr_u32(&r), ris = vmk_sr_u32(&r);
  if (version != SAVE_VERSION || !vmk_sr_done(&r))
    return vmk_err(err, -EINVAL, "the snapshot's PL031 state is malformed");
  pthread_mutex_lock(&rtc->lock);
  /* The guest's clock keeps its distance from the host's wall clock, as a
   * battery-backed RTC would across a power cut. */
  rtc->offset = offset;
  rtc->mr = mr;
  rtc->armed = armed;
  rtc->imsc = imsc & 1;
  rtc->ris = ris & 1;
  update(rtc);
  arm_timer(rtc);
  pthread_mutex_unlock(&rtc->lock);
  return 0;
}
