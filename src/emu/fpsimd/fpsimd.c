/* fpsimd.c — top-level decoder of the FP/AdvSIMD instruction space:
 * routes an encoding to the decoder of its class (scalar FP, SIMD&FP
 * loads/stores, AdvSIMD integer, AdvSIMD FP, permutes/moves).
 *
 * Called by the core decoder on the vCPU thread; stateless.
 */
#include "fpsimd.h"
#include "fpsimd_int.h"

bool emu_decode_fpsimd(struct emu_insn *out, uint32_t raw) {
  unsigned op0 = (raw >> 25) & 15;
  if ((op0 & 5) == 4) /* x1x0: loads and stores */
    return fpsimd_decode_ldst(out, raw);
  if ((op0 & 7) != 7) /* x111: SIMD & FP data processing */
    return false;
  if ((raw & 0x5e000000u) == 0x1e000000u) /* scalar FP: x0x1111x */
    return fpsimd_decode_fp_scalar(out, raw);
  if (fpsimd_decode_simd_perm(out, raw))
    return true;
  if (fpsimd_decode_simd_fp(out, raw))
    return true;
  return fpsimd_decode_simd(out, raw);
}
