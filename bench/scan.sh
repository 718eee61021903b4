#!/bin/sh
# bench/scan.sh BUILDDIR SRCDIR - how long a unicast scan of the fake Apple TV
# takes, with and without --id, and how much memory atv-scan needs for it.
#
# Runs the fake device on 127.0.0.2 (loopback only, nothing leaves the
# machine), asks it once for its identifier, then times 30 scans of each
# kind with bench/measure.  Prints one JSON line per measurement on stdout,
# then a table.  Run by `make bench`; BENCH_RUNS overrides the run count.
set -u

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_args "$@"
host=127.0.0.2

bench_setup "$fake" "$scan" "$measure"
start_fake fake "$device" "$host"

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
