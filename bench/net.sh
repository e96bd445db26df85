#!/bin/sh
# net.sh — guest→host TCP throughput over NAT: vmkit/emu's libslirp
# networking vs qemu-system-aarch64's user networking (the same libslirp,
# TCG, -M virt,gic-version=3 -cpu cortex-a57, virtio-net-device), same
# kernel, initrd, CPU count and memory, in one run. The guest pipes SIZE
# bytes of zeros into `nc 10.0.2.2 PORT`; a sink on the host's 127.0.0.1
# counts them and times first byte to end. Prints MB/s and the ratio;
# asserts nothing.
#
# What bounds it (profiled with perf on the vmkit process, and the guest's
# /proc/net/dev and /proc/interrupts): busybox nc writes about 1 KiB per
# syscall and each write leaves at once as one frame, acknowledged by
# libslirp at once (~1 interrupt per frame), so the guest's per-write CPU
# cost under the emulator decides; vmkit's I/O thread (virtio-net and
# libslirp) is 1-3% of its CPU. On a host loaded by other jobs the ratio
# swings with the load (0.5-4x in one hour on a 2-core host): compare
# several interleaved runs, or vmkit's CPU time for the transfer.
#
# Usage: bench/net.sh [VMKIT]   (default build/src/cli/vmkit)
# Env: VMKIT_GUEST_DIR, CPUS (1), MEM (512), SIZE (MiB, 16),
#      QEMU (qemu-system-aarch64).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
vmkit=${1:-$repo/build/src/cli/vmkit}
guest=${VMKIT_GUEST_DIR:-$repo/.cache/guest}
[ -f "$guest/Image" ] || { echo "the default guest is not built; run tools/guest/build.sh" >&2; exit 2; }
exec python3 - "$vmkit" "$guest" "${CPUS:-1}" "${MEM:-512}" "${SIZE:-16}" "${QEMU:-qemu-system-aarch64}" <<'PY'
import base64, socket, subprocess, sys, threading, time
vmkit, guest, cpus, mem, size, qemu = sys.argv[1:]
kernel, initrd = guest + "/Image", guest + "/initrd"
nbytes = int(size) << 20

def measure(argv_for):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    result = {}
    def sink():
        c, _ = srv.accept()
        got, t0 = 0, None
        while True:
            d = c.recv(1 << 16)
            if not d:
                break
            if t0 is None:
                t0 = time.monotonic()
            got += len(d)
        result["bytes"], result["secs"] = got, time.monotonic() - (t0 or 0)
        c.close()
    th = threading.Thread(target=sink, daemon=True)
    th.start()
    work = "head -c %d /dev/zero | nc 10.0.2.2 %d; echo bench-sent" % (nbytes, port)
    cmd = "quiet vmkit.quiet vmkit.cmd64=" + base64.b64encode(work.encode()).decode()
    p = subprocess.run(argv_for(cmd), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    th.join(5)
    srv.close()
    if result.get("bytes") != nbytes:
        sys.exit("%s: the host got %s of %d bytes:\n%s" % (
            argv_for("")[0], result.get("bytes"), nbytes,
            p.stdout[-3000:].decode(errors="replace")))
    return nbytes / result["secs"] / 1e6

v = measure(lambda c: [vmkit, "run", "--engine", "emu", "--cpus", cpus,
                       "--memory", mem + "M", "--kernel", kernel, "--initrd",
                       initrd, "--console", "stdio", "--cmdline",
                       "console=hvc0 " + c])
q = measure(lambda c: [qemu, "-M", "virt,gic-version=3", "-cpu", "cortex-a57",
                       "-smp", cpus, "-m", mem, "-kernel", kernel, "-initrd",
                       initrd, "-append", "console=ttyAMA0 " + c,
                       "-netdev", "user,id=n0", "-device",
                       "virtio-net-device,netdev=n0",
                       "-global", "virtio-mmio.force-legacy=false",
                       "-nographic", "-no-reboot"])
print("%-22s %10s %10s %16s" % ("workload", "vmkit/emu", "qemu TCG", "ratio vmkit/qemu"))
print("%-22s %7.2f MB/s %6.2f MB/s %16.2f" % ("guest->host TCP %d MiB" % int(size), v, q, v / q))
PY
