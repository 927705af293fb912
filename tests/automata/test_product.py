from hypothesis import given, settings
from hypothesis import strategies as st

from automata.equivalence import equivalent, find_counterexample
from automata.minimize import minimize
from automata.product import difference, intersection, symmetric_difference, union
from automata.strategies import dfas, strings


@st.composite
def two_dfas_and_words(draw):
    k = draw(st.integers(1, 3))
    left = draw(dfas(max_states=6, min_symbols=k, max_symbols=k))
    right = draw(dfas(max_states=6, min_symbols=k, max_symbols=k))
    words = draw(st.lists(strings(left, max_size=15), max_size=15))
    return left, right, words


@settings(max_examples=150, deadline=None)
@given(two_dfas_and_words())
def test_boolean_operations_agree_with_membership(case):
    left, right, words = case
    operations = [(intersection, lambda x, y: x and y), (union, lambda x, y: x or y),
                  (difference, lambda x, y: x and not y), (symmetric_difference, lambda x, y: x != y)]
    for build, truth in operations:
        combined = build(left, right)
        for word in words:
            assert combined.accepts(word) == truth(left.accepts(word), right.accepts(word))
    complement = left.complement()
    assert all(complement.accepts(w) != left.accepts(w) for w in words)


@settings(max_examples=150, deadline=None)
@given(two_dfas_and_words())
def test_counterexample_is_shortest_and_distinguishes(case):
    left, right, _ = case
    word = find_counterexample(left, right)
    if word is None:
        assert minimize(symmetric_difference(left, right)).accepting == frozenset()
        return
    assert left.accepts(word) != right.accepts(word)
    # No shorter word distinguishes them: the symmetric difference accepts nothing shorter.
    diff = symmetric_difference(left, right)
    reach = {diff.start}
    for _ in range(len(word)):
        assert not (reach & diff.accepting)
        reach = {int(diff.delta[q, a]) for q in reach for a in range(diff.n_symbols)}


@settings(max_examples=100, deadline=None)
@given(dfas(max_states=8, max_symbols=3))
def test_dfa_is_equivalent_to_its_minimisation_but_not_its_complement(dfa):
    assert equivalent(dfa, minimize(dfa))
    word = find_counterexample(dfa, dfa.complement())
    assert word is not None and len(word) == 0
