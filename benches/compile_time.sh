#!/usr/bin/env bash
# Build time of derived code: one generated crate per variant, each with the same
# 2,000 structs of 8 fields (String, u64, Vec<String>, Option<String>, PathBuf,
# HashMap<String, u32>, bool, and Vec<u8>; in every fourth struct the last field is a
# generic `T`), and one impl per struct made by:
#
#   builtin        #[derive(Clone)]
#   hand           impl Clone by hand, `#[inline] fn clone`
#   hand_noinline  the same impl without `#[inline]`
#   guardian       #[derive(Rebuild)], every field #[config]
#   syn_floor      #[derive(SynFloorClone)] from benches/floor: parses with syn (the
#                  features guardian-derive uses) and emits the hand-written impl Clone
#                  with `::core::clone::Clone::clone(&self.field)` per field: the least a
#                  syn-based derive can cost
#   syn_floor_attrs  syn_floor on guardian's own input: every field marked #[config]
#                  (which the floor ignores): the cost of the attribute syntax alone
#   bridge         #[derive(Nothing)] from benches/floor (a derive that emits nothing)
#                  beside the hand-written impls: the cost of calling a proc macro
#   educe          #[derive(Educe)] #[educe(Clone)]
#   derive_where   #[derive_where(Clone; T: Clone)] (`Clone; u64: Clone` on the
#                  non-generic ones: derive-where refuses a bare `Clone` std could do)
#   derivative     #[derive(Derivative)] #[derivative(Clone)]
#   empty          the structs alone, no impl (the floor: parsing, type-checking the
#                  structs, cargo's own start-up)
#   gx_guardian    guardian's expansion of these structs, written out by hand (no
#                  macro): what compiling the derive's *output* costs
#   gx_floor       syn_floor's expansion, written out by hand
#
# Build time = the macro's own run + compiling its output; gx_guardian and gx_floor
# separate the two.
#
# What is timed: `cargo build -p <crate>` (debug profile, CARGO_INCREMENTAL=0) after
# `touch src/lib.rs`, all dependencies (guardian-core and its proc-macro, educe, ...)
# already built by a warm-up build: the compile of that one crate, proc-macro
# expansion included, plus cargo's start-up (the `empty` row shows that floor).
# Rounds are interleaved (round 1: every variant once, round 2: ...), R rounds, and
# the median and minimum of each variant are printed with the ratio of the medians
# to `hand`.
#
#   bash benches/compile_time.sh [derives|floor|instructions|alt|deps] [R]
#
#   derives       (default) every variant but gx_*, timed
#   floor         hand, builtin, bridge, syn_floor, guardian, gx_guardian, gx_floor, timed
#   instructions  the instructions rustc executes to build hand, syn_floor,
#                 syn_floor_attrs, guardian, gx_guardian and gx_floor (or $VARIANTS),
#                 counted with valgrind (cachegrind): the same for every run, whatever
#                 else the machine does (R is ignored)
#   alt           hand, builtin, guardian and guardian_alt: the same derive from another
#                 checkout, $GUARDIAN_ALT (to measure a change to the generated code)
#   deps          clean build of guardian-core (default features) next to thiserror 2's,
#                 each in its own target dir, and the syn features each enables
#
# Scratch crates go in $SCRATCH (default target/bench-scratch/compile-time in this
# repository, removed by `cargo clean`); guardian
# is taken from $GUARDIAN (default: this repository).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
GUARDIAN=${GUARDIAN:-$here}
SCRATCH=${SCRATCH:-$here/target/bench-scratch/compile-time}
MODE=${1:-derives}
ROUNDS=${2:-5}
STRUCTS=${STRUCTS:-2000}
export CARGO_INCREMENTAL=0 CARGO_TERM_COLOR=never
unset CARGO_TARGET_DIR RUSTFLAGS

# --- generation ---------------------------------------------------------------

# The fields of struct $1: the eighth is `T` in every fourth struct.
generic() { (( $1 % 4 == 3 )); }

# struct_head <i>: `pub struct S<i>` with its generics.
struct_head() { if generic "$1"; then printf 'pub struct S%d<T>' "$1"; else printf 'pub struct S%d' "$1"; fi; }
last_ty() { if generic "$1"; then echo T; else echo 'Vec<u8>'; fi; }

# fields <i> <attr>: the 8 fields, each preceded by <attr> (may be empty).
fields() {
  local a=$2
  printf ' {\n%s    pub name: String,\n%s    pub id: u64,\n%s    pub tags: Vec<String>,\n%s    pub note: Option<String>,\n%s    pub root: PathBuf,\n%s    pub limits: HashMap<String, u32>,\n%s    pub flag: bool,\n%s    pub extra: %s,\n}\n' \
    "$a" "$a" "$a" "$a" "$a" "$a" "$a" "$a" "$(last_ty "$1")"
}

# impl_head <i> <trait>: `impl[<T: Clone>] Trait for S<i>[<T>]`
impl_head() {
  if generic "$1"; then printf 'impl<T: ::core::clone::Clone> %s for S%d<T>' "$2" "$1"
  else printf 'impl %s for S%d' "$2" "$1"; fi
}
self_ty() { if generic "$1"; then printf 'S%d<T>' "$1"; else printf 'S%d' "$1"; fi; }

gen_struct() { # variant i
  local v=$1 i=$2
  case $v in
    empty) struct_head "$i"; fields "$i" "" ;;
    builtin) echo '#[derive(Clone)]'; struct_head "$i"; fields "$i" "" ;;
    hand|hand_noinline)
      struct_head "$i"; fields "$i" ""
      impl_head "$i" Clone; echo ' {'
      [ "$v" = hand ] && echo '    #[inline]'
      printf '    fn clone(&self) -> Self {\n        Self {\n            name: self.name.clone(),\n            id: self.id,\n            tags: self.tags.clone(),\n            note: self.note.clone(),\n            root: self.root.clone(),\n            limits: self.limits.clone(),\n            flag: self.flag,\n            extra: self.extra.clone(),\n        }\n    }\n}\n' ;;
    guardian|guardian_alt) echo '#[derive(guardian_core::Rebuild)]'; struct_head "$i"; fields "$i" "    #[config]
" ;;
    educe) printf '#[derive(educe::Educe)]\n#[educe(Clone)]\n'; struct_head "$i"; fields "$i" "" ;;
    derive_where)
      # derive-where refuses a plain `Clone` that std's derive could do ("this can be
      # handled by standard `#[derive(..)]`") unless a custom bound is given: the
      # bound std would infer (`T: Clone`), or a trivially true one (`u64: Clone`).
      if generic "$i"; then echo '#[derive_where::derive_where(Clone; T: Clone)]'; else echo '#[derive_where::derive_where(Clone; u64: Clone)]'; fi
      struct_head "$i"; fields "$i" "" ;;
    derivative) printf '#[derive(derivative::Derivative)]\n#[derivative(Clone)]\n'; struct_head "$i"; fields "$i" "" ;;
    syn_floor) echo '#[derive(guardian_bench_floor::SynFloorClone)]'; struct_head "$i"; fields "$i" "" ;;
    syn_floor_attrs) echo '#[derive(guardian_bench_floor::SynFloorClone)]'; struct_head "$i"; fields "$i" "    #[config]
" ;;
    bridge) echo '#[derive(guardian_bench_floor::Nothing)]'; gen_struct hand "$i" ;;
    gx_guardian|gx_floor) struct_head "$i"; fields "$i" ""; gen_gx "$v" "$i" ;;
  esac
}

# Hand-written expansions of struct i: `gx_guardian` is what `#[derive(Rebuild)]`
# emits for it (every field #[config]; see guardian-derive/src/expand/mod.rs), and
# `gx_floor` what `SynFloorClone` emits.
gen_gx() {
  local v=$1 i=$2 f
  if [ "$v" = gx_guardian ]; then
    echo '#[automatically_derived]'
    if generic "$i"; then printf 'impl<T> ::guardian_core::Rebuild for S%d<T> where T: ::core::clone::Clone, {\n' "$i"; else printf 'impl ::guardian_core::Rebuild for S%d {\n' "$i"; fi
    printf '    #[inline]\n    fn rebuild(&self) -> ::core::result::Result<Self, ::guardian_core::RebuildError> {\n        ::core::result::Result::Ok(Self {\n'
    for f in name id tags note root limits flag extra; do printf '            %s: ::core::clone::Clone::clone(&self.%s),\n' $f $f; done
    printf '        })\n    }\n}\n'
  else
    if generic "$i"; then printf 'impl<T: ::core::clone::Clone> ::core::clone::Clone for S%d<T> {\n' "$i"; else printf 'impl ::core::clone::Clone for S%d {\n' "$i"; fi
    printf '    #[inline]\n    fn clone(&self) -> Self {\n        Self {\n'
    for f in name id tags note root limits flag extra; do printf '            %s: ::core::clone::Clone::clone(&self.%s),\n' $f $f; done
    printf '        }\n    }\n}\n'
  fi
}

gen_crate() { # variant
  local v=$1 dir=$SCRATCH/crates/$1 deps="" i
  mkdir -p "$dir/src"
  case $v in
    guardian|gx_*) deps="guardian-core = { path = \"$GUARDIAN/guardian-core\" }" ;;
    guardian_alt) deps="guardian-core = { path = \"${GUARDIAN_ALT:?set GUARDIAN_ALT}/guardian-core\" }" ;;
    educe) deps='educe = { version = "0.6", default-features = false, features = ["Clone"] }' ;;
    derive_where) deps='derive-where = "1"' ;;
    derivative) deps='derivative = "2"' ;;
    syn_floor|syn_floor_attrs|bridge) deps="guardian-bench-floor = { path = \"$GUARDIAN/benches/floor\" }" ;;
  esac
  printf '[package]\nname = "ct-%s"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n[dependencies]\n%s\n' "${v//_/-}" "$deps" > "$dir/Cargo.toml.new"
  # Two guardian-cores cannot share a lockfile: the alternative is its own workspace.
  [ "$v" = guardian_alt ] && printf '\n[workspace]\n' >> "$dir/Cargo.toml.new"
  {
    printf '//! %d generated structs (%s).\n#![allow(missing_docs, dead_code)]\nuse std::collections::HashMap;\nuse std::path::PathBuf;\n\n' "$STRUCTS" "$v"
    for ((i = 0; i < STRUCTS; i++)); do gen_struct "$v" "$i"; done
  } > "$dir/src/lib.rs.new"
  # Keep the files (and their mtimes) when nothing changed.
  for f in Cargo.toml src/lib.rs; do
    if cmp -s "$dir/$f.new" "$dir/$f"; then rm "$dir/$f.new"; else mv "$dir/$f.new" "$dir/$f"; fi
  done
}

# --- timing -------------------------------------------------------------------

now() { date +%s.%N; }

build_once() { # variant -> "wall/cpu" seconds (cpu: user + system of cargo and rustc)
  local out TIMEFORMAT='%R %U %S'
  touch "$SCRATCH/crates/$1/src/lib.rs"
  local ws=$SCRATCH
  [ "$1" = guardian_alt ] && ws=$SCRATCH/crates/guardian_alt
  out=$( { time (cd "$ws" && cargo build -q -p "ct-${1//_/-}" 2>/dev/null) ; } 2>&1 ) \
    || { echo "build of $1 failed" >&2; (cd "$ws" && cargo build -p "ct-${1//_/-}" 2>&1 | grep -m5 -A5 '^error') >&2; exit 1; }
  awk '{ printf "%.2f/%.2f", $1, $2 + $3 }' <<<"$out"
}

# Generates the variants' crates and their workspace, and builds each once (so that
# every dependency is built before anything is measured).
prepare_variants() { # variants...
  local vs=("$@") v
  mkdir -p "$SCRATCH/crates"
  for v in "${vs[@]}"; do gen_crate "$v"; done
  {
    printf '[workspace]\nresolver = "3"\nmembers = ['
    for v in "${vs[@]}"; do [ "$v" = guardian_alt ] || printf '"crates/%s", ' "$v"; done
    printf ']\n'
  } > "$SCRATCH/Cargo.toml"
  # Each crate alone (`-p`), as it is timed: features are resolved per selection.
  echo "warm-up: building dependencies and every crate once" >&2
  for v in "${vs[@]}"; do build_once "$v" >/dev/null; done
}

time_variants() { # variants...
  local vs=("$@") v r times
  prepare_variants "${vs[@]}"
  declare -A times
  for ((r = 1; r <= ROUNDS; r++)); do
    for v in "${vs[@]}"; do times[$v]+="$(build_once "$v") "; done
    echo "round $r/$ROUNDS done" >&2
  done
  local hw hc
  hw=$(med $(walls ${times[hand]:-}))
  hc=$(med $(cpus ${times[hand]:-}))
  printf '%-17s %8s %8s %7s   %8s %8s %7s   %s\n' variant 'wall med' 'wall min' '/hand' 'cpu med' 'cpu min' '/hand' 'all runs: wall/cpu (s)'
  for v in "${vs[@]}"; do
    local mw mc
    mw=$(med $(walls ${times[$v]}))
    mc=$(med $(cpus ${times[$v]}))
    printf '%-17s %8s %8s %7s   %8s %8s %7s   %s\n' "$v" "$mw" "$(min $(walls ${times[$v]}))" "$(ratio "$mw" "$hw")" \
      "$mc" "$(min $(cpus ${times[$v]}))" "$(ratio "$mc" "$hc")" "${times[$v]}"
  done
}

walls() { printf '%s\n' "$@" | cut -d/ -f1; }
cpus() { printf '%s\n' "$@" | cut -d/ -f2; }
ratio() { awk -v m="$1" -v h="$2" 'BEGIN { if (h > 0) printf "%.2fx", m / h; else print "-" }'; }
ratio3() { awk -v m="$1" -v h="$2" 'BEGIN { if (h > 0) printf "%.3fx", m / h; else print "-" }'; }

med() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
min() { printf '%s\n' "$@" | sort -g | head -1; }

deps() {
  local d=$SCRATCH/deps v r t0 t1
  mkdir -p "$d/guardian/src" "$d/thiserror/src"
  printf '[package]\nname = "dep-guardian"\nversion = "0.0.0"\nedition = "2024"\n\n[dependencies]\nguardian-core = { path = "%s/guardian-core" }\n\n[workspace]\n' "$GUARDIAN" > "$d/guardian/Cargo.toml"
  printf '[package]\nname = "dep-thiserror"\nversion = "0.0.0"\nedition = "2024"\n\n[dependencies]\nthiserror = "2"\n\n[workspace]\n' > "$d/thiserror/Cargo.toml"
  echo 'pub use guardian_core;' > "$d/guardian/src/lib.rs"
  echo 'pub use thiserror;' > "$d/thiserror/src/lib.rs"
  declare -A times
  for v in guardian thiserror; do (cd "$d/$v" && cargo fetch -q && cargo build -q); done
  for ((r = 1; r <= ROUNDS; r++)); do
    for v in guardian thiserror; do
      rm -rf "$d/$v/target"
      t0=$(now)
      (cd "$d/$v" && cargo build -q --offline)
      t1=$(now)
      times[$v]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') "
    done
    echo "round $r/$ROUNDS done" >&2
  done
  printf 'clean debug build of the dependency and everything under it (cargo build, -j%s):\n' "$(nproc)"
  printf '%-12s %9s %9s   %s\n' crate median min 'all runs (s)'
  for v in guardian thiserror; do
    printf '%-12s %9s %9s   %s\n' "$v" "$(med ${times[$v]})" "$(min ${times[$v]})" "${times[$v]}"
  done
  for v in guardian thiserror; do
    printf '\n%s: the crates built, and the features of syn:\n' "$v"
    (cd "$d/$v" && cargo tree -q --offline --prefix none -e normal,build | sort -u | sed 's/^/  /')
    (cd "$d/$v" && cargo tree -q --offline -e features -i syn | grep -o 'syn feature "[^"]*"' | sort -u | sed 's/^/  /')
  done
}

# The instructions rustc executes to build each variant's crate (dev profile, no
# incremental), counted by cachegrind: rustc is run directly, with the command cargo
# would run (read from `cargo build -v`), all dependencies already built.
count_instructions() { # variants...
  local vs=("$@") v cmd ir
  command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
  prepare_variants "${vs[@]}"
  declare -A irs
  for v in "${vs[@]}"; do
    touch "$SCRATCH/crates/$v/src/lib.rs"
    cmd=$(cd "$SCRATCH" && cargo build -v -p "ct-${v//_/-}" 2>&1 | sed -n 's/^ *Running `\(.*\)`$/\1/p' | tail -1)
    touch "$SCRATCH/crates/$v/src/lib.rs"
    ir=$(cd "$SCRATCH" && eval "valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null $cmd" 2>&1 \
      | awk '/I *refs:/ { gsub(",", "", $NF); print $NF }')
    irs[$v]=$ir
    echo "$v: $ir instructions" >&2
  done
  printf '%-12s %16s %10s %12s\n' variant instructions /hand /syn_floor
  for v in "${vs[@]}"; do
    printf '%-12s %16s %10s %12s\n' "$v" "${irs[$v]}" "$(ratio3 "${irs[$v]}" "${irs[hand]:-0}")" "$(ratio3 "${irs[$v]}" "${irs[syn_floor]:-0}")"
  done
}

case $MODE in
  derives) time_variants empty hand hand_noinline builtin bridge syn_floor guardian educe derive_where derivative ;;
  floor) time_variants hand builtin bridge syn_floor guardian gx_guardian gx_floor ;;
  instructions) count_instructions ${VARIANTS:-hand syn_floor syn_floor_attrs guardian gx_guardian gx_floor} ;;
  alt) time_variants hand builtin guardian guardian_alt ;;
  deps) deps ;;
  *) echo "usage: $0 [derives|floor|instructions|alt|deps] [rounds]" >&2; exit 2 ;;
esac
