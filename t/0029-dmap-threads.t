#!/bin/sh
# One I/O model, no threads in lib/: atv-watch's DMAP long poll and
# atv-pair's DMAP pairing server run on the tool's own thread (the process
# has one thread while it waits), and libatv.a creates none.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

test -r /proc/self/status || test_skip_all "no /proc"

NET=127.29.$(($$ % 250 + 1))
KI=$NET.3
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

# threads PID: the thread count of PID's only child (the tool under timeout)
threads() {
	set -- $(cat /proc/"$1"/task/"$1"/children)
	awk '$1 == "Threads:" { print $2 }' /proc/"$1"/status
}

# wait_for_grep FILE TEXT
wait_for_grep() {
	_n=500
	while [ "$_n" -gt 0 ] && ! grep -q "$2" "$1" 2> /dev/null; do
		sleep 0.02
		_n=$((_n - 1))
	done
	grep -q "$2" "$1" || { cat "$1" >&2; return 1; }
}

test_expect_success 'start the fake and scan' '
	start_mrp_fake ki $KI "$DEV/kitchen.json" --dmap-port 0 &&
	atv-scan -s $KI > ki.json
'

test_expect_success 'atv-watch over dmap, long poll pending: one thread' '
	timeout $T atv-watch -p dmap < ki.json > w.out 2> w.err &
	wpid=$! &&
	test_atexit "kill $wpid 2>/dev/null" &&
	wait_for_line w.out ".event == \"volume\"" &&
	test "$(threads $wpid)" = 1 &&
	ctl ki set title=Threadless &&
	wait_for_line w.out ".event == \"playing\" and .title == \"Threadless\"" &&
	test "$(threads $wpid)" = 1 &&
	kill $wpid
'

test_expect_success 'atv-pair -p dmap waiting for the device: one thread' '
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TRASH/no-such-bus \
		timeout $T atv-pair -v -p dmap --pin 1234 < ki.json > p.out 2> p.err &
	ppid=$! &&
	test_atexit "kill $ppid 2>/dev/null" &&
	wait_for_grep p.err "enter PIN" &&
	test "$(threads $ppid)" = 1 &&
	kill $ppid
'

test_expect_success 'libatv.a starts no thread' '
	nm -u "$top_builddir/lib/libatv.a" > undef &&
	! grep -w pthread_create undef
'

test_done
