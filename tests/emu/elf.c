/* elf.c — packs test cases into a static arm64 Linux ELF executable.
 *
 * Each case's code slot: load the input state (NZCV, FPCR, FPSR, V0-V31, SP,
 * X0-X30) from the case's input block, run the instruction(s) under test,
 * then dump X0-X30, SP, NZCV, FPSR, V0-V31 into the case's output record
 * (whose tail is the memory buffer the instructions may touch) and write(2)
 * the record to stdout; then fall through to the next slot. After the last
 * slot: exit_group(0). X0 is parked in TPIDR_EL0 while the record address is
 * built, so every register, SP included, may be changed by the test code.
 *
 * Threads: called from the tester's single thread; no shared state.
 */
#include <stdlib.h>
#include <string.h>

#include "emudiff.h"

/* A64 encoders for the harness's own instructions. */
static uint32_t movz(unsigned rd, unsigned imm16, unsigned hw) {
  return 0xD2800000u | hw << 21 | imm16 << 5 | rd;
}
static uint32_t movk(unsigned rd, unsigned imm16, unsigned hw) {
  return 0xF2800000u | hw << 21 | imm16 << 5 | rd;
}
static uint32_t ldr_x(unsigned rt, unsigned rn, unsigned off) {
  return 0xF9400000u | (off / 8) << 10 | rn << 5 | rt;
}
static uint32_t ldp_x(unsigned t1, unsigned t2, unsigned rn, unsigned off) {
  return 0xA9400000u | ((off / 8) & 0x7f) << 15 | t2 << 10 | rn << 5 | t1;
}
static uint32_t stp_x(unsigned t1, unsigned t2, unsigned rn, unsigned off) {
  return 0xA9000000u | ((off / 8) & 0x7f) << 15 | t2 << 10 | rn << 5 | t1;
}
static uint32_t str_x(unsigned rt, unsigned rn, unsigned off) {
  return 0xF9000000u | (off / 8) << 10 | rn << 5 | rt;
}
static uint32_t ldp_q(unsigned t1, unsigned t2, unsigned rn, unsigned off) {
  return 0xAD400000u | ((off / 16) & 0x7f) << 15 | t2 << 10 | rn << 5 | t1;
}
static uint32_t stp_q(unsigned t1, unsigned t2, unsigned rn, unsigned off) {
  return 0xAD000000u | ((off / 16) & 0x7f) << 15 | t2 << 10 | rn << 5 | t1;
}
#define SYS_NZCV 0x4200u
#define SYS_FPCR 0x4400u
#define SYS_FPSR 0x4420u
#define SYS_TPIDR 0xD040u
static uint32_t msr(unsigned sysreg, unsigned rt) {
  return 0xD51B0000u | sysreg | rt;
}
static uint32_t mrs(unsigned sysreg, unsigned rt) {
  return 0xD53B0000u | sysreg | rt;
}
static uint32_t b_to(uint64_t from, uint64_t to) {
  return 0x14000000u | ((uint32_t)((int64_t)(to - from) / 4) & 0x3ffffff);
}
static uint32_t add_imm(unsigned rd, unsigned rn, unsigned imm) {
  return 0x91000000u | imm << 10 | rn << 5 | rd;
}

struct emit {
  uint32_t *w; /* the slot, as words */
  unsigned n;
  uint64_t base; /* VA of w[0] */
};

static void put(struct emit *e, uint32_t insn) {
  if (e->n < LIT_OFF / 4) /* the layout keeps code far below this */
    e->w[e->n++] = insn;
}
static uint64_t here(const struct emit *e) { return e->base + e->n * 4ull; }

static void load_addr(struct emit *e, unsigned rd, uint64_t va) {
  put(e, movz(rd, va & 0xffff, 0));
  put(e, movk(rd, (va >> 16) & 0xffff, 1));
}

#define LOAD_LEN 42 /* instructions before the code under test */

static void emit_load(struct emit *e, uint32_t k) {
  uint64_t in = case_rec_va(k) + IN_OFF;
  load_addr(e, 0, in);
  put(e, ldr_x(1, 0, IN_NZCV));
  put(e, msr(SYS_NZCV, 1));
  put(e, ldr_x(1, 0, IN_FPCR));
  put(e, msr(SYS_FPCR, 1));
  put(e, ldr_x(1, 0, IN_FPSR));
  put(e, msr(SYS_FPSR, 1));
  for (unsigned i = 0; i < 32; i += 2)
    put(e, ldp_q(i, i + 1, 0, IN_V + i * 16));
  put(e, ldr_x(1, 0, IN_SP));
  put(e, add_imm(31, 1, 0)); /* mov sp, x1 */
  for (unsigned i = 1; i < 31; i += 2)
    put(e, ldp_x(i, i + 1, 0, IN_X + i * 8));
  put(e, ldr_x(0, 0, IN_X));
}

static void emit_dump(struct emit *e, uint32_t k, bool corrupt) {
  uint64_t rec = case_rec_va(k);
  put(e, msr(SYS_TPIDR, 0));
  load_addr(e, 0, rec);
  for (unsigned i = 1; i < 31; i += 2)
    put(e, stp_x(i, i + 1, 0, REC_X + i * 8));
  put(e, mrs(SYS_TPIDR, 1));
  put(e, str_x(1, 0, REC_X));
  put(e, 0x910003E1u); /* mov x1, sp */
  put(e, str_x(1, 0, REC_SP));
  put(e, mrs(SYS_NZCV, 1));
  put(e, mrs(SYS_FPSR, 2));
  put(e, stp_x(1, 2, 0, REC_NZCV));
  for (unsigned i = 0; i < 32; i += 2)
    put(e, stp_q(i, i + 1, 0, REC_V + i * 16));
  if (corrupt) {
    /* --self-check: one case of the second image flips bit 0 of X5. */
    put(e, ldr_x(1, 0, REC_X + 5 * 8));
    put(e, 0xD2400021u); /* eor x1, x1, #1 */
    put(e, str_x(1, 0, REC_X + 5 * 8));
  }
  put(e, 0xAA0003E1u); /* mov x1, x0 */
  put(e, movz(0, 1, 0));
  put(e, movz(2, REC_SIZE, 0));
  put(e, movz(8, 64, 0)); /* write */
  put(e, 0xD4000001u);    /* svc #0 */
}

uint64_t case_test_va(uint32_t k) { return case_code_va(k) + LOAD_LEN * 4; }

/* Branch case: b L0; K x {add x28,x28,#16; b Lend}; L0: insn; K x add #1;
 * Lend. The generator picks targets with the same arithmetic (see
 * gen_branch in gen_int.c, which relies on this exact layout). */
static void emit_branch(struct emit *e, const struct tcase *c) {
  uint64_t l0 = here(e) + 4 + BR_PADS * 8;
  uint64_t lend = l0 + 4 + BR_PADS * 4;
  put(e, b_to(here(e), l0));
  for (unsigned i = 0; i < BR_PADS; i++) {
    put(e, add_imm(BR_MARK, BR_MARK, 16));
    put(e, b_to(here(e), lend));
  }
  put(e, c->insn[0]);
  for (unsigned i = 0; i < BR_PADS; i++)
    put(e, add_imm(BR_MARK, BR_MARK, 1));
}

static void put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void fill_data(uint8_t *slot, const struct tcase *c) {
  put_le64(slot + REC_TAG, TAG_MAGIC << 32 | c->idx);
  memcpy(slot + REC_MEM, c->mem, MEM_SIZE);
  uint8_t *in = slot + IN_OFF;
  for (int i = 0; i < 31; i++)
    put_le64(in + IN_X + i * 8, c->in.x[i]);
  put_le64(in + IN_SP, c->in.sp);
  put_le64(in + IN_NZCV, c->in.nzcv);
  put_le64(in + IN_FPCR, c->in.fpcr);
  put_le64(in + IN_FPSR, c->in.fpsr);
  memcpy(in + IN_V, c->in.v, sizeof c->in.v);
}

static void put_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

uint8_t *elf_build(const struct tcase *const *cases, uint32_t n, size_t *len,
                   int64_t corrupt) {
  uint32_t first = cases[0]->idx, span = cases[n - 1]->idx - first + 1;
  uint64_t text_va = case_code_va(first);
  uint64_t text_sz = (uint64_t)span * CODE_SLOT + 16;
  uint64_t data_va = case_rec_va(first);
  uint64_t data_sz = (uint64_t)span * DATA_SLOT;
  /* File offsets congruent to the VAs modulo the 64 KiB max page size. */
  uint64_t text_off = 0x10000 + (text_va & 0xffff);
  uint64_t data_off = (text_off + text_sz + 0xffff) & ~0xffffull;
  data_off += data_va & 0xffff;
  size_t total = data_off + data_sz;
  uint8_t *f = calloc(1, total + 8);
  if (!f)
    return NULL;

  /* ELF header */
  memcpy(f, "\177ELF", 4);
  f[4] = 2;    /* ELFCLASS64 */
  f[5] = 1;    /* little endian */
  f[6] = 1;    /* EV_CURRENT */
  f[16] = 2;   /* ET_EXEC */
  f[18] = 183; /* EM_AARCH64 */
  f[20] = 1;
  put_le64(f + 24, text_va);
  put_le64(f + 32, 64); /* phoff */
  f[52] = 64;           /* ehsize */
  f[54] = 56;           /* phentsize */
  f[56] = 2;            /* phnum */
  f[58] = 64;           /* shentsize */
  uint8_t *ph = f + 64;
  for (int i = 0; i < 2; i++, ph += 56) {
    uint64_t off = i ? data_off : text_off, va = i ? data_va : text_va;
    uint64_t sz = i ? data_sz : text_sz;
    put_le32(ph, 1);               /* PT_LOAD */
    put_le32(ph + 4, i ? 6u : 5u); /* RW : RX */
    put_le64(ph + 8, off);
    put_le64(ph + 16, va);
    put_le64(ph + 24, va);
    put_le64(ph + 32, sz);
    put_le64(ph + 40, sz);
    put_le64(ph + 48, 0x10000);
  }

  /* slots of left-out cases just branch to the next slot */
  for (uint32_t i = 0; i < span; i++)
    put_le32(f + text_off + (uint64_t)i * CODE_SLOT, b_to(0, CODE_SLOT));
  for (uint32_t i = 0; i < n; i++) {
    const struct tcase *c = cases[i];
    uint64_t pos = c->idx - first;
    uint8_t *slot = f + text_off + pos * CODE_SLOT;
    uint32_t w[CODE_SLOT / 4];
    memset(w, 0, sizeof w);
    struct emit e = {w, 0, case_code_va(c->idx)};
    emit_load(&e, c->idx);
    if (c->kind == KIND_BRANCH) {
      emit_branch(&e, c);
    } else {
      for (int j = 0; j < c->n; j++)
        put(&e, c->insn[j]);
    }
    emit_dump(&e, c->idx, (int64_t)c->idx == corrupt);
    put(&e, b_to(here(&e), case_code_va(c->idx) + CODE_SLOT));
    for (unsigned j = 0; j < LIT_OFF / 4; j++)
      put_le32(slot + j * 4, w[j]);
    memcpy(slot + LIT_OFF, c->lit, LIT_SIZE);
    fill_data(f + data_off + pos * DATA_SLOT, c);
  }
  /* exit_group(0) after the last slot */
  uint8_t *tail = f + text_off + (uint64_t)span * CODE_SLOT;
  put_le32(tail, movz(0, 0, 0));
  put_le32(tail + 4, movz(8, 94, 0));
  put_le32(tail + 8, 0xD4000001u);
  *len = total;
  return f;
}
