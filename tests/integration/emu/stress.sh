# stress.sh — runs INSIDE the guest (sent base64-encoded as vmkit.cmd64 by
# boot.sh): on every vCPU at once, sha256sum of a 64 MiB stream, a gzip
# round trip of 8 MiB and a 20000-step shell loop; checks every output
# and prints stress-ok=1 (or 0) and one line per job.
n=$(nproc)
echo stress-cpus=$n
i=0
while [ $i -lt $n ]; do
  (dd if=/dev/zero bs=1M count=64 2>/dev/null | sha256sum >/tmp/sha.$i
   dd if=/dev/zero bs=1M count=8 2>/dev/null | gzip -1 | gzip -d |
     sha256sum >/tmp/gz.$i
   j=0
   while [ $j -lt 20000 ]; do j=$((j + 1)); done
   echo $j >/tmp/loop.$i) &
  i=$((i + 1))
done
wait
ok=1
i=0
while [ $i -lt $n ]; do
  grep -q 3b6a07d0d404fab4e23b6d34bc6696a6a312dd92821332385e5af7c01c421351 \
    /tmp/sha.$i || ok=0
  grep -q 2daeb1f36095b44b318410b3f4e8b5d989dcc7bb023d1426c492dab0a3053e74 \
    /tmp/gz.$i || ok=0
  [ "$(cat /tmp/loop.$i)" = 20000 ] || ok=0
  echo "stress-job $i: $(cut -c1-16 /tmp/sha.$i) $(cut -c1-16 /tmp/gz.$i) $(cat /tmp/loop.$i)"
  i=$((i + 1))
done
echo stress-ok=$ok
