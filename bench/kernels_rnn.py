"""Nonlinear RNNs: our fused Elman/LSTM/GRU layers against cuDNN's torch.nn.RNN/LSTM/GRU at the same sizes."""
from __future__ import annotations

from typing import Iterator

import torch

from bench.timing import Measurement, median_ms
from kernels.rnn import GATES, fused, rnn_layer

BATCH, LENGTH, HIDDEN = 16, 1024, 256
MODULES = {"elman": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
PRECISIONS = ("ieee", "tf32x3")


def _row(cell, impl, mode, ms, note=""):
    shape = {"B": BATCH, "T": LENGTH, "H": HIDDEN, "input": HIDDEN}
    flops = 2 * BATCH * LENGTH * 2 * HIDDEN * GATES[cell] * HIDDEN * (1 if mode == "fwd" else 3)
    rate = flops / ms / 1e9 if ms else None
    return Measurement(f"rnn_{cell}", impl, mode, shape, "float32", ms, rate, "TFLOP/s", note)


def _time(fn, mode, params):
    if mode == "fwd":
        with torch.no_grad():
            return median_ms(fn)
    grad = torch.randn_like(fn())

    def step():
        for p in params:
            p.grad = None
        fn().backward(grad)
    return median_ms(step)


def run(log) -> Iterator[Measurement]:
    for cell, module in MODULES.items():
        layer = module(HIDDEN, HIDDEN, batch_first=True).cuda()
        x = torch.randn(BATCH, LENGTH, HIDDEN, device="cuda", requires_grad=True)
        params = [x, *layer.parameters()]
        weights = (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0)
        ours = lambda: rnn_layer(cell, x, *weights)[0]  # noqa: E731
        default = fused.DOT_PRECISION
        for mode in ("fwd", "fwd+bwd"):
            for precision in PRECISIONS if cell == "lstm" and mode == "fwd" else (default,):
                impl = "ours" if precision == default else f"ours {precision}"
                fused.DOT_PRECISION = precision
                try:
                    ms = _time(ours, mode, params)
                    yield _row(cell, impl, mode, ms, f"fp32 ({precision}) dots")
                    log(f"{cell} {impl} {mode} {ms:.3f} ms")
                except Exception as err:  # noqa: BLE001 - recorded, not fatal
                    yield _row(cell, impl, mode, None, f"failed: {type(err).__name__}: {err}"[:300])
                    log(f"{cell} {impl} {mode} failed: {err}"[:300])
                finally:
                    fused.DOT_PRECISION = default
            for tf32 in (False, True):
                with torch.backends.cudnn.flags(enabled=True, allow_tf32=tf32):
                    ms = _time(lambda: layer(x)[0], mode, params)
                impl = "cudnn" + (" tf32" if tf32 else "")
                yield _row(cell, impl, mode, ms, "allow_tf32=" + str(tf32))
                log(f"{cell} {impl} {mode} {ms:.3f} ms")
