"""The holonomy decomposition of a DFA into a cascade of permutation-reset automata (Eilenberg 1976, Vol. B;
Egri-Nagy & Nehaniv, arXiv:1508.06345). Definitions and proof: docs/constructions.md#holonomy-decomposition
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from automata.dfa import DFA
from lsrl.constructions.errors import NotImplementedConstruction

HOLONOMY = ("Eilenberg 1976, 'Automata, Languages, and Machines', Vol. B (holonomy decomposition); "
            "Egri-Nagy & Nehaniv, 'Computational holonomy decomposition of transformation semigroups' "
            "(arXiv:1508.06345); Krohn & Rhodes 1965")
MAX_IMAGES = 4096


def _members(mask: int) -> list[int]:
    return [q for q in range(mask.bit_length()) if mask >> q & 1]


@dataclass(frozen=True)
class Action:
    """One level's map on a step: ``image[v]`` for each value v; ``kind`` is "identity", "permutation"
    (a permutation of one representative's tiles) or "constant"."""

    kind: str
    image: tuple[int, ...]


class Holonomy:
    """The holonomy cascade of a complete DFA (all states reachable), computed eagerly."""

    def __init__(self, dfa: DFA):
        self.dfa = dfa
        n = dfa.n_states
        self.full = (1 << n) - 1
        self._images_of_letters = [dfa.delta[:, a].astype(np.int64).tolist() for a in range(dfa.n_symbols)]
        images = self._orbit(self.full)
        images |= {1 << q for q in range(n)}
        if len(images) > MAX_IMAGES:
            raise NotImplementedConstruction("cascade", f"the DFA has more than {MAX_IMAGES} image sets; the "
                                                        f"holonomy decomposition is limited to fewer")
        self.images = sorted(images, key=lambda m: (-bin(m).count("1"), m))
        self.orbits = {a: self._orbit(a) for a in self.images}
        self.height = self._heights()
        self.top = self.height[self.full]
        self.tiles = {a: self._tiles(a) for a in self.images if a & (a - 1)}
        self.rep, self.from_rep, self.to_rep = self._representatives()
        # level d: the representatives of height top - d, each with a slot of values (its tiles)
        self.slots: list[dict[int, int]] = []
        self.sizes: list[int] = []
        for d in range(self.top):
            offsets, size = {}, 0
            for x in sorted(set(self.rep.values()), key=self.images.index):
                if self.height[x] == self.top - d:
                    offsets[x] = size
                    size += len(self.tiles[x])
            self.slots.append(offsets)
            self.sizes.append(size)

    # -- images, subduction, heights, tiles, representatives ------------------------------------

    def image(self, mask: int, a: int) -> int:
        out = 0
        letter = self._images_of_letters[a]
        for q in _members(mask):
            out |= 1 << letter[q]
        return out

    def _orbit(self, mask: int) -> set[int]:
        seen = {mask}
        frontier = [mask]
        while frontier:
            nxt = []
            for m in frontier:
                for a in range(self.dfa.n_symbols):
                    b = self.image(m, a)
                    if b not in seen:
                        seen.add(b)
                        nxt.append(b)
            if len(seen) > MAX_IMAGES:
                raise NotImplementedConstruction("cascade", f"an orbit of image sets exceeds {MAX_IMAGES}")
            frontier = nxt
        return seen

    def subducts(self, b: int, a: int) -> bool:
        """B <= A: B lies inside some image A.w."""
        return any(b & ~c == 0 for c in self.orbits[a])

    def _heights(self) -> dict[int, int]:
        height: dict[int, int] = {}

        def h(a: int) -> int:
            if a in height:
                return height[a]
            if a & (a - 1) == 0:
                height[a] = 0
                return 0
            below = [b for b in self.images if b != a and bin(b).count("1") <= bin(a).count("1")
                     and self.subducts(b, a) and not self.subducts(a, b)]
            height[a] = 1 + max(h(b) for b in below)
            return height[a]

        for a in sorted(self.images, key=lambda m: bin(m).count("1")):
            h(a)
        return height

    def _tiles(self, a: int) -> list[int]:
        proper = [b for b in self.images if b != a and b & ~a == 0]
        return sorted((b for b in proper if not any(c != b and b & ~c == 0 for c in proper)),
                      key=self.images.index)

    def _representatives(self) -> tuple[dict[int, int], dict[int, dict[int, int]], dict[int, dict[int, int]]]:
        """rep[A], from_rep[A] (a point map X -> A induced by a word) and to_rep[A] (its inverse)."""
        rep: dict[int, int] = {}
        from_rep: dict[int, dict[int, int]] = {}
        for x in self.images:
            if x in rep or x & (x - 1) == 0:
                continue
            points = _members(x)
            maps = {x: tuple(points)}
            queue = deque([x])
            while queue:
                m = queue.popleft()
                for a in range(self.dfa.n_symbols):
                    b = self.image(m, a)
                    if b not in maps:
                        letter = self._images_of_letters[a]
                        maps[b] = tuple(letter[p] for p in maps[m])
                        queue.append(b)
            for a, images in maps.items():
                if a not in rep and bin(a).count("1") == len(points) and x in self.orbits[a]:
                    rep[a] = x
                    from_rep[a] = dict(zip(points, images))
        to_rep = {a: {v: k for k, v in f.items()} for a, f in from_rep.items()}
        return rep, from_rep, to_rep

    @staticmethod
    def _apply(points: dict[int, int], mask: int) -> int:
        out = 0
        for q in _members(mask):
            out |= 1 << points[q]
        return out

    # -- coordinates ---------------------------------------------------------------------------

    def _level_of(self, mask: int) -> int:
        return self.top - self.height[mask]

    def _value(self, a: int, tile: int) -> int:
        """The level value of the tile ``tile`` of the image a (via a's representative)."""
        x = self.rep[a]
        return self.slots[self._level_of(a)][x] + self.tiles[x].index(self._apply(self.to_rep[a], tile))

    def _real_tile(self, a: int, value: int) -> int:
        x = self.rep[a]
        return self._apply(self.from_rep[a], self.tiles[x][value - self.slots[self._level_of(a)][x]])

    def encode(self, q: int) -> tuple[int, ...]:
        """Coordinates of state q along the chain of first tiles containing it (skipped levels: 0)."""
        coords = [0] * self.top
        a = self.full
        while a & (a - 1):
            x = self.rep[a]
            tile = next(t for t in (self._apply(self.from_rep[a], t) for t in self.tiles[x]) if t >> q & 1)
            coords[self._level_of(a)] = self._value(a, tile)
            a = tile
        return tuple(coords)

    def decode(self, coords: tuple[int, ...]) -> int:
        a = self.full
        while a & (a - 1):
            a = self._real_tile(a, coords[self._level_of(a)])
        return a.bit_length() - 1

    def step(self, coords: tuple[int, ...], letter: int,
             canonical: bool = False) -> tuple[tuple[int, ...], tuple[Action, ...]]:
        """The new coordinates after ``letter`` and each level's action
        (docs/constructions.md#holonomy-decomposition). ``canonical``: a level the old chain passes and the new
        one skips is reset to 0, so skipped levels hold 0 (as ``encode`` leaves them) instead of stale values
        that multiply the reachable configurations (1,625 instead of 36 for a 7-state star-free DFA)."""
        old, new = self.full, self.full
        out, actions = list(coords), []
        for d in range(self.top):
            size = self.sizes[d]
            action = Action("identity", tuple(range(size)))
            on_old = bool(old & (old - 1)) and self._level_of(old) == d
            if canonical and on_old and not (new & (new - 1) and self._level_of(new) == d):
                action = Action("constant", (0,) * size)
                out[d] = 0
            elif new & (new - 1) and self._level_of(new) == d:
                x = self.rep[new]
                moved = self.image(old, letter)
                offset = self.slots[d][x]
                tiles = self.tiles[x]
                if moved == new:
                    image = list(range(size))
                    for i, t in enumerate(tiles):
                        real = self.image(self._apply(self.from_rep[old], t), letter)
                        image[offset + i] = offset + tiles.index(self._apply(self.to_rep[new], real))
                    action = Action("permutation", tuple(image))
                else:
                    inside = self._apply(self.to_rep[new], moved)
                    value = offset + next(i for i, t in enumerate(tiles) if inside & ~t == 0)
                    action = Action("constant", (value,) * size)
                out[d] = action.image[coords[d]]
                new = self._real_tile(new, out[d])
            if on_old:
                old = self._real_tile(old, coords[d])
            actions.append(action)
        return tuple(out), tuple(actions)

    def reachable(self, canonical: bool = False, limit: int | None = None) -> list[tuple[int, ...]] | None:
        """Coordinate tuples reachable from the start state's, in breadth-first order (``step``'s
        ``canonical``); None once more than ``limit`` are found."""
        start = self.encode(self.dfa.start)
        seen = {start: None}
        queue = deque([start])
        while queue:
            c = queue.popleft()
            for a in range(self.dfa.n_symbols):
                nxt = self.step(c, a, canonical)[0]
                if nxt not in seen:
                    if limit is not None and len(seen) >= limit:
                        return None
                    seen[nxt] = None
                    queue.append(nxt)
        return list(seen)

    def check(self) -> None:
        """AssertionError unless every reachable step decodes to the DFA's transition and every level
        action is the identity, a permutation or a constant."""
        for c in self.reachable():
            q = self.decode(c)
            for a in range(self.dfa.n_symbols):
                nxt, actions = self.step(c, a)
                assert self.decode(nxt) == self.dfa.delta[q, a], (c, a)
                for action in actions:
                    assert action.kind == "constant" or len(set(action.image)) == len(action.image)

    def is_aperiodic_cascade(self) -> bool:
        """True when no level ever permutes its values non-trivially (holonomy groups all trivial)."""
        return all(action.kind != "permutation" or action.image == tuple(range(len(action.image)))
                   for c in self.reachable() for a in range(self.dfa.n_symbols) for action in self.step(c, a)[1])
