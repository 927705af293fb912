"""The chunked (WY/UT) DeltaProduct kernel against its float64 reference, and against fla on a GPU."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.delta_product import gated_delta_product, naive_delta_product
from tests.kernels.closeness import rel_err

pytest.importorskip("triton", reason="triton is not installed: the chunked kernel is Triton code")
from kernels.delta_product.chunk import BACKWARDS, CHUNK, chunk_delta_product  # noqa: E402


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


def _chunked(x, n, chunk, backward="chunk"):
    return chunk_delta_product(x["q"], x["k"], x["v"], x["g"], x["beta"], n, x["q"].shape[-1] ** -0.5, x["h0"],
                               chunk=chunk, backward=backward)


def _reference(x, n):
    wide = {name: (t.detach().cpu().double() if t is not None else None) for name, t in x.items()}
    return naive_delta_product(wide["q"], wide["k"], wide["v"], wide["g"], wide["beta"], n, None, wide["h0"])


@pytest.mark.parametrize(
    "n, gated, with_h0, shape, chunk",
    [(1, False, False, (1, 20, 2, 16, 16), 16), (2, True, True, (2, 13, 1, 16, 24), 16),
     (3, True, False, (1, 11, 2, 20, 16), 16), (2, True, True, (1, 40, 1, 32, 32), 32),
     (3, True, True, (1, 50, 1, 32, 16), 64), (1, False, False, (2, 70, 1, 16, 16), 64)],
)
def test_forward_matches_reference_across_chunks(device, n, gated, with_h0, shape, chunk):
    x = _inputs(*shape, n, gated=gated, with_h0=with_h0, device=device, seed=n)
    o, ht = _chunked(x, n, chunk)
    ref_o, ref_ht = _reference(x, n)
    assert rel_err(o, ref_o) < 1e-5 and rel_err(ht, ref_ht) < 1e-5


@pytest.mark.parametrize("length, chunk", [(24, 16), (40, 64)])
def test_reflections_near_two_stay_exact(device, length, chunk):
    x = _inputs(1, length, 1, 16, 16, 2, gated=True, with_h0=True, device=device, seed=9, beta_range=(1.95, 2.0))
    o, ht = _chunked(x, 2, chunk)
    ref_o, ref_ht = _reference(x, 2)
    assert rel_err(o, ref_o) < 1e-5 and rel_err(ht, ref_ht) < 1e-5


def _gradients(x, n, run, with_dht, seed=0):
    """Gradients of <do, o> (+ <dht, h_T>) w.r.t. every input of x, through run(x) -> (o, h_T); random do and dht
    drawn on the CPU from seed and rounded to bfloat16, so that a kernel and the float64 reference see the same ones."""
    leaves = {name: t.requires_grad_() for name, t in x.items() if t is not None}
    o, ht = run(x)
    gen = torch.Generator().manual_seed(seed)
    do = torch.randn(o.shape, generator=gen).to(torch.bfloat16).to(o.device, o.dtype)
    loss = (o * do).sum()
    if with_dht:
        loss = loss + (ht * torch.randn(ht.shape, generator=gen).to(torch.bfloat16).to(ht.device, ht.dtype)).sum()
    return dict(zip(leaves, torch.autograd.grad(loss, list(leaves.values()))))


def _reference_gradients(x, n, with_dht):
    wide = {name: (t.detach().cpu().double() if t is not None else None) for name, t in x.items()}
    return _gradients(wide, n, lambda w: naive_delta_product(w["q"], w["k"], w["v"], w["g"], w["beta"], n, None,
                                                             w["h0"]), with_dht)


def _assert_gradients_match(x, n, chunk, backward, with_dht, bound):
    got = _gradients(x, n, lambda y: _chunked(y, n, chunk, backward), with_dht)
    want = _reference_gradients(x, n, with_dht)
    assert set(got) == set(want)
    for name in want:
        assert rel_err(got[name], want[name]) < bound, name


@pytest.mark.parametrize("backward", BACKWARDS)
def test_gradients_through_chunked_forward(device, backward):
    x = _inputs(1, 12, 2, 16, 16, 2, gated=True, with_h0=True, device=device, seed=4)
    _assert_gradients_match(x, 2, 16, backward, with_dht=True, bound=1e-5)


@pytest.mark.parametrize(
    "n, gated, with_h0, with_dht, shape, chunk",
    [(1, False, False, False, (1, 20, 2, 16, 16), 16), (3, True, False, True, (1, 11, 2, 20, 16), 16),
     (2, True, True, True, (1, 40, 1, 32, 32), 32), (3, True, True, False, (1, 50, 1, 32, 16), 64),
     (1, False, True, True, (2, 70, 1, 16, 16), 64)],
)
def test_chunked_backward_matches_reference_across_chunks(device, n, gated, with_h0, with_dht, shape, chunk):
    """dq, dk, dv, dbeta, dg and the initial state's gradient, with chunk boundaries inside tokens (n_h = 3)."""
    x = _inputs(*shape, n, gated=gated, with_h0=with_h0, device=device, seed=20 + n)
    _assert_gradients_match(x, n, chunk, "chunk", with_dht, bound=1e-5)


def test_chunked_backward_with_reflections_near_two(device):
    x = _inputs(1, 40, 1, 16, 16, 2, gated=True, with_h0=True, device=device, seed=9, beta_range=(1.95, 2.0))
    _assert_gradients_match(x, 2, 64, "chunk", with_dht=True, bound=1e-5)


def test_chunked_backward_bfloat16_inputs(device):
    """bf16 operands throughout (as fla): the gradients of bf16 inputs within the operands' rounding."""
    x = _inputs(1, 24, 2, 16, 16, 2, gated=True, with_h0=False, device=device, seed=3, dtype=torch.bfloat16)
    _assert_gradients_match(x, 2, 16, "chunk", with_dht=False, bound=3e-2)


@settings(max_examples=3, deadline=None)
@given(length=st.integers(1, 9), n=st.integers(1, 3), k_dim=st.sampled_from([4, 16, 33]),
       v_dim=st.sampled_from([3, 16, 20]), gated=st.booleans(), seed=st.integers(0, 2**16))
def test_chunked_backward_matches_reference_on_any_shape(device, length, n, k_dim, v_dim, gated, seed):
    x = _inputs(1, length, 1, k_dim, v_dim, n, gated=gated, with_h0=True, device=device, seed=seed)
    _assert_gradients_match(x, n, 16, "chunk", with_dht=True, bound=1e-5)


def test_unknown_backward_is_refused(device):
    x = _inputs(1, 4, 1, 16, 16, 1, gated=False, with_h0=False, device=device, seed=0)
    with pytest.raises(ValueError, match="backward"):
        _chunked(x, 1, 16, backward="fused")


def test_bfloat16_inputs(device):
    x = _inputs(1, 24, 2, 16, 16, 2, gated=True, with_h0=False, device=device, seed=3, dtype=torch.bfloat16)
    o, ht = _chunked(x, 2, 16)
    ref_o, ref_ht = _reference(x, 2)
    assert rel_err(o, ref_o) < 2e-2 and rel_err(ht, ref_ht) < 2e-2


@settings(max_examples=4, deadline=None)
@given(length=st.integers(1, 12), n=st.integers(1, 3), k_dim=st.sampled_from([4, 16, 33]),
       v_dim=st.sampled_from([3, 16, 20]), gated=st.booleans(), seed=st.integers(0, 2**16))
def test_forward_matches_reference_on_any_shape(device, length, n, k_dim, v_dim, gated, seed):
    x = _inputs(1, length, 1, k_dim, v_dim, n, gated=gated, with_h0=True, device=device, seed=seed)
    o, ht = _chunked(x, n, 16)
    ref_o, ref_ht = _reference(x, n)
    assert rel_err(o, ref_o) < 1e-5 and rel_err(ht, ref_ht) < 1e-5


def _fla_inputs(n, gated, device, seed, length=1024):
    return _inputs(2, length, 4, 128, 128, n, gated=gated, with_h0=False, device=device, seed=seed,
                   dtype=torch.bfloat16)


@pytest.mark.gpu
@pytest.mark.parametrize("n, gated", [(2, True), (3, False)])
def test_dispatch_takes_chunked_path_and_matches_reference_on_gpu(cuda, n, gated):
    x = _fla_inputs(n, gated, cuda, seed=n)
    o, ht = gated_delta_product(x["q"], x["k"], x["v"], x["g"], x["beta"], n, output_final_state=True)
    ref_o, ref_ht = _reference(x, n)
    assert rel_err(o, ref_o) < 5e-2 and rel_err(ht, ref_ht) < 5e-2


@pytest.mark.gpu
@pytest.mark.parametrize("n, gated", [(2, True), (2, False)])
def test_agrees_with_fla_on_gpu(cuda, n, gated):
    fla = pytest.importorskip("fla.ops.gated_delta_product")
    x = _fla_inputs(n, gated, cuda, seed=10 + n)
    o, ht = gated_delta_product(x["q"], x["k"], x["v"], x["g"], x["beta"], n, output_final_state=True)
    want, want_ht = fla.chunk_gated_delta_product(x["q"], x["k"], x["v"], x["g"], x["beta"], n,
                                                  output_final_state=True)
    ref_o, ref_ht = _reference(x, n)
    assert rel_err(o, want) < 5e-2 and rel_err(ht, want_ht) < 5e-2
    assert rel_err(o, ref_o) < max(2 * rel_err(want, ref_o), 1e-2)
    assert rel_err(ht, ref_ht) < max(2 * rel_err(want_ht, ref_ht), 1e-2)


@pytest.mark.gpu
@pytest.mark.parametrize("gated", [True, False])
@pytest.mark.parametrize("backward", BACKWARDS)
def test_gradients_through_chunked_path_on_gpu(cuda, gated, backward):
    x = _fla_inputs(2, gated, cuda, seed=7, length=256)
    got = _gradients(x, 2, lambda y: _chunked(y, 2, CHUNK, backward), False)
    want = _reference_gradients(x, 2, False)
    for name in want:
        assert rel_err(got[name], want[name]) < 5e-2, name


@pytest.mark.gpu
def test_chunked_gradients_agree_with_fla_on_gpu(cuda):
    """Ungated only: fla 0.6.0 refuses its gated backward on Triton >= 3.4.0 and < 3.7.1 on Hopper."""
    fla = pytest.importorskip("fla.ops.gated_delta_product")
    x = _fla_inputs(2, False, cuda, seed=8, length=256)
    got = _gradients(x, 2, lambda y: _chunked(y, 2, CHUNK, "chunk"), False)
    fla_grads = _gradients(x, 2, lambda y: fla.chunk_gated_delta_product(y["q"], y["k"], y["v"], y["g"], y["beta"],
                                                                         2), False)
    want = _reference_gradients(x, 2, False)
    for name in want:
        assert rel_err(got[name], want[name]) < max(2 * rel_err(fla_grads[name], want[name]), 1e-2), name
