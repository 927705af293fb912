"""The transition monoid of a DFA: the transformations of its state set that words induce.

For a minimal DFA this is the syntactic monoid of its language (e.g. Pin, "Mathematical
Foundations of Automata Theory", Ch. IV). Elements act on states from the right: row ``i``
of ``transformations`` maps state ``q`` to ``q . m_i``, and the product ``m_i m_j`` applies ``m_i``
first, so reading a word left to right multiplies its letters left to right.

The elements are found breadth-first from the identity (the empty word) by right multiplication
with letters, processing each level in order of discovery and letters in alphabet order; element
``i`` is therefore first reached by its shortlex-least word, which is kept as a parent pointer.
Element 0 is always the identity.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from automata.dfa import DFA
from automata.errors import LsrlInputError

DEFAULT_MAX_ELEMENTS = 200_000


class MonoidTooLarge(LsrlInputError):
    """The transition monoid has more elements than the caller allowed."""

    def __init__(self, n_states: int, max_elements: int):
        super().__init__(f"the transition monoid of this {n_states}-state DFA has more than {max_elements} "
                         f"elements; pass a larger max_elements to compute it")
        self.n_states = n_states
        self.max_elements = max_elements


def _state_dtype(n_states: int) -> np.dtype:
    return np.dtype(np.uint8 if n_states <= 256 else np.uint16 if n_states <= 65536 else np.int32)


def _row_keys(rows: np.ndarray) -> list[bytes]:
    """Each row of a C-contiguous 2-D array as a bytes key (rows are transformations)."""
    rows = np.ascontiguousarray(rows)
    return rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).ravel().tolist()


@dataclass(frozen=True, eq=False)
class TransitionMonoid:
    """The transition monoid of a DFA with its right Cayley graph.

    ``transformations[i]`` is element ``i`` as a map on states; ``right[i, a]`` is the index of
    ``m_i a``; ``parent[i]`` and ``last_letter[i]`` spell element ``i``'s shortlex-least word
    (``parent[0] == -1`` for the identity)."""

    alphabet: tuple[str, ...]
    transformations: np.ndarray
    right: np.ndarray
    parent: np.ndarray
    last_letter: np.ndarray
    _index: dict[bytes, int] = field(repr=False)

    @property
    def size(self) -> int:
        return int(self.transformations.shape[0])

    @property
    def n_states(self) -> int:
        return int(self.transformations.shape[1])

    @property
    def n_symbols(self) -> int:
        return len(self.alphabet)

    @property
    def identity(self) -> int:
        return 0

    def __len__(self) -> int:
        return self.size

    def index_of(self, transformation: np.ndarray) -> int:
        """The index of a transformation (a map on states as an integer array); KeyError if it is
        not an element of the monoid."""
        row = np.asarray(transformation).astype(self.transformations.dtype).reshape(1, -1)
        return self._index[_row_keys(row)[0]]

    def indices_of(self, rows: np.ndarray) -> np.ndarray:
        """Indices of many transformations at once (rows of a 2-D array)."""
        keys = _row_keys(np.asarray(rows).astype(self.transformations.dtype))
        return np.fromiter((self._index[k] for k in keys), dtype=np.int64, count=len(keys))

    def multiply(self, i: int, j: int) -> int:
        """The index of ``m_i m_j`` (apply ``m_i``, then ``m_j``)."""
        return self.index_of(self.transformations[j][self.transformations[i]])

    def element_of(self, word: tuple[int, ...] | list[int] | np.ndarray) -> int:
        """The element a word (symbol indices) induces, by walking the right Cayley graph."""
        m = 0
        for a in np.asarray(word, dtype=np.int64).tolist():
            m = int(self.right[m, a])
        return m

    def word_indices(self, i: int) -> tuple[int, ...]:
        """The shortlex-least word (symbol indices) inducing element ``i``."""
        letters = []
        while i != 0:
            letters.append(int(self.last_letter[i]))
            i = int(self.parent[i])
        return tuple(reversed(letters))

    def word(self, i: int) -> tuple[str, ...]:
        """The shortlex-least word (symbols) inducing element ``i``."""
        return tuple(self.alphabet[a] for a in self.word_indices(i))

    @cached_property
    def word_lengths(self) -> np.ndarray:
        """Length of each element's shortest word (BFS depth in the right Cayley graph)."""
        lengths = np.zeros(self.size, dtype=np.int64)
        for i in range(1, self.size):  # parents precede children
            lengths[i] = lengths[self.parent[i]] + 1
        return lengths

    @cached_property
    def left(self) -> np.ndarray:
        """The left Cayley graph: ``left[i, a]`` is the index of ``a m_i``."""
        delta = self.letter_transformations
        out = np.empty((self.size, self.n_symbols), dtype=np.int64)
        for a in range(self.n_symbols):
            out[:, a] = self.indices_of(self.transformations[:, delta[a]])
        out.setflags(write=False)
        return out

    @cached_property
    def letter_transformations(self) -> np.ndarray:
        """Each letter's transformation, shape (n_symbols, n_states)."""
        return self.transformations[self.right[0]]

    @cached_property
    def idempotents(self) -> np.ndarray:
        """Boolean mask of the idempotents (``m m == m``)."""
        t = self.transformations
        return (np.take_along_axis(t, t.astype(np.int64), axis=1) == t).all(axis=1)


def transition_monoid(dfa: DFA, max_elements: int = DEFAULT_MAX_ELEMENTS) -> TransitionMonoid:
    """The transition monoid of ``dfa`` (of the DFA as given: minimise first for the syntactic
    monoid). Raises ``MonoidTooLarge`` once more than ``max_elements`` elements are found."""
    n, k = dfa.n_states, dfa.n_symbols
    dtype = _state_dtype(n)
    delta = np.asarray(dfa.delta, dtype=dtype)
    identity = np.arange(n, dtype=dtype).reshape(1, n)
    index: dict[bytes, int] = {_row_keys(identity)[0]: 0}
    levels, rights, parents, letters = [identity], [], [np.array([-1])], [np.array([-1])]
    frontier, first = identity, 0
    while frontier.shape[0]:
        # candidates[f * k + a] = frontier[f] followed by letter a, in shortlex order.
        candidates = np.ascontiguousarray(delta[frontier].transpose(0, 2, 1).reshape(-1, n))
        targets = np.empty(len(candidates), dtype=np.int64)
        fresh = []
        size = len(index)
        for j, key in enumerate(_row_keys(candidates)):
            target = index.get(key)
            if target is None:
                target = index[key] = size
                size += 1
                fresh.append(j)
            targets[j] = target
        if size > max_elements:
            raise MonoidTooLarge(n, max_elements)
        fresh_arr = np.asarray(fresh, dtype=np.int64)
        rights.append(targets.reshape(frontier.shape[0], k))
        parents.append(first + fresh_arr // k if k else fresh_arr)
        letters.append(fresh_arr % k if k else fresh_arr)
        first += frontier.shape[0]
        frontier = candidates[fresh_arr]
        levels.append(frontier)
    transformations = np.concatenate(levels)
    right = np.concatenate(rights)
    arrays = [transformations, right, np.concatenate(parents), np.concatenate(letters)]
    for array in arrays:
        array.setflags(write=False)
    return TransitionMonoid(dfa.alphabet, *arrays, _index=index)
