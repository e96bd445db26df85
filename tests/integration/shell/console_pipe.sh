#!/bin/bash
# console_pipe.sh VMKIT — guest console output into a pipe whose reader
# misbehaves, in one boot of the default guest on the PL011 console:
#   phase 1: the reader takes 10 bytes, then stops reading while the guest
#            prints ~350 KB (`vmkit run | sleep`): the vCPU must not block
#            (it used to, forever), output beyond the pipe and a 16 KiB
#            buffer is dropped;
#   phase 2: the reader exits (`vmkit run | head -c 10`) while the guest
#            prints again: vmkit must not die of SIGPIPE (it used to, with
#            status 141); the output becomes a sink.
# The guest marks the end of phase 1 on its disk (the host cannot read the
# console then); vmkit must end with status 0 when the guest powers off.
# Exit 77 when the default guest is not built.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
vmkit=${1:-$repo/build/src/cli/vmkit}
guest=${VMKIT_GUEST_DIR:-$repo/.cache/guest}
[ -f "$guest/Image" ] || { echo "SKIP: the default guest is not built"; exit 77; }
export VMKIT_GUEST_DIR="$guest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s 1M "$tmp/disk.img"

cmd='seq 1 60000; echo phase1-done-marker >/dev/vda; sync; sleep 3; seq 1 60000'
# Phase 1 reader: 10 bytes, then nothing until the marker is on the disk
# (bounded, so a blocked vmkit fails the test rather than hanging it).
reader() {
  head -c 10 >"$tmp/first"
  i=0
  while [ $i -lt 400 ] && ! grep -q phase1-done-marker "$tmp/disk.img"; do
    sleep 1; i=$((i + 1))
  done
  [ $i -lt 400 ] && echo marker >"$tmp/saw-marker"
}
start=$(date +%s)
timeout 900 "$vmkit" run --cmdline "console=ttyAMA0 panic=-1 vmkit.cmd=\"$cmd\"" \
  --disk "$tmp/disk.img" </dev/null 2>"$tmp/err" | reader
rc=${PIPESTATUS[0]}
fail() { echo "FAIL: $1"; echo "---- vmkit stderr ----"; cat "$tmp/err"; exit 1; }
[ -s "$tmp/first" ] || fail "the reader got no console output"
[ -f "$tmp/saw-marker" ] || fail "the guest never finished phase 1 (a vCPU blocked on the stalled console?)"
[ "$rc" -ne 141 ] || fail "vmkit died of SIGPIPE when the reader left"
[ "$rc" -eq 0 ] || fail "vmkit exited $rc, not 0"
echo "ok: stalled then closed console reader; the guest went on and powered off; vmkit exited 0 ($(( $(date +%s) - start )) s)"
