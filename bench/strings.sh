#!/bin/sh
# strings.sh — the C library's string functions (tools/bench/strfn.c:
# strlen, memchr, strchr, strcmp, memcmp, memcpy, memset on buffers of
# several sizes; glibc's AdvSIMD versions on arm64), in one run: the arm64
# static build under `vmkit exec --emu-mode=jit` and under qemu-aarch64,
# and the native x86-64 build (the physical limit). Each function's time is
# its CPU time measured by the program, best of --reps; every checksum must
# agree with the native build's (DIFFERS: a wrong emulation). Prints
# jit/qemu (below 1: vmkit faster). No thresholds: this measures.
#
# usage: bench/strings.sh [--vmkit PATH] [--reps N] [--scale N] [--interp]
# Without --vmkit it builds build-bench (release, -Dtests=false) as
# bench/cpu.sh does. --interp adds a column for the interpreter.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
vmkit=
reps=2
scale=1
interp=
while [ $# -gt 0 ]; do
  case $1 in
  --vmkit) vmkit=$2; shift 2 ;;
  --reps) reps=$2; shift 2 ;;
  --scale) scale=$2; shift 2 ;;
  --interp) interp=1; shift ;;
  *) echo "usage: $0 [--vmkit PATH] [--reps N] [--scale N] [--interp]" >&2
     exit 2 ;;
  esac
done
. "$repo/bench/lib/build.sh"
bench_need_cross strings.sh
cross=aarch64-linux-gnu-gcc
if [ -z "$vmkit" ]; then
  bench_build_vmkit "$repo"
  vmkit=$repo/build-bench/src/cli/vmkit
fi
[ -x "$vmkit" ] || { echo "strings.sh: no vmkit binary at $vmkit; pass --vmkit" >&2; exit 2; }

work=$(mktemp -d /tmp/strings-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
$cross -O2 -static -o "$work/strfn.a64" "$repo/tools/bench/strfn.c"
${CC:-cc} -O2 -o "$work/strfn.host" "$repo/tools/bench/strfn.c"

exec python3 - "$work" "$vmkit" "$reps" "$scale" "$interp" \
  "${QEMU_AARCH64:-qemu-aarch64}" <<'PY'
import math, re, subprocess, sys
work, vmkit, reps, scale, interp, qemu = sys.argv[1:]
reps = int(reps)
line_re = re.compile(r"^(\w+) ([\d.]+) ([0-9a-f]{16})\s*$")

def run(argv):
    """Best of reps: {name: (seconds, checksum)}; "mixed" when a checksum
    changed between runs."""
    res = {}
    for _ in range(reps):
        p = subprocess.run(argv + ["-s", scale], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            print("  %s failed (exit %d): %s" % (argv[0], p.returncode, p.stdout[-500:]))
            return {}
        for l in p.stdout.splitlines():
            m = line_re.match(l.strip())
            if not m:
                continue
            k, t, c = m.group(1), float(m.group(2)), m.group(3)
            if k in res:
                res[k] = (min(res[k][0], t), c if res[k][1] == c else "mixed")
            else:
                res[k] = (t, c)
    return res

names = ["strlen", "memchr", "strchr", "strcmp", "memcmp", "memcpy", "memset"]
nat = run([work + "/strfn.host"])
q = run([qemu, work + "/strfn.a64"])
j = run([vmkit, "exec", "--emu-mode=jit", work + "/strfn.a64"])
v = run([vmkit, "exec", "--emu-mode=interp", work + "/strfn.a64"]) if interp else {}
print("string functions, user mode (CPU seconds, best of %d, scale %s)" % (reps, scale))
print("%-7s %9s %9s %9s %9s %9s %11s  %s" % ("name", "native", "qemu", "jit",
      "interp", "jit/qemu", "jit/native", "checksum"))
rs = []
for k in names:
    n_, q_, j_, v_ = nat.get(k), q.get(k), j.get(k), v.get(k)
    ok = n_ and q_ and j_ and n_[1] == q_[1] == j_[1] and (not interp or (v_ and v_[1] == n_[1]))
    f = lambda x: "%9.3f" % x[0] if x else "%9s" % "-"
    r = j_[0] / q_[0] if j_ and q_ and q_[0] else None
    if r:
        rs.append(r)
    print("%-7s %s %s %s %s %9s %11s  %s" % (k, f(n_), f(q_), f(j_), f(v_),
          "%.2f" % r if r else "-",
          "%.1f" % (j_[0] / n_[0]) if j_ and n_ and n_[0] else "-",
          "same" if ok else "DIFFERS (native %s qemu %s jit %s interp %s)" % (
              n_ and n_[1], q_ and q_[1], j_ and j_[1], v_ and v_[1])))
if rs:
    print("%-7s %39s %9.2f  (geometric mean)" % ("all", "",
          math.exp(sum(map(math.log, rs)) / len(rs))))
PY
