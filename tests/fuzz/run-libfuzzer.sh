#!/bin/sh
# Builds the libFuzzer target with clang and fuzzes the virtio transport and
# devices for SECONDS (default 600) on one core, starting from corpus/.
# New interesting inputs go to $WORK/corpus; crashes to $WORK/crash-*.
# Replay a crash with any build: build/tests/fuzz/fuzz_virtio_smoke FILE
# TARGET=fuzz_net fuzzes virtio-net instead (corpus-net/, fuzz_net_smoke).
set -eu
TARGET=${TARGET:-fuzz_virtio}
case $TARGET in
fuzz_net) SEEDS=corpus-net ;;
*) SEEDS=corpus ;;
esac
SECONDS_TO_RUN=${1:-600}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$SRC/build-fuzz}
WORK_DEFAULT=$BUILD/fuzz-work
[ "$TARGET" = fuzz_virtio ] || WORK_DEFAULT=$BUILD/fuzz-work-$TARGET
WORK=${WORK:-$WORK_DEFAULT}
[ -d "$BUILD" ] || CC=clang meson setup "$BUILD" "$SRC"
ninja -C "$BUILD" -j2 "tests/fuzz/$TARGET"
mkdir -p "$WORK/corpus"
cd "$WORK"
# stderr of the target (one line per guest error) is closed: it is noise.
exec "$BUILD/tests/fuzz/$TARGET" -max_total_time="$SECONDS_TO_RUN" \
  -close_fd_mask=2 -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
  -print_final_stats=1 "$WORK/corpus" "$SRC/tests/fuzz/$SEEDS"
