"""Triton kernels of the gated DeltaProduct recurrence, one token at a time, with autograd: a backward without stored
states, the gate's gradient by homogeneity (docs/kernels.md#deltaproduct)."""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from kernels.backend import launchable


@triton.jit
def _forward_kernel(
    q_ptr, k_ptr, v_ptr, beta_ptr, g_ptr, h0_ptr, o_ptr, ht_ptr, w_ptr,
    T, H, scale,
    K: tl.constexpr, V: tl.constexpr, NH: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    HAS_G: tl.constexpr, HAS_H0: tl.constexpr, STORE_W: tl.constexpr,
):
    """o_t = S_t^T (scale q_t) for one (batch, head, value block); saves w = v - S^T k when asked."""
    i_v = tl.program_id(0)
    i_bh = tl.program_id(1)
    b = i_bh // H
    h = i_bh % H
    rk = tl.arange(0, BK)
    rv = i_v * BV + tl.arange(0, BV)
    mk = rk < K
    mv = rv < V
    mkv = mk[:, None] & mv[None, :]
    state_offs = i_bh.to(tl.int64) * K * V + rk[:, None] * V + rv[None, :]
    S = tl.zeros([BK, BV], dtype=tl.float32)
    if HAS_H0:
        S = tl.load(h0_ptr + state_offs, mask=mkv, other=0.0).to(tl.float32)
    for t in range(T):
        if HAS_G:
            S = S * tl.exp(tl.load(g_ptr + (b * T + t) * H + h).to(tl.float32))
        for j in tl.static_range(NH):
            row = (b.to(tl.int64) * T + t) * NH + j
            kk = tl.load(k_ptr + (row * H + h) * K + rk, mask=mk, other=0.0).to(tl.float32)
            vv = tl.load(v_ptr + (row * H + h) * V + rv, mask=mv, other=0.0).to(tl.float32)
            bb = tl.load(beta_ptr + row * H + h).to(tl.float32)
            w = vv - tl.sum(S * kk[:, None], axis=0)
            S = S + kk[:, None] * (bb * w)[None, :]
            if STORE_W:
                tl.store(w_ptr + (row * H + h) * V + rv, w, mask=mv)
        tok = (b.to(tl.int64) * T + t) * H + h
        qq = tl.load(q_ptr + tok * K + rk, mask=mk, other=0.0).to(tl.float32) * scale
        tl.store(o_ptr + tok * V + rv, tl.sum(S * qq[:, None], axis=0), mask=mv)
    tl.store(ht_ptr + state_offs, S, mask=mkv)


@triton.jit
def _reverse_kernel(
    q_ptr, k_ptr, v_ptr, beta_ptr, g_ptr, do_ptr, dht_ptr, w_ptr,
    du_ptr, dv_ptr, dk_ptr, dbeta_ptr, dvv_ptr, dh0_ptr,
    T, H, B, scale,
    K: tl.constexpr, V: tl.constexpr, NH: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    HAS_G: tl.constexpr, HAS_DHT: tl.constexpr,
):
    """Reverse sweep carrying dS: writes du, dv, this block's parts of dk (dS u), dbeta and <dv, v>, and dS_0."""
    i_v = tl.program_id(0)
    i_bh = tl.program_id(1)
    b = i_bh // H
    h = i_bh % H
    rk = tl.arange(0, BK)
    rv = i_v * BV + tl.arange(0, BV)
    mk = rk < K
    mv = rv < V
    mkv = mk[:, None] & mv[None, :]
    state_offs = i_bh.to(tl.int64) * K * V + rk[:, None] * V + rv[None, :]
    part = i_v.to(tl.int64) * B * T * NH * H
    dS = tl.zeros([BK, BV], dtype=tl.float32)
    if HAS_DHT:
        dS = tl.load(dht_ptr + state_offs, mask=mkv, other=0.0).to(tl.float32)
    for s in range(T):
        t = T - 1 - s
        tok = (b.to(tl.int64) * T + t) * H + h
        qq = tl.load(q_ptr + tok * K + rk, mask=mk, other=0.0).to(tl.float32) * scale
        dd = tl.load(do_ptr + tok * V + rv, mask=mv, other=0.0).to(tl.float32)
        dS = dS + qq[:, None] * dd[None, :]
        dvv = 0.0
        for jj in tl.static_range(NH):
            row = (b.to(tl.int64) * T + t) * NH + (NH - 1 - jj)
            kk = tl.load(k_ptr + (row * H + h) * K + rk, mask=mk, other=0.0).to(tl.float32)
            vv = tl.load(v_ptr + (row * H + h) * V + rv, mask=mv, other=0.0).to(tl.float32)
            ww = tl.load(w_ptr + (row * H + h) * V + rv, mask=mv, other=0.0)
            bb = tl.load(beta_ptr + row * H + h).to(tl.float32)
            du = tl.sum(dS * kk[:, None], axis=0)
            tl.store(dk_ptr + (part + row * H + h) * K + rk, tl.sum(dS * (bb * ww)[None, :], axis=1), mask=mk)
            tl.store(dbeta_ptr + part + row * H + h, tl.sum(du * ww, axis=0))
            tl.store(du_ptr + (row * H + h) * V + rv, du, mask=mv)
            tl.store(dv_ptr + (row * H + h) * V + rv, bb * du, mask=mv)
            dvv += tl.sum(bb * du * vv, axis=0)
            dS = dS - kk[:, None] * (bb * du)[None, :]
        if HAS_G:
            tl.store(dvv_ptr + i_v.to(tl.int64) * B * T * H + tok, dvv)
            dS = dS * tl.exp(tl.load(g_ptr + tok).to(tl.float32))
    tl.store(dh0_ptr + state_offs, dS, mask=mkv)


@triton.jit
def _replay_kernel(
    q_ptr, k_ptr, beta_ptr, g_ptr, h0_ptr, do_ptr, w_ptr, du_ptr,
    dq_ptr, dk_ptr, doo_ptr,
    T, H, B, scale,
    K: tl.constexpr, V: tl.constexpr, NH: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    HAS_G: tl.constexpr, HAS_H0: tl.constexpr,
):
    """Forward sweep rebuilding S: adds -beta S du to this block's dk part, writes its dq part and <do, o>."""
    i_v = tl.program_id(0)
    i_bh = tl.program_id(1)
    b = i_bh // H
    h = i_bh % H
    rk = tl.arange(0, BK)
    rv = i_v * BV + tl.arange(0, BV)
    mk = rk < K
    mv = rv < V
    mkv = mk[:, None] & mv[None, :]
    state_offs = i_bh.to(tl.int64) * K * V + rk[:, None] * V + rv[None, :]
    part = i_v.to(tl.int64) * B * T * NH * H
    S = tl.zeros([BK, BV], dtype=tl.float32)
    if HAS_H0:
        S = tl.load(h0_ptr + state_offs, mask=mkv, other=0.0).to(tl.float32)
    for t in range(T):
        tok = (b.to(tl.int64) * T + t) * H + h
        if HAS_G:
            S = S * tl.exp(tl.load(g_ptr + tok).to(tl.float32))
        for j in tl.static_range(NH):
            row = (b.to(tl.int64) * T + t) * NH + j
            kk = tl.load(k_ptr + (row * H + h) * K + rk, mask=mk, other=0.0).to(tl.float32)
            ww = tl.load(w_ptr + (row * H + h) * V + rv, mask=mv, other=0.0)
            du = tl.load(du_ptr + (row * H + h) * V + rv, mask=mv, other=0.0)
            bb = tl.load(beta_ptr + row * H + h).to(tl.float32)
            dk_offs = dk_ptr + (part + row * H + h) * K + rk
            dk = tl.load(dk_offs, mask=mk, other=0.0) - bb * tl.sum(S * du[None, :], axis=1)
            tl.store(dk_offs, dk, mask=mk)
            S = S + kk[:, None] * (bb * ww)[None, :]
        dd = tl.load(do_ptr + tok * V + rv, mask=mv, other=0.0).to(tl.float32)
        tl.store(dq_ptr + (i_v.to(tl.int64) * B * T * H + tok) * K + rk, scale * tl.sum(S * dd[None, :], axis=1), mask=mk)
        if HAS_G:
            qq = tl.load(q_ptr + tok * K + rk, mask=mk, other=0.0).to(tl.float32) * scale
            tl.store(doo_ptr + i_v.to(tl.int64) * B * T * H + tok, tl.sum(dd * tl.sum(S * qq[:, None], axis=0), axis=0))


def _blocks(k_dim: int, v_dim: int, device: torch.device) -> tuple[int, int, int]:
    """(BK, BV, num_warps): the whole key width, value blocks small enough to spread heads over the SMs."""
    bk = triton.next_power_of_2(k_dim)
    bv = min(triton.next_power_of_2(v_dim), 32 if device.type == "cuda" else 16)
    return bk, bv, 4 if bk * bv >= 2048 else 2


def _forward(q, k, v, g, beta, h0, num_householder, scale, blocks, store_w=True):
    """Launch the forward sweep with (BK, BV, num_warps) blocks; returns (o, final state, w or None)."""
    batch, length, heads, k_dim = q.shape
    v_dim = v.shape[-1]
    bk, bv, warps = blocks
    o = torch.empty(batch, length, heads, v_dim, dtype=q.dtype, device=q.device)
    ht = torch.empty(batch, heads, k_dim, v_dim, dtype=torch.float32, device=q.device)
    w = torch.empty(v.shape, dtype=torch.float32, device=q.device) if store_w else ht
    grid = (triton.cdiv(v_dim, bv), batch * heads)
    launchable(_forward_kernel, q.device)[grid](
        q, k, v, beta, g if g is not None else ht, h0 if h0 is not None else ht, o, ht, w,
        length, heads, scale,
        K=k_dim, V=v_dim, NH=num_householder, BK=bk, BV=bv,
        HAS_G=g is not None, HAS_H0=h0 is not None, STORE_W=store_w, num_warps=warps,
    )
    return o, ht, (w if store_w else None)


class _DeltaProduct(torch.autograd.Function):
    """Autograd wrapper over the three sweeps; saves only w = v - S^T k besides the inputs."""

    @staticmethod
    def forward(ctx, q, k, v, g, beta, h0, num_householder, scale):
        o, ht, w = _forward(q, k, v, g, beta, h0, num_householder, scale, _blocks(q.shape[-1], v.shape[-1], q.device))
        ctx.save_for_backward(q, k, v, g, beta, h0, w, o, ht)
        ctx.num_householder, ctx.scale = num_householder, scale
        return o, ht

    @staticmethod
    def backward(ctx, do, dht):
        q, k, v, g, beta, h0, w, o, ht = ctx.saved_tensors
        n, scale = ctx.num_householder, ctx.scale
        batch, length, heads, k_dim = q.shape
        v_dim = v.shape[-1]
        bk, bv, warps = _blocks(k_dim, v_dim, q.device)
        n_v = triton.cdiv(v_dim, bv)
        dev = q.device
        do = torch.zeros_like(o) if do is None else do.contiguous()
        f32 = dict(dtype=torch.float32, device=dev)
        du = torch.empty(v.shape, **f32)
        dv = torch.empty(v.shape, **f32)
        dk = torch.empty(n_v, *k.shape, **f32)
        dbeta = torch.empty(n_v, *beta.shape, **f32)
        dvv = torch.empty(n_v, batch, length, heads, **f32)
        doo = torch.empty(n_v, batch, length, heads, **f32)
        dq = torch.empty(n_v, *q.shape, **f32)
        dh0 = torch.empty(batch, heads, k_dim, v_dim, **f32)
        consts = dict(K=k_dim, V=v_dim, NH=n, BK=bk, BV=bv, HAS_G=g is not None, num_warps=warps)
        grid = (n_v, batch * heads)
        launchable(_reverse_kernel, dev)[grid](
            q, k, v, beta, g if g is not None else dh0, do, dht.contiguous() if dht is not None else dh0, w,
            du, dv, dk, dbeta, dvv, dh0, length, heads, batch, scale, HAS_DHT=dht is not None, **consts,
        )
        launchable(_replay_kernel, dev)[grid](
            q, k, beta, g if g is not None else dh0, h0 if h0 is not None else dh0, do, w, du,
            dq, dk, doo, length, heads, batch, scale, HAS_H0=h0 is not None, **consts,
        )
        dg = None
        if g is not None:
            local = doo.sum(0) - dvv.sum(0)
            dg = local.flip(1).cumsum(1).flip(1)
            if dht is not None:
                dg = dg + (dht.float() * ht).sum((-2, -1))[:, None, :]
            dg = dg.to(g.dtype)
        return (
            dq.sum(0).to(q.dtype), dk.sum(0).to(k.dtype), dv.to(v.dtype), dg,
            dbeta.sum(0).to(beta.dtype), dh0.to(h0.dtype) if h0 is not None else None, None, None,
        )


def fused_recurrent_delta_product(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, g: torch.Tensor | None, beta: torch.Tensor,
    num_householder: int, scale: float, initial_state: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Triton path of ``gated_delta_product`` (inputs already checked): (o, final state), differentiable."""
    contiguous = [x.contiguous() if x is not None else None for x in (q, k, v, g, beta, initial_state)]
    q, k, v, g, beta, h0 = contiguous
    return _DeltaProduct.apply(q, k, v, g, beta, h0, num_householder, scale)
