/* test_panic_log.c — the ramoops panic-log reader against crafted regions:
 * a panic (plain, wrapped in the ring, deflated), oops and shutdown
 * records, truncated records, lying start/size fields, garbage and no
 * signature. Run under ASan in `make test`: a read outside a zone fails
 * there. Single-threaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/le.h"
#include "machine/panic_log.h"

#define REC 4096u
#define ZONES 4u
#define SIZE (REC * ZONES)
#define CAP (REC - 12u)
#define SIG 0x43474244u

#define HDR_D "====1764620000.123456-D\n"
#define HDR_C "====1764620000.123456-C\n"
#define LOG                                                                    \
  "<6>[    7.100000] sysrq: Trigger a crash\n"                                 \
  "<0>[    7.100100] Kernel panic - not syncing: sysrq triggered crash\n"      \
  "<4>[    7.100200] CPU: 0 PID: 60 Comm: sh Not tainted 6.1.0-57-arm64\n"     \
  "<4>[    7.100300] Call trace:\n"
#define REASON "Kernel panic - not syncing: sysrq triggered crash"

static uint8_t region[SIZE];

/* Writes one zone: header fields as given, then len bytes of text laid out
 * in the ring so that reading from start gives text. */
static void put_zone(unsigned z, uint32_t sig, uint32_t start, uint32_t size,
                     const void *text, size_t len) {
  uint8_t *p = region + z * REC;
  vmk_put_le32(p, sig);
  vmk_put_le32(p + 4, start);
  vmk_put_le32(p + 8, size);
  const uint8_t *t = text;
  for (size_t i = 0; i < len && len <= CAP; i++)
    p[12 + (start + i) % len] = t[i];
}

static void put_text(unsigned z, const char *s) {
  put_zone(z, SIG, 0, (uint32_t)strlen(s), s, strlen(s));
}

static bool find(struct vmk_panic_log *pl) {
  memset(pl, 0x5a, sizeof(*pl));
  return vmk_panic_log_find(region, SIZE, REC, pl);
}

static int reset(void **state) {
  (void)state;
  memset(region, 0, sizeof(region));
  return 0;
}

static void test_plain_panic(void **state) {
  (void)state;
  struct vmk_panic_log pl;
  assert_false(find(&pl)); /* all zero: nothing */
  put_text(2, HDR_D "Panic#1 Part1\n" LOG);
  assert_true(find(&pl));
  assert_string_equal(pl.reason, REASON);
}

static void test_ring_wrapped(void **state) {
  (void)state;
  const char *s = HDR_D "Panic#3 Part1\n" LOG;
  put_zone(0, SIG, 17, (uint32_t)strlen(s), s, strlen(s));
  struct vmk_panic_log pl;
  assert_true(find(&pl));
  assert_string_equal(pl.reason, REASON);
}

static void test_not_panics(void **state) {
  (void)state;
  struct vmk_panic_log pl;
  put_text(0, HDR_D "Oops#1 Part1\n" LOG);
  put_text(1, HDR_D "Shutdown#1 Part1\n<6>[ 9.0] reboot: Power down\n");
  put_text(2, HDR_D "Panic#x Part1\n" LOG);             /* no count */
  put_text(3, "====1764620000-D\nPanic#1 Part1\n" LOG); /* no usec */
  assert_false(find(&pl));
  /* header kinds other than C and D, and none (old kernels write none) */
  put_text(0, "====1.5-X\nPanic#1 Part1\n" LOG);
  assert_false(find(&pl));
  put_text(0, "====1.5\nPanic#1 Part1\n" LOG);
  assert_true(find(&pl));
}

static void test_panic_without_line(void **state) {
  (void)state;
  /* A panic log whose tail lost the panic line: still a panic. */
  put_text(1, HDR_D "Panic#1 Part1\n<4>[ 7.1] Call trace:\n");
  struct vmk_panic_log pl;
  assert_true(find(&pl));
  assert_string_equal(pl.reason, "");
}

static void test_truncated(void **state) {
  (void)state;
  const char *full = HDR_D "Panic#1 Part1\n" LOG;
  struct vmk_panic_log pl;
  /* cut inside ramoops' header, inside "Panic#", inside the panic line */
  size_t cuts[] = {3, 10, strlen(HDR_D), strlen(HDR_D) + 4};
  for (unsigned i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
    reset(NULL);
    put_zone(0, SIG, 0, (uint32_t)cuts[i], full, cuts[i]);
    assert_false(find(&pl));
  }
  reset(NULL);
  const char *cut = strstr(full, "sysrq triggered") + 5;
  put_zone(0, SIG, 0, (uint32_t)(cut - full), full, (size_t)(cut - full));
  assert_true(find(&pl));
  assert_string_equal(pl.reason, "Kernel panic - not syncing: sysrq");
}

static void test_lying_sizes(void **state) {
  (void)state;
  const char *s = HDR_D "Panic#1 Part1\n" LOG;
  uint32_t n = (uint32_t)strlen(s);
  struct vmk_panic_log pl;
  put_text(3, s);
  uint8_t *z = region + 3 * REC;
  uint32_t bad_sizes[] = {CAP + 1, 0xffffffffu, 0x80000000u};
  for (unsigned i = 0; i < 3; i++) {
    vmk_put_le32(z + 8, bad_sizes[i]);
    assert_false(find(&pl));
  }
  vmk_put_le32(z + 8, n);
  uint32_t bad_starts[] = {n + 1, 0xffffffffu, CAP};
  for (unsigned i = 0; i < 3; i++) {
    vmk_put_le32(z + 4, bad_starts[i]);
    assert_false(find(&pl));
  }
  /* size = the whole zone and start = size are valid ring states: the
   * copy must stay inside the zone (ASan checks). */
  memset(z + 12, 'A', CAP);
  memcpy(z + 12, s, n);
  vmk_put_le32(z + 4, 0);
  vmk_put_le32(z + 8, CAP);
  assert_true(find(&pl));
  vmk_put_le32(z + 4, CAP);
  assert_true(find(&pl));
  /* the last zone alone, in a region cut short of a whole record: the
   * partial zone is not read */
  assert_false(vmk_panic_log_find(region, 3 * REC + REC - 1, REC, &pl));
}

static void test_no_signature(void **state) {
  (void)state;
  const char *s = HDR_D "Panic#1 Part1\n" LOG;
  struct vmk_panic_log pl;
  put_zone(0, 0, 0, (uint32_t)strlen(s), s, strlen(s));
  put_zone(1, SIG ^ 1, 0, (uint32_t)strlen(s), s, strlen(s));
  put_zone(2, SIG ^ 0x12345678, 0, (uint32_t)strlen(s), s, strlen(s));
  assert_false(find(&pl));
  /* a record not at a zone's start is not one */
  memcpy(region + 3 * REC + 100, region, 12 + strlen(s));
  assert_false(find(&pl));
}

static void test_bad_parameters(void **state) {
  (void)state;
  put_text(0, HDR_D "Panic#1 Part1\n" LOG);
  struct vmk_panic_log pl;
  assert_false(vmk_panic_log_find(NULL, SIZE, REC, &pl));
  assert_false(vmk_panic_log_find(region, SIZE, 0, &pl));
  assert_false(vmk_panic_log_find(region, SIZE, 12, &pl));
  assert_false(vmk_panic_log_find(region, REC - 1, REC, &pl));
  assert_true(vmk_panic_log_find(region, REC, REC, &pl));
}

static void test_garbage(void **state) {
  (void)state;
  struct vmk_panic_log pl;
  uint32_t x = 12345;
  for (unsigned round = 0; round < 2000; round++) {
    for (size_t i = 0; i < SIZE; i++) {
      x = x * 1103515245u + 12345u;
      region[i] = (uint8_t)(x >> 16);
    }
    /* valid-looking headers over random text, random start/size too */
    for (unsigned z = 0; z < ZONES; z++) {
      x = x * 1103515245u + 12345u;
      vmk_put_le32(region + z * REC, SIG);
      if (round & 1) {
        uint32_t size = (x >> 8) % (CAP + 1);
        vmk_put_le32(region + z * REC + 8, size);
        vmk_put_le32(region + z * REC + 4, size ? (x >> 3) % size : 0);
      }
    }
    assert_false(find(&pl));
  }
  /* random bytes after a valid "-C" header: inflate fails or yields junk */
  for (unsigned z = 0; z < ZONES; z++) {
    memcpy(region + z * REC + 12, HDR_C, strlen(HDR_C));
    vmk_put_le32(region + z * REC + 4, 0);
    vmk_put_le32(region + z * REC + 8, CAP);
  }
  assert_false(find(&pl));
}

/* pstore's crypto "deflate": a raw deflate stream. */
static size_t deflate_raw(const char *in, uint8_t *out, size_t cap) {
  z_stream z;
  memset(&z, 0, sizeof(z));
  assert_int_equal(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS,
                                8, Z_DEFAULT_STRATEGY),
                   Z_OK);
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)strlen(in);
  z.next_out = out;
  z.avail_out = (uInt)cap;
  assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
  size_t n = cap - z.avail_out;
  deflateEnd(&z);
  return n;
}

static void test_compressed(void **state) {
  (void)state;
  uint8_t rec[CAP];
  size_t h = strlen(HDR_C);
  memcpy(rec, HDR_C, h);
  size_t n = deflate_raw("Panic#1 Part1\n" LOG, rec + h, sizeof(rec) - h);
  put_zone(1, SIG, 0, (uint32_t)(h + n), rec, h + n);
  struct vmk_panic_log pl;
  assert_true(find(&pl));
  assert_string_equal(pl.reason, REASON);
  /* cut short: what inflates still shows the panic */
  reset(NULL);
  put_zone(1, SIG, 0, (uint32_t)(h + n / 2), rec, h + n / 2);
  assert_true(find(&pl));
  /* an oops, deflated, is not a panic */
  reset(NULL);
  n = deflate_raw("Oops#1 Part1\n" LOG, rec + h, sizeof(rec) - h);
  put_zone(1, SIG, 0, (uint32_t)(h + n), rec, h + n);
  assert_false(find(&pl));
}

static void test_reason_sanitized(void **state) {
  (void)state;
  char s[3000];
  struct vmk_panic_log pl;
  /* control bytes, escapes, non-ASCII; the last panic line wins */
  snprintf(s, sizeof(s),
           HDR_D "Panic#1 Part1\n" LOG
                 "<0>[ 8.0] Kernel panic - not syncing: a\tb\x1b[31mred\xff"
                 "\r\x01 \n");
  put_text(0, s);
  assert_true(find(&pl));
  assert_string_equal(pl.reason, "Kernel panic - not syncing: a b?[31mred???");
  /* a very long line is cut, NUL-terminated */
  int k = snprintf(s, sizeof(s), HDR_D "Panic#1 Part1\n" REASON);
  memset(s + k, 'x', 2000);
  s[k + 2000] = '\0';
  put_text(0, s);
  assert_true(find(&pl));
  assert_int_equal(strlen(pl.reason), VMK_PANIC_REASON_MAX - 1);
  assert_memory_equal(pl.reason, REASON, strlen(REASON));
  for (size_t i = 0; i < strlen(pl.reason); i++)
    assert_true(pl.reason[i] >= 0x20 && pl.reason[i] < 0x7f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_plain_panic, reset),
      cmocka_unit_test_setup(test_ring_wrapped, reset),
      cmocka_unit_test_setup(test_not_panics, reset),
      cmocka_unit_test_setup(test_panic_without_line, reset),
      cmocka_unit_test_setup(test_truncated, reset),
      cmocka_unit_test_setup(test_lying_sizes, reset),
      cmocka_unit_test_setup(test_no_signature, reset),
      cmocka_unit_test_setup(test_bad_parameters, reset),
      cmocka_unit_test_setup(test_garbage, reset),
      cmocka_unit_test_setup(test_compressed, reset),
      cmocka_unit_test_setup(test_reason_sanitized, reset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
