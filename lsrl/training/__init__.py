"""Training the trainable counterparts of the compiled models on the task library; their length generalisation."""
from __future__ import annotations

from automata.lazy_exports import lazy_exports

# Public name -> the module that defines it, loaded on first use (training imports torch). The entry points
# train.train and evaluate.evaluate are reached through their modules: a function named like its module is not
# re-exported, since the package attribute is the module once that is imported.
__all__, __getattr__ = lazy_exports(__name__, {
    "train": ("TrainConfig", "TrainResult", "TrainingDiverged", "build_model", "model_config",
              "resolve_device", "save_run"),
    "curriculum": ("Curriculum",),
    "evaluate": ("LengthMetrics", "bucket", "evaluate_length", "scaled_accuracy"),
    "warm_start": ("InitMismatch", "initial_model"),
})
