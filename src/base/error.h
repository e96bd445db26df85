/* error.h — filling a vmk_error with one actionable sentence.
 * Any thread; no shared state. */
#ifndef VMK_BASE_ERROR_H
#define VMK_BASE_ERROR_H

#include "vmkit/vmkit.h"

/* Sets err (may be NULL) to code (a negative errno) and the formatted
 * sentence; returns code so callers can `return vmk_err(...)`. */
int vmk_err(vmk_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void vmk_err_clear(vmk_error *err) {
  if (err) {
    err->code = 0;
    err->msg[0] = '\0';
  }
}

#endif
