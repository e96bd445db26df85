/* kvm_stub.c — the kvm engine on hosts that are not arm64 Linux: every
 * operation fails with a sentence saying where the kvm engine runs and
 * where it is tested from this host (tests/integration/nested boots an
 * arm64 host with KVM under QEMU and runs the real engine there).
 * Any thread; no state.
 */
#include <errno.h>

#include "engine/engine.h"

static int kvm_stub_probe(vmk_error *err) {
  return vmk_err(err, -ENODEV,
                 "The kvm engine needs an arm64 Linux host with /dev/kvm (use "
                 "--engine emu here; tests/integration/nested shows how it is "
                 "tested from this host, in a nested arm64 KVM host under "
                 "QEMU).");
}

static int kvm_stub_create(const struct vmk_engine_config *cfg,
                           struct vmk_engine **out, vmk_error *err) {
  (void)cfg;
  *out = 0;
  return kvm_stub_probe(err);
}

static int kvm_stub_start(struct vmk_engine *e,
                          const struct vmk_boot_regs *boot, vmk_error *err) {
  (void)e;
  (void)boot;
  return kvm_stub_probe(err);
}

static int kvm_stub_pause(struct vmk_engine *e, vmk_error *err) {
  (void)e;
  return kvm_stub_probe(err);
}

static void kvm_stub_stop(struct vmk_engine *e) { (void)e; }

const struct vmk_engine_ops vmk_engine_kvm_ops = {
    .name = "kvm",
    .probe = kvm_stub_probe,
    .create = kvm_stub_create,
    .add_ioeventfd = 0,
    .start = kvm_stub_start,
    .pause = kvm_stub_pause,
    .resume = kvm_stub_pause,
    .stop = kvm_stub_stop,
    .destroy = kvm_stub_stop,
};
