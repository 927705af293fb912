"""Shared check for construction tests: a compiled model's prediction equals the automaton's labels."""
from __future__ import annotations

import numpy as np
import torch

from lsrl.constructions.result import CompiledAutomaton


def assert_computes(compiled: CompiledAutomaton, length: int = 2000, batch: int = 2, seed: int = 0,
                    symbols: np.ndarray | None = None) -> None:
    """On random strings (float32, CPU), ``predict`` equals ``labels[dfa.trace_batch(x)]`` everywhere."""
    dfa = compiled.dfa
    if symbols is None:
        symbols = np.random.default_rng(seed).integers(0, dfa.n_symbols, size=(batch, length))
    predicted = compiled.model.predict(torch.as_tensor(symbols)).numpy()
    expected = compiled.labels[dfa.trace_batch(symbols)]
    wrong = np.argwhere(predicted != expected)
    assert wrong.size == 0, f"{compiled.construction}: first wrong position {wrong[0].tolist()} of {len(wrong)}"
