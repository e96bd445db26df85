/* host.c — host side of the emufp QEMU cross-check (developer tool, see
 * run.sh): generates random encodings in the FP/AdvSIMD classes with
 * random register and FPCR states, runs them under qemu-aarch64 (via
 * target.c) and through the generated decoder + the handler, and prints every
 * difference (UNDEF vs. decoded, registers, FPSR, NZCV). Single-threaded.
 * Built with -DEMUFP_JIT (meson: emufp-vs-qemu-jit) it runs each
 * instruction as a block translated to x86-64 instead (the translator's
 * inline FP/SIMD code and its slow paths), on libvmkit's memory paths.
 * Usage: host TARGET COUNT SEED [CLASS]
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu/decode.h"
#include "emu/mem.h"
#ifdef EMUFP_JIT
#include "emu/jit/translate.h"
#endif

#define MEM_VA 0x10000000ul
#define MEM_SIZE 8192
struct rec_in {
  uint32_t insn, fpcr, nzcv, memseed;
  uint32_t fpsr, pad;
  uint64_t x[8];
  uint8_t v[8][16];
};
struct rec_out {
  uint32_t status, fpsr, nzcv, memhash;
  uint64_t x[8];
  uint8_t v[8][16];
};

/* Guest memory: MEM_SIZE bytes at MEM_VA, as in target.c; the TLB maps
 * both pages, accesses crossing them or outside go to these slow paths,
 * which fault (longjmp) outside the window. */
static uint8_t mem[MEM_SIZE];
#ifndef EMUFP_JIT
static jmp_buf fault_jb;
#endif

static void mem_fill(uint8_t *m, uint32_t seed) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (unsigned i = 0; i < MEM_SIZE; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    memcpy(m + i, &x, 8);
  }
}
static uint32_t mem_hash(const uint8_t *m) {
  uint32_t h = 2166136261u;
  for (unsigned i = 0; i < MEM_SIZE; i++)
    h = (h ^ m[i]) * 16777619u;
  return h;
}
#ifdef EMUFP_JIT
/* libvmkit's slow paths (mem.c) fill the TLB through this; outside the
 * window they raise the fault, which lands on cpu->jmp. */
static int jit_tlb_fill(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                        unsigned size) {
  (void)size;
  uint64_t page = va & EMU_PAGE_MASK;
  uint64_t untagged = page & 0x00ffffffffffffffull; /* TBI, as above */
  if (acc == EMU_EXEC || untagged < MEM_VA || untagged >= MEM_VA + MEM_SIZE)
    return -1;
  struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
  e->tag_read = e->tag_write = page;
  e->tag_exec = EMU_TLB_INVALID;
  e->addend = (uintptr_t)mem + (untagged - MEM_VA) - page;
  return 0;
}
static const struct emu_env_ops jit_env = {.tlb_fill = jit_tlb_fill};
#else
static uint8_t *mem_at(uint64_t va, unsigned len) {
  /* Linux runs EL0 with TBI0 = 1: data accesses ignore bits 63:56, and
   * qemu-aarch64 models that; tagged addresses miss the TLB (whose tags
   * hold full addresses) and land here. */
  va &= 0x00ffffffffffffffull;
  if (va < MEM_VA || va + len > MEM_VA + MEM_SIZE || va + len < va)
    longjmp(fault_jb, 1);
  return mem + (va - MEM_VA);
}
uint64_t emu_ld_slow(struct emu_cpu *c, const struct emu_insn *i, uint64_t va,
                     unsigned s) {
  (void)c, (void)i;
  uint64_t v = 0;
  memcpy(&v, mem_at(va, s), s);
  return v;
}
void emu_st_slow(struct emu_cpu *c, const struct emu_insn *i, uint64_t va,
                 unsigned s, uint64_t v) {
  (void)c, (void)i;
  memcpy(mem_at(va, s), &v, s);
}
unsigned __int128 emu_ld128_slow(struct emu_cpu *c, const struct emu_insn *i,
                                 uint64_t va) {
  (void)c, (void)i;
  unsigned __int128 v;
  memcpy(&v, mem_at(va, 16), 16);
  return v;
}
void emu_st128_slow(struct emu_cpu *c, const struct emu_insn *i, uint64_t va,
                    unsigned __int128 v) {
  (void)c, (void)i;
  memcpy(mem_at(va, 16), &v, 16);
}
void *emu_host_range_slow(struct emu_cpu *c, const struct emu_insn *i,
                          uint64_t va, unsigned l, enum emu_access a) {
  (void)c, (void)i, (void)a;
  mem_at(va, 1);
  (void)l;
  return NULL;
}
void emu_probe(struct emu_cpu *c, const struct emu_insn *i, uint64_t va,
               unsigned l, enum emu_access a) {
  (void)c, (void)i, (void)a;
  mem_at(va, l);
}
#endif
static void map_mem(struct emu_cpu *cpu) {
  cpu->tlb = cpu->tlb_views[0];
  for (unsigned k = 0; k < EMU_TLB_SIZE; k++)
    cpu->tlb[k].tag_read = cpu->tlb[k].tag_write = cpu->tlb[k].tag_exec =
        EMU_TLB_INVALID;
  for (uint64_t va = MEM_VA; va < MEM_VA + MEM_SIZE; va += EMU_PAGE_SIZE) {
    struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
    e->tag_read = e->tag_write = va;
    e->tag_exec = EMU_TLB_INVALID;
    e->addend = (uintptr_t)mem + (va - MEM_VA) - va;
  }
}

static uint64_t rs;
static uint64_t rnd(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return rs;
}

/* Classes: fixed bits (mask/value); register fields are limited to 0..7. */
struct cls {
  const char *name;
  uint32_t mask, value;
  uint32_t zero; /* bits forced to 0 (register fields' top bits) */
};
static const struct cls classes[] = {
    {"fp-2src", 0xff200c00, 0x1e200800, 0x00180318},
    {"fp-3src", 0xff000000, 0x1f000000, 0x00186318},
    {"fp-1src", 0xff207c00, 0x1e204000, 0x00000318},
    {"fp-cmp", 0xff203c00, 0x1e202000, 0x00180300},
    {"fp-ccmp", 0xff200c00, 0x1e200400, 0x00180300},
    {"fp-csel", 0xff200c00, 0x1e200c00, 0x00180318},
    {"fp-imm", 0xff201fe0, 0x1e201000, 0x00000018},
    {"fp-int", 0x7f20fc00, 0x1e200000, 0x00000318},
    {"fp-fixed", 0x7f200000, 0x1e000000, 0x00000318},
    {"fp-fcvt", 0xff3e7c00, 0x1e224000, 0x00000318},
    {"simd-fcvtnl", 0xbfbee400, 0x0e216800, 0x00000318},
    {"simd-3same", 0x9f200400, 0x0e200400, 0x00180318},
    {"simd-3diff", 0x9f200c00, 0x0e200000, 0x00180318},
    {"simd-2misc", 0x9f3e0c00, 0x0e200800, 0x00000318},
    {"simd-across", 0x9f3e0c00, 0x0e300800, 0x00000318},
    {"simd-shift", 0x9f000400, 0x0f000400, 0x00000318},
    {"simd-modimm", 0x9ff80400, 0x0f000400, 0x00000018},
    {"simd-index", 0x9f000400, 0x0f000000, 0x00000318},
    {"simd-copy", 0x9fe08400, 0x0e000400, 0x00000318},
    {"simd-perm", 0xbf208c00, 0x0e000800, 0x00180318},
    {"simd-ext", 0xbf208400, 0x2e000000, 0x00180318},
    {"simd-tbl", 0xbf208c00, 0x0e000000, 0x00180318},
    {"sc-3same", 0xdf200400, 0x5e200400, 0x00180318},
    {"sc-3diff", 0xdf200c00, 0x5e200000, 0x00180318},
    {"sc-2misc", 0xdf3e0c00, 0x5e200800, 0x00000318},
    {"sc-pair", 0xdf3e0c00, 0x5e300800, 0x00000318},
    {"sc-shift", 0xdf000400, 0x5f000400, 0x00000318},
    {"sc-index", 0xdf000400, 0x5f000000, 0x00000318},
    {"sc-copy", 0xdfe08400, 0x5e000400, 0x00000318},
    {"ldst-reg", 0x3e000000, 0x3c000000, 0x0000031c},
    {"ldst-pair", 0x3e000000, 0x2c000000, 0x0000631c},
    {"ldst-multi", 0xbf000000, 0x0c000000, 0x0000031c},
    {"ldst-single", 0xbf000000, 0x0d000000, 0x0000031c},
};
#define NCLS (sizeof classes / sizeof classes[0])

static uint64_t fp_interesting(int N) {
  static const uint32_t s32[] = {
      0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x00000001, 0x807fffff,
      0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000,
      0x7fc00000, 0xffc00001, 0x7f800001, 0xff800123, 0x3f000000, 0x40490fdb,
      0x4f000000, 0xcf000000, 0x5f000000, 0x4effffff, 0x3fc00000, 0x00400000,
      0x00800001, 0x3effffff, 0x4b000001, 0xcb7fffff, 0x3ec00000, 0x1f800000};
  static const uint64_t s64[] = {0,
                                 0x8000000000000000ull,
                                 0x3ff0000000000000ull,
                                 0xbff0000000000000ull,
                                 1,
                                 0x800fffffffffffffull,
                                 0x0010000000000000ull,
                                 0x7fefffffffffffffull,
                                 0x7ff0000000000000ull,
                                 0xfff0000000000000ull,
                                 0x7ff8000000000000ull,
                                 0xfff8000000000001ull,
                                 0x7ff0000000000001ull,
                                 0xfff4000000000000ull,
                                 0x3fe0000000000000ull,
                                 0x43e0000000000000ull,
                                 0xc3e0000000000000ull,
                                 0x41e0000000000000ull,
                                 0xc1e0000000200000ull,
                                 0x3ff8000000000000ull,
                                 0x0008000000000000ull,
                                 0x3fdfffffffffffffull,
                                 0x4330000000000001ull,
                                 0x36a0000000000000ull,
                                 0x3690000000000000ull,
                                 0x47efffffe0000000ull,
                                 0x3810000000000000ull};
  int k = (int)(rnd() % 4);
  if (N == 32) {
    if (k == 0)
      return (uint32_t)rnd();
    if (k == 1) {
      /* random near-1 value with random exponent */
      return (rnd() & 0x807fffff) | ((uint64_t)(rnd() % 256) << 23);
    }
    return s32[rnd() % (sizeof s32 / 4)];
  }
  if (k == 0)
    return rnd();
  if (k == 1)
    return (rnd() & 0x800fffffffffffffull) | ((rnd() % 2048) << 52);
  return s64[rnd() % (sizeof s64 / 8)];
}

/* Integer lanes near the edges: 0, +-1, min/max, small shift counts. */
static void fill_int_lanes(uint8_t *v) {
  unsigned es = 1u << (rnd() % 4);
  for (unsigned i = 0; i < 16; i += es) {
    uint64_t x;
    switch (rnd() % 6) {
    case 0:
      x = 0;
      break;
    case 1:
      x = 1;
      break;
    case 2:
      x = ~0ull;
      break;
    case 3:
      x = 1ull << (8 * es - 1);
      break;
    case 4:
      x = (1ull << (8 * es - 1)) - 1;
      break;
    default:
      x = (uint64_t)((int64_t)(rnd() % 141) - 70);
      break;
    }
    if (rnd() % 4 == 0)
      x ^= rnd();
    memcpy(v + i, &x, es);
  }
}

static void fill_vreg(uint8_t *v) {
  int kind = (int)(rnd() % 5);
  if (kind == 4) {
    fill_int_lanes(v);
    return;
  }
  for (int i = 0; i < 16;) {
    if (kind == 0) {
      uint64_t x = rnd();
      memcpy(v + i, &x, 8);
      i += 8;
    } else if (kind == 1 || kind == 3) {
      uint32_t x = (uint32_t)fp_interesting(32);
      memcpy(v + i, &x, 4);
      i += 4;
    } else {
      uint64_t x = fp_interesting(64);
      memcpy(v + i, &x, 8);
      i += 8;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: host TARGET COUNT SEED [CLASS]\n");
    return 2;
  }
  unsigned count = (unsigned)atoi(argv[2]);
  rs = strtoull(argv[3], 0, 0) * 0x9e3779b97f4a7c15ull + 1;
  const char *only = argc > 4 ? argv[4] : NULL;
  struct rec_in *in = calloc(count, sizeof *in);
  struct rec_out *out = calloc(count, sizeof *out);
  for (unsigned i = 0; i < count; i++) {
    const struct cls *c;
    do
      c = &classes[rnd() % NCLS];
    while (only && strcmp(only, c->name));
    uint32_t w = (uint32_t)rnd();
    w = ((w & ~c->mask) | c->value) & ~c->zero;
    if (!strncmp(c->name, "ldst-", 5)) {
      unsigned rm = (w >> 16) & 31;
      if (rm != 31 && (rnd() & 1))
        w |= 31u << 16;
      else if (rm != 31)
        w &= ~(24u << 16);
    }
    in[i].insn = w;
    in[i].memseed = (uint32_t)rnd();
    in[i].fpcr = (uint32_t)((rnd() & 3) << 22) |
                 ((rnd() % 3 == 0) ? (1u << 24) : 0) |
                 ((rnd() % 4 == 0) ? (1u << 25) : 0) |
                 ((rnd() % 4 == 0) ? (1u << 26) : 0);
    in[i].nzcv = (uint32_t)(rnd() & 0xf) << 28;
    in[i].fpsr = rnd() % 2 ? 0x10u : (uint32_t)(rnd() & 0x0800009f);
    for (int r = 0; r < 8; r++) {
      switch (rnd() % 4) {
      case 0:
        in[i].x[r] = MEM_VA + 0xc00 + rnd() % 0x800;
        break;
      case 1:
        in[i].x[r] = rnd() % 80 - 16;
        break;
      case 2:
        in[i].x[r] = rnd();
        break;
      default:
        in[i].x[r] = fp_interesting(64);
        break;
      }
      fill_vreg(in[i].v[r]);
    }
  }
  /* run under QEMU */
  char inpath[] = "/tmp/emufp-inXXXXXX", outpath[] = "/tmp/emufp-outXXXXXX";
  int fi = mkstemp(inpath), fo = mkstemp(outpath);
  if (write(fi, in, count * sizeof *in) != (ssize_t)(count * sizeof *in))
    return 2;
  lseek(fi, 0, SEEK_SET);
  pid_t p = fork();
  if (p == 0) {
    dup2(fi, 0);
    dup2(fo, 1);
    execlp("qemu-aarch64", "qemu-aarch64", "-cpu", "cortex-a57", argv[1],
           (char *)0);
    _exit(127);
  }
  int st;
  waitpid(p, &st, 0);
  lseek(fo, 0, SEEK_SET);
  if (read(fo, out, count * sizeof *out) != (ssize_t)(count * sizeof *out)) {
    fprintf(stderr, "short output from qemu\n");
    return 2;
  }
  unlink(inpath);
  unlink(outpath);

  unsigned bad = 0, undef_ok = 0, unimpl = 0, ok = 0;
  static struct emu_cpu cpu;
#ifdef EMUFP_JIT
  struct emu_jit *jit;
  vmk_error err;
  if (emu_cpu_init(&cpu, &jit_env, NULL) < 0 ||
      emu_jit_new(&jit, 0, 0, &err) < 0) {
    fprintf(stderr, "cannot set up the translator\n");
    return 2;
  }
  unsigned inline_ops = 0;
#endif
  for (unsigned i = 0; i < count; i++) {
    struct emu_insn ins;
    memset(&ins, 0, sizeof ins);
    ins.raw = in[i].insn;
#ifdef EMUFP_JIT
    /* the whole decoder, as a block sees it, then its end */
    struct emu_insn blk[2];
    const uint64_t pc = 0x400000;
    unsigned nblk = emu_decode(&blk[0], in[i].insn, pc) ? 1 : 2;
    blk[1] = (struct emu_insn){
        .pc = pc + 4, .op = EMU_OP_END_BLOCK, .fn = emu_h_end_block};
    bool dec = blk[0].op != EMU_OP_UNDEF;
#else
    /* the FP/AdvSIMD decoder generated alone (run.sh), as emu_decode
     * runs it */
    bool dec = emu_decode_gen(&ins, in[i].insn) > DEC_UNDEF && ins.fn;
#endif
    if (out[i].status == 1) {
      if (dec) {
        printf("DECODED-BUT-UNDEF %08x\n", in[i].insn);
        bad++;
      } else {
        undef_ok++;
      }
      continue;
    }
    if (!dec && out[i].status != 1) {
      printf("UNIMPL %08x\n", in[i].insn);
      unimpl++;
      continue;
    }
#ifdef EMUFP_JIT
    memset(cpu.r, 0, sizeof cpu.r);
    memset(cpu.v, 0, sizeof cpu.v);
#else
    memset(&cpu, 0, sizeof cpu);
#endif
    cpu.fpcr = in[i].fpcr;
    cpu.nzcv = in[i].nzcv;
    cpu.fpsr = in[i].fpsr;
    for (int r = 0; r < 8; r++) {
      cpu.r[r] = in[i].x[r];
      memcpy(&cpu.v[r], in[i].v[r], 16);
    }
    map_mem(&cpu);
    mem_fill(mem, in[i].memseed);
#ifdef EMUFP_JIT
    bool flushed;
    emu_jit_fn f = emu_jit_translate(jit, blk, nblk, &flushed);
    if (!f) {
      printf("NOT-TRANSLATED %08x\n", in[i].insn);
      bad++;
      continue;
    }
    inline_ops += emu_jit_inline_op(&blk[0]);
    emu_jit_fp_sync(&cpu);
    if (sigsetjmp(cpu.jmp, 0)) {
#else
    if (setjmp(fault_jb)) {
#endif
      if (out[i].status == 2) {
        ok++;
      } else {
        printf("EMU-FAULT %08x\n", in[i].insn);
        for (int r = 0; r < 8; r++)
          printf("  x%d=%016" PRIx64 "\n", r, in[i].x[r]);
        bad++;
      }
      continue;
    }
#ifdef EMUFP_JIT
    f(&cpu);
#else
    ins.fn(&cpu, &ins);
#endif
    if (out[i].status == 2) {
      printf("QEMU-FAULT %08x\n", in[i].insn);
      bad++;
      continue;
    }
    bool diff = mem_hash(mem) != out[i].memhash ||
                (cpu.fpsr & 0x0800009f) != (out[i].fpsr & 0x0800009f) ||
                cpu.nzcv != out[i].nzcv;
    for (int r = 0; r < 8; r++)
      diff |= cpu.r[r] != out[i].x[r] || memcmp(&cpu.v[r], out[i].v[r], 16);
    if (!diff) {
      ok++;
      continue;
    }
    bad++;
    printf("MISMATCH %08x fpcr=%08x nzcv=%x\n", in[i].insn, in[i].fpcr,
           in[i].nzcv >> 28);
    printf("  fpsr emu=%08x qemu=%08x nzcv emu=%x qemu=%x\n", cpu.fpsr,
           out[i].fpsr, cpu.nzcv >> 28, out[i].nzcv >> 28);
    for (int r = 0; r < 8; r++) {
      if (cpu.r[r] != out[i].x[r])
        printf("  x%d in=%016" PRIx64 " emu=%016" PRIx64 " qemu=%016" PRIx64
               "\n",
               r, in[i].x[r], cpu.r[r], out[i].x[r]);
      if (memcmp(&cpu.v[r], out[i].v[r], 16)) {
        uint64_t a[2], b[2], c[2];
        memcpy(a, in[i].v[r], 16);
        memcpy(b, &cpu.v[r], 16);
        memcpy(c, out[i].v[r], 16);
        printf("  v%d in=%016" PRIx64 "%016" PRIx64 " emu=%016" PRIx64
               "%016" PRIx64 " qemu=%016" PRIx64 "%016" PRIx64 "\n",
               r, a[1], a[0], b[1], b[0], c[1], c[0]);
      }
    }
    for (int r = 0; r < 8; r++) {
      uint64_t a[2];
      memcpy(a, in[i].v[r], 16);
      printf("  in v%d=%016" PRIx64 "%016" PRIx64 "\n", r, a[1], a[0]);
    }
  }
  printf("total %u: ok %u, undef agreed %u, unimplemented %u, bad %u\n", count,
         ok, undef_ok, unimpl, bad);
#ifdef EMUFP_JIT
  printf("translated; %u of them emitted inline\n", inline_ops);
  emu_jit_free(jit);
  emu_cpu_destroy(&cpu);
#endif
  free(in);
  free(out);
  return bad ? 1 : 0;
}
