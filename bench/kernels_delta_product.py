"""DeltaProduct: our entry point (chunked kernel on these shapes) against fla's chunk_gated_delta_product."""
from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F

from bench.timing import Measurement, median_ms
from kernels.delta_product import gated_delta_product
from kernels.delta_product.chunk import chunk_forward

B, T, H, K = 4, 4096, 16, 128
CASES = [(2, True), (2, False)]
STATE_CONFIGS = [(32, 4, 1), (32, 4, 2), (64, 4, 1), (64, 8, 2)]
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


def _rel_err(x, ref):
    return float((x.double() - ref.double()).norm() / ref.double().norm())


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
        from fla.ops.gated_delta_product import chunk_gated_delta_product
    except ImportError:
        chunk_gated_delta_product = None
    for n, gated in CASES:
        q, k, v, g, beta = _inputs(n, gated)
        for config in STATE_CONFIGS:
            yield _timed(f"ours chunk state {config}", "fwd", n, gated,
                         lambda: chunk_forward(q, k, v, g, beta, None, n, K ** -0.5, state_config=config),
                         [], log)
        if chunk_gated_delta_product is not None:
            with torch.no_grad():
                ours = gated_delta_product(q, k, v, g, beta, n)[0]
                want = chunk_gated_delta_product(q, k, v, g, beta, n)[0]
            log(f"delta_product n={n} gated={gated} ||ours - fla|| / ||fla|| = {_rel_err(ours, want):.2e}")
            yield _row("ours vs fla rel. error", "fwd", n, gated, None, f"{_rel_err(ours, want):.3e}")
        leaves = [x.requires_grad_() for x in (q, k, v, beta)] + ([g.requires_grad_()] if gated else [])
        impls = {"ours": lambda: gated_delta_product(q, k, v, g, beta, n)}
        if chunk_gated_delta_product is not None:
            impls["fla chunk_gated_delta_product"] = lambda: chunk_gated_delta_product(q, k, v, g, beta, n)
        for impl, fn in impls.items():
            for mode in ("fwd", "fwd+bwd"):
                if impl.startswith("fla") and gated and mode == "fwd+bwd":
                    yield _row(impl, mode, n, gated, None, "not run: " + GATED_BWD_REFUSED)
                    continue
                yield _timed(impl, mode, n, gated, fn, leaves, log)
