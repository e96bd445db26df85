/* sbuf.h — little-endian serialization for snapshot sections: a growable
 * writer and a bounds-checked reader. The reader never reads past its
 * buffer: a short or malformed input sets `bad` and yields zeros, so a
 * parser checks `bad` once at the end (a snapshot file is untrusted).
 *
 * No threads or locks: one buffer belongs to one thread.
 */
#ifndef VMK_BASE_SBUF_H
#define VMK_BASE_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmk_sbuf {
  uint8_t *p;
  size_t len, cap;
  bool oom; /* an allocation failed: the content is incomplete */
};

void vmk_sbuf_free(struct vmk_sbuf *b);
void vmk_sbuf_bytes(struct vmk_sbuf *b, const void *src, size_t n);
void vmk_sbuf_u8(struct vmk_sbuf *b, uint8_t v);
void vmk_sbuf_u16(struct vmk_sbuf *b, uint16_t v);
void vmk_sbuf_u32(struct vmk_sbuf *b, uint32_t v);
void vmk_sbuf_u64(struct vmk_sbuf *b, uint64_t v);
/* A u32 length and the bytes; NULL is written as length 0xffffffff. */
void vmk_sbuf_str(struct vmk_sbuf *b, const char *s);

struct vmk_sreader {
  const uint8_t *p;
  size_t len, off;
  bool bad; /* read past the end, or a value out of its range */
};

static inline struct vmk_sreader vmk_sreader_of(const void *p, size_t len) {
  return (struct vmk_sreader){.p = p, .len = len};
}
bool vmk_sr_bytes(struct vmk_sreader *r, void *dst, size_t n);
uint8_t vmk_sr_u8(struct vmk_sreader *r);
uint16_t vmk_sr_u16(struct vmk_sreader *r);
uint32_t vmk_sr_u32(struct vmk_sreader *r);
uint64_t vmk_sr_u64(struct vmk_sreader *r);
/* A bool: 0 or 1, anything else marks the reader bad. */
bool vmk_sr_bool(struct vmk_sreader *r);
/* A string written by vmk_sbuf_str, at most max bytes, NUL-free: a new
 * allocation (NULL for a NULL string or a bad reader; *ok false for the
 * latter). */
char *vmk_sr_str(struct vmk_sreader *r, size_t max, bool *ok);
/* True when every byte was consumed and nothing was bad. */
static inline bool vmk_sr_done(const struct vmk_sreader *r) {
  return !r->bad && r->off == r->len;
}

#endif
