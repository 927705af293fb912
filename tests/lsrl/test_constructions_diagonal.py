from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.dfa import DFA
from automata.generate import default_alphabet
from automata.tasks import get_task
from lsrl.constructions.diagonal import FLIP, IDENTITY, RESET0, RESET1, diagonal
from lsrl.constructions.errors import NotImplementedConstruction
from lsrl.constructions.labelling import minimal_labelled
from tests.lsrl.compiled_checks import assert_computes


@st.composite
def bit_products(draw, flips: bool) -> DFA:
    """Direct products of m two-state automata, each letter acting on each bit as identity, reset
    or (if ``flips``) flip; states are the 2^m codes, all with distinct labels."""
    m, k = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    choices = [IDENTITY, RESET0, RESET1] + ([FLIP] if flips else [])
    actions = [[draw(st.sampled_from(choices)) for _ in range(m)] for _ in range(k)]
    codes = list(itertools.product((0, 1), repeat=m))
    index = {c: i for i, c in enumerate(codes)}
    delta = np.array([[index[tuple(int(a * v + b) for v, (a, b) in zip(c, row))] for row in actions] for c in codes])
    return DFA(default_alphabet(k), delta, draw(st.integers(0, len(codes) - 1)), frozenset())


@pytest.mark.parametrize("negative", [False, True])
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_products_of_two_state_automata_compile_to_one_layer(negative, data):
    dfa = data.draw(bit_products(flips=negative))
    minimal, labels = minimal_labelled(dfa, np.arange(dfa.n_states))
    compiled = diagonal(minimal, labels, negative=negative)
    assert compiled.model.blocks[0].recurrence.d_state <= max(1, (dfa.n_states - 1).bit_length())
    assert_computes(compiled, length=2000, batch=1)


@pytest.mark.parametrize("name, negative, bits", [
    ("parity", True, 1), ("flipflop", False, 1), ("flipflop", True, 1), ("Z2xZ2", True, 2), ("tomita:5", True, 2),
    ("tomita:1", False, 1),
])
def test_tasks(name, negative, bits):
    task = get_task(name)
    compiled = diagonal(task.dfa, task.labels, negative=negative)
    assert compiled.model.blocks[0].recurrence.d_state == bits
    assert_computes(compiled, length=2000)


@pytest.mark.parametrize("name, negative", [("parity", False), ("mod:3", True), ("contains:aba", False)])
def test_non_products_are_refused(name, negative):
    task = get_task(name)
    with pytest.raises(NotImplementedConstruction, match="cascade"):
        diagonal(task.dfa, task.labels, negative=negative)


def test_gates_and_states_are_exact_small_integers():
    task = get_task("Z2xZ2")
    compiled = diagonal(task.dfa, task.labels, negative=True)
    rec = compiled.model.blocks[0].recurrence
    x = compiled.model.embedding(torch.as_tensor(np.random.default_rng(0).integers(0, 4, size=(2, 300))))
    assert set(rec.gates(x).unique().tolist()) <= {-1.0, 0.0, 1.0}
    assert set(rec.states(x).unique().tolist()) <= {0.0, 1.0}


@pytest.mark.slow
@pytest.mark.parametrize("name, negative", [("parity", True), ("flipflop", False), ("tomita:5", True)])
def test_long_strings(name, negative):
    task = get_task(name)
    assert_computes(diagonal(task.dfa, task.labels, negative=negative), length=10_000)
