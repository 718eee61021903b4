#!/bin/sh
# Start-up and output plumbing shared by every tool (cli/tool.c, cli/cli.c):
# closed fds 0-2, no core dumps, a reader that goes away, SIGTERM while
# output is blocked, a write error reported once.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.25.$(($$ % 250 + 1))
LR=$NET.2
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

test_expect_success 'start the fake, scan and pair' '
	start_mrp_fake lr $LR &&
	atv-scan -s $LR > lr.json &&
	atv-pair --pin 1111 < lr.json > /dev/null
'

test_expect_success 'atv-send with stdin closed reads no commands from the device socket' '
	timeout $T atv-send -s $LR -i $LR_ID <&- > out 2> err &&
	test ! -s out &&
	test ! -s err
'

test_expect_success 'atv-pair with stdout closed: stored, nothing sent to the device' '
	lines=$(wc -l < lr.log) &&
	timeout $T atv-pair -c creds2 --pin 1111 -s $LR -i $LR_ID >&- 2> err &&
	test ! -s err &&
	test_jq ".protocol == \"mrp\"" creds2 &&
	tail -n +$((lines + 1)) lr.log > log.new &&
	! grep -qi "disconnecting\|error\|bad\|invalid\|hostile" log.new
'

test_expect_success 'no core dump: RLIMIT_CORE is 0 and a crash leaves no core' '
	mkdir -p cores || return 1
	# under AddressSanitizer its own SIGSEGV handler would report and exit 1:
	# let the signal take its default action, as in a normal build
	(cd cores && ulimit -c unlimited &&
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0" \
		exec atv-watch < ../lr.json > ../w1.out 2> ../w1.err) &
	wpid=$!
	test_atexit "kill $wpid 2>/dev/null" &&
	wait_for_line w1.out ".event == \"volume\"" &&
	grep "^Max core file size" /proc/$wpid/limits > limits &&
	grep -q "size *0 *0 " limits &&
	kill -SEGV $wpid &&
	{ wait $wpid; rc=$?; } &&
	test $rc -eq $((128 + 11)) &&
	test -z "$(ls cores)"
'

test_expect_success 'atv-watch | head -1: exit 7 at once, one line on stderr' '
	mkfifo p1 || return 1
	timeout $T atv-watch < lr.json > p1 2> w2.err &
	wpid=$!
	head -n 1 < p1 > first &&
	{ wait $wpid; rc=$?; } &&
	test $rc -eq 7 &&
	test_jq ".event == \"connection\"" first &&
	test $(wc -l < w2.err) -eq 1 &&
	grep -q "^atv-watch: unable to write output: Broken pipe$" w2.err
'

test_expect_success 'a write error is reported once (atv-scan, atv-send > /dev/full)' '
	test_must_fail 7 atv-scan -s $LR > /dev/full 2> err &&
	test $(wc -l < err) -eq 1 &&
	grep -q "unable to write output: No space left on device" err &&
	test_must_fail 7 timeout $T atv-send playing < lr.json > /dev/full 2> err &&
	test $(wc -l < err) -eq 1 &&
	grep -q "unable to write output: No space left on device" err
'

# SIGTERM while atv-watch is blocked writing to a full pipe (4 KiB, and
# playing events with a 1000-character title) must stop it as documented:
# status 0, no "Interrupted system call".
cat > blocked.py << 'PYEOF'
import fcntl, os, signal, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ
p = subprocess.Popen(["atv-watch"], stdin=open("lr.json"), stdout=w,
                     stderr=open("w3.err", "w"))
os.close(w)
title = "T" * 1000
blocked = False
for i in range(200):
    subprocess.run([sys.executable, "ctl.py", "lr.ctl", "set", "title=%s%d" % (title, i)],
                   check=True, stdout=subprocess.DEVNULL)
    with open("/proc/%d/wchan" % p.pid) as f:
        if f.read().strip().endswith("pipe_write"):
            blocked = True
            break
if not blocked:
    print("atv-watch never blocked on the pipe", file=sys.stderr)
    p.kill()
    sys.exit(1)
p.send_signal(signal.SIGTERM)
try:
    rc = p.wait(timeout=10)
except subprocess.TimeoutExpired:
    print("atv-watch did not stop", file=sys.stderr)
    p.kill()
    sys.exit(1)
print(rc)
PYEOF

test_expect_success 'SIGTERM while blocked on a full pipe: exit 0, quietly' '
	(cd "$TRASH" && timeout $T python3 blocked.py > rc) &&
	test "$(cat rc)" = 0 &&
	test ! -s w3.err
'

test_done
