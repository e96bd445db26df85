/* mmu.h — AArch64 stage-1 translation for the EL1&0 regime: 4 KiB granule,
 * 25..48-bit VAs through TTBR0_EL1/TTBR1_EL1, block and page descriptors,
 * AP/UXN/PXN permissions, access flag (no hardware update), nG/ASIDs, MAIR
 * attributes, IPS/PA-size checks, MMU off. Produces what a TLB entry needs,
 * or a fault with its DFSC/IFSC code; also the PAR_EL1 value of AT.
 *
 * Threads: pure functions of their arguments; any thread. Guest page tables
 * are read through the caller's callback, so tests can use a fake RAM.
 */
#ifndef VMK_EMU_SYS_MMU_H
#define VMK_EMU_SYS_MMU_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"

/* The registers translation depends on (copies of the EL1 ones). */
struct emu_mmu_regs {
  uint64_t sctlr, tcr, ttbr0, ttbr1, mair;
};

/* Physical memory reads for the table walk: 8 bytes, little-endian, at an
 * 8-aligned pa. false when pa is not RAM. */
struct emu_mmu_walker {
  bool (*read64)(void *opaque, uint64_t pa, uint64_t *val);
  void *opaque;
};

enum emu_mmu_fault {
  EMU_MMU_OK = 0,
  EMU_MMU_ADDR_SIZE,   /* FSC 0b0000LL */
  EMU_MMU_TRANSLATION, /* FSC 0b0001LL */
  EMU_MMU_ACCESS_FLAG, /* FSC 0b0010LL */
  EMU_MMU_PERMISSION,  /* FSC 0b0011LL */
  EMU_MMU_WALK_EXT,    /* FSC 0b0101LL: external abort on table walk */
  EMU_MMU_ALIGNMENT,   /* FSC 0b100001 */
};

#define EMU_FSC_ALIGNMENT 0x21

#define EMU_PROT_R 1u
#define EMU_PROT_W 2u
#define EMU_PROT_X 4u

/* Implemented physical address size (ID_AA64MMFR0_EL1.PARange = 0b0101). */
#define EMU_PA_BITS 48

struct emu_mmu_result {
  /* On success: */
  uint64_t pa;        /* the physical address of va */
  unsigned page_bits; /* size of the mapping: 12, 21 or 30 (or 48 MMU off) */
  uint8_t prot[2];    /* EMU_PROT_* allowed at EL0 ([0]) and EL1 ([1]) */
  uint8_t attr;       /* MAIR_EL1 attribute byte */
  uint8_t sh;         /* shareability SH[1:0] */
  bool device;        /* Device memory: never cache as RAM, align-checked */
  bool global;        /* nG == 0 (or MMU off) */
  uint16_t asid;      /* the ASID of a non-global entry */
  /* On failure: */
  enum emu_mmu_fault fault;
  unsigned level; /* table level the fault is reported at (0..3) */
  uint8_t fsc;    /* the DFSC/IFSC code for ESR_ELx / PAR_EL1.FST */
};

/* Translates va for an access of kind acc and size bytes (1..64; 0 skips
 * the alignment check) made at exception level el (0 or 1). Returns 0 and
 * fills res, or -1 with res->fault/level/fsc set. The alignment check
 * covers SCTLR_EL1.A and Device memory; SP alignment is the core's. */
int emu_mmu_translate(const struct emu_mmu_regs *regs,
                      const struct emu_mmu_walker *walker, uint64_t va,
                      enum emu_access acc, unsigned el, unsigned size,
                      struct emu_mmu_result *res);

/* The PAR_EL1 value an AT S1E{0,1}{R,W} instruction leaves for res. */
uint64_t emu_mmu_par(const struct emu_mmu_result *res);

/* The current ASID (TCR_EL1.A1 picks TTBR0 or TTBR1; TCR_EL1.AS 8/16 bit). */
uint16_t emu_mmu_asid(const struct emu_mmu_regs *regs);

#endif
