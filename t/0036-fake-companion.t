#!/bin/sh
# The fake's Companion server, driven by t/helpers/companion-probe (a small
# controller on lib/opack, lib/hap and lib/companion_frame, not atv-send):
# pairing and its failures, the connect sequence, every message the fake
# answers, pushes, the state the control socket shows, hostile replies.
# t/0035 drives the same server with pyatv.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.36.$(($$ % 250 + 1))
LR=$NET.2
PIN=8642
PORT=49153

st() { ctl_json_is lr companion-state "$1"; }

# probe NAME STEP...: run the steps (one per argument) with the credentials;
# output in NAME.out, errors in NAME.err, exit status in $rc
probe() {
	_o=$1
	shift
	{ cat probe.creds && printf "%s\n" "$@"; } |
		timeout $T companion-probe $LR $PORT run > "$_o.out" 2> "$_o.err"
	rc=$?
	cat "$_o.out" "$_o.err" >&2
	return 0
}
# the reply lines of NAME.out: "_i {message}" -> {message}
msg() { grep "^$2 " "$1.out" | sed "s/^[^ ]* //" | head -1; }
START="req _systemInfo _i=0123456789ab name=probe"

test_expect_success 'start the fake: companion served on its port' '
	start_mrp_fake lr $LR &&
	grep -qx "companion $PORT" lr.ready &&
	ctl lr companion-pin $PIN &&
	st ".companion_port == $PORT and .pairings == 0"
'

test_expect_success 'pair-setup with a wrong PIN: authentication error (4)' '
	echo 1 | timeout $T companion-probe $LR $PORT pair > bad.out 2> bad.err;
	test $? -eq 4 && grep -q "wrong pin" bad.err &&
	st ".pairings == 0"
'

test_expect_success 'pair-setup with the PIN: credentials, the controller stored' '
	echo $PIN | timeout $T companion-probe $LR $PORT pair > probe.creds &&
	grep -Eq "^[0-9a-f]+:[0-9a-f]+:[0-9a-f]+:[0-9a-f]+$" probe.creds &&
	st ".pairings == 1 and .pairing_ids == [\"C0A1B2C3-0000-4000-8000-0000000000AA\"]" &&
	grep -q "companion .*: paired with controller C0A1B2C3-.* (probe)" lr.log
'

test_expect_success 'pair-verify, then _systemInfo records the client id' '
	probe si "$START" &&
	test $rc -eq 0 &&
	test "$(msg si _systemInfo)" = "{\"_i\":\"_systemInfo\",\"_t\":3,\"_x\":100,\"_c\":{}}" &&
	st "(.system_info | contains(\"0123456789ab\")) and
		(.requests[-1:] == [\"_systemInfo\"])"
'

test_expect_success '_systemInfo without _i: an error, then the device closes' '
	probe noi "req _systemInfo name=probe" "req FetchLaunchableApplicationsEvent" &&
	test $rc -eq 3 &&
	msg noi _systemInfo | jq -e "._em == \"Invalid client identifier\"" &&
	grep -q "_systemInfo without a usable _i" lr.log
'

test_expect_success 'sessions: _sessionStart id, _sessionStop with ours<<32|theirs' '
	probe ss "$START" "req _sessionStart _srvT=com.apple.tvremoteservices _sid=7" \
		"req _sessionStop _srvT=com.apple.tvremoteservices _sid=1" &&
	remote=$(msg ss _sessionStart | jq "._c._sid") &&
	test -n "$remote" &&
	msg ss _sessionStop | jq -e "._em == \"Session not found\"" &&
	probe ss2 "$START" "req _sessionStart _srvT=com.apple.tvremoteservices _sid=7" \
		"req _sessionStop _srvT=com.apple.tvremoteservices _sid=$(( ($remote + 1) * 4294967296 + 7 ))" &&
	msg ss2 _sessionStop | jq -e "._c == {}" &&
	probe ss3 "$START" "req _sessionStart _srvT=com.example _sid=7" &&
	msg ss3 _sessionStart | jq -e "._em == \"Unsupported service type\""
'

test_expect_success 'TVRCSessionStart echoed; FetchAttentionState answered after it' '
	probe tv "$START" "req TVRCSessionStart ProtocolVersionKey=s:1.2" "req FetchAttentionState" &&
	test $rc -eq 0 &&
	msg tv TVRCSessionStart | jq -e "._c == {\"ProtocolVersionKey\": \"1.2\"}" &&
	msg tv FetchAttentionState | jq -e "._c == {\"state\": 3}"
'

test_expect_success 'FetchAttentionState before TVRCSessionStart: unanswered (tvOS 26.5)' '
	probe fa "$START" "req FetchAttentionState" &&
	test $rc -eq 3 && grep -q "no answer" fa.err
'

test_expect_success 'an unknown request: No request handler, 58822' '
	probe nr "$START" "req _noSuchThing a=1" &&
	msg nr _noSuchThing | jq -e "._ec == 58822 and ._ed == \"RPErrorDomain\" and
		._em == \"No request handler\" and ._x == 101"
'

test_expect_success '_touchStart checks the pad size' '
	probe ts "$START" "req _touchStart _width=1000.0 _height=1000.0 _tFl=0" \
		"req _touchStart _width=0.0 _height=1000.0" "req _touchStop _i=1" &&
	test "$(grep -c "^_touchStart .*\"_c\":{}" ts.out)" -eq 1 &&
	grep "^_touchStart" ts.out | tail -1 | grep -q "Invalid touchpad"
'

test_expect_success '_hidC: keys logged, down then up; up without down is an error' '
	probe k "$START" "req _hidC _hBtS=1 _hidC=15" "req _hidC _hBtS=2 _hidC=15" \
		"req _hidC _hBtS=1 _hidC=17" "req _hidC _hBtS=2 _hidC=17" \
		"req _hidC _hBtS=1 _hidC=19" "req _hidC _hBtS=2 _hidC=19" \
		"req _hidC _hBtS=2 _hidC=16" &&
	test $rc -eq 0 &&
	st "[.keys[-3:][]] == [\"channel_up\", \"guide\", \"control_center\"]" &&
	tail -1 k.out | grep -q "Missing button DOWN for channel_down"
'

test_expect_success 'sleep and wake (release only): the shared power' '
	probe pw "$START" "req _hidC _hBtS=2 _hidC=12" &&
	st ".power == false and .attention == \"asleep\"" &&
	ctl_json_is lr state ".power == \"off\"" &&
	probe pw2 "$START" "req _hidC _hBtS=2 _hidC=13" &&
	st ".power == true and .attention == \"awake\""
'

test_expect_success 'power changed on the device: SystemStatus and TVSystemStatus pushed' '
	{ { cat probe.creds && printf "%s\n" "$START" \
		"event _interest _regEvents=[SystemStatus,TVSystemStatus]" \
		"wait SystemStatus" "wait TVSystemStatus"; sleep 3; } |
		timeout $T companion-probe $LR $PORT run > push.out 2> push.err & } &&
	pid=$! &&
	n=0 && until ctl_json_is lr companion-state \
		"[.clients[].interests[]] | index(\"TVSystemStatus\") != null" 2> /dev/null ||
		[ $n -ge 250 ]; do sleep 0.02; n=$((n + 1)); done &&
	ctl lr power off &&
	wait $pid &&
	grep -q "^event SystemStatus .*\"_c\":{\"state\":1}" push.out &&
	grep -q "^event TVSystemStatus .*\"_c\":{\"state\":1}" push.out &&
	ctl lr power on
'

test_expect_success '_interest _iMC: the media control flags at once' '
	probe imc "$START" "event _interest _regEvents=[_iMC]" "wait _iMC" &&
	grep -q "^event _iMC .*\"_mcF\":256" imc.out
'

test_expect_success '_mcc: play, volume set and read, skip; the player changes' '
	probe mc "$START" "req _mcc _mcc=1" "req _mcc _mcc=6 _vol=0.25" "req _mcc _mcc=5" \
		"req _mcc _mcc=7 _skpS=-10.0" "req _mcc _mcc=8" "req _mcc _mcc=14" &&
	msg mc _mcc >/dev/null &&
	grep "^_mcc" mc.out | sed -n 3p | grep -q "\"_vol\":0.25" &&
	tail -1 mc.out | grep -q "Unsupported media control" &&
	ctl_json_is lr state ".volume == 25 and
		([.commands[-3:][]] == [\"play\", \"skip_backward\", \"fast_forward_begin\"])"
'

test_expect_success 'apps: the list, launch by bundle id and by URL, an unknown app' '
	probe ap "$START" "req FetchLaunchableApplicationsEvent" \
		"req _launchApp _bundleID=com.netflix.Netflix" \
		"req _launchApp _urlS=music://album/1" "req _launchApp _bundleID=com.example.none" &&
	msg ap FetchLaunchableApplicationsEvent |
		jq -e "._c == {\"com.apple.TVWatchList\":\"TV\",\"com.apple.TVMusic\":\"Music\",
			\"com.netflix.Netflix\":\"Netflix\",\"com.google.ios.youtube\":\"YouTube\"}" &&
	tail -1 ap.out | grep -q "App not found" &&
	st ".app == \"com.apple.TVMusic\" and .url == \"music://album/1\"" &&
	ctl_json_is lr state ".playing.app == \"Music\""
'

test_expect_success 'accounts: the list, switching, an unknown id' '
	probe ac "$START" "req FetchUserAccountsEvent" \
		"req SwitchUserAccountEvent SwitchAccountID=s:E5F6A7B8" \
		"req SwitchUserAccountEvent SwitchAccountID=nobody" &&
	msg ac FetchUserAccountsEvent | jq -e "._c == {\"A1B2C3D4\":\"Alice\",\"E5F6A7B8\":\"Bob\"}" &&
	tail -1 ac.out | grep -q "Account not found" &&
	st ".account == \"E5F6A7B8\""
'

test_expect_success 'text input: a session, the field losing focus pushes _tiStopped' '
	ctl lr companion-text some words &&
	{ { cat probe.creds && printf "%s\n" "$START" "req _tiStart" "wait _tiStopped"; sleep 3; } |
		timeout $T companion-probe $LR $PORT run > ti.out 2> ti.err & } &&
	pid=$! &&
	n=0 && until ctl_json_is lr companion-state "[.clients[].text_session] | any" 2> /dev/null ||
		[ $n -ge 250 ]; do sleep 0.02; n=$((n + 1)); done &&
	ctl lr companion-keyboard off &&
	wait $pid &&
	grep -q "^_tiStart .*\"_tiD\":<62706c697374" ti.out &&
	grep -q "^event _tiStopped" ti.out &&
	probe ti2 "$START" "req _tiStart" &&
	msg ti2 _tiStart | grep -q "\"_c\":{}" &&
	ctl lr companion-keyboard on && st ".keyboard and .text == \"some words\""
'

# hostile MODE STATUS: every reply hostile; the probe fails with STATUS, fast
hostile() {
	ctl lr companion-hostile $1 &&
	t0=$(date +%s) &&
	probe h-$1 "$START" &&
	t1=$(date +%s) &&
	ctl lr companion-hostile none &&
	test $rc -eq $2 && test $((t1 - t0)) -le 8
}

test_expect_success 'hostile replies: huge frame, bad tag, garbage, deep nesting (5)' '
	hostile huge-frame 5 && hostile bad-tag 5 && hostile garbage-opack 5 &&
	hostile deep-opack 5 && hostile wrong-xid 5
'

test_expect_success 'hostile replies: silence and a truncated frame (timeout: 3)' '
	hostile silent 3 && hostile truncated 3 &&
	probe after "$START" && test $rc -eq 0
'

test_expect_success 'evict_shared_id: a second client with the same _i closes the first' '
	jq ".companion = {evict_shared_id: true}" "$DEV/livingroom.json" > evict.json &&
	start_mrp_fake ev $NET.3 evict.json &&
	echo 1111 | timeout $T companion-probe $NET.3 $PORT pair > ev.creds &&
	{ { cat ev.creds && echo "$START" && sleep 2 && echo "req FetchUserAccountsEvent"; } |
		timeout $T companion-probe $NET.3 $PORT run > ev1.out 2> ev1.err & } &&
	pid=$! &&
	n=0 && until ctl_json_is ev companion-state ".clients | length == 1" 2> /dev/null ||
		[ $n -ge 250 ]; do sleep 0.02; n=$((n + 1)); done &&
	{ cat ev.creds && echo "$START"; } | timeout $T companion-probe $NET.3 $PORT run > ev2.out &&
	grep -q "client id 0123456789ab connected again" ev.log &&
	{ wait $pid; test $? -eq 3; } &&
	! grep -q FetchUserAccountsEvent ev1.out
'

test_expect_success '--pairings: a "companion" line; a restarted fake still knows the controller' '
	start_mrp_fake pf $NET.4 --mrp-port 0 --airplay-port 0 --pairings "$TRASH/pf.pairings" &&
	echo 1111 | timeout $T companion-probe $NET.4 $PORT pair > pf.creds &&
	test_jq_all ".protocol == \"companion\" and (.ltpk | test(\"^[0-9a-f]{64}$\"))" \
		"$TRASH/pf.pairings" &&
	kill $FAKE_PID_pf && wait $FAKE_PID_pf; rm -f pf.ready &&
	start_mrp_fake pf $NET.4 --mrp-port 0 --airplay-port 0 --pairings "$TRASH/pf.pairings" &&
	ctl_json_is pf companion-state ".pairings == 1" &&
	{ cat pf.creds && echo "$START"; } | timeout $T companion-probe $NET.4 $PORT run > pf.out &&
	grep -q "^_systemInfo " pf.out
'

test_expect_success 'companion-revoke: pair-verify fails (4), the fake says why' '
	test "$(ctl lr companion-revoke)" = 1 &&
	probe rv "$START" &&
	test $rc -eq 4 &&
	grep -q "companion .*: pair-verify failed" lr.log
'

test_done
