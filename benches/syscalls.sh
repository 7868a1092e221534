#!/usr/bin/env bash
# The system calls of `rebuild()` and `close()` on a struct with one `AppendFile`
# resource (`OneFile` in benches/common/mod.rs), counted with strace.
#
# `loops syscalls N` (the `loops` bench target, release) warms up, then runs four
# phases, each between two marker calls (a `statx` of /guardian-bench-marker/<phase>,
# a path that does not exist):
#   rebuild-derived  N derived rebuilds, kept in a Vec allocated beforehand
#   drop             dropping those N copies
#   rebuild-hand     N hand-written rebuilds (the same factory calls), kept
#   close            `close()` on each of those N copies
# This script traces the whole process (`strace -f`), counts the calls of each phase
# by name (the markers excluded), prints them, and exits non-zero unless
#   rebuild-derived = rebuild-hand = exactly N openat and nothing else,
#   drop = N close, close = N fdatasync + N close.
#
# Usage: bash benches/syscalls.sh [N]   (default N = 100; needs strace)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100}
# The workspace's own target directory unless CARGO_TARGET_DIR names another (one
# outside the work tree keeps concurrent edits from triggering rebuilds mid-run).

command -v strace >/dev/null || { echo "strace is not installed (apt-get install strace)" >&2; exit 2; }
bin=$(cargo bench -p guardian-benches --bench loops --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*loops[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not build the loops bench" >&2; exit 2; }

trace=$(mktemp)
trap 'rm -f "$trace"' EXIT
strace -f -o "$trace" "$bin" syscalls "$N" >/dev/null

# Prints "phase: name=count name=count ..." for one phase.
phase() {
  awk -v p="$1" '
    index($0, "guardian-bench-marker/" p "-begin") { on = 1; next }
    index($0, "guardian-bench-marker/" p "-end") { on = 0 }
    on {
      line = $0
      sub(/^[0-9]+ +/, "", line)             # the pid strace -f puts first
      if (line ~ /^<\.\.\. /) next           # the end of a call split by another thread
      name = line; sub(/\(.*/, "", name)
      count[name]++
    }
    END {
      printf "%s:", p
      n = 0
      for (name in count) { printf " %s=%d", name, count[name]; n++ }
      if (n == 0) printf " (none)"
      printf "\n"
    }' "$trace"
}

status=0
check() { # phase expected
  local got
  got=$(phase "$1")
  local sorted
  sorted="$1:$(echo "${got#*:}" | tr ' ' '\n' | sed '/^$/d' | sort | sed 's/^/ /' | tr -d '\n')"
  if [ "$sorted" = "$1:$2" ]; then
    echo "ok    $sorted"
  else
    echo "FAIL  $sorted   (expected$2)"
    status=1
  fi
}

echo "N = $N; system calls between the markers of each phase:"
check rebuild-derived " openat=$N"
check rebuild-hand " openat=$N"
check drop " close=$N"
check close " close=$N fdatasync=$N"
exit $status
