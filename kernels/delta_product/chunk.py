"""Chunked gated DeltaProduct: the WY/UT form of Yang et al. 2024 over the T*n_h Householder rows.

The n_h factors of a token are consecutive rows, so the recurrence is a gated delta rule over rows
(Siems et al. 2025) whose gate g_t falls on a token's first row and whose output is read at its
last row. Within a chunk of C rows with in-chunk cumulative log gates G and strictly lower
A = diag(beta) (K K^T * exp(G_i - G_j)), the UT transform T = (I + A)^{-1} diag(beta) gives
W = T diag(exp G) K and U = T V, and with the state S at the chunk's start

    U' = U - W S,   o = diag(exp G) Q S + tril(Q K^T * exp(G_i - G_j)) U',
    S <- exp(G_C) S + (diag(exp(G_C - G)) K)^T U'.

One kernel builds A, solves for (I + A)^{-1} by forward substitution in float32, and writes W, U and
the masked Q K^T of every chunk in parallel; a second walks the chunks of one (head, value block)
in order with four tensor-core products per chunk. The backward pass is the fused-recurrent one,
fed with the residuals w = v - S^T k that the second kernel also writes when gradients are needed.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from kernels.backend import launchable

CHUNK = 64
"""Rows per chunk on a GPU (a multiple of 16 for the tensor cores)."""


@triton.jit
def _mm(a, b, PREC: tl.constexpr, UPCAST: tl.constexpr):
    """a @ b with float32 accumulation; UPCAST widens half-precision operands first (exact products, same result;
    Triton's CPU interpreter multiplies bfloat16 operands wrongly)."""
    if UPCAST:
        return tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="ieee")
    return tl.dot(a, b, input_precision=PREC)


@triton.jit
def _row_gates(g_ptr, b, h, r, N, T, H, NH: tl.constexpr, HAS_G: tl.constexpr):
    """Cumulative log gate of rows r within their chunk: g_t sits on each token's first row."""
    if HAS_G:
        first = ((r % NH) == 0) & (r < N)
        gr = tl.load(g_ptr + ((b * T + r // NH) * H + h), mask=first, other=0.0).to(tl.float32)
    else:
        gr = tl.zeros(r.shape, dtype=tl.float32)
    return tl.cumsum(gr, axis=0)


@triton.jit
def _prepare_kernel(
    q_ptr, k_ptr, v_ptr, beta_ptr, g_ptr, w_ptr, u_ptr, aqk_ptr, akk_ptr, gc_ptr,
    N, T, H, scale,
    K: tl.constexpr, V: tl.constexpr, NH: tl.constexpr, C: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    HAS_G: tl.constexpr, STORE_AKK: tl.constexpr, PREC: tl.constexpr, UPCAST: tl.constexpr,
):
    """For one chunk of one head: W, U, tril(Q K^T e^{G_i - G_j}) and (when asked) strict-lower K K^T e^{G_i - G_j}."""
    i_c = tl.program_id(0)
    i_bh = tl.program_id(1)
    b = i_bh // H
    h = i_bh % H
    NT = tl.cdiv(N, C)
    r = i_c * C + tl.arange(0, C)
    mr = r < N
    ck = tl.arange(0, BK)
    mk = ck < K
    rows = (b.to(tl.int64) * N + r) * H + h
    kk = tl.load(k_ptr + rows[:, None] * K + ck[None, :], mask=mr[:, None] & mk[None, :], other=0.0)
    bb = tl.load(beta_ptr + rows, mask=mr, other=0.0).to(tl.float32)
    G = _row_gates(g_ptr, b, h, r, N, T, H, NH, HAS_G)
    lower = r[:, None] > r[None, :]
    decay = tl.exp(tl.where(r[:, None] >= r[None, :], G[:, None] - G[None, :], float("-inf")))
    kkt = _mm(kk, tl.trans(kk), PREC, UPCAST) * decay
    out = (i_bh.to(tl.int64) * NT + i_c) * C
    cc = tl.arange(0, C)
    if STORE_AKK:
        tl.store(akk_ptr + (out + cc)[:, None] * C + cc[None, :], tl.where(lower, kkt, 0.0))
    # Forward substitution: rows of X = (I + A)^{-1} - I, one row at a time (A strictly lower).
    X = -tl.where(lower, kkt * bb[:, None], 0.0)
    for i in range(1, C):
        pick = cc == i
        xi = tl.sum(tl.where(pick[:, None], X, 0.0), axis=0)
        xi = xi + tl.sum(xi[:, None] * X, axis=0) * (cc < i)
        X = tl.where(pick[:, None], xi[None, :], X)
    X = X + (cc[:, None] == cc[None, :])
    Xd = X.to(kk.dtype)
    wk = (kk.to(tl.float32) * (bb * tl.exp(G))[:, None]).to(kk.dtype)
    tl.store(w_ptr + (out + cc)[:, None] * K + ck[None, :], _mm(Xd, wk, PREC, UPCAST).to(kk.dtype),
             mask=mk[None, :])
    for i_v in range(tl.cdiv(V, BV)):
        cv = i_v * BV + tl.arange(0, BV)
        mv = cv < V
        vv = tl.load(v_ptr + rows[:, None] * V + cv[None, :], mask=mr[:, None] & mv[None, :], other=0.0)
        bv = (vv.to(tl.float32) * bb[:, None]).to(vv.dtype)
        tl.store(u_ptr + (out + cc)[:, None] * V + cv[None, :], _mm(Xd, bv, PREC, UPCAST).to(vv.dtype),
                 mask=mv[None, :])
    reads = mr & ((r % NH) == NH - 1)
    qq = tl.load(q_ptr + ((b.to(tl.int64) * T + r // NH) * H + h)[:, None] * K + ck[None, :],
                 mask=reads[:, None] & mk[None, :], other=0.0)
    aqk = _mm(qq, tl.trans(kk), PREC, UPCAST) * decay * scale
    tl.store(aqk_ptr + (out + cc)[:, None] * C + cc[None, :], aqk.to(kk.dtype))
    tl.store(gc_ptr + out + cc, G)


@triton.jit
def _state_kernel(
    q_ptr, k_ptr, v_ptr, w_ptr, u_ptr, aqk_ptr, akk_ptr, gc_ptr, h0_ptr, o_ptr, ht_ptr, res_ptr,
    N, T, H, scale,
    K: tl.constexpr, V: tl.constexpr, NH: tl.constexpr, C: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    HAS_H0: tl.constexpr, STORE_RES: tl.constexpr, PREC: tl.constexpr, UPCAST: tl.constexpr,
):
    """Walk the chunks of one (head, value block): U' = U - W S, outputs at token rows, then the state update."""
    i_v = tl.program_id(0)
    i_bh = tl.program_id(1)
    b = i_bh // H
    h = i_bh % H
    NT = tl.cdiv(N, C)
    ck = tl.arange(0, BK)
    cv = i_v * BV + tl.arange(0, BV)
    cc = tl.arange(0, C)
    mk = ck < K
    mv = cv < V
    mkv = mk[:, None] & mv[None, :]
    state = i_bh.to(tl.int64) * K * V + ck[:, None] * V + cv[None, :]
    S = tl.zeros([BK, BV], dtype=tl.float32)
    if HAS_H0:
        S = tl.load(h0_ptr + state, mask=mkv, other=0.0).to(tl.float32)
    for i_c in range(NT):
        r = i_c * C + cc
        mr = r < N
        out = (i_bh.to(tl.int64) * NT + i_c) * C
        rows = (b.to(tl.int64) * N + r) * H + h
        ww = tl.load(w_ptr + (out + cc)[:, None] * K + ck[None, :], mask=mk[None, :], other=0.0)
        uu = tl.load(u_ptr + (out + cc)[:, None] * V + cv[None, :], mask=mv[None, :], other=0.0).to(tl.float32)
        kk = tl.load(k_ptr + rows[:, None] * K + ck[None, :], mask=mr[:, None] & mk[None, :], other=0.0)
        aqk = tl.load(aqk_ptr + (out + cc)[:, None] * C + cc[None, :])
        G = tl.load(gc_ptr + out + cc)
        g_last = tl.load(gc_ptr + out + C - 1)
        reads = mr & ((r % NH) == NH - 1)
        tok = (b.to(tl.int64) * T + r // NH) * H + h
        qq = tl.load(q_ptr + tok[:, None] * K + ck[None, :], mask=reads[:, None] & mk[None, :], other=0.0)
        Sd = S.to(kk.dtype)
        u_new = uu - _mm(ww, Sd, PREC, UPCAST)
        ud = u_new.to(kk.dtype)
        qg = (qq.to(tl.float32) * (scale * tl.exp(G))[:, None]).to(kk.dtype)
        o = _mm(qg, Sd, PREC, UPCAST) + _mm(aqk, ud, PREC, UPCAST)
        tl.store(o_ptr + tok[:, None] * V + cv[None, :], o.to(o_ptr.dtype.element_ty),
                 mask=reads[:, None] & mv[None, :])
        if STORE_RES:
            akk = tl.load(akk_ptr + (out + cc)[:, None] * C + cc[None, :])
            kg = (kk.to(tl.float32) * tl.exp(G)[:, None]).to(kk.dtype)
            vv = tl.load(v_ptr + rows[:, None] * V + cv[None, :], mask=mr[:, None] & mv[None, :], other=0.0)
            pred = _mm(kg, Sd, PREC, UPCAST) + _mm(akk, u_new, "ieee", UPCAST)
            tl.store(res_ptr + rows[:, None] * V + cv[None, :], vv.to(tl.float32) - pred,
                     mask=mr[:, None] & mv[None, :])
        kd = (kk.to(tl.float32) * tl.exp(g_last - G)[:, None]).to(kk.dtype)
        S = S * tl.exp(g_last) + _mm(tl.trans(kd), ud, PREC, UPCAST)
    tl.store(ht_ptr + state, S, mask=mkv)


STATE_CONFIG = (32, 4, 1)
"""(BV, num_warps, num_stages) of the sequential kernel: 32-wide value blocks put B*H*V/32 programs on the SMs;
one stage keeps it near 128 registers a thread (sm_90 resource report: no spills besides 48 stack bytes)."""


def chunk_forward(q, k, v, g, beta, h0, num_householder, scale, chunk=CHUNK, store_residual=False,
                  state_config=STATE_CONFIG):
    """Chunked forward on contiguous inputs: (o, final state, residual w = v - S^T k (float32) or None)."""
    batch, length, heads, k_dim = q.shape
    rows, v_dim = k.shape[1], v.shape[-1]
    dev = q.device
    n_chunks = triton.cdiv(rows, chunk) if rows else 0
    bk = max(16, triton.next_power_of_2(k_dim))
    block_v, warps, stages = state_config
    bv = max(16, min(triton.next_power_of_2(v_dim), block_v if dev.type == "cuda" else 16))
    work = q.dtype if q.dtype in (torch.bfloat16, torch.float16) else torch.float32
    prec = "ieee" if work == torch.float32 else "tf32"
    padded = (batch * heads, n_chunks * chunk)
    w = torch.empty(*padded, k_dim, dtype=work, device=dev)
    u = torch.empty(*padded, v_dim, dtype=work, device=dev)
    aqk = torch.empty(*padded, chunk, dtype=work, device=dev)
    akk = torch.empty(*padded, chunk, dtype=torch.float32, device=dev) if store_residual else aqk
    gc = torch.empty(*padded, dtype=torch.float32, device=dev)
    o = torch.empty(batch, length, heads, v_dim, dtype=q.dtype, device=dev)
    ht = torch.empty(batch, heads, k_dim, v_dim, dtype=torch.float32, device=dev)
    res = torch.empty(v.shape, dtype=torch.float32, device=dev) if store_residual else ht
    consts = dict(K=k_dim, V=v_dim, NH=num_householder, C=chunk, BK=bk, PREC=prec, UPCAST=dev.type != "cuda")
    if n_chunks:
        launchable(_prepare_kernel, dev)[(n_chunks, batch * heads)](
            q, k, v, beta, g if g is not None else gc, w, u, aqk, akk, gc, rows, length, heads, scale,
            BV=max(16, min(64, triton.next_power_of_2(v_dim))), HAS_G=g is not None, STORE_AKK=store_residual,
            num_warps=8, **consts,
        )
    launchable(_state_kernel, dev)[(triton.cdiv(v_dim, bv), batch * heads)](
        q, k, v, w, u, aqk, akk, gc, h0 if h0 is not None else ht, o, ht, res, rows, length, heads, scale,
        BV=bv, HAS_H0=h0 is not None, STORE_RES=store_residual, num_warps=warps, num_stages=stages, **consts,
    )
    return o, ht, (res if store_residual else None)


class _ChunkDeltaProduct(torch.autograd.Function):
    """Chunked forward; the backward is fused_recurrent's, fed with the residuals this forward writes."""

    @staticmethod
    def forward(ctx, q, k, v, g, beta, h0, num_householder, scale, chunk, needs_grad):
        o, ht, w = chunk_forward(q, k, v, g, beta, h0, num_householder, scale, chunk, store_residual=needs_grad)
        ctx.save_for_backward(q, k, v, g, beta, h0, w, o, ht)
        ctx.num_householder, ctx.scale = num_householder, scale
        return o, ht

    @staticmethod
    def backward(ctx, do, dht):
        from kernels.delta_product.fused_recurrent import _DeltaProduct

        return (*_DeltaProduct.backward(ctx, do, dht), None, None)


def chunk_delta_product(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, g: torch.Tensor | None, beta: torch.Tensor,
    num_householder: int, scale: float, initial_state: torch.Tensor | None, chunk: int = CHUNK,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The chunked Triton path of ``gated_delta_product`` (inputs already checked): (o, final state), differentiable."""
    inputs = [x.contiguous() if x is not None else None for x in (q, k, v, g, beta, initial_state)]
    needs_grad = torch.is_grad_enabled() and any(x is not None and x.requires_grad for x in inputs)
    return _ChunkDeltaProduct.apply(*inputs, num_householder, scale, chunk, needs_grad)
