"""Candidate boxes for an interval certificate, propagated in float64 over every open box at once (fast, not sound);
the exact exploration and ``check`` of ``interval_certificate`` decide. docs/theorems.md#boxes-and-rounding
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from automata.dfa import DFA
from proofs.float_error import to_grid_ceil, to_grid_floor
from proofs.interval import ONE, Intervals, _objects
from proofs.interval_model import Box, IntervalModel

MAX_SWEEPS = 2_000
CATCH_UP_SWEEPS = 50  # after widening (the exact exploration repairs what is left)
SETTLED = 2.0 ** -40  # a growth below this (times max(1, |endpoint|)) does not reopen a box


class SearchFailed(Exception):
    """The float64 propagation did not close (too many boxes or sweeps); the exact exploration runs alone."""


@dataclass(frozen=True)
class _Affine:
    """W x + b over a batch of boxes (rows): the positive and negative parts of W^T, and b."""

    positive: np.ndarray
    negative: np.ndarray
    bias: np.ndarray

    @classmethod
    def of(cls, weight: np.ndarray, bias: np.ndarray) -> _Affine:
        return cls(np.maximum(weight.T, 0), np.minimum(weight.T, 0), bias)

    def __call__(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (lo @ self.positive + hi @ self.negative + self.bias,
                hi @ self.positive + lo @ self.negative + self.bias)


def _product(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    corners = np.stack([a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]])
    return corners.min(axis=0), corners.max(axis=0)


@dataclass(frozen=True)
class _Layer:
    """One block's maps: the recurrence's gate, input and output projections, the MLP (None without one)."""

    to_a: _Affine
    to_b: _Affine
    gate: tuple[float, float]
    out: _Affine
    up: _Affine | None  # the clipped pairs' first rows, then the single units' (``IntervalModel._virtual``)
    spans: np.ndarray  # per pair, D
    down: _Affine | None  # the same units' columns


class FloatModel:
    """``IntervalModel.step`` in float64 (round to nearest, no error bound) on a batch of boxes."""

    def __init__(self, abstract: IntervalModel):
        w = {name: np.asarray([float(v) for v in m.ravel().tolist()]).reshape(m.shape)
             for name, m in abstract.rational.items()}
        config = abstract.model.config
        self.rotation = config.arch == "rotation"
        self.layers = [self._layer(w, i, abstract, config.layers[i].gate_range) for i in range(len(config.layers))]
        self.widths = [len(w[f"blocks.{i}.recurrence.h0"]) for i in range(len(config.layers))]
        self.embedded = w["embedding.weight"]
        self.readout = _Affine.of(w["readout.weight"], w["readout.bias"])

    @staticmethod
    def _layer(w: dict[str, np.ndarray], i: int, abstract: IntervalModel, gate: tuple[float, float]) -> _Layer:
        p = f"blocks.{i}."
        rec = {name: _Affine.of(w[f"{p}recurrence.{name}.weight"], w[f"{p}recurrence.{name}.bias"])
               for name in ("to_a", "to_b", "out")}
        pairs = abstract.pairs[i]
        if pairs is None:
            return _Layer(rec["to_a"], rec["to_b"], gate, rec["out"], None, np.zeros(0), None)
        units = np.concatenate([pairs.first, np.asarray(pairs.single, dtype=np.int64)])
        spans = np.asarray([float(Fraction(s, ONE)) for s in pairs.spans.tolist()])
        return _Layer(rec["to_a"], rec["to_b"], gate, rec["out"],
                      _Affine.of(w[p + "mlp.up.weight"][units], w[p + "mlp.up.bias"][units]), spans,
                      _Affine.of(w[p + "mlp.down.weight"][:, units], w[p + "mlp.down.bias"]))

    def step(self, lo: np.ndarray, hi: np.ndarray, symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                                     np.ndarray]:
        """Boxes (B, state coordinates of every layer) reading symbols (B,): the next boxes and the logits' boxes."""
        stream_lo = stream_hi = self.embedded[symbols]
        new_lo, new_hi, start = [], [], 0
        for layer, width in zip(self.layers, self.widths):
            h = lo[:, start:start + width], hi[:, start:start + width]
            start += width
            a = layer.to_a(stream_lo, stream_hi)
            if not self.rotation:
                a = tuple(np.clip(v, *layer.gate) for v in a)
            b = layer.to_b(stream_lo, stream_hi)
            state = self._rotate(a, h, b) if self.rotation else tuple(p + q for p, q in zip(_product(a, h), b))
            new_lo.append(state[0])
            new_hi.append(state[1])
            out = layer.out(*state)
            stream_lo, stream_hi = stream_lo + out[0], stream_hi + out[1]
            if layer.up is not None:
                mlp = self._mlp(layer, stream_lo, stream_hi)
                stream_lo, stream_hi = stream_lo + mlp[0], stream_hi + mlp[1]
        return (np.concatenate(new_lo, axis=1), np.concatenate(new_hi, axis=1), *self.readout(stream_lo, stream_hi))

    @staticmethod
    def _rotate(a, h, b) -> tuple[np.ndarray, np.ndarray]:
        """Re = u Re h - w Im h + Re b, Im = u Im h + w Re h + Im b (``interval_model._rotation``)."""
        c = h[0].shape[1] // 2
        u, w = (a[0][:, :c], a[1][:, :c]), (a[0][:, c:], a[1][:, c:])
        re, im = (h[0][:, :c], h[1][:, :c]), (h[0][:, c:], h[1][:, c:])
        minus_w = (-w[1], -w[0])
        terms_re = [_product(u, re), _product(minus_w, im), (b[0][:, :c], b[1][:, :c])]
        terms_im = [_product(u, im), _product(w, re), (b[0][:, c:], b[1][:, c:])]
        return (np.concatenate([sum(t[0] for t in terms_re), sum(t[0] for t in terms_im)], axis=1),
                np.concatenate([sum(t[1] for t in terms_re), sum(t[1] for t in terms_im)], axis=1))

    @staticmethod
    def _mlp(layer: _Layer, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The clipped pairs as clamps, the singles as ReLUs (``IntervalModel._exact_mlp``)."""
        pairs = len(layer.spans)
        values = [np.concatenate([np.clip(v[:, :pairs], 0, layer.spans), np.maximum(v[:, pairs:], 0)], axis=1)
                  for v in layer.up(lo, hi)]
        return layer.down(*values)


@dataclass
class _Nodes:
    """The search's nodes: DFA state, box ends (float64 vectors over every layer's coordinates), successors."""

    states: list[int]
    lo: list[np.ndarray]
    hi: list[np.ndarray]
    successors: list[list[int | None]]


def search(abstract: IntervalModel, dfa: DFA, max_nodes: int, radius: float,
           widening: float) -> tuple[list[int], list[Box], list[list[int]]]:
    """Nodes (DFA state, box, successors) closed under the float64 step, as ``explore`` grows them (same merge
    rule, within ``radius``), each sweep stepping every box that grew by every symbol at once, until no box grows
    by more than ``SETTLED``; then every box widened by ``widening`` (times max(1, |endpoint|): a contracting
    channel then maps strictly inside) and swept again until nothing grows (channels copied from box to box catch
    up), and rounded outward onto the grid. ``SearchFailed`` if the first phase does not close."""
    model = FloatModel(abstract)
    first = np.concatenate([np.asarray([float(v) for v in layer.fractions()[0]]) for layer in abstract.initial()])
    nodes = _Nodes([dfa.start], [first], [first.copy()], [[None] * dfa.n_symbols])
    if not _sweep(model, dfa, nodes, [0], SETTLED, max_nodes, radius, MAX_SWEEPS):
        raise SearchFailed(f"the boxes did not close in {MAX_SWEEPS} sweeps")
    return _widened(abstract, model, dfa, nodes, widening, max_nodes, radius)


def _widened(abstract: IntervalModel, model: FloatModel, dfa: DFA, found: _Nodes, widening: float, max_nodes: int,
             radius: float) -> tuple[list[int], list[Box], list[list[int]]]:
    """The found nodes, their non-point coordinates widened by ``widening`` (relative), swept until nothing grows
    and rounded outward onto the grid."""
    nodes = _Nodes(list(found.states), [], [], [list(row) for row in found.successors])
    for low, high in zip(found.lo, found.hi):
        slack = np.where(high > low, widening * np.maximum(1.0, np.maximum(np.abs(low), np.abs(high))), 0.0)
        nodes.lo.append(low - slack)
        nodes.hi.append(high + slack)
    _sweep(model, dfa, nodes, list(range(len(nodes.states))), 0.0, max_nodes, radius, CATCH_UP_SWEEPS)
    return nodes.states, _boxes(abstract, nodes.lo, nodes.hi), [list(row) for row in nodes.successors]


def _sweep(model: FloatModel, dfa: DFA, nodes: _Nodes, open_nodes: list[int], settled: float, max_nodes: int,
           radius: float, sweeps: int) -> bool:
    """Steps the open nodes by every symbol, the nodes they reach take the hull (or open), until no node grows
    by more than ``settled`` (times max(1, |endpoint|)): True, or False after ``sweeps`` sweeps."""
    states, lo, hi, successors = nodes.states, nodes.lo, nodes.hi, nodes.successors
    for _ in range(sweeps):
        if not open_nodes:
            return True
        pairs = [(i, a) for i in open_nodes for a in range(dfa.n_symbols)]
        rows = np.asarray([i for i, _ in pairs])
        reached = model.step(np.stack(lo)[rows], np.stack(hi)[rows], np.asarray([a for _, a in pairs]))
        grown: set[int] = set()
        for k, (i, a) in enumerate(pairs):
            r, r_lo, r_hi = int(dfa.delta[states[i], a]), reached[0][k], reached[1][k]
            j = successors[i][a]
            if j is None:
                j = _nearest(states, lo, hi, r, r_lo + r_hi, radius)
            if j is None:
                if len(states) >= max_nodes:
                    raise SearchFailed(f"more than {max_nodes} boxes")
                states.append(r)
                lo.append(r_lo.copy())
                hi.append(r_hi.copy())
                successors.append([None] * dfa.n_symbols)
                j = len(states) - 1
                grown.add(j)
            elif (r_lo < lo[j]).any() or (r_hi > hi[j]).any():
                slack = settled * np.maximum(1.0, np.maximum(np.abs(lo[j]), np.abs(hi[j])))
                if (r_lo < lo[j] - slack).any() or (r_hi > hi[j] + slack).any():
                    grown.add(j)
                lo[j], hi[j] = np.minimum(lo[j], r_lo), np.maximum(hi[j], r_hi)
            successors[i][a] = j
        open_nodes = sorted(grown)
    return False


def _nearest(states: list[int], lo: list[np.ndarray], hi: list[np.ndarray], r: int, twice_mid: np.ndarray,
             radius: float) -> int | None:
    """The node of DFA state r whose box midpoint is nearest (sup norm, within ``radius``), as ``_nearest``."""
    same = [j for j, q in enumerate(states) if q == r]
    if not same:
        return None
    mids = np.stack([lo[j] + hi[j] for j in same])
    distance = np.abs(mids - twice_mid).max(axis=1) / 2
    best = int(np.argmin(distance))
    return same[best] if distance[best] <= radius else None


def _boxes(abstract: IntervalModel, lo: list[np.ndarray], hi: list[np.ndarray]) -> list[Box]:
    """Each node's box on the grid (rounded outward), split by layer."""
    starts = np.cumsum([0, *(len(layer) for layer in abstract.initial())]).tolist()
    boxes = []
    for low, high in zip(lo, hi):
        grid = Intervals(_objects([to_grid_floor(Fraction(v)) for v in low.tolist()]),
                         _objects([to_grid_ceil(Fraction(v)) for v in high.tolist()]))
        boxes.append(tuple(grid[s:e] for s, e in zip(starts[:-1], starts[1:])))
    return boxes
