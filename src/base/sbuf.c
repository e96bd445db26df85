/* sbuf.c — little-endian writer and bounded reader (sbuf.h). One thread
 * per buffer, no locks.
 */
#include "base/sbuf.h"

#include <stdlib.h>
#include <string.h>

void vmk_sbuf_free(struct vmk_sbuf *b) {
  free(b->p);
  *b = (struct vmk_sbuf){0};
}

void vmk_sbuf_bytes(struct vmk_sbuf *b, const void *src, size_t n) {
  if (b->oom || n == 0)
    return;
  if (n > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
      if (cap > SIZE_MAX / 2) {
        b->oom = true;
        return;
      }
      cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, src, n);
  b->len += n;
}

void vmk_sbuf_u8(struct vmk_sbuf *b, uint8_t v) { vmk_sbuf_bytes(b, &v, 1); }

void vmk_sbuf_u16(struct vmk_sbuf *b, uint16_t v) {
  uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  vmk_sbuf_bytes(b, x, 2);
}

void vmk_sbuf_u32(struct vmk_sbuf *b, uint32_t v) {
  uint8_t x[4];
  for (int i = 0; i < 4; i++)
    x[i] = (uint8_t)(v >> (8 * i));
  vmk_sbuf_bytes(b, x, 4);
}

void vmk_sbuf_u64(struct vmk_sbuf *b, uint64_t v) {
  uint8_t x[8];
  for (int i = 0; i < 8; i++)
    x[i] = (uint8_t)(v >> (8 * i));
  vmk_sbuf_bytes(b, x, 8);
}

void vmk_sbuf_str(struct vmk_sbuf *b, const char *s) {
  if (!s) {
    vmk_sbuf_u32(b, UINT32_MAX);
    return;
  }
  size_t n = strlen(s);
  if (n >= UINT32_MAX) {
    b->oom = true;
    return;
  }
  vmk_sbuf_u32(b, (uint32_t)n);
  vmk_sbuf_bytes(b, s, n);
}

bool vmk_sr_bytes(struct vmk_sreader *r, void *dst, size_t n) {
  if (r->bad || n > r->len - r->off) {
    r->bad = true;
    memset(dst, 0, n);
    return false;
  }
  memcpy(dst, r->p + r->off, n);
  r->off += n;
  return true;
}

uint8_t vmk_sr_u8(struct vmk_sreader *r) {
  uint8_t v;
  vmk_sr_bytes(r, &v, 1);
  return v;
}

uint16_t vmk_sr_u16(struct vmk_sreader *r) {
  uint8_t x[2];
  vmk_sr_bytes(r, x, 2);
  return (uint16_t)(x[0] | x[1] << 8);
}

uint32_t vmk_sr_u32(struct vmk_sreader *r) {
  uint8_t x[4];
  vmk_sr_bytes(r, x, 4);
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--)
    v = v << 8 | x[i];
  return v;
}

uint64_t vmk_sr_u64(struct vmk_sreader *r) {
  uint8_t x[8];
  vmk_sr_bytes(r, x, 8);
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | x[i];
  return v;
}

bool vmk_sr_bool(struct vmk_sreader *r) {
  uint8_t v = vmk_sr_u8(r);
  if (v > 1)
    r->bad = true;
  return v == 1;
}

char *vmk_sr_str(struct vmk_sreader *r, size_t max, bool *ok) {
  uint32_t n = vmk_sr_u32(r);
  *ok = !r->bad;
  if (r->bad || n == UINT32_MAX)
    return NULL;
  if (n > max || n > r->len - r->off || memchr(r->p + r->off, 0, n)) {
    r->bad = true;
    *ok = false;
    return NULL;
  }
  char *s = malloc((size_t)n + 1);
  if (!s) {
    *ok = false;
    return NULL;
  }
  memcpy(s, r->p + r->off, n);
  s[n] = 0;
  r->off += n;
  return s;
}
