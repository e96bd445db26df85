/* mmu.c — AArch64 stage-1 translation (EL1&0 regime, 4 KiB granule).
 *
 * Follows the Arm ARM's AArch64.TranslationTableWalk / CheckPermission for
 * an ARMv8.0 core without hardware access-flag or dirty-bit management:
 * fault priority is alignment (SCTLR.A) > walk faults (translation,
 * address size, external abort on walk, access flag, in walk order) >
 * Device alignment > permission.
 *
 * Threads: pure functions; the caller's walker callback reads guest RAM.
 * Every descriptor is guest-controlled: only the bits the architecture
 * defines are used and every output address is checked against the PA size.
 */
#include "emu/sys/mmu.h"

#define TCR_EPD0 (1ull << 7)
#define TCR_A1 (1ull << 22)
#define TCR_EPD1 (1ull << 23)
#define TCR_AS (1ull << 36)
#define TCR_TBI0 (1ull << 37)
#define TCR_TBI1 (1ull << 38)

#define DESC_AF (1ull << 10)
#define DESC_NG (1ull << 11)
#define DESC_PXN (1ull << 53)
#define DESC_UXN (1ull << 54)
#define DESC_PXNTABLE (1ull << 59)
#define DESC_UXNTABLE (1ull << 60)

/* Bits [47:12] of a descriptor or TTBR: the output / table address. */
#define ADDR_MASK 0x0000fffffffff000ull

#define SCTLR_M (1ull << 0)
#define SCTLR_A (1ull << 1)
#define SCTLR_I (1ull << 12)
#define SCTLR_WXN (1ull << 19)

static int fault(struct emu_mmu_result *res, enum emu_mmu_fault f,
                 unsigned level) {
  static const uint8_t base[] = {
      [EMU_MMU_ADDR_SIZE] = 0x00,   [EMU_MMU_TRANSLATION] = 0x04,
      [EMU_MMU_ACCESS_FLAG] = 0x08, [EMU_MMU_PERMISSION] = 0x0c,
      [EMU_MMU_WALK_EXT] = 0x14,
  };
  res->fault = f;
  res->level = level;
  res->fsc = f == EMU_MMU_ALIGNMENT ? EMU_FSC_ALIGNMENT
                                    : (uint8_t)(base[f] | (level & 3));
  return -1;
}

/* PA size selected by TCR_EL1.IPS, capped at what we implement. */
static unsigned ips_bits(uint64_t tcr) {
  static const uint8_t bits[8] = {32, 36, 40, 42, 44, 48, 52, 52};
  unsigned b = bits[(tcr >> 32) & 7];
  return b > EMU_PA_BITS ? EMU_PA_BITS : b;
}

static bool is_device(uint8_t attr) { return (attr & 0xf0) == 0; }

uint16_t emu_mmu_asid(const struct emu_mmu_regs *regs) {
  uint64_t ttbr = (regs->tcr & TCR_A1) ? regs->ttbr1 : regs->ttbr0;
  uint16_t asid = (uint16_t)(ttbr >> 48);
  return (regs->tcr & TCR_AS) ? asid : (uint16_t)(asid & 0xff);
}

/* Permissions from AP[2:1] (after APTable), UXN and PXN, per EL. */
static void permissions(struct emu_mmu_result *res, unsigned ap, bool uxn,
                        bool pxn, bool wxn) {
  bool el0_r = ap & 1, el0_w = ap == 1, el1_w = !(ap & 2);
  bool el0_x = !uxn && !(wxn && el0_w);
  /* A region writable at EL0 is never executable at EL1. */
  bool el1_x = !pxn && !el0_w && !(wxn && el1_w);
  res->prot[0] = (uint8_t)((el0_r ? EMU_PROT_R : 0) | (el0_w ? EMU_PROT_W : 0) |
                           (el0_x ? EMU_PROT_X : 0));
  res->prot[1] = (uint8_t)(EMU_PROT_R | (el1_w ? EMU_PROT_W : 0) |
                           (el1_x ? EMU_PROT_X : 0));
}

static int check_access(struct emu_mmu_result *res, uint64_t va,
                        enum emu_access acc, unsigned el, unsigned size) {
  if (acc != EMU_EXEC && res->device && size > 1 && (va & (size - 1)))
    return fault(res, EMU_MMU_ALIGNMENT, 0);
  static const uint8_t need[] = {EMU_PROT_R, EMU_PROT_W, EMU_PROT_X};
  if (!(res->prot[el ? 1 : 0] & need[acc]))
    return fault(res, EMU_MMU_PERMISSION, res->level);
  return 0;
}

int emu_mmu_translate(const struct emu_mmu_regs *regs,
                      const struct emu_mmu_walker *walker, uint64_t va,
                      enum emu_access acc, unsigned el, unsigned size,
                      struct emu_mmu_result *res) {
  *res = (struct emu_mmu_result){0};
  if (acc != EMU_EXEC && size > 1 && (regs->sctlr & SCTLR_A) &&
      (va & (size - 1)))
    return fault(res, EMU_MMU_ALIGNMENT, 0);

  /* Top-byte-ignore: bit 55 picks the TTBR, bits 63:56 are not checked. */
  bool hi = (va >> 55) & 1;
  bool tbi = hi ? (regs->tcr & TCR_TBI1) : (regs->tcr & TCR_TBI0);
  unsigned top = tbi ? 55 : 63;
  hi = (va >> top) & 1;
  unsigned outsize = ips_bits(regs->tcr);

  if (!(regs->sctlr & SCTLR_M)) {
    /* MMU off: flat, data is Device-nGnRnE, fetches Normal memory. */
    uint64_t addr = va & ((2ull << top) - 1);
    if (addr >> EMU_PA_BITS)
      return fault(res, EMU_MMU_ADDR_SIZE, 0);
    res->pa = addr;
    res->page_bits = 12;
    res->global = true;
    res->sh = 2;
    if (acc == EMU_EXEC) {
      res->attr = (regs->sctlr & SCTLR_I) ? 0xaa : 0x44;
    } else {
      res->attr = 0x00;
      res->device = true;
    }
    res->prot[0] = res->prot[1] = EMU_PROT_R | EMU_PROT_W | EMU_PROT_X;
    return check_access(res, va, acc, el, size);
  }

  unsigned tsz = (unsigned)((hi ? regs->tcr >> 16 : regs->tcr) & 0x3f);
  /* 4K granule without ARMv8.2-LVA: TxSZ 16..39 (out-of-range values are
   * CONSTRAINED UNPREDICTABLE; we use the nearest valid one). */
  if (tsz < 16)
    tsz = 16;
  if (tsz > 39)
    tsz = 39;
  unsigned inputsize = 64 - tsz;
  uint64_t ttbr = hi ? regs->ttbr1 : regs->ttbr0;
  bool epd = hi ? (regs->tcr & TCR_EPD1) : (regs->tcr & TCR_EPD0);

  /* The bits between the top and the VA size must all equal the selector. */
  uint64_t upper =
      (top + 1 - inputsize) >= 64 ? ~0ull : (1ull << (top + 1 - inputsize)) - 1;
  uint64_t ubits = (va >> inputsize) & upper;
  if (ubits != (hi ? upper : 0) || epd)
    return fault(res, EMU_MMU_TRANSLATION, 0);

  unsigned level = 4 - (inputsize - 12 + 8) / 9; /* start level */
  unsigned first_lsb = 12 + 9 * (3 - level);
  unsigned first_bits = inputsize - first_lsb; /* 1..9 */
  uint64_t table = ttbr & ADDR_MASK;
  /* TTBR.BADDR is aligned to the start table's size (low bits RES0). */
  if (first_bits + 3 < 12)
    table = (ttbr & 0x0000fffffffffffeull) & ~((1ull << (first_bits + 3)) - 1);
  if (table >> outsize)
    return fault(res, EMU_MMU_ADDR_SIZE, 0);

  unsigned aptable = 0;
  bool uxntable = false, pxntable = false;
  uint64_t desc;
  unsigned lsb;
  for (;;) {
    lsb = 12 + 9 * (3 - level);
    unsigned nbits = (level == 4 - (inputsize - 12 + 8) / 9) ? first_bits : 9;
    uint64_t idx = (va >> lsb) & ((1ull << nbits) - 1);
    if (!walker->read64(walker->opaque, table + idx * 8, &desc))
      return fault(res, EMU_MMU_WALK_EXT, level);
    if (!(desc & 1))
      return fault(res, EMU_MMU_TRANSLATION, level);
    if (level == 3) {
      if (!(desc & 2)) /* 0b01 at level 3 is reserved */
        return fault(res, EMU_MMU_TRANSLATION, level);
      break;
    }
    if (!(desc & 2)) {
      if (level == 0) /* no level-0 blocks with 4K granules */
        return fault(res, EMU_MMU_TRANSLATION, level);
      break; /* block */
    }
    table = desc & ADDR_MASK;
    if (table >> outsize)
      return fault(res, EMU_MMU_ADDR_SIZE, level);
    aptable |= (unsigned)(desc >> 61) & 3;
    uxntable |= (desc & DESC_UXNTABLE) != 0;
    pxntable |= (desc & DESC_PXNTABLE) != 0;
    level++;
  }

  uint64_t oa = desc & ADDR_MASK & ~((1ull << lsb) - 1);
  if (oa >> outsize)
    return fault(res, EMU_MMU_ADDR_SIZE, level);
  if (!(desc & DESC_AF)) /* TCR_EL1.HA is not implemented */
    return fault(res, EMU_MMU_ACCESS_FLAG, level);

  res->level = level;
  res->page_bits = lsb;
  res->pa = oa | (va & ((1ull << lsb) - 1));
  res->attr = (uint8_t)(regs->mair >> (8 * ((desc >> 2) & 7)));
  res->device = is_device(res->attr);
  res->sh = res->device ? 2 : (uint8_t)((desc >> 8) & 3);
  res->global = !(desc & DESC_NG);
  res->asid = res->global ? 0 : emu_mmu_asid(regs);

  unsigned ap = (unsigned)(desc >> 6) & 3; /* AP[2:1] */
  if (aptable & 1)                         /* APTable[0]: no EL0 access below */
    ap &= ~1u;
  if (aptable & 2) /* APTable[1]: no writes below */
    ap |= 2;
  permissions(res, ap, (desc & DESC_UXN) || uxntable,
              (desc & DESC_PXN) || pxntable, regs->sctlr & SCTLR_WXN);
  return check_access(res, va, acc, el, size);
}

uint64_t emu_mmu_par(const struct emu_mmu_result *res) {
  if (res->fault != EMU_MMU_OK)
    return 1ull | (uint64_t)(res->fsc & 0x3f) << 1 | 1ull << 11;
  /* NS=1: this machine has a single, Non-secure, security state. */
  return (uint64_t)res->attr << 56 | (res->pa & ADDR_MASK) | 1ull << 11 |
         1ull << 9 | (uint64_t)(res->sh & 3) << 7;
}
