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

EMU_SEM_END(b) { cpu->pc = in->imm; }
EMU_SEM_END(bl) {
  cpu->r[30] = in->pc + 4;
  cpu->pc = in->imm;
}
EMU_SEM_END(bcond) {

  cpu->pc = cond_holds(cpu->nzcv, in->b) ? in->imm : in->pc + 4;
}
EMU_SEM_END(cbz64) { cpu->pc = cpu->r[in->rd] == 0 ? in->imm : in->pc + 4; }
EMU_SEM_END(cbnz64) { cpu->pc = cpu->r[in->rd] != 0 ? in->imm : in->pc + 4; }
EMU_SEM_END(cbz32) {

  cpu->pc = (uint32_t)cpu->r[in->rd] == 0 ? in->imm : in->pc + 4;
}
EMU_SEM_END(cbnz32) {

  cpu->pc = (uint32_t)cpu->r[in->rd] != 0 ? in->imm : in->pc + 4;
}
EMU_SEM_END(tbz) {

  cpu->pc = !((cpu->r[in->rd] >> in->a) & 1) ? in->imm : in->pc + 4;
}
EMU_SEM_END(tbnz) {

  cpu->pc = ((cpu->r[in->rd] >> in->a) & 1) ? in->imm : in->pc + 4;
}
EMU_SEM_END(br) { cpu->pc = cpu->r[in->rn]; }
EMU_SEM_END(blr) {
  uint64_t t = cpu->r[in->rn]; /* read first: BLR X30 */
  cpu->r[30] = in->pc + 4;
  cpu->pc = t;
}
/* imm = imm16, a = exit kind, imm2 = syndrome */
EMU_SEM_END(exc) {
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

/* ---- exec helpers (emu_exec_helper[op]): set cpu->pc to the next pc ---- */

void emu_exec_b(struct emu_cpu *cpu, const struct emu_insn *in) {
  (in->op == EMU_OP_BL ? e_bl : e_b)(cpu, in);
}
void emu_exec_cb(struct emu_cpu *cpu, const struct emu_insn *in) {
  if (in->op == EMU_OP_CBNZ)
    (in->sf ? e_cbnz64 : e_cbnz32)(cpu, in);
  else
    (in->sf ? e_cbz64 : e_cbz32)(cpu, in);
}
void emu_exec_tb(struct emu_cpu *cpu, const struct emu_insn *in) {
  (in->op == EMU_OP_TBNZ ? e_tbnz : e_tbz)(cpu, in);
}
void emu_exec_b_cond(struct emu_cpu *cpu, const struct emu_insn *in) {
  e_bcond(cpu, in);
}
void emu_exec_exc(struct emu_cpu *cpu, const struct emu_insn *in) {
  e_exc(cpu, in);
}
void emu_exec_br(struct emu_cpu *cpu, const struct emu_insn *in) {
  (in->op == EMU_OP_BLR ? e_blr : e_br)(cpu, in);
}
