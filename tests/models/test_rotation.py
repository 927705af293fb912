from __future__ import annotations

import math

import pytest
import torch

from models.config import LayerConfig
from models.rotation import RotationRecurrence


def test_exact_quarter_turns_are_exact_for_long_inputs():
    rec = RotationRecurrence(1, LayerConfig(d_state=2), exact=True)
    with torch.no_grad():
        for p in rec.parameters():
            p.zero_()
        rec.to_a.bias[1] = 1.0  # a = 0 + 1i: a quarter turn
        rec.h0[0] = 1.0
    h = rec.states(torch.zeros(1, 4001, 1))
    expected = torch.tensor([[0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 0.0]]).repeat(1001, 1)[:4001]
    assert torch.equal(h[0], expected)


def test_states_follow_the_complex_recurrence():
    torch.manual_seed(0)
    rec = RotationRecurrence(3, LayerConfig(d_state=4)).double()
    with torch.no_grad():
        rec.h0.normal_()
    x = torch.randn(2, 9, 3, dtype=torch.float64)
    a = rec.gates(x)
    assert a.abs().max() < 1
    b = torch.complex(*rec.to_b(x).split(2, dim=-1))
    h = torch.complex(rec.h0[:2], rec.h0[2:]).expand(2, 2)
    out = []
    for t in range(9):
        h = a[:, t] * h + b[:, t]
        out.append(torch.cat([h.real, h.imag], -1))
    torch.testing.assert_close(rec.states(x), torch.stack(out, 1), rtol=1e-12, atol=1e-12)


def test_trained_gates_are_polar():
    rec = RotationRecurrence(2, LayerConfig(d_state=2))
    with torch.no_grad():
        rec.to_a.weight.zero_()
        rec.to_a.bias.copy_(torch.tensor([0.0, math.pi / 3]))
    a = rec.gates(torch.zeros(1, 1, 2))[0, 0, 0]
    assert abs(a.abs().item() - 0.5) < 1e-6 and abs(a.angle().item() - math.pi / 3) < 1e-6


def test_odd_state_width_is_refused():
    with pytest.raises(ValueError, match="even"):
        RotationRecurrence(2, LayerConfig(d_state=3))


def test_gradients_reach_every_parameter():
    rec = RotationRecurrence(4, LayerConfig(d_state=4))
    with torch.no_grad():
        rec.h0.normal_()
    rec(torch.randn(2, 5, 4)).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in rec.parameters())
