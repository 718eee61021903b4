#!/bin/sh
# t/demo.sh BUILDDIR SRCDIR - `make demo`: start the bundled fake Apple TVs
# on loopback and run the tools against them in real pipelines.
#
# As root (where unshare works) it runs in a network namespace of its own,
# whose loopback nothing else uses; otherwise on loopback addresses
# 127.77.N.2-4 that nothing listens on yet (N from 0, or from
# ATV_DEMO_NET=127.77.N), so a demo never collides with another demo or a
# test's fake.  ATV_DEMO_NETNS=no forces the second way.
set -eu
B=$1 S=$2
if [ "${ATV_DEMO_NETNS-}" != no ] && [ "${ATV_DEMO_NETNS-}" != inside ] &&
	[ "$(id -u)" = 0 ] && command -v unshare > /dev/null 2>&1 &&
	command -v ip > /dev/null 2>&1 && unshare -n true 2> /dev/null; then
	echo "(in a network namespace of its own: only a loopback, no other fake can be there)"
	exec unshare -n sh -c 'ip link set lo up && ATV_DEMO_NETNS=inside exec sh "$0" "$@"' \
		"$0" "$@"
fi
# in_use PREFIX: something listens on an address PREFIX.*
in_use() { ss -Htanul 2> /dev/null | awk '{ print $5 }' | grep -q "^$1\."; }
NET=127.77.0
if [ "${ATV_DEMO_NETNS-}" != inside ]; then
	n=${ATV_DEMO_NET:-127.77.0} tries=0
	n=${n##*.}
	while in_use "127.77.$n"; do
		tries=$((tries + 1))
		[ $tries -lt 250 ] || { echo "demo: no free 127.77.N.0/24 on loopback" >&2; exit 1; }
		n=$(((n + 1) % 250))
	done
	NET=127.77.$n
fi
PATH="$B/atv-scan:$B/atv-pair:$B/atv-send:$B/atv-watch:$B/atv-stream:$B/t/fake-atv:$B/t/helpers:$PATH"
export PATH
W=$(mktemp -d /tmp/atv-demo.XXXXXX)
chmod 700 "$W"
ATV_CREDENTIALS=$W/credentials
export ATV_CREDENTIALS
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || :; done; rm -rf "$W"; }
trap cleanup EXIT INT TERM

n=2
for dev in livingroom bedroom kitchen; do
	# the control socket lets the demo change what the living room plays
	fake-atv --device "$S/t/fake-atv/devices/$dev.json" --unicast "$NET.$n" \
		--control "$W/$dev.ctl" --ready-file "$W/$dev.ready" 2> "$W/$dev.log" &
	pids="$pids $!"
	n=$((n + 1))
done
for dev in livingroom bedroom kitchen; do
	i=0
	while [ ! -s "$W/$dev.ready" ]; do
		i=$((i + 1)); [ $i -lt 250 ] || { cat "$W/$dev.log" >&2; exit 1; }
		sleep 0.02
	done
done
HOSTS=$NET.2,$NET.3,$NET.4

show() { printf '\n$ %s\n' "$*"; sh -c "$*"; }

echo "Three fake Apple TVs answer DNS-SD on $HOSTS (loopback only)."
show "atv-scan -s $HOSTS --json | jq -c '{name, identifier, os: .device_info.operating_system, protocols: [.services[] | .protocol + (if .enabled then \"\" else \"(off)\" end)]}'"
ID=$(atv-scan -s $NET.2 --json | jq -r .identifier)
show "atv-scan -s $HOSTS -i $ID --text"
show "atv-scan -s $HOSTS -i $ID --json | jq -r '.services[] | \"\\(.protocol)\\t\\(.port)\\t\\(.identifier)\"'"

# ---- MRP: pair, control, watch ----

# ctl COMMAND...: one line to the living room's control socket, its reply back
# (CTL=NAME: another fake's)
ctl() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall((" ".join(sys.argv[2:]) + "\n").encode())
print(s.makefile("r").readline().rstrip("\n"))' "$W/${CTL:-livingroom}.ctl" "$@"
}

# wait_for FILE JQ-FILTER: until a line of FILE matches (at most ~10 s)
wait_for() {
	i=0
	until jq -c "select($2)" < "$1" 2> /dev/null | grep -q .; do
		i=$((i + 1))
		[ $i -lt 500 ] || { echo "demo: timed out waiting for $2" >&2; exit 1; }
		sleep 0.02
	done
}

atv-scan -s $NET.2 -i "$ID" --json > "$W/tv.json"
echo
echo "Pairing over MRP: the fake shows PIN 1111 (a real Apple TV shows it on the screen;"
echo "without --pin, atv-pair asks for it on the terminal)."
show "atv-pair --pin 1111 < $W/tv.json | jq -c '{name, mrp: (.services[] | select(.protocol == \"mrp\") | {port, credentials})}'"
show "jq -c '{identifier, protocol, name, paired}' \"\$ATV_CREDENTIALS\""
show "atv-send play set_volume=30 < $W/tv.json"
show "atv-send playing < $W/tv.json | jq -c '.playing | {title, artist, album, device_state, position}'"
show "printf 'next\nbogus\npause\n' | cat $W/tv.json - | atv-send; echo \"exit status \$?\""

echo
echo "Watching while the demo changes the fake's state through its control socket:"
rm -f "$W/watch.in"
mkfifo "$W/watch.in"
atv-watch --until-eof < "$W/watch.in" > "$W/watch.out" 2> "$W/watch.err" &
watch_pid=$!
pids="$pids $watch_pid"
exec 3> "$W/watch.in"
cat "$W/tv.json" >&3
wait_for "$W/watch.out" '.event == "volume"'
printf '\n$ ctl set title=Demo%%20Song artist=Fake%%20Band; ctl volume 55; ctl power off\n'
ctl set title=Demo%20Song artist=Fake%20Band > /dev/null
wait_for "$W/watch.out" '.event == "playing" and .title == "Demo Song"'
ctl volume 55 > /dev/null
wait_for "$W/watch.out" '.event == "volume" and .volume == 55'
ctl power off > /dev/null
wait_for "$W/watch.out" '.event == "power" and .power_state == "off"'
printf '$ ctl drop; ctl power on     # the connection drops; atv-watch reconnects\n'
ctl drop > /dev/null
wait_for "$W/watch.out" '.event == "connection" and .state == "lost"'
ctl power on > /dev/null
wait_for "$W/watch.out" '.event == "power" and .power_state == "on"'
exec 3>&-
wait "$watch_pid" || { cat "$W/watch.err" >&2; exit 1; }
show "jq -c '{event, time} + (if .event == \"playing\" then {title, device_state, position} elif .event == \"connection\" then {state, message} else del(.event, .time, .device) end)' $W/watch.out"

printf '\nThe Apple TV 3 in the kitchen has no MRP: atv-send uses DMAP, logging in with the\n'
printf 'Home Sharing id its scan announced.\n'
KID=$(atv-scan -s $NET.4 --json | jq -r .identifier)
show "atv-scan -s $NET.4 -i $KID --json | atv-send play playing | jq -c '{command, ok} + (if .playing then {title: .playing.title, state: .playing.device_state} else {} end)'"

# ---- AirPlay: pair, play a video URL and follow it to its end ----

echo
echo "AirPlay: the living room requires pairing (its TXT flags say so). atv-pair asks it"
echo "to show a PIN, pairs over HTTP, and play_url then verifies, encrypts the control"
echo "channel and plays; --wait follows the video until it ends (the fake's lasts 2 s)."
show "atv-scan -s $NET.2 -i $ID --json | jq -c '.services[] | select(.protocol == \"airplay\") | {features, airplay_version, pairing, requires_password}'"
show "atv-pair -p airplay --pin 1111 < $W/tv.json > $W/tv-ap.json && jq -c '{identifier, protocol}' \"\$ATV_CREDENTIALS\""
show "atv-send --wait play_url=http://127.0.0.1:9/big-buck-bunny.mp4 start=0.5 < $W/tv-ap.json | jq -c 'del(.time, .device)'"

# ---- tvOS 15+ and HomePod: MRP through the AirPlay 2 tunnel (the AirPort: audio, below) ----

n=5
for dev in den homepod airport; do
	fake-atv --device "$S/t/fake-atv/devices/$dev.json" --unicast "$NET.$n" \
		--control "$W/$dev.ctl" --ready-file "$W/$dev.ready" 2> "$W/$dev.log" &
	pids="$pids $!"
	i=0
	while [ ! -s "$W/$dev.ready" ]; do
		i=$((i + 1)); [ $i -lt 250 ] || { cat "$W/$dev.log" >&2; exit 1; }
		sleep 0.02
	done
	n=$((n + 1))
done
echo
echo "tvOS 15 and later: the den announces MRP but no longer answers on its port; MRP"
echo "goes through AirPlay 2 instead. Without AirPlay credentials the error says what to do:"
DID=$(atv-scan -s $NET.5 --json | jq -r .identifier)
show "atv-send -i $DID -s $NET.5 play || echo \"exit status \$?\""
echo
echo "Pair for AirPlay once; then every MRP command, playing and atv-watch go through"
echo "the tunnel (RTSP SETUP, an event channel, a data channel, each encrypted):"
show "atv-scan -s $NET.5 -i $DID | atv-pair -p airplay --pin 1111 > /dev/null"
show "atv-send -v -i $DID -s $NET.5 play set_volume=40 playing | jq -c '{command, ok} + (if .playing then {title: .playing.title, state: .playing.device_state} else {} end)'"
echo
echo "A HomePod needs no pairing: the tunnel pairs transiently (PIN 3939) each time."
show "atv-scan -s $NET.6 --json | atv-send set_volume=25 playing | jq -c '{command, ok}'"

# ---- Audio: atv-stream to an AirPort Express (RAOP) and the HomePod (AirPlay 2) ----

atv-scan -s $NET.7 --json > "$W/airport.json"
gen-wav -n 88200 -T "Demo Tone" -A "gen-wav" "$W/tone.wav"
echo
echo "Audio: atv-stream plays a 2 s WAV on an AirPort Express (RAOP, AirPlay 1 audio),"
echo "paced as the receiver plays it, and exits once it has played out:"
show "atv-stream --volume 50 $W/tone.wav < $W/airport.json | jq -c 'del(.input)'"
echo "What the fake received: every frame, the same PCM checksum as the file's, the tags:"
show "gen-wav -s $W/tone.wav | jq -c '{frames, pcm_fnv1a64}'"
printf '\n$ ctl audio-state | jq -c ...       # the fake control socket\n'
CTL=airport ctl audio-state | sed 's/^ok //' |
	jq -c '{protocol, pcm_frames, pcm_fnv1a64, lost, title, artist, volume}'
echo
echo "Raw PCM from a pipe to the HomePod, over AirPlay 2 (transient pairing, every packet"
echo "sealed); the config is the first line, the audio follows it:"
show "{ atv-scan -s $NET.6 --json; gen-wav -f raw-s16le -n 44100 -; } | atv-stream --title 'From a pipe' | jq -c '{ok, protocol, auth, frames, seconds}'"
printf '\n$ ctl audio-state | jq -c ...\n'
CTL=homepod ctl audio-state | sed 's/^ok //' | jq -c '{protocol, pcm_frames, title, teardown}'
