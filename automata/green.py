"""Green's relations of a transition monoid, its idempotents and its maximal subgroups
(docs/automata.md#conventions-and-methods)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from automata.finite_groups import FiniteGroup
from automata.monoid import TransitionMonoid


def strongly_connected_components(successors: np.ndarray) -> np.ndarray:
    """SCC label of each node of the graph with out-edges ``successors[v, :]`` (iterative Tarjan
    1972, no recursion); labels are numbered in order of each component's least node."""
    n, k = successors.shape
    succ = successors.tolist()
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    label = [-1] * n
    stack: list[int] = []
    counter = 0
    for root in range(n):
        if index[root] != -1:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        path, edge = [root], [0]
        while path:
            v = path[-1]
            i = edge[-1]
            if i < k:
                edge[-1] = i + 1
                w = succ[v][i]
                if index[w] == -1:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    path.append(w)
                    edge.append(0)
                elif on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
                continue
            path.pop()
            edge.pop()
            if path and low[v] < low[path[-1]]:
                low[path[-1]] = low[v]
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    label[w] = v
                    if w == v:
                        break
    return _by_first_member(np.asarray(label, dtype=np.int64))


def _by_first_member(labels: np.ndarray) -> np.ndarray:
    """Renumber class labels 0, 1, ... in order of each class's least member."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.ravel()]


def _join_classes(r_class: np.ndarray, l_class: np.ndarray) -> np.ndarray:
    """D-classes: the connected components of the bipartite graph linking each element's R-class
    to its L-class (D is the join of R and L)."""
    n_r = int(r_class.max()) + 1
    parent = list(range(n_r + int(l_class.max()) + 1))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r, lc in set(zip(r_class.tolist(), l_class.tolist())):
        a, b = find(r), find(n_r + lc)
        if a != b:
            parent[a] = b
    return _by_first_member(np.asarray([find(r) for r in r_class.tolist()], dtype=np.int64))


@dataclass(frozen=True, eq=False)
class MaximalSubgroup:
    """The H-class of an idempotent e, as monoid elements and as a permutation group. Each g in
    it satisfies g = eg = ge, so g maps im(e) onto itself and is determined by what it does there:
    restriction to im(e) is an injective homomorphism into Sym(im(e))."""

    idempotent: int
    elements: np.ndarray
    image: tuple[int, ...]
    group: FiniteGroup
    d_class: int
    d_class_size: int

    @property
    def order(self) -> int:
        return len(self.elements)


@dataclass(frozen=True, eq=False)
class GreenStructure:
    """Green's R, L, H and D classes of every element (labels numbered by least member)."""

    monoid: TransitionMonoid
    r_class: np.ndarray
    l_class: np.ndarray
    h_class: np.ndarray
    d_class: np.ndarray

    @property
    def idempotents(self) -> np.ndarray:
        return self.monoid.idempotents

    @property
    def is_aperiodic(self) -> bool:
        """True iff every H-class is a singleton (equivalently: no non-trivial subgroup)."""
        return int(np.bincount(self.h_class).max()) == 1

    def maximal_subgroup(self, idempotent: int) -> MaximalSubgroup:
        """The H-class of ``idempotent``, with the group it induces on the idempotent's image."""
        if not self.idempotents[idempotent]:
            raise ValueError(f"element {idempotent} is not an idempotent")
        members = np.flatnonzero(self.h_class == self.h_class[idempotent])
        elements = np.concatenate([[idempotent], members[members != idempotent]])  # identity first
        t = self.monoid.transformations
        image = tuple(int(q) for q in np.unique(t[idempotent]))
        position = np.full(self.monoid.n_states, -1, dtype=np.int64)
        position[list(image)] = np.arange(len(image))
        perms = position[t[elements][:, list(image)]]
        d = int(self.d_class[idempotent])
        return MaximalSubgroup(idempotent, elements, image, FiniteGroup.from_elements(perms), d,
                               int(np.count_nonzero(self.d_class == d)))

    def maximal_subgroups(self) -> tuple[MaximalSubgroup, ...]:
        """One maximal subgroup per regular D-class (those of one D-class are isomorphic), taking
        the idempotent with the shortlex-least word; ordered by D-class label."""
        firsts = {}
        for e in np.flatnonzero(self.idempotents).tolist():
            firsts.setdefault(int(self.d_class[e]), e)
        return tuple(self.maximal_subgroup(firsts[d]) for d in sorted(firsts))


def green_structure(monoid: TransitionMonoid) -> GreenStructure:
    """Green's relations of ``monoid`` from the SCCs of its right and left Cayley graphs; in a
    group every element is a unit, so all of them form one class of each kind."""
    if monoid.is_group:
        one = np.zeros(monoid.size, dtype=np.int64)
        return GreenStructure(monoid, one, one, one, one)
    r_class = strongly_connected_components(monoid.right)
    l_class = strongly_connected_components(monoid.left)
    pairs = r_class * (int(l_class.max()) + 1) + l_class
    h_class = _by_first_member(np.unique(pairs, return_inverse=True)[1].ravel())
    return GreenStructure(monoid, r_class, l_class, h_class, _join_classes(r_class, l_class))
