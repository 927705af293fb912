"""The tensors (name -> shape) of a model config, computed without building the model: exactly for the plain
exact models a certificate checks, and a parameter count for any config, checked against a limit before allocation."""
from __future__ import annotations

from automata import limits
from models.config import LayerConfig, ModelConfig

Shapes = dict[str, tuple[int, ...]]


def exact_tensors(config: ModelConfig) -> Shapes | None:
    """The tensors (name -> shape) of ``models.stack.RecurrentModel(config)`` for a plain exact model (one
    head, no literature part, symbols embedded, so not ported) of a family ``RationalModel`` steps, whose module accepts
    the layer; None for any other config. ``tests/models/test_tensor_shapes.py`` checks it against the module."""
    if not config.exact or config.d_input or config.norm or config.dtype not in ("float32", "float64", "bfloat16",
                                                                                  "float16"):
        return None
    tensors: Shapes = {"embedding.weight": (config.n_symbols, config.d_model)}
    for i, layer in enumerate(config.layers):
        recurrence = _RECURRENCES.get(config.arch)
        parts = recurrence(layer) if recurrence is not None and layer.heads == 1 else None
        if parts is None:
            return None
        prefix = f"blocks.{i}."
        tensors.update({prefix + "recurrence." + name: _shape(shape, config.d_model) for name, shape in parts.items()})
        if layer.mlp_hidden:
            tensors.update(_linear(prefix + "mlp.up", layer.mlp_hidden, config.d_model))
            tensors.update(_linear(prefix + "mlp.down", config.d_model, layer.mlp_hidden))
    tensors.update(_linear("readout", config.n_labels, config.d_model))
    return tensors


D = -1  # stands for d_model in a recurrence's shapes


def _shape(shape: tuple[int, ...], d_model: int) -> tuple[int, ...]:
    return tuple(d_model if n == D else n for n in shape)


def _linear(name: str, rows: int, columns: int) -> Shapes:
    return {name + ".weight": (rows, columns), name + ".bias": (rows,)}


def _out_and_h0(n: int) -> Shapes:
    return {**_linear("out", D, n), "h0": (n,)}


def _dense(layer: LayerConfig) -> Shapes:
    n = layer.d_state
    return {**_linear("to_a", n * n, D), **_linear("to_b", n, D), **_out_and_h0(n)}


def _elman(layer: LayerConfig) -> Shapes:
    n = layer.d_state
    return {"recurrent.weight": (n, n), **_linear("inp", n, D), **_out_and_h0(n)}


def _diagonal(layer: LayerConfig) -> Shapes | None:
    n = layer.d_state
    if not -1 <= layer.gate_range[0] < layer.gate_range[1] <= 1:
        return None
    return {**_linear("to_a", n, D), **_linear("to_b", n, D), **_out_and_h0(n)}


def _rotation(layer: LayerConfig) -> Shapes | None:
    return None if layer.d_state % 2 else {**_linear("to_a", layer.d_state, D), **_linear("to_b", layer.d_state, D),
                                           **_out_and_h0(layer.d_state)}


def _deltaproduct(layer: LayerConfig) -> Shapes | None:
    d_k, d_v, n_h = layer.d_state, layer.d_value or layer.d_state, layer.n_h
    if n_h < 1 or not 0 <= layer.gate_range[0] < layer.gate_range[1] <= 2:
        return None
    gate = _linear("to_alpha", 1, D) if layer.gated else {}
    return {**_linear("to_q", d_k, D), **_linear("to_k", n_h * d_k, D), **_linear("to_v", n_h * d_v, D),
            **_linear("to_beta", n_h, D), **gate, **_linear("out", D, d_v), "s0": (d_k, d_v)}


def _gated(gates: int, cell: bool):
    def shapes(layer: LayerConfig) -> Shapes | None:
        n = layer.d_state
        if n == 0:  # the module's initialisation divides by the width
            return None
        return {"weight_ih": (gates * n, D), "weight_hh": (gates * n, n), "bias_ih": (gates * n,),
                "bias_hh": (gates * n,), **_out_and_h0(n), **({"c0": (n,)} if cell else {})}
    return shapes


_RECURRENCES = {"dense-lrnn": _dense, "elman": _elman, "diag": _diagonal, "rotation": _rotation,
                "deltaproduct": _deltaproduct, "lstm": _gated(4, True), "gru": _gated(3, False)}


def parameter_count(config: ModelConfig) -> int:
    """The parameters of ``RecurrentModel(config)``: exact for the configs ``exact_tensors`` describes, else an upper
    estimate (eight maps of the layer's widest width from the stream and from the state, and a dense layer's
    transition rows; checked against the module by ``tests/models/test_tensor_shapes.py``)."""
    shapes = exact_tensors(config)
    if shapes is not None:
        return sum(_product(shape) for shape in shapes.values())
    stream = config.d_model + 1
    total = (max(config.n_symbols, config.d_input) + config.n_labels + 2) * stream
    for layer in config.layers:
        width = max(layer.d_state, layer.d_value, layer.mlp_hidden, 1) * max(layer.n_h, 1) * max(layer.heads, 1)
        rows = layer.d_state * layer.d_state if config.arch == "dense-lrnn" else 0
        total += 8 * (width + 1) * (stream + layer.conv + width) + rows * stream
    return total


def check_parameters(config: ModelConfig, where: str) -> None:
    """``automata.limits.LimitExceeded`` (--max-parameters) for a model too large to allocate."""
    limits.check("parameters", parameter_count(config), where)


def _product(shape: tuple[int, ...]) -> int:
    out = 1
    for n in shape:
        out *= n
    return out
