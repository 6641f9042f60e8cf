#!/usr/bin/python3
"""The full Lyapunov spectrum of a deep tanh MLP the naive way, in PyTorch (issue 5).

The job is bench/lyapunov_bench.cpp's: a tanh MLP, inputs = width, Gaussian init
W ~ N(0, sigma_w^2 / width), b ~ N(0, sigma_b^2) with sigma_w^2 = 1, sigma_b^2 = 0.05, float64;
one sample x ~ N(0, 1); the exponents of the product of the hidden layers' Jacobians 2 .. depth-1
(T = depth - 2 factors). The naive way: forward the sample, form every explicit Jacobian
J_l = diag(1 - h_l^2) W_l, multiply them into P = J_{depth-1} ... J_2, take torch.linalg.svdvals(P)
and lambda_i = log(sigma_i) / T. The network is built outside the timed part, as in the C++ bench.

Run with Debian's interpreter (python3-torch), not the pyenv python on PATH:

  /usr/bin/python3 bench/lyapunov_torch.py [--depth 1000] [--width 256] [--repeats 5]
      [--threads 1] [--json]
      times the naive job (time.perf_counter, one untimed warm-up run, then --repeats runs) and
      prints the median.
  /usr/bin/python3 bench/lyapunov_torch.py --check DIR [--depth 1000] [--width 256]
      accuracy: runs the naive job on the exact network and sample that
      `lyapunov_bench --export=DIR` wrote, and compares with gradscope's answer from the same file.
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch

SIGMA_W2 = 1.0
SIGMA_B2 = 0.05
FIRST_LAYER = 2  # the chain is layers 2 .. depth-1, as in the C++ bench
TOLERANCE = 1e-3  # per-factor exponent, natural log: a factor e in sigma over T = 1000 layers
# The one-pass Lyapunov exponents differ from log(sigma_i)/T by O(log(n)/T) (5e-3 at 1000 x 256):
# against them, a naive exponent counts as wrong beyond this.
LYAPUNOV_TOLERANCE = 1e-2


def build_network(depth, width, seed):
    """Layers 1 .. depth-1 (the linear head is not part of the chain): lists of W (width, width)
    and b (width,), and the sample x (width,)."""
    torch.manual_seed(seed)
    weights, biases = [], []
    for _ in range(depth - 1):
        weights.append(torch.randn(width, width, dtype=torch.float64) * math.sqrt(SIGMA_W2 / width))
        biases.append(torch.randn(width, dtype=torch.float64) * math.sqrt(SIGMA_B2))
    x = torch.randn(width, dtype=torch.float64)
    return weights, biases, x


def naive_exponents(weights, biases, x):
    """Forward, explicit Jacobians, explicit product, svdvals: log(sigma_i) / T, descending."""
    with torch.no_grad():
        h = x
        product = None
        for layer, (w, b) in enumerate(zip(weights, biases), start=1):
            h = torch.tanh(w @ h + b)
            if layer < FIRST_LAYER:
                continue
            jacobian = (1.0 - h * h)[:, None] * w  # diag(1 - h^2) W, (width, width)
            product = jacobian if product is None else jacobian @ product
        factors = len(weights) - FIRST_LAYER + 1
        return torch.log(torch.linalg.svdvals(product)) / factors


def read_safetensors(path):
    """name -> numpy array, for the F64 tensors gradscope writes (row-major, little-endian)."""
    with open(path, "rb") as f:
        header_size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_size)
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F64":
            sys.exit(f"{path}: tensor {name} is {entry['dtype']}, expected F64")
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f8").reshape(entry["shape"])
    return tensors


def load_export(directory, depth, width):
    stem = os.path.join(directory, f"lyapunov_{depth}x{width}")
    tensors = read_safetensors(stem + ".safetensors")
    # Child 2(l-1) of the nn.Sequential is layer l's Linear.
    weights = [torch.from_numpy(np.array(tensors[f"{2 * l}.weight"])) for l in range(depth - 1)]
    biases = [torch.from_numpy(np.array(tensors[f"{2 * l}.bias"])) for l in range(depth - 1)]
    x = torch.from_numpy(np.array(tensors["x"]))
    with open(stem + ".json") as f:
        gradscope = json.load(f)
    return weights, biases, x, gradscope


def as_array(values):
    return np.array([-math.inf if v is None else v for v in values], dtype=np.float64)


def compare(name, naive, reference, tolerance):
    """How many naive exponents are non-finite or off by more than `tolerance`, and from where."""
    error = np.abs(naive - reference)
    bad = ~np.isfinite(naive) | (error > tolerance)
    first_bad = int(np.argmax(bad)) if bad.any() else len(naive)
    good_error = error[:first_bad].max() if first_bad else math.nan
    worst = int(np.nanargmax(np.where(np.isfinite(error), error, np.inf)))
    print(f"  naive vs {name}: {int(bad.sum())} of {len(naive)} wrong (non-finite or "
          f"|difference| > {tolerance:g}); the first {first_bad} agree to {good_error:.1e}; "
          f"worst at index {worst}: {naive[worst]:.4f} instead of {reference[worst]:.4f}")


def check(args):
    weights, biases, x, gradscope = load_export(args.check, args.depth, args.width)
    naive = naive_exponents(weights, biases, x).numpy()
    lyapunov = as_array(gradscope["lyapunov"])
    singular = as_array(gradscope["log_sigma_over_t"])
    spread = np.abs(lyapunov - singular).max()
    print(f"accuracy, depth {args.depth} width {args.width} ({gradscope['factors']} factors), "
          f"the network and sample of lyapunov_bench --export={args.check}; exponents per factor, "
          f"natural log, descending:")
    print(f"  gradscope log(sigma_i(P))/T (product_singular_values, {gradscope['sv_passes']} "
          f"passes, last change {gradscope['sv_last_change']:.1e} in log sigma): "
          f"{singular[0]:.4f} .. {singular[-1]:.4f}, {int(np.isfinite(singular).sum())} finite")
    print(f"  gradscope Lyapunov exponents (QR route, one pass): {lyapunov[0]:.4f} .. "
          f"{lyapunov[-1]:.4f}, {int(np.isfinite(lyapunov).sum())} finite; largest |difference| "
          f"to log(sigma_i)/T {spread:.1e} (a finite product's O(log(n)/T))")
    print(f"  naive (explicit product + svdvals): {naive[0]:.4f} .. {naive[-1]:.4f}, "
          f"{int((~np.isfinite(naive)).sum())} non-finite, median {np.median(naive):.4f} "
          f"(true median {np.median(singular):.4f})")
    compare("log(sigma_i)/T", naive, singular, TOLERANCE)
    compare("the Lyapunov exponents", naive, lyapunov, LYAPUNOV_TOLERANCE)


def timing(args):
    weights, biases, x = build_network(args.depth, args.width, args.seed)
    naive_exponents(weights, biases, x)  # warm-up: BLAS/LAPACK buffers, page faults
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        exponents = naive_exponents(weights, biases, x)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    finite = torch.isfinite(exponents)
    if args.json:
        print(json.dumps({"seconds": seconds, "median": median, "threads": torch.get_num_threads(),
                          "top": exponents[0].item(), "non_finite": int((~finite).sum())}))
        return
    print(f"naive PyTorch {torch.__version__} ({platform.python_implementation()} "
          f"{platform.python_version()}), threads {torch.get_num_threads()}: depth {args.depth} "
          f"width {args.width} float64, {args.depth - FIRST_LAYER} factors")
    print("  runs (s): " + " ".join(f"{s:.3f}" for s in seconds))
    print(f"  median {median:.3f} s; top exponent {exponents[0].item():.6f}, "
          f"{int((~finite).sum())} non-finite of {len(exponents)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depth", type=int, default=1000)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="one JSON line (for the driver)")
    parser.add_argument("--check", metavar="DIR", help="compare with lyapunov_bench --export=DIR")
    args = parser.parse_args()
    if args.depth < 3 or args.width < 1 or args.repeats < 1 or args.threads < 1:
        parser.error("need --depth >= 3, --width >= 1, --repeats >= 1, --threads >= 1")
    torch.set_num_threads(args.threads)
    if args.check:
        check(args)
    else:
        timing(args)


if __name__ == "__main__":
    main()
