#!/usr/bin/env bash
# vm_slots.sh — host-wide VM slots through the vmkit command, with real
# VMs on the emu engine that cost almost nothing: a 4 KiB arm64 "kernel"
# that sleeps in WFI forever, and one that powers off at once (PSCI
# SYSTEM_OFF). With VMKIT_MAX_VMS=2: two VMs run; a third is refused with
# exit status 3 and one sentence naming the limit and the holders; after
# SIGKILL of one VM (no cleanup by it) a new VM starts and runs to its
# power-off (exit 0); with no limit set nothing is refused; a bad
# VMKIT_MAX_VMS is a usage error (exit 2).
# Usage: vm_slots.sh PATH/TO/vmkit
set -u
vmkit=$1
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

image "$tmp/sleep.img" d503207f 17ffffff              # wfi; b .-4
image "$tmp/off.img" d2800100 f2b08000 d4000002 14000000 # x0=SYSTEM_OFF; hvc #0

export XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR"
slots=$XDG_RUNTIME_DIR/vmkit/slots
vm() { # vm IMAGE [FLAGS]: a cheap VM's command line
  echo "$vmkit" run --engine emu --kernel "$1" --memory 64M --net none \
    --no-entropy --console none --cmdline x "${@:2}"
}

# held N: true when N slot files are locked by running VMs.
held() {
  local n=0 f
  for f in "$slots"/slot-*; do
    [ -e "$f" ] || continue
    flock -n -s "$f" true 2>/dev/null || n=$((n + 1))
  done
  [ "$n" -eq "$1" ]
}
wait_held() { wait_for 30 held "$1"; }

export VMKIT_MAX_VMS=2
$(vm "$tmp/sleep.img" --name web) </dev/null >"$tmp/vm1.out" 2>&1 &
pids+=($!)
vm1=$!
$(vm "$tmp/sleep.img" --name db) </dev/null >"$tmp/vm2.out" 2>&1 &
pids+=($!)
if wait_held 2; then ok "two VMs hold the two slots"; else bad "two VMs never held two slots"; fi

timeout 60 $(vm "$tmp/off.img") </dev/null >"$tmp/vm3.out" 2>"$tmp/vm3.err"
st=$?
lines=$(wc -l <"$tmp/vm3.err")
if [ "$st" -eq 3 ] && [ "$lines" -eq 1 ] &&
  grep -Eq "^vmkit: 2 of 2 VM slots are in use \((web, db|db, web)\); stop one or raise the limit" "$tmp/vm3.err"; then
  ok "a third VM is refused: $(cat "$tmp/vm3.err")"
else
  bad "a third VM: status $st (want 3), stderr: $(cat "$tmp/vm3.err")"
fi

# Detached (-d): the refusal reaches the caller with the same status.
timeout 60 "$vmkit" run -d --name third --engine emu --kernel "$tmp/off.img" \
  --memory 64M --net none --no-entropy --cmdline x </dev/null \
  >"$tmp/vm3d.out" 2>"$tmp/vm3d.err"
st=$?
if [ "$st" -eq 3 ] && grep -q "2 of 2 VM slots are in use" "$tmp/vm3d.err"; then
  ok "a third VM with -d is refused too (exit 3)"
else
  bad "a third VM with -d: status $st (want 3), stderr: $(cat "$tmp/vm3d.err")"
fi

# vmkit serve: starting its VM through the API is refused with 409.
if command -v curl >/dev/null && "$vmkit" serve --api-socket "$tmp/serve.sock" \
  </dev/null >"$tmp/serve.out" 2>&1 & then
  spid=$!
  pids+=("$spid")
  for _ in $(seq 100); do [ -S "$tmp/serve.sock" ] && break; sleep 0.1; done
  api() { curl -s -o "$tmp/body" -w '%{http_code}' --unix-socket "$tmp/serve.sock" -X PUT -d "$2" "http://localhost$1"; }
  c1=$(api /v1/vm/config "{\"engine\": \"emu\", \"kernel\": \"$tmp/off.img\", \"memory\": \"64M\", \"entropy\": false, \"cmdline\": \"x\"}")
  c2=$(api /v1/vm/state '{"state": "running"}')
  if [ "$c1" = 200 ] && [ "$c2" = 409 ] && grep -q "2 of 2 VM slots are in use" "$tmp/body"; then
    ok "vmkit serve's VM is refused (409): $(cat "$tmp/body")"
  elif grep -q "without the REST API" "$tmp/serve.out"; then
    ok "vmkit serve: skipped (built without the REST API)"
  else
    bad "vmkit serve: config $c1, start $c2 (want 200, 409): $(cat "$tmp/body" "$tmp/serve.out")"
  fi
  kill "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
fi

kill -9 "$vm1"
wait "$vm1" 2>/dev/null
if wait_held 1; then ok "SIGKILL freed a slot"; else bad "the killed VM's slot is still held"; fi
timeout 120 $(vm "$tmp/off.img") </dev/null >"$tmp/vm4.out" 2>&1
st=$?
if [ "$st" -eq 0 ]; then ok "a new VM started in the freed slot and powered off (exit 0)"; else
  bad "a VM after the SIGKILL: status $st: $(cat "$tmp/vm4.out")"; fi

unset VMKIT_MAX_VMS
timeout 120 $(vm "$tmp/off.img") </dev/null >"$tmp/vm5.out" 2>&1
st=$?
if [ "$st" -eq 0 ]; then ok "no limit set: nothing refused"; else bad "no limit: status $st: $(cat "$tmp/vm5.out")"; fi

VMKIT_MAX_VMS=lots timeout 60 $(vm "$tmp/off.img") </dev/null >"$tmp/vm6.out" 2>"$tmp/vm6.err"
st=$?
if [ "$st" -eq 2 ] && [ "$(wc -l <"$tmp/vm6.err")" -eq 1 ] && grep -q "VMKIT_MAX_VMS is 'lots'" "$tmp/vm6.err"; then
  ok "a bad VMKIT_MAX_VMS: $(cat "$tmp/vm6.err")"
else
  bad "a bad VMKIT_MAX_VMS: status $st: $(cat "$tmp/vm6.err")"
fi

[ "$fails" -eq 0 ] && echo "all VM slot checks passed"
exit $((fails > 0))
