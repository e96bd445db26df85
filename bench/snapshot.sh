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
exec python3 - "$vmkit" "$qemu" "$tmp" "${R:-5}" <<'PY'
import json, os, shutil, socket, statistics, struct, subprocess, sys, time
vmkit, qemu, tmp, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
FILL_S = float(os.environ.get("FILL_S", "3"))
# Image header (code0: b +64), then at +64:
#   adr x0, #0x10000; movz x1, #0x1000, lsl #16   (256 MiB)
#   1: str x0, [x0]; add x0, x0, #4096; subs x1, x1, #4096; b.ne 1b
#   wfi; b .-4
img = bytearray(65536)
img[0:4] = struct.pack("<I", 0x14000010)
img[16:32] = struct.pack("<QQ", len(img), 0xA)
img[56:60] = b"ARM\x64"
code = [0x10080000, 0xD2A20001, 0xF9000000, 0x91400400, 0xF1400421,
        0x54FFFFA1, 0xD503207F, 0x17FFFFFF]
img[64:64 + 4 * len(code)] = struct.pack("<%dI" % len(code), *code)
kernel = os.path.join(tmp, "Image")
open(kernel, "wb").write(img)

def connect(path, deadline):
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            return s
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.0005)

def http(path, method, url, body=b""):
    s = connect(path, time.monotonic() + 30)
    s.sendall(b"%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
              % (method.encode(), url.encode(), len(body), body))
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    return int(data.split(b" ")[1]), data.split(b"\r\n\r\n", 1)[1]

def du(path, apparent):
    out = subprocess.run(["du", "-s", "-B1"] + (["--apparent-size"] if apparent else []) + [path],
                         check=True, capture_output=True, text=True).stdout
    return int(out.split()[0]) / (1 << 20)

def med(xs):
    return statistics.median(xs)

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
    base = [qemu, "-M", "virt,gic-version=3", "-cpu", "cortex-a57", "-m", "512M",
            "-kernel", kernel, "-display", "none", "-monitor", "none",
            "-serial", "none", "-nodefaults", "-qmp", "unix:%s,server=on,wait=off" % qs]
    def qmp_open(deadline):
        s = connect(qs, deadline); f = s.makefile("rwb")
        f.readline()  # greeting
        f.write(b'{"execute":"qmp_capabilities"}\n'); f.flush(); f.readline()
        return s, f
    def cmd(f, c, args=None):
        m = {"execute": c}
        if args:
            m["arguments"] = args
        f.write(json.dumps(m).encode() + b"\n"); f.flush()
        while True:
            r = json.loads(f.readline())
            if "return" in r or "error" in r:
                return r
    saves, restores, starts, app, disk = [], [], [], [], []
    for i in range(runs):
        if os.path.exists(qs):
            os.unlink(qs)
        t0 = time.monotonic()
        p = subprocess.Popen(base)
        s, f = qmp_open(time.monotonic() + 60)
        starts.append(time.monotonic() - t0)
        time.sleep(FILL_S)
        cmd(f, "stop")
        out = os.path.join(tmp, "qemu%d.mig" % i)
        t0 = time.monotonic()
        r = cmd(f, "migrate", {"uri": "exec:cat > %s" % out})
        assert "return" in r, r
        while cmd(f, "query-migrate")["return"].get("status") not in ("completed", "failed"):
            time.sleep(0.001)
        saves.append(time.monotonic() - t0)
        cmd(f, "quit"); s.close(); p.wait()
        assert os.path.getsize(out) >= 256 << 20, "QEMU's guest had not filled its memory; raise FILL_S"
        app.append(du(out, True)); disk.append(du(out, False))
        if os.path.exists(qs):
            os.unlink(qs)
        t0 = time.monotonic()
        p = subprocess.Popen(base + ["-S", "-incoming", "exec:cat %s" % out])
        s, f = qmp_open(time.monotonic() + 60)
        while cmd(f, "query-status")["return"]["status"] == "inmigrate":
            time.sleep(0.001)
        restores.append(time.monotonic() - t0)
        cmd(f, "quit"); s.close(); p.wait()
        os.unlink(out)
    res["qemu"] = dict(save=med(saves) * 1000, restore=med(restores) * 1000,
                       apparent=med(app), disk=med(disk), startup=med(starts) * 1000)

print("512 MiB guest, 256 MiB of it written; medians of %d runs" % runs)
print("%-22s %12s %12s %10s" % ("", "vmkit", "QEMU", "vmkit/QEMU"))
for k, label in [("save", "save (ms)"), ("restore", "restore (ms)"),
                 ("apparent", "size, apparent (MiB)"), ("disk", "size on disk (MiB)"),
                 ("startup", "QEMU startup (ms)")]:
    v = res["vmkit"].get(k)
    q = res.get("qemu", {}).get(k)
    print("%-22s %12s %12s %10s" % (label, "%.1f" % v if v is not None else "-",
                                    "%.1f" % q if q is not None else "-",
                                    "%.2f" % (v / q) if v is not None and q else "-"))
PY
