#!/bin/sh
# emu_boot.sh — boot-to-init time of the default guest under vmkit's emu
# engine vs qemu-system-aarch64 (TCG, -M virt,gic-version=3 -cpu
# cortex-a57), same kernel, initrd, command line, CPU count and memory.
# "Boot-to-init" is the wall time from process start until the guest
# console prints "vmkit-init: started"; each run then powers off
# (vmkit.cmd=true). vmkit runs twice: interpreted and --emu-mode jit.
# Prints the times (best of RUNS, the runs interleaved) and the ratios.
# Neither VMM gets a network (--net none, -nic none): the work does not use
# one, and QEMU's default NIC wants iPXE ROMs that a fresh machine lacks.
#
# Usage: bench/emu_boot.sh [VMKIT_BINARY]
# Env: VMKIT_GUEST_DIR (default <repo>/.cache/guest), CPUS (1), MEM (512),
#      RUNS (3), QEMU (qemu-system-aarch64).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
vmkit=${1:-$repo/build/src/cli/vmkit}
guest=${VMKIT_GUEST_DIR:-$repo/.cache/guest}
cpus=${CPUS:-1}
mem=${MEM:-512}
runs=${RUNS:-3}
qemu=${QEMU:-qemu-system-aarch64}
cmdline='console=ttyAMA0 quiet vmkit.cmd=true'
[ -f "$guest/Image" ] || { echo "no default guest in $guest" >&2; exit 1; }

exec python3 - "$vmkit" "$guest" "$cpus" "$mem" "$runs" "$qemu" "$cmdline" <<'PY'
import os, subprocess, sys, time
vmkit, guest, cpus, mem, runs, qemu, cmdline = sys.argv[1:]
kernel, initrd = guest + "/Image", guest + "/initrd"
def boot_time(argv):
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    seen, buf = None, b""
    while True:
        d = p.stdout.read1(4096)
        if not d:
            break
        buf += d
        if seen is None and b"vmkit-init: started" in buf:
            seen = time.monotonic() - t0
    p.wait()
    if seen is None:
        sys.exit("boot did not reach init: %s\n%s" % (argv[0], buf[-2000:].decode(errors="replace")))
    return seen
env_vmkit = [vmkit, "run", "--engine", "emu", "--cpus", cpus, "--memory",
             mem + "M", "--net", "none", "--kernel", kernel, "--initrd", initrd,
             "--cmdline", cmdline]
env_qemu = [qemu, "-M", "virt,gic-version=3", "-cpu", "cortex-a57",
            "-smp", cpus, "-m", mem, "-kernel", kernel, "-initrd", initrd,
            "-append", cmdline, "-nographic", "-no-reboot", "-nic", "none"]
env_jit = env_vmkit[:2] + ["--emu-mode", "jit"] + env_vmkit[2:]
v, j, q = [], [], []
for _ in range(int(runs)):
    v.append(boot_time(env_vmkit))
    j.append(boot_time(env_jit))
    q.append(boot_time(env_qemu))
v, j, q = min(v), min(j), min(q)
print("boot-to-init (%s vCPU, %s MiB, best of %s): vmkit/emu %.2f s, "
      "vmkit/emu jit %.2f s, qemu TCG %.2f s, ratio emu/qemu %.2f, "
      "jit/qemu %.2f, jit/emu %.2f" % (cpus, mem, runs, v, j, q, v / q, j / q,
                                       j / v))
PY
