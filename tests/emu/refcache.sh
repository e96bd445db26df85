#!/bin/sh
# refcache.sh — emudiff's --ref-cache must be used, not only filled: a run
# fills the cache (qemu against itself: no mismatch), every cached result
# then gets one byte flipped, and the same run must report mismatches
# (the cached records were compared) while a run without the cache still
# agrees.
# usage: refcache.sh EMUDIFF   Exit: 0 ok, 1 failed, 77 no qemu-aarch64.
set -u
emudiff=$1
command -v qemu-aarch64 >/dev/null || exit 77
q="qemu-aarch64 -cpu cortex-a53"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
run() { "$emudiff" --group int-imm --count 300 --batch 100 --seed 7 \
  --runner "$q" --max-report 1 "$@" >"$dir/log" 2>&1; }
run --ref-cache "$dir/c" || { echo "first run failed"; cat "$dir/log"; exit 1; }
n=$(ls "$dir/c" | wc -l)
[ "$n" -eq 3 ] || { echo "expected 3 cached results, found $n"; exit 1; }
for f in "$dir"/c/*.ref; do
  # flip a byte well inside the records (past the header and stderr)
  python3 - "$f" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x40
open(p, "wb").write(bytes(b))
PY
done
if run --ref-cache "$dir/c"; then
  echo "flipped cached results were not noticed: the cache is not used"
  exit 1
fi
# the group's row: name cases ok mismatch ...
m=$(awk '$1 == "int-imm" { print $4 }' "$dir/log")
[ "${m:-0}" -gt 0 ] || { echo "no mismatch counted"; cat "$dir/log"; exit 1; }
run || { echo "run without the cache failed"; cat "$dir/log"; exit 1; }
echo "ok: cached reference results are reused"
