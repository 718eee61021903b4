#!/bin/sh
# Hostile or broken input to the tools: invalid UTF-8 in commands, secrets
# in malformed configs, a credentials lock that is never released.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.26.$(($$ % 250 + 1))
LR=$NET.2
mkdir -p -m 700 cfg
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

test_expect_success 'start the fake, scan and pair' '
	start_mrp_fake lr $LR &&
	atv-scan -s $LR > lr.json &&
	atv-pair --pin 1111 < lr.json > /dev/null
'

test_expect_success 'invalid UTF-8 in an argument: exit 2, nothing sent, not echoed' '
	ctl lr volume 5 &&
	bad=$(printf "set_volume=\\377") &&
	test_must_fail 2 timeout $T atv-send set_volume=50 "$bad" < lr.json > out 2> err &&
	test ! -s out &&
	grep -q "^atv-send: command 2 is not valid UTF-8$" err &&
	! grep -q "$(printf "\\377")" err &&
	ctl_json_is lr state ".volume == 5"
'

test_expect_success 'invalid UTF-8 on a stdin line: exit 6 naming the line, the rest run' '
	{ cat lr.json; printf "set_volume=10\\nplay_url=http://h/\\303(\\nset_volume=20\\n"; } > in &&
	test_must_fail 6 timeout $T atv-send < in > out 2> err &&
	test $(wc -l < out) -eq 2 &&
	test_jq ".ok" out &&
	grep -q "^atv-send: line 3: command is not valid UTF-8$" err &&
	test $(wc -l < err) -eq 1 &&
	ctl_json_is lr state ".volume == 20"
'

test_expect_success 'a malformed config never echoes a credential (DMAP GUID)' '
	# a truncated line: jansson would quote the unterminated string
	printf "{\"services\":[{\"protocol\":\"dmap\",\"credentials\":\0420x0123456789ABCDEF\n" > bad.json &&
	test_must_fail 6 atv-send play < bad.json > out 2> err &&
	grep -q "invalid JSON" err &&
	! grep -q 0123456789 err &&
	test_must_fail 6 timeout $T atv-watch < bad.json > out 2> err &&
	! grep -q 0123456789 err out &&
	test_must_fail 6 atv-pair --pin 1111 < bad.json > out 2> err &&
	! grep -q 0123456789 err out
'

test_expect_success 'a stuck lock: -t bounds the wait, the config is printed, exit 7' '
	: > cfg/credentials.lock && chmod 600 cfg/credentials.lock &&
	cp cfg/credentials before || return 1
	flock cfg/credentials.lock sleep 60 &
	lpid=$!
	test_atexit "kill $lpid 2>/dev/null"
	test_must_fail 7 timeout 20 atv-pair -t 1 --pin 1111 < lr.json > out 2> err &&
	kill $lpid &&
	test $(wc -l < out) -eq 1 &&
	creds=$(jq -r ".services[] | select(.protocol == \"mrp\") | .credentials" out) &&
	echo "$creds" | grep -Eq "^[0-9a-f]+:[0-9a-f]+:[0-9a-f]+:[0-9a-f]+$" &&
	grep -q "NOT stored" err &&
	grep -q "timed out" err &&
	! grep -q "$creds" err &&
	test_cmp before cfg/credentials
'

test_expect_success 'every lib/, cli/ and tool source includes banned.h after its headers' '
	for f in "$top_srcdir"/lib/*.c "$top_srcdir"/cli/*.c "$top_srcdir"/atv-*/*.c; do
		last=$(grep "^#include" "$f" | tail -n 1)
		test "$last" = "#include \"banned.h\"" || { echo "$f: $last" >&2; return 1; }
	done
'

test_done
