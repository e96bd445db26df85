/* emudiff.h — shared types of the differential (risu-style) instruction
 * tester: random test cases per instruction group, the static arm64 ELF they
 * are packed into, and the record each case writes to stdout.
 *
 * Threads: the tester is a single-threaded host program; nothing here is
 * shared. No global mutable state: everything hangs off struct emudiff.
 *
 * Address plan (fixed so a case's bytes never depend on which batch it was
 * packed into — the runner may restart from any case after a fault):
 *   case k's code  at CODE_BASE + k * CODE_SLOT  (falls through to k+1)
 *   case k's data  at DATA_BASE + k * DATA_SLOT  (output record, then the
 *                  input state block)
 * Every address is below 4 GiB, so two MOVZ/MOVK build it.
 */
#ifndef EMUDIFF_H
#define EMUDIFF_H

#include <capstone/capstone.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CODE_BASE 0x00400000ull
#define CODE_SLOT 1024u
#define LIT_OFF 768u /* literal pool inside a code slot (random bytes) */
#define LIT_SIZE 256u
#define DATA_BASE 0x10000000ull
#define DATA_SLOT 2048u
#define MAX_CASES 200000u /* keeps code below DATA_BASE */

/* Output record (written with one write(2) per case). */
#define REC_TAG 0
#define REC_X 8 /* x0..x30 */
#define REC_SP 256
#define REC_NZCV 264
#define REC_FPSR 272
#define REC_V 288 /* v0..v31, 16 bytes each */
#define REC_MEM 800
#define MEM_SIZE 256u
#define REC_SIZE (REC_MEM + MEM_SIZE)

/* Input state block, after the record in the data slot. */
#define IN_OFF 1088
#define IN_X 0
#define IN_SP 248
#define IN_NZCV 256
#define IN_FPCR 264
#define IN_FPSR 272
#define IN_V 288
#define IN_SIZE 800

#define TAG_MAGIC 0x454d5544ull /* "DUME" */

#define MAX_SEQ 8

struct rng {
  uint64_t s;
};
uint64_t rng_next(struct rng *r);
static inline uint32_t rnd(struct rng *r, uint32_t n) /* 0..n-1 */
{
  return (uint32_t)(rng_next(r) % n);
}
static inline uint32_t bits(struct rng *r, int w) {
  return (uint32_t)(rng_next(r) & ((1ull << w) - 1));
}

struct cpu_state {
  uint64_t x[31];
  uint64_t sp;
  uint64_t nzcv, fpcr, fpsr;
  uint8_t v[32][16];
};

/* How the instructions of a case are laid out in its code slot. */
enum case_kind {
  KIND_PLAIN = 0, /* insn[0..n) run straight through */
  KIND_BRANCH,    /* insn[0] is a branch; see gen_branch in gen_int.c */
};

#define BR_PADS 8  /* landing pads on each side of a branch under test */
#define BR_MARK 28 /* register the landing pads count into */

struct tcase {
  uint32_t idx;
  enum case_kind kind;
  int n;
  uint32_t insn[MAX_SEQ];
  struct cpu_state in;
  uint8_t mem[MEM_SIZE];
  uint8_t lit[LIT_SIZE];
};

/* Per-case address helpers. */
static inline uint64_t case_code_va(uint32_t k) {
  return CODE_BASE + (uint64_t)k * CODE_SLOT;
}
static inline uint64_t case_rec_va(uint32_t k) {
  return DATA_BASE + (uint64_t)k * DATA_SLOT;
}
static inline uint64_t case_mem_va(uint32_t k) {
  return case_rec_va(k) + REC_MEM;
}
static inline uint64_t case_lit_va(uint32_t k) {
  return case_code_va(k) + LIT_OFF;
}
/* Address of the instruction under test (the first one) in slot k. */
uint64_t case_test_va(uint32_t k);

/* Generator context handed to a group's generator. */
struct gen {
  struct rng *r;
  struct tcase *c;
};

typedef int (*gen_fn)(struct gen *g); /* 0 ok, <0 reject and retry */

struct group {
  const char *name;
  const char *what;
  gen_fn gen;
  unsigned ci_count; /* cases per run in CI */
};

extern const struct group emudiff_groups[];
extern const unsigned emudiff_ngroups;

/* Random values biased toward edge cases. */
uint64_t rnd_xval(struct rng *r);
uint32_t rnd_f32(struct rng *r);
uint64_t rnd_f64(struct rng *r);
void rnd_vreg(struct rng *r, uint8_t v[16]);
void rnd_state(struct rng *r, struct cpu_state *s);
/* A register number 0..30 not in the mask, or 31 if allow31 and chosen. */
unsigned pick_reg(struct rng *r, uint32_t avoid_mask, bool allow31);

/* Group generators, one file per instruction class. */
int gen_int_imm(struct gen *g);
int gen_int_reg(struct gen *g);
int gen_bitfield(struct gen *g);
int gen_condsel(struct gen *g);
int gen_muldiv(struct gen *g);
int gen_crc32(struct gen *g);
int gen_bitops(struct gen *g);
int gen_branch(struct gen *g);
int gen_system(struct gen *g);
int gen_int_mix(struct gen *g);
int gen_fp_mix(struct gen *g);
int gen_ldst_imm(struct gen *g);
int gen_ldst_reg(struct gen *g);
int gen_ldst_pair(struct gen *g);
int gen_ldst_lit(struct gen *g);
int gen_exclusive(struct gen *g);
int gen_fp_scalar(struct gen *g);
int gen_fp_cvt(struct gen *g);
int gen_simd_int(struct gen *g);
int gen_simd_perm(struct gen *g);
int gen_simd_across(struct gen *g);
int gen_simd_shift(struct gen *g);
int gen_simd_fp(struct gen *g);
int gen_simd_ldst(struct gen *g);

/* ELF image of cases[0..n) (ascending indices; slots of indices left out
 * in between just fall through). corrupt: index of a case whose dump flips
 * one bit (for --self-check), or -1. Returns malloc'd bytes or NULL. */
uint8_t *elf_build(const struct tcase *const *cases, uint32_t n, size_t *len,
                   int64_t corrupt);

/* Disassemble one encoding (capstone); false if capstone rejects it. */
bool disasm(csh h, uint32_t insn, uint64_t pc, char *buf, size_t len);
/* The encoding is one vmkit must implement (ARMv8.0-A, no crypto/FP16). */
bool insn_acceptable(csh h, uint32_t insn);

#endif
