#!/usr/bin/env bash
# The whole test suite: install what is missing, build (warnings are errors), run every test,
# the learning runs labelled "slow" included.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev
ctest --preset dev "$@"
