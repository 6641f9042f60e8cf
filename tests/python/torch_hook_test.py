#!/usr/bin/python3
"""python/gradscope_torch.py on real PyTorch training, checked three ways.

1. Two small real trainings on a teacher regression, seeded: a healthy 6-layer ReLU MLP (He
   init, Adam) and a vanishing 20-layer sigmoid MLP (Xavier init, SGD). Every line of both logs
   is checked against the schema (docs/run-log.md), and from the logs alone: at step 1 the
   first/last layer gradient ratio is < 1e-4 (vanishing) and within [1e-2, 1e2] (healthy).
2. The hook's numbers against autograd (retain_grad in the same forward pass): per-layer
   ||dL/dh_l||, per-step ||dL/dh_t|| of unrolled cells and of nn.GRU's output sequence; NaN
   handling; an exception in `with` ends the log as stopped; a run killed with SIGKILL leaves
   only complete lines.
3. `gradscope doctor LOG --json` on both logs: healthy -> exit 0, no findings; vanishing ->
   exit 3, first finding "vanishing_gradient".

Usage: torch_hook_test.py PATH/TO/gradscope [--skip-doctor | --only-doctor] [--keep DIR]
  --skip-doctor   parts 1 and 2 only
  --only-doctor   trains the two models and runs part 3 only
  --keep DIR      write the logs to DIR (kept) instead of a temporary directory
Run with Debian's python3 (python3-torch), not an interpreter that may come first on PATH.
"""
import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "python"))
from gradscope_torch import RunLogger  # noqa: E402

INPUTS, OUTPUTS, TEACHER_HIDDEN = 16, 10, 64
BATCH, STEPS, EVAL_EVERY = 128, 300, 100
TOLERANCE = 1e-6  # the hook and the oracle see the very same gradient tensors

failures = []


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message)
    if not condition:
        failures.append(message)


def relative_error(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


# ----------------------------------------------------------------------------------------------
# Part 1: two real trainings


class Teacher:
    """y = W2 tanh(W1 x + b1) + b2 with unit-variance targets, as gradscope's teacher task."""

    def __init__(self, seed):
        generator = torch.Generator().manual_seed(seed)
        self.w1 = torch.randn(TEACHER_HIDDEN, INPUTS, generator=generator) / INPUTS ** 0.5
        self.b1 = 0.1 * torch.randn(TEACHER_HIDDEN, generator=generator)
        self.w2 = torch.randn(OUTPUTS, TEACHER_HIDDEN, generator=generator) / TEACHER_HIDDEN ** 0.5
        self.b2 = 0.1 * torch.randn(OUTPUTS, generator=generator)
        calibration = torch.randn(4096, INPUTS, generator=generator)
        self.w2 /= (torch.tanh(calibration @ self.w1.T + self.b1) @ self.w2.T).std(dim=0)[:, None]
        self.test_x, self.test_y = self.sample(2048, generator)
        self.stream = torch.Generator().manual_seed(seed + 1)

    def sample(self, size, generator):
        x = torch.randn(size, INPUTS, generator=generator)
        return x, torch.tanh(x @ self.w1.T + self.b1) @ self.w2.T + self.b2

    def next_batch(self):
        return self.sample(BATCH, self.stream)


def mlp(depth, width, activation):
    """depth Linear layers: depth - 1 hidden ones with the activation, then a linear head."""
    modules, features = [], INPUTS
    for _ in range(depth - 1):
        modules += [nn.Linear(features, width), activation()]
        features = width
    modules.append(nn.Linear(features, OUTPUTS))
    return nn.Sequential(*modules)


def train(path, name, seed=0):
    torch.manual_seed(seed)
    teacher = Teacher(seed)
    if name == "healthy":
        model = mlp(6, 64, nn.ReLU)
        for layer in model:
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        model_info = {"init": "he_normal"}
    else:
        model = mlp(20, 64, nn.Sigmoid)
        for layer in model:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        model_info = {"init": "xavier_uniform"}

    task = {"name": "teacher", "inputs": INPUTS, "outputs": OUTPUTS, "loss": "mse"}
    with RunLogger(path, model, task, optimizer=optimizer, seed=seed, steps=STEPS,
                   train={"batch": BATCH, "eval_every": EVAL_EVERY}, model_info=model_info) as log:
        for number in range(1, STEPS + 1):
            x, y = teacher.next_batch()
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            log.step(loss)
            optimizer.step()
            if number % EVAL_EVERY == 0:
                with torch.no_grad():
                    log.eval(nn.functional.mse_loss(model(teacher.test_x), teacher.test_y))
    return model


# ----------------------------------------------------------------------------------------------
# Schema checks


def strict_json(line):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(line, parse_constant=refuse)


def is_number(value, nullable=True):
    if value is None:
        return nullable
    return isinstance(value, (int, float)) and not isinstance(value, bool)


LAYER_HEADER = {"index": int, "name": str, "kind": str, "activation": str}
LAYER_NUMBERS = ["grad_norm", "grad_norm_batch", "weight_norm", "weight_grad_norm",
                 "rel_dist_init", "update_ratio", "saturated", "dead"]


def validate_log(path, label, parameter_names, steps, probe_every=10):
    """Every line parses as strict JSON and has the documented keys and types. Returns the
    records."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = text.split("\n")
    check(text.endswith("\n") and lines[-1] == "", f"{label}: every record ends with a newline")
    problems, records = [], []
    for number, line in enumerate(lines[:-1], start=1):
        try:
            records.append(strict_json(line))
        except ValueError as error:
            problems.append(f"line {number}: {error}")
    check(not problems, f"{label}: every line is strict JSON {problems[:3]}")
    if not records:
        return records

    header = records[0]
    check(header.get("type") == "header" and header.get("schema") == 1
          and header.get("tool") == "gradscope_torch" and isinstance(header.get("version"), str)
          and header.get("command") == "train", f"{label}: header type/schema/tool/command")
    try:
        datetime.datetime.strptime(header.get("created", ""), "%Y-%m-%dT%H:%M:%SZ")
        created_ok = True
    except ValueError:
        created_ok = False
    check(created_ok, f"{label}: header created is UTC ISO 8601")
    check(all(isinstance(header.get(key), dict) for key in ("model", "train", "task"))
          and isinstance(header.get("seed"), int), f"{label}: header model/train/task/seed")
    check(header["model"].get("model") in ("mlp", "rnn", "lstm", "gru", "torch")
          and isinstance(header["model"].get("depth"), int), f"{label}: header model kind, depth")
    layers = header.get("layers", [])
    check(bool(layers) and all(all(isinstance(layer.get(key), kind)
                                   for key, kind in LAYER_HEADER.items()) for layer in layers)
          and [layer["index"] for layer in layers] == list(range(1, len(layers) + 1)),
          f"{label}: header layers have index 1.., name, kind, activation")
    check(all(layer["name"] + ".weight" in parameter_names for layer in layers),
          f"{label}: every layer name + '.weight' is a parameter of the model")

    body, end = records[1:-1], records[-1]
    check(end.get("type") == "end" and end.get("status") == "completed"
          and end.get("steps") == steps and is_number(end.get("seconds"), False)
          and is_number(end.get("final_loss")), f"{label}: end record")
    step_records = [r for r in body if r.get("type") == "step"]
    check([r["step"] for r in step_records] == list(range(1, steps + 1)),
          f"{label}: one step record per step, numbered 1..{steps}")
    check(all(r.get("type") in ("step", "eval") for r in body), f"{label}: only step/eval inside")
    bad_steps = [r["step"] for r in step_records if not (
        is_number(r.get("loss")) and is_number(r.get("grad_norm"))
        and isinstance(r.get("clipped"), bool) and isinstance(r.get("skipped"), bool)
        and is_number(r.get("lr"))
        and sorted(r.get("nonfinite", {})) == ["grad", "loss", "weight"]
        and all(isinstance(v, bool) for v in r["nonfinite"].values()))]
    check(not bad_steps,
          f"{label}: step records have the documented keys and types {bad_steps[:5]}")
    probed = [r["step"] for r in step_records if "layers" in r]
    expected = sorted({1, steps} | set(range(probe_every, steps + 1, probe_every)))
    check(probed == expected, f"{label}: layers on steps 1, every {probe_every}th and the last")
    bad_layers = []
    for r in step_records:
        for layer in r.get("layers", []):
            if not (all(isinstance(layer.get(key), kind) for key, kind in LAYER_HEADER.items())
                    and all(key in layer and is_number(layer[key]) for key in LAYER_NUMBERS)
                    and isinstance(layer.get("nonfinite"), bool)):
                bad_layers.append((r["step"], layer.get("name")))
    check(not bad_layers, f"{label}: layer records have the documented keys {bad_layers[:3]}")
    evals = [r for r in body if r.get("type") == "eval"]
    check(len(evals) == steps // EVAL_EVERY and all(
        isinstance(r.get("step"), int) and is_number(r.get("loss")) for r in evals),
        f"{label}: eval records")
    return records


def layer_ratio(records, step=1):
    record = next(r for r in records if r.get("type") == "step" and r["step"] == step)
    return record["layers"][0]["grad_norm"] / record["layers"][-1]["grad_norm"]


def check_training(directory):
    logs = {}
    for name in ("healthy", "vanishing"):
        path = os.path.join(directory, f"{name}.jsonl")
        start = time.monotonic()
        model = train(path, name)
        seconds = time.monotonic() - start
        print(f"      {name}: {STEPS} steps in {seconds:.1f} s -> {path}")
        names = {n for n, _ in model.named_parameters()}
        records = validate_log(path, name, names, STEPS)
        logs[name] = (path, records)

    healthy, vanishing = logs["healthy"][1], logs["vanishing"][1]
    ratio = layer_ratio(vanishing)
    check(ratio < 1e-4, f"vanishing: grad_norm(layer 1)/grad_norm(layer 20) at step 1 = "
          f"{ratio:.3g} < 1e-4")
    ratio = layer_ratio(healthy)
    check(1e-2 <= ratio <= 1e2, f"healthy: grad_norm(layer 1)/grad_norm(layer 6) at step 1 = "
          f"{ratio:.3g} in [1e-2, 1e2]")
    first, last = healthy[1]["loss"], healthy[-1]["final_loss"]
    check(last < 0.5 * first, f"healthy: the loss falls ({first:.3g} -> {last:.3g})")
    update = [r for r in healthy if r.get("type") == "step" and r["step"] == 10][0]["layers"]
    check(all(layer["update_ratio"] is not None and 0 < layer["update_ratio"] < 0.1
              for layer in update), "healthy: update_ratio on step 10 is measured and small")
    return {name: path for name, (path, _) in logs.items()}


# ----------------------------------------------------------------------------------------------
# Part 2: the hook's numbers against autograd


def run_sequential(model, x, keep):
    """The model's own modules called one by one (so the logger's hooks fire as usual), with
    retain_grad on the output of every activation and of the head."""
    h = x
    for module in model:
        h = module(h)
        if isinstance(module, (nn.Sigmoid, nn.Tanh, nn.ReLU)) or module is model[-1]:
            h.retain_grad()
            keep.append(h)
    return h


def check_layers_against_autograd(directory):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(8, 12), nn.Tanh(), nn.Linear(12, 12), nn.BatchNorm1d(12),
                          nn.ReLU(), nn.Linear(12, 12), nn.Sigmoid(), nn.Linear(12, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    path = os.path.join(directory, "oracle-mlp.jsonl")
    x, y = torch.randn(16, 8), torch.randn(16, 3)
    errors = []
    with RunLogger(path, model, {"name": "oracle", "loss": "mse"}, optimizer=optimizer,
                   probe_every=2) as log:
        for number in range(1, 5):
            keep = []
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(run_sequential(model, x, keep), y)
            loss.backward()
            log.step(loss)
            optimizer.step()
            if number % 2 == 0 or number == 1:
                expected = [h.grad.double().norm(dim=1).mean().item() for h in keep]
                with open(path, encoding="utf-8") as f:
                    record = json.loads(f.read().splitlines()[-1])
                got = [layer["grad_norm"] for layer in record["layers"]]
                errors += [relative_error(a, b) for a, b in zip(got, expected)]
    header = json.loads(open(path, encoding="utf-8").readline())
    check([layer["activation"] for layer in header["layers"]]
          == ["tanh", "relu", "sigmoid", "identity"],
          "mlp: the activation after each Linear (through BatchNorm) is found")
    check(len(errors) == 12 and max(errors) < TOLERANCE,
          f"mlp: per-layer ||dL/dh_l|| equals autograd's (max relative error {max(errors):.2g})")


class CellLoop(nn.Module):
    """An unrolled nn.LSTMCell/RNNCell loop with a head on the last step."""

    def __init__(self, cell):
        super().__init__()
        self.cell = cell
        self.head = nn.Linear(cell.hidden_size, 1)

    def forward(self, x, keep):
        batch, steps, _ = x.shape
        h = torch.zeros(batch, self.cell.hidden_size)
        c = torch.zeros_like(h)
        for t in range(steps):
            if isinstance(self.cell, nn.LSTMCell):
                h, c = self.cell(x[:, t], (h, c))
                c.retain_grad()
            else:
                h = self.cell(x[:, t], h)
            h.retain_grad()
            keep.append((h, c))
        return self.head(h)


def per_step(tensors):
    return [t.grad.double().norm(dim=1).mean().item() for t in tensors]


def last_record(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if '"type":"step"' in line][-1]


def check_time_steps_against_autograd(directory):
    torch.manual_seed(2)
    x, y = torch.randn(5, 7, 3), torch.randn(5, 1)

    # Unrolled LSTMCell: captured with no call at all (total dL/dh_t and dL/dc_t).
    model = CellLoop(nn.LSTMCell(3, 6))
    path = os.path.join(directory, "oracle-lstmcell.jsonl")
    with RunLogger(path, model, {"name": "oracle", "loss": "mse"}) as log:
        keep = []
        loss = nn.functional.mse_loss(model(x, keep), y)
        loss.backward()
        log.step(loss)
    entry = last_record(path)["time_steps"][0]
    errors = [relative_error(a, b) for a, b in zip(entry["grad_norm"],
                                                   per_step([h for h, _ in keep]))]
    errors += [relative_error(a, b) for a, b in zip(entry["cell_grad_norm"],
                                                    per_step([c for _, c in keep]))]
    check(entry["layer"] == 0 and len(entry["grad_norm"]) == 7 and max(errors) < TOLERANCE,
          f"LSTMCell loop: automatic per-step ||dL/dh_t||, ||dL/dc_t|| equal autograd's "
          f"(max relative error {max(errors):.2g})")
    check(entry["grad_norm"][0] < entry["grad_norm"][-1],
          "LSTMCell loop: with a last-step head the gradient is largest at the last step")

    # Unrolled RNNCell watched by hand: the documented recipe for any custom loop.
    model = CellLoop(nn.RNNCell(3, 6))
    path = os.path.join(directory, "oracle-rnncell.jsonl")
    with RunLogger(path, model, {"name": "oracle", "loss": "mse"}) as log:
        keep = []
        output = model(x, keep)
        log.watch_steps([h for h, _ in keep], layer=0)
        loss = nn.functional.mse_loss(output, y)
        loss.backward()
        log.step(loss)
    record = last_record(path)
    got = record["time_steps"][0]["grad_norm"]
    errors = [relative_error(a, b) for a, b in zip(got, per_step([h for h, _ in keep]))]
    check(len(got) == 7 and max(errors) < TOLERANCE,
          f"RNNCell loop with watch_steps: per-step norms equal autograd's "
          f"(max relative error {max(errors):.2g})")
    check(relative_error(record["layers"][0]["grad_norm"], sum(got) / len(got)) < TOLERANCE,
          "RNNCell loop: the layer's grad_norm is the per-step norms averaged over the steps")

    # nn.GRU output sequence: only the direct part, flagged as such.
    gru, head = nn.GRU(3, 6, batch_first=True), nn.Linear(6, 1)
    model = nn.ModuleDict({"rnn": gru, "head": head})
    path = os.path.join(directory, "oracle-gru.jsonl")
    with RunLogger(path, model, {"name": "oracle", "loss": "mse"}) as log:
        output, _ = gru(x)
        log.watch_sequence(output)
        output.retain_grad()
        loss = nn.functional.mse_loss(head(output), y[:, None, :].expand(5, 7, 1))
        loss.backward()
        log.step(loss)
    entry = last_record(path)["time_steps"][0]
    expected = [output.grad[:, t].double().norm(dim=1).mean().item() for t in range(7)]
    errors = [relative_error(a, b) for a, b in zip(entry["grad_norm"], expected)]
    check(entry.get("direct_only") is True and max(errors) < TOLERANCE,
          f"nn.GRU output sequence: per-step norms equal autograd's, flagged direct_only "
          f"(max relative error {max(errors):.2g})")


def check_nonfinite(directory):
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    path = os.path.join(directory, "nonfinite.jsonl")
    with RunLogger(path, model, {"name": "teacher", "loss": "mse"}, optimizer=optimizer) as log:
        for number in range(1, 5):  # steps 3 and 4 are not planned probe steps
            x, y = torch.randn(6, 4), torch.randn(6, 2)
            if number == 3:
                x[0, 0] = float("inf")  # tanh saturates: a finite loss, but 0 * inf in dL/dW_1
            if number == 4:
                x[0, 0] = float("nan")
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            log.step(loss)
            if number < 3:
                optimizer.step()
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    try:
        records = {(r["type"], r.get("step")): r for r in map(strict_json, lines)}
    except ValueError:
        records = {}
    check(bool(records), "non-finite run: NaN/Inf are written as null (strict JSON)")
    step2, step3, step4 = (records.get(("step", n), {}) for n in (2, 3, 4))
    check("first_nonfinite" not in step2 and "layers" not in step2,
          "non-finite run: a finite unprobed step has neither first_nonfinite nor layers")
    check(step3.get("nonfinite") == {"loss": False, "grad": True, "weight": False}
          and step3.get("grad_norm") is None and step3.get("first_nonfinite") == "0.weight"
          and step3.get("layers", [{}])[0].get("nonfinite") is True,
          "non-finite run: Inf input -> finite loss, grad_norm null, first_nonfinite 0.weight, "
          "layer records on the unplanned step")
    check(step4.get("loss") is None and step4.get("nonfinite", {}).get("loss") is True
          and "layers" in step4, "non-finite run: NaN input -> loss null, nonfinite.loss true")


def check_stopped(directory):
    model = nn.Sequential(nn.Linear(2, 2))
    path = os.path.join(directory, "stopped.jsonl")
    try:
        with RunLogger(path, model, {"name": "teacher", "loss": "mse"}) as log:
            loss = model(torch.randn(3, 2)).sum()
            loss.backward()
            log.step(loss)
            raise RuntimeError("diverged")
    except RuntimeError:
        pass
    with open(path, encoding="utf-8") as f:
        end = json.loads(f.read().splitlines()[-1])
    check(end.get("type") == "end" and end.get("status") == "stopped"
          and "diverged" in end.get("reason", "") and end.get("steps") == 1,
          "an exception inside `with` ends the log with status stopped and the reason")


KILLED_RUN = """
import sys, torch, torch.nn as nn
sys.path.insert(0, sys.argv[2])
from gradscope_torch import RunLogger
model = nn.Sequential(*[nn.Linear(32, 32) for _ in range(8)])
log = RunLogger(sys.argv[1], model, {"name": "teacher", "loss": "mse"}, probe_every=1)
while True:
    loss = model(torch.randn(64, 32)).pow(2).mean()
    model.zero_grad()
    loss.backward()
    log.step(loss)
"""


def check_killed(directory):
    path = os.path.join(directory, "killed.jsonl")
    python_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python")
    child = subprocess.Popen([sys.executable, "-c", KILLED_RUN, path, python_dir])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 200_000:
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    complete = lines[:-1]
    try:
        parsed = [strict_json(line.decode()) for line in complete]
    except ValueError:
        parsed = []
    check(len(complete) > 10 and len(parsed) == len(complete) and lines[-1] == b"",
          f"SIGKILL mid-run: all {len(complete)} lines are complete JSON records")


# ----------------------------------------------------------------------------------------------
# Part 3: gradscope doctor


def doctor(gradscope, path):
    """Runs `gradscope doctor PATH --json`; returns (exit code, findings or None, stderr)."""
    result = subprocess.run([gradscope, "doctor", path, "--json"], capture_output=True,
                            text=True, timeout=120)
    try:
        findings = json.loads(result.stdout)["findings"]
    except (ValueError, KeyError, TypeError):
        findings = None
    return result.returncode, findings, result.stderr.strip()[:300]


def check_doctor(gradscope, logs):
    usage = subprocess.run([gradscope, "--help"], capture_output=True, text=True).stdout
    if not any(line.split()[:1] == ["doctor"] for line in usage.splitlines()):
        check(False, f"{gradscope} has a doctor command (not yet: see `{gradscope} --help`)")
        return
    code, findings, stderr = doctor(gradscope, logs["healthy"])
    codes = None if findings is None else [finding.get("code") for finding in findings]
    check(code == 0 and findings == [],
          f"doctor healthy: exit {code} (want 0), findings {codes} (want []) {stderr}")
    code, findings, stderr = doctor(gradscope, logs["vanishing"])
    first = findings[0].get("code") if findings else None
    check(code == 3 and first == "vanishing_gradient",
          f"doctor vanishing: exit {code} (want 3), first finding {first} "
          f"(want vanishing_gradient) {stderr}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gradscope")
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument("--skip-doctor", action="store_true")
    parts.add_argument("--only-doctor", action="store_true")
    parser.add_argument("--keep", metavar="DIR")
    args = parser.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or scratch
        os.makedirs(directory, exist_ok=True)
        logs = check_training(directory)
        if not args.only_doctor:
            check_layers_against_autograd(directory)
            check_time_steps_against_autograd(directory)
            check_nonfinite(directory)
            check_stopped(directory)
            check_killed(directory)
        if not args.skip_doctor:
            check_doctor(args.gradscope, logs)

    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
