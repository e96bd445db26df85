#!/usr/bin/env bash
# Every bad flag or missing file gets exit status 2 and exactly one line on
# stderr that names the problem. Usage: cli_errors.sh PATH/TO/vmkit
set -u
vmkit=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'not a kernel' >"$tmp/notkernel"
mkfifo "$tmp/fifo"
: >"$tmp/disk.img"
fails=0

# expect STATUS PATTERN -- ARGS...: the exit status, and a regex the single
# stderr line must match.
expect() {
  local want=$1 pat=$2; shift 3
  # timeout: a hang (an open(2) waiting on a FIFO) fails as status 124
  timeout 10 "$vmkit" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local got=$?
  local lines; lines=$(wc -l <"$tmp/err")
  if [ "$got" != "$want" ] || ! grep -Eq -- "$pat" "$tmp/err" || [ "$lines" -ne 1 ]; then
    echo "FAIL: vmkit $* -> status $got (want $want), stderr ($lines lines):"
    sed 's/^/    /' "$tmp/err"
    fails=$((fails + 1))
  else
    echo "ok: vmkit $* -> $got: $(cat "$tmp/err")"
  fi
}

expect 2 "unknown command 'bogus'" -- bogus
expect 2 "unknown flag '--frobnicate'" -- run --frobnicate
expect 2 "unknown engine 'xen'" -- run --engine xen --kernel "$tmp/notkernel"
expect 2 "--cpus takes a whole number from 1 to 8, not '0'" -- run --cpus 0
expect 2 "--cpus takes a whole number from 1 to 8, not 'two'" -- run --cpus two
expect 2 "--cpus takes a whole number from 1 to 8, not '99'" -- run --cpus 99
expect 2 "--memory takes a size such as 512M or 2G, not 'lots'" -- run --memory lots
expect 2 "--memory must be between" -- run --memory 1M
expect 2 "--engine needs a value" -- run --engine
expect 2 "cannot use kernel '$tmp/missing'" -- run --kernel "$tmp/missing"
expect 2 "cannot use initrd '$tmp/missing'" -- run --kernel "$tmp/notkernel" --initrd "$tmp/missing"
expect 2 "cannot use disk '$tmp/nodisk.img'" -- run --kernel "$tmp/notkernel" --disk "$tmp/nodisk.img"
expect 2 "is a directory" -- run --kernel "$tmp"
expect 2 "'rx' is not an option" -- run --kernel "$tmp/notkernel" --disk "$tmp/disk.img,rx"
expect 2 "given twice" -- run --kernel "$tmp/notkernel" --disk "$tmp/disk.img" --disk "$tmp/disk.img"
# Anything that is not a regular file is refused at once (a FIFO used to
# hang vmkit in open(2), waiting for a writer).
expect 2 "kernel '$tmp/fifo' is a FIFO; give a regular file" -- run --kernel "$tmp/fifo"
expect 2 "initrd '$tmp/fifo' is a FIFO; give a regular file" -- run --kernel "$tmp/notkernel" --initrd "$tmp/fifo"
expect 2 "disk '$tmp/fifo' is a FIFO; give a regular file or a block device" -- run --kernel "$tmp/notkernel" --disk "$tmp/fifo"
expect 2 "kernel '/dev/null' is a character device" -- run --kernel /dev/null
expect 126 "$tmp/fifo is not a regular file" -- exec "$tmp/fifo"
mkdir -p "$tmp/sharedir"
longtag=0123456789012345678901234567890123456
expect 2 "cannot share folder '$tmp/noshare'" -- run --kernel "$tmp/notkernel" --share "$tmp/noshare"
expect 2 "is not a directory" -- run --kernel "$tmp/notkernel" --share "$tmp/disk.img"
expect 2 "share tag 'x' is given twice" -- run --kernel "$tmp/notkernel" --share "$tmp/sharedir,tag=x" --share "$tmp,tag=x"
expect 2 "share tag 'sharedir' is given twice" -- run --kernel "$tmp/notkernel" --share "$tmp/sharedir" --share "$tmp/sharedir/"
expect 2 "share tag '$longtag' is 37 bytes" -- run --kernel "$tmp/notkernel" --share "$tmp/sharedir,tag=$longtag"
expect 2 "has a space, quote" -- run --kernel "$tmp/notkernel" --share "$tmp/sharedir,tag=a b"
expect 2 "'rx' is not an option" -- run --kernel "$tmp/notkernel" --share "$tmp/sharedir,rx"
expect 2 "--share needs a folder" -- run --kernel "$tmp/notkernel" --share ",ro"
expect 2 "unexpected argument 'extra'" -- run extra
# --vsock: CID range, options, socket path length and place.
k=(--kernel "$tmp/notkernel")
expect 2 "--vsock cid= takes a guest CID from 3 to 4294967294 .* not '2'" -- run "${k[@]}" --vsock "$tmp/v.sock,cid=2"
expect 2 "not '4294967295'" -- run "${k[@]}" --vsock "$tmp/v.sock,cid=4294967295"
expect 2 "not '99999999999999999999'" -- run "${k[@]}" --vsock "$tmp/v.sock,cid=99999999999999999999"
expect 2 "not 'x3'" -- run "${k[@]}" --vsock "$tmp/v.sock,cid=x3"
expect 2 "--vsock takes PATH or PATH,cid=N; 'port=5' is not an option" -- run "${k[@]}" --vsock "$tmp/v.sock,port=5"
expect 2 "--vsock needs a socket path" -- run "${k[@]}" --vsock ",cid=5"
long=/tmp/$(printf 'v%.0s' $(seq 100)).sock
expect 2 "vsock socket path '$long' is ${#long} bytes; at most 96 fit" -- run "${k[@]}" --vsock "$long"
expect 2 "folder of the vsock socket path '$tmp/nodir/v.sock' does not exist" -- run "${k[@]}" --vsock "$tmp/nodir/v.sock"
expect 2 "'$tmp/disk.img' is an existing file that is not a socket" -- run "${k[@]}" --vsock "$tmp/disk.img"
expect 2 "--vsock is given twice" -- run "${k[@]}" --vsock "$tmp/a.sock" --vsock "$tmp/b.sock"
python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); time.sleep(60)' "$tmp/live.sock" >/dev/null 2>&1 &
live=$!
for _ in $(seq 50); do [ -S "$tmp/live.sock" ] && break; sleep 0.1; done
expect 2 "vsock socket '$tmp/live.sock' is in use by another program" -- run "${k[@]}" --vsock "$tmp/live.sock"
kill "$live" 2>/dev/null; wait "$live" 2>/dev/null
expect 2 "exec needs a program" -- exec
expect 2 "--emu-mode must be interp or jit" -- exec --emu-mode fast /bin/true
# run --emu-mode: the value, and both --engine kvm and --emu-mode (a
# contradiction on the command line, refused before kvm's probe, so the
# sentence is the same on every host).
expect 2 "--emu-mode must be interp or jit, not 'fast'" -- run --emu-mode fast
expect 2 "--emu-mode needs a value" -- run --emu-mode
expect 2 "--emu-mode is for the emu engine, and this VM runs on kvm; use --engine emu or leave --emu-mode out" -- run --engine kvm --emu-mode jit --kernel "$tmp/notkernel"
expect 2 "--on-reboot takes restart or exit, not 'again'" -- run --on-reboot again
expect 2 "--stop-timeout takes whole seconds from 0 to 86400, not 'soon'" -- run --stop-timeout soon
expect 2 "--stop-timeout takes whole seconds from 0 to 86400, not '-1'" -- run --stop-timeout -1

# Networking flags (--net, --forward).
k=(run --kernel "$tmp/notkernel")
expect 2 "--net takes nat, none, socket=PATH or tap=IFNAME, not 'bogus'" -- "${k[@]}" --net bogus
expect 2 "--net mtu= takes a number from 68 to 65500, not '9'" -- "${k[@]}" --net nat,mtu=9
expect 2 "--net mac= takes six hex bytes" -- "${k[@]}" --net nat,mac=52:54:00:zz:00:01
expect 2 "multicast" -- "${k[@]}" --net nat,mac=01:00:5e:00:00:01
expect 2 "unknown option 'listen'" -- "${k[@]}" --net nat,listen
expect 2 "--net none cannot be combined" -- "${k[@]}" --net none --net nat
expect 2 "cannot connect to socket '$tmp/nosock'" -- "${k[@]}" --net "socket=$tmp/nosock"
long=$tmp/$(printf 'x%.0s' $(seq 120))
expect 2 "at most 107 fit in a Unix socket address" -- "${k[@]}" --net "socket=$long"
expect 2 "tap interface name 'averyveryverylongname' is longer than 15" -- "${k[@]}" --net tap=averyveryverylongname
expect 2 "network '$tmp/s' is given twice" -- "${k[@]}" --net "socket=$tmp/s,listen" --net "socket=$tmp/s,listen"
expect 2 "--forward takes tcp:\\[HOSTADDR:\\]HOSTPORT:GUESTPORT" -- "${k[@]}" --forward tcp:80
expect 2 "--forward takes tcp:" -- "${k[@]}" --forward sctp:1:2
expect 2 "'70000' is not a port number from 1 to 65535" -- "${k[@]}" --forward tcp:1:70000
expect 2 "'nothost' is not an IPv4 address" -- "${k[@]}" --forward tcp:nothost:1:2
expect 2 "port forwards need a NAT network" -- "${k[@]}" --net none --forward tcp:2222:22
expect 2 "host port 2222 \\(tcp\\) is forwarded twice" -- "${k[@]}" --forward tcp:2222:22 --forward tcp:2222:23
# A host port someone already listens on is named in the sentence.
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$tmp/port" &
holder=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
busy=$(cat "$tmp/port")
expect 2 "host port 127.0.0.1:$busy \\(tcp\\) of --forward is already in use" -- "${k[@]}" --forward "tcp:$busy:80"
kill "$holder" 2>/dev/null

# Config files (docs/config.md): vmkit validate and run --config.
printf '{"cpus": 2, "kernal": "x"}' >"$tmp/typo.json"
printf '{"cpus": 2' >"$tmp/broken.json"
printf '{"kernel": "%s", "cpus": 12}' "$tmp/notkernel" >"$tmp/range.json"
printf '{"kernel": "%s", "disks": [{"path": "%s/nodisk.img"}]}' "$tmp/notkernel" "$tmp" >"$tmp/nodisk.json"
printf '{"kernel": "%s", "cpus": 2, "nets": []}' "$tmp/notkernel" >"$tmp/good.json"
expect 2 "typo.json: unknown key 'kernal' in the config" -- validate "$tmp/typo.json"
expect 2 "broken.json: the config is not valid JSON" -- validate "$tmp/broken.json"
expect 2 "config field 'cpus' is 12; it must be from 1 to 8" -- validate "$tmp/range.json"
expect 2 "nodisk.json: cannot use disk '$tmp/nodisk.img'" -- validate "$tmp/nodisk.json"
expect 2 "cannot read config file '$tmp/missing.json'" -- validate "$tmp/missing.json"
printf '{"kernel": "%s", "emu_mode": "fast"}' "$tmp/notkernel" >"$tmp/mode.json"
printf '{"kernel": "%s", "engine": "kvm", "emu_mode": "jit"}' "$tmp/notkernel" >"$tmp/kvmjit.json"
printf '{"kernel": "%s", "engine": "emu", "emu_mode": "jit", "nets": []}' "$tmp/notkernel" >"$tmp/jit.json"
expect 2 "config field 'emu_mode' is 'fast'; use interp or jit" -- validate "$tmp/mode.json"
# kvm ignores the mode: a kvm config with one is judged on kvm alone.
if "$vmkit" validate "$tmp/kvmjit.json" 2>"$tmp/err" || grep -q emu_mode "$tmp/err"; then
  echo "FAIL: validate kvmjit.json: kvm's own sentence, not the mode's"; cat "$tmp/err"; fails=$((fails+1))
else
  echo "ok: validate kvmjit.json: kvm's own sentence"
fi
"$vmkit" validate "$tmp/jit.json" >/dev/null 2>&1 || { echo "FAIL: validate jit.json"; fails=$((fails+1)); }
# The mode goes into --print-config: the default is jit on an x86-64 host
# (interp elsewhere), interp can be chosen, and a config's mode stays when
# --engine moves the VM to kvm (which ignores it), so it comes back with
# the VM.
default_mode=interp
[ "$(uname -m)" = x86_64 ] && default_mode=jit
pc() { "$vmkit" run --kernel "$tmp/notkernel" "$@" --print-config 2>"$tmp/err"; }
if pc | grep -q "\"emu_mode\": \"$default_mode\"" &&
  pc --engine emu | grep -q "\"emu_mode\": \"$default_mode\"" &&
  pc --emu-mode interp | grep -q '"emu_mode": "interp"' &&
  pc --emu-mode jit --engine emu | grep -q '"emu_mode": "jit"' &&
  "$vmkit" run --config "$tmp/jit.json" --engine kvm --print-config 2>"$tmp/err" | grep -q '"emu_mode": "jit"' &&
  "$vmkit" run --config "$tmp/jit.json" --print-config 2>"$tmp/err" | grep -q '"emu_mode": "jit"'; then
  echo "ok: --emu-mode in --print-config (default $default_mode)"
else
  echo "FAIL: --emu-mode in --print-config (default $default_mode)"; cat "$tmp/err"; fails=$((fails+1))
fi
expect 2 "--emu-mode is for the emu engine, and this VM runs on kvm" -- run --config "$tmp/jit.json" --engine kvm --emu-mode jit
expect 2 "validate takes one config file" -- validate
expect 2 "unknown key 'kernal'" -- run --config "$tmp/typo.json"
expect 2 "cannot use disk" -- run --config "$tmp/nodisk.json"
"$vmkit" validate "$tmp/good.json" >/dev/null 2>&1 || { echo "FAIL: validate good.json"; fails=$((fails+1)); }
# --print-config of a config file plus flags: the flags win, and the output
# reads back as the same document.
if "$vmkit" run --config "$tmp/good.json" --memory 1G --print-config >"$tmp/p1.json" 2>"$tmp/err" &&
  grep -q '"cpus": 2' "$tmp/p1.json" && grep -q '"memory": "1G"' "$tmp/p1.json" &&
  "$vmkit" run --config "$tmp/p1.json" --print-config | cmp -s - "$tmp/p1.json"; then
  echo "ok: --print-config round trip"
else
  echo "FAIL: --print-config round trip"; cat "$tmp/p1.json" "$tmp/err"; fails=$((fails+1))
fi

# Named VMs: bad names, verbs without a VM, usage of the verbs.
export XDG_RUNTIME_DIR=$tmp/xdg
mkdir -p "$XDG_RUNTIME_DIR"
expect 2 "VM name 'a/b' may hold only letters" -- run --name a/b
expect 2 "VM name 'slots' is reserved" -- run --name slots
expect 2 "-d puts the console in the runtime folder" -- run -d --console none
expect 2 "no VM named 'ghost' is running" -- pause ghost
expect 2 "no VM named 'ghost' is running" -- stop ghost
expect 2 "no VM named 'ghost' is running" -- inspect ghost
expect 2 "no VM named 'ghost' is running" -- console ghost
expect 2 "pause takes one VM name" -- pause
expect 2 "list takes only --json" -- list --yaml
expect 2 "serve needs --api-socket PATH" -- serve
expect 2 "save takes a VM name and a folder" -- save web
expect 2 "restore takes a snapshot folder first" -- restore
expect 2 "cannot read the snapshot $tmp/nosnap/state.bin" -- restore "$tmp/nosnap"
expect 2 "--paused goes with --restore" -- run --paused
expect 2 "--restore takes the snapshot's own config" -- run --restore "$tmp" --config "$tmp/good.json"
"$vmkit" list --json >"$tmp/list" 2>&1 && [ "$(cat "$tmp/list")" = "[]" ] &&
  echo "ok: list --json with no VMs" || { echo "FAIL: list --json: $(cat "$tmp/list")"; fails=$((fails+1)); }

# --port NAME=PATH: form, names, socket paths.
expect 2 "--port takes NAME=PATH, as in --port agent=/tmp/agent.sock; 'agent' has no '='" -- "${k[@]}" --port agent
expect 2 "--port takes NAME=PATH with both parts given" -- "${k[@]}" --port "=$tmp/p.sock"
expect 2 "--port takes NAME=PATH with both parts given" -- "${k[@]}" --port "agent="
expect 2 "console port 'agent' is given twice; give each port its own NAME" -- "${k[@]}" --port "agent=$tmp/a.sock" --port "agent=$tmp/b.sock"
expect 2 "socket '$tmp/a.sock' is given to console ports 'a' and 'b'" -- "${k[@]}" --port "a=$tmp/a.sock" --port "b=$tmp/a.sock"
expect 2 "socket of console port 'agent' '$long' is ${#long} bytes; at most 107 fit" -- "${k[@]}" --port "agent=$long"
expect 2 "console port name 'a/b' may hold only letters, digits" -- "${k[@]}" --port "a/b=$tmp/a.sock"
expect 2 "console port name '..' is not a file name" -- "${k[@]}" --port "..=$tmp/a.sock"
longname=$(printf 'n%.0s' $(seq 64))
expect 2 "console port name '$longname' is 64 bytes; give a NAME of 1 to 63" -- "${k[@]}" --port "$longname=$tmp/a.sock"
expect 2 "folder of the socket of console port 'agent' '$tmp/nodir/a.sock' does not exist" -- "${k[@]}" --port "agent=$tmp/nodir/a.sock"
expect 2 "socket of console port 'agent' '$tmp/disk.img' is an existing file that is not a socket" -- "${k[@]}" --port "agent=$tmp/disk.img"
many=()
for i in $(seq 17); do many+=(--port "p$i=$tmp/p$i.sock"); done
expect 2 "at most 16 console ports can be attached" -- "${k[@]}" "${many[@]}"

# The balloon flags.
expect 2 "--balloon takes on or off, not 'maybe'" -- "${k[@]}" --balloon maybe
expect 2 "--balloon-target takes a size such as 256M, not 'lots'" -- "${k[@]}" --balloon-target lots
expect 2 "balloon target \\(1024 MiB\\) must be between 64 MiB and the guest's memory \\(512 MiB\\)" -- "${k[@]}" --balloon-target 1G
expect 2 "balloon target \\(32 MiB\\) must be between" -- "${k[@]}" --memory 256M --balloon-target 32M
expect 2 "a balloon target needs the balloon" -- "${k[@]}" --balloon off --balloon-target 128M

# --help lists every flag of run.
"$vmkit" run --help >"$tmp/help" || { echo "FAIL: run --help status"; fails=$((fails+1)); }
for f in --engine --emu-mode --cpus --memory --kernel --initrd --cmdline --disk --share --console --no-entropy --boot-timer --on-reboot --stop-timeout "Ctrl-a x" "Ctrl-a Ctrl-a" "Ctrl-a h" --net --forward --vsock --port --config --print-config --name --detach --balloon --balloon-target --restore --paused --help VMKIT_TRACE_START; do
  grep -q -- "$f" "$tmp/help" || { echo "FAIL: run --help lacks $f"; fails=$((fails+1)); }
done
"$vmkit" --help | grep -q "exec PROGRAM" || { echo "FAIL: --help lacks exec"; fails=$((fails+1)); }

[ "$fails" -eq 0 ] && echo "all CLI error checks passed"
exit $(( fails > 0 ))
