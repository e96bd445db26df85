#!/bin/bash
# kvm_boot.sh — boot-to-init time of the default guest under vmkit/KVM and
# under QEMU/KVM, side by side in the same nested arm64 KVM host (this x86
# machine has no /dev/kvm; tools/nested/ boots an arm64 host with KVM under
# QEMU TCG, so absolute times are those of a TCG-emulated host: compare the
# ratio, not the seconds).
#
# Both VMMs boot the same Image + initrd with 2 vCPUs, 256 MiB, no disk and
# no network, console on the PL011 (ttyAMA0, the one console both have;
# `quiet`, so console speed does not dominate), and
# the guest's init runs `true` and powers off. For each run the nested host
# records /proc/uptime when it launches the VMM and when the console shows
# "vmkit-init: started" (the same line for both). vmkit also runs with
# --boot-timer (the guest's init writes the boot-timer byte first thing) and
# its own wall/CPU report is printed as is.
#
# Usage: bench/kvm_boot.sh [RUNS]   (default 3 runs of each, interleaved)
# Prints per-run times, the means and the ratio vmkit/QEMU. No thresholds.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-3}
WORK=$(mktemp -d /tmp/vmkit-bench.XXXXXX)
[ "${NESTED_KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
say() { echo "kvm_boot: $*"; }

bash "$ROOT/tools/deps.sh" >/dev/null 2>&1 || true
A64=$("$ROOT/tools/nested/build-vmkit-arm64.sh" "${VMKIT_ARM64_BUILD:-$ROOT/build-arm64}" 2>"$WORK/build.log" | tail -1) ||
  { cat "$WORK/build.log"; say "the arm64 cross build failed"; exit 1; }
[ -x "$A64/src/cli/vmkit" ] || { say "no arm64 vmkit CLI was built (is vmkit run on main yet?)"; exit 1; }
if [ -x "$ROOT/tools/guest/build.sh" ]; then
  "$ROOT/tools/guest/build.sh" >"$WORK/guest.log" 2>&1 ||
    { cat "$WORK/guest.log"; say "building the default guest failed"; exit 1; }
fi
GUEST=$ROOT/.cache/guest
[ -f "$GUEST/Image" ] && [ -f "$GUEST/initrd" ] || { say "no default guest in $GUEST"; exit 1; }
QB=$("$ROOT/tools/nested/build-qemu-bundle.sh" 2>"$WORK/qemu.log" | tail -1) ||
  { cat "$WORK/qemu.log"; say "fetching QEMU for arm64 failed"; exit 1; }

P=$WORK/payload
mkdir -p "$P/payload/guest" "$P/scenarios" "$P/qemu"
cp "$A64/src/cli/vmkit" "$P/payload/"
# vmkit is linked dynamically (libslirp): its libraries and loader go to /lib.
mkdir -p "$P/lib" && cp "$A64"/runlibs/* "$P/lib/"
cp "$GUEST/Image" "$GUEST/initrd" "$P/payload/guest/"
cp -r "$QB/bin" "$QB/lib" "$P/qemu/"

cat >"$P/scenarios/bench.sh" <<'EOF'
# Runs in the nested host: times each VMM from launch to the guest's
# "vmkit-init: started" console line (/proc/uptime, 10 ms resolution).
up() { cut -d' ' -f1 /proc/uptime; }
stamp() { # stamp TAG: copy stdin to stdout, print the uptime at the init line
  while IFS= read -r line; do
    case $line in
    *"vmkit-init: started"*) echo "bench-init $1 $(up)" ;;
    esac
    printf '%s\n' "$line"
  done
}
G=/payload/guest
CMD="console=ttyAMA0 quiet vmkit.boottimer vmkit.quiet vmkit.cmd=true"
# Console input: a FIFO nobody writes (/dev/null cannot be polled).
mkfifo /tmp/console-in && exec 3<>/tmp/console-in
i=1
while [ $i -le RUNS ]; do
  echo "bench-start vmkit $(up)"
  /payload/vmkit run --engine kvm --cpus 2 --memory 256M --kernel $G/Image \
    --initrd $G/initrd --net none --console stdio --boot-timer --cmdline "$CMD" \
    <&3 2>&1 | stamp vmkit
  echo "bench-end vmkit $(up)"
  echo "bench-start qemu $(up)"
  /qemu/lib/ld-linux-aarch64.so.1 --library-path /qemu/lib \
    /qemu/bin/qemu-system-aarch64 -M virt,gic-version=3 -accel kvm -cpu host \
    -smp 2 -m 256M -nographic -nic none -no-reboot -kernel $G/Image \
    -initrd $G/initrd -append "$CMD" </dev/null 2>&1 | stamp qemu
  echo "bench-end qemu $(up)"
  i=$((i + 1))
done
EOF
sed -i "s/RUNS ]/$RUNS ]/" "$P/scenarios/bench.sh"

say "booting the nested host and running $RUNS boots of each (TCG; slow)"
NESTED_TIMEOUT=${NESTED_TIMEOUT:-3000} "$ROOT/tools/nested/run-host.sh" \
  "$P" bench "$WORK/console.log" || { cat "$WORK/console.log"; say "the nested host failed"; exit 1; }
tr -d '\r' <"$WORK/console.log" >"$WORK/console.txt"
if [ "${BENCH_VERBOSE:-0}" = 1 ]; then cat "$WORK/console.txt"; fi

grep -E 'nested-host: up after|nested-outer' "$WORK/console.txt" | sed 's/^/kvm_boot: /'
grep -iE 'boot.?tim' "$WORK/console.txt" | grep -v 'vmkit.boottimer' | sed 's/^/kvm_boot: vmkit reports: /'
awk '
  /^bench-start / { start[$2] = $3 }
  /^bench-init /  { if ($2 in start) { t = $3 - start[$2]; sum[$2] += t; n[$2]++;
                      printf "kvm_boot: %-5s run %d: %.2f s to init\n", $2, n[$2], t; delete start[$2] } }
  END {
    if (n["vmkit"] == 0 || n["qemu"] == 0) { print "kvm_boot: missing measurements (see the console with BENCH_VERBOSE=1)"; exit 1 }
    mv = sum["vmkit"] / n["vmkit"]; mq = sum["qemu"] / n["qemu"];
    printf "kvm_boot: mean boot-to-init: vmkit/KVM %.2f s, QEMU/KVM %.2f s (nested host under TCG)\n", mv, mq;
    printf "kvm_boot: ratio vmkit/QEMU = %.2f\n", mv / mq
  }' "$WORK/console.txt"
