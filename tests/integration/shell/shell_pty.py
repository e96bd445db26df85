#!/usr/bin/env python3
"""shell_pty.py VMKIT — `vmkit run` with no flags, as a user types it on a
terminal (auto engine: emu here). Three runs, each checked from both sides:

A. The default guest boots to its interactive shell; a typed command runs;
   Ctrl-a h prints vmkit's escape help; Ctrl-a Ctrl-a reaches the guest as
   one Ctrl-a byte; typed `reboot` restarts the VM (the default
   --on-reboot restart), which boots to the shell again; typed `halt`
   (which runs `poweroff`) then ends it with exit status 0.
C. Ctrl-a x, early in the boot, stops the VM: exit status 1, a sentence
   saying so, and the terminal back in its cooked mode.

On failure it prints the console."""
import os
import pty
import select
import sys
import termios
import time

vmkit = sys.argv[1]
guest_dir = os.environ.get("VMKIT_GUEST_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", ".cache", "guest")
if not os.path.exists(os.path.join(guest_dir, "Image")):
    print("shell_pty: the default guest is not built; skipping")
    sys.exit(77)


class Run:
    def __init__(self, name):
        self.name = name
        self.out = b""
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["VMKIT_GUEST_DIR"] = guest_dir
            os.execv(vmkit, [vmkit, "run"])

    def pump(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return True
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:
            return False
        if not chunk:
            return False
        self.out += chunk
        return True

    def wait_for(self, needle, timeout, count=1):
        end = time.time() + timeout
        while time.time() < end:
            if self.out.count(needle) >= count:
                return True
            if not self.pump(0.5):
                return self.out.count(needle) >= count
        return self.out.count(needle) >= count

    def type(self, data):
        os.write(self.fd, data)

    def fail(self, msg):
        print(f"shell_pty: FAIL ({self.name}):", msg)
        print("---- console ----")
        print(self.out.decode(errors="replace"))
        print("---- end ----")
        try:
            os.kill(self.pid, 9)
        except ProcessLookupError:
            pass
        sys.exit(1)

    def exit_status(self, timeout):
        end = time.time() + timeout
        while time.time() < end:
            self.pump(0.5)
            done, st = os.waitpid(self.pid, os.WNOHANG)
            if done:
                while self.pump(0.1) and select.select([self.fd], [], [], 0)[0]:
                    pass
                return os.waitstatus_to_exitcode(st)
        return None

    def expect_exit(self, want, timeout=180):
        status = self.exit_status(timeout)
        if status is None:
            self.fail("vmkit did not exit")
        if status != want:
            self.fail(f"vmkit exited {status}, not {want}")


SHELL = b"starting a shell"

# ---- A: command, escapes, reboot restarts, halt/poweroff -----------------
a = Run("A")
if not a.wait_for(SHELL, 900):
    a.fail("the guest never reached the interactive shell")
time.sleep(1)
# The product is computed by the guest's shell, so the answer cannot come
# from echoing our own input.
a.type(b"echo answer=$((6*7))\r")
if not a.wait_for(b"answer=42", 120):
    a.fail("the shell did not run the typed command")
a.type(b"\x01h")
if not a.wait_for(b"Ctrl-a x", 30):
    a.fail("Ctrl-a h printed no escape help")
# Ctrl-a Ctrl-a must reach the guest as one 0x01 byte; the guest shell
# prints its hex, which our typed text does not contain.
a.type(b"read -r v\r")
time.sleep(1)
a.type(b"\x01\x01z\r")
time.sleep(1)
a.type(b"echo hex=$(printf %s \"$v\" | od -An -tx1 | tr -d ' ')\r")
if not a.wait_for(b"hex=017a", 120):
    a.fail("Ctrl-a Ctrl-a did not reach the guest as one Ctrl-a")
a.type(b"reboot\r")
if not a.wait_for(SHELL, 900, count=2):
    a.fail("typed reboot did not boot the VM again to the shell")
if a.out.count(b"vmkit-init: started") != 2:
    a.fail("the guest's init did not start exactly twice")
time.sleep(1)
a.type(b"halt\r")
a.expect_exit(0)
if b"Requesting system poweroff" not in a.out:
    a.fail("halt did not power off through init")
print("shell_pty: ok: typed command, Ctrl-a h, Ctrl-a Ctrl-a, reboot "
      "restarted the VM, halt (poweroff) ended it with exit 0")

# ---- C: Ctrl-a x ---------------------------------------------------------
c = Run("C")
if not c.wait_for(b"Linux", 900):
    c.fail("the guest printed nothing")
if termios.tcgetattr(c.fd)[3] & termios.ICANON:
    c.fail("vmkit did not put the terminal in raw mode")
c.type(b"\x01x")
c.expect_exit(1, timeout=120)
if b"Ctrl-a x: vmkit stopped the VM" not in c.out:
    c.fail("vmkit did not say that Ctrl-a x stopped the VM")
if not termios.tcgetattr(c.fd)[3] & termios.ICANON:
    c.fail("vmkit did not restore the terminal's cooked mode")
print("shell_pty: ok: Ctrl-a x stopped the VM, exit 1, terminal restored")
