"""Checkpoints: ``model.safetensors`` + ``config.json`` in a directory, written atomically and only
over lsrl's own previous outputs (``models.output_directory``), never pickled. Torch is imported by
``save`` and ``load`` only: the config and the weights file's header are read without it."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automata.bounded_input import load_json, parse_json
from automata.errors import LsrlInputError
from models.config import ModelConfig
from models.output_directory import write_directory

if TYPE_CHECKING:
    import torch

    from models.stack import RecurrentModel

WEIGHTS = "model.safetensors"
SMALL_MODEL = 1 << 22  # size_scale below which a model is built directly to learn its tensor shapes
CONFIG = "config.json"


class CheckpointError(LsrlInputError):
    """A directory that is not a readable lsrl checkpoint."""


def save(model: RecurrentModel, directory: str | os.PathLike, extra: dict[str, Any] | None = None,
         files: dict[str, str] | None = None) -> Path:
    """Write the model (and any ``extra`` config fields and text ``files``) to ``directory``,
    replacing it only once everything is written."""
    from safetensors.torch import save_file

    tensors = {name: t.detach().contiguous().cpu() for name, t in model.state_dict().items()}
    bad = _non_finite(tensors)
    if bad:
        raise CheckpointError(f"refusing to save a model with non-finite weights ({', '.join(bad[:5])})")
    config = {"model": model.config.to_json(), **(extra or {})}

    def write(tmp: Path) -> None:
        save_file(tensors, tmp / WEIGHTS)
        (tmp / CONFIG).write_text(json.dumps(config, indent=1) + "\n")
        for name, text in (files or {}).items():
            (tmp / name).write_text(text)

    return write_directory(directory, write)


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    """The config.json of a model directory, read with the bounds of ``automata.bounded_input``."""
    path = Path(directory) / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{directory}: not an lsrl model directory (no {CONFIG})")
    document = load_json(path, "model config")
    if not isinstance(document, dict) or "model" not in document:
        raise CheckpointError(f"{path}: expected a JSON object with a 'model' field")
    return document


def read_model_config(directory: str | os.PathLike) -> ModelConfig:
    """The validated model config of a model directory (its config.json's "model" field)."""
    return ModelConfig.from_json(read_config(directory)["model"], f"{Path(directory) / CONFIG}: field 'model'")


def load(directory: str | os.PathLike, device: str | torch.device = "cpu") -> RecurrentModel:
    """The model saved in ``directory``, on ``device``: the config is validated and the weights file's
    header is checked against the shapes the config implies before any tensor is read."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from models.stack import RecurrentModel

    config = read_model_config(directory)
    # A small model is built at once (cheap); a large one first on the meta device, which allocates nothing
    # but costs seconds (its initialisers load torch._dynamo), so that a hostile config cannot allocate.
    small = config.size_scale() <= SMALL_MODEL
    try:
        with torch.device("cpu" if small else "meta"):
            shaped = RecurrentModel(config).to(getattr(torch, config.dtype))
    except (ValueError, ZeroDivisionError) as err:  # a layer its module refuses (a gate range outside the class's,
        # an odd width, ...; an LSTM or GRU of width 0 divides by its width)
        raise CheckpointError(f"{Path(directory) / CONFIG}: field 'model': {err}") from None
    expected = {name: (tuple(t.shape), str(t.dtype).removeprefix("torch.")) for name, t in shaped.state_dict().items()}
    path = Path(directory) / WEIGHTS
    check_header(path, expected)
    try:
        state = load_file(path)
    except (OSError, SafetensorError) as err:
        raise CheckpointError(f"{path}: unreadable safetensors file ({err})") from None
    bad = _non_finite(state)
    if bad:
        raise CheckpointError(f"{path}: tensor {bad[0]!r} holds NaN or infinite values")
    model = shaped if small else RecurrentModel(config).to(getattr(torch, config.dtype))
    model.load_state_dict(state)
    return model.to(device)


def _non_finite(tensors: dict[str, torch.Tensor]) -> list[str]:
    """The names of the floating-point tensors holding a NaN or an infinity."""
    return [name for name, t in tensors.items() if t.is_floating_point() and not bool(t.isfinite().all())]


# safetensors' dtype names -> torch's (and numpy's, but for bfloat16)
SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
                      "I32": "int32", "BOOL": "bool"}


def check_header(path: Path, expected: dict[str, tuple[tuple[int, ...], str]]) -> tuple[dict[str, Any], int]:
    """The safetensors header of ``path`` names exactly the ``expected`` tensors with their shapes
    and dtypes (torch's names), and their byte ranges lie inside the file (read without allocating the
    tensors). Returns the header and the offset of the data in the file."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            prefix = handle.read(8)
            length = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
            if not 0 < length <= min(size - 8, 100 * 2**20):
                raise CheckpointError(f"{path}: not a safetensors file (truncated or bad header length)")
            header = parse_json(handle.read(length).decode("utf-8", errors="replace"), f"{path}: header")
    except FileNotFoundError:
        raise CheckpointError(f"{path.parent}: missing {WEIGHTS}") from None
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read ({err.strerror or err})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: not a safetensors file (header is not an object)")
    header.pop("__metadata__", None)
    missing = sorted(set(expected) - set(header))
    extra = sorted(set(header) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{path}: tensors do not match config.json (missing {missing[:3]}, unexpected {extra[:3]})")
    data_bytes = size - 8 - length
    for name, (shape, dtype) in expected.items():
        entry = header[name]
        if not isinstance(entry, dict) or not isinstance(entry.get("shape"), list) \
                or not isinstance(entry.get("data_offsets"), list) or len(entry["data_offsets"]) != 2:
            raise CheckpointError(f"{path}: tensor {name!r}: malformed header entry")
        if tuple(entry["shape"]) != shape or SAFETENSORS_DTYPES.get(entry.get("dtype")) != dtype:
            raise CheckpointError(f"{path}: tensor {name!r} is {entry.get('dtype')} {entry['shape']}; config.json "
                                  f"implies {dtype} {list(shape)}")
        start, end = entry["data_offsets"]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= data_bytes):
            raise CheckpointError(f"{path}: tensor {name!r}: data outside the file (truncated?)")
        if end - start != math.prod(shape) * _ITEM_BYTES[entry["dtype"]]:
            raise CheckpointError(f"{path}: tensor {name!r}: {end - start} bytes of data for {dtype} {list(shape)}")
    _check_tiling(path, [header[name]["data_offsets"] for name in expected], data_bytes)
    return header, 8 + length


_ITEM_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "BOOL": 1}


def _check_tiling(path: Path, ranges: list[list[int]], data_bytes: int) -> None:
    """The tensors' byte ranges follow one another from the start of the data to the end of the file, as
    the safetensors library requires (no overlap, no gap): what one reader accepts, every reader does."""
    position = 0
    for start, end in sorted(ranges):
        if start != position:
            raise CheckpointError(f"{path}: tensor data {'overlaps' if start < position else 'leaves a gap'} at byte "
                                  f"{start} of the data")
        position = end
    if position != data_bytes:
        raise CheckpointError(f"{path}: {data_bytes - position} bytes after the last tensor's data")
