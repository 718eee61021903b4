#!/bin/sh
# atv-send's read-only commands against the fake: device_info, features,
# artwork (printed, or written with --artwork FILE), app, and power_state
# and volume over MRP alone (no Companion pairing), DMAP where meaningful.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.43.$(($$ % 250 + 1))
LR=$NET.2 KI=$NET.3 DN=$NET.4
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

send() { send_ok lr.json "$@"; }
# res N FILTER: result line N of send.out satisfies FILTER
res() { sed -n "$1p" send.out | jq -e "$2" > /dev/null || { cat send.out >&2; return 1; }; }

test_expect_success 'start the fakes, scan, pair MRP' '
	start_mrp_fake lr $LR &&
	start_mrp_fake ki $KI "$DEV/kitchen.json" --dmap-port 0 &&
	ctl lr pin 1357 &&
	atv-scan -s $LR > lr.json &&
	atv-scan -s $KI > ki.json &&
	atv-pair --pin 1357 < lr.json > /dev/null
'

test_expect_success 'device_info: the config and the protocol in one result' '
	send device_info && test $(wc -l < send.out) -eq 1 &&
	jq -c ".device_info" lr.json > want &&
	res 1 ".command == \"device_info\" and .protocol == \"mrp\" and .name == \"Living Room\"" &&
	res 1 ".address == \"$LR\" and (.identifier | type) == \"string\"" &&
	sed -n 1p send.out | jq -c "{model, operating_system, version, build, mac}" > got &&
	jq -c "{model, operating_system, version, build, mac}" want > want2 &&
	test_cmp want2 got
'

test_expect_success 'features: every command, available over MRP, Companion ones not' '
	send features &&
	res 1 ".features.play == \"available\" and .features.set_volume == \"available\"" &&
	res 1 ".features.power_state == \"unavailable\" and .features.app_list == \"unavailable\"" &&
	res 1 ".features.artwork == \"available\" and .features.device_info == \"available\"" &&
	atv-send --list-commands | sed "s/[=[].*//" | sort > cmds &&
	sed -n 1p send.out | jq -r ".features | keys[]" | sort > keys &&
	grep -v "^delay" cmds > cmds2 && test_cmp cmds2 keys
'

test_expect_success 'features --text: one line, command=state' '
	timeout $T atv-send --text features < lr.json > out &&
	test $(wc -l < out) -eq 1 &&
	grep -q "^features: ok .*play=available.* power_state=unavailable" out
'

test_expect_success 'features: a command the player disables is unavailable' '
	ctl lr refuse next set_shuffle &&
	send features &&
	res 1 ".features.next == \"unavailable\" and .features.set_shuffle == \"unavailable\"" &&
	res 1 ".features.previous == \"available\" and .features.up == \"available\"" &&
	ctl lr refuse &&
	send features && res 1 ".features.next == \"available\""
'

test_expect_success 'power_state and volume over MRP alone, as the fake has them' '
	send set_volume=30 && send power_state volume &&
	res 1 ".power_state == \"on\"" && res 2 ".volume == 30" &&
	send turn_off && send power_state && res 1 ".power_state == \"off\"" &&
	send turn_on && send power_state && res 1 ".power_state == \"on\""
'

test_expect_success 'app: the now-playing client, name and bundle identifier' '
	send play app && res 2 ".app == \"Music\" and .app_id == \"com.apple.TVMusic\""
'

test_expect_success 'artwork without a file: mime, size, width, height, no bytes' '
	send artwork && test $(wc -l < send.out) -eq 1 &&
	res 1 ".mime == \"image/png\" and .width == 4 and .height == 4 and .size > 0" &&
	res 1 "has(\"path\") | not"
'

test_expect_success 'artwork --artwork FILE: the PNG written, its path in the result' '
	send --artwork art.png artwork &&
	res 1 ".path == \"art.png\" and .mime == \"image/png\"" &&
	test "$(head -c 4 art.png | od -An -c | tr -d " ")" = "211PNG" &&
	test $(wc -c < art.png) -eq $(jq .size send.out) &&
	! ls .art.png* 2> /dev/null
'

test_expect_success 'artwork --artwork into a missing directory: exit 7, one line' '
	test_must_fail 7 timeout $T atv-send --artwork no/such/a.png artwork < lr.json \
		> out 2> err &&
	jq -e ".ok == false" out > /dev/null && test $(wc -l < err) -eq 1
'

test_expect_success 'dmap: device_info and features without MRP, power_state refused' '
	send_ok ki.json device_info features &&
	res 1 ".protocol == \"dmap\" and .model == \"AppleTV3,2\"" &&
	res 2 ".features.play == \"available\" and .features.app_list == \"unavailable\"" &&
	test_must_fail 1 timeout $T atv-send power_state < ki.json > out 2> err &&
	jq -e ".ok == false and .error.code == \"unsupported\"" out > /dev/null
'

test_expect_success 'tunnel (tvOS 17 den): every read-only command through it' '
	start_mrp_fake dn $DN "$DEV/den.json" --airplay-port 0 --mrp-port 0 &&
	atv-scan -s $DN > dn.json &&
	timeout $T atv-pair -p airplay --pin 1111 < dn.json > /dev/null &&
	send_ok dn.json set_volume=25 play device_info features power_state volume app artwork &&
	res 3 ".protocol == \"mrp\" and .model == \"AppleTV6,2\"" &&
	res 4 ".features.play == \"available\"" &&
	res 5 ".power_state == \"on\"" && res 6 ".volume == 25" &&
	res 7 ".app_id == \"com.apple.TVMusic\"" &&
	res 8 ".mime == \"image/png\" and .width == 4"
'

test_done
