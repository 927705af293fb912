"""DeltaProduct: our fused-recurrent kernel against fla's chunk_gated_delta_product and chunk_delta_rule."""
from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F

from bench.timing import Measurement, median_ms
from kernels.delta_product import gated_delta_product
from kernels.delta_product.fused_recurrent import forward_with_blocks

B, T, H, K = 4, 4096, 16, 128
CASES = [(2, True), (2, False), (1, False)]
BLOCKS = [(128, 16, 2), (128, 16, 4), (128, 32, 4), (128, 32, 8), (128, 64, 8)]
GATED_BWD_REFUSED = ("fla 0.6.0 refuses its gated backward with Triton >= 3.4.0 and < 3.7.1 on Hopper "
                     "(wrong results, fla issue #640); the device has Triton 3.6")


def _inputs(n, gated):
    q = torch.randn(B, T, H, K, device="cuda", dtype=torch.bfloat16)
    k = F.normalize(torch.randn(B, T * n, H, K, device="cuda"), dim=-1).to(torch.bfloat16)
    v = torch.randn(B, T * n, H, K, device="cuda", dtype=torch.bfloat16)
    beta = (2 * torch.rand(B, T * n, H, device="cuda")).to(torch.bfloat16)
    g = F.logsigmoid(2 + torch.randn(B, T, H, device="cuda")) if gated else None
    return q, k, v, g, beta


def _flops(n, mode):
    """Recurrent-form FLOPs: per token and head, n factors of 4KV (S^T k and the rank-1 update) plus 2KV output."""
    fwd = B * T * H * (4 * n + 2) * K * K
    return fwd if mode == "fwd" else 3 * fwd


def _row(impl, mode, n, gated, ms, note=""):
    shape = {"B": B, "T": T, "H": H, "K": K, "V": K, "n_h": n, "gated": gated}
    rate = _flops(n, mode) / ms / 1e9 if ms else None
    return Measurement("delta_product", impl, mode, shape, "bfloat16", ms, rate, "TFLOP/s", note)


def _timed(impl, mode, n, gated, fn, leaves, log):
    try:
        if mode == "fwd":
            with torch.no_grad():
                ms = median_ms(fn)
        else:
            out = fn()[0]
            grad = torch.randn_like(out)

            def step():
                for leaf in leaves:
                    leaf.grad = None
                fn()[0].backward(grad)
            ms = median_ms(step)
        log(f"delta_product n={n} gated={gated} {impl} {mode} {ms:.3f} ms")
        return _row(impl, mode, n, gated, ms)
    except Exception as err:  # noqa: BLE001 - a peer that refuses is recorded, not fatal
        log(f"delta_product n={n} gated={gated} {impl} {mode} failed: {err}"[:300])
        return _row(impl, mode, n, gated, None, f"failed: {type(err).__name__}: {err}"[:300])


def run(log) -> Iterator[Measurement]:
    try:
        from fla.ops.delta_rule import chunk_delta_rule
        from fla.ops.gated_delta_product import chunk_gated_delta_product
    except ImportError:
        chunk_gated_delta_product = chunk_delta_rule = None
    for n, gated in CASES:
        q, k, v, g, beta = _inputs(n, gated)
        if n == 2:
            for blocks in BLOCKS:
                yield _timed(f"ours blocks {blocks}", "fwd", n, gated,
                             lambda: (forward_with_blocks(q, k, v, g, beta, n, blocks),), [], log)
        leaves = [x.requires_grad_() for x in (q, k, v, beta)] + ([g.requires_grad_()] if gated else [])
        impls = {"ours": lambda: gated_delta_product(q, k, v, g, beta, n)}
        if chunk_gated_delta_product is not None:
            impls["fla chunk_gated_delta_product"] = lambda: chunk_gated_delta_product(q, k, v, g, beta, n)
            if n == 1 and not gated:
                impls["fla chunk_delta_rule"] = lambda: chunk_delta_rule(q, k, v, beta)
        for impl, fn in impls.items():
            for mode in ("fwd", "fwd+bwd"):
                if impl.startswith("fla") and gated and mode == "fwd+bwd":
                    yield _row(impl, mode, n, gated, None, "not run: " + GATED_BWD_REFUSED)
                    continue
                yield _timed(impl, mode, n, gated, fn, leaves, log)
