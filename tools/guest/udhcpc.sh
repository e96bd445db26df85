#!/bin/sh
# udhcpc.sh — busybox udhcpc's event script in the default guest
# (/lib/vmkit/udhcpc.sh): configures the address, default route and
# /etc/resolv.conf from a lease. Runs in the guest, one udhcpc per NIC;
# each NIC writes only its own lines, and only the first NIC with a router
# owns the default route and resolv.conf.
# udhcpc sets: $1 (deconfig|bound|renew|leasefail|nak), interface, ip,
# mask (prefix length), router, dns, domain, mtu.

case "$1" in
deconfig)
	ip -4 addr flush dev "$interface" 2>/dev/null
	ip link set "$interface" up
	;;
bound | renew)
	ip -4 addr flush dev "$interface" 2>/dev/null
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -n "$mtu" ] && ip link set "$interface" mtu "$mtu" 2>/dev/null
	if [ -n "$router" ] && ! ip route | grep -q '^default'; then
		for r in $router; do
			ip route add default via "$r" dev "$interface" && break
		done
		{
			[ -n "$domain" ] && echo "search $domain"
			for d in $dns; do echo "nameserver $d"; done
		} >/etc/resolv.conf
	fi
	echo "vmkit-init: $interface has address $ip/${mask:-24}${router:+ via $router}"
	;;
esac
exit 0
