"""Checkpoints: ``model.safetensors`` + ``config.json`` in a directory, written atomically (a
temporary directory renamed into place), never pickled."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from automata.errors import LsrlInputError
from models.config import ModelConfig
from models.stack import RecurrentModel

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


class CheckpointError(LsrlInputError):
    """A directory that is not a readable lsrl checkpoint."""


def save(model: RecurrentModel, directory: str | os.PathLike, extra: dict[str, Any] | None = None,
         files: dict[str, str] | None = None) -> Path:
    """Write the model (and any ``extra`` config fields and text ``files``) to ``directory``,
    replacing it only once everything is written."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        tensors = {name: t.detach().contiguous().cpu() for name, t in model.state_dict().items()}
        save_file(tensors, tmp / WEIGHTS)
        config = {"model": model.config.to_json(), **(extra or {})}
        (tmp / CONFIG).write_text(json.dumps(config, indent=1) + "\n")
        for name, text in (files or {}).items():
            (tmp / name).write_text(text)
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    path = Path(directory) / CONFIG
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{directory}: not an lsrl model directory (no {CONFIG})") from None
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}:{err.lineno}:{err.colno}: malformed JSON: {err.msg}") from None


def load(directory: str | os.PathLike, device: str | torch.device = "cpu") -> RecurrentModel:
    """The model saved in ``directory``, on ``device``."""
    config = ModelConfig.from_json(read_config(directory)["model"])
    model = RecurrentModel(config)
    try:
        state = load_file(Path(directory) / WEIGHTS)
    except FileNotFoundError:
        raise CheckpointError(f"{directory}: missing {WEIGHTS}") from None
    model.load_state_dict(state)
    return model.to(device)
