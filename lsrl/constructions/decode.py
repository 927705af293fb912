"""Exact decoders from a recurrence's state code in the residual stream to the DFA state or its label:
an MLP of vertex detectors (one ReLU per code point, firing exactly 1 at its point and 0 elsewhere),
and a linear readout of an integer label."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from lsrl.constructions.layout import Subspace
from models.stack import MLP


def vertex_detectors(mlp: MLP, source: Subspace, target: Subspace, functionals: torch.Tensor,
                     offsets: torch.Tensor, unit_state: Sequence[int]) -> None:
    """Hidden unit u computes ``relu(functionals[u] . x[source] + offsets[u])`` and adds it to the target
    coordinate ``unit_state[u]``. The caller chooses functionals that are exactly 1 at unit u's code point
    and at most 0 at every other reachable code point, so the target receives the state's one-hot."""
    for p in mlp.parameters():
        p.zero_()
    units = len(unit_state)
    mlp.up.weight[:units, source.slice] = functionals.to(mlp.up.weight.dtype)
    mlp.up.bias[:units] = offsets.to(mlp.up.bias.dtype)
    for u, q in enumerate(unit_state):
        mlp.down.weight[target.start + int(q), u] = 1.0


def integer_readout(readout: torch.nn.Linear, coordinate: int, n_labels: int) -> None:
    """Logits ``l * z - l^2 / 2`` of the residual coordinate z: when z is exactly the integer label m,
    label m wins by (m - l)^2 / 2 >= 1/2 over every other l (all values exact for labels below 2^11)."""
    readout.weight.zero_()
    readout.bias.zero_()
    labels = torch.arange(n_labels, dtype=readout.weight.dtype)
    readout.weight[:, coordinate] = labels
    readout.bias.copy_(-labels.square() / 2)
