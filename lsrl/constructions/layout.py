"""The residual-stream layout shared by automaton constructions: named, disjoint subspaces."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from automata.dfa import DFA


@dataclass(frozen=True)
class Subspace:
    name: str
    start: int
    size: int

    @property
    def slice(self) -> slice:
        return slice(self.start, self.start + self.size)


class Layout:
    """Allocates disjoint coordinates of the residual stream to named subspaces (Tracr-style)."""

    def __init__(self) -> None:
        self.spaces: dict[str, Subspace] = {}
        self.width = 0

    def add(self, name: str, size: int) -> Subspace:
        space = Subspace(name, self.width, size)
        self.spaces[name] = space
        self.width += size
        return space


def transition_matrices(dfa: DFA) -> np.ndarray:
    """M[a, r, q] = 1 iff delta(q, a) = r: the 0/1 matrix of each symbol acting on one-hot columns."""
    n, k = dfa.n_states, dfa.n_symbols
    matrices = np.zeros((k, n, n), dtype=np.int64)
    for a in range(k):
        matrices[a, dfa.delta[:, a], np.arange(n)] = 1
    return matrices


def one_hot_embedding(weight: torch.Tensor, symbols: Subspace) -> None:
    """Symbol a embeds as the unit vector of coordinate ``symbols.start + a``."""
    weight.zero_()
    weight[:, symbols.slice] = torch.eye(symbols.size, dtype=weight.dtype)


def label_readout(readout: torch.nn.Linear, space: Subspace, labels: np.ndarray, n_labels: int) -> None:
    """Logits = one-hot of the label of the state whose one-hot sits in ``space``."""
    readout.weight.zero_()
    readout.bias.zero_()
    for q, label in enumerate(labels.tolist()):
        readout.weight[label, space.start + q] = 1.0
