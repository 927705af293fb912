"""Transformation units: nonlinear RNNs (Elman, LSTM, GRU) track the 0/1 matrix of the prefix's transformation
on a few points through AND units. Proof: docs/constructions.md#transformation-units
"""
from __future__ import annotations

import numpy as np

from automata.dfa import DFA
from lsrl.constructions.and_units import MINSKY, AndUnits, Detectors, UnitPlan, build, minsky_pairs, parameter_count
from lsrl.constructions.coset_action import CosetAction, coset_actions
from lsrl.constructions.interval_units import interval_units
from lsrl.constructions.labelling import resolve_labels
from lsrl.constructions.result import CompiledAutomaton

REFERENCE = ("transformation units: Minsky 1967's pair units over the letters' transitions of a faithful point "
             "action (lsrl's construction, certified per model)")
INTERVALS = ("interval units: a GRU's reset gate and candidate as two thresholds around each letter's preimage "
             "interval (lsrl's construction, certified per model)")


def row_units(letters: np.ndarray, rows: tuple[int, ...]) -> AndUnits:
    """Units (r, k, j) over the code coordinates (r, p) = [the prefix maps point rows[r] to p], for points k
    in the orbit of rows[r] and letter transitions k -> j (``letters[a, k]``: letter a's image of k)."""
    n_symbols, n = letters.shape
    units: list[tuple[int, int, int]] = []
    for r, start in enumerate(rows):
        orbit = _orbit(letters, start)
        moves = {(k, int(j)) for k in orbit for j in letters[:, k].tolist()} | {(start, start)}
        units += [(r, k, j) for k, j in sorted(moves)]
    reads_code = np.zeros((len(units), len(rows) * n), np.int64)
    reads_symbol = np.zeros((len(units), n_symbols), np.int64)
    to_code = np.zeros((len(rows) * n, len(units)), np.int64)
    initial = np.zeros(len(units), np.int64)
    for u, (r, k, j) in enumerate(units):
        reads_code[u, r * n + k] = 1
        reads_symbol[u] = letters[:, k] == j
        to_code[r * n + j, u] = 1
        initial[u] = k == j == rows[r]
    return AndUnits(reads_code, reads_symbol, to_code, initial)


def _orbit(letters: np.ndarray, start: int) -> list[int]:
    seen, frontier = {start}, [start]
    while frontier:
        frontier = [int(j) for j in np.unique(letters[:, frontier]) if int(j) not in seen]
        seen.update(frontier)
    return sorted(seen)


def transitions_plan(dfa: DFA) -> UnitPlan:
    """The DFA's own states as the points, one row (the start): units are its transitions (k, delta(k, x))."""
    return UnitPlan(row_units(np.asarray(dfa.delta).T, (dfa.start,)), None, "transitions", REFERENCE)


def row_detectors(action: CosetAction, rows: tuple[int, ...]) -> Detectors:
    """One detector per image of the rows, over the code (r, p): sum_r code(r, image_r) - (len(rows) - 1)."""
    n = action.n_points
    images, first = np.unique(action.elements[:, rows], axis=0, return_index=True)
    functionals = np.zeros((len(images), len(rows) * n), np.int64)
    for d, image in enumerate(images):
        functionals[d, np.arange(len(rows)) * n + image] = 1
    return Detectors(functionals, np.full(len(images), 1 - len(rows)), action.element_state[first])


def coset_plan(action: CosetAction) -> UnitPlan:
    """The rows of a coset action's permutation matrix that determine the DFA state, and their detectors."""
    rows = action.state_rows()
    return UnitPlan(row_units(action.letters, rows), row_detectors(action, rows), "permutation-matrix",
                       f"{REFERENCE}; {len(rows)} rows of the permutation matrix of {action.description()}")


def interval_plans(dfa: DFA, actions: list[CosetAction]) -> list[UnitPlan]:
    """GRU plans (``interval_units``): the state's one-hot itself, when every preimage of a letter is an
    interval of the states, and the rows of every coset action's permutation matrix."""
    plans = []
    state = interval_units(np.asarray(dfa.delta).T, (dfa.start,))
    if state is not None:
        plans.append(UnitPlan(state, None, "one-hot-intervals", INTERVALS))
    for action in actions:
        rows = action.state_rows()
        plans.append(UnitPlan(interval_units(action.letters, rows), row_detectors(action, rows),
                                 "permutation-matrix-intervals",
                                 f"{INTERVALS}; {len(rows)} rows of the permutation matrix of {action.description()}"))
    return plans


def plans(dfa: DFA, cls: str) -> list[UnitPlan]:
    """Minsky's pairs, the DFA's transitions, every coset action's rows, and for the GRU the interval plans."""
    actions = coset_actions(dfa)
    return [UnitPlan(minsky_pairs(dfa), None, "pairs", MINSKY), transitions_plan(dfa),
            *(coset_plan(action) for action in actions), *(interval_plans(dfa, actions) if cls == "gru" else ())]


def smallest(dfa: DFA, labels: np.ndarray | None, cls: str) -> CompiledAutomaton:
    """The plan with the fewest parameters in the nonlinear class ``cls`` (elman, elman-tanh, lstm, gru);
    Minsky's pairs on a tie."""
    labels, n_labels = resolve_labels(dfa, labels)
    best = min(plans(dfa, cls), key=lambda plan: parameter_count(cls, dfa, n_labels, plan))
    return build(cls, dfa, labels, n_labels, best)
