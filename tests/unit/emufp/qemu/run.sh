#!/bin/sh
# Differential check of the FP/AdvSIMD emulation against qemu-aarch64:
# random encodings of every FP/SIMD class (and SIMD&FP loads/stores) with
# random register, memory and FPCR/FPSR states; every register, flag and
# memory byte must agree, and so must UNDEF. Seeded and reproducible.
# Usage: tests/unit/emufp/qemu/run.sh [COUNT] [SEED] [CLASS]
# Needs gcc-aarch64-linux-gnu and qemu-user (see tools/deps/emufp.txt).
# EMUFP_HOST: a host side built elsewhere (meson's host.c with -DEMUFP_JIT,
# which runs the instructions translated), instead of building one here.
set -e
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../../../../src
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
aarch64-linux-gnu-gcc -O1 -static -o "$out/target" "$here/target.c"
host=${EMUFP_HOST:-}
if [ -z "$host" ]; then
  host=$out/host
  # the FP/AdvSIMD part of the generated decoder, alone (as test_emufp)
  mkdir "$out/emu"
  python3 "$src/../tools/emu/gen_decoder.py" --prefix emu \
    --header "$out/emu/emu_isa.h" --source "$out/emu/emu_isa.c" \
    --include emu/decode.h "$src"/emu/isa/fp.decode \
    "$src"/emu/isa/simd.decode "$src"/emu/isa/simd_ldst.decode
  ${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -I"$out" -I"$src" -o "$host" \
    "$here/host.c" "$out/emu/emu_isa.c" "$src"/emu/fpsimd/*.c -lm
fi
"$host" "$out/target" "${1:-2000}" "${2:-1}" $3
