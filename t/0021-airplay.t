#!/bin/sh
# AirPlay end to end against the fake: the service facts from the scan,
# pairing (PIN, wrong PIN), the encrypted control channel, play_url followed
# to its end, the player commands over -p airplay, the device's refusals,
# transient pairing (speaker), AirPlay 1 in the clear (kitchen), and hostile
# answers (exit 5, never a crash).
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.21.$(($$ % 250 + 1))
LR=$NET.2 KI=$NET.3 SP=$NET.5
PIN=86420975
URL=http://127.0.0.1:9/movie.mp4
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

ap() { jq -c '.services[] | select(.protocol == "airplay")'; }

# st NAME FILTER: the fake's airplay state satisfies the jq FILTER
st() { ctl_json_is "$1" airplay-state "$2"; }

test_expect_success 'start the fakes, scan: airplay facts in the config' '
	start_mrp_fake lr $LR --airplay-port 0 &&
	start_mrp_fake ki $KI "$DEV/kitchen.json" --airplay-port 0 &&
	start_mrp_fake sp $SP "$DEV/speaker.json" --airplay-port 0 &&
	ctl lr airplay-pin $PIN &&
	grep -q "^airplay " lr.ready &&
	atv-scan -s $LR > lr.json && atv-scan -s $KI > ki.json && atv-scan -s $SP > sp.json &&
	ap < lr.json > lr.ap &&
	test_jq ".airplay_version == 2 and .pairing == \"mandatory\" and
		.requires_password == false and .features == \"0xBC157FDE4A7FDFD5\" and
		.pairing_identity == \"C1D2E3F4-0A1B-4C2D-8E3F-405162738495\" and
		.credentials == null" lr.ap &&
	ap < ki.json > ki.ap && test_jq ".airplay_version == 1" ki.ap &&
	ap < sp.json > sp.ap && test_jq ".airplay_version == 2 and .pairing != \"mandatory\"" sp.ap
'

test_expect_success 'a device that requires pairing, without credentials: exit 4' '
	test_must_fail 4 timeout $T atv-send play_url=$URL < lr.json > out 2> err &&
	grep -q "atv-pair -p airplay" err && test $(wc -l < err) -eq 1 &&
	test_fail_line out &&
	st lr ".video == null or .video.url != \"$URL\""
'

test_expect_success 'pair with a wrong pin: exit 4, nothing stored' '
	test_must_fail 4 timeout $T atv-pair -p airplay --pin 1234 < lr.json > out 2> err &&
	grep -qi "pin" err &&
	test_fail_line out &&
	! grep -q airplay "$ATV_CREDENTIALS" 2> /dev/null
'

test_expect_success 'pair: pin-start shows the pin, credentials stored for airplay' '
	timeout $T atv-pair -p airplay --pin $PIN --name "Shell Remote" < lr.json \
		> paired.json 2> err &&
	grep -q "airplay pin: $PIN (for Shell Remote)" lr.log &&
	ap < paired.json > paired.ap &&
	test_jq ".credentials == null" paired.ap &&
	test "$(stat -c %a "$ATV_CREDENTIALS")" = 600 &&
	test_jq ".protocol == \"airplay\"" "$ATV_CREDENTIALS" &&
	test_jq ".credentials | test(\"^[0-9a-f]+:[0-9a-f]+:[0-9a-f]+:[0-9a-f]+$\")" "$ATV_CREDENTIALS" &&
	! grep -q "$(jq -r .credentials "$ATV_CREDENTIALS" | cut -d: -f2)" err lr.log
'

test_expect_success 'play_url: verified, encrypted, returns once it plays' '
	ctl lr airplay-video duration 2 &&
	send lr.json play_url=$URL &&
	test_jq ".command == \"play_url=$URL\" and .ok and .state == \"playing\" and
		.duration == 2" send.out &&
	st lr ".video.url == \"$URL\" and .encrypted >= 1 and
		any(.requests[]; . == \"POST /pair-verify\")"
'

test_expect_success 'play_url start=SECONDS --wait: one event per state, then ended' '
	send lr.json --wait play_url=$URL start=1.5 &&
	st lr ".video.start == 1.5" &&
	test_jq_sel "has(\"event\")" ".event == \"playback\" and .device != null" send.out &&
	jq -r "select(.event) | .state" send.out > states &&
	grep -qx playing states && test "$(tail -n 1 states)" = ended &&
	test "$(sort states | uniq -d)" = "" &&
	tail -n 1 send.out > last && test_jq ".ok and .state == \"ended\"" last
'

test_expect_success 'the player over -p airplay: pause, play, set_position, playing, stop' '
	ctl lr airplay-video duration 600 &&
	send lr.json play_url=$URL &&
	send lr.json -p airplay pause && st lr ".video.rate == 0" &&
	send lr.json -p airplay set_position=42 && st lr ".video.position >= 42" &&
	send lr.json -p airplay playing &&
	test_jq ".playback.state == \"paused\" and .playback.duration == 600" send.out &&
	send lr.json -p airplay play && st lr ".video.rate == 1" &&
	send lr.json -p airplay stop && st lr ".video == null or .video.state != \"playing\"" &&
	test_must_fail 1 timeout $T atv-send -p airplay menu < lr.json > out 2> err &&
	test_jq ".error.code == \"unsupported\"" out
'

test_expect_success 'refusals: 403, 500 with its reason, 470' '
	ctl lr airplay-fail /play 403 1 not now &&
	test_must_fail 1 timeout $T atv-send play_url=$URL < lr.json > out 2> err &&
	grep -q 403 err && test_jq ".error.code == \"refused\"" out &&
	ctl lr airplay-fail /play 500 3 the disk is on fire &&
	test_must_fail 1 timeout $T atv-send play_url=$URL < lr.json > out 2> err &&
	grep -q "500: the disk is on fire" err &&
	ctl lr airplay-fail /play 470 1 &&
	test_must_fail 4 timeout $T atv-send play_url=$URL < lr.json > out 2> err &&
	grep -q 470 err
'

test_expect_success 'a single 500 is tried again (pyatv does the same)' '
	ctl lr airplay-fail /play 500 1 busy &&
	send lr.json play_url=$URL
'

test_expect_success 'a video the device cannot play: exit 1 with its description' '
	ctl lr airplay-video error broken &&
	test_must_fail 1 timeout $T atv-send play_url=http://127.0.0.1:9/broken.mp4 \
		< lr.json > out 2> err &&
	test $(wc -l < out) -eq 1 && grep -q "could not play the video: ." err &&
	test_jq ".ok == false and .error.code == \"refused\"" out &&
	test $(wc -l < err) -eq 1
'

test_expect_success 'revoked credentials: exit 4, pair again' '
	ctl lr airplay-revoke &&
	test_must_fail 4 timeout $T atv-send play_url=$URL < paired.json > out 2> err &&
	grep -q "pair again" err &&
	timeout $T atv-pair -p airplay --pin $PIN < lr.json > paired.json 2> err
'

test_expect_success 'hostile plist-bomb: exit 5 at once' '
	ctl lr airplay-hostile plist-bomb &&
	start=$(date +%s%N) &&
	test_must_fail 5 timeout $T atv-send -p airplay playing < paired.json > out 2> err &&
	# (connect, pair-verify and the answer: ~20 ms; 2 s leaves room for
	# sanitizer builds, while libplist alone would grow until -t)
	test $((($(date +%s%N) - start) / 1000000)) -lt 2000 &&
	grep -q "expands to over" err && test $(wc -l < err) -eq 1 &&
	ctl lr airplay-hostile none
'

for mode in plist deep-plist huge-body bad-block huge-block; do
	test_expect_success "hostile $mode: exit 5, one line on stderr" "
		ctl lr airplay-hostile $mode &&
		test_must_fail 5 timeout \$T atv-send -p airplay playing < paired.json > out 2> err &&
		test \$(wc -l < err) -eq 1 &&
		ctl lr airplay-hostile none
	"
done

test_expect_success 'play_url next to mrp: other commands over mrp, the video over airplay' '
	ctl lr pin $PIN &&
	timeout $T atv-pair --pin $PIN < lr.json > /dev/null &&
	send lr.json playing play_url=$URL &&
	head -n 1 send.out > first && test_jq ".playing.title != null" first &&
	tail -n 1 send.out > last && test_jq ".state == \"playing\"" last &&
	st lr ".video.url == \"$URL\""
'

test_expect_success 'transient pairing: a speaker plays without credentials' '
	send sp.json play_url=$URL &&
	st sp ".video.url == \"$URL\" and .encrypted >= 1 and
		any(.requests[]; . == \"POST /pair-setup\")"
'

test_expect_success 'airplay 1 (kitchen): no pairing, plain http' '
	send ki.json play_url=$URL &&
	st ki ".video.url == \"$URL\" and .encrypted == 0"
'

test_expect_success 'airplay 1 pairing (legacy /pair-setup-pin) is refused clearly' '
	test_must_fail 1 timeout $T atv-pair -p airplay --pin 1111 < ki.json > out 2> err &&
	grep -q "pair-setup-pin" err && test_fail_line out
'

test_expect_success 'a malformed play_url: usage errors, nothing sent' '
	test_must_fail 2 atv-send play_url < ki.json &&
	test_must_fail 2 timeout $T atv-send "play_url=$URL begin=3" < ki.json > out &&
	test_jq ".error.code == \"usage\"" out
'

test_done
