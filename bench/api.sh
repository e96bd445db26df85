#!/bin/sh
# api.sh — the control API's latencies, vmkit's REST API next to QEMU's QMP,
# on an idle VM (a kernel of two instructions, "wfi; b .-4": no guest boot,
# so what is timed is the VMM and its API, not the guest):
#   startup: from launching `vmkit serve --api-socket` (QEMU: with -qmp) to
#            the first answer on the socket (QMP: greeting + capabilities);
#   round trip: one status query on an open connection's worth of work
#            (vmkit: a new HTTP connection per GET /v1/vm, as curl does;
#            QMP: query-status on its one connection);
#   pause / resume: PUT /v1/vm/state paused|running (QMP: stop / cont).
# Prints medians (ms) and the ratios vmkit/QEMU. Asserts nothing.
#
# Usage: bench/api.sh [VMKIT_BINARY]   Env: QEMU (qemu-system-aarch64), N (200)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
vmkit=${1:-$repo/build/src/cli/vmkit}
qemu=${QEMU:-qemu-system-aarch64}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
exec python3 - "$vmkit" "$qemu" "$tmp" "${N:-200}" <<'PY'
import json, os, shutil, socket, statistics, struct, subprocess, sys, time
vmkit, qemu, tmp, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
img = bytearray(65536)
img[0:8] = struct.pack("<II", 0xd503207f, 0x17ffffff)
img[16:32] = struct.pack("<QQ", len(img), 0xA)
img[56:60] = b"ARM\x64"
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
    s = connect(path, time.monotonic() + 10)
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

def med(xs):
    return statistics.median(xs) * 1000

res = {}
# ---- vmkit
sock = os.path.join(tmp, "api.sock")
starts = []
for _ in range(10):
    t0 = time.monotonic()
    p = subprocess.Popen([vmkit, "serve", "--api-socket", sock])
    while True:
        try:
            if http(sock, "GET", "/v1/vm")[0] == 200:
                break
        except OSError:
            time.sleep(0.0005)
    starts.append(time.monotonic() - t0)
    p.terminate(); p.wait()
p = subprocess.Popen([vmkit, "serve", "--api-socket", sock])
connect(sock, time.monotonic() + 10).close()
cfg = json.dumps({"engine": "emu", "memory": "64M", "kernel": kernel,
                  "console": "none", "entropy": False}).encode()
assert http(sock, "PUT", "/v1/vm/config", cfg)[0] == 200
assert http(sock, "PUT", "/v1/vm/state", b'{"state":"running"}')[0] == 200
rt, pa, re = [], [], []
for _ in range(n):
    t0 = time.monotonic(); http(sock, "GET", "/v1/vm"); rt.append(time.monotonic() - t0)
for _ in range(n // 4):
    t0 = time.monotonic(); assert http(sock, "PUT", "/v1/vm/state", b'{"state":"paused"}')[0] == 200
    pa.append(time.monotonic() - t0)
    t0 = time.monotonic(); assert http(sock, "PUT", "/v1/vm/state", b'{"state":"running"}')[0] == 200
    re.append(time.monotonic() - t0)
http(sock, "PUT", "/v1/vm/state", b'{"state":"stopped"}')
p.wait()
res["vmkit"] = dict(startup=med(starts), roundtrip=med(rt), pause=med(pa), resume=med(re))

# ---- QEMU (QMP)
if shutil.which(qemu):
    qs = os.path.join(tmp, "qmp.sock")
    base = [qemu, "-M", "virt,gic-version=3", "-cpu", "cortex-a57", "-m", "64M",
            "-kernel", kernel, "-display", "none", "-monitor", "none",
            "-serial", "none", "-nodefaults", "-qmp", "unix:%s,server=on,wait=off" % qs]
    def qmp_open(deadline):
        s = connect(qs, deadline); f = s.makefile("rwb")
        f.readline()  # greeting
        f.write(b'{"execute":"qmp_capabilities"}\n'); f.flush(); f.readline()
        return s, f
    def cmd(f, c):
        f.write(json.dumps({"execute": c}).encode() + b"\n"); f.flush()
        while True:
            r = json.loads(f.readline())
            if "return" in r or "error" in r:
                return r
    starts = []
    for _ in range(10):
        t0 = time.monotonic()
        p = subprocess.Popen(base)
        s, f = qmp_open(time.monotonic() + 30)
        starts.append(time.monotonic() - t0)
        cmd(f, "quit"); s.close(); p.wait()
    p = subprocess.Popen(base)
    s, f = qmp_open(time.monotonic() + 30)
    rt, pa, re = [], [], []
    for _ in range(n):
        t0 = time.monotonic(); cmd(f, "query-status"); rt.append(time.monotonic() - t0)
    for _ in range(n // 4):
        t0 = time.monotonic(); cmd(f, "stop"); pa.append(time.monotonic() - t0)
        t0 = time.monotonic(); cmd(f, "cont"); re.append(time.monotonic() - t0)
    cmd(f, "quit"); s.close(); p.wait()
    res["qemu"] = dict(startup=med(starts), roundtrip=med(rt), pause=med(pa), resume=med(re))

print("%-12s %12s %12s %10s" % ("median ms", "vmkit", "QEMU", "vmkit/QEMU"))
for k in ["startup", "roundtrip", "pause", "resume"]:
    v = res["vmkit"][k]
    q = res.get("qemu", {}).get(k)
    print("%-12s %12.3f %12s %10s" % (k, v, "%.3f" % q if q else "-", "%.2f" % (v / q) if q else "-"))
PY
