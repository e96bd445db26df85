/* offset_words.h — test data whose every 8-byte word holds its own offset
 * (xor a tag per file): a piece of it read from or to the wrong place
 * shows, whatever the piece's size or alignment. For tests that read
 * files in pieces (test_bulk_read.c, test_loader.c). */
#ifndef VMK_TEST_OFFSET_WORDS_H
#define VMK_TEST_OFFSET_WORDS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A malloc'd buffer of len such bytes (the caller frees it); NULL when out
 * of memory. */
static inline uint8_t *offset_words(size_t len, uint64_t tag) {
  uint8_t *b = malloc(len);
  if (!b)
    return NULL;
  for (size_t i = 0; i < len; i += 8) {
    uint64_t w = i ^ tag;
    memcpy(b + i, &w, len - i < 8 ? len - i : 8);
  }
  return b;
}

#endif
