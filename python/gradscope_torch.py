"""Write gradscope's run log (schema 1, docs/run-log.md) from an ordinary PyTorch training loop.

    from gradscope_torch import RunLogger

    log = RunLogger("run.jsonl", model, task={"name": "teacher", "loss": "mse"})  # the header
    for x, y in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        log.step(loss)      # after backward, BEFORE clip_grad_norm_ and optimizer.step()
        optimizer.step()
    log.close()             # the end record (or use `with RunLogger(...) as log:`)

then `gradscope doctor run.jsonl`. Needs only torch and the Python standard library; see
docs/pytorch-hook.md for what each field means here and the recipes for recurrent models.
"""

import datetime
import json
import math
import os
import time

import torch
import torch.nn as nn

__all__ = ["RunLogger"]
__version__ = "0.1.0"
SCHEMA = 1

# "Saturated": the activation derivative is below 1% of its maximum (docs/run-log.md).
SIGMOID_SATURATED = 0.0025  # s(1 - s), at most 0.25
TANH_SATURATED = 0.01  # 1 - y^2, at most 1

# Looked up along the class's MRO, so ReLU6 (a Hardtanh subclass) is found as itself.
ACTIVATION_NAMES = {
    nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid",
    nn.GELU: "gelu", nn.Identity: "identity", nn.ELU: "elu", nn.SELU: "selu", nn.SiLU: "silu",
    nn.Softplus: "softplus", nn.Hardtanh: "hardtanh", nn.ReLU6: "relu6", nn.Mish: "mish",
    nn.Softsign: "softsign", nn.PReLU: "prelu",
}

CONVOLUTIONS = {nn.Conv1d: "conv1d", nn.Conv2d: "conv2d", nn.Conv3d: "conv3d",
                nn.ConvTranspose1d: "conv_transpose1d", nn.ConvTranspose2d: "conv_transpose2d",
                nn.ConvTranspose3d: "conv_transpose3d"}


# ----------------------------------------------------------------------------------------------
# Numbers


def _row_norms(rows):
    """Euclidean norm of each row of a (n, m) tensor, as float64.

    Narrower floats are squared in float64, where they can neither underflow nor overflow;
    float64 rows are first divided by their largest entry (a gradient of 1e-170 would otherwise
    square to 0)."""
    rows = rows.detach()
    if rows.dtype != torch.float64:
        return torch.linalg.vector_norm(rows, dim=1, dtype=torch.float64)
    scale = rows.abs().amax(dim=1, keepdim=True) if rows.shape[1] else torch.ones_like(rows[:, :1])
    usable = (scale > 0) & torch.isfinite(scale)  # NaN/Inf rows stay NaN/Inf below
    scale = torch.where(usable, scale, torch.ones_like(scale))
    return scale.squeeze(1) * torch.linalg.vector_norm(rows / scale, dim=1)


def _norm(tensor):
    """Euclidean (Frobenius) norm of a whole tensor, as a 0-d float64 tensor."""
    tensor = tensor.detach()
    if tensor.dtype != torch.float64:
        return torch.linalg.vector_norm(tensor, dtype=torch.float64)  # one kernel: every step
    return _row_norms(tensor.reshape(1, -1))[0]


# Where a norm taken in the tensor's own precision is surely exact enough: far from the range
# where its squares underflow or overflow (float32: below ~1e-19 or above ~1e19).
_QUICK_NORM_RANGE = {torch.float32: (1e-15, 1e15), torch.float64: (1e-140, 1e140)}


def _global_norm(tensors):
    """sqrt(sum of ||t||^2) over the tensors, as a Python float. This runs on every step, so each
    norm is first taken in the tensor's own precision (one cheap kernel) and redone in float64
    only when it falls outside the range where that is safe."""
    if not tensors:
        return 0.0
    quick = [torch.linalg.vector_norm(t.detach()) for t in tensors]
    device = quick[0].device
    values = torch.stack([q.to(device=device, dtype=torch.float64) for q in quick]).tolist()
    for i, (tensor, value) in enumerate(zip(tensors, values)):
        low, high = _QUICK_NORM_RANGE.get(tensor.dtype, (math.inf, 0.0))
        if not low < value < high:
            values[i] = _norm(tensor).item()
    return math.hypot(*values)  # scaled: neither underflows nor overflows


def _per_sample(tensor):
    """A tensor with batch dimension 0 as (batch, everything else); unbatched tensors are one
    sample."""
    if tensor.dim() <= 1:
        return tensor.reshape(1, -1)
    return tensor.reshape(tensor.shape[0], -1)


def _to_float(value):
    if value is None:
        return None
    if torch.is_tensor(value):
        return float(value.detach().item())
    return float(value)


def _finite(value):
    return value is not None and math.isfinite(value)


def _json_safe(value):
    """NaN and Inf become null (JSON cannot hold them; the nonfinite flags say which it was)."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if torch.is_tensor(value):
        return _json_safe(value.item() if value.numel() == 1 else value.tolist())
    return str(value)


# ----------------------------------------------------------------------------------------------
# What the model is made of


def _activation_name(module):
    for cls in type(module).__mro__:
        if cls in ACTIVATION_NAMES:
            return ACTIVATION_NAMES[cls]
    return None


def _layer_kind(module):
    """The run log's `kind` of a weight layer, or None for any other module."""
    if isinstance(module, nn.Linear):
        return "dense"
    for cls in type(module).__mro__:
        if cls in CONVOLUTIONS:
            return CONVOLUTIONS[cls]
    if isinstance(module, (nn.RNN, nn.RNNCell)):
        return "rnn_" + module.nonlinearity
    if isinstance(module, (nn.LSTM, nn.LSTMCell)):
        return "lstm"
    if isinstance(module, (nn.GRU, nn.GRUCell)):
        return "gru"
    return None


_OPAQUE = object()  # a container inside an nn.Sequential: what it does to h is unknown


def _following_activations(model):
    """Maps id(weight layer) to the activation module that follows it in its nn.Sequential
    (nested Sequentials flattened), or to "identity" when another weight layer or the end comes
    first. Layers outside any Sequential, or followed by a container, are not in the map."""
    found = {}

    def flatten(sequential, chain):
        # _modules, not children(): a module placed twice in a Sequential runs twice.
        for child in sequential._modules.values():
            if child is None:
                continue
            if isinstance(child, nn.Sequential):
                flatten(child, chain)
            elif _layer_kind(child) or _activation_name(child) or not list(child.children()):
                chain.append(child)  # weight layers, activations and pass-throughs (norms, dropout)
            else:
                chain.append(_OPAQUE)
                visit(child)

    def visit(module):
        if not isinstance(module, nn.Sequential):
            for child in module.children():
                visit(child)
            return
        chain = []
        flatten(module, chain)
        for position, layer in enumerate(chain):
            if layer is _OPAQUE or not _layer_kind(layer):
                continue
            follower = "identity"
            for candidate in chain[position + 1:]:
                if candidate is _OPAQUE:
                    follower = None
                    break
                if _layer_kind(candidate):
                    break
                if _activation_name(candidate):
                    follower = candidate
                    break
            if follower is not None:
                found.setdefault(id(layer), follower)

    visit(model)
    return found


class _Layer:
    """One layer of the log: a weight matrix, the activation after it, and what the current
    probed step has captured about it."""

    def __init__(self, name, kind, module, weight_name, params, sizes):
        self.index = 0
        self.name = name
        self.kind = kind
        self.module = module
        self.weight_name = weight_name
        self.weight = dict(params)[weight_name]
        self.params = params  # [(qualified name, parameter)] of this layer, weight first
        self.sizes = sizes  # {"in": .., "out": ..}
        self.activation = ""  # "" = not known (outside an nn.Sequential, or recurrent)
        self.activation_module = None
        self.recurrent_index = None  # position among the recurrent layers (time_steps "layer")
        self.initial_weight = self.weight.detach().clone()
        self.initial_norm = _norm(self.initial_weight).item()
        self.reset()

    def reset(self):
        self.sample_norms = []  # (batch,) float64 tensors of per-sample ||dL/dh_l||
        self.saturated = 0  # (unit, sample) pairs with a tiny activation derivative
        self.units_seen = 0
        self.alive = None  # per unit: nonzero for some sample (ReLU)
        self.dead_fractions = []  # when shapes differ between calls


def _find_layers(model, names):
    modules = dict(model.named_modules())
    if names is None:
        names = [name for name, module in modules.items() if _layer_kind(module)]
    layers = []
    for name in names:
        module = modules[name]
        kind = _layer_kind(module)
        if kind is None:
            raise ValueError(f"gradscope_torch: module '{name}' ({type(module).__name__}) is not "
                             "a weight layer (Linear, Conv, RNN/LSTM/GRU or their cells)")
        prefix = name + "." if name else ""
        own = [(prefix + pname, p) for pname, p in module.named_parameters()]
        if isinstance(module, nn.RNNBase):
            # One layer per layer of the stack, named by its W_hh as gradscope's own log does.
            for k in range(module.num_layers):
                suffixes = (f"_l{k}", f"_l{k}_reverse")
                params = [(n, p) for n, p in own if n.endswith(suffixes)]
                params.sort(key=lambda item: not item[0].endswith(f"weight_hh_l{k}"))
                directions = 2 if module.bidirectional else 1
                sizes = {"in": module.input_size if k == 0 else module.hidden_size * directions,
                         "out": module.hidden_size}
                layers.append(_Layer(f"{prefix}weight_hh_l{k}", kind, module,
                                     f"{prefix}weight_hh_l{k}", params, sizes))
        elif isinstance(module, nn.RNNCellBase):
            own.sort(key=lambda item: not item[0].endswith("weight_hh"))
            sizes = {"in": module.input_size, "out": module.hidden_size}
            layers.append(_Layer(f"{prefix}weight_hh", kind, module, f"{prefix}weight_hh", own,
                                 sizes))
        else:
            own.sort(key=lambda item: item[0] != prefix + "weight")
            if isinstance(module, nn.Linear):
                sizes = {"in": module.in_features, "out": module.out_features}
            else:
                sizes = {"in": module.in_channels, "out": module.out_channels}
            layers.append(_Layer(name, kind, module, prefix + "weight", own, sizes))
    return layers


def _describe_model(model, layers):
    info = {"class": type(model).__name__, "depth": len(layers)}
    recurrent = [layer for layer in layers if layer.recurrent_index is not None]
    if recurrent:
        cell = recurrent[0].kind
        info["model"] = "rnn" if cell.startswith("rnn_") else cell
        info["cell"] = cell
        info["hidden"] = recurrent[0].sizes["out"]
        info["layers"] = len(recurrent)
        info["inputs"] = recurrent[0].sizes["in"]
    elif layers and all(layer.kind == "dense" for layer in layers):
        info["model"] = "mlp"
        hidden = layers[:-1] or layers
        widths = {layer.sizes["out"] for layer in hidden}
        info["width"] = widths.pop() if len(widths) == 1 else None
        info["inputs"] = layers[0].sizes["in"]
        info["bias"] = all(layer.module.bias is not None for layer in layers)
    else:
        info["model"] = "torch"
    if layers:
        info["outputs"] = layers[-1].sizes["out"]
    # The hidden layers' activation; the head's (usually identity) does not count.
    activations = {layer.activation for layer in (layers[:-1] or layers)}
    info["act"] = activations.pop() if len(activations) == 1 and "" not in activations else None
    parameter = next(model.parameters(), None)
    info["dtype"] = str(parameter.dtype).replace("torch.", "") if parameter is not None else None
    return info


def _describe_optimizer(optimizer):
    if optimizer is None:
        return {"optimizer": None, "lr": None, "momentum": None, "weight_decay": None}
    group = optimizer.param_groups[0]
    return {"optimizer": type(optimizer).__name__.lower(), "lr": group.get("lr"),
            "momentum": group.get("momentum"), "weight_decay": group.get("weight_decay")}


# ----------------------------------------------------------------------------------------------
# Per-time-step gradients of recurrent layers


class _StepSeries:
    """||dL/dh_t|| of one recurrent layer at every step t, filled by tensor hooks in backward."""

    def __init__(self, direct_only=False):
        self.grad = []  # per step: mean over the batch of per-sample norms (0-d tensor)
        self.grad_batch = []  # per step: norm of the whole (batch, hidden) gradient
        self.cell_grad = []  # LSTM: per step, same for dL/dc_t
        self.derivative = []  # per step: mean activation derivative, when known
        self.measurable = []  # per step: h_t required grad (else the step is null)
        self.direct_only = direct_only  # from nn.RNN's output: only the direct part of dL/dh_t

    def add_step(self):
        for values in (self.grad, self.grad_batch, self.cell_grad, self.derivative):
            values.append(None)
        self.measurable.append(False)
        return len(self.grad) - 1


def _step_values(values, measurable, missing):
    """Per-step floats: `missing` where no gradient arrived (it was zero), None where the
    tensor could not carry one."""
    present = [value for value in values if value is not None]
    numbers = iter(torch.stack(present).tolist()) if present else iter(())
    return [next(numbers) if value is not None else (missing if ok else None)
            for value, ok in zip(values, measurable)]


# ----------------------------------------------------------------------------------------------
# The logger


class RunLogger:
    """Writes a gradscope run log (JSONL, schema 1) for one training run of `model`.

    path          the log file (created or truncated; parent directories are created)
    model         the nn.Module being trained
    task          the header's task object, e.g. {"name": "teacher", "loss": "mse"}
    optimizer     optional: the step records' lr and the header's optimizer, lr, momentum, ...
    seed          optional: the run's seed, written to the header
    train         optional dict merged into the header's train object (steps, batch, clip, ...);
                  a `clip` here also lets step() tell whether the gradient was clipped
    model_info    optional dict merged into the header's model object (e.g. {"init": "he"})
    probe_every   layer records on step 1, every probe_every-th step (0: none besides the first
                  and last) and on every step where something is non-finite
    steps         optional: the number of steps, so the last one is probed too
    layers        optional: qualified module names of the weight layers, input side first
                  (default: every Linear, Conv and recurrent module in registration order)
    """

    def __init__(self, path, model, task=None, *, optimizer=None, seed=None, train=None,
                 model_info=None, probe_every=10, steps=None, layers=None):
        if probe_every < 0:
            raise ValueError("gradscope_torch: probe_every must be >= 0")
        self.path = path
        self.model = model
        self.optimizer = optimizer
        self.probe_every = int(probe_every)
        self.steps = steps
        self._layers = _find_layers(model, layers)
        self._assign_activations()
        self._recurrent = [layer for layer in self._layers if layer.recurrent_index is not None]
        self._params = list(model.named_parameters())
        self._train = {"steps": steps, "batch": None, **_describe_optimizer(optimizer),
                       "clip": None, "clip_value": None, "on_nonfinite": None,
                       "probe_every": self.probe_every, "spectrum_every": 0, "eval_every": None}
        self._train.update(train or {})

        self._step = 0
        self._skipped = 0
        self._last_loss = None
        self._last_eval = None
        self._probing = True  # step 1 is always probed
        self._pending = {}  # id(activation module) -> the layer whose output it is about to take
        self._series = {}  # recurrent index -> _StepSeries of the current step
        self._manual = set()  # recurrent indices the user watches: no automatic capture there
        self._snapshots = {}  # layer -> weight before the previous update (for update_ratio)
        self._handles = []

        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(path, flags, 0o644)

        description = _describe_model(model, self._layers)
        description.update(model_info or {})
        header = {"type": "header", "schema": SCHEMA, "tool": "gradscope_torch",
                  "version": __version__, "torch": torch.__version__, "command": "train",
                  "created": datetime.datetime.now(datetime.timezone.utc)
                  .strftime("%Y-%m-%dT%H:%M:%SZ")}
        if seed is not None:
            header["seed"] = int(seed)
        header.update(model=description, train=self._train, task=dict(task or {}),
                      layers=[self._layer_header(layer) for layer in self._layers])
        self._write(header)
        self._attach_hooks()  # step 1 is probed: capture from the first forward pass on
        self._start = time.monotonic()

    # -- the user's calls ----------------------------------------------------------------------

    def step(self, loss, clipped=None, grad_norm=None, skipped=False):
        """Writes the record of one training step. Call it after loss.backward() and before
        optimizer.step(), and before clip_grad_norm_ (or pass grad_norm=the value that
        clip_grad_norm_ returns: the norm before clipping)."""
        with torch.no_grad():
            number = self._step + 1
            loss_value = _to_float(loss)
            if grad_norm is None:
                grad_norm = self._global_grad_norm()
            grad_norm = _to_float(grad_norm)
            nonfinite = {"loss": not _finite(loss_value), "grad": not _finite(grad_norm)}
            # A NaN/Inf weight makes the loss non-finite (NaN * 0 is NaN), so outside probed
            # steps the weights need checking only when the loss or the gradient already is.
            check_weights = self._probing or any(nonfinite.values())
            nonfinite["weight"] = check_weights and not self._weights_finite()
            if clipped is None:
                clip = self._train.get("clip")
                clipped = clip is not None and _finite(grad_norm) and grad_norm > clip
            record = {"type": "step", "step": number, "loss": loss_value, "grad_norm": grad_norm,
                      "clipped": bool(clipped), "skipped": bool(skipped), "lr": self._lr(),
                      "nonfinite": nonfinite}
            if any(nonfinite.values()):
                first = self._first_nonfinite()
                if first is not None:
                    record["first_nonfinite"] = first
            if self._probing or any(nonfinite.values()):
                record["layers"] = [self._layer_record(layer) for layer in self._layers]
                time_steps = self._time_step_entries()
                if time_steps:
                    record["time_steps"] = time_steps
            self._write(record)

            self._step = number
            self._skipped += int(bool(skipped))
            self._last_loss = loss_value
            self._start_next_step()

    def watch_steps(self, hidden_states, layer=0, cells=None):
        """Records the total dL/dh_t of an unrolled recurrent loop. Call it in the forward pass,
        before backward, with h_1 ... h_T (each (batch, hidden), as used by the rest of the graph;
        not h_0) and for an LSTM optionally c_1 ... c_T. `layer` is the time_steps index (0 =
        next to the input). nn.RNNCell/LSTMCell/GRUCell loops need no call: they are watched
        automatically. Returns hidden_states. Does nothing on steps that are not probed."""
        if not self._probing or not torch.is_grad_enabled():
            return hidden_states
        owner = self._recurrent[layer] if layer < len(self._recurrent) else None
        series = self._start_manual(layer, owner, _StepSeries())
        for t, h in enumerate(hidden_states):
            self._watch_step(series, owner, h, cells[t] if cells is not None else None)
        return hidden_states

    def watch_sequence(self, output, layer=None, batch_first=None):
        """Records ||d(loss)/d(output[t])|| for the output sequence of an nn.RNN/LSTM/GRU. This is
        only the DIRECT part of dL/dh_t (the loss terms that read output[t]), not what flows back
        from step t+1; use an unrolled cell loop for the total. `layer` defaults to the top of the
        first recurrent stack, batch_first to that module's setting. Returns output."""
        if isinstance(output, nn.utils.rnn.PackedSequence):
            raise TypeError("gradscope_torch: watch_sequence needs a padded tensor, not a "
                            "PackedSequence (use nn.utils.rnn.pad_packed_sequence)")
        if not self._probing or not torch.is_grad_enabled() or not output.requires_grad:
            return output
        stack = next((lay for lay in self._recurrent if isinstance(lay.module, nn.RNNBase)), None)
        if layer is None:
            layer = 0 if stack is None else stack.recurrent_index + stack.module.num_layers - 1
        if batch_first is None:
            batch_first = bool(stack is not None and stack.module.batch_first)
        owner = self._recurrent[layer] if layer < len(self._recurrent) else None
        series = self._start_manual(layer, owner, _StepSeries(direct_only=True))

        sequence = output.detach()
        if sequence.dim() == 2:  # unbatched (T, hidden)
            sequence = sequence.unsqueeze(1)
        elif batch_first:
            sequence = sequence.transpose(0, 1)  # (T, batch, features)
        steps = sequence.shape[0]
        for _ in range(steps):
            series.add_step()
        series.measurable = [True] * steps
        if owner is not None and owner.kind in ("rnn_tanh", "rnn_relu"):
            derivative = self._activation_stats(owner, sequence.reshape(-1, sequence.shape[-1]),
                                                "tanh" if owner.kind == "rnn_tanh" else "relu")
            series.derivative = list(derivative.reshape(steps, -1).mean(dim=1))

        def on_grad(grad):
            with torch.no_grad():
                if grad.dim() == 2:
                    grad = grad.unsqueeze(1)
                elif batch_first:
                    grad = grad.transpose(0, 1)
                norms = _row_norms(grad.reshape(steps * grad.shape[1], -1)).reshape(steps, -1)
                series.grad = list(norms.mean(dim=1))
                series.grad_batch = list(_row_norms(norms))

        output.register_hook(on_grad)
        return output

    def eval(self, loss, accuracy=None, step=None):
        """Writes an eval record: the loss (and accuracy) on a held-out set after `step` (default:
        the last step logged)."""
        record = {"type": "eval", "step": self._step if step is None else int(step),
                  "loss": _to_float(loss)}
        if accuracy is not None:
            record["accuracy"] = _to_float(accuracy)
        self._write(record)
        self._last_eval = record

    def close(self, status="completed", reason=None):
        """Writes the end record and removes the hooks. A second call does nothing."""
        if self._fd is None:
            return
        record = {"type": "end", "status": status}
        if reason is not None:
            record["reason"] = reason
        record.update(steps=self._step, skipped=self._skipped,
                      seconds=time.monotonic() - self._start, final_loss=self._last_loss)
        if self._last_eval is not None:
            record["test"] = self._last_eval
        self._write(record)
        self._detach_hooks()
        os.close(self._fd)
        self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None:
            self.close()
        else:
            self.close("stopped", f"{kind.__name__} after step {self._step}: {error}")
        return False

    def __del__(self):
        # No end record here: a log without one reads as a run that was killed.
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)
            self._fd = None

    # -- hooks ---------------------------------------------------------------------------------

    def _assign_activations(self):
        followers = _following_activations(self.model)
        recurrent_index = 0
        for index, layer in enumerate(self._layers, start=1):
            layer.index = index
            if layer.kind in ("rnn_tanh", "rnn_relu", "lstm", "gru"):
                layer.recurrent_index = recurrent_index
                recurrent_index += 1
                continue
            follower = followers.get(id(layer.module))
            if follower == "identity":
                layer.activation = "identity"
            elif follower is not None:
                layer.activation = _activation_name(follower)
                layer.activation_module = follower

    def _attach_hooks(self):
        """Forward hooks exist only during probed steps: on the others, modules run PyTorch's
        hook-free fast path."""
        activations = {}
        for layer in self._layers:
            if layer.recurrent_index is not None:
                if isinstance(layer.module, nn.RNNCellBase):
                    self._handles.append(
                        layer.module.register_forward_hook(self._cell_hook(layer)))
                continue  # nn.RNN/LSTM/GRU: h_t is internal (watch_steps / watch_sequence)
            self._handles.append(layer.module.register_forward_hook(self._layer_hook(layer)))
            if layer.activation_module is not None:
                activations[id(layer.activation_module)] = layer.activation_module
        for module in activations.values():
            self._handles.append(module.register_forward_hook(self._activation_hook))

    def _detach_hooks(self):
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _layer_hook(self, layer):
        def hook(module, inputs, output):
            if not self._probing:
                return
            if layer.activation_module is not None:
                # h_l is the output of the activation that runs next: mark it as ours.
                self._pending[id(layer.activation_module)] = layer
            else:
                self._capture(layer, output, layer.activation)
        return hook

    def _activation_hook(self, module, inputs, output):
        layer = self._pending.pop(id(module), None)
        if layer is not None:
            self._capture(layer, output, layer.activation)

    def _cell_hook(self, layer):
        def hook(module, inputs, output):
            if not self._probing or layer.recurrent_index in self._manual:
                return
            h, c = output if isinstance(output, tuple) else (output, None)
            if not torch.is_grad_enabled() or not h.requires_grad:
                return  # evaluation under no_grad: not part of this step's backward
            series = self._series.setdefault(layer.recurrent_index, _StepSeries())
            self._watch_step(series, layer, h, c)
        return hook

    def _capture(self, layer, h, activation):
        """Forward hook work on a probed step: saturation and dead units from h_l, and a tensor
        hook for the per-sample norms of dL/dh_l."""
        if not torch.is_tensor(h) or not h.requires_grad:
            return  # evaluation under no_grad, or a frozen part of the model
        with torch.no_grad():
            self._activation_stats(layer, _per_sample(h.detach()), activation)

        def on_grad(grad):
            with torch.no_grad():
                layer.sample_norms.append(_row_norms(_per_sample(grad)))

        h.register_hook(on_grad)

    def _activation_stats(self, layer, rows, activation):
        """Accumulates the layer's saturated pairs and live units from h rows (samples x units);
        returns the activation derivative of every entry (None when not tracked)."""
        if activation == "sigmoid":
            derivative = rows * (1 - rows)
            layer.saturated += int((derivative < SIGMOID_SATURATED).sum())
        elif activation == "tanh":
            derivative = 1 - rows * rows
            layer.saturated += int((derivative < TANH_SATURATED).sum())
        elif activation == "relu":
            derivative = (rows > 0).to(torch.float64)
            alive = (rows != 0).any(dim=0)
            if layer.alive is None:
                layer.alive = alive
            elif layer.alive.shape == alive.shape:
                layer.alive |= alive
            else:
                layer.dead_fractions.append(1.0 - alive.to(torch.float64).mean().item())
        else:
            derivative = None
        layer.units_seen += rows.numel()
        return derivative

    def _start_manual(self, index, owner, series):
        self._series[index] = series
        self._manual.add(index)
        if owner is not None:
            owner.reset()  # drop what the automatic capture may have seen this step
        return series

    def _watch_step(self, series, owner, h, c):
        t = series.add_step()
        if not torch.is_tensor(h) or not h.requires_grad:
            return
        series.measurable[t] = True
        with torch.no_grad():
            rows = _per_sample(h.detach())
            if owner is not None and owner.kind in ("rnn_tanh", "rnn_relu"):
                act = "tanh" if owner.kind == "rnn_tanh" else "relu"
                series.derivative[t] = self._activation_stats(owner, rows, act).mean()
            elif c is not None and torch.is_tensor(c):
                series.derivative[t] = (1 - torch.tanh(c.detach()) ** 2).mean()

        def on_h_grad(grad):
            with torch.no_grad():
                norms = _row_norms(_per_sample(grad))
                series.grad[t] = norms.mean()
                series.grad_batch[t] = _norm(norms)

        h.register_hook(on_h_grad)
        if torch.is_tensor(c) and c.requires_grad:
            def on_c_grad(grad):
                with torch.no_grad():
                    series.cell_grad[t] = _row_norms(_per_sample(grad)).mean()

            c.register_hook(on_c_grad)

    # -- what a step record holds --------------------------------------------------------------

    def _is_probe_step(self, number):
        return (number == 1 or (self.probe_every > 0 and number % self.probe_every == 0)
                or (self.steps is not None and number == self.steps))

    def _start_next_step(self):
        self._detach_hooks()
        for layer in self._layers:
            layer.reset()
        self._pending.clear()
        self._series.clear()
        self._manual.clear()
        self._snapshots.clear()
        self._probing = self._is_probe_step(self._step + 1)
        if self._probing:
            self._attach_hooks()
        if self._probing and self._step > 0:
            # optimizer.step() runs after this call: the weight now is the one before that
            # update, which the next (probed) step compares with (update_ratio).
            self._snapshots = {layer: layer.weight.detach().clone() for layer in self._layers}

    def _global_grad_norm(self):
        return _global_norm([p.grad for _, p in self._params if p.grad is not None])

    def _weights_finite(self):
        checks = [torch.isfinite(p.detach()).all() for _, p in self._params]
        if not checks:
            return True
        return bool(torch.stack([check.to(checks[0].device) for check in checks]).all())

    def _first_nonfinite(self):
        for name, p in self._params:
            if p.grad is not None and not bool(torch.isfinite(p.grad).all()):
                return name
        for name, p in self._params:
            if not bool(torch.isfinite(p.detach()).all()):
                return name
        return None

    def _lr(self):
        if self.optimizer is not None:
            return self.optimizer.param_groups[0]["lr"]
        return self._train.get("lr")

    def _layer_header(self, layer):
        return {"index": layer.index, "name": layer.name, "kind": layer.kind,
                "activation": layer.activation, **layer.sizes}

    def _layer_record(self, layer):
        weight = layer.weight.detach()
        before = self._snapshots.get(layer)
        # Every norm as a 0-d float64 tensor, read back in one go. A float64 norm of a narrower
        # tensor is finite exactly when all its entries are, so the norms double as NaN checks.
        norms = {"weight": _norm(weight), "distance": _norm(weight - layer.initial_weight)}
        if layer.weight.grad is not None:
            norms["weight_grad"] = _norm(layer.weight.grad)
        if before is not None:
            norms["before"] = _norm(before)
            norms["change"] = _norm(weight - before)
        others = [_norm(p) for _, p in layer.params[1:]]
        others += [_norm(p.grad) for _, p in layer.params if p.grad is not None]
        if others:
            norms["others"] = _norm(torch.stack(others))
        if layer.recurrent_index is None and layer.sample_norms:
            sample_norms = torch.cat(layer.sample_norms)
            norms["grad"] = sample_norms.mean()
            norms["grad_batch"] = _norm(sample_norms)
        device = norms["weight"].device
        values = dict(zip(norms, torch.stack([norm.to(device) for norm in norms.values()])
                          .tolist()))

        if layer.recurrent_index is not None:
            grad_norm, grad_norm_batch = self._recurrent_grad_norms(layer.recurrent_index)
        else:  # None when not captured: an unplanned (non-finite) step
            grad_norm, grad_norm_batch = values.get("grad"), values.get("grad_batch")
        update_ratio = None
        if values.get("before"):
            update_ratio = values["change"] / values["before"]
        nonfinite = not all(math.isfinite(value) for value in values.values())
        nonfinite |= grad_norm is not None and not math.isfinite(grad_norm)
        return {"index": layer.index, "name": layer.name, "kind": layer.kind,
                "activation": layer.activation, "grad_norm": grad_norm,
                "grad_norm_batch": grad_norm_batch, "weight_norm": values["weight"],
                "weight_grad_norm": values.get("weight_grad", 0.0),
                "rel_dist_init": (values["distance"] / layer.initial_norm
                                  if layer.initial_norm > 0 else None),
                "update_ratio": update_ratio, "saturated": self._saturated(layer),
                "dead": self._dead(layer), "nonfinite": nonfinite}

    def _saturated(self, layer):
        tracked = layer.activation in ("sigmoid", "tanh") or layer.kind == "rnn_tanh"
        if not tracked:
            return 0.0
        return layer.saturated / layer.units_seen if layer.units_seen else None

    def _dead(self, layer):
        if layer.activation != "relu" and layer.kind != "rnn_relu":
            return 0.0
        fractions = list(layer.dead_fractions)
        if layer.alive is not None:
            fractions.append(1.0 - layer.alive.to(torch.float64).mean().item())
        return sum(fractions) / len(fractions) if fractions else None

    def _recurrent_grad_norms(self, index):
        """A recurrent layer's grad_norm: its per-step ||dL/dh_t|| averaged over the steps."""
        series = self._series.get(index)
        if series is None or not any(series.measurable):
            return None, None
        means = [value for value in _step_values(series.grad, series.measurable, 0.0)
                 if value is not None]
        batch = [value for value in _step_values(series.grad_batch, series.measurable, 0.0)
                 if value is not None]
        return sum(means) / len(means), sum(batch) / len(batch)

    def _time_step_entries(self):
        entries = []
        for index in sorted(self._series):
            series = self._series[index]
            if not any(series.measurable):
                continue
            entry = {"layer": index,
                     "grad_norm": _step_values(series.grad, series.measurable, 0.0)}
            if any(value is not None for value in series.cell_grad):
                entry["cell_grad_norm"] = _step_values(series.cell_grad, series.measurable, 0.0)
            if any(value is not None for value in series.derivative):
                entry["activation_derivative"] = _step_values(series.derivative,
                                                              series.measurable, None)
            if series.direct_only:
                entry["direct_only"] = True
            entries.append(entry)
        return entries

    # -- output --------------------------------------------------------------------------------

    def _write(self, record):
        line = json.dumps(_json_safe(record), allow_nan=False, separators=(",", ":")) + "\n"
        data = line.encode("utf-8")
        # One write(2) per record on an O_APPEND descriptor, no user-space buffer: a run killed
        # at any moment leaves only complete lines. (A short write, possible only when the disk
        # is full, is finished by the loop.)
        written = os.write(self._fd, data)
        while written < len(data):
            written += os.write(self._fd, data[written:])
