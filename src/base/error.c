/* error.c — filling a vmk_error. Any thread; no shared state. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

int vmk_err(vmk_error *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->code = code;
  }
  return code;
}
