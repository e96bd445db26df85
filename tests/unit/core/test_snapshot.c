/* test_snapshot.c — save/restore on the emu engine without a real guest,
 * and the state file's parser against damaged input:
 *   - a tiny guest (a loop counting in x3) with a disk, entropy and the
 *     console is saved while paused: the files are there, memory.raw is
 *     sparse, the sections are all there; a running VM is refused; a VM
 *     with a shared folder saves and restores, not with another share;
 *   - restored (paused), it saves the same vCPU state and the same memory
 *     again; resumed, the loop goes on from the saved x3;
 *   - the container parser refuses every truncation, flipped bytes,
 *     trailing data, another format version; the decoder refuses missing,
 *     unknown and malformed sections, each with a sentence;
 *   - a disk saved as a file restores as a block device over the same
 *     bytes (a loop device) and back: a block device's size is its end,
 *     not st_size's 0, and its node's mtime is not compared (skipped
 *     when loop devices cannot be set up, e.g. not root).
 * Test thread + the VMs' threads. VMK_SNAPSHOT_TEST_KEEP=DIR copies the
 * snapshot there (the fuzz corpus' seeds were made so).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/snapshot.h"
#include "core/snapshot_file.h"
#include "vmkit/vmkit.h"

static char tmpdir[64];
static char kernel[128], disk[128], snap[128], snap2[128], snap3[128];
static char snap4[128], snap5[128];

/* Image header, then at +64: 1: add x3, x3, #1; b 1b */
static void write_image(const char *path) {
  static uint8_t img[8192];
  uint32_t b64 = 0x14000010, loop[] = {0x91000463, 0x17ffffff};
  uint64_t image_size = sizeof img, flags = 0xA;
  memcpy(img, &b64, 4);
  memcpy(img + 16, &image_size, 8);
  memcpy(img + 24, &flags, 8);
  memcpy(img + 56, "ARM\x64", 4);
  memcpy(img + 64, loop, sizeof loop);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(img, 1, sizeof img, f), sizeof img);
  fclose(f);
}

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/vmkit-test-snap-XXXXXX");
  if (!mkdtemp(tmpdir))
    return -1;
  snprintf(kernel, sizeof kernel, "%s/Image", tmpdir);
  snprintf(disk, sizeof disk, "%s/disk.img", tmpdir);
  snprintf(snap, sizeof snap, "%s/snap", tmpdir);
  snprintf(snap2, sizeof snap2, "%s/snap2", tmpdir);
  snprintf(snap3, sizeof snap3, "%s/snap3", tmpdir);
  snprintf(snap4, sizeof snap4, "%s/snap4", tmpdir);
  snprintf(snap5, sizeof snap5, "%s/snap5", tmpdir);
  write_image(kernel);
  FILE *f = fopen(disk, "wb");
  for (int i = 0; i < 65536; i++)
    fputc(i * 7, f);
  fclose(f);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static vmk_config *config(void) {
  vmk_config *cfg = vmk_config_new();
  assert_int_equal(vmk_config_set_kernel(cfg, kernel), 0);
  assert_int_equal(vmk_config_set_engine(cfg, VMK_ENGINE_EMU), 0);
  assert_int_equal(vmk_config_set_cpus(cfg, 2), 0);
  assert_int_equal(vmk_config_set_memory(cfg, 64ull << 20), 0);
  assert_int_equal(vmk_config_add_disk(cfg, disk, true), 0);
  return cfg;
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*len + 1);
  assert_int_equal(fread(b, 1, *len, f), *len);
  fclose(f);
  return b;
}

static struct vmk_snap_file *parse_dir(const char *dir, uint8_t **buf) {
  char path[192];
  size_t len;
  snprintf(path, sizeof path, "%s/state.bin", dir);
  *buf = slurp(path, &len);
  struct vmk_snap_file *f = malloc(sizeof *f);
  vmk_error err;
  assert_int_equal(vmk_snap_parse(*buf, len, f, &err), 0);
  return f;
}

/* x3 of vCPU 0 in a snapshot directory. */
static uint64_t saved_x3(const char *dir) {
  uint8_t *buf;
  struct vmk_snap_file *f = parse_dir(dir, &buf);
  struct vmk_snap_state st;
  vmk_error err;
  assert_int_equal(vmk_snap_decode(f, &st, &err), 0);
  uint64_t x3 = st.arch.vcpu[0].x[3];
  vmk_snap_state_free(&st);
  free(f);
  free(buf);
  return x3;
}

/* The vCPU sections and memory of two snapshots are the same. */
static void assert_same_state(const char *a, const char *b) {
  uint8_t *b1, *b2;
  struct vmk_snap_file *f1 = parse_dir(a, &b1), *f2 = parse_dir(b, &b2);
  for (unsigned c = 0; c < 2; c++) {
    const struct vmk_snap_section *s1 = vmk_snap_find(f1, "VCPU", c),
                                  *s2 = vmk_snap_find(f2, "VCPU", c);
    assert_non_null(s1);
    assert_non_null(s2);
    assert_int_equal(s1->len, s2->len);
    assert_memory_equal(s1->data, s2->data, s1->len);
  }
  free(f1);
  free(f2);
  free(b1);
  free(b2);
  char p1[192], p2[192];
  size_t l1, l2;
  int n1 = snprintf(p1, sizeof p1, "%s/memory.raw", a);
  int n2 = snprintf(p2, sizeof p2, "%s/memory.raw", b);
  assert_true(n1 > 0 && (size_t)n1 < sizeof p1);
  assert_true(n2 > 0 && (size_t)n2 < sizeof p2);
  b1 = slurp(p1, &l1);
  b2 = slurp(p2, &l2);
  assert_int_equal(l1, l2);
  assert_memory_equal(b1, b2, l1);
  free(b1);
  free(b2);
}

static void test_save_restore(void **state) {
  (void)state;
  vmk_config *cfg = config();
  vmk_vm *vm;
  vmk_error err;
  assert_int_equal(vmk_vm_create(cfg, &vm, &err), 0);
  assert_int_equal(vmk_vm_start(vm, &err), 0);
  usleep(200 * 1000);
  assert_int_equal(vmk_vm_save(vm, snap, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "paused"));
  assert_int_equal(vmk_vm_pause(vm, &err), 0);
  assert_int_equal(vmk_vm_save(vm, snap, &err), 0);
  assert_int_equal(vmk_vm_state(vm), VMK_STATE_PAUSED);
  vmk_vm_stop(vm, &err);
  vmk_vm_free(vm);

  const char *files[] = {"state.bin", "memory.raw", "config.json",
                         "manifest.json"};
  for (size_t i = 0; i < 4; i++) {
    char p[192];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", snap, files[i]);
    assert_int_equal(stat(p, &st), 0);
    if (i == 1) {
      assert_int_equal(st.st_size, 64 << 20);
      assert_true((uint64_t)st.st_blocks * 512 < (4u << 20)); /* sparse */
    }
  }
  uint8_t *buf;
  struct vmk_snap_file *f = parse_dir(snap, &buf);
  const char *tags[] = {"CONF", "BOOT", "VCPU", "GICD", "GICR", "TIME",
                        "MEM ", "UART", "RTC ", "GPIO", "VIRT"};
  for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
    assert_non_null(vmk_snap_find(f, tags[i], 0));
  assert_non_null(vmk_snap_find(f, "VCPU", 1));
  assert_non_null(vmk_snap_find(f, "VIRT", 2)); /* blk, console, rng */
  free(f);
  free(buf);
  uint64_t x3 = saved_x3(snap);
  assert_true(x3 > 0);

  /* Restored: paused, and saves the same vCPU state and memory. */
  assert_int_equal(vmk_vm_restore(snap, NULL, &vm, &err), 0);
  assert_int_equal(vmk_vm_state(vm), VMK_STATE_PAUSED);
  assert_int_equal(vmk_vm_save(vm, snap2, &err), 0);
  assert_same_state(snap, snap2);

  /* Resumed, the loop goes on from the saved count. */
  assert_int_equal(vmk_vm_resume(vm, &err), 0);
  usleep(100 * 1000);
  assert_int_equal(vmk_vm_pause(vm, &err), 0);
  assert_int_equal(vmk_vm_save(vm, snap3, &err), 0);
  assert_true(saved_x3(snap3) > x3);
  vmk_vm_stop(vm, &err);
  vmk_vm_free(vm);

  /* A second restore from the same snapshot works too. */
  assert_int_equal(vmk_vm_restore(snap, NULL, &vm, &err), 0);
  vmk_vm_free(vm);

  const char *keep = getenv("VMK_SNAPSHOT_TEST_KEEP");
  if (keep) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp -r %s/. %s/", snap, keep);
    assert_int_equal(system(cmd), 0);
  }
  vmk_config_free(cfg);
}

/* --emu-mode jit: translations are not state. A VM running translated
 * code saves a snapshot that restores in the interpreter and saves the
 * very same vCPU state and memory again; restored under the translator
 * (its config.json says jit) it counts on from the saved x3, and so does
 * an interpreted VM's snapshot restored under the translator. */
static void test_save_restore_jit(void **state) {
  (void)state;
  char d1[192], d2[192], d3[192], d4[192];
  snprintf(d1, sizeof d1, "%s/jit1", tmpdir);
  snprintf(d2, sizeof d2, "%s/jit2", tmpdir);
  snprintf(d3, sizeof d3, "%s/jit3", tmpdir);
  snprintf(d4, sizeof d4, "%s/jit4", tmpdir);
  vmk_config *jit = config(), *interp = config();
  assert_int_equal(vmk_config_set_emu_mode(jit, VMK_EMU_MODE_JIT), 0);
  assert_int_equal(vmk_config_set_emu_mode(interp, VMK_EMU_MODE_INTERP), 0);
  vmk_vm *vm;
  vmk_error err;
  assert_int_equal(vmk_vm_create(jit, &vm, &err), 0);
  assert_int_equal(vmk_vm_start(vm, &err), 0);
  usleep(200 * 1000);
  assert_int_equal(vmk_vm_pause(vm, &err), 0);
  assert_int_equal(vmk_vm_save(vm, d1, &err), 0);
  vmk_vm_stop(vm, &err);
  vmk_vm_free(vm);
  uint64_t x3 = saved_x3(d1);
  assert_true(x3 > 0);
  char p[224];
  size_t len;
  snprintf(p, sizeof p, "%s/config.json", d1);
  uint8_t *conf = slurp(p, &len);
  conf[len] = 0;
  assert_non_null(strstr((char *)conf, "\"emu_mode\": \"jit\""));
  free(conf);

  assert_int_equal(vmk_vm_restore(d1, interp, &vm, &err), 0);
  assert_int_equal(vmk_vm_save(vm, d2, &err), 0);
  vmk_vm_free(vm);
  assert_same_state(d1, d2);

  assert_int_equal(vmk_vm_restore(d1, NULL, &vm, &err), 0);
  assert_int_equal(vmk_vm_resume(vm, &err), 0);
  usleep(100 * 1000);
  assert_int_equal(vmk_vm_pause(vm, &err), 0);
  assert_int_equal(vmk_vm_save(vm, d3, &err), 0);
  vmk_vm_free(vm);
  uint64_t x3b = saved_x3(d3);
  assert_true(x3b > x3);

  /* interp -> jit: d2 was saved by the interpreter */
  assert_int_equal(vmk_vm_restore(d2, jit, &vm, &err), 0);
  assert_int_equal(vmk_vm_resume(vm, &err), 0);
  usleep(100 * 1000);
  assert_int_equal(vmk_vm_pause(vm, &err), 0);
  assert_int_equal(vmk_vm_save(vm, d4, &err), 0);
  vmk_vm_free(vm);
  assert_true(saved_x3(d4) > x3);
  vmk_config_free(jit);
  vmk_config_free(interp);
}

/* A loop device over `file` (read-only); its path in dev. -1 when loop
 * devices cannot be set up here. */
static int loop_attach(const char *file, char *dev, size_t n) {
  int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0)
    return -1;
  int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
  close(ctl);
  if (nr < 0)
    return -1;
  snprintf(dev, n, "/dev/loop%d", nr);
  int lfd = open(dev, O_RDWR | O_CLOEXEC);
  int ffd = open(file, O_RDONLY | O_CLOEXEC);
  int r = lfd >= 0 && ffd >= 0 ? ioctl(lfd, LOOP_SET_FD, ffd) : -1;
  if (ffd >= 0)
    close(ffd);
  if (r < 0) {
    if (lfd >= 0)
      close(lfd);
    return -1;
  }
  return lfd;
}

static void test_block_device_disk(void **state) {
  (void)state;
  char dev[64];
  int lfd = loop_attach(disk, dev, sizeof dev);
  if (lfd < 0) {
    print_message("no loop device here (%s): skipped\n", strerror(errno));
    skip();
  }
  struct vmk_snap_disk_id fid, bid;
  vmk_error err;
  assert_int_equal(vmk_snap_disk_identify(disk, &fid, &err), 0);
  assert_int_equal(vmk_snap_disk_identify(dev, &bid, &err), 0);
  assert_int_equal(bid.size, fid.size);
  assert_int_equal(bid.crc[0], fid.crc[0]);
  assert_int_equal(bid.crc[1], fid.crc[1]);
  assert_int_equal(bid.mtime_ns, 0);
  assert_true(fid.mtime_ns != 0);

  /* Saved with the file, restored on the device, saved, restored on the
   * file again. */
  vmk_config *cfg = config();
  vmk_vm *vm;
  assert_int_equal(vmk_vm_create(cfg, &vm, &err), 0);
  assert_int_equal(vmk_vm_start(vm, &err), 0);
  assert_int_equal(vmk_vm_pause(vm, &err), 0);
  assert_int_equal(vmk_vm_save(vm, snap4, &err), 0);
  vmk_vm_stop(vm, &err);
  vmk_vm_free(vm);
  vmk_config *bcfg = vmk_config_new();
  assert_int_equal(vmk_config_set_kernel(bcfg, kernel), 0);
  assert_int_equal(vmk_config_set_engine(bcfg, VMK_ENGINE_EMU), 0);
  assert_int_equal(vmk_config_set_cpus(bcfg, 2), 0);
  assert_int_equal(vmk_config_set_memory(bcfg, 64ull << 20), 0);
  assert_int_equal(vmk_config_add_disk(bcfg, dev, true), 0);
  int r = vmk_vm_restore(snap4, bcfg, &vm, &err);
  if (r)
    print_message("restore on %s: %s\n", dev, err.msg);
  assert_int_equal(r, 0);
  assert_int_equal(vmk_vm_save(vm, snap5, &err), 0);
  vmk_vm_stop(vm, &err);
  vmk_vm_free(vm);
  r = vmk_vm_restore(snap5, cfg, &vm, &err);
  if (r)
    print_message("restore on %s: %s\n", disk, err.msg);
  assert_int_equal(r, 0);
  vmk_vm_stop(vm, &err);
  vmk_vm_free(vm);
  vmk_config_free(bcfg);
  vmk_config_free(cfg);
  ioctl(lfd, LOOP_CLR_FD, 0);
  close(lfd);
}

/* The restore's own transitions reach a callback installed with the
 * restore (vmk_vm_restore_watched): created -> restoring -> paused; a
 * restore that fails once the VM exists ends restoring -> error. */
struct seen {
  int n;
  vmk_state from[8], to[8];
};

static void record(void *opaque, vmk_vm *vm, vmk_state from, vmk_state to) {
  (void)vm;
  struct seen *s = opaque;
  if (s->n < 8) {
    s->from[s->n] = from;
    s->to[s->n++] = to;
  }
}

static void test_restore_watched(void **state) {
  (void)state;
  char p[192];
  snprintf(p, sizeof p, "%s/state.bin", snap);
  struct stat st;
  if (stat(p, &st) < 0) /* test_save_restore makes it */
    skip();
  struct seen s = {0};
  vmk_vm *vm;
  vmk_error err;
  assert_int_equal(vmk_vm_restore_watched(snap, NULL, record, &s, &vm, &err),
                   0);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.from[0], VMK_STATE_CREATED);
  assert_int_equal(s.to[0], VMK_STATE_RESTORING);
  assert_int_equal(s.from[1], VMK_STATE_RESTORING);
  assert_int_equal(s.to[1], VMK_STATE_PAUSED);
  assert_int_equal(vmk_vm_resume(vm, &err), 0);
  assert_int_equal(s.to[s.n - 1], VMK_STATE_RUNNING);
  vmk_vm_stop(vm, &err);
  vmk_vm_free(vm);

  /* A memory file cut short: found only once the VM exists. */
  char bad[192], cmd[1024];
  snprintf(bad, sizeof bad, "%s/cut", tmpdir);
  snprintf(cmd, sizeof cmd, "cp -r %s %s && truncate -s 4096 %s/memory.raw",
           snap, bad, bad);
  assert_int_equal(system(cmd), 0);
  s = (struct seen){0};
  vm = (vmk_vm *)&s;
  assert_int_equal(vmk_vm_restore_watched(bad, NULL, record, &s, &vm, &err),
                   -EINVAL);
  assert_null(vm);
  assert_non_null(strstr(err.msg, "memory"));
  assert_int_equal(s.n, 2);
  assert_int_equal(s.to[0], VMK_STATE_RESTORING);
  assert_int_equal(s.from[1], VMK_STATE_RESTORING);
  assert_int_equal(s.to[1], VMK_STATE_ERROR);
}

/* A VM with a shared folder saves and restores (the FUSE server's own
 * state is tested in fs_passthrough); a config whose share has another
 * tag or read-only setting is refused. */
static void test_share_saved(void **state) {
  (void)state;
  vmk_config *cfg = config();
  assert_int_equal(vmk_config_add_share(cfg, tmpdir, "t", true), 0);
  vmk_vm *vm, *vm2;
  vmk_error err;
  assert_int_equal(vmk_vm_create(cfg, &vm, &err), 0);
  assert_int_equal(vmk_vm_start(vm, &err), 0);
  assert_int_equal(vmk_vm_pause(vm, &err), 0);
  char dir[192];
  snprintf(dir, sizeof dir, "%s/shared", tmpdir);
  assert_int_equal(vmk_vm_save(vm, dir, &err), 0);
  assert_int_equal(vmk_vm_state(vm), VMK_STATE_PAUSED);
  vmk_vm_free(vm);
  assert_int_equal(vmk_vm_restore(dir, NULL, &vm2, &err), 0);
  assert_int_equal(vmk_vm_state(vm2), VMK_STATE_PAUSED);
  vmk_vm_free(vm2);
  vmk_config *other = config();
  assert_int_equal(vmk_config_add_share(other, tmpdir, "u", true), 0);
  assert_int_equal(vmk_vm_restore(dir, other, &vm2, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "shared folders' tag"));
  vmk_config_free(other);
  other = config();
  assert_int_equal(vmk_config_add_share(other, tmpdir, "t", false), 0);
  assert_int_equal(vmk_vm_restore(dir, other, &vm2, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "read-only"));
  vmk_config_free(other);
  vmk_config_free(cfg);
}

/* ---- the parser, on the real state file ---- */

static uint8_t *state_file(size_t *len) {
  char path[192];
  snprintf(path, sizeof path, "%s/state.bin", snap);
  struct stat st;
  if (stat(path, &st) < 0) /* test_save_restore makes it */
    skip();
  return slurp(path, len);
}

static void test_parse_refuses_damage(void **state) {
  (void)state;
  size_t len;
  uint8_t *buf = state_file(&len);
  struct vmk_snap_file *f = malloc(sizeof *f);
  vmk_error err;
  assert_int_equal(vmk_snap_parse(buf, len, f, &err), 0);
  /* Every truncation. */
  for (size_t n = 0; n < len; n++)
    assert_int_equal(vmk_snap_parse(buf, n, f, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "damaged"));
  /* A flipped byte anywhere. */
  for (size_t i = 0; i < len; i += 7) {
    buf[i] ^= 0x10;
    assert_int_equal(vmk_snap_parse(buf, len, f, &err), -EINVAL);
    buf[i] ^= 0x10;
  }
  /* Data after the last section. */
  uint8_t *more = malloc(len + 1);
  memcpy(more, buf, len);
  more[len] = 0;
  assert_int_equal(vmk_snap_parse(more, len + 1, f, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "after its last section"));
  free(more);
  /* Another format version; not a snapshot at all. */
  buf[8] = 9;
  assert_int_equal(vmk_snap_parse(buf, len, f, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "format version 9"));
  buf[0] = 'X';
  assert_int_equal(vmk_snap_parse(buf, len, f, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "not a vmkit snapshot"));
  free(f);
  free(buf);
}

/* Rebuilds the state file from f with section `drop` left out (tag, inst)
 * and `extra` added, then parses and decodes it: the decoder's answer. */
static int rebuild(const struct vmk_snap_file *f, const char *drop,
                   uint32_t drop_inst, const char *extra_tag, const void *extra,
                   size_t extra_len, vmk_error *err) {
  struct vmk_snap_writer w = {0};
  for (unsigned i = 0; i < f->n; i++) {
    const struct vmk_snap_section *s = &f->sec[i];
    if (drop && !memcmp(s->tag, drop, 4) && s->instance == drop_inst)
      continue;
    vmk_snap_add(&w, s->tag, s->instance, s->version, s->data, s->len);
  }
  if (extra_tag)
    vmk_snap_add(&w, extra_tag, 0, 1, extra, extra_len);
  struct vmk_sbuf out;
  assert_int_equal(vmk_snap_finish(&w, &out, err), 0);
  struct vmk_snap_file *g = malloc(sizeof *g);
  int r = vmk_snap_parse(out.p, out.len, g, err);
  struct vmk_snap_state st;
  if (!r && !(r = vmk_snap_decode(g, &st, err)))
    vmk_snap_state_free(&st);
  free(g);
  vmk_sbuf_free(&out);
  return r;
}

static void test_decode_refuses(void **state) {
  (void)state;
  size_t len;
  uint8_t *buf = state_file(&len);
  struct vmk_snap_file *f = malloc(sizeof *f);
  vmk_error err;
  assert_int_equal(vmk_snap_parse(buf, len, f, &err), 0);
  assert_int_equal(rebuild(f, NULL, 0, NULL, NULL, 0, &err), 0);
  const char *needed[] = {"CONF", "BOOT", "VCPU", "GICD",
                          "GICR", "TIME", "MEM "};
  for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
    assert_int_equal(rebuild(f, needed[i], 0, NULL, NULL, 0, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "damaged"));
  }
  assert_int_equal(rebuild(f, "VCPU", 1, NULL, NULL, 0, &err), -EINVAL);
  assert_int_equal(rebuild(f, NULL, 0, "ZZZZ", "x", 1, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "does not know"));
  /* A vCPU section of the wrong length; a config that is not JSON. */
  const struct vmk_snap_section *v = vmk_snap_find(f, "VCPU", 0);
  assert_int_equal(rebuild(f, "VCPU", 0, "VCPU", v->data, v->len - 1, &err),
                   -EINVAL);
  uint8_t conf[12] = {4, 0, 0, 0, '{', '"', 'x', '}', 0, 0, 0, 0};
  assert_int_equal(rebuild(f, "CONF", 0, "CONF", conf, sizeof conf, &err),
                   -EINVAL);
  assert_non_null(strstr(err.msg, "config"));
  free(f);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_save_restore),
      cmocka_unit_test(test_save_restore_jit),
      cmocka_unit_test(test_block_device_disk),
      cmocka_unit_test(test_restore_watched),
      cmocka_unit_test(test_share_saved),
      cmocka_unit_test(test_parse_refuses_damage),
      cmocka_unit_test(test_decode_refuses),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
