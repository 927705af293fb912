from __future__ import annotations

import functools
import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automata.strategies import dfas
from automata.tasks import get_task
from lsrl.constructions.and_units import UnitPlan, build, minsky_pairs
from lsrl.constructions.interval_units import interval_units
from lsrl.constructions.labelling import minimal_labelled
from lsrl.constructions.select import compile_automaton
from lsrl.constructions.transformation_units import INTERVALS, smallest, transitions_plan
from proofs.certificate_kinds import certify, verify
from tests.lsrl.compiled_checks import assert_computes

NONLINEAR = ("elman", "elman-tanh", "lstm", "gru")
GROUPS = ("S:3", "S:4", "A:4", "A:5", "S:5")
# Rows of a base of the natural action, times points^2: S_n needs n - 1 rows, A_n n - 2.
UNITS = {"S:3": 2 * 9, "S:4": 3 * 16, "A:4": 2 * 16, "A:5": 3 * 25, "S:5": 4 * 25}


@functools.lru_cache(maxsize=None)
def compiled_group(name: str, cls: str):
    task = get_task(name)
    return compile_automaton(task.dfa, cls, task.labels)


@pytest.mark.parametrize("cls", ("elman", "elman-tanh", "lstm"))
@pytest.mark.parametrize("name", GROUPS)
def test_and_unit_classes_track_a_base_of_the_natural_permutation_matrix(name, cls):
    compiled = compiled_group(name, cls)
    assert compiled.construction.endswith("-permutation-matrix")
    assert compiled.model.blocks[0].recurrence.d_state == UNITS[name]


@pytest.mark.parametrize("name, construction, units", [
    ("S:4", "gru-one-hot-intervals", 24),  # the Cayley states' one-hot beats 3 rows x 4 points plus 24 detectors
    ("A:5", "gru-permutation-matrix-intervals", 3 * 5),
    ("S:5", "gru-permutation-matrix-intervals", 4 * 5),
])
def test_gru_holds_the_rows_themselves(name, construction, units):
    compiled = compiled_group(name, "gru")
    assert compiled.construction == construction
    assert compiled.model.blocks[0].recurrence.d_state == units


@pytest.mark.parametrize("cls", NONLINEAR)
@pytest.mark.parametrize("name", GROUPS)
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_group_models_agree_with_the_dfa_at_every_position(name, cls, data):
    compiled = compiled_group(name, cls)
    k = compiled.dfa.n_symbols
    word = data.draw(st.lists(st.integers(0, k - 1), min_size=2000, max_size=2000))
    assert_computes(compiled, symbols=np.array([word]))


@pytest.mark.parametrize("cls, values", [("elman", {0.0, 1.0}), ("elman-tanh", {-1.0, 1.0}), ("lstm", {0.0, 1.0}),
                                         ("gru", {-1.0, 1.0})])
def test_units_stay_exact_bits(cls, values):
    compiled = compiled_group("S:5", cls)
    x = torch.as_tensor(np.random.default_rng(1).integers(0, compiled.dfa.n_symbols, size=(2, 500)))
    hidden = compiled.model.blocks[0].recurrence.states(compiled.model.embedding(x))
    assert set(hidden.unique().tolist()) == values


@pytest.mark.parametrize("cls, configurations", [("elman", 36), ("elman-tanh", 36), ("lstm", 36), ("gru", 6)])
def test_s3_is_certified_exactly(cls, configurations):
    """AND units remember the previous element too (every element is a letter: 6 x 6 configurations);
    interval units hold the current one only."""
    compiled = compiled_group("S:3", cls)
    cert = certify(compiled.model, compiled.dfa, compiled.labels)
    summary = verify(compiled.model, json.loads(json.dumps(cert.to_json(compiled.dfa, compiled.labels))))
    assert summary["configurations"] == configurations
    assert "float32" in summary["exact_in"]


@pytest.mark.slow
def test_s5_gru_is_certified_exactly():
    compiled = compiled_group("S:5", "gru")
    cert = certify(compiled.model, compiled.dfa, compiled.labels)
    summary = verify(compiled.model, cert.to_json(compiled.dfa, compiled.labels))
    assert summary["configurations"] == 120 and "float32" in summary["exact_in"]


@settings(max_examples=15, deadline=None)
@given(dfas(max_states=5, max_symbols=3, minimal=True))
def test_interval_units_compute_dfas_whose_preimages_are_intervals(dfa):
    units = interval_units(np.asarray(dfa.delta).T, (dfa.start,))
    labels = dfa.accepting_mask().astype(np.int64)
    if units is None:
        return
    compiled = build("gru", dfa, labels, 2, UnitPlan(units, None, "one-hot-intervals", INTERVALS))
    assert compiled.model.blocks[0].recurrence.d_state == dfa.n_states
    assert_computes(compiled, length=2000, batch=1)


def test_interval_units_refuse_a_preimage_with_a_gap():
    assert interval_units(np.array([[0, 1, 0]]), (0,)) is None


@settings(max_examples=8, deadline=None)
@given(dfas(max_states=5, max_symbols=4, minimal=True), st.sampled_from(NONLINEAR))
def test_transition_units_compute_any_dfa_with_at_most_minskys_units(dfa, cls):
    labels = dfa.accepting_mask().astype(np.int64)
    assert transitions_plan(dfa).units.n_units <= minsky_pairs(dfa).n_units
    compiled = smallest(dfa, labels, cls)
    assert compiled.model.blocks[0].recurrence.d_state <= minsky_pairs(dfa).n_units
    assert_computes(compiled, length=2000, batch=1)


def test_transitions_beat_pairs_when_symbols_share_successors():
    task = get_task("modarith:3")
    dfa, labels = minimal_labelled(task.dfa, task.labels)
    compiled = smallest(dfa, labels, "elman")
    assert compiled.construction == "elman-relu-transitions"
    assert compiled.model.blocks[0].recurrence.d_state < dfa.n_states * dfa.n_symbols
    assert_computes(compiled)
