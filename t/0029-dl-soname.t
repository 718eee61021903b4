#!/bin/sh
# The libraries the tools dlopen (lib/dl.h): loaded by the soname this build
# found, the one the library's -dev package (and whatever links it, like
# the fake Apple TV with libplist) points to; and never linked into a tool,
# so that a tool starts without them.
. "$top_srcdir/t/lib.sh"

command -v ldd > /dev/null 2>&1 || test_skip_all "ldd not found"
command -v objdump > /dev/null 2>&1 || test_skip_all "objdump not found"
command -v pkg-config > /dev/null 2>&1 || test_skip_all "pkg-config not found"

# soname MACRO: its value in config.h
soname() { sed -n "s/^#define $1 \"\\(.*\\)\"$/\\1/p" "$top_builddir/config.h"; }

# dev_soname MODULE NAME: DT_SONAME of libNAME.so in the module's libdir
dev_soname() {
	objdump -p "$(pkg-config --variable=libdir "$1")/lib$2.so" | awk '$1 == "SONAME" { print $2 }'
}

test_expect_success 'libplist: the soname the fake Apple TV links' '
	ldd "$top_builddir/t/fake-atv/fake-atv" | awk "/libplist/ { print \$1 }" > want &&
	soname ATV_PLIST_SONAME > got &&
	test -s got && test_cmp want got
'

test_expect_success 'libcurl and avahi: the sonames of their -dev packages' '
	for m in "libcurl curl ATV_CURL_SONAME" "avahi-client avahi-client ATV_AVAHI_CLIENT_SONAME" \
		"avahi-client avahi-common ATV_AVAHI_COMMON_SONAME"; do
		set -- $m &&
		dev_soname $1 $2 > want &&
		soname $3 > got &&
		test -s got && test_cmp want got || return 1
	done
'

test_expect_success 'no tool links them' '
	for t in atv-scan atv-pair atv-send atv-watch; do
		ldd "$top_builddir/$t/$t" > libs &&
		! grep -E "libcurl|libplist|libavahi" libs || return 1
	done
'

test_done
