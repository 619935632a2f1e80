#!/usr/bin/env bash
# commands.sh PROG: a help2man include file (help2man(1), INCLUDE FILES) of PROG's commands,
# for netc(1) and netc-trainer(1).  PROG --help lists them under "commands:"; each
# becomes a subsection holding PROG COMMAND --help verbatim, and a command whose help
# lists "kinds:" (the trainer's plot) one more per kind.  So the pages say what --help
# says, from the one place the programs state it.
set -euo pipefail
prog=$1
name=${prog##*/}

# The first words of the lines of PROG ARGS... --help's section HEADING (up to a blank line).
words_under() {  # words_under HEADING ARGS...
  local heading=$1; shift
  "$prog" "$@" --help | awk -v h="$heading:" '$0 == h { on = 1; next } on && NF == 0 { exit } on { print $1 }'
}

# ARGS... --help as roff: a subsection titled "NAME ARGS...", the text kept as it is.
verbatim() {  # verbatim ARGS...
  printf '.SS "%s %s"\n.nf\n' "$name" "$*"
  "$prog" "$@" --help | sed -e 's/\\/\\e/g' -e "s/^[.']/\\\\\\&&/"
  printf '.fi\n'
}

echo "[COMMANDS]"
for cmd in $(words_under commands); do
  verbatim "$cmd"
  for kind in $(words_under kinds "$cmd"); do
    verbatim "$cmd" "$kind"
  done
done
