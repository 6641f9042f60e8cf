#!/usr/bin/python3
"""The PyTorch twin of `gradscope bench`: the same workloads, command line and JSON line.

Each workload is written as a PyTorch user would write it: stock modules, autograd, torch.optim,
nothing tuned. bench/compare runs this beside `gradscope bench` so that the comparison is with
ordinary PyTorch, the thing gradscope's users would otherwise reach for.

  mlp              one SGD training step (lr 1e-3, MSE) of a tanh MLP with D weight layers of
                   width 256 (inputs 256, outputs 10, batch 128), plus every layer's weight-gradient
                   norm, the per-layer record gradscope keeps while it trains.
  rnn, lstm, gru   one training step of a recurrent net: hidden 128, input 2, batch 64, T steps,
                   a linear head on the last step's output, MSE, clip_grad_norm_ 1.0, SGD lr 1e-3.
                   Plain: the fused nn.RNN (tanh) / nn.LSTM / nn.GRU. With --per-step-grad: what a
                   user has to write to see ||dL/dh_t|| at every step, since the fused modules do
                   not expose their hidden states to autograd: an unrolled loop of nn.RNNCell /
                   LSTMCell / GRUCell with h.retain_grad() on every step's hidden state.
  spectrum         the exponents log(sigma_i) / D of the end-to-end Jacobian of a D-layer tanh MLP
                   (width 256, float64, W ~ N(0, 1/256), b ~ N(0, 0.05), one sample x ~ N(0, 1)),
                   the naive way: explicit Jacobians diag(1 - h_l^2) W_l, their explicit product,
                   svdvals. With depth the product's small singular values fall below float64's
                   resolution and then to zero; the JSON says how many exponents stay finite.
                   (bench/lyapunov_torch.py is the same job over layers 2 .. D-1.)
  gemm             torch.mm of two float32 n x n matrices, n = 256, 512, 1024, 2048 (or --size):
                   the BLAS yardstick, one JSON line per size.

Usage (Debian's interpreter, which has python3-torch; the pyenv python on PATH has no torch):

  bench/torch_workloads.py WORKLOAD [--threads N] [--reps R] [--warmup W] [--depth D]
      [--steps T] [--size N] [--per-step-grad] [--seed S] [--json]

Each rep is timed with time.perf_counter after W untimed warm-up reps. With --json, one line per
measurement: side, workload, threads, reps, median_ms, min_ms, gflops (flops / median), flops,
max_rss_kb (this process's peak RSS so far), then the workload's parameters.
"""
import argparse
import collections
import json
import math
import os
import resource
import statistics
import time

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
WORKLOADS = ("mlp", "rnn", "lstm", "gru", "spectrum", "gemm")
RECURRENT = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
DEFAULT_DEPTH = {"mlp": 50, "spectrum": 100}
DEFAULT_STEPS = 200

LEARNING_RATE = 1e-3
MLP_INPUTS, MLP_WIDTH, MLP_OUTPUTS, MLP_BATCH = 256, 256, 10, 128
RNN_INPUTS, RNN_HIDDEN, RNN_BATCH = 2, 128, 64
CLIP_NORM = 1.0
SPECTRUM_WIDTH, SIGMA_W2, SIGMA_B2 = 256, 1.0, 0.05
GEMM_SIZES = (256, 512, 1024, 2048)

# One measurement: run() is the timed rep; describe(result of the last rep) adds JSON fields.
Job = collections.namedtuple("Job", "run flops params describe", defaults=(None,))


def count(minimum):
    """An argparse type: an integer >= minimum."""
    def parse(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value
    return parse


def parse_args():
    parser = argparse.ArgumentParser(
        description="The PyTorch twin of `gradscope bench`: time one workload, print its result.")
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--threads", type=count(1), default=1, help="torch threads (default 1)")
    parser.add_argument("--reps", type=count(1), default=5, help="timed reps (default 5)")
    parser.add_argument("--warmup", type=count(0), default=1, help="untimed reps first (default 1)")
    parser.add_argument("--depth", type=count(1), help="mlp (default 50), spectrum (default 100)")
    parser.add_argument("--steps", type=count(1), help=f"rnn/lstm/gru (default {DEFAULT_STEPS})")
    parser.add_argument("--size", type=count(1), help="gemm: only this n")
    parser.add_argument("--per-step-grad", action="store_true",
                        help="rnn/lstm/gru: unrolled cells, ||dL/dh_t|| for every t")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="one JSON line per measurement")
    args = parser.parse_args()

    # A flag the workload does not use is an error, not silently ignored.
    recurrent = args.workload in RECURRENT
    if args.depth is not None and args.workload not in DEFAULT_DEPTH:
        parser.error("--depth applies to mlp and spectrum")
    if (args.steps is not None or args.per_step_grad) and not recurrent:
        parser.error("--steps and --per-step-grad apply to rnn, lstm and gru")
    if args.size is not None and args.workload != "gemm":
        parser.error("--size applies to gemm")
    if args.depth is None:
        args.depth = DEFAULT_DEPTH.get(args.workload)
    if args.steps is None and recurrent:
        args.steps = DEFAULT_STEPS
    return args


def mlp(args):
    """One training step of the tanh MLP and its per-layer weight-gradient norms."""
    torch.manual_seed(args.seed)
    layers, inputs = [], MLP_INPUTS
    for _ in range(args.depth - 1):
        layers += [nn.Linear(inputs, MLP_WIDTH), nn.Tanh()]
        inputs = MLP_WIDTH
    layers.append(nn.Linear(inputs, MLP_OUTPUTS))
    net = nn.Sequential(*layers)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)
    x = torch.randn(MLP_BATCH, MLP_INPUTS)
    y = torch.randn(MLP_BATCH, MLP_OUTPUTS)

    def step():
        optimizer.zero_grad()
        loss = F.mse_loss(net(x), y)
        loss.backward()
        layer_norms = torch.stack([m.weight.grad.norm() for m in linears])  # (depth,)
        optimizer.step()
        return layer_norms

    weights = sum(m.in_features * m.out_features for m in linears)
    flops = 6 * MLP_BATCH * weights  # forward, dX and dW: 2 flops per weight and sample each
    return [Job(step, flops, {"depth": args.depth, "width": MLP_WIDTH, "batch": MLP_BATCH})]


def recurrent(args):
    """One training step of a recurrent net; with --per-step-grad, ||dL/dh_t|| for every t."""
    torch.manual_seed(args.seed)
    cell_name = args.workload
    if args.per_step_grad:
        cell_type = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[cell_name]
    else:
        cell_type = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell_name]
    rnn = cell_type(RNN_INPUTS, RNN_HIDDEN)  # nn.RNN and nn.RNNCell default to tanh
    head = nn.Linear(RNN_HIDDEN, 1)
    params = list(rnn.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(params, lr=LEARNING_RATE)
    x = torch.randn(args.steps, RNN_BATCH, RNN_INPUTS)  # time-major (T, B, I)
    y = torch.randn(RNN_BATCH, 1)

    def fused_step():
        optimizer.zero_grad()
        outputs, _ = rnn(x)  # (T, B, H)
        loss = F.mse_loss(head(outputs[-1]), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)
        optimizer.step()
        return loss

    def unrolled_step():
        optimizer.zero_grad()
        state, hidden = None, []  # None: the cells start from zeros
        for x_t in x:
            state = rnn(x_t, state)
            h = state[0] if isinstance(state, tuple) else state  # LSTMCell returns (h, c)
            h.retain_grad()
            hidden.append(h)
        loss = F.mse_loss(head(hidden[-1]), y)
        loss.backward()
        step_norms = torch.stack([h.grad.norm() for h in hidden])  # ||dL/dh_t||, (T,)
        torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)
        optimizer.step()
        return step_norms

    # 2 flops per gate weight, sample and step, three times (forward, dX, dW)
    flops = 6 * GATES[cell_name] * RNN_HIDDEN * (RNN_HIDDEN + RNN_INPUTS) * RNN_BATCH * args.steps
    settings = {"cell": cell_name, "hidden": RNN_HIDDEN, "steps": args.steps, "batch": RNN_BATCH,
                "per_step_grad": args.per_step_grad}
    return [Job(unrolled_step if args.per_step_grad else fused_step, flops, settings)]


def spectrum(args):
    """The naive Jacobian-product spectrum; the network is built here, outside the timing."""
    torch.manual_seed(args.seed)
    n = SPECTRUM_WIDTH
    weights, biases = [], []
    for _ in range(args.depth):
        weights.append(torch.randn(n, n, dtype=torch.float64) * math.sqrt(SIGMA_W2 / n))
        biases.append(torch.randn(n, dtype=torch.float64) * math.sqrt(SIGMA_B2))
    x = torch.randn(n, dtype=torch.float64)

    def exponents():
        with torch.no_grad():
            h, product = x, None
            for W, b in zip(weights, biases):
                h = torch.tanh(W @ h + b)
                J = (1.0 - h * h)[:, None] * W  # diag(1 - h_l^2) W_l, (n, n)
                product = J if product is None else J @ product  # J_l ... J_1
            sigma = torch.linalg.svdvals(product)  # descending
            return sigma, torch.log(sigma) / args.depth

    def describe(result):
        sigma, log_sigma_over_depth = result
        values = log_sigma_over_depth.tolist()
        return {"exponents": [v if math.isfinite(v) else None for v in values],
                "finite": sum(math.isfinite(v) for v in values),
                "zero_singular_values": int((sigma == 0).sum())}

    flops = 2 * n**3 * args.depth  # the product's matrix products, gradscope's yardstick too
    return [Job(exponents, flops, {"depth": args.depth, "width": n}, describe)]


def gemm(args):
    """torch.mm at each size."""
    torch.manual_seed(args.seed)
    jobs = []
    for n in (args.size,) if args.size else GEMM_SIZES:
        a, b = torch.randn(n, n), torch.randn(n, n)
        jobs.append(Job(lambda a=a, b=b: torch.mm(a, b), 2 * n**3, {"size": n}))
    return jobs


def measure(run, reps, warmup):
    """Seconds of each timed rep, and the last rep's result."""
    for _ in range(warmup):
        run()
    seconds, result = [], None
    for _ in range(reps):
        start = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def report(args, seconds, flops, params, extra):
    median_ms = statistics.median(seconds) * 1e3
    record = {"side": "pytorch", "workload": args.workload, "threads": torch.get_num_threads(),
              "reps": len(seconds), "median_ms": median_ms, "min_ms": min(seconds) * 1e3,
              "gflops": flops / (median_ms * 1e6), "flops": flops,
              "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
              **params, **extra}
    if args.json:
        print(json.dumps(record), flush=True)
        return
    settings = ", ".join(f"{key} {value}" for key, value in params.items())
    line = (f"pytorch {args.workload} ({settings}), {record['threads']} thread(s): median "
            f"{median_ms:.3f} ms, min {record['min_ms']:.3f} ms over {len(seconds)} reps; "
            f"{record['gflops']:.2f} GFLOP/s; max RSS {record['max_rss_kb']} KiB")
    if "exponents" in extra:
        top = extra["exponents"][0]
        line += (f"; exponents: {extra['finite']} of {len(extra['exponents'])} finite, "
                 f"{extra['zero_singular_values']} zero singular values, largest "
                 f"{'-inf' if top is None else f'{top:.6f}'}")
    print(line, flush=True)


def main():
    args = parse_args()
    for name in THREAD_VARIABLES:
        os.environ[name] = str(args.threads)
    # torch only now, after the thread variables: OpenMP and OpenBLAS read them once, at load.
    global torch, nn, F
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)

    build = {"mlp": mlp, "spectrum": spectrum, "gemm": gemm}.get(args.workload, recurrent)
    for job in build(args):
        seconds, result = measure(job.run, args.reps, args.warmup)
        extra = job.describe(result) if job.describe else {}
        report(args, seconds, job.flops, job.params, extra)


if __name__ == "__main__":
    main()
