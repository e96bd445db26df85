/* test_jit_chain.c — translated blocks chained into each other
 * (src/emu/jit/chain.c), run through emu_run in the fake environment of
 * emu_test_env.h and compared with the interpreter: a link into a block
 * whose code a guest store or IC IVAU changed runs the new code (on
 * another page and on the same page), a flush of all code stops a chain,
 * a link into a page that maps other code now or may not run is not
 * followed, the
 * jump cache with two targets of one index and a changed target, exit_request
 * seen at the next block (from an MMIO store in the guest and from another
 * thread), the budget and icount exactly the interpreter's, and chains that do
 * not come back to the dispatcher after every block, and the code region
 * filling up (flushed, translated again) mid-run. The return address
 * stack: nested calls deeper than it, a longjmp (RET to another address
 * than the pushed one), a return into code rewritten, remapped, made
 * non-executable or in another address space since the call, calls that
 * never return (the host stack stays bounded) and exit_request and the
 * budget across returns. Every program runs in
 * three modes: interpreter, JIT with the W^X code region, JIT with the single
 * mapping (user mode's). Encodings from GNU as; the disassembly is beside
 * each word. Single-threaded but for test_exit_request_thread.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "emu/jit/chain.h"
#include "emu/jit/code_buf.h"
#include "emu/jit/translate.h"
#include "emu_test_env.h"
#include "vmkit/vmkit.h"

#if defined(__x86_64__)

/* A store of 500 to MMIO_PAGE asks the CPU to stop; a store of 50 to
 * FLUSH_PAGE rewrites fc from the host and drops every translation, as
 * IC IALLU would, or (fc_action) maps fc's page to fc_alt's code or
 * takes its execute permission away from then on, and refills its TLB
 * entry, as an mmap or mprotect, or a TLBI and a load, would. (Test
 * state: the tests run one at a time.) */
#define MMIO_PAGE 0x1e000ull
#define FLUSH_PAGE 0x1d000ull
#define FC 0x11000ull
#define FC_ALT 0x14000ull
#define ADD_X0_2 0x91000800u /* add x0, x0, #0x2 */
/* FC_ASID: the store switches to another address space (tlb_key), in
 * which fc's page maps fc_alt's code; the old one's entries stay. */
static enum { FC_REWRITE, FC_REMAP, FC_NOEXEC, FC_ASID } fc_action;
static bool fc_changed;
/* the page the actions change and the one it maps to instead */
static uint64_t fc_page = FC, fc_alt = FC_ALT;
/* The lowest host stack frame a store to MMIO_PAGE saw (the bound on
 * the host stack a chain uses). */
static uintptr_t stack_low = UINTPTR_MAX;
static uint32_t *word_at(struct tv *t, uint64_t va) {
  return (uint32_t *)(void *)(t->mem + (va - TV_BASE));
}

static int fill(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                unsigned size) {
  if (((va & EMU_PAGE_MASK) == MMIO_PAGE ||
       (va & EMU_PAGE_MASK) == FLUSH_PAGE) &&
      acc != EMU_EXEC)
    return 1;
  int r = tv_fill(cpu, va, acc, size);
  if (r != 0)
    return r;
  struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
  if (cpu->tlb_key) { /* tv_fill knows one address space only */
    e->tag_read |= cpu->tlb_key;
    e->tag_write |= cpu->tlb_key;
    e->tag_exec |= cpu->tlb_key;
  }
  if (fc_changed && (va & EMU_PAGE_MASK) == fc_page) {
    if (fc_action == FC_REMAP || fc_action == FC_ASID)
      e->addend += fc_alt - fc_page;
    else
      e->tag_exec = EMU_TLB_INVALID;
  }
  return r;
}
static void mmio_write(struct emu_cpu *cpu, uint64_t va, unsigned s,
                       uint64_t v) {
  (void)s;
  if ((va & EMU_PAGE_MASK) == FLUSH_PAGE) {
    if (v == 50 && fc_action == FC_ASID) {
      /* as a TTBR write with a new ASID would (that one ends its block:
       * this is harder, the chain goes on) */
      fc_changed = true;
      cpu->tlb_key = 1ull << EMU_TLB_KEY_SHIFT;
    } else if (v == 50 && fc_action != FC_REWRITE) {
      fc_changed = true;
      emu_tlb_flush_page(cpu, fc_page);
      /* and refilled at once (as by a load from the page): the exec tag
       * is valid again, the host address is not the one linked */
      assert_int_equal(emu_tlb_refill(cpu, fc_page, EMU_READ, 4), 0);
    } else if (v == 50) {
      *word_at(cpu->env_opaque, FC) = ADD_X0_2;
      emu_flush_code(cpu);
    }
    return;
  }
  uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
  if (frame < stack_low)
    stack_low = frame;
  if (v == 500)
    emu_cpu_request_exit(cpu);
}
static const struct emu_env_ops ops = {
    .tlb_fill = fill,
    .mmio_read = tv_mmio_read,
    .mmio_write = mmio_write,
};

static const struct chunk {
  uint64_t va;
  unsigned n;
  uint32_t w[32];
} image[] = {
    /* start_c */
    {0x10000,
     5,
     {
         0xd2800000, /* mov x0, #0x0 */
         0x9400003f, /* bl 10100 <run100c> */
         0xb9000083, /* str w3, [x4] */
         0x9400003d, /* bl 10100 <run100c> */
         0xd4000001, /* svc #0x0 */
     }},
    /* start_s */
    {0x10040,
     5,
     {
         0xd2800000, /* mov x0, #0x0 */
         0x9400003f, /* bl 10140 <run100s> */
         0xb9000083, /* str w3, [x4] */
         0x9400003d, /* bl 10140 <run100s> */
         0xd4000001, /* svc #0x0 */
     }},
    /* start_ivau */
    {0x10080,
     6,
     {
         0xd2800000, /* mov x0, #0x0 */
         0x9400001f, /* bl 10100 <run100c> */
         0xd4000021, /* svc #0x1 */
         0xd50b7524, /* ic ivau, x4 */
         0x9400001c, /* bl 10100 <run100c> */
         0xd4000001, /* svc #0x0 */
     }},
    /* run100c */
    {0x10100,
     6,
     {
         0xaa1e03e6, /* mov x6, x30 */
         0xd2800c81, /* mov x1, #0x64 */
         0x940003be, /* bl 11000 <fc> */
         0xf1000421, /* subs x1, x1, #0x1 */
         0x54ffffc1, /* b.ne 10108 <run100c+0x8> */
         0xd65f00c0, /* ret x6 */
     }},
    /* run100s */
    {0x10140,
     6,
     {
         0xaa1e03e6, /* mov x6, x30 */
         0xd2800c81, /* mov x1, #0x64 */
         0x9400002e, /* bl 10200 <fs> */
         0xf1000421, /* subs x1, x1, #0x1 */
         0x54ffffc1, /* b.ne 10148 <run100s+0x8> */
         0xd65f00c0, /* ret x6 */
     }},
    /* fs */
    {0x10200,
     2,
     {
         0x91000400, /* add x0, x0, #0x1 */
         0xd65f03c0, /* ret */
     }},
    /* start_alt */
    {0x10300,
     5,
     {
         0xd2800000, /* mov x0, #0x0 */
         0x9400000f, /* bl 10340 <runalt> */
         0xb9000083, /* str w3, [x4] */
         0x9400000d, /* bl 10340 <runalt> */
         0xd4000001, /* svc #0x0 */
     }},
    /* runalt */
    {0x10340,
     7,
     {
         0xaa1e03e6, /* mov x6, x30 */
         0xd2800c81, /* mov x1, #0x64 */
         0xca0800e7, /* eor x7, x7, x8 */
         0xd63f00e0, /* blr x7 */
         0xf1000421, /* subs x1, x1, #0x1 */
         0x54ffffa1, /* b.ne 10348 <runalt+0x8> */
         0xd65f00c0, /* ret x6 */
     }},
    /* start_req */
    {0x10400,
     4,
     {
         0xd2800000, /* mov x0, #0x0 */
         0xf9000120, /* str x0, [x9] */
         0x91000400, /* add x0, x0, #0x1 */
         0x17fffffe, /* b 10404 <start_req+0x4> */
     }},
    /* spin */
    {0x10440,
     2,
     {
         0x91000400, /* add x0, x0, #0x1 */
         0x17ffffff, /* b 10440 <spin> */
     }},
    /* start_flush */
    {0x10480,
     7,
     {
         0xd2800000, /* mov x0, #0x0 */
         0xd2800c81, /* mov x1, #0x64 */
         0x940002de, /* bl 11000 <fc> */
         0xf9000141, /* str x1, [x10] */
         0xf1000421, /* subs x1, x1, #0x1 */
         0x54ffffa1, /* b.ne 10488 <start_flush+0x8> */
         0xd4000001, /* svc #0x0 */
     }},
    /* start_sb: superblocks (chain.c): a B to the next block, a loop of
     * two blocks (L2: add; cbz, its fall-through L1: subs; b.hs L2)
     * whose CBZ leaves by a side exit, with NZCV of the SUBS the block
     * after it reads: 40 * 3 + 256 + 512 = 888 */
    {0x10800,
     13,
     {
         0xd2800000, /* mov x0, #0x0 */
         0xd2800501, /* mov x1, #0x28 */
         0x14000003, /* b 10814 <L1> */
         0x91000c00, /* L2: add x0, x0, #0x3 */
         0xb4000081, /* cbz x1, 10820 <sb_out> */
         0xf1000421, /* L1: subs x1, x1, #0x1 */
         0x54ffffa2, /* b.cs 1080c <L2> */
         0x91400400, /* add x0, x0, #0x1, lsl #12 */
         0x9a9f17e3, /* sb_out: cset x3, eq */
         0x8b032000, /* add x0, x0, x3, lsl #8 */
         0x9a9f37e3, /* cset x3, cs */
         0x8b032400, /* add x0, x0, x3, lsl #9 */
         0xd4000001, /* svc #0x0 */
     }},
    /* start_sb2: a superblock looping through its last branch's
     * fall-through (Q1: sub; cmp; b.ne Q0, then Q0: add; cbz x1, Qout,
     * falling through to Q1), whose inner B.NE leaves by a side exit
     * once (x1 == 7) with the CMP's flags only in the host flags, and
     * whose CBZ leaves with NZCV the block after it reads:
     * 25 * 2 + 0x100 + 0x1000 (lt) + 0 (hi) = 4402 */
    {0x10900,
     15,
     {
         0xd2800000, /* mov x0, #0x0 */
         0xd2800321, /* mov x1, #0x19 */
         0x14000003, /* b 10914 <Q1> */
         0x91000800, /* Q0: add x0, x0, #0x2 */
         0xb40000c1, /* cbz x1, 10928 <Qout> */
         0xd1000421, /* Q1: sub x1, x1, #0x1 */
         0xf1001c3f, /* cmp x1, #0x7 */
         0x54ffff81, /* b.ne 1090c <Q0> */
         0x91040000, /* add x0, x0, #0x100 */
         0x17fffffa, /* b 1090c <Q0> */
         0x9a9fa7e3, /* Qout: cset x3, lt */
         0x8b033000, /* add x0, x0, x3, lsl #12 */
         0x9a9f97e3, /* cset x3, hi */
         0x8b033400, /* add x0, x0, x3, lsl #13 */
         0xd4000001, /* svc #0x0 */
     }},
    /* fc */
    {0x11000,
     2,
     {
         0x91000400, /* add x0, x0, #0x1 */
         0xd65f03c0, /* ret */
     }},
    /* f1 */
    {0x12000,
     2,
     {
         0x91000400, /* add x0, x0, #0x1 */
         0xd65f03c0, /* ret */
     }},
    /* f3 */
    {0x13000,
     2,
     {
         0x91004000, /* add x0, x0, #0x10 */
         0xd65f03c0, /* ret */
     }},
    /* fc_alt */
    {0x14000,
     2,
     {
         0x91000800, /* add x0, x0, #0x2 */
         0xd65f03c0, /* ret */
     }},
    /* f2 */
    {0x16000,
     2,
     {
         0x91004000, /* add x0, x0, #0x10 */
         0xd65f03c0, /* ret */
     }},
    /* start_rec: 300 nested calls, each return folding its depth into
     * x3 (so the order of the returns shows) */
    {0x15000,
     5,
     {
         0xd2800003, /* mov x3, #0x0 */
         0xd2802580, /* mov x0, #0x12c */
         0x94000006, /* bl 15020 <rec> */
         0xaa0303e0, /* mov x0, x3 */
         0xd4000001, /* svc #0x0 */
     }},
    /* rec */
    {0x15020,
     9,
     {
         0xa9bf7be4, /* stp x4, x30, [sp, #-16]! */
         0xaa0003e4, /* mov x4, x0 */
         0xf1000400, /* subs x0, x0, #0x1 */
         0x54000040, /* b.eq 15034 <rec+0x14> */
         0x97fffffc, /* bl 15020 <rec> */
         0xa8c17be4, /* ldp x4, x30, [sp], #16 */
         0x8b030463, /* add x3, x3, x3, lsl #1 */
         0x8b040063, /* add x3, x3, x4 */
         0xd65f03c0, /* ret */
     }},
    /* start_lj: 20 times a setjmp (sp in x6, the landing in x7) and ten
     * nested calls of dive, the innermost returning to the landing
     * (X30 changed: longjmp) on odd x5, all of them returning (2 each,
     * 1000 for the outermost) on even x5; then a plain call (16) */
    {0x15100,
     28,
     {
         0xd2800003, /* mov x3, #0x0 */
         0xd2800285, /* mov x5, #0x14 */
         0x910003e6, /* mov x6, sp */
         0x10000087, /* adr x7, 1511c */
         0xd2800140, /* mov x0, #0xa */
         0x94000008, /* bl 15134 <dive> */
         0x910fa063, /* add x3, x3, #0x3e8 */
         0x91000463, /* add x3, x3, #0x1 */
         0x94000012, /* bl 15168 <leaf> */
         0xf10004a5, /* subs x5, x5, #0x1 */
         0x54ffff01, /* b.ne 15108 */
         0xaa0303e0, /* mov x0, x3 */
         0xd4000001, /* svc #0x0 */
         /* dive */
         0xa9bf7bfd, /* stp x29, x30, [sp, #-16]! */
         0xf1000400, /* subs x0, x0, #0x1 */
         0x540000a0, /* b.eq 15150 */
         0x97fffffd, /* bl 15134 <dive> */
         0xa8c17bfd, /* ldp x29, x30, [sp], #16 */
         0x91000863, /* add x3, x3, #0x2 */
         0xd65f03c0, /* ret */
         0x36000085, /* tbz w5, #0, 15160 */
         0x910000df, /* mov sp, x6 */
         0xaa0703fe, /* mov x30, x7 */
         0xd65f03c0, /* ret */
         0xa8c17bfd, /* ldp x29, x30, [sp], #16 */
         0xd65f03c0, /* ret */
         /* leaf */
         0x91004063, /* add x3, x3, #0x10 */
         0xd65f03c0, /* ret */
     }},
    /* h: one block storing x3 every time, at x4 (rewriting the insn
     * there) when x1 == 50, else into SCRATCH (x12) */
    {0x15200,
     4,
     {
         0xf100c83f, /* cmp x1, #0x32 */
         0x9a8c008b, /* csel x11, x4, x12, eq */
         0xb9000163, /* str w3, [x11] */
         0xd65f03c0, /* ret */
     }},
    /* g: one block storing x1 to FLUSH_PAGE every time (fc_action at
     * 50) */
    {0x15280,
     2,
     {
         0xf9000141, /* str x1, [x10] */
         0xd65f03c0, /* ret */
     }},
    /* start_deep: 5000 calls that never return, each followed by a
     * store to MMIO_PAGE (a sample of the host stack) */
    {0x15300,
     7,
     {
         0xd2827101, /* mov x1, #0x1388 */
         0x94000001, /* bl 15308 */
         0xf900013f, /* str xzr, [x9] */
         0xf1000421, /* subs x1, x1, #0x1 */
         0x54ffffa1, /* b.ne 15304 */
         0xd28000e0, /* mov x0, #0x7 */
         0xd4000001, /* svc #0x0 */
     }},
    /* start_rq: the 501st store to MMIO_PAGE (exit_request) in a callee */
    {0x15400,
     6,
     {
         0xd2800000, /* mov x0, #0x0 */
         0x94000003, /* bl 15410 <rq_f> */
         0x91000400, /* add x0, x0, #0x1 */
         0x17fffffe, /* b 15404 */
         /* rq_f */
         0xf9000120, /* str x0, [x9] */
         0xd65f03c0, /* ret */
     }},
    /* start_rc: a loop calling g; the return lands on the caller's page,
     * whose mapping g's store changes */
    {0x18000,
     7,
     {
         0xd2800000, /* mov x0, #0x0 */
         0xd2800c81, /* mov x1, #0x64 */
         0x97fff49e, /* bl 15280 <g> */
         0x91000400, /* add x0, x0, #0x1 */
         0xf1000421, /* subs x1, x1, #0x1 */
         0x54ffffa1, /* b.ne 18008 */
         0xd4000001, /* svc #0x0 */
     }},
    /* rc_alt: the same at 0x19000, but for the return's landing */
    {0x19000,
     7,
     {
         0xd2800000, /* mov x0, #0x0 */
         0xd2800c81, /* mov x1, #0x64 */
         0x97fff49e, /* bl 15280 <g> (from 0x18008) */
         0x91000800, /* add x0, x0, #0x2 */
         0xf1000421, /* subs x1, x1, #0x1 */
         0x54ffffa1, /* b.ne 18008 */
         0xd4000001, /* svc #0x0 */
     }},
    /* start_rw: a loop calling h, which rewrites the insn its return
     * lands on (x4 = 0x1a00c) */
    {0x1a000,
     7,
     {
         0xd2800000, /* mov x0, #0x0 */
         0xd2800c81, /* mov x1, #0x64 */
         0x97ffec7e, /* bl 15200 <h> */
         0x91000400, /* add x0, x0, #0x1 */
         0xf1000421, /* subs x1, x1, #0x1 */
         0x54ffffa1, /* b.ne 1a008 */
         0xd4000001, /* svc #0x0 */
     }},
};

enum {
  START_C = 0x10000,
  START_S = 0x10040,
  START_IVAU = 0x10080,
  START_ALT = 0x10300,
  START_REQ = 0x10400,
  START_SB = 0x10800,
  START_SB2 = 0x10900,
  SPIN = 0x10440,
  START_FLUSH = 0x10480,
  FS = 0x10200,
  F1 = 0x12000,
  F2 = 0x16000,
  F3 = 0x13000,
  START_REC = 0x15000,
  START_LJ = 0x15100,
  START_DEEP = 0x15300,
  START_RQ = 0x15400,
  START_RC = 0x18000,
  RC_ALT = 0x19000,
  START_RW = 0x1a000,
  RW_CONT = 0x1a00c,
  RC_CONT = 0x1800c,
  STACK_TOP = 0x1d000, /* the guest stack: 0x1b000..0x1d000 */
  SCRATCH = 0x1b000    /* data h writes to */
};
#define ADD_X0_256 0x91040000u /* add x0, x0, #0x100 */

enum mode { INTERP, JIT_DUAL, JIT_SINGLE, NMODES };
static const char *const mode_name[] = {"interp", "jit", "jit-single-map"};

static struct tv *new_cpu(enum mode m) {
  struct tv *t = aligned_alloc(4096, sizeof *t);
  assert_non_null(t);
  fc_changed = false;
  assert_int_equal(emu_cpu_init(&t->cpu, &ops, t), 0);
  t->cpu.r[EMU_SP] = STACK_TOP;
  t->cpu.r[12] = SCRATCH;
  memset(t->mem, 0, sizeof t->mem);
  for (size_t i = 0; i < sizeof image / sizeof *image; i++)
    memcpy(t->mem + (image[i].va - TV_BASE), image[i].w, 4 * image[i].n);
  if (m != INTERP) {
    vmk_error err = {0};
    assert_int_equal(
        emu_cpu_enable_jit(&t->cpu,
                           m == JIT_SINGLE ? EMU_CODE_BUF_SINGLE_MAP : 0, &err),
        0);
  }
  return t;
}
static void free_cpu(struct tv *t) {
  emu_cpu_destroy(&t->cpu);
  free(t);
}
/* Runs from pc to the SVC #0 with the given registers; returns x0. */
static uint64_t run_to_svc0(struct tv *t, uint64_t pc, uint64_t x3,
                            uint64_t x4) {
  struct emu_cpu *cpu = &t->cpu;
  cpu->pc = pc;
  cpu->r[3] = x3;
  cpu->r[4] = x4;
  cpu->r[7] = F1;
  cpu->r[8] = F1 ^ (x4 == F3 ? F3 : F2);
  cpu->r[10] = FLUSH_PAGE;
  for (;;) {
    assert_int_equal(emu_run(cpu, 0), EMU_EXIT_SVC);
    if (cpu->exit_imm == 0)
      return cpu->r[0];
  }
}

/* A BL whose exit is linked to fc / fs, then a guest store rewrites the
 * callee: the second round must run the new code (100 + 100 * 2). */
static void test_store_into_linked_block(void **state) {
  (void)state;
  for (enum mode m = 0; m < NMODES; m++) {
    for (int same = 0; same < 2; same++) {
      struct tv *t = new_cpu(m);
      uint64_t x0 =
          run_to_svc0(t, same ? START_S : START_C, ADD_X0_2, same ? FS : FC);
      if (x0 != 300)
        fail_msg("%s, callee on the %s page: x0 = %llu, want 300", mode_name[m],
                 same ? "same" : "other", (unsigned long long)x0);
      if (m != INTERP) {
        assert_true(t->cpu.jit->links > 0);
        assert_true(t->cpu.jit->unlinked > 0);
      }
      free_cpu(t);
    }
  }
}

/* The callee rewritten behind the soft TLB's back (a host write), then
 * IC IVAU on it: the linked BL must reach the new code. */
static void test_ic_ivau_linked_block(void **state) {
  (void)state;
  for (enum mode m = 0; m < NMODES; m++) {
    struct tv *t = new_cpu(m);
    struct emu_cpu *cpu = &t->cpu;
    cpu->pc = START_IVAU;
    cpu->r[4] = FC;
    assert_int_equal(emu_run(cpu, 0), EMU_EXIT_SVC);
    assert_int_equal(cpu->exit_imm, 1);
    assert_int_equal(cpu->r[0], 100);
    *word_at(t, FC) = ADD_X0_2;
    assert_int_equal(emu_run(cpu, 0), EMU_EXIT_SVC);
    assert_int_equal(cpu->exit_imm, 0);
    if (cpu->r[0] != 300)
      fail_msg("%s: x0 = %llu after IC IVAU, want 300", mode_name[m],
               (unsigned long long)cpu->r[0]);
    free_cpu(t);
  }
}

/* Every translation dropped (the host rewrote fc) in the middle of a
 * chain whose exits are linked into fc's old translation: the chain
 * stops, and the loop's last 49 calls run the new code (51 + 49 * 2). */
static void test_flush_stops_chain(void **state) {
  (void)state;
  for (enum mode m = 0; m < NMODES; m++) {
    struct tv *t = new_cpu(m);
    uint64_t x0 = run_to_svc0(t, START_FLUSH, 0, 0);
    if (x0 != 149)
      fail_msg("%s: x0 = %llu, want 149", mode_name[m], (unsigned long long)x0);
    free_cpu(t);
  }
}

/* The same, but fc's page now maps other code (fc_alt): the links into
 * fc's translation check the exec TLB and its host address, so the last
 * 49 calls run fc_alt. */
static void test_remap_under_linked_block(void **state) {
  (void)state;
  fc_action = FC_REMAP;
  for (enum mode m = 0; m < NMODES; m++) {
    struct tv *t = new_cpu(m);
    uint64_t x0 = run_to_svc0(t, START_FLUSH, 0, 0);
    if (x0 != 149)
      fail_msg("%s: x0 = %llu, want 149", mode_name[m], (unsigned long long)x0);
    free_cpu(t);
  }
  fc_action = FC_REWRITE;
}

/* fc's page no longer executable: the next call faults there. */
static void test_noexec_under_linked_block(void **state) {
  (void)state;
  fc_action = FC_NOEXEC;
  for (enum mode m = 0; m < NMODES; m++) {
    struct tv *t = new_cpu(m);
    t->cpu.pc = START_FLUSH;
    t->cpu.r[10] = FLUSH_PAGE;
    enum emu_exit e = emu_run(&t->cpu, 0);
    if (e != EMU_EXIT_FAULT || t->cpu.pc != FC || t->cpu.r[0] != 51)
      fail_msg("%s: exit %d at pc %#llx with x0 = %llu, want a fault at "
               "%#llx with 51",
               mode_name[m], e, (unsigned long long)t->cpu.pc,
               (unsigned long long)t->cpu.r[0], (unsigned long long)FC);
    free_cpu(t);
  }
  fc_action = FC_REWRITE;
}

/* One BLR alternating between f1 and f2, whose jump cache slots are the
 * same, then between f1 and f3 (slots of their own), the second of each
 * pair rewritten by a guest store after the first round: 50 * 1 + 50 *
 * 16, then 50 * 1 + 50 * 256 more. */
static void test_indirect_two_targets_and_changed_target(void **state) {
  (void)state;
  for (enum mode m = 0; m < NMODES; m++)
    for (int own = 0; own < 2; own++) {
      struct tv *t = new_cpu(m);
      uint64_t x0 = run_to_svc0(t, START_ALT, ADD_X0_256, own ? F3 : F2);
      if (x0 != 850 + 50 + 50 * 256)
        fail_msg("%s, %s slots: x0 = %llu, want %u", mode_name[m],
                 own ? "own" : "shared", (unsigned long long)x0,
                 850 + 50 + 50 * 256);
      if (m != INTERP)
        assert_true(t->cpu.jit->jc_fills > 0);
      free_cpu(t);
    }
}

/* The guest's 501st MMIO store sets exit_request in a loop whose block
 * is linked to itself by then: emu_run returns at the end of that block,
 * as the interpreter does (x0 = 501, the same icount). */
static void test_exit_request_at_next_block(void **state) {
  (void)state;
  uint64_t icount[NMODES];
  for (enum mode m = 0; m < NMODES; m++) {
    struct tv *t = new_cpu(m);
    struct emu_cpu *cpu = &t->cpu;
    cpu->pc = START_REQ;
    cpu->r[9] = MMIO_PAGE;
    assert_int_equal(emu_run(cpu, 0), EMU_EXIT_REQUEST);
    if (cpu->r[0] != 501)
      fail_msg("%s: x0 = %llu when the request was seen, want 501",
               mode_name[m], (unsigned long long)cpu->r[0]);
    assert_int_equal(cpu->pc, START_REQ + 4);
    icount[m] = cpu->icount;
    free_cpu(t);
  }
  assert_int_equal(icount[JIT_DUAL], icount[INTERP]);
  assert_int_equal(icount[JIT_SINGLE], icount[INTERP]);
}

static void *request_later(void *arg) {
  struct emu_cpu *cpu = arg;
  struct timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, NULL);
  emu_cpu_request_exit(cpu);
  return NULL;
}

/* A one-block loop chained to itself, stopped by another thread. */
static void test_exit_request_thread(void **state) {
  (void)state;
  for (enum mode m = JIT_DUAL; m < NMODES; m++) {
    struct tv *t = new_cpu(m);
    t->cpu.pc = SPIN;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, request_later, &t->cpu), 0);
    assert_int_equal(emu_run(&t->cpu, 0), EMU_EXIT_REQUEST);
    pthread_join(th, NULL);
    assert_true(t->cpu.r[0] > 0);
    assert_int_equal(t->cpu.icount, 2 * t->cpu.r[0]);
    free_cpu(t);
  }
}

/* Every program under budgets of many sizes: each emu_run returns at the
 * same point with the same icount, pc and x0 in every mode. */
struct step {
  enum emu_exit e;
  uint64_t icount, pc, x0;
};
static size_t record(enum mode m, uint64_t start, uint64_t budget,
                     struct step *s, size_t max) {
  struct tv *t = new_cpu(m);
  struct emu_cpu *cpu = &t->cpu;
  cpu->pc = start;
  cpu->r[3] = ADD_X0_2;
  cpu->r[4] = start == START_ALT  ? F2
              : start == START_S  ? FS
              : start == START_RW ? RW_CONT
                                  : FC;
  cpu->r[7] = F1;
  cpu->r[8] = F1 ^ F2;
  cpu->r[9] = MMIO_PAGE;
  cpu->r[10] = FLUSH_PAGE;
  size_t n = 0;
  while (n < max) {
    enum emu_exit e =
        emu_run(cpu, start == SPIN && budget == 0 ? 5000 : budget);
    s[n++] = (struct step){e, cpu->icount, cpu->pc, cpu->r[0]};
    if ((e == EMU_EXIT_SVC && cpu->exit_imm == 0) || e == EMU_EXIT_REQUEST ||
        (start == SPIN && cpu->icount >= 5000))
      break;
    if (start == START_IVAU && e == EMU_EXIT_SVC)
      *word_at(t, FC) = ADD_X0_2;
  }
  free_cpu(t);
  return n;
}
static void test_budget_and_icount_exact(void **state) {
  (void)state;
  static const uint64_t starts[] = {START_C,   START_S,  START_IVAU,  START_ALT,
                                    START_REQ, SPIN,     START_FLUSH, START_REC,
                                    START_LJ,  START_RQ, START_RW,    START_RC,
                                    START_SB,  START_SB2};
  static const uint64_t budgets[] = {0, 1, 2, 3, 5, 7, 13, 64, 100, 999};
  enum { MAX = 4000 };
  struct step *ref = calloc(MAX, sizeof *ref), *got = calloc(MAX, sizeof *got);
  assert_true(ref && got);
  for (size_t i = 0; i < sizeof starts / sizeof *starts; i++)
    for (size_t k = 0; k < sizeof budgets / sizeof *budgets; k++) {
      size_t n = record(INTERP, starts[i], budgets[k], ref, MAX);
      assert_true(n < MAX);
      for (enum mode m = JIT_DUAL; m < NMODES; m++) {
        size_t g = record(m, starts[i], budgets[k], got, MAX);
        for (size_t s = 0; s < n && s < g; s++)
          if (memcmp(&ref[s], &got[s], sizeof ref[s]))
            fail_msg(
                "%s, start %#llx, budget %llu, run %zu: exit %d icount "
                "%llu pc %#llx x0 %llu; interpreter: exit %d icount "
                "%llu pc %#llx x0 %llu",
                mode_name[m], (unsigned long long)starts[i],
                (unsigned long long)budgets[k], s, got[s].e,
                (unsigned long long)got[s].icount,
                (unsigned long long)got[s].pc, (unsigned long long)got[s].x0,
                ref[s].e, (unsigned long long)ref[s].icount,
                (unsigned long long)ref[s].pc, (unsigned long long)ref[s].x0);
        assert_int_equal(g, n);
      }
    }
  free(ref);
  free(got);
}

/* The return address stack (chain.h): 300 nested calls (more than its
 * depth: frames dropped on the way down, returns missing it on the way
 * up), and ten nested calls that return, or (every other time) end in a
 * longjmp (the innermost RET's target is not the top frame's, whose
 * return site the other times need), each followed by a plain call. */
static void test_ras_nested_and_longjmp(void **state) {
  (void)state;
  /* the return from depth d (innermost 1) restores its caller's x4:
   * d + 1, or x4 = 0 for the outermost */
  uint64_t want = 0;
  for (uint64_t d = 1; d <= 300; d++)
    want = 3 * want + (d < 300 ? d + 1 : 0);
  for (enum mode m = 0; m < NMODES; m++) {
    struct tv *t = new_cpu(m);
    uint64_t x0 = run_to_svc0(t, START_REC, 0, 0);
    if (x0 != want)
      fail_msg("%s, 300 nested calls: x0 = %#llx, want %#llx", mode_name[m],
               (unsigned long long)x0, (unsigned long long)want);
    assert_int_equal(t->cpu.r[EMU_SP], STACK_TOP);
    x0 = run_to_svc0(t, START_LJ, 0, 0);
    if (x0 != 10 * 17 + 10 * (1000 + 9 * 2 + 17))
      fail_msg("%s, longjmp: x0 = %llu, want %u", mode_name[m],
               (unsigned long long)x0, 10 * 17 + 10 * (1000 + 9 * 2 + 17));
    free_cpu(t);
  }
}

/* A return into code the callee rewrote (a guest store) after the call:
 * the last 50 of 100 returns run the new insn (50 + 50 * 256). */
static void test_ras_return_into_rewritten_code(void **state) {
  (void)state;
  for (enum mode m = 0; m < NMODES; m++) {
    struct tv *t = new_cpu(m);
    uint64_t x0 = run_to_svc0(t, START_RW, ADD_X0_256, RW_CONT);
    if (x0 != 50 + 50 * 256)
      fail_msg("%s: x0 = %llu, want %u", mode_name[m], (unsigned long long)x0,
               50 + 50 * 256);
    free_cpu(t);
  }
}

/* A return into the caller's page after the callee remapped it, switched
 * to an address space where it maps other code, or took its execute
 * permission away (the frame pushed before): 50 * 1 + 50 * 2, or a fault
 * at the return address. */
static void test_ras_return_into_changed_mapping(void **state) {
  (void)state;
  static const int actions[] = {FC_REMAP, FC_ASID, FC_NOEXEC};
  static const char *const action_name[] = {"remapped", "address space",
                                            "not executable"};
  fc_page = START_RC;
  fc_alt = RC_ALT;
  for (size_t a = 0; a < 3; a++) {
    fc_action = actions[a];
    for (enum mode m = 0; m < NMODES; m++) {
      struct tv *t = new_cpu(m);
      struct emu_cpu *cpu = &t->cpu;
      cpu->pc = START_RC;
      cpu->r[10] = FLUSH_PAGE;
      enum emu_exit e = emu_run(cpu, 0);
      if (fc_action == FC_NOEXEC) {
        if (e != EMU_EXIT_FAULT || cpu->pc != RC_CONT || cpu->r[0] != 50)
          fail_msg("%s, %s: exit %d at pc %#llx with x0 = %llu, want a "
                   "fault at %#llx with 50",
                   mode_name[m], action_name[a], e, (unsigned long long)cpu->pc,
                   (unsigned long long)cpu->r[0], (unsigned long long)RC_CONT);
      } else if (e != EMU_EXIT_SVC || cpu->r[0] != 150) {
        fail_msg("%s, %s: exit %d with x0 = %llu, want svc with 150",
                 mode_name[m], action_name[a], e,
                 (unsigned long long)cpu->r[0]);
      }
      free_cpu(t);
    }
  }
  fc_action = FC_REWRITE;
  fc_page = FC;
  fc_alt = FC_ALT;
}

/* 5000 calls that never return, in one chain: the return address stack
 * keeps at most EMU_JIT_RAS_DEPTH frames on the host stack (the deepest
 * MMIO store's host frame is near the chain's base, not 80 KiB below). */
static void test_ras_host_stack_bounded(void **state) {
  (void)state;
  for (enum mode m = JIT_DUAL; m < NMODES; m++) {
    struct tv *t = new_cpu(m);
    t->cpu.r[9] = MMIO_PAGE;
    stack_low = UINTPTR_MAX;
    assert_int_equal(run_to_svc0(t, START_DEEP, 0, 0), 7);
    assert_true(t->cpu.jit->ras);
    uint64_t base = t->cpu.jit_sp;
    if (stack_low > base || base - stack_low > 32 * 1024)
      fail_msg("%s: a helper's frame %lld bytes below the chain's base "
               "frame; want less than 32 KiB",
               mode_name[m], (long long)(base - stack_low));
    free_cpu(t);
  }
}

/* exit_request set by a store in a callee: emu_run returns at the
 * return address, with the interpreter's x0 and icount. */
static void test_ras_exit_request_in_callee(void **state) {
  (void)state;
  uint64_t icount[NMODES];
  for (enum mode m = 0; m < NMODES; m++) {
    struct tv *t = new_cpu(m);
    struct emu_cpu *cpu = &t->cpu;
    cpu->pc = START_RQ;
    cpu->r[9] = MMIO_PAGE;
    assert_int_equal(emu_run(cpu, 0), EMU_EXIT_REQUEST);
    if (cpu->r[0] != 500 || cpu->pc != START_RQ + 8)
      fail_msg("%s: x0 = %llu at pc %#llx when the request was seen, want "
               "500 at %#llx",
               mode_name[m], (unsigned long long)cpu->r[0],
               (unsigned long long)cpu->pc, (unsigned long long)(START_RQ + 8));
    icount[m] = cpu->icount;
    free_cpu(t);
  }
  assert_int_equal(icount[JIT_DUAL], icount[INTERP]);
  assert_int_equal(icount[JIT_SINGLE], icount[INTERP]);
}

/* Chains do not come back to the dispatcher after every block: the
 * whole of start_c (about 900 blocks) takes a few dozen translation
 * calls, most of them to link an exit the first time it is taken. */
static void test_chains_stay_in_translated_code(void **state) {
  (void)state;
  struct tv *t = new_cpu(JIT_DUAL);
  assert_int_equal(run_to_svc0(t, START_C, ADD_X0_2, FC), 300);
  struct emu_jit *j = t->cpu.jit;
  if (j->dispatches > 60)
    fail_msg("%llu returns to the dispatcher for ~900 blocks",
             (unsigned long long)j->dispatches);
  free_cpu(t);
}

/* Superblocks (chain.c: emu_jit_block): the loops of start_sb and
 * start_sb2 run as superblocks that loop in their translation, leave by
 * their side exits with the right NZCV and registers, and give the
 * interpreter's sums (their budget exits and icount: test_budget_and_
 * icount_exact); with superblocks off the same. */
static void test_superblocks(void **state) {
  (void)state;
  static const struct {
    uint64_t start, want;
  } progs[] = {{START_SB, 888}, {START_SB2, 4402}};
  for (size_t i = 0; i < sizeof progs / sizeof *progs; i++)
    for (enum mode m = INTERP; m < NMODES; m++)
      for (int off = 0; off < (m == INTERP ? 1 : 2); off++) {
        struct tv *t = new_cpu(m);
        if (t->cpu.jit)
          t->cpu.jit->no_super = off;
        uint64_t x0 = run_to_svc0(t, progs[i].start, 0, 0);
        if (x0 != progs[i].want)
          fail_msg("%s%s, start %#llx: x0 = %llu, want %llu", mode_name[m],
                   off ? " (no superblocks)" : "",
                   (unsigned long long)progs[i].start, (unsigned long long)x0,
                   (unsigned long long)progs[i].want);
        struct emu_jit *j = t->cpu.jit;
        if (j && !off) {
          /* the loops ran in their translations: a few dispatches */
          assert_true(j->supers >= 2);
          assert_true(j->super_blocks >= 2 * j->supers);
          if (j->dispatches > 12)
            fail_msg("%s, start %#llx: %llu returns to the dispatcher",
                     mode_name[m], (unsigned long long)progs[i].start,
                     (unsigned long long)j->dispatches);
          assert_int_equal(j->failed, 0);
        }
        if (j && off)
          assert_int_equal(j->supers, 0);
        free_cpu(t);
      }
}

/* The code region's bound reached while chains run: 2,000 linked
 * two-insn blocks (add x0, x0, #k; b .+4) looped over three times in the
 * smallest region (EMU_CODE_BUF_MIN) fill it several times; each time it
 * is flushed and the blocks are translated again, and the sum is the
 * interpreter's. */
#define BIG_VA 0x17000ull
#define BIG_N 2000u
static uint64_t run_big(enum mode m, uint64_t *flushes) {
  struct tv *t = new_cpu(INTERP);
  uint32_t *w = word_at(t, BIG_VA);
  for (unsigned i = 0; i < BIG_N; i++) {
    *w++ = 0x91000000u | ((i % 7 + 1) << 10); /* add x0, x0, #(i % 7 + 1) */
    *w++ = 0x14000001u;                       /* b .+4 */
  }
  *w++ = 0xf1000421u; /* subs x1, x1, #1 */
  int32_t back = -(int32_t)(2 * BIG_N + 1);
  *w++ = 0x54000001u | (((uint32_t)back & 0x7ffffu) << 5); /* b.ne BIG_VA */
  *w = 0xd4000001u;                                        /* svc #0 */
  vmk_error err = {0};
  if (m != INTERP)
    assert_int_equal(emu_jit_new(&t->cpu.jit, EMU_CODE_BUF_MIN,
                                 m == JIT_SINGLE ? EMU_CODE_BUF_SINGLE_MAP : 0,
                                 &err),
                     0);
  struct emu_cpu *cpu = &t->cpu;
  cpu->pc = BIG_VA;
  cpu->r[0] = 0;
  cpu->r[1] = 3;
  assert_int_equal(emu_run(cpu, 0), EMU_EXIT_SVC);
  assert_int_equal(cpu->exit_imm, 0);
  uint64_t x0 = cpu->r[0];
  *flushes = cpu->jit ? cpu->jit->cb.flushes : 0;
  if (cpu->jit)
    assert_int_equal(cpu->jit->failed, 0);
  free_cpu(t);
  return x0;
}
static void test_full_region_flushes_and_retranslates(void **state) {
  (void)state;
  uint64_t want = 0, flushes;
  for (unsigned i = 0; i < BIG_N; i++)
    want += 3 * (i % 7 + 1);
  for (enum mode m = 0; m < NMODES; m++) {
    uint64_t x0 = run_big(m, &flushes);
    if (x0 != want)
      fail_msg("%s: x0 = %llu, want %llu", mode_name[m], (unsigned long long)x0,
               (unsigned long long)want);
    if (m != INTERP && flushes < 2)
      fail_msg("%s: %llu flushes of the region; the test wants it full "
               "more than once",
               mode_name[m], (unsigned long long)flushes);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_region_flushes_and_retranslates),
      cmocka_unit_test(test_store_into_linked_block),
      cmocka_unit_test(test_ic_ivau_linked_block),
      cmocka_unit_test(test_flush_stops_chain),
      cmocka_unit_test(test_remap_under_linked_block),
      cmocka_unit_test(test_noexec_under_linked_block),
      cmocka_unit_test(test_indirect_two_targets_and_changed_target),
      cmocka_unit_test(test_exit_request_at_next_block),
      cmocka_unit_test(test_exit_request_thread),
      cmocka_unit_test(test_budget_and_icount_exact),
      cmocka_unit_test(test_superblocks),
      cmocka_unit_test(test_chains_stay_in_translated_code),
      cmocka_unit_test(test_ras_nested_and_longjmp),
      cmocka_unit_test(test_ras_return_into_rewritten_code),
      cmocka_unit_test(test_ras_return_into_changed_mapping),
      cmocka_unit_test(test_ras_host_stack_bounded),
      cmocka_unit_test(test_ras_exit_request_in_callee),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

#else
int main(void) {
  puts("SKIP: x86-64 hosts only");
  return 77;
}
#endif
