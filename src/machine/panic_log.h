/* panic_log.h — finds a guest kernel panic in the ramoops (pstore) region
 * vmkit gives the guest (loader.h, fdt.c): the kernel's kmsg dumper writes
 * its log tail there when it panics, which works with kernels that lack a
 * pvpanic driver (Debian's arm64 kernel) and on every engine, because the
 * host owns guest RAM.
 *
 * Threads: a pure function over a buffer; the VM's monitor thread calls it
 * after the vCPUs have stopped (so the guest is not writing the region).
 * The region's bytes are guest-controlled: every header field and length
 * is checked, nothing is trusted. */
#ifndef VMK_MACHINE_PANIC_LOG_H
#define VMK_MACHINE_PANIC_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest reason kept (the "Kernel panic - not syncing: ..." line). */
#define VMK_PANIC_REASON_MAX 160

struct vmk_panic_log {
  /* The panic line, printable ASCII only, cut at VMK_PANIC_REASON_MAX - 1
   * bytes; "" when the record has no such line (or could not be
   * decompressed). */
  char reason[VMK_PANIC_REASON_MAX];
};

/* Scans region (size bytes, split into zones of record_size bytes, as
 * ramoops lays out its dmesg records) for a record of a kernel panic:
 * a persistent_ram_buffer header with the dmesg signature and sane
 * start/size, a "====SEC.USEC-D\n" (or -C, deflate-compressed) header, then
 * "Panic#N PartM\n". Returns true and fills out when one is found; false
 * for no record, an oops or shutdown record, or anything malformed. */
bool vmk_panic_log_find(const uint8_t *region, size_t size, size_t record_size,
                        struct vmk_panic_log *out);

#endif
