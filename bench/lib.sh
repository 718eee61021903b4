# bench/lib.sh - what the bench scripts share; sourced (`. lib.sh`) after
# `set -u`, never run.
#
#   bench_args "$@"       check BUILDDIR SRCDIR, set builddir, srcdir, runs
#                         and the paths fake, scan, measure and device
#   bench_setup PROG...   check that the built programs, the device file and
#                         jq are there, then make the private directory $tmp
#                         (removed at exit, with every fake started)
#   start_fake NAME DEVICE HOST [ARGS...]
#                         start fake-atv for DEVICE on HOST:5353 (loopback
#                         only), wait until it is ready; its ready line is in
#                         $tmp/NAME.ready, its output in $tmp/NAME.log
#   alive PID             the process runs (and is not a zombie)
#   die MESSAGE           print "bench: MESSAGE" and exit 1

die() {
	echo "bench: $*" >&2
	exit 1
}

# The scripts that source this file use what it sets.
# shellcheck disable=SC2034
bench_args() {
	if [ $# -ne 2 ]; then
		echo "usage: $0 BUILDDIR SRCDIR" >&2
		exit 2
	fi
	builddir=$1
	srcdir=$2
	runs=${BENCH_RUNS:-30}
	fake=$builddir/t/fake-atv/fake-atv
	scan=$builddir/atv-scan/atv-scan
	measure=$builddir/bench/measure
	device=$srcdir/t/fake-atv/devices/livingroom.json
}

# the pids start_fake stops at exit
bench_pids=

bench_cleanup() {
	for p in $bench_pids; do
		kill "$p" 2> /dev/null
		wait "$p" 2> /dev/null
	done
	rm -rf "$tmp"
}

bench_setup() {
	for f in "$@"; do
		[ -x "$f" ] || die "$f is missing; run make first"
	done
	[ -r "$device" ] || die "$device is missing"
	command -v jq > /dev/null 2>&1 || die "jq is needed"

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/atv-bench.XXXXXX") ||
		die "unable to create a temporary directory"
	chmod 700 "$tmp"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM HUP

	# The user's own pairings must neither leak into nor slow down the
	# numbers: our own credentials file, which starts as an empty set.
	ATV_CREDENTIALS=$tmp/credentials
	export ATV_CREDENTIALS
}

# Alive and not a zombie: a dead child stays a zombie until the shell
# reaps it, and kill -0 still succeeds on a zombie.
alive() {
	kill -0 "$1" 2> /dev/null || return 1
	[ "$(awk '{ print $3 }' "/proc/$1/stat" 2> /dev/null)" != Z ]
}

start_fake() {
	_name=$1
	_device=$2
	_host=$3
	shift 3
	"$fake" --device "$_device" --unicast "$_host:5353" --ready-file "$tmp/$_name.ready" \
		"$@" > "$tmp/$_name.log" 2>&1 &
	_pid=$!
	bench_pids="$bench_pids $_pid"

	# Wait for the fake to say it is ready, not a fixed time; give up
	# after about 10 s or as soon as it has died.
	_n=500
	while [ ! -s "$tmp/$_name.ready" ]; do
		if ! alive "$_pid"; then
			cat "$tmp/$_name.log" >&2
			die "fake-atv ($_name) exited before it was ready"
		fi
		_n=$((_n - 1))
		if [ "$_n" -le 0 ]; then
			cat "$tmp/$_name.log" >&2
			die "fake-atv ($_name) did not get ready"
		fi
		sleep 0.02
	done
}
