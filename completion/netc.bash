# bash completion for netc and for the trainer programs `netc build` makes.
#
# Nothing here lists a command or an option: every list is read, at the TAB, from the
# program's own --help, the one place the programs state them.  The commands are the
# first words under "commands:" (and a trainer's plot kinds under "kinds:"); the options
# are the words beginning with - in the option column of COMMAND --help; an option's
# value is a choice among A|B|C where the help writes `--opt A|B|C`, or among the words
# a WORD setting's help ends with ("...: sgd adam adamw (adam)"); else a file for
# FILE, CKPT, NPZ and PROGRAM, a directory for DIR, nothing for numbers.
# netc is completed by its name.  A trainer's name is its builder's choice: register it
# once with `complete -F _netc_trainer PROG` (after this file is loaded, e.g. in ~/.bashrc:
# `source PREFIX/share/bash-completion/completions/netc`).

# The first words of the lines under HEADING: in PROG ARGS... --help, up to a blank line.
_netc_listed() {  # _netc_listed PROG HEADING ARGS...
    local prog=$1 heading=$2
    shift 2
    "$prog" "$@" --help 2>/dev/null | awk -v h="$heading:" '$0 == h { on = 1; next } on && NF == 0 { exit } on { print $1 }'
}

# The option column of a help text on stdin: each line beginning with -, cut where two
# spaces begin its description, as "OPTION ARGNAME" (ARGNAME empty for a flag) a line.
_netc_option_specs() {
    awk '$1 ~ /^-/ {
        spec = $0; sub(/^ +/, "", spec); sub(/  .*/, "", spec)
        n = split(spec, w, " "); arg = ""
        for (i = 1; i <= n; i++) if (w[i] !~ /^-/) { arg = w[i]; break }
        for (i = 1; i <= n; i++) if (w[i] ~ /^-/) { o = w[i]; sub(/,$/, "", o); print o, arg }
    }'
}

# The choices of option OPT in a help text on stdin: `OPT A|B|C` anywhere, else the words
# after the last ": " of OPT's description (joined with its next line), before " (default)".
_netc_choices() {  # _netc_choices OPT
    awk -v opt="$1" '
        { text = text $0 "\n" }
        END {
            n = split(text, line, "\n")
            for (i = 1; i <= n; i++) {
                s = line[i]
                if ((p = index(s, opt " ")) && substr(s, p + length(opt) + 1) ~ /^[a-z0-9_-]+(\|[a-z0-9_-]+)+/) {
                    v = substr(s, p + length(opt) + 1); sub(/[^a-z0-9_|-].*/, "", v); gsub(/\|/, " ", v)
                    print v; exit
                }
            }
            for (i = 1; i <= n; i++) {
                split(line[i], w, " ")
                if (w[1] != opt || w[2] != "WORD") continue
                s = line[i]; if (s ~ /WORD *$/) s = s " " line[i + 1]
                if (!match(s, /: [a-z0-9_ -]+ \([^()]*\) *$/)) exit
                v = substr(s, RSTART + 2); sub(/ \([^()]*\) *$/, "", v)
                print v; exit
            }
        }'
}

# COMPREPLY for the word CUR after PREV, from PROG ARGS... --help; POSITIONAL is the
# compgen filter (-X) of the plain words (files), empty for any file.
_netc_complete_in() {  # _netc_complete_in PROG CUR PREV POSITIONAL ARGS...
    local prog=$1 cur=$2 prev=$3 positional=$4 help spec arg choices
    shift 4
    help=$("$prog" "$@" --help 2>/dev/null) || return 0
    if [[ $prev == -* ]]; then
        spec=$(_netc_option_specs <<<"$help" | awk -v o="$prev" '$1 == o { print $2; exit }')
        if [[ -n $spec ]]; then
            choices=$(_netc_choices "$prev" <<<"$help")
            if [[ -n $choices ]]; then
                COMPREPLY=($(compgen -W "$choices" -- "$cur"))
            elif [[ $spec == DIR ]]; then
                compopt -o filenames 2>/dev/null
                COMPREPLY=($(compgen -d -- "$cur"))
            elif [[ $spec == *FILE* || $spec == *CKPT* || $spec == *NPZ* || $spec == PROGRAM ]]; then
                compopt -o filenames 2>/dev/null
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            return 0
        fi
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_netc_option_specs <<<"$help" | awk '{ print $1 }')" -- "$cur"))
    else
        compopt -o filenames 2>/dev/null
        if [[ -n $positional ]]; then   # the files it matches, and directories to descend into
            COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -X "$positional" -- "$cur"))
        else
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
    fi
}

# PROG's command (the first word after it, completed from "commands:"), then its options;
# a command with "kinds:" (plot) takes a kind first.
_netc_program() {  # _netc_program POSITIONAL
    local prog=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    if ((COMP_CWORD == 1)); then
        COMPREPLY=($(compgen -W "$(_netc_listed "$prog" commands) --help" -- "$cur"))
        return 0
    fi
    local cmd=${COMP_WORDS[1]} kinds
    kinds=$(_netc_listed "$prog" kinds "$cmd")
    if [[ -n $kinds ]]; then
        if ((COMP_CWORD == 2)); then
            COMPREPLY=($(compgen -W "$kinds --help" -- "$cur"))
            return 0
        fi
        _netc_complete_in "$prog" "$cur" "$prev" "$1" "$cmd" "${COMP_WORDS[2]}"
    else
        _netc_complete_in "$prog" "$cur" "$prev" "$1" "$cmd"
    fi
}

_netc() { _netc_program '!*.net'; }
_netc_trainer() { _netc_program ''; }

complete -F _netc netc
