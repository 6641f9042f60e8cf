#!/usr/bin/env bash
# The main job: install what is missing, build the release binary, run every experiment of the
# article in quick mode (each claim measured, with its figure and a PASS/FAIL verdict) and write
# the HTML report. Extra arguments go to `gradscope experiment all` (for example --seed 1, or
# --out DIR; drop --quick by running that command yourself).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target gradscope_cli report_assets
out=out/experiments
for ((i = 1; i <= $#; i++)); do
  if [[ ${!i} == --out ]]; then j=$((i + 1)); out=${!j}; fi
  if [[ ${!i} == --out=* ]]; then out=${!i#--out=}; fi
done
status=0
./build/release/gradscope experiment all --quick --out "$out" "$@" || status=$?
if [[ -f $out/verdicts.json ]]; then
  ./build/release/gradscope report "$out" -o "$out/report.html"
  echo "report: open $out/report.html in a browser (it works offline); verdicts: $out/verdicts.json"
fi
exit "$status"
