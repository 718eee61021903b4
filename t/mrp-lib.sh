# t/mrp-lib.sh - helpers for the MRP tests (t/0010..0013), sourced after
# t/lib.sh: the fake Apple TV with its MRP server and control channel, and
# waiting on output lines instead of sleeping.
#
#   start_mrp_fake NAME ADDR [DEVICE] [fake-atv ARGS...]
#       start the fake on ADDR with a control socket $TRASH/NAME.ctl
#   ctl NAME COMMAND...      one control command; prints the reply after
#                            "ok "; fails on "error ..."
#   fake_state NAME          the fake's state (JSON)
#   ctl_json_is NAME COMMAND FILTER
#                            a control command's JSON reply satisfies FILTER
#   wait_for_line FILE FILTER [COUNT [TRIES]]
#                            until COUNT lines of FILE match the jq FILTER
#   send_ok CONFIG ARGS...   atv-send < CONFIG, every result ok (send.out)
#   test_jq_all FILTER FILE  every line satisfies FILTER
#   test_jq_sel SELECT FILTER FILE
#                            the lines matching SELECT all satisfy FILTER
#   send CONFIG [OPTION...] COMMAND...
#                            atv-send on CONFIG (send.out, send.err), every
#                            result ok
#   watch NAME CONFIG ARGS...
#                            atv-watch in the background (NAME.out, $wpid)

command -v jq > /dev/null 2>&1 || test_skip_all "jq not found"
command -v python3 > /dev/null 2>&1 || test_skip_all "python3 not found (control channel client)"
command -v timeout > /dev/null 2>&1 || test_skip_all "timeout not found"

DEV=$top_srcdir/t/fake-atv/devices
LR_ID=$(jq -r '.services[] | select(.type == "_mediaremotetv._tcp") | .txt.UniqueIdentifier' \
	"$DEV/livingroom.json")

# Tools must never wait forever in a test: every run is bounded.
T=30

start_mrp_fake() {
	_n=$1 _a=$2
	shift 2
	_d=$DEV/livingroom.json
	case ${1-} in *.json) _d=$1; shift ;; esac
	start_fake "$_n" --device "$_d" --unicast "$_a" --control "$TRASH/$_n.ctl" -v "$@"
}

# A control client: one line out, one line back (python3, as no nc/socat
# can be relied on).
cat > "$TRASH/ctl.py" << 'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
s.sendall((" ".join(sys.argv[2:]) + "\n").encode())
f = s.makefile("r")
line = f.readline().rstrip("\n")
if line == "ok":
    sys.exit(0)
if line.startswith("ok "):
    print(line[3:])
    sys.exit(0)
print(line, file=sys.stderr)
sys.exit(1)
EOF

ctl() {
	_n=$1
	shift
	python3 "$TRASH/ctl.py" "$TRASH/$_n.ctl" "$@"
}

fake_state() { ctl "$1" state; }

# ctl_json_is NAME COMMAND FILTER: the JSON reply of a control command (a
# state dump) satisfies the jq FILTER; shows it when it does not
ctl_json_is() {
	ctl "$1" "$2" > "$TRASH/state.json" || return 1
	jq -e "$3" "$TRASH/state.json" > /dev/null || {
		echo "$2 does not satisfy: $3" >&2
		jq -c . "$TRASH/state.json" >&2
		return 1
	}
}

# ctl_json_soon NAME COMMAND FILTER [TRIES]: ctl_json_is, tried every 0.1 s
# up to TRIES (50) times, for what the fake finishes just after a client
# exits (closing the connection it sees a moment later)
ctl_json_soon() {
	_i=${4:-50}
	while [ "$_i" -gt 1 ]; do
		ctl_json_is "$1" "$2" "$3" 2> /dev/null && return 0
		sleep 0.1
		_i=$((_i - 1))
	done
	ctl_json_is "$1" "$2" "$3"
}

# send_ok CONFIG [OPTION...] COMMAND...: atv-send with the config in file
# CONFIG into send.out and send.err, every result ok (event lines, as
# --wait prints, are not results)
send_ok() {
	_cfg=$1
	shift
	timeout $T atv-send "$@" < "$_cfg" > send.out 2> send.err || {
		cat send.out send.err >&2
		return 1
	}
	jq -e -s "map(select(has(\"ok\"))) | length > 0 and all(.ok)" send.out > /dev/null || {
		cat send.out >&2
		return 1
	}
}

# wait_for_line FILE FILTER [COUNT [TRIES]]: the last line may still be
# being written; jq stops there, having printed the matches before it.
wait_for_line() {
	_f=$1 _flt=$2 _c=${3:-1} _t=${4:-500}
	while [ "$_t" -gt 0 ]; do
		if [ -f "$_f" ]; then
			_got=$(jq -c "select($_flt)" < "$_f" 2> /dev/null | grep -c . || :)
			[ "${_got:-0}" -ge "$_c" ] && return 0
		fi
		sleep 0.02
		_t=$((_t - 1))
	done
	echo "timed out waiting for $_c line(s) of $_f matching: $_flt" >&2
	cat "$_f" >&2
	return 1
}

# test_jq_sel SELECT FILTER FILE: some lines of FILE match SELECT, and all
# of those satisfy FILTER (jq 1.6 -e looks only at the last input line)
test_jq_sel() {
	jq -c "select($1)" "$3" > "$TRASH/sel.out" || return 1
	test -s "$TRASH/sel.out" || {
		echo "no line of $3 matches $1" >&2
		cat "$3" >&2
		return 1
	}
	test_jq "$2" "$TRASH/sel.out"
}

# test_jq_all FILTER FILE: every line of FILE satisfies FILTER (test_jq's
# jq -e decides by the last output only)
test_jq_all() {
	jq -e -s "length > 0 and all(.[]; $1)" "$2" > /dev/null || {
		echo "jq '$1' not true for every line of:" >&2
		cat "$2" >&2
		return 1
	}
}

# wait_for_exit PID: wait for a background job, its status in $rc.
wait_for_exit() {
	wait "$1"
	rc=$?
}

# the MRP service's port from a config on stdin
mrp_port() { jq -r '.services[] | select(.protocol == "mrp") | .port'; }

# send CONFIG [OPTION...] COMMAND...: send_ok by its shorter name
send() { send_ok "$@"; }

# watch NAME CONFIG ARGS...: atv-watch in the background, output in
# NAME.out, its pid in $wpid; killed at exit
watch() {
	_w=$1 _c=$2
	shift 2
	timeout $T atv-watch "$@" < "$_c" > "$_w.out" 2> "$_w.err" &
	wpid=$!
	test_atexit "kill $wpid 2>/dev/null"
}
