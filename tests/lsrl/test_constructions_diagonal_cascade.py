from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

from automata.classify import classify
from automata.strategies import dfas
from automata.tasks import get_task
from lsrl.constructions.diagonal_cascade import ARCHS, fine_table, permuting_cascade, plan
from lsrl.constructions.errors import NotImplementedConstruction
from lsrl.constructions.holonomy import Holonomy
from lsrl.constructions.labelling import minimal_labelled
from lsrl.constructions.select import compile_automaton
from models import registry
from tests.lsrl.compiled_checks import assert_computes


def minimal(name: str):
    task = get_task(name)
    return minimal_labelled(task.dfa, task.labels)


def constructible(dfa, labels, arch: str) -> bool:
    """The classifier's verdict for the language of every label value is "constructible"."""
    klass = registry.get(arch).classifier
    return all(classify(dfa.with_accepting(np.flatnonzero(labels == v).tolist())).verdict(klass).status
               == "constructible" for v in np.unique(labels).tolist())


@pytest.mark.parametrize("name, arch", [("tomita:3", "diag-neg"), ("tomita:3", "rotation"),
                                        ("modarith:3", "rotation")])
def test_levels_with_groups_and_resets_compile_and_agree(name, arch):
    dfa, labels = minimal(name)
    assert not Holonomy(dfa).is_aperiodic_cascade()
    compiled = compile_automaton(dfa, arch, labels)
    assert compiled.construction == f"{arch}-permuting-holonomy-cascade"
    assert_computes(compiled, length=2000, batch=2)


def test_sign_flip_cascade_uses_only_gates_one_reset_and_minus_one():
    dfa, labels = minimal("tomita:3")
    compiled = permuting_cascade(dfa, labels, "diag-neg")
    lam = compiled.model.config.origin.reset_gate
    assert compiled.model.config.origin.safe_length is None
    symbols = torch.as_tensor(np.random.default_rng(3).integers(0, dfa.n_symbols, size=(1, 500)))
    with torch.no_grad():
        for block, x in zip(compiled.model.blocks, compiled.model.streams(symbols)):
            assert set(torch.unique(block.recurrence.gates(x)).tolist()) <= {lam, 1.0, -1.0}


def test_order_three_counter_reports_a_proved_safe_length():
    dfa, labels = minimal("modarith:3")
    compiled = permuting_cascade(dfa, labels, "rotation")
    assert compiled.model.config.origin.safe_length >= 10_000
    assert "counter3@level2" in compiled.model.config.origin.components
    assert compiled.model.config.origin.counter_orders == (2, 3)


def test_sign_flips_refuse_an_odd_order_level():
    dfa, labels = minimal("modarith:3")
    with pytest.raises(NotImplementedConstruction, match="mod 2"):
        permuting_cascade(dfa, labels, "diag-neg")


def test_component_cascade_decodes_to_the_dfa_and_moves_are_functions():
    dfa, _ = minimal("modarith:5")
    table = fine_table(dfa)  # raises if a decoded configuration disagrees with the holonomy cascade / DFA
    p = plan(table)  # raises if a move is not a function of what its layer reads
    assert set(table.state_of.values()) == set(range(dfa.n_states))
    assert all(layer == 0 for layer, deps in zip(p.layer, p.deps) if not deps)


def _check_random(dfa, length: int) -> int:
    labels = dfa.accepting_mask().astype(np.int64)
    reduced, reduced_labels = minimal_labelled(dfa, labels)
    if reduced.n_states < 2:
        return 0
    checked = 0
    for arch in ARCHS:
        if constructible(reduced, reduced_labels, arch):
            assert_computes(compile_automaton(reduced, arch, reduced_labels), length=length, batch=1)
            checked += 1
    return checked


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dfas(max_states=5, max_symbols=2))
def test_random_dfas_constructible_for_diagonal_classes_compile_and_agree(dfa):
    _check_random(dfa, 2000)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dfas(max_states=6, max_symbols=3))
def test_random_dfas_constructible_for_diagonal_classes_agree_at_length_10000(dfa):
    _check_random(dfa, 10_000)
