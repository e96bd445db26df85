#!/bin/bash
# kvm_boot.sh — vmkit/KVM against QEMU/KVM booting the same guest, side by
# side in the same nested arm64 KVM host (this x86 machine has no /dev/kvm;
# tools/nested/ boots an arm64 host with KVM under QEMU TCG, so absolute
# times are those of a TCG-emulated host and every VM exit is very dear:
# compare ratios and exit counts, not seconds). The host's CPU is QEMU's
# -cpu max with its cheap pointer-authentication algorithm (run-host.sh
# says why: the architected one, emulated, made the host kernel's every
# cost 2-4 times higher; NESTED_CPU=max brings it back, for comparison).
#
# The peer is configured as someone who wants a fast QEMU would: Debian's
# arm64 qemu-system-aarch64 package (tools/nested/build-qemu-bundle.sh),
# -nodefaults -no-user-config, -display none, console on the PL011
# (-serial stdio), -accel kvm, and exactly vmkit's devices in vmkit's
# virtio-mmio slots: virtio-blk (a 64 MiB raw file), virtio-console (one
# port, no multiport: vmkit always has hvc0 beside the PL011), virtio-rng,
# virtio-balloon with free page reporting and deflate on OOM (on by
# default in vmkit).
# Both boot the same Image + initrd with 2 vCPUs and 256 MiB, console=ttyAMA0
# quiet, and the guest's init runs `true` and powers off. The guest CPU is the
# same too: -cpu host,sve=off,pauth=off,pmu=off,kvm-steal-time=off, because
# vmkit's vCPUs have no SVE, pointer authentication, PMU or paravirtual
# stolen time (variant qemu-cpuhost shows plain -cpu host).
#
# Why the old version of this bench had QEMU at 9.9 s to init (twice an
# independent measurement): it did not boot the guest vmkit boots. Its QEMU
# ran plain -cpu host, which gives the guest a PMU, pointer authentication
# and SVE that vmkit's vCPUs do not have (the PMU's registers trap to KVM,
# PAC and SVE are emulated by the outer TCG), and no -nodefaults, with
# -nographic (a monitor multiplexed on stdio) and no disk or rng. The
# console pipeline was the same for both VMMs and the bundle is Debian's
# package, so neither explains it. VARIANTS="qemu-old qemu-cpuhost" times
# the old command line and plain -cpu host next to the fair peer; one run
# each on a 2-core host at load average ~20 (so only the order of magnitude
# means anything) gave launch->init qemu 94 s, qemu-cpuhost 100 s, qemu-old
# 189 s, and in a second run qemu 167 s vs qemu-old 1416 s. Which of the
# old options costs most was not isolated further.
#
# Printed, per VMM: launch -> init (the console's "vmkit-init: started"),
# launch -> exit, the guest's own uptime when /init began (vmkit.uptime),
# means and medians, ratios vmkit/QEMU of both (medians first). Then the
# phases of every timed run, from kvm and sched tracepoints in trace
# instances of their own (the same for both VMMs): launch -> first
# KVM_RUN and power-off -> VMM gone (the VMM's own time), first KVM_RUN ->
# power-off (the guest's, with the part before its clock starts), their
# medians, and the launch->exit ratio vmkit would have if its own time
# were zero: the floor the guest's boot sets on this host. Then, from one more run of each with kvm
# tracepoints on in the nested host (launch -> init): VM exits by reason,
# MMIO accesses per device and register (and how many reached the VMM),
# interrupt injections (KVM_IRQ_LINE ioctls vs irqfd), WFI, system-register
# traps by register (decoded from the trapped ESR of kvm_handle_sys_reg:
# the kvm_sys_access hist this bench used before asked for six keys, more
# than the three a hist trigger takes, so the kernel refused it and no
# register was ever named); each VMM thread's CPU time at init and every
# 3 s before; the time from the VMM's exec to its first KVM_RUN (from the
# sched_process_exec and first kvm_entry tracepoints, the same for both
# VMMs) and, for vmkit, each start-up stage on the way (VMKIT_TRACE_START=1:
# time since exec and the main thread's CPU time); and memory overhead as
# Firecracker counts it: the RSS of every mapping of the process that is
# not guest RAM, from /proc/PID/smaps at the init line, listed mapping by
# mapping with PSS and the shared part. Shared library pages count in full
# for both VMMs (RSS, as Firecracker's figure); neither VMM shares them
# with anything else in the nested host (each has its own copy of glibc,
# busybox is static), so PSS is within a few KiB of RSS there.
#
# Usage: bench/kvm_boot.sh [RUNS]   (default 5 interleaved runs of each)
# Env: VARIANTS="qemu-old qemu-cpuhost" adds QEMU variants; VMKIT_BASE=PATH
# adds another arm64 vmkit binary as vmkit-base (before/after), with
# VMKIT_BASE_LIBS=DIR the libraries it needs (its build's runlibs/); BENCH_DMESG=1
# makes the traced runs print the guest's kernel log (prefixed
# dmesg-NAME:, printk times on) and the device tree the guest got (from
# its /sys/firmware/fdt, decompiled with dtc) for a side-by-side look; BENCH_VERBOSE=1 prints the whole
# nested console; NESTED_KEEP=1 keeps the work folder; BENCH_CONSOLE=LOG
# prints the report again from a kept console log. No thresholds.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-5}
WORK=$(mktemp -d /tmp/vmkit-bench.XXXXXX)
[ "${NESTED_KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
say() { echo "kvm_boot: $*"; }

if [ -n "${BENCH_CONSOLE:-}" ]; then
  # Report again from a kept console log (NESTED_KEEP=1), no nested run.
  tr -d '\r' <"$BENCH_CONSOLE" >"$WORK/console.txt"
else
  bash "$ROOT/tools/deps.sh" >/dev/null 2>&1 || true
  A64=$("$ROOT/tools/nested/build-vmkit-arm64.sh" "${VMKIT_ARM64_BUILD:-$ROOT/build-arm64}" 2>"$WORK/build.log" | tail -1) ||
    { cat "$WORK/build.log"; say "the arm64 cross build failed"; exit 1; }
  [ -x "$A64/src/cli/vmkit" ] || { say "no arm64 vmkit CLI was built (is vmkit run on main yet?)"; exit 1; }
  if [ -x "$ROOT/tools/guest/build.sh" ]; then
    "$ROOT/tools/guest/build.sh" >"$WORK/guest.log" 2>&1 ||
      { cat "$WORK/guest.log"; say "building the default guest failed"; exit 1; }
  fi
  GUEST=$ROOT/.cache/guest
  [ -f "$GUEST/Image" ] && [ -f "$GUEST/initrd" ] || { say "no default guest in $GUEST"; exit 1; }
  QB=$("$ROOT/tools/nested/build-qemu-bundle.sh" 2>"$WORK/qemu.log" | tail -1) ||
    { cat "$WORK/qemu.log"; say "fetching QEMU for arm64 failed"; exit 1; }

  P=$WORK/payload
  mkdir -p "$P/payload/guest" "$P/scenarios" "$P/qemu"
  cp "$A64/src/cli/vmkit" "$P/payload/"
  # vmkit is linked dynamically (libslirp): its libraries and loader go to /lib.
  mkdir -p "$P/lib" && cp "$A64"/runlibs/* "$P/lib/"
  if [ -n "${VMKIT_BASE:-}" ]; then
    cp "$VMKIT_BASE" "$P/payload/vmkit-base"
    # The base binary's own libraries (its build's runlibs/), for those
    # this build no longer ships; this build's win where both have one.
    if [ -n "${VMKIT_BASE_LIBS:-}" ]; then
      for l in "$VMKIT_BASE_LIBS"/*; do
        [ -e "$P/lib/${l##*/}" ] || cp "$l" "$P/lib/"
      done
    fi
    VARIANTS="vmkit-base ${VARIANTS:-}"
  fi
  cp "$GUEST/Image" "$GUEST/initrd" "$P/payload/guest/"
  cp -r "$QB/bin" "$QB/lib" "$P/qemu/"
  cp "$ROOT/bench/kvm_boot_nested.sh" "$P/scenarios/bench.sh"
  printf 'RUNS=%d\nVARIANTS="%s"\nDMESG=%s\n' "$RUNS" "${VARIANTS:-}" \
    "${BENCH_DMESG:-0}" >"$P/payload/bench.conf"

  say "booting the nested host: $RUNS timed runs of each VMM, then one traced run of each (TCG; slow)"
  NESTED_TIMEOUT=${NESTED_TIMEOUT:-3000} "$ROOT/tools/nested/run-host.sh" \
    "$P" bench "$WORK/console.log" || { cat "$WORK/console.log"; say "the nested host failed"; exit 1; }
  tr -d '\r' <"$WORK/console.log" >"$WORK/console.txt"
  if [ "${BENCH_VERBOSE:-0}" = 1 ]; then cat "$WORK/console.txt"; fi
  [ "${NESTED_KEEP:-0}" = 1 ] && say "console log: $WORK/console.txt"

fi
grep -E 'nested-host: up after|nested-outer|^bench-note' "$WORK/console.txt" | sed 's/^/kvm_boot: /'
# med(a, n): the median of a[1..n] (sorted in place), for the awk
# programs below.
MED_AWK='
  function med(a, n,    i, j, t) {
    for (i = 2; i <= n; i++)
      for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
'
awk "$MED_AWK"'
  /^bench-start / { start[$2] = $3; init[$2] = "" }
  /^bench-init /  { if ($2 in start) init[$2] = $3 - start[$2] }
  /^bench-guest / { if ($2 in start) { ga[$2] = $3; gb[$2] = $4 } }
  /^bench-end /   {
    if (!($2 in start) || init[$2] == "") next
    v = $2; e = $3 - start[v]; k = ++n[v]
    if (!(v in seen)) { seen[v] = 1; order[++nv] = v }
    si[v] += init[v]; se[v] += e; sg[v] += ga[v]
    # Before the guest kernel ran: launch -> init less the guest uptime at
    # the init line (the VMM'"'"'s own start-up, as the guest clock allows).
    su = init[v] - gb[v]; ss[v] += su
    ai[v, k] = init[v]; ae[v, k] = e; ag[v, k] = ga[v]; as[v, k] = su
    printf "kvm_boot: %-12s run %d: launch->init %.2f s, launch->exit %.2f s, guest uptime at /init %.2f s (at started %.2f s), VMM start-up %.2f s\n", v, k, init[v], e, ga[v], gb[v], su
    delete start[v]
  }
  END {
    if (n["vmkit"] == 0 || n["qemu"] == 0) { print "kvm_boot: missing measurements (see the console with BENCH_VERBOSE=1)"; exit 1 }
    for (i = 1; i <= nv; i++) {
      v = order[i]
      mi[v] = si[v] / n[v]; me[v] = se[v] / n[v]; mg[v] = sg[v] / n[v]; ms[v] = ss[v] / n[v]
      printf "kvm_boot: mean   %-12s launch->init %.2f s, launch->exit %.2f s, guest uptime at /init %.2f s, VMM start-up %.2f s (%d runs)\n", v, mi[v], me[v], mg[v], ms[v], n[v]
      for (k = 1; k <= n[v]; k++) { x1[k] = ai[v, k]; x2[k] = ae[v, k]; x3[k] = ag[v, k]; x4[k] = as[v, k] }
      di[v] = med(x1, n[v]); de[v] = med(x2, n[v]); dg[v] = med(x3, n[v]); ds[v] = med(x4, n[v])
      printf "kvm_boot: median %-12s launch->init %.2f s, launch->exit %.2f s, guest uptime at /init %.2f s, VMM start-up %.2f s (%d runs)\n", v, di[v], de[v], dg[v], ds[v], n[v]
    }
    # Medians first: one run slowed by the outer TCG host (seen: a guest
    # uptime of 14 s among runs of 5 s) moves a mean, not a median.
    for (i = 1; i <= nv; i++) {
      v = order[i]; if (v == "vmkit") continue
      printf "kvm_boot: ratio vmkit/%s of medians: launch->init %.2f, launch->exit %.2f, guest uptime at /init %.2f\n", v, di["vmkit"] / di[v], de["vmkit"] / de[v], dg["vmkit"] / dg[v]
      printf "kvm_boot: ratio vmkit/%s of means:   launch->init %.2f, launch->exit %.2f, guest uptime at /init %.2f\n", v, mi["vmkit"] / mi[v], me["vmkit"] / me[v], mg["vmkit"] / mg[v]
    }
  }' "$WORK/console.txt"

# Where each run's time went (bench-phase, every timed run): the VMM's own
# part (launch -> first KVM_RUN, and power-off -> the VMM gone) against
# the guest's (first KVM_RUN -> its power-off, of which "before its
# clock" is the part its uptime does not count), medians per VMM; then
# what the launch->exit ratio would be if vmkit's own part took no time
# at all: the floor the guest's boot sets for this bench on this host.
awk "$MED_AWK"'
  /^bench-start / { st[$2] = $3 }
  /^bench-end /   { en[$2] = $3 }
  /^bench-phase / {
    v = $2; if (!(v in st) || !(v in en)) next
    for (i = 3; i < NF; i += 2) t[$i] = $(i + 1)
    k = ++n[v]; if (!(v in seen)) { seen[v] = 1; order[++nv] = v }
    p[v, "launch", k] = t["run"] - st[v]; p[v, "exec", k] = t["exec"] - st[v]
    p[v, "pre", k] = t["gicd"] - t["run"]; p[v, "guest", k] = t["off"] - t["run"]
    p[v, "tail", k] = en[v] - t["off"]; p[v, "exitv", k] = t["exit"] - t["off"]
    p[v, "own", k] = p[v, "launch", k] + p[v, "tail", k]; p[v, "total", k] = en[v] - st[v]
    delete st[v]; delete en[v]
  }
  END {
    if (nv == 0) { print "kvm_boot: no phase times (no kvm tracepoints in the nested host?)"; exit }
    split("exec launch pre guest exitv tail own total", ks, " ")
    for (i = 1; i <= nv; i++) {
      v = order[i]
      for (q = 1; q <= 8; q++) { for (k = 1; k <= n[v]; k++) x[k] = p[v, ks[q], k]; m[v, ks[q]] = med(x, n[v]) }
      printf "kvm_boot: phases %-12s (medians of %d runs): launch->exec %.2f s, launch->first KVM_RUN %.2f s | guest: first KVM_RUN->power-off %.2f s, of it before its clock %.2f s | power-off->its main thread exited %.2f s, ->VMM gone %.2f s | VMM own %.2f s of %.2f s\n", v, n[v], m[v, "exec"], m[v, "launch"], m[v, "guest"], m[v, "pre"], m[v, "exitv"], m[v, "tail"], m[v, "own"], m[v, "total"]
    }
    if (("vmkit", "total") in m && ("qemu", "total") in m && m["qemu", "total"] > 0)
      printf "kvm_boot: phases: launch->exit vmkit/qemu %.2f; with vmkit'"'"'s own part at zero it would be %.2f (vmkit'"'"'s guest part over QEMU'"'"'s whole run), the floor this guest sets here\n", m["vmkit", "total"] / m["qemu", "total"], m["vmkit", "guest"] / m["qemu", "total"]
  }' "$WORK/console.txt"

# Exit counts, vmkit beside QEMU, one line per kind.
awk '
  /^bench-x / {
    v = $2; k = $3; for (i = 4; i < NF; i++) k = k " " $i
    c[k, v] = $NF; keys[k] = 1; if (!(v in seen)) { seen[v] = 1; order[++nv] = v }
  }
  END {
    if (nv == 0) { print "kvm_boot: no exit counts (no traced runs)"; exit }
    hdr = sprintf("kvm_boot: %-34s", "traced run, launch->init")
    for (i = 1; i <= nv; i++) hdr = hdr sprintf(" %12s", order[i])
    print hdr
    m = 0; for (k in keys) list[++m] = k
    for (i = 2; i <= m; i++) { x = list[i]; for (j = i - 1; j >= 1 && list[j] > x; j--) list[j + 1] = list[j]; list[j + 1] = x }
    for (i = 1; i <= m; i++) {
      line = sprintf("kvm_boot: %-34s", list[i])
      for (j = 1; j <= nv; j++) line = line sprintf(" %12s", ((list[i], order[j]) in c) ? c[list[i], order[j]] : "-")
      print line
    }
  }' "$WORK/console.txt"
awk '
  /^bench-mem / {
    printf "kvm_boot: memory overhead %-12s (not guest RAM, at init): %.2f MiB mapped, %.2f MiB RSS (guest RAM RSS %.1f MiB, %.1f MiB of it huge pages)\n", $2, $6 / 1024, $8 / 1024, $4 / 1024, $10 / 1024
    if (NF >= 14) printf "kvm_boot:   %-12s of that RSS: %.2f MiB anonymous (the VMM'"'"'s own), PSS %.2f MiB\n", $2, $14 / 1024, $12 / 1024
  }
  /^bench-ts / { if (++nts[$2] <= 12) { l = sprintf("kvm_boot:   %-12s t=%-8s CPU ticks by thread:", $2, $3); for (i = 4; i <= NF; i++) l = l " " $i; print l } }
  /^bench-thread / { printf "kvm_boot:   %-12s thread %-8s CPU at init: user %6.2f s, system %6.2f s\n", $2, $3, $5 / 100, $7 / 100 }
  /^bench-stage / { l = sprintf("kvm_boot:   %-12s start-up stage at", $2); for (i = 3; i <= NF; i++) l = l " " $i; print l }
  /^bench-x / && $3 == "start-to-kvm_run-us" { printf "kvm_boot:   %-12s process start -> first KVM_RUN: %.2f s\n", $2, $4 / 1e6 }' "$WORK/console.txt"
# Every mapping besides guest RAM, largest RSS first, per VMM: RSS, PSS,
# the part other processes map too (shared), and the anonymous part.
grep '^bench-memmap ' "$WORK/console.txt" | sort -k2,2 -k7,7nr |
  awk '{ printf "kvm_boot:   %-12s %-34s size %8d KiB, RSS %5d, PSS %5d, shared %5d, anonymous %5d KiB\n", $2, substr($3, 1, 34), $5, $7, $11, $13, $9 }'

if [ "${BENCH_DMESG:-0}" = 1 ]; then
  for v in $(sed -n 's/^dmesg-\([a-z-]*\):.*/\1/p' "$WORK/console.txt" | sort -u); do
    sed -n "s/^dmesg-$v://p" "$WORK/console.txt" >"$WORK/dmesg-$v.txt"
    say "guest kernel log under $v: $WORK/dmesg-$v.txt ($(wc -l <"$WORK/dmesg-$v.txt") lines)"
    # Where the guest's boot waits: the largest gaps between printk times,
    # each with the line that ended it.
    awk -v v="$v" '
      match($0, /^\[ *[0-9]+\.[0-9]+\]/) {
        t = substr($0, 2, RLENGTH - 2) + 0
        if (n++) printf "%.6f %.6f %s\n", t - p, t, substr($0, RLENGTH + 2)
        p = t
      }' "$WORK/dmesg-$v.txt" | sort -rn | head -8 |
      while read -r gap at msg; do
        printf 'kvm_boot:   %-12s gap %8.3f s before [%10.3f] %s\n' "$v" "$gap" "$at" "${msg:0:70}"
      done
  done
  # The device tree each guest was given, as source (dtc), to diff.
  for v in $(sed -n 's/^fdt-\([a-z-]*\):.*/\1/p' "$WORK/console.txt" | sort -u); do
    sed -n "s/^fdt-$v://p" "$WORK/console.txt" | xxd -r -p >"$WORK/fdt-$v.dtb"
    # Only the first 256 KiB came (QEMU pads its tree to 1 MiB): pad it
    # back to the size its header gives.
    sz=$((0x$(xxd -s 4 -l 4 -p "$WORK/fdt-$v.dtb")))
    [ "$sz" -le $((4 << 20)) ] && truncate -s "$sz" "$WORK/fdt-$v.dtb"
    dtc -q -I dtb -O dts -o "$WORK/fdt-$v.dts" "$WORK/fdt-$v.dtb" 2>/dev/null &&
      say "device tree under $v: $WORK/fdt-$v.dts"
  done
fi
