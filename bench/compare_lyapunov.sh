#!/usr/bin/env bash
# The full Lyapunov spectrum of the 1000-layer width-256 tanh MLP, gradscope (QR route,
# bench/lyapunov_bench.cpp) against the naive way in PyTorch (explicit Jacobian product +
# svdvals, bench/lyapunov_torch.py), measured in the same run: ROUNDS rounds (default 5), each one
# gradscope run then one PyTorch run, one thread each; prints every round, the medians and the
# ratio. Builds nothing; first:
#
#   cmake --preset release && cmake --build --preset release --target lyapunov_bench
#   bench/compare_lyapunov.sh [ROUNDS]
#
# Each side is a fresh process that builds its network untimed, runs the job once untimed (the
# C++ bench's correctness check, the script's warm-up) and then once timed.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-5}
bench=build/release/bench/lyapunov_bench
python=/usr/bin/python3  # Debian's, with python3-torch
if [[ ! -x $bench ]]; then
  echo "compare_lyapunov: $bench not found; build it first:" \
    "cmake --preset release && cmake --build --preset release --target lyapunov_bench" >&2
  exit 2
fi
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(getconf _NPROCESSORS_ONLN) cores," \
  "1 thread per side; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round  gradscope_s  torch_s"
gradscope_times=()
torch_times=()
for round in $(seq "$rounds"); do
  g=$($bench --benchmark_filter='^BM_LyapunovSpectrum/depth:1000/width:256$' \
    --benchmark_min_time=0.01 --benchmark_format=json |
    $python -c 'import json, sys; b = json.load(sys.stdin)["benchmarks"][0]
assert b["time_unit"] == "ms"; print(b["real_time"] / 1e3)')
  t=$($python bench/lyapunov_torch.py --depth 1000 --width 256 --repeats 1 --threads 1 --json |
    $python -c 'import json, sys; r = json.load(sys.stdin); assert r["threads"] == 1
print(r["median"])')
  printf '%5d  %11.3f  %7.3f\n' "$round" "$g" "$t"
  gradscope_times+=("$g")
  torch_times+=("$t")
done
$python - "${gradscope_times[*]}" "${torch_times[*]}" <<'EOF'
import statistics, sys
g = statistics.median(map(float, sys.argv[1].split()))
t = statistics.median(map(float, sys.argv[2].split()))
print(f"median: gradscope (QR route) {g:.3f} s, PyTorch naive (product + svdvals) {t:.3f} s; "
      f"torch/gradscope = {t / g:.2f}")
EOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
