#!/bin/sh
# make install into a DESTDIR: the tools, the pages, README/NEWS/LICENSE,
# the examples and the shell completions land where they should, make
# uninstall takes them away; the completions offer what the tools take
# (options from each --help, atv-send's commands from its one table); the
# installed examples work against the fake Apple TV as written.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/mrp-lib.sh"

command -v make > /dev/null 2>&1 || test_skip_all "make not found"
command -v bash > /dev/null 2>&1 || test_skip_all "bash not found"

NET=127.42.$(($$ % 250 + 1))
LR=$NET.2
ATV_CREDENTIALS=$TRASH/cfg/credentials
export ATV_CREDENTIALS
D=$TRASH/dest
P=/opt/atv
TOOLS="atv-scan atv-pair atv-send atv-watch atv-stream"

# mk TARGET...: make in the build tree, not as part of the make running us
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" \
		DESTDIR="$D" prefix="$P" "$@"
}

test_expect_success 'make install into DESTDIR' '
	mk install > install.log 2>&1 || { cat install.log >&2; false; }
'

test_expect_success 'the tools, pages, docs, examples and completions are installed' '
	missing=0 &&
	for f in $(for t in $TOOLS; do echo bin/$t share/bash-completion/completions/$t; done) \
		share/zsh/site-functions/_atv-tools \
		share/doc/atv-tools/README.md share/doc/atv-tools/NEWS share/doc/atv-tools/LICENSE \
		share/doc/atv-tools/examples/README share/doc/atv-tools/examples/crontab \
		share/doc/atv-tools/examples/Makefile share/doc/atv-tools/examples/title-log \
		share/doc/atv-tools/examples/atv-watch.service; do
		test -f "$D$P/$f" || { echo "missing: $f" >&2; missing=1; }
	done &&
	for m in "$top_srcdir"/man/*.[0-9]; do
		s=${m##*.} &&
		test -f "$D$P/share/man/man$s/${m##*/}" || { echo "missing page: $m" >&2; missing=1; }
	done &&
	test "$missing" = 0 &&
	test -x "$D$P/share/doc/atv-tools/examples/title-log" &&
	"$D$P/bin/atv-send" --version | grep -q "atv-tools"
'

# help_opts TOOL: the long options TOOL --help names, one per line, sorted
help_opts() { "$D$P/bin/$1" --help | grep -oE -- "--[a-z][a-z-]*" | sort -u; }

# bash_complete LINE: what the installed bash completion offers, one per line
bash_complete() {
	PATH="$D$P/bin:$PATH" bash -c '
		. "$1"
		COMP_LINE=$2 COMP_POINT=${#2}
		read -ra COMP_WORDS <<< "$COMP_LINE"
		case $COMP_LINE in *" ") COMP_WORDS+=("") ;; esac
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_atv_tools
		printf "%s\n" "${COMPREPLY[@]}"' _ "$D$P/share/bash-completion/completions/${1%% *}" "$1"
}

test_expect_success 'bash: each tool is offered exactly the options of its --help' '
	for t in $TOOLS; do
		help_opts $t > want.$t &&
		bash_complete "$t --" | sort -u > got.$t &&
		test_cmp want.$t got.$t || return 1
	done
'

test_expect_success 'bash: atv-send commands are those of --list-commands' '
	"$D$P/bin/atv-send" --list-commands | sed "s/\[=.*//; s/=.*/=/" | sort > want &&
	bash_complete "atv-send " | sort > got &&
	test_cmp want got &&
	bash_complete "atv-send set_re" > got && echo set_repeat= > want && test_cmp want got &&
	bash_complete "atv-send set_repeat=t" > got && echo track > want && test_cmp want got &&
	bash_complete "atv-send --action d" > got && echo double_tap > want && test_cmp want got
'

# zsh_opts TOOL: the long options the zsh completion gives TOOL (the shared
# ones and those of its case branch)
zsh_opts() {
	awk -v t="$1)" '
		/^shared=\(/ { on = 1 } on && /^\)/ { on = 0 }
		$1 == t { br = 1 } br && /;;/ { br = 0 }
		on || br' "$D$P/share/zsh/site-functions/_atv-tools" |
		grep -oE -- "--[a-z][a-z-]*" | sort -u
}

test_expect_success 'zsh: each tool is offered exactly the options of its --help' '
	for t in $TOOLS; do
		zsh_opts $t > zgot.$t &&
		test_cmp want.$t zgot.$t || return 1
	done &&
	grep -q -- "--list-commands" "$D$P/share/zsh/site-functions/_atv-tools" &&
	if command -v zsh > /dev/null 2>&1; then zsh -n "$D$P/share/zsh/site-functions/_atv-tools"; fi
'

test_expect_success 'start the fake' '
	start_mrp_fake lr $LR &&
	ctl lr pin 1357 &&
	EX=$D$P/share/doc/atv-tools/examples &&
	mkdir -p mk
'

EX=$D$P/share/doc/atv-tools/examples
PATH=$D$P/bin:$PATH
export PATH

test_expect_success 'examples/Makefile: a failed pairing leaves no tv.json' '
	echo 0000 > mk/pin &&
	test_must_fail make -s -C mk -f "$EX/Makefile" tv.json \
		ATVFLAGS="-s $LR -t 2" PAIRFLAGS="--pin-file pin" > mk.out 2>&1 &&
	test ! -e mk/tv.json
'

test_expect_success 'examples/Makefile: pair once, then make pause' '
	echo 1357 > mk/pin &&
	make -s -C mk -f "$EX/Makefile" tv.json ATVFLAGS="-s $LR -t 2" PAIRFLAGS="--pin-file pin" &&
	test_jq ".name == \"Living Room\"" mk/tv.json &&
	make -s -C mk -f "$EX/Makefile" play > /dev/null &&
	ctl_json_is lr state ".playing.device_state == \"playing\"" &&
	make -s -C mk -f "$EX/Makefile" pause > /dev/null &&
	ctl_json_is lr state ".playing.device_state == \"paused\""
'

test_expect_success 'examples/crontab: the line cron would run pauses the TV' '
	mkdir -p "$HOME/.config/atv" "$HOME/.cache" &&
	cp mk/tv.json "$HOME/.config/atv/tv.json" &&
	atv-send play < mk/tv.json > /dev/null &&
	sed -n "s/^[0-9*,/-]* [0-9*,/-]* [0-9*,/-]* [0-9*,/-]* [0-9*,/-]* //p" "$EX/crontab" > job &&
	test "$(wc -l < job)" -eq 1 &&
	sh job &&
	test_jq ".command == \"pause\" and .ok" "$HOME/.cache/atv-pause.log" &&
	ctl_json_is lr state ".playing.device_state == \"paused\""
'

# wait_lines FILE N: until FILE has N lines (bounded)
wait_lines() {
	_n=500
	while [ "$_n" -gt 0 ]; do
		[ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
		sleep 0.02
		_n=$((_n - 1))
	done
	echo "timed out waiting for $2 lines in $1" >&2
	cat "$1" >&2
	return 1
}

test_expect_success 'examples/title-log: one line per title' '
	setsid "$EX/title-log" mk/tv.json titles.tsv 2> title.err &
	tl=$!
	test_atexit "kill -- -$tl 2>/dev/null" &&
	wait_lines titles.tsv 1 &&
	atv-send next < mk/tv.json > /dev/null &&
	wait_lines titles.tsv 2 &&
	atv-send pause play < mk/tv.json > /dev/null &&
	kill -- -$tl && wait $tl;
	test "$(wc -l < titles.tsv)" -eq 2 &&
	cut -f 2 titles.tsv | sort -u | wc -l | grep -qx 2 &&
	grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z	" titles.tsv
'

test_expect_success 'examples/atv-watch.service: its ExecStart logs events' '
	mkdir -p state &&
	cmd=$(sed -n "s/^ExecStart=//p" "$EX/atv-watch.service" |
		sed "s|%h|$HOME|g; s|%S|$TRASH/state|g") &&
	mkdir -p state/atv &&
	echo "$cmd" > service.sh || return 1
	setsid sh service.sh &
	sv=$!
	test_atexit "kill -- -$sv 2>/dev/null" &&
	wait_lines state/atv/watch.log 2 &&
	kill -- -$sv; wait $sv;
	jq -e -s "any(.[]; .event == \"connection\" and .state == \"connected\")" \
		state/atv/watch.log > /dev/null
'

# free_net: a 127.77.N prefix nothing listens on
free_net() {
	for n in $(seq $(($$ % 200 + 10)) 249); do
		ss -Htanul | awk '{ print $5 }' | grep -q "^127\.77\.$n\." || { echo 127.77.$n; return 0; }
	done
	return 1
}

test_expect_success 'make demo on loopback beside a fake on its addresses' '
	net=$(free_net) &&
	start_mrp_fake occ $net.2 &&
	ATV_DEMO_NETNS=no ATV_DEMO_NET=$net mk demo > demo.out 2>&1 ||
		{ tail -20 demo.out >&2; false; }
	! grep -q "$net\.2" demo.out &&
	grep -q "answer DNS-SD on 127\.77\." demo.out &&
	grep "^{\"command\":\"play_url=" demo.out | tail -n 1 | jq -e ".ok and .state == \"ended\""
'

if [ "$(id -u)" = 0 ] && unshare -n true 2> /dev/null; then
	test_expect_success 'make demo as root: in a network namespace of its own' '
		mk demo > demo.out 2>&1 || { tail -20 demo.out >&2; false; }
		grep -q "network namespace of its own" demo.out &&
		grep "^{\"command\":\"play_url=" demo.out | tail -n 1 | jq -e ".ok and .state == \"ended\""
	'
else
	test_skip 'make demo as root: in a network namespace of its own' 'not root, or no unshare -n'
fi

test_expect_success 'make uninstall takes everything away' '
	mk uninstall > uninstall.log 2>&1 || { cat uninstall.log >&2; false; }
	test -z "$(find "$D" -type f)" || { find "$D" -type f >&2; false; }
'

test_done
