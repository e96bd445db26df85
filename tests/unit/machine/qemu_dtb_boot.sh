#!/bin/bash
# qemu_dtb_boot.sh — boots the default guest's real arm64 kernel under
# qemu-system-aarch64 (TCG) with the kernel, initrd and device tree exactly
# where vmkit's loader put them and the tree vmkit generates, then checks from inside the
# guest that the kernel took everything from that tree: the command line,
# the initrd range, both CPUs (PSCI), the PL011/PL031/PL061 devices.
# It checks the machine model against a real kernel before any vmkit engine
# can run one. Skipped (77) without qemu-system-aarch64 or the default guest
# (tools/guest/build.sh, or set VMKIT_GUEST_DIR).
# Usage: qemu_dtb_boot.sh DTB_TOOL SOURCE_ROOT
set -u
tool=$1
root=$2
guest=${VMKIT_GUEST_DIR:-$root/.cache/guest}
command -v qemu-system-aarch64 >/dev/null || { echo "skip: no qemu-system-aarch64"; exit 77; }
[ -f "$guest/Image" ] && [ -f "$guest/initrd" ] || { echo "skip: no default guest in $guest"; exit 77; }

tmp=$(mktemp -d /tmp/vmk-dtb-qemu.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
marker="vmk-dtb-$$"
cmd='echo BEGIN; nproc; cat /proc/cmdline; ls /sys/bus/amba/devices; cat /sys/class/rtc/rtc0/name; echo END'
layout=$("$tool" "$guest/Image" "$guest/initrd" \
  "console=ttyAMA0 panic=-1 $marker vmkit.cmd=\"$cmd\"" 2 512 "$tmp/virt.dtb" 2) || exit 1
eval "$layout"

# QEMU runs the boot stub as firmware and its loader device puts every byte
# where vmkit's loader chose. With firmware QEMU still writes its own tree
# at the RAM base, so the guest's RAM (the tree's /memory) starts 2 MiB up.
# acpi=off: with firmware and ACPI, QEMU leaves the PL061 out.
# -nodefaults: no default NIC (its option ROM comes from a package that
# tools/deps.sh does not install) nor any other device the tree lacks.
timeout 300 qemu-system-aarch64 -M virt,gic-version=3,acpi=off -cpu cortex-a57 \
  -nodefaults -serial stdio -smp 2 -m 512 -display none -no-reboot -bios "$tmp/virt.dtb.boot" \
  -device loader,file="$guest/Image",addr="$kernel_gpa",force-raw=on \
  -device loader,file="$guest/initrd",addr="$initrd_gpa",force-raw=on \
  -device loader,file="$tmp/virt.dtb",addr="$fdt_gpa",force-raw=on \
  </dev/null >"$tmp/console.log" 2>&1
out=$(sed -n '/^BEGIN/,/^END/p' "$tmp/console.log" | tr -d '\r')

fail=0
check() {
  if ! grep -qE -- "$1" <<<"$out"; then
    echo "FAIL: guest output lacks /$1/ ($2)"
    fail=1
  fi
}
check "^2$" "two CPUs brought up through PSCI"
check "$marker" "bootargs from /chosen"
check "9000000.pl011" "PL011 probed"
check "9010000.pl031" "PL031 probed"
check "9030000.pl061" "PL061 probed"
check "rtc-pl031" "RTC registered"
grep -q "Freeing initrd memory" "$tmp/console.log" || { echo "FAIL: initrd not used"; fail=1; }
echo "$out"
if [ $fail -ne 0 ]; then
  echo "--- guest console ---"
  cat "$tmp/console.log"
fi
exit $fail
