"""Architecture family name -> recurrence module class (imported lazily, one module per class)."""
from __future__ import annotations

from importlib import import_module

from torch import nn

_RECURRENCES = {
    "dense-lrnn": ("models.dense", "DenseRecurrence"),
    "elman": ("models.elman", "ElmanRecurrence"),
    "diag": ("models.diagonal", "DiagonalRecurrence"),
    "rotation": ("models.rotation", "RotationRecurrence"),
    "deltaproduct": ("models.deltaproduct", "DeltaProductRecurrence"),
    "lstm": ("models.gated_rnn", "LSTMRecurrence"),
    "gru": ("models.gated_rnn", "GRURecurrence"),
    "lti": ("models.lti", "LtiRecurrence"),
    "mamba": ("models.mamba", "MambaRecurrence"),
    "hawk": ("models.rglru", "RGLRURecurrence"),
}


def recurrence_class(arch: str) -> type[nn.Module]:
    module, name = _RECURRENCES[arch]
    return getattr(import_module(module), name)
