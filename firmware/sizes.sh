#!/usr/bin/env bash
# Flash bytes of each measured primal and of the functions generated from it (`NAME_grad`,
# `NAME_hvp`, `NAME_relaxed_grad`, …), from the symbol sizes of the release ELF, one row each, in
# the order of their names (so each primal's row comes first, its generated functions' after).
#
# The measured functions are the `#[inline(never)]` monomorphic wrappers in `src/figures.rs`
# (`relax_firmware::figures::measured::NAME`): a generic function has no symbol until it is
# instantiated, and an instance may be inlined or merged, so the wrapper is what has a symbol. A wrapper may be a 12-byte jump to the function that holds the code, and that code
# calls rules and libm, so each figure is the code reachable from the wrapper: its size plus the
# sizes of every function it calls, transitively (calls read from the disassembly). Code shared by
# all float code (libm, compiler-builtins) is counted apart, and the panic path (`core::panicking`,
# formatting, the panic handler) is not followed: a firmware has it once, whatever it runs.
#
# Usage: ./sizes.sh [-v]   (-v lists the functions each figure counts)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
verbose="${1:-}"

if command -v llvm-nm >/dev/null && command -v llvm-objdump >/dev/null; then
  nm=llvm-nm objdump=llvm-objdump
else
  if ! command -v arm-none-eabi-nm >/dev/null; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q binutils-arm-none-eabi >/dev/null
  fi
  nm=arm-none-eabi-nm objdump=arm-none-eabi-objdump
fi

cargo build --release --quiet
elf=target/thumbv7em-none-eabihf/release/relax-firmware
symbols="$(mktemp)" disassembly="$(mktemp)"
trap 'rm -f "$symbols" "$disassembly"' EXIT
"$nm" -S -C "$elf" >"$symbols"
"$objdump" -d -C "$elf" >"$disassembly"

awk -v verbose="$verbose" '
function hex(s,   i, n) {
  s = tolower(s); sub(/^0x/, "", s); n = 0
  for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
  return n
}
# Functions: the text symbols with a size; Thumb addresses without their low bit; names without hash.
FNR == NR {
  if (NF >= 4 && $3 ~ /^[tTwW]$/ && hex($2) > 0) {
    a = hex($1); a -= a % 2; name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name); sub(/::h[0-9a-f]+$/, "", name)
    if (!(a in size)) { size[a] = hex($2); fname[a] = name; order[count++] = a }
  }
  next
}
# Calls: a branch whose target is the start of another function, from the function the branch is in.
/^[0-9a-f]+ <.*>:$/ { a = hex($1); if (a in size) current = a; next }
/\tb[a-z]*(\.[nw])?\t(0x)?[0-9a-f]+ </ {
  t = $0; sub(/.*\tb[a-z]*(\.[nw])?\t/, "", t); sub(/ .*/, "", t); t = hex(t)
  if (current != "" && (t in size) && t != current) calls[current, t] = 1
}
function shared(name) { return name ~ /^(libm::|compiler_builtins::|__aeabi_|__)/ || name ~ /^[a-z0-9_]+f$/ }
function panics(name) { return name ~ /^(core::panicking::|core::fmt::|core::result::unwrap_failed|rust_begin_unwind)/ }
# Code reachable from root, split into own and shared bytes; the list when -v.
function reach(root,   queue, head, tail, seen, f, g, own, lib, list) {
  queue[0] = root; seen[root] = 1; head = 0; tail = 1; own = 0; lib = 0; list = ""
  while (head < tail) {
    f = queue[head++]
    if (shared(fname[f])) lib += size[f]; else own += size[f]
    list = list "      " size[f] "\t" fname[f] "\n"
    for (g in size) if (((f, g) in calls) && !(g in seen) && !panics(fname[g])) { seen[g] = 1; queue[tail++] = g }
  }
  if (verbose == "-v") printf "%s", list
  return own " " lib
}
END {
  prefix = "relax_firmware::figures::measured::"
  n = 0
  for (k = 0; k < count; k++) if (index(fname[a = order[k]], prefix) == 1) { nm = substr(fname[a], length(prefix) + 1); addr[nm] = a; names[n++] = nm }
  for (i = 1; i < n; i++) for (j = i; j > 0 && names[j - 1] > names[j]; j--) { t = names[j]; names[j] = names[j - 1]; names[j - 1] = t }
  printf "flash bytes: code reachable from each function (own + libm/compiler-builtins; panic path not counted)\n"
  printf "  %-30s %6s + %s\n", "function", "own", "shared"
  for (i = 0; i < n; i++) {
    if (verbose == "-v") printf "  %s:\n", names[i]
    split(reach(addr[names[i]]), r, " ")
    printf "  %-30s %6s + %s\n", names[i], r[1], r[2]
  }
}
' "$symbols" "$disassembly"
