"""DFA minimisation: a few vectorised Moore rounds, then Hopcroft's algorithm with Valmari-Lehtinen partition refinement
(docs/automata.md#conventions-and-methods)."""
from __future__ import annotations

import numpy as np

from automata.dfa import DFA


def _inverse(delta: np.ndarray) -> tuple[list[int], list[int]]:
    """Predecessor lists as CSR over the key ``state * k + symbol``: preds of q on a are
    ``pred[start[q*k+a] : start[q*k+a+1]]``."""
    n, k = delta.shape
    keys = (delta.astype(np.int64) * k + np.arange(k)).ravel()
    order = np.argsort(keys, kind="stable")
    pred = (order // k).astype(np.int64)
    start = np.searchsorted(keys[order], np.arange(n * k + 1))
    return pred.tolist(), start.tolist()


def _moore_rounds(delta: np.ndarray, classes: np.ndarray, rounds: int) -> tuple[np.ndarray, bool]:
    """Up to ``rounds`` vectorised rounds of Moore's refinement; returns the partition and whether
    it is already stable. Random DFAs stabilise in a few rounds, which spares Hopcroft most work."""
    for _ in range(rounds):
        signature = np.column_stack([classes, classes[delta]])
        _, refined = np.unique(signature, axis=0, return_inverse=True)
        refined = refined.ravel()
        if refined.max() == classes.max():
            return refined, True
        classes = refined
    return classes, False


def equivalence_classes(dfa: DFA, labels: np.ndarray | None = None, moore_rounds: int = 6) -> np.ndarray:
    """Class index of every state under Myhill-Nerode equivalence (all states, reachable or not): two
    states are equivalent when they give the same label (acceptance by default) after every suffix."""
    initial = dfa.accepting_mask() if labels is None else np.unique(labels, return_inverse=True)[1].ravel()
    # Why: docs/automata.md#conventions-and-methods
    classes, stable = _moore_rounds(dfa.delta, initial.astype(np.int64), moore_rounds)
    if stable:
        return classes
    return _hopcroft(dfa.delta, classes)


def _hopcroft(delta: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """Refine the partition ``initial`` (which must be coarser than equivalence) to equivalence."""
    n, k = delta.shape
    pred, pstart = _inverse(delta)
    # Blocks are contiguous ranges of ``elems``; ``loc`` is each state's index in ``elems``.
    elems = np.argsort(initial, kind="stable").tolist()
    loc = [0] * n
    for i, q in enumerate(elems):
        loc[q] = i
    block = initial.tolist()
    bounds = np.searchsorted(initial[elems], np.arange(int(initial.max()) + 2)).tolist()
    first, end = bounds[:-1], bounds[1:]
    mid = list(first)
    # Worklist of splitters (block, symbol). The partition is stable with respect to every block
    # once it is stable with respect to all but one (transitions are total), so the largest is left out.
    largest = max(range(len(first)), key=lambda b: end[b] - first[b])
    waiting = [(b, a) for b in range(len(first)) if b != largest for a in range(k)]
    while waiting:
        splitter, a = waiting.pop()
        touched = []
        for q in elems[first[splitter]:end[splitter]]:  # a copy: marking may reorder this block
            key = q * k + a
            for j in range(pstart[key], pstart[key + 1]):
                p = pred[j]
                b = block[p]
                m = mid[b]
                if loc[p] >= m:  # not yet marked: swap p to the marked prefix of its block
                    if m == first[b]:
                        touched.append(b)
                    other = elems[m]
                    lp = loc[p]
                    elems[m], elems[lp] = p, other
                    loc[p], loc[other] = m, lp
                    mid[b] = m + 1
        for b in touched:
            m = mid[b]
            mid[b] = first[b]
            if m == end[b]:
                continue  # every state of b was marked: no split
            new = len(first)
            marked_small = m - first[b] <= end[b] - m
            if marked_small:
                first.append(first[b])
                end.append(m)
                mid.append(first[b])
                first[b] = m
            else:
                first.append(m)
                end.append(end[b])
                mid.append(m)
                end[b] = m
            mid[b] = first[b]
            for i in range(first[new], end[new]):
                block[elems[i]] = new
            # Hopcroft's rule: if (b, c) waits, (new, c) must wait too; otherwise the smaller of
            # b and new suffices. The new block is the smaller part, so (new, c) serves both cases.
            waiting.extend((new, c) for c in range(k))
    return np.asarray(block, dtype=np.int64)


def minimize(dfa: DFA) -> DFA:
    """The minimal DFA of ``dfa``'s language, numbered breadth-first from its start state."""
    trimmed = dfa.trim()
    classes = equivalence_classes(trimmed)
    n_classes = int(classes.max()) + 1
    representative = np.zeros(n_classes, dtype=np.int64)
    representative[classes[::-1]] = np.arange(trimmed.n_states)[::-1]
    table = classes[trimmed.delta[representative]]
    accepting = frozenset(int(classes[q]) for q in trimmed.accepting)
    names = tuple(trimmed.state_names[q] for q in representative)
    quotient = DFA(trimmed.alphabet, table, int(classes[trimmed.start]), accepting, names)
    return quotient.trim()


def is_minimal(dfa: DFA) -> bool:
    """True when every state is reachable and no two states are equivalent."""
    return len(dfa.reachable()) == dfa.n_states and len(np.unique(equivalence_classes(dfa))) == dfa.n_states
