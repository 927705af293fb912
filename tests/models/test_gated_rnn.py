from __future__ import annotations

import pytest
import torch
from torch import nn

from models.config import LayerConfig
from models.gated_rnn import GRURecurrence, LSTMRecurrence


@pytest.mark.parametrize("ours, theirs", [(LSTMRecurrence, nn.LSTM), (GRURecurrence, nn.GRU)])
def test_matches_torch_with_the_same_weights(ours, theirs):
    torch.manual_seed(0)
    rec = ours(5, LayerConfig(d_state=7)).double()
    ref = theirs(5, 7, batch_first=True).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ref, f"{name}_l0").copy_(getattr(rec, name))
        rec.h0.normal_()
    x = torch.randn(3, 13, 5, dtype=torch.float64)
    h0 = rec.h0.expand(1, 3, 7).contiguous()
    expected = ref(x, (h0, torch.zeros_like(h0)) if theirs is nn.LSTM else h0)[0]
    torch.testing.assert_close(rec.states(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", [LSTMRecurrence, GRURecurrence])
def test_gradients_reach_every_parameter(cls):
    rec = cls(4, LayerConfig(d_state=3))
    with torch.no_grad():
        rec.h0.normal_()
    rec(torch.randn(2, 5, 4)).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in rec.parameters())


def test_saturated_lstm_gates_are_exact_in_float32():
    rec = LSTMRecurrence(1, LayerConfig(d_state=1))
    with torch.no_grad():
        for p in rec.parameters():
            p.zero_()
        rec.bias_ih.copy_(torch.tensor([-1000.0, 1000.0, 0.0, 1000.0]))  # i = 0, f = 1, o = 1
        rec.c0.fill_(40.0)
    assert torch.equal(rec.states(torch.zeros(2, 100, 1)), torch.ones(2, 100, 1))
