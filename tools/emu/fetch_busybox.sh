#!/bin/sh
# fetch_busybox.sh ARCH — print the path of Debian's static busybox for ARCH
# (arm64 or amd64), downloading and extracting it into <repo>/.cache/busybox
# on first use. Idempotent: adds the dpkg foreign architecture and refreshes
# the apt lists only when the package is not yet known to apt.
# Needs root (dpkg --add-architecture, apt-get update) only the first time.
set -eu
arch=${1:-arm64}
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache="$repo/.cache/busybox"
bin="$cache/busybox-$arch"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$cache"
# keep the cache out of git without touching the repository's .gitignore
[ -f "$repo/.cache/.gitignore" ] || echo '*' > "$repo/.cache/.gitignore"
native=$(dpkg --print-architecture)
if [ "$arch" != "$native" ] &&
   ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  dpkg --add-architecture "$arch" >&2
  apt-get update -q >&2
fi
if ! apt-cache show "busybox-static:$arch" >/dev/null 2>&1; then
  apt-get update -q >&2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt's sandbox user must be able to write the download directory
chmod 777 "$tmp"
(cd "$tmp" && apt-get download -q "busybox-static:$arch" >&2)
dpkg-deb -x "$tmp"/busybox-static_*_"$arch".deb "$tmp/x"
cp "$tmp/x/bin/busybox" "$bin.tmp"
chmod 755 "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$bin"
