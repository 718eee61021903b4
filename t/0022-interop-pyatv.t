#!/bin/sh
# Interop: pyatv (an independent client, atvremote and atvscript) against
# t/fake-atv, credentials moving between atv-pair/atv-send and pyatv, and,
# with $ATV_PYATV_PYTHON, our tools against pyatv's own fake device.
# Skipped unless atvremote is on PATH or $ATV_PYATV names it (atvscript is
# taken from the same directory, else PATH).  See t/README, "Interop with
# pyatv", for installing pyatv 0.18 on Debian 12.
#
# Every subtest checks what a real Apple TV would answer.  A subtest that
# fails for a known reason not fixed yet is a TAP TODO (t/README); none is
# left since the MRP tunnel issue (RTSP on the AirPlay 2 port).
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

PYATV_REMOTE=${ATV_PYATV:-$(command -v atvremote 2> /dev/null)}
[ -n "$PYATV_REMOTE" ] && [ -x "$PYATV_REMOTE" ] ||
	test_skip_all "pyatv's atvremote not found (set ATV_PYATV, see t/README)"
PYATV_SCRIPT=$(dirname "$PYATV_REMOTE")/atvscript
[ -x "$PYATV_SCRIPT" ] || PYATV_SCRIPT=$(command -v atvscript 2> /dev/null)
[ -n "$PYATV_SCRIPT" ] || test_skip_all "pyatv's atvscript not found beside $PYATV_REMOTE"
say "pyatv: $("$PYATV_REMOTE" --version 2>&1)"

# this script's own loopback addresses, differing per run (see t/0010)
NET=127.22.$(($$ % 250 + 1))
LR=$NET.2 KI=$NET.3
PIN=24681357
AP_PIN=3141
URL=http://127.0.0.1:9/interop.mp4
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS
# pyatv's unicast scan asks HOST:5353 (its PYATV_UDNS_PORT); the fakes
# answer there, on their own addresses, as real devices do
PYATV_UDNS_PORT=5353
export PYATV_UDNS_PORT
# pyatv keeps no state between runs here: credentials go on its command line
PY="--storage none"

# st NAME FILTER: the fake's state satisfies the jq FILTER
st() { ctl_json_is "$1" state "$2"; }

# pyatv NAME ARGS, pyscript NAME ARGS: atvremote / atvscript, bounded;
# output in NAME.out, errors in NAME.err.  pyatv_file: atvremote with the
# settings file pyatv.conf.
run_py() {
	_o=$1
	shift
	timeout $T "$@" > "$_o.out" 2> "$_o.err" || {
		echo "$* failed ($?):" >&2
		cat "$_o.out" "$_o.err" >&2
		return 1
	}
}
pyatv() { _n=$1; shift; run_py "$_n" "$PYATV_REMOTE" $PY "$@"; }
pyscript() { _n=$1; shift; run_py "$_n" "$PYATV_SCRIPT" $PY "$@"; }
pyatv_file() {
	_n=$1
	shift
	run_py "$_n" "$PYATV_REMOTE" --storage file --storage-filename "$TRASH/pyatv.conf" "$@"
}

# now_ms: milliseconds since the epoch
now_ms() { echo $(($(date +%s%N) / 1000000)); }

LR_DEV="-s $LR -i $LR_ID"
mrp_creds_of() { jq -r '.services[] | select(.protocol == "mrp") | .credentials'; }

test_expect_success 'start the fakes (living room: MRP + AirPlay 2, kitchen: DMAP)' '
	start_mrp_fake lr $LR &&
	start_mrp_fake ki $KI "$DEV/kitchen.json" --dmap-port 0 &&
	ctl lr pin $PIN &&
	ctl lr airplay-pin $AP_PIN &&
	atv-scan -s $LR > lr.json &&
	atv-scan -s $KI > ki.json
'

test_expect_success 'atvscript scan: the device, its identifiers and services' '
	pyscript scan -s $LR scan &&
	jq -c ".devices[]" scan.out > devs &&
	test $(wc -l < devs) -eq 1 &&
	test_jq ".result == \"success\"" scan.out &&
	test_jq ".name == \"Living Room\" and .address == \"$LR\" and
		.identifier == \"$LR_ID\" and
		(.all_identifiers | index(\"AA:BB:CC:DD:EE:FF\") != null) and
		.device_info.mac == \"AA:BB:CC:DD:EE:FF\" and
		.device_info.version == \"14.7\" and
		([.services[] | select(.protocol == \"mrp\") | .port] == [49152]) and
		([.services[] | select(.protocol == \"airplay\") | .port] == [7000])" devs &&
	jq -r ".all_identifiers[]" lr.json | sort > ours &&
	jq -r ".all_identifiers[]" devs | sort > theirs &&
	comm -23 ours theirs > only_ours &&
	test ! -s only_ours
'

# pyatv sends its questions in several queries and finishes when every one
# has had an answer; a query left unanswered is resent after a second.
test_expect_success 'scan: every query answered, none resent (milliseconds, not 1 s)' '
	n0=$(wc -l < lr.log) &&
	t0=$(now_ms) && pyscript scan2 -s $LR scan && t1=$(now_ms) &&
	t2=$(now_ms) && timeout $T "$PYATV_SCRIPT" --help > /dev/null && t3=$(now_ms) &&
	echo "atvscript scan: $((t1 - t0)) ms, atvscript --help: $((t3 - t2)) ms" > scan.time &&
	tail -n +$((n0 + 1)) lr.log | grep "mdns .*: query from" |
		sed "s/.*query from [^ ]* //" > queries &&
	tail -n +$((n0 + 1)) lr.log | grep -c "nothing to answer" > unanswered || : &&
	test -s queries &&
	test "$(cat unanswered)" -eq 0 &&
	test "$(sort queries | uniq -d | wc -l)" -eq 0
'

[ -s scan.time ] && say "$(cat scan.time) (python start-up)"

test_expect_success 'scan: pyatv sees the services the device serves (companion since issue 12)' '
	test_jq "[.services[] | select(.protocol == \"companion\") | .port] == [49153]" devs
'

test_expect_success 'atvremote pair (mrp) with the PIN: the fake knows the controller' '
	printf "%s\n" $PIN | timeout $T "$PYATV_REMOTE" $PY $LR_DEV --protocol mrp pair \
		> pair.out 2> pair.err &&
	grep -q "Pairing seems to have succeeded" pair.out &&
	sed -n "s/.*these credentials: //p" pair.out > py.creds &&
	grep -Eq "^[0-9a-f]+:[0-9a-f]+:[0-9a-f]+:[0-9a-f]+$" py.creds &&
	st lr ".pairings == 1" &&
	! grep -v "control: pin" lr.log | grep -q $PIN
'

test_expect_success 'atvremote with its credentials: verified, volume set and read back' '
	c=$(cat py.creds) &&
	pyatv vol $LR_DEV --mrp-credentials "$c" set_volume=35 volume &&
	test "$(tail -n 1 vol.out)" = 35.0 &&
	st lr ".volume == 35" &&
	grep -q "verified controller" lr.log
'

test_expect_success 'playing: title, artist, app and device state as the device has them' '
	c=$(cat py.creds) &&
	ctl lr set title=Interop%20Song artist=The%20Peers device_state=paused &&
	pyscript playing $LR_DEV --mrp-credentials "$c" playing &&
	test_jq ".result == \"success\" and .title == \"Interop Song\" and
		.artist == \"The Peers\" and .device_state == \"paused\" and
		.app == \"Music\" and .app_id == \"com.apple.TVMusic\"" playing.out
'

test_expect_success 'play_pause: the device plays, then pauses' '
	c=$(cat py.creds) &&
	ctl lr set device_state=paused &&
	pyatv pp1 $LR_DEV --mrp-credentials "$c" play_pause &&
	st lr ".playing.device_state == \"playing\"" &&
	pyatv pp2 $LR_DEV --mrp-credentials "$c" play_pause &&
	st lr ".playing.device_state == \"paused\""
'

test_expect_success 'play and pause (plain commands) change the device state' '
	c=$(cat py.creds) &&
	pyatv pl $LR_DEV --mrp-credentials "$c" play &&
	st lr ".playing.device_state == \"playing\"" &&
	pyatv pa $LR_DEV --mrp-credentials "$c" pause &&
	st lr ".playing.device_state == \"paused\""
'

test_expect_success 'artwork_save at the default size: a PNG' '
	c=$(cat py.creds) &&
	pyatv art $LR_DEV --mrp-credentials "$c" artwork_save &&
	test -s artwork.png &&
	test "$(head -c 8 artwork.png | od -An -tx1 | tr -d " ")" = 89504e470d0a1a0a
'

test_expect_success "atv-pair's credentials work in pyatv (--mrp-credentials)" '
	atv-pair --with-credentials --pin $PIN < lr.json > paired.json 2> err &&
	mrp_creds_of < paired.json > ours.creds &&
	test "$(cat ours.creds)" != null &&
	st lr ".pairings == 2" &&
	pyatv vol2 $LR_DEV --mrp-credentials "$(cat ours.creds)" set_volume=55 &&
	st lr ".volume == 55"
'

test_expect_success "pyatv's credentials work in atv-send (on the config)" '
	jq -c --arg c "$(cat py.creds)" \
		"(.services[] | select(.protocol == \"mrp\") | .credentials) = \$c" \
		lr.json > pycreds.json &&
	timeout $T atv-send -c nofile/credentials set_volume=20 < pycreds.json \
		> send.out 2> send.err &&
	test_jq ".ok" send.out &&
	st lr ".volume == 20"
'

test_expect_success 'atvscript scan of the kitchen (DMAP + AirPlay 1)' '
	pyscript kscan -s $KI scan &&
	jq -c ".devices[]" kscan.out > kdevs &&
	test $(wc -l < kdevs) -eq 1 &&
	test_jq "[.services[].protocol] | index(\"dmap\") != null" kdevs &&
	jq -r .identifier kdevs > ki.id &&
	dport=$(fake_state ki | jq .dmap_port) &&
	test_jq "[.services[] | select(.protocol == \"dmap\") | .port] == [$dport]" kdevs
'

KI_DEV() { echo "-s $KI -i $(cat ki.id) --protocol dmap --dmap-credentials 0x0000000000000001"; }

test_expect_success 'DMAP: login with a paired GUID, play and pause' '
	pyatv kpl $(KI_DEV) play &&
	st ki ".playing.device_state == \"playing\"" &&
	pyatv kpa $(KI_DEV) pause &&
	st ki ".playing.device_state == \"paused\"" &&
	st ki "[.dmap_requests[] | tostring | select(test(\"login\"))] | length > 0"
'

test_expect_success 'DMAP: volume_up and volume_down' '
	ctl ki volume 50 &&
	pyatv kup $(KI_DEV) volume_up &&
	st ki ".volume > 50" &&
	ctl ki volume 50 &&
	pyatv kdown $(KI_DEV) volume_down &&
	st ki ".volume < 50"
'

test_expect_success 'AirPlay: atvremote pair with the PIN the fake shows' '
	printf "%s\n" $AP_PIN | timeout $T "$PYATV_REMOTE" $PY $LR_DEV --protocol airplay pair \
		> appair.out 2> appair.err &&
	grep -q "Pairing seems to have succeeded" appair.out &&
	sed -n "s/.*these credentials: //p" appair.out > ap.creds &&
	test -s ap.creds &&
	ctl lr airplay-state | jq -e ".pairings == 1" > /dev/null
'

# On an AirPlay 2 device pyatv speaks RTSP on the AirPlay port after
# pair-verify: the MRP tunnel's SETUPs, RECORD and /feedback (whenever it
# has HAP credentials and tvOS >= 13), and a session before POST /play for
# play_url.  The tunnel can be turned off only in a settings file (atvremote
# has no option for it): pyatv_conf TUNNEL writes one.  With MRP
# credentials too, pyatv runs MRP's pair-verify inside the tunnel.
pyatv_conf() {
	jq -n -c --arg mrp "$(cat py.creds)" --arg ap "$(cat ap.creds)" --arg id "$LR_ID" \
		--arg tunnel "$1" \
		'{version: 1, devices: [{info: {}, protocols: {
			mrp: {identifier: $id, credentials: $mrp},
			airplay: {identifier: "AA:BB:CC:DD:EE:FF", credentials: $ap,
				mrp_tunnel: $tunnel}}}]}' > pyatv.conf
}

test_expect_success 'AirPlay 2: connecting with the MRP tunnel (pyatv default)' '
	pyatv_conf auto &&
	pyatv_file tun $LR_DEV volume &&
	ctl lr tunnel-state > tun.json &&
	jq -e ".setups >= 2 and .updateinfo_answered >= 1 and .messages >= 4" tun.json > /dev/null
'

test_expect_success 'AirPlay 2: play_url (MRP tunnel off) plays the URL' '
	ctl lr airplay-video duration 1 &&
	pyatv_conf disable &&
	pyatv_file apurl $LR_DEV play_url=$URL &&
	ctl lr airplay-state > aps.json &&
	jq -e ".video.url == \"$URL\"" aps.json > /dev/null
'

test_expect_success 'AirPlay 1 (kitchen, no pairing): play_url plays the URL' '
	ctl ki airplay-video duration 1 &&
	pyatv kurl -s $KI -i "$(cat ki.id)" --dmap-credentials 0x0000000000000001 \
		play_url=$URL &&
	ctl ki airplay-state > kaps.json &&
	jq -e ".video.url == \"$URL\"" kaps.json > /dev/null
'

# The other direction: our client against pyatv's own fake Apple TV (the
# tests/fake_device package of a pyatv source tree), when $ATV_PYATV_PYTHON
# names a python3 that imports it.  It has no mDNS here: the configs are
# written by hand.  Its servers are made to listen on our loopback address
# only (pyatv binds 0.0.0.0).
PYFAKE=$NET.5
PYFAKE_ID=6D797FD3-3538-427E-A47B-A32FC6CF3A69
cat > pyfake.py << 'EOF'
import asyncio, json, os, sys
from aiohttp import web
addr, ports = sys.argv[1], sys.argv[2]
_create_server = asyncio.BaseEventLoop.create_server
async def create_server(self, factory, host=None, *args, **kwargs):
    return await _create_server(self, factory, addr, *args, **kwargs)
asyncio.BaseEventLoop.create_server = create_server
class Site(web.TCPSite):
    def __init__(self, runner, host=None, port=None, **kwargs):
        super().__init__(runner, addr, port, **kwargs)
web.TCPSite = Site
from pyatv.const import Protocol
from tests.fake_device import FakeAppleTV
async def main():
    atv = FakeAppleTV(asyncio.get_running_loop(), test_mode=False)
    _, mrp = atv.add_service(Protocol.MRP)
    _, dmap = atv.add_service(Protocol.DMAP, hsgid="12345678-6789-1111-2222-012345678911",
                              pairing_guid="0x0000000000000001", session_id=55555)
    await atv.start()
    mrp.example_video()
    dmap.example_video()
    with open(ports + ".tmp", "w") as f:
        json.dump({"mrp": atv.get_port(Protocol.MRP), "dmap": atv.get_port(Protocol.DMAP)}, f)
    os.rename(ports + ".tmp", ports)
    await asyncio.Event().wait()
asyncio.run(main())
EOF

if [ -n "${ATV_PYATV_PYTHON-}" ] &&
	"$ATV_PYATV_PYTHON" -c "import tests.fake_device" > /dev/null 2>&1; then
	test_expect_success "pyatv's fake device: start it" '
		"$ATV_PYATV_PYTHON" pyfake.py $PYFAKE pyfake.ports > pyfake.log 2>&1 &
		pid=$! &&
		test_atexit "kill $pid 2> /dev/null; wait $pid 2> /dev/null" &&
		wait_for_file pyfake.ports 1500 &&
		jq -n -c --argjson p "$(cat pyfake.ports)" --arg a $PYFAKE --arg id $PYFAKE_ID \
			"{name: \"FakeATV\", address: \$a, identifier: \$id, all_identifiers: [\$id],
			  services: [{protocol: \"mrp\", port: \$p.mrp, identifier: \$id,
				credentials: null, properties: {AllowPairing: \"YES\"}}]}" > pyf.json &&
		jq -n -c --argjson p "$(cat pyfake.ports)" --arg a $PYFAKE \
			"{name: \"FakeATV3\", address: \$a, identifier: \"FAKEDMAP\",
			  all_identifiers: [\"FAKEDMAP\"], services: [{protocol: \"dmap\",
				port: \$p.dmap, identifier: \"FAKEDMAP\",
				credentials: \"0x0000000000000001\", properties: {}}]}" > pyf3.json
	'

	test_expect_success "pyatv's fake: atv-pair (mrp, PIN 1111), atv-send with it" '
		timeout $T atv-pair --with-credentials -c pyf.creds --pin 1111 < pyf.json > pyf-paired.json &&
		test "$(mrp_creds_of < pyf-paired.json)" != null &&
		timeout $T atv-send -c pyf.creds play pause set_volume=30 playing \
			< pyf.json > pyf.out &&
		test_jq ".ok" pyf.out &&
		tail -n 1 pyf.out > pyf.playing &&
		test_jq ".playing.title == \"dummy\" and .playing.app == \"Fake Player\" and
			.playing.device_state == \"paused\"" pyf.playing
	'

	test_expect_success "pyatv's fake: the playing hash is pyatv's" '
		pyatv pyfhash -m --address $PYFAKE --port $(jq .mrp pyfake.ports) \
			--protocol mrp --id $PYFAKE_ID -n FakeATV \
			--mrp-credentials "$(jq -r .credentials pyf.creds)" hash &&
		test "$(jq -r .playing.hash pyf.playing)" = "$(tail -n 1 pyfhash.out)"
	'

	test_expect_success "pyatv's fake: atv-send over DMAP (login with a pairing GUID)" '
		timeout $T atv-send -c pyf.creds play < pyf3.json > pyf3.out &&
		test_jq ".ok" pyf3.out
	'
else
	test_skip "pyatv's fake device: our client against it" \
		"set ATV_PYATV_PYTHON to a python3 that imports tests.fake_device"
fi

test_done
