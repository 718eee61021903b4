#!/bin/sh
# atv-scan: unicast scans against the fake Apple TV on loopback.
. "$top_srcdir/t/lib.sh"

DEV=$top_srcdir/t/fake-atv/devices
txt() { # txt DEVICE TYPE KEY: a TXT value from a fake device file
	jq -r --arg t "$2" --arg k "$3" '.services[] | select(.type == $t) | .txt[$k]' "$DEV/$1.json"
}
LR_ID=$(txt livingroom _mediaremotetv._tcp UniqueIdentifier)
LR_MAC=$(txt livingroom _airplay._tcp deviceid)
BR_ID=$(txt bedroom _mediaremotetv._tcp UniqueIdentifier)

# this script's own loopback addresses, so scripts can run in parallel
LR=127.1.0.2 BR=127.1.0.3 KI=127.1.0.4 SL=127.1.0.5 BAD=127.1.0.6 NONE=127.1.0.9

test_expect_success 'start fake devices' '
	start_fake lr --device "$DEV/livingroom.json" --unicast $LR &&
	start_fake br --device "$DEV/bedroom.json" --unicast $BR &&
	start_fake ki --device "$DEV/kitchen.json" --unicast $KI &&
	start_fake sl --device "$DEV/livingroom.json" --unicast $SL --sleeping
'

test_expect_success 'one device: one JSON config line' '
	atv-scan -s $LR > out &&
	test $(wc -l < out) -eq 1 &&
	test_jq ".identifier == \"$LR_ID\" and .address == \"$LR\" and .name == \"Living Room\"" out &&
	test_jq ".all_identifiers | index(\"$LR_ID\") and index(\"$LR_MAC\")" out &&
	test_jq ".deep_sleep == false" out
'

test_expect_success 'services of the device are merged into one config' '
	jq -r "[.services[].protocol] | sort | join(\",\")" out > protos &&
	echo "airplay,companion,mrp,raop" > expect &&
	test_cmp expect protos &&
	test_jq "[.services[] | select(.protocol == \"mrp\")][0] | .port == 49152 and .enabled and .identifier == \"$LR_ID\"" out
'

test_expect_success 'TXT records are parsed into properties' '
	for k in $(jq -r ".services[] | select(.type == \"_airplay._tcp\") | .txt | keys[]" "$DEV/livingroom.json"); do
		want=$(txt livingroom _airplay._tcp "$k") &&
		got=$(jq -r --arg k "$k" ".services[] | select(.protocol == \"airplay\") | .properties[\$k]" out) &&
		test "$want" = "$got" || { echo "airplay TXT $k: want [$want] got [$got]"; return 1; }
	done
'

test_expect_success 'device_info comes from the TXT records' '
	model=$(txt livingroom _airplay._tcp model) &&
	test_jq ".device_info.model == \"$model\" and .device_info.operating_system == \"tvos\"" out &&
	test_jq ".device_info.mac == (\"$LR_MAC\" | ascii_upcase)" out
'

test_expect_success 'the AirPlay service shows what its TXT record says' '
	# AppleTV6,2: features 0x4A7FDFD5,0xBC157FDE (bits 38 and 48), flags 0x244 (0x200)
	pi=$(txt livingroom _airplay._tcp pi) &&
	test_jq "[.services[] | select(.protocol == \"airplay\")][0] |
		.features == \"0xBC157FDE4A7FDFD5\" and .airplay_version == 2 and
		.pairing == \"mandatory\" and .requires_password == false and
		.pairing_identity == \"$pi\"" out &&
	jq -c "[.services[] | select(.protocol == \"airplay\")][0] | keys_unsorted" out > keys &&
	echo "[\"protocol\",\"port\",\"identifier\",\"credentials\",\"enabled\",\"properties\",\"features\",\"airplay_version\",\"pairing\",\"requires_password\",\"pairing_identity\"]" > expect &&
	test_cmp expect keys &&
	# AppleTV3,2: features 0x5A7FFFF7,0x1E, flags 0x44: AirPlay 1, no pairing
	pi=$(txt kitchen _airplay._tcp pi) &&
	atv-scan -s $KI > ki &&
	test_jq "[.services[] | select(.protocol == \"airplay\")][0] |
		.features == \"0x0000001E5A7FFFF7\" and .airplay_version == 1 and
		.pairing == \"not_needed\" and .requires_password == false and
		.pairing_identity == \"$pi\"" ki &&
	test_jq "[.services[] | select(.protocol != \"airplay\") | has(\"features\")] | any | not" out
'

test_expect_success 'malformed AirPlay features: no facts, but the device is listed' '
	jq ".services |= map(if .type == \"_airplay._tcp\" then .txt.features = \"0x5A7FFFF7,1E\" else . end)" \
		"$DEV/kitchen.json" > bad.json &&
	start_fake bad --device bad.json --unicast $BAD &&
	atv-scan -s $BAD > bad &&
	test_jq "[.services[] | select(.protocol == \"airplay\")][0] |
		.properties.features == \"0x5A7FFFF7,1E\" and
		(has(\"features\") or has(\"airplay_version\") or has(\"pairing\") or
		 has(\"requires_password\") or has(\"pairing_identity\") | not)" bad
'

test_expect_success 'several hosts are asked in parallel and the scan ends when all answered' '
	timeout 10 atv-scan -t 30 -s $LR,$BR,$KI > out3 &&
	test $(wc -l < out3) -eq 3 &&
	test $(jq -r .identifier out3 | sort -u | wc -l) -eq 3
'

test_expect_success '--id prints only that device and exits as soon as it is found' '
	timeout 10 atv-scan -t 30 -s $NONE,$LR,$BR -i $BR_ID > out &&
	test $(wc -l < out) -eq 1 &&
	test_jq ".identifier == \"$BR_ID\"" out
'

test_expect_success '--id matches any identifier, case-insensitively' '
	low=$(echo "$LR_MAC" | tr A-Z a-z) &&
	atv-scan -s $LR,$BR -i "$low" > out &&
	test_jq ".identifier == \"$LR_ID\"" out
'

test_expect_success 'a missing id exits 3 after the timeout' '
	test_must_fail 3 atv-scan -t 0.3 -s $LR -i NO-SUCH-ID > out 2> err &&
	test_fail_line out &&
	grep -q "NO-SUCH-ID not found" err
'

test_expect_success 'a silent host: nothing found exits 1' '
	test_must_fail 1 atv-scan -t 0.3 -s $NONE > out &&
	test ! -s out
'

test_expect_success 'tvOS 15+ MRP is kept but disabled' '
	atv-scan -s $BR > out &&
	test_jq "[.services[] | select(.protocol == \"mrp\")][0].enabled == false" out &&
	test_jq ".identifier == \"$BR_ID\"" out
'

test_expect_success 'Apple TV 3: DMAP identifier, Home Sharing credentials, legacy OS' '
	atv-scan -s $KI > out &&
	dmap_id=$(jq -r ".services[] | select(.type == \"_touch-able._tcp\") | .name" "$DEV/kitchen.json") &&
	hg=$(txt kitchen _appletv-v2._tcp hG) &&
	test_jq ".identifier == \"$dmap_id\"" out &&
	test_jq "[.services[] | select(.protocol == \"dmap\")][0].credentials == \"$hg\"" out &&
	test_jq ".device_info.operating_system == \"legacy\"" out
'

test_expect_success 'a sleeping device (sleep proxy, port 0) is marked deep_sleep' '
	atv-scan -s $SL > out &&
	test_jq ".deep_sleep == true" out
'

test_expect_success 'credentials from the credentials file: only with --with-credentials' '
	mkdir -p -m 700 cfg &&
	printf "{\"identifier\":\"%s\",\"protocol\":\"mrp\",\"credentials\":\"aa:bb:cc:dd\"}\n" "$LR_MAC" > cfg/creds &&
	chmod 600 cfg/creds &&
	atv-scan -c cfg/creds -s $LR > out &&
	test_jq "all(.services[]; .credentials == null)" out &&
	! grep -q aa:bb:cc:dd out &&
	atv-scan --text -c cfg/creds -s $LR > out &&
	grep -q "MRP .*credentials: yes" out &&
	! grep -q aa:bb:cc:dd out &&
	atv-scan --with-credentials -c cfg/creds -s $LR > out &&
	test_jq "[.services[] | select(.protocol == \"mrp\")][0].credentials == \"aa:bb:cc:dd\"" out &&
	test_jq "[.services[] | select(.protocol == \"airplay\")][0].credentials == null" out &&
	ATV_CREDENTIALS=cfg/creds atv-scan --with-credentials -s $LR > out2 &&
	test_cmp out out2 &&
	mkdir -p home/.config/atv && cp cfg/creds home/.config/atv/credentials &&
	atv-scan --with-credentials -s $LR > out3 &&
	test_cmp out out3
'

test_expect_success 'a credentials file others can read is refused (exit 4)' '
	chmod 640 cfg/creds &&
	test_must_fail 4 atv-scan -c cfg/creds -s $LR > out 2> err &&
	grep -q "chmod 600" err &&
	test $(wc -l < err) -eq 1
'

test_expect_success '--text prints a human summary' '
	atv-scan --text -s $LR > out &&
	grep -q "Name: Living Room" out &&
	grep -q "$LR_ID" out &&
	grep -qi "mrp.*49152" out
'

test_expect_success 'usage errors exit 2' '
	test_must_fail 2 atv-scan --no-such-option 2> err &&
	test_must_fail 2 atv-scan -t 0 &&
	test_must_fail 2 atv-scan -t abc &&
	test_must_fail 2 atv-scan -s 127.0.0.1:99999 &&
	test_must_fail 2 atv-scan extra-argument &&
	atv-scan --help | grep -q usage &&
	atv-scan --version | grep -q atv-tools
'

test_expect_success 'an unresolvable host exits 3' '
	test_must_fail 3 atv-scan -t 0.5 -s no-such-host.invalid 2> err &&
	grep -q "no-such-host.invalid" err
'

test_expect_success 'a write error on stdout exits 7' '
	test_must_fail 7 atv-scan -s $LR > /dev/full 2> err &&
	grep -q "unable to write" err
'

test_done
