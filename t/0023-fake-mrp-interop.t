#!/bin/sh
# The fake's MRP side as other controllers (pyatv) use it: now-playing,
# volume and power are pushed whatever CLIENT_UPDATES_CONFIG's flags say,
# and PLAYBACK_QUEUE_REQUEST returns the artwork at pyatv's default size
# (artworkWidth 0, artworkHeight -1).  t/helpers/mrp-probe is the
# controller: it sends exactly the flags and sizes given.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

NET=127.23.$(($$ % 250 + 1))
LR=$NET.2
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS

# probe OUT STEP...: mrp-probe on the living room with its stored
# credentials (on stdin, never on argv), output in OUT
probe() {
	_o=$1
	shift
	creds-tool get "$ATV_CREDENTIALS" "$LR_ID" mrp |
		timeout $T mrp-probe $LR 49152 "$@" > "$_o"
}

test_expect_success 'start the fake, scan and pair; something plays' '
	start_mrp_fake lr $LR &&
	atv-scan -s $LR > lr.json &&
	atv-pair --pin 1111 < lr.json > /dev/null &&
	ctl lr set title=Pushed%20Anyway device_state=playing app_id=com.example.tv app=Example
'

# 4 SET_STATE, 46 SET_NOW_PLAYING_CLIENT, 52 VOLUME_DID_CHANGE,
# 37 DEVICE_INFO_UPDATE
test_expect_success 'nowPlayingUpdates false (as pyatv sends it): the state is pushed anyway' '
	probe p1.out updates 0x1d &&
	test_jq_sel ".type == 4" ".title == \"Pushed Anyway\"" p1.out &&
	test_jq_sel ".type == 46" ".client == \"com.example.tv\"" p1.out &&
	test_jq_sel ".type == 37" "true" p1.out
'

test_expect_success 'no update flag at all: now-playing, volume and power still pushed' '
	ctl lr volume 40 &&
	probe p2.out updates 0x100 &&
	test_jq_sel ".type == 4" ".title == \"Pushed Anyway\"" p2.out &&
	test_jq_sel ".type == 52" ".volume > 0.39 and .volume < 0.41" p2.out &&
	test_jq_sel ".type == 37" "true" p2.out
'

test_expect_success 'changes are pushed to a client that said nowPlayingUpdates false' '
	creds-tool get "$ATV_CREDENTIALS" "$LR_ID" mrp |
		timeout $T mrp-probe $LR 49152 updates 0x1d pump 20000 > p3.out &
	pid=$! &&
	test_atexit "kill $pid 2>/dev/null" &&
	wait_for_line p3.out ".step == \"updates\"" &&
	ctl lr set title=Changed%20Later &&
	wait_for_line p3.out ".type == 4 and .title == \"Changed Later\"" &&
	ctl lr volume 55 &&
	wait_for_line p3.out ".type == 52 and .volume > 0.54 and .volume < 0.56" &&
	kill $pid
'

test_expect_success 'PLAYBACK_QUEUE_REQUEST at pyatv default size (0 x -1): the artwork' '
	probe q1.out queue 0 -1 &&
	test_jq_sel ".step == \"queue\"" ".artwork > 0" q1.out
'

test_expect_success 'PLAYBACK_QUEUE_REQUEST at a size: the artwork, as before' '
	probe q2.out queue 600 -1 queue -1 400 &&
	test_jq_sel ".step == \"queue\"" ".artwork > 0" q2.out &&
	test $(grep -c "\"step\":\"queue\"" q2.out) -eq 2
'

test_done
