/* test_loader.c — the Linux arm64 Image/initrd loader against fake Images
 * (a valid 64-byte header and a payload; no real kernel needed): placement
 * and the error sentences for every kind of wrong file. Single-threaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/le.h"
#include "machine/loader.h"
#include "machine/memmap.h"

#include "../offset_words.h"

#define MIB (1ull << 20)

struct fx {
  char dir[64];
  char kernel[128], initrd[128];
  struct vmk_guest_mem gm;
};

static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (len)
    assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
}

/* A fake Image: header + payload bytes (i * 7 + 1), file_size bytes. */
static void make_image(const char *path, uint64_t text_offset,
                       uint64_t image_size, uint64_t flags, size_t file_size) {
  uint8_t *b = calloc(1, file_size);
  assert_non_null(b);
  for (size_t i = 64; i < file_size; i++)
    b[i] = (uint8_t)(i * 7 + 1);
  vmk_put_le32(b, 0x91005a4d); /* code0: "MZ" + branch, like real Images */
  vmk_put_le64(b + 8, text_offset);
  vmk_put_le64(b + 16, image_size);
  vmk_put_le64(b + 24, flags);
  memcpy(b + 56, "ARM\x64", 4);
  write_file(path, b, file_size);
  free(b);
}

static void set_ram(struct fx *f, uint64_t size) {
  free(f->gm.host);
  f->gm.base = VMK_RAM_BASE;
  f->gm.size = size;
  f->gm.host = malloc(size);
  assert_non_null(f->gm.host);
  memset(f->gm.host, 0xAA, size);
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  strcpy(f->dir, "/tmp/vmk-loader-XXXXXX");
  if (!mkdtemp(f->dir))
    return -1;
  snprintf(f->kernel, sizeof(f->kernel), "%s/Image", f->dir);
  snprintf(f->initrd, sizeof(f->initrd), "%s/initrd", f->dir);
  set_ram(f, 64 * MIB);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  unlink(f->kernel);
  unlink(f->initrd);
  rmdir(f->dir);
  free(f->gm.host);
  free(f);
  return 0;
}

static uint8_t *gpa(struct fx *f, uint64_t a) {
  return f->gm.host + (a - f->gm.base);
}

static void check_layout(struct fx *f, const struct vmk_boot_layout *l) {
  uint64_t end = f->gm.base + f->gm.size;
  assert_true(l->kernel_gpa >= f->gm.base);
  assert_int_equal(l->entry, l->kernel_gpa);
  assert_true(l->kernel_gpa + l->kernel_size <= end);
  assert_int_equal(l->fdt_gpa % 8, 0);
  assert_true(l->fdt_max >= 64 * 1024);
  assert_true(l->fdt_gpa >= f->gm.base);
  assert_true(l->fdt_gpa + l->fdt_max <= end);
  /* nothing overlaps the kernel (with its BSS) */
  assert_true(l->fdt_gpa >= l->kernel_gpa + l->kernel_size ||
              l->fdt_gpa + l->fdt_max <= l->kernel_gpa);
  /* the panic log: inside RAM, below the device tree's 2 MiB block (not
   * sharing it), above kernel and initrd, and zeroed (RAM was 0xAA) */
  assert_int_equal(l->ramoops_size, VMK_RAMOOPS_SIZE);
  assert_true(l->ramoops_gpa >= l->kernel_gpa + l->kernel_size);
  assert_true(l->ramoops_gpa + l->ramoops_size <=
              (l->fdt_gpa & ~(VMK_KERNEL_ALIGN - 1)));
  assert_true(l->ramoops_gpa >= l->initrd_gpa + l->initrd_size);
  const uint8_t *log = gpa(f, l->ramoops_gpa);
  for (uint64_t i = 0; i < l->ramoops_size; i++)
    if (log[i])
      fail_msg("panic log byte %" PRIu64 " is 0x%x, not 0", i, log[i]);
  if (l->initrd_size) {
    assert_true(l->initrd_gpa >= l->kernel_gpa + l->kernel_size);
    assert_true(l->initrd_gpa + l->initrd_size <= end);
    assert_true(l->fdt_gpa >= l->initrd_gpa + l->initrd_size ||
                l->fdt_gpa + l->fdt_max <= l->initrd_gpa);
  }
}

static void test_place_kernel_and_initrd(void **state) {
  struct fx *f = *state;
  const size_t ksize = 3 * MIB + 123;
  make_image(f->kernel, 0, 5 * MIB, 0xa, ksize);
  uint8_t *ird = malloc(MIB + 5);
  for (size_t i = 0; i < MIB + 5; i++)
    ird[i] = (uint8_t)(i ^ 0x5c);
  write_file(f->initrd, ird, MIB + 5);

  struct vmk_boot_layout l;
  vmk_error err = {0};
  int rc = vmk_load_linux(&f->gm, f->kernel, f->initrd, &l, &err);
  if (rc)
    fail_msg("%s", err.msg);
  check_layout(f, &l);
  assert_int_equal(l.kernel_gpa, VMK_RAM_BASE); /* text_offset 0 */
  assert_int_equal(l.kernel_gpa % (2 * MIB), 0);
  assert_int_equal(l.kernel_size, 5 * MIB); /* image_size, with BSS */
  assert_int_equal(l.initrd_gpa % (2 * MIB), 0);
  assert_int_equal(l.initrd_size, MIB + 5);

  /* the file's bytes are in guest RAM, the BSS is zeroed */
  uint8_t *k = gpa(f, l.kernel_gpa);
  assert_memory_equal(k + 56, "ARM\x64", 4);
  for (size_t i = 64; i < ksize; i += 4099)
    assert_int_equal(k[i], (uint8_t)(i * 7 + 1));
  assert_int_equal(k[ksize - 1], (uint8_t)((ksize - 1) * 7 + 1));
  for (size_t i = ksize; i < 5 * MIB; i += 4096)
    assert_int_equal(k[i], 0);
  assert_memory_equal(gpa(f, l.initrd_gpa), ird, MIB + 5);
  free(ird);
}

/* Files of many pieces, read at once (base/bulk_read.h): every byte must
 * land at its own place. Each 8-byte word holds its file offset (and a tag
 * per file: offset_words.h), so a piece read to or from the wrong place
 * shows, even one off by a multiple of the piece size. */
static void test_large_files_every_byte(void **state) {
  struct fx *f = *state;
  const size_t ksize = 21 * MIB + 7, isize = 9 * MIB + 3;
  set_ram(f, 128 * MIB);
  uint8_t *k = offset_words(ksize, 0x4b00000000000000ull);
  assert_non_null(k);
  memset(k, 0, 64);
  vmk_put_le64(k + 16, 24 * MIB); /* image_size: 3 MiB of BSS */
  memcpy(k + 56, "ARM\x64", 4);
  write_file(f->kernel, k, ksize);
  uint8_t *ird = offset_words(isize, 0x4900000000000000ull);
  assert_non_null(ird);
  write_file(f->initrd, ird, isize);

  struct vmk_boot_layout l;
  vmk_error err = {0};
  int rc = vmk_load_linux(&f->gm, f->kernel, f->initrd, &l, &err);
  if (rc)
    fail_msg("%s", err.msg);
  check_layout(f, &l);
  assert_memory_equal(gpa(f, l.kernel_gpa), k, ksize);
  for (size_t i = ksize; i < 24 * MIB; i++)
    if (gpa(f, l.kernel_gpa)[i])
      fail_msg("BSS byte %zu is not zero", i);
  assert_int_equal(l.initrd_size, isize);
  assert_memory_equal(gpa(f, l.initrd_gpa), ird, isize);
  free(k);
  free(ird);
}

static void test_text_offset_and_no_initrd(void **state) {
  struct fx *f = *state;
  make_image(f->kernel, 0x80000, 2 * MIB, 0x2, MIB);
  struct vmk_boot_layout l;
  vmk_error err = {0};
  assert_int_equal(vmk_load_linux(&f->gm, f->kernel, NULL, &l, &err), 0);
  check_layout(f, &l);
  assert_int_equal(l.kernel_gpa, VMK_RAM_BASE + 0x80000);
  assert_int_equal((l.kernel_gpa - 0x80000) % (2 * MIB), 0);
  assert_int_equal(l.initrd_gpa, 0);
  assert_int_equal(l.initrd_size, 0);
}

static void test_legacy_image_size_zero(void **state) {
  struct fx *f = *state;
  /* pre-3.17 kernels: image_size 0 means text_offset 0x80000 */
  make_image(f->kernel, 0, 0, 0, MIB / 2);
  struct vmk_boot_layout l;
  vmk_error err = {0};
  assert_int_equal(vmk_load_linux(&f->gm, f->kernel, NULL, &l, &err), 0);
  assert_int_equal(l.kernel_gpa, VMK_RAM_BASE + 0x80000);
  assert_int_equal(l.kernel_size, MIB / 2);
}

static void expect_error(struct fx *f, const char *initrd, int code,
                         const char *needle1, const char *needle2) {
  struct vmk_boot_layout l;
  vmk_error err = {0};
  int rc = vmk_load_linux(&f->gm, f->kernel, initrd, &l, &err);
  if (rc != code)
    fail_msg("rc %d (want %d): %s", rc, code, err.msg);
  assert_int_equal(err.code, code);
  if (!strstr(err.msg, needle1) || (needle2 && !strstr(err.msg, needle2)))
    fail_msg("message lacks '%s'/'%s': %s", needle1, needle2 ? needle2 : "",
             err.msg);
}

static void test_missing_files(void **state) {
  struct fx *f = *state;
  expect_error(f, NULL, -ENOENT, f->kernel, "check the path");
  make_image(f->kernel, 0, MIB, 0, 4096);
  expect_error(f, f->initrd, -ENOENT, f->initrd, "initrd");
  write_file(f->initrd, "", 0);
  expect_error(f, f->initrd, -EINVAL, f->initrd, "empty");
  /* a directory is not a kernel */
  char saved[128];
  strcpy(saved, f->kernel);
  strcpy(f->kernel, f->dir);
  expect_error(f, NULL, -EINVAL, f->dir, "regular file");
  strcpy(f->kernel, saved);
  /* Nor is a FIFO, and open(2) must not wait for its writer (the alarm
   * ends the test if it does, as it did before). */
  char fifo[160];
  snprintf(fifo, sizeof(fifo), "%s/fifo", f->dir);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  alarm(10);
  expect_error(f, fifo, -EINVAL, fifo, "regular file");
  strcpy(f->kernel, fifo);
  expect_error(f, NULL, -EINVAL, fifo, "regular file");
  alarm(0);
  strcpy(f->kernel, saved);
  unlink(fifo);
}

static void test_wrong_formats(void **state) {
  struct fx *f = *state;
  uint8_t b[4096];

  memset(b, 0, sizeof(b));
  b[0] = 0x1f, b[1] = 0x8b, b[2] = 8;
  write_file(f->kernel, b, sizeof(b));
  expect_error(f, NULL, -EINVAL, "gzip", "zcat");

  memset(b, 0, sizeof(b));
  memcpy(b, "\177ELF", 4);
  write_file(f->kernel, b, sizeof(b));
  expect_error(f, NULL, -EINVAL, "ELF", "Image");

  memset(b, 0, sizeof(b));
  memcpy(b, "MZ\0\0zimg", 8);
  write_file(f->kernel, b, sizeof(b));
  expect_error(f, NULL, -EINVAL, "zboot", "Image");

  memset(b, 0, sizeof(b));
  memcpy(b + 0x202, "HdrS", 4);
  write_file(f->kernel, b, sizeof(b));
  expect_error(f, NULL, -EINVAL, "x86", "arm64");

  for (size_t i = 0; i < sizeof(b); i++)
    b[i] = (uint8_t)(i * 13);
  write_file(f->kernel, b, sizeof(b));
  expect_error(f, NULL, -EINVAL, "not a Linux arm64 Image", f->kernel);

  /* truncated: a real header cut short */
  make_image(f->kernel, 0, MIB, 0, 4096);
  FILE *k = fopen(f->kernel, "r+b");
  assert_non_null(k);
  assert_int_equal(ftruncate(fileno(k), 40), 0);
  fclose(k);
  expect_error(f, NULL, -EINVAL, "too short", f->kernel);
  write_file(f->kernel, "", 0);
  expect_error(f, NULL, -EINVAL, "too short", f->kernel);

  /* truncated EFI-stub Image: the PE sections reach past the file end */
  make_image(f->kernel, 0, MIB, 0, 0x4000);
  k = fopen(f->kernel, "r+b");
  uint8_t pe[24 + 40] = {'P', 'E', 0, 0, 0x64, 0xaa, 1, 0};
  vmk_put_le32(pe + 24 + 16, 0x3000); /* SizeOfRawData */
  vmk_put_le32(pe + 24 + 20, 0x1000); /* PointerToRawData: ends at 0x4000 */
  uint8_t off[4];
  vmk_put_le32(off, 0x40);
  fseek(k, 60, SEEK_SET);
  fwrite(off, 1, 4, k);
  fwrite(pe, 1, sizeof(pe), k);
  fclose(k);
  struct vmk_boot_layout l;
  vmk_error err = {0};
  assert_int_equal(vmk_load_linux(&f->gm, f->kernel, NULL, &l, &err), 0);
  assert_int_equal(truncate(f->kernel, 0x3000), 0);
  expect_error(f, NULL, -EINVAL, "truncated", "16384 bytes");
  assert_int_equal(truncate(f->kernel, 0x50), 0); /* inside the PE header */
  expect_error(f, NULL, -EINVAL, "truncated", f->kernel);

  /* big-endian and nonsense text_offset */
  make_image(f->kernel, 0, MIB, 1, 4096);
  expect_error(f, NULL, -EINVAL, "big-endian", f->kernel);
  make_image(f->kernel, 0x12345, MIB, 0, 4096);
  expect_error(f, NULL, -EINVAL, "text_offset", f->kernel);
  make_image(f->kernel, 4 * MIB, MIB, 0, 4096);
  expect_error(f, NULL, -EINVAL, "text_offset", f->kernel);
}

static void test_too_large(void **state) {
  struct fx *f = *state;
  /* image_size (with BSS) beyond RAM: the file itself is small */
  make_image(f->kernel, 0, 100 * MIB, 0, 4096);
  /* the device tree's slot and the panic log below it need 2 MiB more */
  expect_error(f, NULL, -ENOMEM, "at least 104 MiB", "more memory");
  set_ram(f, 102 * MIB);
  expect_error(f, NULL, -ENOMEM, "at least 104 MiB", "more memory");
  set_ram(f, 104 * MIB);
  {
    struct vmk_boot_layout l;
    vmk_error err = {0};
    assert_int_equal(vmk_load_linux(&f->gm, f->kernel, NULL, &l, &err), 0);
    check_layout(f, &l);
  }
  set_ram(f, 64 * MIB);

  /* kernel fits, kernel + initrd + device tree do not */
  make_image(f->kernel, 0, 30 * MIB, 0, 4096);
  uint8_t *ird = calloc(1, 33 * MIB);
  write_file(f->initrd, ird, 33 * MIB);
  free(ird);
  expect_error(f, f->initrd, -ENOMEM, f->initrd, "at least 66 MiB");
  set_ram(f, 66 * MIB);
  struct vmk_boot_layout l;
  vmk_error err = {0};
  assert_int_equal(vmk_load_linux(&f->gm, f->kernel, f->initrd, &l, &err), 0);
  check_layout(f, &l);

  /* RAM too small even for the device tree */
  set_ram(f, MIB);
  make_image(f->kernel, 0, 4096, 0, 4096);
  expect_error(f, NULL, -ENOMEM, "at least 4 MiB", f->kernel);

  /* absurd image_size must not wrap the arithmetic */
  set_ram(f, 64 * MIB);
  make_image(f->kernel, 0, UINT64_MAX - 4096, 0, 4096);
  expect_error(f, NULL, -EFBIG, f->kernel, "larger");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_place_kernel_and_initrd, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_large_files_every_byte, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_text_offset_and_no_initrd, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_legacy_image_size_zero, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_missing_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_formats, setup, teardown),
      cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
