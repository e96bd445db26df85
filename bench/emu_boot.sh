#!/bin/sh
# emu_boot.sh — boot-to-init time of the default guest under vmkit's emu
# engine vs qemu-system-aarch64 (TCG, -M virt,gic-version=3 -cpu
# cortex-a57), same kernel, initrd, command line, CPU count and memory.
# "Boot-to-init" is the wall time from process start until the guest
# console prints "vmkit-init: started"; each run then powers off
# (vmkit.cmd=true). vmkit runs twice: interpreted (--emu-mode interp) and
# translated (--emu-mode jit, the default). Prints the times (best of RUNS,
# the runs interleaved) and the ratios, and the host memory the jit runs
# used for translated code (VMK_EMU_STATS: each vCPU's code region, its
# peak and its bound; the most of any run).
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
import os, re, subprocess, sys, time
vmkit, guest, cpus, mem, runs, qemu, cmdline = sys.argv[1:]
kernel, initrd = guest + "/Image", guest + "/initrd"
jit_peak, jit_bound, jit_flushes = {}, 0, 0
def note_jit_stats(out):
    # "vmkit: emu stats: vCPU N jit: ... code region U KiB used, P KiB peak
    # of B KiB, F flushes, ..."
    global jit_bound, jit_flushes
    for m in re.finditer(rb"vCPU (\d+) jit: .*? code region \d+ KiB used, "
                         rb"(\d+) KiB peak of (\d+) KiB, (\d+) flushes", out):
        cpu, peak, bound, fl = (int(x) for x in m.groups())
        jit_peak[cpu] = max(jit_peak.get(cpu, 0), peak)
        jit_bound, jit_flushes = bound, max(jit_flushes, fl)
def boot_time(argv, env=None):
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env)
    seen, buf = None, b""
    while True:
        d = p.stdout.read1(4096)
        if not d:
            break
        buf += d
        if seen is None and b"vmkit-init: started" in buf:
            seen = time.monotonic() - t0
    p.wait()
    note_jit_stats(buf)
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
env_vmkit = env_vmkit[:2] + ["--emu-mode", "interp"] + env_vmkit[2:]
stats_env = dict(os.environ, VMK_EMU_STATS="1")
v, j, q = [], [], []
for _ in range(int(runs)):
    v.append(boot_time(env_vmkit))
    j.append(boot_time(env_jit, stats_env))
    q.append(boot_time(env_qemu))
v, j, q = min(v), min(j), min(q)
print("boot-to-init (%s vCPU, %s MiB, best of %s): vmkit/emu %.2f s, "
      "vmkit/emu jit %.2f s, qemu TCG %.2f s, ratio emu/qemu %.2f, "
      "jit/qemu %.2f, jit/emu %.2f" % (cpus, mem, runs, v, j, q, v / q, j / q,
                                       j / v))
if jit_peak:
    print("jit translated code (host memory, most of any run): %s; "
          "bound %d KiB per vCPU, %d flushes" % (
              ", ".join("vCPU %d peak %d KiB" % (c, jit_peak[c])
                        for c in sorted(jit_peak)), jit_bound, jit_flushes))
else:
    print("jit translated code: no VMK_EMU_STATS line seen")
PY
