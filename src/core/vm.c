/* vm.c — a VM's lifecycle: build the machine from a config (RAM, kernel,
 * devices, device tree, engine), start, pause, resume, stop, and observe.
 *
 * Threads: the lifecycle calls run on any caller thread; start, pause and
 * resume are serialized by vm->ops_lock. The engine runs vCPU threads; the
 * devices' queues run on the I/O thread (vm->loop). When the guest ends the
 * machine, the engine's on_exit (a vCPU thread) only records why and wakes the
 * VM's monitor thread, which tears the engine down (a vCPU thread cannot join
 * itself) and marks the VM stopped. vm->lock + vm->cond protect state, exit
 * reason and timings. vCPU threads take vm->lock (on_exit, the boot timer), so
 * it is never held while waiting for vCPUs: engine pause waits for every vCPU
 * to park, and a vCPU powering off in that window must get through. Lock order:
 * ops_lock, then vm->lock; vCPU threads never take ops_lock.
 *
 * States (vmkit.h draws the graph) change only in set_state, under vm->lock,
 * which calls the user's state callback there: so it sees every change in
 * order, on whichever thread made it. The transient states (starting,
 * pausing, resuming) cover the engine waits done without vm->lock; a guest
 * power-off in such a window moves the VM to stopping and the operation
 * that was waiting leaves it there.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/guest_mem.h"
#include "base/io_loop.h"
#include "base/startup_trace.h"
#include "base/thread.h"
#include "core/config.h"
#include "core/vm_internal.h"
#include "devices/bus.h"
#include "engine/engine.h"
#include "machine/memmap.h"
#include "machine/panic_log.h"
#include "machine/virt.h"
#include "virtio/balloon.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/fs.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/ports.h"
#include "virtio/rng.h"
#include "virtio/vsock.h"

/* panic=-1: a panic resets at once, and the ramoops record it leaves says it
 * was a panic (check_panic_log); pstore.compress=none keeps that record
 * readable as text (compressed ones are inflated too). */
#define DEFAULT_CMDLINE "console=hvc0 earlycon panic=-1 pstore.compress=none"

struct vmk_vm {
  struct vmk_config *cfg;
  vmk_engine_kind engine_kind;

  pthread_mutex_t ops_lock; /* start/pause/resume, across engine waits */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  vmk_state state; /* changed only by set_state */
  vmk_state_cb state_cb;
  void *state_cb_opaque;
  vmk_exit_reason exit_reason;
  vmk_error exit_err;
  bool exit_pending; /* on_exit ran; the monitor has not torn down yet */
  bool monitor_running;
  pthread_t monitor;

  struct vmk_guest_mem ram;
  struct vmk_io_loop loop;
  bool loop_ready;
  struct vmk_bus bus;
  struct vmk_engine *engine;
  struct vmk_boot_layout layout;

  struct vmk_virt_platform platform;
  bool platform_ready;
  struct vmk_virtio_mmio *virtio[VMK_VIRTIO_MMIO_SLOTS];
  unsigned nvirtio;
  /* Owned by its transport in virtio[]; NULL without a balloon. */
  struct vmk_virtio_device *balloon;

  int console_file_fd; /* VMK_CONSOLE_FILE: opened here, closed at free */

  struct timespec created_wall, created_cpu;
  bool boot_timed;
  uint64_t boot_wall_us, boot_cpu_us;
  bool trace_start; /* VMKIT_TRACE_START=1: print each start-up stage */
};

/* vm->lock held: the one place the state changes, so every change reaches
 * the callback, in order. */
static void set_state(struct vmk_vm *vm, vmk_state to) {
  vmk_state from = vm->state;
  if (from == to)
    return;
  vm->state = to;
  if (vm->state_cb)
    vm->state_cb(vm->state_cb_opaque, vm, from, to);
  pthread_cond_broadcast(&vm->cond);
}

bool vmk_state_is_final(vmk_state s) {
  return s == VMK_STATE_STOPPED || s == VMK_STATE_ERROR;
}

static uint64_t ts_diff_us(const struct timespec *a, const struct timespec *b) {
  return (uint64_t)(b->tv_sec - a->tv_sec) * 1000000u +
         (uint64_t)((b->tv_nsec - a->tv_nsec) / 1000);
}

/* Boot-timer device callback (vCPU thread). */
static void boot_timer_fired(void *opaque) {
  struct vmk_vm *vm = opaque;
  struct timespec wall, cpu;
  clock_gettime(CLOCK_MONOTONIC, &wall);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  pthread_mutex_lock(&vm->lock);
  if (!vm->boot_timed) {
    vm->boot_timed = true;
    vm->boot_wall_us = ts_diff_us(&vm->created_wall, &wall);
    vm->boot_cpu_us = ts_diff_us(&vm->created_cpu, &cpu);
  }
  pthread_mutex_unlock(&vm->lock);
}

static void engine_exited(void *opaque, vmk_exit_reason reason,
                          const vmk_error *err);

/* The sentence for a guest kernel panic, quoting the kernel's panic line
 * when the panic log gave one (pvpanic gives none). */
static void panicked_error(vmk_error *err, const char *line) {
  if (line && line[0])
    vmk_err(err, -EFAULT, "the guest kernel panicked: %s", line);
  else
    vmk_err(err, -EFAULT,
            "the guest kernel panicked (its console shows why); vmkit ended "
            "the VM");
}

/* pvpanic callback (vCPU thread): the guest kernel panicked. */
static void guest_panicked(void *opaque) {
  vmk_error err;
  panicked_error(&err, NULL);
  engine_exited(opaque, VMK_EXIT_CRASH, &err);
}

/* Engine callback (vCPU thread): record the first reason, wake the monitor. */
static void engine_exited(void *opaque, vmk_exit_reason reason,
                          const vmk_error *err) {
  struct vmk_vm *vm = opaque;
  pthread_mutex_lock(&vm->lock);
  if (!vm->exit_pending && vm->exit_reason == VMK_EXIT_NONE) {
    vm->exit_reason = reason;
    if (err)
      vm->exit_err = *err;
    vm->exit_pending = true;
    if (!vmk_state_is_final(vm->state))
      set_state(vm, VMK_STATE_STOPPING);
    pthread_cond_broadcast(&vm->cond);
  }
  pthread_mutex_unlock(&vm->lock);
}

/* Stops threads; vm->lock is not held (the engine's vCPU threads may be
 * waiting for it in on_exit). */
static void halt_threads(struct vmk_vm *vm) {
  if (vm->engine)
    vm->engine->ops->stop(vm->engine);
  if (vm->loop_ready)
    vmk_io_loop_stop(&vm->loop);
}

/* Monitor thread, vCPUs stopped: a kernel without pvpanic (Debian's) that
 * panics resets (panic=-1) after writing its log to the ramoops region; a
 * record there turns that reset (or power-off) into a crash, not a reboot. */
static void check_panic_log(struct vmk_vm *vm) {
  pthread_mutex_lock(&vm->lock);
  vmk_exit_reason reason = vm->exit_reason;
  pthread_mutex_unlock(&vm->lock);
  if (reason != VMK_EXIT_RESET && reason != VMK_EXIT_POWEROFF)
    return;
  const uint8_t *log =
      vmk_gm_ptr(&vm->ram, vm->layout.ramoops_gpa, vm->layout.ramoops_size);
  struct vmk_panic_log pl;
  if (!log || !vmk_panic_log_find(log, vm->layout.ramoops_size,
                                  VMK_RAMOOPS_RECORD_SIZE, &pl))
    return;
  pthread_mutex_lock(&vm->lock);
  vm->exit_reason = VMK_EXIT_CRASH;
  panicked_error(&vm->exit_err, pl.reason);
  pthread_mutex_unlock(&vm->lock);
}

static void *monitor_main(void *arg) {
  struct vmk_vm *vm = arg;
  pthread_mutex_lock(&vm->lock);
  while (!vm->exit_pending)
    pthread_cond_wait(&vm->cond, &vm->lock);
  pthread_mutex_unlock(&vm->lock);
  halt_threads(vm);
  check_panic_log(vm);
  pthread_mutex_lock(&vm->lock);
  set_state(vm, vm->exit_reason == VMK_EXIT_ERROR ? VMK_STATE_ERROR
                                                  : VMK_STATE_STOPPED);
  pthread_cond_broadcast(&vm->cond);
  pthread_mutex_unlock(&vm->lock);
  return NULL;
}

/* Which console device reads the console input: the one the guest uses as
 * its console (the last console= on the command line), so typed input is
 * not split between two ttys. */
static bool uart_is_console(const char *cmdline) {
  const char *last = NULL;
  for (const char *p = cmdline; (p = strstr(p, "console=")); p += 8)
    if (p == cmdline || p[-1] == ' ')
      last = p + 8;
  return last && strncmp(last, "ttyAMA", 6) == 0;
}

static int add_virtio(struct vmk_vm *vm, struct vmk_virtio_device *dev,
                      vmk_error *err) {
  unsigned slot = vm->nvirtio;
  if (slot == VMK_VIRTIO_MMIO_SLOTS) {
    vmk_virtio_device_free(dev);
    return vmk_err(err, -ENOSPC, "too many virtio devices (at most %d)",
                   VMK_VIRTIO_MMIO_SLOTS);
  }
  struct vmk_irq_line irq = {.chip = &vm->engine->irq_chip,
                             .spi = VMK_VIRTIO_MMIO_SPI0 + slot};
  struct vmk_virtio_mmio *t;
  int r = vmk_virtio_mmio_create(dev, &vm->ram, irq, &vm->loop, &t, err);
  if (r)
    return r;
  vm->virtio[vm->nvirtio++] = t;
  uint64_t base = VMK_VIRTIO_MMIO_BASE + slot * VMK_VIRTIO_MMIO_STRIDE;
  r = vmk_bus_add(&vm->bus, "virtio-mmio", base, VMK_VIRTIO_MMIO_STRIDE,
                  &vmk_virtio_mmio_ops, t, err);
  if (r)
    return r;
  if (vm->engine->ops->add_ioeventfd) {
    for (unsigned q = 0; q < vmk_virtio_mmio_num_queues(t); q++) {
      r = vm->engine->ops->add_ioeventfd(vm->engine, base + 0x50, 4, q,
                                         vmk_virtio_mmio_queue_notify_fd(t, q),
                                         err);
      if (r)
        return r;
    }
  }
  return 0;
}

/* One virtio-net per configured NIC; forwards go to the first NAT one. */
static int build_nets(struct vmk_vm *vm, vmk_error *err) {
  const struct vmk_config *cfg = vm->cfg;
  bool forwards_placed = false;
  for (unsigned i = 0; i < cfg->nnets; i++) {
    const struct vmk_net_config *n = &cfg->nets[i];
    unsigned mtu = n->mtu ? n->mtu : VMK_NET_DEFAULT_MTU;
    struct vmk_net_backend *be = NULL;
    int r;
    switch (n->kind) {
    case VMK_NET_NAT: {
      struct vmk_net_forward fwd[VMK_MAX_FORWARDS];
      unsigned nf = forwards_placed ? 0 : cfg->nforwards;
      for (unsigned k = 0; k < nf; k++)
        fwd[k] =
            (struct vmk_net_forward){.udp = cfg->forwards[k].udp,
                                     .host_addr = cfg->forwards[k].host_addr,
                                     .host_port = cfg->forwards[k].host_port,
                                     .guest_port = cfg->forwards[k].guest_port};
      forwards_placed = true;
      r = vmk_net_slirp_create(fwd, nf, mtu, &be, err);
      break;
    }
    case VMK_NET_SOCKET:
    case VMK_NET_SOCKET_LISTEN:
      r = vmk_net_socket_create(n->target, n->kind == VMK_NET_SOCKET_LISTEN,
                                &be, err);
      break;
    case VMK_NET_TAP:
      r = vmk_net_tap_create(n->target, &be, err);
      break;
    default:
      r = vmk_err(err, -EINVAL, "unknown network kind %d", (int)n->kind);
    }
    if (r)
      return r;
    uint8_t mac[6];
    vmk_config_net_mac(cfg, i, mac);
    struct vmk_virtio_device *dev;
    r = vmk_virtio_net_create(be, mac, mtu, &dev, err);
    if (r || (r = add_virtio(vm, dev, err)))
      return r;
  }
  return 0;
}

/* The balloon size (4 KiB pages) that leaves the guest `keep` bytes. */
static uint32_t balloon_pages(const struct vmk_config *cfg, uint64_t keep) {
  if (!keep || keep >= cfg->memory)
    return 0;
  return (uint32_t)((cfg->memory - keep + VMK_BALLOON_PAGE - 1) /
                    VMK_BALLOON_PAGE);
}

static int build_devices(struct vmk_vm *vm, const char *cmdline,
                         vmk_error *err) {
  const struct vmk_config *cfg = vm->cfg;
  bool uart_console = uart_is_console(cmdline);
  int in = cfg->console_in, out = cfg->console_out;
  struct vmk_virt_platform_cfg pcfg = {
      .console_in_fd = uart_console ? in : -1,
      .console_out_fd = out,
      .gpio_power_key = true,
      .boot_timer = cfg->boot_timer,
      .boot_timer_cb = boot_timer_fired,
      .boot_timer_opaque = vm,
      .pvpanic = true,
      .pvpanic_cb = guest_panicked,
      .pvpanic_opaque = vm,
  };
  int r = vmk_virt_platform_create(&pcfg, &vm->bus, &vm->engine->irq_chip,
                                   &vm->loop, &vm->platform, err);
  if (r)
    return r;
  vm->platform_ready = true;

  struct vmk_virtio_device *dev;
  for (unsigned i = 0; i < cfg->ndisks; i++) {
    r = vmk_virtio_blk_create(cfg->disks[i].path, cfg->disks[i].read_only, &dev,
                              err);
    if (r || (r = add_virtio(vm, dev, err)))
      return r;
  }
  r = vmk_virtio_console_create(uart_console ? -1 : in, out, &dev, err);
  if (r || (r = add_virtio(vm, dev, err)))
    return r;
  if (cfg->entropy) {
    r = vmk_virtio_rng_create(&dev, err);
    if (r || (r = add_virtio(vm, dev, err)))
      return r;
  }
  for (unsigned i = 0; i < cfg->nshares; i++) {
    const struct vmk_share_config *s = &cfg->shares[i];
    r = vmk_virtio_fs_create(s->dir, s->tag, s->read_only, NULL, &dev, err);
    if (r || (r = add_virtio(vm, dev, err)))
      return r;
  }
  if ((r = build_nets(vm, err)))
    return r;
  if (cfg->vsock_path) {
    r = vmk_virtio_vsock_create(cfg->vsock_path, cfg->vsock_cid, &dev, err);
    if (r || (r = add_virtio(vm, dev, err)))
      return r;
  }
  if (cfg->nports) { /* a second virtio-console: see virtio/ports.c */
    struct vmk_port_spec specs[VMK_MAX_PORTS];
    for (unsigned i = 0; i < cfg->nports; i++)
      specs[i] = (struct vmk_port_spec){.name = cfg->ports[i].name,
                                        .path = cfg->ports[i].path};
    r = vmk_virtio_ports_create(specs, cfg->nports, &dev, err);
    if (r || (r = add_virtio(vm, dev, err)))
      return r;
  }
  if (cfg->balloon) {
    r = vmk_virtio_balloon_create(balloon_pages(cfg, cfg->balloon_target), &dev,
                                  err);
    if (r || (r = add_virtio(vm, dev, err)))
      return r;
    vm->balloon = dev;
  }
  return 0;
}

/* The command line plus " vmkit.shares=TAG,TAG": the guest kernel (6.1)
 * does not list virtio-fs tags in sysfs, so the default guest's init learns
 * what to mount from here. Tags hold no spaces or commas (config.c).
 * Likewise " vmkit.ports=NAME,NAME": the console port names init waits for
 * to link /dev/virtio-ports/NAME (the names arrive a little after the
 * driver loads). */
static char *cmdline_with_shares(const struct vmk_config *cfg,
                                 const char *cmdline) {
  size_t n =
      strlen(cmdline) + sizeof(" vmkit.shares=") + sizeof(" vmkit.ports=");
  for (unsigned i = 0; i < cfg->nshares; i++)
    n += strlen(cfg->shares[i].tag) + 1;
  for (unsigned i = 0; i < cfg->nports; i++)
    n += strlen(cfg->ports[i].name) + 1;
  char *s = malloc(n);
  if (!s)
    return NULL;
  char *p = s + sprintf(s, "%s", cmdline);
  if (cfg->nshares)
    p += sprintf(p, " vmkit.shares=");
  for (unsigned i = 0; i < cfg->nshares; i++)
    p += sprintf(p, "%s%s", i ? "," : "", cfg->shares[i].tag);
  if (cfg->nports)
    p += sprintf(p, " vmkit.ports=");
  for (unsigned i = 0; i < cfg->nports; i++)
    p += sprintf(p, "%s%s", i ? "," : "", cfg->ports[i].name);
  return s;
}

static int load_boot_payload(struct vmk_vm *vm, const char *cmdline,
                             vmk_error *err) {
  struct vmk_virt_boot_cfg b = {
      .kernel = vm->cfg->kernel,
      .initrd = vm->cfg->initrd,
      .cmdline = cmdline,
      .cpus = vm->cfg->cpus,
      .virtio_slots = vm->nvirtio,
      .gpio_power_key = true,
      .pvpanic = true,
      .boot_timer = vm->cfg->boot_timer,
      .psci_smc = false,
  };
  return vmk_virt_boot_prepare(&vm->ram, &b, &vm->layout, err);
}

static void vm_destroy(struct vmk_vm *vm) {
  /* The monitor halts the threads; join it before halting again here, so
   * the engine is never stopped from two threads at once. */
  if (vm->monitor_running) {
    engine_exited(vm, VMK_EXIT_STOPPED, NULL);
    pthread_join(vm->monitor, NULL);
    vm->monitor_running = false;
  }
  halt_threads(vm);
  for (unsigned i = 0; i < vm->nvirtio; i++)
    vmk_virtio_mmio_destroy(vm->virtio[i]);
  if (vm->platform_ready)
    vmk_virt_platform_destroy(&vm->platform);
  if (vm->engine)
    vm->engine->ops->destroy(vm->engine);
  if (vm->loop_ready)
    vmk_io_loop_destroy(&vm->loop);
  if (vm->ram.host)
    munmap(vm->ram.host, vm->ram.size);
  if (vm->console_file_fd >= 0)
    close(vm->console_file_fd);
  vmk_config_free(vm->cfg);
  pthread_cond_destroy(&vm->cond);
  pthread_mutex_destroy(&vm->lock);
  pthread_mutex_destroy(&vm->ops_lock);
  free(vm);
}

/* Guest RAM starts on a 2 MiB boundary, as guest physical RAM does (and
 * as QEMU aligns it): only then can the host back it with transparent huge
 * pages that KVM maps as 2 MiB stage-2 blocks, instead of taking a stage-2
 * fault for every 4 KiB page the guest touches. Returns MAP_FAILED (errno
 * set) on failure. */
static void *map_guest_ram(uint64_t size) {
  const uint64_t huge = 2ull << 20;
  uint8_t *p = mmap(NULL, size + huge, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return MAP_FAILED;
  uint8_t *start = (uint8_t *)(((uintptr_t)p + huge - 1) & ~(huge - 1));
  if (start > p)
    munmap(p, (size_t)(start - p));
  if (p + size + huge > start + size)
    munmap(start + size, (size_t)(p + size + huge - (start + size)));
#ifdef MADV_HUGEPAGE
  /* A hint: hosts whose THP mode is "madvise" (the default on many
   * distributions) only use huge pages where asked. */
  (void)madvise(start, size, MADV_HUGEPAGE);
#endif
  return start;
}

/* restore: the VM is built for a snapshot (snapshot.c): no boot payload,
 * the guest's memory and layout come from the snapshot. */
static int vm_create(const vmk_config *cfg,
                     const struct vmk_boot_layout *restore, vmk_vm **out,
                     vmk_error *err) {
  vmk_err_clear(err);
  *out = NULL;
  int r = vmk_config_validate(cfg, err);
  if (r)
    return r;
  struct vmk_vm *vm = calloc(1, sizeof(*vm));
  if (!vm)
    return vmk_err(err, -ENOMEM, "out of memory creating the VM");
  clock_gettime(CLOCK_MONOTONIC, &vm->created_wall);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &vm->created_cpu);
  pthread_mutex_init(&vm->ops_lock, NULL);
  pthread_mutex_init(&vm->lock, NULL);
  pthread_cond_init(&vm->cond, NULL);
  vm->state = VMK_STATE_CREATED;
  vm->console_file_fd = -1;
  vm->trace_start = vmk_startup_trace_on();
  vmk_startup_mark(vm->trace_start, "creating the VM");
  vmk_bus_init(&vm->bus);
  if (!(vm->cfg = vmk_config_dup(cfg))) {
    r = vmk_err(err, -ENOMEM, "out of memory creating the VM");
    goto fail;
  }
  if (vm->cfg->console == VMK_CONSOLE_FILE) {
    vm->console_file_fd = open(vm->cfg->console_file,
                               O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (vm->console_file_fd < 0) {
      r = vmk_err(err, -errno, "cannot open console file '%s': %s",
                  vm->cfg->console_file, strerror(errno));
      goto fail;
    }
    vm->cfg->console_out = vm->console_file_fd;
  }
  if ((r = vmk_config_resolve_engine(vm->cfg, &vm->engine_kind, err)))
    goto fail;

  /* Guest RAM: anonymous, lazily backed, so an idle guest costs only what
   * it touches. */
  void *host = map_guest_ram(vm->cfg->memory);
  if (host == MAP_FAILED) {
    r = vmk_err(err, -errno, "cannot reserve %llu MiB of guest memory: %s",
                (unsigned long long)(vm->cfg->memory >> 20), strerror(errno));
    goto fail;
  }
  vm->ram = (struct vmk_guest_mem){
      .base = VMK_RAM_BASE, .size = vm->cfg->memory, .host = host};
  vmk_startup_mark(vm->trace_start, "guest RAM mapped");

  if ((r = vmk_io_loop_init(&vm->loop, err)))
    goto fail;
  vm->loop_ready = true;

  const struct vmk_engine_ops *ops = vm->cfg->engine_ops;
  if (!ops)
    ops = vm->engine_kind == VMK_ENGINE_KVM ? &vmk_engine_kvm_ops
                                            : &vmk_engine_emu_ops;
  struct vmk_engine_config ecfg = {
      .cpus = vm->cfg->cpus,
      .ram = &vm->ram,
      .bus = &vm->bus,
      .gicd_base = VMK_GICD_BASE,
      .gicd_size = VMK_GICD_SIZE,
      .gicr_base = VMK_GICR_BASE,
      .gicr_size = VMK_GICR_STRIDE * vm->cfg->cpus,
      .nr_spis = VMK_NR_SPIS,
      .emu_jit = vm->cfg->emu_mode == VMK_EMU_MODE_JIT,
      .on_exit = engine_exited,
      .opaque = vm,
  };
  if ((r = ops->create(&ecfg, &vm->engine, err)))
    goto fail;
  vmk_startup_mark(vm->trace_start, "engine created (vCPUs, interrupt "
                                    "controller)");

  const char *cmdline = vm->cfg->cmdline ? vm->cfg->cmdline : DEFAULT_CMDLINE;
  char *full = NULL;
  if ((vm->cfg->nshares || vm->cfg->nports) &&
      !(cmdline = full = cmdline_with_shares(vm->cfg, cmdline))) {
    r = vmk_err(err, -ENOMEM, "out of memory creating the VM");
    goto fail;
  }
  r = build_devices(vm, cmdline, err);
  vmk_startup_mark(vm->trace_start, "devices built");
  if (!r && restore)
    vm->layout = *restore;
  else if (!r)
    r = load_boot_payload(vm, cmdline, err);
  free(full);
  if (r)
    goto fail;
  vmk_startup_mark(vm->trace_start, "kernel, initrd and device tree loaded");
  *out = vm;
  return 0;
fail:
  vm_destroy(vm);
  return r;
}

int vmk_vm_create(const vmk_config *cfg, vmk_vm **out, vmk_error *err) {
  return vm_create(cfg, NULL, out, err);
}

/* ---- for snapshot.c (vm_internal.h) ---- */

int vmk_vm_create_restoring(const vmk_config *cfg,
                            const struct vmk_boot_layout *layout, vmk_vm **out,
                            vmk_error *err) {
  return vm_create(cfg, layout, out, err);
}

void vmk_vm_get_parts(vmk_vm *vm, struct vmk_vm_parts *p) {
  *p = (struct vmk_vm_parts){.cfg = vm->cfg,
                             .ram = &vm->ram,
                             .engine = vm->engine,
                             .platform = &vm->platform,
                             .virtio = vm->virtio,
                             .nvirtio = vm->nvirtio,
                             .layout = &vm->layout};
}

int vmk_vm_begin_save(vmk_vm *vm, vmk_error *err) {
  pthread_mutex_lock(&vm->ops_lock);
  pthread_mutex_lock(&vm->lock);
  vmk_state state = vm->state;
  if (state == VMK_STATE_PAUSED)
    set_state(vm, VMK_STATE_SAVING);
  pthread_mutex_unlock(&vm->lock);
  if (state == VMK_STATE_PAUSED)
    return 0;
  pthread_mutex_unlock(&vm->ops_lock);
  return vmk_err(err, -EINVAL,
                 "the VM is %s; only a paused VM can be saved (pause it "
                 "first)",
                 vmk_state_name(state));
}

void vmk_vm_end_save(vmk_vm *vm) {
  pthread_mutex_lock(&vm->lock);
  if (vm->state == VMK_STATE_SAVING)
    set_state(vm, VMK_STATE_PAUSED);
  pthread_mutex_unlock(&vm->lock);
  pthread_mutex_unlock(&vm->ops_lock);
}

void vmk_vm_begin_restore(vmk_vm *vm) {
  pthread_mutex_lock(&vm->lock);
  if (vm->state == VMK_STATE_CREATED)
    set_state(vm, VMK_STATE_RESTORING);
  pthread_mutex_unlock(&vm->lock);
}

void vmk_vm_restore_failed(vmk_vm *vm, const vmk_error *why) {
  pthread_mutex_lock(&vm->lock);
  if (vm->state == VMK_STATE_RESTORING) {
    vm->exit_reason = VMK_EXIT_ERROR;
    if (why)
      vm->exit_err = *why;
    set_state(vm, VMK_STATE_ERROR);
  }
  pthread_mutex_unlock(&vm->lock);
}

/* The common start of vmk_vm_start and vmk_vm_start_paused: takes
 * ops_lock and lock, checks the VM is new (or, for a paused start, being
 * restored), starts the I/O loop and the monitor. On success both locks
 * are still held; on failure both are released and the error returned. */
static int start_threads(vmk_vm *vm, bool restoring_ok, vmk_error *err) {
  vmk_err_clear(err);
  pthread_mutex_lock(&vm->ops_lock);
  pthread_mutex_lock(&vm->lock);
  int r;
  if (vm->state != VMK_STATE_CREATED &&
      !(restoring_ok && vm->state == VMK_STATE_RESTORING)) {
    r = vmk_err(err, -EBUSY, "the VM is %s; only a new VM can be started",
                vmk_state_name(vm->state));
  } else if (!(r = vmk_io_loop_start(&vm->loop, err))) {
    r = vmk_thread_create(&vm->monitor, monitor_main, vm);
    if (!r) {
      vm->monitor_running = true;
      return 0;
    }
    r = vmk_err(err, -r, "cannot start the VM's monitor thread: %s",
                strerror(r));
  }
  pthread_mutex_unlock(&vm->lock);
  pthread_mutex_unlock(&vm->ops_lock);
  return r;
}

/* As vmk_vm_start, but the vCPUs park before they run a single
 * instruction and the VM is paused: vmk_vm_resume lets them go. */
int vmk_vm_start_paused(vmk_vm *vm, vmk_error *err) {
  int r = start_threads(vm, true, err);
  if (r)
    return r;
  set_state(vm, VMK_STATE_PAUSED);
  pthread_mutex_unlock(&vm->lock);
  struct vmk_boot_regs boot = {.pc = vm->layout.entry,
                               .x0 = vm->layout.fdt_gpa};
  r = vm->engine->ops->pause(vm->engine, err);
  if (!r)
    r = vm->engine->ops->start(vm->engine, &boot, err);
  /* Paused before its threads existed; wait until they have parked, so
   * the VM is as paused as any other (it may be saved at once). */
  if (!r)
    r = vm->engine->ops->pause(vm->engine, err);
  if (r) {
    vmk_error copy = err ? *err : (vmk_error){0};
    vm->engine->ops->resume(vm->engine, NULL);
    engine_exited(vm, VMK_EXIT_ERROR, &copy);
  }
  pthread_mutex_unlock(&vm->ops_lock);
  return r;
}

int vmk_vm_start(vmk_vm *vm, vmk_error *err) {
  int r = start_threads(vm, false, err);
  if (r)
    return r;
  struct vmk_boot_regs boot = {.pc = vm->layout.entry,
                               .x0 = vm->layout.fdt_gpa};
  set_state(vm, VMK_STATE_STARTING);
  pthread_mutex_unlock(&vm->lock);
  r = vm->engine->ops->start(vm->engine, &boot, err);
  if (r) {
    vmk_error copy = err ? *err : (vmk_error){0};
    engine_exited(vm, VMK_EXIT_ERROR, &copy);
  } else {
    /* The guest may have ended the VM already: then it stays stopping. */
    pthread_mutex_lock(&vm->lock);
    if (vm->state == VMK_STATE_STARTING)
      set_state(vm, VMK_STATE_RUNNING);
    pthread_mutex_unlock(&vm->lock);
  }
  pthread_mutex_unlock(&vm->ops_lock);
  return r;
}

int vmk_vm_pause(vmk_vm *vm, vmk_error *err) {
  vmk_err_clear(err);
  pthread_mutex_lock(&vm->ops_lock);
  pthread_mutex_lock(&vm->lock);
  vmk_state state = vm->state;
  if (state == VMK_STATE_RUNNING)
    set_state(vm, VMK_STATE_PAUSING);
  pthread_mutex_unlock(&vm->lock);
  int r;
  if (state != VMK_STATE_RUNNING) {
    r = vmk_err(err, -EINVAL, "the VM is %s; only a running VM can be paused",
                vmk_state_name(state));
  } else if ((r = vm->engine->ops->pause(vm->engine, err))) {
    pthread_mutex_lock(&vm->lock);
    if (vm->state == VMK_STATE_PAUSING)
      set_state(vm, VMK_STATE_RUNNING);
    pthread_mutex_unlock(&vm->lock);
  } else {
    /* Without vm->lock: see the header comment. The guest may have ended
     * the VM meanwhile; then the stop wins and the vCPUs are let go. */
    pthread_mutex_lock(&vm->lock);
    state = vm->state;
    if (state == VMK_STATE_PAUSING)
      set_state(vm, VMK_STATE_PAUSED);
    pthread_mutex_unlock(&vm->lock);
    if (state != VMK_STATE_PAUSING) {
      vm->engine->ops->resume(vm->engine, NULL);
      r = vmk_err(err, -EINVAL, "the VM ended (%s) while it was being paused",
                  vmk_state_name(state));
    }
  }
  pthread_mutex_unlock(&vm->ops_lock);
  return r;
}

int vmk_vm_resume(vmk_vm *vm, vmk_error *err) {
  vmk_err_clear(err);
  pthread_mutex_lock(&vm->ops_lock);
  pthread_mutex_lock(&vm->lock);
  vmk_state state = vm->state;
  if (state == VMK_STATE_PAUSED)
    set_state(vm, VMK_STATE_RESUMING);
  pthread_mutex_unlock(&vm->lock);
  int r;
  if (state != VMK_STATE_PAUSED) {
    r = vmk_err(err, -EINVAL, "the VM is %s; only a paused VM can be resumed",
                vmk_state_name(state));
  } else {
    r = vm->engine->ops->resume(vm->engine, err);
    pthread_mutex_lock(&vm->lock);
    if (vm->state == VMK_STATE_RESUMING)
      set_state(vm, r ? VMK_STATE_PAUSED : VMK_STATE_RUNNING);
    pthread_mutex_unlock(&vm->lock);
  }
  pthread_mutex_unlock(&vm->ops_lock);
  return r;
}

int vmk_vm_request_stop(vmk_vm *vm, vmk_error *err) {
  vmk_err_clear(err);
  pthread_mutex_lock(&vm->lock);
  int r = 0;
  if (vm->state != VMK_STATE_RUNNING && vm->state != VMK_STATE_STOPPING)
    r = vmk_err(err, -EINVAL,
                "the VM is %s; only a running VM can be asked to stop",
                vmk_state_name(vm->state));
  pthread_mutex_unlock(&vm->lock);
  if (!r)
    vmk_pl061_press_power(vm->platform.gpio);
  return r;
}

int vmk_vm_stop(vmk_vm *vm, vmk_error *err) {
  vmk_err_clear(err);
  /* A save in progress reads the parked vCPUs (and holds ops_lock until it
   * is done): let it finish rather than run the vCPUs under it. */
  if (vmk_vm_state(vm) == VMK_STATE_SAVING) {
    pthread_mutex_lock(&vm->ops_lock);
    pthread_mutex_unlock(&vm->ops_lock);
  }
  pthread_mutex_lock(&vm->lock);
  vmk_state state = vm->state;
  /* Nothing runs yet in a VM being made (or restored). */
  bool idle = state == VMK_STATE_CREATED || state == VMK_STATE_RESTORING;
  if (idle) {
    vm->exit_reason = VMK_EXIT_STOPPED;
    set_state(vm, VMK_STATE_STOPPED);
  }
  pthread_mutex_unlock(&vm->lock);
  if (idle || vmk_state_is_final(state))
    return 0;
  /* Parked vCPUs must run again to see the stop. */
  if (state == VMK_STATE_PAUSED || state == VMK_STATE_SAVING)
    vm->engine->ops->resume(vm->engine, NULL);
  engine_exited(vm, VMK_EXIT_STOPPED, NULL);
  vmk_vm_wait(vm, -1);
  return 0;
}

vmk_state vmk_vm_state(vmk_vm *vm) {
  pthread_mutex_lock(&vm->lock);
  vmk_state s = vm->state;
  pthread_mutex_unlock(&vm->lock);
  return s;
}

int vmk_vm_wait(vmk_vm *vm, int timeout_ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  if (timeout_ms > 0) {
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000;
    }
  }
  int r = 0;
  pthread_mutex_lock(&vm->lock);
  while (!vmk_state_is_final(vm->state)) {
    if (vm->state == VMK_STATE_CREATED) {
      r = -EINVAL;
      break;
    }
    if (timeout_ms < 0) {
      pthread_cond_wait(&vm->cond, &vm->lock);
    } else if (timeout_ms == 0 ||
               pthread_cond_timedwait(&vm->cond, &vm->lock, &deadline) ==
                   ETIMEDOUT) {
      r = vmk_state_is_final(vm->state) ? 0 : -ETIMEDOUT;
      break;
    }
  }
  pthread_mutex_unlock(&vm->lock);
  return r;
}

vmk_exit_reason vmk_vm_exit(vmk_vm *vm, vmk_error *err) {
  pthread_mutex_lock(&vm->lock);
  vmk_exit_reason reason =
      vmk_state_is_final(vm->state) ? vm->exit_reason : VMK_EXIT_NONE;
  if (err)
    *err = vm->exit_err;
  pthread_mutex_unlock(&vm->lock);
  return reason;
}

void vmk_vm_free(vmk_vm *vm) {
  if (vm)
    vm_destroy(vm);
}

/* Which operation each state allows; one table for the can_* calls, so
 * they cannot disagree with each other. */
enum vm_op { OP_START, OP_PAUSE, OP_RESUME, OP_STOP, OP_REQUEST_STOP, OP_SAVE };

static bool op_allowed(enum vm_op op, vmk_state s) {
  switch (op) {
  case OP_START:
    return s == VMK_STATE_CREATED;
  case OP_PAUSE:
    return s == VMK_STATE_RUNNING;
  case OP_RESUME:
  case OP_SAVE:
    return s == VMK_STATE_PAUSED;
  case OP_STOP:
    return !vmk_state_is_final(s);
  case OP_REQUEST_STOP:
    return s == VMK_STATE_RUNNING || s == VMK_STATE_STOPPING;
  }
  return false;
}

static bool can(vmk_vm *vm, enum vm_op op) {
  return op_allowed(op, vmk_vm_state(vm));
}
bool vmk_vm_can_start(vmk_vm *vm) { return can(vm, OP_START); }
bool vmk_vm_can_pause(vmk_vm *vm) { return can(vm, OP_PAUSE); }
bool vmk_vm_can_resume(vmk_vm *vm) { return can(vm, OP_RESUME); }
bool vmk_vm_can_stop(vmk_vm *vm) { return can(vm, OP_STOP); }
bool vmk_vm_can_request_stop(vmk_vm *vm) { return can(vm, OP_REQUEST_STOP); }
bool vmk_vm_can_save(vmk_vm *vm) { return can(vm, OP_SAVE); }

void vmk_vm_set_state_callback(vmk_vm *vm, vmk_state_cb cb, void *opaque) {
  pthread_mutex_lock(&vm->lock);
  vm->state_cb = cb;
  vm->state_cb_opaque = opaque;
  pthread_mutex_unlock(&vm->lock);
}

vmk_engine_kind vmk_vm_engine(vmk_vm *vm) { return vm->engine_kind; }

/* vm->virtio is fixed from create to free, and the counters are atomics. */
unsigned vmk_vm_devices(vmk_vm *vm, vmk_device_info *out, unsigned max) {
  for (unsigned i = 0; i < vm->nvirtio && i < max; i++) {
    struct vmk_virtio_device *dev = vmk_virtio_mmio_device(vm->virtio[i]);
    struct vmk_virtio_counters c;
    vmk_virtio_mmio_counters(vm->virtio[i], &c);
    vmk_device_info *d = &out[i];
    memset(d, 0, sizeof(*d));
    snprintf(d->type, sizeof(d->type), "%s", dev->ops->name);
    snprintf(d->label, sizeof(d->label), "%s", dev->label);
    d->mmio_base = VMK_VIRTIO_MMIO_BASE + i * VMK_VIRTIO_MMIO_STRIDE;
    d->spi = VMK_VIRTIO_MMIO_SPI0 + i;
    d->notifies = c.notifies;
    d->interrupts = c.interrupts;
    d->requests = c.requests;
    d->bytes_out = c.bytes_out;
    d->bytes_in = c.bytes_in;
    d->errors = c.errors;
  }
  return vm->nvirtio;
}

int vmk_vm_boot_time(vmk_vm *vm, uint64_t *wall_us, uint64_t *cpu_us) {
  pthread_mutex_lock(&vm->lock);
  int r = vm->boot_timed ? 0 : -EAGAIN;
  if (!r) {
    *wall_us = vm->boot_wall_us;
    *cpu_us = vm->boot_cpu_us;
  }
  pthread_mutex_unlock(&vm->lock);
  return r;
}

int vmk_vm_set_balloon_target(vmk_vm *vm, uint64_t bytes, vmk_error *err) {
  vmk_err_clear(err);
  if (!vm->balloon)
    return vmk_err(err, -ENODEV,
                   "the VM has no balloon; create it without --balloon off");
  if (bytes > vm->cfg->memory || bytes < VMK_MIN_MEMORY)
    return vmk_err(err, -EINVAL,
                   "a balloon target must be between %llu MiB and the "
                   "guest's memory (%llu MiB), not %llu MiB",
                   (unsigned long long)(VMK_MIN_MEMORY >> 20),
                   (unsigned long long)(vm->cfg->memory >> 20),
                   (unsigned long long)(bytes >> 20));
  if (vmk_vm_state(vm) == VMK_STATE_STOPPED)
    return vmk_err(err, -EINVAL, "the VM is stopped; its balloon is gone");
  vmk_virtio_balloon_set_target(vm->balloon, balloon_pages(vm->cfg, bytes));
  return 0;
}

int vmk_vm_balloon_stats(vmk_vm *vm, vmk_balloon_stats *out, vmk_error *err) {
  vmk_err_clear(err);
  memset(out, 0, sizeof(*out));
  if (!vm->balloon)
    return vmk_err(err, -ENODEV,
                   "the VM has no balloon; create it without --balloon off");
  struct vmk_balloon_info bi;
  vmk_virtio_balloon_info(vm->balloon, vmk_vm_state(vm) == VMK_STATE_RUNNING,
                          &bi);
  uint64_t held = (uint64_t)bi.target_pages * VMK_BALLOON_PAGE;
  out->target_bytes = held < vm->cfg->memory ? vm->cfg->memory - held : 0;
  out->balloon_bytes = (uint64_t)bi.actual_pages * VMK_BALLOON_PAGE;
  out->reported_bytes = bi.reported_bytes;
  out->stats_updates = bi.stats_updates;
  out->stats_age_ms = bi.stats_age_ms;
  out->valid = bi.stats.valid;
  for (unsigned i = 0; i < VMK_BALLOON_STAT_COUNT && i < VMK_BALLOON_NSTATS;
       i++)
    out->stat[i] = bi.stats.val[i];
  return 0;
}

const char *vmk_state_name(vmk_state s) {
  static const char *const names[] = {
      "created", "running",  "paused", "stopping",  "stopped", "starting",
      "pausing", "resuming", "saving", "restoring", "error"};
  return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *vmk_exit_reason_name(vmk_exit_reason r) {
  static const char *const names[] = {"none",  "poweroff", "reset",
                                      "crash", "stopped",  "error"};
  return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

const char *vmk_version(void) { return VMK_VERSION; }
