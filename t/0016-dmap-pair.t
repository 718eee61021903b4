#!/bin/sh
# atv-pair -p dmap: we show the PIN, the fake Apple TV plays the device's
# part of Remote pairing (its `dmap-pair` control command GETs our /pair
# with the code for the PIN it is given), and the GUID is stored in place
# of the Home Sharing id (hG) a scan fills in.
# Multicast publication of _touch-remote._tcp is checked through a real
# avahi-daemon in network namespaces at the end, when the machine can.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

# this script's own loopback addresses (127.16.X.*), X differing per run
NET=127.16.$(($$ % 250 + 1))
KI=$NET.3 LR=$NET.2
PIN=4321
# leading zeros: the GUID must be published and hashed with all 16 digits
GUID=0x00A1B2C3D4E5F607
CREDS=$TRASH/cfg/credentials
# no avahi-daemon for the loopback tests: publishing must warn, not fail,
# and must never reach a daemon of the machine running the tests
NOBUS=unix:path=$TRASH/no-such-bus

dmap_creds() { jq -r '.services[] | select(.protocol == "dmap") | .credentials'; }

# wait_for_grep FILE PATTERN PID: until FILE matches (bounded, about 10 s),
# failing early when PID has exited
wait_for_grep() {
	_n=500
	while [ "$_n" -gt 0 ]; do
		grep -q "$2" "$1" 2> /dev/null && return 0
		kill -0 "$3" 2> /dev/null || { grep -q "$2" "$1" 2> /dev/null && return 0; break; }
		sleep 0.02
		_n=$((_n - 1))
	done
	echo "no '$2' in $1:" >&2
	cat "$1" >&2
	return 1
}

# start_pair OUT ARGS...: atv-pair -v -p dmap ARGS in the background with
# ki.json on stdin, stdout to OUT, stderr to OUT.err; waits for the PIN
# line and sets PAIR_PID, PORT (where it listens) and SHOWN (the PIN shown)
start_pair() {
	_o=$1
	shift
	DBUS_SYSTEM_BUS_ADDRESS=$NOBUS timeout $T atv-pair -v -p dmap "$@" < ki.json \
		> "$_o" 2> "$_o.err" &
	PAIR_PID=$!
	test_atexit "kill $PAIR_PID 2> /dev/null"
	wait_for_grep "$_o.err" "enter PIN" $PAIR_PID || return 1
	PORT=$(sed -n "s/.* on port \([0-9][0-9]*\)$/\1/p" "$_o.err" | head -n 1)
	SHOWN=$(sed -n "s/^atv-pair: enter PIN \([0-9]*\) on the device.*/\1/p" "$_o.err")
	test -n "$PORT" && test -n "$SHOWN"
}

# tv_pair PIN [GUID]: the fake, as the Apple TV, sends the code for PIN
# to our /pair; prints the HTTP status it got
tv_pair() { ctl ki dmap-pair "$1" "127.0.0.1:$PORT" "GUID=${2:-$GUID}"; }

test_expect_success 'start the fake devices' '
	start_mrp_fake ki $KI "$DEV/kitchen.json" --dmap-port 0 &&
	start_mrp_fake lr $LR &&
	grep -q "^dmap " ki.ready &&
	atv-scan -s $KI > ki.json &&
	atv-scan -s $LR > lr.json &&
	hg=$(jq -r ".services[] | select(.protocol == \"dmap\") | .properties.hG" ki.json) &&
	test "$(dmap_creds < ki.json)" = "$hg"
'

test_expect_success 'a wrong PIN is refused and the wait goes on; the right one pairs' '
	start_pair out --pin $PIN --pairing-guid $GUID -c "$CREDS" &&
	test "$SHOWN" = $PIN &&
	test "$(tv_pair 1234)" = 404 &&
	kill -0 $PAIR_PID &&
	test ! -e "$CREDS" &&
	test "$(tv_pair $PIN)" = 200 &&
	wait_for_exit $PAIR_PID && test $rc -eq 0 &&
	grep -q "wrong pin" out.err
'

test_expect_success 'the config on stdout has no credentials (they are in the file)' '
	test $(wc -l < out) -eq 1 &&
	test "$(dmap_creds < out)" = null &&
	! grep -q $GUID out &&
	jq -c "del(.services[] | select(.protocol == \"dmap\") | .credentials)" ki.json > a &&
	jq -c "del(.services[] | select(.protocol == \"dmap\") | .credentials)" out > b &&
	test_cmp a b
'

test_expect_success 'the credentials file has them, mode 0600' '
	test "$(stat -c %a "$CREDS")" = 600 &&
	test $(wc -l < "$CREDS") -eq 1 &&
	id=$(jq -r ".services[] | select(.protocol == \"dmap\") | .identifier" ki.json) &&
	test_jq ".identifier == \"$id\" and .protocol == \"dmap\" and .name == \"Kitchen\"" \
		"$CREDS" &&
	test "$(jq -r .credentials "$CREDS")" = $GUID
'

test_expect_success 'the device now knows the GUID: login with it works' '
	dport=$(sed -n "s/^dmap //p" ki.ready) &&
	python3 -c "import sys, urllib.request
r = urllib.request.urlopen(\"http://$KI:%s/login?pairing-guid=$GUID\" % sys.argv[1], timeout=10)
sys.exit(0 if r.status == 200 else 1)" "$dport" &&
	fake_state ki > st &&
	jq -e --arg g $GUID "[.. | strings] | index(\$g)" st > /dev/null
'

test_expect_success 'no --pin: a random 4-digit PIN is shown and works' '
	start_pair out2 --pairing-guid $GUID -c creds2 &&
	echo "$SHOWN" | grep -Eq "^[0-9]{4}$" &&
	test "$(tv_pair $SHOWN)" = 200 &&
	wait_for_exit $PAIR_PID && test $rc -eq 0 &&
	test "$(jq -r .credentials creds2)" = $GUID
'

test_expect_success '--pin-file chooses the PIN; --name is what the device is told' '
	echo 0042 > pinfile &&
	start_pair out3 --pin-file pinfile --pairing-guid 0x1 --name "Den Remote" -c creds3 &&
	test "$SHOWN" = 0042 &&
	test "$(tv_pair 0042 0x1)" = 200 &&
	wait_for_exit $PAIR_PID && test $rc -eq 0 &&
	test "$(jq -r .credentials creds3)" = 0x0000000000000001
'

test_expect_success 'ended by a signal while waiting: nothing printed or stored' '
	start_pair out4 --pin $PIN -c creds4 &&
	kill $PAIR_PID && { wait $PAIR_PID; :; } &&
	test ! -s out4 && test ! -e creds4 &&
	grep -q "enter PIN $PIN" out4.err
'

test_expect_success 'only wrong PINs until the timeout: exit 4, nothing stored' '
	cp "$CREDS" before &&
	start_pair out5 --pin $PIN --pairing-guid $GUID -t 2 -c "$CREDS" &&
	test "$(tv_pair 9999)" = 404 &&
	wait_for_exit $PAIR_PID && test $rc -eq 4 &&
	test_fail_line out5 &&
	grep -q "wrong pin" out5.err &&
	test_cmp before "$CREDS"
'

test_expect_success 'no request at all until the timeout: exit 3, nothing stored' '
	start_pair out6 --pin $PIN --pairing-guid $GUID -t 0.5 -c creds6 &&
	wait_for_exit $PAIR_PID && test $rc -eq 3 &&
	grep -q "no pairing request" out6.err &&
	test_fail_line out6 && test ! -e creds6
'

test_expect_success 'ten wrong PINs: no more guesses are listened to (exit 4)' '
	start_pair out7 --pin $PIN --pairing-guid $GUID -c creds7 &&
	for p in 0000 0001 0002 0003 0004 0005 0006 0007 0008 0009; do
		tv_pair $p > /dev/null || return 1
	done &&
	wait_for_exit $PAIR_PID && test $rc -eq 4 &&
	grep -q "no more pairing requests" out7.err &&
	test ! -e creds7
'

test_expect_success 'without avahi-daemon: one warning, pairing goes on' '
	grep -c "warning: not publishing _touch-remote._tcp" out.err > n &&
	test "$(cat n)" = 1
'

test_expect_success '--port: listen where asked; a port in use exits 7' '
	dport=$(sed -n "s/^dmap //p" ki.ready) &&
	test_must_fail 7 env DBUS_SYSTEM_BUS_ADDRESS=$NOBUS atv-pair -p dmap --pin $PIN \
		--port "$dport" -c creds8 < ki.json > out8 2> out8.err &&
	grep -q "unable to listen on port $dport" out8.err &&
	test ! -e creds8 &&
	free=$(python3 -c "import socket; s = socket.socket(); s.bind((\"\", 0)); print(s.getsockname()[1])") &&
	start_pair out9 --pin $PIN --pairing-guid $GUID --port "$free" -c creds9 &&
	test "$PORT" = "$free" &&
	test "$(tv_pair $PIN)" = 200 &&
	wait_for_exit $PAIR_PID && test $rc -eq 0
'

test_expect_success 'a device without a dmap service cannot be paired over dmap (exit 1)' '
	test_must_fail 1 atv-pair -p dmap --pin $PIN -c creds10 < lr.json > out 2> err &&
	grep -q "no dmap service" err &&
	test_fail_line out && test ! -e creds10
'

test_expect_success 'usage errors exit 2' '
	test_must_fail 2 atv-pair -p dmap --pin 123 < ki.json &&
	test_must_fail 2 atv-pair -p dmap --pin 12345 < ki.json &&
	test_must_fail 2 atv-pair -p dmap --pin 12a4 < ki.json &&
	test_must_fail 2 atv-pair -p dmap --pairing-guid 0xXYZ < ki.json &&
	test_must_fail 2 atv-pair -p dmap --pairing-guid 0x12345678901234567 < ki.json &&
	test_must_fail 2 atv-pair -p dmap --port 65536 < ki.json &&
	test_must_fail 2 atv-pair -p dmap --port -1 < ki.json &&
	test_must_fail 2 atv-pair -p mrp --port 5000 < ki.json &&
	test_must_fail 2 atv-pair --pairing-guid 0x1 < ki.json &&
	test_must_fail 2 atv-pair -p nosuch < ki.json &&
	atv-pair --help | grep -q -- --pairing-guid
'

# --- publication through a real avahi-daemon --------------------------
. "$top_srcdir/t/netns.sh"

if ! netns_check; then
	test_skip '_touch-remote._tcp is published with the Pair TXT' "$netns_reason"
elif ! command -v avahi-browse > /dev/null 2>&1; then
	test_skip '_touch-remote._tcp is published with the Pair TXT' 'avahi-browse not found'
else
	if netns_up both; then up=yes; else up=$netns_reason; fi

	test_expect_success 'namespaces A and B, avahi-daemon in both' '
		test "$up" = yes || { echo "$up"; false; }
	'

	test_expect_success '_touch-remote._tcp is published with the Pair TXT' '
		netns_a timeout $T atv-pair -v -p dmap --pin $PIN --name "Den Remote" -c creds11 \
			< ki.json > out11 2> out11.err &
		PAIR_PID=$! &&
		test_atexit "kill $PAIR_PID 2> /dev/null" &&
		wait_for_grep out11.err "published _touch-remote._tcp" $PAIR_PID &&
		! grep -q warning out11.err &&
		PORT=$(sed -n "s/.* on port \([0-9][0-9]*\)$/\1/p" out11.err | head -n 1) &&
		# "published" is what the local daemon says; the other namespace
		# may not have the announcement yet when busy: browse until it has
		for try in 1 2 3 4 5 6 7 8 9 10; do
			netns_b timeout $T avahi-browse -rpt _touch-remote._tcp > browse
			grep "^=;.*;IPv4;" browse > found && break
		done &&
		grep "^=;.*;IPv4;" browse > found &&
		test $(wc -l < found) -eq 1 &&
		txt=$(cut -d";" -f10- found) &&
		test "$(cut -d";" -f9 found)" = "$PORT" &&
		test "$(cut -d";" -f8 found)" = $NETNS_ADDR_A &&
		guid=$(echo "$txt" | sed -n "s/.*\"Pair=\([0-9A-F]*\)\".*/\1/p") &&
		echo "$guid" | grep -Eq "^[0-9A-F]{16}$" &&
		echo "$txt" | grep -q "\"DvNm=Den Remote\"" &&
		echo "$txt" | grep -q "\"RemV=10000\"" &&
		echo "$txt" | grep -q "\"DvTy=iPod\"" &&
		echo "$txt" | grep -q "\"txtvers=1\"" &&
		test "$(cut -d";" -f4 found)" = "$guid"
	'

	test_expect_success 'the device, with the GUID from the TXT, pairs across the link' '
		code=$(python3 -c "import hashlib, sys
g, pin = sys.argv[1], sys.argv[2]
print(hashlib.md5((g + \"\".join(d + \"\\0\" for d in pin)).encode()).hexdigest())" "$guid" $PIN) &&
		netns_b python3 -c "import sys, urllib.request
r = urllib.request.urlopen(sys.argv[1], timeout=10)
sys.exit(0 if r.status == 200 else 1)" \
			"http://$NETNS_ADDR_A:$PORT/pair?pairingcode=$code&servicename=TEST" &&
		wait_for_exit $PAIR_PID && test $rc -eq 0 &&
		test "$(jq -r .credentials creds11)" = "0x$guid"
	'

	test_expect_success 'the service is withdrawn when atv-pair ends' '
		# the goodbye packets flush B'"'"'s cache; allow it a few rounds
		n=0 &&
		while netns_b timeout $T avahi-browse -rpt _touch-remote._tcp > browse2 &&
			grep -q "^=;" browse2; do
			n=$((n + 1)) && test $n -lt 20 || return 1
			sleep 0.25
		done
	'
	netns_down
fi

test_done
