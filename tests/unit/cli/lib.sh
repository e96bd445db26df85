# lib.sh — what the CLI test scripts share (sourced): pass/fail counting,
# polling, and tiny arm64 kernels for real VMs that cost almost nothing.
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
wait_for() { # wait_for SECONDS CMD...
  local n=$1
  shift
  for _ in $(seq "$((n * 10))"); do "$@" && return 0; sleep 0.1; done
  return 1
}
# image FILE [-t TEXT] WORD...: a 4 KiB arm64 Image (branch to +64,
# "ARM\x64" magic), the hex instruction words at +64, then TEXT and a NUL.
image() {
  python3 - "$@" <<'PY'
import struct, sys
args = sys.argv[1:]
path, text = args.pop(0), None
if args and args[0] == "-t":
    text = args[1].encode("utf-8").decode("unicode_escape").encode() + b"\0"
    args = args[2:]
hdr = bytearray(64)
struct.pack_into("<I", hdr, 0, 0x14000010)     # b +64
struct.pack_into("<Q", hdr, 16, 4096)          # image_size
hdr[56:60] = b"ARM\x64"
body = b"".join(struct.pack("<I", int(w, 16)) for w in args) + (text or b"")
open(path, "wb").write(bytes(hdr) + body + bytes(4096 - 64 - len(body)))
PY
}
