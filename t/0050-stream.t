#!/bin/sh
# atv-stream against the fake's audio receiver: an AirPort Express (RAOP)
# and a HomePod (AirPlay 2).  Every check compares what the fake counted
# (frames, the FNV-1a of the PCM it decoded) with what gen-wav says the
# input holds.  Before that: options, and hostile input refused with its
# status before any receiver is contacted (a cut WAV, a lying header, a
# pipe given as a file, artwork that is no picture, an empty password).
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.50.$(($$ % 250 + 1))
AP=$NET.2 HP=$NET.3 DN=$NET.4 KT=$NET.5 NONE=$NET.9
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

# A device config whose RAOP port has no listener (nothing answers there).
cat > none.json << EOF
{"name":"Nobody","address":"$NONE","identifier":"AA:BB:CC:DD:EE:01","all_identifiers":["AA:BB:CC:DD:EE:01"],"services":[{"protocol":"raop","port":1,"identifier":"AA:BB:CC:DD:EE:01","properties":{"et":"0,1","cn":"0,1","tp":"UDP","md":"0,1,2","am":"AirPort10,115"}}]}
EOF

test_expect_success 'generated files: WAV, FLAC, a cut WAV, a lying header' '
	gen-wav -n 22050 -T "Gen Title" -A "Gen Artist" -L "Gen Album" tone.wav &&
	gen-wav -f flac -n 22050 tone.flac &&
	head -c 50000 tone.wav > cut.wav &&
	python3 -c "
import sys
b = bytearray(open(\"tone.wav\", \"rb\").read())
b[24:28] = (0xffffffff).to_bytes(4, \"little\")
open(\"liar.wav\", \"wb\").write(b)
" &&
	gen-wav -s tone.wav > sum.json &&
	test_jq ".frames == 22050 and .pcm_frames == 22050 and .rate == 44100" sum.json
'

test_expect_success '--help on stdout, --version, usage errors exit 2' '
	atv-stream --help > help.out && grep -q "^usage: atv-stream" help.out &&
	atv-stream --version | grep -q "(atv-tools)" &&
	test_must_fail 2 timeout $T atv-stream --bogus 2> err && grep -q "^usage:" err &&
	test_must_fail 2 timeout $T atv-stream -i X --format s16le:44100:99 tone.wav 2> err &&
	grep -q "invalid channels" err &&
	test_must_fail 2 timeout $T atv-stream -i X --format u8 2> err &&
	grep -q "unknown sample format" err &&
	test_must_fail 2 timeout $T atv-stream -i X --volume 101 tone.wav 2> err &&
	grep -q "invalid volume" err &&
	test_must_fail 2 timeout $T atv-stream -i X -p mrp tone.wav 2> err &&
	grep -q "unknown protocol" err &&
	test_must_fail 2 timeout $T atv-stream -i X tone.wav extra 2> err &&
	grep -q "unexpected argument" err
'

test_expect_success 'a cut WAV: exit 6, one failure line, nothing contacted' '
	test_must_fail 6 timeout $T atv-stream --json cut.wav < none.json > out 2> err &&
	test_fail_line out && grep -q "truncated" err &&
	test_jq ".error.code == \"bad_input\"" out
'

test_expect_success 'a lying header (rate 4 GHz): exit 6' '
	test_must_fail 6 timeout $T atv-stream --json liar.wav < none.json > out 2> err &&
	test_fail_line out && test $(wc -l < err) -eq 1
'

test_expect_success 'not audio at all: exit 6; a missing file: exit 7' '
	printf "hello" > text.txt &&
	test_must_fail 6 timeout $T atv-stream --json text.txt < none.json > out 2> err &&
	test_fail_line out && grep -q "unable to decode" err &&
	test_must_fail 7 timeout $T atv-stream --json nothere.wav < none.json > out 2> err &&
	test_fail_line out && grep -q "nothere.wav" err
'

test_expect_success 'a pipe as FILE without --format: exit 6, says --format' '
	mkfifo fifo &&
	test_must_fail 6 timeout $T atv-stream --json fifo < none.json > out 2> err &&
	test_fail_line out && grep -q -- "--format" err
'

test_expect_success 'artwork that is no PNG or JPEG, or missing: exit 6, 7' '
	printf "GIF89a........" > art.gif &&
	test_must_fail 6 timeout $T atv-stream --json --artwork art.gif tone.wav < none.json > out 2> err &&
	test_fail_line out && grep -q "neither a PNG nor a JPEG" err &&
	test_must_fail 7 timeout $T atv-stream --json --artwork nothere.png tone.wav < none.json > out &&
	test_fail_line out
'

test_expect_success 'an empty or missing password file: exit 6, 7; never echoed' '
	: > pw.empty &&
	test_must_fail 6 timeout $T atv-stream --json --password-file pw.empty tone.wav < none.json \
		> out 2> err &&
	test_fail_line out &&
	test_must_fail 7 timeout $T atv-stream --json --password-file pw.none tone.wav < none.json \
		> out 2> err &&
	test_fail_line out &&
	printf "s3cret-pass\n" > pw &&
	timeout $T atv-stream --json -t 1 --password-file pw tone.wav < none.json > out 2> err;
	! grep -q s3cret out err
'

test_expect_success 'no config on stdin: exit 6 with a failure line' '
	test_must_fail 6 timeout $T atv-stream --json tone.wav < /dev/null > out 2> err &&
	test_fail_line out
'

# stream CONFIG [OPTION...] [FILE]: atv-stream --json into st.out/st.err,
# exit 0 and an ok result line
stream() {
	_cfg=$1
	shift
	timeout $T atv-stream --json "$@" < "$_cfg" > st.out 2> st.err ||
		{ cat st.err st.out >&2; return 1; }
	test_jq ".command == \"stream\" and .ok == true" st.out
}

# audio NAME FILTER: the fake NAME's audio-state satisfies FILTER
audio() { ctl_json_is "$1" audio-state "$2"; }

# same_audio NAME SUMFILE: the fake NAME got exactly the PCM of SUMFILE
# (gen-wav -s), and tore the session down
same_audio() {
	audio "$1" ".pcm_frames == $(jq .pcm_frames "$2") and
		.pcm_fnv1a64 == $(jq .pcm_fnv1a64 "$2") and .lost == 0 and .teardown == true"
}

test_expect_success 'start the fakes: an AirPort Express (RAOP), a HomePod' '
	start_mrp_fake ap $AP "$DEV/airport.json" &&
	start_mrp_fake hp $HP "$DEV/homepod.json" &&
	atv-scan -s $AP > ap.json && atv-scan -s $HP > hp.json &&
	test_jq ".services | map(.protocol) | index(\"raop\") != null" ap.json &&
	test_jq ".services | map(.protocol) | index(\"raop\") != null" hp.json
'

test_expect_success 'RAOP: a WAV plays every frame; tags as metadata; volume' '
	gen-wav -s tone.wav > tone.sum &&
	stream ap.json --volume 40 tone.wav &&
	test_jq ".protocol == \"raop\" and .auth == \"none\" and .frames == 22050 and
		.format == \"wav\" and .resampled == false and .input == \"tone.wav\"" st.out &&
	same_audio ap tone.sum &&
	audio ap ".protocol == \"raop\" and .volume == -18 and .title == \"Gen Title\" and
		.artist == \"Gen Artist\" and .album == \"Gen Album\" and .flushed == false"
'

test_expect_success 'options win over tags; artwork; --text' '
	printf "\211PNG\r\n\032\n0000IHDR" > art.png &&
	timeout $T atv-stream --text --title T2 --artist A2 --album B2 --artwork art.png \
		--volume 0 tone.wav < ap.json > out &&
	test $(wc -l < out) -eq 1 && grep -q "^stream: ok .*frames=22050" out &&
	audio ap ".title == \"T2\" and .artist == \"A2\" and .album == \"B2\" and
		.artwork_mime == \"image/png\" and .artwork_size == 16 and .volume == -144"
'

test_expect_success 'raw PCM on stdin after the config line: every frame' '
	gen-wav -f raw-s16le -n 30000 - > raw.pcm &&
	gen-wav -n 30000 raw.wav && gen-wav -s raw.wav > raw.sum &&
	{ cat ap.json raw.pcm; } > cfg+raw &&
	stream cfg+raw &&
	test_jq ".input == \"-\" and .format == \"raw\" and .frames == 30000" st.out &&
	same_audio ap raw.sum
'

test_expect_success 'raw PCM on stdin with -i: s16be, and a pipe' '
	gen-wav -f raw-s16be -n 30000 - |
		timeout $T atv-stream --json -s $AP -i "$(jq -r .identifier ap.json)" \
		--format s16be:44100:2 > st.out 2> st.err &&
	test_jq ".ok and .frames == 30000" st.out &&
	same_audio ap raw.sum
'

test_expect_success 'raw s24le and f32le mono: their frames arrive' '
	gen-wav -f raw-s24le -n 20000 - | { cat ap.json; cat; } > s24 &&
	stream s24 --format s24le:44100:2 && audio ap ".frames >= 20000 and .pcm_frames == 20000" &&
	gen-wav -f raw-f32le -c 1 -n 20000 - | { cat ap.json; cat; } > f32 &&
	stream f32 --format f32le:44100:1 && audio ap ".pcm_frames == 20000"
'

test_expect_success 'FLAC, Ogg and MP3 play what libsndfile decodes' '
	gen-wav -s tone.flac > flac.sum && stream ap.json tone.flac &&
	test_jq ".format == \"flac\"" st.out && same_audio ap flac.sum &&
	gen-wav -f ogg -n 22050 tone.ogg && gen-wav -s tone.ogg > ogg.sum &&
	stream ap.json tone.ogg && test_jq ".format == \"ogg\"" st.out && same_audio ap ogg.sum &&
	gen-wav -f mp3 -n 22050 tone.mp3 && gen-wav -s tone.mp3 > mp3.sum &&
	stream ap.json tone.mp3 && test_jq ".format == \"mp3\"" st.out && same_audio ap mp3.sum
'

test_expect_success '48 kHz and 22.05 kHz mono are resampled to 44.1 kHz' '
	gen-wav -r 48000 -n 24000 t48.wav &&
	stream ap.json t48.wav &&
	test_jq ".resampled == true and .rate == 48000 and (.frames - 22050 | fabs) <= 1" st.out &&
	audio ap "(.pcm_frames - 22050 | fabs) <= 2 and .rate == 44100 and .lost == 0" &&
	gen-wav -r 22050 -c 1 -n 11025 t22.wav &&
	stream ap.json t22.wav &&
	test_jq ".resampled == true and .channels == 1 and (.frames - 22050 | fabs) <= 1" st.out
'

test_expect_success 'dropped packets are asked for again and recovered' '
	ctl ap audio-drop 10 &&
	stream ap.json tone.wav &&
	ctl ap audio-drop 0 &&
	test_jq ".retransmits > 0" st.out &&
	same_audio ap tone.sum &&
	audio ap ".dropped > 0 and .recovered == .dropped"
'

test_expect_success 'password: right plays (auth password), wrong or none exit 4' '
	ctl ap audio-password s3cret-pw &&
	printf "s3cret-pw\n" > pw.right && printf "nope\n" > pw.wrong &&
	stream ap.json --password-file pw.right tone.wav &&
	test_jq ".auth == \"password\"" st.out && same_audio ap tone.sum &&
	test_must_fail 4 timeout $T atv-stream --json --password-file pw.wrong tone.wav \
		< ap.json > out 2> err &&
	test_fail_line out && ! grep -q s3cret out err &&
	test_must_fail 4 timeout $T atv-stream --json tone.wav < ap.json > out 2> err &&
	test_fail_line out && grep -q -- "--password-file" err &&
	ctl ap audio-password off
'

test_expect_success 'SIGINT mid-stream: exit 130, FLUSH and TEARDOWN, one result line' '
	gen-wav -n 132300 long.wav &&
	{ timeout $T atv-stream --json long.wav < ap.json > int.out 2> int.err & } &&
	pid=$! && n=200 &&
	until ctl ap audio-state | jq -e ".packets > 20" > /dev/null; do
		n=$((n - 1)) && test $n -gt 0 && sleep 0.02 || return 1
	done &&
	kill -INT $pid && { wait $pid; st=$?; } && test $st -eq 130 &&
	test $(wc -l < int.out) -eq 1 &&
	test_jq ".ok == false and .error.code == \"interrupted\" and .frames < 132300" int.out &&
	audio ap ".flushed == true and .teardown == true and .frames < 132300"
'

test_expect_success 'SIGTERM: exit 143' '
	{ timeout $T atv-stream --json long.wav < ap.json > term.out 2> term.err & } &&
	pid=$! && n=200 &&
	until ctl ap audio-state | jq -e ".state == \"recording\" and .packets > 5" > /dev/null; do
		n=$((n - 1)) && test $n -gt 0 && sleep 0.02 || return 1
	done &&
	kill -TERM $pid && { wait $pid; st=$?; } && test $st -eq 143 &&
	test_jq ".error.message == \"stopped by SIGTERM\"" term.out &&
	audio ap ".teardown == true"
'

test_expect_success 'a FLAC cut short: what is there plays, then exit 6, torn down' '
	gen-wav -f flac -n 44100 whole.flac &&
	head -c $(($(wc -c < whole.flac) * 2 / 3)) whole.flac > cut.flac &&
	test_must_fail 6 timeout $T atv-stream --json cut.flac < ap.json > out 2> err &&
	test $(wc -l < out) -eq 1 && grep -E -q "truncated|unable to decode" err &&
	test_jq ".ok == false and .error.code == \"bad_input\" and .frames > 0" out &&
	audio ap ".teardown == true and .frames > 0"
'

# The cap: 10 MB; under AddressSanitizer (shadow memory, quarantine) 64 MB,
# still far below what reading the 2 GB file into memory would take.
rss_cap=10240
ldd "$(command -v atv-stream)" 2> /dev/null | grep -q libasan && rss_cap=65536

test_expect_success 'a 2 GB WAV (sparse) streams in bounded memory (peak < 10 MB)' '
	python3 -c "
import struct
n = 0x7ffff000
h = b\"RIFF\" + struct.pack(\"<I\", n + 36) + b\"WAVEfmt \" + struct.pack(\"<IHHIIHH\",
    16, 1, 2, 44100, 176400, 4, 16) + b\"data\" + struct.pack(\"<I\", n)
f = open(\"huge.wav\", \"wb\"); f.write(h); f.truncate(n + 44); f.close()
" &&
	{ atv-stream --json huge.wav < ap.json > huge.out 2> huge.err & } &&
	pid=$! && test_atexit "kill $pid 2>/dev/null" && n=300 &&
	until ctl ap audio-state | jq -e ".state == \"recording\" and .packets > 60" > /dev/null; do
		n=$((n - 1)) && test $n -gt 0 && sleep 0.02 || return 1
	done &&
	hwm=$(awk "/^VmHWM:/ { print \$2 }" /proc/$pid/status) &&
	kill -INT $pid && { wait $pid; st=$?; } && test $st -eq 130 &&
	say "peak RSS $hwm kB" && test "$hwm" -lt $rss_cap
'

test_expect_success 'unreachable receiver: exit 3 with a failure line' '
	test_must_fail 3 timeout $T atv-stream --json -t 1 tone.wav < none.json > out 2> err &&
	test_fail_line out && test_jq ".error.code == \"unreachable\"" out
'

test_expect_success 'Apple TV 3 (AirPlay 1): -i ID -s HOST finds it, RAOP, every frame' '
	start_mrp_fake kt $KT "$DEV/kitchen.json" &&
	atv-scan -s $KT > kt.json &&
	id=$(jq -r .identifier kt.json) &&
	timeout $T atv-stream --json -i "$id" -s $KT --title Kitchen tone.wav < /dev/null > st.out 2> st.err &&
	test_jq ".ok and .protocol == \"raop\" and .auth == \"none\"" st.out &&
	same_audio kt tone.sum &&
	audio kt ".title == \"Kitchen\""
'

test_expect_success 'HomePod: AirPlay 2 (transient pairing), every frame' '
	stream hp.json --volume 60 tone.wav &&
	test_jq ".protocol == \"airplay2\" and .auth == \"transient\"" st.out &&
	same_audio hp tone.sum &&
	audio hp ".protocol == \"airplay2\" and .volume == -12 and .title == \"Gen Title\""
'

test_expect_success 'tvOS Apple TV: exit 4 naming atv-pair -p airplay; paired: AirPlay 2' '
	start_mrp_fake dn $DN "$DEV/den.json" &&
	atv-scan -s $DN > dn.json &&
	test_must_fail 4 timeout $T atv-stream --json tone.wav < dn.json > out 2> err &&
	test_fail_line out && grep -q "atv-pair -p airplay" err &&
	test_must_fail 4 timeout $T atv-stream --json -p raop tone.wav < dn.json > out 2> err &&
	test_fail_line out && grep -q "470.*atv-pair -p airplay" err &&
	atv-pair -p airplay --pin 1111 < dn.json > /dev/null &&
	stream dn.json tone.wav &&
	test_jq ".protocol == \"airplay2\" and .auth == \"hap\"" st.out &&
	same_audio dn tone.sum
'

# (every 8th dropped: not the last of 63 packets, which a receiver cannot
# miss without a packet after it)
test_expect_success 'HomePod: a 48 kHz FLAC resampled, dropped packets recovered' '
	gen-wav -f flac -r 48000 -n 24000 t48.flac &&
	ctl hp audio-drop 8 && stream hp.json t48.flac && ctl hp audio-drop 0 &&
	test_jq ".resampled and .retransmits > 0" st.out &&
	audio hp "(.pcm_frames - 22050 | fabs) <= 2 and .recovered == .dropped and .lost == 0"
'

test_expect_success 'a pipe that pauses: the session waits, every frame arrives' '
	gen-wav -f raw-s16le -n 44100 - > pause.pcm && gen-wav -n 44100 pause.wav &&
	gen-wav -s pause.wav > pause.sum &&
	{ cat ap.json; head -c 60000 pause.pcm; sleep 1; tail -c +60001 pause.pcm; } |
		timeout $T atv-stream --json > st.out 2> st.err &&
	test_jq ".ok and .frames == 44100" st.out &&
	same_audio ap pause.sum
'

test_done
