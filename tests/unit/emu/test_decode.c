/* test_decode.c — decoder unit tests: DecodeBitMasks against a slow
 * reference written from the Arm ARM pseudocode (bit by bit, all
 * encodings of both widths), bitfield/immediate decoding through
 * emu_decode, unallocated encodings decoding to UNDEFINED, and the
 * implemented-class table. Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "emu/decode.h"

/* Reference: Arm ARM shared/functions/bitmasks/DecodeBitMasks, using bit
 * arrays instead of integer tricks. */
static int ref_highest_set_bit(unsigned v, int width) {
  for (int i = width - 1; i >= 0; i--)
    if (v >> i & 1)
      return i;
  return -1;
}
static void ref_replicate(const int *elem, int esize, int *out, int m) {
  for (int i = 0; i < m; i++)
    out[i] = elem[i % esize];
}
static void ref_ror(const int *in, int n, int r, int *out) {
  for (int i = 0; i < n; i++)
    out[i] = in[(i + r) % n];
}
static bool ref_bitmasks(unsigned immn, unsigned imms, unsigned immr,
                         bool immediate, int m, uint64_t *wmask,
                         uint64_t *tmask) {
  unsigned v = immn << 6 | (~imms & 63);
  int len = ref_highest_set_bit(v, 7);
  if (len < 1)
    return false;
  if ((1 << len) > m || m > 64)
    return false;
  unsigned levels = (1u << len) - 1;
  if (immediate && (imms & levels) == levels)
    return false;
  int s = (int)(imms & levels), r = (int)(immr & levels);
  int diff = (s - r) & 63;
  int esize = 1 << len;
  int d = diff & (int)levels;
  int welem[64] = {0}, telem[64] = {0}, wr[64], w[64], t[64];
  for (int i = 0; i <= s && i < 64; i++)
    welem[i] = 1;
  for (int i = 0; i <= d && i < 64; i++)
    telem[i] = 1;
  ref_ror(welem, esize, r, wr);
  ref_replicate(wr, esize, w, m);
  ref_replicate(telem, esize, t, m);
  *wmask = *tmask = 0;
  for (int i = 0; i < m; i++) {
    *wmask |= (uint64_t)w[i] << i;
    *tmask |= (uint64_t)t[i] << i;
  }
  return true;
}

static void test_bitmasks_vs_reference(void **state) {
  (void)state;
  unsigned checked = 0, valid = 0;
  for (int m = 32; m <= 64; m += 32)
    for (unsigned n = 0; n < 2; n++)
      for (unsigned imms = 0; imms < 64; imms++)
        for (unsigned immr = 0; immr < 64; immr++)
          for (int imm = 0; imm < 2; imm++) {
            uint64_t w1 = 0, t1 = 0, w2 = 0, t2 = 0;
            bool a =
                emu_decode_bitmasks(n, imms, immr, imm, (unsigned)m, &w1, &t1);
            bool b = ref_bitmasks(n, imms, immr, imm, m, &w2, &t2);
            assert_int_equal(a, b);
            if (a) {
              assert_int_equal(w1, w2);
              assert_int_equal(t1, t2);
              valid++;
            }
            checked++;
          }
  assert_int_equal(checked, 2 * 2 * 64 * 64 * 2);
  assert_true(valid > 1000);
}

/* Logical immediates decode to the mask the assembler meant. */
static void test_logical_immediates(void **state) {
  (void)state;
  struct {
    uint32_t raw;
    uint64_t imm;
  } cases[] = {
      {0x92400020, 0x1},                /* and x0, x1, #0x1 */
      {0xb200c3e0, 0x0101010101010101}, /* orr x0, xzr, #0x0101.. */
      {0x927c7020, 0x1fffffff0ull},     /* and x0, x1, #0x1fffffff0 */
      {0x12001c20, 0xff},               /* and w0, w1, #0xff */
      {0x320003e0, 0x1},                /* orr w0, wzr, #1 */
      {0xd2402020, 0x1ff},              /* eor x0, x1, #0x1ff */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct emu_insn in;
    emu_decode(&in, cases[i].raw, 0x1000);
    assert_ptr_not_equal(in.fn, emu_h_undef);
    assert_int_equal(in.imm, cases[i].imm);
  }
  /* N=1 with sf=0 is unallocated; all-ones element is reserved */
  struct emu_insn in;
  emu_decode(&in, 0x12400020, 0x1000); /* and w0, w1 with N=1 */
  assert_ptr_equal(in.fn, emu_h_undef);
  emu_decode(&in, 0x9240fc20, 0x1000); /* imms=111111, N=1: reserved */
  assert_ptr_equal(in.fn, emu_h_undef);
}

static void test_operands_and_targets(void **state) {
  (void)state;
  struct emu_insn in;
  /* add sp, sp, #16: both operands are SP */
  emu_decode(&in, 0x910043ff, 0x4000);
  assert_int_equal(in.rd, EMU_SP);
  assert_int_equal(in.rn, EMU_SP);
  /* adds xzr, x1, #1 (cmn): destination is the sink */
  emu_decode(&in, 0xb100043f, 0x4000);
  assert_int_equal(in.rd, EMU_XSINK);
  /* add x0, xzr, x1 (shifted register: 31 is XZR) */
  emu_decode(&in, 0x8b0103e0, 0x4000);
  assert_int_equal(in.rn, EMU_XZR);
  /* b .+8 from 0x4000: target resolved at decode time, ends the block */
  assert_true(emu_decode(&in, 0x14000002, 0x4000));
  assert_int_equal(in.imm, 0x4008);
  /* adrp x0 with imm = 8 pages, from 0x4123: page(pc) + 0x8000 */
  emu_decode(&in, 0x90000040, 0x4123);
  assert_int_equal(in.imm, 0xc000);
  /* adr x0, .-4 from 0x4000 (immlo = 0, immhi = -1) */
  emu_decode(&in, 0x10ffffe0, 0x4000);
  assert_int_equal(in.imm, 0x3ffc);
  /* add x0, x1 (not a block end) */
  assert_false(emu_decode(&in, 0x91000420, 0x4000));
}

static void test_unallocated_is_undef(void **state) {
  (void)state;
  const uint32_t bad[] = {
      0x00000000,              /* udf #0 */
      0x1ac05c20,              /* crc32cx with sf=0: unallocated */
      0xf8a00c20,              /* LSE atomics region (v8.1) */
      0xc8a07c20,              /* CAS (v8.1) */
      0xd4000003,              /* SMC */
      0xf8200c20,              /* LDRAA region (v8.3) */
      0xdac10020,              /* PACIA (v8.3) */
      0xd3400000,              /* ubfm x0, x0, #0, #0 (sf=1, N=1): valid */
      0x53400000,              /* ubfm w with N=1: unallocated */
      0x13800000 | (1u << 15), /* extr w with imms >= 32 */
      (0xf9800020 & ~(1u << 24)) | (1u << 10), /* prfm post-index: unalloc. */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct emu_insn in;
    emu_decode(&in, bad[i], 0x1000);
    if (i == 7)
      assert_ptr_not_equal(in.fn, emu_h_undef);
    else
      assert_ptr_equal(in.fn, emu_h_undef);
  }
}

/* Every op has a name; known encodings get the op of their pattern. */
static void test_ops(void **state) {
  (void)state;
  for (unsigned op = 0; op < EMU_OP_COUNT; op++) {
    assert_non_null(emu_op_name[op]);
    assert_true(emu_op_name[op][0] != 0);
  }
  static const struct {
    uint32_t raw;
    unsigned op;
  } cases[] = {
      {0x91000420, EMU_OP_ADD_IMM},   {0xf1000c3f, EMU_OP_SUBS_IMM},
      {0x90000040, EMU_OP_ADRP},      {0x92400020, EMU_OP_AND_IMM},
      {0xf2800020, EMU_OP_MOVK},      {0xd343fc20, EMU_OP_UBFM},
      {0x93c20c20, EMU_OP_EXTR},      {0xaa0103e0, EMU_OP_ORR_SH},
      {0xeb02003f, EMU_OP_SUBS_SH},   {0x8b224020, EMU_OP_ADD_EXT},
      {0x9a020020, EMU_OP_ADC},       {0xfa410800, EMU_OP_CCMP_IMM},
      {0x9a821420, EMU_OP_CSINC},     {0x9ac20c20, EMU_OP_SDIV},
      {0x1ac25020, EMU_OP_CRC32C},    {0xdac00c20, EMU_OP_REV},
      {0x9b427c20, EMU_OP_SMULH},     {0x14000000, EMU_OP_B},
      {0x54000001, EMU_OP_B_COND},    {0xb5000000, EMU_OP_CBNZ},
      {0x37080000, EMU_OP_TBNZ},      {0xd65f03c0, EMU_OP_RET},
      {0xd4000001, EMU_OP_SVC},       {0xd503201f, EMU_OP_HINT},
      {0xd503207f, EMU_OP_WFI},       {0xd5033bbf, EMU_OP_DMB},
      {0xd53b4200, EMU_OP_MRS_NZCV},  {0xd5380000, EMU_OP_MRS},
      {0xd50b7420, EMU_OP_DC_ZVA},    {0xd5087500, EMU_OP_SYS},
      {0xf9400420, EMU_OP_LDR_UIMM},  {0x39800020, EMU_OP_LDRS_UIMM},
      {0xf9800020, EMU_OP_PRFM_UIMM}, {0xf8408420, EMU_OP_LDR_POST},
      {0xb8800c20, EMU_OP_LDRS_PRE},  {0x38400820, EMU_OP_LDTR},
      {0xf8626820, EMU_OP_LDR_REG},   {0x58000000, EMU_OP_LDR_LIT},
      {0xa9810440, EMU_OP_STP},       {0x69400440, EMU_OP_LDPSW},
      {0xc85f7c20, EMU_OP_LDXR},      {0xc87f0440, EMU_OP_LDXP},
      {0x889ffc20, EMU_OP_STLR},      {0x1e222820, EMU_OP_FP_SCALAR},
      {0x3dc00000, EMU_OP_SIMD_LDST}, {0x00000000, EMU_OP_UNDEF},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct emu_insn in;
    emu_decode(&in, cases[i].raw, 0x1000);
    if (in.op != cases[i].op)
      fail_msg("%08x: %s, expected %s", cases[i].raw, emu_op_name[in.op],
               emu_op_name[cases[i].op]);
    /* UNDEFINED and the op agree */
    assert_int_equal(in.op == EMU_OP_UNDEF, in.fn == emu_h_undef);
  }
}

/* Every op decoded from a pattern has an exec helper (FP/SIMD and the
 * synthetic ops have none), and for data processing the helper does what
 * the threaded handler does: random encodings, random register states. */
static const struct emu_insn *stop(struct emu_cpu *cpu,
                                   const struct emu_insn *in) {
  (void)cpu;
  (void)in;
  return NULL;
}
static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static void test_exec_helpers(void **state) {
  (void)state;
  for (unsigned op = 1; op < EMU_OP_COUNT; op++) {
    bool pattern = emu_op_pattern[op].mask != 0;
    if (pattern != (emu_exec_helper[op] != NULL))
      fail_msg("op %s: pattern %d, helper %p", emu_op_name[op], pattern,
               (void *)emu_exec_helper[op]);
  }
  assert_null(emu_exec_helper[EMU_OP_UNDEF]);
  static struct emu_cpu a, b;
  unsigned tested = 0, ops_seen[EMU_OP_COUNT] = {0};
  for (unsigned i = 0; i < 400000; i++) {
    uint32_t raw = (uint32_t)rnd();
    struct emu_insn in[2];
    emu_decode(&in[0], raw, 0x40001000);
    if (in[0].op < EMU_OP_ADR || in[0].op > EMU_OP_UMULH)
      continue; /* data processing only: no memory, no control flow */
    in[1] = (struct emu_insn){.fn = stop};
    memset(&a, 0, sizeof a);
    for (unsigned r = 0; r < EMU_NREGS; r++)
      a.r[r] = rnd() >> (rnd() & 63);
    a.r[EMU_XZR] = 0;
    a.nzcv = (uint32_t)rnd() & 0xf0000000u;
    memcpy(&b, &a, sizeof a);
    assert_null(in[0].fn(&a, &in[0]));
    emu_exec_helper[in[0].op](&b, &in[0]);
    if (memcmp(a.r, b.r, sizeof a.r) || a.nzcv != b.nzcv)
      fail_msg("%08x (%s): helper and handler differ", raw,
               emu_op_name[in[0].op]);
    tested++;
    ops_seen[in[0].op] = 1;
  }
  unsigned distinct = 0;
  for (unsigned op = 0; op < EMU_OP_COUNT; op++)
    distinct += ops_seen[op];
  assert_true(tested > 10000);
  assert_true(distinct > 50);
}

static void test_stats_table(void **state) {
  (void)state;
  char buf[16384];
  FILE *f = fmemopen(buf, sizeof buf, "w");
  assert_non_null(f);
  emu_print_stats(f);
  fclose(f);
  /* every integer class is implemented */
  assert_non_null(strstr(buf, "dp-imm: 6/6"));
  assert_non_null(strstr(buf, "branch: 11/11"));
  assert_non_null(strstr(buf, "ldst: 12/12"));
  assert_non_null(strstr(buf, "dp-reg: 11/11"));
  assert_non_null(strstr(buf, "total: "));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bitmasks_vs_reference),
      cmocka_unit_test(test_logical_immediates),
      cmocka_unit_test(test_operands_and_targets),
      cmocka_unit_test(test_unallocated_is_undef),
      cmocka_unit_test(test_ops),
      cmocka_unit_test(test_exec_helpers),
      cmocka_unit_test(test_stats_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
