/* snapshot_file.h — the container of a snapshot's state file (state.bin,
 * docs/snapshot.md): a header, then tagged sections, each with an
 * instance number, its own version, a CRC-32 and a length.
 *
 * The reader treats the file as untrusted: it checks the magic, the
 * format version, every length against the file, every CRC, duplicate
 * and trailing data, and fills one sentence saying what is wrong.
 *
 * No threads or locks: a writer or a parsed file belongs to one thread.
 */
#ifndef VMK_CORE_SNAPSHOT_FILE_H
#define VMK_CORE_SNAPSHOT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/sbuf.h"

#define VMK_SNAP_MAGIC "VMKITSNP"
#define VMK_SNAP_FORMAT 1
#define VMK_SNAP_MAX_SECTIONS 256
#define VMK_SNAP_MAX_STATE (64u << 20) /* bytes of state.bin */
#define VMK_SNAP_HEADER 16u
#define VMK_SNAP_SECTION_HEADER 24u

struct vmk_snap_section {
  char tag[5]; /* four ASCII characters and a NUL */
  uint32_t instance, version;
  const uint8_t *data;
  size_t len;
};

struct vmk_snap_file {
  unsigned n;
  struct vmk_snap_section sec[VMK_SNAP_MAX_SECTIONS];
};

struct vmk_snap_writer {
  struct vmk_sbuf body;
  unsigned n;
};

/* Appends a section (tag: four characters). */
void vmk_snap_add(struct vmk_snap_writer *w, const char *tag, uint32_t instance,
                  uint32_t version, const void *data, size_t len);
/* The whole file (header + sections) in out; -ENOMEM / -E2BIG on failure.
 * Frees the writer either way. */
int vmk_snap_finish(struct vmk_snap_writer *w, struct vmk_sbuf *out,
                    vmk_error *err);

/* Parses buf (len bytes, which must outlive out): 0, or -EINVAL with err
 * saying what is wrong. */
int vmk_snap_parse(const uint8_t *buf, size_t len, struct vmk_snap_file *out,
                   vmk_error *err);
/* The section (tag, instance), or NULL. */
const struct vmk_snap_section *vmk_snap_find(const struct vmk_snap_file *f,
                                             const char *tag,
                                             uint32_t instance);

#endif
