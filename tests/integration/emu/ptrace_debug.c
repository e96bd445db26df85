/* ptrace_debug.c — a static arm64 Linux program that debug.sh runs inside
 * the default guest on the emu engine: it exercises the emulated core's
 * self-hosted debug the way gdb does, through the guest kernel's ptrace.
 * A forked child stops itself; the parent then
 *   1. single-steps it STEPS times (PTRACE_SINGLESTEP: MDSCR_EL1.SS and
 *      SPSR.SS underneath), each stop a SIGTRAP with si_code TRAP_TRACE at
 *      a new pc;
 *   2. reads how many breakpoints/watchpoints the kernel found
 *      (NT_ARM_HW_BREAK / NT_ARM_HW_WATCH dbg_info, from ID_AA64DFR0_EL1);
 *   3. sets a hardware breakpoint on a function the child calls: one
 *      SIGTRAP (TRAP_HWBKPT) with pc at that function;
 *   4. sets a hardware write watchpoint on a variable the child increments
 *      WATCH_HITS times: each store traps (TRAP_HWBKPT, si_addr = the
 *      variable) before it happens; the parent steps over it with the
 *      watchpoint disabled, as gdb does.
 * Prints "ptrace-debug: ok ..." and exits 0 when everything held, else
 * says what did not and exits 1.
 * Single-threaded (plus the traced child process).
 */
#define _GNU_SOURCE
#include <asm/ptrace.h>
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define STEPS 20
#define WATCH_HITS 3
#ifndef TRAP_TRACE
#define TRAP_TRACE 2
#endif
#ifndef TRAP_HWBKPT
#define TRAP_HWBKPT 4
#endif

static volatile uint64_t watched;

__attribute__((noinline)) static void bp_target(void) {
  __asm__ volatile("" ::: "memory");
}

/* Where the single steps land (after raise returns): long enough that
 * they all stay before bp_target. */
__attribute__((noinline)) static void step_region(void) {
  static volatile int n;
  for (int i = 0; i < 20 * STEPS; i++)
    n = n + 1;
}

static void child(void) {
  if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0)
    _exit(2);
  raise(SIGSTOP);
  step_region();
  bp_target();
  for (int i = 0; i < WATCH_HITS; i++)
    watched = watched + 1;
  _exit(watched == WATCH_HITS ? 0 : 3);
}

static int fail(const char *what) {
  printf("ptrace-debug: FAIL: %s\n", what);
  fflush(stdout);
  return 1;
}

/* Waits for a SIGTRAP stop; returns its si_code, or -1. */
static int wait_trap(pid_t pid, siginfo_t *si) {
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP)
    return -1;
  if (ptrace(PTRACE_GETSIGINFO, pid, 0, si) != 0)
    return -1;
  return si->si_code;
}

static uint64_t get_pc(pid_t pid) {
  struct user_pt_regs regs;
  struct iovec iov = {&regs, sizeof regs};
  if (ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov) != 0)
    return 0;
  return regs.pc;
}

/* Slot 0 of NT_ARM_HW_BREAK / NT_ARM_HW_WATCH: addr, ctrl (0: off). */
static int set_hw(pid_t pid, int type, uint64_t addr, uint32_t ctrl) {
  struct user_hwdebug_state st;
  memset(&st, 0, sizeof st);
  st.dbg_regs[0].addr = addr;
  st.dbg_regs[0].ctrl = ctrl;
  struct iovec iov = {&st, offsetof(struct user_hwdebug_state, dbg_regs) +
                               sizeof(st.dbg_regs[0])};
  return ptrace(PTRACE_SETREGSET, pid, type, &iov);
}

static int hw_count(pid_t pid, int type) {
  struct user_hwdebug_state st;
  struct iovec iov = {&st, sizeof st};
  if (ptrace(PTRACE_GETREGSET, pid, type, &iov) != 0)
    return -1;
  return (int)(st.dbg_info & 0xff);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t pid = fork();
  if (pid < 0)
    return fail("fork");
  if (pid == 0)
    child();
  int st;
  siginfo_t si;
  if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP)
    return fail("the child did not stop itself");

  /* 1. Single steps. */
  uint64_t pc = get_pc(pid);
  for (int i = 0; i < STEPS; i++) {
    if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0) != 0)
      return fail("PTRACE_SINGLESTEP refused");
    if (wait_trap(pid, &si) != TRAP_TRACE)
      return fail("a single step did not stop with SIGTRAP/TRAP_TRACE");
    uint64_t now = get_pc(pid);
    if (now == pc || now == 0)
      return fail("a single step did not move the pc");
    pc = now;
  }

  /* 2. What the kernel found in ID_AA64DFR0_EL1. */
  int nbp = hw_count(pid, NT_ARM_HW_BREAK);
  int nwp = hw_count(pid, NT_ARM_HW_WATCH);
  printf("ptrace-debug: breakpoints=%d watchpoints=%d\n", nbp, nwp);

  /* 3. A hardware breakpoint: E, PMC EL0, BAS 0b1111. */
  uint64_t target = (uint64_t)(uintptr_t)bp_target;
  if (set_hw(pid, NT_ARM_HW_BREAK, target, 1u | 2u << 1 | 0xfu << 5) != 0)
    return fail("setting a hardware breakpoint");
  if (ptrace(PTRACE_CONT, pid, 0, 0) != 0)
    return fail("PTRACE_CONT");
  int code = wait_trap(pid, &si);
  uint64_t at = get_pc(pid);
  if (code != TRAP_HWBKPT || at != target) {
    printf("ptrace-debug: si_code %d pc %#llx, breakpoint at %#llx\n", code,
           (unsigned long long)at, (unsigned long long)target);
    return fail("the hardware breakpoint did not hit at its address");
  }
  if (set_hw(pid, NT_ARM_HW_BREAK, 0, 0) != 0)
    return fail("clearing the hardware breakpoint");

  /* 4. A write watchpoint: E, PAC EL0, LSC store, BAS 8 bytes. */
  uint64_t var = (uint64_t)(uintptr_t)&watched;
  uint32_t wctrl = 1u | 2u << 1 | 2u << 3 | 0xffu << 5;
  if (set_hw(pid, NT_ARM_HW_WATCH, var, wctrl) != 0)
    return fail("setting a hardware watchpoint");
  int hits = 0;
  for (;;) {
    if (ptrace(PTRACE_CONT, pid, 0, 0) != 0)
      return fail("PTRACE_CONT");
    if (waitpid(pid, &st, 0) != pid)
      return fail("waitpid");
    if (WIFEXITED(st))
      break;
    if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP ||
        ptrace(PTRACE_GETSIGINFO, pid, 0, &si) != 0 ||
        si.si_code != TRAP_HWBKPT || (uint64_t)(uintptr_t)si.si_addr != var)
      return fail("a stop that is not the watchpoint on the variable");
    errno = 0;
    long before = ptrace(PTRACE_PEEKDATA, pid, (void *)(uintptr_t)var, 0);
    if (before != hits)
      return fail("the watched store happened before the trap");
    hits++;
    /* Step over the store with the watchpoint off, then re-arm it. */
    if (set_hw(pid, NT_ARM_HW_WATCH, var, 0) != 0 ||
        ptrace(PTRACE_SINGLESTEP, pid, 0, 0) != 0 ||
        wait_trap(pid, &si) != TRAP_TRACE ||
        set_hw(pid, NT_ARM_HW_WATCH, var, wctrl) != 0)
      return fail("stepping over the watched store");
  }
  if (WEXITSTATUS(st) != 0)
    return fail("the child saw a wrong value");
  if (hits != WATCH_HITS)
    return fail("the watchpoint did not hit once per store");
  printf("ptrace-debug: ok steps=%d breakpoint=1 watchpoint-hits=%d\n", STEPS,
         hits);
  return 0;
}
