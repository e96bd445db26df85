#!/usr/bin/env python3
"""ports_test.py — console ports (--port NAME=PATH) end to end on the emu
engine: one boot of the default guest with two ports, echo and log,
checked from both sides.

In the guest (vmkit.cmd64): init linked /dev/virtio-ports/echo and
/dev/virtio-ports/log; a read of the echo port before any host client
connected ends at once (the device told the guest no host is there, so the
driver returns end of input rather than blocking); a background writer
waits on the log port until the host connects; then `cat` echoes the echo
port back into itself, again and again.
On the host: the log line arrives when the test connects; 256 KiB of
random bytes go through the echo port and come back equal (checksums);
the client leaves and a second client gets its bytes echoed too (a
reconnect works, and the guest saw the first leave: its cat ended); the
guest powers off on SIGTERM, vmkit exits 0 and removes both sockets.
Exit 77 (skip) when the default guest is not built.

Usage: ports_test.py VMKIT_BINARY
Env: VMKIT_GUEST_DIR (default <repo>/.cache/guest),
     VMK_EMU_TEST_TIMEOUT seconds for the whole boot (default 900).
"""
import base64
import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
BIG = 256 << 10
fails = 0


def check(name, ok, detail=""):
    global fails
    print(("ok: " if ok else "FAIL: ") + name + (f" ({detail})" if detail and not ok else ""))
    if not ok:
        fails += 1


GUEST = r"""
echo "links=$(ls /dev/virtio-ports | tr '\n' ' ')"
exec 3<>/dev/virtio-ports/echo
echo "read-before-connect=$(dd bs=1 count=1 <&3 2>/dev/null | wc -c)"
(echo "hello-from-guest-$$" >/dev/virtio-ports/log && echo log-written) &
echo ports-ready
s=0
while :; do
  if [ "$(dd bs=1 count=1 <&3 2>/dev/null | tee /tmp/first | wc -c)" = 1 ]; then
    s=$((s + 1))
    echo "session-$s-started"
    cat /tmp/first >&3
    cat <&3 >&3
    echo "session-$s-ended"
  fi
  sleep 0.2
done
"""


def echo_session(path, data, deadline):
    """Connects, sends data while reading the echo; returns what came back."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(max(1.0, deadline - time.time()))
    got = []
    n = [0]

    def reader():
        try:
            while n[0] < len(data):
                b = s.recv(1 << 16)
                if not b:
                    return
                got.append(b)
                n[0] += len(b)
        except OSError:
            pass

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(data)
    t.join(max(1.0, deadline - time.time()))
    s.close()
    return b"".join(got)


def main():
    vmkit = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "build/src/cli/vmkit")
    guest = os.environ.get("VMKIT_GUEST_DIR", os.path.join(REPO, ".cache/guest"))
    limit = int(os.environ.get("VMK_EMU_TEST_TIMEOUT", "900"))
    if not (os.path.isfile(os.path.join(guest, "Image")) and os.path.isfile(os.path.join(guest, "initrd"))):
        print(f"SKIP: the default guest is not built ({guest}); run tools/guest/build.sh")
        return 77
    env = dict(os.environ, VMKIT_GUEST_DIR=guest)
    tmp = tempfile.mkdtemp(prefix="vmk-ports-")
    echo_path, log_path = os.path.join(tmp, "echo.sock"), os.path.join(tmp, "log.sock")
    console = os.path.join(tmp, "console")
    cmd64 = base64.b64encode(GUEST.encode()).decode()
    argv = [vmkit, "run", "--engine", "emu", "--memory", "256M", "--net", "none",
            "--port", f"echo={echo_path}", "--port", f"log={log_path}",
            "--console", console,
            "--cmdline", f"console=hvc0 vmkit.quiet vmkit.cmd64={cmd64}"]
    start = time.time()
    deadline = start + limit
    vm = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def console_text():
        try:
            with open(console, "rb") as f:
                return f.read().decode(errors="replace").replace("\r", "")
        except FileNotFoundError:
            return ""

    def wait_for(line):
        while time.time() < deadline and vm.poll() is None:
            if line in console_text():
                return True
            time.sleep(0.5)
        return line in console_text()

    try:
        check("the guest ran its port script", wait_for("ports-ready"))
        text = console_text()
        check("init linked /dev/virtio-ports/echo and log", "links=echo log " in text,
              next((l for l in text.splitlines() if l.startswith("links=")), "no links= line"))
        check("a read before any host client ends at once (PORT_OPEN 0)",
              "read-before-connect=0" in text)

        # guest -> host: the writer has waited for us.
        log = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        log.connect(log_path)
        log.settimeout(max(1.0, deadline - time.time()))
        line = b""
        while not line.endswith(b"\n"):
            b = log.recv(256)
            if not b:
                break
            line += b
        check("the guest's line arrived on the log socket",
              line.startswith(b"hello-from-guest-") and line.endswith(b"\n"), repr(line))
        check("the guest's write completed once the host connected", wait_for("log-written"))

        # host -> guest -> host, 256 KiB, then a second client.
        data = os.urandom(BIG)
        t0 = time.time()
        got = echo_session(echo_path, data, deadline)
        took = time.time() - t0
        print(f"echo of {BIG >> 10} KiB took {took:.2f} s "
              f"({2 * BIG / took / 1e6:.2f} MB/s both ways together; measured, not asserted)")
        check("256 KiB echoed through the port, equal",
              hashlib.sha256(got).digest() == hashlib.sha256(data).digest(),
              f"{len(got)} of {len(data)} bytes")
        check("the guest saw the first client leave (its reads ended)", wait_for("session-1-ended"))
        msg = b"second client, after a reconnect\n"
        got = echo_session(echo_path, msg, deadline)
        check("a second client is echoed too", got == msg, repr(got))
        check("the guest saw the second client", wait_for("session-2-ended"))
        log.close()
    finally:
        if vm.poll() is None:
            vm.send_signal(signal.SIGTERM)
        try:
            out, _ = vm.communicate(timeout=max(60, deadline - time.time()))
        except subprocess.TimeoutExpired:
            vm.kill()
            out, _ = vm.communicate()
    print(f"ports run took {time.time() - start:.0f} s, exit status {vm.returncode}")
    check("vmkit exited 0 after the power button", vm.returncode == 0,
          out.decode(errors="replace")[-500:])
    check("vmkit removed its port sockets",
          not os.path.exists(echo_path) and not os.path.exists(log_path))
    if fails:
        print("---- console ----")
        print(console_text()[-3000:])
    subprocess.run(["rm", "-rf", tmp])
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
