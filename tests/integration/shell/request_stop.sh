#!/bin/sh
# request_stop.sh VMKIT — the host asks the guest to shut down: one SIGTERM
# to `vmkit run` presses the machine's power key (PL061 line 3, gpio-keys);
# the default guest's init powers off cleanly and vmkit exits 0. A failure
# prints the console. Exit 77 when the default guest is not built.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
vmkit=${1:-$repo/build/src/cli/vmkit}
guest=${VMKIT_GUEST_DIR:-$repo/.cache/guest}
[ -f "$guest/Image" ] || { echo "SKIP: the default guest is not built"; exit 77; }
export VMKIT_GUEST_DIR="$guest"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

"$vmkit" run --cmdline 'console=hvc0 vmkit.cmd="echo ready-for-stop; sleep 600"' \
  </dev/null >"$log" 2>&1 &
pid=$!
i=0
while [ $i -lt 600 ] && ! grep -q '^ready-for-stop' "$log"; do
  kill -0 $pid 2>/dev/null || break
  sleep 1; i=$((i + 1))
done
fail() { echo "FAIL: $1"; echo "---- console ----"; tr -d '\r' <"$log"; echo "---- end ----"; kill -9 $pid 2>/dev/null; exit 1; }
grep -q '^ready-for-stop' "$log" || fail "the guest never ran its command"
sleep 2 # let init's power-key watcher open its event device
kill -TERM $pid
i=0
while [ $i -lt 120 ] && kill -0 $pid 2>/dev/null; do sleep 1; i=$((i + 1)); done
kill -0 $pid 2>/dev/null && fail "vmkit still runs 120 s after the stop request"
wait $pid
rc=$?
grep -q 'power button pressed; powering off' "$log" || fail "the guest did not see the power button"
[ $rc -eq 0 ] || fail "vmkit exited $rc, not 0"
echo "ok: request-stop pressed the power key; the guest powered off; vmkit exited 0"
