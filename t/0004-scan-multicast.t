#!/bin/sh
# atv-scan: multicast scans through avahi-daemon.  Two hosts made of network
# namespaces joined by a veth pair (t/netns.sh): the device lives in A,
# atv-scan and the avahi-daemon it asks live in B, so every answer really
# crosses the link as multicast DNS.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/netns.sh"

netns_check || test_skip_all "$netns_reason"
for c in avahi-publish jq timeout; do
	command -v $c > /dev/null 2>&1 || test_skip_all "$c not found"
done

DEV=$top_srcdir/t/fake-atv/devices

# The published device: an Apple TV 4K on tvOS 14 (MRP still enabled).
ID=6D797FD3-3538-427E-A47B-A32FC6CF3A69
MAC=AA:BB:CC:DD:EE:01
PI=3f2b0c7e-6e8a-4d1b-9c55-2b8f3e9a1d44
PK=4a3cf5d9b2a1e8f7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3

# publish TYPE PORT TXT...: publish "Den TV" through the avahi-daemon in A
# and wait until it is established (netns_down stops it).
publish() {
	_log=$TRASH/publish$1.log
	DBUS_SYSTEM_BUS_ADDRESS=$NETNS_DBUS_A ip netns exec "$NETNS_A" \
		avahi-publish -s "Den TV" "$@" > "$_log" 2>&1 &
	netns_wait_log "$_log" "Established under name" $!
}

# since START: seconds elapsed since START (from date +%s)
since() { echo $(($(date +%s) - $1)); }

if netns_up both; then up=yes; else up=$netns_reason; fi

test_expect_success 'namespaces A and B, avahi-daemon in both' '
	test "$up" = yes || { echo "$up"; false; }
'

test_expect_success 'publish MRP and AirPlay services in A' '
	publish _mediaremotetv._tcp 49152 "ModelName=Apple TV" "AllowPairing=YES" \
		"macAddress=$MAC" "BluetoothAddress=AA:BB:CC:DD:EE:02" "Name=Den TV" \
		"UniqueIdentifier=$ID" "SystemBuildVersion=18M60" \
		"LocalAirPlayReceiverPairingIdentity=$PI" &&
	publish _airplay._tcp 7000 "acl=0" "btaddr=AA:BB:CC:DD:EE:02" "deviceid=$MAC" \
		"features=0x4A7FDFD5,0x3C155FDE" "flags=0x18644" "igl=1" "model=AppleTV6,2" \
		"osvers=14.7" "pi=$PI" "pk=$PK" "protovers=1.1" "srcvers=550.10" "vv=2"
'

test_expect_success 'the device is found from B: one config, both services merged' '
	netns_b atv-scan -t 3 > out &&
	test $(wc -l < out) -eq 1 &&
	test_jq ".identifier == \"$ID\" and .name == \"Den TV\"" out &&
	test_jq ".address == \"$NETNS_ADDR_A\"" out &&
	test_jq ".all_identifiers | index(\"$ID\") and index(\"$MAC\")" out &&
	jq -r "[.services[].protocol] | sort | join(\",\")" out > protos &&
	echo "airplay,mrp" > expect &&
	test_cmp expect protos
'

test_expect_success 'ports, identifiers and TXT properties of each service' '
	test_jq "[.services[] | select(.protocol == \"mrp\")][0] |
		.port == 49152 and .identifier == \"$ID\" and
		.properties.UniqueIdentifier == \"$ID\" and .properties.AllowPairing == \"YES\"" out &&
	test_jq "[.services[] | select(.protocol == \"airplay\")][0] |
		.port == 7000 and .identifier == \"$MAC\" and
		.properties.features == \"0x4A7FDFD5,0x3C155FDE\" and .properties.pk == \"$PK\"" out &&
	test_jq ".device_info.model == \"AppleTV6,2\"" out
'

test_expect_success 'the scan ends when avahi has found everything, not at the timeout' '
	start=$(date +%s) &&
	netns_b timeout 30 atv-scan -t 8 > out &&
	test $(since $start) -lt 6 &&
	test_jq ".identifier == \"$ID\"" out
'

test_expect_success '-i ID finds the device and exits 0 at once' '
	start=$(date +%s) &&
	netns_b timeout 30 atv-scan -t 8 -i "$ID" > out &&
	test $(since $start) -lt 6 &&
	test $(wc -l < out) -eq 1 &&
	test_jq ".identifier == \"$ID\" and .address == \"$NETNS_ADDR_A\"" out
'

test_expect_success '-i matches the AirPlay identifier too, case-insensitively' '
	low=$(echo "$MAC" | tr A-Z a-z) &&
	netns_b timeout 30 atv-scan -t 8 -i "$low" > out &&
	test_jq ".identifier == \"$ID\"" out
'

test_expect_success '-i with an id nobody has exits 3' '
	test_must_fail 3 netns_b timeout 30 atv-scan -t 2 -i NO-SUCH-ID > out 2> err &&
	test_fail_line out &&
	grep -q "NO-SUCH-ID" err
'

# The fake device answers mDNS itself in A, so no avahi-daemon may hold
# port 5353 there: start over with avahi in B only.
netns_down
if netns_up b; then up=yes; else up=$netns_reason; fi
LR_ID=$(jq -r '.services[] | select(.type == "_mediaremotetv._tcp") | .txt.UniqueIdentifier' \
	"$DEV/livingroom.json")

test_expect_success 'namespaces A and B, avahi-daemon in B only' '
	test "$up" = yes || { echo "$up"; false; }
'

test_expect_success 'start the fake device multicasting in A' '
	ip netns exec "$NETNS_A" fake-atv --ready-file "$TRASH/fake.ready" \
		--multicast "$NETNS_ADDR_A" --device "$DEV/livingroom.json" \
		> "$TRASH/fake.log" 2>&1 &
	netns_wait_log "$TRASH/fake.ready" . $! || { cat "$TRASH/fake.log"; false; }
'

test_expect_success 'the fake device is found from B through avahi' '
	netns_b atv-scan -t 3 > out &&
	test $(wc -l < out) -eq 1 &&
	test_jq ".identifier == \"$LR_ID\" and .name == \"Living Room\"" out &&
	test_jq ".address == \"$NETNS_ADDR_A\"" out &&
	jq -r "[.services[].protocol] | sort | join(\",\")" out > protos &&
	echo "airplay,companion,mrp,raop" > expect &&
	test_cmp expect protos
'

test_expect_success '-i finds the fake device and exits 0 at once' '
	start=$(date +%s) &&
	netns_b timeout 30 atv-scan -t 8 -i "$LR_ID" > out &&
	test $(since $start) -lt 6 &&
	test_jq ".identifier == \"$LR_ID\"" out
'

netns_down

test_expect_success 'no avahi-daemon to reach: one clear error line, exit 3, at once' '
	start=$(date +%s) &&
	test_must_fail 3 env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TRASH/no-such-bus" \
		timeout 30 atv-scan -t 8 > out 2> err &&
	test $(since $start) -lt 6 &&
	test_fail_line out &&
	test $(wc -l < err) -eq 1 &&
	grep -q "^atv-scan: .*avahi-daemon" err
'

test_done
