#!/bin/sh
# Developer cross-check of the FP/AdvSIMD emulation against qemu-aarch64.
# Usage: tests/unit/emufp/qemu/run.sh [COUNT] [SEED] [CLASS]
# Needs gcc-aarch64-linux-gnu and qemu-user (see tools/deps/emufp.txt).
set -e
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../../../../src
out=${TMPDIR:-/tmp}/emufp-qemu
mkdir -p "$out"
aarch64-linux-gnu-gcc -O1 -static -o "$out/target" "$here/target.c"
cc -std=gnu11 -O2 -g -Wall -Wextra -I"$src" -o "$out/host" "$here/host.c" \
  "$src"/emu/fpsimd/*.c -lm
exec "$out/host" "$out/target" "${1:-2000}" "${2:-1}" $3
