#!/bin/sh
# Runs Debian's arm64 busybox-static under vmkit-exec and qemu-aarch64 on
# the same applet script; every output must be byte-identical. The busybox
# is VMK_BUSYBOX_ARM64 when set, else Debian's busybox-static:arm64 fetched
# by tools/emu/fetch_busybox.sh (as tests/emu/busybox.sh does). Fails, never
# skips, when qemu-aarch64 or the busybox cannot be had: tools/deps.sh
# installs qemu-user, and a test that skips on a fresh machine tests nothing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
runner="$(realpath "$1")${2:+ $2}" # $2: a runner flag (--emu-mode=jit)
command -v qemu-aarch64 >/dev/null || {
  echo "qemu-aarch64 is missing; run tools/deps.sh (package qemu-user)"; exit 1; }
bb=${VMK_BUSYBOX_ARM64:-$("$repo/tools/emu/fetch_busybox.sh" arm64)} || {
  echo "cannot fetch Debian's busybox-static:arm64 (tools/emu/fetch_busybox.sh)"; exit 1; }
[ -x "$bb" ] || { echo "no arm64 busybox at $bb"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# deterministic input data
i=0; : >"$tmp/in.txt"
while [ $i -lt 300 ]; do echo "line $((i * 7919 % 1000)) $i" >>"$tmp/in.txt"; i=$((i+1)); done
head -c 200000 /dev/zero | tr '\0' 'a' >"$tmp/a.bin"
cat "$tmp/in.txt" "$tmp/a.bin" "$tmp/in.txt" >"$tmp/mix.bin"
fail=0 n=0
check() { # name, shell command using $BB
  n=$((n+1))
  BB="$runner $bb" sh -c "$2" >"$tmp/v.out" 2>&1; sv=$?
  BB="qemu-aarch64 $bb" sh -c "$2" >"$tmp/q.out" 2>&1; sq=$?
  if [ $sv != $sq ] || ! cmp -s "$tmp/v.out" "$tmp/q.out"; then
    echo "FAIL $1 (status $sv vs qemu $sq)"; diff "$tmp/v.out" "$tmp/q.out" | head -5
    fail=$((fail+1))
  else
    echo "ok   $1"
  fi
}
cd "$tmp"
check echo '$BB echo hello world'
check sha256sum '$BB sha256sum mix.bin in.txt'
check md5sum '$BB md5sum mix.bin'
check gzip '$BB gzip -c mix.bin | $BB gunzip -c | $BB cmp - mix.bin && $BB gzip -9 -c in.txt | $BB wc -c'
check sort '$BB sort -k2 -n in.txt | $BB head -20; $BB sort -r in.txt | $BB tail -3'
check awk "\$BB awk '{ s += \$2; n++ } END { printf \"%d %.4f %e\\n\", s, s / n, s * 1.5 }' in.txt"
check sed "\$BB sed -e 's/line \\([0-9]*\\)/L\\1:/' -e '/5/d' in.txt | \$BB head -30"
check shloop "\$BB sh -c 'i=0; s=0; while [ \$i -lt 2000 ]; do i=\$((i+1)); s=\$((s+i*i%7)); done; echo \$i \$s'"
# the guest shell forks and runs host commands (sort, tr) through pipes
check pipes "\$BB sh -c 'for w in c a b; do echo \$w; done | sort | tr a-z A-Z'"
check dc "echo '2 64 ^ 3 / p 7 k 2 v p' | \$BB dc"
check signals "\$BB sh -c 'trap \"echo trapped\" USR1; kill -USR1 \$\$; echo after; sleep 0.1 & wait; echo waited \$?'"
check exitcode "\$BB sh -c 'exit 42'"
check wc '$BB wc in.txt mix.bin'
check od '$BB od -A x -t x1 in.txt | $BB head -5'
echo "$((n - fail))/$n applet checks identical"
[ $fail = 0 ]
