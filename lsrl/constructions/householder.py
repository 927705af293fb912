"""One-layer DeltaProduct simulations of DFAs: every letter a product of generalized Householder factors with
integer keys (exact), over one-hot or permutation-matrix states. Proof: docs/constructions.md#householder-products
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from automata.dfa import DFA
from lsrl.constructions.coset_action import coset_actions
from lsrl.constructions.decode import integer_readout, vertex_detectors
from lsrl.constructions.errors import NotImplementedConstruction
from lsrl.constructions.labelling import resolve_labels
from lsrl.constructions.layout import Layout, label_readout, one_hot_embedding
from lsrl.constructions.result import CompiledAutomaton
from models import registry
from models.config import LayerConfig, ModelConfig
from models.origin import ConstructionOrigin
from models.stack import RecurrentModel

SIEMS = ("Siems et al. 2025, 'DeltaProduct: Improving State-Tracking in Linear RNNs via Householder Products'; "
         "Grazzi et al. 2025, 'Unlocking State-Tracking in Linear RNNs Through Negative Eigenvalues'")
GATE_RANGE = registry.get("deltaproduct").gate_range


@dataclass(frozen=True)
class Factor:
    """``S <- (I - beta k k^T) S + beta k v^T`` with an unnormalised key (eigenvalue 1 - beta |k|^2 along k)."""

    key: tuple[float, ...]
    beta: float
    value: tuple[float, ...]


def transpositions(permutation: np.ndarray) -> list[tuple[int, int]]:
    """Swaps (i, j), n - #cycles of them, whose application in order moves coordinate x to p[x]."""
    n = len(permutation)
    inverse = np.empty(n, dtype=np.int64)
    inverse[np.asarray(permutation)] = np.arange(n)
    content = list(range(n))  # content[p]: the coordinate whose mass is now at p
    where = list(range(n))
    swaps = []
    for p in range(n):
        want = int(inverse[p])
        j = where[want]
        if j != p:
            swaps.append((p, j))
            content[p], content[j] = content[j], content[p]
            where[content[p]], where[content[j]] = p, j
    return swaps


def _swap_factors(permutation: np.ndarray, d_value: int) -> list[Factor]:
    n = len(permutation)
    factors = []
    for i, j in transpositions(permutation):
        key = np.zeros(n)
        key[i], key[j] = 1.0, -1.0
        factors.append(Factor(tuple(key), 1.0, (0.0,) * d_value))
    return factors


def _haar_keys(n: int) -> list[np.ndarray]:
    """The n - 1 Haar vectors (1 on a block's left half, -1 on its right half) of a power of two n."""
    keys = []
    size = n
    while size > 1:
        for start in range(0, n, size):
            key = np.zeros(n)
            key[start:start + size // 2], key[start + size // 2:start + size] = 1.0, -1.0
            keys.append(key)
        size //= 2
    return keys


def _reset_factors(n: int, target: int) -> list[Factor]:
    """Factors sending every one-hot vector to e_target (docs/constructions.md#householder-products)."""
    if n > 1 and n & (n - 1) == 0:
        return [Factor(tuple(k), 1.0 / float(k @ k), (float(k[target]),)) for k in _haar_keys(n)]
    return [Factor(tuple(np.eye(n)[q]), 1.0, (float(q == target),)) for q in range(n)]


def letter_factors(transformation: np.ndarray) -> list[Factor] | None:
    """Factors taking e_q to e_{t[q]} for every state q (one-hot vector state), or None if the
    transformation is neither a permutation nor constant."""
    n = len(transformation)
    image = np.unique(transformation)
    if len(image) == n:
        return _swap_factors(transformation, 1)
    if len(image) == 1:
        return _reset_factors(n, int(image[0]))
    return None


@dataclass(frozen=True)
class Plan:
    """A one-layer DeltaProduct: per-letter factors over keys of size d_k, initial state, query,
    and (for the matrix encoding) each group element's image of every point with its DFA state."""

    d_key: int
    d_value: int
    factors: tuple[tuple[Factor, ...], ...]
    initial: np.ndarray
    query: np.ndarray
    element_points: np.ndarray | None
    element_state: np.ndarray | None
    description: str

    @property
    def n_h(self) -> int:
        return max(1, max(len(f) for f in self.factors))

    def cost(self) -> tuple[int, int]:
        return self.n_h, self.d_key * self.d_value


def one_hot_plan(dfa: DFA, labels: np.ndarray) -> Plan:
    """The one-hot vector encoding; NotImplementedConstruction names a letter it cannot take."""
    factors = []
    for a in range(dfa.n_symbols):
        f = letter_factors(np.asarray(dfa.delta[:, a]))
        if f is None:
            raise NotImplementedConstruction(
                "deltaproduct", f"letter {dfa.alphabet[a]!r} maps the minimal DFA's states neither injectively nor "
                f"to a single state, so one layer over one-hot states cannot apply it (merging states expands "
                f"distances, Householder factors do not); a Krohn-Rhodes cascade of layers is needed")
        factors.append(tuple(f))
    initial = np.zeros((dfa.n_states, 1))
    initial[dfa.start, 0] = 1.0
    return Plan(dfa.n_states, 1, tuple(factors), initial, labels.astype(float), None, None,
                f"one-hot state over the {dfa.n_states} minimal-DFA states")


def coset_plans(dfa: DFA) -> list[Plan]:
    """Permutation-matrix encodings for a group DFA, one per coset action found (``coset_action``)."""
    plans = []
    for action in coset_actions(dfa):
        d = action.n_points
        factors = tuple(tuple(_swap_factors(points, d)) for points in action.letters)
        plans.append(Plan(d, d, factors, np.eye(d), np.arange(d, dtype=float), action.elements,
                          action.element_state, f"permutation matrix of {action.description()}"))
    return plans


def best_plan(dfa: DFA, labels: np.ndarray) -> Plan:
    """The smallest plan found, by (n_h, state size)."""
    plans = coset_plans(dfa)
    try:
        plans.append(one_hot_plan(dfa, labels))
    except NotImplementedConstruction:
        if not plans:
            raise
    return min(plans, key=Plan.cost)


def deltaproduct(dfa: DFA, labels: np.ndarray | None = None, n_h: int | None = None) -> CompiledAutomaton:
    """A one-layer DeltaProduct (beta in [0, 2]) computing ``labels[state]`` after every prefix; ``n_h``
    defaults to the least the plan needs (a larger one pads with identity factors)."""
    labels, n_labels = resolve_labels(dfa, labels)
    plan = best_plan(dfa, labels)
    if n_h is not None and n_h < plan.n_h:
        raise NotImplementedConstruction("deltaproduct", f"n_h = {n_h} is too few: the smallest construction "
                                                         f"found ({plan.description}) needs n_h = {plan.n_h}")
    return _build(dfa, labels, n_labels, plan, n_h or plan.n_h)


def _build(dfa: DFA, labels: np.ndarray, n_labels: int, plan: Plan, n_h: int) -> CompiledAutomaton:
    k = dfa.n_symbols
    layout = Layout()
    symbols = layout.add("symbol", k)
    matrix = plan.element_points is not None
    read = layout.add("points" if matrix else "label", plan.d_value)
    state = layout.add("state", dfa.n_states) if matrix else None
    units = len(plan.element_points) if matrix else 0
    layer = LayerConfig(d_state=plan.d_key, d_value=plan.d_value, n_h=n_h, gate_range=GATE_RANGE, mlp_hidden=units)
    config = ModelConfig("deltaproduct", k, n_labels, layout.width, (layer,), exact=True,
                         origin=ConstructionOrigin("householder-" + ("permutation-matrix" if matrix else "one-hot"),
                                                   description=plan.description))
    model = RecurrentModel(config)
    with torch.no_grad():
        one_hot_embedding(model.embedding.weight, symbols)
        rec = model.blocks[0].recurrence
        for p in rec.parameters():
            p.zero_()
        for a, factors in enumerate(plan.factors):
            for j, f in enumerate(factors):
                rec.to_k.weight[j * plan.d_key:(j + 1) * plan.d_key, symbols.start + a] = torch.tensor(f.key)
                rec.to_v.weight[j * plan.d_value:(j + 1) * plan.d_value, symbols.start + a] = torch.tensor(f.value)
                rec.to_beta.weight[j, symbols.start + a] = f.beta
        rec.to_q.bias.copy_(torch.tensor(plan.query))
        rec.s0.copy_(torch.tensor(plan.initial))
        rec.out.weight[read.slice] = torch.eye(plan.d_value)
        if matrix:
            points = torch.tensor(plan.element_points, dtype=torch.float64)
            # sum_j c_j o_j - |c|^2 + 1 = 1 - |c - o|^2 / 2: 1 at the element's points c, <= 0 at any other
            vertex_detectors(model.blocks[0].mlp, read, state, points, 1.0 - points.square().sum(1),
                             plan.element_state.tolist())
            label_readout(model.readout, state, labels, n_labels)
        else:  # the query holds the labels, so the layer outputs the label itself
            integer_readout(model.readout, read.start, n_labels)
    return CompiledAutomaton(model, dfa, labels, config.origin.construction, SIEMS)
