#!/bin/sh
# Builds the libFuzzer target with clang and fuzzes the virtio transport and
# devices for SECONDS (default 600) on one core, starting from corpus/.
# New interesting inputs go to $WORK/corpus; crashes to $WORK/crash-*.
# Replay a crash with any build: build/tests/fuzz/fuzz_virtio_smoke FILE
# TARGET=fs fuzzes the virtio-fs FUSE server instead (fuzz_fs.c, corpus-fs/;
# replay with fuzz_fs_smoke); TARGET=net fuzzes virtio-net (fuzz_net.c,
# corpus-net/; replay with fuzz_net_smoke); TARGET=panic_log the ramoops
# panic-log reader (fuzz_panic_log.c, corpus-panic_log/; replay with
# fuzz_panic_log_smoke); TARGET=vsock virtio-vsock (fuzz_vsock.c,
# corpus-vsock/; replay with fuzz_vsock_smoke); TARGET=api the REST API's
# request handling and the config JSON parser (fuzz_api.c, corpus-api/;
# replay with fuzz_api_smoke); TARGET=ports console ports (fuzz_ports.c,
# corpus-ports/; replay with fuzz_ports_smoke); TARGET=balloon virtio-balloon
# (fuzz_balloon.c, corpus-balloon/; replay with fuzz_balloon_smoke).
set -eu
SECONDS_TO_RUN=${1:-600}
TARGET=${TARGET:-virtio}
SEEDS=corpus
[ "$TARGET" = virtio ] || SEEDS=corpus-$TARGET
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$SRC/build-fuzz}
DEFAULT_WORK=$BUILD/fuzz-work
[ "$TARGET" = virtio ] || DEFAULT_WORK=$BUILD/fuzz-work-$TARGET
WORK=${WORK:-$DEFAULT_WORK}
[ -d "$BUILD" ] || CC=clang meson setup "$BUILD" "$SRC"
ninja -C "$BUILD" -j2 "tests/fuzz/fuzz_$TARGET"
mkdir -p "$WORK/corpus"
cd "$WORK"
# stderr of the target (one line per guest error) is closed: it is noise.
exec "$BUILD/tests/fuzz/fuzz_$TARGET" -max_total_time="$SECONDS_TO_RUN" \
  -close_fd_mask=2 -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
  -print_final_stats=1 "$WORK/corpus" "$SRC/tests/fuzz/$SEEDS"
