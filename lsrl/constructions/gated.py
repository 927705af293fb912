"""One-layer LSTM and GRU simulations of any DFA, with saturated gates: one unit per (state, symbol) pair
that fires when that transition was just taken (Minsky 1967's construction, as in lsrl's Elman one), and
one start unit that holds the start state at t = 0 only. State size n*k + 1. Every gate pre-activation
has magnitude >= 1000 (sigmoid) or >= 25 (tanh), so gates are exactly 0, 1 or -1 in float32 and float64
(thresholds in ``models.gated_rnn``); all other arithmetic is on small integers, hence exact."""
from __future__ import annotations

import numpy as np
import torch

from automata.dfa import DFA
from lsrl.constructions.labelling import resolve_labels
from lsrl.constructions.layout import Layout, label_readout, one_hot_embedding
from lsrl.constructions.result import CompiledAutomaton
from models.config import LayerConfig, ModelConfig
from models.stack import RecurrentModel

SATURATE = 1000.0  # sigmoid pre-activation that is exactly 0 or 1 in float32 and float64
CELL = 40.0  # LSTM cell value with tanh(CELL) = 1 exactly in float32 and float64
TANH_SCALE = 50.0  # GRU candidate scale: pre-activations are +-25 or beyond
MINSKY = "Minsky 1967: one unit per (state, symbol) pair; gates saturated to exact 0/1"


def _wiring(dfa: DFA) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``to_state`` (n, n*k + 1): the state one-hot from unit activities in {0, 1} (pair (q, a) counts for
    delta(q, a), the start unit for the start state); ``reads_state`` (n*k, n) and ``reads_symbol``
    (n*k, k): pair (q, a) reads state q and symbol a."""
    n, k = dfa.n_states, dfa.n_symbols
    to_state = torch.zeros(n, n * k + 1)
    reads_state, reads_symbol = torch.zeros(n * k, n), torch.zeros(n * k, k)
    for q in range(n):
        for a in range(k):
            to_state[int(dfa.delta[q, a]), q * k + a] = 1.0
            reads_state[q * k + a, q] = 1.0
            reads_symbol[q * k + a, a] = 1.0
    to_state[dfa.start, n * k] = 1.0
    return to_state, reads_state, reads_symbol


def _model(arch: str, dfa: DFA, n_labels: int) -> tuple[RecurrentModel, Layout]:
    layout = Layout()
    layout.add("symbol", dfa.n_symbols)
    layout.add("state", dfa.n_states)
    width = dfa.n_states * dfa.n_symbols + 1
    config = ModelConfig(arch, dfa.n_symbols, n_labels, layout.width, (LayerConfig(d_state=width),), exact=True,
                         meta={"construction": f"{arch}-pairs"})
    return RecurrentModel(config), layout


def lstm(dfa: DFA, labels: np.ndarray | None = None) -> CompiledAutomaton:
    """Cells hold CELL forever (f = 1, i = 0), so h = o exactly; the output gate of pair (q, a) is
    sigmoid(2000 (state_q + [x = a] - 1.5)), which is 1 iff both hold; the start unit's gate is 0."""
    labels, n_labels = resolve_labels(dfa, labels)
    model, layout = _model("lstm", dfa, n_labels)
    symbols, state = layout.spaces["symbol"], layout.spaces["state"]
    to_state, reads_state, reads_symbol = _wiring(dfa)
    pairs, width = reads_state.shape[0], to_state.shape[1]
    scale = 2 * SATURATE
    with torch.no_grad():
        one_hot_embedding(model.embedding.weight, symbols)
        rec = model.blocks[0].recurrence
        for p in rec.parameters():
            p.zero_()
        gate = {name: slice(i * width, (i + 1) * width) for i, name in enumerate("ifgo")}
        rec.bias_ih[gate["i"]] = -SATURATE
        rec.bias_ih[gate["f"]] = SATURATE
        o_rows = slice(gate["o"].start, gate["o"].start + pairs)
        rec.weight_hh[o_rows] = scale * reads_state @ to_state
        rec.weight_ih[o_rows, symbols.slice] = scale * reads_symbol
        rec.bias_ih[o_rows] = -1.5 * scale
        rec.bias_ih[gate["o"].stop - 1] = -SATURATE
        rec.c0.fill_(CELL)
        rec.h0[width - 1] = 1.0
        rec.out.weight[state.slice] = to_state
        label_readout(model.readout, state, labels, n_labels)
    return CompiledAutomaton(model, dfa, labels, "lstm-pairs", MINSKY)


def gru(dfa: DFA, labels: np.ndarray | None = None) -> CompiledAutomaton:
    """z = 0 and r = 1 exactly, so h = tanh(W x + U h + c): the units are +-1 (bit b = (h + 1) / 2) and
    pair (q, a) gets tanh(50 (state_q + [x = a] - 1.5)); the start unit goes to -1 after t = 0."""
    labels, n_labels = resolve_labels(dfa, labels)
    model, layout = _model("gru", dfa, n_labels)
    symbols, state = layout.spaces["symbol"], layout.spaces["state"]
    to_state, reads_state, reads_symbol = _wiring(dfa)
    pairs, width = reads_state.shape[0], to_state.shape[1]
    # state_q = to_state @ (h + 1) / 2 = to_bits @ h + bit_offset.
    to_bits, bit_offset = to_state / 2, to_state.sum(1) / 2
    with torch.no_grad():
        one_hot_embedding(model.embedding.weight, symbols)
        rec = model.blocks[0].recurrence
        for p in rec.parameters():
            p.zero_()
        rec.bias_ih[:width] = SATURATE  # r = 1
        rec.bias_ih[width:2 * width] = -SATURATE  # z = 0
        n_rows = slice(2 * width, 2 * width + pairs)
        rec.weight_hh[n_rows] = TANH_SCALE * reads_state @ to_bits
        rec.weight_ih[n_rows, symbols.slice] = TANH_SCALE * reads_symbol
        rec.bias_ih[n_rows] = TANH_SCALE * (reads_state @ bit_offset - 1.5)
        rec.bias_ih[3 * width - 1] = -TANH_SCALE
        rec.h0.fill_(-1.0)
        rec.h0[width - 1] = 1.0
        rec.out.weight[state.slice] = to_bits
        rec.out.bias[state.slice] = bit_offset
        label_readout(model.readout, state, labels, n_labels)
    return CompiledAutomaton(model, dfa, labels, "gru-pairs", MINSKY)
