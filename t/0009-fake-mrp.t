#!/bin/sh
# The fake Apple TV's MRP side and its control channel: state, set, power,
# volume, mrp-port (seen in the mDNS answers through atv-scan), drop, and
# the errors.  The MRP checks here stay before pair-verify (DEVICE_INFO in
# the clear, read by a small protobuf reader in python3); pairing and the
# encrypted session are tested through the tools in t/0010..0013.
. "$top_srcdir/t/lib.sh"

command -v python3 > /dev/null 2>&1 || test_skip_all "python3 not found"
command -v jq > /dev/null 2>&1 || test_skip_all "jq not found"

DEV=$top_srcdir/t/fake-atv/devices
# this script's own loopback addresses, different per run so that runs in
# several build directories at once do not clash on the MRP port
NET=127.9.$(($$ % 250 + 1))
LR=$NET.2 KI=$NET.3 SPARE=$NET.9
LR_ID=$(jq -r '.services[] | select(.type == "_mediaremotetv._tcp") | .txt.UniqueIdentifier' \
	"$DEV/livingroom.json")

# ctl.py SOCKET COMMAND...: send every command at once (one per argument),
# then print the reply lines in order; exit 1 if the socket closes early.
cat > ctl.py << 'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
cmds = sys.argv[2:]
s.sendall(b"".join(c.encode() + b"\n" for c in cmds))
data = b""
while data.count(b"\n") < len(cmds):
    chunk = s.recv(65536)
    if not chunk:
        sys.exit(1)
    data += chunk
sys.stdout.write(data.decode())
EOF

# mrp.py HOST PORT STEP...: one MRP connection in the clear.  Steps:
#   info     send DEVICE_INFO, print the reply as JSON
#   early    send SET_CONNECTION_STATE (not allowed before pair-verify)
#   hold     keep the connection open until the fake closes it
# and print "eof" when the fake closes the connection.
cat > mrp.py << 'EOF'
import json, socket, sys

def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out

def field(num, wt, v):
    tag = varint(num << 3 | wt)
    return tag + (varint(v) if wt == 0 else varint(len(v)) + v)

def parse(p):
    # field number -> list of values (ints for varints, bytes otherwise)
    out, i = {}, 0
    def rv():
        nonlocal i
        n = s = 0
        while True:
            b = p[i]
            i += 1
            n |= (b & 0x7F) << s
            s += 7
            if not b & 0x80:
                return n
    while i < len(p):
        tag = rv()
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v = rv()
        elif wt == 2:
            n = rv()
            v, i = p[i:i + n], i + n
        elif wt == 1:
            v, i = p[i:i + 8], i + 8
        elif wt == 5:
            v, i = p[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out

class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=10)
        self.buf = b""

    def send(self, msg):
        self.s.sendall(varint(len(msg)) + msg)

    def recv(self):
        while True:
            n = s = i = 0
            while i < len(self.buf):
                b = self.buf[i]
                i += 1
                n |= (b & 0x7F) << s
                s += 7
                if not b & 0x80:
                    if len(self.buf) >= i + n:
                        msg, self.buf = self.buf[i:i + n], self.buf[i + n:]
                        return msg
                    break
            chunk = self.s.recv(65536)
            if not chunk:
                return None
            self.buf += chunk

host, port = sys.argv[1], int(sys.argv[2])
c = Conn(host, port)
for step in sys.argv[3:]:
    if step == "info":
        inner = field(1, 2, b"PY-CONTROLLER") + field(2, 2, b"t0009")
        c.send(field(1, 0, 15) + field(2, 2, b"REQ-1") + field(20, 2, inner))
        m = parse(c.recv())
        d = parse(m[20][0])
        print(json.dumps({"type": m[1][0], "identifier": m[2][0].decode(),
                          "unique_id": d[1][0].decode(), "name": d[2][0].decode(),
                          "device_uid": d[19][0].decode(),
                          "logical_devices": d.get(22, [None])[0],
                          "group_leader": d.get(29, [None])[0]}))
    elif step == "early":
        c.send(field(1, 0, 38) + field(2, 2, b"REQ-2") + field(42, 2, field(1, 0, 2)))
    elif step == "hold":
        print("connected", flush=True)
    if c.s.fileno() >= 0 and step in ("early", "hold"):
        if c.recv() is None:
            print("eof")
EOF

ctl() { python3 "$TRASH/ctl.py" "$@"; }
# state SOCKET: the JSON of `state' (fails unless the reply is "ok {...}")
state() { ctl "$1" state > st.raw && sed -n 's/^ok //p' st.raw > st.json && test -s st.json; }
st() { # st SOCKET FILTER: the state must satisfy the jq FILTER
	state "$1" && jq -e "$2" st.json > /dev/null || {
		echo "state does not satisfy: $2" >&2
		cat st.raw >&2
		return 1
	}
}
mrp_port_of() { sed -n 's/^mrp //p' "$TRASH/$1.ready"; }
mdns_port_of() { sed -n "s/^mdns $2://p" "$TRASH/$1.ready"; }

test_expect_success 'start: MRP on the service port, named in the ready file' '
	start_fake lr --device "$DEV/livingroom.json" --unicast $LR:0 --control lr.ctl -v &&
	test "$(mrp_port_of lr)" = 49152 &&
	sed -n 2p "$TRASH/lr.ready" | grep -q "^mdns $LR:" &&
	sed -n 3p "$TRASH/lr.ready" | grep -q "^mrp 49152$"
'

test_expect_success 'DEVICE_INFO in the clear: the identifier echoed, the device described' '
	python3 mrp.py $LR 49152 info > info.json &&
	test_jq ".type == 15 and .identifier == \"REQ-1\"" info.json &&
	test_jq ".unique_id == \"$LR_ID\" and .device_uid == \"$LR_ID\"" info.json &&
	test_jq ".name == \"Living Room\" and .logical_devices == 1" info.json
'

test_expect_success 'DEVICE_INFO says isGroupLeader, as a device alone in its group does' '
	test_jq ".group_leader == 1" info.json
'

test_expect_success 'state: the whole device as one JSON object' '
	state lr.ctl &&
	test $(wc -l < st.raw) -eq 1 &&
	test_jq ".power == \"on\" and .volume == 50 and .mrp_port == 49152" st.json &&
	test_jq ".connections == 0 and .verified == 0 and .pairings == 0" st.json &&
	test_jq ".keys == [] and .commands == [] and .refused == []" st.json &&
	test_jq ".playing | keys == ([\"media_type\", \"device_state\", \"title\", \"artist\",
		\"album\", \"genre\", \"total_time\", \"elapsed\", \"timestamp\", \"rate\",
		\"shuffle\", \"repeat\", \"series_name\", \"season_number\", \"episode_number\",
		\"content_identifier\", \"app\", \"app_id\", \"position\"] | sort)" st.json &&
	test_jq ".playing | .device_state == \"paused\" and .media_type == \"music\" and
		(.title | length > 0) and .position == .elapsed" st.json
'

test_expect_success 'set: fields, %XX escapes, null, numbers' '
	ctl lr.ctl "set title=A%20Song%21 artist=The%25Band total_time=215.5 media_type=tv" \
		"set series_name=Show season_number=2 episode_number=11" \
		"set app=TV app_id=com.apple.TV" \
		"set device_state=playing shuffle=albums repeat=track genre=null" > out &&
	printf "ok\nok\nok\nok\n" > want && test_cmp want out &&
	st lr.ctl ".playing | .title == \"A Song!\" and .artist == \"The%Band\" and
		.total_time == 215.5 and .media_type == \"tv\" and .genre == null" &&
	st lr.ctl ".playing | .series_name == \"Show\" and .season_number == 2 and
		.episode_number == 11 and .app == \"TV\" and .app_id == \"com.apple.TV\"" &&
	st lr.ctl ".playing | .device_state == \"playing\" and .shuffle == \"albums\" and
		.repeat == \"track\""
'

test_expect_success 'set elapsed: timestamped now; the position follows the rate' '
	ctl lr.ctl "set rate=0 elapsed=100" > out && grep -qx ok out &&
	st lr.ctl ".playing | .elapsed == 100 and .position == 100 and .rate == 0" &&
	now=$(python3 -c "import time; print(time.time() - 978307200)") &&
	st lr.ctl ".playing.timestamp | . > $now - 60 and . <= $now + 1" &&
	ctl lr.ctl "set rate=1 timestamp=$(python3 -c "print(int($now) - 10)")" > out &&
	st lr.ctl ".playing.position >= 109 and .playing.position < 200" &&
	ctl lr.ctl "set rate=0 elapsed=100" > out
'

test_expect_success 'a bad set changes nothing and says why' '
	state lr.ctl && jq .playing st.json > before &&
	ctl lr.ctl "set title=Changed bogus=1" "set season_number=x" "set device_state=asleep" \
		"set total_time=-1" "set title=%zz" "set title" "set" > out &&
	test $(wc -l < out) -eq 7 &&
	! grep -v "^error " out &&
	grep -q "unknown field \"bogus\"" out &&
	grep -q "season_number" out && grep -q "asleep" out &&
	state lr.ctl && jq .playing st.json > after &&
	jq "del(.position)" before > a && jq "del(.position)" after > b &&
	test_cmp a b
'

test_expect_success 'power: in state and in DEVICE_INFO (logicalDeviceCount)' '
	ctl lr.ctl "power off" > out && grep -qx ok out &&
	st lr.ctl ".power == \"off\"" &&
	python3 mrp.py $LR 49152 info > info.json &&
	test_jq ".logical_devices == 0" info.json &&
	ctl lr.ctl "power on" > out && grep -qx ok out &&
	st lr.ctl ".power == \"on\"" &&
	python3 mrp.py $LR 49152 info > info.json &&
	test_jq ".logical_devices == 1" info.json &&
	ctl lr.ctl "power maybe" "power" > out &&
	test $(grep -c "^error " out) -eq 2
'

test_expect_success 'volume: 0 to 100' '
	ctl lr.ctl "volume 0" "volume 100" "volume 37" "volume 101" "volume -1" "volume x" > out &&
	printf "ok\nok\nok\n" > want && head -n 3 out > got && test_cmp want got &&
	test $(grep -c "^error volume is 0 to 100" out) -eq 3 &&
	st lr.ctl ".volume == 37"
'

test_expect_success 'drop: every MRP connection is closed, the fake goes on' '
	python3 mrp.py $LR 49152 hold > c1.out &
	p1=$!
	python3 mrp.py $LR 49152 hold > c2.out &
	p2=$!
	wait_for_file c1.out && wait_for_file c2.out &&
	n=0 && until st lr.ctl ".connections == 2" 2> /dev/null; do
		n=$((n + 1)) && test $n -lt 250 && sleep 0.02 || return 1
	done &&
	ctl lr.ctl drop > out &&
	echo "ok 2" > want && test_cmp want out &&
	wait $p1 && wait $p2 &&
	grep -qx eof c1.out && grep -qx eof c2.out &&
	st lr.ctl ".connections == 0" &&
	ctl lr.ctl drop > out && echo "ok 0" > want && test_cmp want out &&
	python3 mrp.py $LR 49152 info > info.json
'

test_expect_success 'a message other than DEVICE_INFO or pairing before pair-verify: closed' '
	python3 mrp.py $LR 49152 early > out &&
	grep -qx eof out &&
	grep -q "SET_CONNECTION_STATE_MESSAGE before pair-verify" "$TRASH/lr.log"
'

test_expect_success 'mrp-port: a new port, in state and in the mDNS answers' '
	mdns=$(mdns_port_of lr $LR) &&
	atv-scan -s $LR:$mdns > scan1.json &&
	test_jq "[.services[] | select(.protocol == \"mrp\") | .port] == [49152]" scan1.json &&
	ctl lr.ctl "mrp-port 0" > out &&
	port=$(sed -n "s/^ok //p" out) &&
	test "$port" -gt 0 && test "$port" != 49152 &&
	st lr.ctl ".mrp_port == $port" &&
	atv-scan -s $LR:$mdns > scan2.json &&
	test_jq "[.services[] | select(.protocol == \"mrp\") | .port] == [$port]" scan2.json &&
	test_jq ".identifier == \"$LR_ID\"" scan2.json &&
	python3 mrp.py $LR $port info > info.json &&
	test_must_fail python3 mrp.py $LR 49152 info 2> /dev/null
'

test_expect_success 'mrp-port closes the connections; back to a fixed port' '
	port=$(jq .mrp_port st.json) &&
	python3 mrp.py $LR $port hold > c3.out &
	p3=$! &&
	wait_for_file c3.out &&
	ctl lr.ctl "mrp-port 49152" > out &&
	echo "ok 49152" > want && test_cmp want out &&
	wait $p3 && grep -qx eof c3.out &&
	python3 mrp.py $LR 49152 info > info.json &&
	ctl lr.ctl "mrp-port 70000" "mrp-port x" > out &&
	test $(grep -c "^error " out) -eq 2 &&
	st lr.ctl ".mrp_port == 49152"
'

test_expect_success 'hostile, revoke, pin and refuse: checked arguments' '
	ctl lr.ctl "hostile huge-varint" "hostile nope" revoke "pin 12ab" "pin 4321" \
		"refuse next play" "refuse bogus" refuse > out &&
	sed -n 1p out | grep -q "^error no verified mrp connection" &&
	sed -n 2p out | grep -q "^error unknown hostile mode \"nope\"" &&
	sed -n 3p out | grep -qx ok &&
	sed -n 4p out | grep -q "^error a pin is" &&
	sed -n 5,6p out > got && printf "ok\nok\n" > want && test_cmp want got &&
	sed -n 7p out | grep -q "^error unknown command \"bogus\"" &&
	sed -n 8p out | grep -qx ok &&
	st lr.ctl ".refused == [] and .pairings == 0"
'

test_expect_success 'refuse: listed in state until cleared' '
	ctl lr.ctl "refuse next play" > out &&
	st lr.ctl ".refused == [\"play\", \"next\"]" &&
	ctl lr.ctl refuse > out &&
	st lr.ctl ".refused == []"
'

test_expect_success 'one reply line per command, in order, for each of several clients' '
	pids= &&
	for i in 1 2 3; do
		ctl lr.ctl "volume 1$i" state "" "no-such-command" help "volume 1$i" > multi.$i &
		pids="$pids $!"
	done &&
	for p in $pids; do wait $p || return 1; done &&
	for i in 1 2 3; do
		test $(wc -l < multi.$i) -eq 6 &&
		sed -n 1p multi.$i | grep -qx ok &&
		sed -n 2p multi.$i | grep -q "^ok {" &&
		sed -n 3p multi.$i | grep -q "^error empty command" &&
		sed -n 4p multi.$i | grep -q "^error unknown command \"no-such-command\"" &&
		sed -n 5p multi.$i | grep -q "^ok commands: " || return 1
	done
'

test_expect_success 'a line that is too long gets one error; the client goes on' '
	python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b\"set title=\" + b\"x\" * 10000 + b\"\\nvolume 5\\n\")
data = b\"\"
while data.count(b\"\\n\") < 2:
    data += s.recv(4096)
sys.stdout.write(data.decode())
" lr.ctl > out &&
	printf "error line too long\nok\n" > want &&
	test_cmp want out &&
	st lr.ctl ".volume == 5"
'

test_expect_success '-v logs the MRP message types' '
	grep -q "< DEVICE_INFO_MESSAGE REQ-1" "$TRASH/lr.log" &&
	grep -q "> DEVICE_INFO_MESSAGE REQ-1" "$TRASH/lr.log"
'

test_expect_success 'a device without MRP: no MRP line, control still works' '
	start_fake ki --device "$DEV/kitchen.json" --unicast $KI:0 --control ki.ctl &&
	! grep -q "^mrp " "$TRASH/ki.ready" &&
	st ki.ctl ".mrp_port == null and .power == \"on\"" &&
	ctl ki.ctl "set title=Kitchen%20Song" "mrp-port 0" > out &&
	sed -n 1p out | grep -qx ok &&
	sed -n 2p out | grep -q "^error the device has no mrp service" &&
	st ki.ctl ".playing.title == \"Kitchen Song\""
'

test_expect_success 'bad options and files exit 2 with one line' '
	test_must_fail 2 fake-atv --device "$DEV/livingroom.json" --unicast $SPARE:0 \
		--mrp-port 65536 2> err &&
	grep -q "mrp-port" err &&
	echo "{\"id\":\"zz\",\"ltpk\":\"00\"}" > bad-pairings &&
	test_must_fail 2 fake-atv --device "$DEV/livingroom.json" --unicast $SPARE:0 \
		--mrp-port 0 --pairings bad-pairings 2> err &&
	test $(wc -l < err) -eq 1 && grep -q "bad-pairings, line 1" err &&
	jq ".pin = \"12ab\"" "$DEV/livingroom.json" > badpin.json &&
	test_must_fail 2 fake-atv --device badpin.json --unicast $SPARE:0 --mrp-port 0 2> err &&
	grep -q "pin" err &&
	echo data > notasocket &&
	test_must_fail 2 fake-atv --device "$DEV/livingroom.json" --unicast $SPARE:0 \
		--mrp-port 0 --control notasocket 2> err &&
	grep -q "not a socket" err && test -f notasocket
'

test_expect_success 'the MRP port in use: exit 7' '
	test_must_fail 7 fake-atv --device "$DEV/bedroom.json" --unicast $LR:0 \
		--mrp-port 49152 2> err &&
	grep -q "unable to listen on $LR:49152" err
'

test_expect_success 'SIGTERM: exit 0, the control socket removed' '
	fake-atv --device "$DEV/bedroom.json" --unicast $SPARE:0 --mrp-port 0 \
		--control term.ctl --ready-file term.ready &
	pid=$! &&
	wait_for_file term.ready &&
	test -S term.ctl &&
	kill -TERM $pid &&
	wait $pid &&
	test ! -e term.ctl
'

test_done
