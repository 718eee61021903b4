#!/bin/sh
# Our Companion client against an independent device: pyatv 0.18's own fake
# Companion service (tests/fake_device/companion.py), started by a small
# driver without mDNS, its server forced onto our loopback address.
# Skipped unless $ATV_PYATV_PYTHON names a python3 that imports pyatv and
# the tests/ package of a pyatv source tree (t/README).
. "$top_srcdir/t/lib.sh"

command -v jq > /dev/null 2>&1 || test_skip_all "jq not found"
[ -n "${ATV_PYATV_PYTHON-}" ] || test_skip_all "set ATV_PYATV_PYTHON (see t/README)"
"$ATV_PYATV_PYTHON" -c "import tests.fake_device" > /dev/null 2>&1 ||
	test_skip_all "$ATV_PYATV_PYTHON does not import tests.fake_device"

NET=127.34.$(($$ % 250 + 1))
PYFAKE=$NET.22
ID=5D797FD3-3538-427E-A47B-A32FC6CF3A6A # pyatv's fake Companion id
T=30
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

cat > pyfake.py << 'EOF'
import asyncio, json, os, sys
addr, ports = sys.argv[1], sys.argv[2]
_create_server = asyncio.BaseEventLoop.create_server
async def create_server(self, factory, host=None, *args, **kwargs):
    return await _create_server(self, factory, addr, *args, **kwargs)
asyncio.BaseEventLoop.create_server = create_server
from pyatv.const import Protocol
from tests.fake_device import FakeAppleTV
async def main():
    atv = FakeAppleTV(asyncio.get_running_loop(), test_mode=False)
    _, uc = atv.add_service(Protocol.Companion)
    uc.set_installed_apps({"com.netflix.Netflix": "Netflix", "com.apple.TVMusic": "Music"})
    uc.set_available_accounts({"a1": "Alice", "b2": "Bob"})
    uc.set_rti_text("hello")
    await atv.start()
    with open(ports + ".tmp", "w") as f:
        json.dump({"companion": atv.get_port(Protocol.Companion)}, f)
    os.rename(ports + ".tmp", ports)
    await asyncio.Event().wait()
asyncio.run(main())
EOF

# send COMMAND...: atv-send with the config, every result ok, in send.out
send() {
	timeout $T atv-send "$@" < dev.json > send.out 2> send.err || {
		cat send.out send.err >&2
		return 1
	}
	test_jq ".ok" send.out
}

test_expect_success "start pyatv's fake Companion device" '
	"$ATV_PYATV_PYTHON" pyfake.py $PYFAKE ports > pyfake.log 2>&1 &
	pid=$! &&
	test_atexit "kill $pid 2> /dev/null; wait $pid 2> /dev/null" &&
	wait_for_file ports 1500 &&
	jq -n -c --argjson p "$(cat ports)" --arg a $PYFAKE --arg id $ID \
		"{name: \"PyFake\", address: \$a, identifier: \$id, all_identifiers: [\$id],
		  services: [{protocol: \"companion\", port: \$p.companion, identifier: \$id,
			credentials: null, properties: {}}]}" > dev.json
'

test_expect_success 'a wrong PIN exits 4' '
	test_must_fail 4 timeout $T atv-pair -p companion --pin 9999 < dev.json > out 2> err &&
	grep -q "wrong pin" err
'

test_expect_success 'pair (PIN 1111): the device key is the fake'"'"'s' '
	timeout $T atv-pair -p companion --pin 1111 < dev.json > /dev/null &&
	jq -r "select(.protocol == \"companion\") | .credentials" "$ATV_CREDENTIALS" > creds &&
	grep -q "^e734ea6c2b6257de72355e472aa05a4c487e6b463c029ed306df2f01b5636b58:" creds
'

test_expect_success 'app_list, account_list, launch_app, switch_account' '
	send app_list && jq -r .name send.out | sort > names &&
	printf "Music\nNetflix\n" > want && test_cmp want names &&
	send account_list && test "$(wc -l < send.out)" -eq 2 &&
	send launch_app=com.netflix.Netflix "launch_app=https://example.com/x" switch_account=b2
'

test_expect_success 'text: get, append, set, clear' '
	send text_get && test_jq ".text == \"hello\"" send.out &&
	send "text_append= you" text_get && tail -n 1 send.out > t && test_jq ".text == \"hello you\"" t &&
	send text_set=abc text_get && tail -n 1 send.out > t && test_jq ".text == \"abc\"" t &&
	send text_clear text_get && tail -n 1 send.out > t && test_jq ".text == \"\"" t
'

test_expect_success 'power, keys, media control, volume' '
	send power_state turn_off turn_on up select channel_up guide screensaver \
		control_center play pause next previous skip_forward set_volume=30 volume &&
	head -n 1 send.out > p && test_jq ".power_state == \"on\"" p &&
	tail -n 1 send.out > v && test_jq ".volume == 30" v
'

test_done
