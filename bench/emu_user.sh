#!/bin/sh
# emu_user.sh — user-mode emulation benchmark: the busybox workloads of
# tools/emu/busybox_workloads.sh, with inputs big enough to take ~1-5 s under
# qemu-aarch64, run under vmkit's runner (an optimized build without
# sanitizers), under qemu-aarch64 and natively (Debian's amd64
# busybox-static: the physical limit). Prints one row per workload with the
# best-of-N wall time of each and the ratio qemu/vmkit (>1: vmkit faster).
# No thresholds: this measures, it does not judge.
#
# usage: bench/emu_user.sh [--runner CMD] [--qemu CMD] [--reps N]
#                          [--only W,..] [--no-build]
# Without --runner (or $VMKIT_EXEC) it builds build-bench (release,
# -Dtests=false) and uses "build-bench/src/cli/vmkit exec" (or, until the CLI
# has it, the emulator's developer runner build-bench/src/emu/user/vmkit-exec).
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
runner=${VMKIT_EXEC:-}
qemu=${QEMU_AARCH64:-qemu-aarch64}
reps=2
only=
build=1
while [ $# -gt 0 ]; do
  case $1 in
  --runner) runner=$2; shift 2 ;;
  --qemu) qemu=$2; shift 2 ;;
  --reps) reps=$2; shift 2 ;;
  --only) only=$2; shift 2 ;;
  --no-build) build=; shift ;;
  *) echo "usage: $0 [--runner CMD] [--qemu CMD] [--reps N] [--only W,..] [--no-build]" >&2
     exit 2 ;;
  esac
done
bb_probe=$("$repo/tools/emu/fetch_busybox.sh" arm64) || exit 2
if [ -z "$runner" ]; then
  if [ -n "$build" ]; then
    [ -d "$repo/build-bench" ] ||
      meson setup "$repo/build-bench" "$repo" --buildtype=release -Dtests=false >/dev/null ||
      exit 2
    ninja -C "$repo/build-bench" -j2 >/dev/null || exit 2
  fi
  if [ -x "$repo/build-bench/src/cli/vmkit" ] &&
     "$repo/build-bench/src/cli/vmkit" exec "$bb_probe" true 2>/dev/null; then
    runner="$repo/build-bench/src/cli/vmkit exec"
  elif [ -x "$repo/build-bench/src/emu/user/vmkit-exec" ]; then
    # the emulator's developer runner, until the CLI has `vmkit exec`
    runner="$repo/build-bench/src/emu/user/vmkit-exec"
  else
    echo "emu_user.sh: no runner in build-bench; pass --runner" >&2
    runner=
  fi
fi
bb=$("$repo/tools/emu/fetch_busybox.sh" arm64) || exit 2
bbx=$("$repo/tools/emu/fetch_busybox.sh" amd64) || exit 2
. "$repo/tools/emu/busybox_workloads.sh"
work=$(mktemp -d /tmp/emu-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# several input sizes (scale 1 = 256 KiB random + ~250 KiB of text lines), so
# that each workload takes roughly 1-5 s under qemu on a 2-core x86-64
for s in 2 4 8 32 64; do bb_prepare "$work/in$s" $s || exit 2; done

# data size and loop scale per workload
data_scale() {
  case $1 in
  sha256sum|sha512sum|md5sum|tr) echo 64 ;;
  sha1sum|gunzip|wc) echo 32 ;;
  grep) echo 8 ;;
  gzip|sort|awk-fields) echo 4 ;;
  *) echo 2 ;;
  esac
}
loop_scale() {
  case $1 in
  awk-float) echo 3 ;;
  sh-loop) echo 4 ;;
  bc) echo 2 ;;
  dc) echo 100 ;;
  factor) echo 2 ;;
  *) echo 1 ;;
  esac
}
now() { date +%s%N; }
# best-of-$reps wall time in ms of one workload under a prefix; output kept
timeit() {
  _w=$1 _out=$2
  shift 2
  _best=
  _i=0
  while [ $_i -lt "$reps" ]; do
    _t0=$(now)
    bb_run "$_w" "$work/in$(data_scale "$_w")" "$(loop_scale "$_w")" "$@" > "$_out" 2>/dev/null ||
      { echo fail; return; }
    _t1=$(now)
    _ms=$(( (_t1 - _t0) / 1000000 ))
    if [ -z "$_best" ] || [ $_ms -lt $_best ]; then _best=$_ms; fi
    _i=$((_i + 1))
  done
  echo $_best
}
sec() { case $1 in fail|-) echo "$1" ;; *) awk -v m="$1" 'BEGIN{printf "%.2f", m/1000}' ;; esac; }
ratio() {
  case "$1$2" in *fail*|*-*) echo - ;;
  *) awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "-" }' ;;
  esac
}

echo "emu_user bench: best of $reps; qemu=$qemu; vmkit=${runner:-none}"
printf "%-11s %9s %9s %9s %10s %12s %s\n" workload native_s qemu_s vmkit_s \
  qemu/vmkit vmkit/native output
for w in $(bb_workloads); do
  if [ -n "$only" ] && ! echo ",$only," | grep -q ",$w,"; then continue; fi
  tn=$(timeit "$w" "$work/n.out" "$bbx")
  tq=$(timeit "$w" "$work/q.out" $qemu "$bb")
  if [ -n "$runner" ]; then
    tv=$(timeit "$w" "$work/v.out" $runner "$bb")
    same=$(cmp -s "$work/q.out" "$work/v.out" && echo same-as-qemu || echo DIFFERS)
  else
    tv=- same=-
  fi
  printf "%-11s %9s %9s %9s %10s %12s %s\n" "$w" "$(sec "$tn")" "$(sec "$tq")" \
    "$(sec "$tv")" "$(ratio "$tq" "$tv")" "$(ratio "$tv" "$tn")" "$same"
done
