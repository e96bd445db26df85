/* fuzz_input.h — reads a fuzz input as a stream of little-endian integers
 * (zero once it runs out), shared by the virtio harnesses so that the same
 * bytes drive them the same way. Single-threaded, no shared state.
 */
#ifndef VMK_TESTS_FUZZ_INPUT_H
#define VMK_TESTS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
  const uint8_t *p;
  size_t n;
};

static inline uint8_t u8(struct input *in) {
  if (!in->n)
    return 0;
  in->n--;
  return *in->p++;
}
static inline uint16_t u16(struct input *in) {
  return (uint16_t)(u8(in) | u8(in) << 8);
}
static inline uint32_t u32(struct input *in) {
  return (uint32_t)u16(in) | (uint32_t)u16(in) << 16;
}

#endif
