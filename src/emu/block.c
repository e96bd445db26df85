/* block.c — decoded-block cache: builds blocks (fetching guest code through
 * the exec TLB) and keeps them in a hash table keyed by what decides their
 * meaning, so that code survives process switches and remaps:
 *   - the guest VA of the first instruction (decoded insns hold absolute
 *     pcs and branch targets, so the same bytes at another VA are another
 *     block);
 *   - the host address of that instruction, i.e. the physical page the
 *     code comes from (found through the current TLB entry: VA -> PA);
 *   - cpu->code_ctx: the translation regime and mode bits of the level it
 *     runs at (system mode: the EL; user mode: 0).
 * Nothing else goes into a block: the decoder (emu_decode) reads only the
 * instruction word and its pc, never PSTATE or SCTLR (EL-dependent
 * behaviour — traps, permissions — is checked when the insn runs); the
 * one exception, breakpoint check insns (cpu->dbg_bp), drops every block
 * when the armed set changes (sys/debug.c).
 *
 * Invalidation is per code page (host page): each page holding decoded
 * code has a record listing its blocks. TLB entries of such a page carry
 * no write tag (emu_code_tlb_filled, and protect_page when the page gets
 * its first block), so a store to it takes the slow path, which drops the
 * page's blocks first (self-modifying code, guest JITs, module loading);
 * so does IC IVAU (emu_code_invalidate_host, for the page of that VA);
 * IC IALLU and full arenas drop everything. TLBI drops only TLB entries:
 * the code stays, and is found again when a VA maps the same page.
 *
 * Successor links: emu_chain follows a cached link only when the exec
 * TLB lets the current level run pc and the successor's host address
 * when it was linked equals pc + the entry's addend now, so a link never
 * enters a block whose VA maps another physical page now. A dropped
 * block is unhashed, its host address set to an impossible value (1)
 * and its first insn replaced by h_dropped, which returns to the
 * dispatcher (cpu->pc is already the block's pc): a link to it leads
 * back to a lookup, which finds the page's new code. Translated blocks
 * (--emu-mode jit) are cut off the same way: emu_block_jit_dropped
 * patches the translation's entry to return (jit/chain.c), and
 * emu_flush_code stops a running chain of translations (cpu->jit_end).
 *
 * Memory: blocks and page records come from one arena of 1 MiB chunks;
 * beyond ARENA_MAX (64 MiB) of it, everything is dropped and rebuilt
 * (dropped blocks stay in the arena until then). Plus the two hash
 * tables: 1 MiB + 32 KiB per vCPU.
 *
 * Runs on the owning CPU's thread; no locks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu/block.h"
#include "emu/decode.h"
#include "emu/mem.h"

#define HASH_BITS 17
#define HASH_SIZE (1u << HASH_BITS)
#define PAGE_HASH_BITS 12
#define PAGE_HASH_SIZE (1u << PAGE_HASH_BITS)
#define CHUNK_SIZE (1u << 20)
#define ARENA_MAX (64u << 20)    /* flush everything beyond this much code */
#define HOST_DEAD ((uintptr_t)1) /* never the (4-aligned) address of code */

/* Generous (a block holds at most EMU_BLOCK_MAX + 1 insns): the kept
 * chunk must hold any one block and its page record (see
 * emu_block_cache_new). */
_Static_assert(sizeof(struct emu_block) +
                       (2 * EMU_BLOCK_MAX + 1) * sizeof(struct emu_insn) +
                       sizeof(struct emu_block *) + 64 + 31 <=
                   CHUNK_SIZE,
               "a block must fit in the kept chunk");

struct chunk {
  struct chunk *next;
  size_t used;
  _Alignas(16) unsigned char data[];
};

/* A guest page some blocks were decoded from, by the host address of its
 * first byte (VA page + TLB addend: guest RAM need not be host-page
 * aligned). */
struct code_page {
  uintptr_t hpage;
  struct code_page *next; /* hash chain */
  struct emu_block *blocks;
};

struct emu_block_cache {
  struct emu_block **hash;
  struct code_page **pages;
  unsigned npages; /* live page records */
  struct chunk *chunks;
  size_t total;
  uint64_t gen; /* bumped by every drop of everything */
  bool pending; /* a drop of everything requested, not yet performed */
  /* The one-instruction block of software step: at most a breakpoint
   * check, the instruction, the end insn and the block pointer. */
  _Alignas(16) unsigned char scratch[sizeof(struct emu_block) +
                                     3 * sizeof(struct emu_insn) +
                                     sizeof(struct emu_block *)];
};

static inline unsigned hash_key(uint64_t pc, uintptr_t host, uint32_t ctx) {
  /* host >> 12 tells physical pages apart; pc >> 2 the insns within one
   * (both share the page offset, so they are not xor-ed unshifted). */
  return (unsigned)((pc >> 2) ^ (pc >> (2 + HASH_BITS)) ^ (host >> 12) ^
                    ((uint64_t)ctx << (HASH_BITS - 1))) &
         (HASH_SIZE - 1);
}

static inline unsigned hash_page(uintptr_t hpage) {
  return (unsigned)((hpage >> 12) ^ (hpage >> (12 + PAGE_HASH_BITS))) &
         (PAGE_HASH_SIZE - 1);
}

/* The cache always owns at least one chunk, allocated here: after a drop
 * one block always fits, so running out of host memory never leaves the
 * CPU unable to make progress (and the library never aborts). */
int emu_block_cache_new(struct emu_cpu *cpu) {
  struct emu_block_cache *c = calloc(1, sizeof *c);
  if (!c)
    return -ENOMEM;
  cpu->blocks = c;
  c->hash = calloc(HASH_SIZE, sizeof *c->hash);
  c->pages = calloc(PAGE_HASH_SIZE, sizeof *c->pages);
  c->chunks = malloc(sizeof *c->chunks + CHUNK_SIZE);
  if (!c->hash || !c->pages || !c->chunks) {
    emu_block_cache_free(cpu);
    return -ENOMEM;
  }
  c->chunks->next = NULL;
  c->chunks->used = 0;
  c->total = CHUNK_SIZE;
  return 0;
}

/* Drops every block: frees every chunk but the last (the first
 * allocated), which is emptied and kept for reuse. */
static void drop_all(struct emu_cpu *cpu) {
  struct emu_block_cache *c = cpu->blocks;
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
  if (c->hash)
    memset(c->hash, 0, HASH_SIZE * sizeof *c->hash);
  if (c->pages)
    memset(c->pages, 0, PAGE_HASH_SIZE * sizeof *c->pages);
  c->npages = 0;
  c->gen++;
  c->pending = false;
  cpu->stats.code_flushes++;
}

void emu_block_cache_free(struct emu_cpu *cpu) {
  struct emu_block_cache *c = cpu->blocks;
  if (!c)
    return;
  for (struct chunk *ch = c->chunks; ch;) {
    struct chunk *next = ch->next;
    free(ch);
    ch = next;
  }
  free(c->hash);
  free(c->pages);
  free(c);
  cpu->blocks = NULL;
}

void emu_flush_code(struct emu_cpu *cpu) {
  if (cpu->blocks)
    cpu->blocks->pending = true;
  cpu->jit_end = 0; /* a running chain of translations stops at once */
}

bool emu_block_flush_pending(struct emu_cpu *cpu) {
  return cpu->blocks->pending;
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

void *emu_block_extra(struct emu_cpu *cpu, size_t size) {
  return arena_alloc(cpu->blocks, size);
}

static struct code_page *page_find(const struct emu_block_cache *c,
                                   uintptr_t hpage) {
  for (struct code_page *p = c->pages[hash_page(hpage)]; p; p = p->next)
    if (p->hpage == hpage)
      return p;
  return NULL;
}

/* Takes the write tag away from every TLB entry (both views) that maps
 * hpage, so stores to it come to emu_code_tlb_filled first. */
static void protect_page(struct emu_cpu *cpu, uintptr_t hpage) {
  for (unsigned v = 0; v < 2; v++) {
    struct emu_tlb_entry *t = cpu->tlb_views[v];
    for (unsigned i = 0; i < EMU_TLB_SIZE; i++)
      if (t[i].tag_write != EMU_TLB_INVALID &&
          (t[i].tag_write & EMU_PAGE_MASK) + t[i].addend == hpage)
        t[i].tag_write = EMU_TLB_INVALID;
  }
}

/* The first insn of a dropped block (see the header). */
static EMU_HANDLER(h_dropped) {
  (void)cpu, (void)in;
  return NULL;
}

/* Unhashes the page's blocks and marks them dead (see the header). */
static void drop_page(struct emu_cpu *cpu, struct code_page *p) {
  struct emu_block_cache *c = cpu->blocks;
  for (struct emu_block *b = p->blocks; b; b = b->pnext) {
    struct emu_block **pp = &c->hash[hash_key(b->pc, b->host, b->ctx)];
    while (*pp && *pp != b)
      pp = &(*pp)->hnext;
    if (*pp)
      *pp = b->hnext;
    b->host = HOST_DEAD;
    if (b->jit)
      emu_block_jit_dropped(cpu, b);
    /* The block may be running (a store into its own page): it goes on;
     * only a later entry sees this. */
    b->insn[0].fn = h_dropped;
  }
  struct code_page **pp = &c->pages[hash_page(p->hpage)];
  while (*pp && *pp != p)
    pp = &(*pp)->next;
  if (*pp)
    *pp = p->next;
  c->npages--;
  cpu->stats.code_page_drops++;
}

void emu_code_invalidate_host(struct emu_cpu *cpu, const void *hpage) {
  struct emu_block_cache *c = cpu->blocks;
  if (!c || !c->npages)
    return;
  struct code_page *p = page_find(c, (uintptr_t)hpage);
  if (p)
    drop_page(cpu, p);
}

void emu_code_tlb_filled(struct emu_cpu *cpu, struct emu_tlb_entry *e,
                         uint64_t va, enum emu_access acc) {
  struct emu_block_cache *c = cpu->blocks;
  if (!c || !c->npages)
    return;
  struct code_page *p = page_find(c, (va & EMU_PAGE_MASK) + e->addend);
  if (!p)
    return;
  if (acc == EMU_WRITE)
    drop_page(cpu, p); /* the store goes on, through the fast path next */
  else
    e->tag_write = EMU_TLB_INVALID;
}

/* Refills the exec TLB entry of pc, or raises the instruction fetch fault
 * when code at pc may not run at the current level. */
static struct emu_tlb_entry *exec_check(struct emu_cpu *cpu, uint64_t pc) {
  struct emu_tlb_entry *e = emu_tlb_lookup(cpu, pc);
  if (e->tag_exec != emu_tlb_tag(cpu, pc)) {
    int r = emu_tlb_refill(cpu, pc, EMU_EXEC, 4);
    if (r != 0 || e->tag_exec != emu_tlb_tag(cpu, pc))
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

/* Hashes b and files it under its code page (protecting a new one). */
static void insert(struct emu_cpu *cpu, struct emu_block *b) {
  struct emu_block_cache *c = cpu->blocks;
  uintptr_t hpage = b->host - (uintptr_t)(b->pc & ~EMU_PAGE_MASK);
  struct code_page *p = page_find(c, hpage);
  if (!p) {
    p = arena_alloc(c, sizeof *p);
    if (!p) { /* out of host memory: leave b out of the cache */
      b->host = HOST_DEAD;
      return;
    }
    p->hpage = hpage;
    p->blocks = NULL;
    unsigned h = hash_page(hpage);
    p->next = c->pages[h];
    c->pages[h] = p;
    c->npages++;
    protect_page(cpu, hpage);
  }
  b->pnext = p->blocks;
  p->blocks = b;
  unsigned h = hash_key(b->pc, b->host, b->ctx);
  b->hnext = c->hash[h];
  c->hash[h] = b;
}

/* Decodes up to max instructions at pc (exec TLB entry e) into a block.
 * single: into the cache's scratch block (not cached, not linked), for
 * software step. */
static struct emu_block *build(struct emu_cpu *cpu, uint64_t pc,
                               struct emu_tlb_entry *e, unsigned max,
                               bool single) {
  struct emu_block_cache *c = cpu->blocks;
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
  if (single) {
    b = (struct emu_block *)c->scratch;
  } else {
    if (c->total >= ARENA_MAX)
      drop_all(cpu);
    b = arena_alloc(c, size);
    if (!b) { /* out of host memory: start over in the kept chunk */
      drop_all(cpu);
      b = arena_alloc(c, size);
    }
    cpu->stats.blocks_built++;
  }
  b->pc = pc;
  b->host = (uintptr_t)code;
  b->ctx = cpu->code_ctx;
  b->n = n;
  b->hnext = b->pnext = NULL;
  b->link[0] = b->link[1] = NULL;
  b->link_pc[0] = b->link_pc[1] = 1; /* never a valid (aligned) pc */
  b->link_host[0] = b->link_host[1] = HOST_DEAD;
  b->link_next = 0;
  b->ninsn = ninsn;
  b->jit = NULL;
  b->jit_gen = 0;
  b->jit_cross = b->jit_same = b->jit_out = 0;
  memcpy(b->insn, tmp, ninsn * sizeof(struct emu_insn));
  memcpy(&b->insn[ninsn], &b, sizeof b);
  if (!single)
    insert(cpu, b);
  return b;
}

static inline struct emu_block *lookup(struct emu_block_cache *c, uint64_t pc,
                                       uintptr_t host, uint32_t ctx) {
  for (struct emu_block *b = c->hash[hash_key(pc, host, ctx)]; b; b = b->hnext)
    if (b->pc == pc && b->host == host && b->ctx == ctx)
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
  /* The current level may run pc and pc maps to host now: a miss goes
   * to the dispatcher, which refills the entry or faults. */
  const struct emu_tlb_entry *e = emu_tlb_lookup(cpu, pc);
  if (EMU_UNLIKELY(e->tag_exec != emu_tlb_tag(cpu, pc)))
    return NULL;
  uintptr_t host = (uintptr_t)(pc + e->addend);
  if (b->link_pc[0] == pc && b->link_host[0] == host) {
    nb = b->link[0];
  } else if (b->link_pc[1] == pc && b->link_host[1] == host) {
    nb = b->link[1];
  } else {
    nb = lookup(c, pc, host, cpu->code_ctx);
    if (!nb)
      return NULL; /* the dispatcher builds it */
    unsigned k = b->link_next;
    b->link[k] = nb;
    b->link_pc[k] = pc;
    b->link_host[k] = host;
    b->link_next = k ^ 1;
  }
  return nb->insn[0].fn(cpu, nb->insn);
}

struct emu_block *emu_block_get(struct emu_cpu *cpu, uint64_t pc) {
  struct emu_block_cache *c = cpu->blocks;
  if (EMU_UNLIKELY(c->pending))
    drop_all(cpu);
  if (pc & 3)
    emu_raise(cpu, NULL, EMU_EXIT_FAULT, EMU_FAULT_FETCH | EMU_FAULT_ALIGN, pc);
  struct emu_tlb_entry *e = exec_check(cpu, pc);
  struct emu_block *b =
      lookup(c, pc, (uintptr_t)(pc + e->addend), cpu->code_ctx);
  return b ? b : build(cpu, pc, e, EMU_BLOCK_MAX, false);
}

void emu_block_step(struct emu_cpu *cpu) {
  uint32_t esr = cpu->env->step_before(cpu);
  if (esr)
    emu_raise(cpu, NULL, EMU_EXIT_DEBUG, esr, 0);
  struct emu_block_cache *c = cpu->blocks;
  if (EMU_UNLIKELY(c->pending))
    drop_all(cpu);
  uint64_t pc = cpu->pc;
  if (pc & 3)
    emu_raise(cpu, NULL, EMU_EXIT_FAULT, EMU_FAULT_FETCH | EMU_FAULT_ALIGN, pc);
  struct emu_block *b = build(cpu, pc, exec_check(cpu, pc), 1, true);
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
