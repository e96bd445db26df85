/* emit_sys.c — system instructions translated inline, the way system.c
 * runs them:
 *   hints (NOP, YIELD, WFE, the pointer-authentication and BTI hints of
 *     a v8.0 core): nothing; WFI stays a helper (it sleeps);
 *   DMB/DSB: x86-64 keeps every order Arm's barriers ask for except
 *     store->load, so only the forms that order stores before loads
 *     (CRm<1:0> = 3: ISH, SY, ...) need a fence (mfence); the LD- and
 *     ST-only forms need nothing (no compiler reorders emitted code). A
 *     DSB after a TLBI needs no more: the TLBI is a block-ending helper
 *     that has completed (broadcast included) when it returns;
 *   CLREX: opens the exclusive monitor;
 *   (ISB, which ends its block, is a direct exit to the next insn:
 *     chain.c, like the end of a block without a branch);
 *   MRS/MSR TPIDR_EL0, MRS TPIDRRO_EL0: plain fields of struct emu_cpu;
 *   MRS of the registers cpu->fast_sysreg names (SP_EL0, TPIDR_EL1,
 *     DAIF): read through the pointer the environment keeps there, or,
 *     when it is NULL (EL0, SP_EL0 in use), the helper (env->sysreg_read
 *     with its access rules and UNDEFINED/trap);
 *   DC ZVA: 64 zero bytes on a soft-TLB write hit; a miss, MMIO, a page
 *     holding code, or the EL0 trap (cpu->insn_traps) take the helper.
 * MSR to anything else (DAIF, SP_EL0 included: they end the block so a
 * newly unmasked interrupt is taken at once) stays a helper call.
 *
 * Runs on the translating CPU's thread; no shared state.
 */
#include "emu/decode.h"
#include "emu/jit/emit.h"

#define DCZ_BYTES 64u /* DCZID_EL0.BS = 4, as system.c */

static struct xe_mem cpu_m(size_t off) { return xe_m(JIT_CPU, (int32_t)off); }

/* cpu->fast_sysreg index of an MRS encoding, or -1 */
static int fast_index(uint64_t enc) {
  switch (enc) {
  case EMU_FAST_ENC_SP_EL0:
    return EMU_FAST_SP_EL0;
  case EMU_FAST_ENC_TPIDR_EL1:
    return EMU_FAST_TPIDR_EL1;
  case EMU_FAST_ENC_DAIF:
    return EMU_FAST_DAIF;
  default:
    return -1;
  }
}

/* DMB/DSB that order earlier stores before later loads (system.c's
 * h_dmb_full; the others are its compiler barrier) */
static bool full_barrier(const struct emu_insn *in) {
  return ((in->imm >> 3) & 3) == 3;
}

bool jit_sys_inline(const struct emu_insn *in) {
  switch (in->op) {
  case EMU_OP_HINT:
  case EMU_OP_CLREX:
  case EMU_OP_DMB:
  case EMU_OP_DSB:
  case EMU_OP_MRS_TPIDR:
  case EMU_OP_MRS_TPIDRRO:
  case EMU_OP_MSR_TPIDR:
  case EMU_OP_DC_ZVA:
    return true;
  case EMU_OP_MRS:
    return fast_index(in->imm) >= 0;
  default:
    return false;
  }
}

bool jit_sys_calls_out(const struct emu_insn *in) {
  return jit_sys_inline(in) &&
         (in->op == EMU_OP_MRS || in->op == EMU_OP_DC_ZVA);
}

bool jit_sys_regs(const struct emu_insn *in, uint64_t *rd, uint64_t *wr) {
  *rd = *wr = 0;
  switch (in->op) {
  case EMU_OP_MRS_TPIDR:
  case EMU_OP_MRS_TPIDRRO:
  case EMU_OP_MRS:
    *wr = 1ull << in->rd;
    return true;
  case EMU_OP_MSR_TPIDR:
  case EMU_OP_DC_ZVA:
    *rd = 1ull << in->rd;
    return true;
  default:
    return jit_sys_inline(in);
  }
}

void jit_emit_sys(struct jit_ctx *c, unsigned idx) {
  struct xe_buf *b = c->b;
  const struct emu_insn *in = &c->insn[idx];
  uint64_t helper = (uint64_t)(uintptr_t)emu_exec_helper[in->op];
  switch (in->op) {
  case EMU_OP_HINT:
    break;
  case EMU_OP_CLREX:
    xe_store_imm(b, 32, cpu_m(offsetof(struct emu_cpu, excl_size)), 0);
    break;
  case EMU_OP_DMB:
  case EMU_OP_DSB:
    if (full_barrier(in))
      xe_mfence(b);
    break;
  case EMU_OP_MRS_TPIDR:
  case EMU_OP_MRS_TPIDRRO:
    xe_load(b, 64, XE_RAX,
            cpu_m(in->op == EMU_OP_MRS_TPIDR
                      ? offsetof(struct emu_cpu, tpidr_el0)
                      : offsetof(struct emu_cpu, tpidrro_el0)));
    jit_gpr_store(c, in->rd, XE_RAX);
    break;
  case EMU_OP_MSR_TPIDR:
    jit_gpr_load(c, XE_RAX, in->rd);
    xe_store(b, 64, cpu_m(offsetof(struct emu_cpu, tpidr_el0)), XE_RAX);
    break;
  case EMU_OP_MRS: {
    int k = fast_index(in->imm);
    if (k < 0) {
      xe_fail(b, "jit_emit_sys: MRS of a register not read inline");
      return;
    }
    xe_load(b, 64, XE_RAX,
            cpu_m(offsetof(struct emu_cpu, fast_sysreg) +
                  (size_t)k * sizeof(uint64_t *)));
    xe_test_rr(b, 64, XE_RAX, XE_RAX);
    jit_cold_jcc(c, XE_E, idx, helper);
    xe_load(b, 64, XE_RAX, xe_m(XE_RAX, 0));
    jit_gpr_store(c, in->rd, XE_RAX);
    jit_cold_resume(c);
    return;
  }
  case EMU_OP_DC_ZVA:
    jit_gpr_load(c, XE_RAX, in->rd);
    xe_alu_ri(b, XE_AND, 64, XE_RAX, -(int32_t)DCZ_BYTES);
    jit_tlb_hit_aligned(c, idx, DCZ_BYTES, true, EMU_TRAP_DC_ZVA, helper);
    for (unsigned off = 0; off < DCZ_BYTES; off += 8)
      xe_store_imm(b, 64, xe_mi(XE_RAX, XE_RDX, 1, (int32_t)off), 0);
    jit_cold_resume(c);
    return;
  default:
    xe_fail(b, "jit_emit_sys: not an inline system instruction");
    return;
  }
}
