"""Small faithful permutation actions of a group DFA's transition group, on the right cosets of a large core-free subgroup
(S_5 and A_5 on 5 points instead of their 120 / 60 Cayley states), from which the constructions that carry a
permutation read the DFA state."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from automata.dfa import DFA
from automata.finite_groups import FiniteGroup
from automata.monoid import transition_monoid


@dataclass(frozen=True, eq=False)
class CosetAction:
    """The group of ``group_order`` elements acting on ``n_points`` cosets of a subgroup of ``subgroup_order``:
    ``elements[g]`` is element g's permutation of the points (point p to ``elements[g, p]``), ``letters[a]``
    the letter a's, and ``element_state[g]`` the DFA state that a prefix acting as g reaches from the start."""

    elements: np.ndarray  # (group order, n_points)
    letters: np.ndarray  # (n_symbols, n_points)
    letter_elements: np.ndarray  # (n_symbols,): the element index of each letter
    element_state: np.ndarray  # (group order,)
    subgroup_order: int

    @property
    def n_points(self) -> int:
        return int(self.elements.shape[1])

    @property
    def group_order(self) -> int:
        return int(self.elements.shape[0])

    def description(self) -> str:
        return (f"the group of order {self.group_order} acting on the {self.n_points} cosets of a core-free "
                f"subgroup of order {self.subgroup_order}")

    def state_rows(self) -> tuple[int, ...]:
        """Points, taken in order, whose images under an element determine the DFA state it reaches (a base
        of the action when the DFA is the group's Cayley automaton)."""
        rows: list[int] = []
        for p in range(self.n_points):
            if _determines(self.elements[:, rows], self.element_state):
                break
            rows.append(p)
        return tuple(rows)


def _determines(images: np.ndarray, states: np.ndarray) -> bool:
    """Whether equal rows of ``images`` always have equal ``states``."""
    keys = np.unique(np.column_stack([images, states]), axis=0)
    return len(keys) == len(np.unique(images, axis=0))


def is_group_dfa(dfa: DFA) -> bool:
    """Every letter permutes the states."""
    return all(len(np.unique(dfa.delta[:, a])) == dfa.n_states for a in range(dfa.n_symbols))


def coset_actions(dfa: DFA) -> list[CosetAction]:
    """Faithful coset actions of a group DFA's transition group on fewer points than the DFA has states,
    one per large core-free subgroup found (none for a DFA that is not a group DFA)."""
    if not is_group_dfa(dfa):
        return []
    monoid = transition_monoid(dfa)
    group = FiniteGroup.from_elements(monoid.transformations)
    letter_elements = group.index(monoid.letter_transformations)
    element_state = monoid.transformations[:, dfa.start].astype(np.int64)
    actions = []
    for mask in group.large_core_free_subgroups():
        points = group.coset_action(mask, range(group.order))
        if points.shape[1] < dfa.n_states:
            actions.append(CosetAction(points, points[letter_elements], letter_elements, element_state,
                                       int(mask.sum())))
    return actions
