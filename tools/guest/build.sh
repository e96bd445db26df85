#!/bin/bash
# build.sh — builds vmkit's default arm64 guest: OUTDIR/Image (raw arm64
# Linux Image) and OUTDIR/initrd (gzip'd newc cpio with busybox-static, the
# virtio modules and vmkit's /init from tools/guest/init), from Debian
# bookworm's arm64 packages linux-image-arm64 and busybox-static.
#
# Usage: tools/guest/build.sh [OUTDIR]      (default: <repo>/.cache/guest)
#
# A developer/CI tool, run as one process; concurrent runs on the same OUTDIR
# are serialised by flock on OUTDIR/.lock. It never changes the host's apt
# or dpkg configuration: it keeps a private arm64-only apt state under
# OUTDIR/.apt (sources, lists, cache) and passes it to apt with -o options.
#
# Cached: OUTDIR/stamp records the inputs (package versions, sha256 of
# init, cmdline.sh and this script, the module list); when they match, nothing
# is rebuilt. Package lists are refreshed at most once a day (or when
# VMKIT_GUEST_REFRESH=1); when the archive cannot be reached, the last lists
# are used. Prints one line saying what it did; on failure one sentence on
# stderr and exit status 1.
set -euo pipefail

# Modules the guest loads (in addition to their dependencies), by module file
# name. Most of virtio is built into Debian's arm64 kernel (virtio,
# virtio_ring, rng-core) but the MMIO transport and the device drivers are
# modules. ramoops: the kernel writes its panic log into the RAM region the
# device tree reserves, where vmkit reads it (the kernel has no pvpanic).
GUEST_MODULES="virtio_mmio virtio_blk virtio_console virtio-rng virtio_net vmw_vsock_virtio_transport gpio_keys evdev virtiofs ramoops virtio_balloon"
# When /init loads each (with its dependencies): always, for a virtio device
# ID the machine has (virtio:N, read from sysfs once virtio_mmio is in), or
# for a device-tree node (dt:gpio-keys, the power key; dt:ramoops, the
# panic-log region). A driver for a device the machine lacks is not loaded:
# each insmod costs the guest's boot a process and the module's set-up
# (in bench/kvm_boot.sh's nested host about 1 s for all 17 modules).
declare -A MODULE_WHEN=(
	[virtio_mmio]=always [virtio_net]=virtio:1 [virtio_blk]=virtio:2
	[virtio_console]=virtio:3 [virtio-rng]=virtio:4 [virtio_balloon]=virtio:5
	[vmw_vsock_virtio_transport]=virtio:19 [virtiofs]=virtio:26
	[gpio_keys]=dt:gpio-keys [evdev]=dt:gpio-keys [ramoops]=dt:ramoops
)
# busybox applets /init and the tests rely on.
REQUIRED_APPLETS="sh mount mkdir tr insmod setsid cttyhack init poweroff reboot sync devmem base64 cat hostname ip sleep udhcpc wget httpd nc"
SUITE=bookworm
MIRROR=${VMKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${VMKIT_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

die() {
	echo "guest: $*" >&2
	exit 1
}

export PATH="$PATH:/usr/sbin:/sbin"
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/.cache/guest}
mkdir -p "$out" 2>/dev/null || die "cannot create the output folder $out."
out=$(cd "$out" && pwd)
start=$(date +%s)

need() { # need TOOL PACKAGE
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' is missing; install it with: apt-get install $2"
}
need apt-get apt
need apt-cache apt
need dpkg-deb dpkg
need cpio cpio
need gzip gzip
need depmod kmod
need flock util-linux
need sha256sum coreutils
[ -r "$KEYRING" ] ||
	die "$KEYRING is missing; install it with: apt-get install debian-archive-keyring"
case "$(uname -m)" in
aarch64 | arm64) run_arm64=() ;;
*)
	need qemu-aarch64 qemu-user
	run_arm64=(qemu-aarch64)
	;;
esac

exec 9>"$out/.lock"
flock 9

# --- private apt state (arm64 only; the host's dpkg is left alone) ---------
apt_dir=$out/.apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" \
	"$apt_dir/sources.list.d" "$apt_dir/preferences.d"
# An empty dpkg status (nothing "installed" for arm64); created once so
# that apt's binary cache stays valid between runs.
[ -e "$apt_dir/status" ] || : >"$apt_dir/status"
sources="deb [signed-by=$KEYRING] $MIRROR $SUITE main
deb [signed-by=$KEYRING] $MIRROR $SUITE-updates main
deb [signed-by=$KEYRING] $SECURITY_MIRROR $SUITE-security main"
if [ "$(cat "$apt_dir/sources.list" 2>/dev/null)" != "$sources" ]; then
	echo "$sources" >"$apt_dir/sources.list"
	rm -f "$apt_dir/updated" # new sources: fetch their lists now
fi
apt_opts=(
	-o "Dir::Etc::SourceList=$apt_dir/sources.list"
	-o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
	-o "Dir::Etc::Preferences=$apt_dir/preferences"
	-o "Dir::Etc::PreferencesParts=$apt_dir/preferences.d"
	-o "Dir::State=$apt_dir"
	-o "Dir::State::Lists=$apt_dir/lists"
	-o "Dir::State::status=$apt_dir/status"
	-o "Dir::Cache=$apt_dir/cache"
	-o "Dir::Cache::pkgcache=pkgcache.bin"
	-o "Dir::Cache::srcpkgcache=srcpkgcache.bin"
	-o "APT::Architecture=arm64"
	-o "APT::Architectures=arm64"
	-o "Acquire::Languages=none"
	-o "Debug::NoLocking=1"
	-o "APT::Sandbox::User=$(id -un)"
)

note=
lists_fresh=0
if [ -e "$apt_dir/updated" ] && [ "${VMKIT_GUEST_REFRESH:-0}" != 1 ] &&
	[ -n "$(find "$apt_dir/updated" -mmin -1440)" ]; then
	lists_fresh=1
fi
if [ "$lists_fresh" = 0 ]; then
	if apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 &&
		! grep -q '^\(W\|E\): ' "$apt_dir/update.log"; then
		touch "$apt_dir/updated"
	elif ls "$apt_dir/lists/"*_Packages* >/dev/null 2>&1; then
		note=" (archive unreachable: used the last package lists)"
	else
		die "cannot fetch Debian's arm64 package lists from $MIRROR (see $apt_dir/update.log)."
	fi
fi

field() { # field PACKAGE FIELD: FIELD of the candidate version of PACKAGE
	apt-cache "${apt_opts[@]}" show --no-all-versions "$1" 2>/dev/null |
		sed -n "s/^$2: //p" | head -n1
}
meta_deps=$(field linux-image-arm64 Depends)
kpkg=$(printf '%s\n' "$meta_deps" | tr ',|' '\n' | sed -n \
	's/^ *\(linux-image-[0-9][^ ]*-arm64\)\( .*\)\{0,1\}$/\1/p' | head -n1)
[ -n "$kpkg" ] || die "linux-image-arm64 in the $SUITE arm64 lists does not depend on a versioned kernel package."
kver=$(field "$kpkg" Version)
bbver=$(field busybox-static Version)
[ -n "$kver" ] || die "$kpkg is not in the $SUITE arm64 package lists."
[ -n "$bbver" ] || die "busybox-static is not in the $SUITE arm64 package lists."
krel=${kpkg#linux-image-} # kernel release, e.g. 6.1.0-56-arm64

key="vmkit-guest 1
kernel $kpkg $kver
busybox-static $bbver
modules $GUEST_MODULES
init $(sha256sum <"$here/init" | cut -d' ' -f1)
cmdline.sh $(sha256sum <"$here/cmdline.sh" | cut -d' ' -f1)
udhcpc.sh $(sha256sum <"$here/udhcpc.sh" | cut -d' ' -f1)
build.sh $(sha256sum <"$here/build.sh" | cut -d' ' -f1)"

summary="kernel $kpkg $kver, busybox-static $bbver"
if [ -f "$out/Image" ] && [ -f "$out/initrd" ] && [ -f "$out/stamp" ] &&
	[ "$(cat "$out/stamp")" = "$key" ]; then
	echo "guest: up to date: $out/Image, $out/initrd ($summary)$note"
	exit 0
fi
rm -f "$out/stamp"

# --- download (kept in OUTDIR/.debs; verified by apt against the lists) ----
debs=$out/.debs
mkdir -p "$debs"
rm -rf "$debs"/.dl.* # left by an interrupted download (we hold the lock)
deb_for() { # deb_for PACKAGE VERSION: path of the cached .deb, if any
	local f
	for f in "$debs/$1"_*_arm64.deb; do
		[ -f "$f" ] || continue
		if [ "$(dpkg-deb -f "$f" Package 2>/dev/null)" = "$1" ] &&
			[ "$(dpkg-deb -f "$f" Version 2>/dev/null)" = "$2" ]; then
			echo "$f"
			return 0
		fi
	done
	return 1
}
fetch() { # fetch PACKAGE VERSION
	local dl
	deb_for "$1" "$2" >/dev/null && return 0
	dl=$(mktemp -d "$debs/.dl.XXXXXX")
	if ! (cd "$dl" && apt-get "${apt_opts[@]}" -q download "$1=$2") \
		>"$debs/download.log" 2>&1; then
		rm -rf "$dl"
		die "cannot download $1 $2 from the Debian archive (see $debs/download.log)."
	fi
	rm -f "$debs/$1"_*_arm64.deb # older versions of the same package
	mv "$dl"/*.deb "$debs/"
	rmdir "$dl"
}
fetch "$kpkg" "$kver"
fetch busybox-static "$bbver"
kdeb=$(deb_for "$kpkg" "$kver") || die "the downloaded $kpkg is not version $kver."
bbdeb=$(deb_for busybox-static "$bbver") || die "the downloaded busybox-static is not version $bbver."

# --- extract ----------------------------------------------------------------
rm -rf "$out"/.build.* # left by an interrupted run (we hold the lock)
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
x=$tmp/pkg
stage=$tmp/stage
mkdir -p "$x" "$stage"
dpkg-deb -x "$kdeb" "$x"
dpkg-deb -x "$bbdeb" "$x"

# --- Image: the raw arm64 Image, uncompressed --------------------------------
vmlinuz=$x/boot/vmlinuz-$krel
[ -f "$vmlinuz" ] || die "$kpkg has no /boot/vmlinuz-$krel."
magic2=$(od -An -tx1 -N2 "$vmlinuz" | tr -d ' ')
case "$magic2" in
1f8b) gzip -dc "$vmlinuz" >"$tmp/Image" ;; # gzip'd Image
*) cp "$vmlinuz" "$tmp/Image" ;;           # already raw (EFI-stub) Image
esac
[ "$(od -An -tx1 -j56 -N4 "$tmp/Image" | tr -d ' ')" = 41524d64 ] ||
	die "the kernel in $kpkg is not an arm64 Image (no ARM\\x64 magic at offset 56)."

# --- modules: resolve dependencies with depmod, copy only what is needed ----
moddir=
for d in "$x/lib/modules/$krel" "$x/usr/lib/modules/$krel"; do
	[ -d "$d" ] && moddir=$d
done
[ -n "$moddir" ] || die "$kpkg has no modules folder for $krel."
depmod -b "${moddir%/lib/modules/"$krel"}" "$krel" 2>"$tmp/depmod.log" ||
	die "depmod failed on the modules of $kpkg: $(head -n1 "$tmp/depmod.log")"

declare -A deps_of=()
while IFS=: read -r m d; do
	deps_of[$m]=$d
done <"$moddir/modules.dep"
declare -A by_name=()
for m in "${!deps_of[@]}"; do
	n=${m##*/}
	by_name[${n%%.ko*}]=$m
done

order=()
declare -A seen=()
declare -A when_of=() # module file -> the conditions of every module needing it
visit() { # depth-first: a module's dependencies go before it
	local m=$1 when=$2 d
	case " ${when_of[$m]:-} " in *" $when "*) ;; *) when_of[$m]="${when_of[$m]:-} $when" ;; esac
	for d in ${deps_of[$m]}; do
		visit "$d" "$when"
	done
	[ -n "${seen[$m]:-}" ] && return 0
	seen[$m]=1
	order+=("$m")
}
builtin_list=()
for name in $GUEST_MODULES; do
	[ -n "${MODULE_WHEN[$name]:-}" ] || die "GUEST_MODULES has $name but MODULE_WHEN does not say when to load it."
	if [ -n "${by_name[$name]:-}" ]; then
		visit "${by_name[$name]}" "${MODULE_WHEN[$name]}"
	elif grep -q "/$name\.ko" "$moddir/modules.builtin" 2>/dev/null; then
		builtin_list+=("$name")
	else
		die "module $name is neither a module nor built into $krel."
	fi
done

smod=$stage/lib/modules/$krel
mkdir -p "$smod" "$stage/etc/vmkit"
: >"$stage/etc/vmkit/modules"
for m in "${order[@]}"; do
	mkdir -p "$smod/$(dirname "$m")"
	case "$m" in
	*.ko) cp "$moddir/$m" "$smod/$m" ;;
	*.ko.xz)
		need xz xz-utils
		xz -dc "$moddir/$m" >"$smod/${m%.xz}"
		;;
	*.ko.zst)
		need zstd zstd
		zstd -q -dc "$moddir/$m" >"$smod/${m%.zst}"
		;;
	*.ko.gz) gzip -dc "$moddir/$m" >"$smod/${m%.gz}" ;;
	*) die "unknown module file type: $m." ;;
	esac
	# PATH CONDITION...: /init loads it when any condition holds.
	echo "$krel/${m%.ko*}.ko${when_of[$m]}" >>"$stage/etc/vmkit/modules"
done
cp "$moddir/modules.order" "$moddir/modules.builtin" "$smod/" 2>/dev/null || true
# A trimmed modules.dep so that `modprobe NAME` also works in the guest.
depmod -b "$stage" "$krel" 2>"$tmp/depmod.log" ||
	die "depmod failed on the guest's modules: $(head -n1 "$tmp/depmod.log")"
rm -f "$smod"/*.bin "$smod/modules.order"

# --- busybox and its applet links --------------------------------------------
mkdir -p "$stage/bin" "$stage/sbin" "$stage/usr/bin" "$stage/usr/sbin"
cp "$x/bin/busybox" "$stage/bin/busybox"
applets=$("${run_arm64[@]}" "$x/bin/busybox" --list-full) ||
	die "cannot run the arm64 busybox to list its applets."
while read -r a; do
	a=${a#/}
	case "$a" in "" | bin/busybox | linuxrc) continue ;; esac
	mkdir -p "$stage/$(dirname "$a")"
	ln -sf /bin/busybox "$stage/$a"
done <<<"$applets"
for a in $REQUIRED_APPLETS; do
	# A here-string, not a pipe: grep -q stops reading early, and under
	# pipefail the writer's SIGPIPE would fail the check.
	grep -q "/$a\$" <<<"$applets" ||
		die "busybox-static $bbver has no '$a' applet, which /init needs."
done

# --- /init and a minimal /etc --------------------------------------------------
cp "$here/init" "$stage/init"
chmod 0755 "$stage/init"
mkdir -p "$stage/lib/vmkit"
cp "$here/cmdline.sh" "$stage/lib/vmkit/cmdline.sh"
cp "$here/udhcpc.sh" "$stage/lib/vmkit/udhcpc.sh"
chmod 0755 "$stage/lib/vmkit/udhcpc.sh"
mkdir -p "$stage/proc" "$stage/sys" "$stage/dev" "$stage/tmp" "$stage/run" \
	"$stage/root" "$stage/mnt"
chmod 1777 "$stage/tmp"
chmod 0700 "$stage/root"
echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
printf 'root:x:0:\ntty:x:5:\n' >"$stage/etc/group"
echo vmkit >"$stage/etc/hostname"
cat >"$stage/etc/profile" <<'EOF'
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export PS1='vmkit:\w\$ '
# halt powers off, as Debian's sysvinit did by default: an arm64 Linux halt
# spins every CPU forever, which for a VM only burns a host CPU. (A
# function: this busybox runs its applets without a PATH search.)
halt() { poweroff "$@"; }
EOF
cat >"$stage/etc/vmkit/version" <<EOF
kernel_release=$krel
kernel_package=$kpkg $kver
busybox_static=$bbver
EOF

# --- pack ----------------------------------------------------------------------
find "$stage" -exec touch -h -d @0 {} + # reproducible archive
(cd "$stage" && find . -mindepth 1 | sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9n >"$tmp/initrd"

mv -f "$tmp/Image" "$out/Image"
mv -f "$tmp/initrd" "$out/initrd"
{
	while IFS= read -r line; do echo "# $line"; done <<<"$key"
	echo "kernel_release=$krel"
	echo "image_bytes=$(stat -c %s "$out/Image")"
	echo "initrd_bytes=$(stat -c %s "$out/initrd")"
	echo "image_size_field=$(od -An -tu8 -j16 -N8 "$out/Image" | tr -d ' ')"
	echo "requested_builtin=${builtin_list[*]:-}"
	echo "virtio_builtin=$(grep -E 'virtio|vsock|rng' "$moddir/modules.builtin" |
		sed 's|.*/||; s|\.ko.*||' | sort | tr '\n' ' ' | sed 's/ $//')"
	echo "modules_loaded=$(sed 's| .*||; s|.*/||; s|\.ko$||' "$stage/etc/vmkit/modules" | tr '\n' ' ' | sed 's/ $//')"
	echo "init_keys=vmkit.cmd vmkit.cmd64 vmkit.boottimer vmkit.quiet vmkit.shares"
} >"$out/info"
echo "$key" >"$out/stamp"
echo "guest: built $out/Image, $out/initrd ($summary, ${#order[@]} modules) in $(($(date +%s) - start))s$note"
