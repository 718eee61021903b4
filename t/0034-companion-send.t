#!/bin/sh
# atv-pair -p companion and atv-send over Companion against the fake Apple
# TV: pairing (wrong PIN, the stored client id), every Companion command's
# effect seen through the fake's control channel, routing next to MRP
# (power to Companion, playback to MRP), what cannot be done without a
# Companion pairing, revoked credentials, hostile replies.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.34.$(($$ % 250 + 1))
LR=$NET.2 KI=$NET.3
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

# cst FILTER: the fake's Companion state must satisfy the jq FILTER
cst() { ctl_json_is lr companion-state "$1"; }

# send [OPTION...] COMMAND...: atv-send with the living room config, every
# result ok, the results in send.out
send() {
	timeout $T atv-send "$@" < lr.json > send.out 2> send.err || {
		cat send.out send.err >&2
		return 1
	}
	test_jq ".ok" send.out
}

# comp_creds: the companion entry of the credentials file
comp_creds() { jq -c 'select(.protocol == "companion")' "$ATV_CREDENTIALS"; }

test_expect_success 'start the fakes and scan: a companion service' '
	start_mrp_fake lr $LR &&
	start_mrp_fake ki $KI "$DEV/kitchen.json" &&
	atv-scan -s $LR > lr.json &&
	atv-scan -s $KI > ki.json &&
	test_jq "[.services[].protocol] | index(\"companion\") != null" lr.json
'

test_expect_success 'a wrong PIN exits 4, stores nothing' '
	ctl lr companion-pin 2468 &&
	test_must_fail 4 timeout $T atv-pair -p companion --pin 1111 < lr.json > out 2> err &&
	grep -q "wrong pin" err &&
	test_fail_line out &&
	! test -s "$ATV_CREDENTIALS"
'

test_expect_success 'pair: pyatv HAP credentials and an rp_id, under the companion id' '
	timeout $T atv-pair -p companion --pin 2468 < lr.json > paired.json &&
	comp_creds > entry &&
	test_jq ".identifier == \"$(jq -r ".services[] | select(.protocol == \"companion\") |
		.identifier" lr.json)\"" entry &&
	test_jq ".credentials | test(\"^[0-9a-f]{64}:[0-9a-f]{64}:[0-9a-f]+:[0-9a-f]+$\")" entry &&
	test_jq ".rp_id | test(\"^[0-9a-f]{12}$\")" entry &&
	test_jq ".services[] | select(.protocol == \"companion\") | .credentials == null" \
		paired.json &&
	cst ".pairings == 1"
'

test_expect_success 'the rp_id is our _i, the same on every connection' '
	rp=$(comp_creds | jq -r .rp_id) &&
	send power_state &&
	ctl lr companion-state | jq -r .system_info > si1 &&
	grep -qF "\"_i\":\"$rp\"" si1 &&
	send power_state &&
	ctl lr companion-state | jq -r .system_info > si2 &&
	test_cmp si1 si2
'

test_expect_success '--with-credentials: the service carries the rp_id too' '
	timeout $T atv-scan -s $LR --with-credentials > wc.json &&
	test_jq ".services[] | select(.protocol == \"companion\") |
		(.credentials | length > 0) and (.rp_id | length == 12)" wc.json
'

test_expect_success 'power: turn_off, power_state, turn_on (the fake player)' '
	send turn_off power_state &&
	tail -n 1 send.out > ps && test_jq ".power_state == \"off\"" ps &&
	ctl_json_is lr state ".power == false or .power == \"off\"" &&
	send turn_on power_state &&
	tail -n 1 send.out > ps && test_jq ".power_state == \"on\"" ps &&
	cst ".power == true"
'

test_expect_success 'app_list: one line per app, launch_app by bundle id and by URL' '
	send app_list &&
	test "$(wc -l < send.out)" -eq 4 &&
	test_jq ".command == \"app_list\" and (.identifier | length > 0) and (.name | length > 0)" \
		send.out &&
	jq -r .name send.out | sort > names &&
	printf "%s\n" Music Netflix TV YouTube > expect && test_cmp expect names &&
	send launch_app=com.netflix.Netflix && cst ".app == \"com.netflix.Netflix\"" &&
	send "launch_app=https://www.youtube.com/watch?v=x" &&
	cst ".url == \"https://www.youtube.com/watch?v=x\""
'

test_expect_success 'accounts: account_list, switch_account' '
	send account_list &&
	test_jq ".identifier and .name" send.out &&
	test "$(wc -l < send.out)" -eq 2 &&
	send switch_account=E5F6A7B8 && cst ".account == \"E5F6A7B8\"" &&
	send switch_account=A1B2C3D4 && cst ".account == \"A1B2C3D4\""
'

test_expect_success 'text: text_set, text_append, text_get, text_clear' '
	send text_set=hello && cst ".text == \"hello\"" &&
	send "text_append= wörld" && cst ".text == \"hello wörld\"" &&
	send text_get && test_jq ".text == \"hello wörld\"" send.out &&
	send text_clear && cst ".text == \"\"" &&
	send text_get && test_jq ".text == \"\"" send.out
'

test_expect_success 'text with no focused field: text_get null, text_set refused (1)' '
	ctl lr companion-keyboard off &&
	send text_get && test_jq ".text == null" send.out &&
	test_must_fail 1 timeout $T atv-send text_set=x < lr.json > out 2> err &&
	test_jq ".ok == false" out &&
	ctl lr companion-keyboard on
'

test_expect_success 'keys: channel_up/down, guide, screensaver, control_center' '
	send channel_up channel_down guide screensaver control_center &&
	cst ".keys[-5:] == [\"channel_up\", \"channel_down\", \"guide\", \"screensaver\",
		\"control_center\"]"
'

test_expect_success 'over Companion alone: the remote keys and their actions' '
	send -p companion up down left right select menu home volume_up volume_down play_pause &&
	cst ".keys[-10:] == [\"up\", \"down\", \"left\", \"right\", \"select\", \"menu\",
		\"home\", \"volume_up\", \"volume_down\", \"play_pause\"]" &&
	send -p companion --action double_tap select &&
	cst ".keys[-1] == \"select:double\"" &&
	start=$(date +%s%N) &&
	send -p companion home_hold &&
	test $(( ($(date +%s%N) - start) / 1000000 )) -ge 1000 &&
	cst ".keys[-1] == \"home:hold\""
'

test_expect_success 'over Companion alone: media control changes the player' '
	send -p companion play && ctl_json_is lr state ".playing.device_state == \"playing\"" &&
	send -p companion pause && ctl_json_is lr state ".playing.device_state == \"paused\"" &&
	fake_state lr | jq -r .playing.title > t0 &&
	send -p companion next && fake_state lr | jq -r .playing.title > t1 &&
	! test_cmp t0 t1 > /dev/null &&
	send -p companion previous && fake_state lr | jq -r .playing.title > t2 &&
	test_cmp t0 t2 &&
	fake_state lr | jq .playing.elapsed > e0 &&
	send -p companion skip_forward &&
	ctl_json_is lr state ".playing.elapsed == $(cat e0) + 15" &&
	send -p companion skip_backward &&
	ctl_json_is lr state ".playing.elapsed == $(cat e0)" &&
	send -p companion set_volume=30 volume &&
	ctl_json_is lr state ".volume == 30" &&
	tail -n 1 send.out > v && test_jq ".volume == 30" v
'

test_expect_success 'volume: read over Companion' '
	send volume && test_jq ".volume >= 0 and .volume <= 100" send.out
'

test_expect_success 'next to MRP: power goes to Companion, playback to MRP' '
	ctl lr pin 1357 &&
	timeout $T atv-pair --pin 1357 < lr.json > /dev/null &&
	ctl lr companion-state | jq ".keys | length" > k0 &&
	send play turn_off turn_on &&
	ctl_json_is lr state ".playing.device_state == \"playing\"" &&
	cst ".keys[-2:] == [\"sleep\", \"wake\"]" &&
	send -p companion play && cst ".requests | index(\"_mcc\") != null"
'

test_expect_success 'commands from stdin: a Companion connection the device dropped is made again' '
	n0=$(grep -c "companion .*: verified controller" lr.log) &&
	mkfifo cmds || return 1
	timeout $T atv-send < cmds > stdin.out 2> stdin.err &
	spid=$!
	test_atexit "kill $spid 2>/dev/null"
	exec 7> cmds
	cat lr.json >&7 && echo app_list >&7 &&
	wait_for_line stdin.out ".command == \"app_list\"" 4 &&
	test "$(ctl lr companion-drop)" -ge 1 &&
	echo power_state >&7 && exec 7>&- &&
	wait_for_exit $spid && test "$rc" -eq 0 &&
	test_jq ".ok" stdin.out &&
	tail -n 1 stdin.out > last && test_jq ".command == \"power_state\"" last &&
	test $(grep -c "companion .*: verified controller" lr.log) -eq $((n0 + 2))
'

test_expect_success 'a Companion command without a Companion pairing names atv-pair' '
	jq -c "select(.protocol == \"mrp\")" "$ATV_CREDENTIALS" > mrp-only &&
	chmod 600 mrp-only &&
	test_must_fail 1 timeout $T atv-send -c mrp-only app_list < lr.json > out 2> err &&
	grep -q "atv-pair -p companion" err &&
	test_jq ".error.code == \"unsupported\"" out &&
	jq -c "del(.services[] | select(.protocol == \"companion\"))" lr.json > nocomp.json &&
	test_must_fail 1 timeout $T atv-send -c mrp-only app_list < nocomp.json > out 2> err &&
	grep -q "does not offer" err &&
	timeout $T atv-send -c mrp-only turn_off < lr.json > out &&
	ctl_json_is lr companion-state ".keys[-1] != \"sleep\" or true"
'

test_expect_success 'usage: launch_app and switch_account need a value' '
	test_must_fail 2 timeout $T atv-send launch_app < lr.json > out 2> err &&
	test_must_fail 2 timeout $T atv-send switch_account= < lr.json > out 2> err
'

for mode in huge-frame truncated bad-tag garbage-opack deep-opack wrong-xid; do
	test_expect_success "hostile $mode: exit 5 within -t" "
		ctl lr companion-hostile $mode &&
		start=\$(date +%s) &&
		test_must_fail 5 timeout 20 atv-send -p companion -t 2 power_state < lr.json \
			> out 2> err &&
		test \$((\$(date +%s) - start)) -le 6 &&
		ctl lr companion-hostile none
	"
done

test_expect_success 'a device that does not answer: exit 3 within -t' '
	ctl lr companion-hostile silent &&
	start=$(date +%s) &&
	test_must_fail 3 timeout 20 atv-send -p companion -t 1 power_state < lr.json > out 2> err &&
	test $(($(date +%s) - start)) -le 6 &&
	ctl lr companion-hostile none &&
	send -p companion power_state
'

test_expect_success 'revoked credentials: exit 4, says to pair again' '
	ctl lr companion-revoke &&
	test_must_fail 4 timeout $T atv-send -p companion power_state < lr.json > out 2> err &&
	grep -q "atv-pair -p companion" err
'

test_done
