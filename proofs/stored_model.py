"""A saved model's config and weights read without torch (numpy arrays from the safetensors file), for the
exact checker: ``lsrl verify`` of an exact certificate then never imports torch (about 1.5 s of its run)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models import checkpoint
from models.config import ModelConfig
from models.tensor_shapes import check_parameters, exact_tensors

if TYPE_CHECKING:
    from models.stack import RecurrentModel


@dataclass(frozen=True)
class StoredModel:
    """What ``proofs.exact_model.RationalModel`` reads of a model: its config and its weights as float64
    arrays (each the exact value of the stored float), named as in the module's ``state_dict``."""

    config: ModelConfig
    arrays: dict[str, np.ndarray]


def load_stored(directory: str | os.PathLike) -> StoredModel | RecurrentModel:
    """The model saved in ``directory``, checked as ``models.checkpoint.load`` checks it (config fields, its size
    against --max-parameters, the weights file's header against the tensors the config implies, finite values).
    Torch-free for the plain exact models ``models.tensor_shapes.exact_tensors`` describes; any other config is
    loaded by ``models.checkpoint.load``."""
    where = f"{Path(directory) / checkpoint.CONFIG}: field 'model'"
    config = ModelConfig.from_json(checkpoint.read_config(directory)["model"], where)
    check_parameters(config, where)
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
