#!/bin/sh
# atv-send over MRP against the fake Apple TV: every command's effect seen
# through the fake's control channel, one connection for many commands,
# results and exit statuses, credentials problems, a device that moved.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.11.$(($$ % 250 + 1))
LR=$NET.2 KI=$NET.3 BR=$NET.4 NONE=$NET.9
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

# st FILTER: the fake's state must satisfy the jq FILTER
st() { ctl_json_is lr state "$1"; }

# verified: how many connections the fake has verified so far (its log)
verified() { grep -c "verified controller" "$TRASH/lr.log"; }

# send [OPTION...] COMMAND...: atv-send with the living room config
send() { send_ok lr.json "$@"; }

test_expect_success 'start the fake devices, scan and pair' '
	start_mrp_fake lr $LR &&
	start_mrp_fake ki $KI "$DEV/kitchen.json" &&
	start_mrp_fake br $BR "$DEV/bedroom.json" &&
	ctl lr pin 1357 &&
	atv-scan -s $LR > lr.json &&
	atv-pair --pin 1357 < lr.json > /dev/null &&
	test -s "$ATV_CREDENTIALS"
'

test_expect_success 'playback: play, pause, play_pause, stop' '
	send play && st ".playing.device_state == \"playing\"" &&
	send pause && st ".playing.device_state == \"paused\"" &&
	send play_pause && st ".playing.device_state == \"playing\"" &&
	send play_pause && st ".playing.device_state == \"paused\"" &&
	send stop && st ".playing.device_state == \"stopped\""
'

test_expect_success 'next and previous move through the playlist' '
	fake_state lr | jq -r .playing.title > t0 &&
	send next && fake_state lr | jq -r .playing.title > t1 &&
	! test_cmp t0 t1 > /dev/null &&
	send previous && fake_state lr | jq -r .playing.title > t2 &&
	test_cmp t0 t2
'

test_expect_success 'set_position, skip_forward and skip_backward' '
	send pause set_position=100 && st ".playing.elapsed == 100" &&
	send skip_forward && st ".playing.elapsed == 115" &&
	send skip_backward skip_backward && st ".playing.elapsed == 85"
'

test_expect_success 'set_shuffle and set_repeat' '
	send set_shuffle=songs set_repeat=all &&
	st ".playing.shuffle == \"songs\" and .playing.repeat == \"all\"" &&
	send set_shuffle=albums set_repeat=track &&
	st ".playing.shuffle == \"albums\" and .playing.repeat == \"track\"" &&
	send set_shuffle=off set_repeat=off &&
	st ".playing.shuffle == \"off\" and .playing.repeat == \"off\""
'

test_expect_success 'volume: set_volume, volume_up, volume_down' '
	send set_volume=40 && st ".volume == 40" &&
	send volume_up && st ".volume == 45" &&
	send volume_down volume_down && st ".volume == 35" &&
	send set_volume=0 && st ".volume == 0" &&
	send set_volume=100 && st ".volume == 100"
'

test_expect_success 'power: turn_off, turn_on, suspend, wakeup' '
	send turn_off && st ".power == \"off\"" &&
	send turn_on && st ".power == \"on\"" &&
	send suspend && st ".power == \"off\"" &&
	send wakeup && st ".power == \"on\""
'

test_expect_success 'remote keys are pressed in order' '
	fake_state lr | jq ".keys | length" > n0 &&
	send up down left right select menu home top_menu &&
	fake_state lr > state.json &&
	jq -c ".keys[$(cat n0):]" state.json > got &&
	echo "[\"up\",\"down\",\"left\",\"right\",\"select\",\"menu\",\"home\",\"top_menu\"]" > want &&
	test_cmp want got
'

test_expect_success '--action double_tap and hold, and home_hold' '
	send --action double_tap select && st ".keys[-1] == \"select:double\"" &&
	send --action hold menu && st ".keys[-1] == \"menu:hold\"" &&
	send home_hold && st ".keys[-1] == \"home:hold\""
'

test_expect_success 'playing: the metadata as one result line' '
	ctl lr set title=A%20Song artist=Some%20Band album=Record genre=Rock total_time=215 \
		media_type=music device_state=paused elapsed=31 &&
	send playing &&
	test_jq ".command == \"playing\" and .ok == true" send.out &&
	test_jq ".playing | .title == \"A Song\" and .artist == \"Some Band\" and .album == \"Record\"" send.out &&
	test_jq ".playing | .genre == \"Rock\" and .total_time == 215 and .media_type == \"music\"" send.out &&
	test_jq ".playing | .device_state == \"paused\" and (.position | floor) == 31" send.out &&
	test_jq ".playing | has(\"shuffle\") and has(\"repeat\") and has(\"hash\") and has(\"app_id\")" send.out
'

test_expect_success 'commands from argv: one result line each, one connection' '
	verified > v0 &&
	send play pause playing set_volume=50 &&
	test $(wc -l < send.out) -eq 4 &&
	jq -r .command send.out > got &&
	printf "play\npause\nplaying\nset_volume=50\n" > want &&
	test_cmp want got &&
	test $(verified) -eq $(($(cat v0) + 1))
'

test_expect_success 'commands from stdin after the config, one connection' '
	verified > v0 &&
	{ cat lr.json; printf "play\n\n# a comment\n  pause  \nset_volume=20\n"; } |
		timeout $T atv-send > out &&
	jq -r .command out > got &&
	printf "play\npause\nset_volume=20\n" > want &&
	test_cmp want got &&
	test_jq_all ".ok" out &&
	st ".volume == 20 and .playing.device_state == \"paused\"" &&
	test $(verified) -eq $(($(cat v0) + 1))
'

test_expect_success '-i: no config on stdin, commands from stdin' '
	printf "play\nplaying\n" | timeout $T atv-send -i $LR_ID -s $NONE,$LR > out &&
	test $(wc -l < out) -eq 2 &&
	st ".playing.device_state == \"playing\""
'

test_expect_success 'a long-lived stdin: commands run as they come, a drop is survived' '
	{ rm -f cmds && mkfifo cmds || return 1; } &&
	{ timeout $T atv-send -v < cmds > live.out 2> live.err & } &&
	pid=$! &&
	exec 3> cmds &&
	cat lr.json >&3 &&
	echo pause >&3 &&
	wait_for_line live.out ".command == \"pause\"" &&
	st ".playing.device_state == \"paused\" and .connections == 1" &&
	ctl lr drop &&
	echo play >&3 &&
	wait_for_line live.out ".command == \"play\"" &&
	st ".playing.device_state == \"playing\"" &&
	exec 3>&- &&
	wait_for_exit $pid &&
	test $rc -eq 0 &&
	test_jq_all ".ok" live.out
'

test_expect_success 'a refused command: exit 1, the others still run' '
	ctl lr refuse next &&
	test_must_fail 1 atv-send pause next play < lr.json > out 2> err &&
	jq -c "[.command, .ok]" out > got &&
	printf "[\"pause\",true]\n[\"next\",false]\n[\"play\",true]\n" > want &&
	test_cmp want got &&
	test_jq_sel ".ok == false" ".error.code == \"refused\" and (.error.message | length > 0)" out &&
	test $(wc -l < err) -eq 1 &&
	grep -q "next" err &&
	ctl lr refuse
'

test_expect_success 'exit status is the worst result' '
	ctl lr refuse next &&
	{ cat lr.json; printf "next\nbogus\nplay\n"; } | test_must_fail 2 atv-send > out 2> err &&
	jq -r ".error.code // \"ok\"" out > got &&
	printf "refused\nusage\nok\n" > want &&
	test_cmp want got &&
	test $(wc -l < err) -eq 2 &&
	ctl lr refuse
'

test_expect_success 'an over-long stdin line is bad input; the next line still runs' '
	{ cat lr.json; head -c 300000 /dev/zero | tr "\\0" a; echo; echo pause; } |
		test_must_fail 6 timeout $T atv-send > out 2> err &&
	test $(wc -l < out) -eq 1 &&
	test_jq ".command == \"pause\" and .ok" out &&
	grep -q "longer than" err
'

test_expect_success 'a last command without a newline still runs' '
	{ cat lr.json; printf "play"; } | timeout $T atv-send > out &&
	test_jq ".command == \"play\" and .ok" out &&
	printf "%s" "$(cat lr.json)" | timeout $T atv-send pause > out &&
	test_jq ".command == \"pause\" and .ok" out
'

test_expect_success 'a bad value is a usage error for that command' '
	{ cat lr.json; printf "set_volume=101\nset_shuffle=sometimes\nplay\n"; } |
		test_must_fail 2 atv-send > out &&
	jq -r ".error.code // \"ok\"" out > got &&
	printf "usage\nusage\nok\n" > want &&
	test_cmp want got
'

test_expect_success 'an unknown command on the command line exits 2 before connecting' '
	verified > v0 &&
	test_must_fail 2 atv-send play bogus < lr.json > out 2> err &&
	test ! -s out &&
	grep -q "bogus" err &&
	test $(verified) -eq $(cat v0)
'

test_expect_success 'missing credentials exit 4 with a message saying to pair' '
	: > empty-creds && chmod 600 empty-creds &&
	test_must_fail 4 atv-send -c empty-creds play < lr.json > out 2> err &&
	test_fail_line out &&
	test $(wc -l < err) -eq 1 &&
	grep -q "atv-pair" err
'

test_expect_success 'credentials on the config are used before the file' '
	jq -c --arg c "$(jq -r .credentials "$ATV_CREDENTIALS")" \
		"(.services[] | select(.protocol == \"mrp\") | .credentials) = \$c" lr.json > withcreds.json &&
	atv-send -c empty-creds playing < withcreds.json > out &&
	test_jq ".ok" out
'

test_expect_success 'a stale port in the config: rescanned by identifier' '
	jq -c "(.services[] | select(.protocol == \"mrp\") | .port) = 9" lr.json > stale.json &&
	timeout $T atv-send -v play < stale.json > out 2> err &&
	test_jq ".ok" out &&
	grep -q "again" err
'

test_expect_success 'a stale address: rescanned through -s' '
	jq -c ".address = \"$NONE\"" lr.json > moved.json &&
	timeout $T atv-send -s $LR pause < moved.json > out &&
	test_jq ".ok" out
'

test_expect_success 'the MRP port changed on the device: found again' '
	ctl lr mrp-port 0 > newport &&
	test "$(cat newport)" != "$(mrp_port < lr.json)" &&
	timeout $T atv-send play < lr.json > out &&
	test_jq ".ok" out
'

test_expect_success 'a device that cannot be reached exits 3' '
	jq -c ".address = \"$NONE\"" lr.json > gone.json &&
	test_must_fail 3 timeout $T atv-send -t 0.5 play < gone.json 2> err
'

test_expect_success 'a DMAP-only device: the scan'"'"'s home sharing id is used over dmap' '
	atv-scan -s $KI > ki.json &&
	atv-send -v play < ki.json > out 2> err &&
	test_jq ".ok" out &&
	grep -q "over dmap" err &&
	fake_state ki | jq -e ".playing.device_state == \"playing\"" > /dev/null
'

test_expect_success 'a DMAP-only device not paired: a clear error naming what is missing' '
	jq -c ".services |= map(if .protocol == \"dmap\" then .credentials = null else . end)" \
		ki.json > ki-nocred.json &&
	test_must_fail 1 atv-send play < ki-nocred.json > out 2> err &&
	test_fail_line out &&
	grep -qi "mrp" err && grep -qi "dmap" err
'

test_expect_success 'MRP disabled (tvOS 15+), no AirPlay pairing: the error names atv-pair -p airplay' '
	atv-scan -s $BR > br.json &&
	test_must_fail 4 atv-send play < br.json 2> err &&
	grep -qi "tvos 15" err &&
	grep -q "atv-pair -p airplay" err
'

test_expect_success 'bad input on stdin exits 6' '
	test_must_fail 6 atv-send play < /dev/null 2> err &&
	grep -q "no device config" err &&
	echo "{\"services\": 5}" > bad.json &&
	test_must_fail 6 atv-send play < bad.json
'

test_expect_success 'usage errors exit 2' '
	test_must_fail 2 atv-send --action sideways select < lr.json &&
	test_must_fail 2 atv-send -p raop play < lr.json &&
	test_must_fail 2 atv-send -t 0 play < lr.json &&
	test_must_fail 2 atv-send --no-such-option < lr.json &&
	atv-send --help | grep -q "set_volume" &&
	atv-send --version | grep -q atv-tools
'

test_expect_success 'a write error on stdout exits 7' '
	test_must_fail 7 atv-send play < lr.json > /dev/full 2> err &&
	grep -q "unable to write" err
'

test_expect_success 'revoked credentials exit 4' '
	ctl lr revoke &&
	test_must_fail 4 atv-send play < lr.json > out 2> err &&
	test_fail_line out &&
	grep -qi "pair" err
'

test_done
