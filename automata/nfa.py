"""Nondeterministic finite automata with epsilon moves, Thompson's combinators and the subset construction to a total DFA
(docs/automata.md#conventions-and-methods)."""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from types import MappingProxyType

import numpy as np

from automata.bounded_input import InputLimitError
from automata.dfa import DFA
from automata.errors import AutomatonError, UnknownSymbol


def _freeze(mapping: Mapping[object, Iterable[int]]) -> Mapping[object, frozenset[int]]:
    """A read-only copy without empty target sets, so that equal NFAs have equal mappings."""
    frozen = {key: frozenset(int(r) for r in targets) for key, targets in mapping.items()}
    return MappingProxyType({key: targets for key, targets in frozen.items() if targets})


@dataclass(frozen=True, eq=False)
class NFA:
    """An NFA with a set of start states and epsilon moves; it accepts a word when some run from a
    start state, reading the word's symbols and taking any epsilon moves in between, ends accepting."""

    alphabet: tuple[str, ...]
    n_states: int
    start: frozenset[int]
    accepting: frozenset[int]
    transitions: Mapping[tuple[int, str], frozenset[int]]
    epsilon: Mapping[int, frozenset[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "alphabet", tuple(self.alphabet))
        object.__setattr__(self, "start", frozenset(int(q) for q in self.start))
        object.__setattr__(self, "accepting", frozenset(int(q) for q in self.accepting))
        object.__setattr__(self, "transitions", _freeze(self.transitions))
        object.__setattr__(self, "epsilon", _freeze(self.epsilon))
        if len(set(self.alphabet)) != len(self.alphabet):
            raise AutomatonError("alphabet has repeated symbols")
        symbols = set(self.alphabet)
        for (q, a) in self.transitions:
            if a not in symbols:
                raise AutomatonError("transition on a symbol outside the alphabet", state=q, symbol=a)
        states = [*self.start, *self.accepting, *(q for q, _ in self.transitions), *self.epsilon,
                  *(r for targets in self.transitions.values() for r in targets),
                  *(r for targets in self.epsilon.values() for r in targets)]
        bad = [q for q in states if not 0 <= q < self.n_states]
        if bad:
            raise AutomatonError(f"the NFA has {self.n_states} states", state=bad[0])

    # -- running ------------------------------------------------------------------------------

    def epsilon_closure(self, states: Iterable[int]) -> frozenset[int]:
        """The states reachable from ``states`` by epsilon moves alone (``states`` included)."""
        seen = set(states)
        stack = list(seen)
        while stack:
            for r in self.epsilon.get(stack.pop(), ()):
                if r not in seen:
                    seen.add(r)
                    stack.append(r)
        return frozenset(seen)

    def step(self, states: Iterable[int], symbol: str) -> frozenset[int]:
        """The epsilon closure of the states reached from ``states`` by reading ``symbol``."""
        return self.epsilon_closure(r for q in states for r in self.transitions.get((q, symbol), ()))

    def run(self, word: Sequence[str]) -> frozenset[int]:
        """The set of states reachable from the start states by reading ``word``."""
        symbols = set(self.alphabet)
        current = self.epsilon_closure(self.start)
        for i, a in enumerate(word):
            if a not in symbols:
                raise UnknownSymbol(a, i, self.alphabet)
            current = self.step(current, a)
        return current

    def accepts(self, word: Sequence[str]) -> bool:
        return not self.run(word).isdisjoint(self.accepting)

    # -- equality -----------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        """Structural equality (same numbering), not language equality."""
        return (isinstance(other, NFA) and self.alphabet == other.alphabet and self.n_states == other.n_states
                and self.start == other.start and self.accepting == other.accepting
                and dict(self.transitions) == dict(other.transitions) and dict(self.epsilon) == dict(other.epsilon))

    def __hash__(self) -> int:
        return hash((self.alphabet, self.n_states, self.start, self.accepting,
                     frozenset(self.transitions.items()), frozenset(self.epsilon.items())))

    def __repr__(self) -> str:
        return (f"NFA(states={self.n_states}, alphabet={self.alphabet!r}, start={sorted(self.start)}, "
                f"accepting={len(self.accepting)})")


# -- Thompson's combinators ---------------------------------------------------------------------


def empty_language(alphabet: Sequence[str]) -> NFA:
    """An NFA accepting no word."""
    return NFA(tuple(alphabet), 1, frozenset({0}), frozenset(), {})


def empty_string(alphabet: Sequence[str]) -> NFA:
    """An NFA accepting only the empty word."""
    return NFA(tuple(alphabet), 1, frozenset({0}), frozenset({0}), {})


def symbol(alphabet: Sequence[str], *members: str) -> NFA:
    """An NFA accepting the one-symbol words ``members`` (none: the empty language)."""
    return NFA(tuple(alphabet), 2, frozenset({0}), frozenset({1}), {(0, a): {1} for a in members})


def _disjoint(parts: Sequence[NFA]) -> tuple[list[int], dict[tuple[int, str], frozenset[int]], dict[int, frozenset[int]]]:
    """Offsets of each part's states in the disjoint union of ``parts``, with its moves."""
    if not parts:
        raise AutomatonError("combining no NFAs")
    if any(part.alphabet != parts[0].alphabet for part in parts):
        raise AutomatonError("combining NFAs over different alphabets")
    offsets = list(accumulate((part.n_states for part in parts), initial=0))
    transitions: dict[tuple[int, str], frozenset[int]] = {}
    epsilon: dict[int, frozenset[int]] = {}
    for part, offset in zip(parts, offsets):
        transitions.update(((q + offset, a), frozenset(r + offset for r in targets))
                           for (q, a), targets in part.transitions.items())
        epsilon.update((q + offset, frozenset(r + offset for r in targets)) for q, targets in part.epsilon.items())
    return offsets, transitions, epsilon


def _link(epsilon: dict[int, frozenset[int]], sources: Iterable[int], targets: frozenset[int]) -> None:
    """Add epsilon moves from every state of ``sources`` to every state of ``targets``."""
    for q in sources:
        epsilon[q] = epsilon.get(q, frozenset()) | targets


def concat(*parts: NFA) -> NFA:
    """An NFA for the concatenation of the parts' languages, in order."""
    offsets, transitions, epsilon = _disjoint(parts)
    for (left, offset), (right, next_offset) in zip(zip(parts, offsets), zip(parts[1:], offsets[1:])):
        _link(epsilon, (q + offset for q in left.accepting), frozenset(q + next_offset for q in right.start))
    return NFA(parts[0].alphabet, offsets[-1], frozenset(q + offsets[0] for q in parts[0].start),
               frozenset(q + offsets[-2] for q in parts[-1].accepting), transitions, epsilon)


def union(*parts: NFA) -> NFA:
    """An NFA for the union of the parts' languages: the disjoint union, with all their start states."""
    offsets, transitions, epsilon = _disjoint(parts)
    start = frozenset(q + offset for part, offset in zip(parts, offsets) for q in part.start)
    accepting = frozenset(q + offset for part, offset in zip(parts, offsets) for q in part.accepting)
    return NFA(parts[0].alphabet, offsets[-1], start, accepting, transitions, epsilon)


def plus(nfa: NFA) -> NFA:
    """An NFA for one or more repetitions: epsilon moves from the accepting states back to the start."""
    epsilon = dict(nfa.epsilon)
    _link(epsilon, nfa.accepting, nfa.start)
    return NFA(nfa.alphabet, nfa.n_states, nfa.start, nfa.accepting, nfa.transitions, epsilon)


def star(nfa: NFA) -> NFA:
    """An NFA for zero or more repetitions: a new accepting start state that enters ``nfa`` and to
    which its accepting states return (a fresh state, so no word is accepted by going around once)."""
    hub = nfa.n_states
    epsilon = dict(nfa.epsilon)
    _link(epsilon, nfa.accepting, frozenset({hub}))
    epsilon[hub] = nfa.start
    return NFA(nfa.alphabet, hub + 1, frozenset({hub}), frozenset({hub}), nfa.transitions, epsilon)


def optional(nfa: NFA) -> NFA:
    """An NFA for zero or one occurrence."""
    return union(nfa, empty_string(nfa.alphabet))


# -- the subset construction ---------------------------------------------------------------------


def _closures(nfa: NFA) -> list[int]:
    """The epsilon closure of every state, as a bitmask."""
    closures = []
    for q in range(nfa.n_states):
        mask = 1 << q
        stack = [q]
        while stack:
            for r in nfa.epsilon.get(stack.pop(), ()):
                if not mask >> r & 1:
                    mask |= 1 << r
                    stack.append(r)
        closures.append(mask)
    return closures


def _moves(nfa: NFA, closures: list[int]) -> list[list[tuple[int, int]]]:
    """For every state, its ``(symbol index, closure of the successors)`` pairs."""
    index = {a: j for j, a in enumerate(nfa.alphabet)}
    moves: list[list[tuple[int, int]]] = [[] for _ in range(nfa.n_states)]
    for (q, a), targets in nfa.transitions.items():
        mask = 0
        for r in targets:
            mask |= closures[r]
        moves[q].append((index[a], mask))
    return moves


def _members(mask: int) -> list[int]:
    """The states in a bitmask, in increasing order."""
    states = []
    while mask:
        low = mask & -mask
        states.append(low.bit_length() - 1)
        mask ^= low
    return states


def determinize(nfa: NFA, max_states: int | None = None) -> DFA:
    """The subset construction: a total DFA whose states are the reachable epsilon-closed sets of
    NFA states, numbered breadth-first from the closure of the start states. The empty set is a
    state (a rejecting sink) only when it is reachable; state names list each set's members. More
    than ``max_states`` sets (None: no limit) is an ``InputLimitError``, raised before they are built."""
    closures = _closures(nfa)
    moves = _moves(nfa, closures)
    accepting_mask = sum(1 << q for q in nfa.accepting)
    start = 0
    for q in nfa.start:
        start |= closures[q]
    index = {start: 0}
    subsets = [start]
    rows = []
    queue = deque([start])
    while queue:
        row = [0] * len(nfa.alphabet)
        for q in _members(queue.popleft()):
            for a, mask in moves[q]:
                row[a] |= mask
        for a, subset in enumerate(row):
            if subset not in index:
                if max_states is not None and len(subsets) >= max_states:
                    raise InputLimitError(f"determinising the NFA makes more than {max_states} states")
                index[subset] = len(subsets)
                subsets.append(subset)
                queue.append(subset)
            row[a] = index[subset]
        rows.append(row)
    delta = np.array(rows, dtype=np.int32).reshape(len(subsets), len(nfa.alphabet))
    accepting = frozenset(i for i, subset in enumerate(subsets) if subset & accepting_mask)
    names = tuple("{" + ",".join(map(str, _members(subset))) + "}" for subset in subsets)
    return DFA(nfa.alphabet, delta, 0, accepting, names)
