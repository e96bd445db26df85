# guest.sh — the start every integration test that boots the default guest
# shares; sourced (". lib/guest.sh") after setting here= (the test's folder)
# and, optionally, limit_default= (seconds; 600 if unset). It reads the
# test's own $1 (the vmkit binary meson passes) and sets:
#   repo, vmkit   the checkout and the vmkit binary ($1, else build/)
#   guest         the default guest (VMKIT_GUEST_DIR, else .cache/guest),
#                 exported; exits 77 (skip) when it is not built
#   limit         seconds for a boot: VMK_EMU_TEST_TIMEOUT, else the default
#   tmp           a fresh folder, removed at exit (a test that needs more
#                 cleanup sets its own trap and removes it there)
#   fails, check  check NAME COMMAND...: runs COMMAND, prints "ok: NAME" or
#                 "FAIL: NAME" and counts the failures in $fails
# shellcheck shell=sh
repo=$(cd "$here/../../.." && pwd)
vmkit=${1:-$repo/build/src/cli/vmkit}
guest=${VMKIT_GUEST_DIR:-$repo/.cache/guest}
limit=${VMK_EMU_TEST_TIMEOUT:-${limit_default:-600}}

if [ ! -f "$guest/Image" ] || [ ! -f "$guest/initrd" ]; then
  echo "SKIP: the default guest is not built ($guest); run tools/guest/build.sh"
  exit 77
fi
export VMKIT_GUEST_DIR="$guest"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
check() {
  name=$1
  shift
  if "$@"; then
    echo "ok: $name"
  else
    echo "FAIL: $name"
    fails=$((fails + 1))
  fi
}
