#!/bin/sh
# The fake's side of the MRP tunnel (AirPlay 2), step by step with
# t/helpers/tunnel-probe: session SETUP and its event channel (updateInfo
# after RECORD, at once under skipRecord), stream SETUP and its data
# channel (rply to every sync, byte for byte; several and bare MRP
# messages per frame, into the same player), /feedback, TEARDOWN, the
# control commands and the hostile modes.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

PROBE=$top_builddir/t/helpers/tunnel-probe
NET=127.33.$(($$ % 250 + 1))
HP=$NET.2 OF=$NET.3
MAX=18446744073709551615
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

tst() { ctl_json_is "$1" tunnel-state "$2"; }
# tst_wait NAME FILTER: until the tunnel state satisfies FILTER (5 s)
tst_wait() { ctl_json_soon "$1" tunnel-state "$2"; }

# probe NAME HOST STEP...: the probe against HOST's airplay port; lines in
# NAME.out, errors in NAME.err, its exit status in NAME.rc
probe() {
	_n=$1 _h=$2
	shift 2
	_p=$(sed -n "s/^airplay //p" "$TRASH/$(cat "$TRASH/$_h.name").ready")
	timeout $T "$PROBE" "$(cat "$TRASH/$_h.addr")" "$_p" "$@" < "$TRASH/$_h.creds" \
		> "$_n.out" 2> "$_n.err"
	echo $? > "$_n.rc"
}
rc_is() { test "$(cat "$1.rc")" = "$2" || { cat "$1.out" "$1.err" >&2; return 1; }; }
line() { grep "\"$2\":\"$3\"" "$1.out" | head -n 1; }

# the rply a device sends for SEQNO: 74 bytes (tunnel-companion.md 4: the
# iOS capture's header), the empty dict as plistlib writes it (42 bytes:
# the notes' hex of it has one 00 too many after d008, 43 bytes, which
# the capture's size 0x4a does not allow)
rply_hex() {
	printf "0000004a72706c79000000000000000000000000%016x00000000" "$1"
	printf "62706c6973743030d0080000000000000101000000000000000100000000000000"
	printf "000000000000000009"
}

test_expect_success 'start the HomePod and the tvOS 27 Apple TV (skipRecord); pair the latter' '
	start_mrp_fake hp $HP "$DEV/homepod.json" --airplay-port 0 &&
	start_mrp_fake of $OF "$DEV/office.json" --airplay-port 0 &&
	echo hp > hp.name && echo $HP > hp.addr && : > hp.creds &&
	echo of > of.name && echo $OF > of.addr &&
	ctl of airplay-pin 1357 &&
	atv-scan -s $OF > of.json &&
	atv-pair -p airplay --pin 1357 < of.json > /dev/null &&
	jq -r "select(.protocol == \"airplay\") | .credentials" "$ATV_CREDENTIALS" > of.creds &&
	test -s of.creds
'

test_expect_success 'session SETUP: eventPort, timingPort; RECORD 200 with Audio-Latency 0' '
	probe s1 hp transient setup events record info feedback &&
	rc_is s1 0 &&
	test_jq "select(.step == \"setup\") | .status == 200 and .eventPort > 0 and
		.skipRecord == false and .timingPort == true" s1.out &&
	test_jq "select(.step == \"record\") | .status == 200 and .latency == \"0\"" s1.out
'

test_expect_success 'event channel: POST /command RTSP/1.0, CSeq 0, updateInfo, answered' '
	test_jq "select(.step == \"info\") | .request == \"POST /command RTSP/1.0\" and
		.cseq == \"0\" and .type == \"updateInfo\" and .name == \"Kitchen HomePod\"" s1.out &&
	tst_wait hp ".updateinfo_sent == 1 and .updateinfo_answered == 1 and .records == 1"
'

test_expect_success 'a new SETUP gets a new event port' '
	probe s2 hp transient setup setup &&
	rc_is s2 0 &&
	test $(jq -s "map(.eventPort) | unique | length" s2.out) -ge 2
'

test_expect_success 'stream SETUP: type 130, streamID 1, a data port (seed 2^64-1)' '
	probe s3 hp transient setup events record stream $MAX data sync 4294967297 pump 300 &&
	rc_is s3 0 &&
	test_jq "select(.step == \"stream\") | .status == 200 and .type == 130 and
		.streamID == 1 and .dataPort > 0" s3.out
'

test_expect_success 'every sync is answered at once: rply, same seqno, {} (74 bytes)' '
	line s3 frame rply > r.json &&
	test_jq ".seqno == 4294967297 and .size == 74 and .cmd == \"\"" r.json &&
	test "$(jq -r .hex r.json)" = "$(rply_hex 4294967297)"
'

test_expect_success 'three messages in one frame, and a bare one: the same MRP server' '
	probe s4 hp transient setup events record stream 7 data hello pump 500 bare pump 300 &&
	rc_is s4 0 &&
	grep -q "\"DEVICE_INFO_MESSAGE\"" s4.out &&
	grep -q "\"SET_STATE_MESSAGE\"" s4.out &&
	grep -q "\"VOLUME_DID_CHANGE_MESSAGE\"" s4.out &&
	test $(grep -c "\"types\":\\[\"DEVICE_INFO_MESSAGE\"\\]" s4.out) -eq 2 &&
	test_jq "select(.frame == \"sync\") | .cmd == \"cmnd\" and .payload_ok" s4.out &&
	tst hp "(.message_types | map(select(. == \"DEVICE_INFO_MESSAGE\")) | length) >= 2 and
		(.message_types | index(\"CLIENT_UPDATES_CONFIG_MESSAGE\") != null)"
'

# tunnel-companion.md 4: params.data of an iOS capture, SET_CONNECTION_STATE
# (state 2) with its uniqueIdentifier, 48 bytes behind its length byte
SCS=3008262000d202020802aa0524$(printf E66952D1-F8F3-4F58-8914-4B507443B321 | od -An -tx1 | tr -d " \n")

test_expect_success 'the captured params.data (SET_CONNECTION_STATE) reaches MRP' '
	probe c1 hp transient setup events record stream 3 data params $SCS pump 300 &&
	rc_is c1 0 &&
	test_jq "select(.frame == \"rply\") | .seqno == 4294967298" c1.out &&
	tst hp ".message_types[-1] == \"SET_CONNECTION_STATE_MESSAGE\""
'

test_expect_success 'play and pause through the tunnel move the player; pushes come back' '
	ctl hp set title=Before &&
	probe s5 hp transient setup events record stream 9 data hello pump 300 play pump 300 &&
	rc_is s5 0 &&
	fake_state hp | jq -e ".playing.device_state == \"playing\" and
		(.commands | index(\"play\") != null)" > /dev/null &&
	grep -q "SEND_COMMAND_RESULT_MESSAGE" s5.out
'

test_expect_success '/feedback 200 and counted; TEARDOWN of the stream, then the session' '
	probe s6 hp transient setup events record stream 11 data feedback feedback \
		teardown-stream teardown &&
	rc_is s6 0 &&
	test_jq "select(.step == \"feedback\") | .status == 200" s6.out &&
	test_jq "select(.step | . != null and startswith(\"teardown\")) | .status == 200" s6.out &&
	tst hp ".feedback >= 2 and .teardowns >= 2 and .sessions == 0 and .data_channels == 0"
'

test_expect_success 'RTSP before pairing: 470' '
	probe s7 hp setup &&
	rc_is s7 0 &&
	test_jq "select(.step == \"setup\") | .status == 470" s7.out
'

test_expect_success 'skipRecord: no timingPort, updateInfo comes without RECORD' '
	probe k1 of verify setup events info &&
	rc_is k1 0 &&
	test_jq "select(.step == \"setup\") | .skipRecord == true and .timingPort == false" k1.out &&
	test_jq "select(.step == \"info\") | .type == \"updateInfo\" and .name == \"Office\"" k1.out &&
	tst of ".records == 0 and .updateinfo_sent == 1 and .skip_record == true"
'

test_expect_success 'the tvOS 27 Apple TV closes direct MRP connections at once' '
	mrp_port=$(sed -n "s/^mrp //p" of.ready) &&
	python3 -c "import socket, sys; s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
s.settimeout(5); sys.exit(s.recv(1) != b\"\")" $OF $mrp_port &&
	grep -q "closing a direct connection" of.log
'

# hostile MODE EXPECTED-RC: with the mode on, a session that syncs and
# pumps ends with EXPECTED-RC (5: the device broke the protocol)
hostile() {
	ctl hp tunnel-hostile "$1" &&
	probe h hp transient setup events record stream 5 data hello pump 1500
	_rc=$(cat h.rc)
	ctl hp tunnel-hostile none
	test "$_rc" = "$2" || { echo "hostile $1: exit $_rc" >&2; cat h.out h.err >&2; return 1; }
}

test_expect_success 'hostile bad-frame-size and huge-frame: the frame decoder refuses' '
	hostile bad-frame-size 5 &&
	hostile huge-frame 5
'

test_expect_success 'hostile huge-block: a HAP block cut short, then the end' '
	hostile huge-block 5
'

test_expect_success 'hostile wrong-type and garbage-bplist: seen as they are' '
	hostile wrong-type 0 && grep -q "\"frame\":\"junk\"" h.out &&
	hostile garbage-bplist 0 && grep -q "\"payload_ok\":false" h.out
'

test_expect_success 'hostile no-rply: our syncs go unanswered, MRP still works' '
	ctl hp tunnel-hostile no-rply &&
	probe n hp transient setup events record stream 5 data sync 77 pump 300 hello pump 500 &&
	ctl hp tunnel-hostile none &&
	rc_is n 0 &&
	! grep -q "\"frame\":\"rply\"" n.out &&
	grep -q "DEVICE_INFO_MESSAGE" n.out
'

test_expect_success 'hostile big-blocks: 16 KB HAP blocks are still a valid channel' '
	hostile big-blocks 0 && grep -q "SET_STATE_MESSAGE" h.out
'

test_expect_success 'hostile close-event: the event channel closes, updateInfo never comes' '
	ctl hp tunnel-hostile close-event &&
	probe e hp transient setup events record info &&
	ctl hp tunnel-hostile none &&
	rc_is e 3
'

test_expect_success 'an updateInfo nobody answers: the event channel closes (info_timeout_ms)' '
	jq ".tunnel = {info_timeout_ms: 300}" "$DEV/homepod.json" > quick.json &&
	start_mrp_fake hq $NET.4 quick.json --airplay-port 0 &&
	echo hq > hq.name && echo $NET.4 > hq.addr && : > hq.creds &&
	( probe q hq transient setup events record stream 5 data pump 3000 ) &
	pid=$! &&
	tst_wait hq ".updateinfo_sent == 1 and .event_channels == 0 and .data_channels == 1" &&
	grep -q "updateInfo unanswered" hq.log &&
	wait $pid && rc_is q 0
'

test_expect_success 'tunnel-drop data while pumping: the probe sees the end' '
	( probe d hp transient setup events record stream 5 data hello pump 3000 ) &
	pid=$! &&
	wait_for_line d.out ".step == \"data\"" &&
	ctl hp tunnel-drop data > n.drop && test "$(cat n.drop)" = 1 &&
	wait $pid && rc_is d 3
'

test_expect_success 'tunnel-drop control, event; unknown names and modes refused' '
	ctl hp tunnel-drop control > /dev/null &&
	ctl hp tunnel-drop event > /dev/null &&
	test_must_fail 1 ctl hp tunnel-drop nothing &&
	test_must_fail 1 ctl hp tunnel-hostile nothing
'

test_done
