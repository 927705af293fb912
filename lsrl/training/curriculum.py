"""A curriculum over training lengths: short strings first, then every length up to the maximum.

Deletang et al. 2023 ("Neural Networks and the Chomsky Hierarchy") draw each training batch's length
uniformly from 1 to 40; the curriculum here draws it uniformly from 1 to a ceiling that grows linearly
from ``start`` to ``max_length`` over the first ``ramp`` fraction of the steps, then stays there.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Curriculum:
    """Training lengths per step; ``length`` is a pure function of the step and the generator."""

    max_length: int = 40
    start: int = 2
    ramp: float = 0.5

    def __post_init__(self) -> None:
        if not 1 <= self.start <= self.max_length:
            raise ValueError(f"curriculum needs 1 <= start <= max_length, got {self.start}, {self.max_length}")
        if not 0.0 <= self.ramp <= 1.0:
            raise ValueError(f"curriculum ramp must lie in [0, 1], got {self.ramp}")

    def ceiling(self, step: int, steps: int) -> int:
        """The largest length drawn at ``step`` of ``steps``."""
        ramp_steps = self.ramp * steps
        if ramp_steps <= 0 or step >= ramp_steps:
            return self.max_length
        return self.start + int((self.max_length - self.start) * step / ramp_steps)

    def length(self, step: int, steps: int, rng: np.random.Generator) -> int:
        """This step's batch length, uniform in [1, ceiling]."""
        return int(rng.integers(1, self.ceiling(step, steps) + 1))
