#!/bin/sh
# fs.sh — shared-folder workloads in the default guest: vmkit's in-process
# virtio-fs (--share) on the emu engine vs qemu-system-aarch64 (TCG) with
# QEMU's vhost-user-fs-device and virtiofsd (Debian: /usr/lib/qemu/virtiofsd
# from qemu-system-common, or the virtiofsd package), same kernel, initrd,
# CPU count and memory, one run after the other.
#   meta:   create N small files, list them with their attributes, rename
#           each, delete each (metadata-heavy: LOOKUP, CREATE, GETATTR,
#           RENAME, UNLINK, READDIR)
#   write:  dd 32 MiB into a file on the share in 128 KiB blocks, fsync
#   read:   drop the guest's page cache, dd the file back to /dev/null
# Each is timed by the guest's own /proc/uptime (10 ms resolution). Both
# VMMs' shares are fresh temporary folders. virtiofsd runs with its default
# cache mode (auto); vmkit caches no attributes or entries (like cache=none
# for metadata). Prints each time and the ratio vmkit/qemu (below 1: vmkit
# is faster); under the emulator both are dominated by guest CPU time.
# No thresholds. Usage: bench/fs.sh [VMKIT_BINARY]
# Env: VMKIT_GUEST_DIR, CPUS (1), MEM (512), FILES (300),
#      QEMU (qemu-system-aarch64), VIRTIOFSD (found as above).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
vmkit=${1:-$repo/build/src/cli/vmkit}
guest=${VMKIT_GUEST_DIR:-$repo/.cache/guest}
[ -f "$guest/Image" ] || { echo "no default guest in $guest" >&2; exit 1; }
vfsd=${VIRTIOFSD:-}
for c in /usr/libexec/virtiofsd /usr/lib/qemu/virtiofsd; do
  [ -n "$vfsd" ] || [ ! -x "$c" ] || vfsd=$c
done
[ -n "$vfsd" ] || { echo "no virtiofsd (apt-get install virtiofsd)" >&2; exit 1; }

exec python3 - "$vmkit" "$guest" "${CPUS:-1}" "${MEM:-512}" \
  "${QEMU:-qemu-system-aarch64}" "$vfsd" "${FILES:-300}" <<'PY'
import base64, os, re, shutil, subprocess, sys, tempfile, time
vmkit, guest, cpus, mem, qemu, vfsd, nfiles = sys.argv[1:]
kernel, initrd = guest + "/Image", guest + "/initrd"
work = r'''
t() { cut -d" " -f1 /proc/uptime; }
cd /mnt/bench || exit 1
a=$(t)
i=0; while [ $i -lt %s ]; do echo $i >f$i; i=$((i+1)); done
ls -l >/dev/null
i=0; while [ $i -lt %s ]; do mv f$i g$i; i=$((i+1)); done
i=0; while [ $i -lt %s ]; do rm g$i; i=$((i+1)); done
b=$(t)
dd if=/dev/zero of=big bs=131072 count=256 conv=fsync 2>/dev/null; c=$(t)
sync; echo 3 >/proc/sys/vm/drop_caches
d=$(t); dd if=big of=/dev/null bs=131072 2>/dev/null; e=$(t)
echo "bench meta $a $b"; echo "bench write $b $c"; echo "bench read $d $e"
echo "bench-size $(wc -c <big)"
''' % (nfiles, nfiles, nfiles)
cmd = ("console=ttyAMA0 quiet vmkit.quiet vmkit.shares=bench vmkit.cmd64=" +
       base64.b64encode(work.encode()).decode())

def run(argv, share):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=3600)
    out = p.stdout
    res = {m[0]: float(m[2]) - float(m[1])
           for m in re.findall(rb"bench (\w+) ([\d.]+) ([\d.]+)", out)}
    if len(res) != 3 or b"bench-size 33554432" not in out:
        sys.exit("the guest did not finish the workloads under %s:\n%s" %
                 (argv[0], out[-3000:].decode(errors="replace")))
    if os.listdir(share) != ["big"]:
        sys.exit("unexpected files left in the share: %r" % os.listdir(share))
    return res

tmp = tempfile.mkdtemp()
try:
    s1, s2 = tmp + "/vmkit", tmp + "/qemu"
    os.mkdir(s1); os.mkdir(s2)
    v = run([vmkit, "run", "--engine", "emu", "--cpus", cpus, "--memory", mem + "M",
             "--kernel", kernel, "--initrd", initrd, "--share", s1 + ",tag=bench",
             "--console", "stdio", "--cmdline", cmd], s1)
    sock = tmp + "/vfsd.sock"
    d = subprocess.Popen([vfsd, "--socket-path=" + sock, "-o", "source=" + s2,
                          "-o", "sandbox=chroot"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.1)
    try:
        q = run([qemu, "-M", "virt,gic-version=3,memory-backend=mem", "-cpu", "cortex-a57",
                 "-smp", cpus, "-m", mem,
                 "-object", "memory-backend-memfd,id=mem,size=%sM,share=on" % mem,
                 "-chardev", "socket,id=vfs,path=" + sock,
                 "-device", "vhost-user-fs-device,chardev=vfs,tag=bench",
                 "-kernel", kernel, "-initrd", initrd, "-append", cmd,
                 "-nographic", "-no-reboot"], s2)
    finally:
        d.kill(); d.wait()
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("%-8s %10s %10s %15s" % ("workload", "vmkit/emu", "qemu TCG", "ratio vmkit/qemu"))
for k, what in ((b"meta", "%s files" % nfiles), (b"write", "32 MiB"), (b"read", "32 MiB")):
    print("%-8s %9.2fs %9.2fs %15.2f   (%s)" % (k.decode(), v[k], q[k], v[k] / q[k], what))
PY
