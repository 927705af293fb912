from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.dfa import DFA
from automata.generate import default_alphabet
from automata.tasks import get_task
from lsrl.constructions.errors import NotImplementedConstruction
from lsrl.constructions.householder import deltaproduct, letter_factors, transpositions
from lsrl.constructions.labelling import minimal_labelled
from tests.lsrl.compiled_checks import assert_computes


def _cycles(p: np.ndarray) -> int:
    seen, count = set(), 0
    for x in range(len(p)):
        if x not in seen:
            count += 1
            while x not in seen:
                seen.add(x)
                x = int(p[x])
    return count


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 9).flatmap(lambda n: st.permutations(range(n))))
def test_transpositions_realise_the_permutation_with_fewest_swaps(perm):
    p = np.array(perm)
    content = list(range(len(p)))  # content[x]: whose one-hot mass sits at coordinate x
    for i, j in transpositions(p):
        content[i], content[j] = content[j], content[i]
    assert all(content[p[q]] == q for q in range(len(p)))
    assert len(transpositions(p)) == len(p) - _cycles(p)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_reset_factors_send_every_one_hot_vector_to_the_target_exactly(case):
    n, target = case
    factors = letter_factors(np.full(n, target))
    assert len(factors) == (0 if n == 1 else n - 1 if n & (n - 1) == 0 else n)  # n = 1: the identity
    for q in range(n):
        h = np.eye(n)[q]
        for f in factors:
            k = np.array(f.key)
            assert 0 <= f.beta * (k @ k) <= 2  # eigenvalue 1 - beta |k|^2 in [-1, 1]
            h = h - f.beta * k * (k @ h) + f.beta * k * f.value[0]
        assert np.array_equal(h, np.eye(n)[target])


def test_merging_letters_are_refused():
    assert letter_factors(np.array([0, 0, 2])) is None


@st.composite
def permutation_reset_dfas(draw) -> DFA:
    """DFAs whose letters each permute the states or send them all to one state."""
    n = draw(st.integers(1, 6))
    columns = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            columns.append(draw(st.permutations(range(n))))
        else:
            columns.append([draw(st.integers(0, n - 1))] * n)
    delta = np.array(columns, dtype=np.int32).T
    accepting = draw(st.sets(st.integers(0, n - 1)))
    return DFA(default_alphabet(len(columns)), delta, draw(st.integers(0, n - 1)), frozenset(accepting))


@settings(max_examples=6, deadline=None)
@given(permutation_reset_dfas())
def test_one_layer_computes_permutation_reset_automata(dfa):
    minimal, labels = minimal_labelled(dfa, dfa.accepting_mask().astype(np.int64))
    assert_computes(deltaproduct(minimal, labels), length=2000, batch=1)


@pytest.mark.parametrize("name, state, n_h", [
    ("parity", 2, 1), ("flipflop", 2, 1), ("Z2xZ2", 4, 2), ("S:3", 9, 2), ("S:4", 16, 3), ("A:4", 16, 2),
    ("dihedral:4", 16, 3),
])
def test_task_sizes_and_predictions(name, state, n_h):
    task = get_task(name)
    compiled = deltaproduct(task.dfa, task.labels)
    rec = compiled.model.blocks[0].recurrence
    assert (rec.d_key * rec.d_value, rec.n_h) == (state, n_h)
    assert_computes(compiled, length=2000, batch=1)


def test_states_are_exact_permutation_matrices():
    task = get_task("S:4")
    compiled = deltaproduct(task.dfa, task.labels)
    x = torch.as_tensor(np.random.default_rng(0).integers(0, 24, size=(1, 300)))
    states = compiled.model.blocks[0].recurrence.states(compiled.model.embedding(x)).view(300, 4, 4)
    assert ((states == 0) | (states == 1)).all()
    assert (states.sum(1) == 1).all() and (states.sum(2) == 1).all()


def test_forward_kernel_and_stepped_states_agree():
    task = get_task("A:4")
    compiled = deltaproduct(task.dfa, task.labels)
    rec = compiled.model.blocks[0].recurrence
    x = compiled.model.embedding(torch.as_tensor(np.random.default_rng(2).integers(0, 12, size=(2, 200))))
    q = rec.factors(x)[0][:, :, 0]  # (B, T, heads = 1, d_k)
    o = torch.einsum("btkv,btk->btv", rec.states(x).view(2, 200, rec.d_key, rec.d_value), q)
    assert torch.equal(rec(x), rec.out(o))


def test_n_h_is_checked_and_padded():
    task = get_task("S:4")
    with pytest.raises(NotImplementedConstruction, match="n_h = 2 is too few"):
        deltaproduct(task.dfa, task.labels, n_h=2)
    padded = deltaproduct(task.dfa, task.labels, n_h=5)
    assert padded.model.blocks[0].recurrence.n_h == 5
    assert_computes(padded, length=500, batch=1)


def test_automata_with_merging_letters_need_a_cascade():
    task = get_task("contains:aba")
    with pytest.raises(NotImplementedConstruction, match="cascade"):
        deltaproduct(task.dfa, task.labels)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["S:5", "A:5", "Q8", "cycle:5", "flipflop"])
def test_long_strings(name):
    task = get_task(name)
    assert_computes(deltaproduct(task.dfa, task.labels), length=10_000, batch=2)
