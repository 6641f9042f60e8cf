#!/usr/bin/env bash
# Installs, from Debian's package registry, whatever gradscope needs that this machine lacks.
# Unattended and idempotent: packages already installed are left alone.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang-format       # the formatting check in CI
  # The fuzz preset (fuzz/, run in CI): clang 14, and libFuzzer's runtime with ASan's and UBSan's,
  # which libclang-common-14-dev only recommends (so --no-install-recommends would leave it out).
  clang libclang-rt-14-dev
  libeigen3-dev      # linear algebra
  libcli11-dev       # command-line parsing
  nlohmann-json3-dev # run logs, --json output
  libfmt-dev         # formatting (g++ 12 has no <format>)
  zlib1g-dev         # reading the gzipped Fashion-MNIST IDX files
  libgtest-dev libgmock-dev   # tests
  libbenchmark-dev   # bench/
  dataset-fashion-mnist       # the Fashion-MNIST task's data
  python3 python3-torch       # PyTorch as the oracle of the gradient tests (Debian's 1.13)
  # OpenBLAS for PyTorch in bench/compare (without it PyTorch falls back to the reference BLAS and
  # the comparison means nothing); its headers for bench/gemm_bench (Eigen's product against it).
  libopenblas0-openmp libopenblas-openmp-dev
  # LAPACK's C interface, for eigenvalues and singular values (dgeev, dgesdd: 11 and 3 times
  # Eigen's EigenSolver and BDCSVD on a 256 x 256); it calls the LAPACK that OpenBLAS carries.
  liblapacke-dev
  chromium           # the report's browser test: headless Chromium driven by playwright-core
  # gradscope sweep across MPI ranks (mpirun -np N gradscope sweep ...) and its test: Debian's
  # Open MPI. Optional at build time (CMake finds it or builds without MPI); CI installs it.
  libopenmpi-dev openmpi-bin
)
# The report's charts (vega, vega-lite, vega-embed) and playwright-core come from the npm registry
# (report/package.json, installed into the build dir by `npm ci`). A machine whose Node.js came
# from elsewhere (NodeSource's nodejs bundles npm) keeps it; otherwise Debian's nodejs and npm.
if ! command -v node >/dev/null; then packages+=(nodejs); fi
if ! command -v npm >/dev/null; then packages+=(npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
