#!/bin/sh
# Builds the libFuzzer target with clang and fuzzes the virtio transport and
# devices for SECONDS (default 600) on one core, starting from corpus/.
# A second argument picks another target: fuzz_vsock (corpus-vsock/).
# New interesting inputs go to $WORK/corpus; crashes to $WORK/crash-*.
# Replay a crash with any build: build/tests/fuzz/fuzz_virtio_smoke FILE
set -eu
SECONDS_TO_RUN=${1:-600}
TARGET=${2:-fuzz_virtio}
case "$TARGET" in
fuzz_virtio) SEEDS=corpus ;;
fuzz_vsock) SEEDS=corpus-vsock ;;
*) echo "unknown fuzz target '$TARGET'; use fuzz_virtio or fuzz_vsock" >&2; exit 2 ;;
esac
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$SRC/build-fuzz}
WORK=${WORK:-$BUILD/fuzz-work-$TARGET}
[ -d "$BUILD" ] || CC=clang meson setup "$BUILD" "$SRC"
ninja -C "$BUILD" -j2 "tests/fuzz/$TARGET"
mkdir -p "$WORK/corpus"
cd "$WORK"
# stderr of the target (one line per guest error) is closed: it is noise.
exec "$BUILD/tests/fuzz/$TARGET" -max_total_time="$SECONDS_TO_RUN" \
  -close_fd_mask=2 -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
  -print_final_stats=1 "$WORK/corpus" "$SRC/tests/fuzz/$SEEDS"
