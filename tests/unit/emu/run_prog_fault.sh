#!/bin/sh
# Guest loads that must fault (progs/loadfault.c), in the interpreter and
# the translator: run_prog_fault.sh RUNNER PROGRAM WHERE KIND...
# For each KIND the program, run in both modes, must die of SIGSEGV
# (status 139) with vmkit's report "segmentation fault at PC=... addr=..."
# naming the pc and address the program announced ("expect pc=.. addr=..",
# addr=? for a straddling access: then the two modes must agree), the
# same in both modes. With DIRECT=1 in the environment, the translator's
# run must also have sent at least one host fault to a load's slow path
# (the direct loads are in use, and their faults are the guest's).
set -u
runner=$1 prog=$2 where=$3
shift 3
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
fail=0
for kind in "$@"; do
  prev=
  for mode in interp jit; do
    VMK_EXEC_TRACE=1 VMK_JIT_STRICT=1 "$runner" --emu-mode=$mode "$prog" \
      "$where" "$kind" >"$out" 2>"$err"
    st=$?
    exp=$(sed -n 's/^expect pc=\([^ ]*\) addr=\(.*\)$/\1 \2/p' "$out")
    rep=$(sed -n 's/^vmkit exec: segmentation fault at PC=\([^ ]*\) addr=\(.*\)$/\1 \2/p' "$err")
    what="$where $kind ($mode)"
    if [ "$st" != 139 ] || [ -z "$exp" ] || [ -z "$rep" ]; then
      echo "FAILED $what: status $st"; cat "$out" "$err"; fail=1; continue
    fi
    pc=${exp% *} addr=${exp#* }
    if [ "${rep% *}" != "$pc" ]; then
      echo "FAILED $what: fault at PC ${rep% *}, the load is at $pc"; fail=1
    fi
    if [ "$addr" != "?" ] && [ "${rep#* }" != "$addr" ]; then
      echo "FAILED $what: fault address ${rep#* }, expected $addr"; fail=1
    fi
    if [ -n "$prev" ] && [ "$prev" != "$rep" ]; then
      echo "FAILED $what: '$rep', the interpreter's was '$prev'"; fail=1
    fi
    if [ $mode = jit ] && [ "${DIRECT:-0}" = 1 ] &&
       ! grep -qE '^vmkit exec: [1-9][0-9]* host faults at direct loads' "$err"; then
      echo "FAILED $what: no host fault at a direct load"; cat "$err"; fail=1
    fi
    prev=$rep
    echo "ok $what: $rep"
  done
done
exit $fail
