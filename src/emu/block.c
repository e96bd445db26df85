/* block.c — decoded-block cache: builds blocks (fetching guest code through
 * the exec TLB), keeps them in a hash table keyed by guest pc, allocates
 * them from an arena that is dropped as a whole by emu_flush_code (so no
 * block outlives a flush and successor links never dangle).
 *
 * Two such sets: blocks in the upper half of the address space (bit 55
 * set: TTBR1, a kernel's) and in the lower half (TTBR0: user processes,
 * an idmap). emu_flush_user_code drops only the lower set, so switching
 * between processes does not make the kernel be decoded again (it was
 * most of the emulator's time in I/O-heavy guests, which switch often).
 * A successor link is cached only between blocks of one set, so dropping
 * one set leaves no link into it.
 *
 * Runs on the owning CPU's thread; no locks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu/block.h"
#include "emu/decode.h"
#include "emu/mem.h"

/* The upper set lives long (a kernel's code, kept across process
 * switches) and grows large: a bigger table keeps its chains short. The
 * lower one is emptied at every process switch, so it stays small. */
#define HASH_BITS 14
#define HASH_SIZE (1u << HASH_BITS)
#define HASH_BITS_HIGH 17
#define HASH_SIZE_HIGH (1u << HASH_BITS_HIGH)
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

struct block_set {
  struct emu_block **hash;
  unsigned mask; /* hash entries - 1 */
  struct chunk *chunks;
  size_t total;
};

#define SET_LOW 0  /* lower half (TTBR0) */
#define SET_HIGH 1 /* upper half (TTBR1) */
#define PEND_ALL 1u
#define PEND_LOW 2u

struct emu_block_cache {
  struct block_set set[2];
  uint64_t gen;     /* bumped by every drop */
  unsigned pending; /* PEND_* flushes requested, not yet performed */
  /* The one-instruction block of software step: at most a breakpoint
   * check, the instruction, the end insn and the block pointer. */
  _Alignas(16) unsigned char scratch[sizeof(struct emu_block) +
                                     3 * sizeof(struct emu_insn) +
                                     sizeof(struct emu_block *)];
};

static inline unsigned set_of(uint64_t pc) { return (unsigned)(pc >> 55) & 1; }

static inline unsigned hash_pc(const struct block_set *s, uint64_t pc) {
  return (unsigned)((pc >> 2) ^ (pc >> (2 + HASH_BITS_HIGH))) & s->mask;
}

/* Each set always owns at least one chunk, allocated here: after a drop
 * one block always fits, so running out of host memory never leaves the
 * CPU unable to make progress (and the library never aborts). */
int emu_block_cache_new(struct emu_cpu *cpu) {
  cpu->blocks = calloc(1, sizeof *cpu->blocks);
  if (!cpu->blocks)
    return -ENOMEM;
  for (unsigned i = 0; i < 2; i++) {
    unsigned n = i == SET_HIGH ? HASH_SIZE_HIGH : HASH_SIZE;
    cpu->blocks->set[i].mask = n - 1;
    cpu->blocks->set[i].hash = calloc(n, sizeof(struct emu_block *));
    struct chunk *ch = malloc(sizeof *ch + CHUNK_SIZE);
    if (!ch || !cpu->blocks->set[i].hash) {
      free(ch);
      emu_block_cache_free(cpu);
      return -ENOMEM;
    }
    ch->next = NULL;
    ch->used = 0;
    cpu->blocks->set[i].chunks = ch;
    cpu->blocks->set[i].total = CHUNK_SIZE;
  }
  return 0;
}

/* Frees every chunk of the set but the last (the first allocated), which
 * is emptied and kept for reuse. */
static void drop_set(struct emu_block_cache *c, struct block_set *s) {
  struct chunk *ch = s->chunks;
  while (ch && ch->next) {
    struct chunk *next = ch->next;
    free(ch);
    ch = next;
  }
  s->chunks = ch;
  if (ch)
    ch->used = 0;
  s->total = ch ? CHUNK_SIZE : 0;
  if (s->hash)
    memset(s->hash, 0, (s->mask + 1) * sizeof(*s->hash));
  c->gen++;
}

/* Performs the pending flushes. */
static void drop_pending(struct emu_block_cache *c) {
  drop_set(c, &c->set[SET_LOW]);
  if (c->pending & PEND_ALL)
    drop_set(c, &c->set[SET_HIGH]);
  c->pending = 0;
}

void emu_block_cache_free(struct emu_cpu *cpu) {
  if (!cpu->blocks)
    return;
  for (unsigned i = 0; i < 2; i++) {
    struct block_set *s = &cpu->blocks->set[i];
    drop_set(cpu->blocks, s);
    free(s->chunks);
    free(s->hash);
  }
  free(cpu->blocks);
  cpu->blocks = NULL;
}

void emu_flush_code(struct emu_cpu *cpu) {
  if (cpu->blocks)
    cpu->blocks->pending |= PEND_ALL;
}

void emu_flush_user_code(struct emu_cpu *cpu) {
  if (cpu->blocks)
    cpu->blocks->pending |= PEND_LOW;
}

bool emu_block_flush_pending(struct emu_cpu *cpu) {
  return cpu->blocks->pending != 0;
}

uint64_t emu_block_gen(struct emu_cpu *cpu) { return cpu->blocks->gen; }

static void *arena_alloc(struct block_set *c, size_t size) {
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

/* Runs before an instruction a hardware breakpoint may match: the
 * environment decides (EL, PSTATE.D, context) and raises it or not. */
static EMU_HANDLER(h_bp_check) {
  uint32_t esr = cpu->env->bp_check(cpu, in->pc);
  if (EMU_UNLIKELY(esr))
    emu_raise(cpu, in, EMU_EXIT_DEBUG, esr, 0);
  return EMU_NEXT;
}

/* Decodes up to max instructions at pc into a block. single: into the
 * cache's scratch block (not hashed, not linked), for software step. */
static struct emu_block *build(struct emu_cpu *cpu, uint64_t pc, unsigned max,
                               bool single) {
  struct emu_block_cache *c = cpu->blocks;
  if (pc & 3)
    emu_raise(cpu, NULL, EMU_EXIT_FAULT, EMU_FAULT_FETCH | EMU_FAULT_ALIGN, pc);
  struct emu_tlb_entry *e = exec_check(cpu, pc);
  const unsigned char *code =
      (const unsigned char *)(uintptr_t)(pc + e->addend);
  unsigned room = (unsigned)((EMU_PAGE_SIZE - (pc & ~EMU_PAGE_MASK)) / 4);
  if (max > room)
    max = room;
  /* Room for a breakpoint check before every instruction. */
  struct emu_insn tmp[2 * EMU_BLOCK_MAX + 1];
  unsigned n = 0, ninsn = 0;
  bool ended = false;
  while (n < max && !ended) {
    uint32_t raw;
    uint64_t ipc = pc + 4ull * n;
    memcpy(&raw, code + 4 * n, 4);
    if (EMU_UNLIKELY(cpu->dbg_bp) && cpu->env->bp_at(cpu, ipc))
      tmp[ninsn++] =
          (struct emu_insn){.fn = h_bp_check, .pc = ipc, .op = EMU_OP_BP_CHECK};
    ended = emu_decode(&tmp[ninsn++], raw, ipc);
    n++;
  }
  /* Fusion would run a B.cond without its breakpoint check. */
  if (ended && n >= 2 && emu_is_bcond(&tmp[ninsn - 1]) && !cpu->dbg_bp)
    (void)(emu_fuse_dp_imm(&tmp[ninsn - 2]) ||
           emu_fuse_dp_reg(&tmp[ninsn - 2]));
  if (!ended)
    tmp[ninsn++] = (struct emu_insn){
        .fn = emu_h_end_block, .pc = pc + 4ull * n, .op = EMU_OP_END_BLOCK};
  /* insns, then a pointer back to the block (see emu_chain) */
  size_t size = sizeof(struct emu_block) + ninsn * sizeof(struct emu_insn) +
                sizeof(struct emu_block *);
  struct emu_block *b;
  struct block_set *set = &c->set[set_of(pc)];
  if (single) {
    b = (struct emu_block *)c->scratch;
  } else {
    if (set->total >= ARENA_MAX)
      drop_set(c, set);
    b = arena_alloc(set, size);
    if (!b) { /* out of host memory: start over in the kept chunk */
      drop_set(c, set);
      b = arena_alloc(set, size);
    }
  }
  b->pc = pc;
  b->n = n;
  b->link[0] = b->link[1] = NULL;
  b->link_pc[0] = b->link_pc[1] = 1; /* never a valid (aligned) pc */
  b->link_next = 0;
  memcpy(b->insn, tmp, ninsn * sizeof(struct emu_insn));
  memcpy(&b->insn[ninsn], &b, sizeof b);
  if (!single) {
    unsigned h = hash_pc(set, pc);
    b->hnext = set->hash[h];
    set->hash[h] = b;
  }
  return b;
}

static inline struct emu_block *lookup(struct emu_block_cache *c, uint64_t pc) {
  const struct block_set *s = &c->set[set_of(pc)];
  for (struct emu_block *b = s->hash[hash_pc(s, pc)]; b; b = b->hnext)
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
  if (EMU_UNLIKELY(cpu->exit_request | c->pending |
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
      return NULL;                     /* the dispatcher builds it */
    if (set_of(pc) == set_of(b->pc)) { /* see the header */
      unsigned k = b->link_next;
      b->link[k] = nb;
      b->link_pc[k] = pc;
      b->link_next = k ^ 1;
    }
  }
  /* Blocks and links are keyed by address only: the dispatcher re-checks
   * (or faults) when the current level may not run this page now. */
  if (EMU_UNLIKELY(!emu_exec_ok(cpu, pc)))
    return NULL;
  return nb->insn[0].fn(cpu, nb->insn);
}

struct emu_block *emu_block_get(struct emu_cpu *cpu, uint64_t pc) {
  struct emu_block_cache *c = cpu->blocks;
  if (EMU_UNLIKELY(c->pending))
    drop_pending(c);
  struct emu_block *b = lookup(c, pc);
  if (!b)
    return build(cpu, pc, EMU_BLOCK_MAX, false);
  if (EMU_UNLIKELY(!emu_exec_ok(cpu, pc)))
    exec_check(cpu, pc);
  return b;
}

void emu_block_step(struct emu_cpu *cpu) {
  uint32_t esr = cpu->env->step_before(cpu);
  if (esr)
    emu_raise(cpu, NULL, EMU_EXIT_DEBUG, esr, 0);
  struct emu_block_cache *c = cpu->blocks;
  if (EMU_UNLIKELY(c->pending))
    drop_pending(c);
  struct emu_block *b = build(cpu, cpu->pc, 1, true);
  uint32_t raw = b->insn[b->insn[0].op == EMU_OP_BP_CHECK ? 1 : 0].raw;
  /* emu_chain then returns at the end of this block instead of going on
   * into the next one. */
  cpu->chain_depth = CHAIN_MAX;
  const struct emu_insn *in = b->insn;
  do
    in = in->fn(cpu, in);
  while (in);
  cpu->env->step_done(cpu, raw);
}
