#!/usr/bin/env bash
# Instruction counts, the performance regression gate: for every workload of
# `cargo bench --bench report`, the instructions one call of the primal, of relax's gradient and
# of the hand-written gradient executes, counted by Valgrind's cachegrind (deterministic, unlike
# times on a shared machine). Every gradient is checked first, as in the timed report.
#   bash benches/count.sh           prints the table; exits 1 when grad/hand > 1.10 on any workload
#   bash benches/count.sh --write   also writes the table into README.md
# Installs valgrind from the system's packages (apt-get) when it is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source benches/valgrind.sh
cargo bench --bench report -- --count "$@"
