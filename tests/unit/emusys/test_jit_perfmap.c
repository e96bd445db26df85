/* test_jit_perfmap.c — VMK_JIT_PERFMAP on a VM (the emu engine in jit
 * mode): /tmp/perf-PID.map names the guest's code by guest pc, and the
 * host code it names lies in anonymous memory, where perf looks such names
 * up (it ignores the map for a file mapping such as the memfd the code
 * region is by default, which made every system-mode profile show
 * "memfd:vmkit-jit" addresses). Test thread + the engine's vCPU thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_fixture.h"

static void on_exit_cb(void *opaque, vmk_exit_reason r, const vmk_error *err) {
  (void)opaque;
  (void)r;
  (void)err;
}

/* The path column of the /proc/self/maps line holding addr ("" when
 * anonymous); false when no mapping holds it. */
static bool mapping_of(uint64_t addr, char *path, size_t len) {
  FILE *m = fopen("/proc/self/maps", "r");
  assert_non_null(m);
  char line[512];
  bool found = false;
  while (!found && fgets(line, sizeof line, m)) {
    unsigned long long lo, hi;
    int n = 0;
    if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %n", &lo, &hi, &n) < 2)
      continue;
    if (addr >= lo && addr < hi) {
      snprintf(path, len, "%s", line + n);
      path[strcspn(path, "\n")] = 0;
      found = true;
    }
  }
  fclose(m);
  return found;
}

static void test_perfmap_names_anonymous_code(void **state) {
  (void)state;
  char mp[64];
  snprintf(mp, sizeof mp, "/tmp/perf-%d.map", (int)getpid());
  unlink(mp);
  setenv("VMK_JIT_PERFMAP", "1", 1);
  struct engine_fixture f = {0};
  ef_ram(&f, ef_count_loop, sizeof ef_count_loop);
  ef_engine(&f, true, on_exit_cb, NULL);
  vmk_error err;
  struct vmk_boot_regs boot = {.pc = VMK_RAM_BASE};
  assert_int_equal(f.e->ops->start(f.e, &boot, &err), 0);
  for (int i = 0; i < 30000 && ef_slot(&f) < 1000; i++)
    usleep(1000);
  assert_true(ef_slot(&f) >= 1000); /* the loop ran, translated */

  /* while the engine (and its code region) still exists */
  FILE *m = fopen(mp, "r");
  assert_non_null(m);
  char line[256];
  int named = 0;
  while (fgets(line, sizeof line, m)) {
    unsigned long long start, size, pc;
    assert_int_equal(sscanf(line, "%llx %llx jit:%llx", &start, &size, &pc), 3);
    if (pc < VMK_RAM_BASE || pc >= VMK_RAM_BASE + sizeof ef_count_loop)
      continue;
    char path[256];
    assert_true(mapping_of(start, path, sizeof path));
    if (path[0] && path[0] != '[')
      fail_msg("jit:%llx lies in a file mapping (%s): perf ignores its name",
               pc, path);
    named++;
  }
  fclose(m);
  assert_true(named >= 1);
  f.e->ops->stop(f.e);
  ef_free(&f);
  unlink(mp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_perfmap_names_anonymous_code),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
