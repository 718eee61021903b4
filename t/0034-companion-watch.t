#!/bin/sh
# atv-watch with Companion against the fake Apple TV: power and attention
# events from the device's system status pushes, over Companion alone and
# next to MRP (where playing events stay MRP's), a dropped Companion
# connection, revoked credentials.  Every wait is on an output line.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.34.$(($$ % 250 + 1))
LR=$NET.12
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

# watch NAME ARGS...: atv-watch in the background on the living room
# config, output in NAME.out, its pid in $wpid; killed at exit
watch() {
	_w=$1
	shift
	timeout $T atv-watch "$@" < lr.json > "$_w.out" 2> "$_w.err" &
	wpid=$!
	test_atexit "kill $wpid 2>/dev/null"
}

# stop_watch: SIGTERM, and its exit status in $rc
stop_watch() {
	kill -TERM $wpid && wait_for_exit $wpid
}

test_expect_success 'start the fake, scan, pair Companion only' '
	start_mrp_fake lr $LR &&
	atv-scan -s $LR > lr.json &&
	ctl lr companion-pin 2468 &&
	atv-pair -p companion --pin 2468 < lr.json > /dev/null
'

test_expect_success 'over Companion alone: connected, power, attention in the snapshot' '
	ctl lr power on &&
	watch w1 &&
	wait_for_line w1.out ".event == \"attention\"" &&
	test_jq_sel ".event == \"connection\"" \
		".state == \"connected\" and .protocol == \"companion\"" w1.out &&
	test_jq_sel ".event == \"power\"" ".power_state == \"on\"" w1.out &&
	test_jq_sel ".event == \"attention\"" ".attention == \"awake\"" w1.out &&
	test_jq_all ".device == \"$LR_ID\"" w1.out
'

test_expect_success 'the device turns off and on: power and attention events' '
	ctl lr power off &&
	wait_for_line w1.out ".event == \"power\" and .power_state == \"off\"" &&
	wait_for_line w1.out ".event == \"attention\" and .attention == \"asleep\"" &&
	ctl lr power on &&
	wait_for_line w1.out ".event == \"power\" and .power_state == \"on\"" 2
'

test_expect_success 'the screensaver: an attention event, power stays on' '
	ctl lr companion-attention screensaver &&
	wait_for_line w1.out ".event == \"attention\" and .attention == \"screensaver\"" &&
	jq -c "select(.event == \"power\")" w1.out | tail -n 1 > last &&
	test_jq ".power_state == \"on\"" last &&
	ctl lr companion-attention awake &&
	wait_for_line w1.out ".event == \"attention\" and .attention == \"awake\"" 2
'

test_expect_success 'another client turns it off (atv-send): seen' '
	atv-send turn_off < lr.json > /dev/null &&
	wait_for_line w1.out ".event == \"power\" and .power_state == \"off\"" 2 &&
	atv-send turn_on < lr.json > /dev/null &&
	wait_for_line w1.out ".event == \"power\" and .power_state == \"on\"" 3
'

test_expect_success 'a dropped Companion connection: lost, connected again' '
	ctl lr companion-drop &&
	wait_for_line w1.out ".event == \"connection\" and .state == \"lost\"" &&
	wait_for_line w1.out ".event == \"connection\" and .state == \"connected\"" 2 &&
	stop_watch && test "$rc" -eq 0
'

test_expect_success 'next to MRP: playing from MRP, power and attention from Companion' '
	ctl lr pin 1357 &&
	atv-pair --pin 1357 < lr.json > /dev/null &&
	watch w2 &&
	wait_for_line w2.out ".event == \"attention\"" &&
	test_jq_sel ".event == \"connection\"" ".protocol == \"mrp\"" w2.out &&
	wait_for_line w2.out ".event == \"playing\"" &&
	ctl lr power off &&
	wait_for_line w2.out ".event == \"attention\" and .attention == \"asleep\"" &&
	wait_for_line w2.out ".event == \"power\" and .power_state == \"off\"" &&
	ctl lr power on &&
	wait_for_line w2.out ".event == \"power\" and .power_state == \"on\"" 2 &&
	ctl lr set title=Over%20MRP &&
	wait_for_line w2.out ".event == \"playing\" and .title == \"Over MRP\"" &&
	stop_watch && test "$rc" -eq 0
'

test_expect_success 'revoked Companion credentials while watching: closed, exit 4' '
	watch w3 -p companion &&
	wait_for_line w3.out ".event == \"attention\"" &&
	ctl lr companion-revoke &&
	ctl lr companion-drop &&
	wait_for_line w3.out ".event == \"connection\" and .state == \"closed\"" &&
	wait_for_exit $wpid &&
	test "$rc" -eq 4
'

test_done
