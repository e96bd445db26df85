/* test_slots.c — host-wide VM slots: the limit from VMKIT_MAX_VMS and the
 * operator's file (the lower wins, bad values are sentences), slots taken
 * up to the limit and refused beyond it with the holders' names, a
 * released slot taken again, a slot held by a process that is killed
 * (SIGKILL) freed by the kernel, and the public calls with no limit set.
 * Test thread, plus forked children that hold slots.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/slots.h"

struct fx {
  char dir[64];
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/vmk-slots-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static void test_limit(void **state) {
  struct fx *f = *state;
  char file[96];
  snprintf(file, sizeof(file), "%s/max-vms", f->dir);
  unsigned max = 99;
  vmk_error err;
  assert_int_equal(vmk_slots_limit(NULL, file, &max, &err), 0);
  assert_int_equal(max, 0); /* nothing set: no limit */
  assert_int_equal(vmk_slots_limit("3", file, &max, &err), 0);
  assert_int_equal(max, 3);
  assert_int_equal(vmk_slots_limit(" 7 ", NULL, &max, &err), 0);
  assert_int_equal(max, 7);
  const char *bad[] = {"0", "-1", "abc", "3x", "1025", "99999999999999999999"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(vmk_slots_limit(bad[i], file, &max, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "VMKIT_MAX_VMS is"));
  }
  write_file(file, "2\n");
  assert_int_equal(vmk_slots_limit(NULL, file, &max, &err), 0);
  assert_int_equal(max, 2);
  assert_int_equal(vmk_slots_limit("5", file, &max, &err), 0);
  assert_int_equal(max, 2); /* the user cannot raise the operator's */
  assert_int_equal(vmk_slots_limit("1", file, &max, &err), 0);
  assert_int_equal(max, 1); /* but may lower it */
  write_file(file, "lots\n");
  assert_int_equal(vmk_slots_limit("1", file, &max, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "does not hold a whole number"));
}

static void test_take_until_full(void **state) {
  struct fx *f = *state;
  vmk_slot *a, *b, *c;
  vmk_error err;
  assert_int_equal(vmk_slots_acquire_in(f->dir, 2, "web", &a, &err), 0);
  assert_int_equal(vmk_slots_acquire_in(f->dir, 2, "db", &b, &err), 0);
  assert_int_equal(vmk_slots_acquire_in(f->dir, 2, "third", &c, &err), -EUSERS);
  assert_null(c);
  assert_non_null(strstr(err.msg, "2 of 2 VM slots are in use ("));
  assert_non_null(strstr(err.msg, "web"));
  assert_non_null(strstr(err.msg, "db"));
  assert_non_null(strstr(err.msg, "stop one or raise the limit"));
  /* A lower limit counts every holder, whatever their slot numbers. */
  assert_int_equal(vmk_slots_acquire_in(f->dir, 1, "x", &c, &err), -EUSERS);
  assert_non_null(strstr(err.msg, "2 of 1 VM slots"));
  vmk_slot_release(a);
  assert_int_equal(vmk_slots_acquire_in(f->dir, 2, "third", &c, &err), 0);
  assert_non_null(c);
  assert_int_equal(vmk_slots_acquire_in(f->dir, 3, "fourth", &a, &err), 0);
  vmk_slot_release(a);
  vmk_slot_release(b);
  vmk_slot_release(c);
  vmk_slot_release(NULL);
}

/* A child takes a slot and is killed: the kernel drops its lock, so the
 * slot is free again with nothing cleaned up. */
static void test_killed_holder_frees_slot(void **state) {
  struct fx *f = *state;
  vmk_error err;
  vmk_slot *mine;
  assert_int_equal(vmk_slots_acquire_in(f->dir, 2, "parent", &mine, &err), 0);
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    vmk_slot *s;
    vmk_error e;
    char ok = vmk_slots_acquire_in(f->dir, 2, "child", &s, &e) == 0 ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1)
      _exit(1);
    for (;;)
      pause();
  }
  char ok = 0;
  assert_int_equal(read(ready[0], &ok, 1), 1);
  assert_int_equal(ok, 'y');
  vmk_slot *s;
  assert_int_equal(vmk_slots_acquire_in(f->dir, 2, "late", &s, &err), -EUSERS);
  assert_non_null(strstr(err.msg, "child"));
  kill(pid, SIGKILL);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_int_equal(vmk_slots_acquire_in(f->dir, 2, "late", &s, &err), 0);
  vmk_slot_release(s);
  vmk_slot_release(mine);
  close(ready[0]);
  close(ready[1]);
}

/* The public call reads VMKIT_MAX_VMS and uses XDG_RUNTIME_DIR/vmkit/slots
 * (0700); unset, it takes nothing. */
static void test_public(void **state) {
  struct fx *f = *state;
  setenv("XDG_RUNTIME_DIR", f->dir, 1);
  unsetenv("VMKIT_MAX_VMS");
  vmk_slot *a, *b;
  vmk_error err;
  struct stat st;
  if (stat(VMK_SLOTS_FILE, &st) == 0)
    skip(); /* this host has an operator limit: not ours to change */
  assert_int_equal(vmk_slot_acquire("a", &a, &err), 0);
  assert_null(a);
  setenv("VMKIT_MAX_VMS", "1", 1);
  assert_int_equal(vmk_slot_acquire(NULL, &a, &err), 0);
  assert_non_null(a);
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/vmkit/slots", f->dir);
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  assert_int_equal(vmk_slot_acquire("b", &b, &err), -EUSERS);
  char want[64];
  snprintf(want, sizeof(want), "1 of 1 VM slots are in use (pid %d)",
           (int)getpid());
  assert_non_null(strstr(err.msg, want));
  vmk_slot_release(a);
  setenv("VMKIT_MAX_VMS", "many", 1);
  assert_int_equal(vmk_slot_acquire("b", &b, &err), -EINVAL);
  unsetenv("VMKIT_MAX_VMS");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_take_until_full, setup, teardown),
      cmocka_unit_test_setup_teardown(test_killed_holder_frees_slot, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_public, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
