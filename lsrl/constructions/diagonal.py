"""One-layer real diagonal LRNN simulations of DFAs that are direct products of two-state automata (bits).
Proof: docs/constructions.md#bits
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from automata.dfa import DFA
from lsrl.constructions.decode import vertex_detectors
from lsrl.constructions.errors import NotImplementedConstruction
from lsrl.constructions.labelling import resolve_labels
from lsrl.constructions.layout import Layout, label_readout, one_hot_embedding
from lsrl.constructions.result import CompiledAutomaton
from models import registry
from models.config import LayerConfig, ModelConfig
from models.origin import ConstructionOrigin
from models.stack import RecurrentModel

MAX_STATES = 16
EXHAUSTIVE_CANDIDATES = 20
SOURCES = ("Sarrof, Veitsman, Hahn 2024, 'The Expressive Capacity of State Space Models: A Formal Language "
           "Perspective' (flip-flop); Grazzi et al. 2025, 'Unlocking State-Tracking in Linear RNNs Through "
           "Negative Eigenvalues' (parity with a -1 gate)")
# (gate a, input b) of each action of a letter on a bit.
IDENTITY, FLIP, RESET0, RESET1 = (1.0, 0.0), (-1.0, 1.0), (0.0, 0.0), (0.0, 1.0)


@dataclass(frozen=True)
class Bit:
    """A two-block partition (``value[q]`` in {0, 1}) and the (a, b) each letter applies to it."""

    value: np.ndarray
    actions: tuple[tuple[float, float], ...]


def two_block_partitions(dfa: DFA, flips: bool) -> list[Bit]:
    """Every bit of the DFA (state 0 in block 0), without the flipping ones unless ``flips``."""
    n = dfa.n_states
    if n > MAX_STATES:
        raise NotImplementedConstruction("diagonal", f"the search for two-state factors enumerates two-block "
                                                     f"partitions and stops at {MAX_STATES} states; this DFA has {n}")
    masks = np.arange(1, 2 ** (n - 1), dtype=np.int64) * 2
    bits = ((masks[:, None] >> np.arange(n)) & 1).astype(np.int8)  # (M, n), state 0 always in block 0
    ok = np.ones(len(bits), dtype=bool)
    images = []
    for a in range(dfa.n_symbols):
        image = bits[:, dfa.delta[:, a]]  # bit value after the letter, per state
        per_block = []
        for v in (0, 1):
            inside = bits == v
            low = np.where(inside, image, 2).min(1)
            high = np.where(inside, image, -1).max(1)
            ok &= low == high
            per_block.append(low)
        images.append(np.stack(per_block, 1))
    found = []
    for m in np.flatnonzero(ok).tolist():
        actions = []
        for image in images:
            after0, after1 = image[m]
            action = {(0, 1): IDENTITY, (1, 0): FLIP, (0, 0): RESET0, (1, 1): RESET1}[(int(after0), int(after1))]
            actions.append(action)
        if flips or FLIP not in actions:
            found.append(Bit(bits[m].astype(np.int64), tuple(actions)))
    return found


def separating_bits(bits: list[Bit], n: int) -> list[Bit] | None:
    """A smallest set of bits whose values tell all n states apart (exhaustive over at most
    ``EXHAUSTIVE_CANDIDATES`` candidates, greedy otherwise), or None if all of them do not."""
    if n == 1:
        return []
    codes = np.stack([b.value for b in bits], 1) if bits else np.zeros((n, 0), dtype=np.int64)
    if len(np.unique(codes, axis=0)) < n:
        return None
    if len(bits) <= EXHAUSTIVE_CANDIDATES:
        for size in range(max(1, (n - 1).bit_length()), len(bits) + 1):
            for chosen in itertools.combinations(range(len(bits)), size):
                if len(np.unique(codes[:, chosen], axis=0)) == n:
                    return [bits[i] for i in chosen]
    chosen: list[int] = []
    while len(np.unique(codes[:, chosen], axis=0)) < n:
        chosen.append(max((i for i in range(len(bits)) if i not in chosen),
                          key=lambda i: len(np.unique(codes[:, chosen + [i]], axis=0))))
    return [bits[i] for i in chosen]


def diagonal(dfa: DFA, labels: np.ndarray | None = None, negative: bool = False) -> CompiledAutomaton:
    """One diagonal layer with gates in [-1, 1] (``negative``) or [0, 1] computing ``labels[state]``."""
    labels, n_labels = resolve_labels(dfa, labels)
    arch = "diag-neg" if negative else "diag-01"
    chosen = separating_bits(two_block_partitions(dfa, negative), dfa.n_states)
    if chosen is None:
        kinds = "identity, flip or reset" if negative else "identity or reset (no flip: gates in [0, 1])"
        raise NotImplementedConstruction(arch, f"the minimal DFA ({dfa.n_states} states) is not a direct product of "
                                               f"two-state automata whose letters act as {kinds}; a cascade "
                                               f"(Krohn-Rhodes) of diagonal layers is needed")
    return _build(dfa, labels, n_labels, chosen, arch)


def _build(dfa: DFA, labels: np.ndarray, n_labels: int, bits: list[Bit], arch: str) -> CompiledAutomaton:
    n, k, m = dfa.n_states, dfa.n_symbols, max(1, len(bits))
    layout = Layout()
    symbols, code = layout.add("symbol", k), layout.add("code", m)
    detect = len(bits) > 1
    state = layout.add("state", n) if detect else None
    layer = LayerConfig(d_state=m, gate_range=registry.get(arch).gate_range, mlp_hidden=n if detect else 0)
    config = ModelConfig("diag", k, n_labels, layout.width, (layer,), exact=True,
                         origin=ConstructionOrigin(f"{arch}-bits", bits=len(bits)))
    model = RecurrentModel(config)
    codes = torch.tensor(np.stack([b.value for b in bits], 1) if bits else np.zeros((n, 1)), dtype=torch.float64)
    # relu((2c - 1) . h + 1 - |c|) is exactly 1 at h = c and <= 0 at every other 0/1 vector
    functionals, offsets = 2 * codes - 1, 1 - codes.sum(1)
    with torch.no_grad():
        one_hot_embedding(model.embedding.weight, symbols)
        rec = model.blocks[0].recurrence
        for p in rec.parameters():
            p.zero_()
        rec.to_a.weight[:, symbols.slice] = 1.0  # a single constant state when n == 1
        for j, bit in enumerate(bits):
            for a, (gate, drive) in enumerate(bit.actions):
                rec.to_a.weight[j, symbols.start + a] = gate
                rec.to_b.weight[j, symbols.start + a] = drive
        rec.h0.copy_(codes[dfa.start])
        rec.out.weight[code.slice] = torch.eye(m)
        if detect:
            vertex_detectors(model.blocks[0].mlp, code, state, functionals, offsets, range(n))
            label_readout(model.readout, state, labels, n_labels)
        else:  # one bit: the detectors are affine with values exactly 0 and 1, no MLP needed
            model.readout.weight.zero_()
            model.readout.bias.zero_()
            for q in range(n):
                model.readout.weight[labels[q], code.start] += functionals[q, 0].float()
                model.readout.bias[labels[q]] += offsets[q].float()
    return CompiledAutomaton(model, dfa, labels, config.origin.construction, SOURCES)
