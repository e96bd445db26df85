/* test_jit_translate.c — the block translator (src/emu/jit/translate.c)
 * against the interpreter's semantics: random encodings of every op the
 * translator emits inline (and of the integer ops it calls helpers for)
 * run on random register/flag states (edge values mixed in) once through
 * emu_exec_helper and once as a translated block; registers, NZCV and pc
 * must be identical. With capstone, also prints the host instructions per
 * guest instruction of a few common sequences (issue 10, item 4).
 * x86-64 hosts only. Single-threaded (the cmocka thread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../emu_test_env.h"
#ifdef HAVE_CAPSTONE
#include <capstone/capstone.h>
#endif
#include "emu/block.h"
#include "emu/decode.h"
#include "emu/jit/chain.h"
#include "emu/jit/emit.h"
#include "emu/jit/translate.h"
#include "jit_test_map.h"

#if defined(__x86_64__)

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static uint64_t edge_value(void) {
  static const uint64_t e[] = {0,
                               1,
                               ~0ull,
                               0x8000000000000000ull,
                               0x7fffffffffffffffull,
                               0x80000000ull,
                               0x7fffffffull,
                               0xffffffffull,
                               0x100000000ull,
                               0xfffffffful << 32};
  unsigned k = (unsigned)(rnd() % 16);
  return k < 10 ? e[k] : rnd() >> (rnd() % 64);
}

static void random_state(struct emu_cpu *cpu) {
  for (unsigned i = 0; i < EMU_NREGS; i++)
    cpu->r[i] = edge_value();
  cpu->r[EMU_XZR] = 0;
  cpu->nzcv = (uint32_t)(rnd() & 15) << 28;
  cpu->pc = 0;
}

/* fixed bits (mask, value) of the encodings each template draws */
struct tmpl {
  const char *name;
  uint32_t mask, val;
};
static const struct tmpl inline_tmpls[] = {
    {"add/sub imm", 0x1f800000u, 0x11000000u},
    {"movn/movz", 0x1f800000u, 0x12800000u},
    {"adr/adrp", 0x1f000000u, 0x10000000u},
    {"logical shifted", 0x1f000000u, 0x0a000000u},
    {"add/sub shifted", 0x1f200000u, 0x0b000000u},
    {"b/bl", 0x7c000000u, 0x14000000u},
    {"cbz/cbnz", 0x7e000000u, 0x34000000u},
    {"tbz/tbnz", 0x7e000000u, 0x36000000u},
    {"b.cond", 0xff000010u, 0x54000000u},
    {"br/blr/ret", 0xff9ffc1fu, 0xd61f0000u},
    {"tbz/tbnz", 0x7e000000u, 0x36000000u},
    {"logical imm", 0x1f800000u, 0x12000000u},
    {"movk", 0x7f800000u, 0x72800000u},
    {"bitfield", 0x1f800000u, 0x13000000u},
    {"extr", 0x7fa00000u, 0x13800000u},
    {"add/sub extended", 0x1f200000u, 0x0b200000u},
    {"adc/sbc", 0x1fe0fc00u, 0x1a000000u},
    {"ccmp/ccmn", 0x3fe00410u, 0x3a400000u},
    {"csel/csinc/inv/neg", 0x3fe00800u, 0x1a800000u},
    {"div, shift by reg", 0x7fe0c000u, 0x1ac00000u},
    {"clz/cls/rbit/rev", 0x7fff0000u, 0x5ac00000u},
    {"madd/msub/mull/mulh", 0x1f000000u, 0x1b000000u},
};

static struct emu_jit *jit;

static int setup(void **state) {
  (void)state;
  return jtm_jit_new(&jit);
}
static int teardown(void **state) {
  (void)state;
  emu_jit_free(jit);
  return 0;
}

/* The registers but the sink: r[EMU_XSINK] is not architectural (the
 * translator drops writes to XZR). */
static bool regs_same(const uint64_t *a, const uint64_t *b) {
  return memcmp(a, b, EMU_XSINK * sizeof *a) == 0 &&
         memcmp(a + EMU_XSINK + 1, b + EMU_XSINK + 1,
                (EMU_NREGS - EMU_XSINK - 1) * sizeof *a) == 0;
}

/* Runs raw both ways on one random state; returns false if it does not
 * decode to something usable here. */
enum want { HELPER, INLINE, EITHER };
static bool check_one(uint32_t raw, enum want want, unsigned *inline_seen) {
  struct emu_insn blk[2];
  uint64_t pc = 0x400000 + (rnd() & 0xffffc);
  bool ends = emu_decode(&blk[0], raw, pc);
  const struct emu_insn *in = &blk[0];
  if (in->op >= EMU_OP_END_BLOCK || !emu_exec_helper[in->op])
    return false;
  /* no memory, no exceptions, no system state: run without an env */
  if (in->op >= EMU_OP_SVC && in->op <= EMU_OP_HLT)
    return false;
  if (in->op >= EMU_OP_WFI && in->op < EMU_OP_END_BLOCK &&
      in->op != EMU_OP_BR && in->op != EMU_OP_BLR && in->op != EMU_OP_RET)
    return false;
  if (want != EITHER && (want == INLINE) != emu_jit_inline_op(in))
    return false;
  unsigned count = 1;
  if (!ends) {
    blk[1] = (struct emu_insn){
        .pc = pc + 4, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
    count = 2;
  }
  static struct emu_cpu a, b;
  random_state(&a);
  a.pc = pc;
  b = a;
  emu_exec_helper[in->op](&a, in);
  if (!ends)
    a.pc = pc + 4;
  bool flushed;
  emu_jit_fn f = emu_jit_translate(jit, blk, count, &flushed);
  assert_non_null(f);
  f(&b);
  bool same = regs_same(a.r, b.r) && a.pc == b.pc && a.nzcv == b.nzcv;
  if (!same) {
    fprintf(stderr, "mismatch: %08x (%s)\n", raw, emu_op_name[in->op]);
    for (unsigned i = 0; i < EMU_NREGS; i++)
      if (a.r[i] != b.r[i])
        fprintf(stderr, "  r%u: helper %#llx jit %#llx\n", i,
                (unsigned long long)a.r[i], (unsigned long long)b.r[i]);
    fprintf(stderr, "  pc %#llx/%#llx nzcv %#x/%#x\n", (unsigned long long)a.pc,
            (unsigned long long)b.pc, a.nzcv, b.nzcv);
  }
  assert_true(same);
  inline_seen[in->op]++;
  return true;
}

#define CASES 20000u

static void test_inline_ops_match_helpers(void **state) {
  (void)state;
  unsigned seen[EMU_OP_COUNT] = {0};
  for (unsigned t = 0; t < sizeof inline_tmpls / sizeof *inline_tmpls; t++) {
    unsigned ok = 0;
    for (unsigned k = 0; k < 50 * CASES && ok < CASES; k++) {
      uint32_t raw =
          ((uint32_t)rnd() & ~inline_tmpls[t].mask) | inline_tmpls[t].val;
      ok += check_one(raw, INLINE, seen);
    }
    printf("%-20s %u cases\n", inline_tmpls[t].name, ok);
    assert_true(ok >= CASES);
  }
  /* every inline op (loads/stores: test_ldst_inline_vs_helper) was drawn
   * often, both widths where it has two */
  unsigned least = ~0u;
  for (unsigned op = 0; op < EMU_OP_COUNT; op++) {
    struct emu_insn probe = {.op = (uint16_t)op};
    if (op != EMU_OP_END_BLOCK && emu_jit_inline_op(&probe) &&
        !jit_ldst_inline(&probe) && !jit_sys_inline(&probe) &&
        !jit_excl_inline(&probe) &&
        op != EMU_OP_ISB && /* those: test_jit_sys.c */
        !emu_op_is_fp_scalar(op) && !emu_op_is_simd(op) &&
        !emu_op_is_simd_ldst(op)) { /* FP/SIMD: test_jit_fp.c */
      if (seen[op] < 200)
        fprintf(stderr, "inline op %s drawn %u times\n", emu_op_name[op],
                seen[op]);
      assert_true(seen[op] >= 200);
      least = seen[op] < least ? seen[op] : least;
    }
  }
  printf("every inline op drawn at least %u times\n", least);
}

/* All integer data processing, however each op is emitted (inline or as
 * a helper call: CRC32 stays one), drawn over the whole encoding space. */
static void test_helper_ops_match(void **state) {
  (void)state;
  unsigned seen[EMU_OP_COUNT] = {0}, ok = 0, helper = 0;
  for (unsigned k = 0; k < 400 * CASES && ok < 4 * CASES; k++) {
    /* data processing: op0 = x101 (register) or 100x (immediate) */
    uint32_t raw = (uint32_t)rnd();
    raw = (raw & ~0x0e000000u) | (k & 1 ? 0x0a000000u : 0x10000000u);
    ok += check_one(raw, EITHER, seen);
  }
  unsigned ops = 0;
  for (unsigned op = 0; op < EMU_OP_COUNT; op++) {
    struct emu_insn probe = {.op = (uint16_t)op};
    ops += seen[op] > 0;
    if (!emu_jit_inline_op(&probe))
      helper += seen[op];
  }
  printf("integer data processing: %u cases over %u ops (%u helper calls)\n",
         ok, ops, helper);
  assert_true(ok >= CASES && ops >= 40 && helper > 0);
}

/* A fault inside a translated block: the helper raises (longjmp out of the
 * translation), cpu->pc is the faulting insn's, earlier insns are done. */
static jmp_buf fault_jmp;
static void fault_exception(struct emu_cpu *cpu, enum emu_exit kind,
                            uint32_t syndrome, uint64_t addr) {
  (void)cpu, (void)kind, (void)syndrome, (void)addr;
}
static int fault_fill(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                      unsigned size) {
  (void)cpu, (void)va, (void)acc, (void)size;
  return -1;
}
static void test_fault_leaves_block(void **state) {
  (void)state;
  static const struct emu_env_ops env = {.tlb_fill = fault_fill,
                                         .exception = fault_exception};
  static struct emu_cpu cpu;
  assert_int_equal(emu_cpu_init(&cpu, &env, NULL), 0);
  /* add x1, x1, #1; ldr x2, [x3]; add x1, x1, #1; end */
  static const uint32_t code[] = {0x91000421u, 0xf9400062u, 0x91000421u};
  struct emu_insn blk[4];
  for (unsigned i = 0; i < 3; i++)
    emu_decode(&blk[i], code[i], 0x1000 + 4 * i);
  blk[3] = (struct emu_insn){
      .pc = 0x100c, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
  bool flushed;
  emu_jit_fn f = emu_jit_translate(jit, blk, 4, &flushed);
  assert_non_null(f);
  cpu.r[1] = 10;
  cpu.r[3] = 0x5000;
  cpu.exit_kind = EMU_EXIT_NONE;
  if (sigsetjmp(cpu.jmp, 0) == 0) {
    f(&cpu);
    fail_msg("the load did not fault");
  }
  (void)fault_jmp;
  assert_int_equal(cpu.exit_kind, EMU_EXIT_FAULT);
  assert_int_equal(cpu.pc, 0x1004);
  assert_int_equal(cpu.r[1], 11);
  assert_int_equal(cpu.exit_addr, 0x5000);
  emu_cpu_destroy(&cpu);
}

/* A block with a breakpoint check is left to the interpreter on purpose
 * (refused); an op the translator cannot emit is a bug, counted apart
 * (failed) so that `vmkit exec` under VMK_JIT_STRICT fails the run. */
static void test_refused_and_failed_counted(void **state) {
  (void)state;
  struct emu_insn blk[2];
  emu_decode(&blk[0], 0x91000421u, 0x1000); /* add x1, x1, #1 */
  blk[1] = (struct emu_insn){
      .pc = 0x1004, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
  uint64_t refused = jit->refused, failed = jit->failed;
  bool flushed;
  struct emu_insn bp = blk[0];
  bp.op = EMU_OP_BP_CHECK;
  struct emu_insn with_bp[3] = {bp, blk[0], blk[1]};
  assert_null(emu_jit_translate(jit, with_bp, 3, &flushed));
  assert_int_equal(jit->refused, refused + 1);
  assert_int_equal(jit->failed, failed);
  struct emu_insn bad = blk[0];
  bad.op = EMU_OP_COUNT;
  struct emu_insn with_bad[2] = {bad, blk[1]};
  assert_null(emu_jit_translate(jit, with_bad, 2, &flushed));
  assert_int_equal(jit->refused, refused + 1);
  assert_int_equal(jit->failed, failed + 1);
  assert_non_null(emu_jit_translate(jit, blk, 2, &flushed));
}

/* Loads and stores (helper calls in a translation) against the
 * interpreter's own handler of the same insn: registers and memory must
 * match. The handler is stopped after the insn by a next insn that
 * returns NULL. */
static EMU_HANDLER(h_stop) {
  (void)cpu, (void)in;
  return NULL;
}
static struct tv ta, tb;
static void test_ldst_match_handlers(void **state) {
  (void)state;
  assert_int_equal(emu_cpu_init(&ta.cpu, &tv_ops, &ta), 0);
  assert_int_equal(emu_cpu_init(&tb.cpu, &tv_ops, &tb), 0);
  unsigned seen[EMU_OP_COUNT] = {0}, ok = 0;
  for (unsigned k = 0; k < 200 * CASES && ok < CASES; k++) {
    /* loads and stores: op0 = x1x0 */
    uint32_t raw = ((uint32_t)rnd() & ~0x0a000000u) | 0x08000000u;
    struct emu_insn blk[2];
    bool ends = emu_decode(&blk[0], raw, TV_BASE);
    const struct emu_insn *in = &blk[0];
    if (ends || in->op < EMU_OP_PRFM_UIMM || in->op > EMU_OP_LDPSW ||
        in->op == EMU_OP_STTR || in->op == EMU_OP_LDTR ||
        in->op == EMU_OP_LDTRS || !emu_exec_helper[in->op])
      continue;
    for (unsigned j = 0; j < EMU_NREGS; j++)
      ta.cpu.r[j] = TV_DATA + (rnd() % 512) * 8 + (rnd() & 7);
    for (unsigned j = 0; j < 8; j++) /* index registers: small values */
      ta.cpu.r[rnd() % 31] = rnd() % 64;
    ta.cpu.r[EMU_XZR] = 0;
    for (unsigned m = TV_DATA - TV_BASE; m < TV_SIZE; m++)
      ta.mem[m] = (uint8_t)rnd();
    memcpy(tb.mem, ta.mem, TV_SIZE);
    memcpy(tb.cpu.r, ta.cpu.r, sizeof ta.cpu.r);
    ta.cpu.pc = tb.cpu.pc = TV_BASE;
    volatile bool faulted_a = false, faulted_b = false;
    if (sigsetjmp(ta.cpu.jmp, 0) == 0) {
      blk[1] = (struct emu_insn){.fn = h_stop};
      in->fn(&ta.cpu, in);
    } else {
      faulted_a = true;
    }
    blk[1] = (struct emu_insn){
        .pc = TV_BASE + 4, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
    bool flushed;
    emu_jit_fn f = emu_jit_translate(jit, blk, 2, &flushed);
    assert_non_null(f);
    if (sigsetjmp(tb.cpu.jmp, 0) == 0)
      f(&tb.cpu);
    else
      faulted_b = true;
    bool same = faulted_a == faulted_b &&
                memcmp(ta.cpu.r, tb.cpu.r, 32 * 8) == 0 &&
                ta.cpu.r[EMU_SP] == tb.cpu.r[EMU_SP] &&
                memcmp(ta.mem, tb.mem, TV_SIZE) == 0;
    if (!same) {
      fprintf(stderr, "mismatch: %08x (%s) fault %d/%d\n", raw,
              emu_op_name[in->op], faulted_a, faulted_b);
      for (unsigned j = 0; j < EMU_NREGS; j++)
        if (ta.cpu.r[j] != tb.cpu.r[j])
          fprintf(stderr, "  r%u: handler %#llx jit %#llx\n", j,
                  (unsigned long long)ta.cpu.r[j],
                  (unsigned long long)tb.cpu.r[j]);
    }
    assert_true(same);
    seen[in->op]++;
    ok++;
  }
  unsigned ops = 0;
  for (unsigned op = 0; op < EMU_OP_COUNT; op++)
    ops += seen[op] > 0;
  printf("loads/stores: %u cases over %u ops\n", ok, ops);
  assert_true(ok >= CASES / 2 && ops >= 15);
  emu_cpu_destroy(&ta.cpu);
  emu_cpu_destroy(&tb.cpu);
}

/* ---- loads/stores inline vs the interpreter's semantics, on a memory
 * map with every kind of page ---- */

/* A CPU on the test map (jit_test_map.h) with its own memory. */
struct mt {
  struct jtm_map map; /* first: env_opaque points here */
  struct emu_cpu cpu;
  _Alignas(4096) uint8_t mem[JTM_PAGES * 4096];
};
static const struct emu_env_ops mt_ops = {
    .tlb_fill = jtm_fill,
    .mmio_read = jtm_mmio_read,
    .mmio_write = jtm_mmio_write,
};

/* An address worth trying: near a page boundary (crossings), anywhere in
 * the map (unaligned too), or just outside it. */
static uint64_t mt_addr(void) {
  unsigned k = (unsigned)(rnd() % 8);
  if (k < 3)
    return JTM_BASE + 4096 * (rnd() % (JTM_PAGES + 1)) - 24 + rnd() % 40;
  if (k < 7)
    return JTM_BASE + rnd() % (JTM_PAGES * 4096);
  return k & 1 ? JTM_BASE - 1 - rnd() % 64
               : JTM_BASE + JTM_PAGES * 4096 + rnd() % 64;
}

/* The TLB as a running program may find it: empty, warm, or filled for
 * another ASID key (every lookup misses). The same on both CPUs. */
static void mt_tlb_state(struct mt *a, struct mt *b) {
  unsigned k = (unsigned)(rnd() % 6); /* 0: empty, 1: other key, else warm */
  a->cpu.tlb = a->cpu.tlb_views[0];
  b->cpu.tlb = b->cpu.tlb_views[0];
  emu_tlb_flush(&a->cpu);
  emu_tlb_flush(&b->cpu);
  a->cpu.tlb_key = b->cpu.tlb_key = (rnd() % 3) << EMU_TLB_KEY_SHIFT;
  if (k == 0)
    return;
  for (unsigned pg = 0; pg < JTM_PAGES; pg++)
    for (unsigned acc = 0; acc < 2; acc++) {
      uint64_t va = JTM_BASE + 4096 * pg;
      jtm_fill(&a->cpu, va, (enum emu_access)acc, 1);
      jtm_fill(&b->cpu, va, (enum emu_access)acc, 1);
    }
  if (k == 1) /* filled under another key */
    a->cpu.tlb_key = b->cpu.tlb_key = 3u << EMU_TLB_KEY_SHIFT;
  /* the other EL's view (system mode): only what was filled there hits */
  unsigned v = rnd() % 4 == 0;
  a->cpu.tlb = a->cpu.tlb_views[v];
  b->cpu.tlb = b->cpu.tlb_views[v];
}

/* JTM_CODE holds a decoded block (so its write tag is taken away), or not. */
static void mt_code_state(struct mt *t, bool code) {
  emu_flush_code(&t->cpu);
  if (code) {
    t->cpu.pc = JTM_BASE + 4096 * JTM_CODE;
    assert_non_null(emu_block_get(&t->cpu, t->cpu.pc));
  }
}

struct mt_result {
  bool faulted;
  enum emu_exit kind;
  uint64_t pc, addr;
  uint32_t syndrome;
};

static bool mt_same(const struct mt *a, const struct mt *b,
                    const struct mt_result *ra, const struct mt_result *rb) {
  if (ra->faulted != rb->faulted ||
      (ra->faulted && (ra->kind != rb->kind || ra->addr != rb->addr ||
                       ra->syndrome != rb->syndrome)))
    return false;
  if (ra->pc != rb->pc || !regs_same(a->cpu.r, b->cpu.r) ||
      memcmp(a->cpu.v, b->cpu.v, sizeof a->cpu.v) ||
      a->cpu.nzcv != b->cpu.nzcv || memcmp(a->mem, b->mem, sizeof a->mem) ||
      !jtm_mmio_same(&a->map, &b->map) ||
      a->cpu.stats.tlb_fills != b->cpu.stats.tlb_fills ||
      a->cpu.stats.code_page_drops != b->cpu.stats.code_page_drops)
    return false;
  for (unsigned v = 0; v < 2; v++)
    for (unsigned i = 0; i < EMU_TLB_SIZE; i++) {
      const struct emu_tlb_entry *x = &a->cpu.tlb_views[v][i],
                                 *y = &b->cpu.tlb_views[v][i];
      if (x->tag_read != y->tag_read || x->tag_write != y->tag_write ||
          x->tag_exec != y->tag_exec)
        return false;
    }
  return true;
}

static struct mt ma, mb;

/* What the interpreter does for one insn: its exec helper, or for FP/SIMD
 * its handler (returns in + 1, never chains). */
static void mt_interp(struct emu_cpu *cpu, const struct emu_insn *in) {
  if (emu_exec_helper[in->op])
    emu_exec_helper[in->op](cpu, in);
  else
    in->fn(cpu, in);
}

/* Runs blk[0..n) (the last one ends the block) on ma through the exec
 * helpers one by one, as the interpreter's semantics, and on mb as a
 * translation. */
static void mt_run(const struct emu_insn *blk, unsigned n, struct mt_result *ra,
                   struct mt_result *rb) {
  static volatile unsigned i;
  *ra = (struct mt_result){0};
  *rb = (struct mt_result){0};
  ma.cpu.pc = mb.cpu.pc = blk[0].pc;
  if (sigsetjmp(ma.cpu.jmp, 0) == 0) {
    for (i = 0; i + 1 < n; i++)
      mt_interp(&ma.cpu, &blk[i]);
    ma.cpu.pc = blk[n - 1].pc;
  } else {
    ra->faulted = true;
  }
  bool flushed;
  emu_jit_fn f = emu_jit_translate(jit, blk, n, &flushed);
  assert_non_null(f);
  if (sigsetjmp(mb.cpu.jmp, 0) == 0)
    f(&mb.cpu);
  else
    rb->faulted = true;
  ra->pc = ma.cpu.pc, rb->pc = mb.cpu.pc;
  ra->kind = ma.cpu.exit_kind, rb->kind = mb.cpu.exit_kind;
  ra->addr = ma.cpu.exit_addr, rb->addr = mb.cpu.exit_addr;
  ra->syndrome = ma.cpu.exit_syndrome, rb->syndrome = mb.cpu.exit_syndrome;
}

/* One random load/store (any addressing form; exclusives and
 * unprivileged forms too, which stay helper calls; a third SIMD&FP ones,
 * structures included, which stay handler calls), or false. */
static bool mt_ldst_insn(struct emu_insn *o, uint64_t pc) {
  uint32_t raw = ((uint32_t)rnd() & ~0x0e000000u) | 0x08000000u;
  if (rnd() % 3 == 0) {
    raw |= 1u << 26; /* V: SIMD&FP */
    return !emu_decode(o, raw, pc) && emu_op_is_simd_ldst(o->op) && o->fn;
  }
  bool ends = emu_decode(o, raw, pc);
  return !ends && o->op >= EMU_OP_PRFM_UIMM && o->op <= EMU_OP_STLR &&
         emu_exec_helper[o->op];
}

static void mt_random_regs(void) {
  for (unsigned j = 0; j < EMU_NREGS; j++)
    ma.cpu.r[j] = rnd() % 4 ? mt_addr() : edge_value();
  for (unsigned j = 0; j < 3; j++) /* index registers: small, or negative */
    ma.cpu.r[rnd() % 31] = (uint64_t)(int64_t)(int)(rnd() % 256 - 128);
  ma.cpu.r[EMU_XZR] = 0;
  ma.cpu.nzcv = (uint32_t)(rnd() & 15) << 28;
  for (unsigned j = 0; j < 32; j++)
    ma.cpu.v[j].d[0] = rnd(), ma.cpu.v[j].d[1] = rnd();
  memcpy(mb.cpu.v, ma.cpu.v, sizeof ma.cpu.v);
  memcpy(mb.cpu.r, ma.cpu.r, sizeof ma.cpu.r);
  mb.cpu.nzcv = ma.cpu.nzcv;
}

static void mt_setup_pair(void) {
  ma.map.mem = ma.mem;
  mb.map.mem = mb.mem;
  assert_int_equal(emu_cpu_init(&ma.cpu, &mt_ops, &ma), 0);
  assert_int_equal(emu_cpu_init(&mb.cpu, &mt_ops, &mb), 0);
}

static void mt_fresh_case(void) {
  for (unsigned m = 0; m < sizeof ma.mem; m++)
    ma.mem[m] = (uint8_t)rnd();
  memset(ma.mem + 4096 * JTM_CODE, 0x1f, 64); /* nops: 0xd503201f */
  for (unsigned m = 0; m < 64; m += 4)
    memcpy(ma.mem + 4096 * JTM_CODE + m, "\x1f\x20\x03\xd5", 4);
  memcpy(mb.mem, ma.mem, sizeof ma.mem);
  jtm_mmio_clear(&ma.map);
  jtm_mmio_clear(&mb.map);
  bool code = rnd() % 4 == 0;
  mt_code_state(&ma, code);
  mt_code_state(&mb, code);
  mt_tlb_state(&ma, &mb);
  mt_random_regs();
}

static void mt_report(const struct emu_insn *blk, unsigned n,
                      const struct mt_result *ra, const struct mt_result *rb) {
  fprintf(stderr, "mismatch in a block of %u:", n);
  for (unsigned i = 0; i < n; i++)
    fprintf(stderr, " %08x (%s)", blk[i].raw, emu_op_name[blk[i].op]);
  fprintf(stderr,
          "\n  fault %d/%d kind %d/%d pc %#llx/%#llx addr %#llx/%#llx "
          "esr %#x/%#x fills %llu/%llu drops %llu/%llu mmio %u/%u\n",
          ra->faulted, rb->faulted, ra->kind, rb->kind,
          (unsigned long long)ra->pc, (unsigned long long)rb->pc,
          (unsigned long long)ra->addr, (unsigned long long)rb->addr,
          ra->syndrome, rb->syndrome,
          (unsigned long long)ma.cpu.stats.tlb_fills,
          (unsigned long long)mb.cpu.stats.tlb_fills,
          (unsigned long long)ma.cpu.stats.code_page_drops,
          (unsigned long long)mb.cpu.stats.code_page_drops, ma.map.nmmio,
          mb.map.nmmio);
  if (ma.cpu.nzcv != mb.cpu.nzcv)
    fprintf(stderr, "  nzcv: helper %#x jit %#x\n", ma.cpu.nzcv, mb.cpu.nzcv);
  for (unsigned j = 0; j < EMU_NREGS; j++)
    if (ma.cpu.r[j] != mb.cpu.r[j])
      fprintf(stderr, "  r%u: helper %#llx jit %#llx\n", j,
              (unsigned long long)ma.cpu.r[j], (unsigned long long)mb.cpu.r[j]);
}

/* One load/store per block, 20,000 times: every addressing form on
 * random addresses (unaligned, crossing pages, outside the map), the TLB
 * empty, warm, keyed for another ASID or in the other EL's view (filled
 * in view 0, run in view 1), read-only, unmapped, MMIO and
 * code pages. Registers, memory, MMIO accesses, the fault (kind, pc, FAR,
 * syndrome), TLB tags, TLB fills and code-page drops must all be the
 * interpreter's. */
static void test_ldst_inline_vs_helper(void **state) {
  (void)state;
  mt_setup_pair();
  unsigned seen[EMU_OP_COUNT] = {0}, ok = 0, faults = 0, mmio = 0, drops = 0,
           cross = 0, hits = 0, fp_inline = 0;
  uint64_t fills = 0;
  for (unsigned k = 0; k < 100 * CASES && ok < CASES; k++) {
    struct emu_insn blk[2];
    uint64_t pc = 0x400000 + 4 * (rnd() % 1024);
    if (!mt_ldst_insn(&blk[0], pc))
      continue;
    blk[1] = (struct emu_insn){
        .pc = pc + 4, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
    mt_fresh_case();
    uint64_t f0 = ma.cpu.stats.tlb_fills, d0 = ma.cpu.stats.code_page_drops;
    struct mt_result ra, rb;
    mt_run(blk, 2, &ra, &rb);
    bool same = mt_same(&ma, &mb, &ra, &rb);
    if (!same)
      mt_report(blk, 2, &ra, &rb);
    assert_true(same);
    seen[blk[0].op]++;
    ok++;
    hits += !ra.faulted && ma.cpu.stats.tlb_fills == f0 && !ma.map.nmmio;
    fp_inline += emu_op_is_simd_ldst(blk[0].op) && jit_ldst_inline(&blk[0]);
    faults += ra.faulted;
    mmio += ma.map.nmmio > 0;
    drops += ma.cpu.stats.code_page_drops != d0;
    fills += ma.cpu.stats.tlb_fills - f0;
    cross += ma.cpu.stats.tlb_fills - f0 > 1;
  }
  unsigned ops = 0, inl = 0;
  for (unsigned op = 0; op < EMU_OP_COUNT; op++) {
    struct emu_insn probe = {.op = (uint16_t)op};
    ops += seen[op] > 0;
    inl += seen[op] > 0 && jit_ldst_inline(&probe);
  }
  printf("loads/stores vs helper: %u cases over %u ops (%u integer ops "
         "inline, %u inline SIMD&FP cases); %u TLB hits, %u faults, %u with "
         "MMIO writes, %u code-page drops, %llu TLB fills, %u cases with "
         "more than one\n",
         ok, ops, inl, fp_inline, hits, faults, mmio, drops,
         (unsigned long long)fills, cross);
  assert_true(ok >= CASES && inl >= 20 && fp_inline > 1000 && hits > 1000 &&
              faults > 100 && mmio > 10 && drops > 10 && cross > 100);
}

/* Blocks of 2-8 random loads/stores and data-processing insns: a fault
 * anywhere leaves pc, registers and memory as the interpreter's
 * semantics run one after another leave them. */
static void test_blocks_fault_midway(void **state) {
  (void)state;
  unsigned ok = 0, faults = 0, mid = 0;
  for (unsigned k = 0; ok < CASES / 4; k++) {
    struct emu_insn blk[10];
    unsigned n = 1 + (unsigned)(rnd() % 7), i = 0;
    uint64_t pc = 0x400000 + 4 * (rnd() % 1024);
    while (i < n) {
      struct emu_insn *o = &blk[i];
      if (rnd() % 2) {
        if (!mt_ldst_insn(o, pc + 4 * i))
          continue;
      } else {
        uint32_t raw = (uint32_t)rnd();
        raw = (raw & ~0x0e000000u) | (rnd() & 1 ? 0x0a000000u : 0x10000000u);
        if (emu_decode(o, raw, pc + 4 * i) || o->op >= EMU_OP_END_BLOCK ||
            !emu_exec_helper[o->op])
          continue;
      }
      i++;
    }
    blk[n] = (struct emu_insn){
        .pc = pc + 4 * n, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
    mt_fresh_case();
    struct mt_result ra, rb;
    mt_run(blk, n + 1, &ra, &rb);
    bool same = mt_same(&ma, &mb, &ra, &rb);
    if (!same)
      mt_report(blk, n + 1, &ra, &rb);
    assert_true(same);
    ok++;
    faults += ra.faulted;
    mid += ra.faulted && ra.pc != pc;
  }
  printf("blocks of 2-8 insns: %u, %u faulted (%u after the first insn)\n", ok,
         faults, mid);
  assert_true(faults > 100 && mid > 50);
  emu_cpu_destroy(&ma.cpu);
  emu_cpu_destroy(&mb.cpu);
}

/* ---- blocks that share registers (the register cache) ----
 * Caching bugs only show across insns: a value kept in a host register
 * and not written back before a helper reads *cpu, a host register not
 * reloaded after a helper wrote *cpu, a slow path's call finding stale
 * registers, a fault leaving dirty ones unwritten. So: blocks of 2-12
 * insns whose register fields all come from a pool of 2-12 registers
 * (XZR/SP among them), drawn from the inline templates (flag producers
 * and consumers at every distance), loads/stores (faulting ones too),
 * helper calls (CRC32) and handler calls that move X registers to and
 * from V registers (FMOV), ending in END_BLOCK or a conditional branch;
 * everything compared with the interpreter's semantics run insn by insn. */
static const struct tmpl rc_helper_tmpls[] = {
    {"crc32", 0xffe0f000u, 0x1ac04000u},
    {"fmov x, d", 0xfffffc00u, 0x9e660000u},
    {"fmov d, x", 0xfffffc00u, 0x9e670000u},
};

/* NZCV setters and readers, drawn often so that they meet at every
 * distance (flags.c: a store skipped when dead, the host flags passed on) */
static const struct tmpl rc_flag_tmpls[] = {
    {"adds/subs imm", 0x3f800000u, 0x31000000u},
    {"adds/subs shifted", 0x3f200000u, 0x2b000000u},
    {"ands shifted", 0x7f000000u, 0x6a000000u},
    {"ands imm", 0x7f800000u, 0x72000000u},
    {"ccmp/ccmn", 0x3fe00410u, 0x3a400000u},
    {"csel/csinc/inv/neg", 0x3fe00800u, 0x1a800000u},
    {"adc/sbc", 0x1fe0fc00u, 0x1a000000u},
};

static unsigned rc_pool[12], rc_npool;

static uint32_t rc_regs(uint32_t raw, bool ra) {
  raw = (raw & ~0x1fu) | rc_pool[rnd() % rc_npool];
  raw = (raw & ~(0x1fu << 5)) | rc_pool[rnd() % rc_npool] << 5;
  raw = (raw & ~(0x1fu << 16)) | rc_pool[rnd() % rc_npool] << 16;
  if (ra)
    raw = (raw & ~(0x1fu << 10)) | rc_pool[rnd() % rc_npool] << 10;
  return raw;
}

/* One insn of a block (not its end), or false. */
static bool rc_insn(struct emu_insn *o, uint64_t pc) {
  unsigned k = (unsigned)(rnd() % 10);
  uint32_t raw = (uint32_t)rnd();
  if (k >= 8) {
    const struct tmpl *t =
        &rc_flag_tmpls[rnd() % (sizeof rc_flag_tmpls / sizeof *rc_flag_tmpls)];
    raw = rc_regs((raw & ~t->mask) | t->val, false);
  } else if (k < 4) { /* an inline template; branches only end blocks */
    const struct tmpl *t =
        &inline_tmpls[rnd() % (sizeof inline_tmpls / sizeof *inline_tmpls)];
    raw = rc_regs((raw & ~t->mask) | t->val, rnd() % 2);
  } else if (k < 6) { /* a load or store */
    raw = rc_regs((raw & ~0x0e000000u) | 0x08000000u, rnd() % 2);
    if (rnd() % 4 == 0)
      raw |= 1u << 26;
  } else if (k == 6) {
    const struct tmpl *t = &rc_helper_tmpls[rnd() % 3];
    raw = rc_regs((raw & ~t->mask) | t->val, false);
  } else { /* any data processing */
    raw =
        rc_regs((raw & ~0x0e000000u) | (rnd() & 1 ? 0x0a000000u : 0x10000000u),
                rnd() % 2);
  }
  if (emu_decode(o, raw, pc))
    return false;
  if (emu_op_is_simd_ldst(o->op) || emu_op_is_fp_scalar(o->op))
    return o->fn != NULL;
  if (o->op >= EMU_OP_END_BLOCK || !emu_exec_helper[o->op])
    return false;
  if (o->op >= EMU_OP_SVC && o->op <= EMU_OP_HLT)
    return false;
  return !(o->op >= EMU_OP_WFI && o->op < EMU_OP_END_BLOCK);
}

/* The block's end: END_BLOCK, or a conditional branch on pool registers
 * or flags, a third of them back to the block's start (a loop, which the
 * translation may run without leaving). */
static void rc_end(struct emu_insn *o, uint64_t pc, uint64_t start) {
  static const struct tmpl ends[] = {
      {"b.cond", 0xff000010u, 0x54000000u},
      {"cbz/cbnz", 0x7e000000u, 0x34000000u},
      {"tbz/tbnz", 0x7e000000u, 0x36000000u},
  };
  unsigned k = (unsigned)(rnd() % 4);
  if (k < 3) {
    uint32_t raw = ((uint32_t)rnd() & ~ends[k].mask) | ends[k].val;
    raw = (raw & ~0x1fu) | rc_pool[rnd() % rc_npool];
    if (k == 0)
      raw &= ~0x10u;
    if (emu_decode(o, raw, pc) && emu_jit_chain_exit_op(o)) {
      if (rnd() % 3 == 0)
        o->imm = start;
      return;
    }
  }
  *o = (struct emu_insn){
      .pc = pc, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
}

/* As mt_run, but the last insn may be a branch, which the interpreter's
 * side runs too, and a block that branches back to its start runs again,
 * up to iters times: on the translation's side as the dispatcher would
 * (entered again while pc is the start), with the icount budget
 * (jit_end) of iters runs, which a translated loop checks itself. */
static unsigned rc_run(const struct emu_insn *blk, unsigned n, unsigned iters,
                       struct mt_result *ra, struct mt_result *rb) {
  static volatile unsigned i, k;
  *ra = (struct mt_result){0};
  *rb = (struct mt_result){0};
  ma.cpu.pc = mb.cpu.pc = blk[0].pc;
  if (sigsetjmp(ma.cpu.jmp, 0) == 0) {
    for (k = 0; k < iters && ma.cpu.pc == blk[0].pc; k++) {
      for (i = 0; i + 1 < n; i++)
        mt_interp(&ma.cpu, &blk[i]);
      if (blk[n - 1].op == EMU_OP_END_BLOCK)
        ma.cpu.pc = blk[n - 1].pc;
      else
        emu_exec_helper[blk[n - 1].op](&ma.cpu, &blk[n - 1]);
    }
  } else {
    ra->faulted = true;
  }
  bool flushed;
  emu_jit_fn f = emu_jit_translate(jit, blk, n, &flushed);
  assert_non_null(f);
  unsigned per = blk[n - 1].op == EMU_OP_END_BLOCK ? n - 1 : n;
  uint64_t start = mb.cpu.icount;
  mb.cpu.jit_end = start + (uint64_t)per * iters;
  if (sigsetjmp(mb.cpu.jmp, 0) == 0) {
    while (mb.cpu.pc == blk[0].pc && mb.cpu.icount < mb.cpu.jit_end)
      f(&mb.cpu);
  } else {
    rb->faulted = true;
  }
  ra->pc = ma.cpu.pc, rb->pc = mb.cpu.pc;
  ra->kind = ma.cpu.exit_kind, rb->kind = mb.cpu.exit_kind;
  ra->addr = ma.cpu.exit_addr, rb->addr = mb.cpu.exit_addr;
  ra->syndrome = ma.cpu.exit_syndrome, rb->syndrome = mb.cpu.exit_syndrome;
  return k;
}

static void test_blocks_shared_regs(void **state) {
  (void)state;
  mt_setup_pair();
  unsigned ok = 0, faults = 0, late = 0, helpers = 0, branches = 0, loops = 0;
  for (unsigned k = 0; ok < 2 * CASES; k++) {
    struct emu_insn blk[13];
    rc_npool = 2 + (unsigned)(rnd() % 11);
    for (unsigned j = 0; j < rc_npool; j++)
      rc_pool[j] = rnd() % 4 == 0 ? 31 : (unsigned)(rnd() % 31);
    unsigned n = 1 + (unsigned)(rnd() % 11), i = 0, nh = 0;
    uint64_t pc = 0x400000 + 4 * (rnd() % 1024);
    while (i < n)
      if (rc_insn(&blk[i], pc + 4 * i)) {
        nh += !emu_jit_inline_op(&blk[i]);
        i++;
      }
    rc_end(&blk[n], pc + 4 * n, pc);
    mt_fresh_case();
    struct mt_result ra, rb;
    loops += rc_run(blk, n + 1, 1 + (unsigned)(rnd() % 4), &ra, &rb) > 1;
    bool same = mt_same(&ma, &mb, &ra, &rb);
    if (!same)
      mt_report(blk, n + 1, &ra, &rb);
    assert_true(same);
    ok++;
    faults += ra.faulted;
    late += ra.faulted && ra.pc >= pc + 8;
    helpers += nh > 0;
    branches += blk[n].op != EMU_OP_END_BLOCK;
  }
  printf("blocks sharing 2-12 registers: %u, %u faulted (%u after the second "
         "insn), %u with helper calls, %u ending in a branch, %u run more than "
         "once\n",
         ok, faults, late, helpers, branches, loops);
  assert_true(faults > 100 && late > 100 && helpers > 1000 && branches > 1000 &&
              loops > 1000);
  emu_cpu_destroy(&ma.cpu);
  emu_cpu_destroy(&mb.cpu);
}

/* A division and the MSUB taking its remainder (x - x / y * y, what
 * compilers make of %), up to three plain insns apart: the translator
 * emits the MSUB from the host divide's remainder (emit_dp.c,
 * jit_div_rem_pair) when the division's registers stay unchanged in
 * between, else on its own. Registers from a pool of 2-5, so that the
 * MSUB, the insns between and the division alias each other every way;
 * divisors of 0 and -1 and INT_MIN dividends are frequent. */
static uint32_t dr_reg(void) { return rc_pool[rnd() % rc_npool]; }

static void test_div_rem_pairs(void **state) {
  (void)state;
  mt_setup_pair();
  unsigned fused = 0, zero = 0, minus1 = 0, between = 0, plain = 0;
  for (unsigned k = 0; k < CASES; k++) {
    rc_npool = 2 + (unsigned)(rnd() % 4);
    for (unsigned j = 0; j < rc_npool; j++)
      rc_pool[j] = (unsigned)(rnd() % 8);
    uint32_t sf = rnd() % 3 ? 1u << 31 : 0;
    uint32_t q = dr_reg(), n = dr_reg(), m = dr_reg();
    if (rnd() % 4 && (q == n || q == m)) /* mostly a pair the rule takes */
      q = 8 + (unsigned)(rnd() % 4);
    struct emu_insn blk[8];
    uint64_t pc = 0x400000 + 4 * (rnd() % 1024);
    unsigned c = 0;
    uint32_t div =
        (rnd() % 2 ? 0x1ac00c00u : 0x1ac00800u) | sf | m << 16 | n << 5 | q;
    assert_false(emu_decode(&blk[c], div, pc));
    c++;
    unsigned nb = (unsigned)(rnd() % 4);
    for (unsigned j = 0; j < nb; j++) {
      static const uint32_t plain_ops[4] = {
          0xaa0003e0u, /* mov xd, xm */
          0x91000400u, /* add xd, xn, #1 */
          0xca000000u, /* eor xd, xn, xm */
          0xd2800540u, /* movz xd, #42 */
      };
      uint32_t raw = plain_ops[rnd() % 4] | dr_reg() | dr_reg() << 16;
      if ((raw & 0xff0003e0u) != 0xaa0003e0u && (raw >> 23) != 0x1a5)
        raw |= dr_reg() << 5;
      assert_false(emu_decode(&blk[c], raw, pc + 4 * c));
      c++;
    }
    bool swap = rnd() % 2;
    uint32_t a = rnd() % 8 ? n : dr_reg();
    uint32_t msf = rnd() % 8 ? sf : sf ^ 1u << 31;
    uint32_t msub = 0x1b008000u | msf | (swap ? q : m) << 16 | a << 10 |
                    (swap ? m : q) << 5 | dr_reg();
    assert_false(emu_decode(&blk[c], msub, pc + 4 * c));
    c++;
    blk[c] = (struct emu_insn){
        .pc = pc + 4 * c, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
    c++;
    mt_fresh_case();
    static const uint64_t divisors[] = {0, ~0ull, 0xffffffffull, 1, 7};
    static const uint64_t dividends[] = {0x8000000000000000ull, 0x80000000ull,
                                         0xffffffff80000000ull, 100, ~0ull};
    if (rnd() % 2)
      ma.cpu.r[m] = mb.cpu.r[m] = divisors[rnd() % 5];
    if (rnd() % 2)
      ma.cpu.r[n] = mb.cpu.r[n] = dividends[rnd() % 5];
    bool pair = jit_div_rem_pair(blk, c, 0) != 0;
    uint64_t dm = ma.cpu.r[m];
    struct mt_result ra, rb;
    rc_run(blk, c, 1, &ra, &rb);
    bool same = mt_same(&ma, &mb, &ra, &rb);
    if (!same)
      mt_report(blk, c, &ra, &rb);
    assert_true(same);
    fused += pair, plain += !pair;
    between += pair && nb > 0;
    zero += pair && (sf ? dm : (uint32_t)dm) == 0;
    minus1 += pair && (sf ? dm == ~0ull : (uint32_t)dm == 0xffffffffu);
  }
  printf("division/remainder blocks: %u fused (%u with insns between, %u by "
         "zero, %u by -1), %u not\n",
         fused, between, zero, minus1, plain);
  assert_true(fused > CASES / 8 && between > CASES / 20 && zero > 100 &&
              minus1 > 100 && plain > CASES / 8);
  emu_cpu_destroy(&ma.cpu);
  emu_cpu_destroy(&mb.cpu);
}

#ifdef HAVE_CAPSTONE
/* Host instructions per guest instruction for common sequences (issue 10
 * item 4): the translation decoded back, minus the same for a block of
 * only the end insn (prologue, epilogue, the pc store). Printed, and the
 * whole translation must decode. */
static size_t host_insns(const uint32_t *code, unsigned n, bool direct,
                         bool view, bool *ended) {
  struct emu_insn blk[8];
  unsigned c = 0;
  bool ends = false;
  for (unsigned i = 0; i < n; i++)
    ends = emu_decode(&blk[c++], code[i], 0x400000 + 4 * i);
  *ended = ends;
  if (!ends)
    blk[c++] = (struct emu_insn){
        .pc = 0x400000 + 4 * n, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
  uint8_t buf[4096];
  struct xe_buf b;
  xe_init(&b, buf, sizeof buf, 0x10000000);
  /* the same icount step for every block, so the empty block's overhead
   * is exactly what the others have besides their own insns */
  struct emu_jit_chain ch = {.pc = 0x400000, .n = 1, .direct = direct};
  if (view) /* the TLB view known, as emu_jit_block knows it */
    ch.tlb_view = (int32_t)offsetof(struct emu_cpu, tlb_views[1]);
  assert_int_equal(emu_jit_emit_chained(&b, blk, c, false, &ch, NULL, NULL), 0);
  assert_true(xe_ok(&b));
  csh h;
  assert_int_equal(cs_open(CS_ARCH_X86, CS_MODE_64, &h), CS_ERR_OK);
  cs_insn *ci;
  size_t k = cs_disasm(h, buf, b.len, 0x10000000, 0, &ci);
  size_t bytes = 0, nops = 0;
  for (size_t i = 0; i < k; i++) {
    bytes += ci[i].size;
    nops += strncmp(ci[i].mnemonic, "nop", 3) == 0; /* alignment padding */
  }
  assert_int_equal(bytes, b.len);
  cs_free(ci, k);
  cs_close(&h);
  return k - nops;
}
/* The tracked counts (JIT_COUNTS_FILE: "count name" lines; "~count" for
 * a block-ending sequence, whose count depends on how blocks are left,
 * so it is printed, not checked). */
static long tracked_count(const char *name, bool *info) {
  FILE *f = fopen(JIT_COUNTS_FILE, "r");
  assert_non_null(f);
  char line[160];
  long n = -1;
  while (fgets(line, sizeof line, f)) {
    char *p = line, *end;
    line[strcspn(line, "\n")] = 0;
    if (*p == '#' || !*p)
      continue;
    *info = *p == '~';
    p += *info;
    long v = strtol(p, &end, 10);
    while (*end == ' ')
      end++;
    if (strcmp(end, name) == 0) {
      n = v;
      break;
    }
  }
  fclose(f);
  if (n < 0)
    *info = false;
  return n;
}

static void test_host_insn_counts(void **state) {
  (void)state;
  static const struct {
    const char *name;
    uint32_t code[4];
    unsigned n;
  } seqs[] = {
      {"add x0, x0, #1", {0x91000400u}, 1},
      {"mov x0, x1", {0xaa0103e0u}, 1},
      {"add x0, x1, x2, lsl #3", {0x8b020c20u}, 1},
      {"add x2, x4, w2, sxtb #2", {0x8b228882u}, 1},
      {"cmp x1, x2; b.ne", {0xeb02003fu, 0x54000041u}, 2},
      {"subs w0, w0, #1; cbnz", {0x71000400u, 0x35000040u}, 2},
      {"subs x0, x0, #1", {0xf1000400u}, 1},
      {"ldr x0, [x1, #8]", {0xf9400420u}, 1},
      {"ldrb w0, [x1, x2]", {0x38626820u}, 1},
      {"ldr w0, [x1, w2, sxtw #2]", {0xb862d820u}, 1},
      {"str x0, [sp, #-16]!", {0xf81f0fe0u}, 1},
      {"ldp x29, x30, [sp], #16", {0xa8c17bfdu}, 1},
      {"stp x29, x30, [sp, #-32]!", {0xa9be7bfdu}, 1},
      {"ldr q0, [x1, #16]", {0x3dc00420u}, 1},
      {"stp d0, d1, [sp, #16]", {0x6d0107e0u}, 1},
      {"madd x0, x1, x2, x3", {0x9b020c20u}, 1},
      {"madd w5, w5, w12, w11; add w5, w5, #1", {0x1b0c2ca5u, 0x110004a5u}, 2},
      {"msub x1, x1, x9, x3; add x1, x1, #1", {0x9b098c21u, 0x91000421u}, 2},
      {"mul w0, w1, w2", {0x1b027c20u}, 1},
      {"udiv x0, x1, x2", {0x9ac20820u}, 1},
      {"sdiv w0, w1, w2", {0x1ac20c20u}, 1},
      {"udiv x3, x1, x0; msub x0, x3, x0, x1", {0x9ac00823u, 0x9b008460u}, 2},
      {"csel x0, x1, x2, ne", {0x9a821020u}, 1},
      {"cset w0, gt", {0x1a9fd7e0u}, 1},
      {"ccmp x0, #3, #4, ne", {0xfa431804u}, 1},
      {"lsr x0, x1, #3", {0xd343fc20u}, 1},
      {"ubfx w0, w1, #4, #8", {0x53042c20u}, 1},
      {"sxtw x0, w1", {0x93407c20u}, 1},
      {"lsl x0, x1, x2", {0x9ac22020u}, 1},
      {"lsr x17, x4, x17; add x0, x0, x17", {0x9ad12491u, 0x8b110000u}, 2},
      {"and x0, x1, #0xff", {0x92401c20u}, 1},
      {"movk x0, #1, lsl #16", {0xf2a00020u}, 1},
      {"clz x0, x1", {0xdac01020u}, 1},
      {"crc32b w0, w1, w2 (helper)", {0x1ac24020u}, 1},
      {"bl; (call)", {0x94000010u}, 1},
      {"ret", {0xd65f03c0u}, 1},
      {"tbnz x0, #40", {0xb7400040u}, 1},
      {"add x0, x0, x1; add x0, x0, x1", {0x8b010000u, 0x8b010000u}, 2},
      {"cmp x1, x2; cset w0, lt", {0xeb02003fu, 0x1a9fa7e0u}, 2},
      {"adds x0, x0, x1; adds x2, x2, x3", {0xab010000u, 0xab030042u}, 2},
      {"cmp x1, x2; ccmp x3, #1, #0, eq", {0xeb02003fu, 0xfa410860u}, 2},
      {"cmeq v0.16b, v1.16b, #0", {0x4e209820u}, 1},
      {"cmhi v0.4s, v1.4s, v2.4s", {0x6ea23420u}, 1},
      {"umaxp v0.16b, v1.16b, v1.16b", {0x6e21a420u}, 1},
      {"shrn v0.8b, v1.8h, #4", {0x0f0c8420u}, 1},
      {"dup v0.16b, w1", {0x4e010c20u}, 1},
      {"umov w0, v1.b[3]", {0x0e073c20u}, 1},
      {"bic v0.8h, #0xf0", {0x6f079600u}, 1},
      {"tbl v0.16b, {v1.16b}, v2.16b", {0x4e020020u}, 1},
      {"uminv b0, v1.16b", {0x6e31a820u}, 1},
      {"mul v0.16b, v1.16b, v2.16b", {0x4e229c20u}, 1},
      /* "(user)": translated for vmkit exec (emu_jit.direct's loads) */
      {"ldr x0, [x1, #8] (user)", {0xf9400420u}, 1},
      {"ldrb w0, [x1, x2] (user)", {0x38626820u}, 1},
      {"ldp x29, x30, [sp], #16 (user)", {0xa8c17bfdu}, 1},
      {"ldr q0, [x1, #16] (user)", {0x3dc00420u}, 1},
      {"str x0, [sp, #-16]! (user)", {0xf81f0fe0u}, 1},
      /* "(view)": the TLB view known (system mode's and user mode's
       * translations: emu_jit_chain.tlb_view) */
      {"ldr x0, [x1, #8] (view)", {0xf9400420u}, 1},
      {"str x0, [sp, #-16]! (view)", {0xf81f0fe0u}, 1},
      {"stp x29, x30, [sp, #-32]! (view)", {0xa9be7bfdu}, 1},
  };
  bool ended;
  size_t base = host_insns(NULL, 0, false, false, &ended);
  printf("host instructions per guest sequence (block overhead %zu; loads "
         "and stores include their 6-insn slow-path stub):\n",
         base);
  bool worse = false;
  for (unsigned i = 0; i < sizeof seqs / sizeof *seqs; i++) {
    bool info = false;
    bool direct = strstr(seqs[i].name, "(user)") != NULL;
    bool view = strstr(seqs[i].name, "(view)") != NULL;
    size_t k = host_insns(seqs[i].code, seqs[i].n, direct, view, &ended);
    assert_true(k > 0);
    /* a block ending in a branch has its exits instead of the plain
     * one: its count is the difference (informational, see above) */
    long got = (long)k - (long)base;
    long want = tracked_count(seqs[i].name, &info);
    printf("  %-30s %3ld host insns for %u guest insn(s) (tracked: %s%ld)\n",
           seqs[i].name, got, seqs[i].n, info ? "~" : "", want);
    if (want < 0) {
      fprintf(stderr, "\"%s\" is not in %s: add it\n", seqs[i].name,
              JIT_COUNTS_FILE);
      worse = true;
    } else if (!info && got > want) {
      fprintf(stderr,
              "\"%s\" takes %ld host instructions, %ld before: a regression, "
              "or, if intended, a new count for %s\n",
              seqs[i].name, got, want, JIT_COUNTS_FILE);
      worse = true;
    }
  }
  assert_false(worse);
}
#endif

int main(void) {
  const struct CMUnitTest tests[] = {
#ifdef HAVE_CAPSTONE
      cmocka_unit_test(test_host_insn_counts),
#endif
      cmocka_unit_test(test_ldst_match_handlers),
      cmocka_unit_test(test_ldst_inline_vs_helper),
      cmocka_unit_test(test_blocks_fault_midway),
      cmocka_unit_test(test_blocks_shared_regs),
      cmocka_unit_test(test_div_rem_pairs),
      cmocka_unit_test(test_inline_ops_match_helpers),
      cmocka_unit_test(test_helper_ops_match),
      cmocka_unit_test(test_fault_leaves_block),
      cmocka_unit_test(test_refused_and_failed_counted),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

#else
int main(void) {
  puts("SKIP: x86-64 hosts only");
  return 77;
}
#endif
