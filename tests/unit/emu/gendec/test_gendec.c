/* test_gendec.c — the decoder generated from good.decode (prefix tdec)
 * picks the right op for known encodings, extracts fields (signed, with a
 * transform, constants), respects the order inside a group and reports
 * encodings no pattern matches. Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tdec_xf.h"

int tdec_dec_r3(struct emu_insn *out, const struct tdec_args_r3 *a) {
  out->rd = a->rd;
  out->rn = a->rn;
  out->rm = a->rm;
  out->k = a->k;
  return 1;
}
int tdec_dec_movi(struct emu_insn *out, const struct tdec_args_imm *a) {
  out->rd = a->rd;
  out->simm = a->simm;
  return 1;
}
int tdec_dec_inc(struct emu_insn *out, const struct tdec_args_imm *a) {
  out->rd = a->rd;
  return 2;
}
int tdec_dec_nop(struct emu_insn *out, const struct tdec_args_nop *a) {
  (void)out;
  (void)a;
  return 3;
}
int tdec_dec_hint(struct emu_insn *out, const struct tdec_args_hint *a) {
  out->rd = a->rd;
  return 4;
}

static void test_ops_and_fields(void **state) {
  (void)state;
  struct emu_insn in = {0};
  /* ADD: rm = 3 (bits 16:12), rn = 5 (bits 9:5), rd = 7 */
  uint32_t add = 0x00000000u | 3u << 12 | 5u << 5 | 7u;
  assert_int_equal(tdec_decode_gen(&in, add), 1);
  assert_int_equal(in.op, TDEC_OP_ADD);
  assert_int_equal(in.rd, 7);
  assert_int_equal(in.rn, 5);
  assert_int_equal(in.rm, 3);
  assert_int_equal(in.k, 1);
  memset(&in, 0, sizeof in);
  assert_int_equal(tdec_decode_gen(&in, 0x10000000u | 9u), 1);
  assert_int_equal(in.op, TDEC_OP_SUB);
  assert_int_equal(in.k, 2);
  /* MOVI: simm16 = 0xfffe at bits 27:12 is -2 */
  memset(&in, 0, sizeof in);
  assert_int_equal(tdec_decode_gen(&in, 0x20000000u | 0xfffeu << 12 | 4u), 1);
  assert_int_equal(in.op, TDEC_OP_MOVI);
  assert_int_equal(in.simm, -2);
  assert_int_equal(in.rd, 4);
}

static void test_group_order(void **state) {
  (void)state;
  struct emu_insn in = {0};
  assert_int_equal(tdec_decode_gen(&in, 0x3fffffffu), 3);
  assert_int_equal(in.op, TDEC_OP_NOP);
  assert_int_equal(tdec_decode_gen(&in, 0x30000000u | 6u << 1), 4);
  assert_int_equal(in.op, TDEC_OP_HINT);
  assert_int_equal(in.rd, 6);
}

static void test_split_on_partial_bits(void **state) {
  (void)state;
  struct emu_insn in = {0};
  /* bits 2:0 = -01: INC, rd (bits 7:3) = 5 through the plus1 transform */
  assert_int_equal(tdec_decode_gen(&in, 0x40000000u | 5u << 3 | 1u), 2);
  assert_int_equal(in.op, TDEC_OP_INC);
  assert_int_equal(in.rd, 6);
  /* 01-: MUL, whatever bit 0 is */
  assert_int_equal(tdec_decode_gen(&in, 0x40000000u | 2u), 1);
  assert_int_equal(in.op, TDEC_OP_MUL);
  assert_int_equal(in.k, 3);
  assert_int_equal(tdec_decode_gen(&in, 0x40000000u | 3u), 1);
  assert_int_equal(in.op, TDEC_OP_MUL);
  /* 1-0: NEG */
  assert_int_equal(tdec_decode_gen(&in, 0x40000000u | 4u), 2);
  assert_int_equal(in.op, TDEC_OP_NEG);
  /* 111 and 000: none of them */
  assert_int_equal(tdec_decode_gen(&in, 0x40000000u | 7u), TDEC_DEC_NOMATCH);
  assert_int_equal(tdec_decode_gen(&in, 0x40000000u), TDEC_DEC_NOMATCH);
}

static void test_nomatch_and_names(void **state) {
  (void)state;
  struct emu_insn in = {.op = 99};
  assert_int_equal(tdec_decode_gen(&in, 0x50000000u), TDEC_DEC_NOMATCH);
  assert_int_equal(in.op, 99); /* untouched */
  assert_string_equal(tdec_op_name[TDEC_OP_UNDEF], "undef");
  assert_string_equal(tdec_op_name[TDEC_OP_HINT], "hint");
  assert_string_equal(tdec_op_name[TDEC_OP_SYNTH], "synth");
  assert_int_equal(tdec_op_pattern[TDEC_OP_NOP].mask, 0xffffffffu);
  assert_int_equal(tdec_op_pattern[TDEC_OP_NOP].value, 0x3fffffffu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ops_and_fields),
      cmocka_unit_test(test_group_order),
      cmocka_unit_test(test_split_on_partial_bits),
      cmocka_unit_test(test_nomatch_and_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
