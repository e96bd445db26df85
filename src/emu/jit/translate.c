/* translate.c — the AArch64 → x86-64 block translator (see translate.h).
 *
 * Host register use inside a translation: rbx = cpu, rbp = the block's
 * insn array (helper calls pass &insn[i] as rbp + disp), rax/rcx/rdx/
 * rsi/rdi scratch, dead across helper calls (guest state lives in *cpu
 * only, so a helper or a longjmp never finds it stale).
 *
 * Runs on the CPU's thread; struct emu_jit is that CPU's alone.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "emu/decode.h"
#include "emu/jit/chain.h"
#include "emu/jit/emit.h"
#include "emu/jit/translate.h"

#define CPU XE_RBX
#define INSNS XE_RBP

static struct xe_mem reg_m(unsigned r) {
  return xe_m(CPU, (int32_t)(offsetof(struct emu_cpu, r) + 8 * r));
}
static struct xe_mem pc_m(void) {
  return xe_m(CPU, (int32_t)offsetof(struct emu_cpu, pc));
}
static struct xe_mem nzcv_m(void) {
  return xe_m(CPU, (int32_t)offsetof(struct emu_cpu, nzcv));
}

static bool fits32(uint64_t v) { return (int64_t)v == (int32_t)v; }

/* rax (sz bits) op= imm, through rcx when imm does not fit an imm32. */
static void alu_imm(struct xe_buf *b, enum xe_alu op, unsigned sz,
                    uint64_t imm) {
  if (sz == 32)
    imm = (uint32_t)imm;
  if (fits32(imm) || sz == 32) {
    xe_alu_ri(b, op, sz, XE_RAX, (int32_t)(uint32_t)imm);
  } else {
    xe_mov_ri(b, XE_RCX, imm);
    xe_alu_rr(b, op, sz, XE_RAX, XE_RCX);
  }
}

/* cpu->nzcv from the host flags of the last ALU op: N = SF, Z = ZF,
 * C = the given condition (CF for additions, !CF for subtractions, where
 * Arm's carry is "no borrow"), V = OF. Clobbers rax (emit.h). */
static void flags_to_nzcv(struct xe_buf *b, enum xe_cc carry) {
  jit_flags_to_nzcv(b, carry);
}

static const enum xe_shift shift_of[4] = {XE_SHL, XE_SHR, XE_SAR, XE_ROR};

/* rcx = r[rm] shifted as the insn says (a = amount, c = type). */
static void shifted_rm(struct xe_buf *b, const struct emu_insn *in,
                       unsigned sz) {
  xe_load(b, 64, XE_RCX, reg_m(in->rm));
  if (in->a)
    xe_shift_ri(b, shift_of[in->c & 3], sz, XE_RCX, in->a);
}

/* cpu->pc = cond ? taken : in->pc + 4, for a condition in host flags. */
static void branch_cc(struct xe_buf *b, enum xe_cc cc, uint64_t taken,
                      uint64_t pc) {
  xe_mov_ri(b, XE_RCX, taken);
  xe_mov_ri(b, XE_RDX, pc + 4);
  xe_cmov(b, cc, 64, XE_RDX, XE_RCX);
  xe_store(b, 64, pc_m(), XE_RDX);
}

bool emu_jit_inline_op(const struct emu_insn *in) {
  if (emu_jit_chain_exit_op(in)) /* branches: jit/chain.c */
    return true;
  switch (in->op) {
  case EMU_OP_ADD_IMM:
  case EMU_OP_SUB_IMM:
  case EMU_OP_ADDS_IMM:
  case EMU_OP_SUBS_IMM:
  case EMU_OP_MOVZ:
  case EMU_OP_MOVN:
  case EMU_OP_ADR:
  case EMU_OP_ADRP:
  case EMU_OP_AND_SH:
  case EMU_OP_ORR_SH:
  case EMU_OP_EOR_SH:
  case EMU_OP_ANDS_SH:
  case EMU_OP_ADD_SH:
  case EMU_OP_SUB_SH:
  case EMU_OP_ADDS_SH:
  case EMU_OP_SUBS_SH:
  case EMU_OP_B:
  case EMU_OP_BL:
  case EMU_OP_BR:
  case EMU_OP_RET:
  case EMU_OP_CBZ:
  case EMU_OP_CBNZ:
  case EMU_OP_B_COND:
  case EMU_OP_END_BLOCK:
    return true;
  default: /* the emitters of emit_ldst.c and emit_dp.c */
    return jit_ldst_inline(in) || jit_dp_inline(in);
  }
}

/* The inline forms. Each reads every operand before it writes anything
 * (rd may equal rn or rm). */
static void emit_inline(struct xe_buf *b, const struct emu_insn *in) {
  unsigned sz = in->sf ? 64 : 32;
  switch (in->op) {
  case EMU_OP_ADD_IMM:
  case EMU_OP_SUB_IMM: /* imm already negated for SUB */
    xe_load(b, 64, XE_RAX, reg_m(in->rn));
    alu_imm(b, XE_ADD, sz, in->imm);
    xe_store(b, 64, reg_m(in->rd), XE_RAX);
    break;
  case EMU_OP_ADDS_IMM:
  case EMU_OP_SUBS_IMM: {
    /* decode stored ~imm and carry 1 for SUBS: subtract the original */
    bool sub = in->imm2 != 0;
    uint64_t imm = sub ? ~in->imm : in->imm;
    xe_load(b, 64, XE_RAX, reg_m(in->rn));
    alu_imm(b, sub ? XE_SUB : XE_ADD, sz, imm);
    xe_store(b, 64, reg_m(in->rd), XE_RAX);
    flags_to_nzcv(b, sub ? XE_AE : XE_B);
    break;
  }
  case EMU_OP_MOVZ:
  case EMU_OP_MOVN:
  case EMU_OP_ADR:
  case EMU_OP_ADRP:
    xe_mov_ri(b, XE_RAX, in->imm);
    xe_store(b, 64, reg_m(in->rd), XE_RAX);
    break;
  case EMU_OP_AND_SH:
  case EMU_OP_ORR_SH:
  case EMU_OP_EOR_SH:
  case EMU_OP_ANDS_SH: {
    enum xe_alu op = in->op == EMU_OP_ORR_SH   ? XE_OR
                     : in->op == EMU_OP_EOR_SH ? XE_XOR
                                               : XE_AND;
    shifted_rm(b, in, sz);
    xe_load(b, 64, XE_RAX, reg_m(in->rn));
    xe_alu_rr(b, op, sz, XE_RAX, XE_RCX);
    xe_store(b, 64, reg_m(in->rd), XE_RAX);
    if (in->op == EMU_OP_ANDS_SH) /* x86 AND clears CF and OF: C = V = 0 */
      flags_to_nzcv(b, XE_B);
    break;
  }
  case EMU_OP_ADD_SH:
  case EMU_OP_SUB_SH:
  case EMU_OP_ADDS_SH:
  case EMU_OP_SUBS_SH: {
    bool sub = in->op == EMU_OP_SUB_SH || in->op == EMU_OP_SUBS_SH;
    shifted_rm(b, in, sz);
    xe_load(b, 64, XE_RAX, reg_m(in->rn));
    xe_alu_rr(b, sub ? XE_SUB : XE_ADD, sz, XE_RAX, XE_RCX);
    xe_store(b, 64, reg_m(in->rd), XE_RAX);
    if (in->op == EMU_OP_ADDS_SH || in->op == EMU_OP_SUBS_SH)
      flags_to_nzcv(b, sub ? XE_AE : XE_B);
    break;
  }
  case EMU_OP_BL:
    xe_mov_ri(b, XE_RAX, in->pc + 4);
    xe_store(b, 64, reg_m(30), XE_RAX);
    /* fall through */
  case EMU_OP_B:
    xe_mov_ri(b, XE_RAX, in->imm);
    xe_store(b, 64, pc_m(), XE_RAX);
    break;
  case EMU_OP_BR:
  case EMU_OP_RET:
    xe_load(b, 64, XE_RAX, reg_m(in->rn));
    xe_store(b, 64, pc_m(), XE_RAX);
    break;
  case EMU_OP_CBZ:
  case EMU_OP_CBNZ:
    xe_load(b, 64, XE_RAX, reg_m(in->rd));
    xe_test_rr(b, sz, XE_RAX, XE_RAX);
    branch_cc(b, in->op == EMU_OP_CBZ ? XE_E : XE_NE, in->imm, in->pc);
    break;
  case EMU_OP_B_COND:
    /* taken iff bit (nzcv >> 28) of emu_cond_table[cond] */
    xe_load(b, 32, XE_RCX, nzcv_m());
    xe_shift_ri(b, XE_SHR, 32, XE_RCX, 28);
    xe_mov_ri(b, XE_RAX, emu_cond_table[in->b & 15]);
    xe_shift_rcl(b, XE_SHR, 32, XE_RAX);
    xe_test_ri(b, 32, XE_RAX, 1);
    branch_cc(b, XE_NE, in->imm, in->pc);
    break;
  case EMU_OP_END_BLOCK:
    xe_mov_ri(b, XE_RAX, in->pc);
    xe_store(b, 64, pc_m(), XE_RAX);
    break;
  default:
    xe_fail(b, "emit_inline: op not inline");
  }
}

static void emit_call(struct xe_buf *b, uint64_t fn, bool near) {
  if (near)
    xe_call_abs(b, fn);
  else
    xe_call_far(b, fn, XE_RAX);
}

int emu_jit_emit_chained(struct xe_buf *b, const struct emu_insn *insn,
                         unsigned count, bool near, struct emu_jit_chain *c,
                         unsigned *inl, unsigned *hlp) {
  unsigned ni = 0, nh = 0;
  /* Blocks with breakpoint checks are left to the interpreter on
   * purpose (-EOPNOTSUPP); anything else that cannot be emitted is a
   * translator bug (-EINVAL). */
  for (unsigned i = 0; i < count; i++)
    if (insn[i].op == EMU_OP_BP_CHECK)
      return -EOPNOTSUPP;
  for (unsigned i = 0; i < count; i++)
    if (insn[i].op >= EMU_OP_COUNT)
      return -EINVAL;
  if (count == 0)
    return -EINVAL;
  /* entries, checks and exits: jit/chain.h */
  emu_jit_chain_head(b, c);
  emu_jit_chain_body(b, c, insn);
  struct jit_ctx ctx = {.b = b, .insn = insn, .near = near};
  for (unsigned i = 0; i < count; i++) {
    const struct emu_insn *in = &insn[i];
    if (i == count - 1 && emu_jit_chain_exit(b, c, in)) {
      ni++;
      continue;
    }
    if (jit_ldst_inline(in)) {
      jit_emit_ldst(&ctx, i);
      ni++;
      continue;
    }
    if (jit_dp_inline(in)) {
      jit_emit_dp(&ctx, i);
      ni++;
      continue;
    }
    if (emu_jit_inline_op(in)) {
      emit_inline(b, in);
      ni++;
      continue;
    }
    emu_exec_fn h = emu_exec_helper[in->op];
    xe_mov_rr(b, 64, XE_RDI, CPU);
    xe_lea(b, 64, XE_RSI, xe_m(INSNS, (int32_t)(i * sizeof(struct emu_insn))));
    if (h) {
      emit_call(b, (uint64_t)(uintptr_t)h, near);
    } else if (in->fn) {
      /* FP/SIMD (their handlers return in + 1, never chain) and
       * UNDEFINED (raises) */
      emit_call(b, (uint64_t)(uintptr_t)in->fn, near);
    } else {
      return -EINVAL;
    }
    nh++;
  }
  if (!emu_jit_chain_exit_op(&insn[count - 1]))
    emu_jit_chain_plain_exit(b, c);
  jit_emit_cold(&ctx); /* the slow paths, out of line */
  if (inl)
    *inl = ni;
  if (hlp)
    *hlp = nh;
  return 0;
}

/* A block on its own (tests): no cross entry, no jump cache; it counts
 * its guest insns (all but a synthetic end insn). */
static struct emu_jit_chain solo_chain(const struct emu_insn *insn,
                                       unsigned count) {
  unsigned n = count;
  if (count && insn[count - 1].op == EMU_OP_END_BLOCK)
    n--;
  return (struct emu_jit_chain){.pc = count ? insn[0].pc : 0, .n = n};
}

int emu_jit_emit(struct xe_buf *b, const struct emu_insn *insn, unsigned count,
                 bool near, unsigned *inl, unsigned *hlp) {
  struct emu_jit_chain c = solo_chain(insn, count);
  return emu_jit_emit_chained(b, insn, count, near, &c, inl, hlp);
}

int emu_jit_new(struct emu_jit **out, size_t size, unsigned flags,
                vmk_error *err) {
  struct emu_jit *j = calloc(1, sizeof *j);
  if (!j) {
    return vmk_err(err, -ENOMEM, "out of memory for the translator");
  }
  int r = emu_code_buf_init(&j->cb, size, flags, err);
  if (r < 0) {
    free(j);
    return r;
  }
  *out = j;
  return 0;
}

void emu_jit_free(struct emu_jit *j) {
  if (!j)
    return;
  emu_code_buf_destroy(&j->cb);
  for (unsigned k = 0; k < sizeof j->jc / sizeof *j->jc; k++)
    free(j->jc[k]);
  if (j->perfmap)
    fclose(j->perfmap);
  free(j);
}

emu_jit_fn emu_jit_translate(struct emu_jit *j, const struct emu_insn *insn,
                             unsigned count, bool *flushed) {
  struct emu_jit_chain c = solo_chain(insn, count);
  return emu_jit_translate_chained(j, insn, count, &c, flushed);
}

emu_jit_fn emu_jit_translate_chained(struct emu_jit *j,
                                     const struct emu_insn *insn,
                                     unsigned count, struct emu_jit_chain *c,
                                     bool *flushed) {
  *flushed = false;
  for (int attempt = 0; attempt < 2; attempt++) {
    struct xe_buf b;
    unsigned ni = 0, nh = 0;
    emu_code_buf_begin(&j->cb, &b);
    int r = emu_jit_emit_chained(&b, insn, count, j->cb.near_text, c, &ni, &nh);
    if (r == -EOPNOTSUPP) {
      j->refused++;
      return NULL;
    }
    if (r < 0)
      break;
    void *exec;
    r = emu_code_buf_commit(&j->cb, &b, &exec);
    if (r == 0) {
      j->blocks++;
      j->inline_ops += ni;
      j->helper_ops += nh;
      return (emu_jit_fn)exec;
    }
    if (r != -ENOSPC)
      break;
    emu_code_buf_flush(&j->cb);
    *flushed = true;
  }
  /* Never papered over in silence: the block still runs correctly in the
   * interpreter, but the first failure is said and all are counted
   * (j->failed); `vmkit exec` fails the run under VMK_JIT_STRICT=1, which
   * the -jit tests set. */
  if (j->failed++ == 0)
    fprintf(stderr,
            "vmkit: jit: cannot translate the block at 0x%llx (first op %s); "
            "it runs in the interpreter. This is a vmkit bug: please report "
            "it.\n",
            (unsigned long long)insn[0].pc,
            insn[0].op < EMU_OP_COUNT ? emu_op_name[insn[0].op] : "?");
  return NULL;
}
