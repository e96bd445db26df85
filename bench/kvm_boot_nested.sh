# kvm_boot_nested.sh — the scenario bench/kvm_boot.sh runs inside the nested
# arm64 KVM host (busybox sh, started by the host's /init; one process at a
# time, its only state is files in /tmp). Sourced settings: /payload/bench.conf
# (RUNS, VARIANTS, DMESG).
#
# For each VMM it prints lines the outer side parses:
#   bench-start NAME T / bench-init NAME T / bench-end NAME T
#                         the nested host's uptime at launch, when the console
#                         shows "vmkit-init: started", and when the VMM exited
#   bench-guest NAME A B  the guest's own uptime when /init began and when it
#                         printed "started" (vmkit.uptime)
# and, from one extra traced run of each (tracing stops at the init line, so
# the counts cover launch -> init):
#   bench-x NAME KEY N    exits and events by kind (see count_trace)
#   bench-mem NAME ...    what the VMM maps besides guest RAM (smaps)
#   bench-thread NAME TID utime U stime S   each VMM thread's CPU ticks
#   bench-ts NAME T TID:TICKS...   the same every 3 s of the traced run
up() { read -r u _ </proc/uptime && echo "$u"; }
. /payload/bench.conf
G=/payload/guest
QEMU="/qemu/lib/ld-linux-aarch64.so.1 --library-path /qemu/lib /qemu/bin/qemu-system-aarch64"
# A fresh blank disk for both, in the host's tmpfs.
dd if=/dev/zero of=/tmp/disk.img bs=1M count=0 seek=64 2>/dev/null
# Console input: a FIFO nobody writes (vmkit polls its console input, and
# /dev/null cannot be polled); both VMMs get it.
mkfifo /tmp/console-in && exec 3<>/tmp/console-in

# vmm NAME CMDLINE: exec one VMM with the console on stdout. Every QEMU
# variant boots the same devices as vmkit in the same virtio-mmio slots
# (blk 0, console 1, rng 2, balloon 3: QEMU gives the last -device the
# lowest slot; vmkit has a balloon with free page reporting by default).
# vmkit always has a virtio-console (hvc0) beside the PL011, so QEMU gets
# one too (max_ports=1: one port, no multiport control queues, as vmkit's).
vmm() {
  case $1 in
  vmkit | vmkit-base)
    # vmkit-base: another vmkit binary (VMKIT_BASE), e.g. before a change.
    # TRACE_START=1 (the traced runs) prints each start-up stage.
    [ "${TRACE_START:-0}" = 1 ] && export VMKIT_TRACE_START=1
    exec /payload/$1 run --engine kvm --cpus 2 --memory 256M \
      --kernel $G/Image --initrd $G/initrd --disk /tmp/disk.img \
      --net none --console stdio --cmdline "$2" ;;
  qemu | qemu-cpuhost)
    # qemu: the guest sees the CPU features vmkit gives it (vmkit enables
    # no SVE, pointer authentication, PMU or paravirtual stolen time for
    # its vCPUs); qemu-cpuhost: plain -cpu host, which turns them on.
    cpu=host,sve=off,pauth=off,pmu=off,kvm-steal-time=off
    [ "$1" = qemu ] || cpu=host
    exec $QEMU -nodefaults -no-user-config -machine virt,gic-version=3 \
      -accel kvm -cpu $cpu -smp 2 -m 256M -display none -serial stdio \
      -no-reboot -kernel $G/Image -initrd $G/initrd -append "$2" \
      -device virtio-balloon-device,free-page-reporting=on,deflate-on-oom=on \
      -device virtio-rng-device \
      -chardev null,id=hvc -device virtio-serial-device,max_ports=1 \
      -device virtconsole,chardev=hvc \
      -drive file=/tmp/disk.img,format=raw,if=none,id=d0 \
      -device virtio-blk-device,drive=d0 ;;
  qemu-old)
    # The command line this bench used before (no -nodefaults, -nographic:
    # a monitor multiplexed on stdio; no disk, no rng; stdin /dev/null).
    exec $QEMU -M virt,gic-version=3 -accel kvm -cpu host \
      -smp 2 -m 256M -nographic -nic none -no-reboot -kernel $G/Image \
      -initrd $G/initrd -append "$2" </dev/null ;;
  esac
}

# stamp NAME [HOOK]: copy the console to stdout, turning the init lines
# into bench lines; HOOK runs once at "vmkit-init: started".
stamp() {
  while IFS= read -r line; do
    case $line in
    *"vmkit-init: started"*)
      echo "bench-init $1 $(up)"
      [ -z "${2:-}" ] || $2 "$1" ;;
    "vmkit-start: "*)
      # VMKIT_TRACE_START=1 (traced runs): a start-up stage of vmkit.
      echo "bench-stage $1 ${line#vmkit-start: }" ;;
    *"vmkit-init: uptime "*)
      set -- "$1" "${2:-}" ${line#*vmkit-init: uptime }
      echo "bench-guest $1 $3 $7" ;;
    esac
    printf '%s\n' "$line"
  done
}

CMD="console=ttyAMA0 quiet panic=-1 vmkit.uptime vmkit.quiet vmkit.cmd=true"

# Phases of every timed run, from kvm tracepoints in two trace instances
# of their own (CLOCK_BOOTTIME, the clock of /proc/uptime and so of the
# bench-start/-end stamps), so the split between the VMM's own time and
# the guest's is measured the same way for both VMMs:
#   exec   the VMM's exec (sched_process_exec)
#   run    its first KVM_RUN (the first kvm_entry)
#   gicd   the guest's first GIC distributor access: its kernel sets up the
#          GIC just before its timer, so run -> gicd is the part of the
#          guest's boot that its own clock (uptime) does not count
#   off    the guest's power-off reaching the VMM (KVM_EXIT_SYSTEM_EVENT)
#   exit   the VMM's main thread exiting (sched_process_exit)
# "first" keeps only the first events (no overwrite: a full buffer drops
# later ones, so the thousands of kvm_entry events cost next to nothing);
# "late" has filtered events only. Nothing else traces during timed runs.
T=/sys/kernel/tracing
mount -t tracefs nodev $T 2>/dev/null
mount -t debugfs nodev /sys/kernel/debug 2>/dev/null
[ -e $T/trace ] || T=/sys/kernel/debug/tracing
PH=0
if [ -e $T/events/kvm/kvm_entry ] && mkdir -p $T/instances/first $T/instances/late 2>/dev/null; then
  PH=1
  for inst in first late; do
    echo boot >$T/instances/$inst/trace_clock
    echo 0 >$T/instances/$inst/options/overwrite
    echo 16 >$T/instances/$inst/buffer_size_kb
  done
  echo 'gpa >= 0x8000000 && gpa < 0x8010000' >$T/instances/late/events/kvm/kvm_mmio/filter
  echo 'reason == 24' >$T/instances/late/events/kvm/kvm_userspace_exit/filter
fi
phases_on() {
  [ $PH = 1 ] || return 0
  for inst in first late; do echo 0 >$T/instances/$inst/tracing_on; echo >$T/instances/$inst/trace; done
  for e in sched/sched_process_exec kvm/kvm_entry; do echo 1 >$T/instances/first/events/$e/enable; done
  for e in sched/sched_process_exit kvm/kvm_mmio kvm/kvm_userspace_exit; do echo 1 >$T/instances/late/events/$e/enable; done
  for inst in first late; do echo 1 >$T/instances/$inst/tracing_on; done
}
phases_off() { # phases_off NAME: print bench-phase NAME exec T run T ...
  [ $PH = 1 ] || return 0
  for inst in first late; do echo 0 >$T/instances/$inst/tracing_on; echo 0 >$T/instances/$inst/events/enable; done
  cat $T/instances/first/trace $T/instances/late/trace | awk -v who="$1" '
    function ts(l) { match(l, / [0-9]+\.[0-9]+: /); return substr(l, RSTART + 1, RLENGTH - 3) }
    / sched_process_exec: / && /filename=[^ ]*(vmkit|ld-linux)/ && ex == "" { ex = ts($0); match($0, /pid=[0-9]+/); pid = substr($0, RSTART, RLENGTH) " " }
    / kvm_entry: / && run == "" { run = ts($0) }
    / kvm_mmio: / && gicd == "" { gicd = ts($0) }
    / kvm_userspace_exit: / && off == "" { off = ts($0) }
    / sched_process_exit: / && pid != "" && index($0, pid) { pexit = ts($0) }
    END { if (ex != "" && run != "" && gicd != "" && off != "" && pexit != "") printf "bench-phase %s exec %s run %s gicd %s off %s exit %s\n", who, ex, run, gicd, off, pexit }'
}

timed() {
  phases_on
  echo "bench-start $1 $(up)"
  (vmm "$1" "$CMD") <&3 2>&1 | stamp "$1"
  echo "bench-end $1 $(up)"
  phases_off "$1"
}

i=1
while [ "$i" -le "$RUNS" ]; do
  for v in vmkit qemu $VARIANTS; do timed "$v"; done
  i=$((i + 1))
done

# ---- one traced run of each --------------------------------------------
if [ ! -e $T/events/kvm/kvm_exit/enable ]; then
  echo "bench-note: this host kernel has no kvm tracepoints; no exit counts"
  exit 0
fi

# The kernel counts for us (hist triggers: no ring buffer, nothing lost,
# a few KiB to read back): EVENT|TRIGGER, one per line.
HISTS='kvm/kvm_exit|hist:keys=ret,esr_ec:size=256
kvm/kvm_mmio|hist:keys=type,gpa:size=8192
kvm/kvm_mmio|hist:keys=gpa,val:size=1024 if type == 1 && gpa >= 0xa000000 && gpa < 0xa004000
kvm/kvm_userspace_exit|hist:keys=reason,errno:size=64
kvm/kvm_irq_line|hist:keys=irq_num,level:size=256
kvm/kvm_set_irq|hist:keys=gsi,level:size=256
kvm/kvm_wfx_arm64|hist:keys=is_wfe:size=8
kvm/kvm_hvc_arm64|hist:keys=imm:size=8
kvm/kvm_handle_sys_reg|hist:keys=hsr:size=2048'

hists() { # hists on|off
  printf '%s\n' "$HISTS" | while IFS='|' read -r ev trig; do
    [ -e $T/events/$ev/trigger ] || continue
    if [ "$1" = on ]; then echo "$trig" >>$T/events/$ev/trigger
    else echo "!$trig" >>$T/events/$ev/trigger; fi
  done 2>/dev/null
}

# snap NAME: at the init line, keep what the counters say so far, stop the
# ring buffer, and report what the VMM maps besides guest RAM (the one
# mapping of exactly the guest's 256 MiB), as Firecracker counts its
# overhead: size and RSS of every other mapping.
snap() {
  echo 0 >$T/tracing_on
  : >/tmp/snapped
  for ev in kvm_exit kvm_mmio kvm_userspace_exit kvm_irq_line kvm_set_irq \
    kvm_wfx_arm64 kvm_hvc_arm64 kvm_handle_sys_reg; do
    [ -e $T/events/kvm/$ev/hist ] && cat $T/events/kvm/$ev/hist >/tmp/hist.$ev
  done
  pid=$(cat /tmp/vmm.pid)
  awk -v who="$1" '
    /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anon]" }
    /^Size:/ { sz = $2 }
    /^AnonHugePages:/ { if (sz == 262144) thp += $2 }
    /^Rss:/ {
      if (sz == 262144) { ram += $2; next }
      osz += sz; orss += $2; by[name] += $2; bysz[name] += sz
    }
    # Pss (shared file pages split among the processes mapping them) and
    # anonymous memory (heap, stacks and data of the VMM itself), for context.
    # Shared_* is what another process maps too. Private_* of a library
    # is not the VMM'"'"'s own: files in this host'"'"'s initramfs (ramfs) are
    # always dirty, so a library only this process maps is Private_Dirty.
    /^Pss:/ { if (sz != 262144) { opss += $2; ps[name] += $2 } }
    /^Shared_(Clean|Dirty):/ { if (sz != 262144) sh[name] += $2 }
    /^Anonymous:/ { if (sz != 262144) { oanon += $2; an[name] += $2 } }
    END {
      printf "bench-mem %s guest-ram-rss-kb %d other-size-kb %d other-rss-kb %d guest-ram-thp-kb %d other-pss-kb %d other-anon-kb %d\n", who, ram, osz, orss, thp, opss, oanon
      for (k in by) if (by[k] > 0) printf "bench-memmap %s %s size-kb %d rss-kb %d anon-kb %d pss-kb %d shared-kb %d\n", who, k, bysz[k], by[k], an[k], ps[k], sh[k]
    }' /proc/$pid/smaps
  # CPU time of each of the VMM's threads so far (clock ticks): a thread
  # besides the vCPUs that keeps busy takes a nested CPU from the guest.
  for t in /proc/$pid/task/*; do
    awk -v who="$1" -v tid="${t##*/}" '{ sub(/^.*\) /, ""); print "bench-thread " who " " tid " utime " $12 " stime " $13 }' $t/stat
  done 2>/dev/null
}

# count NAME: the snapped counters, by kind (bench-x NAME KIND N). MMIO is
# named by device and, for virtio-mmio, by register (each slot's device
# from its DeviceID register as the guest read it).
count() {
  awk -v who="$1" '
    function dev(a,   s, off, r) {
      if (a >= 134217728 && a < 134283264) return "gic-dist"
      if (a >= 134873088 && a < 150994944) return "gic-redist"
      if (a >= 150994944 && a < 150999040) return "pl011"
      if (a >= 151060480 && a < 151064576) return "pl031"
      if (a >= 151126016 && a < 151130112) return "fw_cfg"
      if (a >= 151191552 && a < 151195648) return "pl061"
      if (a >= 151781376 && a < 151785472) return "pvpanic"
      if (a >= 151977984 && a < 151982080) return "boot-timer"
      if (a >= 167772160 && a < 167788544) {
        s = int((a - 167772160) / 512); off = (a - 167772160) % 512
        r = off == 80 ? "notify" : off == 96 ? "int-status" : off == 100 ? "int-ack" : off >= 256 ? "config" : "setup"
        slot[s] = 1
        return "virtio" s "." r
      }
      return "other"
    }
    # bits(v, shift, n): the field of v at shift with n values (no ^ or
    # bit functions: busybox awk may be built without them)
    function bits(v, sh, m,   p) { p = 1; while (sh-- > 0) p *= 2; return int(v / p) % m }
    # kv(line, key): the value of "key: N" inside the { ... } of a hist line
    function kv(l, k,   i, r) {
      i = index(l, k ": "); if (i == 0) return ""
      r = substr(l, i + length(k) + 2); sub(/^ +/, "", r); sub(/[ ,}].*/, "", r); return r
    }
    /^\{/ {
      h = $0; sub(/.*hitcount: */, "", h); h += 0
      f = FILENAME; sub(/.*hist\./, "", f)
      if (f == "kvm_exit") {
        ec = kv($0, "esr_ec") + 0; rt = kv($0, "ret") + 0
        # ret: ARM_EXCEPTION_IRQ 0, _EL1_SERROR 1, _TRAP 2, _IL 3
        k = rt == 0 ? "IRQ" : rt != 2 ? "ret" rt : (ec in ecn) ? ecn[ec] : "EC" ec
        n["exit " k] += h; n["exits"] += h
      } else if (f == "kvm_mmio") {
        a = kv($0, "gpa") + 0
        if (index($0, "val:")) { if ((a - 167772160) % 512 == 8) id[int((a - 167772160) / 512)] = kv($0, "val") + 0; next }
        t = kv($0, "type") + 0
        if (t == 1) next  # completions of reads, already counted
        d = dev(a); n["mmio " d] += h; n["mmio"] += h
      } else if (f == "kvm_userspace_exit") {
        r = kv($0, "reason") + 0; e = kv($0, "errno") + 0
        k = e < 0 ? (e == -4 ? "signal" : "error" e) : r == 6 ? "mmio" : r == 24 ? "system-event" : "reason" r
        n["to-vmm " k] += h; n["to-vmm"] += h
      } else if (f == "kvm_irq_line") {
        n["irq-line " (kv($0, "level") + 0 ? "raise" : "lower")] += h; n["irq-line ioctls"] += h
      } else if (f == "kvm_set_irq") {
        if (kv($0, "level") + 0) n["irqfd injections"] += h
      } else if (f == "kvm_wfx_arm64") {
        n[kv($0, "is_wfe") + 0 ? "wfe" : "wfi"] += h
      } else if (f == "kvm_hvc_arm64") {
        n["hvc"] += h
      } else if (f == "kvm_handle_sys_reg") {
        # The ESR of a trapped MSR/MRS (EC 0x18): Op0 [21:20], Op2 [19:17],
        # Op1 [16:14], CRn [13:10], Rt [9:5] (merged away), CRm [4:1],
        # direction [0] (1: read).
        e = kv($0, "hsr") + 0
        r = bits(e, 20, 4) "," bits(e, 14, 8) ",c" bits(e, 10, 16) ",c" bits(e, 1, 16) "," bits(e, 17, 8)
        nm = (r in sre) ? sre[r] : (r ~ /^3,0,c0,/) ? "ID-reg(" r ")" : r
        n["sysreg " nm (e % 2 ? " r" : " w")] += h; n["sysreg"] += h
      }
    }
    BEGIN {
      ecn[1] = "WFx"; ecn[22] = "HVC64"; ecn[23] = "SMC64"; ecn[24] = "SYS64"
      ecn[32] = "IABT_LOW"; ecn[36] = "DABT_LOW"; ecn[7] = "FP_ASIMD"; ecn[25] = "SVE"
      ecn[48] = "BREAKPT_LOW"; ecn[50] = "SOFTSTP_LOW"; ecn[60] = "BRK64"
      name[1] = "net"; name[2] = "blk"; name[3] = "console"; name[4] = "rng"
      name[19] = "vsock"; name[26] = "fs"; name[0] = "empty"
      # The registers that trap most often at boot (Op0,Op1,CRn,CRm,Op2).
      sre["3,0,c9,c14,1"] = "PMINTENSET_EL1"; sre["3,0,c9,c14,2"] = "PMINTENCLR_EL1"
      sre["3,3,c9,c12,0"] = "PMCR_EL0"; sre["3,3,c9,c12,1"] = "PMCNTENSET_EL0"
      sre["3,3,c9,c12,2"] = "PMCNTENCLR_EL0"; sre["3,3,c9,c12,3"] = "PMOVSCLR_EL0"
      sre["3,3,c9,c12,5"] = "PMSELR_EL0"; sre["3,3,c9,c12,6"] = "PMCEID0_EL0"
      sre["3,3,c9,c12,7"] = "PMCEID1_EL0"; sre["3,3,c9,c14,0"] = "PMUSERENR_EL0"
      sre["3,3,c14,c15,7"] = "PMCCFILTR_EL0"; sre["3,3,c9,c14,3"] = "PMOVSSET_EL0"
      sre["3,0,c12,c12,5"] = "ICC_SRE_EL1"; sre["3,0,c12,c11,5"] = "ICC_SGI1R_EL1"
      sre["3,0,c12,c11,6"] = "ICC_ASGI1R_EL1"; sre["3,0,c12,c11,7"] = "ICC_SGI0R_EL1"
      sre["3,3,c14,c2,0"] = "CNTP_TVAL_EL0"; sre["3,3,c14,c2,1"] = "CNTP_CTL_EL0"
      sre["3,3,c14,c2,2"] = "CNTP_CVAL_EL0"; sre["3,3,c14,c0,1"] = "CNTPCT_EL0"
      sre["3,0,c2,c0,1"] = "TTBR1_EL1"; sre["3,0,c2,c0,2"] = "TCR_EL1"
      sre["3,0,c10,c3,0"] = "AMAIR_EL1"; sre["3,0,c13,c0,1"] = "CONTEXTIDR_EL1"
      sre["3,0,c5,c2,0"] = "ESR_EL1"; sre["3,0,c6,c0,0"] = "FAR_EL1"
      sre["3,0,c5,c1,0"] = "AFSR0_EL1"; sre["3,0,c5,c1,1"] = "AFSR1_EL1"
      sre["3,0,c1,c0,1"] = "ACTLR_EL1"; sre["3,0,c10,c4,7"] = "LORID_EL1"
      sre["1,0,c7,c6,2"] = "DC_ISW"; sre["1,0,c7,c10,2"] = "DC_CSW"; sre["1,0,c7,c14,2"] = "DC_CISW"
      sre["2,0,c0,c0,4"] = "DBGBVR0_EL1"; sre["2,0,c0,c0,5"] = "DBGBCR0_EL1"
      sre["2,0,c0,c0,6"] = "DBGWVR0_EL1"; sre["2,0,c0,c0,7"] = "DBGWCR0_EL1"
      sre["2,0,c1,c1,4"] = "OSLSR_EL1"; sre["2,3,c0,c1,0"] = "MDCCSR_EL0"
      sre["3,0,c9,c9,0"] = "PMSCR_EL1"; sre["3,0,c9,c10,7"] = "PMBIDR_EL1"
      sre["3,0,c9,c14,6"] = "PMMIR_EL1"; sre["3,3,c9,c13,0"] = "PMCCNTR_EL0"
      sre["3,0,c1,c0,0"] = "SCTLR_EL1"; sre["2,0,c0,c2,2"] = "MDSCR_EL1"
      sre["2,0,c1,c0,4"] = "OSLAR_EL1"; sre["2,0,c1,c3,4"] = "OSDLR_EL1"
      sre["3,0,c5,c3,0"] = "ERRIDR_EL1"; sre["3,3,c14,c0,2"] = "CNTVCT_EL0"
      sre["3,0,c10,c2,0"] = "MAIR_EL1"; sre["3,0,c2,c0,0"] = "TTBR0_EL1"
    }
    END {
      for (k in n) {
        o = k
        if (match(k, /virtio[0-9]+\./)) {
          s = substr(k, RSTART + 6, RLENGTH - 7) + 0
          nm = (s in id) ? ((id[s] in name) ? name[id[s]] : "id" id[s]) : "slot" s
          o = substr(k, 1, RSTART - 1) "virtio-" nm "." substr(k, RSTART + RLENGTH)
        }
        c[o] += n[k]
      }
      for (o in c) printf "bench-x %s %s %d\n", who, o, c[o]
    }' /tmp/hist.* 2>/dev/null
  # The ring buffer held only the VMM's exec and the first vCPU entries
  # (no overwrite: once full, later events are dropped).
  awk -v who="$1" '
    / sched_process_exec: / && /filename=[^ ]*(vmkit|ld-linux)/ && t0 == "" { t0 = $0 }
    / kvm_entry: / && t1 == "" { t1 = $0 }
    function ts(l) { match(l, / [0-9]+\.[0-9]+: /); return substr(l, RSTART + 1, RLENGTH - 3) }
    END { if (t0 != "" && t1 != "") printf "bench-x %s start-to-kvm_run-us %d\n", who, (ts(t1) - ts(t0)) * 1000000 }' $T/trace
}

traced() {
  echo 0 >$T/tracing_on
  echo 0 >$T/events/enable
  echo 0 >$T/options/overwrite
  echo 64 >$T/buffer_size_kb
  echo >$T/trace
  rm -f /tmp/con /tmp/vmm.pid /tmp/hist.* /tmp/snapped
  mkfifo /tmp/con
  for e in kvm/kvm_entry sched/sched_process_exec; do
    echo 1 >$T/events/$e/enable
  done
  hists on
  pcmd="console=ttyAMA0 quiet panic=-1 vmkit.uptime vmkit.quiet vmkit.cmd=\"sleep 1\""
  # DMESG: the guest's kernel log with printk times, and the device tree it
  # was given (/sys/firmware/fdt, the same route under both VMMs) in hex,
  # written to the disk (a byte at a time on the nested console would
  # take minutes) and printed from the image here once the VMM is gone.
  if [ "$DMESG" = 1 ]; then
    pcmd="console=ttyAMA0 quiet printk.time=1 panic=-1 vmkit.uptime vmkit.quiet vmkit.cmd=\"sleep 1; dmesg >/dev/vda; head -c 262144 /sys/firmware/fdt | od -An -tx1 -v | dd of=/dev/vda bs=1M seek=1 conv=fsync; sync\""
    rm -f /tmp/disk.img
    dd if=/dev/zero of=/tmp/disk.img bs=1M count=0 seek=64 2>/dev/null
  fi
  stamp "$1" snap </tmp/con &
  sp=$!
  echo 1 >$T/tracing_on
  TRACE_START=1 vmm "$1" "$pcmd" <&3 >/tmp/con 2>&1 &
  vp=$!
  echo $vp >/tmp/vmm.pid
  # Every 3 s until init: each thread's CPU ticks so far (user+system),
  # to see when a thread besides the vCPUs was busy.
  (while [ -d /proc/$vp ] && [ ! -e /tmp/snapped ]; do
    l="bench-ts $1 $(up)"
    for t in /proc/$vp/task/*; do
      l="$l $(awk -v tid="${t##*/}" '{ sub(/^.*\) /, ""); print tid ":" $12 + $13 }' $t/stat 2>/dev/null)"
    done
    echo "$l"
    sleep 3
  done) &
  tp=$!
  wait $vp
  wait $sp
  kill $tp 2>/dev/null; wait $tp 2>/dev/null
  echo 0 >$T/tracing_on
  hists off
  echo 0 >$T/events/enable
  count "$1"
  if [ "$DMESG" = 1 ]; then
    dd if=/tmp/disk.img bs=1M count=1 2>/dev/null | tr -d '\000' | sed "s/^/dmesg-$1:/"
    dd if=/tmp/disk.img bs=1M skip=1 count=1 2>/dev/null | tr -d '\000' | sed "s/^/fdt-$1:/"
  fi
}
# qemu-cpuhost is only timed (its exits are qemu's plus the PMU traps).
for v in vmkit qemu $VARIANTS; do
  [ "$v" = qemu-cpuhost ] || traced "$v"
done
