# busybox_workloads.sh — sourced (POSIX sh) by tests/emu/busybox.sh and
# bench/emu_user.sh: the busybox workloads that exercise integer, string,
# compression, hashing and floating-point code, each run as one busybox
# process ("$@" is the command prefix that runs busybox: a runner plus the
# busybox path, or just the native busybox).
#
#   bb_prepare DIR SCALE   writes the deterministic inputs into DIR
#   bb_workloads           prints the workload names
#   bb_run NAME DIR SCALE PREFIX...   runs one workload; stdout = its output
#
# SCALE multiplies input sizes and loop counts (1: a few hundred KiB, for
# the test; the bench uses more).

bb_prepare() {
  _d=$1 _s=$2
  mkdir -p "$_d"
  # python3 is only the deterministic input generator, not a workload
  python3 - "$_d" "$_s" <<'PY'
import random, sys
d, s = sys.argv[1], int(sys.argv[2])
r = random.Random(20241125)
with open(d + "/data.bin", "wb") as f:
    f.write(r.randbytes(256 * 1024 * s))
words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta",
         "theta", "iota", "kappa", "lambda", "mu", "nu", "xi", "omicron"]
with open(d + "/text.txt", "w") as f:
    for i in range(6000 * s):
        f.write("%d %s %s %.4f %d\n" % (r.randrange(1 << 31), r.choice(words),
                r.choice(words) + str(r.randrange(1000)),
                r.uniform(-1e6, 1e6), i))
PY
  gzip -c -6 -n "$_d/text.txt" > "$_d/text.txt.gz"
}

bb_workloads() {
  echo sha256sum md5sum sha1sum sha512sum gzip gunzip bzip2 sort sort-n \
    uniq awk-float awk-fields sed grep wc tr sh-loop bc dc factor od
}

bb_run() {
  _n=$1 _d=$2 _s=$3
  shift 3
  case $_n in
  sha256sum) "$@" sha256sum "$_d/data.bin" "$_d/text.txt" ;;
  md5sum) "$@" md5sum "$_d/data.bin" "$_d/text.txt" ;;
  sha1sum) "$@" sha1sum "$_d/data.bin" ;;
  sha512sum) "$@" sha512sum "$_d/data.bin" ;;
  gzip) "$@" gzip -c -6 "$_d/text.txt" ;;
  gunzip)
    # round trip of the reference-made archive: must give text.txt back
    "$@" gunzip -c "$_d/text.txt.gz" ;;
  bzip2) "$@" bzip2 -c "$_d/text.txt" ;;
  sort) "$@" sort -k2,2 -k1,1n "$_d/text.txt" ;;
  sort-n) "$@" sort -n -r "$_d/text.txt" ;;
  uniq) "$@" cut -d' ' -f2 "$_d/text.txt" | "$@" sort | "$@" uniq -c ;;
  awk-float)
    # this busybox has no libm in awk: Newton square roots instead of sqrt()
    "$@" awk -v n=$((3000 * _s)) 'BEGIN {
      for (i = 1; i <= n; i++) { r = i; for (k = 0; k < 6; k++) r = (r + i / r) / 2;
        s += r * 1.5; t += (i % 2 ? 1 : -1) / i; p = p * 0.999 + 1 / (i + 0.5);
        m = (m * 31 + i) % 1000003 }
      printf "%.10f %.12e %g %d %.3f\n", s, t, p, m, s / 3.0;
      printf "%5.2f|%-8.3e|%x|%o|%c|%.0f|%.1f\n", -1234.5678, 6.02e23, 255, 8, 65, 2.5, 0.05 }' ;;
  awk-fields)
    "$@" awk '{ c[$2]++; s[$2] += $4; n += $1 % 97 }
      END { for (k in c) printf "%s %d %.4f\n", k, c[k], s[k] / c[k];
            print n }' "$_d/text.txt" ;;
  sed)
    "$@" sed -e 's/\([0-9][0-9]*\)\.\([0-9]*\)/<\2.\1>/' -e 'y/abcdef/ABCDEF/' \
      -e '/zeta/d' -e 's/[aeiou]\{1,\}/_/g' "$_d/text.txt" ;;
  grep) "$@" grep -c -E 'a[lm]+.*[0-9]{3} ' "$_d/text.txt" ;;
  wc) "$@" wc "$_d/text.txt" "$_d/data.bin" ;;
  tr) "$@" tr 'a-z0-9' 'n-za-m5-90-4' < "$_d/text.txt" ;;
  sh-loop)
    "$@" sh -c 'i=0; s=7; n=$1
      while [ $i -lt $n ]; do
        s=$(( (s * 31 + i) % 1000003 )); case $s in *7) t=$((t+1));; esac
        i=$((i + 1)); done; echo $s $t' sh $((2000 * _s)) ;;
  bc) echo "scale=$((150 * _s)); 4*a(1); e(1); sqrt(2); l(10)" | "$@" bc -l ;;
  dc) "$@" dc -e "2 $((1000 * _s)) ^ p 3 200 ^ 7 % p" ;;
  factor)
    # trial division; from scale 2 on, also a prime near 2^58 (slow)
    _big=; [ "$_s" -ge 2 ] && _big=288230376151711717
    "$@" factor 600851475143 9999999967 18446744073709551615 \
      $((1000000007 * 3)) 4294967291 $_big ;;
  od) "$@" od -A d -t x2 -t d4 -v "$_d/text.txt" ;;
  *) echo "unknown workload $_n" >&2; return 2 ;;
  esac
}
