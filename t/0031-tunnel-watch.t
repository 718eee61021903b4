#!/bin/sh
# atv-watch through the MRP tunnel (tvOS 15+, HomePod) against the fake:
# the events of a direct MRP connection, the keep-alive holding the tunnel,
# each of its three connections dropped -> lost, reconnected (found again
# by scanning), revoked credentials, artwork, clean stops.  Every wait is on
# an output line, never a fixed time.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.32.$(($$ % 250 + 1))
DN=$NET.2 HP=$NET.4
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS
DN_ID=$(jq -r '.services[] | select(.type == "_mediaremotetv._tcp") | .txt.UniqueIdentifier' \
	"$DEV/den.json")

test_expect_success 'start the fakes, scan, pair the Apple TV for AirPlay' '
	start_mrp_fake dn $DN "$DEV/den.json" --airplay-port 0 --mrp-port 0 --pairings "$TRASH/dn.pairings" &&
	start_mrp_fake hp $HP "$DEV/homepod.json" --airplay-port 0 &&
	atv-scan -s $DN > dn.json && atv-scan -s $HP > hp.json &&
	timeout $T atv-pair -p airplay --pin 1111 < dn.json > /dev/null
'

test_expect_success 'on connect: connected over mrp, then playing, power and volume' '
	ctl dn volume 42 &&
	ctl dn power on &&
	watch w1 dn.json -v &&
	wait_for_line w1.out ".event == \"volume\"" &&
	head -n 1 w1.out > first &&
	test_jq ".event == \"connection\" and .state == \"connected\" and .protocol == \"mrp\"" first &&
	test_jq_sel ".event == \"volume\"" ".volume == 42" w1.out &&
	test_jq_sel ".event == \"power\"" ".power_state == \"on\"" w1.out &&
	test_jq_all ".device == \"$DN_ID\"" w1.out
'

test_expect_success 'changes appear as they happen, also those made by atv-send' '
	ctl dn set title=Tunnel%20Vision artist=The%20Band &&
	wait_for_line w1.out ".event == \"playing\" and .title == \"Tunnel Vision\"" &&
	ctl dn volume 17 &&
	wait_for_line w1.out ".event == \"volume\" and .volume == 17" &&
	ctl dn power off &&
	wait_for_line w1.out ".event == \"power\" and .power_state == \"off\"" &&
	ctl dn power on &&
	timeout $T atv-send set_volume=64 pause < dn.json > /dev/null &&
	wait_for_line w1.out ".event == \"volume\" and .volume == 64" &&
	wait_for_line w1.out ".event == \"playing\" and .device_state == \"paused\""
'

test_expect_success 'the keep-alive: /feedback every 2 s holds the tunnel' '
	f0=$(ctl dn tunnel-state | jq .feedback) &&
	n=0 &&
	while [ $n -lt 100 ] && [ "$(ctl dn tunnel-state | jq .feedback)" -lt $((f0 + 2)) ]; do
		sleep 0.1; n=$((n + 1))
	done &&
	test "$(ctl dn tunnel-state | jq .feedback)" -ge $((f0 + 2)) &&
	! grep -q "\"lost\"" w1.out
'

# drop WHICH COUNT: the fake closes that connection of the tunnel; the
# watcher reports lost, connects again (the COUNTth time) and follows on
drop() {
	ctl dn tunnel-drop "$1" > /dev/null &&
	wait_for_line w1.out ".event == \"connection\" and .state == \"lost\"" "$(($2 - 1))" &&
	wait_for_line w1.out ".event == \"connection\" and .state == \"connected\"" "$2" &&
	ctl dn set title=After%20$1 &&
	wait_for_line w1.out ".event == \"playing\" and .title == \"After $1\""
}

test_expect_success 'the data channel dropped: lost, reconnected, events keep coming' '
	drop data 2 &&
	grep -q "data channel" w1.out
'

test_expect_success 'the event channel dropped: lost, reconnected' '
	drop event 3 &&
	grep -q "event channel" w1.out
'

test_expect_success 'the control connection dropped: lost, reconnected' '
	drop control 4
'

test_expect_success 'the device restarted on another AirPlay port: found again by scanning' '
	old=$(sed -n "s/^airplay //p" dn.ready) &&
	kill $FAKE_PID_dn && wait $FAKE_PID_dn;
	rm -f dn.ready &&
	start_mrp_fake dn $DN "$DEV/den.json" --airplay-port 0 --mrp-port 0 --pairings "$TRASH/dn.pairings" &&
	new=$(sed -n "s/^airplay //p" dn.ready) &&
	test "$new" != "$old" &&
	wait_for_line w1.out ".event == \"connection\" and .state == \"lost\"" 4 &&
	wait_for_line w1.out ".event == \"connection\" and .state == \"connected\"" 5 &&
	ctl dn volume 71 &&
	wait_for_line w1.out ".event == \"volume\" and .volume == 71"
'

test_expect_success 'SIGTERM: connection closed, the tunnel torn down, exit 0' '
	kill -TERM $wpid &&
	wait_for_exit $wpid &&
	test $rc -eq 0 &&
	tail -n 1 w1.out > last &&
	test_jq ".event == \"connection\" and .state == \"closed\"" last &&
	ctl_json_soon dn tunnel-state ".sessions == 0"
'

test_expect_success '--artwork DIR through the tunnel' '
	mkdir art &&
	watch w2 dn.json --artwork art &&
	wait_for_line w2.out ".event == \"playing\" and (.artwork | type) == \"string\"" &&
	jq -r "select(.artwork) | .artwork" w2.out | head -n 1 > path &&
	head -c 8 "$(cat path)" | od -An -c | grep -q "P   N   G" &&
	kill $wpid && wait_for_exit $wpid && test $rc -eq 0
'

test_expect_success 'HomePod: watched without pairing' '
	ctl hp volume 23 &&
	watch w3 hp.json &&
	wait_for_line w3.out ".event == \"volume\" and .volume == 23" &&
	ctl hp volume 24 &&
	wait_for_line w3.out ".event == \"volume\" and .volume == 24" &&
	kill $wpid && wait_for_exit $wpid && test $rc -eq 0
'

test_expect_success 'a hostile device while watching: exit 5, closed' '
	watch w4 dn.json -t 2 &&
	wait_for_line w4.out ".event == \"volume\"" &&
	ctl dn tunnel-hostile garbage-bplist &&
	wait_for_exit $wpid &&
	ctl dn tunnel-hostile none &&
	test $rc -eq 5 &&
	tail -n 1 w4.out > last &&
	test_jq ".event == \"connection\" and .state == \"closed\"" last
'

test_expect_success 'revoked while watching: reconnecting fails, closed, exit 4' '
	watch w5 dn.json &&
	wait_for_line w5.out ".event == \"volume\"" &&
	test "$(ctl dn airplay-revoke)" = 1 &&
	ctl dn tunnel-drop data > /dev/null &&
	wait_for_exit $wpid &&
	test $rc -eq 4 &&
	tail -n 1 w5.out > last &&
	test_jq ".event == \"connection\" and .state == \"closed\" and (.message | test(\"atv-pair -p airplay\"))" last
'

test_done
