#!/bin/sh
# bench/mrp.sh BUILDDIR SRCDIR - MRP costs against the fake Apple TV:
#
#   send_cold     a cold `atv-send -i ID -s HOST play`: scan by unicast,
#                 connect, pair-verify, one command (wall time, peak RSS)
#   send_stdin    500 play_pause commands read from stdin over one
#                 connection, reported as commands per second too
#   pair_setup    `atv-pair --pin` from a config: HAP pair-setup (SRP-3072)
#   send_dmap     a cold `atv-send -i ID -s HOST play` over DMAP (Apple TV 3
#                 fake, Home Sharing login from the scan)
#   airplay_play  a cold `atv-send play_url=URL` from a config: connect,
#                 AirPlay pair-verify, the encrypted channel, POST /play and
#                 /playback-info until it plays (the fake loads in 0 ms)
#
# Runs the fake device on 127.0.0.3 (loopback only), pairs once, then times
# each with bench/measure.  Prints one JSON line per measurement on stdout,
# then a table.  Run by `make bench`; BENCH_RUNS overrides the run count
# (BENCH_STDIN_RUNS the runs of the 500-command batch, BENCH_COMMANDS its size).
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILDDIR SRCDIR" >&2
	exit 2
fi
builddir=$1
srcdir=$2
runs=${BENCH_RUNS:-30}
stdin_runs=${BENCH_STDIN_RUNS:-5}
commands=${BENCH_COMMANDS:-500}
host=127.0.0.3
pin=1111
fake=$builddir/t/fake-atv/fake-atv
scan=$builddir/atv-scan/atv-scan
pair=$builddir/atv-pair/atv-pair
send=$builddir/atv-send/atv-send
measure=$builddir/bench/measure
device=$srcdir/t/fake-atv/devices/livingroom.json

die() {
	echo "bench: $*" >&2
	exit 1
}

for f in "$fake" "$scan" "$pair" "$send" "$measure"; do
	[ -x "$f" ] || die "$f is missing; run make first"
done
[ -r "$device" ] || die "$device is missing"
command -v jq > /dev/null 2>&1 || die "jq is needed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/atv-bench.XXXXXX") || die "unable to create a temporary directory"
chmod 700 "$tmp"
fake_pid=
dmap_pid=
cleanup() {
	for p in $fake_pid $dmap_pid; do
		kill "$p" 2> /dev/null
		wait "$p" 2> /dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Our own credentials file: the user's pairings stay out of it.
ATV_CREDENTIALS=$tmp/credentials
export ATV_CREDENTIALS

# the fake's videos start at once, so airplay_play times the protocol
jq '. + {airplay: {loading_ms: 0, duration: 600}}' "$device" > "$tmp/device.json" ||
	die "unable to write the device file"
"$fake" --device "$tmp/device.json" --unicast "$host:5353" --ready-file "$tmp/ready" \
	> "$tmp/fake.log" 2>&1 &
fake_pid=$!

alive() {
	kill -0 "$1" 2> /dev/null || return 1
	[ "$(awk '{ print $3 }' "/proc/$1/stat" 2> /dev/null)" != Z ]
}

# Wait for the ready file, not a fixed time.
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
grep -q '^mrp ' "$tmp/ready" || die "this fake-atv has no MRP server"

"$scan" -s "$host" --json > "$tmp/tv.json" 2> "$tmp/err" || {
	cat "$tmp/err" >&2
	die "the scan of $host failed"
}
id=$(jq -r '.identifier // empty' "$tmp/tv.json")
[ -n "$id" ] || die "the scan found no device with an identifier on $host"
"$pair" --pin "$pin" < "$tmp/tv.json" > /dev/null 2> "$tmp/err" || {
	cat "$tmp/err" >&2
	die "pairing with the fake failed"
}

{
	cat "$tmp/tv.json"
	i=0
	while [ "$i" -lt "$commands" ]; do
		echo play_pause
		i=$((i + 1))
	done
} > "$tmp/batch"

"$measure" -n "$runs" --name send_cold -- "$send" -i "$id" -s "$host" play \
	>> "$tmp/results.jsonl" || die "send_cold failed"
"$measure" -n "$stdin_runs" --name send_stdin --input "$tmp/batch" -- "$send" \
	> "$tmp/stdin.jsonl" || die "send_stdin failed"
jq -c --argjson n "$commands" '. + {commands: $n,
	commands_per_s: (if .median_ms > 0 then ($n * 1000 / .median_ms | floor) else null end)}' \
	"$tmp/stdin.jsonl" >> "$tmp/results.jsonl"
"$measure" -n "$runs" --name pair_setup --input "$tmp/tv.json" -- \
	"$pair" -c "$tmp/pair-credentials" --pin "$pin" >> "$tmp/results.jsonl" ||
	die "pair_setup failed"

# AirPlay: pair once (the fake's PIN), then play a URL from the paired config.
"$pair" -p airplay --pin "$pin" < "$tmp/tv.json" > "$tmp/tv-ap.json" 2> "$tmp/err" || {
	cat "$tmp/err" >&2
	die "airplay pairing with the fake failed"
}
"$measure" -n "$runs" --name airplay_play --input "$tmp/tv-ap.json" -- \
	"$send" play_url=http://127.0.0.1:9/bench.mp4 >> "$tmp/results.jsonl" ||
	die "airplay_play failed"

# DMAP: an Apple TV 3 (the kitchen fake); the scan's Home Sharing id logs in.
dmap_host=127.0.0.4
"$fake" --device "$srcdir/t/fake-atv/devices/kitchen.json" --unicast "$dmap_host:5353" \
	--ready-file "$tmp/dmap.ready" > "$tmp/dmap.log" 2>&1 &
dmap_pid=$!
n=500
while [ ! -s "$tmp/dmap.ready" ]; do
	alive "$dmap_pid" || { cat "$tmp/dmap.log" >&2; die "the DMAP fake exited"; }
	n=$((n - 1))
	[ "$n" -gt 0 ] || die "the DMAP fake did not get ready"
	sleep 0.02
done
dmap_id=$("$scan" -s "$dmap_host" --json | jq -r '.identifier // empty')
[ -n "$dmap_id" ] || die "the scan found no DMAP device on $dmap_host"
"$measure" -n "$runs" --name send_dmap -- "$send" -i "$dmap_id" -s "$dmap_host" play \
	>> "$tmp/results.jsonl" || die "send_dmap failed"

cat "$tmp/results.jsonl"
echo
printf '%-13s %5s %10s %10s %10s %10s %12s %10s\n' name runs median_ms min_ms p90_ms max_ms \
	peak_rss_kb cmds_per_s
jq -r '[.name, .runs, .median_ms, .min_ms, .p90_ms, .max_ms, .peak_rss_kb_max,
	(.commands_per_s // "-")] | @tsv' "$tmp/results.jsonl" |
	while IFS='	' read -r name r med min p90 max rss cps; do
		printf '%-13s %5s %10.3f %10.3f %10.3f %10.3f %12s %10s\n' "$name" "$r" "$med" "$min" \
			"$p90" "$max" "$rss" "$cps"
	done
