from __future__ import annotations

import torch

from models.config import LayerConfig
from models.deltaproduct import DeltaProductRecurrence


def _matrix_loop(rec: DeltaProductRecurrence, x: torch.Tensor) -> torch.Tensor:
    """The recurrence written with explicit (I - beta k k^T) S + beta k v^T products."""
    _, k, v, beta, log_alpha = rec.factors(x)
    eye = torch.eye(rec.d_key, dtype=x.dtype)
    out = []
    for b in range(x.shape[0]):
        s = rec.s0.clone()
        states = []
        for t in range(x.shape[1]):
            if log_alpha is not None:
                s = s * log_alpha[b, t, 0].exp()
            for j in range(rec.n_h):
                kk, bb = k[b, t, j, 0], beta[b, t, j, 0]
                s = (eye - bb * torch.outer(kk, kk)) @ s + bb * torch.outer(kk, v[b, t, j, 0])
            states.append(s.flatten())
        out.append(torch.stack(states))
    return torch.stack(out)


def _random(exact: bool, gated: bool) -> DeltaProductRecurrence:
    torch.manual_seed(0)
    rec = DeltaProductRecurrence(5, LayerConfig(d_state=4, d_value=3, n_h=3, gate_range=(0.0, 2.0), gated=gated),
                                 exact=exact).double()
    with torch.no_grad():
        rec.s0.normal_()
    return rec


def test_states_are_the_householder_products_and_forward_reads_them():
    for exact in (False, True):
        for gated in (False, True):
            rec = _random(exact, gated)
            x = torch.randn(2, 6, 5, dtype=torch.float64)
            states = rec.states(x)
            torch.testing.assert_close(states, _matrix_loop(rec, x), rtol=1e-10, atol=1e-10)
            q = rec.factors(x)[0][:, :, 0]
            o = torch.einsum("btkv,btk->btv", states.view(2, 6, 4, 3), q)
            torch.testing.assert_close(rec(x), rec.out(o), rtol=1e-10, atol=1e-10)


def test_trained_keys_are_unit_and_beta_in_range():
    rec = _random(False, False)
    _, k, _, beta, _ = rec.factors(torch.randn(2, 6, 5, dtype=torch.float64) * 10)
    torch.testing.assert_close(k.norm(dim=-1), torch.ones(2, 6, 3, 1, dtype=torch.float64))
    assert beta.min() >= 0 and beta.max() <= 2


def test_unnormalised_key_with_beta_one_is_an_exact_swap():
    rec = DeltaProductRecurrence(2, LayerConfig(d_state=3, d_value=1, n_h=1, gate_range=(0.0, 2.0)), exact=True)
    with torch.no_grad():
        for p in rec.parameters():
            p.zero_()
        rec.to_k.weight[:, 0] = torch.tensor([1.0, -1.0, 0.0])  # symbol 0: k = e_0 - e_1
        rec.to_beta.weight[0, 0] = 1.0
        rec.s0[:, 0] = torch.tensor([1.0, 0.0, 0.0])
    x = torch.zeros(1, 2001, 2)
    x[..., 0] = 1.0
    states = rec.states(x)[0]
    assert torch.equal(states[0::2], torch.tensor([0.0, 1.0, 0.0]).expand(1001, 3))
    assert torch.equal(states[1::2], torch.tensor([1.0, 0.0, 0.0]).expand(1000, 3))


def test_state_size_counts_the_whole_matrix():
    assert DeltaProductRecurrence(2, LayerConfig(d_state=4, d_value=3)).state_size == 12
    assert DeltaProductRecurrence(2, LayerConfig(d_state=4)).state_size == 16
