from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings

from automata.classify import classify
from automata.generate import random_dfa
from automata.minimize import minimize
from automata.strategies import dfas
from automata.tasks import get_task
from lsrl.constructions import diagonal_cascade
from lsrl.constructions.diagonal_cascade import ARCHS, _Levels, fine_table, permuting_cascade, plan
from lsrl.constructions.errors import NotImplementedConstruction
from lsrl.constructions.holonomy import Holonomy
from lsrl.constructions.labelling import minimal_labelled
from lsrl.constructions.select import compile_automaton
from models import registry
from proofs.certificate_kinds import certify, verify
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


def _stale(seed: int):
    """A uniform random DFA whose skipped holonomy levels' stale values make more than 64 coordinate tuples."""
    return minimize(random_dfa(4 + seed % 4, 2, seed))


def _off_chain_components_are_0(dfa, table) -> None:
    """In every configuration, the components of a level off the decoding chain are 0."""
    holonomy = Holonomy(dfa)
    levels, fixed = _Levels(holonomy, True), holonomy.encode(dfa.start)
    assert levels.components == list(table.components)
    for config in table.state_of:
        values, chain, a = levels.values(config, fixed), set(), holonomy.full
        while a & (a - 1):
            chain.add(holonomy.top - holonomy.height[a])
            a = holonomy._real_tile(a, values[holonomy.top - holonomy.height[a]])
        assert all(v == 0 for v, c in zip(config, table.components) if c.level not in chain)


@pytest.mark.parametrize("name", ["tomita:3", "modarith:5"])
def test_cascades_without_many_stale_values_keep_the_plain_cascade(name, monkeypatch):
    dfa, labels = minimal(name)
    assert Holonomy(dfa).reachable(limit=diagonal_cascade.STALE_CONFIGURATIONS) is not None
    table, model = fine_table(dfa), permuting_cascade(dfa, labels, "rotation").model
    monkeypatch.setattr(diagonal_cascade, "STALE_CONFIGURATIONS", 10 ** 9)  # never canonical
    assert fine_table(dfa) == table
    plain = permuting_cascade(dfa, labels, "rotation").model.state_dict()
    assert all(torch.equal(plain[key], value) for key, value in model.state_dict().items())


@pytest.mark.parametrize("seed, stale, canonical", [(2, 257, 44), (3, 2097, 229), (43, 173, 24)])
def test_stale_levels_switch_to_the_canonical_cascade(seed, stale, canonical, monkeypatch):
    dfa = _stale(seed)
    assert Holonomy(dfa).reachable(limit=diagonal_cascade.STALE_CONFIGURATIONS) is None
    table = fine_table(dfa)
    assert len(table.state_of) == canonical
    _off_chain_components_are_0(dfa, table)
    monkeypatch.setattr(diagonal_cascade, "STALE_CONFIGURATIONS", 10 ** 9)
    assert len(fine_table(dfa).state_of) == stale


@pytest.mark.parametrize("arch", ARCHS)
def test_canonical_permuting_cascade_computes_and_certifies(arch):
    dfa = _stale(43)
    labels = dfa.accepting_mask().astype(np.int64)
    compiled = permuting_cascade(dfa, labels, arch)
    assert_computes(compiled, length=2000, batch=1)
    document = certify(compiled.model, dfa, compiled.labels).to_json(dfa, compiled.labels)
    assert verify(compiled.model, document)["configurations"] == len(document["boxes"])


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(dfas(min_states=4, max_states=7, min_symbols=2, max_symbols=2))
def test_canonical_component_cascade_decodes_to_random_dfas(monkeypatch, dfa):
    monkeypatch.setattr(diagonal_cascade, "STALE_CONFIGURATIONS", 0)  # every table takes the canonical cascade
    dfa = minimize(dfa)
    if dfa.n_states < 2:
        return
    try:
        groups = _Levels(Holonomy(dfa), True).groups
    except NotImplementedConstruction:  # a level group that is not solvable
        return
    # a level's values times its group bound its (target, counters) pairs: keep the tables small
    assume(math.prod(g.group.order for g in groups if g is not None) <= 48)
    table = fine_table(dfa)  # raises if a configuration decodes to another state than the DFA's
    plan(table)  # raises if a move is not a function of what its layer reads
    _off_chain_components_are_0(dfa, table)
    labels = dfa.accepting_mask().astype(np.int64)
    for arch in ARCHS:
        try:
            compiled = permuting_cascade(dfa, labels, arch)
        except NotImplementedConstruction:  # a level group outside the class
            continue
        assert_computes(compiled, length=300, batch=1)
