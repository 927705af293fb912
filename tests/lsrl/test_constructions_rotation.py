from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.finite_groups import FiniteGroup
from automata.tasks import get_task
from lsrl.constructions.errors import NotImplementedConstruction
from lsrl.constructions.rotation import RotationBound, cyclic_factors, float32_gamma, rotation
from proofs.float_error import FLOAT32_UNIT, gamma
from tests.lsrl.compiled_checks import assert_computes


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(2, 8), min_size=1, max_size=3))
def test_cyclic_factors_decompose_products_of_cycles(lengths):
    degree = sum(lengths)
    generators = []
    start = 0
    for n in lengths:
        g = list(range(degree))
        g[start:start + n] = list(range(start + 1, start + n)) + [start]
        generators.append(g)
        start += n
    group = FiniteGroup.generated_by(generators)
    moduli, coords = cyclic_factors(group)
    assert math.prod(moduli) == group.order
    assert all(b % a == 0 for a, b in zip(moduli, moduli[1:]))
    assert len({tuple(c) for c in coords.tolist()}) == group.order
    rng = np.random.default_rng(0)
    for g, h in rng.integers(0, group.order, size=(20, 2)).tolist():
        assert ((coords[g] + coords[h]) % moduli == coords[group.multiply(g, h)]).all()


@pytest.mark.parametrize("name, moduli", [
    ("parity", [2]), ("mod:3", [3]), ("Z:6", [6]), ("Z:12", [12]), ("cycle:5", [5]), ("Z2xZ2", [2, 2]),
    ("tomita:5", [2, 2]), ("tomita:6", [3]),
])
def test_abelian_tasks(name, moduli):
    task = get_task(name)
    compiled = rotation(task.dfa, task.labels)
    assert list(compiled.model.config.origin.moduli) == moduli
    safe = compiled.model.config.origin.safe_length
    assert (safe is None) == all(4 % m == 0 for m in moduli)
    assert safe is None or safe >= 100_000
    assert_computes(compiled, length=2000)


@given(st.integers(1, 2 ** 23))
def test_float32_gamma_rounds_the_exact_gamma_up(n: int) -> None:
    exact = gamma(n, FLOAT32_UNIT)
    assert exact <= Fraction(float32_gamma(n)) <= exact * (1 + Fraction(1, 2 ** 51))


def test_quarter_turns_stay_exact():
    task = get_task("Z:4")
    compiled = rotation(task.dfa, task.labels)
    x = compiled.model.embedding(torch.as_tensor(np.random.default_rng(0).integers(0, 4, size=(2, 2000))))
    states = compiled.model.blocks[0].recurrence.states(x)
    assert set(states.unique().tolist()) == {-1.0, 0.0, 1.0}


def test_drift_stays_within_the_proved_bound():
    task = get_task("mod:5")
    compiled = rotation(task.dfa, task.labels)
    symbols = np.random.default_rng(3).integers(0, 2, size=(1, 5000))
    x = compiled.model.embedding(torch.as_tensor(symbols))
    states = compiled.model.blocks[0].recurrence.states(x)[0].detach().double().numpy()
    counts = np.cumsum(symbols[0] == 0)  # symbol 'a' counts
    exact = np.stack([np.cos(2 * np.pi * counts / 5), np.sin(2 * np.pi * counts / 5)], 1)
    error = np.hypot(*(states - exact).T)
    bound = RotationBound.for_moduli((5,), detectors=False)
    allowed = np.array([bound.state_error(t + 1) for t in range(len(error))])
    assert (error <= allowed).all() and error.max() > 0


def test_safe_length_shrinks_with_the_order():
    lengths = [RotationBound.for_moduli((m,), detectors=False).safe_length() for m in (3, 12, 100, 1000)]
    assert lengths == sorted(lengths, reverse=True) and lengths[-1] < 1000


@pytest.mark.parametrize("name, match", [("S:3", "not abelian"), ("flipflop", "permute")])
def test_non_abelian_and_non_group_automata_are_refused(name, match):
    task = get_task(name)
    with pytest.raises(NotImplementedConstruction, match=match):
        rotation(task.dfa, task.labels)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mod:3", "Z:12", "cycle:5", "Z2xZ2"])
def test_long_strings(name):
    task = get_task(name)
    assert_computes(rotation(task.dfa, task.labels), length=10_000)
