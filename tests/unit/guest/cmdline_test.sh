#!/bin/sh
# cmdline_test.sh — unit test of tools/guest/cmdline.sh, the guest /init's
# kernel-command-line parser, run on the host under a POSIX sh (the same
# shell features busybox ash has). Single process; no shared state.
#
# Usage: cmdline_test.sh PATH/TO/cmdline.sh
# Prints one line per failure and a closing "N passed, N failed" line.

# $x etc. in single quotes are meant for the parser, not for this shell.
# shellcheck disable=SC2016

[ -r "${1:-}" ] || { echo "usage: $0 PATH/TO/cmdline.sh" >&2; exit 2; }
# shellcheck source=tools/guest/cmdline.sh
. "$1"

passed=0
failed=0

# check NAME CMDLINE HAVE_CMD CMD BOOTTIMER QUIET [CMD64_BAD]
check() {
	vmkit_parse_cmdline "$2"
	if [ "$vmkit_have_cmd" = "$3" ] && [ "$vmkit_cmd" = "$4" ] &&
		[ "$vmkit_boottimer" = "$5" ] && [ "$vmkit_quiet" = "$6" ] &&
		[ "$vmkit_cmd64_bad" = "${7:-0}" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $1: got have_cmd=$vmkit_have_cmd cmd=[$vmkit_cmd]" \
			"boottimer=$vmkit_boottimer quiet=$vmkit_quiet" \
			"cmd64_bad=$vmkit_cmd64_bad"
	fi
}

check "no keys" 'console=ttyAMA0 root=/dev/vda' 0 '' 0 0
check "empty" '' 0 '' 0 0
check "bare word" 'console=hvc0 vmkit.cmd=nproc quiet' 1 'nproc' 0 0
check "bare word at end" 'console=hvc0 vmkit.cmd=true' 1 'true' 0 0
check "bare word at start" 'vmkit.cmd=true console=hvc0' 1 'true' 0 0
check "quoted value" 'console=ttyAMA0 vmkit.cmd="echo hi; cat /proc/cpuinfo" quiet' \
	1 'echo hi; cat /proc/cpuinfo' 0 0
check "quoted value keeps inner spacing" 'vmkit.cmd="a   b  "' 1 'a   b  ' 0 0
check "quoted value with = and |" 'vmkit.cmd="x=1; echo $x | wc -c" a=b' \
	1 'x=1; echo $x | wc -c' 0 0
check "whole parameter quoted" 'console=hvc0 "vmkit.cmd=echo two words" quiet' \
	1 'echo two words' 0 0
check "empty value" 'vmkit.cmd= quiet' 1 '' 0 0
check "empty quoted value" 'vmkit.cmd="" quiet' 1 '' 0 0
check "first occurrence wins" 'vmkit.cmd=first vmkit.cmd="second one"' 1 'first' 0 0
check "first occurrence wins (quoted first)" 'vmkit.cmd="first one" vmkit.cmd=second' \
	1 'first one' 0 0
check "similar key is not vmkit.cmd" 'xvmkit.cmd=no vmkit.cmdx=no' 0 '' 0 0
check "key glued to a quote is not the bare key" 'foo="a vmkit.boottimer" bar' 0 '' 0 0
check "boottimer" 'console=hvc0 vmkit.boottimer' 0 '' 1 0
check "boottimer with value is not the key" 'vmkit.boottimer=0' 0 '' 0 0
check "quiet" 'vmkit.quiet vmkit.cmd=ls' 1 'ls' 0 1
check "boottimer and command" 'vmkit.boottimer vmkit.cmd="uname -a"' 1 'uname -a' 1 0
# base64 of: echo "a  b" 'c'
check "cmd64" 'vmkit.cmd64=ZWNobyAiYSAgYiIgJ2Mn' 1 "echo \"a  b\" 'c'" 0 0
check "cmd64 wins over cmd" 'vmkit.cmd=ls vmkit.cmd64=ZWNobyAiYSAgYiIgJ2Mn' \
	1 "echo \"a  b\" 'c'" 0 0
# base64 of: "true\n\n" (trailing newlines are kept)
check "cmd64 keeps trailing newlines" 'vmkit.cmd64=dHJ1ZQoK' 1 "true

" 0 0
check "cmd64 invalid characters" 'vmkit.cmd64=@@@not-base64@@@' 1 '' 0 0 1
check "cmd64 invalid length" 'vmkit.cmd64=ZWNob' 1 '' 0 0 1
check "cmd64 padding in the middle" 'vmkit.cmd64=ZW==ZWNo' 1 '' 0 0 1
check "cmd64 padded" 'vmkit.cmd64=dHJ1ZQ==' 1 'true' 0 0

# uptime NAME CMDLINE EXPECT: vmkit_uptime after parsing CMDLINE.
uptime() {
	vmkit_parse_cmdline "$2"
	if [ "$vmkit_uptime" = "$3" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $1: got uptime=[$vmkit_uptime]"
	fi
}
uptime "no uptime key" 'console=hvc0 vmkit.quiet' 0
uptime "uptime key" 'console=ttyAMA0 quiet vmkit.uptime vmkit.cmd=true' 1
uptime "uptime with value is not the key" 'vmkit.uptime=1' 0
uptime "uptime inside a command is not the key" 'vmkit.cmd="echo vmkit.uptime"' 0

# shares NAME CMDLINE TAGS: vmkit_shares after parsing CMDLINE.
shares() {
	vmkit_parse_cmdline "$2"
	if [ "$vmkit_shares" = "$3" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $1: got shares=[$vmkit_shares]"
	fi
}
shares "no shares" 'console=hvc0' ''
shares "one share" 'console=hvc0 vmkit.shares=src' 'src'
shares "two shares after a command" \
	'vmkit.cmd="ls vmkit.shares=x" vmkit.shares=a.b,c-d' 'a.b c-d'

# ports NAME CMDLINE NAMES: vmkit_ports after parsing CMDLINE.
ports() {
	vmkit_parse_cmdline "$2"
	if [ "$vmkit_ports" = "$3" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $1: got ports=[$vmkit_ports]"
	fi
}
ports "no ports" 'console=hvc0 vmkit.shares=a' ''
ports "one port" 'console=hvc0 vmkit.ports=agent' 'agent'
ports "ports after shares and a command" \
	'vmkit.cmd="ls vmkit.ports=x" vmkit.shares=s vmkit.ports=org.qemu.0,b_c-d' \
	'org.qemu.0 b_c-d'

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
