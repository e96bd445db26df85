/* user.h — internal state of the user-mode runner (exec.c, elf.c,
 * syscall.c). One process = one runner = one emulated CPU; after a guest
 * fork() the child process has its own copy of everything.
 * Single-threaded; no locks.
 */
#ifndef VMK_EMU_USER_USER_H
#define VMK_EMU_USER_USER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "emu/cpu.h"
#include "emu/user/uspace.h"

#define UR_NSIG 65

struct urun {
  struct emu_cpu cpu;
  struct uspace us;
  char exe_path[PATH_MAX];     /* what /proc/self/exe means to the guest */
  uint64_t image_lo;           /* the program's image: [image_lo, brk_start) */
  uint64_t auxv[2 * 24];       /* what /proc/self/auxv reads */
  size_t auxv_len;             /* bytes */
  bool thread_warned;          /* the "no threads" line was printed */
  uint64_t sigact[UR_NSIG][4]; /* guest handler, flags, restorer, mask */
  uint64_t sigmask;
  uint64_t saved_mask; /* rt_sigsuspend: mask to restore after the handler */
  bool mask_saved;
  int trace; /* VMK_EXEC_TRACE: 1 unknown syscalls, 2 every syscall */
  bool exited;
  int exit_status;
  uint8_t logged[64]; /* unknown syscalls already reported (by number) */
};

/* Loads the static arm64 ELF at path into a reset address space and sets
 * up stack and registers for its entry. Returns 0, or -errno with msg
 * filled (one sentence). The address space is only touched once the file
 * was checked, so a failing execve leaves the caller's image intact. */
int emu_ur_load(struct urun *u, const char *path, char *const argv[],
                char *const envp[], char *msg, size_t msglen);

/* Checks that path is a loadable arm64 ELF: 0, or -ENOEXEC when it is
 * not an ELF for us (then *host_elf tells whether it is a native one),
 * or another -errno. */
int emu_ur_check(const char *path, bool *host_elf, char *msg, size_t msglen);

/* Signals (signal.c). sig_init makes this runner the target of host
 * signals; sig_apply sets the host disposition for the guest's action of
 * sig; sig_deliver runs between blocks and pushes a frame for one pending
 * unblocked signal (false: the frame could not be written);
 * sigreturn restores the state saved in the frame at sp. */
void emu_ur_sig_init(struct urun *u);
void emu_ur_sig_apply(struct urun *u, int sig);
/* A guest fault (SIGSEGV, or SIGBUS for alignment) at addr, the cpu's pc
 * at the faulting insn: pushes a frame for the guest's handler and
 * returns true; false when the guest has none or blocks the signal (it
 * then dies of it, as on Linux). */
bool emu_ur_sig_fault(struct urun *u, int sig, uint64_t addr);
/* kill()/tgkill() of a synchronous signal to the guest itself; false when
 * sig is not one (the host's kill() does it). */
bool emu_ur_sig_kill_self(struct urun *u, int sig, int code);
bool emu_ur_sig_deliver(struct urun *u);
long emu_ur_sigreturn(struct urun *u);
/* rt_sigsuspend: waits with the guest mask at maskva; returns -EINTR. */
long emu_ur_sigsuspend(struct urun *u, uint64_t maskva, uint64_t size);

/* The program's own /proc/self (procfs.c). emu_ur_open opens (dirfd,
 * path) with host flags for the guest: an fd, or -errno (EACCES for a mem
 * file). emu_ur_readlink is readlinkat. emu_ur_fix_path returns the
 * program's path if (dirfd, path) names its exe link, else path. */
int emu_ur_open(struct urun *u, int dirfd, const char *path, int hflags,
                mode_t mode);
long emu_ur_readlink(struct urun *u, int dirfd, const char *path, char *buf,
                     size_t len);
const char *emu_ur_fix_path(struct urun *u, int dirfd, const char *path);

/* With the translator's direct loads (emu_jit.direct): installs the host
 * SIGSEGV/SIGBUS handler that sends a fault at one of them to its slow
 * path (hostfault.c). 0, or -1 (then the loads must not be direct). */
int emu_ur_fault_init(struct urun *u);
/* Puts the previous SIGSEGV/SIGBUS dispositions back (before the
 * translator goes away). */
void emu_ur_fault_fini(void);
/* Host faults at direct loads sent to their slow path so far. */
uint64_t emu_ur_fault_count(void);

/* Handles the system call in x8 with arguments x0..x5; writes x0. */
void emu_ur_syscall(struct urun *u);

#endif
