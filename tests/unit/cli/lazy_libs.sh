#!/usr/bin/env bash
# lazy_libs.sh — vmkit maps libslirp (with glib) only for a VM with a NAT
# interface, and libmicrohttpd (with gnutls) only once a client uses the
# REST API: they are most of the VMM's memory overhead besides its own
# code (bench/kvm_boot.sh). Real vmkit processes on the emu engine with a
# 4 KiB arm64 "kernel" that sleeps in WFI:
#   1. a named VM with --net none: once its guest RAM is mapped and its
#      API socket exists, /proc/PID/maps holds none of libslirp, glib,
#      libmicrohttpd, gnutls;
#   2. its main thread, with no keyboard to watch, wakes fewer than 15
#      times in 3 s (it sleeps on the VM, not in a 100 ms poll);
#      vmkit list then answers with the VM, and libmicrohttpd is mapped;
#   3. a VM with NAT and a --forward maps libslirp, and the forward's host
#      port accepts a TCP connection (libslirp listens on it).
# Usage: lazy_libs.sh PATH/TO/vmkit
set -u
vmkit=$1
tmp=$(mktemp -d)
export XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

image "$tmp/sleep.img" d503207f 17ffffff # wfi; b .-4

# ram_mapped PID: the VM's 64 MiB of guest RAM is mapped (it was built).
ram_mapped() {
  local range rest
  while read -r range rest; do
    [ $((0x${range#*-} - 0x${range%-*})) -eq $((64 << 20)) ] && return 0
  done <"/proc/$1/maps"
  return 1
} 2>/dev/null
mapped() { grep -q "$2" "/proc/$1/maps" 2>/dev/null; }

"$vmkit" run --engine emu --kernel "$tmp/sleep.img" --memory 64M --net none \
  --no-entropy --console none --cmdline x --name quiet </dev/null >"$tmp/quiet.out" 2>&1 &
p1=$!
pids+=($p1)
if wait_for 30 ram_mapped $p1 && wait_for 30 test -S "$XDG_RUNTIME_DIR/vmkit/quiet/api.sock"; then
  sleep 0.5 # the VM's threads are started by now
  found=$(grep -oE 'lib(slirp|glib-2\.0|microhttpd|gnutls)[^ ]*' "/proc/$p1/maps" | sort -u | tr '\n' ' ')
  if [ -z "$found" ]; then
    ok "a VM without NAT, its API unused, maps neither libslirp/glib nor libmicrohttpd/gnutls"
  else
    bad "a VM without NAT, its API unused, maps: $found"
  fi
else
  bad "the --net none VM never came up: $(cat "$tmp/quiet.out")"
fi

# The main thread of a VM with no keyboard to watch sleeps on the VM:
# about 2 wake-ups a second, not the 10 of a 100 ms poll (each costs the
# vCPUs a time slice, dear in a nested host). Counted, not timed: its
# voluntary context switches over 3 s.
cs() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$p1/task/$p1/status"; }
c0=$(cs)
sleep 3
c1=$(cs)
if [ -n "$c0" ] && [ -n "$c1" ] && [ $((c1 - c0)) -lt 15 ]; then
  ok "the idle main thread woke $((c1 - c0)) times in 3 s"
else
  bad "the idle main thread woke $((c1 - c0)) times in 3 s (want < 15)"
fi

out=$(timeout 30 "$vmkit" list 2>&1)
if echo "$out" | grep -q "^quiet "; then
  ok "vmkit list answers through the API loaded at first use"
else
  bad "vmkit list: $out"
fi
if mapped $p1 libmicrohttpd; then
  ok "libmicrohttpd is mapped once a client came"
else
  bad "libmicrohttpd is not mapped after vmkit list"
fi
if ! mapped $p1 libslirp; then ok "still no libslirp"; else bad "libslirp mapped by the API"; fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$vmkit" run --engine emu --kernel "$tmp/sleep.img" --memory 64M --net nat \
  --forward "tcp:127.0.0.1:$port:80" --no-entropy --console none --cmdline x \
  --name natty </dev/null >"$tmp/nat.out" 2>&1 &
p2=$!
pids+=($p2)
if wait_for 30 mapped $p2 libslirp; then
  ok "a VM with NAT maps libslirp"
else
  bad "a VM with NAT never mapped libslirp: $(cat "$tmp/nat.out")"
fi
if wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 2).close()"; then
  ok "its --forward port $port accepts a connection"
else
  bad "its --forward port $port refuses connections: $(cat "$tmp/nat.out")"
fi

echo "$fails failed"
[ "$fails" -eq 0 ]
