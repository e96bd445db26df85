/* arch_state.c — helpers for the engine-neutral machine state
 * (arch_state.h). Plain data, no threads or locks of its own.
 */
#include "engine/arch_state.h"

#include <stdlib.h>
#include <string.h>

bool vmk_arch_state_alloc(struct vmk_arch_state *st, unsigned ncpus) {
  memset(st, 0, sizeof *st);
  st->vcpu = calloc(ncpus ? ncpus : 1, sizeof *st->vcpu);
  st->gicr = calloc(ncpus ? ncpus : 1, sizeof *st->gicr);
  if (!st->vcpu || !st->gicr) {
    vmk_arch_state_free(st);
    return false;
  }
  st->ncpus = ncpus;
  return true;
}

void vmk_arch_state_free(struct vmk_arch_state *st) {
  free(st->vcpu);
  free(st->gicr);
  st->vcpu = NULL;
  st->gicr = NULL;
  st->ncpus = 0;
}

bool vmk_vcpu_set_sysreg(struct vmk_vcpu_state *v, uint32_t enc, uint64_t val) {
  for (unsigned i = 0; i < v->nsys; i++)
    if (v->sys[i].enc == enc) {
      v->sys[i].val = val;
      return true;
    }
  if (v->nsys >= VMK_ARCH_MAX_SYSREGS)
    return false;
  v->sys[v->nsys++] = (struct vmk_sysreg_val){.enc = enc, .val = val};
  return true;
}

bool vmk_vcpu_get_sysreg(const struct vmk_vcpu_state *v, uint32_t enc,
                         uint64_t *val) {
  for (unsigned i = 0; i < v->nsys && i < VMK_ARCH_MAX_SYSREGS; i++)
    if (v->sys[i].enc == enc) {
      *val = v->sys[i].val;
      return true;
    }
  return false;
}
