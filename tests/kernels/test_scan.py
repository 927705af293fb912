"""The Triton diagonal scan against its float64 reference: values, final state, gradients, exact integer runs."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.errors import KernelArgumentError
from kernels.scan import diagonal_scan, naive_diagonal_scan
from tests.kernels.closeness import rel_err


def _inputs(shape, dtype, device, seed, complex_=False):
    g = torch.Generator().manual_seed(seed)
    if complex_:
        a = torch.polar(torch.rand(shape, generator=g), 6.3 * torch.rand(shape, generator=g))
        b = torch.randn(shape, generator=g, dtype=torch.complex64)
        h0 = torch.randn(shape[0], shape[2], generator=g, dtype=torch.complex64)
    else:
        a = (2 * torch.rand(shape, generator=g) - 1).to(dtype)
        b = torch.randn(shape, generator=g).to(dtype)
        h0 = torch.randn(shape[0], shape[2], generator=g)
    return a.to(device), b.to(device), h0.to(device)


def _wide(x):
    return x.detach().to("cpu", torch.complex128 if x.is_complex() else torch.float64).requires_grad_()


def _loss(h, hT, gh, gT):
    return (h * gh.conj()).real.sum() + (hT * gT.conj()).real.sum()


def _check_against_reference(a, b, h0, tol):
    a, b = a.requires_grad_(), b.requires_grad_()
    h0 = None if h0 is None else h0.requires_grad_()
    h, hT = diagonal_scan(a, b, h0, output_final_state=True, backend="triton")
    gh, gT = torch.randn_like(h), torch.randn_like(hT)
    leaves = [x for x in (a, b, h0) if x is not None]
    grads = torch.autograd.grad(_loss(h, hT, gh, gT), leaves)
    wide = [_wide(x) for x in leaves]
    ref_h, ref_hT = naive_diagonal_scan(wide[0], wide[1], wide[2] if h0 is not None else None)
    ref_grads = torch.autograd.grad(_loss(ref_h, ref_hT, _wide(gh), _wide(gT)), wide)
    assert rel_err(h, ref_h) < tol
    assert rel_err(hT, ref_hT) < tol
    for got, want in zip(grads, ref_grads):
        assert rel_err(got, want) < tol


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("with_h0", [False, True])
def test_float32_matches_reference_with_gradients(device, complex_, with_h0):
    a, b, h0 = _inputs((2, 21, 19), torch.float32, device, seed=1, complex_=complex_)
    _check_against_reference(a, b, h0 if with_h0 else None, tol=1e-5)


def test_bfloat16_inputs_keep_a_float32_state(device):
    a, b, h0 = _inputs((2, 17, 16), torch.bfloat16, device, seed=2)
    h, hT = diagonal_scan(a, b, h0, output_final_state=True, backend="triton")
    ref_h, ref_hT = naive_diagonal_scan(a.double(), b.double(), h0.double())
    assert h.dtype == torch.bfloat16 and hT.dtype == torch.float32
    assert rel_err(hT, ref_hT) < 1e-5
    assert rel_err(h, ref_h) < 1e-2
    _check_against_reference(a, b, h0, tol=1e-2)


def test_integer_runs_with_sign_flips_and_resets_are_exact(device):
    g = torch.Generator().manual_seed(3)
    a = torch.randint(-1, 2, (2, 37, 16), generator=g).float().to(device)
    b = torch.randint(0, 2, (2, 37, 16), generator=g).float().to(device)
    h, hT = diagonal_scan(a, b, output_final_state=True, backend="triton")
    ref_h, ref_hT = naive_diagonal_scan(a.double(), b.double())
    assert torch.equal(h.cpu().double(), ref_h.cpu())
    assert torch.equal(hT.cpu().double(), ref_hT.cpu())


@settings(max_examples=6, deadline=None)
@given(
    batch=st.integers(1, 2), length=st.integers(1, 20), width=st.integers(1, 18),
    seed=st.integers(0, 2**16), gate_scale=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_forward_matches_reference_on_any_shape(device, batch, length, width, seed, gate_scale):
    a, b, h0 = _inputs((batch, length, width), torch.float32, device, seed)
    a = a * gate_scale
    h, hT = diagonal_scan(a, b, h0, output_final_state=True, backend="triton")
    ref_h, ref_hT = naive_diagonal_scan(a.double(), b.double(), h0.double())
    assert rel_err(h, ref_h) < 1e-5 and rel_err(hT, ref_hT) < 1e-5


def test_auto_backend_on_cpu_uses_the_reference_and_agrees():
    a, b, h0 = _inputs((1, 5, 3), torch.float32, "cpu", seed=4)
    h, hT = diagonal_scan(a, b, h0, output_final_state=True, backend="torch")
    h_auto, none = diagonal_scan(a, b, h0)
    assert none is None
    assert rel_err(h_auto, h) < 1e-6 and rel_err(h[:, -1], hT) == 0.0


@pytest.mark.parametrize(
    "a_shape, b_shape, dtype, argument",
    [((2, 3, 4), (2, 3, 5), torch.float32, "a"), ((3, 4), (3, 4), torch.float32, "b"),
     ((2, 3, 4), (2, 3, 4), torch.int32, "b")],
)
def test_bad_inputs_raise_shape_error_naming_the_argument(a_shape, b_shape, dtype, argument):
    with pytest.raises(KernelArgumentError) as info:
        diagonal_scan(torch.zeros(a_shape, dtype=dtype), torch.ones(b_shape, dtype=dtype))
    assert info.value.argument == argument


def _exact_sign_scan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Exact h for gates in {-1, 0, 1} and integer b, h0 = 0, by integer prefix sums (no time loop).

    With S_t the running product of the signs (zeros counted as 1) and z_t the last reset
    (a = 0) at or before t: h_t = S_t * sum_{z_t <= s <= t} S_s b_s.
    """
    length = a.shape[1]
    sign = torch.where(a == 0, torch.ones_like(a), a).long().cumprod(dim=1)
    weighted = (sign * b.long()).cumsum(dim=1)
    steps = torch.arange(length, device=a.device)[None, :, None].expand_as(a)
    last_reset = torch.where(a == 0, steps, torch.zeros_like(steps)).cummax(dim=1).values
    had_reset = (a == 0).long().cummax(dim=1).values.bool()
    before = torch.where(last_reset > 0, weighted.gather(1, (last_reset - 1).clamp_min(0)), 0)
    before = torch.where(had_reset, before, torch.zeros_like(before))
    return sign * (weighted - before)


@pytest.mark.gpu
def test_a_million_steps_of_sign_flips_and_resets_are_exact(cuda):
    g = torch.Generator(device=cuda).manual_seed(5)
    shape = (2, 1_000_000, 64)
    r = torch.rand(shape, generator=g, device=cuda)
    rare_flips = torch.where(r < 1e-5, -1.0, 1.0)[:1]
    uniform = torch.randint(-1, 2, shape, generator=g, device=cuda).float()[1:]
    a = torch.cat([rare_flips, uniform])
    b = torch.randint(0, 2, shape, generator=g, device=cuda).float()
    h, hT = diagonal_scan(a, b, output_final_state=True)
    want = _exact_sign_scan(a, b)
    assert want.abs().max() > 100_000
    assert torch.equal(h.long(), want)
    assert torch.equal(hT.long(), want[:, -1])


@pytest.mark.gpu
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-5), (torch.bfloat16, 1e-2)])
def test_large_scan_matches_reference_on_gpu(cuda, dtype, tol):
    a, b, h0 = _inputs((4, 3000, 1000), dtype, cuda, seed=6)
    _check_against_reference(a, b, h0, tol)
    ac, bc, h0c = _inputs((2, 1000, 300), torch.complex64, cuda, seed=7, complex_=True)
    _check_against_reference(ac, bc, h0c, 1e-5)
