/* emu_engine_stub.c — placeholder for the emu engine's system mode until it
 * is built (issue 5): probe says so in one sentence, so `vmkit run` on a
 * host without /dev/kvm fails clearly instead of pretending. */
#include <errno.h>

#include "engine/engine.h"

static int emu_probe(vmk_error *err) {
  return vmk_err(err, -ENOSYS,
                 "the emu engine cannot boot a VM yet (its system mode is "
                 "not built); use --engine kvm on an arm64 Linux host with "
                 "/dev/kvm");
}

static int emu_create(const struct vmk_engine_config *cfg,
                      struct vmk_engine **out, vmk_error *err) {
  (void)cfg;
  *out = NULL;
  return emu_probe(err);
}

const struct vmk_engine_ops vmk_engine_emu_ops = {
    .name = "emu",
    .probe = emu_probe,
    .create = emu_create,
};
