#!/bin/sh
# atv-watch over MRP against the fake Apple TV: events as the fake's state
# changes, a dropped connection, a moved port, clean stops.  Every wait is
# on an output line, never a fixed time.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.12.$(($$ % 250 + 1))
LR=$NET.2 NONE=$NET.9
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

# watch NAME ARGS...: start atv-watch in the background on the living room
# config, output in NAME.out, its pid in $wpid; killed at exit
watch() {
	_w=$1
	shift
	timeout $T atv-watch "$@" < lr.json > "$_w.out" 2> "$_w.err" &
	wpid=$!
	test_atexit "kill $wpid 2>/dev/null"
}

test_expect_success 'start the fake, scan and pair' '
	start_mrp_fake lr $LR &&
	atv-scan -s $LR > lr.json &&
	atv-pair --pin 1111 < lr.json > /dev/null
'

test_expect_success 'on connect: connected, then playing, power and volume' '
	ctl lr volume 42 &&
	ctl lr power on &&
	watch w1 -v &&
	wait_for_line w1.out ".event == \"volume\"" &&
	jq -r .event w1.out | head -n 4 > got &&
	head -n 1 got > first &&
	echo connection > want &&
	test_cmp want first &&
	sort got > got.sorted &&
	printf "connection\nplaying\npower\nvolume\n" > want &&
	test_cmp want got.sorted &&
	test_jq_sel ".event == \"connection\"" ".state == \"connected\" and .protocol == \"mrp\"" w1.out &&
	test_jq_sel ".event == \"volume\"" ".volume == 42" w1.out &&
	test_jq_sel ".event == \"power\"" ".power_state == \"on\"" w1.out
'

test_expect_success 'every event has time (ISO 8601 UTC) and device' '
	test_jq_all ".time | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$\")" w1.out &&
	test_jq_all ".device == \"$LR_ID\"" w1.out
'

test_expect_success 'a playing event has the atvscript fields' '
	test_jq_sel ".event == \"playing\"" "[has(\"media_type\", \"device_state\", \"title\",
		\"artist\", \"album\", \"genre\", \"total_time\", \"position\", \"shuffle\", \"repeat\",
		\"series_name\", \"season_number\", \"episode_number\", \"content_identifier\", \"app\",
		\"app_id\", \"hash\")] | all" w1.out
'

test_expect_success 'now-playing changes appear as they happen' '
	ctl lr set title=First%20Title artist=The%20Band &&
	wait_for_line w1.out ".event == \"playing\" and .title == \"First Title\" and .artist == \"The Band\"" &&
	ctl lr set title=Second%20Title &&
	wait_for_line w1.out ".event == \"playing\" and .title == \"Second Title\""
'

test_expect_success 'volume and power changes appear as they happen' '
	ctl lr volume 17 &&
	wait_for_line w1.out ".event == \"volume\" and .volume == 17" &&
	ctl lr power off &&
	wait_for_line w1.out ".event == \"power\" and .power_state == \"off\"" &&
	ctl lr power on &&
	wait_for_line w1.out ".event == \"power\" and .power_state == \"on\""
'

test_expect_success 'changes made by another client (atv-send) are seen' '
	atv-send set_volume=64 pause < lr.json > /dev/null &&
	wait_for_line w1.out ".event == \"volume\" and .volume == 64" &&
	wait_for_line w1.out ".event == \"playing\" and .device_state == \"paused\""
'

test_expect_success 'position: from the elapsed time, its timestamp and the rate' '
	ctl lr set device_state=paused elapsed=100 &&
	wait_for_line w1.out ".event == \"playing\" and .device_state == \"paused\" and .position == 100" &&
	atv-send play < lr.json > /dev/null &&
	wait_for_line w1.out ".event == \"playing\" and .device_state == \"playing\" and .position >= 100"
'

test_expect_success 'drop: lost, connected again, and events keep coming' '
	ctl lr drop &&
	wait_for_line w1.out ".event == \"connection\" and .state == \"lost\"" &&
	wait_for_line w1.out ".event == \"connection\" and .state == \"connected\"" 2 &&
	ctl lr set title=After%20The%20Drop &&
	wait_for_line w1.out ".event == \"playing\" and .title == \"After The Drop\""
'

test_expect_success 'a fresh snapshot after reconnecting' '
	sed -n "/\"state\":\"lost\"/,\$p" w1.out > after &&
	wait_for_line after ".event == \"volume\"" &&
	wait_for_line after ".event == \"power\""
'

test_expect_success 'the MRP port moved: reconnected there, found by identifier' '
	old=$(fake_state lr | jq .mrp_port) &&
	new=$(ctl lr mrp-port 0) &&
	test "$new" != "$old" &&
	wait_for_line w1.out ".event == \"connection\" and .state == \"lost\"" 2 &&
	wait_for_line w1.out ".event == \"connection\" and .state == \"connected\"" 3 &&
	ctl lr volume 71 &&
	wait_for_line w1.out ".event == \"volume\" and .volume == 71" &&
	grep -q "again" w1.err
'

test_expect_success 'SIGTERM: connection closed, exit 0' '
	kill -TERM $wpid &&
	wait_for_exit $wpid &&
	test $rc -eq 0 &&
	tail -n 1 w1.out > last &&
	test_jq ".event == \"connection\" and .state == \"closed\"" last
'

test_expect_success 'SIGINT: connection closed, exit 0' '
	watch w2 &&
	wait_for_line w2.out ".event == \"volume\"" &&
	kill -INT $wpid &&
	wait_for_exit $wpid &&
	test $rc -eq 0 &&
	tail -n 1 w2.out > last &&
	test_jq ".event == \"connection\" and .state == \"closed\"" last
'

test_expect_success '--until-eof: the end of stdin stops it cleanly' '
	{ rm -f in && mkfifo in || return 1; } &&
	{ timeout $T atv-watch --until-eof -i $LR_ID -s $LR < in > w3.out 2> w3.err & } &&
	pid=$! &&
	exec 3> in &&
	wait_for_line w3.out ".event == \"volume\"" &&
	echo "anything" >&3 &&
	ctl lr volume 12 &&
	wait_for_line w3.out ".event == \"volume\" and .volume == 12" &&
	exec 3>&- &&
	wait_for_exit $pid &&
	test $rc -eq 0 &&
	tail -n 1 w3.out > last &&
	test_jq ".event == \"connection\" and .state == \"closed\"" last
'

test_expect_success '--until-eof with the config on stdin' '
	{ cat lr.json; } | timeout $T atv-watch --until-eof > w4.out &&
	test_jq_sel ".event == \"connection\"" ".state" w4.out &&
	tail -n 1 w4.out > last &&
	test_jq ".state == \"closed\"" last
'

test_expect_success '--artwork DIR: the image is saved and named in the event' '
	mkdir art &&
	watch w5 --artwork art &&
	wait_for_line w5.out ".event == \"playing\" and (.artwork | type) == \"string\"" &&
	jq -r "select(.artwork) | .artwork" w5.out | head -n 1 > path &&
	test -s "$(cat path)" &&
	case $(cat path) in art/*.png) ;; *) false ;; esac &&
	head -c 8 "$(cat path)" | od -An -c | grep -q "P   N   G" &&
	! ls art | grep -v "\.png$" &&
	kill $wpid && wait_for_exit $wpid && test $rc -eq 0
'

test_expect_success '--artwork with a directory that is not there exits 7' '
	test_must_fail 7 atv-watch --artwork no-such-dir < lr.json 2> err &&
	grep -q "no-such-dir" err
'

test_expect_success 'missing credentials exit 4 at once' '
	: > empty-creds && chmod 600 empty-creds &&
	test_must_fail 4 timeout $T atv-watch -c empty-creds < lr.json > out 2> err &&
	test_fail_line out &&
	grep -q "atv-pair" err
'

test_expect_success 'an unreachable device exits 3 at start' '
	jq -c ".address = \"$NONE\"" lr.json > gone.json &&
	test_must_fail 3 timeout $T atv-watch -t 0.5 < gone.json 2> err
'

test_expect_success 'revoked while watching: reconnecting fails, closed, exit 4' '
	watch w6 &&
	wait_for_line w6.out ".event == \"volume\"" &&
	ctl lr revoke &&
	ctl lr drop &&
	wait_for_exit $wpid &&
	test $rc -eq 4 &&
	tail -n 1 w6.out > last &&
	test_jq ".event == \"connection\" and .state == \"closed\" and (.message | length > 0)" last
'

test_expect_success 'usage errors exit 2' '
	test_must_fail 2 atv-watch extra < lr.json &&
	test_must_fail 2 atv-watch -p airplay < lr.json &&
	test_must_fail 2 atv-watch --no-such-option < lr.json &&
	atv-watch --help | grep -q until-eof &&
	atv-watch --version | grep -q atv-tools
'

test_done
