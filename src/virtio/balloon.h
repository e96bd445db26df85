/* balloon.h — virtio-balloon (virtio 1.2 §5.5): inflate/deflate queues of
 * 4 KiB page frame numbers, the statistics queue, and free page reporting,
 * each page the guest gives up returned to the host (madvise).
 * Served on the I/O thread under the transport lock; the target and info
 * calls below take that lock themselves, from any thread. */
#ifndef VMK_VIRTIO_BALLOON_H
#define VMK_VIRTIO_BALLOON_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "virtio/virtio.h"

#define VMK_VIRTIO_ID_BALLOON 5

/* Feature bits (§5.5.3). */
#define VMK_BALLOON_F_STATS_VQ 1
#define VMK_BALLOON_F_DEFLATE_ON_OOM 2
#define VMK_BALLOON_F_REPORTING 5

/* PFNs on the inflate/deflate queues count 4 KiB pages, whatever the
 * guest's or the host's page size (§5.5.6). */
#define VMK_BALLOON_PAGE 4096u

/* How often the device asks the guest for fresh statistics. */
#define VMK_BALLOON_STATS_INTERVAL_MS 5000

/* Statistics tags the device keeps (§5.5.6.3 and Linux's additions up to
 * 6.x); a tag at or beyond this is ignored, as the spec asks. */
#define VMK_BALLOON_NSTATS 16
/* One statistics buffer holds at most this many 10-byte entries: Linux
 * sends one entry per known tag, so 64 leaves room for many more. */
#define VMK_BALLOON_STATS_MAX 64
#define VMK_BALLOON_STAT_LEN 10

struct vmk_balloon_stat_set {
  uint64_t val[VMK_BALLOON_NSTATS];
  uint32_t valid;    /* bit n: val[n] came in the buffer and passed */
  unsigned rejected; /* entries dropped: a memory size larger than RAM */
};

/* Parses one statistics buffer (an array of le16 tag + le64 value). A
 * memory-size tag (free, total, available, caches) larger than ram_bytes
 * is dropped and counted; unknown tags are ignored; a repeated tag keeps
 * the last value. Returns 0, or -EINVAL when len is not a whole number of
 * entries or more than VMK_BALLOON_STATS_MAX of them. Pure; fuzzed. */
int vmk_balloon_stats_parse(const uint8_t *buf, size_t len, uint64_t ram_bytes,
                            struct vmk_balloon_stat_set *out);

/* target_pages: how many 4 KiB pages the guest is asked to give back at
 * first (0: none). */
int vmk_virtio_balloon_create(uint32_t target_pages,
                              struct vmk_virtio_device **out, vmk_error *err);

/* Asks the guest to give back target_pages pages in all (any thread). */
void vmk_virtio_balloon_set_target(struct vmk_virtio_device *dev,
                                   uint32_t target_pages);

struct vmk_balloon_info {
  uint32_t target_pages; /* num_pages, as set */
  uint32_t actual_pages; /* the guest's `actual`, checked against RAM */
  uint64_t inflated_pages, deflated_pages; /* PFNs received, in total */
  uint64_t reported_bytes;                 /* by free page reporting */
  uint64_t discard_failures;               /* madvise refused */
  struct vmk_balloon_stat_set stats;       /* the last statistics */
  uint64_t stats_updates;                  /* statistics buffers parsed */
  uint64_t stats_age_ms; /* since the last ones; UINT64_MAX: none yet */
};

/* Copies the device's counters (any thread); request_stats also hands the
 * guest's statistics buffer back now, so fresh statistics follow soon. */
void vmk_virtio_balloon_info(struct vmk_virtio_device *dev, bool request_stats,
                             struct vmk_balloon_info *out);

#endif
