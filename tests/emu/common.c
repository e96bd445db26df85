/* common.c — random numbers and values for the differential tester, and
 * the capstone-based filter that keeps generated encodings inside the
 * ARMv8.0-A (+FP/AdvSIMD, no crypto, no FP16) set vmkit implements.
 *
 * Threads: tester's single thread. The capstone handle is owned by the
 * caller (struct emudiff) and passed in.
 */
#include <capstone/capstone.h>
#include <stdio.h>
#include <string.h>

#include "emudiff.h"

uint64_t rng_next(struct rng *r) {
  /* splitmix64: tiny, good enough, and fully reproducible */
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rnd_xval(struct rng *r) {
  static const uint64_t special[] = {0,
                                     1,
                                     2,
                                     0x7fffffffffffffffull,
                                     0x8000000000000000ull,
                                     ~0ull,
                                     ~0ull - 1,
                                     0x7fffffff,
                                     0x80000000,
                                     0xffffffff,
                                     0x100000000ull,
                                     0xffffffff80000000ull,
                                     0x8000,
                                     0xffff,
                                     0x7f,
                                     0x80,
                                     0xff,
                                     63,
                                     64,
                                     31,
                                     32};
  switch (rnd(r, 8)) {
  case 0:
    return special[rnd(r, sizeof special / sizeof special[0])];
  case 1:
    return rnd(r, 256);
  case 2:
    return -(uint64_t)rnd(r, 256);
  case 3:
    return rng_next(r) & 0xffffffffu;
  case 4:
    return (uint64_t)(int64_t)(int32_t)rng_next(r);
  default:
    return rng_next(r);
  }
}

uint32_t rnd_f32(struct rng *r) {
  static const uint32_t special[] = {
      0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
      0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa00000, 0xffbfffff, 0x00000001,
      0x807fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x3f000000, 0x3fc00000,
      0x40200000, 0xbfc00000, 0x4f000000, 0xcf000000, 0x5f000000, 0xdf000000,
      0x4f800000, 0x3effffff, 0x4b800000, 0x4b000001, 0x34000000, 0x00400000};
  uint32_t e, m;
  switch (rnd(r, 6)) {
  case 0:
  case 1:
    return special[rnd(r, sizeof special / sizeof special[0])];
  case 2: /* modest exponent: results stay normal and differ in rounding */
    e = 100 + rnd(r, 60);
    m = bits(r, 23);
    return bits(r, 1) << 31 | e << 23 | m;
  case 3: /* near-integer values (rounding/conversion edges) */
    e = 127 + rnd(r, 33);
    m = bits(r, 23) & ~((1u << (rnd(r, 23))) - 1);
    return bits(r, 1) << 31 | e << 23 | m;
  case 4: /* tiny: denormals and underflow */
    e = rnd(r, 4);
    return bits(r, 1) << 31 | e << 23 | bits(r, 23);
  default:
    return (uint32_t)rng_next(r);
  }
}

uint64_t rnd_f64(struct rng *r) {
  static const uint64_t special[] = {
      0x0000000000000000ull, 0x8000000000000000ull, 0x3ff0000000000000ull,
      0xbff0000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
      0x7ff8000000000000ull, 0xfff8000000000000ull, 0x7ff0000000000001ull,
      0x7ff4000000000000ull, 0x0000000000000001ull, 0x800fffffffffffffull,
      0x0010000000000000ull, 0x7fefffffffffffffull, 0x3fe0000000000000ull,
      0x3ff8000000000000ull, 0x43e0000000000000ull, 0xc3e0000000000000ull,
      0x41e0000000000000ull, 0xc1e0000000000000ull, 0x43f0000000000000ull,
      0x41f0000000000000ull, 0x3810000000000000ull, 0x47efffffe0000000ull,
      0x36a0000000000000ull, 0x3fdfffffffffffffull};
  uint64_t e, m;
  switch (rnd(r, 6)) {
  case 0:
  case 1:
    return special[rnd(r, sizeof special / sizeof special[0])];
  case 2:
    e = 1000 + rnd(r, 50);
    m = rng_next(r) & ((1ull << 52) - 1);
    return (uint64_t)bits(r, 1) << 63 | e << 52 | m;
  case 3:
    e = 1023 + rnd(r, 65);
    m = (rng_next(r) & ((1ull << 52) - 1)) & ~((1ull << rnd(r, 52)) - 1);
    return (uint64_t)bits(r, 1) << 63 | e << 52 | m;
  case 4: /* around the single-precision range limits */
    e = 1023 + (rnd(r, 2) ? 128 : -126) + (int)rnd(r, 5) - 2;
    return (uint64_t)bits(r, 1) << 63 | e << 52 | (rng_next(r) >> 12);
  default:
    return rng_next(r);
  }
}

void rnd_vreg(struct rng *r, uint8_t v[16]) {
  for (int h = 0; h < 2; h++) {
    uint64_t d;
    switch (rnd(r, 5)) {
    case 0:
      d = rnd_f64(r);
      break;
    case 1:
      d = (uint64_t)rnd_f32(r) << 32 | rnd_f32(r);
      break;
    case 2: /* small lanes: shifts, table indices, saturation edges */
      d = rng_next(r) & 0x0f0f0f0f0f0f0f0full;
      if (rnd(r, 2))
        d |= 0x8080808080808080ull & rng_next(r);
      break;
    case 3:
      d = rnd_xval(r);
      break;
    default:
      d = rng_next(r);
    }
    for (int i = 0; i < 8; i++)
      v[h * 8 + i] = (uint8_t)(d >> (8 * i));
  }
}

void rnd_state(struct rng *r, struct cpu_state *s) {
  for (int i = 0; i < 31; i++)
    s->x[i] = rnd_xval(r);
  s->sp = rng_next(r) & ~0xfull;
  s->nzcv = (uint64_t)bits(r, 4) << 28;
  /* FPCR: RMode (23:22), FZ (24), DN (25); AHP (26) now and then. */
  s->fpcr = 0;
  if (rnd(r, 2))
    s->fpcr |= (uint64_t)bits(r, 2) << 22;
  if (rnd(r, 4) == 0)
    s->fpcr |= 1u << 24;
  if (rnd(r, 4) == 0)
    s->fpcr |= 1u << 25;
  if (rnd(r, 8) == 0)
    s->fpcr |= 1u << 26;
  s->fpsr =
      rnd(r, 8) == 0 ? (uint64_t)bits(r, 5) | (uint64_t)bits(r, 1) << 27 : 0;
  for (int i = 0; i < 32; i++)
    rnd_vreg(r, s->v[i]);
}

unsigned pick_reg(struct rng *r, uint32_t avoid, bool allow31) {
  if (allow31 && rnd(r, 10) == 0)
    return 31;
  for (;;) {
    unsigned x = rnd(r, 31);
    if (!(avoid & (1u << x)))
      return x;
  }
}

bool disasm(csh h, uint32_t insn, uint64_t pc, char *buf, size_t len) {
  uint8_t b[4] = {insn, insn >> 8, insn >> 16, insn >> 24};
  cs_insn *ci;
  if (!h || cs_disasm(h, b, 4, pc, 1, &ci) != 1) {
    snprintf(buf, len, "(unknown to capstone)");
    return false;
  }
  /* A disassembly too long for buf is cut, and says so. */
  if (snprintf(buf, len, "%s %s", ci->mnemonic, ci->op_str) >= (int)len &&
      len > 4)
    memcpy(buf + len - 4, "...", 4);
  cs_free(ci, 1);
  return true;
}

/* Mnemonics of extensions beyond ARMv8.0 + FP/AdvSIMD (+CRC32) that
 * capstone decodes but the emulator does not claim to implement. */
static const char *const excluded[] = {
    "aes",      "sha1",     "sha256", "sha512", "sha3",   "sm3",    "sm4",
    "sqrdmlah", "sqrdmlsh", "sdot",   "udot",   "fcmla",  "fcadd",  "fjcvtzs",
    "frint32",  "frint64",  "bfcvt",  "bfdot",  "bfmmla", "bfmlal", "usdot",
    "sudot",    "smmla",    "ummla",  "usmmla", "eor3",   "bcax",   "rax1",
    "xar",      "fmlal",    "fmlsl",  "ldapr",  "stlur",  "ldapur", "cas",
    "swp",      "ldadd",    "ldclr",  "ldeor",  "ldset",  "ldsmax", "ldsmin",
    "ldumax",   "ldumin",   "stadd",  "stclr",  "steor",  "stset",  "stsmax",
    "stsmin",   "stumax",   "stumin", "ldraa",  "ldrab",  NULL};

bool insn_acceptable(csh h, uint32_t insn) {
  char buf[160];
  if (!disasm(h, insn, 0x1000, buf, sizeof buf))
    return false;
  for (int i = 0; excluded[i]; i++)
    if (!strncmp(buf, excluded[i], strlen(excluded[i])))
      return false;
  /* pmull/pmull2 on 64-bit lanes is the crypto extension */
  if (!strncmp(buf, "pmull", 5) && strstr(buf, ".1q"))
    return false;
  /* Half-precision arithmetic (FP16) is ARMv8.2; only conversions to and
   * from half are v8.0. */
  bool fp =
      buf[0] == 'f' || !strncmp(buf, "scvtf", 5) || !strncmp(buf, "ucvtf", 5);
  if (fp && strncmp(buf, "fcvt ", 5) && strncmp(buf, "fcvtl", 5) &&
      strncmp(buf, "fcvtn", 5)) {
    const char *ops = strchr(buf, ' ');
    if (ops && (strstr(ops, ".4h") || strstr(ops, ".8h") || strstr(ops, " h") ||
                strstr(ops, ".h[") || strstr(ops, ".2h")))
      return false;
  }
  return true;
}
