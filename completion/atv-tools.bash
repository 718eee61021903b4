# bash completion for atv-tools: atv-scan, atv-pair, atv-send, atv-watch and
# atv-stream.
# Installed once per tool name.  atv-send's command names come from
# `atv-send --list-commands` (the command table itself), so they cannot
# drift; t/0042-install.t checks the options against each tool's --help.

_atv_tools()
{
	local cmd=${COMP_WORDS[0]##*/} line=${COMP_LINE:0:COMP_POINT}
	local cur prev rest opts words w name
	local shared="--id --device-name --hosts --timeout --credentials --verbose --help --version"

	# words split at white space only: "set_shuffle=so" is one word
	cur=${line##*[[:space:]]}
	rest=${line%"$cur"}
	rest=${rest%"${rest##*[![:space:]]}"}
	prev=${rest##*[[:space:]]}
	COMPREPLY=()

	case $cmd in
	atv-scan) opts="$shared --text --json --with-credentials" ;;
	atv-pair) opts="$shared --protocol --pin --pin-file --name --remote-name --pairing-guid
		--port --with-credentials --forget" ;;
	atv-send) opts="$shared --protocol --action --wait --artwork --text --json --list-commands" ;;
	atv-watch) opts="$shared --protocol --artwork --until-eof --text --json" ;;
	atv-stream) opts="$shared --protocol --format --volume --title --artist --album --artwork
		--password-file --text --json" ;;
	*) return 0 ;;
	esac

	case $prev in
	-p | --protocol)
		case $cmd in
		atv-watch) words="mrp dmap companion" ;;
		atv-stream) words="raop airplay" ;;
		*) words="mrp dmap airplay companion" ;;
		esac
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
		return 0
		;;
	--action)
		COMPREPLY=($(compgen -W "tap double_tap hold" -- "$cur"))
		return 0
		;;
	--format)
		COMPREPLY=($(compgen -W "s16le:44100:2 s16be:44100:2 s24le:44100:2 f32le:44100:2" -- "$cur"))
		return 0
		;;
	-c | --credentials | --pin-file | --password-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	--artwork)
		# atv-watch: a directory; atv-send, atv-stream: a file
		[ "$cmd" != atv-watch ] && COMPREPLY=($(compgen -f -- "$cur")) ||
			COMPREPLY=($(compgen -d -- "$cur"))
		return 0
		;;
	-i | --id | -n | --device-name | -s | --hosts | -t | --timeout | --pin | --name | \
		--remote-name | --pairing-guid | --port | --volume | --title | --artist | --album)
		return 0
		;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return 0
	fi
	if [[ $cmd == atv-stream ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
	fi
	[[ $cmd == atv-send ]] || return 0

	# NAME, NAME=VALUE (offered as NAME=), NAME[=VALUE] (offered as NAME);
	# after "NAME=", the values of a VALUE written as a|b|c
	words=""
	while IFS= read -r w; do
		name=${w%%[[=]*}
		if [[ $cur == "$name="* && $w == "$name="*"|"* ]]; then
			local v=${w#*=}
			words="$words ${name}=${v//|/ ${name}=}"
		elif [[ $w == *"[="* || $w != *=* ]]; then
			words="$words $name"
		else
			words="$words $name="
		fi
	done < <("${COMP_WORDS[0]}" --list-commands 2> /dev/null)
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
	# bash splits words at "=": reply with what follows the last one
	if [[ $cur == *=* && $COMP_WORDBREAKS == *=* ]]; then
		local i
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=${COMPREPLY[i]#"${cur%=*}="}
		done
	fi
	[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2> /dev/null
	return 0
}

complete -F _atv_tools atv-scan atv-pair atv-send atv-watch atv-stream
