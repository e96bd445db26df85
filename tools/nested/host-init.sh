#!/bin/sh
# host-init.sh — /init of the nested arm64 KVM host (tools/nested/build-host.sh
# puts it in the host's initramfs). Runs as PID 1 in the nested host under
# QEMU TCG: mounts the pseudo file systems, loads the virtio modules for the
# disks the outer QEMU attaches, reports whether /dev/kvm exists, runs the
# scenario named by nested.scenario=NAME on the kernel command line
# (/scenarios/NAME.sh, supplied by the test or bench in the payload), prints
# its exit status in a line the outer side parses, and powers off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp && mount -t tmpfs tmpfs /tmp
for m in /modules/*.ko; do [ -e "$m" ] && insmod "$m"; done
# Give the block devices a moment to appear.
i=0
while [ $i -lt 50 ] && ! ls /sys/block 2>/dev/null | grep -q vd; do
  sleep 0.1; i=$((i + 1))
done
for b in /sys/block/vd*; do
  [ -e "$b" ] && echo "nested-host: disk ${b##*/} $(cat "$b/size") sectors"
done
echo "nested-host: up after $(cut -d' ' -f1 /proc/uptime) s (kernel uptime)"
if [ -c /dev/kvm ]; then
  echo "nested-host: /dev/kvm present"
else
  echo "nested-host: /dev/kvm MISSING"
  dmesg | grep -i kvm
fi
sc=$(sed -n 's/.*nested\.scenario=\([A-Za-z0-9_-]*\).*/\1/p' /proc/cmdline)
if [ -n "$sc" ] && [ -f "/scenarios/$sc.sh" ]; then
  echo "nested-host: running scenario $sc"
  sh "/scenarios/$sc.sh"
  echo "nested-host: scenario $sc exit=$?"
else
  echo "nested-host: no scenario '$sc'; starting a shell"
  setsid sh -c 'exec sh </dev/ttyAMA0 >/dev/ttyAMA0 2>&1'
fi
sync
poweroff -f
