#!/bin/sh
# The fake Apple TV itself: its mDNS answers, read by a small independent
# DNS parser in python3 (not lib/dnssd_packet.c, which the fake is there to test).
. "$top_srcdir/t/lib.sh"

command -v python3 > /dev/null 2>&1 || test_skip_all "python3 not found"
command -v jq > /dev/null 2>&1 || test_skip_all "jq not found"

DEV=$top_srcdir/t/fake-atv/devices
# this script's own loopback addresses, different per run so that runs in
# several build directories at once do not clash on port 5353
NET=127.7.$(($$ % 250 + 1))
LR=$NET.2 BR=$NET.3 SL=$NET.4 HQ=$NET.5 EP=$NET.6 SPARE=$NET.9

# query.py HOST PORT [--qu] TYPE:NAME...: send one query from an ephemeral
# port and print the reply as one JSON line (records' names as label lists).
cat > query.py << 'EOF'
import json, random, socket, struct, sys

TYPES = {'A': 1, 'PTR': 12, 'TXT': 16, 'SRV': 33, 'AAAA': 28, 'ANY': 255}
NAMES = {v: k for k, v in TYPES.items()}

def name_wire(labels):
    return b''.join(bytes([len(l)]) + l for l in labels) + b'\0'

def read_name(p, off):
    labels, hops, end = [], 0, None
    while True:
        if off >= len(p):
            raise ValueError('name runs past the packet')
        n = p[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(p):
                raise ValueError('pointer runs past the packet')
            end = off + 2 if end is None else end
            off, hops = (n & 0x3F) << 8 | p[off + 1], hops + 1
            if hops > 64:
                raise ValueError('compression loop')
            continue
        if n == 0:
            return labels, (off + 1 if end is None else end)
        if n > 63 or off + 1 + n > len(p):
            raise ValueError('bad label')
        labels.append(p[off + 1:off + 1 + n].decode())
        off += 1 + n

def parse(p):
    ident, flags, qd, an, ns, ar = struct.unpack('>6H', p[:12])
    out = {'id': ident, 'qr': flags >> 15, 'aa': flags >> 10 & 1, 'tc': flags >> 9 & 1,
           'qd': [], 'an': [], 'ar': []}
    off = 12
    for _ in range(qd):
        n, off = read_name(p, off)
        t, c = struct.unpack('>HH', p[off:off + 4])
        off += 4
        out['qd'].append({'name': n, 'type': NAMES.get(t, t), 'class': c})
    for sec, count in (('an', an), ('ns', ns), ('ar', ar)):
        for _ in range(count):
            n, off = read_name(p, off)
            if off + 10 > len(p):
                raise ValueError('record runs past the packet')
            t, c, ttl, rdlen = struct.unpack('>HHIH', p[off:off + 10])
            off += 10
            if off + rdlen > len(p):
                raise ValueError('rdata runs past the packet')
            rd = p[off:off + rdlen]
            r = {'name': n, 'type': NAMES.get(t, t), 'class': c, 'ttl': ttl}
            if t == 12:
                r['ptr'] = read_name(p, off)[0]
            elif t == 33:
                r['port'] = struct.unpack('>H', rd[4:6])[0]
                r['target'] = read_name(p, off + 6)[0]
            elif t == 16:
                r['txt'], i = [], 0
                while i < len(rd):
                    if i + 1 + rd[i] > len(rd):
                        raise ValueError('TXT string runs past the record')
                    r['txt'].append(rd[i + 1:i + 1 + rd[i]].decode())
                    i += 1 + rd[i]
            elif t == 1:
                r['a'] = socket.inet_ntoa(rd)
            off += rdlen
            if sec != 'ns':
                out[sec].append(r)
    if off != len(p):
        raise ValueError('trailing bytes')
    return out

host, port, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
qu = '--qu' in args
qid = random.randrange(1, 65536)
qs = [a.split(':', 1) for a in args if a != '--qu']
pkt = struct.pack('>6H', qid, 0, len(qs), 0, 0, 0)
for t, n in qs:
    labels = [l.encode() for l in n.split('.')]
    pkt += name_wire(labels) + struct.pack('>HH', TYPES[t], 0x8001 if qu else 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(pkt, (host, port))
data, src = s.recvfrom(65535)
try:
    out = parse(data)
except (ValueError, struct.error, UnicodeDecodeError) as e:
    out = {'error': str(e), 'qr': data[2] >> 7 if len(data) > 2 else None}
out['id_match'] = data[:2] == struct.pack('>H', qid)
out['from'] = '%s:%d' % src
print(json.dumps(out))
EOF

q() { python3 "$TRASH/query.py" "$@"; }
txt() { # txt DEVICE TYPE KEY
	jq -r --arg t "$2" --arg k "$3" '.services[] | select(.type == $t) | .txt[$k]' \
		"$DEV/$1.json"
}
start_fake lr --device "$DEV/livingroom.json" --unicast $LR
start_fake br --device "$DEV/bedroom.json" --unicast $BR
start_fake sl --device "$DEV/livingroom.json" --unicast $SL --sleeping
start_fake hq --device "$DEV/livingroom.json" --unicast $HQ --hostile query
start_fake ep --device "$DEV/kitchen.json" --unicast $EP:0 -v

test_expect_success 'ready file: "ready", then the bound sockets' '
	printf "ready\nmdns %s:5353\nmrp 49152\nairplay 7000\ncompanion 49153\n" $LR > expect &&
	test_cmp expect "$TRASH/lr.ready"
'

test_expect_success 'PTR query: legacy unicast answer with SRV, TXT and A' '
	q $LR 5353 PTR:_airplay._tcp.local > out &&
	test_jq ".id_match and .qr == 1 and .aa == 1 and .tc == 0 and .from == \"$LR:5353\"" out &&
	test_jq ".qd == [{\"name\":[\"_airplay\",\"_tcp\",\"local\"],\"type\":\"PTR\",
		\"class\":1}]" out &&
	test_jq ".an == [{\"name\":[\"_airplay\",\"_tcp\",\"local\"],\"type\":\"PTR\",\"class\":1,
		\"ttl\":10,\"ptr\":[\"Living Room\",\"_airplay\",\"_tcp\",\"local\"]}]" out &&
	test_jq "[.ar[].type] == [\"SRV\",\"TXT\",\"A\"] and
		all(.ar[]; .ttl == 10 and .class == 1)" out &&
	test_jq ".ar[0].port == 7000 and .ar[0].target == [\"Living-Room\",\"local\"]" out &&
	test_jq ".ar[2].name == [\"Living-Room\",\"local\"] and .ar[2].a == \"$LR\"" out
'

test_expect_success 'TXT strings are the device file'\''s, in order' '
	jq -r ".services[] | select(.type == \"_airplay._tcp\") | .txt | to_entries[] |
		\"\(.key)=\(.value)\"" "$DEV/livingroom.json" > expect &&
	jq -r ".ar[1].txt[]" out > actual &&
	test_cmp expect actual
'

test_expect_success 'several types in one query: one reply, every service once' '
	q $LR 5353 PTR:_mediaremotetv._tcp.local PTR:_raop._tcp.local PTR:_sleep-proxy._udp.local \
		PTR:_companion-link._tcp.local > out &&
	test_jq "[.an[].ptr[0]] == [\"Living Room\",\"AABBCCDDEEFF@Living Room\",
		\"Living Room\"]" out &&
	test_jq "[.ar[] | select(.type == \"A\")] | length == 1" out &&
	test_jq "[.ar[] | select(.type == \"SRV\") | .port] == [49152,7000,49153]" out &&
	mrp_id=$(txt livingroom _mediaremotetv._tcp UniqueIdentifier) &&
	test_jq ".ar[1].txt | index(\"UniqueIdentifier=$mrp_id\")" out
'

test_expect_success 'SRV, TXT and A questions; names match case-insensitively' '
	q $LR 5353 "SRV:AABBCCDDEEFF@living room._RAOP._tcp.local" > out &&
	test_jq "[.an[] | [.type, .port]] == [[\"SRV\",7000]] and .ar[0].a == \"$LR\"" out &&
	q $LR 5353 "TXT:Living Room._mediaremotetv._tcp.local" > out &&
	test_jq "[.an[].type] == [\"TXT\"] and (.an[0].txt | index(\"ModelName=Apple TV\"))" out &&
	q $LR 5353 "A:living-room.local" > out &&
	test_jq ".an == [{\"name\":[\"Living-Room\",\"local\"],\"type\":\"A\",\"class\":1,
		\"ttl\":10,\"a\":\"$LR\"}]" out
'

test_expect_success 'the QU bit changes nothing on a unicast socket' '
	q $LR 5353 --qu "ANY:Living Room._mediaremotetv._tcp.local" > out &&
	test_jq ".id_match and [.an[].type] == [\"SRV\",\"TXT\"]" out
'

test_expect_success '_services._dns-sd._udp lists each type once' '
	q $LR 5353 PTR:_services._dns-sd._udp.local > out &&
	test_jq "[.an[].ptr[0]] == [\"_mediaremotetv\",\"_airplay\",\"_companion-link\",
		\"_raop\"]" out
'

test_expect_success 'a query that matches nothing gets an empty answer with its question' '
	q $LR 5353 PTR:_nothing-here._tcp.local > out &&
	test_jq ".id_match and .qr == 1 and .an == [] and .ar == []" out &&
	test_jq "[.qd[].name] == [[\"_nothing-here\",\"_tcp\",\"local\"]]" out &&
	q $LR 5353 "A:other-host.local" "SRV:Nobody._airplay._tcp.local" > out &&
	test_jq ".id_match and .an == [] and (.qd | length) == 2" out
'

test_expect_success 'only services a server listens on are advertised' '
	q $LR 5353 PTR:_companion-link._tcp.local > out &&
	test_jq "[.ar[] | select(.type == \"SRV\") | .port] == [49153]" out &&
	jq ".services |= map(if .type == \"_companion-link._tcp\" then del(.txt.rpMRtID)
		else . end)" "$DEV/livingroom.json" > nocomp.json &&
	start_fake nc --device nocomp.json --unicast $NET.7 &&
	grep -q "companion-link._tcp service has no usable rpMRtID" nc.log &&
	q $NET.7 5353 PTR:_companion-link._tcp.local > out &&
	test_jq ".an == [] and .ar == []" out &&
	q $NET.7 5353 "ANY:Living Room._companion-link._tcp.local" > out &&
	test_jq ".an == []" out &&
	q $NET.7 5353 PTR:_mediaremotetv._tcp.local PTR:_airplay._tcp.local > out &&
	test_jq "[.ar[] | select(.type == \"SRV\") | .port] == [49152,7000]" out
'

test_expect_success 'a second device answers at the same time on its own address' '
	q $BR 5353 PTR:_mediaremotetv._tcp.local > out &&
	test_jq ".ar[1].txt | index(\"SystemBuildVersion=20K71\")" out &&
	test_jq ".ar[2].a == \"$BR\"" out
'

test_expect_success '--sleeping: every SRV says port 0' '
	q $SL 5353 PTR:_mediaremotetv._tcp.local PTR:_airplay._tcp.local > out &&
	test_jq "[.ar[] | select(.type == \"SRV\") | .port] == [0,0]" out
'

test_expect_success '--hostile query: a reply with QR=0' '
	q $HQ 5353 PTR:_airplay._tcp.local > out &&
	test_jq ".id_match and .qr == 0" out
'

test_expect_success 'port 0: an ephemeral port, named in the ready file' '
	port=$(sed -n "s/^mdns $EP://p" "$TRASH/ep.ready") &&
	test "$port" -gt 0 &&
	q $EP "$port" PTR:_touch-able._tcp.local > out &&
	name=$(jq -r ".services[] | select(.type == \"_touch-able._tcp\") | .name" \
		"$DEV/kitchen.json") &&
	test_jq ".an[0].ptr[0] == \"$name\" and .ar[0].port == 3689" out
'

test_expect_success 'malformed queries are ignored; the fake keeps answering' '
	port=$(sed -n "s/^mdns $EP://p" "$TRASH/ep.ready") &&
	python3 -c "
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
hdr = struct.pack(\">6H\", 1, 0, 1, 0, 0, 0)
for p in (b\"\", b\"\\0\" * 5, hdr, hdr + b\"\\xc0\\x0c\\0\\x0c\\0\\x01\", hdr + b\"\\x3f\" * 40,
          struct.pack(\">6H\", 1, 0, 65535, 0, 0, 0) + b\"\\0\\0\\x0c\\0\\x01\",
          struct.pack(\">6H\", 1, 0x8400, 1, 0, 0, 0) + b\"\\0\\0\\x0c\\0\\x01\"):
    s.sendto(p, (sys.argv[1], int(sys.argv[2])))
" $EP "$port" &&
	q $EP "$port" PTR:_airplay._tcp.local > out &&
	test_jq ".an[0].ptr[0] == \"Kitchen\"" out &&
	grep -q "ignoring malformed packet" "$TRASH/ep.log" &&
	grep -q "ignoring response" "$TRASH/ep.log"
'

test_expect_success '-v logs each query and each answer' '
	grep -q "query from 127.0.0.1:[0-9]* id 0x[0-9a-f]*: PTR _airplay._tcp.local" \
		"$TRASH/ep.log" &&
	grep -q "answer to 127.0.0.1:[0-9]*: 1 answers, 3 additional" "$TRASH/ep.log"
'

test_expect_success 'bad device files exit 2 with one line' '
	echo "{\"name\":\"x\"" > bad.json &&
	test_must_fail 2 fake-atv --device bad.json --unicast $SPARE:0 2> err &&
	test $(wc -l < err) -eq 1 && grep -q "^fake-atv: bad.json: invalid JSON" err &&
	echo "{\"name\":\"x\",\"services\":[]}" > bad.json &&
	test_must_fail 2 fake-atv --device bad.json --unicast $SPARE:0 2> err &&
	grep -q "missing \"host\"" err &&
	long=$(printf "%0300d" 0) &&
	printf "{\"name\":\"x\",\"host\":\"h\",\"services\":[{\"type\":\"_a._tcp\",\"name\":\"n\",
		\"port\":1,\"txt\":{\"k\":\"%s\"}}]}" $long > bad.json &&
	test_must_fail 2 fake-atv --device bad.json --unicast $SPARE:0 2> err &&
	grep -q "more than 255" err &&
	test_must_fail 2 fake-atv --device no-such.json --unicast $SPARE:0 &&
	test_must_fail 2 fake-atv --unicast $SPARE:0 &&
	test_must_fail 2 fake-atv --device "$DEV/kitchen.json" --hostile no-such-mode
'

# Whether this shell already runs in a test network namespace (then
# --multicast would be allowed): the fake's own rule.
in_test_netns() {
	_self=$(readlink /proc/self/ns/net) || return 1
	if _init=$(readlink /proc/1/ns/net 2> /dev/null); then
		test "$_self" != "$_init"
		return
	fi
	test -n "$(ip netns identify 2> /dev/null)"
}

if in_test_netns; then
	test_skip '--multicast is refused outside a network namespace' 'running in one'
else
	test_expect_success '--multicast is refused outside a network namespace' '
		test_must_fail 2 fake-atv --device "$DEV/livingroom.json" \
			--multicast 127.0.0.1 2> err &&
		grep -q "^fake-atv: --multicast refused" err
	'
fi

test_expect_success 'SIGTERM: clean exit 0' '
	fake-atv --device "$DEV/bedroom.json" --unicast $SPARE:0 --ready-file term.ready &
	pid=$! &&
	wait_for_file term.ready &&
	kill -TERM $pid &&
	wait $pid
'

test_done
