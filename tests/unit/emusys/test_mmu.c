/* test_mmu.c — stage-1 translation over fake page tables: walks at every
 * start level, blocks and pages, every fault type at every level it can
 * occur, permission matrices, ASID/nG, TBI, MMU off, alignment, PAR_EL1.
 * Single-threaded test program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "emu/sys/mmu.h"

#define RAM_SIZE (1u << 20)

struct fake_ram {
  uint64_t w[RAM_SIZE / 8];
  unsigned reads;
  uint64_t last_read;
};

static struct fake_ram ram;

static bool ram_read(void *opaque, uint64_t pa, uint64_t *val) {
  struct fake_ram *r = opaque;
  if (pa >= RAM_SIZE || (pa & 7))
    return false;
  r->reads++;
  r->last_read = pa;
  *val = r->w[pa / 8];
  return true;
}

static const struct emu_mmu_walker walker = {ram_read, &ram};

#define AF (1ull << 10)
#define NG (1ull << 11)
#define PXN (1ull << 53)
#define UXN (1ull << 54)
#define TBL(a) ((uint64_t)(a) | 3)
#define PAGE(oa, idx, ap)                                                      \
  ((uint64_t)(oa) | 3 | AF | (idx) << 2 | (uint64_t)(ap) << 6 | 3ull << 8)
#define BLOCK(oa, idx, ap)                                                     \
  ((uint64_t)(oa) | 1 | AF | (idx) << 2 | (uint64_t)(ap) << 6 | 3ull << 8)

#define MAIR                                                                   \
  0x0044ff00ull /* idx0 Device-nGnRnE, idx1 WB, idx2 NC, idx3 Dev              \
                 */
#define TCR48 (16ull | 16ull << 16 | 5ull << 32)
#define TCR39 (25ull | 25ull << 16 | 5ull << 32)

static void put(uint64_t table, unsigned idx, uint64_t desc) {
  ram.w[(table + idx * 8) / 8] = desc;
}

static int setup(void **state) {
  (void)state;
  memset(&ram, 0, sizeof(ram));
  return 0;
}

static struct emu_mmu_regs regs48(void) {
  return (struct emu_mmu_regs){
      .sctlr = 1, .tcr = TCR48, .ttbr0 = 0x1000, .ttbr1 = 0x8000, .mair = MAIR};
}

/* VA with indices l0..l3 and a page offset. */
static uint64_t va_of(unsigned l0, unsigned l1, unsigned l2, unsigned l3,
                      unsigned off) {
  return (uint64_t)l0 << 39 | (uint64_t)l1 << 30 | (uint64_t)l2 << 21 |
         (uint64_t)l3 << 12 | off;
}

/* Standard 4-level chain for va_of(1, 2, 3, 4, x): L0 0x1000, L1 0x2000,
 * L2 0x3000, L3 0x4000, page -> 0x55000. */
static void chain48(uint64_t leaf) {
  put(0x1000, 1, TBL(0x2000));
  put(0x2000, 2, TBL(0x3000));
  put(0x3000, 3, TBL(0x4000));
  put(0x4000, 4, leaf);
}

static void test_mmu_off(void **state) {
  (void)state;
  struct emu_mmu_regs r = {.sctlr = 0, .tcr = TCR48};
  struct emu_mmu_result res;
  assert_int_equal(
      emu_mmu_translate(&r, &walker, 0x40001234, EMU_READ, 1, 4, &res), 0);
  assert_int_equal(res.pa, 0x40001234);
  assert_true(res.device);
  assert_int_equal(res.attr, 0);
  assert_int_equal(ram.reads, 0);
  assert_int_equal(
      emu_mmu_translate(&r, &walker, 0x40001234, EMU_EXEC, 1, 4, &res), 0);
  assert_false(res.device);
  /* Device: unaligned data access faults even with SCTLR.A = 0. */
  assert_int_equal(
      emu_mmu_translate(&r, &walker, 0x40001231, EMU_READ, 1, 4, &res), -1);
  assert_int_equal(res.fault, EMU_MMU_ALIGNMENT);
  assert_int_equal(res.fsc, 0x21);
  /* Beyond the 48-bit PA: address size fault, level 0. */
  assert_int_equal(
      emu_mmu_translate(&r, &walker, 1ull << 48, EMU_READ, 1, 8, &res), -1);
  assert_int_equal(res.fault, EMU_MMU_ADDR_SIZE);
  assert_int_equal(res.fsc, 0x00);
  /* ... unless TBI0 hides the top byte. */
  r.tcr |= 1ull << 37;
  assert_int_equal(emu_mmu_translate(&r, &walker, 0x5a00000040000000ull,
                                     EMU_READ, 1, 8, &res),
                   0);
  assert_int_equal(res.pa, 0x40000000);
}

static void test_walk_48bit_page(void **state) {
  (void)state;
  struct emu_mmu_regs r = regs48();
  chain48(PAGE(0x55000, 1, 0));
  struct emu_mmu_result res;
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 0x678),
                                     EMU_READ, 1, 8, &res),
                   0);
  assert_int_equal(res.pa, 0x55678);
  assert_int_equal(res.page_bits, 12);
  assert_int_equal(res.attr, 0xff);
  assert_false(res.device);
  assert_true(res.global);
  assert_int_equal(res.sh, 3);
  assert_int_equal(ram.reads, 4);
  assert_int_equal(ram.last_read, 0x4000 + 4 * 8);
  /* A neighbouring index at level 3 is invalid: translation fault L3. */
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 5, 0),
                                     EMU_READ, 1, 8, &res),
                   -1);
  assert_int_equal(res.fault, EMU_MMU_TRANSLATION);
  assert_int_equal(res.level, 3);
  assert_int_equal(res.fsc, 0x07);
}

static void test_translation_fault_levels(void **state) {
  (void)state;
  struct emu_mmu_regs r = regs48();
  struct emu_mmu_result res;
  chain48(PAGE(0x55000, 1, 0));
  /* Break the chain at each level in turn. */
  struct {
    uint64_t table;
    unsigned idx;
    unsigned level;
  } cut[] = {{0x1000, 1, 0}, {0x2000, 2, 1}, {0x3000, 3, 2}, {0x4000, 4, 3}};
  for (unsigned i = 0; i < 4; i++) {
    chain48(PAGE(0x55000, 1, 0));
    put(cut[i].table, cut[i].idx, 0x55000 | 2); /* valid bit clear */
    assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 0),
                                       EMU_READ, 1, 8, &res),
                     -1);
    assert_int_equal(res.fault, EMU_MMU_TRANSLATION);
    assert_int_equal(res.level, cut[i].level);
    assert_int_equal(res.fsc, 0x04 + cut[i].level);
  }
  /* Level-0 block descriptors do not exist with 4K granules. */
  chain48(PAGE(0x55000, 1, 0));
  put(0x1000, 1, BLOCK(0, 1, 0));
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 0),
                                     EMU_READ, 1, 8, &res),
                   -1);
  assert_int_equal(res.fsc, 0x04);
  /* 0b01 at level 3 is reserved. */
  chain48(BLOCK(0x55000, 1, 0));
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 0),
                                     EMU_READ, 1, 8, &res),
                   -1);
  assert_int_equal(res.fsc, 0x07);
}

static void test_blocks(void **state) {
  (void)state;
  struct emu_mmu_regs r = regs48();
  struct emu_mmu_result res;
  /* 1 GiB block at level 1. */
  put(0x1000, 1, TBL(0x2000));
  put(0x2000, 2, BLOCK(0xc0000000ull, 1, 0));
  uint64_t va = va_of(1, 2, 0x1ab, 0x1cd, 0x123);
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_READ, 1, 8, &res), 0);
  assert_int_equal(res.pa, 0xc0000000ull + (va & ((1ull << 30) - 1)));
  assert_int_equal(res.page_bits, 30);
  assert_int_equal(res.level, 1);
  /* 2 MiB block at level 2; OA bits below 21 in the descriptor ignored. */
  put(0x2000, 2, TBL(0x3000));
  put(0x3000, 3, BLOCK(0x40200000ull | 0x1f000, 0, 0));
  va = va_of(1, 2, 3, 0x1cd, 0x120);
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_READ, 1, 8, &res), 0);
  assert_int_equal(res.pa, 0x40200000ull + (va & 0x1fffff));
  assert_int_equal(res.page_bits, 21);
  assert_int_equal(res.attr, 0x00);
  assert_true(res.device);
}

static void test_access_flag(void **state) {
  (void)state;
  struct emu_mmu_regs r = regs48();
  struct emu_mmu_result res;
  /* Level 1 block without AF. */
  put(0x1000, 1, TBL(0x2000));
  put(0x2000, 2, BLOCK(0xc0000000ull, 1, 0) & ~AF);
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 0, 0, 0),
                                     EMU_READ, 1, 8, &res),
                   -1);
  assert_int_equal(res.fault, EMU_MMU_ACCESS_FLAG);
  assert_int_equal(res.fsc, 0x09);
  /* Level 2 block. */
  put(0x2000, 2, TBL(0x3000));
  put(0x3000, 3, BLOCK(0x40200000ull, 1, 0) & ~AF);
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 0, 0),
                                     EMU_READ, 1, 8, &res),
                   -1);
  assert_int_equal(res.fsc, 0x0a);
  /* Level 3 page; AF faults come before permission faults. */
  chain48(PAGE(0x55000, 1, 3) & ~AF);
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 0),
                                     EMU_WRITE, 1, 8, &res),
                   -1);
  assert_int_equal(res.fault, EMU_MMU_ACCESS_FLAG);
  assert_int_equal(res.fsc, 0x0b);
  assert_int_equal(emu_mmu_par(&res), 1 | 0x0b << 1 | 1 << 11);
}

static void test_address_size(void **state) {
  (void)state;
  struct emu_mmu_regs r = regs48();
  struct emu_mmu_result res;
  r.tcr = (r.tcr & ~(7ull << 32)) | 0ull << 32; /* IPS: 32 bits */
  /* Output address beyond 4 GiB: level-3 address size fault. */
  chain48(PAGE(0x100055000ull, 1, 0));
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 0),
                                     EMU_READ, 1, 8, &res),
                   -1);
  assert_int_equal(res.fault, EMU_MMU_ADDR_SIZE);
  assert_int_equal(res.fsc, 0x03);
  /* Next-level table beyond 4 GiB, in a level-1 descriptor. */
  chain48(PAGE(0x55000, 1, 0));
  put(0x2000, 2, TBL(0x200003000ull));
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 0),
                                     EMU_READ, 1, 8, &res),
                   -1);
  assert_int_equal(res.fsc, 0x01);
  /* TTBR0 beyond the PA size. */
  r.ttbr0 = 0x100001000ull;
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 0),
                                     EMU_READ, 1, 8, &res),
                   -1);
  assert_int_equal(res.fsc, 0x00);
  /* With IPS = 48 bits the same output address is fine. */
  r = regs48();
  chain48(PAGE(0x100055000ull, 1, 0));
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 8),
                                     EMU_READ, 1, 8, &res),
                   0);
  assert_int_equal(res.pa, 0x100055008ull);
  /* IPS = 52 means the implemented 48 bits. */
  r.tcr |= 6ull << 32;
  chain48(PAGE(0x800000055000ull, 1, 0));
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 8),
                                     EMU_READ, 1, 8, &res),
                   0);
  assert_int_equal(res.pa, 0x800000055008ull);
  /* IPS = 44 bits: bit 44 of the output address is too much. */
  r.tcr = (r.tcr & ~(7ull << 32)) | 4ull << 32;
  chain48(PAGE(0x100000055000ull, 1, 0));
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 8),
                                     EMU_READ, 1, 8, &res),
                   -1);
  assert_int_equal(res.fault, EMU_MMU_ADDR_SIZE);
  assert_int_equal(res.fsc, 0x03);
}

static void test_walk_ext_abort(void **state) {
  (void)state;
  struct emu_mmu_regs r = regs48();
  struct emu_mmu_result res;
  /* A level-2 table outside the fake RAM. */
  chain48(PAGE(0x55000, 1, 0));
  put(0x2000, 2, TBL(0x7f000000ull));
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 0),
                                     EMU_READ, 1, 8, &res),
                   -1);
  assert_int_equal(res.fault, EMU_MMU_WALK_EXT);
  assert_int_equal(res.fsc, 0x16);
}

static void test_39bit_va(void **state) {
  (void)state;
  /* T0SZ = 25: 3 levels starting at level 1 (512 GiB of VA). */
  struct emu_mmu_regs r = {
      .sctlr = 1, .tcr = TCR39, .ttbr0 = 0x1000, .ttbr1 = 0x8000, .mair = MAIR};
  struct emu_mmu_result res;
  put(0x1000, 5, TBL(0x3000));
  put(0x3000, 6, TBL(0x4000));
  put(0x4000, 7, PAGE(0x66000, 1, 0));
  uint64_t va = 5ull << 30 | 6ull << 21 | 7ull << 12 | 0x10;
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_READ, 1, 8, &res), 0);
  assert_int_equal(res.pa, 0x66010);
  assert_int_equal(ram.reads, 3);
  /* Bit 39 set in a TTBR0 address: outside the 39-bit range. */
  assert_int_equal(
      emu_mmu_translate(&r, &walker, va | 1ull << 39, EMU_READ, 1, 8, &res),
      -1);
  assert_int_equal(res.fault, EMU_MMU_TRANSLATION);
  assert_int_equal(res.level, 0);
  /* TTBR1 side: 0xffffff8000000000 upwards. */
  put(0x8000, 0x1ff, TBL(0x9000));
  put(0x9000, 0x1ff, TBL(0xa000));
  put(0xa000, 0x1ff, PAGE(0x77000, 1, 0));
  assert_int_equal(emu_mmu_translate(&r, &walker, 0xfffffffffffff008ull,
                                     EMU_READ, 1, 8, &res),
                   0);
  assert_int_equal(res.pa, 0x77008);
  /* TTBR1 address without all upper bits set. */
  assert_int_equal(emu_mmu_translate(&r, &walker, 0xfffeffffffff0000ull,
                                     EMU_READ, 1, 8, &res),
                   -1);
  assert_int_equal(res.fsc, 0x04);
}

static void test_40bit_va_start_level0(void **state) {
  (void)state;
  /* T0SZ = 24: start at level 0 with a 2-entry table (1 VA bit). */
  struct emu_mmu_regs r = {
      .sctlr = 1, .tcr = 24 | 5ull << 32, .ttbr0 = 0x1010, .mair = MAIR};
  struct emu_mmu_result res;
  put(0x1010, 1, TBL(0x2000));
  put(0x2000, 0, TBL(0x3000));
  put(0x3000, 0, TBL(0x4000));
  put(0x4000, 0, PAGE(0x88000, 1, 0));
  assert_int_equal(
      emu_mmu_translate(&r, &walker, 1ull << 39, EMU_READ, 1, 8, &res), 0);
  assert_int_equal(res.pa, 0x88000);
  assert_int_equal(ram.reads, 4);
  /* 25-bit VA (T0SZ 39): start level 2. */
  r.tcr = 39 | 5ull << 32;
  r.ttbr0 = 0x5000;
  put(0x5000, 3, TBL(0x6000));
  put(0x6000, 2, PAGE(0x99000, 1, 0));
  ram.reads = 0;
  assert_int_equal(emu_mmu_translate(&r, &walker, 3ull << 21 | 2ull << 12,
                                     EMU_READ, 1, 8, &res),
                   0);
  assert_int_equal(res.pa, 0x99000);
  assert_int_equal(ram.reads, 2);
}

static void test_epd_and_tbi(void **state) {
  (void)state;
  struct emu_mmu_regs r = regs48();
  struct emu_mmu_result res;
  chain48(PAGE(0x55000, 1, 0));
  uint64_t va = va_of(1, 2, 3, 4, 0);
  r.tcr |= 1ull << 7; /* EPD0 */
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_READ, 1, 8, &res),
                   -1);
  assert_int_equal(res.fsc, 0x04);
  assert_int_equal(ram.reads, 0);
  r.tcr &= ~(1ull << 7);
  /* A tagged pointer: only with TBI0. */
  assert_int_equal(
      emu_mmu_translate(&r, &walker, va | 0x3aull << 56, EMU_READ, 1, 8, &res),
      -1);
  r.tcr |= 1ull << 37;
  assert_int_equal(
      emu_mmu_translate(&r, &walker, va | 0x3aull << 56, EMU_READ, 1, 8, &res),
      0);
  assert_int_equal(res.pa, 0x55000);
  /* EPD1 disables the TTBR1 half only. */
  r.tcr |= 1ull << 23;
  assert_int_equal(emu_mmu_translate(&r, &walker, 0xffff000000000000ull,
                                     EMU_READ, 1, 8, &res),
                   -1);
  assert_int_equal(res.fsc, 0x04);
}

/* Expected permissions for AP[2:1], UXN, PXN (ARM ARM D5-table). */
static void test_permission_matrix(void **state) {
  (void)state;
  struct emu_mmu_regs r = regs48();
  for (unsigned ap = 0; ap < 4; ap++) {
    for (unsigned xn = 0; xn < 4; xn++) {
      bool uxn = xn & 1, pxn = xn & 2;
      chain48(PAGE(0x55000, 1, ap) | (uxn ? UXN : 0) | (pxn ? PXN : 0));
      unsigned e0 = 0, e1 = EMU_PROT_R;
      if (ap & 1)
        e0 |= EMU_PROT_R;
      if (ap == 1)
        e0 |= EMU_PROT_W;
      if (!(ap & 2))
        e1 |= EMU_PROT_W;
      if (!uxn)
        e0 |= EMU_PROT_X;
      if (!pxn && ap != 1)
        e1 |= EMU_PROT_X;
      for (unsigned el = 0; el < 2; el++) {
        unsigned want = el ? e1 : e0;
        for (unsigned acc = 0; acc < 3; acc++) {
          struct emu_mmu_result res;
          static const unsigned bit[] = {EMU_PROT_R, EMU_PROT_W, EMU_PROT_X};
          int rc = emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 0),
                                     (enum emu_access)acc, el, 4, &res);
          if (want & bit[acc]) {
            assert_int_equal(rc, 0);
            assert_int_equal(res.prot[0], e0);
            assert_int_equal(res.prot[1], e1);
          } else {
            assert_int_equal(rc, -1);
            assert_int_equal(res.fault, EMU_MMU_PERMISSION);
            assert_int_equal(res.fsc, 0x0f);
          }
        }
      }
    }
  }
}

static void test_hierarchical_and_wxn(void **state) {
  (void)state;
  struct emu_mmu_regs r = regs48();
  struct emu_mmu_result res;
  uint64_t va = va_of(1, 2, 3, 4, 0);
  /* APTable[0] at level 1: no EL0 access below, even for AP=01. */
  chain48(PAGE(0x55000, 1, 1));
  put(0x2000, 2, TBL(0x3000) | 1ull << 61);
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_READ, 0, 4, &res),
                   -1);
  assert_int_equal(res.fsc, 0x0f);
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_WRITE, 1, 4, &res),
                   0);
  /* With the EL0 write gone, EL1 may execute again (PXN not implied). */
  assert_true(res.prot[1] & EMU_PROT_X);
  /* APTable[1]: read-only below. */
  put(0x2000, 2, TBL(0x3000) | 1ull << 62);
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_WRITE, 1, 4, &res),
                   -1);
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_READ, 0, 4, &res), 0);
  /* UXNTable / PXNTable at level 0. */
  chain48(PAGE(0x55000, 1, 1));
  put(0x1000, 1, TBL(0x2000) | 1ull << 60);
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_EXEC, 0, 4, &res),
                   -1);
  chain48(PAGE(0x55000, 1, 0));
  put(0x1000, 1, TBL(0x2000) | 1ull << 59);
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_EXEC, 1, 4, &res),
                   -1);
  /* AP=00 with UXN=0 is execute-only memory for EL0. */
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_EXEC, 0, 4, &res), 0);
  /* SCTLR.WXN: writable means never executable. */
  chain48(PAGE(0x55000, 1, 0));
  r.sctlr |= 1ull << 19;
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_EXEC, 1, 4, &res),
                   -1);
  chain48(PAGE(0x55000, 1, 2));
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_EXEC, 1, 4, &res), 0);
}

static void test_alignment(void **state) {
  (void)state;
  struct emu_mmu_regs r = regs48();
  struct emu_mmu_result res;
  uint64_t va = va_of(1, 2, 3, 4, 0);
  chain48(PAGE(0x55000, 0, 0)); /* Device */
  assert_int_equal(emu_mmu_translate(&r, &walker, va + 2, EMU_READ, 1, 4, &res),
                   -1);
  assert_int_equal(res.fsc, 0x21);
  assert_int_equal(
      emu_mmu_translate(&r, &walker, va + 4, EMU_WRITE, 1, 4, &res), 0);
  assert_true(res.device);
  assert_int_equal(res.sh, 2);
  chain48(PAGE(0x55000, 1, 0)); /* Normal */
  assert_int_equal(emu_mmu_translate(&r, &walker, va + 2, EMU_READ, 1, 4, &res),
                   0);
  /* SCTLR.A: every data access checked, before the walk. */
  r.sctlr |= 2;
  ram.reads = 0;
  assert_int_equal(emu_mmu_translate(&r, &walker, va + 2, EMU_READ, 1, 4, &res),
                   -1);
  assert_int_equal(res.fsc, 0x21);
  assert_int_equal(ram.reads, 0);
  assert_int_equal(emu_mmu_translate(&r, &walker, va + 2, EMU_EXEC, 1, 4, &res),
                   0);
}

static void test_asid_ng(void **state) {
  (void)state;
  struct emu_mmu_regs r = regs48();
  struct emu_mmu_result res;
  uint64_t va = va_of(1, 2, 3, 4, 0);
  r.ttbr0 |= 0x1234ull << 48;
  r.ttbr1 |= 0xabcdull << 48;
  chain48(PAGE(0x55000, 1, 0) | NG);
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_READ, 1, 8, &res), 0);
  assert_false(res.global);
  assert_int_equal(res.asid, 0x34); /* AS = 0: 8-bit ASIDs */
  r.tcr |= 1ull << 36;              /* AS = 1 */
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_READ, 1, 8, &res), 0);
  assert_int_equal(res.asid, 0x1234);
  r.tcr |= 1ull << 22; /* A1: the ASID comes from TTBR1 */
  assert_int_equal(emu_mmu_asid(&r), 0xabcd);
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_READ, 1, 8, &res), 0);
  assert_int_equal(res.asid, 0xabcd);
  chain48(PAGE(0x55000, 1, 0));
  assert_int_equal(emu_mmu_translate(&r, &walker, va, EMU_READ, 1, 8, &res), 0);
  assert_true(res.global);
  assert_int_equal(res.asid, 0);
}

static void test_par(void **state) {
  (void)state;
  struct emu_mmu_regs r = regs48();
  struct emu_mmu_result res;
  chain48(PAGE(0x55000, 1, 0));
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 0x9ab),
                                     EMU_READ, 1, 0, &res),
                   0);
  uint64_t par = emu_mmu_par(&res);
  assert_int_equal(par & 1, 0);
  assert_int_equal(par & 0x0000fffffffff000ull, 0x55000);
  assert_int_equal(par >> 56, 0xff);
  assert_int_equal((par >> 7) & 3, 3);
  assert_int_equal((par >> 11) & 1, 1);
  /* Permission fault: F = 1, FST = 0b001111. */
  assert_int_equal(emu_mmu_translate(&r, &walker, va_of(1, 2, 3, 4, 0),
                                     EMU_READ, 0, 0, &res),
                   -1);
  assert_int_equal(emu_mmu_par(&res), 1 | 0x0f << 1 | 1 << 11);
}

/* Guest-controlled garbage: random tables, registers and addresses. The
 * walk must stay inside the walker's memory, terminate, and produce
 * self-consistent results. Deterministic PRNG (xorshift). */
static uint64_t rng_next(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

static void test_random_tables(void **state) {
  (void)state;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (unsigned i = 0; i < RAM_SIZE / 8; i++) {
    uint64_t d = rng_next(&x);
    /* Mostly plausible descriptors pointing into the fake RAM. */
    if ((d & 1) && (d & 0x30))
      d = (d & ~0x0000fffffffff000ull) | (d & (RAM_SIZE - 1) & ~0xfffull);
    ram.w[i] = d;
  }
  unsigned ok = 0, faults[8] = {0};
  for (unsigned n = 0; n < 200000; n++) {
    struct emu_mmu_regs r = {.sctlr = rng_next(&x) | 1,
                             .tcr = rng_next(&x),
                             .ttbr0 = rng_next(&x) & (RAM_SIZE - 1),
                             .ttbr1 = rng_next(&x),
                             .mair = rng_next(&x)};
    if (n % 16 == 0)
      r.sctlr &= ~1ull;
    uint64_t va = rng_next(&x);
    if (n & 1)
      va &= 0x0000ffffffffffffull;
    struct emu_mmu_result res;
    unsigned acc = (unsigned)(rng_next(&x) % 3), el = n & 1;
    unsigned size = 1u << (rng_next(&x) % 4);
    int rc = emu_mmu_translate(&r, &walker, va, (enum emu_access)acc, el, size,
                               &res);
    if (rc == 0) {
      ok++;
      assert_int_equal(res.fault, EMU_MMU_OK);
      assert_int_equal(res.pa >> 48, 0);
      assert_int_equal(res.pa & 0xfff, va & 0xfff);
      assert_true(res.page_bits == 12 || res.page_bits == 21 ||
                  res.page_bits == 30);
      static const unsigned need[] = {EMU_PROT_R, EMU_PROT_W, EMU_PROT_X};
      assert_true(res.prot[el] & need[acc]);
    } else {
      assert_int_equal(rc, -1);
      assert_true(res.fault > EMU_MMU_OK && res.fault <= EMU_MMU_ALIGNMENT);
      faults[res.fault]++;
      assert_true(res.level <= 3);
      if (res.fault == EMU_MMU_ALIGNMENT)
        assert_int_equal(res.fsc, 0x21);
      else
        assert_int_equal(res.fsc & 3, res.level);
      uint64_t par = emu_mmu_par(&res);
      assert_int_equal(par & 1, 1);
      assert_int_equal((par >> 1) & 0x3f, res.fsc);
    }
  }
  print_message("ok %u, translation %u, walk-ext %u, addr-size %u, af %u, "
                "perm %u, align %u\n",
                ok, faults[EMU_MMU_TRANSLATION], faults[EMU_MMU_WALK_EXT],
                faults[EMU_MMU_ADDR_SIZE], faults[EMU_MMU_ACCESS_FLAG],
                faults[EMU_MMU_PERMISSION], faults[EMU_MMU_ALIGNMENT]);
  /* The generator must reach both outcomes and most fault kinds. */
  assert_true(ok > 100);
  assert_true(faults[EMU_MMU_TRANSLATION] > 100);
  assert_true(faults[EMU_MMU_WALK_EXT] > 10);
  assert_true(faults[EMU_MMU_ADDR_SIZE] > 10);
  assert_true(faults[EMU_MMU_ACCESS_FLAG] > 10);
  assert_true(faults[EMU_MMU_PERMISSION] > 10);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_mmu_off, setup),
      cmocka_unit_test_setup(test_walk_48bit_page, setup),
      cmocka_unit_test_setup(test_translation_fault_levels, setup),
      cmocka_unit_test_setup(test_blocks, setup),
      cmocka_unit_test_setup(test_access_flag, setup),
      cmocka_unit_test_setup(test_address_size, setup),
      cmocka_unit_test_setup(test_walk_ext_abort, setup),
      cmocka_unit_test_setup(test_39bit_va, setup),
      cmocka_unit_test_setup(test_40bit_va_start_level0, setup),
      cmocka_unit_test_setup(test_epd_and_tbi, setup),
      cmocka_unit_test_setup(test_permission_matrix, setup),
      cmocka_unit_test_setup(test_hierarchical_and_wxn, setup),
      cmocka_unit_test_setup(test_alignment, setup),
      cmocka_unit_test_setup(test_asid_ng, setup),
      cmocka_unit_test_setup(test_par, setup),
      cmocka_unit_test_setup(test_random_tables, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
