#!/bin/bash
# build-vmkit-arm64.sh — cross-build vmkit for arm64 Linux on this x86-64
# Debian host, for the nested KVM host (tests/integration/nested).
#
# The vmkit CLI is linked dynamically, because Debian ships libslirp (NAT)
# only as a shared library (libfdt, jansson, zlib and libatomic are linked
# from their archives); the arm64 libraries it loads (libslirp, glib,
# pcre2, libmicrohttpd and gnutls' closure, glibc and its loader) are
# collected into
# BUILD/runlibs/, which the nested host must have as /lib (the interpreter
# is /lib/ld-linux-aarch64.so.1). kvm_engine_test stays static.
#
# The arm64 -dev packages vmkit links (libfdt) are not co-installable with
# their amd64 twins, so rather than installing them through multiarch (which
# would remove the amd64 ones the native build needs) we unpack them into a
# private sysroot under .cache/nested/sysroot. The arm64 package lists come
# from multiarch (dpkg --add-architecture arm64), which this script enables.
#
# Usage: tools/nested/build-vmkit-arm64.sh [BUILD_DIR]   (default build-arm64)
# Prints the build folder (vmkit is src/cli/vmkit in it) last. Exits 77 when
# the arm64 packages cannot be downloaded (the nested test then skips).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build-arm64}
CACHE=$ROOT/.cache/nested
SYSROOT=$CACHE/sysroot

need_apt_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  need_apt_update=1
fi
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  apt-get install -y gcc-aarch64-linux-gnu >&2
fi
if [ $need_apt_update = 1 ] || ! apt-cache show libfdt-dev:arm64 >/dev/null 2>&1; then
  apt-get update >&2
fi

# The arm64 packages vmkit builds against: libfdt, zlib (the panic-log
# reader inflates deflated pstore records), jansson (config JSON), libslirp
# (NAT) with the libraries it loads (glib, pcre2), libmicrohttpd (the REST
# API, so the nested test drives vmkit pause/save/... there) with gnutls,
# which Debian's build links, and gnutls' own libraries. kvm_engine_test
# links libfdt, zlib and jansson statically. .done names the list, so a
# changed list rebuilds the sysroot.
SYSROOT_PKGS="libfdt-dev:arm64 libfdt1:arm64 zlib1g-dev:arm64 zlib1g:arm64 libjansson-dev:arm64 libjansson4:arm64 libslirp-dev:arm64 libslirp0:arm64 libglib2.0-0:arm64 libpcre2-8-0:arm64 libmicrohttpd-dev:arm64 libmicrohttpd12:arm64 libgnutls30:arm64 libgmp10:arm64 libhogweed6:arm64 libnettle8:arm64 libidn2-0:arm64 libunistring2:arm64 libp11-kit0:arm64 libffi8:arm64 libtasn1-6:arm64"
if [ "$(cat "$SYSROOT/.done" 2>/dev/null)" != "$SYSROOT_PKGS" ]; then
  rm -rf "$SYSROOT" "$CACHE/sysroot-debs"
  mkdir -p "$SYSROOT" "$CACHE/sysroot-debs"
  # shellcheck disable=SC2086
  (cd "$CACHE/sysroot-debs" && apt-get download $SYSROOT_PKGS >&2) || {
    echo "build-vmkit-arm64: cannot download $SYSROOT_PKGS" >&2
    exit 77
  }
  for d in "$CACHE"/sysroot-debs/*.deb; do dpkg-deb -x "$d" "$SYSROOT"; done
  echo "$SYSROOT_PKGS" >"$SYSROOT/.done"
fi

# A second machine file with this checkout's sysroot paths; it extends the
# committed cross file. pkg-config is pointed at an empty directory so the
# build falls back to find_library('fdt') in the sysroot; static_lib_dirs
# lets meson.build link libfdt, jansson and zlib from their archives there.
# (libatomic, for the emulator's 16-byte atomics, is found by meson.build
# and linked statically.) -rpath-link: libslirp.so's own dependencies (glib, pcre2) are
# found in the sysroot at link time.
mkdir -p "$CACHE/empty-pc"
cat >"$CACHE/sysroot.ini" <<INI
[properties]
pkg_config_libdir = ['$CACHE/empty-pc']
static_lib_dirs = ['$SYSROOT/usr/lib/aarch64-linux-gnu']

[built-in options]
c_args = ['-I$SYSROOT/usr/include']
c_link_args = ['-L$SYSROOT/usr/lib/aarch64-linux-gnu', '-Wl,-rpath-link,$SYSROOT/usr/lib/aarch64-linux-gnu', '-Wl,-rpath-link,$SYSROOT/lib/aarch64-linux-gnu']
INI

# A build folder set up by the older static script keeps '-static' in its
# link flags (meson reads machine files only at setup): start it afresh.
LINK_MODE="dynamic slirp; static libatomic, libfdt, jansson, zlib"
if [ -f "$BUILD/build.ninja" ] && [ "$(cat "$BUILD/.vmkit-arm64-link" 2>/dev/null)" != "$LINK_MODE" ]; then
  rm -rf "$BUILD"
fi
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" "$ROOT" \
    --cross-file "$ROOT/tools/nested/aarch64-cross.ini" \
    --cross-file "$CACHE/sysroot.ini" \
    -Dtests=false -Dslirp=enabled -Dapi=enabled -Dbuildtype=release >&2
  echo "$LINK_MODE" >"$BUILD/.vmkit-arm64-link"
else
  meson configure "$BUILD" -Dslirp=enabled -Dapi=enabled >&2
fi
ninja -C "$BUILD" -j2 >&2

# The engine test drives libvmkit's kvm engine directly (no meson test: the
# cross build has no cmocka); built here, run inside the nested host.
aarch64-linux-gnu-gcc -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -static \
  -I"$ROOT/include" -I"$ROOT/src" \
  -o "$BUILD/kvm_engine_test" "$ROOT/tests/integration/nested/kvm_engine_test.c" \
  "$BUILD/libvmkit.a" -L"$SYSROOT/usr/lib/aarch64-linux-gnu" -lfdt -lz -ljansson -lpthread >&2
# Snapshot state across the kvm and emu engines (kvm_snapshot_test.c).
aarch64-linux-gnu-gcc -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -static \
  -I"$ROOT/include" -I"$ROOT/src" \
  -o "$BUILD/kvm_snapshot_test" "$ROOT/tests/integration/nested/kvm_snapshot_test.c" \
  "$BUILD/libvmkit.a" -L"$SYSROOT/usr/lib/aarch64-linux-gnu" -lfdt -lz -ljansson -lpthread -lm -latomic >&2

# The same test built with ASan+UBSan (dynamic: the sanitizers cannot link
# statically), with the arm64 runtime libraries it loads in sanlibs/ for the
# nested host's /lib.
aarch64-linux-gnu-gcc -std=gnu11 -O1 -g -Wall -Wextra -D_GNU_SOURCE \
  -fsanitize=address,undefined -fno-omit-frame-pointer \
  -I"$ROOT/include" -I"$ROOT/src" -o "$BUILD/kvm_engine_test_san" \
  "$ROOT/tests/integration/nested/kvm_engine_test.c" "$ROOT/src/engine/kvm.c" \
  "$ROOT/src/engine/kvm_state.c" "$ROOT/src/engine/arch_state.c" \
  "$ROOT/src/devices/bus.c" "$ROOT/src/base/error.c" "$ROOT/src/base/thread.c" "$ROOT/src/base/startup_trace.c" \
  -lpthread >&2
rm -rf "$BUILD/sanlibs" && mkdir -p "$BUILD/sanlibs"
for l in ld-linux-aarch64.so.1 libc.so.6 libm.so.6 libgcc_s.so.1 libstdc++.so.6 \
  libasan.so.8 libubsan.so.1; do
  cp -L "/usr/aarch64-linux-gnu/lib/$l" "$BUILD/sanlibs/"
done

# The vmkit CLI's shared-library closure (DT_NEEDED, followed with
# binutils' readelf), for the nested host's /lib. glibc and libatomic come
# from the cross toolchain vmkit was linked against, the rest from the
# sysroot's Debian packages.
libdirs=(/usr/aarch64-linux-gnu/lib "$SYSROOT/usr/lib/aarch64-linux-gnu"
  "$SYSROOT/lib/aarch64-linux-gnu")
find_lib() {
  local d
  for d in "${libdirs[@]}"; do
    [ -e "$d/$1" ] && { echo "$d/$1"; return 0; }
  done
  return 1
}
rm -rf "$BUILD/runlibs" && mkdir -p "$BUILD/runlibs"
cp -L /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 "$BUILD/runlibs/"
queue=("$BUILD/src/cli/vmkit")
declare -A seen=()
# The libraries vmkit opens only when a feature is used (dlopen, not in
# DT_NEEDED): libslirp for NAT, libmicrohttpd for the REST API.
for n in libslirp.so.0 libmicrohttpd.so.12; do
  p=$(find_lib "$n") || { echo "build-vmkit-arm64: $n is not in the sysroot" >&2; exit 1; }
  cp -L "$p" "$BUILD/runlibs/$n"
  seen[$n]=1
  queue+=("$BUILD/runlibs/$n")
done
while [ ${#queue[@]} -gt 0 ]; do
  f=${queue[0]}
  queue=("${queue[@]:1}")
  for n in $(aarch64-linux-gnu-readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [ -n "${seen[$n]:-}" ] && continue
    seen[$n]=1
    p=$(find_lib "$n") || { echo "build-vmkit-arm64: $n (needed by ${f##*/}) is not in the sysroot" >&2; exit 1; }
    cp -L "$p" "$BUILD/runlibs/$n"
    queue+=("$BUILD/runlibs/$n")
  done
done
echo "$BUILD"
