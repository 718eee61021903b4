#!/bin/sh
# What users reach for first (issue 13): skip intervals, delay=MS, a device
# by name (-n), --text for results and events, a JSON line for every
# failure, "did you mean", a credentials line piped as a config, the
# credentials file named in errors, atv-pair --forget.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.41.$(($$ % 250 + 1))
LR=$NET.2 KI=$NET.3 BR=$NET.4 NONE=$NET.9
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

st() { ctl_json_is lr state "$1"; }

send() { send_ok lr.json "$@"; }

# one_line FILE: FILE has exactly one line
one_line() {
	test "$(wc -l < "$1")" -eq 1 || { cat "$1" >&2; return 1; }
}

test_expect_success 'start three fakes (one a second "living room"), scan, pair' '
	jq ".name = \"living room\" | .services |= map(.name = \"living room\" |
		if .txt.Name then .txt.Name = \"living room\" else . end)" \
		"$DEV/bedroom.json" > br2.json &&
	start_mrp_fake lr $LR &&
	start_mrp_fake ki $KI "$DEV/kitchen.json" --dmap-port 0 &&
	start_mrp_fake br $BR "$TRASH/br2.json" &&
	ctl lr pin 1357 &&
	atv-scan -s $LR > lr.json &&
	atv-scan -s $KI > ki.json &&
	atv-scan -s $BR > br.json &&
	test_jq ".name == \"living room\"" br.json &&
	atv-pair --pin 1357 < lr.json > /dev/null &&
	test -s "$ATV_CREDENTIALS"
'

test_expect_success 'mrp: skip_forward=SECONDS and skip_backward=SECONDS, 15 s without' '
	send pause set_position=100 skip_forward=30 && st ".playing.elapsed == 130" &&
	send skip_backward=10 && st ".playing.elapsed == 120" &&
	send skip_forward && st ".playing.elapsed == 135" &&
	send skip_backward=2.5 && st ".playing.elapsed == 132.5"
'

test_expect_success 'dmap: skip_forward=SECONDS seeks from the position, as pyatv' '
	timeout $T atv-send pause set_position=100 skip_forward=7 < ki.json > ki.out &&
	test_jq ".ok" ki.out &&
	ctl_json_is ki state ".playing.elapsed == 107" &&
	timeout $T atv-send skip_backward=20 < ki.json > ki.out &&
	ctl_json_is ki state ".playing.elapsed == 87"
'

test_expect_success 'skip with a bad interval: a usage result, nothing sent' '
	test_must_fail 2 atv-send skip_forward=0 skip_forward=abc < lr.json > bad.out 2> bad.err &&
	test "$(wc -l < bad.out)" -eq 2 &&
	test_jq ".ok == false and .error.code == \"usage\"" bad.out &&
	st ".playing.elapsed == 132.5"
'

test_expect_success 'delay=MS waits between commands on one connection' '
	v0=$(grep -c "verified controller" lr.log) &&
	t0=$(date +%s%N) &&
	send play delay=400 pause &&
	t1=$(date +%s%N) &&
	test $(((t1 - t0) / 1000000)) -ge 400 &&
	test "$(wc -l < send.out)" -eq 3 &&
	test_jq "(.command == \"delay=400\") or .command == \"play\" or .command == \"pause\"" send.out &&
	test "$(grep -c "verified controller" lr.log)" -eq $((v0 + 1)) &&
	st ".playing.device_state == \"paused\""
'

test_expect_success 'delay=MS with a bad value: a usage result' '
	test_must_fail 2 atv-send delay=-5 < lr.json > bad.out 2> bad.err &&
	test_jq ".ok == false and .error.code == \"usage\"" bad.out
'

test_expect_success 'a typo: one line with "did you mean", not the usage' '
	test_must_fail 2 atv-send paly < lr.json > typo.out 2> typo.err &&
	one_line typo.err &&
	grep "unknown command .paly. (did you mean play?)" typo.err &&
	! grep -i usage typo.err &&
	test_must_fail 2 atv-send skip_forwrd=10 < lr.json 2> typo.err &&
	grep "did you mean skip_forward?" typo.err &&
	test_must_fail 2 atv-send xyzzy < lr.json 2> typo.err &&
	grep "list-commands" typo.err
'

test_expect_success 'a typo on stdin: a result line that says "did you mean"' '
	{ cat lr.json; echo pause; echo volum_up; } | timeout $T atv-send > typo.out 2> typo.err
	test $? -eq 2 &&
	test_jq "if .command == \"volum_up\" then .ok == false and
		(.error.message | test(\"did you mean volume_up\")) else .ok end" typo.out
'

test_expect_success '--list-commands: the one table, and delay' '
	atv-send --list-commands > cmds &&
	grep -x play cmds && grep -x "skip_forward\[=SECONDS\]" cmds &&
	grep -x "set_volume=0..100" cmds && grep -x "delay=MS" cmds &&
	grep -x "play_url=URL" cmds
'

test_expect_success '-n NAME: the exact name wins over one in another case' '
	timeout $T atv-send -s $LR,$KI,$BR -t 2 -n "Living Room" play > n.out 2> n.err &&
	test_jq ".ok" n.out &&
	st ".playing.device_state == \"playing\""
'

test_expect_success '-n NAME: a name in another case, when it is the only one' '
	timeout $T atv-scan -s $LR,$KI,$BR -t 2 -n KITCHEN > scan.out &&
	test_jq ".name == \"Kitchen\"" scan.out && one_line scan.out &&
	timeout $T atv-send -s $LR,$KI,$BR -t 2 -n kitchen playing > n.out &&
	test_jq ".ok and .playing.title == \"Loopback Blues\"" n.out
'

test_expect_success '-n NAME: two devices of that name are an error naming both' '
	test_must_fail 2 timeout $T atv-send -s $LR,$KI,$BR -t 2 -n "LIVING ROOM" play \
		> n.out 2> n.err &&
	grep "2 devices are named .LIVING ROOM." n.err &&
	grep "$LR" n.err && grep "$BR" n.err &&
	test_jq ".ok == false and .error.code == \"usage\"" n.out
'

test_expect_success '-i and -n exclude each other' '
	test_must_fail 2 atv-send -i X -n Y play 2> n.err &&
	grep "exclude each other" n.err
'

test_expect_success '-n NAME: none of that name; the JSON line names what was found' '
	test_must_fail 3 timeout $T atv-watch -s $LR,$KI -t 2 -n Garage > n.out 2> n.err &&
	grep "no device named .Garage. found (found: " n.err &&
	test_jq ".event == \"connection\" and .state == \"closed\" and .error == \"not_found\"" n.out
'

test_expect_success 'atv-pair -n NAME pairs the device of that name' '
	ctl br airplay-pin 2468 &&
	timeout $T atv-pair -p airplay -s $LR,$KI,$BR -t 2 -n "living room" --pin 2468 > p.out &&
	test_jq ".name == \"living room\"" p.out &&
	grep "\"protocol\":\"airplay\"" "$ATV_CREDENTIALS"
'

test_expect_success 'device not found: a JSON line on stdout too (send, watch, pair)' '
	test_must_fail 3 atv-send -s $NONE -t 0.3 -i NOPE play > f.out 2> f.err &&
	one_line f.out && one_line f.err &&
	test_jq ".ok == false and .error.code == \"not_found\" and (has(\"command\") | not)" f.out &&
	test_must_fail 3 atv-watch -s $NONE -t 0.3 -i NOPE > f.out 2> f.err &&
	one_line f.out &&
	test_jq ".event == \"connection\" and .state == \"closed\"" f.out &&
	test_must_fail 3 atv-pair --pin 1111 -s $NONE -t 0.3 -i NOPE > f.out 2> f.err &&
	one_line f.out && test_jq ".ok == false and .error.code == \"not_found\"" f.out
'

test_expect_success 'a credentials line piped in as a config: exit 6, no secret shown' '
	secret=$(head -n 1 "$ATV_CREDENTIALS" | jq -r .credentials) &&
	head -n 1 "$ATV_CREDENTIALS" > cred-line &&
	test_must_fail 6 atv-send play < cred-line > c.out 2> c.err &&
	grep "credentials file" c.err &&
	! grep -F "$secret" c.out c.err &&
	test_must_fail 6 atv-watch < cred-line > c.out 2> c.err &&
	! grep -F "$secret" c.out c.err
'

test_expect_success '"no credentials": the message names the credentials file' '
	ATV_CREDENTIALS=$TRASH/other/credentials test_must_fail 4 atv-send -p mrp play \
		< lr.json > c.out 2> c.err &&
	grep "$TRASH/other/credentials" c.err &&
	test_jq ".ok == false and .error.code == \"auth\"" c.out
'

test_expect_success '-c FILE that does not exist: a warning' '
	test_must_fail atv-send -c "$TRASH/nope" play < lr.json > c.out 2> c.err &&
	grep "warning: credentials file $TRASH/nope does not exist" c.err &&
	send -c "$ATV_CREDENTIALS" play && ! grep warning send.err
'

test_expect_success '--text: one readable line per result' '
	timeout $T atv-send --text pause playing volume_up < lr.json > t.out 2> t.err &&
	sed -n 1p t.out | grep -x "pause: ok" &&
	sed -n 2p t.out | grep -E "^playing: paused: .+ \[.+\] [0-9]+:[0-9]{2}/[0-9]+:[0-9]{2}$" &&
	sed -n 3p t.out | grep -x "volume_up: ok" &&
	test "$(wc -l < t.out)" -eq 3 &&
	{ cat lr.json; echo bogus_cmd; } | timeout $T atv-send --text > t.out 2> t.err
	test $? -eq 2 &&
	grep -x "bogus_cmd: failed (usage)" t.out && one_line t.out
'

test_expect_success '--text: a hostile title cannot reach the terminal raw' '
	ctl lr set "title=$(printf "a\\033]0;x\\007b")" &&
	timeout $T atv-send --text playing < lr.json > t.out &&
	! grep -q "$(printf "\\033")" t.out
'

test_expect_success 'atv-watch --text: one readable line per event' '
	timeout $T atv-watch --text --until-eof < lr.json > w.out 2> w.err &&
	grep -E "^[0-9]{2}:[0-9]{2}:[0-9]{2} connection: connected" w.out &&
	grep -E "^[0-9]{2}:[0-9]{2}:[0-9]{2} playing: paused: " w.out &&
	grep -E "^[0-9]{2}:[0-9]{2}:[0-9]{2} volume: volume=[0-9]+$" w.out &&
	grep -E "connection: closed" w.out &&
	! grep "{" w.out
'

test_expect_success '--json after --text: JSON again' '
	send --text --json play && test_jq ".ok" send.out
'

# util-linux script(1) gives the tools a terminal of their own
if script -qec true /dev/null < /dev/null > /dev/null 2>&1; then
	test_expect_success 'on a terminal: text by default, as atv-scan; --json still JSON' '
		script -qec "atv-send pause playing < lr.json" /dev/null < /dev/null > tty.out &&
		grep -q "^pause: ok" tty.out && grep -q "^playing: paused: " tty.out &&
		! grep -q "{" tty.out &&
		script -qec "atv-watch --until-eof < lr.json" /dev/null < /dev/null > tty.out &&
		grep -qE "^[0-9:]{8} connection: connected" tty.out && ! grep -q "{" tty.out &&
		script -qec "atv-send --json pause < lr.json" /dev/null < /dev/null > tty.out &&
		grep -q "\"ok\":true" tty.out
	'
else
	test_skip 'on a terminal: text by default, as atv-scan; --json still JSON' 'no script(1)'
fi

test_expect_success 'atv-pair --forget -n NAME: the entries of that name go' '
	n0=$(wc -l < "$ATV_CREDENTIALS") &&
	cp "$ATV_CREDENTIALS" creds.before &&
	atv-pair --forget -n "Living Room" > fg.out &&
	one_line fg.out &&
	test_jq ".forgotten and .protocol == \"mrp\" and .name == \"Living Room\"" fg.out &&
	test "$(wc -l < "$ATV_CREDENTIALS")" -eq $((n0 - 1)) &&
	! grep "\"Living Room\"" "$ATV_CREDENTIALS" &&
	grep "\"living room\"" "$ATV_CREDENTIALS" &&
	test "$(stat -c %a "$ATV_CREDENTIALS")" = 600
'

test_expect_success 'atv-pair --forget with a config on stdin, and -p' '
	test_must_fail 1 atv-pair --forget -p dmap < br.json > fg.out 2> fg.err &&
	atv-pair --forget -p airplay < br.json > fg.out &&
	test_jq ".forgotten and .name == \"living room\"" fg.out &&
	! grep "\"airplay\"" "$ATV_CREDENTIALS"
'

test_expect_success 'atv-pair --forget again: nothing to forget, exit 1' '
	test_must_fail 1 atv-pair --forget -n "Living Room" -p mrp > fg.out 2> fg.err &&
	grep "no mrp pairing of that device in $ATV_CREDENTIALS" fg.err &&
	test_jq ".ok == false and .error.code == \"refused\"" fg.out &&
	test_must_fail 1 atv-pair --forget < lr.json 2> fg.err &&
	grep "no pairing of that device" fg.err
'

test_expect_success 'atv-pair --forget -i ID (any case) contacts no device' '
	cp creds.before "$ATV_CREDENTIALS" &&
	id=$(jq -r .identifier lr.json | tr "[:upper:]" "[:lower:]") &&
	atv-pair --forget -s $NONE -i "$id" > fg.out &&
	test_jq ".forgotten" fg.out &&
	! grep "\"Living Room\"" "$ATV_CREDENTIALS"
'

test_expect_success 'atv-scan -v with nothing found says how it looked' '
	test_must_fail 1 atv-scan -v -s $NONE -t 0.3 > s.out 2> s.err &&
	grep "no Apple TV found (unicast to 1 host, 0.3 s)" s.err &&
	test ! -s s.out
'

test_expect_success '-v: a unicast scan says whom it asks and who answered' '
	atv-scan -v --json -s $LR,$NONE -t 0.5 > s.out 2> s.err &&
	grep "unicast: asking $LR port 5353" s.err &&
	grep "unicast: $LR answered" s.err &&
	grep "unicast: no answer from $NONE within 500 ms" s.err
'

test_expect_success 'without avahi-daemon a multicast scan suggests -s HOST' '
	test_must_fail 3 env DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TRASH/no-such-bus \
		atv-scan --json -t 0.5 > s.out 2> s.err &&
	grep "avahi-daemon" s.err && grep -- "-s HOST" s.err &&
	test_fail_line s.out
'

test_expect_success '-v: pairing says each step, and where it stores' '
	atv-pair -v --pin 1357 < lr.json > /dev/null 2> p.err &&
	grep "pairing with Living Room over mrp ($LR port" p.err &&
	grep "the device shows a pin now" p.err &&
	grep "mrp pairing: checking the pin" p.err &&
	grep "mrp pairing: done" p.err &&
	grep "storing the mrp credentials in $ATV_CREDENTIALS" p.err
'

test_expect_success '-v: play_url says what it waits for' '
	ctl lr airplay-pin 2222 &&
	atv-pair -p airplay --pin 2222 < lr.json > /dev/null &&
	timeout $T atv-send -v --wait play_url=http://127.0.0.1:9/v.mp4 < lr.json > u.out 2> u.err &&
	grep "play_url: the device is loading the video; waiting for it to play" u.err &&
	grep "play_url: playing; following it until it ends" u.err &&
	grep "play_url: ended" u.err &&
	! grep -v "^atv-send: info: " u.err
'

test_done
