/* config.h — the inside of a vmk_config (the public type is opaque).
 * A config belongs to one thread at a time; vmk_vm_create copies it. */
#ifndef VMK_CORE_CONFIG_H
#define VMK_CORE_CONFIG_H

#include "vmkit/vmkit.h"

struct vmk_disk_config {
  char *path;
  bool read_only;
};

struct vmk_share_config {
  char *dir;
  char *tag;
  bool read_only;
};

struct vmk_net_config {
  vmk_net_kind kind;
  char *target; /* socket path or tap name; NULL for NAT */
  uint8_t mac[6];
  bool mac_set;
  unsigned mtu;
};

struct vmk_forward_config {
  bool udp;
  uint32_t host_addr; /* IPv4, host byte order */
  uint16_t host_port, guest_port;
};

struct vmk_port_config {
  char *name, *path;
};

struct vmk_config {
  vmk_engine_kind engine;
  vmk_emu_mode emu_mode;
  unsigned cpus;
  uint64_t memory;
  char *kernel;
  char *initrd;
  char *cmdline;
  struct vmk_disk_config disks[VMK_MAX_DISKS];
  unsigned ndisks;
  bool entropy;
  struct vmk_share_config shares[VMK_MAX_SHARES];
  unsigned nshares;
  vmk_console_kind console;
  int console_in, console_out;
  char *console_file; /* VMK_CONSOLE_FILE: appended to by the VM */
  bool boot_timer;
  struct vmk_net_config nets[VMK_MAX_NETS];
  unsigned nnets;
  struct vmk_forward_config forwards[VMK_MAX_FORWARDS];
  unsigned nforwards;
  struct vmk_port_config ports[VMK_MAX_PORTS];
  unsigned nports;
  char *vsock_path; /* NULL: no vsock device */
  uint64_t vsock_cid;
  bool balloon;
  uint64_t balloon_target; /* bytes to keep; 0: all of memory */
  /* Tests only: run on this engine instead of the kind's (see
   * vmk_config_set_engine_ops). */
  const struct vmk_engine_ops *engine_ops;
};

struct vmk_engine_ops;
/* Internal, for tests: a VM created from cfg runs on ops (a fake engine). */
void vmk_config_set_engine_ops(struct vmk_config *cfg,
                               const struct vmk_engine_ops *ops);

/* NIC i's MAC: the configured one, or a stable default (52:54:00 and
 * three bytes hashed from the NIC's index, kind and target). */
void vmk_config_net_mac(const struct vmk_config *cfg, unsigned i,
                        uint8_t mac[6]);

/* Deep copy; NULL on allocation failure. */
struct vmk_config *vmk_config_dup(const struct vmk_config *cfg);

/* Picks the engine for "auto" and checks an explicit one can run here. */
int vmk_config_resolve_engine(const struct vmk_config *cfg,
                              vmk_engine_kind *out, vmk_error *err);

#endif
