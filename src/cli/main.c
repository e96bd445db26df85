/* main.c — the vmkit command: parses the command line into library calls.
 *
 *   vmkit run [flags]          boot a VM (the default guest unless told)
 *   vmkit exec PROGRAM [ARGS]  run a static arm64 Linux program on the
 *                              emulator (user mode)
 *
 * Runs on the main thread. Every user error is one sentence on stderr and
 * exit status 2; a guest that powers off gives 0; anything else non-zero.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "base/startup_trace.h"
#include "cli/control.h"
#include "cli/size.h"
#include "core/api.h"
#include "core/config.h"
#include "core/runtime.h"
#include "emu/user/exec.h"
#include "vmkit/vmkit.h"

#define EXIT_USAGE 2
#define EXIT_NO_SLOT 3 /* every VM slot is in use (VMKIT_MAX_VMS) */

/* The configuration being built, freed by usage_error so an early exit
 * leaks nothing (the sanitizer build checks). */
static vmk_config *run_cfg;

static void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...) {
  vmk_config_free(run_cfg);
  run_cfg = NULL;
  va_list ap;
  fputs("vmkit: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(EXIT_USAGE);
}

static const char main_help[] =
    "usage: vmkit COMMAND [ARGS]\n"
    "\n"
    "Runs arm64 Linux virtual machines.\n"
    "\n"
    "commands:\n"
    "  run [FLAGS]             boot a VM (the default guest unless --kernel)\n"
    "  validate CONFIG.json    check a VM config file (exit 0, or 2 and why)\n"
    "  list [--json]           the running named VMs\n"
    "  pause|resume|stop|request-stop NAME\n"
    "                          drive a running VM through its API socket\n"
    "  inspect NAME            a VM's state, config and device counters\n"
    "  console NAME            attach to a running VM's console (-d or\n"
    "                          foreground; Ctrl-a d detaches)\n"
    "  save NAME DIR           save a paused VM (needs snapshot support)\n"
    "  restore DIR [--engine emu|kvm] [--emu-mode interp|jit] [--paused]\n"
    "                          start a VM from a snapshot (needs snapshot "
    "support)\n"
    "  serve --api-socket PATH an empty VMM configured and started through\n"
    "                          the REST API (docs/api.md)\n"
    "  exec PROGRAM [ARGS...]  run a static arm64 Linux program on vmkit's\n"
    "                          emulator, like qemu-aarch64\n"
    "  exec --emu-mode interp|jit PROGRAM [ARGS...]\n"
    "                          the same, jit (the default on x86-64 hosts):\n"
    "                          translated to x86-64; interp: the\n"
    "                          interpreter\n"
    "\n"
    "  vmkit --help            this text\n"
    "  vmkit run --help        the flags of run\n"
    "  vmkit --version         the version\n";

/* The console escape keys (interactive console only). */
#define ESCAPE_HELP                                                            \
  "  Ctrl-a x       stop the VM and quit (exit status 1)\n"                    \
  "  Ctrl-a Ctrl-a  send one Ctrl-a to the guest\n"                            \
  "  Ctrl-a h       print this help\n"

static const char run_help[] =
    "usage: vmkit run [FLAGS]\n"
    "\n"
    "Boots an arm64 Linux VM and runs it until the guest powers off.\n"
    "With no --kernel it boots the default guest (make guest builds it).\n"
    "\n"
    "flags:\n"
    "  --name NAME            name the VM (default: a generated one, e.g.\n"
    "                         brisk-otter-3f); its runtime folder is\n"
    "                         $XDG_RUNTIME_DIR/vmkit/NAME (api.sock, pid,\n"
    "                         config.json) and vmkit list/stop/... NAME\n"
    "                         drive it. A name a live VM holds is refused\n"
    "  -d, --detach           run in the background: prints the name and\n"
    "                         returns; the console goes to console.log in the\n"
    "                         runtime folder (vmkit console NAME attaches)\n"
    "  --restore DIR          start from the snapshot in DIR (vmkit save),\n"
    "                         where it was saved; vmkit restore DIR is the\n"
    "                         same. --engine may change, the machine may not\n"
    "  --paused               with --restore: stay paused (vmkit resume NAME)\n"
    "  --config FILE.json     start from this config (docs/config.md); the\n"
    "                         other flags change or add to it\n"
    "  --print-config         print the config of the given flags as JSON\n"
    "                         and exit (a starting point for --config)\n"
    "  --engine auto|kvm|emu  CPU engine (default auto: kvm when /dev/kvm\n"
    "                         works on an arm64 host, else emu)\n"
    "  --emu-mode interp|jit  how the emu engine runs guest code: jit (the\n"
    "                         default on x86-64 hosts) translates it to\n"
    "                         x86-64 (up to 32 MiB of translated code per\n"
    "                         vCPU), interp interprets it (the default on\n"
    "                         other hosts). Not for kvm\n"
    "  --cpus N               virtual CPUs, 1-8 (default 1)\n"
    "  --memory SIZE          guest RAM, e.g. 512M or 2G (default 512M)\n"
    "  --kernel PATH          arm64 Linux Image (uncompressed)\n"
    "  --initrd PATH          initial ramdisk\n"
    "  --cmdline STRING       kernel command line\n"
    "                         (default: console=hvc0 earlycon panic=-1\n"
    "                         pstore.compress=none; keep panic=-1 in yours\n"
    "                         so that a guest kernel panic ends the VM)\n"
    "  --disk PATH[,ro]       attach a raw disk image as virtio-blk; repeat\n"
    "                         for more disks (/dev/vda, /dev/vdb, ...)\n"
    "  --share HOSTDIR[,tag=NAME][,ro]\n"
    "                         share a host folder with the guest (virtio-fs);\n"
    "                         the tag defaults to the folder's name and the\n"
    "                         default guest mounts it at /mnt/TAG; ro: the\n"
    "                         guest cannot change it. Repeat for more (up to\n"
    "                         8); the guest can never reach outside HOSTDIR\n"
    "  --console stdio|none|PATH\n"
    "                         where the guest console goes (default stdio;\n"
    "                         PATH: output appended to a file, no input).\n"
    "                         stdio is also kept in console.log in the\n"
    "                         runtime folder (at most 4 MiB, then moved to\n"
    "                         console.log.1) and vmkit console NAME attaches\n"
    "                         from elsewhere: both sides see the output and\n"
    "                         type to the guest\n"
    "  --net nat|none|socket=PATH[,listen]|tap=IFNAME[,mac=XX:XX:..][,mtu=N]\n"
    "                         a network interface (virtio-net); repeat for\n"
    "                         more. Default: one nat interface (10.0.2.15 by\n"
    "                         DHCP, gateway 10.0.2.2 = the host's loopback,\n"
    "                         DNS 10.0.2.3); none: no network. socket: frames\n"
    "                         with a 4-byte big-endian length over a Unix\n"
    "                         stream socket (passt, QEMU -netdev stream);\n"
    "                         ,listen creates it and waits for a peer (two\n"
    "                         VMs: one listens, one connects)\n"
    "  --forward tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT\n"
    "                         forward a host port (HOSTADDR default\n"
    "                         127.0.0.1) to the guest through the nat\n"
    "                         interface; repeatable\n"
    "  --no-entropy           do not attach virtio-rng\n"
    "  --balloon on|off       the memory balloon (virtio-balloon, default\n"
    "                         on): memory the guest frees goes back to the\n"
    "                         host by itself (free page reporting)\n"
    "  --balloon-target SIZE  guest memory to keep, e.g. 256M: the guest\n"
    "                         gives the rest of --memory back to the host\n"
    "                         (and takes it back under memory pressure)\n"
    "  --vsock PATH[,cid=N]   attach virtio-vsock (guest CID N, default 3),\n"
    "                         Firecracker's convention: a host program\n"
    "                         connects to the Unix socket PATH, writes\n"
    "                         'CONNECT PORT\\n', reads 'OK HOSTPORT\\n' and\n"
    "                         talks to guest port PORT; a guest connection\n"
    "                         to CID 2 port P goes to the socket PATH_P\n"
    "  --port NAME=PATH       a named console port (virtio-console,\n"
    "                         multiport): the guest sees\n"
    "                         /dev/virtio-ports/NAME, and vmkit listens on\n"
    "                         the Unix socket PATH for one host client at a\n"
    "                         time (the guest is told when one connects);\n"
    "                         repeat for more (up to 16). NAME: letters,\n"
    "                         digits, '.', '_', '-'\n"
    "  --boot-timer           report the time from VM creation to the\n"
    "                         guest's boot-timer write (the default guest's\n"
    "                         init does it when the cmdline has\n"
    "                         vmkit.boottimer)\n"
    "  --on-reboot restart|exit\n"
    "                         what a guest reboot does (default restart: the\n"
    "                         VM boots again with the same flags, disks\n"
    "                         kept; exit: the VM ends, exit status 0)\n"
    "  --stop-timeout SECONDS after SIGINT/SIGTERM pressed the guest's power\n"
    "                         button, how long the guest has to power off\n"
    "                         before vmkit stops it (default 10)\n"
    "  --help                 this text\n"
    "\n"
    "SIGINT/SIGTERM: the first presses the guest's power button, a second\n"
    "one (or --stop-timeout passing) stops the VM at once.\n"
    "\n"
    "When stdin is a terminal, Ctrl-a is an escape key on the "
    "console:\n" ESCAPE_HELP "\n"
    "exit status: 0 when the guest powers off (or reboots, with --on-reboot\n"
    "exit), 1 when the guest crashes or panics, vmkit fails, or the VM is\n"
    "stopped (signals, --stop-timeout, Ctrl-a x), 2 for a usage error, 3\n"
    "when every VM slot is in use.\n"
    "\n"
    "VM slots: VMKIT_MAX_VMS=N (or N in /etc/vmkit/max-vms; the lower wins)\n"
    "caps how many VMs this user runs at once; a VM beyond it is refused\n"
    "with a sentence naming the limit and the VMs holding the slots.\n"
    "\n"
    "VMKIT_TRACE_START=1 prints each start-up stage on stderr (time since\n"
    "exec, the thread's CPU time), up to the first guest instruction.\n"
    "libslirp (NAT) is loaded only for a VM with a NAT interface, and\n"
    "libmicrohttpd (the REST API) when its first client connects.\n";

static const char *default_guest_file(const char *name) {
  static char buf[4096];
  const char *dir = getenv("VMKIT_GUEST_DIR");
  if (!dir || !*dir)
    dir = VMK_DEFAULT_GUEST_DIR;
  snprintf(buf, sizeof(buf), "%s/%s", dir, name);
  return buf;
}

/* --net KIND[,mac=..][,mtu=N][,listen]: one sentence and exit 2 when it
 * does not parse. */
static void parse_net(vmk_config *cfg, const char *arg) {
  char buf[4096];
  if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
    usage_error("--net value is too long");
  char *save = NULL, *kind = strtok_r(buf, ",", &save);
  if (!kind)
    usage_error("--net needs a value: nat, none, socket=PATH or tap=IFNAME");
  vmk_net_kind k;
  const char *target = NULL;
  if (!strcmp(kind, "nat")) {
    k = VMK_NET_NAT;
  } else if (!strncmp(kind, "socket=", 7) && kind[7]) {
    k = VMK_NET_SOCKET;
    target = kind + 7;
  } else if (!strncmp(kind, "tap=", 4) && kind[4]) {
    k = VMK_NET_TAP;
    target = kind + 4;
  } else {
    usage_error("--net takes nat, none, socket=PATH or tap=IFNAME, not '%s'",
                kind);
  }
  uint8_t mac[6];
  bool have_mac = false;
  unsigned long mtu = 0;
  for (char *o; (o = strtok_r(NULL, ",", &save));) {
    if (!strncmp(o, "mac=", 4)) {
      unsigned v[6];
      char end;
      if (sscanf(o + 4, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
                 &v[4], &v[5], &end) != 6 ||
          strlen(o + 4) != 17)
        usage_error("--net mac= takes six hex bytes such as "
                    "52:54:00:12:34:56, not '%s'",
                    o + 4);
      for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
      have_mac = true;
    } else if (!strncmp(o, "mtu=", 4)) {
      char *end;
      errno = 0;
      mtu = strtoul(o + 4, &end, 10);
      if (errno || *end || end == o + 4 || mtu < 68 || mtu > 65500)
        usage_error("--net mtu= takes a number from 68 to 65500, not '%s'",
                    o + 4);
    } else if (!strcmp(o, "listen") && k == VMK_NET_SOCKET) {
      k = VMK_NET_SOCKET_LISTEN;
    } else {
      usage_error("--net %s: unknown option '%s'; use mac=, mtu=%s", kind, o,
                  k == VMK_NET_SOCKET ? " or listen" : "");
    }
  }
  int r =
      vmk_config_add_net(cfg, k, target, have_mac ? mac : NULL, (unsigned)mtu);
  if (r == -ENOSPC)
    usage_error("at most %d network interfaces can be attached", VMK_MAX_NETS);
  if (r)
    usage_error("--net '%s' is not valid", arg);
}

/* --forward tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT */
static void parse_forward(vmk_config *cfg, const char *arg) {
  static const char form[] = "tcp:[HOSTADDR:]HOSTPORT:GUESTPORT (or udp:)";
  char buf[256];
  if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
    usage_error("--forward takes %s, not '%s'", form, arg);
  char *f[4];
  int n = 0;
  char *save = NULL;
  for (char *t = strtok_r(buf, ":", &save); t; t = strtok_r(NULL, ":", &save))
    if (n < 4)
      f[n++] = t;
    else
      usage_error("--forward takes %s, not '%s'", form, arg);
  if (n < 3 || (strcmp(f[0], "tcp") && strcmp(f[0], "udp")))
    usage_error("--forward takes %s, not '%s'", form, arg);
  const char *addr = n == 4 ? f[1] : NULL;
  unsigned long port[2];
  for (int i = 0; i < 2; i++) {
    const char *p = f[n - 2 + i];
    char *end;
    errno = 0;
    port[i] = strtoul(p, &end, 10);
    if (errno || *end || end == p || *p == '-' || port[i] < 1 ||
        port[i] > 65535)
      usage_error("--forward: '%s' is not a port number from 1 to 65535", p);
  }
  int r = vmk_config_add_forward(cfg, !strcmp(f[0], "udp"), addr,
                                 (unsigned)port[0], (unsigned)port[1]);
  if (r == -ENOSPC)
    usage_error("at most %d ports can be forwarded", VMK_MAX_FORWARDS);
  if (r)
    usage_error("--forward: '%s' is not an IPv4 address such as 127.0.0.1",
                addr ? addr : "");
}

static struct termios saved_tty;
static bool tty_raw;

static void restore_tty(void) {
  if (tty_raw)
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
  tty_raw = false;
}

/* Raw mode so keys reach the guest as typed (the guest echoes them). */
static void make_tty_raw(void) {
  if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty) < 0)
    return;
  struct termios raw = saved_tty;
  cfmakeraw(&raw);
  raw.c_oflag |= OPOST | ONLCR; /* keep vmkit's own messages readable */
  if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
    tty_raw = true;
    atexit(restore_tty);
  }
}

static volatile sig_atomic_t stop_signals;
static void on_stop_signal(int sig) {
  (void)sig;
  stop_signals++;
}

struct named_vm;
struct run_opts {
  struct vmk_api *api;       /* the VM's REST API, or NULL */
  struct named_vm *detached; /* -d: told once the first VM runs */
  const char *restore_dir;   /* the first VM comes from this snapshot */
  bool restore_paused;       /* ... and stays paused */
  bool boot_timer;
  bool restart_on_reboot;  /* --on-reboot restart */
  unsigned stop_timeout_s; /* --stop-timeout */
  int escape_in;           /* the terminal read for escapes, or -1 */
  int relay_out;           /* where typed keys go (the console pipe) */
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What the user did, across reads and across the VM's reboots. */
struct console_state {
  bool escape;      /* the last key was Ctrl-a */
  bool quit;        /* Ctrl-a x */
  bool eof;         /* the terminal went away: stop reading it */
  int handled;      /* stop signals acted on */
  double button_at; /* when the first one pressed the power button */
  char why[192];    /* why vmkit stopped the VM, if it did */
};

/* Reads what the terminal has and forwards it to the guest, acting on
 * Ctrl-a sequences (as QEMU's -serial mon:stdio does: Ctrl-a then x, h or
 * Ctrl-a; any other key after Ctrl-a is dropped). */
static void relay_keys(const struct run_opts *ro, struct console_state *cs) {
  unsigned char in[256], out[256];
  ssize_t n = read(ro->escape_in, in, sizeof(in));
  if (n <= 0) {
    if (n == 0 || (errno != EINTR && errno != EAGAIN))
      cs->eof = true;
    return;
  }
  size_t m = 0;
  for (ssize_t i = 0; i < n; i++) {
    unsigned char c = in[i];
    if (!cs->escape && c == 0x01) {
      cs->escape = true;
      continue;
    }
    if (!cs->escape) {
      out[m++] = c;
      continue;
    }
    cs->escape = false;
    if (c == 'x' || c == 'X') {
      cs->quit = true;
      break;
    } else if (c == 'h' || c == 'H' || c == '?') {
      fputs("\nvmkit console escapes:\n" ESCAPE_HELP, stderr);
    } else if (c == 0x01) {
      out[m++] = c;
    }
  }
  /* Keys typed while the guest does not read are dropped, not queued
   * forever (the pipe is non-blocking). */
  if (m && write(ro->relay_out, out, m) < 0 && errno != EAGAIN)
    cs->eof = true;
}

/* Runs one boot of the VM: returns when it has ended. cs->why gets a
 * sentence when vmkit itself ended it. */
static void supervise(vmk_vm *vm, const struct run_opts *ro,
                      struct console_state *cs) {
  for (;;) {
    struct pollfd pfd = {.fd = ro->escape_in, .events = POLLIN};
    bool watch = ro->escape_in >= 0 && !cs->eof;
    /* With no keyboard to watch, sleep on the VM itself: its end wakes
     * this thread at once, and a stop signal is seen within 0.5 s. Each
     * wake-up costs the vCPUs a host CPU's time slice (dear in a nested
     * host: see bench/kvm_boot.sh), so not 10 a second. */
    if (!watch) {
      if (vmk_vm_wait(vm, 500) != -ETIMEDOUT)
        break;
    } else if (vmk_vm_wait(vm, 0) != -ETIMEDOUT) {
      break;
    }
    int r = watch ? poll(&pfd, 1, 100) : 0;
    if (r > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
      relay_keys(ro, cs);
    if (cs->quit) {
      snprintf(cs->why, sizeof(cs->why), "Ctrl-a x: vmkit stopped the VM");
      vmk_vm_stop(vm, NULL);
      continue;
    }
    if (stop_signals > cs->handled) {
      cs->handled = stop_signals;
      if (cs->handled == 1) {
        cs->button_at = now_s();
        vmk_vm_request_stop(vm, NULL);
      } else {
        snprintf(cs->why, sizeof(cs->why),
                 "a second stop signal: vmkit stopped the VM");
        vmk_vm_stop(vm, NULL);
      }
    }
    if (cs->handled == 1 && now_s() - cs->button_at >= ro->stop_timeout_s) {
      snprintf(cs->why, sizeof(cs->why),
               "the guest did not power off within %u s of the power "
               "button (--stop-timeout); vmkit stopped the VM",
               ro->stop_timeout_s);
      vmk_vm_stop(vm, NULL);
    }
  }
}

/* Boots the VM, again after each guest reboot with --on-reboot restart,
 * until it ends; returns the exit status. */
static void detach_ready(struct named_vm *nv);

static int run_until_end(const vmk_config *cfg, struct run_opts *ro) {
  struct console_state cs = {0};
  for (;;) {
    vmk_error err;
    vmk_vm *vm;
    const char *snap = ro->restore_dir;
    ro->restore_dir = NULL; /* a guest reboot boots afresh */
    /* Through the API, so its event stream shows restoring -> paused. */
    int r = snap && ro->api ? vmk_api_restore(ro->api, snap, cfg, &vm, &err)
            : snap          ? vmk_vm_restore(snap, cfg, &vm, &err)
                            : vmk_vm_create(cfg, &vm, &err);
    if (!r && ro->api)
      vmk_api_set_vm(ro->api, vm, cfg);
    if (r) {
      restore_tty();
      fprintf(stderr, "vmkit: %s\n", err.msg);
      /* Errors that name a bad flag value (a port in use, a socket with no
       * listener, a tap that cannot be opened) are the user's to fix. */
      bool usage = r == -EINVAL || r == -ENOENT || r == -ENOEXEC ||
                   r == -EADDRINUSE || r == -EADDRNOTAVAIL ||
                   r == -ECONNREFUSED || r == -ENAMETOOLONG || r == -EPERM ||
                   r == -EACCES || r == -EBUSY || r == -ENOTSOCK ||
                   r == -ENOTSUP;
      return usage ? EXIT_USAGE : 1;
    }
    /* A stop asked through the API while there was no VM (between a
     * guest reboot's two VMs) ends the run here. */
    bool stop_asked = ro->api && vmk_api_take_stop(ro->api);
    if (stop_asked) {
      vmk_vm_stop(vm, NULL);
      snprintf(cs.why, sizeof(cs.why),
               "a stop through the API ended the VM as it rebooted");
    }
    /* A restored VM is started and paused: resume it unless --paused. */
    if (stop_asked) {
      /* ends below as a stopped VM */
    } else if (snap ? !ro->restore_paused && vmk_vm_resume(vm, &err)
                    : vmk_vm_start(vm, &err)) {
      restore_tty();
      fprintf(stderr, "vmkit: %s\n", err.msg);
      if (ro->api)
        vmk_api_set_vm(ro->api, NULL, NULL);
      vmk_vm_free(vm);
      return 1;
    }
    if (ro->detached) {
      detach_ready(ro->detached);
      ro->detached = NULL;
    }
    if (!stop_asked)
      cs.why[0] = '\0';
    supervise(vm, ro, &cs);
    vmk_exit_reason reason = vmk_vm_exit(vm, &err);
    uint64_t wall_us, cpu_us;
    if (ro->boot_timer) {
      if (vmk_vm_boot_time(vm, &wall_us, &cpu_us) == 0)
        fprintf(stderr, "vmkit: boot-timer: wall %.3f ms, cpu %.3f ms\n",
                wall_us / 1000.0, cpu_us / 1000.0);
      else
        fprintf(stderr, "vmkit: boot-timer: the guest never wrote the "
                        "boot-timer byte\n");
    }
    if (ro->api)
      vmk_api_set_vm(ro->api, NULL, NULL);
    vmk_vm_free(vm);
    /* A reboot after the power button was pressed ends the VM: the user
     * asked for it to stop. */
    if (reason == VMK_EXIT_RESET && ro->restart_on_reboot && !cs.handled)
      continue;
    restore_tty();
    switch (reason) {
    case VMK_EXIT_POWEROFF:
      return 0;
    case VMK_EXIT_RESET:
      fprintf(stderr, "vmkit: the guest rebooted; vmkit ended the VM\n");
      return 0;
    case VMK_EXIT_STOPPED:
      fprintf(stderr, "vmkit: %s\n", cs.why[0] ? cs.why : "the VM was stopped");
      return 1;
    case VMK_EXIT_CRASH:
      fprintf(stderr, "vmkit: %s\n",
              err.msg[0] ? err.msg : "the guest crashed");
      return 1;
    default:
      fprintf(stderr, "vmkit: %s\n",
              err.msg[0] ? err.msg : "the VM ended for an unknown reason");
      return 1;
    }
  }
}

/* --port NAME=PATH: the name up to the first '='; the path is the rest. */
static void add_port(vmk_config *cfg, const char *arg) {
  const char *eq = strchr(arg, '=');
  if (!eq)
    usage_error("--port takes NAME=PATH, as in --port agent=/tmp/agent.sock; "
                "'%s' has no '='",
                arg);
  if (eq == arg || !eq[1])
    usage_error("--port takes NAME=PATH with both parts given, as in --port "
                "agent=/tmp/agent.sock, not '%s'",
                arg);
  char name[VMK_PORT_NAME_MAX + 2];
  size_t n = (size_t)(eq - arg);
  if (n >= sizeof(name))
    n = sizeof(name) - 1; /* too long either way: validation says so */
  memcpy(name, arg, n);
  name[n] = '\0';
  int r = vmk_config_add_port(cfg, name, eq + 1);
  if (r == -ENOSPC)
    usage_error("at most %d console ports can be attached", VMK_MAX_PORTS);
  if (r)
    usage_error("out of memory");
}

/* --share HOSTDIR[,tag=NAME][,ro]: the folder first, then options. */
static void add_share(vmk_config *cfg, const char *arg) {
  char buf[4096];
  snprintf(buf, sizeof(buf), "%s", arg);
  const char *tag = NULL;
  bool ro = false;
  char *save = NULL;
  char *dir = strtok_r(buf, ",", &save);
  if (!dir || buf[0] == ',')
    usage_error("--share needs a folder, as in --share ./src,tag=src");
  for (char *o; (o = strtok_r(NULL, ",", &save));) {
    if (!strcmp(o, "ro") || !strcmp(o, "rw"))
      ro = !strcmp(o, "ro");
    else if (!strncmp(o, "tag=", 4))
      tag = o + 4;
    else
      usage_error("--share takes HOSTDIR[,tag=NAME][,ro]; '%s' is not an "
                  "option",
                  o);
  }
  int r = vmk_config_add_share(cfg, dir, tag, ro);
  if (r == -ENOSPC)
    usage_error("at most %d folders can be shared", VMK_MAX_SHARES);
  if (r)
    usage_error("out of memory");
}

/* A named VM's runtime entry, API and (detached) console. */
struct named_vm {
  struct vmk_instance inst;
  bool claimed;
  struct vmk_api *api;
  struct vmk_console_relay *relay;
  int guest_in[2], guest_out[2]; /* the console's pipes (with a relay) */
  int keys_fd; /* foreground on a terminal: where its keys go, or -1 */
};

/* -d: forks; the parent waits for the child to say it is up (a byte 0x06
 * on the pipe that is the child's stderr until then), prints the name and
 * exits 0, or relays the child's error and exit status. Returns in the
 * child, which runs the VM in its own session. */
static int detach_fork(struct named_vm *nv) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    usage_error("cannot create a pipe: %s", strerror(errno));
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    usage_error("cannot fork: %s", strerror(errno));
  if (pid == 0) {
    close(p[0]);
    setsid();
    vmk_instance_set_pid(&nv->inst, getpid());
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(p[1], STDERR_FILENO);
    close(null);
    close(p[1]);
    return 0;
  }
  close(p[1]);
  char buf[1024];
  size_t n = 0;
  for (;;) {
    ssize_t r = read(p[0], buf + n, sizeof(buf) - 1 - n);
    if (r <= 0)
      break;
    n += (size_t)r;
    if (memchr(buf, 0x06, n) || n == sizeof(buf) - 1)
      break;
  }
  buf[n] = '\0';
  if (memchr(buf, 0x06, n)) {
    printf("%s\n", nv->inst.name);
    fflush(stdout);
    _exit(0);
  }
  fputs(buf, stderr);
  fflush(stderr);
  int status = 1;
  if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
    _exit(WEXITSTATUS(status));
  _exit(1);
}

static void teardown_named(struct named_vm *nv) {
  vmk_console_relay_stop(nv->relay);
  nv->relay = NULL;
  vmk_api_stop(nv->api);
  nv->api = NULL;
  for (int i = 0; i < 2; i++) {
    if (nv->guest_in[i] >= 0)
      close(nv->guest_in[i]);
    if (nv->guest_out[i] >= 0)
      close(nv->guest_out[i]);
    nv->guest_in[i] = nv->guest_out[i] = -1;
  }
  if (nv->claimed)
    vmk_instance_release(&nv->inst);
  nv->claimed = false;
}

/* A VM in the foreground keeps its console on the terminal and, through
 * the relay, also in console.log and on console.sock for `vmkit console`:
 * all three see the output, and keys from the terminal and from an
 * attached client both reach the guest. A terminal vmkit reads for the
 * Ctrl-a escapes feeds nv->keys_fd instead of the relay. Without the
 * relay (no pipes, a socket that cannot be made) the VM runs as before. */
static void foreground_console(struct named_vm *nv, vmk_config *cfg) {
  int in = cfg->console_in, out = cfg->console_out;
  char log[VMK_RUNTIME_PATH_MAX], sock[VMK_RUNTIME_PATH_MAX];
  vmk_error err;
  if (vmk_instance_path(nv->inst.dir, "console.log", log, sizeof(log)) ||
      vmk_instance_path(nv->inst.dir, "console.sock", sock, sizeof(sock)) ||
      pipe2(nv->guest_in, O_CLOEXEC) < 0)
    return;
  if (pipe2(nv->guest_out, O_CLOEXEC) < 0) {
    close(nv->guest_in[0]);
    close(nv->guest_in[1]);
    nv->guest_in[0] = nv->guest_in[1] = -1;
    return;
  }
  bool tty = in >= 0 && isatty(in);
  struct vmk_console_relay_opts o = {.out_fd = nv->guest_out[0],
                                     .in_fd = nv->guest_in[1],
                                     .log_path = log,
                                     .sock_path = sock,
                                     .term_out = out,
                                     .term_in = tty ? -1 : in};
  if (vmk_console_relay_start_opts(&o, &nv->relay, &err)) {
    for (int i = 0; i < 2; i++) {
      close(nv->guest_in[i]);
      close(nv->guest_out[i]);
      nv->guest_in[i] = nv->guest_out[i] = -1;
    }
    return;
  }
  fcntl(nv->guest_out[1], F_SETFL, O_NONBLOCK);
  nv->keys_fd = tty ? nv->guest_in[1] : -1;
  vmk_config_set_console(cfg, VMK_CONSOLE_FDS, nv->guest_in[0],
                         nv->guest_out[1]);
}

/* Claims the name (a generated one when none is given), writes
 * config.json, serves the API on api.sock and, with -d, detaches with the
 * console relayed to console.log and console.sock. An unnamed VM whose
 * runtime folder cannot be made runs on without them. */
static void setup_named(struct named_vm *nv, vmk_config *cfg, const char *name,
                        bool detach) {
  memset(nv, 0, sizeof(*nv));
  nv->guest_in[0] = nv->guest_in[1] = nv->guest_out[0] = nv->guest_out[1] = -1;
  nv->keys_fd = -1;
  vmk_error err;
  int r = -EEXIST;
  if (name) {
    r = vmk_instance_claim(name, &nv->inst, &err);
  } else {
    for (int i = 0; i < 16 && r == -EEXIST; i++) {
      char gen[VMK_NAME_MAX + 1];
      vmk_name_generate(gen, sizeof(gen));
      r = vmk_instance_claim(gen, &nv->inst, &err);
    }
  }
  if (r) {
    if (name || detach)
      usage_error("%s", err.msg);
    /* Unnamed, the VM needs no runtime entry: it runs on without one
     * (and without an API), as vmkit did before named VMs. */
    return;
  }
  nv->claimed = true;
  if (detach)
    detach_fork(nv);

  char path[VMK_RUNTIME_PATH_MAX];
  char *json;
  if (!vmk_instance_path(nv->inst.dir, "config.json", path, sizeof(path)) &&
      !vmk_config_to_json(cfg, &json, NULL)) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      if (write(fd, json, strlen(json)) < 0) {
        /* informational only: GET /v1/vm has the config too */
      }
      close(fd);
    }
    free(json);
  }
  if (detach) {
    char log[VMK_RUNTIME_PATH_MAX], sock[VMK_RUNTIME_PATH_MAX];
    vmk_instance_path(nv->inst.dir, "console.log", log, sizeof(log));
    vmk_instance_path(nv->inst.dir, "console.sock", sock, sizeof(sock));
    if (pipe2(nv->guest_in, O_CLOEXEC) < 0 ||
        pipe2(nv->guest_out, O_CLOEXEC) < 0)
      usage_error("cannot create the console pipes: %s", strerror(errno));
    if (vmk_console_relay_start(nv->guest_out[0], nv->guest_in[1], log, sock,
                                &nv->relay, &err))
      usage_error("%s", err.msg);
    /* The guest side never blocks: a full pipe loses output, as a
     * stalled console reader does. */
    fcntl(nv->guest_out[1], F_SETFL, O_NONBLOCK);
    vmk_config_set_console(cfg, VMK_CONSOLE_FDS, nv->guest_in[0],
                           nv->guest_out[1]);
  } else if (cfg->console == VMK_CONSOLE_FDS) {
    foreground_console(nv, cfg);
  }
  if (!vmk_instance_path(nv->inst.dir, "api.sock", path, sizeof(path))) {
    int fd = vmk_cli_listen(path, &err);
    if (fd < 0)
      usage_error("%s", err.msg);
    struct vmk_api_opts o = {.listen_fd = fd, .name = nv->inst.name};
    if (vmk_api_start(&o, &nv->api, &err)) {
      close(fd);
      unlink(path);
      if (detach)
        usage_error("%s", err.msg); /* a detached VM needs its API */
    }
  }
}

/* -d, the VM runs: tell the parent (which then returns), and vmkit's own
 * messages go to the log from here on. */
static void detach_ready(struct named_vm *nv) {
  if (write(STDERR_FILENO, "\x06", 1) < 0) {
    /* the parent is gone; run on */
  }
  char log[VMK_RUNTIME_PATH_MAX];
  vmk_instance_path(nv->inst.dir, "console.log", log, sizeof(log));
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd >= 0) {
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
}

/* Each share holds an fd per inode the guest uses: lift the soft limit on
 * open files to the hard one (the CLI owns the process; the library never
 * changes process-wide limits). */
static void raise_nofile_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static int cmd_run(int argc, char **argv) {
  enum {
    OPT_ENGINE = 256,
    OPT_CPUS,
    OPT_MEMORY,
    OPT_KERNEL,
    OPT_INITRD,
    OPT_CMDLINE,
    OPT_DISK,
    OPT_SHARE,
    OPT_CONSOLE,
    OPT_NO_ENTROPY,
    OPT_BOOT_TIMER,
    OPT_ON_REBOOT,
    OPT_STOP_TIMEOUT,
    OPT_NET,
    OPT_FORWARD,
    OPT_VSOCK,
    OPT_CONFIG,
    OPT_PRINT_CONFIG,
    OPT_NAME,
    OPT_PORT,
    OPT_BALLOON,
    OPT_BALLOON_TARGET,
    OPT_RESTORE,
    OPT_PAUSED,
    OPT_EMU_MODE,
    OPT_HELP
  };
  static const struct option opts[] = {
      {"engine", required_argument, NULL, OPT_ENGINE},
      {"emu-mode", required_argument, NULL, OPT_EMU_MODE},
      {"cpus", required_argument, NULL, OPT_CPUS},
      {"memory", required_argument, NULL, OPT_MEMORY},
      {"kernel", required_argument, NULL, OPT_KERNEL},
      {"initrd", required_argument, NULL, OPT_INITRD},
      {"cmdline", required_argument, NULL, OPT_CMDLINE},
      {"disk", required_argument, NULL, OPT_DISK},
      {"share", required_argument, NULL, OPT_SHARE},
      {"console", required_argument, NULL, OPT_CONSOLE},
      {"no-entropy", no_argument, NULL, OPT_NO_ENTROPY},
      {"boot-timer", no_argument, NULL, OPT_BOOT_TIMER},
      {"on-reboot", required_argument, NULL, OPT_ON_REBOOT},
      {"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
      {"net", required_argument, NULL, OPT_NET},
      {"forward", required_argument, NULL, OPT_FORWARD},
      {"vsock", required_argument, NULL, OPT_VSOCK},
      {"config", required_argument, NULL, OPT_CONFIG},
      {"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
      {"name", required_argument, NULL, OPT_NAME},
      {"detach", no_argument, NULL, 'd'},
      {"restore", required_argument, NULL, OPT_RESTORE},
      {"paused", no_argument, NULL, OPT_PAUSED},
      {"port", required_argument, NULL, OPT_PORT},
      {"balloon", required_argument, NULL, OPT_BALLOON},
      {"balloon-target", required_argument, NULL, OPT_BALLOON_TARGET},
      {"help", no_argument, NULL, OPT_HELP},
      {0},
  };
  /* --config (or --restore: the snapshot's config) first, wherever it
   * is: the other flags change what it says. */
  const char *config_file = NULL, *restore_dir = NULL;
  for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
    if (!strcmp(argv[i], "--config") && i + 1 < argc)
      config_file = argv[i + 1];
    else if (!strncmp(argv[i], "--config=", 9))
      config_file = argv[i] + 9;
    else if (!strcmp(argv[i], "--restore") && i + 1 < argc)
      restore_dir = argv[i + 1];
    else if (!strncmp(argv[i], "--restore=", 10))
      restore_dir = argv[i] + 10;
  }
  vmk_config *cfg = NULL;
  if (restore_dir && config_file)
    usage_error("--restore takes the snapshot's own config; drop --config");
  if (restore_dir) {
    vmk_error cerr;
    if (vmk_snapshot_config(restore_dir, &cfg, &cerr))
      usage_error("%s", cerr.msg);
    run_cfg = cfg;
    config_file = restore_dir; /* a config is given: no defaults added */
  } else if (config_file) {
    vmk_error cerr;
    if (vmk_config_load_json(config_file, &cfg, &cerr))
      usage_error("%s", cerr.msg);
    run_cfg = cfg;
  } else if (!(cfg = run_cfg = vmk_config_new())) {
    usage_error("out of memory");
  }
  bool print_config = false, console_given = false, detach = false;
  const char *name = NULL;
  const char *kernel = NULL, *initrd = NULL, *console = "stdio";
  bool initrd_given = false;
  struct run_opts ro = {.restart_on_reboot = true,
                        .stop_timeout_s = 10,
                        .escape_in = -1,
                        .relay_out = -1};
  vmk_error err0;
  bool net_none = false, net_given = false;
  unsigned nets = 0;
  bool vsock_given = false;
  bool engine_given = false, emu_mode_given = false;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+:d", opts, NULL)) != -1) {
    switch (c) {
    case OPT_ENGINE:
      if (!strcmp(optarg, "auto"))
        vmk_config_set_engine(cfg, VMK_ENGINE_AUTO);
      else if (!strcmp(optarg, "kvm"))
        vmk_config_set_engine(cfg, VMK_ENGINE_KVM);
      else if (!strcmp(optarg, "emu"))
        vmk_config_set_engine(cfg, VMK_ENGINE_EMU);
      else
        usage_error("unknown engine '%s'; use auto, kvm or emu", optarg);
      engine_given = true;
      break;
    case OPT_EMU_MODE:
      if (!strcmp(optarg, "interp"))
        vmk_config_set_emu_mode(cfg, VMK_EMU_MODE_INTERP);
      else if (!strcmp(optarg, "jit"))
        vmk_config_set_emu_mode(cfg, VMK_EMU_MODE_JIT);
      else
        usage_error("--emu-mode must be interp or jit, not '%s'", optarg);
      emu_mode_given = true;
      break;
    case OPT_CPUS: {
      char *end;
      errno = 0;
      unsigned long n = strtoul(optarg, &end, 10);
      if (errno || *end || end == optarg || optarg[0] == '-' ||
          vmk_config_set_cpus(cfg, (unsigned)n) || n > VMK_MAX_CPUS)
        usage_error("--cpus takes a whole number from 1 to %d, not '%s'",
                    VMK_MAX_CPUS, optarg);
      break;
    }
    case OPT_MEMORY: {
      uint64_t bytes;
      if (vmk_parse_size(optarg, &bytes) < 0)
        usage_error("--memory takes a size such as 512M or 2G, not '%s'",
                    optarg);
      if (vmk_config_set_memory(cfg, bytes))
        usage_error("--memory must be between %llu MiB and %llu GiB, not "
                    "'%s'",
                    VMK_MIN_MEMORY >> 20, VMK_MAX_MEMORY >> 30, optarg);
      break;
    }
    case OPT_KERNEL:
      kernel = optarg;
      break;
    case OPT_INITRD:
      initrd = optarg;
      initrd_given = true;
      break;
    case OPT_CMDLINE:
      vmk_config_set_cmdline(cfg, optarg);
      break;
    case OPT_DISK: {
      char path[4096];
      snprintf(path, sizeof(path), "%s", optarg);
      bool ro = false;
      char *comma = strrchr(path, ',');
      if (comma) {
        if (strcmp(comma + 1, "ro") && strcmp(comma + 1, "rw"))
          usage_error("--disk takes PATH or PATH,ro; '%s' is not an option",
                      comma + 1);
        ro = !strcmp(comma + 1, "ro");
        *comma = '\0';
      }
      if (!*path)
        usage_error("--disk needs a file path, as in --disk data.img");
      if (vmk_config_add_disk(cfg, path, ro) == -ENOSPC)
        usage_error("at most %d disks can be attached", VMK_MAX_DISKS);
      break;
    }
    case OPT_SHARE:
      add_share(cfg, optarg);
      break;
    case OPT_CONSOLE:
      console = optarg;
      console_given = true;
      break;
    case OPT_CONFIG:
    case OPT_RESTORE:
      break; /* read above */
    case OPT_PAUSED:
      ro.restore_paused = true;
      break;
    case OPT_PRINT_CONFIG:
      print_config = true;
      break;
    case OPT_NAME:
      if (vmk_name_check(optarg, &err0))
        usage_error("%s", err0.msg);
      name = optarg;
      break;
    case 'd':
      detach = true;
      break;
    case OPT_NO_ENTROPY:
      vmk_config_set_entropy(cfg, false);
      break;
    case OPT_NET:
      if (!strcmp(optarg, "none"))
        net_none = true;
      else if (++nets)
        parse_net(cfg, optarg);
      net_given = true;
      break;
    case OPT_FORWARD:
      parse_forward(cfg, optarg);
      break;
    case OPT_BOOT_TIMER:
      ro.boot_timer = true;
      vmk_config_set_boot_timer(cfg, true);
      break;
    case OPT_ON_REBOOT:
      if (!strcmp(optarg, "restart") || !strcmp(optarg, "exit"))
        ro.restart_on_reboot = !strcmp(optarg, "restart");
      else
        usage_error("--on-reboot takes restart or exit, not '%s'", optarg);
      break;
    case OPT_STOP_TIMEOUT: {
      char *end;
      errno = 0;
      unsigned long n = strtoul(optarg, &end, 10);
      if (errno || *end || end == optarg || optarg[0] == '-' || n > 86400)
        usage_error("--stop-timeout takes whole seconds from 0 to 86400, "
                    "not '%s'",
                    optarg);
      ro.stop_timeout_s = (unsigned)n;
      break;
    }
    case OPT_VSOCK: {
      char path[4096];
      snprintf(path, sizeof(path), "%s", optarg);
      unsigned long long cid = VMK_VSOCK_DEFAULT_CID;
      char *comma = strrchr(path, ',');
      if (comma) {
        char *end;
        const char *v = comma + 1;
        if (strncmp(v, "cid=", 4))
          usage_error("--vsock takes PATH or PATH,cid=N; '%s' is not an "
                      "option",
                      v);
        errno = 0;
        cid = strtoull(v + 4, &end, 10);
        if (errno || *end || end == v + 4 || v[4] == '-' || cid < 3 ||
            cid > 0xfffffffeull)
          usage_error("--vsock cid= takes a guest CID from 3 to 4294967294 "
                      "(0-2 are reserved), not '%s'",
                      v + 4);
        *comma = '\0';
      }
      if (!*path)
        usage_error("--vsock needs a socket path, as in --vsock /tmp/vm.sock");
      if (vsock_given)
        usage_error("--vsock is given twice; a VM has one vsock device");
      vsock_given = true;
      vmk_config_set_vsock(cfg, path, cid);
      break;
    }
    case OPT_PORT:
      add_port(cfg, optarg);
      break;
    case OPT_BALLOON:
      if (!strcmp(optarg, "on"))
        vmk_config_set_balloon(cfg, true);
      else if (!strcmp(optarg, "off") || !strcmp(optarg, "none"))
        vmk_config_set_balloon(cfg, false);
      else
        usage_error("--balloon takes on or off, not '%s'", optarg);
      break;
    case OPT_BALLOON_TARGET: {
      uint64_t bytes;
      if (vmk_parse_size(optarg, &bytes) < 0 || bytes == 0)
        usage_error("--balloon-target takes a size such as 256M, not '%s'",
                    optarg);
      vmk_config_set_balloon_target(cfg, bytes);
      break;
    }
    case OPT_HELP:
      fputs(run_help, stdout);
      vmk_config_free(cfg);
      run_cfg = NULL;
      return 0;
    case ':':
      usage_error("%s needs a value; see vmkit run --help", argv[optind - 1]);
    default:
      if (optopt)
        usage_error("unknown flag '-%c'; see vmkit run --help", optopt);
      usage_error("unknown flag '%s'; see vmkit run --help", argv[optind - 1]);
    }
  }
  if (optind < argc)
    usage_error("unexpected argument '%s'; see vmkit run --help", argv[optind]);
  /* The kvm engine ignores the mode (so a config or snapshot keeps it
   * across engines), but both flags at once are a contradiction. */
  if (engine_given && emu_mode_given && cfg->engine == VMK_ENGINE_KVM)
    usage_error("--emu-mode is for the emu engine, and this VM runs on kvm; "
                "use --engine emu or leave --emu-mode out");
  if (ro.restore_paused && !restore_dir)
    usage_error("--paused goes with --restore (vmkit restore DIR --paused)");
  if (detach && console_given && strcmp(console, "stdio"))
    usage_error("-d puts the console in the runtime folder; drop --console");
  if (detach && print_config)
    usage_error("-d and --print-config do not go together; drop one");
  if (net_none && nets)
    usage_error("--net none cannot be combined with other --net flags");
  if (net_none && config_file && cfg->nnets)
    usage_error("--net none cannot remove the networks of %s; edit the file",
                config_file);
  /* A build without libslirp has no NAT: its default is no network. */
  if (!net_given && !config_file && VMK_HAVE_SLIRP)
    vmk_config_add_net(cfg, VMK_NET_NAT, NULL, NULL, 0);

  if (!kernel && config_file && cfg->kernel) {
    kernel = cfg->kernel; /* the config's own, initrd and all */
    initrd_given = true;
  }
  if (!kernel) {
    static char kbuf[4096];
    snprintf(kbuf, sizeof(kbuf), "%s", default_guest_file("Image"));
    kernel = kbuf;
    if (!initrd_given)
      initrd = default_guest_file("initrd");
    if (access(kernel, R_OK) < 0)
      usage_error("the default guest is not built (no %s); run 'make guest' "
                  "or pass --kernel PATH",
                  kernel);
  }
  if (kernel != cfg->kernel)
    vmk_config_set_kernel(cfg, kernel);
  if (initrd)
    vmk_config_set_initrd(cfg, initrd);

  int out_fd = STDOUT_FILENO, in_fd = STDIN_FILENO;
  /* A config file's console stays unless --console says otherwise. */
  /* A snapshot keeps no console: it gets the one run gives (stdio). */
  if (config_file && !console_given && !restore_dir)
    console = cfg->console == VMK_CONSOLE_NONE   ? "none"
              : cfg->console == VMK_CONSOLE_FILE ? NULL
                                                 : "stdio";
  if (!console) {
    in_fd = -1;
  } else if (!strcmp(console, "none")) {
    vmk_config_set_console(cfg, VMK_CONSOLE_NONE, -1, -1);
    in_fd = -1;
  } else if (!strcmp(console, "stdio")) {
    vmk_config_set_console(cfg, VMK_CONSOLE_FDS, in_fd, out_fd);
  } else {
    /* The VM opens (and creates) it; validate says what is wrong first. */
    vmk_config_set_console_file(cfg, console);
    in_fd = -1;
  }
  if (print_config) {
    char *json;
    vmk_error jerr;
    if (vmk_config_to_json(cfg, &json, &jerr))
      usage_error("%s", jerr.msg);
    printf("%s\n", json);
    free(json);
    vmk_config_free(cfg);
    run_cfg = NULL;
    return 0;
  }

  raise_nofile_limit();
  vmk_error err;
  if (vmk_config_validate(cfg, &err))
    usage_error("%s", err.msg);

  struct named_vm nv;
  if (detach)
    in_fd = -1;
  setup_named(&nv, cfg, name, detach);
  ro.api = nv.api;
  ro.detached = detach ? &nv : NULL;
  ro.restore_dir = restore_dir;
  /* One slot for the whole run, reboots included (each boot is a new
   * vmk_vm, and another vmkit must not take the slot in between); taken
   * after the name (it names the VM to whoever is refused) and, with -d,
   * in the detached child, which holds it while the VM runs. */
  vmk_slot *slot = NULL;
  int sr = vmk_slot_acquire(nv.claimed ? nv.inst.name : NULL, &slot, &err);
  if (sr) {
    teardown_named(&nv);
    if (sr != -EUSERS)
      usage_error("%s", err.msg);
    fprintf(stderr, "vmkit: %s\n", err.msg);
    vmk_config_free(cfg);
    run_cfg = NULL;
    return EXIT_NO_SLOT;
  }

  struct sigaction sa = {.sa_handler = on_stop_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  /* A console reader that goes away (`vmkit run | head`) makes the output
   * a sink; the VM runs on and the terminal is restored at its end. */
  signal(SIGPIPE, SIG_IGN);
  /* An interactive console goes through a pipe so that vmkit sees the
   * escape key first; anything else reaches the guest directly. */
  int relay[2] = {-1, -1};
  if (nv.keys_fd >= 0) {
    /* The console relay (foreground_console) takes the keys instead. */
    ro.escape_in = STDIN_FILENO;
    ro.relay_out = nv.keys_fd;
  } else if (!nv.relay && in_fd == STDIN_FILENO && isatty(STDIN_FILENO)) {
    if (pipe2(relay, O_CLOEXEC) < 0)
      usage_error("cannot create the console pipe: %s", strerror(errno));
    /* A guest that stops reading must not block the keyboard loop. */
    fcntl(relay[1], F_SETFL, O_NONBLOCK);
    vmk_config_set_console(cfg, VMK_CONSOLE_FDS, relay[0], out_fd);
    ro.escape_in = STDIN_FILENO;
    ro.relay_out = relay[1];
  }
  if (in_fd == STDIN_FILENO)
    make_tty_raw();

  int status = run_until_end(cfg, &ro);
  vmk_slot_release(slot);
  teardown_named(&nv);
  restore_tty();
  vmk_config_free(cfg);
  run_cfg = NULL;
  if (relay[0] >= 0) {
    close(relay[0]);
    close(relay[1]);
  }
  return status;
}

/* vmkit validate FILE.json: parse and check a config; exit 0 or 2. */
static int cmd_validate(int argc, char **argv) {
  if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    puts("usage: vmkit validate CONFIG.json\n\nChecks a VM config file "
         "(the JSON of vmkit run --config, docs/config.md):\nits fields, and "
         "that its files exist. Exit 0 when a VM can start from it,\n2 with "
         "one sentence saying what is wrong.");
    return 0;
  }
  if (argc != 2)
    usage_error("validate takes one config file, as in vmkit validate vm.json");
  vmk_config *cfg;
  vmk_error err;
  if (vmk_config_load_json(argv[1], &cfg, &err))
    usage_error("%s", err.msg);
  int r = vmk_config_validate(cfg, &err);
  vmk_config_free(cfg);
  if (r)
    usage_error("%s: %s", argv[1], err.msg);
  printf("%s: valid\n", argv[1]);
  return 0;
}

int main(int argc, char **argv) {
  vmk_startup_mark(vmk_startup_trace_on(), "main (shared libraries loaded)");
  if (argc < 2) {
    fputs(main_help, stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    fputs(main_help, stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) {
    printf("vmkit %s\n", vmk_version());
    return 0;
  }
  if (!strcmp(cmd, "run"))
    return cmd_run(argc - 1, argv + 1);
  if (!strcmp(cmd, "validate"))
    return cmd_validate(argc - 1, argv + 1);
  if (!strcmp(cmd, "list"))
    return vmk_cmd_list(argc - 1, argv + 1);
  if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume") || !strcmp(cmd, "stop") ||
      !strcmp(cmd, "request-stop"))
    return vmk_cmd_vm_verb(cmd, argc - 1, argv + 1);
  if (!strcmp(cmd, "inspect"))
    return vmk_cmd_inspect(argc - 1, argv + 1);
  if (!strcmp(cmd, "save"))
    return vmk_cmd_save(argc - 1, argv + 1);
  if (!strcmp(cmd, "restore")) {
    /* vmkit restore DIR [FLAGS] is vmkit run --restore DIR [FLAGS]. */
    if (argc < 3 || argv[2][0] == '-')
      usage_error("restore takes a snapshot folder first, as in vmkit "
                  "restore /srv/snap [--engine emu|kvm] [--paused]");
    char **args = calloc((size_t)argc + 2, sizeof(*args));
    if (!args)
      usage_error("out of memory");
    args[0] = "run";
    args[1] = "--restore";
    args[2] = argv[2];
    for (int i = 3; i < argc; i++)
      args[i] = argv[i];
    int st = cmd_run(argc, args);
    free(args);
    return st;
  }
  if (!strcmp(cmd, "console"))
    return vmk_cmd_console(argc - 1, argv + 1);
  if (!strcmp(cmd, "serve"))
    return vmk_cmd_serve(argc - 1, argv + 1);
  if (!strcmp(cmd, "exec")) {
    if (argc < 3)
      usage_error("exec needs a program, as in vmkit exec ./hello-arm64");
    /* argv[1] ("exec") stands as the runner's command name. */
    return vmk_emu_exec_main(argc - 1, argv + 1);
  }
  usage_error("unknown command '%s'; see vmkit --help", cmd);
}
