#!/bin/bash
# build-qemu-bundle.sh — Debian's arm64 qemu-system-aarch64 with its shared
# library closure, for the nested KVM host (bench/kvm_boot.sh compares vmkit
# with QEMU/KVM there). apt fetches qemu-system-arm:arm64 and everything it
# depends on (an empty dpkg status file makes apt treat nothing as
# installed); we keep only the binary and the libraries it loads, found by
# following DT_NEEDED with binutils' readelf.
#
# Output: .cache/nested/qemu-bundle/{bin/qemu-system-aarch64,lib/*}; run it
# in the nested host as
#   lib/ld-linux-aarch64.so.1 --library-path lib bin/qemu-system-aarch64 ...
# Cached: rebuilt only when the stamp (package version) changes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=$ROOT/.cache/nested
D=$CACHE/qemu-debs
OUT=$CACHE/qemu-bundle
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update >&2
fi
ver=$(apt-cache policy qemu-system-arm:arm64 | sed -n 's/ *Candidate: //p')
[ -n "$ver" ] && [ "$ver" != "(none)" ] ||
  { echo "qemu-bundle: no qemu-system-arm:arm64 in the package lists" >&2; exit 1; }
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$ver" ]; then
  echo "$OUT"
  exit 0
fi
mkdir -p "$D/archives/partial"
: >"$D/status"
apt-get install --download-only -y --no-install-recommends \
  -o APT::Architecture=arm64 -o APT::Architectures::=arm64 \
  -o Dir::State::status="$D/status" -o Dir::Cache::archives="$D/archives" \
  qemu-system-arm >&2
R=$CACHE/qemu-root
rm -rf "$R" "$OUT"
mkdir -p "$R" "$OUT/bin" "$OUT/lib"
for deb in "$D"/archives/*.deb; do dpkg-deb -x "$deb" "$R"; done
cp "$R/usr/bin/qemu-system-aarch64" "$OUT/bin/"

libdirs=("$R/lib/aarch64-linux-gnu" "$R/usr/lib/aarch64-linux-gnu" "$R/lib" "$R/usr/lib")
find_lib() {
  local d
  for d in "${libdirs[@]}"; do
    [ -e "$d/$1" ] && { echo "$d/$1"; return 0; }
  done
  return 1
}
queue=("$OUT/bin/qemu-system-aarch64")
declare -A seen=()
while [ ${#queue[@]} -gt 0 ]; do
  f=${queue[0]}
  queue=("${queue[@]:1}")
  for n in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [ -n "${seen[$n]:-}" ] && continue
    seen[$n]=1
    p=$(find_lib "$n") || { echo "qemu-bundle: $n not found" >&2; exit 1; }
    cp -L "$p" "$OUT/lib/$n"
    queue+=("$OUT/lib/$n")
  done
done
cp -L "$(find_lib ld-linux-aarch64.so.1)" "$OUT/lib/"
rm -rf "$R"
echo "$ver" >"$OUT/stamp"
echo "$OUT"
