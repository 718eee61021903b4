#!/bin/sh
# Interop: pyatv 0.18 (atvremote, atvscript), an independent client, drives
# the fake's speaker group over MRP: output_devices, add/remove/
# set_output_devices (its ModifyOutputContextRequest), atvscript
# push_updates' output_devices and per-device volume lines on another
# controller's change, and atv-watch seeing pyatv's change.  Each subtest
# checks the fake's control socket too.  Skipped unless atvremote is on
# PATH or $ATV_PYATV names it (t/README, "Interop with pyatv").
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

PYATV_REMOTE=${ATV_PYATV:-$(command -v atvremote 2> /dev/null)}
[ -n "$PYATV_REMOTE" ] && [ -x "$PYATV_REMOTE" ] ||
	test_skip_all "pyatv's atvremote not found (set ATV_PYATV, see t/README)"
PYATV_SCRIPT=$(dirname "$PYATV_REMOTE")/atvscript
[ -x "$PYATV_SCRIPT" ] || PYATV_SCRIPT=$(command -v atvscript 2> /dev/null)
[ -n "$PYATV_SCRIPT" ] || test_skip_all "pyatv's atvscript not found beside $PYATV_REMOTE"
say "pyatv: $("$PYATV_REMOTE" --version 2>&1)"

NET=127.45.$(($$ % 250 + 1))
LR=$NET.2
PIN=97531
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS
# pyatv's unicast scan asks HOST:5353; the fake answers there
PYATV_UDNS_PORT=5353
export PYATV_UDNS_PORT
KITCHEN=4C3B2A19-0817-4E6D-9C5B-4A3928170615
BEDROOM=F0:B3:EC:21:7A:44

# pyatv NAME ARGS: atvremote with its credentials for the living room,
# bounded; output in NAME.out
pyatv() {
	_o=$1
	shift
	timeout $T "$PYATV_REMOTE" --storage none -s $LR -i $LR_ID \
		--mrp-credentials "$(cat "$TRASH/py.creds")" "$@" > "$_o.out" 2> "$_o.err" || {
		echo "atvremote $* failed:" >&2
		cat "$_o.out" "$_o.err" >&2
		return 1
	}
}
# group: the identifiers grouped on the fake, in its order
group() { ctl lr state | jq -r '[.output_devices[] | select(.grouped) | .identifier] | join(",")'; }
# listed FILE: the identifiers atvremote's output_devices printed
listed() { tail -n 1 "$1" | grep -o "([^)]*)" | tr -d "()" | paste -sd, -; }

test_expect_success 'start the fake, pair pyatv (MRP) and atv-pair' '
	start_mrp_fake lr $LR &&
	ctl lr pin $PIN &&
	atv-scan -s $LR > lr.json &&
	printf "%s\n" $PIN | timeout $T "$PYATV_REMOTE" --storage none -s $LR -i $LR_ID \
		--protocol mrp pair > pair.out 2> pair.err &&
	sed -n "s/.*these credentials: //p" pair.out > py.creds && test -s py.creds &&
	atv-pair --pin $PIN < lr.json > /dev/null
'

test_expect_success 'atvremote output_devices: the device alone, by name and identifier' '
	pyatv l1 output_devices &&
	test "$(tail -n 1 l1.out)" = "Device: Living Room ($LR_ID)"
'

test_expect_success 'atvremote add_output_devices: the fake groups it, pyatv lists both' '
	pyatv a1 add_output_devices=$KITCHEN output_devices &&
	test "$(group)" = "$LR_ID,$KITCHEN" &&
	test "$(listed a1.out)" = "$LR_ID,$KITCHEN" &&
	ctl_json_is lr state ".commands | index(\"add_output_devices=$KITCHEN\") != null"
'

test_expect_success 'atvremote remove_output_devices, then set_output_devices (two speakers)' '
	pyatv r1 remove_output_devices=$KITCHEN output_devices &&
	test "$(group)" = "$LR_ID" && test "$(listed r1.out)" = "$LR_ID" &&
	pyatv s1 set_output_devices=$KITCHEN,$BEDROOM output_devices &&
	test "$(group)" = "$KITCHEN,$BEDROOM" &&
	test "$(listed s1.out)" = "$KITCHEN,$BEDROOM" &&
	pyatv s2 set_output_devices=$LR_ID &&
	test "$(group)" = "$LR_ID"
'

test_expect_success 'atvremote with an unknown identifier: the fake refuses, nothing changes' '
	pyatv u1 add_output_devices=NO-SUCH-SPEAKER output_devices &&
	test "$(group)" = "$LR_ID" && test "$(listed u1.out)" = "$LR_ID" &&
	ctl_json_is lr state ".commands | index(\"add_output_devices=NO-SUCH-SPEAKER:failed\") != null"
'

test_expect_success 'atvscript push_updates: the group, then another controller changes it' '
	rm -f in.fifo && mkfifo in.fifo &&
	{ timeout $T "$PYATV_SCRIPT" --storage none -s $LR -i $LR_ID \
		--mrp-credentials "$(cat py.creds)" push_updates < in.fifo > push.out 2> push.err & } &&
	ppid=$! && exec 3> in.fifo &&
	wait_for_line push.out "has(\"output_devices\")" &&
	test_jq_sel "has(\"output_devices\")" \
		".output_devices == [{\"name\":\"Living Room\",\"identifier\":\"$LR_ID\"}]" push.out &&
	ctl lr group $LR_ID,$BEDROOM &&
	wait_for_line push.out "has(\"output_devices\") and (.output_devices | length) == 2" &&
	ctl lr output-volume $BEDROOM 70 &&
	wait_for_line push.out ".output_device_id == \"$BEDROOM\" and .new_level == 70" &&
	echo >&3 && exec 3>&- && wait_for_exit $ppid && test $rc -eq 0 &&
	ctl lr group $LR_ID
'

test_expect_success 'atv-watch sees the group pyatv sets (another controller)' '
	watch w1 lr.json &&
	wait_for_line w1.out ".event == \"output_devices\"" &&
	pyatv a2 add_output_devices=$BEDROOM &&
	wait_for_line w1.out ".event == \"output_devices\" and
		[.output_devices[].identifier] == [\"$LR_ID\", \"$BEDROOM\"]" &&
	kill $wpid && wait_for_exit $wpid
'

test_expect_success 'our set_output_devices read back by pyatv' '
	send_ok lr.json set_output_devices=$KITCHEN &&
	pyatv l2 output_devices &&
	test "$(tail -n 1 l2.out)" = "Device: Kitchen HomePod ($KITCHEN)"
'

test_done
