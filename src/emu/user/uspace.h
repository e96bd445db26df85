/* uspace.h — the guest address space of the user-mode runner: one large
 * host region reserved at startup (PROT_NONE + MAP_NORESERVE) so that a
 * guest virtual address va lives at host address base + va, with guest
 * page permissions tracked per page for the emulator's TLB fills and for
 * checking every pointer a system call receives (the guest is the
 * attacker: nothing outside its mapped pages is ever touched for it).
 *
 * Single-threaded: owned by the runner's (only) thread.
 */
#ifndef VMK_EMU_USER_USPACE_H
#define VMK_EMU_USER_USPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define US_SPACE (1ull << 38) /* 256 GiB of guest VA */
/* Inaccessible host bytes reserved after the space: a translated load
 * that starts below US_SPACE and ends past it faults (jit/emit_ldst.c). */
#define US_TAIL (64ull << 10)
#define US_PAGE 4096ull
#define US_STACK_TOP (US_SPACE - 0x10000)
#define US_STACK_SIZE (16ull << 20)
#define US_MMAP_TOP (US_STACK_TOP - US_STACK_SIZE - (1ull << 30))
#define US_DYN_BASE 0x1000000000ull /* load address of static-pie */

/* Per-page permission bits (PROT_* values) plus a "mapped" bit. */
#define US_R 1
#define US_W 2
#define US_X 4
#define US_MAPPED 8
#define US_SHARED_FILE 16 /* MAP_SHARED of a file: host protection follows */

/* Host protections follow the guest's readability: a page the guest may
 * read (or execute: the emulator fetches through the host mapping) is
 * host-readable, read/write unless a shared file mapping's guest
 * protection says otherwise; any other page (unmapped, PROT_NONE,
 * write-only is impossible: PROT_WRITE implies read) is PROT_NONE. So a
 * translated load may read base + va with no permission check and rely
 * on the host to fault for an unreadable page — except on an exec-only
 * page, which xonly reports (the translator then goes back to the TLB). */
struct uspace {
  uint8_t *base; /* host address of guest VA 0 */
  uint8_t *perm; /* US_SPACE / US_PAGE entries */
  uint64_t brk_start, brk_cur;
  uint64_t mmap_next; /* top-down allocation cursor */
  bool xonly;         /* some page was made executable and not readable */
};

int emu_us_init(struct uspace *us);
void emu_us_destroy(struct uspace *us);
/* Unmaps everything (execve). Returns 0 or -errno. */
int emu_us_reset(struct uspace *us);

/* Host pointer for [va, va+len) if every page has all bits of need (US_R
 * or US_W), else NULL. len 0 is allowed. */
void *emu_us_ptr(struct uspace *us, uint64_t va, uint64_t len, unsigned need);
/* Guest NUL-terminated string, readable, at most max bytes incl. NUL;
 * NULL if not. */
const char *emu_us_str(struct uspace *us, uint64_t va, size_t max);

/* Mapping primitives; all return 0/address or -errno. */
int emu_us_map_anon(struct uspace *us, uint64_t va, uint64_t len,
                    unsigned prot);
long emu_us_mmap(struct uspace *us, uint64_t addr, uint64_t len, int prot,
                 int flags, int fd, uint64_t off);
int emu_us_munmap(struct uspace *us, uint64_t va, uint64_t len);
int emu_us_mprotect(struct uspace *us, uint64_t va, uint64_t len, int prot);
uint64_t emu_us_brk(struct uspace *us, uint64_t newbrk);
/* Finds a free range of len bytes (top-down); 0 if none. */
uint64_t emu_us_find_free(struct uspace *us, uint64_t len);

#endif
