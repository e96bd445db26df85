/* test_jit_strict.c — VMK_JIT_STRICT on a VM (the emu engine in jit
 * mode): a block the translator fails on stops the VM with an error
 * naming VMK_JIT_STRICT; without it the block runs in the interpreter and
 * the VM goes on. The failure is made with the translator's test-only
 * hook (emu_jit.test_fail, set here through the engine's internals; no
 * guest or user can reach it). Test thread + the engine's vCPU thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "emu/jit/translate.h"
#include "engine/emu.h"
#include "engine_fixture.h"

struct fixture {
  struct engine_fixture ef;
  int exits; /* atomic: on_exit calls */
  vmk_exit_reason reason;
  vmk_error err;
};

static void on_exit_cb(void *opaque, vmk_exit_reason r, const vmk_error *err) {
  struct fixture *f = opaque;
  f->reason = r;
  if (err)
    f->err = *err;
  __atomic_fetch_add(&f->exits, 1, __ATOMIC_SEQ_CST);
}

/* Creates a 1-vCPU jit engine (VMK_JIT_STRICT as given) and starts it,
 * with every translation failing when fail is set. */
static void start(struct fixture *f, bool strict, bool fail) {
  if (strict)
    setenv("VMK_JIT_STRICT", "1", 1);
  else
    unsetenv("VMK_JIT_STRICT");
  ef_engine(&f->ef, true, on_exit_cb, f);
  struct emu_jit *j = ((struct emu_engine *)f->ef.e)->vcpus[0].cpu.jit;
  assert_non_null(j);
  j->test_fail = fail;
  struct vmk_boot_regs boot = {.pc = VMK_RAM_BASE};
  vmk_error err;
  assert_int_equal(f->ef.e->ops->start(f->ef.e, &boot, &err), 0);
}

static struct emu_jit *jit_of(struct fixture *f) {
  return ((struct emu_engine *)f->ef.e)->vcpus[0].cpu.jit;
}

/* Waits (bounded, 30 s) until the guest has counted past n. */
static bool counted_past(struct fixture *f, uint64_t n) {
  for (int i = 0; i < 30000 && ef_slot(&f->ef) <= n; i++)
    usleep(1000);
  return ef_slot(&f->ef) > n;
}

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  ef_ram(&f->ef, ef_count_loop, sizeof ef_count_loop);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  ef_free(&f->ef);
  free(f);
  unsetenv("VMK_JIT_STRICT");
  return 0;
}

/* Strict: the VM ends with an error saying why, before the guest has run
 * a whole slice of its loop interpreted. */
static void test_strict_stops_the_vm(void **state) {
  struct fixture *f = *state;
  start(f, true, true);
  for (int i = 0; i < 30000 && !__atomic_load_n(&f->exits, __ATOMIC_SEQ_CST);
       i++)
    usleep(1000);
  assert_int_equal(__atomic_load_n(&f->exits, __ATOMIC_SEQ_CST), 1);
  assert_int_equal(f->reason, VMK_EXIT_ERROR);
  assert_non_null(strstr(f->err.msg, "VMK_JIT_STRICT"));
  assert_non_null(strstr(f->err.msg, "translator could not take"));
  f->ef.e->ops->stop(f->ef.e);
  assert_true(jit_of(f)->failed > 0);
  assert_int_equal(jit_of(f)->blocks, 0);
}

/* Not strict: the failure is counted (and said on stderr) and the block
 * runs in the interpreter; the guest counts on. */
static void test_lenient_runs_interpreted(void **state) {
  struct fixture *f = *state;
  start(f, false, true);
  assert_true(counted_past(f, 1000000));
  f->ef.e->ops->stop(f->ef.e);
  assert_int_equal(__atomic_load_n(&f->exits, __ATOMIC_SEQ_CST), 0);
  assert_true(jit_of(f)->failed > 0);
  assert_int_equal(jit_of(f)->blocks, 0);
}

/* Strict with a translator that works: the loop runs translated. */
static void test_strict_translates(void **state) {
  struct fixture *f = *state;
  start(f, true, false);
  assert_true(counted_past(f, 1000000));
  f->ef.e->ops->stop(f->ef.e);
  assert_int_equal(__atomic_load_n(&f->exits, __ATOMIC_SEQ_CST), 0);
  assert_int_equal(jit_of(f)->failed, 0);
  assert_true(jit_of(f)->blocks > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_strict_stops_the_vm, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_lenient_runs_interpreted, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_strict_translates, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
