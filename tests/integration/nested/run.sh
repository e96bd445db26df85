#!/bin/bash
# run.sh — the nested KVM integration test of the kvm engine.
#
# This x86-64 host has no /dev/kvm, so the test boots an arm64 Linux "host"
# with KVM under qemu-system-aarch64 (TCG, virtualization=on, GICv3;
# tools/nested/) and runs, inside it:
#   1. kvm_engine_test (plain, and built with ASan+UBSan): the kvm engine
#      driven directly with a tiny hand-written guest (MMIO through the bus,
#      PSCI CPU_ON/SYSTEM_OFF/SYSTEM_RESET, ioeventfd, pause/resume/stop);
#   2. when the default guest and the `vmkit` CLI are built: `vmkit run
#      --engine kvm --cpus 2 --memory 256M --disk /dev/vdb` booting the
#      default guest, which writes a known pattern to /dev/vda, syncs, reads
#      /dev/hwrng, reports nproc and powers off;
#   3. a whole guest across engines, when this host's vmkit (argument 1,
#      default build/src/cli/vmkit) is built too: while the rest builds,
#      the default guest (2 vCPUs, 128M, a disk) boots HERE under emu,
#      writes a pattern to its disk and counts on its console (tick-N);
#      it is paused and saved (vmkit save) and the snapshot goes into the
#      nested host as a tar on a disk (/dev/vdd; memory.raw is sparse here,
#      tar carries its zeros); the guest's disk is /dev/vdc there, the same
#      bytes as here, under the same path (a symlink). There `vmkit restore
#      --engine kvm -d` resumes it: the count goes on, the pattern reads back
#      from the disk (caches dropped), vCPU 1 runs a program, a new write is
#      synced; vmkit pause stops the count, resume restarts it (the REST API
#      of the arm64 build); vmkit save, and the snapshot comes back out on
#      /dev/vdd. Back here it resumes under emu, with the same checks, and
#      the disk image holds both engines' writes.
# Then it checks, here on the outer host: the disk image's bytes, the
# guest's nproc (2) and entropy, and vmkit's exit status (0). On failure it
# prints the nested host's console (which carries the guest's console).
#
# Exit: 0 pass, 1 fail, 77 skip (only when a required tool cannot be
# installed). Env: NESTED_KEEP=1 keeps the work folder; NESTED_VERBOSE=1
# streams the console; VMKIT_NESTED_E2E=0 runs step 1 only;
# VMKIT_NESTED_XENGINE=0 leaves out step 3, VMKIT_NESTED_XONLY=1 step 2.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
VX=${1:-$ROOT/build/src/cli/vmkit}
WORK=$(mktemp -d /tmp/vmkit-nested.XXXXXX)
# The cross-engine step's VMs (named, detached) must not outlive the test.
xe_cleanup() {
  for f in "$WORK"/x/xdg/vmkit/*/pid; do
    [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
  done
}
if [ "${NESTED_KEEP:-0}" = 1 ]; then
  trap xe_cleanup EXIT
else
  trap 'xe_cleanup; rm -rf "$WORK"' EXIT
fi
log() { echo "nested-test: $*"; }
fails=0 passes=0
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then
    passes=$((passes + 1))
    log "ok   $what"
  else
    fails=$((fails + 1))
    log "FAIL $what"
  fi
}

# ---- tools --------------------------------------------------------------
missing=()
for p in $(sed 's/#.*//' "$ROOT/tools/deps/kvm.txt"); do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${missing[@]}" >"$WORK/apt.log" 2>&1; then
    tail -5 "$WORK/apt.log"
    log "SKIP: cannot install ${missing[*]}, which this test needs"
    exit 77
  fi
fi

# ---- cross-engine, part 1: boot and save under emu here ---------------------
# The guest writes a pattern at 1 MiB of its disk, then counts on its
# console, evaluating each console line it is sent: `chk TAG TOKEN BLOCK`
# drops the page cache and prints the pattern as read from the disk, runs a
# program on vCPU 1, and writes TOKEN at 4 KiB block BLOCK (synced).
xe=0
X=$WORK/x
XDISK=$X/disk.img
xv() { XDG_RUNTIME_DIR=$X/xdg VMKIT_GUEST_DIR=$GUEST "$VX" "$@"; }
xcon() { echo "$X/xdg/vmkit/$1/console.log"; }
lasttick() { grep -ao 'tick-[0-9]*' "$1" 2>/dev/null | tail -1 | sed 's/tick-//'; }
firsttick() { grep -ao 'tick-[0-9]*' "$1" 2>/dev/null | head -1 | sed 's/tick-//'; }
# wait_in FILE PATTERN SECONDS
wait_in() {
  local i
  for ((i = 0; i < $3; i++)); do
    grep -aq -- "$2" "$1" 2>/dev/null && return 0
    sleep 1
  done
  return 1
}
# xsend NAME LINE: one line to a detached VM's console.
xsend() { (sleep 1; echo "$2"; sleep 2) | timeout 20 env XDG_RUNTIME_DIR="$X/xdg" "$VX" console "$1" >/dev/null 2>&1; }
tok() { echo "$1-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
xpat=$(tok xpat)
xk_tok=$(tok xkvm) xe_tok=$(tok xemu)
xcmd="p=''; i=0; while [ \$i -lt 256 ]; do p=\"\${p}$xpat-\"; i=\$((i+1)); done;
printf '%s' \"\$p\" | head -c 4096 >/tmp/pa;
dd if=/tmp/pa of=/dev/vda bs=4096 seek=256 count=1 conv=fsync 2>/dev/null && sync && echo xe-wrote-a;
chk() { sync; echo 3 >/proc/sys/vm/drop_caches;
echo \"xe-\$1-a=\$(dd if=/dev/vda bs=4096 skip=256 count=1 2>/dev/null | head -c 64)\";
(taskset -c 1 cat /proc/self/stat | cut -d' ' -f39 >/tmp/c1) & sleep 2;
echo \"xe-\$1-cpu1=\$(cat /tmp/c1)\";
echo \"\$2\" | dd of=/dev/vda bs=4096 seek=\$3 conv=fsync 2>/dev/null && sync && echo \"xe-\$1-wrote=\$2\"; };
mkfifo /tmp/nf; (exec 4<>/tmp/nf; i=0; while true; do echo tick-\$i; i=\$((i+1)); read -t 1 x <&4; done) &
while true; do if read l; then eval \"\$l\"; else sleep 1; fi; done"
xpre=$(p=''; for _ in $(seq 8); do p="$p$xpat-"; done; printf '%s' "$p" | head -c 64)
# The emu guest boots while vmkit is cross-built for arm64 (it needs only
# this host's vmkit and the default guest).
xstarted=0
if [ "${VMKIT_NESTED_E2E:-1}" = 1 ] && [ "${VMKIT_NESTED_XENGINE:-1}" = 1 ] &&
  [ -x "$VX" ] && [ -x "$ROOT/tools/guest/build.sh" ]; then
  GUEST=$ROOT/.cache/guest
  "$ROOT/tools/guest/build.sh" >"$WORK/guest.log" 2>&1 ||
    { cat "$WORK/guest.log"; log "FAIL: building the default guest failed"; exit 1; }
  log "cross-engine: booting the default guest under emu here, to save it"
  xt0=$(date +%s)
  mkdir -p "$X/xdg" && truncate -s 16M "$XDISK"
  xv run -d --name xe --engine emu --cpus 2 --memory 128M --disk "$XDISK" --net none \
    --cmdline "console=hvc0 panic=-1 pstore.compress=none vmkit.quiet vmkit.cmd64=$(printf '%s' "$xcmd" | base64 -w0)" \
    >/dev/null 2>"$X/run.err"
  rc=$?
  check "cross-engine: vmkit run -d under emu here $(cat "$X/run.err")" test $rc = 0
  [ $rc = 0 ] && xstarted=1
fi

# ---- build --------------------------------------------------------------
log "cross-building vmkit for arm64"
A64=$("$ROOT/tools/nested/build-vmkit-arm64.sh" "${VMKIT_ARM64_BUILD:-$ROOT/build-arm64}" 2>"$WORK/build.log")
rc=$?
A64=$(printf '%s\n' "$A64" | tail -1)
if [ $rc = 77 ]; then
  tail -5 "$WORK/build.log"
  log "SKIP: the arm64 packages this test needs cannot be downloaded"
  exit 77
elif [ $rc != 0 ]; then
  cat "$WORK/build.log"
  log "FAIL: the arm64 cross build failed"
  exit 1
fi
"$ROOT/tools/nested/build-host.sh" >"$WORK/host.log" 2>&1
rc=$?
if [ $rc = 77 ]; then
  tail -5 "$WORK/host.log"
  log "SKIP: the arm64 kernel/busybox packages cannot be downloaded"
  exit 77
elif [ $rc != 0 ]; then
  cat "$WORK/host.log"
  log "FAIL: building the nested host failed"
  exit 1
fi

P=$WORK/payload
mkdir -p "$P/payload" "$P/scenarios"
cp "$A64/kvm_engine_test" "$A64/kvm_engine_test_san" "$P/payload/"
cp "$A64/kvm_snapshot_test" "$P/payload/"
mkdir -p "$P/lib" && cp "$A64"/sanlibs/* "$P/lib/"

e2e=0
GUEST=$ROOT/.cache/guest
if [ "${VMKIT_NESTED_E2E:-1}" = 1 ] && [ -x "$A64/src/cli/vmkit" ]; then
  if [ -x "$ROOT/tools/guest/build.sh" ]; then
    "$ROOT/tools/guest/build.sh" >"$WORK/guest.log" 2>&1 ||
      { cat "$WORK/guest.log"; log "FAIL: building the default guest failed"; exit 1; }
  fi
  if [ -f "$GUEST/Image" ] && [ -f "$GUEST/initrd" ]; then
    e2e=1
    mkdir -p "$P/payload/guest"
    cp "$A64/src/cli/vmkit" "$P/payload/"
    # vmkit is linked dynamically (libslirp): its libraries and loader
    # go to the nested host's /lib.
    cp "$A64"/runlibs/* "$P/lib/"
    cp "$GUEST/Image" "$GUEST/initrd" "$P/payload/guest/"
    for prog in tests/integration/vsock/vsock_guest tests/integration/nested/nested_peer; do
      aarch64-linux-gnu-gcc -std=gnu11 -O2 -Wall -Wextra -static \
        -o "$P/payload/${prog##*/}" "$ROOT/$prog.c" 2>>"$WORK/build.log" ||
        { cat "$WORK/build.log"; log "FAIL: cross-building ${prog##*/}.c failed"; exit 1; }
    done
  fi
fi
[ $e2e = 1 ] || log "NOTE: no arm64 vmkit CLI or default guest yet; running the engine test only"

# ---- cross-engine, part 1 (continued): the emu guest paused and saved ----
if [ $xstarted = 1 ] && [ $e2e = 0 ]; then
  xv stop xe
elif [ $xstarted = 1 ]; then
  wait_in "$(xcon xe)" tick-3 900
  check "cross-engine: the emu guest wrote its disk and counts" \
    grep -aq '^xe-wrote-a' "$(xcon xe)"
  xv pause xe
  sleep 1
  x_emu_tick=$(lasttick "$(xcon xe)")
  xv save xe "$X/esnap" 2>"$X/save.err"
  check "cross-engine: vmkit save under emu (at tick-$x_emu_tick) $(cat "$X/save.err")" \
    test -f "$X/esnap/state.bin"
  xv stop xe
  # The snapshot as a tar on a disk, with room for the one coming back.
  if [ -f "$X/esnap/state.bin" ] && [ -n "$x_emu_tick" ] &&
    tar -cf "$X/snap.img" -C "$X/esnap" . && truncate -s 256M "$X/snap.img"; then
    xe=1
    log "cross-engine: saved under emu at tick-$x_emu_tick, $(($(date +%s) - xt0)) s"
  fi
fi

# ---- scenario -----------------------------------------------------------
# A fresh nonce, so a stale disk or log cannot pass: the guest writes it,
# repeated to 4 KiB, at 1 MiB into its disk.
nonce=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
nonce="vmkit$nonce"   # 29 characters
# Fresh tokens for the issue-8 devices, for the same reason (tok).
page=$(tok page) fwd_host=$(tok fwdhost) fwd_guest=$(tok fwdguest)
g2h=$(tok g2h) h2g=$(tok h2g) sh_host=$(tok sharehost) sh_guest=$(tok shareguest)
sh_late=$(tok sharelate)
guest_cmd="p=''; i=0; while [ \$i -lt 256 ]; do p=\"\${p}$nonce-\"; i=\$((i+1)); done;
printf '%s' \"\$p\" | head -c 4096 >/tmp/pat;
dd if=/tmp/pat of=/dev/vda bs=4096 seek=256 count=1 conv=fsync 2>/dev/null && sync && echo guest-wrote=ok;
echo guest-nproc=\$(nproc);
echo guest-entropy=\$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n');
echo guest-addr=\$(ip -4 addr show eth0 | grep -o 'inet [0-9./]*');
wget -q -O - http://10.0.2.2:8000/page.txt | sed 's/^/guest-got=/';
sed 's/^/guest-share-read=/' /mnt/nshare/from-host.txt;
echo $sh_guest >/mnt/nshare/from-guest.txt && sync;
cp /mnt/nshare/vsock_guest /tmp/vg && chmod +x /tmp/vg;
/tmp/vg echo 6000 $g2h;
/tmp/vg serve 5000 &
echo guest-listening;
echo $fwd_guest | nc -l -p 8080 | sed 's/^/guest-recv=/';
sed 's/^/guest-share-late=/' /mnt/nshare/late.txt;
wait; echo guest-done"
b64=$(printf '%s' "$guest_cmd" | base64 -w0)

cat >"$P/scenarios/integration.sh" <<EOF
echo "engine-test: start"
/payload/kvm_engine_test
echo "engine-test: exit=\$?"
echo "engine-test-san: start"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  /payload/kvm_engine_test_san
echo "engine-test-san: exit=\$?"
echo "snapshot-test: start"
/payload/kvm_snapshot_test
echo "snapshot-test: exit=\$?"
if [ -x /payload/vmkit ] && [ "${VMKIT_NESTED_XONLY:-0}" != 1 ]; then
  # The peers of the guest's devices: busybox httpd on the loopback (the
  # guest's 10.0.2.2), a folder to share, a listener for vsock port 6000.
  busybox ip link set lo up
  mkdir -p /tmp/www /tmp/share
  echo $page >/tmp/www/page.txt
  busybox httpd -p 127.0.0.1:8000 -h /tmp/www
  echo $sh_host >/tmp/share/from-host.txt
  cp /payload/vsock_guest /tmp/share/
  /payload/nested_peer listen /tmp/v.sock_6000 >/tmp/listen.log 2>&1 &
  listener=\$!
  # Console input: a FIFO nobody writes (vmkit polls its console input, and
  # /dev/null cannot be polled).
  mkfifo /tmp/console-in && exec 3<>/tmp/console-in
  t0=\$(cut -d' ' -f1 /proc/uptime)
  /payload/vmkit run --engine kvm --cpus 2 --memory 256M \\
    --kernel /payload/guest/Image --initrd /payload/guest/initrd \\
    --disk /dev/vdb --console stdio \\
    --forward tcp:127.0.0.1:8081:8080 --vsock /tmp/v.sock \\
    --share /tmp/share,tag=nshare \\
    --cmdline "console=hvc0 earlycon=pl011,0x09000000 vmkit.cmd64=$b64" \\
    <&3 >/tmp/guest.log 2>&1 &
  vm=\$!
  echo "scenario: vmkit started at \$t0 s (uptime)"
  # The guest's console goes to the nested host's as it comes, so a run cut
  # short by the outer timeout still shows how far the guest got.
  tail -f /tmp/guest.log &
  tailer=\$!
  # wait_line PATTERN SECONDS: until the guest's console has the line (0)
  # or vmkit is gone or the time is up (1).
  wait_line() {
    i=0
    while [ \$i -lt \$2 ]; do
      grep -q "\$1" /tmp/guest.log && return 0
      kill -0 \$vm 2>/dev/null || return 1
      sleep 1; i=\$((i + 1))
      [ \$((i % 120)) = 0 ] &&
        echo "scenario: \$i s waiting for \$1; guest console \$(wc -c </tmp/guest.log) bytes"
    done
    return 1
  }
  # retry TIMES CMD...: while CMD says its peer is not there yet (3).
  retry() {
    n=\$1; shift; i=0
    while [ \$i -lt \$n ]; do
      "\$@"; r=\$?
      [ \$r = 3 ] || return \$r
      sleep 1; i=\$((i + 1))
    done
    echo "scenario: gave up on \$*"
    return 3
  }
  if wait_line '^guest-listening' 900; then
    echo $sh_late >/tmp/share/late.txt
    retry 120 /payload/nested_peer tcp 127.0.0.1 8081 $fwd_host
    retry 120 /payload/nested_peer vsock /tmp/v.sock 5000 echo $h2g
    retry 30 /payload/nested_peer vsock /tmp/v.sock 5000 quit
  else
    echo "scenario: the guest never said guest-listening"
  fi
  i=0
  while kill -0 \$vm 2>/dev/null && [ \$i -lt 300 ]; do sleep 1; i=\$((i + 1)); done
  kill -0 \$vm 2>/dev/null && { echo "scenario: vmkit still running; killing it"; kill -9 \$vm; }
  wait \$vm
  rc=\$?
  t1=\$(cut -d' ' -f1 /proc/uptime)
  sleep 1; kill \$tailer \$listener 2>/dev/null
  cat /tmp/listen.log
  echo "host-share-got=\$(cat /tmp/share/from-guest.txt 2>/dev/null)"
  echo "vmkit-exit=\$rc"
  echo "vmkit-wall: \$t0 -> \$t1"
fi
EOF
if [ $xe = 1 ]; then
  # Part 2, in the nested host: the emu snapshot resumed under kvm, driven
  # by the CLI verbs (clients of the REST API), saved, and sent back.
  cat >>"$P/scenarios/integration.sh" <<EOF
echo "xe: start"
t0=\$(cut -d' ' -f1 /proc/uptime)
mkdir -p /tmp/xsnap /tmp/xdg "$X" "${GUEST%/*}"
tar -xf /dev/vdd -C /tmp/xsnap && echo "xe-unpacked=ok"
# The same paths as on the outer host: the disk and the kernel.
ln -s /dev/vdc "$XDISK"
ln -s /payload/guest "$GUEST"
export XDG_RUNTIME_DIR=/tmp/xdg
xc=/tmp/xdg/vmkit/xk/console.log
lt() { grep -ao 'tick-[0-9]*' \$xc | tail -1 | sed 's/tick-//'; }
wl() { # wl PATTERN SECONDS
  i=0
  while [ \$i -lt \$2 ]; do
    grep -aq -- "\$1" \$xc 2>/dev/null && return 0
    sleep 1; i=\$((i + 1))
  done
  echo "xe: gave up waiting for \$1"; return 1
}
/payload/vmkit restore /tmp/xsnap --engine kvm -d --name xk >/tmp/xk.out 2>&1
echo "xe-kvm-restore=\$? \$(cat /tmp/xk.out)"
# The runtime folder, console.log with it, goes when the VM stops: a copy.
tail -F \$xc >/tmp/xk.copy 2>/dev/null &
tl=\$!
/payload/vmkit list
wl 'tick-' 300 && echo "xe-kvm-first=\$(grep -ao 'tick-[0-9]*' \$xc | head -1)"
echo "xe-kvm-booted=\$(grep -c 'Linux version' \$xc)"
(sleep 1; echo "chk kvm $xk_tok 512"; sleep 3) | timeout 10 /payload/vmkit console xk >/dev/null 2>&1
wl '^xe-kvm-wrote' 300 || tail -c 3000 /tmp/xk.copy
/payload/vmkit pause xk && echo "xe-kvm-pause=ok"
sleep 1; a=\$(lt); sleep 5; b=\$(lt)
echo "xe-kvm-paused-ticks=\$a \$b"
/payload/vmkit resume xk && echo "xe-kvm-resume=ok"
i=0; while [ "\$(lt)" = "\$b" ] && [ \$i -lt 120 ]; do sleep 1; i=\$((i + 1)); done
echo "xe-kvm-resumed-ticks=\$b \$(lt)"
/payload/vmkit pause xk
sleep 1
echo "xe-kvm-saved-tick=\$(lt)"
/payload/vmkit save xk /tmp/ksnap && echo "xe-kvm-save=ok"
/payload/vmkit stop xk && echo "xe-kvm-stop=ok"
sync
kill \$tl
grep -a '^xe-kvm' /tmp/xk.copy
tar -cf /dev/vdd -C /tmp/ksnap . && sync && echo "xe-packed=ok"
echo "xe-wall: \$t0 -> \$(cut -d' ' -f1 /proc/uptime)"
EOF
fi

truncate -s 64M "$WORK/disk.img"
log "booting the nested arm64 KVM host (TCG; takes a while)"
xdisks=""
[ $xe = 1 ] && xdisks="$XDISK $X/snap.img"
NESTED_EXTRA_DISKS=$xdisks NESTED_TIMEOUT=${NESTED_TIMEOUT:-1500} "$ROOT/tools/nested/run-host.sh" \
  "$P" integration "$WORK/console.log" "$WORK/disk.img"
qrc=$?
tr -d '\r' <"$WORK/console.log" >"$WORK/console.txt"
C=$WORK/console.txt

# ---- checks ---------------------------------------------------------------
has() { grep -q -- "$1" "$C"; }
check "outer QEMU exited cleanly (status $qrc)" test "$qrc" = 0
check "the nested host has /dev/kvm" has "nested-host: /dev/kvm present"
check "kvm engine test passed" has "engine-test: exit=0"
check "kvm engine test passed under ASan+UBSan" has "engine-test-san: exit=0"
check "snapshot state moves kvm->kvm, kvm->emu, emu->kvm" has "snapshot-test: exit=0"
check "nested host scenario finished" has "nested-host: scenario integration exit="
if [ $e2e = 1 ] && [ "${VMKIT_NESTED_XONLY:-0}" != 1 ]; then
  check "vmkit exited 0 (guest powered off)" has "^vmkit-exit=0"
  check "guest reported nproc=2" has "^guest-nproc=2"
  ent=$(sed -n 's/^guest-entropy=\([0-9a-f]*\).*/\1/p' "$C" | head -1)
  check "guest read 32 bytes of entropy ($ent)" \
    bash -c '[ ${#1} = 64 ] && [ "$1" != "$(printf "%064d" 0)" ]' _ "$ent"
  check "guest wrote its disk" has "^guest-wrote=ok"
  expect=$(p=''; for _ in $(seq 256); do p="$p$nonce-"; done; printf '%s' "$p" | head -c 4096 | sha256sum)
  got=$(dd if="$WORK/disk.img" bs=4096 skip=256 count=1 2>/dev/null | sha256sum)
  check "the disk image holds the guest's pattern at 1 MiB" test "$expect" = "$got"
  zeros=$(head -c 1048576 /dev/zero | sha256sum)
  first=$(head -c 1048576 "$WORK/disk.img" | sha256sum)
  check "the rest of the disk is untouched" test "$zeros" = "$first"
  # Issue 8's devices on the kvm engine, each token checked at both ends.
  check "NAT: DHCP gave the guest 10.0.2.15/24" has "^guest-addr=inet 10.0.2.15/24"
  check "NAT: the guest fetched the nested host's page via 10.0.2.2" has "^guest-got=$page\$"
  # The guest's lines printed while nested_peer runs share the console with
  # it, so a peer line can land inside them (seen: "guest-share-late=
  # TOKENnested-peer: ...", "vsock-guest: listening on 5000nested-peer: tcp
  # reply ..."): those are matched unanchored (the tokens are fresh and
  # random, so they cannot match by accident).
  check "forward: the nested host got the guest server's token" \
    has "nested-peer: tcp reply '$fwd_guest'"
  check "forward: the guest server got the nested host's token" has "guest-recv=$fwd_host"
  check "vsock guest->host: the nested host's listener echoed the guest's line" \
    has "^nested-peer: listen echoed '$g2h'"
  check "vsock guest->host: the guest got its line back" has "^vsock-guest: echo ok '$g2h'"
  check "vsock host->guest: CONNECT 5000, the guest echoed the host's line" \
    has "^nested-peer: vsock echo reply '$h2g'"
  check "vsock host->guest: the guest server quit when asked" has "^vsock-guest: serve ok (quit)"
  check "share: the guest read the file the host wrote before boot" \
    has "^guest-share-read=$sh_host\$"
  check "share: the guest read the file the host wrote while it ran" \
    has "guest-share-late=$sh_late"
  check "share: the host read the file the guest wrote" has "^host-share-got=$sh_guest\$"
  check "the guest's command finished and exited 0" has "^vmkit: exit status 0"
fi

# ---- cross-engine, part 3: the kvm run's checks, then back to emu here -----
if [ $xe = 1 ]; then
  kt=$(sed -n 's/^xe-kvm-first=tick-\([0-9]*\).*/\1/p' "$C" | head -1)
  check "cross-engine: the nested host unpacked the emu snapshot" has "^xe-unpacked=ok"
  check "cross-engine: vmkit restore --engine kvm -d" has "^xe-kvm-restore=0 xk"
  check "cross-engine: under kvm the count goes on (tick-${kt:-none} after emu's tick-$x_emu_tick)" \
    test -n "$kt" -a "${kt:-0}" -ge "$x_emu_tick" -a "${kt:-0}" -le $((x_emu_tick + 3))
  check "cross-engine: the restore under kvm did not boot the kernel" has "^xe-kvm-booted=0"
  check "cross-engine: under kvm the pattern reads back from the disk" has "^xe-kvm-a=$xpre"
  check "cross-engine: under kvm vCPU 1 runs" has "^xe-kvm-cpu1=1"
  check "cross-engine: under kvm the console takes a command (a disk write)" \
    has "^xe-kvm-wrote=$xk_tok"
  pt=$(sed -n 's/^xe-kvm-paused-ticks=//p' "$C" | head -1)
  check "cross-engine: vmkit pause under kvm stops the count ($pt)" \
    bash -c '[ -n "${1% *}" ] && [ "${1% *}" = "${1#* }" ]' _ "$pt"
  rt=$(sed -n 's/^xe-kvm-resumed-ticks=//p' "$C" | head -1)
  check "cross-engine: vmkit resume under kvm restarts it ($rt)" \
    bash -c '[ -n "${1#* }" ] && [ "${1% *}" != "${1#* }" ]' _ "$rt"
  check "cross-engine: vmkit save under kvm" has "^xe-kvm-save=ok"
  check "cross-engine: vmkit stop under kvm" has "^xe-kvm-stop=ok"
  check "cross-engine: the kvm snapshot came back out" has "^xe-packed=ok"
  check "cross-engine: the kvm write is on the host's disk image" \
    test "$(dd if="$XDISK" bs=4096 skip=512 count=1 2>/dev/null | head -c ${#xk_tok})" = "$xk_tok"
  ks=$(sed -n 's/^xe-kvm-saved-tick=//p' "$C" | head -1)
  mkdir -p "$X/ksnap"
  if has "^xe-packed=ok" && [ -n "$ks" ] && tar -xf "$X/snap.img" -C "$X/ksnap"; then
    log "cross-engine: restoring the kvm snapshot (tick-$ks) under emu here"
    xv restore "$X/ksnap" --engine emu -d --name xe2 >/dev/null 2>"$X/restore.err"
    rc=$?
    check "cross-engine: vmkit restore --engine emu -d $(cat "$X/restore.err")" test $rc = 0
    wait_in "$(xcon xe2)" tick- 300
    et=$(firsttick "$(xcon xe2)")
    check "cross-engine: under emu the count goes on (tick-${et:-none} after kvm's tick-$ks)" \
      test -n "$et" -a "${et:-0}" -ge "$ks" -a "${et:-0}" -le $((ks + 3))
    check "cross-engine: the restore under emu did not boot the kernel" \
      bash -c '! grep -aq "Linux version" "$1"' _ "$(xcon xe2)"
    xsend xe2 "chk emu $xe_tok 768"
    wait_in "$(xcon xe2)" "^xe-emu-wrote" 300
    check "cross-engine: under emu the pattern reads back from the disk" \
      grep -aq "^xe-emu-a=$xpre" "$(xcon xe2)"
    check "cross-engine: under emu vCPU 1 runs" grep -aq "^xe-emu-cpu1=1" "$(xcon xe2)"
    check "cross-engine: under emu the console takes a command (a disk write)" \
      grep -aq "^xe-emu-wrote=$xe_tok" "$(xcon xe2)"
    [ $fails = 0 ] || tail -c 2000 "$(xcon xe2)"
    xv stop xe2
    check "cross-engine: the emu write is on the disk image" \
      test "$(dd if="$XDISK" bs=4096 skip=768 count=1 2>/dev/null | head -c ${#xe_tok})" = "$xe_tok"
    check "cross-engine: the kvm write is still there" \
      test "$(dd if="$XDISK" bs=4096 skip=512 count=1 2>/dev/null | head -c ${#xk_tok})" = "$xk_tok"
  else
    check "cross-engine: the kvm snapshot unpacked here" false
  fi
fi

grep -E '^nested-host: up after|^vmkit-wall|^xe-wall|^nested-outer' "$C" | sed 's/^/nested-test: /'
if [ $fails -gt 0 ]; then
  echo "---- nested host console (includes the guest's) ----"
  cat "$C"
  echo "---- end of console ----"
fi
echo "$passes passed, $fails failed"
[ $fails = 0 ]
