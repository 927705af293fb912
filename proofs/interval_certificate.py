"""Interval certificates: a model whose channel values are not a finite set (holonomy cascades with reset
traces) simulates its DFA at every position of every string, by boxes closed under the step.
Proof: docs/theorems.md#boxes-and-rounding
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from automata.dfa import DFA
from automata.fileformat import dfa_from_json, dfa_to_json
from proofs.document import CertificateError, header
from proofs.interval import ROUNDINGS, Intervals, Rounding, _objects, concat
from proofs.interval_model import Box, IntervalModel
from proofs.interval_search import SearchFailed, search
from proofs.rational import fits
from proofs.spectral import SpectralViolation, check_transition, layer_class, spectral_report

if TYPE_CHECKING:
    from models.stack import RecurrentModel

KIND = "interval"
MERGE_RADIUS = Fraction(1, 2)
MAX_GROWTHS = 150
Explored = tuple[list[int], list[Box], list[list[int]]]  # nodes' DFA states, boxes, successors per symbol
FLOAT_NODES = 2  # a float rounding's boxes, at most this many times exact arithmetic's (certify_interval)
SEED_WIDENING = 2.0 ** -28  # the float64 search's boxes, widened (relative) to seed exact arithmetic's
COVERED_FORMATS = {"bfloat16": ("bfloat16", "float32", "float64"), "float32": ("float32", "float64"), "exact": ()}
CLAIM = ("For every string over the alphabet and every position t, the argmax of the model's logits after t "
         "symbols equals the label of the DFA state after t symbols: by induction on t over the listed boxes, "
         "each checked in exact rational arithmetic to map into its successor's box under every symbol, with "
         "the readout's margin positive over the whole box. With float_safety.rounding a float format, the "
         "boxes contain every evaluation of the model in that format (recurrence step by step, every "
         "summation order, IEEE round-to-nearest with gradual underflow), so the claim holds in it too.")


class IntervalCertificateError(CertificateError):
    """An interval certificate that does not check, or boxes that do not close; the message says where."""


@dataclass(frozen=True)
class IntervalCertificate:
    states: tuple[int, ...]  # DFA state of each node
    boxes: tuple[Box, ...]
    successors: tuple[tuple[int, ...], ...]
    rounding: str
    margin: Fraction
    float_dtypes: tuple[str, ...]
    not_float: dict[str, str]  # format -> why the boxes do not close (or do not apply) under its rounding
    spectral: dict[str, Any]

    def to_json(self, dfa: DFA, labels: np.ndarray, construction: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            **header(KIND), "claim": CLAIM, "all_lengths": True,
            "construction": construction or {},
            "dfa": dfa_to_json(dfa), "labels": [int(x) for x in labels], "start": 0,
            "boxes": [{"dfa_state": dfa.name(q), "layers": [_box_json(layer) for layer in box]}
                      for q, box in zip(self.states, self.boxes)],
            "successors": [list(row) for row in self.successors],
            "readout_margin": str(self.margin),
            "float_safety": {"rounding": self.rounding, "sound_in": list(self.float_dtypes),
                             "not_certified_in": dict(self.not_float),
                             "rule": "every operation's float error bounded by gamma_k * sum |terms| (k roundings, "
                                     "any order) plus underflow, Higham 2002 Lemma 3.1"},
            "spectral": self.spectral,
        }


def _box_json(box: Intervals) -> list[list[str]]:
    lo, hi = box.fractions()
    return [[str(a), str(b)] for a, b in zip(lo, hi)]


def _box_from_json(layer: list) -> Intervals:
    try:
        return Intervals.from_fractions([Fraction(lo) for lo, _ in layer], [Fraction(hi) for _, hi in layer])
    except (TypeError, ValueError, ZeroDivisionError):
        raise IntervalCertificateError("a box is not a list of [lo, hi] rational strings") from None


def _flat(box: Box) -> Intervals:
    return concat(list(box))


def _split(flat: Intervals, like: Box) -> Box:
    out, start = [], 0
    for layer in like:
        out.append(flat[start:start + len(layer)])
        start += len(layer)
    return tuple(out)


def _where(box_index: int, dfa: DFA, q: int, a: int) -> str:
    return f"box {box_index} (DFA state {dfa.name(q)!r}) reading {dfa.alphabet[a]!r}"


def _first_outside(box: Box, target: Box) -> str:
    for layer, (x, y) in enumerate(zip(box, target)):
        inside = y.contains(x)
        if not inside.all():
            c = int(np.flatnonzero(~inside)[0])
            (xl, xh), (yl, yh) = ([v[c] for v in x.fractions()], [v[c] for v in y.fractions()])
            return (f"layer {layer}, coordinate {c}: the step reaches [{float(xl):.9g}, {float(xh):.9g}], the box is "
                    f"[{float(yl):.9g}, {float(yh):.9g}]")
    return "inside"


def explore(model: IntervalModel, dfa: DFA, labels: np.ndarray, rounding: Rounding, max_nodes: int,
            seed: Explored | None = None) -> Explored:
    """Boxes closed under the step (module docstring), grown from the initial point or from ``seed``'s nodes (all
    of them stepped); ``IntervalCertificateError`` if they do not close, or as soon as a step's readout misses
    its label's margin: boxes only grow and the step is monotone under inclusion, so ``check``'s (c) would fail
    on the final boxes too."""
    states, boxes, successors = seed or ([dfa.start], [model.initial()], [[None] * dfa.n_symbols])
    states, boxes, successors = list(states), list(boxes), [list(row) for row in successors]
    growths: list[int] = [0] * len(boxes)
    last: list[Intervals | None] = [None] * len(boxes)  # each node's last growth (lo decrease, hi increase)
    queue, queued = deque(range(len(boxes))), set(range(len(boxes)))
    while queue:
        i = queue.popleft()
        queued.discard(i)
        for a in range(dfa.n_symbols):
            step = model.step(boxes[i], a, rounding)
            reached, r = step.states, int(dfa.delta[states[i], a])
            margin = _margin(step.logits, int(labels[r]))
            if margin <= 0:
                raise IntervalCertificateError(f"{_where(i, dfa, states[i], a)}: the readout does not pick label "
                                               f"{int(labels[r])} of {dfa.name(r)!r} over the whole box (margin "
                                               f"{float(margin):.6g})", check="c")
            j = successors[i][a]
            if j is None:
                j = _nearest(states, boxes, r, reached)
            if j is None:
                if len(boxes) >= max_nodes:
                    raise IntervalCertificateError(f"more than {max_nodes} boxes: the reachable states do not "
                                                   "cluster into finitely many")
                states.append(r)
                boxes.append(reached)
                growths.append(0)
                last.append(None)
                successors.append([None] * dfa.n_symbols)
                j = len(boxes) - 1
                queue.append(j)
                queued.add(j)
            elif not _flat(boxes[j]).contains(_flat(reached)).all():
                if growths[j] >= MAX_GROWTHS:
                    raise IntervalCertificateError(f"no inductive box found: {_where(i, dfa, states[i], a)} keeps "
                                                   f"leaving box {j}: {_first_outside(reached, boxes[j])}", check="b")
                boxes[j], last[j] = _grow(boxes[j], reached, last[j], remember=rounding.mantissa is None)
                growths[j] += 1
                if j not in queued:
                    queue.append(j)
                    queued.add(j)
            successors[i][a] = j
    return states, boxes, [list(row) for row in successors]


def _nearest(states: list[int], boxes: list[Box], r: int, reached: Box) -> int | None:
    flat = _flat(reached)
    best = None
    for j, (q, box) in enumerate(zip(states, boxes)):
        if q == r:
            d = flat.midpoint_distance(_flat(box))
            if d <= MERGE_RADIUS and (best is None or d < best[0]):
                best = (d, j)
    return None if best is None else best[1]


def _grow(box: Box, reached: Box, previous: Intervals | None, remember: bool) -> tuple[Box, Intervals]:
    """The hull of ``box`` and ``reached``, and the growth it took (lo decrease, hi increase). An endpoint whose
    growth is at most half its previous one is taken for the next term of a contracting series, whose tail
    (r/(1-r) of the growth, r <= 1/2) is at most the growth itself: it moves by twice its growth, near the
    limit, instead of reaching it a few bits at a time. Any box may be tried: ``check`` decides. ``remember``:
    an endpoint that did not grow keeps its previous growth (a cascade's channels converge in turn, and this
    widens each as its own series: 2-3x fewer steps); in exact arithmetic only, where the detectors saturate
    and the readout margin does not depend on the boxes' widths, as float error bounds (and margins) do."""
    old, flat = _flat(box), _flat(box).hull(_flat(reached))
    growth = Intervals(old.lo - flat.lo, flat.hi - old.hi)
    if previous is None:
        return _split(flat, box), growth
    flat = flat.widen(_contracting(growth.lo, previous.lo), _contracting(growth.hi, previous.hi))
    if remember:
        growth = Intervals(_objects([g or p for g, p in zip(growth.lo.tolist(), previous.lo.tolist())]),
                           _objects([g or p for g, p in zip(growth.hi.tolist(), previous.hi.tolist())]))
    return _split(flat, box), growth


def _contracting(growth: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Each endpoint's growth where it is at most half the previous one (and not zero), else 0."""
    return _objects([g if 0 < 2 * g <= p else 0 for g, p in zip(growth.tolist(), previous.tolist())])


@dataclass(frozen=True)
class Checked:
    margin: Fraction
    spectral: dict[str, Any]


def check(model: IntervalModel, dfa: DFA, labels: np.ndarray, states: list[int], boxes: list[Box],
          successors: list[list[int]], rounding: Rounding, classes: list[str] | None = None) -> Checked:
    """(a)-(d) of the module docstring, from scratch; ``IntervalCertificateError`` names the box, symbol,
    layer and coordinate that break."""
    initial = model.initial()
    if states[0] != dfa.start or not _flat(boxes[0]).contains(_flat(initial)).all():
        raise IntervalCertificateError("the model's initial state with the DFA's start state is not in box 0", check="a")
    config = model.model.config
    transitions: list[set[tuple]] = [set() for _ in config.layers]
    margin = None
    for i, (q, box) in enumerate(zip(states, boxes)):
        if len(successors[i]) != dfa.n_symbols:
            raise IntervalCertificateError(f"box {i} lists {len(successors[i])} successors for {dfa.n_symbols} symbols")
        for a, j in enumerate(successors[i]):
            where = _where(i, dfa, q, a)
            step = model.step(box, a, rounding)
            for layer, recorded in enumerate(step.transitions):
                for t in recorded:
                    try:
                        check_transition(layer, classes[layer] if classes else _class(model, layer), t)
                    except SpectralViolation as err:
                        raise IntervalCertificateError(f"{where}: {err}", check="d") from None
                transitions[layer].update(recorded)
            r = int(dfa.delta[q, a])
            if not 0 <= j < len(states) or states[j] != r:
                raise IntervalCertificateError(f"{where}: the DFA goes to {dfa.name(r)!r}, the certificate's "
                                               f"successor is not a box of that state", check="b")
            if not _flat(boxes[j]).contains(_flat(step.states)).all():
                raise IntervalCertificateError(f"{where}: the step leaves box {j}: "
                                               f"{_first_outside(step.states, boxes[j])}", check="b")
            m = _margin(step.logits, int(labels[r]))
            if m <= 0:
                raise IntervalCertificateError(f"{where}: the readout does not pick label {int(labels[r])} of "
                                               f"{dfa.name(r)!r} over the whole box (margin {float(m):.6g})", check="c")
            margin = m if margin is None else min(margin, m)
    return Checked(margin if margin is not None else Fraction(1),
                   spectral_report(config.arch, config.layers, transitions))


def _class(model: IntervalModel, layer: int) -> str:
    return layer_class(model.model.config.arch, model.model.config.layers[layer])


def _margin(logits: Intervals, label: int) -> Fraction:
    lo, hi = logits.fractions()
    others = [h for k, h in enumerate(hi) if k != label]
    return lo[label] - max(others) if others else Fraction(1)


def certify_interval(model: RecurrentModel, dfa: DFA, labels: np.ndarray, max_nodes: int = 20_000) -> IntervalCertificate:
    """Boxes for the coarsest rounding that closes (bfloat16 when the weights are bfloat16 numbers, then
    float32, then exact arithmetic), checked by ``check``; ``IntervalCertificateError`` if none does.
    Exact arithmetic is explored first: a float rounding may use ``FLOAT_NODES`` times its boxes, so one
    whose errors run away (amplified through a cascade's detectors, opening box after box) is given up in
    proportion to the automaton, not after ``max_nodes`` boxes."""
    abstract = IntervalModel(model)
    exact = ROUNDINGS["exact"]
    try:
        seed = search(abstract, dfa, max_nodes, float(MERGE_RADIUS), SEED_WIDENING)
    except SearchFailed:
        seed = None
    try:
        explored = _explore(abstract, dfa, labels, exact, max_nodes, seed)
        budget, why = min(max_nodes, FLOAT_NODES * len(explored[1])), f" ({FLOAT_NODES}x the exact boxes)"
    except IntervalCertificateError as err:
        explored, budget, why = err, max_nodes, ""
    not_float: dict[str, str] = {}
    for name in ("bfloat16", "float32"):
        if not fits(abstract.distinct_weights, name):
            not_float[name] = f"the weights are not {name} numbers"
            continue
        try:
            found = _explore(abstract, dfa, labels, ROUNDINGS[name], budget,
                             None if isinstance(explored, IntervalCertificateError) else explored)
            return _certificate(abstract, dfa, labels, found, ROUNDINGS[name], not_float)
        except IntervalCertificateError as err:
            not_float[name] = str(err) + why
    if isinstance(explored, IntervalCertificateError):
        raise explored
    return _certificate(abstract, dfa, labels, explored, exact, not_float)


def _explore(abstract: IntervalModel, dfa: DFA, labels: np.ndarray, rounding: Rounding, max_nodes: int,
             seed: Explored | None) -> Explored:
    """``explore`` from ``seed``'s boxes (exact arithmetic: the float64 search's, which one sweep usually closes; a
    float rounding: exact arithmetic's, which its boxes contain), or from the initial point alone when there is
    no seed or it does not close."""
    if seed is not None:
        try:
            return explore(abstract, dfa, labels, rounding, max_nodes, seed)
        except IntervalCertificateError:
            pass
    return explore(abstract, dfa, labels, rounding, max_nodes)


def _certificate(abstract: IntervalModel, dfa: DFA, labels: np.ndarray,
                 explored: Explored, rounding: Rounding,
                 not_float: dict[str, str]) -> IntervalCertificate:
    """The certificate of explored boxes once ``check`` accepts them under ``rounding``."""
    states, boxes, successors = explored
    checked = check(abstract, dfa, labels, states, boxes, successors, rounding)
    return IntervalCertificate(tuple(states), tuple(boxes), tuple(tuple(r) for r in successors), rounding.name,
                               checked.margin, COVERED_FORMATS[rounding.name], not_float, checked.spectral)


def verify_interval(model: RecurrentModel, document: dict[str, Any], dfa: DFA | None = None) -> dict[str, Any]:
    """Re-check an interval certificate against the model's weights and the DFA, from scratch."""
    cert_dfa = dfa_from_json(document["dfa"], "certificate")
    dfa = dfa or cert_dfa
    if dfa.alphabet != cert_dfa.alphabet:
        raise IntervalCertificateError("the certificate's DFA has a different alphabet")
    labels = np.asarray(document["labels"], dtype=np.int64)
    names = {name: q for q, name in enumerate(dfa.state_names)}
    safety = document.get("float_safety", {})
    rounding = ROUNDINGS.get(safety.get("rounding"))
    if rounding is None:
        raise IntervalCertificateError(f"unknown rounding model {safety.get('rounding')!r}")
    try:
        states = [names[b["dfa_state"]] for b in document["boxes"]]
        boxes = [tuple(_box_from_json(layer) for layer in b["layers"]) for b in document["boxes"]]
        successors = [[int(j) for j in row] for row in document["successors"]]
        classes = [str(layer["class"]) for layer in document["spectral"]["layers"]]
    except (KeyError, TypeError):
        raise IntervalCertificateError("the interval certificate is malformed (boxes, successors, spectral)") from None
    abstract = IntervalModel(model)
    widths = [len(layer) for layer in abstract.initial()]
    for i, box in enumerate(boxes):
        if [len(layer) for layer in box] != widths:
            raise IntervalCertificateError(f"box {i} has layer widths {[len(layer) for layer in box]}, the model's "
                                           f"states have {widths}")
    if document.get("start", 0) != 0:
        raise IntervalCertificateError("the start box must be box 0", check="a")
    checked = check(abstract, dfa, labels, states, boxes, successors, rounding, classes)
    if document.get("spectral") != checked.spectral:
        raise IntervalCertificateError("the certificate's spectral section does not match the gates the boxes use",
                                       check="d")
    if rounding.mantissa is not None and not fits(abstract.distinct_weights, rounding.name):
        raise IntervalCertificateError(f"the certificate's rounding is {rounding.name}, but the weights are not "
                                       f"{rounding.name} numbers")
    return {"kind": KIND, "configurations": len(boxes), "symbols": dfa.n_symbols, "margin": str(checked.margin),
            "rounding": rounding.name, "sound_in": list(COVERED_FORMATS[rounding.name]), "exact_in": [],
            "spectral": [{"layer": layer["layer"], "class": layer["class"]} for layer in checked.spectral["layers"]]}
