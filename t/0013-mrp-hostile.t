#!/bin/sh
# Hostile MRP frames from the fake Apple TV (control command `hostile MODE`)
# while atv-send and atv-watch are connected: exit 5, or for a well-formed
# message of an unknown type, ignore it and go on.  Never a crash, a hang
# (every run is under timeout) or a sanitizer report.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.13.$(($$ % 250 + 1))
LR=$NET.2
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

test_expect_success 'start the fake, scan and pair' '
	start_mrp_fake lr $LR &&
	atv-scan -s $LR > lr.json &&
	atv-pair --pin 1111 < lr.json > /dev/null
'

# watch_hostile MODE: atv-watch connected, then MODE; a push afterwards
# completes a truncated frame.  Exit status in $rc, output in MODE.wout.
watch_hostile() {
	timeout $T atv-watch < lr.json > "$1.wout" 2> "$1.werr" &
	wpid=$!
	wait_for_line "$1.wout" ".event == \"volume\"" || return 1
	ctl lr hostile "$1" || return 1
	ctl lr set title=After%20$1 || return 1
	if [ "$1" = unknown-type ]; then
		wait_for_line "$1.wout" ".event == \"playing\" and .title == \"After $1\"" || return 1
		kill -TERM $wpid
	fi
	wait_for_exit $wpid
}

# send_hostile MODE: atv-send connected and idle between two commands read
# from a pipe, then MODE, then one more command.
send_hostile() {
	rm -f "$1.fifo" && mkfifo "$1.fifo" || return 1
	timeout $T atv-send < "$1.fifo" > "$1.sout" 2> "$1.serr" &
	spid=$!
	exec 3> "$1.fifo"
	cat lr.json >&3
	echo pause >&3
	wait_for_line "$1.sout" ".command == \"pause\"" || { exec 3>&-; return 1; }
	ctl lr hostile "$1" || { exec 3>&-; return 1; }
	# the tool may already have gone: writing to the pipe must not kill us
	(echo play >&3) 2> /dev/null
	exec 3>&-
	wait_for_exit $spid
}

for mode in huge-varint truncated bad-ciphertext garbage-protobuf; do
	test_expect_success "atv-watch: $mode exits 5 with the connection closed" '
		watch_hostile $mode &&
		test $rc -eq 5 &&
		tail -n 1 $mode.wout > last &&
		test_jq ".event == \"connection\" and .state == \"closed\"" last &&
		test $(wc -l < $mode.werr) -ge 1 &&
		! grep -qi "sanitizer\|runtime error" $mode.werr
	'
	test_expect_success "atv-send: $mode exits 5" '
		send_hostile $mode &&
		test $rc -eq 5 &&
		! grep -qi "sanitizer\|runtime error" $mode.serr &&
		! grep -q "\"command\":\"play\",\"ok\":true" $mode.sout
	'
done

test_expect_success 'atv-watch: an unknown message type is ignored' '
	watch_hostile unknown-type &&
	test $rc -eq 0 &&
	! grep -qi "sanitizer\|runtime error" unknown-type.werr
'

test_expect_success 'atv-send: an unknown message type is ignored' '
	send_hostile unknown-type &&
	test $rc -eq 0 &&
	jq -r .command unknown-type.sout > got &&
	printf "pause\nplay\n" > want &&
	test_cmp want got &&
	test_jq_all ".ok" unknown-type.sout
'

test_expect_success 'the fake is still fine after all that' '
	atv-send playing < lr.json > out &&
	test_jq ".ok" out
'

test_done
