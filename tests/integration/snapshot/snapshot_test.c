/* snapshot_test.c — save/restore end to end on the emu engine, through
 * the C API: the default guest runs a counter loop printing "tick N" each
 * second and a shell on its console.
 *   1. pause: the ticks stop; resume: the guest's uptime grew by no more
 *      than the time it ran (the pause does not count);
 *   2. save while paused (refused while running), stop;
 *   3. restore twice, each into a new VM: the counter goes on after the
 *      last saved tick (does not restart) and the shell answers;
 *   4. refusals with a sentence: a damaged and a truncated state file, a
 *      truncated memory file, another machine's config, a changed disk.
 * A shared folder (--share) goes along: before the save the shell's cwd is
 * a shared subdirectory, it holds a file open for writing (fd 3) and one
 * for reading (fd 4, 4 bytes read) and one the host deletes while the VM
 * is saved (fd 5); after each restore it reads the next 4 bytes, writes
 * through fd 3, makes a file in its cwd (the host sees both), and reading
 * fd 5 fails with ESTALE while the guest goes on.
 * Exit 77 (skip) when the default guest is not built.
 * VMK_SNAPSHOT_ENGINES=BOOT,RESTORE1,RESTORE2 (default emu,emu,emu) picks
 * each VM's engine: the nested KVM test runs it as kvm,kvm,emu, so a
 * guest saved under kvm resumes under kvm and under emu.
 * VMK_SNAPSHOT_WAIT=S: seconds to wait for the guest (default 120).
 * Test thread only; the VMs run their own threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmkit/vmkit.h"

static int fails;
static char tmp[256];
static char share[300]; /* the shared folder (tag "snapsh") */
static vmk_engine_kind engines[3] = {VMK_ENGINE_EMU, VMK_ENGINE_EMU,
                                     VMK_ENGINE_EMU};
static int wait_s = 120;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (cond) {                                                                \
      printf("ok: " __VA_ARGS__);                                              \
    } else {                                                                   \
      printf("FAIL (line %d): ", __LINE__);                                    \
      printf(__VA_ARGS__);                                                     \
      fails++;                                                                 \
    }                                                                          \
    printf("\n");                                                              \
  } while (0)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return strdup("");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  s[got] = 0;
  fclose(f);
  return s;
}

/* The console of one VM: output to a file, input through a pipe. */
struct console {
  char path[300];
  int out_fd, in_rd, in_wr;
};

static void console_open(struct console *c, const char *name) {
  snprintf(c->path, sizeof c->path, "%s/%s.console", tmp, name);
  c->out_fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
  int p[2];
  if (pipe(p) < 0) {
    perror("pipe");
    exit(1);
  }
  c->in_rd = p[0];
  c->in_wr = p[1];
}

static void console_close(struct console *c) {
  close(c->out_fd);
  close(c->in_rd);
  close(c->in_wr);
}

static void type(struct console *c, const char *s) {
  if (write(c->in_wr, s, strlen(s)) < 0)
    perror("write");
}

/* Waits up to limit seconds for needle in the console. */
static bool wait_for(struct console *c, const char *needle, int limit) {
  double end = now_s() + limit;
  while (now_s() < end) {
    char *s = slurp(c->path);
    bool found = strstr(s, needle) != NULL;
    free(s);
    if (found)
      return true;
    usleep(100 * 1000);
  }
  return false;
}

/* The first and the last N of the "tick N" lines in the console. */
static void ticks(struct console *c, long *first, long *last) {
  char *s = slurp(c->path);
  *first = *last = -1;
  for (char *p = s; (p = strstr(p, "tick ")); p += 5) {
    char *e;
    long n = strtol(p + 5, &e, 10);
    if (e == p + 5 || (*e != '\r' && *e != '\n'))
      continue;
    if (*first < 0)
      *first = n;
    *last = n;
  }
  free(s);
}

/* The guest's uptime (seconds), asked through the shell. */
static double uptime(struct console *c, int k) {
  char cmd[96], mark[64];
  snprintf(mark, sizeof mark, "UP%d=", k);
  snprintf(cmd, sizeof cmd, "echo UP%d=$(cut -d' ' -f1 /proc/uptime)=\n", k);
  type(c, cmd);
  char want[64];
  snprintf(want, sizeof want, "UP%d=", k);
  double end = now_s() + wait_s;
  while (now_s() < end) {
    char *s = slurp(c->path);
    /* The echo of the typed line holds "$(", the answer a number. */
    for (char *p = s; (p = strstr(p, want)); p += strlen(want)) {
      char *e;
      double v = strtod(p + strlen(want), &e);
      if (e != p + strlen(want) && *e == '=') {
        free(s);
        return v;
      }
    }
    free(s);
    usleep(100 * 1000);
  }
  return -1;
}

/* Waits up to limit seconds for a tick of at least n. */
static bool wait_tick(struct console *c, long n, int limit) {
  double end = now_s() + limit;
  while (now_s() < end) {
    long first, last;
    ticks(c, &first, &last);
    if (last >= n)
      return true;
    usleep(100 * 1000);
  }
  return false;
}

static void show(struct console *c) {
  char *s = slurp(c->path);
  printf("---- guest console %s ----\n%s\n----\n", c->path, s);
  free(s);
}

static vmk_config *config_with(struct console *c, const char *snapshot) {
  vmk_config *cfg;
  vmk_error err;
  if (vmk_snapshot_config(snapshot, &cfg, &err)) {
    printf("FAIL: vmk_snapshot_config: %s\n", err.msg);
    return NULL;
  }
  vmk_config_set_console(cfg, VMK_CONSOLE_FDS, c->in_rd, c->out_fd);
  return cfg;
}

static void parse_engines(void) {
  const char *e = getenv("VMK_SNAPSHOT_ENGINES");
  for (int i = 0; e && *e && i < 3; i++) {
    engines[i] = strncmp(e, "kvm", 3) == 0 ? VMK_ENGINE_KVM : VMK_ENGINE_EMU;
    e = strchr(e, ',');
    e = e ? e + 1 : NULL;
  }
  const char *w = getenv("VMK_SNAPSHOT_WAIT");
  if (w && atoi(w) > 0)
    wait_s = atoi(w);
}

static bool file_has(const char *rel, const char *needle) {
  char path[400];
  snprintf(path, sizeof path, "%s/%s", share, rel);
  char *s = slurp(path);
  bool found = strstr(s, needle) != NULL;
  free(s);
  return found;
}

/* The shared folder after a restore: the shell's open files, its cwd and
 * new files work as before the save. */
static void share_after_restore(struct console *c, int round) {
  char cmd[256], want[64];
  type(c, "echo R=$(dd bs=4 count=1 <&4 2>/dev/null)=\n");
  CHECK(wait_for(c, "R=EFGH=", wait_s),
        "restore %d: a file open before the save reads on from its position",
        round);
  snprintf(cmd, sizeof cmd,
           "echo written-after-restore-$((%d+100)) >&3; "
           "echo made-in-cwd > made-$((%d+100)); echo W=$(pwd)=\n",
           round, round);
  type(c, cmd);
  CHECK(wait_for(c, "W=/mnt/snapsh/sub=", wait_s),
        "restore %d: the shell's cwd is still the shared subdirectory", round);
  snprintf(want, sizeof want, "written-after-restore-%d", round + 100);
  CHECK(file_has("sub/open.txt", want) &&
            file_has("sub/open.txt", "written-before-save"),
        "restore %d: a file open for writing before the save is written on "
        "the host",
        round);
  snprintf(cmd, sizeof cmd, "sub/made-%d", round + 100);
  CHECK(file_has(cmd, "made-in-cwd"),
        "restore %d: a file made in the cwd appears on the host", round);
  snprintf(cmd, sizeof cmd, "echo L=$(cat %s)=\n", "host-new.txt");
  type(c, cmd);
  CHECK(wait_for(c, "L=hello=", wait_s),
        "restore %d: a file the host made while the VM was saved is read",
        round);
  type(c, "echo D=$(cat <&5 2>&1)=\n");
  CHECK(wait_for(c, "Stale file handle=", wait_s),
        "restore %d: a file deleted while the VM was saved is stale "
        "(ESTALE), the guest goes on",
        round);
}

/* Restores from dir, resumes, checks the counter goes on after last_tick
 * and the shell answers. */
static void restore_and_check(const char *dir, long last_tick, int round) {
  struct console c;
  char name[32];
  snprintf(name, sizeof name, "restore%d", round);
  console_open(&c, name);
  vmk_config *cfg = config_with(&c, dir);
  if (cfg)
    vmk_config_set_engine(cfg, engines[round]);
  vmk_vm *vm = NULL;
  vmk_error err;
  double t0 = now_s();
  int r = cfg ? vmk_vm_restore(dir, cfg, &vm, &err) : -1;
  CHECK(r == 0, "restore %d on %s (%.2f s): %s", round,
        vmk_engine_name(engines[round]), now_s() - t0, r ? err.msg : "paused");
  if (r == 0) {
    CHECK(vmk_vm_state(vm) == VMK_STATE_PAUSED, "restore %d: the VM is paused",
          round);
    CHECK(vmk_vm_resume(vm, &err) == 0, "restore %d: resume", round);
    bool going = wait_tick(&c, last_tick + 2, wait_s);
    long first, last;
    ticks(&c, &first, &last);
    CHECK(going && first > last_tick && first <= last_tick + 2,
          "restore %d: the counter goes on (first tick after restore %ld, "
          "last saved %ld)",
          round, first, last_tick);
    char cmd[64], ans[32];
    snprintf(cmd, sizeof cmd, "echo again-$((%d*7))\n", round + 10);
    snprintf(ans, sizeof ans, "again-%d", (round + 10) * 7);
    type(&c, cmd);
    CHECK(wait_for(&c, ans, wait_s), "restore %d: the shell answers", round);
    share_after_restore(&c, round);
    if (!going)
      show(&c);
    vmk_vm_stop(vm, &err);
    vmk_vm_free(vm);
  }
  vmk_config_free(cfg);
  console_close(&c);
}

static void expect_refused(const char *dir, vmk_config *cfg, const char *word,
                           const char *what) {
  vmk_vm *vm = NULL;
  vmk_error err = {0};
  int r = vmk_vm_restore(dir, cfg, &vm, &err);
  CHECK(r < 0 && vm == NULL && strstr(err.msg, word), "%s is refused: %s", what,
        err.msg);
  if (vm)
    vmk_vm_free(vm);
}

static int run(const char *cmd) {
  int r = system(cmd);
  return r;
}

int main(int argc, char **argv) {
  const char *guest = getenv("VMKIT_GUEST_DIR");
  if (!guest)
    guest = argc > 1 ? argv[1] : ".cache/guest";
  char kernel[512], initrd[512];
  snprintf(kernel, sizeof kernel, "%s/Image", guest);
  snprintf(initrd, sizeof initrd, "%s/initrd", guest);
  if (access(kernel, R_OK) || access(initrd, R_OK)) {
    printf("SKIP: the default guest is not built (%s); run "
           "tools/guest/build.sh\n",
           guest);
    return 77;
  }
  snprintf(tmp, sizeof tmp, "/tmp/vmkit-snapshot-XXXXXX");
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  char disk[300], snap[300], cmd[2048];
  snprintf(disk, sizeof disk, "%s/disk.img", tmp);
  snprintf(snap, sizeof snap, "%s/snap", tmp);
  snprintf(cmd, sizeof cmd, "head -c 4194304 /dev/urandom > %s", disk);
  run(cmd);
  snprintf(share, sizeof share, "%s/share", tmp);
  snprintf(cmd, sizeof cmd,
           "mkdir -p %s/sub && printf ABCDEFGHIJKL > %s/sub/data.txt && "
           "echo doomed > %s/sub/doomed.txt",
           share, share, share);
  run(cmd);

  struct console c;
  console_open(&c, "boot");
  vmk_config *cfg = vmk_config_new();
  parse_engines();
  vmk_config_set_engine(cfg, engines[0]);
  vmk_config_set_cpus(cfg, 2);
  vmk_config_set_memory(cfg, 256ull << 20);
  vmk_config_set_kernel(cfg, kernel);
  vmk_config_set_initrd(cfg, initrd);
  vmk_config_set_cmdline(
      cfg, "console=hvc0 panic=-1 vmkit.quiet vmkit.cmd=\"(i=0; while :; do "
           "i=$((i+1)); echo tick $i; sleep 1; done) & exec sh -i\"");
  vmk_config_add_disk(cfg, disk, false);
  vmk_config_add_share(cfg, share, "snapsh", false);
  vmk_config_set_console(cfg, VMK_CONSOLE_FDS, c.in_rd, c.out_fd);
  vmk_vm *vm;
  vmk_error err;
  if (vmk_vm_create(cfg, &vm, &err) || vmk_vm_start(vm, &err)) {
    printf("FAIL: cannot boot: %s\n", err.msg);
    return 1;
  }
  CHECK(wait_tick(&c, 3, 300 > wait_s ? 300 : wait_s),
        "the guest boots on %s and counts", vmk_engine_name(engines[0]));
  type(&c, "echo hello-$((6*7))\n");
  CHECK(wait_for(&c, "hello-42", wait_s), "the shell answers");
  /* The shell's cwd in the share, a file open each way. */
  type(&c, "cd /mnt/snapsh/sub && exec 3>open.txt 4<data.txt 5<doomed.txt && "
           "echo written-before-save >&3 && "
           "echo R=$(dd bs=4 count=1 <&4 2>/dev/null)=\n");
  CHECK(wait_for(&c, "R=ABCD=", wait_s) &&
            file_has("sub/open.txt", "written-before-save"),
        "the shell works in the shared folder with two files open");

  /* 1. Pause and resume: the clock does not jump. */
  double u1 = uptime(&c, 1);
  double w1 = now_s();
  CHECK(vmk_vm_save(vm, snap, &err) < 0 && strstr(err.msg, "paused"),
        "a running VM cannot be saved: %s", err.msg);
  CHECK(vmk_vm_pause(vm, &err) == 0, "pause");
  usleep(500 * 1000); /* output already on its way */
  long f0, before, after;
  ticks(&c, &f0, &before);
  const double pause_s = 4;
  usleep((useconds_t)(pause_s * 1e6));
  ticks(&c, &f0, &after);
  CHECK(before == after, "paused: the counter stops (tick %ld, then %ld)",
        before, after);
  CHECK(vmk_vm_resume(vm, &err) == 0, "resume");
  double u2 = uptime(&c, 2);
  double w2 = now_s();
  /* The guest ran at most (w2 - w1 - pause_s) seconds between the reads;
   * its uptime cannot have grown more (0.5 s of rounding and slack). */
  CHECK(u1 >= 0 && u2 >= 0 && u2 - u1 <= (w2 - w1) - pause_s + 0.5,
        "the guest's clock skips the pause (uptime +%.2f s over %.2f s, %.0f "
        "s of it paused)",
        u2 - u1, w2 - w1, pause_s);

  /* 2. Save while paused. */
  CHECK(vmk_vm_pause(vm, &err) == 0, "pause again");
  usleep(500 * 1000);
  long last_tick;
  ticks(&c, &f0, &last_tick);
  double t0 = now_s();
  int r = vmk_vm_save(vm, snap, &err);
  double save_s = now_s() - t0;
  CHECK(r == 0, "save (%.2f s): %s", save_s, r ? err.msg : "done");
  CHECK(vmk_vm_state(vm) == VMK_STATE_PAUSED, "the VM stays paused");
  char mem[400];
  snprintf(mem, sizeof mem, "%s/memory.raw", snap);
  struct stat st;
  CHECK(stat(mem, &st) == 0 && (uint64_t)st.st_size == 256ull << 20 &&
            (uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size,
        "memory.raw is sparse: %lld of %lld bytes allocated",
        (long long)st.st_blocks * 512, (long long)st.st_size);
  vmk_vm_stop(vm, &err);
  vmk_vm_free(vm);
  console_close(&c);
  /* While the VM is saved the host adds a file to the share and deletes
   * one the shell holds open (unread, so not in the guest's page cache). */
  snprintf(cmd, sizeof cmd,
           "printf 'hello\n' > %s/sub/host-new.txt && rm %s/sub/doomed.txt",
           share, share);
  run(cmd);

  /* 3. Restore twice. */
  restore_and_check(snap, last_tick, 1);
  restore_and_check(snap, last_tick, 2);

  /* 4. Refusals. */
  char bad[300];
  snprintf(bad, sizeof bad, "%s/bad", tmp);
  snprintf(cmd, sizeof cmd,
           "cp -r %s %s && printf 'X' | dd of=%s/state.bin bs=1 seek=300 "
           "conv=notrunc 2>/dev/null",
           snap, bad, bad);
  run(cmd);
  expect_refused(bad, NULL, "damaged", "a damaged state file");
  snprintf(cmd, sizeof cmd,
           "rm -rf %s && cp -r %s %s && truncate -s 2000 %s/state.bin", bad,
           snap, bad, bad);
  run(cmd);
  expect_refused(bad, NULL, "damaged", "a truncated state file");
  snprintf(cmd, sizeof cmd,
           "rm -rf %s && cp -r %s %s && truncate -s 1000000 %s/memory.raw", bad,
           snap, bad, bad);
  run(cmd);
  expect_refused(bad, NULL, "memory", "a truncated memory file");
  vmk_config *other;
  if (vmk_snapshot_config(snap, &other, &err) == 0) {
    vmk_config_set_memory(other, 512ull << 20);
    expect_refused(snap, other, "memory size", "another machine's config");
    vmk_config_free(other);
  }
  snprintf(cmd, sizeof cmd,
           "printf 'X' | dd of=%s bs=1 seek=100 conv=notrunc 2>/dev/null",
           disk);
  run(cmd);
  expect_refused(snap, NULL, "changed since", "a changed disk");
  snprintf(cmd, sizeof cmd, "rm -f %s", disk);
  run(cmd);
  expect_refused(snap, NULL, "cannot be read", "a missing disk");

  vmk_config_free(cfg);
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
  if (!fails)
    run(cmd);
  else
    printf("files kept in %s\n", tmp);
  printf("%s\n", fails ? "FAILED" : "PASSED");
  return fails ? 1 : 0;
}
