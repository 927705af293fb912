"""Architecture family name -> recurrence module class (imported lazily, one module per class)."""
from __future__ import annotations

from importlib import import_module

from torch import nn

_RECURRENCES = {
    "dense-lrnn": ("models.dense", "DenseRecurrence"),
    "elman": ("models.elman", "ElmanRecurrence"),
}


def recurrence_class(arch: str) -> type[nn.Module]:
    module, name = _RECURRENCES[arch]
    return getattr(import_module(module), name)
