/* emudiff.c — differential instruction tester (risu-style) for vmkit's
 * AArch64 emulator: for each instruction group, generate seeded random test
 * cases, pack them into a static arm64 ELF, run it under qemu-aarch64 (the
 * reference, as a Cortex-A53: ARMv8.0) and under vmkit's user-mode runner,
 * and compare every case's dumped state byte for byte.
 *
 * A runner that stops early (qemu rejecting an encoding, vmkit reporting an
 * undefined instruction or faulting) is restarted from the next case with a
 * fresh image; cases keep fixed addresses, so their bytes never change.
 * Once vmkit reported a form UNDEF, later cases of that form are presumed
 * UNDEF (and counted as unimplemented) rather than run one restart each.
 *
 * Exit status: 0 all cases agree; 1 mismatches (incl. unimplemented); 2 usage
 * or host error; 77 (meson's "skipped") when no runner was given.
 * --self-check corrupts one result bit in the second run and exits 0 only if
 * that is reported as exactly one mismatch per group, and qemu rejected none
 * of the generated encodings (the generators' own check).
 *
 * Threads: single-threaded host program; no global mutable state (all run
 * state lives in struct emudiff).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emudiff.h"

const struct group emudiff_groups[] = {
    {"int-imm", "add/sub/logical imm, movz/n/k, adr/adrp", gen_int_imm, 3000},
    {"int-reg", "add/sub/logical shifted+extended reg, adc/sbc", gen_int_reg,
     3000},
    {"bitfield", "sbfm/bfm/ubfm, extr, variable shifts", gen_bitfield, 3000},
    {"condsel", "csel/csinc/csinv/csneg, ccmp/ccmn", gen_condsel, 2000},
    {"muldiv", "madd/msub, long mul, mulh, udiv/sdiv", gen_muldiv, 2000},
    {"crc32", "crc32{b,h,w,x}, crc32c*", gen_crc32, 1000},
    {"bitops", "rbit, rev*, clz, cls", gen_bitops, 1000},
    {"int-mix", "2-4 insns across the integer data-processing groups",
     gen_int_mix, 2000},
    {"branch", "b.cond, cbz/cbnz, tbz/tbnz, b/bl, br/blr/ret", gen_branch,
     2000},
    {"system", "barriers, hints, clrex, mrs/msr nzcv/fpcr/fpsr/tpidr_el0",
     gen_system, 1000},
    {"ldst-imm", "ldr/str unsigned/unscaled/pre/post/unpriv, prfm",
     gen_ldst_imm, 3000},
    {"ldst-reg", "ldr/str register offset with extend", gen_ldst_reg, 2000},
    {"ldst-pair", "ldp/stp/ldnp/stnp/ldpsw, pre/post", gen_ldst_pair, 2000},
    {"ldst-lit", "ldr/ldrsw/prfm literal", gen_ldst_lit, 1000},
    {"exclusive", "ldxr/stxr/ldaxr/stlxr/ldxp/stxp, ldar/stlr", gen_exclusive,
     1500},
    {"fp-scalar", "fadd..fnmul, fmadd.., fcmp, fccmp, fcsel, fmov, frint",
     gen_fp_scalar, 3000},
    {"fp-cvt", "fcvt, fcvt[nspamz][su], scvtf/ucvtf, fixed point, fmov gen",
     gen_fp_cvt, 3000},
    {"fp-mix", "2-4 scalar FP insns and conversions in a row", gen_fp_mix,
     2000},
    {"simd-int", "AdvSIMD integer: 3same, 3diff, misc, by-elem, movi, copy",
     gen_simd_int, 3000},
    {"simd-perm", "zip/uzp/trn, ext, tbl/tbx, rev", gen_simd_perm, 1500},
    {"simd-across", "addv, [su]maxv/minv, [su]addlv, fmaxv..", gen_simd_across,
     1000},
    {"simd-shift", "shift by immediate incl. narrowing/long/saturating",
     gen_simd_shift, 2000},
    {"simd-fp", "vector FP arith/compare/convert/by-element", gen_simd_fp,
     3000},
    {"simd-ldst", "ld1-4/st1-4 multiple and single, ldNr", gen_simd_ldst, 2000},
};
const unsigned emudiff_ngroups =
    sizeof emudiff_groups / sizeof emudiff_groups[0];

enum cstat {
  C_OK = 0,
  C_UNDEF,   /* runner reported an undefined instruction / SIGILL */
  C_FAULT,   /* other abnormal stop */
  C_TIMEOUT, /* runner killed after the timeout */
  C_NOTRUN,  /* restart budget exhausted */
};
static const char *const cstat_name[] = {"ok", "undef", "fault", "timeout",
                                         "not-run"};

struct runres {
  uint8_t *rec;   /* n * REC_SIZE */
  enum cstat *st; /* n */
  char **why;     /* n: diagnostic of the stop (malloc'd) or NULL */
  unsigned runs;  /* processes started */
};

struct emudiff {
  uint64_t seed;
  unsigned count; /* 0: each group's CI count */
  int64_t only_case;
  char **runner; /* argv prefix (NULL: none given) */
  char **qemu;
  bool self_check;
  unsigned batch;
  unsigned max_report;
  unsigned max_restarts;
  unsigned timeout;
  bool verbose;
  const char *keep;
  const char *ref_cache; /* --ref-cache: directory of the reference's results */
  const char *qemu_cmd;  /* the reference's command line, part of the key */
  FILE *md;
  csh cs; /* capstone handle */
  char tmpdir[64];
  /* totals */
  unsigned long t_cases, t_bad;
};

struct gstats {
  unsigned cases, ok, mismatch, unimpl, fault, should_undef, rejected, notrun;
  unsigned mnemonics; /* distinct mnemonics generated (coverage) */
  unsigned reported;
};

static char **split_cmd(const char *s) {
  size_t n = 0, cap = 8;
  char **v = calloc(cap, sizeof *v);
  char *dup = strdup(s), *save = NULL;
  v[0] = dup; /* even when empty, so free_cmd can release it */
  for (char *t = strtok_r(dup, " \t", &save); t;
       t = strtok_r(NULL, " \t", &save)) {
    if (n + 2 > cap)
      v = realloc(v, (cap *= 2) * sizeof *v);
    v[n++] = t;
  }
  v[n] = NULL;
  if (n == 0)
    free(dup);
  return v;
}

static void free_cmd(char **v) {
  free(v[0]); /* the strdup'd command line all words point into */
  free(v);
}

static uint64_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  while (*s)
    h = (h ^ (uint8_t)*s++) * 1099511628211ull;
  return h;
}

static void make_case(const struct emudiff *d, const struct group *gr,
                      uint32_t k, struct tcase *c) {
  struct rng r = {d->seed * 0x9E3779B97F4A7C15ull ^ name_hash(gr->name) ^
                  (uint64_t)k * 0xC2B2AE3D27D4EB4Full};
  rng_next(&r);
  for (int attempt = 0; attempt < 1000; attempt++) {
    memset(c, 0, sizeof *c);
    c->idx = k;
    rnd_state(&r, &c->in);
    for (unsigned i = 0; i < MEM_SIZE; i += 8) {
      uint64_t x = rnd(&r, 2) ? rnd_xval(&r) : rng_next(&r);
      memcpy(c->mem + i, &x, 8);
    }
    for (unsigned i = 0; i < LIT_SIZE; i += 8) {
      uint64_t x = rnd(&r, 2) ? rnd_f64(&r) : rnd_xval(&r);
      memcpy(c->lit + i, &x, 8);
    }
    struct gen g = {&r, c};
    if (gr->gen(&g) < 0)
      continue;
    bool ok = true;
    for (int i = 0; i < c->n && ok; i++)
      ok = insn_acceptable(d->cs, c->insn[i]);
    if (ok)
      return;
  }
  /* unreachable in practice; a NOP case keeps the numbering intact */
  c->kind = KIND_PLAIN;
  c->n = 1;
  c->insn[0] = 0xD503201Fu;
}

/* ---- running a program ---- */

struct proc {
  uint8_t *out;
  size_t out_len;
  char err[2048];
  int status;
  bool timed_out;
};

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    *len = 0;
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
  *len = fread(b, 1, (size_t)n, f);
  fclose(f);
  return b;
}

static int run_prog(const struct emudiff *d, char **prefix, const char *elf,
                    struct proc *p) {
  char outp[128], errp[128];
  snprintf(outp, sizeof outp, "%s/out", d->tmpdir);
  snprintf(errp, sizeof errp, "%s/err", d->tmpdir);
  size_t n = 0;
  while (prefix[n])
    n++;
  char **argv = calloc(n + 2, sizeof *argv);
  memcpy(argv, prefix, n * sizeof *argv);
  argv[n] = (char *)elf;
  pid_t pid = fork();
  if (pid < 0)
    return -errno;
  if (pid == 0) {
    setpgid(0, 0);
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = open("/dev/null", O_RDONLY);
    if (o < 0 || e < 0 || in < 0)
      _exit(126);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    execvp(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  free(argv);
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  p->timed_out = false;
  for (;;) {
    pid_t w = waitpid(pid, &p->status, WNOHANG);
    if (w == pid)
      break;
    if (w < 0 && errno != EINTR)
      return -errno;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - t0.tv_sec > (time_t)d->timeout) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &p->status, 0);
      p->timed_out = true;
      break;
    }
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  p->out = slurp(outp, &p->out_len);
  size_t el;
  uint8_t *eb = slurp(errp, &el);
  if (el >= sizeof p->err)
    el = sizeof p->err - 1;
  if (eb)
    memcpy(p->err, eb, el);
  p->err[el] = 0;
  free(eb);
  return 0;
}

/* The reference's result for an image is a function of the image and the
 * reference's command, so long runs that repeat seeds (a 10^6-case run on
 * each new translator) keep it in --ref-cache DIR: the key is two 64-bit
 * FNV-1a hashes (different offsets) of the command and the image. A timed
 * out run is not kept. The reference itself changing (another QEMU) needs
 * an empty directory: its version is not in the key. */
static void ref_key(const struct emudiff *d, const uint8_t *img, size_t len,
                    char *out, size_t outsz) {
  uint64_t h[2] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
  for (const char *c = d->qemu_cmd; *c; c++)
    for (int k = 0; k < 2; k++)
      h[k] = (h[k] ^ (uint8_t)*c) * 0x100000001b3ull;
  for (size_t i = 0; i < len; i++)
    for (int k = 0; k < 2; k++)
      h[k] = (h[k] ^ img[i]) * 0x100000001b3ull;
  snprintf(out, outsz, "%s/%016llx%016llx.ref", d->ref_cache,
           (unsigned long long)h[0], (unsigned long long)h[1]);
}

struct ref_hdr {
  uint32_t magic;
  int32_t status;
  uint32_t err_len;
  uint64_t out_len;
};
#define REF_MAGIC 0x31666572u /* "ref1" */

static bool ref_load(const char *path, struct proc *p) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return false;
  struct ref_hdr h;
  bool ok = fread(&h, sizeof h, 1, f) == 1 && h.magic == REF_MAGIC &&
            h.err_len < sizeof p->err && h.out_len < (1ull << 30);
  if (ok) {
    p->out = malloc(h.out_len ? h.out_len : 1);
    ok = p->out && fread(p->err, 1, h.err_len, f) == h.err_len &&
         fread(p->out, 1, h.out_len, f) == h.out_len;
    p->err[ok ? h.err_len : 0] = 0;
    p->out_len = ok ? h.out_len : 0;
    p->status = h.status;
    p->timed_out = false;
    if (!ok) {
      free(p->out);
      p->out = NULL;
    }
  }
  fclose(f);
  return ok;
}

static void ref_store(const char *path, const struct proc *p) {
  if (p->timed_out)
    return;
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return;
  struct ref_hdr h = {REF_MAGIC, p->status, (uint32_t)strlen(p->err),
                      p->out_len};
  bool ok = fwrite(&h, sizeof h, 1, f) == 1 &&
            fwrite(p->err, 1, h.err_len, f) == h.err_len &&
            fwrite(p->out, 1, p->out_len, f) == p->out_len;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) /* atomic: parallel runs may share it */
    unlink(tmp);
}

static bool is_undef_report(const struct proc *p) {
  if (WIFSIGNALED(p->status) && WTERMSIG(p->status) == SIGILL)
    return true;
  if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == 128 + SIGILL)
    return true;
  char low[sizeof p->err];
  size_t i;
  for (i = 0; p->err[i]; i++)
    low[i] = (char)tolower((unsigned char)p->err[i]);
  low[i] = 0;
  return strstr(low, "undefined") || strstr(low, "undef ") ||
         strstr(low, "unimplemented") || strstr(low, "not implemented") ||
         strstr(low, "illegal instruction") || strstr(low, "signal 4 ");
}

static char *describe(const struct proc *p) {
  char buf[2300];
  int n;
  if (p->timed_out)
    n = snprintf(buf, sizeof buf, "timeout");
  else if (WIFSIGNALED(p->status))
    n = snprintf(buf, sizeof buf, "killed by signal %d", WTERMSIG(p->status));
  else
    n = snprintf(buf, sizeof buf, "exit status %d", WEXITSTATUS(p->status));
  const char *e = p->err;
  while (*e && n < (int)sizeof buf - 4) {
    /* first two lines of stderr */
    const char *nl = strchr(e, '\n');
    size_t l = nl ? (size_t)(nl - e) : strlen(e);
    n += snprintf(buf + n, sizeof buf - n, " | %.*s", (int)l, e);
    if (!nl || e > p->err)
      break;
    e = nl + 1;
  }
  return strdup(buf);
}

static int stopped_at(const struct tcase *c, const char *why);

/* An instruction's form: its disassembly with numbers blanked, e.g.
 * "subs w#, w#, w#, sxtx ##". Once the runner reports one form as UNDEF,
 * later cases using it are presumed UNDEF too instead of costing a restart
 * each (they are counted as unimplemented and named in the report). */
struct forms {
  char (*f)[96];
  uint32_t *from; /* the case that showed the form UNDEF */
  unsigned n, cap;
};

static void form_of(const struct emudiff *d, uint32_t insn, char *out) {
  char dis[160];
  disasm(d->cs, insn, 0x1000, dis, sizeof dis);
  size_t o = 0;
  for (const char *p = dis; *p && o < 94;) {
    if (p[0] == '0' && p[1] == 'x') {
      for (p += 2; isxdigit((unsigned char)*p); p++)
        ;
      out[o++] = '#';
    } else if (isdigit((unsigned char)*p)) {
      while (isdigit((unsigned char)*p))
        p++;
      out[o++] = '#';
    } else {
      out[o++] = *p++;
    }
  }
  out[o] = 0;
}

static int64_t form_known(const struct emudiff *d, const struct forms *fs,
                          const struct tcase *c, int *at) {
  char f[96];
  for (int i = 0; i < c->n; i++) {
    form_of(d, c->insn[i], f);
    for (unsigned k = 0; k < fs->n; k++)
      if (!strcmp(fs->f[k], f)) {
        *at = i;
        return fs->from[k];
      }
  }
  return -1;
}

static void form_add(const struct emudiff *d, struct forms *fs, uint32_t insn,
                     uint32_t from) {
  if (fs->n == fs->cap) {
    fs->cap = fs->cap ? 2 * fs->cap : 16;
    fs->f = realloc(fs->f, fs->cap * sizeof *fs->f);
    fs->from = realloc(fs->from, fs->cap * sizeof *fs->from);
  }
  form_of(d, insn, fs->f[fs->n]);
  fs->from[fs->n++] = from;
}

/* Runs cases cs[0..n) under prefix, restarting after each case that stops
 * the program. presume: skip cases whose instruction forms were already
 * reported UNDEF (used for the emulator, not for the reference). */
static int run_all(struct emudiff *d, char **prefix, const struct tcase *cs,
                   uint32_t n, int64_t corrupt, bool presume,
                   struct runres *rr) {
  rr->rec = calloc(n, REC_SIZE);
  rr->st = calloc(n, sizeof *rr->st);
  rr->why = calloc(n, sizeof *rr->why);
  rr->runs = 0;
  const struct tcase **sel = calloc(d->batch, sizeof *sel);
  uint32_t *pos = calloc(d->batch, sizeof *pos);
  struct forms fs = {0};
  uint32_t start = 0;
  unsigned restarts = 0;
  int ret = 0;
  char elfp[128];
  snprintf(elfp, sizeof elfp, "%s/t.elf", d->tmpdir);
  while (start < n) {
    uint32_t ns = 0, i = start;
    for (; i < n && ns < d->batch; i++) {
      int at = -1;
      int64_t from = presume ? form_known(d, &fs, &cs[i], &at) : -1;
      if (from >= 0) {
        char buf[96];
        uint64_t pc = case_test_va(cs[i].idx) + 4ull * at;
        if (cs[i].kind == KIND_BRANCH)
          pc = case_test_va(cs[i].idx) + 4 + BR_PADS * 8;
        snprintf(buf, sizeof buf, "presumed: same form as case %lld (at %#llx)",
                 (long long)from, (unsigned long long)pc);
        rr->st[i] = C_UNDEF;
        rr->why[i] = strdup(buf);
        continue;
      }
      pos[ns] = i;
      sel[ns++] = &cs[i];
    }
    uint32_t end = i;
    if (ns == 0) {
      start = end;
      continue;
    }
    size_t len;
    uint8_t *img = elf_build(sel, ns, &len, corrupt);
    if (!img) {
      ret = -ENOMEM;
      break;
    }
    int fd = open(elfp, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    bool ok = fd >= 0 && write(fd, img, len) == (ssize_t)len;
    if (fd >= 0)
      close(fd);
    char refp[512] = "";
    if (d->ref_cache && prefix == d->qemu)
      ref_key(d, img, len, refp, sizeof refp);
    free(img);
    if (!ok) {
      ret = -EIO;
      break;
    }
    if (d->keep) {
      char kp[512];
      snprintf(kp, sizeof kp, "cp %s %s/case%u.elf", elfp, d->keep,
               sel[0]->idx);
      if (system(kp) != 0)
        fprintf(stderr, "emudiff: could not keep %s\n", kp);
    }
    struct proc p = {0};
    if (!refp[0] || !ref_load(refp, &p)) {
      ret = run_prog(d, prefix, elfp, &p);
      if (ret < 0)
        break;
      if (refp[0])
        ref_store(refp, &p);
    }
    rr->runs++;
    /* accept the longest prefix of well-formed records */
    uint32_t got = 0;
    while ((size_t)(got + 1) * REC_SIZE <= p.out_len && got < ns) {
      uint64_t tag;
      memcpy(&tag, p.out + (size_t)got * REC_SIZE, 8);
      if (tag != (TAG_MAGIC << 32 | sel[got]->idx))
        break;
      memcpy(rr->rec + (size_t)pos[got] * REC_SIZE,
             p.out + (size_t)got * REC_SIZE, REC_SIZE);
      got++;
    }
    free(p.out);
    if (got == ns) {
      start = end;
      continue;
    }
    uint32_t bad = pos[got];
    rr->st[bad] = p.timed_out           ? C_TIMEOUT
                  : is_undef_report(&p) ? C_UNDEF
                                        : C_FAULT;
    rr->why[bad] = describe(&p);
    if (presume && rr->st[bad] == C_UNDEF) {
      int at = cs[bad].n == 1 ? 0 : stopped_at(&cs[bad], rr->why[bad]);
      if (at >= 0)
        form_add(d, &fs, cs[bad].insn[at], cs[bad].idx);
    }
    start = bad + 1;
    if (++restarts > d->max_restarts) {
      for (uint32_t k = start; k < n; k++)
        rr->st[k] = C_NOTRUN;
      break;
    }
  }
  free(sel);
  free(pos);
  free(fs.f);
  free(fs.from);
  return ret;
}

/* ---- reporting ---- */

static uint64_t rd64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static void print_insns(const struct emudiff *d, FILE *f, const struct tcase *c,
                        const char *pfx) {
  for (int i = 0; i < c->n; i++) {
    char dis[160];
    uint64_t pc = case_test_va(c->idx) + 4ull * i;
    if (c->kind == KIND_BRANCH)
      pc = case_test_va(c->idx) + 4 + BR_PADS * 8;
    disasm(d->cs, c->insn[i], pc, dis, sizeof dis);
    fprintf(f, "%s0x%08x  %s\n", pfx, c->insn[i], dis);
  }
}

static void print_vreg(FILE *f, const uint8_t *v) {
  fprintf(f, "%016llx:%016llx", (unsigned long long)rd64(v + 8),
          (unsigned long long)rd64(v));
}

/* Register numbers in an encoding's usual operand fields (Rd/Rt, Rn,
 * Ra/Rt2, Rm): their inputs are printed even when unchanged. */
static uint64_t operand_regs(const struct tcase *c, bool *vec) {
  uint64_t m = 0;
  *vec = false;
  for (int i = 0; i < c->n; i++) {
    uint32_t w = c->insn[i];
    m |= 1ull << (w & 31) | 1ull << ((w >> 5) & 31) | 1ull << ((w >> 10) & 31) |
         1ull << ((w >> 16) & 31);
    *vec |= (w >> 26) & 1; /* SIMD&FP data processing and V loads/stores */
  }
  return m;
}

/* Prints input, qemu and vmkit states: every register that differs between
 * the two runs is marked "<<"; registers the code changed and operand
 * registers are shown too. */
static void print_diff(FILE *f, const struct tcase *c, const uint8_t *q,
                       const uint8_t *m) {
  bool vec;
  uint64_t ops = operand_regs(c, &vec);
  fprintf(f, "    %-5s %-18s %-18s %-18s\n", "reg", "input", "qemu", "vmkit");
  for (int i = 0; i < 33; i++) {
    uint64_t in = i < 31 ? c->in.x[i] : i == 31 ? c->in.sp : c->in.nzcv;
    int off = i < 31 ? REC_X + 8 * i : i == 31 ? REC_SP : REC_NZCV;
    uint64_t a = rd64(q + off), b = rd64(m + off);
    bool op = i < 32 && (ops >> i & 1);
    if (a == b && a == in && !op && i != 32)
      continue;
    char name[8];
    if (i < 31)
      snprintf(name, sizeof name, "x%d", i);
    else
      snprintf(name, sizeof name, "%s", i == 31 ? "sp" : "nzcv");
    fprintf(f, "    %-5s %016llx   %016llx   %016llx%s\n", name,
            (unsigned long long)in, (unsigned long long)a,
            (unsigned long long)b, a != b ? "   <<" : "");
  }
  uint64_t fa = rd64(q + REC_FPSR), fb = rd64(m + REC_FPSR);
  fprintf(f, "    fpcr  %016llx (input)\n", (unsigned long long)c->in.fpcr);
  fprintf(f, "    fpsr  %016llx   %016llx   %016llx%s\n",
          (unsigned long long)c->in.fpsr, (unsigned long long)fa,
          (unsigned long long)fb, fa != fb ? "   <<" : "");
  for (int i = 0; i < 32; i++) {
    const uint8_t *a = q + REC_V + 16 * i, *b = m + REC_V + 16 * i;
    bool d = memcmp(a, b, 16) != 0;
    if (!d && !memcmp(a, c->in.v[i], 16) && !(vec && (ops >> i & 1)))
      continue;
    fprintf(f, "    v%-3d in    ", i);
    print_vreg(f, c->in.v[i]);
    fprintf(f, "\n         qemu  ");
    print_vreg(f, a);
    fprintf(f, "\n         vmkit ");
    print_vreg(f, b);
    fprintf(f, "%s\n", d ? "   <<" : "");
  }
  for (unsigned o = 0; o < MEM_SIZE; o += 16) {
    const uint8_t *a = q + REC_MEM + o, *b = m + REC_MEM + o;
    if (!memcmp(a, b, 16))
      continue;
    fprintf(f, "    mem+%03x  in    ", o);
    for (int i = 0; i < 16; i++)
      fprintf(f, "%02x", c->mem[o + i]);
    fprintf(f, "\n              qemu  ");
    for (int i = 0; i < 16; i++)
      fprintf(f, "%02x", a[i]);
    fprintf(f, "\n              vmkit ");
    for (int i = 0; i < 16; i++)
      fprintf(f, "%02x", b[i]);
    fprintf(f, "   <<\n");
  }
  fprintf(f, "    (memory buffer at %#llx; v = d[1]:d[0])\n",
          (unsigned long long)case_mem_va(c->idx));
}

/* Which instruction of the case a runner's diagnostic names: the first
 * hex number in it that is the address of one of them; -1 if none. */
static int stopped_at(const struct tcase *c, const char *why) {
  uint64_t base = case_test_va(c->idx);
  if (c->kind == KIND_BRANCH)
    base += 4 + BR_PADS * 8;
  for (const char *p = why; p && (p = strstr(p, "0x")); p += 2) {
    uint64_t a = strtoull(p, NULL, 16);
    if (a >= base && a < base + 4ull * c->n && !(a & 3))
      return (int)((a - base) / 4);
  }
  return -1;
}

static void md_row(struct emudiff *d, const struct group *gr,
                   const struct tcase *c, const char *kind, const uint8_t *q,
                   const uint8_t *m, int at) {
  if (!d->md)
    return;
  for (int i = 0; i < c->n; i++) {
    if (at >= 0 && i != at) /* the runner named the instruction */
      continue;
    char dis[160];
    disasm(d->cs, c->insn[i], case_test_va(c->idx) + 4ull * i, dis, sizeof dis);
    fprintf(d->md, "%s`%08x` `%s`", i && at < 0 ? "<br>" : "| ", c->insn[i],
            dis);
  }
  fprintf(d->md, " | %s | %u | %s | ", gr->name, c->idx, kind);
  if (q && m) {
    const char *sep = "";
    for (int i = 0; i < 31; i++)
      if (rd64(q + REC_X + 8 * i) != rd64(m + REC_X + 8 * i)) {
        fprintf(d->md, "%sx%d", sep, i);
        sep = " ";
      }
    if (rd64(q + REC_SP) != rd64(m + REC_SP))
      fprintf(d->md, "%ssp", sep), sep = " ";
    if (rd64(q + REC_NZCV) != rd64(m + REC_NZCV))
      fprintf(d->md, "%snzcv", sep), sep = " ";
    if (rd64(q + REC_FPSR) != rd64(m + REC_FPSR))
      fprintf(d->md, "%sfpsr", sep), sep = " ";
    for (int i = 0; i < 32; i++)
      if (memcmp(q + REC_V + 16 * i, m + REC_V + 16 * i, 16)) {
        fprintf(d->md, "%sv%d", sep, i);
        sep = " ";
      }
    if (memcmp(q + REC_MEM, m + REC_MEM, MEM_SIZE))
      fprintf(d->md, "%smem", sep);
  }
  fprintf(d->md, " | `--seed %llu --group %s --case %u` |\n",
          (unsigned long long)d->seed, gr->name, c->idx);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

static unsigned count_mnemonics(const struct emudiff *d, const struct tcase *cs,
                                uint32_t n) {
  size_t cap = (size_t)n * MAX_SEQ, k = 0;
  char(*m)[16] = calloc(cap ? cap : 1, sizeof *m);
  for (uint32_t i = 0; i < n; i++)
    for (int j = 0; j < cs[i].n; j++) {
      char dis[160];
      disasm(d->cs, cs[i].insn[j], 0x1000, dis, sizeof dis);
      snprintf(m[k++], sizeof m[0], "%.*s", (int)strcspn(dis, " "), dis);
    }
  qsort(m, k, sizeof *m, cmp_str);
  unsigned u = 0;
  for (size_t i = 0; i < k; i++)
    u += i == 0 || strcmp(m[i], m[i - 1]) != 0;
  free(m);
  return u;
}

static int run_group(struct emudiff *d, const struct group *gr,
                     struct gstats *s) {
  memset(s, 0, sizeof *s);
  uint32_t first = 0, n = d->count ? d->count : gr->ci_count;
  if (d->only_case >= 0) {
    first = (uint32_t)d->only_case;
    n = 1;
  }
  if (first + n > MAX_CASES) {
    fprintf(stderr, "emudiff: at most %u cases per group\n", MAX_CASES);
    return -EINVAL;
  }
  struct tcase *cs = calloc(n, sizeof *cs);
  for (uint32_t i = 0; i < n; i++)
    make_case(d, gr, first + i, &cs[i]);
  s->mnemonics = count_mnemonics(d, cs, n);
  struct runres rq = {0}, rv = {0};
  int rc = run_all(d, d->qemu, cs, n, -1, false, &rq);
  if (rc == 0)
    rc = run_all(d, d->runner, cs, n,
                 d->self_check ? (int64_t)(first + n / 2) : -1, true, &rv);
  if (rc < 0) {
    fprintf(stderr, "emudiff: %s: cannot run: %s\n", gr->name, strerror(-rc));
    free(cs);
    return rc;
  }
  s->cases = n;
  for (uint32_t i = 0; i < n; i++) {
    const struct tcase *c = &cs[i];
    const uint8_t *q = rq.rec + (size_t)i * REC_SIZE;
    const uint8_t *m = rv.rec + (size_t)i * REC_SIZE;
    const char *kind = NULL;
    if (rq.st[i] != C_OK) {
      if (rv.st[i] == C_OK && rq.st[i] == C_UNDEF) {
        s->should_undef++;
        kind = "executed, qemu (A53) says UNDEF";
      } else if (rq.st[i] == C_NOTRUN || rv.st[i] == C_NOTRUN) {
        s->notrun++;
      } else {
        s->rejected++;
        if (d->verbose) {
          fprintf(stderr, "  note: %s case %u rejected by qemu (%s):\n",
                  gr->name, c->idx, rq.why[i] ? rq.why[i] : "");
          print_insns(d, stderr, c, "      ");
        }
      }
    } else if (rv.st[i] == C_NOTRUN) {
      s->notrun++;
    } else if (rv.st[i] == C_UNDEF) {
      s->unimpl++;
      kind = rv.why[i] && !strncmp(rv.why[i], "presumed", 8)
                 ? "unimplemented (presumed: same form)"
                 : "unimplemented (UNDEF)";
    } else if (rv.st[i] != C_OK) {
      s->fault++;
      kind = cstat_name[rv.st[i]];
    } else if (memcmp(q, m, REC_SIZE)) {
      s->mismatch++;
      kind = "state differs";
    } else {
      s->ok++;
    }
    if (!kind)
      continue;
    bool full = rv.st[i] == C_OK && rq.st[i] == C_OK;
    int at = stopped_at(c, rv.why[i]);
    md_row(d, gr, c, kind, full ? q : NULL, full ? m : NULL, at);
    if (s->reported++ >= d->max_report)
      continue;
    printf("MISMATCH %s case %u: %s\n", gr->name, c->idx, kind);
    printf("  reproduce: emudiff --seed %llu --group %s --case %u\n",
           (unsigned long long)d->seed, gr->name, c->idx);
    print_insns(d, stdout, c, "  ");
    if (rv.why[i])
      printf("  vmkit: %s\n", rv.why[i]);
    if (at >= 0 && c->n > 1)
      printf("  (stopped at instruction %d: 0x%08x)\n", at, c->insn[at]);
    if (full)
      print_diff(stdout, c, q, m);
  }
  for (uint32_t i = 0; i < n; i++) {
    free(rq.why[i]);
    free(rv.why[i]);
  }
  free(rq.rec), free(rq.st), free(rq.why);
  free(rv.rec), free(rv.st), free(rv.why);
  free(cs);
  return 0;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: emudiff [options]\n"
          "  --runner CMD     vmkit user-mode runner command (default: "
          "$VMKIT_EXEC)\n"
          "  --qemu CMD       reference (default: qemu-aarch64 -cpu "
          "cortex-a53)\n"
          "  --group G[,G..]  groups to run (default: all; --list shows "
          "them)\n"
          "  --count N        cases per group (default: the CI count)\n"
          "  --seed S         random seed (default 1)\n"
          "  --case K         run only case K (to reproduce a report)\n"
          "  --self-check     corrupt one bit of one case of the second run;\n"
          "                   succeed only if that is reported\n"
          "  --batch N        cases per ELF image (default 1000)\n"
          "  --max-report N   detailed reports per group (default 10)\n"
          "  --max-restarts N runner restarts per group (default 300)\n"
          "  --timeout SEC    per process (default 120)\n"
          "  --md FILE        append mismatches as markdown table rows\n"
          "  --keep DIR       keep the ELF images\n"
          "  --ref-cache DIR  keep the reference's results there and reuse\n"
          "                   them (same seed again: ~3x faster)\n"
          "  -v               show cases qemu rejects\n");
}

int main(int argc, char **argv) {
  struct emudiff d = {.seed = 1,
                      .only_case = -1,
                      .batch = 1000,
                      .max_report = 10,
                      .max_restarts = 300,
                      .timeout = 120};
  const char *groups = NULL, *runner = getenv("VMKIT_EXEC"), *md = NULL;
  if (!runner || !*runner) /* set by meson to the runner it built */
    runner = getenv("VMKIT_EXEC_DEFAULT");
  const char *qemu = "qemu-aarch64 -cpu cortex-a53";
  static const struct option lo[] = {{"runner", 1, 0, 'r'},
                                     {"qemu", 1, 0, 'q'},
                                     {"group", 1, 0, 'g'},
                                     {"count", 1, 0, 'n'},
                                     {"seed", 1, 0, 's'},
                                     {"case", 1, 0, 'k'},
                                     {"self-check", 0, 0, 'S'},
                                     {"batch", 1, 0, 'b'},
                                     {"max-report", 1, 0, 'R'},
                                     {"max-restarts", 1, 0, 'M'},
                                     {"timeout", 1, 0, 't'},
                                     {"md", 1, 0, 'm'},
                                     {"keep", 1, 0, 'K'},
                                     {"ref-cache", 1, 0, 'C'},
                                     {"list", 0, 0, 'l'},
                                     {"help", 0, 0, 'h'},
                                     {0, 0, 0, 0}};
  int o;
  while ((o = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
    switch (o) {
    case 'r':
      runner = optarg;
      break;
    case 'q':
      qemu = optarg;
      break;
    case 'g':
      groups = optarg;
      break;
    case 'n':
      d.count = (unsigned)strtoul(optarg, NULL, 0);
      break;
    case 's':
      d.seed = strtoull(optarg, NULL, 0);
      break;
    case 'k':
      d.only_case = strtoll(optarg, NULL, 0);
      break;
    case 'S':
      d.self_check = true;
      break;
    case 'b':
      d.batch = (unsigned)strtoul(optarg, NULL, 0);
      break;
    case 'R':
      d.max_report = (unsigned)strtoul(optarg, NULL, 0);
      break;
    case 'M':
      d.max_restarts = (unsigned)strtoul(optarg, NULL, 0);
      break;
    case 't':
      d.timeout = (unsigned)strtoul(optarg, NULL, 0);
      break;
    case 'm':
      md = optarg;
      break;
    case 'K':
      d.keep = optarg;
      break;
    case 'C':
      d.ref_cache = optarg;
      break;
    case 'v':
      d.verbose = true;
      break;
    case 'l':
      for (unsigned i = 0; i < emudiff_ngroups; i++)
        printf("%-12s %5u  %s\n", emudiff_groups[i].name,
               emudiff_groups[i].ci_count, emudiff_groups[i].what);
      return 0;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (!d.batch)
    d.batch = 1;
  if (!runner || !*runner) {
    printf("emudiff: no runner (set VMKIT_EXEC or --runner); skipping\n");
    return 77;
  }
  if (cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &d.cs) != CS_ERR_OK) {
    fprintf(stderr, "emudiff: cannot open capstone for arm64\n");
    return 2;
  }
  d.runner = split_cmd(runner);
  d.qemu = split_cmd(qemu);
  d.qemu_cmd = qemu;
  if (d.ref_cache && mkdir(d.ref_cache, 0755) < 0 && errno != EEXIST) {
    fprintf(stderr, "emudiff: cannot create --ref-cache %s: %s\n", d.ref_cache,
            strerror(errno));
    return 2;
  }
  if (!d.runner[0] || !d.qemu[0]) {
    fprintf(stderr, "emudiff: empty runner or qemu command\n");
    return 2;
  }
  if (md) {
    d.md = fopen(md, "a");
    if (!d.md) {
      fprintf(stderr, "emudiff: cannot open %s: %s\n", md, strerror(errno));
      return 2;
    }
  }
  snprintf(d.tmpdir, sizeof d.tmpdir, "/tmp/emudiff.XXXXXX");
  if (!mkdtemp(d.tmpdir)) {
    fprintf(stderr, "emudiff: mkdtemp: %s\n", strerror(errno));
    return 2;
  }

  printf("emudiff seed %llu, reference: %s, runner: %s%s\n",
         (unsigned long long)d.seed, qemu, runner,
         d.self_check ? " (self-check: one corrupted case per group)" : "");
  printf("%-12s %6s %6s %8s %7s %6s %7s %7s %7s %5s\n", "group", "cases", "ok",
         "mismatch", "unimpl", "fault", "!undef", "qrej", "notrun", "mnem");
  int ret = 0, ran = 0;
  bool self_ok = true;
  for (unsigned gi = 0; gi < emudiff_ngroups; gi++) {
    const struct group *gr = &emudiff_groups[gi];
    if (groups) {
      char *list = strdup(groups), *save = NULL;
      bool want = false;
      for (char *t = strtok_r(list, ",", &save); t;
           t = strtok_r(NULL, ",", &save))
        want |= !strcmp(t, gr->name) || !strcmp(t, "all");
      free(list);
      if (!want)
        continue;
    }
    struct gstats s;
    if (run_group(&d, gr, &s) < 0) {
      ret = 2;
      break;
    }
    ran++;
    printf("%-12s %6u %6u %8u %7u %6u %7u %7u %7u %5u\n", gr->name, s.cases,
           s.ok, s.mismatch, s.unimpl, s.fault, s.should_undef, s.rejected,
           s.notrun, s.mnemonics);
    fflush(stdout);
    unsigned bad = s.mismatch + s.unimpl + s.fault + s.should_undef;
    if (d.self_check) /* exactly the corrupted case; and every generated
                         encoding must be one qemu (the A53) executes */
      self_ok &= bad == 1 && s.mismatch == 1 && s.rejected == 0;
    else if (bad)
      ret = ret ? ret : 1;
  }
  if (!ran && ret == 0) {
    fprintf(stderr, "emudiff: no group matches '%s' (see --list)\n", groups);
    ret = 2;
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", d.tmpdir);
  if (system(cmd) != 0)
    fprintf(stderr, "emudiff: could not remove %s\n", d.tmpdir);
  if (d.md)
    fclose(d.md);
  cs_close(&d.cs);
  free_cmd(d.runner);
  free_cmd(d.qemu);
  if (d.self_check && ret != 2) {
    printf("self-check: %s\n", self_ok ? "corruption detected in every group"
                                       : "FAILED to detect the corruption");
    return self_ok ? 0 : 1;
  }
  return ret;
}
