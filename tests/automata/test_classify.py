from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata import permutations as perms
from automata.classify import ARCHITECTURES, TC0_NC1, UnaryCounter, classify, classify_labelling, unary_counting_witness
from automata.dfa import DFA
from automata.errors import UnknownArchitecture
from automata.finite_groups import symmetric_group
from automata.minimize import equivalence_classes, minimize
from automata.monoid import MonoidTooLarge
from automata.strategies import dfas
from automata.tasks import get_task


def dfa(alphabet, table: dict, start, accepting) -> DFA:
    """A DFA from ``{state: {symbol: target}}``."""
    transitions = {(q, a): r for q, row in table.items() for a, r in row.items()}
    return DFA.from_transitions(alphabet, transitions, start, accepting, states=list(table))


def blocks(word: str) -> list[str]:
    return [m.group(0) for m in re.finditer(r"0+|1+", word)]


def tomita_3(word: str) -> bool:
    """No odd-length run of 0s anywhere after an odd-length run of 1s (maximal runs; a run at the
    end counts), as in Weiss, Goldberg, Yahav 2018."""
    odd_ones = False
    for run in blocks(word):
        if run[0] == "0" and len(run) % 2 and odd_ones:
            return False
        odd_ones = odd_ones or (run[0] == "1" and len(run) % 2 == 1)
    return True


# Tomita (1982) grammars 1-7 over {0, 1}, by their definitions, to check the task library's DFAs.
TOMITA = {
    1: lambda w: set(w) <= {"1"},
    2: lambda w: w == "10" * (len(w) // 2),
    3: tomita_3,
    4: lambda w: "000" not in w,
    5: lambda w: w.count("0") % 2 == 0 and w.count("1") % 2 == 0,
    6: lambda w: (w.count("0") - w.count("1")) % 3 == 0,
    7: lambda w: re.fullmatch("0*1*0*1*", w) is not None,
}


def tomita(number: int) -> DFA:
    return get_task(f"tomita:{number}").dfa


@pytest.mark.parametrize("number", TOMITA)
def test_tomita_dfas_match_their_definitions(number):
    automaton, predicate = tomita(number), TOMITA[number]
    for length in range(9):
        for letters in itertools.product("01", repeat=length):
            word = "".join(letters)
            assert automaton.accepts(word) == predicate(word), word


@pytest.mark.parametrize("number, aperiodic", [(1, True), (2, True), (3, False), (4, True), (5, False),
                                               (6, False), (7, True)])
def test_tomita_aperiodicity(number, aperiodic):
    result = classify(tomita(number))
    assert result.aperiodic == aperiodic
    assert result.verdict("diag-01").status == ("constructible" if aperiodic else "impossible")


def test_tomita_3_is_not_star_free_by_a_direct_witness():
    # Star-free languages are aperiodic: membership of x y^n z is eventually constant in n. Here
    # membership of 1 0^n alternates with the parity of n, so Tomita 3 counts modulo 2.
    automaton = tomita(3)
    assert [automaton.accepts("1" + "0" * n) for n in range(1, 9)] == [False, True] * 4
    groups = [g for g in classify(automaton).groups if g.order > 1]
    assert groups and all((g.order, g.composition_factors) == (2, ("Z_2",)) for g in groups)


def test_tomita_5_and_6_groups():
    five = classify(tomita(5))
    assert [(g.order, g.abelian, g.two_group) for g in five.groups] == [(4, True, True)]
    assert five.verdict("diag-neg").construction.state_size == 2
    six = classify(tomita(6))
    assert [g.composition_factors for g in six.groups] == [("Z_3",)]
    assert six.verdict("diag-neg").status == "impossible"  # restricted to 0*, it is (000)*


PARITY = dfa("ab", {0: {"a": 1, "b": 0}, 1: {"a": 0, "b": 1}}, 0, [0])
MOD3 = dfa("ab", {0: {"a": 1, "b": 0}, 1: {"a": 2, "b": 1}, 2: {"a": 0, "b": 2}}, 0, [0])


def test_parity():
    result = classify(PARITY)
    assert result.monoid_is_group and [(g.order, g.composition_factors) for g in result.groups] == [(2, ("Z_2",))]
    assert result.verdict("diag-01").status == "impossible"
    neg = result.verdict("diag-neg")
    assert (neg.status, neg.construction.layers, neg.construction.state_size) == ("constructible", 1, 1)
    delta = result.verdict("deltaproduct")
    assert (delta.status, delta.source, delta.construction.layers, delta.construction.n_h) == \
        ("constructible", "theorem", 1, 1)


def test_mod3():
    result = classify(MOD3)
    assert [(g.order, g.composition_factors) for g in result.groups] == [(3, ("Z_3",))]
    assert unary_counting_witness(MOD3) == UnaryCounter("a", 3, 1, False)
    neg = result.verdict("diag-neg")
    assert (neg.status, neg.source, neg.theorem.condition) == ("impossible", "theorem", None)
    complex_ = result.verdict("diag-complex")
    assert (complex_.status, complex_.source, complex_.construction.layers) == ("constructible", "derived", 1)


def test_odd_order_group_without_a_unary_counter_is_open_for_negative_diagonals():
    # Accept iff the number of a's is 1 mod 3: no letter restricts the language to (x^m)*.
    shifted = dfa("ab", {0: {"a": 1, "b": 0}, 1: {"a": 2, "b": 1}, 2: {"a": 0, "b": 2}}, 0, [1])
    verdict = classify(shifted).verdict("diag-neg")
    assert (verdict.status, verdict.source, verdict.theorem) == ("open", "conjecture/open", None)


def test_a_counter_in_the_complement_is_as_impossible_as_one_in_the_language():
    # The complement of (a^3)* on a*: negating a model's readout gives a model for (a^3)*.
    assert unary_counting_witness(MOD3.complement()) == UnaryCounter("a", 3, 1, True)
    for automaton in (get_task("mod:3").dfa, get_task("S:5").dfa, get_task("A:5").dfa):
        plain, complement = (classify(x).verdict("diag-neg") for x in (automaton, automaton.complement()))
        assert plain.status == complement.status == "impossible"
        assert plain.theorem.condition == complement.theorem.condition
    verdict = classify(MOD3.complement()).verdict("diag-neg")
    assert verdict.theorem.condition is None and "the complement of the language is (a^3)*" in verdict.theorem.statement


def s5_word_problem(generators=((0, 1, 2, 3, 4), (0, 1)), names=("c", "t")) -> DFA:
    """Accept products of the given cycles (by default a 5-cycle c and a transposition t) that equal
    the identity of S_5 (120 states)."""
    group = symmetric_group(5)
    letters = [perms.from_cycles(5, cycle) for cycle in generators]
    table = group.index([perms.compose(tuple(p), g) for p in group.elements.tolist() for g in letters])
    return DFA(names, table.reshape(group.order, len(letters)), 0, frozenset({0}))  # element 0 is the identity


def test_s5_word_problem():
    result = classify(s5_word_problem())
    assert (result.n_states, result.monoid_size, result.monoid_is_group) == (120, 120, True)
    assert [(g.order, g.solvable, g.composition_factors) for g in result.groups] == [(120, False, ("Z_2", "A_5"))]
    complex_ = result.verdict("diag-complex")
    assert (complex_.status, complex_.theorem.condition) == ("impossible", TC0_NC1)
    neg = result.verdict("diag-neg")  # unconditional: restricted to c*, the language is (c^5)*
    assert (neg.status, neg.theorem.condition) == ("impossible", None)
    delta = result.verdict("deltaproduct")
    assert (delta.source, delta.construction.layers, delta.construction.n_h, delta.construction.state_size) == \
        ("theorem", 1, 4, 25)  # S_5 on 5 points: a 5-cycle is 4 reflections (Siems et al. 2025)


def test_s5_by_adjacent_transpositions_is_conditionally_impossible_for_negative_diagonals():
    result = classify(s5_word_problem(((0, 1), (1, 2), (2, 3), (3, 4)), ("s1", "s2", "s3", "s4")))
    neg = result.verdict("diag-neg")  # every letter has order 2: no counter modulo an odd m
    assert (neg.status, neg.source, neg.theorem.condition) == ("impossible", "theorem", TC0_NC1)
    delta = result.verdict("deltaproduct")  # one reflection per letter: fewer than Siems et al.'s n - 1
    assert (delta.source, delta.construction.n_h, delta.construction.state_size) == ("derived", 1, 25)


def test_star_free_examples_are_aperiodic():
    ab_star = dfa("ab", {0: {"a": 1, "b": 2}, 1: {"a": 2, "b": 0}, 2: {"a": 2, "b": 2}}, 0, [0])
    flip_flop = dfa(["set", "reset", "read"], {0: {"set": 1, "reset": 0, "read": 0},
                                                1: {"set": 1, "reset": 0, "read": 1}}, 0, [1])
    for automaton in (ab_star, flip_flop):
        result = classify(automaton)
        assert result.aperiodic and all(g.order == 1 for g in result.groups)
        assert all(v.status == "constructible" for v in result.verdicts)


def test_json_is_json_ready_and_complete():
    payload = classify(MOD3).to_json()
    assert json.loads(json.dumps(payload)) == payload
    assert [v["architecture"] for v in payload["verdicts"]] == list(ARCHITECTURES)
    assert payload["groups"][0]["composition_factors"] == ["Z_3"]


def test_monoid_too_large_propagates():
    with pytest.raises(MonoidTooLarge):
        classify(s5_word_problem(), max_elements=50)


@settings(max_examples=40, deadline=None)
@given(dfas(max_states=6, max_symbols=3))
def test_verdicts_are_consistent(automaton: DFA):
    result = classify(automaton)
    statuses = {v.architecture: v.status for v in result.verdicts}
    assert list(statuses) == list(ARCHITECTURES)
    assert statuses["dense-lrnn"] == statuses["nonlinear-rnn"] == statuses["deltaproduct"] == "constructible"
    if result.aperiodic:
        assert statuses["diag-01"] == statuses["diag-neg"] == statuses["diag-complex"] == "constructible"
    else:
        assert statuses["diag-01"] == "impossible"
    if result.all_groups_two_groups:
        assert statuses["diag-neg"] == "constructible"
    if result.all_groups_solvable:
        assert statuses["diag-complex"] == "constructible"
    for v in result.verdicts:
        assert (v.status == "constructible") == (v.construction is not None)
        assert (v.status == "impossible") == (v.theorem is not None)
        assert (v.status == "open") == (v.source == "conjecture/open")
        if v.theorem is not None:
            assert v.source == "theorem" and v.theorem.reference
            assert (v.theorem.condition is not None) == (not result.all_groups_solvable and v.architecture != "diag-01"
                                                          and unary_counting_witness(minimize(automaton)) is None)


def verdict_claims(automaton: DFA) -> list[tuple]:
    """What each verdict claims, without its prose: status, source, condition and construction size."""
    return [(v.architecture, v.status, v.source, v.theorem and v.theorem.condition,
             v.construction and (v.construction.layers, v.construction.state_size, v.construction.n_h))
            for v in classify(automaton).verdicts]


@st.composite
def relabelled(draw, automaton: DFA) -> DFA:
    """The same automaton with its letters renamed and reordered and its states renumbered."""
    symbols = draw(st.permutations(range(automaton.n_symbols)))
    states = np.array(draw(st.permutations(range(automaton.n_states))))
    names = tuple(f"x{j}" for j in draw(st.permutations(range(automaton.n_symbols))))
    new_of = np.argsort(states)  # state q of the original is new_of[q]
    delta = new_of[automaton.delta[states][:, symbols]]
    return DFA(names, delta, int(new_of[automaton.start]), frozenset(int(new_of[q]) for q in automaton.accepting))


@settings(max_examples=150, deadline=None)
@given(dfas(max_states=6, max_symbols=3), st.data())
def test_verdicts_are_invariant_under_complement_and_relabelling(automaton: DFA, data: st.DataObject):
    # A model for L gives one for its complement (negate the readout) and for L with its letters renamed.
    claims = verdict_claims(automaton)
    assert verdict_claims(automaton.complement()) == claims
    assert verdict_claims(data.draw(relabelled(automaton))) == claims


WORSE = ("constructible", "open", "impossible")


@settings(max_examples=60, deadline=None)
@given(dfas(min_states=2, max_states=6, max_symbols=3), st.data())
def test_a_labellings_verdict_is_the_worst_of_its_label_languages(automaton: DFA, data: st.DataObject):
    labels = np.array(data.draw(st.lists(st.integers(0, 3), min_size=automaton.n_states, max_size=automaton.n_states)))
    reachable = automaton.reachable()
    trimmed, labels = automaton.restrict(reachable), labels[reachable]
    classes = equivalence_classes(trimmed, labels)
    representative = np.unique(classes, return_index=True)[1]
    minimal = DFA(trimmed.alphabet, classes[trimmed.delta[representative]], int(classes[trimmed.start]), frozenset())
    minimal_labels = labels[representative]
    per_value = [classify(minimal.with_accepting(np.flatnonzero(minimal_labels == v).tolist()))
                 for v in np.unique(minimal_labels).tolist()]
    labelling = classify_labelling(minimal, minimal_labels)
    for architecture in ARCHITECTURES:
        worst = max((result.verdict(architecture).status for result in per_value), key=WORSE.index)
        assert labelling.verdict(architecture).status == worst


def test_classify_labelling_refuses_a_labelled_dfa_that_is_not_minimal():
    with pytest.raises(ValueError, match="minimal as a labelled automaton"):
        classify_labelling(PARITY, np.array([0, 0]))


@pytest.mark.parametrize("name, factors", [("parity", [("Z_2",)]), ("mod:3", [("Z_3",)]), ("Z2xZ2", [("Z_2", "Z_2")]),
                                           ("Q8", [("Z_2", "Z_2", "Z_2")]), ("A:4", [("Z_3", "Z_2", "Z_2")]),
                                           ("S:5", [("Z_2", "A_5")]), ("A:5", [("A_5",)]),
                                           ("flipflop", []), ("ab-star", []), ("dyck:2:3", []), ("even-pairs", [])])
def test_task_library(name, factors):
    result = classify(get_task(name).dfa)
    assert [g.composition_factors for g in result.groups if g.order > 1] == factors
    assert result.aperiodic == (not factors)


def test_word_problems_of_s5_and_a5_in_one_deltaproduct_layer():
    for name in ("S:5", "A:5"):
        delta = classify(get_task(name).dfa).verdict("deltaproduct")
        assert (delta.source, delta.construction.layers, delta.construction.n_h) == ("theorem", 1, 4)


def test_an_unknown_classifier_class_is_the_registrys_unknown_architecture():
    with pytest.raises(UnknownArchitecture, match="unknown classifier class 'mamba'; known: diag-01, diag-neg"):
        classify(MOD3).verdict("mamba")
