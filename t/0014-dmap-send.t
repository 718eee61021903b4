#!/bin/sh
# atv-send over DMAP against the fake Apple TV 3 (kitchen): the Home Sharing
# id from the scan and a pairing GUID as credentials, every command's effect
# seen through the fake's control channel, what DMAP cannot do, a lost
# session, hostile bodies.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.14.$(($$ % 250 + 1))
KI=$NET.3 NONE=$NET.9
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

# st FILTER: the fake's state must satisfy the jq FILTER
st() { ctl_json_is ki state "$1"; }

# send [OPTION...] COMMAND...: atv-send with the kitchen config
send() { send_ok ki.json "$@"; }

# with_creds CRED: the kitchen config with its dmap credentials set
with_creds() {
	jq -c --arg c "$1" \
		'.services |= map(if .protocol == "dmap" then .credentials = $c else . end)' ki.json
}

test_expect_success 'start the fake, scan: dmap with the home sharing id' '
	start_mrp_fake ki $KI "$DEV/kitchen.json" --dmap-port 0 &&
	atv-scan -s $KI > ki.json &&
	hg=$(jq -r ".services[] | select(.type == \"_appletv-v2._tcp\") | .txt.hG" \
		"$DEV/kitchen.json") &&
	test_jq ".services[] | select(.protocol == \"dmap\") | .credentials == \"$hg\"" ki.json
'

test_expect_success 'playing: the atvscript fields, over dmap' '
	send playing &&
	test_jq ".command == \"playing\" and .playing.title == \"Loopback Blues\" and
		.playing.artist == \"The Fakes\" and .playing.total_time == 185 and
		.playing.media_type == \"music\" and .playing.device_state == \"paused\" and
		(.playing.hash | length) == 64 and .playing.app == null" send.out
'

test_expect_success 'playback: play, pause, play_pause, stop' '
	send play && st ".playing.device_state == \"playing\"" &&
	send pause && st ".playing.device_state == \"paused\"" &&
	send play_pause && st ".playing.device_state == \"playing\"" &&
	send play_pause && st ".playing.device_state == \"paused\"" &&
	send stop && st ".playing.device_state == \"stopped\"" &&
	st ".commands == [\"play\",\"pause\",\"play_pause\",\"play_pause\",\"stop\"]"
'

test_expect_success 'next and previous' '
	send next previous next &&
	st ".commands[-3:] == [\"next\",\"previous\",\"next\"]"
'

test_expect_success 'navigation: arrows as touch drags, select, menu, top_menu' '
	send up down left right select menu top_menu &&
	st ".keys == [\"up\",\"down\",\"left\",\"right\",\"select\",\"menu\",\"top_menu\"]"
'

test_expect_success 'double_tap sends the key twice' '
	send --action double_tap select &&
	st ".keys[-2:] == [\"select\",\"select\"] and (.keys | length) == 9"
'

test_expect_success 'set_position, skip_forward and skip_backward' '
	send pause set_position=100 && st ".playing.elapsed == 100" &&
	send skip_forward && st ".playing.elapsed == 115" &&
	send skip_backward skip_backward && st ".playing.elapsed == 85"
'

test_expect_success 'set_shuffle and set_repeat' '
	send set_shuffle=songs && st ".playing.shuffle == \"songs\"" &&
	send set_shuffle=off && st ".playing.shuffle == \"off\"" &&
	send set_repeat=track && st ".playing.repeat == \"track\"" &&
	send set_repeat=all && st ".playing.repeat == \"all\"" &&
	send set_repeat=off && st ".playing.repeat == \"off\"" &&
	send playing && test_jq ".playing.shuffle == \"off\" and .playing.repeat == \"off\"" send.out
'

test_expect_success 'set_volume, volume_up, volume_down' '
	send set_volume=30 && st ".volume == 30" &&
	send volume_up && st ".volume == 35" &&
	send volume_down volume_down && st ".volume == 25"
'

test_expect_success 'what dmap cannot do: exit 1, code unsupported' '
	for c in home home_hold suspend wakeup turn_on turn_off; do
		test_must_fail 1 atv-send $c < ki.json > out 2> err &&
		test_jq ".ok == false and .error.code == \"unsupported\"" out &&
		grep -q dmap err || return 1
	done &&
	test_must_fail 1 atv-send --action hold up < ki.json > out &&
	test_jq ".error.code == \"unsupported\"" out
'

test_expect_success 'one connection for many commands: one login' '
	send play pause play stop &&
	st "[.dmap_requests[-6:][] | select(. == \"GET /login\")] | length == 1" &&
	st ".dmap_requests[-6:][0] == \"GET /login\" and .dmap_requests[-1] == \"GET /logout\""
'

test_expect_success 'a pairing guid as credentials' '
	with_creds 0x0000000000000001 > guid.json &&
	timeout $T atv-send -p dmap play < guid.json > out &&
	test_jq ".ok" out && st ".playing.device_state == \"playing\""
'

test_expect_success 'an unknown guid or home sharing id: exit 4, says to pair' '
	with_creds 0x0000000000000002 > bad.json &&
	test_must_fail 4 timeout $T atv-send play < bad.json > out 2> err &&
	grep -q "atv-pair -p dmap" err &&
	with_creds 00000000-0000-0000-0000-000000000000 > bad.json &&
	test_must_fail 4 timeout $T atv-send play < bad.json 2> err
'

test_expect_success 'no dmap credentials and no mrp: a clear error naming both' '
	jq -c ".services |= map(if .protocol == \"dmap\" then .credentials = null else . end)" \
		ki.json > nocred.json &&
	test_must_fail 1 atv-send play < nocred.json > out 2> err &&
	test_fail_line out &&
	grep -q "mrp" err && grep -q "dmap" err
'

test_expect_success '-p mrp on a dmap-only device is refused' '
	test_must_fail 1 atv-send -p mrp play < ki.json 2> err &&
	grep -q "no mrp service" err
'

test_expect_success 'a lost session: the next request logs in again' '
	{ rm -f in && mkfifo in || return 1; } &&
	{ timeout $T atv-send < in > lost.out 2> lost.err & } &&
	pid=$! &&
	exec 3> in &&
	cat ki.json >&3 && echo pause >&3 &&
	wait_for_line lost.out ".command == \"pause\"" &&
	ctl ki dmap-drop > /dev/null &&
	echo play >&3 &&
	exec 3>&- &&
	wait_for_exit $pid &&
	test $rc -eq 0 &&
	test_jq_all ".ok" lost.out &&
	st ".playing.device_state == \"playing\""
'

test_expect_success 'a device that cannot be reached exits 3' '
	jq -c ".address = \"$NONE\"" ki.json > gone.json &&
	test_must_fail 3 timeout $T atv-send -t 0.5 play < gone.json 2> err
'

test_expect_success 'hostile dmap bodies exit 5, no crash' '
	for m in lying-length deep-nesting truncated garbage; do
		ctl ki hostile-dmap $m &&
		test_must_fail 5 timeout $T atv-send playing < ki.json > out 2> err &&
		test_jq ".ok == false and .error.code == \"protocol\"" out &&
		grep -q "dmap" err || return 1
	done &&
	ctl ki hostile-dmap none &&
	send playing
'

test_done
