"""A compiled diagonal or rotation model evaluated on boxes: one time step over every state in a box, and over
every floating-point evaluation of that step. Proof: docs/theorems.md#boxes-and-rounding
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from proofs.exact_model import NotCertifiable
from proofs.interval import (
    ONE,
    Intervals,
    Rounded,
    Rounding,
    Weight,
    _objects,
    add,
    affine,
    cast,
    concat,
    constant,
    distinct,
    sum_of_products,
    to_grid_floor,
)
from proofs.rational import to_rational

if TYPE_CHECKING:
    from models.stack import RecurrentModel

Box = tuple[Intervals, ...]  # per layer: its recurrent state's real coordinates ([Re h, Im h] for rotation)


@dataclass(frozen=True)
class ClippedPairs:
    """Pairs (i, j) of MLP hidden units with identical input rows, biases D = b_i - b_j > 0 apart and
    opposite output columns: relu(s) - relu(s - D) = clamp(s, 0, D)."""

    pairs: tuple[tuple[int, int], ...]
    single: tuple[int, ...]  # hidden units in no pair
    spans: np.ndarray  # per pair, D on the grid (object ints)

    @property
    def first(self) -> np.ndarray:
        return np.asarray([i for i, _ in self.pairs], dtype=np.int64)

    @property
    def second(self) -> np.ndarray:
        return np.asarray([j for _, j in self.pairs], dtype=np.int64)

    @classmethod
    def find(cls, up: np.ndarray, up_bias: np.ndarray, down: np.ndarray) -> ClippedPairs:
        codes = distinct(up.ravel().tolist())[1].reshape(up.shape)  # equal rows: equal codes
        by_row: dict[bytes, list[int]] = {}
        for i in range(up.shape[0]):
            by_row.setdefault(codes[i].tobytes(), []).append(i)
        pairs, used = [], set()
        for members in by_row.values():
            for i in members:
                for j in members:
                    if i in used or j in used or up_bias[i] <= up_bias[j]:
                        continue
                    if all(x == -y for x, y in zip(down[:, i].tolist(), down[:, j].tolist())):
                        pairs.append((i, j))
                        used.update((i, j))
        spans = _objects([to_grid_floor(up_bias[i] - up_bias[j]) for i, j in pairs])
        return cls(tuple(pairs), tuple(i for i in range(up.shape[0]) if i not in used), spans)


@dataclass(frozen=True)
class Step:
    """One abstract step: every layer's next state box, the logits' box, and per layer the gates used
    (as recorded transitions for ``proofs.spectral``: the endpoint vectors, or the largest-modulus corner)."""

    states: Box
    logits: Intervals
    transitions: tuple[tuple[tuple, ...], ...]


class IntervalModel:
    """The model's weights as grid matrices, and its step on boxes (module docstring)."""

    def __init__(self, model: RecurrentModel):
        config = model.config
        if not config.exact or config.arch not in RECURRENCES:
            raise NotCertifiable(f"no interval step for architecture {config.arch!r} (diag and rotation only), or "
                                 "the model is not on the exact (compiled) path")
        self.model = model
        self.rational = {name: to_rational(t) for name, t in model.state_dict().items()}
        self.distinct_weights = distinct([v for w in self.rational.values() for v in w.ravel().tolist()])[0]
        try:
            self.weights = {name: Weight.of(w.reshape(w.shape[0], -1) if w.ndim > 1 else w.reshape(-1, 1))
                            for name, w in self.rational.items()}
        except ValueError as err:
            raise NotCertifiable(f"interval certificate: {err}") from None
        self.pairs = [self._pairs(i) if f"blocks.{i}.mlp.up.weight" in self.rational else None
                      for i in range(len(config.layers))]
        self.recurrence = RECURRENCES[config.arch]
        self.embedded = [Intervals.point(row.tolist()) for row in self.rational["embedding.weight"]]
        self.memo: dict[tuple, object] = {}
        self.virtual: dict[int, tuple[Weight, Weight, Weight]] = {}

    def _pairs(self, layer: int) -> ClippedPairs:
        w = self.rational
        prefix = f"blocks.{layer}.mlp."
        return ClippedPairs.find(w[prefix + "up.weight"], w[prefix + "up.bias"], w[prefix + "down.weight"])

    def weight(self, name: str) -> Weight:
        return self.weights[name]

    def initial(self) -> Box:
        return tuple(Intervals.point(self.rational[f"blocks.{i}.recurrence.h0"].tolist())
                     for i in range(len(self.model.config.layers)))

    def step(self, box: Box, symbol: int, rounding: Rounding) -> Step:
        """Every state the model (exact, or evaluated in ``rounding``'s float format) can reach from a state
        in ``box`` by reading ``symbol``, with the logits and gates on the way."""
        stream = self.embedded[symbol]
        states, transitions = [], []
        for i, state in enumerate(box):
            key = (i, rounding, _key(state), _key(stream))
            if key not in self.memo:
                self.memo[key] = self._layer(i, state, stream, rounding)
            new, recorded, stream = self.memo[key]
            states.append(new)
            transitions.append(recorded)
        key = (len(box), rounding, _key(stream))
        if key not in self.memo:
            self.memo[key] = affine(self.weight("readout.weight"), stream, self.weight("readout.bias"), rounding).value()
        return Step(tuple(states), self.memo[key], tuple(transitions))

    def _layer(self, i: int, state: Intervals, stream: Intervals, rounding: Rounding) -> tuple[Intervals, tuple, Intervals]:
        """Layer i's next state box, its recorded gates, and the stream it passes on. A pure function of its
        arguments: ``step`` keeps each result (``memo``), so configurations that share a layer's state and
        input (a cascade's lower levels, and ``check`` after ``explore``) compute it once."""
        prefix = f"blocks.{i}."
        new, recorded = self.recurrence(self, i, state, stream, rounding)
        out = affine(self.weight(prefix + "recurrence.out.weight"), cast(new, rounding),
                     self.weight(prefix + "recurrence.out.bias"), rounding).value()
        stream = _add(stream, out, rounding)
        if self.pairs[i] is not None:
            stream = _add(stream, self._mlp(i, stream, rounding).value(), rounding)
        return new, recorded, stream

    def _mlp(self, layer: int, stream: Intervals, rounding: Rounding) -> Rounded:
        """down relu(up x + b) + b', the clipped pairs evaluated as clamps (module docstring)."""
        if rounding.mantissa is None:
            return self._exact_mlp(layer, stream)
        prefix = f"blocks.{layer}.mlp."
        hidden = affine(self.weight(prefix + "up.weight"), stream, self.weight(prefix + "up.bias"), rounding)
        units = hidden.value().relu()
        down, down_bias = self.weight(prefix + "down.weight"), self.weight(prefix + "down.bias")
        error = affine(down, units, down_bias, rounding).error
        pairs = self.pairs[layer]
        first, second = pairs.first, pairs.second
        off = (units.hi[first] == 0) & (units.hi[second] == 0)  # both float pre-activations <= 0: both units are 0
        slack = hidden.error[first] + hidden.error[second]
        lo = np.minimum(np.maximum(hidden.exact.lo[first], 0), pairs.spans) - slack
        hi = np.minimum(np.maximum(hidden.exact.hi[first], 0), pairs.spans) + slack
        single = np.asarray(pairs.single, dtype=np.int64)
        values = Intervals(np.concatenate([np.where(off, 0, lo).astype(object), units.lo[single]]),
                           np.concatenate([np.where(off, 0, hi).astype(object), units.hi[single]]))
        exact = affine(self._virtual(layer)[2], values, down_bias, Rounding.exact()).exact
        return Rounded(exact, error)

    def _exact_mlp(self, layer: int, stream: Intervals) -> Rounded:
        """``_mlp`` in exact arithmetic from the pairs' first rows and the singles alone: a pair's second row is its
        first minus the span, so both are <= 0 exactly when the first is, where the clamp is 0 too."""
        prefix = f"blocks.{layer}.mlp."
        up, bias, down = self._virtual(layer)
        hidden = affine(up, stream, bias, Rounding.exact()).exact
        pairs = len(self.pairs[layer].pairs)
        spans = self.pairs[layer].spans
        values = concat([Intervals(np.minimum(np.maximum(hidden.lo[:pairs], 0), spans),
                                   np.minimum(np.maximum(hidden.hi[:pairs], 0), spans)), hidden[pairs:].relu()])
        exact = affine(down, values, self.weight(prefix + "down.bias"), Rounding.exact()).exact
        return Rounded(exact, np.zeros(len(exact), dtype=object))

    def _virtual(self, layer: int) -> tuple[Weight, Weight, Weight]:
        """The up projection's rows and biases and the down projection's columns of the pairs' first units, then
        the singles (the same at every call)."""
        if layer not in self.virtual:
            prefix = f"blocks.{layer}.mlp."
            units = np.concatenate([self.pairs[layer].first, np.asarray(self.pairs[layer].single, dtype=np.int64)])
            self.virtual[layer] = (Weight.of(self.rational[prefix + "up.weight"][units]),
                                   Weight.of(self.rational[prefix + "up.bias"][units].reshape(-1, 1)),
                                   Weight.of(self.rational[prefix + "down.weight"][:, units]))
        return self.virtual[layer]


def _key(x: Intervals) -> tuple:
    return tuple(x.lo.tolist()), tuple(x.hi.tolist())


def _add(x: Intervals, y: Intervals, rounding: Rounding) -> Intervals:
    """The residual addition x + y."""
    return add(x, y, rounding).value()


def _diagonal(self: IntervalModel, layer: int, state: Intervals, x: Intervals, rounding: Rounding):
    """h <- clamp(W_a x + c_a, lo, hi) * h + (W_b x + c_b) elementwise."""
    prefix = f"blocks.{layer}.recurrence."
    lo, hi = self.model.config.layers[layer].gate_range
    a = affine(self.weight(prefix + "to_a.weight"), x, self.weight(prefix + "to_a.bias"), rounding).value()
    a = a.clamp(Fraction(lo), Fraction(hi))
    b = affine(self.weight(prefix + "to_b.weight"), x, self.weight(prefix + "to_b.bias"), rounding).value()
    new = sum_of_products([(a, state), (constant(len(b)), b)], rounding).value()
    ends = a.fractions()
    return new, (("diagonal", ends[0]), ("diagonal", ends[1]))


def _largest(values: Intervals) -> tuple[Fraction, ...]:
    """Per coordinate, the endpoint of largest magnitude."""
    return tuple(Fraction(b if abs(b) >= abs(a) else a, ONE) for a, b in zip(values.lo.tolist(), values.hi.tolist()))


def _rotation(self: IntervalModel, layer: int, state: Intervals, x: Intervals, rounding: Rounding):
    """h <- (u + i w) h + b on complex channels: Re = u Re h - w Im h + Re b, Im = u Im h + w Re h + Im b."""
    prefix = f"blocks.{layer}.recurrence."
    c = len(state) // 2
    gate = affine(self.weight(prefix + "to_a.weight"), x, self.weight(prefix + "to_a.bias"), rounding).value()
    b = affine(self.weight(prefix + "to_b.weight"), x, self.weight(prefix + "to_b.bias"), rounding).value()
    u, w, re, im = gate[:c], gate[c:], state[:c], state[c:]
    one = constant(c)
    new_re = sum_of_products([(u, re), (-w, im), (one, b[:c])], rounding).value()
    new_im = sum_of_products([(u, im), (w, re), (one, b[c:])], rounding).value()
    # |u + i w|^2 is largest over the box at the corner of largest |u| and largest |w|
    return concat([new_re, new_im]), (("complex", _largest(u) + _largest(w)),)


Recurrence = Callable[[IntervalModel, int, Intervals, Intervals, Rounding], tuple[Intervals, tuple]]
RECURRENCES: dict[str, Recurrence] = {"diag": _diagonal, "rotation": _rotation}
