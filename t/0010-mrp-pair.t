#!/bin/sh
# atv-pair -p mrp against the fake Apple TV's MRP server: scan, pair, the
# stored credentials, the PIN sources, a wrong PIN, pairing again.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

# this script's own loopback addresses (127.10.X.*), X differing per run so
# that builds testing at the same time do not clash on ports 5353 and 49152
NET=127.10.$(($$ % 250 + 1))
LR=$NET.2 KI=$NET.3 BR=$NET.4 NONE=$NET.9
# a PIN that cannot turn up by chance in hex credentials or a log
PIN=97531864
CREDS=$TRASH/cfg/credentials

mrp_creds() { jq -r '.services[] | select(.protocol == "mrp") | .credentials'; }

test_expect_success 'start the fake devices' '
	start_mrp_fake lr $LR &&
	start_mrp_fake ki $KI "$DEV/kitchen.json" &&
	start_mrp_fake br $BR "$DEV/bedroom.json" &&
	ctl lr pin $PIN &&
	grep -q "^mrp " lr.ready
'

test_expect_success 'scan: the device has an mrp service without credentials' '
	atv-scan -s $LR > lr.json &&
	test_jq ".identifier == \"$LR_ID\"" lr.json &&
	test "$(mrp_creds < lr.json)" = null &&
	test "$(mrp_port < lr.json)" = "$(fake_state lr | jq .mrp_port)"
'

test_expect_success 'pair with --pin: stored 0600, the config printed without them' '
	atv-pair -c "$CREDS" --pin $PIN < lr.json > paired.json 2> err &&
	test ! -s err &&
	test $(wc -l < paired.json) -eq 1 &&
	test "$(mrp_creds < paired.json)" = null &&
	jq -r .credentials "$CREDS" > got &&
	grep -Eq "^[0-9a-fA-F]+:[0-9a-fA-F]+:[0-9a-fA-F]+:[0-9a-fA-F]+$" got &&
	test "$(stat -c %a "$CREDS")" = 600 &&
	test "$(stat -c %a cfg)" = 700 &&
	test $(wc -l < "$CREDS") -eq 1 &&
	test_jq ".identifier == \"$LR_ID\" and .protocol == \"mrp\" and .name == \"Living Room\"" "$CREDS" &&
	test_jq ".paired | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$\")" "$CREDS" &&
	test "$(jq -r .credentials "$CREDS")" = "$(cat got)" &&
	fake_state lr > st &&
	test_jq ".pairings == 1" st
'

test_expect_success 'the rest of the config is passed on unchanged' '
	jq -c "del(.services[] | select(.protocol == \"mrp\") | .credentials)" lr.json > a &&
	jq -c "del(.services[] | select(.protocol == \"mrp\") | .credentials)" paired.json > b &&
	test_cmp a b
'

test_expect_success 'the stored credentials work (atv-send)' '
	atv-send -c "$CREDS" playing < lr.json > out &&
	test_jq ".ok" out
'

test_expect_success 'the PIN never shows on stdout or stderr, even with -vv' '
	atv-pair -vv -c "$CREDS" --pin $PIN < lr.json > out 2> err &&
	! grep -q $PIN out err
'

test_expect_success 'a second pairing replaces the first' '
	old=$(cat got) &&
	atv-pair -c "$CREDS" --pin $PIN < lr.json > paired2.json &&
	test "$(mrp_creds < paired2.json)" = null &&
	new=$(jq -r .credentials "$CREDS") &&
	test $(wc -l < "$CREDS") -eq 1 &&
	test "$(jq -r .credentials "$CREDS")" = "$new" &&
	test "$new" != "$old" &&
	atv-send -c "$CREDS" playing < lr.json > out &&
	test_jq ".ok" out
'

test_expect_success '--pin-file, --with-credentials: the config printed with them' '
	printf "  %s\nignored\n" $PIN > pinfile &&
	atv-pair --with-credentials -c creds2 --pin-file pinfile < lr.json > out &&
	test "$(mrp_creds < out)" != null &&
	test "$(jq -r .credentials creds2)" = "$(mrp_creds < out)"
'

test_expect_success 'a wrong PIN exits 4 and stores nothing' '
	cp "$CREDS" before &&
	test_must_fail 4 atv-pair -c "$CREDS" --pin 1111 < lr.json > out 2> err &&
	test_fail_line out &&
	test $(wc -l < err) -eq 1 &&
	grep -qi "pin" err &&
	test_cmp before "$CREDS" &&
	test_must_fail 4 atv-pair -c creds3 --pin 1111 < lr.json > out &&
	test ! -s creds3
'

# util-linux script(1) gives the tool a terminal of its own
if script -qec true /dev/null < /dev/null > /dev/null 2>&1; then
	test_expect_success 'no --pin: the PIN is asked for on /dev/tty' '
		printf "%s\n" $PIN > answer &&
		script -qec "atv-pair -c creds4 < lr.json > tty.out" /dev/null < answer > tty.log &&
		grep -q "PIN shown on Living Room" tty.log &&
		test $(wc -l < tty.out) -eq 1 &&
		test "$(mrp_creds < tty.out)" = null &&
		jq -r .credentials creds4 | grep -Eq "^[0-9a-fA-F:]+$"
	'
else
	test_skip 'no --pin: the PIN is asked for on /dev/tty' 'no util-linux script(1)'
fi

if setsid -w true < /dev/null > /dev/null 2>&1; then
	test_expect_success 'no --pin and no terminal to ask on exits 2' '
		test_must_fail 2 setsid -w atv-pair -c creds5 < lr.json > out 2> err &&
		grep -q "no terminal" err &&
		test_fail_line out
	'
else
	test_skip 'no --pin and no terminal to ask on exits 2' 'no util-linux setsid(1)'
fi

test_expect_success '-i: the tool scans for the device itself' '
	atv-pair -c creds6 --pin $PIN -i $LR_ID -s $NONE,$LR < /dev/null > out &&
	test_jq ".identifier == \"$LR_ID\" and .address == \"$LR\"" out &&
	test -s creds6
'

test_expect_success 'several configs on stdin: each is paired' '
	cat lr.json lr.json | atv-pair -c creds7 --pin $PIN > out &&
	test $(wc -l < out) -eq 2 &&
	test $(wc -l < creds7) -eq 1
'

test_expect_success 'a stale port in the config: found again by identifier' '
	jq -c "(.services[] | select(.protocol == \"mrp\") | .port) = 9 | .mine = \"kept\"" \
		lr.json > stale.json &&
	atv-pair -c creds8 --pin $PIN < stale.json > out 2> err &&
	test "$(mrp_port < out)" = "$(mrp_port < lr.json)" &&
	test_jq ".mine == \"kept\"" out &&
	test -s creds8
'

test_expect_success 'a stale address in the config: found again through -s' '
	jq -c ".address = \"$NONE\"" lr.json > moved.json &&
	atv-pair -c creds9 --pin $PIN -s $LR < moved.json > out &&
	test_jq ".address == \"$LR\"" out
'

test_expect_success 'a device without MRP cannot be paired over MRP (exit 1)' '
	atv-scan -s $KI > ki.json &&
	test_must_fail 1 atv-pair -c creds10 --pin $PIN < ki.json > out 2> err &&
	test_fail_line out && test ! -s creds10 &&
	grep -qi mrp err &&
	atv-scan -s $BR > br.json &&
	test_must_fail 1 atv-pair -c creds10 --pin $PIN < br.json 2> err &&
	grep -qi "disabled\|tvos" err
'

test_expect_success 'a PIN that changed on the device: the old one is wrong' '
	ctl lr pin 2468 &&
	test_must_fail 4 atv-pair -c creds11 --pin $PIN < lr.json &&
	atv-pair -c creds11 --pin 2468 < lr.json > out &&
	ctl lr pin $PIN
'

test_expect_success 'an unreachable device exits 3' '
	jq -c ".address = \"$NONE\" | .identifier = \"NO-SUCH-ID\" | .all_identifiers = [\"NO-SUCH-ID\"] |
		(.services[] | .identifier) = \"NO-SUCH-ID\"" lr.json > gone.json &&
	test_must_fail 3 atv-pair -t 0.5 -c creds12 --pin $PIN < gone.json 2> err &&
	test ! -s creds12
'

test_expect_success 'bad input on stdin exits 6' '
	test_must_fail 6 atv-pair -c creds13 --pin $PIN < /dev/null 2> err &&
	grep -q "no device config" err &&
	echo "{not json" > bad &&
	test_must_fail 6 atv-pair -c creds13 --pin $PIN < bad &&
	{ echo "[1]"; cat lr.json; } | test_must_fail 6 atv-pair -c creds13 --pin $PIN > out &&
	test $(wc -l < out) -eq 2 &&
	head -n 1 out > out1 && test_fail_line out1 &&
	sed -n 2p out | jq -e .identifier
'

test_expect_success 'a credentials file others can read is refused before pairing (exit 4)' '
	cp "$CREDS" open && chmod 644 open &&
	pairings=$(fake_state lr | jq .pairings) &&
	test_must_fail 4 atv-pair -c open --pin $PIN < lr.json 2> err &&
	grep -q "chmod 600" err &&
	test "$(fake_state lr | jq .pairings)" = "$pairings"
'

test_expect_success 'usage errors exit 2' '
	test_must_fail 2 atv-pair --pin 12ab < lr.json &&
	test_must_fail 2 atv-pair --pin 1 --pin-file pinfile < lr.json &&
	test_must_fail 2 atv-pair -p dmap --pin 1 < lr.json &&
	test_must_fail 2 atv-pair --pin 1 extra < lr.json &&
	test_must_fail 2 atv-pair --no-such-option < lr.json &&
	atv-pair --help | grep -q usage &&
	atv-pair --version | grep -q atv-tools
'

test_expect_success 'a write error on stdout exits 7' '
	test_must_fail 7 atv-pair -c creds14 --pin $PIN < lr.json > /dev/full 2> err &&
	grep -q "unable to write" err
'

# The fake's --pairings file holds the controllers of MRP and AirPlay, a
# line each with its "protocol"; each server rewrites only its own lines.
PF=$NET.6
PAIRINGS=$TRASH/pf.pairings
printf '%s\n' '{"protocol": "raop", "id": "00",  "note": "not ours"}' > "$TRASH/other"

start_pf() {
	rm -f "$TRASH/pf.ready" &&
	start_mrp_fake pf $PF --mrp-port 0 --airplay-port 0 --pairings "$PAIRINGS" &&
	atv-scan -s $PF > pf.json
}

stop_pf() { kill $FAKE_PID_pf && wait $FAKE_PID_pf; }

test_expect_success '--pairings: airplay then mrp paired, a line for each' '
	start_pf &&
	ctl pf pin $PIN && ctl pf airplay-pin $PIN &&
	atv-pair -c pf.creds -p airplay --pin $PIN < pf.json > /dev/null &&
	atv-pair -c pf.creds --pin $PIN < pf.json > /dev/null &&
	test "$(stat -c %a "$PAIRINGS")" = 600 &&
	test $(wc -l < "$PAIRINGS") -eq 2 &&
	jq -e -s "map(.protocol) | sort == [\"airplay\", \"mrp\"]" "$PAIRINGS" > /dev/null &&
	test_jq_all "(.id | test(\"^[0-9a-f]+$\")) and (.ltpk | test(\"^[0-9a-f]{64}$\"))" \
		"$PAIRINGS" &&
	fake_state pf > st && test_jq ".pairings == 1 and .airplay.pairings == 1" st
'

test_expect_success '--pairings: a restarted fake still knows both controllers' '
	stop_pf && start_pf &&
	fake_state pf > st && test_jq ".pairings == 1 and .airplay.pairings == 1" st &&
	atv-send -c pf.creds -p mrp play < pf.json > out && test_jq ".ok" out &&
	atv-send -c pf.creds -p airplay playing < pf.json > out && test_jq ".ok" out &&
	fake_state pf > st &&
	test_jq "any(.commands[]; . == \"play\") and .airplay.verified == 1" st
'

test_expect_success '--pairings: lines without protocol are mrp; others are kept as they are' '
	stop_pf &&
	jq -c "select(.protocol == \"mrp\") | del(.protocol)" "$PAIRINGS" > mrp-old &&
	jq -c "select(.protocol == \"airplay\")" "$PAIRINGS" > ap-line &&
	cat mrp-old ap-line other > "$PAIRINGS" &&
	start_pf &&
	fake_state pf > st && test_jq ".pairings == 1 and .airplay.pairings == 1" st &&
	atv-send -c pf.creds -p mrp play < pf.json > out && test_jq ".ok" out &&
	test "$(ctl pf airplay-revoke)" = 1 &&
	cat mrp-old other > want && test_cmp want "$PAIRINGS" &&
	ctl pf pin $PIN && atv-pair -c pf.creds --pin $PIN < pf.json > /dev/null &&
	grep -Fxq "$(cat other)" "$PAIRINGS" &&
	test $(wc -l < "$PAIRINGS") -eq $(($(fake_state pf | jq .pairings) + 1)) &&
	test_jq_all "has(\"protocol\")" "$PAIRINGS" &&
	test_jq_sel ".protocol != \"raop\"" ".protocol == \"mrp\"" "$PAIRINGS"
'

test_done
