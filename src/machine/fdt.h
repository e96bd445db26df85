/* fdt.h — the device tree of the arm64 "virt" machine, generated with libfdt
 * from the VM's configuration (cpus, RAM, command line, initrd, devices).
 * Called once on the thread that builds the VM; no shared state. */
#ifndef VMK_MACHINE_FDT_H
#define VMK_MACHINE_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct vmk_fdt_params {
  unsigned cpus;
  uint64_t ram_base, ram_size;
  const char *cmdline;               /* NULL: empty */
  uint64_t initrd_start, initrd_end; /* 0,0 = none */
  unsigned virtio_slots;             /* virtio-mmio nodes for slots 0..n-1 */
  bool boot_timer;                   /* add the boot-timer node (opt-in) */
  bool gpio_power_key;               /* PL061 + gpio-keys power button */
  bool pvpanic;                      /* qemu,pvpanic-mmio */
  bool psci_smc;                     /* false: method = "hvc" */
  /* /reserved-memory/ramoops@...: the guest kernel's panic log; size 0 =
   * none. Must lie inside RAM; record_size a power of two <= size. */
  uint64_t ramoops_base, ramoops_size, ramoops_record_size;
};

/* The most CPUs the redistributor region of memmap.h has room for. */
#define VMK_FDT_MAX_CPUS 123u
/* arm64 Linux's COMMAND_LINE_SIZE, including the terminating NUL. */
#define VMK_FDT_CMDLINE_MAX 2048u

/* PSCI 0.2 function ids the /psci node advertises (SMC64 where the call
 * takes 64-bit arguments); the PSCI implementation must answer them. */
#define VMK_PSCI_0_2_FN_CPU_OFF 0x84000002u
#define VMK_PSCI_0_2_FN64_CPU_SUSPEND 0xC4000001u
#define VMK_PSCI_0_2_FN64_CPU_ON 0xC4000003u
#define VMK_PSCI_0_2_FN64_MIGRATE 0xC4000005u

/* MPIDR_EL1 affinity (Aff1.Aff0) of CPU n, as QEMU's virt assigns it with a
 * GICv3: 16 CPUs per cluster. The cpu@n "reg" and the engines must agree. */
static inline uint64_t vmk_cpu_mpidr_affinity(unsigned n) {
  return ((uint64_t)(n / 16) << 8) | (n % 16);
}

/* Writes a complete flattened device tree into buf (bufsize bytes; the blob
 * is packed, fdt_totalsize() gives its length). Returns 0, -EINVAL for bad
 * parameters or -ENOSPC when buf is too small, with err filled. */
int vmk_fdt_build(const struct vmk_fdt_params *p, void *buf, size_t bufsize,
                  vmk_error *err);

#endif
