/* net_nat_absent.c — the NAT backend of a vmkit built without libslirp
 * (meson -Dslirp=disabled, or libslirp-dev missing): --net nat is refused
 * with a sentence saying how to get it, and the CLI's default network is
 * none instead of NAT.
 *
 * Threads: called on the VM's creating thread; no state.
 */
#include "backends/net.h"

#include <errno.h>

int vmk_net_slirp_create(const struct vmk_net_forward *fwd, unsigned nfwd,
                         unsigned mtu, struct vmk_net_backend **out,
                         vmk_error *err) {
  (void)fwd;
  (void)nfwd;
  (void)mtu;
  *out = NULL;
  return vmk_err(err, -ENOTSUP,
                 "this vmkit was built without libslirp, so NAT networking "
                 "(--net nat, --forward) is not available; install "
                 "libslirp-dev and rebuild, or use --net socket=PATH, "
                 "--net tap=IFNAME or --net none");
}
