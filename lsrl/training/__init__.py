"""Training the trainable counterparts of the compiled models on the task library; their length generalisation."""
from __future__ import annotations

from importlib import import_module

# Public name -> the module that defines it, loaded on first use (training imports torch). The entry points
# train.train and evaluate.evaluate are reached through their modules: a function named like its module is not
# re-exported, since the package attribute is the module once that is imported.
_EXPORTS = {name: module for module, names in {
    "train": ("TrainConfig", "TrainResult", "TrainingDiverged", "build_model", "model_config",
              "resolve_device", "save_run"),
    "curriculum": ("Curriculum",),
    "evaluate": ("LengthMetrics", "bucket", "evaluate_length", "scaled_accuracy"),
    "warm_start": ("InitMismatch", "initial_model"),
}.items() for name in names}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
