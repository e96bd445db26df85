#!/bin/sh
# emu_guest.sh — in-guest workloads and idle cost of the default guest under
# vmkit's emu engine vs qemu-system-aarch64 (TCG, -M virt,gic-version=3
# -cpu cortex-a57), same kernel, initrd, CPU count and memory, in one run.
#   workloads: sha256sum of a 64 MiB stream, a gzip round trip of 8 MiB, a
#              20000-step shell loop — each timed by the guest's own
#              /proc/uptime, on all vCPUs at once (as tests/integration/emu)
#   idle:      host CPU seconds the VMM process uses while the guest sleeps
#              10 s at its prompt (from /proc/PID/stat)
# vmkit runs twice: interpreted and --emu-mode jit. Prints each time and
# the ratios vmkit/qemu (below 1: vmkit is faster).
# Neither VMM gets a network (--net none, -nic none): the work does not use
# one, and QEMU's default NIC wants iPXE ROMs that a fresh machine lacks.
# No thresholds. Usage: bench/emu_guest.sh [VMKIT_BINARY]
# Env: VMKIT_GUEST_DIR, CPUS (2), MEM (512), QEMU (qemu-system-aarch64).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
vmkit=${1:-$repo/build/src/cli/vmkit}
guest=${VMKIT_GUEST_DIR:-$repo/.cache/guest}
[ -f "$guest/Image" ] || { echo "no default guest in $guest" >&2; exit 1; }

exec python3 - "$vmkit" "$guest" "${CPUS:-2}" "${MEM:-512}" "${QEMU:-qemu-system-aarch64}" <<'PY'
import base64, os, re, subprocess, sys, time
vmkit, guest, cpus, mem, qemu = sys.argv[1:]
kernel, initrd = guest + "/Image", guest + "/initrd"
work = r'''
t() { cut -d" " -f1 /proc/uptime; }
par() { n=$(nproc); i=0; while [ $i -lt $n ]; do ( eval "$1" ) & i=$((i+1)); done; wait; }
a=$(t); par "head -c 67108864 /dev/zero | sha256sum >/dev/null"; b=$(t)
par "head -c 8388608 /dev/zero | gzip -1 | gzip -d | wc -c >/dev/null"; c=$(t)
par "j=0; while [ \$j -lt 20000 ]; do j=\$((j+1)); done"; d=$(t)
echo "bench sha256 $a $b"; echo "bench gzip $b $c"; echo "bench shloop $c $d"
echo bench-idle-start; sleep 10; echo bench-idle-end
'''
cmd = "console=ttyAMA0 quiet vmkit.quiet vmkit.cmd64=" + base64.b64encode(work.encode()).decode()

def run(argv):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    buf, idle, cpu0 = b"", None, None
    hz = os.sysconf("SC_CLK_TCK")
    def cpu():
        f = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / hz
    while True:
        d = p.stdout.read1(4096)
        if not d:
            break
        buf += d
        if cpu0 is None and b"bench-idle-start" in buf:
            time.sleep(1)  # let the guest settle into its sleep
            cpu0, t0 = cpu(), time.monotonic()
        if cpu0 is not None and idle is None and b"bench-idle-end" in buf:
            idle = (cpu() - cpu0) / (time.monotonic() - t0)
    p.wait()
    res = {m[0]: float(m[2]) - float(m[1]) for m in re.findall(rb"bench (\w+) ([\d.]+) ([\d.]+)", buf)}
    if len(res) != 3 or idle is None:
        sys.exit("the guest did not finish the workloads under %s:\n%s" % (argv[0], buf[-3000:].decode(errors="replace")))
    res[b"idle-cpu"] = idle
    return res

v = run([vmkit, "run", "--engine", "emu", "--emu-mode", "interp", "--cpus", cpus, "--memory", mem + "M",
         "--net", "none", "--kernel", kernel, "--initrd", initrd, "--cmdline", cmd])
j = run([vmkit, "run", "--engine", "emu", "--emu-mode", "jit", "--cpus", cpus,
         "--memory", mem + "M", "--net", "none", "--kernel", kernel, "--initrd",
         initrd, "--cmdline", cmd])
q = run([qemu, "-M", "virt,gic-version=3", "-cpu", "cortex-a57", "-smp", cpus, "-m", mem,
         "-kernel", kernel, "-initrd", initrd, "-append", cmd, "-nographic", "-no-reboot", "-nic", "none"])
print("%-10s %10s %10s %10s %14s %10s" % ("workload", "vmkit/emu", "emu jit", "qemu TCG",
                                          "ratio emu/qemu", "jit/qemu"))
for k in (b"sha256", b"gzip", b"shloop"):
    print("%-10s %9.2fs %9.2fs %9.2fs %14.2f %10.2f" % (k.decode(), v[k], j[k], q[k],
                                                   v[k] / q[k], j[k] / q[k]))
print("%-10s %9.1f%% %9.1f%% %9.1f%%   (host CPU while the guest idles 10 s)" % (
    "idle", 100 * v[b"idle-cpu"], 100 * j[b"idle-cpu"], 100 * q[b"idle-cpu"]))
PY
