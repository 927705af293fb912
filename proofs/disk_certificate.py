"""Bounded-length certificates over disks, for rotation cascades with reset traces and odd-order counters: the
float32 model is right up to a proved length. Proof: docs/theorems.md#bounded-disk-certificates
"""
from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from automata.dfa import DFA
from automata.fileformat import dfa_from_json, dfa_to_json
from models.origin import ConstructionOrigin
from proofs.bounded import (
    ASSUMPTIONS,
    PAIRED_ROWS,
    BoundedCertificateError,
    DriftAnalysis,
    GateRoot,
    _decision_holds,
    _ideal_margin,
    _modulus_up,
    _sign,
    check_budgets,
    field_order,
    find_gate_roots,
    layer_safe_length,
    require_length,
)
from proofs.cyclotomic import Cyclotomic
from proofs.document import CertificateError, header
from proofs.float_error import up

if TYPE_CHECKING:
    from models.stack import RecurrentModel

KIND = "bounded-disk"
MAX_NODES = 20_000

Channels = tuple  # per layer: exact [Re ..., Im ...] coordinates, as in ``DriftAnalysis``


class DiskCertificateError(CertificateError):
    """A disk certificate that does not check; the message names the check, the node's step and the value."""


@dataclass(frozen=True)
class Node:
    state: int
    centre: tuple[Channels, ...]
    nominal: tuple[Channels, ...]


@dataclass(frozen=True)
class DiskExploration:
    nodes: int
    margin: Fraction
    growth: tuple[Fraction, ...]  # per layer: 1 + max G
    excess: tuple[Fraction, ...]  # per layer: the largest excess


def _structural(lam: Fraction) -> tuple[Fraction, Fraction]:
    tau = lam / (1 - lam)
    return tau, lam * tau


def _deviations(node: Node, lam: Fraction, budgets: tuple[Fraction, ...]) -> tuple[tuple[Fraction, ...], ...]:
    """Per layer and channel, S + B: the disk radius the node claims."""
    tau, trace = _structural(lam)
    out = []
    for centre, nominal, budget in zip(node.centre, node.nominal, budgets):
        c = len(centre) // 2
        out.append(tuple((tau if centre[j] == nominal[j] and centre[c + j] == nominal[c + j] else trace) + budget
                         for j in range(c)))
    return tuple(out)


def _successor_layer(centre, nominal, image, steps, where: str):
    """One layer's next centre and nominal, and per channel (A, K, snap)."""
    gates = tuple((isinstance(u, Cyclotomic), u, isinstance(w, Cyclotomic), w) for u, w in (s.gate for s in steps))
    kinds = tuple(isinstance(v, Cyclotomic) for v in (*centre, *nominal, *image))
    moved = _moved(centre, nominal, image, gates, kinds)
    if isinstance(moved, int):
        raise DiskCertificateError(f"{where}: channel {moved}'s exact-root gate has modulus > 1", check="i")
    new_x, new_n, snaps = moved
    return new_x, new_n, [(step.growth, step.increment, snap) for step, snap in zip(steps, snaps)]


@functools.lru_cache(maxsize=1 << 16)
def _moved(centre, nominal, image, gates, kinds):
    """``_successor_layer``'s centres, nominals and snaps, a function of exact values only: cached, as the same
    layer states recur across nodes (the key holds every value's type, since a rational's enclosure depends on
    whether it is a Cyclotomic); the first channel whose gate has modulus > 1 instead."""
    c = len(centre) // 2
    new_x, new_n, snaps = [None] * (2 * c), [None] * (2 * c), []
    for j, (_, u, _, w) in enumerate(gates):
        xr, xi, nr, ni = centre[j], centre[c + j], nominal[j], nominal[c + j]
        snap = up(_modulus_up(u, w) * _modulus_up(xr - nr, xi - ni)) if (xr != nr or xi != ni) else Fraction(0)
        b_re, b_im = image[j] - (u * xr - w * xi), image[c + j] - (w * xr + u * xi)  # Y = a X + b
        moved_re, moved_im = u * nr - w * ni + b_re, w * nr + u * ni + b_im  # a N + b, |Y - (a N + b)| = snap
        size = _sign(u * u + w * w - 1)
        if size > 0:
            return j
        new_x[j], new_x[c + j] = moved_re, moved_im
        if size < 0:  # a reset: the nominal value is its input, the centre the trace b + a N
            new_n[j], new_n[c + j] = b_re, b_im
        else:
            new_n[j], new_n[c + j] = moved_re, moved_im
        snaps.append(snap)
    return tuple(new_x), tuple(new_n), tuple(snaps)


def explore_disks(analysis: DriftAnalysis, dfa: DFA, labels: np.ndarray, lam: Fraction,
                  budgets: tuple[Fraction, ...], max_nodes: int = MAX_NODES) -> DiskExploration:
    """Every reachable node, each step's decision proved over the disks, and per layer the recurrence of
    the float part (module docstring); raises at the first step that does not check."""
    initial = analysis.initial()
    start = Node(dfa.start, initial, initial)
    seen, queue = {start}, deque([start])
    layers = len(analysis.blocks)
    growth, excess = [Fraction(1)] * layers, [Fraction(0)] * layers
    margin = None
    tau, trace = _structural(lam)
    while queue:
        node = queue.popleft()
        deviations = _deviations(node, lam, budgets)
        for a in range(dfa.n_symbols):
            image, logits, errors, bound = analysis.step(node.centre, a, deviations)
            r = int(dfa.delta[node.state, a])
            label = int(labels[r])
            where = f"after DFA state {dfa.name(node.state)!r} reads {dfa.alphabet[a]!r}"
            try:
                m = _ideal_margin(logits, label)
            except ValueError:
                raise DiskCertificateError(f"{where}, the exact-root model at the disks' centres does not "
                                           f"pick label {label} of state {dfa.name(r)!r}", check="i") from None
            margin = m if margin is None else min(margin, m)
            if not _decision_holds(logits, errors, label):
                raise DiskCertificateError(f"{where}: over the disks with float budgets "
                                           f"{[str(b) for b in budgets]} the float32 readout is not proved right",
                                           check="iii")
            centres, nominals = [], []
            for i in range(layers):
                x, n, parts = _successor_layer(node.centre[i], node.nominal[i], image[i], bound.channels[i], where)
                centres.append(x)
                nominals.append(n)
                for j, (big_a, k, snap) in enumerate(parts):
                    s_old = deviations[i][j] - budgets[i]
                    s_new = tau if (x[j] == n[j] and x[len(x) // 2 + j] == n[len(n) // 2 + j]) else trace
                    excess[i] = max(excess[i], up(big_a * s_old + k + snap - s_new))
                    growth[i] = max(growth[i], big_a)
            nxt = Node(r, tuple(centres), tuple(nominals))
            if nxt not in seen:
                if len(seen) >= max_nodes:
                    raise DiskCertificateError(f"more than {max_nodes} reachable nodes: the disks' centres "
                                               "do not close up", check="i")
                seen.add(nxt)
                queue.append(nxt)
    return DiskExploration(len(seen), margin or Fraction(1), tuple(growth), tuple(excess))


@dataclass(frozen=True)
class DiskCertificate:
    orders: tuple[int, ...]
    roots: tuple[GateRoot, ...]
    gate_error: Fraction
    largest_modulus: Fraction
    reset_gate: Fraction
    budgets: tuple[Fraction, ...]
    exploration: DiskExploration
    lengths: tuple[int, ...]

    @property
    def length(self) -> int:
        return min(self.lengths)

    def claim(self) -> str:
        return (f"The float32 model's prediction equals the DFA state's label at every position of every string "
                f"of length <= {self.length} (under the stated float assumptions): every reachable step keeps "
                f"each channel in its node's disk, and the readout is right over the disks. Every exact-root gate "
                f"a node uses has modulus <= 1, and every listed stored root pair lies in the closed unit disk.")

    def to_json(self, dfa: DFA, labels: np.ndarray, construction: dict[str, Any] | None = None) -> dict[str, Any]:
        e = self.exploration
        return {**header(KIND), "all_lengths": False,
                "claim": self.claim(), "assumptions": [*ASSUMPTIONS, PAIRED_ROWS], "construction": construction or {},
                "dfa": dfa_to_json(dfa), "labels": [int(x) for x in labels],
                "orders": list(self.orders), "field": f"Q(zeta_{field_order(list(self.orders))})",
                "gates": [r.to_json() for r in self.roots], "gate_error": str(self.gate_error),
                "reset_gate": str(self.reset_gate),
                "disks": {"nodes": e.nodes, "margin_lower_bound": str(e.margin),
                          "radius": "tau = lambda / (1 - lambda) about a nominal centre, lambda tau about a trace, "
                                    "plus the layer's float budget"},
                "budgets": [str(b) for b in self.budgets],
                "recurrence": [{"layer": i, "growth": str(a), "excess": str(k), "safe_length": n}
                               for i, (a, k, n) in enumerate(zip(e.growth, e.excess, self.lengths))],
                "correct_up_to_length": self.length,
                "spectral": {"class": "diag-complex", "stored_gates": len(self.roots),
                             "largest_squared_modulus": str(self.largest_modulus), "within_unit_disk": True}}


def _check(model: RecurrentModel, dfa: DFA, labels: np.ndarray, orders: list[int], roots: tuple[GateRoot, ...],
           gate_error: Fraction | None, lam: Fraction, budgets: tuple[Fraction, ...], requested: int = 1) -> DiskCertificate:
    try:
        analysis = DriftAnalysis(model, roots, orders, paired_rows=True)
    except BoundedCertificateError as err:
        raise DiskCertificateError(err.reason, err.check) from None
    worst = max(analysis.errors.values(), default=Fraction(0))
    if gate_error is not None and worst > gate_error:
        root = next(r for r in roots if analysis.errors[r.parameter, r.row, r.column] > gate_error)
        raise DiskCertificateError(f"layer {root.layer}: gate weight {root.describe()} is not within "
                                   f"{gate_error} of the root (off by up to "
                                   f"{float(analysis.errors[root.parameter, root.row, root.column])!r})", check="ii")
    if not 0 < lam < 1:
        raise DiskCertificateError(f"the reset gate {lam} is not in (0, 1)")
    exploration = explore_disks(analysis, dfa, labels, lam, budgets)
    lengths = tuple(layer_safe_length(a, k, b) for a, k, b in zip(exploration.growth, exploration.excess, budgets))
    try:
        require_length(min(lengths), requested)
    except BoundedCertificateError as err:
        raise DiskCertificateError(err.reason, err.check) from None
    return DiskCertificate(tuple(orders), roots, gate_error if gate_error is not None else worst,
                           analysis.largest_modulus, lam, budgets, exploration, lengths)


def certify_disk(model: RecurrentModel, dfa: DFA, labels: np.ndarray, requested: int = 1) -> DiskCertificate:
    """Find the gates and the largest budget 2^-k (k = 1..40, the same for every layer) whose exploration
    checks, and certify that the float32 model is right up to a length of at least ``requested``."""
    origin = model.config.origin
    if not isinstance(origin, ConstructionOrigin) or origin.reset_gate is None:
        raise DiskCertificateError("the model records no reset gate: not a cascade with reset traces")
    orders, lam = list(origin.counter_orders), Fraction(origin.reset_gate)
    roots = find_gate_roots(model, orders)
    for k in range(1, 41):
        budgets = (Fraction(1, 2 ** k),) * len(model.blocks)
        try:
            return _check(model, dfa, labels, orders, roots, None, lam, budgets, requested)
        except DiskCertificateError as err:
            if err.check != "iii":
                raise
    raise DiskCertificateError("no float budget down to 2^-40 keeps the float32 readout right", check="iii")


def verify_disk(model: RecurrentModel, document: dict[str, Any]) -> dict[str, Any]:
    """Re-check a disk certificate from the stored weights with the document's gates, reset gate and
    budgets; L is recomputed, and a document claiming more fails."""
    try:
        dfa = dfa_from_json(document["dfa"], "certificate")
        labels = np.asarray(document["labels"], dtype=np.int64)
        orders = [int(m) for m in document["orders"]]
        roots = tuple(GateRoot.from_json(item) for item in document["gates"])
        gate_error = Fraction(document["gate_error"])
        lam = Fraction(document["reset_gate"])
        budgets = tuple(Fraction(b) for b in document["budgets"])
        claimed = int(document["correct_up_to_length"])
        check_budgets(orders, budgets)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as err:
        raise DiskCertificateError(f"malformed disk certificate: {err}") from None
    if len(budgets) != len(model.blocks):
        raise DiskCertificateError(f"{len(budgets)} budgets for a model of {len(model.blocks)} layers", check="iii")
    try:
        cert = _check(model, dfa, labels, orders, roots, gate_error, lam, budgets)
    except BoundedCertificateError as err:
        raise DiskCertificateError(err.reason, err.check) from None
    if cert.length < claimed:
        raise DiskCertificateError(f"the certificate claims correctness up to length {claimed}, the checked "
                                   f"quantities give {cert.length}", check="iii")
    return {"kind": KIND, "correct_up_to_length": cert.length, "nodes": cert.exploration.nodes,
            "symbols": dfa.n_symbols, "margin": str(cert.exploration.margin),
            "margin_float": float(cert.exploration.margin), "gate_error": float(cert.gate_error),
            "gates": len(roots), "largest_squared_modulus": str(cert.largest_modulus)}
