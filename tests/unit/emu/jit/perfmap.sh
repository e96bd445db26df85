#!/bin/sh
# perfmap.sh RUNNER PROGRAM — VMK_JIT_PERFMAP=1 makes `vmkit exec
# --emu-mode=jit` write perf's map of JIT code, /tmp/perf-PID.map: one
# "start size jit:GUESTPC" line per translation, one of them for the
# program's entry point (its ELF e_entry).
set -u
runner=$1 prog=$2
VMK_JIT_PERFMAP=1 "$runner" --emu-mode=jit "$prog" >/dev/null &
pid=$!
wait $pid # (the program's own status: intmix exits 2, as natively)
map=/tmp/perf-$pid.map
trap 'rm -f "$map"' EXIT
[ -s "$map" ] || { echo "FAILED: no $map"; exit 1; }
bad=$(grep -cvE '^[0-9a-f]+ [0-9a-f]+ jit:[0-9a-f]+$' "$map")
[ "$bad" = 0 ] || { echo "FAILED: $bad malformed lines in $map"; head -3 "$map"; exit 1; }
entry=$(od -An -tx8 -j24 -N8 "$prog" | tr -d ' ' | sed 's/^0*//')
grep -q " jit:$entry\$" "$map" ||
  { echo "FAILED: no translation named jit:$entry (the entry point)"; exit 1; }
echo "ok: $(wc -l <"$map") translations named"
