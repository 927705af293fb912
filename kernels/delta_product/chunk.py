"""Chunked gated DeltaProduct: the WY/UT form of Yang et al. 2024 over the T*n_h Householder rows, forward and
chunked backward in two kernels each. Derivation: docs/kernels.md#deltaproduct
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
    q_ptr, k_ptr, v_ptr, beta_ptr, g_ptr, w_ptr, u_ptr, aqk_ptr, qs_ptr, akk_ptr, gc_ptr, t_ptr,
    N, T, H, scale,
    K: tl.constexpr, V: tl.constexpr, NH: tl.constexpr, C: tl.constexpr, TT: tl.constexpr,
    LOG_NB: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr, VP: tl.constexpr,
    HAS_G: tl.constexpr, STORE_AKK: tl.constexpr, STORE_T: tl.constexpr, PREC: tl.constexpr, UPCAST: tl.constexpr,
):
    """For one chunk of one head: W (C x BK), U (C x VP), the tokens' masked Q K^T (TT x C) and output scales,
    in-chunk log gates, and (when asked) the strict-lower K K^T e^{G_i - G_j} and T = (I + A)^{-1}; zero-padded."""
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
    if STORE_T:
        tl.store(t_ptr + chunk * C * C + cc[:, None] * C + cc[None, :], t_inv)
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
    hs_ptr, un_ptr,
    N, T, H,
    K: tl.constexpr, V: tl.constexpr, NH: tl.constexpr, C: tl.constexpr, TT: tl.constexpr,
    BK: tl.constexpr, BV: tl.constexpr, VP: tl.constexpr,
    HAS_H0: tl.constexpr, STORE_RES: tl.constexpr, STORE_STATES: tl.constexpr, PREC: tl.constexpr,
    UPCAST: tl.constexpr,
):
    """Walk the chunks of one (head, value block): U' = U - W S, the chunk's token outputs, the state update;
    with STORE_STATES also each chunk's starting state and U' (in the operand dtype) for the chunked backward."""
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
        if STORE_STATES:
            tl.store(hs_ptr + chunk.to(tl.int64) * K * V + ck[:, None] * V + cv[None, :], Sd, mask=mkv)
            tl.store(un_ptr + chunk.to(tl.int64) * C * V + cc[:, None] * V + cv[None, :], u_new.to(kk.dtype),
                     mask=mv[None, :])
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



@triton.jit
def _state_bwd_kernel(
    q_ptr, k_ptr, w_ptr, aqk_ptr, qs_ptr, gc_ptr, do_ptr, dht_ptr, du_ptr, dhs_ptr, dh0_ptr,
    N, T, H,
    K: tl.constexpr, V: tl.constexpr, NH: tl.constexpr, C: tl.constexpr, TT: tl.constexpr,
    BK: tl.constexpr, BV: tl.constexpr, HAS_DHT: tl.constexpr, PREC: tl.constexpr, UPCAST: tl.constexpr,
):
    """Walk the chunks of one (head, value block) backwards carrying dS (the gradient of the state at the chunk's
    end): dU' = (Q K^T ..)^T dO + diag(e^{G_C - G}) K dS, then dS <- e^{G_C} dS + Q^T diag(qs) dO - W^T dU'."""
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
    dS = tl.zeros([BK, BV], dtype=tl.float32)
    if HAS_DHT:
        dS = tl.load(dht_ptr + state, mask=mkv, other=0.0).to(tl.float32)
    for i_r in range(NT):
        i_c = NT - 1 - i_r
        chunk = (i_bh * NT + i_c).to(tl.int64)
        rows = ((b * N + i_c * C) * H + h).to(tl.int64)
        kk = _load_rows(k_ptr + rows * K + (cc * (H * K))[:, None] + ck[None, :], i_c * C + cc < N, ck < K, BK == K)
        ww = tl.load(w_ptr + chunk * C * BK + cc[:, None] * BK + ck[None, :])
        t0, read, valid = _token_slots(i_c, T, C, NH, TT)
        tok = ((b * T + t0) * H + h).to(tl.int64)
        qq = _load_rows(q_ptr + tok * K + (tt * (H * K))[:, None] + ck[None, :], t0 + tt < T, ck < K, BK == K)
        dd = _load_rows(do_ptr + tok * V + (tt * (H * V))[:, None] + cv[None, :], valid, mv, V % BV == 0)
        aqk = tl.load(aqk_ptr + chunk * TT * C + tt[:, None] * C + cc[None, :])
        qs = tl.load(qs_ptr + chunk * TT + tt)
        G = tl.load(gc_ptr + chunk * C + cc)
        g_last = tl.load(gc_ptr + chunk * C + C - 1)
        dSd = dS.to(kk.dtype)
        tl.store(dhs_ptr + chunk * K * V + ck[:, None] * V + cv[None, :], dSd, mask=mkv)
        du = _mm(tl.trans(aqk), dd.to(kk.dtype), PREC, UPCAST)
        du += _mm(kk, dSd, PREC, UPCAST) * tl.exp(g_last - G)[:, None]
        dud = du.to(kk.dtype)
        tl.store(du_ptr + chunk * C * V + cc[:, None] * V + cv[None, :], dud, mask=mv[None, :])
        dS = (dS * tl.exp(g_last) + _mm(tl.trans(qq), (dd * qs[:, None]).to(kk.dtype), PREC, UPCAST)
              - _mm(tl.trans(ww), dud, PREC, UPCAST))
    tl.store(dh0_ptr + state, dS, mask=mkv)


@triton.jit
def _chunk_bwd_kernel(
    q_ptr, k_ptr, gc_ptr, qs_ptr, hs_ptr, dhs_ptr, un_ptr, du_ptr, do_ptr, dq_ptr, dk_ptr, dw_ptr,
    N, T, H, scale,
    K: tl.constexpr, V: tl.constexpr, NH: tl.constexpr, C: tl.constexpr, TT: tl.constexpr,
    BK: tl.constexpr, BV: tl.constexpr, PREC: tl.constexpr, UPCAST: tl.constexpr,
):
    """For one chunk and key block: dQ = diag(qs) dO S^T + dA K, dK = diag(e^{G_C - G}) U' dS^T + dA^T Q and
    dW = -dU' S^T, with dA = (dO U'^T) * scale e^{G_read - G_j} on the seen rows (V looped over in blocks)."""
    i_k = tl.program_id(0)
    i_c = tl.program_id(1)
    i_bh = tl.program_id(2)
    b = i_bh // H
    h = i_bh % H
    NT = tl.cdiv(N, C)
    chunk = (i_bh * NT + i_c).to(tl.int64)
    ck = i_k * BK + tl.arange(0, BK)
    cc = tl.arange(0, C)
    tt = tl.arange(0, TT)
    mk = ck < K
    rows = ((b * N + i_c * C) * H + h).to(tl.int64)
    kk = _load_rows(k_ptr + rows * K + (cc * (H * K))[:, None] + ck[None, :], i_c * C + cc < N, mk, K % BK == 0)
    t0, read, valid = _token_slots(i_c, T, C, NH, TT)
    tok = ((b * T + t0) * H + h).to(tl.int64)
    qq = _load_rows(q_ptr + tok * K + (tt * (H * K))[:, None] + ck[None, :], t0 + tt < T, mk, K % BK == 0)
    dq = tl.zeros([TT, BK], dtype=tl.float32)
    da = tl.zeros([TT, C], dtype=tl.float32)
    dk = tl.zeros([C, BK], dtype=tl.float32)
    dw = tl.zeros([C, BK], dtype=tl.float32)
    for i_v in tl.static_range((V + BV - 1) // BV):
        cv = i_v * BV + tl.arange(0, BV)
        mv = cv < V
        state = chunk * K * V + ck[:, None] * V + cv[None, :]
        S = _load_rows(hs_ptr + state, mk, mv, V % BV == 0)
        dS = _load_rows(dhs_ptr + state, mk, mv, V % BV == 0)
        un = _load_rows(un_ptr + chunk * C * V + cc[:, None] * V + cv[None, :], cc < C, mv, V % BV == 0)
        du = _load_rows(du_ptr + chunk * C * V + cc[:, None] * V + cv[None, :], cc < C, mv, V % BV == 0)
        dd = _load_rows(do_ptr + tok * V + (tt * (H * V))[:, None] + cv[None, :], valid, mv, V % BV == 0)
        dd = dd.to(kk.dtype)
        dq += _mm(dd, tl.trans(S), PREC, UPCAST)
        da += _mm(dd, tl.trans(un), PREC, UPCAST)
        dk += _mm(un, tl.trans(dS), PREC, UPCAST)
        dw -= _mm(du, tl.trans(S), PREC, UPCAST)
    G = tl.load(gc_ptr + chunk * C + cc)
    g_last = tl.load(gc_ptr + chunk * C + C - 1)
    g_read = tl.sum(tl.where(cc[None, :] == read[:, None], G[None, :], 0.0), axis=1)
    seen = (cc[None, :] <= read[:, None]) & valid[:, None]
    da = (da * tl.exp(tl.where(seen, g_read[:, None] - G[None, :], float("-inf"))) * scale).to(kk.dtype)
    qs = tl.load(qs_ptr + chunk * TT + tt)
    dq = dq * qs[:, None] + _mm(da, kk, PREC, UPCAST)
    dk = dk * tl.exp(g_last - G)[:, None] + _mm(tl.trans(da), qq, PREC, UPCAST)
    tl.store(dq_ptr + tok * K + (tt * (H * K))[:, None] + ck[None, :], dq.to(dq_ptr.dtype.element_ty),
             mask=valid[:, None] & mk[None, :])
    tl.store(dk_ptr + rows * K + (cc * (H * K))[:, None] + ck[None, :], dk,
             mask=(i_c * C + cc < N)[:, None] & mk[None, :])
    tl.store(dw_ptr + chunk * C * K + cc[:, None] * K + ck[None, :], dw, mask=mk[None, :])


@triton.jit
def _wy_bwd_kernel(
    k_ptr, v_ptr, beta_ptr, gc_ptr, t_ptr, dw_ptr, du_ptr, dk_ptr, dko_ptr, dv_ptr, dbeta_ptr,
    N, H,
    K: tl.constexpr, V: tl.constexpr, C: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    PREC: tl.constexpr, UPCAST: tl.constexpr,
):
    """For one chunk, through W = T diag(beta e^G) K and U = T diag(beta) V with T = (I + A)^{-1}: adds to dK
    (float32, written to dko in k's dtype), writes dV and dbeta; dT = dW (diag(beta e^G) K)^T + dU (diag(beta) V)^T
    and dA = -T^T dT T^T (strict lower) give the rest through A = diag(beta) (K K^T * e^{G_i - G_j})."""
    i_c = tl.program_id(0)
    i_bh = tl.program_id(1)
    b = i_bh // H
    h = i_bh % H
    NT = tl.cdiv(N, C)
    chunk = (i_bh * NT + i_c).to(tl.int64)
    ck = tl.arange(0, BK)
    cc = tl.arange(0, C)
    r = i_c * C + cc
    rows = ((b * N + i_c * C) * H + h).to(tl.int64)
    kk = _load_rows(k_ptr + rows * K + (cc * (H * K))[:, None] + ck[None, :], r < N, ck < K, BK == K)
    bb = tl.load(beta_ptr + rows + cc * H, mask=r < N, other=0.0).to(tl.float32)
    G = tl.load(gc_ptr + chunk * C + cc)
    tmt = tl.trans(tl.load(t_ptr + chunk * C * C + cc[:, None] * C + cc[None, :])).to(kk.dtype)
    dw = tl.load(dw_ptr + chunk * C * K + cc[:, None] * K + ck[None, :], mask=(ck < K)[None, :], other=0.0)
    dx = _mm(tmt, dw.to(kk.dtype), PREC, UPCAST)
    bg = bb * tl.exp(G)
    dk = dx * bg[:, None]
    dbeta = tl.exp(G) * tl.sum(dx * kk.to(tl.float32), axis=1)
    dt = _mm(dw.to(kk.dtype), tl.trans((kk * bg[:, None]).to(kk.dtype)), PREC, UPCAST)
    for i_v in tl.static_range((V + BV - 1) // BV):
        cv = i_v * BV + tl.arange(0, BV)
        mv = cv < V
        du = _load_rows(du_ptr + chunk * C * V + cc[:, None] * V + cv[None, :], cc < C, mv, V % BV == 0)
        v_ptrs = rows * V + (cc * (H * V))[:, None] + cv[None, :]
        vv = _load_rows(v_ptr + v_ptrs, r < N, mv, V % BV == 0)
        y = _mm(tmt, du, PREC, UPCAST)
        tl.store(dv_ptr + v_ptrs, (y * bb[:, None]).to(dv_ptr.dtype.element_ty), mask=(r < N)[:, None] & mv[None, :])
        dbeta += tl.sum(y * vv.to(tl.float32), axis=1)
        dt += _mm(du, tl.trans((vv * bb[:, None]).to(kk.dtype)), PREC, UPCAST)
    lower = cc[:, None] > cc[None, :]
    gamma = tl.exp(tl.where(lower, G[:, None] - G[None, :], float("-inf")))
    da = _mm(_mm(tmt, dt.to(kk.dtype), PREC, UPCAST).to(kk.dtype), tmt, PREC, UPCAST)
    da = tl.where(lower, -da, 0.0)
    dbeta += tl.sum(da * _mm(kk, tl.trans(kk), PREC, UPCAST) * gamma, axis=1)
    p = (da * bb[:, None] * gamma).to(kk.dtype)
    dk += _mm(p, kk, PREC, UPCAST) + _mm(tl.trans(p), kk, PREC, UPCAST)
    k_ptrs = rows * K + (cc * (H * K))[:, None] + ck[None, :]
    k_mask = (r < N)[:, None] & (ck < K)[None, :]
    dk += tl.load(dk_ptr + k_ptrs, mask=k_mask, other=0.0)
    tl.store(dko_ptr + k_ptrs, dk.to(dko_ptr.dtype.element_ty), mask=k_mask)
    tl.store(dbeta_ptr + rows + cc * H, dbeta.to(dbeta_ptr.dtype.element_ty), mask=r < N)

STATE_CONFIG = (32, 4, 2)
"""(BV, num_warps, num_stages) of the sequential kernels on a GPU (bench/kernels_delta_product.py sweeps it)."""
PREPARE_WARPS = 4
"""num_warps of the chunk-parallel kernels on a GPU."""
BACKWARDS = ("chunk", "recurrent")
"""Backward passes of the chunked forward: chunked (WY/UT in reverse) or fused-recurrent (two token sweeps)."""
BACKWARD = "chunk"
"""The default backward pass: chunked (measured on an H100 with Triton 3.6: 2.77 ms fwd+bwd ungated n_h = 2 against
the fused-recurrent backward's 33.7 ms; matches float64 autograd in the GPU tests; docs/kernels.md)."""


@dataclass(frozen=True)
class Prepared:
    """What the chunk-parallel kernel writes for the sequential one, per (batch*head, chunk); the backward keeps
    all but U (None there)."""

    w: torch.Tensor
    u: torch.Tensor | None
    aqk: torch.Tensor
    qs: torch.Tensor
    akk: torch.Tensor | None
    gc: torch.Tensor
    t: torch.Tensor | None
    token_slots: int


@dataclass(frozen=True)
class ChunkStates:
    """What the chunked backward reads from the forward: the prepared tiles (with T), each chunk's starting state
    and U' = U - W S, the last two (B*H, chunks, ., V) in the operand dtype."""

    prep: Prepared
    states: torch.Tensor
    u_new: torch.Tensor


def _padded(width: int) -> int:
    """A key or value width padded to a power of two of at least 16 (the tiles' width; W and U are stored padded)."""
    return max(16, triton.next_power_of_2(width))


def _precision(q: torch.Tensor) -> tuple[torch.dtype, str]:
    """Operand dtype and tl.dot precision: half inputs keep their dtype (tf32 for float32 products), float32 is ieee."""
    if q.dtype in (torch.bfloat16, torch.float16):
        return q.dtype, "tf32"
    return torch.float32, "ieee"


def prepare_chunks(q, k, v, g, beta, num_householder, scale, chunk=CHUNK, store_akk=False,
                   warps=PREPARE_WARPS, store_t=False) -> Prepared:
    """Launch the chunk-parallel kernel on contiguous inputs: W, U, the tokens' masked Q K^T and output scales,
    in-chunk log gates (and K K^T for the residuals, T for the chunked backward)."""
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
    square = torch.empty(*per_head, chunk, chunk, dtype=torch.float32, device=dev)
    out = Prepared(
        w=torch.empty(*per_head, chunk, bk, dtype=work, device=dev),
        u=torch.empty(*per_head, chunk, vp, dtype=work, device=dev),
        aqk=torch.empty(*per_head, slots, chunk, dtype=work, device=dev),
        qs=torch.empty(*per_head, slots, dtype=torch.float32, device=dev),
        akk=square if store_akk else None,
        gc=torch.empty(*per_head, chunk, dtype=torch.float32, device=dev),
        t=torch.empty_like(square) if store_t else None,
        token_slots=slots,
    )
    if n_chunks:
        launchable(_prepare_kernel, dev)[(n_chunks, batch * heads)](
            q, k, v, beta, g if g is not None else out.gc, out.w, out.u, out.aqk, out.qs,
            out.akk if store_akk else out.gc, out.gc, out.t if store_t else out.gc, rows, length, heads, scale,
            K=k_dim, V=v_dim, NH=num_householder, C=chunk, TT=slots, LOG_NB=(chunk // 16).bit_length() - 1,
            BK=bk, BV=min(64, vp), VP=vp,
            HAS_G=g is not None, STORE_AKK=store_akk, STORE_T=store_t, PREC=prec, UPCAST=dev.type != "cuda",
            num_warps=warps,
        )
    return out


def _state_blocks(v_dim: int, device: torch.device, state_config) -> tuple[int, int, int]:
    """(BV, num_warps, num_stages) of the sequential kernels: state_config on a GPU, (16, 4, 1) in the interpreter."""
    block_v, warps, stages = state_config if device.type == "cuda" else (16, 4, 1)
    return max(16, min(_padded(v_dim), block_v)), warps, stages


def chunk_forward(q, k, v, g, beta, h0, num_householder, scale, chunk=CHUNK, save=None,
                  state_config=STATE_CONFIG, prepare_warps=PREPARE_WARPS):
    """Chunked forward on contiguous inputs: (o, final state, saved) where ``save`` None saves nothing, "recurrent"
    the residuals w = v - S^T k (float32) of the fused-recurrent backward, "chunk" the ChunkStates."""
    batch, length, heads, k_dim = q.shape
    rows, v_dim = k.shape[1], v.shape[-1]
    dev = q.device
    prep = prepare_chunks(q, k, v, g, beta, num_householder, scale, chunk, save == "recurrent", prepare_warps,
                          store_t=save == "chunk")
    bv, warps, stages = _state_blocks(v_dim, dev, state_config)
    work = _precision(q)[0]
    o = torch.empty(batch, length, heads, v_dim, dtype=q.dtype, device=dev)
    ht = torch.empty(batch, heads, k_dim, v_dim, dtype=torch.float32, device=dev)
    res = torch.empty(v.shape, dtype=torch.float32, device=dev) if save == "recurrent" else ht
    n_chunks = prep.gc.shape[1]
    states = torch.empty(batch * heads, n_chunks, k_dim, v_dim, dtype=work, device=dev) if save == "chunk" else ht
    u_new = torch.empty(batch * heads, n_chunks, chunk, v_dim, dtype=work, device=dev) if save == "chunk" else ht
    launchable(_state_kernel, dev)[(triton.cdiv(v_dim, bv), batch * heads)](
        q, v, k, prep.w, prep.u, prep.aqk, prep.qs, prep.akk if save == "recurrent" else prep.gc, prep.gc,
        h0 if h0 is not None else ht, o, ht, res, states, u_new, rows, length, heads,
        K=k_dim, V=v_dim, NH=num_householder, C=chunk, TT=prep.token_slots,
        BK=_padded(k_dim), BV=bv, VP=_padded(v_dim), HAS_H0=h0 is not None, STORE_RES=save == "recurrent",
        STORE_STATES=save == "chunk", PREC=_precision(q)[1], UPCAST=dev.type != "cuda", num_warps=warps,
        num_stages=stages,
    )
    saved = {None: None, "recurrent": res, "chunk": ChunkStates(prep, states, u_new)}[save]
    return o, ht, saved


def chunk_backward(q, k, v, beta, saved: ChunkStates, do, dht, num_householder, scale, chunk=CHUNK,
                   state_config=STATE_CONFIG, warps=PREPARE_WARPS):
    """The chunked backward on contiguous inputs: (dq, dk, dv, dbeta in the inputs' dtypes, dh0 in float32); the
    gate's gradient is the caller's (``gate_gradient``). A reverse pass over the chunks, two chunk-parallel kernels."""
    batch, length, heads, k_dim = q.shape
    rows, v_dim = k.shape[1], v.shape[-1]
    dev = q.device
    prep = saved.prep
    f32 = dict(dtype=torch.float32, device=dev)
    bk = _padded(k_dim)
    bv, state_warps, stages = _state_blocks(v_dim, dev, state_config)
    prec, upcast = _precision(q)[1], dev.type != "cuda"
    shapes = dict(K=k_dim, V=v_dim, C=chunk, PREC=prec, UPCAST=upcast)
    du = torch.empty_like(saved.u_new)
    dstates = torch.empty_like(saved.states)
    dh0 = torch.empty(batch, heads, k_dim, v_dim, **f32)
    launchable(_state_bwd_kernel, dev)[(triton.cdiv(v_dim, bv), batch * heads)](
        q, k, prep.w, prep.aqk, prep.qs, prep.gc, do, dht if dht is not None else dh0, du, dstates, dh0,
        rows, length, heads, NH=num_householder, TT=prep.token_slots, BK=bk, BV=bv, HAS_DHT=dht is not None,
        num_warps=state_warps, num_stages=stages, **shapes,
    )
    dq = torch.empty_like(q)
    dk = torch.empty(k.shape, **f32)
    dw = torch.empty(*saved.states.shape[:2], chunk, k_dim, **f32)
    n_chunks = prep.gc.shape[1]
    block = min(64, bk)
    launchable(_chunk_bwd_kernel, dev)[(triton.cdiv(k_dim, block), n_chunks, batch * heads)](
        q, k, prep.gc, prep.qs, saved.states, dstates, saved.u_new, du, do, dq, dk, dw, rows, length, heads, scale,
        NH=num_householder, TT=prep.token_slots, BK=block, BV=min(64, _padded(v_dim)), num_warps=warps, **shapes,
    )
    dk_out, dv, dbeta = torch.empty_like(k), torch.empty_like(v), torch.empty_like(beta)
    launchable(_wy_bwd_kernel, dev)[(n_chunks, batch * heads)](
        k, v, beta, prep.gc, prep.t, dw, du, dk, dk_out, dv, dbeta, rows, heads,
        BK=bk, BV=min(64, _padded(v_dim)), num_warps=warps, **shapes,
    )
    return dq, dk_out, dv, dbeta, dh0


def gate_gradient(do, o, dv, v, dht, ht, num_householder) -> torch.Tensor:
    """dg from homogeneity: scaling the state after gate t and every later value by c scales every later output, so
    dg_t = sum_{s >= t} (<do_s, o_s> - sum_j <dv_{s,j}, v_{s,j}>) + <dS_T, S_T> (float32, (B, T, H))."""
    batch, length, heads, v_dim = o.shape
    local = (do.float() * o.float()).sum(-1)
    local = local - (dv.float() * v.float()).sum(-1).view(batch, length, num_householder, heads).sum(2)
    dg = local.flip(1).cumsum(1).flip(1)
    if dht is not None:
        dg = dg + (dht.float() * ht).sum((-2, -1))[:, None, :]
    return dg


class _ChunkDeltaProduct(torch.autograd.Function):
    """Chunked forward; the backward is the chunked one or fused_recurrent's (``backward``)."""

    @staticmethod
    def forward(ctx, q, k, v, g, beta, h0, num_householder, scale, chunk, needs_grad, backward):
        o, ht, saved = chunk_forward(q, k, v, g, beta, h0, num_householder, scale, chunk,
                                     save=backward if needs_grad else None)
        ctx.num_householder, ctx.scale, ctx.chunk, ctx.backward = num_householder, scale, chunk, backward
        if backward == "chunk" and needs_grad:
            ctx.prep_meta = saved.prep.token_slots
            p = saved.prep
            ctx.save_for_backward(q, k, v, g, beta, h0, o, ht, p.w, p.aqk, p.qs, p.gc, p.t, saved.states,
                                  saved.u_new)
        else:
            ctx.save_for_backward(q, k, v, g, beta, h0, saved, o, ht)
        return o, ht

    @staticmethod
    def backward(ctx, do, dht):
        if ctx.backward == "recurrent":
            from kernels.delta_product.fused_recurrent import _DeltaProduct

            return (*_DeltaProduct.backward(ctx, do, dht), None, None, None)
        q, k, v, g, beta, h0, o, ht, w, aqk, qs, gc, t, states, u_new = ctx.saved_tensors
        n = ctx.num_householder
        do = torch.zeros_like(o) if do is None else do.contiguous()
        dht = dht.contiguous() if dht is not None else None
        prep = Prepared(w, None, aqk, qs, None, gc, t, ctx.prep_meta)
        dq, dk, dv, dbeta, dh0 = chunk_backward(q, k, v, beta, ChunkStates(prep, states, u_new), do, dht, n,
                                                ctx.scale, ctx.chunk)
        dg = gate_gradient(do, o, dv, v, dht, ht, n).to(g.dtype) if g is not None else None
        return (dq, dk, dv, dg, dbeta, dh0.to(h0.dtype) if h0 is not None else None, None, None, None, None, None)


def chunk_delta_product(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, g: torch.Tensor | None, beta: torch.Tensor,
    num_householder: int, scale: float, initial_state: torch.Tensor | None, chunk: int = CHUNK,
    backward: str = BACKWARD,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The chunked Triton path of ``gated_delta_product`` (inputs already checked): (o, final state), differentiable;
    ``backward`` is one of BACKWARDS."""
    if backward not in BACKWARDS:
        raise ValueError(f"backward: expected one of {BACKWARDS}, got {backward!r}")
    inputs = [x.contiguous() if x is not None else None for x in (q, k, v, g, beta, initial_state)]
    needs_grad = torch.is_grad_enabled() and any(x is not None and x.requires_grad for x in inputs)
    return _ChunkDeltaProduct.apply(*inputs, num_householder, scale, chunk, needs_grad, backward)
