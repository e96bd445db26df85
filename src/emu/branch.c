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

int emu_dec_system(struct emu_insn *o, uint32_t raw);

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

bool emu_is_bcond(const struct emu_insn *in) { return in->fn == h_bcond; }

int emu_dec_branch_sys(struct emu_insn *o, uint32_t raw) {
  unsigned op0 = bits(raw, 31, 29);
  if (bits(raw, 30, 26) == 5) { /* B, BL (op0 = x00) */
    o->imm = o->pc + ((uint64_t)sext(bits(raw, 25, 0), 26) << 2);
    o->fn = bit(raw, 31) ? h_bl : h_b;
    return DEC_END;
  }
  if (op0 == 1 || op0 == 5) { /* compare & branch, test & branch */
    o->rd = reg_zr(bits(raw, 4, 0));
    if (!bit(raw, 25)) {
      o->imm = o->pc + ((uint64_t)sext(bits(raw, 23, 5), 19) << 2);
      if (bit(raw, 31))
        o->fn = bit(raw, 24) ? h_cbnz64 : h_cbz64;
      else
        o->fn = bit(raw, 24) ? h_cbnz32 : h_cbz32;
    } else {
      o->imm = o->pc + ((uint64_t)sext(bits(raw, 18, 5), 14) << 2);
      o->a = (uint8_t)(bit(raw, 31) << 5 | bits(raw, 23, 19));
      o->fn = bit(raw, 24) ? h_tbnz : h_tbz;
    }
    return DEC_END;
  }
  if (op0 == 2) { /* conditional branch (immediate) */
    if (bit(raw, 25) || bit(raw, 24) || bit(raw, 4))
      return DEC_UNDEF;
    o->imm = o->pc + ((uint64_t)sext(bits(raw, 23, 5), 19) << 2);
    o->b = (uint8_t)bits(raw, 3, 0);
    o->fn = h_bcond;
    return DEC_END;
  }
  if (op0 != 6)
    return DEC_UNDEF;
  if (bits(raw, 25, 24) == 0) { /* exception generation */
    unsigned opc = bits(raw, 23, 21), ll = bits(raw, 1, 0);
    unsigned imm16 = bits(raw, 20, 5);
    if (bits(raw, 4, 2))
      return DEC_UNDEF;
    o->imm = imm16;
    if (opc == 0 && ll == 1) {
      o->a = EMU_EXIT_SVC;
      o->imm2 = 0x15u << 26 | 1u << 25 | imm16;
    } else if (opc == 0 && ll == 2) {
      o->a = EMU_EXIT_HVC;
      o->imm2 = 0x16u << 26 | 1u << 25 | imm16;
    } else if (opc == 1 && ll == 0) {
      o->a = EMU_EXIT_BRK;
      o->imm2 = 0x3cu << 26 | 1u << 25 | imm16;
    } else if (opc == 2 && ll == 0) {
      o->a = EMU_EXIT_BRK; /* HLT: no halting debug, report as a break */
      o->imm2 = 1u << 25 | imm16;
    } else {
      return DEC_UNDEF; /* SMC, DCPS*: not available */
    }
    o->fn = h_exc;
    return DEC_END;
  }
  if (bits(raw, 25, 22) == 4) /* system instructions */
    return emu_dec_system(o, raw);
  if (bit(raw, 25)) { /* unconditional branch (register) */
    unsigned opc = bits(raw, 24, 21), op2 = bits(raw, 20, 16);
    unsigned op3 = bits(raw, 15, 10), op4 = bits(raw, 4, 0);
    if (op2 != 31 || op3 != 0 || op4 != 0)
      return DEC_UNDEF; /* PAC variants: not v8.0 */
    o->rn = reg_zr(bits(raw, 9, 5));
    switch (opc) {
    case 0: /* BR */
    case 2: /* RET */
      o->fn = h_br;
      return DEC_END;
    case 1:
      o->fn = h_blr;
      return DEC_END;
    default:
      return DEC_UNDEF; /* ERET/DRPS: EL1+, handled by system mode later */
    }
  }
  return DEC_UNDEF;
}
