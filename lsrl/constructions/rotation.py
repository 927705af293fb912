"""One-layer complex diagonal (rotation) simulation of abelian group DFAs, and its float drift bound.

When every letter permutes the minimal DFA's states and the letters commute, the transition group G is
abelian and acts regularly, so states are group elements. G is split into cyclic factors Z_{m_1} x ...
x Z_{m_r} (invariant factors, m_1 | m_2 | ... ; r is the least number of cyclic factors); each factor is
one complex channel h_i = exp(2 pi i c_i / m_i) with h_0 = 1, and a letter with coordinates (c_i)
multiplies channel i by exp(2 pi i c_i / m_i) (Merrill, Petty, Sabharwal 2024 note that such diagonal
complex SSMs count modulo m). The state is decoded by cosine scores: sum_i Re(conj(w_i) h_i) is r at the
element w and at most r - mu elsewhere, mu = min_i (1 - cos(2 pi / m_i)).

Exactness: a rotation of order 1, 2 or 4 has gate entries in {0, 1, -1} and the state stays in
{1, i, -1, -i}, so those channels are exact for every length. Other orders use float32 values of cos and
sin chosen inside the closed unit disk (``root_of_unity``), and the state drifts; ``RotationBound``
bounds the drift (Higham's complex multiplication bound) and gives the length up to which every decision is provably right.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from automata.dfa import DFA
from automata.finite_groups import FiniteGroup
from automata.monoid import transition_monoid
from lsrl.constructions.coset_action import is_group_dfa
from lsrl.constructions.decode import vertex_detectors
from lsrl.constructions.errors import NotImplementedConstruction
from lsrl.constructions.labelling import resolve_labels
from lsrl.constructions.layout import Layout, label_readout, one_hot_embedding
from lsrl.constructions.result import CompiledAutomaton
from models.config import LayerConfig, ModelConfig
from models.stack import RecurrentModel
from proofs.cyclotomic import exact_root, root_of_unity

MERRILL = ("Merrill, Petty, Sabharwal 2024, 'The Illusion of State in State-Space Models' (complex diagonal "
           "SSMs count modulo m); rotations by 2 pi c / m per cyclic factor")
UNIT_ROUNDOFF = 2.0 ** -24  # float32, round to nearest
MAX_SAFE_LENGTH = 2 ** 62


def cyclic_factors(group: FiniteGroup) -> tuple[tuple[int, ...], np.ndarray]:
    """Invariant factors (m_1, ..., m_r) of an abelian group and ``coords`` (order, r): the exponents of
    each element in fixed generators of the factors. Per prime, a cyclic subgroup of largest order that
    meets the part chosen so far trivially is a direct factor (of the quotient), so greedy choice works;
    the i-th largest p-factors of all primes are then joined into one cyclic factor (CRT)."""
    orders = group.element_orders
    chosen: dict[int, list[int]] = {}
    for p in sorted({int(f) for m in orders.tolist() for f in _primes(m)}):
        powers = [g for g in range(group.order) if _is_power_of(int(orders[g]), p)]
        part = _span(group, [])
        picked: list[int] = []
        while int(part.sum()) < len(powers):
            g = max((g for g in powers if _meets_trivially(group, part, g)), key=lambda g: orders[g])
            picked.append(g)
            part = _span(group, picked)
        chosen[p] = sorted(picked, key=lambda g: -orders[g])
    rank = max((len(v) for v in chosen.values()), default=0)
    generators, moduli = [], []
    for i in range(rank):
        g, m = 0, 1
        for gens in chosen.values():
            if i < len(gens):
                g = int(group.multiply(g, gens[i]))
                m *= int(orders[gens[i]])
        generators.append(g)
        moduli.append(m)
    generators, moduli = generators[::-1], moduli[::-1]  # ascending: m_1 | m_2 | ...
    table = _coordinate_table(group, generators, moduli)
    coords = np.zeros((group.order, rank), dtype=np.int64)
    coords[table[:, 0]] = table[:, 1:]
    return tuple(moduli), coords


def _coordinate_table(group: FiniteGroup, generators: list[int], moduli: list[int]) -> np.ndarray:
    """Rows (element, c_1, ..., c_r) for every exponent tuple; raises if the generators do not give a
    direct product decomposition (a bug, not a user error)."""
    rows = [(0,)]
    for g, m in zip(generators, moduli):
        grown = []
        for row in rows:
            element = row[0]
            for c in range(m):
                grown.append((element,) + row[1:] + (c,))
                element = int(group.multiply(element, g))
        rows = grown
    table = np.asarray(rows, dtype=np.int64).reshape(len(rows), 1 + len(moduli))
    if len(np.unique(table[:, 0])) != group.order:
        raise AssertionError("cyclic factors do not decompose the group")
    return table


def _primes(m: int) -> list[int]:
    out, p = [], 2
    while m > 1:
        if m % p == 0:
            out.append(p)
            while m % p == 0:
                m //= p
        p += 1
    return out


def _is_power_of(m: int, p: int) -> bool:
    while m % p == 0:
        m //= p
    return m == 1


def _span(group: FiniteGroup, generators: list[int]) -> np.ndarray:
    """Mask of the subgroup generated by elements of an abelian group."""
    mask = np.zeros(group.order, dtype=bool)
    mask[0] = True
    members = np.zeros(1, dtype=np.int64)
    for g in generators:
        layer = members
        while True:
            layer = np.asarray(group.multiply(layer, g))
            fresh = layer[~mask[layer]]
            if fresh.size == 0:
                break
            mask[fresh] = True
            members = np.concatenate([members, fresh])
    return mask


def _meets_trivially(group: FiniteGroup, part: np.ndarray, g: int) -> bool:
    x = g
    while x != 0:
        if part[x]:
            return False
        x = int(group.multiply(x, g))
    return True


@dataclass(frozen=True)
class RotationBound:
    """Worst-case float32 drift of the rotation layer. With gate error ``gate_error`` = max |a_hat - a|
    over the stored gates and readout coefficients, rho = 1 + gate_error and Higham's bound
    |fl(xy) - xy| <= sqrt(2) gamma_2 |x||y| for complex products (Higham 2002, Lemma 3.5), the state
    error obeys e_t <= lambda e_{t-1} + kappa, lambda = rho (1 + sqrt(2) gamma_2),
    kappa = sqrt(2) gamma_2 rho + gate_error, e_0 = 0. A decision is right while the score error stays
    below half the score gap ``margin`` (direct readout) or below half the detector offset (MLP)."""

    gate_error: float
    margin: float
    channels: int
    detectors: bool

    @classmethod
    def for_moduli(cls, moduli: tuple[int, ...], detectors: bool) -> RotationBound:
        """The bound for rotation channels of these orders, over every root of unity of each order (as
        float32 gates and readout coefficients), read out directly or by ``detectors``."""
        roots = np.array([exact_root(c, m) for m in moduli for c in range(m)])
        stored = np.array([root_of_unity(c, m) for m in moduli for c in range(m)])
        exact = all(4 % m == 0 for m in moduli)
        gate_error = float(np.hypot(*(stored - roots).T).max()) + (0.0 if exact else 2.0 ** -51)
        margin = min(1 - math.cos(2 * math.pi / m) if m > 1 else 2.0 for m in moduli)
        return cls(gate_error, margin, len(moduli), detectors)

    def state_error(self, length: int) -> float:
        """Bound on |h_hat_t - h_t| for every channel and every t <= length."""
        gamma2 = 2 * UNIT_ROUNDOFF / (1 - 2 * UNIT_ROUNDOFF)
        rho = 1 + self.gate_error
        growth = rho * (1 + math.sqrt(2) * gamma2) - 1
        kappa = math.sqrt(2) * gamma2 * rho + self.gate_error
        exponent = length * math.log1p(growth)
        return math.inf if exponent > 700 else kappa * math.expm1(exponent) / growth

    def score_error(self, length: int) -> float:
        """Bound on the error of a readout logit (direct) or a detector pre-activation (MLP)."""
        e = self.state_error(length)
        r = self.channels
        terms = 2 * r + 1 if self.detectors else 2
        gamma = terms * UNIT_ROUNDOFF / (1 - terms * UNIT_ROUNDOFF)
        rho = 1 + self.gate_error
        per_channel = self.gate_error * (1 + e) + e
        return 1.001 * (r * per_channel + gamma * (math.sqrt(2) * r * rho * (1 + e) + r) + UNIT_ROUNDOFF * r)

    def safe(self, length: int) -> bool:
        return self.score_error(length) < self.margin / 2

    def safe_length(self) -> int:
        """The largest length (capped at 2^62) up to which every decision is provably right."""
        if not self.safe(1):
            return 0
        low, high = 1, MAX_SAFE_LENGTH
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if self.safe(mid) else (low, mid - 1)
        return low


def rotation(dfa: DFA, labels: np.ndarray | None = None) -> CompiledAutomaton:
    """One complex diagonal layer computing ``labels[state]`` for a DFA whose transition group is
    abelian; ``meta["safe_length"]`` is None when exact for all lengths, else the proved safe length."""
    labels, n_labels = resolve_labels(dfa, labels)
    if not is_group_dfa(dfa):
        raise NotImplementedConstruction("rotation", "one rotation layer needs every letter to permute the minimal "
                                                     "DFA's states (a group automaton); other automata need a cascade "
                                                     "with resets, which is not implemented")
    monoid = transition_monoid(dfa)
    group = FiniteGroup.from_elements(monoid.transformations)
    if not group.is_abelian:
        raise NotImplementedConstruction("rotation", f"the transition group (order {group.order}) is not abelian; a "
                                                     f"solvable group needs a cascade of rotation layers, not implemented")
    moduli, coords = cyclic_factors(group)
    if not moduli:
        moduli, coords = (1,), np.zeros((group.order, 1), dtype=np.int64)
    return _build(dfa, labels, n_labels, moduli, coords, monoid.right[0],
                  monoid.transformations[:, dfa.start].astype(np.int64))


def _build(dfa: DFA, labels: np.ndarray, n_labels: int, moduli: tuple[int, ...], coords: np.ndarray,
           letter_elements: np.ndarray, element_state: np.ndarray) -> CompiledAutomaton:
    k, r = dfa.n_symbols, len(moduli)
    roots = np.array([[root_of_unity(int(c), m) for c, m in zip(row, moduli)] for row in coords])  # (|G|, r, 2)
    direct = r == 1 and len(np.unique(labels)) == dfa.n_states
    layout = Layout()
    symbols, phase = layout.add("symbol", k), layout.add("phase", 2 * r)
    state = None if direct else layout.add("state", dfa.n_states)
    exact = all(4 % m == 0 for m in moduli)
    bound = RotationBound.for_moduli(moduli, detectors=not direct)
    layer = LayerConfig(d_state=2 * r, mlp_hidden=0 if direct else len(coords))
    config = ModelConfig("rotation", k, n_labels, layout.width, (layer,), exact=True,
                         meta={"construction": "rotation-cyclic-factors", "moduli": list(moduli),
                               "safe_length": None if exact else bound.safe_length()})
    model = RecurrentModel(config)
    roots_t = torch.tensor(roots, dtype=torch.float64)
    with torch.no_grad():
        one_hot_embedding(model.embedding.weight, symbols)
        rec = model.blocks[0].recurrence
        for p in rec.parameters():
            p.zero_()
        for a, g in enumerate(letter_elements.tolist()):
            rec.to_a.weight[:r, symbols.start + a] = roots_t[g, :, 0]
            rec.to_a.weight[r:, symbols.start + a] = roots_t[g, :, 1]
        rec.h0[:r] = 1.0
        rec.out.weight[phase.slice] = torch.eye(2 * r)
        scores = torch.cat([roots_t[..., 0], roots_t[..., 1]], dim=1)  # (|G|, 2r): cos on Re, sin on Im
        if direct:
            model.readout.weight.zero_()
            model.readout.bias.zero_()
            for g, q in enumerate(element_state.tolist()):
                model.readout.weight[labels[q], phase.slice] = scores[g].float()
        else:
            vertex_detectors(model.blocks[0].mlp, phase, state, scores, torch.full((len(coords),), bound.margin / 2 - r),
                             element_state.tolist())
            label_readout(model.readout, state, labels, n_labels)
    return CompiledAutomaton(model, dfa, labels, config.meta["construction"], MERRILL)
