"""Diagonal scan: ours (tile sweep), fla's hgrn kernels, the PyTorch loop and torch.compile, against copy bandwidth."""
from __future__ import annotations

import time
from typing import Iterator

import torch

from bench.timing import Measurement, copy_bandwidth_gbs, median_ms
from kernels.scan import diagonal_scan, naive_diagonal_scan
from kernels.scan.chunk import triton_scan_forward

SHAPE = (8, 16384, 2048)
TILES = [(128, 64, 4), (64, 64, 4), (256, 32, 4), (128, 32, 4), (64, 128, 4), (128, 128, 8), (32, 128, 4), (256, 64, 8)]


def _inputs(shape, dtype):
    a = (2 * torch.rand(shape, device="cuda") - 1).to(dtype)
    b = torch.randn(shape, device="cuda").to(dtype)
    return a, b


def _row(impl, mode, shape, dtype, ms, n_bytes, note="", **extra):
    rate = n_bytes / ms / 1e6 if ms else None
    return Measurement("diagonal_scan", impl, mode, dict(zip("BTD", shape)), str(dtype).removeprefix("torch."),
                       ms, rate, "GB/s", note, extra)


def _fwd_bwd(fn, leaves):
    out = fn()
    grad = torch.randn_like(out)

    def step():
        for leaf in leaves:
            leaf.grad = None
        fn().backward(grad)
    return step


def run(log) -> Iterator[Measurement]:
    copy = Measurement("copy", "torch copy_", "fwd", {"bytes": 2 << 30}, "float32", None,
                        copy_bandwidth_gbs(), "GB/s", "read + write")
    log(f"copy bandwidth {copy.rate:.0f} GB/s")
    yield copy
    for dtype in (torch.float32, torch.bfloat16):
        a, b = _inputs(SHAPE, dtype)
        n = a.numel()
        size = a.element_size()
        fwd_bytes = 3 * n * size
        for tile in TILES:
            ms = median_ms(lambda: triton_scan_forward(a, b, None, tile))
            yield _row("ours tile", "fwd", SHAPE, dtype, ms, fwd_bytes, tile=list(tile))
        ms = median_ms(lambda: diagonal_scan(a, b))
        yield _row("ours", "fwd", SHAPE, dtype, ms, fwd_bytes)
        log(f"scan {dtype} ours fwd {ms:.3f} ms")
        a.requires_grad_(), b.requires_grad_()
        ms = median_ms(_fwd_bwd(lambda: diagonal_scan(a, b)[0], [a, b]))
        yield _row("ours", "fwd+bwd", SHAPE, dtype, ms, 8 * n * size, "fwd 3 tensors, bwd 5")
        a, b = a.detach(), b.detach()
        yield from _fla_rows(a, b, dtype, fwd_bytes, log)
    yield from _torch_rows(log)
    yield from _long_rows(log)


def _fla_rows(a, b, dtype, fwd_bytes, log) -> list[Measurement]:
    """fla's hgrn recurrences take log-space gates: run them on log|a| (they cannot represent a < 0)."""
    try:
        from fla.ops.hgrn import chunk_hgrn, fused_recurrent_hgrn
    except ImportError as err:
        return [_row("fla chunk_hgrn", "fwd", SHAPE, dtype, None, 0, f"not run: {err}")]
    rows = []
    g = torch.log(a.float().abs().clamp_min(1e-3)).to(dtype)
    for name, fn in (("fla chunk_hgrn", chunk_hgrn), ("fla fused_recurrent_hgrn", fused_recurrent_hgrn)):
        try:
            ms = median_ms(lambda: fn(b, g))
            rows.append(_row(name, "fwd", SHAPE, dtype, ms, fwd_bytes, "log-space gates, positive only"))
            gl, bl = g.clone().requires_grad_(), b.clone().requires_grad_()
            ms_fb = median_ms(_fwd_bwd(lambda: fn(bl, gl)[0], [gl, bl]))
            rows.append(_row(name, "fwd+bwd", SHAPE, dtype, ms_fb, 8 * a.numel() * a.element_size()))
            log(f"{name} {dtype} fwd {ms:.3f} ms fwd+bwd {ms_fb:.3f} ms")
        except Exception as err:  # noqa: BLE001 - a peer that fails is recorded, not fatal
            rows.append(_row(name, "fwd", SHAPE, dtype, None, 0, f"failed: {type(err).__name__}: {err}"[:300]))
    return rows


def _torch_rows(log) -> list[Measurement]:
    """The reference loop at T=512 and torch.compile of it at T=64, both scaled to T=16384 per step."""
    rows = []
    for impl, length, fn in (("torch loop", 512, naive_diagonal_scan), ("torch.compile loop", 64, None)):
        shape = (SHAPE[0], length, SHAPE[2])
        a, b = _inputs(shape, torch.float32)
        note = f"measured at T={length}, scaled by {SHAPE[1] // length} to T={SHAPE[1]}"
        try:
            if fn is None:
                started = time.perf_counter()
                fn = torch.compile(naive_diagonal_scan)
                fn(a, b)
                note += f"; compile {time.perf_counter() - started:.0f} s"
            ms = median_ms(lambda: fn(a, b)) * SHAPE[1] / length
            rows.append(_row(impl, "fwd", SHAPE, torch.float32, ms, 3 * a.numel() * 4 * SHAPE[1] // length, note))
            log(f"{impl} fwd {ms:.1f} ms (scaled)")
        except Exception as err:  # noqa: BLE001
            rows.append(_row(impl, "fwd", SHAPE, torch.float32, None, 0, f"failed: {type(err).__name__}: {err}"[:300]))
    return rows


def _long_rows(log) -> list[Measurement]:
    """A million steps of {-1, 0, 1} gates: the automaton-model case."""
    shape = (2, 1_000_000, 64)
    a = torch.randint(-1, 2, shape, device="cuda").float()
    b = torch.randint(0, 2, shape, device="cuda").float()
    ms = median_ms(lambda: diagonal_scan(a, b))
    log(f"scan T=1e6 {ms:.3f} ms")
    return [_row("ours", "fwd", shape, torch.float32, ms, 3 * a.numel() * 4, "gates in {-1,0,1}")]
