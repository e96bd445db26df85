#!/bin/sh
# panic.sh — a guest kernel panic ends the VM, with Debian's arm64 kernel
# (no pvpanic driver): one emu boot of the default guest whose command
# crashes the kernel through sysrq (panic=-1: the kernel resets after
# writing its log to vmkit's ramoops region). Checks: the guest's ramoops
# driver took the region vmkit described; vmkit exits 1, saying the guest
# kernel panicked with the kernel's own panic line, instead of restarting
# the VM (the default on a reboot: the guest's init starts only once).
# The command line leaves pstore's default deflate compression on, so the
# host inflates the record (the default command line turns it off).
# Exit 77 (skip) when the default guest is not built.
#
# Usage: panic.sh [VMKIT_BINARY]  (meson passes the built vmkit)
# Env: VMKIT_GUEST_DIR (default <repo>/.cache/guest),
#      VMK_EMU_TEST_TIMEOUT seconds for the boot (default 600).
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/guest.sh"

cmd='dmesg | grep "ramoops: using"; echo guest-crashing; echo c >/proc/sysrq-trigger'
start=$(date +%s)
timeout "$limit" "$vmkit" run --engine emu --cpus 1 \
  --console "$tmp/console" \
  --cmdline "console=hvc0 panic=-1 vmkit.cmd64=$(printf %s "$cmd" | base64 -w0)" \
  >"$tmp/out" 2>&1
status=$?
echo "panic run took $(($(date +%s) - start)) s, exit status $status"

check "the guest's ramoops driver uses the region vmkit gave it" \
  grep -q "ramoops: using 0x10000@0x" "$tmp/console"
check "the guest crashed its kernel" grep -q "^guest-crashing" "$tmp/console"
check "vmkit exited 1" test "$status" -eq 1
check "vmkit said the guest kernel panicked, with the kernel's reason" \
  grep -q "^vmkit: the guest kernel panicked: Kernel panic - not syncing: sysrq triggered crash$" \
  "$tmp/out"
check "vmkit did not restart the VM after the panic's reset" \
  test "$(grep -c "vmkit-init: started" "$tmp/console")" -eq 1

if [ "$fails" -ne 0 ]; then
  echo "---- guest console ----"
  cat "$tmp/console"
  echo "---- vmkit output ----"
  cat "$tmp/out"
  echo "$fails check(s) failed"
  exit 1
fi
echo "all checks passed"
