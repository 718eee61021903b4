#!/bin/sh
# Interop: pyatv 0.18 (atvremote, atvscript), an independent Companion
# client, against the fake's Companion server: pairing with the PIN (and a
# wrong one), then app_list, launch_app, power_state, turn_on/turn_off,
# text_set/text_get/text_append, account_list/switch_account, keys, and a
# power change made on the "device" pushed to a listening pyatv.  Each
# checks what the fake's control socket shows, not only what pyatv prints.
# Skipped unless atvremote is on PATH or $ATV_PYATV names it (t/README,
# "Interop with pyatv").
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

PYATV_REMOTE=${ATV_PYATV:-$(command -v atvremote 2> /dev/null)}
[ -n "$PYATV_REMOTE" ] && [ -x "$PYATV_REMOTE" ] ||
	test_skip_all "pyatv's atvremote not found (set ATV_PYATV, see t/README)"
PYATV_SCRIPT=$(dirname "$PYATV_REMOTE")/atvscript
[ -x "$PYATV_SCRIPT" ] || PYATV_SCRIPT=$(command -v atvscript 2> /dev/null)
PYATV_PY=${ATV_PYATV_PYTHON:-$(dirname "$PYATV_REMOTE")/pyatv-python}
say "pyatv: $("$PYATV_REMOTE" --version 2>&1)"

NET=127.35.$(($$ % 250 + 1))
LR=$NET.2
PIN=52917
PYATV_UDNS_PORT=5353
export PYATV_UDNS_PORT
PY="--storage none -s $LR"

# pyatv connects every protocol the device offers, MRP without credentials
# too (which the fake refuses): this device offers Companion and AirPlay
jq '.services |= map(select(.type != "_mediaremotetv._tcp"))' "$DEV/livingroom.json" > comp.json

st() { ctl_json_is lr companion-state "$1"; }

# py NAME ARGS: atvremote with the Companion credentials, bounded; output
# in NAME.out
py() {
	_o=$1
	shift
	timeout $T "$PYATV_REMOTE" $PY --companion-credentials "$(cat py.creds)" "$@" \
		> "$_o.out" 2> "$_o.err" || {
		echo "atvremote $* failed ($?):" >&2
		cat "$_o.out" "$_o.err" >&2
		return 1
	}
}

test_expect_success 'start the fake (Companion + AirPlay), PIN set' '
	start_mrp_fake lr $LR comp.json &&
	ctl lr companion-pin $PIN &&
	grep -q "^companion 49153$" lr.ready
'

test_expect_success 'atvscript scan: the companion service and its port' '
	timeout $T "$PYATV_SCRIPT" $PY scan > scan.out 2> scan.err &&
	test_jq "[.devices[0].services[] | select(.protocol == \"companion\") | .port]
		== [49153]" scan.out
'

test_expect_success 'atvremote --protocol companion pair with a wrong PIN fails' '
	printf "1\n" | timeout $T "$PYATV_REMOTE" $PY --protocol companion pair \
		> bad.out 2>&1 ;
	! grep -q "Pairing seems to have succeeded" bad.out &&
	st ".pairings == 0" &&
	grep -q "companion .*: pair-setup failed" lr.log
'

test_expect_success 'atvremote --protocol companion pair with the PIN' '
	printf "%s\n" $PIN | timeout $T "$PYATV_REMOTE" $PY --protocol companion pair \
		> pair.out 2> pair.err &&
	grep -q "Pairing seems to have succeeded" pair.out &&
	sed -n "s/.*these credentials: //p" pair.out > py.creds &&
	grep -Eq "^[0-9a-f]+:[0-9a-f]+:[0-9a-f]+:[0-9a-f]+$" py.creds &&
	st ".pairings == 1" &&
	grep -q "companion .*: paired with controller .* (pyatv)" lr.log &&
	! grep -v "control: " lr.log | grep -q $PIN
'

test_expect_success 'app_list: the apps the device has' '
	py apps app_list &&
	for a in "TV (com.apple.TVWatchList)" "Music (com.apple.TVMusic)" \
		"Netflix (com.netflix.Netflix)" "YouTube (com.google.ios.youtube)"; do
		grep -q "App: $a" apps.out || return 1
	done &&
	ctl lr companion-apps com.example.One=One%20App &&
	py apps2 app_list &&
	grep -q "App: One App (com.example.One)" apps2.out &&
	! grep -q Netflix apps2.out &&
	ctl lr companion-apps com.apple.TVWatchList=TV com.netflix.Netflix=Netflix
'

test_expect_success 'the connect sequence: system info with a client id, sessions, interests' '
	st "(.system_info | test(\"\\\"_i\\\":\\\"[0-9a-f]{12}\\\"\")) and
		(.requests | index(\"_sessionStart\") != null) and
		(.requests | index(\"TVRCSessionStart\") != null) and
		(.requests | index(\"FetchAttentionState\") != null) and
		(.requests | index(\"_sessionStop\") != null)"
'

test_expect_success 'launch_app with a bundle id: the current app, for MRP too' '
	py launch launch_app=com.netflix.Netflix &&
	st ".app == \"com.netflix.Netflix\"" &&
	ctl_json_is lr state ".playing.app == \"Netflix\" and
		.playing.app_id == \"com.netflix.Netflix\""
'

test_expect_success 'launch_app with a URL: kept, its app opened' '
	py url launch_app=https://example.com/watch?v=1 &&
	st ".url == \"https://example.com/watch?v=1\" and .app == \"com.apple.TVWatchList\""
'

test_expect_success 'launch_app of an app the device lacks fails' '
	! py nolaunch launch_app=com.example.missing &&
	st ".app == \"com.apple.TVWatchList\""
'

test_expect_success 'power_state, turn_off, turn_on: the shared power' '
	py p1 power_state && grep -q "PowerState.On" p1.out &&
	py off turn_off && st ".power == false and .attention == \"asleep\"" &&
	ctl_json_is lr state ".power == \"off\"" &&
	py p2 power_state && grep -q "PowerState.Off" p2.out &&
	py on turn_on && st ".power == true and .attention == \"awake\"" &&
	py p3 power_state && grep -q "PowerState.On" p3.out &&
	st "(.keys | index(\"sleep\") != null) and (.keys | index(\"wake\") != null)"
'

test_expect_success 'text_set, text_get, text_append: the text field' '
	py ts text_set=hello && st ".text == \"hello\"" &&
	py tg text_get && grep -qx hello tg.out &&
	py ta text_append=" world" && st ".text == \"hello world\"" &&
	ctl lr companion-text typed on the tv &&
	py tg2 text_get && grep -qx "typed on the tv" tg2.out &&
	py tc text_clear && st ".text == \"\""
'

test_expect_success 'account_list, switch_account' '
	py acc account_list &&
	grep -q "Account: Alice (A1B2C3D4)" acc.out &&
	grep -q "Account: Bob (E5F6A7B8)" acc.out &&
	py sw switch_account=E5F6A7B8 && st ".account == \"E5F6A7B8\"" &&
	! py sw2 switch_account=NOPE && st ".account == \"E5F6A7B8\""
'

test_expect_success 'keys: channel up/down, guide, screensaver, control centre, home' '
	py keys channel_up channel_down guide control_center home &&
	st "[.keys[-5:][]] == [\"channel_up\", \"channel_down\", \"guide\",
		\"control_center\", \"home\"]" &&
	py ss screensaver && st ".attention == \"screensaver\"" &&
	py up up && st ".attention == \"awake\""
'

test_expect_success 'volume: set_volume over Companion (_mcc) moves the shared volume' '
	py vol set_volume=30 &&
	ctl_json_is lr state ".volume == 30"
'

# A pyatv that stays connected and listens for power changes made on the
# device (the control socket): SystemStatus/TVSystemStatus pushes.
cat > listen.py << EOF
import asyncio, sys
import pyatv
from pyatv.const import Protocol

class L:
    def __init__(self): self.seen = asyncio.Event()
    def powerstate_update(self, old, new):
        print("power", new, flush=True)
        self.seen.set()

async def main():
    loop = asyncio.get_event_loop()
    confs = await pyatv.scan(loop, hosts=["$LR"], protocol=Protocol.Companion)
    conf = confs[0]
    conf.set_credentials(Protocol.Companion, open("py.creds").read().strip())
    atv = await pyatv.connect(conf, loop)
    l = L()
    atv.power.listener = l
    print("connected", atv.power.power_state, flush=True)
    try:
        await asyncio.wait_for(l.seen.wait(), 15)
    finally:
        atv.close()

asyncio.run(main())
EOF

if [ -x "$PYATV_PY" ]; then
	test_expect_success 'a power change on the device is pushed to a listening pyatv' '
		{ timeout $T "$PYATV_PY" listen.py > listen.out 2> listen.err & } &&
		pid=$! &&
		n=0 && until grep -q "^connected" listen.out || [ $n -ge 500 ]; do
			sleep 0.02; n=$((n + 1)); done &&
		grep -q "^connected PowerState.On" listen.out &&
		st "[.clients[].interests[]] | (index(\"SystemStatus\") != null)" &&
		ctl lr power off &&
		wait $pid &&
		grep -q "^power PowerState.Off" listen.out &&
		ctl lr power on
	'
else
	test_skip 'a power change on the device is pushed to a listening pyatv' \
		"no pyatv-python beside atvremote (ATV_PYATV_PYTHON)"
fi

test_expect_success 'a revoked pairing: verify fails' '
	ctl lr companion-revoke &&
	st ".pairings == 0" &&
	! py rv power_state &&
	grep -q "companion .*: pair-verify failed" lr.log
'

test_done
