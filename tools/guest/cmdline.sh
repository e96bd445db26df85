# cmdline.sh — parses vmkit's keys out of a kernel command line; sourced by
# the guest's /init (as /lib/vmkit/cmdline.sh) and by the host-side unit test
# tests/unit/guest/cmdline_test.sh. POSIX sh only (busybox ash, dash).
# Single-threaded shell code; it only sets the caller's variables below.
#
# vmkit_parse_cmdline CMDLINE sets:
#   vmkit_have_cmd   1 if vmkit.cmd or vmkit.cmd64 was given, else 0
#   vmkit_cmd        the command (vmkit.cmd64 wins over vmkit.cmd)
#   vmkit_cmd64_bad  1 if vmkit.cmd64 was given but is not valid base64
#   vmkit_boottimer  1 if the bare word vmkit.boottimer is present
#   vmkit_quiet      1 if the bare word vmkit.quiet is present
#   vmkit_uptime     1 if the bare word vmkit.uptime is present
#   vmkit_shares     the virtio-fs tags to mount, space-separated, from
#                    vmkit.shares=TAG,TAG (vmkit appends it last when
#                    --share is given; the last occurrence counts)
#   vmkit_ports      console port names, space-separated, from
#                    vmkit.ports=NAME,NAME (vmkit appends it when --port is
#                    given; the last occurrence counts)
#
# Forms of vmkit.cmd (the kernel has no escape for a quote inside a value,
# so a quoted value ends at the next double quote):
#   vmkit.cmd=WORD               up to the next space
#   vmkit.cmd="WORDS WITH SPACES"
#   "vmkit.cmd=WORDS WITH SPACES"
# vmkit.cmd64=BASE64 carries any command (quotes, newlines) base64-encoded.
# The first occurrence of each key counts.

# The vmkit_* variables are read by the caller, not here:
# shellcheck disable=SC2034
vmkit_parse_cmdline() {
	_vp=" $1 "
	vmkit_have_cmd=0
	vmkit_cmd=
	vmkit_cmd64_bad=0
	vmkit_boottimer=0
	vmkit_quiet=0
	vmkit_uptime=0
	vmkit_shares=
	vmkit_ports=

	case "$_vp" in
	*" vmkit.boottimer "*) vmkit_boottimer=1 ;;
	esac
	case "$_vp" in
	*" vmkit.quiet "*) vmkit_quiet=1 ;;
	esac
	case "$_vp" in
	*" vmkit.uptime "*) vmkit_uptime=1 ;;
	esac

	# The earliest of the three vmkit.cmd forms wins: compare what precedes
	# each one.
	_vbest=
	_vform=
	for _vf in ' vmkit.cmd="' ' "vmkit.cmd=' ' vmkit.cmd='; do
		case "$_vp" in
		*"$_vf"*)
			_vpre=${_vp%%"$_vf"*}
			if [ -z "$_vform" ] || [ "${#_vpre}" -lt "${#_vbest}" ]; then
				_vbest=$_vpre
				_vform=$_vf
			fi
			;;
		esac
	done
	if [ -n "$_vform" ]; then
		_vrest=${_vp#*"$_vform"}
		case "$_vform" in
		' vmkit.cmd=') vmkit_cmd=${_vrest%%' '*} ;;
		*) vmkit_cmd=${_vrest%%'"'*} ;;
		esac
		vmkit_have_cmd=1
	fi

	case "$_vp" in
	*' vmkit.cmd64='*)
		_vrest=${_vp#*' vmkit.cmd64='}
		_vrest=${_vrest%%' '*}
		vmkit_have_cmd=1
		# busybox base64 -d skips bad characters and still succeeds, so
		# the alphabet, the padding and the length are checked here.
		case "$_vrest" in
		*[!A-Za-z0-9+/=]* | *=[!=]*) vmkit_cmd64_bad=1 ;;
		esac
		[ $((${#_vrest} % 4)) = 0 ] || vmkit_cmd64_bad=1
		# Command substitution drops trailing newlines; the x keeps them.
		if [ "$vmkit_cmd64_bad" = 0 ] &&
			_vdec=$(printf '%s\n' "$_vrest" | base64 -d 2>/dev/null && echo x); then
			vmkit_cmd=${_vdec%x}
		else
			vmkit_cmd=
			vmkit_cmd64_bad=1
		fi
		;;
	esac
	case "$_vp" in
	*' vmkit.shares='*)
		_vrest=${_vp##*' vmkit.shares='}
		_vrest=${_vrest%%' '*}
		vmkit_shares=$(printf '%s' "$_vrest" | tr ',' ' ')
		;;
	esac
	case "$_vp" in
	*' vmkit.ports='*)
		_vrest=${_vp##*' vmkit.ports='}
		_vrest=${_vrest%%' '*}
		vmkit_ports=$(printf '%s' "$_vrest" | tr ',' ' ')
		;;
	esac
	unset _vp _vbest _vform _vf _vpre _vrest _vdec
}
