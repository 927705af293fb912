"""One-layer simulations of any DFA with one-hot states: the dense input-dependent linear RNN
(0/1 transition matrices) and the Elman RNN over (state, symbol) units (Minsky 1967)."""
from __future__ import annotations

import numpy as np
import torch

from automata.dfa import DFA
from lsrl.constructions.layout import Layout, label_readout, one_hot_embedding, transition_matrices
from lsrl.constructions.result import CompiledAutomaton
from models.config import LayerConfig, ModelConfig
from models.stack import RecurrentModel

# Pre-activation scale that saturates tanh to exactly +-1 in float32 and float64 (|x| >= 25 > 19.1).
TANH_SCALE = 50.0


def _labels_or_acceptance(dfa: DFA, labels: np.ndarray | None) -> tuple[np.ndarray, int]:
    labels = dfa.accepting_mask().astype(np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
    return labels, max(int(labels.max()) + 1, 2)


def dense_lrnn(dfa: DFA, labels: np.ndarray | None = None) -> CompiledAutomaton:
    """h_t = M_{x_t} h_{t-1} with h_0 = e_start: one layer, state size n, every value in {0, 1}."""
    labels, n_labels = _labels_or_acceptance(dfa, labels)
    n, k = dfa.n_states, dfa.n_symbols
    layout = Layout()
    symbols, state = layout.add("symbol", k), layout.add("state", n)
    config = ModelConfig("dense-lrnn", k, n_labels, layout.width, (LayerConfig(d_state=n),), exact=True,
                         meta={"construction": "dense-onehot"})
    model = RecurrentModel(config)
    matrices = torch.tensor(transition_matrices(dfa), dtype=torch.float32)
    with torch.no_grad():
        one_hot_embedding(model.embedding.weight, symbols)
        rec = model.blocks[0].recurrence
        for p in rec.parameters():
            p.zero_()
        rec.to_a.weight[:, symbols.slice] = matrices.reshape(k, n * n).T
        rec.h0[dfa.start] = 1.0
        rec.out.weight[state.slice, :] = torch.eye(n)
        label_readout(model.readout, state, labels, n_labels)
    return CompiledAutomaton(model, dfa, labels, "dense-onehot",
                             "folklore: one-hot states with 0/1 transition matrices (THEORY.md)")


def elman(dfa: DFA, labels: np.ndarray | None = None, nonlinearity: str = "relu") -> CompiledAutomaton:
    """Units z(q, a) fire iff the previous state was q and the symbol is a; the state is their sum
    over delta^{-1}. Extra units u carry the start state at t = 0 only. ReLU: z in {0, 1}; tanh:
    z in {-1, +1}, saturated exactly by the scale ``TANH_SCALE``. State size n*k + n."""
    labels, n_labels = _labels_or_acceptance(dfa, labels)
    n, k = dfa.n_states, dfa.n_symbols
    layout = Layout()
    symbols, state = layout.add("symbol", k), layout.add("state", n)
    width = n * k + n
    config = ModelConfig("elman", k, n_labels, layout.width,
                         (LayerConfig(d_state=width, nonlinearity=nonlinearity),), exact=True,
                         meta={"construction": f"elman-{nonlinearity}-pairs"})
    model = RecurrentModel(config)
    # sums[r, (q, a)] = 1 iff delta(q, a) = r: the state one-hot from the pair units in {0, 1}.
    sums = torch.zeros(n, n * k)
    for q in range(n):
        for a in range(k):
            sums[int(dfa.delta[q, a]), q * k + a] = 1.0
    pair_of_state = torch.zeros(n * k, n)  # z(q, a) reads state q
    pair_of_symbol = torch.zeros(n * k, k)  # z(q, a) reads symbol a
    for q in range(n):
        for a in range(k):
            pair_of_state[q * k + a, q] = 1.0
            pair_of_symbol[q * k + a, a] = 1.0
    tanh = nonlinearity == "tanh"
    scale = TANH_SCALE if tanh else 1.0
    threshold = 1.5 if tanh else 1.0
    with torch.no_grad():
        one_hot_embedding(model.embedding.weight, symbols)
        rec = model.blocks[0].recurrence
        for p in rec.parameters():
            p.zero_()
        # In the tanh encoding z = 2 b - 1 for bits b, so state = sums @ (z + 1) / 2.
        to_state = sums / 2 if tanh else sums
        state_offset = sums.sum(1) / 2 if tanh else torch.zeros(n)
        rec.recurrent.weight[: n * k, : n * k] = scale * pair_of_state @ to_state
        rec.recurrent.weight[: n * k, n * k:] = scale * pair_of_state
        rec.inp.weight[: n * k, symbols.slice] = scale * pair_of_symbol
        rec.inp.bias[: n * k] = scale * (pair_of_state @ state_offset - threshold)
        rec.h0[: n * k] = -1.0 if tanh else 0.0
        rec.h0[n * k + dfa.start] = 1.0
        rec.out.weight[state.slice, : n * k] = to_state
        rec.out.bias[state.slice] = state_offset
        label_readout(model.readout, state, labels, n_labels)
    return CompiledAutomaton(model, dfa, labels, f"elman-{nonlinearity}-pairs",
                             "Minsky 1967: one unit per (state, symbol) pair")
