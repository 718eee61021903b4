#!/bin/sh
# The fake Apple TV's DMAP server on its own (the DMAP client has its own
# tests): login, session checks, commands seen in `state', a long poll held
# until a `set' over the control channel, the Remote pairing call it makes,
# and its hostile bodies.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.19.$(($$ % 250 + 1))
KI=$NET.3 REMOTE=$NET.7

# An HTTP client that decodes DMAP: dmap.py URL [METHOD [BODY-HEX]] prints
# {"status":N,"body":{...}} (containers as objects, strings, integers) or
# {"status":N,"bytes":LEN,"head":HEX} for a body that is not DMAP.
cat > "$TRASH/dmap.py" << 'EOF'
import json, sys, urllib.request, urllib.error
CONT = {"mlog", "cmst", "cmgt", "msrv", "cmpa"}
STR = {"cann", "cana", "canl", "cang", "minm", "cmnm", "cmty"}
def parse(b, depth=0):
    out, i = {}, 0
    while i < len(b):
        if i + 8 > len(b) or depth > 20:
            raise ValueError("bad dmap")
        tag, n = b[i:i+4].decode("latin1"), int.from_bytes(b[i+4:i+8], "big")
        v = b[i+8:i+8+n]
        if len(v) != n:
            raise ValueError("bad dmap")
        out[tag] = parse(v, depth + 1) if tag in CONT else v.decode() if tag in STR \
            else int.from_bytes(v, "big")
        i += 8 + n
    return out
url, method = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "GET"
data = bytes.fromhex(sys.argv[3]) if len(sys.argv) > 3 else None
req = urllib.request.Request(url, data=data, method=method)
try:
    r = urllib.request.urlopen(req, timeout=20)
    status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
try:
    print(json.dumps({"status": status, "body": parse(body)}))
except ValueError:
    print(json.dumps({"status": status, "bytes": len(body), "head": body[:16].hex()}))
EOF

# A Remote app's pairing server: remote.py ADDR GUID16 PIN PORTFILE answers
# one right /pair with cmpa (and 404 to a wrong code), then exits.
cat > "$TRASH/remote.py" << 'EOF'
import hashlib, http.server, sys, urllib.parse
addr, guid, pin, portfile = sys.argv[1:5]
code = hashlib.md5((guid + "".join(c + "\0" for c in pin)).encode()).hexdigest()
def tag(t, v): return t.encode() + len(v).to_bytes(4, "big") + v
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        if q.get("pairingcode", [""])[0].lower() != code or "servicename" not in q:
            self.send_response(404); self.end_headers(); return
        body = tag("cmpa", tag("cmpg", bytes.fromhex(guid)) + tag("cmnm", b"t") +
                   tag("cmty", b"iPhone"))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.done = True
    def log_message(self, *a): pass
s = http.server.HTTPServer((addr, 0), H)
s.done = False
open(portfile + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(portfile + ".tmp", portfile)
s.timeout = 20
while not s.done:
    s.handle_request()
EOF

dmap() { python3 "$TRASH/dmap.py" "$@"; }

# q PATH [METHOD [BODY]]: a request with the session, output in r.json
q() {
	_p=$1
	shift
	case $_p in *\?*) _s='&' ;; *) _s='?' ;; esac
	dmap "$U$_p${_s}session-id=$SID" "$@" > r.json
}

# st FILTER: the fake's state must satisfy the jq FILTER
st() { ctl_json_is ki state "$1"; }

test_expect_success 'the fake serves dmap on the _touch-able port it was given' '
	start_mrp_fake ki $KI:0 "$DEV/kitchen.json" --dmap-port 0 &&
	port=$(awk "\$1 == \"dmap\" { print \$2 }" "$TRASH/ki.ready") &&
	test -n "$port" && U=http://$KI:$port &&
	st ".dmap_port == $port"
'

test_expect_success 'login with an unknown pairing guid: 503' '
	dmap "$U/login?pairing-guid=0x0000000000000002" > r.json &&
	test_jq ".status == 503" r.json
'

test_expect_success 'login with a known pairing guid gives a session' '
	dmap "$U/login?pairing-guid=0x1" > r.json &&
	test_jq ".status == 200 and .body.mlog.mstt == 200 and .body.mlog.mlid > 0" r.json &&
	SID=$(jq .body.mlog.mlid r.json)
'

test_expect_success 'login with the home sharing id (hG) works too' '
	hg=$(jq -r ".services[] | select(.type == \"_appletv-v2._tcp\") | .txt.hG" \
		"$DEV/kitchen.json") &&
	dmap "$U/login?hsgid=$hg" > r.json &&
	test_jq ".status == 200 and .body.mlog.mlid > 0" r.json &&
	dmap "$U/login?hsgid=00000000-0000-0000-0000-000000000000" > r.json &&
	test_jq ".status == 503" r.json
'

test_expect_success 'a bad or missing session: 403' '
	dmap "$U/ctrl-int/1/playstatusupdate?revision-number=0" > r.json &&
	test_jq ".status == 403" r.json &&
	dmap "$U/ctrl-int/1/play?session-id=0" POST > r.json &&
	test_jq ".status == 403" r.json &&
	st ".commands == []"
'

test_expect_success 'playstatusupdate at revision 0 answers at once' '
	q "/ctrl-int/1/playstatusupdate?revision-number=0" &&
	test_jq ".status == 200 and .body.cmst.mstt == 200 and .body.cmst.caps == 3 and
		.body.cmst.cann == \"Loopback Blues\" and .body.cmst.cana == \"The Fakes\" and
		.body.cmst.cast == 185000 and .body.cmst.cmmk == 2" r.json &&
	REV=$(jq .body.cmst.cmsr r.json)
'

test_expect_success 'commands change the state' '
	q /ctrl-int/1/play POST && test_jq ".status == 204" r.json &&
	st ".playing.device_state == \"playing\" and .commands == [\"play\"]" &&
	q /ctrl-int/1/playstatusupdate &&
	test_jq ".body.cmst.caps == 4 and .body.cmst.cmsr > $REV" r.json &&
	q /ctrl-int/1/nextitem POST && q /ctrl-int/1/previtem && q /ctrl-int/1/nextitem &&
	q /ctrl-int/1/pause && q /ctrl-int/1/playpause && q /ctrl-int/1/stop &&
	test_jq ".status == 204" r.json &&
	st ".commands == [\"play\",\"next\",\"previous\",\"next\",\"pause\",\"play_pause\",\"stop\"]
		and .playing.title == \"Ephemeral Port\" and .playing.device_state == \"stopped\""
'

test_expect_success 'setproperty and getproperty' '
	q "/ctrl-int/1/setproperty?dacp.playingtime=100000" && test_jq ".status == 204" r.json &&
	q "/ctrl-int/1/setproperty?dacp.shufflestate=1" &&
	q "/ctrl-int/1/setproperty?dacp.repeatstate=2" &&
	q "/ctrl-int/1/setproperty?dmcp.volume=30.000000" && test_jq ".status == 204" r.json &&
	st "(.commands[-3:] == [\"set_position=100\",\"set_shuffle=songs\",\"set_repeat=all\"])
		and .volume == 30 and .playing.shuffle == \"songs\"" &&
	q "/ctrl-int/1/getproperty?properties=dmcp.volume" &&
	test_jq ".status == 200 and .body.cmgt.cmvo == 30" r.json &&
	q /ctrl-int/1/playstatusupdate &&
	test_jq ".body.cmst.cash == 1 and .body.cmst.carp == 2" r.json
'

test_expect_success 'bad requests are refused' '
	q "/ctrl-int/1/setproperty?dacp.repeatstate=7" && test_jq ".status == 400" r.json &&
	q "/ctrl-int/1/setproperty?no.such=1" && test_jq ".status == 400" r.json &&
	q "/ctrl-int/1/getproperty?properties=dmcp.nothing" && test_jq ".status == 400" r.json &&
	q /ctrl-int/1/nosuchcommand && test_jq ".status == 404" r.json &&
	q /ctrl-int/1/controlpromptentry POST 00 && test_jq ".status == 400" r.json &&
	st ".volume == 30 and .playing.repeat == \"all\""
'

# cmcc 0x30 then cmbe, as the Remote app posts them
prompt() {
	_h=$(printf %s "$1" | od -An -tx1 | tr -d " \n")
	_l=$(printf %08x $((${#_h} / 2)))
	q /ctrl-int/1/controlpromptentry POST "636d636300000001 30 636d6265$_l$_h" &&
	test_jq ".status == 204" r.json
}

test_expect_success 'controlpromptentry: select, menu, topmenu and drags' '
	prompt select && prompt menu && prompt topmenu &&
	prompt "touchDown&time=0&point=20,275" && prompt "touchMove&time=1&point=20,265" &&
	prompt "touchUp&time=7&point=20,250" &&
	prompt "touchDown&time=0&point=50,100" && prompt "touchUp&time=7&point=75,100" &&
	st ".keys == [\"select\",\"menu\",\"top_menu\",\"up\",\"right\"]"
'

test_expect_success 'nowplayingartwork is a PNG' '
	q "/ctrl-int/1/nowplayingartwork?mw=1024&mh=576" &&
	test_jq ".status == 200 and (.head | startswith(\"89504e47\"))" r.json
'

test_expect_success 'volumeup and volumedown: one step of 5 each, within 0..100, logged as keys' '
	q /ctrl-int/1/volumeup POST && test_jq ".status == 204" r.json &&
	st ".volume == 35 and .keys[-1] == \"volume_up\"" &&
	q /ctrl-int/1/volumedown POST && q /ctrl-int/1/volumedown POST &&
	test_jq ".status == 204" r.json &&
	st ".volume == 25 and .keys[-2:] == [\"volume_down\",\"volume_down\"]" &&
	q "/ctrl-int/1/setproperty?dmcp.volume=98" && q /ctrl-int/1/volumeup POST &&
	st ".volume == 100" &&
	q "/ctrl-int/1/setproperty?dmcp.volume=30" && test_jq ".status == 204" r.json &&
	dmap "$U/ctrl-int/1/volumeup?session-id=0" POST > r.json && test_jq ".status == 403" r.json
'

test_expect_success 'a long poll is held until a set over the control channel' '
	q /ctrl-int/1/playstatusupdate && REV=$(jq .body.cmst.cmsr r.json) &&
	(dmap "$U/ctrl-int/1/playstatusupdate?session-id=$SID&revision-number=$REV" \
		> held.json) &
	held=$! &&
	n=0 && until st ".dmap_held == 1" 2> /dev/null; do
		n=$((n + 1)) && test $n -lt 250 && sleep 0.02 || return 1
	done &&
	test ! -s held.json &&
	ctl ki set title=Held%20Up &&
	wait $held &&
	test_jq ".status == 200 and .body.cmst.cann == \"Held Up\" and
		.body.cmst.cmsr > $REV" held.json
'

test_expect_success 'dmap-drop forgets the sessions: held polls and later requests get 403' '
	q /ctrl-int/1/playstatusupdate && REV=$(jq .body.cmst.cmsr r.json) &&
	(dmap "$U/ctrl-int/1/playstatusupdate?session-id=$SID&revision-number=$REV" \
		> held.json) &
	held=$! &&
	n=0 && until st ".dmap_held == 1" 2> /dev/null; do
		n=$((n + 1)) && test $n -lt 250 && sleep 0.02 || return 1
	done &&
	ctl ki dmap-drop > n.out && test "$(cat n.out)" -ge 1 &&
	wait $held && test_jq ".status == 403" held.json &&
	q /ctrl-int/1/play && test_jq ".status == 403" r.json &&
	dmap "$U/login?pairing-guid=0xABCDEF0123456789" > r.json &&
	SID=$(jq .body.mlog.mlid r.json) && test "$SID" -gt 0
'

test_expect_success 'dmap-pair: a wrong PIN is refused (404) and nothing is learnt' '
	rm -f rp.port &&
	python3 "$TRASH/remote.py" $REMOTE 1122334455667788 4321 rp.port &
	rp=$! &&
	test_atexit "kill $rp 2>/dev/null" &&
	wait_for_file rp.port &&
	test "$(ctl ki dmap-pair 1234 $REMOTE:$(cat rp.port) GUID=0x1122334455667788)" = 404 &&
	st ".dmap_guids | index(\"0x1122334455667788\") == null" &&
	dmap "$U/login?pairing-guid=0x1122334455667788" > r.json &&
	test_jq ".status == 503" r.json
'

test_expect_success 'dmap-pair: the right PIN pairs, and the guid can log in' '
	test "$(ctl ki dmap-pair 4321 $REMOTE:$(cat rp.port) Kitchen GUID=0x1122334455667788)" \
		= 200 &&
	wait $rp &&
	st ".dmap_guids | index(\"0x1122334455667788\") != null" &&
	dmap "$U/login?pairing-guid=0x1122334455667788" > r.json &&
	test_jq ".status == 200 and .body.mlog.mlid > 0" r.json
'

test_expect_success 'dmap-pair needs a GUID and a reachable remote' '
	test_must_fail ctl ki dmap-pair 1234 $REMOTE:1 &&
	test_must_fail ctl ki dmap-pair 1234 $REMOTE:1 GUID=0x1 &&
	test_must_fail ctl ki dmap-pair 12345 $REMOTE:1 GUID=0x1
'

test_expect_success 'hostile bodies: truncated, lying length, deep nesting, garbage' '
	ctl ki hostile-dmap truncated &&
	q /ctrl-int/1/playstatusupdate && test_jq ".status == 200 and .bytes > 8" r.json &&
	ctl ki hostile-dmap lying-length &&
	q /ctrl-int/1/playstatusupdate && test_jq ".status == 200 and .bytes > 8" r.json &&
	ctl ki hostile-dmap deep-nesting &&
	q /ctrl-int/1/playstatusupdate &&
	test_jq "(.head | startswith(\"636d737400000\")) and .head[16:24] == \"636d7374\"" r.json &&
	ctl ki hostile-dmap garbage &&
	q "/ctrl-int/1/getproperty?properties=dmcp.volume" && test_jq ".bytes > 0" r.json &&
	test_must_fail ctl ki hostile-dmap no-such-mode &&
	ctl ki hostile-dmap none &&
	q /ctrl-int/1/playstatusupdate && test_jq ".body.cmst.mstt == 200" r.json
'

test_expect_success 'a hostile mode answers a held poll at once' '
	REV=$(jq .body.cmst.cmsr r.json) &&
	(dmap "$U/ctrl-int/1/playstatusupdate?session-id=$SID&revision-number=$REV" \
		> held.json) &
	held=$! &&
	n=0 && until st ".dmap_held == 1" 2> /dev/null; do
		n=$((n + 1)) && test $n -lt 250 && sleep 0.02 || return 1
	done &&
	ctl ki hostile-dmap truncated &&
	wait $held && test_jq ".status == 200 and .bytes > 8" held.json &&
	ctl ki hostile-dmap none
'

test_expect_success 'a device without _touch-able serves no dmap' '
	start_mrp_fake lr $NET.2:0 --mrp-port 0 &&
	! grep -q "^dmap" "$TRASH/lr.ready" &&
	test_must_fail ctl lr dmap-drop
'

# The Apple TV's side of pairing through avahi: the Remote (our python
# one) publishes _touch-remote._tcp with TXT Pair in namespace A; the fake
# in B finds it through B's avahi-daemon and calls its /pair.
. "$top_srcdir/t/netns.sh"
if ! netns_check; then
	test_skip 'dmap-pair finds the remote through avahi' "$netns_reason"
elif ! netns_up both; then
	test_skip 'dmap-pair finds the remote through avahi' "$netns_reason"
else
	test_expect_success 'dmap-pair finds the remote through avahi' '
		rm -f rpa.port &&
		ip netns exec "$NETNS_A" python3 "$TRASH/remote.py" "$NETNS_ADDR_A" \
			A1B2C3D4E5F60718 2468 rpa.port &
		rpa=$!
		wait_for_file rpa.port || return 1
		DBUS_SYSTEM_BUS_ADDRESS=$NETNS_DBUS_A ip netns exec "$NETNS_A" \
			avahi-publish -s "Test Remote" _touch-remote._tcp "$(cat rpa.port)" \
			Pair=A1B2C3D4E5F60718 DvNm=Test > "$TRASH/pub.log" 2>&1 &
		netns_wait_log "$TRASH/pub.log" "Established under name" $! || return 1
		netns_b fake-atv --ready-file "$TRASH/nb.ready" --device "$DEV/kitchen.json" \
			--unicast "$NETNS_ADDR_B:0" --dmap-port 0 --control "$TRASH/nb.ctl" \
			> "$TRASH/nb.log" 2>&1 &
		netns_wait_log "$TRASH/nb.ready" . $! || return 1
		test "$(ctl nb dmap-pair 2468)" = 200 &&
		wait $rpa &&
		fake_state nb > nb.json &&
		test_jq ".dmap_guids | index(\"0xA1B2C3D4E5F60718\") != null" nb.json
	'
	netns_down
fi

test_done
