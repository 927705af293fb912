from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from models.config import LayerConfig
from models.diagonal import DiagonalRecurrence


def _loop(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    h, out = h0.expand(b.shape[0], -1), []
    for t in range(b.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, 1)


@pytest.mark.parametrize("gate_range", [(0.0, 1.0), (-1.0, 1.0)])
@pytest.mark.parametrize("exact", [False, True])
def test_states_follow_the_recurrence_and_gates_stay_in_range(gate_range, exact):
    torch.manual_seed(0)
    rec = DiagonalRecurrence(6, LayerConfig(d_state=5, gate_range=gate_range), exact=exact).double()
    with torch.no_grad():
        rec.h0.normal_()
        rec.to_a.weight.mul_(10)  # push pre-activations past the clamp on both sides
    x = torch.randn(3, 11, 6, dtype=torch.float64)
    a = rec.gates(x)
    assert a.min() >= gate_range[0] and a.max() <= gate_range[1]
    torch.testing.assert_close(rec.states(x), _loop(a, rec.to_b(x), rec.h0), rtol=1e-12, atol=1e-12)


def test_exact_gates_are_the_clamped_pre_activations():
    rec = DiagonalRecurrence(3, LayerConfig(d_state=3, gate_range=(-1.0, 1.0)), exact=True)
    with torch.no_grad():
        rec.to_a.weight.copy_(torch.eye(3) * 2)
        rec.to_a.bias.zero_()
    x = torch.tensor([[[-1.0, 0.0, 0.25]]])
    assert rec.gates(x).tolist() == [[[-1.0, 0.0, 0.5]]]


def test_float32_scan_matches_the_float64_reference():
    torch.manual_seed(1)
    rec = DiagonalRecurrence(4, LayerConfig(d_state=4, gate_range=(-1.0, 1.0)))
    x = torch.randn(2, 50, 4)
    wide = DiagonalRecurrence(4, LayerConfig(d_state=4, gate_range=(-1.0, 1.0))).double()
    wide.load_state_dict(rec.state_dict())
    torch.testing.assert_close(rec.states(x).double(), wide.states(x.double()), rtol=1e-5, atol=1e-5)


@settings(max_examples=20, deadline=None)
@given(st.floats(-2, 2), st.floats(-2, 2))
def test_bad_gate_ranges_are_refused(lo, hi):
    if -1 <= lo < hi <= 1:
        DiagonalRecurrence(2, LayerConfig(d_state=1, gate_range=(lo, hi)))
    else:
        with pytest.raises(ValueError, match="gate_range"):
            DiagonalRecurrence(2, LayerConfig(d_state=1, gate_range=(lo, hi)))


def test_gradients_reach_every_parameter():
    rec = DiagonalRecurrence(4, LayerConfig(d_state=3, gate_range=(-1.0, 1.0)))
    rec(torch.randn(2, 5, 4)).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in rec.parameters())
