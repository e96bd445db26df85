#!/bin/sh
# modules.sh — the default guest's /init loads the drivers of the devices
# the machine has and no others (tools/guest/build.sh's MODULE_WHEN). Two
# emu boots of the default guest list /proc/modules:
#  - a lean machine (--net none, no disk, vsock or share): the transport,
#    console, entropy, balloon, power key and panic-log drivers are in;
#    virtio_net, virtio_blk, vsock and virtio-fs (and the modules only they
#    need) are not;
#  - every device: all of them are in, dependencies included.
# Exit 77 (skip) when the default guest is not built.
#
# Usage: modules.sh [VMKIT_BINARY]  (meson passes the built vmkit)
# Env: VMKIT_GUEST_DIR (default <repo>/.cache/guest),
#      VMK_EMU_TEST_TIMEOUT seconds for each boot (default 600).
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/guest.sh"
# has LIST NAME: the guest listed module NAME
has() { tr -d '\r' <"$1" | grep -qx "mod=$2"; }
lacks() { ! has "$1" "$2"; }

cmd='while read -r m _; do echo "mod=$m"; done </proc/modules; echo listed'
b64=$(printf %s "$cmd" | base64 -w0)

# boot NAME ARGS...: one boot whose console goes to $tmp/NAME
boot() {
  name=$1
  shift
  timeout "$limit" "$vmkit" run --engine emu --cpus 1 --memory 256M \
    --console "$tmp/$name" --cmdline "console=hvc0 vmkit.quiet vmkit.cmd64=$b64" \
    "$@" >"$tmp/$name.out" 2>&1
  status=$?
  check "$name boot: vmkit exited 0 and the guest listed its modules" \
    sh -c "[ $status = 0 ] && grep -q '^listed' '$tmp/$name'" ||
    sed 's/^/    | /' "$tmp/$name.out" "$tmp/$name" | tail -n 30
}

boot lean --net none
for m in virtio_mmio virtio_console virtio_rng virtio_balloon gpio_keys evdev ramoops reed_solomon; do
  check "lean machine: $m is loaded" has "$tmp/lean" $m
done
for m in virtio_net failover net_failover virtio_blk vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport fuse virtiofs; do
  check "lean machine: $m (no such device) is not loaded" lacks "$tmp/lean" $m
done

mkdir -p "$tmp/share"
truncate -s 1M "$tmp/disk.img"
boot full --net nat --disk "$tmp/disk.img" --vsock "$tmp/v.sock" --share "$tmp/share,tag=s"
for m in virtio_mmio virtio_console virtio_rng virtio_balloon gpio_keys evdev ramoops reed_solomon \
  virtio_net failover net_failover virtio_blk vsock vmw_vsock_virtio_transport_common \
  vmw_vsock_virtio_transport fuse virtiofs; do
  check "every device: $m is loaded" has "$tmp/full" $m
done
check "every device: no module failed to load" sh -c "! grep -q 'failed to load' '$tmp/full'"

echo "modules: $fails failed"
[ "$fails" = 0 ]
