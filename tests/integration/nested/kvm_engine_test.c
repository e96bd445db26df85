/* kvm_engine_test.c — drives the kvm engine directly with a tiny hand-written
 * arm64 guest (no kernel, no machine model), inside the nested KVM host.
 *
 * The guest (machine code below, source in the comment) checks the boot
 * registers, an MMIO write and read through the bus, PSCI CPU_ON of the
 * second vCPU (served by KVM in the kernel) and its context id, an
 * ioeventfd with datamatch, then ends with the PSCI call the test device
 * hands it (SYSTEM_OFF, SYSTEM_RESET, or none: spin doing MMIO reads, for
 * the pause/resume/stop test). A second guest stores a register pair to
 * MMIO, which KVM cannot decode: the VM must end with an error, not the
 * process. Prints "N passed, N failed".
 *
 * Threads: main runs the tests; the engine's vCPU threads call the test
 * device and on_exit. The test device's fields are atomics; the exit is
 * guarded by a mutex + condvar.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "machine/memmap.h"

#define RAM_SIZE (16u << 20)
#define DEV_BASE 0x0A000000ull
#define BOOT_X0 0x40001000ull

/* _start:  movz x9,#0x0A00,lsl#16; str x0,[x9]; ldr w1,[x9,#8];
 *          str w1,[x9,#0x10]; w0=0xC4000003 (CPU_ON); x1=1; adr x2,secondary;
 *          x3=0x77; hvc #0; str x0,[x9,#0x18]
 * wait:    ldr x4,[x9,#0x20]; cbz x4,wait
 *          str 0x42 -> [x9,#0x30]; str 0x43 -> [x9,#0x30]
 *          ldr w0,[x9,#0x28]; cbz w0,spin; hvc #0; b .
 * spin:    ldr w6,[x9,#0x38]; b spin
 * secondary: movz x9,#0x0A00,lsl#16; str x0,[x9,#0x40];
 *          w0=0x84000002 (CPU_OFF); hvc #0; b .                            */
static const uint32_t guest_code[] = {
    0xd2a14009, 0xf9000120, 0xb9400921, 0xb9001121, 0x52800060, 0x72b88000,
    0xd2800021, 0x10000202, 0xd2800ee3, 0xd4000002, 0xf9000d20, 0xf9401124,
    0xb4ffffe4, 0x52800845, 0xb9003125, 0x52800865, 0xb9003125, 0xb9402920,
    0x34000060, 0xd4000002, 0x14000000, 0xb9403926, 0x17ffffff, 0xd2a14009,
    0xf9002120, 0x52800040, 0x72b08000, 0xd4000002, 0x14000000,
};

/* A guest that stores a register pair to MMIO, which KVM cannot decode:
 * movz x9,#0x0A00,lsl#16; stp x0,x1,[x9,#0x100]; b .                     */
static const uint32_t bad_mmio_code[] = {0xd2a14009, 0xa9100520, 0x14000000};

struct testdev {
  _Atomic uint64_t boot_x0, readback, cpu_on_ret, secondary_ctx;
  _Atomic uint64_t last_0x30, writes_0x30, spins;
  _Atomic uint32_t final_call;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int exits;
  vmk_exit_reason reason;
  char errmsg[VMK_ERROR_MSG_MAX];
};

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size) {
  struct testdev *d = opaque;
  (void)size;
  switch (off) {
  case 0x08:
    return 0x5a5a1234;
  case 0x20:
    return atomic_load(&d->secondary_ctx) != 0;
  case 0x28:
    return atomic_load(&d->final_call);
  case 0x38:
    atomic_fetch_add(&d->spins, 1);
    return 0;
  }
  return 0;
}

static void dev_write(void *opaque, uint64_t off, unsigned size, uint64_t val) {
  struct testdev *d = opaque;
  (void)size;
  switch (off) {
  case 0x00:
    atomic_store(&d->boot_x0, val);
    break;
  case 0x10:
    atomic_store(&d->readback, val);
    break;
  case 0x18:
    atomic_store(&d->cpu_on_ret, val);
    break;
  case 0x30:
    atomic_store(&d->last_0x30, val);
    atomic_fetch_add(&d->writes_0x30, 1);
    break;
  case 0x40:
    atomic_store(&d->secondary_ctx, val);
    break;
  }
}

static const struct vmk_mmio_ops dev_ops = {dev_read, dev_write};

static void on_exit_cb(void *opaque, vmk_exit_reason why,
                       const vmk_error *err) {
  struct testdev *d = opaque;
  if (err)
    fprintf(stderr, "  engine error: %s\n", err->msg);
  pthread_mutex_lock(&d->lock);
  if (err)
    snprintf(d->errmsg, sizeof(d->errmsg), "%s", err->msg);
  d->exits++;
  d->reason = why;
  pthread_cond_broadcast(&d->cond);
  pthread_mutex_unlock(&d->lock);
}

static int passed, failed;
#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (cond) {                                                                \
      passed++;                                                                \
    } else {                                                                   \
      failed++;                                                                \
      printf("  FAIL %s:%d: ", __FILE__, __LINE__);                            \
      printf(__VA_ARGS__);                                                     \
      printf("\n");                                                            \
    }                                                                          \
  } while (0)

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Waits (bounded, for a hang not to hang the test) for on_exit. */
static bool wait_exit(struct testdev *d, unsigned ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  pthread_mutex_lock(&d->lock);
  int r = 0;
  while (d->exits == 0 && r != ETIMEDOUT)
    r = pthread_cond_timedwait(&d->cond, &d->lock, &until);
  bool ok = d->exits > 0;
  pthread_mutex_unlock(&d->lock);
  return ok;
}

struct rig {
  uint8_t *host;
  struct vmk_guest_mem ram;
  struct vmk_bus bus;
  struct testdev dev;
  struct vmk_engine *e;
  int efd;
};

static int rig_up_code(struct rig *r, unsigned cpus, uint32_t final_call,
                       const uint32_t *code, size_t code_size) {
  memset(r, 0, sizeof(*r));
  pthread_mutex_init(&r->dev.lock, NULL);
  pthread_cond_init(&r->dev.cond, NULL);
  atomic_store(&r->dev.final_call, final_call);
  r->host = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r->host == MAP_FAILED)
    return -errno;
  memcpy(r->host, code, code_size);
  r->ram = (struct vmk_guest_mem){VMK_RAM_BASE, RAM_SIZE, r->host};
  vmk_bus_init(&r->bus);
  vmk_error err;
  if (vmk_bus_add(&r->bus, "testdev", DEV_BASE, 0x1000, &dev_ops, &r->dev,
                  &err) < 0) {
    printf("  bus: %s\n", err.msg);
    return -1;
  }
  struct vmk_engine_config cfg = {
      .cpus = cpus,
      .ram = &r->ram,
      .bus = &r->bus,
      .gicd_base = VMK_GICD_BASE,
      .gicd_size = VMK_GICD_SIZE,
      .gicr_base = VMK_GICR_BASE,
      .gicr_size = VMK_GICR_SIZE,
      .nr_spis = VMK_NR_SPIS,
      .on_exit = on_exit_cb,
      .opaque = &r->dev,
  };
  int rc = vmk_engine_kvm_ops.create(&cfg, &r->e, &err);
  if (rc < 0) {
    printf("  create: %s\n", err.msg);
    return rc;
  }
  r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  rc = vmk_engine_kvm_ops.add_ioeventfd(r->e, DEV_BASE + 0x30, 4, 0x42, r->efd,
                                        &err);
  if (rc < 0) {
    printf("  ioeventfd: %s\n", err.msg);
    return rc;
  }
  struct vmk_boot_regs boot = {.pc = VMK_RAM_BASE, .x0 = BOOT_X0};
  rc = vmk_engine_kvm_ops.start(r->e, &boot, &err);
  if (rc < 0)
    printf("  start: %s\n", err.msg);
  return rc;
}

static int rig_up(struct rig *r, unsigned cpus, uint32_t final_call) {
  return rig_up_code(r, cpus, final_call, guest_code, sizeof(guest_code));
}

static void rig_down(struct rig *r) {
  if (r->e)
    vmk_engine_kvm_ops.destroy(r->e);
  if (r->efd > 0)
    close(r->efd);
  munmap(r->host, RAM_SIZE);
}

static void check_common(struct rig *r) {
  CHECK(atomic_load(&r->dev.boot_x0) == BOOT_X0, "boot x0 0x%llx",
        (unsigned long long)atomic_load(&r->dev.boot_x0));
  CHECK(atomic_load(&r->dev.readback) == 0x5a5a1234, "MMIO read gave 0x%llx",
        (unsigned long long)atomic_load(&r->dev.readback));
  CHECK(atomic_load(&r->dev.cpu_on_ret) == 0, "PSCI CPU_ON returned 0x%llx",
        (unsigned long long)atomic_load(&r->dev.cpu_on_ret));
  CHECK(atomic_load(&r->dev.secondary_ctx) == 0x77,
        "secondary context id 0x%llx",
        (unsigned long long)atomic_load(&r->dev.secondary_ctx));
  uint64_t n = 0;
  CHECK(read(r->efd, &n, sizeof(n)) == sizeof(n) && n == 1,
        "ioeventfd count %llu", (unsigned long long)n);
  CHECK(atomic_load(&r->dev.writes_0x30) == 1 &&
            atomic_load(&r->dev.last_0x30) == 0x43,
        "bus saw %llu writes at 0x30, last 0x%llx (want only the 0x43)",
        (unsigned long long)atomic_load(&r->dev.writes_0x30),
        (unsigned long long)atomic_load(&r->dev.last_0x30));
}

static void test_poweroff(void) {
  printf("test: poweroff\n");
  struct rig r;
  int rc = rig_up(&r, 2, 0x84000008);
  CHECK(rc == 0, "engine came up (%d)", rc);
  if (rc == 0) {
    CHECK(wait_exit(&r.dev, 20000), "guest powered off in time");
    CHECK(r.dev.reason == VMK_EXIT_POWEROFF, "exit reason %d", r.dev.reason);
    check_common(&r);
    vmk_engine_kvm_ops.stop(r.e);
    vmk_engine_kvm_ops.stop(r.e); /* safe twice */
    CHECK(r.dev.exits == 1, "on_exit called %d times", r.dev.exits);
  }
  rig_down(&r);
}

static void test_reset(void) {
  printf("test: reset\n");
  struct rig r;
  int rc = rig_up(&r, 2, 0x84000009);
  CHECK(rc == 0, "engine came up (%d)", rc);
  if (rc == 0) {
    CHECK(wait_exit(&r.dev, 20000), "guest reset in time");
    CHECK(r.dev.reason == VMK_EXIT_RESET, "exit reason %d", r.dev.reason);
  }
  rig_down(&r);
}

static void test_pause_resume_stop(void) {
  printf("test: pause/resume/stop\n");
  struct rig r;
  int rc = rig_up(&r, 2, 0);
  CHECK(rc == 0, "engine came up (%d)", rc);
  if (rc == 0) {
    for (int i = 0; i < 2000 && atomic_load(&r.dev.spins) < 10; i++)
      sleep_ms(10);
    CHECK(atomic_load(&r.dev.spins) >= 10, "guest spins");
    check_common(&r);
    vmk_error err;
    CHECK(vmk_engine_kvm_ops.pause(r.e, &err) == 0, "pause");
    uint64_t a = atomic_load(&r.dev.spins);
    sleep_ms(200);
    uint64_t b = atomic_load(&r.dev.spins);
    CHECK(a == b, "paused guest still ran (%llu -> %llu)",
          (unsigned long long)a, (unsigned long long)b);
    /* Interrupt lines work while paused (KVM latches them). */
    r.e->irq_chip.set_level(r.e->irq_chip.opaque, 3, true);
    r.e->irq_chip.set_level(r.e->irq_chip.opaque, 3, false);
    CHECK(vmk_engine_kvm_ops.resume(r.e, &err) == 0, "resume");
    for (int i = 0; i < 2000 && atomic_load(&r.dev.spins) < b + 10; i++)
      sleep_ms(10);
    CHECK(atomic_load(&r.dev.spins) >= b + 10, "resumed guest runs");
    vmk_engine_kvm_ops.stop(r.e);
    vmk_engine_kvm_ops.stop(r.e);
    uint64_t c = atomic_load(&r.dev.spins);
    sleep_ms(100);
    CHECK(atomic_load(&r.dev.spins) == c, "stopped guest still ran");
    CHECK(r.dev.exits == 0, "host stop is not a guest exit");
  }
  rig_down(&r);
}

/* The guest is the attacker: an MMIO access KVM cannot decode ends the VM
 * with an error that says why; the process carries on. */
static void test_undecodable_mmio(void) {
  printf("test: undecodable MMIO\n");
  struct rig r;
  int rc = rig_up_code(&r, 1, 0, bad_mmio_code, sizeof(bad_mmio_code));
  CHECK(rc == 0, "engine came up (%d)", rc);
  if (rc == 0) {
    CHECK(wait_exit(&r.dev, 20000), "the VM ended in time");
    CHECK(r.dev.reason == VMK_EXIT_ERROR, "exit reason %d", r.dev.reason);
    CHECK(strstr(r.dev.errmsg, "cannot decode") != NULL, "error was '%s'",
          r.dev.errmsg);
  }
  rig_down(&r);
}

int main(void) {
  vmk_error err;
  int rc = vmk_engine_kvm_ops.probe(&err);
  printf("test: probe\n");
  CHECK(rc == 0, "probe: %s", err.msg);
  if (rc == 0) {
    test_poweroff();
    test_reset();
    test_pause_resume_stop();
    test_undecodable_mmio();
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
