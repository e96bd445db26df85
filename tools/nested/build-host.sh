#!/bin/bash
# build-host.sh — build the nested arm64 KVM "host": Debian's arm64 kernel
# (the same linux-image-arm64 as the default guest) and an initramfs with
# busybox, the virtio-mmio/virtio-blk modules and tools/nested/host-init.sh
# as /init. What the host runs (vmkit, the guest, scenario scripts) comes in
# a second cpio archive, the payload, that run-host.sh appends (the kernel
# unpacks concatenated archives), so rebuilding vmkit does not rebuild this.
#
# Output: .cache/nested/host/{Image,base.cpio}. Cached: rebuilt only when the
# kernel/busybox packages or host-init.sh change.
# Needs: apt (arm64 package lists via multiarch), dpkg-deb, cpio. Exits 77
# when the arm64 packages cannot be downloaded.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=$ROOT/.cache/nested
OUT=$CACHE/host
mkdir -p "$CACHE/debs" "$OUT"

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update >&2
fi
command -v cpio >/dev/null || apt-get install -y cpio >&2

# Which kernel: the one linux-image-arm64 points at today.
kpkg=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
  sed -n 's/.*Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -1)
[ -n "$kpkg" ] || { echo "build-host: cannot resolve linux-image-arm64:arm64" >&2; exit 77; }
kver=${kpkg#linux-image-}
stamp="$kpkg $(sha256sum "$ROOT/tools/nested/host-init.sh" | cut -c1-16)"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$stamp" ] &&
  [ -f "$OUT/Image" ] && [ -f "$OUT/base.cpio" ]; then
  echo "$OUT"
  exit 0
fi

cd "$CACHE/debs"
ls ${kpkg}_*_arm64.deb >/dev/null 2>&1 || apt-get download "$kpkg:arm64" >&2 ||
  { echo "build-host: cannot download $kpkg:arm64" >&2; exit 77; }
ls busybox-static_*_arm64.deb >/dev/null 2>&1 || apt-get download busybox-static:arm64 >&2 ||
  { echo "build-host: cannot download busybox-static:arm64" >&2; exit 77; }
rm -rf "$CACHE/kx" "$CACHE/root"
mkdir -p "$CACHE/kx" "$CACHE/root"
dpkg-deb -x "$(ls ${kpkg}_*_arm64.deb | head -1)" "$CACHE/kx"
grep -q '^CONFIG_KVM=y' "$CACHE/kx/boot/config-$kver" ||
  { echo "build-host: $kpkg has no built-in KVM" >&2; exit 1; }
cp "$CACHE/kx/boot/vmlinuz-$kver" "$OUT/Image"

R=$CACHE/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,modules,scenarios,payload}
bbx=$CACHE/bbx
rm -rf "$bbx" && mkdir -p "$bbx"
dpkg-deb -x "$(ls busybox-static_*_arm64.deb | head -1)" "$bbx"
cp "$bbx/bin/busybox" "$R/bin/busybox"
# The applets the scenarios use; busybox --install needs to run on arm64.
for a in sh ash mount umount mkdir cat echo sed grep cut ls sleep dmesg \
  insmod poweroff sync dd od hexdump head tail tr wc date env setsid \
  cp mv rm ln chmod tar gzip zcat xargs sort test expr printf \
  timeout kill ps uname awk cmp md5sum sha256sum true false seq; do
  ln -sf busybox "$R/bin/$a"
done
for m in kernel/drivers/virtio/virtio_mmio.ko kernel/drivers/block/virtio_blk.ko; do
  n=$(basename "$m")
  case $n in virtio_mmio.ko) p=10 ;; *) p=20 ;; esac
  cp "$CACHE/kx/lib/modules/$kver/$m" "$R/modules/$p-$n"
done
cp "$ROOT/tools/nested/host-init.sh" "$R/init"
chmod +x "$R/init"
(cd "$R" && find . | sort | cpio -o -H newc --quiet) >"$OUT/base.cpio"
rm -rf "$CACHE/kx" "$bbx"
echo "$stamp" >"$OUT/stamp"
echo "$OUT"
