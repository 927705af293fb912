"""DeltaProduct: our entry point (chunked kernel on these shapes) against fla's chunk_gated_delta_product."""
from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F

from bench.timing import Measurement, median_ms
from kernels.delta_product import gated_delta_product, naive_delta_product
from kernels.delta_product.chunk import (
    BACKWARD,
    BACKWARDS,
    PREPARE_WARPS,
    STATE_CONFIG,
    chunk_backward,
    chunk_delta_product,
    chunk_forward,
    prepare_chunks,
)

B, T, H, K = 4, 4096, 16, 128
DEVICE = "cuda"
CASES = [(n, gated) for n in (1, 2, 3) for gated in (True, False)]
SWEPT = (2, False)
"""The case whose backward kernels are timed alone, per num_warps (each configuration compiles anew)."""
BACKWARD_WARPS_SWEEP = [4, 8]
OTHER_BACKWARD = next(b for b in BACKWARDS if b != BACKWARD)
"""The backward pass of the chunked forward that is not the default, timed beside it."""
GRAD_SHAPE = (1, 512, 4)
"""(B, T, H) of the gradient accuracy rows (the float64 reference's autograd keeps every step's state)."""
GATED_BWD_REFUSED = ("fla 0.6.0 refuses its gated backward with Triton >= 3.4.0 and < 3.7.1 on Hopper "
                     "(wrong results, fla issue #640); the device has Triton 3.6")


def _inputs(n, gated, dtype=torch.bfloat16):
    q = torch.randn(B, T, H, K, device=DEVICE, dtype=dtype)
    k = F.normalize(torch.randn(B, T * n, H, K, device=DEVICE), dim=-1).to(dtype)
    v = torch.randn(B, T * n, H, K, device=DEVICE, dtype=dtype)
    beta = (2 * torch.rand(B, T * n, H, device=DEVICE)).to(dtype)
    g = F.logsigmoid(2 + torch.randn(B, T, H, device=DEVICE)) if gated else None
    return q, k, v, g, beta


def _flops(n, mode):
    """Recurrent-form FLOPs: per token and head, n factors of 4KV (S^T k and the rank-1 update) plus 2KV output."""
    fwd = B * T * H * (4 * n + 2) * K * K
    return {"fwd": 1, "bwd": 2, "fwd+bwd": 3}[mode] * fwd


def _row(impl, mode, n, gated, ms, note="", dtype="bfloat16"):
    shape = {"B": B, "T": T, "H": H, "K": K, "V": K, "n_h": n, "gated": gated}
    rate = _flops(n, mode) / ms / 1e9 if ms else None
    return Measurement("delta_product", impl, mode, shape, dtype, ms, rate, "TFLOP/s", note)


def _rel_err(x, ref):
    return float((x.double() - ref.double()).norm() / ref.double().norm())


def _timed(impl, mode, n, gated, fn, leaves, log, dtype="bfloat16"):
    try:
        if mode != "fwd+bwd":
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
        log(f"delta_product n={n} gated={gated} {impl} {mode} {dtype} {ms:.3f} ms")
        return _row(impl, mode, n, gated, ms, dtype=dtype)
    except Exception as err:  # noqa: BLE001 - a peer that refuses is recorded, not fatal
        log(f"delta_product n={n} gated={gated} {impl} {mode} failed: {err}"[:300])
        return _row(impl, mode, n, gated, None, f"failed: {type(err).__name__}: {err}"[:300], dtype=dtype)


def _sweep(n, gated, log) -> Iterator[Measurement]:
    """The prepare kernel alone, and the chunked backward's kernels alone per num_warps of its chunk-parallel ones."""
    q, k, v, g, beta = _inputs(n, gated)
    yield _timed(f"ours prepare kernel alone (num_warps {PREPARE_WARPS})", "fwd", n, gated,
                 lambda: prepare_chunks(q, k, v, g, beta, n, K ** -0.5), [], log)
    _, _, saved = chunk_forward(q, k, v, g, beta, None, n, K ** -0.5, save="chunk")
    do = torch.randn(B, T, H, K, device=DEVICE, dtype=q.dtype)
    for warps in BACKWARD_WARPS_SWEEP:
        yield _timed(f"ours chunked backward kernels alone (num_warps {warps})", "bwd", n, gated,
                     lambda: chunk_backward(q, k, v, beta, saved, do, None, n, K ** -0.5, warps=warps), [], log)


def _grad_accuracy(n, gated, fla_fn, log) -> Iterator[Measurement]:
    """Relative errors of every gradient of ours and fla against float64 autograd, at GRAD_SHAPE."""
    batch, length, heads = GRAD_SHAPE
    gen = torch.Generator(device=DEVICE).manual_seed(n)
    x = {"q": torch.randn(batch, length, heads, K, device=DEVICE, generator=gen),
         "k": F.normalize(torch.randn(batch, length * n, heads, K, device=DEVICE, generator=gen), dim=-1),
         "v": torch.randn(batch, length * n, heads, K, device=DEVICE, generator=gen),
         "g": F.logsigmoid(2 + torch.randn(batch, length, heads, device=DEVICE, generator=gen)) if gated else None,
         "beta": 2 * torch.rand(batch, length * n, heads, device=DEVICE, generator=gen)}
    do = torch.randn(batch, length, heads, K, device=DEVICE, generator=gen).to(torch.bfloat16)

    def grads(fn, dtype):
        leaves = {name: t.detach().to(dtype if name != "g" else t.dtype).requires_grad_()
                  for name, t in x.items() if t is not None}
        o = fn(*(leaves.get(name) for name in ("q", "k", "v", "g", "beta")), n)[0]
        return dict(zip(leaves, torch.autograd.grad((o * do.to(o.dtype)).sum(), list(leaves.values()))))

    want = grads(naive_delta_product, torch.float64)
    impls = {"ours": gated_delta_product,
             f"ours, {OTHER_BACKWARD} backward": lambda *a: chunk_delta_product(*a, K ** -0.5, None,
                                                                               backward=OTHER_BACKWARD)}
    if fla_fn is not None and not gated:
        impls["fla"] = fla_fn
    for impl, fn in impls.items():
        got = grads(fn, torch.bfloat16)
        note = ", ".join(f"d{name} {_rel_err(got[name], want[name]):.2e}" for name in want)
        log(f"delta_product n={n} gated={gated} {impl} gradients vs float64 at {GRAD_SHAPE}: {note}")
        yield _row(f"{impl} gradients vs float64 rel. error (B, T, H = {GRAD_SHAPE})", "fwd+bwd", n, gated, None,
                   note)


def _accuracy(n, gated, fla_fn, log) -> Iterator[Measurement]:
    """Relative errors against fla, and (n_h = 2) of ours and fla against the float64 reference."""
    q, k, v, g, beta = _inputs(n, gated)
    with torch.no_grad():
        ours = gated_delta_product(q, k, v, g, beta, n)[0]
        if fla_fn is not None:
            want = fla_fn(q, k, v, g, beta, n)[0]
            log(f"delta_product n={n} gated={gated} ||ours - fla|| / ||fla|| = {_rel_err(ours, want):.2e}")
            yield _row("ours vs fla rel. error", "fwd", n, gated, None, f"{_rel_err(ours, want):.3e}")
        if n == 2:
            wide = [x.double() if x is not None else None for x in (q, k, v, g, beta)]
            ref = naive_delta_product(*wide, n)[0]
            for name, got in (("ours", ours), ("fla", want if fla_fn is not None else None)):
                if got is not None:
                    log(f"delta_product n={n} gated={gated} ||{name} - float64|| / ||float64|| = "
                        f"{_rel_err(got, ref):.2e}")
                    yield _row(f"{name} vs float64 reference rel. error", "fwd", n, gated, None,
                               f"{_rel_err(got, ref):.3e}")


FLOAT32_PEER = "ours float32 (peer: fla refuses float32 and its gated backward here)"


def _float32_peer(n, log) -> Iterator[Measurement]:
    """Our gated forward+backward on float32 inputs (the fused-recurrent kernels): the issue's peer where fla's
    gated backward does not run."""
    q, k, v, g, beta = _inputs(n, True, torch.float32)
    leaves = [x.requires_grad_() for x in (q, k, v, beta, g)]
    yield _timed(FLOAT32_PEER, "fwd+bwd", n, True, lambda: gated_delta_product(q, k, v, g, beta, n), leaves, log,
                 dtype="float32")


def run(log) -> Iterator[Measurement]:
    try:
        from fla.ops.gated_delta_product import chunk_gated_delta_product
    except ImportError:
        chunk_gated_delta_product = None
    log(f"delta_product defaults: state {STATE_CONFIG}, prepare warps {PREPARE_WARPS}, backward {BACKWARD}")
    for n, gated in CASES:
        q, k, v, g, beta = _inputs(n, gated)
        impls = {"ours": lambda: gated_delta_product(q, k, v, g, beta, n),
                 f"ours, {OTHER_BACKWARD} backward": lambda: chunk_delta_product(q, k, v, g, beta, n, K ** -0.5, None,
                                                                                 backward=OTHER_BACKWARD)}
        if chunk_gated_delta_product is not None:
            impls["fla chunk_gated_delta_product"] = lambda: chunk_gated_delta_product(q, k, v, g, beta, n)
        for impl, fn in impls.items():
            if impl != f"ours, {OTHER_BACKWARD} backward":
                yield _timed(impl, "fwd", n, gated, fn, [], log)
        yield from _accuracy(n, gated, chunk_gated_delta_product, log)
        if n != 2:
            continue
        leaves = [x.requires_grad_() for x in (q, k, v, beta)] + ([g.requires_grad_()] if gated else [])
        for impl, fn in impls.items():
            if impl.startswith("fla") and gated:
                yield _row(impl, "fwd+bwd", n, gated, None, "not run: " + GATED_BWD_REFUSED)
                continue
            yield _timed(impl, "fwd+bwd", n, gated, fn, leaves, log)
        if gated:
            yield from _float32_peer(n, log)
        yield from _grad_accuracy(n, gated, chunk_gated_delta_product, log)
    yield from _sweep(*SWEPT, log)
