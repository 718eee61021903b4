#!/bin/sh
# MRP over AirPlay 2 (tvOS 15+, HomePods) with atv-send against the fake:
# the choice of the tunnel, pairing for AirPlay then every kind of command,
# playing and artwork through it, skipRecord, a HomePod without pairing,
# wrong credentials (exit 4) and every hostile mode of the fake's tunnel
# (exit 5 within -t, never a hang).
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.31.$(($$ % 250 + 1))
DN=$NET.2 OF=$NET.3 HP=$NET.4
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

# tst NAME FILTER: the fake's tunnel state satisfies the jq FILTER
tst() { ctl_json_soon "$1" tunnel-state "$2"; }

test_expect_success 'start the fakes (tvOS 17, tvOS 27 with skipRecord, HomePod), scan' '
	start_mrp_fake dn $DN "$DEV/den.json" --airplay-port 0 --mrp-port 0 &&
	start_mrp_fake of $OF "$DEV/office.json" --airplay-port 0 --mrp-port 0 &&
	start_mrp_fake hp $HP "$DEV/homepod.json" --airplay-port 0 &&
	atv-scan -s $DN > dn.json && atv-scan -s $OF > of.json && atv-scan -s $HP > hp.json &&
	test_jq "(.services[] | select(.protocol == \"mrp\") | .enabled) == false" dn.json &&
	test_jq "[.services[].protocol] | index(\"mrp\") == null" hp.json
'

test_expect_success 'tvOS 15+ without AirPlay credentials: exit 4 naming atv-pair -p airplay' '
	test_must_fail 4 timeout $T atv-send play < dn.json > out 2> err &&
	test_fail_line out &&
	grep -q "atv-pair -p airplay" err && test $(wc -l < err) -eq 1 &&
	test_must_fail 4 timeout $T atv-send -p mrp play < dn.json 2> err &&
	grep -q "atv-pair -p airplay" err
'

test_expect_success 'pair for AirPlay, then play and playing go through the tunnel' '
	timeout $T atv-pair -p airplay --pin 1111 < dn.json > /dev/null &&
	ctl dn set device_state=paused &&
	send dn.json -v play playing &&
	grep -q "over mrp" send.err &&
	test_jq_sel ".command == \"playing\"" ".playing.device_state == \"playing\"" send.out &&
	fake_state dn | jq -e ".playing.device_state == \"playing\"" > /dev/null &&
	tst dn ".sessions == 0 and .setups >= 2 and .records >= 1 and .teardowns >= 2 and
		.syncs_in >= 3 and .rplys_in >= 1"
'

test_expect_success 'remote keys, volume, position, shuffle, repeat through the tunnel' '
	send dn.json up select home_hold set_volume=35 set_position=20 set_shuffle=songs \
		set_repeat=all next previous &&
	test $(jq -s length send.out) -eq 9 &&
	fake_state dn > st.json &&
	jq -e ".volume == 35" st.json > /dev/null
'

test_expect_success 'a key is done once the device has taken and handled it' '
	ctl dn set device_state=playing &&
	send dn.json pause &&
	fake_state dn | jq -e ".playing.device_state == \"paused\"" > /dev/null &&
	send dn.json volume_up &&
	send dn.json -p mrp play &&
	fake_state dn | jq -e ".playing.device_state == \"playing\"" > /dev/null
'

test_expect_success 'many commands from stdin over one tunnel' '
	{ cat dn.json; for i in 1 2 3 4 5 6 7 8 9 10; do echo play_pause; done; } > batch &&
	timeout $T atv-send < batch > out &&
	test $(jq -s "map(select(.ok)) | length" out) -eq 10
'

test_expect_success 'skipRecord (tvOS 27): no RECORD, and commands work' '
	timeout $T atv-pair -p airplay --pin 1111 < of.json > /dev/null &&
	send of.json play set_volume=12 playing &&
	tst of ".skip_record == true and .records == 0 and .setups >= 2" &&
	fake_state of | jq -e ".volume == 12" > /dev/null
'

test_expect_success 'HomePod: no pairing, transient each time' '
	send hp.json set_volume=25 play playing &&
	fake_state hp | jq -e ".volume == 25" > /dev/null &&
	test ! -s "$ATV_CREDENTIALS" || ! grep -q "D4:90:9C:1E:2F:30" "$ATV_CREDENTIALS"
'

test_expect_success 'the tunnel quits cleanly: every session torn down' '
	tst dn ".sessions == 0 and .data_channels == 0 and .event_channels == 0" &&
	tst hp ".sessions == 0"
'

test_expect_success 'revoked AirPlay credentials: exit 4, pair again' '
	test "$(ctl dn airplay-revoke)" = 1 &&
	test_must_fail 4 timeout $T atv-send play < dn.json > out 2> err &&
	test_fail_line out &&
	grep -q "atv-pair -p airplay" err &&
	timeout $T atv-pair -p airplay --pin 1111 < dn.json > /dev/null &&
	send dn.json play
'

# hostile MODE: the fake breaks its tunnel that way; atv-send gives up with
# exit 5 within the timeout (2 s here), with one line on stderr
for mode in bad-frame-size huge-frame wrong-type no-rply garbage-bplist huge-block; do
	test_expect_success "hostile tunnel ($mode): exit 5 within -t" "
		ctl dn tunnel-hostile $mode &&
		start=\$(date +%s) &&
		test_must_fail 5 timeout $T atv-send -t 2 up < dn.json > out 2> err &&
		end=\$(date +%s) &&
		test \$((end - start)) -le 5 &&
		test \$(wc -l < err) -eq 1 &&
		ctl dn tunnel-hostile none
	"
done

test_expect_success 'big HAP blocks (as tvOS 27 sends them) are fine' '
	ctl dn tunnel-hostile big-blocks &&
	send dn.json play playing &&
	ctl dn tunnel-hostile none
'

test_expect_success 'the device closes the event channel: exit 3, not a hang' '
	ctl dn tunnel-hostile close-event &&
	test_must_fail 3 timeout $T atv-send -t 2 play < dn.json > out 2> err &&
	grep -q "event channel" err &&
	ctl dn tunnel-hostile none
'

test_expect_success 'after all that, the tunnel still works' '
	send dn.json play playing
'

test_done
