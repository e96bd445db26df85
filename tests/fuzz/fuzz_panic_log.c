/* fuzz_panic_log.c — fuzz target for the ramoops panic-log reader
 * (src/machine/panic_log.c): the input's first byte picks the record size,
 * the rest is the region, copied to a buffer of exactly its size so that
 * any read beyond it trips ASan. The reason must come back NUL-terminated
 * printable ASCII. Single-threaded. */
#include <stdlib.h>
#include <string.h>

#include "machine/panic_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t record = (size_t)1 << (4 + data[0] % 12); /* 16 B .. 32 KiB */
  size_t n = size - 1;
  uint8_t *region = malloc(n ? n : 1);
  if (!region)
    return 0;
  memcpy(region, data + 1, n);
  struct vmk_panic_log pl;
  memset(&pl, 0x7f, sizeof(pl));
  if (vmk_panic_log_find(region, n, record, &pl)) {
    size_t len = strnlen(pl.reason, sizeof(pl.reason));
    if (len == sizeof(pl.reason))
      abort();
    for (size_t i = 0; i < len; i++)
      if (pl.reason[i] < 0x20 || pl.reason[i] > 0x7e)
        abort();
  }
  free(region);
  return 0;
}
