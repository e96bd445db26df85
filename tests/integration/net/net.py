#!/usr/bin/env python3
"""net.py — virtio-net end to end, against real peers on this host's
loopback (no mocks), one guest boot per mode:

  nat:    `vmkit run --forward tcp:127.0.0.1:HP:8080` (NAT is the default).
          In the guest: init's DHCP gave 10.0.2.15/24, a default route via
          10.0.2.2 and nameserver 10.0.2.3 in /etc/resolv.conf; `wget
          http://10.0.2.2:PORT/FILE` fetches a page from a Python HTTP
          server this script runs on 127.0.0.1 (content checked); bulk
          both ways: the guest fetches 2 MiB of random bytes from that
          server (sha256 checked in the guest) and serves them back with
          its busybox httpd through a second forward (bytes compared
          here; the guest's transmit counters must show frames larger
          than the MTU, i.e. TSO passed through to the NAT's TCP stack);
          then a guest `nc -l -p 8080` is reached from the host through
          the forward, and each side checks the other's token.
  socket: two VMs wired by `--net socket=PATH,listen` and `--net
          socket=PATH` (static addresses 192.168.77.1/.2): the second
          pings the first and fetches a page from the first one's busybox
          httpd (content checked).

Usage: net.py VMKIT [nat|socket]  (both when no mode is given)
Exit 77 (skip) when the default guest is not built.
Env: VMKIT_GUEST_DIR, VMK_NET_TEST_TIMEOUT (seconds per boot, default 900).
"""
import base64
import hashlib
import http.server
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
LIMIT = int(os.environ.get("VMK_NET_TEST_TIMEOUT", "900"))
fails = 0


def check(name, ok):
    global fails
    print(("ok: " if ok else "FAIL: ") + name, flush=True)
    if not ok:
        fails += 1


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_vm(vmkit, tmp, name, cmd, extra):
    console = os.path.join(tmp, name + ".console")
    out = open(os.path.join(tmp, name + ".out"), "w")
    b64 = base64.b64encode(cmd.encode()).decode()
    argv = [vmkit, "run", "--engine", "emu", "--console", console,
            "--cmdline", "console=hvc0 vmkit.cmd64=" + b64] + extra
    p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    return p, console


def text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read().replace("\r", "")
    except FileNotFoundError:
        return ""


def wait_for(path, marker, proc, deadline):
    while time.time() < deadline:
        if marker in text(path):
            return True
        if proc.poll() is not None:
            return marker in text(path)
        time.sleep(0.5)
    return False


def finish(proc, deadline):
    try:
        return proc.wait(timeout=max(1, deadline - time.time()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def show(tmp, name):
    print("---- guest console (%s) ----" % name)
    print(text(os.path.join(tmp, name + ".console"))[-6000:])
    print("---- vmkit output (%s) ----" % name)
    print(text(os.path.join(tmp, name + ".out"))[-3000:])
    print("----", flush=True)


def lines_with(path, prefix):
    return [l[len(prefix):] for l in text(path).splitlines()
            if l.startswith(prefix)]


def test_nat(vmkit, tmp):
    www = os.path.join(tmp, "www")
    os.mkdir(www)
    page = "vmkit-net-page-" + secrets.token_hex(8)
    with open(os.path.join(www, "page.txt"), "w") as f:
        f.write(page + "\n")
    bulk = secrets.token_bytes(2 << 20)
    with open(os.path.join(www, "bulk.bin"), "wb") as f:
        f.write(bulk)
    bulk_sha = hashlib.sha256(bulk).hexdigest()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=www, **k)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    fwd = free_port()
    fwd_http = free_port()
    host_token = "host-token-" + secrets.token_hex(6)
    guest_token = "guest-token-" + secrets.token_hex(6)
    cmd = ("echo guest-addr=$(ip -4 addr show eth0 | grep -o 'inet [0-9./]*');"
           "echo guest-route=$(ip route | grep ^default);"
           "sed 's/^/guest-dns=/' /etc/resolv.conf;"
           "wget -q -O - http://10.0.2.2:%d/page.txt | sed 's/^/guest-got=/';"
           "mkdir -p /tmp/www;"
           "wget -q -O /tmp/www/bulk.bin http://10.0.2.2:%d/bulk.bin;"
           "sha256sum /tmp/www/bulk.bin | sed 's/^/guest-bulk-sha=/';"
           "httpd -p 8081 -h /tmp/www;"
           "echo guest-tx-before=$(grep eth0: /proc/net/dev);"
           "echo guest-listening;"
           "echo %s | nc -l -p 8080 | sed 's/^/guest-recv=/';"
           "echo guest-tx-after=$(grep eth0: /proc/net/dev);"
           "echo guest-done" % (port, port, guest_token))
    start = time.time()
    deadline = start + LIMIT
    proc, console = start_vm(vmkit, tmp, "nat", cmd,
                             ["--forward", "tcp:127.0.0.1:%d:8080" % fwd,
                              "--forward", "tcp:127.0.0.1:%d:8081" % fwd_http])
    got_guest = b""
    got_bulk = b""
    if wait_for(console, "guest-listening", proc, deadline):
        while time.time() < deadline and got_bulk != bulk:
            try:
                s = socket.create_connection(("127.0.0.1", fwd_http),
                                             timeout=60)
                s.sendall(b"GET /bulk.bin HTTP/1.0\r\n\r\n")
                resp = b""
                while True:
                    d = s.recv(1 << 16)
                    if not d:
                        break
                    resp += d
                s.close()
                got_bulk = resp.partition(b"\r\n\r\n")[2]
            except OSError:
                pass
            if got_bulk != bulk:
                time.sleep(1)
        # The guest's nc may need a moment after the marker; slirp accepts
        # on the host side and resets when nothing listens yet: retry.
        while time.time() < deadline and guest_token.encode() not in got_guest:
            try:
                s = socket.create_connection(("127.0.0.1", fwd), timeout=30)
                s.sendall((host_token + "\n").encode())
                s.settimeout(30)
                got_guest = b""
                while b"\n" not in got_guest:
                    d = s.recv(256)
                    if not d:
                        break
                    got_guest += d
                s.shutdown(socket.SHUT_WR)
                s.close()
            except OSError:
                pass
            if guest_token.encode() not in got_guest:
                time.sleep(1)
    status = finish(proc, deadline)
    httpd.shutdown()
    print("nat run took %d s, exit status %s" % (time.time() - start, status))
    before = fails
    check("vmkit exited 0 after the guest powered off", status == 0)
    check("DHCP gave 10.0.2.15/24",
          "inet 10.0.2.15/24" in lines_with(console, "guest-addr="))
    check("DHCP gave a default route via 10.0.2.2",
          any("default via 10.0.2.2" in l
              for l in lines_with(console, "guest-route=")))
    check("/etc/resolv.conf names 10.0.2.3",
          "nameserver 10.0.2.3" in lines_with(console, "guest-dns="))
    check("guest fetched the host's page through 10.0.2.2",
          page in lines_with(console, "guest-got="))
    check("guest got the 2 MiB from the host intact (sha256)",
          any(l.startswith(bulk_sha)
              for l in lines_with(console, "guest-bulk-sha=")))
    check("host got the 2 MiB back from the guest's httpd intact",
          got_bulk == bulk)
    tx = [[l.split(":", 1)[1].split() for l in lines_with(console, k)
           if ":" in l] for k in ("guest-tx-before=", "guest-tx-after=")]
    tx = [t[0] for t in tx if t]
    if len(tx) == 2 and len(tx[0]) >= 10 and len(tx[1]) >= 10:
        nbytes = int(tx[1][8]) - int(tx[0][8])
        npk = int(tx[1][9]) - int(tx[0][9])
        print("guest sent %d bytes in %d frames while serving" % (nbytes, npk))
        check("guest sent frames larger than the MTU (TSO)",
              npk > 0 and nbytes / npk > 1514)
    else:
        check("guest printed its transmit counters", False)
    check("host reached the guest's server through --forward",
          guest_token.encode() in got_guest)
    check("guest received the host's token",
          host_token in lines_with(console, "guest-recv="))
    check("guest's command exited 0", "vmkit: exit status 0" in text(console))
    if fails != before:
        show(tmp, "nat")


def test_socket(vmkit, tmp):
    path = os.path.join(tmp, "wire.sock")
    page = "vmkit-wire-page-" + secrets.token_hex(8)
    a_cmd = ("killall udhcpc; echo guest-mac=$(cat /sys/class/net/eth0/address);"
             "ip addr add 192.168.77.1/24 dev eth0; ip link set eth0 up;"
             "mkdir -p /tmp/www; echo %s > /tmp/www/index.html;"
             "httpd -p 80 -h /tmp/www; echo guest-a-serving;"
             # Serve until B says it is done (a line on TCP port 9).
             "nc -l -p 9 | sed 's/^/guest-a-recv=/';"
             "echo guest-a-done" % page)
    b_cmd = ("killall udhcpc; echo guest-mac=$(cat /sys/class/net/eth0/address);"
             "ip addr add 192.168.77.2/24 dev eth0; ip link set eth0 up;"
             # A may still be booting: wait for it (up to ~3 minutes).
             "for i in $(seq 60); do"
             " ping -c 1 -W 3 192.168.77.1 >/dev/null && break; done;"
             "ping -c 3 192.168.77.1 | grep -o '[0-9]* packets received'"
             " | sed 's/^/guest-b-ping=/';"
             "wget -q -O - http://192.168.77.1/ | sed 's/^/guest-b-got=/';"
             "echo b-finished | nc 192.168.77.1 9;"
             "echo guest-b-done")
    start = time.time()
    deadline = start + LIMIT
    a, a_console = start_vm(vmkit, tmp, "a", a_cmd,
                            ["--net", "socket=%s,listen" % path])
    for _ in range(100):
        if os.path.exists(path) or a.poll() is not None:
            break
        time.sleep(0.1)
    b, b_console = start_vm(vmkit, tmp, "b", b_cmd,
                            ["--net", "socket=" + path])
    b_status = finish(b, deadline)
    a_status = finish(a, deadline)
    print("socket run took %d s, exit status %s/%s" %
          (time.time() - start, a_status, b_status))
    before = fails
    check("both VMs exited 0", a_status == 0 and b_status == 0)
    check("default MACs of the two NICs differ",
          len(lines_with(a_console, "guest-mac=")) == 1 and
          lines_with(a_console, "guest-mac=") !=
          lines_with(b_console, "guest-mac="))
    check("B's pings to A came back",
          "3 packets received" in lines_with(b_console, "guest-b-ping="))
    check("B fetched A's page over the wire",
          page in lines_with(b_console, "guest-b-got="))
    check("A heard B's line on TCP port 9",
          "b-finished" in lines_with(a_console, "guest-a-recv="))
    if fails != before:
        show(tmp, "a")
        show(tmp, "b")


def main():
    vmkit = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        REPO, "build", "src", "cli", "vmkit")
    modes = sys.argv[2:] or ["nat", "socket"]
    guest = os.environ.get("VMKIT_GUEST_DIR",
                           os.path.join(REPO, ".cache", "guest"))
    if not (os.path.isfile(os.path.join(guest, "Image")) and
            os.path.isfile(os.path.join(guest, "initrd"))):
        print("SKIP: the default guest is not built (%s); run "
              "tools/guest/build.sh" % guest)
        return 77
    os.environ["VMKIT_GUEST_DIR"] = guest
    with tempfile.TemporaryDirectory() as tmp:
        for m in modes:
            {"nat": test_nat, "socket": test_socket}[m](vmkit, tmp)
    if fails:
        print("%d check(s) failed" % fails)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
