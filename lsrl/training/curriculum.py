"""A curriculum over training lengths: a ceiling growing linearly from ``start`` to ``max_length``, each batch's length
uniform up to it (docs/reproduce.md#training-lsrl-train)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from automata.errors import InvalidOption

MAX_LENGTH = 2**20
"""Longest string a run trains or evaluates on."""



@dataclass(frozen=True)
class Curriculum:
    """Training lengths per step; ``length`` is a pure function of the step and the generator."""

    max_length: int = 40
    start: int = 2
    ramp: float = 0.5

    def __post_init__(self) -> None:
        for name, value, low in (("max_length", self.max_length, 1), ("start", self.start, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= MAX_LENGTH:
                raise InvalidOption(f"curriculum {name} = {value!r:.40}: must be an integer from {low} to {MAX_LENGTH}")
        if self.start > self.max_length:
            raise InvalidOption(f"curriculum start = {self.start} exceeds max_length = {self.max_length}")
        if isinstance(self.ramp, bool) or not isinstance(self.ramp, (int, float)) or not 0.0 <= self.ramp <= 1.0:
            raise InvalidOption(f"curriculum ramp = {self.ramp!r:.40}: must lie in [0, 1]")

    @classmethod
    def up_to(cls, max_length: int) -> Curriculum:
        """The default curriculum with ceiling ``max_length`` (its start lowered to it if need be)."""
        start = min(cls.start, max_length) if isinstance(max_length, int) and max_length >= 1 else cls.start
        return cls(max_length, start)

    def ceiling(self, step: int, steps: int) -> int:
        """The largest length drawn at ``step`` of ``steps``."""
        ramp_steps = self.ramp * steps
        if ramp_steps <= 0 or step >= ramp_steps:
            return self.max_length
        return self.start + int((self.max_length - self.start) * step / ramp_steps)

    def length(self, step: int, steps: int, rng: np.random.Generator) -> int:
        """This step's batch length, uniform in [1, ceiling]."""
        return int(rng.integers(1, self.ceiling(step, steps) + 1))
