"""Deterministic finite automata with an explicit alphabet and a total, read-only ``int32`` transition table
(docs/automata.md#conventions-and-methods)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from automata.errors import AutomatonError, MissingTransition, UnknownSymbol


def first_repeat(items: Iterable[object]) -> object | None:
    """The first item of ``items`` equal to an earlier one, or None."""
    seen: set[object] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None


def _frozen(table: np.ndarray) -> np.ndarray:
    table = np.array(table, dtype=np.int32, copy=True)
    table.setflags(write=False)
    return table


@dataclass(frozen=True, eq=False)
class DFA:
    """A complete DFA. ``state_names`` are for display and files only; the algebra uses indices."""

    alphabet: tuple[str, ...]
    delta: np.ndarray
    start: int
    accepting: frozenset[int]
    state_names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "alphabet", tuple(self.alphabet))
        object.__setattr__(self, "delta", _frozen(self.delta))
        object.__setattr__(self, "accepting", frozenset(int(q) for q in self.accepting))
        n, k = self.delta.shape if self.delta.ndim == 2 else (-1, -1)
        if self.delta.ndim != 2 or k != len(self.alphabet):
            raise AutomatonError(f"transition table has shape {self.delta.shape}, expected (n_states, {len(self.alphabet)})")
        if len(set(self.alphabet)) != len(self.alphabet):
            raise AutomatonError("alphabet has repeated symbols", symbol=first_repeat(self.alphabet))
        if n == 0:
            raise AutomatonError("a DFA needs at least one state")
        if not 0 <= self.start < n:
            raise AutomatonError(f"start state {self.start} is not a state", state=self.start)
        bad = [q for q in self.accepting if not 0 <= q < n]
        if bad:
            raise AutomatonError("accepting state is not a state", state=bad[0])
        if self.delta.size and (self.delta.min() < 0 or self.delta.max() >= n):
            q, a = map(int, np.argwhere((self.delta < 0) | (self.delta >= n))[0])
            raise AutomatonError(f"transition to {int(self.delta[q, a])}, which is not a state",
                                 state=self.name(q), symbol=self.alphabet[a])
        names = tuple(self.state_names) or tuple(str(q) for q in range(n))
        if len(names) != n:
            raise AutomatonError(f"{len(names)} state names for {n} states")
        object.__setattr__(self, "state_names", names)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_transitions(
        cls,
        alphabet: Sequence[str],
        transitions: Mapping[tuple[object, str], object],
        start: object,
        accepting: Iterable[object],
        states: Sequence[object] | None = None,
        complete_with_sink: bool = False,
    ) -> DFA:
        """Build a DFA from named states. A missing transition is an error naming the state and
        symbol, unless ``complete_with_sink`` asks for an explicit rejecting sink state."""
        alphabet = tuple(alphabet)
        order: list[object] = list(states) if states is not None else []
        seen = set(order)
        if len(seen) != len(order):
            raise AutomatonError("a state is listed twice", state=first_repeat(order))
        for q in [start, *(q for q, _ in transitions), *transitions.values(), *accepting]:
            if q not in seen:
                seen.add(q)
                order.append(q)
        index = {q: i for i, q in enumerate(order)}
        symbols = {a: j for j, a in enumerate(alphabet)}
        for (q, a) in transitions:
            if a not in symbols:
                raise AutomatonError("transition on a symbol outside the alphabet", state=q, symbol=a)
        sink = len(order)
        missing = next(((q, a) for q in order for a in alphabet if (q, a) not in transitions), None)
        if missing and not complete_with_sink:
            raise MissingTransition("missing transition (the transition function must be total)",
                                    state=missing[0], symbol=missing[1])
        n = len(order) + (1 if missing else 0)
        table = np.full((n, len(alphabet)), sink, dtype=np.int32)
        for (q, a), r in transitions.items():
            table[index[q], symbols[a]] = index[r]
        names = [str(q) for q in order] + (["sink"] if missing else [])
        return cls(alphabet, table, index[start], frozenset(index[q] for q in accepting), tuple(names))

    # -- basic queries ------------------------------------------------------------------------

    @property
    def n_states(self) -> int:
        return int(self.delta.shape[0])

    @property
    def n_symbols(self) -> int:
        return len(self.alphabet)

    def name(self, state: int) -> str:
        return self.state_names[state] if self.state_names else str(state)

    def symbol_index(self, symbol: str, position: int = 0) -> int:
        try:
            return self._symbol_table()[symbol]
        except KeyError:
            raise UnknownSymbol(symbol, position, self.alphabet) from None

    def _symbol_table(self) -> dict[str, int]:
        table = self.__dict__.get("_symbols")
        if table is None:
            table = {a: j for j, a in enumerate(self.alphabet)}
            object.__setattr__(self, "_symbols", table)
        return table

    def encode(self, word: Sequence[str]) -> np.ndarray:
        """Symbol indices of a word (a sequence of symbols, or a string of one-character symbols)."""
        return np.fromiter((self.symbol_index(a, i) for i, a in enumerate(word)), dtype=np.int64, count=len(word))

    def decode(self, indices: Iterable[int]) -> tuple[str, ...]:
        return tuple(self.alphabet[int(j)] for j in indices)

    def accepting_mask(self) -> np.ndarray:
        mask = np.zeros(self.n_states, dtype=bool)
        mask[list(self.accepting)] = True
        return mask

    # -- running ------------------------------------------------------------------------------

    def trace(self, word: Sequence[str] | np.ndarray, state: int | None = None) -> np.ndarray:
        """States after each prefix of ``word`` (length ``len(word)``, the start state excluded)."""
        symbols = word if isinstance(word, np.ndarray) else self.encode(word)
        out = np.empty(len(symbols), dtype=np.int64)
        q = self.start if state is None else state
        delta = self.delta
        for t, a in enumerate(symbols.tolist()):
            q = int(delta[q, a])
            out[t] = q
        return out

    def trace_batch(self, symbols: np.ndarray) -> np.ndarray:
        """States after each prefix for a batch of index arrays of shape (B, T)."""
        symbols = np.asarray(symbols, dtype=np.int64)
        out = np.empty(symbols.shape, dtype=np.int64)
        q = np.full(symbols.shape[0], self.start, dtype=np.int64)
        for t in range(symbols.shape[1]):
            q = self.delta[q, symbols[:, t]].astype(np.int64)
            out[:, t] = q
        return out

    def run(self, word: Sequence[str] | np.ndarray) -> int:
        """The state reached from the start state after reading ``word``."""
        symbols = word if isinstance(word, np.ndarray) else self.encode(word)
        q = self.start
        for a in symbols.tolist():
            q = int(self.delta[q, a])
        return q

    def accepts(self, word: Sequence[str] | np.ndarray) -> bool:
        return self.run(word) in self.accepting

    # -- structure ----------------------------------------------------------------------------

    def reachable(self) -> np.ndarray:
        """Reachable states in breadth-first order from the start state."""
        seen = np.zeros(self.n_states, dtype=bool)
        seen[self.start] = True
        order = [self.start]
        frontier = np.array([self.start])
        while frontier.size:
            succ = np.unique(self.delta[frontier].ravel())
            succ = succ[~seen[succ]]
            seen[succ] = True
            order.extend(succ.tolist())
            frontier = succ
        return np.array(order, dtype=np.int64)

    def restrict(self, states: Sequence[int]) -> DFA:
        """The sub-automaton on ``states`` (which must be closed under transitions), renumbered in order."""
        states = np.asarray(states, dtype=np.int64)
        renumber = np.full(self.n_states, -1, dtype=np.int64)
        renumber[states] = np.arange(len(states))
        table = renumber[self.delta[states]]
        if (table < 0).any():
            raise AutomatonError("restriction is not closed under transitions")
        return DFA(self.alphabet, table, int(renumber[self.start]),
                   frozenset(int(renumber[q]) for q in self.accepting if renumber[q] >= 0),
                   tuple(self.state_names[q] for q in states))

    def trim(self) -> DFA:
        """The DFA restricted to its reachable states, numbered breadth-first from the start."""
        return self.restrict(self.reachable())

    def with_accepting(self, accepting: Iterable[int]) -> DFA:
        return DFA(self.alphabet, self.delta, self.start, frozenset(accepting), self.state_names)

    def complement(self) -> DFA:
        return self.with_accepting(set(range(self.n_states)) - self.accepting)

    def __eq__(self, other: object) -> bool:
        """Structural equality (same numbering); use ``automata.equivalence`` for language equality."""
        return (isinstance(other, DFA) and self.alphabet == other.alphabet and self.start == other.start
                and self.accepting == other.accepting and np.array_equal(self.delta, other.delta))

    def __hash__(self) -> int:
        return hash((self.alphabet, self.start, self.accepting, self.delta.tobytes()))

    def __repr__(self) -> str:
        return (f"DFA(states={self.n_states}, alphabet={self.alphabet!r}, start={self.start}, "
                f"accepting={len(self.accepting)})")
