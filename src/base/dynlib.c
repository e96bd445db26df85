/* dynlib.c — optional shared libraries loaded at first use (dynlib.h).
 *
 * Threads: any; no state of its own (dlerror is per thread).
 */
#include "base/dynlib.h"

#include <dlfcn.h>
#include <errno.h>

int vmk_dynlib_open(const char *soname, const struct vmk_dynsym *syms,
                    size_t nsyms, const char *what, const char *fix,
                    void **handle, vmk_error *err) {
  *handle = NULL;
  for (size_t i = 0; i < nsyms; i++)
    *syms[i].slot = NULL;
  void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    return vmk_err(err, -ENOENT, "%s needs %s, which cannot be loaded (%s); %s",
                   what, soname, why ? why : "unknown reason", fix);
  }
  for (size_t i = 0; i < nsyms; i++) {
    dlerror();
    void *p = dlsym(h, syms[i].name);
    if (!p) {
      for (size_t j = 0; j < i; j++)
        *syms[j].slot = NULL;
      dlclose(h);
      return vmk_err(err, -ENOSYS,
                     "%s needs %s with the function %s, which this copy "
                     "lacks (too old?); %s",
                     what, soname, syms[i].name, fix);
    }
    *syms[i].slot = p;
  }
  *handle = h;
  return 0;
}

void vmk_dynlib_close(void *handle) {
  if (handle)
    dlclose(handle);
}
