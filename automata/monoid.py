"""The transition monoid of a DFA (its syntactic monoid when minimal): the transformations of its states that words
induce, each with its shortlex-least word (docs/automata.md#conventions-and-methods)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from automata import limits
from automata.dfa import DFA

_BLOCK_ENTRIES = 1 << 24


class MonoidTooLarge(limits.LimitExceeded):
    """The transition monoid has more elements than the caller allowed."""

    def __init__(self, n_states: int, max_elements: int):
        super().__init__("elements", f"the transition monoid of this {n_states}-state DFA has too many elements",
                         max_elements)
        self.n_states = n_states
        self.max_elements = max_elements


def _state_dtype(n_states: int) -> np.dtype:
    return np.dtype(np.uint8 if n_states <= 256 else np.uint16 if n_states <= 65536 else np.int32)


def _row_keys(rows: np.ndarray) -> list[bytes]:
    """Each row of a 2-D array as a bytes key (rows are transformations)."""
    rows = np.ascontiguousarray(rows)
    return rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).ravel().tolist()


def _base(rows: np.ndarray) -> np.ndarray:
    """Points, chosen greedily, on whose images no two rows agree (a base, as for permutation
    groups): one point for a regular action, every point at worst."""
    classes = np.zeros(len(rows), dtype=np.int64)
    n_classes, base = 1, []
    for q in range(rows.shape[1]):
        if n_classes == len(rows):
            break
        refined = np.unique(classes * rows.shape[1] + rows[:, q], return_inverse=True)[1].ravel()
        if refined.max() + 1 > n_classes:
            classes, n_classes = refined, int(refined.max()) + 1
            base.append(q)
    return np.asarray(base, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class TransformationIndex:
    """Finds rows among distinct transformations (the rows of ``rows``) by their images of a base:
    keys are random 64-bit linear hashes of those images, checked distinct when built, so a product
    known to be one of the rows is found from ``len(base)`` values instead of a whole row."""

    rows: np.ndarray
    base: np.ndarray
    weights: np.ndarray
    sorted_keys: np.ndarray
    sorter: np.ndarray

    @classmethod
    def build(cls, rows: np.ndarray) -> TransformationIndex:
        base = _base(rows)
        images = rows[:, base].astype(np.uint64)
        for seed in range(8):  # a collision among m keys has probability about m^2 / 2^65
            weights = np.random.default_rng(seed).integers(1, 2**63, size=len(base), dtype=np.uint64)
            keys = images @ weights
            sorter = np.argsort(keys, kind="stable")
            if not (np.diff(keys[sorter]) == 0).any():
                return cls(rows, base, weights, keys[sorter], sorter)
        raise AssertionError("repeated 64-bit hash collisions: the rows are not distinct")

    def find_images(self, images: np.ndarray) -> np.ndarray:
        """Indices of the rows with the given base images (one row of images each), which the
        caller guarantees are present (e.g. products in a monoid); unchecked."""
        keys = np.asarray(images).astype(np.uint64) @ self.weights
        slot = np.minimum(np.searchsorted(self.sorted_keys, keys), len(self.sorter) - 1)
        return self.sorter[slot]

    def find(self, rows: np.ndarray) -> np.ndarray:
        """Indices of whole rows; KeyError carrying the first row that is not present."""
        rows = np.asarray(rows).reshape(-1, self.rows.shape[1])
        found = self.find_images(rows[:, self.base])
        missing = (self.rows[found] != rows).any(axis=1)
        if missing.any():
            raise KeyError(rows[int(np.flatnonzero(missing)[0])].tolist())
        return found


@dataclass(frozen=True, eq=False)
class TransitionMonoid:
    """The transition monoid of a DFA with its right Cayley graph.

    ``transformations[i]`` is element ``i`` as a map on states; ``right[i, a]`` is the index of
    ``m_i a``; ``parent[i]`` and ``last_letter[i]`` spell element ``i``'s shortlex-least word
    (``parent[0] == -1`` for the identity); ``is_group`` is True when every letter permutes the
    states, so that the monoid is the group they generate."""

    alphabet: tuple[str, ...]
    transformations: np.ndarray
    right: np.ndarray
    parent: np.ndarray
    last_letter: np.ndarray
    is_group: bool
    lookup: TransformationIndex = field(repr=False)

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

    def multiply(self, i: int, j: int) -> int:
        """The index of ``m_i m_j`` (apply ``m_i``, then ``m_j``)."""
        t = self.transformations
        return int(self.lookup.find_images(t[j][t[i][self.lookup.base]].reshape(1, -1))[0])

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
    def letter_transformations(self) -> np.ndarray:
        """Each letter's transformation, shape (n_symbols, n_states)."""
        return self.transformations[self.right[0]]

    @cached_property
    def left(self) -> np.ndarray:
        """The left Cayley graph: ``left[i, a]`` is the index of ``a m_i``, found from the images
        of the base: (a m)(q) = m(q . a)."""
        base_images = self.letter_transformations[:, self.lookup.base]
        out = np.empty((self.size, self.n_symbols), dtype=np.int64)
        for a in range(self.n_symbols):
            out[:, a] = self.lookup.find_images(self.transformations[:, base_images[a]])
        out.setflags(write=False)
        return out

    @cached_property
    def idempotents(self) -> np.ndarray:
        """Boolean mask of the idempotents (``m m == m``)."""
        t = self.transformations
        return (np.take_along_axis(t, t.astype(np.int64), axis=1) == t).all(axis=1)


def transition_monoid(dfa: DFA, max_elements: int | None = None) -> TransitionMonoid:
    """The transition monoid of ``dfa`` (of the DFA as given: minimise first for the syntactic
    monoid). Raises ``MonoidTooLarge`` once more than ``max_elements`` elements are found."""
    max_elements = limits.value("elements") if max_elements is None else max_elements
    delta = np.asarray(dfa.delta, dtype=_state_dtype(dfa.n_states))
    letters = np.ascontiguousarray(delta.T)
    if (np.sort(letters, axis=1) == np.arange(dfa.n_states)).all():
        rows = _group_elements(letters, max_elements)
        lookup = TransformationIndex.build(rows)
        right = np.empty((len(rows), dfa.n_symbols), dtype=np.int64)
        for a in range(dfa.n_symbols):  # m a is a group element, found from its base images
            right[:, a] = lookup.find_images(letters[a][rows[:, lookup.base]])
        return _in_shortlex_order(dfa.alphabet, rows, right, True)
    rows, right = _monoid_elements(letters, max_elements)
    return _in_shortlex_order(dfa.alphabet, rows, right, False)


def _monoid_elements(letters: np.ndarray, max_elements: int) -> tuple[np.ndarray, np.ndarray]:
    """All elements (breadth-first from the identity) and the right Cayley graph, by closing under
    right multiplication with every letter: O(size x letters x states) time; the frontier is
    expanded in blocks of about ``_BLOCK_ENTRIES`` candidate entries to bound memory."""
    k, n = letters.shape
    identity = np.arange(n, dtype=letters.dtype).reshape(1, n)
    index: dict[bytes, int] = {_row_keys(identity)[0]: 0}
    levels, rights, frontier = [identity], [], identity
    block = max(1, _BLOCK_ENTRIES // max(1, n * k))
    while frontier.shape[0]:
        targets = np.empty((frontier.shape[0], k), dtype=np.int64)
        fresh = []
        for low in range(0, frontier.shape[0], block):
            candidates = [letters[a][frontier[low:low + block]] for a in range(k)]  # row f, then letter a
            keys = [_row_keys(c) for c in candidates]
            for f in range(len(candidates[0]) if k else 0):
                for a in range(k):
                    target = index.get(keys[a][f])
                    if target is None:
                        target = index[keys[a][f]] = len(index)
                        fresh.append(candidates[a][f])
                    targets[low + f, a] = target
                if len(index) > max_elements:
                    raise MonoidTooLarge(n, max_elements)
        rights.append(targets)
        frontier = np.array(fresh, dtype=letters.dtype).reshape(-1, n)
        levels.append(frontier)
    return np.concatenate(levels), np.concatenate(rights)


def _group_elements(letters: np.ndarray, max_elements: int) -> np.ndarray:
    """The elements of the group generated by permutation letters, closing under a greedily chosen
    subset of letters that generates the same group: O(size x generators x states)."""
    n = letters.shape[1]
    identity = np.arange(n, dtype=letters.dtype)
    index: dict[bytes, int] = {identity.tobytes(): 0}
    rows, generators = [identity], []
    for letter in letters:
        if letter.tobytes() in index:
            continue
        generators.append(letter)
        frontier = list(rows)  # the group grows: every element times the new generator, and so on
        while frontier:
            fresh = []
            for row in frontier:
                for g in generators:
                    product = g[row]
                    key = product.tobytes()
                    if key not in index:
                        index[key] = len(rows)
                        rows.append(product)
                        fresh.append(product)
            if len(rows) > max_elements:
                raise MonoidTooLarge(n, max_elements)
            frontier = fresh
    return np.array(rows, dtype=letters.dtype)


def _in_shortlex_order(alphabet: tuple[str, ...], rows: np.ndarray, right: np.ndarray,
                       is_group: bool) -> TransitionMonoid:
    """Renumber the elements in order of their shortlex-least words (breadth-first search of the
    right Cayley graph from the identity, row 0, taking each level's elements in order of discovery
    and letters in alphabet order) and record each one's parent and last letter."""
    size, k = right.shape
    order, parent, letter = [0], [-1], [-1]
    seen = np.zeros(size, dtype=bool)
    seen[0] = True
    frontier = np.zeros(1, dtype=np.int64)
    position = 0
    while frontier.size:
        targets = right[frontier].ravel()  # in (element, letter) order = shortlex order of the words
        fresh, first = np.unique(targets[~seen[targets]], return_index=True)
        where = np.flatnonzero(~seen[targets])[first]
        ranked = np.argsort(where, kind="stable")
        fresh, where = fresh[ranked], where[ranked]
        seen[fresh] = True
        order.extend(fresh.tolist())
        parent.extend((position + where // k).tolist())
        letter.extend((where % k).tolist())
        position += frontier.size
        frontier = fresh
    order_arr = np.asarray(order, dtype=np.int64)
    rank = np.empty(size, dtype=np.int64)
    rank[order_arr] = np.arange(size)
    transformations = np.ascontiguousarray(rows[order_arr])
    arrays = [transformations, rank[right[order_arr]], np.asarray(parent, dtype=np.int64),
              np.asarray(letter, dtype=np.int64)]
    for array in arrays:
        array.setflags(write=False)
    return TransitionMonoid(alphabet, *arrays, is_group, TransformationIndex.build(transformations))
