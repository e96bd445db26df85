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
exec env PYTHONPATH="$here/lib" python3 - "$vmkit" "$qemu" "$tmp" "${N:-200}" <<'PY'
import json, os, shutil, subprocess, sys, time
from vmapi import QMP, connect, http, median, print_ratios, qemu_cmdline, tiny_kernel
vmkit, qemu, tmp, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
kernel = tiny_kernel(os.path.join(tmp, "Image"), [0xd503207f, 0x17ffffff])  # wfi; b .-4

def med(xs):
    return median(xs) * 1000

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
    base = qemu_cmdline(qemu, kernel, "64M", qs)
    starts = []
    for _ in range(10):
        t0 = time.monotonic()
        p = subprocess.Popen(base)
        m = QMP(qs, time.monotonic() + 30)
        starts.append(time.monotonic() - t0)
        m.cmd("quit"); m.close(); p.wait()
    p = subprocess.Popen(base)
    m = QMP(qs, time.monotonic() + 30)
    rt, pa, re = [], [], []
    for _ in range(n):
        t0 = time.monotonic(); m.cmd("query-status"); rt.append(time.monotonic() - t0)
    for _ in range(n // 4):
        t0 = time.monotonic(); m.cmd("stop"); pa.append(time.monotonic() - t0)
        t0 = time.monotonic(); m.cmd("cont"); re.append(time.monotonic() - t0)
    m.cmd("quit"); m.close(); p.wait()
    res["qemu"] = dict(startup=med(starts), roundtrip=med(rt), pause=med(pa), resume=med(re))

print_ratios("median ms", [(k, k) for k in ["startup", "roundtrip", "pause", "resume"]],
             res, fmt="%.3f")
PY
