# build.sh — sourced by the benchmarks that run an arm64 program under
# `vmkit exec` and in a guest (cpu.sh, strings.sh): the cross compiler
# check and the release build they use when no --vmkit is given.
# POSIX sh; runs in the calling benchmark's shell.

# bench_need_cross NAME: exit 2 with a sentence when the arm64 cross
# compiler (tools/deps/jit.txt) is missing.
bench_need_cross() {
  command -v aarch64-linux-gnu-gcc >/dev/null ||
    { echo "$1: aarch64-linux-gnu-gcc is missing; run tools/deps.sh (tools/deps/jit.txt)" >&2; exit 2; }
}

# bench_build_vmkit REPO: configure (once) and build REPO/build-bench, a
# release build without tests; its CLI is REPO/build-bench/src/cli/vmkit.
bench_build_vmkit() {
  [ -d "$1/build-bench" ] ||
    meson setup "$1/build-bench" "$1" --buildtype=release -Dtests=false >/dev/null
  nice ninja -C "$1/build-bench" >/dev/null
}
