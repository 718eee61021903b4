#!/bin/sh
# bench/stream.sh BUILDDIR SRCDIR - what atv-stream costs while it plays,
# against the fake's AirPort Express (RAOP) and HomePod (AirPlay 2):
#
#   stream_raop      a 60 s 44.1 kHz WAV over RAOP (uncompressed ALAC)
#   stream_airplay2  the same over AirPlay 2 (every packet sealed)
#   stream_resample  a 60 s 48 kHz FLAC over RAOP, resampled to 44.1 kHz
#
# For each: CPU time (user + system) per second of audio, as a share of one
# core, and peak RSS (bench/measure); and the fake's arrival drift: how
# late the last packet came against its RTP time (drift_ms), the most one
# came early (max_ahead_ms, a burst) or late (max_late_ms).  Prints one
# JSON line per measurement, then a table.  Run by `make bench`;
# BENCH_STREAM_SECONDS sets the length (60), BENCH_STREAM_RUNS the runs (1).
set -u

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_args "$@"
seconds=${BENCH_STREAM_SECONDS:-60}
sruns=${BENCH_STREAM_RUNS:-1}
ap_host=127.0.0.6
hp_host=127.0.0.7
stream=$builddir/atv-stream/atv-stream
genwav=$builddir/t/helpers/gen-wav

bench_setup "$fake" "$scan" "$stream" "$measure" "$genwav"
command -v python3 > /dev/null 2>&1 || die "python3 is needed (the fake's control socket)"

# ctl NAME COMMAND...: one line to the fake's control socket, its reply
ctl() {
	python3 - "$tmp/$1.ctl" "$2" << 'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
line = s.makefile("r").readline().rstrip("\n")
if not line.startswith("ok "):
    sys.exit("bench: control: " + line)
print(line[3:])
PY
}

start_fake ap "$srcdir/t/fake-atv/devices/airport.json" "$ap_host" --control "$tmp/ap.ctl"
start_fake hp "$srcdir/t/fake-atv/devices/homepod.json" "$hp_host" --control "$tmp/hp.ctl"
"$scan" -s "$ap_host" --json > "$tmp/ap.json" || die "the scan of $ap_host failed"
"$scan" -s "$hp_host" --json > "$tmp/hp.json" || die "the scan of $hp_host failed"

"$genwav" -n $((seconds * 44100)) "$tmp/a.wav" || die "gen-wav failed"
"$genwav" -f flac -r 48000 -n $((seconds * 48000)) "$tmp/a48.flac" || die "gen-wav failed"

# one NAME DEVICE FILE: measure atv-stream FILE < DEVICE.json, add the
# CPU share and the fake's drift, check that every frame arrived
one() {
	"$measure" -n "$sruns" --name "$1" --input "$tmp/$2.json" -- "$stream" "$tmp/$3" \
		> "$tmp/m.json" || die "$1 failed"
	ctl "$2" audio-state > "$tmp/state.json" || die "no audio-state from $2"
	jq -e --argjson s "$seconds" '.pcm_frames >= $s * 44100 - 2 and .lost == 0' \
		"$tmp/state.json" > /dev/null || die "$1: the fake did not get every frame"
	jq -c -s --argjson s "$seconds" '.[0] + {seconds: $s,
		cpu_pct: (.[0].cpu_ms_median / ($s * 10) * 1000 | round / 1000),
		drift_ms: .[1].drift_ms, max_ahead_ms: .[1].max_ahead_ms,
		max_late_ms: .[1].max_late_ms}' "$tmp/m.json" "$tmp/state.json" \
		>> "$tmp/results.jsonl"
}

one stream_raop ap a.wav
one stream_airplay2 hp a.wav
one stream_resample ap a48.flac

cat "$tmp/results.jsonl"
echo
printf '%-16s %7s %9s %9s %12s %9s %12s %11s\n' name seconds cpu_ms cpu_pct peak_rss_kb \
	drift_ms max_ahead_ms max_late_ms
jq -r '[.name, .seconds, .cpu_ms_median, .cpu_pct, .peak_rss_kb_max, .drift_ms,
	.max_ahead_ms, .max_late_ms] | @tsv' "$tmp/results.jsonl" |
	while IFS='	' read -r name s cpu pct rss drift ahead late; do
		printf '%-16s %7s %9.1f %9.3f %12s %9.3f %12.3f %11.3f\n' "$name" "$s" "$cpu" \
			"$pct" "$rss" "$drift" "$ahead" "$late"
	done
