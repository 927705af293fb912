"""The Triton DeltaProduct against its float64 reference (and against flash-linear-attention on a GPU)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.delta_product import gated_delta_product, naive_delta_product
from kernels.errors import KernelArgumentError
from tests.kernels.closeness import rel_err


def _inputs(batch, length, heads, k_dim, v_dim, n, *, gated, with_h0, device, seed, dtype=torch.float32,
            beta_range=(0.0, 2.0)):
    g = torch.Generator().manual_seed(seed)
    lo, hi = beta_range
    tensors = {
        "q": torch.randn(batch, length, heads, k_dim, generator=g),
        "k": F.normalize(torch.randn(batch, length * n, heads, k_dim, generator=g), dim=-1),
        "v": torch.randn(batch, length * n, heads, v_dim, generator=g),
        "g": F.logsigmoid(2 + torch.randn(batch, length, heads, generator=g)) if gated else None,
        "beta": lo + (hi - lo) * torch.rand(batch, length * n, heads, generator=g),
        "h0": torch.randn(batch, heads, k_dim, v_dim, generator=g) if with_h0 else None,
    }
    cast = {"q": dtype, "k": dtype, "v": dtype, "beta": dtype, "g": torch.float32, "h0": torch.float32}
    return {name: (x.to(device, cast[name]) if x is not None else None) for name, x in tensors.items()}


def _run(fn, x, n, **kwargs):
    return fn(x["q"], x["k"], x["v"], x["g"], x["beta"], n, initial_state=x["h0"], **kwargs)


def _check_against_reference(x, n, tol):
    leaves = {name: t.requires_grad_() for name, t in x.items() if t is not None}
    o, ht = _run(gated_delta_product, x, n, output_final_state=True, backend="triton")
    do, dht = torch.randn_like(o), torch.randn_like(ht)
    grads = torch.autograd.grad((o * do).sum() + (ht * dht).sum(), list(leaves.values()))
    wide = {name: (t.detach().cpu().double().requires_grad_() if t is not None else None) for name, t in x.items()}
    ref_o, ref_ht = naive_delta_product(wide["q"], wide["k"], wide["v"], wide["g"], wide["beta"], n,
                                        None, wide["h0"])
    ref_leaves = [wide[name] for name in leaves]
    ref_grads = torch.autograd.grad((ref_o * do.cpu().double()).sum() + (ref_ht * dht.cpu().double()).sum(),
                                    ref_leaves)
    assert rel_err(o, ref_o) < tol
    assert rel_err(ht, ref_ht) < tol
    for name, got, want in zip(leaves, grads, ref_grads):
        assert rel_err(got, want) < tol, name


@pytest.mark.parametrize(
    "n, gated, with_h0, shape",
    [(1, False, False, (1, 6, 2, 16, 16)), (2, True, True, (2, 5, 1, 16, 24)), (3, True, False, (1, 4, 2, 20, 16))],
)
def test_matches_reference_with_gradients(device, n, gated, with_h0, shape):
    x = _inputs(*shape, n, gated=gated, with_h0=with_h0, device=device, seed=n)
    _check_against_reference(x, n, tol=1e-5)


def test_beta_near_two_reflects_and_stays_exact(device):
    x = _inputs(1, 8, 1, 16, 16, 2, gated=True, with_h0=True, device=device, seed=9, beta_range=(1.95, 2.0))
    _check_against_reference(x, 2, tol=1e-5)


def test_bfloat16_inputs(device):
    x = _inputs(1, 6, 2, 16, 16, 2, gated=True, with_h0=False, device=device, seed=3, dtype=torch.bfloat16)
    _check_against_reference(x, 2, tol=2e-2)


@settings(max_examples=5, deadline=None)
@given(length=st.integers(1, 6), n=st.integers(1, 3), k_dim=st.sampled_from([4, 16, 33]),
       v_dim=st.sampled_from([3, 16, 20]), gated=st.booleans(), seed=st.integers(0, 2**16))
def test_forward_matches_reference_on_any_shape(device, length, n, k_dim, v_dim, gated, seed):
    x = _inputs(1, length, 1, k_dim, v_dim, n, gated=gated, with_h0=True, device=device, seed=seed)
    o, ht = _run(gated_delta_product, x, n, output_final_state=True, backend="triton")
    ref_o, ref_ht = _run(naive_delta_product, {k: (v.double() if v is not None else None) for k, v in x.items()}, n)
    assert rel_err(o, ref_o) < 1e-5 and rel_err(ht, ref_ht) < 1e-5


def test_wrong_row_count_names_the_argument():
    x = _inputs(1, 4, 1, 8, 8, 2, gated=False, with_h0=False, device="cpu", seed=0)
    with pytest.raises(KernelArgumentError) as info:
        gated_delta_product(x["q"], x["k"][:, :5], x["v"], None, x["beta"], 2)
    assert info.value.argument == "k"


def _fla():
    return pytest.importorskip("fla.ops.gated_delta_product")


@pytest.mark.gpu
@pytest.mark.parametrize("n, gated", [(1, False), (2, True)])
def test_agrees_with_flash_linear_attention(cuda, n, gated):
    fla = _fla()
    x = _inputs(2, 256, 4, 128, 128, n, gated=gated, with_h0=True, device=cuda, seed=11, dtype=torch.bfloat16)
    ours, ours_ht = _run(gated_delta_product, x, n, output_final_state=True)
    theirs, theirs_ht = fla.chunk_gated_delta_product(
        x["q"], x["k"], x["v"], x["g"], x["beta"], num_householder=n,
        initial_state=x["h0"], output_final_state=True,
    )
    ref, ref_ht = _run(naive_delta_product, {k: (v.double() if v is not None else None) for k, v in x.items()}, n)
    assert rel_err(ours, ref) < 1e-2 and rel_err(ours_ht, ref_ht) < 1e-2
    assert rel_err(ours, theirs) < 2e-2 and rel_err(ours_ht, theirs_ht) < 2e-2


@pytest.mark.gpu
def test_gradients_match_reference_at_full_width(cuda):
    x = _inputs(1, 64, 2, 128, 128, 2, gated=True, with_h0=True, device=cuda, seed=12)
    _check_against_reference(x, 2, tol=1e-4)
