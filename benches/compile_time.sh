#!/usr/bin/env bash
# Compile time of a crate with 30 differentiable functions, with and without `#[differentiable]`
# (the same bodies either way), the same crate calling each function's `_grad` once (the generated
# functions are `#[inline]`: a crate compiles to machine code the ones it calls), and the
# attribute's expansion time per function.
#   bash benches/compile_time.sh
# Dependencies are built first; what is timed is rebuilding the crate itself (release), median of 5.
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
  {
    echo "#![allow(clippy::all)]"
    echo "use relax::prelude::*;"
    functions "$2"
    if [ -n "${3:-}" ]; then
      for k in $(seq 1 6); do sed -e '/^\/\//d' -e "s/_K/_$k/g" "$root/benches/compile_time/calls.rs"; done
    fi
  } >"$work/$1/src/lib.rs"
}

time_crate() { # median seconds of 5 rebuilds of the crate alone
  (cd "$work/$1" && cargo build --release -q)
  local times=()
  for _ in 1 2 3 4 5; do
    touch "$work/$1/src/lib.rs"
    local start end
    start=$(date +%s.%N)
    (cd "$work/$1" && cargo build --release -q)
    end=$(date +%s.%N)
    times+=("$(awk "BEGIN { print $end - $start }")")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 3p
}

make_crate with_relax "#[differentiable]"
make_crate without_relax ""
make_crate called "#[differentiable]" calls
with=$(time_crate with_relax)
without=$(time_crate without_relax)
called=$(time_crate called)
echo "crate with 30 functions, release rebuild (median of 5):"
echo "  plain functions:                  ${without} s"
echo "  with #[differentiable] on each:   ${with} s"
echo "  and each one's _grad called:      ${called} s"
echo
echo "expansion alone (outside rustc):"
cd "$root" && cargo test -q --release -p relax-macros expansion_time -- --ignored --nocapture 2>/dev/null | grep -E "expansion"
