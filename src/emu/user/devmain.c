/* devmain.c — `vmkit-exec`, a developer binary running vmk_emu_exec_main
 * until the CLI's `vmkit exec` calls it. Main thread only. */
#include "emu/user/exec.h"

int main(int argc, char **argv) { return vmk_emu_exec_main(argc, argv); }
