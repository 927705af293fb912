"""Extract a finite automaton from a recurrent model by clustering its hidden states on a grid, breadth-first over
prefixes (Omlin & Giles 1996), and compare it with the target. Method: docs/reproduce.md#extraction-lsrl-extract-dir
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from automata.dfa import DFA
from lsrl.constructions.labelling import minimal_labelled
from models.stack import RecurrentModel

EXACT_TOLERANCES = (1e-6, 1e-4, 1e-2, 5e-2)
TRAINED_TOLERANCES = (0.01, 0.03, 0.1)
UNKNOWN = "unexplored"


@dataclass(frozen=True, eq=False)
class Extraction:
    """The extracted labelled automaton (minimal), the clusters found, whether the search closed
    before ``max_states`` clusters, and the shortest word on which it disagrees with the target."""

    dfa: DFA = field(repr=False)
    labels: np.ndarray = field(repr=False)
    n_clusters: int
    complete: bool
    tolerance: float
    counterexample: tuple[str, ...] | None

    @property
    def equivalent(self) -> bool:
        return self.complete and self.counterexample is None

    def to_json(self) -> dict[str, object]:
        return {"states": self.dfa.n_states, "clusters": self.n_clusters, "complete": self.complete,
                "tolerance": self.tolerance,
                "equivalent": self.equivalent,
                "counterexample": None if self.counterexample is None else list(self.counterexample)}


@torch.no_grad()
def final_states(model: RecurrentModel, words: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """For words (N, T) with T >= 1: every layer's recurrent state after the last symbol,
    concatenated (N, D), and the model's prediction there (N,)."""
    device = next(model.parameters()).device
    states, predicted = [], []
    for i in range(0, len(words), chunk):
        streams = model.streams(torch.as_tensor(words[i:i + chunk], device=device))
        parts = [block.states(stream)[:, -1] for block, stream in zip(model.blocks, streams)]
        states.append(torch.cat([p.reshape(p.shape[0], -1).double() for p in parts], dim=-1).cpu().numpy())
        predicted.append(model.logits(streams[-1][:, -1]).argmax(-1).cpu().numpy())
    return np.concatenate(states), np.concatenate(predicted)


def state_scale(model: RecurrentModel, n_symbols: int, length: int = 32, n: int = 64, seed: int = 0) -> float:
    """The largest absolute state entry over the prefixes of ``n`` uniform random strings."""
    words = np.random.default_rng(seed).integers(0, n_symbols, size=(n, length))
    scale = max(float(np.abs(final_states(model, words[:, :t])[0]).max()) for t in (1, length // 2, length))
    return scale if scale > 0 else 1.0


def extract_automaton(model: RecurrentModel, target: DFA, target_labels: np.ndarray,
                      tolerances: Sequence[float] | None = None, max_states: int | None = None) -> Extraction:
    """The automaton of ``model`` over ``target``'s alphabet at the finest of ``tolerances`` whose
    search closes (the coarsest otherwise), minimised and compared with ``target``."""
    model.eval()
    tolerances = tuple(tolerances or (EXACT_TOLERANCES if model.config.exact else TRAINED_TOLERANCES))
    max_states = max_states or max(1024, 64 * target.n_states, target.n_states * (target.n_symbols + 1))
    target_labels = np.asarray(target_labels, dtype=np.int64)
    scale = state_scale(model, target.n_symbols)
    for tolerance in tolerances:
        table = _explore(model, target.n_symbols, tolerance * scale, max_states, int(target_labels[target.start]))
        if table.complete:
            break
    dfa, labels = _labelled_dfa(table, target.alphabet, target_labels, target)
    minimal, minimal_labels = minimal_labelled(dfa, labels)
    counterexample = labelled_counterexample(minimal, minimal_labels, target, target_labels)
    return Extraction(minimal, minimal_labels, len(table.labels) - 1, table.complete, tolerance, counterexample)


def relation(extraction: Extraction, target: DFA) -> str:
    """What the model learned: "exact" (the target's labelled automaton), "quotient" (an automaton of more than
    one state through which the target factors: following a word, each target state always meets the same
    extracted state, so the model merges target states consistently) or "nothing" (neither, or no closed search)."""
    if extraction.equivalent:
        return "exact"
    if not extraction.complete or extraction.dfa.n_states < 2:
        return "nothing"
    image = {target.start: extraction.dfa.start}
    queue = deque([target.start])
    while queue:
        p = queue.popleft()
        for a in range(target.n_symbols):
            q, r = int(target.delta[p, a]), int(extraction.dfa.delta[image[p], a])
            if q not in image:
                image[q] = r
                queue.append(q)
            elif image[q] != r:
                return "nothing"
    return "quotient"


@dataclass
class _Table:
    """The clusters found so far: transitions (-1 where unexplored) and labels."""

    delta: list[list[int]]
    labels: list[int]
    complete: bool = True


def _explore(model: RecurrentModel, n_symbols: int, step: float, max_states: int, start_label: int) -> _Table:
    """Breadth-first search over prefixes, clustering their states by grid cell of side ``step``; state
    0 is the empty prefix. Stops (``complete=False``) once more than ``max_states`` clusters exist."""
    table = _Table(delta=[[-1] * n_symbols], labels=[start_label])
    cells: dict[bytes, int] = {}
    frontier: list[tuple[int, tuple[int, ...]]] = [(0, ())]
    while frontier:
        words = np.array([access + (a,) for _, access in frontier for a in range(n_symbols)], dtype=np.int64)
        vectors, predicted = final_states(model, words)
        keys = np.floor(vectors / step + 0.5).astype(np.int64)
        next_frontier = []
        for row, label in enumerate(predicted.tolist()):
            source, symbol = frontier[row // n_symbols][0], row % n_symbols
            key = keys[row].tobytes()
            if key not in cells:
                if len(table.labels) > max_states:
                    table.complete = False
                    continue
                cells[key] = len(table.labels)
                table.delta.append([-1] * n_symbols)
                table.labels.append(label)
                next_frontier.append((cells[key], tuple(words[row].tolist())))
            table.delta[source][symbol] = cells[key]
        frontier = next_frontier
    return table


def _labelled_dfa(table: _Table, alphabet: tuple[str, ...], target_labels: np.ndarray,
                  target: DFA) -> tuple[DFA, np.ndarray]:
    """The table as a DFA whose unexplored transitions lead to an extra state labelled with a value
    the target never uses; accepting states are those whose label the target accepts."""
    unknown = len(table.labels)
    delta = np.array(table.delta + [[unknown] * len(alphabet)], dtype=np.int64)
    delta[delta < 0] = unknown
    labels = np.array(table.labels + [int(target_labels.max()) + 1], dtype=np.int64)
    accepted = {int(target_labels[q]) for q in target.accepting}
    accepting = frozenset(np.flatnonzero(np.isin(labels, sorted(accepted))).tolist())
    names = tuple(f"c{q}" for q in range(unknown)) + (UNKNOWN,)
    return DFA(alphabet, delta.astype(np.int32), 0, accepting, names), labels


def labelled_counterexample(left: DFA, left_labels: np.ndarray, right: DFA,
                            right_labels: np.ndarray) -> tuple[str, ...] | None:
    """A shortest word (shortlex-first) after which the two labelled automata give different labels,
    or None if they label every word alike. Breadth-first search over state pairs."""
    if left.alphabet != right.alphabet:
        raise ValueError(f"alphabets differ: {left.alphabet!r} vs {right.alphabet!r}")
    start = (left.start, right.start)
    parent: dict[tuple[int, int], tuple[tuple[int, int], int] | None] = {start: None}
    queue = deque([start])
    while queue:
        pair = queue.popleft()
        if left_labels[pair[0]] != right_labels[pair[1]]:
            word = []
            while parent[pair] is not None:
                pair, a = parent[pair]
                word.append(left.alphabet[a])
            return tuple(reversed(word))
        for a in range(left.n_symbols):
            successor = (int(left.delta[pair[0], a]), int(right.delta[pair[1], a]))
            if successor not in parent:
                parent[successor] = (pair, a)
                queue.append(successor)
    return None
