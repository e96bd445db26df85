#!/bin/sh
# cpu.sh — the CPU-bound benchmark of issue 10: tools/bench/cpu.c (integer,
# pointer chasing, branches, FP, SIMD kernels, each with a checksum), in
# one run:
#   user mode:  the arm64 build under `vmkit exec` (interpreter and
#               --emu-mode=jit) and under qemu-aarch64,
#               and the native x86-64 build (the physical limit); each
#               kernel's time is its CPU time measured by the program
#   guest:      the same arm64 binary inside the default guest, 1 vCPU,
#               under vmkit's emu engine (interpreter and --emu-mode jit)
#               and under qemu-system-aarch64 TCG
#               (-M virt,gic-version=3 -cpu cortex-a57), same kernel and
#               initrd (the binary is appended to the initrd as a second
#               cpio archive, which both VMMs pass through unchanged); each
#               kernel's time is the host CPU time the VMM process used
#               while it ran (sampled at the markers the program prints),
#               the guest's own figure shown beside it
# Every run's checksums must agree with the native build's (a differing
# one is printed as DIFFERS: a wrong emulation). Times are the best of
# --reps runs. Prints the ratios vmkit/qemu (below 1: vmkit faster) and
# vmkit/native. No thresholds: this measures, it does not judge.
#
# usage: bench/cpu.sh [--vmkit PATH] [--reps N] [--scale N] [--no-guest]
#                     [--no-user] [--no-build]
# Without --vmkit it builds build-bench (release, -Dtests=false) as
# bench/emu_user.sh does. Env: VMKIT_GUEST_DIR (default .cache/guest, built
# by tools/guest/build.sh when missing), QEMU_AARCH64, QEMU_SYSTEM.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
vmkit=
reps=1
scale=1
guest=1
user=1
build=1
while [ $# -gt 0 ]; do
  case $1 in
  --vmkit) vmkit=$2; shift 2 ;;
  --reps) reps=$2; shift 2 ;;
  --scale) scale=$2; shift 2 ;;
  --no-guest) guest=; shift ;;
  --no-user) user=; shift ;;
  --no-build) build=; shift ;;
  *) echo "usage: $0 [--vmkit PATH] [--reps N] [--scale N] [--no-guest] [--no-user] [--no-build]" >&2
     exit 2 ;;
  esac
done
. "$repo/bench/lib/build.sh"
bench_need_cross cpu.sh
cross=aarch64-linux-gnu-gcc
if [ -z "$vmkit" ]; then
  if [ -n "$build" ]; then
    bench_build_vmkit "$repo"
  fi
  vmkit=$repo/build-bench/src/cli/vmkit
fi
[ -x "$vmkit" ] || { echo "cpu.sh: no vmkit binary at $vmkit; pass --vmkit" >&2; exit 2; }

work=$(mktemp -d /tmp/cpu-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# -ffp-contract=off: no fused multiply-add on either side, so the FP
# kernel's checksum is the same on arm64 and x86-64
flags="-O2 -ffp-contract=off"
$cross $flags -static -o "$work/cpu.a64" "$repo/tools/bench/cpu.c" -lm
${CC:-cc} $flags -o "$work/cpu.host" "$repo/tools/bench/cpu.c" -lm

gdir=
if [ -n "$guest" ]; then
  gdir=${VMKIT_GUEST_DIR:-$repo/.cache/guest}
  if [ ! -f "$gdir/Image" ] && [ -z "${VMKIT_GUEST_DIR:-}" ]; then
    "$repo/tools/guest/build.sh" >/dev/null
  fi
  [ -f "$gdir/Image" ] || { echo "cpu.sh: no guest in $gdir" >&2; exit 2; }
  # the default initrd with /bench/cpu added: a second archive after the
  # first, as the kernel's initramfs format allows
  mkdir -p "$work/overlay/bench"
  cp "$work/cpu.a64" "$work/overlay/bench/cpu"
  (cd "$work/overlay" && find bench | cpio -o -H newc --quiet | gzip -1) > "$work/extra.cpio.gz"
  cat "$gdir/initrd" "$work/extra.cpio.gz" > "$work/initrd"
  cp "$gdir/Image" "$work/Image"
fi

exec python3 - "$work" "$vmkit" "$reps" "$scale" "$user" "$guest" \
  "${QEMU_AARCH64:-qemu-aarch64}" "${QEMU_SYSTEM:-qemu-system-aarch64}" <<'PY'
import base64, math, os, re, subprocess, sys, time
work, vmkit, reps, scale, user, guest, qemu_user, qemu_sys = sys.argv[1:]
reps, scale = int(reps), int(scale)
line_re = re.compile(r"^(\w+) ([\d.]+) ([0-9a-f]{16})\s*$")

def parse(text):
    out = {}
    for l in text.splitlines():
        m = line_re.match(l.strip())
        if m:
            out[m.group(1)] = (float(m.group(2)), m.group(3))
    return out

def best(runs):
    """Per kernel the least time; a checksum that changed between runs
    shows as "mixed"."""
    res = {}
    for r in runs:
        for k, v in r.items():
            if k in res:
                res[k] = tuple(min(a, b) for a, b in zip(res[k][:-1], v[:-1])) + (
                    res[k][-1] if res[k][-1] == v[-1] else "mixed",)
            else:
                res[k] = v
    return res

def user_run(argv):
    """Best of reps: {kernel: (seconds, checksum)}, and the largest peak
    RSS of the whole process (MiB): the emulator's host memory, its
    translations included."""
    runs, rss = [], 0
    for _ in range(reps):
        p = subprocess.Popen(argv + ["-s", str(scale)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        out = p.stdout.read().decode(errors="replace")
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            print("  %s failed (exit %d): %s" % (argv[0], p.returncode, out[-500:]))
            return {}, 0
        runs.append(parse(out))
        rss = max(rss, ru.ru_maxrss / 1024)
    return best(runs), rss

def ratio(a, b):
    return "%.2f" % (a / b) if a and b else "-"

def geomean(num, den, i=0):
    """Geometric mean over the kernels of num/den (element i of each)."""
    rs = [num[k][i] / den[k][i] for k in kernels
          if num.get(k) and den.get(k) and num[k][i] and den[k][i]]
    return "%.2f" % math.exp(sum(map(math.log, rs)) / len(rs)) if rs else "-"

kernels = ["int", "chase", "branch", "fp", "simd"]
if user:
    nat, nat_rss = user_run([work + "/cpu.host"])
    q, q_rss = user_run([qemu_user, work + "/cpu.a64"])
    v, v_rss = user_run([vmkit, "exec", "--emu-mode=interp", work + "/cpu.a64"])
    j, j_rss = user_run([vmkit, "exec", "--emu-mode=jit", work + "/cpu.a64"])
    print("cpu bench, user mode (CPU seconds, best of %d, scale %d; vmkit: "
          "interpreter, jit: --emu-mode=jit)" % (reps, scale))
    print("%-7s %9s %9s %9s %9s %11s %9s %13s  %s" % ("kernel", "native", "qemu",
          "vmkit", "jit", "vmkit/qemu", "jit/qemu", "vmkit/native", "checksum"))
    for k in kernels:
        n_, q_, v_, j_ = nat.get(k), q.get(k), v.get(k), j.get(k)
        ok = n_ and q_ and v_ and j_ and n_[1] == q_[1] == v_[1] == j_[1]
        f = lambda x: "%9.3f" % x[0] if x else "%9s" % "-"
        print("%-7s %s %s %s %s %11s %9s %13s  %s" % (k, f(n_), f(q_), f(v_), f(j_),
              ratio(v_ and v_[0], q_ and q_[0]), ratio(j_ and j_[0], q_ and q_[0]),
              ratio(v_ and v_[0], n_ and n_[0]),
              "same" if ok else "DIFFERS (native %s qemu %s vmkit %s jit %s)" % (
                  n_ and n_[1], q_ and q_[1], v_ and v_[1], j_ and j_[1])))
    print("%-7s %39s %11s %9s %13s  (geometric mean)" % ("all", "", geomean(v, q),
          geomean(j, q), geomean(v, nat)))
    print("%-7s %8.0fM %8.0fM %8.0fM %8.0fM   (peak RSS of the process)" % (
          "memory", nat_rss, q_rss, v_rss, j_rss))
    ref = nat
else:
    ref = parse(subprocess.run([work + "/cpu.host", "-s", str(scale)],
                               stdout=subprocess.PIPE, text=True).stdout)

def guest_run(argv):
    """One boot: returns {kernel: (host_cpu_s, guest_s, checksum)}."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    hz = os.sysconf("SC_CLK_TCK")
    def cpu():
        f = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / hz
    buf, res, start = b"", {}, {}
    while True:
        d = p.stdout.read1(4096)
        if not d:
            break
        buf += d
        while b"\n" in buf:
            l, buf = buf.split(b"\n", 1)
            s = l.decode(errors="replace").strip()
            if s.startswith("@begin "):
                start[s.split()[1]] = cpu()
            m = line_re.match(s)
            if m and m.group(1) in start:
                res[m.group(1)] = (cpu() - start[m.group(1)], float(m.group(2)), m.group(3))
    p.wait()
    if not res:
        print("  %s: the guest printed no results" % argv[0])
    return res

def guest_best(argv):
    return best([guest_run(argv) for _ in range(reps)])

if guest:
    cmd = "console=ttyAMA0 quiet vmkit.quiet vmkit.cmd64=" + base64.b64encode(
        ("/bench/cpu -m -s %d" % scale).encode()).decode()
    kern, initrd = work + "/Image", work + "/initrd"
    v = guest_best([vmkit, "run", "--engine", "emu", "--emu-mode", "interp", "--cpus", "1", "--memory", "512M",
                    "--net", "none", "--kernel", kern, "--initrd", initrd, "--cmdline", cmd])
    gj = guest_best([vmkit, "run", "--engine", "emu", "--emu-mode", "jit", "--cpus", "1",
                     "--memory", "512M", "--net", "none", "--kernel", kern, "--initrd",
                     initrd, "--cmdline", cmd])
    q = guest_best([qemu_sys, "-M", "virt,gic-version=3", "-cpu", "cortex-a57", "-smp", "1",
                    "-m", "512", "-kernel", kern, "-initrd", initrd, "-append", cmd,
                    "-nographic", "-no-reboot", "-nic", "none"])
    print("cpu bench, in the guest, 1 vCPU (host CPU seconds of the VMM while the "
          "kernel ran; in brackets the guest's own CPU seconds; best of %d)" % reps)
    print("%-7s %17s %17s %17s %11s %11s %13s  %s" % ("kernel", "vmkit emu", "emu jit",
          "qemu TCG", "vmkit/qemu", "jit/qemu", "vmkit/native", "checksum"))
    for k in kernels:
        v_, j_, q_, n_ = v.get(k), gj.get(k), q.get(k), ref.get(k)
        ok = v_ and j_ and q_ and n_ and v_[2] == j_[2] == q_[2] == n_[1]
        f = lambda x: "%7.3f [%7.3f]" % (x[0], x[1]) if x else "%17s" % "-"
        print("%-7s %s %s %s %11s %11s %13s  %s" % (k, f(v_), f(j_), f(q_),
              ratio(v_ and v_[0], q_ and q_[0]), ratio(j_ and j_[0], q_ and q_[0]),
              ratio(v_ and v_[0], n_ and n_[0]),
              "same" if ok else "DIFFERS (native %s qemu %s vmkit %s jit %s)" % (
                  n_ and n_[1], q_ and q_[2], v_ and v_[2], j_ and j_[2])))
    print("%-7s %53s %11s %11s %13s  (geometric mean)" % ("all", "", geomean(v, q),
          geomean(gj, q), geomean(v, ref)))
PY
