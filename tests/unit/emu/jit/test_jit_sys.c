/* test_jit_sys.c — the system instructions, exclusives and
 * acquire/release the translator emits inline (src/emu/jit/emit_sys.c,
 * emit_excl.c; ISB: chain.c) against the interpreter's semantics (their exec
 * helpers): random blocks of them on random registers, exclusive-monitor states
 * and memory maps (read-write, read-only, unmapped, MMIO and code pages;
 * the TLB empty, warm or keyed for another ASID), with MRS's fast
 * registers readable or not and DC ZVA trapped or not. Registers, pc,
 * memory, the monitor, TPIDR_EL0, faults (kind, pc, FAR, syndrome), MMIO
 * accesses, TLB tags and fills, code-page drops must be the
 * interpreter's. Then an exclusive pair broken by another agent's store,
 * and two threads, each a CPU running translated LDXR/STXR loops on one
 * counter, whose total must be exact.
 * x86-64 hosts only. Single-threaded but for test_two_threads_count.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emu/block.h"
#include "emu/decode.h"
#include "emu/jit/emit.h"
#include "emu/jit/translate.h"
#include "emu/mem.h"
#include "jit_test_map.h"
#include "vmkit/vmkit.h"

#if defined(__x86_64__)

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* A CPU on the test map (jit_test_map.h), with the fast system registers
 * and DC ZVA's trap as system mode has them. */
struct env {
  struct jtm_map map; /* first: env_opaque points here; memory shared by
                         the two CPUs of the thread test */
  struct emu_cpu cpu;
  uint64_t sreg[EMU_FAST_SYSREGS]; /* SP_EL0, TPIDR_EL1, DAIF */
  bool sreg_ok;                    /* MRS of them allowed now */
  bool zva_ok;                     /* a trapped DC ZVA is allowed */
};

static int fast_of(uint32_t enc) {
  return enc == EMU_FAST_ENC_SP_EL0      ? EMU_FAST_SP_EL0
         : enc == EMU_FAST_ENC_TPIDR_EL1 ? EMU_FAST_TPIDR_EL1
         : enc == EMU_FAST_ENC_DAIF      ? EMU_FAST_DAIF
                                         : -1;
}
/* As system mode's: the fast registers when allowed, else UNDEFINED;
 * DC ZVA asks when trapped. */
static bool sysreg_read(struct emu_cpu *cpu, uint32_t enc, uint64_t *val) {
  struct env *t = cpu->env_opaque;
  int k = fast_of(enc);
  if (k < 0 || !t->sreg_ok)
    return false;
  *val = t->sreg[k];
  return true;
}
static bool sysreg_write(struct emu_cpu *cpu, uint32_t enc, uint64_t val) {
  (void)val;
  struct env *t = cpu->env_opaque;
  return enc == ((1u << 14) | (3u << 11) | (7u << 7) | (4u << 3) | 1u) &&
         t->zva_ok;
}
static const struct emu_env_ops ops = {
    .tlb_fill = jtm_fill,
    .mmio_read = jtm_mmio_read,
    .mmio_write = jtm_mmio_write,
    .sysreg_read = sysreg_read,
    .sysreg_write = sysreg_write,
};

static struct emu_jit *jit;
static _Alignas(4096) uint8_t mem_a[JTM_PAGES * 4096], mem_b[JTM_PAGES * 4096];
static struct env ea, eb;

static int setup(void **state) {
  (void)state;
  int r = jtm_jit_new(&jit);
  if (r == 0) {
    ea.map.mem = mem_a;
    eb.map.mem = mem_b;
    r = emu_cpu_init(&ea.cpu, &ops, &ea) || emu_cpu_init(&eb.cpu, &ops, &eb);
  }
  return r;
}
static int teardown(void **state) {
  (void)state;
  emu_cpu_destroy(&ea.cpu);
  emu_cpu_destroy(&eb.cpu);
  emu_jit_free(jit);
  return 0;
}

/* An address worth trying: in the map (aligned or not, near a page
 * end), or outside it. */
static uint64_t addr(void) {
  unsigned k = (unsigned)(rnd() % 8);
  uint64_t va = JTM_BASE + rnd() % (JTM_PAGES * 4096);
  if (k < 4)
    return va & ~(uint64_t)((1u << (rnd() % 7)) - 1);
  if (k < 6)
    return JTM_BASE + 4096 * (rnd() % (JTM_PAGES + 1)) - 16 + rnd() % 24;
  if (k == 6)
    return va;
  return rnd() & 1 ? JTM_BASE - 8 * (1 + rnd() % 8)
                   : JTM_BASE + JTM_PAGES * 4096 + 8;
}

/* The same random machine state on both CPUs. */
static void fresh_state(const struct emu_insn *blk, unsigned n) {
  for (unsigned m = 0; m < sizeof mem_a; m += 8) {
    uint64_t w = rnd() % 4 ? rnd() : 0;
    memcpy(mem_a + m, &w, 8);
  }
  memcpy(mem_b, mem_a, sizeof mem_a);
  struct emu_cpu *a = &ea.cpu;
  emu_flush_code(a);
  emu_flush_code(&eb.cpu);
  if (rnd() % 4 == 0) { /* CODE holds a block: stores there drop it */
    memcpy(mem_a + 4096 * JTM_CODE, "\x1f\x20\x03\xd5", 4);
    memcpy(mem_b + 4096 * JTM_CODE, "\x1f\x20\x03\xd5", 4);
    a->pc = eb.cpu.pc = JTM_BASE + 4096 * JTM_CODE;
    assert_non_null(emu_block_get(a, a->pc));
    assert_non_null(emu_block_get(&eb.cpu, a->pc));
  }
  /* TLB: empty, warm, or warm for another ASID key */
  unsigned k = (unsigned)(rnd() % 5);
  emu_tlb_flush(a);
  emu_tlb_flush(&eb.cpu);
  a->tlb = a->tlb_views[0];
  eb.cpu.tlb = eb.cpu.tlb_views[0];
  a->tlb_key = eb.cpu.tlb_key = (rnd() % 3) << EMU_TLB_KEY_SHIFT;
  if (k > 0)
    for (unsigned pg = 0; pg < JTM_PAGES; pg++)
      for (unsigned acc = 0; acc < 2; acc++) {
        jtm_fill(a, JTM_BASE + 4096 * pg, (enum emu_access)acc, 1);
        jtm_fill(&eb.cpu, JTM_BASE + 4096 * pg, (enum emu_access)acc, 1);
      }
  if (k == 1)
    a->tlb_key = eb.cpu.tlb_key = 3u << EMU_TLB_KEY_SHIFT;
  for (unsigned j = 0; j < EMU_NREGS; j++)
    a->r[j] = rnd() % 4 ? addr() : rnd();
  a->r[EMU_XZR] = 0;
  a->nzcv = (uint32_t)(rnd() & 15) << 28;
  a->tpidr_el0 = rnd();
  a->tpidrro_el0 = rnd();
  /* the monitor: open, or armed (at an insn's address or not, with the
   * value memory holds or not, with its size or another) */
  a->excl_size = 0;
  a->excl_addr = addr();
  a->excl_val[0] = rnd();
  a->excl_val[1] = rnd();
  const struct emu_insn *in = &blk[rnd() % n];
  for (unsigned i = 0; i < n; i++)
    if (blk[i].op >= EMU_OP_LDXR && blk[i].op <= EMU_OP_STLR) {
      in = &blk[i]; /* the first exclusive: often at a good address */
      if (rnd() % 2 && in->rn != EMU_XZR)
        a->r[in->rn] = JTM_BASE + 4096 * (rnd() % 3) + 8 * (rnd() % 512);
      break;
    }
  if (rnd() % 4) {
    a->excl_size = rnd() % 4 ? (in->a ? in->a : 8) : 1u << (rnd() % 4);
    if (rnd() % 4)
      a->excl_addr = a->r[in->rn];
    unsigned pg = jtm_page(a->excl_addr);
    if (pg < JTM_PAGES && rnd() % 4 &&
        a->excl_addr + a->excl_size <= JTM_BASE + JTM_PAGES * 4096ull) {
      a->excl_val[0] = 0;
      memcpy(&a->excl_val[0], mem_a + (a->excl_addr - JTM_BASE), a->excl_size);
    }
  }
  /* the fast registers: readable (EL1) or not; DC ZVA trapped or not */
  ea.sreg_ok = eb.sreg_ok = rnd() % 4 != 0;
  ea.zva_ok = eb.zva_ok = rnd() % 2;
  for (unsigned j = 0; j < EMU_FAST_SYSREGS; j++) {
    ea.sreg[j] = eb.sreg[j] = rnd();
    a->fast_sysreg[j] = ea.sreg_ok ? &ea.sreg[j] : NULL;
    eb.cpu.fast_sysreg[j] = eb.sreg_ok ? &eb.sreg[j] : NULL;
  }
  a->insn_traps = eb.cpu.insn_traps = rnd() % 3 == 0 ? EMU_TRAP_DC_ZVA : 0;
  jtm_mmio_clear(&ea.map);
  jtm_mmio_clear(&eb.map);
  /* copy the rest of the state over */
  memcpy(eb.cpu.r, a->r, sizeof a->r);
  eb.cpu.nzcv = a->nzcv;
  eb.cpu.tpidr_el0 = a->tpidr_el0;
  eb.cpu.tpidrro_el0 = a->tpidrro_el0;
  eb.cpu.excl_size = a->excl_size;
  eb.cpu.excl_addr = a->excl_addr;
  memcpy(eb.cpu.excl_val, a->excl_val, sizeof a->excl_val);
  a->stats.tlb_fills = eb.cpu.stats.tlb_fills = 0;
  a->stats.code_page_drops = eb.cpu.stats.code_page_drops = 0;
}

struct result {
  bool faulted;
};

/* blk[0..n) through the exec helpers on ea (pc: the END_BLOCK's, or
 * what the block-ending insn set), as a translation on eb. */
static void run_both(const struct emu_insn *blk, unsigned n, struct result *ra,
                     struct result *rb) {
  static volatile unsigned i;
  *ra = (struct result){0};
  *rb = (struct result){0};
  ea.cpu.pc = eb.cpu.pc = blk[0].pc;
  ea.cpu.exit_kind = eb.cpu.exit_kind = EMU_EXIT_NONE;
  ea.cpu.exit_addr = eb.cpu.exit_addr = 0;
  ea.cpu.exit_syndrome = eb.cpu.exit_syndrome = 0;
  if (sigsetjmp(ea.cpu.jmp, 0) == 0) {
    for (i = 0; i < n; i++) {
      if (blk[i].op == EMU_OP_END_BLOCK)
        ea.cpu.pc = blk[i].pc;
      else
        emu_exec_helper[blk[i].op](&ea.cpu, &blk[i]);
    }
  } else {
    ra->faulted = true;
  }
  bool flushed;
  emu_jit_fn f = emu_jit_translate(jit, blk, n, &flushed);
  assert_non_null(f);
  if (sigsetjmp(eb.cpu.jmp, 0) == 0)
    f(&eb.cpu);
  else
    rb->faulted = true;
}

/* The registers but the sink: r[EMU_XSINK] is not architectural (the
 * translator drops writes to XZR). */
static bool regs_same(const uint64_t *a, const uint64_t *b) {
  return memcmp(a, b, EMU_XSINK * sizeof *a) == 0 &&
         memcmp(a + EMU_XSINK + 1, b + EMU_XSINK + 1,
                (EMU_NREGS - EMU_XSINK - 1) * sizeof *a) == 0;
}

static bool same_state(const struct result *ra, const struct result *rb) {
  const struct emu_cpu *a = &ea.cpu, *b = &eb.cpu;
  if (ra->faulted != rb->faulted || a->exit_kind != b->exit_kind ||
      a->exit_addr != b->exit_addr || a->exit_syndrome != b->exit_syndrome ||
      a->pc != b->pc || !regs_same(a->r, b->r) || a->nzcv != b->nzcv ||
      a->tpidr_el0 != b->tpidr_el0 || a->excl_size != b->excl_size ||
      (a->excl_size &&
       (a->excl_addr != b->excl_addr ||
        memcmp(a->excl_val, b->excl_val, sizeof a->excl_val))) ||
      memcmp(mem_a, mem_b, sizeof mem_a) || !jtm_mmio_same(&ea.map, &eb.map) ||
      a->stats.tlb_fills != b->stats.tlb_fills ||
      a->stats.code_page_drops != b->stats.code_page_drops)
    return false;
  for (unsigned v = 0; v < 2; v++)
    for (unsigned i = 0; i < EMU_TLB_SIZE; i++) {
      const struct emu_tlb_entry *x = &a->tlb_views[v][i],
                                 *y = &b->tlb_views[v][i];
      if (x->tag_read != y->tag_read || x->tag_write != y->tag_write)
        return false;
    }
  return true;
}

static void report(const struct emu_insn *blk, unsigned n,
                   const struct result *ra, const struct result *rb) {
  const struct emu_cpu *a = &ea.cpu, *b = &eb.cpu;
  fprintf(stderr, "mismatch in a block of %u:", n);
  for (unsigned i = 0; i < n; i++)
    fprintf(stderr, " %08x (%s)", blk[i].raw, emu_op_name[blk[i].op]);
  fprintf(stderr,
          "\n  fault %d/%d kind %d/%d pc %#llx/%#llx far %#llx/%#llx esr "
          "%#x/%#x monitor %u@%#llx/%u@%#llx mmio %u/%u fills %llu/%llu "
          "memory %s\n",
          ra->faulted, rb->faulted, a->exit_kind, b->exit_kind,
          (unsigned long long)a->pc, (unsigned long long)b->pc,
          (unsigned long long)a->exit_addr, (unsigned long long)b->exit_addr,
          a->exit_syndrome, b->exit_syndrome, a->excl_size,
          (unsigned long long)a->excl_addr, b->excl_size,
          (unsigned long long)b->excl_addr, ea.map.nmmio, eb.map.nmmio,
          (unsigned long long)a->stats.tlb_fills,
          (unsigned long long)b->stats.tlb_fills,
          memcmp(mem_a, mem_b, sizeof mem_a) ? "differs" : "same");
  for (unsigned j = 0; j < EMU_NREGS; j++)
    if (a->r[j] != b->r[j])
      fprintf(stderr, "  r%u: helper %#llx jit %#llx\n", j,
              (unsigned long long)a->r[j], (unsigned long long)b->r[j]);
}

/* A register field: mostly one of a few, so that the insns of a block
 * share registers (and the translator holds them in host registers),
 * sometimes 31 (XZR or SP) or any. */
static uint32_t reg_field(void) {
  unsigned k = (unsigned)(rnd() % 8);
  return k < 6 ? k % 4 : k == 6 ? 31 : (uint32_t)(rnd() % 32);
}

/* One random insn of the families emitted here, or an ADD (immediate)
 * between them. */
static bool random_insn(struct emu_insn *o, uint64_t pc, bool last) {
  uint32_t rt = reg_field(), crm = (uint32_t)(rnd() % 16) << 8;
  uint32_t raw;
  switch (rnd() % 14) {
  case 0: /* hint space: NOP, YIELD, WFE, PACIASP, BTI, ... (not WFI) */
    raw = 0xd503201fu | (uint32_t)(rnd() % 128) << 5;
    break;
  case 1:
    raw = 0xd503305fu | crm; /* CLREX */
    break;
  case 2: /* DMB / DSB, every CRm */
    raw = (rnd() & 1 ? 0xd50330bfu : 0xd503309fu) | crm;
    break;
  case 3:
    if (!last)
      return false;
    raw = 0xd50330dfu | crm; /* ISB */
    break;
  case 4: { /* MRS SP_EL0 / TPIDR_EL1 / DAIF */
    static const uint32_t mrs[3] = {0xd5384100u, 0xd538d080u, 0xd53b4220u};
    raw = mrs[rnd() % 3] | rt;
    break;
  }
  case 5: { /* MRS/MSR TPIDR_EL0, MRS TPIDRRO_EL0 */
    static const uint32_t t0[3] = {0xd53bd040u, 0xd51bd040u, 0xd53bd060u};
    raw = t0[rnd() % 3] | rt;
    break;
  }
  case 6:
    raw = 0xd50b7420u | rt; /* DC ZVA */
    break;
  case 7: /* add xd, xn, #imm (a register the others use) */
    raw = 0x91000000u | (uint32_t)(rnd() % 4096) << 10 | reg_field() << 5 | rt;
    break;
  case 8: /* adds/subs xd, xn, #imm: NZCV, which a fault then saves */
    raw = (rnd() & 1 ? 0xb1000000u : 0xf1000000u) |
          (uint32_t)(rnd() % 4096) << 10 | reg_field() << 5 | rt;
    break;
  default: /* exclusives, acquire/release: op 001000 in bits 29..24 */
    raw = ((uint32_t)rnd() & 0xc0e08000u) | 0x08000000u | reg_field() << 16 |
          reg_field() << 10 | reg_field() << 5 | rt;
    break;
  }
  bool ends = emu_decode(o, raw, pc);
  if (ends != (o->op == EMU_OP_ISB))
    return false;
  switch (o->op) {
  case EMU_OP_LDXR:
  case EMU_OP_STXR:
  case EMU_OP_LDAR:
  case EMU_OP_STLR:
  case EMU_OP_LDXP: /* pairs: helper calls, mixed in */
  case EMU_OP_STXP:
  case EMU_OP_HINT:
  case EMU_OP_CLREX:
  case EMU_OP_DMB:
  case EMU_OP_DSB:
  case EMU_OP_ISB:
  case EMU_OP_MRS:
  case EMU_OP_MRS_TPIDR:
  case EMU_OP_MRS_TPIDRRO:
  case EMU_OP_MSR_TPIDR:
  case EMU_OP_DC_ZVA:
  case EMU_OP_ADD_IMM:
  case EMU_OP_ADDS_IMM:
  case EMU_OP_SUBS_IMM:
    return emu_exec_helper[o->op] != NULL;
  default:
    return false;
  }
}

#define CASES 30000u

static void test_inline_vs_helpers(void **state) {
  (void)state;
  unsigned seen[EMU_OP_COUNT] = {0}, inl[EMU_OP_COUNT] = {0};
  unsigned ok = 0, faults = 0, st_ok = 0, st_fail = 0, zeroed = 0;
  unsigned mrs_fast = 0, mrs_slow = 0;
  while (ok < CASES) {
    struct emu_insn blk[6];
    unsigned n = 1 + (unsigned)(rnd() % 5), i = 0;
    uint64_t pc = 0x400000 + 4 * (rnd() % 1024);
    while (i < n)
      i += random_insn(&blk[i], pc + 4 * i, i == n - 1);
    if (blk[n - 1].op != EMU_OP_ISB) {
      blk[n] = (struct emu_insn){
          .pc = pc + 4 * n, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
      n++;
    }
    fresh_state(blk, n);
    struct result ra, rb;
    run_both(blk, n, &ra, &rb);
    bool same = same_state(&ra, &rb);
    if (!same)
      report(blk, n, &ra, &rb);
    assert_true(same);
    ok++;
    faults += ra.faulted;
    for (i = 0; i < n; i++) {
      seen[blk[i].op]++;
      inl[blk[i].op] += emu_jit_inline_op(&blk[i]); /* ISB: chain.c's */
    }
    if (n == 2 && blk[0].op == EMU_OP_MRS) {
      mrs_fast += ea.sreg_ok;
      mrs_slow += !ea.sreg_ok;
    }
    if (n == 2 && !ra.faulted) { /* one insn: how it went */
      if (blk[0].op == EMU_OP_STXR && ea.cpu.r[blk[0].rm])
        st_fail++;
      else if (blk[0].op == EMU_OP_STXR)
        st_ok++;
      if (blk[0].op == EMU_OP_DC_ZVA && ea.map.nmmio == 0)
        zeroed++;
    }
  }
  printf("%u blocks, %u faulted; single STXR %u succeeded, %u failed; %u "
         "DC ZVA to RAM; MRS %u fast, %u slow\n",
         ok, faults, st_ok, st_fail, zeroed, mrs_fast, mrs_slow);
  static const uint16_t must[] = {
      EMU_OP_LDXR,   EMU_OP_STXR,       EMU_OP_LDAR,      EMU_OP_STLR,
      EMU_OP_HINT,   EMU_OP_CLREX,      EMU_OP_DMB,       EMU_OP_DSB,
      EMU_OP_ISB,    EMU_OP_MRS,        EMU_OP_MRS_TPIDR, EMU_OP_MSR_TPIDR,
      EMU_OP_DC_ZVA, EMU_OP_MRS_TPIDRRO};
  for (unsigned k = 0; k < sizeof must / sizeof *must; k++) {
    printf("  %-12s %6u (%u inline)\n", emu_op_name[must[k]], seen[must[k]],
           inl[must[k]]);
    assert_true(inl[must[k]] >= 300);
  }
  assert_true(faults > 1000 && st_ok > 20 && st_fail > 100 && zeroed > 100 &&
              mrs_fast > 100 && mrs_slow > 20);
}

/* Runs one insn (plus the end insn) as a translation on eb. */
static void jit_one(uint32_t raw, uint64_t pc) {
  struct emu_insn blk[2];
  assert_false(emu_decode(&blk[0], raw, pc));
  blk[1] = (struct emu_insn){
      .pc = pc + 4, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
  bool flushed;
  emu_jit_fn f = emu_jit_translate(jit, blk, 2, &flushed);
  assert_non_null(f);
  assert_int_equal(sigsetjmp(eb.cpu.jmp, 0), 0);
  f(&eb.cpu);
}

/* LDXR, a store by someone else, STXR: the pair is broken (status 1, the
 * other store stays); without that store, or with one of the same value
 * (which no program can tell from none), it holds. An unaligned LDXR is
 * an alignment fault with the interpreter's syndrome. */
static void test_pair_broken_by_other_store(void **state) {
  (void)state;
  struct emu_cpu *b = &eb.cpu;
  uint64_t va = JTM_BASE + 0x1238;
  uint64_t *word = (uint64_t *)(void *)(mem_b + 0x1238);
  for (int other = 0; other < 3; other++) {
    emu_tlb_flush(b);
    b->tlb_key = 0;
    b->insn_traps = 0;
    *word = 41;
    b->r[0] = va;
    jit_one(0xc85f7c01u, 0x400000); /* ldxr x1, [x0] */
    assert_int_equal(b->r[1], 41);
    jit_one(0x91000421u, 0x400004); /* add x1, x1, #1 */
    if (other == 1)
      __atomic_store_n(word, 7, __ATOMIC_SEQ_CST); /* another vCPU */
    if (other == 2)
      __atomic_store_n(word, 41, __ATOMIC_SEQ_CST); /* the same value */
    jit_one(0xc8027c01u, 0x400008);                 /* stxr w2, x1, [x0] */
    assert_int_equal(b->r[2], other == 1 ? 1 : 0);
    assert_int_equal(*word, other == 1 ? 7 : 42);
    assert_int_equal(b->excl_size, 0);
    /* a second STXR without a new LDXR fails */
    jit_one(0xc8027c01u, 0x40000c);
    assert_int_equal(b->r[2], 1);
  }
  /* unaligned: alignment fault, FAR = the address, as the helper */
  b->r[0] = va + 4;
  struct emu_insn blk[2];
  emu_decode(&blk[0], 0xc85f7c01u, 0x400000);
  blk[1] = (struct emu_insn){
      .pc = 0x400004, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
  bool flushed;
  emu_jit_fn f = emu_jit_translate(jit, blk, 2, &flushed);
  assert_non_null(f);
  if (sigsetjmp(b->jmp, 0) == 0) {
    f(b);
    fail_msg("no alignment fault");
  }
  assert_int_equal(b->exit_kind, EMU_EXIT_FAULT);
  assert_int_equal(b->exit_addr, va + 4);
  assert_int_equal(b->exit_syndrome & 0x3f, EMU_FAULT_ALIGN);
  assert_int_equal(b->pc, 0x400000);
}

/* Two CPUs on two threads, translated code, one counter: each adds 1
 * ITER times with an LDXR/STXR loop; the total must be exact. */
#define ITER 2000000u
#define COUNTER (JTM_BASE + 0x2000)
static const uint32_t count_loop[] = {
    0xc85f7c01u, /* 0: ldxr x1, [x0] */
    0x91000421u, /* add x1, x1, #1 */
    0xc8027c01u, /* stxr w2, x1, [x0] */
    0x35ffffa2u, /* cbnz w2, 0 */
    0xf1000463u, /* subs x3, x3, #1 */
    0x54ffff61u, /* b.ne 0 */
    0xd4000001u, /* svc #0 */
};
static struct env tc[2];
static _Alignas(4096) uint8_t shared[JTM_PAGES * 4096];

static int started;
static void *count_thread(void *arg) {
  struct env *t = arg;
  /* both start together, so that their loops overlap */
  __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 2)
    ;
  t->cpu.pc = JTM_BASE;
  t->cpu.r[0] = COUNTER;
  t->cpu.r[3] = ITER;
  enum emu_exit e = emu_run(&t->cpu, 0);
  return (void *)(uintptr_t)(e == EMU_EXIT_SVC);
}

static void test_two_threads_count(void **state) {
  (void)state;
  memset(shared, 0, sizeof shared);
  memcpy(shared, count_loop, sizeof count_loop);
  pthread_t th[2];
  for (unsigned i = 0; i < 2; i++) {
    tc[i] = (struct env){.map.mem = shared};
    assert_int_equal(emu_cpu_init(&tc[i].cpu, &ops, &tc[i]), 0);
    vmk_error err = {0};
    assert_int_equal(emu_cpu_enable_jit(&tc[i].cpu, 0, &err), 0);
  }
  for (unsigned i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&th[i], NULL, count_thread, &tc[i]), 0);
  for (unsigned i = 0; i < 2; i++) {
    void *ok;
    pthread_join(th[i], &ok);
    assert_true(ok != NULL);
  }
  uint64_t total;
  memcpy(&total, shared + (COUNTER - JTM_BASE), 8);
  printf("two CPUs, %u LDXR/STXR increments each: %llu; %llu+%llu insns "
         "inline, %llu+%llu helper calls\n",
         ITER, (unsigned long long)total,
         (unsigned long long)tc[0].cpu.jit->inline_ops,
         (unsigned long long)tc[1].cpu.jit->inline_ops,
         (unsigned long long)tc[0].cpu.jit->helper_ops,
         (unsigned long long)tc[1].cpu.jit->helper_ops);
  assert_int_equal(total, 2ull * ITER);
  struct emu_insn in;
  emu_decode(&in, count_loop[0], JTM_BASE);
  assert_true(jit_excl_inline(&in)); /* the translator's, not a helper */
  emu_decode(&in, count_loop[2], JTM_BASE + 8);
  assert_true(jit_excl_inline(&in));
  for (unsigned i = 0; i < 2; i++)
    emu_cpu_destroy(&tc[i].cpu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_inline_vs_helpers),
      cmocka_unit_test(test_pair_broken_by_other_store),
      cmocka_unit_test(test_two_threads_count),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

#else
int main(void) {
  puts("SKIP: x86-64 hosts only");
  return 77;
}
#endif
