#!/usr/bin/env python3
"""shell_pty.py VMKIT — `vmkit run` with no flags, as a user types it: the
default guest boots (auto engine) to the interactive shell on a terminal;
the test types a command, reads its answer, exits the shell and expects the
guest to power off and vmkit to exit 0. On failure it prints the console."""
import os
import pty
import select
import sys
import time

vmkit = sys.argv[1]
guest_dir = os.environ.get("VMKIT_GUEST_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", ".cache", "guest")
if not os.path.exists(os.path.join(guest_dir, "Image")):
    print("shell_pty: the default guest is not built; skipping")
    sys.exit(77)

pid, fd = pty.fork()
if pid == 0:
    os.environ["VMKIT_GUEST_DIR"] = guest_dir
    os.execv(vmkit, [vmkit, "run"])

out = b""


def wait_for(needle, timeout):
    global out
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            out += chunk
            if needle in out:
                return True
    return False


def fail(msg):
    print("shell_pty: FAIL:", msg)
    print("---- console ----")
    print(out.decode(errors="replace"))
    print("---- end ----")
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    sys.exit(1)


if not wait_for(b"starting a shell", 600):
    fail("the guest never reached the interactive shell")
time.sleep(1)
# The product is computed by the guest's shell, so the answer cannot come
# from echoing our own input.
os.write(fd, b"echo answer=$((6*7))\r")
if not wait_for(b"answer=42", 120):
    fail("the shell did not run the typed command")
os.write(fd, b"exit\r")
end = time.time() + 120
status = None
while time.time() < end:
    wait_for(b"\x00never", 1)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = os.waitstatus_to_exitcode(st)
        break
if status is None:
    fail("vmkit did not exit after the shell exited")
if status != 0:
    fail(f"vmkit exited {status}, not 0")
print("shell_pty: ok: booted to the shell, ran a typed command, powered off, exit 0")
