"""One-layer simulations of any DFA with one-hot states: the dense input-dependent linear RNN
(0/1 transition matrices) and the Elman RNN over (state, symbol) units (Minsky 1967)."""
from __future__ import annotations

import numpy as np
import torch

from automata.dfa import DFA
from lsrl.constructions.and_units import minsky
from lsrl.constructions.layout import Layout, label_readout, one_hot_embedding, transition_matrices
from lsrl.constructions.result import CompiledAutomaton
from models.config import LayerConfig, ModelConfig
from models.origin import ConstructionOrigin
from models.stack import RecurrentModel


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
                         origin=ConstructionOrigin("dense-onehot"))
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
    """Minsky's (state, symbol) pair units (``and_units.minsky_pairs``) in an Elman RNN: unit (q, a) fires iff
    the previous state was q and the symbol is a, and one start unit holds the start state before the first
    symbol. ReLU: units in {0, 1}; tanh: units in {-1, +1}, saturated exactly. State size n*k + 1."""
    return minsky("elman" if nonlinearity == "relu" else "elman-tanh", dfa, labels)
