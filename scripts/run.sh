#!/usr/bin/env bash
# The main job: install what is missing, build the release binary, run the article's three regimes.
# Extra arguments go to `gradscope probe --regimes` (for example --depth 100 --json).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target gradscope_cli
./build/release/gradscope probe --regimes "$@"
