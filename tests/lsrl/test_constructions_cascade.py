from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.classify import classify
from automata.strategies import dfas
from automata.tasks import get_task
from lsrl.constructions.cascade import cascade_table, deltaproduct_cascade, diagonal_cascade
from lsrl.constructions.errors import NotImplementedConstruction
from lsrl.constructions.holonomy import Holonomy
from lsrl.constructions.labelling import minimal_labelled
from lsrl.constructions.select import ARCHITECTURES, compile_automaton
from lsrl.constructions.size_table import TASKS, markdown, row
from models import registry
from tests.lsrl.compiled_checks import assert_computes


def minimal(name: str):
    task = get_task(name)
    return minimal_labelled(task.dfa, task.labels)


def _check_holonomy_cascade(dfa) -> None:
    reduced, _ = minimal_labelled(dfa, dfa.accepting_mask().astype(np.int64))
    Holonomy(reduced).check()
    if reduced.n_states > 1:
        cascade_table(reduced)  # raises if a lookup is not a function of what a layer reads


@settings(max_examples=25, deadline=None)
@given(dfas(max_states=5, max_symbols=2))
def test_holonomy_cascade_simulates_random_dfas(dfa):
    _check_holonomy_cascade(dfa)


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(dfas(max_states=7, max_symbols=3))
def test_holonomy_cascade_simulates_larger_random_dfas(dfa):
    # Random 7-state DFAs can have holonomy cascades with very many reachable configurations.
    _check_holonomy_cascade(dfa)


@pytest.mark.parametrize("name, aperiodic", [("tomita:7", True), ("contains:aba", True), ("tomita:3", False),
                                             ("parity", False)])
def test_holonomy_levels_only_reset_exactly_for_counter_free_dfas(name, aperiodic):
    dfa, _ = minimal(name)
    assert Holonomy(dfa).is_aperiodic_cascade() == aperiodic == classify(dfa).aperiodic


@settings(max_examples=3, deadline=None)
@given(dfas(max_states=5, max_symbols=2))
def test_deltaproduct_cascade_computes_random_dfas(dfa):
    labels = np.arange(dfa.n_states) % 3
    reduced, reduced_labels = minimal_labelled(dfa, labels)
    if reduced.n_states > 1:
        assert_computes(deltaproduct_cascade(reduced, reduced_labels), length=600, batch=1)


@pytest.mark.parametrize("name", ["tomita:4", "even-pairs"])
def test_deltaproduct_cascade_states_are_exactly_one_hot(name):
    dfa, labels = minimal(name)
    compiled = deltaproduct_cascade(dfa, labels)
    symbols = torch.as_tensor(np.random.default_rng(1).integers(0, dfa.n_symbols, size=(1, 400)))
    with torch.no_grad():
        streams = compiled.model.streams(symbols)
        last = len(compiled.model.blocks) - 1
        for d, (block, x) in enumerate(zip(compiled.model.blocks, streams)):
            states = block.recurrence.states(x)
            assert set(torch.unique(states).tolist()) <= {0.0, 1.0}
            assert (states.sum(-1) == (1.0 if d == last else 2.0)).all()  # one-hot c, and p above the last level
    assert_computes(compiled, length=400, batch=1, symbols=symbols.numpy())


def test_deltaproduct_cascade_respects_n_h():
    dfa, labels = minimal("tomita:4")
    needed = deltaproduct_cascade(dfa, labels).size()["n_h"]
    with pytest.raises(NotImplementedConstruction, match="n_h"):
        deltaproduct_cascade(dfa, labels, n_h=needed - 1)
    padded = deltaproduct_cascade(dfa, labels, n_h=needed + 1)
    assert padded.size()["n_h"] == needed + 1
    assert_computes(padded, length=300, batch=1)


def test_diagonal_cascade_gates_stay_in_the_class():
    dfa, labels = minimal("contains:aba")
    compiled = diagonal_cascade(dfa, labels, "diag-01")
    symbols = torch.as_tensor(np.random.default_rng(2).integers(0, dfa.n_symbols, size=(1, 300)))
    lam = compiled.model.config.origin.reset_gate
    with torch.no_grad():
        for block, x in zip(compiled.model.blocks, compiled.model.streams(symbols)):
            gates = block.recurrence.gates(x)
            assert set(torch.unique(gates).tolist()) <= {lam, 1.0}


def _canonical_configurations(holonomy: Holonomy) -> dict[tuple[int, ...], int]:
    """The canonical cascade's reachable coordinates and their decoded states, checked step by step."""
    start = holonomy.encode(holonomy.dfa.start)
    seen, queue = {start: holonomy.dfa.start}, [start]
    while queue:
        coords = queue.pop()
        for a in range(holonomy.dfa.n_symbols):
            new, actions = holonomy.step(coords, a, canonical=True)
            assert holonomy.decode(new) == holonomy.dfa.delta[seen[coords], a]
            assert all(act.kind == "constant" or len(set(act.image)) == len(act.image) for act in actions)
            if new not in seen:
                seen[new] = holonomy.decode(new)
                queue.append(new)
    return seen


@settings(max_examples=25, deadline=None)
@given(dfas(max_states=6, max_symbols=3, minimal=True))
def test_canonical_holonomy_cascade_simulates_random_dfas_with_skipped_levels_at_0(dfa):
    if dfa.n_states < 2:
        return
    holonomy = Holonomy(dfa)
    configurations = _canonical_configurations(holonomy)
    for coords in configurations:  # every level off the decoding chain holds 0
        chain, a = set(), holonomy.full
        while a & (a - 1):
            chain.add(holonomy.top - holonomy.height[a])
            a = holonomy._real_tile(a, coords[holonomy.top - holonomy.height[a]])
        assert all(v == 0 for d, v in enumerate(coords) if d not in chain)
    assert len(configurations) <= len(holonomy.reachable())


@pytest.mark.parametrize("name", ["tomita:7", "contains:aba", "no-aa"])
def test_diagonal_cascade_with_canonical_levels_computes_and_certifies(name, monkeypatch):
    from lsrl.constructions import cascade
    from proofs.interval_certificate import certify_interval, verify_interval

    monkeypatch.setattr(cascade, "STALE_CONFIGURATIONS", 0)  # every table takes the canonical cascade
    dfa, labels = minimal(name)
    table = cascade_table(dfa, delayed=False)
    assert len(table.state_of) == len(_canonical_configurations(Holonomy(dfa)))
    compiled = diagonal_cascade(dfa, labels, "diag-01")
    assert_computes(compiled, length=2000, batch=1)
    document = certify_interval(compiled.model, dfa, compiled.labels).to_json(dfa, compiled.labels)
    assert verify_interval(compiled.model, document)["configurations"] == len(document["boxes"])


def test_diagonal_cascade_refuses_counting():
    dfa, labels = minimal("tomita:3")
    with pytest.raises(NotImplementedConstruction, match="permutes"):
        diagonal_cascade(dfa, labels, "diag-neg")


@pytest.mark.parametrize("name, arch", [("tomita:2", "deltaproduct"), ("tomita:7", "diag-01"),
                                        ("dyck:1:2", "diag-neg"), ("no-aa", "rotation"),
                                        ("modarith:3", "deltaproduct")])
def test_select_falls_back_to_cascades(name, arch):
    task = get_task(name)
    compiled = compile_automaton(task.dfa, arch, task.labels)
    assert "holonomy-cascade" in compiled.construction
    assert_computes(compiled, length=2000, batch=1)


def test_size_table_reports_sizes_and_refusals():
    rows = [row("tomita:2", "deltaproduct"), row("parity", "diag-01"), row("modarith:3", "diag-neg")]
    assert rows[0].layers == 2 and rows[0].n_h and rows[0].parameters
    assert rows[1].construction.startswith("impossible: Sarrof")
    assert rows[2].construction.startswith("not implemented:")
    text = markdown(rows)
    assert text.count("\n| tomita") == 1 and "| parity | diag-01 | impossible" in text


def _constructible(name: str) -> list[str]:
    return _constructible_classes(*minimal(name))


def _constructible_classes(dfa, labels) -> list[str]:
    """The architectures the classifier marks constructible for every label's language."""
    out = []
    for arch, cls in ((arch, registry.get(arch).classifier) for arch in ARCHITECTURES):
        verdicts = [classify(dfa.with_accepting(np.flatnonzero(labels == v).tolist())).verdict(cls).status
                    for v in np.unique(labels).tolist()]
        if all(v == "constructible" for v in verdicts):
            out.append(arch)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", TASKS)
def test_every_constructible_class_compiles_and_agrees_at_length_10000(name):
    task = get_task(name)
    for arch in _constructible(name):
        assert_computes(compile_automaton(task.dfa, arch, task.labels), length=10000, batch=1)


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(dfas(max_states=5, max_symbols=3), st.data())
def test_random_labelled_dfas_compile_on_every_constructible_class_and_agree_at_length_10000(dfa, data):
    """Issue 4's acceptance on hypothesis-drawn DFAs: every class the classifier marks constructible
    compiles, and the model agrees with the DFA at every position of a random string of length 10,000."""
    labels = np.array(data.draw(st.lists(st.integers(0, 2), min_size=dfa.n_states, max_size=dfa.n_states)))
    dfa, labels = minimal_labelled(dfa, labels)
    for arch in _constructible_classes(dfa, labels):
        assert_computes(compile_automaton(dfa, arch, labels), length=10000, batch=1)
