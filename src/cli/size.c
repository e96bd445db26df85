/* size.c — parsing sizes from the command line. Any thread. */
#include "cli/size.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

int vmk_parse_size(const char *s, uint64_t *out) {
  if (!s || !isdigit((unsigned char)*s))
    return -EINVAL;
  uint64_t v = 0;
  for (; isdigit((unsigned char)*s); s++) {
    if (v > (UINT64_MAX - 9) / 10)
      return -EINVAL;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  unsigned shift = 0;
  switch (*s) {
  case 'k':
  case 'K':
    shift = 10;
    s++;
    break;
  case 'm':
  case 'M':
    shift = 20;
    s++;
    break;
  case 'g':
  case 'G':
    shift = 30;
    s++;
    break;
  case 't':
  case 'T':
    shift = 40;
    s++;
    break;
  default:
    break;
  }
  if (shift && (!strcasecmp(s, "ib") || !strcasecmp(s, "b")))
    s += strlen(s);
  else if (!shift && !strcasecmp(s, "b"))
    s++;
  if (*s)
    return -EINVAL;
  if (shift && v > (UINT64_MAX >> shift))
    return -EINVAL;
  *out = v << shift;
  return 0;
}
