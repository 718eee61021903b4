#!/bin/sh
# The credentials file (atv-credentials(5)) through t/helpers/creds-tool:
# concurrent writers lose nothing, a writer killed mid-update leaves the old
# file intact, files others may read or write are refused, and a corrupt
# file is reported by line and never overwritten.
. "$top_srcdir/t/lib.sh"

F=cfg/atv/credentials

entry() { # entry ID [CREDENTIALS]: one entry line
	printf '{"identifier":"%s","protocol":"mrp","credentials":"%s","name":"Room %s"}\n' \
		"$1" "${2:-cred-$1}" "$1"
}

mode() { stat -c %a "$1"; }

test_expect_success 'store creates the file 0600 and its directories 0700' '
	entry first | creds-tool store $F &&
	test "$(mode $F)" = 600 &&
	test "$(mode cfg/atv)" = 700 &&
	test "$(mode cfg)" = 700 &&
	test "$(creds-tool get $F FIRST mrp)" = cred-first &&
	test_jq ".identifier == \"first\" and .protocol == \"mrp\" and .name == \"Room first\"
		and (.paired | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$\"))" $F
'

test_expect_success 'get of an absent entry fails with status 1' '
	test_must_fail 1 creds-tool get $F first dmap 2>err &&
	grep "^creds-tool: no dmap credentials for first$" err
'

test_expect_success 'remove deletes one entry and absent is fine' '
	entry second | creds-tool store $F &&
	creds-tool remove $F second mrp &&
	creds-tool remove $F second mrp &&
	creds-tool list $F > out &&
	test $(wc -l < out) -eq 1 &&
	test_jq ".identifier == \"first\"" out
'

test_expect_success 'the written lines keep unknown members, in a fixed key order' '
	printf "%s\n" "{\"future\":[1,{\"a\":null}],\"paired\":\"2020-01-01T00:00:00Z\",\"credentials\":\"c\",\"protocol\":\"dmap\",\"identifier\":\"order\"}" |
		creds-tool store $F &&
	grep -Fx "{\"identifier\":\"order\",\"protocol\":\"dmap\",\"credentials\":\"c\",\"paired\":\"2020-01-01T00:00:00Z\",\"future\":[1,{\"a\":null}]}" $F &&
	creds-tool remove $F order dmap
'

test_expect_success '50 concurrent writers: nothing is lost' '
	pids= &&
	for i in $(seq 1 50); do
		entry "par-$i" | creds-tool store $F &
		pids="$pids $!"
	done &&
	failed=0 &&
	for p in $pids; do wait $p || failed=$((failed + 1)); done &&
	test $failed -eq 0 &&
	creds-tool list $F > out &&
	test $(wc -l < out) -eq 51 &&
	jq -c . $F > valid &&
	test $(wc -l < valid) -eq 51 &&
	for i in $(seq 1 50); do
		test "$(creds-tool get $F par-$i mrp)" = "cred-par-$i" || return 1
	done &&
	test "$(mode $F)" = 600 &&
	test "$(mode cfg/atv)" = 700 &&
	test "$(mode $F.lock)" = 600 &&
	! ls $F.tmp.* 2>/dev/null
'

# The paused writer is killed at exit whatever happens (test_atexit), so no
# writer is left holding the lock.
test_expect_success 'a writer killed mid-update leaves the old file intact' '
	cp $F before || return 1
	entry killed | creds-tool store-slow $F > slow.out &
	slow=$!
	test_atexit "kill -9 $slow 2>/dev/null"
	wait_for_file slow.out &&
	test "$(cat slow.out)" = paused &&
	test_cmp before $F &&
	creds-tool list $F > during &&
	test $(wc -l < during) -eq 51 &&
	kill -9 $slow &&
	{ wait $slow; test $? -eq 137; } &&
	test_cmp before $F &&
	jq -c . $F > /dev/null &&
	test_must_fail 1 creds-tool get $F killed mrp 2>/dev/null &&
	ls $F.tmp.* > stray &&
	test $(wc -l < stray) -eq 1
'

test_expect_success 'the next store works and removes the stray temp file' '
	entry after | creds-tool store $F &&
	test "$(creds-tool get $F after mrp)" = cred-after &&
	test $(creds-tool list $F | wc -l) -eq 52 &&
	! ls $F.tmp.* 2>/dev/null
'

test_expect_success 'a writer waits for the lock held by a stopped writer' '
	cp $F before || return 1
	entry stopped | creds-tool store-slow $F > slow2.out &
	slow=$!
	test_atexit "kill -9 $slow 2>/dev/null"
	wait_for_file slow2.out || return 1
	entry waiter | creds-tool store $F &
	waiter=$!
	test_cmp before $F &&
	kill -9 $slow &&
	wait $waiter &&
	test "$(creds-tool get $F waiter mrp)" = cred-waiter &&
	test_must_fail 1 creds-tool get $F stopped mrp 2>/dev/null &&
	test $(creds-tool list $F | wc -l) -eq 53 &&
	! ls $F.tmp.* 2>/dev/null
'

test_expect_success 'a group-readable file is refused (exit 4) and kept' '
	cp $F before &&
	chmod 640 $F &&
	test_must_fail 4 creds-tool list $F 2>err &&
	grep -Fx "creds-tool: credentials file $F is accessible by others (mode 0640); run chmod 600 $F" err &&
	entry new | test_must_fail 4 creds-tool store $F 2>err &&
	grep -F "(mode 0640)" err &&
	test_cmp before $F &&
	chmod 600 $F
'

test_expect_success 'a world-writable file is refused (exit 4)' '
	chmod 602 $F &&
	test_must_fail 4 creds-tool get $F first mrp 2>err &&
	grep -F "is accessible by others (mode 0602); run chmod 600" err &&
	entry new | test_must_fail 4 creds-tool store $F 2>err &&
	chmod 600 $F &&
	test_cmp before $F
'

test_expect_success 'a lock file others may write is refused' '
	chmod 606 $F.lock &&
	entry new | test_must_fail 4 creds-tool store $F 2>err &&
	grep -F "lock file $F.lock is accessible by others" err &&
	chmod 600 $F.lock &&
	test_cmp before $F
'

test_expect_success 'a symbolic link is refused' '
	ln -s ../$F link &&
	test_must_fail 4 creds-tool list link 2>err &&
	grep -F "is a symbolic link" err &&
	entry new | test_must_fail 4 creds-tool store link 2>err &&
	test_cmp before $F
'

test_expect_success 'a corrupt file names the line (exit 4) and is never overwritten' '
	sed "3s/\"protocol\":\"mrp\",//" before > $F &&
	cp $F corrupt &&
	test_must_fail 4 creds-tool list $F 2>err &&
	grep -Fx "creds-tool: credentials file $F line 3: missing \"protocol\"" err &&
	entry new | test_must_fail 4 creds-tool store $F 2>err &&
	grep -F "line 3: missing \"protocol\"" err &&
	test_must_fail 4 creds-tool remove $F first mrp &&
	test_cmp corrupt $F
'

test_expect_success 'invalid JSON names the line and not the secret' '
	{ head -n 4 before; printf "%s\n" "{\"identifier\":\"x\",\"protocol\":\"mrp\",\"credentials\":\"SECRETVALUE"; } > $F &&
	test_must_fail 4 creds-tool list $F 2>err &&
	grep -F "credentials file $F line 5: invalid JSON" err &&
	! grep SECRETVALUE err &&
	entry new | test_must_fail 4 creds-tool store $F &&
	cp before $F
'

test_expect_success 'bad input on stdin is exit 6' '
	echo "{\"identifier\":\"x\"}" | test_must_fail 6 creds-tool store $F 2>err &&
	grep -F "missing \"protocol\"" err &&
	test_must_fail 6 creds-tool store $F < /dev/null &&
	test_must_fail 2 creds-tool store &&
	test_cmp before $F
'

test_done
