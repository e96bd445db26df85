/* size.h — parsing sizes such as 512M, 2G, 1048576 from the command line.
 * Pure functions; any thread. */
#ifndef VMK_CLI_SIZE_H
#define VMK_CLI_SIZE_H

#include <stdint.h>

/* Accepts a decimal number with an optional K, M, G or T suffix (binary
 * units, optional trailing 'B' or 'iB'); a bare number is bytes. Returns 0,
 * or -EINVAL for anything else, including overflow. */
int vmk_parse_size(const char *s, uint64_t *out);

#endif
