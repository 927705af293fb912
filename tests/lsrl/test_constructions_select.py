from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.errors import LsrlInputError
from automata.minimize import minimize
from automata.strategies import dfas
from automata.tasks import get_task
from lsrl.constructions import select
from lsrl.constructions.errors import InvalidOption, NotExpressible, NotImplementedConstruction
from lsrl.constructions.select import ARCHITECTURES, check_expressible, compile_automaton
from models.registry import UnknownArchitecture
from tests.lsrl.compiled_checks import assert_computes

UNIVERSAL = ("dense-lrnn", "elman", "elman-tanh", "lstm", "gru")


@settings(max_examples=4, deadline=None)
@given(dfas(max_states=6, max_symbols=3), st.data())
def test_universal_classes_compute_any_labelled_dfa(dfa, data):
    labels = np.array(data.draw(st.lists(st.integers(0, 2), min_size=dfa.n_states, max_size=dfa.n_states)))
    symbols = np.random.default_rng(0).integers(0, dfa.n_symbols, size=(1, 2000))
    expected = labels[dfa.trace_batch(symbols)]
    for arch in UNIVERSAL:
        compiled = compile_automaton(dfa, arch, labels)
        assert compiled.dfa.n_states <= dfa.n_states
        assert (compiled.model.predict(torch.as_tensor(symbols)).numpy() == expected).all(), arch


def test_the_result_simulates_the_minimal_dfa():
    task = get_task("tomita:4")
    compiled = compile_automaton(task.dfa, "lstm", task.labels)
    assert compiled.dfa.n_states == minimize(task.dfa).n_states
    assert_computes(compiled)


@pytest.mark.parametrize("name, arch, reference, condition", [
    ("parity", "diag-01", "Sarrof", None),
    ("mod:3", "diag-neg", "Grazzi", None),
    ("A:5", "rotation", "Merrill", "TC^0"),
])
def test_impossible_classes_raise_the_theorem(name, arch, reference, condition):
    task = get_task(name)
    with pytest.raises(NotExpressible) as caught:
        compile_automaton(task.dfa, arch, task.labels)
    assert reference in caught.value.reference
    assert (caught.value.condition is None) if condition is None else condition in caught.value.condition
    assert isinstance(caught.value, LsrlInputError)


# The classifier leaves these open (a Z_3 / Z_5 level beside resets, for sign-flip gates): no construction.
@pytest.mark.parametrize("name, arch", [("modarith:3", "diag-neg"), ("modarith:5", "diag-neg")])
def test_missing_constructions_are_reported_not_faked(name, arch):
    task = get_task(name)
    with pytest.raises(NotImplementedConstruction, match=arch):
        compile_automaton(task.dfa, arch, task.labels)


def test_an_open_verdict_tries_no_construction(monkeypatch):
    """The classifier's 'open' ends compilation before any construction runs (each would settle it)."""
    task = get_task("modarith:5")
    monkeypatch.setattr(select, "CONSTRUCTIONS", {"diag-neg": (lambda dfa, labels: pytest.fail("tried"),)})
    with pytest.raises(NotImplementedConstruction, match="leaves this language open"):
        compile_automaton(task.dfa, "diag-neg", task.labels)


@pytest.mark.parametrize("name, arch, size", [
    ("parity", "diag-neg", {"layers": 1, "state_size": 1}),
    ("flipflop", "diag-01", {"layers": 1, "state_size": 1}),
    ("mod:3", "rotation", {"layers": 1, "state_size": 2}),
    ("S:4", "deltaproduct", {"layers": 1, "n_h": 3}),
    ("S:3", "gru", {"layers": 1, "state_size": 6}),  # interval units: the 6 Cayley states' one-hot itself
])
def test_smallest_constructions(name, arch, size):
    task = get_task(name)
    compiled = compile_automaton(task.dfa, arch, task.labels)
    assert {key: compiled.size()[key] for key in size} == size
    assert_computes(compiled, length=1000, batch=1)


def test_options_are_checked():
    task = get_task("parity")
    with pytest.raises(UnknownArchitecture, match="unknown architecture"):
        compile_automaton(task.dfa, "transformer")
    with pytest.raises(InvalidOption, match="n_h"):
        compile_automaton(task.dfa, "lstm", n_h=2)
    assert set(ARCHITECTURES) == {"dense-lrnn", "elman", "elman-tanh", "lstm", "gru", "diag-01", "diag-neg",
                                  "rotation", "deltaproduct"}


@pytest.mark.parametrize("name, arch", [("parity", "diag-neg"), ("Z2xZ2", "diag-neg"), ("Q8", "diag-neg"),
                                        ("flipflop", "diag-01"), ("mod:5", "rotation"), ("S:4", "rotation")])
def test_constructions_agree_with_the_classifier(name, arch):
    """Every automaton compiled for a class is one the classifier does not rule out for it."""
    task = get_task(name)
    compiled = compile_automaton(task.dfa, arch, task.labels)
    check_expressible(compiled.dfa, compiled.labels, arch)
