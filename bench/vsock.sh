#!/bin/sh
# vsock.sh — virtio-vsock stream throughput, guest -> host and host -> guest,
# on vmkit's emu engine, and on QEMU TCG with vhost-vsock when the host has
# /dev/vhost-vsock (QEMU's only in-tree vsock backend is the host kernel's
# vhost; without it there is no QEMU number, and the script says so). One
# boot each; the guest runs tests/integration/vsock/vsock_guest.c
# (cross-built here, given to the guest as a read-only disk): it sends
# SIZE MiB to the host ("source") and then serves a host connection that
# sends it SIZE MiB ("sink"); both ends check CRC-32. Prints MB/s per
# direction and, when QEMU ran, the ratios vmkit/QEMU.
#
# Usage: bench/vsock.sh [VMKIT_BINARY]
# Env: VMKIT_GUEST_DIR (default <repo>/.cache/guest), SIZE (MiB, 32),
#      QEMU (qemu-system-aarch64).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
vmkit=${1:-$repo/build/src/cli/vmkit}
guest=${VMKIT_GUEST_DIR:-$repo/.cache/guest}
size=${SIZE:-32}
qemu=${QEMU:-qemu-system-aarch64}
[ -f "$guest/Image" ] || { echo "no default guest in $guest" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
aarch64-linux-gnu-gcc -static -O2 -o "$tmp/vt" "$repo/tests/integration/vsock/vsock_guest.c"
cp "$tmp/vt" "$tmp/prog.img"
truncate -s %512 "$tmp/prog.img"

exec python3 - "$vmkit" "$guest" "$size" "$qemu" "$tmp" <<'PY'
import base64, os, socket, subprocess, sys, threading, time, zlib
vmkit, guest, size, qemu, tmp = sys.argv[1:]
n = int(size) << 20
script = f"""cat /dev/vda > /tmp/vt && chmod +x /tmp/vt
/tmp/vt source 6001 {n}
/tmp/vt serve 5000
"""
cmd64 = base64.b64encode(script.encode()).decode()
img = tmp + "/prog.img"

def run(argv, listen, connect):
    """listen(): a listening socket for guest port 6001; connect(): a socket
    joined to guest port 5000. Returns (guest->host MB/s, host->guest MB/s)."""
    got = {}
    srv = listen()
    vm = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                          stdout=open(tmp + "/console", "wb"),
                          stderr=subprocess.STDOUT)
    c, _ = srv.accept()
    t0, crc, total = time.monotonic(), 0, 0
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        crc, total = zlib.crc32(b, crc), total + len(b)
    g2h = total / (time.monotonic() - t0) / 1e6
    c.sendall(b"%08x %d\n" % (crc, total))
    c.close()
    srv.close()
    if total != n:
        sys.exit("guest -> host: %d of %d bytes" % (total, n))
    s = None
    for _ in range(600):
        s = connect()
        if s:
            break
        time.sleep(0.5)
    if not s:
        sys.exit("the guest's server never answered")
    blob = os.urandom(n)
    t0 = time.monotonic()
    s.sendall(b"sink\n")
    s.sendall(blob)
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        b = s.recv(100)
        if not b:
            break
        reply += b
    h2g = n / (time.monotonic() - t0) / 1e6
    if reply.decode().split() != ["%08x" % zlib.crc32(blob), str(n)]:
        sys.exit("host -> guest: guest says %r" % reply)
    q = connect()
    if q:
        q.sendall(b"quit\n")
        q.close()
    try:
        vm.wait(timeout=120)
    except subprocess.TimeoutExpired:
        vm.kill()
    return g2h, h2g

# vmkit: Firecracker's Unix-socket convention.
path = tmp + "/v.sock"
def ux_listen():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path + "_6001")
    s.listen(4)
    return s
def ux_connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.sendall(b"CONNECT 5000\n")
        line = b""
        while not line.endswith(b"\n"):
            b = s.recv(1)
            if not b:
                break
            line += b
        if line.startswith(b"OK "):
            return s
    except OSError:
        pass
    s.close()
    return None
v = run([vmkit, "run", "--engine", "emu", "--disk", img + ",ro",
         "--vsock", path, "--console", tmp + "/vmkit.console",
         "--cmdline", "console=hvc0 vmkit.cmd64=" + cmd64],
        ux_listen, ux_connect)
print("vsock %s MiB, vmkit/emu: guest->host %.2f MB/s, host->guest %.2f MB/s"
      % (size, v[0], v[1]))

if not os.path.exists("/dev/vhost-vsock"):
    print("no QEMU numbers and no ratio: QEMU's vsock needs the host "
          "kernel's vhost-vsock (/dev/vhost-vsock is missing here; "
          "modprobe vhost_vsock) or an external vhost-user-vsock daemon "
          "(not packaged in Debian 12)")
    sys.exit(0)
cid = 100 + os.getpid() % 1000
def vs_listen():
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    s.bind((socket.VMADDR_CID_ANY, 6001))
    s.listen(4)
    return s
def vs_connect():
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    try:
        s.connect((cid, 5000))
        return s
    except OSError:
        s.close()
        return None
q = run([qemu, "-M", "virt,gic-version=3", "-cpu", "cortex-a57", "-m", "512",
         "-kernel", guest + "/Image", "-initrd", guest + "/initrd",
         "-drive", "file=%s,if=none,id=d,format=raw,readonly=on" % img,
         "-device", "virtio-blk-device,drive=d",
         "-device", "vhost-vsock-device,guest-cid=%d" % cid,
         "-append", "console=ttyAMA0 vmkit.cmd64=" + cmd64,
         "-nographic", "-no-reboot"], vs_listen, vs_connect)
print("vsock %s MiB, qemu TCG + vhost-vsock: guest->host %.2f MB/s, "
      "host->guest %.2f MB/s" % (size, q[0], q[1]))
print("ratio vmkit/qemu: guest->host %.2f, host->guest %.2f"
      % (v[0] / q[0], v[1] / q[1]))
PY
