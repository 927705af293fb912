"""Triton kernel of the diagonal scan h_t = a_t * h_{t-1} + b_t, chunked over time with an associative scan per tile, with
autograd (docs/kernels.md#diagonal-scan)."""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from kernels.backend import launchable
from kernels.scan.checks import check_scan_inputs


@triton.jit
def _combine_real(a1, b1, a2, b2):
    return a1 * a2, a2 * b1 + b2


@triton.jit
def _combine_complex(ar1, ai1, br1, bi1, ar2, ai2, br2, bi2):
    return (
        ar2 * ar1 - ai2 * ai1,
        ar2 * ai1 + ai2 * ar1,
        ar2 * br1 - ai2 * bi1 + br2,
        ar2 * bi1 + ai2 * br1 + bi2,
    )


@triton.jit
def _scan_kernel(
    a_ptr, x_ptr, carry_ptr, out_ptr, last_ptr, prev_ptr, prev0_ptr, da_ptr,
    T, D,
    BT: tl.constexpr, BD: tl.constexpr, COMPLEX: tl.constexpr, REVERSE: tl.constexpr,
    HAS_CARRY: tl.constexpr, STORE_LAST: tl.constexpr, GRAD_A: tl.constexpr, HAS_PREV0: tl.constexpr,
):
    """out_t = c_t * out_{t -+ 1} + x_t over tiles of (BT, BD); see the module docstring.

    Forward (REVERSE=False): c_t = a_t. Backward (REVERSE=True): c_t = conj(a_{t+1}) with
    c_{T-1} = 1, x = grad of h, carry = grad of h_T, and with GRAD_A the kernel also writes
    da_t = out_t * conj(h_{t-1}) from the forward outputs (prev_ptr) and h_{-1} (prev0_ptr).
    """
    pid_b = tl.program_id(0)
    pid_d = tl.program_id(1)
    C: tl.constexpr = 2 if COMPLEX else 1
    rows = tl.arange(0, BT)
    cols = pid_d * BD + tl.arange(0, BD)
    col_ok = cols < D
    base = pid_b.to(tl.int64) * T * D * C
    state_ptrs = pid_b.to(tl.int64) * D * C + cols * C
    hr = tl.zeros([BD], dtype=tl.float32)
    hi = tl.zeros([BD], dtype=tl.float32)
    if HAS_CARRY:
        hr = tl.load(carry_ptr + state_ptrs, mask=col_ok, other=0.0).to(tl.float32)
        if COMPLEX:
            hi = tl.load(carry_ptr + state_ptrs + 1, mask=col_ok, other=0.0).to(tl.float32)
    for tile in range(0, tl.cdiv(T, BT)):
        if REVERSE:
            t = T - 1 - (tile * BT + rows)
            t_ok = t >= 0
            tc = t + 1
            c_ok = t_ok & (tc < T)
        else:
            t = tile * BT + rows
            t_ok = t < T
            tc = t
            c_ok = t_ok
        mask = t_ok[:, None] & col_ok[None, :]
        cmask = c_ok[:, None] & col_ok[None, :]
        offs = base + (t.to(tl.int64)[:, None] * D + cols[None, :]) * C
        coffs = base + (tc.to(tl.int64)[:, None] * D + cols[None, :]) * C
        ar = tl.load(a_ptr + coffs, mask=cmask, other=1.0).to(tl.float32)
        xr = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
        if COMPLEX:
            ai = tl.load(a_ptr + coffs + 1, mask=cmask, other=0.0).to(tl.float32)
            xi = tl.load(x_ptr + offs + 1, mask=mask, other=0.0).to(tl.float32)
            if REVERSE:
                ai = -ai
            Ar, Ai, Br, Bi = tl.associative_scan((ar, ai, xr, xi), 0, _combine_complex)
            outr = Ar * hr[None, :] - Ai * hi[None, :] + Br
            outi = Ar * hi[None, :] + Ai * hr[None, :] + Bi
            tl.store(out_ptr + offs, outr, mask=mask)
            tl.store(out_ptr + offs + 1, outi, mask=mask)
            hr = tl.sum(tl.where(rows[:, None] == BT - 1, outr, 0.0), axis=0)
            hi = tl.sum(tl.where(rows[:, None] == BT - 1, outi, 0.0), axis=0)
        else:
            A, B = tl.associative_scan((ar, xr), 0, _combine_real)
            outr = A * hr[None, :] + B
            tl.store(out_ptr + offs, outr, mask=mask)
            hr = tl.sum(tl.where(rows[:, None] == BT - 1, outr, 0.0), axis=0)
        if GRAD_A:
            poffs = base + ((t - 1).to(tl.int64)[:, None] * D + cols[None, :]) * C
            pmask = mask & (t >= 1)[:, None]
            first = (t == 0)[:, None] & col_ok[None, :]
            pr = tl.load(prev_ptr + poffs, mask=pmask, other=0.0).to(tl.float32)
            if HAS_PREV0:
                p0 = tl.load(prev0_ptr + state_ptrs, mask=col_ok, other=0.0).to(tl.float32)
                pr = tl.where(first, p0[None, :], pr)
            if COMPLEX:
                pi = tl.load(prev_ptr + poffs + 1, mask=pmask, other=0.0).to(tl.float32)
                if HAS_PREV0:
                    p0i = tl.load(prev0_ptr + state_ptrs + 1, mask=col_ok, other=0.0).to(tl.float32)
                    pi = tl.where(first, p0i[None, :], pi)
                tl.store(da_ptr + offs, outr * pr + outi * pi, mask=mask)
                tl.store(da_ptr + offs + 1, outi * pr - outr * pi, mask=mask)
            else:
                tl.store(da_ptr + offs, outr * pr, mask=mask)
    if STORE_LAST:
        tl.store(last_ptr + state_ptrs, hr, mask=col_ok)
        if COMPLEX:
            tl.store(last_ptr + state_ptrs + 1, hi, mask=col_ok)


def _real_view(x: torch.Tensor) -> torch.Tensor:
    return torch.view_as_real(x) if x.is_complex() else x


def _tile(width: int, is_complex: bool, device: torch.device) -> tuple[int, int, int]:
    """(BT, BD, num_warps): on a GPU, tiles long in time keep many loads in flight; small ones interpret fast."""
    if device.type != "cuda":
        return 8, min(16, triton.next_power_of_2(max(width, 1))), 1
    bd = min(32 if is_complex else 64, triton.next_power_of_2(max(width, 1)))
    return 64, bd, 4


def _launch(
    coeff: torch.Tensor, x: torch.Tensor, carry: torch.Tensor | None, *, reverse: bool,
    prev: torch.Tensor | None = None, prev0: torch.Tensor | None = None,
    tile: tuple[int, int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Run the kernel once; returns (out in x's dtype, last state in float32, da or None)."""
    batch, length, width = x.shape
    is_complex = x.is_complex()
    state_dtype = torch.complex64 if is_complex else torch.float32
    out = torch.empty_like(x)
    last = torch.empty(batch, width, dtype=state_dtype, device=x.device)
    da = torch.empty_like(coeff) if prev is not None else None
    bt, bd, warps = tile or _tile(width, is_complex, x.device)
    carry_f = carry.to(state_dtype).contiguous() if carry is not None else None
    prev0_f = prev0.to(state_dtype).contiguous() if prev0 is not None else None
    dummy = _real_view(last)
    grid = (batch, triton.cdiv(width, bd))
    launchable(_scan_kernel, x.device)[grid](
        _real_view(coeff), _real_view(x),
        _real_view(carry_f) if carry_f is not None else dummy,
        _real_view(out), dummy,
        _real_view(prev) if prev is not None else dummy,
        _real_view(prev0_f) if prev0_f is not None else dummy,
        _real_view(da) if da is not None else dummy,
        length, width,
        BT=bt, BD=bd, COMPLEX=is_complex, REVERSE=reverse,
        HAS_CARRY=carry is not None, STORE_LAST=True, GRAD_A=prev is not None,
        HAS_PREV0=prev0 is not None, num_warps=warps,
    )
    return out, last, da


class _DiagonalScan(torch.autograd.Function):
    """Autograd wrapper: the backward pass is a reverse scan with conjugated, shifted gates."""

    @staticmethod
    def forward(ctx, a, b, initial_state):
        h, last, _ = _launch(a, b, initial_state, reverse=False)
        ctx.save_for_backward(a, h, initial_state)
        return h, last

    @staticmethod
    def backward(ctx, grad_h, grad_last):
        a, h, initial_state = ctx.saved_tensors
        if grad_h is None:
            grad_h = torch.zeros_like(h)
        dh, dh0_total, da = _launch(
            a, grad_h.contiguous(), grad_last, reverse=True, prev=h, prev0=initial_state,
        )
        grad_init = None
        if initial_state is not None:
            a0 = a[:, 0].to(dh0_total.dtype)
            grad_init = (a0.conj() * dh0_total).to(initial_state.dtype)
        return da, dh, grad_init


def triton_diagonal_scan(
    a: torch.Tensor, b: torch.Tensor, initial_state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Triton path of ``diagonal_scan``: (h in b's dtype, h_T in float32 or complex64), differentiable."""
    check_scan_inputs(a, b, initial_state)
    return _DiagonalScan.apply(a.contiguous(), b.contiguous(), initial_state)


def triton_scan_forward(
    a: torch.Tensor, b: torch.Tensor, initial_state: torch.Tensor | None, tile: tuple[int, int, int],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward pass alone with an explicit (BT, BD, num_warps) tile, for benchmarks that sweep tiles."""
    h, last, _ = _launch(a, b, initial_state, reverse=False, tile=tile)
    return h, last
