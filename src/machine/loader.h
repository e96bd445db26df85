/* loader.h — puts a Linux arm64 Image, an optional initrd and room for the
 * device tree into guest RAM, following the kernel's
 * Documentation/arch/arm64/booting.rst. Runs on the VM-building thread
 * before any vCPU starts; no shared state. */
#ifndef VMK_MACHINE_LOADER_H
#define VMK_MACHINE_LOADER_H

#include <stdint.h>

#include "base/error.h"
#include "base/guest_mem.h"

struct vmk_boot_layout {
  uint64_t kernel_gpa, kernel_size;   /* size: the Image's image_size (+BSS) */
  uint64_t initrd_gpa, initrd_size;   /* 0, 0 when there is no initrd */
  uint64_t fdt_gpa, fdt_max;          /* room reserved for the device tree */
  uint64_t ramoops_gpa, ramoops_size; /* the guest's panic log (ramoops) */
  uint64_t entry;                     /* first instruction: kernel_gpa */
};

/* Room reserved for the device tree: booting.rst caps a DTB at 2 MiB. */
#define VMK_FDT_MAX_SIZE (2ull << 20)
/* The guest kernel's ramoops (pstore) region: where it writes its log when
 * it panics, read by the host when the guest resets (panic_log.h). Its
 * own slot just below the device tree's 2 MiB-aligned one, so the two never
 * share a 2 MiB block (booting.rst: the DTB's block must not need special
 * attributes). Record size: one panic log (ramoops keeps only Part1). */
#define VMK_RAMOOPS_SIZE (64ull << 10)
#define VMK_RAMOOPS_RECORD_SIZE (16ull << 10)
/* The Image must sit text_offset bytes above a 2 MiB-aligned base. */
#define VMK_KERNEL_ALIGN (2ull << 20)

/* Loads kernel_path (an uncompressed arm64 Image) at RAM base + text_offset,
 * initrd_path (may be NULL) after it at the next 2 MiB boundary, and reserves
 * the top 2 MiB-aligned VMK_FDT_MAX_SIZE bytes of RAM for the device tree
 * and the VMK_RAMOOPS_SIZE bytes below them for the guest's panic log.
 * Returns 0 and fills *out, or a negative errno with err naming the file and
 * what to do (wrong format, compressed, truncated, too large for RAM). */
int vmk_load_linux(const struct vmk_guest_mem *gm, const char *kernel_path,
                   const char *initrd_path, struct vmk_boot_layout *out,
                   vmk_error *err);

#endif
