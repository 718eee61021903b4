#!/bin/sh
# 0006-man.t - the man pages: mandoc -Tlint finds nothing at warning level or
# above, each page has the sections its manual section needs, its .Dt names
# it, man(1) renders it without complaint, and every page the build
# installs exists.
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/t/lib.sh"

command -v mandoc > /dev/null 2>&1 || test_skip_all "mandoc is not installed"

mandir=$top_srcdir/man
npages=0
for page in "$mandir"/*.[0-9]; do
	[ -f "$page" ] && npages=$((npages + 1))
done
[ "$npages" -gt 0 ] || test_skip_all "no man pages in $mandir"

# sections_of PAGE: the .Sh titles, one per line, quotes removed
sections_of() {
	sed -n 's/^\.Sh[ 	][ 	]*//p' "$1" | sed 's/^"\(.*\)"[ 	]*$/\1/; s/[ 	]*$//'
}

# has_sections PAGE: the sections a page of its manual section must have
# (reference pages of sections 5 and 7 have no synopsis and no exit status)
has_sections() {
	case ${1##*.} in
	5 | 7) want='NAME
DESCRIPTION
SEE ALSO' ;;
	*) want='NAME
SYNOPSIS
DESCRIPTION
EXIT STATUS
SEE ALSO' ;;
	esac
	sections_of "$1" > sections.txt
	missing=0
	while IFS= read -r s; do
		grep -qxF "$s" sections.txt || {
			echo "${1##*/}: no .Sh $s" >&2
			missing=1
		}
	done <<EOF
$want
EOF
	return $missing
}

# lint PAGE: mandoc must report nothing at WARNING level or above.  Its
# exit status alone is not enough: report any message about the page.
lint() {
	mandoc -Tlint -Wwarning "$1" > lint.out 2>&1
	st=$?
	grep -v 'mandoc\.db' lint.out > lint.msgs
	if [ "$st" -ne 0 ] || [ -s lint.msgs ]; then
		cat lint.out >&2
		echo "mandoc -Tlint -Wwarning exited $st" >&2
		return 1
	fi
}

# dt_matches PAGE: ".Dt TITLE SECTION" names the file (atv-scan.1 → ATV-SCAN 1)
dt_matches() {
	base=${1##*/}
	want="$(echo "${base%.*}" | tr '[:lower:]' '[:upper:]') ${base##*.}"
	got=$(sed -n 's/^\.Dt[ 	][ 	]*//p' "$1" | head -n 1 | tr -s ' 	' '  ')
	[ "$got" = "$want" ] || {
		echo "${base}: .Dt is '$got', expected '$want'" >&2
		return 1
	}
}

# renders PAGE: man -l prints the page and nothing on stderr (groff
# warnings, unknown macros)
renders() {
	LC_ALL=C MANWIDTH=80 MANPAGER=cat PAGER=cat man -l "$1" > rendered.txt 2> render.err
	st=$?
	if [ "$st" -ne 0 ] || [ -s render.err ] || ! grep -q NAME rendered.txt; then
		cat render.err >&2
		echo "man -l exited $st" >&2
		return 1
	fi
}

for page in "$mandir"/*.[0-9]; do
	[ -f "$page" ] || continue
	name=${page##*/}
	test_expect_success "$name: mandoc -Tlint -Wwarning is clean" 'lint "$page"'
	test_expect_success "$name: has the required sections" 'has_sections "$page"'
	test_expect_success "$name: .Dt names the page" 'dt_matches "$page"'
	if command -v man > /dev/null 2>&1; then
		test_expect_success "$name: man -l renders it cleanly" 'renders "$page"'
	else
		test_skip "$name: man -l renders it cleanly" "man is not installed"
	fi
done

# listed_pages: the pages Makefile.am installs (dist_man_MANS, possibly
# continued over several lines), one per line
listed_pages() {
	awk '/^dist_man_MANS[ \t]*=/ { on = 1; sub(/^[^=]*=/, "") }
	     on { more = sub(/\\$/, ""); print; if (!more) on = 0 }' "$top_srcdir/Makefile.am" |
		tr ' \t' '\n\n' | sed '/^$/d'
}

test_expect_success 'every page in dist_man_MANS exists' '
	listed_pages > listed &&
	test -s listed &&
	missing=0 &&
	while read -r m; do
		test -f "$top_srcdir/$m" || { echo "missing: $m" >&2; missing=1; }
	done < listed &&
	test "$missing" = 0
'

test_done
