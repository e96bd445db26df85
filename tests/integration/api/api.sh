#!/bin/bash
# api.sh VMKIT — named VMs and the REST API in one boot of the default guest
# on the emu engine (plus a VM killed right after it starts, for name reuse):
#   vmkit run -d --name t1 returns at once with the name; the guest counts
#   on its console (tick-N once a second, guest time); vmkit list --json
#   shows t1 running; curl --unix-socket pauses it (the ticks stop: no new
#   tick in 3 s, while before a tick came each second) and resumes it (the
#   ticks go on); the event stream saw the changes; wrong method / unknown
#   path / bad body / wrong state get 405 / 404 / 400 / 409; the counters
#   show the console's requests; vmkit inspect prints config and counters;
#   vmkit console sends a line the guest echoes; vmkit save keeps it while
#   paused and vmkit restore (twice, once --paused) goes on from there,
#   its event stream (since=1) showing restoring -> paused (-> running);
#   a restore in the foreground keeps its console on stdout and takes a
#   vmkit console client too (keys from both reach the guest);
#   vmkit stop ends it and
#   frees the name; a VM killed with SIGKILL does not block its name;
#   vmkit serve is configured and started through the API (on an idle
#   two-instruction kernel, no second boot) and exits when it is stopped.
# Exit 77 when the default guest is not built.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
vmkit=${1:-$repo/build/src/cli/vmkit}
guest=${VMKIT_GUEST_DIR:-$repo/.cache/guest}
[ -f "$guest/Image" ] || { echo "SKIP: the default guest is not built"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: no curl (tools/deps/api.txt)"; exit 77; }
export VMKIT_GUEST_DIR="$guest"
tmp=$(mktemp -d)
export XDG_RUNTIME_DIR=$tmp/xdg
mkdir -p "$XDG_RUNTIME_DIR"
rt=$XDG_RUNTIME_DIR/vmkit
cleanup() {
  for n in t1 t2 t3 t4; do
    [ -f "$rt/$n/pid" ] && kill -9 "$(cat "$rt/$n/pid")" 2>/dev/null
  done
  [ -n "${evpid:-}" ] && kill "$evpid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $1"; fails=$((fails + 1)); }
ok() { echo "ok: $1"; }
api() { curl -s --max-time 30 --unix-socket "$rt/t1/api.sock" "$@"; }
# wait_for SECONDS CMD...: poll until CMD succeeds
wait_for() {
  local n=$1; shift
  for _ in $(seq "$((n * 5))"); do "$@" && return 0; sleep 0.2; done
  return 1
}
ticks() { grep -ao 'tick-[0-9]*' "$rt/t1/console.log" 2>/dev/null | tail -1; }

# Lines typed to the guest are echoed by a reader of their own: a `read -t
# 1` in the tick loop lost a line's first bytes when its deadline passed
# between two of them (busybox checks it before each byte; seen once as
# got-ing42 on a loaded host).
loop='exec 3<&0; while read l <&3; do echo got-$l; done & i=0; while true; do echo tick-$i; i=$((i+1)); sleep 1; done'
out=$("$vmkit" run -d --name t1 --engine emu --net none \
  --cmdline "console=hvc0 panic=-1 pstore.compress=none vmkit.quiet vmkit.cmd=\"$loop\"" 2>"$tmp/err")
rc=$?
[ "$rc" = 0 ] && [ "$out" = t1 ] && ok "run -d printed the name" ||
  { fail "run -d: status $rc, output '$out'"; cat "$tmp/err"; exit 1; }
[ "$(stat -c %a "$rt")" = 700 ] && [ "$(stat -c %a "$rt/t1")" = 700 ] &&
  [ "$(stat -c %a "$rt/t1/api.sock")" = 600 ] && ok "0700 folders, 0600 socket" ||
  fail "runtime folder modes: $(stat -c '%n %a' "$rt" "$rt/t1" "$rt/t1/api.sock")"
# A second VM with the same name is refused while t1 lives.
"$vmkit" run -d --name t1 --engine emu --net none 2>"$tmp/err2"; rc=$?
[ "$rc" = 2 ] && grep -q "a VM named 't1' is already running" "$tmp/err2" &&
  ok "a live name is refused" || fail "duplicate name: status $rc: $(cat "$tmp/err2")"

curl -sN --unix-socket "$rt/t1/api.sock" http://localhost/v1/events >"$tmp/events" &
evpid=$!

wait_for 600 grep -q 'tick-2' "$rt/t1/console.log" && ok "the guest ticks" ||
  { fail "no ticks on the console"; tail -20 "$rt/t1/console.log"; exit 1; }

"$vmkit" list --json >"$tmp/list.json"
python3 - "$tmp/list.json" <<'PY' && ok "list --json" || fail "list --json: $(cat "$tmp/list.json")"
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["name"] for r in rows] == ["t1"], rows
r = rows[0]
assert r["state"] == "running" and r["engine"] == "emu" and r["cpus"] == 1, r
assert r["memory"] == "512M" and r["pid"] > 0 and r["uptime_s"] > 0, r
PY
"$vmkit" list | grep -Eq '^t1 +running +emu +1 +512M' && ok "list table" || fail "list: $("$vmkit" list)"

# Pause: the ticks stop. The guest printed one each second before; after
# the pause returns, whatever was in flight lands, then nothing for 3 s.
st=$(api -X PUT -d '{"state":"paused"}' -w ' %{http_code}' http://localhost/v1/vm/state)
[ "$st" = '{"state":"paused"} 200' ] && ok "PUT state paused" || fail "pause: $st"
sleep 1
before=$(ticks); sleep 3; after=$(ticks)
[ -n "$before" ] && [ "$before" = "$after" ] && ok "paused: no tick after $before" ||
  fail "ticks went on while paused ($before -> $after)"
st=$(api -X PUT -d '{"state":"paused"}' -w ' %{http_code}' http://localhost/v1/vm/state)
case $st in *"only a running VM can be paused"*" 409") ok "pause twice: 409";; *) fail "pause twice: $st";; esac
st=$(api -X PUT -d '{}' -w ' %{http_code}' http://localhost/v1/vm/save)
case $st in *" 400") ok "save without path: 400";; *) fail "save {}: $st";; esac
st=$(api -X PUT -d '{"state":"running"}' -w ' %{http_code}' http://localhost/v1/vm/state)
[ "$st" = '{"state":"running"} 200' ] && ok "PUT state running" || fail "resume: $st"
wait_for 120 sh -c "[ \"\$(grep -ao 'tick-[0-9]*' '$rt/t1/console.log' | tail -1)\" != '$after' ]" &&
  ok "resumed: ticks go on after $after" || fail "no tick after resume"

st=$(api -X POST -w '%{http_code}' -o /dev/null http://localhost/v1/vm/state)
[ "$st" = 405 ] && ok "POST: 405" || fail "POST: $st"
st=$(api -w '%{http_code}' -o /dev/null http://localhost/v2/nothing)
[ "$st" = 404 ] && ok "unknown path: 404" || fail "unknown path: $st"
st=$(api -X PUT -d '{"state":' -w '%{http_code}' -o /dev/null http://localhost/v1/vm/state)
[ "$st" = 400 ] && ok "malformed JSON: 400" || fail "malformed JSON: $st"
st=$(api -X PUT -d '{"state":"paused","x":1}' -w '%{http_code}' -o /dev/null http://localhost/v1/vm/state)
[ "$st" = 400 ] && ok "unknown key: 400" || fail "unknown key: $st"
st=$(head -c 100000 /dev/zero | tr '\0' ' ' | api -X PUT --data-binary @- -w '%{http_code}' -o /dev/null http://localhost/v1/vm/state)
[ "$st" = 413 ] && ok "oversize body: 413" || fail "oversize body: $st"
# A client that connects and sends nothing does not block the others.
python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(20)' "$rt/t1/api.sock" &
idle=$!
sleep 0.5
st=$(api -w ' %{http_code}' http://localhost/v1/vm | tail -c 4)
[ "$st" = " 200" ] && ok "a silent client blocks no one" || fail "GET with a silent client: $st"
kill $idle 2>/dev/null

# Console: vmkit console forwards a line; the guest's loop echoes it.
(sleep 1; echo ping42; sleep 4) | timeout 20 "$vmkit" console t1 >"$tmp/console.out"
grep -q got-ping42 "$rt/t1/console.log" && grep -q got-ping42 "$tmp/console.out" &&
  ok "vmkit console: input reached the guest, output came back" ||
  fail "console: $(tail -c 300 "$tmp/console.out")"

"$vmkit" inspect t1 >"$tmp/inspect.json"
python3 - "$tmp/inspect.json" <<'PY' && ok "inspect: config and counters" || fail "inspect: $(head -c 600 "$tmp/inspect.json")"
import json, sys
v = json.load(open(sys.argv[1]))
assert v["name"] == "t1" and v["state"] == "running", v
assert v["config"]["cpus"] == 1 and v["config"]["nets"] == [], v["config"]
con = [d for d in v["devices"] if d["type"] == "virtio-console"][0]
c = con["counters"]
assert c["requests"] > 0 and c["bytes_out"] > 0 and c["notifies"] > 0, c
assert v["balloon"]["target_bytes"] == 512 << 20, v["balloon"]
PY
st=$(api -X PUT -d '{"target":"384M"}' -w ' %{http_code}' http://localhost/v1/vm/balloon)
[ "$st" = '{"target_bytes":402653184} 200' ] && ok "PUT balloon target" || fail "balloon target: $st"
api http://localhost/v1/vm/balloon | grep -q '"target_bytes":402653184' && ok "GET balloon" ||
  fail "GET balloon: $(api http://localhost/v1/vm/balloon)"

# Save while paused (vmkit save NAME DIR, through PUT /v1/vm/save), then
# resume: the snapshot is restored below, after t1 is gone.
"$vmkit" pause t1 || fail "pause for save"
saved=$(ticks | sed 's/tick-//')
"$vmkit" save t1 "$tmp/snap" 2>"$tmp/save.err" && [ -f "$tmp/snap/state.bin" ] &&
  ok "vmkit save (at tick-$saved)" || fail "save: $(cat "$tmp/save.err")"
"$vmkit" save t1 "$tmp/snap2" 2>/dev/null
"$vmkit" resume t1 || fail "resume after save"
st=$(api -X PUT -d "{\"path\":\"$tmp/snap3\"}" -w ' %{http_code}' http://localhost/v1/vm/save)
case $st in *"pause it before saving"*" 409") ok "save while running: 409";; *) fail "save running: $st";; esac

"$vmkit" stop t1; rc=$?
[ "$rc" = 0 ] && ok "vmkit stop" || fail "stop: status $rc"
[ ! -e "$rt/t1" ] && [ "$("$vmkit" list --json)" = "[]" ] && ok "stopped: name released" ||
  fail "after stop: $(ls "$rt" 2>&1) / $("$vmkit" list --json)"
"$vmkit" pause t1 2>"$tmp/err3"; rc=$?
[ "$rc" = 2 ] && grep -q "no VM named 't1' is running" "$tmp/err3" && ok "verb on a gone VM: 2" ||
  fail "pause after stop: $rc $(cat "$tmp/err3")"
sleep 0.5
kill "$evpid" 2>/dev/null; evpid=
python3 - "$tmp/events" <<'PY' && ok "event stream" || fail "events: $(cat "$tmp/events")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
seen = [(e.get("from"), e.get("to")) for e in ev if e["event"] == "state"]
for want in [("running", "pausing"), ("pausing", "paused"), ("paused", "resuming"),
             ("resuming", "running"), ("running", "stopping"), ("stopping", "stopped")]:
    assert want in seen, (want, seen)
assert [e["seq"] for e in ev] == sorted(e["seq"] for e in ev)
PY

# Restore (vmkit restore DIR -d --name t2): the guest goes on from where
# it was saved, not from a boot: its first tick is the one after tick-$saved.
if [ -f "$tmp/snap/state.bin" ]; then
  out=$("$vmkit" restore "$tmp/snap" -d --name t2 2>"$tmp/restore.err")
  [ "$out" = t2 ] && ok "vmkit restore -d" || fail "restore: '$out' $(cat "$tmp/restore.err")"
  first=""
  wait_for 120 grep -q 'tick-' "$rt/t2/console.log" &&
    first=$(grep -ao 'tick-[0-9]*' "$rt/t2/console.log" | head -1 | sed 's/tick-//')
  [ -n "$first" ] && [ "$first" -ge "$saved" ] && [ "$first" -le $((saved + 3)) ] &&
    ok "restored guest goes on: tick-$first after tick-$saved" ||
    fail "restored guest: first tick '$first' after tick-$saved: $(tail -c 300 "$rt/t2/console.log")"
  ! grep -q "Linux version" "$rt/t2/console.log" && ok "restore did not boot" ||
    fail "restore booted the kernel again"
  # The restored VM's event stream from its start (since=1): the restore's
  # own transitions, then the resume; t3 (--paused) stays paused.
  curl -sN --max-time 3 --unix-socket "$rt/t2/api.sock" \
    'http://localhost/v1/events?since=1' >"$tmp/events2"
  python3 - "$tmp/events2" <<'PY' && ok "restored VM's events: restoring, paused, resuming, running" ||
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
seen = [(e.get("from"), e.get("to")) for e in ev if e["event"] == "state"]
assert seen[:4] == [("created", "restoring"), ("restoring", "paused"),
                    ("paused", "resuming"), ("resuming", "running")], seen
PY
    fail "restore events: $(cat "$tmp/events2")"
  "$vmkit" restore "$tmp/snap" -d --name t3 --paused >/dev/null 2>"$tmp/restore3.err" ||
    fail "restore twice, paused: $(cat "$tmp/restore3.err")"
  "$vmkit" list --json | grep -q '"paused"' && ok "restore --paused: paused" ||
    fail "restore --paused: $("$vmkit" list)"
  curl -sN --max-time 3 --unix-socket "$rt/t3/api.sock" \
    'http://localhost/v1/events?since=1' >"$tmp/events3"
  python3 - "$tmp/events3" <<'PY' && ok "restore --paused events: restoring, paused" ||
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
seen = [(e.get("from"), e.get("to")) for e in ev if e["event"] == "state"]
assert seen == [("created", "restoring"), ("restoring", "paused")], seen
PY
    fail "restore --paused events: $(cat "$tmp/events3")"
  "$vmkit" stop t2 || fail "stop t2"
  "$vmkit" stop t3 || fail "stop t3"
  # A VM in the foreground (restore without -d): its console stays on its
  # stdout, is kept in console.log and takes a vmkit console client; keys
  # from its stdin and from the client both reach the guest.
  mkfifo "$tmp/t4.in"
  "$vmkit" restore "$tmp/snap" --name t4 <"$tmp/t4.in" >"$tmp/t4.out" 2>&1 &
  t4pid=$!
  exec 7>"$tmp/t4.in"
  wait_for 120 grep -q 'tick-' "$tmp/t4.out" && ok "foreground VM: console on its stdout" ||
    fail "foreground VM: no ticks: $(tail -c 300 "$tmp/t4.out")"
  echo fromterm >&7
  wait_for 60 grep -q 'got-fromterm' "$tmp/t4.out" && ok "foreground VM: its stdin reaches the guest" ||
    fail "foreground VM: stdin: $(tail -c 300 "$tmp/t4.out")"
  (sleep 1; echo fromclient; sleep 4) | timeout 20 "$vmkit" console t4 >"$tmp/t4.client"
  grep -q got-fromclient "$tmp/t4.out" && grep -q got-fromclient "$tmp/t4.client" &&
    grep -q got-fromterm "$tmp/t4.client" && grep -q got-fromclient "$rt/t4/console.log" &&
    ok "vmkit console on a foreground VM: input reached the guest, output on both sides and in console.log" ||
    fail "foreground console: client '$(tail -c 200 "$tmp/t4.client")' stdout '$(tail -c 200 "$tmp/t4.out")'"
  "$vmkit" stop t4 || fail "stop t4"
  wait "$t4pid"
  exec 7>&-
fi

# Name reuse after SIGKILL: the dead VM's folder is left behind, and does
# not block a new t1.
"$vmkit" run -d --name t1 --engine emu --net none >/dev/null 2>"$tmp/err4" ||
  fail "restart t1: $(cat "$tmp/err4")"
pid=$(cat "$rt/t1/pid")
kill -9 "$pid"
wait_for 10 sh -c "! kill -0 $pid 2>/dev/null"
[ -e "$rt/t1/pid" ] && ok "SIGKILL left the entry behind" || fail "entry vanished"
[ "$("$vmkit" list --json)" = "[]" ] && ok "list skips the dead VM" || fail "list shows a dead VM"
"$vmkit" run -d --name t1 --engine emu --net none >/dev/null 2>"$tmp/err5" &&
  ok "t1 reused after SIGKILL" || fail "reuse after SIGKILL: $(cat "$tmp/err5")"
"$vmkit" stop t1 || fail "stop the reused t1"

# vmkit serve: an empty VMM configured and started through the API. Its
# kernel is an Image header whose first instructions are "wfi; b .-4": the
# VM idles, so this costs no guest boot.
python3 - "$tmp/Image" <<'PY'
import struct, sys
img = bytearray(65536)
img[0:8] = struct.pack("<II", 0xd503207f, 0x17ffffff)
img[16:32] = struct.pack("<QQ", len(img), 0xA)
img[56:60] = b"ARM\x64"
open(sys.argv[1], "wb").write(img)
PY
"$vmkit" serve --api-socket "$tmp/serve.sock" 2>"$tmp/serve.err" &
spid=$!
wait_for 10 test -S "$tmp/serve.sock" || fail "serve: no socket"
[ "$(stat -c %a "$tmp/serve.sock")" = 600 ] || fail "serve socket mode $(stat -c %a "$tmp/serve.sock")"
sapi() { curl -s --max-time 30 --unix-socket "$tmp/serve.sock" "$@"; }
st=$(sapi -w ' %{http_code}' http://localhost/v1/vm)
case $st in *'"state":"unconfigured"'*" 200") ok "serve: unconfigured";; *) fail "serve GET: $st";; esac
st=$(sapi -X PUT -d '{"state":"running"}' -w ' %{http_code}' http://localhost/v1/vm/state)
case $st in *"PUT /v1/vm/config first"*" 409") ok "serve: start before config: 409";; *) fail "serve early start: $st";; esac
st=$(sapi -X PUT -d '{"cpus":2,"kernal":"x"}' -w ' %{http_code}' http://localhost/v1/vm/config)
case $st in *"unknown key 'kernal'"*" 400") ok "serve: bad config: 400";; *) fail "serve bad config: $st";; esac
printf '{"engine":"emu","cpus":2,"memory":"64M","kernel":"%s","console":"none","entropy":false}' "$tmp/Image" >"$tmp/vm.json"
"$vmkit" validate "$tmp/vm.json" >/dev/null || fail "validate vm.json"
st=$(sapi -X PUT --data-binary @"$tmp/vm.json" -w ' %{http_code}' http://localhost/v1/vm/config)
[ "$st" = '{"state":"configured"} 200' ] && ok "serve: PUT config" || fail "serve config: $st"
st=$(sapi -X PUT -d '{"state":"running"}' -w ' %{http_code}' http://localhost/v1/vm/state)
[ "$st" = '{"state":"running"} 200' ] && ok "serve: started through the API" || fail "serve start: $st"
sapi http://localhost/v1/vm >"$tmp/serve.json"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert v["state"]=="running" and v["engine"]=="emu" and v["config"]["cpus"]==2, v' \
  "$tmp/serve.json" && ok "serve: GET /v1/vm" || fail "serve GET: $(cat "$tmp/serve.json")"
st=$(sapi -X PUT --data-binary @"$tmp/vm.json" -w ' %{http_code}' http://localhost/v1/vm/config)
case $st in *"has started"*" 409") ok "serve: config after start: 409";; *) fail "serve late config: $st";; esac
sapi -X PUT -d '{"state":"stopped"}' http://localhost/v1/vm/state >/dev/null
wait "$spid"; rc=$?
[ "$rc" = 1 ] && grep -q "the VM was stopped" "$tmp/serve.err" && [ ! -e "$tmp/serve.sock" ] &&
  ok "serve: exits when its VM is stopped" || fail "serve exit: $rc $(cat "$tmp/serve.err")"

# SIGTERM before any VM: exit 1 with a sentence, the socket removed.
"$vmkit" serve --api-socket "$tmp/serve2.sock" 2>"$tmp/serve2.err" &
spid=$!
wait_for 10 test -S "$tmp/serve2.sock" || fail "serve 2: no socket"
kill -TERM "$spid"
wait "$spid"; rc=$?
[ "$rc" = 1 ] && grep -q "a signal ended vmkit serve" "$tmp/serve2.err" && [ ! -e "$tmp/serve2.sock" ] &&
  ok "serve: SIGTERM before a VM" || fail "serve SIGTERM: $rc $(cat "$tmp/serve2.err")"

[ "$fails" -eq 0 ] && echo "all API checks passed"
exit $(( fails > 0 ))
