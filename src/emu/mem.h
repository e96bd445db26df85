/* mem.h — guest memory accesses of the emulator: inline fast paths on the
 * per-CPU soft TLB, slow paths (TLB fill, page-crossing, MMIO) in mem.c.
 *
 * Every function here runs on the CPU's own thread and touches only that
 * CPU's TLB; guest memory itself is shared (host accesses are plain loads
 * and stores, which on x86-64 and arm64 hosts are single-copy atomic for
 * naturally aligned sizes up to 64 bits).
 *
 * A faulting access never returns: it ends the instruction `in` through
 * emu_raise(EMU_EXIT_FAULT), so handlers must do their loads (and for
 * stores, all checks) before they write any register.
 *
 * Unaligned accesses are allowed (normal memory, SCTLR.A = 0); the helpers
 * that must fault on misalignment (exclusives, acquire/release) call
 * emu_check_align() first. Guest memory is little-endian; so is the host
 * (checked below).
 */
#ifndef VMK_EMU_MEM_H
#define VMK_EMU_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "emu/cpu.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the emulator's memory fast path assumes a little-endian host"
#endif

/* Syndrome bits passed with EMU_EXIT_FAULT (a subset of ESR_ELx's data/
 * instruction abort ISS, so system mode can forward them). */
#define EMU_FAULT_WNR (1u << 6)    /* the access was a write */
#define EMU_FAULT_FETCH (1u << 24) /* instruction fetch (not in ESR) */
#define EMU_FAULT_ALIGN 0x21u      /* DFSC: alignment fault */
#define EMU_FAULT_PERM 0x0fu       /* DFSC: permission/translation fault */

/* Slow paths (mem.c). They handle TLB misses, accesses that cross a page,
 * and MMIO; they raise faults. */
uint64_t emu_ld_slow(struct emu_cpu *cpu, const struct emu_insn *in,
                     uint64_t va, unsigned size);
void emu_st_slow(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t va,
                 unsigned size, uint64_t val);
unsigned __int128 emu_ld128_slow(struct emu_cpu *cpu, const struct emu_insn *in,
                                 uint64_t va);
void emu_st128_slow(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t va,
                    unsigned __int128 val);
void *emu_host_range_slow(struct emu_cpu *cpu, const struct emu_insn *in,
                          uint64_t va, unsigned len, enum emu_access acc);
/* Raises EMU_EXIT_FAULT (alignment) unless va is a multiple of size. */
void emu_align_fault(struct emu_cpu *cpu, const struct emu_insn *in,
                     uint64_t va, enum emu_access acc);
/* Checks (raising a fault if not) that every byte of [va, va+len) may be
 * accessed with acc; for multi-element stores that must not half-happen. */
void emu_probe(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t va,
               unsigned len, enum emu_access acc);

static inline struct emu_tlb_entry *emu_tlb_lookup(struct emu_cpu *cpu,
                                                   uint64_t va) {
  return &cpu->tlb[(va >> EMU_PAGE_BITS) & (EMU_TLB_SIZE - 1)];
}

/* The tag an entry allowing an access at va holds now (any kind). */
static inline uint64_t emu_tlb_tag(const struct emu_cpu *cpu, uint64_t va) {
  return (va & EMU_PAGE_MASK) | cpu->tlb_key;
}

/* True when the soft TLB says code at pc may run now (a miss is not a
 * fault: the slow path refills the entry and decides). */
static inline bool emu_exec_ok(struct emu_cpu *cpu, uint64_t pc) {
  return emu_tlb_lookup(cpu, pc)->tag_exec == emu_tlb_tag(cpu, pc);
}

/* Calls env->tlb_fill for va and applies the core's own rule on top:
 * pages holding decoded code get no write tag (block.c). Returns what
 * tlb_fill returned. */
int emu_tlb_refill(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                   unsigned size);

/* True when [va, va+size) does not cross a page boundary. */
static inline bool emu_in_page(uint64_t va, unsigned size) {
  return (va & ~EMU_PAGE_MASK) <= EMU_PAGE_SIZE - size;
}

static inline void emu_check_align(struct emu_cpu *cpu,
                                   const struct emu_insn *in, uint64_t va,
                                   unsigned size, enum emu_access acc) {
  if (__builtin_expect(va & (size - 1), 0))
    emu_align_fault(cpu, in, va, acc);
}

#define EMU_DEFINE_LDST(bits)                                                  \
  static inline uint##bits##_t emu_ld##bits(                                   \
      struct emu_cpu *cpu, const struct emu_insn *in, uint64_t va) {           \
    struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);                         \
    if (__builtin_expect(e->tag_read == emu_tlb_tag(cpu, va) &&                \
                             emu_in_page(va, bits / 8),                        \
                         1)) {                                                 \
      uint##bits##_t v;                                                        \
      memcpy(&v, (const void *)(uintptr_t)(va + e->addend), sizeof v);         \
      return v;                                                                \
    }                                                                          \
    return (uint##bits##_t)emu_ld_slow(cpu, in, va, bits / 8);                 \
  }                                                                            \
  static inline void emu_st##bits(struct emu_cpu *cpu,                         \
                                  const struct emu_insn *in, uint64_t va,      \
                                  uint##bits##_t val) {                        \
    struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);                         \
    if (__builtin_expect(e->tag_write == emu_tlb_tag(cpu, va) &&               \
                             emu_in_page(va, bits / 8),                        \
                         1)) {                                                 \
      memcpy((void *)(uintptr_t)(va + e->addend), &val, sizeof val);           \
      return;                                                                  \
    }                                                                          \
    emu_st_slow(cpu, in, va, bits / 8, val);                                   \
  }

EMU_DEFINE_LDST(8)
EMU_DEFINE_LDST(16)
EMU_DEFINE_LDST(32)
EMU_DEFINE_LDST(64)
#undef EMU_DEFINE_LDST

/* 128-bit accesses for Q registers (not single-copy atomic as a whole, as
 * the architecture allows for a 128-bit SIMD&FP access). */
static inline unsigned __int128
emu_ld128(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t va) {
  struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
  if (__builtin_expect(
          e->tag_read == emu_tlb_tag(cpu, va) && emu_in_page(va, 16), 1)) {
    unsigned __int128 v;
    memcpy(&v, (const void *)(uintptr_t)(va + e->addend), sizeof v);
    return v;
  }
  return emu_ld128_slow(cpu, in, va);
}

static inline void emu_st128(struct emu_cpu *cpu, const struct emu_insn *in,
                             uint64_t va, unsigned __int128 val) {
  struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
  if (__builtin_expect(
          e->tag_write == emu_tlb_tag(cpu, va) && emu_in_page(va, 16), 1)) {
    memcpy((void *)(uintptr_t)(va + e->addend), &val, sizeof val);
    return;
  }
  emu_st128_slow(cpu, in, va, val);
}

/* Host pointer to the whole range [va, va+len) for access kind acc
 * (EMU_READ or EMU_WRITE), or NULL when the range crosses a page or is
 * MMIO — then the caller falls back to element accesses with
 * emu_ldN/emu_stN. Raises a fault if the first page is not accessible.
 * len must be at most EMU_PAGE_SIZE. For LD1-4/ST1-4 and DC ZVA. */
static inline void *emu_host_range(struct emu_cpu *cpu,
                                   const struct emu_insn *in, uint64_t va,
                                   unsigned len, enum emu_access acc) {
  struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
  uint64_t tag = acc == EMU_WRITE ? e->tag_write : e->tag_read;
  if (__builtin_expect(tag == emu_tlb_tag(cpu, va) && emu_in_page(va, len), 1))
    return (void *)(uintptr_t)(va + e->addend);
  return emu_host_range_slow(cpu, in, va, len, acc);
}

#endif
