#!/usr/bin/python3
"""PyTorch as the oracle for gradscope's gradients.

Random weights and data are made with Debian's PyTorch (python3-torch), saved as safetensors,
and `gradscope grad` computes one forward/backward on them. Every parameter gradient and every
per-step (or per-layer) gradient norm ||dL/dh|| must agree with PyTorch's autograd to 1e-5
relative, in float64.

Usage: pytorch_oracle.py PATH/TO/gradscope
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn

TOLERANCE = 1e-5
DTYPES = {torch.float32: "F32", torch.float64: "F64"}
TORCH_DTYPES = {"F32": torch.float32, "F64": torch.float64}


def save_safetensors(path, tensors):
    """The safetensors format written by hand: Debian has no python3-safetensors."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": DTYPES[tensors[name].dtype],
                        "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    buffer = raw[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        values = torch.frombuffer(bytearray(buffer[begin:end]), dtype=TORCH_DTYPES[entry["dtype"]])
        tensors[name] = values.reshape(entry["shape"]).clone()
    return tensors


def relative_error(a, b):
    return ((a - b).abs() / torch.clamp(torch.maximum(a.abs(), b.abs()), min=1.0)).max().item()


class RecurrentModel(nn.Module):
    """The module a user would write: a recurrent stack and a linear head on the last step."""

    def __init__(self, kind, inputs, hidden, layers, outputs):
        super().__init__()
        cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
        self.rnn = cls(inputs, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, outputs)


def unrolled_recurrent_gradients(model, kind, x, y):
    """Runs the same weights through per-layer cell loops with retain_grad on every h_t (and
    c_t), giving the total dL/dh_t at every step of every layer, which nn.RNN does not expose."""
    cells = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}
    batch, steps, _ = x.shape
    layer_input = [x[:, t] for t in range(steps)]
    hs, cs = [], []
    for layer in range(model.rnn.num_layers):
        cell = cells[kind](layer_input[0].shape[1], model.rnn.hidden_size).double()
        for part in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, part).data = getattr(model.rnn, f"{part}_l{layer}").data.clone()
        h = torch.zeros(batch, model.rnn.hidden_size, dtype=x.dtype)
        c = torch.zeros_like(h)
        layer_h, layer_c = [], []
        for t in range(steps):
            if kind == "lstm":
                h, c = cell(layer_input[t], (h, c))
                c.retain_grad()
                layer_c.append(c)
            else:
                h = cell(layer_input[t], h)
            h.retain_grad()
            layer_h.append(h)
        hs.append(layer_h)
        cs.append(layer_c)
        layer_input = layer_h
    loss = nn.functional.mse_loss(model.head(layer_input[-1]), y)
    loss.backward()

    def per_step_norms(states):
        return torch.stack([torch.stack([s.grad.norm(dim=1).mean() for s in layer])
                            for layer in states])
    return per_step_norms(hs), (per_step_norms(cs) if kind == "lstm" else None)


def run_gradscope(gradscope, args, weights, data, directory):
    w_path, d_path, g_path = (os.path.join(directory, n) for n in ("w.safetensors",
                                                                    "d.safetensors",
                                                                    "g.safetensors"))
    save_safetensors(w_path, weights)
    save_safetensors(d_path, data)
    result = subprocess.run([gradscope, "grad", *args, "--weights", w_path, "--data", d_path,
                             "--out", g_path], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"gradscope grad {' '.join(args)} failed: {result.stderr.strip()}")
    return load_safetensors(g_path)


def compare(label, ours, theirs, failures):
    error = relative_error(ours, theirs)
    status = "ok" if error < TOLERANCE else "MISMATCH"
    print(f"{label:40s} max relative error {error:.2e}  {status}")
    if error >= TOLERANCE:
        failures.append(label)


def check_recurrent(gradscope, kind, layers, directory, failures):
    torch.manual_seed(1234 + layers)
    inputs, hidden, outputs, batch, steps = 3, 5, 2, 4, 7
    model = RecurrentModel(kind, inputs, hidden, layers, outputs).double()
    x = torch.randn(batch, steps, inputs, dtype=torch.float64)
    y = torch.randn(batch, outputs, dtype=torch.float64)
    output, _ = model.rnn(x)
    loss = nn.functional.mse_loss(model.head(output[:, -1]), y)
    loss.backward()
    torch_grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    grad_h, grad_c = unrolled_recurrent_gradients(model, kind, x, y)

    weights = {name: p.detach() for name, p in model.named_parameters()}
    ours = run_gradscope(gradscope, ["--model", kind, "--layers", str(layers)], weights,
                         {"x": x, "y": y}, directory)
    for name, grad in torch_grads.items():
        compare(f"{kind} x{layers} {name}", ours[name], grad, failures)
    compare(f"{kind} x{layers} ||dL/dh_t|| (every t)", ours["grad_h"], grad_h, failures)
    if grad_c is not None:
        compare(f"{kind} x{layers} ||dL/dc_t|| (every t)", ours["grad_c"], grad_c, failures)


def check_mlp(gradscope, act, directory, failures):
    torch.manual_seed(99)
    sizes = [6, 5, 5, 3]
    modules = []
    for i in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            modules.append({"tanh": nn.Tanh(), "relu": nn.ReLU(), "sigmoid": nn.Sigmoid()}[act])
    model = nn.Sequential(*modules).double()
    x = torch.randn(8, sizes[0], dtype=torch.float64)
    y = torch.randn(8, sizes[-1], dtype=torch.float64)
    hidden = []
    h = x
    for module in model:
        h = module(h)
        if isinstance(module, nn.Linear) and module is not model[-1]:
            continue
        h.retain_grad()
        hidden.append(h)
    nn.functional.mse_loss(h, y).backward()
    ours = run_gradscope(gradscope, ["--model", "mlp", "--act", act],
                         {n: p.detach() for n, p in model.named_parameters()},
                         {"x": x, "y": y}, directory)
    for name, p in model.named_parameters():
        compare(f"mlp {act} {name}", ours[name], p.grad, failures)
    compare(f"mlp {act} ||dL/dh_l|| (every l)", ours["grad_h"],
            torch.stack([s.grad.norm(dim=1).mean() for s in hidden]), failures)


def main():
    gradscope = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as directory:
        for kind in ("rnn", "lstm", "gru"):
            for layers in (1, 2):
                check_recurrent(gradscope, kind, layers, directory, failures)
        for act in ("tanh", "relu"):
            check_mlp(gradscope, act, directory, failures)
    if failures:
        print(f"{len(failures)} mismatches: {', '.join(failures)}")
        sys.exit(1)
    print("every gradient agrees with PyTorch")


if __name__ == "__main__":
    main()
