#!/bin/sh
# Replay every fuzz target's seed corpus (t/fuzz/corpus/NAME/) through the
# target built with the replay driver: no input may crash or hang a parser.
. "$top_srcdir/t/lib.sh"

for target in mdns devconf creds mrp-frame tlv8 hap dmap blocks plist httpmsg airplay-frame \
	companion-frame opack companion-rti artwork-info raop raop-client audio-in; do
	test_expect_success "fuzz-$target replays its seed corpus" "
		ls '$top_srcdir/t/fuzz/corpus/$target' | grep -q . &&
		timeout 120 '$top_builddir/t/fuzz/fuzz-$target' '$top_srcdir/t/fuzz/corpus/$target'
	"
done

test_done
