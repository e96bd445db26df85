/* block.c — decoded-block cache: builds blocks (fetching guest code through
 * the exec TLB), keeps them in a hash table keyed by guest pc, allocates
 * them from an arena that is dropped as a whole by emu_flush_code (so no
 * block outlives a flush and successor links never dangle).
 *
 * Runs on the owning CPU's thread; no locks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu/block.h"
#include "emu/decode.h"
#include "emu/mem.h"

#define HASH_BITS 14
#define HASH_SIZE (1u << HASH_BITS)
#define CHUNK_SIZE (1u << 20)
#define ARENA_MAX (256u << 20) /* flush everything beyond this much code */

/* Generous (a block holds at most EMU_BLOCK_MAX + 1 insns): the kept
 * chunk must hold any one block (see emu_block_cache_new). */
_Static_assert(sizeof(struct emu_block) +
                       (2 * EMU_BLOCK_MAX + 1) * sizeof(struct emu_insn) +
                       sizeof(struct emu_block *) + 15 <=
                   CHUNK_SIZE,
               "a block must fit in the kept chunk");

struct chunk {
  struct chunk *next;
  size_t used;
  _Alignas(16) unsigned char data[];
};

struct emu_block_cache {
  struct emu_block *hash[HASH_SIZE];
  struct chunk *chunks;
  size_t total;
  uint64_t gen; /* bumped by every drop */
  bool flush_pending;
};

static inline unsigned hash_pc(uint64_t pc) {
  return (unsigned)((pc >> 2) ^ (pc >> (2 + HASH_BITS))) & (HASH_SIZE - 1);
}

/* The cache always owns at least one chunk, allocated here: after a drop
 * one block always fits, so running out of host memory never leaves the
 * CPU unable to make progress (and the library never aborts). */
int emu_block_cache_new(struct emu_cpu *cpu) {
  cpu->blocks = calloc(1, sizeof *cpu->blocks);
  if (!cpu->blocks)
    return -ENOMEM;
  struct chunk *ch = malloc(sizeof *ch + CHUNK_SIZE);
  if (!ch) {
    free(cpu->blocks);
    cpu->blocks = NULL;
    return -ENOMEM;
  }
  ch->next = NULL;
  ch->used = 0;
  cpu->blocks->chunks = ch;
  cpu->blocks->total = CHUNK_SIZE;
  return 0;
}

/* Frees every chunk but the last (the first allocated), which is emptied
 * and kept for reuse. */
static void drop_all(struct emu_block_cache *c) {
  struct chunk *ch = c->chunks;
  while (ch && ch->next) {
    struct chunk *next = ch->next;
    free(ch);
    ch = next;
  }
  c->chunks = ch;
  if (ch)
    ch->used = 0;
  c->total = ch ? CHUNK_SIZE : 0;
  memset(c->hash, 0, sizeof c->hash);
  c->flush_pending = false;
  c->gen++;
}

void emu_block_cache_free(struct emu_cpu *cpu) {
  if (!cpu->blocks)
    return;
  drop_all(cpu->blocks);
  free(cpu->blocks->chunks);
  free(cpu->blocks);
  cpu->blocks = NULL;
}

void emu_flush_code(struct emu_cpu *cpu) {
  if (cpu->blocks)
    cpu->blocks->flush_pending = true;
}

bool emu_block_flush_pending(struct emu_cpu *cpu) {
  return cpu->blocks->flush_pending;
}

uint64_t emu_block_gen(struct emu_cpu *cpu) { return cpu->blocks->gen; }

static void *arena_alloc(struct emu_block_cache *c, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (!c->chunks || c->chunks->used + size > CHUNK_SIZE) {
    struct chunk *ch = malloc(sizeof *ch + CHUNK_SIZE);
    if (!ch)
      return NULL;
    ch->next = c->chunks;
    ch->used = 0;
    c->chunks = ch;
    c->total += CHUNK_SIZE;
  }
  void *p = c->chunks->data + c->chunks->used;
  c->chunks->used += size;
  return p;
}

/* Raises the instruction fetch fault unless code at pc may run at the
 * current level: the exec TLB decides (refilled on a miss), for blocks
 * being built and for cached ones alike, since a block decoded for one
 * level or mapping is found by address alone. */
static struct emu_tlb_entry *exec_check(struct emu_cpu *cpu, uint64_t pc) {
  struct emu_tlb_entry *e = emu_tlb_lookup(cpu, pc);
  if (e->tag_exec != emu_exec_tag(cpu, pc)) {
    int r = cpu->env->tlb_fill(cpu, pc, EMU_EXEC, 4);
    if (r != 0 || e->tag_exec != emu_exec_tag(cpu, pc))
      emu_raise(cpu, NULL, EMU_EXIT_FAULT, EMU_FAULT_FETCH | EMU_FAULT_PERM,
                pc);
  }
  return e;
}

static struct emu_block *build(struct emu_cpu *cpu, uint64_t pc) {
  struct emu_block_cache *c = cpu->blocks;
  if (pc & 3)
    emu_raise(cpu, NULL, EMU_EXIT_FAULT, EMU_FAULT_FETCH | EMU_FAULT_ALIGN, pc);
  struct emu_tlb_entry *e = exec_check(cpu, pc);
  const unsigned char *code =
      (const unsigned char *)(uintptr_t)(pc + e->addend);
  unsigned max = (unsigned)((EMU_PAGE_SIZE - (pc & ~EMU_PAGE_MASK)) / 4);
  if (max > EMU_BLOCK_MAX)
    max = EMU_BLOCK_MAX;
  struct emu_insn tmp[EMU_BLOCK_MAX + 1];
  unsigned n = 0;
  bool ended = false;
  while (n < max && !ended) {
    uint32_t raw;
    memcpy(&raw, code + 4 * n, 4);
    ended = emu_decode(&tmp[n], raw, pc + 4ull * n);
    n++;
  }
  if (ended && n >= 2 && emu_is_bcond(&tmp[n - 1]))
    (void)(emu_fuse_dp_imm(&tmp[n - 2]) || emu_fuse_dp_reg(&tmp[n - 2]));
  unsigned ninsn = n;
  if (!ended)
    tmp[ninsn++] =
        (struct emu_insn){.fn = emu_h_end_block, .pc = pc + 4ull * n};
  if (c->total >= ARENA_MAX)
    drop_all(c);
  /* insns, then a pointer back to the block (see emu_chain) */
  size_t size = sizeof(struct emu_block) + ninsn * sizeof(struct emu_insn) +
                sizeof(struct emu_block *);
  struct emu_block *b = arena_alloc(c, size);
  if (!b) { /* out of host memory: start over in the kept chunk */
    drop_all(c);
    b = arena_alloc(c, size);
  }
  b->pc = pc;
  b->n = n;
  b->link[0] = b->link[1] = NULL;
  b->link_pc[0] = b->link_pc[1] = 1; /* never a valid (aligned) pc */
  b->link_next = 0;
  memcpy(b->insn, tmp, ninsn * sizeof(struct emu_insn));
  memcpy(&b->insn[ninsn], &b, sizeof b);
  unsigned h = hash_pc(pc);
  b->hnext = c->hash[h];
  c->hash[h] = b;
  return b;
}

static inline struct emu_block *lookup(struct emu_block_cache *c, uint64_t pc) {
  for (struct emu_block *b = c->hash[hash_pc(pc)]; b; b = b->hnext)
    if (b->pc == pc)
      return b;
  return NULL;
}

/* Chaining depth before returning to the dispatcher: with tail-call
 * optimisation (gcc -O2) chaining costs no stack; without it (-O0,
 * sanitizers) each chained block keeps its frames, so bound it. */
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
#define CHAIN_MAX 1024
#else
#define CHAIN_MAX 32
#endif

const struct emu_insn *emu_chain(struct emu_cpu *cpu, const struct emu_insn *in,
                                 uint64_t pc) {
  struct emu_block *b, *nb;
  memcpy(&b, in + 1, sizeof b);
  struct emu_block_cache *c = cpu->blocks;
  cpu->pc = pc;
  cpu->icount += b->n;
  if (EMU_UNLIKELY(cpu->exit_request | c->flush_pending |
                   (cpu->icount >= cpu->run_end) |
                   (++cpu->chain_depth > CHAIN_MAX)))
    return NULL;
  if (b->link_pc[0] == pc) {
    nb = b->link[0];
  } else if (b->link_pc[1] == pc) {
    nb = b->link[1];
  } else {
    nb = lookup(c, pc);
    if (!nb)
      return NULL; /* the dispatcher builds it */
    unsigned k = b->link_next;
    b->link[k] = nb;
    b->link_pc[k] = pc;
    b->link_next = k ^ 1;
  }
  /* Blocks and links are keyed by address only: the dispatcher re-checks
   * (or faults) when the current level may not run this page now. */
  if (EMU_UNLIKELY(!emu_exec_ok(cpu, pc)))
    return NULL;
  return nb->insn[0].fn(cpu, nb->insn);
}

struct emu_block *emu_block_get(struct emu_cpu *cpu, uint64_t pc) {
  struct emu_block_cache *c = cpu->blocks;
  if (EMU_UNLIKELY(c->flush_pending))
    drop_all(c);
  struct emu_block *b = lookup(c, pc);
  if (!b)
    return build(cpu, pc);
  if (EMU_UNLIKELY(!emu_exec_ok(cpu, pc)))
    exec_check(cpu, pc);
  return b;
}
