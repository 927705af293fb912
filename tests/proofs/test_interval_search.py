"""The float64 box search seeds the exact exploration: its boxes close in one exact sweep on reset cascades, the
exact exploration repairs a seed that is too small, and the float step tracks the exact interval step."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.dfa import DFA
from automata.generate import default_alphabet
from automata.minimize import minimize
from automata.tasks import get_task
from lsrl.constructions.select import compile_automaton
from proofs.interval import ROUNDINGS, Intervals
from proofs.interval_certificate import MERGE_RADIUS, SEED_WIDENING, _flat, check, explore
from proofs.interval_model import IntervalModel
from proofs.interval_search import FloatModel, search

EXACT = ROUNDINGS["exact"]


def _explored(compiled):
    model = IntervalModel(compiled.model)
    seed = search(model, compiled.dfa, 1000, float(MERGE_RADIUS), SEED_WIDENING)
    return model, seed, explore(model, compiled.dfa, compiled.labels, EXACT, 1000, seed)


def _same_boxes(a, b) -> bool:
    return len(a) == len(b) and all(_flat(x) == _flat(y) for x, y in zip(a, b))


@pytest.mark.parametrize("task, arch", [("no-aa", "diag-01"), ("contains:aba", "diag-01"), ("tomita:2", "rotation"),
                                        ("ab-star", "diag-neg")])
def test_searched_boxes_close_in_one_exact_sweep_with_the_nodes_of_the_plain_exploration(task, arch):
    t = get_task(task)
    compiled = compile_automaton(t.dfa, arch, t.labels)
    model, seed, (states, boxes, successors) = _explored(compiled)
    assert _same_boxes(seed[1], boxes) and states == seed[0] and successors == seed[2]
    check(model, compiled.dfa, compiled.labels, states, boxes, successors, EXACT)
    plain = explore(model, compiled.dfa, compiled.labels, EXACT, 1000)
    assert sorted(plain[0]) == sorted(states)


@st.composite
def star_free(draw) -> DFA:
    """A partially ordered DFA (every letter maps a state to itself or a later one), minimised."""
    n, k = draw(st.integers(2, 5)), draw(st.integers(2, 3))
    table = np.asarray([[draw(st.integers(q, n - 1)) for _ in range(k)] for q in range(n)], dtype=np.int32)
    accepting = frozenset(q for q in range(n) if draw(st.booleans()))
    return minimize(DFA(default_alphabet(k), table, 0, accepting))


@settings(max_examples=8, deadline=None)
@given(star_free())
def test_searched_boxes_of_random_star_free_cascades_pass_the_exact_check(dfa):
    compiled = compile_automaton(dfa, "diag-01", None)
    model, seed, (states, boxes, successors) = _explored(compiled)
    assert _same_boxes(seed[1], boxes)
    check(model, compiled.dfa, compiled.labels, states, boxes, successors, EXACT)


def test_a_seed_box_too_small_is_grown_by_the_exact_exploration():
    t = get_task("contains:aba")
    compiled = compile_automaton(t.dfa, "diag-01", t.labels)
    model = IntervalModel(compiled.model)
    states, boxes, successors = search(model, compiled.dfa, 1000, float(MERGE_RADIUS), SEED_WIDENING)
    wide = max(range(len(boxes)), key=lambda j: max(b - a for a, b in zip(*(v.tolist() for v in
                                                                           (_flat(boxes[j]).lo, _flat(boxes[j]).hi)))))
    shrunk = list(boxes)
    shrunk[wide] = tuple(Intervals(layer.lo, layer.lo.copy()) for layer in boxes[wide])  # its lower corner only
    grown = explore(model, compiled.dfa, compiled.labels, EXACT, 1000, (states, shrunk, successors))
    assert not _same_boxes(shrunk, grown[1])
    check(model, compiled.dfa, compiled.labels, *grown, EXACT)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(0, 1), min_size=1, max_size=12))
def test_the_float_step_tracks_the_exact_interval_step(word):
    t = get_task("contains:aba")
    compiled = compile_automaton(t.dfa, "diag-01", t.labels)
    model, floats = IntervalModel(compiled.model), None
    box = model.initial()
    floats = FloatModel(model)
    for a in word:
        flat = _flat(box).fractions()
        lo, hi = (np.asarray([[float(v) for v in end]]) for end in flat)
        f_lo, f_hi, _, _ = floats.step(lo, hi, np.asarray([a]))
        box = model.step(box, a, EXACT).states
        e_lo, e_hi = (np.asarray([float(Fraction(v)) for v in end]) for end in _flat(box).fractions())
        assert np.allclose(f_lo[0], e_lo, rtol=0, atol=1e-12) and np.allclose(f_hi[0], e_hi, rtol=0, atol=1e-12)
