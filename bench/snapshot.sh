#!/bin/sh
# snapshot.sh — save and restore of a 512 MiB guest, vmkit next to QEMU:
#   the guest: a kernel of a few instructions that writes one word into
#   each 4 KiB page of 256 MiB of its RAM (so half the memory holds data
#   and half is untouched, the same for both) and then waits (wfi); no
#   guest boot, so what is timed is the VMM's save and restore;
#   save:    the paused VM to a snapshot (vmkit: PUT /v1/vm/save on
#            vmkit serve's API; QEMU: QMP stop, then migrate to
#            "exec:cat > FILE", until query-migrate says completed);
#   restore: from launching the process to the VM restored and paused
#            (vmkit: `vmkit restore DIR --paused -d` returning; QEMU: -S
#            -incoming "exec:cat FILE" until the run state leaves
#            inmigrate), process start-up included on both sides (QEMU's
#            alone is printed as "startup" for scale);
#   size:    the snapshot's apparent size and its size on disk (du).
# Prints medians of R runs (ms, MiB) and the ratios vmkit/QEMU. Asserts
# nothing. Release builds are the ones to compare (meson --buildtype=release).
#
# Usage: bench/snapshot.sh [VMKIT_BINARY]
# Env: QEMU (qemu-system-aarch64), R (5 runs), FILL_S (3: seconds the guest
# gets to fill its memory; each run checks it did)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
vmkit=${1:-$repo/build/src/cli/vmkit}
qemu=${QEMU:-qemu-system-aarch64}
tmp=$(mktemp -d)
export XDG_RUNTIME_DIR="$tmp/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
trap 'rm -rf "$tmp"' EXIT INT TERM
exec env PYTHONPATH="$here/lib" python3 - "$vmkit" "$qemu" "$tmp" "${R:-5}" <<'PY'
import json, os, shutil, subprocess, sys, time
from vmapi import QMP, connect, http, median as med, print_ratios, qemu_cmdline, tiny_kernel
vmkit, qemu, tmp, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
FILL_S = float(os.environ.get("FILL_S", "3"))
# adr x0, #0x10000; movz x1, #0x1000, lsl #16   (256 MiB)
# 1: str x0, [x0]; add x0, x0, #4096; subs x1, x1, #4096; b.ne 1b
# wfi; b .-4
kernel = tiny_kernel(os.path.join(tmp, "Image"),
                     [0x10080000, 0xD2A20001, 0xF9000000, 0x91400400, 0xF1400421,
                      0x54FFFFA1, 0xD503207F, 0x17FFFFFF])

def du(path, apparent):
    out = subprocess.run(["du", "-s", "-B1"] + (["--apparent-size"] if apparent else []) + [path],
                         check=True, capture_output=True, text=True).stdout
    return int(out.split()[0]) / (1 << 20)

res = {}
# ---- vmkit
sock = os.path.join(tmp, "api.sock")
saves, restores, app, disk = [], [], [], []
for i in range(runs):
    p = subprocess.Popen([vmkit, "serve", "--api-socket", sock])
    connect(sock, time.monotonic() + 30).close()
    cfg = json.dumps({"engine": "emu", "memory": "512M", "kernel": kernel,
                      "console": "none", "entropy": False}).encode()
    st, body = http(sock, "PUT", "/v1/vm/config", cfg)
    assert st == 200, body
    assert http(sock, "PUT", "/v1/vm/state", b'{"state":"running"}')[0] == 200
    time.sleep(FILL_S)  # the fill is 64 Ki stores and as many host page faults
    assert http(sock, "PUT", "/v1/vm/state", b'{"state":"paused"}')[0] == 200
    snap = os.path.join(tmp, "snap%d" % i)
    t0 = time.monotonic()
    st, body = http(sock, "PUT", "/v1/vm/save", json.dumps({"path": snap}).encode())
    saves.append(time.monotonic() - t0)
    assert st == 200, body
    data = json.load(open(os.path.join(snap, "manifest.json")))["memory_data_bytes"]
    assert data >= 256 << 20, "the guest had not filled its memory yet (%d bytes); raise FILL_S" % data
    try:
        http(sock, "PUT", "/v1/vm/state", b'{"state":"stopped"}')
    except (OSError, IndexError):
        pass  # serve may exit before it answers
    p.wait()
    app.append(du(snap, True)); disk.append(du(snap, False))
    t0 = time.monotonic()
    r = subprocess.run([vmkit, "restore", snap, "--paused", "-d", "--name", "r%d" % i],
                       capture_output=True, text=True)
    restores.append(time.monotonic() - t0)
    assert r.returncode == 0, r.stderr
    subprocess.run([vmkit, "stop", "r%d" % i], check=True)
    shutil.rmtree(snap)
res["vmkit"] = dict(save=med(saves) * 1000, restore=med(restores) * 1000,
                    apparent=med(app), disk=med(disk))

# ---- QEMU: migration to a file and -incoming from it
if shutil.which(qemu):
    qs = os.path.join(tmp, "qmp.sock")
    base = qemu_cmdline(qemu, kernel, "512M", qs)
    saves, restores, starts, app, disk = [], [], [], [], []
    for i in range(runs):
        if os.path.exists(qs):
            os.unlink(qs)
        t0 = time.monotonic()
        p = subprocess.Popen(base)
        m = QMP(qs, time.monotonic() + 60)
        starts.append(time.monotonic() - t0)
        time.sleep(FILL_S)
        m.cmd("stop")
        out = os.path.join(tmp, "qemu%d.mig" % i)
        t0 = time.monotonic()
        r = m.cmd("migrate", {"uri": "exec:cat > %s" % out})
        assert "return" in r, r
        while m.cmd("query-migrate")["return"].get("status") not in ("completed", "failed"):
            time.sleep(0.001)
        saves.append(time.monotonic() - t0)
        m.cmd("quit"); m.close(); p.wait()
        assert os.path.getsize(out) >= 256 << 20, "QEMU's guest had not filled its memory; raise FILL_S"
        app.append(du(out, True)); disk.append(du(out, False))
        if os.path.exists(qs):
            os.unlink(qs)
        t0 = time.monotonic()
        p = subprocess.Popen(base + ["-S", "-incoming", "exec:cat %s" % out])
        m = QMP(qs, time.monotonic() + 60)
        while m.cmd("query-status")["return"]["status"] == "inmigrate":
            time.sleep(0.001)
        restores.append(time.monotonic() - t0)
        m.cmd("quit"); m.close(); p.wait()
        os.unlink(out)
    res["qemu"] = dict(save=med(saves) * 1000, restore=med(restores) * 1000,
                       apparent=med(app), disk=med(disk), startup=med(starts) * 1000)

print("512 MiB guest, 256 MiB of it written; medians of %d runs" % runs)
print_ratios("", [("save", "save (ms)"), ("restore", "restore (ms)"),
                  ("apparent", "size, apparent (MiB)"), ("disk", "size on disk (MiB)"),
                  ("startup", "QEMU startup (ms)")], res)
PY
