"""Length-generalisation metrics: token, final and sequence accuracy per evaluation length, and the scaled accuracy, whose
chance level we define (docs/reproduce.md#metrics-lsrltrainingevaluate)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from automata.tasks import Task
from models.stack import RecurrentModel


@dataclass(frozen=True)
class LengthMetrics:
    """Accuracies of one model on ``n`` strings of one length."""

    length: int
    n: int
    token: float
    final: float
    sequence: float
    chance: float

    @property
    def scaled(self) -> float:
        return scaled_accuracy(self.final, self.chance)

    @property
    def solved(self) -> bool:
        """Every label of every evaluated string right."""
        return self.sequence == 1.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "scaled": self.scaled}


def scaled_accuracy(accuracy: float, chance: float) -> float:
    """``(accuracy - chance) / (1 - chance)``, clipped below at 0: 1 is perfect, 0 is guessing."""
    return max(0.0, (accuracy - chance) / (1.0 - chance))


@torch.no_grad()
def predictions(model: RecurrentModel, symbols: np.ndarray, batch: int = 256) -> np.ndarray:
    """The model's label at every position of ``symbols`` (B, T), computed ``batch`` strings at a time."""
    device = next(model.parameters()).device
    model.eval()
    out = [model.predict(torch.as_tensor(symbols[i:i + batch], device=device)).cpu().numpy()
           for i in range(0, len(symbols), batch)]
    return np.concatenate(out) if out else np.zeros(symbols.shape, dtype=np.int64)


def evaluate_length(model: RecurrentModel, task: Task, length: int, n: int, seed: int) -> LengthMetrics:
    """Accuracies on ``n`` strings of ``length`` drawn with ``seed``."""
    symbols = task.sample(n, length, seed)
    target = task.label_sequence(symbols)
    predicted = predictions(model, symbols)
    correct = predicted == target
    final = task.final_position(length)
    answers = len(np.unique(target[:, final])) if n else 1
    return LengthMetrics(length, n, float(correct.mean()), float(correct[:, final].mean()),
                         float(correct.all(axis=1).mean()), 1.0 / max(answers, 2))


def evaluate(model: RecurrentModel, task: Task, lengths: Sequence[int], n: int = 256,
             seed: int = 0) -> tuple[LengthMetrics, ...]:
    """``evaluate_length`` at every length, each with its own seed derived from ``seed``."""
    return tuple(evaluate_length(model, task, length, n, seed * 1_000_003 + length) for length in lengths)


def bucket(metrics: Sequence[LengthMetrics], low: int, high: int) -> dict[str, float]:
    """Mean accuracies over the evaluated lengths in [low, high] (a length bucket)."""
    inside = [m for m in metrics if low <= m.length <= high]
    if not inside:
        raise ValueError(f"no evaluated length in [{low}, {high}]")
    return {key: float(np.mean([getattr(m, key) for m in inside])) for key in ("token", "final", "sequence", "scaled")}
