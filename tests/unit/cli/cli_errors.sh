#!/usr/bin/env bash
# Every bad flag or missing file gets exit status 2 and exactly one line on
# stderr that names the problem. Usage: cli_errors.sh PATH/TO/vmkit
set -u
vmkit=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'not a kernel' >"$tmp/notkernel"
: >"$tmp/disk.img"
fails=0

# expect STATUS PATTERN -- ARGS...: the exit status, and a regex the single
# stderr line must match.
expect() {
  local want=$1 pat=$2; shift 3
  "$vmkit" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local got=$?
  local lines; lines=$(wc -l <"$tmp/err")
  if [ "$got" != "$want" ] || ! grep -Eq -- "$pat" "$tmp/err" || [ "$lines" -ne 1 ]; then
    echo "FAIL: vmkit $* -> status $got (want $want), stderr ($lines lines):"
    sed 's/^/    /' "$tmp/err"
    fails=$((fails + 1))
  else
    echo "ok: vmkit $* -> $got: $(cat "$tmp/err")"
  fi
}

expect 2 "unknown command 'bogus'" -- bogus
expect 2 "unknown flag '--frobnicate'" -- run --frobnicate
expect 2 "unknown engine 'xen'" -- run --engine xen --kernel "$tmp/notkernel"
expect 2 "--cpus takes a whole number from 1 to 8, not '0'" -- run --cpus 0
expect 2 "--cpus takes a whole number from 1 to 8, not 'two'" -- run --cpus two
expect 2 "--cpus takes a whole number from 1 to 8, not '99'" -- run --cpus 99
expect 2 "--memory takes a size such as 512M or 2G, not 'lots'" -- run --memory lots
expect 2 "--memory must be between" -- run --memory 1M
expect 2 "--engine needs a value" -- run --engine
expect 2 "cannot use kernel '$tmp/missing'" -- run --kernel "$tmp/missing"
expect 2 "cannot use initrd '$tmp/missing'" -- run --kernel "$tmp/notkernel" --initrd "$tmp/missing"
expect 2 "cannot use disk '$tmp/nodisk.img'" -- run --kernel "$tmp/notkernel" --disk "$tmp/nodisk.img"
expect 2 "is a directory" -- run --kernel "$tmp"
expect 2 "'rx' is not an option" -- run --kernel "$tmp/notkernel" --disk "$tmp/disk.img,rx"
expect 2 "given twice" -- run --kernel "$tmp/notkernel" --disk "$tmp/disk.img" --disk "$tmp/disk.img"
mkdir -p "$tmp/sharedir"
longtag=0123456789012345678901234567890123456
expect 2 "cannot share folder '$tmp/noshare'" -- run --kernel "$tmp/notkernel" --share "$tmp/noshare"
expect 2 "is not a directory" -- run --kernel "$tmp/notkernel" --share "$tmp/disk.img"
expect 2 "share tag 'x' is given twice" -- run --kernel "$tmp/notkernel" --share "$tmp/sharedir,tag=x" --share "$tmp,tag=x"
expect 2 "share tag 'sharedir' is given twice" -- run --kernel "$tmp/notkernel" --share "$tmp/sharedir" --share "$tmp/sharedir/"
expect 2 "share tag '$longtag' is 37 bytes" -- run --kernel "$tmp/notkernel" --share "$tmp/sharedir,tag=$longtag"
expect 2 "has a space, quote" -- run --kernel "$tmp/notkernel" --share "$tmp/sharedir,tag=a b"
expect 2 "'rx' is not an option" -- run --kernel "$tmp/notkernel" --share "$tmp/sharedir,rx"
expect 2 "--share needs a folder" -- run --kernel "$tmp/notkernel" --share ",ro"
expect 2 "unexpected argument 'extra'" -- run extra
expect 2 "exec needs a program" -- exec

# --help lists every flag of run.
"$vmkit" run --help >"$tmp/help" || { echo "FAIL: run --help status"; fails=$((fails+1)); }
for f in --engine --cpus --memory --kernel --initrd --cmdline --disk --share --console --no-entropy --boot-timer --help; do
  grep -q -- "$f" "$tmp/help" || { echo "FAIL: run --help lacks $f"; fails=$((fails+1)); }
done
"$vmkit" --help | grep -q "exec PROGRAM" || { echo "FAIL: --help lacks exec"; fails=$((fails+1)); }

[ "$fails" -eq 0 ] && echo "all CLI error checks passed"
exit $(( fails > 0 ))
