#!/usr/bin/env bash
# Instruction counts of `rebuild()`, derived against hand-written, under callgrind.
#
# Builds the `loops` bench target (bench profile = release), then for each case runs
#   loops count <case> <derived|hand> N
# under `valgrind --tool=callgrind --toggle-collect='*measured*'`: only instructions
# executed inside `loops::measured` (and everything it calls) are counted, that is
# N rebuilds of one value pushed into a Vec allocated beforehand. Process start-up,
# building the original value, opening its files, allocating the Vec, dropping and
# closing the copies are outside `measured` and not counted. Counts are user-space
# instructions: the kernel's work inside a system call (openat) is not included.
#
# Usage: bash benches/callgrind.sh [N]   (default N = 1000; needs valgrind)
# Exits non-zero if a derived count exceeds the hand-written one by more than 2% (5% for
# `async_three`, the async rebuild on a current-thread runtime, against a hand-written
# `async fn` with `tokio::join!`).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
# The workspace's own target directory unless CARGO_TARGET_DIR names another (one
# outside the work tree keeps concurrent edits from triggering rebuilds mid-run).

command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
bin=$(cargo bench -p guardian-benches --bench loops --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*loops[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not build the loops bench" >&2; exit 2; }

count() { # case variant -> instructions
  local out
  out=$(mktemp)
  valgrind --tool=callgrind --toggle-collect='*measured*' --callgrind-out-file=/dev/null \
    "$bin" count "$1" "$2" "$N" 2>"$out" >/dev/null
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out"
  rm -f "$out"
}

status=0
printf '%-16s %6s %14s %14s %10s %10s %8s\n' case N derived hand 'derived/N' 'hand/N' ratio
for case in config8 one_file three_resources composed async_three; do
  limit=1.02
  [ "$case" = async_three ] && limit=1.05
  d=$(count "$case" derived)
  h=$(count "$case" hand)
  ratio=$(awk -v d="$d" -v h="$h" 'BEGIN { printf "%.4f", d / h }')
  printf '%-16s %6d %14d %14d %10.1f %10.1f %8s\n' "$case" "$N" "$d" "$h" \
    "$(awk -v x="$d" -v n="$N" 'BEGIN { print x / n }')" \
    "$(awk -v x="$h" -v n="$N" 'BEGIN { print x / n }')" "$ratio"
  if awk -v r="$ratio" -v l="$limit" 'BEGIN { exit !(r > l) }'; then
    echo "  derived is more than $limit times hand-written" >&2
    status=1
  fi
done
exit $status
