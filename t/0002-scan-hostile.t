#!/bin/sh
# atv-scan against a device that answers with hostile mDNS packets: a clean
# one-line error and exit 5, never a crash or a hang; good hosts still count.
. "$top_srcdir/t/lib.sh"

DEV=$top_srcdir/t/fake-atv/devices
GOOD=127.2.0.2
LR_ID=$(jq -r '.services[] | select(.type == "_mediaremotetv._tcp") | .txt.UniqueIdentifier' "$DEV/livingroom.json")

test_expect_success 'start a good fake device' '
	start_fake good --device "$DEV/livingroom.json" --unicast $GOOD
'

n=10
for mode in truncated loop pointer-past-end lying-rdlength huge-count garbage query long-txt; do
	addr=127.2.0.$n
	n=$((n + 1))
	test_expect_success "hostile answer '$mode': exit 5, one error line" "
		start_fake $mode --device '$DEV/livingroom.json' --unicast $addr --hostile $mode &&
		test_must_fail 5 timeout 10 atv-scan -t 1 -s $addr > out 2> err &&
		test_fail_line out &&
		test \$(wc -l < err) -eq 1 &&
		grep -q '^atv-scan: ' err
	"
	test_expect_success "hostile answer '$mode' does not hide a good host" "
		timeout 10 atv-scan -t 1 -s $addr,$GOOD -i $LR_ID > out 2> err &&
		test_jq '.identifier == \"$LR_ID\"' out
	"
done

test_expect_success 'too many services in one answer: bounded, no crash' '
	start_fake many --device "$DEV/livingroom.json" --unicast 127.2.0.30 --hostile many-services &&
	timeout 10 atv-scan -t 1 -s 127.2.0.30 > out 2> err; rc=$? &&
	test $rc -le 5
'

test_done
