#!/bin/sh
# Output devices (the speaker group) over MRP against the fake: atv-send
# output_devices, add/remove/set_output_devices (ModifyOutputContextRequest,
# the new list pushed in DEVICE_INFO_UPDATE), an unknown identifier, bad
# values, --text, features; atv-watch's output_devices and
# output_device_volume events on our change and on another controller's
# (the control socket); a hostile group; the same through the AirPlay 2
# tunnel (tvOS 17 den) and a HomePod's transient one.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.44.$(($$ % 250 + 1))
LR=$NET.2 DN=$NET.3 KI=$NET.4 HP=$NET.5
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

KITCHEN=4C3B2A19-0817-4E6D-9C5B-4A3928170615
BEDROOM=F0:B3:EC:21:7A:44
DN_ID=$(jq -r '.services[] | select(.type == "_mediaremotetv._tcp") | .txt.UniqueIdentifier' \
	"$DEV/den.json")

# res N FILTER: result line N of send.out satisfies FILTER
res() { sed -n "$1p" send.out | jq -e "$2" > /dev/null || { cat send.out >&2; return 1; }; }
# ids N: the identifiers of result N's output devices, one line, in order
ids() { sed -n "$1p" send.out | jq -r '[.output_devices[].identifier] | join(",")'; }
# wait_text FILE TEXT: until a line of FILE contains TEXT
wait_text() {
	_t=500
	while [ $_t -gt 0 ]; do
		grep -qF "$2" "$1" 2> /dev/null && return 0
		sleep 0.02
		_t=$((_t - 1))
	done
	echo "timed out waiting for \"$2\" in $1" >&2
	cat "$1" >&2
	return 1
}
# group NAME: the identifiers grouped on the fake, in its order
group() { ctl "$1" state | jq -r '[.output_devices[] | select(.grouped) | .identifier] | join(",")'; }

test_expect_success 'start the fakes, scan, pair MRP' '
	start_mrp_fake lr $LR &&
	atv-scan -s $LR > lr.json &&
	atv-pair --pin 1111 < lr.json > /dev/null
'

test_expect_success 'output_devices: the device alone, its name and volume' '
	ctl lr volume 45 &&
	send_ok lr.json output_devices && test $(wc -l < send.out) -eq 1 &&
	res 1 ".command == \"output_devices\" and (.output_devices | length) == 1" &&
	res 1 ".output_devices[0] == {\"identifier\":\"$LR_ID\",\"name\":\"Living Room\",\"volume\":45}"
'

test_expect_success 'add_output_devices: the new list in the result and on the device' '
	send_ok lr.json add_output_devices=$KITCHEN &&
	test "$(ids 1)" = "$LR_ID,$KITCHEN" &&
	res 1 ".output_devices[1] == {\"identifier\":\"$KITCHEN\",\"name\":\"Kitchen HomePod\",\"volume\":40}" &&
	test "$(group lr)" = "$LR_ID,$KITCHEN" &&
	ctl_json_is lr state ".commands | index(\"add_output_devices=$KITCHEN\") != null"
'

test_expect_success 'output_devices afterwards: both, each with its level' '
	send_ok lr.json output_devices &&
	test "$(ids 1)" = "$LR_ID,$KITCHEN" &&
	res 1 "[.output_devices[].volume] == [45, 40]"
'

test_expect_success 'remove_output_devices: back to the device alone' '
	send_ok lr.json remove_output_devices=$KITCHEN &&
	test "$(ids 1)" = "$LR_ID" && test "$(group lr)" = "$LR_ID"
'

test_expect_success 'set_output_devices: two speakers without the TV, then the TV again' '
	send_ok lr.json set_output_devices=$KITCHEN,$BEDROOM &&
	test "$(ids 1)" = "$KITCHEN,$BEDROOM" &&
	test "$(group lr)" = "$KITCHEN,$BEDROOM" &&
	send_ok lr.json set_output_devices=$LR_ID output_devices &&
	test "$(ids 1)" = "$LR_ID" && test "$(ids 2)" = "$LR_ID"
'

test_expect_success 'an unknown identifier: refused (exit 1), nothing changed' '
	test_must_fail 1 timeout $T atv-send add_output_devices=$KITCHEN,NO-SUCH-SPEAKER \
		< lr.json > out 2> err &&
	jq -e ".ok == false and .error.code == \"refused\"" out > /dev/null &&
	grep -q "output device not found" err && test $(wc -l < err) -eq 1 &&
	test "$(group lr)" = "$LR_ID" &&
	ctl_json_is lr state ".commands | index(\"add_output_devices=$KITCHEN,NO-SUCH-SPEAKER:failed\") != null"
'

test_expect_success 'bad values: usage errors (exit 2) before any device is asked' '
	long=$(printf "%0256d" 0) &&
	many=$(seq -s, 1 33) &&
	for v in "add_output_devices" "add_output_devices=" "set_output_devices=a,,b" \
		"remove_output_devices=a," "add_output_devices=$long" \
		"set_output_devices=$many" "output_devices=x"; do
		test_must_fail 2 timeout $T atv-send "$v" < lr.json > out 2> err || return 1
		jq -e ".ok == false and .error.code == \"usage\"" out > /dev/null || return 1
	done
'

test_expect_success 'at most 32 identifiers, each at most 255 bytes: the limits in the message' '
	test_must_fail 2 atv-send "set_output_devices=$(seq -s, 1 33)" < lr.json > /dev/null 2> err &&
	grep -q "at most 32 output device identifiers" err &&
	test_must_fail 2 atv-send "add_output_devices=$(printf "%0256d" 0)" < lr.json \
		> /dev/null 2> err &&
	grep -q "longer than 255 bytes" err
'

test_expect_success '--text: one line naming each device, its identifier and level' '
	send_ok lr.json add_output_devices=$KITCHEN &&
	timeout $T atv-send --text output_devices < lr.json > out &&
	test $(wc -l < out) -eq 1 &&
	grep -q "^output_devices: Living Room ($LR_ID) 45, Kitchen HomePod ($KITCHEN) 40$" out &&
	send_ok lr.json set_output_devices=$LR_ID
'

test_expect_success 'features: the four available over MRP' '
	send_ok lr.json features &&
	res 1 "[.features.output_devices, .features.add_output_devices,
		.features.remove_output_devices, .features.set_output_devices]
		| all(. == \"available\")"
'

test_expect_success 'features over DMAP: the four unavailable, the commands refused' '
	start_mrp_fake ki $KI "$DEV/kitchen.json" --dmap-port 0 &&
	atv-scan -s $KI > ki.json &&
	send_ok ki.json features &&
	res 1 "[.features.output_devices, .features.add_output_devices,
		.features.remove_output_devices, .features.set_output_devices]
		| all(. == \"unavailable\")" &&
	test_must_fail 1 timeout $T atv-send output_devices < ki.json > out 2> err &&
	jq -e ".error.code == \"unsupported\"" out > /dev/null
'

test_expect_success 'atv-watch: output_devices at the start, after our add, after another controller' '
	watch w1 lr.json &&
	wait_for_line w1.out ".event == \"output_devices\"" &&
	test_jq_sel ".event == \"output_devices\"" \
		"[.output_devices[].identifier] == [\"$LR_ID\"] and .device != null and .time != null" \
		w1.out &&
	send_ok lr.json add_output_devices=$KITCHEN &&
	wait_for_line w1.out ".event == \"output_devices\" and (.output_devices | length) == 2" &&
	ctl lr group $BEDROOM &&
	wait_for_line w1.out ".event == \"output_devices\" and
		[.output_devices[].identifier] == [\"$BEDROOM\"]" &&
	jq -c "select(.event == \"output_devices\") | [.output_devices[].name]" w1.out > got &&
	printf "%s\n" "[\"Living Room\"]" "[\"Living Room\",\"Kitchen HomePod\"]" \
		"[\"Bedroom HomePod\"]" > want &&
	test_cmp want got
'

test_expect_success 'atv-watch: output_device_volume when a grouped speaker changes level' '
	ctl lr output-volume $BEDROOM 65 &&
	wait_for_line w1.out ".event == \"output_device_volume\"" &&
	test_jq_sel ".event == \"output_device_volume\"" \
		"{output_device_id, old_level, new_level} ==
		 {\"output_device_id\":\"$BEDROOM\",\"old_level\":30,\"new_level\":65}" w1.out &&
	ctl lr output-volume $KITCHEN 10 &&
	ctl lr group $LR_ID &&
	wait_for_line w1.out ".event == \"output_devices\" and
		[.output_devices[].identifier] == [\"$LR_ID\"]" &&
	test $(jq -c "select(.event == \"output_device_volume\")" w1.out | wc -l) -eq 1 &&
	kill $wpid && wait_for_exit $wpid
'

test_expect_success 'atv-watch --text: the group as one line' '
	watch w2 lr.json --text &&
	wait_text w2.out "output_devices: Living Room ($LR_ID) 45" &&
	kill $wpid && wait_for_exit $wpid
'

test_expect_success 'hostile: 1000 grouped devices in a push, exit 5 (limit)' '
	watch w3 lr.json &&
	wait_for_line w3.out ".event == \"output_devices\"" &&
	ctl lr hostile many-outputs &&
	wait_for_exit $wpid && test $rc -eq 5 &&
	tail -n 1 w3.out > last &&
	test_jq ".event == \"connection\" and .state == \"closed\" and .error == \"limit\"" last &&
	grep -q "lists 1001 output devices (at most 64)" w3.err
'

test_expect_success 'hostile: a 4096-byte speaker name in a push, exit 5 (limit)' '
	watch w4 lr.json &&
	wait_for_line w4.out ".event == \"output_devices\"" &&
	ctl lr hostile long-output-name &&
	wait_for_exit $wpid && test $rc -eq 5 &&
	grep -q "more than 2048 bytes" w4.err &&
	! grep -qi "sanitizer\|runtime error" w4.err
'

test_expect_success 'tunnel (tvOS 17 den): list, add, remove, set as directly' '
	start_mrp_fake dn $DN "$DEV/den.json" --airplay-port 0 --mrp-port 0 &&
	atv-scan -s $DN > dn.json &&
	timeout $T atv-pair -p airplay --pin 1111 < dn.json > /dev/null &&
	send_ok dn.json output_devices add_output_devices=$BEDROOM \
		remove_output_devices=$KITCHEN set_output_devices=$DN_ID,$KITCHEN &&
	test "$(ids 1)" = "$DN_ID,$KITCHEN" &&
	test "$(ids 2)" = "$DN_ID,$KITCHEN,$BEDROOM" &&
	test "$(ids 3)" = "$DN_ID,$BEDROOM" &&
	test "$(ids 4)" = "$DN_ID,$KITCHEN" &&
	test "$(group dn)" = "$DN_ID,$KITCHEN" &&
	ctl_json_is dn tunnel-state ".message_types | index(\"MODIFY_OUTPUT_CONTEXT_REQUEST_MESSAGE\") != null"
'

test_expect_success 'tunnel: an unknown identifier refused, atv-watch sees a change' '
	test_must_fail 1 timeout $T atv-send set_output_devices=NOPE < dn.json > out 2> err &&
	jq -e ".error.code == \"refused\"" out > /dev/null &&
	watch w5 dn.json &&
	wait_for_line w5.out ".event == \"output_devices\"" &&
	ctl dn group $BEDROOM &&
	wait_for_line w5.out ".event == \"output_devices\" and
		[.output_devices[].identifier] == [\"$BEDROOM\"]" &&
	kill $wpid && wait_for_exit $wpid
'

test_expect_success 'HomePod (transient tunnel): itself, under its pairing identity' '
	start_mrp_fake hp $HP "$DEV/homepod.json" --airplay-port 0 &&
	atv-scan -s $HP > hp.json &&
	send_ok hp.json output_devices &&
	res 1 "[.output_devices[] | {identifier, name}] ==
		[{\"identifier\":\"$KITCHEN\",\"name\":\"Kitchen HomePod\"}]"
'

test_done
