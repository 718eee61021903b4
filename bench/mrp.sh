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
#   companion_power  a cold `atv-send power_state` over Companion from a
#                 config: connect, pair-verify, pyatv's connect sequence
#                 (system info, sessions, interests), FetchAttentionState
#   airplay_play  a cold `atv-send play_url=URL` from a config: connect,
#                 AirPlay pair-verify, the encrypted channel, POST /play and
#                 /playback-info until it plays (the fake loads in 0 ms)
#   send_tunnel   a cold `atv-send -i ID -s HOST play` over MRP through
#                 AirPlay 2 (the tvOS 15+ fake): scan, pair-verify, RTSP SETUP,
#                 event and data channels, the command, its ack, TEARDOWN
#
# Runs the fake device on 127.0.0.3 (loopback only), pairs once, then times
# each with bench/measure.  Prints one JSON line per measurement on stdout,
# then a table.  Run by `make bench`; BENCH_RUNS overrides the run count
# (BENCH_STDIN_RUNS the runs of the 500-command batch, BENCH_COMMANDS its size).
set -u

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_args "$@"
stdin_runs=${BENCH_STDIN_RUNS:-5}
commands=${BENCH_COMMANDS:-500}
host=127.0.0.3
pin=1111
pair=$builddir/atv-pair/atv-pair
send=$builddir/atv-send/atv-send

bench_setup "$fake" "$scan" "$pair" "$send" "$measure"

# the fake's videos start at once, so airplay_play times the protocol
jq '. + {airplay: {loading_ms: 0, duration: 600}}' "$device" > "$tmp/device.json" ||
	die "unable to write the device file"
start_fake fake "$tmp/device.json" "$host"
grep -q '^mrp ' "$tmp/fake.ready" || die "this fake-atv has no MRP server"

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

# Companion: pair once (the fake's PIN), then power_state alone over it.
if grep -q '^companion ' "$tmp/fake.ready"; then
	"$pair" -p companion --pin "$pin" < "$tmp/tv.json" > /dev/null 2> "$tmp/err" || {
		cat "$tmp/err" >&2
		die "companion pairing with the fake failed"
	}
	"$measure" -n "$runs" --name companion_power --input "$tmp/tv.json" -- \
		"$send" -p companion power_state >> "$tmp/results.jsonl" ||
		die "companion_power failed"
fi

# DMAP: an Apple TV 3 (the kitchen fake); the scan's Home Sharing id logs in.
dmap_host=127.0.0.4
start_fake dmap "$srcdir/t/fake-atv/devices/kitchen.json" "$dmap_host"
dmap_id=$("$scan" -s "$dmap_host" --json | jq -r '.identifier // empty')
[ -n "$dmap_id" ] || die "the scan found no DMAP device on $dmap_host"
"$measure" -n "$runs" --name send_dmap -- "$send" -i "$dmap_id" -s "$dmap_host" play \
	>> "$tmp/results.jsonl" || die "send_dmap failed"

# MRP over AirPlay 2 (the tvOS 15+ den fake): pair for AirPlay once, then
# a cold command by id: scan, pair-verify, SETUP, the event and data
# channels, the MRP bring-up, the command and its ack, TEARDOWN.
tunnel_host=127.0.0.5
start_fake tunnel "$srcdir/t/fake-atv/devices/den.json" "$tunnel_host"
"$scan" -s "$tunnel_host" --json > "$tmp/den.json" 2> "$tmp/err" || die "the scan of the den failed"
tunnel_id=$(jq -r '.identifier // empty' "$tmp/den.json")
[ -n "$tunnel_id" ] || die "the scan found no device on $tunnel_host"
"$pair" -p airplay --pin "$pin" < "$tmp/den.json" > /dev/null 2> "$tmp/err" || {
	cat "$tmp/err" >&2
	die "airplay pairing with the den failed"
}
"$measure" -n "$runs" --name send_tunnel -- "$send" -i "$tunnel_id" -s "$tunnel_host" play \
	>> "$tmp/results.jsonl" || die "send_tunnel failed"

cat "$tmp/results.jsonl"
echo
printf '%-15s %5s %10s %10s %10s %10s %12s %10s\n' name runs median_ms min_ms p90_ms max_ms \
	peak_rss_kb cmds_per_s
jq -r '[.name, .runs, .median_ms, .min_ms, .p90_ms, .max_ms, .peak_rss_kb_max,
	(.commands_per_s // "-")] | @tsv' "$tmp/results.jsonl" |
	while IFS='	' read -r name r med min p90 max rss cps; do
		printf '%-15s %5s %10.3f %10.3f %10.3f %10.3f %12s %10s\n' "$name" "$r" "$med" "$min" \
			"$p90" "$max" "$rss" "$cps"
	done
