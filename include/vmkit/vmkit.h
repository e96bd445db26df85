/* vmkit.h — the public C API of libvmkit.
 *
 * Configure a machine (vmk_config), validate it, create a VM from it, start
 * it (returns at once: the VM runs on its own vCPU and I/O threads), observe
 * it (state, wait), and stop it. Several VMs may live in one process. No call
 * exits the process; every failing call returns a negative errno and, where
 * it takes a vmk_error, fills it with one sentence a user can act on.
 *
 * Thread safety: a vmk_config belongs to one thread at a time. The vmk_vm
 * lifecycle calls may be made from any thread; they are serialized by a lock
 * inside the VM.
 */
#ifndef VMKIT_VMKIT_H
#define VMKIT_VMKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMK_ERROR_MSG_MAX 512

typedef struct vmk_error {
  int code;                    /* negative errno, 0 when no error */
  char msg[VMK_ERROR_MSG_MAX]; /* one sentence: what is wrong, how to fix it */
} vmk_error;

typedef enum vmk_engine_kind {
  VMK_ENGINE_AUTO = 0, /* kvm when /dev/kvm works on an arm64 host, else emu */
  VMK_ENGINE_KVM,
  VMK_ENGINE_EMU,
} vmk_engine_kind;

/* How the emu engine runs guest code; other engines ignore it. The
 * default (vmk_config_new) is VMK_EMU_MODE_JIT on x86-64 hosts, where the
 * translator's code runs, and VMK_EMU_MODE_INTERP on any other host. */
typedef enum vmk_emu_mode {
  VMK_EMU_MODE_INTERP = 0, /* the interpreter (the reference) */
  VMK_EMU_MODE_JIT,        /* blocks translated to x86-64 */
} vmk_emu_mode;

typedef enum vmk_console_kind {
  VMK_CONSOLE_NONE = 0, /* guest console output is discarded */
  VMK_CONSOLE_FDS,      /* read input from in_fd, write output to out_fd */
  VMK_CONSOLE_FILE,     /* output appended to a file (no input): see
                           vmk_config_set_console_file */
} vmk_console_kind;

/* A VM's lifecycle (the names Apple's Virtualization framework uses).
 * created --start--> starting -> running
 * running --pause--> pausing -> paused --resume--> resuming -> running
 * paused --save--> saving -> paused;  restoring -> paused | running
 * any live state --stop / guest power-off--> stopping -> stopped | error
 * stopped and error are final; error: the VM ended because vmkit failed
 * (VMK_EXIT_ERROR). The values below stay stable: new states are added at
 * the end. */
typedef enum vmk_state {
  VMK_STATE_CREATED = 0,
  VMK_STATE_RUNNING,
  VMK_STATE_PAUSED,
  VMK_STATE_STOPPING,  /* a stop was requested, the guest is shutting down */
  VMK_STATE_STOPPED,   /* the VM has ended; see vmk_vm_exit() */
  VMK_STATE_STARTING,  /* vmk_vm_start is starting the vCPUs */
  VMK_STATE_PAUSING,   /* vmk_vm_pause waits for the vCPUs to park */
  VMK_STATE_RESUMING,  /* vmk_vm_resume is letting them go */
  VMK_STATE_SAVING,    /* a paused VM being written to a snapshot */
  VMK_STATE_RESTORING, /* a VM being read from a snapshot */
  VMK_STATE_ERROR,     /* ended because vmkit failed; see vmk_vm_exit() */
} vmk_state;

typedef enum vmk_exit_reason {
  VMK_EXIT_NONE = 0, /* has not ended */
  VMK_EXIT_POWEROFF, /* the guest powered off (PSCI SYSTEM_OFF) */
  /* The guest rebooted (PSCI SYSTEM_RESET). A VM does not restart itself:
   * to reboot as QEMU does, free it and create and start a new VM from the
   * same vmk_config (disks keep what the guest wrote); the vmkit command
   * does that unless --on-reboot exit. */
  VMK_EXIT_RESET,
  /* The guest crashed: its kernel panicked (vmk_vm_exit's error says so,
   * quoting the kernel's panic line when it can), or its state is bad. A
   * panic is seen through the pvpanic device, or, for kernels without it,
   * through the panic log the kernel leaves in its ramoops region before it
   * resets (then the reset or power-off is reported as this crash). */
  VMK_EXIT_CRASH,
  VMK_EXIT_STOPPED, /* the host stopped it (vmk_vm_stop) */
  VMK_EXIT_ERROR,   /* vmkit failed; vmk_vm_exit() has the error */
} vmk_exit_reason;

/* ---- configuration ---------------------------------------------------- */

typedef struct vmk_config vmk_config;

vmk_config *vmk_config_new(void);
void vmk_config_free(vmk_config *cfg);

/* Setters copy their arguments. They check only the value's own form;
 * vmk_config_validate checks the whole (files exist, sizes fit, ...). */
int vmk_config_set_engine(vmk_config *cfg, vmk_engine_kind kind);
/* Only the emu engine reads the mode; vmk_config_validate refuses
 * VMK_EMU_MODE_JIT on a host that is not x86-64 when the VM runs on emu. */
int vmk_config_set_emu_mode(vmk_config *cfg, vmk_emu_mode mode);
int vmk_config_set_cpus(vmk_config *cfg, unsigned cpus);
int vmk_config_set_memory(vmk_config *cfg, uint64_t bytes);
int vmk_config_set_kernel(vmk_config *cfg, const char *path);
int vmk_config_set_initrd(vmk_config *cfg, const char *path);
int vmk_config_set_cmdline(vmk_config *cfg, const char *cmdline);
int vmk_config_add_disk(vmk_config *cfg, const char *path, bool read_only);
/* Entropy (virtio-rng) is on by default. */
int vmk_config_set_entropy(vmk_config *cfg, bool enabled);
/* The console: the guest's PL011 and virtio-console both use these fds.
 * The fds are borrowed, not closed by vmkit. */
int vmk_config_set_console(vmk_config *cfg, vmk_console_kind kind, int in_fd,
                           int out_fd);
/* The console's output appended to the file path (created 0600 when
 * missing) by the VM, which opens it at create and closes it at free; no
 * console input. */
int vmk_config_set_console_file(vmk_config *cfg, const char *path);
/* Shares the host directory dir with the guest (virtio-fs) under tag, the
 * name the guest mounts (NULL: the directory's base name); read_only: the
 * guest can change nothing in it. The default guest mounts it at /mnt/TAG.
 * -EINVAL for an empty dir, -ENOSPC beyond VMK_MAX_SHARES. */
int vmk_config_add_share(vmk_config *cfg, const char *dir, const char *tag,
                         bool read_only);
/* Opt-in boot-timer device (one MMIO byte the guest writes once at init). */
int vmk_config_set_boot_timer(vmk_config *cfg, bool enabled);
/* virtio-vsock with guest CID cid (3 .. 4294967294; VMK_VSOCK_DEFAULT_CID)
 * joined to host Unix sockets in Firecracker's convention: host programs
 * connect to path and write "CONNECT <port>\n"; guest connections to CID 2
 * port P reach the socket "path_P". path NULL removes the device. */
int vmk_config_set_vsock(vmk_config *cfg, const char *path, uint64_t cid);
#define VMK_VSOCK_DEFAULT_CID 3

/* A named console port (virtio-console, multiport): the guest sees
 * /dev/virtio-ports/NAME (the default guest's init makes the link), and
 * vmkit listens on the Unix socket path for one host client at a time.
 * name: 1..VMK_PORT_NAME_MAX bytes of letters, digits, '.', '_' and '-'.
 * -EINVAL for an empty name or path, -ENOSPC beyond VMK_MAX_PORTS. */
int vmk_config_add_port(vmk_config *cfg, const char *name, const char *path);
/* The memory balloon (virtio-balloon with free page reporting: memory the
 * guest frees goes back to the host) is on by default. */
int vmk_config_set_balloon(vmk_config *cfg, bool enabled);
/* Guest memory to keep, in bytes: the balloon asks the guest to give back
 * the rest of its memory at boot (0: keep all of it). Validate refuses a
 * target above the memory size or below VMK_MIN_MEMORY. */
int vmk_config_set_balloon_target(vmk_config *cfg, uint64_t bytes);

/* Network interfaces (virtio-net). A new config has none; the CLI adds
 * one NAT interface unless told --net none. */
typedef enum vmk_net_kind {
  VMK_NET_NAT = 0, /* user-mode NAT (libslirp), 10.0.2.0/24 */
  VMK_NET_SOCKET,  /* connect to a Unix stream socket (passt's protocol) */
  VMK_NET_SOCKET_LISTEN, /* listen on that socket for one peer at a time */
  VMK_NET_TAP,           /* a host tap interface */
} vmk_net_kind;
/* target: the socket path or tap name (NULL for NAT); mac: 6 bytes, or
 * NULL for a stable default derived from the NIC's index and target;
 * mtu: 0 for 1500. */
int vmk_config_add_net(vmk_config *cfg, vmk_net_kind kind, const char *target,
                       const uint8_t *mac, unsigned mtu);
/* A host port forwarded to the guest (10.0.2.15) through the first NAT
 * interface. host_addr: dotted IPv4, or NULL for 127.0.0.1. */
int vmk_config_add_forward(vmk_config *cfg, bool udp, const char *host_addr,
                           unsigned host_port, unsigned guest_port);

/* 0 when the configuration can start a VM on this host; else a negative
 * errno with err filled. */
int vmk_config_validate(const vmk_config *cfg, vmk_error *err);

/* ---- configuration as JSON (docs/config.md) ---------------------------
 * One JSON object, the same one `vmkit run --config`, `vmkit validate`, the
 * REST API's PUT /v1/vm/config and snapshots use. Any thread; the config
 * belongs to the caller. */

/* *out gets a malloc'd, NUL-terminated, pretty-printed JSON document (free
 * it with free()). A VMK_CONSOLE_FDS console is written as "stdio": file
 * descriptors mean nothing outside this process. */
int vmk_config_to_json(const vmk_config *cfg, char **out, vmk_error *err);
/* Parses len bytes of JSON into a new config (*out; free it with
 * vmk_config_free). Every field is checked for type and range and unknown
 * keys are refused; err names the field. Files are not looked at: call
 * vmk_config_validate for that. "console": "stdio" means fds 0 and 1. */
int vmk_config_from_json(const char *json, size_t len, vmk_config **out,
                         vmk_error *err);
/* The same, reading the file path (at most VMK_CONFIG_JSON_MAX bytes). */
int vmk_config_load_json(const char *path, vmk_config **out, vmk_error *err);
#define VMK_CONFIG_JSON_MAX (1u << 20)

/* Limits the setters and validate enforce. */
#define VMK_MAX_CPUS 8
#define VMK_MIN_MEMORY (64ull << 20)
#define VMK_MAX_MEMORY (64ull << 30)
#define VMK_MAX_DISKS 8
#define VMK_MAX_SHARES 8
#define VMK_SHARE_TAG_MAX 36 /* bytes */
#define VMK_MAX_NETS 4
#define VMK_MAX_FORWARDS 32
#define VMK_MAX_PORTS 16
#define VMK_PORT_NAME_MAX 63 /* bytes */

/* ---- VM lifecycle ----------------------------------------------------- */

typedef struct vmk_vm vmk_vm;

/* Creates a VM from a validated copy of cfg (cfg may be freed after). */
int vmk_vm_create(const vmk_config *cfg, vmk_vm **out, vmk_error *err);
/* Starts the vCPUs and returns at once. */
int vmk_vm_start(vmk_vm *vm, vmk_error *err);
int vmk_vm_pause(vmk_vm *vm, vmk_error *err);
int vmk_vm_resume(vmk_vm *vm, vmk_error *err);
/* Asks the guest to shut down (as a power button would); returns at once. */
int vmk_vm_request_stop(vmk_vm *vm, vmk_error *err);
/* Ends the VM now, as pulling the plug would; returns when it has ended. */
int vmk_vm_stop(vmk_vm *vm, vmk_error *err);
vmk_state vmk_vm_state(vmk_vm *vm);
/* Waits until the VM has stopped, or timeout_ms passes (-1: forever).
 * Returns 0 when stopped, -ETIMEDOUT otherwise. */
int vmk_vm_wait(vmk_vm *vm, int timeout_ms);
/* Which operations the VM's state allows now (a snapshot of a moving
 * state: the operation itself checks again and fails with a sentence, the
 * VM unchanged, when the state no longer allows it). stop is allowed in
 * every state but the final ones (on a stopped VM it does nothing and
 * returns 0). */
bool vmk_vm_can_start(vmk_vm *vm);
bool vmk_vm_can_pause(vmk_vm *vm);
bool vmk_vm_can_resume(vmk_vm *vm);
bool vmk_vm_can_stop(vmk_vm *vm);
bool vmk_vm_can_request_stop(vmk_vm *vm);
bool vmk_vm_can_save(vmk_vm *vm);
/* True for stopped and error, the states a VM never leaves. */
bool vmk_state_is_final(vmk_state state);

/* Called on every state change, from the thread that made it: the caller
 * of start/pause/resume/stop, a vCPU thread (the guest powered off or
 * crashed: -> stopping) or the VM's monitor thread (-> stopped/error). It
 * runs with the VM's internal lock held, so changes arrive in order: it
 * must be quick and must not call any vmk_vm_* function of this VM (hand
 * the news to another thread instead). Set it before vmk_vm_start; NULL
 * removes it. */
typedef void (*vmk_state_cb)(void *opaque, vmk_vm *vm, vmk_state from,
                             vmk_state to);
void vmk_vm_set_state_callback(vmk_vm *vm, vmk_state_cb cb, void *opaque);

/* Why the VM ended; err (may be NULL) gets the error for VMK_EXIT_ERROR. */
vmk_exit_reason vmk_vm_exit(vmk_vm *vm, vmk_error *err);
/* Stops the VM if it runs, then frees it. */
void vmk_vm_free(vmk_vm *vm);

/* Boot-timer readings, valid once the guest has written the boot-timer
 * byte: wall and process-CPU microseconds from vmk_vm_create. */
int vmk_vm_boot_time(vmk_vm *vm, uint64_t *wall_us, uint64_t *cpu_us);

/* The engine the VM runs on (auto resolved). */
vmk_engine_kind vmk_vm_engine(vmk_vm *vm);

/* A device of the VM with its counters (a snapshot; any thread). */
typedef struct vmk_device_info {
  char type[32];  /* "virtio-blk", "virtio-net", ... */
  char label[64]; /* what it serves (an image file, a share tag), or "" */
  uint64_t mmio_base;
  unsigned spi;
  uint64_t notifies;   /* queue notifications served */
  uint64_t interrupts; /* interrupts raised */
  uint64_t requests;   /* requests (descriptor chains) taken */
  uint64_t bytes_out;  /* bytes the guest gave in them */
  uint64_t bytes_in;   /* bytes the device wrote back */
  uint64_t errors;     /* bad requests (device put in NEEDS_RESET) */
} vmk_device_info;
/* Fills out[0..max) with the VM's virtio devices, in slot order; returns
 * how many it has (which may exceed max). */
unsigned vmk_vm_devices(vmk_vm *vm, vmk_device_info *out, unsigned max);
/* ---- memory balloon --------------------------------------------------- */

/* Asks the guest to keep only `bytes` of its memory (4 KiB granularity) and
 * give the rest back to the host; the memory size itself gives everything
 * back to the guest. The guest inflates or deflates its balloon soon after;
 * under memory pressure it deflates on its own (it is never OOM-killed for
 * the balloon). Any thread, any state but stopped; -ENODEV without a
 * balloon, -EINVAL for a size above the memory or below VMK_MIN_MEMORY. A
 * VM created again after a guest reboot starts from its config's target. */
int vmk_vm_set_balloon_target(vmk_vm *vm, uint64_t bytes, vmk_error *err);

/* Statistics tags (virtio 1.2 §5.5.6.3, and Linux's later additions). */
enum {
  VMK_BALLOON_STAT_SWAP_IN = 0,  /* bytes swapped in */
  VMK_BALLOON_STAT_SWAP_OUT = 1, /* bytes swapped out */
  VMK_BALLOON_STAT_MAJFLT = 2,   /* major page faults */
  VMK_BALLOON_STAT_MINFLT = 3,   /* minor page faults */
  VMK_BALLOON_STAT_MEMFREE = 4,  /* bytes of unused memory */
  VMK_BALLOON_STAT_MEMTOT = 5,   /* bytes of memory the guest can use */
  VMK_BALLOON_STAT_AVAIL = 6,    /* bytes available without swapping */
  VMK_BALLOON_STAT_CACHES = 7,   /* bytes of reclaimable disk caches */
  VMK_BALLOON_STAT_HTLB_PGALLOC = 8,
  VMK_BALLOON_STAT_HTLB_PGFAIL = 9,
  VMK_BALLOON_STAT_OOM_KILL = 10,
  VMK_BALLOON_STAT_ALLOC_STALL = 11,
  VMK_BALLOON_STAT_ASYNC_SCAN = 12,
  VMK_BALLOON_STAT_DIRECT_SCAN = 13,
  VMK_BALLOON_STAT_ASYNC_RECLAIM = 14,
  VMK_BALLOON_STAT_DIRECT_RECLAIM = 15,
  VMK_BALLOON_STAT_COUNT = 16
};

typedef struct vmk_balloon_stats {
  uint64_t target_bytes;   /* guest memory to keep, as last set */
  uint64_t balloon_bytes;  /* memory the guest has given back (its balloon) */
  uint64_t reported_bytes; /* freed memory the guest reported and vmkit
                              returned to the host, since the VM started */
  uint64_t stats_updates;  /* statistics received; 0: none yet */
  uint64_t stats_age_ms;   /* since the last statistics; UINT64_MAX: none */
  uint32_t valid;          /* bit n set: stat[n] holds a reported value */
  uint64_t stat[VMK_BALLOON_STAT_COUNT]; /* VMK_BALLOON_STAT_* */
} vmk_balloon_stats;

/* The balloon's state and the guest's last memory statistics (the guest
 * sends them every 5 s; this call also asks for fresh ones, which a later
 * call sees). Each value was checked (memory sizes above the guest's RAM
 * are dropped). Any thread; -ENODEV without a balloon. */
int vmk_vm_balloon_stats(vmk_vm *vm, vmk_balloon_stats *out, vmk_error *err);

/* ---- host-wide VM slots ------------------------------------------------ */

/* An operator caps how many VMs a user runs at once with VMKIT_MAX_VMS in
 * the environment or a number in /etc/vmkit/max-vms (when both are set the
 * lower wins: a user may lower the operator's limit, never raise it). A
 * program that runs a VM takes a slot first and releases it when the VM has
 * ended; slots are flock()ed files in the user's runtime folder
 * ($XDG_RUNTIME_DIR/vmkit/slots, else /run/user/UID/vmkit/slots, else
 * /tmp/vmkit-UID/slots), so a process that dies in any way (kill -9 too)
 * frees its slot. */
typedef struct vmk_slot vmk_slot;
/* Takes a slot for a VM named label (NULL: "pid N"): 0 with *out set, or
 * 0 with *out NULL when no limit is set; -EUSERS when every slot is in use
 * (err: "N of N VM slots are in use (a, b); stop one or raise the limit
 * ..."); -EINVAL for a limit that is not a number from 1 to 1024. */
int vmk_slot_acquire(const char *label, vmk_slot **out, vmk_error *err);
/* Frees the slot (NULL: nothing). */
void vmk_slot_release(vmk_slot *slot);

/* ---- snapshots (docs/snapshot.md) ------------------------------------ */

/* Saves a paused VM (as Apple's framework, only a paused VM can be saved)
 * into the directory dir (created if missing; its snapshot files are
 * replaced): the config, every vCPU's and device's state, and guest memory
 * as a sparse file. The VM stays paused; resume or stop it after. Refused
 * with a sentence for a VM that is not paused, an engine or a device that
 * cannot be saved yet (virtio-fs shares), or a write that fails. */
int vmk_vm_save(vmk_vm *vm, const char *dir, vmk_error *err);
/* Creates a VM from the snapshot in dir, started and paused: call
 * vmk_vm_resume to let it run. cfg NULL: the config saved in the
 * snapshot (no console: see vmk_snapshot_config to set one); else cfg,
 * which must describe the same machine (vCPUs, memory, device set, MACs)
 * and may change host-side things (console fds, engine, disk paths). A
 * snapshot that is damaged, whose disks are missing or changed since the
 * save (size, content of the first/last MiB, modification time), or that
 * does not match is refused with the reason. A snapshot can be restored
 * any number of times; its disks are the user's business (a restored VM
 * writes to them: keep a copy per restore). */
int vmk_vm_restore(const char *dir, const vmk_config *cfg, vmk_vm **out,
                   vmk_error *err);
/* As vmk_vm_restore, with cb (may be NULL) as the new VM's state callback
 * from its first change, so it sees the restore's own transitions:
 * created -> restoring -> paused, or restoring -> error when the restore
 * fails once the VM exists (the VM is then freed: *out stays NULL). cb
 * runs on the calling thread during the restore. */
int vmk_vm_restore_watched(const char *dir, const vmk_config *cfg,
                           vmk_state_cb cb, void *opaque, vmk_vm **out,
                           vmk_error *err);
/* The config saved in the snapshot in dir (a new vmk_config the caller
 * frees), to adjust before vmk_vm_restore. */
int vmk_snapshot_config(const char *dir, vmk_config **out, vmk_error *err);

/* ---- misc ------------------------------------------------------------- */

const char *vmk_engine_name(vmk_engine_kind kind);
/* "interp" or "jit". */
const char *vmk_emu_mode_name(vmk_emu_mode mode);
const char *vmk_state_name(vmk_state state);
const char *vmk_exit_reason_name(vmk_exit_reason reason);
const char *vmk_version(void);

#ifdef __cplusplus
}
#endif
#endif
