#!/usr/bin/env python3
"""tap.py — two vmkit guests (emu engine) on `--net tap=IFNAME`, joined by
a Linux bridge inside a network namespace this test creates, with a server
of the namespace's own on the bridge. One boot of each guest, at once:

  A (tap vmktap0, 192.168.79.1): busybox httpd serving a fresh page, then
    `nc -l -p 9` until B's closing line.
  B (tap vmktap1, 192.168.79.2): pings A, fetches A's page, fetches a page
    from a Python HTTP server this script runs on the bridge
    (192.168.79.254, in the namespace), and sends A its closing line.
Checked: both VMs exit 0, their default MACs differ, B's pings come back,
both pages' contents, A got B's line, the namespace's server saw B's
request from 192.168.79.2.

The namespace is anonymous: this process unshare(CLONE_NEWNET)s itself
before making the bridge and the taps, and the VMs are killed with it
(PR_SET_PDEATHSIG), so when the test ends by any path — pass, fail, an
exception, SIGTERM from meson's timeout, even SIGKILL — the namespace and
everything in it is gone, and the host's own network is never touched.

Usage: tap.py VMKIT
Exit 77 (skip) when the default guest is not built, when this process may
not create a network namespace (not root / no CAP_SYS_ADMIN) or a tap (no
/dev/net/tun, no CAP_NET_ADMIN), or `ip` (iproute2) is missing; the reason
is printed. Env: VMKIT_GUEST_DIR, VMK_NET_TEST_TIMEOUT (seconds, default
900).
"""
import base64
import ctypes
import http.server
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import net  # noqa: E402  (the shared helpers of the virtio-net tests)

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    # Runs in the child between fork and exec: the VM must not outlive
    # this test (it would keep the namespace alive).
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start_vm(vmkit, tmp, name, cmd, extra):
    console = os.path.join(tmp, name + ".console")
    out = open(os.path.join(tmp, name + ".out"), "w")
    b64 = base64.b64encode(cmd.encode()).decode()
    argv = [vmkit, "run", "--engine", "emu", "--console", console,
            "--cmdline", "console=hvc0 vmkit.cmd64=" + b64] + extra
    p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL,
                         preexec_fn=die_with_parent)
    return p, console


def ip(*args):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True)
    if r.returncode:
        raise OSError("ip %s: %s" % (" ".join(args), r.stderr.strip()))


def enter_namespace():
    """None when this process is now in a network namespace of its own
    with a bridge and two taps; else why not (a reason to skip)."""
    if shutil.which("ip") is None:
        return "`ip` (iproute2) is missing"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing (no tun driver)"
    if libc.unshare(CLONE_NEWNET) != 0:
        return ("cannot create a network namespace (%s; the test needs "
                "root or CAP_SYS_ADMIN)" % os.strerror(ctypes.get_errno()))
    try:
        ip("link", "set", "lo", "up")
        ip("link", "add", "vmkbr0", "type", "bridge")
        for t in ("vmktap0", "vmktap1"):
            ip("tuntap", "add", "dev", t, "mode", "tap")
            ip("link", "set", t, "master", "vmkbr0")
            ip("link", "set", t, "up")
        ip("addr", "add", "192.168.79.254/24", "dev", "vmkbr0")
        ip("link", "set", "vmkbr0", "up")
    except OSError as e:
        return "cannot create the bridge and taps (%s)" % e
    return None


def main():
    vmkit = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        net.REPO, "build", "src", "cli", "vmkit")
    guest = os.environ.get("VMKIT_GUEST_DIR",
                           os.path.join(net.REPO, ".cache", "guest"))
    if not (os.path.isfile(os.path.join(guest, "Image")) and
            os.path.isfile(os.path.join(guest, "initrd"))):
        print("SKIP: the default guest is not built (%s); run "
              "tools/guest/build.sh" % guest)
        return 77
    os.environ["VMKIT_GUEST_DIR"] = guest
    why = enter_namespace()
    if why:
        print("SKIP: " + why)
        return 77
    # meson's timeout sends SIGTERM: unwind through the finally blocks.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))

    www = tempfile.mkdtemp(prefix="vmk-tap-www-")
    ns_page = "vmkit-tap-ns-page-" + secrets.token_hex(8)
    with open(os.path.join(www, "ns.txt"), "w") as f:
        f.write(ns_page + "\n")
    clients = []

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=www, **k)

        def log_message(self, *a):
            clients.append(self.client_address[0])

    httpd = http.server.ThreadingHTTPServer(("192.168.79.254", 0), Quiet)
    port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    page = "vmkit-tap-page-" + secrets.token_hex(8)
    line = "b-finished-" + secrets.token_hex(4)
    a_cmd = ("killall udhcpc; echo guest-mac=$(cat /sys/class/net/eth0/address);"
             "ip addr add 192.168.79.1/24 dev eth0; ip link set eth0 up;"
             "mkdir -p /tmp/www; echo %s > /tmp/www/index.html;"
             "httpd -p 80 -h /tmp/www; echo guest-a-serving;"
             "nc -l -p 9 | sed 's/^/guest-a-recv=/';"
             "echo guest-a-done" % page)
    b_cmd = ("killall udhcpc; echo guest-mac=$(cat /sys/class/net/eth0/address);"
             "ip addr add 192.168.79.2/24 dev eth0; ip link set eth0 up;"
             # A may still be booting: wait for it (up to ~3 minutes).
             "for i in $(seq 60); do"
             " ping -c 1 -W 3 192.168.79.1 >/dev/null && break; done;"
             "ping -c 3 192.168.79.1 | grep -o '[0-9]* packets received'"
             " | sed 's/^/guest-b-ping=/';"
             "wget -q -O - http://192.168.79.1/ | sed 's/^/guest-b-got=/';"
             "wget -q -O - http://192.168.79.254:%d/ns.txt"
             " | sed 's/^/guest-b-ns=/';"
             # A's nc may start a moment after its httpd: retry the line.
             "for i in $(seq 30); do echo %s | nc 192.168.79.1 9 && break;"
             " sleep 2; done;"
             "echo guest-b-done" % (port, line))
    tmp = tempfile.mkdtemp(prefix="vmk-tap-")
    vms = []
    try:
        start = time.time()
        deadline = start + net.LIMIT
        a, a_console = start_vm(vmkit, tmp, "a", a_cmd,
                                ["--net", "tap=vmktap0"])
        vms.append(a)
        b, b_console = start_vm(vmkit, tmp, "b", b_cmd,
                                ["--net", "tap=vmktap1"])
        vms.append(b)
        b_status = net.finish(b, deadline)
        a_status = net.finish(a, deadline)
        print("tap run took %d s, exit status %s/%s" %
              (time.time() - start, a_status, b_status))
        check = net.check
        check("both VMs exited 0", a_status == 0 and b_status == 0)
        macs = net.lines_with(a_console, "guest-mac=") + \
            net.lines_with(b_console, "guest-mac=")
        check("default MACs of the two tap NICs differ",
              len(macs) == 2 and macs[0] != macs[1])
        check("B's pings to A came back through the bridge",
              "3 packets received" in net.lines_with(b_console,
                                                     "guest-b-ping="))
        check("B fetched A's page",
              page in net.lines_with(b_console, "guest-b-got="))
        check("B fetched the namespace's page from 192.168.79.254",
              ns_page in net.lines_with(b_console, "guest-b-ns="))
        check("the namespace's server saw B's address",
              "192.168.79.2" in clients)
        check("A heard B's line on TCP port 9",
              line in net.lines_with(a_console, "guest-a-recv="))
        if net.fails:
            net.show(tmp, "a")
            net.show(tmp, "b")
    finally:
        for p in vms:
            if p.poll() is None:
                p.kill()
                p.wait()
        httpd.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(www, ignore_errors=True)
    if net.fails:
        print("%d check(s) failed" % net.fails)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
