/* translate.c — the AArch64 → x86-64 block translator (see translate.h).
 *
 * Host register use inside a translation: rbx = cpu, rbp, r12-r15 and
 * r8-r11 the guest registers the block caches (regcache.c), rax/rcx/rdx/
 * rsi/rdi scratch (emit.h). Every helper call is preceded by the cache's
 * writeback, so a helper or a longjmp from it finds *cpu exact.
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

static struct xe_mem pc_m(void) {
  return xe_m(CPU, (int32_t)offsetof(struct emu_cpu, pc));
}

static bool fits32(uint64_t v) { return (int64_t)v == (int32_t)v; }

/* r (sz bits) op= imm, through rcx when imm does not fit an imm32. */
static void alu_imm(struct xe_buf *b, enum xe_alu op, unsigned sz,
                    enum xe_reg r, uint64_t imm) {
  if (sz == 32)
    imm = (uint32_t)imm;
  if (fits32(imm) || sz == 32) {
    xe_alu_ri(b, op, sz, r, (int32_t)(uint32_t)imm);
  } else {
    xe_mov_ri(b, XE_RCX, imm);
    xe_alu_rr(b, op, sz, r, XE_RCX);
  }
}

static const enum xe_shift shift_of[4] = {XE_SHL, XE_SHR, XE_SAR, XE_ROR};

/* The host register with r[rm] shifted as the insn says (a = amount,
 * c = type): rm's own when unshifted, else rcx. */
static enum xe_reg shifted_rm(struct jit_ctx *c, const struct emu_insn *in,
                              unsigned sz) {
  if (!in->a)
    return jit_gpr_src(c, in->rm, XE_RCX);
  jit_gpr_load(c, XE_RCX, in->rm);
  xe_shift_ri(c->b, shift_of[in->c & 3], sz, XE_RCX, in->a);
  return XE_RCX;
}

/* cpu->pc = cond ? taken : in->pc + 4, for a condition in host flags. */
static void branch_cc(struct xe_buf *b, enum xe_cc cc, uint64_t taken,
                      uint64_t pc) {
  xe_mov_ri(b, XE_RCX, taken);
  xe_mov_ri(b, XE_RDX, pc + 4);
  xe_cmov(b, cc, 64, XE_RDX, XE_RCX);
  xe_store(b, 64, pc_m(), XE_RDX);
}

/* The ops this file's switch emits (branches are chain.c's when they
 * end the block, this file's otherwise). */
static bool own_op(const struct emu_insn *in) {
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
  default:
    return false;
  }
}

#define BIT(r) (1ull << (r))

bool jit_insn_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr) {
  *rd = *wr = 0;
  if (jit_ldst_inline(in))
    return jit_ldst_regs(in, rd, wr);
  if (jit_dp_inline(in))
    return jit_dp_regs(in, rd, wr);
  if (jit_sys_inline(in))
    return jit_sys_regs(in, rd, wr);
  if (jit_excl_inline(in))
    return jit_excl_regs(in, rd, wr);
  if (jit_fp_plain(in))
    return jit_fp_plain_regs(in, rd, wr);
  if (jit_simd_plain(in))
    return true; /* V registers only */
  if (jit_simd_perm_inline(in))
    return jit_simd_perm_regs(in, rd, wr);
  switch (in->op) {
  case EMU_OP_ADD_IMM:
  case EMU_OP_SUB_IMM:
  case EMU_OP_ADDS_IMM:
  case EMU_OP_SUBS_IMM:
    *rd = BIT(in->rn);
    *wr = BIT(in->rd);
    return true;
  case EMU_OP_MOVZ:
  case EMU_OP_MOVN:
  case EMU_OP_ADR:
  case EMU_OP_ADRP:
    *wr = BIT(in->rd);
    return true;
  case EMU_OP_AND_SH:
  case EMU_OP_ORR_SH:
  case EMU_OP_EOR_SH:
  case EMU_OP_ANDS_SH:
  case EMU_OP_ADD_SH:
  case EMU_OP_SUB_SH:
  case EMU_OP_ADDS_SH:
  case EMU_OP_SUBS_SH:
    *rd = BIT(in->rn) | BIT(in->rm);
    *wr = BIT(in->rd);
    return true;
  case EMU_OP_BL:
    *wr = BIT(30);
    return true;
  case EMU_OP_BLR:
    *wr = BIT(30);
    /* fall through */
  case EMU_OP_BR:
  case EMU_OP_RET:
    *rd |= BIT(in->rn);
    return true;
  case EMU_OP_CBZ:
  case EMU_OP_CBNZ:
  case EMU_OP_TBZ:
  case EMU_OP_TBNZ:
    *rd = BIT(in->rd);
    return true;
  case EMU_OP_B:
  case EMU_OP_B_COND:
  case EMU_OP_END_BLOCK:
    return true;
  default:
    return false;
  }
}

/* The inline forms. Each reads every operand before it writes anything
 * (rd may equal rn or rm). */
static void emit_inline(struct jit_ctx *c, const struct emu_insn *in) {
  struct xe_buf *b = c->b;
  unsigned sz = in->sf ? 64 : 32;
  switch (in->op) {
  case EMU_OP_ADD_IMM:
  case EMU_OP_SUB_IMM: { /* imm already negated for SUB */
    enum xe_reg n = jit_gpr_src(c, in->rn, XE_RAX);
    if (sz == 32 || fits32(in->imm)) { /* a W-form lea zero-extends */
      enum xe_reg d = jit_gpr_dst(c, in->rd, XE_RAX);
      xe_lea(b, sz, d, xe_m(n, (int32_t)in->imm));
      jit_gpr_store(c, in->rd, d);
      break;
    }
    if (n != XE_RAX)
      xe_mov_rr(b, 64, XE_RAX, n);
    alu_imm(b, XE_ADD, sz, XE_RAX, in->imm);
    jit_gpr_store(c, in->rd, XE_RAX);
    break;
  }
  case EMU_OP_ADDS_IMM:
  case EMU_OP_SUBS_IMM: {
    /* decode stored ~imm and carry 1 for SUBS: subtract the original */
    bool sub = in->imm2 != 0;
    uint64_t imm = sub ? ~in->imm : in->imm;
    if (sub && in->rd == EMU_XSINK) { /* CMP: the flags only */
      enum xe_reg n = jit_gpr_src(c, in->rn, XE_RAX);
      alu_imm(b, XE_CMP, sz, n, imm);
      jit_flags_set(c, XE_AE);
      break;
    }
    jit_gpr_load(c, XE_RAX, in->rn);
    alu_imm(b, sub ? XE_SUB : XE_ADD, sz, XE_RAX, imm);
    jit_gpr_store(c, in->rd, XE_RAX);
    jit_flags_set(c, sub ? XE_AE : XE_B);
    break;
  }
  case EMU_OP_MOVZ:
  case EMU_OP_MOVN:
  case EMU_OP_ADR:
  case EMU_OP_ADRP: {
    enum xe_reg d = jit_gpr_dst(c, in->rd, XE_RAX);
    xe_mov_ri(b, d, in->imm);
    jit_gpr_store(c, in->rd, d);
    break;
  }
  case EMU_OP_AND_SH:
  case EMU_OP_ORR_SH:
  case EMU_OP_EOR_SH:
  case EMU_OP_ANDS_SH:
  case EMU_OP_ADD_SH:
  case EMU_OP_SUB_SH:
  case EMU_OP_ADDS_SH:
  case EMU_OP_SUBS_SH: {
    bool sub = in->op == EMU_OP_SUB_SH || in->op == EMU_OP_SUBS_SH;
    enum xe_alu op = in->op == EMU_OP_ORR_SH   ? XE_OR
                     : in->op == EMU_OP_EOR_SH ? XE_XOR
                     : in->op == EMU_OP_AND_SH || in->op == EMU_OP_ANDS_SH
                         ? XE_AND
                     : sub ? XE_SUB
                           : XE_ADD;
    if (in->rd == EMU_XSINK &&
        (in->op == EMU_OP_SUBS_SH || in->op == EMU_OP_ANDS_SH)) {
      /* CMP, TST: the flags only (as SUB, AND set them); an unshifted
       * rm may stay in memory */
      enum xe_reg n = jit_gpr_src(c, in->rn, XE_RAX);
      if (in->op == EMU_OP_SUBS_SH && !in->a) {
        jit_gpr_alu(c, XE_CMP, sz, n, in->rm);
      } else {
        enum xe_reg m = shifted_rm(c, in, sz);
        if (in->op == EMU_OP_SUBS_SH)
          xe_alu_rr(b, XE_CMP, sz, n, m);
        else
          xe_test_rr(b, sz, n, m);
      }
      jit_flags_set(c, in->op == EMU_OP_SUBS_SH ? XE_AE : XE_B);
      break;
    }
    enum xe_reg m = shifted_rm(c, in, sz);
    if (op == XE_OR && in->rn == EMU_XZR) { /* MOV */
      if (sz == 32) {
        xe_mov_rr(b, sz, XE_RAX, m);
        m = XE_RAX;
      }
      jit_gpr_store(c, in->rd, m);
      break;
    }
    /* into rd's host register when it has one and m is not it; when m
     * is (rd == rm, unshifted) and op commutes, d op= rn */
    enum xe_reg d = jit_gpr_dst(c, in->rd, XE_RAX);
    if (d == m && op != XE_SUB) {
      jit_gpr_alu(c, op, sz, d, in->rn);
      jit_gpr_store(c, in->rd, d);
      if (in->op == EMU_OP_ANDS_SH || in->op == EMU_OP_ADDS_SH)
        jit_flags_set(c, XE_B); /* as rn op rm: the ops commute */
      break;
    }
    if (d == m)
      d = XE_RAX;
    jit_gpr_load(c, d, in->rn);
    xe_alu_rr(b, op, sz, d, m);
    jit_gpr_store(c, in->rd, d);
    if (in->op == EMU_OP_ANDS_SH) /* x86 AND clears CF and OF: C = V = 0 */
      jit_flags_set(c, XE_B);
    else if (in->op == EMU_OP_ADDS_SH || in->op == EMU_OP_SUBS_SH)
      jit_flags_set(c, sub ? XE_AE : XE_B);
    break;
  }
  case EMU_OP_BL:
    xe_mov_ri(b, XE_RAX, in->pc + 4);
    jit_gpr_store(c, 30, XE_RAX);
    /* fall through */
  case EMU_OP_B:
    xe_mov_ri(b, XE_RAX, in->imm);
    xe_store(b, 64, pc_m(), XE_RAX);
    break;
  case EMU_OP_BR:
  case EMU_OP_RET:
    jit_gpr_load(c, XE_RAX, in->rn);
    xe_store(b, 64, pc_m(), XE_RAX);
    break;
  case EMU_OP_CBZ:
  case EMU_OP_CBNZ:
    jit_gpr_load(c, XE_RAX, in->rd);
    xe_test_rr(b, sz, XE_RAX, XE_RAX);
    branch_cc(b, in->op == EMU_OP_CBZ ? XE_E : XE_NE, in->imm, in->pc);
    break;
  case EMU_OP_B_COND:
    branch_cc(b, jit_cond(c, in->b), in->imm, in->pc);
    break;
  case EMU_OP_END_BLOCK:
    xe_mov_ri(b, XE_RAX, in->pc);
    xe_store(b, 64, pc_m(), XE_RAX);
    break;
  default:
    xe_fail(b, "emit_inline: op not inline");
  }
}

/* Whether the block's last insn is a direct branch back to its start
 * that may stay in the translation (chain.c: a loop with the cached
 * registers kept): only when every insn is the own emitters' and none
 * stores or calls a helper, so that nothing in it can drop the block
 * (a store to its code page, a helper that flushes) — the back branch
 * does not pass the same entry a drop patches. */
static bool self_loop(const struct emu_insn *insn, unsigned count, uint64_t pc,
                      uint64_t mid) {
  const struct emu_insn *last = &insn[count - 1];
  bool back = last->imm == pc;
  switch (last->op) {
  case EMU_OP_B:
    break;
  case EMU_OP_B_COND:
  case EMU_OP_CBZ:
  case EMU_OP_CBNZ:
  case EMU_OP_TBZ:
  case EMU_OP_TBNZ:
    /* a superblock may loop through its last branch's fall-through */
    back |= mid && last->pc + 4 == pc;
    break;
  default:
    return false;
  }
  if (!back || insn[0].pc != pc)
    return false;
  return emu_jit_loop_safe(insn, count - 1, mid);
}

bool emu_jit_loop_safe(const struct emu_insn *insn, unsigned count,
                       uint64_t mid) {
  for (unsigned i = 0; i < count; i++) {
    uint64_t rd, wr;
    if (!jit_insn_regs(&insn[i], &rd, &wr) || jit_ldst_store(&insn[i]) ||
        (emu_jit_chain_exit_op(&insn[i]) && !(i < 64 && (mid >> i) & 1)))
      return false;
  }
  return true;
}

static void emit_own(struct jit_ctx *c, unsigned idx) {
  emit_inline(c, &c->insn[idx]);
}

/* The inline emitters, asked in this order. own: the insn is one of the
 * emitters the register cache and the NZCV plan know (jit_cache_begin,
 * jit_insn_regs); the other FP/SIMD ones (slow paths, FCSEL, FCMP) touch
 * guest X registers only through jit_gpr_*. */
struct jit_emitter {
  bool (*takes)(const struct emu_insn *in);
  void (*emit)(struct jit_ctx *c, unsigned idx);
  bool own;
};
static const struct jit_emitter emitters[] = {
    {jit_ldst_inline, jit_emit_ldst, true},
    {jit_dp_inline, jit_emit_dp, true},
    {jit_sys_inline, jit_emit_sys, true},
    {jit_excl_inline, jit_emit_excl, true},
    {jit_fp_plain, jit_emit_fp, true},
    {jit_fp_inline, jit_emit_fp, false},
    {jit_simd_plain, jit_emit_simd, true},
    {jit_simd_inline, jit_emit_simd, false},
    {jit_simd_perm_inline, jit_emit_simd_perm, true},
    {own_op, emit_own, true},
};

static const struct jit_emitter *emitter_for(const struct emu_insn *in) {
  for (size_t k = 0; k < sizeof emitters / sizeof *emitters; k++)
    if (emitters[k].takes(in))
      return &emitters[k];
  return NULL;
}

bool emu_jit_inline_op(const struct emu_insn *in) {
  /* branches: jit/chain.c */
  return emu_jit_chain_exit_op(in) || emitter_for(in) != NULL;
}

/* Insn idx of the block, not its branch end: inline or a helper call;
 * -1 when it has neither. */
static int emit_one(struct jit_ctx *ctx, unsigned idx, unsigned *ni,
                    unsigned *nh) {
  const struct emu_insn *in = &ctx->insn[idx];
  ctx->cur = idx;
  const struct jit_emitter *e = emitter_for(in);
  if (e) {
    jit_cache_begin(ctx, idx, e->own);
    e->emit(ctx, idx);
    (*ni)++;
    return 0;
  }
  emu_exec_fn h = emu_exec_helper[in->op];
  /* FP/SIMD (their handlers return in + 1, never chain) and UNDEFINED
   * (raises) have no exec helper: their handler */
  uint64_t fn = h ? (uint64_t)(uintptr_t)h : (uint64_t)(uintptr_t)in->fn;
  if (!fn)
    return -1;
  jit_cache_sync(ctx);
  jit_call_raw(ctx, idx, fn);
  jit_cache_forget(ctx);
  (*nh)++;
  return 0;
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
  emu_jit_chain_body(b, c);
  struct jit_ctx ctx = {.b = b,
                        .insn = insn,
                        .near = near,
                        .direct = c->direct,
                        .tlb_view = c->tlb_view,
                        .mid = c->mid};
  jit_cache_plan(&ctx, count);
  jit_flags_plan(&ctx, count);
  /* a superblock's exits count the insns since its last inner branch */
  unsigned total = c->n, seg = 0;
  if (self_loop(insn, count, c->pc, c->mid)) {
    jit_cache_loop_head(&ctx, count);
    ctx.loop = true;
    ctx.loop_head = xe_here(b);
  }
  for (unsigned i = 0; i < count; i++) {
    const struct emu_insn *in = &insn[i];
    if (i + 1 < count && i < 64 && ((c->mid >> i) & 1)) {
      ctx.cur = i;
      jit_cache_begin(&ctx, i, true);
      emu_jit_chain_mid(&ctx, in, i + 1 - seg);
      c->n -= i + 1 - seg;
      seg = i + 1;
      ni++;
      continue;
    }
    if (i == count - 1 && emu_jit_chain_exit_op(in)) {
      ctx.cur = i;
      jit_cache_begin(&ctx, i, true);
      emu_jit_chain_exit(&ctx, c, in);
      ni++;
      continue;
    }
    unsigned rem = jit_div_rem_pair(insn, count, i);
    if (rem) {
      /* the plain insns between first, then the division giving the
       * MSUB's result too (jit_div_rem_pair) */
      for (unsigned k = i + 1; k < rem; k++)
        if (emit_one(&ctx, k, &ni, &nh))
          return c->n = total, -EINVAL;
      ctx.rem_idx = rem;
      if (emit_one(&ctx, i, &ni, &nh))
        return c->n = total, -EINVAL;
      ni++; /* the MSUB */
      i = rem;
      continue;
    }
    if (emit_one(&ctx, i, &ni, &nh))
      return c->n = total, -EINVAL;
  }
  if (!emu_jit_chain_exit_op(&insn[count - 1])) {
    jit_cache_sync(&ctx);
    emu_jit_chain_plain_exit(b, c);
  }
  emu_jit_chain_sides(&ctx, c);
  c->n = total;
  jit_emit_cold(&ctx); /* the slow paths, out of line */
  c->nsites = 0;
  for (unsigned i = 0; i < ctx.nsites; i++) {
    c->sites[i][0] = (uint32_t)ctx.site[i].at;
    c->sites[i][1] = (uint32_t)ctx.cold[ctx.site[i].cold].stub;
  }
  c->nsites = ctx.nsites;
  if (inl)
    *inl = ni;
  if (hlp)
    *hlp = nh;
  return 0;
}

/* A block on its own (tests): no cross entry, no jump cache; it counts
 * its guest insns (all but a synthetic end insn). */
static struct emu_jit_chain solo_chain(const struct emu_insn *insn,
                                       unsigned count, bool ras) {
  unsigned n = count;
  if (count && insn[count - 1].op == EMU_OP_END_BLOCK)
    n--;
  return (struct emu_jit_chain){
      .pc = count ? insn[0].pc : 0, .n = n, .ras = ras};
}

int emu_jit_emit(struct xe_buf *b, const struct emu_insn *insn, unsigned count,
                 bool near, unsigned *inl, unsigned *hlp) {
  struct emu_jit_chain c = solo_chain(insn, count, emu_jit_ras_usable());
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
  j->ras = emu_jit_ras_usable();
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
  struct emu_jit_chain c = solo_chain(insn, count, j->ras);
  c.direct = j->direct;
  return emu_jit_translate_chained(j, insn, count, &c, flushed);
}

uint64_t emu_jit_fault_stub(const struct emu_jit *j, uint64_t rip) {
  return j ? emu_code_buf_site_stub(&j->cb, rip) : 0;
}

emu_jit_fn emu_jit_translate_chained(struct emu_jit *j,
                                     const struct emu_insn *insn,
                                     unsigned count, struct emu_jit_chain *c,
                                     bool *flushed) {
  *flushed = false;
  for (int attempt = 0; attempt < 2 && !j->test_fail; attempt++) {
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
    if (c->nsites && !emu_code_buf_sites_room(&j->cb, c->nsites)) {
      xe_fail(&b, "the fault sites' table is full"); /* as the region */
      b.full = true;
    }
    r = emu_code_buf_commit(&j->cb, &b, &exec);
    if (r == 0 && emu_code_buf_add_sites(&j->cb, (uint64_t)(uintptr_t)exec,
                                         c->sites, c->nsites) < 0) {
      /* a bug (the sites out of order): the translation stays unused */
      j->cb.used = (size_t)((uint8_t *)exec - j->cb.rx);
      break;
    }
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
