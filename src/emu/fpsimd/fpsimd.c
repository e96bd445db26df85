/* fpsimd.c — top-level decoder of the FP/AdvSIMD instruction space:
 * routes an encoding to the decoder of its class (scalar FP, SIMD&FP
 * loads/stores, AdvSIMD integer, AdvSIMD FP, permutes/moves).
 *
 * Called by the core decoder on the vCPU thread; stateless.
 */
#include "fpsimd.h"
#include "emu/emu_isa.h"
#include "fpsimd_int.h"

/* The op of an FP/AdvSIMD insn is that of the class decoder that took it
 * (EMU_OP_FP_SCALAR ...): one op per handler group, until these classes
 * have patterns of their own. */
static bool with_op(struct emu_insn *out, bool ok, enum emu_op op) {
  if (ok)
    out->op = (uint16_t)op;
  return ok;
}

bool emu_decode_fpsimd(struct emu_insn *out, uint32_t raw) {
  unsigned op0 = (raw >> 25) & 15;
  if ((op0 & 5) == 4) /* x1x0: loads and stores */
    return with_op(out, fpsimd_decode_ldst(out, raw), EMU_OP_SIMD_LDST);
  if ((op0 & 7) != 7) /* x111: SIMD & FP data processing */
    return false;
  if ((raw & 0x5e000000u) == 0x1e000000u) /* scalar FP: x0x1111x */
    return with_op(out, fpsimd_decode_fp_scalar(out, raw), EMU_OP_FP_SCALAR);
  if (fpsimd_decode_simd_perm(out, raw))
    return with_op(out, true, EMU_OP_SIMD_PERM);
  if (fpsimd_decode_simd_fp(out, raw))
    return with_op(out, true, EMU_OP_SIMD_FP);
  return with_op(out, fpsimd_decode_simd(out, raw), EMU_OP_SIMD_INT);
}
