"""The labelled automaton a construction simulates: per-state labels (acceptance by default) and the
minimal DFA that keeps them (Moore's partition refinement, started from labels and acceptance)."""
from __future__ import annotations

import numpy as np

from automata.dfa import DFA


def resolve_labels(dfa: DFA, labels: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Labels of the states (acceptance as 0/1 when None) and the number of readout classes (>= 2)."""
    labels = dfa.accepting_mask().astype(np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
    if labels.shape != (dfa.n_states,) or (labels.size and labels.min() < 0):
        raise ValueError(f"labels must be {dfa.n_states} non-negative integers, got shape {labels.shape}")
    return labels, max(int(labels.max()) + 1, 2)


def _classes(delta: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """Moore's refinement of ``initial`` to the coarsest partition respected by every transition."""
    classes = np.unique(initial, return_inverse=True)[1].ravel()
    while True:
        signature = np.column_stack([classes, classes[delta]])
        refined = np.unique(signature, axis=0, return_inverse=True)[1].ravel()
        if refined.max() == classes.max():
            return refined
        classes = refined


def minimal_labelled(dfa: DFA, labels: np.ndarray) -> tuple[DFA, np.ndarray]:
    """The smallest DFA, numbered breadth-first from its start, that gives the same label and the same
    acceptance as ``dfa`` after every prefix; returns it with its state labels."""
    reachable = dfa.reachable()
    trimmed = dfa.restrict(reachable)
    labels = np.asarray(labels, dtype=np.int64)[reachable]
    initial = labels * 2 + trimmed.accepting_mask()
    classes = _classes(trimmed.delta.astype(np.int64), initial)
    representative = np.unique(classes, return_index=True)[1]
    quotient = DFA(trimmed.alphabet, classes[trimmed.delta[representative]], int(classes[trimmed.start]),
                   frozenset(int(classes[q]) for q in trimmed.accepting),
                   tuple(trimmed.state_names[q] for q in representative))
    order = quotient.reachable()
    return quotient.restrict(order), labels[representative][order]
