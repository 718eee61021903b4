# t/lib.sh - TAP test helpers in the manner of git's test-lib.
#
#   . "$top_srcdir/t/lib.sh"
#   test_expect_success 'what it checks' 'commands'
#   test_done
#
# Each script gets its own trash directory ($TRASH), removed at the end
# unless a test failed.  The tools, the fake device and test helpers are on
# PATH.  Cleanup commands registered with test_atexit run at exit.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
PATH="$top_builddir/atv-scan:$top_builddir/atv-pair:$top_builddir/atv-send:$top_builddir/atv-watch:$top_builddir/atv-stream:$top_builddir/t/fake-atv:$top_builddir/t/helpers:$top_builddir/bench:$PATH"
export PATH
# Tools must never see the user's real credentials file.
unset XDG_CONFIG_HOME
ATV_CREDENTIALS=
unset ATV_CREDENTIALS

test_name=$(basename "$0" .t)
TRASH="$top_builddir/t/trash.$test_name"
rm -rf "$TRASH"
mkdir -p "$TRASH"
chmod 700 "$TRASH"
HOME="$TRASH/home"
mkdir -p "$HOME"
export HOME
cd "$TRASH" || exit 1

test_count=0
test_failed=0
_atexit=""
test_atexit() { _atexit="$*
$_atexit"; }
_run_atexit() { eval "$_atexit"; }
trap '_run_atexit' EXIT
trap 'exit 130' INT TERM

say() { printf '# %s\n' "$*"; }

test_skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# The body runs in this shell (so start_fake and test_atexit last until the
# script ends), inside a function so that `return 1` ends just the test.
_test_body() { eval "$1"; }

# test_expect_success 'description' 'shell code'
test_expect_success() {
	test_count=$((test_count + 1))
	if _test_body "$2" > "$TRASH/out.$test_count" 2>&1; then
		echo "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		sed 's/^/#   /' "$TRASH/out.$test_count"
	fi
}

# test_skip 'description' 'reason'
test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count - $1 # SKIP $2"
}

# test_must_fail [status] command...: the command must fail (with status if given)
test_must_fail() {
	_want=""
	case "$1" in [0-9]*) _want=$1; shift ;; esac
	"$@"
	_got=$?
	if [ "$_got" -eq 0 ]; then
		echo "test_must_fail: '$*' succeeded" >&2
		return 1
	fi
	if [ "$_got" -gt 128 ]; then
		echo "test_must_fail: '$*' died by signal $((_got - 128))" >&2
		return 1
	fi
	if [ -n "$_want" ] && [ "$_got" -ne "$_want" ]; then
		echo "test_must_fail: '$*' exited $_got, expected $_want" >&2
		return 1
	fi
	return 0
}

# test_cmp expect actual
test_cmp() { diff -u "$1" "$2"; }

# test_jq 'filter' file: the jq filter must be true for every line of file
# (and the file must hold at least one line); jq -e alone would only judge
# the last output.
test_jq() {
	jq -e -s "length > 0 and all(.[]; $1)" "$2" > /dev/null ||
		{ echo "jq '$1' false for:" >&2; cat "$2" >&2; return 1; }
}

# test_fail_line FILE: FILE is the one line a tool leaves on stdout when it
# fails: {"ok":false,"error":{"code":...}} (atv-watch: a "closed" event)
test_fail_line() {
	test "$(wc -l < "$1")" -eq 1 &&
		jq -e '(.ok == false and (.error.code | type) == "string") or
			(.event == "connection" and .state == "closed")' "$1" > /dev/null ||
		{ echo "not one failure line:" >&2; cat "$1" >&2; return 1; }
}

# wait_for_file FILE [tries]: wait until FILE exists and is not empty
wait_for_file() {
	_n=${2:-200}
	while [ "$_n" -gt 0 ]; do
		[ -s "$1" ] && return 0
		sleep 0.02
		_n=$((_n - 1))
	done
	echo "timed out waiting for $1" >&2
	return 1
}

# start_fake NAME ARGS...: start t/fake-atv in the background, wait until it
# says it is ready (it writes its ready line to NAME.ready), and stop it at exit.
start_fake() {
	_name=$1; shift
	fake-atv --ready-file "$TRASH/$_name.ready" "$@" > "$TRASH/$_name.log" 2>&1 &
	eval "FAKE_PID_$_name=$!"
	test_atexit "kill $! 2>/dev/null; wait $! 2>/dev/null"
	wait_for_file "$TRASH/$_name.ready" || { cat "$TRASH/$_name.log" >&2; return 1; }
}

test_done() {
	echo "1..$test_count"
	if [ "$test_failed" -eq 0 ]; then
		cd "$top_builddir" && rm -rf "$TRASH"
		exit 0
	fi
	exit 1
}
