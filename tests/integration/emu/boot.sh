#!/bin/sh
# boot.sh — integration test of the emu engine: boots the default guest on
# vmkit's own AArch64 emulator, directly on this host (no /dev/kvm needed),
# and checks from both sides:
#   1. `--cpus 2 --disk IMG`: the guest boots to /init, reports nproc (2),
#      reads 32 bytes from /dev/hwrng, writes a pattern to /dev/vda with dd
#      and syncs; vmkit exits 0 after the guest's poweroff; the pattern is
#      in the image on the host.
#   2. stress.sh in the guest with 2 vCPUs: sha256sum of 64 MiB, a gzip
#      round trip and a shell loop on every vCPU at once, outputs checked.
#   3. Reboot (`reboot -f`: PSCI SYSTEM_RESET). By default vmkit restarts
#      the VM with the same flags and disk: a command that reboots when
#      its disk has no marker and writes the marker first runs twice; the
#      second time it finds the marker and reports a panic through the
#      pvpanic register, as Linux's pvpanic-mmio driver would (Debian's
#      arm64 kernel lacks that driver, so devmem writes it): vmkit ends the
#      VM with exit status 1 and says the guest kernel panicked. With
#      `--on-reboot exit` vmkit ends the VM with its "rebooted" message and
#      exit status 0.
# A failing check prints the guest console. Exit 77 (skip) when the
# default guest is not built.
#
# boot.sh VMKIT (emu-boot) runs these in the interpreter (--emu-mode
# interp), the reference; every other integration test runs the default
# mode, the translator.
# boot.sh VMKIT jit (emu-boot-jit) runs the guest's code translated
# (--emu-mode jit, VMK_JIT_STRICT=1: a block the translator should take
# and cannot ends the VM) in one lean boot instead: 2 vCPUs run stress.sh
# (step 2's checks), then tick once a second; the VM (-d, named) is
# paused, saved and stopped at a tick, and its snapshot restored in the
# foreground, still in jit mode: the ticks go on from the saved one (no
# boot), the guest powers off (exit 0), and the restored VM translated its
# code afresh (VMK_EMU_STATS: blocks translated, none failed).
#
# Usage: boot.sh [VMKIT_BINARY [interp|jit]]  (meson passes the built vmkit)
# Env: VMKIT_GUEST_DIR (default <repo>/.cache/guest),
#      VMK_EMU_TEST_TIMEOUT seconds per boot (default 600).
set -u

here=$(cd "$(dirname "$0")" && pwd)
mode=${2:-interp}
. "$here/../lib/guest.sh"

show_console() {
  echo "---- guest console ($1) ----"
  cat "$tmp/$1.console" 2>/dev/null
  echo "---- vmkit output ($1) ----"
  cat "$tmp/$1.out" 2>/dev/null
  echo "----"
}

# ---- jit: one boot with the stress, a save and a restore -------------------
if [ "$mode" = jit ]; then
  export VMK_JIT_STRICT=1 VMK_EMU_STATS=1
  export XDG_RUNTIME_DIR=$tmp/xdg
  mkdir -p "$XDG_RUNTIME_DIR"
  vmname=jitboot$$
  log=$XDG_RUNTIME_DIR/vmkit/$vmname/console.log
  trap '[ -f "$XDG_RUNTIME_DIR/vmkit/$vmname/pid" ] &&
    kill -9 "$(cat "$XDG_RUNTIME_DIR/vmkit/$vmname/pid")" 2>/dev/null
    rm -rf "$tmp"' EXIT INT TERM
  ticks='i=0; while [ $i -lt 12 ]; do echo jit-tick-$i; i=$((i+1)); sleep 1; done; echo jit-ticks-done'
  script=$(cat "$here/stress.sh"; echo "$ticks")
  start=$(date +%s)
  out=$("$vmkit" run -d --name "$vmname" --engine emu --emu-mode jit --cpus 2 \
    --net none --cmdline "console=hvc0 vmkit.cmd64=$(printf %s "$script" | base64 -w0)" \
    2>"$tmp/jit.err")
  check "vmkit run -d --emu-mode jit printed the name" test "$out" = "$vmname"
  saw_tick() { grep -aq '^jit-tick-2' "$log" 2>/dev/null; }
  n=0
  while ! saw_tick && [ $n -lt "$limit" ] && [ -f "$XDG_RUNTIME_DIR/vmkit/$vmname/pid" ]; do
    sleep 1
    n=$((n + 1))
  done
  echo "jit boot and stress took $(($(date +%s) - start)) s"
  cp "$log" "$tmp/stress.console" 2>/dev/null
  check "stress ran on 2 vCPUs" grep -q "^stress-cpus=2" "$tmp/stress.console"
  check "every stress job's output was right" \
    grep -q "^stress-ok=1" "$tmp/stress.console"
  "$vmkit" pause "$vmname" 2>>"$tmp/jit.err"
  saved=$(grep -ao 'jit-tick-[0-9]*' "$log" | tail -1 | sed 's/jit-tick-//')
  "$vmkit" save "$vmname" "$tmp/snap" 2>>"$tmp/jit.err"
  check "vmkit save of the jit VM (at jit-tick-${saved:-?})" test -f "$tmp/snap/state.bin"
  check "the snapshot's config keeps the mode" \
    grep -q '"emu_mode": "jit"' "$tmp/snap/config.json"
  "$vmkit" stop "$vmname" 2>>"$tmp/jit.err"
  start=$(date +%s)
  timeout "$limit" "$vmkit" restore "$tmp/snap" --console "$tmp/restore.console" \
    >"$tmp/restore.out" 2>&1
  status=$?
  echo "restored run took $(($(date +%s) - start)) s, exit status $status"
  first=$(grep -ao 'jit-tick-[0-9]*' "$tmp/restore.console" | head -1 | sed 's/jit-tick-//')
  check "the restored VM powered off (exit 0)" test "$status" -eq 0
  check "the restored guest went on after jit-tick-${saved:-?} (first: jit-tick-${first:-none})" \
    test -n "$first" -a -n "$saved" -a "${first:-0}" -gt "${saved:-99}"
  check "the restored guest did not boot again" \
    test "$(grep -c 'vmkit-init: started' "$tmp/restore.console")" -eq 0
  check "the restored guest's loop ended" grep -q '^jit-ticks-done' "$tmp/restore.console"
  translated() { grep -q 'vCPU 0 jit: [1-9][0-9]* blocks translated' "$tmp/restore.out"; }
  check "the restored VM translated its code (and no block failed)" translated
  check "no block failed to translate" \
    sh -c "! grep -E ' [1-9][0-9]* failed|cannot translate' '$tmp/restore.out'"
  grep 'emu stats' "$tmp/restore.out"
  if [ "$fails" -ne 0 ]; then
    show_console stress
    cat "$tmp/jit.err"
    show_console restore
    echo "$fails check(s) failed"
    exit 1
  fi
  echo "all checks passed"
  exit 0
fi

# ---- 1. boot, nproc, entropy, disk, power off --------------------------
truncate -s 16M "$tmp/disk.img"
pattern="vmkit-emu-disk-pattern-$$-$(date +%s)"
cmd="echo guest-nproc=\$(nproc);\
 echo guest-entropy=\$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n');\
 printf %s $pattern | dd of=/dev/vda bs=512 seek=8 conv=sync 2>/dev/null; sync;\
 echo guest-disk-written"
start=$(date +%s)
timeout "$limit" "$vmkit" run --engine emu --emu-mode interp --cpus 2 --memory 512M \
  --disk "$tmp/disk.img" --console "$tmp/boot.console" \
  --cmdline "console=hvc0 vmkit.cmd=\"$cmd\"" >"$tmp/boot.out" 2>&1
status=$?
echo "boot run took $(($(date +%s) - start)) s, exit status $status"

has() { grep -q "$1" "$tmp/boot.console"; }
entropy_ok() {
  e=$(sed -n 's/^guest-entropy=\([0-9a-f]*\).*/\1/p' "$tmp/boot.console" |
    tr -d '\r')
  [ ${#e} -eq 64 ] && [ "$e" != "$(printf '0%.0s' $(seq 64))" ]
}
disk_ok() {
  got=$(dd if="$tmp/disk.img" bs=512 skip=8 count=1 2>/dev/null |
    head -c ${#pattern})
  [ "$got" = "$pattern" ]
}
before=$fails
check "vmkit exited 0 after the guest powered off" test "$status" -eq 0
check "guest reached /init" has "vmkit-init: started"
check "guest reported nproc=2" has "^guest-nproc=2"
check "guest read 32 bytes of entropy from /dev/hwrng" entropy_ok
check "guest wrote the disk" has "^guest-disk-written"
check "pattern is in the disk image on the host" disk_ok
check "guest's command exited 0" has "vmkit: exit status 0"
[ "$fails" -eq "$before" ] || show_console boot

# ---- 2. SMP stress -----------------------------------------------------------
start=$(date +%s)
timeout "$limit" "$vmkit" run --engine emu --emu-mode interp --cpus 2 \
  --console "$tmp/stress.console" \
  --cmdline "console=hvc0 vmkit.cmd64=$(base64 -w0 "$here/stress.sh")" \
  >"$tmp/stress.out" 2>&1
status=$?
echo "stress run took $(($(date +%s) - start)) s, exit status $status"
before=$fails
check "vmkit exited 0 after the stress" test "$status" -eq 0
check "stress ran on 2 vCPUs" grep -q "^stress-cpus=2" "$tmp/stress.console"
check "every stress job's output was right" \
  grep -q "^stress-ok=1" "$tmp/stress.console"
[ "$fails" -eq "$before" ] || show_console stress

# ---- 3. reboot --------------------------------------------------------------
truncate -s 1M "$tmp/marker.img"
cmd='if [ "$(head -c 6 /dev/vda)" = booted ]; then echo guest-boot-2;
 devmem 0x090C0000 8 1; sleep 600;
 else printf booted | dd of=/dev/vda conv=notrunc 2>/dev/null; sync;
 echo guest-boot-1; reboot -f; fi'
start=$(date +%s)
timeout "$limit" "$vmkit" run --engine emu --emu-mode interp --cpus 1 \
  --disk "$tmp/marker.img" --console "$tmp/restart.console" \
  --cmdline "console=hvc0 vmkit.cmd64=$(printf %s "$cmd" | base64 -w0)" \
  >"$tmp/restart.out" 2>&1
status=$?
echo "restart run took $(($(date +%s) - start)) s, exit status $status"
before=$fails
inits=$(grep -c "vmkit-init: started" "$tmp/restart.console")
check "vmkit exited 1 after the second boot's panic report" test "$status" -eq 1
check "vmkit said the guest kernel panicked" \
  grep -q "the guest kernel panicked" "$tmp/restart.out"
check "the guest booted twice (init started $inits times)" test "$inits" -eq 2
check "the first boot rebooted" grep -q "^guest-boot-1" "$tmp/restart.console"
check "the second boot found the first one's disk marker" \
  grep -q "^guest-boot-2" "$tmp/restart.console"
[ "$fails" -eq "$before" ] || show_console restart

start=$(date +%s)
timeout "$limit" "$vmkit" run --engine emu --emu-mode interp --cpus 1 --on-reboot exit \
  --console "$tmp/reboot.console" \
  --cmdline 'console=hvc0 vmkit.cmd="reboot -f"' >"$tmp/reboot.out" 2>&1
status=$?
echo "reboot (--on-reboot exit) run took $(($(date +%s) - start)) s, exit status $status"
before=$fails
check "vmkit exited 0 after the guest rebooted" test "$status" -eq 0
check "vmkit said the guest rebooted" grep -q "rebooted" "$tmp/reboot.out"
check "the guest booted once" test "$(grep -c "vmkit-init: started" "$tmp/reboot.console")" -eq 1
[ "$fails" -eq "$before" ] || show_console reboot

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all checks passed"
