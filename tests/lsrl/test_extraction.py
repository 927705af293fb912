"""Automaton extraction: exact recovery from every compiled model of the task library, shortest
counterexamples, and the failure modes (an incomplete search, a wrong model)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.dfa import DFA
from automata.strategies import dfas
from automata.tasks import get_task, task_families
from lsrl.constructions.errors import NotExpressible, NotImplementedConstruction
from lsrl.constructions.select import ARCHITECTURES, compile_automaton
from lsrl.extraction import extract_automaton, labelled_counterexample

ONE_HOT_PAIRS = {"elman", "elman-tanh", "lstm", "gru"}
EXAMPLES = [family.example for family in task_families()]


def _cost(task_name: str, arch: str) -> int:
    """About how many prefixes the search runs: clusters times symbols."""
    dfa = get_task(task_name).dfa
    clusters = dfa.n_states * (dfa.n_symbols if arch in ONE_HOT_PAIRS else 1)
    return clusters * dfa.n_symbols


def _cases(cheap: bool) -> list:
    cases = []
    for name in EXAMPLES:
        for arch in ARCHITECTURES:
            cost = _cost(name, arch)
            if (cost <= 300) == cheap:
                cases.append(pytest.param(name, arch, id=f"{name}-{arch}"))
    return cases


def _check_recovers(name: str, arch: str) -> None:
    task = get_task(name)
    try:
        compiled = compile_automaton(task.dfa, arch, task.labels)
    except (NotExpressible, NotImplementedConstruction):
        pytest.skip(f"no construction of {name} for {arch}")
    extraction = extract_automaton(compiled.model, task.dfa, task.labels)
    assert extraction.complete
    assert extraction.counterexample is None
    assert extraction.dfa.n_states == compiled.dfa.n_states  # the minimal automaton, nothing more
    assert labelled_counterexample(extraction.dfa, extraction.labels, compiled.dfa, compiled.labels) is None


@pytest.mark.parametrize("name, arch", _cases(cheap=True))
def test_extraction_recovers_every_compiled_model(name: str, arch: str) -> None:
    torch.set_num_threads(1)
    _check_recovers(name, arch)


@pytest.mark.slow
@pytest.mark.parametrize("name, arch", _cases(cheap=False))
def test_extraction_recovers_large_compiled_models(name: str, arch: str) -> None:
    torch.set_num_threads(1)
    _check_recovers(name, arch)


def test_extraction_reports_shortest_counterexample_for_wrong_target() -> None:
    """A parity model compared with counting mod 2 of the other letter disagrees first after '1'."""
    parity = get_task("parity")
    compiled = compile_automaton(parity.dfa, "diag-neg", parity.labels)
    swapped = DFA(parity.dfa.alphabet, parity.dfa.delta[:, ::-1].copy(), parity.dfa.start, parity.dfa.accepting)
    extraction = extract_automaton(compiled.model, swapped, parity.labels)
    assert extraction.complete and not extraction.equivalent
    assert extraction.counterexample in (("0",), ("1",))


def test_incomplete_search_is_reported() -> None:
    task = get_task("mod:3")
    compiled = compile_automaton(task.dfa, "dense-lrnn", task.labels)
    extraction = extract_automaton(compiled.model, task.dfa, task.labels, max_states=1)
    assert not extraction.complete and not extraction.equivalent
    assert extraction.counterexample is not None


@settings(max_examples=25, deadline=None)
@given(dfas(max_states=5, max_symbols=3), st.data())
def test_labelled_counterexample_is_a_shortest_disagreement(dfa: DFA, data: st.DataObject) -> None:
    """The word returned separates the labels; no shorter word does (brute force)."""
    left = np.asarray(data.draw(st.lists(st.integers(0, 2), min_size=dfa.n_states, max_size=dfa.n_states)))
    right = np.asarray(data.draw(st.lists(st.integers(0, 2), min_size=dfa.n_states, max_size=dfa.n_states)))
    word = labelled_counterexample(dfa, left, dfa, right)
    def differ(w: tuple[str, ...]) -> bool:
        q = dfa.run(w) if w else dfa.start
        return left[q] != right[q]

    limit = len(word) if word is not None else dfa.n_states
    for n in range(limit):
        assert not any(differ(w) for w in itertools.product(dfa.alphabet, repeat=n))
    if word is not None:
        assert differ(word)
