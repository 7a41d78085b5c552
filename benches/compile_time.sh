#!/usr/bin/env bash
# Compile time of a crate with 30 differentiable functions, with and without `#[differentiable]`
# (the same bodies either way), the same crate calling each function's `_grad` once (the generated
# functions are `#[inline]`: a crate compiles to machine code the ones it calls), the attributed
# crate again with the macro built optimised (`[profile.release.build-override] opt-level = 3`),
# and the attribute's expansion time per function.
#   bash benches/compile_time.sh
# Dependencies are built first; what is timed is rebuilding each crate itself (release), the four
# in turn, ROUNDS times (default 11).
#   bash benches/compile_time.sh --count
# counts instead the instructions rustc executes building the plain crate and the attributed one
# (macro expansion included), with Valgrind's cachegrind (installed where missing): the same on
# every run and every machine, where the times follow the machine's speed and load.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d /tmp/relax-compile-time.XXXXXX)
trap 'rm -rf "$work"' EXIT

functions() { # $1: the attribute line, or nothing
  for k in $(seq 1 6); do
    sed -e '/^\/\//d' -e "s/^pub fn \([a-z]*\)(/$1\npub fn \1_$k(/" "$root/benches/compile_time/functions.rs"
  done
}

make_crate() { # $1: name, $2: attribute line, $3: also call each gradient (optional)
  mkdir -p "$work/$1/src"
  cat >"$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2024"
[dependencies]
relax = { path = "$root" }
[workspace]
TOML
  # Cargo builds proc macros without optimisation unless the crate asks (README, "Compile time").
  if [ "$1" = optimised_macro ]; then
    printf '[profile.release.build-override]\nopt-level = 3\n' >>"$work/$1/Cargo.toml"
  fi
  {
    echo "#![allow(clippy::all)]"
    echo "use relax::prelude::*;"
    functions "$2"
    if [ -n "${3:-}" ]; then
      for k in $(seq 1 6); do sed -e '/^\/\//d' -e "s/_K/_$k/g" "$root/benches/compile_time/calls.rs"; done
    fi
  } >"$work/$1/src/lib.rs"
}

rebuild() { # seconds to rebuild the crate $1 alone
  touch "$work/$1/src/lib.rs"
  local start end
  start=$(date +%s.%N)
  (cd "$work/$1" && cargo build --release -q)
  end=$(date +%s.%N)
  awk "BEGIN { print $end - $start }"
}

make_crate with_relax "#[differentiable]"
make_crate without_relax ""

if [ "${1:-}" = --count ]; then
  source "$root/benches/valgrind.sh"
  # Cargo runs rustc through the wrapper: the crate measured under cachegrind, its dependencies
  # (built first, in the same target directory) as they are.
  cat >"$work/rustc-wrapper" <<'SH'
#!/usr/bin/env bash
if [[ " $* " == *" --crate-name $RELAX_COUNTED "* ]]; then
  exec valgrind -q --tool=cachegrind --cache-sim=no --cachegrind-out-file="$RELAX_COUNT_OUT" "$@"
fi
exec "$@"
SH
  chmod +x "$work/rustc-wrapper"
  count() { # millions of instructions rustc executes building the crate $1
    (cd "$work/$1" && cargo build --release -q && touch src/lib.rs &&
      RUSTC_WRAPPER="$work/rustc-wrapper" RELAX_COUNTED="$1" RELAX_COUNT_OUT="$work/$1.cg" cargo build --release -q)
    awk '/^summary:/ { printf "%.0f", $2 / 1e6 }' "$work/$1.cg"
  }
  plain=$(count without_relax)
  with=$(count with_relax)
  echo "crate with 30 functions, rustc's instructions building it (release, cachegrind):"
  echo "  plain functions:                             $plain M"
  echo "  with #[differentiable] on each:              $with M"
  echo "  added per function by the attribute:         $(awk "BEGIN { printf \"%.1f\", ($with - $plain) / 30 }") M"
  exit 0
fi
make_crate called "#[differentiable]" calls
make_crate optimised_macro "#[differentiable]"
crates="without_relax with_relax called optimised_macro"
for crate in $crates; do (cd "$work/$crate" && cargo build --release -q); done
# The crates are rebuilt in turn, round after round, so that a change in the machine's load
# between rounds (a shared machine's usual state) falls on all of them alike: the figures per
# function are medians of each round's differences.
rounds=${ROUNDS:-11}
for _ in $(seq 1 "$rounds"); do
  # shellcheck disable=SC2046 # one line, the times separated by spaces
  echo $(for crate in $crates; do rebuild "$crate"; done)
done >"$work/times"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column() { printf "%.${2:-3}f" "$(awk "{ print $1 }" "$work/times" | median)"; }
echo "crate with 30 functions, release rebuild (medians of $rounds rounds, the crates in turn):"
echo "  plain functions:                             $(column '$1') s"
echo "  with #[differentiable] on each:              $(column '$2') s"
echo "  and each one's _grad called:                 $(column '$3') s"
echo "  added per function by the attribute:         $(column '($2 - $1) * 1000 / 30' 1) ms"
echo "  added per function, each _grad called too:   $(column '($3 - $1) * 1000 / 30' 1) ms"
echo "  added per function, the macro optimised:     $(column '($4 - $1) * 1000 / 30' 1) ms"
echo
echo "expansion alone (outside rustc):"
cd "$root" && cargo test -q --release -p relax-macros expansion_time -- --ignored --nocapture 2>/dev/null | grep -E "expansion"
