/* slots.h — host-wide VM slots, inside: the limit's sources and the slot
 * folder, split out so tests can point them elsewhere (the public calls
 * are vmk_slot_acquire/release in vmkit.h).
 *
 * Layout: SLOTS/.lock (held while a start looks for a free slot, so two
 * starts never take the same one or both take the last) and SLOTS/slot-N,
 * one per slot ever used; a running VM holds an flock on its slot file
 * for its whole life, and the file's first line names the VM. The kernel
 * drops the lock when the process ends in any way (SIGKILL included), so
 * a slot is never leaked: which slots are in use is read from the locks,
 * never from the files' contents or a counter.
 *
 * Any thread; no shared state in memory (a slot belongs to its caller).
 */
#ifndef VMK_CORE_SLOTS_H
#define VMK_CORE_SLOTS_H

#include "vmkit/vmkit.h"

#define VMK_SLOTS_FILE "/etc/vmkit/max-vms"
#define VMK_SLOTS_MAX 1024 /* the largest limit accepted */

/* The limit from env (VMKIT_MAX_VMS's value, or NULL) and file (holding
 * one number; missing is fine): the lower of those set, 0 when neither
 * is. A value that is not a whole number from 1 to VMK_SLOTS_MAX is an
 * error naming where it came from. */
int vmk_slots_limit(const char *env, const char *file, unsigned *max,
                    vmk_error *err);
/* Takes a slot in dir (which must exist) when fewer than max are held:
 * -EUSERS with "N of N VM slots are in use (a, b, ...)" otherwise. */
int vmk_slots_acquire_in(const char *dir, unsigned max, const char *label,
                         vmk_slot **out, vmk_error *err);

#endif
