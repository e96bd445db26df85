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
      {0x91000420, EMU_OP_ADD_IMM},    {0xf1000c3f, EMU_OP_SUBS_IMM},
      {0x90000040, EMU_OP_ADRP},       {0x92400020, EMU_OP_AND_IMM},
      {0xf2800020, EMU_OP_MOVK},       {0xd343fc20, EMU_OP_UBFM},
      {0x93c20c20, EMU_OP_EXTR},       {0xaa0103e0, EMU_OP_ORR_SH},
      {0xeb02003f, EMU_OP_SUBS_SH},    {0x8b224020, EMU_OP_ADD_EXT},
      {0x9a020020, EMU_OP_ADC},        {0xfa410800, EMU_OP_CCMP_IMM},
      {0x9a821420, EMU_OP_CSINC},      {0x9ac20c20, EMU_OP_SDIV},
      {0x1ac25020, EMU_OP_CRC32C},     {0xdac00c20, EMU_OP_REV},
      {0x9b427c20, EMU_OP_SMULH},      {0x14000000, EMU_OP_B},
      {0x54000001, EMU_OP_B_COND},     {0xb5000000, EMU_OP_CBNZ},
      {0x37080000, EMU_OP_TBNZ},       {0xd65f03c0, EMU_OP_RET},
      {0xd4000001, EMU_OP_SVC},        {0xd503201f, EMU_OP_HINT},
      {0xd503207f, EMU_OP_WFI},        {0xd5033bbf, EMU_OP_DMB},
      {0xd53b4200, EMU_OP_MRS_NZCV},   {0xd5380000, EMU_OP_MRS},
      {0xd50b7420, EMU_OP_DC_ZVA},     {0xd5087500, EMU_OP_SYS},
      {0xf9400420, EMU_OP_LDR_UIMM},   {0x39800020, EMU_OP_LDRS_UIMM},
      {0xf9800020, EMU_OP_PRFM_UIMM},  {0xf8408420, EMU_OP_LDR_POST},
      {0xb8800c20, EMU_OP_LDRS_PRE},   {0x38400820, EMU_OP_LDTR},
      {0xf8626820, EMU_OP_LDR_REG},    {0x58000000, EMU_OP_LDR_LIT},
      {0xa9810440, EMU_OP_STP},        {0x69400440, EMU_OP_LDPSW},
      {0xc85f7c20, EMU_OP_LDXR},       {0xc87f0440, EMU_OP_LDXP},
      {0x889ffc20, EMU_OP_STLR},       {0x1e222820, EMU_OP_FADD_S},
      {0x3dc00000, EMU_OP_LDR_F_UIMM}, {0x00000000, EMU_OP_UNDEF},
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

/* FP/AdvSIMD: one encoding per op (isa/fp.decode, simd.decode,
 * simd_ldst.decode) decodes to that op; the comments are the GNU
 * disassembler's reading of each encoding (aarch64-linux-gnu-objdump), whose
 * mnemonic and form every op's name was checked against when the table
 * was made. Every FP/AdvSIMD op has a row, and a sane name. */
static bool fpsimd_op(unsigned op) {
  return emu_op_is_fp_scalar(op) || emu_op_is_simd(op) ||
         emu_op_is_simd_ldst(op);
}
static void test_fpsimd_ops(void **state) {
  (void)state;
  static const struct {
    uint32_t raw;
    unsigned op;
  } cases[] = {
      {0x9e02c59b, EMU_OP_SCVTF_FIX},     /* scvtf s27, x12, #15 */
      {0x9e430885, EMU_OP_UCVTF_FIX},     /* ucvtf d5, x4, #62 */
      {0x9e18a2ae, EMU_OP_FCVTZS_FIX},    /* fcvtzs x14, s21, #24 */
      {0x9e19fd7b, EMU_OP_FCVTZU_FIX},    /* fcvtzu x27, s11, #1 */
      {0x1e2001dd, EMU_OP_FCVTNS_INT},    /* fcvtns w29, s14 */
      {0x9e210230, EMU_OP_FCVTNU_INT},    /* fcvtnu x16, s17 */
      {0x1e22032a, EMU_OP_SCVTF_INT},     /* scvtf s10, w25 */
      {0x1e23011a, EMU_OP_UCVTF_INT},     /* ucvtf s26, w8 */
      {0x1e2401c5, EMU_OP_FCVTAS_INT},    /* fcvtas w5, s14 */
      {0x9e6502f0, EMU_OP_FCVTAU_INT},    /* fcvtau x16, d23 */
      {0x1e260234, EMU_OP_FMOV_TO_GEN},   /* fmov w20, s17 */
      {0x1e27011c, EMU_OP_FMOV_FROM_GEN}, /* fmov s28, w8 */
      {0x1e280326, EMU_OP_FCVTPS_INT},    /* fcvtps w6, s25 */
      {0x9e69025d, EMU_OP_FCVTPU_INT},    /* fcvtpu x29, d18 */
      {0x9eae0138, EMU_OP_FMOV_TO_TOP},   /* fmov x24, v9.d[1] */
      {0x9eaf0154, EMU_OP_FMOV_FROM_TOP}, /* fmov v20.d[1], x10 */
      {0x1e3002c5, EMU_OP_FCVTMS_INT},    /* fcvtms w5, s22 */
      {0x1e710110, EMU_OP_FCVTMU_INT},    /* fcvtmu w16, d8 */
      {0x1e380105, EMU_OP_FCVTZS_INT},    /* fcvtzs w5, s8 */
      {0x9e390360, EMU_OP_FCVTZU_INT},    /* fcvtzu x0, s27 */
      {0x1e2040f7, EMU_OP_FMOV_REG},      /* fmov s23, s7 */
      {0x1e20c265, EMU_OP_FABS_S},        /* fabs s5, s19 */
      {0x1e614067, EMU_OP_FNEG_S},        /* fneg d7, d3 */
      {0x1e61c3f4, EMU_OP_FSQRT_S},       /* fsqrt d20, d31 */
      {0x1e22c122, EMU_OP_FCVT},          /* fcvt d2, s9 */
      {0x1e6441f4, EMU_OP_FRINTN_S},      /* frintn d20, d15 */
      {0x1e24c13f, EMU_OP_FRINTP_S},      /* frintp s31, s9 */
      {0x1e65401a, EMU_OP_FRINTM_S},      /* frintm d26, d0 */
      {0x1e65c10a, EMU_OP_FRINTZ_S},      /* frintz d10, d8 */
      {0x1e6642c9, EMU_OP_FRINTA_S},      /* frinta d9, d22 */
      {0x1e274322, EMU_OP_FRINTX_S},      /* frintx s2, s25 */
      {0x1e27c12b, EMU_OP_FRINTI_S},      /* frinti s11, s9 */
      {0x1e7522c8, EMU_OP_FCMP},          /* fcmp d22, #0.0 */
      {0x1e6b2210, EMU_OP_FCMPE},         /* fcmpe d16, d11 */
      {0x1e70f01b, EMU_OP_FMOV_IMM},  /* fmov d27, #-2.875000000000000000e+00 */
      {0x1e7a246f, EMU_OP_FCCMP},     /* fccmp d3, d26, #0xf, cs */
      {0x1e3be69d, EMU_OP_FCCMPE},    /* fccmpe s20, s27, #0xd, al */
      {0x1e63081b, EMU_OP_FMUL_S},    /* fmul d27, d0, d3 */
      {0x1e29185a, EMU_OP_FDIV_S},    /* fdiv s26, s2, s9 */
      {0x1e7d29a7, EMU_OP_FADD_S},    /* fadd d7, d13, d29 */
      {0x1e7b3986, EMU_OP_FSUB_S},    /* fsub d6, d12, d27 */
      {0x1e7248fb, EMU_OP_FMAX_S},    /* fmax d27, d7, d18 */
      {0x1e355833, EMU_OP_FMIN_S},    /* fmin s19, s1, s21 */
      {0x1e3b6ad7, EMU_OP_FMAXNM_S},  /* fmaxnm s23, s22, s27 */
      {0x1e7e7ba8, EMU_OP_FMINNM_S},  /* fminnm d8, d29, d30 */
      {0x1e7c8b20, EMU_OP_FNMUL_S},   /* fnmul d0, d25, d28 */
      {0x1e319f17, EMU_OP_FCSEL},     /* fcsel s23, s24, s17, ls */
      {0x1f501036, EMU_OP_FMADD},     /* fmadd d22, d1, d16, d4 */
      {0x1f47a7f2, EMU_OP_FMSUB},     /* fmsub d18, d31, d7, d9 */
      {0x1f736083, EMU_OP_FNMADD},    /* fnmadd d3, d4, d19, d24 */
      {0x1f35c37c, EMU_OP_FNMSUB},    /* fnmsub s28, s27, s21, s16 */
      {0x4e71058d, EMU_OP_SHADD_V},   /* shadd v13.8h, v12.8h, v17.8h */
      {0x4ee40d8a, EMU_OP_SQADD_V},   /* sqadd v10.2d, v12.2d, v4.2d */
      {0x4e2c169f, EMU_OP_SRHADD_V},  /* srhadd v31.16b, v20.16b, v12.16b */
      {0x0e762556, EMU_OP_SHSUB_V},   /* shsub v22.4h, v10.4h, v22.4h */
      {0x0e6d2f34, EMU_OP_SQSUB_V},   /* sqsub v20.4h, v25.4h, v13.4h */
      {0x4e283691, EMU_OP_CMGT_V},    /* cmgt v17.16b, v20.16b, v8.16b */
      {0x4ebb3e3f, EMU_OP_CMGE_V},    /* cmge v31.4s, v17.4s, v27.4s */
      {0x4ea34627, EMU_OP_SSHL_V},    /* sshl v7.4s, v17.4s, v3.4s */
      {0x4e684c81, EMU_OP_SQSHL_V},   /* sqshl v1.8h, v4.8h, v8.8h */
      {0x4e3f5524, EMU_OP_SRSHL_V},   /* srshl v4.16b, v9.16b, v31.16b */
      {0x0e245f17, EMU_OP_SQRSHL_V},  /* sqrshl v23.8b, v24.8b, v4.8b */
      {0x0e3d66d7, EMU_OP_SMAX_V},    /* smax v23.8b, v22.8b, v29.8b */
      {0x4eb36d33, EMU_OP_SMIN_V},    /* smin v19.4s, v9.4s, v19.4s */
      {0x0e2d76c0, EMU_OP_SABD_V},    /* sabd v0.8b, v22.8b, v13.8b */
      {0x4e3e7f9b, EMU_OP_SABA_V},    /* saba v27.16b, v28.16b, v30.16b */
      {0x0e6f8490, EMU_OP_ADD_V},     /* add v16.4h, v4.4h, v15.4h */
      {0x4e258e76, EMU_OP_CMTST_V},   /* cmtst v22.16b, v19.16b, v5.16b */
      {0x0e6f9503, EMU_OP_MLA_V},     /* mla v3.4h, v8.4h, v15.4h */
      {0x0e359d13, EMU_OP_MUL_V},     /* mul v19.8b, v8.8b, v21.8b */
      {0x4e6ca652, EMU_OP_SMAXP_V},   /* smaxp v18.8h, v18.8h, v12.8h */
      {0x0e76aebd, EMU_OP_SMINP_V},   /* sminp v29.4h, v21.4h, v22.4h */
      {0x4ea3b631, EMU_OP_SQDMULH_V}, /* sqdmulh v17.4s, v17.4s, v3.4s */
      {0x4eabbdc6, EMU_OP_ADDP_V},    /* addp v6.4s, v14.4s, v11.4s */
      {0x2e7207ac, EMU_OP_UHADD_V},   /* uhadd v12.4h, v29.4h, v18.4h */
      {0x6ea00ca0, EMU_OP_UQADD_V},   /* uqadd v0.4s, v5.4s, v0.4s */
      {0x6e351792, EMU_OP_URHADD_V},  /* urhadd v18.16b, v28.16b, v21.16b */
      {0x6ebf2406, EMU_OP_UHSUB_V},   /* uhsub v6.4s, v0.4s, v31.4s */
      {0x2e262fce, EMU_OP_UQSUB_V},   /* uqsub v14.8b, v30.8b, v6.8b */
      {0x6e393779, EMU_OP_CMHI_V},    /* cmhi v25.16b, v27.16b, v25.16b */
      {0x6ea53c0f, EMU_OP_CMHS_V},    /* cmhs v15.4s, v0.4s, v5.4s */
      {0x2e69454c, EMU_OP_USHL_V},    /* ushl v12.4h, v10.4h, v9.4h */
      {0x2e7c4f67, EMU_OP_UQSHL_V},   /* uqshl v7.4h, v27.4h, v28.4h */
      {0x2e3c56bf, EMU_OP_URSHL_V},   /* urshl v31.8b, v21.8b, v28.8b */
      {0x2e365cdd, EMU_OP_UQRSHL_V},  /* uqrshl v29.8b, v6.8b, v22.8b */
      {0x2e646601, EMU_OP_UMAX_V},    /* umax v1.4h, v16.4h, v4.4h */
      {0x6eae6c89, EMU_OP_UMIN_V},    /* umin v9.4s, v4.4s, v14.4s */
      {0x6e2576cc, EMU_OP_UABD_V},    /* uabd v12.16b, v22.16b, v5.16b */
      {0x6eac7fe5, EMU_OP_UABA_V},    /* uaba v5.4s, v31.4s, v12.4s */
      {0x2e26870f, EMU_OP_SUB_V},     /* sub v15.8b, v24.8b, v6.8b */
      {0x6eb78d25, EMU_OP_CMEQ_V},    /* cmeq v5.4s, v9.4s, v23.4s */
      {0x6eb396ba, EMU_OP_MLS_V},     /* mls v26.4s, v21.4s, v19.4s */
      {0x6e279f76, EMU_OP_PMUL_V},    /* pmul v22.16b, v27.16b, v7.16b */
      {0x2e7ca6cc, EMU_OP_UMAXP_V},   /* umaxp v12.4h, v22.4h, v28.4h */
      {0x6eb4af20, EMU_OP_UMINP_V},   /* uminp v0.4s, v25.4s, v20.4s */
      {0x2ebcb60c, EMU_OP_SQRDMULH_V}, /* sqrdmulh v12.2s, v16.2s, v28.2s */
      {0x4e3b1ea3, EMU_OP_AND_V},      /* and v3.16b, v21.16b, v27.16b */
      {0x0e6d1e7e, EMU_OP_BIC_V},      /* bic v30.8b, v19.8b, v13.8b */
      {0x0ea71d68, EMU_OP_ORR_V},      /* orr v8.8b, v11.8b, v7.8b */
      {0x4ee81d2f, EMU_OP_ORN_V},      /* orn v15.16b, v9.16b, v8.16b */
      {0x2e3b1eb9, EMU_OP_EOR_V},      /* eor v25.8b, v21.8b, v27.8b */
      {0x6e621c60, EMU_OP_BSL_V},      /* bsl v0.16b, v3.16b, v2.16b */
      {0x2eae1f29, EMU_OP_BIT_V},      /* bit v9.8b, v25.8b, v14.8b */
      {0x6ef01ef3, EMU_OP_BIF_V},      /* bif v19.16b, v23.16b, v16.16b */
      {0x4e34c583, EMU_OP_FMAXNM_V},   /* fmaxnm v3.4s, v12.4s, v20.4s */
      {0x4eb4c58e, EMU_OP_FMINNM_V},   /* fminnm v14.4s, v12.4s, v20.4s */
      {0x0e2dcd2c, EMU_OP_FMLA_V},     /* fmla v12.2s, v9.2s, v13.2s */
      {0x0ebccd2d, EMU_OP_FMLS_V},     /* fmls v13.2s, v9.2s, v28.2s */
      {0x4e36d532, EMU_OP_FADD_V},     /* fadd v18.4s, v9.4s, v22.4s */
      {0x4eaed762, EMU_OP_FSUB_V},     /* fsub v2.4s, v27.4s, v14.4s */
      {0x4e7bdc2b, EMU_OP_FMULX_V},    /* fmulx v11.2d, v1.2d, v27.2d */
      {0x0e20e4aa, EMU_OP_FCMEQ_V},    /* fcmeq v10.2s, v5.2s, v0.2s */
      {0x4e63f5f5, EMU_OP_FMAX_V},     /* fmax v21.2d, v15.2d, v3.2d */
      {0x0eb9f48b, EMU_OP_FMIN_V},     /* fmin v11.2s, v4.2s, v25.2s */
      {0x0e27fd63, EMU_OP_FRECPS_V},   /* frecps v3.2s, v11.2s, v7.2s */
      {0x4eb2fed8, EMU_OP_FRSQRTS_V},  /* frsqrts v24.4s, v22.4s, v18.4s */
      {0x2e31c705, EMU_OP_FMAXNMP_V},  /* fmaxnmp v5.2s, v24.2s, v17.2s */
      {0x2ea9c7a8, EMU_OP_FMINNMP_V},  /* fminnmp v8.2s, v29.2s, v9.2s */
      {0x6e3dd63c, EMU_OP_FADDP_V},    /* faddp v28.4s, v17.4s, v29.4s */
      {0x6ef8d7f1, EMU_OP_FABD_V},     /* fabd v17.2d, v31.2d, v24.2d */
      {0x6e30dc40, EMU_OP_FMUL_V},     /* fmul v0.4s, v2.4s, v16.4s */
      {0x6e68e709, EMU_OP_FCMGE_V},    /* fcmge v9.2d, v24.2d, v8.2d */
      {0x2eb5e6f9, EMU_OP_FCMGT_V},    /* fcmgt v25.2s, v23.2s, v21.2s */
      {0x2e24ef48, EMU_OP_FACGE_V},    /* facge v8.2s, v26.2s, v4.2s */
      {0x6ef8efd2, EMU_OP_FACGT_V},    /* facgt v18.2d, v30.2d, v24.2d */
      {0x6e34f664, EMU_OP_FMAXP_V},    /* fmaxp v4.4s, v19.4s, v20.4s */
      {0x6ebdf7af, EMU_OP_FMINP_V},    /* fminp v15.4s, v29.4s, v29.4s */
      {0x2e3efe27, EMU_OP_FDIV_V},     /* fdiv v7.2s, v17.2s, v30.2s */
      {0x5ea50feb, EMU_OP_SQADD_S},    /* sqadd s11, s31, s5 */
      {0x5e382d05, EMU_OP_SQSUB_S},    /* sqsub b5, b8, b24 */
      {0x5ee6369a, EMU_OP_CMGT_S},     /* cmgt d26, d20, d6 */
      {0x5ef43ffe, EMU_OP_CMGE_S},     /* cmge d30, d31, d20 */
      {0x5ef84790, EMU_OP_SSHL_S},     /* sshl d16, d28, d24 */
      {0x5e2b4c86, EMU_OP_SQSHL_S},    /* sqshl b6, b4, b11 */
      {0x5eff55eb, EMU_OP_SRSHL_S},    /* srshl d11, d15, d31 */
      {0x5e215ef4, EMU_OP_SQRSHL_S},   /* sqrshl b20, b23, b1 */
      {0x5ee0855c, EMU_OP_ADD_S},      /* add d28, d10, d0 */
      {0x5efb8f6d, EMU_OP_CMTST_S},    /* cmtst d13, d27, d27 */
      {0x5e7bb576, EMU_OP_SQDMULH_S},  /* sqdmulh h22, h11, h27 */
      {0x7e660ff0, EMU_OP_UQADD_S},    /* uqadd h16, h31, h6 */
      {0x7ef62fc8, EMU_OP_UQSUB_S},    /* uqsub d8, d30, d22 */
      {0x7ee33493, EMU_OP_CMHI_S},     /* cmhi d19, d4, d3 */
      {0x7ee53e07, EMU_OP_CMHS_S},     /* cmhs d7, d16, d5 */
      {0x7eed4599, EMU_OP_USHL_S},     /* ushl d25, d12, d13 */
      {0x7e7b4f13, EMU_OP_UQSHL_S},    /* uqshl h19, h24, h27 */
      {0x7ef4554d, EMU_OP_URSHL_S},    /* urshl d13, d10, d20 */
      {0x7ea05cf3, EMU_OP_UQRSHL_S},   /* uqrshl s19, s7, s0 */
      {0x7ee086af, EMU_OP_SUB_S},      /* sub d15, d21, d0 */
      {0x7ee38fa6, EMU_OP_CMEQ_S},     /* cmeq d6, d29, d3 */
      {0x7ebbb56f, EMU_OP_SQRDMULH_S}, /* sqrdmulh s15, s11, s27 */
      {0x5e65dd49, EMU_OP_FMULX_S},    /* fmulx d9, d10, d5 */
      {0x5e27e603, EMU_OP_FCMEQ_S},    /* fcmeq s3, s16, s7 */
      {0x5e25ffc0, EMU_OP_FRECPS_S},   /* frecps s0, s30, s5 */
      {0x5ef6fc6c, EMU_OP_FRSQRTS_S},  /* frsqrts d12, d3, d22 */
      {0x7eb8d61c, EMU_OP_FABD_S},     /* fabd s28, s16, s24 */
      {0x7e36e7c8, EMU_OP_FCMGE_S},    /* fcmge s8, s30, s22 */
      {0x7eebe7b6, EMU_OP_FCMGT_S},    /* fcmgt d22, d29, d11 */
      {0x7e25eca6, EMU_OP_FACGE_S},    /* facge s6, s5, s5 */
      {0x7ef9ecb5, EMU_OP_FACGT_S},    /* facgt d21, d5, d25 */
      {0x4e2000c6, EMU_OP_SADDL_V},    /* saddl2 v6.8h, v6.16b, v0.16b */
      {0x4e361160, EMU_OP_SADDW_V},    /* saddw2 v0.8h, v11.8h, v22.16b */
      {0x0e6a2199, EMU_OP_SSUBL_V},    /* ssubl v25.4s, v12.4h, v10.4h */
      {0x0ea8333f, EMU_OP_SSUBW_V},    /* ssubw v31.2d, v25.2d, v8.2s */
      {0x4e294283, EMU_OP_ADDHN_V},    /* addhn2 v3.16b, v20.8h, v9.8h */
      {0x0e2c5177, EMU_OP_SABAL_V},    /* sabal v23.8h, v11.8b, v12.8b */
      {0x4ebd6352, EMU_OP_SUBHN_V},    /* subhn2 v18.4s, v26.2d, v29.2d */
      {0x0e2471bf, EMU_OP_SABDL_V},    /* sabdl v31.8h, v13.8b, v4.8b */
      {0x0eb482a1, EMU_OP_SMLAL_V},    /* smlal v1.2d, v21.2s, v20.2s */
      {0x4eb7907c, EMU_OP_SQDMLAL_V},  /* sqdmlal2 v28.2d, v3.4s, v23.4s */
      {0x0e26a00b, EMU_OP_SMLSL_V},    /* smlsl v11.8h, v0.8b, v6.8b */
      {0x4e70b33a, EMU_OP_SQDMLSL_V},  /* sqdmlsl2 v26.4s, v25.8h, v16.8h */
      {0x0e7ec102, EMU_OP_SMULL_V},    /* smull v2.4s, v8.4h, v30.4h */
      {0x4ea2d214, EMU_OP_SQDMULL_V},  /* sqdmull2 v20.2d, v16.4s, v2.4s */
      {0x0ef1e325, EMU_OP_PMULL_V},    /* pmull v5.1q, v25.1d, v17.1d */
      {0x6ebf0210, EMU_OP_UADDL_V},    /* uaddl2 v16.2d, v16.4s, v31.4s */
      {0x2e3b1220, EMU_OP_UADDW_V},    /* uaddw v0.8h, v17.8h, v27.8b */
      {0x2e6a212e, EMU_OP_USUBL_V},    /* usubl v14.4s, v9.4h, v10.4h */
      {0x2e3133b2, EMU_OP_USUBW_V},    /* usubw v18.8h, v29.8h, v17.8b */
      {0x6e6940bb, EMU_OP_RADDHN_V},   /* raddhn2 v27.8h, v5.4s, v9.4s */
      {0x6e3150be, EMU_OP_UABAL_V},    /* uabal2 v30.8h, v5.16b, v17.16b */
      {0x6e3a6270, EMU_OP_RSUBHN_V},   /* rsubhn2 v16.16b, v19.8h, v26.8h */
      {0x6e3372ac, EMU_OP_UABDL_V},    /* uabdl2 v12.8h, v21.16b, v19.16b */
      {0x6e7781b1, EMU_OP_UMLAL_V},    /* umlal2 v17.4s, v13.8h, v23.8h */
      {0x2e3ca06a, EMU_OP_UMLSL_V},    /* umlsl v10.8h, v3.8b, v28.8b */
      {0x2ea4c372, EMU_OP_UMULL_V},    /* umull v18.2d, v27.2s, v4.2s */
      {0x5eb893e0, EMU_OP_SQDMLAL_S},  /* sqdmlal d0, s31, s24 */
      {0x5eb6b05f, EMU_OP_SQDMLSL_S},  /* sqdmlsl d31, s2, s22 */
      {0x5e71d098, EMU_OP_SQDMULL_S},  /* sqdmull s24, h4, h17 */
      {0x0ea00894, EMU_OP_REV64_V},    /* rev64 v20.2s, v4.2s */
      {0x0e201ba6, EMU_OP_REV16_V},    /* rev16 v6.8b, v29.8b */
      {0x4e202ade, EMU_OP_SADDLP_V},   /* saddlp v30.8h, v22.16b */
      {0x0e203b49, EMU_OP_SUQADD_V},   /* suqadd v9.8b, v26.8b */
      {0x0e204a9f, EMU_OP_CLS_V},      /* cls v31.8b, v20.8b */
      {0x0e205875, EMU_OP_CNT_V},      /* cnt v21.8b, v3.8b */
      {0x4e606ba0, EMU_OP_SADALP_V},   /* sadalp v0.4s, v29.8h */
      {0x4e607a79, EMU_OP_SQABS_V},    /* sqabs v25.8h, v19.8h */
      {0x0e608981, EMU_OP_CMGT_Z_V},   /* cmgt v1.4h, v12.4h, #0 */
      {0x4ea09bd5, EMU_OP_CMEQ_Z_V},   /* cmeq v21.4s, v30.4s, #0 */
      {0x0ea0aaf0, EMU_OP_CMLT_Z_V},   /* cmlt v16.2s, v23.2s, #0 */
      {0x4e20b892, EMU_OP_ABS_V},      /* abs v18.16b, v4.16b */
      {0x4ea12bff, EMU_OP_XTN_V},      /* xtn2 v31.4s, v31.2d */
      {0x0ea14bd9, EMU_OP_SQXTN_V},    /* sqxtn v25.2s, v30.2d */
      {0x6e6008e5, EMU_OP_REV32_V},    /* rev32 v5.8h, v7.8h */
      {0x6ea02bf5, EMU_OP_UADDLP_V},   /* uaddlp v21.2d, v31.4s */
      {0x6e603a7e, EMU_OP_USQADD_V},   /* usqadd v30.8h, v19.8h */
      {0x2ea04bfe, EMU_OP_CLZ_V},      /* clz v30.2s, v31.2s */
      {0x6ea06a81, EMU_OP_UADALP_V},   /* uadalp v1.2d, v20.4s */
      {0x6e207a52, EMU_OP_SQNEG_V},    /* sqneg v18.16b, v18.16b */
      {0x6e208b66, EMU_OP_CMGE_Z_V},   /* cmge v6.16b, v27.16b, #0 */
      {0x6e6098b0, EMU_OP_CMLE_Z_V},   /* cmle v16.8h, v5.8h, #0 */
      {0x6e60b837, EMU_OP_NEG_V},      /* neg v23.8h, v1.8h */
      {0x6e2129ad, EMU_OP_SQXTUN_V},   /* sqxtun2 v13.16b, v13.8h */
      {0x6e21389e, EMU_OP_SHLL_V},     /* shll2 v30.8h, v4.16b, #8 */
      {0x2ea149a8, EMU_OP_UQXTN_V},    /* uqxtn v8.2s, v13.2d */
      {0x2e2058e3, EMU_OP_NOT_V},      /* mvn v3.8b, v7.8b */
      {0x2e605a07, EMU_OP_RBIT_V},     /* rbit v7.8b, v16.8b */
      {0x4e2168e2, EMU_OP_FCVTN_V},    /* fcvtn2 v2.8h, v7.4s */
      {0x4e617bd4, EMU_OP_FCVTL_V},    /* fcvtl2 v20.2d, v30.4s */
      {0x4e618802, EMU_OP_FRINTN_V},   /* frintn v2.2d, v0.2d */
      {0x4ee188ea, EMU_OP_FRINTP_V},   /* frintp v10.2d, v7.2d */
      {0x0e219a68, EMU_OP_FRINTM_V},   /* frintm v8.2s, v19.2s */
      {0x4ea19802, EMU_OP_FRINTZ_V},   /* frintz v2.4s, v0.4s */
      {0x4e61aa28, EMU_OP_FCVTNS_V},   /* fcvtns v8.2d, v17.2d */
      {0x0ea1aa63, EMU_OP_FCVTPS_V},   /* fcvtps v3.2s, v19.2s */
      {0x0e21bb4d, EMU_OP_FCVTMS_V},   /* fcvtms v13.2s, v26.2s */
      {0x0ea1bb9f, EMU_OP_FCVTZS_V},   /* fcvtzs v31.2s, v28.2s */
      {0x0e21cab4, EMU_OP_FCVTAS_V},   /* fcvtas v20.2s, v21.2s */
      {0x4ea1cbf1, EMU_OP_URECPE_V},   /* urecpe v17.4s, v31.4s */
      {0x0e21db24, EMU_OP_SCVTF_V},    /* scvtf v4.2s, v25.2s */
      {0x4ee1d98b, EMU_OP_FRECPE_V},   /* frecpe v11.2d, v12.2d */
      {0x4ee0caf2, EMU_OP_FCMGT_Z_V},  /* fcmgt v18.2d, v23.2d, #0.0 */
      {0x4ea0d911, EMU_OP_FCMEQ_Z_V},  /* fcmeq v17.4s, v8.4s, #0.0 */
      {0x4ee0eb44, EMU_OP_FCMLT_Z_V},  /* fcmlt v4.2d, v26.2d, #0.0 */
      {0x4ee0fbaa, EMU_OP_FABS_V},     /* fabs v10.2d, v29.2d */
      {0x6e616970, EMU_OP_FCVTXN_V},   /* fcvtxn2 v16.4s, v11.2d */
      {0x6e2189b0, EMU_OP_FRINTA_V},   /* frinta v16.4s, v13.4s */
      {0x6e619804, EMU_OP_FRINTX_V},   /* frintx v4.2d, v0.2d */
      {0x6ee19805, EMU_OP_FRINTI_V},   /* frinti v5.2d, v0.2d */
      {0x6e21a9e5, EMU_OP_FCVTNU_V},   /* fcvtnu v5.4s, v15.4s */
      {0x6ee1ab0a, EMU_OP_FCVTPU_V},   /* fcvtpu v10.2d, v24.2d */
      {0x6e21b92c, EMU_OP_FCVTMU_V},   /* fcvtmu v12.4s, v9.4s */
      {0x6ea1ba65, EMU_OP_FCVTZU_V},   /* fcvtzu v5.4s, v19.4s */
      {0x2e21cadb, EMU_OP_FCVTAU_V},   /* fcvtau v27.2s, v22.2s */
      {0x2ea1c99d, EMU_OP_URSQRTE_V},  /* ursqrte v29.2s, v12.2s */
      {0x6e61d920, EMU_OP_UCVTF_V},    /* ucvtf v0.2d, v9.2d */
      {0x6ea1db8d, EMU_OP_FRSQRTE_V},  /* frsqrte v13.4s, v28.4s */
      {0x6ea0ca75, EMU_OP_FCMGE_Z_V},  /* fcmge v21.4s, v19.4s, #0.0 */
      {0x2ea0da8f, EMU_OP_FCMLE_Z_V},  /* fcmle v15.2s, v20.2s, #0.0 */
      {0x6ea0fb2f, EMU_OP_FNEG_V},     /* fneg v15.4s, v25.4s */
      {0x6ee1fb64, EMU_OP_FSQRT_V},    /* fsqrt v4.2d, v27.2d */
      {0x5ee038d7, EMU_OP_SUQADD_S},   /* suqadd d23, d6 */
      {0x5e607a78, EMU_OP_SQABS_S},    /* sqabs h24, h19 */
      {0x5ee0886e, EMU_OP_CMGT_Z_S},   /* cmgt d14, d3, #0 */
      {0x5ee09ab2, EMU_OP_CMEQ_Z_S},   /* cmeq d18, d21, #0 */
      {0x5ee0a984, EMU_OP_CMLT_Z_S},   /* cmlt d4, d12, #0 */
      {0x5ee0b869, EMU_OP_ABS_S},      /* abs d9, d3 */
      {0x5ea14a33, EMU_OP_SQXTN_S},    /* sqxtn s19, d17 */
      {0x7e603860, EMU_OP_USQADD_S},   /* usqadd h0, h3 */
      {0x7ea07afb, EMU_OP_SQNEG_S},    /* sqneg s27, s23 */
      {0x7ee08a91, EMU_OP_CMGE_Z_S},   /* cmge d17, d20, #0 */
      {0x7ee09810, EMU_OP_CMLE_Z_S},   /* cmle d16, d0, #0 */
      {0x7ee0b8a3, EMU_OP_NEG_S},      /* neg d3, d5 */
      {0x7ea12a80, EMU_OP_SQXTUN_S},   /* sqxtun s0, d20 */
      {0x7e214964, EMU_OP_UQXTN_S},    /* uqxtn b4, h11 */
      {0x5e61a9b2, EMU_OP_FCVTNS_S},   /* fcvtns d18, d13 */
      {0x5ee1a8bd, EMU_OP_FCVTPS_S},   /* fcvtps d29, d5 */
      {0x5e21bb5a, EMU_OP_FCVTMS_S},   /* fcvtms s26, s26 */
      {0x5ea1b871, EMU_OP_FCVTZS_S},   /* fcvtzs s17, s3 */
      {0x5e61cba8, EMU_OP_FCVTAS_S},   /* fcvtas d8, d29 */
      {0x5e61d976, EMU_OP_SCVTF_S},    /* scvtf d22, d11 */
      {0x5ea1dbe1, EMU_OP_FRECPE_S},   /* frecpe s1, s31 */
      {0x5ee0c983, EMU_OP_FCMGT_Z_S},  /* fcmgt d3, d12, #0.0 */
      {0x5ea0db27, EMU_OP_FCMEQ_Z_S},  /* fcmeq s7, s25, #0.0 */
      {0x5ee0e8be, EMU_OP_FCMLT_Z_S},  /* fcmlt d30, d5, #0.0 */
      {0x5ea1f93f, EMU_OP_FRECPX_S},   /* frecpx s31, s9 */
      {0x7e6168af, EMU_OP_FCVTXN_S},   /* fcvtxn s15, d5 */
      {0x7e21a905, EMU_OP_FCVTNU_S},   /* fcvtnu s5, s8 */
      {0x7ea1a9b2, EMU_OP_FCVTPU_S},   /* fcvtpu s18, s13 */
      {0x7e21b92a, EMU_OP_FCVTMU_S},   /* fcvtmu s10, s9 */
      {0x7ee1bbf4, EMU_OP_FCVTZU_S},   /* fcvtzu d20, d31 */
      {0x7e21c928, EMU_OP_FCVTAU_S},   /* fcvtau s8, s9 */
      {0x7e61db4b, EMU_OP_UCVTF_S},    /* ucvtf d11, d26 */
      {0x7ea1d98b, EMU_OP_FRSQRTE_S},  /* frsqrte s11, s12 */
      {0x7ee0c9dd, EMU_OP_FCMGE_Z_S},  /* fcmge d29, d14, #0.0 */
      {0x7ee0d951, EMU_OP_FCMLE_Z_S},  /* fcmle d17, d10, #0.0 */
      {0x0e303823, EMU_OP_SADDLV},     /* saddlv h3, v1.8b */
      {0x4eb0a883, EMU_OP_SMAXV},      /* smaxv s3, v4.4s */
      {0x4e31a9bf, EMU_OP_SMINV},      /* sminv b31, v13.16b */
      {0x0e31b8a9, EMU_OP_ADDV},       /* addv b9, v5.8b */
      {0x6eb039a6, EMU_OP_UADDLV},     /* uaddlv d6, v13.4s */
      {0x6e30a884, EMU_OP_UMAXV},      /* umaxv b4, v4.16b */
      {0x6e31ab99, EMU_OP_UMINV},      /* uminv b25, v28.16b */
      {0x6e30c919, EMU_OP_FMAXNMV},    /* fmaxnmv s25, v8.4s */
      {0x6eb0cbc0, EMU_OP_FMINNMV},    /* fminnmv s0, v30.4s */
      {0x6e30fab5, EMU_OP_FMAXV},      /* fmaxv s21, v21.4s */
      {0x6eb0fbd3, EMU_OP_FMINV},      /* fminv s19, v30.4s */
      {0x5ef1bb0a, EMU_OP_ADDP_S},     /* addp d10, v24.2d */
      {0x7e30c859, EMU_OP_FMAXNMP_S},  /* fmaxnmp s25, v2.2s */
      {0x7ef0c805, EMU_OP_FMINNMP_S},  /* fminnmp d5, v0.2d */
      {0x7e70daa5, EMU_OP_FADDP_S},    /* faddp d5, v21.2d */
      {0x7e30fa48, EMU_OP_FMAXP_S},    /* fmaxp s8, v18.2s */
      {0x7eb0f81c, EMU_OP_FMINP_S},    /* fminp s28, v0.2s */
      {0x0f04f534,
       EMU_OP_FMOV_V_IMM},         /* fmov v20.2s, #-3.125000000000000000e+00 */
      {0x6f01e701, EMU_OP_MOVI_D}, /* movi v1.2d, #0xffffff000000 */
      {0x0f06c61b, EMU_OP_MOVI_MSL},     /* movi v27.2s, #0xd0, msl #8 */
      {0x2f01d6a3, EMU_OP_MVNI_MSL},     /* mvni v3.2s, #0x35, msl #16 */
      {0x0f05749b, EMU_OP_ORR_V_IMM},    /* orr v27.2s, #0xa4, lsl #24 */
      {0x6f0596e8, EMU_OP_BIC_V_IMM},    /* bic v8.8h, #0xb7 */
      {0x0f000759, EMU_OP_MOVI},         /* movi v25.2s, #0x1a */
      {0x2f07876f, EMU_OP_MVNI},         /* mvni v15.4h, #0xfb */
      {0x4f60052f, EMU_OP_SSHR_V},       /* sshr v15.2d, v9.2d, #32 */
      {0x4f2a159e, EMU_OP_SSRA_V},       /* ssra v30.4s, v12.4s, #22 */
      {0x0f08276a, EMU_OP_SRSHR_V},      /* srshr v10.8b, v27.8b, #8 */
      {0x4f19345c, EMU_OP_SRSRA_V},      /* srsra v28.8h, v2.8h, #7 */
      {0x4f525608, EMU_OP_SHL_V},        /* shl v8.2d, v16.2d, #18 */
      {0x4f3277a6, EMU_OP_SQSHL_IMM_V},  /* sqshl v6.4s, v29.4s, #18 */
      {0x0f2687ea, EMU_OP_SHRN_V},       /* shrn v10.2s, v31.2d, #26 */
      {0x4f2d8c58, EMU_OP_RSHRN_V},      /* rshrn2 v24.4s, v2.2d, #19 */
      {0x0f3d9604, EMU_OP_SQSHRN_V},     /* sqshrn v4.2s, v16.2d, #3 */
      {0x0f339d3e, EMU_OP_SQRSHRN_V},    /* sqrshrn v30.2s, v9.2d, #13 */
      {0x4f16a54f, EMU_OP_SSHLL_V},      /* sshll2 v15.4s, v10.8h, #6 */
      {0x4f6ce6b8, EMU_OP_SCVTF_FIX_V},  /* scvtf v24.2d, v21.2d, #20 */
      {0x4f48ff9b, EMU_OP_FCVTZS_FIX_V}, /* fcvtzs v27.2d, v28.2d, #56 */
      {0x6f390636, EMU_OP_USHR_V},       /* ushr v22.4s, v17.4s, #7 */
      {0x2f151586, EMU_OP_USRA_V},       /* usra v6.4h, v12.4h, #11 */
      {0x6f5126ad, EMU_OP_URSHR_V},      /* urshr v13.2d, v21.2d, #47 */
      {0x6f1a3675, EMU_OP_URSRA_V},      /* ursra v21.8h, v19.8h, #6 */
      {0x2f0f4533, EMU_OP_SRI_V},        /* sri v19.8b, v9.8b, #1 */
      {0x2f255439, EMU_OP_SLI_V},        /* sli v25.2s, v1.2s, #5 */
      {0x2f0866f0, EMU_OP_SQSHLU_V},     /* sqshlu v16.8b, v23.8b, #0 */
      {0x6f24772a, EMU_OP_UQSHL_IMM_V},  /* uqshl v10.4s, v25.4s, #4 */
      {0x2f1c874b, EMU_OP_SQSHRUN_V},    /* sqshrun v11.4h, v26.4s, #4 */
      {0x6f368f4e, EMU_OP_SQRSHRUN_V},   /* sqrshrun2 v14.4s, v26.2d, #10 */
      {0x6f119637, EMU_OP_UQSHRN_V},     /* uqshrn2 v23.8h, v17.4s, #15 */
      {0x6f199c06, EMU_OP_UQRSHRN_V},    /* uqrshrn2 v6.8h, v0.4s, #7 */
      {0x6f32a7c6, EMU_OP_USHLL_V},      /* ushll2 v6.2d, v30.4s, #18 */
      {0x6f6de653, EMU_OP_UCVTF_FIX_V},  /* ucvtf v19.2d, v18.2d, #19 */
      {0x6f64fc6f, EMU_OP_FCVTZU_FIX_V}, /* fcvtzu v15.2d, v3.2d, #28 */
      {0x5f67055f, EMU_OP_SSHR_S},       /* sshr d31, d10, #25 */
      {0x5f4517d4, EMU_OP_SSRA_S},       /* ssra d20, d30, #59 */
      {0x5f482410, EMU_OP_SRSHR_S},      /* srshr d16, d0, #56 */
      {0x5f47353e, EMU_OP_SRSRA_S},      /* srsra d30, d9, #57 */
      {0x5f465698, EMU_OP_SHL_S},        /* shl d24, d20, #6 */
      {0x5f2f7769, EMU_OP_SQSHL_IMM_S},  /* sqshl s9, s27, #15 */
      {0x5f0d9706, EMU_OP_SQSHRN_S},     /* sqshrn b6, h24, #3 */
      {0x5f179de8, EMU_OP_SQRSHRN_S},    /* sqrshrn h8, s15, #9 */
      {0x5f61e7fd, EMU_OP_SCVTF_FIX_S},  /* scvtf d29, d31, #31 */
      {0x5f7bfee8, EMU_OP_FCVTZS_FIX_S}, /* fcvtzs d8, d23, #5 */
      {0x7f7f063e, EMU_OP_USHR_S},       /* ushr d30, d17, #1 */
      {0x7f6e1739, EMU_OP_USRA_S},       /* usra d25, d25, #18 */
      {0x7f47273b, EMU_OP_URSHR_S},      /* urshr d27, d25, #57 */
      {0x7f5137cd, EMU_OP_URSRA_S},      /* ursra d13, d30, #47 */
      {0x7f5745c6, EMU_OP_SRI_S},        /* sri d6, d14, #41 */
      {0x7f755692, EMU_OP_SLI_S},        /* sli d18, d20, #53 */
      {0x7f6c6639, EMU_OP_SQSHLU_S},     /* sqshlu d25, d17, #44 */
      {0x7f127564, EMU_OP_UQSHL_IMM_S},  /* uqshl h4, h11, #2 */
      {0x7f338527, EMU_OP_SQSHRUN_S},    /* sqshrun s7, d9, #13 */
      {0x7f328d74, EMU_OP_SQRSHRUN_S},   /* sqrshrun s20, d11, #14 */
      {0x7f0d9522, EMU_OP_UQSHRN_S},     /* uqshrn b2, h9, #3 */
      {0x7f139f0d, EMU_OP_UQRSHRN_S},    /* uqrshrn h13, s24, #13 */
      {0x7f70e651, EMU_OP_UCVTF_FIX_S},  /* ucvtf d17, d18, #16 */
      {0x7f55fe0f, EMU_OP_FCVTZU_FIX_S}, /* fcvtzu d15, d16, #43 */
      {0x4f6b2846, EMU_OP_SMLAL_ELEM_V}, /* smlal2 v6.4s, v2.8h, v11.h[6] */
      {0x4f603a10,
       EMU_OP_SQDMLAL_ELEM_V},           /* sqdmlal2 v16.4s, v16.8h, v0.h[6] */
      {0x0f876123, EMU_OP_SMLSL_ELEM_V}, /* smlsl v3.2d, v9.2s, v7.s[0] */
      {0x4f9f71ce,
       EMU_OP_SQDMLSL_ELEM_V},           /* sqdmlsl2 v14.2d, v14.4s, v31.s[0] */
      {0x4fae8b1c, EMU_OP_MUL_ELEM_V},   /* mul v28.4s, v24.4s, v14.s[3] */
      {0x4fb9a3a3, EMU_OP_SMULL_ELEM_V}, /* smull2 v3.2d, v29.4s, v25.s[1] */
      {0x0f4dbaaa,
       EMU_OP_SQDMULL_ELEM_V}, /* sqdmull v10.4s, v21.4h, v13.h[4] */
      {0x4f6fc84e, EMU_OP_SQDMULH_ELEM_V}, /* sqdmulh v14.8h, v2.8h, v15.h[6] */
      {0x4f6bd871,
       EMU_OP_SQRDMULH_ELEM_V},          /* sqrdmulh v17.8h, v3.8h, v11.h[6] */
      {0x2f97037e, EMU_OP_MLA_ELEM_V},   /* mla v30.2s, v27.2s, v23.s[0] */
      {0x2f582b2f, EMU_OP_UMLAL_ELEM_V}, /* umlal v15.4s, v25.4h, v8.h[5] */
      {0x2fb341f8, EMU_OP_MLS_ELEM_V},   /* mls v24.2s, v15.2s, v19.s[1] */
      {0x2f9e6ad3, EMU_OP_UMLSL_ELEM_V}, /* umlsl v19.2d, v22.2s, v30.s[2] */
      {0x2f4ca304, EMU_OP_UMULL_ELEM_V}, /* umull v4.4s, v24.4h, v12.h[0] */
      {0x4fcc104a, EMU_OP_FMLA_ELEM_V},  /* fmla v10.2d, v2.2d, v12.d[0] */
      {0x4f8b58c7, EMU_OP_FMLS_ELEM_V},  /* fmls v7.4s, v6.4s, v11.s[2] */
      {0x4fb39255, EMU_OP_FMUL_ELEM_V},  /* fmul v21.4s, v18.4s, v19.s[1] */
      {0x6fdc9bdb, EMU_OP_FMULX_ELEM_V}, /* fmulx v27.2d, v30.2d, v28.d[1] */
      {0x5f8e3106, EMU_OP_SQDMLAL_ELEM_S},  /* sqdmlal d6, s8, v14.s[0] */
      {0x5f4f7b62, EMU_OP_SQDMLSL_ELEM_S},  /* sqdmlsl s2, h27, v15.h[4] */
      {0x5f89b9be, EMU_OP_SQDMULL_ELEM_S},  /* sqdmull d30, s13, v9.s[2] */
      {0x5f91cb48, EMU_OP_SQDMULH_ELEM_S},  /* sqdmulh s8, s26, v17.s[2] */
      {0x5f5ed3bc, EMU_OP_SQRDMULH_ELEM_S}, /* sqrdmulh h28, h29, v14.h[1] */
      {0x5fb1114e, EMU_OP_FMLA_ELEM_S},     /* fmla s14, s10, v17.s[1] */
      {0x5fc55b46, EMU_OP_FMLS_ELEM_S},     /* fmls d6, d26, v5.d[1] */
      {0x5fb09bbf, EMU_OP_FMUL_ELEM_S},     /* fmul s31, s29, v16.s[3] */
      {0x7fb293ae, EMU_OP_FMULX_ELEM_S},    /* fmulx s14, s29, v18.s[1] */
      {0x4e140402, EMU_OP_DUP_ELEM_V},      /* dup v2.4s, v0.s[2] */
      {0x0e140ee5, EMU_OP_DUP_GEN},         /* dup v5.2s, w23 */
      {0x4e1e1c3b, EMU_OP_INS_GEN},         /* mov v27.h[7], w1 */
      {0x4e032cd7, EMU_OP_SMOV},            /* smov x23, v6.b[1] */
      {0x0e123c8c, EMU_OP_UMOV},            /* umov w12, v4.h[4] */
      {0x6e077f22, EMU_OP_INS_ELEM},        /* mov v2.b[3], v25.b[15] */
      {0x5e0306e5, EMU_OP_DUP_ELEM_S},      /* mov b5, v23.b[1] */
      {0x4e8619cb, EMU_OP_UZP1},            /* uzp1 v11.4s, v14.4s, v6.4s */
      {0x4e5e2a29, EMU_OP_TRN1},            /* trn1 v9.8h, v17.8h, v30.8h */
      {0x0e873bf8, EMU_OP_ZIP1},            /* zip1 v24.2s, v31.2s, v7.2s */
      {0x4e9c5b0a, EMU_OP_UZP2},            /* uzp2 v10.4s, v24.4s, v28.4s */
      {0x0e176b0b, EMU_OP_TRN2},            /* trn2 v11.8b, v24.8b, v23.8b */
      {0x4e04781b, EMU_OP_ZIP2},            /* zip2 v27.16b, v0.16b, v4.16b */
      {0x2e0b20d2, EMU_OP_EXT},             /* ext v18.8b, v6.8b, v11.8b, #4 */
      {0x0e1d03e1, EMU_OP_TBL},             /* tbl v1.8b, {v31.16b}, v29.8b */
      {0x4e025180, EMU_OP_TBX},     /* tbx v0.16b, {v12.16b-v14.16b}, v2.16b */
      {0x0c000946, EMU_OP_ST4_M},   /* st4 {v6.2s-v9.2s}, [x10] */
      {0x4c002884, EMU_OP_ST1_M_4}, /* st1 {v4.4s-v7.4s}, [x4] */
      {0x0c004afa, EMU_OP_ST3_M},   /* st3 {v26.2s-v28.2s}, [x23] */
      {0x0c006102, EMU_OP_ST1_M_3}, /* st1 {v2.8b-v4.8b}, [x8] */
      {0x4c007199, EMU_OP_ST1_M_1}, /* st1 {v25.16b}, [x12] */
      {0x4c00874f, EMU_OP_ST2_M},   /* st2 {v15.8h, v16.8h}, [x26] */
      {0x0c00acbe, EMU_OP_ST1_M_2}, /* st1 {v30.1d, v31.1d}, [x5] */
      {0x4c400edc, EMU_OP_LD4_M},   /* ld4 {v28.2d-v31.2d}, [x22] */
      {0x4c4025e5, EMU_OP_LD1_M_4}, /* ld1 {v5.8h-v8.8h}, [x15] */
      {0x4c4046af, EMU_OP_LD3_M},   /* ld3 {v15.8h-v17.8h}, [x21] */
      {0x4c4067b8, EMU_OP_LD1_M_3}, /* ld1 {v24.8h-v26.8h}, [x29] */
      {0x4c407524, EMU_OP_LD1_M_1}, /* ld1 {v4.8h}, [x9] */
      {0x0c408360, EMU_OP_LD2_M},   /* ld2 {v0.8b, v1.8b}, [x27] */
      {0x0c40aac0, EMU_OP_LD1_M_2}, /* ld1 {v0.2s, v1.2s}, [x22] */
      {0x0c8a0a03, EMU_OP_ST4_M_POST},   /* st4 {v3.2s-v6.2s}, [x16], x10 */
      {0x4c832680, EMU_OP_ST1_M_4_POST}, /* st1 {v0.8h-v3.8h}, [x20], x3 */
      {0x4c9d4fa7, EMU_OP_ST3_M_POST},   /* st3 {v7.2d-v9.2d}, [x29], x29 */
      {0x4c946bef, EMU_OP_ST1_M_3_POST}, /* st1 {v15.4s-v17.4s}, [sp], x20 */
      {0x4c9a7d64, EMU_OP_ST1_M_1_POST}, /* st1 {v4.2d}, [x11], x26 */
      {0x4c85873d, EMU_OP_ST2_M_POST},   /* st2 {v29.8h, v30.8h}, [x25], x5 */
      {0x4c80a95f, EMU_OP_ST1_M_2_POST}, /* st1 {v31.4s, v0.4s}, [x10], x0 */
      {0x0cc30820, EMU_OP_LD4_M_POST},   /* ld4 {v0.2s-v3.2s}, [x1], x3 */
      {0x4cdd2ca3, EMU_OP_LD1_M_4_POST}, /* ld1 {v3.2d-v6.2d}, [x5], x29 */
      {0x0cc04618, EMU_OP_LD3_M_POST},   /* ld3 {v24.4h-v26.4h}, [x16], x0 */
      {0x4cd76f7b, EMU_OP_LD1_M_3_POST}, /* ld1 {v27.2d-v29.2d}, [x27], x23 */
      {0x0cc57189, EMU_OP_LD1_M_1_POST}, /* ld1 {v9.8b}, [x12], x5 */
      {0x0cc582ec, EMU_OP_LD2_M_POST},   /* ld2 {v12.8b, v13.8b}, [x23], x5 */
      {0x0ccda8b4, EMU_OP_LD1_M_2_POST}, /* ld1 {v20.2s, v21.2s}, [x5], x13 */
      {0x4d40cb6e, EMU_OP_LD1R},         /* ld1r {v14.4s}, [x27] */
      {0x4d401107, EMU_OP_LD1_S},        /* ld1 {v7.b}[12], [x8] */
      {0x4d40e50d, EMU_OP_LD3R},         /* ld3r {v13.8h-v15.8h}, [x8] */
      {0x4d40a10a, EMU_OP_LD3_S},        /* ld3 {v10.s-v12.s}[2], [x8] */
      {0x4d60c502, EMU_OP_LD2R},         /* ld2r {v2.8h, v3.8h}, [x8] */
      {0x0d6053c9, EMU_OP_LD2_S},        /* ld2 {v9.h, v10.h}[2], [x30] */
      {0x4d60e573, EMU_OP_LD4R},         /* ld4r {v19.8h-v22.8h}, [x11] */
      {0x4d603d1e, EMU_OP_LD4_S}, /* ld4 {v30.b, v31.b, v0.b, v1.b}[15], [x8] */
      {0x4d00480c, EMU_OP_ST1_S}, /* st1 {v12.h}[5], [x0] */
      {0x4d00b32e, EMU_OP_ST3_S}, /* st3 {v14.s-v16.s}[3], [x25] */
      {0x0d200dd4, EMU_OP_ST2_S}, /* st2 {v20.b, v21.b}[3], [x14] */
      {0x4d202f64, EMU_OP_ST4_S}, /* st4 {v4.b-v7.b}[11], [x27] */
      {0x0dd2caef, EMU_OP_LD1R_POST},  /* ld1r {v15.2s}, [x23], x18 */
      {0x0dd00ab7, EMU_OP_LD1_S_POST}, /* ld1 {v23.b}[2], [x21], x16 */
      {0x4dd7ea7b, EMU_OP_LD3R_POST},  /* ld3r {v27.4s-v29.4s}, [x19], x23 */
      {0x4dd5a037, EMU_OP_LD3_S_POST}, /* ld3 {v23.s-v25.s}[2], [x1], x21 */
      {0x0dedc2c2, EMU_OP_LD2R_POST},  /* ld2r {v2.8b, v3.8b}, [x22], x13 */
      {0x4de95af2, EMU_OP_LD2_S_POST}, /* ld2 {v18.h, v19.h}[7], [x23], x9 */
      {0x0de3e412, EMU_OP_LD4R_POST},  /* ld4r {v18.4h-v21.4h}, [x0], x3 */
      {0x4dee2332, EMU_OP_LD4_S_POST}, /* ld4 {v18.b-v21.b}[8], [x25], x14 */
      {0x4d8b0f1d, EMU_OP_ST1_S_POST}, /* st1 {v29.b}[11], [x24], x11 */
      {0x0d892ae4, EMU_OP_ST3_S_POST}, /* st3 {v4.b-v6.b}[2], [x23], x9 */
      {0x0db11df3, EMU_OP_ST2_S_POST}, /* st2 {v19.b, v20.b}[7], [x15], x17 */
      {0x4da22810, EMU_OP_ST4_S_POST}, /* st4 {v16.b-v19.b}[10], [x0], x2 */
      {0x7d30dcd2, EMU_OP_STR_F_UIMM}, /* str h18, [x6, #6254] */
      {0xfd66ed54, EMU_OP_LDR_F_UIMM}, /* ldr d20, [x10, #19928] */
      {0xfc1ad3c1, EMU_OP_STUR_F},     /* stur d1, [x30, #-83] */
      {0x7c4cd02e, EMU_OP_LDUR_F},     /* ldur h14, [x1, #205] */
      {0xfc1fb780, EMU_OP_STR_F_POST}, /* str d0, [x28], #-5 */
      {0x3c445425, EMU_OP_LDR_F_POST}, /* ldr b5, [x1], #69 */
      {0x3c9becbe, EMU_OP_STR_F_PRE},  /* str q30, [x5, #-66]! */
      {0x3cd73f67, EMU_OP_LDR_F_PRE},  /* ldr q7, [x27, #-141]! */
      {0xbc2d4966, EMU_OP_STR_F_REG},  /* str s6, [x11, w13, uxtw] */
      {0xfc734a04, EMU_OP_LDR_F_REG},  /* ldr d4, [x16, w19, uxtw] */
      {0x9c92d642, EMU_OP_LDR_F_LIT},  /* ldr q2, 0xfffffffffff28690 */
      {0xac04ede6, EMU_OP_STNP_F},     /* stnp q6, q27, [x15, #144] */
      {0xac7726de, EMU_OP_LDNP_F},     /* ldnp q30, q9, [x22, #-288] */
      {0xacb2629a, EMU_OP_STP_F_POST}, /* stp q26, q24, [x20], #-448 */
      {0x6cd406ad, EMU_OP_LDP_F_POST}, /* ldp d13, d1, [x21], #320 */
      {0x6d183fba, EMU_OP_STP_F},      /* stp d26, d15, [x29, #384] */
      {0x6d49966c, EMU_OP_LDP_F},      /* ldp d12, d5, [x19, #152] */
      {0x6d982166, EMU_OP_STP_F_PRE},  /* stp d6, d8, [x11, #384]! */
      {0xaddbe1b4, EMU_OP_LDP_F_PRE},  /* ldp q20, q24, [x13, #880]! */
  };
  bool row[EMU_OP_COUNT] = {false};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct emu_insn in;
    assert_false(emu_decode(&in, cases[i].raw, 0x1000));
    if (in.op != cases[i].op)
      fail_msg("%08x: %s, expected %s", cases[i].raw, emu_op_name[in.op],
               emu_op_name[cases[i].op]);
    assert_true(in.fn != NULL && in.fn != emu_h_undef);
    row[cases[i].op] = true;
  }
  unsigned n = 0;
  for (unsigned op = 0; op < EMU_OP_COUNT; op++) {
    if (!fpsimd_op(op))
      continue;
    n++;
    const char *name = emu_op_name[op];
    if (!row[op])
      fail_msg("op %s has no row", name);
    assert_non_null(name);
    assert_true(strlen(name) >= 3);
    for (const char *c = name; *c; c++)
      assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                  *c == '_');
    for (unsigned o = 0; o < op; o++)
      assert_false(emu_op_name[o] && !strcmp(emu_op_name[o], name));
    assert_null(emu_exec_helper[op]); /* the handler is the helper */
  }
  assert_int_equal(n, sizeof cases / sizeof cases[0]);
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
    bool pattern = emu_op_pattern[op].mask != 0 && !fpsimd_op(op);
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
      cmocka_unit_test(test_fpsimd_ops),
      cmocka_unit_test(test_exec_helpers),
      cmocka_unit_test(test_stats_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
