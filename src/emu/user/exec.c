/* exec.c — the user-mode runner's entry point (vmk_emu_exec_main): sets up
 * the guest address space and CPU, loads the program, and runs the CPU,
 * handling each exit (system call, fault, undefined instruction, break).
 * A guest that dies of a fault reports it like a shell would and returns
 * 128 + the signal number.
 *
 * Single-threaded: the CLI's main thread; after a guest fork() each
 * process runs its own copy.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu/jit/translate.h"
#include "emu/mem.h"
#include "emu/user/exec.h"
#include "emu/user/user.h"
#include "engine/engine.h"

extern char **environ;

static int u_tlb_fill(struct emu_cpu *cpu, uint64_t va, enum emu_access acc,
                      unsigned size) {
  (void)size;
  struct urun *u = cpu->env_opaque;
  if (va >= US_SPACE)
    return -1;
  uint8_t p = u->us.perm[va / US_PAGE];
  static const uint8_t need[3] = {US_R, US_W, US_X};
  if (!(p & US_MAPPED) || !(p & need[acc]))
    return -1;
  struct emu_tlb_entry *e = emu_tlb_lookup(cpu, va);
  uint64_t page = va & EMU_PAGE_MASK;
  e->tag_read = (p & US_R) ? page : EMU_TLB_INVALID;
  e->tag_write = (p & US_W) ? page : EMU_TLB_INVALID;
  e->tag_exec = (p & US_X) ? page : EMU_TLB_INVALID;
  e->addend = (uintptr_t)u->us.base;
  return 0;
}

static uint64_t u_mmio_read(struct emu_cpu *cpu, uint64_t va, unsigned size) {
  (void)cpu, (void)va, (void)size;
  return 0; /* never called: user mode has no MMIO */
}
static void u_mmio_write(struct emu_cpu *cpu, uint64_t va, unsigned size,
                         uint64_t val) {
  (void)cpu, (void)va, (void)size, (void)val;
}

static const struct emu_env_ops user_env = {
    .tlb_fill = u_tlb_fill,
    .mmio_read = u_mmio_read,
    .mmio_write = u_mmio_write,
};

static int die(struct urun *u, int sig, const char *what) {
  struct emu_cpu *cpu = &u->cpu;
  fflush(stdout);
  fprintf(stderr, "vmkit exec: %s at PC=%#llx addr=%#llx\n", what,
          (unsigned long long)cpu->pc, (unsigned long long)cpu->exit_addr);
  return 128 + sig;
}

/* Direct loads (emu_jit.direct) cannot tell an exec-only page from a
 * readable one (the host must keep it readable for instruction fetch):
 * once the guest has one, translations go back to the TLB for good. */
static void direct_check(struct urun *u) {
  if (u->us.xonly && u->cpu.jit && u->cpu.jit->direct) {
    u->cpu.jit->direct = false;
    emu_flush_code(&u->cpu); /* the translations made so far go */
  }
}

static int run(struct urun *u) {
  struct emu_cpu *cpu = &u->cpu;
  for (;;) {
    direct_check(u);
    enum emu_exit e = emu_run(cpu, 0);
    if (e == EMU_EXIT_SVC) {
      emu_ur_syscall(u);
      direct_check(u);
      if (u->exited)
        return u->exit_status;
      e = EMU_EXIT_NONE;
    }
    if (!emu_ur_sig_deliver(u)) {
      cpu->exit_addr = cpu->r[EMU_SP];
      return die(u, SIGSEGV, "segmentation fault (signal frame)");
    }
    switch (e) {
    case EMU_EXIT_SVC:
      emu_ur_syscall(u);
      if (u->exited)
        return u->exit_status;
      break;
    case EMU_EXIT_WFI:
    case EMU_EXIT_BUDGET:
    case EMU_EXIT_REQUEST:
    case EMU_EXIT_NONE:
      break;
    case EMU_EXIT_UNDEF:
      fflush(stdout);
      fprintf(stderr,
              "vmkit exec: undefined instruction %08x at PC=%#llx "
              "(illegal instruction)\n",
              cpu->exit_syndrome, (unsigned long long)cpu->pc);
      return 128 + SIGILL;
    case EMU_EXIT_FAULT: {
      const bool align = (cpu->exit_syndrome & 0x3f) == EMU_FAULT_ALIGN;
      if (emu_ur_sig_fault(u, align ? SIGBUS : SIGSEGV, cpu->exit_addr))
        break; /* to the guest's handler */
      if (align)
        return die(u, SIGBUS, "alignment fault (bus error)");
      return die(u, SIGSEGV, "segmentation fault");
    }
    case EMU_EXIT_BRK:
    case EMU_EXIT_DEBUG: /* never armed in user mode */
      return die(u, SIGTRAP, "breakpoint (BRK/HLT)");
    case EMU_EXIT_HVC:
      return die(u, SIGILL, "HVC in user mode");
    }
  }
}

int vmk_emu_exec_main(int argc, char **argv) {
  int i = 1;
  bool jit = VMK_EMU_JIT_HOST; /* the translator where its code runs */
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--emu-stats") == 0) {
      emu_print_stats(stdout);
      return 0;
    }
    if (strncmp(argv[i], "--emu-mode", 10) == 0 &&
        (argv[i][10] == '=' || argv[i][10] == 0)) {
      const char *v = argv[i][10] == '=' ? argv[i] + 11
                      : i + 1 < argc     ? argv[++i]
                                         : "";
      if (strcmp(v, "interp") == 0) {
        jit = false;
      } else if (strcmp(v, "jit") == 0 && VMK_EMU_JIT_HOST) {
        jit = true;
      } else if (strcmp(v, "jit") == 0) {
        fprintf(stderr, "vmkit exec: --emu-mode jit translates to x86-64, "
                        "and this host is not x86-64; use --emu-mode interp\n");
        return 2;
      } else {
        fprintf(stderr,
                "vmkit exec: --emu-mode must be interp or jit (got '%s')\n", v);
        return 2;
      }
      continue;
    }
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    fprintf(stderr, "vmkit exec: unknown option %s\n", argv[i]);
    return 2;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: vmkit exec [--emu-stats] [--emu-mode interp|jit] "
                    "PROGRAM [ARGS...]\n");
    return 2;
  }
  struct urun *u = calloc(1, sizeof *u);
  if (!u) {
    fprintf(stderr, "vmkit exec: out of memory\n");
    return 126;
  }
  emu_ur_sig_init(u);
  const char *t = getenv("VMK_EXEC_TRACE");
  u->trace = t ? atoi(t) : 0;
  int r = emu_us_init(&u->us);
  if (r < 0) {
    fprintf(stderr, "vmkit exec: cannot reserve the guest address space: %s\n",
            strerror(-r));
    free(u);
    return 126;
  }
  if ((r = emu_cpu_init(&u->cpu, &user_env, u)) < 0) {
    fprintf(stderr, "vmkit exec: cannot set up the emulated CPU: %s\n",
            strerror(-r));
    emu_us_destroy(&u->us);
    free(u);
    return 126;
  }
  vmk_error jerr = {0};
  /* single map: a forked child (clone as fork) gets its own copy of the
   * code region instead of sharing a memfd with its parent */
  if (jit &&
      (r = emu_cpu_enable_jit(&u->cpu, EMU_CODE_BUF_SINGLE_MAP, &jerr)) < 0) {
    fprintf(stderr, "vmkit exec: cannot set up the translator: %s\n", jerr.msg);
    emu_cpu_destroy(&u->cpu);
    emu_us_destroy(&u->us);
    free(u);
    return 126;
  }
  /* loads straight from the guest region (translate.h), unless
   * VMK_JIT_DIRECT=0 (to compare with the TLB path) */
  const char *dl = getenv("VMK_JIT_DIRECT");
  if (u->cpu.jit && !(dl && strcmp(dl, "0") == 0)) {
    u->cpu.jit->direct = true;
    u->cpu.jit_direct_base = (uint64_t)(uintptr_t)u->us.base;
    if (emu_ur_fault_init(u) < 0)
      u->cpu.jit->direct = false;
  }
  /* superblocks (jit/chain.c), unless VMK_JIT_SUPER=0 (to compare) */
  const char *su = getenv("VMK_JIT_SUPER");
  if (u->cpu.jit && su && strcmp(su, "0") == 0)
    u->cpu.jit->no_super = true;
  /* for perf: names translated code by guest pc (a forked child's
   * translations land in its parent's file) */
  const char *pm = getenv("VMK_JIT_PERFMAP");
  if (u->cpu.jit && pm && strcmp(pm, "0")) {
    char mp[64];
    snprintf(mp, sizeof mp, "/tmp/perf-%d.map", (int)getpid());
    u->cpu.jit->perfmap = fopen(mp, "a");
    if (u->cpu.jit->perfmap)
      setvbuf(u->cpu.jit->perfmap, NULL, _IOLBF, 0);
  }
  char path[PATH_MAX], msg[512];
  if (!realpath(argv[i], path))
    snprintf(path, sizeof path, "%s", argv[i]);
  r = emu_ur_load(u, path, argv + i, environ, msg, sizeof msg);
  int status;
  if (r < 0) {
    fprintf(stderr, "vmkit exec: %s\n", msg);
    status = r == -ENOENT ? 127 : 126;
  } else {
    status = run(u);
    if (u->trace)
      fprintf(stderr,
              "vmkit exec: pid %d retired ~%llu instructions, %llu TLB "
              "fills\n",
              (int)getpid(), (unsigned long long)u->cpu.icount,
              (unsigned long long)u->cpu.stats.tlb_fills);
    if (u->trace && u->cpu.jit)
      fprintf(stderr, "vmkit exec: %llu host faults at direct loads\n",
              (unsigned long long)emu_ur_fault_count());
    if (u->trace && u->cpu.jit) {
      struct emu_jit *j = u->cpu.jit;
      fprintf(stderr,
              "vmkit exec: jit: %llu blocks translated (%llu insns inline, "
              "%llu as helper calls), %llu left to the interpreter, %llu "
              "failed, %zu "
              "bytes of code now, %llu flushes; %llu exits linked, %llu "
              "dropped blocks cut off, %llu jump cache fills\n",
              (unsigned long long)j->blocks, (unsigned long long)j->inline_ops,
              (unsigned long long)j->helper_ops, (unsigned long long)j->refused,
              (unsigned long long)j->failed, j->cb.used,
              (unsigned long long)j->cb.flushes, (unsigned long long)j->links,
              (unsigned long long)j->unlinked, (unsigned long long)j->jc_fills);
      fprintf(
          stderr, "vmkit exec: jit: %llu superblocks (%llu blocks in them)\n",
          (unsigned long long)j->supers, (unsigned long long)j->super_blocks);
    }
    const char *strict = getenv("VMK_JIT_STRICT");
    if (u->cpu.jit && u->cpu.jit->failed && strict && strcmp(strict, "0")) {
      fprintf(stderr,
              "vmkit exec: jit: %llu blocks could not be translated "
              "(VMK_JIT_STRICT is set)\n",
              (unsigned long long)u->cpu.jit->failed);
      status = 70;
    }
  }
  fflush(NULL);
  emu_ur_fault_fini();
  emu_cpu_destroy(&u->cpu);
  emu_us_destroy(&u->us);
  free(u);
  return status;
}
