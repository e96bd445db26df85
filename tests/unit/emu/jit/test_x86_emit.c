/* test_x86_emit.c — the x86-64 encoder (src/emu/jit/x86_emit.c) checked
 * by decoding what it emits with capstone and comparing capstone's Intel
 * text with the text the emitter call means: every emitter, every
 * register (rax..r15, xmm0..15), the ModRM/SIB corners (rsp/r12 as base,
 * rbp/r13 with no displacement, no base, RIP-relative), 8-bit registers
 * that need a REX prefix, immediates and displacements at the 8/32-bit
 * boundaries, rel8 vs rel32 jumps; and the failure rules (bounds,
 * invalid operands, out-of-reach targets). Single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>
#include <cmocka.h>

#include "emu/jit/x86_emit.h"

#define BASE 0x100000ull /* execution address the code is emitted for */

static csh cs;
static uint8_t mem[512];
static int failures;

static const char *r64[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp",
                              "rsi", "rdi", "r8",  "r9",  "r10", "r11",
                              "r12", "r13", "r14", "r15"};
static const char *r32[16] = {"eax",  "ecx",  "edx",  "ebx", "esp",  "ebp",
                              "esi",  "edi",  "r8d",  "r9d", "r10d", "r11d",
                              "r12d", "r13d", "r14d", "r15d"};
static const char *r16[16] = {"ax",   "cx",   "dx",   "bx",  "sp",   "bp",
                              "si",   "di",   "r8w",  "r9w", "r10w", "r11w",
                              "r12w", "r13w", "r14w", "r15w"};
static const char *r8[16] = {"al",   "cl",   "dl",   "bl",  "spl",  "bpl",
                             "sil",  "dil",  "r8b",  "r9b", "r10b", "r11b",
                             "r12b", "r13b", "r14b", "r15b"};
static const char *ccs[16] = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                              "s", "ns", "p", "np", "l", "ge", "le", "g"};

static const char *rn(unsigned sz, int r) {
  return sz == 64 ? r64[r] : sz == 32 ? r32[r] : sz == 16 ? r16[r] : r8[r];
}

static const char *ptr(unsigned sz) {
  return sz == 64    ? "qword ptr "
         : sz == 32  ? "dword ptr "
         : sz == 16  ? "word ptr "
         : sz == 8   ? "byte ptr "
         : sz == 128 ? "xmmword ptr "
         : sz == 256 ? "ymmword ptr "
                     : "";
}

/* capstone's way of writing a number: decimal up to 9, else hex */
static void num(char *o, size_t n, uint64_t v) {
  if (v <= 9)
    snprintf(o, n, "%llu", (unsigned long long)v);
  else
    snprintf(o, n, "0x%llx", (unsigned long long)v);
}

/* The memory operand m as capstone writes it (after an instruction of
 * len bytes at BASE for RIP-relative ones). */
static void fmt_mem(char *o, size_t n, unsigned sz, struct xe_mem m,
                    size_t len) {
  char inner[96] = "", d[32];
  size_t k = 0;
  if (m.base == XE_RIP) {
    m.disp = (int32_t)(m.target - (BASE + len));
    k += (size_t)snprintf(inner + k, sizeof(inner) - k, "rip");
  } else if (m.base != XE_NOREG) {
    k += (size_t)snprintf(inner + k, sizeof(inner) - k, "%s", r64[m.base]);
  }
  if (m.index != XE_NOREG) {
    k += (size_t)snprintf(inner + k, sizeof(inner) - k, "%s%s", k ? " + " : "",
                          r64[m.index]);
    if (m.scale != 1)
      k += (size_t)snprintf(inner + k, sizeof(inner) - k, "*%u", m.scale);
  }
  if (k == 0) { /* disp32 alone is sign-extended */
    num(d, sizeof(d), (uint64_t)(int64_t)m.disp);
    snprintf(inner, sizeof(inner), "%s", d);
  } else if (m.disp != 0) {
    int64_t v = m.disp;
    num(d, sizeof(d), (uint64_t)(v < 0 ? -v : v));
    snprintf(inner + k, sizeof(inner) - k, " %c %s", v < 0 ? '-' : '+', d);
  }
  snprintf(o, n, "%s[%s]", ptr(sz), inner);
}

/* Disassembles b's bytes as "mnemonic ops; mnemonic ops". Returns false
 * if capstone did not consume every byte. */
static bool dis(const struct xe_buf *b, char *out, size_t n) {
  cs_insn *in;
  size_t cnt = cs_disasm(cs, b->p, b->len, b->exec, 0, &in);
  size_t used = 0, k = 0;
  out[0] = 0;
  for (size_t i = 0; i < cnt; i++) {
    used += in[i].size;
    k += (size_t)snprintf(out + k, n - k, "%s%s%s%s", i ? "; " : "",
                          in[i].mnemonic, in[i].op_str[0] ? " " : "",
                          in[i].op_str);
    if (k >= n)
      k = n - 1;
  }
  cs_free(in, cnt);
  return used == b->len && cnt > 0;
}

static void hex(const struct xe_buf *b, char *o, size_t n) {
  size_t k = 0;
  o[0] = 0;
  for (size_t i = 0; i < b->len && k + 4 < n; i++)
    k += (size_t)snprintf(o + k, n - k, "%02x ", b->p[i]);
}

/* Compares the disassembly of b with want; reports every mismatch (and
 * counts it) instead of stopping at the first, to see a pattern. */
static void check(const struct xe_buf *b, const char *want, const char *what,
                  int line) {
  char got[512], h[128];
  hex(b, h, sizeof(h));
  if (!xe_ok(b)) {
    fprintf(stderr, "line %d: %s failed: %s\n", line, what, b->err);
    failures++;
    return;
  }
  bool whole = dis(b, got, sizeof(got));
  if (!whole || strcmp(got, want) != 0) {
    fprintf(stderr, "line %d: %s\n  want: %s\n  got:  %s%s\n  bytes: %s\n",
            line, what, want, got, whole ? "" : " (bytes left over)", h);
    failures++;
  }
}

#define EMIT(want, ...)                                                        \
  do {                                                                         \
    struct xe_buf bb_;                                                         \
    struct xe_buf *b = &bb_;                                                   \
    xe_init(b, mem, sizeof(mem), BASE);                                        \
    __VA_ARGS__;                                                               \
    check(b, want, #__VA_ARGS__, __LINE__);                                    \
  } while (0)

/* Emitting must fail (and write nothing past cap). */
#define EMIT_FAILS(...)                                                        \
  do {                                                                         \
    struct xe_buf bb_;                                                         \
    struct xe_buf *b = &bb_;                                                   \
    xe_init(b, mem, sizeof(mem), BASE);                                        \
    __VA_ARGS__;                                                               \
    if (xe_ok(b)) {                                                            \
      fprintf(stderr, "line %d: %s should fail\n", __LINE__, #__VA_ARGS__);    \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static int setup(void **state) {
  (void)state;
  return cs_open(CS_ARCH_X86, CS_MODE_64, &cs) == CS_ERR_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  cs_close(&cs);
  return 0;
}

static char w[256];
#define W(...) (snprintf(w, sizeof(w), __VA_ARGS__), w)

static const unsigned sizes[4] = {8, 16, 32, 64};

static void test_mov_all_registers(void **state) {
  (void)state;
  failures = 0;
  for (int s = 0; s < 4; s++)
    for (int d = 0; d < 16; d++)
      for (int r = 0; r < 16; r++) {
        unsigned sz = sizes[s];
        EMIT(W("mov %s, %s", rn(sz, d), rn(sz, r)), xe_mov_rr(b, sz, d, r));
        EMIT(W("xchg %s, %s", rn(sz, d), rn(sz, r)), xe_xchg_rr(b, sz, d, r));
        EMIT(W("test %s, %s", rn(sz, d), rn(sz, r)), xe_test_rr(b, sz, d, r));
      }
  for (int d = 0; d < 16; d++)
    for (int r = 0; r < 16; r++) {
      EMIT(W("movzx %s, %s", r32[d], r8[r]), xe_movzx_rr(b, d, 8, r));
      EMIT(W("movzx %s, %s", r32[d], r16[r]), xe_movzx_rr(b, d, 16, r));
      EMIT(W("mov %s, %s", r32[d], r32[r]), xe_movzx_rr(b, d, 32, r));
      EMIT(W("movsx %s, %s", r32[d], r8[r]), xe_movsx_rr(b, 32, d, 8, r));
      EMIT(W("movsx %s, %s", r64[d], r8[r]), xe_movsx_rr(b, 64, d, 8, r));
      EMIT(W("movsx %s, %s", r32[d], r16[r]), xe_movsx_rr(b, 32, d, 16, r));
      EMIT(W("movsx %s, %s", r64[d], r16[r]), xe_movsx_rr(b, 64, d, 16, r));
      EMIT(W("movsxd %s, %s", r64[d], r32[r]), xe_movsx_rr(b, 64, d, 32, r));
    }
  assert_int_equal(failures, 0);
}

static void test_mov_immediates(void **state) {
  (void)state;
  failures = 0;
  for (int r = 0; r < 16; r++) {
    EMIT(W("mov %s, 0", r32[r]), xe_mov_ri(b, r, 0));
    EMIT(W("mov %s, 0xffffffff", r32[r]), xe_mov_ri(b, r, 0xffffffffu));
    EMIT(W("mov %s, -1", r64[r]), xe_mov_ri(b, r, UINT64_MAX));
    EMIT(W("mov %s, -0x80000000", r64[r]),
         xe_mov_ri(b, r, 0xffffffff80000000ull));
    EMIT(W("movabs %s, 0x100000000", r64[r]), xe_mov_ri(b, r, 1ull << 32));
    EMIT(W("movabs %s, 0x7fffffff7fffffff", r64[r]),
         xe_mov_ri(b, r, 0x7fffffff7fffffffull));
    EMIT(W("movabs %s, 5", r64[r]), xe_mov_ri_sz(b, 64, r, 5));
    EMIT(W("mov %s, 0x12345678", r32[r]), xe_mov_ri_sz(b, 32, r, 0x12345678));
  }
  /* the shortest forms: 5, 7 and 10 bytes (+1 REX for r8..r15) */
  struct xe_buf bb;
  xe_init(&bb, mem, sizeof(mem), BASE);
  xe_mov_ri(&bb, XE_RAX, 0xffffffffu);
  assert_int_equal(bb.len, 5);
  xe_mov_ri(&bb, XE_R9, UINT64_MAX);
  assert_int_equal(bb.len, 5 + 7);
  xe_mov_ri(&bb, XE_RAX, 1ull << 32);
  assert_int_equal(bb.len, 5 + 7 + 10);
  assert_int_equal(failures, 0);
}

static const char *alus[8] = {"add", "or",  "adc", "sbb",
                              "and", "sub", "xor", "cmp"};

static void test_alu_registers(void **state) {
  (void)state;
  failures = 0;
  for (int op = 0; op < 8; op++)
    for (int s = 0; s < 4; s++)
      for (int d = 0; d < 16; d++)
        for (int r = 0; r < 16; r++) {
          unsigned sz = sizes[s];
          EMIT(W("%s %s, %s", alus[op], rn(sz, d), rn(sz, r)),
               xe_alu_rr(b, op, sz, d, r));
        }
  assert_int_equal(failures, 0);
}

/* Immediates: capstone prints some signed and some unsigned, so the
 * value is compared through capstone's operand details (the immediate it
 * decoded, cut to the operand size) and the rest as text. */
static void check_imm(const struct xe_buf *b, const char *prefix, int64_t imm,
                      unsigned sz, size_t want_len, int line) {
  cs_insn *in;
  cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
  size_t cnt = cs_disasm(cs, b->p, b->len, BASE, 0, &in);
  bool ok = xe_ok(b) && cnt == 1 && in[0].size == b->len;
  char got[320] = "?";
  if (cnt >= 1) {
    snprintf(got, sizeof(got), "%s %s", in[0].mnemonic, in[0].op_str);
    cs_x86 *x = &in[0].detail->x86;
    uint64_t mask = sz == 64 ? UINT64_MAX : (1ull << sz) - 1;
    const cs_x86_op *last = &x->operands[x->op_count - 1];
    const char *comma = strrchr(got, ',');
    ok = ok && last->type == X86_OP_IMM &&
         ((uint64_t)last->imm & mask) == ((uint64_t)imm & mask) && comma &&
         (size_t)(comma - got) == strlen(prefix) &&
         strncmp(got, prefix, strlen(prefix)) == 0 &&
         (want_len == 0 || b->len == want_len);
  }
  if (!ok) {
    fprintf(stderr,
            "line %d: want %s, <%lld> (%zu bytes), got %s (%zu bytes)%s%s\n",
            line, prefix, (long long)imm, want_len, got, b->len,
            xe_ok(b) ? "" : " failed: ", xe_ok(b) ? "" : b->err);
    failures++;
  }
  cs_free(in, cnt);
  cs_option(cs, CS_OPT_DETAIL, CS_OPT_OFF);
}

#define EMIT_IMM(prefix, imm, sz, len, ...)                                    \
  do {                                                                         \
    struct xe_buf bb_;                                                         \
    struct xe_buf *b = &bb_;                                                   \
    xe_init(b, mem, sizeof(mem), BASE);                                        \
    __VA_ARGS__;                                                               \
    check_imm(b, prefix, imm, sz, len, __LINE__);                              \
  } while (0)

static const int32_t imms[] = {0,    1,   127,        128,       -128,
                               -129, 255, 0x7fffffff, INT32_MIN, -1};

static void test_alu_immediates(void **state) {
  (void)state;
  failures = 0;
  char p[64];
  for (int op = 0; op < 8; op++)
    for (int s = 0; s < 4; s++)
      for (int r = 0; r < 16; r++)
        for (size_t i = 0; i < sizeof(imms) / sizeof(imms[0]); i++) {
          unsigned sz = sizes[s];
          int32_t v = imms[i];
          if (sz == 16 && (v > 32767 || v < -32768))
            continue; /* 16-bit immediates are 16 bits */
          if (sz == 8 && (v > 255 || v < -128))
            continue;
          /* length: [66] [REX] opcode modrm imm8|imm16|imm32 */
          bool small = sz == 8 || (v >= -128 && v <= 127);
          size_t len = (sz == 16) +
                       (sz == 64 || r >= 8 || (sz == 8 && r >= 4)) + 2 +
                       (small      ? 1
                        : sz == 16 ? 2
                                   : 4);
          snprintf(p, sizeof(p), "%s %s", alus[op], rn(sz, r));
          EMIT_IMM(p, v, sz, len, xe_alu_ri(b, op, sz, r, v));
          if (op == 0) {
            snprintf(p, sizeof(p), "test %s", rn(sz, r));
            EMIT_IMM(p, v, sz, 0, xe_test_ri(b, sz, r, v));
            snprintf(p, sizeof(p), "mov %s[%s]", ptr(sz), r64[r]);
            if (r != XE_RSP && r != XE_RBP && r != XE_R12 && r != XE_R13)
              EMIT_IMM(p, v, sz, 0, xe_store_imm(b, sz, xe_m(r, 0), v));
            snprintf(p, sizeof(p), "add %s[rbx + 8]", ptr(sz));
            EMIT_IMM(p, v, sz, 0, xe_alu_mi(b, op, sz, xe_m(XE_RBX, 8), v));
          }
          if (sz >= 16 && op == 0) {
            snprintf(p, sizeof(p), "imul %s, %s", rn(sz, r), rn(sz, 15 - r));
            EMIT_IMM(p, v, sz, 0, xe_imul_rri(b, sz, r, 15 - r, v));
          }
        }
  /* RIP-relative with an immediate after the displacement */
  EMIT_IMM("cmp dword ptr [rip + 0x100]", 0x12345, 32, 0,
           xe_alu_mi(b, XE_CMP, 32, xe_mrip(BASE + 10 + 0x100), 0x12345));
  EMIT_IMM("mov byte ptr [rip - 0x10]", 7, 8, 0,
           xe_store_imm(b, 8, xe_mrip(BASE + 7 - 0x10), 7));
  assert_int_equal(failures, 0);
}

/* Every addressing form: all bases (and none, and RIP), all indexes but
 * rsp (and none), every scale, displacements at the 8/32-bit edges. */
static void test_addressing_forms(void **state) {
  (void)state;
  failures = 0;
  static const int32_t disps[] = {0,        1,         9,        10,   -1,
                                  127,      128,       -128,     -129, 0x12345,
                                  -0x12345, INT32_MAX, INT32_MIN};
  char m[128];
  for (int base = XE_NOREG; base < 16; base++)
    for (int index = XE_NOREG; index < 16; index++) {
      if (index == XE_RSP)
        continue;
      for (unsigned sc = 1; sc <= 8; sc <<= 1) {
        if (index == XE_NOREG && sc != 1)
          continue;
        for (size_t i = 0; i < sizeof(disps) / sizeof(disps[0]); i++) {
          struct xe_mem am = xe_mi(base, index, sc, disps[i]);
          int dst = (base + index + (int)sc + (int)i) & 15;
          fmt_mem(m, sizeof(m), 64, am, 0);
          EMIT(W("mov %s, %s", r64[dst], m), xe_load(b, 64, dst, am));
          fmt_mem(m, sizeof(m), 8, am, 0);
          EMIT(W("mov %s, %s", m, r8[dst]), xe_store(b, 8, am, dst));
          fmt_mem(m, sizeof(m), 0, am, 0);
          EMIT(W("lea %s, %s", r64[dst], m), xe_lea(b, 64, dst, am));
        }
      }
    }
  /* displacement sizes: mod 00 / disp8 / disp32, and the SIB byte */
  struct {
    struct xe_mem m;
    size_t len;
  } lens[] = {
      {xe_m(XE_RAX, 0), 3},
      {xe_m(XE_RAX, 127), 4},
      {xe_m(XE_RAX, 128), 7},
      {xe_m(XE_RBP, 0), 4}, /* rbp: disp8 0 */
      {xe_m(XE_R13, 0), 4},
      {xe_m(XE_RSP, 0), 4}, /* rsp: SIB */
      {xe_m(XE_R12, 0), 4},
      {xe_m(XE_R12, -128), 5},
      {xe_mi(XE_RAX, XE_R12, 8, 0), 4},   /* r12 as index: REX.X */
      {xe_mi(XE_NOREG, XE_RCX, 2, 0), 8}, /* no base: disp32 */
      {xe_mrip(BASE + 7), 7},
  };
  for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
    struct xe_buf bb;
    xe_init(&bb, mem, sizeof(mem), BASE);
    xe_load(&bb, 64, XE_RAX, lens[i].m);
    if (bb.len != lens[i].len) {
      fprintf(stderr, "addressing form %zu: %zu bytes, want %zu\n", i, bb.len,
              lens[i].len);
      failures++;
    }
  }
  /* RIP-relative: the displacement counts from the instruction's end */
  for (int64_t d = -3; d <= 3; d++) {
    struct xe_mem rm = xe_mrip(BASE + 0x1000 + (uint64_t)d);
    fmt_mem(m, sizeof(m), 64, rm, 7);
    EMIT(W("mov rax, %s", m), xe_load(b, 64, XE_RAX, rm));
    fmt_mem(m, sizeof(m), 0, rm, 7);
    EMIT(W("lea rdx, %s", m), xe_lea(b, 64, XE_RDX, rm));
    fmt_mem(m, sizeof(m), 128, rm, 9);
    EMIT(W("movdqu xmm9, %s", m), xe_sse_rm(b, XE_MOVDQU, XE_XMM9, rm));
  }
  assert_int_equal(failures, 0);
}

static void test_loads_stores(void **state) {
  (void)state;
  failures = 0;
  char m[96];
  for (int r = 0; r < 16; r++)
    for (int base = 0; base < 16; base++) {
      struct xe_mem am = xe_m(base, base * 8 - 64);
      fmt_mem(m, sizeof(m), 8, am, 0);
      EMIT(W("movzx %s, %s", r32[r], m), xe_load(b, 8, r, am));
      EMIT(W("movsx %s, %s", r32[r], m), xe_load_sx(b, 32, r, 8, am));
      EMIT(W("movsx %s, %s", r64[r], m), xe_load_sx(b, 64, r, 8, am));
      EMIT(W("mov %s, %s", m, r8[r]), xe_store(b, 8, am, r));
      EMIT(W("xchg %s, %s", m, r8[r]), xe_xchg_rm(b, 8, r, am));
      fmt_mem(m, sizeof(m), 16, am, 0);
      EMIT(W("movzx %s, %s", r32[r], m), xe_load(b, 16, r, am));
      EMIT(W("movsx %s, %s", r32[r], m), xe_load_sx(b, 32, r, 16, am));
      EMIT(W("movsx %s, %s", r64[r], m), xe_load_sx(b, 64, r, 16, am));
      EMIT(W("mov %s, %s", m, r16[r]), xe_store(b, 16, am, r));
      fmt_mem(m, sizeof(m), 32, am, 0);
      EMIT(W("mov %s, %s", r32[r], m), xe_load(b, 32, r, am));
      EMIT(W("movsxd %s, %s", r64[r], m), xe_load_sx(b, 64, r, 32, am));
      EMIT(W("mov %s, %s", m, r32[r]), xe_store(b, 32, am, r));
      fmt_mem(m, sizeof(m), 64, am, 0);
      EMIT(W("mov %s, %s", r64[r], m), xe_load(b, 64, r, am));
      EMIT(W("mov %s, %s", m, r64[r]), xe_store(b, 64, am, r));
      EMIT(W("xchg %s, %s", m, r64[r]), xe_xchg_rm(b, 64, r, am));
      EMIT(W("add %s, %s", r64[r], m), xe_alu_rm(b, XE_ADD, 64, r, am));
      EMIT(W("sub %s, %s", m, r64[r]), xe_alu_mr(b, XE_SUB, 64, am, r));
      fmt_mem(m, sizeof(m), 8, am, 0);
      EMIT(W("xor %s, %s", r8[r], m), xe_alu_rm(b, XE_XOR, 8, r, am));
      EMIT(W("cmp %s, %s", m, r8[r]), xe_alu_mr(b, XE_CMP, 8, am, r));
      for (int s = 0; s < 4; s++) {
        fmt_mem(m, sizeof(m), sizes[s], am, 0);
        EMIT(W("test %s, %s", m, rn(sizes[s], r)),
             xe_test_mr(b, sizes[s], am, r));
        if (sizes[s] > 8)
          EMIT(W("cmov%s %s, %s", ccs[(r + base) & 15], rn(sizes[s], r), m),
               xe_cmov_rm(b, (r + base) & 15, sizes[s], r, am));
        EMIT(W("lock cmpxchg %s, %s", m, rn(sizes[s], r)),
             xe_lock_cmpxchg(b, sizes[s], am, r));
        EMIT(W("lock xadd %s, %s", m, rn(sizes[s], r)),
             xe_lock_xadd(b, sizes[s], am, r));
      }
    }
  for (int base = 0; base < 16; base++) {
    struct xe_mem am = xe_m(base, 16);
    fmt_mem(m, sizeof(m), 128, am, 0);
    EMIT(W("lock cmpxchg16b %s", m), xe_lock_cmpxchg16b(b, am));
    fmt_mem(m, sizeof(m), 64, am, 0);
    EMIT(W("call %s", m), xe_call_m(b, am));
    EMIT(W("jmp %s", m), xe_jmp_m(b, am));
  }
  assert_int_equal(failures, 0);
}

static const char *shifts[8] = {"rol", "ror", 0, 0, "shl", "shr", 0, "sar"};
static const char *unaries[8] = {0,     0,      "not", "neg",
                                 "mul", "imul", "div", "idiv"};

static void test_unary_shift_mul(void **state) {
  (void)state;
  failures = 0;
  for (int s = 0; s < 4; s++)
    for (int r = 0; r < 16; r++) {
      unsigned sz = sizes[s];
      for (int op = 0; op < 8; op++) {
        if (shifts[op]) {
          EMIT(W("%s %s, 1", shifts[op], rn(sz, r)),
               xe_shift_ri(b, op, sz, r, 1));
          EMIT(W("%s %s, 7", shifts[op], rn(sz, r)),
               xe_shift_ri(b, op, sz, r, 7));
          EMIT(W("%s %s, 0x3f", shifts[op], rn(sz, r)),
               xe_shift_ri(b, op, sz, r, 63));
          EMIT(W("%s %s, cl", shifts[op], rn(sz, r)),
               xe_shift_rcl(b, op, sz, r));
        }
        if (unaries[op])
          EMIT(W("%s %s", unaries[op], rn(sz, r)), xe_unary(b, op, sz, r));
      }
      if (sz == 8)
        continue;
      int o = (r * 7 + 3) & 15;
      EMIT(W("imul %s, %s", rn(sz, r), rn(sz, o)), xe_imul_rr(b, sz, r, o));
      EMIT(W("cmov%s %s, %s", ccs[r], rn(sz, r), rn(sz, o)),
           xe_cmov(b, r, sz, r, o));
      EMIT(W("lzcnt %s, %s", rn(sz, r), rn(sz, o)), xe_lzcnt(b, sz, r, o));
      EMIT(W("tzcnt %s, %s", rn(sz, r), rn(sz, o)), xe_tzcnt(b, sz, r, o));
      EMIT(W("popcnt %s, %s", rn(sz, r), rn(sz, o)), xe_popcnt(b, sz, r, o));
      if (sz == 16)
        continue;
      EMIT(W("bswap %s", rn(sz, r)), xe_bswap(b, sz, r));
      EMIT(W("shlx %s, %s, %s", rn(sz, r), rn(sz, o), rn(sz, 15 - r)),
           xe_shlx(b, sz, r, o, 15 - r));
      EMIT(W("shrx %s, %s, %s", rn(sz, r), rn(sz, o), rn(sz, 15 - r)),
           xe_shrx(b, sz, r, o, 15 - r));
      EMIT(W("sarx %s, %s, %s", rn(sz, r), rn(sz, o), rn(sz, 15 - r)),
           xe_sarx(b, sz, r, o, 15 - r));
      EMIT(W("andn %s, %s, %s", rn(sz, r), rn(sz, o), rn(sz, 15 - r)),
           xe_andn(b, sz, r, o, 15 - r));
      EMIT(W("rorx %s, %s, 0xd", rn(sz, r), rn(sz, o)),
           xe_rorx(b, sz, r, o, 13));
    }
  for (int r = 0; r < 16; r++)
    for (int cc = 0; cc < 16; cc++)
      EMIT(W("set%s %s", ccs[cc], r8[r]), xe_setcc(b, cc, r));
  EMIT("cwd", xe_sext_acc(b, 16));
  EMIT("cdq", xe_sext_acc(b, 32));
  EMIT("cqo", xe_sext_acc(b, 64));
  assert_int_equal(failures, 0);
}

static void test_stack_calls_misc(void **state) {
  (void)state;
  failures = 0;
  for (int r = 0; r < 16; r++) {
    EMIT(W("push %s", r64[r]), xe_push(b, r));
    EMIT(W("pop %s", r64[r]), xe_pop(b, r));
    EMIT(W("call %s", r64[r]), xe_call_r(b, r));
    EMIT(W("jmp %s", r64[r]), xe_jmp_r(b, r));
  }
  EMIT("ret", xe_ret(b));
  EMIT("ret 8", xe_ret_imm(b, 8));
  EMIT("ret 0x1234", xe_ret_imm(b, 0x1234));
  EMIT("ud2", xe_ud2(b));
  EMIT("int3", xe_int3(b));
  EMIT("mfence", xe_mfence(b));
  EMIT("pause", xe_pause(b));
  EMIT("call 0x100", xe_call_abs(b, 0x100));
  EMIT("call 0x80100000", xe_call_abs(b, 0x80100000ull));
  EMIT("movabs r11, 0x123456789a; call r11",
       xe_call_far(b, 0x123456789aull, XE_R11));
  assert_int_equal(failures, 0);
}

/* Jumps: rel8 exactly while the target is within -128..127 of the end of
 * the 2-byte form, rel32 beyond; forward fixups; absolute targets. */
static void test_jumps(void **state) {
  (void)state;
  failures = 0;
  struct xe_buf bb;
  char got[256];
  /* backward: a jump at offset 200 to 200+2-128 = 74 is the last rel8 */
  for (int t = 60; t <= 90; t++) {
    for (int cc = -1; cc < 16; cc++) {
      xe_init(&bb, mem, sizeof(mem), BASE);
      xe_nop(&bb, 200);
      size_t at = xe_here(&bb);
      if (cc < 0)
        xe_jmp_to(&bb, (size_t)t);
      else
        xe_jcc_to(&bb, cc, (size_t)t);
      size_t want = t >= 74 ? 2 : cc < 0 ? 5 : 6;
      struct xe_buf one = bb;
      one.p += at;
      one.len -= at;
      one.exec += at;
      cs_insn *in;
      size_t n = cs_disasm(cs, one.p, one.len, one.exec, 1, &in);
      snprintf(w, sizeof(w), "%s 0x%llx", cc < 0 ? "jmp" : "j",
               (unsigned long long)(BASE + (unsigned)t));
      if (cc >= 0)
        snprintf(w, sizeof(w), "j%s 0x%llx", ccs[cc],
                 (unsigned long long)(BASE + (unsigned)t));
      snprintf(got, sizeof(got), "%s %s", n ? in[0].mnemonic : "?",
               n ? in[0].op_str : "");
      if (!xe_ok(&bb) || one.len != want || strcmp(got, w) != 0) {
        fprintf(stderr, "jump to %d (cc %d): %zu bytes, want %zu: %s vs %s\n",
                t, cc, one.len, want, got, w);
        failures++;
      }
      cs_free(in, n);
    }
  }
  /* forward fixups, short and near */
  EMIT("jne 0x100004; nop; nop", struct xe_fixup f = xe_jcc_fwd(b, XE_NE, true);
       xe_nop(b, 1); xe_nop(b, 1); xe_bind_to(b, f, 4));
  EMIT("jmp 0x10007f; ret", struct xe_fixup f = xe_jmp_fwd(b, true); xe_ret(b);
       xe_bind_to(b, f, 0x7f));
  EMIT("jg 0x100007; ret", struct xe_fixup f = xe_jcc_fwd(b, XE_G, false);
       xe_ret(b); xe_bind(b, f));
  EMIT("jmp 0x100006; ret", struct xe_fixup f = xe_jmp_fwd(b, false); xe_ret(b);
       xe_bind(b, f));
  EMIT("call 0x100006; ret", struct xe_fixup f = xe_call_fwd(b); xe_ret(b);
       xe_bind(b, f));
  EMIT_FAILS(struct xe_fixup f = xe_jmp_fwd(b, true); xe_nop(b, 128);
             xe_bind(b, f));
  EMIT("jb 0x200000", xe_jcc_abs(b, XE_B, 0x200000));
  EMIT("jmp 0xfff00", xe_jmp_abs(b, 0xfff00));
  EMIT_FAILS(xe_jmp_abs(b, BASE + 0x90000000ull));
  EMIT_FAILS(xe_call_abs(b, BASE - 0x90000000ull));
  EMIT_FAILS(xe_jcc_to(b, 16, 0));
  /* the patchable jmp: rel32 always (even to a near target), its
   * displacement 4-byte aligned after however many NOPs */
  for (unsigned pre = 0; pre < 8; pre++) {
    xe_init(&bb, mem, sizeof(mem), BASE);
    xe_nop(&bb, pre);
    size_t at = xe_jmp_patchable(&bb, BASE);
    assert_true(xe_ok(&bb));
    assert_int_equal((BASE + at + 1) % 4, 0);
    assert_true(at >= pre && at < pre + 4);
    assert_int_equal(bb.len, at + 5);
    assert_int_equal(mem[at], 0xE9);
    assert_int_equal(xe_patch_jmp(mem + at, BASE + at, BASE + 0x1234), 0);
    struct xe_buf one = bb;
    one.p += at;
    one.len = 5;
    one.exec += at;
    assert_true(dis(&one, got, sizeof(got)));
    assert_string_equal(got, "jmp 0x101234");
    assert_int_equal(xe_patch_jmp(mem + at, BASE + at, BASE + (3ull << 30)),
                     -ERANGE);
    if (at > 0)
      assert_int_equal(xe_patch_jmp(mem + at - 1, BASE + at - 1, BASE),
                       -EINVAL);
  }
  assert_int_equal(failures, 0);
}

static const char *sse_names[XE_SSE_NOPS] = {
    [XE_MOVSD] = "movsd",
    [XE_MOVSS] = "movss",
    [XE_MOVQ] = "movq",
    [XE_MOVD] = "movd",
    [XE_MOVDQU] = "movdqu",
    [XE_MOVDQA] = "movdqa",
    [XE_MOVAPS] = "movaps",
    [XE_ADDSD] = "addsd",
    [XE_SUBSD] = "subsd",
    [XE_MULSD] = "mulsd",
    [XE_DIVSD] = "divsd",
    [XE_SQRTSD] = "sqrtsd",
    [XE_MINSD] = "minsd",
    [XE_MAXSD] = "maxsd",
    [XE_ADDSS] = "addss",
    [XE_SUBSS] = "subss",
    [XE_MULSS] = "mulss",
    [XE_DIVSS] = "divss",
    [XE_SQRTSS] = "sqrtss",
    [XE_MINSS] = "minss",
    [XE_MAXSS] = "maxss",
    [XE_UCOMISD] = "ucomisd",
    [XE_UCOMISS] = "ucomiss",
    [XE_COMISD] = "comisd",
    [XE_COMISS] = "comiss",
    [XE_CVTSD2SS] = "cvtsd2ss",
    [XE_CVTSS2SD] = "cvtss2sd",
    [XE_ADDPD] = "addpd",
    [XE_ADDPS] = "addps",
    [XE_MULPD] = "mulpd",
    [XE_MULPS] = "mulps",
    [XE_PXOR] = "pxor",
    [XE_PAND] = "pand",
    [XE_PANDN] = "pandn",
    [XE_POR] = "por",
    [XE_PADDB] = "paddb",
    [XE_PADDW] = "paddw",
    [XE_PADDD] = "paddd",
    [XE_PADDQ] = "paddq",
    [XE_PSUBB] = "psubb",
    [XE_PSUBW] = "psubw",
    [XE_PSUBD] = "psubd",
    [XE_PSUBQ] = "psubq",
    [XE_PCMPEQB] = "pcmpeqb",
    [XE_PCMPEQD] = "pcmpeqd",
    [XE_PSHUFB] = "pshufb",
    [XE_PMULLD] = "pmulld",
    [XE_PMINUD] = "pminud",
    [XE_PMAXUD] = "pmaxud",
    [XE_PTEST] = "ptest",
    [XE_SUBPS] = "subps",
    [XE_SUBPD] = "subpd",
    [XE_DIVPS] = "divps",
    [XE_DIVPD] = "divpd",
    [XE_PSUBUSB] = "psubusb",
    [XE_PSUBUSW] = "psubusw",
    [XE_PMULLW] = "pmullw",
    [XE_PCMPGTD] = "pcmpgtd",
    [XE_PCMPGTQ] = "pcmpgtq",
    [XE_PCMPEQW] = "pcmpeqw",
    [XE_PCMPEQQ] = "pcmpeqq",
    [XE_PCMPGTB] = "pcmpgtb",
    [XE_PCMPGTW] = "pcmpgtw",
    [XE_PMAXUB] = "pmaxub",
    [XE_PMINUB] = "pminub",
    [XE_PMAXSW] = "pmaxsw",
    [XE_PMINSW] = "pminsw",
    [XE_PMAXUW] = "pmaxuw",
    [XE_PMINUW] = "pminuw",
    [XE_PMAXSB] = "pmaxsb",
    [XE_PMINSB] = "pminsb",
    [XE_PMAXSD] = "pmaxsd",
    [XE_PMINSD] = "pminsd",
    [XE_PUNPCKLQDQ] = "punpcklqdq",
    [XE_PUNPCKHQDQ] = "punpckhqdq",
    [XE_PADDUSB] = "paddusb",
};

/* the memory operand size capstone shows for each SSE op's load */
static unsigned sse_msz(enum xe_sse op) {
  switch (op) {
  case XE_MOVSD:
  case XE_MOVQ:
  case XE_ADDSD:
  case XE_SUBSD:
  case XE_MULSD:
  case XE_DIVSD:
  case XE_SQRTSD:
  case XE_MINSD:
  case XE_MAXSD:
  case XE_UCOMISD:
  case XE_CVTSD2SS:
    return 64;
  case XE_MOVSS:
  case XE_MOVD:
  case XE_ADDSS:
  case XE_SUBSS:
  case XE_MULSS:
  case XE_DIVSS:
  case XE_SQRTSS:
  case XE_MINSS:
  case XE_MAXSS:
  case XE_UCOMISS:
  case XE_CVTSS2SD:
    return 32;
  case XE_COMISD:
  case XE_COMISS:
    return 128; /* capstone 4 says xmmword; the CPU reads 64/32 bits */
  default:
    return 128;
  }
}

static void test_sse(void **state) {
  (void)state;
  failures = 0;
  char m[96];
  for (int op = 0; op < XE_SSE_NOPS; op++)
    for (int d = 0; d < 16; d++) {
      int s = (d * 5 + 1) & 15;
      if (op != XE_MOVD)
        EMIT(W("%s xmm%d, xmm%d", sse_names[op], d, s), xe_sse_rr(b, op, d, s));
      struct xe_mem am = xe_mi(s, d == XE_RSP ? XE_NOREG : d, 4, 0x40);
      fmt_mem(m, sizeof(m), sse_msz(op), am, 0);
      EMIT(W("%s xmm%d, %s", sse_names[op], d, m), xe_sse_rm(b, op, d, am));
      if (op <= XE_MOVAPS)
        EMIT(W("%s %s, xmm%d", sse_names[op], m, d),
             xe_sse_store(b, op, am, d));
    }
  for (int x = 0; x < 16; x++)
    for (int r = 0; r < 16; r++) {
      EMIT(W("movd xmm%d, %s", x, r32[r]), xe_movd_xr(b, 32, x, r));
      EMIT(W("movq xmm%d, %s", x, r64[r]), xe_movd_xr(b, 64, x, r));
      EMIT(W("movd %s, xmm%d", r32[r], x), xe_movd_rx(b, 32, r, x));
      EMIT(W("movq %s, xmm%d", r64[r], x), xe_movd_rx(b, 64, r, x));
      EMIT(W("cvtsi2sd xmm%d, %s", x, r32[r]), xe_cvtsi2sd(b, 32, x, r));
      EMIT(W("cvtsi2sd xmm%d, %s", x, r64[r]), xe_cvtsi2sd(b, 64, x, r));
      EMIT(W("cvtsi2ss xmm%d, %s", x, r64[r]), xe_cvtsi2ss(b, 64, x, r));
      EMIT(W("cvttsd2si %s, xmm%d", r64[r], x), xe_cvttsd2si(b, 64, r, x));
      EMIT(W("cvttss2si %s, xmm%d", r32[r], x), xe_cvttss2si(b, 32, r, x));
      EMIT(W("cvtsd2si %s, xmm%d", r64[r], x), xe_cvtsd2si(b, 64, r, x));
      EMIT(W("pinsrq xmm%d, %s, 1", x, r64[r]), xe_pinsr(b, 64, x, r, 1));
      EMIT(W("pinsrd xmm%d, %s, 3", x, r32[r]), xe_pinsr(b, 32, x, r, 3));
      EMIT(W("pextrq %s, xmm%d, 1", r64[r], x), xe_pextr(b, 64, r, x, 1));
      EMIT(W("pextrd %s, xmm%d, 2", r32[r], x), xe_pextr(b, 32, r, x, 2));
    }
  static const char *const shn[3][3] = {{"psrlw", "psrld", "psrlq"},
                                        {"psraw", "psrad", NULL},
                                        {"psllw", "pslld", "psllq"}};
  static const enum xe_shift sho[3] = {XE_SHR, XE_SAR, XE_SHL};
  for (int x = 0; x < 16; x++) {
    for (int r = 0; r < 16; r++) {
      EMIT(W("movmskps %s, xmm%d", r32[r], x), xe_movmsk(b, false, r, x));
      EMIT(W("movmskpd %s, xmm%d", r32[r], x), xe_movmsk(b, true, r, x));
    }
    for (int o = 0; o < 3; o++)
      for (int l = 0; l < 3; l++)
        if (shn[o][l])
          EMIT(W(x + 3 < 10 ? "%s xmm%d, %d" : "%s xmm%d, 0x%x", shn[o][l], x,
                 x + 3),
               xe_psh_ri(b, sho[o], 16u << l, x, (uint8_t)(x + 3)));
  }
  EMIT_FAILS(xe_psh_ri(b, XE_SAR, 64, 1, 2));
  EMIT("pshufd xmm9, xmm2, 0x44", xe_pshufd(b, 9, 2, 0x44));
  EMIT("pshufd xmm1, xmm14, 0", xe_pshufd(b, 1, 14, 0));
  EMIT("pshuflw xmm12, xmm3, 0", xe_pshuflw(b, 12, 3, 0));
  EMIT("pshuflw xmm0, xmm0, 0x1b", xe_pshuflw(b, 0, 0, 0x1b));
  EMIT("palignr xmm1, xmm9, 3", xe_palignr(b, 1, 9, 3));
  EMIT("palignr xmm13, xmm2, 0xf", xe_palignr(b, 13, 2, 15));
  EMIT("psrldq xmm2, 8", xe_pbsh_ri(b, XE_SHR, 2, 8));
  EMIT("pslldq xmm11, 3", xe_pbsh_ri(b, XE_SHL, 11, 3));
  EMIT_FAILS(xe_pbsh_ri(b, XE_SAR, 1, 2));
  EMIT_FAILS(xe_psh_ri(b, XE_ROR, 32, 1, 2));
  EMIT("roundsd xmm3, xmm12, 0xb", xe_roundsd(b, 3, 12, 11));
  EMIT("roundss xmm15, xmm0, 1", xe_roundss(b, 15, 0, 1));
  EMIT_FAILS(xe_sse_rr(b, XE_MOVD, 1, 2));
  EMIT_FAILS(xe_sse_store(b, XE_ADDSD, xe_m(XE_RAX, 0), 1));
  EMIT_FAILS(xe_sse_rr(b, XE_SSE_NOPS, 1, 2));
  assert_int_equal(failures, 0);
}

static const char *avx_names[XE_AVX_NOPS] = {
    [XE_VPXOR] = "vpxor",
    [XE_VPAND] = "vpand",
    [XE_VPOR] = "vpor",
    [XE_VPADDB] = "vpaddb",
    [XE_VPADDD] = "vpaddd",
    [XE_VPADDQ] = "vpaddq",
    [XE_VPSUBD] = "vpsubd",
    [XE_VPCMPEQB] = "vpcmpeqb",
    [XE_VPSHUFB] = "vpshufb",
    [XE_VPMULLD] = "vpmulld",
    [XE_VADDPD] = "vaddpd",
    [XE_VADDPS] = "vaddps",
    [XE_VMULPD] = "vmulpd",
    [XE_VMULPS] = "vmulps",
    [XE_VFMADD231SD] = "vfmadd231sd",
    [XE_VFMADD231SS] = "vfmadd231ss",
    [XE_VFMADD231PS] = "vfmadd231ps",
    [XE_VFMADD231PD] = "vfmadd231pd",
    [XE_VFNMADD231PS] = "vfnmadd231ps",
    [XE_VFNMADD231PD] = "vfnmadd231pd",
};

static void test_avx(void **state) {
  (void)state;
  failures = 0;
  char m[96];
  for (int op = 0; op < XE_AVX_NOPS; op++)
    for (unsigned bits = 128; bits <= 256; bits *= 2) {
      bool scalar = op == XE_VFMADD231SD || op == XE_VFMADD231SS;
      if (scalar && bits == 256) {
        EMIT_FAILS(xe_avx_rrr(b, op, bits, 1, 2, 3));
        continue;
      }
      char v = bits == 256 ? 'y' : 'x';
      for (int d = 0; d < 16; d++) {
        int s1 = (d + 3) & 15, s2 = (d * 7 + 2) & 15;
        EMIT(W("%s %cmm%d, %cmm%d, %cmm%d", avx_names[op], v, d, v, s1, v, s2),
             xe_avx_rrr(b, op, bits, d, s1, s2));
        struct xe_mem am = xe_mi(s2, s1 == XE_RSP ? XE_NOREG : s1, 2, -8);
        fmt_mem(m, sizeof(m),
                op == XE_VFMADD231SD   ? 64
                : op == XE_VFMADD231SS ? 32
                                       : bits,
                am, 0);
        EMIT(W("%s %cmm%d, %cmm%d, %s", avx_names[op], v, d, v, s1, m),
             xe_avx_rrm(b, op, bits, d, s1, am));
      }
    }
  assert_int_equal(failures, 0);
}

static void test_nops_and_align(void **state) {
  (void)state;
  failures = 0;
  for (size_t n = 1; n <= 20; n++) {
    struct xe_buf bb;
    xe_init(&bb, mem, sizeof(mem), BASE);
    xe_nop(&bb, n);
    cs_insn *in;
    size_t cnt = cs_disasm(cs, bb.p, bb.len, BASE, 0, &in);
    size_t used = 0;
    for (size_t i = 0; i < cnt; i++) {
      used += in[i].size;
      if (strcmp(in[i].mnemonic, "nop") != 0)
        failures++;
    }
    if (used != n || bb.len != n)
      failures++;
    cs_free(in, cnt);
  }
  for (size_t pre = 0; pre < 40; pre++) {
    struct xe_buf bb;
    xe_init(&bb, mem, sizeof(mem), BASE + 3);
    xe_nop(&bb, pre);
    xe_align(&bb, 16);
    assert_int_equal((bb.exec + bb.len) % 16, 0);
    assert_true(bb.len >= pre && bb.len < pre + 16);
  }
  assert_int_equal(failures, 0);
}

/* Failures: never a write past cap, invalid operands refused, the first
 * reason kept, and nothing emitted after a failure. */
static void test_failures(void **state) {
  (void)state;
  failures = 0;
  uint8_t area[64];
  for (size_t cap = 0; cap < 16; cap++) {
    memset(area, 0xAA, sizeof(area));
    struct xe_buf bb;
    xe_init(&bb, area, cap, BASE);
    xe_mov_ri(&bb, XE_R9, 0x123456789abcdefull);                /* 10 bytes */
    xe_load(&bb, 64, XE_R13, xe_mi(XE_R12, XE_R13, 8, 0x1000)); /* 8 */
    if (cap < 18)
      assert_false(xe_ok(&bb));
    assert_true(bb.full);
    assert_true(bb.len <= cap);
    for (size_t i = cap; i < sizeof(area); i++)
      assert_int_equal(area[i], 0xAA);
  }
  {
    /* exactly enough room: fine */
    struct xe_buf bb;
    xe_init(&bb, area, 18, BASE);
    xe_mov_ri(&bb, XE_R9, 0x123456789abcdefull);
    xe_load(&bb, 64, XE_R13, xe_mi(XE_R12, XE_R13, 8, 0x1000));
    assert_true(xe_ok(&bb));
    assert_int_equal(bb.len, 18);
  }
  EMIT_FAILS(xe_load(b, 64, XE_RAX, xe_mi(XE_RAX, XE_RSP, 1, 0)));
  EMIT_FAILS(xe_load(b, 64, XE_RAX, xe_mi(XE_RAX, XE_RCX, 3, 0)));
  EMIT_FAILS(xe_load(b, 64, XE_RAX, xe_mi(XE_RIP, XE_RCX, 1, 0)));
  EMIT_FAILS(xe_load(b, 64, 16, xe_m(XE_RAX, 0)));
  EMIT_FAILS(xe_load(b, 64, XE_RAX, xe_m(17, 0)));
  EMIT_FAILS(xe_load(b, 12, XE_RAX, xe_m(XE_RAX, 0)));
  EMIT_FAILS(xe_mov_rr(b, 64, XE_RAX, XE_NOREG));
  EMIT_FAILS(xe_mov_rr(b, 24, XE_RAX, XE_RCX));
  EMIT_FAILS(xe_lea(b, 8, XE_RAX, xe_m(XE_RAX, 0)));
  EMIT_FAILS(xe_cmov(b, XE_E, 8, XE_RAX, XE_RCX));
  EMIT_FAILS(xe_cmov(b, 16, 64, XE_RAX, XE_RCX));
  EMIT_FAILS(xe_alu_rr(b, 8, 64, XE_RAX, XE_RCX));
  EMIT_FAILS(xe_shift_ri(b, 2, 64, XE_RAX, 1));
  EMIT_FAILS(xe_unary(b, 1, 64, XE_RAX));
  EMIT_FAILS(xe_movsx_rr(b, 32, XE_RAX, 32, XE_RCX));
  EMIT_FAILS(xe_shlx(b, 16, XE_RAX, XE_RCX, XE_RDX));
  EMIT_FAILS(xe_bswap(b, 16, XE_RAX));
  EMIT_FAILS(xe_align(b, 3));
  EMIT_FAILS(xe_load(b, 64, XE_RAX, xe_mrip(BASE + (1ull << 31) + 7)));
  EMIT_FAILS(xe_avx_rrr(b, XE_VPXOR, 512, 1, 2, 3));
  EMIT_FAILS(xe_movd_xr(b, 16, 1, XE_RAX));
  /* the first reason stays, and a failed buffer takes nothing more */
  struct xe_buf bb;
  xe_init(&bb, mem, sizeof(mem), BASE);
  xe_ret(&bb);
  xe_load(&bb, 64, XE_RAX, xe_mi(XE_RAX, XE_RSP, 1, 0));
  const char *first = bb.err;
  assert_non_null(first);
  xe_mov_rr(&bb, 24, XE_RAX, XE_RCX);
  xe_ret(&bb);
  assert_ptr_equal(bb.err, first);
  assert_int_equal(bb.len, 1);
  assert_false(bb.full);
  /* a bind after a failure does not write */
  xe_init(&bb, mem, sizeof(mem), BASE);
  struct xe_fixup f = xe_jmp_fwd(&bb, false);
  xe_fail(&bb, "test");
  memset(mem + 1, 0x55, 4);
  xe_bind_to(&bb, f, 100);
  assert_int_equal(mem[1], 0x55);
  assert_int_equal(failures, 0);
}

/* Random sequences into small buffers: whatever the operands (invalid
 * ones included) nothing is written past cap, and a sequence the encoder
 * accepted decodes completely. */
static uint64_t rs = 0x2545f4914f6cdd1dull;
static unsigned rnd(unsigned n) {
  rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
  return (unsigned)(rs % n);
}

static int rreg(void) { return rnd(40) == 0 ? 16 + (int)rnd(3) : (int)rnd(16); }

static struct xe_mem rmem(void) {
  switch (rnd(4)) {
  case 0:
    return xe_m(rreg(), (int32_t)rnd(300) - 150);
  case 1:
    return xe_mrip(BASE + rnd(1000));
  case 2:
    return xe_mi(rnd(10) ? rreg() : XE_NOREG, rreg(), 1u << rnd(5),
                 (int32_t)(rnd(1u << 31) - (1u << 30)));
  default:
    return xe_mi(rreg(), rnd(10) ? rreg() : XE_NOREG, 1u << rnd(4), 0);
  }
}

static void emit_random(struct xe_buf *b) {
  unsigned sz = 8u << rnd(4);
  switch (rnd(16)) {
  case 0:
    xe_mov_rr(b, sz, rreg(), rreg());
    break;
  case 1:
    xe_mov_ri(b, rreg(), (uint64_t)rnd(1u << 31) << rnd(40));
    break;
  case 2:
    xe_load(b, sz, rreg(), rmem());
    break;
  case 3:
    xe_store(b, sz, rmem(), rreg());
    break;
  case 4:
    xe_alu_ri(b, rnd(9), sz, rreg(), (int32_t)rnd(70000) - 35000);
    break;
  case 5:
    xe_alu_mi(b, rnd(8), sz, rmem(), (int32_t)rnd(300) - 150);
    break;
  case 6:
    xe_lock_cmpxchg(b, sz, rmem(), rreg());
    break;
  case 7:
    xe_shift_ri(b, rnd(8), sz, rreg(), (uint8_t)rnd(64));
    break;
  case 8:
    xe_lea(b, sz, rreg(), rmem());
    break;
  case 9:
    xe_sse_rm(b, rnd(XE_SSE_NOPS + 1), rreg(), rmem());
    break;
  case 10:
    xe_avx_rrm(b, rnd(XE_AVX_NOPS), 128u << rnd(2), rreg(), rreg(), rmem());
    break;
  case 11:
    xe_jcc_to(b, rnd(17), rnd(64));
    break;
  case 12:
    xe_shlx(b, sz, rreg(), rreg(), rreg());
    break;
  case 13:
    xe_store_imm(b, sz, rmem(), (int32_t)rnd(1000));
    break;
  case 14:
    xe_jmp_patchable(b, BASE + rnd(1u << 20));
    break;
  default:
    xe_nop(b, rnd(12));
    break;
  }
}

static void test_random_sequences(void **state) {
  (void)state;
  uint8_t area[96];
  char got[2048];
  int decoded = 0;
  for (int it = 0; it < 20000; it++) {
    size_t cap = rnd(64);
    memset(area, 0xAA, sizeof(area));
    struct xe_buf bb;
    xe_init(&bb, area, cap, BASE);
    unsigned n = 1 + rnd(6);
    for (unsigned i = 0; i < n; i++)
      emit_random(&bb);
    assert_true(bb.len <= cap);
    for (size_t i = cap; i < sizeof(area); i++)
      assert_int_equal(area[i], 0xAA);
    if (xe_ok(&bb) && bb.len > 0) {
      if (!dis(&bb, got, sizeof(got))) {
        char h[512];
        hex(&bb, h, sizeof(h));
        fail_msg("accepted bytes that do not decode: %s", h);
      }
      decoded++;
    }
  }
  assert_true(decoded > 1000); /* the generator does reach valid code */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mov_all_registers),
      cmocka_unit_test(test_mov_immediates),
      cmocka_unit_test(test_alu_registers),
      cmocka_unit_test(test_alu_immediates),
      cmocka_unit_test(test_addressing_forms),
      cmocka_unit_test(test_loads_stores),
      cmocka_unit_test(test_unary_shift_mul),
      cmocka_unit_test(test_stack_calls_misc),
      cmocka_unit_test(test_jumps),
      cmocka_unit_test(test_sse),
      cmocka_unit_test(test_avx),
      cmocka_unit_test(test_nops_and_align),
      cmocka_unit_test(test_failures),
      cmocka_unit_test(test_random_sequences),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
