/* hostfault.c — the user-mode runner's host SIGSEGV/SIGBUS handler for
 * translated loads that read the guest region directly (jit/emit_ldst.c,
 * emu_jit.direct): the host keeps every page the guest may not read
 * inaccessible (uspace.h), so such a load faults on the host; when the
 * faulting instruction is one of them (the code buffer's table of fault
 * sites) and the address is in the guest region, the handler resumes the
 * translation at that load's slow path, which redoes the guest insn
 * through the TLB and raises the guest's fault (or performs the access).
 * Any other fault is not ours: the previous disposition (SIG_DFL, or
 * ASan's handler in the test build) is put back and the instruction
 * faults again under it, exactly as without this handler (a SIGSEGV sent
 * with kill() is raised again instead).
 *
 * The handler runs on the runner's (only) thread, synchronously with the
 * translated code that faulted; it reads state set before any code ran
 * (the one runner per process) and the code buffer's table, which only
 * changes between translations. No allocation, no locks.
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

#include "emu/jit/translate.h"
#include "emu/user/user.h"

#if defined(__x86_64__)

_Static_assert(US_SPACE == 1ull << EMU_JIT_DIRECT_BITS,
               "direct loads test the guest address against the space");
_Static_assert(US_TAIL >= EMU_JIT_DIRECT_TAIL,
               "an access straddling the space's end must fault");

static const struct emu_jit *fault_jit;
static uintptr_t fault_lo, fault_hi; /* the guest region and its tail */
static struct sigaction prev_segv, prev_bus;
static volatile uint64_t redirected; /* faults sent to a slow path */

static void on_fault(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  uintptr_t a = (uintptr_t)si->si_addr;
  uint64_t stub = 0;
  /* si_code > 0: the kernel's report of a fault (not a kill()) */
  if (fault_jit && si->si_code > 0 && a >= fault_lo && a < fault_hi)
    stub =
        emu_jit_fault_stub(fault_jit, (uint64_t)uc->uc_mcontext.gregs[REG_RIP]);
  if (stub) {
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)stub;
    redirected++;
    return;
  }
  /* not a direct load: fault again under the previous disposition; a
   * signal sent with kill() (the guest's raise(SIGSEGV) among them) does
   * not come again by itself, so it is sent again (pending until this
   * handler returns) */
  sigaction(sig, sig == SIGBUS ? &prev_bus : &prev_segv, NULL);
  if (si->si_code <= 0)
    raise(sig);
}

int emu_ur_fault_init(struct urun *u) {
  if (!u->cpu.jit || !u->cpu.jit->direct)
    return 0;
  fault_jit = u->cpu.jit;
  fault_lo = (uintptr_t)u->us.base;
  fault_hi = fault_lo + US_SPACE + US_TAIL;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  /* on ASan's alternate stack when it has one (a host stack overflow
   * keeps its report) */
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, &prev_segv) < 0 ||
      sigaction(SIGBUS, &sa, &prev_bus) < 0)
    return -1;
  return 0;
}

uint64_t emu_ur_fault_count(void) { return redirected; }

void emu_ur_fault_fini(void) {
  if (!fault_jit)
    return;
  sigaction(SIGSEGV, &prev_segv, NULL);
  sigaction(SIGBUS, &prev_bus, NULL);
  fault_jit = NULL;
}

#else

int emu_ur_fault_init(struct urun *u) {
  (void)u;
  return 0;
}

uint64_t emu_ur_fault_count(void) { return 0; }

void emu_ur_fault_fini(void) {}

#endif
