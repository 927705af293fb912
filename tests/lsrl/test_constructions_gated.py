from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from automata.strategies import dfas
from automata.tasks import get_task
from lsrl.constructions.gated import gru, lstm
from tests.lsrl.compiled_checks import assert_computes


@settings(max_examples=5, deadline=None)
@given(dfas(max_states=5, max_symbols=3))
def test_lstm_and_gru_compute_any_dfa(dfa):
    units = dfa.n_states * dfa.n_symbols + 1
    for construct, carried in ((lstm, 2 * units), (gru, units)):  # LSTM carries h and c
        compiled = construct(dfa)
        assert compiled.size()["state_size"] == carried
        assert_computes(compiled, length=2000, batch=1)


@pytest.mark.parametrize("construct, values", [(lstm, {0.0, 1.0}), (gru, {-1.0, 1.0})])
def test_hidden_units_stay_exactly_saturated(construct, values):
    task = get_task("tomita:3")
    compiled = construct(task.dfa, task.labels)
    x = torch.as_tensor(np.random.default_rng(1).integers(0, 2, size=(2, 500)))
    rec = compiled.model.blocks[0].recurrence
    hidden = rec.states(compiled.model.embedding(x))
    assert set(hidden.unique().tolist()) == values


@pytest.mark.parametrize("construct", [lstm, gru])
def test_float64_models_compute_the_same_labels(construct):
    task = get_task("mod:3")
    compiled = construct(task.dfa, task.labels)
    compiled.model.double()
    assert_computes(compiled, length=1000)


@pytest.mark.slow
@pytest.mark.parametrize("construct", [lstm, gru])
@pytest.mark.parametrize("name", ["tomita:3", "modarith:5", "S:3"])
def test_long_strings(construct, name):
    task = get_task(name)
    assert_computes(construct(task.dfa, task.labels), length=10_000, batch=2)
