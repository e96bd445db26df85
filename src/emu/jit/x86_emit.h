/* x86_emit.h — vmkit's own x86-64 instruction encoder, for the AArch64 →
 * x86-64 translator (src/emu/jit). It only encodes: no register
 * allocation, no knowledge of the guest.
 *
 * Runs on whichever thread owns the struct xe_buf (a vCPU thread while it
 * translates); no shared state, no locks. xe_patch_jmp is the one function
 * meant to touch code another thread may be running (block chaining).
 *
 * Conventions
 * - Every emitter returns nothing. A failure (buffer full, an operand the
 *   instruction cannot take, a displacement out of range) marks the buffer
 *   failed and records the first reason in b->err; from then on every
 *   emitter does nothing. The caller checks xe_ok(b) once after emitting a
 *   whole block (and, when full, flushes the code cache and retranslates).
 *   Nothing is ever written at or past b->cap.
 * - Sizes are in bits: 8, 16, 32 or 64 (the operand size). A 32-bit
 *   operation writes the low 32 bits and zeroes the upper 32 (x86-64 rule),
 *   which is what AArch64's W-register forms need. 8- and 16-bit operations
 *   leave the rest of the register alone.
 * - Registers are enum xe_reg (rax..r15 = 0..15); an 8-bit operand of
 *   register 4..7 means spl/bpl/sil/dil (a REX prefix is added): ah/ch/dh/bh
 *   are never produced. XMM registers are enum xe_xmm (0..15).
 * - Memory operands are struct xe_mem, built with xe_m* helpers:
 *   [base + index*scale + disp32], base or index may be XE_NOREG (index
 *   never rsp), or RIP-relative to an absolute target address (the encoder
 *   computes the displacement from where the instruction will run,
 *   b->exec; out of ±2 GiB fails).
 * - Immediates: "imm" parameters are sign-extended int32 as x86 takes them
 *   (an 8-bit form is chosen automatically when the value fits); only
 *   xe_mov_ri takes any 64-bit value.
 * - Destination first, as in Intel syntax.
 * - Flags: emitters named after an x86 instruction set flags as that
 *   instruction does; xe_mov_ri never touches flags (it does not use xor).
 * - Jumps: to a known position xe_jmp_to/xe_jcc_to pick rel8 when it fits;
 *   forward jumps return a struct xe_fixup that xe_bind resolves later;
 *   jumps/calls to absolute addresses (helpers, other blocks) use rel32
 *   from b->exec. xe_jmp_patchable emits a 5-byte jmp whose rel32 is 4-byte
 *   aligned so xe_patch_jmp can retarget it with one atomic store while
 *   other threads run it.
 */
#ifndef VMK_EMU_JIT_X86_EMIT_H
#define VMK_EMU_JIT_X86_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum xe_reg {
  XE_RAX,
  XE_RCX,
  XE_RDX,
  XE_RBX,
  XE_RSP,
  XE_RBP,
  XE_RSI,
  XE_RDI,
  XE_R8,
  XE_R9,
  XE_R10,
  XE_R11,
  XE_R12,
  XE_R13,
  XE_R14,
  XE_R15,
  XE_NOREG = -1,
  XE_RIP = -2, /* only as a memory base, via xe_mrip */
};

enum xe_xmm {
  XE_XMM0,
  XE_XMM1,
  XE_XMM2,
  XE_XMM3,
  XE_XMM4,
  XE_XMM5,
  XE_XMM6,
  XE_XMM7,
  XE_XMM8,
  XE_XMM9,
  XE_XMM10,
  XE_XMM11,
  XE_XMM12,
  XE_XMM13,
  XE_XMM14,
  XE_XMM15,
};

/* Condition codes, numbered as in the x86 encoding (Jcc = 0x70 + cc). */
enum xe_cc {
  XE_O,
  XE_NO,
  XE_B, /* carry set; unsigned < */
  XE_AE,
  XE_E,
  XE_NE,
  XE_BE,
  XE_A,
  XE_S,
  XE_NS,
  XE_P,
  XE_NP,
  XE_L,
  XE_GE,
  XE_LE,
  XE_G,
};

/* The two-operand integer ALU group; values are the /digit of 0x81. */
enum xe_alu {
  XE_ADD,
  XE_OR,
  XE_ADC,
  XE_SBB,
  XE_AND,
  XE_SUB,
  XE_XOR,
  XE_CMP,
};

/* Shifts and rotates; values are the /digit of 0xC1/0xD3. */
enum xe_shift {
  XE_ROL = 0,
  XE_ROR = 1,
  XE_SHL = 4,
  XE_SHR = 5,
  XE_SAR = 7,
};

/* The one-operand group of 0xF7. MUL/IMUL1/DIV/IDIV use rdx:rax (for 8
 * bits: ax); the caller handles Arm's rules (x/0 = 0, INT_MIN/-1 = INT_MIN)
 * before emitting DIV/IDIV, which trap on them. */
enum xe_unary {
  XE_NOT = 2,
  XE_NEG = 3,
  XE_MUL = 4,
  XE_IMUL1 = 5,
  XE_DIV = 6,
  XE_IDIV = 7,
};

/* SSE/SSE2/SSE4.1 instructions of the form "op xmm, xmm/m". */
enum xe_sse {
  XE_MOVSD,  /* xmm<-xmm: low 64 bits; xmm<-m64: zero-extends */
  XE_MOVSS,  /* likewise with 32 bits */
  XE_MOVQ,   /* xmm<-xmm/m64, zero-extends to 128 bits */
  XE_MOVD,   /* xmm<-m32, zero-extends (register form: xe_movd_xr) */
  XE_MOVDQU, /* 128-bit load */
  XE_MOVDQA, /* 128-bit aligned load */
  XE_MOVAPS, /* 128-bit register copy */
  XE_ADDSD,
  XE_SUBSD,
  XE_MULSD,
  XE_DIVSD,
  XE_SQRTSD,
  XE_MINSD,
  XE_MAXSD,
  XE_ADDSS,
  XE_SUBSS,
  XE_MULSS,
  XE_DIVSS,
  XE_SQRTSS,
  XE_MINSS,
  XE_MAXSS,
  XE_UCOMISD,
  XE_UCOMISS,
  XE_COMISD,
  XE_COMISS,
  XE_CVTSD2SS,
  XE_CVTSS2SD,
  XE_ADDPD,
  XE_ADDPS,
  XE_MULPD,
  XE_MULPS,
  XE_PXOR,
  XE_PAND,
  XE_PANDN,
  XE_POR,
  XE_PADDB,
  XE_PADDW,
  XE_PADDD,
  XE_PADDQ,
  XE_PSUBB,
  XE_PSUBW,
  XE_PSUBD,
  XE_PSUBQ,
  XE_PCMPEQB,
  XE_PCMPEQD,
  XE_PSHUFB, /* SSSE3 */
  XE_PMULLD, /* SSE4.1 */
  XE_PMINUD, /* SSE4.1 */
  XE_PMAXUD, /* SSE4.1 */
  XE_PTEST,  /* SSE4.1 */
  XE_SUBPS,
  XE_SUBPD,
  XE_DIVPS,
  XE_DIVPD,
  XE_PSUBUSB,
  XE_PSUBUSW,
  XE_PMULLW,
  XE_PCMPGTD,
  XE_PCMPGTQ, /* SSE4.2 */
  XE_PCMPEQW,
  XE_PCMPEQQ, /* SSE4.1 */
  XE_PCMPGTB,
  XE_PCMPGTW,
  XE_PMAXUB,
  XE_PMINUB,
  XE_PMAXSW,
  XE_PMINSW,
  XE_PMAXUW, /* SSE4.1 */
  XE_PMINUW, /* SSE4.1 */
  XE_PMAXSB, /* SSE4.1 */
  XE_PMINSB, /* SSE4.1 */
  XE_PMAXSD, /* SSE4.1 */
  XE_PMINSD, /* SSE4.1 */
  XE_PUNPCKLQDQ,
  XE_PUNPCKHQDQ,
  XE_PADDUSB,
  XE_SSE_NOPS,
};

/* AVX/AVX2 three-operand forms "vop dst, src1, src2/m" (VEX.128 or .256). */
enum xe_avx {
  XE_VPXOR,
  XE_VPAND,
  XE_VPOR,
  XE_VPADDB,
  XE_VPADDD,
  XE_VPADDQ,
  XE_VPSUBD,
  XE_VPCMPEQB,
  XE_VPSHUFB,
  XE_VPMULLD,
  XE_VADDPD,
  XE_VADDPS,
  XE_VMULPD,
  XE_VMULPS,
  XE_VFMADD231SD, /* FMA3: dst += src1 * src2 (one rounding, as Arm FMADD) */
  XE_VFMADD231SS,
  XE_VFMADD231PS, /* FMA3, every lane (Arm FMLA) */
  XE_VFMADD231PD,
  XE_VFNMADD231PS, /* FMA3: dst -= src1 * src2, one rounding (Arm FMLS) */
  XE_VFNMADD231PD,
  XE_AVX_NOPS,
};

struct xe_mem {
  int8_t base;   /* enum xe_reg, XE_NOREG or XE_RIP */
  int8_t index;  /* enum xe_reg or XE_NOREG; never XE_RSP */
  uint8_t scale; /* 1, 2, 4 or 8 */
  int32_t disp;
  uint64_t target; /* XE_RIP: the absolute address referred to */
};

struct xe_buf {
  uint8_t *p;      /* where bytes are written (may be an RW alias) */
  size_t cap;      /* bytes available at p */
  size_t len;      /* bytes emitted */
  uint64_t exec;   /* address at which p[0] will execute */
  const char *err; /* first failure, or NULL */
  bool full;       /* the failure was running out of room */
};

/* A forward jump to bind later: where its displacement field is. */
struct xe_fixup {
  size_t at;   /* offset of the rel8/rel32 field; SIZE_MAX: none */
  uint8_t len; /* 1 or 4 */
};

/* ---- the buffer ---- */

/* mem: where to write (cap bytes); exec: the address the code will run
 * at (the same as mem without a separate RX mapping). */
void xe_init(struct xe_buf *b, void *mem, size_t cap, uint64_t exec);
static inline bool xe_ok(const struct xe_buf *b) { return b->err == NULL; }
static inline size_t xe_here(const struct xe_buf *b) { return b->len; }
/* The execution address of buffer offset pos. */
static inline uint64_t xe_addr(const struct xe_buf *b, size_t pos) {
  return b->exec + pos;
}
/* Marks the buffer failed with reason (kept if one is already set). */
void xe_fail(struct xe_buf *b, const char *reason);
/* Raw bytes (for data or a sequence not covered here). */
void xe_bytes(struct xe_buf *b, const void *data, size_t n);
/* n bytes of recommended multi-byte NOPs. */
void xe_nop(struct xe_buf *b, size_t n);
/* NOPs up to the next multiple of align (a power of two ≤ 64). */
void xe_align(struct xe_buf *b, size_t align);

/* ---- memory operands ---- */

static inline struct xe_mem xe_m(enum xe_reg base, int32_t disp) {
  return (struct xe_mem){base, XE_NOREG, 1, disp, 0};
}
static inline struct xe_mem xe_mi(enum xe_reg base, enum xe_reg index,
                                  unsigned scale, int32_t disp) {
  return (struct xe_mem){base, index, (uint8_t)scale, disp, 0};
}
static inline struct xe_mem xe_mrip(uint64_t target) {
  return (struct xe_mem){XE_RIP, XE_NOREG, 1, 0, target};
}

/* ---- moves ---- */

/* dst = src (sz 32 zero-extends; 8/16 merge). */
void xe_mov_rr(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src);
/* dst = imm (64-bit register), shortest encoding: mov r32, imm32 when it
 * zero-extends, mov r64, simm32 when it sign-extends, else movabs. */
void xe_mov_ri(struct xe_buf *b, enum xe_reg dst, uint64_t imm);
/* dst = imm with an explicit size: 32 (zero-extends) or 64 (always the
 * 10-byte movabs: a patchable constant). */
void xe_mov_ri_sz(struct xe_buf *b, unsigned sz, enum xe_reg dst, uint64_t imm);
/* dst = zero-extended src of ssz bits (8, 16; 32 is a plain 32-bit mov). */
void xe_movzx_rr(struct xe_buf *b, enum xe_reg dst, unsigned ssz,
                 enum xe_reg src);
/* dst (dsz 32 or 64) = sign-extended src of ssz bits (8, 16, 32). */
void xe_movsx_rr(struct xe_buf *b, unsigned dsz, enum xe_reg dst, unsigned ssz,
                 enum xe_reg src);
/* Loads: sz bits from m into dst, zero-extended to 64 bits. */
void xe_load(struct xe_buf *b, unsigned sz, enum xe_reg dst, struct xe_mem m);
/* Loads: ssz bits from m, sign-extended to dsz (32 or 64) bits. */
void xe_load_sx(struct xe_buf *b, unsigned dsz, enum xe_reg dst, unsigned ssz,
                struct xe_mem m);
/* Stores the low sz bits of src to m. */
void xe_store(struct xe_buf *b, unsigned sz, struct xe_mem m, enum xe_reg src);
/* Stores imm (sign-extended to 64 bits for sz 64) to m. */
void xe_store_imm(struct xe_buf *b, unsigned sz, struct xe_mem m, int32_t imm);
/* dst = address of m (sz 32 or 64). */
void xe_lea(struct xe_buf *b, unsigned sz, enum xe_reg dst, struct xe_mem m);
void xe_xchg_rr(struct xe_buf *b, unsigned sz, enum xe_reg a, enum xe_reg c);
/* Atomically swaps reg and m (xchg with memory is always locked). */
void xe_xchg_rm(struct xe_buf *b, unsigned sz, enum xe_reg r, struct xe_mem m);
void xe_push(struct xe_buf *b, enum xe_reg r);
void xe_pop(struct xe_buf *b, enum xe_reg r);
/* dst = cc ? src : dst (sz 16, 32 or 64; 32 zero-extends even if false). */
void xe_cmov(struct xe_buf *b, enum xe_cc cc, unsigned sz, enum xe_reg dst,
             enum xe_reg src);
/* dst = cc ? [m] : dst; the load happens (and may fault) either way. */
void xe_cmov_rm(struct xe_buf *b, enum xe_cc cc, unsigned sz, enum xe_reg dst,
                struct xe_mem m);
/* Low byte of dst = cc (the rest unchanged). */
void xe_setcc(struct xe_buf *b, enum xe_cc cc, enum xe_reg dst);

/* ---- integer arithmetic ---- */

void xe_alu_rr(struct xe_buf *b, enum xe_alu op, unsigned sz, enum xe_reg dst,
               enum xe_reg src);
void xe_alu_ri(struct xe_buf *b, enum xe_alu op, unsigned sz, enum xe_reg dst,
               int32_t imm);
/* dst op= [m] */
void xe_alu_rm(struct xe_buf *b, enum xe_alu op, unsigned sz, enum xe_reg dst,
               struct xe_mem m);
/* [m] op= src */
void xe_alu_mr(struct xe_buf *b, enum xe_alu op, unsigned sz, struct xe_mem m,
               enum xe_reg src);
/* [m] op= imm */
void xe_alu_mi(struct xe_buf *b, enum xe_alu op, unsigned sz, struct xe_mem m,
               int32_t imm);
void xe_test_rr(struct xe_buf *b, unsigned sz, enum xe_reg a, enum xe_reg c);
void xe_test_ri(struct xe_buf *b, unsigned sz, enum xe_reg r, int32_t imm);
/* test [m], r */
void xe_test_mr(struct xe_buf *b, unsigned sz, struct xe_mem m, enum xe_reg r);
void xe_unary(struct xe_buf *b, enum xe_unary op, unsigned sz, enum xe_reg r);
/* Sign-extends the accumulator into rdx (cwd/cdq/cqo) before IDIV. */
void xe_sext_acc(struct xe_buf *b, unsigned sz);
/* dst = dst * src, low bits (sz 16, 32, 64). */
void xe_imul_rr(struct xe_buf *b, unsigned sz, enum xe_reg dst,
                enum xe_reg src);
/* dst = src * imm */
void xe_imul_rri(struct xe_buf *b, unsigned sz, enum xe_reg dst,
                 enum xe_reg src, int32_t imm);
/* Shift/rotate by an immediate (masked to the operand size by the CPU). */
void xe_shift_ri(struct xe_buf *b, enum xe_shift op, unsigned sz, enum xe_reg r,
                 uint8_t imm);
/* Shift/rotate by cl. */
void xe_shift_rcl(struct xe_buf *b, enum xe_shift op, unsigned sz,
                  enum xe_reg r);
/* BMI2, flags untouched: dst = src shifted by cnt (sz 32 or 64; the count
 * is masked to the operand size, as Arm's LSLV/LSRV/ASRV). */
void xe_shlx(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src,
             enum xe_reg cnt);
void xe_shrx(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src,
             enum xe_reg cnt);
void xe_sarx(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src,
             enum xe_reg cnt);
/* BMI2: dst = src rotated right by imm, flags untouched. */
void xe_rorx(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src,
             uint8_t imm);
/* BMI1: dst = ~a & c (Arm BIC). */
void xe_andn(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg a,
             enum xe_reg c);
/* LZCNT (Arm CLZ: the size for 0), TZCNT, POPCNT; sz 16, 32 or 64. */
void xe_lzcnt(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src);
void xe_tzcnt(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src);
void xe_popcnt(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_reg src);
/* Byte swap of a 32- or 64-bit register (Arm REV). */
void xe_bswap(struct xe_buf *b, unsigned sz, enum xe_reg r);

/* ---- atomics and barriers ---- */

/* lock cmpxchg [m], src: compares the accumulator (al/ax/eax/rax) with
 * [m]; equal: [m] = src, ZF=1; else accumulator = [m], ZF=0. */
void xe_lock_cmpxchg(struct xe_buf *b, unsigned sz, struct xe_mem m,
                     enum xe_reg src);
/* lock cmpxchg16b [m] (16-byte aligned): rdx:rax vs [m], rcx:rbx new. */
void xe_lock_cmpxchg16b(struct xe_buf *b, struct xe_mem m);
/* lock xadd [m], r: r = old [m], [m] += r (Arm LDADD). */
void xe_lock_xadd(struct xe_buf *b, unsigned sz, struct xe_mem m,
                  enum xe_reg r);
void xe_mfence(struct xe_buf *b);
void xe_pause(struct xe_buf *b);

/* ---- control flow ---- */

/* Jump to buffer offset target (rel8 when it fits, else rel32). */
void xe_jmp_to(struct xe_buf *b, size_t target);
void xe_jcc_to(struct xe_buf *b, enum xe_cc cc, size_t target);
/* Forward jumps: short picks rel8 (binding fails if the target is more
 * than 127 bytes on), else rel32. */
struct xe_fixup xe_jmp_fwd(struct xe_buf *b, bool short_jump);
struct xe_fixup xe_jcc_fwd(struct xe_buf *b, enum xe_cc cc, bool short_jump);
/* call rel32 to a forward position (bound with xe_bind). */
struct xe_fixup xe_call_fwd(struct xe_buf *b);
/* Points the fixup at the current position / at offset target. */
void xe_bind(struct xe_buf *b, struct xe_fixup f);
void xe_bind_to(struct xe_buf *b, struct xe_fixup f, size_t target);
/* jmp/jcc/call rel32 to an absolute execution address (fails beyond
 * ±2 GiB from b->exec). */
void xe_jmp_abs(struct xe_buf *b, uint64_t target);
void xe_jcc_abs(struct xe_buf *b, enum xe_cc cc, uint64_t target);
void xe_call_abs(struct xe_buf *b, uint64_t target);
/* call target: rel32 when in reach, else movabs scratch + call scratch. */
void xe_call_far(struct xe_buf *b, uint64_t target, enum xe_reg scratch);
void xe_call_r(struct xe_buf *b, enum xe_reg r);
void xe_call_m(struct xe_buf *b, struct xe_mem m);
void xe_jmp_r(struct xe_buf *b, enum xe_reg r);
void xe_jmp_m(struct xe_buf *b, struct xe_mem m);
void xe_ret(struct xe_buf *b);
/* ret n: returns, then pops n more bytes. */
void xe_ret_imm(struct xe_buf *b, uint16_t n);
void xe_ud2(struct xe_buf *b);
void xe_int3(struct xe_buf *b);
/* A jmp rel32 to target (absolute) whose displacement is 4-byte aligned
 * (NOPs are emitted before it as needed). Returns the buffer offset of
 * the jmp's first byte (0xE9), or SIZE_MAX on failure. */
size_t xe_jmp_patchable(struct xe_buf *b, uint64_t target);
/* Retargets the patchable jmp at write address rw (execution address
 * exec) to target with one atomic 32-bit store. Returns 0, or -ERANGE
 * when target is beyond ±2 GiB, -EINVAL when rw is not such a jmp. */
int xe_patch_jmp(void *rw, uint64_t exec, uint64_t target);

/* ---- SSE / AVX ---- */

/* op dst, src */
void xe_sse_rr(struct xe_buf *b, enum xe_sse op, enum xe_xmm dst,
               enum xe_xmm src);
/* op dst, [m] */
void xe_sse_rm(struct xe_buf *b, enum xe_sse op, enum xe_xmm dst,
               struct xe_mem m);
/* Stores: movsd/movss/movq/movd/movdqu/movdqa [m], src. */
void xe_sse_store(struct xe_buf *b, enum xe_sse op, struct xe_mem m,
                  enum xe_xmm src);
/* movd/movq between a general register and an xmm (sz 32 or 64): into an
 * xmm zero-extends to 128 bits. */
void xe_movd_xr(struct xe_buf *b, unsigned sz, enum xe_xmm dst,
                enum xe_reg src);
void xe_movd_rx(struct xe_buf *b, unsigned sz, enum xe_reg dst,
                enum xe_xmm src);
/* cvtsi2sd/cvtsi2ss: dst = (double/float) src (signed, sz 32 or 64). */
void xe_cvtsi2sd(struct xe_buf *b, unsigned sz, enum xe_xmm dst,
                 enum xe_reg src);
void xe_cvtsi2ss(struct xe_buf *b, unsigned sz, enum xe_xmm dst,
                 enum xe_reg src);
/* cvttsd2si/cvttss2si (truncating) and cvtsd2si (current rounding):
 * dst (sz 32 or 64) = src; out of range gives the "integer indefinite"
 * value, which the caller maps to Arm's saturation. */
void xe_cvttsd2si(struct xe_buf *b, unsigned sz, enum xe_reg dst,
                  enum xe_xmm src);
void xe_cvttss2si(struct xe_buf *b, unsigned sz, enum xe_reg dst,
                  enum xe_xmm src);
void xe_cvtsd2si(struct xe_buf *b, unsigned sz, enum xe_reg dst,
                 enum xe_xmm src);
/* SSE4.1 roundsd/roundss dst, src, mode (0 nearest-even, 1 down, 2 up, 3
 * toward zero; +8 suppresses the inexact exception). */
void xe_roundsd(struct xe_buf *b, enum xe_xmm dst, enum xe_xmm src,
                uint8_t mode);
void xe_roundss(struct xe_buf *b, enum xe_xmm dst, enum xe_xmm src,
                uint8_t mode);
/* SSE4.1 pinsrq/pextrq (sz 64) and pinsrd/pextrd (sz 32): a lane of an
 * xmm from/to a general register. */
void xe_pinsr(struct xe_buf *b, unsigned sz, enum xe_xmm dst, enum xe_reg src,
              uint8_t lane);
void xe_pextr(struct xe_buf *b, unsigned sz, enum xe_reg dst, enum xe_xmm src,
              uint8_t lane);
/* movmskps/movmskpd dst, src: the sign bits of the 4 (pd: 2) lanes in
 * bits 0..3 (0..1) of dst (32 bits, zero-extended). */
void xe_movmsk(struct xe_buf *b, bool pd, enum xe_reg dst, enum xe_xmm src);
/* pshufd dst, src, imm: dword i of dst = dword (imm >> 2i) & 3 of src. */
void xe_pshufd(struct xe_buf *b, enum xe_xmm dst, enum xe_xmm src, uint8_t imm);
/* pshuflw dst, src, imm: word i (< 4) of dst = word (imm >> 2i) & 3 of
 * src; the upper 64 bits copied. */
void xe_pshuflw(struct xe_buf *b, enum xe_xmm dst, enum xe_xmm src,
                uint8_t imm);
/* SSSE3 palignr dst, src, imm: dst = bytes imm.. of the 32-byte dst:src
 * (src the low half). */
void xe_palignr(struct xe_buf *b, enum xe_xmm dst, enum xe_xmm src,
                uint8_t imm);
/* psrldq (XE_SHR) / pslldq (XE_SHL): the whole register shifted by imm
 * bytes (16 or more: 0). */
void xe_pbsh_ri(struct xe_buf *b, enum xe_shift op, enum xe_xmm r, uint8_t imm);
/* Shifts of every lane by an immediate: psrlw/psrld/psrlq (XE_SHR),
 * psraw/psrad (XE_SAR, lane 16/32), psllw/pslld/psllq (XE_SHL); lane is
 * 16, 32 or 64 bits. A count of the lane size or more gives 0 (SAR: the
 * sign in every bit). */
void xe_psh_ri(struct xe_buf *b, enum xe_shift op, unsigned lane, enum xe_xmm r,
               uint8_t imm);
/* AVX/AVX2: op dst, src1, src2 with 128- or 256-bit vectors (bits). */
void xe_avx_rrr(struct xe_buf *b, enum xe_avx op, unsigned bits,
                enum xe_xmm dst, enum xe_xmm src1, enum xe_xmm src2);
void xe_avx_rrm(struct xe_buf *b, enum xe_avx op, unsigned bits,
                enum xe_xmm dst, enum xe_xmm src1, struct xe_mem m);

#endif
