/* dtb_tool.c — test helper: loads a kernel (and initrd) with the vmkit
 * loader into a scratch guest RAM, writes the machine's device tree to a
 * file and prints the layout as shell variables, so a script can boot the
 * same payload under another VMM and check a real kernel accepts the tree.
 * It also writes OUT.dtb.boot: a 40-byte AArch64 boot stub for the reset
 * vector that enters the kernel as booting.rst asks (x0 = the tree's
 * address, x1-x3 = 0), so the other VMM runs exactly this layout.
 * Single-threaded.
 * Usage: dtb_tool KERNEL INITRD|- CMDLINE CPUS MEM_MIB OUT.dtb [SKIP_MIB]
 * SKIP_MIB: RAM as the guest sees it starts that far above the machine's
 * RAM base (to keep clear of what the other VMM puts there itself). */
#include <stdio.h>
#include <stdlib.h>

#include <libfdt.h>

#include "base/le.h"
#include "machine/memmap.h"
#include "machine/virt.h"

int main(int argc, char **argv) {
  if (argc != 7 && argc != 8) {
    fprintf(stderr,
            "usage: %s KERNEL INITRD|- CMDLINE CPUS MEM_MIB OUT [SKIP_MIB]\n",
            argv[0]);
    return 2;
  }
  uint64_t skip = argc == 8 ? strtoull(argv[7], NULL, 0) << 20 : 0;
  struct vmk_guest_mem gm = {.base = VMK_RAM_BASE + skip,
                             .size = (strtoull(argv[5], NULL, 0) << 20) - skip};
  gm.host = calloc(1, gm.size);
  if (!gm.host)
    return 1;
  struct vmk_virt_boot_cfg cfg = {
      .kernel = argv[1],
      .initrd = argv[2][0] == '-' ? NULL : argv[2],
      .cmdline = argv[3],
      .cpus = (unsigned)strtoul(argv[4], NULL, 0),
      .virtio_slots = 32,
      .gpio_power_key = true,
  };
  struct vmk_boot_layout l;
  vmk_error err = {0};
  if (vmk_virt_boot_prepare(&gm, &cfg, &l, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  void *fdt = vmk_gm_ptr(&gm, l.fdt_gpa, l.fdt_max);
  FILE *f = fopen(argv[6], "wb");
  if (!f || fwrite(fdt, 1, fdt_totalsize(fdt), f) != fdt_totalsize(fdt))
    return 1;
  fclose(f);

  uint8_t stub[40];
  vmk_put_le32(stub + 0, 0x580000C0);  /* ldr x0, [pc, #0x18] (fdt)   */
  vmk_put_le32(stub + 4, 0x580000E4);  /* ldr x4, [pc, #0x1c] (entry) */
  vmk_put_le32(stub + 8, 0xAA1F03E1);  /* mov x1, xzr */
  vmk_put_le32(stub + 12, 0xAA1F03E2); /* mov x2, xzr */
  vmk_put_le32(stub + 16, 0xAA1F03E3); /* mov x3, xzr */
  vmk_put_le32(stub + 20, 0xD61F0080); /* br x4 */
  vmk_put_le64(stub + 24, l.fdt_gpa);
  vmk_put_le64(stub + 32, l.entry);
  char path[4096];
  snprintf(path, sizeof(path), "%s.boot", argv[6]);
  f = fopen(path, "wb");
  if (!f || fwrite(stub, 1, sizeof(stub), f) != sizeof(stub))
    return 1;
  fclose(f);
  printf("kernel_gpa=0x%llx\ninitrd_gpa=0x%llx\ninitrd_size=%llu\n"
         "fdt_gpa=0x%llx\n",
         (unsigned long long)l.kernel_gpa, (unsigned long long)l.initrd_gpa,
         (unsigned long long)l.initrd_size, (unsigned long long)l.fdt_gpa);
  free(gm.host);
  return 0;
}
