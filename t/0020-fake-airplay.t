#!/bin/sh
# The fake Apple TV's AirPlay server on its own, over plain HTTP with curl
# (the encrypted flows are tested end to end with the real client in
# t/0021): /info, /pair-pin-start and the PIN in the log, the video's
# states on an AirPlay 1 device (kitchen), 470 before verification on one
# that requires pairing (living room), the start of pair-setup and
# pair-verify, the refusals and hostile bodies a test can ask for, and the
# control commands.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

command -v curl > /dev/null 2>&1 || test_skip_all "curl not found"

NET=127.20.$(($$ % 250 + 1))
LR=$NET.2 KI=$NET.3 SP=$NET.5
URL=http://127.0.0.1:9/movie.mp4

# req [CURL ARGS...] METHOD PATH: one request to $U; the status in
# r.status, the body in r.body, its JSON form (plist-json) in r.json when
# it is a plist ({} when empty)
req() {
	_m=$1 _p=$2
	shift 2
	curl -s -o r.body -w "%{http_code}" -X "$_m" "$@" "$U$_p" > r.status || return 1
	if [ -s r.body ]; then
		plist-json < r.body > r.json 2> /dev/null || rm -f r.json
	else
		echo '{}' > r.json
	fi
}

status_is() {
	test "$(cat r.status)" = "$1" || {
		echo "status $(cat r.status), expected $1; body:" >&2
		cat r.body >&2
		return 1
	}
}

# play URL [START]: POST /play with an XML plist, as the contract allows
play() {
	cat > play.xml << EOF
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Content-Location</key><string>$1</string>
<key>Start-Position-Seconds</key><real>${2:-0}</real>
<key>uuid</key><string>6F1E2D3C-4B5A-4968-8776-A5B4C3D2E1F0</string>
<key>streamType</key><integer>1</integer>
<key>mediaType</key><string>file</string>
<key>volume</key><real>1</real>
</dict></plist>
EOF
	req POST /play -H "Content-Type: text/x-apple-plist+xml" --data-binary @play.xml
}

# st NAME FILTER: the fake's airplay state satisfies the jq FILTER
st() { ctl_json_is "$1" airplay-state "$2"; }

# until_info FILTER: poll /playback-info until its JSON satisfies FILTER
until_info() {
	_n=0
	while :; do
		req GET /playback-info || return 1
		jq -e "$1" r.json > /dev/null 2>&1 && return 0
		_n=$((_n + 1))
		[ $_n -lt 500 ] || {
			echo "playback-info never satisfied $1; last:" >&2
			cat r.json >&2
			return 1
		}
		sleep 0.02
	done
}

hex() { od -An -tx1 -v | tr -d " \n"; }

test_expect_success 'the fake serves airplay on the port it was given' '
	start_mrp_fake ki $KI:0 "$DEV/kitchen.json" --airplay-port 0 &&
	port=$(awk "\$1 == \"airplay\" { print \$2 }" "$TRASH/ki.ready") &&
	test -n "$port" && test "$port" -gt 0 && U=http://$KI:$port &&
	st ki ".airplay_port == $port and .video == null and .encrypted == 0" &&
	fake_state ki > all.json && test_jq ".airplay.airplay_port == $port" all.json
'

test_expect_success 'the mdns answers name the airplay port listened on' '
	mdns=$(sed -n "s/^mdns $KI://p" ki.ready) &&
	atv-scan -s $KI:$mdns > scan.json &&
	test_jq "any(.services[]; .protocol == \"airplay\" and .port == $port)" scan.json
'

test_expect_success 'GET /info: a binary plist with the device facts' '
	req GET /info && status_is 200 &&
	test "$(head -c 8 r.body)" = bplist00 &&
	test_jq ".model == \"AppleTV3,2\" and .name == \"Kitchen\" and
		.deviceID == \"58:55:CA:1E:2F:30\" and .protocolVersion == \"1.1\" and
		.sourceVersion == \"220.68\" and .statusFlags == 68 and
		.pi == \"B5A49382-7160-4F5E-8D7C-6B5A49382716\" and
		.features == ((30 * 4294967296) + 1518338039) and
		(.pk | test(\"^[0-9a-f]{64}$\"))" r.json &&
	cp r.json info1.json
'

test_expect_success 'the accessory key survives a restart' '
	ctl ki airplay-drop > /dev/null &&
	kill $FAKE_PID_ki && wait $FAKE_PID_ki;
	rm -f ki.ready &&
	start_mrp_fake ki $KI:0 "$DEV/kitchen.json" --airplay-port 0 &&
	port=$(awk "\$1 == \"airplay\" { print \$2 }" "$TRASH/ki.ready") &&
	U=http://$KI:$port &&
	req GET /info && jq -e --slurpfile a info1.json ".pk == \$a[0].pk" r.json
'

test_expect_success 'POST /pair-pin-start logs the pin; airplay-pin changes it' '
	req POST /pair-pin-start && status_is 200 && test ! -s r.body &&
	grep -q "airplay pin: 1111" ki.log &&
	ctl ki airplay-pin 4321 &&
	req POST /pair-pin-start && status_is 200 &&
	grep -q "airplay pin: 4321" ki.log &&
	test_must_fail ctl ki airplay-pin 12ab &&
	test_must_fail ctl ki airplay-pin
'

test_expect_success 'no video: playback-info is an empty dict' '
	req GET /playback-info && status_is 200 && test_jq ". == {}" r.json
'

test_expect_success 'play: loading, then playing for the duration, then ended' '
	ctl ki airplay-video duration 3 && ctl ki airplay-video loading 200 &&
	play $URL && status_is 200 && test ! -s r.body &&
	st ki ".video.url == \"$URL\" and .video.start == 0 and
		(.video.state == \"loading\" or .video.state == \"playing\")" &&
	until_info "has(\"duration\")" &&
	test_jq ".duration == 3 and .rate == 1 and .readyToPlay == true and
		.position >= 0 and .position <= 3 and .playbackLikelyToKeepUp == true" r.json &&
	until_info ". == {}" &&
	st ki ".video.state == \"ended\" and .video.position == 3"
'

test_expect_success 'while loading: readyToPlay false, no duration' '
	ctl ki airplay-video loading 60000 &&
	play $URL 3.5 && status_is 200 &&
	req GET /playback-info &&
	test_jq ".readyToPlay == false and .rate == 0 and (has(\"duration\") | not)" r.json &&
	st ki ".video.state == \"loading\" and .video.start == 3.5" &&
	ctl ki airplay-video loading 0 && ctl ki airplay-video duration 600
'

test_expect_success 'rate 0 pauses, scrub moves, stop ends the video' '
	play $URL 10 && until_info "has(\"duration\")" &&
	test_jq ".position >= 10 and .duration == 600" r.json &&
	req POST "/rate?value=0" && status_is 200 &&
	req POST "/scrub?position=42.5" && status_is 200 &&
	req GET /playback-info && test_jq ".rate == 0 and .position == 42.5" r.json &&
	st ki ".video.state == \"paused\" and .video.position == 42.5 and .video.rate == 0" &&
	req GET /scrub && status_is 200 && grep -q "^position: 42.5" r.body &&
	req POST "/rate?value=1" && st ki ".video.state == \"playing\" and .video.rate == 1" &&
	req POST /stop && status_is 200 &&
	req GET /playback-info && test_jq ". == {}" r.json &&
	st ki ".video == null"
'

test_expect_success 'bad scrub, rate and play requests: 400 or 413' '
	req POST "/scrub?position=abc" && status_is 400 &&
	req POST /scrub && status_is 400 &&
	req POST "/rate?value=fast" && status_is 400 &&
	req POST /play && status_is 400 &&
	req POST /play --data-binary "Content-Location: $URL" && status_is 400 &&
	printf "<plist version=\"1.0\"><array><string>%s</string></array></plist>" $URL > a.xml &&
	req POST /play --data-binary @a.xml && status_is 400 &&
	printf "<plist version=\"1.0\"><dict><key>uuid</key><string>x</string></dict></plist>" \
		> n.xml &&
	req POST /play --data-binary @n.xml && status_is 400 &&
	head -c 70000 /dev/zero > big && req POST /play --data-binary @big && status_is 413 &&
	req GET /nowhere && status_is 404 &&
	req GET /play && status_is 405 &&
	st ki ".video == null"
'

test_expect_success 'airplay-video error: a marked url fails after loading' '
	ctl ki airplay-video error broken &&
	play http://127.0.0.1:9/broken.mp4 && status_is 200 &&
	until_info "has(\"error\")" &&
	test_jq ".error.code == -11800 and .error.domain == \"AVFoundationErrorDomain\" and
		(.error.localizedDescription | length > 0)" r.json &&
	st ki ".video.state == \"error\"" &&
	play $URL && until_info "has(\"duration\")" &&
	ctl ki airplay-video error && req POST /stop
'

test_expect_success 'airplay-fail: the next N requests get the status and reason' '
	ctl ki airplay-fail /play 403 2 not now &&
	play $URL && status_is 403 && test "$(cat r.body)" = "not now" &&
	play $URL && status_is 403 &&
	play $URL && status_is 200 &&
	ctl ki airplay-fail /play 500 3 the disk is on fire &&
	play $URL && status_is 500 && test "$(cat r.body)" = "the disk is on fire" &&
	ctl ki airplay-fail /play 470 &&
	play $URL && status_is 470 && test ! -s r.body &&
	play $URL && status_is 200 &&
	ctl ki airplay-fail "*" 503 1 busy &&
	req GET /info && status_is 503 && test "$(cat r.body)" = busy &&
	ctl ki airplay-fail /info 500 5 &&
	ctl ki airplay-fail clear && st ki ".fail_rules == 0" &&
	req GET /info && status_is 200 && req POST /stop &&
	test_must_fail ctl ki airplay-fail /play 99 &&
	test_must_fail ctl ki airplay-fail play 500 &&
	test_must_fail ctl ki airplay-fail /play
'

test_expect_success 'the requests are logged' '
	st ki "any(.requests[]; . == \"GET /info\") and
		any(.requests[]; . == \"POST /play\") and (.requests | length <= 64)"
'

test_expect_success 'hostile plist: a truncated binary plist with a right length' '
	ctl ki airplay-hostile plist &&
	req GET /playback-info && status_is 200 &&
	test "$(head -c 8 r.body)" = bplist00 && test ! -f r.json &&
	st ki ".hostile == \"plist\""
'

test_expect_success 'hostile deep-plist: arrays nested a thousand deep' '
	ctl ki airplay-hostile deep-plist &&
	req GET /playback-info && status_is 200 &&
	test "$(head -c 11 r.body | hex)" = 62706c6973743030a10001 &&
	test ! -f r.json
'

test_expect_success 'hostile huge-body: a Content-Length of 64 MiB' '
	ctl ki airplay-hostile huge-body &&
	test_must_fail 63 curl -s --max-filesize 1000000 -o /dev/null "$U/playback-info" &&
	test_must_fail 63 curl -s --max-filesize 1000000 -o /dev/null "$U/info"
'

test_expect_success 'block modes only touch encrypted connections; none restores' '
	ctl ki airplay-hostile bad-block && req GET /playback-info && status_is 200 &&
	test_jq ". == {}" r.json &&
	ctl ki airplay-hostile huge-block && req GET /info && status_is 200 &&
	test_must_fail ctl ki airplay-hostile no-such-mode &&
	ctl ki airplay-hostile none && st ki ".hostile == \"none\"" &&
	req GET /playback-info && test_jq ". == {}" r.json
'

# A client that stays connected: hold.py ADDR PORT MARK writes MARK once
# its request was answered, then prints "eof" when the fake closes.
cat > "$TRASH/hold.py" << 'EOF'
import os, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
s.sendall(b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n")
data = s.recv(65536)
open(sys.argv[3] + ".tmp", "w").write("answered\n")
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print("eof" if data.startswith(b"HTTP/1.1 200") else "bad")
EOF

test_expect_success 'airplay-drop closes the open connections' '
	python3 "$TRASH/hold.py" $KI $port hold.mark > hold.out &
	hold=$! &&
	wait_for_file hold.mark &&
	n=0 && until st ki ".connections == 1" 2> /dev/null; do
		n=$((n + 1)) && test $n -lt 250 && sleep 0.02 || return 1
	done &&
	test "$(ctl ki airplay-drop)" = 1 &&
	wait $hold && test "$(cat hold.out)" = eof &&
	st ki ".connections == 0"
'

test_expect_success 'pairing required (living room): 470 before verification' '
	start_mrp_fake lr $LR:0 --mrp-port 0 --airplay-port 0 &&
	U=http://$LR:$(awk "\$1 == \"airplay\" { print \$2 }" "$TRASH/lr.ready") &&
	req GET /info && status_is 200 && test_jq ".statusFlags == 580" r.json &&
	play $URL && status_is 470 &&
	req GET /playback-info && status_is 470 &&
	req POST /stop && status_is 470 &&
	req POST /pair-pin-start && status_is 200 &&
	st lr ".video == null"
'

test_expect_success 'pair-setup M1 gets M2 (salt, public key); garbage gets 400' '
	printf "\000\001\000\006\001\001" > m1 &&
	req POST /pair-setup -H "Content-Type: application/octet-stream" \
		-H "X-Apple-HKP: 3" --data-binary @m1 &&
	status_is 200 && test "$(head -c 3 r.body | hex)" = 060102 &&
	test $(wc -c < r.body) -gt 400 &&
	printf "\377" > junk && req POST /pair-setup --data-binary @junk && status_is 400 &&
	printf "\006\001\003" > m3 && req POST /pair-verify --data-binary @m3 &&
	status_is 200 && test "$(hex < r.body)" = 060104070101
'

test_expect_success 'transient pair-setup is refused where pairing is mandatory' '
	printf "\000\001\000\006\001\001\023\001\020" > t1 &&
	req POST /pair-setup -H "X-Apple-HKP: 4" --data-binary @t1 &&
	status_is 200 && test "$(hex < r.body)" = 060102070102
'

test_expect_success 'pair-verify M1 gets M2 (public key, encrypted data)' '
	{ printf "\006\001\001\003\040" && head -c 32 /dev/urandom; } > v1 &&
	req POST /pair-verify --data-binary @v1 && status_is 200 &&
	test "$(head -c 5 r.body | hex)" = 0601020320 &&
	st lr "any(.requests[]; . == \"POST /pair-verify\") and .verified == 0"
'

test_expect_success 'a speaker accepts transient pair-setup (M2 back)' '
	start_mrp_fake sp $SP:0 "$DEV/speaker.json" --airplay-port 0 &&
	U=http://$SP:$(awk "\$1 == \"airplay\" { print \$2 }" "$TRASH/sp.ready") &&
	req GET /info && test_jq ".model == \"AudioAccessory5,1\" and .statusFlags == 4" r.json &&
	req POST /pair-setup -H "X-Apple-HKP: 4" --data-binary @t1 &&
	status_is 200 && test "$(head -c 3 r.body | hex)" = 060102 &&
	test $(wc -c < r.body) -gt 400 &&
	grep -q "transient pair-setup started" sp.log &&
	play $URL && status_is 200
'

test_expect_success 'the speaker pk in TXT is the key /info gives' '
	pk=$(jq -r ".services[] | select(.type == \"_airplay._tcp\") | .txt.pk" \
		"$DEV/speaker.json") &&
	req GET /info && test_jq ".pk == \"$pk\"" r.json
'

test_expect_success 'bad --airplay-port and unknown control arguments' '
	test_must_fail 2 fake-atv --device "$DEV/kitchen.json" --airplay-port 70000 &&
	test_must_fail 2 fake-atv --device "$DEV/kitchen.json" --airplay-port x &&
	fake-atv --help > help.out && grep -q -- "--airplay-port" help.out &&
	test_must_fail ctl ki airplay-video speed 3 &&
	test_must_fail ctl ki airplay-video duration -1 &&
	test_must_fail ctl ki airplay-drop now
'

test_expect_success 'a device without _airplay._tcp serves no airplay' '
	jq "del(.services[] | select(.type == \"_airplay._tcp\"))" "$DEV/kitchen.json" \
		> noap.json &&
	start_mrp_fake na $NET.7:0 noap.json --airplay-port 0 &&
	! grep -q "^airplay" na.ready &&
	test_must_fail ctl na airplay-state
'

test_done
