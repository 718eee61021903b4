#!/bin/sh
# atv-watch over DMAP against the fake Apple TV 3 (kitchen): a snapshot on
# connect, then one event per change pushed through the playstatusupdate
# long poll (the fake holds it up to 60 s, so an event seen sooner came by
# push), a lost session, artwork, clean stops, hostile bodies.  Every wait
# is on an output line, never a fixed time.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.15.$(($$ % 250 + 1))
KI=$NET.3
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS
KI_ID=$(jq -r '.services[] | select(.type == "_touch-able._tcp") | .name' "$DEV/kitchen.json")

# watch NAME ARGS...: start atv-watch in the background on the kitchen
# config, output in NAME.out, its pid in $wpid; killed at exit
watch() {
	_w=$1
	shift
	timeout $T atv-watch "$@" < ki.json > "$_w.out" 2> "$_w.err" &
	wpid=$!
	test_atexit "kill $wpid 2>/dev/null"
}

test_expect_success 'start the fake and scan' '
	start_mrp_fake ki $KI "$DEV/kitchen.json" --dmap-port 0 &&
	atv-scan -s $KI > ki.json &&
	test_jq "[.services[] | select(.protocol == \"dmap\" and .credentials != null)] | length == 1" ki.json
'

test_expect_success 'on connect: connected over dmap, then playing and volume' '
	watch w1 -v &&
	wait_for_line w1.out ".event == \"volume\"" &&
	head -n 1 w1.out > first &&
	test_jq ".event == \"connection\" and .state == \"connected\" and .protocol == \"dmap\"" first &&
	jq -r .event w1.out | head -n 3 | sort > got &&
	printf "connection\nplaying\nvolume\n" > want &&
	test_cmp want got &&
	test_jq_all ".device == \"$KI_ID\"" w1.out
'

test_expect_success 'a playing event has the atvscript fields' '
	test_jq_sel ".event == \"playing\"" "[has(\"media_type\", \"device_state\", \"title\",
		\"artist\", \"album\", \"genre\", \"total_time\", \"position\", \"shuffle\", \"repeat\",
		\"series_name\", \"season_number\", \"episode_number\", \"content_identifier\", \"app\",
		\"app_id\", \"hash\")] | all" w1.out &&
	test_jq_sel ".event == \"playing\"" ".title == \"Loopback Blues\" and .total_time == 185" w1.out
'

test_expect_success 'changes are pushed as they happen (long poll held by the fake)' '
	ctl ki set title=First%20Title artist=The%20Band &&
	wait_for_line w1.out ".event == \"playing\" and .title == \"First Title\" and .artist == \"The Band\"" &&
	ctl ki set title=Second%20Title &&
	wait_for_line w1.out ".event == \"playing\" and .title == \"Second Title\"" &&
	test $(jq -c "select(.event == \"playing\" and .title == \"Second Title\")" w1.out | wc -l) -eq 1
'

test_expect_success 'changes made by atv-send over dmap are seen' '
	atv-send set_volume=64 play < ki.json > /dev/null &&
	wait_for_line w1.out ".event == \"volume\" and .volume == 64" &&
	wait_for_line w1.out ".event == \"playing\" and .device_state == \"playing\"" &&
	atv-send set_shuffle=songs set_repeat=all < ki.json > /dev/null &&
	wait_for_line w1.out ".event == \"playing\" and .shuffle == \"songs\" and .repeat == \"all\""
'

test_expect_success 'a lost session: the watcher logs in again and events keep coming' '
	ctl ki dmap-drop > /dev/null &&
	ctl ki set title=After%20Drop &&
	wait_for_line w1.out ".event == \"playing\" and .title == \"After Drop\"" &&
	kill $wpid && wait_for_exit $wpid && test $rc -eq 0 &&
	tail -n 1 w1.out > last &&
	test_jq ".event == \"connection\" and .state == \"closed\"" last
'

test_expect_success '--artwork DIR: the PNG is saved and named in the event' '
	mkdir art &&
	watch w2 --artwork art &&
	wait_for_line w2.out ".event == \"playing\" and (.artwork | type) == \"string\"" &&
	jq -r "select(.artwork) | .artwork" w2.out | head -n 1 > path &&
	test -s "$(cat path)" &&
	head -c 8 "$(cat path)" | od -An -c | grep -q "P   N   G" &&
	kill -INT $wpid && wait_for_exit $wpid && test $rc -eq 0
'

test_expect_success 'an unknown pairing guid: exit 4 at once' '
	jq -c ".services |= map(if .protocol == \"dmap\" then .credentials = \"0x2\" else . end)" \
		ki.json > bad.json &&
	test_must_fail 4 timeout $T atv-watch < bad.json > out 2> err &&
	grep -q "atv-pair -p dmap" err
'

test_expect_success 'a hostile body while watching: closed, exit 5, no crash' '
	watch w3 &&
	wait_for_line w3.out ".event == \"volume\"" &&
	ctl ki hostile-dmap lying-length &&
	wait_for_exit $wpid &&
	test $rc -eq 5 &&
	tail -n 1 w3.out > last &&
	test_jq ".event == \"connection\" and .state == \"closed\"" last &&
	ctl ki hostile-dmap none
'

test_done
