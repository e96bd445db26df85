#!/usr/bin/env bash
# two_vms.sh — vmkit list and every verb against two named VMs at once,
# with real VMs on the emu engine that cost almost nothing: a 4 KiB arm64
# "kernel" that prints "vm-NAME-ready" on the PL011 and sleeps in WFI.
# Two VMs, a and b (other memory sizes), run detached; each verb is used
# on one and must leave the other as it was: list (table and --json: both,
# with their own memory and pid), pause a (a paused, b running), inspect
# (each its own config), console (each VM's own output), save a, resume a,
# restore a's snapshot as c next to them (three listed), request-stop b
# (the tiny guest has no power-button driver, so it runs on), stop b, a
# and c; list is empty at the end and every runtime folder is gone.
# Usage: two_vms.sh PATH/TO/vmkit
set -u
vmkit=$1
tmp=$(mktemp -d)
export XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR"
rt=$XDG_RUNTIME_DIR/vmkit
cleanup() {
  for f in "$rt"/*/pid; do
    [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

# a.img, b.img: x1 = PL011 DR; print the string at +96 (vm-NAME-ready);
# wfi; b .-4.
# mov x1,#0x9000000; adr x2,+28; 1: ldrb w3,[x2],#1; cbz w3,2f;
# strb w3,[x1]; b 1b; 2: wfi; b 2b
code="d2a12001 100000e2 38401443 34000063 39000023 17fffffd d503207f 17ffffff"
image "$tmp/a.img" -t "vm-a-ready\n" $code
image "$tmp/b.img" -t "vm-b-ready\n" $code
run() { # run NAME MEMORY
  "$vmkit" run -d --name "$1" --engine emu --kernel "$tmp/$1.img" --memory "$2" \
    --net none --no-entropy --cmdline x
}
[ "$(run a 64M 2>"$tmp/a.err")" = a ] || bad "run -d a: $(cat "$tmp/a.err")"
[ "$(run b 96M 2>"$tmp/b.err")" = b ] || bad "run -d b: $(cat "$tmp/b.err")"
wait_for 60 grep -q vm-a-ready "$rt/a/console.log" &&
  wait_for 60 grep -q vm-b-ready "$rt/b/console.log" &&
  ok "a and b run side by side, each with its own console" ||
  bad "consoles: $(cat "$rt/a/console.log" "$rt/b/console.log" 2>&1)"

# states NAME=STATE...: vmkit list --json shows exactly these VMs so.
states() {
  "$vmkit" list --json >"$tmp/list.json" || return 1
  python3 - "$tmp/list.json" "$@" 2>/dev/null <<'PY'
import json, sys
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))}
want = dict(a.split("=") for a in sys.argv[2:])
assert set(rows) == set(want), (sorted(rows), want)
for n, s in want.items():
    assert rows[n]["state"] == s, (n, rows[n])
PY
}
states a=running b=running && ok "list --json: a and b running" ||
  bad "list --json: $(cat "$tmp/list.json")"
python3 - "$tmp/list.json" <<'PY' && ok "list --json: each its memory and pid" || bad "list rows: $(cat "$tmp/list.json")"
import json, sys
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))}
assert rows["a"]["memory"] == "64M" and rows["b"]["memory"] == "96M", rows
assert rows["a"]["pid"] != rows["b"]["pid"] and rows["a"]["engine"] == "emu", rows
PY
"$vmkit" list >"$tmp/list.txt"
grep -Eq '^a +running +emu +1 +64M' "$tmp/list.txt" &&
  grep -Eq '^b +running +emu +1 +96M' "$tmp/list.txt" && ok "list table: a and b" ||
  bad "list table: $(cat "$tmp/list.txt")"

"$vmkit" pause a && states a=paused b=running && ok "pause a: b still runs" ||
  bad "pause a: $(cat "$tmp/list.json")"
"$vmkit" pause a 2>"$tmp/err"
st=$?
[ $st != 0 ] && states a=paused b=running && ok "pause a again: refused ($st), nothing changed" ||
  bad "pause a twice: status $st, $(cat "$tmp/list.json")"

"$vmkit" inspect a >"$tmp/ia.json" && "$vmkit" inspect b >"$tmp/ib.json" &&
  python3 - "$tmp/ia.json" "$tmp/ib.json" <<'PY' && ok "inspect: each VM its own config and state" || bad "inspect: $(cat "$tmp/ia.json" "$tmp/ib.json")"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["name"] == "a" and a["state"] == "paused", a
assert b["name"] == "b" and b["state"] == "running", b
assert a["config"]["kernel"].endswith("/a.img") and b["config"]["kernel"].endswith("/b.img"), (a, b)
PY

# Console: attaching replays each VM's own output.
timeout 10 "$vmkit" console b </dev/null >"$tmp/cb.out" 2>&1
grep -q vm-b-ready "$tmp/cb.out" && ! grep -q vm-a-ready "$tmp/cb.out" &&
  ok "console b: b's output only" || bad "console b: $(cat "$tmp/cb.out")"
timeout 10 "$vmkit" console a </dev/null >"$tmp/ca.out" 2>&1
grep -q vm-a-ready "$tmp/ca.out" && ! grep -q vm-b-ready "$tmp/ca.out" &&
  ok "console a (paused): a's output only" || bad "console a: $(cat "$tmp/ca.out")"

"$vmkit" save b "$tmp/snapb" 2>"$tmp/err"
st=$?
[ $st != 0 ] && [ ! -f "$tmp/snapb/state.bin" ] && states a=paused b=running &&
  ok "save b (running): refused ($st)" || bad "save running b: status $st"
"$vmkit" save a "$tmp/snap" 2>"$tmp/err" && [ -f "$tmp/snap/state.bin" ] &&
  states a=paused b=running && ok "save a: b untouched" || bad "save a: $(cat "$tmp/err")"
"$vmkit" resume a && states a=running b=running && ok "resume a" ||
  bad "resume a: $(cat "$tmp/list.json")"

[ "$("$vmkit" restore "$tmp/snap" -d --name c 2>"$tmp/err")" = c ] &&
  states a=running b=running c=running && ok "restore a's snapshot as c: three VMs" ||
  bad "restore c: $(cat "$tmp/err") $(cat "$tmp/list.json")"
"$vmkit" restore "$tmp/snap" -d --name c 2>"$tmp/err" >/dev/null
st=$?
[ $st = 2 ] && states a=running b=running c=running && ok "a second c is refused (2)" ||
  bad "duplicate c: status $st $(cat "$tmp/err")"

# The power button: the tiny guest has no driver for it, so it runs on
# (a guest that has one powers off: request_stop.sh); then stop ends b.
"$vmkit" request-stop b && states a=running b=running c=running &&
  ok "request-stop b: pressed (the guest ignores it)" ||
  bad "request-stop b: $(cat "$tmp/list.json")"
"$vmkit" stop b && states a=running c=running && [ ! -e "$rt/b" ] &&
  ok "stop b: b gone, a and c run" || bad "stop b: $(cat "$tmp/list.json")"

"$vmkit" stop a && states c=running && [ ! -e "$rt/a" ] && ok "stop a: c runs" ||
  bad "stop a: $(cat "$tmp/list.json")"
"$vmkit" stop a 2>"$tmp/err"
st=$?
[ $st = 2 ] && grep -q "no VM named 'a' is running" "$tmp/err" && states c=running &&
  ok "verbs on the stopped a: 2, c untouched" || bad "stop a twice: $st $(cat "$tmp/err")"
"$vmkit" stop c && [ "$("$vmkit" list --json)" = "[]" ] && [ -z "$(ls "$rt" | grep -v slots)" ] &&
  ok "stop c: none left" || bad "stop c: $("$vmkit" list) $(ls "$rt")"

[ $fails = 0 ] && echo "all two-VM checks passed"
exit $((fails > 0))
