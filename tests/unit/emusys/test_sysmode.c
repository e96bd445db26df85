/* test_sysmode.c — small EL1/EL0 guest programs run by the real emulator
 * core (emu_run) through the system-mode glue (env.c): SVC and ERET at EL1
 * with the MMU off; then MMU on with a stage-1 table, a data abort with
 * its real fault code, a drop to EL0 through ERET, an UNDEFINED system
 * register access and an SVC from EL0. This is the contract test between
 * the core (src/emu: cpu.h, run.c, block.c) and src/emu/sys.
 * Single-threaded test program.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/le.h"
#include "emu/cpu.h"
#include "emu/jit/translate.h"
#include "emu/sys/env.h"
#include "emu/sys/exception.h"
#include "emu/sys/gicv3.h"
#include "emu/sys/sysregs.h"
#include "emu/sys/timer.h"
#include "machine/memmap.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE (2u << 20)

struct machine {
  struct emu_cpu cpu;
  struct emu_sys sys;
  struct vmk_guest_mem ram;
  unsigned mmio;
  struct emu_gicv3 gic;
  struct emu_timer timer;
  uint64_t now;
  uint64_t step; /* fake clock: ns added by every read */
};

/* A tiny bus: the GIC frames of the virt memory map, nothing else. */
static bool gic_frame(struct machine *m, uint64_t va, uint64_t *off,
                      const struct vmk_mmio_ops **ops) {
  uint64_t pa;
  if (!m->gic.cpu || !emu_sys_mmio_pa(&m->sys, va, &pa))
    return false;
  if (pa >= VMK_GICD_BASE && pa < VMK_GICD_BASE + VMK_GICD_SIZE) {
    *off = pa - VMK_GICD_BASE;
    *ops = &emu_gicv3_dist_ops;
    return true;
  }
  if (pa >= VMK_GICR_BASE && pa < VMK_GICR_BASE + VMK_GICR_SIZE) {
    *off = pa - VMK_GICR_BASE;
    *ops = &emu_gicv3_redist_ops;
    return true;
  }
  return false;
}

static struct emu_sys *sys_of(struct emu_cpu *cpu) { return cpu->env_opaque; }

static int env_tlb_fill(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                        unsigned size) {
  return emu_sys_tlb_fill(sys_of(cpu), va, acc, size);
}
static uint64_t env_mmio_read(struct emu_cpu *cpu, uint64_t va, unsigned size) {
  struct machine *m = (struct machine *)cpu;
  uint64_t off;
  const struct vmk_mmio_ops *ops;
  m->mmio++;
  return gic_frame(m, va, &off, &ops) ? ops->read(&m->gic, off, size) : 0;
}
static void env_mmio_write(struct emu_cpu *cpu, uint64_t va, unsigned size,
                           uint64_t val) {
  struct machine *m = (struct machine *)cpu;
  uint64_t off;
  const struct vmk_mmio_ops *ops;
  m->mmio++;
  if (gic_frame(m, va, &off, &ops))
    ops->write(&m->gic, off, size, val);
}
static void env_exception(struct emu_cpu *cpu, enum emu_exit kind,
                          uint32_t syndrome, uint64_t addr) {
  emu_sys_exception(sys_of(cpu), kind, syndrome, addr);
}
static bool env_sysreg_read(struct emu_cpu *cpu, uint32_t enc, uint64_t *v) {
  return emu_sys_sysreg_read(sys_of(cpu), enc, v);
}
static bool env_sysreg_write(struct emu_cpu *cpu, uint32_t enc, uint64_t v) {
  return emu_sys_sysreg_write(sys_of(cpu), enc, v);
}

static const struct emu_env_ops env = {
    .tlb_fill = env_tlb_fill,
    .mmio_read = env_mmio_read,
    .mmio_write = env_mmio_write,
    .exception = env_exception,
    .sysreg_read = env_sysreg_read,
    .sysreg_write = env_sysreg_write,
};

static void sys_tlbi(void *opaque, const struct emu_tlbi *op) {
  emu_sys_tlb_invalidate(opaque, op);
}
static void sys_ic(void *opaque, bool broadcast, bool all, uint64_t va) {
  (void)broadcast;
  emu_sys_ic_local(opaque, all, va);
}
static void sys_regime(void *opaque, enum emu_regime_change why) {
  emu_sys_regime_changed(opaque, why);
}
static const struct emu_sys_ops sys_ops = {NULL, sys_tlbi, sys_ic, sys_regime};

static int setup_mode(void **state, bool jit) {
  struct machine *m = calloc(1, sizeof(*m));
  m->ram.base = RAM_BASE;
  m->ram.size = RAM_SIZE;
  m->ram.host = calloc(1, RAM_SIZE);
  m->sys.ram = &m->ram;
  assert_int_equal(emu_cpu_init(&m->cpu, &env, &m->sys), 0);
  emu_sys_reset(&m->sys, &m->cpu, 0, &sys_ops, &m->sys);
  m->cpu.pc = RAM_BASE;
  if (jit) {
    vmk_error err;
    assert_int_equal(emu_jit_new(&m->cpu.jit, 1 << 20, 0, &err), 0);
  }
  *state = m;
  return 0;
}

static int setup(void **state) { return setup_mode(state, false); }
/* The same programs with every block run as its x86-64 translation
 * (--emu-mode jit): the translator must keep the system-mode contract
 * (exceptions from helpers, EL changes, interrupts at block boundaries,
 * code invalidation) exactly as the interpreter does. */
static int setup_jit(void **state) { return setup_mode(state, true); }

static int teardown(void **state) {
  struct machine *m = *state;
  if (m->cpu.jit) {
    /* translated for real, and nothing fell back to the interpreter */
    assert_true(m->cpu.jit->blocks > 0);
    assert_int_equal(m->cpu.jit->failed, 0);
    assert_int_equal(m->cpu.jit->refused, 0);
  }
  if (m->gic.cpu)
    emu_gicv3_destroy(&m->gic);
  emu_cpu_destroy(&m->cpu);
  free(m->ram.host);
  free(m);
  return 0;
}

static void load(struct machine *m, uint64_t pa, const uint32_t *code,
                 size_t n) {
  for (size_t i = 0; i < n; i++)
    vmk_put_le32(m->ram.host + (pa - RAM_BASE) + 4 * i, code[i]);
}

static void test_svc_eret_mmu_off(void **state) {
  struct machine *m = *state;
  static const uint32_t main_code[] = {
      0xd2a80000, /* mov x0, #0x40000000 */
      0x91200000, /* add x0, x0, #0x800 */
      0xd518c000, /* msr vbar_el1, x0 */
      0xd2824681, /* mov x1, #0x1234 */
      0xd4000841, /* svc #0x42 */
      0x91000422, /* add x2, x1, #1 */
      0xd4000002, /* hvc #0 */
  };
  static const uint32_t vec[] = {
      0xd5385203, /* mrs x3, esr_el1 */
      0xd5384024, /* mrs x4, elr_el1 */
      0xd2801321, /* mov x1, #0x99 */
      0xd69f03e0, /* eret */
  };
  load(m, RAM_BASE, main_code, 7);
  load(m, RAM_BASE + 0xa00, vec, 4);
  assert_int_equal(emu_run(&m->cpu, 1000), EMU_EXIT_HVC);
  assert_int_equal(m->cpu.r[3], 0x56000042u); /* SVC64, IL, imm */
  assert_int_equal(m->cpu.r[4], RAM_BASE + 0x14);
  assert_int_equal(m->cpu.r[1], 0x99);
  assert_int_equal(m->cpu.r[2], 0x9a);
  assert_int_equal(m->cpu.pc, RAM_BASE + 0x1c); /* after the HVC */
  assert_int_equal(m->sys.el, 1);
  assert_int_equal(m->sys.daif, EMU_PSTATE_DAIF); /* SPSR had it masked */
}

static void test_mmu_el0(void **state) {
  struct machine *m = *state;
  static const uint32_t main_code[] = {
      0xd2a80000, /* mov x0, #0x40000000 */
      0x91200000, /* add x0, x0, #0x800 */
      0xd518c000, /* msr vbar_el1, x0 */
      0xd2a80200, /* mov x0, #0x40100000 */
      0xd5182000, /* msr ttbr0_el1, x0 */
      0xd2801fe0, /* mov x0, #0xff */
      0xd518a200, /* msr mair_el1, x0 */
      0xd2800320, /* mov x0, #25 (T0SZ) */
      0xf2a01000, /* movk x0, #0x80, lsl #16 (EPD1) */
      0xf2c000a0, /* movk x0, #5, lsl #32 (IPS 48 bits) */
      0xd5182040, /* msr tcr_el1, x0 */
      0xd5033fdf, /* isb */
      0xd5381000, /* mrs x0, sctlr_el1 */
      0xb2400000, /* orr x0, x0, #1 */
      0xd5181000, /* msr sctlr_el1, x0 */
      0xd5033fdf, /* isb */
      0xd2820009, /* mov x9, #0x1000 */
      0xf940012a, /* ldr x10, [x9]: translation fault, level 1 */
      0xd2b00000, /* mov x0, #0x80000000 */
      0x91100000, /* add x0, x0, #0x400 */
      0xd5184020, /* msr elr_el1, x0 */
      0xd518401f, /* msr spsr_el1, xzr (EL0t) */
      0xd69f03e0, /* eret */
  };
  static const uint32_t user[] = {
      0xd28000eb, /* mov x11, #7 */
      0xd538100c, /* mrs x12, sctlr_el1: UNDEFINED at EL0 */
      0xd40000a1, /* svc #5 */
  };
  static const uint32_t cur_sync[] = {
      0xd5385214, /* mrs x20, esr_el1 */
      0xd5386015, /* mrs x21, far_el1 */
      0xd5384036, /* mrs x22, elr_el1 */
      0x910012d6, /* add x22, x22, #4 */
      0xd5184036, /* msr elr_el1, x22 */
      0xd69f03e0, /* eret */
  };
  static const uint32_t lower_sync[] = {
      0xd5385217, /* mrs x23, esr_el1 */
      0xd35afef8, /* lsr x24, x23, #26 */
      0xf100571f, /* cmp x24, #0x15 */
      0x540000c0, /* b.eq 1f */
      0xaa1703fa, /* mov x26, x23 */
      0xd5384039, /* mrs x25, elr_el1 */
      0x91001339, /* add x25, x25, #4 */
      0xd5184039, /* msr elr_el1, x25 */
      0xd69f03e0, /* eret */
      0xd538403b, /* 1: mrs x27, elr_el1 */
      0xd4000002, /* hvc #0 */
  };
  load(m, RAM_BASE, main_code, sizeof(main_code) / 4);
  load(m, RAM_BASE + 0x400, user, sizeof(user) / 4);
  load(m, RAM_BASE + 0xa00, cur_sync, sizeof(cur_sync) / 4);
  load(m, RAM_BASE + 0xc00, lower_sync, sizeof(lower_sync) / 4);
  /* L1 table (39-bit VA, start level 1) at 0x40100000:
   * [1] 1 GiB block VA 0x40000000 -> PA 0x40000000, EL1 only, Normal;
   * [2] 1 GiB block VA 0x80000000 -> PA 0x40000000, EL0 RW (AP=01). */
  uint8_t *l1 = m->ram.host + 0x100000;
  vmk_put_le64(l1 + 8, 0x40000000ull | 0x401);
  vmk_put_le64(l1 + 16, 0x40000000ull | 0x441 | 1ull << 53);
  m->cpu.r[12] = 0xaaaa;
  assert_int_equal(emu_run(&m->cpu, 10000), EMU_EXIT_HVC);
  /* The data abort, from EL1: translation fault level 1, read. */
  assert_int_equal(m->cpu.r[20], 0x96000005u);
  assert_int_equal(m->cpu.r[21], 0x1000);
  assert_int_equal(m->cpu.r[22], RAM_BASE + 0x48); /* ELR + 4 */
  assert_int_equal(m->cpu.r[10], 0);
  /* EL0 ran: x11 set, MRS SCTLR_EL1 UNDEFINED (x12 untouched). */
  assert_int_equal(m->cpu.r[11], 7);
  assert_int_equal(m->cpu.r[12], 0xaaaa);
  assert_int_equal(m->cpu.r[26], 0x02000000u);
  /* SVC #5 from EL0, preferred return after it. */
  assert_int_equal(m->cpu.r[23], 0x56000005u);
  assert_int_equal(m->cpu.r[27], 0x8000040cull);
  assert_int_equal(m->sys.regs.spsr & 0xf, 0); /* came from EL0t */
  assert_int_equal(m->sys.el, 1);
  assert_int_equal(m->mmio, 0);
}

/* Turns the MMU on (39-bit VAs through TTBR0, Normal memory) and falls
 * through to the code loaded at RAM_BASE + PROLOGUE. VBAR_EL1 is
 * RAM_BASE + 0x800. Four 1 GiB aliases of RAM:
 *   VA 0x040000000: EL1 only (AP=00), UXN: the kernel;
 *   VA 0x080000000: EL0 RW (AP=01), PXN: user data and code;
 *   VA 0x0c0000000: read-only at both ELs (AP=11), executable at both;
 *   VA 0x100000000: read-only at both ELs, PXN: user code. */
#define PROLOGUE 0x40
static void mmu_prologue(struct machine *m) {
  static const uint32_t code[] = {
      0xd2a80000, /* mov x0, #0x40000000 */
      0x91200000, /* add x0, x0, #0x800 */
      0xd518c000, /* msr vbar_el1, x0 */
      0xd2a80200, /* mov x0, #0x40100000 */
      0xd5182000, /* msr ttbr0_el1, x0 */
      0xd2801fe0, /* mov x0, #0xff */
      0xd518a200, /* msr mair_el1, x0 */
      0xd2800320, /* mov x0, #25 (T0SZ) */
      0xf2a01000, /* movk x0, #0x80, lsl #16 (EPD1) */
      0xf2c000a0, /* movk x0, #5, lsl #32 (IPS 48 bits) */
      0xd5182040, /* msr tcr_el1, x0 */
      0xd5033fdf, /* isb */
      0xd5381000, /* mrs x0, sctlr_el1 */
      0xb2400000, /* orr x0, x0, #1 */
      0xd5181000, /* msr sctlr_el1, x0 */
      0xd5033fdf, /* isb */
  };
  _Static_assert(sizeof(code) == PROLOGUE, "prologue size");
  load(m, RAM_BASE, code, sizeof(code) / 4);
  uint8_t *l1 = m->ram.host + 0x100000;
  vmk_put_le64(l1 + 8, RAM_BASE | 0x401 | 1ull << 54);
  vmk_put_le64(l1 + 16, RAM_BASE | 0x441 | 1ull << 53);
  vmk_put_le64(l1 + 24, RAM_BASE | 0x4c1);
  vmk_put_le64(l1 + 32, RAM_BASE | 0x4c1 | 1ull << 53);
}

/* ESR_EL1 of an instruction abort: permission fault at level 1. */
#define IABT_LOWER_PERM_L1 0x8200000du
#define IABT_SAME_PERM_L1 0x8600000du

/* Kernel code K is run at EL1 (twice, through a trampoline page both ELs
 * may execute, so the trampoline's block is linked to K's). Then EL0
 * enters the trampoline with the same target: the chained jump into K's
 * cached block must fault as a fetch from a UXN page does; the exception
 * handler then returns to K at EL0 directly (the dispatcher's path),
 * which must fault too. Cached kernel code never runs at EL0, and EL0
 * cannot tell which kernel addresses are cached. */
static void test_el0_cannot_run_cached_kernel_block(void **state) {
  struct machine *m = *state;
  static const uint32_t main_code[] = {
      0xd2a80000, /* mov x0, #0x40000000 */
      0x91180000, /* add x0, x0, #0x600: K */
      0xd2b80001, /* mov x1, #0xc0000000 */
      0xf282e001, /* movk x1, #0x1700: the trampoline */
      0xd63f0020, /* blr x1 */
      0xd63f0020, /* blr x1 */
      0xd5184021, /* msr elr_el1, x1 */
      0xd518401f, /* msr spsr_el1, xzr (EL0t) */
      0xd69f03e0, /* eret */
  };
  static const uint32_t k[] = {
      0x910004a5, /* add x5, x5, #1 */
      0xd65f03c0, /* ret */
  };
  static const uint32_t trampoline[] = {
      0xd61f0000, /* br x0 */
  };
  static const uint32_t cur_sync[] = {
      0xd5385214, /* mrs x20, esr_el1 */
      0xd5384035, /* mrs x21, elr_el1 */
      0xd5386016, /* mrs x22, far_el1 */
      0xd4000002, /* hvc #0 */
  };
  static const uint32_t lower_sync[] = {
      0xd5385209, /* mrs x9, esr_el1 */
      0xd538402a, /* mrs x10, elr_el1 */
      0xd538600b, /* mrs x11, far_el1 */
      0xb50000f7, /* cbnz x23, 1f */
      0xaa0903f7, /* mov x23, x9 */
      0xaa0a03f8, /* mov x24, x10 */
      0xaa0b03f9, /* mov x25, x11 */
      0xd5184020, /* msr elr_el1, x0: K */
      0xd518401f, /* msr spsr_el1, xzr (EL0t) */
      0xd69f03e0, /* eret */
      0xaa0903fa, /* 1: mov x26, x9 */
      0xaa0a03fb, /* mov x27, x10 */
      0xaa0b03fc, /* mov x28, x11 */
      0xd4000002, /* hvc #0 */
  };
  mmu_prologue(m);
  load(m, RAM_BASE + PROLOGUE, main_code, sizeof(main_code) / 4);
  load(m, RAM_BASE + 0x600, k, sizeof(k) / 4);
  load(m, RAM_BASE + 0x1700, trampoline, sizeof(trampoline) / 4);
  load(m, RAM_BASE + 0xa00, cur_sync, sizeof(cur_sync) / 4);
  load(m, RAM_BASE + 0xc00, lower_sync, sizeof(lower_sync) / 4);
  assert_int_equal(emu_run(&m->cpu, 10000), EMU_EXIT_HVC);
  assert_int_equal(m->cpu.r[20], 0); /* no exception at EL1 */
  assert_int_equal(m->cpu.r[5], 2);  /* K ran twice, at EL1 only */
  /* Chained from the trampoline at EL0: instruction abort from EL0. */
  assert_int_equal(m->cpu.r[23], IABT_LOWER_PERM_L1);
  assert_int_equal(m->cpu.r[24], RAM_BASE + 0x600);
  assert_int_equal(m->cpu.r[25], RAM_BASE + 0x600);
  /* Entered by ERET at EL0: the same. */
  assert_int_equal(m->cpu.r[26], IABT_LOWER_PERM_L1);
  assert_int_equal(m->cpu.r[27], RAM_BASE + 0x600);
  assert_int_equal(m->cpu.r[28], RAM_BASE + 0x600);
}

/* EL0 runs code from a PXN page (its block is cached), then the kernel
 * jumps to it from the SVC handler: an instruction abort at EL1, not the
 * cached user block run with kernel privileges. */
static void test_el1_cannot_run_cached_pxn_block(void **state) {
  struct machine *m = *state;
  static const uint32_t main_code[] = {
      0xd2c00021, /* mov x1, #0x100000000 */
      0xf2830001, /* movk x1, #0x1800: U, on the PXN alias */
      0xd5184021, /* msr elr_el1, x1 */
      0xd518401f, /* msr spsr_el1, xzr (EL0t) */
      0xd69f03e0, /* eret */
  };
  static const uint32_t user[] = {
      0x910005ad, /* add x13, x13, #1 */
      0xd4000001, /* svc #0 */
  };
  static const uint32_t cur_sync[] = {
      0xd5385214, /* mrs x20, esr_el1 */
      0xd5384035, /* mrs x21, elr_el1 */
      0xd5386016, /* mrs x22, far_el1 */
      0xd4000002, /* hvc #0 */
  };
  static const uint32_t lower_sync[] = {
      0xd5385217, /* mrs x23, esr_el1 */
      0xd61f0020, /* br x1: U, at EL1 */
  };
  mmu_prologue(m);
  load(m, RAM_BASE + PROLOGUE, main_code, sizeof(main_code) / 4);
  load(m, RAM_BASE + 0x1800, user, sizeof(user) / 4);
  load(m, RAM_BASE + 0xa00, cur_sync, sizeof(cur_sync) / 4);
  load(m, RAM_BASE + 0xc00, lower_sync, sizeof(lower_sync) / 4);
  assert_int_equal(emu_run(&m->cpu, 10000), EMU_EXIT_HVC);
  assert_int_equal(m->cpu.r[13], 1);           /* U ran once, at EL0 */
  assert_int_equal(m->cpu.r[23], 0x56000000u); /* its SVC */
  assert_int_equal(m->cpu.r[20], IABT_SAME_PERM_L1);
  assert_int_equal(m->cpu.r[21], 0x100001800ull);
  assert_int_equal(m->cpu.r[22], 0x100001800ull);
}

/* ---- the translation cache: code keyed by physical page, ASIDs ---------
 *
 * mmu_prologue's tables plus 4 KiB pages for VA 0..2 MiB: L1[0] -> L2 ->
 * L3 (tables at PA TBL + 0x1000, + 0x2000; a second address space's at
 * + 0x3000.. + 0x5000). Each test function lives on a page of its own and
 * is `mov x0, #imm; ret`; the EL1 driver at PROLOGUE calls x19 and stops
 * with HVC. System registers, TLBI and IC are written from C through the
 * same path as the guest's MSR/SYS (emu_sys_sysreg_write). */
#define TBL 0x40100000ull
#define CODE(n) (RAM_BASE + 0x110000 + 0x1000 * (n)) /* code pages */
#define ASID_TTBR(asid, l1) ((uint64_t)(asid) << 48 | (l1))
#define PTE_EL1_X (3 | 1 << 10 | 1ull << 54) /* page, AF, EL1 RW, UXN */
#define PTE_NG (1 << 11)
#define SR_TTBR0 EMU_SYSREG(3, 0, 2, 0, 0)
#define SR_TLBI_VAE1 EMU_SYSREG(1, 0, 8, 7, 1)
#define SR_TLBI_VAAE1 EMU_SYSREG(1, 0, 8, 7, 3)
#define SR_IC_IVAU EMU_SYSREG(1, 3, 7, 5, 1)
#define SR_IC_IALLU EMU_SYSREG(1, 0, 7, 5, 0)

static void tc_map(struct machine *m, uint64_t l3, uint64_t va, uint64_t pa,
                   uint64_t attrs) {
  vmk_put_le64(m->ram.host + (l3 - RAM_BASE) + 8 * (va >> 12), pa | attrs);
}

static void tc_code(struct machine *m, uint64_t pa, unsigned imm) {
  const uint32_t f[] = {0xd2800000u | imm << 5 /* mov x0, #imm */,
                        0xd65f03c0 /* ret */};
  load(m, pa, f, 2);
}

static uint64_t tc_call(struct machine *m, uint64_t va);

/* The second address space: a copy of the first L1 whose [0] leads to
 * its own L2 and L3. */
static void tc_setup(struct machine *m) {
  static const uint32_t driver[] = {
      0xd63f0260, /* blr x19 */
      0xd4000002, /* hvc #0 */
  };
  static const uint32_t store[] = {
      0xb9000041, /* str w1, [x2] */
      0xd65f03c0, /* ret */
  };
  mmu_prologue(m);
  load(m, RAM_BASE + PROLOGUE, driver, 2);
  load(m, RAM_BASE + 0x600, store, 2);
  uint8_t *ram = m->ram.host;
  memcpy(ram + 0x103000, ram + 0x100000, 0x1000);
  vmk_put_le64(ram + 0x100000, (TBL + 0x1000) | 3);
  vmk_put_le64(ram + 0x101000, (TBL + 0x2000) | 3);
  vmk_put_le64(ram + 0x103000, (TBL + 0x4000) | 3);
  vmk_put_le64(ram + 0x104000, (TBL + 0x5000) | 3);
  tc_call(m, RAM_BASE + 0x604); /* MMU on, ASID 1: calls a bare ret */
}

/* Calls the function at va at EL1; returns its x0. */
static uint64_t tc_call(struct machine *m, uint64_t va) {
  bool first = !(m->sys.regs.sctlr & EMU_SCTLR_M);
  m->cpu.pc = first ? RAM_BASE : RAM_BASE + PROLOGUE;
  m->cpu.r[19] = va;
  m->cpu.r[0] = 0;
  assert_int_equal(emu_run(&m->cpu, 10000), EMU_EXIT_HVC);
  assert_int_equal(m->sys.regs.esr, 0); /* no exception on the way */
  if (first) /* the prologue set ASID 0: the tests start in ASID 1 */
    assert_true(emu_sys_sysreg_write(&m->sys, SR_TTBR0, ASID_TTBR(1, TBL)));
  return m->cpu.r[0];
}

/* A guest store of insn at va (through the soft TLB, at EL1). */
static void tc_store(struct machine *m, uint64_t va, uint32_t insn) {
  m->cpu.r[1] = insn;
  m->cpu.r[2] = va;
  tc_call(m, RAM_BASE + 0x600);
}

static void sys_write(struct machine *m, uint32_t enc, uint64_t v) {
  assert_true(emu_sys_sysreg_write(&m->sys, enc, v));
}

/* Code rewritten through another mapping of its physical page, by a
 * plain store (no IC instruction), runs rewritten; so does code
 * rewritten through the RAM's identity (kernel linear map) alias. */
static void test_tcache_alias_store(void **state) {
  struct machine *m = *state;
  tc_setup(m);
  uint64_t l3 = TBL + 0x2000;
  tc_code(m, CODE(0), 1);
  tc_map(m, l3, 0x1000, CODE(0), PTE_EL1_X);
  tc_map(m, l3, 0x2000, CODE(0), PTE_EL1_X); /* alias, writable */
  assert_int_equal(tc_call(m, 0x1000), 1);
  assert_int_equal(tc_call(m, 0x1000), 1);
  tc_store(m, 0x2000, 0xd2800000u | 2 << 5); /* mov x0, #2 */
  assert_int_equal(tc_call(m, 0x1000), 2);
  tc_store(m, CODE(0), 0xd2800000u | 3 << 5); /* via VA == PA */
  assert_int_equal(tc_call(m, 0x1000), 3);
  assert_int_equal(tc_call(m, 0x2000), 3);
}

/* Two ASIDs map VA 0x3000 (non-global) to different code; switching
 * TTBR0 (no TLBI) runs each one's own, and switching back finds the
 * decoded code and the TLB entries again. A global mapping filled under
 * one ASID serves the other (a TLB may keep it: nothing was invalidated)
 * until TLBI VAAE1 drops it. */
static void test_tcache_asid_switch(void **state) {
  struct machine *m = *state;
  tc_setup(m);
  uint64_t l3a = TBL + 0x2000, l3b = TBL + 0x5000;
  tc_code(m, CODE(1), 11);
  tc_code(m, CODE(2), 22);
  tc_code(m, CODE(3), 33);
  tc_code(m, CODE(4), 44);
  tc_map(m, l3a, 0x3000, CODE(1), PTE_EL1_X | PTE_NG);
  tc_map(m, l3b, 0x3000, CODE(2), PTE_EL1_X | PTE_NG);
  tc_map(m, l3a, 0x4000, CODE(3), PTE_EL1_X);          /* global */
  tc_map(m, l3b, 0x4000, CODE(4), PTE_EL1_X | PTE_NG); /* not */
  tc_code(m, CODE(5), 66);
  tc_map(m, l3a, 0x6000, CODE(5), PTE_EL1_X | PTE_NG);
  assert_int_equal(tc_call(m, 0x6000), 66);
  assert_int_equal(tc_call(m, 0x3000), 11);
  assert_int_equal(tc_call(m, 0x4000), 33);
  sys_write(m, SR_TTBR0, ASID_TTBR(2, TBL + 0x3000));
  assert_int_equal(tc_call(m, 0x3000), 22);
  assert_int_equal(tc_call(m, 0x4000), 33); /* the global entry */
  uint64_t built = m->cpu.stats.blocks_built;
  sys_write(m, SR_TTBR0, ASID_TTBR(1, TBL));
  assert_int_equal(tc_call(m, 0x3000), 11);
  sys_write(m, SR_TTBR0, ASID_TTBR(2, TBL + 0x3000));
  assert_int_equal(tc_call(m, 0x3000), 22);
  assert_int_equal(m->cpu.stats.blocks_built, built);
  /* ASID 1's entry of a VA ASID 2 did not use survived both switches. */
  uint64_t k1 = 1ull << EMU_TLB_KEY_SHIFT;
  assert_int_equal(m->cpu.tlb_views[1][6].tag_exec, 0x6000 | k1);
  sys_write(m, SR_TTBR0, ASID_TTBR(1, TBL));
  assert_int_equal(tc_call(m, 0x6000), 66);
  sys_write(m, SR_TTBR0, ASID_TTBR(2, TBL + 0x3000));
  /* VAAE1: the global entry goes; ASID 2's own mapping is walked. */
  sys_write(m, SR_TLBI_VAAE1, 0x4000 >> 12);
  assert_int_equal(tc_call(m, 0x4000), 44);
  /* ASID 1 still sees its own (global) mapping after a walk. */
  sys_write(m, SR_TTBR0, ASID_TTBR(1, TBL));
  sys_write(m, SR_TLBI_VAAE1, 0x4000 >> 12);
  assert_int_equal(tc_call(m, 0x4000), 33);
}

/* TLBI VAE1 of one page: that VA's new mapping is used; another page
 * remapped without a TLBI keeps its cached translation (only what was
 * named is invalidated), and its old code page's blocks are still the
 * ones that run. TLBI of the other ASID's VA changes nothing here. */
static void test_tcache_tlbi_one_page(void **state) {
  struct machine *m = *state;
  tc_setup(m);
  uint64_t l3 = TBL + 0x2000;
  tc_code(m, CODE(0), 1);
  tc_code(m, CODE(1), 2);
  tc_code(m, CODE(2), 3);
  tc_code(m, CODE(3), 4);
  tc_map(m, l3, 0x1000, CODE(0), PTE_EL1_X | PTE_NG);
  tc_map(m, l3, 0x5000, CODE(2), PTE_EL1_X | PTE_NG);
  assert_int_equal(tc_call(m, 0x1000), 1);
  assert_int_equal(tc_call(m, 0x5000), 3);
  tc_map(m, l3, 0x1000, CODE(1), PTE_EL1_X | PTE_NG);
  tc_map(m, l3, 0x5000, CODE(3), PTE_EL1_X | PTE_NG);
  sys_write(m, SR_TLBI_VAE1, 7ull << 48 | 0x1000 >> 12); /* ASID 7 */
  assert_int_equal(tc_call(m, 0x1000), 1);
  sys_write(m, SR_TLBI_VAE1, 1ull << 48 | 0x1000 >> 12);
  assert_int_equal(tc_call(m, 0x1000), 2);
  assert_int_equal(tc_call(m, 0x5000), 3);
  /* Mapped back: the first page's code is found, not decoded again. */
  uint64_t built = m->cpu.stats.blocks_built;
  tc_map(m, l3, 0x1000, CODE(0), PTE_EL1_X | PTE_NG);
  sys_write(m, SR_TLBI_VAE1, 1ull << 48 | 0x1000 >> 12);
  assert_int_equal(tc_call(m, 0x1000), 1);
  assert_int_equal(m->cpu.stats.blocks_built, built);
}

/* Code changed behind the soft TLB (as a device's DMA writes RAM) runs
 * stale until IC IVAU of an address in its page; that drops only that
 * page's code. */
static void test_tcache_ic_ivau(void **state) {
  struct machine *m = *state;
  tc_setup(m);
  uint64_t l3 = TBL + 0x2000;
  tc_code(m, CODE(0), 1);
  tc_code(m, CODE(1), 2);
  tc_map(m, l3, 0x1000, CODE(0), PTE_EL1_X);
  tc_map(m, l3, 0x2000, CODE(1), PTE_EL1_X);
  assert_int_equal(tc_call(m, 0x1000), 1);
  assert_int_equal(tc_call(m, 0x2000), 2);
  tc_code(m, CODE(0), 5);
  tc_code(m, CODE(1), 6);
  assert_int_equal(tc_call(m, 0x1000), 1);
  uint64_t built = m->cpu.stats.blocks_built;
  sys_write(m, SR_IC_IVAU, 0x1000 + 0x40);
  assert_int_equal(tc_call(m, 0x1000), 5);
  assert_int_equal(tc_call(m, 0x2000), 2); /* not that page: stale */
  assert_int_equal(m->cpu.stats.blocks_built, built + 1);
}

/* IC IALLU: every page's new code runs. Translated, the old
 * translations go with their blocks (nothing can enter them any more), so
 * the code region holds only what ran since: a guest kernel that flushes
 * its I-cache often does not fill the region with dead code. */
static void test_tcache_ic_iallu(void **state) {
  struct machine *m = *state;
  tc_setup(m);
  uint64_t l3 = TBL + 0x2000;
  tc_code(m, CODE(0), 1);
  tc_code(m, CODE(1), 2);
  tc_map(m, l3, 0x1000, CODE(0), PTE_EL1_X);
  tc_map(m, l3, 0x2000, CODE(1), PTE_EL1_X);
  assert_int_equal(tc_call(m, 0x1000), 1);
  assert_int_equal(tc_call(m, 0x2000), 2);
  size_t before = m->cpu.jit ? m->cpu.jit->cb.used : 0;
  tc_code(m, CODE(0), 5);
  tc_code(m, CODE(1), 6);
  sys_write(m, SR_IC_IALLU, 0);
  assert_int_equal(tc_call(m, 0x1000), 5);
  assert_int_equal(tc_call(m, 0x2000), 6);
  if (m->cpu.jit) /* the driver, the two functions: fewer than before */
    assert_true(m->cpu.jit->cb.used < before);
}

static uint64_t fake_now(void *opaque) {
  struct machine *m = opaque;
  uint64_t t = m->now;
  m->now += m->step;
  return t;
}

/* Timer -> GIC PPI 27 -> IRQ line -> vector, with WFI in between: the
 * engine's loop in miniature (time only moves while the guest waits). */
static void test_timer_irq_wfi(void **state) {
  struct machine *m = *state;
  vmk_error err;
  assert_int_equal(emu_gicv3_init(&m->gic, 1, 64, NULL, NULL, &err), 0);
  m->sys.gic = &m->gic;
  emu_timer_init(&m->timer, fake_now, m, 0, emu_sys_timer_output, &m->sys);
  m->sys.timer = &m->timer;
  static const uint32_t code[] = {
      0xd2a80000, /* mov x0, #0x40000000 */
      0x91200000, /* add x0, x0, #0x800 */
      0xd518c000, /* msr vbar_el1, x0 */
      0xd2a10001, /* mov x1, #0x08000000 (GICD) */
      0x52800042, /* mov w2, #2 */
      0xb9000022, /* str w2, [x1] (GICD_CTLR.EnableGrp1) */
      0xd2a10143, /* mov x3, #0x080a0000 (GICR 0) */
      0xb900147f, /* str wzr, [x3, #0x14] (GICR_WAKER) */
      0x91404064, /* add x4, x3, #0x10000 (SGI_base) */
      0x12800005, /* mov w5, #-1 */
      0xb9008085, /* str w5, [x4, #0x80] (IGROUPR0) */
      0x52a10005, /* mov w5, #(1 << 27) */
      0xb9010085, /* str w5, [x4, #0x100] (ISENABLER0) */
      0xd2801e06, /* mov x6, #0xf0 */
      0xd5184606, /* msr icc_pmr_el1, x6 */
      0xd2800026, /* mov x6, #1 */
      0xd518cce6, /* msr icc_igrpen1_el1, x6 */
      0xd2800c87, /* mov x7, #100 */
      0xd51be307, /* msr cntv_tval_el0, x7 */
      0xd2800027, /* mov x7, #1 */
      0xd51be327, /* msr cntv_ctl_el0, x7 */
      0xd50342ff, /* msr daifclr, #2 */
      0xd503207f, /* loop: wfi */
      0xb4fffff4, /* cbz x20, loop */
      0xd4000002, /* hvc #0 */
  };
  static const uint32_t irq[] = {
      0xd538cc14, /* mrs x20, icc_iar1_el1 */
      0xd53be335, /* mrs x21, cntv_ctl_el0 */
      0xd51be33f, /* msr cntv_ctl_el0, xzr */
      0xd518cc34, /* msr icc_eoir1_el1, x20 */
      0xd538c116, /* mrs x22, isr_el1 */
      0xd69f03e0, /* eret */
  };
  load(m, RAM_BASE, code, sizeof(code) / 4);
  load(m, RAM_BASE + 0xa80, irq, sizeof(irq) / 4);
  m->cpu.r[22] = 0x5555;
  unsigned wfis = 0, rounds = 0;
  enum emu_exit e;
  while ((e = emu_run(&m->cpu, 10000)) != EMU_EXIT_HVC) {
    assert_true(++rounds < 100);
    if (e == EMU_EXIT_WFI) {
      wfis++;
      /* Nothing pending yet: sleep until the timer's deadline. */
      assert_false(emu_sys_wfi_wakeup(&m->sys));
      assert_int_not_equal(emu_timer_deadline_ns(&m->timer), UINT64_MAX);
      m->now = emu_timer_deadline_ns(&m->timer);
      emu_timer_poll(&m->timer);
      assert_true(emu_sys_wfi_wakeup(&m->sys));
    }
    emu_sys_poll_interrupts(&m->sys);
  }
  assert_int_equal(wfis, 1);
  assert_int_equal(m->now, 100 * EMU_TIMER_NS_PER_TICK);
  assert_int_equal(m->cpu.r[20], EMU_GIC_INTID_VTIMER);
  assert_int_equal(m->cpu.r[21], 5); /* ENABLE | ISTATUS */
  assert_int_equal(m->cpu.r[22], 0); /* ISR_EL1: nothing pending after */
  assert_int_equal(m->sys.regs.elr, RAM_BASE + 0x5c); /* the cbz */
  assert_false(emu_gicv3_irq_line(&m->gic, 0));
  assert_true(m->mmio >= 4);
}

/* ISS of a trapped MSR/MRS/SYS (EC 0x18), laid out as the Arm ARM's
 * ISS encoding for exceptions from MSR, MRS or System instructions. */
static uint32_t esr_sys(unsigned op0, unsigned op1, unsigned crn, unsigned crm,
                        unsigned op2, unsigned rt, bool read) {
  return 0x18u << 26 | 1u << 25 | op0 << 20 | op2 << 17 | op1 << 14 |
         crn << 10 | rt << 5 | crm << 1 | (read ? 1u : 0);
}

/* EL0 cache maintenance and cache-information accesses, first with
 * SCTLR_EL1.DZE/UCI/UCT clear (each traps to EL1 with its syndrome; the
 * handler logs ESR_EL1 and skips the instruction), then with them set
 * (they run). DC CVAP is UNDEFINED either way: the ID registers promise
 * no DPB. */
static void test_el0_cache_ops_trap(void **state) {
  struct machine *m = *state;
  static const uint32_t main_code[] = {
      0xd2a8001a, /* mov x26, #0x40000000 */
      0xf284001a, /* movk x26, #0x2000: the log (EL1 VA) */
      0xd2b00002, /* mov x2, #0x80000000 */
      0xf2820002, /* movk x2, #0x1000: the DC target (EL0 VA) */
      0xd2b00000, /* mov x0, #0x80000000 */
      0xf2808000, /* movk x0, #0x400: the user code */
      0xd5184020, /* msr elr_el1, x0 */
      0xd518401f, /* msr spsr_el1, xzr (EL0t) */
      0xd69f03e0, /* eret */
  };
  static const uint32_t user[] = {
      0xd53b00e1, /* mrs x1, dczid_el0 */
      0xd50b7422, /* dc zva, x2 */
      0xd50b7a22, /* dc cvac, x2 */
      0xd50b7b22, /* dc cvau, x2 */
      0xd50b7e22, /* dc civac, x2 */
      0xd50b7522, /* ic ivau, x2 */
      0xd53b0023, /* mrs x3, ctr_el0 */
      0xd50b7c22, /* dc cvap, x2 */
      0xd4000001, /* svc #0 */
  };
  static const uint32_t lower_sync[] = {
      0xd5385209, /* mrs x9, esr_el1 */
      0xd35afd2a, /* lsr x10, x9, #26 */
      0xf100555f, /* cmp x10, #0x15 */
      0x540000c0, /* b.eq 1f */
      0xf8008749, /* str x9, [x26], #8 */
      0xd538402a, /* mrs x10, elr_el1 */
      0x9100114a, /* add x10, x10, #4 */
      0xd518402a, /* msr elr_el1, x10 */
      0xd69f03e0, /* eret */
      0xd4000002, /* 1: hvc #0 */
      0xd538100a, /* mrs x10, sctlr_el1 */
      0xaa0e014a, /* orr x10, x10, x14: DZE | UCT | UCI */
      0xd518100a, /* msr sctlr_el1, x10 */
      0xaa1f03e1, /* mov x1, xzr */
      0xd5184020, /* msr elr_el1, x0 */
      0xd518401f, /* msr spsr_el1, xzr (EL0t) */
      0xd69f03e0, /* eret: the user code again */
  };
  mmu_prologue(m);
  load(m, RAM_BASE + PROLOGUE, main_code, sizeof(main_code) / 4);
  load(m, RAM_BASE + 0x400, user, sizeof(user) / 4);
  load(m, RAM_BASE + 0xc00, lower_sync, sizeof(lower_sync) / 4);
  memset(m->ram.host + 0x1000, 0xff, 128);
  m->cpu.r[3] = 0x3333;
  m->cpu.r[14] = EMU_SCTLR_DZE | EMU_SCTLR_UCT | EMU_SCTLR_UCI;
  const uint8_t *log = m->ram.host + 0x2000;
  const uint32_t undef = 0x02000000u; /* EC 0, IL */
  const uint32_t traps[] = {
      esr_sys(1, 3, 7, 4, 1, 2, false),  /* DC ZVA, X2 */
      esr_sys(1, 3, 7, 10, 1, 2, false), /* DC CVAC */
      esr_sys(1, 3, 7, 11, 1, 2, false), /* DC CVAU */
      esr_sys(1, 3, 7, 14, 1, 2, false), /* DC CIVAC */
      esr_sys(1, 3, 7, 5, 1, 2, false),  /* IC IVAU */
      esr_sys(3, 3, 0, 0, 1, 3, true),   /* MRS X3, CTR_EL0 */
      undef,                             /* DC CVAP */
  };
  const unsigned ntraps = sizeof(traps) / sizeof(traps[0]);

  assert_int_equal(emu_run(&m->cpu, 10000), EMU_EXIT_HVC);
  assert_int_equal(m->cpu.r[26], RAM_BASE + 0x2000 + 8 * ntraps);
  for (unsigned i = 0; i < ntraps; i++)
    assert_int_equal(vmk_le64(log + 8 * i), traps[i]);
  assert_int_equal(m->cpu.r[1], 1u << 4 | EMU_DCZID_BS); /* DZP set */
  assert_int_equal(m->cpu.r[3], 0x3333);
  for (unsigned i = 0; i < 128; i++)
    assert_int_equal(m->ram.host[0x1000 + i], 0xff); /* not zeroed */

  /* Allowed: only DC CVAP (UNDEFINED) reaches EL1. */
  assert_int_equal(emu_run(&m->cpu, 10000), EMU_EXIT_HVC);
  assert_int_equal(m->cpu.r[26], RAM_BASE + 0x2000 + 8 * (ntraps + 1));
  assert_int_equal(vmk_le64(log + 8 * ntraps), undef);
  assert_int_equal(m->cpu.r[1], EMU_DCZID_BS); /* DZP clear */
  assert_int_equal(m->cpu.r[3], EMU_CTR_EL0);
  for (unsigned i = 0; i < 128; i++)
    assert_int_equal(m->ram.host[0x1000 + i], i < 64 ? 0 : 0xff);
}

/* The GICv3 and the generic timer of a one-CPU machine, with the fake
 * clock (time moves only when the test says, or by m->step per read). */
static void timer_machine(struct machine *m) {
  vmk_error err;
  assert_int_equal(emu_gicv3_init(&m->gic, 1, 64, NULL, NULL, &err), 0);
  m->sys.gic = &m->gic;
  emu_timer_init(&m->timer, fake_now, m, 0, emu_sys_timer_output, &m->sys);
  m->sys.timer = &m->timer;
}

/* VBAR_EL1 = RAM_BASE + 0x800, GICD and redistributor 0 awake with both
 * timer PPIs (27, 30) enabled in Group 1; x6 = 0xf0, x8 = 1. */
static const uint32_t gic_setup[] = {
    0xd2a80000, /* mov x0, #0x40000000 */
    0x91200000, /* add x0, x0, #0x800 */
    0xd518c000, /* msr vbar_el1, x0 */
    0xd2a10001, /* mov x1, #0x08000000 (GICD) */
    0x52800042, /* mov w2, #2 */
    0xb9000022, /* str w2, [x1] (GICD_CTLR.EnableGrp1) */
    0xd2a10143, /* mov x3, #0x080a0000 (GICR 0) */
    0xb900147f, /* str wzr, [x3, #0x14] (GICR_WAKER) */
    0x91404064, /* add x4, x3, #0x10000 (SGI_base) */
    0x12800005, /* mov w5, #-1 */
    0xb9008085, /* str w5, [x4, #0x80] (IGROUPR0) */
    0x52a90005, /* mov w5, #0x48000000: PPIs 27 and 30 */
    0xb9010085, /* str w5, [x4, #0x100] (ISENABLER0) */
    0xd2801e06, /* mov x6, #0xf0 */
    0xd2800028, /* mov x8, #1 */
};
#define I_PMR 0xd5184606u     /* msr icc_pmr_el1, x6 */
#define I_IGRPEN1 0xd518cce8u /* msr icc_igrpen1_el1, x8 */
#define I_DAIFCLR 0xd50342ffu /* msr daifclr, #2 */
#define I_HVC 0xd4000002u     /* hvc #0 */

/* The accesses to one timer (virtual or physical) the programs use. */
struct timer_insns {
  unsigned intid;
  uint32_t tval_x7, ctl_x8, mrs_ctl_x1, ctl_zero;
};
static const struct timer_insns vtimer = {
    EMU_GIC_INTID_VTIMER, 0xd51be307, /* msr cntv_tval_el0, x7 */
    0xd51be328,                       /* msr cntv_ctl_el0, x8 */
    0xd53be321,                       /* mrs x1, cntv_ctl_el0 */
    0xd51be33f,                       /* msr cntv_ctl_el0, xzr */
};
static const struct timer_insns ptimer = {
    EMU_GIC_INTID_PTIMER, 0xd51be207, /* msr cntp_tval_el0, x7 */
    0xd51be228,                       /* msr cntp_ctl_el0, x8 */
    0xd53be221,                       /* mrs x1, cntp_ctl_el0 */
    0xd51be23f,                       /* msr cntp_ctl_el0, xzr */
};

struct prog {
  uint32_t w[64];
  unsigned n;
};
static void emit(struct prog *p, const uint32_t *w, unsigned n) {
  assert_true(p->n + n <= 64);
  memcpy(p->w + p->n, w, 4 * n);
  p->n += n;
}
static void emit1(struct prog *p, uint32_t w) { emit(p, &w, 1); }

/* The IRQ handler at VBAR + 0x280: x20 = the INTID, timer disabled. */
static void load_irq_handler(struct machine *m, const struct timer_insns *t) {
  const uint32_t irq[] = {
      0xd538cc14,              /* mrs x20, icc_iar1_el1 */
      t->ctl_zero, 0xd518cc34, /* msr icc_eoir1_el1, x20 */
      0xd69f03e0,              /* eret */
  };
  load(m, RAM_BASE + 0xa80, irq, 4);
}

/* Runs to the HVC the way the engine does, minus the host's timer tick:
 * between runs interrupts are delivered, the timer is never polled. */
static void run_to_hvc(struct machine *m) {
  unsigned rounds = 0;
  while (emu_run(&m->cpu, 10000) != EMU_EXIT_HVC) {
    assert_true(++rounds < 100);
    emu_sys_poll_interrupts(&m->sys);
  }
}

/* A guest enables a timer with interrupts unmasked and spins until its
 * ISTATUS reads 1 (time moves one tick per clock read). The interrupt
 * must be taken before the first instruction after the loop: x22 counts
 * the instructions-long window iterations that ran without the handler. */
static void spin_on_istatus(struct machine *m, const struct timer_insns *t) {
  timer_machine(m);
  m->step = EMU_TIMER_NS_PER_TICK;
  struct prog p = {0};
  emit(&p, gic_setup, sizeof(gic_setup) / 4);
  const uint32_t arm[] = {
      I_PMR,      I_IGRPEN1, I_DAIFCLR,     0xd2800c87, /* mov x7, #100 */
      t->tval_x7, t->ctl_x8, t->mrs_ctl_x1,             /* loop: */
      0x3617ffe1,                                       /* tbz w1, #2, loop */
      0xb5000094, /* window: cbnz x20, done */
      0x910006d6, /* add x22, x22, #1 */
      0xf10102df, /* cmp x22, #64 */
      0x54ffffa1, /* b.ne window */
      I_HVC,      /* done: */
  };
  emit(&p, arm, sizeof(arm) / 4);
  load(m, RAM_BASE, p.w, p.n);
  load_irq_handler(m, t);
  run_to_hvc(m);
  assert_int_equal(m->cpu.r[20], t->intid);
  assert_int_equal(m->cpu.r[1] & 5, 5); /* the loop saw ENABLE | ISTATUS */
  assert_int_equal(m->cpu.r[22], 0);
  assert_int_equal(m->sys.regs.elr, RAM_BASE + 4 * (p.n - 5)); /* window */
}

static void test_timer_irq_spin_virtual(void **state) {
  spin_on_istatus(*state, &vtimer);
}
static void test_timer_irq_spin_physical(void **state) {
  spin_on_istatus(*state, &ptimer);
}

/* The timer's deadline passes while its interrupt is masked, without any
 * timer access or poll; the instruction that unmasks it (PSTATE.I, the
 * priority mask, the group enable) must be followed by the handler. */
static void unmask_pending_timer(struct machine *m, const uint32_t *before,
                                 uint32_t unmask) {
  timer_machine(m);
  struct prog p = {0};
  emit(&p, gic_setup, sizeof(gic_setup) / 4);
  emit(&p, before, 2);
  const uint32_t arm[] = {
      0xd2800c87, /* mov x7, #100 */
      vtimer.tval_x7,
      vtimer.ctl_x8,
      I_HVC,
  };
  emit(&p, arm, 4);
  emit1(&p, unmask);
  emit1(&p, 0xaa1403f5); /* mov x21, x20: did the handler run? */
  emit1(&p, I_HVC);
  load(m, RAM_BASE, p.w, p.n);
  load_irq_handler(m, &vtimer);
  run_to_hvc(m);
  assert_int_equal(m->cpu.r[20], 0);
  m->now = emu_timer_deadline_ns(&m->timer); /* due, not polled */
  run_to_hvc(m);
  assert_int_equal(m->cpu.r[20], EMU_GIC_INTID_VTIMER);
  assert_int_equal(m->cpu.r[21], EMU_GIC_INTID_VTIMER);
}

static void test_timer_irq_on_daif_unmask(void **state) {
  const uint32_t before[] = {I_PMR, I_IGRPEN1};
  unmask_pending_timer(*state, before, I_DAIFCLR);
}
static void test_timer_irq_on_pmr_write(void **state) {
  const uint32_t before[] = {I_IGRPEN1, I_DAIFCLR};
  unmask_pending_timer(*state, before, I_PMR);
}
static void test_timer_irq_on_igrpen1_write(void **state) {
  const uint32_t before[] = {I_PMR, I_DAIFCLR};
  unmask_pending_timer(*state, before, I_IGRPEN1);
}

int main(void) {
  /* each program interpreted, then translated */
#define BOTH(t)                                                                \
  cmocka_unit_test_setup_teardown(t, setup, teardown), {                       \
#t "_jit", t, setup_jit, teardown, NULL                                    \
  }
  const struct CMUnitTest tests[] = {
      BOTH(test_svc_eret_mmu_off),
      BOTH(test_mmu_el0),
      BOTH(test_timer_irq_wfi),
      BOTH(test_el0_cannot_run_cached_kernel_block),
      BOTH(test_el1_cannot_run_cached_pxn_block),
      BOTH(test_el0_cache_ops_trap),
      BOTH(test_tcache_alias_store),
      BOTH(test_tcache_asid_switch),
      BOTH(test_tcache_tlbi_one_page),
      BOTH(test_tcache_ic_ivau),
      BOTH(test_tcache_ic_iallu),
      BOTH(test_timer_irq_spin_virtual),
      BOTH(test_timer_irq_spin_physical),
      BOTH(test_timer_irq_on_daif_unmask),
      BOTH(test_timer_irq_on_pmr_write),
      BOTH(test_timer_irq_on_igrpen1_write),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
