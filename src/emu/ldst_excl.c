/* ldst_excl.c — A64 load/store exclusive and load-acquire/store-release:
 * LDXR/LDAXR/STXR/STLXR (B/H/W/X), LDXP/LDAXP/STXP/STLXP (W/X),
 * LDAR/STLR (B/H/W/X).
 *
 * The exclusive monitor is emulated with the host's compare-and-swap: a
 * load-exclusive records the address, size and the value it read
 * (cpu->excl_*); a store-exclusive succeeds only if the monitor is armed
 * for the same address and size and the memory still holds the value
 * read, which it checks and updates atomically with one CAS (64-bit pairs
 * use a 128-bit CAS: cmpxchg16b on x86-64, so no lock is needed; other
 * hosts use __atomic on unsigned __int128, which may use libatomic). This
 * is the usual emulation (an ABA write of the same value is not detected,
 * which no correct program can tell from a monitor that stayed armed).
 *
 * Alignment: exclusives and acquire/release require natural alignment
 * (pairs: of the whole pair) in ARMv8.0; misaligned → alignment fault.
 * Exclusives to MMIO are not supported (data abort).
 *
 * Ordering: x86 loads are acquire and stores are release; STLR followed by
 * LDAR must not be reordered (RCsc), so STLR is followed by a full fence.
 *
 * Guest memory may be shared with other vCPU threads; all accesses here
 * are host atomics on it. Runs on the CPU's thread.
 */
#include <stdbool.h>

#include "emu/decode.h"
#include "emu/mem.h"

static inline void *excl_ptr(struct emu_cpu *cpu, const struct emu_insn *in,
                             uint64_t va, unsigned size, enum emu_access acc) {
  emu_check_align(cpu, in, va, size, acc);
  void *p = emu_host_range(cpu, in, va, size, acc);
  if (!p) /* MMIO: no exclusives there */
    emu_raise(cpu, in, EMU_EXIT_FAULT,
              (acc == EMU_WRITE ? EMU_FAULT_WNR : 0) | EMU_FAULT_PERM, va);
  return p;
}

static inline uint64_t atomic_load_sz(void *p, unsigned size) {
  switch (size) {
  case 1:
    return __atomic_load_n((uint8_t *)p, __ATOMIC_ACQUIRE);
  case 2:
    return __atomic_load_n((uint16_t *)p, __ATOMIC_ACQUIRE);
  case 4:
    return __atomic_load_n((uint32_t *)p, __ATOMIC_ACQUIRE);
  default:
    return __atomic_load_n((uint64_t *)p, __ATOMIC_ACQUIRE);
  }
}

static inline bool cas_sz(void *p, unsigned size, uint64_t expect,
                          uint64_t val) {
  switch (size) {
  case 1: {
    uint8_t e = (uint8_t)expect;
    return __atomic_compare_exchange_n((uint8_t *)p, &e, (uint8_t)val, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  }
  case 2: {
    uint16_t e = (uint16_t)expect;
    return __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)val, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  }
  case 4: {
    uint32_t e = (uint32_t)expect;
    return __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)val, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  }
  default: {
    uint64_t e = expect;
    return __atomic_compare_exchange_n((uint64_t *)p, &e, val, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  }
  }
}

static inline bool cas128(void *p, uint64_t elo, uint64_t ehi, uint64_t nlo,
                          uint64_t nhi) {
#if defined(__x86_64__)
  bool ok;
  __asm__ volatile("lock cmpxchg16b %1"
                   : "=@ccz"(ok), "+m"(*(volatile unsigned __int128 *)p),
                     "+a"(elo), "+d"(ehi)
                   : "b"(nlo), "c"(nhi)
                   : "memory");
  return ok;
#else
  unsigned __int128 e = (unsigned __int128)ehi << 64 | elo;
  unsigned __int128 n = (unsigned __int128)nhi << 64 | nlo;
  return __atomic_compare_exchange_n((unsigned __int128 *)p, &e, n, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
#endif
}

/* a = access size in bytes; rd = Rt, rm = Rs (status), ra = Rt2 */
EMU_SEM_NEXT(ldxr) {
  uint64_t va = cpu->r[in->rn];
  void *p = excl_ptr(cpu, in, va, in->a, EMU_READ);
  uint64_t v = atomic_load_sz(p, in->a);
  cpu->excl_addr = va;
  cpu->excl_size = in->a;
  cpu->excl_val[0] = v;
  cpu->r[in->rd] = v;
}
EMU_SEM_NEXT(stxr) {
  uint64_t va = cpu->r[in->rn];
  void *p = excl_ptr(cpu, in, va, in->a, EMU_WRITE);
  uint64_t status = 1;
  if (cpu->excl_size == in->a && cpu->excl_addr == va &&
      cas_sz(p, in->a, cpu->excl_val[0], cpu->r[in->rd]))
    status = 0;
  cpu->excl_size = 0;
  cpu->r[in->rm] = status;
}
/* Pairs of W registers: one 64-bit exclusive. */
EMU_SEM_NEXT(ldxp32) {
  uint64_t va = cpu->r[in->rn];
  void *p = excl_ptr(cpu, in, va, 8, EMU_READ);
  uint64_t v = atomic_load_sz(p, 8);
  cpu->excl_addr = va;
  cpu->excl_size = 8 | 0x100; /* marks a pair so STXR X can't match */
  cpu->excl_val[0] = v;
  cpu->r[in->rd] = (uint32_t)v;
  cpu->r[in->ra] = v >> 32;
}
EMU_SEM_NEXT(stxp32) {
  uint64_t va = cpu->r[in->rn];
  void *p = excl_ptr(cpu, in, va, 8, EMU_WRITE);
  uint64_t v = (uint32_t)cpu->r[in->rd] | cpu->r[in->ra] << 32;
  uint64_t status = 1;
  if (cpu->excl_size == (8 | 0x100) && cpu->excl_addr == va &&
      cas_sz(p, 8, cpu->excl_val[0], v))
    status = 0;
  cpu->excl_size = 0;
  cpu->r[in->rm] = status;
}
EMU_SEM_NEXT(ldxp64) {
  uint64_t va = cpu->r[in->rn];
  uint64_t *p = excl_ptr(cpu, in, va, 16, EMU_READ);
  uint64_t lo = __atomic_load_n(&p[0], __ATOMIC_ACQUIRE);
  uint64_t hi = __atomic_load_n(&p[1], __ATOMIC_ACQUIRE);
  cpu->excl_addr = va;
  cpu->excl_size = 16;
  cpu->excl_val[0] = lo;
  cpu->excl_val[1] = hi;
  cpu->r[in->rd] = lo;
  cpu->r[in->ra] = hi;
}
EMU_SEM_NEXT(stxp64) {
  uint64_t va = cpu->r[in->rn];
  void *p = excl_ptr(cpu, in, va, 16, EMU_WRITE);
  uint64_t status = 1;
  if (cpu->excl_size == 16 && cpu->excl_addr == va &&
      cas128(p, cpu->excl_val[0], cpu->excl_val[1], cpu->r[in->rd],
             cpu->r[in->ra]))
    status = 0;
  cpu->excl_size = 0;
  cpu->r[in->rm] = status;
}
EMU_SEM_NEXT(ldar) {
  uint64_t va = cpu->r[in->rn], v;
  emu_check_align(cpu, in, va, in->a, EMU_READ);
  switch (in->a) {
  case 1:
    v = emu_ld8(cpu, in, va);
    break;
  case 2:
    v = emu_ld16(cpu, in, va);
    break;
  case 4:
    v = emu_ld32(cpu, in, va);
    break;
  default:
    v = emu_ld64(cpu, in, va);
    break;
  }
  __atomic_signal_fence(__ATOMIC_ACQUIRE);
  cpu->r[in->rd] = v;
}
EMU_SEM_NEXT(stlr) {
  uint64_t va = cpu->r[in->rn], v = cpu->r[in->rd];
  emu_check_align(cpu, in, va, in->a, EMU_WRITE);
  __atomic_signal_fence(__ATOMIC_RELEASE);
  switch (in->a) {
  case 1:
    emu_st8(cpu, in, va, (uint8_t)v);
    break;
  case 2:
    emu_st16(cpu, in, va, (uint16_t)v);
    break;
  case 4:
    emu_st32(cpu, in, va, (uint32_t)v);
    break;
  default:
    emu_st64(cpu, in, va, v);
    break;
  }
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- decode functions (patterns: isa/ldst.decode) ---- */

int emu_dec_excl(struct emu_insn *o, const struct emu_args_excl *a) {
  o->a = (uint8_t)(1u << a->size);
  o->rn = reg_sp(a->rn);
  switch (o->op) {
  case EMU_OP_LDXR:
    o->rd = reg_dzr(a->rt);
    o->fn = h_ldxr;
    break;
  case EMU_OP_STXR:
    o->rd = reg_zr(a->rt);
    o->rm = reg_dzr(a->rs);
    o->fn = h_stxr;
    break;
  case EMU_OP_LDAR:
    o->rd = reg_dzr(a->rt);
    o->fn = h_ldar;
    break;
  default: /* STLR */
    o->rd = reg_zr(a->rt);
    o->fn = h_stlr;
    break;
  }
  return DEC_OK;
}

int emu_dec_excl_pair(struct emu_insn *o, const struct emu_args_excl *a) {
  if (a->size < 2)
    return DEC_UNDEF; /* CASP (v8.1) */
  o->a = (uint8_t)(1u << a->size);
  o->rn = reg_sp(a->rn);
  if (o->op == EMU_OP_LDXP) {
    o->rd = reg_dzr(a->rt);
    o->ra = reg_dzr(a->rt2);
    o->fn = a->size == 3 ? h_ldxp64 : h_ldxp32;
  } else {
    o->rd = reg_zr(a->rt);
    o->ra = reg_zr(a->rt2);
    o->rm = reg_dzr(a->rs);
    o->fn = a->size == 3 ? h_stxp64 : h_stxp32;
  }
  return DEC_OK;
}

/* ---- exec helpers (emu_exec_helper[op]) ---- */

void emu_exec_excl(struct emu_cpu *cpu, const struct emu_insn *in) {
  switch (in->op) {
  case EMU_OP_LDXR:
    e_ldxr(cpu, in);
    break;
  case EMU_OP_STXR:
    e_stxr(cpu, in);
    break;
  case EMU_OP_LDAR:
    e_ldar(cpu, in);
    break;
  default:
    e_stlr(cpu, in);
    break;
  }
}
void emu_exec_excl_pair(struct emu_cpu *cpu, const struct emu_insn *in) {
  if (in->op == EMU_OP_LDXP)
    (in->a == 8 ? e_ldxp64 : e_ldxp32)(cpu, in);
  else
    (in->a == 8 ? e_stxp64 : e_stxp32)(cpu, in);
}
