"""The layered recurrent model, its recurrences, configs and checkpoints, and the architecture registry."""
from __future__ import annotations

from automata.lazy_exports import lazy_exports

# Public name -> the module that defines it, loaded on first use: configs, origins and shapes are read without
# torch (`lsrl verify` of an exact certificate), the modules and checkpoints import it.
__all__, __getattr__ = lazy_exports(__name__, {
    "config": ("ConfigError", "LayerConfig", "ModelConfig"),
    "origin": ("ConstructionOrigin", "ProgramIO", "ProgramOrigin", "TrainingOrigin"),
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
})
