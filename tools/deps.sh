#!/usr/bin/env bash
# Installs the Debian packages vmkit needs to build, test and run: the union
# of tools/deps/*.txt (one package per line, '#' comments). Installs only
# what is missing, so it is quick when all is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t wanted < <(cat "$here"/deps/*.txt | sed 's/#.*//; s/[[:space:]]//g' | grep -v '^$' | sort -u)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/vmkit-apt.log 2>&1; then
  $sudo apt-get update >/tmp/vmkit-apt-update.log 2>&1 || true
  $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/vmkit-apt.log 2>&1 || {
    echo "deps: apt-get install failed; see /tmp/vmkit-apt.log" >&2
    exit 1
  }
fi
