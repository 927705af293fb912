"""The named task library: regular tasks from the literature as labelled DFAs read as Moore machines, addressable as
``get_task("mod:3")``; every family is in ``TASKS`` (docs/tasks.md#what-a-task-is)."""
from __future__ import annotations

import functools
import math
import re
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from automata import limits
from automata.dfa import DFA
from automata.errors import UnknownTask
from automata.finite_groups import (
    FiniteGroup,
    alternating_group,
    cyclic_group,
    dihedral_group,
    klein_four_group,
    quaternion_group,
    symmetric_group,
)
from automata.minimize import minimize

KINDS = ("state-tracking", "recognition")
MAX_DIGITS = 1000  # a parameter of more digits counts as math.inf (past every limit; int() of it would be slow)

DELETANG = ("Deletang et al. 2023, 'Neural Networks and the Chomsky Hierarchy' (ICLR), "
            "regular tasks, github.com/google-deepmind/neural_networks_chomsky_hierarchy")
WORD_PROBLEM = ("word problem with all group elements as the alphabet, as in Merrill, Petty & Sabharwal 2024, "
                "'The Illusion of State in State-Space Models', and Siems et al. 2025, 'DeltaProduct'")
TOMITA = ("Tomita 1982, 'Dynamic construction of finite automata from examples using hill-climbing'; "
          "definitions as in Weiss, Goldberg & Yahav 2018 (ICML)")


# -- samplers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Uniform:
    """Every symbol independent and uniform over the alphabet (how Deletang et al. 2023 sample)."""

    def draw(self, dfa: DFA, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, dfa.n_symbols, size=(n, length), dtype=np.int64)


@dataclass(frozen=True)
class Alternating:
    """Even positions uniform over ``even``, odd positions uniform over ``odd`` (symbol indices):
    well-formed operand/operator expressions, as Deletang et al. 2023 sample modular arithmetic."""

    even: tuple[int, ...]
    odd: tuple[int, ...]

    def draw(self, dfa: DFA, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        out = np.empty((n, length), dtype=np.int64)
        out[:, 0::2] = np.asarray(self.even)[rng.integers(0, len(self.even), size=out[:, 0::2].shape)]
        out[:, 1::2] = np.asarray(self.odd)[rng.integers(0, len(self.odd), size=out[:, 1::2].shape)]
        return out

    @staticmethod
    def final_position(length: int) -> int:
        """The last position that ends a whole expression (an operand: even index), where Deletang et
        al. read the answer; after an operator the label is the constant "pending"."""
        return length - 1 if (length - 1) % 2 == 0 else length - 2


@dataclass(frozen=True)
class Balanced:
    """For languages whose uniform strings are nearly all accepted or all rejected: half the
    strings uniform among accepted strings of the length, a quarter uniform among rejected ones,
    and a quarter near misses (an accepted string with one symbol changed, usually rejected).
    When no string of the length is accepted, "accepted" means "still extendable to an accepted
    string" (e.g. Dyck prefixes of odd length). Uniformity is exact up to float rounding."""

    def draw(self, dfa: DFA, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        accepting = dfa.accepting_mask()
        n_pos = (n + 1) // 2
        n_neg = (n - n_pos + 1) // 2
        positives = _draw_first(dfa, (accepting, _live(dfa.delta, accepting)), n - n_neg, length, rng)
        negatives = _draw_first(dfa, (~accepting,), n_neg, length, rng)
        near = _near_misses(positives[n_pos:], dfa.n_symbols, rng)
        out = np.concatenate([positives[:n_pos], negatives, near])
        return out[rng.permutation(n)]


@dataclass(frozen=True)
class Answered(Alternating):
    """Grazzi et al.'s modular arithmetic: an alternating expression, then ``equals`` in the operator slot
    after its last operand, where the answer is read; strings drawn at one length for a batch of several
    lengths get their ``=`` at their own ends (``Task.sample``'s ``ends``)."""

    equals: int = 0

    def draw(self, dfa: DFA, n: int, length: int, rng: np.random.Generator,
             ends: np.ndarray | None = None) -> np.ndarray:
        out = Alternating.draw(self, dfa, n, length, rng)
        ends = np.full(n, length) if ends is None else np.asarray(ends)
        rows = np.flatnonzero(ends >= 2)
        out[rows, [self.final_position(int(e)) for e in ends[rows]]] = self.equals
        return out

    @staticmethod
    def final_position(length: int) -> int:
        """The last operator slot (odd index) of the string, which holds ``=``."""
        return length - 1 if length % 2 == 0 else length - 2


@dataclass(frozen=True)
class Repeated:
    """Siems et al.'s "several tokens per element": group elements uniform over the alphabet, each written
    ``times`` times in a row, the string cut at its length."""

    times: int

    def draw(self, dfa: DFA, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        blocks = rng.integers(0, dfa.n_symbols, size=(n, -(-length // self.times)), dtype=np.int64)
        return np.repeat(blocks, self.times, axis=1)[:, :length]


Sampler = Uniform | Alternating | Answered | Balanced | Repeated


def _draw_first(dfa: DFA, targets: Sequence[np.ndarray], n: int, length: int,
                rng: np.random.Generator) -> np.ndarray:
    """Strings drawn by ``_draw_ending_in`` for the first target set that some string of this
    length reaches; uniform strings if none does."""
    for target in targets:
        words = _draw_ending_in(dfa, target, n, length, rng)
        if words is not None:
            return words
    return Uniform().draw(dfa, n, length, rng)


def _live(delta: np.ndarray, accepting: np.ndarray) -> np.ndarray:
    """States from which some accepting state is reachable."""
    live = accepting.copy()
    while True:
        grown = live | live[delta].any(axis=1)
        if np.array_equal(grown, live):
            return live
        live = grown


def _completions(delta: np.ndarray, target: np.ndarray, length: int) -> np.ndarray:
    """Row r, state q: the number of strings of length r leading from q into ``target``, each row
    scaled by a positive constant (its maximum) so that long lengths do not overflow."""
    rows = np.zeros((length + 1, delta.shape[0]))
    rows[0] = target
    for r in range(1, length + 1):
        counts = rows[r - 1][delta].sum(axis=1)
        top = counts.max()
        rows[r] = counts / top if top > 0 else counts
    return rows


def _draw_ending_in(dfa: DFA, target: np.ndarray, n: int, length: int,
                    rng: np.random.Generator) -> np.ndarray | None:
    """``n`` strings uniform among those of ``length`` whose run ends in ``target`` (None if there
    are none): each symbol is drawn in proportion to the completions it leaves."""
    rows = _completions(dfa.delta, target, length)
    if rows[length][dfa.start] == 0:
        return None
    out = np.empty((n, length), dtype=np.int64)
    state = np.full(n, dfa.start, dtype=np.int64)
    for t in range(length):
        weights = rows[length - t - 1][dfa.delta[state]]
        cumulative = np.cumsum(weights, axis=1)
        u = rng.random(n) * cumulative[:, -1]
        choice = (cumulative <= u[:, None]).sum(axis=1)
        last_positive = dfa.n_symbols - 1 - np.argmax(weights[:, ::-1] > 0, axis=1)
        choice = np.minimum(choice, last_positive)
        out[:, t] = choice
        state = dfa.delta[state, choice].astype(np.int64)
    return out


def _near_misses(words: np.ndarray, n_symbols: int, rng: np.random.Generator) -> np.ndarray:
    """Each word with the symbol at one uniform position replaced by a uniform different symbol."""
    words = words.copy()
    n, length = words.shape
    if length == 0 or n_symbols < 2:
        return words
    rows = np.arange(n)
    position = rng.integers(0, length, size=n)
    shift = rng.integers(1, n_symbols, size=n)
    words[rows, position] = (words[rows, position] + shift) % n_symbols
    return words


# -- the task type ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Task:
    """A named task: a DFA read as a Moore machine with ``labels[q]`` the label of state q."""

    name: str
    kind: str
    dfa: DFA = field(repr=False)
    labels: np.ndarray = field(repr=False)
    label_names: tuple[str, ...] = field(repr=False)
    description: str = field(repr=False)
    source: str = field(repr=False)
    sampler: Sampler = field(default=Uniform(), repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"task kind must be one of {KINDS}, got {self.kind!r}")
        labels = np.array(self.labels, dtype=np.int64, copy=True)
        if labels.shape != (self.dfa.n_states,):
            raise ValueError(f"{self.name}: {labels.shape} labels for {self.dfa.n_states} states")
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.label_names)):
            raise ValueError(f"{self.name}: a label has no name")
        labels.setflags(write=False)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "label_names", tuple(self.label_names))

    @property
    def alphabet(self) -> tuple[str, ...]:
        return self.dfa.alphabet

    @property
    def n_labels(self) -> int:
        return len(self.label_names)

    def sample(self, n: int, length: int, rng: np.random.Generator | int | None = None,
               ends: np.ndarray | None = None) -> np.ndarray:
        """``n`` strings of ``length`` symbol indices, shape (n, length), from this task's sampler;
        the same seed (or generator state) gives the same strings. ``ends`` (n lengths, at most
        ``length``) says where each string of a mixed-length batch ends; only a sampler that marks the
        end (``Answered``) reads it, the others draw prefix-closed strings."""
        rng = np.random.default_rng(rng)
        if ends is not None and isinstance(self.sampler, Answered):
            return self.sampler.draw(self.dfa, n, length, rng, ends)
        return self.sampler.draw(self.dfa, n, length, rng)

    def final_position(self, length: int) -> int:
        """The position (0-based) whose label scores a string of ``length`` as a whole: the last one,
        unless the sampler says where a whole input ends (``Alternating``)."""
        final = getattr(self.sampler, "final_position", None)
        return final(length) if final is not None and length > 1 else length - 1

    def label_sequence(self, symbols: np.ndarray) -> np.ndarray:
        """Labels after every prefix: for symbols of shape (B, T), labels of shape (B, T)."""
        return self.labels[self.dfa.trace_batch(symbols)]

    def label_word(self, word: Sequence[str]) -> tuple[str, ...]:
        """Label names after every prefix of a word given as symbols."""
        states = self.dfa.trace(word)
        return tuple(self.label_names[int(label)] for label in self.labels[states])


# -- building DFAs from step functions --------------------------------------------------------

SINK = None


def _explore(alphabet: Sequence[str], start: Hashable, step: Callable[[Hashable, str], Hashable]
             ) -> tuple[np.ndarray, list[Hashable]]:
    """Transition table and state list (breadth-first from ``start``, which is state 0) of the
    machine whose states are the values reachable from ``start`` under ``step``."""
    states = [start]
    index = {start: 0}
    rows = []
    queue = deque([start])
    while queue:
        q = queue.popleft()
        row = []
        for a in alphabet:
            r = step(q, a)
            if r not in index:
                index[r] = len(states)
                states.append(r)
                queue.append(r)
            row.append(index[r])
        rows.append(row)
    return np.asarray(rows, dtype=np.int32), states


def _recognition(name: str, alphabet: Sequence[str], start: Hashable, step: Callable[[Hashable, str], Hashable],
                 accept: Callable[[Hashable], bool], show: Callable[[Hashable], str], description: str,
                 source: str, sampler: Sampler = Balanced()) -> Task:
    """A recognition task from a step function on readable states; ``step`` returns ``SINK`` for
    the dead state and is never called on it. The DFA is minimised: ``dfa`` is the minimal DFA."""
    delta, states = _explore(alphabet, start, lambda q, a: SINK if q is SINK else step(q, a))
    accepting = frozenset(q for q, s in enumerate(states) if s is not SINK and accept(s))
    names = tuple("sink" if s is SINK else show(s) for s in states)
    dfa = minimize(DFA(tuple(alphabet), delta, 0, accepting, names))
    return Task(name, "recognition", dfa, dfa.accepting_mask().astype(np.int64), ("reject", "accept"),
                description, source, sampler)


def _tracking(name: str, alphabet: Sequence[str], delta: np.ndarray, labels: np.ndarray,
              label_names: Sequence[str], description: str, source: str, start: int = 0,
              state_names: Sequence[str] = (), sampler: Sampler = Uniform()) -> Task:
    """A state-tracking task from its transition table; accepting states are those labelled 0."""
    labels = np.asarray(labels, dtype=np.int64)
    names = tuple(state_names) or tuple(label_names[int(v)] for v in labels)
    dfa = DFA(tuple(alphabet), delta, start, frozenset(np.flatnonzero(labels == 0).tolist()), names)
    return Task(name, "state-tracking", dfa, labels, tuple(label_names), description, source, sampler)


def _counter(k: int, increments: Sequence[int]) -> np.ndarray:
    """Transition table of a counter mod k where symbol j adds ``increments[j]``."""
    return (np.arange(k)[:, None] + np.asarray(increments)[None, :]) % k


# -- state-tracking families ------------------------------------------------------------------


def _parity(name: str) -> Task:
    return _tracking(name, ("0", "1"), _counter(2, [0, 1]), np.arange(2), ("even", "odd"),
                     "Parity Check: binary strings; the label is the number of 1s mod 2 (0 even, 1 odd).",
                     DELETANG)


def _mod(name: str, k: int) -> Task:
    return _tracking(name, ("a", "b"), _counter(k, [1, 0]), np.arange(k), tuple(str(i) for i in range(k)),
                     f"Counting mod {k}: strings over {{a, b}}; the label is the number of a's mod {k}. "
                     f"Its syntactic monoid is the group Z_{k}, so it is not star-free.",
                     "McNaughton & Papert 1971, 'Counter-Free Automata' (modular counting, the "
                     "simplest non-star-free languages); Grazzi et al. 2025 (counting mod 3 with linear RNNs)")


def _cycle(name: str, k: int) -> Task:
    return _tracking(name, ("-1", "0", "+1"), _counter(k, [-1, 0, 1]), np.arange(k),
                     tuple(str(i) for i in range(k)),
                     f"Cycle Navigation: moves -1 (left), 0 (stay), +1 (right) on a cycle of {k} positions, "
                     f"starting at 0; the label is the position. Symbol indices 0, 1, 2 are the moves "
                     f"-1, 0, +1, as in Deletang et al.'s encoding (action index minus one).", DELETANG)


def _flipflop(name: str) -> Task:
    delta = np.array([[0, 1, 0], [0, 1, 1]])
    return _tracking(name, ("set0", "set1", "read"), delta, np.arange(2), ("0", "1"),
                     "Flip-flop: set0 and set1 store a bit, read leaves it; the label is the stored bit "
                     "(0 before any set). The two resets and the identity form the flip-flop monoid, the "
                     "aperiodic building block of Krohn-Rhodes cascades.",
                     "Krohn & Rhodes 1965; Liu et al. 2023, 'Exposing Attention Glitches with Flip-Flop "
                     "Language Modeling'; Sarrof, Veitsman & Hahn 2024")


def _modarith(name: str, k: int) -> Task:
    """States: after a complete expression, (s, t) with value s + t, t the last additive term;
    after an operator, (s, m) meaning the next number d makes the term m*d; plus a sink."""
    pairs = k * k  # complete (s, t) is state s*k + t; pending (s, m) is state k*k + s*k + m; the sink is 2*k*k
    s, t = np.divmod(np.arange(pairs), k)
    value = (s + t) % k
    delta = np.full((2 * pairs + 1, k + 3), 2 * pairs, dtype=np.int64)
    delta[:pairs, k] = pairs + value * k + 1  # "+": pending (value, 1)
    delta[:pairs, k + 1] = pairs + value * k + k - 1  # "-": pending (value, -1)
    delta[:pairs, k + 2] = pairs + np.arange(pairs)  # "*": the same pair, t read as the pending multiplier
    delta[pairs:2 * pairs, :k] = s[:, None] * k + t[:, None] * np.arange(k)[None, :] % k  # digit d: (s, m*d)
    labels = np.concatenate([value, np.full(pairs, k), [k + 1]])
    names = [f"{a}+{b}" for a, b in zip(s.tolist(), t.tolist())] + [f"{a}+{b}*_" for a, b in zip(s.tolist(), t.tolist())]
    names.append("invalid")
    start = pairs + 1  # pending (0, 1): no sum yet, the next number taken once
    return _tracking(name, tuple(str(d) for d in range(k)) + ("+", "-", "*"), delta.astype(np.int32), labels,
                     tuple(str(v) for v in range(k)) + ("incomplete", "invalid"),
                     f"Modular Arithmetic (simple): numbers 0..{k - 1} alternating with +, -, *, evaluated "
                     f"mod {k} with the usual precedence (* before + and -, left to right), e.g. mod 5 "
                     f"1+2*3 = 2 and 1-1-1 = 4. The label is the value of the prefix when it is a complete "
                     f"expression, 'incomplete' after an operator, and 'invalid' once the alternation breaks. "
                     f"Deletang et al. label only the whole (odd-length) expression.",
                     DELETANG, start=start, state_names=names,
                     sampler=Alternating(tuple(range(k)), (k, k + 1, k + 2)))


GRAZZI_MODARITH = ("Grazzi et al. 2025, 'Unlocking State-Tracking in Linear RNNs Through Negative Eigenvalues' (ICLR): "
                   "github.com/adankow/unlocking_state_tracking at dd420c5, "
                   "xlstm/experiments/data/formal_language/tasks/modular_arithmetic.py:24-57")
SIEMS_DATA = ("Siems et al. 2025, 'DeltaProduct' (arXiv:2502.10297): github.com/automl/DeltaProduct at 38cd4e4, "
              "state_tracking/src/generate_data.py")


def _modarith_eq(name: str, k: int) -> Task:
    """``modarith:k`` with ``=``: after a complete expression ``=`` leads to the answer state of its value;
    ``=`` anywhere else, and any symbol after the answer, lead to the sink."""
    base = _modarith(name, k)
    n = base.dfa.n_states  # the answer states n..n+k-1 follow modarith's states (its sink is n - 1)
    sink = n - 1
    delta = np.full((n + k, k + 4), sink, dtype=np.int32)
    delta[:n, :k + 3] = base.dfa.delta
    complete = np.flatnonzero(base.labels < k)
    delta[complete, k + 3] = n + base.labels[complete]
    labels = np.concatenate([base.labels, np.arange(k)])
    names = base.dfa.state_names + tuple(f"={v}" for v in range(k))
    return _tracking(name, base.alphabet + ("=",), delta, labels, base.label_names,
                     f"Modular Arithmetic with '=', as Grazzi et al. generate it: numbers 0..{k - 1} alternating "
                     f"with +, -, * (mod {k}, * before + and -), then '=' in the next operator slot; the label at "
                     f"'=' is the value of the expression (their model predicts the answer token there). Before "
                     f"'=' the labels are modarith:{k}'s; '=' after an operator, or anything after '=', is "
                     f"'invalid'. Training strings of lengths 2..39 put '=' uniformly at the slots 1, 3, ..., 37, "
                     f"i.e. their uniform expression lengths 1..37 (sequence lengths 3..39 with the answer).",
                     GRAZZI_MODARITH, start=base.dfa.start, state_names=names,
                     sampler=Answered(tuple(range(k)), (k, k + 1, k + 2), k + 3))


def _group_task(name: str, group: FiniteGroup, what: str) -> Task:
    dfa = group.cayley_dfa()
    return Task(name, "state-tracking", dfa, np.arange(group.order), group.names,
                f"{what}: the alphabet is all {group.order} elements; the label is the product of the "
                f"prefix, read left to right (elements act on the right: g*h applies g, then h).",
                WORD_PROBLEM)


def _cyclic(name: str, k: int) -> Task:
    return _group_task(name, cyclic_group(k), f"Word problem of the cyclic group Z_{k} (elements 0..{k - 1}, "
                                              f"the product is the sum mod {k})")


def _klein(name: str) -> Task:
    return _group_task(name, klein_four_group(), "Word problem of the Klein four-group Z_2 x Z_2 "
                                                 "(elements e, a, b, c = ab, each its own inverse)")


def _dihedral(name: str, n: int) -> Task:
    return _group_task(name, dihedral_group(n), f"Word problem of the dihedral group D_{n} of order {2 * n} "
                                                f"(r<i>: rotation x -> x+i, s<i>: reflection x -> i-x on Z_{n})")


def _quaternion(name: str) -> Task:
    return _group_task(name, quaternion_group(), "Word problem of the quaternion group Q_8 "
                                                 "(elements 1, -1, i, -i, j, -j, k, -k; i*j = k)")


def _alternating(name: str, n: int) -> Task:
    return _group_task(name, alternating_group(n), f"Word problem of the alternating group A_{n} "
                                                   f"(permutations of 1..{n} in cycle notation, e the identity)")


def _symmetric(name: str, n: int) -> Task:
    return _group_task(name, symmetric_group(n), f"Word problem of the symmetric group S_{n} "
                                                 f"(permutations of 1..{n} in cycle notation, e the identity)")


def _perm_moves(name: str, n: int, m: int) -> Task:
    """The word problem of S_n read only on the letters that move at most m points; states: all of S_n
    (transpositions generate it), labelled by element."""
    group = symmetric_group(n)
    allowed = np.flatnonzero((group.elements != np.arange(n)).sum(axis=1) <= m).tolist()
    delta = np.stack([group.products(np.arange(group.order), g) for g in allowed], axis=1).astype(np.int32)
    restricted = DFA(tuple(group.names[i] for i in allowed), delta, 0, frozenset({0}), group.names)
    which = "the identity and the transpositions (swaps)" if m == 2 else f"the permutations moving at most {m} points"
    return Task(name, "state-tracking", restricted, np.arange(group.order), group.names,
                f"Word problem of S_{n} with only {which} as letters ({len(allowed)} letters); the label is the "
                f"product of the prefix (elements act on the right), every element of S_{n} reachable. Siems et "
                f"al.'s S{n}_only_swaps (m = 2) and S{n}_limit_to_{m}.",
                SIEMS_DATA + (":79-86 (swaps)" if m == 2 else ":90-103 (limit_to)"))


def _perm_tokens(name: str, n: int, r: int) -> Task:
    """S_n with each element written r times; state (g, x, c): product g of the finished elements, x the
    element being read, c of its r tokens read (c = 0: between elements), plus the sink."""
    group = symmetric_group(n)
    order = group.order
    table = group.multiplication_table().astype(np.int64)
    sink = order + order * order * (r - 1)

    def inside(g: np.ndarray, x: np.ndarray, c: int) -> np.ndarray:
        return order + ((c - 1) * order + g) * order + x

    g, x = np.meshgrid(np.arange(order), np.arange(order), indexing="ij")
    delta = np.full((sink + 1, order), sink, dtype=np.int64)
    delta[:order] = inside(g, x, 1)
    for c in range(1, r):
        here = inside(g, x, c).ravel()
        delta[here, x.ravel()] = table[g, x].ravel() if c == r - 1 else inside(g, x, c + 1).ravel()
    labels = np.concatenate([np.arange(order), np.tile(np.repeat(np.arange(order), order), r - 1), [order]])
    names = group.names + tuple(f"{group.names[a]}|{group.names[b]}^{c}" for c in range(1, r)
                                for a in range(order) for b in range(order)) + ("invalid",)
    return _tracking(name, group.names, delta.astype(np.int32), labels, group.names + ("invalid",),
                     f"Word problem of S_{n} with every element written {r} times in a row (Siems et al.'s "
                     f"S{n}_{r}_tokens); the label is the product of the elements whose {r} tokens have all been "
                     f"read, which is their supervision shifted by {r - 1} positions; a block of unequal tokens "
                     f"is 'invalid'.", SIEMS_DATA + ":170-201 (tokens, without s_token)",
                     start=0, state_names=names, sampler=Repeated(r))  # element 0 is the identity


# -- recognition families ---------------------------------------------------------------------


def _even_pairs(name: str) -> Task:
    """States: "start" before any symbol, else (first symbol, last symbol)."""
    return _recognition(name, ("a", "b"), "start", lambda s, c: (c, c) if s == "start" else (s[0], c),
                        lambda s: s == "start" or s[0] == s[1], lambda s: s if s == "start" else f"{s[0]}..{s[1]}",
                        "Even Pairs: strings over {a, b} with an even number of 'ab' and 'ba' pairs, i.e. whose "
                        "first and last symbols agree (the empty string included). Label 1 = even; Deletang "
                        "et al.'s class is the opposite (class 1 = odd).", DELETANG, sampler=Uniform())


def _tomita_3_step(s: tuple[bool, str, int], c: str) -> tuple[bool, str, int] | None:
    """State (an odd run of 1s has ended, current run symbol, current run length mod 2); a run
    of 0s of odd length that ends after an odd run of 1s has ended is fatal."""
    flag, run, parity = s
    if c == run:
        return flag, run, 1 - parity
    if run == "0" and parity == 1 and flag:
        return SINK
    return flag or (run == "1" and parity == 1), c, 1


def _tomita_7_step(phase: int, c: str) -> int | None:
    """Phase p of 0*1*0*1* reads symbol str(p % 2); a symbol moves to the next phase that reads it."""
    nxt = phase if str(phase % 2) == c else phase + 1
    return nxt if nxt <= 3 else SINK


def _always(s: Hashable) -> bool:
    return True


# Tomita n: (start state, step, accept, definition).
_TOMITA: dict[int, tuple[Hashable, Callable[[Hashable, str], Hashable], Callable[[Hashable], bool], str]] = {
    1: (0, lambda s, c: 0 if c == "1" else SINK, _always, "1*"),
    2: (0, lambda s, c: {(0, "1"): 1, (1, "0"): 0}.get((s, c), SINK), lambda s: s == 0, "(10)*"),
    3: ((False, "", 0), _tomita_3_step, lambda s: not (s[0] and s[1] == "0" and s[2] == 1),
        "no odd-length run of 0s anywhere after an odd-length run of 1s (runs are maximal, and a run "
        "at the end of the string counts)"),
    4: (0, lambda s, c: 0 if c == "1" else (s + 1 if s < 2 else SINK), _always, "no 000 substring"),
    5: ((0, 0), lambda s, c: ((s[0] + (c == "0")) % 2, (s[1] + (c == "1")) % 2), lambda s: s == (0, 0),
        "an even number of 0s and an even number of 1s"),
    6: (0, lambda s, c: (s + (1 if c == "0" else -1)) % 3, lambda s: s == 0, "#0s - #1s = 0 mod 3"),
    7: (0, _tomita_7_step, _always, "0*1*0*1*"),
}


def _tomita(name: str, n: int) -> Task:
    start, step, accept, text = _TOMITA[n]
    return _recognition(name, ("0", "1"), start, step, accept, str, f"Tomita grammar {n}: {text}.", TOMITA)


_BRACKETS = (("(", ")"), ("[", "]"), ("{", "}"), ("<", ">"))


def _brackets(k: int) -> tuple[tuple[str, str], ...]:
    """The k bracket pairs: ``() [] {} <>``, then ``(5 )5``, ``(6 )6``, ..."""
    return _BRACKETS[:k] + tuple((f"({i}", f"){i}") for i in range(len(_BRACKETS) + 1, k + 1))


def _dyck(name: str, k: int, h: int) -> Task:
    """States are stacks of open brackets of depth at most h, plus a sink; a stack is (depth, code), its
    brackets the base-k digits of code (the top one last), so that a step costs O(1)."""
    pairs = _brackets(k)
    symbols = {c: (i, opens) for i, pair in enumerate(pairs) for c, opens in zip(pair, (True, False))}

    def step(stack: tuple[int, int], c: str) -> tuple[int, int] | None:
        depth, code = stack
        i, opens = symbols[c]
        if opens:
            return (depth + 1, code * k + i) if depth < h else SINK
        return (depth - 1, code // k) if depth and code % k == i else SINK

    def show(stack: tuple[int, int]) -> str:
        depth, code = stack
        if k == 1 and depth > 16:
            return f"(^{depth}"
        digits = [(code // k ** (depth - 1 - j)) % k for j in range(depth)]
        return "".join(pairs[i][0] for i in digits) or "ε"

    shown = " ".join(a + b for a, b in pairs[:6]) + (" ..." if k > 6 else "")
    return _recognition(name, tuple(c for pair in pairs for c in pair), (0, 0), step, lambda s: s == (0, 0), show,
                        f"Bounded Dyck language Dyck-({k}, {h}): balanced strings over {k} bracket "
                        f"type{'s' if k > 1 else ''} {shown} whose nesting depth never exceeds "
                        f"{h}. States are the stacks of open brackets.",
                        "Hewitt et al. 2020, 'RNNs can generate bounded hierarchical languages with optimal "
                        "memory'; Yao et al. 2021, 'Self-Attention Networks Can Process Bounded Hierarchical "
                        "Languages'; Sarrof, Veitsman & Hahn 2024")


def _ab_star(name: str) -> Task:
    return _recognition(name, ("a", "b"), 0,
                        lambda s, c: {(0, "a"): 1, (1, "b"): 0}.get((s, c), SINK),
                        lambda s: s == 0, str,
                        "(ab)*: strings of repeated 'ab'. Star-free (its syntactic monoid is aperiodic).",
                        "McNaughton & Papert 1971; a standard star-free example (e.g. Sarrof, Veitsman & "
                        "Hahn 2024)")


def _pattern_step(w: str, absorbing: bool) -> Callable[[int, str], int]:
    """Knuth-Morris-Pratt automaton over {a, b}: state = length of the longest suffix of the input that is a
    prefix of w; with ``absorbing``, state len(w) (w seen) is kept forever. Built in O(len(w)) through the
    failure state x (the state after w[1:q]): a mismatch at q goes where x goes."""
    table = [{c: int(w[0] == c) for c in "ab"}]
    x = 0
    for q in range(1, len(w) + 1):
        table.append({c: q + 1 if q < len(w) and w[q] == c else table[x][c] for c in "ab"})
        if q < len(w):
            x = table[x][w[q]]
    if absorbing:
        table[-1] = {c: len(w) for c in "ab"}
    return lambda q, c: table[q][c]


def _prefix(w: str) -> Callable[[int], str]:
    """The name of state q of a pattern automaton: the prefix of w it has matched (shortened past 32 letters)."""
    return lambda q: (w[:q] or "ε") if q <= 32 else f"{w[:8]}...{w[q - 8:q]} ({q} letters)"


def _contains(name: str, w: str) -> Task:
    return _recognition(name, ("a", "b"), 0, _pattern_step(w, True), lambda q: q == len(w), _prefix(w),
                        f"Strings over {{a, b}} that contain {w!r} as a substring. Star-free.",
                        "Star-free languages: McNaughton & Papert 1971; Schutzenberger 1965")


def _ends_with(name: str, w: str) -> Task:
    return _recognition(name, ("a", "b"), 0, _pattern_step(w, False), lambda q: q == len(w), _prefix(w),
                        f"Strings over {{a, b}} that end with {w!r}. Star-free (locally testable).",
                        "Star-free languages: McNaughton & Papert 1971; Schutzenberger 1965")


def _no_aa(name: str) -> Task:
    return _recognition(name, ("a", "b"), 0,
                        lambda s, c: 0 if c == "b" else (1 if s == 0 else SINK), _always,
                        lambda s: "ends in a" if s else "start",
                        "Strings over {a, b} without two consecutive a's. Star-free (locally testable).",
                        "Star-free languages: McNaughton & Papert 1971; Schutzenberger 1965")


# -- the registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One parameter of a task family: an integer of at least ``low`` (and at most ``high`` where the family
    has only so many members), or a word over {a, b} (``word``). How large a task may grow is not a range of
    its parameters but the limits its ``Sizes`` are checked against."""

    name: str
    low: int = 1
    high: int | None = None
    default: int | None = None
    word: bool = False

    def parse(self, text: str, task: str) -> int | float | str:
        if self.word:
            if not re.fullmatch(r"[ab]+", text):
                raise UnknownTask(f"task {task!r:.60}: {self.name} must be a word of letters a and b, got {text!r:.40}")
            return text
        digits = text.lstrip("0") or "0"
        if not re.fullmatch(r"[0-9]+", text) or (self.high is not None and len(digits) > MAX_DIGITS) or (
                len(digits) <= MAX_DIGITS and not self.low <= int(digits) <= (self.high or int(digits))):
            raise UnknownTask(f"task {task!r:.60}: {self.name} must be an integer {self.bounds()}, got {text!r:.40}")
        return int(digits) if len(digits) <= MAX_DIGITS else math.inf  # too large for any limit: Sizes refuses it

    def bounds(self) -> str:
        return f"from {self.low} to {self.high}" if self.high is not None else f">= {self.low}"

    def describe(self) -> str:
        if self.word:
            return f"{self.name} a word over {{a, b}}"
        default = f", default {self.default}" if self.default is not None else ""
        return f"{self.name} {self.bounds()}{default}"


@dataclass(frozen=True)
class Sizes:
    """How large a task's construction is, known from its parameters before anything is built: the states and
    symbols of the DFA it explores (its largest table is states x symbols) and, where known, the elements of
    the transition monoid. ``math.inf`` stands for a count past 10^18."""

    states: int | float
    symbols: int | float
    elements: int | float | None = None

    @property
    def transitions(self) -> int | float:
        return self.states * self.symbols

    def check(self, task: str) -> None:
        """``limits.LimitExceeded`` naming the size, the limit and its flag if a size is past the limit in force
        (the monoid's elements only where the running command takes --max-elements)."""
        where = f"task {task!r:.60}"
        limits.check("states", self.states, where)
        limits.check("transitions", self.transitions,
                     f"{where} ({limits.count(self.states)} states x {limits.count(self.symbols)} symbols)")
        if self.elements is not None and limits.applies("elements"):
            limits.check("elements", self.elements, where)


def _factorial(n: int, divisor: int = 1) -> int | float:
    """n! / divisor, ``math.inf`` past 20! (more than 10^18)."""
    return math.factorial(n) // divisor if n <= 20 else math.inf


def _group_sizes(order: int | float) -> Sizes:
    """A group's word problem: the elements are the states, the symbols and the monoid."""
    return Sizes(order, order, order)


def _perm_moves_sizes(n: int, m: int) -> Sizes:
    """S_n on the permutations moving at most m points: sum over j <= m of C(n, j) derangements of j points."""
    if not m < n:
        raise ValueError(f"m must satisfy 2 <= m < n (Siems et al.'s limit), got n={n}, m={m}")
    if n > 20:
        return Sizes(math.inf, math.inf, math.inf)
    derangements = [1, 0]
    for j in range(2, m + 1):
        derangements.append((j - 1) * (derangements[-1] + derangements[-2]))
    return Sizes(math.factorial(n), sum(math.comb(n, j) * derangements[j] for j in range(m + 1)), math.factorial(n))


def _perm_tokens_sizes(n: int, r: int) -> Sizes:
    order = _factorial(n)
    return Sizes(order + order * order * (r - 1) + 1, order)


def _dyck_sizes(k: int, h: int) -> Sizes:
    """The empty stack, k^d stacks of each depth d <= h, and the sink."""
    if k == 1:
        return Sizes(h + 2, 2)
    states, layer, depth = 2, 1, 0
    while depth < h:  # at most 60 rounds: k^60 > 10^18
        depth, layer = depth + 1, layer * k
        states += layer
        if states > limits.SHOWN:
            return Sizes(math.inf, 2 * k)
    return Sizes(states, 2 * k)


# Explored states of Tomita n (before minimisation).
_TOMITA_STATES = {1: 2, 2: 3, 3: 10, 4: 4, 5: 4, 6: 3, 7: 5}


@dataclass(frozen=True)
class Family:
    """A task family: its name, parameters, builder (called with the canonical name and the
    parameter values), a one-line summary, an example name, and its sizes as a function of the
    parameter values (checked against the limits before the builder runs)."""

    name: str
    params: tuple[Param, ...]
    build: Callable[..., Task] = field(repr=False)
    summary: str
    example: str
    sizes: Callable[..., Sizes] = field(repr=False)

    @property
    def signature(self) -> str:
        return ":".join((self.name, *(p.name for p in self.params)))

    def syntax(self) -> str:
        ranges = "; ".join(p.describe() for p in self.params)
        return f"{self.signature} ({ranges})" if ranges else self.signature

    def parse(self, raw: Sequence[str], task: str) -> tuple[int | float | str, ...]:
        """The parameter values of ``task``, their sizes checked against the limits in force."""
        required = sum(p.default is None for p in self.params)
        if not required <= len(raw) <= len(self.params):
            count = f"{required}" if required == len(self.params) else f"{required} to {len(self.params)}"
            raise UnknownTask(f"task {task!r:.60}: {self.name} takes {count} parameter(s), written "
                              f"{self.syntax()}; got {len(raw)}")
        values = tuple(p.parse(text, task) for p, text in zip(self.params, raw))
        values += tuple(p.default for p in self.params[len(raw):])
        try:
            sizes = self.sizes(*values)
        except ValueError as err:
            raise UnknownTask(f"task {task!r:.60}: {err}") from None
        sizes.check(task.strip())
        return values


_FAMILIES = [
    Family("parity", (), _parity, "number of 1s mod 2 (Deletang et al. 2023)", "parity", lambda: Sizes(2, 2, 2)),
    Family("mod", (Param("k", 2),), _mod, "number of a's mod k over {a, b}", "mod:3", lambda k: Sizes(k, 2, k)),
    Family("cycle", (Param("k", 2, default=5),), _cycle, "cycle navigation, moves -1/0/+1 (Deletang et al. 2023)",
           "cycle:5", lambda k: Sizes(k, 3, k)),
    Family("modarith", (Param("k", 2, default=5),), _modarith,
           "modular arithmetic without brackets, with precedence (Deletang et al. 2023)", "modarith:5",
           lambda k: Sizes(2 * k * k + 1, k + 3)),
    Family("modarith-eq", (Param("k", 2, default=5),), _modarith_eq,
           "modular arithmetic ending in '=', the answer read there (Grazzi et al. 2025's data)", "modarith-eq:5",
           lambda k: Sizes(2 * k * k + k + 1, k + 4)),
    Family("Z", (Param("k", 2),), _cyclic, "word problem of the cyclic group Z_k", "Z:6", _group_sizes),
    Family("Z2xZ2", (), _klein, "word problem of the Klein four-group", "Z2xZ2", lambda: _group_sizes(4)),
    Family("dihedral", (Param("n", 3),), _dihedral, "word problem of the dihedral group D_n (order 2n)",
           "dihedral:4", lambda n: _group_sizes(2 * n)),
    Family("Q8", (), _quaternion, "word problem of the quaternion group", "Q8", lambda: _group_sizes(8)),
    Family("A", (Param("n", 3),), _alternating, "word problem of the alternating group A_n (order n!/2)", "A:5",
           lambda n: _group_sizes(_factorial(n, 2))),
    Family("S", (Param("n", 2),), _symmetric, "word problem of the symmetric group S_n (order n!)", "S:5",
           lambda n: _group_sizes(_factorial(n))),
    Family("perm-moves", (Param("n", 3), Param("m", 2)), _perm_moves,
           "word problem of S_n on the permutations moving at most m points (m = 2: swaps; Siems et al. 2025)",
           "perm-moves:4:2", _perm_moves_sizes),
    Family("perm-tokens", (Param("n", 2), Param("r", 2)), _perm_tokens,
           "word problem of S_n, each element written r times (Siems et al. 2025)", "perm-tokens:3:2",
           _perm_tokens_sizes),
    Family("flipflop", (), _flipflop, "flip-flop: set0/set1/read, label = stored bit", "flipflop",
           lambda: Sizes(2, 3, 3)),
    Family("even-pairs", (), _even_pairs, "even number of ab/ba pairs (Deletang et al. 2023)", "even-pairs",
           lambda: Sizes(5, 2)),
    Family("tomita", (Param("n", 1, 7),), _tomita, "Tomita grammars 1-7 over {0, 1}", "tomita:3",
           lambda n: Sizes(_TOMITA_STATES[n], 2)),
    Family("dyck", (Param("k", 1), Param("h", 1)), _dyck, "bounded Dyck: k bracket types, depth at most h", "dyck:2:3",
           _dyck_sizes),
    Family("ab-star", (), _ab_star, "(ab)*", "ab-star", lambda: Sizes(3, 2)),
    Family("contains", (Param("w", word=True),), _contains, "contains the word w", "contains:aba",
           lambda w: Sizes(len(w) + 1, 2)),
    Family("ends-with", (Param("w", word=True),), _ends_with, "ends with the word w", "ends-with:ab",
           lambda w: Sizes(len(w) + 1, 2)),
    Family("no-aa", (), _no_aa, "no two consecutive a's", "no-aa", lambda: Sizes(3, 2)),
]

TASKS: Mapping[str, Family] = MappingProxyType({f.name: f for f in _FAMILIES})
ALIASES: Mapping[str, str] = MappingProxyType({"A4": "A:4"})


def task_families() -> tuple[Family, ...]:
    """The families in display order (aliases are in ``ALIASES``)."""
    return tuple(_FAMILIES)


def task_names() -> tuple[str, ...]:
    """The family signatures (``mod:k``, ``dyck:k:h``, ...) followed by the aliases."""
    return tuple(f.signature for f in _FAMILIES) + tuple(ALIASES)


def known_tasks() -> str:
    """One line per family with its syntax, parameter ranges and summary; then the aliases."""
    lines = [f"  {f.syntax()}: {f.summary}" for f in _FAMILIES]
    lines += [f"  {alias}: alias of {target}" for alias, target in ALIASES.items()]
    return "\n".join(lines)


LIBRARY = ("parity", "mod:3", "mod:4", "mod:5", "cycle:5", "modarith:3", "modarith:5", "Z:4", "Z:6", "Z2xZ2",
           "dihedral:3", "dihedral:4", "Q8", "A:4", "A:5", "S:3", "S:4", "S:5", "flipflop", "even-pairs",
           *(f"tomita:{n}" for n in range(1, 8)), "dyck:1:2", "dyck:2:2", "dyck:2:3", "ab-star", "contains:aba",
           "ends-with:ab", "no-aa")
"""The task library as instances: every family's example and the small instances the certificate tests
cover (``lsrl suite library`` runs them all)."""


def parse_task_name(name: str) -> tuple[str, tuple[int | float | str, ...]]:
    """The family and parameter values of the task called ``name``, checked without building the task;
    ``UnknownTask`` for an unknown family or bad parameters."""
    text = ALIASES.get(name.strip(), name.strip())
    family_name, *raw = text.split(":")
    family = TASKS.get(family_name)
    if family is None:
        raise UnknownTask(f"unknown task {name!r:.60}; the known tasks are:\n{known_tasks()}")
    return family.name, family.parse(raw, name)


def get_task(name: str) -> Task:
    """The task called ``name`` (e.g. ``"mod:3"``, ``"S:5"``, ``"dyck:2:4"``); ``UnknownTask`` for
    an unknown family or bad parameters. Tasks are built once and cached."""
    return _build(*parse_task_name(name))


@functools.lru_cache(maxsize=64)
def _build(family_name: str, values: tuple[int | float | str, ...]) -> Task:
    family = TASKS[family_name]
    canonical = ":".join((family.name, *(str(v) for v in values)))
    return family.build(canonical, *values)
