/* snapshot_file.c — writer and parser of a snapshot's state file
 * container (snapshot_file.h). No threads or locks of its own.
 */
#include "core/snapshot_file.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

/* The CRC covers the section's header fields and its data, so no flipped
 * bit anywhere in a section goes unnoticed. */
static uint32_t section_crc(const char tag[4], uint32_t instance,
                            uint32_t version, const void *data, size_t len) {
  uint8_t h[20];
  memcpy(h, tag, 4);
  for (int i = 0; i < 4; i++) {
    h[4 + i] = (uint8_t)(instance >> (8 * i));
    h[8 + i] = (uint8_t)(version >> (8 * i));
  }
  for (int i = 0; i < 8; i++)
    h[12 + i] = (uint8_t)((uint64_t)len >> (8 * i));
  uLong c = crc32(0, h, sizeof h);
  if (len)
    c = crc32(c, data, (uInt)len);
  return (uint32_t)c;
}

void vmk_snap_add(struct vmk_snap_writer *w, const char *tag, uint32_t instance,
                  uint32_t version, const void *data, size_t len) {
  vmk_sbuf_bytes(&w->body, tag, 4);
  vmk_sbuf_u32(&w->body, instance);
  vmk_sbuf_u32(&w->body, version);
  vmk_sbuf_u32(&w->body, section_crc(tag, instance, version, data, len));
  vmk_sbuf_u64(&w->body, len);
  vmk_sbuf_bytes(&w->body, data, len);
  w->n++;
}

int vmk_snap_finish(struct vmk_snap_writer *w, struct vmk_sbuf *out,
                    vmk_error *err) {
  int r = 0;
  *out = (struct vmk_sbuf){0};
  if (w->body.oom)
    r = vmk_err(err, -ENOMEM, "out of memory writing the snapshot's state");
  else if (w->n > VMK_SNAP_MAX_SECTIONS ||
           w->body.len + VMK_SNAP_HEADER > VMK_SNAP_MAX_STATE)
    r = vmk_err(err, -E2BIG,
                "the snapshot's state is too large (%u sections, %zu bytes)",
                w->n, w->body.len);
  if (!r) {
    vmk_sbuf_bytes(out, VMK_SNAP_MAGIC, 8);
    vmk_sbuf_u32(out, VMK_SNAP_FORMAT);
    vmk_sbuf_u32(out, w->n);
    vmk_sbuf_bytes(out, w->body.p, w->body.len);
    if (out->oom) {
      vmk_sbuf_free(out);
      r = vmk_err(err, -ENOMEM, "out of memory writing the snapshot's state");
    }
  }
  vmk_sbuf_free(&w->body);
  w->n = 0;
  return r;
}

static int bad(vmk_error *err, const char *what) {
  return vmk_err(err, -EINVAL,
                 "the snapshot's state file is damaged (%s); take the "
                 "snapshot again",
                 what);
}

int vmk_snap_parse(const uint8_t *buf, size_t len, struct vmk_snap_file *out,
                   vmk_error *err) {
  out->n = 0;
  if (len < VMK_SNAP_HEADER || memcmp(buf, VMK_SNAP_MAGIC, 8) != 0)
    return vmk_err(err, -EINVAL,
                   "this is not a vmkit snapshot (its state file lacks the "
                   "vmkit header)");
  struct vmk_sreader r = vmk_sreader_of(buf, len);
  r.off = 8;
  uint32_t format = vmk_sr_u32(&r);
  uint32_t n = vmk_sr_u32(&r);
  if (format != VMK_SNAP_FORMAT)
    return vmk_err(err, -EINVAL,
                   "the snapshot has format version %u; this vmkit reads "
                   "version %u",
                   format, VMK_SNAP_FORMAT);
  if (n > VMK_SNAP_MAX_SECTIONS)
    return bad(err, "too many sections");
  for (uint32_t i = 0; i < n; i++) {
    struct vmk_snap_section *s = &out->sec[i];
    if (len - r.off < VMK_SNAP_SECTION_HEADER)
      return bad(err, "it ends inside a section header");
    vmk_sr_bytes(&r, s->tag, 4);
    s->tag[4] = 0;
    for (int k = 0; k < 4; k++)
      if (s->tag[k] < 0x20 || s->tag[k] > 0x7e)
        return bad(err, "a section tag is not text");
    s->instance = vmk_sr_u32(&r);
    s->version = vmk_sr_u32(&r);
    uint32_t crc = vmk_sr_u32(&r);
    uint64_t slen = vmk_sr_u64(&r);
    if (slen > len - r.off)
      return bad(err, "a section runs past the end of the file");
    s->data = buf + r.off;
    s->len = (size_t)slen;
    r.off += (size_t)slen;
    if (section_crc(s->tag, s->instance, s->version, s->data, s->len) != crc)
      return vmk_err(err, -EINVAL,
                     "the snapshot's state file is damaged (section %s %u "
                     "fails its checksum); take the snapshot again",
                     s->tag, s->instance);
    for (uint32_t k = 0; k < i; k++)
      if (!memcmp(out->sec[k].tag, s->tag, 4) &&
          out->sec[k].instance == s->instance)
        return bad(err, "a section appears twice");
    out->n = i + 1;
  }
  if (r.off != len)
    return bad(err, "it has data after its last section");
  return 0;
}

const struct vmk_snap_section *vmk_snap_find(const struct vmk_snap_file *f,
                                             const char *tag,
                                             uint32_t instance) {
  for (unsigned i = 0; i < f->n; i++)
    if (!memcmp(f->sec[i].tag, tag, 4) && f->sec[i].instance == instance)
      return &f->sec[i];
  return NULL;
}
