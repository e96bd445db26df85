/* test_blk.c — virtio-blk requests against a temporary image file, checking
 * the file's bytes: read, write, flush (fdatasync before the used entry),
 * discard, write-zeroes, get-id, out-of-range, read-only attach, image
 * locking and malformed requests. Test thread only. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/le.h"
#include "vdrv.h"
#include "virtio/blk.h"

#define F_V1 VMK_VIRTIO_BIT(VMK_VIRTIO_F_VERSION_1)
#define F_ALL (~0ull)
#define IMG_SIZE (1u << 20)
#define SECTORS (IMG_SIZE / 512)

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WRITE_ZEROES 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2

struct fx {
  struct vdrv d;
  char path[64];
  int fd; /* our own view of the image */
  unsigned syncs;
  bool sync_saw_used; /* the used entry existed when fdatasync returned */
};

static uint8_t pattern(size_t i) { return (uint8_t)(i * 7 + 3); }

static void make_image(struct fx *f) {
  snprintf(f->path, sizeof(f->path), "/tmp/vmk-blk-test-XXXXXX");
  f->fd = mkstemp(f->path);
  assert_true(f->fd >= 0);
  uint8_t *buf = malloc(IMG_SIZE);
  for (size_t i = 0; i < IMG_SIZE; i++)
    buf[i] = pattern(i);
  assert_int_equal(pwrite(f->fd, buf, IMG_SIZE, 0), IMG_SIZE);
  free(buf);
}

static int open_blk(struct fx *f, bool ro, uint64_t features) {
  struct vmk_virtio_device *dev;
  vmk_error err;
  int r = vmk_virtio_blk_create(f->path, ro, &dev, &err);
  if (r)
    fail_msg("%s", err.msg);
  vdrv_open(&f->d, dev);
  uint32_t s = vdrv_setup(&f->d, features, VDRV_QSIZE);
  assert_true(s & VMK_VIRTIO_S_DRIVER_OK);
  return 0;
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  make_image(f);
  open_blk(f, false, F_ALL);
  *state = f;
  return 0;
}

static int setup_ro(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  make_image(f);
  open_blk(f, true, F_ALL);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  vdrv_close(&f->d);
  close(f->fd);
  unlink(f->path);
  free(f);
  return 0;
}

/* Submits header + data (out: driver->device, in: device->driver) +
 * status; returns the status byte and stores the used length. */
static uint8_t request(struct fx *f, uint32_t type, uint64_t sector,
                       const void *out, uint32_t out_len, void *in,
                       uint32_t in_len, uint32_t *used_len) {
  struct vdrv *d = &f->d;
  uint64_t hdr = vdrv_alloc(d, 16);
  uint8_t *h = vdrv_ptr(d, hdr);
  vmk_put_le32(h, type);
  vmk_put_le32(h + 4, 0);
  vmk_put_le64(h + 8, sector);
  struct vdrv_seg segs[3];
  unsigned n = 0;
  segs[n++] = (struct vdrv_seg){hdr, 16, false};
  uint64_t data = 0;
  if (out_len) {
    data = vdrv_alloc(d, out_len);
    memcpy(vdrv_ptr(d, data), out, out_len);
    segs[n++] = (struct vdrv_seg){data, out_len, false};
  } else if (in_len) {
    data = vdrv_alloc(d, in_len);
    memset(vdrv_ptr(d, data), 0xee, in_len);
    segs[n++] = (struct vdrv_seg){data, in_len, true};
  }
  uint64_t st = vdrv_alloc(d, 1);
  *(uint8_t *)vdrv_ptr(d, st) = 0xff;
  segs[n++] = (struct vdrv_seg){st, 1, true};
  uint16_t head = vdrv_chain(d, 0, segs, n);
  vdrv_kick(d, 0);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, 0, &id, &len));
  assert_int_equal(id, head);
  if (used_len)
    *used_len = len;
  if (in_len)
    memcpy(in, vdrv_ptr(d, data), in_len);
  return *(uint8_t *)vdrv_ptr(d, st);
}

static void file_read(struct fx *f, uint64_t off, void *buf, size_t len) {
  assert_int_equal(pread(f->fd, buf, len, (off_t)off), (ssize_t)len);
}

static void assert_file_is_pattern(struct fx *f, uint64_t off, size_t len) {
  uint8_t *buf = malloc(len);
  file_read(f, off, buf, len);
  for (size_t i = 0; i < len; i++)
    if (buf[i] != pattern(off + i))
      fail_msg("file byte %zu changed", (size_t)(off + i));
  free(buf);
}

static void assert_file_zero(struct fx *f, uint64_t off, size_t len) {
  uint8_t *buf = malloc(len);
  file_read(f, off, buf, len);
  for (size_t i = 0; i < len; i++)
    if (buf[i])
      fail_msg("file byte %zu is not zero", (size_t)(off + i));
  free(buf);
}

static void test_config(void **state) {
  struct fx *f = *state;
  uint64_t cap = vmk_virtio_mmio_ops.read(f->d.t, 0x100, 8);
  assert_int_equal(cap, SECTORS);
  assert_int_equal(vdrv_read(&f->d, 0x100), SECTORS);
  assert_int_equal(vdrv_read(&f->d, 0x104), 0);
  assert_int_equal(vdrv_read(&f->d, VMK_VIRTIO_MMIO_DEVICE_ID), 2);
}

static void test_read(void **state) {
  struct fx *f = *state;
  uint8_t buf[1024];
  uint32_t used;
  assert_int_equal(request(f, T_IN, 2, NULL, 0, buf, sizeof(buf), &used), S_OK);
  assert_int_equal(used, 1025);
  for (size_t i = 0; i < sizeof(buf); i++)
    assert_int_equal(buf[i], pattern(1024 + i));
}

static void test_read_last_sector(void **state) {
  struct fx *f = *state;
  uint8_t buf[512];
  assert_int_equal(request(f, T_IN, SECTORS - 1, NULL, 0, buf, 512, NULL),
                   S_OK);
  assert_int_equal(buf[511], pattern(IMG_SIZE - 1));
}

static void test_write(void **state) {
  struct fx *f = *state;
  uint8_t buf[1536];
  memset(buf, 0x5a, sizeof(buf));
  uint32_t used;
  assert_int_equal(request(f, T_OUT, 5, buf, sizeof(buf), NULL, 0, &used),
                   S_OK);
  assert_int_equal(used, 1);
  uint8_t got[1536];
  file_read(f, 5 * 512, got, sizeof(got));
  assert_memory_equal(got, buf, sizeof(buf));
  assert_file_is_pattern(f, 0, 5 * 512);
  assert_file_is_pattern(f, 8 * 512, 4096);
}

static void test_header_split(void **state) {
  struct fx *f = *state;
  struct vdrv *d = &f->d;
  /* Header in two descriptors (8 + 8 bytes), data in two, then status. */
  uint64_t h = vdrv_alloc(d, 16), data = vdrv_alloc(d, 1024),
           st = vdrv_alloc(d, 1);
  vmk_put_le32(vdrv_ptr(d, h), T_IN);
  vmk_put_le64(vdrv_ptr(d, h + 8), 3);
  struct vdrv_seg segs[] = {{h, 8, false},
                            {h + 8, 8, false},
                            {data, 100, true},
                            {data + 100, 924, true},
                            {st, 1, true}};
  vdrv_chain(d, 0, segs, 5);
  vdrv_kick(d, 0);
  assert_int_equal(*(uint8_t *)vdrv_ptr(d, st), S_OK);
  uint8_t *got = vdrv_ptr(d, data);
  for (size_t i = 0; i < 1024; i++)
    assert_int_equal(got[i], pattern(3 * 512 + i));
}

static void test_out_of_range(void **state) {
  struct fx *f = *state;
  uint8_t buf[1024];
  memset(buf, 0, sizeof(buf));
  /* Starts inside, ends outside. */
  assert_int_equal(request(f, T_IN, SECTORS - 1, NULL, 0, buf, 1024, NULL),
                   S_IOERR);
  assert_int_equal(request(f, T_OUT, SECTORS - 1, buf, 1024, NULL, 0, NULL),
                   S_IOERR);
  /* Sector numbers that overflow when turned into bytes. */
  assert_int_equal(
      request(f, T_OUT, 0xffffffffffffffffull, buf, 512, NULL, 0, NULL),
      S_IOERR);
  assert_int_equal(
      request(f, T_IN, 0x0080000000000000ull, NULL, 0, buf, 512, NULL),
      S_IOERR);
  assert_file_is_pattern(f, 0, IMG_SIZE);
  assert_false(vdrv_needs_reset(&f->d));
}

static void test_unaligned_length(void **state) {
  struct fx *f = *state;
  uint8_t buf[100] = {0};
  assert_int_equal(request(f, T_OUT, 0, buf, sizeof(buf), NULL, 0, NULL),
                   S_IOERR);
  assert_file_is_pattern(f, 0, 4096);
}

static void on_sync(void *opaque) {
  struct fx *f = opaque;
  f->syncs++;
  /* The used entry of the flush must not exist yet. */
  if (vdrv_used_idx(&f->d, 0) != f->d.q[0].used_seen)
    f->sync_saw_used = true;
}

static void test_flush_syncs_before_ack(void **state) {
  struct fx *f = *state;
  vmk_virtio_blk_set_sync_hook(vmk_virtio_mmio_device(f->d.t), on_sync, f);
  uint8_t buf[512];
  memset(buf, 0x11, sizeof(buf));
  assert_int_equal(request(f, T_OUT, 0, buf, 512, NULL, 0, NULL), S_OK);
  assert_int_equal(f->syncs, 0);
  assert_int_equal(request(f, T_FLUSH, 0, NULL, 0, NULL, 0, NULL), S_OK);
  assert_int_equal(f->syncs, 1);
  assert_false(f->sync_saw_used);
}

static void test_write_through_without_flush_feature(void **state) {
  struct fx *f = *state;
  vdrv_close(&f->d);
  open_blk(f, false, F_V1); /* no VIRTIO_BLK_F_FLUSH */
  vmk_virtio_blk_set_sync_hook(vmk_virtio_mmio_device(f->d.t), on_sync, f);
  uint8_t buf[512] = {0};
  assert_int_equal(request(f, T_OUT, 0, buf, 512, NULL, 0, NULL), S_OK);
  assert_int_equal(f->syncs, 1);
  assert_false(f->sync_saw_used);
}

static void range(uint8_t *seg, uint64_t sector, uint32_t n, uint32_t flags) {
  vmk_put_le64(seg, sector);
  vmk_put_le32(seg + 8, n);
  vmk_put_le32(seg + 12, flags);
}

static void test_discard(void **state) {
  struct fx *f = *state;
  struct stat before, after;
  fstat(f->fd, &before);
  uint8_t seg[32];
  range(seg, 8, 16, 0);      /* 4 KiB .. 12 KiB */
  range(seg + 16, 64, 8, 0); /* 32 KiB .. 36 KiB */
  assert_int_equal(request(f, T_DISCARD, 0, seg, 32, NULL, 0, NULL), S_OK);
  assert_file_zero(f, 4096, 8192);
  assert_file_zero(f, 32768, 4096);
  assert_file_is_pattern(f, 0, 4096);
  assert_file_is_pattern(f, 12288, 32768 - 12288);
  assert_file_is_pattern(f, 36864, 4096);
  fstat(f->fd, &after);
  assert_true(after.st_blocks < before.st_blocks); /* really sparse */
  assert_int_equal(after.st_size, IMG_SIZE);
}

static void test_discard_unmap_flag_unsupp(void **state) {
  struct fx *f = *state;
  uint8_t seg[16];
  range(seg, 8, 8, 1);
  assert_int_equal(request(f, T_DISCARD, 0, seg, 16, NULL, 0, NULL), S_UNSUPP);
  assert_file_is_pattern(f, 0, 16384);
}

static void test_discard_out_of_range(void **state) {
  struct fx *f = *state;
  uint8_t seg[32];
  range(seg, 0, 8, 0);                /* fine */
  range(seg + 16, SECTORS - 4, 8, 0); /* crosses the end */
  assert_int_equal(request(f, T_DISCARD, 0, seg, 32, NULL, 0, NULL), S_IOERR);
  assert_file_is_pattern(f, 0, IMG_SIZE); /* nothing applied */
}

static void test_write_zeroes(void **state) {
  struct fx *f = *state;
  uint8_t seg[32];
  range(seg, 3, 5, 0);        /* unaligned to 4 KiB: ZERO_RANGE */
  range(seg + 16, 16, 16, 1); /* may unmap */
  assert_int_equal(request(f, T_WRITE_ZEROES, 0, seg, 32, NULL, 0, NULL), S_OK);
  assert_file_is_pattern(f, 0, 3 * 512);
  assert_file_zero(f, 3 * 512, 5 * 512);
  assert_file_is_pattern(f, 8 * 512, 8 * 512);
  assert_file_zero(f, 16 * 512, 16 * 512);
  assert_file_is_pattern(f, 32 * 512, 4096);
}

static void test_write_zeroes_bad_flags(void **state) {
  struct fx *f = *state;
  uint8_t seg[16];
  range(seg, 0, 8, 2);
  assert_int_equal(request(f, T_WRITE_ZEROES, 0, seg, 16, NULL, 0, NULL),
                   S_UNSUPP);
  range(seg, 0, 8, 0);
  assert_int_equal(request(f, T_WRITE_ZEROES, 0, seg, 15, NULL, 0, NULL),
                   S_IOERR);
  assert_file_is_pattern(f, 0, 8192);
}

/* Several requests in one kick, write data spread over descriptors. */
static void test_batch_and_scattered_write(void **state) {
  struct fx *f = *state;
  struct vdrv *d = &f->d;
  uint64_t st[3];
  for (int r = 0; r < 3; r++) {
    uint64_t h = vdrv_alloc(d, 16), data = vdrv_alloc(d, 1024);
    st[r] = vdrv_alloc(d, 1);
    vmk_put_le32(vdrv_ptr(d, h), T_OUT);
    vmk_put_le64(vdrv_ptr(d, h + 8), 10 + 2 * (uint64_t)r);
    memset(vdrv_ptr(d, data), 'A' + r, 1024);
    struct vdrv_seg segs[] = {{h, 16, false},
                              {data, 3, false},
                              {data + 3, 509, false},
                              {data + 512, 512, false},
                              {st[r], 1, true}};
    vdrv_chain(d, 0, segs, 5);
  }
  vdrv_kick(d, 0);
  assert_int_equal(vdrv_used_idx(d, 0), 3);
  for (int r = 0; r < 3; r++) {
    assert_int_equal(*(uint8_t *)vdrv_ptr(d, st[r]), S_OK);
    uint8_t got[1024], want[1024];
    memset(want, 'A' + r, sizeof(want));
    file_read(f, (10 + 2 * (uint64_t)r) * 512, got, sizeof(got));
    assert_memory_equal(got, want, sizeof(got));
  }
  assert_file_is_pattern(f, 0, 10 * 512);
  assert_file_is_pattern(f, 16 * 512, 4096);
}

/* A shmem file (memfd) has no FALLOC_FL_ZERO_RANGE: write-zeroes without
 * unmap must fall back to writing zeroes. */
static void test_write_zeroes_fallback(void **state) {
  (void)state;
  struct fx f = {0};
  f.fd = memfd_create("vmk-blk-test", MFD_CLOEXEC);
  assert_true(f.fd >= 0);
  uint8_t *buf = malloc(IMG_SIZE);
  for (size_t i = 0; i < IMG_SIZE; i++)
    buf[i] = pattern(i);
  assert_int_equal(pwrite(f.fd, buf, IMG_SIZE, 0), IMG_SIZE);
  free(buf);
  snprintf(f.path, sizeof(f.path), "/proc/self/fd/%d", f.fd);
  open_blk(&f, false, F_ALL);
  uint8_t seg[16];
  range(seg, 1, 3, 0);
  assert_int_equal(request(&f, T_WRITE_ZEROES, 0, seg, 16, NULL, 0, NULL),
                   S_OK);
  assert_file_is_pattern(&f, 0, 512);
  assert_file_zero(&f, 512, 3 * 512);
  assert_file_is_pattern(&f, 4 * 512, 4096);
  vdrv_close(&f.d);
  close(f.fd);
}

static void test_get_id(void **state) {
  struct fx *f = *state;
  char id[20];
  uint32_t used;
  assert_int_equal(request(f, T_GET_ID, 0, NULL, 0, id, 20, &used), S_OK);
  assert_int_equal(used, 21);
  struct stat st;
  fstat(f->fd, &st);
  char want[64];
  snprintf(want, sizeof(want), "%.11s-%08llx", strrchr(f->path, '/') + 1,
           (unsigned long long)st.st_ino & 0xffffffffull);
  assert_memory_equal(id, want, 20);
}

static void test_unknown_type(void **state) {
  struct fx *f = *state;
  assert_int_equal(request(f, 77, 0, NULL, 0, NULL, 0, NULL), S_UNSUPP);
  assert_false(vdrv_needs_reset(&f->d));
}

static void test_no_status_byte(void **state) {
  struct fx *f = *state;
  struct vdrv *d = &f->d;
  uint64_t h = vdrv_alloc(d, 16);
  vmk_put_le32(vdrv_ptr(d, h), T_IN);
  struct vdrv_seg seg = {h, 16, false};
  vdrv_chain(d, 0, &seg, 1);
  vdrv_kick(d, 0);
  assert_true(vdrv_needs_reset(d));
  assert_int_equal(vdrv_used_idx(d, 0), 0);
}

static void test_short_header(void **state) {
  struct fx *f = *state;
  struct vdrv *d = &f->d;
  uint64_t h = vdrv_alloc(d, 16);
  struct vdrv_seg segs[] = {{h, 8, false}, {h + 8, 1, true}};
  vdrv_chain(d, 0, segs, 2);
  vdrv_kick(d, 0);
  assert_true(vdrv_needs_reset(d));
}

static void test_ro_features(void **state) {
  struct fx *f = *state;
  vdrv_write(&f->d, VMK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
  uint32_t feat = vdrv_read(&f->d, VMK_VIRTIO_MMIO_DEVICE_FEATURES);
  assert_true(feat & (1u << 5));   /* RO */
  assert_false(feat & (1u << 13)); /* no DISCARD */
  assert_false(feat & (1u << 14)); /* no WRITE_ZEROES */
}

static void test_ro_write_fails(void **state) {
  struct fx *f = *state;
  uint8_t buf[512] = {0};
  assert_int_equal(request(f, T_OUT, 0, buf, 512, NULL, 0, NULL), S_IOERR);
  uint8_t seg[16];
  range(seg, 0, 8, 0);
  assert_int_equal(request(f, T_DISCARD, 0, seg, 16, NULL, 0, NULL), S_UNSUPP);
  assert_int_equal(request(f, T_WRITE_ZEROES, 0, seg, 16, NULL, 0, NULL),
                   S_UNSUPP);
  assert_file_is_pattern(f, 0, IMG_SIZE);
  uint8_t in[512];
  assert_int_equal(request(f, T_IN, 1, NULL, 0, in, 512, NULL), S_OK);
  assert_int_equal(in[0], pattern(512));
  assert_int_equal(request(f, T_FLUSH, 0, NULL, 0, NULL, 0, NULL), S_OK);
}

static void test_lock(void **state) {
  struct fx *f = *state; /* holds the image read-write */
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(vmk_virtio_blk_create(f->path, false, &dev, &err), -EBUSY);
  assert_non_null(strstr(err.msg, "locked"));
  assert_int_equal(vmk_virtio_blk_create(f->path, true, &dev, &err), -EBUSY);
}

static void test_lock_shared_ro(void **state) {
  struct fx *f = *state; /* holds the image read-only */
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(vmk_virtio_blk_create(f->path, true, &dev, &err), 0);
  vmk_virtio_device_free(dev);
  assert_int_equal(vmk_virtio_blk_create(f->path, false, &dev, &err), -EBUSY);
}

static void test_missing_file(void **state) {
  (void)state;
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(
      vmk_virtio_blk_create("/nonexistent/disk.img", false, &dev, &err),
      -ENOENT);
  assert_non_null(strstr(err.msg, "/nonexistent/disk.img"));
  assert_int_equal(vmk_virtio_blk_create("/tmp", false, &dev, &err) < 0, 1);
  /* A FIFO is refused at once; open(2) used to wait for a writer (the
   * alarm ends the test if it does). */
  char fifo[] = "/tmp/vmkit-test-blk-fifo-XXXXXX";
  int t = mkstemp(fifo);
  assert_true(t >= 0);
  close(t);
  unlink(fifo);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  alarm(10);
  assert_int_equal(vmk_virtio_blk_create(fifo, false, &dev, &err), -EINVAL);
  assert_int_equal(vmk_virtio_blk_create(fifo, true, &dev, &err), -EINVAL);
  alarm(0);
  assert_non_null(strstr(err.msg, "not a regular file or block device"));
  unlink(fifo);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define RO(fn) cmocka_unit_test_setup_teardown(fn, setup_ro, teardown)
      T(test_config),
      T(test_read),
      T(test_read_last_sector),
      T(test_write),
      T(test_header_split),
      T(test_out_of_range),
      T(test_unaligned_length),
      T(test_flush_syncs_before_ack),
      T(test_write_through_without_flush_feature),
      T(test_discard),
      T(test_discard_unmap_flag_unsupp),
      T(test_discard_out_of_range),
      T(test_write_zeroes),
      T(test_write_zeroes_bad_flags),
      T(test_batch_and_scattered_write),
      cmocka_unit_test(test_write_zeroes_fallback),
      T(test_get_id),
      T(test_unknown_type),
      T(test_no_status_byte),
      T(test_short_header),
      T(test_lock),
      RO(test_ro_features),
      RO(test_ro_write_fails),
      RO(test_lock_shared_ro),
      cmocka_unit_test(test_missing_file),
#undef T
#undef RO
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
