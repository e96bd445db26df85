#!/usr/bin/env python3
"""vsock_test.py — virtio-vsock end to end on the emu engine, against real
peers: one boot of the default guest with --vsock, checked from both sides.

The guest program (vsock_guest.c, cross-built here with
aarch64-linux-gnu-gcc) reaches the guest as a read-only disk (/dev/vda
holds the binary). In that boot:
  guest -> host (host listeners at PATH_6000 echo, PATH_6001 sink):
    /dev/vsock exists; echo; a port with no listener is refused (RST);
    100 concurrent connections each echoed; 16 MiB with CRC-32 both ends.
  host -> guest (Firecracker's "CONNECT 5000\\n" / "OK <port>\\n"):
    echo; CONNECT to a port nothing listens on -> closed without OK;
    a bad handshake line -> closed; 64 MiB with CRC-32 checked by the guest;
    100 concurrent connections each echoed; then "quit" and power-off.
Exit 77 (skip) when the default guest or the cross compiler is missing.

Usage: vsock_test.py VMKIT_BINARY
Env: VMKIT_GUEST_DIR (default <repo>/.cache/guest),
     VMK_EMU_TEST_TIMEOUT seconds for the whole boot (default 900).
"""
import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
# host -> guest carries 64 MiB; guest -> host 16 MiB (64 times the 256 KiB
# credit window, enough to exercise buffering and credit updates) to keep
# the emulated guest's share of CI time down. VMK_VSOCK_TEST_G2H_MIB=64 for
# the full size both ways.
BIG = 64 << 20
G2H = int(os.environ.get("VMK_VSOCK_TEST_G2H_MIB", "16")) << 20
MANY = 100
fails = 0


def check(name, ok, detail=""):
    global fails
    print(("ok: " if ok else "FAIL: ") + name + (f" ({detail})" if detail and not ok else ""))
    if not ok:
        fails += 1


def recv_all(s):
    """Bytes until EOF; a reset ends the stream too."""
    chunks = []
    while True:
        try:
            b = s.recv(1 << 16)
        except ConnectionResetError:
            b = b""
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def recv_line(s):
    out = b""
    while not out.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            break
        out += b
    return out


# ---- host listeners for guest -> host connections ------------------------
def serve(path, handler, stop):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(256)
    srv.settimeout(0.5)

    def loop():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except socket.timeout:
                continue
            threading.Thread(target=handler, args=(c,), daemon=True).start()
        srv.close()

    threading.Thread(target=loop, daemon=True).start()


def echo_handler(c):
    with c:
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            c.sendall(b)


sink_results = []


def sink_handler(c):
    with c:
        crc, n = 0, 0
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            crc = zlib.crc32(b, crc)
            n += len(b)
        sink_results.append((crc, n))
        c.sendall(b"%08x %d\n" % (crc, n))


# ---- host -> guest --------------------------------------------------------
def connect_guest(path, port, timeout=30):
    """Returns (socket, first line) after the Firecracker handshake."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(b"CONNECT %d\n" % port)
    return s, recv_line(s)


def wait_guest_listener(path, port, vm, deadline):
    while time.time() < deadline and vm.poll() is None:
        try:
            s, line = connect_guest(path, port)
            if line.startswith(b"OK "):
                return s, line
            s.close()
        except OSError:
            pass
        time.sleep(1)
    return None, b""


def main():
    if len(sys.argv) < 2:
        print("usage: vsock_test.py VMKIT_BINARY", file=sys.stderr)
        return 2
    vmkit = sys.argv[1]
    guest = os.environ.get("VMKIT_GUEST_DIR", os.path.join(REPO, ".cache", "guest"))
    limit = int(os.environ.get("VMK_EMU_TEST_TIMEOUT", "900"))
    if not (os.path.isfile(os.path.join(guest, "Image")) and
            os.path.isfile(os.path.join(guest, "initrd"))):
        print(f"SKIP: the default guest is not built ({guest}); run tools/guest/build.sh")
        return 77
    cc = shutil.which("aarch64-linux-gnu-gcc")
    if not cc:
        print("SKIP: aarch64-linux-gnu-gcc is missing (tools/deps/vsock.txt)")
        return 77
    os.environ["VMKIT_GUEST_DIR"] = guest
    tmp = tempfile.mkdtemp(prefix="vmk-vsock-")
    stop = threading.Event()
    vm = None
    try:
        prog = os.path.join(tmp, "vsock_guest")
        subprocess.run([cc, "-static", "-O2", "-o", prog,
                        os.path.join(HERE, "vsock_guest.c")], check=True)
        img = os.path.join(tmp, "prog.img")
        data = open(prog, "rb").read()
        with open(img, "wb") as f:
            f.write(data + b"\0" * (-len(data) % 512))
        vsock = os.path.join(tmp, "v.sock")
        serve(vsock + "_6000", echo_handler, stop)
        serve(vsock + "_6001", sink_handler, stop)

        script = f"""
cat /dev/vda > /tmp/vt && chmod +x /tmp/vt
[ -c /dev/vsock ] && echo guest-dev-vsock=yes
up() {{ echo "guest-uptime $1 $(cut -d' ' -f1 /proc/uptime)"; }}
up start
/tmp/vt echo 6000 hello-from-guest
/tmp/vt refused 6002
up many
/tmp/vt many 6000 {MANY}
up source
/tmp/vt source 6001 {G2H}
up serve
/tmp/vt serve 5000
"""
        cmd64 = base64.b64encode(script.encode()).decode()
        console = os.path.join(tmp, "console")
        out = open(os.path.join(tmp, "vmkit.out"), "wb")
        start = time.time()
        vm = subprocess.Popen([vmkit, "run", "--engine", "emu", "--cpus", "2",
                               "--memory", "512M", "--disk", img + ",ro",
                               "--vsock", vsock, "--console", console,
                               "--cmdline", f"console=hvc0 vmkit.cmd64={cmd64}"],
                              stdout=out, stderr=subprocess.STDOUT)
        deadline = start + limit

        s, line = wait_guest_listener(vsock, 5000, vm, deadline)
        check("host connected to guest port 5000 (CONNECT/OK handshake)", s is not None)
        if s:
            print(f"guest listener reached after {time.time() - start:.0f} s")
            port = int(line.split()[1])
            check("OK carries a host port", port > 0, line)
            s.sendall(b"echo\nhello-from-host")
            s.shutdown(socket.SHUT_WR)
            check("host -> guest echo", recv_all(s) == b"hello-from-host")
            s.close()

            s2, line = connect_guest(vsock, 5999)
            rest = recv_all(s2)
            check("CONNECT to a guest port with no listener is closed without OK",
                  line == b"" and rest == b"", line)
            s2.close()
            s3 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s3.settimeout(30)
            s3.connect(vsock)
            s3.sendall(b"HELLO 5000\n")
            check("a bad handshake line is closed without OK", recv_all(s3) == b"")
            s3.close()

            s4, line = connect_guest(vsock, 5000, timeout=600)
            t0 = time.time()
            blob = os.urandom(BIG)
            crc = zlib.crc32(blob)
            for i in range(0, BIG, 1 << 20):
                s4.sendall(blob[i:i + (1 << 20)] if i else b"sink\n" + blob[:1 << 20])
            s4.shutdown(socket.SHUT_WR)
            reply = recv_all(s4).decode(errors="replace").strip()
            dt = time.time() - t0
            check("host -> guest 64 MiB, CRC-32 matches in the guest",
                  line.startswith(b"OK ") and reply == "%08x %d" % (crc, BIG),
                  f"{reply!r} vs {crc:08x}")
            print(f"host -> guest 64 MiB took {dt:.1f} s ({BIG / dt / 1e6:.1f} MB/s)")
            s4.close()

            conns = []
            for i in range(MANY):
                c, line = connect_guest(vsock, 5000, timeout=300)
                conns.append((c, line))
            good = 0
            for i, (c, line) in enumerate(conns):
                c.sendall(b"echo\nconn %d from host\n" % i)
            for i, (c, line) in enumerate(conns):
                c.shutdown(socket.SHUT_WR)
            for i, (c, line) in enumerate(conns):
                if line.startswith(b"OK ") and recv_all(c) == b"conn %d from host\n" % i:
                    good += 1
                c.close()
            check(f"{MANY} concurrent host -> guest connections echoed", good == MANY,
                  f"{good}/{MANY}")
            ports = len({ln for _, ln in conns})
            check("each connection got its own host port", ports == MANY, f"{ports}")

            for _ in range(5):
                try:
                    q, line = connect_guest(vsock, 5000)
                except OSError:
                    break
                if not line.startswith(b"OK "):
                    break
                q.sendall(b"quit\n")
                recv_all(q)
                q.close()
                time.sleep(2)
        try:
            rc = vm.wait(timeout=max(10, deadline - time.time()))
        except subprocess.TimeoutExpired:
            vm.kill()
            rc = vm.wait()
        print(f"vsock boot took {time.time() - start:.0f} s, exit status {rc}")
        con = open(console, "rb").read().decode(errors="replace")
        check("vmkit exited 0 after the guest powered off", rc == 0, str(rc))
        check("guest has /dev/vsock", "guest-dev-vsock=yes" in con)
        check("guest -> host echo", "vsock-guest: echo ok 'hello-from-guest'" in con)
        check("guest -> host port with no listener is refused (RST)",
              "vsock-guest: refused ok" in con)
        check(f"{MANY} concurrent guest -> host connections echoed",
              f"vsock-guest: many ok {MANY}/{MANY}" in con)
        check(f"guest -> host {G2H >> 20} MiB, CRC-32 matches on the host",
              "vsock-guest: source ok" in con and
              any(n == G2H for _, n in sink_results))
        check("guest's vsock server ended on quit", "vsock-guest: serve ok" in con)
        check("vmkit's socket file is removed at exit", not os.path.exists(vsock))
        for ln in con.splitlines():
            if ln.startswith("guest-uptime") or ln.startswith("vsock-guest: source"):
                print(ln)
        if fails:
            print("---- guest console ----\n" + con)
            print("---- vmkit output ----\n" +
                  open(os.path.join(tmp, "vmkit.out"), "rb").read().decode(errors="replace"))
    finally:
        stop.set()
        if vm and vm.poll() is None:
            vm.kill()
            vm.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    if fails:
        print(f"{fails} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
