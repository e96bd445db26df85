/* mem.c — slow paths of guest memory accesses (see mem.h): TLB refill via
 * env->tlb_fill, accesses that cross a page (split into bytes after the
 * pages were checked), MMIO through env->mmio_read/mmio_write, faults.
 *
 * Runs on the CPU's thread; touches only that CPU's TLB.
 */
#include "emu/mem.h"

#include "emu/block.h"

static uint32_t fault_syndrome(enum emu_access acc) {
  return (acc == EMU_WRITE ? EMU_FAULT_WNR : 0) |
         (acc == EMU_EXEC ? EMU_FAULT_FETCH : 0) | EMU_FAULT_PERM;
}

static inline uint64_t tag_of(const struct emu_tlb_entry *e,
                              enum emu_access acc) {
  return acc == EMU_READ    ? e->tag_read
         : acc == EMU_WRITE ? e->tag_write
                            : e->tag_exec;
}

/* The tag an entry allowing acc at va holds now. */
static inline uint64_t want_tag(const struct emu_cpu *cpu, uint64_t va,
                                enum emu_access acc) {
  (void)acc;
  return emu_tlb_tag(cpu, va);
}

int emu_tlb_refill(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                   unsigned size) {
  cpu->stats.tlb_fills++;
  int r = cpu->env->tlb_fill(cpu, va, acc, size);
  if (r == 0 || r == EMU_FILL_WATCH)
    emu_code_tlb_filled(cpu, emu_tlb_lookup(cpu, va), va, acc);
  return r;
}

/* Makes the TLB entry for va valid for acc. Returns the entry, or NULL
 * when the page is MMIO. Raises the fault if the access is not allowed. */
static struct emu_tlb_entry *fill(struct emu_cpu *cpu,
                                  const struct emu_insn *in, uint64_t va,
                                  enum emu_access acc, unsigned size) {
  struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
  if (tag_of(e, acc) == want_tag(cpu, va, acc))
    return e;
  int r = emu_tlb_refill(cpu, va, acc, size);
  if (r == 1 && acc != EMU_EXEC)
    return NULL;
  if (r == EMU_FILL_WATCH && acc != EMU_EXEC) {
    uint32_t esr = cpu->env->watch_check(cpu, va, size, acc);
    if (esr)
      emu_raise(cpu, in, EMU_EXIT_DEBUG, esr, va);
    return e;
  }
  if (r != 0 || tag_of(e, acc) != want_tag(cpu, va, acc))
    emu_raise(cpu, in, EMU_EXIT_FAULT, fault_syndrome(acc), va);
  return e;
}

void emu_align_fault(struct emu_cpu *cpu, const struct emu_insn *in,
                     uint64_t va, enum emu_access acc) {
  emu_raise(cpu, in, EMU_EXIT_FAULT,
            (acc == EMU_WRITE ? EMU_FAULT_WNR : 0) | EMU_FAULT_ALIGN, va);
}

void emu_probe(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t va,
               unsigned len, enum emu_access acc) {
  if (!len)
    return;
  uint64_t last = (va + len - 1) & EMU_PAGE_MASK;
  for (uint64_t p = va & EMU_PAGE_MASK;; p += EMU_PAGE_SIZE) {
    fill(cpu, in, p < va ? va : p, acc, 1);
    if (p == last)
      break;
  }
}

uint64_t emu_ld_slow(struct emu_cpu *cpu, const struct emu_insn *in,
                     uint64_t va, unsigned size) {
  if (!emu_in_page(va, size)) {
    /* Both pages must be readable before any byte counts. */
    emu_probe(cpu, in, va, size, EMU_READ);
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
      v |= (uint64_t)emu_ld8(cpu, in, va + i) << (8 * i);
    return v;
  }
  struct emu_tlb_entry *e = fill(cpu, in, va, EMU_READ, size);
  if (!e)
    return cpu->env->mmio_read(cpu, va, size);
  uint64_t v = 0;
  memcpy(&v, (const void *)(uintptr_t)(va + e->addend), size);
  return v;
}

void emu_st_slow(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t va,
                 unsigned size, uint64_t val) {
  if (!emu_in_page(va, size)) {
    emu_probe(cpu, in, va, size, EMU_WRITE);
    for (unsigned i = 0; i < size; i++)
      emu_st8(cpu, in, va + i, (uint8_t)(val >> (8 * i)));
    return;
  }
  struct emu_tlb_entry *e = fill(cpu, in, va, EMU_WRITE, size);
  if (!e) {
    cpu->env->mmio_write(cpu, va, size, val);
    return;
  }
  memcpy((void *)(uintptr_t)(va + e->addend), &val, size);
}

unsigned __int128 emu_ld128_slow(struct emu_cpu *cpu, const struct emu_insn *in,
                                 uint64_t va) {
  emu_probe(cpu, in, va, 16, EMU_READ);
  uint64_t lo = emu_ld64(cpu, in, va), hi = emu_ld64(cpu, in, va + 8);
  return (unsigned __int128)hi << 64 | lo;
}

void emu_st128_slow(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t va,
                    unsigned __int128 val) {
  emu_probe(cpu, in, va, 16, EMU_WRITE);
  emu_st64(cpu, in, va, (uint64_t)val);
  emu_st64(cpu, in, va + 8, (uint64_t)(val >> 64));
}

void *emu_host_range_slow(struct emu_cpu *cpu, const struct emu_insn *in,
                          uint64_t va, unsigned len, enum emu_access acc) {
  if (!emu_in_page(va, len))
    return NULL;
  struct emu_tlb_entry *e = fill(cpu, in, va, acc, len);
  return e ? (void *)(uintptr_t)(va + e->addend) : NULL;
}

void emu_tlb_flush(struct emu_cpu *cpu) {
  cpu->stats.tlb_flushes++;
  for (unsigned v = 0; v < 2; v++)
    for (unsigned i = 0; i < EMU_TLB_SIZE; i++) {
      struct emu_tlb_entry *e = &cpu->tlb_views[v][i];
      e->tag_read = e->tag_write = e->tag_exec = EMU_TLB_INVALID;
      e->addend = 0;
    }
}

void emu_tlb_flush_page(struct emu_cpu *cpu, uint64_t va) {
  for (unsigned v = 0; v < 2; v++) {
    struct emu_tlb_entry *e =
        &cpu->tlb_views[v][(va >> EMU_PAGE_BITS) & (EMU_TLB_SIZE - 1)];
    uint64_t page = va & EMU_PAGE_MASK;
    if ((e->tag_read & EMU_PAGE_MASK) == page ||
        (e->tag_write & EMU_PAGE_MASK) == page ||
        (e->tag_exec & EMU_PAGE_MASK) == page)
      e->tag_read = e->tag_write = e->tag_exec = EMU_TLB_INVALID;
  }
}
