/* fpsimd_weak.c — default emu_decode_fpsimd for builds without the FP/SIMD
 * instruction files: every FP/SIMD encoding is then UNDEFINED. The real
 * definition (fp_*.c / simd_*.c) overrides this weak one at link time.
 * Pure function; no state.
 */
#include "emu/cpu.h"

__attribute__((weak)) bool emu_decode_fpsimd(struct emu_insn *out,
                                             uint32_t raw) {
  (void)out;
  (void)raw;
  return false;
}
