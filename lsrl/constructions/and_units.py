"""AND units: one-layer nonlinear RNNs (Elman ReLU / tanh, LSTM, GRU) whose hidden units are exact ANDs of a
code bit and the symbol. Proof: docs/constructions.md#and-units
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from automata.dfa import DFA
from lsrl.constructions.decode import vertex_detectors
from lsrl.constructions.labelling import resolve_labels
from lsrl.constructions.layout import Layout, Subspace, label_readout, one_hot_embedding
from lsrl.constructions.result import CompiledAutomaton
from models import registry
from models.config import LayerConfig, ModelConfig
from models.origin import ConstructionOrigin
from models.stack import RecurrentModel

SATURATE = 1000.0  # sigmoid pre-activation that is exactly 0 or 1 in float32 and float64
CELL = 40.0  # LSTM cell value with tanh(CELL) = 1 exactly in float32 and float64
TANH_SCALE = 50.0  # tanh pre-activations are +-25 or beyond
MINSKY = "Minsky 1967: one unit per (state, symbol) pair"


def _family(cls: str) -> tuple[str, str]:
    """The module family of a nonlinear class (``models.registry``) and its Elman nonlinearity."""
    spec = registry.get(cls)
    return spec.family, dict(spec.layer).get("nonlinearity", "relu")


@dataclass(frozen=True, eq=False)
class AndUnits:
    """U bit units over a code of S coordinates and k symbols, all 0/1 matrices: unit u reads the code
    coordinates ``reads_code[u]`` (at most one; none: the unit never fires) and the symbols
    ``reads_symbol[u]``; code coordinate s is the sum of the bits of the units ``to_code[s]``; ``initial``
    holds the bits before the first symbol."""

    reads_code: np.ndarray  # (U, S)
    reads_symbol: np.ndarray  # (U, k)
    to_code: np.ndarray  # (S, U)
    initial: np.ndarray  # (U,)

    @property
    def n_units(self) -> int:
        return int(self.reads_code.shape[0])

    @property
    def code_size(self) -> int:
        return int(self.to_code.shape[0])

    def write(self, arch: str, rec: torch.nn.Module, symbols: Subspace, code: Subspace, nonlinearity: str) -> None:
        """Write the units into the recurrence ``rec`` of model architecture ``arch``; ``code`` receives the code."""
        WRITERS[arch](rec, self, symbols, code, nonlinearity)


@dataclass(frozen=True, eq=False)
class Detectors:
    """An MLP from the code to the DFA state's one-hot: detector d fires exactly 1 iff
    ``functionals[d] . code + offsets[d] = 1`` and adds it to state ``states[d]`` (``decode.vertex_detectors``)."""

    functionals: np.ndarray  # (D, S)
    offsets: np.ndarray  # (D,)
    states: np.ndarray  # (D,)


class Units(Protocol):
    """Bit units that a recurrence carries, feeding a code of ``code_size`` coordinates (AND units here,
    ``interval_units.IntervalUnits`` for the GRU)."""

    @property
    def n_units(self) -> int: ...

    @property
    def code_size(self) -> int: ...

    def write(self, arch: str, rec: torch.nn.Module, symbols: Subspace, code: Subspace, nonlinearity: str) -> None: ...


@dataclass(frozen=True, eq=False)
class UnitPlan:
    """Units, and detectors unless the code is the state's one-hot; ``name`` completes the construction name."""

    units: Units
    detectors: Detectors | None
    name: str
    reference: str


def minsky_pairs(dfa: DFA) -> AndUnits:
    """Unit (q, a) fires iff the previous state was q and the symbol is a, and counts for delta(q, a); one
    start unit, never firing, holds the start state before the first symbol. n*k + 1 units."""
    n, k = dfa.n_states, dfa.n_symbols
    reads_code, reads_symbol = np.zeros((n * k + 1, n), np.int64), np.zeros((n * k + 1, k), np.int64)
    to_code, initial = np.zeros((n, n * k + 1), np.int64), np.zeros(n * k + 1, np.int64)
    for q in range(n):
        for a in range(k):
            reads_code[q * k + a, q] = reads_symbol[q * k + a, a] = 1
            to_code[int(dfa.delta[q, a]), q * k + a] = 1
    to_code[dfa.start, n * k] = initial[n * k] = 1
    return AndUnits(reads_code, reads_symbol, to_code, initial)


def minsky(cls: str, dfa: DFA, labels: np.ndarray | None = None) -> CompiledAutomaton:
    """Minsky's pair units (``minsky_pairs``) in the nonlinear class ``cls``."""
    labels, n_labels = resolve_labels(dfa, labels)
    return build(cls, dfa, labels, n_labels, UnitPlan(minsky_pairs(dfa), None, "pairs", MINSKY))


def model_config(cls: str, dfa: DFA, n_labels: int, plan: UnitPlan) -> tuple[ModelConfig, Layout]:
    """The one-layer model of nonlinear class ``cls`` (elman, elman-tanh, lstm, gru) for the plan, and its
    stream layout."""
    arch, nonlinearity = _family(cls)
    layout = Layout()
    layout.add("symbol", dfa.n_symbols)
    if plan.detectors is not None:
        layout.add("code", plan.units.code_size)
    layout.add("state", dfa.n_states)
    mlp = len(plan.detectors.states) if plan.detectors is not None else 0
    layer = LayerConfig(d_state=plan.units.n_units, mlp_hidden=mlp, nonlinearity=nonlinearity)
    config = ModelConfig(arch, dfa.n_symbols, n_labels, layout.width, (layer,), exact=True,
                         origin=ConstructionOrigin(f"{construction_prefix(cls)}-{plan.name}"))
    return config, layout


def construction_prefix(cls: str) -> str:
    """The construction prefix of a class: elman-relu, elman-tanh, lstm, gru."""
    arch, nonlinearity = _family(cls)
    return f"elman-{nonlinearity}" if arch == "elman" else arch


def parameter_count(cls: str, dfa: DFA, n_labels: int, plan: UnitPlan) -> int:
    """Parameters of the plan's model, counted on the meta device (nothing is allocated)."""
    config, _ = model_config(cls, dfa, n_labels, plan)
    with torch.device("meta"):
        return sum(p.numel() for p in RecurrentModel(config).parameters())


def build(cls: str, dfa: DFA, labels: np.ndarray, n_labels: int, plan: UnitPlan) -> CompiledAutomaton:
    """The compiled model: embedding, the AND-unit recurrence writing the code, detectors, label readout."""
    config, layout = model_config(cls, dfa, n_labels, plan)
    model = RecurrentModel(config)
    symbols, state = layout.spaces["symbol"], layout.spaces["state"]
    code = layout.spaces.get("code", state)
    with torch.no_grad():
        one_hot_embedding(model.embedding.weight, symbols)
        rec = model.blocks[0].recurrence
        for p in rec.parameters():
            p.zero_()
        plan.units.write(config.arch, rec, symbols, code, config.layers[0].nonlinearity)
        if plan.detectors is not None:
            d = plan.detectors
            vertex_detectors(model.blocks[0].mlp, code, state, torch.tensor(d.functionals, dtype=torch.float64),
                             torch.tensor(d.offsets, dtype=torch.float64), d.states.tolist())
        label_readout(model.readout, state, labels, n_labels)
    return CompiledAutomaton(model, dfa, labels, config.origin.construction, plan.reference)


def float32(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float32)


def _code_of_signs(units: AndUnits) -> tuple[torch.Tensor, torch.Tensor]:
    """(W, c) with code = W h + c for units h = 2 b - 1 in {-1, +1} (bits b = (h + 1) / 2)."""
    to_code = float32(units.to_code)
    return to_code / 2, to_code.sum(1) / 2


def _write_elman(rec: torch.nn.Module, units: AndUnits, symbols: Subspace, code: Subspace, nonlinearity: str) -> None:
    """ReLU: h' = relu(code_read + [x in set] - 1) in {0, 1}. tanh: h' = tanh(50 (code_read + [x in set] - 3/2))
    in {-1, +1}, with the code read from signs."""
    reads, to_code = float32(units.reads_code), float32(units.to_code)
    if nonlinearity == "relu":
        weight, offset, scale, threshold, h0 = to_code, torch.zeros(units.code_size), 1.0, 1.0, float32(units.initial)
    else:
        (weight, offset), scale, threshold = _code_of_signs(units), TANH_SCALE, 1.5
        h0 = 2 * float32(units.initial) - 1
    rec.recurrent.weight.copy_(scale * reads @ weight)
    rec.inp.weight[:, symbols.slice] = scale * float32(units.reads_symbol)
    rec.inp.bias.copy_(scale * (reads @ offset - threshold))
    rec.h0.copy_(h0)
    rec.out.weight[code.slice] = weight
    rec.out.bias[code.slice] = offset


def _write_lstm(rec: torch.nn.Module, units: AndUnits, symbols: Subspace, code: Subspace, _: str) -> None:
    """Cells hold CELL forever (f = 1, i = 0), so h = o exactly; o = sigmoid(2000 (code_read + [x in set] - 3/2))."""
    reads, to_code = float32(units.reads_code), float32(units.to_code)
    width, scale = units.n_units, 2 * SATURATE
    gate = {name: slice(i * width, (i + 1) * width) for i, name in enumerate("ifgo")}
    rec.bias_ih[gate["i"]] = -SATURATE
    rec.bias_ih[gate["f"]] = SATURATE
    rec.weight_hh[gate["o"]] = scale * reads @ to_code
    rec.weight_ih[gate["o"], symbols.slice] = scale * float32(units.reads_symbol)
    rec.bias_ih[gate["o"]] = -1.5 * scale
    rec.c0.fill_(CELL)
    rec.h0.copy_(float32(units.initial))
    rec.out.weight[code.slice] = to_code


def _write_gru(rec: torch.nn.Module, units: AndUnits, symbols: Subspace, code: Subspace, _: str) -> None:
    """z = 0 and r = 1 exactly, so h = tanh(50 (code_read + [x in set] - 3/2)) in {-1, +1}."""
    reads = float32(units.reads_code)
    width = units.n_units
    weight, offset = _code_of_signs(units)
    rec.bias_ih[:width] = SATURATE  # r = 1
    rec.bias_ih[width:2 * width] = -SATURATE  # z = 0
    rows = slice(2 * width, 3 * width)
    rec.weight_hh[rows] = TANH_SCALE * reads @ weight
    rec.weight_ih[rows, symbols.slice] = TANH_SCALE * float32(units.reads_symbol)
    rec.bias_ih[rows] = TANH_SCALE * (reads @ offset - 1.5)
    rec.h0.copy_(2 * float32(units.initial) - 1)
    rec.out.weight[code.slice] = weight
    rec.out.bias[code.slice] = offset


WRITERS = {"elman": _write_elman, "lstm": _write_lstm, "gru": _write_gru}
