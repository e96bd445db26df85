#!/bin/sh
# request_stop.sh VMKIT — the host asks the guest to shut down, twice:
#  1. One SIGTERM to `vmkit run` presses the machine's power key (PL061
#     line 3, gpio-keys); the default guest's init powers off cleanly and
#     vmkit exits 0.
#  2. A guest that ignores the power key (its command unloads gpio_keys, so
#     init's watcher has nothing to watch): after the SIGTERM, vmkit waits
#     --stop-timeout seconds, stops the VM, says so and exits 1.
# A failure prints the console. Exit 77 when the default guest is not built.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
vmkit=${1:-$repo/build/src/cli/vmkit}
guest=${VMKIT_GUEST_DIR:-$repo/.cache/guest}
[ -f "$guest/Image" ] || { echo "SKIP: the default guest is not built"; exit 77; }
export VMKIT_GUEST_DIR="$guest"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

fail() { echo "FAIL: $1"; echo "---- console ----"; tr -d '\r' <"$log"; echo "---- end ----"; kill -9 $pid 2>/dev/null; exit 1; }

# run_until_ready CMD [FLAGS...]: starts vmkit in the background with the
# guest command CMD (which prints ready-for-stop), waits for that line.
run_until_ready() {
  cmd=$1
  shift
  : >"$log"
  "$vmkit" run "$@" --cmdline "console=hvc0 vmkit.cmd=\"$cmd\"" \
    </dev/null >"$log" 2>&1 &
  pid=$!
  i=0
  while [ $i -lt 900 ] && ! grep -q '^ready-for-stop' "$log"; do
    kill -0 $pid 2>/dev/null || break
    sleep 1; i=$((i + 1))
  done
  grep -q '^ready-for-stop' "$log" || fail "the guest never ran its command"
}

# wait_exit: waits for vmkit to end (at most 300 s); sets rc.
wait_exit() {
  i=0
  while [ $i -lt 300 ] && kill -0 $pid 2>/dev/null; do sleep 1; i=$((i + 1)); done
  kill -0 $pid 2>/dev/null && fail "vmkit still runs 300 s after the stop request"
  wait $pid
  rc=$?
}

# ---- 1. the guest powers off on the power key ------------------------------
run_until_ready "echo ready-for-stop; sleep 600"
sleep 2 # let init's power-key watcher open its event device
kill -TERM $pid
wait_exit
grep -q 'power button pressed; powering off' "$log" || fail "the guest did not see the power button"
[ $rc -eq 0 ] || fail "vmkit exited $rc, not 0"
echo "ok: request-stop pressed the power key; the guest powered off; vmkit exited 0"

# ---- 2. a guest that ignores the power key is stopped after the grace ------
run_until_ready "rmmod gpio_keys && echo ready-for-stop; sleep 600" --stop-timeout 3
kill -TERM $pid
wait_exit
[ $rc -eq 1 ] || fail "vmkit exited $rc, not 1, when the guest ignored the power button"
grep -q 'did not power off within 3 s of the power button' "$log" ||
  fail "vmkit did not say it stopped the guest after --stop-timeout"
grep -q 'power button pressed' "$log" && fail "the guest saw the power button after all"
echo "ok: a guest ignoring the power key was stopped after --stop-timeout; vmkit exited 1"
