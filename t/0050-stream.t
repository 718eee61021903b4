#!/bin/sh
# atv-stream: options, and hostile input refused with its status before
# any receiver is contacted (a cut WAV, a lying header, a pipe given as a
# file, a bad --format, artwork that is no picture, an empty password).
. "$top_srcdir/t/lib.sh"

NET=127.50.$(($$ % 250 + 1))
NONE=$NET.9
T=${T:-20}

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

test_done
