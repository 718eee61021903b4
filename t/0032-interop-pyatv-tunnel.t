#!/bin/sh
# The fake's MRP tunnel (AirPlay 2, tvOS 15+ and HomePod) driven by an
# independent client: pyatv 0.18's atvremote, which tunnels MRP when the
# AirPlay TXT names an AppleTV model with osvers >= 13 and it holds HAP
# credentials, or an AudioAccessory model with transient pairing.  Skipped
# unless atvremote is on PATH or $ATV_PYATV names it; t/README "Interop with
# pyatv" says how to install it and what passed.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

PYATV_REMOTE=${ATV_PYATV:-$(command -v atvremote 2> /dev/null)}
[ -n "$PYATV_REMOTE" ] && [ -x "$PYATV_REMOTE" ] ||
	test_skip_all "pyatv's atvremote not found (set ATV_PYATV, see t/README)"
say "pyatv: $("$PYATV_REMOTE" --version 2>&1)"

NET=127.32.$(($$ % 250 + 1))
DEN=$NET.2 HP=$NET.3 OF=$NET.4
DEN_ID=5C:0F:3E:2A:7B:19 HP_ID=D4:90:9C:1E:2F:30 OF_ID=0B:4E:8D:21:C6:3A
AP_PIN=2718
# pyatv's unicast scan asks HOST:5353; the fakes answer there (see t/0022)
PYATV_UDNS_PORT=5353
export PYATV_UDNS_PORT
PY="--storage none"

# st NAME FILTER: the fake's tunnel state satisfies the jq FILTER
tst() { ctl_json_soon "$1" tunnel-state "$2"; }
st() { ctl_json_is "$1" state "$2"; }

# pyatv NAME ARGS: atvremote, bounded; output in NAME.out, errors NAME.err
pyatv() {
	_o=$1
	shift
	timeout $T "$PYATV_REMOTE" $PY "$@" > "$_o.out" 2> "$_o.err" || {
		echo "atvremote $* failed ($?):" >&2
		cat "$_o.out" "$_o.err" >&2
		return 1
	}
}

test_expect_success 'start the tvOS 17 Apple TV, the tvOS 27 one (skipRecord), the HomePod' '
	start_mrp_fake den $DEN "$DEV/den.json" &&
	start_mrp_fake hp $HP "$DEV/homepod.json" &&
	start_mrp_fake of $OF "$DEV/office.json" &&
	ctl den airplay-pin $AP_PIN && ctl of airplay-pin $AP_PIN &&
	grep -q "^airplay 7000" den.ready && ! grep -q "^mrp " hp.ready
'

test_expect_success 'tvOS 17: atvremote --protocol airplay pair with the PIN shown' '
	printf "%s\n" $AP_PIN | timeout $T "$PYATV_REMOTE" $PY -s $DEN -i $DEN_ID \
		--protocol airplay pair > pair.out 2> pair.err &&
	grep -q "Pairing seems to have succeeded" pair.out &&
	sed -n "s/.*these credentials: //p" pair.out > den.creds && test -s den.creds &&
	ctl den airplay-state | jq -e ".pairings == 1" > /dev/null
'

test_expect_success 'tvOS 17: playing through the tunnel (direct MRP is closed)' '
	pyatv play1 -s $DEN -i $DEN_ID --airplay-credentials "$(cat den.creds)" playing &&
	grep -q "Title: Loopback Blues" play1.out &&
	grep -q "Device state: Paused" play1.out &&
	grep -q "closing a direct connection" den.log &&
	tst den ".records == 1 and .updateinfo_sent == 1 and .updateinfo_answered == 1 and
		(.message_types | index(\"DEVICE_INFO_MESSAGE\") != null) and
		(.message_types | index(\"CLIENT_UPDATES_CONFIG_MESSAGE\") != null) and
		.rplys_in > 0 and .frames_out > 0"
'

test_expect_success 'tvOS 17: play, pause, set_volume, volume change the same player' '
	pyatv cmds -s $DEN -i $DEN_ID --airplay-credentials "$(cat den.creds)" \
		play pause set_volume=35 volume &&
	test "$(tail -n 1 cmds.out)" = 35.0 &&
	st den ".volume == 35 and .playing.device_state == \"paused\" and
		(.commands | index(\"play\") != null) and (.commands | index(\"pause\") != null)"
'

test_expect_success 'tvOS 17: what the control channel sets, pyatv reads through the tunnel' '
	ctl den set title=Tunnelled artist=Someone &&
	pyatv play2 -s $DEN -i $DEN_ID --airplay-credentials "$(cat den.creds)" playing &&
	grep -q "Title: Tunnelled" play2.out && grep -q "Artist: Someone" play2.out
'

test_expect_success 'tvOS 17: wrong credentials: pair-verify refused, no session' '
	ctl den airplay-revoke > /dev/null &&
	test_must_fail 1 timeout $T "$PYATV_REMOTE" $PY -s $DEN -i $DEN_ID \
		--airplay-credentials "$(cat den.creds)" playing > bad.out 2>&1 &&
	tst den ".sessions == 0 and .data_channels == 0"
'

test_expect_success 'HomePod: transient pairing, playing and volume without credentials' '
	pyatv hp1 -s $HP -i $HP_ID playing set_volume=20 volume &&
	grep -q "Title: Loopback Blues" hp1.out &&
	test "$(tail -n 1 hp1.out)" = 20.0 &&
	ctl hp airplay-state | jq -e ".transient >= 1" > /dev/null &&
	st hp ".volume == 20"
'

test_expect_success 'tvOS 27 (skipRecord): updateInfo comes at once, pyatv still records' '
	printf "%s\n" $AP_PIN | timeout $T "$PYATV_REMOTE" $PY -s $OF -i $OF_ID \
		--protocol airplay pair > opair.out 2> opair.err &&
	sed -n "s/.*these credentials: //p" opair.out > of.creds && test -s of.creds &&
	pyatv of1 -s $OF -i $OF_ID --airplay-credentials "$(cat of.creds)" playing pause &&
	grep -q "Title: Loopback Blues" of1.out &&
	tst of ".skip_record == true and .updateinfo_sent == 1 and .updateinfo_answered == 1"
'

test_done
