"""Permutations as tuples acting on the right (as in GAP): products, inverses, cycles, signs and orders; the groups are
``automata.finite_groups`` (docs/automata.md#conventions-and-methods)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Permutation = tuple[int, ...]


def identity(degree: int) -> Permutation:
    return tuple(range(degree))


def compose(p: Permutation, q: Permutation) -> Permutation:
    """The product ``p * q``: apply ``p``, then ``q`` (right action, as in GAP)."""
    if len(p) != len(q):
        raise ValueError(f"cannot compose permutations of degrees {len(p)} and {len(q)}")
    return tuple(q[x] for x in p)


def inverse(p: Permutation) -> Permutation:
    out = [0] * len(p)
    for x, y in enumerate(p):
        out[y] = x
    return tuple(out)


def from_cycles(degree: int, *cycles: Sequence[int]) -> Permutation:
    """The permutation with the given disjoint cycles on points 0..degree-1; ``(0, 1, 2)`` maps 0 to 1."""
    image = list(range(degree))
    moved: set[int] = set()
    for cycle in cycles:
        if moved & set(cycle) or len(set(cycle)) != len(cycle) or not all(0 <= x < degree for x in cycle):
            raise ValueError(f"cycles {cycles} are not disjoint cycles on 0..{degree - 1}")
        moved |= set(cycle)
        for i, x in enumerate(cycle):
            image[x] = cycle[(i + 1) % len(cycle)]
    return tuple(image)


def cycles(p: Permutation) -> list[tuple[int, ...]]:
    """The non-trivial cycles of ``p``, each starting at its smallest point, ordered by that point."""
    seen = [False] * len(p)
    out = []
    for x in range(len(p)):
        if seen[x] or p[x] == x:
            continue
        cycle = [x]
        seen[x] = True
        y = p[x]
        while y != x:
            cycle.append(y)
            seen[y] = True
            y = p[y]
        out.append(tuple(cycle))
    return out


def cycle_notation(p: Permutation) -> str:
    """GAP-style cycle notation on the points 1..n, e.g. ``(1,2,3)(4,5)``; the identity is ``e``."""
    parts = ["(" + ",".join(str(x + 1) for x in cycle) + ")" for cycle in cycles(p)]
    return "".join(parts) or "e"


def sign(p: Permutation) -> int:
    """+1 for even permutations, -1 for odd ones (a k-cycle is a product of k-1 transpositions)."""
    return -1 if sum(len(c) - 1 for c in cycles(p)) % 2 else 1


def element_order(p: Permutation) -> int:
    """The least k >= 1 with p^k the identity."""
    return int(np.lcm.reduce([len(c) for c in cycles(p)] or [1]))
