/* fpsimd.h — entry point of vmkit's AArch64 floating-point and AdvSIMD
 * instruction decoder (the FP/SIMD data-processing space and the SIMD&FP
 * load/store classes).
 *
 * Called by the core decoder on the vCPU thread that owns the block being
 * decoded; it keeps no state of its own (no locks needed).
 */
#ifndef VMK_EMU_FPSIMD_H
#define VMK_EMU_FPSIMD_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"

/* Fills out->fn and the operand fields for the encoding raw (out->pc and
 * out->raw are set by the caller). Returns false when the encoding is
 * unallocated or not implemented; the core then raises UNDEF. */
bool emu_decode_fpsimd(struct emu_insn *out, uint32_t raw);

#endif
