from __future__ import annotations

import numpy as np
import pytest
import torch

from automata.tasks import get_task
from lsrl.constructions.errors import NotImplementedConstruction
from lsrl.constructions.group_cascade import cascade_automaton, group_cascade
from lsrl.constructions.labelling import minimal_labelled
from tests.lsrl.compiled_checks import assert_computes


def _task(name: str):
    task = get_task(name)
    return minimal_labelled(task.dfa, task.labels)


@pytest.mark.parametrize("name, primes", [
    ("S:3", [2, 3]), ("S:4", [2, 3, 2, 2]), ("A:4", [3, 2, 2]), ("Q8", [2, 2, 2]), ("dihedral:5", [2, 5]),
])
def test_levels_follow_a_composition_series(name, primes):
    dfa, _ = _task(name)
    cascade = group_cascade(dfa)
    assert sorted(level.prime for level in cascade.levels) == sorted(primes)
    assert len({tuple(row) for row in cascade.coords.tolist()}) == len(cascade.coords)
    for i, level in enumerate(cascade.levels):
        assert all(d < i for d in level.deps)
        assert level.depth == 1 + max((cascade.levels[d].depth for d in level.deps), default=0)


@pytest.mark.parametrize("name, layers", [("Z:4", 2), ("Z:8", 3), ("dihedral:4", 2), ("Q8", 2)])
def test_two_groups_compile_to_exact_sign_flip_cascades(name, layers):
    dfa, labels = _task(name)
    compiled = cascade_automaton(dfa, labels, "diag-neg")
    assert compiled.size()["layers"] == layers and compiled.model.config.origin.safe_length is None
    x = compiled.model.embedding(torch.as_tensor(np.random.default_rng(0).integers(0, dfa.n_symbols, (1, 300))))
    for block in compiled.model.blocks:
        assert set(block.recurrence.gates(x).unique().tolist()) <= {-1.0, 1.0}
        assert set(block.recurrence.states(x).unique().tolist()) <= {-1.0, 1.0}
        x = block(x)
    assert_computes(compiled, length=2000)


@pytest.mark.parametrize("name, layers", [("S:3", 2), ("A:4", 2), ("S:4", 3), ("dihedral:5", 2)])
def test_solvable_groups_compile_to_rotation_cascades(name, layers):
    dfa, labels = _task(name)
    compiled = cascade_automaton(dfa, labels, "rotation")
    assert compiled.size()["layers"] == layers
    assert compiled.model.config.origin.safe_length >= 1000
    assert_computes(compiled, length=2000)


def test_sign_flips_need_a_two_group():
    dfa, labels = _task("S:3")
    with pytest.raises(NotImplementedConstruction, match="2-group"):
        cascade_automaton(dfa, labels, "diag-neg")


def test_non_group_automata_are_refused():
    dfa, labels = _task("flipflop")
    with pytest.raises(NotImplementedConstruction, match="group automata"):
        cascade_automaton(dfa, labels, "rotation")


@pytest.mark.slow
@pytest.mark.parametrize("name, arch", [("Q8", "diag-neg"), ("dihedral:4", "diag-neg"), ("S:3", "rotation"),
                                        ("S:4", "rotation")])
def test_long_strings(name, arch):
    dfa, labels = _task(name)
    assert_computes(cascade_automaton(dfa, labels, arch), length=10_000)
