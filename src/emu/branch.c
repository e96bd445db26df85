/* branch.c — A64 "branches, exception generating and system instructions":
 * B/BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, BR/BLR/RET, SVC/HVC/BRK/HLT. The system
 * instruction group (hints, barriers, MRS/MSR, SYS) is decoded in system.c.
 *
 * Every handler here ends its block: it sets cpu->pc and returns NULL.
 * Direct branch targets are computed at decode time (imm = target).
 *
 * Runs on the CPU's thread; no shared state.
 */
#include "emu/decode.h"

static EMU_HANDLER(h_b) { return emu_chain(cpu, in, in->imm); }
static EMU_HANDLER(h_bl) {
  cpu->r[30] = in->pc + 4;
  return emu_chain(cpu, in, in->imm);
}
static EMU_HANDLER(h_bcond) {
  return emu_chain(cpu, in,
                   cond_holds(cpu->nzcv, in->b) ? in->imm : in->pc + 4);
}
static EMU_HANDLER(h_cbz64) {
  return emu_chain(cpu, in, cpu->r[in->rd] == 0 ? in->imm : in->pc + 4);
}
static EMU_HANDLER(h_cbnz64) {
  return emu_chain(cpu, in, cpu->r[in->rd] != 0 ? in->imm : in->pc + 4);
}
static EMU_HANDLER(h_cbz32) {
  return emu_chain(cpu, in,
                   (uint32_t)cpu->r[in->rd] == 0 ? in->imm : in->pc + 4);
}
static EMU_HANDLER(h_cbnz32) {
  return emu_chain(cpu, in,
                   (uint32_t)cpu->r[in->rd] != 0 ? in->imm : in->pc + 4);
}
static EMU_HANDLER(h_tbz) {
  return emu_chain(cpu, in,
                   !((cpu->r[in->rd] >> in->a) & 1) ? in->imm : in->pc + 4);
}
static EMU_HANDLER(h_tbnz) {
  return emu_chain(cpu, in,
                   ((cpu->r[in->rd] >> in->a) & 1) ? in->imm : in->pc + 4);
}
static EMU_HANDLER(h_br) { return emu_chain(cpu, in, cpu->r[in->rn]); }
static EMU_HANDLER(h_blr) {
  uint64_t t = cpu->r[in->rn]; /* read first: BLR X30 */
  cpu->r[30] = in->pc + 4;
  return emu_chain(cpu, in, t);
}
/* imm = imm16, a = exit kind, imm2 = syndrome */
static EMU_HANDLER(h_exc) {
  cpu->exit_imm = in->imm;
  emu_raise(cpu, in, (enum emu_exit)in->a, (uint32_t)in->imm2, 0);
}

/* ---- decode functions (patterns: isa/branch_sys.decode) ---- */

int emu_dec_b(struct emu_insn *o, const struct emu_args_b *a) {
  o->imm = o->pc + ((uint64_t)(int64_t)a->imm << 2);
  o->fn = o->op == EMU_OP_BL ? h_bl : h_b;
  return DEC_END;
}

/* rd = the register tested */
int emu_dec_cb(struct emu_insn *o, const struct emu_args_cb *a) {
  bool nz = o->op == EMU_OP_CBNZ;
  o->rd = reg_zr(a->rt);
  o->sf = (uint8_t)a->sf;
  o->imm = o->pc + ((uint64_t)(int64_t)a->imm << 2);
  if (a->sf)
    o->fn = nz ? h_cbnz64 : h_cbz64;
  else
    o->fn = nz ? h_cbnz32 : h_cbz32;
  return DEC_END;
}

/* rd = the register tested, a = the bit number */
int emu_dec_tb(struct emu_insn *o, const struct emu_args_tb *a) {
  o->rd = reg_zr(a->rt);
  o->imm = o->pc + ((uint64_t)(int64_t)a->imm << 2);
  o->a = (uint8_t)(a->b5 << 5 | a->b40);
  o->fn = o->op == EMU_OP_TBNZ ? h_tbnz : h_tbz;
  return DEC_END;
}

/* b = cond */
int emu_dec_b_cond(struct emu_insn *o, const struct emu_args_bcond *a) {
  o->imm = o->pc + ((uint64_t)(int64_t)a->imm << 2);
  o->b = (uint8_t)a->cond;
  o->fn = h_bcond;
  return DEC_END;
}

/* imm = imm16, a = exit kind, imm2 = syndrome (ESR) */
int emu_dec_exc(struct emu_insn *o, const struct emu_args_exc *a) {
  o->imm = a->imm16;
  switch (o->op) {
  case EMU_OP_SVC:
    o->a = EMU_EXIT_SVC;
    o->imm2 = 0x15u << 26 | 1u << 25 | a->imm16;
    break;
  case EMU_OP_HVC:
    o->a = EMU_EXIT_HVC;
    o->imm2 = 0x16u << 26 | 1u << 25 | a->imm16;
    break;
  case EMU_OP_BRK:
    o->a = EMU_EXIT_BRK;
    o->imm2 = 0x3cu << 26 | 1u << 25 | a->imm16;
    break;
  default: /* HLT: no halting debug, report as a break */
    o->a = EMU_EXIT_BRK;
    o->imm2 = 1u << 25 | a->imm16;
    break;
  }
  o->fn = h_exc;
  return DEC_END;
}

/* rn = the target register (RET: usually X30) */
int emu_dec_br(struct emu_insn *o, const struct emu_args_br *a) {
  o->rn = reg_zr(a->rn);
  o->fn = o->op == EMU_OP_BLR ? h_blr : h_br;
  return DEC_END;
}

bool emu_is_bcond(const struct emu_insn *in) { return in->op == EMU_OP_B_COND; }
