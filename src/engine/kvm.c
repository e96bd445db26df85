/* kvm.c — the kvm engine: runs the guest's vCPUs with arm64 Linux KVM.
 *
 * One KVM VM per engine: guest RAM is one memory slot, the interrupt
 * controller is KVM's in-kernel vGICv3 (which also serves the arch timer
 * PPIs), vCPUs are PSCI 0.2 vCPUs so KVM answers PSCI CPU_ON/CPU_OFF/AFFINITY
 * in the kernel and only SYSTEM_OFF/SYSTEM_RESET reach us as system events.
 * Every MMIO access that is not RAM exits KVM_RUN and is handed to the bus.
 *
 * Threads: create/start/pause/resume/stop/destroy run on the VM's owner
 * thread (serialized by the VM, never under a lock a vCPU takes: see
 * engine.h; report_exit calls on_exit without e->lock for the same reason).
 * Each vCPU has its own thread running KVM_RUN in a loop (vcpu_thread); it runs
 * the bus callbacks and, once, cfg.on_exit. set_level (KVM_IRQ_LINE) and
 * add_ioeventfd are plain ioctls on the VM fd and may run on any thread;
 * so is edge (virtio-mmio's edge-triggered lines), a write to the SPI's
 * irqfd, which KVM injects without the caller entering KVM_IRQ_LINE and
 * with no second call to lower the line. An SPI's irqfd is made on its
 * first edge under irqfd_lock; after that the fd is read atomically.
 *
 * Locking: kvm_engine.lock protects pause/stop requests and the counts of
 * parked and live vCPU threads; the vCPU threads read the request word
 * `req` atomically on the fast path and only take the lock to park. To get a
 * vCPU out of the guest we set run->immediate_exit and send it a signal
 * (VMK_KVM_KICK_SIG, whose handler does nothing): KVM_RUN then returns EINTR
 * whether the thread was inside the guest or just about to enter it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/startup_trace.h"
#include "base/thread.h"
#include "engine/engine.h"
#include "engine/kvm_state.h"

#define KVM_GICR_STRIDE 0x20000ull /* RD_base + SGI_base frames per vCPU */
#define KVM_MAX_VCPUS VMK_MAX_CPUS

/* Bits of kvm_engine.req. */
#define REQ_PAUSE 1u
#define REQ_STOP 2u

struct kvm_vcpu {
  struct kvm_engine *e;
  unsigned idx;
  int fd;
  struct kvm_run *run;
  pthread_t thread;
  bool joinable; /* created and not yet joined; owner thread only */
  bool running;  /* in its loop, may be signalled; under kvm_engine.lock */
};

struct kvm_engine {
  struct vmk_engine base;
  struct vmk_engine_config cfg;
  int kvm_fd, vm_fd, gic_fd;
  size_t run_size;
  struct kvm_vcpu vcpus[KVM_MAX_VCPUS];

  pthread_mutex_t lock;
  pthread_cond_t cond; /* parked/live counts changed, or req changed */
  _Atomic unsigned req;
  unsigned parked; /* vCPU threads waiting in park() */
  unsigned live;   /* vCPU threads that have not left their loop */
  bool started;
  /* The guest's counter (KVM_REG_ARM_TIMER_CNT) when the last pause
   * completed, written back on resume so the paused time does not count
   * (owner thread only). */
  uint64_t paused_cnt;
  bool paused_cnt_valid;
  bool restored;    /* load_state ran: start keeps the vCPUs' registers */
  bool trace_start; /* VMKIT_TRACE_START=1: vCPU 0 says when it first runs */

  atomic_bool exit_reported;   /* cfg.on_exit has been called */
  atomic_bool unmapped_logged; /* an unmapped MMIO access was logged */
  atomic_bool irq_err_logged;  /* a failed KVM_IRQ_LINE was logged */

  /* One irqfd per SPI that has had an edge: -1 none yet, -2 KVM refused
   * one (fall back to KVM_IRQ_LINE); set under irqfd_lock. */
  pthread_mutex_t irqfd_lock;
  _Atomic int *irqfd; /* cfg.nr_spis entries */
};

/* ---- helpers ------------------------------------------------------------ */

static int kick_signal(void) { return SIGRTMIN; }

static void kick_handler(int sig) { (void)sig; }

/* Installs the no-op kick handler. Process-wide but idempotent: every
 * engine installs the same handler, so concurrent VMs do not race. */
static int install_kick_handler(vmk_error *err) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = kick_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: KVM_RUN must return EINTR */
  if (sigaction(kick_signal(), &sa, NULL) < 0)
    return vmk_err(err, -errno,
                   "Could not install the vCPU kick signal handler: %s.",
                   strerror(errno));
  return 0;
}

static uint64_t core_reg_id(size_t offset) {
  return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
         (offset / sizeof(__u32));
}

static int set_core_reg(int vcpu_fd, size_t offset, uint64_t val) {
  struct kvm_one_reg reg = {.id = core_reg_id(offset),
                            .addr = (uint64_t)(uintptr_t)&val};
  return ioctl(vcpu_fd, KVM_SET_ONE_REG, &reg) < 0 ? -errno : 0;
}

static int set_device_attr(int fd, uint32_t group, uint64_t attr,
                           const void *val) {
  struct kvm_device_attr a = {
      .group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)val};
  return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

/* ---- probe -------------------------------------------------------------- */

static int open_kvm(int *out, vmk_error *err) {
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT || e == ENODEV || e == ENXIO)
      return vmk_err(err, -e,
                     "The kvm engine needs /dev/kvm, which this host does not "
                     "have: enable virtualization (on a cloud or nested host, "
                     "nested virtualization), load the kvm module, or use "
                     "--engine emu.");
    if (e == EACCES || e == EPERM)
      return vmk_err(err, -e,
                     "Permission denied opening /dev/kvm: add your user to the "
                     "kvm group (or run as root), or use --engine emu.");
    return vmk_err(err, -e, "Could not open /dev/kvm: %s.", strerror(e));
  }
  int ver = ioctl(fd, KVM_GET_API_VERSION, 0);
  if (ver != KVM_API_VERSION) {
    close(fd);
    return vmk_err(err, -ENOTSUP,
                   "/dev/kvm speaks KVM API version %d, vmkit needs %d: use a "
                   "newer host kernel or --engine emu.",
                   ver, KVM_API_VERSION);
  }
  static const struct {
    int cap;
    const char *what;
  } caps[] = {
      {KVM_CAP_USER_MEMORY, "user memory slots"},
      {KVM_CAP_ONE_REG, "KVM_SET_ONE_REG"},
      {KVM_CAP_DEVICE_CTRL, "in-kernel devices"},
      {KVM_CAP_ARM_PSCI_0_2, "PSCI 0.2 vCPUs"},
      {KVM_CAP_IOEVENTFD, "ioeventfd"},
      {KVM_CAP_IMMEDIATE_EXIT, "immediate_exit"},
  };
  for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
    if (ioctl(fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
      close(fd);
      return vmk_err(err, -ENOTSUP,
                     "This host's KVM lacks %s, which the kvm engine needs: "
                     "use a newer host kernel or --engine emu.",
                     caps[i].what);
    }
  }
  *out = fd;
  return 0;
}

static int kvm_probe(vmk_error *err) {
  int fd;
  int r = open_kvm(&fd, err);
  if (r < 0)
    return r;
  close(fd);
  vmk_err_clear(err);
  return 0;
}

/* ---- interrupts --------------------------------------------------------- */

static void kvm_set_level(void *opaque, unsigned spi, bool level) {
  struct kvm_engine *e = opaque;
  if (spi >= e->cfg.nr_spis)
    return; /* devices are wired by the machine; an unwired line is a bug */
  struct kvm_irq_level l = {
      .irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (32u + spi),
      .level = level ? 1 : 0};
  if (ioctl(e->vm_fd, KVM_IRQ_LINE, &l) < 0 &&
      !atomic_exchange(&e->irq_err_logged, true))
    fprintf(stderr, "vmkit: kvm: raising SPI %u failed: %s\n", spi,
            strerror(errno));
}

/* The SPI's irqfd, made on first use; -1 when KVM has none for it. */
static int spi_irqfd(struct kvm_engine *e, unsigned spi) {
  int fd = atomic_load(&e->irqfd[spi]);
  if (fd != -1)
    return fd >= 0 ? fd : -1;
  pthread_mutex_lock(&e->irqfd_lock);
  fd = atomic_load(&e->irqfd[spi]);
  if (fd == -1) {
    fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    /* Default routing on arm64: GSI n is SPI n (INTID 32 + n). */
    struct kvm_irqfd a = {.fd = (uint32_t)fd, .gsi = spi};
    if (fd >= 0 && ioctl(e->vm_fd, KVM_IRQFD, &a) < 0) {
      int x = errno;
      close(fd);
      fd = -1;
      if (!atomic_exchange(&e->irq_err_logged, true))
        fprintf(stderr,
                "vmkit: kvm: no irqfd for SPI %u (%s); using KVM_IRQ_LINE\n",
                spi, strerror(x));
    }
    atomic_store(&e->irqfd[spi], fd >= 0 ? fd : -2);
  }
  pthread_mutex_unlock(&e->irqfd_lock);
  return fd >= 0 ? fd : -1;
}

static void kvm_edge(void *opaque, unsigned spi) {
  struct kvm_engine *e = opaque;
  if (spi >= e->cfg.nr_spis)
    return;
  int fd = spi_irqfd(e, spi);
  uint64_t one = 1;
  if (fd >= 0 && write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
    return;
  /* No irqfd: a rising edge through KVM_IRQ_LINE, which an edge-configured
   * vGIC line latches; lowering it again keeps a misconfigured (level)
   * line from staying asserted. */
  kvm_set_level(e, spi, true);
  kvm_set_level(e, spi, false);
}

static int kvm_add_ioeventfd(struct vmk_engine *base, uint64_t gpa,
                             unsigned len, uint64_t datamatch, int fd,
                             vmk_error *err) {
  struct kvm_engine *e = (struct kvm_engine *)base;
  if (len != 1 && len != 2 && len != 4 && len != 8)
    return vmk_err(err, -EINVAL,
                   "An ioeventfd must be 1, 2, 4 or 8 bytes wide, not %u.",
                   len);
  struct kvm_ioeventfd io = {.datamatch = datamatch,
                             .addr = gpa,
                             .len = len,
                             .fd = fd,
                             .flags = KVM_IOEVENTFD_FLAG_DATAMATCH};
  if (ioctl(e->vm_fd, KVM_IOEVENTFD, &io) < 0)
    return vmk_err(err, -errno,
                   "KVM could not attach an ioeventfd at 0x%llx: %s.",
                   (unsigned long long)gpa, strerror(errno));
  return 0;
}

/* ---- create ------------------------------------------------------------- */

static void kvm_destroy(struct vmk_engine *base);

static int create_vgic(struct kvm_engine *e, vmk_error *err) {
  struct kvm_create_device cd = {.type = KVM_DEV_TYPE_ARM_VGIC_V3};
  if (ioctl(e->vm_fd, KVM_CREATE_DEVICE, &cd) < 0) {
    int x = errno;
    if (x == ENODEV)
      return vmk_err(err, -x,
                     "This host's KVM cannot emulate a GICv3 for the guest "
                     "(the host interrupt controller is not a GICv3?): use a "
                     "GICv3 host or --engine emu.");
    return vmk_err(err, -x, "KVM could not create the vGICv3: %s.",
                   strerror(x));
  }
  e->gic_fd = (int)cd.fd;

  uint64_t dist = e->cfg.gicd_base, redist = e->cfg.gicr_base;
  int r = set_device_attr(e->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                          KVM_VGIC_V3_ADDR_TYPE_DIST, &dist);
  if (r == 0)
    r = set_device_attr(e->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                        KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist);
  if (r < 0)
    return vmk_err(err, r, "KVM refused the GIC frames at 0x%llx/0x%llx: %s.",
                   (unsigned long long)dist, (unsigned long long)redist,
                   strerror(-r));

  /* Interrupt IDs including the 32 private ones, a multiple of 32. */
  uint32_t nr_irqs = (32 + e->cfg.nr_spis + 31) & ~31u;
  if (nr_irqs < 64)
    nr_irqs = 64;
  r = set_device_attr(e->gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs);
  if (r < 0)
    return vmk_err(err, r, "KVM refused %u GIC interrupts: %s.", nr_irqs,
                   strerror(-r));
  return 0;
}

static int create_vcpu(struct kvm_engine *e, unsigned idx,
                       const struct kvm_vcpu_init *tmpl, vmk_error *err) {
  struct kvm_vcpu *v = &e->vcpus[idx];
  v->e = e;
  v->idx = idx;
  v->fd = ioctl(e->vm_fd, KVM_CREATE_VCPU, (unsigned long)idx);
  if (v->fd < 0) {
    v->fd = -1;
    return vmk_err(err, -errno, "KVM could not create vCPU %u: %s.", idx,
                   strerror(errno));
  }
  void *run =
      mmap(NULL, e->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
  if (run == MAP_FAILED)
    return vmk_err(err, -errno, "Could not map vCPU %u's run area: %s.", idx,
                   strerror(errno));
  v->run = run;

  struct kvm_vcpu_init init = *tmpl;
  init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
  if (idx != 0) /* secondaries wait for PSCI CPU_ON */
    init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
  if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) < 0)
    return vmk_err(err, -errno, "KVM could not initialize vCPU %u: %s.", idx,
                   strerror(errno));
  return 0;
}

static int kvm_create(const struct vmk_engine_config *cfg,
                      struct vmk_engine **out, vmk_error *err) {
  *out = NULL;
  if (cfg->cpus == 0 || cfg->cpus > KVM_MAX_VCPUS)
    return vmk_err(err, -EINVAL, "The kvm engine runs 1 to %d vCPUs, not %u.",
                   KVM_MAX_VCPUS, cfg->cpus);
  if ((uint64_t)cfg->cpus * KVM_GICR_STRIDE > cfg->gicr_size)
    return vmk_err(err, -EINVAL,
                   "The GIC redistributor region is too small for %u vCPUs.",
                   cfg->cpus);
  long page = sysconf(_SC_PAGESIZE);
  if (!cfg->ram || !cfg->ram->host || cfg->ram->size == 0 ||
      ((uintptr_t)cfg->ram->host | cfg->ram->base | cfg->ram->size) %
              (uint64_t)page !=
          0)
    return vmk_err(err, -EINVAL,
                   "Guest RAM must be a non-empty mapping aligned to the "
                   "host page size (%ld bytes).",
                   page);

  struct kvm_engine *e = calloc(1, sizeof(*e));
  if (!e)
    return vmk_err(err, -ENOMEM, "Out of memory creating the kvm engine.");
  e->base.ops = &vmk_engine_kvm_ops;
  e->base.irq_chip.set_level = kvm_set_level;
  e->base.irq_chip.opaque = e;
  e->cfg = *cfg;
  e->trace_start = vmk_startup_trace_on();
  e->kvm_fd = e->vm_fd = e->gic_fd = -1;
  for (unsigned i = 0; i < KVM_MAX_VCPUS; i++)
    e->vcpus[i].fd = -1;
  pthread_mutex_init(&e->lock, NULL);
  pthread_cond_init(&e->cond, NULL);
  pthread_mutex_init(&e->irqfd_lock, NULL);
  e->irqfd = calloc(cfg->nr_spis ? cfg->nr_spis : 1, sizeof(*e->irqfd));
  if (!e->irqfd) {
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->irqfd_lock);
    free(e);
    return vmk_err(err, -ENOMEM, "Out of memory creating the kvm engine.");
  }
  for (unsigned i = 0; i < cfg->nr_spis; i++)
    atomic_init(&e->irqfd[i], -1);

  int r = install_kick_handler(err);
  if (r < 0)
    goto fail;
  r = open_kvm(&e->kvm_fd, err);
  if (r < 0)
    goto fail;

  int sz = ioctl(e->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (sz < (int)sizeof(struct kvm_run)) {
    r = vmk_err(err, -EIO, "KVM reported a bad vCPU run area size (%d).", sz);
    goto fail;
  }
  e->run_size = (size_t)sz;

  /* Type 0: the default 40-bit IPA space, plenty for RAM from 1 GiB. */
  do
    e->vm_fd = ioctl(e->kvm_fd, KVM_CREATE_VM, 0UL);
  while (e->vm_fd < 0 && errno == EINTR);
  if (e->vm_fd < 0) {
    r = vmk_err(err, -errno, "KVM could not create a VM: %s.", strerror(errno));
    goto fail;
  }

  struct kvm_userspace_memory_region mr = {
      .slot = 0,
      .guest_phys_addr = cfg->ram->base,
      .memory_size = cfg->ram->size,
      .userspace_addr = (uint64_t)(uintptr_t)cfg->ram->host};
  if (ioctl(e->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0) {
    r = vmk_err(err, -errno,
                "KVM could not map %llu MiB of guest RAM at 0x%llx: %s (is "
                "the RAM beyond this host's IPA size?).",
                (unsigned long long)(cfg->ram->size >> 20),
                (unsigned long long)cfg->ram->base, strerror(errno));
    goto fail;
  }
  vmk_startup_mark(e->trace_start, "KVM VM created, guest RAM registered");

  /* Ask for a KVM_EXIT_ARM_NISV exit (with the address) rather than a bare
   * ENOSYS from KVM_RUN when the guest makes an MMIO access KVM cannot
   * decode; older kernels lack it and we fall back to the errno. */
  if (ioctl(e->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_NISV_TO_USER) > 0) {
    struct kvm_enable_cap cap = {.cap = KVM_CAP_ARM_NISV_TO_USER};
    (void)ioctl(e->vm_fd, KVM_ENABLE_CAP, &cap);
  }

  r = create_vgic(e, err);
  if (r < 0)
    goto fail;
  if (ioctl(e->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) > 0)
    e->base.irq_chip.edge = kvm_edge;

  struct kvm_vcpu_init tmpl;
  memset(&tmpl, 0, sizeof(tmpl));
  if (ioctl(e->vm_fd, KVM_ARM_PREFERRED_TARGET, &tmpl) < 0) {
    r = vmk_err(err, -errno, "KVM has no preferred vCPU target: %s.",
                strerror(errno));
    goto fail;
  }
  for (unsigned i = 0; i < cfg->cpus; i++) {
    r = create_vcpu(e, i, &tmpl, err);
    if (r < 0)
      goto fail;
  }
  vmk_startup_mark(e->trace_start, "vGIC and vCPUs created");

  /* The vGIC can only be initialized once every vCPU exists. */
  r = set_device_attr(e->gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
                      KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
  if (r < 0) {
    r = vmk_err(err, r, "KVM could not initialize the vGICv3: %s.",
                strerror(-r));
    goto fail;
  }

  *out = &e->base;
  return 0;
fail:
  kvm_destroy(&e->base);
  return r;
}

/* ---- vCPU threads ------------------------------------------------------- */

static void report_exit(struct kvm_engine *e, vmk_exit_reason why,
                        const vmk_error *err) {
  if (atomic_exchange(&e->exit_reported, true))
    return;
  if (e->cfg.on_exit)
    e->cfg.on_exit(e->cfg.opaque, why, err);
}

/* Gets every vCPU out of KVM_RUN (see the header comment). Caller holds
 * e->lock (so no thread is created or leaves meanwhile) and has set the
 * request bit first. */
static void kick_all(struct kvm_engine *e) {
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    struct kvm_vcpu *v = &e->vcpus[i];
    if (!v->run)
      continue;
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (v->running)
      pthread_kill(v->thread, kick_signal());
  }
}

/* The guest ended the machine or the engine failed: report it once and
 * stop every vCPU. Runs on a vCPU thread. */
static void end_machine(struct kvm_engine *e, vmk_exit_reason why,
                        const vmk_error *err) {
  report_exit(e, why, err);
  pthread_mutex_lock(&e->lock);
  atomic_fetch_or(&e->req, REQ_STOP);
  pthread_cond_broadcast(&e->cond);
  kick_all(e);
  pthread_mutex_unlock(&e->lock);
}

/* Slow path: a pause or stop was requested. Returns false to leave. */
static bool park(struct kvm_engine *e) {
  bool go_on;
  pthread_mutex_lock(&e->lock);
  if (atomic_load(&e->req) & REQ_PAUSE) {
    e->parked++;
    pthread_cond_broadcast(&e->cond);
    while (atomic_load(&e->req) == REQ_PAUSE)
      pthread_cond_wait(&e->cond, &e->lock);
    e->parked--;
  }
  go_on = !(atomic_load(&e->req) & REQ_STOP);
  pthread_mutex_unlock(&e->lock);
  return go_on;
}

static void handle_mmio(struct kvm_engine *e, struct kvm_run *run) {
  uint64_t addr = run->mmio.phys_addr;
  unsigned len = run->mmio.len;
  if (len != 1 && len != 2 && len != 4 && len != 8)
    return; /* KVM only decodes these; anything else is ignored */
  int r;
  if (run->mmio.is_write) {
    uint64_t val = 0;
    memcpy(&val, run->mmio.data, len); /* data is little-endian, as we are */
    r = vmk_bus_write(e->cfg.bus, addr, len, val);
  } else {
    uint64_t val = 0;
    r = vmk_bus_read(e->cfg.bus, addr, len, &val);
    if (r < 0)
      val = 0;
    memcpy(run->mmio.data, &val, len);
  }
  if (r < 0 && !atomic_exchange(&e->unmapped_logged, true))
    fprintf(stderr,
            "vmkit: kvm: guest %s %u bytes at unmapped address 0x%llx "
            "(ignored; further ones are not logged)\n",
            run->mmio.is_write ? "wrote" : "read", len,
            (unsigned long long)addr);
}

/* Handles one exit. Returns false when this vCPU's loop must end. */
static bool handle_exit(struct kvm_vcpu *v) {
  struct kvm_engine *e = v->e;
  struct kvm_run *run = v->run;
  vmk_error err;
  vmk_err_clear(&err);

  switch (run->exit_reason) {
  case KVM_EXIT_MMIO:
    handle_mmio(e, run);
    return true;
  case KVM_EXIT_INTR:
    return true;
  case KVM_EXIT_SYSTEM_EVENT:
    switch (run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
      end_machine(e, VMK_EXIT_POWEROFF, NULL);
      return false;
    case KVM_SYSTEM_EVENT_RESET:
      end_machine(e, VMK_EXIT_RESET, NULL);
      return false;
    case KVM_SYSTEM_EVENT_CRASH:
      end_machine(e, VMK_EXIT_CRASH, NULL);
      return false;
    default:
      /* WAKEUP/SUSPEND are opt-in capabilities we never enable. */
      return true;
    }
  case KVM_EXIT_ARM_NISV:
    vmk_err(&err, -EIO,
            "vCPU %u made an MMIO access at 0x%llx that KVM cannot decode "
            "(a load/store pair or writeback to device memory); the guest "
            "must use plain loads and stores for MMIO.",
            v->idx, (unsigned long long)run->arm_nisv.fault_ipa);
    break;
  case KVM_EXIT_FAIL_ENTRY:
    vmk_err(&err, -EIO,
            "KVM could not enter vCPU %u (hardware entry failure reason "
            "0x%llx).",
            v->idx,
            (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
    break;
  case KVM_EXIT_INTERNAL_ERROR:
    vmk_err(&err, -EIO, "KVM hit an internal error on vCPU %u (suberror %u).",
            v->idx, run->internal.suberror);
    break;
  default:
    vmk_err(&err, -EIO, "vCPU %u stopped with unexpected KVM exit %u.", v->idx,
            run->exit_reason);
    break;
  }
  end_machine(e, VMK_EXIT_ERROR, &err);
  return false;
}

static void *vcpu_thread(void *arg) {
  struct kvm_vcpu *v = arg;
  struct kvm_engine *e = v->e;

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, kick_signal());
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);

  bool first = v->idx == 0 && e->trace_start;
  for (;;) {
    if (atomic_load(&e->req) && !park(e))
      break;
    if (first) {
      vmk_startup_mark(true, "vCPU 0: first KVM_RUN");
      first = false;
    }
    if (ioctl(v->fd, KVM_RUN, 0) < 0) {
      int x = errno;
      if (x == EINTR || x == EAGAIN) {
        /* Clear before re-reading req: a kick after this re-arms it. */
        __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        continue;
      }
      vmk_error err;
      if (x == ENOSYS)
        vmk_err(&err, -x,
                "vCPU %u made an MMIO access that KVM cannot decode (a "
                "load/store pair or writeback to device memory); the guest "
                "must use plain loads and stores for MMIO.",
                v->idx);
      else
        vmk_err(&err, -x, "KVM_RUN failed on vCPU %u: %s.", v->idx,
                strerror(x));
      end_machine(e, VMK_EXIT_ERROR, &err);
      break;
    }
    if (!handle_exit(v))
      break;
  }

  pthread_mutex_lock(&e->lock);
  e->live--;
  v->running = false;
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->lock);
  return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int kvm_start(struct vmk_engine *base, const struct vmk_boot_regs *boot,
                     vmk_error *err) {
  struct kvm_engine *e = (struct kvm_engine *)base;
  if (e->started)
    return vmk_err(err, -EALREADY, "The kvm engine was already started.");

  int fd = e->vcpus[0].fd;
  if (e->restored)
    goto threads;
  const uint64_t pstate = PSR_MODE_EL1h | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT |
                          PSR_D_BIT; /* EL1h, DAIF masked */
  int r = set_core_reg(fd, offsetof(struct kvm_regs, regs.pc), boot->pc);
  if (r == 0)
    r = set_core_reg(fd, offsetof(struct kvm_regs, regs.regs[0]), boot->x0);
  for (unsigned i = 1; r == 0 && i <= 3; i++)
    r = set_core_reg(fd, offsetof(struct kvm_regs, regs.regs[i]), 0);
  if (r == 0)
    r = set_core_reg(fd, offsetof(struct kvm_regs, regs.pstate), pstate);
  if (r < 0)
    return vmk_err(err, r, "KVM could not set the boot CPU's registers: %s.",
                   strerror(-r));

threads:;
  /* Threads start with the kick signal blocked so none is lost before the
   * thread unblocks it; run->immediate_exit covers that window. */
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, kick_signal());
  pthread_sigmask(SIG_BLOCK, &set, &old);
  e->started = true;
  r = 0;
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    struct kvm_vcpu *v = &e->vcpus[i];
    pthread_mutex_lock(&e->lock);
    int x = vmk_thread_create(&v->thread, vcpu_thread, v);
    if (x == 0) {
      e->live++;
      v->running = true;
      v->joinable = true;
    }
    pthread_mutex_unlock(&e->lock);
    if (x != 0) {
      r = vmk_err(err, -x, "Could not start the thread of vCPU %u: %s.", i,
                  strerror(x));
      break;
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r < 0)
    base->ops->stop(base);
  return r;
}

static int kvm_pause(struct vmk_engine *base, vmk_error *err) {
  struct kvm_engine *e = (struct kvm_engine *)base;
  (void)err;
  pthread_mutex_lock(&e->lock);
  atomic_fetch_or(&e->req, REQ_PAUSE);
  kick_all(e);
  while (e->parked < e->live)
    pthread_cond_wait(&e->cond, &e->lock);
  pthread_mutex_unlock(&e->lock);
  /* As QEMU does: remember the counter; resume writes it back, which
   * moves the VM's counter offset (CNTVOFF) by the time paused. */
  struct kvm_one_reg reg = {.id = KVM_REG_ARM_TIMER_CNT,
                            .addr = (uint64_t)(uintptr_t)&e->paused_cnt};
  e->paused_cnt_valid =
      e->vcpus[0].fd >= 0 && ioctl(e->vcpus[0].fd, KVM_GET_ONE_REG, &reg) == 0;
  return 0;
}

static int kvm_resume(struct vmk_engine *base, vmk_error *err) {
  struct kvm_engine *e = (struct kvm_engine *)base;
  (void)err;
  if (e->paused_cnt_valid) {
    /* Older kernels keep one offset per vCPU, newer ones one per VM:
     * writing every vCPU is right for both. */
    for (unsigned i = 0; i < e->cfg.cpus; i++) {
      struct kvm_one_reg reg = {.id = KVM_REG_ARM_TIMER_CNT,
                                .addr = (uint64_t)(uintptr_t)&e->paused_cnt};
      if (e->vcpus[i].fd >= 0)
        ioctl(e->vcpus[i].fd, KVM_SET_ONE_REG, &reg);
    }
    e->paused_cnt_valid = false;
  }
  pthread_mutex_lock(&e->lock);
  atomic_fetch_and(&e->req, ~REQ_PAUSE);
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->lock);
  return 0;
}

static uint64_t host_cntfrq(void) {
  uint64_t f;
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
  return f;
}

static int kvm_save_state(struct vmk_engine *base, struct vmk_arch_state *st,
                          vmk_error *err) {
  struct kvm_engine *e = (struct kvm_engine *)base;
  if (st->ncpus != e->cfg.cpus)
    return vmk_err(err, -EINVAL, "the state holds %u vCPUs, the engine %u",
                   st->ncpus, e->cfg.cpus);
  pthread_mutex_lock(&e->lock);
  bool paused = !e->started ||
                ((atomic_load(&e->req) & REQ_PAUSE) && e->parked == e->live);
  pthread_mutex_unlock(&e->lock);
  if (!paused)
    return vmk_err(err, -EBUSY, "the VM must be paused to save its state");
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    int r = vmk_kvm_save_vcpu(e->vcpus[i].fd, i, &st->vcpu[i], err);
    if (r)
      return r;
  }
  /* The count when the pause began: the time paused never reaches the
   * guest (kvm_resume), so it does not reach the snapshot either. */
  if (e->paused_cnt_valid)
    st->counter = e->paused_cnt;
  else if (vmk_kvm_get_counter(e->vcpus[0].fd, &st->counter))
    return vmk_err(err, -errno, "KVM could not read the guest's counter");
  st->cntfrq = host_cntfrq();
  return vmk_kvm_save_gic(e->gic_fd, e->cfg.cpus, e->cfg.nr_spis, st, err);
}

static int kvm_load_state(struct vmk_engine *base,
                          const struct vmk_arch_state *st, vmk_error *err) {
  struct kvm_engine *e = (struct kvm_engine *)base;
  if (e->started)
    return vmk_err(err, -EBUSY, "the kvm engine already runs");
  if (st->ncpus != e->cfg.cpus)
    return vmk_err(err, -EINVAL, "the snapshot has %u vCPUs; this VM has %u",
                   st->ncpus, e->cfg.cpus);
  if (st->cntfrq != host_cntfrq())
    return vmk_err(err, -EINVAL,
                   "the snapshot's counter runs at %llu Hz; this host's at "
                   "%llu Hz (KVM cannot change it)",
                   (unsigned long long)st->cntfrq,
                   (unsigned long long)host_cntfrq());
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    int r = vmk_kvm_load_vcpu(e->vcpus[i].fd, i, &st->vcpu[i], err);
    if (r)
      return r;
  }
  int r = vmk_kvm_load_gic(e->gic_fd, e->cfg.cpus, e->cfg.nr_spis, st, err);
  if (r)
    return r;
  for (unsigned i = 0; i < e->cfg.cpus; i++)
    if (vmk_kvm_set_counter(e->vcpus[i].fd, st->counter))
      return vmk_err(err, -errno, "KVM refused the guest's counter: %s",
                     strerror(errno));
  e->restored = true;
  return 0;
}

static void kvm_stop(struct vmk_engine *base) {
  struct kvm_engine *e = (struct kvm_engine *)base;
  pthread_mutex_lock(&e->lock);
  atomic_fetch_or(&e->req, REQ_STOP);
  pthread_cond_broadcast(&e->cond);
  kick_all(e);
  pthread_mutex_unlock(&e->lock);
  for (unsigned i = 0; i < e->cfg.cpus; i++) {
    struct kvm_vcpu *v = &e->vcpus[i];
    if (v->joinable) {
      pthread_join(v->thread, NULL);
      v->joinable = false;
    }
  }
}

static void kvm_destroy(struct vmk_engine *base) {
  struct kvm_engine *e = (struct kvm_engine *)base;
  if (!e)
    return;
  kvm_stop(base);
  for (unsigned i = 0; i < KVM_MAX_VCPUS; i++) {
    struct kvm_vcpu *v = &e->vcpus[i];
    if (v->run)
      munmap(v->run, e->run_size);
    if (v->fd >= 0)
      close(v->fd);
  }
  /* After the vCPUs (and, by the engine contract, the devices' threads)
   * stopped: nothing signals an irqfd any more. */
  for (unsigned i = 0; e->irqfd && i < e->cfg.nr_spis; i++) {
    int fd = atomic_load(&e->irqfd[i]);
    if (fd >= 0)
      close(fd);
  }
  free(e->irqfd);
  if (e->gic_fd >= 0)
    close(e->gic_fd);
  if (e->vm_fd >= 0)
    close(e->vm_fd);
  if (e->kvm_fd >= 0)
    close(e->kvm_fd);
  pthread_cond_destroy(&e->cond);
  pthread_mutex_destroy(&e->lock);
  pthread_mutex_destroy(&e->irqfd_lock);
  free(e);
}

const struct vmk_engine_ops vmk_engine_kvm_ops = {
    .name = "kvm",
    .probe = kvm_probe,
    .create = kvm_create,
    .add_ioeventfd = kvm_add_ioeventfd,
    .start = kvm_start,
    .pause = kvm_pause,
    .resume = kvm_resume,
    .save_state = kvm_save_state,
    .load_state = kvm_load_state,
    .stop = kvm_stop,
    .destroy = kvm_destroy,
};
