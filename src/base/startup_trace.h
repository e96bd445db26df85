/* startup_trace.h — where the time goes between the process's exec and the
 * guest's first instruction: with VMKIT_TRACE_START=1 in the environment,
 * each start-up stage prints one line on stderr,
 *   vmkit-start: <since exec> s  thread user <u> sys <s>  <stage>
 * (seconds since the process was created, as /proc/self/stat's start time
 * says, and the calling thread's CPU time so far). Meant for hosts where a
 * profiler is missing (the nested KVM host of bench/kvm_boot.sh).
 *
 * Any thread may call these; they keep no state (the caller keeps the
 * bool that vmk_startup_trace_on returned).
 */
#ifndef VMK_BASE_STARTUP_TRACE_H
#define VMK_BASE_STARTUP_TRACE_H

#include <stdbool.h>

/* Whether VMKIT_TRACE_START=1 is set (read once by each caller). */
bool vmk_startup_trace_on(void);

/* Prints the stage's line when on; does nothing otherwise. */
void vmk_startup_mark(bool on, const char *stage);

#endif
