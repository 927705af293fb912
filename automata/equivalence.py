"""Language equivalence of DFAs with a shortest distinguishing word."""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from automata.dfa import DFA
from automata.errors import AutomatonError


def find_counterexample(left: DFA, right: DFA) -> tuple[str, ...] | None:
    """A shortest word (shortlex-first among the shortest) accepted by exactly one of the two
    DFAs, or None if they recognise the same language. Breadth-first search over state pairs."""
    return first_label_difference(left, left.accepting_mask(), right, right.accepting_mask())


def _word_to(pair, parent, alphabet) -> tuple[str, ...]:
    word = []
    while parent[pair] is not None:
        pair, a = parent[pair]
        word.append(alphabet[a])
    return tuple(reversed(word))


def equivalent(left: DFA, right: DFA) -> bool:
    return find_counterexample(left, right) is None


def first_label_difference(left: DFA, left_labels: Sequence[int], right: DFA,
                           right_labels: Sequence[int]) -> tuple[str, ...] | None:
    """A shortest word (shortlex-first among the shortest) after which the two labelled DFAs give
    different labels, or None if they label every word alike (labels: one integer per state).
    Breadth-first search over state pairs."""
    if left.alphabet != right.alphabet:
        raise AutomatonError(f"alphabets differ: {left.alphabet!r} vs {right.alphabet!r}")
    start = (left.start, right.start)
    parent: dict[tuple[int, int], tuple[tuple[int, int], int] | None] = {start: None}
    queue = deque([start])
    while queue:
        pair = queue.popleft()
        if int(left_labels[pair[0]]) != int(right_labels[pair[1]]):
            return _word_to(pair, parent, left.alphabet)
        for a in range(left.n_symbols):
            nxt = (int(left.delta[pair[0], a]), int(right.delta[pair[1], a]))
            if nxt not in parent:
                parent[nxt] = (pair, a)
                queue.append(nxt)
    return None
