/* panic_log.c — reads the guest kernel's ramoops dmesg records (the layout
 * of Linux's fs/pstore/ram.c and ram_core.c) and recognizes a panic.
 *
 * Threads: a pure function; the VM's monitor thread calls it once the
 * vCPUs have stopped. No shared state, no locks. Every byte read comes
 * from the guest: header fields are checked against the zone before any
 * copy, and decompression output is capped. */
#include "panic_log.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/le.h"

/* persistent_ram_buffer: le32 sig, start, size, then the data ring. The
 * dmesg zones use the bare signature (other zones XOR it with a value). */
#define PRZ_SIG 0x43474244u /* "DBGC" */
#define PRZ_HDR 12u
/* A panic log is ~10 KiB of text (CONFIG_PSTORE_DEFAULT_KMSG_BYTES); what
 * deflate expands beyond this is not needed to find the panic line. */
#define INFLATE_MAX (64u << 10)

#define PANIC_LINE "Kernel panic - not syncing: "

static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* ramoops' record header, "====SEC.USEC-D\n" ("-C" when compressed; old
 * kernels wrote no "-X"). Returns its length, or 0 when it is not one. */
static size_t kmsg_header(const uint8_t *p, size_t n, bool *compressed) {
  size_t i = 4, d;
  *compressed = false;
  if (n < 4 || memcmp(p, "====", 4))
    return 0;
  if (i < n && p[i] == '-')
    i++;
  for (d = i; i < n && is_digit(p[i]); i++)
    ;
  if (i == d || i >= n || p[i] != '.')
    return 0;
  for (d = ++i; i < n && is_digit(p[i]); i++)
    ;
  if (i == d)
    return 0;
  if (i + 1 < n && p[i] == '-') {
    if (p[i + 1] != 'C' && p[i + 1] != 'D')
      return 0;
    *compressed = p[i + 1] == 'C';
    i += 2;
  }
  if (i >= n || p[i] != '\n')
    return 0;
  return i + 1;
}

/* pstore compresses with the crypto API's "deflate": a raw deflate stream
 * (also tried as zlib/gzip, for other back ends). Returns the bytes
 * produced; a stream cut short still yields what precedes the cut. */
static size_t inflate_record(const uint8_t *in, size_t n, uint8_t *out,
                             size_t cap) {
  const int wbits[] = {-MAX_WBITS, MAX_WBITS + 32};
  if (n > UINT32_MAX)
    return 0;
  for (unsigned k = 0; k < 2; k++) {
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, wbits[k]) != Z_OK)
      continue;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    inflate(&z, Z_FINISH);
    size_t got = cap - z.avail_out;
    inflateEnd(&z);
    if (got)
      return got;
  }
  return 0;
}

/* Copies the last panic line of the log into out->reason: printable ASCII
 * only (a tab becomes a space, other bytes '?'), length-limited. */
static void find_reason(const uint8_t *body, size_t n,
                        struct vmk_panic_log *out) {
  const size_t plen = sizeof(PANIC_LINE) - 1;
  const uint8_t *last = NULL;
  for (const uint8_t *p = body; (size_t)(body + n - p) >= plen;) {
    const uint8_t *hit = memmem(p, (size_t)(body + n - p), PANIC_LINE, plen);
    if (!hit)
      break;
    last = hit;
    p = hit + 1;
  }
  out->reason[0] = '\0';
  if (!last)
    return;
  size_t k = 0;
  for (const uint8_t *p = last;
       p < body + n && *p != '\n' && k < VMK_PANIC_REASON_MAX - 1; p++) {
    uint8_t c = *p;
    out->reason[k++] = c == '\t'                 ? ' '
                       : (c >= 0x20 && c < 0x7f) ? (char)c
                                                 : '?';
  }
  while (k && out->reason[k - 1] == ' ')
    k--;
  out->reason[k] = '\0';
}

/* text: one record, linearized. A panic's starts "Panic#N PartM\n" (its
 * reason as kmsg_dump_reason_str() names it) after ramoops' header. */
static bool record_is_panic(const uint8_t *text, size_t len,
                            struct vmk_panic_log *out) {
  bool compressed;
  size_t h = kmsg_header(text, len, &compressed);
  if (!h)
    return false;
  const uint8_t *body = text + h;
  size_t n = len - h;
  uint8_t *inflated = NULL;
  if (compressed) {
    inflated = malloc(INFLATE_MAX);
    if (!inflated)
      return false;
    n = inflate_record(body, n, inflated, INFLATE_MAX);
    body = inflated;
  }
  bool panic = n > 6 && memcmp(body, "Panic#", 6) == 0 && is_digit(body[6]);
  if (panic)
    find_reason(body, n, out);
  free(inflated);
  return panic;
}

bool vmk_panic_log_find(const uint8_t *region, size_t size, size_t record_size,
                        struct vmk_panic_log *out) {
  if (!region || record_size <= PRZ_HDR || record_size > size)
    return false;
  for (size_t off = 0; record_size <= size - off; off += record_size) {
    const uint8_t *zone = region + off;
    /* Read each field once: the checks and the copies use the same values. */
    uint32_t sig = vmk_le32(zone), start = vmk_le32(zone + 4),
             len = vmk_le32(zone + 8);
    size_t cap = record_size - PRZ_HDR;
    /* The kernel's own test of a valid old buffer (ram_core.c). */
    if (sig != PRZ_SIG || len == 0 || len > cap || start > len)
      continue;
    uint8_t *text = malloc(len);
    if (!text)
      return false;
    /* A ring: the oldest byte is at start. */
    memcpy(text, zone + PRZ_HDR + start, len - start);
    memcpy(text + (len - start), zone + PRZ_HDR, start);
    bool found = record_is_panic(text, len, out);
    free(text);
    if (found)
      return true;
  }
  return false;
}
