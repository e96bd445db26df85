/* signal.c — delivering host signals to guest signal handlers, the way the
 * arm64 Linux kernel does: a struct rt_sigframe (siginfo + ucontext with
 * the general registers and an fpsimd_context) is pushed on the guest
 * stack, the handler runs with x0 = signal, x1 = &info, x2 = &uc and
 * returns through sa_restorer (or a sigreturn trampoline page) into
 * rt_sigreturn, which restores the saved state.
 *
 * A host signal the guest catches sets a pending bit and the CPU's
 * exit_request; the runner delivers between blocks (emu_ur_sig_deliver).
 * Signal handlers can only reach the runner through process-wide state:
 * sig_target / sig_pending / sig_info below are the one exception to "no
 * global mutable state" (one runner per process; written by the handler,
 * read on the runner's only thread).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu/user/user.h"

static struct urun *sig_target;
static volatile uint64_t sig_pending; /* bit sig-1 */
static siginfo_t sig_info[UR_NSIG];

#define A64_SA_SIGINFO 0x4ull
#define A64_SA_RESTORER 0x04000000ull
#define A64_SA_RESTART 0x10000000ull
#define A64_SA_NODEFER 0x40000000ull
#define A64_SA_RESETHAND 0x80000000ull

/* rt_sigframe layout (arch/arm64/include/uapi/asm/{sigcontext,ucontext}.h) */
#define F_INFO 0
#define F_UC 128
#define F_UC_FLAGS (F_UC + 0)
#define F_UC_LINK (F_UC + 8)
#define F_UC_STACK (F_UC + 16)
#define F_UC_SIGMASK (F_UC + 40)
#define F_MC 304 /* uc_mcontext, 16-aligned */
#define F_MC_FAULT (F_MC + 0)
#define F_MC_REGS (F_MC + 8)
#define F_MC_SP (F_MC + 256)
#define F_MC_PC (F_MC + 264)
#define F_MC_PSTATE (F_MC + 272)
#define F_MC_RESERVED (F_MC + 288)
#define F_SIZE (F_MC_RESERVED + 4096)
#define GUEST_FPSIMD_MAGIC 0x46508001u
#define GUEST_FPSIMD_SIZE 528u
#define TRAMPOLINE_VA (US_SPACE - 0x8000)

static void host_handler(int sig, siginfo_t *si, void *ctx) {
  (void)ctx;
  if (sig <= 0 || sig >= UR_NSIG)
    return;
  sig_info[sig] = *si;
  __atomic_or_fetch(&sig_pending, 1ull << (sig - 1), __ATOMIC_SEQ_CST);
  if (sig_target)
    emu_cpu_request_exit(&sig_target->cpu);
}

void emu_ur_sig_init(struct urun *u) { sig_target = u; }

static bool synchronous(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
         sig == SIGTRAP;
}

void emu_ur_sig_apply(struct urun *u, int sig) {
  /* Synchronous signals stay the host's: they would mean a bug in the
   * emulator itself; SIGKILL/SIGSTOP cannot change; 32/33 belong to the
   * host's libc. */
  if (synchronous(sig) || sig == SIGKILL || sig == SIGSTOP ||
      (sig >= 32 && sig < SIGRTMIN) || sig >= UR_NSIG)
    return;
  uint64_t h = u->sigact[sig][0], fl = u->sigact[sig][1];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigfillset(&sa.sa_mask);
  if (h == 0) {
    sa.sa_handler = SIG_DFL;
  } else if (h == 1) {
    sa.sa_handler = SIG_IGN;
  } else {
    sa.sa_sigaction = host_handler;
    sa.sa_flags = SA_SIGINFO | ((fl & A64_SA_RESTART) ? SA_RESTART : 0);
  }
  sigaction(sig, &sa, NULL);
}

/* The sigreturn trampoline for handlers installed without SA_RESTORER:
 * mov x8, #139; svc #0. */
static uint64_t trampoline(struct urun *u) {
  if (emu_us_ptr(&u->us, TRAMPOLINE_VA, 8, US_X | US_R))
    return TRAMPOLINE_VA;
  if (emu_us_map_anon(&u->us, TRAMPOLINE_VA, US_PAGE, PROT_READ | PROT_WRITE) <
      0)
    return 0;
  static const uint32_t code[2] = {0xd2801168, 0xd4000001};
  memcpy(u->us.base + TRAMPOLINE_VA, code, sizeof code);
  emu_us_mprotect(&u->us, TRAMPOLINE_VA, US_PAGE, PROT_READ | PROT_EXEC);
  emu_tlb_flush(&u->cpu);
  return TRAMPOLINE_VA;
}

static void put64(uint8_t *f, size_t off, uint64_t v) {
  memcpy(f + off, &v, 8);
}
static uint64_t get64(const uint8_t *f, size_t off) {
  uint64_t v;
  memcpy(&v, f + off, 8);
  return v;
}

/* Returns false when the frame cannot be written (the guest then dies of
 * SIGSEGV, as on Linux). */
static bool setup_frame(struct urun *u, int sig) {
  struct emu_cpu *cpu = &u->cpu;
  uint64_t *act = u->sigact[sig];
  uint64_t ret = (act[1] & A64_SA_RESTORER) ? act[2] : trampoline(u);
  uint64_t sp = cpu->r[EMU_SP];
  uint64_t rec = (sp - 16) & ~15ull; /* frame record {fp, lr} */
  uint64_t fva = (rec - F_SIZE) & ~15ull;
  uint8_t *f = emu_us_ptr(&u->us, fva, rec + 16 - fva, US_W);
  if (!ret || !f)
    return false;
  memset(f, 0, F_SIZE);
  memcpy(f + F_INFO, &sig_info[sig], sizeof(siginfo_t));
  put64(f, F_UC_SIGMASK, u->mask_saved ? u->saved_mask : u->sigmask);
  u->mask_saved = false;
  put64(f, F_UC_STACK + 8, 2); /* ss_flags = SS_DISABLE */
  for (int i = 0; i < 31; i++)
    put64(f, F_MC_REGS + 8 * (size_t)i, cpu->r[i]);
  put64(f, F_MC_SP, sp);
  put64(f, F_MC_PC, cpu->pc);
  put64(f, F_MC_PSTATE, cpu->nzcv);
  uint8_t *fp = f + F_MC_RESERVED;
  uint32_t hdr[2] = {GUEST_FPSIMD_MAGIC, GUEST_FPSIMD_SIZE};
  memcpy(fp, hdr, 8);
  memcpy(fp + 8, &cpu->fpsr, 4);
  memcpy(fp + 12, &cpu->fpcr, 4);
  memcpy(fp + 16, cpu->v, sizeof cpu->v);
  /* the terminator after it is already zero */
  put64(f, rec - fva, cpu->r[29]);
  put64(f, rec - fva + 8, cpu->r[30]);

  cpu->r[0] = (uint64_t)sig;
  cpu->r[1] = fva + F_INFO;
  cpu->r[2] = fva + F_UC;
  cpu->r[29] = rec;
  cpu->r[30] = ret;
  cpu->r[EMU_SP] = fva;
  cpu->pc = act[0];
  if (!(act[1] & A64_SA_NODEFER))
    u->sigmask |= 1ull << (sig - 1);
  u->sigmask |= act[3] & ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
  if (act[1] & A64_SA_RESETHAND) {
    memset(act, 0, 4 * sizeof act[0]);
    emu_ur_sig_apply(u, sig);
  }
  return true;
}

/* Default action of a signal whose handler went away meanwhile. */
static void default_action(int sig) {
  if (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT)
    return;
  fflush(NULL);
  signal(sig, SIG_DFL);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  sigprocmask(SIG_UNBLOCK, &s, NULL);
  kill(getpid(), sig);
}

bool emu_ur_sig_deliver(struct urun *u) {
  uint64_t ready = sig_pending & ~u->sigmask;
  if (!ready) {
    if (u->mask_saved) { /* sigsuspend woke for nothing we run */
      u->sigmask = u->saved_mask;
      u->mask_saved = false;
    }
    return true;
  }
  int sig = __builtin_ctzll(ready) + 1;
  __atomic_and_fetch(&sig_pending, ~(1ull << (sig - 1)), __ATOMIC_SEQ_CST);
  uint64_t h = u->sigact[sig][0];
  if (h == 1)
    return true;
  if (h == 0) {
    default_action(sig);
    return true;
  }
  if (!setup_frame(u, sig))
    return false;
  if (sig_pending & ~u->sigmask) /* more to deliver: come back soon */
    emu_cpu_request_exit(&u->cpu);
  return true;
}

bool emu_ur_sig_kill_self(struct urun *u, int sig, int code) {
  /* A synchronous signal keeps the host's disposition (the emulator's own
   * crash reporting, or a sanitizer's), so one the guest sends itself is
   * handled here as Linux would: queued for the guest's handler, dropped
   * when ignored, the default action (death by it) otherwise. */
  if (!synchronous(sig))
    return false;
  uint64_t h = u->sigact[sig][0];
  if (h == 1)
    return true;
  siginfo_t *si = &sig_info[sig];
  memset(si, 0, sizeof *si);
  si->si_signo = sig;
  si->si_code = code;
  si->si_pid = getpid();
  si->si_uid = getuid();
  __atomic_or_fetch(&sig_pending, 1ull << (sig - 1), __ATOMIC_SEQ_CST);
  if (!(u->sigmask & (1ull << (sig - 1))))
    emu_cpu_request_exit(&u->cpu);
  return true;
}

bool emu_ur_sig_fault(struct urun *u, int sig, uint64_t addr) {
  /* Linux forces a synchronous fault's signal: blocked or ignored, it
   * kills; so does the default action */
  if (sig <= 0 || sig >= UR_NSIG || u->sigact[sig][0] <= 1 ||
      (u->sigmask & (1ull << (sig - 1))))
    return false;
  siginfo_t *si = &sig_info[sig];
  memset(si, 0, sizeof *si);
  si->si_signo = sig;
  if (sig == SIGBUS)
    si->si_code = BUS_ADRALN;
  else
    si->si_code = addr < US_SPACE && (u->us.perm[addr / US_PAGE] & US_MAPPED)
                      ? SEGV_ACCERR
                      : SEGV_MAPERR;
  si->si_addr = (void *)(uintptr_t)addr;
  if (!setup_frame(u, sig))
    return false;
  /* the sigcontext's fault_address, as the kernel fills it */
  uint8_t *f = emu_us_ptr(&u->us, u->cpu.r[1] - F_INFO, F_SIZE, US_W);
  if (f)
    put64(f, F_MC_FAULT, addr);
  return true;
}

long emu_ur_sigreturn(struct urun *u) {
  struct emu_cpu *cpu = &u->cpu;
  uint64_t fva = cpu->r[EMU_SP];
  const uint8_t *f = emu_us_ptr(&u->us, fva, F_SIZE, US_R);
  if (!f)
    return -EFAULT;
  for (int i = 0; i < 31; i++)
    cpu->r[i] = get64(f, F_MC_REGS + 8 * (size_t)i);
  cpu->r[EMU_SP] = get64(f, F_MC_SP);
  cpu->pc = get64(f, F_MC_PC);
  cpu->nzcv = (uint32_t)get64(f, F_MC_PSTATE) & 0xf0000000u;
  const uint8_t *fp = f + F_MC_RESERVED;
  uint32_t hdr[2];
  memcpy(hdr, fp, 8);
  if (hdr[0] == GUEST_FPSIMD_MAGIC && hdr[1] == GUEST_FPSIMD_SIZE) {
    memcpy(&cpu->fpsr, fp + 8, 4);
    memcpy(&cpu->fpcr, fp + 12, 4);
    memcpy(cpu->v, fp + 16, sizeof cpu->v);
  }
  u->sigmask = get64(f, F_UC_SIGMASK) &
               ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
  if (sig_pending & ~u->sigmask)
    emu_cpu_request_exit(cpu);
  return 0;
}

long emu_ur_sigsuspend(struct urun *u, uint64_t maskva, uint64_t size) {
  if (size != 8)
    return -EINVAL;
  const uint64_t *m = emu_us_ptr(&u->us, maskva, 8, US_R);
  if (!m)
    return -EFAULT;
  uint64_t mask = *m & ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
  /* Block host signals while checking, then wait atomically: no wakeup
   * can fall between the check and the sleep. */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  while (!(sig_pending & ~mask))
    sigsuspend(&old);
  sigprocmask(SIG_SETMASK, &old, NULL);
  u->saved_mask = u->sigmask;
  u->mask_saved = true;
  u->sigmask = mask;
  return -EINTR;
}
