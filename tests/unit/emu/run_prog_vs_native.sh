#!/bin/sh
# Runs an arm64 program under vmkit-exec and the same program built for
# the host; their stdout and exit status must be identical. Arguments
# after the third go to the runner (--emu-mode=jit).
set -u
runner=$1 a64=$2 host=$3
shift 3
out1=$(mktemp) out2=$(mktemp)
trap 'rm -f "$out1" "$out2"' EXIT
"$runner" "$@" "$a64" >"$out1"; st1=$?
"$host" >"$out2"; st2=$?
if [ "$st1" != "$st2" ]; then
  echo "exit status differs: emulated $st1, native $st2"; exit 1
fi
if ! cmp -s "$out1" "$out2"; then
  echo "output differs:"; diff "$out1" "$out2" | head -20; exit 1
fi
[ -s "$out1" ] || { echo "no output"; exit 1; }
echo "ok: $(wc -l <"$out1") lines identical, status $st1"
