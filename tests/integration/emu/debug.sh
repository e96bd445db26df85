#!/bin/sh
# debug.sh — integration test of the emu engine's self-hosted debug: builds
# ptrace_debug.c (static arm64, with the cross compiler), puts it on a disk
# image and runs it in the default guest on 2 vCPUs. In the guest it
# single-steps a child with PTRACE_SINGLESTEP and uses a hardware
# breakpoint and a hardware write watchpoint through
# PTRACE_SETREGSET NT_ARM_HW_BREAK / NT_ARM_HW_WATCH, as gdb does (see the
# program's header). Checks that the guest kernel found the 6 breakpoints
# and 4 watchpoints ID_AA64DFR0_EL1 announces and that the program said ok.
# Exit 77 (skip) when the default guest is not built or there is no arm64
# cross compiler (tools/deps/emudebug.txt installs it).
#
# Usage: debug.sh [VMKIT_BINARY]  (meson passes the built vmkit)
# Env: VMKIT_GUEST_DIR (default <repo>/.cache/guest),
#      VMK_EMU_TEST_TIMEOUT seconds for the boot (default 600).
set -u

here=$(cd "$(dirname "$0")" && pwd)
cc=aarch64-linux-gnu-gcc
. "$here/../lib/guest.sh"
if ! command -v "$cc" >/dev/null; then
  echo "SKIP: no $cc (install the packages in tools/deps/emudebug.txt)"
  exit 77
fi

if ! "$cc" -std=gnu11 -O1 -Wall -Wextra -static -o "$tmp/pd" \
  "$here/ptrace_debug.c"; then
  echo "FAIL: building ptrace_debug.c"
  exit 1
fi
size=$(stat -c %s "$tmp/pd")
truncate -s 4M "$tmp/disk.img"
dd if="$tmp/pd" of="$tmp/disk.img" conv=notrunc 2>/dev/null

cmd="head -c $size /dev/vda > /pd; chmod +x /pd; /pd;\
 dmesg | grep 'hw-breakpoint: found'"
start=$(date +%s)
timeout "$limit" "$vmkit" run --engine emu --cpus 2 --memory 256M \
  --disk "$tmp/disk.img" --console "$tmp/console" \
  --cmdline "console=hvc0 vmkit.cmd=\"$cmd\"" >"$tmp/out" 2>&1
status=$?
echo "debug run took $(($(date +%s) - start)) s, exit status $status"

has() { grep -q "$1" "$tmp/console"; }
check "vmkit exited 0 after the guest powered off" test "$status" -eq 0
check "the guest kernel found 6 breakpoints and 4 watchpoints" \
  has "hw-breakpoint: found 6 breakpoint and 4 watchpoint registers"
check "ptrace saw the same counts" \
  has "^ptrace-debug: breakpoints=6 watchpoints=4"
check "single step, hardware breakpoint and watchpoint worked" \
  has "^ptrace-debug: ok steps=20 breakpoint=1 watchpoint-hits=3"
if [ "$fails" -ne 0 ]; then
  echo "---- guest console ----"
  cat "$tmp/console"
  echo "---- vmkit output ----"
  cat "$tmp/out"
  echo "$fails check(s) failed"
  exit 1
fi
echo "all checks passed"
