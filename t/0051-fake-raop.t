#!/bin/sh
# The fake's audio receiver (t/fake-atv/raop-server.c): RAOP on the AirPort
# (AirPlay 1) and the audio stream of an AirPlay 2 session on the HomePod,
# checked with senders not written for it: a raw-socket probe built from
# the formats (ALAC, RTSP, Digest, 0xd5/0xd6, timing) and hostile input,
# then pyatv 0.18's `atvremote stream_file` (skipped without it, see
# t/README "Interop with pyatv").  Each check reads audio-state.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.51.$(($$ % 250 + 1))
AIR=$NET.2 HP=$NET.3 PW=$NET.4 DEN=$NET.5
AIR_ID=48:D7:05:6A:7B:8C HP_ID=D4:90:9C:1E:2F:30 PW_ID=48:D7:05:6A:7B:8D DEN_ID=5C:0F:3E:2A:7B:19

ast() { ctl_json_is "$1" audio-state "$2"; }

# A 16-bit stereo WAV of 1.03 s whose first and last frames are not
# silent; its FNV-1a 64 over the data is what the fake's pcm_fnv1a64 says
cat > "$TRASH/gen.py" << 'EOF'
import math, struct, sys, wave
n = int(sys.argv[2])
w = wave.open(sys.argv[1], "wb")
w.setnchannels(2); w.setsampwidth(2); w.setframerate(44100)
w.writeframes(b"".join(struct.pack("<hh", int(9000 * math.sin(i / 17.0)) | 1,
                                   int(-7000 * math.cos(i / 29.0)) | 1) for i in range(n)))
w.close()
h = 0xcbf29ce484222325
for b in open(sys.argv[1], "rb").read()[44:]:
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)
EOF

# The probe: an RTSP/RTP sender from the formats, one step a command.
cat > "$TRASH/probe.py" << 'EOF'
import hashlib, json, random, re, select, socket, struct, sys, time

host, port, step = sys.argv[1], int(sys.argv[2]), sys.argv[3]
args = sys.argv[4:]

def conn():
    s = socket.create_connection((host, port), timeout=10)
    return s

def reply(s, limit=1 << 20):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise SystemExit("closed before a whole head (%d bytes)" % len(buf))
        buf += d
        if len(buf) > limit:
            return None, buf, b""
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    hdrs = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    n = int(hdrs.get("content-length", "0"))
    if n > 65536:
        return int(lines[0].split()[1]), hdrs, body
    while len(body) < n:
        body += s.recv(65536)
    return int(lines[0].split()[1]), hdrs, body

cseq = [0]
def req(s, method, uri="rtsp://%s/1" % host, headers=None, body=b"", proto="RTSP/1.0"):
    cseq[0] += 1
    h = "%s %s %s\r\nCSeq: %d\r\n" % (method, uri, proto, cseq[0])
    for k, v in (headers or {}).items():
        h += "%s: %s\r\n" % (k, v)
    h += "Content-Length: %d\r\n\r\n" % len(body)
    s.sendall(h.encode() + body)
    return reply(s)

def sdp(codec="AppleLossless", fmtp="352 0 16 40 10 14 2 255 0 0 44100"):
    return ("v=0\r\no=iTunes 1 0 IN IP4 %s\r\ns=iTunes\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio 0 RTP/AVP 96\r\na=rtpmap:96 %s\r\na=fmtp:96 %s\r\n"
            % (host, host, codec, fmtp)).encode()

def alac_frame(frames):
    """An uncompressed ALAC frame: CPE, instance 0, 12 unused bits, partial
    (with a 32-bit count when short), shift 0, escape 1, samples, END."""
    bits = []
    def put(v, n):
        bits.extend((v >> (n - 1 - i)) & 1 for i in range(n))
    partial = 1 if len(frames) != 352 else 0
    put(1, 3); put(0, 4); put(0, 12); put(partial, 1); put(0, 2); put(1, 1)
    if partial:
        put(len(frames), 32)
    for l, r in frames:
        put(l & 0xffff, 16); put(r & 0xffff, 16)
    put(7, 3)
    bits.extend([0] * (-len(bits) % 8))
    return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))

def tone(n, k):
    return [((i * 37 + k) % 2000 - 1000 or 1, (i * 91 + k) % 3000 - 1500 or 1) for i in range(n)]

def fnv(frames):
    h = 0xcbf29ce484222325
    for l, r in frames:
        for b in struct.pack("<hh", l, r):
            h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return "%016x" % h

def session(s, auth=None):
    st, h, _ = req(s, "ANNOUNCE", headers=dict({"Content-Type": "application/sdp"}, **(auth or {})),
                   body=sdp())
    assert st == 200, st
    # the fake answers the address the TCP connection came from
    me = s.getsockname()[0]
    ctrl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ctrl.bind((me, 0))
    tim = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); tim.bind((me, 0))
    st, h, _ = req(s, "SETUP", headers=dict({"Transport":
        "RTP/AVP/UDP;unicast;interleaved=0-1;mode=record;control_port=%d;timing_port=%d"
        % (ctrl.getsockname()[1], tim.getsockname()[1])}, **(auth or {})))
    assert st == 200, st
    t = dict(kv.split("=") for kv in h["transport"].split(";") if "=" in kv)
    return ctrl, tim, int(t["server_port"]), int(t["control_port"]), int(t["timing_port"]), h

def rtp(seq, ts, payload, first=False):
    return struct.pack(">BBHII", 0x80, 0xe0 if first else 0x60, seq & 0xffff, ts, 0x1234) + payload

if step == "alac":
    # 12 packets: the last one short; packet 4 comes after 5 (reordered),
    # packet 7 only when the fake asks for it (0xd5 → 0xd6)
    s = conn()
    st, h, _ = req(s, "OPTIONS", uri="*")
    assert st == 200 and "ANNOUNCE" in h["public"], h
    ctrl, tim, dport, cport, tport, _ = session(s)
    st, h, _ = req(s, "RECORD", headers={"Range": "npt=0-", "RTP-Info": "seq=100;rtptime=0"})
    assert st == 200 and "audio-latency" in h, h
    meta = b"minmTitle ALACasarArtist ALAasalAlbum ALAC"
    items = b"".join(k + struct.pack(">I", len(v)) + v for k, v in
                     ((b"minm", b"Probe Song"), (b"asar", b"Probe Artist"), (b"asal", b"Probe Album")))
    for ct, body in (("text/parameters", b"volume: -11.5\r\n"),
                     ("application/x-dmap-tagged", b"mlit" + struct.pack(">I", len(items)) + items),
                     ("image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
                     ("text/parameters", b"progress: 0/0/4224\r\n")):
        st, _, _ = req(s, "SET_PARAMETER", headers={"Content-Type": ct}, body=body)
        assert st == 200, (ct, st)
    st, _, body = req(s, "GET_PARAMETER", headers={"Content-Type": "text/parameters"}, body=b"volume\r\n")
    assert st == 200 and body.startswith(b"volume: -11.5"), body
    data = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pk, allf = [], []
    for i in range(12):
        n = 352 if i < 11 else 100
        f = tone(n, i)
        allf += f
        pk.append(rtp(100 + i, i * 352, alac_frame(f), i == 0))
    order = [0, 1, 2, 3, 5, 4, 6, 8, 9, 10, 11]
    ctrl.settimeout(5)
    for i in order:
        data.sendto(pk[i], (host, dport))
        time.sleep(0.005)
    # a sync packet, then the resend request for 7
    ctrl.sendto(struct.pack(">BBHIIII", 0x90, 0xd4, 7, 0, 0, 0, 352 * 6), (host, cport))
    asked = []
    while (107, 1) not in asked:
        d, _ = ctrl.recvfrom(64)
        assert d[1] == 0xd5, d.hex()
        asked.append(struct.unpack(">HH", d[4:8]))
    # 4 was asked for when 5 came first, then came by itself
    assert asked == [(104, 1), (107, 1)], asked
    ctrl.sendto(b"\x80\xd6" + pk[7][2:4] + pk[7], (host, cport))
    # timing: the fake asked ours once; answer it, and ask the fake's port
    tim.settimeout(5)
    q, a = tim.recvfrom(64)
    assert len(q) == 32 and q[1] == 0xd2, q.hex()
    tim.sendto(b"\x80\xd3" + q[2:], a)
    tim.sendto(b"\x80\xd2\x00\x07" + b"\0" * 20 + b"\x01\x02\x03\x04\x05\x06\x07\x08", (host, tport))
    r, _ = tim.recvfrom(64)
    assert r[1] == 0xd3 and r[8:16] == b"\x01\x02\x03\x04\x05\x06\x07\x08", r.hex()
    time.sleep(0.2)
    st, _, _ = req(s, "POST", uri="/feedback")
    assert st == 200
    print(fnv(allf), len(allf))
    # the session stays for the test to read, TEARDOWN in step teardown
    sys.stdout.flush()
    st, _, _ = req(s, "FLUSH", headers={"RTP-Info": "seq=112;rtptime=4224"})
    st, _, _ = req(s, "TEARDOWN")
    assert st == 200

elif step == "digest":
    pw = args[0]
    s = conn()
    st, h, _ = req(s, "ANNOUNCE", headers={"Content-Type": "application/sdp"}, body=sdp())
    assert st == 401, st
    realm = re.search(r'realm="([^"]*)"', h["www-authenticate"]).group(1)
    nonce = re.search(r'nonce="([^"]*)"', h["www-authenticate"]).group(1)
    md5 = lambda x: hashlib.md5(x.encode()).hexdigest()
    uri = "rtsp://%s/1" % host
    def auth(method):
        r = md5("%s:%s:%s" % (md5("iTunes:%s:%s" % (realm, pw)), nonce, md5("%s:%s" % (method, uri))))
        return {"Authorization": 'Digest username="iTunes", realm="%s", nonce="%s", uri="%s", response="%s"'
                % (realm, nonce, uri, r)}
    st, h, _ = req(s, "ANNOUNCE", headers=dict({"Content-Type": "application/sdp"}, **auth("ANNOUNCE")),
                   body=sdp())
    print(st)

elif step == "bad-input":
    # every one must get an error answer or be dropped; the fake lives on
    bad_sdps = [b"v=0\r\n\0m=audio 0 RTP/AVP 96\r\n",
                sdp() + b"a=x:" + b"A" * 5000 + b"\r\n",
                b"v=0\r\n",
                sdp(fmtp="352 0 16 40 10 14 2 255 0 0"),
                sdp(fmtp="352 0 16 40 10 14 3 255 0 0 44100"),
                sdp(fmtp="99999999999999999999 0 16 40 10 14 2 255 0 0 44100"),
                sdp(codec="L16/44100/9"), sdp(codec="mpeg4-generic/44100/2"),
                sdp() + b"m=audio 0 RTP/AVP 97\r\n",
                b"m=audio 0 RTP/AVP 96\r\na=rtpmap:96 AppleLossless\r\n",
                b"A" * 17000]
    for b in bad_sdps:
        s = conn()
        st, _, _ = req(s, "ANNOUNCE", headers={"Content-Type": "application/sdp"}, body=b)
        assert st >= 400, (b[:60], st)
        s.close()
    # a declared body far over the cap
    s = conn()
    s.sendall(b"ANNOUNCE rtsp://x/1 RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 4000000000\r\n\r\n")
    st, _, _ = reply(s)
    assert st == 413, st
    # a session, then bad datagrams on every port
    s = conn()
    ctrl, tim, dport, cport, tport, _ = session(s)
    req(s, "RECORD")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    junk = [b"", b"\x80", b"\x40" * 12, b"\x8f" + b"\0" * 20, b"\x90\x60" + b"\0" * 14 + b"\xff\xff",
            b"\xa0\x60" + b"\0" * 10 + b"\xff", rtp(1, 0, b"\x20\x00\x00\x00" * 4),
            rtp(2, 352, b"\x20\x00\x01\xff\xff\xff\xff" + b"\0" * 40),
            rtp(3, 704, alac_frame(tone(352, 1))[:300]), b"\x80\x60" + b"\xee" * 4000,
            bytes(random.getrandbits(8) for _ in range(1500))]
    for j in junk:
        for p in (dport, cport, tport):
            u.sendto(j, (host, p))
    u.sendto(b"\x80\xd6\0\0" + b"\x80\x60" + b"\0" * 10, (host, cport))
    u.sendto(b"\x80\xd4" + b"\0" * 30, (host, cport))
    time.sleep(0.3)
    st, _, _ = req(s, "SET_PARAMETER", headers={"Content-Type": "text/parameters"}, body=b"volume: 99")
    assert st == 400, st
    st, _, _ = req(s, "SET_PARAMETER", headers={"Content-Type": "application/x-dmap-tagged"},
                   body=b"mlit\xff\xff\xff\xffminm")
    assert st == 400, st
    st, _, _ = req(s, "TEARDOWN")
    assert st == 200, st
    print("ok")

elif step == "hostile-endless":
    s = conn()
    s.sendall(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\nANNOUNCE rtsp://x/1 RTSP/1.0\r\nCSeq: 2\r\n"
              b"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n" % len(sdp()) + sdp())
    buf = b""
    s.settimeout(2)
    try:
        while len(buf) < (300 << 10):
            d = s.recv(65536)
            if not d:
                break
            buf += d
    except socket.timeout:
        pass
    # the OPTIONS answer is whole; the ANNOUNCE's head never ends
    first, rest = buf.split(b"\r\n\r\n", 1)
    assert b"200" in first and b"\r\n\r\n" not in rest and len(rest) > 100000, len(rest)
    print("ok")

elif step == "hostile-huge":
    s = conn()
    st, h, body = req(s, "ANNOUNCE", headers={"Content-Type": "application/sdp"}, body=sdp())
    assert h["content-length"] == "1073741824" and body == b"", h
    print("ok")

elif step == "hostile-setup":
    s = conn()
    req(s, "ANNOUNCE", headers={"Content-Type": "application/sdp"}, body=sdp())
    st, h, _ = req(s, "SETUP", headers={"Transport": "RTP/AVP/UDP;control_port=1;timing_port=1"})
    assert "server_port=99999999" in h["transport"] and h["session"] == "not-a-number", h
    print("ok")

elif step == "hostile-resend":
    # retransmit-unsent / retransmit-flood: after a sync, requests come
    s = conn()
    ctrl, tim, dport, cport, tport, _ = session(s)
    req(s, "RECORD")
    d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(3):
        d.sendto(rtp(500 + i, i * 352, alac_frame(tone(352, i))), (host, dport))
    time.sleep(0.1)
    try:
        ctrl.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE (root)
    except OSError:
        ctrl.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    ctrl.sendto(struct.pack(">BBHIIII", 0x90, 0xd4, 7, 0, 0, 0, 0), (host, cport))
    ctrl.settimeout(1)
    got = []
    try:
        while True:
            got.append(ctrl.recvfrom(64)[0])
    except socket.timeout:
        pass
    seqs = sorted({struct.unpack(">H", g[4:6])[0] for g in got})
    print(len(got), seqs[0] if seqs else -1)

elif step == "timing":
    # one timing request to the fake's timing port: answered or not
    s = conn()
    ctrl, tim, dport, cport, tport, _ = session(s)
    tim.settimeout(1)
    tim.sendto(b"\x80\xd2\x00\x07" + b"\0" * 28, (host, tport))
    n = 0
    try:
        while True:
            d = tim.recvfrom(64)[0]
            n += d[1] == 0xd3
    except socket.timeout:
        pass
    print(n)
EOF
probe() { python3 "$TRASH/probe.py" "$@"; }

test_expect_success 'start the AirPort (AirPlay 1) and the HomePod (AirPlay 2)' '
	start_mrp_fake air $AIR "$DEV/airport.json" &&
	start_mrp_fake hp $HP "$DEV/homepod.json" &&
	grep -q "^airplay 7000" air.ready &&
	ast air ".state == \"idle\" and .sessions == 0"
'

test_expect_success 'RAOP with ALAC: in order, reordered, resent on request; metadata, volume, timing' '
	probe $AIR 7000 alac > alac.out &&
	read sum frames < alac.out &&
	ast air ".protocol == \"raop\" and .codec == \"alac\" and .state == \"teardown\" and
		.packets == 12 and .frames == $frames and .pcm_frames == $frames and
		.pcm_fnv1a64 == \"$sum\" and .lost == 0 and .reordered == 1 and
		.retransmit_requests == 2 and .recovered == 1 and .timestamp_jumps == 0 and
		.volume == -11.5 and .title == \"Probe Song\" and .artist == \"Probe Artist\" and
		.album == \"Probe Album\" and .artwork_mime == \"image/png\" and .artwork_size == 108 and
		.progress == \"0/0/4224\" and .syncs == 1 and .sync_rtp == 2112 and
		.timing_replies == 1 and .options == 1 and .feedback == 1 and .flushed and .teardown and
		.first_rtp == 0 and .last_rtp == 3872 and .bad_packets == 0"
'

test_expect_success 'Digest: 401 with a nonce, then the right password, then a wrong one' '
	ctl air audio-password s3cret &&
	test "$(probe $AIR 7000 digest s3cret)" = 200 &&
	test "$(probe $AIR 7000 digest wrong)" = 401 &&
	ast air ".password and .auth_ok == 1 and .auth_failed == 1" &&
	ctl air audio-password off
'

test_expect_success 'a device whose TXT says pw=true asks for its file'"'"'s password' '
	start_mrp_fake pw $PW "$DEV/airport-pw.json" &&
	test "$(probe $PW 7000 digest hunter2)" = 200 &&
	test "$(probe $PW 7000 digest s3cret)" = 401 &&
	ast pw ".password and .auth_ok == 1 and .auth_failed == 1"
'

test_expect_success 'hostile input to the fake: bad SDP, huge lengths, bad RTP; it lives on' '
	test "$(probe $AIR 7000 bad-input)" = ok &&
	ast air ".bad_packets > 20 and .packets == 0 and .state == \"teardown\"" &&
	kill -0 $FAKE_PID_air && probe $AIR 7000 alac > alac2.out
'

test_expect_success 'hostile modes: an endless head, a huge Content-Length, a garbage SETUP' '
	ctl air audio-hostile rtsp-endless && test "$(probe $AIR 7000 hostile-endless)" = ok &&
	ctl air audio-hostile huge-length && test "$(probe $AIR 7000 hostile-huge)" = ok &&
	ctl air audio-hostile garbage-setup && test "$(probe $AIR 7000 hostile-setup)" = ok &&
	ctl air audio-hostile none
'

test_expect_success 'hostile modes: resend requests for packets never sent, a flood of them' '
	ctl air audio-hostile retransmit-unsent &&
	probe $AIR 7000 hostile-resend > unsent.out && read n first < unsent.out &&
	test "$n" = 1 && test "$first" = 5502 &&
	ctl air audio-hostile retransmit-flood &&
	probe $AIR 7000 hostile-resend > flood.out && read n first < flood.out &&
	test "$n" -ge 200 &&
	ast air ".retransmit_requests == 1000 and .hostile == \"none\""
'

test_expect_success 'timing: answered, then a timing port that never answers' '
	test "$(probe $AIR 7000 timing)" = 1 &&
	ctl air audio-hostile timing-silent && test "$(probe $AIR 7000 timing)" = 0 &&
	ast air ".timing_requests == 1" && ctl air audio-hostile none
'

test_expect_success 'audio-reset, audio-drop and bad control arguments' '
	ctl air audio-reset && ast air ".state == \"idle\" and .sessions == 0 and .packets == 0" &&
	test_must_fail ctl air audio-drop x && test_must_fail ctl air audio-hostile nope &&
	test_must_fail ctl air audio-frobnicate
'

PYATV_REMOTE=${ATV_PYATV:-$(command -v atvremote 2> /dev/null)}
if [ -n "$PYATV_REMOTE" ] && [ -x "$PYATV_REMOTE" ] &&
	"$(dirname "$PYATV_REMOTE")/pyatv-python" -c "import miniaudio; miniaudio.decode_file" 2> /dev/null &&
	grep -q "wave" "$("$(dirname "$PYATV_REMOTE")/pyatv-python" -c "import miniaudio; print(miniaudio.__file__)")"; then
	HAVE_PYATV=1
else
	HAVE_PYATV=
	say "pyatv with the WAV-reading miniaudio stand-in not found (ATV_PYATV, t/README): skipping its part"
fi
PYATV_UDNS_PORT=5353
export PYATV_UDNS_PORT

# stream NAME ID ADDR [ARGS]: atvremote stream_file=song.wav, bounded
stream() {
	_o=$1 _i=$2 _a=$3
	shift 3
	timeout $T "$PYATV_REMOTE" --storage none -s "$_a" -i "$_i" "$@" \
		stream_file="$TRASH/song.wav" > "$_o.out" 2> "$_o.err"
}

pyatv_test() {
	if [ -n "$HAVE_PYATV" ]; then test_expect_success "$@"; else test_skip "$1" "no pyatv"; fi
}

pyatv_test 'pyatv RAOP (AirPort): every frame, the checksum, metadata, volume, /auth-setup' '
	python3 "$TRASH/gen.py" "$TRASH/song.wav" 45334 > song.sum &&
	ctl air audio-reset &&
	stream raop1 $AIR_ID $AIR set_volume=40 &&
	ast air ".protocol == \"raop\" and .codec == \"l16\" and .pcm_frames == 45334 and
		.pcm_fnv1a64 == \"$(cat song.sum)\" and .frames % 352 == 0 and .frames > 45334 and
		.lost == 0 and .timestamp_jumps == 0 and .volume == -18 and
		.title == \"Streaming with pyatv\" and .artist == \"pyatv\" and .album == \"AirPlay\" and
		.auth_setup == 1 and .records == 1 and .flushed and .teardown and .syncs >= 1 and
		.timing_replies == 1 and .max_ahead_ms < 50"
'

pyatv_test 'pyatv RAOP with every 7th packet dropped: all resent on request' '
	ctl air audio-drop 7 &&
	stream raop2 $AIR_ID $AIR &&
	ast air ".pcm_frames == 45334 and .pcm_fnv1a64 == \"$(cat song.sum)\" and .dropped > 10 and
		.recovered == .dropped and .retransmit_requests == .dropped and .lost == 0" &&
	ctl air audio-drop 0
'

pyatv_test 'pyatv RAOP to a password: the right one plays, a wrong one fails' '
	ctl air audio-password hunter2 &&
	stream raop3 $AIR_ID $AIR --raop-password hunter2 &&
	ast air ".pcm_frames == 45334 and .auth_ok > 5 and .auth_failed == 0" &&
	test_must_fail stream raop4 $AIR_ID $AIR --raop-password wrong &&
	ast air ".auth_failed >= 1" && ctl air audio-password off &&
	stream raop5 $PW_ID $PW --raop-password hunter2 &&
	ast pw ".pcm_frames == 45334 and .pcm_fnv1a64 == \"$(cat song.sum)\""
'

pyatv_test 'pyatv AirPlay 2 (HomePod, transient): sealed payloads, every frame, drops resent' '
	ctl hp audio-drop 5 &&
	stream ap2 $HP_ID $HP &&
	ast hp ".protocol == \"airplay2\" and .codec == \"l16\" and .pcm_frames == 45334 and
		.pcm_fnv1a64 == \"$(cat song.sum)\" and .dropped > 10 and .recovered == .dropped and
		.lost == 0 and .bad_packets == 0 and .title == \"Streaming with pyatv\" and
		.volume != null and .records == 1 and .feedback >= 1 and .teardown" &&
	ctl_json_is hp tunnel-state ".teardowns >= 1"
'

pyatv_test 'pyatv AirPlay 2 (tvOS 17 Apple TV, paired): every frame, volume' '
	start_mrp_fake den $DEN "$DEV/den.json" && ctl den airplay-pin 2718 &&
	printf "2718\n" | timeout $T "$PYATV_REMOTE" --storage none -s $DEN -i $DEN_ID \
		--protocol airplay pair > pair.out 2> pair.err &&
	sed -n "s/.*these credentials: //p" pair.out > den.creds && test -s den.creds &&
	stream ap2den $DEN_ID $DEN --airplay-credentials "$(cat den.creds)" \
		--raop-credentials "$(cat den.creds)" set_volume=70 &&
	ast den ".protocol == \"airplay2\" and .pcm_frames == 45334 and
		.pcm_fnv1a64 == \"$(cat song.sum)\" and .lost == 0 and .bad_packets == 0 and
		.volume == -9 and .teardown"
'

test_done
