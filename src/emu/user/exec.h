/* exec.h — `vmkit exec PROGRAM [ARGS...]`: runs a static arm64 Linux ELF
 * on the emulator, translating its system calls (user mode).
 * Called on the CLI's main thread; the runner is single-threaded.
 */
#ifndef VMK_EMU_USER_EXEC_H
#define VMK_EMU_USER_EXEC_H

/* argv[0] is the command name (ignored), argv[1] the program, the rest its
 * arguments; options before the program: --emu-stats (print the
 * instruction-class table and exit). Returns the exit status to give the
 * shell: the guest's status, or 128 + signal for a guest that died (139
 * after a segmentation fault), or 126/127 when the program cannot run. */
int vmk_emu_exec_main(int argc, char **argv);

#endif
