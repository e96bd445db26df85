#!/bin/sh
# busybox.sh — real-program proof for vmkit's user-mode runner: Debian's
# static arm64 busybox must give byte-identical stdout and the same exit
# status under vmkit's runner as under qemu-aarch64, for every workload of
# tools/emu/busybox_workloads.sh (hashing, compression, sorting, awk
# arithmetic and float printf, sed, grep, a shell loop, bc, dc, ...).
#
# usage: busybox.sh [--runner CMD] [--qemu CMD] [--scale N] [--only NAME,..]
#                   [--self-check]
# The runner defaults to $VMKIT_EXEC; without one the test is skipped (77).
# --self-check: the runner is qemu, and one byte of one workload's output is
# flipped; succeeds only if exactly that difference is reported.
# Exit: 0 all identical, 1 some differ, 2 setup error, 77 skipped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runner=${VMKIT_EXEC:-${VMKIT_EXEC_DEFAULT:-}}
qemu=${QEMU_AARCH64:-qemu-aarch64}
scale=1
only=
selfcheck=
while [ $# -gt 0 ]; do
  case $1 in
  --runner) runner=$2; shift 2 ;;
  --qemu) qemu=$2; shift 2 ;;
  --scale) scale=$2; shift 2 ;;
  --only) only=$2; shift 2 ;;
  --self-check) selfcheck=1; runner=$qemu; shift ;;
  *) echo "usage: $0 [--runner CMD] [--qemu CMD] [--scale N] [--only W,..]" >&2
     exit 2 ;;
  esac
done
if [ -z "$runner" ]; then
  echo "busybox.sh: no runner (set VMKIT_EXEC or --runner); skipping"
  exit 77
fi
bb=$("$repo/tools/emu/fetch_busybox.sh" arm64) || {
  echo "busybox.sh: cannot fetch busybox-static:arm64" >&2; exit 2; }
. "$repo/tools/emu/busybox_workloads.sh"
work=$(mktemp -d /tmp/emu-busybox.XXXXXX)
trap 'rm -rf "$work"' EXIT
bb_prepare "$work/in" "$scale" || exit 2

fail=0 n=0
for w in $(bb_workloads); do
  if [ -n "$only" ] && ! echo ",$only," | grep -q ",$w,"; then continue; fi
  n=$((n + 1))
  # word splitting of $qemu/$runner is intended: they are command prefixes
  bb_run "$w" "$work/in" "$scale" $qemu "$bb" > "$work/$w.qemu" 2>"$work/$w.qemu.err"
  qrc=$?
  bb_run "$w" "$work/in" "$scale" $runner "$bb" > "$work/$w.vmkit" 2>"$work/$w.vmkit.err"
  vrc=$?
  if [ -n "$selfcheck" ] && [ "$w" = sha256sum ]; then
    # flip one byte of the output: the comparison below must catch it
    printf X | dd of="$work/$w.vmkit" bs=1 seek=3 conv=notrunc 2>/dev/null
  fi
  if [ $qrc -ne 0 ]; then
    echo "SETUP $w: qemu exit $qrc: $(head -c 300 "$work/$w.qemu.err")"
    fail=1
  elif [ $vrc -ne $qrc ] || ! cmp -s "$work/$w.qemu" "$work/$w.vmkit"; then
    echo "FAIL  $w: exit qemu=$qrc vmkit=$vrc, stdout $(wc -c < "$work/$w.qemu") vs $(wc -c < "$work/$w.vmkit") bytes"
    cmp "$work/$w.qemu" "$work/$w.vmkit" 2>&1 | head -1 | sed 's/^/      /'
    head -c 600 "$work/$w.vmkit.err" | sed 's/^/      vmkit stderr: /'
    fail=1
  else
    echo "ok    $w ($(wc -c < "$work/$w.qemu") bytes)"
  fi
  # round trips: the reference's own outputs must be right, too
  case $w in
  gunzip) cmp -s "$work/$w.qemu" "$work/in/text.txt" ||
    { echo "FAIL  gunzip: qemu output is not text.txt"; fail=1; } ;;
  gzip) gzip -dc < "$work/$w.vmkit" 2>/dev/null | cmp -s - "$work/in/text.txt" ||
    { echo "FAIL  gzip: vmkit's archive does not decompress to text.txt"; fail=1; } ;;
  esac
done
echo "busybox.sh: $n workloads, $([ $fail = 0 ] && echo all identical || echo DIFFERENCES)"
if [ -n "$selfcheck" ]; then
  [ $fail = 1 ] && echo "self-check: difference detected" && exit 0
  echo "self-check: FAILED to detect the flipped byte"
  exit 1
fi
exit $fail
