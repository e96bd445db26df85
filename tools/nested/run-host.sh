#!/bin/bash
# run-host.sh — boot the nested arm64 KVM host (tools/nested/build-host.sh)
# under qemu-system-aarch64 (TCG, EL2 enabled so the host kernel gets KVM)
# with a payload directory appended to its initramfs, and run one scenario.
#
# Usage: run-host.sh PAYLOAD_DIR SCENARIO LOG [DISK_IMAGE]
#   PAYLOAD_DIR  files copied to / of the host (scenarios/SCENARIO.sh, ...)
#   SCENARIO     name passed as nested.scenario= on the host's command line
#   LOG          the host's serial console is written here (and to stderr
#                if NESTED_VERBOSE=1)
#   DISK_IMAGE   optional raw image attached as the host's /dev/vdb (vda is
#                a small blank scratch disk, so the numbering is stable)
# NESTED_CPU: the host's -cpu (default max,pauth-impdef=on; see below).
# NESTED_EXTRA_DISKS: more raw images (space-separated, with DISK_IMAGE
# given), attached as /dev/vdc, /dev/vdd, ... in that order.
# Exits with QEMU's status; the scenario's status is in the log as
# "nested-host: scenario NAME exit=N". NESTED_TIMEOUT (s, default 1500)
# bounds the run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PAYLOAD=$1 SCENARIO=$2 LOG=$3 DISK=${4:-}
HOST=$("$ROOT/tools/nested/build-host.sh")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

(cd "$PAYLOAD" && find . | sort | cpio -o -H newc --quiet) >"$WORK/payload.cpio"
cat "$HOST/base.cpio" "$WORK/payload.cpio" >"$WORK/initrd.cpio"
truncate -s 1M "$WORK/scratch.img"
# QEMU's virt board gives the LAST -device the lowest virtio-mmio slot, which
# the kernel probes first: so list DISK first to make it vdb, the scratch
# disk last to make it vda (the host init prints every disk's size, so a
# mix-up shows in the log).
drives=()
# Extra disks before DISK, the last one first, so they follow it.
extra=(${NESTED_EXTRA_DISKS:-})
for ((i = ${#extra[@]} - 1; i >= 0; i--)); do
  drives+=(-drive "file=${extra[$i]},format=raw,if=none,id=x$i,cache=writethrough"
    -device virtio-blk-device,drive=x$i)
done
if [ -n "$DISK" ]; then
  drives+=(-drive "file=$DISK,format=raw,if=none,id=d1,cache=writethrough"
    -device virtio-blk-device,drive=d1)
fi
drives+=(-drive "file=$WORK/scratch.img,format=raw,if=none,id=d0"
  -device virtio-blk-device,drive=d0)

# The host's CPU signs pointers with QEMU's cheap implementation-defined
# algorithm (pauth-impdef) instead of the architected QARMA5: the host's
# Debian kernel signs and checks the return address of every function that
# calls another, and TCG computing QARMA5 for each made the host kernel's
# work (system calls, page faults, VM exits) cost 2-4 times as much: the
# host booted in 11.4 s instead of 2.8 s. No arm64 CPU charges that tax.
# Without it the nested tests run faster, and both VMMs in
# bench/kvm_boot.sh start in about half the time (QEMU 4.9 -> 2.5 s, vmkit
# 1.2 -> 0.7 s) with their ratio unchanged. NESTED_CPU overrides the -cpu
# value (NESTED_CPU=max compares); the log's last line names it.
cpu=${NESTED_CPU:-max,pauth-impdef=on}
cmd=(qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu "$cpu"
  -smp 2 -m 2048 -nographic -no-reboot
  -kernel "$HOST/Image" -initrd "$WORK/initrd.cpio"
  -append "console=ttyAMA0 rdinit=/init panic=-1 nested.scenario=$SCENARIO"
  "${drives[@]}" -nic none)
start=$(date +%s.%N)
set +e
if [ "${NESTED_VERBOSE:-0}" = 1 ]; then
  timeout "${NESTED_TIMEOUT:-1500}" "${cmd[@]}" </dev/null 2>&1 | tee "$LOG" >&2
  rc=${PIPESTATUS[0]}
else
  timeout "${NESTED_TIMEOUT:-1500}" "${cmd[@]}" </dev/null >"$LOG" 2>&1
  rc=$?
fi
set -e
end=$(date +%s.%N)
echo "nested-outer: qemu -cpu $cpu exit=$rc wall=$(echo "$end - $start" | bc) s" >>"$LOG"
exit $rc
