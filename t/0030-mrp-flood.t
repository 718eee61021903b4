#!/bin/sh
# A device that never stops sending valid MRP messages, none of them the
# reply we wait for (frames 02 08 01 forever), must not keep atv-send,
# atv-pair or atv-watch past -t: each wait has a deadline, whatever
# arrives.  The peer is a small test-local server on loopback, since the
# flood must go on for as long as the tool waits:
#   flood  floods as soon as the tool has sent anything (DEVICE_INFO waits)
#   echo   answers DEVICE_INFO with the tool's own (a valid reply), then
#          floods after the next message (pair-setup and pair-verify waits)
. "$top_srcdir/t/lib.sh"

command -v python3 > /dev/null 2>&1 || test_skip_all "python3 not found (the flooding peer)"
command -v timeout > /dev/null 2>&1 || test_skip_all "timeout not found"

# -t for the tools, and how much later than it they may end (ms): a loaded
# 2-core machine; without a deadline they would run until `timeout`.
TOOL_T=1
SLACK_MS=3000

cat > "$TRASH/flood.py" << 'EOF'
import os, socket, sys, threading
mode, portfile = sys.argv[1], sys.argv[2]
FLOOD = b"\x02\x08\x01" * 4096
def frame(c):
    n = shift = 0
    hdr = b""
    while True:
        b = c.recv(1)
        if not b or len(hdr) == 10:
            return None
        hdr += b
        n |= (b[0] & 0x7f) << shift
        shift += 7
        if not b[0] & 0x80:
            break
    body = b""
    while len(body) < n:
        k = c.recv(n - len(body))
        if not k:
            return None
        body += k
    return hdr + body
def serve(c):
    try:
        f = frame(c)
        if f and mode == "echo":
            c.sendall(f)
            f = frame(c)
        while f:
            c.sendall(FLOOD)
    except OSError:
        pass
    c.close()
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF

# syntactically valid credentials the peer never gets to check
CREDS=$(python3 -c 'print("11" * 32 + ":" + "22" * 32 + ":" + "41" * 8 + ":" + "42" * 8)')
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# start_peer MODE: the server, and MODE.json a config for it.  The config
# has no identifier, so no rescan follows the timeout (that would be a
# second wait of -t, measured elsewhere).
start_peer() {
	python3 "$TRASH/flood.py" "$1" "$TRASH/$1.port" 2> "$TRASH/$1.log" &
	test_atexit "kill $! 2>/dev/null; wait $! 2>/dev/null"
	wait_for_file "$TRASH/$1.port" || return 1
	printf '{"name":"Flood","address":"127.0.0.1","services":[{"protocol":"mrp","port":%s,"credentials":"%s"}]}\n' \
		"$(cat "$TRASH/$1.port")" "$CREDS" > "$1.json"
}

# flood_run MODE TOOL ARGS...: run TOOL on MODE's peer; it must exit 3
# ("did not answer ... within") no later than -t and the slack.
flood_run() {
	_cfg=$1.json
	shift
	_s=$(now_ms)
	timeout -k 2 10 "$@" -t $TOOL_T < "$_cfg" > out 2> err
	_rc=$?
	_took=$(($(now_ms) - _s))
	echo "exit $_rc after $_took ms" >&2
	cat err >&2
	test $_rc -eq 3 &&
	test $_took -ge $((TOOL_T * 1000 - 50)) &&
	test $_took -le $((TOOL_T * 1000 + SLACK_MS)) &&
	test $(wc -l < err) -eq 1 &&
	grep -q "did not answer .* within $TOOL_T.0 s" err
}

test_expect_success 'start the flooding peers' '
	start_peer flood &&
	start_peer echo
'

for mode in flood echo; do
	test_expect_success "atv-send: a flood ($mode) ends at -t, exit 3" '
		flood_run $mode atv-send play &&
		test_fail_line out
	'
	test_expect_success "atv-pair: a flood ($mode) ends at -t, exit 3" '
		flood_run $mode atv-pair --pin 1111 &&
		test_fail_line out &&
		! test -e "$ATV_CREDENTIALS"
	'
	test_expect_success "atv-watch: a flood ($mode) ends at -t, exit 3" '
		flood_run $mode atv-watch
	'
done

test_expect_success 'the waits named what went unanswered' '
	flood_run flood atv-send play && grep -q "did not answer DEVICE_INFO" err &&
	flood_run echo atv-pair --pin 1111 && grep -q "did not answer pairing" err
'

test_done
