/* dynlib.h — loading an optional shared library when a feature is first
 * used (dlopen), so a VM that does not use the feature never maps it: NAT
 * networking (libslirp, which brings glib and pcre2) and the REST API
 * (libmicrohttpd, which brings gnutls and its half-dozen libraries) are
 * most of what vmkit's process would otherwise map besides its own code.
 *
 * Each user keeps its own handle and function pointers (no process-wide
 * cache: the dynamic loader counts references, and a second dlopen of a
 * loaded library only bumps the count). Any thread may call these.
 */
#ifndef VMK_BASE_DYNLIB_H
#define VMK_BASE_DYNLIB_H

#include <stddef.h>

#include "base/error.h"

/* One function to find: its name and where its address goes. */
struct vmk_dynsym {
  const char *name;
  void **slot;
};

/* Opens soname (RTLD_NOW | RTLD_LOCAL) and fills every slot. On success
 * returns 0 and *handle (for vmk_dynlib_close). On failure returns
 * -ENOENT (the library cannot be loaded) or -ENOSYS (it lacks a function:
 * too old), every slot NULL, and err says which, with why (the dynamic
 * loader's message) and the feature the caller names in `what` (e.g.
 * "NAT networking (--net nat)"), ending with `fix` (e.g. "install the
 * libslirp0 package, or use --net none"). */
int vmk_dynlib_open(const char *soname, const struct vmk_dynsym *syms,
                    size_t nsyms, const char *what, const char *fix,
                    void **handle, vmk_error *err);

/* handle may be NULL. */
void vmk_dynlib_close(void *handle);

#endif
