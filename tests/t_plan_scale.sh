#!/usr/bin/env bash
# Planning and compiling are near-linear in the nodes (issue 10): a chain of relu layers
# of 100,000 nodes (MAX_NODES) goes through check, plan (train, infer, export), summary,
# dot and compile, each under `timeout 60` (an O(n^2) pass took minutes).  The assertion
# is on the work the planner reports (`netc plan --stats`: its elementary steps), not
# on time: at most 20 steps per buffer, and 10x the nodes costs at most 15x the work.
. "$(dirname "$0")/lib.sh"
NETC=${NETC:-./netc}

chain() {  # chain OUTER INNER REST: a dense, OUTER x INNER + REST relus, a dense, a softmax
  printf 'model Chain {\n  input x[16]\n  h = x -> dense(16)\n  for i in 0..%d {\n    for j in 0..%d {\n' "$1" "$2"
  printf '      h = h -> relu()\n    }\n  }\n  for j in 0..%d {\n    h = h -> relu()\n  }\n' "$3"
  printf '  return h -> dense(4) -> softmax()\n}\n'
}
chain 9 10000 9996 >"$tmp/big.net"     # 4 + 99,996 nodes: MAX_NODES
chain 1 9996 0 >"$tmp/small.net"       # a tenth of it

work() {  # work FILE MODE: the planner's work, or 0 on failure
  timeout 60 "$NETC" plan --stats -m "$2" "$1" 2>"$tmp/stats" >"$tmp/plan.txt" || { echo 0; return; }
  sed -n 's/^netc plan: \([0-9]*\) buffers, [0-9]* steps, planner work \([0-9]*\)$/\1 \2/p' "$tmp/stats"
}
for mode in train infer export; do
  read -r nbuf big <<<"$(work "$tmp/big.net" $mode)"
  read -r _ small <<<"$(work "$tmp/small.net" $mode)"
  if [ -z "${big:-}" ] || [ -z "${small:-}" ] || [ "$small" -eq 0 ]; then
    fail "netc plan --stats -m $mode on 100,000 nodes: no work reported"; cat "$tmp/stats"; continue
  fi
  [ "$big" -le $((20 * nbuf)) ] || fail "$mode: planner work $big for $nbuf buffers (more than 20 a buffer)"
  [ "$big" -le $((15 * small)) ] || fail "$mode: planner work $big at 100,000 nodes, $small at 10,000 (more than 15x)"
  grep -q "^Arena bytes: " "$tmp/plan.txt" || fail "$mode: no plan printed"
  echo "t_plan_scale: $mode: $nbuf buffers, planner work $big (10,000 nodes: $small)"
done
# Without --stats a valid plan prints nothing on stderr (a slip once printed an
# "internal error" line after every good plan).
"$NETC" plan models/lenet5.net >/dev/null 2>"$tmp/err" && [ ! -s "$tmp/err" ] ||
  { fail "netc plan models/lenet5.net: exit non-zero or stderr not empty"; cat "$tmp/err"; }
for cmd in check summary dot; do
  timeout 60 "$NETC" $cmd "$tmp/big.net" >/dev/null 2>"$tmp/err" || { fail "netc $cmd on 100,000 nodes"; cat "$tmp/err"; }
done
timeout 60 "$NETC" compile -o "$tmp/c" "$tmp/big.net" 2>"$tmp/err" && [ -s "$tmp/c/chain.c" ] ||
  { fail "netc compile on 100,000 nodes"; cat "$tmp/err"; }
finish
