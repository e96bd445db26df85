/* regcache.c — guest X registers held in host registers within one
 * translated block (emit.h: jit_gpr_*, jit_cache_*).
 *
 * A pre-pass (jit_cache_plan) gives a host register (a slot: rbp, r12-
 * r14, saved once per entry from the dispatcher, and r8-r11) to the guest
 * registers that most of the block's inline insns use. Every call out
 * is followed by a reload or a forget of the cache, so the caller-saved
 * ones need nothing more. A slot is filled when an
 * insn of this translator's own emitters reads it (jit_cache_begin loads
 * it before the insn's code, on no conditional path) or writes it (its
 * stores are unconditional), and kept dirty until an exit, a helper call
 * or a slow path's call writes it back. What holds at every point of the
 * emitted code, on every path into it:
 *   slot valid, clean: host register == cpu->r[g]
 *   slot valid, dirty: host register is the value, cpu->r[g] is stale
 *   slot not valid:    cpu->r[g] is the value
 * Emitters of other files (own == false) may branch around their stores
 * and helper calls, so for them a store to an empty slot goes to *cpu and
 * jit_call_helper writes back without forgetting (dirty stays set: a
 * second store of a clean value is harmless) and reloads after the call:
 * both paths leave the same valid set. Only movs are emitted, so the host
 * flags survive every cache operation.
 *
 * Runs on the translating CPU's thread; the state is the jit_ctx's.
 */
#include <string.h>

#include "emu/decode.h"
#include "emu/jit/emit.h"

/* callee-saved first: a call keeps them (the cache reloads all anyway) */
static const enum xe_reg host_of[JIT_NCACHE] = {XE_R12, XE_R13, XE_R14, XE_RBP,
                                                XE_R8,  XE_R9,  XE_R10, XE_R11};

static bool cacheable(unsigned r) {
  return r < EMU_NREGS && r != EMU_XZR && r != EMU_XSINK;
}

void jit_cache_plan(struct jit_ctx *c, unsigned count) {
  unsigned uses[EMU_NREGS] = {0};
  memset(c->slot, JIT_NO_SLOT, sizeof c->slot);
  memset(c->guest, JIT_NO_SLOT, sizeof c->guest);
  c->valid = c->dirty = 0;
  c->own = false;
  for (unsigned i = 0; i < count; i++) {
    uint64_t rd, wr;
    if (!jit_insn_regs(&c->insn[i], &rd, &wr))
      continue;
    uint64_t m = rd | wr;
    for (unsigned r = 0; r < EMU_NREGS; r++)
      uses[r] += (m >> r) & 1;
  }
  /* the most used first; a register one insn uses gains nothing */
  for (unsigned s = 0; s < JIT_NCACHE; s++) {
    unsigned best = EMU_NREGS, n = 1;
    for (unsigned r = 0; r < EMU_NREGS; r++)
      if (cacheable(r) && c->slot[r] == JIT_NO_SLOT && uses[r] > n)
        best = r, n = uses[r];
    if (best == EMU_NREGS)
      break;
    c->slot[best] = (uint8_t)s;
    c->guest[s] = (uint8_t)best;
  }
}

void jit_cache_store(struct jit_ctx *c, unsigned mask) {
  for (unsigned s = 0; s < JIT_NCACHE; s++)
    if (mask & (1u << s))
      xe_store(c->b, 64, jit_reg_m(c->guest[s]), host_of[s]);
}

void jit_cache_load(struct jit_ctx *c, unsigned mask) {
  for (unsigned s = 0; s < JIT_NCACHE; s++)
    if (mask & (1u << s))
      xe_load(c->b, 64, host_of[s], jit_reg_m(c->guest[s]));
}

void jit_cache_begin(struct jit_ctx *c, unsigned idx, bool own) {
  c->own = own;
  uint64_t rd, wr;
  if (!own || !jit_insn_regs(&c->insn[idx], &rd, &wr))
    return;
  unsigned fill = 0;
  for (unsigned s = 0; s < JIT_NCACHE; s++)
    if (c->guest[s] != JIT_NO_SLOT && ((rd >> c->guest[s]) & 1))
      fill |= 1u << s;
  fill &= ~c->valid;
  jit_cache_load(c, fill);
  c->valid |= fill;
}

void jit_cache_sync(struct jit_ctx *c) {
  jit_cache_store(c, c->dirty);
  c->dirty = 0;
}

void jit_cache_forget(struct jit_ctx *c) {
  c->valid = 0;
  c->dirty = 0;
}

void jit_gpr_load(struct jit_ctx *c, enum xe_reg h, unsigned r) {
  unsigned s = r < EMU_NREGS ? c->slot[r] : JIT_NO_SLOT;
  if (s != JIT_NO_SLOT && (c->valid & (1u << s))) {
    if (host_of[s] != h)
      xe_mov_rr(c->b, 64, h, host_of[s]);
    return;
  }
  xe_load(c->b, 64, h, jit_reg_m(r));
}

void jit_gpr_store(struct jit_ctx *c, unsigned r, enum xe_reg h) {
  if (r == EMU_XSINK) /* a write to XZR: nothing reads the sink */
    return;
  unsigned s = r < EMU_NREGS ? c->slot[r] : JIT_NO_SLOT;
  if (s != JIT_NO_SLOT && (c->own || (c->valid & (1u << s)))) {
    if (host_of[s] != h)
      xe_mov_rr(c->b, 64, host_of[s], h);
    c->valid |= 1u << s;
    c->dirty |= 1u << s;
    return;
  }
  xe_store(c->b, 64, jit_reg_m(r), h);
}

enum xe_reg jit_gpr_src(struct jit_ctx *c, unsigned r, enum xe_reg scratch) {
  unsigned s = r < EMU_NREGS ? c->slot[r] : JIT_NO_SLOT;
  if (s != JIT_NO_SLOT && (c->valid & (1u << s)))
    return host_of[s];
  xe_load(c->b, 64, scratch, jit_reg_m(r));
  return scratch;
}

enum xe_reg jit_gpr_dst(struct jit_ctx *c, unsigned r, enum xe_reg scratch) {
  unsigned s = r < EMU_NREGS ? c->slot[r] : JIT_NO_SLOT;
  if (s != JIT_NO_SLOT && (c->own || (c->valid & (1u << s))))
    return host_of[s];
  return scratch;
}

/* True, with its host register in *h, when the cache holds r. */
static bool held(const struct jit_ctx *c, unsigned r, enum xe_reg *h) {
  unsigned s = r < EMU_NREGS ? c->slot[r] : JIT_NO_SLOT;
  if (s == JIT_NO_SLOT || !(c->valid & (1u << s)))
    return false;
  *h = host_of[s];
  return true;
}

void jit_gpr_alu(struct jit_ctx *c, enum xe_alu op, unsigned sz,
                 enum xe_reg dst, unsigned r) {
  enum xe_reg h;
  if (held(c, r, &h))
    xe_alu_rr(c->b, op, sz, dst, h);
  else
    xe_alu_rm(c->b, op, sz, dst, jit_reg_m(r));
}

void jit_gpr_cmov(struct jit_ctx *c, enum xe_cc cc, unsigned sz,
                  enum xe_reg dst, unsigned r) {
  enum xe_reg h;
  if (held(c, r, &h))
    xe_cmov(c->b, cc, sz, dst, h);
  else
    xe_cmov_rm(c->b, cc, sz, dst, jit_reg_m(r));
}

void jit_gpr_load_ext(struct jit_ctx *c, enum xe_reg dst, unsigned r,
                      unsigned ssz, bool sx) {
  enum xe_reg h;
  if (held(c, r, &h)) {
    if (ssz == 64) {
      if (dst != h)
        xe_mov_rr(c->b, 64, dst, h);
    } else if (sx) {
      xe_movsx_rr(c->b, 64, dst, ssz, h);
    } else {
      xe_movzx_rr(c->b, dst, ssz, h);
    }
  } else if (sx && ssz < 64) {
    xe_load_sx(c->b, 64, dst, ssz, jit_reg_m(r));
  } else {
    xe_load(c->b, ssz, dst, jit_reg_m(r));
  }
}

static unsigned mapped(const struct jit_ctx *c) {
  unsigned m = 0;
  for (unsigned s = 0; s < JIT_NCACHE; s++)
    if (c->guest[s] != JIT_NO_SLOT)
      m |= 1u << s;
  return m;
}

/* The head's dirty set: the slots the block's own insns write (others'
 * writes and helpers' are written back at the back branch). */
void jit_cache_loop_head(struct jit_ctx *c, unsigned count) {
  unsigned all = mapped(c), w = 0;
  for (unsigned i = 0; i < count; i++) {
    uint64_t rd, wr;
    if (!jit_insn_regs(&c->insn[i], &rd, &wr))
      continue;
    for (unsigned s = 0; s < JIT_NCACHE; s++)
      if (c->guest[s] != JIT_NO_SLOT && ((wr >> c->guest[s]) & 1))
        w |= 1u << s;
  }
  jit_cache_load(c, all);
  c->valid = all;
  c->dirty = c->loop_dirty = w;
}

void jit_cache_loop_back(struct jit_ctx *c) {
  unsigned all = mapped(c);
  jit_cache_store(c, c->dirty & ~c->loop_dirty);
  jit_cache_load(c, all & ~c->valid);
  c->valid = all;
  c->dirty = c->loop_dirty;
}
