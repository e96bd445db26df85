#!/usr/bin/env bash
# Runs vmkit's whole test suite: installs what it needs, builds with
# ASan/UBSan, runs every meson test suite (unit, fuzz smoke, emu
# differential, integration), and prints a closing "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tools/deps.sh || exit 1
if [ -x tools/guest/build.sh ]; then
  tools/guest/build.sh || { echo "tests: building the default guest failed"; exit 1; }
fi
builddir=${VMKIT_TEST_BUILD:-build-test}
if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" -Db_sanitize=address,undefined -Db_lundef=false \
    --buildtype=debugoptimized >/dev/null || exit 1
fi
ninja -C "$builddir" -j2 || exit 1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
suites=${VMKIT_TEST_SUITES:-unit fuzz emu integration}
args=()
for s in $suites; do args+=(--suite "$s"); done
meson test -C "$builddir" --print-errorlogs --num-processes 2 "${args[@]}" "$@"
status=$?
python3 - "$builddir/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"): passed += 1
        elif r == "SKIP": skipped += 1
        else: failed += 1
except FileNotFoundError:
    pass
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
