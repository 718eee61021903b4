#!/bin/sh
# t/demo.sh BUILDDIR SRCDIR - `make demo`: start the bundled fake Apple TVs
# on loopback and run the tools against them in real pipelines.
set -eu
B=$1 S=$2
PATH="$B/atv-scan:$B/atv-pair:$B/atv-send:$B/atv-watch:$B/t/fake-atv:$PATH"
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
	fake-atv --device "$S/t/fake-atv/devices/$dev.json" --unicast "127.77.0.$n" \
		--ready-file "$W/$dev.ready" 2> "$W/$dev.log" &
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
HOSTS=127.77.0.2,127.77.0.3,127.77.0.4

show() { printf '\n$ %s\n' "$*"; sh -c "$*"; }

echo "Three fake Apple TVs answer DNS-SD on $HOSTS (loopback only)."
show "atv-scan -s $HOSTS --json | jq -c '{name, identifier, os: .device_info.operating_system, protocols: [.services[] | .protocol + (if .enabled then \"\" else \"(off)\" end)]}'"
ID=$(atv-scan -s 127.77.0.2 --json | jq -r .identifier)
show "atv-scan -s $HOSTS -i $ID --text"
show "atv-scan -s $HOSTS -i $ID --json | jq -r '.services[] | \"\\(.protocol)\\t\\(.port)\\t\\(.identifier)\"'"
