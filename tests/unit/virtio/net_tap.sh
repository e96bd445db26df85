#!/bin/sh
# Runs test_net_tap in a network namespace of its own (unshare -rn: a user
# namespace maps us to root there), so the tap interface it creates never
# touches the host's network. Skips (77) where namespaces or /dev/net/tun
# are not available. Usage: net_tap.sh PATH/TO/test_net_tap
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
unshare -rn true 2>/dev/null || unshare -n true 2>/dev/null ||
	{ echo "SKIP: cannot create a network namespace"; exit 77; }
if unshare -rn true 2>/dev/null; then
	exec unshare -rn "$1"
fi
exec unshare -n "$1"
