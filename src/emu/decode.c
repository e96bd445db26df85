/* decode.c — top-level A64 decoder: runs the decoder generated from isa/
 * (*.decode) (emu_decode_gen), turns unimplemented encodings into
 * the Undefined Instruction handler, and keeps the table of encoding
 * classes with their implementation status (emu_print_stats).
 *
 * Runs on the CPU's thread (decoding happens when a block is built); the
 * class table is const.
 */
#include "emu/decode.h"

/* emu_cond_table[cond] bit i = condition holds for NZCV = i. */
#define NF(i) (((i) >> 3) & 1)
#define ZF(i) (((i) >> 2) & 1)
#define CF(i) (((i) >> 1) & 1)
#define VF(i) ((i)&1)
#define C_EQ(i) ZF(i)
#define C_CS(i) CF(i)
#define C_MI(i) NF(i)
#define C_VS(i) VF(i)
#define C_HI(i) (CF(i) && !ZF(i))
#define C_GE(i) (NF(i) == VF(i))
#define C_GT(i) (NF(i) == VF(i) && !ZF(i))
#define ROW(C)                                                                 \
  (uint16_t)(C(0) | C(1) << 1 | C(2) << 2 | C(3) << 3 | C(4) << 4 |            \
             C(5) << 5 | C(6) << 6 | C(7) << 7 | C(8) << 8 | C(9) << 9 |       \
             C(10) << 10 | C(11) << 11 | C(12) << 12 | C(13) << 13 |           \
             C(14) << 14 | C(15) << 15)
const uint16_t emu_cond_table[16] = {
    ROW(C_EQ), (uint16_t)~ROW(C_EQ), ROW(C_CS), (uint16_t)~ROW(C_CS),
    ROW(C_MI), (uint16_t)~ROW(C_MI), ROW(C_VS), (uint16_t)~ROW(C_VS),
    ROW(C_HI), (uint16_t)~ROW(C_HI), ROW(C_GE), (uint16_t)~ROW(C_GE),
    ROW(C_GT), (uint16_t)~ROW(C_GT), 0xffff,    0xffff};

EMU_HANDLER(emu_h_undef) {
  emu_raise(cpu, in, EMU_EXIT_UNDEF, in->raw, in->pc);
}
EMU_HANDLER(emu_h_nop) {
  (void)cpu;
  return EMU_NEXT;
}
/* Synthetic last insn of a block that ends without a branch: its pc is
 * the address of the next instruction. */
EMU_HANDLER(emu_h_end_block) { return emu_chain(cpu, in, in->pc); }

bool emu_decode(struct emu_insn *o, uint32_t raw, uint64_t pc) {
  int r;
  *o = (struct emu_insn){.pc = pc, .raw = raw};
  r = emu_decode_gen(o, raw);
  if (r <= DEC_UNDEF || !o->fn) {
    *o = (struct emu_insn){
        .pc = pc, .raw = raw, .fn = emu_h_undef, .op = EMU_OP_UNDEF};
    return true;
  }
  return r == DEC_END;
}

/* Encoding classes of the A64 instruction set (ARMv8.0-A, Arm ARM C4.1),
 * each with one representative encoding: a class counts as implemented
 * when its representative decodes to something other than UNDEFINED, so
 * this table cannot claim more than the decoder does. */
struct emu_class_entry {
  const char *group, *name;
  uint32_t sample;
};
static const struct emu_class_entry classes[] = {
    {"dp-imm", "PC-rel. addressing", 0x10000000},
    {"dp-imm", "Add/subtract (immediate)", 0x91000420},
    {"dp-imm", "Logical (immediate)", 0x92400020},
    {"dp-imm", "Move wide (immediate)", 0xd2800020},
    {"dp-imm", "Bitfield", 0x93410820},
    {"dp-imm", "Extract", 0x93c20c20},
    {"branch", "Conditional branch (immediate)", 0x54000000},
    {"branch", "Exception generation", 0xd4000001},
    {"branch", "Hints", 0xd503201f},
    {"branch", "Barriers", 0xd5033f5f},
    {"branch", "PSTATE (MSR immediate)", 0xd50342df},
    {"branch", "System instructions (SYS)", 0xd50b7520},
    {"branch", "System register move (MRS/MSR)", 0xd53bd040},
    {"branch", "Unconditional branch (register)", 0xd61f0000},
    {"branch", "Unconditional branch (immediate)", 0x14000000},
    {"branch", "Compare and branch (immediate)", 0xb4000000},
    {"branch", "Test and branch (immediate)", 0x36080000},
    {"ldst", "Load/store exclusive", 0xc85f7c20},
    {"ldst", "Load register (literal)", 0x58000000},
    {"ldst", "Load/store no-allocate pair (offset)", 0xa8400440},
    {"ldst", "Load/store register pair (post-indexed)", 0xa8810440},
    {"ldst", "Load/store register pair (offset)", 0xa9000440},
    {"ldst", "Load/store register pair (pre-indexed)", 0xa9810440},
    {"ldst", "Load/store register (unscaled immediate)", 0xf8400020},
    {"ldst", "Load/store register (immediate post-indexed)", 0xf8408420},
    {"ldst", "Load/store register (unprivileged)", 0xf8400820},
    {"ldst", "Load/store register (immediate pre-indexed)", 0xf8408c20},
    {"ldst", "Load/store register (register offset)", 0xf8626820},
    {"ldst", "Load/store register (unsigned immediate)", 0xf9400420},
    {"dp-reg", "Logical (shifted register)", 0x8a020020},
    {"dp-reg", "Add/subtract (shifted register)", 0x8b020020},
    {"dp-reg", "Add/subtract (extended register)", 0x8b224020},
    {"dp-reg", "Add/subtract (with carry)", 0x9a020020},
    {"dp-reg", "Conditional compare (register)", 0xfa410000},
    {"dp-reg", "Conditional compare (immediate)", 0xfa410800},
    {"dp-reg", "Conditional select", 0x9a820020},
    {"dp-reg", "Data-processing (2 source)", 0x9ac20820},
    {"dp-reg", "Data-processing (2 source): CRC32", 0x1ac24020},
    {"dp-reg", "Data-processing (1 source)", 0xdac00020},
    {"dp-reg", "Data-processing (3 source)", 0x9b020c20},
    {"simd-ldst", "AdvSIMD load/store multiple structures", 0x4c407000},
    {"simd-ldst", "AdvSIMD load/store single structure", 0x0d400000},
    {"simd-ldst", "Load/store register, SIMD&FP (unsigned imm)", 0x3dc00000},
    {"simd-ldst", "Load register (literal), SIMD&FP", 0x9c000000},
    {"simd-ldst", "Load/store register pair, SIMD&FP", 0xad400400},
    {"simd-ldst", "Load/store register (pre-indexed), SIMD&FP", 0x3cc10c00},
    {"simd-ldst", "Load/store register (register offset), SIMD&FP", 0x3ce16800},
    {"simd", "AdvSIMD table lookup", 0x4e020020},
    {"simd", "AdvSIMD permute", 0x4e023820},
    {"simd", "AdvSIMD extract", 0x6e020820},
    {"simd", "AdvSIMD copy", 0x4e010420},
    {"simd", "AdvSIMD copy (INS element)", 0x6e010c20},
    {"simd", "AdvSIMD modified immediate", 0x4f00e420},
    {"simd", "AdvSIMD three same", 0x4e228420},
    {"simd", "AdvSIMD three different", 0x0e220020},
    {"simd", "AdvSIMD three different (narrowing)", 0x0e224020},
    {"simd", "AdvSIMD two-register miscellaneous", 0x4e20b820},
    {"simd", "AdvSIMD across lanes", 0x4e31b820},
    {"simd", "AdvSIMD shift by immediate", 0x4f095420},
    {"simd", "AdvSIMD vector x indexed element", 0x4f428020},
    {"simd", "AdvSIMD scalar three same", 0x5ee28420},
    {"simd", "AdvSIMD scalar three different", 0x5e629020},
    {"simd", "AdvSIMD scalar two-register misc", 0x5ee0b820},
    {"simd", "AdvSIMD scalar pairwise", 0x5ef1b820},
    {"simd", "AdvSIMD scalar copy", 0x5e010420},
    {"simd", "AdvSIMD scalar shift by immediate", 0x5f415420},
    {"simd", "AdvSIMD scalar x indexed element", 0x5f42c020},
    {"simd", "AdvSIMD polynomial multiply (PMULL)", 0x0e22e020},
    {"fp", "Floating-point data-processing (2 source)", 0x1e222820},
    {"fp", "Floating-point data-processing (3 source)", 0x1f020c20},
    {"fp", "Floating-point data-processing (1 source)", 0x1e20c020},
    {"fp", "Floating-point compare", 0x1e212000},
    {"fp", "Floating-point conditional compare", 0x1e210400},
    {"fp", "Floating-point conditional select", 0x1e220c20},
    {"fp", "Floating-point immediate", 0x1e2e1000},
    {"fp", "Conversion between FP and fixed-point", 0x1e18fc20},
    {"fp", "Conversion between FP and integer", 0x1e380020},
    {"fp", "AdvSIMD vector FP arithmetic", 0x4e22d420},
    {"fp", "AdvSIMD scalar FP pairwise", 0x7e30d820},
    {"fp", "AdvSIMD FP across lanes", 0x6e30c820},
    {"fp", "AdvSIMD FP x indexed element", 0x4f821020},
    {"fp", "AdvSIMD FP conversions (vector)", 0x4e21d820},
    {"crypto (optional, not advertised)", "AES", 0x4e284820},
    {"crypto (optional, not advertised)", "SHA three-register", 0x5e020020},
    {"crypto (optional, not advertised)", "SHA two-register", 0x5e280820},
};

void emu_print_stats(FILE *f) {
  unsigned n = sizeof classes / sizeof classes[0], impl = 0;
  const char *group = "";
  unsigned gi = 0, gn = 0;
  for (unsigned i = 0; i <= n; i++) {
    if (i == n || strcmp(group, classes[i].group) != 0) {
      if (gn)
        fprintf(f, "  => %s: %u/%u classes implemented\n", group, gi, gn);
      if (i == n)
        break;
      group = classes[i].group;
      gi = gn = 0;
    }
    struct emu_insn in;
    emu_decode(&in, classes[i].sample, 0x1000);
    bool ok = in.op != EMU_OP_UNDEF;
    gn++;
    gi += ok;
    impl += ok;
    fprintf(f, "%-4s %-10s %-48s %08x\n", ok ? "yes" : "NO", classes[i].group,
            classes[i].name, classes[i].sample);
  }
  fprintf(f, "total: %u/%u encoding classes implemented\n", impl, n);
}
