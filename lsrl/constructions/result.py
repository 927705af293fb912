"""What an automaton construction returns: the model with its provenance and size."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from automata.dfa import DFA
from models.stack import RecurrentModel


@dataclass(frozen=True, eq=False)
class CompiledAutomaton:
    """A model whose per-position argmax equals ``labels[state]`` of ``dfa`` after every prefix."""

    model: RecurrentModel
    dfa: DFA
    labels: np.ndarray
    construction: str
    reference: str

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def size(self) -> dict[str, int]:
        config = self.model.config
        return {"layers": len(config.layers), "d_model": config.d_model,
                "state_size": sum(block.recurrence.state_size for block in self.model.blocks),
                "n_h": max(layer.n_h for layer in config.layers), "parameters": self.n_parameters}
