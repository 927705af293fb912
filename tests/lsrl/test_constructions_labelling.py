from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.minimize import minimize
from automata.strategies import dfas
from automata.tasks import get_task
from lsrl.constructions.labelling import minimal_labelled, resolve_labels


@settings(max_examples=40, deadline=None)
@given(dfas(max_states=8, max_symbols=3), st.data())
def test_minimal_labelled_dfa_gives_the_same_labels(dfa, data):
    labels = np.array(data.draw(st.lists(st.integers(0, 3), min_size=dfa.n_states, max_size=dfa.n_states)))
    minimal, minimal_labels = minimal_labelled(dfa, labels)
    symbols = np.random.default_rng(0).integers(0, dfa.n_symbols, size=(4, 40))
    assert (minimal_labels[minimal.trace_batch(symbols)] == labels[dfa.trace_batch(symbols)]).all()
    assert (minimal.accepting_mask()[minimal.trace_batch(symbols)] == dfa.accepting_mask()[dfa.trace_batch(symbols)]).all()
    assert minimal.n_states <= dfa.trim().n_states


@settings(max_examples=40, deadline=None)
@given(dfas(max_states=8, max_symbols=3))
def test_acceptance_labels_give_the_minimal_dfa(dfa):
    labels, n_labels = resolve_labels(dfa, None)
    minimal, _ = minimal_labelled(dfa, labels)
    assert minimal == minimize(dfa) and n_labels == 2


def test_bad_labels_are_refused():
    dfa = get_task("parity").dfa
    with pytest.raises(ValueError, match="labels"):
        resolve_labels(dfa, np.array([0, 1, 2]))
