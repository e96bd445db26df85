/* test_fs.c — the virtio-fs device through the virtio-mmio transport: its
 * config space (tag, one request queue), a FUSE INIT and LOOKUP answered on
 * the request queue, a FORGET on the high-priority queue returned with no
 * reply, and chains that cannot carry a FUSE request (too short, too long,
 * no room for the reply) putting the device into NEEDS_RESET. The FUSE
 * server itself is tested in tests/unit/fs. Test thread only. */
#include <errno.h>
#include <linux/fuse.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vdrv.h"
#include "virtio/fs.h"

struct st {
  struct vdrv d;
  char dir[64];
};

static int setup(void **state) {
  struct st *s = calloc(1, sizeof(*s));
  snprintf(s->dir, sizeof(s->dir), "/tmp/vmk-vfs-XXXXXX");
  assert_non_null(mkdtemp(s->dir));
  char p[128];
  snprintf(p, sizeof(p), "%s/file", s->dir);
  FILE *f = fopen(p, "w");
  fputs("data", f);
  fclose(f);
  struct vmk_virtio_device *dev;
  vmk_error err;
  assert_int_equal(
      vmk_virtio_fs_create(s->dir, "mytag", false, NULL, &dev, &err), 0);
  vdrv_open(&s->d, dev);
  assert_true(vdrv_setup(&s->d, ~0ull, 16) & VMK_VIRTIO_S_DRIVER_OK);
  *state = s;
  return 0;
}

static int teardown(void **state) {
  struct st *s = *state;
  vdrv_close(&s->d);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
  assert_int_equal(system(cmd), 0);
  free(s);
  return 0;
}

/* Puts a request (header + body) in guest RAM, kicks queue q with a reply
 * buffer of rep_len bytes (none when 0); returns the used length. */
static uint32_t request(struct vdrv *d, unsigned q, uint32_t opcode,
                        uint64_t nodeid, const void *arg, size_t arglen,
                        uint32_t rep_len, uint64_t *rep_gpa) {
  struct fuse_in_header h = {.len = (uint32_t)(sizeof(h) + arglen),
                             .opcode = opcode,
                             .unique = 42,
                             .nodeid = nodeid};
  uint64_t in = vdrv_alloc(d, h.len);
  memcpy(vdrv_ptr(d, in), &h, sizeof(h));
  memcpy((uint8_t *)vdrv_ptr(d, in) + sizeof(h), arg, arglen);
  struct vdrv_seg segs[2] = {{in, h.len, false}};
  unsigned n = 1;
  if (rep_len) {
    *rep_gpa = vdrv_alloc(d, rep_len);
    segs[n++] = (struct vdrv_seg){*rep_gpa, rep_len, true};
  }
  uint16_t head = vdrv_chain(d, q, segs, n);
  vdrv_kick(d, q);
  uint16_t id;
  uint32_t len;
  assert_true(vdrv_used(d, q, &id, &len));
  assert_int_equal(id, head);
  return len;
}

static void test_config(void **state) {
  struct st *s = *state;
  assert_int_equal(vdrv_read(&s->d, VMK_VIRTIO_MMIO_DEVICE_ID), 26);
  char tag[37] = {0};
  for (unsigned i = 0; i < 36; i++)
    tag[i] = (char)vdrv_read(&s->d, VMK_VIRTIO_MMIO_CONFIG + i) & 0xff;
  assert_string_equal(tag, "mytag");
  assert_int_equal(vdrv_read(&s->d, VMK_VIRTIO_MMIO_CONFIG + 36), 1);
}

static void test_init_lookup_forget(void **state) {
  struct st *s = *state;
  struct vdrv *d = &s->d;
  struct fuse_init_in init = {.major = 7, .minor = 37};
  uint64_t rep;
  uint32_t len = request(d, 1, FUSE_INIT, 0, &init, sizeof(init), 4096, &rep);
  assert_int_equal(len, sizeof(struct fuse_out_header) +
                            sizeof(struct fuse_init_out));
  struct fuse_out_header oh;
  memcpy(&oh, vdrv_ptr(d, rep), sizeof(oh));
  assert_int_equal(oh.error, 0);
  assert_int_equal(oh.unique, 42);
  len = request(d, 1, FUSE_LOOKUP, 1, "file", 5, 4096, &rep);
  struct fuse_entry_out e;
  memcpy(&oh, vdrv_ptr(d, rep), sizeof(oh));
  memcpy(&e, (uint8_t *)vdrv_ptr(d, rep) + sizeof(oh), sizeof(e));
  assert_int_equal(oh.error, 0);
  assert_int_equal(e.attr.size, 4);
  /* FORGET on the high-priority queue: returned, nothing written. */
  struct fuse_forget_in f = {.nlookup = 1};
  assert_int_equal(request(d, 0, FUSE_FORGET, e.nodeid, &f, sizeof(f), 0, &rep),
                   0);
  /* A lookup of a missing name is an error reply, not a device error. */
  len = request(d, 1, FUSE_LOOKUP, 1, "nope", 5, 4096, &rep);
  memcpy(&oh, vdrv_ptr(d, rep), sizeof(oh));
  assert_int_equal(oh.error, -ENOENT);
  assert_int_equal(len, sizeof(oh));
  assert_false(vdrv_needs_reset(d));
}

static void test_short_request(void **state) {
  struct vdrv *d = &((struct st *)*state)->d;
  uint64_t a = vdrv_alloc(d, 16), b = vdrv_alloc(d, 64);
  struct vdrv_seg segs[] = {{a, 16, false}, {b, 64, true}};
  vdrv_chain(d, 1, segs, 2);
  vdrv_kick(d, 1);
  assert_true(vdrv_needs_reset(d));
}

static void test_no_room_for_reply(void **state) {
  struct vdrv *d = &((struct st *)*state)->d;
  struct fuse_in_header h = {
      .len = sizeof(h), .opcode = FUSE_STATFS, .nodeid = 1};
  uint64_t a = vdrv_alloc(d, sizeof(h)), b = vdrv_alloc(d, 8);
  memcpy(vdrv_ptr(d, a), &h, sizeof(h));
  struct vdrv_seg segs[] = {{a, sizeof(h), false}, {b, 8, true}};
  vdrv_chain(d, 1, segs, 2);
  vdrv_kick(d, 1);
  assert_true(vdrv_needs_reset(d));
}

static void test_oversized_request(void **state) {
  struct vdrv *d = &((struct st *)*state)->d;
  uint32_t n = VMK_FS_REQ_MAX + 1;
  uint64_t a = vdrv_alloc(d, n), b = vdrv_alloc(d, 64);
  struct fuse_in_header h = {.len = n, .opcode = FUSE_WRITE, .nodeid = 1};
  memcpy(vdrv_ptr(d, a), &h, sizeof(h));
  struct vdrv_seg segs[] = {{a, n, false}, {b, 64, true}};
  vdrv_chain(d, 1, segs, 2);
  vdrv_kick(d, 1);
  assert_true(vdrv_needs_reset(d));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_config, setup, teardown),
      cmocka_unit_test_setup_teardown(test_init_lookup_forget, setup, teardown),
      cmocka_unit_test_setup_teardown(test_short_request, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_room_for_reply, setup, teardown),
      cmocka_unit_test_setup_teardown(test_oversized_request, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
