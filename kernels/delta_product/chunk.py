"""Chunked gated DeltaProduct: the WY/UT form of Yang et al. 2024 over the T*n_h Householder rows.

The n_h factors of a token are consecutive rows, so the recurrence is a gated delta rule over rows
(Siems et al. 2025) whose gate g_t falls on a token's first row and whose output is read at its
last row. Within a chunk of C rows with in-chunk cumulative log gates G and strictly lower
A = diag(beta) (K K^T * exp(G_i - G_j)), the UT transform T = (I + A)^{-1} diag(beta) gives
W = T diag(exp G) K and U = T V, and with the state S at the chunk's start

    U' = U - W S,   o = diag(exp G) Q S + tril(Q K^T * exp(G_i - G_j)) U',
    S <- exp(G_C) S + (diag(exp(G_C - G)) K)^T U'.

One kernel (all chunks in parallel) builds A, inverts I + A by 16x16 diagonal blocks merged with
tensor-core products (the structure of fla's solve_tril), and writes W, U, the chunk tokens' masked
Q K^T and output scales; a second walks the chunks of one (head, value block) in order: U' = U - W S,
the tokens' outputs, and the state update, with the decay on U's rows as in fla's chunk_delta_h.
The backward pass is the fused-recurrent one, fed with the residuals w = v - S^T k that the second
kernel also writes when gradients are needed.
"""
from __future__ import annotations

from dataclasses import dataclass

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
def _unit_lower_inverse(A, C: tl.constexpr, LOG_NB: tl.constexpr, PREC: tl.constexpr):
    """(I + A)^{-1} for a strictly lower (C x C) float32 A, C = 16 * 2^LOG_NB.

    The 16x16 diagonal blocks I + A_bb are inverted together by forward substitution (a (NB, 16, 16)
    tile, 14 steps); with D^{-1} their block-diagonal inverse and E the strictly block-lower part
    of A, (I + A)^{-1} = (I + N)^{-1} D^{-1} where N = D^{-1} E is nilpotent (N^NB = 0), so
    (I + N)^{-1} = (I - N)(I + N^2)(I + N^4)... in 2 LOG_NB tensor-core products (C x C x C).
    """
    NB: tl.constexpr = C // 16
    cc = tl.arange(0, C)
    i16 = tl.arange(0, 16)
    same = tl.arange(0, NB)[:, None, None, None] == tl.arange(0, NB)[None, None, :, None]
    X = -tl.sum(tl.where(same, tl.reshape(A, (NB, 16, NB, 16)), 0.0), axis=2)
    row = i16[None, :, None]
    for i in tl.static_range(2, 16):
        xi = tl.sum(tl.where(row == i, X, 0.0), axis=1)
        xi = xi + tl.sum(xi[:, :, None] * X, axis=1)
        X = tl.where(row == i, xi[:, None, :], X)
    X = X + (i16[:, None] == i16[None, :])[None, :, :]
    d_inv = tl.reshape(tl.where(same, X[:, :, None, :], 0.0), (C, C))
    inverse = d_inv
    if NB > 1:
        n = tl.dot(d_inv, tl.where((cc // 16)[:, None] > (cc // 16)[None, :], A, 0.0), input_precision=PREC)
        p = tl.where(cc[:, None] == cc[None, :], 1.0, 0.0) - n
        for _ in tl.static_range(1, LOG_NB):
            n = tl.dot(n, n, input_precision=PREC)
            p = p + tl.dot(p, n, input_precision=PREC)
        inverse = tl.dot(p, d_inv, input_precision=PREC)
    return inverse


@triton.jit
def _token_slots(i_c, T, C: tl.constexpr, NH: tl.constexpr, TT: tl.constexpr):
    """Tokens whose last row falls in chunk i_c: the first one t0, each slot's in-chunk read row, and validity."""
    t0 = (i_c * C + NH) // NH - 1
    tt = tl.arange(0, TT)
    read = (t0 + tt) * NH + NH - 1 - i_c * C
    return t0, read, (read < C) & (t0 + tt < T)


@triton.jit
def _load_rows(ptrs, rows_ok, cols_ok, FULL: tl.constexpr):
    """A masked tile load; with FULL (every column in range) the mask is by rows alone, so that Triton can
    vectorise the load and pipeline it (a per-column mask makes it a 2-byte load that is never prefetched)."""
    if FULL:
        x = tl.load(ptrs, mask=rows_ok[:, None], other=0.0)
    else:
        x = tl.load(ptrs, mask=rows_ok[:, None] & cols_ok[None, :], other=0.0)
    return x


@triton.jit
def _prepare_kernel(
    q_ptr, k_ptr, v_ptr, beta_ptr, g_ptr, w_ptr, u_ptr, aqk_ptr, qs_ptr, akk_ptr, gc_ptr,
    N, T, H, scale,
    K: tl.constexpr, V: tl.constexpr, NH: tl.constexpr, C: tl.constexpr, TT: tl.constexpr,
    LOG_NB: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr, VP: tl.constexpr,
    HAS_G: tl.constexpr, STORE_AKK: tl.constexpr, PREC: tl.constexpr, UPCAST: tl.constexpr,
):
    """For one chunk of one head: W (C x BK), U (C x VP), the tokens' masked Q K^T (TT x C) and output scales,
    in-chunk log gates, and (when asked) the strict-lower K K^T e^{G_i - G_j}; all zero-padded."""
    i_c = tl.program_id(0)
    i_bh = tl.program_id(1)
    b = i_bh // H
    h = i_bh % H
    NT = tl.cdiv(N, C)
    cc = tl.arange(0, C)
    ck = tl.arange(0, BK)
    tt = tl.arange(0, TT)
    r = i_c * C + cc
    rows = (b.to(tl.int64) * N + i_c * C) * H + h
    kk = _load_rows(k_ptr + rows * K + (cc * (H * K))[:, None] + ck[None, :], r < N, ck < K, BK == K)
    bb = tl.load(beta_ptr + rows + cc * H, mask=r < N, other=0.0).to(tl.float32)
    G = _row_gates(g_ptr, b, h, r, N, T, H, NH, HAS_G)
    lower = cc[:, None] > cc[None, :]
    kkt = _mm(kk, tl.trans(kk), PREC, UPCAST) * tl.exp(tl.where(lower, G[:, None] - G[None, :], float("-inf")))
    chunk = i_bh.to(tl.int64) * NT + i_c
    if STORE_AKK:
        tl.store(akk_ptr + chunk * C * C + cc[:, None] * C + cc[None, :], kkt)
    t_inv = _unit_lower_inverse(kkt * bb[:, None], C, LOG_NB, PREC)
    # W = T diag(beta e^G) K and U = T diag(beta) V: the diagonal scales go on T's columns
    tw = (t_inv * (bb * tl.exp(G))[None, :]).to(kk.dtype)
    tl.store(w_ptr + chunk * C * BK + cc[:, None] * BK + ck[None, :], _mm(tw, kk, PREC, UPCAST).to(kk.dtype))
    tu = (t_inv * bb[None, :]).to(kk.dtype)
    for i_v in tl.static_range(VP // BV):
        cv = i_v * BV + tl.arange(0, BV)
        vv = _load_rows(v_ptr + rows * V + (cc * (H * V))[:, None] + cv[None, :], r < N, cv < V, V % BV == 0)
        tl.store(u_ptr + chunk * C * VP + cc[:, None] * VP + cv[None, :], _mm(tu, vv, PREC, UPCAST).to(kk.dtype))
    t0, read, valid = _token_slots(i_c, T, C, NH, TT)
    g_read = tl.sum(tl.where(cc[None, :] == read[:, None], G[None, :], 0.0), axis=1)
    tok = (b.to(tl.int64) * T + t0) * H + h
    qq = _load_rows(q_ptr + tok * K + (tt * (H * K))[:, None] + ck[None, :], t0 + tt < T, ck < K, BK == K)
    seen = (cc[None, :] <= read[:, None]) & valid[:, None]
    aqk = _mm(qq, tl.trans(kk), PREC, UPCAST) * tl.exp(tl.where(seen, g_read[:, None] - G[None, :], float("-inf")))
    tl.store(aqk_ptr + chunk * TT * C + tt[:, None] * C + cc[None, :], (aqk * scale).to(kk.dtype))
    tl.store(qs_ptr + chunk * TT + tt, tl.where(valid, scale * tl.exp(g_read), 0.0))
    tl.store(gc_ptr + chunk * C + cc, G)


@triton.jit
def _state_kernel(
    q_ptr, v_ptr, k_ptr, w_ptr, u_ptr, aqk_ptr, qs_ptr, akk_ptr, gc_ptr, h0_ptr, o_ptr, ht_ptr, res_ptr,
    N, T, H,
    K: tl.constexpr, V: tl.constexpr, NH: tl.constexpr, C: tl.constexpr, TT: tl.constexpr,
    BK: tl.constexpr, BV: tl.constexpr, VP: tl.constexpr,
    HAS_H0: tl.constexpr, STORE_RES: tl.constexpr, PREC: tl.constexpr, UPCAST: tl.constexpr,
):
    """Walk the chunks of one (head, value block): U' = U - W S, the chunk's token outputs, the state update."""
    i_v = tl.program_id(0)
    i_bh = tl.program_id(1)
    b = i_bh // H
    h = i_bh % H
    NT = tl.cdiv(N, C)
    ck = tl.arange(0, BK)
    cv = i_v * BV + tl.arange(0, BV)
    cc = tl.arange(0, C)
    tt = tl.arange(0, TT)
    mv = cv < V
    mkv = (ck < K)[:, None] & mv[None, :]
    state = i_bh.to(tl.int64) * K * V + ck[:, None] * V + cv[None, :]
    S = tl.zeros([BK, BV], dtype=tl.float32)
    if HAS_H0:
        S = tl.load(h0_ptr + state, mask=mkv, other=0.0).to(tl.float32)
    for i_c in range(NT):
        chunk = i_bh * NT + i_c
        rows = (b * N + i_c * C) * H + h
        ww = tl.load(w_ptr + chunk.to(tl.int64) * C * BK + cc[:, None] * BK + ck[None, :])
        uu = tl.load(u_ptr + chunk.to(tl.int64) * C * VP + cc[:, None] * VP + cv[None, :]).to(tl.float32)
        kk = _load_rows(k_ptr + rows.to(tl.int64) * K + (cc * (H * K))[:, None] + ck[None, :], i_c * C + cc < N,
                        ck < K, BK == K)
        t0, read, valid = _token_slots(i_c, T, C, NH, TT)
        tok = ((b * T + t0) * H + h).to(tl.int64)
        qq = _load_rows(q_ptr + tok * K + (tt * (H * K))[:, None] + ck[None, :], t0 + tt < T, ck < K, BK == K)
        aqk = tl.load(aqk_ptr + chunk.to(tl.int64) * TT * C + tt[:, None] * C + cc[None, :])
        qs = tl.load(qs_ptr + chunk.to(tl.int64) * TT + tt)
        G = tl.load(gc_ptr + chunk.to(tl.int64) * C + cc)
        g_last = tl.load(gc_ptr + chunk.to(tl.int64) * C + C - 1)
        Sd = S.to(kk.dtype)
        u_new = uu - _mm(ww, Sd, PREC, UPCAST)
        o = _mm(qq, Sd, PREC, UPCAST) * qs[:, None] + _mm(aqk, u_new.to(kk.dtype), PREC, UPCAST)
        tl.store(o_ptr + tok * V + (tt * (H * V))[:, None] + cv[None, :], o.to(o_ptr.dtype.element_ty),
                 mask=valid[:, None] & mv[None, :])
        if STORE_RES:
            akk = tl.load(akk_ptr + chunk.to(tl.int64) * C * C + cc[:, None] * C + cc[None, :])
            pred = _mm(kk, Sd, PREC, UPCAST) * tl.exp(G)[:, None] + _mm(akk, u_new, "ieee", UPCAST)
            v_ptrs = rows.to(tl.int64) * V + (cc * (H * V))[:, None] + cv[None, :]
            m_res = (i_c * C + cc < N)[:, None] & mv[None, :]
            vv = tl.load(v_ptr + v_ptrs, mask=m_res, other=0.0)
            tl.store(res_ptr + v_ptrs, vv.to(tl.float32) - pred, mask=m_res)
        # S <- e^{G_C} S + K^T diag(e^{G_C - G}) U': the decay goes on U's rows, not on K
        ud = (u_new * tl.exp(g_last - G)[:, None]).to(kk.dtype)
        S = S * tl.exp(g_last) + _mm(tl.trans(kk), ud, PREC, UPCAST)
    tl.store(ht_ptr + state, S, mask=mkv)


STATE_CONFIG = (32, 4, 2)
"""(BV, num_warps, num_stages) of the sequential kernel on a GPU (bench/kernels_delta_product.py sweeps it)."""
PREPARE_WARPS = 4
"""num_warps of the chunk-parallel kernel on a GPU."""


@dataclass(frozen=True)
class Prepared:
    """What the chunk-parallel kernel writes for the sequential one, per (batch*head, chunk)."""

    w: torch.Tensor
    u: torch.Tensor
    aqk: torch.Tensor
    qs: torch.Tensor
    akk: torch.Tensor | None
    gc: torch.Tensor
    token_slots: int


def _padded(width: int) -> int:
    """A key or value width padded to a power of two of at least 16 (the tiles' width; W and U are stored padded)."""
    return max(16, triton.next_power_of_2(width))


def _precision(q: torch.Tensor) -> tuple[torch.dtype, str]:
    """Operand dtype and tl.dot precision: half inputs keep their dtype (tf32 for float32 products), float32 is ieee."""
    if q.dtype in (torch.bfloat16, torch.float16):
        return q.dtype, "tf32"
    return torch.float32, "ieee"


def prepare_chunks(q, k, v, g, beta, num_householder, scale, chunk=CHUNK, store_akk=False,
                   warps=PREPARE_WARPS) -> Prepared:
    """Launch the chunk-parallel kernel on contiguous inputs: W, U, the tokens' masked Q K^T and output scales,
    in-chunk log gates (and K K^T for the residuals)."""
    if chunk < 16 or chunk & (chunk - 1):
        raise ValueError(f"chunk: expected a power of two >= 16, got {chunk}")
    batch, length, heads, k_dim = q.shape
    rows, v_dim = k.shape[1], v.shape[-1]
    dev = q.device
    n_chunks = triton.cdiv(rows, chunk)
    slots = max(16, triton.next_power_of_2(triton.cdiv(chunk, num_householder)))
    work, prec = _precision(q)
    bk, vp = _padded(k_dim), _padded(v_dim)
    per_head = (batch * heads, n_chunks)
    out = Prepared(
        w=torch.empty(*per_head, chunk, bk, dtype=work, device=dev),
        u=torch.empty(*per_head, chunk, vp, dtype=work, device=dev),
        aqk=torch.empty(*per_head, slots, chunk, dtype=work, device=dev),
        qs=torch.empty(*per_head, slots, dtype=torch.float32, device=dev),
        akk=torch.empty(*per_head, chunk, chunk, dtype=torch.float32, device=dev) if store_akk else None,
        gc=torch.empty(*per_head, chunk, dtype=torch.float32, device=dev),
        token_slots=slots,
    )
    if n_chunks:
        launchable(_prepare_kernel, dev)[(n_chunks, batch * heads)](
            q, k, v, beta, g if g is not None else out.gc, out.w, out.u, out.aqk, out.qs,
            out.akk if store_akk else out.gc, out.gc, rows, length, heads, scale,
            K=k_dim, V=v_dim, NH=num_householder, C=chunk, TT=slots, LOG_NB=(chunk // 16).bit_length() - 1,
            BK=bk, BV=min(64, vp), VP=vp,
            HAS_G=g is not None, STORE_AKK=store_akk, PREC=prec, UPCAST=dev.type != "cuda", num_warps=warps,
        )
    return out


def chunk_forward(q, k, v, g, beta, h0, num_householder, scale, chunk=CHUNK, store_residual=False,
                  state_config=STATE_CONFIG, prepare_warps=PREPARE_WARPS):
    """Chunked forward on contiguous inputs: (o, final state, residual w = v - S^T k (float32) or None)."""
    batch, length, heads, k_dim = q.shape
    rows, v_dim = k.shape[1], v.shape[-1]
    dev = q.device
    prep = prepare_chunks(q, k, v, g, beta, num_householder, scale, chunk, store_residual, prepare_warps)
    block_v, warps, stages = state_config if dev.type == "cuda" else (16, 4, 1)
    vp = _padded(v_dim)
    bv = max(16, min(vp, block_v))
    o = torch.empty(batch, length, heads, v_dim, dtype=q.dtype, device=dev)
    ht = torch.empty(batch, heads, k_dim, v_dim, dtype=torch.float32, device=dev)
    res = torch.empty(v.shape, dtype=torch.float32, device=dev) if store_residual else ht
    launchable(_state_kernel, dev)[(triton.cdiv(v_dim, bv), batch * heads)](
        q, v, k, prep.w, prep.u, prep.aqk, prep.qs, prep.akk if store_residual else prep.gc, prep.gc,
        h0 if h0 is not None else ht, o, ht, res, rows, length, heads,
        K=k_dim, V=v_dim, NH=num_householder, C=chunk, TT=prep.token_slots,
        BK=_padded(k_dim), BV=bv, VP=vp, HAS_H0=h0 is not None, STORE_RES=store_residual,
        PREC=_precision(q)[1], UPCAST=dev.type != "cuda", num_warps=warps, num_stages=stages,
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
