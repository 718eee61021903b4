# t/netns.sh - two hosts for multicast tests: network namespaces A and B
# joined by one veth pair, each with its own dbus-daemon and avahi-daemon.
#
# Sourced by a test after t/lib.sh:
#   . "$top_srcdir/t/netns.sh"
#   netns_check || test_skip_all "$netns_reason"
#   netns_up both || ...        # avahi in A and B (publish in A, browse in B)
#   netns_up b || ...           # avahi (and dbus) in B only: A is left to
#                               # a responder of our own (fake-atv
#                               # --multicast), which binds 5353 itself
#   netns_b atv-scan -t 3       # a command in B, talking to B's avahi
#   netns_down                  # always safe; netns_up registers it with
#                               # test_atexit
# or by hand:  NETNS_ID=42 sh t/netns.sh up|down [both|b]
#
# Names come from NETNS_ID (default: the test's PID) so parallel runs do not
# clash: namespaces atvA<id>/atvB<id>, veths va<id>/vb<id>, subnet
# 10.213.N.0/24 with N = id mod 250 + 1; A is .1, B is .2.  State (configs,
# sockets, logs) lives under $TRASH (or /tmp) in netns.<id>/.
#
# Variables: NETNS_A, NETNS_B (namespaces), NETNS_IF_A, NETNS_IF_B (veths),
# NETNS_ADDR_A, NETNS_ADDR_B, NETNS_DBUS_A, NETNS_DBUS_B (values for
# DBUS_SYSTEM_BUS_ADDRESS; A's bus exists only with `both`), NETNS_DIR.
#
# Neither namespace has a route out, and each avahi-daemon is limited to the
# veth by allow-interfaces, so nothing reaches a real network.  avahi-daemon
# is only ever started under `ip netns exec` with our own config file, never
# /etc/avahi's.  Every process we start runs inside one of the namespaces,
# so netns_down stops exactly the processes `ip netns pids` lists for them.

NETNS_ID=${NETNS_ID:-$$}
NETNS_A=atvA$NETNS_ID
NETNS_B=atvB$NETNS_ID
NETNS_IF_A=va$NETNS_ID
NETNS_IF_B=vb$NETNS_ID
NETNS_NET=10.213.$((NETNS_ID % 250 + 1))
NETNS_ADDR_A=$NETNS_NET.1
NETNS_ADDR_B=$NETNS_NET.2
NETNS_DIR=${TRASH:-/tmp}/netns.$NETNS_ID
NETNS_DBUS_A=unix:path=$NETNS_DIR/A/dbus.sock
NETNS_DBUS_B=unix:path=$NETNS_DIR/B/dbus.sock
netns_reason=
_netns_made=
_netns_owned=
_netns_pids=

# netns_check: can this machine run the namespaces?  Sets netns_reason.
netns_check() {
	if [ "$(id -u)" -ne 0 ]; then
		netns_reason="needs root for network namespaces"
		return 1
	fi
	for _c in ip unshare mount dbus-daemon avahi-daemon; do
		if ! command -v "$_c" > /dev/null 2>&1; then
			netns_reason="$_c not found"
			return 1
		fi
	done
	# root in a container may still lack CAP_SYS_ADMIN
	if ! unshare -n true > /dev/null 2>&1; then
		netns_reason="unable to create a network namespace here"
		return 1
	fi
	return 0
}

_netns_exists() { ip netns list 2> /dev/null | awk -v n="$1" '$1 == n { f = 1 } END { exit !f }'; }

# netns_a CMD...: run CMD in namespace A with A's system bus (avahi in A).
netns_a() { DBUS_SYSTEM_BUS_ADDRESS=$NETNS_DBUS_A ip netns exec "$NETNS_A" "$@"; }
# netns_b CMD...: run CMD in namespace B with B's system bus (avahi in B).
netns_b() { DBUS_SYSTEM_BUS_ADDRESS=$NETNS_DBUS_B ip netns exec "$NETNS_B" "$@"; }

# netns_wait_log FILE PATTERN PID: wait (bounded, about 10 s) until FILE
# matches PATTERN; fail early, showing FILE, when PID has exited.
netns_wait_log() {
	_n=500
	netns_reason="timed out waiting for '$2' in $1"
	while [ "$_n" -gt 0 ]; do
		grep -q "$2" "$1" 2> /dev/null && return 0
		if ! kill -0 "$3" 2> /dev/null; then
			# it may have written the line just before exiting
			grep -q "$2" "$1" 2> /dev/null && return 0
			netns_reason="process $3 exited before '$2' appeared in $1"
			break
		fi
		sleep 0.02
		_n=$((_n - 1))
	done
	echo "$netns_reason" >&2
	[ -f "$1" ] && sed 's/^/# /' "$1" >&2
	return 1
}

# _netns_daemons X NS IFC HOST: start the dbus-daemon and the avahi-daemon
# of host X (A or B) in namespace NS; _netns_avahi_X is avahi's PID.
_netns_daemons() {
	_d=$NETNS_DIR/$1
	mkdir -p "$_d/run"
	rm -f "$_d/dbus.sock" # left by an earlier netns_up of this run
	cat > "$_d/dbus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=$_d/dbus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/><allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
	# use-ipv6=no: no waiting for duplicate address detection on the veth.
	cat > "$_d/avahi.conf" <<EOF
[server]
host-name=$4
use-ipv4=yes
use-ipv6=no
allow-interfaces=$3
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
publish-addresses=yes
[reflector]
enable-reflector=no
EOF
	# A unix socket on the filesystem reaches across namespaces; the
	# bus runs inside the namespace only so that netns_down finds it.
	ip netns exec "$2" dbus-daemon --nofork --config-file="$_d/dbus.conf" \
		> "$_d/dbus.log" 2>&1 &
	_p=$!
	_netns_pids="$_netns_pids $_p"
	_n=500
	while [ ! -S "$_d/dbus.sock" ]; do
		_n=$((_n - 1))
		if [ "$_n" -eq 0 ] || ! kill -0 "$_p" 2> /dev/null; then
			netns_reason="dbus-daemon in $2 did not start: $(cat "$_d/dbus.log")"
			return 1
		fi
		sleep 0.02
	done
	# A private mount namespace with its own /run, so that the two
	# daemons do not find each other's pid file ("Daemon already
	# running").  ip, unshare and sh all exec: $! is avahi-daemon.
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$_d/dbus.sock ip netns exec "$2" unshare -m sh -c \
		"mount --make-rprivate / && mount --bind '$_d/run' /run &&
		 exec avahi-daemon -f '$_d/avahi.conf' --no-drop-root --no-chroot --no-rlimits --no-proc-title" \
		> "$_d/avahi.log" 2>&1 &
	_p=$!
	_netns_pids="$_netns_pids $_p"
	eval "_netns_avahi_$1=$_p"
}

# _netns_avahi_wait X: wait until X's avahi-daemon has started up.
_netns_avahi_wait() {
	eval "_p=\$_netns_avahi_$1"
	netns_wait_log "$NETNS_DIR/$1/avahi.log" "Server startup complete" "$_p" || {
		netns_reason="avahi-daemon in namespace $1 did not start"
		return 1
	}
}

# netns_up both|b: create the namespaces and start the daemons (avahi in
# both, or in B only).  Nonzero with netns_reason set when it cannot.
netns_up() {
	_mode=${1:-both}
	netns_check || return 1
	case "$_mode" in both | b) ;; *)
		netns_reason="netns_up: bad mode '$_mode'"
		return 1
		;;
	esac
	if _netns_exists "$NETNS_A" || _netns_exists "$NETNS_B"; then
		netns_reason="network namespace $NETNS_A or $NETNS_B exists already (a stale run?)"
		return 1
	fi
	_netns_owned=yes
	if [ -z "$_netns_made" ] && command -v test_atexit > /dev/null 2>&1; then
		test_atexit netns_down
		# t/lib.sh turns INT and TERM into exit (and so netns_down);
		# do the same for a closed terminal or output pipe, which
		# would otherwise leave the namespaces and daemons behind.
		trap 'exit 129' HUP
		trap 'exit 141' PIPE
	fi
	_netns_made=yes
	_netns_pids=
	mkdir -p "$NETNS_DIR" || return 1
	if ! { ip netns add "$NETNS_A" && ip netns add "$NETNS_B" &&
		ip link add "$NETNS_IF_A" netns "$NETNS_A" type veth \
			peer name "$NETNS_IF_B" netns "$NETNS_B" &&
		ip -n "$NETNS_A" link set lo up && ip -n "$NETNS_B" link set lo up &&
		ip -n "$NETNS_A" addr add "$NETNS_ADDR_A/24" dev "$NETNS_IF_A" &&
		ip -n "$NETNS_B" addr add "$NETNS_ADDR_B/24" dev "$NETNS_IF_B" &&
		ip -n "$NETNS_A" link set "$NETNS_IF_A" multicast on up &&
		ip -n "$NETNS_B" link set "$NETNS_IF_B" multicast on up; } > "$NETNS_DIR/ip.log" 2>&1
	then
		netns_reason="unable to set up network namespaces: $(cat "$NETNS_DIR/ip.log")"
		return 1
	fi
	# Both avahi-daemons start up (probe their host names) in parallel.
	if [ "$_mode" = both ]; then
		_netns_daemons A "$NETNS_A" "$NETNS_IF_A" atv-a || return 1
	fi
	_netns_daemons B "$NETNS_B" "$NETNS_IF_B" atv-b || return 1
	if [ "$_mode" = both ]; then
		_netns_avahi_wait A || return 1
	fi
	_netns_avahi_wait B
}

# _netns_stop NS: stop every process in NS (TERM, then KILL after about
# 5 s) and wait until none is left.
_netns_stop() {
	_n=250
	_sig=TERM
	while :; do
		_p=$(ip netns pids "$1" 2> /dev/null)
		[ -n "$_p" ] || return 0
		# shellcheck disable=SC2086
		kill -s "$_sig" $_p 2> /dev/null
		_n=$((_n - 1))
		[ "$_n" -eq 0 ] && _sig=KILL
		[ "$_n" -lt -50 ] && return 1
		sleep 0.02
	done
}

# netns_down: stop everything started in the namespaces and remove them.
# Safe to call at any time, more than once.
netns_down() {
	# Only what this run made: never namespaces that were there before.
	[ "$_netns_owned" = yes ] || return 0
	_netns_owned=
	for _ns in "$NETNS_A" "$NETNS_B"; do
		_netns_exists "$_ns" || continue
		_netns_stop "$_ns"
		ip netns del "$_ns" 2> /dev/null
	done
	# Reap our own background children (zombies are not in any netns).
	for _p in ${_netns_pids:-}; do
		wait "$_p" 2> /dev/null
	done
	_netns_pids=
	# State under a test's $TRASH stays for a failed test to show.
	[ -n "${TRASH:-}" ] || rm -rf "$NETNS_DIR"
	return 0
}

# Run by hand: sh t/netns.sh up|down [both|b]
case "$0" in
*netns.sh)
	case "${1:-}" in
	up)
		netns_up "${2:-both}" || { echo "netns.sh: $netns_reason" >&2; netns_down; exit 1; }
		echo "NETNS_ID=$NETNS_ID NETNS_A=$NETNS_A NETNS_B=$NETNS_B"
		echo "NETNS_ADDR_A=$NETNS_ADDR_A NETNS_ADDR_B=$NETNS_ADDR_B"
		echo "NETNS_DBUS_A=$NETNS_DBUS_A NETNS_DBUS_B=$NETNS_DBUS_B"
		;;
	down)
		_netns_owned=yes
		netns_down
		;;
	*)
		echo "usage: NETNS_ID=N sh netns.sh up|down [both|b]" >&2
		exit 2
		;;
	esac
	;;
esac
