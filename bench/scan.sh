#!/bin/sh
# bench/scan.sh BUILDDIR SRCDIR - how long a unicast scan of the fake Apple TV
# takes, with and without --id, and how much memory atv-scan needs for it.
#
# Runs the fake device on 127.0.0.2 (loopback only, nothing leaves the
# machine), asks it once for its identifier, then times 30 scans of each
# kind with bench/measure.  Prints one JSON line per measurement on stdout,
# then a table.  Run by `make bench`; BENCH_RUNS overrides the run count.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILDDIR SRCDIR" >&2
	exit 2
fi
builddir=$1
srcdir=$2
runs=${BENCH_RUNS:-30}
host=127.0.0.2
fake=$builddir/t/fake-atv/fake-atv
scan=$builddir/atv-scan/atv-scan
measure=$builddir/bench/measure
device=$srcdir/t/fake-atv/devices/livingroom.json

die() {
	echo "bench: $*" >&2
	exit 1
}

for f in "$fake" "$scan" "$measure"; do
	[ -x "$f" ] || die "$f is missing; run make first"
done
[ -r "$device" ] || die "$device is missing"
command -v jq > /dev/null 2>&1 || die "jq is needed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/atv-bench.XXXXXX") || die "unable to create a temporary directory"
fake_pid=
cleanup() {
	if [ -n "$fake_pid" ]; then
		kill "$fake_pid" 2> /dev/null
		wait "$fake_pid" 2> /dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The user's own pairings must neither leak into nor slow down the numbers:
# point every scan at a credentials file that does not exist (an empty set).
ATV_CREDENTIALS=$tmp/credentials
export ATV_CREDENTIALS

"$fake" --device "$device" --unicast "$host:5353" --ready-file "$tmp/ready" \
	> "$tmp/fake.log" 2>&1 &
fake_pid=$!

# Alive and not a zombie: a dead child stays a zombie until the shell
# reaps it, and kill -0 still succeeds on a zombie.
alive() {
	kill -0 "$1" 2> /dev/null || return 1
	[ "$(awk '{ print $3 }' "/proc/$1/stat" 2> /dev/null)" != Z ]
}

# Wait for the fake to say it is ready, not a fixed time; give up after
# about 10 s or as soon as it has died.
n=500
while [ ! -s "$tmp/ready" ]; do
	if ! alive "$fake_pid"; then
		cat "$tmp/fake.log" >&2
		die "fake-atv exited before it was ready"
	fi
	n=$((n - 1))
	if [ "$n" -le 0 ]; then
		cat "$tmp/fake.log" >&2
		die "fake-atv did not get ready"
	fi
	sleep 0.02
done

"$scan" -s "$host" --json > "$tmp/first.jsonl" 2> "$tmp/first.err" || {
	cat "$tmp/first.err" >&2
	die "the first scan of $host failed"
}
id=$(jq -r '.identifier // empty' "$tmp/first.jsonl" | head -n 1)
[ -n "$id" ] || die "the first scan found no device with an identifier on $host"

"$measure" -n "$runs" --name scan_by_id -- "$scan" -s "$host" -i "$id" \
	>> "$tmp/results.jsonl" || die "scan_by_id failed"
"$measure" -n "$runs" --name scan_unicast -- "$scan" -s "$host" \
	>> "$tmp/results.jsonl" || die "scan_unicast failed"

cat "$tmp/results.jsonl"
echo
printf '%-14s %5s %10s %10s %10s %10s %12s\n' name runs median_ms min_ms p90_ms max_ms peak_rss_kb
jq -r '[.name, .runs, .median_ms, .min_ms, .p90_ms, .max_ms, .peak_rss_kb_max] | @tsv' \
	"$tmp/results.jsonl" |
	while IFS='	' read -r name r med min p90 max rss; do
		printf '%-14s %5s %10.3f %10.3f %10.3f %10.3f %12s\n' "$name" "$r" "$med" "$min" "$p90" \
			"$max" "$rss"
	done
