#!/bin/sh
# Runs an arm64 program under vmkit-exec and checks what Linux would give:
# run_prog_expect.sh RUNNER STATUS PATTERN PROGRAM [ARGS...]
# The exit status must be STATUS, stdout must hold no "FAIL" line, and
# when PATTERN is not empty, exactly one line of stderr must match it
# (grep -E) — e.g. the emulator's own "segmentation fault" report, which a
# crash of vmkit itself would not print.
set -u
runner=$1 want=$2 pattern=$3
shift 3
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$runner" "$@" >"$out" 2>"$err"
st=$?
cat "$out"
cat "$err"
fail=0
if [ "$st" != "$want" ]; then
  echo "FAILED: exit status $st, expected $want"
  fail=1
fi
if grep -q '^FAIL' "$out"; then
  echo "FAILED: the program reported failures"
  fail=1
fi
if [ -n "$pattern" ]; then
  n=$(grep -cE "$pattern" "$err")
  if [ "$n" != 1 ]; then
    echo "FAILED: $n stderr lines match '$pattern', expected 1"
    fail=1
  fi
fi
[ $fail = 0 ] && echo "ok: status $st"
exit $fail
