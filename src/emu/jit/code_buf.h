/* code_buf.h — executable memory for translated code: one bounded region,
 * allocated once, filled by a bump allocator, emptied as a whole.
 *
 * W^X: the region is a memfd mapped twice, a read-write view the encoder
 * writes through and a read-execute view the CPU runs (no page is ever
 * writable and executable through the same mapping). Where that is
 * refused (no memfd, or an exec mapping of it denied) one anonymous
 * mapping is used instead, made writable (RWX on the pages being written,
 * so code running on the same page keeps running) while a translation is
 * written and read-execute again when it is committed.
 *
 * Bound: EMU_CODE_BUF_DEFAULT (32 MiB) unless the caller asks otherwise,
 * between EMU_CODE_BUF_MIN and EMU_CODE_BUF_MAX (1 GiB, so every jump
 * inside the region reaches with rel32). When a translation does not fit
 * the caller drops every translation (emu_code_buf_flush) — after making
 * sure no thread runs any of them — and translates again.
 *
 * The executable view is placed below vmkit's own code when there is room,
 * so translations reach vmkit's helpers with a 5-byte call rel32
 * (near_text says whether that worked; else use xe_call_far).
 *
 * Not thread-safe: one owner (a vCPU thread's translator, or callers
 * holding the translator's lock). emu_code_buf_patch_jmp may be called
 * while other threads run the code it patches.
 */
#ifndef VMK_EMU_JIT_CODE_BUF_H
#define VMK_EMU_JIT_CODE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/jit/x86_emit.h"
#include "vmkit/vmkit.h"

#define EMU_CODE_BUF_DEFAULT ((size_t)32 << 20)
#define EMU_CODE_BUF_MIN ((size_t)64 << 10)
#define EMU_CODE_BUF_MAX ((size_t)1 << 30)
/* Translations start on this boundary (a cache-line friendly start). */
#define EMU_CODE_BUF_ALIGN 16

/* emu_code_buf_init flags */
#define EMU_CODE_BUF_SINGLE_MAP 1u /* skip the memfd (tests the fallback) */

struct emu_code_buf {
  uint8_t *rw; /* written through (== rx with a single mapping) */
  uint8_t *rx; /* executed */
  size_t size; /* bytes in the region (the bound) */
  size_t used; /* committed bytes */
  size_t peak; /* most bytes ever committed between flushes */
  uint64_t flushes;
  uint64_t commits;
  size_t open_lo; /* single mapping: the page range made writable by */
  size_t open_hi; /* emu_code_buf_begin (open_hi 0: none) */
  int fd;         /* the memfd, or -1 */
  bool dual;      /* separate RW and RX views */
  bool near_text; /* vmkit's functions within rel32 reach of the region */
  /* Fault sites (user mode's direct loads, jit/emit_ldst.c): host loads
   * that may fault on a guest page the host keeps inaccessible, each with
   * the slow-path stub that redoes its guest insn. {site, stub} offsets
   * from rx, in increasing site order (translations are appended at
   * increasing addresses); emptied by the flush. Allocated on first use:
   * room for cap entries (a direct load takes more than 8 bytes of code
   * and its stub more, so size / 16 is never the bound that binds in
   * practice; when it is, emu_code_buf_sites_room says so and the caller
   * flushes). */
  uint32_t (*sites)[2];
  size_t nsites, cap_sites;
};

struct emu_code_buf_stats {
  size_t size; /* the bound */
  size_t used; /* bytes of translated code now */
  size_t peak; /* most at once */
  uint64_t flushes;
  uint64_t commits;
  bool dual;      /* W^X with two views */
  bool near_text; /* vmkit's code reachable with call rel32 */
};

/* size 0: EMU_CODE_BUF_DEFAULT; rounded up to whole pages. Returns 0 or a
 * negative errno with err filled. */
int emu_code_buf_init(struct emu_code_buf *cb, size_t size, unsigned flags,
                      vmk_error *err);
void emu_code_buf_destroy(struct emu_code_buf *cb);

/* Points b at the free part of the region (write pointer, execution
 * address, capacity). Then emit, then commit. */
void emu_code_buf_begin(struct emu_code_buf *cb, struct xe_buf *b);
/* Keeps what b holds (if xe_ok) and makes it executable. Returns 0 and
 * sets *exec (may be NULL) to the translation's execution address;
 * -ENOSPC when b ran out of room (flush everything and translate again);
 * -EINVAL when the encoder failed for another reason (b->err says why);
 * on an error nothing is kept. */
int emu_code_buf_commit(struct emu_code_buf *cb, struct xe_buf *b, void **exec);
/* Drops every translation. The caller guarantees none is running. */
void emu_code_buf_flush(struct emu_code_buf *cb);
/* Retargets the xe_jmp_patchable jmp at execution address jmp (inside the
 * region) to target; safe while other threads run it. Returns 0, -EINVAL
 * (not such a jmp in the region) or -ERANGE (target out of reach). */
int emu_code_buf_patch_jmp(struct emu_code_buf *cb, uint64_t jmp,
                           uint64_t target);
/* Fault sites (see struct emu_code_buf): room for n more (allocating
 * the table on first use; false: none, flush first); records n sites of
 * the translation committed at exec (site, stub: offsets from exec, sites
 * increasing and after every site recorded before; returns -EINVAL and
 * records nothing when not). */
bool emu_code_buf_sites_room(struct emu_code_buf *cb, size_t n);
int emu_code_buf_add_sites(struct emu_code_buf *cb, uint64_t exec,
                           const uint32_t (*sites)[2], size_t n);
/* The stub's execution address for a fault at host address rip, or 0
 * when rip is not a recorded site. Async-signal-safe (a binary search,
 * no allocation): the host SIGSEGV handler calls it. */
uint64_t emu_code_buf_site_stub(const struct emu_code_buf *cb, uint64_t rip);

/* True when addr is inside the committed translations. */
bool emu_code_buf_contains(const struct emu_code_buf *cb, uint64_t addr);
void emu_code_buf_stats(const struct emu_code_buf *cb,
                        struct emu_code_buf_stats *st);

#endif
