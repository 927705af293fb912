"""A saved model's config and weights read without torch (numpy arrays from the safetensors file), for the
exact checker: ``lsrl verify`` of an exact certificate then never imports torch (about 1.5 s of its run)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models import checkpoint
from models.config import LayerConfig, ModelConfig

if TYPE_CHECKING:
    from models.stack import RecurrentModel

Shapes = dict[str, tuple[int, ...]]


@dataclass(frozen=True)
class StoredModel:
    """What ``proofs.exact_model.RationalModel`` reads of a model: its config and its weights as float64
    arrays (each the exact value of the stored float), named as in the module's ``state_dict``."""

    config: ModelConfig
    arrays: dict[str, np.ndarray]


def load_stored(directory: str | os.PathLike) -> StoredModel | RecurrentModel:
    """The model saved in ``directory``, checked as ``models.checkpoint.load`` checks it (config fields, the
    weights file's header against the tensors the config implies, finite values). Torch-free for the plain
    exact models ``exact_tensors`` describes; any other config is loaded by ``models.checkpoint.load``."""
    config = ModelConfig.from_json(checkpoint.read_config(directory)["model"],
                                   f"{Path(directory) / checkpoint.CONFIG}: field 'model'")
    shapes = exact_tensors(config)
    if shapes is None:
        return checkpoint.load(directory)
    path = Path(directory) / checkpoint.WEIGHTS
    header, data_start = checkpoint.check_header(path, {name: (shape, config.dtype) for name, shape in shapes.items()})
    try:
        data = path.read_bytes()
    except OSError as err:
        raise checkpoint.CheckpointError(f"{path}: cannot read ({err.strerror or err})") from None
    arrays = {name: _decoded(data, data_start, header[name]) for name in shapes}
    bad = next((name for name, a in arrays.items() if not np.isfinite(a).all()), None)
    if bad is not None:
        raise checkpoint.CheckpointError(f"{path}: tensor {bad!r} holds NaN or infinite values")
    return StoredModel(config, arrays)


def _decoded(data: bytes, data_start: int, entry: dict[str, Any]) -> np.ndarray:
    """One tensor as float64 (exact: every stored float is a float64), from its header ``entry`` (already
    checked: dtype, shape, byte range)."""
    start, end = (data_start + offset for offset in entry["data_offsets"])
    raw = data[start:end]
    if entry["dtype"] == "BF16":  # the upper half of a float32
        values = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        values = np.frombuffer(raw, dtype={"F64": "<f8", "F32": "<f4", "F16": "<f2"}[entry["dtype"]])
    return values.astype(np.float64).reshape(entry["shape"])


def exact_tensors(config: ModelConfig) -> Shapes | None:
    """The tensors (name -> shape) of ``models.stack.RecurrentModel(config)`` for a plain exact model (one
    head, no literature part, symbols embedded, so not ported) of a family ``RationalModel`` steps, whose module accepts
    the layer; None for any other config. ``tests/proofs/test_stored_model.py`` checks it against the module."""
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
