#!/bin/sh
# share.sh — integration test of shared folders (virtio-fs): boots the
# default guest once on the emu engine with two shares, a read-write one
# (tag rw) and a read-only one (tag ro), and checks from both sides:
#   1. the guest's init mounted both at /mnt/TAG; the guest reads a host
#      file; files the guest creates, writes, renames, truncates, deletes
#      (and a folder, a fifo, a symlink, a hard link) show on the host;
#   2. while the guest runs, files the host creates, renames, truncates and
#      deletes show in the guest (the guest waits for the host's marker);
#   3. escapes from the guest fail: .. at the mount's root, a symlink
#      planted on the host pointing out of the share (to a file and to a
#      folder), a symlink made inside, a hard link to a file outside, a
#      rename out; a folder beside the share is unchanged (checksum);
#   4. the read-only share refuses writes, creation, deletion, renames,
#      chmod and truncation with EROFS ("Read-only file system") and the
#      host folder's checksum (names, modes, contents) is unchanged.
# The raw FUSE-level escape attempts (names with '/', '..', crafted
# nodeids, races) are in tests/unit/fs; this checks the whole path.
# Exit 77 (skip) when the default guest is not built.
#
# Usage: share.sh [VMKIT_BINARY]
# Env: VMKIT_GUEST_DIR (default <repo>/.cache/guest),
#      VMK_EMU_TEST_TIMEOUT seconds for the boot (default 900).
set -u

here=$(cd "$(dirname "$0")" && pwd)
limit_default=900
. "$here/../lib/guest.sh"
vm_pid=
cleanup() {
  [ -n "$vm_pid" ] && kill "$vm_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# A folder's checksum: every path, type, mode and content (links by target).
tree_sum() {
  (cd "$1" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort &&
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum) |
    sha256sum | cut -d' ' -f1
}

rw=$tmp/rw
ro=$tmp/ro
out=$tmp/outside
mkdir -p "$rw" "$ro/sub" "$out"
echo "host-content-$$" >"$rw/host-file"
echo "to be renamed" >"$rw/host-to-rename"
echo "0123456789" >"$rw/host-to-truncate"
echo "to be deleted" >"$rw/host-to-delete"
echo "outside-secret-$$" >"$out/secret"
ln -s "$out/secret" "$rw/out-link"
ln -s "$out" "$rw/out-dir"
ln -s ../outside/secret "$rw/rel-out-link"
echo "read-only-content" >"$ro/file"
echo "nested" >"$ro/sub/nested"
chmod 0640 "$ro/file"
out_sum=$(tree_sum "$out")
ro_sum=$(tree_sum "$ro")

# The guest's side, too long for the kernel command line: the guest runs
# it from the share itself. Each result is a line KEY=VALUE on the console.
cat >"$rw/guest.sh" <<'EOF'
r() { echo "$1=$2"; }
m=/mnt/rw
r mounted-rw "$(grep -c ' /mnt/rw virtiofs ' /proc/mounts)"
r mounted-ro "$(grep -c ' /mnt/ro virtiofs ' /proc/mounts)"
r host-file "$(cat $m/host-file)"
# Changes made by the guest.
echo "guest-content" >$m/guest-file
mkdir $m/guest-dir && echo "in a folder" >$m/guest-dir/x
echo "renamed by the guest" >$m/g-a && mv $m/g-a $m/g-b
head -c 100 /dev/zero >$m/g-trunc && truncate -s 10 $m/g-trunc
echo "short-lived" >$m/g-del && rm $m/g-del
mkfifo $m/g-fifo
ln $m/guest-file $m/g-hard
ln -s guest-file $m/g-sym
r g-sym "$(cat $m/g-sym)"
chmod 0600 $m/guest-file
r g-mode "$(stat -c %a $m/guest-file)"
dd if=/dev/urandom of=$m/g-big bs=4096 count=300 2>/dev/null
r g-big-sum "$(sha256sum $m/g-big | cut -d' ' -f1)"
r g-list "$(ls $m | tr '\n' ' ')"
# Escapes.
r dotdot "$(ls /mnt/rw/.. | tr '\n' ' ')"
r out-link "$(cat $m/out-link 2>&1 | head -c 200)"
r rel-out-link "$(cat $m/rel-out-link 2>&1 | head -c 200)"
r out-dir "$(cat $m/out-dir/secret 2>&1 | head -c 200)"
echo overwrite >$m/out-link 2>/dev/null; r write-out-link $?
echo planted >$m/out-dir/planted 2>/dev/null; r write-out-dir $?
ln -s /etc/passwd $m/evil && r evil "$(head -c 4 $m/evil)"
ln /etc/passwd $m/pw 2>/dev/null; r hardlink-out $?
echo "moved out" >$m/g-out && mv $m/g-out /root/g-out && r rename-out "$(cat /root/g-out)"
# The read-only share.
o=/mnt/ro
r ro-read "$(cat $o/file)"
for op in "echo x >$o/new" "echo x >>$o/file" "rm -f $o/file" "mkdir $o/d" \
  "mv $o/file $o/file2" "chmod 777 $o/file" "truncate -s 0 $o/file" \
  "touch $o/file" "ln -s x $o/l" "rmdir $o/sub" "mkfifo $o/f"; do
  msg=$(sh -c "$op" 2>&1)
  case "$msg" in
  *"Read-only file system"*) r ro-refused "$op" ;;
  *) r ro-ALLOWED "$op: $msg" ;;
  esac
done
# Host changes, once the host has made them.
echo ready >$m/phase1-done
i=0
while [ ! -e $m/host-done ] && [ $i -lt 600 ]; do sleep 1; i=$((i + 1)); done
r host-new "$(cat $m/host-new 2>&1)"
r host-renamed "$(cat $m/host-renamed 2>&1)"
r host-old-name "$(test -e $m/host-to-rename && echo present || echo gone)"
r host-truncated "$(stat -c %s $m/host-to-truncate)"
r host-deleted "$(test -e $m/host-to-delete && echo present || echo gone)"
sync
EOF

start=$(date +%s)
timeout "$limit" "$vmkit" run --engine emu --memory 256M \
  --share "$rw" --share "$ro,tag=ro,ro" --console "$tmp/console" \
  --cmdline 'console=hvc0 vmkit.quiet vmkit.cmd="sh /mnt/rw/guest.sh"' \
  >"$tmp/out" 2>&1 &
vm_pid=$!
# Phase 2 from the host: wait for the guest's marker, then change things.
while [ ! -e "$rw/phase1-done" ] && kill -0 "$vm_pid" 2>/dev/null; do
  sleep 1
done
echo "host-new-content" >"$rw/host-new"
mv "$rw/host-to-rename" "$rw/host-renamed"
truncate -s 3 "$rw/host-to-truncate"
rm "$rw/host-to-delete"
touch "$rw/host-done"
wait "$vm_pid"
status=$?
vm_pid=
echo "share run took $(($(date +%s) - start)) s, exit status $status"

val() { sed -n "s/^$1=//p" "$tmp/console" | tr -d '\r' | head -n1; }
is() { [ "$(val "$1")" = "$2" ]; }
has() { val "$1" | grep -q -- "$2"; }
host_big_sum() {
  [ -n "$(val g-big-sum)" ] &&
    [ "$(sha256sum <"$rw/g-big" | cut -d' ' -f1)" = "$(val g-big-sum)" ]
}
same_inode() {
  [ -e "$rw/g-hard" ] &&
    [ "$(stat -c %i "$rw/g-hard")" = "$(stat -c %i "$rw/guest-file")" ]
}

check "vmkit exited 0" test "$status" -eq 0
check "guest mounted both shares" sh -c '[ "$0" = 1 ] && [ "$1" = 1 ]' \
  "$(val mounted-rw)" "$(val mounted-ro)"
check "guest read the host's file" is host-file "host-content-$$"
check "guest's new file is on the host" \
  test "$(cat "$rw/guest-file" 2>/dev/null)" = guest-content
check "guest's folder and file in it are on the host" \
  test "$(cat "$rw/guest-dir/x" 2>/dev/null)" = "in a folder"
check "guest's rename is on the host" \
  sh -c '[ -f "$0/g-b" ] && [ ! -e "$0/g-a" ]' "$rw"
check "guest's truncate is on the host" test "$(stat -c %s "$rw/g-trunc")" = 10
check "guest's delete is on the host" test ! -e "$rw/g-del"
check "guest's fifo is a fifo on the host" test -p "$rw/g-fifo"
check "guest's hard link is one inode on the host" same_inode
check "guest's symlink works in the guest" is g-sym guest-content
check "guest's chmod is on the host" test "$(stat -c %a "$rw/guest-file")" = 600
check "guest saw its chmod" is g-mode 600
check "guest's 1.2 MB file matches on the host" host_big_sum
check "host's new file shows in the guest" is host-new host-new-content
check "host's rename shows in the guest" is host-renamed "to be renamed"
check "host's rename removed the old name in the guest" is host-old-name gone
check "host's truncate shows in the guest" is host-truncated 3
check "host's delete shows in the guest" is host-deleted gone
check ".. at the share's root is the guest's own /mnt" has dotdot "ro rw"
check "no read of the outside file through a planted symlink" \
  sh -c '[ -n "$0" ] && ! grep -q "outside-secret-$1" "$2"' "$(val out-link)" \
  "$$" "$tmp/console"
check "planted absolute symlink does not resolve in the guest" \
  has out-link "No such file"
check "planted folder symlink does not resolve in the guest" \
  has out-dir "No such file"
check "writing through the planted symlink failed" \
  sh -c '[ -n "$0$1" ] && [ "$0" != 0 ] && [ "$1" != 0 ]' \
  "$(val write-out-link)" "$(val write-out-dir)"
check "a symlink made in the guest points into the guest" is evil "root"
check "the guest's symlink is a plain symlink on the host" \
  test "$(readlink "$rw/evil")" = /etc/passwd
check "a hard link to a file outside the share failed" \
  sh -c '[ -n "$0" ] && [ "$0" != 0 ]' "$(val hardlink-out)"
check "a rename out of the share left the share (copy, then delete)" \
  sh -c '[ "$0" = "moved out" ] && [ ! -e "$1/g-out" ]' "$(val rename-out)" "$rw"
check "the folder beside the share is unchanged" \
  test "$(tree_sum "$out")" = "$out_sum"
check "nothing was created beside the share" \
  test "$(ls -A "$tmp" | tr '\n' ' ')" = "console out outside ro rw "
check "guest read the read-only share" is ro-read read-only-content
check "every write to the read-only share failed with EROFS" \
  sh -c '[ "$(grep -c "^ro-refused=" "$0")" = 11 ] && ! grep -q "^ro-ALLOWED" "$0"' \
  "$tmp/console"
check "the read-only folder's checksum is unchanged" \
  test "$(tree_sum "$ro")" = "$ro_sum"

if [ "$fails" -ne 0 ]; then
  echo "---- guest console ----"
  cat "$tmp/console"
  echo "---- vmkit output ----"
  cat "$tmp/out"
  echo "$fails check(s) failed"
  exit 1
fi
echo "all share checks passed"
