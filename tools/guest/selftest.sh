#!/bin/bash
# selftest.sh — developer check of the default guest: builds it with
# build.sh, then boots it under qemu-system-aarch64 (TCG) a few times and
# checks /init's interface: the start marker, vmkit.cmd / vmkit.cmd64 with
# exit status, power-off ending QEMU, the interactive shell with a
# controlling tty, and the virtio-mmio devices (blk, console as hvc0, rng).
# Not part of the unit suite (needs QEMU and takes ~30 s).
#
# Usage: tools/guest/selftest.sh [OUTDIR]   (OUTDIR as for build.sh)
# Runs as one process; each QEMU is its own child, killed by timeout(1).
# Commas are QEMU option syntax; $(...) in single quotes runs in the guest.
# shellcheck disable=SC2054,SC2016
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$(cd "$here/../.." && pwd)/.cache/guest}
QEMU=${QEMU:-qemu-system-aarch64}
TIMEOUT=${TIMEOUT:-180}

command -v "$QEMU" >/dev/null ||
	{ echo "selftest: $QEMU is missing; install it with: apt-get install qemu-system-arm" >&2; exit 1; }
"$here/build.sh" "$out" || exit 1

work=$(mktemp -d)
# SELFTEST_KEEP=1 keeps the QEMU logs for a look.
if [ "${SELFTEST_KEEP:-0}" = 1 ]; then
	echo "selftest: logs in $work"
else
	trap 'rm -rf "$work"' EXIT
fi
passed=0
failed=0

# -nic none: the default NIC needs an option ROM from a package deps.sh does
# not install, and the guest needs no network here.
qemu_base=("$QEMU" -M virt,gic-version=3 -cpu cortex-a57 -m 512 -smp 1
	-nic none -no-reboot -kernel "$out/Image" -initrd "$out/initrd")

ok() {
	echo "PASS: $1"
	passed=$((passed + 1))
}
bad() { # bad NAME LOG
	echo "FAIL: $1"
	[ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/    | /' "$2" | tail -n 40
	failed=$((failed + 1))
}
has() { grep -q -F -- "$2" "$1"; }

# Prefix each line with the microseconds since $t0 (wall clock, no forks:
# bash's EPOCHREALTIME).
stamp_lines() {
	local t0=$1 line now
	while IFS= read -r line; do
		now=${EPOCHREALTIME/./}
		line=${line%$'\r'}
		printf '%d.%06d %s\n' $(((now - t0) / 1000000)) \
			$(((now - t0) % 1000000)) "$line"
	done
}

# 1. vmkit.cmd on ttyAMA0, non-zero exit status, power-off, boot-to-init time.
log=$work/1.log
t0=${EPOCHREALTIME/./}
timeout "$TIMEOUT" "${qemu_base[@]}" -nographic \
	-append 'panic=-1 console=ttyAMA0 vmkit.cmd="uname -a; ls /dev; exit 3"' \
	-device virtio-rng-device </dev/null 2>&1 | stamp_lines "$t0" >"$log"
rc=${PIPESTATUS[0]}
if [ "$rc" = 0 ] && has "$log" "vmkit-init: started" &&
	has "$log" "Linux vmkit" && has "$log" "hwrng" &&
	has "$log" "vmkit: exit status 3" && ! has "$log" "Kernel panic"; then
	ok "vmkit.cmd runs, prints its exit status (3), powers off (qemu rc 0)"
	t_init=$(grep -m1 -F "vmkit-init: started" "$log" | cut -d' ' -f1)
	t_run=$(grep -m1 -F "Run /init" "$log" | cut -d' ' -f1)
	t_k=$(grep -m1 -F "Run /init" "$log" | sed 's/.*\[ *\([0-9.]*\)\].*/\1/')
	t_end=$(tail -n1 "$log" | cut -d' ' -f1)
	echo "      QEMU TCG, wall clock from QEMU start: kernel runs /init at" \
		"${t_run}s (guest clock ${t_k}s), 'vmkit-init: started' (modules" \
		"loaded) at ${t_init}s, powered off at ${t_end}s"
else
	bad "vmkit.cmd / exit status / power-off (qemu rc $rc)" "$log"
fi

# 2. virtio-mmio devices with the console on hvc0: blk write/read-back, rng;
#    2 vCPUs. With console=hvc0 alone init starts with no console (fds 0-2
#    closed) until virtio_console is loaded; vmkit.boottimer must cope.
log=$work/2.log
disk=$work/disk.img
truncate -s 8M "$disk"
timeout "$TIMEOUT" "${qemu_base[@]}" -display none -monitor none \
	-serial "file:$work/2.serial" \
	-chardev "file,id=hvc,path=$log" \
	-device virtio-serial-device -device virtconsole,chardev=hvc \
	-drive "file=$disk,format=raw,if=none,id=d0" -device virtio-blk-device,drive=d0 \
	-device virtio-rng-device -smp 2 \
	-append 'panic=-1 console=hvc0 vmkit.boottimer vmkit.cmd="echo nproc=$(nproc); echo vmkit-disk-pattern | dd of=/dev/vda conv=fsync; head -c 18 /dev/vda; echo; echo rng=$(head -c 32 /dev/hwrng | wc -c); cat /sys/class/misc/hw_random/rng_current; cat /proc/consoles; tty"' \
	</dev/null >"$work/2.qemu" 2>&1
rc=$?
if [ "$rc" = 0 ] && has "$log" "vmkit-init: started" &&
	has "$log" "vmkit-disk-pattern" && has "$log" "rng=32" &&
	has "$log" "virtio_rng" && grep -q "^hvc0" "$log" && has "$log" "nproc=2" &&
	has "$log" "/dev/hvc0" && has "$log" "vmkit: exit status 0" &&
	has "$log" "boot timer write failed" &&
	[ "$(head -c 18 "$disk")" = vmkit-disk-pattern ]; then
	ok "2 vCPUs, hvc0 console, /dev/vda written through to the host file, /dev/hwrng reads"
else
	bad "virtio-mmio blk/console/rng on hvc0 (qemu rc $rc)" "$log"
	tail -n 20 "$work/2.serial" "$work/2.qemu" 2>/dev/null | sed 's/^/    | /'
fi

# 3. vmkit.cmd64 (quotes inside the command) and vmkit.boottimer: QEMU has no
#    device at the boot-timer address; init must survive the faulting write.
log=$work/3.log
cmd64=$(printf '%s' "echo \"a  b\" 'c'; false" | base64 -w0)
timeout "$TIMEOUT" "${qemu_base[@]}" -nographic \
	-append "panic=-1 console=ttyAMA0 quiet vmkit.boottimer vmkit.cmd=ignored vmkit.cmd64=$cmd64" \
	</dev/null >"$log" 2>&1
rc=$?
if [ "$rc" = 0 ] && has "$log" "a  b c" && has "$log" "vmkit: exit status 1"; then
	ok "vmkit.cmd64 wins over vmkit.cmd, quotes survive; vmkit.boottimer is harmless without the device"
else
	bad "vmkit.cmd64 / vmkit.boottimer (qemu rc $rc)" "$log"
fi

# 4. The whole parameter in quotes: "vmkit.cmd=..."
log=$work/4.log
timeout "$TIMEOUT" "${qemu_base[@]}" -nographic \
	-append 'panic=-1 console=ttyAMA0 quiet "vmkit.cmd=echo whole   quoted" vmkit.quiet' \
	</dev/null >"$log" 2>&1
rc=$?
if [ "$rc" = 0 ] && has "$log" "whole quoted" && has "$log" "vmkit: exit status 0" &&
	! has "$log" "loaded 10 modules" && ! has "$log" "failed to load"; then
	ok "\"vmkit.cmd=...\" form and vmkit.quiet"
else
	bad "\"vmkit.cmd=...\" form (qemu rc $rc)" "$log"
fi

# 5. No command: an interactive shell with a controlling tty; exiting it
#    powers off. Input goes in only once the shell's banner is out.
log=$work/5.log
: >"$log"
mkfifo "$work/in"
(
	for _ in $(seq 1 $((TIMEOUT * 5))); do
		has "$log" "starting a shell" && break
		sleep 0.2
	done
	sleep 1
	printf 'echo answer=$((6*7)); tty; sleep 5 &\n'
	sleep 1
	printf 'jobs\n'
	# ctrl-c must reach the foreground job: send it once sleep runs.
	printf "echo fore''ground-sleep; sleep 100\\n"
	for _ in $(seq 1 $((TIMEOUT * 5))); do
		has "$log" "foreground-sleep" && break
		sleep 0.2
	done
	sleep 2
	printf '\003'
	sleep 1
	printf 'echo interrupted=$?; exit\n'
	sleep 30
) >"$work/in" &
feeder=$!
timeout "$TIMEOUT" "${qemu_base[@]}" -nographic -append 'panic=-1 console=ttyAMA0 quiet' \
	<"$work/in" >"$log" 2>&1
rc=$?
kill "$feeder" 2>/dev/null
wait "$feeder" 2>/dev/null
if [ "$rc" = 0 ] && has "$log" "answer=42" && has "$log" "/dev/ttyAMA0" &&
	grep -q "Running.*sleep 5" "$log" && has "$log" "interrupted=130" &&
	! has "$log" "job control turned off"; then
	ok "interactive shell on the console: job control, ctrl-c; exit powers off"
else
	bad "interactive shell (qemu rc $rc)" "$log"
fi

sizes="Image $(stat -c %s "$out/Image") bytes, initrd $(stat -c %s "$out/initrd") bytes"
echo "selftest: $sizes"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
