"""The layered recurrent model, its recurrences, configs and checkpoints, and the architecture registry."""
from __future__ import annotations

from importlib import import_module

# Public name -> the module that defines it, loaded on first use: configs, origins and shapes are read without
# torch (`lsrl verify` of an exact certificate), the modules and checkpoints import it.
_EXPORTS = {name: module for module, names in {
    "config": ("ConfigError", "LayerConfig", "ModelConfig"),
    "origin": ("ConstructionOrigin", "ProgramOrigin", "ProgramPort", "TrainingOrigin"),
    "stack": ("MLP", "RecurrentModel"),
    "registry": ("Architecture", "recurrence_class"),
    "checkpoint": ("CheckpointError", "load", "read_config", "read_model_config", "save"),
    "output_directory": ("UnsafeOutput", "check_target", "claim_incremental", "write_directory"),
    "tensor_shapes": ("check_parameters", "exact_tensors", "parameter_count"),
    "deltaproduct": ("DeltaProductRecurrence",),
    "dense": ("DenseRecurrence",),
    "diagonal": ("DiagonalRecurrence",),
    "elman": ("ElmanRecurrence",),
    "gated_rnn": ("GRURecurrence", "LSTMRecurrence"),
    "lti": ("LtiRecurrence",),
    "mamba": ("MambaRecurrence",),
    "rglru": ("RGLRURecurrence",),
    "rotation": ("RotationRecurrence",),
}.items() for name in names}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
