/* test_runtime.c — the per-user runtime folder and named VM entries
 * (src/core/runtime.c): private folders, name rules, one live holder per
 * name, and a dead holder (SIGKILL) never blocking the name. Runs in a
 * private XDG_RUNTIME_DIR. Test thread plus forked children.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "core/runtime.h"

static char xdg[64];

static int setup(void **state) {
  (void)state;
  snprintf(xdg, sizeof(xdg), "/tmp/vmkit-rt-XXXXXX");
  if (!mkdtemp(xdg))
    return -1;
  setenv("XDG_RUNTIME_DIR", xdg, 1);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", xdg);
  return system(cmd) == 0 ? 0 : -1;
}

static void test_folders(void **state) {
  (void)state;
  char dir[VMK_RUNTIME_PATH_MAX], want[VMK_RUNTIME_PATH_MAX], sub[128];
  vmk_error err;
  assert_int_equal(vmk_runtime_dir(dir, sizeof(dir), &err), 0);
  snprintf(want, sizeof(want), "%s/vmkit", xdg);
  assert_string_equal(dir, want);
  struct stat st;
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  /* a folder someone opened up is made private again */
  chmod(dir, 0755);
  assert_int_equal(vmk_runtime_subdir("slots", sub, sizeof(sub), &err), 0);
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  assert_int_equal(stat(sub, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0700);
  /* a symlink in the way is refused, not followed */
  char link[VMK_RUNTIME_PATH_MAX];
  snprintf(link, sizeof(link), "%s/vmkit/evil", xdg);
  assert_int_equal(symlink("/tmp", link), 0);
  assert_int_equal(vmk_runtime_subdir("evil", sub, sizeof(sub), &err),
                   -ENOTDIR);
  assert_non_null(strstr(err.msg, "is not a folder"));
  unlink(link);
}

static void test_names(void **state) {
  (void)state;
  vmk_error err;
  assert_int_equal(vmk_name_check("web", &err), 0);
  assert_int_equal(vmk_name_check("db-1.test_x", &err), 0);
  assert_int_equal(vmk_name_check("", &err), -EINVAL);
  assert_int_equal(vmk_name_check("-x", &err), -EINVAL);
  assert_int_equal(vmk_name_check(".hidden", &err), -EINVAL);
  assert_int_equal(vmk_name_check("a/b", &err), -EINVAL);
  assert_int_equal(vmk_name_check("..", &err), -EINVAL);
  assert_int_equal(vmk_name_check("a b", &err), -EINVAL);
  assert_int_equal(vmk_name_check("slots", &err), -EINVAL);
  assert_non_null(strstr(err.msg, "reserved"));
  char longname[VMK_NAME_MAX + 2];
  memset(longname, 'a', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  assert_int_equal(vmk_name_check(longname, &err), -EINVAL);
  for (int i = 0; i < 20; i++) {
    char n[64];
    vmk_name_generate(n, sizeof(n));
    assert_int_equal(vmk_name_check(n, &err), 0);
    assert_non_null(strchr(n, '-'));
  }
}

/* A child that claims name, tells the parent, and waits to be killed. */
static pid_t claim_in_child(const char *name) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct vmk_instance inst;
    char ok = vmk_instance_claim(name, &inst, NULL) == 0 ? 'y' : 'n';
    if (write(p[1], &ok, 1) != 1)
      _exit(1);
    for (;;)
      pause();
  }
  close(p[1]);
  char ok = 0;
  assert_int_equal(read(p[0], &ok, 1), 1);
  close(p[0]);
  assert_int_equal(ok, 'y');
  return pid;
}

static void test_claim_find_release(void **state) {
  (void)state;
  struct vmk_instance a, b;
  vmk_error err;
  char dir[VMK_RUNTIME_PATH_MAX], p[VMK_RUNTIME_PATH_MAX];
  pid_t pid = 0;
  assert_int_equal(vmk_instance_find("t1", dir, sizeof(dir), &pid, &err),
                   -ENOENT);
  assert_non_null(strstr(err.msg, "no VM named 't1' is running"));
  assert_int_equal(vmk_instance_claim("t1", &a, &err), 0);
  assert_int_equal(vmk_instance_find("t1", dir, sizeof(dir), &pid, &err), 0);
  assert_string_equal(dir, a.dir);
  assert_int_equal(pid, getpid());
  struct stat st;
  assert_int_equal(stat(a.dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  vmk_instance_path(a.dir, "pid", p, sizeof(p));
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);

  /* a second holder in another process is refused, naming the pid */
  pid_t child = fork();
  if (child == 0)
    _exit(vmk_instance_claim("t1", &b, NULL) == -EEXIST ? 0 : 1);
  int status;
  assert_int_equal(waitpid(child, &status, 0), child);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  char names[8][VMK_NAME_MAX + 1];
  assert_int_equal(vmk_instance_claim("t2", &b, &err), 0);
  assert_int_equal(vmk_instance_list(names, 8), 2);
  assert_string_equal(names[0], "t1");
  assert_string_equal(names[1], "t2");
  vmk_instance_release(&a);
  assert_int_equal(vmk_instance_find("t1", dir, sizeof(dir), &pid, &err),
                   -ENOENT);
  assert_int_equal(stat(a.dir, &st), -1);
  assert_int_equal(vmk_instance_list(names, 8), 1);
  vmk_instance_release(&b);
}

/* kill -9 leaves the folder, pid file and a socket behind: the name is
 * free again at once and the leftovers are cleared by the next claim. */
static void test_dead_holder(void **state) {
  (void)state;
  vmk_error err;
  char dir[VMK_RUNTIME_PATH_MAX], p[VMK_RUNTIME_PATH_MAX];
  pid_t pid;
  pid_t child = claim_in_child("web");
  assert_int_equal(vmk_instance_find("web", dir, sizeof(dir), &pid, &err), 0);
  assert_int_equal(pid, child);
  vmk_instance_path(dir, "api.sock", p, sizeof(p));
  int fd = open(p, O_CREAT | O_WRONLY, 0600);
  assert_true(fd >= 0);
  close(fd);
  struct vmk_instance inst;
  assert_int_equal(vmk_instance_claim("web", &inst, &err), -EEXIST);
  assert_non_null(strstr(err.msg, "already running"));
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  char names[4][VMK_NAME_MAX + 1];
  assert_int_equal(vmk_instance_list(names, 4), 0);
  assert_int_equal(vmk_instance_find("web", dir, sizeof(dir), &pid, &err),
                   -ENOENT);
  assert_int_equal(vmk_instance_claim("web", &inst, &err), 0);
  assert_int_equal(access(p, F_OK), -1); /* the stale socket is gone */
  vmk_instance_release(&inst);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_folders),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_claim_find_release),
      cmocka_unit_test(test_dead_holder),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
