#!/bin/sh
# balloon.sh — integration test of virtio-balloon: boots the default guest
# once on the emu engine with --memory 512M --balloon-target 384M and checks
#   1. the guest's driver bound the device, and the target took memory away
#      from the guest: its MemAvailable falls below 384 MiB (about 470 MiB
#      without a balloon);
#   2. free page reporting: the guest fills 200 MiB of tmpfs (vmkit's RSS,
#      read from /proc/PID/status, grows), then deletes it; vmkit's RSS
#      must fall again by at least 150 MiB. Without reporting, memory a
#      guest frees stays in the host process for good.
#   3. 8 MiB of random data the guest keeps in tmpfs meanwhile reads back
#      the same (no page in use is ever given away).
# Guest and host take turns: the guest prints phase=NAME on its console and
# waits for a line on its console input, which the host writes (again and
# again, until the guest moves on) once it has measured. Nothing is timed:
# each wait polls with a generous limit.
# Exit 77 (skip) when the default guest is not built.
#
# Usage: balloon.sh [VMKIT_BINARY]
# Env: VMKIT_GUEST_DIR (default <repo>/.cache/guest),
#      VMK_EMU_TEST_TIMEOUT seconds for each wait (default 1200).
set -u

here=$(cd "$(dirname "$0")" && pwd)
limit_default=1200
. "$here/../lib/guest.sh"
vm_pid=
cleanup() {
  [ -n "$vm_pid" ] && kill -9 "$vm_pid" 2>/dev/null
  exec 3>&- 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

target_kb=$((384 * 1024))
fill_mb=200
cat >"$tmp/guest.sh" <<EOF
r() { echo "\$1=\$2"; }
kb() { sed -n "s/^\$1: *\([0-9]*\) kB/\1/p" /proc/meminfo; }
# Waits for the host's line \$1 on the console (it repeats it until seen).
await() { while read -r line; do [ "\$line" = "\$1" ] && return; done; }
r balloon-driver "\$(ls /sys/bus/virtio/drivers/virtio_balloon 2>/dev/null | grep -c '^virtio')"
r memtotal-kb "\$(kb MemTotal)"
i=0
while [ "\$(kb MemAvailable)" -gt $target_kb ] && [ \$i -lt $limit ]; do
  sleep 1; i=\$((i + 1))
done
r avail-kb "\$(kb MemAvailable)"
mkdir -p /mnt/t && mount -t tmpfs -o size=300m tmpfs /mnt/t
# Data that stays in use while freed memory around it is reported: it
# must read back the same afterwards.
dd if=/dev/urandom of=/mnt/t/keep bs=1M count=8 2>/dev/null
r keep-before "\$(sha256sum /mnt/t/keep | cut -d' ' -f1)"
dd if=/dev/zero of=/mnt/t/fill bs=1M count=$fill_mb 2>/dev/null
r filled-mb "\$(du -m /mnt/t/fill | cut -f1)"
echo phase=filled
await measured
rm /mnt/t/fill
echo phase=freed
await dropped
r keep-after "\$(sha256sum /mnt/t/keep | cut -d' ' -f1)"
r avail-after-kb "\$(kb MemAvailable)"
echo phase=done
EOF
cmd64=$(base64 -w0 <"$tmp/guest.sh")

mkfifo "$tmp/in"
start=$(date +%s)
"$vmkit" run --engine emu --memory 512M --balloon-target 384M --net none \
  --cmdline "console=hvc0 vmkit.quiet vmkit.cmd64=$cmd64" \
  <"$tmp/in" >"$tmp/console" 2>"$tmp/err" &
vm_pid=$!
exec 3>"$tmp/in"

# Waits until the console shows phase=$1 (or vmkit ends, or the limit).
wait_phase() {
  i=0
  while ! grep -q "^phase=$1" "$tmp/console" && kill -0 "$vm_pid" 2>/dev/null &&
    [ $i -lt "$limit" ]; do
    sleep 1
    i=$((i + 1))
  done
  grep -q "^phase=$1" "$tmp/console"
}
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$vm_pid/status" 2>/dev/null; }

# Tells the guest $2 until it shows phase=$1 (a line typed while the
# guest is busy may be lost, so it is repeated).
tell_until() {
  i=0
  while ! grep -q "^phase=$1" "$tmp/console" && kill -0 "$vm_pid" 2>/dev/null &&
    [ $i -lt "$limit" ]; do
    echo "$2" >&3
    sleep 5
    i=$((i + 5))
  done
}

rss_filled= rss_freed=
if wait_phase filled; then
  rss_filled=$(rss_kb)
  tell_until freed measured
  if wait_phase freed; then
    # Reporting starts about 2 s after the guest frees memory; poll.
    want=$((rss_filled - 150 * 1024))
    i=0
    while rss_freed=$(rss_kb) && [ -n "$rss_freed" ] &&
      [ "$rss_freed" -gt "$want" ] && [ $i -lt "$limit" ]; do
      sleep 1
      i=$((i + 1))
    done
  fi
fi
tell_until done dropped
wait_phase done
i=0
while kill -0 "$vm_pid" 2>/dev/null && [ $i -lt "$limit" ]; do
  sleep 1
  i=$((i + 1))
done
kill -0 "$vm_pid" 2>/dev/null && kill -9 "$vm_pid"
wait "$vm_pid"
status=$?
vm_pid=
exec 3>&-
echo "balloon run took $(($(date +%s) - start)) s, exit status $status"

val() { sed -n "s/^$1=//p" "$tmp/console" | tr -d '\r' | head -n1; }
echo "guest: MemTotal $(val memtotal-kb) kB, MemAvailable $(val avail-kb) kB" \
  "with the target, $(val avail-after-kb) kB at the end; filled $(val filled-mb) MiB"
echo "vmkit RSS: ${rss_filled:-?} kB filled, ${rss_freed:-?} kB after the" \
  "guest freed it (drop $(( ${rss_filled:-0} - ${rss_freed:-0} )) kB)"

check "vmkit exited 0" test "$status" -eq 0
check "no device errors on stderr" sh -c '! grep -q "bad request" "$0"' "$tmp/err"
check "the guest's virtio_balloon driver bound the device" \
  test "$(val balloon-driver)" = 1
check "the target shrank the guest's available memory below 384 MiB" \
  test "$(val avail-kb)" -le "$target_kb"
check "the guest filled $fill_mb MiB" test "$(val filled-mb)" = "$fill_mb"
check "data the guest kept reads back the same after reporting" \
  sh -c '[ -n "$0" ] && [ "$0" = "$1" ]' "$(val keep-before)" "$(val keep-after)"
check "vmkit's RSS fell by 150 MiB or more after the guest freed $fill_mb MiB" \
  test -n "$rss_filled" -a -n "$rss_freed" -a \
  "$(( ${rss_filled:-0} - ${rss_freed:-0} ))" -ge $((150 * 1024))

if [ "$fails" -ne 0 ]; then
  echo "--- console"
  tail -n 40 "$tmp/console"
  echo "--- stderr"
  cat "$tmp/err"
  exit 1
fi
echo "all balloon checks passed"
